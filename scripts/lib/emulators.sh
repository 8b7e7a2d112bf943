# Installs (pinned, cached) and starts the test emulators on free loopback ports; sourced
# by scripts/test and scripts/demo. Every process started is stopped by PID on exit.
#
#   TEST_CACHE_DIR  where virtualenvs and node modules live
#                   (default ${XDG_CACHE_HOME:-$HOME/.cache}/fedgate-test, shared by clones)

MOTO_VERSION=5.2.5
LOCALSTACK_VERSION=2026.3.0
OAUTH2_MOCK_VERSION=9.3.0
CACHE=${TEST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fedgate-test}
mkdir -p "$CACHE"
EMULATOR_PIDS=()

stop_emulators() {
  for pid in "${EMULATOR_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${EMULATOR_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # url, seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if ((SECONDS > deadline)); then echo "timed out waiting for $1" >&2; return 1; fi
    sleep 0.3
  done
}

# LocalStack needs Python ≥ 3.12: the pyenv 3.13 of these machines, or one on PATH.
python_for_localstack() {
  local candidate
  for candidate in "$(pyenv root 2>/dev/null)/versions/3.13.0/bin/python3" python3.13 python3.12; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  echo "LocalStack needs Python >= 3.12 (none found)" >&2
  return 1
}

start_moto() {
  local venv="$CACHE/moto-$MOTO_VERSION" port
  if [ ! -x "$venv/bin/moto_server" ]; then
    echo "installing moto[server]==$MOTO_VERSION into $venv"
    rm -rf "$venv" && python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  port=$(free_port)
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$CACHE/moto.log" 2>&1 &
  EMULATOR_PIDS+=($!)
  wait_for "http://127.0.0.1:$port/moto-api/" 60
  export TEST_MOTO_URL="http://127.0.0.1:$port"
  echo "moto at $TEST_MOTO_URL"
}

start_localstack() {
  local venv="$CACHE/localstack-$LOCALSTACK_VERSION" port root
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import localstack.runtime.main' 2>/dev/null; then
    echo "installing localstack-core==$LOCALSTACK_VERSION into $venv (about two minutes, once)"
    rm -rf "$venv" && "$(python_for_localstack)" -m venv "$venv"
    # Without these pins it does not start here (see the emulator notes in README).
    "$venv/bin/pip" install -q --disable-pip-version-check "localstack-core[runtime]==$LOCALSTACK_VERSION" \
      boto3 "cbor2<6" "pyOpenSSL<25" "cryptography<45" service-identity
  fi
  port=$(free_port)
  root=$(mktemp -d)
  OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN="127.0.0.1:$port" SERVICES=apigateway,iam,sts,lambda \
    DNS_ADDRESS=0 SKIP_INFRA_DOWNLOADS=1 DISABLE_EVENTS=1 PERSISTENCE=0 EAGER_SERVICE_LOADING=0 \
    LOCALSTACK_HOST="localhost.localstack.cloud:$port" XDG_CACHE_HOME="$root" FILESYSTEM_ROOT="$root" \
    "$venv/bin/python" -m localstack.runtime.main >"$CACHE/localstack.log" 2>&1 &
  EMULATOR_PIDS+=($!)
  wait_for "http://127.0.0.1:$port/_localstack/health" 90
  export TEST_LOCALSTACK_URL="http://127.0.0.1:$port"
  echo "LocalStack at $TEST_LOCALSTACK_URL"
}

start_oidc() {
  local dir="$CACHE/oauth2-mock-server-$OAUTH2_MOCK_VERSION" port
  if [ ! -x "$dir/node_modules/.bin/oauth2-mock-server" ]; then
    echo "installing oauth2-mock-server@$OAUTH2_MOCK_VERSION into $dir"
    rm -rf "$dir" && mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "oauth2-mock-server@$OAUTH2_MOCK_VERSION" >/dev/null
  fi
  port=$(free_port)
  "$dir/node_modules/.bin/oauth2-mock-server" -a 127.0.0.1 -p "$port" >"$CACHE/oidc.log" 2>&1 &
  EMULATOR_PIDS+=($!)
  wait_for "http://127.0.0.1:$port/.well-known/openid-configuration" 30
  export TEST_OIDC_URL="http://127.0.0.1:$port"
  # The authorizer's tests (authorizer/index.test.mjs) import it and start their own.
  export OAUTH2_MOCK_SERVER_MODULE="$dir/node_modules/oauth2-mock-server"
  echo "OIDC server at $TEST_OIDC_URL"
}
