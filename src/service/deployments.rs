//! Deployments: choosing the revision, the pre-deploy checks, queueing deploys and
//! undeploys under the guards of the API and the environment, previews, and waiting for
//! a job to settle.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use super::audit::{self, Change};
use super::environments;
use super::guards::refuse_if_deleting;
use super::managed_authorizers;
use super::{Actor, AppState, ServiceError};
use crate::domain::api::ApiDesign;
use crate::domain::deployment::{DeploymentStatus, JobKind, check_deployable};
use crate::domain::gateway_state::{GatewayState, StageState};
use crate::domain::ids::{ApiId, DeploymentId, EnvironmentId, RevisionId};
use crate::domain::lifecycle::LifecycleState;
use crate::domain::plan::{PlanChange, diff};
use crate::domain::predeploy::{EnvironmentFacts, Finding, PredeployReport, static_checks};
use crate::domain::translate::{Target, translate};
use crate::store::RowLock;
use crate::store::apis::{self, ApiRow};
use crate::store::deployments::{self as store, DeploymentFilter, DeploymentRow, EventRow};
use crate::store::environments::{self as environment_store, EnvironmentRow};
use crate::store::revisions::{self, CreateOutcome};

pub async fn find_api(state: &AppState, id: ApiId) -> Result<ApiRow, ServiceError> {
    apis::get(&state.db, id)
        .await?
        .ok_or(ServiceError::NotFound("API"))
}

/// Why a job of `kind` may not be queued for `api` now.
fn refuse_job(api: &ApiRow, kind: JobKind) -> Result<(), ServiceError> {
    if kind != JobKind::Undeploy {
        refuse_if_deleting(api)?;
    }
    if kind == JobKind::Deploy && api.lifecycle_state == LifecycleState::Retired {
        return Err(ServiceError::Conflict(
            "a RETIRED API cannot be deployed".into(),
        ));
    }
    Ok(())
}

