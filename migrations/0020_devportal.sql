-- Developer portal: applications owned by developers, and their client credentials at
-- key managers. No subscriptions: AWS-deployed APIs need none.
CREATE TABLE applications (
    id           UUID PRIMARY KEY,
    -- The developer: the subject of the devportal token that created it.
    owner        TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (owner, name)
);
CREATE INDEX applications_owner ON applications (owner, id);

-- An application's OAuth2 client at one key manager.
CREATE TABLE application_keys (
    id                 UUID PRIMARY KEY,
    application_id     UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_manager_id     UUID NOT NULL REFERENCES key_managers (id) ON DELETE CASCADE,
    client_id          TEXT NOT NULL,
    -- true when fedgate registered the client (RFC 7591) rather than being given it.
    registered         BOOLEAN NOT NULL,
    -- The client secret, sealed ("application-key:<id>:clientSecret"); NULL for a
    -- public client the IdP registered without one.
    secret_key_id      TEXT,
    secret_nonce       BYTEA,
    secret_ciphertext  BYTEA,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (application_id, key_manager_id),
    CHECK ((secret_key_id IS NULL) = (secret_ciphertext IS NULL))
);
