//! Workers that claim deploy jobs from Postgres and run them. Any number of workers in
//! any number of replicas share one queue; a job whose worker died is claimed again when
//! its lease expires.

use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tracing::Instrument;

use super::executor::{self, JobError};
use crate::http::AppState;
use crate::store::deployments::{self as store, DeploymentUpdate, JobRow};

/// Starts `count` workers; they stop when `shutdown` turns true.
pub fn spawn(
    state: AppState,
    count: usize,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|n| {
            let state = state.clone();
            let shutdown = shutdown.clone();
            let name = format!("{}-{n}", uuid::Uuid::new_v4().simple());
            tokio::spawn(async move { work(state, name, shutdown).await })
        })
        .collect()
}

async fn work(state: AppState, name: String, mut shutdown: watch::Receiver<bool>) {
    let lease = Duration::from_secs(state.config.deploy_lease_secs);
    let poll = Duration::from_millis(state.config.deploy_poll_interval_ms);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match store::claim(&state.db, &name, lease).await {
            Ok(Some(job)) => handle(&state, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = state.jobs_waker.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(error) => {
                tracing::warn!(?error, "could not claim a deploy job");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

async fn handle(state: &AppState, job: JobRow) {
    let span = tracing::info_span!("deploy_job", job = %job.id, kind = %job.kind, deployment = %job.deployment_id);
    run_and_settle(state, job).instrument(span).await
}

async fn run_and_settle(state: &AppState, job: JobRow) {
    let result = executor::run(state, &job).await;
    let outcome = match &result {
        Ok(()) => "done",
        Err(JobError::Transient(_)) => "retried",
        Err(JobError::Failed(_)) => "failed",
    };
    metrics::counter!("fedgate_deploy_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome).increment(1);
    if let Err(error) = settle(state, &job, result).await {
        tracing::error!(?error, job = %job.id, "could not record a job's outcome; its lease will expire and it runs again");
    }
}

/// Records the outcome on the job and the deployment.
async fn settle(
    state: &AppState,
    job: &JobRow,
    result: Result<(), JobError>,
) -> Result<(), sqlx::Error> {
    let mut conn = state.db.acquire().await?;
    match result {
        Ok(()) => {
            store::finish_job(&state.db, job.id, "done", None).await?;
            store::record_event(
                &mut conn,
                job.deployment_id,
                &format!("{}-done", job.kind),
                job.revision_id,
                None,
                None,
            )
            .await?;
        }
        Err(JobError::Transient(message))
            if job.attempts < state.config.deploy_max_attempts as i32 =>
        {
            let delay = backoff(job.attempts);
            tracing::warn!(job = %job.id, attempt = job.attempts, ?delay, %message, "transient failure; retrying");
            store::retry_job(&state.db, job.id, delay, &message).await?;
            store::record_event(
                &mut conn,
                job.deployment_id,
                "retrying",
                job.revision_id,
                Some(&message),
                None,
            )
            .await?;
        }
        Err(JobError::Transient(message) | JobError::Failed(message)) => {
            tracing::warn!(job = %job.id, %message, "deploy job failed");
            store::finish_job(&state.db, job.id, "failed", Some(&message)).await?;
            // A newer request already queued will set the status itself.
            if !store::newer_job_queued(&state.db, job).await? && job.kind != "throttle" {
                let change = DeploymentUpdate {
                    status: "failed",
                    error: Some(&message),
                    ..Default::default()
                };
                store::update(&state.db, job.deployment_id, &change).await?;
            }
            store::record_event(
                &mut conn,
                job.deployment_id,
                &format!("{}-failed", job.kind),
                job.revision_id,
                Some(&message),
                None,
            )
            .await?;
        }
    }
    Ok(())
}

/// Exponential backoff with full jitter: 1 s, 2 s, 4 s … capped at 60 s.
fn backoff(attempt: i32) -> Duration {
    let cap = 2f64.powi(attempt.clamp(0, 6)).min(60.0);
    Duration::from_secs_f64(rand::thread_rng().gen_range(cap / 2.0..=cap))
}
