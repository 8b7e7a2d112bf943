//! Lifecycle transitions of APIs and their history.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::apis::{ApiRow, COLUMNS as API_COLUMNS};
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::{self, LifecycleAction, LifecycleState, TransitionError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LifecycleEventRow {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub action: LifecycleAction,
    #[sqlx(try_from = "String")]
    pub from_state: LifecycleState,
    #[sqlx(try_from = "String")]
    pub to_state: LifecycleState,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Applies `action` to an API that the caller's transaction has locked, and records it;
/// the state machine decides on the locked row, so two concurrent actions cannot both
/// apply to one state.
pub async fn apply(
    conn: &mut PgConnection,
    current: &ApiRow,
    action: LifecycleAction,
    actor: &str,
) -> Result<Result<ApiRow, TransitionError>, sqlx::Error> {
    let api_id = current.id;
    let from = current.lifecycle_state;
    let to = match lifecycle::transition(from, action, current.design.resources.len()) {
        Ok(to) => to,
        Err(refused) => return Ok(Err(refused)),
    };
    let updated: ApiRow = sqlx::query_as(&format!(
        "UPDATE apis SET lifecycle_state = $2, updated_by = $3, updated_at = now(),
                version = version + 1
         WHERE id = $1 RETURNING {API_COLUMNS}"
    ))
    .bind(api_id)
    .bind(to.as_str())
    .bind(actor)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO api_lifecycle_events (id, api_id, action, from_state, to_state, actor)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(api_id)
    .bind(action.as_str())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(updated))
}

/// Every transition of the API, oldest first.
pub async fn history(pool: &PgPool, api_id: ApiId) -> Result<Vec<LifecycleEventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, action, from_state, to_state, actor, at FROM api_lifecycle_events
         WHERE api_id = $1 ORDER BY id",
    )
    .bind(api_id)
    .fetch_all(pool)
    .await
}
