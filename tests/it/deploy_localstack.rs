//! The deployment engine against LocalStack, which (unlike moto) keeps authorizers and
//! serves deployed APIs over HTTP. LocalStack cannot run Lambda functions, so the
//! authorizer *wiring* is checked through the API, not by calling with a token.

use std::sync::{Arc, Mutex};

use aws_sdk_apigateway::Client as ApiGateway;
use serde_json::{Value, json};

use crate::common::localstack::{localstack_url, sdk_config};
use crate::deployments::{Fixture, fast_limits, fixture_with};

pub async fn localstack_fixture() -> Fixture {
    let f = fixture_with(&fast_limits(), &localstack_url()).await;
    // Invocation URLs through LocalStack's execute-api route.
    let admin = f.app.admin_token().await;
    let path = format!("/admin/v1/environments/{}", f.environment);
    let mut env: Value = f.app.get(&path, &admin).await.json().await.unwrap();
    env["config"]["invokeUrlTemplate"] = json!(format!(
        "{}/_aws/execute-api/{{restApiId}}/{{stage}}",
        localstack_url()
    ));
    assert_eq!(
        f.app.put_json(&path, &admin, &env, None).await.status(),
        200
    );
    f
}

pub async fn localstack_apigateway() -> ApiGateway {
    ApiGateway::new(&sdk_config().await)
}

pub fn policy(function: &str) -> Value {
    json!({"type": "awsOAuth2", "parameters": {
        "lambdaArn": format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
        "invokeRoleArn": format!("arn:aws:iam::000000000000:role/{function}-invoke")}})
}

/// Deploys without the pre-deploy checks (no Lambda exists in this test's LocalStack).
pub async fn deploy_unchecked(f: &Fixture, api: &str) -> Value {
    let response = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/deployments?wait=60&skipChecks=true"),
            &f.publisher,
            &json!({"environment": f.environment}),
        )
        .await;
    let deployment: Value = response.json().await.unwrap();
    assert_eq!(deployment["status"], "deployed", "{deployment:#}");
    deployment
}

/// (authorizationType, authorizer name) of a method.
pub async fn method_auth(
    aws: &ApiGateway,
    rest_api_id: &str,
    path: &str,
    method: &str,
) -> (String, Option<String>) {
    let resources = aws
        .get_resources()
        .rest_api_id(rest_api_id)
        .limit(500)
        .send()
        .await
        .unwrap();
    let resource = resources
        .items()
        .iter()
        .find(|r| r.path() == Some(path))
        .unwrap_or_else(|| panic!("{path}"));
    let found = aws
        .get_method()
        .rest_api_id(rest_api_id)
        .resource_id(resource.id().unwrap())
        .http_method(method)
        .send()
        .await
        .unwrap();
    let authorizers = aws
        .get_authorizers()
        .rest_api_id(rest_api_id)
        .send()
        .await
        .unwrap();
    let name = found.authorizer_id().and_then(|id| {
        authorizers
            .items()
            .iter()
            .find(|a| a.id() == Some(id))
            .and_then(|a| a.name())
            .map(str::to_owned)
    });
    (
        found.authorization_type().unwrap_or("NONE").to_owned(),
        name,
    )
}

