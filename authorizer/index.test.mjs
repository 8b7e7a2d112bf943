// The authorizer against real tokens of oauth2-mock-server, started here on a free
// loopback port. scripts/test installs it and sets OAUTH2_MOCK_SERVER_MODULE to its
// package directory. Run: node --test authorizer/
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { createAuthorizer } from './index.mjs';

const ACCOUNT = '123456789012';
const methodArn = (apiId, stage, method, path) =>
  `arn:aws:execute-api:us-east-1:${ACCOUNT}:${apiId}/${stage}/${method}${path}`;
// What API Gateway sends a TOKEN authorizer for `GET /prod/pets/42` on REST API abc123.
const tokenEvent = (token, arn = methodArn('abc123', 'prod', 'GET', '/pets/42')) => ({
  type: 'TOKEN',
  authorizationToken: `Bearer ${token}`,
  methodArn: arn,
});
const PETS = `arn:aws:execute-api:us-east-1:${ACCOUNT}:abc123/prod`;
const METHODS = [
  { method: 'GET', path: '/', scopes: [] },
  { method: 'GET', path: '/pets', scopes: ['pets:read'] },
  { method: 'GET', path: '/pets/{id}', scopes: ['pets:read'] },
  { method: 'POST', path: '/pets', scopes: ['pets:write'] },
  { method: 'DELETE', path: '/pets/{id}', scopes: ['pets:write', 'pets:admin'] },
  { method: 'ANY', path: '/files/{proxy+}', scopes: ['files'] },
];
const now = () => Math.floor(Date.now() / 1000);
const quiet = () => {};

let server;
let config;
let rsa; // the JWKs oauth2-mock-server signs with (private parts included)
let ec;

before(async () => {
  const dir = process.env.OAUTH2_MOCK_SERVER_MODULE;
  assert.ok(dir, 'OAUTH2_MOCK_SERVER_MODULE (the oauth2-mock-server package directory) is not set');
  const { main } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  const { OAuth2Server } = await import(pathToFileURL(join(dir, main)).href);
  server = new OAuth2Server();
  rsa = await server.issuer.keys.generate('RS256');
  ec = await server.issuer.keys.generate('ES256');
  await server.start(0, '127.0.0.1');
  config = {
    issuer: server.issuer.url,
    jwksUri: `${server.issuer.url}/jwks`,
    audience: 'pets-api',
    clockSkewSecs: 30,
    apis: {
      abc123: { stage: 'prod', methods: METHODS },
      def456: { stage: 'dev', methods: [{ method: 'GET', path: '/orders', scopes: ['orders'] }] },
    },
  };
});

after(() => server?.stop());

/** A token from the mock server signed with `key`, its claims shaped by `shape`. */
const token = (key, shape = () => {}) =>
  server.issuer.buildToken({
    kid: key.kid,
    scopesOrTransform: (header, payload) => {
      payload.sub = 'dana';
      payload.client_id = 'pet-shop';
      payload.aud = 'pets-api';
      payload.scope = 'pets:read pets:write';
      shape(payload, header);
    },
  });

/** An authorizer with its own JWKS cache; `.fetches` counts its JWKS fetches. */
function authorizer(options = {}, overrides = {}) {
  const authorize = createAuthorizer(
    { ...config, ...overrides },
    {
      log: quiet,
      fetch: (...args) => {
        authorize.fetches += 1;
        return fetch(...args);
      },
      ...options,
    },
  );
  authorize.fetches = 0;
  return authorize;
}

async function rejected(promise, reason) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.message, 'Unauthorized'); // API Gateway's 401
    assert.equal(error.cause, reason);
    return true;
  });
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = (extra = {}) => ({
  iss: config.issuer,
  sub: 'mallory',
  aud: 'pets-api',
  scope: 'pets:read pets:write pets:admin files',
  exp: now() + 600,
  ...extra,
});

