//! Periodic work that runs once per interval across every replica.

use std::time::Duration;

use sqlx::PgExecutor;

/// Claims the run of `name` due now: true for the one caller (of any replica) that moved
/// its last run to now, false while the last run is more recent than `interval`.
pub async fn claim(
    db: impl PgExecutor<'_>,
    name: &str,
    interval: Duration,
) -> Result<bool, sqlx::Error> {
    let claimed: Option<String> = sqlx::query_scalar(
        "INSERT INTO periodic_runs (name, last_run_at) VALUES ($1, now())
         ON CONFLICT (name) DO UPDATE SET last_run_at = now()
         WHERE periodic_runs.last_run_at <= now() - make_interval(secs => $2)
         RETURNING name",
    )
    .bind(name)
    .bind(interval.as_secs_f64())
    .fetch_optional(db)
    .await?;
    Ok(claimed.is_some())
}
