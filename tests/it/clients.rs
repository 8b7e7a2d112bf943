use serde_json::{Value, json};

use crate::common::{error_fields, expect_problem, spawn_app};

#[tokio::test]
async fn create_get_list_rotate_delete() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let response = app
        .post_json(
            "/admin/v1/clients",
            &admin,
            &json!({"name": "ci", "clientId": "ci-bot", "scopes": ["publisher"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["clientId"], "ci-bot");
    assert_eq!(created["scopes"], json!(["publisher"]));
    let secret = created["clientSecret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap();

    let fetched: Value = app
        .get(&format!("/admin/v1/clients/{id}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["name"], "ci");
    assert!(
        fetched.get("clientSecret").is_none(),
        "the secret is shown only on create"
    );

    let stored: String =
        sqlx::query_scalar("SELECT secret_hash FROM api_clients WHERE client_id = 'ci-bot'")
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(&secret));

    let rotated = app.rotate_secret(&admin, id).await;
    let new_secret = rotated["clientSecret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let old = app
        .http
        .post(app.url("/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "ci-bot"),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    app.token_for("ci-bot", new_secret, None).await;

    assert_eq!(
        app.delete(&format!("/admin/v1/clients/{id}"), &admin)
            .await
            .status(),
        204
    );
    expect_problem(
        app.get(&format!("/admin/v1/clients/{id}"), &admin).await,
        404,
    )
    .await;
    expect_problem(
        app.delete(&format!("/admin/v1/clients/{id}"), &admin).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn list_is_cursor_paginated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 0..4 {
        let status = app
            .post_json(
                "/admin/v1/clients",
                &admin,
                &json!({"name": format!("c{i}"), "scopes": ["devportal"]}),
            )
            .await
            .status();
        assert_eq!(status, 201);
    }
    let mut seen = Vec::new();
    let mut path = "/admin/v1/clients?limit=2".to_owned();
    loop {
        let page: Value = app.get(&path, &admin).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["name"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => path = format!("/admin/v1/clients?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Bootstrap administrator", "c0", "c1", "c2", "c3"]);

    let bad_limit = expect_problem(app.get("/admin/v1/clients?limit=0", &admin).await, 400).await;
    assert_eq!(error_fields(&bad_limit), ["limit"]);
    let bad_cursor =
        expect_problem(app.get("/admin/v1/clients?cursor=zzz", &admin).await, 400).await;
    assert_eq!(error_fields(&bad_cursor), ["cursor"]);
    let unknown = expect_problem(app.get("/admin/v1/clients?page=2", &admin).await, 400).await;
    assert!(
        unknown["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("page")
    );
}

#[tokio::test]
async fn validation_names_every_bad_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let problem = expect_problem(
        app.post_json(
            "/admin/v1/clients",
            &admin,
            &json!({"name": " ", "clientId": "x y", "scopes": []}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["name", "clientId", "scopes"]);
    let problem = expect_problem(
        app.post_json(
            "/admin/v1/clients",
            &admin,
            &json!({"name": "a", "scopes": ["root"]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["scopes[0]"]);
}

#[tokio::test]
async fn duplicate_client_id_is_409() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"name": "one", "clientId": "dup", "scopes": ["admin"]});
    assert_eq!(
        app.post_json("/admin/v1/clients", &admin, &body)
            .await
            .status(),
        201
    );
    expect_problem(app.post_json("/admin/v1/clients", &admin, &body).await, 409).await;
}

#[tokio::test]
async fn the_last_admin_client_cannot_be_deleted() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let page: Value = app
        .get("/admin/v1/clients", &admin)
        .await
        .json()
        .await
        .unwrap();
    let id = page["items"][0]["id"].as_str().unwrap();
    expect_problem(
        app.delete(&format!("/admin/v1/clients/{id}"), &admin).await,
        409,
    )
    .await;
    assert_eq!(app.get("/admin/v1/clients", &admin).await.status(), 200);
}

#[tokio::test]
async fn changes_are_audited_without_secrets() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"name": "audited", "clientId": "audited", "scopes": ["publisher"]});
    let created = app.create_client(&admin, &body).await;
    let id = created["id"].as_str().unwrap();
    // A refused change is recorded too, with its reason.
    expect_problem(app.post_json("/admin/v1/clients", &admin, &body).await, 409).await;
    app.delete(&format!("/admin/v1/clients/{id}"), &admin).await;

    let page: Value = app
        .get("/admin/v1/audit?targetType=clients", &admin)
        .await
        .json()
        .await
        .unwrap();
    let entries = page["items"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["targetId"].as_str().unwrap_or("-").to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let own = |a: &str, t: &str, o: &str| (a.to_owned(), t.to_owned(), o.to_owned());
    assert_eq!(
        summary,
        [
            own("clients.delete", id, "success"),
            own("clients.create", "-", "failure"),
            own("clients.create", id, "success"),
        ]
    );
    assert!(entries.iter().all(|e| e["actor"] == "admin"));
    assert!(
        entries[1]["detail"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let text = page.to_string();
    assert!(!text.contains(created["clientSecret"].as_str().unwrap()));

    let only_failures: Value = app
        .get("/admin/v1/audit?outcome=failure", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only_failures["items"].as_array().unwrap().len(), 1);
    expect_problem(app.get("/admin/v1/audit?outcome=maybe", &admin).await, 400).await;
}
