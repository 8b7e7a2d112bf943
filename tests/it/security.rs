//! Issue 10's holes, each shown closed: changes and refusals are audited whoever makes
//! them and however the header is spelled; a revoked token stays revoked; logins are
//! bounded and throttled per source; key-manager tokens valid only later are refused.

use std::net::SocketAddr;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::publisher::api_body;
use crate::common::{BOOTSTRAP_SECRET, TestApp, expect_problem, spawn_app, spawn_app_with};

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let admin = app.admin_token().await;
    let page = app
        .get_ok(&format!("/admin/v1/audit?{query}"), &admin)
        .await;
    page["items"].as_array().unwrap().clone()
}

async fn create_client(app: &TestApp, client_id: &str, scopes: &[&str]) -> (String, String) {
    let admin = app.admin_token().await;
    let created = app
        .create_client(
            &admin,
            &json!({"name": client_id, "clientId": client_id, "scopes": scopes}),
        )
        .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["clientSecret"].as_str().unwrap().to_owned(),
    )
}

async fn login(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = app.http.post(app.url("/auth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ]);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn writes_are_audited_whatever_the_spelling_of_bearer() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (i, scheme) in ["bearer", "BEARER", "BeArEr"].iter().enumerate() {
        let response = app
            .http
            .post(app.url("/admin/v1/clients"))
            .header("authorization", format!("{scheme} {admin}"))
            .json(
                &json!({"name": format!("client-{i}"), "clientId": format!("client-{i}"), "scopes": ["admin"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let created = audit(&app, "targetType=clients&outcome=success").await;
    assert_eq!(created.len(), 3, "{created:#?}");
    assert!(
        created
            .iter()
            .all(|e| e["actor"] == "admin" && e["action"] == "clients.create")
    );
}

#[tokio::test]
async fn refused_requests_and_failed_logins_are_audited() {
    let app = spawn_app().await;
    expect_problem(app.get("/admin/v1/clients", "").await, 401).await;
    expect_problem(
        app.post_json("/admin/v1/clients", "not-a-jwt", &json!({}))
            .await,
        401,
    )
    .await;
    let publisher = app.token("publisher").await;
    expect_problem(
        app.post_json("/admin/v1/clients", &publisher, &json!({}))
            .await,
        403,
    )
    .await;
    assert_eq!(
        login(&app, "admin", "wrong-secret", None).await.status(),
        401
    );

    let failures = audit(&app, "outcome=failure").await;
    let seen: Vec<(String, String, Value)> = failures
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("anonymous".to_owned(), "auth.login".to_owned(), Value::Null),
            (
                "admin".to_owned(),
                "POST /admin/v1/clients".to_owned(),
                json!(403)
            ),
            (
                "anonymous".to_owned(),
                "POST /admin/v1/clients".to_owned(),
                json!(401)
            ),
            (
                "anonymous".to_owned(),
                "GET /admin/v1/clients".to_owned(),
                json!(401)
            ),
        ]
    );
    // The failed login names the client id tried and where from.
    assert_eq!(failures[0]["targetType"], "clients");
    assert_eq!(failures[0]["targetId"], "admin");
    assert!(
        failures[0]["detail"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );
}

#[tokio::test]
async fn refusals_from_one_source_are_audited_only_up_to_the_limit() {
    let app = spawn_app_with(&[("token_failures_per_source", json!(3))]).await;
    for _ in 0..10 {
        expect_problem(app.get("/admin/v1/clients", "not-a-jwt").await, 401).await;
    }
    assert_eq!(audit(&app, "outcome=failure").await.len(), 3);
}

#[tokio::test]
async fn a_recreated_client_id_does_not_revive_old_tokens_or_applications() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (record, secret) = create_client(&app, "ops1", &["admin", "devportal"]).await;
    let old = app.token_for("ops1", &secret, None).await;
    let application = app.create_application(&old, "ops app").await;
    assert_eq!(app.get("/admin/v1/clients", &old).await.status(), 200);

    assert_eq!(
        app.delete(&format!("/admin/v1/clients/{record}"), &admin)
            .await
            .status(),
        204
    );
    let (_, secret) = create_client(&app, "ops1", &["devportal"]).await;
    // The old token was for the deleted record: it proves nothing now, anywhere.
    expect_problem(app.get("/admin/v1/clients", &old).await, 401).await;
    expect_problem(app.get("/devportal/v1/applications", &old).await, 401).await;
    // The new ops1 is someone else: it does not see the old one's applications.
    let new = app.token_for("ops1", &secret, None).await;
    let mine = app.get_ok("/devportal/v1/applications", &new).await;
    assert_eq!(mine["items"], json!([]));
    expect_problem(
        app.get(&format!("/devportal/v1/applications/{application}"), &new)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn rotating_a_secret_revokes_the_tokens_issued_before() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (record, secret) = create_client(&app, "ci-bot", &["publisher"]).await;
    let token = app.token_for("ci-bot", &secret, None).await;
    assert_eq!(app.get("/publisher/v1/apis", &token).await.status(), 200);
    let rotated = app.rotate_secret(&admin, &record).await;
    let problem = expect_problem(app.get("/publisher/v1/apis", &token).await, 401).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    let fresh = app
        .token_for("ci-bot", rotated["clientSecret"].as_str().unwrap(), None)
        .await;
    assert_eq!(app.get("/publisher/v1/apis", &fresh).await.status(), 200);
}

#[tokio::test]
async fn a_token_grants_only_the_scopes_its_client_still_has() {
    let app = spawn_app().await;
    let (record, secret) = create_client(&app, "ops2", &["admin", "publisher"]).await;
    let token = app.token_for("ops2", &secret, None).await;
    sqlx::query("UPDATE api_clients SET scopes = '{publisher}' WHERE id = $1::uuid")
        .bind(&record)
        .execute(&app.state.db)
        .await
        .unwrap();
    expect_problem(app.get("/admin/v1/clients", &token).await, 403).await;
    assert_eq!(app.get("/publisher/v1/apis", &token).await.status(), 200);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_and_source_never_per_client_alone() {
    let app = spawn_app_with(&[
        ("token_failures_per_client_source", json!(3)),
        ("token_failures_per_source", json!(5)),
        ("trusted_proxies", json!(["127.0.0.1"])),
    ])
    .await;
    let attacker = Some("203.0.113.7");
    for _ in 0..3 {
        assert_eq!(login(&app, "admin", "wrong", attacker).await.status(), 401);
    }
    let throttled = login(&app, "admin", BOOTSTRAP_SECRET, attacker).await;
    assert_eq!(throttled.status(), 429);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // The admin is not locked out from elsewhere.
    assert_eq!(
        login(&app, "admin", BOOTSTRAP_SECRET, Some("198.51.100.2"))
            .await
            .status(),
        200
    );
    // The attacker's address may try other ids until the source's own limit.
    assert_eq!(login(&app, "ops", "wrong", attacker).await.status(), 401);
    assert_eq!(login(&app, "ops", "wrong", attacker).await.status(), 401);
    assert_eq!(login(&app, "ci", "wrong", attacker).await.status(), 429);
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_trusted_proxies() {
    let app = spawn_app_with(&[("token_failures_per_client_source", json!(2))]).await;
    // Each attempt claims another address; the peer (127.0.0.1) is what counts.
    for i in 0..2 {
        let claimed = format!("203.0.113.{i}");
        assert_eq!(
            login(&app, "admin", "wrong", Some(&claimed)).await.status(),
            401
        );
    }
    assert_eq!(
        login(&app, "admin", "wrong", Some("203.0.113.99"))
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn the_token_endpoint_answers_a_too_large_body_in_oauth_json() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}",
            "a".repeat(2 << 20)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_nul_in_the_client_id_is_a_failed_login_not_a_500() {
    let app = spawn_app().await;
    assert_eq!(login(&app, "ad\0min", "wrong", None).await.status(), 401);
}

// --- key-manager tokens --------------------------------------------------------------

/// A test IdP: an RSA key (committed for tests only) and its JWKS served on loopback.
const TEST_KEY_PEM: &str = include_str!("data/idp-test-key.pem");
const TEST_KEY_N: &str = "4fSmYM3MzCP3LI0l7dzylYUK-6xvpp-hMz-fYej_wWuSa8TUs686016UHIcC7hD4CEFfjGn1UqRmY4uXhp2emWvM_i3NqWcC0rNNGd_5iWUjXV-S2naRnvs5_ES7Z9oAROztesidBoip-oJ7Ci9jOuxIfj0gHxc2ps0YEwaLvpk3k5jk1ufxXHhrBAtumjqOXazJf1JZFyQX15PP_qV33V0ohUQQxwfMputix-GQjt2lKgcygGWN6peILFHpKfwYEEkmSoUZenrizJ7tHSrhwcNHSWESaSRgvKW_T9yzzlvXk1LXKk503Jb6t9u2uVPr9fEkVsmSZtiAa8BpN50CYw";

async fn serve_jwks() -> String {
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "test", "alg": "RS256", "use": "sig",
        "n": TEST_KEY_N, "e": "AQAB"}]});
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || async move { axum::Json(jwks) }),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn idp_token(issuer: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test".into());
    let now = chrono::Utc::now().timestamp();
    let mut body = json!({"iss": issuer, "sub": "dana", "iat": now, "exp": now + 600});
    body.as_object_mut()
        .unwrap()
        .extend(claims.as_object().unwrap().clone());
    jsonwebtoken::encode(
        &header,
        &body,
        &EncodingKey::from_rsa_pem(TEST_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn key_manager_tokens_are_refused_before_nbf_and_their_writes_audited() {
    let app = spawn_app().await;
    let base = serve_jwks().await;
    app.create_key_manager(&json!({"name": "test-idp", "type": "oidc", "issuer": base,
        "jwksUri": format!("{base}/jwks"), "tokenEndpoint": format!("{base}/token")}))
        .await;
    let now = chrono::Utc::now().timestamp();
    let valid = idp_token(&base, json!({}));
    assert_eq!(app.get("/devportal/v1/apis", &valid).await.status(), 200);
    let tomorrow = idp_token(&base, json!({"nbf": now + 86_400}));
    let problem = expect_problem(app.get("/devportal/v1/apis", &tomorrow).await, 401).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not valid yet"),
        "{problem}"
    );
    // Within the clock skew it is accepted.
    let skewed = idp_token(&base, json!({"nbf": now + 5}));
    assert_eq!(app.get("/devportal/v1/apis", &skewed).await.status(), 200);
    // An issuer no database can hold is just an invalid token.
    expect_problem(
        app.get("/devportal/v1/apis", &idp_token("\u{0}", json!({})))
            .await,
        401,
    )
    .await;

    // A key-manager developer's change is audited in their name.
    let id = app.create_application(&valid, "dana's app").await;
    let entries = audit(&app, "targetType=applications").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["action"], "applications.create");
    assert_eq!(entries[0]["targetId"], id);
    assert_eq!(entries[0]["actor"], format!("{base}#dana"));
}

#[tokio::test]
async fn concurrent_logins_do_not_exceed_the_check_bound() {
    let app = spawn_app_with(&[("token_max_concurrent_checks", json!(1))]).await;
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let http = app.http.clone();
            let url = app.url("/auth/token");
            tokio::spawn(async move {
                http.post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", &format!("x{i}")),
                        ("client_secret", "nope"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut peak = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while attempts.iter().any(|a| !a.is_finished()) && tokio::time::Instant::now() < deadline {
        peak = peak.max(app.state.hasher.in_use());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), 401);
    }
    assert_eq!(peak, 1);
}

/// Issue 11: with `require_if_match`, PUT, PATCH and DELETE of every resource with an ETag
/// need `If-Match` (428 naming it); a stale one is 412 on DELETE too, the current one or
/// `*` goes through. Other requests (POST, a lifecycle action) are as before.
#[tokio::test]
async fn require_if_match_makes_every_change_conditional() {
    let app = spawn_app_with(&[("require_if_match", json!(true))]).await;
    let admin = app.admin_token().await;
    let publisher = app.token("publisher").await;
    let developer = app.token("devportal").await;
    let created = async |path: &str, token: &str, body: &Value| -> String {
        let response = app.post_json(path, token, body).await;
        assert_eq!(response.status(), 201, "{path}");
        let created: Value = response.json().await.unwrap();
        format!("{path}/{}", created["id"].as_str().unwrap())
    };
    let environment = json!({"name": "env", "provider": "aws", "config": {
        "region": "us-east-1", "stage": "dev", "credentials": {"type": "default"}}});
    let key_manager = json!({"name": "idp", "type": "oidc",
        "issuer": "https://idp.example.com/", "jwksUri": "https://idp.example.com/jwks",
        "tokenEndpoint": "https://idp.example.com/token"});
    let description = Some(json!({"description": "changed"}));
    let cases = [
        (
            "/admin/v1/environments",
            &admin,
            environment,
            description.clone(),
        ),
        (
            "/admin/v1/key-managers",
            &admin,
            key_manager,
            Some(json!({"displayName": "changed"})),
        ),
        (
            "/publisher/v1/apis",
            &publisher,
            api_body("Petstore"),
            description,
        ),
        // Applications have no PATCH.
        (
            "/devportal/v1/applications",
            &developer,
            json!({"name": "shop"}),
            None,
        ),
    ];
    for (collection, token, body, patch) in &cases {
        let path = created(collection, token, body).await;
        let path = path.as_str();
        let current: Value = app.get(path, token).await.json().await.unwrap();
        let problem = expect_problem(app.put_json(path, token, &current, None).await, 428).await;
        assert_eq!(problem["type"], "urn:fedgate:problem:precondition-required");
        assert!(
            problem["detail"].as_str().unwrap().contains("If-Match"),
            "{problem}"
        );
        expect_problem(app.delete(path, token).await, 428).await;
        let put = app.put_json(path, token, &current, Some("\"1\"")).await;
        assert_eq!(put.status(), 200, "PUT {path}");
        if let Some(patch) = patch {
            expect_problem(app.merge_patch(path, token, patch, None).await, 428).await;
            app.merge_patch_ok(path, token, patch, Some("*")).await;
        }

        let delete = async |if_match: &str| {
            app.http
                .delete(app.url(path))
                .bearer_auth(token)
                .header("if-match", if_match)
                .send()
                .await
                .unwrap()
        };
        expect_problem(delete("\"1\"").await, 412).await;
        let etag = app.get(path, token).await.headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(delete(&etag).await.status(), 204, "DELETE {path}");
        expect_problem(app.get(path, token).await, 404).await;
    }
    // A lifecycle action takes If-Match but does not need it.
    let api = created("/publisher/v1/apis", &publisher, &api_body("Other")).await;
    let published = app
        .post_json(
            &format!("{api}/lifecycle"),
            &publisher,
            &json!({"action": "publish"}),
        )
        .await;
    assert_eq!(published.status(), 200);
}
