-- APIs designed by publishers. The design (resources, policies, CORS, …) is one JSONB
-- document that the application validates as a whole; the columns hold what is searched,
-- kept unique or changed on its own.
CREATE TABLE apis (
    id               UUID PRIMARY KEY,           -- UUIDv7: time-ordered, the pagination key
    name             TEXT NOT NULL,
    api_version      TEXT NOT NULL,              -- the API's own version label ("1.0.0")
    context          TEXT NOT NULL,
    design           JSONB NOT NULL,
    lifecycle_state  TEXT NOT NULL DEFAULT 'CREATED'
        CHECK (lifecycle_state IN ('CREATED', 'PUBLISHED', 'BLOCKED', 'DEPRECATED', 'RETIRED')),
    version          BIGINT NOT NULL DEFAULT 1,  -- bumped on every change; the ETag
    revisions_made   INTEGER NOT NULL DEFAULT 0, -- numbers revisions; never reused
    created_by       TEXT NOT NULL,              -- client id of the token
    updated_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- "Petstore" and "petstore" of the same version would confuse every catalog.
CREATE UNIQUE INDEX apis_name_version ON apis (lower(name), api_version);
CREATE INDEX apis_state ON apis (lifecycle_state, id);

-- Immutable, numbered snapshots of an API's design; deployments deploy a revision.
CREATE TABLE api_revisions (
    id           UUID PRIMARY KEY,
    api_id       UUID NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    design       JSONB NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (api_id, number)
);

CREATE FUNCTION api_revisions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'API revisions are immutable';
END
$$;
CREATE TRIGGER api_revisions_no_update BEFORE UPDATE ON api_revisions
    FOR EACH ROW EXECUTE FUNCTION api_revisions_are_immutable();

-- Every lifecycle transition: who moved which API from where to where, and when.
CREATE TABLE api_lifecycle_events (
    id          UUID PRIMARY KEY,
    api_id      UUID NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX api_lifecycle_events_api ON api_lifecycle_events (api_id, id);
