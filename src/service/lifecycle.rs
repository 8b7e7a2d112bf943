//! Lifecycle changes and what they do in the gateways: RETIRED undeploys everywhere;
//! BLOCKED throttles every live stage to zero (callers get 429) until unblocked. The
//! transition and the jobs it queues are one transaction.

use super::audit::{self, Change};
use super::guards::refuse_if_deleting;
use super::{Actor, AppState, Precondition, ServiceError, deployments};
use crate::domain::deployment::JobKind;
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::{self, LifecycleAction, LifecycleState};
use crate::store::RowLock;
use crate::store::apis::{self, ApiRow};
use crate::store::deployments as deployment_store;
use crate::store::lifecycle::{self as store, LifecycleEventRow};

/// An applied lifecycle action: the API in its new state, and what is worth knowing about
/// it (e.g. published while deployed nowhere).
pub struct Transitioned {
    pub api: ApiRow,
    pub warnings: Vec<String>,
}

/// Applies `action` if `precondition` accepts the API's version. Publishing an API that
/// is deployed nowhere succeeds with a warning, in the answer and in the audit entry.
pub async fn change(
    state: &AppState,
    api_id: ApiId,
    action: LifecycleAction,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<Transitioned, ServiceError> {
    let change = Change::new("apis.lifecycle", "apis")
        .on(api_id)
        .detail(format!("action {action}"));
    audit::attempt(state, actor, change.clone(), async {
        let mut tx = state.db.begin().await?;
        let current = apis::lock(&mut tx, api_id, RowLock::Update)
            .await?
            .ok_or(ServiceError::NotFound("API"))?;
        precondition.check(current.version)?;
        refuse_if_deleting(&current)?;
        let api = store::apply(&mut tx, &current, action, actor.name())
            .await?
            .map_err(|refused| ServiceError::Conflict(refused.to_string()))?;
        let queued = queue_effects(&mut tx, api_id, api.lifecycle_state, actor.name()).await?;
        let deployments: Vec<_> = deployment_store::live(&mut *tx, Some(api_id), None)
            .await?
            .into_iter()
            .map(|d| d.status)
            .collect();
        let warnings = lifecycle::warnings(action, &deployments);
        let mut detail = format!(
            "action {action}: {} → {}",
            current.lifecycle_state, api.lifecycle_state
        );
        for warning in &warnings {
            detail.push_str(&format!("; warning: {warning}"));
        }
        audit::record(&mut *tx, actor, &change.detail(detail)).await?;
        tx.commit().await?;
        if queued {
            state.jobs_waker.notify_waiters();
        }
        tracing::info!(api = %api_id, %action, state = %api.lifecycle_state, "lifecycle changed");
        Ok(Transitioned { api, warnings })
    })
    .await
}

/// Queues what the new state does in the gateways; true when any job was queued.
async fn queue_effects(
    tx: &mut sqlx::PgConnection,
    api_id: ApiId,
    new_state: LifecycleState,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    if new_state == LifecycleState::Retired {
        return Ok(deployments::queue_undeploys(tx, api_id, actor).await? > 0);
    }
    let blocked = new_state == LifecycleState::Blocked;
    let mut queued = false;
    for deployment in deployment_store::live(&mut *tx, Some(api_id), None).await? {
        if deployment.blocked != blocked {
            deployment_store::set_blocked(&mut *tx, deployment.id, blocked).await?;
            deployment_store::request(
                tx,
                deployment.api_id,
                deployment.environment_id,
                JobKind::Throttle,
                None,
                actor,
            )
            .await?;
            queued = true;
        }
    }
    Ok(queued)
}

pub async fn history(
    state: &AppState,
    api_id: ApiId,
) -> Result<Vec<LifecycleEventRow>, ServiceError> {
    Ok(store::history(&state.db, api_id).await?)
}
