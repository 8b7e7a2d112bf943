//! An app whose gateways are the in-memory fake: the service layer and the deploy workers
//! run for real against Postgres, with no emulator.

use std::sync::Arc;
use std::time::Duration;

use fedgate::aws::fake::{FakeGateway, FakeGateways};
use serde_json::{Value, json};

use super::{TestApp, fresh_database, spawn_app_at};

pub struct FakeFixture {
    pub app: TestApp,
    pub gateway: FakeGateway,
    pub publisher: String,
    pub environment: String,
    pub environment_id: String,
}

/// Settings that keep the tests quick (no quota spacing, fast polling), then `extra`.
pub fn quick(extra: &[(&'static str, Value)]) -> Vec<(&'static str, Value)> {
    let mut settings = crate::deployments::fast_limits();
    settings.extend(extra.iter().cloned());
    settings
}

pub async fn fake_fixture(extra: &[(&'static str, Value)]) -> FakeFixture {
    fake_fixture_at(fresh_database().await, extra).await
}

/// The fixture on the database at `database_url` (a private cluster a test stops).
pub async fn fake_fixture_at(database_url: String, extra: &[(&'static str, Value)]) -> FakeFixture {
    let gateways = FakeGateways::default();
    let gateway = gateways.gateway.clone();
    let app = spawn_app_at(database_url, &quick(extra), Some(Arc::new(gateways))).await;
    let admin = app.admin_token().await;
    let response = app
        .post_json(
            "/admin/v1/environments",
            &admin,
            &json!({"name": "fake", "provider": "aws", "config": {
                "region": "us-east-1", "stage": "prod", "endpointUrl": "http://127.0.0.1:9",
                "credentials": {"type": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "testing-secret"}}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    FakeFixture {
        publisher: app.token("publisher").await,
        environment_id: created["id"].as_str().unwrap().to_owned(),
        environment: "fake".into(),
        gateway,
        app,
    }
}

/// A two-resource API with no policy.
pub fn pets(name: &str) -> Value {
    json!({
        "name": name, "version": "1.0.0", "context": format!("/{}", name.to_lowercase()),
        "endpointUrl": "https://backend.example.com/api",
        "resources": [{"method": "GET", "path": "/pets"}, {"method": "GET", "path": "/pets/{petId}"}]
    })
}

impl FakeFixture {
    /// Creates an API and returns its id.
    pub async fn create_api(&self, body: &Value) -> String {
        let created = self.app.create_api(&self.publisher, body).await;
        created["id"].as_str().unwrap().to_owned()
    }

    /// The API's deployments (first page).
    pub async fn deployments(&self, api: &str) -> Vec<Value> {
        let list = self
            .app
            .get_ok(
                &format!("/publisher/v1/apis/{api}/deployments"),
                &self.publisher,
            )
            .await;
        list["items"].as_array().unwrap().clone()
    }

    /// Queues a deploy without waiting; returns the deployment (202).
    pub async fn queue_deploy(&self, api: &str) -> Value {
        let response = self
            .request_deploy(api, "", json!({"environment": self.environment}))
            .await;
        assert_eq!(response.status(), 202);
        response.json().await.unwrap()
    }

    /// DELETE …/apis/{id}?force=true, expecting 202 with `deleting: true`.
    pub async fn force_delete(&self, api: &str) -> Value {
        let response = self
            .app
            .delete(
                &format!("/publisher/v1/apis/{api}?force=true"),
                &self.publisher,
            )
            .await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["deleting"], true, "{body:#}");
        body
    }

    /// POST …/deployments with `query` (e.g. `?wait=10`) and `body`.
    pub async fn request_deploy(&self, api: &str, query: &str, body: Value) -> reqwest::Response {
        self.app
            .post_json(
                &format!("/publisher/v1/apis/{api}/deployments{query}"),
                &self.publisher,
                &body,
            )
            .await
    }

    /// Deploys and waits until it is deployed.
    pub async fn deploy(&self, api: &str) -> Value {
        let response = self
            .request_deploy(api, "?wait=20", json!({"environment": self.environment}))
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(body["status"], "deployed", "{body:#}");
        body
    }

    pub async fn lifecycle(&self, api: &str, action: &str) -> reqwest::Response {
        self.app
            .post_json(
                &format!("/publisher/v1/apis/{api}/lifecycle"),
                &self.publisher,
                &json!({"action": action}),
            )
            .await
    }

    /// Polls `path` until `done` holds for its body (at most `seconds`).
    pub async fn eventually(
        &self,
        path: &str,
        seconds: u64,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let response = self.app.get(path, &self.publisher).await;
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never got there; last: {body:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `count` statements of this test's database wait on a row lock.
    pub async fn lock_waiters(&self, count: i64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&self.app.state.db)
            .await
            .unwrap();
            if waiting >= count {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
