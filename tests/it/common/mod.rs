//! `spawn_app()`: the real application on 127.0.0.1:0 against a fresh Postgres database.

use std::net::SocketAddr;

use fedgate::AppState;
use fedgate::config::{Config, DEFAULTS_TOML};
use figment::Figment;
use figment::providers::{Format, Toml};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

pub mod devportal;
pub mod fake;
pub mod localstack;
pub mod publisher;

pub const BOOTSTRAP_SECRET: &str = "test-bootstrap-secret";

/// Where test databases are created; `TEST_DATABASE_URL` overrides the machine default.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The moto server started by `scripts/test`.
pub fn moto_url() -> String {
    std::env::var("TEST_MOTO_URL")
        .expect("TEST_MOTO_URL is not set: run the suite with scripts/test, which starts moto")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub state: AppState,
    pub database_url: String,
    _data_dir: tempfile::TempDir,
}

/// Creates a database with a unique name and returns its URL.
pub async fn fresh_database() -> String {
    let server = server_url();
    let name = format!("fedgate_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&server)
        .await
        .expect("connect to the test Postgres (TEST_DATABASE_URL)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let (base, _) = server.rsplit_once('/').expect("a database URL has a path");
    format!("{base}/{name}")
}

/// Configuration for a test app: defaults, a fresh database, fixed test secrets, and
/// whatever `extra` sets (key, value) on top.
pub fn test_config(
    database_url: &str,
    data_dir: &std::path::Path,
    extra: &[(&str, Value)],
) -> Config {
    let mut figment = Figment::from(Toml::string(DEFAULTS_TOML))
        .merge(("listen_addr", "127.0.0.1:0"))
        .merge(("database_url", database_url))
        .merge(("data_dir", data_dir.to_str().unwrap()))
        .merge(("bootstrap_admin_secret", BOOTSTRAP_SECRET))
        .merge(("master_key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="))
        // Tests reach emulators on loopback only. oauth2-mock-server names itself
        // `http://localhost:PORT` in its discovery document (issuer, token and JWKS URLs):
        // allowing the name keeps that document usable as an IdP would serve it.
        .merge(("outbound_allow", vec!["127.0.0.1", "localhost"]))
        // The drift scan runs only in the tests that set an interval.
        .merge(("drift_scan_interval_secs", 0));
    for (key, value) in extra {
        figment = figment.merge((*key, value.clone()));
    }
    Config::from_figment(figment).expect("a valid test configuration")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, Value)]) -> TestApp {
    spawn_app_at(fresh_database().await, extra, None).await
}

/// The app on the database at `database_url`, with the given gateways (the in-memory
/// fake) or AWS's.
pub async fn spawn_app_at(
    database_url: String,
    extra: &[(&str, Value)],
    gateways: Option<std::sync::Arc<dyn fedgate::aws::connector::Gateways>>,
) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(&database_url, data_dir.path(), extra);
    let app = fedgate::Application::build_with(config, gateways)
        .await
        .expect("the app builds");
    let addr = app.local_addr();
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        addr,
        http: reqwest::Client::new(),
        state,
        database_url,
        _data_dir: data_dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A token from /auth/token for `client_id`/`secret`, optionally narrowed to `scope`.
    pub async fn token_for(&self, client_id: &str, secret: &str, scope: Option<&str>) -> String {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let response = self
            .http
            .post(self.url("/auth/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "token request failed");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A token of the bootstrap admin client, narrowed to `scope`.
    pub async fn token(&self, scope: &str) -> String {
        self.token_for("admin", BOOTSTRAP_SECRET, Some(scope)).await
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin").await
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// PUT with an optional `If-Match`.
    pub async fn put_json(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.put(self.url(path)).bearer_auth(token).json(body);
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        request.send().await.unwrap()
    }

    /// PATCH with a JSON merge patch (`application/merge-patch+json`) and an optional
    /// `If-Match`.
    pub async fn merge_patch(
        &self,
        path: &str,
        token: &str,
        patch: &Value,
        if_match: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .patch(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string());
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        request.send().await.unwrap()
    }

    /// A merge patch that must succeed: the changed resource and its new ETag.
    pub async fn merge_patch_ok(
        &self,
        path: &str,
        token: &str,
        patch: &Value,
        if_match: Option<&str>,
    ) -> (Value, String) {
        let response = self.merge_patch(path, token, patch, if_match).await;
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "PATCH {path} {patch}: {body}");
        (body, etag)
    }

    /// The actions of the audit log's entries on `target_type`, newest first.
    pub async fn audit_actions(&self, admin: &str, target_type: &str) -> Vec<String> {
        let page: Value = self
            .get(&format!("/admin/v1/audit?targetType={target_type}"), admin)
            .await
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["action"].as_str().unwrap(),
                    e["outcome"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let response = self.http.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// Creates an API client (as the admin `token`) and returns it with its secret.
    /// Rotates a client's secret, returning the answer (with the new `clientSecret`).
    pub async fn rotate_secret(&self, admin: &str, record: &str) -> Value {
        let response = self
            .post_json(
                &format!("/admin/v1/clients/{record}/rotate-secret"),
                admin,
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn create_client(&self, token: &str, body: &Value) -> Value {
        let response = self.post_json("/admin/v1/clients", token, body).await;
        assert_eq!(response.status(), 201, "creating a client");
        response.json().await.unwrap()
    }

    /// The event kinds of a deployment's history, oldest first.
    pub async fn history_kinds(&self, api: &str, deployment: &Value, token: &str) -> Vec<String> {
        let path = format!(
            "/publisher/v1/apis/{api}/deployments/{}",
            deployment["id"].as_str().unwrap()
        );
        let response = self.get(&path, token).await;
        assert_eq!(response.status(), 200);
        let detail: Value = response.json().await.unwrap();
        detail["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits (at most `seconds`) until GET `path` answers 404.
    pub async fn wait_until_gone(&self, path: &str, token: &str, seconds: u64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        while self.get(path, token).await.status() != 404 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never went away"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// Asserts a problem+json response of `status` and returns its body.
/// Everything the app logs, at every level, kept in memory.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Installs a subscriber that captures every log line (once per test process: nextest
/// runs each test in its own).
pub fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .init();
    captured
}

/// An actor for calling services directly, as a client named `name` would.
pub fn actor(name: &str) -> fedgate::service::Actor {
    use fedgate::auth::tokens::{Principal, Subject};
    fedgate::service::Actor {
        principal: Principal {
            subject: Subject::Client {
                record: fedgate::domain::ids::ClientRecordId::new(),
                client_id: name.to_owned(),
            },
            scopes: fedgate::domain::scope::Scopes::all(),
        },
        request_id: None,
    }
}

pub async fn expect_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

/// The field names of a validation problem's `errors[]`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}
