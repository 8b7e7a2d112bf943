//! APIs: the current design of each, with its lifecycle state and concurrency version.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::RowLock;

use crate::domain::api::ApiDesign;
use crate::domain::ids::{ApiId, KeyManagerId};
use crate::domain::lifecycle::LifecycleState;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiRow {
    pub id: ApiId,
    pub design: Json<ApiDesign>,
    #[sqlx(try_from = "String")]
    pub lifecycle_state: LifecycleState,
    /// Bumped on every change: the ETag.
    pub version: i64,
    /// A forced delete is undeploying it; it refuses edits and deploys meanwhile.
    pub deleting: bool,
    /// Why the last forced delete stopped (an undeploy failed).
    pub deletion_error: Option<String>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, design, lifecycle_state, version, deleting, \
    deletion_error, created_by, updated_by, created_at, updated_at";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("an API with this name and version already exists")]
    DuplicateNameVersion,
    #[error("an API with this context and version already exists")]
    DuplicateContextVersion,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The unique index on context and version, migration 0042.
const CONTEXT_INDEX: &str = "apis_context_version";

fn write_error(e: sqlx::Error) -> WriteError {
    match &e {
        sqlx::Error::Database(db) if db.constraint() == Some(CONTEXT_INDEX) => {
            WriteError::DuplicateContextVersion
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => WriteError::DuplicateNameVersion,
        _ => WriteError::Database(e),
    }
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    design: &ApiDesign,
    actor: &str,
) -> Result<ApiRow, WriteError> {
    insert_as(db, ApiId::new(), design, actor).await
}

/// Inserts the API under an id chosen beforehand (discovery tags the REST API with it
/// before the API exists).
pub async fn insert_as(
    db: impl PgExecutor<'_>,
    id: ApiId,
    design: &ApiDesign,
    actor: &str,
) -> Result<ApiRow, WriteError> {
    sqlx::query_as(&format!(
        "INSERT INTO apis (id, name, api_version, context, design, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(design.name.as_str())
    .bind(design.version.as_str())
    .bind(design.context.as_str())
    .bind(Json(design))
    .bind(actor)
    .fetch_one(db)
    .await
    .map_err(write_error)
}

pub async fn get(db: impl PgExecutor<'_>, id: ApiId) -> Result<Option<ApiRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM apis WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The API, locked as `lock` says until the transaction ends.
pub async fn lock(
    conn: &mut PgConnection,
    id: ApiId,
    lock: RowLock,
) -> Result<Option<ApiRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apis WHERE id = $1 {}",
        lock.sql()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Marks (or unmarks) the API as being deleted by a forced delete.
pub async fn set_deleting(
    db: impl PgExecutor<'_>,
    id: ApiId,
    deleting: bool,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE apis SET deleting = $2, deletion_error = $3, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(deleting)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// The API other than `except` with this context and version, if any.
pub async fn at_context(
    db: impl PgExecutor<'_>,
    context: &str,
    version: &str,
    except: Option<ApiId>,
) -> Result<Option<ApiRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apis
         WHERE context = $1 AND api_version = $2 AND id IS DISTINCT FROM $3"
    ))
    .bind(context)
    .bind(version)
    .bind(except)
    .fetch_optional(db)
    .await
}

pub async fn exists(pool: impl PgExecutor<'_>, id: ApiId) -> Result<bool, sqlx::Error> {
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

/// Replaces the design of an API the caller's transaction has locked.
pub async fn update(
    conn: &mut PgConnection,
    id: ApiId,
    design: &ApiDesign,
    actor: &str,
) -> Result<ApiRow, WriteError> {
    sqlx::query_as(&format!(
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
    .fetch_one(conn)
    .await
    .map_err(write_error)
}

/// Deletes the API with its revisions and history; false when there was none.
pub async fn delete(db: impl PgExecutor<'_>, id: ApiId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM apis WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// APIs whose current design has a managed policy (at the API or on a resource) naming
/// the key manager `name` (or its `id`): at most `limit` of them by name, each with the
/// count of all.
pub async fn naming_key_manager(
    db: impl PgExecutor<'_>,
    name: &str,
    id: KeyManagerId,
    limit: i64,
) -> Result<Vec<(ApiId, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, count(*) OVER () FROM apis
         WHERE jsonb_path_exists(design,
                 '$.policies[*].parameters.keyManager ? (@ == $name || @ == $id)', $1)
            OR jsonb_path_exists(design,
                 '$.resources[*].policies[*].parameters.keyManager ? (@ == $name || @ == $id)', $1)
         ORDER BY name, id LIMIT $2",
    )
    .bind(serde_json::json!({"name": name, "id": id.to_string()}))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The names of the APIs among `ids` that exist.
pub async fn names(
    db: impl PgExecutor<'_>,
    ids: &[ApiId],
) -> Result<Vec<(ApiId, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM apis WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(db)
        .await
}
