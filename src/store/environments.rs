//! Gateway environments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::{RowLock, WriteError};
use crate::domain::ids::EnvironmentId;
use crate::secrets::Sealed;

/// The non-secret credential fields, as stored (JSONB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StoredCredentials {
    #[serde(rename_all = "camelCase")]
    AccessKey {
        access_key_id: String,
        /// Whether a session token is sealed beside the secret key.
        #[serde(default)]
        has_session_token: bool,
    },
    #[serde(rename_all = "camelCase")]
    AssumeRole {
        role_arn: String,
        external_id: Option<String>,
        session_name: Option<String>,
    },
    Default,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnvironmentRow {
    pub id: EnvironmentId,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub provider: String,
    pub region: String,
    pub stage: String,
    pub endpoint_url: Option<String>,
    pub invoke_url_template: Option<String>,
    pub credentials: Json<StoredCredentials>,
    pub secret_key_id: Option<String>,
    pub secret_nonce: Option<Vec<u8>>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub account_id: Option<String>,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EnvironmentRow {
    pub fn sealed_secrets(&self) -> Option<Sealed> {
        sealed_from_columns(
            &self.secret_key_id,
            &self.secret_nonce,
            &self.secret_ciphertext,
        )
    }
}

pub fn sealed_from_columns(
    key_id: &Option<String>,
    nonce: &Option<Vec<u8>>,
    ciphertext: &Option<Vec<u8>>,
) -> Option<Sealed> {
    Some(Sealed {
        key_id: key_id.clone()?,
        nonce: nonce.clone()?,
        ciphertext: ciphertext.clone()?,
    })
}

/// Everything an insert or update writes.
#[derive(Debug, Clone)]
pub struct EnvironmentWrite {
    pub id: EnvironmentId,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub region: String,
    pub stage: String,
    pub endpoint_url: Option<String>,
    pub invoke_url_template: Option<String>,
    pub credentials: StoredCredentials,
    pub secrets: Option<Sealed>,
    pub actor: String,
}

const COLUMNS: &str = "id, name, display_name, description, provider, region, stage, endpoint_url, \
    invoke_url_template, credentials, secret_key_id, secret_nonce, secret_ciphertext, account_id, \
    version, created_by, updated_by, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    env: &EnvironmentWrite,
) -> Result<EnvironmentRow, WriteError> {
    let sql = format!(
        "INSERT INTO environments (id, name, display_name, description, provider, region, stage,
            endpoint_url, invoke_url_template, credentials, secret_key_id, secret_nonce,
            secret_ciphertext, created_by, updated_by)
         VALUES ($1, $2, $3, $4, 'aws', $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
         RETURNING {COLUMNS}"
    );
    with_fields(&sql, env)
        .fetch_one(db)
        .await
        .map_err(WriteError::from_sqlx)
}

/// Replaces an environment if its version is still `expected_version`.
pub async fn update(
    db: impl PgExecutor<'_>,
    env: &EnvironmentWrite,
    expected_version: i64,
) -> Result<EnvironmentRow, WriteError> {
    let sql = format!(
        "UPDATE environments SET name = $2, display_name = $3, description = $4, region = $5,
            stage = $6, endpoint_url = $7, invoke_url_template = $8, credentials = $9,
            secret_key_id = $10, secret_nonce = $11, secret_ciphertext = $12, updated_by = $13,
            -- A change of account, region or credentials makes the last check's account stale.
            account_id = CASE WHEN region = $5 AND credentials = $9 AND endpoint_url IS NOT DISTINCT FROM $7
                              THEN account_id END,
            version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $14
         RETURNING {COLUMNS}"
    );
    with_fields(&sql, env)
        .bind(expected_version)
        .fetch_optional(db)
        .await
        .map_err(WriteError::from_sqlx)?
        .ok_or(WriteError::VersionMismatch)
}

/// The query with the environment's fields bound as $1–$13, the order both writes use.
fn with_fields<'q>(
    sql: &'q str,
    env: &'q EnvironmentWrite,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, EnvironmentRow, sqlx::postgres::PgArguments> {
    let sealed = env.secrets.as_ref();
    sqlx::query_as(sql)
        .bind(env.id)
        .bind(&env.name)
        .bind(&env.display_name)
        .bind(&env.description)
        .bind(&env.region)
        .bind(&env.stage)
        .bind(&env.endpoint_url)
        .bind(&env.invoke_url_template)
        .bind(Json(&env.credentials))
        .bind(sealed.map(|s| &s.key_id))
        .bind(sealed.map(|s| &s.nonce))
        .bind(sealed.map(|s| &s.ciphertext))
        .bind(&env.actor)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    id: EnvironmentId,
) -> Result<Option<EnvironmentRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM environments WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The environment, locked as `lock` says until the transaction ends.
pub async fn lock(
    conn: &mut PgConnection,
    id: EnvironmentId,
    lock: RowLock,
) -> Result<Option<EnvironmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM environments WHERE id = $1 {}",
        lock.sql()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn get_by_name(
    db: impl PgExecutor<'_>,
    name: &str,
) -> Result<Option<EnvironmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM environments WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn list(
    pool: &PgPool,
    after: Option<EnvironmentId>,
    limit: i64,
) -> Result<Vec<EnvironmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM environments WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: EnvironmentId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM environments WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Remembers the account a successful check authenticated into.
pub async fn set_account_id(
    pool: &PgPool,
    id: EnvironmentId,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE environments SET account_id = $2 WHERE id = $1")
        .bind(id)
        .bind(account_id)
        .execute(pool)
        .await?;
    Ok(())
}
