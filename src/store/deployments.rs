//! Deployments, their history, and the deploy-job queue.
//!
//! Functions that write take a connection, so that a service can make several writes (and
//! the guard that allows them) one transaction. A job's writes are fenced: they happen only
//! while the job is still running under the worker and attempt that claimed it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};

use crate::domain::deployment::{DeploymentStatus, DriftState, JobKind, JobStatus};
use crate::domain::gateway_state::GatewayState;
use crate::domain::ids::{ApiId, DeploymentId, EnvironmentId, JobId, RevisionId};
use crate::domain::plan::PlanChange;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeploymentRow {
    pub id: DeploymentId,
    pub api_id: ApiId,
    pub environment_id: EnvironmentId,
    pub environment_name: String,
    pub api_name: String,
    pub revision_id: Option<RevisionId>,
    pub revision_number: Option<i32>,
    pub target_revision_id: Option<RevisionId>,
    #[sqlx(try_from = "String")]
    pub status: DeploymentStatus,
    pub rest_api_id: Option<String>,
    pub aws_deployment_id: Option<String>,
    pub invocation_url: Option<String>,
    pub error: Option<String>,
    /// The attempt that failed transiently, while a retry is pending.
    pub attempt: Option<i32>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub blocked: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deployed_at: Option<DateTime<Utc>>,
    /// What the last drift check found, and when (`None`: not checked since the deploy).
    pub drift: Option<DriftState>,
    pub drift_checked_at: Option<DateTime<Utc>>,
    /// How many changes the last drift check found.
    pub drift_change_count: Option<i32>,
    /// What the last deploy wants a person to know (the REST API was recreated).
    pub notice: Option<String>,
}

impl DeploymentRow {
    /// Whether something may exist in the gateway for it.
    pub fn is_live(&self) -> bool {
        self.status.is_live()
    }

    pub fn is_settled(&self) -> bool {
        self.status.is_settled()
    }
}

const SELECT: &str =
    "SELECT d.id, d.api_id, d.environment_id, e.name AS environment_name, a.name AS api_name,
        d.revision_id, r.number AS revision_number, d.target_revision_id, d.status, d.rest_api_id,
        d.aws_deployment_id, d.invocation_url, d.error, d.attempt, d.next_attempt_at, d.blocked,
        d.created_by, d.created_at, d.updated_at, d.deployed_at, d.drift, d.drift_checked_at,
        jsonb_array_length(d.drift_changes) AS drift_change_count, d.notice
    FROM deployments d
    JOIN environments e ON e.id = d.environment_id
    JOIN apis a ON a.id = d.api_id
    LEFT JOIN api_revisions r ON r.id = d.revision_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub kind: String,
    pub revision_id: Option<RevisionId>,
    pub detail: Option<String>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

/// A claimed job: what to do, and the worker and attempt that fence its writes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: JobId,
    pub deployment_id: DeploymentId,
    #[sqlx(try_from = "String")]
    pub kind: JobKind,
    pub revision_id: Option<RevisionId>,
    pub attempts: i32,
    pub worker: String,
    pub requested_by: Option<String>,
}

pub async fn get(
    db: impl PgExecutor<'_>,
    id: DeploymentId,
) -> Result<Option<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn find(
    db: impl PgExecutor<'_>,
    api_id: ApiId,
    environment_id: EnvironmentId,
) -> Result<Option<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE d.api_id = $1 AND d.environment_id = $2"
    ))
    .bind(api_id)
    .bind(environment_id)
    .fetch_optional(db)
    .await
}

/// Filters of a listing; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct DeploymentFilter {
    pub api: Option<ApiId>,
    pub environment: Option<EnvironmentId>,
    pub status: Option<DeploymentStatus>,
    pub drift: Option<DriftState>,
    /// Only deployments something may exist in the gateway for.
    pub live: bool,
}

/// Deployments, filtered, ordered by id; `after` is the last id of the previous page.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &DeploymentFilter,
    after: Option<DeploymentId>,
    limit: i64,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(SELECT);
    query.push(" WHERE true");
    if let Some(api) = filter.api {
        query.push(" AND d.api_id = ").push_bind(api);
    }
    if let Some(environment) = filter.environment {
        query
            .push(" AND d.environment_id = ")
            .push_bind(environment);
    }
    if let Some(status) = filter.status {
        query.push(" AND d.status = ").push_bind(status.as_str());
    }
    if let Some(drift) = filter.drift {
        query.push(" AND d.drift = ").push_bind(drift);
    }
    if filter.live {
        query
            .push(" AND d.status <> ")
            .push_bind(DeploymentStatus::Undeployed.as_str());
    }
    if let Some(after) = after {
        query.push(" AND d.id > ").push_bind(after);
    }
    query.push(" ORDER BY d.id LIMIT ").push_bind(limit);
    query.build_query_as().fetch_all(db).await
}

