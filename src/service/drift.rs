//! Drift: whether the gateway still holds what fedgate deployed. A check reads the live
//! REST API back and compares it with the state fedgate last pushed (or read when it
//! adopted it), in the plan's format; the scan checks every deployment once per interval
//! across all replicas; a reconcile redeploys the last deployed revision.

use std::time::Duration;

use super::deployments::{self, Requested};
use super::environments;
use super::{Actor, AppState, ServiceError};
use crate::domain::deployment::{DeploymentStatus, DriftState};
use crate::domain::gateway_state::{GatewayState, StageState};
use crate::domain::ids::{ApiId, DeploymentId};
use crate::domain::plan::{PlanChange, diff};
use crate::store::deployments::{self as store, DeploymentFilter, DeploymentRow};
use crate::store::environments as environment_store;
use crate::store::periodic;

/// What a drift check found.
pub struct DriftReport {
    /// The deployment, with the check recorded on it.
    pub deployment: DeploymentRow,
    pub drift: DriftState,
    /// From what fedgate deployed to what AWS holds: `add` is in AWS only, `remove` is
    /// what AWS lost, `change` differs. For a missing REST API, everything is removed.
    pub changes: Vec<PlanChange>,
}

/// Checks one deployment of an API now and records what it found.
pub async fn check(
    state: &AppState,
    api: ApiId,
    id: DeploymentId,
) -> Result<DriftReport, ServiceError> {
    let row = deployments::find(state, api, id).await?;
    let (drift, changes) = inspect(state, &row).await?;
    Ok(DriftReport {
        deployment: deployments::find(state, api, id).await?,
        drift,
        changes,
    })
}

/// Reads the deployment's REST API back, compares, records.
async fn inspect(
    state: &AppState,
    row: &DeploymentRow,
) -> Result<(DriftState, Vec<PlanChange>), ServiceError> {
    if !row.is_settled() {
        return Err(ServiceError::Conflict(format!(
            "the deployment is {}: check for drift once its job has ended",
            row.status
        )));
    }
    let (Some(rest_api_id), Some(aws_deployment_id)) = (&row.rest_api_id, &row.aws_deployment_id)
    else {
        return Err(ServiceError::Conflict(
            "nothing is deployed here: there is no REST API to compare".into(),
        ));
    };
    let baseline = store::baseline(&state.db, row.id).await?.ok_or_else(|| {
        ServiceError::Conflict(
            "this deployment was made by an older fedgate that did not keep what it pushed; \
             deploy it once and fedgate can tell drift from then on"
                .into(),
        )
    })?;
    let environment = environment_store::get(&state.db, row.environment_id)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let expected = GatewayState {
        stage: Some(StageState {
            name: environment.stage.clone(),
            blocked: row.blocked,
            deployment_id: Some(aws_deployment_id.clone()),
        }),
        ..baseline
    };
    let connector = environments::connect(state, &environment).await?;
    let live = connector
        .read_state(rest_api_id, &environment.stage)
        .await?;
    let (drift, changes) = match live {
        None => (
            DriftState::Missing,
            diff(&expected, &GatewayState::default()),
        ),
        Some(live) => {
            let changes = diff(&expected, &live);
            let drift = if changes.is_empty() {
                DriftState::InSync
            } else {
                DriftState::Drifted
            };
            (drift, changes)
        }
    };
    let recorded = store::record_drift(
        &state.db,
        row.id,
        (rest_api_id, aws_deployment_id),
        drift,
        &changes,
    )
    .await?;
    if !recorded {
        return Err(ServiceError::Conflict(
            "the deployment changed while it was checked; check again".into(),
        ));
    }
    metrics::counter!("fedgate_drift_checks_total", "state" => drift.as_str()).increment(1);
    Ok((drift, changes))
}

/// The changes the last check found, for a deployment read without checking again.
pub async fn last_changes(
    state: &AppState,
    id: DeploymentId,
) -> Result<Vec<PlanChange>, ServiceError> {
    Ok(store::drift_changes(&state.db, id).await?)
}

/// Redeploys the revision AWS last received from fedgate, through the normal job path: the
/// way back from drift, or from a REST API deleted behind fedgate's back.
pub async fn reconcile(
    state: &AppState,
    api: ApiId,
    id: DeploymentId,
    skip_checks: bool,
    wait: Duration,
    actor: &Actor,
) -> Result<Requested, ServiceError> {
    let row = deployments::find(state, api, id).await?;
    let revision = row.revision_id.ok_or_else(|| {
        ServiceError::Conflict(
            "nothing was deployed here yet, so there is nothing to reconcile; deploy instead"
                .into(),
        )
    })?;
    deployments::deploy(
        state,
        api,
        &row.environment_id.to_string(),
        Some(revision),
        skip_checks,
        wait,
        actor,
    )
    .await
}

/// What one scan found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanReport {
    pub in_sync: usize,
    pub drifted: usize,
    pub missing: usize,
    /// Checks that could not be made (AWS failed, quota, a job started meanwhile).
    pub failed: usize,
}

const SCAN: &str = "drift-scan";

/// Runs a scan if no replica has run one within `interval`; `None` when another did.
pub async fn scan_if_due(
    state: &AppState,
    interval: Duration,
) -> Result<Option<ScanReport>, ServiceError> {
    if !periodic::claim(&state.db, SCAN, interval).await? {
        return Ok(None);
    }
    Ok(Some(scan(state).await?))
}

/// Checks every deployed deployment, one after the other (each check's AWS calls go
/// through the rate limiter like a deploy's), then exports the counts.
pub async fn scan(state: &AppState) -> Result<ScanReport, ServiceError> {
    let filter = DeploymentFilter {
        status: Some(DeploymentStatus::Deployed),
        ..Default::default()
    };
    let mut report = ScanReport::default();
    let mut after = None;
    loop {
        let page = store::list(&state.db, &filter, after, 100).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for row in &page {
            match inspect(state, row).await {
                Ok((DriftState::InSync, _)) => report.in_sync += 1,
                Ok((DriftState::Drifted, _)) => report.drifted += 1,
                Ok((DriftState::Missing, _)) => report.missing += 1,
                Err(error) => {
                    report.failed += 1;
                    tracing::warn!(deployment = %row.id, %error, "drift check failed");
                }
            }
        }
    }
    let counts = store::drift_counts(&state.db).await?;
    for drift in DriftState::ALL {
        let count = counts
            .iter()
            .find(|(d, _)| *d == drift)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("fedgate_deployments_drift", "state" => drift.as_str()).set(count as f64);
    }
    tracing::info!(?report, "drift scan done");
    Ok(report)
}
