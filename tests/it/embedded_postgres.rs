//! The embedded default: start, reuse a running cluster, survive a stale postmaster.pid.

use fedgate::store::embedded::EmbeddedPostgres;
use secrecy::ExposeSecret;
use sqlx::Connection;

async fn select_one(cluster: &EmbeddedPostgres) -> i32 {
    let mut conn = sqlx::PgConnection::connect(cluster.database_url().expose_secret())
        .await
        .expect("connect to the embedded cluster");
    sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn starts_reuses_and_recovers_from_a_stale_pid_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("first start initialises");
    assert_eq!(select_one(&first).await, 1);
    assert_ne!(first.port(), 5432, "never the system Postgres port");

    // A second start while it runs adopts the running cluster.
    let second = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("second start reuses");
    assert_eq!(second.port(), first.port());
    assert_eq!(second.cluster_dir(), first.cluster_dir());

    // A crash leaves postmaster.pid behind with no server: start must still work.
    first.stop().await.unwrap();
    let pid_file = first.cluster_dir().join("pgdata/postmaster.pid");
    std::fs::write(&pid_file, "999999\n/nonexistent\n0\n1\n").unwrap();
    let third = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("start after a crash");
    assert_eq!(select_one(&third).await, 1);
    third.stop().await.unwrap();

    // A tempdir is 0700: as root the cluster had to live outside it. Clean it up.
    if first.cluster_dir().starts_with("/var/lib/fedgate") {
        std::fs::remove_dir_all(first.cluster_dir()).unwrap();
    }
}
