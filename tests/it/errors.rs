//! Malformed input of every kind gets a 4xx problem+json, never a 500.

use serde_json::json;

use crate::common::{error_fields, expect_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let response = app
        .http
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    expect_problem(response, 400).await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let response = app
        .http
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(json!({"name": "a", "scopes": ["admin"]}).to_string())
        .send()
        .await
        .unwrap();
    expect_problem(response, 415).await;
}

#[tokio::test]
async fn unknown_and_mistyped_fields_are_named() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unknown = expect_problem(
        app.post_json(
            "/admin/v1/clients",
            &admin,
            &json!({"name": "a", "scopes": ["admin"], "colour": "red"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&unknown), ["colour"]);
    let mistyped = expect_problem(
        app.post_json(
            "/admin/v1/clients",
            &admin,
            &json!({"name": 5, "scopes": ["admin"]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&mistyped), ["name"]);
    let missing = expect_problem(
        app.post_json("/admin/v1/clients", &admin, &json!({"name": "a"}))
            .await,
        400,
    )
    .await;
    assert!(
        missing["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("scopes")
    );
}

#[tokio::test]
async fn oversize_body_is_413() {
    let app = spawn_app_with(&[("body_limit_bytes", json!(2048))]).await;
    let admin = app.admin_token().await;
    let big = json!({"name": "x".repeat(4096), "scopes": ["admin"]});
    expect_problem(app.post_json("/admin/v1/clients", &admin, &big).await, 413).await;
}

#[tokio::test]
async fn malformed_path_id_is_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    expect_problem(app.get("/admin/v1/clients/not-a-uuid", &admin).await, 400).await;
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405() {
    let app = spawn_app().await;
    expect_problem(app.http.get(app.url("/nope")).send().await.unwrap(), 404).await;
    let response = app.http.put(app.url("/healthz")).send().await.unwrap();
    assert!(response.headers().contains_key("allow"));
    expect_problem(response, 405).await;
}
