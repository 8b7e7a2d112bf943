-- Managed Lambda authorizers (issue 13): fedgate provisions one function per key manager
-- and environment, serving every REST API there whose policy names that key manager.
--
-- What is provisioned, and the package it holds: a deploy whose configuration gives the
-- same CodeSha256 makes no AWS call at all.
CREATE TABLE managed_authorizers (
    environment_id   UUID NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    key_manager_id   UUID NOT NULL,
    function_name    TEXT NOT NULL,
    function_arn     TEXT NOT NULL,
    invoke_role_arn  TEXT NOT NULL,
    code_sha256      TEXT NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, key_manager_id)
);

-- Which deployment uses which key manager's authorizer, on which REST API, with the scopes
-- of each method: the function's configuration is made from these rows. Written under an
-- advisory lock per environment and key manager, so two deploys never push configurations
-- that miss each other's REST API.
CREATE TABLE managed_authorizer_users (
    deployment_id    UUID NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    environment_id   UUID NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    key_manager_id   UUID NOT NULL,
    rest_api_id      TEXT NOT NULL,
    stage            TEXT NOT NULL,
    methods          JSONB NOT NULL,
    PRIMARY KEY (deployment_id, key_manager_id)
);
CREATE INDEX managed_authorizer_users_by_manager
    ON managed_authorizer_users (environment_id, key_manager_id);

-- A job that brings the managed authorizers a deployment uses up to date (after a key
-- manager's settings changed).
ALTER TABLE deploy_jobs DROP CONSTRAINT deploy_jobs_kind_check;
ALTER TABLE deploy_jobs ADD CONSTRAINT deploy_jobs_kind_check
    CHECK (kind IN ('deploy', 'undeploy', 'throttle', 'authorizer'));
