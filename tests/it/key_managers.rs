use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::common::{error_fields, expect_problem, spawn_app};

/// Serves an OIDC discovery document on `ip`:0, as an IdP would.
async fn discovery_server(ip: &str) -> String {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let document = json!({
        "issuer": format!("{base}/"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "token_endpoint": format!("{base}/oauth/token"),
        "registration_endpoint": format!("{base}/oidc/register"),
        "grant_types_supported": ["client_credentials"]
    });
    let app = Router::new().route(
        "/.well-known/openid-configuration",
        get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn discovery_fills_the_endpoints() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let base = discovery_server("127.0.0.1").await;
    let response = app
        .post_json(
            "/admin/v1/key-managers",
            &admin,
            &json!({"name": "auth0", "type": "oidc", "wellKnownUrl": format!("{base}/.well-known/openid-configuration"),
                    "audience": "https://pets.example", "registrationToken": "initial-access-token-123"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key("etag"));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["tokenEndpoint"], format!("{base}/oauth/token"));
    assert_eq!(created["jwksUri"], format!("{base}/.well-known/jwks.json"));
    assert_eq!(
        created["registrationEndpoint"],
        format!("{base}/oidc/register")
    );
    assert_eq!(created["registrationTokenSet"], true);
    assert!(!created.to_string().contains("initial-access-token-123"));

    // PUT without the token keeps it; explicit fields override discovery.
    let path = format!("/admin/v1/key-managers/{}", created["id"].as_str().unwrap());
    let mut body = created.clone();
    body["tokenEndpoint"] = json!(format!("{base}/custom/token"));
    let updated: Value = app
        .put_json(&path, &admin, &body, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["tokenEndpoint"], format!("{base}/custom/token"));
    assert_eq!(updated["registrationTokenSet"], true);
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret_ciphertext FROM key_managers")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert!(!sealed.windows(7).any(|w| w == b"initial"));
}

#[tokio::test]
async fn discovery_from_a_refused_address_makes_no_connection() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/openid-configuration",
        listener.local_addr().unwrap()
    );
    let problem = expect_problem(
        app.post_json(
            "/admin/v1/key-managers",
            &admin,
            &json!({"name": "evil", "type": "oidc", "wellKnownUrl": url}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["wellKnownUrl"]);
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "the refused address saw a connection");
}

#[tokio::test]
async fn explicit_key_manager_validation_and_lifecycle() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let problem = expect_problem(
        app.post_json(
            "/admin/v1/key-managers",
            &admin,
            &json!({"name": "x", "type": "oidc", "issuer": "nope"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        ["issuer", "jwksUri", "tokenEndpoint"]
    );

    let body = json!({
        "name": "corp-idp", "type": "oidc",
        "issuer": "https://idp.example.com/",
        "jwksUri": "https://idp.example.com/jwks",
        "tokenEndpoint": "https://idp.example.com/token",
        "scopes": ["pets:read"]
    });
    let created: Value = app
        .post_json("/admin/v1/key-managers", &admin, &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["registrationTokenSet"], false);
    expect_problem(
        app.post_json("/admin/v1/key-managers", &admin, &body).await,
        409,
    )
    .await;
    let page: Value = app
        .get("/admin/v1/key-managers", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let path = format!("/admin/v1/key-managers/{}", created["id"].as_str().unwrap());
    expect_problem(
        app.put_json(&path, &admin, &body, Some("\"99\"")).await,
        412,
    )
    .await;
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    expect_problem(app.get(&path, &admin).await, 404).await;
    let devportal = app.token("devportal").await;
    expect_problem(app.get("/admin/v1/key-managers", &devportal).await, 403).await;
}
