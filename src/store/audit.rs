//! The audit log.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    /// The HTTP status answered; none for what no request answered (a job's outcome).
    pub status: Option<u16>,
    pub success: bool,
    /// What happened, in words (a failed job's error).
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub status: Option<i16>,
    pub outcome: String,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// Filters of a listing; `None` matches everything.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

pub async fn record(db: impl PgExecutor<'_>, entry: &NewAuditEntry) -> Result<(), sqlx::Error> {
    let outcome = if entry.success { "success" } else { "failure" };
    sqlx::query(
        "INSERT INTO audit_log (id, actor, action, target_type, target_id, status, outcome, request_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7())
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target_type)
    .bind(&entry.target_id)
    .bind(entry.status.map(|s| s as i16))
    .bind(outcome)
    .bind(&entry.request_id)
    .bind(&entry.detail)
    .execute(db)
    .await?;
    Ok(())
}

/// Newest first; `before` is the last id of the previous page.
pub async fn list(
    pool: &PgPool,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor, action, target_type, target_id, status, outcome, detail, request_id
         FROM audit_log
         WHERE ($1::uuid IS NULL OR id < $1)
           AND ($2::text IS NULL OR actor = $2)
           AND ($3::text IS NULL OR target_type = $3)
           AND ($4::text IS NULL OR target_id = $4)
           AND ($5::text IS NULL OR outcome = $5)
           AND ($6::timestamptz IS NULL OR at >= $6)
           AND ($7::timestamptz IS NULL OR at < $7)
         ORDER BY id DESC LIMIT $8",
    )
    .bind(before)
    .bind(&filter.actor)
    .bind(&filter.target_type)
    .bind(&filter.target_id)
    .bind(&filter.outcome)
    .bind(filter.since)
    .bind(filter.until)
    .bind(limit)
    .fetch_all(pool)
    .await
}