/// Live deployments of an API or of an environment (all of them: a guard needs every one).
pub async fn live(
    db: impl PgExecutor<'_>,
    api: Option<ApiId>,
    environment: Option<EnvironmentId>,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    let filter = DeploymentFilter {
        api,
        environment,
        live: true,
        ..Default::default()
    };
    list(db, &filter, None, i64::MAX).await
}

pub async fn events(
    db: impl PgExecutor<'_>,
    deployment_id: DeploymentId,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, revision_id, detail, actor, at FROM deployment_events WHERE deployment_id = $1 ORDER BY id",
    )
    .bind(deployment_id)
    .fetch_all(db)
    .await
}

pub async fn record_event(
    db: impl PgExecutor<'_>,
    deployment_id: DeploymentId,
    kind: &str,
    revision_id: Option<RevisionId>,
    detail: Option<&str>,
    actor: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO deployment_events (id, deployment_id, kind, revision_id, detail, actor)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(deployment_id)
    .bind(kind)
    .bind(revision_id)
    .bind(detail)
    .bind(actor)
    .execute(db)
    .await?;
    Ok(())
}

/// Records a request and queues its job, superseding jobs of the deployment still queued:
/// ten quick deploys of one API make at most two AWS deployments. Runs in the caller's
/// transaction, which holds the guards (the API and environment rows) it was checked under.
pub async fn request(
    conn: &mut PgConnection,
    api_id: ApiId,
    environment_id: EnvironmentId,
    kind: JobKind,
    revision_id: Option<RevisionId>,
    actor: &str,
) -> Result<DeploymentId, sqlx::Error> {
    let status = kind.queued_status().map(DeploymentStatus::as_str);
    let deployment_id: DeploymentId = sqlx::query_scalar(
        "INSERT INTO deployments (id, api_id, environment_id, target_revision_id, status, created_by)
         VALUES ($1, $2, $3, $4, COALESCE($5, 'pending'), $6)
         ON CONFLICT (api_id, environment_id) DO UPDATE SET
            target_revision_id = COALESCE($4, deployments.target_revision_id),
            status = COALESCE($5, deployments.status),
            error = CASE WHEN $5 IS NULL THEN deployments.error END,
            attempt = NULL, next_attempt_at = NULL,
            updated_at = now()
         RETURNING id",
    )
    .bind(DeploymentId::new())
    .bind(api_id)
    .bind(environment_id)
    .bind(revision_id)
    .bind(status)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await?;
    // The latest deploy or undeploy intent wins (and applies the throttle too); a throttle
    // change never cancels one; an authorizer refresh is only replaced by another.
    let superseded = sqlx::query(
        "UPDATE deploy_jobs SET status = 'superseded', finished_at = now()
         WHERE deployment_id = $1 AND status = 'queued'
           AND (kind = $2 OR ($2 IN ('deploy', 'undeploy') AND kind <> 'authorizer'))",
    )
    .bind(deployment_id)
    .bind(kind.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if superseded > 0 {
        metrics::counter!("fedgate_deploy_jobs_superseded_total").increment(superseded);
    }
    sqlx::query(
        "INSERT INTO deploy_jobs (id, deployment_id, kind, revision_id, status, requested_by)
         VALUES ($1, $2, $3, $4, 'queued', $5)",
    )
    .bind(JobId::new())
    .bind(deployment_id)
    .bind(kind.as_str())
    .bind(revision_id)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    record_event(
        &mut *conn,
        deployment_id,
        &format!("{}-requested", kind.as_str()),
        revision_id,
        None,
        Some(actor),
    )
    .await?;
    Ok(deployment_id)
}

pub async fn set_blocked(
    db: impl PgExecutor<'_>,
    deployment_id: DeploymentId,
    blocked: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE deployments SET blocked = $2, updated_at = now() WHERE id = $1")
        .bind(deployment_id)
        .bind(blocked)
        .execute(db)
        .await?;
    Ok(())
}

const JOB_COLUMNS: &str = "id, deployment_id, kind, revision_id, attempts, worker, requested_by";

/// Claims the oldest runnable job: queued, or running with an expired lease (its worker
/// died). SKIP LOCKED lets any number of workers and replicas claim concurrently; the
/// unique index on running jobs keeps one job per deployment at a time.
pub async fn claim(
    db: impl PgExecutor<'_>,
    worker: &str,
    lease: Duration,
) -> Result<Option<JobRow>, sqlx::Error> {
    let claimed = sqlx::query_as(&format!(
        "UPDATE deploy_jobs SET status = 'running', attempts = attempts + 1, worker = $1,
                lease_until = now() + make_interval(secs => $2)
         WHERE id = (
            SELECT j.id FROM deploy_jobs j
            WHERE j.run_after <= now()
              AND (j.status = 'queued' OR (j.status = 'running' AND j.lease_until < now()))
              AND NOT EXISTS (SELECT 1 FROM deploy_jobs r
                              WHERE r.deployment_id = j.deployment_id AND r.status = 'running'
                                AND r.id <> j.id)
            ORDER BY j.run_after, j.id
            FOR UPDATE SKIP LOCKED
            LIMIT 1)
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(worker)
    .bind(lease.as_secs_f64())
    .fetch_optional(db)
    .await;
    match claimed {
        // Another worker won the race for this deployment: try again later.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        other => other,
    }
}

/// Extends the lease of a job still held by this worker and attempt; false when another
/// worker has taken it over (or it ended), so the holder must stop.
pub async fn renew_lease(
    db: impl PgExecutor<'_>,
    job: &JobRow,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let renewed = sqlx::query(
        "UPDATE deploy_jobs SET lease_until = now() + make_interval(secs => $4)
         WHERE id = $1 AND worker = $2 AND attempts = $3 AND status = 'running'",
    )
    .bind(job.id)
    .bind(&job.worker)
    .bind(job.attempts)
    .bind(lease.as_secs_f64())
    .execute(db)
    .await?
    .rows_affected();
    Ok(renewed == 1)
}

/// Locks the job for the rest of the transaction if this worker and attempt still hold it:
/// the fence in front of every write a job makes.
pub async fn fence(conn: &mut PgConnection, job: &JobRow) -> Result<bool, sqlx::Error> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM deploy_jobs
         WHERE id = $1 AND worker = $2 AND attempts = $3 AND status = 'running' FOR UPDATE",
    )
    .bind(job.id)
    .bind(&job.worker)
    .bind(job.attempts)
    .fetch_optional(conn)
    .await?;
    Ok(held.is_some())
}

/// Puts a job this worker holds back in the queue at once (shutdown): another worker or
/// replica takes it without waiting for the lease; the attempt is not counted.
pub async fn release(db: impl PgExecutor<'_>, job: &JobRow) -> Result<bool, sqlx::Error> {
    let released = sqlx::query(
        "UPDATE deploy_jobs SET status = 'queued', lease_until = NULL, worker = NULL,
                attempts = attempts - 1
         WHERE id = $1 AND worker = $2 AND attempts = $3 AND status = 'running'",
    )
    .bind(job.id)
    .bind(&job.worker)
    .bind(job.attempts)
    .execute(db)
    .await?
    .rows_affected();
    Ok(released == 1)
}

/// Ends a job (`done` or `failed`).
pub async fn finish_job(
    db: impl PgExecutor<'_>,
    job_id: JobId,
    status: JobStatus,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deploy_jobs SET status = $2, error = $3, finished_at = now(), lease_until = NULL WHERE id = $1",
    )
    .bind(job_id)
    .bind(status.as_str())
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a job back in the queue after a transient failure.
pub async fn retry_job(
    db: impl PgExecutor<'_>,
    job_id: JobId,
    delay: Duration,
    error: &str,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE deploy_jobs SET status = 'queued', error = $3, lease_until = NULL,
                run_after = now() + make_interval(secs => $2)
         WHERE id = $1 RETURNING run_after",
    )
    .bind(job_id)
    .bind(delay.as_secs_f64())
    .bind(error)
    .fetch_one(db)
    .await
}

