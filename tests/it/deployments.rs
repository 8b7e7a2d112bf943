//! The deployment engine against moto: what AWS holds after deploy, redeploy, undeploy,
//! adoption after a crash, superseding, and retries of throttled calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_apigateway::Client as ApiGateway;
use serde_json::{Value, json};

use crate::common::{TestApp, expect_problem, moto_url, spawn_app_with};

/// Fast AWS rate limits so tests do not wait for AWS's real quotas.
pub fn fast_limits() -> Vec<(&'static str, Value)> {
    vec![
        ("aws_rate_create_rest_api_ms", json!(0)),
        ("aws_rate_put_rest_api_ms", json!(0)),
        ("aws_rate_create_deployment_ms", json!(0)),
        ("aws_rate_delete_rest_api_ms", json!(0)),
        ("aws_rate_overall_ms", json!(0)),
        ("deploy_poll_interval_ms", json!(100)),
    ]
}

pub struct Fixture {
    pub app: TestApp,
    pub publisher: String,
    pub environment: String,
    pub environment_id: String,
}

pub async fn fixture_with(extra: &[(&str, Value)], endpoint: &str) -> Fixture {
    let app = spawn_app_with(extra).await;
    let admin = app.admin_token().await;
    let environment = format!("moto-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let created: Value = app
        .post_json(
            "/admin/v1/environments",
            &admin,
            &json!({"name": environment, "provider": "aws", "config": {
                "region": "us-east-1", "stage": "prod", "endpointUrl": endpoint,
                "invokeUrlTemplate": "http://127.0.0.1:9/_aws/execute-api/{restApiId}/{stage}",
                "credentials": {"type": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "testing-secret"}}}),
        )
        .await
        .json()
        .await
        .unwrap();
    Fixture {
        publisher: app.token("publisher").await,
        environment_id: created["id"].as_str().unwrap().to_owned(),
        environment,
        app,
    }
}

pub async fn fixture() -> Fixture {
    fixture_with(&fast_limits(), &moto_url()).await
}

pub fn petstore(name: &str) -> Value {
    json!({
        "name": name, "version": "1.0.0", "context": format!("/{}", name.to_lowercase()),
        "endpointUrl": "http://127.0.0.1:8089/api",
        "resources": [
            {"method": "GET", "path": "/pets"},
            {"method": "POST", "path": "/pets"},
            {"method": "GET", "path": "/pets/{petId}"},
            {"method": "ANY", "path": "/files/{proxy+}"}
        ]
    })
}

impl Fixture {
    /// The environment's connector, as the services get it.
    pub async fn connector(&self) -> std::sync::Arc<dyn fedgate::aws::connector::GatewayConnector> {
        let environment = fedgate::service::environments::find(&self.app.state, &self.environment)
            .await
            .unwrap();
        fedgate::service::environments::connect(&self.app.state, &environment)
            .await
            .unwrap()
    }

    pub async fn create_api(&self, body: &Value) -> String {
        let response = self
            .app
            .post_json("/publisher/v1/apis", &self.publisher, body)
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Deploys and waits for the outcome.
    pub async fn deploy(&self, api: &str, revision: Option<&str>) -> Value {
        let mut body = json!({"environment": self.environment});
        if let Some(revision) = revision {
            body["revisionId"] = json!(revision);
        }
        let response = self
            .app
            .post_json(
                &format!("/publisher/v1/apis/{api}/deployments?wait=30"),
                &self.publisher,
                &body,
            )
            .await;
        let status = response.status();
        let deployment: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{deployment:#}");
        assert_eq!(deployment["status"], "deployed", "{deployment:#}");
        deployment
    }

    /// Undeploys and waits for the outcome.
    pub async fn undeploy(&self, api: &str, deployment: &Value) -> reqwest::Response {
        let id = deployment["id"].as_str().unwrap();
        let path = format!("/publisher/v1/apis/{api}/deployments/{id}?wait=30");
        self.app.delete(&path, &self.publisher).await
    }

    pub async fn revision(&self, api: &str) -> String {
        let response = self
            .app
            .post_json(
                &format!("/publisher/v1/apis/{api}/revisions"),
                &self.publisher,
                &json!({}),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub async fn moto_apigateway() -> ApiGateway {
    moto_apigateway_in("us-east-1").await
}

/// moto's API Gateway in `region` (moto keeps each region's state apart).
pub async fn moto_apigateway_in(region: &str) -> ApiGateway {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(moto_url())
        .load()
        .await;
    ApiGateway::new(&config)
}

/// "METHOD path" of every method AWS holds.
async fn operations(client: &ApiGateway, rest_api_id: &str) -> Vec<String> {
    let resources = client
        .get_resources()
        .rest_api_id(rest_api_id)
        .embed("methods")
        .limit(500)
        .send()
        .await
        .unwrap();
    let mut ops: Vec<String> = resources
        .items()
        .iter()
        .flat_map(|r| {
            let path = r.path().unwrap_or_default().to_owned();
            r.resource_methods()
                .map(|m| {
                    m.keys()
                        .map(|k| format!("{} {path}", method_name(k)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    ops.sort();
    ops
}

/// moto imports `x-amazon-apigateway-any-method` as a method of that name; AWS (and
/// LocalStack) create `ANY`. Read both as AWS would.
fn method_name(key: &str) -> &str {
    if key.eq_ignore_ascii_case("x-amazon-apigateway-any-method") {
        "ANY"
    } else {
        key
    }
}

pub async fn resource_id(client: &ApiGateway, rest_api_id: &str, path: &str) -> String {
    let resources = client
        .get_resources()
        .rest_api_id(rest_api_id)
        .limit(500)
        .send()
        .await
        .unwrap();
    resources
        .items()
        .iter()
        .find(|r| r.path() == Some(path))
        .and_then(|r| r.id())
        .unwrap_or_else(|| panic!("{path} not in AWS"))
        .to_owned()
}

#[tokio::test]
async fn deploy_creates_resources_methods_integrations_and_a_stage() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Deployed")).await;
    let deployment = f.deploy(&api, None).await;
    let rest_api_id = deployment["restApiId"].as_str().unwrap();
    assert_eq!(
        deployment["invocationUrl"],
        format!("http://127.0.0.1:9/_aws/execute-api/{rest_api_id}/prod")
    );
    let aws = moto_apigateway().await;
    assert_eq!(
        operations(&aws, rest_api_id).await,
        [
            "ANY /files/{proxy+}",
            "GET /pets",
            "GET /pets/{petId}",
            "POST /pets"
        ]
    );
    let pet = resource_id(&aws, rest_api_id, "/pets/{petId}").await;
    let integration = aws
        .get_integration()
        .rest_api_id(rest_api_id)
        .resource_id(&pet)
        .http_method("GET")
        .send()
        .await
        .unwrap();
    // moto reports imported integration types in lower case; AWS says HTTP_PROXY.
    assert_eq!(
        integration.r#type().unwrap().as_str().to_uppercase(),
        "HTTP_PROXY"
    );
    assert_eq!(
        integration.uri(),
        Some("http://127.0.0.1:8089/api/pets/{petId}")
    );
    assert_eq!(
        integration
            .request_parameters()
            .unwrap()
            .get("integration.request.path.petId")
            .map(String::as_str),
        Some("method.request.path.petId")
    );
    let files = resource_id(&aws, rest_api_id, "/files/{proxy+}").await;
    // moto keys the method by the extension's name (see `method_name`).
    let greedy = aws
        .get_integration()
        .rest_api_id(rest_api_id)
        .resource_id(&files)
        .http_method("X-AMAZON-APIGATEWAY-ANY-METHOD")
        .send()
        .await
        .unwrap();
    assert_eq!(
        greedy.uri(),
        Some("http://127.0.0.1:8089/api/files/{proxy}")
    );

    let stage = aws
        .get_stage()
        .rest_api_id(rest_api_id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stage.deployment_id(),
        deployment["awsDeploymentId"].as_str(),
        "the stage points at the new deployment"
    );
    let deployments = aws
        .get_deployments()
        .rest_api_id(rest_api_id)
        .send()
        .await
        .unwrap();
    assert!(
        deployments
            .items()
            .iter()
            .any(|d| d.id() == stage.deployment_id())
    );
    let api_tags = aws
        .get_rest_api()
        .rest_api_id(rest_api_id)
        .send()
        .await
        .unwrap();
    assert_eq!(api_tags.tags().unwrap().get("fedgate:api"), Some(&api));
}

#[tokio::test]
async fn redeploying_a_changed_and_an_older_revision_changes_aws() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Redeployed")).await;
    let first = f.revision(&api).await;
    let deployment = f.deploy(&api, Some(&first)).await;
    let rest_api_id = deployment["restApiId"].as_str().unwrap().to_owned();

    let mut changed = petstore("Redeployed");
    changed["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({"method": "DELETE", "path": "/pets/{petId}"}));
    let put = f
        .app
        .put_json(
            &format!("/publisher/v1/apis/{api}"),
            &f.publisher,
            &changed,
            None,
        )
        .await;
    assert_eq!(put.status(), 200);
    let second = f.deploy(&api, None).await;
    assert_eq!(
        second["restApiId"],
        rest_api_id.as_str(),
        "the same REST API is updated"
    );
    assert_ne!(second["revisionId"], first.as_str());
    let aws = moto_apigateway().await;
    assert!(
        operations(&aws, &rest_api_id)
            .await
            .contains(&"DELETE /pets/{petId}".to_owned())
    );

    let back = f.deploy(&api, Some(&first)).await;
    assert_eq!(back["revisionId"], first.as_str());
    assert!(
        !operations(&aws, &rest_api_id)
            .await
            .contains(&"DELETE /pets/{petId}".to_owned())
    );
}

#[tokio::test]
async fn undeploy_removes_the_rest_api() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Undeployed")).await;
    let deployment = f.deploy(&api, None).await;
    let rest_api_id = deployment["restApiId"].as_str().unwrap();
    let response = f.undeploy(&api, &deployment).await;
    assert_eq!(response.status(), 200);
    let undeployed: Value = response.json().await.unwrap();
    assert_eq!(undeployed["status"], "undeployed", "{undeployed:#}");
    assert!(undeployed["restApiId"].is_null());
    let aws = moto_apigateway().await;
    let gone = aws
        .get_rest_api()
        .rest_api_id(rest_api_id)
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_not_found_exception()),
        "{gone:?}"
    );
}

#[tokio::test]
async fn a_crashed_deploy_adopts_the_tagged_rest_api() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Adopted")).await;
    // What a deploy that crashed right after CreateRestApi leaves behind.
    let aws = moto_apigateway().await;
    let orphan = aws
        .create_rest_api()
        .name("Adopted 1.0.0")
        .tags("fedgate:api", &api)
        .tags("fedgate:environment", &f.environment_id)
        .send()
        .await
        .unwrap();
    let deployment = f.deploy(&api, None).await;
    assert_eq!(deployment["restApiId"], orphan.id().unwrap());
    let all = aws.get_rest_apis().limit(500).send().await.unwrap();
    let owned = all
        .items()
        .iter()
        .filter(|a| a.tags().and_then(|t| t.get("fedgate:api")) == Some(&api))
        .count();
    assert_eq!(owned, 1, "no duplicate REST API");
}

#[tokio::test]
async fn quick_repeated_deploys_are_coalesced() {
    // A slow overall rate keeps the first job running while the others arrive.
    let mut limits = fast_limits();
    limits.retain(|(k, _)| *k != "aws_rate_overall_ms");
    limits.push(("aws_rate_overall_ms", json!(300)));
    let f = fixture_with(&limits, &moto_url()).await;
    let api = f.create_api(&petstore("Coalesced")).await;
    let mut deployment_id = String::new();
    for _ in 0..10 {
        let response = f
            .app
            .post_json(
                &format!("/publisher/v1/apis/{api}/deployments"),
                &f.publisher,
                &json!({"environment": f.environment}),
            )
            .await;
        assert_eq!(response.status(), 202);
        deployment_id = response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let path = format!("/publisher/v1/apis/{api}/deployments/{deployment_id}");
    let deployment = wait_for_status(&f, &path, "deployed").await;
    let aws = moto_apigateway().await;
    let created = aws
        .get_deployments()
        .rest_api_id(deployment["restApiId"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        created.items().len() <= 2,
        "{} AWS deployments for 10 requests",
        created.items().len()
    );
    let superseded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deploy_jobs WHERE status = 'superseded'")
            .fetch_one(&f.app.state.db)
            .await
            .unwrap();
    assert!(superseded >= 8, "{superseded} superseded");
}

async fn wait_for_status(f: &Fixture, path: &str, status: &str) -> Value {
    for _ in 0..300 {
        let deployment: Value = f.app.get(path, &f.publisher).await.json().await.unwrap();
        if deployment["status"] == status
            && deployment["targetRevisionId"] == deployment["revisionId"]
        {
            return deployment;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never reached {status}");
}

/// What a proxy in front of moto does with a request.
enum Action {
    Forward,
    /// Answer AWS's 429 TooManyRequestsException.
    Throttle,
    /// Forward it after a pause: a slow AWS.
    Delay(std::time::Duration),
}

/// A proxy in front of moto that does what `rule` says with each request, given its
/// method, path, and how many requests before it the rule matched (counted in `seen`).
async fn moto_proxy(
    rule: impl Fn(&axum::http::Method, &str, usize) -> Option<Action> + Clone + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    use axum::body::Bytes;
    use axum::extract::Request;
    use axum::response::IntoResponse;

    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let upstream = moto_url();
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: Request| {
        let (counter, upstream, http, rule) = (
            counter.clone(),
            upstream.clone(),
            http.clone(),
            rule.clone(),
        );
        async move {
            let (parts, body) = request.into_parts();
            let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let matched = rule(
                &parts.method,
                parts.uri.path(),
                counter.load(Ordering::SeqCst),
            );
            if matched.is_some() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            match matched.unwrap_or(Action::Forward) {
                Action::Throttle => {
                    return (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [
                            ("x-amzn-errortype", "TooManyRequestsException"),
                            ("content-type", "application/json"),
                        ],
                        r#"{"message": "Too Many Requests"}"#,
                    )
                        .into_response();
                }
                Action::Delay(pause) => tokio::time::sleep(pause).await,
                Action::Forward => {}
            }
            let url = format!(
                "{upstream}{}",
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
            );
            let mut forwarded = http.request(parts.method.clone(), url).body(body);
            for (name, value) in parts.headers.iter() {
                if name != "host" && name != "content-length" {
                    forwarded = forwarded.header(name, value);
                }
            }
            let response = forwarded.send().await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.unwrap();
            let mut out = (status, bytes).into_response();
            for (name, value) in headers.iter() {
                if name != "content-length" && name != "transfer-encoding" {
                    out.headers_mut().insert(name, value.clone());
                }
            }
            out
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// A proxy in front of moto that answers the first `throttled` PutRestApi calls with
/// AWS's 429 TooManyRequestsException.
async fn throttling_proxy(throttled: usize) -> (String, Arc<AtomicUsize>) {
    moto_proxy(move |method, path, before| {
        let action = if before < throttled {
            Action::Throttle
        } else {
            Action::Forward
        };
        (method == "PUT" && path.starts_with("/restapis/")).then_some(action)
    })
    .await
}

#[tokio::test]
async fn an_aws_call_outliving_the_lease_runs_once() {
    // CreateRestApi answers after four seconds, the lease is one second, and two workers
    // wait for work: renewing the lease keeps the job with its first worker.
    let (proxy, creates) = moto_proxy(|method, path, _| {
        (method == "POST" && path == "/restapis")
            .then_some(Action::Delay(std::time::Duration::from_secs(4)))
    })
    .await;
    let mut settings = fast_limits();
    settings.extend([
        ("deploy_lease_secs", json!(1)),
        ("deploy_workers", json!(2)),
    ]);
    let f = fixture_with(&settings, &proxy).await;
    let api = f.create_api(&petstore("SlowAws")).await;
    let deployment = f.deploy(&api, None).await;
    assert_eq!(creates.load(Ordering::SeqCst), 1, "CreateRestApi calls");
    let aws = moto_apigateway().await;
    let owned = aws
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|a| {
            a.tags()
                .and_then(|t| t.get("fedgate:api"))
                .map(String::as_str)
                == Some(api.as_str())
        })
        .count();
    assert_eq!(owned, 1, "REST APIs tagged with this API");
    let kinds = f.app.history_kinds(&api, &deployment, &f.publisher).await;
    assert_eq!(kinds, ["deploy-requested", "deploy-done"]);
}

#[tokio::test]
async fn throttled_calls_are_retried_until_they_pass() {
    // More 429s than the SDK's own three attempts: the job itself must retry.
    let (proxy, seen) = throttling_proxy(4).await;
    let f = fixture_with(&fast_limits(), &proxy).await;
    let api = f.create_api(&petstore("Throttled")).await;
    let deployment = f.deploy(&api, None).await;
    assert!(
        seen.load(Ordering::SeqCst) >= 5,
        "PutRestApi was tried {} times",
        seen.load(Ordering::SeqCst)
    );
    let kinds = f.app.history_kinds(&api, &deployment, &f.publisher).await;
    assert!(kinds.iter().any(|k| k == "retrying"), "{kinds:?}");
    let metrics = f.app.metrics().await;
    assert!(
        metrics.contains("outcome=\"throttled\""),
        "throttles are counted"
    );
}

#[tokio::test]
async fn preview_shows_the_document_and_the_plan() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Previewed")).await;
    let path = format!(
        "/publisher/v1/apis/{api}/deployments/preview?environment={}",
        f.environment
    );
    let preview: Value = f.app.get(&path, &f.publisher).await.json().await.unwrap();
    assert_eq!(preview["action"], "create");
    assert!(
        preview["document"]["paths"]["/pets/{petId}"]["get"]["x-amazon-apigateway-integration"]
            .is_object()
    );
    f.deploy(&api, None).await;
    let preview: Value = f.app.get(&path, &f.publisher).await.json().await.unwrap();
    assert_eq!(preview["action"], "nothing");
    let aws_calls_before = moto_apigateway()
        .await
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .unwrap()
        .items()
        .len();
    f.app.get(&path, &f.publisher).await;
    let aws_calls_after = moto_apigateway()
        .await
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .unwrap()
        .items()
        .len();
    assert_eq!(
        aws_calls_before, aws_calls_after,
        "a preview creates nothing"
    );
}

#[tokio::test]
async fn predeploy_checks_refuse_missing_authorizers_with_every_problem() {
    let f = fixture().await;
    let mut body = petstore("Checked");
    body["policies"] = json!([{"type": "awsOAuth2", "parameters": {
        "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:no-such-authorizer",
        "invokeRoleArn": "arn:aws:iam::123456789012:role/no-such-role"}}]);
    body["resources"][0]["policies"] = json!([{"type": "awsOAuth2", "parameters": {
        "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:elsewhere",
        "invokeRoleArn": "arn:aws:iam::123456789012:role/no-such-role"}}]);
    let api = f.create_api(&body).await;
    let response = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/deployments"),
            &f.publisher,
            &json!({"environment": f.environment}),
        )
        .await;
    let problem = expect_problem(response, 422).await;
    let fields: Vec<&str> = problem["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"policies[0].parameters.lambdaArn"),
        "{problem:#}"
    );
    assert!(
        fields.contains(&"policies[0].parameters.invokeRoleArn"),
        "{problem:#}"
    );
    assert!(
        fields.contains(&"resources[0].policies[0].parameters.lambdaArn"),
        "{problem:#}"
    );
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM deployments")
        .fetch_one(&f.app.state.db)
        .await
        .unwrap();
    assert_eq!(none, 0, "a refused deploy leaves nothing behind");
}

#[tokio::test]
async fn describe_reads_back_the_rest_api_and_its_stage() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Described")).await;
    let deployment = f.deploy(&api, None).await;
    let connector = f.connector().await;
    let rest_api_id = deployment["restApiId"].as_str().unwrap();
    let described = connector
        .describe(rest_api_id, "prod")
        .await
        .unwrap()
        .expect("the REST API exists");
    assert_eq!(described.rest_api_id, rest_api_id);
    assert_eq!(described.name, "Described 1.0.0");
    assert_eq!(
        described.stage_deployment_id.as_deref(),
        deployment["awsDeploymentId"].as_str()
    );
    assert_eq!(f.undeploy(&api, &deployment).await.status(), 200);
    assert!(
        connector
            .describe(rest_api_id, "prod")
            .await
            .unwrap()
            .is_none()
    );
}
