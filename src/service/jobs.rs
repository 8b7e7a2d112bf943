//! Running one claimed job (deploy, undeploy or throttle a deployment) and settling its
//! outcome. Every write a job makes is fenced on the worker and attempt that claimed it,
//! so a job taken over by another worker can never overwrite the newer outcome.

use std::time::Duration;

use rand::Rng;

use super::AppState;
use super::environments::{self, ConnectError};
use super::managed_authorizers::{self, SyncError};
use crate::aws::connector::{ConnectorError, DeployRequest, Ownership};
use crate::domain::deployment::{DeploymentStatus, JobKind, JobStatus, invocation_url};
use crate::domain::gateway_state::GatewayState;
use crate::domain::translate::{Target, translate};
use crate::store::RowLock;
use crate::store::apis;
use crate::store::audit::{self, NewAuditEntry};
use crate::store::deployments::{self as store, DeploymentRow, DeploymentUpdate, JobRow, Pushed};
use crate::store::environments as environment_store;
use crate::store::revisions;

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying: throttling, a 5xx, a timeout, an unreachable endpoint.
    #[error("{0}")]
    Transient(String),
    /// Retrying the same job cannot help.
    #[error("{0}")]
    Failed(String),
    /// Not now (a quota is used up); runs again after the delay without using an attempt.
    #[error("{0}")]
    Postponed(String, Duration),
    /// Another worker holds the job now; this one must not write anything.
    #[error("the job was taken over by another worker")]
    Fenced,
}

impl From<ConnectorError> for JobError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Transient(m) => JobError::Transient(m),
            ConnectorError::Rejected(m) => JobError::Failed(m),
            ConnectorError::Postponed {
                message,
                retry_after,
            } => JobError::Postponed(message, retry_after),
        }
    }
}

impl From<ConnectError> for JobError {
    fn from(e: ConnectError) -> Self {
        JobError::Failed(e.to_string())
    }
}

impl From<SyncError> for JobError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Gateway(e) => e.into(),
            SyncError::Database(e) => e.into(),
            SyncError::Invalid(m) => JobError::Failed(m),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Transient(format!("database: {e}"))
    }
}

/// What a job did, written onto its deployment when it settles.
#[derive(Debug)]
pub enum Done {
    Deployed {
        revision_id: crate::domain::ids::RevisionId,
        rest_api_id: String,
        aws_deployment_id: String,
        invocation_url: String,
        /// The document pushed and the state it gives the gateway (without the stage,
        /// which a check takes from the deployment as it stands then).
        document: serde_json::Value,
        state: Box<GatewayState>,
        /// Set when the REST API fedgate knew was gone and another one serves now.
        recreated: Option<String>,
    },
    Undeployed,
    Throttled,
    /// The managed authorizers the deployment uses are up to date.
    AuthorizersRefreshed,
}

