-- Plans, drift and discovery (issue 12).
--
-- A deployment keeps what fedgate last pushed to the gateway (the document) and the state
-- it expects the gateway to hold: the state of that document, or, for a REST API adopted
-- by discovery, the state read from AWS at adoption. A plan compares the next deploy with
-- that state; a drift check compares it with what AWS holds now.
ALTER TABLE deployments ADD COLUMN deployed_document JSONB;
ALTER TABLE deployments ADD COLUMN deployed_state JSONB;
ALTER TABLE deployments ADD COLUMN drift TEXT CHECK (drift IN ('in_sync', 'drifted', 'missing'));
ALTER TABLE deployments ADD COLUMN drift_checked_at TIMESTAMPTZ;
-- The changes of the last check (the plan's shape), while it found drift.
ALTER TABLE deployments ADD COLUMN drift_changes JSONB;
-- What the last deploy wants a person to know (the REST API was recreated under a new
-- invocation URL); cleared by the next deploy.
ALTER TABLE deployments ADD COLUMN notice TEXT;

-- Periodic work that must run once per interval across every replica: a replica claims a
-- run by moving `last_run_at` forward in one statement.
CREATE TABLE periodic_runs (
    name TEXT PRIMARY KEY,
    last_run_at TIMESTAMPTZ NOT NULL
);
