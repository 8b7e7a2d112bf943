//! The audit log, read newest first.

use uuid::Uuid;

use super::{AppState, ServiceError};
use crate::store::audit::{self as store, AuditFilter, AuditRow};

/// One page of entries matching `filter`, newest first; `before` is the last id of the
/// previous page.
pub async fn list(
    state: &AppState,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditRow>, ServiceError> {
    if let Some(outcome) = &filter.outcome
        && !matches!(outcome.as_str(), "success" | "failure")
    {
        return Err(ServiceError::field(
            "outcome",
            "must be `success` or `failure`",
        ));
    }
    Ok(store::list(&state.db, filter, before, limit).await?)
}
