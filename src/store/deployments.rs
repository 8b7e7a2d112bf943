//! Deployments, their history, and the deploy-job queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeploymentRow {
    pub id: Uuid,
    pub api_id: Uuid,
    pub environment_id: Uuid,
    pub environment_name: String,
    pub api_name: String,
    pub revision_id: Option<Uuid>,
    pub revision_number: Option<i32>,
    pub target_revision_id: Option<Uuid>,
    pub status: String,
    pub rest_api_id: Option<String>,
    pub aws_deployment_id: Option<String>,
    pub invocation_url: Option<String>,
    pub error: Option<String>,
    pub blocked: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deployed_at: Option<DateTime<Utc>>,
}

impl DeploymentRow {
    /// Whether something may exist in AWS for it.
    pub fn is_live(&self) -> bool {
        self.status != "undeployed"
    }

    pub fn is_settled(&self) -> bool {
        matches!(self.status.as_str(), "deployed" | "failed" | "undeployed")
    }
}

const SELECT: &str =
    "SELECT d.id, d.api_id, d.environment_id, e.name AS environment_name, a.name AS api_name,
        d.revision_id, r.number AS revision_number, d.target_revision_id, d.status, d.rest_api_id,
        d.aws_deployment_id, d.invocation_url, d.error, d.blocked, d.created_by, d.created_at,
        d.updated_at, d.deployed_at
    FROM deployments d
    JOIN environments e ON e.id = d.environment_id
    JOIN apis a ON a.id = d.api_id
    LEFT JOIN api_revisions r ON r.id = d.revision_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub kind: String,
    pub revision_id: Option<Uuid>,
    pub detail: Option<String>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub deployment_id: Uuid,
    pub kind: String,
    pub revision_id: Option<Uuid>,
    pub attempts: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Deploy,
    Undeploy,
    /// Apply the deployment's `blocked` flag to the stage.
    Throttle,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Deploy => "deploy",
            JobKind::Undeploy => "undeploy",
            JobKind::Throttle => "throttle",
        }
    }
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn find(
    pool: &PgPool,
    api_id: Uuid,
    environment_id: Uuid,
) -> Result<Option<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE d.api_id = $1 AND d.environment_id = $2"
    ))
    .bind(api_id)
    .bind(environment_id)
    .fetch_optional(pool)
    .await
}

/// Deployments, filtered, ordered by id; `after` is the last id of the previous page.
pub async fn list(
    pool: &PgPool,
    api_id: Option<Uuid>,
    environment_id: Option<Uuid>,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE ($1::uuid IS NULL OR d.api_id = $1) AND ($2::uuid IS NULL OR d.environment_id = $2)
           AND ($3::text IS NULL OR d.status = $3) AND ($4::uuid IS NULL OR d.id > $4)
         ORDER BY d.id LIMIT $5"
    ))
    .bind(api_id)
    .bind(environment_id)
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Live deployments of an API or of an environment.
pub async fn live(
    pool: &PgPool,
    api_id: Option<Uuid>,
    environment_id: Option<Uuid>,
) -> Result<Vec<DeploymentRow>, sqlx::Error> {
    let rows = list(pool, api_id, environment_id, None, None, 10_000).await?;
    Ok(rows.into_iter().filter(DeploymentRow::is_live).collect())
}

pub async fn events(pool: &PgPool, deployment_id: Uuid) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, revision_id, detail, actor, at FROM deployment_events WHERE deployment_id = $1 ORDER BY id",
    )
    .bind(deployment_id)
    .fetch_all(pool)
    .await
}

