//! What lifecycle changes and guards do to deployments (against moto). Block/unblock is
//! tested on LocalStack: moto ignores the `remove` of stage method settings that unblocks.

use serde_json::{Value, json};

use crate::common::{expect_problem, moto_url, test_config};
use crate::deployments::{fixture, moto_apigateway, petstore};

async fn lifecycle(f: &crate::deployments::Fixture, api: &str, action: &str) {
    let response = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/lifecycle"),
            &f.publisher,
            &json!({"action": action}),
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "{action}: {}",
        response.text().await.unwrap()
    );
}

async fn deployment_of(f: &crate::deployments::Fixture, api: &str, id: &str) -> Value {
    f.app
        .get(
            &format!("/publisher/v1/apis/{api}/deployments/{id}"),
            &f.publisher,
        )
        .await
        .json()
        .await
        .unwrap()
}

/// Polls until `check` holds (jobs run in the background).
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn retire_undeploys_everywhere() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Retired")).await;
    let deployment = f.deploy(&api, None).await;
    lifecycle(&f, &api, "publish").await;
    lifecycle(&f, &api, "deprecate").await;
    lifecycle(&f, &api, "retire").await;
    let id = deployment["id"].as_str().unwrap();
    eventually("the deployment is undeployed", async || {
        deployment_of(&f, &api, id).await["status"] == "undeployed"
    })
    .await;
    let gone = moto_apigateway()
        .await
        .get_rest_api()
        .rest_api_id(deployment["restApiId"].as_str().unwrap())
        .send()
        .await;
    assert!(gone.is_err());
    let again = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/deployments"),
            &f.publisher,
            &json!({"environment": f.environment}),
        )
        .await;
    expect_problem(again, 409).await;
}

#[tokio::test]
async fn deployed_apis_revisions_and_environments_cannot_be_deleted() {
    let f = fixture().await;
    let admin = f.app.admin_token().await;
    let api = f.create_api(&petstore("Guarded")).await;
    let deployment = f.deploy(&api, None).await;
    let revision = deployment["revisionId"].as_str().unwrap();
    let problem = expect_problem(
        f.app
            .delete(&format!("/publisher/v1/apis/{api}"), &f.publisher)
            .await,
        409,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains(&f.environment),
        "names the environment"
    );
    expect_problem(
        f.app
            .delete(
                &format!("/publisher/v1/apis/{api}/revisions/{revision}"),
                &f.publisher,
            )
            .await,
        409,
    )
    .await;
    expect_problem(
        f.app
            .delete(&format!("/admin/v1/environments/{}", f.environment), &admin)
            .await,
        409,
    )
    .await;
    let mut moved: Value = f
        .app
        .get(&format!("/admin/v1/environments/{}", f.environment), &admin)
        .await
        .json()
        .await
        .unwrap();
    moved["config"]["region"] = json!("eu-west-1");
    expect_problem(
        f.app
            .put_json(
                &format!("/admin/v1/environments/{}", f.environment),
                &admin,
                &moved,
                None,
            )
            .await,
        409,
    )
    .await;

    // force=true undeploys everywhere first: 202 at once, the API deleted after the undeploy.
    let response = f
        .app
        .delete(
            &format!("/publisher/v1/apis/{api}?force=true"),
            &f.publisher,
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    f.app
        .wait_until_gone(&format!("/publisher/v1/apis/{api}"), &f.publisher, 30)
        .await;
    let gone = moto_apigateway()
        .await
        .get_rest_api()
        .rest_api_id(deployment["restApiId"].as_str().unwrap())
        .send()
        .await;
    assert!(gone.is_err(), "the REST API was removed from AWS");
    assert_eq!(
        f.app
            .delete(&format!("/admin/v1/environments/{}", f.environment), &admin)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn admins_list_deployments_across_apis() {
    let f = fixture().await;
    let admin = f.app.admin_token().await;
    let first = f.create_api(&petstore("ListedOne")).await;
    let second = f.create_api(&petstore("ListedTwo")).await;
    f.deploy(&first, None).await;
    f.deploy(&second, None).await;
    let all: Value = f
        .app
        .get(
            &format!(
                "/admin/v1/deployments?environment={}&status=deployed",
                f.environment
            ),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let one: Value = f
        .app
        .get(&format!("/admin/v1/deployments?apiId={first}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["items"][0]["apiId"], first.as_str());
    expect_problem(
        f.app
            .get("/admin/v1/deployments?status=sleeping", &admin)
            .await,
        400,
    )
    .await;
    expect_problem(f.app.get("/admin/v1/deployments", &f.publisher).await, 403).await;
    let metrics = f.app.metrics().await;
    assert!(
        metrics.contains("fedgate_deploy_jobs{status=\"queued\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("fedgate_aws_calls_total{operation=\"PutRestApi\",outcome=\"ok\"}"));
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over() {
    // A replica without workers queues the job; it is then marked as claimed by a worker
    // that died (lease expired), as a crash mid-deploy leaves it.
    let mut no_workers = vec![("deploy_workers", json!(0))];
    no_workers.extend([
        ("aws_rate_overall_ms", json!(0)),
        ("aws_rate_create_deployment_ms", json!(0)),
    ]);
    let f = crate::deployments::fixture_with(&no_workers, &moto_url()).await;
    let api = f.create_api(&petstore("TakenOver")).await;
    let queued: Value = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/deployments"),
            &f.publisher,
            &json!({"environment": f.environment}),
        )
        .await
        .json()
        .await
        .unwrap();
    sqlx::query("UPDATE deploy_jobs SET status = 'running', worker = 'dead', attempts = 1, lease_until = now() - interval '1 second'")
        .execute(&f.app.state.db)
        .await
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(
        &f.app.database_url,
        data_dir.path(),
        &[("deploy_poll_interval_ms", json!(100))],
    );
    let replica = fedgate::Application::build(config).await.unwrap();
    tokio::spawn(replica.run_until(std::future::pending()));
    let id = queued["id"].as_str().unwrap();
    eventually("the other replica deploys it", async || {
        deployment_of(&f, &api, id).await["status"] == "deployed"
    })
    .await;
    let worker: String = sqlx::query_scalar("SELECT worker FROM deploy_jobs")
        .fetch_one(&f.app.state.db)
        .await
        .unwrap();
    assert_ne!(worker, "dead");
}
