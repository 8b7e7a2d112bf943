use axum::Router;
use axum::routing::get;
use fedgate::domain::ids::KeyManagerId;
use fedgate::store::key_managers::{self as store, KeyManagerWrite, UpsertError};
use serde_json::{Value, json};

use crate::common::{error_fields, expect_problem, spawn_app};

/// Serves an IdP's metadata on `ip`:0 at `path`, naming `issuer(base)` as the issuer;
/// returns the base URL.
async fn metadata_server(ip: &str, path: &str, issuer: impl Fn(&str) -> String) -> String {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let document = json!({
        "issuer": issuer(&base),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "token_endpoint": format!("{base}/oauth/token"),
        "registration_endpoint": format!("{base}/oidc/register"),
        "grant_types_supported": ["client_credentials"]
    });
    let app = Router::new().route(
        path,
        get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Serves an OIDC discovery document on `ip`:0, as an IdP would.
async fn discovery_server(ip: &str) -> String {
    metadata_server(ip, "/.well-known/openid-configuration", |base| {
        format!("{base}/")
    })
    .await
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

#[tokio::test]
async fn a_discovered_issuer_must_be_where_its_metadata_was_found() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let path = "/.well-known/openid-configuration";
    let base = metadata_server("127.0.0.1", path, |_| "https://idp.example.com/".into()).await;
    let well_known = format!("{base}{path}");
    let problem = expect_problem(
        app.post_json(
            "/admin/v1/key-managers",
            &admin,
            &json!({"name": "vouched", "type": "oidc", "wellKnownUrl": well_known}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["wellKnownUrl"]);
    let reason = problem["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("https://idp.example.com/") && reason.contains(&well_known),
        "{reason}"
    );

    // RFC 8414: the well-known segment inserted between the host and the issuer's path.
    let path = "/.well-known/oauth-authorization-server/tenant";
    let base = metadata_server("127.0.0.1", path, |base| format!("{base}/tenant")).await;
    let created = app
        .create_key_manager(&json!({"name": "tenant", "type": "oidc",
            "wellKnownUrl": format!("{base}{path}")}))
        .await;
    assert_eq!(created["issuer"], format!("{base}/tenant"));
}

#[tokio::test]
async fn an_issuer_belongs_to_one_key_manager() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = |name: &str, issuer: &str| {
        json!({"name": name, "type": "oidc", "issuer": issuer,
            "jwksUri": "https://idp.example.com/jwks",
            "tokenEndpoint": "https://idp.example.com/token"})
    };
    let first = app
        .create_key_manager(&body("corp-idp", "https://idp.example.com/"))
        .await;
    // Tokens name the issuer with or without the trailing slash: the same issuer.
    let problem = expect_problem(
        app.post_json(
            "/admin/v1/key-managers",
            &admin,
            &body("again", "https://idp.example.com"),
        )
        .await,
        409,
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("`corp-idp`") && detail.contains("https://idp.example.com/"),
        "{detail}"
    );

    let other = app
        .create_key_manager(&body("other", "https://other.example.com/"))
        .await;
    let other_path = format!("/admin/v1/key-managers/{}", other["id"].as_str().unwrap());
    let problem = expect_problem(
        app.put_json(
            &other_path,
            &admin,
            &body("other", "https://idp.example.com/"),
            None,
        )
        .await,
        409,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("`corp-idp`"));

    // A key manager keeps its own issuer on a replace.
    let first_path = format!("/admin/v1/key-managers/{}", first["id"].as_str().unwrap());
    let mut renamed = body("corp-idp", "https://idp.example.com/");
    renamed["displayName"] = json!("Corporate IdP");
    let response = app.put_json(&first_path, &admin, &renamed, None).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn racing_claims_of_one_issuer_make_one_key_manager() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut claims = tokio::task::JoinSet::new();
    for i in 0..8 {
        let request = app
            .http
            .post(app.url("/admin/v1/key-managers"))
            .bearer_auth(&admin)
            .json(&json!({"name": format!("idp-{i}"), "type": "oidc",
                "issuer": "https://idp.example.com/",
                "jwksUri": "https://idp.example.com/jwks",
                "tokenEndpoint": "https://idp.example.com/token"}));
        claims.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let mut statuses = claims.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn the_unique_index_backs_the_issuer_check() {
    let app = spawn_app().await;
    let write = |name: &str, issuer: &str| KeyManagerWrite {
        id: KeyManagerId::new(),
        name: name.into(),
        display_name: name.into(),
        well_known_url: None,
        issuer: issuer.into(),
        jwks_uri: "https://idp.example.com/jwks".into(),
        token_endpoint: "https://idp.example.com/token".into(),
        registration_endpoint: None,
        audience: None,
        scopes: Vec::new(),
        registration_token: None,
        actor: "test".into(),
    };
    store::upsert(
        &app.state.db,
        &write("one", "https://idp.example.com/"),
        None,
    )
    .await
    .unwrap();
    let second = store::upsert(
        &app.state.db,
        &write("two", "https://idp.example.com"),
        None,
    )
    .await;
    assert!(
        matches!(second, Err(UpsertError::IssuerTaken)),
        "{second:?}"
    );
}

/// Issue 11: a merge patch changes only what it names; the registration token (write-only)
/// is kept when omitted and removed by `null`; a new `wellKnownUrl` is discovered again.
#[tokio::test]
async fn merge_patch_changes_only_what_it_names() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let base = discovery_server("127.0.0.1").await;
    let created = app
        .post_json(
            "/admin/v1/key-managers",
            &admin,
            &json!({"name": "corp", "type": "oidc",
                    "wellKnownUrl": format!("{base}/.well-known/openid-configuration"),
                    "audience": "https://pets.example", "scopes": ["pets:read"],
                    "registrationToken": "initial-access-token-123"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let path = format!("/admin/v1/key-managers/{}", created["id"].as_str().unwrap());

    let display_name = json!({"displayName": "Corporate IdP"});
    let (patched, etag) = app
        .merge_patch_ok(&path, &admin, &display_name, Some("\"1\""))
        .await;
    assert_eq!(etag, "\"2\"");
    assert_eq!(patched["displayName"], "Corporate IdP");
    for kept in [
        "audience",
        "scopes",
        "issuer",
        "tokenEndpoint",
        "wellKnownUrl",
    ] {
        assert_eq!(patched[kept], created[kept], "{kept}");
    }
    assert_eq!(patched["registrationTokenSet"], true);
    assert_eq!(
        app.audit_actions(&admin, "key-managers").await[..2],
        ["key-managers.update success", "key-managers.create success"]
    );
    let stale = app.merge_patch(&path, &admin, &display_name, Some("\"1\""));
    expect_problem(stale.await, 412).await;

    // `null` removes: an optional setting, and the registration token.
    let nulls = json!({"audience": null, "registrationToken": null});
    let (removed, _) = app.merge_patch_ok(&path, &admin, &nulls, None).await;
    assert_eq!(removed["audience"], Value::Null);
    assert_eq!(removed["registrationTokenSet"], false);
    assert_eq!(removed["displayName"], "Corporate IdP");

    // A new metadata URL: the endpoints the patch does not give are discovered there.
    let other = metadata_server("127.0.0.1", "/.well-known/openid-configuration", |base| {
        format!("{base}/")
    })
    .await;
    let well_known = json!({"wellKnownUrl": format!("{other}/.well-known/openid-configuration")});
    let (moved, _) = app.merge_patch_ok(&path, &admin, &well_known, None).await;
    assert_eq!(moved["issuer"], format!("{other}/"));
    assert_eq!(moved["tokenEndpoint"], format!("{other}/oauth/token"));

    let problem = expect_problem(
        app.merge_patch(&path, &admin, &json!({"scopes": "not a list"}), None)
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["scopes"]);
}
