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

use crate::aws::predeploy::{self, EnvironmentFacts, Finding, PredeployReport};
use crate::deploy::translate::{Target, translate};
use crate::domain::api::ApiDesign;
use crate::domain::ids::{ApiId, RevisionId};
use crate::domain::lifecycle::LifecycleState;
use crate::environments::{ClientsError, clients_for};
use crate::http::AppState;
use crate::http::admin::environments::find as find_environment;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::store::apis::{self, ApiRow};
use crate::store::deployments::{self as store, DeploymentRow, EventRow, JobKind};
use crate::store::environments::EnvironmentRow;
use crate::store::revisions::{self, CreateOutcome};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_deployment, list_deployments))
        .routes(routes!(preview_deployment))
        .routes(routes!(get_deployment, delete_deployment))
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
    /// timeout) for the job to end; 200 if it did, else 202.
    wait: Option<u64>,
    /// Skip the pre-deploy checks (for operators who know better).
    #[serde(default)]
    skip_checks: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Wait up to this many seconds (≤ 60) for the job to end; 200 if it did, else 202.
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
    /// pending, deploying, deployed, failed, undeploying, undeployed
    status: String,
    rest_api_id: Option<String>,
    /// The AWS deployment the stage points at.
    aws_deployment_id: Option<String>,
    invocation_url: Option<String>,
    error: Option<String>,
    blocked: bool,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deployed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<DeploymentEvent>>,
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
            revision_id: row.revision_id,
            detail: row.detail,
            actor: row.actor,
            at: row.at,
        }
    }
}

impl From<DeploymentRow> for Deployment {
    fn from(row: DeploymentRow) -> Self {
        Deployment {
            id: row.id,
            api_id: row.api_id,
            api_name: row.api_name,
            environment: row.environment_name,
            environment_id: row.environment_id,
            revision_id: row.revision_id,
            revision_number: row.revision_number,
            target_revision_id: row.target_revision_id,
            status: row.status,
            rest_api_id: row.rest_api_id,
            aws_deployment_id: row.aws_deployment_id,
            invocation_url: row.invocation_url,
            error: row.error,
            blocked: row.blocked,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deployed_at: row.deployed_at,
            warnings: Vec::new(),
            history: None,
        }
    }
}

/// What a deploy would do, without touching AWS.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// `create` (no REST API yet), `update`, or `nothing` (AWS already holds it).
    action: String,
    environment: String,
    revision_id: Option<Uuid>,
    /// The AWS-flavoured OpenAPI document PutRestApi would receive.
    #[schema(value_type = Object)]
    document: serde_json::Value,
    /// Findings of the checks that need no AWS call.
    checks: PredeployReport,
}

async fn find_api(state: &AppState, id: ApiId) -> Result<ApiRow, ApiError> {
    apis::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("API"))
}

/// The revision to deploy and its design: the one asked for, else the newest equal to
/// the current design, else a new snapshot.
async fn revision_to_deploy(
    state: &AppState,
    api: &ApiRow,
    asked: Option<RevisionId>,
    actor: &str,
    create: bool,
) -> Result<(Option<RevisionId>, ApiDesign), ApiError> {
    if let Some(id) = asked {
        let revision = revisions::get(&state.db, api.id, id)
            .await?
            .ok_or_else(|| ApiError::field("revisionId", "this API has no such revision"))?;
        return Ok((Some(revision.id), revision.design.0));
    }
    let same: Option<RevisionId> = sqlx::query_scalar(
        "SELECT id FROM api_revisions WHERE api_id = $1 AND design = (SELECT design FROM apis WHERE id = $1)
         ORDER BY number DESC LIMIT 1",
    )
    .bind(api.id)
    .fetch_optional(&state.db)
    .await?;
    if same.is_some() || !create {
        return Ok((same, api.design.0.clone()));
    }
    match revisions::create(
        &state.db,
        api.id,
        "made for a deployment",
        actor,
        state.config.max_revisions_per_api as i64,
    )
    .await?
    {
        CreateOutcome::Created(row) => Ok((Some(row.id), row.design.0)),
        CreateOutcome::ApiNotFound => Err(ApiError::not_found("API")),
        CreateOutcome::AtCap => Err(ApiError::Conflict(
            "the API keeps the most revisions allowed; delete one, or name a revisionId".into(),
        )),
    }
}

