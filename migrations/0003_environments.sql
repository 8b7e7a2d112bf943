-- Gateway environments: an AWS account, region and stage fedgate deploys to.
CREATE TABLE environments (
    id                   UUID PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    provider             TEXT NOT NULL CHECK (provider = 'aws'),
    region               TEXT NOT NULL,
    stage                TEXT NOT NULL,
    endpoint_url         TEXT,
    invoke_url_template  TEXT,
    -- Non-secret credential fields: {"type": ..., "accessKeyId"|"roleArn"|... }.
    credentials          JSONB NOT NULL,
    -- Secret credential fields as one JSON document sealed under the master key
    -- (AES-256-GCM, bound to "environment:<id>:credentials").
    secret_key_id        TEXT,
    secret_nonce         BYTEA,
    secret_ciphertext    BYTEA,
    -- Learnt from the last successful live check.
    account_id           TEXT,
    version              BIGINT NOT NULL DEFAULT 1,
    created_by           TEXT NOT NULL,
    updated_by           TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((secret_key_id IS NULL) = (secret_ciphertext IS NULL))
);

-- Key managers: third-party OAuth2 / OIDC identity providers.
CREATE TABLE key_managers (
    id                     UUID PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    display_name           TEXT NOT NULL,
    type                   TEXT NOT NULL CHECK (type = 'oidc'),
    well_known_url         TEXT,
    issuer                 TEXT NOT NULL,
    jwks_uri               TEXT NOT NULL,
    token_endpoint         TEXT NOT NULL,
    registration_endpoint  TEXT,
    audience               TEXT,
    scopes                 TEXT[] NOT NULL DEFAULT '{}',
    -- The initial access token for dynamic client registration, sealed
    -- ("key-manager:<id>:registrationToken").
    secret_key_id          TEXT,
    secret_nonce           BYTEA,
    secret_ciphertext      BYTEA,
    version                BIGINT NOT NULL DEFAULT 1,
    created_by             TEXT NOT NULL,
    updated_by             TEXT NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((secret_key_id IS NULL) = (secret_ciphertext IS NULL))
);
