//! `/publisher/v1/apis/{id}/revisions`: immutable, numbered snapshots with a cap.

use serde_json::{Value, json};

use crate::common::publisher::{api_body, api_path, oauth_policy};
use crate::common::{TestApp, error_fields, expect_problem, spawn_app, spawn_app_with};

async fn create_revision(app: &TestApp, token: &str, api: &str, body: &Value) -> Value {
    let response = app
        .post_json(&api_path(api, "/revisions"), token, body)
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let revision: Value = response.json().await.unwrap();
    assert_eq!(location, revision_path(&revision));
    revision
}

/// Where a revision lives, from its own ids.
fn revision_path(revision: &Value) -> String {
    api_path(
        revision["apiId"].as_str().unwrap(),
        &format!("/revisions/{}", revision["id"].as_str().unwrap()),
    )
}

fn numbers(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn revisions_are_numbered_immutable_snapshots() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Petstore");
    body["policies"] = json!([oauth_policy("authorizer")]);
    let api = app.create_api(&token, &body).await;
    let id = api["id"].as_str().unwrap();

    let first = create_revision(&app, &token, id, &json!({})).await;
    assert_eq!(first["number"], 1);
    assert_eq!(first["apiId"], api["id"]);
    assert_eq!(first["createdBy"], "admin");
    assert_eq!(first["design"]["resources"], api["resources"]);
    assert_eq!(first["design"]["policies"], api["policies"]);

    // Editing the API does not touch the revision.
    body["description"] = json!("changed after revision 1");
    body["resources"] = json!([{"method": "ANY", "path": "/{proxy+}"}]);
    assert_eq!(
        app.put_json(&api_path(id, ""), &token, &body, None)
            .await
            .status(),
        200
    );
    let second =
        create_revision(&app, &token, id, &json!({"description": "catch-all proxy"})).await;
    assert_eq!(second["number"], 2);
    assert_eq!(second["description"], "catch-all proxy");
    assert_eq!(second["design"]["resources"][0]["path"], "/{proxy+}");

    let first_again = app.get_ok(&revision_path(&first), &token).await;
    assert_eq!(first_again, first);
    assert_eq!(first_again["design"]["description"], "Pets for sale");

    let list = app.get_ok(&api_path(id, "/revisions"), &token).await;
    assert_eq!(numbers(&list), [1, 2]);
    assert!(
        list["items"][0].get("design").is_none(),
        "lists are summaries"
    );

    // Numbers are never reused.
    assert_eq!(
        app.delete(&revision_path(&second), &token).await.status(),
        204
    );
    expect_problem(app.get(&revision_path(&second), &token).await, 404).await;
    expect_problem(app.delete(&revision_path(&second), &token).await, 404).await;
    let third = create_revision(&app, &token, id, &json!({})).await;
    assert_eq!(third["number"], 3);

    // Even the database refuses to change a revision.
    let update = sqlx::query("UPDATE api_revisions SET description = 'rewritten'")
        .execute(&app.state.db)
        .await;
    assert!(update.unwrap_err().to_string().contains("immutable"));

    // Deleting the API deletes its revisions.
    assert_eq!(app.delete(&api_path(id, ""), &token).await.status(), 204);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM api_revisions")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn the_number_of_kept_revisions_is_capped() {
    let app = spawn_app_with(&[("max_revisions_per_api", json!(2))]).await;
    let token = app.publisher_token().await;
    let api = app.create_api(&token, &api_body("Petstore")).await;
    let id = api["id"].as_str().unwrap();
    let first = create_revision(&app, &token, id, &json!({})).await;
    create_revision(&app, &token, id, &json!({})).await;
    let problem = expect_problem(
        app.post_json(&api_path(id, "/revisions"), &token, &json!({}))
            .await,
        409,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("delete one"));
    app.delete(&revision_path(&first), &token).await;
    let third = create_revision(&app, &token, id, &json!({})).await;
    assert_eq!(third["number"], 3);
}

#[tokio::test]
async fn revisions_belong_to_their_api() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let a = app.create_api(&token, &api_body("A")).await;
    let b = app.create_api(&token, &api_body("B")).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let revision = create_revision(&app, &token, a, &json!({})).await;
    let foreign = api_path(
        b,
        &format!("/revisions/{}", revision["id"].as_str().unwrap()),
    );
    expect_problem(app.get(&foreign, &token).await, 404).await;
    expect_problem(app.delete(&foreign, &token).await, 404).await;

    let missing = api_path(&uuid::Uuid::now_v7().to_string(), "/revisions");
    expect_problem(app.get(&missing, &token).await, 404).await;
    expect_problem(app.post_json(&missing, &token, &json!({})).await, 404).await;
}

#[tokio::test]
async fn bad_revision_requests() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let api = app.create_api(&token, &api_body("Petstore")).await;
    let path = api_path(api["id"].as_str().unwrap(), "/revisions");
    let long = json!({"description": "x".repeat(2001)});
    let problem = expect_problem(app.post_json(&path, &token, &long).await, 400).await;
    assert_eq!(error_fields(&problem), ["description"]);
    let unknown = json!({"number": 7});
    let problem = expect_problem(app.post_json(&path, &token, &unknown).await, 400).await;
    assert_eq!(error_fields(&problem), ["number"]);
    let devportal = app.token("devportal").await;
    expect_problem(app.get(&path, &devportal).await, 403).await;
    expect_problem(app.post_json(&path, &devportal, &json!({})).await, 403).await;
}
