//! Discovery: listing every REST API of an account and region (moto, with REST APIs made
//! by the SDK, not by fedgate), adopting one fedgate did not create (LocalStack, which
//! keeps authorizers and answers TagResource/GetTags), and the service's guards (the
//! in-memory fake).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::Client as ApiGateway;
use aws_sdk_apigateway::types::IntegrationType;
use serde_json::{Value, json};

use crate::common::fake::fake_fixture;
use crate::common::localstack::{ACCOUNT, localstack_url, sdk_config};
use crate::common::{TestApp, error_fields, expect_problem, moto_url};
use crate::deployments::{Fixture, fast_limits, fixture_with, moto_apigateway_in};
use crate::publisher_import::operations;

async fn discover(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/publisher/v1/apis/discover", token, &body)
        .await
}

/// The deployment the stage serves, and how many deployments the REST API has.
async fn stage_and_deployments(aws: &ApiGateway, id: &str) -> (Option<String>, usize) {
    let stage = aws
        .get_stage()
        .rest_api_id(id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    let deployments = aws.get_deployments().rest_api_id(id).send().await.unwrap();
    (
        stage.deployment_id().map(str::to_owned),
        deployments.items().len(),
    )
}

/// A region no other test uses: moto keeps state per region and is shared by the whole
/// suite, so the listing sees only what this test made.
const LISTING_REGION: &str = "eu-south-2";

/// A new REST API made with the SDK: its id and its root resource's.
async fn rest_api(aws: &ApiGateway, name: &str, description: &str) -> (String, String) {
    let created = aws
        .create_rest_api()
        .name(name)
        .description(description)
        .send()
        .await
        .unwrap();
    let id = created.id().unwrap().to_owned();
    let resources = aws.get_resources().rest_api_id(&id).send().await.unwrap();
    let root = resources.items()[0].id().unwrap().to_owned();
    (id, root)
}

/// A REST API made with the SDK: a GET on the root answered by a mock, deployed to each
/// of `stages` (one deployment, several stages).
async fn foreign_rest_api(aws: &ApiGateway, name: &str, stages: &[&str]) -> String {
    let (id, root) = rest_api(aws, name, &format!("{name}, made without fedgate")).await;
    aws.put_method()
        .rest_api_id(&id)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    aws.put_integration()
        .rest_api_id(&id)
        .resource_id(&root)
        .http_method("GET")
        .r#type(IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    let deployment = aws
        .create_deployment()
        .rest_api_id(&id)
        .stage_name(stages[0])
        .send()
        .await
        .unwrap();
    for stage in &stages[1..] {
        aws.create_stage()
            .rest_api_id(&id)
            .stage_name(*stage)
            .deployment_id(deployment.id().unwrap())
            .send()
            .await
            .unwrap();
    }
    id
}

/// Follows `next` from the first page to the last; every REST API listed, in order.
async fn list_all(f: &Fixture, admin: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut path = format!(
            "/admin/v1/environments/{}/rest-apis?limit={limit}",
            f.environment
        );
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let response = f.app.get(&path, admin).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        let listed = page["items"].as_array().unwrap();
        assert!(listed.len() <= limit, "{page:#}");
        items.extend(listed.iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("the listing never ended");
}

#[tokio::test]
async fn lists_every_rest_api_with_every_stage_across_pages() {
    let aws = moto_apigateway_in(LISTING_REGION).await;
    // What an earlier run of this test left in its region.
    let left = aws.get_rest_apis().limit(500).send().await.unwrap();
    for api in left.items() {
        aws.delete_rest_api()
            .rest_api_id(api.id().unwrap())
            .send()
            .await
            .unwrap();
    }
    let staged = foreign_rest_api(&aws, "Staged", &["dev", "test", "prod"]).await;
    let mut foreign = vec![staged.clone()];
    for name in ["Orders", "Billing", "Search"] {
        foreign.push(foreign_rest_api(&aws, name, &["prod"]).await);
    }

    let f = fixture_with(&fast_limits(), &moto_url()).await;
    let admin = f.app.admin_token().await;
    let path = format!("/admin/v1/environments/{}", f.environment);
    let mut environment: Value = f.app.get(&path, &admin).await.json().await.unwrap();
    environment["config"]["region"] = json!(LISTING_REGION);
    assert_eq!(
        f.app
            .put_json(&path, &admin, &environment, None)
            .await
            .status(),
        200
    );
    let api = f.create_api(&crate::deployments::petstore("Listed")).await;
    let deployed = f.deploy(&api, None).await;
    let managed = deployed["restApiId"].as_str().unwrap().to_owned();

    // moto ignores GetRestApis' `limit` and `position` (it answers every REST API in one
    // page); fedgate pages through such a page itself, so the listing is paged here as
    // it is on AWS.
    for limit in [1, 2] {
        let items = list_all(&f, &admin, limit).await;
        let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "each REST API once: {ids:?}");
        let expected: BTreeSet<&str> = foreign
            .iter()
            .map(String::as_str)
            .chain([managed.as_str()])
            .collect();
        assert_eq!(unique, expected, "limit {limit}");
        let by_id: BTreeMap<&str, &Value> = ids.iter().copied().zip(&items).collect();
        let stages: Vec<&str> = by_id[staged.as_str()]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(stages, ["dev", "prod", "test"]);
        let deployment_ids: BTreeSet<&str> = by_id[staged.as_str()]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["deploymentId"].as_str().unwrap())
            .collect();
        assert_eq!(
            deployment_ids.len(),
            1,
            "one deployment behind three stages"
        );
        for id in &foreign {
            let item = by_id[id.as_str()];
            assert_eq!(item["managed"], false, "{item:#}");
            assert_eq!(item["fedgateApi"], Value::Null);
            assert_eq!(item["inThisEnvironment"], false);
        }
        let item = by_id[managed.as_str()];
        assert_eq!(item["managed"], true, "{item:#}");
        assert_eq!(item["fedgateApi"], json!({"id": api, "name": "Listed"}));
        assert_eq!(item["inThisEnvironment"], true);
        assert_eq!(item["stages"][0]["name"], "prod");
        assert!(item["stages"][0]["deploymentId"].is_string(), "{item:#}");
    }

    let base = format!("/admin/v1/environments/{}/rest-apis", f.environment);
    for bad in ["limit=0", "limit=101", "cursor=%21%21", "cursor=AA"] {
        let problem = expect_problem(f.app.get(&format!("{base}?{bad}"), &admin).await, 400).await;
        let field = bad.split('=').next().unwrap();
        assert_eq!(error_fields(&problem), [field], "{bad}: {problem:#}");
    }
    let publisher = f.app.get(&base, &f.publisher).await;
    assert_eq!(publisher.status(), 403, "an admin listing");
}

