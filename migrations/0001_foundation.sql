-- API clients: the OAuth2 clients that obtain fedgate's own access tokens.
CREATE TABLE api_clients (
    id           UUID PRIMARY KEY,
    client_id    TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    -- argon2id PHC string; the secret itself is never stored.
    secret_hash  TEXT NOT NULL,
    scopes       TEXT[] NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Keys fedgate generates for itself, sealed under the master key (AES-256-GCM).
-- `purpose` is unique: one JWT signing key shared by every replica.
CREATE TABLE sealed_keys (
    purpose      TEXT PRIMARY KEY,
    key_id       TEXT NOT NULL,
    nonce        BYTEA NOT NULL,
    ciphertext   BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
