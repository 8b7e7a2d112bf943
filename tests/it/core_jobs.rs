//! A job runs once: its lease is renewed while a slow gateway call runs, so no second
//! worker takes it over; a replica that stops releases its job for another at once.

use std::time::Duration;

use serde_json::json;

use crate::common::fake::{fake_fixture, pets};

#[tokio::test]
async fn a_gateway_call_outliving_the_lease_runs_once() {
    // Two workers, a one-second lease, and a CreateRestApi that answers after four: without
    // renewals the second worker takes the job over and creates a second REST API.
    let f = fake_fixture(&[
        ("deploy_lease_secs", json!(1)),
        ("deploy_workers", json!(2)),
    ])
    .await;
    f.gateway.slow_create(Duration::from_secs(4));
    let api = f.create_api(&pets("Slow")).await;
    let deployment = f.deploy(&api).await;
    assert_eq!(
        f.gateway.count("CreateRestApi"),
        1,
        "{:?}",
        f.gateway.calls()
    );
    assert_eq!(f.gateway.apis().len(), 1);
    let kinds = f.app.history_kinds(&api, &deployment, &f.publisher).await;
    assert_eq!(kinds, ["deploy-requested", "deploy-done"]);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM deploy_jobs")
        .fetch_one(&f.app.state.db)
        .await
        .unwrap();
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn a_stopping_replica_releases_its_job_to_another() {
    let f = fake_fixture(&[("deploy_workers", json!(0))]).await;
    let api = f.create_api(&pets("Handover")).await;
    let queued = f.queue_deploy(&api).await;
    // A replica with one worker, a one-second grace, and a gateway slower than that.
    f.gateway.slow_create(Duration::from_secs(30));
    let mut config = crate::common::test_config(
        &f.app.database_url,
        tempfile::tempdir().unwrap().path(),
        &crate::common::fake::quick(&[
            ("deploy_workers", json!(1)),
            ("shutdown_grace_secs", json!(1)),
        ]),
    );
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    let gateways = fedgate::aws::fake::FakeGateways {
        gateway: f.gateway.clone(),
    };
    let replica = fedgate::Application::build_with(config, Some(std::sync::Arc::new(gateways)))
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(replica.run_until(async {
        let _ = stopped.await;
    }));
    // Wait until the replica runs the job, then stop it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM deploy_jobs")
            .fetch_one(&f.app.state.db)
            .await
            .unwrap();
        if status == "running" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica never took the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("the replica stops within its grace")
        .unwrap()
        .unwrap();
    // Back in the queue at once, for anyone: not running under a lease nobody renews.
    let (status, worker, attempts): (String, Option<String>, i32) =
        sqlx::query_as("SELECT status, worker, attempts FROM deploy_jobs")
            .fetch_one(&f.app.state.db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), worker, attempts), ("queued", None, 0));
    let deployment = f
        .app
        .get_ok(
            &format!(
                "/publisher/v1/apis/{api}/deployments/{}",
                queued["id"].as_str().unwrap()
            ),
            &f.publisher,
        )
        .await;
    assert_ne!(deployment["status"], "failed", "{deployment:#}");
}
