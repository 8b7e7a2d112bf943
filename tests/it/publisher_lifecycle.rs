//! `/publisher/v1/apis/{id}/lifecycle`: transitions, refusals, history.

use serde_json::{Value, json};

use crate::common::publisher::{api_body, api_path};
use crate::common::{TestApp, error_fields, expect_problem, spawn_app};

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> reqwest::Response {
    app.post_json(
        &api_path(id, "/lifecycle"),
        token,
        &json!({"action": action}),
    )
    .await
}

/// Applies `action`, asserting success, and returns the new lifecycle.
async fn act_ok(app: &TestApp, token: &str, id: &str, action: &str) -> Value {
    let response = act(app, token, id, action).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {body}");
    body
}

async fn new_api(app: &TestApp, token: &str, body: &Value) -> String {
    app.create_api(token, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn publish_block_unblock_deprecate_retire_with_history() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let id = new_api(&app, &token, &api_body("Petstore")).await;
    let initial = app.get_ok(&api_path(&id, "/lifecycle"), &token).await;
    assert_eq!(
        initial,
        json!({"state": "CREATED", "allowedActions": ["publish"], "history": []})
    );

    let response = act(&app, &token, &id, "publish").await;
    assert_eq!(response.headers()["etag"], "\"2\"");
    let published: Value = response.json().await.unwrap();
    assert_eq!(published["state"], "PUBLISHED");
    assert_eq!(
        published["allowedActions"],
        json!(["deprecate", "demote", "block"])
    );
    assert_eq!(act_ok(&app, &token, &id, "block").await["state"], "BLOCKED");
    assert_eq!(
        act_ok(&app, &token, &id, "unblock").await["state"],
        "PUBLISHED"
    );
    assert_eq!(
        act_ok(&app, &token, &id, "deprecate").await["state"],
        "DEPRECATED"
    );
    let retired = act_ok(&app, &token, &id, "retire").await;
    assert_eq!(retired["state"], "RETIRED");
    assert_eq!(retired["allowedActions"], json!([]));

    let moves: Vec<(String, String, String)> = retired["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["actor"], "admin");
            assert!(e["at"].is_string());
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (text("action"), text("from"), text("to"))
        })
        .collect();
    let step = |a: &str, f: &str, t: &str| (a.to_owned(), f.to_owned(), t.to_owned());
    assert_eq!(
        moves,
        [
            step("publish", "CREATED", "PUBLISHED"),
            step("block", "PUBLISHED", "BLOCKED"),
            step("unblock", "BLOCKED", "PUBLISHED"),
            step("deprecate", "PUBLISHED", "DEPRECATED"),
            step("retire", "DEPRECATED", "RETIRED"),
        ]
    );
    assert_eq!(
        app.get_ok(&api_path(&id, "/lifecycle"), &token).await,
        retired
    );
    let api = app.get_ok(&api_path(&id, ""), &token).await;
    assert_eq!(api["lifecycleState"], "RETIRED");
    let found = app.get_ok("/publisher/v1/apis?state=RETIRED", &token).await;
    assert_eq!(found["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn invalid_transitions_name_the_allowed_actions() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let id = new_api(&app, &token, &api_body("Petstore")).await;
    let problem = expect_problem(act(&app, &token, &id, "retire").await, 409).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("CREATED") && detail.contains("allowed: publish"),
        "{detail}"
    );

    act_ok(&app, &token, &id, "publish").await;
    let problem = expect_problem(act(&app, &token, &id, "unblock").await, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("allowed: deprecate, demote, block")
    );
    let demoted = act_ok(&app, &token, &id, "demote").await;
    assert_eq!(demoted["state"], "CREATED");
    assert_eq!(demoted["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn publishing_needs_a_resource() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Empty");
    body["resources"] = json!([]);
    let id = new_api(&app, &token, &body).await;
    let problem = expect_problem(act(&app, &token, &id, "publish").await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("resource"));
    let lifecycle = app.get_ok(&api_path(&id, "/lifecycle"), &token).await;
    assert_eq!(lifecycle["state"], "CREATED");
    assert_eq!(lifecycle["history"], json!([]));
}

#[tokio::test]
async fn bad_lifecycle_requests() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let id = new_api(&app, &token, &api_body("Petstore")).await;
    let problem = expect_problem(act(&app, &token, &id, "launch").await, 400).await;
    assert_eq!(error_fields(&problem), ["action"]);

    let stale = app
        .http
        .post(app.url(&api_path(&id, "/lifecycle")))
        .bearer_auth(&token)
        .header("if-match", "\"7\"")
        .json(&json!({"action": "publish"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 412).await;

    let missing = uuid::Uuid::now_v7().to_string();
    expect_problem(act(&app, &token, &missing, "publish").await, 404).await;
    expect_problem(
        app.get(&api_path(&missing, "/lifecycle"), &token).await,
        404,
    )
    .await;
    let devportal = app.token("devportal").await;
    expect_problem(act(&app, &devportal, &id, "publish").await, 403).await;
    expect_problem(app.get(&api_path(&id, "/lifecycle"), &devportal).await, 403).await;
}