/// Puts a job back in the queue until a quota slot frees up; nothing failed, so the
/// attempt it was claimed with is given back.
pub async fn postpone_job(
    db: impl PgExecutor<'_>,
    job_id: JobId,
    delay: Duration,
    reason: &str,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE deploy_jobs SET status = 'queued', error = $3, lease_until = NULL,
                run_after = now() + make_interval(secs => $2), attempts = attempts - 1
         WHERE id = $1 RETURNING run_after",
    )
    .bind(job_id)
    .bind(delay.as_secs_f64())
    .bind(reason)
    .fetch_one(db)
    .await
}

/// Whether a newer request has superseded this job's while it ran.
pub async fn newer_job_queued(db: impl PgExecutor<'_>, job: &JobRow) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM deploy_jobs WHERE deployment_id = $1 AND status = 'queued' AND id > $2)",
    )
    .bind(job.deployment_id)
    .bind(job.id)
    .fetch_one(db)
    .await
}

/// The outcome a job writes onto its deployment.
#[derive(Debug)]
pub struct DeploymentUpdate<'a> {
    pub status: DeploymentStatus,
    pub revision_id: Option<RevisionId>,
    pub rest_api_id: Option<&'a str>,
    pub aws_deployment_id: Option<&'a str>,
    pub invocation_url: Option<&'a str>,
    pub error: Option<&'a str>,
    /// A transient failure: the attempt that failed and when the next one runs.
    pub retry: Option<(i32, DateTime<Utc>)>,
    /// Forget the gateway identifiers (after an undeploy).
    pub clear_aws: bool,
    /// A deploy succeeded: the document pushed, the state it gives the gateway, and what a
    /// person should know of it.
    pub pushed: Option<Pushed<'a>>,
}