/// Runs the job against the gateway. Writes nothing but the fenced `deploying` status;
/// the outcome is written by `settle`.
pub async fn run(state: &AppState, job: &JobRow) -> Result<Done, JobError> {
    let deployment = store::get(&state.db, job.deployment_id)
        .await?
        .ok_or_else(|| JobError::Failed("the deployment no longer exists".into()))?;
    let environment = environment_store::get(&state.db, deployment.environment_id)
        .await?
        .ok_or_else(|| JobError::Failed("the environment no longer exists".into()))?;
    let connector = environments::connect(state, &environment).await?;
    let ownership = Ownership {
        api_id: deployment.api_id.to_string(),
        environment_id: deployment.environment_id.to_string(),
    };
    match job.kind {
        JobKind::Deploy => {
            let revision_id = job
                .revision_id
                .ok_or_else(|| JobError::Failed("the job names no revision".into()))?;
            let revision = revisions::get(&state.db, deployment.api_id, revision_id)
                .await?
                .ok_or_else(|| JobError::Failed("the revision no longer exists".into()))?;
            let design = revision.design.0;
            mark_deploying(state, job).await?;
            let name = format!("{} {}", design.name.as_str(), design.version.as_str());
            let description = format!(
                "{} (managed by fedgate; do not edit in the console)",
                design.context.as_str()
            );
            let deployment_description = format!("fedgate revision {}", revision.number);
            let mut request = DeployRequest {
                rest_api_id: deployment.rest_api_id.as_deref(),
                name: &name,
                description: &description,
                ownership: &ownership,
                document: &serde_json::Value::Null,
                stage: &environment.stage,
                deployment_description: &deployment_description,
                blocked: deployment.blocked,
            };
            // A managed authorizer's configuration names the REST API: a first deploy
            // makes it before provisioning, so the function is made once, complete.
            let reserved = match request.rest_api_id {
                None if managed_authorizers::uses_any(&design) => {
                    Some(connector.reserve(&request).await?)
                }
                _ => None,
            };
            if let Some(id) = &reserved {
                request.rest_api_id = Some(id);
            }
            let managed = managed_authorizers::before_deploy(
                &state.db,
                connector.as_ref(),
                &environment,
                deployment.id,
                request.rest_api_id,
                &design,
            )
            .await?;
            let document = translate(
                &design,
                &Target {
                    region: &environment.region,
                    authorizer_ttl_secs: state.config.authorizer_ttl_secs,
                    managed: &managed,
                },
            );
            let outcome = connector
                .deploy(DeployRequest {
                    document: &document,
                    ..request
                })
                .await?;
            if outcome.adopted {
                tracing::warn!(rest_api_id = %outcome.rest_api_id, "adopted a tagged REST API left by an interrupted deploy");
            }
            managed_authorizers::after_deploy(
                &state.db,
                connector.as_ref(),
                &environment,
                deployment.id,
                &outcome.rest_api_id,
                &design,
            )
            .await?;
            let url = invocation_url(
                environment.invoke_url_template.as_deref(),
                &outcome.rest_api_id,
                &environment.region,
                &environment.stage,
            );
            let recreated = deployment
                .rest_api_id
                .as_deref()
                .filter(|known| *known != outcome.rest_api_id)
                .map(|known| {
                    let notice = format!(
                        "the REST API {known} was gone from AWS, so this deploy made {}: the \
                         invocation URL changed from {} to {url}; tell the API's consumers",
                        outcome.rest_api_id,
                        deployment.invocation_url.as_deref().unwrap_or("(none)"),
                    );
                    tracing::warn!(deployment = %deployment.id, "{notice}");
                    notice
                });
            Ok(Done::Deployed {
                revision_id,
                invocation_url: url,
                rest_api_id: outcome.rest_api_id,
                aws_deployment_id: outcome.deployment_id,
                state: Box::new(GatewayState::from_document(&document, None)),
                document,
                recreated,
            })
        }
        JobKind::Undeploy => {
            connector
                .undeploy(deployment.rest_api_id.as_deref(), &ownership)
                .await?;
            managed_authorizers::after_undeploy(
                &state.db,
                connector.as_ref(),
                &environment,
                deployment.id,
            )
            .await?;
            Ok(Done::Undeployed)
        }
        JobKind::Throttle => {
            if let Some(rest_api_id) = &deployment.rest_api_id
                && deployment.status == DeploymentStatus::Deployed
            {
                connector
                    .set_blocked(rest_api_id, &environment.stage, deployment.blocked)
                    .await?;
            }
            Ok(Done::Throttled)
        }
        JobKind::Authorizer => {
            managed_authorizers::refresh(
                &state.db,
                connector.as_ref(),
                &environment,
                deployment.id,
            )
            .await?;
            Ok(Done::AuthorizersRefreshed)
        }
    }
}

