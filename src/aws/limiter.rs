//! Client-side AWS control-plane rate limits, shared by every replica through Postgres.
//!
//! Each (scope, operation) has a "next free slot"; a caller reserves the slot atomically
//! (one UPSERT) and sleeps until it. The scope is the AWS account (or the environment
//! before its account is known) plus the region, as AWS counts quotas there.

use std::time::Duration;

use sqlx::PgPool;

/// Why a call may not go ahead now.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("rate limiter: {0}")]
    Database(#[from] sqlx::Error),
    /// The next free slot is further away than a job may wait in the limiter.
    #[error("the AWS quota of {operation} is used up for the next {} s; the job waits in the queue", wait.as_secs())]
    Busy {
        operation: &'static str,
        wait: Duration,
    },
}

/// The operations with quotas of their own; every call also counts against `Overall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateRestApi,
    PutRestApi,
    CreateDeployment,
    DeleteRestApi,
    Overall,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::CreateRestApi => "CreateRestApi",
            Operation::PutRestApi => "PutRestApi",
            Operation::CreateDeployment => "CreateDeployment",
            Operation::DeleteRestApi => "DeleteRestApi",
            Operation::Overall => "*",
        }
    }
}

/// Minimum spacing between calls, per operation. AWS's defaults: CreateRestApi 1 per
/// 3 s, PutRestApi 1/s, CreateDeployment 1 per 5 s, DeleteRestApi 1 per 30 s, 10 rps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub create_rest_api: Duration,
    pub put_rest_api: Duration,
    pub create_deployment: Duration,
    pub delete_rest_api: Duration,
    pub overall: Duration,
    /// The longest a call waits for its slot; beyond it the job goes back to the queue
    /// instead of holding a worker (its lease is renewed meanwhile, so this bounds latency
    /// and worker use, not correctness).
    pub max_wait: Duration,
}

impl Limits {
    fn interval(&self, op: Operation) -> Duration {
        match op {
            Operation::CreateRestApi => self.create_rest_api,
            Operation::PutRestApi => self.put_rest_api,
            Operation::CreateDeployment => self.create_deployment,
            Operation::DeleteRestApi => self.delete_rest_api,
            Operation::Overall => self.overall,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RateLimiter {
    pool: PgPool,
    limits: Limits,
}

impl RateLimiter {
    pub fn new(pool: PgPool, limits: Limits) -> Self {
        Self { pool, limits }
    }

    /// Waits until `op` may be called in `scope`; returns how long it waited.
    pub async fn acquire(&self, scope: &str, op: Operation) -> Result<Duration, LimitError> {
        let mut wait = self.reserve(scope, Operation::Overall).await?;
        if op != Operation::Overall {
            wait = wait.max(self.reserve(scope, op).await?);
        }
        if !wait.is_zero() {
            metrics::counter!("fedgate_aws_throttle_waits_total", "operation" => op.as_str())
                .increment(1);
            tokio::time::sleep(wait).await;
        }
        Ok(wait)
    }

    /// Reserves the next slot and returns the delay until it; a slot further away than
    /// `max_wait` is left free and the call refused.
    async fn reserve(&self, scope: &str, op: Operation) -> Result<Duration, LimitError> {
        let interval = self.limits.interval(op).as_secs_f64();
        if interval == 0.0 {
            return Ok(Duration::ZERO);
        }
        let delay: Option<f64> = sqlx::query_scalar(
            "INSERT INTO aws_rate_slots AS s (scope, operation, next_slot)
             VALUES ($1, $2, now() + make_interval(secs => $3))
             ON CONFLICT (scope, operation) DO UPDATE
                SET next_slot = GREATEST(s.next_slot, now()) + make_interval(secs => $3)
                WHERE s.next_slot <= now() + make_interval(secs => $4)
             RETURNING GREATEST(EXTRACT(EPOCH FROM (next_slot - make_interval(secs => $3) - now())), 0)::float8",
        )
        .bind(scope)
        .bind(op.as_str())
        .bind(interval)
        .bind(self.limits.max_wait.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        match delay {
            Some(delay) => Ok(Duration::from_secs_f64(delay)),
            None => {
                let wait: f64 = sqlx::query_scalar(
                    "SELECT GREATEST(EXTRACT(EPOCH FROM (next_slot - now())), 0)::float8
                     FROM aws_rate_slots WHERE scope = $1 AND operation = $2",
                )
                .bind(scope)
                .bind(op.as_str())
                .fetch_one(&self.pool)
                .await?;
                Err(LimitError::Busy {
                    operation: op.as_str(),
                    wait: Duration::from_secs_f64(wait),
                })
            }
        }
    }
}
