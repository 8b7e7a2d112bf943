//! The HTTP edge: slow and too many connections, control characters in paths, queries and
//! bodies, request ids, and the label space of the request metrics.

use serde_json::{Value, json};

use crate::common::spawn_app;

#[tokio::test]
async fn an_unusable_request_id_is_replaced_everywhere() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let long = "a".repeat(65);
    for (i, bad) in [long.as_str(), "has space", "semi;colon", "é-accent", ""]
        .into_iter()
        .enumerate()
    {
        let response = app
            .http
            .post(app.url("/admin/v1/clients"))
            .bearer_auth(&admin)
            .header("x-request-id", bad)
            .json(&json!({"name": format!("rid{i}"), "scopes": ["admin"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{bad:?} became {id:?}");
        let audit: Value = app
            .get("/admin/v1/audit?targetType=clients&limit=1", &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(audit["items"][0]["requestId"], id.as_str(), "{audit}");
    }
    let good = "trace-01.ABC:z_9";
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], good);
    let longest = "b".repeat(64);
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", &longest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], longest.as_str());
}

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
