//! `/publisher/v1/apis/{id}/deployments`: deploy a revision of an API to an environment,
//! preview what a deploy would do, follow its status, undeploy.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::deployment::{DeploymentStatus, DriftState};
use crate::domain::ids::{ApiId, DeploymentId, RevisionId};
use crate::domain::plan::{Plan, PlanChange};
use crate::domain::predeploy::{Finding, PredeployReport};
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::service::deployments::{self as service, Baseline};
use crate::service::drift;
use crate::store::deployments::{DeploymentFilter, DeploymentRow, EventRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_deployment, list_deployments))
        .routes(routes!(preview_deployment))
        .routes(routes!(get_deployment, delete_deployment))
        .routes(routes!(check_drift))
        .routes(routes!(reconcile_deployment))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDeployment {
    /// The environment's name or id.
    environment: String,
    /// Default: the newest revision equal to the current design, or a new one.
    revision_id: Option<RevisionId>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeployQuery {
    /// Wait up to this many seconds (at most 60, and less than the server's request
    /// timeout) for the job to end: 200 if it succeeded, 502 problem+json (with the
    /// deployment) if it failed, 202 if it is still running.
    wait: Option<u64>,
    /// Skip the pre-deploy checks (for operators who know better).
    #[serde(default)]
    skip_checks: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Wait up to this many seconds (≤ 60) for the job to end: 200 if it succeeded, 502
    /// problem+json (with the deployment) if it failed, 202 if it is still running.
    wait: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    environment: String,
    revision_id: Option<RevisionId>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    id: Uuid,
    api_id: Uuid,
    api_name: String,
    environment: String,
    environment_id: Uuid,
    /// The revision AWS holds.
    revision_id: Option<Uuid>,
    revision_number: Option<i32>,
    /// The revision the latest request asked for.
    target_revision_id: Option<Uuid>,
    status: DeploymentStatus,
    rest_api_id: Option<String>,
    /// The AWS deployment the stage points at.
    aws_deployment_id: Option<String>,
    invocation_url: Option<String>,
    /// Why the last job failed, or why the attempt being retried failed, in words.
    error: Option<String>,
    /// A transient failure is being retried: the attempt that failed and the next one's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<Retry>,
    blocked: bool,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deployed_at: Option<DateTime<Utc>>,
    /// What the last drift check found (`null`: not checked since the last deploy).
    drift: Option<DriftSummary>,
    /// What the last deploy wants a person to know, e.g. that the REST API was gone and
    /// was recreated under a new invocation URL.
    notice: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<DeploymentEvent>>,
    /// The changes the last drift check found (a single deployment only; empty when in
    /// sync or not checked), read without asking AWS again.
    #[serde(skip_serializing_if = "Option::is_none")]
    drift_changes: Option<Vec<PlanChange>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftSummary {
    state: DriftState,
    checked_at: DateTime<Utc>,
    /// How many changes the check found (see `…/drift` for them).
    changes: i32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// The attempt that failed.
    attempt: i32,
    max_attempts: u32,
    next_attempt_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEvent {
    kind: String,
    revision_id: Option<Uuid>,
    detail: Option<String>,
    actor: Option<String>,
    at: DateTime<Utc>,
}

impl From<EventRow> for DeploymentEvent {
    fn from(row: EventRow) -> Self {
        DeploymentEvent {
            kind: row.kind,
            revision_id: row.revision_id.map(|r| r.0),
            detail: row.detail,
            actor: row.actor,
            at: row.at,
        }
    }
}

impl Deployment {
    pub fn new(row: DeploymentRow, max_attempts: u32) -> Self {
        let retry = match (row.attempt, row.next_attempt_at) {
            (Some(attempt), Some(next_attempt_at)) => Some(Retry {
                attempt,
                max_attempts,
                next_attempt_at,
            }),
            _ => None,
        };
        let drift = match (row.drift, row.drift_checked_at) {
            (Some(state), Some(checked_at)) => Some(DriftSummary {
                state,
                checked_at,
                changes: row.drift_change_count.unwrap_or(0),
            }),
            _ => None,
        };
        Deployment {
            id: row.id.0,
            api_id: row.api_id.0,
            api_name: row.api_name,
            environment: row.environment_name,
            environment_id: row.environment_id.0,
            revision_id: row.revision_id.map(|r| r.0),
            revision_number: row.revision_number,
            target_revision_id: row.target_revision_id.map(|r| r.0),
            status: row.status,
            rest_api_id: row.rest_api_id,
            aws_deployment_id: row.aws_deployment_id,
            invocation_url: row.invocation_url,
            error: row.error,
            retry,
            blocked: row.blocked,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deployed_at: row.deployed_at,
            drift,
            notice: row.notice,
            warnings: Vec::new(),
            history: None,
            drift_changes: None,
        }
    }
}

/// What a deploy would do, without touching AWS.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// `create` (no REST API yet), `update`, or `nothing` (AWS already holds it).
    action: &'static str,
    environment: String,
    revision_id: Option<Uuid>,
    /// The AWS-flavoured OpenAPI document PutRestApi would receive.
    #[schema(value_type = Object)]
    document: serde_json::Value,
    /// Findings of the checks that need no AWS call.
    checks: PredeployReport,
    /// What the changes are measured from: `nothing` deployed yet, the state fedgate
    /// `lastDeployed` there, or `unknown` (deployed by an older fedgate: all shown as added).
    baseline: Baseline,
    /// What the deploy would change in AWS, from the baseline.
    #[serde(flatten)]
    plan: Plan,
}

/// The wait a request asked for, bounded so the answer comes before the server's own
/// request timeout would cut the request off.
fn bounded_wait(state: &AppState, wait: Option<u64>) -> Duration {
    let ceiling = state.config.request_timeout_secs.saturating_sub(1).min(60);
    Duration::from_secs(wait.unwrap_or(0).min(ceiling))
}

/// 200 when the job the caller waited for succeeded, 502 problem+json naming the
/// deployment when it failed, 202 while it runs (or when the caller did not wait).
fn respond(
    state: &AppState,
    row: DeploymentRow,
    waited: bool,
    warnings: Vec<Finding>,
) -> Result<Response, ApiError> {
    let status = row.status;
    let mut view = Deployment::new(row, state.config.deploy_max_attempts);
    view.warnings = warnings;
    if waited && status == DeploymentStatus::Failed {
        let mut extra = serde_json::Map::new();
        let detail = format!(
            "the job failed: {}",
            view.error.as_deref().unwrap_or("no reason was recorded")
        );
        extra.insert(
            "deployment".into(),
            serde_json::to_value(&view).expect("a deployment serialises"),
        );
        return Err(ApiError::DeploymentFailed { detail, extra });
    }
    let code = if waited && status.is_settled() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(view)).into_response())
}

