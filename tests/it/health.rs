use serde_json::Value;

use crate::common::spawn_app;

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
