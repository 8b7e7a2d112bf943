-- A deployment is the pair (API, environment): one AWS REST API holding one revision.
CREATE TABLE deployments (
    id              UUID PRIMARY KEY,
    api_id          UUID NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    environment_id  UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    revision_id     UUID REFERENCES api_revisions (id) ON DELETE SET NULL,
    -- The revision the latest request asked for (what the next job deploys).
    target_revision_id UUID REFERENCES api_revisions (id) ON DELETE SET NULL,
    status          TEXT NOT NULL CHECK (status IN
                      ('pending', 'deploying', 'deployed', 'failed', 'undeploying', 'undeployed')),
    rest_api_id     TEXT,
    aws_deployment_id TEXT,
    invocation_url  TEXT,
    error           TEXT,
    blocked         BOOLEAN NOT NULL DEFAULT false,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    deployed_at     TIMESTAMPTZ,
    UNIQUE (api_id, environment_id)
);
CREATE INDEX deployments_environment ON deployments (environment_id);

-- What happened to a deployment, in order.
CREATE TABLE deployment_events (
    id             UUID PRIMARY KEY,
    deployment_id  UUID NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,          -- requested, started, deployed, failed, …
    revision_id    UUID,
    detail         TEXT,
    actor          TEXT,
    at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deployment_events_deployment ON deployment_events (deployment_id, id);

-- The queue: jobs claimed with FOR UPDATE SKIP LOCKED by workers of any replica.
CREATE TABLE deploy_jobs (
    id             UUID PRIMARY KEY,
    deployment_id  UUID NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('deploy', 'undeploy', 'throttle')),
    revision_id    UUID,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'superseded')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    run_after      TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until    TIMESTAMPTZ,
    worker         TEXT,
    error          TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ
);
-- At most one job of a deployment runs at a time, whatever the number of replicas.
CREATE UNIQUE INDEX deploy_jobs_one_running ON deploy_jobs (deployment_id) WHERE status = 'running';
CREATE INDEX deploy_jobs_queued ON deploy_jobs (run_after) WHERE status = 'queued';

-- Client-side AWS rate limits shared by every replica: the next free slot per
-- (account or environment, region, operation).
CREATE TABLE aws_rate_slots (
    scope          TEXT NOT NULL,
    operation      TEXT NOT NULL,
    next_slot      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, operation)
);
