//! Developers signed in at an external IdP: RS256 tokens of a registered key manager
//! (oauth2-mock-server), verified against its JWKS, are devportal principals — and
//! nothing more.

use serde_json::{Value, json};

use crate::common::devportal::oidc_url;
use crate::common::{expect_problem, spawn_app};

/// A token the OIDC mock issues to user `username` (password grant: `sub` = the user).
async fn idp_token(username: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/token", oidc_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("client_id", "portal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_trusted_idps_users_are_developers_with_their_own_applications() {
    let app = spawn_app().await;
    let erin = idp_token("erin").await;
    // Before the IdP is registered, its tokens mean nothing here.
    expect_problem(app.get("/devportal/v1/apis", &erin).await, 401).await;

    app.oidc_key_manager("corp-idp", json!({})).await;
    assert_eq!(app.get("/devportal/v1/apis", &erin).await.status(), 200);
    let id = app.create_application(&erin, "Erin's app").await;
    let created = app
        .get_ok(&format!("/devportal/v1/applications/{id}"), &erin)
        .await;
    let owner = created["owner"].as_str().unwrap();
    assert!(
        owner.starts_with("http://localhost:") && owner.ends_with("#erin"),
        "{owner}"
    );

    // Another user of the same IdP is another developer.
    let frank = idp_token("frank").await;
    expect_problem(
        app.get(&format!("/devportal/v1/applications/{id}"), &frank)
            .await,
        404,
    )
    .await;

    // Only the portal: not admin, not publisher.
    expect_problem(app.get("/admin/v1/environments", &erin).await, 401).await;
    expect_problem(app.get("/publisher/v1/apis", &erin).await, 401).await;

    // A forged signature is refused.
    let mut forged = erin.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    expect_problem(app.get("/devportal/v1/apis", &forged).await, 401).await;
}

#[tokio::test]
async fn an_audience_on_the_key_manager_is_enforced() {
    let app = spawn_app().await;
    app.oidc_key_manager("corp-idp", json!({"audience": "https://fedgate.example"}))
        .await;
    // The mock's password-grant tokens carry no `aud`.
    expect_problem(
        app.get("/devportal/v1/apis", &idp_token("erin").await)
            .await,
        401,
    )
    .await;
}
