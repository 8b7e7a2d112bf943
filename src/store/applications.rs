//! Developer-portal applications and their keys. Every query is scoped by `owner`, so one
//! developer's application is simply not found for another.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::WriteError;
use super::environments::sealed_from_columns;
use crate::domain::application::ApplicationSpec;
use crate::domain::ids::{ApplicationId, KeyManagerId};
use crate::secrets::Sealed;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: ApplicationId,
    pub owner: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, owner, name, description, version, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    owner: &str,
    spec: &ApplicationSpec,
) -> Result<ApplicationRow, WriteError> {
    sqlx::query_as(&format!(
        "INSERT INTO applications (id, owner, name, description) VALUES ($1, $2, $3, $4)
         RETURNING {COLUMNS}"
    ))
    .bind(ApplicationId::new())
    .bind(owner)
    .bind(&spec.name)
    .bind(&spec.description)
    .fetch_one(db)
    .await
    .map_err(WriteError::from_sqlx)
}

pub async fn get(
    pool: &PgPool,
    owner: &str,
    id: ApplicationId,
) -> Result<Option<ApplicationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM applications WHERE id = $1 AND owner = $2"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(pool)
    .await
}

pub async fn list(
    pool: &PgPool,
    owner: &str,
    after: Option<ApplicationId>,
    limit: i64,
) -> Result<Vec<ApplicationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM applications WHERE owner = $1 AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    ))
    .bind(owner)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Replaces name and description if the version is still `expected_version`.
pub async fn update(
    db: impl PgExecutor<'_>,
    owner: &str,
    id: ApplicationId,
    spec: &ApplicationSpec,
    expected_version: i64,
) -> Result<ApplicationRow, WriteError> {
    sqlx::query_as(&format!(
        "UPDATE applications SET name = $3, description = $4, version = version + 1,
            updated_at = now()
         WHERE id = $1 AND owner = $2 AND version = $5 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(owner)
    .bind(&spec.name)
    .bind(&spec.description)
    .bind(expected_version)
    .fetch_optional(db)
    .await
    .map_err(WriteError::from_sqlx)?
    .ok_or(WriteError::VersionMismatch)
}

/// Deletes the application with its keys; its version, or `None` when the owner has no
/// such application.
pub async fn delete(
    db: impl PgExecutor<'_>,
    owner: &str,
    id: ApplicationId,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("DELETE FROM applications WHERE id = $1 AND owner = $2 RETURNING version")
        .bind(id)
        .bind(owner)
        .fetch_optional(db)
        .await
}

/// An application's client at a key manager (with the key manager's name for display).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub id: Uuid,
    pub application_id: ApplicationId,
    pub key_manager_id: KeyManagerId,
    pub key_manager_name: String,
    pub client_id: String,
    pub registered: bool,
    pub secret_key_id: Option<String>,
    pub secret_nonce: Option<Vec<u8>>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

impl KeyRow {
    pub fn sealed_secret(&self) -> Option<Sealed> {
        sealed_from_columns(
            &self.secret_key_id,
            &self.secret_nonce,
            &self.secret_ciphertext,
        )
    }
}

const KEY_SELECT: &str =
    "SELECT k.id, k.application_id, k.key_manager_id, m.name AS key_manager_name,
        k.client_id, k.registered, k.secret_key_id, k.secret_nonce, k.secret_ciphertext,
        k.created_at
    FROM application_keys k JOIN key_managers m ON m.id = k.key_manager_id";

/// What adding keys writes; `id` is chosen first because the secret is sealed to it.
#[derive(Debug, Clone)]
pub struct KeyWrite {
    pub id: Uuid,
    pub application_id: ApplicationId,
    pub key_manager_id: KeyManagerId,
    pub client_id: String,
    pub registered: bool,
    pub secret: Option<Sealed>,
}

/// Adds keys; `WriteError::DuplicateName` when the application has keys at that key
/// manager already.
pub async fn insert_key(conn: &mut PgConnection, key: &KeyWrite) -> Result<KeyRow, WriteError> {
    let sealed = key.secret.as_ref();
    sqlx::query(
        "INSERT INTO application_keys (id, application_id, key_manager_id, client_id, registered,
            secret_key_id, secret_nonce, secret_ciphertext)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(key.id)
    .bind(key.application_id)
    .bind(key.key_manager_id)
    .bind(&key.client_id)
    .bind(key.registered)
    .bind(sealed.map(|s| &s.key_id))
    .bind(sealed.map(|s| &s.nonce))
    .bind(sealed.map(|s| &s.ciphertext))
    .execute(&mut *conn)
    .await
    .map_err(WriteError::from_sqlx)?;
    sqlx::query_as(&format!("{KEY_SELECT} WHERE k.id = $1"))
        .bind(key.id)
        .fetch_one(&mut *conn)
        .await
        .map_err(WriteError::Database)
}

/// The keys of an application, oldest first.
pub async fn keys(
    pool: &PgPool,
    application_id: ApplicationId,
) -> Result<Vec<KeyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{KEY_SELECT} WHERE k.application_id = $1 ORDER BY k.created_at, k.id"
    ))
    .bind(application_id)
    .fetch_all(pool)
    .await
}

pub async fn delete_key(
    db: impl PgExecutor<'_>,
    application_id: ApplicationId,
    key_manager_id: KeyManagerId,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "DELETE FROM application_keys WHERE application_id = $1 AND key_manager_id = $2",
    )
    .bind(application_id)
    .bind(key_manager_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}