pub async fn record_event(
    conn: &mut PgConnection,
    deployment_id: Uuid,
    kind: &str,
    revision_id: Option<Uuid>,
    detail: Option<&str>,
    actor: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO deployment_events (id, deployment_id, kind, revision_id, detail, actor)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(deployment_id)
    .bind(kind)
    .bind(revision_id)
    .bind(detail)
    .bind(actor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a request and queues its job, superseding jobs of the deployment still queued:
/// ten quick deploys of one API make at most two AWS deployments.
pub async fn request(
    pool: &PgPool,
    api_id: Uuid,
    environment_id: Uuid,
    kind: JobKind,
    revision_id: Option<Uuid>,
    actor: &str,
) -> Result<Uuid, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let status = match kind {
        JobKind::Deploy => Some("pending"),
        JobKind::Undeploy => Some("undeploying"),
        JobKind::Throttle => None,
    };
    let deployment_id: Uuid = sqlx::query_scalar(
        "INSERT INTO deployments (id, api_id, environment_id, target_revision_id, status, created_by)
         VALUES ($1, $2, $3, $4, COALESCE($5, 'pending'), $6)
         ON CONFLICT (api_id, environment_id) DO UPDATE SET
            target_revision_id = COALESCE($4, deployments.target_revision_id),
            status = COALESCE($5, deployments.status),
            error = CASE WHEN $5 IS NULL THEN deployments.error END,
            updated_at = now()
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(api_id)
    .bind(environment_id)
    .bind(revision_id)
    .bind(status)
    .bind(actor)
    .fetch_one(&mut *tx)
    .await?;
    // The latest deploy or undeploy intent wins; a throttle change never cancels one.
    let superseded = sqlx::query(
        "UPDATE deploy_jobs SET status = 'superseded', finished_at = now()
         WHERE deployment_id = $1 AND status = 'queued' AND (kind = $2 OR $2 <> 'throttle')",
    )
    .bind(deployment_id)
    .bind(kind.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if superseded > 0 {
        metrics::counter!("fedgate_deploy_jobs_superseded_total").increment(superseded);
    }
    sqlx::query(
        "INSERT INTO deploy_jobs (id, deployment_id, kind, revision_id, status) VALUES ($1, $2, $3, $4, 'queued')",
    )
    .bind(Uuid::now_v7())
    .bind(deployment_id)
    .bind(kind.as_str())
    .bind(revision_id)
    .execute(&mut *tx)
    .await?;
    record_event(
        &mut tx,
        deployment_id,
        &format!("{}-requested", kind.as_str()),
        revision_id,
        None,
        Some(actor),
    )
    .await?;
    tx.commit().await?;
    Ok(deployment_id)
}

pub async fn set_blocked(
    pool: &PgPool,
    deployment_id: Uuid,
    blocked: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE deployments SET blocked = $2, updated_at = now() WHERE id = $1")
        .bind(deployment_id)
        .bind(blocked)
        .execute(pool)
        .await?;
    Ok(())
}

/// Claims the oldest runnable job: queued, or running with an expired lease (its worker
/// died). SKIP LOCKED lets any number of workers and replicas claim concurrently; the
/// unique index on running jobs keeps one job per deployment at a time.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
) -> Result<Option<JobRow>, sqlx::Error> {
    let claimed = sqlx::query_as(
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
         RETURNING id, deployment_id, kind, revision_id, attempts",
    )
    .bind(worker)
    .bind(lease.as_secs_f64())
    .fetch_optional(pool)
    .await;
    match claimed {
        // Another worker won the race for this deployment: try again later.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        other => other,
    }
}

/// Ends a job (`done` or `failed`).
pub async fn finish_job(
    pool: &PgPool,
    job_id: Uuid,
    status: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deploy_jobs SET status = $2, error = $3, finished_at = now(), lease_until = NULL WHERE id = $1",
    )
    .bind(job_id)
    .bind(status)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Puts a job back in the queue after a transient failure.
pub async fn retry_job(
    pool: &PgPool,
    job_id: Uuid,
    delay: Duration,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deploy_jobs SET status = 'queued', error = $3, lease_until = NULL,
                run_after = now() + make_interval(secs => $2)
         WHERE id = $1 AND status = 'running'",
    )
    .bind(job_id)
    .bind(delay.as_secs_f64())
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether a newer request has superseded this job's while it ran.
pub async fn newer_job_queued(pool: &PgPool, job: &JobRow) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM deploy_jobs WHERE deployment_id = $1 AND status = 'queued' AND id > $2)",
    )
    .bind(job.deployment_id)
    .bind(job.id)
    .fetch_one(pool)
    .await
}

/// The outcome a job writes onto its deployment.
#[derive(Debug, Default)]
pub struct DeploymentUpdate<'a> {
    pub status: &'a str,
    pub revision_id: Option<Uuid>,
    pub rest_api_id: Option<&'a str>,
    pub aws_deployment_id: Option<&'a str>,
    pub invocation_url: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Forget the AWS identifiers (after an undeploy).
    pub clear_aws: bool,
}

pub async fn update(
    pool: &PgPool,
    deployment_id: Uuid,
    change: &DeploymentUpdate<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deployments SET status = $2,
            revision_id = CASE WHEN $8 THEN NULL ELSE COALESCE($3, revision_id) END,
            rest_api_id = CASE WHEN $8 THEN NULL ELSE COALESCE($4, rest_api_id) END,
            aws_deployment_id = CASE WHEN $8 THEN NULL ELSE COALESCE($5, aws_deployment_id) END,
            invocation_url = CASE WHEN $8 THEN NULL ELSE COALESCE($6, invocation_url) END,
            error = $7,
            deployed_at = CASE WHEN $2 = 'deployed' THEN now() ELSE deployed_at END,
            updated_at = now()
         WHERE id = $1",
    )
    .bind(deployment_id)
    .bind(change.status)
    .bind(change.revision_id)
    .bind(change.rest_api_id)
    .bind(change.aws_deployment_id)
    .bind(change.invocation_url)
    .bind(change.error)
    .bind(change.clear_aws)
    .execute(pool)
    .await?;
    Ok(())
}

/// Counts by job status, for the metrics.
pub async fn job_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM deploy_jobs WHERE status IN ('queued', 'running') GROUP BY status")
        .fetch_all(pool)
        .await
}

/// The design JSON and number of a revision.
pub async fn revision_design(
    pool: &PgPool,
    revision_id: Uuid,
) -> Result<Option<(serde_json::Value, i32)>, sqlx::Error> {
    sqlx::query_as("SELECT design, number FROM api_revisions WHERE id = $1")
        .bind(revision_id)
        .fetch_optional(pool)
        .await
}