fn facts(environment: &EnvironmentRow) -> EnvironmentFacts<'_> {
    EnvironmentFacts {
        region: &environment.region,
        account_id: environment.account_id.as_deref(),
        has_endpoint_url: environment.endpoint_url.is_some(),
    }
}

fn checks_failed(report: &PredeployReport) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "problems".into(),
        serde_json::to_value(&report.problems).expect("serialises"),
    );
    extra.insert(
        "warnings".into(),
        serde_json::to_value(&report.warnings).expect("serialises"),
    );
    let summary: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.reason))
        .collect();
    ApiError::Unprocessable {
        detail: format!("pre-deploy checks failed — {}", summary.join("; ")),
        extra,
    }
}

/// Waits (bounded) until the deployment settles; 200 if it did, else 202.
async fn respond_after(
    state: &AppState,
    id: Uuid,
    wait: Option<u64>,
    warnings: Vec<Finding>,
) -> Result<Response, ApiError> {
    // Answer before the server's own request timeout would cut the request off.
    let ceiling = state.config.request_timeout_secs.saturating_sub(1).min(60);
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(wait.unwrap_or(0).min(ceiling));
    loop {
        let row = store::get(&state.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found("deployment"))?;
        let settled = row.is_settled();
        if settled || tokio::time::Instant::now() >= deadline {
            let status = if settled && wait.is_some() {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            let mut view = Deployment::from(row);
            view.warnings = warnings;
            return Ok((status, Json(view)).into_response());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deploy a revision of the API to an environment
///
/// Runs the pre-deploy checks (422 listing every problem), then queues the deploy: 202
/// with the deployment, or 200 with its final state when `wait` was long enough.
#[utoipa::path(post, path = "/apis/{id}/deployments", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), DeployQuery), request_body = CreateDeployment,
    responses(
        (status = 200, description = "Deployed or failed within `wait`", body = Deployment),
        (status = 202, description = "Queued", body = Deployment),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API or environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The API is retired, or at its revision cap", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Pre-deploy checks failed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(query): ValidQuery<DeployQuery>,
    ValidJson(body): ValidJson<CreateDeployment>,
) -> Result<Response, ApiError> {
    let api = find_api(&state, id).await?;
    if api.lifecycle_state == LifecycleState::Retired {
        return Err(ApiError::Conflict(
            "a RETIRED API cannot be deployed".into(),
        ));
    }
    let environment = find_environment(&state, &body.environment).await?;
    let (revision_id, design) = revision_to_deploy(
        &state,
        &api,
        body.revision_id,
        &caller.principal.client_id,
        true,
    )
    .await?;
    let mut warnings = Vec::new();
    if !query.skip_checks {
        let clients = clients_for(&state, &environment)
            .await
            .map_err(|e| match e {
                ClientsError::Outbound(refused) => ApiError::Unprocessable {
                    detail: refused.to_string(),
                    extra: Default::default(),
                },
                ClientsError::Internal(e) => ApiError::Internal(e),
            })?;
        let report = predeploy::run(&design, &facts(&environment), &clients).await;
        if !report.problems.is_empty() {
            return Err(checks_failed(&report));
        }
        warnings = report.warnings;
    }
    let deployment_id = store::request(
        &state.db,
        api.id.0,
        environment.id.0,
        JobKind::Deploy,
        revision_id.map(|r| r.0),
        &caller.principal.client_id,
    )
    .await?;
    state.jobs_waker.notify_waiters();
    respond_after(&state, deployment_id, query.wait, warnings).await
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
    find_api(&state, id).await?;
    let limit = page.limit()?;
    let rows = store::list(&state.db, Some(id.0), None, None, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        Deployment::from,
    )))
}

/// Preview a deploy: the document AWS would receive and what would change
#[utoipa::path(get, path = "/apis/{id}/deployments/preview", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), PreviewQuery),
    responses(
        (status = 200, description = "The plan", body = Preview),
        (status = 404, description = "No such API or environment", body = Problem, content_type = "application/problem+json"),
    ))]
