//! The service layer and the deploy workers against the in-memory gateway: what a deploy
//! asks of a gateway, honest failures (502 for a failed job, retries told, outcomes
//! audited), refusing an API without resources before any gateway call, and a forced
//! delete that answers at once and finishes in the worker.

use std::time::Duration;

use fedgate::aws::connector::ConnectorError;
use fedgate::domain::ids::ApiId;
use fedgate::service::apis::{self, Deletion};
use fedgate::service::{Precondition, deployments};
use serde_json::json;

use crate::common::fake::{fake_fixture, pets};
use crate::common::{self, expect_problem};

#[tokio::test]
async fn a_deploy_creates_puts_and_deploys_once_each() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Pets")).await;
    let deployment = f.deploy(&api).await;
    assert_eq!(
        f.gateway.calls(),
        [
            "GetRestApis",
            "CreateRestApi",
            "PutRestApi",
            "CreateDeployment"
        ]
    );
    let rest_api_id = deployment["restApiId"].as_str().unwrap();
    let held = &f.gateway.apis()[rest_api_id];
    assert_eq!(held.ownership.api_id, api);
    assert!(held.document["paths"]["/pets/{petId}"]["get"].is_object());
    // A redeploy of the same REST API is a put and a deployment, nothing more.
    f.deploy(&api).await;
    assert_eq!(f.gateway.count("CreateRestApi"), 1);
    assert_eq!(f.gateway.count("PutRestApi"), 2);
}

#[tokio::test]
async fn the_service_is_called_the_same_without_http() {
    let f = fake_fixture(&[]).await;
    let api: ApiId = f.create_api(&pets("Direct")).await.parse().unwrap();
    let requested = deployments::deploy(
        &f.app.state,
        api,
        "fake",
        None,
        false,
        Duration::from_secs(20),
        &common::actor("a-console-user"),
    )
    .await
    .unwrap();
    assert_eq!(requested.deployment.status.as_str(), "deployed");
    assert_eq!(requested.deployment.created_by, "a-console-user");
    assert_eq!(f.gateway.count("CreateDeployment"), 1);
}

#[tokio::test]
async fn an_api_without_resources_is_refused_before_any_gateway_call() {
    let f = fake_fixture(&[]).await;
    let mut body = pets("Empty");
    body["resources"] = json!([]);
    let api = f.create_api(&body).await;
    let refused = expect_problem(
        f.request_deploy(&api, "?wait=5", json!({"environment": "fake"}))
            .await,
        409,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("without resources"),
        "{refused}"
    );
    let preview = f
        .app
        .get(
            &format!("/publisher/v1/apis/{api}/deployments/preview?environment=fake"),
            &f.publisher,
        )
        .await;
    expect_problem(preview, 409).await;
    assert!(f.gateway.calls().is_empty(), "{:?}", f.gateway.calls());
    let deployments = f.deployments(&api).await;
    assert!(deployments.is_empty());
}

#[tokio::test]
async fn a_deploy_that_fails_within_wait_answers_502_with_the_deployment() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Doomed")).await;
    f.gateway.fail_next([ConnectorError::Rejected(
        "PutRestApi failed: BadRequestException: Invalid OpenAPI input".into(),
    )]);
    let failed = expect_problem(
        f.request_deploy(&api, "?wait=20", json!({"environment": "fake"}))
            .await,
        502,
    )
    .await;
    assert_eq!(failed["type"], "urn:fedgate:problem:deployment-failed");
    assert_eq!(failed["deployment"]["status"], "failed");
    assert!(
        failed["deployment"]["error"]
            .as_str()
            .unwrap()
            .contains("BadRequestException: Invalid OpenAPI input"),
        "{failed}"
    );
    // Without `wait` the request is only queued: 202, whatever happens next.
    f.gateway
        .fail_next([ConnectorError::Rejected("PutRestApi failed".into())]);
    let queued = f
        .request_deploy(&api, "", json!({"environment": "fake"}))
        .await;
    assert_eq!(queued.status(), 202);
}

#[tokio::test]
async fn an_undeploy_that_fails_within_wait_answers_502() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Stuck")).await;
    let deployment = f.deploy(&api).await;
    f.gateway.fail_next([ConnectorError::Rejected(
        "DeleteRestApi failed: AccessDeniedException: not allowed".into(),
    )]);
    let id = deployment["id"].as_str().unwrap();
    let response = f
        .app
        .delete(
            &format!("/publisher/v1/apis/{api}/deployments/{id}?wait=20"),
            &f.publisher,
        )
        .await;
    let failed = expect_problem(response, 502).await;
    assert_eq!(failed["deployment"]["status"], "failed");
}

#[tokio::test]
async fn a_transient_failure_shows_the_attempt_and_the_next_try() {
    let f = fake_fixture(&[("deploy_max_attempts", json!(3))]).await;
    let api = f.create_api(&pets("Flaky")).await;
    f.gateway.fail_next([ConnectorError::Transient(
        "CreateDeployment failed: TooManyRequestsException: slow down".into(),
    )]);
    let queued = f.queue_deploy(&api).await;
    let path = format!(
        "/publisher/v1/apis/{api}/deployments/{}",
        queued["id"].as_str().unwrap()
    );
    let retrying = f.eventually(&path, 10, |d| d["retry"].is_object()).await;
    assert_eq!(retrying["retry"]["attempt"], 1);
    assert_eq!(retrying["retry"]["maxAttempts"], 3);
    assert!(retrying["retry"]["nextAttemptAt"].is_string());
    let error = retrying["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "attempt 1 of 3 failed: CreateDeployment failed: TooManyRequestsException"
        ),
        "{error}"
    );
    assert!(error.contains("next try at"), "{error}");
    let deployed = f.eventually(&path, 15, |d| d["status"] == "deployed").await;
    assert!(
        deployed.get("retry").is_none() && deployed["error"].is_null(),
        "{deployed:#}"
    );
}

