//! The managed authorizers provisioned per environment and key manager, and the
//! deployments using each (whose REST APIs and scopes make the function's configuration).

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};

use crate::domain::authorizer::MethodScopes;
use crate::domain::ids::{DeploymentId, EnvironmentId, KeyManagerId};
use crate::domain::managed_authorizer::ManagedArns;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProvisionedRow {
    pub environment_id: EnvironmentId,
    pub key_manager_id: KeyManagerId,
    pub function_name: String,
    pub function_arn: String,
    pub invoke_role_arn: String,
    pub code_sha256: String,
}

impl ProvisionedRow {
    pub fn arns(&self) -> ManagedArns {
        ManagedArns {
            function_arn: self.function_arn.clone(),
            invoke_role_arn: self.invoke_role_arn.clone(),
        }
    }
}

/// A deployment's REST API as one key manager's authorizer serves it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub deployment_id: DeploymentId,
    pub rest_api_id: String,
    pub stage: String,
    pub methods: Json<Vec<MethodScopes>>,
}

/// Serializes every change of one key manager's authorizer in one environment until the
/// transaction ends: the configuration read, the AWS call and the record are one step.
pub async fn lock(
    conn: &mut PgConnection,
    environment_id: EnvironmentId,
    key_manager_id: KeyManagerId,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 13))")
        .bind(environment_id.to_string())
        .bind(key_manager_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(
    db: impl PgExecutor<'_>,
    environment_id: EnvironmentId,
    key_manager_id: KeyManagerId,
) -> Result<Option<ProvisionedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT environment_id, key_manager_id, function_name, function_arn, invoke_role_arn,
                code_sha256
         FROM managed_authorizers WHERE environment_id = $1 AND key_manager_id = $2",
    )
    .bind(environment_id)
    .bind(key_manager_id)
    .fetch_optional(db)
    .await
}

/// Every authorizer provisioned in an environment.
pub async fn in_environment(
    db: impl PgExecutor<'_>,
    environment_id: EnvironmentId,
) -> Result<Vec<ProvisionedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT environment_id, key_manager_id, function_name, function_arn, invoke_role_arn,
                code_sha256
         FROM managed_authorizers WHERE environment_id = $1",
    )
    .bind(environment_id)
    .fetch_all(db)
    .await
}

pub async fn record(db: impl PgExecutor<'_>, row: &ProvisionedRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO managed_authorizers (environment_id, key_manager_id, function_name,
             function_arn, invoke_role_arn, code_sha256)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (environment_id, key_manager_id) DO UPDATE SET
             function_name = $3, function_arn = $4, invoke_role_arn = $5, code_sha256 = $6,
             updated_at = now()",
    )
    .bind(row.environment_id)
    .bind(row.key_manager_id)
    .bind(&row.function_name)
    .bind(&row.function_arn)
    .bind(&row.invoke_role_arn)
    .bind(&row.code_sha256)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn forget(
    db: impl PgExecutor<'_>,
    environment_id: EnvironmentId,
    key_manager_id: KeyManagerId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM managed_authorizers WHERE environment_id = $1 AND key_manager_id = $2",
    )
    .bind(environment_id)
    .bind(key_manager_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The deployments an authorizer serves, by deployment id.
pub async fn users(
    db: impl PgExecutor<'_>,
    environment_id: EnvironmentId,
    key_manager_id: KeyManagerId,
) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT deployment_id, rest_api_id, stage, methods FROM managed_authorizer_users
         WHERE environment_id = $1 AND key_manager_id = $2 ORDER BY deployment_id",
    )
    .bind(environment_id)
    .bind(key_manager_id)
    .fetch_all(db)
    .await
}

/// The key managers whose authorizers serve a deployment.
pub async fn used_by(
    db: impl PgExecutor<'_>,
    deployment_id: DeploymentId,
) -> Result<Vec<KeyManagerId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT key_manager_id FROM managed_authorizer_users WHERE deployment_id = $1
         ORDER BY key_manager_id",
    )
    .bind(deployment_id)
    .fetch_all(db)
    .await
}

pub async fn add_user(
    db: impl PgExecutor<'_>,
    environment_id: EnvironmentId,
    key_manager_id: KeyManagerId,
    user: &UserRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO managed_authorizer_users (deployment_id, environment_id, key_manager_id,
             rest_api_id, stage, methods)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (deployment_id, key_manager_id) DO UPDATE SET
             rest_api_id = $4, stage = $5, methods = $6",
    )
    .bind(user.deployment_id)
    .bind(environment_id)
    .bind(key_manager_id)
    .bind(&user.rest_api_id)
    .bind(&user.stage)
    .bind(&user.methods)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn remove_user(
    db: impl PgExecutor<'_>,
    deployment_id: DeploymentId,
    key_manager_id: KeyManagerId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM managed_authorizer_users WHERE deployment_id = $1 AND key_manager_id = $2",
    )
    .bind(deployment_id)
    .bind(key_manager_id)
    .execute(db)
    .await?;
    Ok(())
}

/// One deployment per environment whose authorizer for the key manager is provisioned: a
/// refresh job on it brings that environment's authorizer up to date.
pub async fn one_user_per_environment(
    db: impl PgExecutor<'_>,
    key_manager_id: KeyManagerId,
) -> Result<Vec<(DeploymentId, crate::domain::ids::ApiId, EnvironmentId)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT ON (u.environment_id) u.deployment_id, d.api_id, u.environment_id
         FROM managed_authorizer_users u JOIN deployments d ON d.id = u.deployment_id
         WHERE u.key_manager_id = $1
         ORDER BY u.environment_id, u.deployment_id",
    )
    .bind(key_manager_id)
    .fetch_all(db)
    .await
}