/// The revision to deploy and its design: the one asked for, else the newest equal to
/// the current design, else (when `create`) a new snapshot.
async fn revision_to_deploy(
    state: &AppState,
    api: &ApiRow,
    asked: Option<RevisionId>,
    actor: &Actor,
    create: bool,
) -> Result<(Option<RevisionId>, ApiDesign), ServiceError> {
    if let Some(id) = asked {
        let revision = revisions::get(&state.db, api.id, id)
            .await?
            .ok_or_else(|| ServiceError::field("revisionId", "this API has no such revision"))?;
        return Ok((Some(revision.id), revision.design.0));
    }
    let same = revisions::newest_equal_to_current(&state.db, api.id).await?;
    if same.is_some() || !create {
        return Ok((same, api.design.0.clone()));
    }
    let mut tx = state.db.begin().await?;
    let created = revisions::create(
        &mut tx,
        api.id,
        "made for a deployment",
        actor.name(),
        i64::from(state.config.max_revisions_per_api),
    )
    .await?;
    tx.commit().await?;
    match created {
        CreateOutcome::Created(row) => Ok((Some(row.id), row.design.0)),
        CreateOutcome::ApiNotFound => Err(ServiceError::NotFound("API")),
        CreateOutcome::AtCap => Err(ServiceError::Conflict(
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

fn checks_failed(report: &PredeployReport) -> ServiceError {
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
    ServiceError::Unprocessable {
        detail: format!("pre-deploy checks failed — {}", summary.join("; ")),
        extra,
    }
}

fn refuse_undeployable(design: &ApiDesign) -> Result<(), ServiceError> {
    check_deployable(design).map_err(|reason| ServiceError::Conflict(reason.into()))
}

/// A queued job's deployment, with what the checks warned of.
pub struct Requested {
    pub deployment: DeploymentRow,
    pub warnings: Vec<Finding>,
}

/// Deploys a revision of an API to an environment: the checks (static, then those the
/// gateway answers), then the request, queued under the guards of both rows.
pub async fn deploy(
    state: &AppState,
    api_id: ApiId,
    environment_key: &str,
    revision: Option<RevisionId>,
    skip_checks: bool,
    wait: Duration,
    actor: &Actor,
) -> Result<Requested, ServiceError> {
    let change = Change::new("deployments.deploy", "apis").on(api_id);
    let (id, warnings) = audit::attempt(state, actor, change, async {
        request_deploy(state, api_id, environment_key, revision, skip_checks, actor).await
    })
    .await?;
    Ok(Requested {
        deployment: wait_until_settled(state, id, wait).await?,
        warnings,
    })
}

/// The checks and the queueing of a deploy: its deployment and the checks' warnings.
async fn request_deploy(
    state: &AppState,
    api_id: ApiId,
    environment_key: &str,
    revision: Option<RevisionId>,
    skip_checks: bool,
    actor: &Actor,
) -> Result<(DeploymentId, Vec<Finding>), ServiceError> {
    let api = find_api(state, api_id).await?;
    refuse_job(&api, JobKind::Deploy)?;
    let environment = environments::find(state, environment_key).await?;
    if revision.is_none() {
        refuse_undeployable(&api.design)?;
    }
    let (revision_id, design) = revision_to_deploy(state, &api, revision, actor, true).await?;
    refuse_undeployable(&design)?;
    let mut warnings = Vec::new();
    if !skip_checks {
        let mut report = static_checks(&design, &facts(&environment));
        let connector = environments::connect(state, &environment).await?;
        let remote = connector.predeploy(&design).await;
        report.problems.extend(remote.problems);
        report.warnings.extend(remote.warnings);
        report
            .problems
            .extend(managed_authorizers::check(&state.db, &design).await?);
        if !report.problems.is_empty() {
            return Err(checks_failed(&report));
        }
        warnings = report.warnings;
    }
    let id = queue(
        state,
        api.id,
        environment.id,
        JobKind::Deploy,
        revision_id,
        actor,
    )
    .await?;
    Ok((id, warnings))
}

/// Queues a job in one transaction that share-locks the API and the environment and checks
/// them again: a delete or retire of either waits for it, or it sees theirs.
async fn queue(
    state: &AppState,
    api_id: ApiId,
    environment_id: EnvironmentId,
    kind: JobKind,
    revision: Option<RevisionId>,
    actor: &Actor,
) -> Result<DeploymentId, ServiceError> {
    let mut tx = state.db.begin().await?;
    let api = apis::lock(&mut tx, api_id, RowLock::Share)
        .await?
        .ok_or(ServiceError::NotFound("API"))?;
    refuse_job(&api, kind)?;
    environment_store::lock(&mut tx, environment_id, RowLock::Share)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    if let Some(revision) = revision
        && revisions::get(&mut *tx, api_id, revision).await?.is_none()
    {
        return Err(ServiceError::Conflict(
            "the revision was deleted meanwhile".into(),
        ));
    }
    let id = store::request(
        &mut tx,
        api_id,
        environment_id,
        kind,
        revision,
        actor.name(),
    )
    .await?;
    let action = match kind {
        JobKind::Deploy => "deployments.deploy",
        JobKind::Undeploy => "deployments.undeploy",
        JobKind::Throttle => "deployments.throttle",
        JobKind::Authorizer => "deployments.authorizer",
    };
    audit::record(&mut *tx, actor, &Change::new(action, "apis").on(api_id)).await?;
    tx.commit().await?;
    state.jobs_waker.notify_waiters();
    Ok(id)
}

/// Queues an undeploy of every live deployment of an API in the caller's transaction
/// (which holds the API's row); one already undeploying keeps its job. Returns how many
/// were queued.
pub async fn queue_undeploys(
    conn: &mut sqlx::PgConnection,
    api_id: ApiId,
    actor: &str,
) -> Result<usize, sqlx::Error> {
    let live = store::live(&mut *conn, Some(api_id), None).await?;
    let pending: Vec<_> = live
        .iter()
        .filter(|d| d.status != DeploymentStatus::Undeploying)
        .collect();
    for deployment in &pending {
        store::request(
            conn,
            deployment.api_id,
            deployment.environment_id,
            JobKind::Undeploy,
            None,
            actor,
        )
        .await?;
    }
    Ok(pending.len())
}

/// What a deploy would do, without touching the gateway.
pub struct Preview {
    pub action: PlannedAction,
    pub environment: String,
    pub revision_id: Option<RevisionId>,
    /// The document the gateway would receive.
    pub document: serde_json::Value,
    pub checks: PredeployReport,
    /// What the plan compares the deploy with.
    pub baseline: Baseline,
    /// What the deploy would change in the gateway, from the baseline.
    pub changes: Vec<PlanChange>,
}

/// What a plan compares a deploy with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Baseline {
    /// Nothing is deployed in the environment: everything is added.
    Nothing,
    /// The state fedgate last pushed there (or read when it adopted the REST API).
    LastDeployed,
    /// Deployed before fedgate kept what it pushed: compared with nothing, so everything
    /// shows as added; the next deploy records it.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedAction {
    /// No gateway API yet.
    Create,
    Update,
    /// The gateway already holds this revision.
    Nothing,
}

impl PlannedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PlannedAction::Create => "create",
            PlannedAction::Update => "update",
            PlannedAction::Nothing => "nothing",
        }
    }
}