/// What a successful deploy pushed.
#[derive(Debug)]
pub struct Pushed<'a> {
    pub document: &'a serde_json::Value,
    pub state: &'a GatewayState,
    pub notice: Option<&'a str>,
}

impl DeploymentUpdate<'_> {
    pub fn status(status: DeploymentStatus) -> Self {
        Self {
            status,
            revision_id: None,
            rest_api_id: None,
            aws_deployment_id: None,
            invocation_url: None,
            error: None,
            retry: None,
            clear_aws: false,
            pushed: None,
        }
    }
}

pub async fn update(
    db: impl PgExecutor<'_>,
    deployment_id: DeploymentId,
    change: &DeploymentUpdate<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deployments SET status = $2,
            revision_id = CASE WHEN $8 THEN NULL ELSE COALESCE($3, revision_id) END,
            rest_api_id = CASE WHEN $8 THEN NULL ELSE COALESCE($4, rest_api_id) END,
            aws_deployment_id = CASE WHEN $8 THEN NULL ELSE COALESCE($5, aws_deployment_id) END,
            invocation_url = CASE WHEN $8 THEN NULL ELSE COALESCE($6, invocation_url) END,
            error = $7, attempt = $9, next_attempt_at = $10,
            deployed_at = CASE WHEN $2 = 'deployed' THEN now() ELSE deployed_at END,
            deployed_document = CASE WHEN $8 THEN NULL ELSE COALESCE($11, deployed_document) END,
            deployed_state = CASE WHEN $8 THEN NULL ELSE COALESCE($12, deployed_state) END,
            notice = CASE WHEN $8 OR $11 IS NOT NULL THEN $13 ELSE notice END,
            drift = CASE WHEN $8 OR $11 IS NOT NULL THEN NULL ELSE drift END,
            drift_checked_at = CASE WHEN $8 OR $11 IS NOT NULL THEN NULL ELSE drift_checked_at END,
            drift_changes = CASE WHEN $8 OR $11 IS NOT NULL THEN NULL ELSE drift_changes END,
            updated_at = now()
         WHERE id = $1",
    )
    .bind(deployment_id)
    .bind(change.status.as_str())
    .bind(change.revision_id)
    .bind(change.rest_api_id)
    .bind(change.aws_deployment_id)
    .bind(change.invocation_url)
    .bind(change.error)
    .bind(change.clear_aws)
    .bind(change.retry.map(|(attempt, _)| attempt))
    .bind(change.retry.map(|(_, at)| at))
    .bind(change.pushed.as_ref().map(|p| Json(p.document)))
    .bind(change.pushed.as_ref().map(|p| Json(p.state)))
    .bind(change.pushed.as_ref().and_then(|p| p.notice))
    .execute(db)
    .await?;
    Ok(())
}

/// Counts by job status, for the metrics.
pub async fn job_counts(db: impl PgExecutor<'_>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM deploy_jobs WHERE status IN ('queued', 'running') GROUP BY status")
        .fetch_all(db)
        .await
}

