//! Application keys and tokens: an existing client at the OIDC mock, dynamic client
//! registration and IdP errors at a fake IdP that records what it is sent.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use crate::common::{TestApp, error_fields, expect_problem, spawn_app};

fn app_path(id: &str, rest: &str) -> String {
    format!("/devportal/v1/applications/{id}{rest}")
}

#[tokio::test]
async fn an_existing_client_gets_tokens_from_the_oidc_mock() {
    let app = spawn_app().await;
    app.oidc_key_manager("mock-idp", json!({})).await;
    let dev = app.developer("dev-one").await;
    let id = app.create_application(&dev, "Web").await;
    expect_problem(
        app.post_json(&app_path(&id, "/token"), &dev, &json!({}))
            .await,
        422,
    )
    .await;

    let keys =
        json!({"keyManager": "mock-idp", "clientId": "web-client", "clientSecret": "s3cret-value"});
    let response = app.post_json(&app_path(&id, "/keys"), &dev, &keys).await;
    assert_eq!(response.status(), 201);
    let key: Value = response.json().await.unwrap();
    assert_eq!(key["clientId"], "web-client");
    assert_eq!(key["clientSecretSet"], true);
    assert_eq!(key["registered"], false);
    assert!(!key.to_string().contains("s3cret-value"), "write-only");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_ciphertext FROM application_keys")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("s3cret-value"),
        "sealed at rest"
    );
    expect_problem(
        app.post_json(&app_path(&id, "/keys"), &dev, &keys).await,
        409,
    )
    .await;

    let response = app
        .post_json(&app_path(&id, "/token"), &dev, &json!({}))
        .await;
    let status = response.status();
    let token: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_in"].as_u64().unwrap() > 0);
    assert_eq!(
        token["access_token"].as_str().unwrap().split('.').count(),
        3,
        "a JWT"
    );

    let listed = app.get_ok(&app_path(&id, "/keys"), &dev).await;
    assert_eq!(listed["items"][0]["keyManager"], "mock-idp");
    assert_eq!(
        app.delete(&app_path(&id, "/keys/mock-idp"), &dev)
            .await
            .status(),
        204
    );
    expect_problem(
        app.post_json(&app_path(&id, "/token"), &dev, &json!({}))
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn bad_key_requests_name_the_field() {
    let app = spawn_app().await;
    app.oidc_key_manager("mock-idp", json!({})).await;
    let dev = app.developer("dev-one").await;
    let id = app.create_application(&dev, "Web").await;
    let path = app_path(&id, "/keys");
    let problem = expect_problem(
        app.post_json(&path, &dev, &json!({"keyManager": "nope"}))
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["keyManager"]);
    let body = json!({"keyManager": "mock-idp", "clientId": "x"});
    let problem = expect_problem(app.post_json(&path, &dev, &body).await, 400).await;
    assert_eq!(error_fields(&problem), ["clientSecret"]);
    // The OIDC mock has no registration endpoint.
    let body = json!({"keyManager": "mock-idp"});
    let problem = expect_problem(app.post_json(&path, &dev, &body).await, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("clientId"));
}

/// What the fake IdP received.
#[derive(Default)]
struct Seen {
    registrations: Vec<(Option<String>, Value)>,
    token_requests: Vec<(Option<String>, String)>,
}

type Shared = Arc<Mutex<Seen>>;

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn register(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let auth = authorization(&headers);
    seen.lock()
        .unwrap()
        .registrations
        .push((auth.clone(), body.0));
    if auth.as_deref() != Some("Bearer initial-123") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_token"})),
        );
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"client_id": "dyn-1", "client_secret": "dyn-secret"})),
    )
}

async fn token(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let auth = authorization(&headers);
    seen.lock()
        .unwrap()
        .token_requests
        .push((auth.clone(), body));
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("dyn-1:dyn-secret")
    );
    if auth != Some(good) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            ),
        );
    }
    (
        StatusCode::OK,
        axum::Json(
            json!({"access_token": "opaque-token", "token_type": "Bearer", "expires_in": 60, "scope": "pets.read"}),
        ),
    )
}

