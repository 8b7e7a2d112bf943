-- Every change made through the admin and publisher APIs: who, what, when, target,
-- outcome. Request bodies are never recorded, so no secret can land here.
CREATE TABLE audit_log (
    id           UUID PRIMARY KEY,           -- UUIDv7: time-ordered, the pagination key
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor        TEXT NOT NULL,              -- the token's subject (client id)
    action       TEXT NOT NULL,              -- "POST /admin/v1/environments"
    target_type  TEXT NOT NULL,              -- "environments", "apis", …
    target_id    TEXT,
    status       SMALLINT NOT NULL,          -- the HTTP status answered
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    request_id   TEXT
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);
