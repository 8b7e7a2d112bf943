// fedgate's Lambda TOKEN authorizer for APIs secured by a key manager (an OAuth2 / OIDC
// identity provider). One function per key manager and environment; fedgate packs this
// file with a config.json next to it (see src/domain/authorizer.rs for its shape):
//
//   {"issuer": "https://idp.example.com", "jwksUri": "https://idp.example.com/jwks",
//    "audience": "pets" | null, "clockSkewSecs": 30,
//    "apis": {"<restApiId>": {"stage": "prod",
//             "methods": [{"method": "GET", "path": "/pets/{id}", "scopes": ["pets:read"]}]}}}
//
// Node.js built-ins only, so that fedgate can zip it at run time with no toolchain.

import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

// API Gateway caches an answer per token for the whole REST API, so the answer covers
// every method of the API the token is allowed, not only the one called.
const ALGORITHMS = {
  RS256: { kty: 'RSA', options: {} },
  // JWS signatures are r ‖ s (RFC 7518 §3.4), not the DER node:crypto expects by default.
  ES256: { kty: 'EC', crv: 'P-256', options: { dsaEncoding: 'ieee-p1363' } },
};
const MAX_TOKEN_CHARS = 16 * 1024;
const JWKS_TIMEOUT_MS = 3000;
const JWKS_MAX_BYTES = 256 * 1024;
// A token naming an unknown key refetches the JWKS (the IdP rotated its keys), but
// anyone can send such tokens: at most one refetch per MIN_REFRESH_SECS, as fedgate does.
const MIN_REFRESH_SECS = 10;
// A warm function may live for hours: keys the IdP withdrew stop being trusted after this.
const MAX_KEYS_AGE_SECS = 3600;

class Rejected extends Error {
  // API Gateway answers 401 only for this exact message; the reason is for logs and tests.
  constructor(reason) {
    super('Unauthorized', { cause: reason });
  }
}

/**
 * The authorizer for one config; its JWKS cache lives as long as the returned function.
 * `now` (seconds), `fetch` and `log` are replaceable for tests.
 */
export function createAuthorizer(
  config,
  { now = () => Date.now() / 1000, fetch = globalThis.fetch, log = logJson } = {},
) {
  const keys = jwksCache(config.jwksUri, { now, fetch, log });
  return async (event) => {
    try {
      if (event?.type !== 'TOKEN' || typeof event.methodArn !== 'string') {
        throw new Rejected('not a TOKEN event');
      }
      const arn = parseMethodArn(event.methodArn);
      const claims = await verifyToken(bearer(event.authorizationToken), config, keys, now());
      return answer(claims, arn, config.apis?.[arn.apiId], log);
    } catch (error) {
      if (error instanceof Rejected) log({ msg: 'token rejected', reason: error.cause });
      throw error;
    }
  };
}

let configured;
/** Lambda's `index.handler`: the config is read once per instance, at its first call. */
export const handler = async (event) => {
  configured ??= createAuthorizer(
    JSON.parse(readFileSync(new URL('./config.json', import.meta.url), 'utf8')),
  );
  return configured(event);
};

function logJson(entry) {
  console.log(JSON.stringify(entry));
}

function bearer(header) {
  const match = typeof header === 'string' && /^Bearer +([^ ]+) *$/i.exec(header);
  if (!match || match[1].length > MAX_TOKEN_CHARS) throw new Rejected('no bearer token');
  return match[1];
}

// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path…}
function parseMethodArn(methodArn) {
  const parts = methodArn.split(':');
  const [apiId, stage] = parts.slice(5).join(':').split('/');
  if (parts.length < 6 || parts[2] !== 'execute-api' || !apiId || !stage) {
    throw new Rejected('malformed methodArn');
  }
  return { partition: parts[1], region: parts[3], account: parts[4], apiId, stage };
}

function decodeJson(segment) {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) throw new Rejected('malformed token');
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // falls through to the rejection below
  }
  throw new Rejected('malformed token');
}

async function verifyToken(token, config, keys, now) {
  const segments = token.split('.');
  if (segments.length !== 3) throw new Rejected('malformed token');
  const [headerPart, payloadPart, signaturePart] = segments;
  const header = decodeJson(headerPart);
  // Only asymmetric algorithms: `none` needs no key and HS256 would take the public key
  // as a shared secret, so either lets anyone mint tokens.
  const algorithm = Object.hasOwn(ALGORITHMS, header.alg) ? ALGORITHMS[header.alg] : undefined;
  if (!algorithm) throw new Rejected(`algorithm ${header.alg} not accepted`);
  // No extension is understood, so none marked critical may be ignored (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new Rejected('critical header');
  const kid = header.kid === undefined ? undefined : String(header.kid);
  const jwk = await keys(kid);
  if (!jwk) throw new Rejected('unknown key');
  if (!keyFits(jwk, header.alg, algorithm)) throw new Rejected('key does not fit the algorithm');
  if (!/^[A-Za-z0-9_-]*$/.test(signaturePart)) throw new Rejected('malformed token');
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  if (!verifies(signed, jwk.key, algorithm.options, signature)) throw new Rejected('bad signature');

  const claims = decodeJson(payloadPart);
  if (typeof claims.iss !== 'string' || trimSlash(claims.iss) !== trimSlash(config.issuer)) {
    throw new Rejected('wrong issuer');
  }
  if (config.audience != null) {
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(config.audience)) throw new Rejected('wrong audience');
  }
  const skew = config.clockSkewSecs ?? 0;
  if (typeof claims.exp !== 'number' || now >= claims.exp + skew) throw new Rejected('expired');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now < claims.nbf - skew)) {
    throw new Rejected('not yet valid');
  }
  return claims;
}