/// A fake IdP on 127.0.0.1 with a registration and a token endpoint; returns its base URL.
async fn fake_idp(seen: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/register", post(register))
        .route("/token", post(token))
        .with_state(seen);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn fake_key_manager(app: &TestApp, seen: Shared) {
    let base = fake_idp(seen).await;
    app.create_key_manager(&json!({"name": "fake", "type": "oidc", "issuer": base,
        "jwksUri": format!("{base}/jwks"), "tokenEndpoint": format!("{base}/token"),
        "registrationEndpoint": format!("{base}/register"), "registrationToken": "initial-123",
        "audience": "https://pets.example", "scopes": ["pets.read"]}))
        .await;
}

#[tokio::test]
async fn dynamic_registration_then_a_token_with_audience_and_scopes() {
    let app = spawn_app().await;
    let seen = Shared::default();
    fake_key_manager(&app, seen.clone()).await;
    let dev = app.developer("dev-one").await;
    let id = app.create_application(&dev, "Backend job").await;

    let response = app
        .post_json(
            &app_path(&id, "/keys"),
            &dev,
            &json!({"keyManager": "fake"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let key: Value = response.json().await.unwrap();
    assert_eq!(key["clientId"], "dyn-1");
    assert_eq!(key["registered"], true);
    assert!(!key.to_string().contains("dyn-secret"));
    {
        let seen = seen.lock().unwrap();
        let (auth, metadata) = &seen.registrations[0];
        assert_eq!(
            auth.as_deref(),
            Some("Bearer initial-123"),
            "the initial access token"
        );
        assert_eq!(metadata["grant_types"], json!(["client_credentials"]));
        assert!(
            metadata["client_name"]
                .as_str()
                .unwrap()
                .contains("Backend job")
        );
    }

    let response = app
        .post_json(
            &app_path(&id, "/token"),
            &dev,
            &json!({"keyManager": "fake"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(
        token,
        json!({"access_token": "opaque-token", "token_type": "Bearer", "expires_in": 60, "scope": "pets.read"})
    );
    let seen = seen.lock().unwrap();
    let (_, form) = &seen.token_requests[0];
    let form: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("grant_type"), Some("client_credentials"));
    assert_eq!(get("audience"), Some("https://pets.example"));
    assert_eq!(get("scope"), Some("pets.read"));
    assert_eq!(
        get("client_secret"),
        None,
        "the secret travels in the Basic header only"
    );
}

#[tokio::test]
async fn an_idp_error_is_a_502_carrying_its_message() {
    let app = spawn_app().await;
    let seen = Shared::default();
    fake_key_manager(&app, seen.clone()).await;
    app.oidc_key_manager("mock-idp", json!({})).await;
    let dev = app.developer("dev-one").await;
    let id = app.create_application(&dev, "Wrong secret").await;
    for keys in [
        json!({"keyManager": "fake", "clientId": "dyn-1", "clientSecret": "wrong"}),
        json!({"keyManager": "mock-idp", "clientId": "c", "clientSecret": "s"}),
    ] {
        assert_eq!(
            app.post_json(&app_path(&id, "/keys"), &dev, &keys)
                .await
                .status(),
            201
        );
    }
    let ambiguous = app
        .post_json(&app_path(&id, "/token"), &dev, &json!({}))
        .await;
    assert_eq!(
        error_fields(&expect_problem(ambiguous, 400).await),
        ["keyManager"]
    );

    let response = app
        .post_json(
            &app_path(&id, "/token"),
            &dev,
            &json!({"keyManager": "fake"}),
        )
        .await;
    let problem = expect_problem(response, 502).await;
    assert_eq!(problem["keyManager"], "fake");
    assert_eq!(problem["idpStatus"], 401);
    assert_eq!(problem["idpError"], "invalid_client");
    assert_eq!(
        problem["idpErrorDescription"],
        "Client authentication failed"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("invalid_client")
    );
}

#[tokio::test]
async fn developers_are_not_told_internal_addresses() {
    let app = spawn_app().await;
    // Nothing listens on this port once the listener is dropped.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}");
    // The guard refuses 127.0.0.2 (not on the tests' allow list).
    for (name, base) in [("internal", "http://127.0.0.2:9"), ("down", down.as_str())] {
        app.create_key_manager(&json!({"name": name, "type": "oidc",
            "issuer": format!("https://{name}.example/"), "jwksUri": format!("{base}/jwks"),
            "tokenEndpoint": format!("{base}/token"),
            "registrationEndpoint": format!("{base}/register")}))
            .await;
    }
    let dev = app.developer("dev-one").await;
    let id = app.create_application(&dev, "Curious").await;
    let other = app.create_application(&dev, "Registered").await;

    for (name, reason, address) in [
        (
            "internal",
            "refused by fedgate's outbound policy; ask an administrator",
            "127.0.0.2",
        ),
        (
            "down",
            "the key manager could not be reached",
            &port.to_string(),
        ),
    ] {
        // Registration (no client given) and the token grant both call the IdP.
        let registration = app
            .post_json(
                &app_path(&other, "/keys"),
                &dev,
                &json!({"keyManager": name}),
            )
            .await;
        let keys = json!({"keyManager": name, "clientId": "c", "clientSecret": "s"});
        let added = app.post_json(&app_path(&id, "/keys"), &dev, &keys).await;
        assert_eq!(added.status(), 201);
        let token = app
            .post_json(&app_path(&id, "/token"), &dev, &json!({"keyManager": name}))
            .await;
        for response in [registration, token] {
            let problem = expect_problem(response, 502).await;
            assert_eq!(problem["keyManager"], name);
            let text = problem.to_string();
            assert!(text.contains(reason), "{text}");
            assert!(!text.contains(address), "`{address}` leaked: {text}");
        }
    }
}
