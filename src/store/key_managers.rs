//! Key managers.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};

use super::WriteError;
use super::environments::sealed_from_columns;
use crate::domain::ids::KeyManagerId;
use crate::secrets::Sealed;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyManagerRow {
    pub id: KeyManagerId,
    pub name: String,
    pub display_name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub well_known_url: Option<String>,
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    pub audience: Option<String>,
    pub scopes: Vec<String>,
    pub secret_key_id: Option<String>,
    pub secret_nonce: Option<Vec<u8>>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl KeyManagerRow {
    pub fn sealed_registration_token(&self) -> Option<Sealed> {
        sealed_from_columns(
            &self.secret_key_id,
            &self.secret_nonce,
            &self.secret_ciphertext,
        )
    }
}

#[derive(Debug, Clone)]
pub struct KeyManagerWrite {
    pub id: KeyManagerId,
    pub name: String,
    pub display_name: String,
    pub well_known_url: Option<String>,
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    pub audience: Option<String>,
    pub scopes: Vec<String>,
    pub registration_token: Option<Sealed>,
    pub actor: String,
}

/// The unique index on issuers (without a trailing `/`), migration 0041.
const ISSUER_INDEX: &str = "key_managers_issuer_key";

/// Why a key manager was not written.
#[derive(Debug, thiserror::Error)]
pub enum UpsertError {
    #[error("another key manager has this issuer")]
    IssuerTaken,
    #[error(transparent)]
    Write(#[from] WriteError),
}

const COLUMNS: &str = "id, name, display_name, type, well_known_url, issuer, jwks_uri, token_endpoint, \
    registration_endpoint, audience, scopes, secret_key_id, secret_nonce, secret_ciphertext, version, \
    created_by, updated_by, created_at, updated_at";

/// Inserts, or with `expected_version` replaces, a key manager.
pub async fn upsert(
    db: impl PgExecutor<'_>,
    km: &KeyManagerWrite,
    expected_version: Option<i64>,
) -> Result<KeyManagerRow, UpsertError> {
    let sealed = km.registration_token.as_ref();
    let sql = match expected_version {
        None => format!(
            "INSERT INTO key_managers (id, name, display_name, type, well_known_url, issuer, jwks_uri,
                token_endpoint, registration_endpoint, audience, scopes, secret_key_id, secret_nonce,
                secret_ciphertext, created_by, updated_by)
             VALUES ($1, $2, $3, 'oidc', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
             RETURNING {COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE key_managers SET name = $2, display_name = $3, well_known_url = $4, issuer = $5,
                jwks_uri = $6, token_endpoint = $7, registration_endpoint = $8, audience = $9,
                scopes = $10, secret_key_id = $11, secret_nonce = $12, secret_ciphertext = $13,
                updated_by = $14, version = version + 1, updated_at = now()
             WHERE id = $1 AND version = $15
             RETURNING {COLUMNS}"
        ),
    };
    sqlx::query_as(&sql)
        .bind(km.id)
        .bind(&km.name)
        .bind(&km.display_name)
        .bind(&km.well_known_url)
        .bind(&km.issuer)
        .bind(&km.jwks_uri)
        .bind(&km.token_endpoint)
        .bind(&km.registration_endpoint)
        .bind(&km.audience)
        .bind(&km.scopes)
        .bind(sealed.map(|s| &s.key_id))
        .bind(sealed.map(|s| &s.nonce))
        .bind(sealed.map(|s| &s.ciphertext))
        .bind(&km.actor)
        .bind(expected_version)
        .fetch_optional(db)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(error) if error.constraint() == Some(ISSUER_INDEX) => {
                UpsertError::IssuerTaken
            }
            _ => WriteError::from_sqlx(e).into(),
        })?
        .ok_or(UpsertError::Write(WriteError::VersionMismatch))
}

pub async fn get(pool: &PgPool, id: KeyManagerId) -> Result<Option<KeyManagerRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM key_managers WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn list(
    pool: &PgPool,
    after: Option<KeyManagerId>,
    limit: i64,
) -> Result<Vec<KeyManagerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM key_managers WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deletes a key manager; its version and name, or `None` when there was none.
pub async fn delete(
    db: impl PgExecutor<'_>,
    id: KeyManagerId,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("DELETE FROM key_managers WHERE id = $1 RETURNING version, name")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Of `names`, those of key managers that exist, share-locked until the transaction
/// ends: none of them is deleted or renamed meanwhile.
pub async fn lock_names(
    conn: &mut sqlx::PgConnection,
    names: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM key_managers WHERE name = ANY($1) FOR SHARE")
        .bind(names)
        .fetch_all(conn)
        .await
}

pub async fn get_by_name(pool: &PgPool, name: &str) -> Result<Option<KeyManagerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM key_managers WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// The key manager whose tokens carry `iss = issuer` (at most one: issuers are unique).
/// Stored issuers are normalised URLs (`http://host/`), tokens often omit the trailing
/// slash.
pub async fn find_by_issuer(
    db: impl PgExecutor<'_>,
    issuer: &str,
) -> Result<Vec<KeyManagerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM key_managers WHERE rtrim(issuer, '/') = rtrim($1, '/') ORDER BY id"
    ))
    .bind(issuer)
    .fetch_all(db)
    .await
}
