//! Applications: a developer's own, never another's (404, not 403).

use serde_json::{Value, json};

use crate::common::{error_fields, expect_problem, spawn_app};

#[tokio::test]
async fn create_read_update_delete() {
    let app = spawn_app().await;
    let dev = app.developer("dev-one").await;
    let response = app
        .post_json(
            "/devportal/v1/applications",
            &dev,
            &json!({"name": "Mobile app", "description": "iOS"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    // The client's immutable record, not its reusable client id.
    let client = fedgate::store::clients::find_by_client_id(&app.state.db, "dev-one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created["owner"], client.id.to_string());
    assert_eq!(
        location,
        format!(
            "/devportal/v1/applications/{}",
            created["id"].as_str().unwrap()
        )
    );

    let duplicate = app
        .post_json(
            "/devportal/v1/applications",
            &dev,
            &json!({"name": "Mobile app"}),
        )
        .await;
    expect_problem(duplicate, 409).await;
    let invalid = app
        .post_json(
            "/devportal/v1/applications",
            &dev,
            &json!({"name": " ", "description": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(
        error_fields(&expect_problem(invalid, 400).await),
        ["name", "description"]
    );

    let mut body = created.clone();
    body["description"] = json!("iOS and Android");
    let updated = app.put_json(&location, &dev, &body, Some(&etag)).await;
    assert_eq!(updated.status(), 200);
    assert_eq!(
        updated.json::<Value>().await.unwrap()["description"],
        "iOS and Android"
    );
    expect_problem(app.put_json(&location, &dev, &body, Some(&etag)).await, 412).await;

    let list = app.get_ok("/devportal/v1/applications", &dev).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.delete(&location, &dev).await.status(), 204);
    expect_problem(app.get(&location, &dev).await, 404).await;
}

#[tokio::test]
async fn developers_never_see_or_touch_each_others_applications() {
    let app = spawn_app().await;
    let alice = app.developer("alice").await;
    let bob = app.developer("bob").await;
    let id = app.create_application(&alice, "Shared name").await;
    // Names are unique per developer only.
    app.create_application(&bob, "Shared name").await;

    let path = format!("/devportal/v1/applications/{id}");
    expect_problem(app.get(&path, &bob).await, 404).await;
    expect_problem(
        app.put_json(&path, &bob, &json!({"name": "Stolen"}), None)
            .await,
        404,
    )
    .await;
    expect_problem(app.delete(&path, &bob).await, 404).await;
    let keys = app
        .post_json(&format!("{path}/keys"), &bob, &json!({"keyManager": "any"}))
        .await;
    expect_problem(keys, 404).await;
    expect_problem(app.get(&format!("{path}/keys"), &bob).await, 404).await;
    let token = app
        .post_json(&format!("{path}/token"), &bob, &json!({}))
        .await;
    expect_problem(token, 404).await;

    let bobs = app.get_ok("/devportal/v1/applications", &bob).await;
    assert_eq!(bobs["items"].as_array().unwrap().len(), 1);
    assert_ne!(bobs["items"][0]["id"], json!(id));
    let alices = app.get_ok(&path, &alice).await;
    assert_eq!(alices["name"], "Shared name", "untouched by bob");
}