/// Deploy a revision of the API to an environment
///
/// Runs the pre-deploy checks (422 listing every problem), then queues the deploy: 202
/// with the deployment, or its final state when `wait` was long enough (200 deployed,
/// 502 problem+json with the deployment when it failed).
#[utoipa::path(post, path = "/apis/{id}/deployments", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), DeployQuery), request_body = CreateDeployment,
    responses(
        (status = 200, description = "Deployed within `wait`", body = Deployment),
        (status = 202, description = "Queued", body = Deployment),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API or environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The API is retired, being deleted, has no resources, or is at its revision cap", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Pre-deploy checks failed", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The deploy failed within `wait`; `deployment` holds it with its error", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(query): ValidQuery<DeployQuery>,
    ValidJson(body): ValidJson<CreateDeployment>,
) -> Result<Response, ApiError> {
    let requested = service::deploy(
        &state,
        id,
        &body.environment,
        body.revision_id,
        query.skip_checks,
        bounded_wait(&state, query.wait),
        &caller.actor,
    )
    .await?;
    respond(
        &state,
        requested.deployment,
        query.wait.is_some(),
        requested.warnings,
    )
}

/// The deployments of an API
#[utoipa::path(get, path = "/apis/{id}/deployments", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), PageQuery),
    responses((status = 200, description = "One page of deployments", body = Page<Deployment>)))]
async fn list_deployments(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> Result<Json<Page<Deployment>>, ApiError> {
    service::find_api(&state, id).await?;
    let limit = page.limit()?;
    let filter = DeploymentFilter {
        api: Some(id),
        ..Default::default()
    };
    let rows = service::list(&state, &filter, page.after()?, limit + 1).await?;
    let max_attempts = state.config.deploy_max_attempts;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| Deployment::new(r, max_attempts),
    )))
}

/// Preview a deploy: the document AWS would receive and what would change
#[utoipa::path(get, path = "/apis/{id}/deployments/preview", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), PreviewQuery),
    responses(
        (status = 200, description = "The plan", body = Preview),
        (status = 404, description = "No such API or environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The API has no resources", body = Problem, content_type = "application/problem+json"),
    ))]