#[tokio::test]
async fn authorizers_sit_on_exactly_the_secured_operations() {
    let f = localstack_fixture().await;
    let api = f
        .create_api(&json!({
            "name": "Secured", "version": "1", "context": "/secured", "endpointUrl": "http://127.0.0.1:9/api",
            "policies": [policy("authA")],
            "resources": [
                {"method": "GET", "path": "/pets"},
                {"method": "POST", "path": "/pets", "policies": [policy("authB")]}
            ]
        }))
        .await;
    let open = f
        .create_api(&json!({
            "name": "Mixed", "version": "1", "context": "/mixed", "endpointUrl": "http://127.0.0.1:9/api",
            "resources": [
                {"method": "GET", "path": "/open"},
                {"method": "GET", "path": "/closed", "policies": [policy("authB")]}
            ]
        }))
        .await;
    let aws = localstack_apigateway().await;
    let secured = deploy_unchecked(&f, &api).await;
    let id = secured["restApiId"].as_str().unwrap();
    assert_eq!(
        method_auth(&aws, id, "/pets", "GET").await,
        ("CUSTOM".into(), Some("fedgate-authA".into()))
    );
    assert_eq!(
        method_auth(&aws, id, "/pets", "POST").await,
        ("CUSTOM".into(), Some("fedgate-authB".into())),
        "resource level wins"
    );
    let authorizers = aws.get_authorizers().rest_api_id(id).send().await.unwrap();
    let a = authorizers
        .items()
        .iter()
        .find(|a| a.name() == Some("fedgate-authA"))
        .unwrap();
    assert_eq!(a.r#type().unwrap().as_str(), "TOKEN");
    assert_eq!(
        a.identity_source(),
        Some("method.request.header.Authorization")
    );
    assert_eq!(a.authorizer_result_ttl_in_seconds(), Some(300));
    assert_eq!(
        a.authorizer_credentials(),
        Some("arn:aws:iam::000000000000:role/authA-invoke")
    );
    assert!(
        a.authorizer_uri()
            .unwrap()
            .ends_with("function:authA/invocations")
    );

    let mixed = deploy_unchecked(&f, &open).await;
    let id = mixed["restApiId"].as_str().unwrap();
    assert_eq!(
        method_auth(&aws, id, "/open", "GET").await,
        ("NONE".into(), None),
        "no policy: unsecured"
    );
    assert_eq!(
        method_auth(&aws, id, "/closed", "GET").await,
        ("CUSTOM".into(), Some("fedgate-authB".into()))
    );
}

type Seen = Arc<Mutex<Vec<String>>>;

/// A backend on 127.0.0.1 that records "METHOD path?query" of every request.
async fn recording_backend() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let record = record.clone();
        async move {
            let line = format!(
                "{} {}",
                request.method(),
                request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
            );
            record.lock().unwrap().push(line);
            axum::Json(json!({"ok": true}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn calls_through_the_deployed_api_reach_the_backend() {
    let f = localstack_fixture().await;
    let (backend, seen) = recording_backend().await;
    let api = f
        .create_api(&json!({
            "name": "Invoked", "version": "1", "context": "/invoked", "endpointUrl": format!("{backend}/api"),
            "resources": [
                {"method": "GET", "path": "/pets/{petId}"},
                {"method": "POST", "path": "/pets"},
                {"method": "ANY", "path": "/files/{proxy+}"}
            ]
        }))
        .await;
    let deployment = deploy_unchecked(&f, &api).await;
    let base = deployment["invocationUrl"].as_str().unwrap();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/pets/42?q=1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.post(format!("{base}/pets"))
            .json(&json!({"name": "rex"}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.delete(format!("{base}/files/a/b.txt"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "GET /api/pets/42?q=1",
            "POST /api/pets",
            "DELETE /api/files/a/b.txt"
        ]
    );
}

#[tokio::test]
async fn undeploying_an_api_already_deleted_in_aws_succeeds() {
    let f = localstack_fixture().await;
    let api = f
        .create_api(&crate::deployments::petstore("Vanished"))
        .await;
    let deployment = deploy_unchecked(&f, &api).await;
    let aws = localstack_apigateway().await;
    aws.delete_rest_api()
        .rest_api_id(deployment["restApiId"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let response = f.undeploy(&api, &deployment).await;
    let undeployed: Value = response.json().await.unwrap();
    assert_eq!(undeployed["status"], "undeployed", "{undeployed:#}");
}

#[tokio::test]
async fn block_and_unblock_reach_the_stage() {
    let f = localstack_fixture().await;
    let api = f
        .create_api(&crate::deployments::petstore("BlockedLs"))
        .await;
    let deployment = deploy_unchecked(&f, &api).await;
    let rest_api_id = deployment["restApiId"].as_str().unwrap().to_owned();
    let aws = localstack_apigateway().await;
    let throttle = async || {
        let stage = aws
            .get_stage()
            .rest_api_id(&rest_api_id)
            .stage_name("prod")
            .send()
            .await
            .unwrap();
        stage
            .method_settings()
            .and_then(|m| m.get("*/*"))
            .map(|s| (s.throttling_rate_limit(), s.throttling_burst_limit()))
    };
    for action in ["publish", "block"] {
        let response = f
            .app
            .post_json(
                &format!("/publisher/v1/apis/{api}/lifecycle"),
                &f.publisher,
                &json!({"action": action}),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    crate::deploy_lifecycle::eventually("throttled to zero", async || {
        throttle().await == Some((0.0, 0))
    })
    .await;
    let response = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/lifecycle"),
            &f.publisher,
            &json!({"action": "unblock"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    crate::deploy_lifecycle::eventually("the throttle is lifted", async || {
        throttle().await.is_none()
    })
    .await;
}

#[tokio::test]
async fn cors_preflights_are_answered_by_api_gateway() {
    // On LocalStack: moto cannot import mock integrations (500, no `uri`).
    let f = localstack_fixture().await;
    let api = f
        .create_api(&json!({
            "name": "Cors", "version": "1", "context": "/cors", "endpointUrl": "http://127.0.0.1:9/api",
            "cors": {"enabled": true, "allowOrigins": ["https://shop.example.com"]},
            "resources": [{"method": "GET", "path": "/pets"}, {"method": "PUT", "path": "/pets/{petId}"}]
        }))
        .await;
    let deployment = deploy_unchecked(&f, &api).await;
    let rest_api_id = deployment["restApiId"].as_str().unwrap();
    let aws = localstack_apigateway().await;
    assert_eq!(
        method_auth(&aws, rest_api_id, "/pets/{petId}", "OPTIONS")
            .await
            .0,
        "NONE"
    );
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/pets/42", deployment["invocationUrl"].as_str().unwrap()),
        )
        .header("Origin", "https://shop.example.com")
        .header("Access-Control-Request-Method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let header = |name: &str| {
        preflight
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some("https://shop.example.com")
    );
    assert_eq!(
        header("access-control-allow-methods").as_deref(),
        Some("OPTIONS,PUT")
    );
}

/// An imported Django-style API (paths ending with `/`, two parameter names at one
/// position) deploys, and the backend gets its own paths and the caller's values.
#[tokio::test]
async fn an_imported_api_calls_the_backend_at_its_own_paths() {
    let f = localstack_fixture().await;
    let (backend, seen) = recording_backend().await;
    let response = f
        .app
        .http
        .post(f.app.url(&format!(
            "/publisher/v1/apis/import?context=/django&endpointUrl={backend}/api"
        )))
        .bearer_auth(&f.publisher)
        .header("content-type", "application/yaml")
        .body(include_str!("../fixtures/openapi/trailing-slash.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let api: Value = response.json().await.unwrap();
    let deployment = deploy_unchecked(&f, api["id"].as_str().unwrap()).await;
    let base = deployment["invocationUrl"].as_str().unwrap();
    let http = reqwest::Client::new();
    for path in ["/items", "/items/42", "/items/42/reviews?page=2"] {
        let status = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{path}");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "GET /api/items/",
            "GET /api/items/42/",
            "GET /api/items/42/reviews/?page=2"
        ]
    );
}
