//! Building blocks of the developer-portal tests: developers, key managers, published APIs.

use serde_json::{Value, json};

use super::TestApp;

/// The oauth2-mock-server started by `scripts/test`.
pub fn oidc_url() -> String {
    std::env::var("TEST_OIDC_URL").expect(
        "TEST_OIDC_URL is not set: run the suite with scripts/test, which starts the OIDC mock",
    )
}

/// The OIDC mock's issuer: its URL under the name it gives itself (`localhost`), where
/// its metadata must be fetched from for the issuer to match (OIDC Discovery §4.3).
pub fn oidc_issuer() -> String {
    oidc_url().replacen("://127.0.0.1:", "://localhost:", 1)
}

impl TestApp {
    /// Creates a `devportal` client `client_id` and returns a token of it.
    pub async fn developer(&self, client_id: &str) -> String {
        let admin = self.admin_token().await;
        let response = self
            .post_json(
                "/admin/v1/clients",
                &admin,
                &json!({"name": client_id, "clientId": client_id, "scopes": ["devportal"]}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        let secret = created["clientSecret"].as_str().unwrap();
        self.token_for(client_id, secret, None).await
    }

    /// Registers the OIDC mock as key manager `name`, discovered from its metadata.
    pub async fn oidc_key_manager(&self, name: &str, extra: Value) -> Value {
        let mut body = json!({"name": name, "type": "oidc",
            "wellKnownUrl": format!("{}/.well-known/openid-configuration", oidc_issuer())});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        self.create_key_manager(&body).await
    }

    pub async fn create_key_manager(&self, body: &Value) -> Value {
        let admin = self.admin_token().await;
        let response = self.post_json("/admin/v1/key-managers", &admin, body).await;
        let status = response.status();
        let created: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "registering a key manager failed: {created}");
        created
    }

    /// Runs a lifecycle action on an API, asserting success.
    pub async fn lifecycle(&self, publisher: &str, api_id: &str, action: &str) {
        let response = self
            .post_json(
                &format!("/publisher/v1/apis/{api_id}/lifecycle"),
                publisher,
                &json!({"action": action}),
            )
            .await;
        assert_eq!(
            response.status(),
            200,
            "{action} failed: {}",
            response.text().await.unwrap()
        );
    }

    /// Creates an application for `developer`, returning its id.
    pub async fn create_application(&self, developer: &str, name: &str) -> String {
        let response = self
            .post_json(
                "/devportal/v1/applications",
                developer,
                &json!({"name": name}),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}
