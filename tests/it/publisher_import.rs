//! `POST /publisher/v1/apis/import` and `GET /publisher/v1/apis/{id}/openapi`.

use serde_json::{Value, json};

use crate::common::publisher::{api_body, api_path, oauth_policy};
use crate::common::{TestApp, error_fields, expect_problem, spawn_app};

const OPENAPI3_YAML: &str = include_str!("../fixtures/petstore-openapi3.yaml");
const SWAGGER2_JSON: &str = include_str!("../fixtures/petstore-swagger2.json");

const IMPORT: &str = "/publisher/v1/apis/import";

pub fn operations(api: &Value) -> Vec<String> {
    api["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect()
}

async fn import_ok(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.post_json(IMPORT, token, body).await;
    let status = response.status();
    let location = response.headers().get("location").cloned();
    let api: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "import failed: {api}");
    assert_eq!(
        location.unwrap().to_str().unwrap(),
        api_path(api["id"].as_str().unwrap(), "")
    );
    api
}

#[tokio::test]
async fn imports_the_openapi_3_petstore_from_yaml_text() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let api = import_ok(&app, &token, &json!({"document": OPENAPI3_YAML})).await;
    assert_eq!(api["name"], "Swagger Petstore");
    assert_eq!(api["version"], "1.0.0");
    assert_eq!(api["context"], "/swagger-petstore");
    assert_eq!(api["endpointUrl"], "http://petstore.swagger.io/v1");
    assert_eq!(
        api["description"],
        "A sample API that uses a petstore as an example"
    );
    assert_eq!(
        operations(&api),
        ["GET /pets", "POST /pets", "GET /pets/{petId}"]
    );
    assert_eq!(api["resources"][0]["description"], "List all pets");
    assert_eq!(api["resources"][0]["effectivePolicy"]["source"], "none");
    assert_eq!(api["createdBy"], "admin");
}

#[tokio::test]
async fn imports_the_swagger_2_petstore_with_overrides() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let document: Value = serde_json::from_str(SWAGGER2_JSON).unwrap();
    let api = import_ok(
        &app,
        &token,
        &json!({"document": document, "name": "Classic Petstore", "context": "/petstore/v2"}),
    )
    .await;
    assert_eq!(api["name"], "Classic Petstore");
    assert_eq!(api["version"], "1.0.7");
    assert_eq!(api["context"], "/petstore/v2");
    assert_eq!(api["endpointUrl"], "https://petstore.swagger.io/v2");
    let ops = operations(&api);
    assert_eq!(ops.len(), 20);
    assert_eq!(ops[0], "POST /pet/{petId}/uploadImage");
    for op in [
        "PUT /pet",
        "DELETE /pet/{petId}",
        "GET /store/order/{orderId}",
        "GET /user/login",
    ] {
        assert!(ops.contains(&op.to_owned()), "{op} missing from {ops:?}");
    }

    // The same document as JSON text, with the endpoint given: a second version.
    let api = import_ok(
        &app,
        &token,
        &json!({"document": SWAGGER2_JSON, "version": "2", "endpointUrl": "http://127.0.0.1:4010/v2"}),
    )
    .await;
    assert_eq!(api["context"], "/swagger-petstore");
    assert_eq!(api["endpointUrl"], "http://127.0.0.1:4010/v2");
    assert_eq!(api["warnings"][0]["field"], "endpointUrl");

    // Importing it again under the first name collides with the first.
    let again = json!({"document": SWAGGER2_JSON, "name": "Classic Petstore"});
    expect_problem(app.post_json(IMPORT, &token, &again).await, 409).await;
}