function verifies(signed, key, options, signature) {
  try {
    return verify('sha256', signed, { key, ...options }, signature);
  } catch {
    return false; // e.g. an ES256 signature of the wrong length
  }
}

// fedgate compares issuers without their trailing `/` (a URL library adds one to a bare origin).
function trimSlash(issuer) {
  return issuer.replace(/\/+$/, '');
}

function keyFits(jwk, alg, algorithm) {
  return (
    jwk.kty === algorithm.kty &&
    (algorithm.crv === undefined || jwk.crv === algorithm.crv) &&
    (jwk.alg === undefined || jwk.alg === alg) &&
    (jwk.kty !== 'RSA' || jwk.key.asymmetricKeyDetails.modulusLength >= 2048)
  );
}

function scopesOf(claims) {
  // `scope` is space-separated (RFC 9068, RFC 8693); Okta and Azure AD use `scp`, as an
  // array or a string.
  const raw = claims.scope ?? claims.scp;
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  return new Set(list.filter((scope) => typeof scope === 'string' && scope !== ''));
}

function answer(claims, arn, api, log) {
  const clientId = [claims.client_id, claims.azp].find((id) => typeof id === 'string') ?? '';
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  // RFC 9068 wants both, but client-credentials tokens of some IdPs (and of
  // oauth2-mock-server) carry neither; the scopes decide, the principal is only logged.
  const principalId = sub || clientId || 'unidentified';
  const scopes = scopesOf(claims);
  const base = `arn:${arn.partition}:execute-api:${arn.region}:${arn.account}:${arn.apiId}/${arn.stage}`;
  const allow = [];
  const deny = [];
  if (api && api.stage === arn.stage) {
    for (const { method, path, scopes: required } of api.methods) {
      // `*` in an execute-api ARN matches any characters, `/` included.
      const resource = `${base}/${method === 'ANY' ? '*' : method}${path.replace(/\{[^}]*\}/g, '*')}`;
      (required.every((scope) => scopes.has(scope)) ? allow : deny).push(resource);
    }
  } else {
    // A valid token for an API (or stage) this function has no map for: fedgate attached
    // it and has not shipped the map yet, or attached it by mistake. Nothing can be shown
    // to be allowed, and a 401 would only send the caller for another token.
    log({ msg: 'no scopes for this API', apiId: arn.apiId, stage: arn.stage });
  }
  if (allow.length === 0 && deny.length === 0) deny.push(`${base}/*`);
  // An explicit Deny beats any Allow, so where a denied method's pattern also covers an
  // allowed one (GET /pets/{id} denied, GET /pets/{id}/photos allowed), the call is
  // refused: erring towards refusal, never towards access.
  const Statement = [
    ...(allow.length ? [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: allow }] : []),
    ...(deny.length ? [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: deny }] : []),
  ];
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement },
    // Flat strings only: API Gateway rejects nested values in the context.
    context: { sub, clientId, scope: [...scopes].join(' ') },
  };
}

/** The key manager's signing keys, cached across invocations; resolves a `kid` to a key. */
function jwksCache(uri, { now, fetch, log }) {
  let keys; // [{kid, kty, crv, alg, key}] once fetched
  let fetchedAt = -Infinity; // of the last attempt, failed or not
  let inFlight;

  const refresh = () =>
    (inFlight ??= (async () => {
      fetchedAt = now();
      try {
        keys = parseJwks(await fetchJson(uri, fetch));
      } catch (error) {
        log({ msg: 'cannot fetch the JWKS', uri, error: String(error) });
        if (!keys) throw new Error('the JWKS is unavailable', { cause: error });
      } finally {
        inFlight = undefined;
      }
    })());

  const pick = (kid) =>
    kid === undefined ? (keys.length === 1 ? keys[0] : undefined) : keys.find((k) => k.kid === kid);

  return async (kid) => {
    const age = now() - fetchedAt;
    if (!keys || age >= MAX_KEYS_AGE_SECS) {
      // Not fetched yet (or the last fetch failed): still at most once per MIN_REFRESH_SECS.
      if (!keys && age < MIN_REFRESH_SECS && !inFlight) throw new Error('the JWKS is unavailable');
      await refresh();
    } else if (!pick(kid) && age >= MIN_REFRESH_SECS) {
      await refresh();
    }
    return pick(kid);
  };
}

function parseJwks(jwks) {
  if (!Array.isArray(jwks?.keys)) throw new Error('not a JWK set');
  return jwks.keys.flatMap((jwk) => {
    if (jwk?.use !== undefined && jwk.use !== 'sig') return [];
    if (jwk?.kty !== 'RSA' && jwk?.kty !== 'EC') return [];
    try {
      const { kid, kty, crv, alg } = jwk;
      return [{ kid, kty, crv, alg, key: createPublicKey({ key: jwk, format: 'jwk' }) }];
    } catch {
      return []; // a key node:crypto cannot read signs nothing we accept
    }
  });
}

async function fetchJson(uri, fetch) {
  // No redirects: one could take an https JWKS URI to plain http.
  const response = await fetch(uri, {
    redirect: 'error',
    signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const chunks = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > JWKS_MAX_BYTES) throw new Error(`larger than ${JWKS_MAX_BYTES} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
