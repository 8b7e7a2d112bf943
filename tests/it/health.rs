use std::time::{Duration, Instant};

use fedgate::store::embedded::EmbeddedPostgres;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::common::fake::{fake_fixture_at, pets};
use crate::common::{expect_problem, spawn_app, test_config};

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db.close().await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

#[tokio::test]
async fn a_database_url_at_a_closed_port_fails_the_start_at_once_in_words() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://fedgate:password-in-the-url@127.0.0.1:{port}/fedgate");
    let data_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let error = fedgate::Application::build(test_config(&url, data_dir.path(), &[]))
        .await
        .err()
        .expect("the start fails");
    assert_eq!(
        format!("{error:#}"),
        format!("cannot connect to the database at 127.0.0.1:{port}: connection refused")
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A 503 problem saying the database is unreachable, answered within 3 s of `started`.
async fn assert_unavailable(response: reqwest::Response, started: Instant, what: &str) {
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{what} took {elapsed:?}");
    assert_eq!(response.headers()["retry-after"], "2", "{what}");
    let problem = expect_problem(response, 503).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the database is unreachable"),
        "{what}: {problem}"
    );
}

#[tokio::test]
async fn while_the_database_is_down_readiness_and_requests_fail_fast_then_recover() {
    // A private cluster this test stops and starts again (never the machine's own).
    let pg_dir = tempfile::tempdir().unwrap();
    let mut cluster = EmbeddedPostgres::start(pg_dir.path()).await.unwrap();
    let f = fake_fixture_at(
        cluster.database_url().expose_secret().to_owned(),
        &[("deploy_lease_secs", json!(2))],
    )
    .await;
    let app = &f.app;
    let admin = app.admin_token().await;
    let before = app
        .create_client(
            &admin,
            &json!({"name": "before the outage", "scopes": ["publisher"]}),
        )
        .await;
    // A deploy in flight: the gateway is creating its REST API when the database goes.
    f.gateway.slow_create(Duration::from_secs(3));
    let api = f.create_api(&pets("Outage")).await;
    let deployment = f.queue_deploy(&api).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, String>("SELECT status FROM deploy_jobs")
        .fetch_one(&app.state.db)
        .await
        .unwrap()
        != "running"
    {
        assert!(Instant::now() < deadline, "the deploy never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    cluster.stop().await.unwrap();

    // A load balancer's probe sees "not ready" well within its timeout.
    let started = Instant::now();
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "/readyz took {:?}",
        started.elapsed()
    );
    // Liveness says nothing of the database.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let started = Instant::now();
    let response = app.get("/admin/v1/clients", &admin).await;
    assert_unavailable(response, started, "a read").await;
    let started = Instant::now();
    let response = app
        .post_json(
            "/admin/v1/clients",
            &admin,
            &json!({"name": "during the outage", "scopes": ["publisher"]}),
        )
        .await;
    assert_unavailable(response, started, "a write").await;
    let started = Instant::now();
    let response = app
        .http
        .post(app.url("/auth/token"))
        .basic_auth("admin", Some(crate::common::BOOTSTRAP_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "a token request");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a token request took {:?}",
        started.elapsed()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    // Back on the same port: ready again, with what was there before the outage.
    cluster.relaunch().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = app.get_ok("/admin/v1/clients?limit=100", &admin).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&before["name"].as_str().unwrap()),
        "{names:?}"
    );
    assert!(!names.contains(&"during the outage"), "{names:?}");
    app.create_client(
        &admin,
        &json!({"name": "after the outage", "scopes": ["publisher"]}),
    )
    .await;
    // The deploy whose outcome could not be recorded is taken up again once its lease
    // lapses, and adopts the REST API it created: deployed, once.
    let path = format!(
        "/publisher/v1/apis/{api}/deployments/{}",
        deployment["id"].as_str().unwrap()
    );
    f.eventually(&path, 20, |d| d["status"] == "deployed").await;
    assert_eq!(
        f.gateway.count("CreateRestApi"),
        1,
        "{:?}",
        f.gateway.calls()
    );
    assert_eq!(f.gateway.apis().len(), 1);

    cluster.stop().await.unwrap();
    if cluster.cluster_dir().starts_with("/var/lib/fedgate") {
        std::fs::remove_dir_all(cluster.cluster_dir()).unwrap();
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let path = format!("/admin/v1/clients/{}", uuid::Uuid::new_v4());
    assert_eq!(app.get(&path, &token).await.status(), 404);
    let metrics = app.metrics().await;
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/admin/v1/clients/{id}\"")
            && l.contains("status=\"404\"")),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn served_openapi_matches_the_committed_spec() {
    let app = spawn_app().await;
    let served: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json exists"),
    )
    .unwrap();
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -q -- openapi > openapi/openapi.json`"
    );
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/auth/token",
        "/admin/v1/clients",
        "/admin/v1/clients/{id}",
        "/publisher/v1/apis",
        "/publisher/v1/apis/{id}",
    ] {
        assert!(
            served["paths"][path].is_object(),
            "{path} is missing from the spec"
        );
    }
}

#[tokio::test]
async fn browsable_docs_are_served_without_any_other_host() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<code>/publisher/v1/apis/{id}</code>"));
    assert!(page.contains("href=\"/openapi.json\""));
    // Nothing is loaded from elsewhere: no script, stylesheet, image or font URL.
    for loader in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!page.contains(loader), "{loader}");
    }
}