/// The state fedgate expects the gateway to hold for a deployment: what it last pushed
/// (or read at adoption). `None` for a deployment made before fedgate kept it.
pub async fn baseline(
    db: impl PgExecutor<'_>,
    id: DeploymentId,
) -> Result<Option<GatewayState>, sqlx::Error> {
    let state: Option<Option<Json<GatewayState>>> =
        sqlx::query_scalar("SELECT deployed_state FROM deployments WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(state.flatten().map(|Json(state)| state))
}

/// Records what a drift check found, unless the deployment moved on meanwhile (another
/// REST API or AWS deployment): a check of the old one says nothing about the new.
pub async fn record_drift(
    db: impl PgExecutor<'_>,
    id: DeploymentId,
    checked: (&str, &str),
    drift: DriftState,
    changes: &[PlanChange],
) -> Result<bool, sqlx::Error> {
    let (rest_api_id, aws_deployment_id) = checked;
    let recorded = sqlx::query(
        "UPDATE deployments SET drift = $4, drift_checked_at = now(),
            drift_changes = CASE WHEN $4 = 'in_sync' THEN NULL ELSE $5 END
         WHERE id = $1 AND rest_api_id = $2 AND aws_deployment_id = $3",
    )
    .bind(id)
    .bind(rest_api_id)
    .bind(aws_deployment_id)
    .bind(drift)
    .bind(Json(changes))
    .execute(db)
    .await?
    .rows_affected();
    Ok(recorded == 1)
}

/// The changes the last drift check found.
pub async fn drift_changes(
    db: impl PgExecutor<'_>,
    id: DeploymentId,
) -> Result<Vec<PlanChange>, sqlx::Error> {
    let changes: Option<Option<Json<Vec<PlanChange>>>> =
        sqlx::query_scalar("SELECT drift_changes FROM deployments WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(changes.flatten().map(|Json(c)| c).unwrap_or_default())
}

/// How many deployments are in each drift state, for the metrics.
pub async fn drift_counts(db: impl PgExecutor<'_>) -> Result<Vec<(DriftState, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT drift, count(*) FROM deployments WHERE drift IS NOT NULL AND status <> 'undeployed' GROUP BY drift",
    )
    .fetch_all(db)
    .await
}
/// A REST API adopted by discovery: deployed from the start, with the state read from the
/// gateway as the baseline later plans and drift checks compare with.
#[derive(Debug)]
pub struct AdoptedDeployment<'a> {
    pub api_id: ApiId,
    pub environment_id: EnvironmentId,
    pub revision_id: RevisionId,
    pub rest_api_id: &'a str,
    pub aws_deployment_id: Option<&'a str>,
    pub invocation_url: &'a str,
    pub deployed_state: &'a GatewayState,
}

/// Records an adopted REST API as a `deployed` deployment, with an `adopted` event.
pub async fn insert_adopted(
    conn: &mut PgConnection,
    adopted: &AdoptedDeployment<'_>,
    actor: &str,
) -> Result<DeploymentId, sqlx::Error> {
    let id = DeploymentId::new();
    sqlx::query(
        "INSERT INTO deployments (id, api_id, environment_id, revision_id, target_revision_id,
            status, rest_api_id, aws_deployment_id, invocation_url, deployed_state, created_by,
            deployed_at)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, now())",
    )
    .bind(id)
    .bind(adopted.api_id)
    .bind(adopted.environment_id)
    .bind(adopted.revision_id)
    .bind(DeploymentStatus::Deployed.as_str())
    .bind(adopted.rest_api_id)
    .bind(adopted.aws_deployment_id)
    .bind(adopted.invocation_url)
    .bind(sqlx::types::Json(adopted.deployed_state))
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    record_event(
        &mut *conn,
        id,
        "adopted",
        Some(adopted.revision_id),
        Some(&format!(
            "REST API {} adopted by discovery",
            adopted.rest_api_id
        )),
        Some(actor),
    )
    .await?;
    Ok(id)
}

/// Live deployments of the REST API `rest_api_id`, in any environment.
pub async fn holding_rest_api(
    db: impl PgExecutor<'_>,
    rest_api_id: &str,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE d.rest_api_id = $1 AND d.status <> $2 ORDER BY d.id"
    ))
    .bind(rest_api_id)
    .bind(DeploymentStatus::Undeployed.as_str())
    .fetch_all(db)
    .await
}

/// Serialises discoveries of one REST API until the transaction ends.
pub async fn lock_rest_api(conn: &mut PgConnection, rest_api_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fedgate.discover.' || $1))")
        .bind(rest_api_id)
        .execute(conn)
        .await?;
    Ok(())
}
