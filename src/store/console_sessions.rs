//! Console sessions, stored by the SHA-256 of their id.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::ids::ClientRecordId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub client_record: ClientRecordId,
    pub client_id: String,
    pub generation: i64,
    pub scopes: Vec<String>,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub client_record: ClientRecordId,
    pub client_id: &'a str,
    pub generation: i64,
    pub scopes: Vec<String>,
    pub csrf_token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(pool: &PgPool, session: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO console_sessions
             (id_hash, client_record, client_id, generation, scopes, csrf_token, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.id_hash)
    .bind(session.client_record)
    .bind(session.client_id)
    .bind(session.generation)
    .bind(&session.scopes)
    .bind(session.csrf_token)
    .bind(session.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn find(pool: &PgPool, id_hash: &[u8]) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT client_record, client_id, generation, scopes, csrf_token, created_at,
                expires_at, last_seen_at
         FROM console_sessions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

pub async fn touch(pool: &PgPool, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE console_sessions SET last_seen_at = now() WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete(pool: &PgPool, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes sessions past their expiry (run at each sign-in, so the table stays small).
pub async fn delete_expired(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(())
}
