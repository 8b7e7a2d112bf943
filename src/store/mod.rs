//! Persistence: the Postgres pool, migrations, and one module per aggregate.

pub mod apis;
pub mod applications;
pub mod audit;
pub mod clients;
pub mod console_sessions;
pub mod deployments;
pub mod embedded;
pub mod environments;
pub mod key_managers;
pub mod lifecycle;
pub mod managed_authorizers;
pub mod periodic;
pub mod revisions;
pub mod rotation;
pub mod sealed_keys;

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connects, then applies pending migrations. `acquire_timeout` bounds how long a query
/// waits for a connection, and so how long a request takes to fail while the database is
/// unreachable (the pool retries a refused connection until then).
///
/// One connection is tried first, once: a database that cannot be reached fails the
/// start at once, saying where and why (never the URL, which holds the password).
pub async fn connect_and_migrate(
    url: &SecretString,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url.expose_secret())
        .map_err(|e| anyhow::anyhow!("the database URL is not usable: {e}"))?;
    let place = address(&options);
    let cannot = |why: String| anyhow::anyhow!("cannot connect to the database at {place}: {why}");
    let probe = tokio::time::timeout(acquire_timeout, PgConnection::connect_with(&options))
        .await
        .map_err(|_| cannot(format!("no answer within {acquire_timeout:?}")))?
        .map_err(|e| cannot(connect_error_in_words(&e)))?;
    let _ = probe.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options);
    MIGRATOR.run(&pool).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(e) if is_unreachable(&e) => {
            cannot(connect_error_in_words(&e))
        }
        e => anyhow::anyhow!("database migration failed: {e}"),
    })?;
    Ok(pool)
}

/// Where the database is: `host:port`, or the Unix socket.
fn address(options: &PgConnectOptions) -> String {
    let (host, port) = (options.get_host(), options.get_port());
    match options.get_socket() {
        Some(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
        None if host.starts_with('/') => format!("{host}/.s.PGSQL.{port}"),
        // An IPv6 host keeps the brackets it has in the URL.
        None if host.contains(':') && !host.starts_with('[') => format!("[{host}]:{port}"),
        None => format!("{host}:{port}"),
    }
}

/// Why a connection failed, in words: "connection refused", what the server said
/// ("password authentication failed for user …"), or the error itself.
fn connect_error_in_words(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        sqlx::Error::Io(e) => e.to_string(),
        sqlx::Error::Database(e) => e.message().to_owned(),
        sqlx::Error::PoolTimedOut => "no connection within the acquire timeout".into(),
        other => other.to_string(),
    }
}

/// Whether `error` says the database cannot be reached right now (stopped, restarting,
/// the network gone, no connection within the acquire timeout) rather than that a
/// statement failed: the caller should try again shortly.
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        // 08: connection exception; 57P01-03: the server is shutting down, crashed, or
        // not yet accepting connections.
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// True when the database answers within `within` and every migration this binary
/// knows is applied.
pub async fn is_ready(pool: &PgPool, within: Duration) -> bool {
    tokio::time::timeout(within, migrated(pool))
        .await
        .unwrap_or(false)
}

async fn migrated(pool: &PgPool) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn address_of(url: &str) -> String {
        address(&PgConnectOptions::from_str(url).unwrap())
    }

    #[test]
    fn the_address_names_host_and_port_never_the_password() {
        assert_eq!(
            address_of("postgres://u:secret@db.internal/x"),
            "db.internal:5432"
        );
        assert_eq!(
            address_of("postgres://u:secret@10.0.0.7:6432/x"),
            "10.0.0.7:6432"
        );
        assert_eq!(address_of("postgres://u:secret@[::1]:5433/x"), "[::1]:5433");
        assert_eq!(
            address_of("postgres://u@localhost/x?host=/var/run/postgresql"),
            "/var/run/postgresql/.s.PGSQL.5432"
        );
    }
}