#[tokio::test]
async fn a_broken_document_is_400_naming_where() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let cases = [
        (json!({"document": 42}), vec!["document"]),
        (json!({"document": "openapi: [3.0"}), vec!["document"]),
        (
            json!({"document": {"info": {"title": "T"}}}),
            vec!["document"],
        ),
        (
            json!({"document": {"openapi": "4.0.0", "info": {"title": "T", "version": "1"}}}),
            vec!["document.openapi"],
        ),
        (
            json!({"document": {
                "openapi": "3.0.3",
                "info": {"version": "1"},
                "servers": [{"url": "/v1"}],
                "paths": {
                    "/pets": {"get": "list them"},
                    "/pets/*": {"post": {"summary": "wildcard"}},
                    "/owners/{id}": {"get": {"x-fedgate": {"policies": [{"type": "basic"}]}}}
                }
            }}),
            vec![
                "document.info.title",
                "context",
                "document.servers[0].url",
                "document.paths./pets.get",
                "document.paths./pets/*",
                "document.paths./owners/{id}.get.x-fedgate.policies[0].type",
            ],
        ),
        (
            json!({"name": "N", "document": {
                "swagger": "2.0",
                "info": {"version": "1"},
                "host": "api.example.com",
                "paths": {
                    "/pets/*": {"post": {"summary": "wildcard"}},
                    "/owners/{id}": {"get": {"x-fedgate": {"policies": [{"type": "basic"}]}}}
                }
            }}),
            vec![
                "context",
                "document.paths./pets/*",
                "document.paths./owners/{id}.get.x-fedgate.policies[0].type",
            ],
        ),
        (
            json!({"document": {"openapi": "3.0.3"}, "colour": "red"}),
            vec!["colour"],
        ),
    ];
    for (body, expected) in cases {
        let problem = expect_problem(app.post_json(IMPORT, &token, &body).await, 400).await;
        assert_eq!(error_fields(&problem), expected, "{body}");
    }
    let page = app.get_ok("/publisher/v1/apis", &token).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn export_imports_back_to_the_same_api() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Petstore");
    body["description"] = json!("Pets, exported");
    body["cors"] = json!({"enabled": true, "allowOrigins": ["https://shop.example.com"],
                          "allowHeaders": ["Authorization"], "allowCredentials": true, "maxAge": 300});
    body["keyManagers"] = json!(["auth0"]);
    body["policies"] = json!([oauth_policy("api-authorizer")]);
    body["resources"] = json!([
        {"method": "GET", "path": "/pets", "description": "List pets"},
        {"method": "POST", "path": "/pets", "policies": [oauth_policy("writers")]},
        {"method": "HEAD", "path": "/pets/{petId}"},
        {"method": "ANY", "path": "/files/{proxy+}"},
    ]);
    let original = app.create_api(&token, &body).await;
    let id = original["id"].as_str().unwrap();

    let document = app.get_ok(&api_path(id, "/openapi"), &token).await;
    assert_eq!(document["openapi"], "3.0.3");
    assert_eq!(document["info"]["title"], "Petstore");
    assert_eq!(
        document["servers"][0]["url"],
        "https://petstore.example.com/v1"
    );
    assert_eq!(
        document["paths"]["/pets/{petId}"]["head"]["parameters"][0]["name"],
        "petId"
    );
    assert!(document["paths"]["/pets"]["get"]["responses"].is_object());

    assert_eq!(app.delete(&api_path(id, ""), &token).await.status(), 204);
    let imported = import_ok(&app, &token, &json!({"document": document})).await;
    let design = |api: &Value| {
        let mut api = api.clone();
        for read_only in ["id", "createdAt", "updatedAt", "createdBy", "updatedBy"] {
            api.as_object_mut().unwrap().remove(read_only);
        }
        api
    };
    assert_eq!(design(&imported), design(&original));
    expect_problem(app.get(&api_path(id, "/openapi"), &token).await, 404).await;
}

#[tokio::test]
async fn import_and_export_need_the_publisher_scope() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    let api = app.create_api(&publisher, &api_body("Petstore")).await;
    let devportal = app.token("devportal").await;
    let body = json!({"document": OPENAPI3_YAML});
    expect_problem(app.post_json(IMPORT, &devportal, &body).await, 403).await;
    let export = api_path(api["id"].as_str().unwrap(), "/openapi");
    expect_problem(app.get(&export, &devportal).await, 403).await;
}
