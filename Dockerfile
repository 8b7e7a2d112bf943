# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian with CA certificates.
# In a container DATABASE_URL is required: the embedded PostgreSQL default needs the
# machine's own PostgreSQL binaries, which this image does not ship.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
# Dependencies first, in their own layer: built against stub sources, so that a change
# to fedgate's own code rebuilds only fedgate.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/deploy.rs \
    && cargo build --release --locked --bin fedgate \
    && rm -rf src benches
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY benches ./benches
# The Lambda authorizer fedgate packages at run time is compiled in (include_str!).
COPY authorizer/index.mjs ./authorizer/
# The stub build left newer artifacts than the copied sources' timestamps: touch them.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin fedgate

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* curl=7.88.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/fedgate --create-home fedgate
COPY --from=builder /src/target/release/fedgate /usr/local/bin/fedgate
USER 10001
WORKDIR /var/lib/fedgate
# The defaults (config/default.toml) are compiled in; to layer a file over them, mount it
# and set FEDGATE_CONFIG to its path. Environment variables override both.
ENV FEDGATE_LISTEN_ADDR=0.0.0.0:8080 \
    FEDGATE_DATA_DIR=/var/lib/fedgate \
    FEDGATE_LOG_FORMAT=json
EXPOSE 8080
# Liveness only (/healthz does not touch the database); a load balancer should route by
# /readyz, which answers 503 while the database is unreachable or not migrated.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/fedgate"]
CMD ["serve"]