/// What a REST API holds, as the SDK reads it back: per method its authorization,
/// authorizer and integration.
async fn methods_of(aws: &ApiGateway, id: &str) -> BTreeMap<String, String> {
    let resources = aws
        .get_resources()
        .rest_api_id(id)
        .embed("methods")
        .limit(500)
        .send()
        .await
        .unwrap();
    let mut methods = BTreeMap::new();
    for resource in resources.items() {
        for verb in resource
            .resource_methods()
            .into_iter()
            .flat_map(|m| m.keys())
        {
            let method = aws
                .get_method()
                .rest_api_id(id)
                .resource_id(resource.id().unwrap())
                .http_method(verb)
                .send()
                .await
                .unwrap();
            let integration = method.method_integration();
            methods.insert(
                format!("{} {verb}", resource.path().unwrap()),
                format!(
                    "{} {:?} {:?} {:?} {:?}",
                    method.authorization_type().unwrap_or_default(),
                    method.authorizer_id(),
                    integration.and_then(|i| i.r#type()),
                    integration.and_then(|i| i.uri()),
                    integration
                        .and_then(|i| i.integration_responses())
                        .into_iter()
                        .flatten()
                        .map(|(status, r)| (
                            status.clone(),
                            r.response_parameters()
                                .cloned()
                                .unwrap_or_default()
                                .into_iter()
                                .collect::<BTreeMap<_, _>>()
                        ))
                        .collect::<BTreeMap<_, _>>(),
                ),
            );
        }
    }
    methods
}

const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:shopAuth";

/// A shop REST API as made in the console: HTTP_PROXY methods to a backend, one secured
/// by a TOKEN authorizer with an invoke role, a CORS preflight, a Lambda proxy method,
/// deployed to `prod`.
async fn console_made_api(aws: &ApiGateway) -> String {
    let (id, root) = rest_api(aws, "Legacy Shop v3", "made in the console").await;
    let child = |parent: String, part: &'static str| {
        let id = id.clone();
        async move {
            aws.create_resource()
                .rest_api_id(&id)
                .parent_id(parent)
                .path_part(part)
                .send()
                .await
                .unwrap()
                .id()
                .unwrap()
                .to_owned()
        }
    };
    let pets = child(root.clone(), "pets").await;
    let pet = child(pets.clone(), "{petId}").await;
    let function = child(root, "fn").await;
    let authorizer = aws
        .create_authorizer()
        .rest_api_id(&id)
        .name("shopAuth")
        .r#type(aws_sdk_apigateway::types::AuthorizerType::Token)
        .authorizer_uri(format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{LAMBDA}/invocations"
        ))
        .authorizer_credentials(format!("arn:aws:iam::{ACCOUNT}:role/shopAuth-invoke"))
        .identity_source("method.request.header.Authorization")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let method = |resource: &str, verb: &'static str, authorizer: Option<&str>| {
        aws.put_method()
            .rest_api_id(&id)
            .resource_id(resource)
            .http_method(verb)
            .authorization_type(if authorizer.is_some() {
                "CUSTOM"
            } else {
                "NONE"
            })
            .set_authorizer_id(authorizer.map(str::to_owned))
            .send()
    };
    let integration = |resource: &str, verb: &'static str, kind: IntegrationType, uri: &str| {
        aws.put_integration()
            .rest_api_id(&id)
            .resource_id(resource)
            .http_method(verb)
            .r#type(kind)
            .integration_http_method(if verb == "OPTIONS" { "POST" } else { verb })
            .uri(uri)
            .send()
    };
    method(&pets, "GET", None).await.unwrap();
    integration(
        &pets,
        "GET",
        IntegrationType::HttpProxy,
        "http://127.0.0.1:9/shop/pets",
    )
    .await
    .unwrap();
    method(&pet, "GET", Some(&authorizer)).await.unwrap();
    integration(
        &pet,
        "GET",
        IntegrationType::HttpProxy,
        "http://127.0.0.1:9/shop/pets/{petId}",
    )
    .await
    .unwrap();
    method(&function, "POST", None).await.unwrap();
    integration(
        &function,
        "POST",
        IntegrationType::AwsProxy,
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:shopFn/invocations",
    )
    .await
    .unwrap();
    method(&pets, "OPTIONS", None).await.unwrap();
    aws.put_integration()
        .rest_api_id(&id)
        .resource_id(&pets)
        .http_method("OPTIONS")
        .r#type(IntegrationType::Mock)
        .request_templates("application/json", "{\"statusCode\": 200}")
        .send()
        .await
        .unwrap();
    let headers = [
        ("Access-Control-Allow-Origin", "'https://shop.example.com'"),
        ("Access-Control-Allow-Methods", "'GET,OPTIONS'"),
        (
            "Access-Control-Allow-Headers",
            "'Authorization,Content-Type'",
        ),
    ];
    let mut method_response = aws
        .put_method_response()
        .rest_api_id(&id)
        .resource_id(&pets)
        .http_method("OPTIONS")
        .status_code("200");
    let mut integration_response = aws
        .put_integration_response()
        .rest_api_id(&id)
        .resource_id(&pets)
        .http_method("OPTIONS")
        .status_code("200");
    for (name, value) in headers {
        let key = format!("method.response.header.{name}");
        method_response = method_response.response_parameters(&key, false);
        integration_response = integration_response.response_parameters(key, value);
    }
    method_response.send().await.unwrap();
    integration_response.send().await.unwrap();
    aws.create_deployment()
        .rest_api_id(&id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn adopts_a_console_made_rest_api_changing_nothing_but_tags() {
    let aws = ApiGateway::new(&sdk_config().await);
    let rest_api_id = console_made_api(&aws).await;
    let before = methods_of(&aws, &rest_api_id).await;
    let aws_before = stage_and_deployments(&aws, &rest_api_id).await;

    let f = fixture_with(&fast_limits(), &localstack_url()).await;
    let other_stage = discover(
        &f.app,
        &f.publisher,
        json!({"environment": f.environment, "restApiId": rest_api_id, "stage": "dev"}),
    )
    .await;
    let problem = expect_problem(other_stage, 422).await;
    assert_eq!(error_fields(&problem), ["stage"], "{problem:#}");

    let response = discover(
        &f.app,
        &f.publisher,
        json!({"environment": f.environment, "restApiId": rest_api_id}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let api = &body["api"];
    assert_eq!(
        location,
        format!("/publisher/v1/apis/{}", api["id"].as_str().unwrap())
    );
    assert_eq!(api["name"], "Legacy Shop v3");
    assert_eq!(api["version"], "3");
    assert_eq!(api["context"], "/legacy-shop-v3");
    assert_eq!(api["description"], "made in the console");
    assert_eq!(api["endpointUrl"], "http://127.0.0.1:9/shop");
    assert_eq!(operations(api), ["GET /pets", "GET /pets/{petId}"]);
    assert_eq!(api["resources"][0]["policies"], json!([]));
    assert_eq!(
        api["resources"][1]["policies"],
        json!([{"type": "awsOAuth2", "parameters": {"lambdaArn": LAMBDA,
            "invokeRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/shopAuth-invoke")}}])
    );
    assert_eq!(api["cors"]["enabled"], true, "{api:#}");
    assert_eq!(
        api["cors"]["allowOrigins"],
        json!(["https://shop.example.com"])
    );
    assert_eq!(
        api["cors"]["allowHeaders"],
        json!(["Authorization", "Content-Type"])
    );
    let warnings: Vec<&str> = body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert_eq!(warnings, ["methods./fn.POST"], "{body:#}");
    assert!(
        body["warnings"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Lambda proxy")
    );

    // The deployment stands for the REST API as it is, stage and AWS deployment included.
    let api_id = api["id"].as_str().unwrap();
    let deployment: Value = f
        .app
        .get(
            &format!(
                "/publisher/v1/apis/{api_id}/deployments/{}",
                body["deploymentId"].as_str().unwrap()
            ),
            &f.publisher,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deployment["status"], "deployed", "{deployment:#}");
    assert_eq!(deployment["restApiId"], rest_api_id.as_str());
    assert_eq!(
        deployment["invocationUrl"],
        format!("http://127.0.0.1:9/_aws/execute-api/{rest_api_id}/prod")
    );

    // Nothing changed in AWS but the tags.
    assert_eq!(methods_of(&aws, &rest_api_id).await, before);
    assert_eq!(stage_and_deployments(&aws, &rest_api_id).await, aws_before);
    let tags = aws
        .get_tags()
        .resource_arn(format!(
            "arn:aws:apigateway:us-east-1::/restapis/{rest_api_id}"
        ))
        .send()
        .await
        .unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags["fedgate:api"], api_id);
    assert_eq!(tags["fedgate:environment"], f.environment_id);

    // Adopted once: a second discover is refused, naming the API that has it.
    let again = discover(
        &f.app,
        &f.publisher,
        json!({"environment": f.environment, "restApiId": rest_api_id, "context": "/again"}),
    )
    .await;
    let problem = expect_problem(again, 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains(api_id),
        "{problem:#}"
    );
}

/// A REST API as the fake holds it: what fedgate would deploy for a small design.
fn seeded_document() -> Value {
    json!({"paths": {
        "/items": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy",
            "httpMethod": "GET", "uri": "http://127.0.0.1:9/v1/items"}}},
        "/items/{id}": {"delete": {"x-amazon-apigateway-integration": {"type": "http_proxy",
            "httpMethod": "DELETE", "uri": "http://127.0.0.1:9/v1/items/{id}"}}}
    }})
}

