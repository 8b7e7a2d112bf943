//! Persistence: the Postgres pool, migrations, and one module per aggregate.

pub mod apis;
pub mod applications;
pub mod audit;
pub mod clients;
pub mod deployments;
pub mod embedded;
pub mod environments;
pub mod key_managers;
pub mod lifecycle;
pub mod revisions;
pub mod rotation;
pub mod sealed_keys;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connects, then applies pending migrations.
pub async fn connect_and_migrate(
    url: &SecretString,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url.expose_secret())
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("database migration failed: {e}"))?;
    Ok(pool)
}

/// True when the database answers and every migration this binary knows is applied.
pub async fn is_ready(pool: &PgPool) -> bool {
    let Some(latest) = MIGRATOR.iter().map(|m| m.version).max() else {
        return true;
    };
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = $1 AND success)",
    )
    .bind(latest)
    .fetch_one(pool)
    .await
    .unwrap_or(false)
}

/// How a guard locks the row it checks, until its transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLock {
    /// Others may read and share-lock it, but not change or delete it: for a change that
    /// depends on the row staying as it is (a deploy request on its API and environment).
    Share,
    /// Nobody else may lock it: for changing or deleting the row itself.
    Update,
}

impl RowLock {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            RowLock::Share => "FOR SHARE",
            RowLock::Update => "FOR UPDATE",
        }
    }
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the name is already taken")]
    DuplicateName,
    #[error("the row changed since it was read")]
    VersionMismatch,
    #[error(transparent)]
    Database(sqlx::Error),
}

impl WriteError {
    pub fn from_sqlx(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => WriteError::DuplicateName,
            _ => WriteError::Database(error),
        }
    }
}