async fn mark_deploying(state: &AppState, job: &JobRow) -> Result<(), JobError> {
    let mut tx = state.db.begin().await?;
    if !store::fence(&mut tx, job).await? {
        return Err(JobError::Fenced);
    }
    store::update(
        &mut *tx,
        job.deployment_id,
        &DeploymentUpdate::status(DeploymentStatus::Deploying),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records the outcome in one fenced transaction: the job, the deployment, its history,
/// the audit log, and — when a forced delete waits on this undeploy — the API itself.
/// The API's row is locked first, as every request does, so the two never deadlock.
pub async fn settle(
    state: &AppState,
    job: &JobRow,
    result: Result<Done, JobError>,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let Some(deployment) = store::get(&mut *tx, job.deployment_id).await? else {
        return Ok(()); // deleted with its API or environment meanwhile
    };
    let api = apis::lock(&mut tx, deployment.api_id, RowLock::Update).await?;
    if !store::fence(&mut tx, job).await? {
        tracing::warn!(job = %job.id, "the job was taken over by another worker; its outcome is dropped");
        return Ok(());
    }
    let max_attempts = state.config.deploy_max_attempts as i32;
    let (success, detail) = match result {
        Ok(done) => {
            store::finish_job(&mut *tx, job.id, JobStatus::Done, None).await?;
            let change = match &done {
                Done::Deployed {
                    revision_id,
                    rest_api_id,
                    aws_deployment_id,
                    invocation_url,
                    document,
                    state,
                    recreated,
                } => DeploymentUpdate {
                    revision_id: Some(*revision_id),
                    rest_api_id: Some(rest_api_id),
                    aws_deployment_id: Some(aws_deployment_id),
                    invocation_url: Some(invocation_url),
                    pushed: Some(Pushed {
                        document,
                        state,
                        notice: recreated.as_deref(),
                    }),
                    ..DeploymentUpdate::status(DeploymentStatus::Deployed)
                },
                Done::Undeployed => DeploymentUpdate {
                    clear_aws: true,
                    ..DeploymentUpdate::status(DeploymentStatus::Undeployed)
                },
                Done::Throttled | Done::AuthorizersRefreshed => DeploymentUpdate {
                    error: deployment.error.as_deref(),
                    ..DeploymentUpdate::status(deployment.status)
                },
            };
            // A newer request queued meanwhile keeps the status it set (pending,
            // undeploying), so nobody waiting on it reads this older outcome as theirs.
            let change = if store::newer_job_queued(&mut *tx, job).await? {
                DeploymentUpdate {
                    status: deployment.status,
                    ..change
                }
            } else {
                change
            };
            store::update(&mut *tx, deployment.id, &change).await?;
            if let Some(notice) = change.pushed.as_ref().and_then(|p| p.notice) {
                event(&mut tx, job, "recreated", Some(notice)).await?;
            }
            event(&mut tx, job, &format!("{}-done", job.kind), None).await?;
            (true, None)
        }
        Err(JobError::Fenced) => return Ok(()),
        Err(JobError::Postponed(message, delay)) => {
            tracing::info!(job = %job.id, ?delay, %message, "postponed");
            let at = store::postpone_job(&mut *tx, job.id, delay, &message).await?;
            let detail = format!("{message}; next try at {}", at.to_rfc3339());
            event(&mut tx, job, "postponed", Some(&detail)).await?;
            tx.commit().await?;
            return Ok(());
        }
        Err(JobError::Transient(message)) if job.attempts < max_attempts => {
            let delay = backoff(job.attempts);
            tracing::warn!(job = %job.id, attempt = job.attempts, ?delay, %message, "transient failure; retrying");
            let at = store::retry_job(&mut *tx, job.id, delay, &message).await?;
            let detail = format!(
                "attempt {} of {max_attempts} failed: {message}; next try at {}",
                job.attempts,
                at.to_rfc3339()
            );
            let change = DeploymentUpdate {
                error: Some(&detail),
                retry: Some((job.attempts, at)),
                ..DeploymentUpdate::status(deployment.status)
            };
            store::update(&mut *tx, deployment.id, &change).await?;
            event(&mut tx, job, "retrying", Some(&detail)).await?;
            tx.commit().await?;
            return Ok(());
        }
        Err(JobError::Transient(message) | JobError::Failed(message)) => {
            tracing::warn!(job = %job.id, %message, "deploy job failed");
            let message = if job.attempts > 1 {
                format!("{message} (after {} attempts)", job.attempts)
            } else {
                message
            };
            store::finish_job(&mut *tx, job.id, JobStatus::Failed, Some(&message)).await?;
            // A newer request already queued will set the status itself.
            if job.kind.queued_status().is_some() && !store::newer_job_queued(&mut *tx, job).await?
            {
                let change = DeploymentUpdate {
                    error: Some(&message),
                    ..DeploymentUpdate::status(DeploymentStatus::Failed)
                };
                store::update(&mut *tx, deployment.id, &change).await?;
            }
            event(
                &mut tx,
                job,
                &format!("{}-failed", job.kind),
                Some(&message),
            )
            .await?;
            (false, Some(message))
        }
    };
    audit_outcome(&mut tx, job, &deployment, success, detail.clone()).await?;
    if let Some(api) = api.filter(|a| a.deleting && job.kind == JobKind::Undeploy) {
        finish_forced_delete(&mut tx, job, &api, detail).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn event(
    tx: &mut sqlx::PgConnection,
    job: &JobRow,
    kind: &str,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    store::record_event(tx, job.deployment_id, kind, job.revision_id, detail, None).await
}

/// The job's outcome in the audit log, in the name of whoever asked for it.
async fn audit_outcome(
    tx: &mut sqlx::PgConnection,
    job: &JobRow,
    deployment: &DeploymentRow,
    success: bool,
    detail: Option<String>,
) -> Result<(), sqlx::Error> {
    let outcome = match (job.kind, success) {
        (JobKind::Deploy, true) => "deployed",
        (JobKind::Undeploy, true) => "undeployed",
        (JobKind::Throttle, true) => "throttle applied",
        (JobKind::Authorizer, true) => "managed authorizers refreshed",
        (_, false) => "failed",
    };
    let action = format!(
        "{} {} to {}: {outcome}",
        job.kind, deployment.api_name, deployment.environment_name
    );
    let target = ("deployments", deployment.id.to_string());
    audit::record(tx, &audit_entry(job, action, target, success, detail)).await
}

/// An audit entry of what a job did, in the name of whoever asked for the job.
fn audit_entry(
    job: &JobRow,
    action: String,
    (target_type, target_id): (&str, String),
    success: bool,
    detail: Option<String>,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: job
            .requested_by
            .clone()
            .unwrap_or_else(|| "fedgate".to_owned()),
        action,
        target_type: target_type.to_owned(),
        target_id: Some(target_id),
        status: None,
        success,
        detail,
        request_id: None,
    }
}

/// After an undeploy of an API a forced delete is waiting on: delete the API once nothing
/// of it is live; a failed undeploy stops the delete and says why.
async fn finish_forced_delete(
    tx: &mut sqlx::PgConnection,
    job: &JobRow,
    api: &apis::ApiRow,
    failure: Option<String>,
) -> Result<(), sqlx::Error> {
    if let Some(error) = failure {
        let reason = format!("undeploying failed, so the API was not deleted: {error}");
        return apis::set_deleting(&mut *tx, api.id, false, Some(&reason)).await;
    }
    if !store::live(&mut *tx, Some(api.id), None).await?.is_empty() {
        return Ok(());
    }
    apis::delete(&mut *tx, api.id).await?;
    let action = format!(
        "delete API {}: deleted after undeploying",
        api.design.name.as_str()
    );
    let entry = audit_entry(job, action, ("apis", api.id.to_string()), true, None);
    audit::record(&mut *tx, &entry).await?;
    tracing::info!(api = %api.id, "deleted an API after undeploying it everywhere");
    Ok(())
}

/// Exponential backoff with full jitter: 1 s, 2 s, 4 s … capped at 60 s.
fn backoff(attempt: i32) -> Duration {
    let cap = 2f64.powi(attempt.clamp(0, 6)).min(60.0);
    Duration::from_secs_f64(rand::thread_rng().gen_range(cap / 2.0..=cap))
}
