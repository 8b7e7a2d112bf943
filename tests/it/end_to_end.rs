//! The whole reference flow through fedgate's API, against LocalStack and a real OIDC
//! server (oauth2-mock-server): an admin registers an environment and a key manager, a
//! publisher designs, deploys and publishes an API, and a developer finds it, gets a
//! token for an application and calls the deployed API, reaching the backend this test
//! runs.
//!
//! LocalStack cannot run Lambda functions here, so it does not enforce Lambda
//! authorizers: the call would pass without a token too. What is checked instead is the
//! wiring in API Gateway — the authorizers and which methods they secure — read back
//! through the AWS SDK.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use serde_json::{Value, json};

use crate::common::localstack::{self, ACCOUNT, REGION, localstack_url};
use crate::common::spawn_app_with;
use crate::deployments::fast_limits;

/// A request as the backend received it.
#[derive(Debug, Clone, PartialEq)]
struct Received {
    method: String,
    path: String,
    query: Option<String>,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn record(State(log): State<Log>, request: Request) -> axum::Json<Value> {
    let uri = request.uri();
    log.lock().unwrap().push(Received {
        method: request.method().to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
    });
    axum::Json(json!({"pets": [{"id": 1, "name": "Rex"}], "path": uri.path()}))
}

/// The API's backend on 127.0.0.1; returns its URL.
async fn backend(log: Log) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().fallback(record).with_state(log);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

fn policy(lambda_arn: &str, role_arn: &str) -> Value {
    json!({"type": "awsOAuth2", "parameters": {"lambdaArn": lambda_arn, "invokeRoleArn": role_arn}})
}

#[tokio::test]
async fn admin_publisher_and_developer_reach_the_backend_through_localstack() {
    // LocalStack is shared by the whole run: name what this test creates uniquely.
    let unique = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let aws = localstack::sdk_config().await;
    let role = localstack::invoke_role(&aws, &format!("e2e-invoke-{unique}")).await;
    let api_authorizer =
        localstack::authorizer_function(&aws, &format!("e2e-api-auth-{unique}"), &role).await;
    let pet_authorizer =
        localstack::authorizer_function(&aws, &format!("e2e-pet-auth-{unique}"), &role).await;
    assert!(api_authorizer.starts_with(&format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:")));
    let log = Log::default();
    let backend_url = backend(log.clone()).await;
    let app = spawn_app_with(&fast_limits()).await;

    // Admin: a LocalStack environment and the OIDC server as key manager.
    let admin = app.admin_token().await;
    let ls = localstack_url();
    let response = app
        .post_json(
            "/admin/v1/environments",
            &admin,
            &json!({"name": "localstack", "displayName": "LocalStack", "provider": "aws",
                "config": {"region": REGION, "stage": "prod", "endpointUrl": ls,
                    "invokeUrlTemplate": format!("{ls}/_aws/execute-api/{{restApiId}}/{{stage}}"),
                    // Not AKIA…: LocalStack would read an account id out of one.
                    "credentials": {"type": "accessKey", "accessKeyId": "TESTLOCALSTACK00", "secretAccessKey": "test"}}}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    app.oidc_key_manager("mock-idp", json!({})).await;

    // Publisher: an API-level policy, overridden on one resource; deploy, then publish.
    let publisher = app.publisher_token().await;
    let api = app
        .create_api(
            &publisher,
            &json!({"name": "Petstore", "version": "1.0.0", "context": "/petstore",
                "description": "Pets, end to end", "endpointUrl": backend_url,
                "keyManagers": ["mock-idp"],
                "policies": [policy(&api_authorizer, &role)],
                "resources": [
                    {"method": "GET", "path": "/pets", "description": "List pets"},
                    {"method": "GET", "path": "/pets/{petId}", "description": "One pet",
                     "policies": [policy(&pet_authorizer, &role)]}]}),
        )
        .await;
    let api_id = api["id"].as_str().unwrap();
    let response = app
        .post_json(
            &format!("/publisher/v1/apis/{api_id}/deployments?wait=60"),
            &publisher,
            &json!({"environment": "localstack"}),
        )
        .await;
    let deployment: Value = response.json().await.unwrap();
    assert_eq!(deployment["status"], "deployed", "{deployment:#}");
    let rest_api_id = deployment["restApiId"].as_str().unwrap().to_owned();
    app.lifecycle(&publisher, api_id, "publish").await;

    // Developer: find the API and where it answers.
    let developer = app.developer("dev-e2e").await;
    let catalog = app
        .get_ok("/devportal/v1/apis?name=petstore", &developer)
        .await;
    assert_eq!(catalog["items"][0]["id"], api_id);
    let listed = app
        .get_ok(&format!("/devportal/v1/apis/{api_id}"), &developer)
        .await;
    let invocation_url = format!("{ls}/_aws/execute-api/{rest_api_id}/prod");
    assert_eq!(
        listed["endpoints"],
        json!([{"environment": "localstack", "displayName": "LocalStack", "region": REGION,
                "stage": "prod", "invocationUrl": invocation_url}])
    );
    assert!(
        listed["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["secured"] == true)
    );
    assert!(
        !listed.to_string().contains("arn:aws"),
        "no ARNs in the portal"
    );
    let document = app
        .get_ok(&format!("/devportal/v1/apis/{api_id}/openapi"), &developer)
        .await;
    assert_eq!(document["servers"][0]["url"], invocation_url);

    // An application, its keys at the IdP, a token.
    let application = app.create_application(&developer, "E2E app").await;
    let keys = app
        .post_json(
            &format!("/devportal/v1/applications/{application}/keys"),
            &developer,
            &json!({"keyManager": "mock-idp", "clientId": "e2e-client", "clientSecret": "e2e-secret"}),
        )
        .await;
    assert_eq!(keys.status(), 201);
    let token = app
        .post_json(
            &format!("/devportal/v1/applications/{application}/token"),
            &developer,
            &json!({}),
        )
        .await;
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.unwrap();
    let access_token = token["access_token"].as_str().unwrap();

    // The call, through LocalStack's execute-api endpoint, reaches the backend.
    let response = app
        .http
        .get(format!("{invocation_url}/pets?limit=2"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["pets"][0]["name"], "Rex");
    let response = app
        .http
        .get(format!("{invocation_url}/pets/42"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        *log.lock().unwrap(),
        [
            Received {
                method: "GET".into(),
                path: "/pets".into(),
                query: Some("limit=2".into())
            },
            Received {
                method: "GET".into(),
                path: "/pets/42".into(),
                query: None
            },
        ]
    );

    check_authorizer_wiring(&aws, &rest_api_id, &api_authorizer, &pet_authorizer, &role).await;
}

/// Each method is CUSTOM-authorized by the authorizer of its effective policy: the
/// resource's own on `/pets/{petId}`, the API's elsewhere.
async fn check_authorizer_wiring(
    aws: &aws_config::SdkConfig,
    rest_api_id: &str,
    api_authorizer: &str,
    pet_authorizer: &str,
    role: &str,
) {
    let gateway = aws_sdk_apigateway::Client::new(aws);
    let authorizers = gateway
        .get_authorizers()
        .rest_api_id(rest_api_id)
        .send()
        .await
        .unwrap();
    let by_function: HashMap<String, String> = authorizers
        .items()
        .iter()
        .map(|a| {
            assert_eq!(a.r#type().map(|t| t.as_str()), Some("TOKEN"));
            assert_eq!(a.authorizer_credentials(), Some(role));
            assert_eq!(
                a.identity_source(),
                Some("method.request.header.Authorization")
            );
            let uri = a.authorizer_uri().unwrap_or_default();
            let function = if uri.contains(&format!("{pet_authorizer}/")) {
                "pet"
            } else if uri.contains(&format!("{api_authorizer}/")) {
                "api"
            } else {
                panic!("an authorizer no policy names: {uri}")
            };
            (function.to_owned(), a.id().unwrap().to_owned())
        })
        .collect();
    assert_eq!(by_function.len(), 2, "one authorizer per distinct policy");

    let resources = gateway
        .get_resources()
        .rest_api_id(rest_api_id)
        .limit(500)
        .send()
        .await
        .unwrap();
    let mut checked = Vec::new();
    for resource in resources.items() {
        let path = resource.path().unwrap_or_default();
        let expected = match path {
            "/pets" => "api",
            "/pets/{petId}" => "pet",
            _ => continue,
        };
        let method = gateway
            .get_method()
            .rest_api_id(rest_api_id)
            .resource_id(resource.id().unwrap())
            .http_method("GET")
            .send()
            .await
            .unwrap();
        assert_eq!(method.authorization_type(), Some("CUSTOM"), "GET {path}");
        assert_eq!(
            method.authorizer_id(),
            Some(by_function[expected].as_str()),
            "GET {path}"
        );
        checked.push(path.to_owned());
    }
    checked.sort();
    assert_eq!(checked, ["/pets", "/pets/{petId}"]);
}
