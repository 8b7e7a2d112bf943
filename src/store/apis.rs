//! APIs: the current design of each, with its lifecycle state and concurrency version.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;

use crate::domain::api::ApiDesign;
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::LifecycleState;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiRow {
    pub id: ApiId,
    pub design: Json<ApiDesign>,
    #[sqlx(try_from = "String")]
    pub lifecycle_state: LifecycleState,
    /// Bumped on every change: the ETag.
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, design, lifecycle_state, version, created_by, \
    updated_by, created_at, updated_at";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("an API with this name and version already exists")]
    DuplicateNameVersion,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn write_error(e: sqlx::Error) -> WriteError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => WriteError::DuplicateNameVersion,
        _ => WriteError::Database(e),
    }
}

pub async fn insert(pool: &PgPool, design: &ApiDesign, actor: &str) -> Result<ApiRow, WriteError> {
    sqlx::query_as(&format!(
        "INSERT INTO apis (id, name, api_version, context, design, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(ApiId::new())
    .bind(design.name.as_str())
    .bind(design.version.as_str())
    .bind(design.context.as_str())
    .bind(Json(design))
    .bind(actor)
    .fetch_one(pool)
    .await
    .map_err(write_error)
}

pub async fn get(pool: &PgPool, id: ApiId) -> Result<Option<ApiRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM apis WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn exists(pool: &PgPool, id: ApiId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM apis WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// Filters of a listing; `None` matches everything.
#[derive(Debug, Default)]
pub struct ApiFilter {
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    pub state: Option<LifecycleState>,
}

/// One page ordered by id (time-ordered); `after` is the last id of the previous page.
pub async fn list(
    pool: &PgPool,
    filter: &ApiFilter,
    after: Option<ApiId>,
    limit: i64,
) -> Result<Vec<ApiRow>, sqlx::Error> {
    let states = filter.state.map(|state| vec![state]);
    list_in_states(
        pool,
        filter.name.as_deref(),
        states.as_deref(),
        after,
        limit,
    )
    .await
}

/// Like `list`, with the state any of `states` (`None`: any state).
pub async fn list_in_states(
    pool: &PgPool,
    name: Option<&str>,
    states: Option<&[LifecycleState]>,
    after: Option<ApiId>,
    limit: i64,
) -> Result<Vec<ApiRow>, sqlx::Error> {
    let pattern = name.map(|name| format!("%{}%", escape_like(name)));
    let states: Option<Vec<&str>> =
        states.map(|states| states.iter().map(|s| s.as_str()).collect());
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apis
         WHERE ($1::uuid IS NULL OR id > $1)
           AND ($2::text IS NULL OR name ILIKE $2)
           AND ($3::text[] IS NULL OR lifecycle_state = ANY ($3))
         ORDER BY id LIMIT $4"
    ))
    .bind(after)
    .bind(pattern)
    .bind(states)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// So that `%` and `_` in a search match themselves.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(Box<ApiRow>),
    NotFound,
    /// The API changed since the caller read it (its `If-Match` did not match).
    Stale,
}

/// Replaces the design if `precondition` accepts the current version (the caller's
/// `If-Match`). The row stays locked from the check to the write, so of two writers that
/// read the same version only one wins.
pub async fn update(
    pool: &PgPool,
    id: ApiId,
    design: &ApiDesign,
    precondition: impl FnOnce(i64) -> bool,
    actor: &str,
) -> Result<UpdateOutcome, WriteError> {
    let mut tx = pool.begin().await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM apis WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(current) = current else {
        return Ok(UpdateOutcome::NotFound);
    };
    if !precondition(current) {
        return Ok(UpdateOutcome::Stale);
    }
    let row: ApiRow = sqlx::query_as(&format!(
        "UPDATE apis SET name = $2, api_version = $3, context = $4, design = $5,
                updated_by = $6, updated_at = now(), version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(design.name.as_str())
    .bind(design.version.as_str())
    .bind(design.context.as_str())
    .bind(Json(design))
    .bind(actor)
    .fetch_one(&mut *tx)
    .await
    .map_err(write_error)?;
    tx.commit().await?;
    Ok(UpdateOutcome::Updated(Box::new(row)))
}

/// Deletes the API with its revisions and history; false when there was none.
pub async fn delete(pool: &PgPool, id: ApiId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM apis WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}