#[tokio::test]
async fn an_adopted_rest_api_is_redeployed_in_place_and_adopted_once() {
    let f = fake_fixture(&[]).await;
    let rest_api_id = f.gateway.seed("Inventory", seeded_document(), "prod");
    let adopt = async |body: Value| discover(&f.app, &f.publisher, body).await;

    let missing = adopt(json!({"environment": "fake", "restApiId": "nosuch"})).await;
    expect_problem(missing, 404).await;
    let bad_id = adopt(json!({"environment": "fake", "restApiId": "a/b"})).await;
    let problem = expect_problem(bad_id, 400).await;
    assert_eq!(error_fields(&problem), ["restApiId"]);
    let unknown_field =
        adopt(json!({"environment": "fake", "restApiId": rest_api_id, "mode": "x"})).await;
    expect_problem(unknown_field, 400).await;

    // A failed TagResource leaves nothing behind, in fedgate or in the gateway.
    f.gateway
        .fail_next([fedgate::aws::connector::ConnectorError::Rejected(
            "TagResource failed: AccessDeniedException: not allowed; grant apigateway:PUT on /tags"
                .into(),
        )]);
    let refused = adopt(json!({"environment": "fake", "restApiId": rest_api_id})).await;
    let problem = expect_problem(refused, 502).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("AccessDeniedException")
    );
    let apis: Value = f
        .app
        .get("/publisher/v1/apis", &f.publisher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(apis["items"], json!([]));
    assert!(f.gateway.apis()[&rest_api_id].ownership.api_id.is_empty());

    let response =
        adopt(json!({"environment": "fake", "restApiId": rest_api_id, "version": "2024.1"})).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let api = body["api"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["api"]["version"], "2024.1");
    assert_eq!(body["warnings"], json!([]));
    let owner = f.gateway.apis()[&rest_api_id].ownership.clone();
    assert_eq!(
        (owner.api_id.as_str(), owner.environment_id.as_str()),
        (api.as_str(), f.environment_id.as_str())
    );
    let audit: Value = f
        .app
        .get(
            &format!("/admin/v1/audit?targetId={api}"),
            &f.app.admin_token().await,
        )
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [("apis.discover", "success")], "{audit:#}");

    let again =
        adopt(json!({"environment": "fake", "restApiId": rest_api_id, "context": "/other"})).await;
    expect_problem(again, 409).await;

    // A deploy from fedgate replaces the definition of the same REST API.
    let created_before = f.gateway.count("CreateRestApi");
    let deployed: Value = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/deployments?wait=30"),
            &f.publisher,
            &json!({"environment": "fake"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deployed["status"], "deployed", "{deployed:#}");
    assert_eq!(deployed["restApiId"], rest_api_id.as_str());
    assert_eq!(f.gateway.count("CreateRestApi"), created_before);
}

#[tokio::test]
async fn pages_follow_the_gateways_own_positions() {
    // The fake pages as AWS does (at most `limit`, then an opaque position), which the
    // emulators do not.
    let f = fake_fixture(&[]).await;
    let seeded: BTreeSet<String> = (0..5)
        .map(|i| {
            f.gateway
                .seed(&format!("Api {i}"), seeded_document(), "prod")
        })
        .collect();
    let admin = f.app.admin_token().await;
    let mut seen = Vec::new();
    let mut path = "/admin/v1/environments/fake/rest-apis?limit=2".to_owned();
    loop {
        let page: Value = f.app.get(&path, &admin).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.len() <= 2, "{page:#}");
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => {
                path = format!("/admin/v1/environments/fake/rest-apis?limit=2&cursor={next}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), seeded);
    assert_eq!(f.gateway.count("GetRestApis"), 3);
    assert_eq!(f.gateway.count("GetStages"), 5, "one per REST API shown");
}
