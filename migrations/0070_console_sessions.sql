-- Console sessions (issue 15): the browser holds a random 256-bit id in an HttpOnly
-- cookie; only its SHA-256 is stored, so a copy of this table signs nobody in. A session
-- names the client's record and credential generation as a token does: deleting the
-- client or rotating its secret ends it (checked on every request).
CREATE TABLE console_sessions (
    id_hash        BYTEA PRIMARY KEY,
    client_record  UUID NOT NULL REFERENCES api_clients(id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    generation     BIGINT NOT NULL,
    scopes         TEXT[] NOT NULL,
    csrf_token     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
