//! The HTTP edge: slow and too many connections, control characters in paths, queries and
//! bodies, request ids, and the label space of the request metrics.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::publisher::api_body;
use crate::common::{error_fields, expect_problem, spawn_app, spawn_app_with};

/// Reads until the server closes the connection, or `limit` passes (then `None`).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut received)).await {
        // A reset is a close too.
        Ok(_) => Some(received),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_half_sent_request_line_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(&[("header_read_timeout_secs", json!(1))]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /heal").await.unwrap();
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "a connection that sent half a request line was still open after 5 s"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_beyond_the_limit_waits_until_one_closes() {
    let app = spawn_app_with(&[
        ("max_connections", json!(2)),
        ("header_read_timeout_secs", json!(30)),
    ])
    .await;
    let first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: fedgate\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    assert!(
        tokio::time::timeout(Duration::from_secs(1), third.read(&mut head))
            .await
            .is_err(),
        "a third connection was served while two were open (limit 2)"
    );
    drop(first);
    let response = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("the third connection is served once another closes");
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

#[tokio::test]
async fn control_characters_are_refused_at_the_edge_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let publisher = app.token("publisher").await;
    let api = app.create_api(&publisher, &api_body("Nul")).await;
    let api_id = api["id"].as_str().unwrap();

    let mut described = api_body("Nul2");
    described["description"] = json!("pets\u{0}");
    let mut resource = api_body("Nul3");
    resource["resources"][1]["description"] = json!("one\u{0}pet");
    let mut replaced = api_body("Nul");
    replaced["description"] = json!("\u{0}");
    let environment = json!({"name": "nul", "displayName": "N\u{0}L", "provider": "aws",
        "config": {"region": "eu-west-1", "stage": "prod", "credentials": {"type": "default"}}});
    let client = json!({"name": "c\u{0}", "scopes": ["admin"]});

    // (method, path, token, body, field named)
    let cases: Vec<(&str, String, &str, Option<Value>, &str)> = vec![
        (
            "GET",
            "/publisher/v1/apis/%00".into(),
            &publisher,
            None,
            "path",
        ),
        (
            "GET",
            "/admin/v1/environments/%00".into(),
            &admin,
            None,
            "path",
        ),
        (
            "GET",
            "/admin/v1/environments/a%01b".into(),
            &admin,
            None,
            "path",
        ),
        (
            "GET",
            "/publisher/v1/apis?name=%00".into(),
            &publisher,
            None,
            "name",
        ),
        (
            "GET",
            "/publisher/v1/apis?name=a%0Db".into(),
            &publisher,
            None,
            "name",
        ),
        (
            "GET",
            "/admin/v1/audit?actor=%00".into(),
            &admin,
            None,
            "actor",
        ),
        (
            "GET",
            "/admin/v1/audit?targetId=%00".into(),
            &admin,
            None,
            "targetId",
        ),
        (
            "GET",
            "/admin/v1/deployments?environment=%00".into(),
            &admin,
            None,
            "environment",
        ),
        (
            "POST",
            "/publisher/v1/apis".into(),
            &publisher,
            Some(described),
            "description",
        ),
        (
            "POST",
            "/publisher/v1/apis".into(),
            &publisher,
            Some(resource),
            "resources[1].description",
        ),
        (
            "PUT",
            format!("/publisher/v1/apis/{api_id}"),
            &publisher,
            Some(replaced),
            "description",
        ),
        (
            "POST",
            "/admin/v1/environments".into(),
            &admin,
            Some(environment),
            "displayName",
        ),
        (
            "POST",
            "/admin/v1/clients".into(),
            &admin,
            Some(client),
            "name",
        ),
        (
            "POST",
            "/publisher/v1/apis/import".into(),
            &publisher,
            Some(json!({"document": {"openapi": "3.0.0",
                "info": {"title": "Imported", "version": "1", "description": "x\u{0}"},
                "servers": [{"url": "https://b.example.com"}], "paths": {}}})),
            "document.info.description",
        ),
    ];
    for (method, path, token, body, field) in cases {
        let mut request = app
            .http
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_ne!(response.status(), 500, "{method} {path}");
        let problem = expect_problem(response, 400).await;
        assert_eq!(
            error_fields(&problem),
            [field],
            "{method} {path}: {problem}"
        );
    }
}

#[tokio::test]
async fn text_the_database_cannot_store_is_400_not_500() {
    // Past the edge checks (a document given as text is parsed by the service): the
    // database refuses the NUL, and that is the caller's error.
    let app = spawn_app().await;
    let publisher = app.token("publisher").await;
    let document = "openapi: 3.0.0\ninfo:\n  title: Yaml\n  version: '1'\n  description: \"a\\0b\"\n\
                    servers:\n  - url: https://b.example.com\npaths: {}\n";
    let response = app
        .post_json(
            "/publisher/v1/apis/import",
            &publisher,
            &json!({ "document": document }),
        )
        .await;
    assert_ne!(response.status(), 500);
    expect_problem(response, 400).await;
}

#[tokio::test]
async fn newlines_and_tabs_in_descriptions_are_kept() {
    let app = spawn_app().await;
    let publisher = app.token("publisher").await;
    let mut body = api_body("Multiline");
    body["description"] = json!("line one\n\tline two");
    let api = app.create_api(&publisher, &body).await;
    assert_eq!(api["description"], "line one\n\tline two");
}

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
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
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
        metrics
            .lines()
            .any(|l| l.starts_with("http_requests_total") && l.contains("method=\"other\"")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("method=\"GET\"")
            && l.contains("route=\"/healthz\"")),
        "{metrics}"
    );
}
