//! The HTTP edge: slow and too many connections, control characters in paths, queries and
//! bodies, request ids, and the label space of the request metrics.

use crate::common::spawn_app;

#[tokio::test]
async fn invented_methods_share_one_metrics_label() {
    let app = spawn_app().await;
    for i in 0..5 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let response = app
            .http
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
    }
    app.http.get(app.url("/healthz")).send().await.unwrap();
    let metrics = app.metrics().await;
    assert!(!metrics.contains("INVENTED"), "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("method=\"other\"")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("method=\"GET\"")
            && l.contains("route=\"/healthz\"")),
        "{metrics}"
    );
}
