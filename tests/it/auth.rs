use fedgate::auth::tokens::TokenSubject;
use fedgate::domain::scope::Scopes;
use serde_json::{Value, json};

use crate::common::{BOOTSTRAP_SECRET, expect_problem, spawn_app};

#[tokio::test]
async fn client_credentials_by_form_and_by_basic() {
    let app = spawn_app().await;
    let by_form = app
        .http
        .post(app.url("/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "admin"),
            ("client_secret", BOOTSTRAP_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_form.status(), 200);
    assert_eq!(by_form.headers()["cache-control"], "no-store");
    let body: Value = by_form.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "admin publisher devportal");

    let by_basic = app
        .http
        .post(app.url("/auth/token"))
        .basic_auth("admin", Some(BOOTSTRAP_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "publisher")])
        .send()
        .await
        .unwrap();
    assert_eq!(by_basic.status(), 200);
    assert_eq!(
        by_basic.json::<Value>().await.unwrap()["scope"],
        "publisher"
    );
}

/// A form, the expected status, the expected OAuth2 `error`.
type TokenCase<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn token_errors_use_the_oauth2_shape() {
    let app = spawn_app().await;
    let cases: Vec<TokenCase> = vec![
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "admin"),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "admin"),
                ("client_secret", BOOTSTRAP_SECRET),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("client_id", "admin"), ("client_secret", BOOTSTRAP_SECRET)],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "admin"),
                ("client_secret", BOOTSTRAP_SECRET),
                ("scope", "root"),
            ],
            400,
            "invalid_scope",
        ),
    ];
    for (form, status, error) in cases {
        let response = app
            .http
            .post(app.url("/auth/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].is_string());
    }
    let json_body = app
        .http
        .post(app.url("/auth/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    assert_eq!(
        json_body.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn a_client_cannot_widen_its_scopes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .create_client(&admin, &json!({"name": "ci", "scopes": ["publisher"]}))
        .await;
    let response = app
        .http
        .post(app.url("/auth/token"))
        .basic_auth(
            created["clientId"].as_str().unwrap(),
            created["clientSecret"].as_str(),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "publisher admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_get_401_with_a_challenge() {
    let app = spawn_app().await;
    let no_token = app
        .http
        .get(app.url("/admin/v1/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_token.headers()["www-authenticate"],
        "Bearer realm=\"fedgate\""
    );
    expect_problem(no_token, 401).await;

    let garbage = app.get("/admin/v1/clients", "not-a-jwt").await;
    assert!(
        garbage.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    expect_problem(garbage, 401).await;

    let an_hour_ago = chrono::Utc::now().timestamp() - 3601;
    let admin = fedgate::store::clients::find_by_client_id(&app.state.db, "admin")
        .await
        .unwrap()
        .unwrap();
    let subject = TokenSubject {
        client_id: "admin",
        record: admin.id,
        generation: admin.generation,
    };
    let expired = app
        .state
        .tokens
        .issue_at(&subject, &Scopes::all(), an_hour_ago);
    let response = app.get("/admin/v1/clients", &expired).await;
    let problem = expect_problem(response, 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn wrong_scope_is_403() {
    let app = spawn_app().await;
    for scope in ["devportal", "publisher"] {
        let token = app.token(scope).await;
        let response = app.get("/admin/v1/clients", &token).await;
        let problem = expect_problem(response, 403).await;
        assert!(problem["detail"].as_str().unwrap().contains("admin"));
    }
}

#[tokio::test]
async fn tokens_of_a_deleted_client_stop_working() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .create_client(&admin, &json!({"name": "temp admin", "scopes": ["admin"]}))
        .await;
    let temp_token = app
        .token_for(
            created["clientId"].as_str().unwrap(),
            created["clientSecret"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(
        app.get("/admin/v1/clients", &temp_token).await.status(),
        200
    );
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/admin/v1/clients/{id}"), &admin)
            .await
            .status(),
        204
    );
    expect_problem(app.get("/admin/v1/clients", &temp_token).await, 401).await;
}

#[tokio::test]
async fn tokens_survive_a_restart_on_the_same_database() {
    let first = spawn_app().await;
    let token = first.admin_token().await;
    // A second app on the same database (a restart, or another replica) shares the key.
    let data_dir = tempfile::tempdir().unwrap();
    let config = crate::common::test_config(&first.database_url, data_dir.path(), &[]);
    let second = fedgate::Application::build(config).await.unwrap();
    let addr = second.local_addr();
    tokio::spawn(second.run_until(std::future::pending()));
    let response = first
        .http
        .get(format!("http://{addr}/admin/v1/clients"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_signing_key_is_stored_sealed() {
    let app = spawn_app().await;
    let (key_id, ciphertext): (String, Vec<u8>) = sqlx::query_as(
        "SELECT key_id, ciphertext FROM sealed_keys WHERE purpose = 'jwt-signing-key'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(key_id, app.state.keyring.current_key_id());
    // 44 base64 characters + the 16-byte GCM tag: sealed, not stored as text.
    assert_eq!(ciphertext.len(), 44 + 16);
    assert!(
        std::str::from_utf8(&ciphertext).is_err()
            || !ciphertext.iter().all(u8::is_ascii_alphanumeric)
    );
}
