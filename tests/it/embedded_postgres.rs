//! The embedded default: start, reuse a cluster left running, survive a stale
//! postmaster.pid; one server per data dir; a failed start leaves nothing running.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fedgate::Application;
use fedgate::config::Config;
use fedgate::store::embedded::EmbeddedPostgres;
use secrecy::ExposeSecret;
use sqlx::Connection;

use crate::common::test_config;

async fn select_one(cluster: &EmbeddedPostgres) -> i32 {
    let mut conn = sqlx::PgConnection::connect(cluster.database_url().expose_secret())
        .await
        .expect("connect to the embedded cluster");
    sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// The test configuration with no `DATABASE_URL`: the embedded cluster under `data_dir`.
fn embedded_config(data_dir: &Path) -> Config {
    let mut config = test_config("postgres://unused", data_dir, &[]);
    config.database_url = None;
    config
}

/// Where the cluster of `data_dir` lives: `data_dir/postgres`, or (as root, when the
/// postgres user cannot reach the data dir) where `postgres.location` points.
fn cluster_dir_of(data_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(data_dir.join("postgres.location")) {
        Ok(location) => PathBuf::from(location.trim()),
        Err(_) => data_dir.join("postgres"),
    }
}

/// A tempdir is 0700: as root the cluster had to live outside it. Clean it up.
fn remove_cluster_outside(cluster_dir: &Path) {
    if cluster_dir.starts_with("/var/lib/fedgate") {
        std::fs::remove_dir_all(cluster_dir).unwrap();
    }
}

#[tokio::test]
async fn starts_reuses_and_recovers_from_a_stale_pid_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("first start initialises");
    assert_eq!(select_one(&first).await, 1);
    assert_ne!(first.port(), 5432, "never the system Postgres port");
    assert!(first.launched());

    // A second start while the first holds the data dir is refused.
    let refused = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect_err("the data dir is locked");
    assert!(
        format!("{refused:#}").contains("in use by another fedgate"),
        "{refused:#}"
    );

    // A fedgate that dies leaves its cluster running and the data dir unlocked (here: the
    // value is dropped without stopping it). The next start adopts the running cluster,
    // and on shutdown leaves it as it found it.
    let port = first.port();
    let cluster_dir = first.cluster_dir().to_owned();
    drop(first);
    let second = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("a start after the first is gone reuses its cluster");
    assert_eq!(second.port(), port);
    assert_eq!(second.cluster_dir(), cluster_dir);
    assert!(!second.launched());
    second.shutdown().await.unwrap();
    let third = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("still running after a shutdown that did not launch it");
    assert_eq!(third.port(), port);
    assert_eq!(select_one(&third).await, 1);

    // A crash leaves postmaster.pid behind with no server: start must still work.
    third.stop().await.unwrap();
    drop(third);
    let pid_file = cluster_dir.join("pgdata/postmaster.pid");
    std::fs::write(&pid_file, "999999\n/nonexistent\n0\n1\n").unwrap();
    let fourth = EmbeddedPostgres::start(data_dir.path())
        .await
        .expect("start after a crash");
    assert_eq!(select_one(&fourth).await, 1);
    assert!(fourth.launched());
    fourth.shutdown().await.unwrap();
    assert!(!pid_file.exists(), "a cluster it launched is stopped");
    remove_cluster_outside(&cluster_dir);
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused_and_the_first_keeps_its_database() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = Application::build(embedded_config(data_dir.path()))
        .await
        .expect("the first server starts");
    let addr = first.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(first.run_until(async {
        let _ = stopped.await;
    }));

    let second = Application::build(embedded_config(data_dir.path())).await;
    let error = format!("{:#}", second.err().expect("the second start is refused"));
    let canonical = data_dir.path().canonicalize().unwrap();
    assert!(
        error.contains(&format!("data dir {} is in use", canonical.display()))
            && error.contains(&format!("pid {}", std::process::id())),
        "{error}"
    );

    // The first server still answers from its database.
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);

    // And it stops the cluster it launched when it stops.
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    let cluster_dir = cluster_dir_of(&canonical);
    assert!(!cluster_dir.join("pgdata/postmaster.pid").exists());
    remove_cluster_outside(&cluster_dir);
}

#[tokio::test]
async fn a_taken_listen_address_fails_the_start_before_anything_is_created() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("data");
    let mut config = embedded_config(&data_dir);
    config.listen_addr = addr;
    let error = Application::build(config)
        .await
        .err()
        .expect("the start fails");
    assert!(
        format!("{error:#}").contains(&format!("cannot listen on {addr}")),
        "{error:#}"
    );
    assert!(
        !data_dir.exists(),
        "no data dir, no cluster, no master key, no admin client"
    );
}

#[tokio::test]
async fn a_start_failing_after_the_cluster_launched_stops_it() {
    let data_dir = tempfile::tempdir().unwrap();
    // A master key file that cannot be read fails the start once the database is up.
    std::fs::write(data_dir.path().join("master.key"), "not a key\n").unwrap();
    let mut config = embedded_config(data_dir.path());
    config.master_key = None;
    let error = Application::build(config)
        .await
        .err()
        .expect("the start fails");
    assert!(format!("{error:#}").contains("master.key"), "{error:#}");
    let cluster_dir = cluster_dir_of(&data_dir.path().canonicalize().unwrap());
    assert!(
        cluster_dir.join("pgdata/PG_VERSION").exists(),
        "the cluster was initialised before the failure"
    );
    // pg_ctl stop -w has returned before the start failed: no server is left.
    assert!(!cluster_dir.join("pgdata/postmaster.pid").exists());
    // And the data dir is free again: the next start (with a usable key) succeeds.
    std::fs::remove_file(data_dir.path().join("master.key")).unwrap();
    let mut config = embedded_config(data_dir.path());
    config.master_key = None;
    let app = tokio::time::timeout(Duration::from_secs(60), Application::build(config))
        .await
        .unwrap()
        .expect("the next start succeeds");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(!cluster_dir.join("pgdata/postmaster.pid").exists());
    remove_cluster_outside(&cluster_dir);
}