async fn preview_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(query): ValidQuery<PreviewQuery>,
) -> Result<Json<Preview>, ApiError> {
    let api = find_api(&state, id).await?;
    let environment = find_environment(&state, &query.environment).await?;
    let (revision_id, design) = revision_to_deploy(
        &state,
        &api,
        query.revision_id,
        &caller.principal.client_id,
        false,
    )
    .await?;
    let document = translate(
        &design,
        &Target {
            region: &environment.region,
            authorizer_ttl_secs: state.config.authorizer_ttl_secs,
        },
    );
    let current = store::find(&state.db, api.id.0, environment.id.0).await?;
    let action = match current {
        Some(d)
            if d.status == "deployed"
                && revision_id.is_some_and(|r| Some(r.0) == d.revision_id) =>
        {
            "nothing"
        }
        Some(d) if d.rest_api_id.is_some() => "update",
        _ => "create",
    };
    Ok(Json(Preview {
        action: action.to_owned(),
        environment: environment.name.clone(),
        revision_id: revision_id.map(|r| r.0),
        checks: predeploy::static_checks(&design, &facts(&environment)),
        document,
    }))
}

async fn find_deployment(
    state: &AppState,
    api: ApiId,
    id: Uuid,
) -> Result<DeploymentRow, ApiError> {
    store::get(&state.db, id)
        .await?
        .filter(|d| d.api_id == api.0)
        .ok_or_else(|| ApiError::not_found("deployment"))
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
    ValidPath((id, deployment_id)): ValidPath<(ApiId, Uuid)>,
) -> Result<Json<Deployment>, ApiError> {
    let row = find_deployment(&state, id, deployment_id).await?;
    let history = store::events(&state.db, row.id).await?;
    let mut view = Deployment::from(row);
    view.history = Some(history.into_iter().map(DeploymentEvent::from).collect());
    Ok(Json(view))
}

/// Undeploy: remove the REST API from AWS (one already gone counts as removed)
#[utoipa::path(delete, path = "/apis/{id}/deployments/{deploymentId}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("deploymentId" = String, Path, format = Uuid), WaitQuery),
    responses(
        (status = 200, description = "Undeployed or failed within `wait`", body = Deployment),
        (status = 202, description = "Queued", body = Deployment),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_deployment(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((id, deployment_id)): ValidPath<(ApiId, Uuid)>,
    ValidQuery(query): ValidQuery<WaitQuery>,
) -> Result<Response, ApiError> {
    let row = find_deployment(&state, id, deployment_id).await?;
    store::request(
        &state.db,
        row.api_id,
        row.environment_id,
        JobKind::Undeploy,
        None,
        &caller.principal.client_id,
    )
    .await?;
    state.jobs_waker.notify_waiters();
    respond_after(&state, row.id, query.wait, Vec::new()).await
}

/// 409 naming the live deployments among `rows`, e.g. before a delete.
pub(crate) fn refuse_if_live(rows: &[DeploymentRow], what: &str) -> Result<(), ApiError> {
    let live: Vec<String> = rows
        .iter()
        .filter(|d| d.is_live())
        .map(|d| format!("{} in {} ({})", d.api_name, d.environment_name, d.status))
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "{what}: live deployments: {}",
        live.join(", ")
    )))
}

/// Undeploys every live deployment of an API and waits (bounded) until all are gone.
pub(crate) async fn undeploy_everywhere(
    state: &AppState,
    api: ApiId,
    actor: &str,
) -> Result<(), ApiError> {
    let live = store::live(&state.db, Some(api.0), None).await?;
    for deployment in &live {
        store::request(
            &state.db,
            deployment.api_id,
            deployment.environment_id,
            JobKind::Undeploy,
            None,
            actor,
        )
        .await?;
    }
    state.jobs_waker.notify_waiters();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let still = store::live(&state.db, Some(api.0), None).await?;
        if still.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline || still.iter().any(|d| d.status == "failed") {
            return refuse_if_live(&still, "undeploying did not finish; retry when it has");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
