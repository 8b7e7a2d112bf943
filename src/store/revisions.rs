//! API revisions: immutable, numbered snapshots of an API's design.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::domain::api::ApiDesign;
use crate::domain::ids::{ApiId, RevisionId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub id: RevisionId,
    pub api_id: ApiId,
    pub number: i32,
    pub description: String,
    pub design: Json<ApiDesign>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, api_id, number, description, design, created_by, created_at";

#[derive(Debug)]
pub enum CreateOutcome {
    Created(Box<RevisionRow>),
    ApiNotFound,
    /// The API already keeps `max_kept` revisions.
    AtCap,
}

/// Snapshots the API's current design as its next revision, unless it already keeps
/// `max_kept` revisions. Numbers are never reused, even after deletes. Runs in the
/// caller's transaction, which then holds the API's row until it ends.
pub async fn create(
    conn: &mut PgConnection,
    api_id: ApiId,
    description: &str,
    actor: &str,
    max_kept: i64,
) -> Result<CreateOutcome, sqlx::Error> {
    // Locking the API row serialises snapshots of one API: distinct numbers, a true cap,
    // and no design change between the copy and the commit.
    let locked: Option<i32> =
        sqlx::query_scalar("SELECT revisions_made FROM apis WHERE id = $1 FOR UPDATE")
            .bind(api_id)
            .fetch_optional(&mut *conn)
            .await?;
    if locked.is_none() {
        return Ok(CreateOutcome::ApiNotFound);
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM api_revisions WHERE api_id = $1")
        .bind(api_id)
        .fetch_one(&mut *conn)
        .await?;
    if kept >= max_kept {
        return Ok(CreateOutcome::AtCap);
    }
    let row: RevisionRow = sqlx::query_as(&format!(
        "INSERT INTO api_revisions (id, api_id, number, description, design, created_by)
         SELECT $1, id, revisions_made + 1, $3, design, $4 FROM apis WHERE id = $2
         RETURNING {COLUMNS}"
    ))
    .bind(RevisionId::new())
    .bind(api_id)
    .bind(description)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE apis SET revisions_made = $2 WHERE id = $1")
        .bind(api_id)
        .bind(row.number)
        .execute(&mut *conn)
        .await?;
    Ok(CreateOutcome::Created(Box::new(row)))
}

/// One page, oldest first; `after` is the last id of the previous page.
pub async fn list(
    pool: &PgPool,
    api_id: ApiId,
    after: Option<RevisionId>,
    limit: i64,
) -> Result<Vec<RevisionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_revisions
         WHERE api_id = $1 AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    ))
    .bind(api_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(
    db: impl PgExecutor<'_>,
    api_id: ApiId,
    id: RevisionId,
) -> Result<Option<RevisionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_revisions WHERE api_id = $1 AND id = $2"
    ))
    .bind(api_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// False when the API has no such revision.
pub async fn delete(
    db: impl PgExecutor<'_>,
    api_id: ApiId,
    id: RevisionId,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM api_revisions WHERE api_id = $1 AND id = $2")
        .bind(api_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// The newest revision whose design equals the API's current design.
pub async fn newest_equal_to_current(
    db: impl PgExecutor<'_>,
    api_id: ApiId,
) -> Result<Option<RevisionId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM api_revisions WHERE api_id = $1 AND design = (SELECT design FROM apis WHERE id = $1)
         ORDER BY number DESC LIMIT 1",
    )
    .bind(api_id)
    .fetch_optional(db)
    .await
}