pub async fn preview(
    state: &AppState,
    api_id: ApiId,
    environment_key: &str,
    revision: Option<RevisionId>,
    actor: &Actor,
) -> Result<Preview, ServiceError> {
    let api = find_api(state, api_id).await?;
    let environment = environments::find(state, environment_key).await?;
    let (revision_id, design) = revision_to_deploy(state, &api, revision, actor, false).await?;
    refuse_undeployable(&design)?;
    let current = store::find(&state.db, api.id, environment.id).await?;
    let live = current
        .as_ref()
        .filter(|d| d.is_live())
        .map(|d| (d.id, d.rest_api_id.as_deref()));
    let managed = managed_authorizers::plan(&state.db, &environment, live, &design).await?;
    let document = translate(
        &design,
        &Target {
            region: &environment.region,
            authorizer_ttl_secs: state.config.authorizer_ttl_secs,
            managed: &managed.arns,
        },
    );
    let (baseline, mut changes) = plan(state, current.as_ref(), &environment, &document).await?;
    changes.extend(managed.changes);
    let mut checks = static_checks(&design, &facts(&environment));
    checks.problems.extend(managed.problems);
    let action = match current {
        Some(d)
            if d.status == DeploymentStatus::Deployed
                && revision_id.is_some()
                && revision_id == d.revision_id =>
        {
            PlannedAction::Nothing
        }
        Some(d) if d.rest_api_id.is_some() => PlannedAction::Update,
        _ => PlannedAction::Create,
    };
    Ok(Preview {
        action,
        environment: environment.name.clone(),
        revision_id,
        checks,
        document,
        baseline,
        changes,
    })
}

/// What pushing `document` would change, from what fedgate last pushed to the deployment.
async fn plan(
    state: &AppState,
    current: Option<&DeploymentRow>,
    environment: &EnvironmentRow,
    document: &serde_json::Value,
) -> Result<(Baseline, Vec<PlanChange>), ServiceError> {
    let live = current.filter(|d| d.is_live() && d.rest_api_id.is_some());
    let stage = StageState {
        name: environment.stage.clone(),
        blocked: current.is_some_and(|d| d.blocked),
        deployment_id: None,
    };
    let after = GatewayState::from_document(document, Some(stage.clone()));
    let (baseline, before) = match live {
        None => (Baseline::Nothing, GatewayState::default()),
        Some(deployment) => match store::baseline(&state.db, deployment.id).await? {
            Some(pushed) => (
                Baseline::LastDeployed,
                GatewayState {
                    stage: Some(stage),
                    ..pushed
                },
            ),
            None => (Baseline::Unknown, GatewayState::default()),
        },
    };
    Ok((baseline, diff(&before, &after)))
}

/// A deployment of the API with this id.
pub async fn find(
    state: &AppState,
    api: ApiId,
    id: DeploymentId,
) -> Result<DeploymentRow, ServiceError> {
    store::get(&state.db, id)
        .await?
        .filter(|d| d.api_id == api)
        .ok_or(ServiceError::NotFound("deployment"))
}

pub async fn history(state: &AppState, id: DeploymentId) -> Result<Vec<EventRow>, ServiceError> {
    Ok(store::events(&state.db, id).await?)
}

pub async fn list(
    state: &AppState,
    filter: &DeploymentFilter,
    after: Option<DeploymentId>,
    limit: i64,
) -> Result<Vec<DeploymentRow>, ServiceError> {
    Ok(store::list(&state.db, filter, after, limit).await?)
}

/// Undeploys: removes the gateway API (one already gone counts as removed).
pub async fn undeploy(
    state: &AppState,
    api: ApiId,
    id: DeploymentId,
    wait: Duration,
    actor: &Actor,
) -> Result<DeploymentRow, ServiceError> {
    let change = Change::new("deployments.undeploy", "apis").on(api);
    let row = audit::attempt(state, actor, change, async {
        let row = find(state, api, id).await?;
        queue(
            state,
            row.api_id,
            row.environment_id,
            JobKind::Undeploy,
            None,
            actor,
        )
        .await?;
        Ok(row)
    })
    .await?;
    wait_until_settled(state, row.id, wait).await
}

/// The deployment once it has settled, or as it stands when `wait` has passed.
pub async fn wait_until_settled(
    state: &AppState,
    id: DeploymentId,
    wait: Duration,
) -> Result<DeploymentRow, ServiceError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let row = store::get(&state.db, id)
            .await?
            .ok_or(ServiceError::NotFound("deployment"))?;
        if row.is_settled() || tokio::time::Instant::now() >= deadline {
            return Ok(row);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
