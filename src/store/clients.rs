//! API clients.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::domain::client::NewClient;
use crate::domain::ids::ClientRecordId;
use crate::domain::scope::{Scope, Scopes};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: ClientRecordId,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    /// Bumped when the secret is rotated: tokens of an older generation are revoked.
    pub generation: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// Stored scopes that this binary no longer knows are dropped, never widened.
    pub fn scopes(&self) -> Option<Scopes> {
        Scopes::from_iter_nonempty(self.scopes.iter().filter_map(|s| Scope::parse(s)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InsertClientError {
    #[error("client id already exists")]
    DuplicateClientId,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const COLUMNS: &str =
    "id, client_id, name, secret_hash, scopes, generation, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    client: &NewClient,
    secret_hash: &str,
) -> Result<ClientRow, InsertClientError> {
    sqlx::query_as(&format!(
        "INSERT INTO api_clients (id, client_id, name, secret_hash, scopes)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(ClientRecordId::new())
    .bind(client.client_id.as_str())
    .bind(client.name.as_str())
    .bind(secret_hash)
    .bind(client.scopes.to_strings())
    .fetch_one(db)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            InsertClientError::DuplicateClientId
        }
        _ => InsertClientError::Database(e),
    })
}

/// Inserts the bootstrap client unless any client exists; true when it was inserted.
/// An advisory lock keeps replicas starting together from both bootstrapping.
pub async fn insert_if_none_exist(
    pool: &PgPool,
    client: &NewClient,
    secret_hash: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fedgate.bootstrap'))")
        .execute(&mut *tx)
        .await?;
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_clients)")
        .fetch_one(&mut *tx)
        .await?;
    if any {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO api_clients (id, client_id, name, secret_hash, scopes)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ClientRecordId::new())
    .bind(client.client_id.as_str())
    .bind(client.name.as_str())
    .bind(secret_hash)
    .bind(client.scopes.to_strings())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn find_by_client_id(
    pool: &PgPool,
    client_id: &str,
) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_clients WHERE client_id = $1"
    ))
    .bind(client_id)
    .fetch_optional(pool)
    .await
}

pub async fn get(pool: &PgPool, id: ClientRecordId) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_clients WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// One page ordered by id (time-ordered); `after` is the last id of the previous page.
pub async fn list(
    pool: &PgPool,
    after: Option<ClientRecordId>,
    limit: i64,
) -> Result<Vec<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_clients WHERE ($1::uuid IS NULL OR id > $1)
         ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    LastAdmin,
}

/// Deletes a client in the caller's transaction, refusing to remove the last one able to
/// administer fedgate (the caller then rolls back).
pub async fn delete_unless_last_admin(
    conn: &mut PgConnection,
    id: ClientRecordId,
) -> Result<DeleteOutcome, sqlx::Error> {
    // Serialises concurrent deletes so two cannot each remove "the other" last admin.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fedgate.clients.delete'))")
        .execute(&mut *conn)
        .await?;
    let deleted: Option<Vec<String>> =
        sqlx::query_scalar("DELETE FROM api_clients WHERE id = $1 RETURNING scopes")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(scopes) = deleted else {
        return Ok(DeleteOutcome::NotFound);
    };
    if scopes.iter().any(|s| s == Scope::Admin.as_str()) {
        let admins_left: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_clients WHERE $1 = ANY(scopes))")
                .bind(Scope::Admin.as_str())
                .fetch_one(&mut *conn)
                .await?;
        if !admins_left {
            return Ok(DeleteOutcome::LastAdmin);
        }
    }
    Ok(DeleteOutcome::Deleted)
}

/// Replaces the secret's hash and bumps the generation, revoking every token issued so far.
pub async fn replace_secret_hash(
    db: impl PgExecutor<'_>,
    id: ClientRecordId,
    secret_hash: &str,
) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE api_clients SET secret_hash = $2, generation = generation + 1, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(secret_hash)
    .fetch_optional(db)
    .await
}