#[tokio::test]
async fn job_outcomes_are_audited_in_the_requesters_name() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Audited")).await;
    let deployment = f.deploy(&api).await;
    f.gateway.fail_next([ConnectorError::Rejected(
        "PutRestApi failed: BadRequestException: no".into(),
    )]);
    expect_problem(
        f.request_deploy(&api, "?wait=20", json!({"environment": "fake"}))
            .await,
        502,
    )
    .await;
    let admin = f.app.admin_token().await;
    let id = deployment["id"].as_str().unwrap();
    let log = f
        .app
        .get_ok(
            &format!("/admin/v1/audit?targetType=deployments&targetId={id}"),
            &admin,
        )
        .await;
    let entries = log["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log:#}");
    // Newest first: the failure, then the success.
    assert_eq!(entries[0]["outcome"], "failure");
    assert_eq!(entries[0]["actor"], "admin");
    assert!(entries[0]["status"].is_null());
    assert!(entries[0]["action"].as_str().unwrap().ends_with("failed"));
    assert!(
        entries[0]["detail"]
            .as_str()
            .unwrap()
            .contains("BadRequestException")
    );
    assert_eq!(entries[1]["outcome"], "success");
    assert_eq!(entries[1]["action"], "deploy Audited to fake: deployed");
}

#[tokio::test]
async fn a_forced_delete_answers_at_once_and_deletes_after_the_undeploy() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Doomed")).await;
    f.deploy(&api).await;
    f.force_delete(&api).await;
    // Gone once the worker has undeployed it.
    f.app
        .wait_until_gone(&format!("/publisher/v1/apis/{api}"), &f.publisher, 15)
        .await;
    assert!(f.gateway.apis().is_empty());
    assert_eq!(f.gateway.count("DeleteRestApi"), 1);
}

#[tokio::test]
async fn an_api_being_deleted_refuses_edits_and_deploys() {
    let f = fake_fixture(&[]).await;
    let api_id: ApiId = f.create_api(&pets("Held")).await.parse().unwrap();
    let api = api_id.to_string();
    f.deploy(&api).await;
    f.gateway.slow_undeploy(Duration::from_secs(4));
    let any = Precondition::any();
    let deletion = apis::delete(&f.app.state, api_id, true, &any, &common::actor("ops"))
        .await
        .unwrap();
    let Deletion::Started(row) = deletion else {
        panic!("a deployed API is undeployed first")
    };
    assert!(row.deleting);
    let edit = f
        .app
        .put_json(
            &format!("/publisher/v1/apis/{api}"),
            &f.publisher,
            &pets("Held"),
            None,
        )
        .await;
    expect_problem(edit, 409).await;
    expect_problem(
        f.request_deploy(&api, "", json!({"environment": "fake"}))
            .await,
        409,
    )
    .await;
    expect_problem(f.lifecycle(&api, "publish").await, 409).await;
    let revision = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/revisions"),
            &f.publisher,
            &json!({}),
        )
        .await;
    expect_problem(revision, 409).await;
}

#[tokio::test]
async fn a_failed_undeploy_stops_the_forced_delete_and_says_why() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Kept")).await;
    f.deploy(&api).await;
    f.gateway.fail_next([ConnectorError::Rejected(
        "DeleteRestApi failed: AccessDeniedException: no".into(),
    )]);
    f.force_delete(&api).await;
    let stopped = f
        .eventually(&format!("/publisher/v1/apis/{api}"), 15, |a| {
            a["deleting"] == false
        })
        .await;
    let reason = stopped["deletionError"].as_str().unwrap();
    assert!(reason.contains("AccessDeniedException"), "{reason}");
    let deployments = f.deployments(&api).await;
    assert_eq!(deployments[0]["status"], "failed");
    // The API can be edited again.
    let edit = f
        .app
        .put_json(
            &format!("/publisher/v1/apis/{api}"),
            &f.publisher,
            &pets("Kept"),
            None,
        )
        .await;
    assert_eq!(edit.status(), 200);
}

/// Issue 11: publishing an API that is deployed nowhere succeeded silently. It still
/// succeeds (a catalog entry may come before the deploy) but says so, in the answer and in
/// the audit entry; an API deployed somewhere publishes without a warning.
#[tokio::test]
async fn publishing_an_api_deployed_nowhere_warns() {
    let f = fake_fixture(&[]).await;
    let publish = async |api: &str| -> serde_json::Value {
        let response = f
            .app
            .post_json(
                &format!("/publisher/v1/apis/{api}/lifecycle"),
                &f.publisher,
                &json!({"action": "publish"}),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    };
    let nowhere = f.create_api(&pets("Nowhere")).await;
    let published = publish(&nowhere).await;
    assert_eq!(published["state"], "PUBLISHED");
    let warning = published["warnings"][0].as_str().unwrap();
    assert!(warning.contains("deployed nowhere"), "{warning}");
    assert!(warning.contains("without an invocation URL"), "{warning}");
    let admin = f.app.admin_token().await;
    let log = f
        .app
        .get_ok(
            &format!("/admin/v1/audit?targetType=apis&targetId={nowhere}"),
            &admin,
        )
        .await;
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "apis.lifecycle");
    let detail = entry["detail"].as_str().unwrap();
    assert!(
        detail.contains("CREATED → PUBLISHED; warning: the API is deployed nowhere"),
        "{detail}"
    );

    let somewhere = f.create_api(&pets("Somewhere")).await;
    f.deploy(&somewhere).await;
    let published = publish(&somewhere).await;
    assert_eq!(published["state"], "PUBLISHED");
    assert!(published.get("warnings").is_none(), "{published}");
}
