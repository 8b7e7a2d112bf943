-- Who asked for a job, so that its outcome is audited in their name.
ALTER TABLE deploy_jobs ADD COLUMN requested_by TEXT;

-- A forced delete undeploys first: the API is marked, refuses edits and deploys, and the
-- worker deletes it after the last undeploy; a failed undeploy clears the mark and says why.
ALTER TABLE apis ADD COLUMN deleting BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE apis ADD COLUMN deletion_error TEXT;

-- A transient failure being retried: which attempt failed and when the next one runs.
ALTER TABLE deployments ADD COLUMN attempt INTEGER;
ALTER TABLE deployments ADD COLUMN next_attempt_at TIMESTAMPTZ;

-- Job outcomes are audited too; they answer no HTTP request, so they have no status.
ALTER TABLE audit_log ALTER COLUMN status DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN detail TEXT;
