//! AWS errors reach users in words: an endpoint that is not AWS, and one that does not
//! answer at all, as the live check and a deployment tell them. No emulator needed: the
//! "endpoint" is a tiny local server or a dead port on 127.0.0.1.

use axum::http::StatusCode;
use axum::response::Html;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::deployments::{fast_limits, fixture_with, petstore};

/// Serves `404 text/html <html>not here</html>` to every request; returns its URL.
async fn not_aws() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(|| async { (StatusCode::NOT_FOUND, Html("<html>not here</html>")) });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A port nothing listens on.
fn dead_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Asserts `text` is in words: no Rust `Debug` dump of an SDK error.
fn assert_words(text: &str) {
    for debug in [
        "{",
        "}",
        "Some(",
        "DispatchFailure",
        "ConnectorError",
        "no message",
    ] {
        assert!(!text.contains(debug), "{debug:?} in: {text}");
    }
}

async fn environment(app: &TestApp, endpoint: &str) -> String {
    let admin = app.admin_token().await;
    let name = format!("noaws-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let response = app
        .post_json(
            "/admin/v1/environments",
            &admin,
            &json!({"name": name, "provider": "aws", "config": {
                "region": "us-east-1", "stage": "prod", "endpointUrl": endpoint,
                "credentials": {"type": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                                "secretAccessKey": "testing-secret"}}}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn check(app: &TestApp, environment_id: &str) -> Value {
    let admin = app.admin_token().await;
    let response = app
        .post_json(
            &format!("/admin/v1/environments/{environment_id}/check"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The details of the failed check items; every item must have failed.
fn failed_details(report: &Value) -> Vec<String> {
    assert_eq!(report["ok"], false, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 4, "{report:#}");
    checks
        .iter()
        .map(|c| {
            assert_eq!(c["ok"], false, "{report:#}");
            c["detail"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_endpoint_that_is_not_aws_is_named_in_the_check() {
    let app = crate::common::spawn_app().await;
    let id = environment(&app, &not_aws().await).await;
    let report = check(&app, &id).await;
    for detail in failed_details(&report) {
        assert_words(&detail);
        assert!(detail.contains("HTTP 404"), "{detail}");
        assert!(detail.contains("endpointUrl"), "{detail}");
    }
}

#[tokio::test]
async fn a_dead_endpoint_could_not_be_reached() {
    let app = crate::common::spawn_app().await;
    let id = environment(&app, &dead_port()).await;
    let report = check(&app, &id).await;
    for detail in failed_details(&report) {
        assert_words(&detail);
        assert!(
            detail.starts_with("could not reach the endpoint: "),
            "{detail}"
        );
        assert!(detail.contains("Connection refused"), "{detail}");
        // The SDK repeats the cause at several levels; it is said once.
        assert_eq!(detail.matches("Connection refused").count(), 1, "{detail}");
        assert!(
            detail.contains("check the environment's endpointUrl"),
            "{detail}"
        );
    }
}

/// Deploys with one attempt and no pre-deploy checks; returns the failed deployment, which
/// a 502 problem carries.
async fn failed_deploy(endpoint: &str) -> Value {
    let mut settings = fast_limits();
    settings.push(("deploy_max_attempts", json!(1)));
    let f = fixture_with(&settings, endpoint).await;
    let api = f.create_api(&petstore("Nowhere")).await;
    let response = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/deployments?wait=20&skipChecks=true"),
            &f.publisher,
            &json!({"environment": f.environment}),
        )
        .await;
    let status = response.status();
    let problem: Value = response.json().await.unwrap();
    assert_eq!(status, 502, "{problem:#}");
    let deployment = problem["deployment"].clone();
    assert_eq!(deployment["status"], "failed", "{problem:#}");
    assert_words(problem["detail"].as_str().unwrap());
    deployment
}

#[tokio::test]
async fn a_deploy_to_an_endpoint_that_is_not_aws_fails_in_words() {
    let deployment = failed_deploy(&not_aws().await).await;
    let error = deployment["error"].as_str().unwrap();
    assert_words(error);
    assert!(
        error.starts_with(
            "GetRestApis failed: the endpoint answered HTTP 404 without an AWS error; \
             is endpointUrl an API Gateway endpoint?"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_deploy_to_a_dead_endpoint_fails_in_words() {
    let deployment = failed_deploy(&dead_port()).await;
    let error = deployment["error"].as_str().unwrap();
    assert_words(error);
    assert!(
        error.starts_with("GetRestApis failed: could not reach the endpoint: "),
        "{error}"
    );
    assert_eq!(error.matches("Connection refused").count(), 1, "{error}");
}