describe('a valid token', () => {
  test('RS256: allows the methods its scopes permit and denies the rest, for the whole API', async () => {
    const answer = await authorizer()(tokenEvent(await token(rsa)));
    assert.deepEqual(answer, {
      principalId: 'dana',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: [`${PETS}/GET/`, `${PETS}/GET/pets`, `${PETS}/GET/pets/*`, `${PETS}/POST/pets`],
          },
          {
            Action: 'execute-api:Invoke',
            Effect: 'Deny',
            Resource: [`${PETS}/DELETE/pets/*`, `${PETS}/*/files/*`],
          },
        ],
      },
      context: { sub: 'dana', clientId: 'pet-shop', scope: 'pets:read pets:write' },
    });
  });

  test('ES256 is accepted', async () => {
    const answer = await authorizer()(tokenEvent(await token(ec, (p) => (p.scope = 'files'))));
    assert.deepEqual(answer.policyDocument.Statement[0], {
      Action: 'execute-api:Invoke',
      Effect: 'Allow',
      Resource: [`${PETS}/GET/`, `${PETS}/*/files/*`],
    });
  });

  test('the same answer whichever method is called, so that a cached answer is right', async () => {
    const authorize = authorizer();
    const jwt = await token(rsa);
    const get = await authorize(tokenEvent(jwt));
    const del = await authorize(tokenEvent(jwt, methodArn('abc123', 'prod', 'DELETE', '/pets/42')));
    assert.deepEqual(del, get);
    assert.equal(authorize.fetches, 1, 'the JWKS is cached across invocations');
  });

  test('a token without the scope a method needs gets that method denied', async () => {
    const answer = await authorizer()(tokenEvent(await token(rsa, (p) => delete p.scope)));
    assert.deepEqual(answer.policyDocument.Statement, [
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${PETS}/GET/`] },
      {
        Action: 'execute-api:Invoke',
        Effect: 'Deny',
        Resource: [
          `${PETS}/GET/pets`,
          `${PETS}/GET/pets/*`,
          `${PETS}/POST/pets`,
          `${PETS}/DELETE/pets/*`,
          `${PETS}/*/files/*`,
        ],
      },
    ]);
    assert.equal(answer.context.scope, '');
  });

  test('every scope a method lists is needed', async () => {
    const admin = await token(rsa, (p) => (p.scope = 'pets:admin'));
    const allowed = (await authorizer()(tokenEvent(admin))).policyDocument.Statement[0].Resource;
    assert.ok(!allowed.includes(`${PETS}/DELETE/pets/*`));
  });

  test('scopes from an `scp` array (Okta) or string (Azure AD)', async () => {
    for (const scp of [['pets:write', 'pets:admin'], 'pets:write pets:admin']) {
      const jwt = await token(rsa, (p) => {
        delete p.scope;
        p.scp = scp;
      });
      const answer = await authorizer()(tokenEvent(jwt));
      assert.ok(answer.policyDocument.Statement[0].Resource.includes(`${PETS}/DELETE/pets/*`));
      assert.equal(answer.context.scope, 'pets:write pets:admin');
    }
  });

  test('another REST API the function serves answers with its own methods and stage', async () => {
    const jwt = await token(rsa, (p) => (p.scope = 'orders'));
    const answer = await authorizer()(tokenEvent(jwt, methodArn('def456', 'dev', 'GET', '/orders')));
    assert.deepEqual(answer.policyDocument.Statement, [
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: [`arn:aws:execute-api:us-east-1:${ACCOUNT}:def456/dev/GET/orders`],
      },
    ]);
  });

  test('an API or stage without a scope map is denied as a whole', async () => {
    const authorize = authorizer();
    const jwt = await token(rsa);
    for (const [apiId, stage] of [['zzz999', 'prod'], ['abc123', 'test']]) {
      const answer = await authorize(tokenEvent(jwt, methodArn(apiId, stage, 'GET', '/pets')));
      assert.deepEqual(answer.policyDocument.Statement, [
        {
          Action: 'execute-api:Invoke',
          Effect: 'Deny',
          Resource: [`arn:aws:execute-api:us-east-1:${ACCOUNT}:${apiId}/${stage}/*`],
        },
      ]);
    }
  });

  test('the client id stands in for a missing sub, and a placeholder for both', async () => {
    const noSub = await token(rsa, (p) => delete p.sub);
    const answer = await authorizer()(tokenEvent(noSub));
    assert.equal(answer.principalId, 'pet-shop');
    assert.deepEqual(answer.context, { sub: '', clientId: 'pet-shop', scope: 'pets:read pets:write' });
    const nobody = await token(rsa, (p) => {
      delete p.sub;
      delete p.client_id;
    });
    assert.equal((await authorizer()(tokenEvent(nobody))).principalId, 'unidentified');
  });

  test('an issuer written with a trailing slash is the same issuer', async () => {
    const answer = await authorizer({}, { issuer: `${config.issuer}/` })(tokenEvent(await token(rsa)));
    assert.equal(answer.principalId, 'dana');
  });
});

describe('time', () => {
  test('expired beyond the clock skew', async () => {
    await rejected(authorizer()(tokenEvent(await token(rsa, (p) => (p.exp = now() - 60)))), 'expired');
  });

  test('expired within the clock skew is still accepted', async () => {
    const answer = await authorizer()(tokenEvent(await token(rsa, (p) => (p.exp = now() - 10))));
    assert.equal(answer.principalId, 'dana');
  });

  test('no exp is refused', async () => {
    await rejected(authorizer()(tokenEvent(await token(rsa, (p) => delete p.exp))), 'expired');
  });

  test('not yet valid beyond the clock skew', async () => {
    const jwt = await token(rsa, (p) => (p.nbf = now() + 120));
    await rejected(authorizer()(tokenEvent(jwt)), 'not yet valid');
  });

  test('not yet valid within the clock skew is accepted', async () => {
    const answer = await authorizer()(tokenEvent(await token(rsa, (p) => (p.nbf = now() + 10))));
    assert.equal(answer.principalId, 'dana');
  });
});

describe('issuer and audience', () => {
  test('another issuer', async () => {
    const jwt = await token(rsa, (p) => (p.iss = 'http://127.0.0.1:1/other'));
    await rejected(authorizer()(tokenEvent(jwt)), 'wrong issuer');
  });

  test('another audience, or none', async () => {
    await rejected(authorizer()(tokenEvent(await token(rsa, (p) => (p.aud = 'billing')))), 'wrong audience');
    await rejected(authorizer()(tokenEvent(await token(rsa, (p) => delete p.aud))), 'wrong audience');
  });

  test('the audience among several', async () => {
    const jwt = await token(rsa, (p) => (p.aud = ['billing', 'pets-api']));
    assert.equal((await authorizer()(tokenEvent(jwt))).principalId, 'dana');
  });

  test('any audience when the key manager has none', async () => {
    const jwt = await token(rsa, (p) => (p.aud = 'billing'));
    const answer = await authorizer({}, { audience: null })(tokenEvent(jwt));
    assert.equal(answer.principalId, 'dana');
  });
});

describe('signature and algorithm', () => {
  test('a payload changed after signing', async () => {
    const [header, , signature] = (await token(rsa)).split('.');
    const forged = `${header}.${b64(claims())}.${signature}`;
    await rejected(authorizer()(tokenEvent(forged)), 'bad signature');
  });

  test('a signature changed', async () => {
    for (const key of [rsa, ec]) {
      const [header, payload, signature] = (await token(key)).split('.');
      const bytes = Buffer.from(signature, 'base64url');
      bytes[10] ^= 1;
      const forged = `${header}.${payload}.${bytes.toString('base64url')}`;
      await rejected(authorizer()(tokenEvent(forged)), 'bad signature');
    }
  });

  test('alg none', async () => {
    const unsigned = `${b64({ alg: 'none', kid: rsa.kid })}.${b64(claims())}.`;
    await rejected(authorizer()(tokenEvent(unsigned)), 'algorithm none not accepted');
  });

  test('HS256 keyed with the public key (the key-confusion attack)', async () => {
    const pem = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const signed = `${b64({ alg: 'HS256', kid: rsa.kid, typ: 'JWT' })}.${b64(claims())}`;
    const mac = createHmac('sha256', pem).update(signed).digest('base64url');
    await rejected(authorizer()(tokenEvent(`${signed}.${mac}`)), 'algorithm HS256 not accepted');
  });

  test("a kid naming a key of another type than the token's alg", async () => {
    const [, payload, signature] = (await token(rsa)).split('.');
    const swapped = `${b64({ alg: 'ES256', kid: rsa.kid })}.${payload}.${signature}`;
    await rejected(authorizer()(tokenEvent(swapped)), 'key does not fit the algorithm');
  });

  test('an RSA key under 2048 bits', async () => {
    // Not in the mock's store (its token endpoint would pick it), and signed here: jose
    // refuses to sign with it.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' };
    const jwks = await serveJson({ keys: [jwk] });
    try {
      const signed = `${b64({ alg: 'RS256', kid: 'weak' })}.${b64(claims())}`;
      const weak = `${signed}.${sign('sha256', Buffer.from(signed), privateKey).toString('base64url')}`;
      await rejected(authorizer({}, { jwksUri: jwks.uri })(tokenEvent(weak)), 'key does not fit the algorithm');
    } finally {
      jwks.close();
    }
  });

  test('not a JWT, or no Bearer scheme', async () => {
    await rejected(authorizer()(tokenEvent('not-a-jwt')), 'malformed token');
    const jwt = await token(rsa);
    await rejected(authorizer()({ ...tokenEvent(jwt), authorizationToken: jwt }), 'no bearer token');
    await rejected(authorizer()({ ...tokenEvent(jwt), type: 'REQUEST' }), 'not a TOKEN event');
  });
});

describe('the key set', () => {
  test('an unknown kid refetches once the cache is 10 s old, then a rotated key is accepted', async () => {
    let clock = now();
    const authorize = authorizer({ now: () => clock });
    await authorize(tokenEvent(await token(rsa)));
    assert.equal(authorize.fetches, 1);

    const rotated = await server.issuer.keys.generate('RS256');
    const jwt = await token(rotated);
    // Fetched moments ago: a token naming an unknown key does not make it fetch again.
    await rejected(authorize(tokenEvent(jwt)), 'unknown key');
    assert.equal(authorize.fetches, 1);

    clock += 11;
    assert.equal((await authorize(tokenEvent(jwt))).principalId, 'dana');
    assert.equal(authorize.fetches, 2);

    // A kid the IdP never had: refused without another fetch.
    const [, payload, signature] = jwt.split('.');
    const unknown = `${b64({ alg: 'RS256', kid: 'nobody-has-this' })}.${payload}.${signature}`;
    await rejected(authorize(tokenEvent(unknown)), 'unknown key');
    assert.equal(authorize.fetches, 2);
  });

  test('keys older than an hour are fetched again, even for a known kid', async () => {
    let clock = now();
    const authorize = authorizer({ now: () => clock });
    const jwt = await token(rsa);
    await authorize(tokenEvent(jwt));
    clock += 3599;
    await authorize(tokenEvent(jwt));
    assert.equal(authorize.fetches, 1);
    clock += 1;
    await authorize(tokenEvent(jwt));
    assert.equal(authorize.fetches, 2);
  });

  test('an oversized JWKS is not read, and makes a 500 rather than a 401', async () => {
    const big = await serveJson({ keys: [], pad: 'x'.repeat(300_000) });
    try {
      const authorize = authorizer({}, { jwksUri: big.uri });
      await assert.rejects(authorize(tokenEvent(await token(rsa))), /the JWKS is unavailable/);
      // …and a failed fetch is not retried at once.
      await assert.rejects(authorize(tokenEvent(await token(rsa))), /the JWKS is unavailable/);
      assert.equal(authorize.fetches, 1);
    } finally {
      big.close();
    }
  });
});

/** A JWKS endpoint on a free loopback port that answers `body`. */
async function serveJson(body) {
  const server = createServer((_req, res) => res.end(JSON.stringify(body)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { uri: `http://127.0.0.1:${server.address().port}/jwks`, close: () => server.close() };
}

describe('end to end, as API Gateway calls the packaged function', () => {
  let dir;
  let handler;

  before(async () => {
    // The zip's layout: index.mjs with config.json next to it.
    dir = await mkdtemp(join(tmpdir(), 'fedgate-authorizer-'));
    await copyFile(new URL('./index.mjs', import.meta.url), join(dir, 'index.mjs'));
    // oauth2-mock-server ignores the `audience` fedgate sends: its key manager has none.
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, audience: null }));
    ({ handler } = await import(pathToFileURL(join(dir, 'index.mjs')).href));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  /** The client-credentials grant exactly as fedgate's devportal asks for it (src/idp/token.rs). */
  async function devportalToken(scope) {
    const response = await fetch(`${config.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('pet-shop:pet-shop-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, audience: 'pets-api' }),
    });
    assert.equal(response.status, 200);
    return (await response.json()).access_token;
  }

  const effectFor = (answer, resource) =>
    answer.policyDocument.Statement.find((s) => s.Resource.includes(resource))?.Effect;

  test('Allow for the right scopes, Deny otherwise', async () => {
    const reader = await handler(tokenEvent(await devportalToken('pets:read')));
    // oauth2-mock-server names no client in client-credentials tokens.
    assert.deepEqual(reader.context, { sub: '', clientId: '', scope: 'pets:read' });
    assert.equal(effectFor(reader, `${PETS}/GET/pets/*`), 'Allow');
    assert.equal(effectFor(reader, `${PETS}/POST/pets`), 'Deny');

    const writer = await handler(
      tokenEvent(await devportalToken('pets:write'), methodArn('abc123', 'prod', 'POST', '/pets')),
    );
    assert.equal(effectFor(writer, `${PETS}/GET/pets/*`), 'Deny');
    assert.equal(effectFor(writer, `${PETS}/POST/pets`), 'Allow');

    await rejected(handler(tokenEvent(`${await devportalToken('pets:read')}x`)), 'bad signature');
  });
});
