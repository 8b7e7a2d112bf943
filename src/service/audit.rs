//! The audit log: every change a service makes is recorded in the transaction that makes
//! it, in the name of the actor authentication established, so the log holds exactly what
//! was committed whichever front end asked; a change that fails is recorded as a failure
//! with its reason. Refused attempts (no valid token, a missing scope, a failed login) are
//! recorded by the front end that refused them, through `refused`.

use std::future::Future;

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::{Actor, AppState, ServiceError};
use crate::store::audit::{self as store, AuditFilter, AuditRow, NewAuditEntry};

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

/// A change as the audit log names it: `clients.create` on `clients`/`<id>`.
#[derive(Debug, Clone)]
pub struct Change {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    /// What was done, in words, when the action alone does not say it.
    pub detail: Option<String>,
}

impl Change {
    pub fn new(action: &'static str, target_type: &'static str) -> Self {
        Self {
            action,
            target_type,
            target_id: None,
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The change to one target (its id or name as the caller gave it).
    pub fn on(mut self, target: impl ToString) -> Self {
        self.target_id = Some(target.to_string());
        self
    }

    fn entry(&self, actor: &Actor, success: bool, detail: Option<String>) -> NewAuditEntry {
        NewAuditEntry {
            actor: actor.name().to_owned(),
            action: self.action.to_owned(),
            target_type: self.target_type.to_owned(),
            target_id: self.target_id.clone(),
            status: None,
            success,
            detail,
            request_id: actor.request_id.clone(),
        }
    }
}

/// Records a successful change; call it in the transaction that makes the change.
pub async fn record(
    db: impl PgExecutor<'_>,
    actor: &Actor,
    change: &Change,
) -> Result<(), ServiceError> {
    store::record(db, &change.entry(actor, true, change.detail.clone())).await?;
    Ok(())
}

/// Runs a change and, when it fails, records the failure and its reason (its success is
/// recorded by the change itself, in its own transaction, with `record`). A change that
/// failed because the database is unreachable is only logged: recording it would wait
/// for the database a second time, and fail too.
pub async fn attempt<T>(
    state: &AppState,
    actor: &Actor,
    change: Change,
    work: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    attempt_on(&state.db, actor, change, work).await
}

/// `attempt` with only a database, for the commands that run without a server.
pub async fn attempt_on<T>(
    db: &PgPool,
    actor: &Actor,
    change: Change,
    work: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    let result = work.await;
    if let Err(ServiceError::DatabaseUnreachable(_)) = &result {
        tracing::warn!(
            action = change.action,
            actor = actor.name(),
            "a change failed and is not in the audit log: the database is unreachable"
        );
    } else if let Err(error) = &result {
        let reason = match &change.detail {
            Some(what) => format!("{what}: {}", reason(error)),
            None => reason(error),
        };
        let entry = change.entry(actor, false, Some(reason));
        if let Err(e) = store::record(db, &entry).await {
            tracing::error!(error = %e, action = change.action, "could not write the audit log");
        }
    }
    result
}

/// A refused attempt: `actor` is who tried (`anonymous` when nobody could be established).
pub struct Refusal<'a> {
    pub actor: &'a str,
    pub action: String,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    /// What the front end answered (HTTP status), if it answers in those terms.
    pub status: Option<u16>,
    pub detail: String,
    pub request_id: Option<String>,
}

/// Records a refused attempt; a failure to write it is logged, never the caller's problem.
/// Front ends bound how many a source may cause (see `AppState::refusals`).
pub async fn refused(state: &AppState, refusal: Refusal<'_>) {
    let entry = NewAuditEntry {
        actor: refusal.actor.to_owned(),
        action: refusal.action,
        target_type: refusal.target_type.to_owned(),
        target_id: refusal.target_id,
        status: refusal.status,
        success: false,
        detail: Some(refusal.detail),
        request_id: refusal.request_id,
    };
    if let Err(error) = store::record(&state.db, &entry).await {
        tracing::error!(%error, action = %entry.action, "could not write the audit log");
    }
}

/// Why a change failed, in words fit for the log (internal errors are not described:
/// their detail is in the server's log).
fn reason(error: &ServiceError) -> String {
    match error {
        ServiceError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.reason))
            .collect::<Vec<_>>()
            .join("; "),
        ServiceError::Internal(_) => "an internal error occurred".into(),
        other => other.to_string(),
    }
}
