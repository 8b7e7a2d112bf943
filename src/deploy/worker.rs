//! Workers that claim deploy jobs from Postgres and run them. Any number of workers in
//! any number of replicas share one queue. A running job's lease is renewed while it runs
//! (a heartbeat), so a slow gateway call never lets a second worker take it over; a job
//! whose worker died is claimed again once its short lease has lapsed.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::service::AppState;
use crate::service::jobs::{self, JobError};
use crate::store::deployments::{self as store, JobRow};

/// How often a running job's lease is renewed: three times per lease, so that two missed
/// renewals still leave it held.
fn heartbeat_interval(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(100))
}

/// Starts `count` workers; they stop when `shutdown` turns true, each finishing its job
/// within the shutdown grace or putting it back in the queue for another replica.
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
            Ok(Some(job)) => {
                let span = tracing::info_span!("deploy_job", job = %job.id, kind = %job.kind, deployment = %job.deployment_id, attempt = job.attempts);
                handle(&state, job, lease, shutdown.clone())
                    .instrument(span)
                    .await
            }
            Ok(None) => {
                tokio::select! {
                    _ = state.jobs_waker.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not claim a deploy job");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// Runs the job while renewing its lease, then settles it. The job is dropped unsettled
/// when another worker took it over, and released at the end of the shutdown grace.
async fn handle(
    state: &AppState,
    job: JobRow,
    lease: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    let run = jobs::run(state, &job);
    tokio::pin!(run);
    let mut heartbeat = tokio::time::interval(heartbeat_interval(lease));
    heartbeat.tick().await;
    let mut release_at: Option<Instant> = None;
    let far_future = Instant::now() + Duration::from_secs(86_400 * 365);
    let result = loop {
        tokio::select! {
            result = &mut run => break Some(result),
            _ = heartbeat.tick() => match store::renew_lease(&state.db, &job, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lost the job's lease to another worker; stopping it");
                    break None;
                }
                Err(error) => tracing::warn!(%error, "could not renew the job's lease"),
            },
            _ = shutdown.changed(), if release_at.is_none() => {
                release_at = Some(Instant::now() + grace);
            }
            _ = tokio::time::sleep_until(release_at.unwrap_or(far_future)), if release_at.is_some() => {
                match store::release(&state.db, &job).await {
                    Ok(_) => tracing::warn!("shutting down: released the job for another worker"),
                    Err(error) => tracing::warn!(%error, "could not release the job; it is taken over when its lease lapses"),
                }
                break None;
            }
        }
    };
    let Some(result) = result else { return };
    let outcome = match &result {
        Ok(_) => "done",
        Err(JobError::Transient(_)) => "retried",
        Err(JobError::Postponed(..)) => "postponed",
        Err(JobError::Failed(_)) => "failed",
        Err(JobError::Fenced) => "taken over",
    };
    metrics::counter!("fedgate_deploy_jobs_total", "kind" => job.kind.as_str(), "outcome" => outcome).increment(1);
    if let Err(error) = jobs::settle(state, &job, result).await {
        tracing::error!(%error, "could not record the job's outcome; it runs again when its lease lapses");
    }
}