async fn preview_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(query): ValidQuery<PreviewQuery>,
) -> Result<Json<Preview>, ApiError> {
    let plan = service::preview(
        &state,
        id,
        &query.environment,
        query.revision_id,
        &caller.actor,
    )
    .await?;
    Ok(Json(Preview {
        action: plan.action.as_str(),
        environment: plan.environment,
        revision_id: plan.revision_id.map(|r| r.0),
        document: plan.document,
        checks: plan.checks,
        baseline: plan.baseline,
        plan: Plan::new(plan.changes),
    }))
}

/// A deployment with its history
#[utoipa::path(get, path = "/apis/{id}/deployments/{deploymentId}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("deploymentId" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The deployment", body = Deployment),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_deployment(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((id, deployment_id)): ValidPath<(ApiId, DeploymentId)>,
) -> Result<Json<Deployment>, ApiError> {
    let row = service::find(&state, id, deployment_id).await?;
    let history = service::history(&state, row.id).await?;
    let drift_changes = drift::last_changes(&state, row.id).await?;
    let mut view = Deployment::new(row, state.config.deploy_max_attempts);
    view.history = Some(history.into_iter().map(DeploymentEvent::from).collect());
    view.drift_changes = Some(drift_changes);
    Ok(Json(view))
}

/// Undeploy: remove the REST API from AWS (one already gone counts as removed)
#[utoipa::path(delete, path = "/apis/{id}/deployments/{deploymentId}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("deploymentId" = String, Path, format = Uuid), WaitQuery),
    responses(
        (status = 200, description = "Undeployed within `wait`", body = Deployment),
        (status = 202, description = "Queued", body = Deployment),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The undeploy failed within `wait`; `deployment` holds it with its error", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((id, deployment_id)): ValidPath<(ApiId, DeploymentId)>,
    ValidQuery(query): ValidQuery<WaitQuery>,
) -> Result<Response, ApiError> {
    let row = service::undeploy(
        &state,
        id,
        deployment_id,
        bounded_wait(&state, query.wait),
        &caller.actor,
    )
    .await?;
    respond(&state, row, query.wait.is_some(), Vec::new())
}

/// What a drift check found
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// `inSync`, `drifted` (AWS holds something else), or `missing` (the REST API is gone).
    state: DriftState,
    /// From what fedgate deployed to what AWS holds, in the plan's format: `add` is in
    /// AWS only, `remove` is what AWS no longer has, `change` differs.
    #[serde(flatten)]
    changes: Plan,
    /// The deployment with this check recorded on it.
    deployment: Deployment,
}

/// Check for drift: read the REST API back from AWS and compare it with what fedgate deployed
///
/// Reads the live REST API (GetAuthorizers, GetResources with methods, GetStage) and
/// compares it with the state fedgate last pushed. The answer is recorded on the
/// deployment. To undo drift, reconcile (redeploy the last deployed revision).
#[utoipa::path(get, path = "/apis/{id}/deployments/{deploymentId}/drift", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("deploymentId" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "What the check found", body = Drift),
        (status = 404, description = "No such deployment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing is deployed, a job is running, or the deployment predates drift tracking", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "AWS did not answer; the problem says what it said", body = Problem, content_type = "application/problem+json"),
    ))]
async fn check_drift(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((id, deployment_id)): ValidPath<(ApiId, DeploymentId)>,
) -> Result<Json<Drift>, ApiError> {
    let report = drift::check(&state, id, deployment_id).await?;
    Ok(Json(Drift {
        state: report.drift,
        changes: Plan::new(report.changes),
        deployment: Deployment::new(report.deployment, state.config.deploy_max_attempts),
    }))
}

/// Reconcile: redeploy the revision last deployed here, through the normal job path
///
/// Puts back what fedgate deployed after drift, or recreates a REST API deleted behind
/// fedgate's back (the deployment then says that the invocation URL changed).
#[utoipa::path(post, path = "/apis/{id}/deployments/{deploymentId}/reconcile", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("deploymentId" = String, Path, format = Uuid), DeployQuery),
    responses(
        (status = 200, description = "Redeployed within `wait`", body = Deployment),
        (status = 202, description = "Queued", body = Deployment),
        (status = 404, description = "No such deployment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing was deployed here yet, or the API is retired or being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Pre-deploy checks failed", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The redeploy failed within `wait`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reconcile_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((id, deployment_id)): ValidPath<(ApiId, DeploymentId)>,
    ValidQuery(query): ValidQuery<DeployQuery>,
) -> Result<Response, ApiError> {
    let requested = drift::reconcile(
        &state,
        id,
        deployment_id,
        query.skip_checks,
        bounded_wait(&state, query.wait),
        &caller.actor,
    )
    .await?;
    respond(
        &state,
        requested.deployment,
        query.wait.is_some(),
        requested.warnings,
    )
}
