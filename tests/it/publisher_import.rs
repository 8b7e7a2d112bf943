//! `POST /publisher/v1/apis/import`, `PUT /publisher/v1/apis/{id}/openapi` and
//! `GET /publisher/v1/apis/{id}/openapi`.

use serde_json::{Value, json};

use crate::common::publisher::{api_body, api_path, oauth_policy};
use crate::common::{TestApp, error_fields, expect_problem, spawn_app, spawn_app_with};

const OPENAPI3_YAML: &str = include_str!("../fixtures/petstore-openapi3.yaml");
const SWAGGER2_JSON: &str = include_str!("../fixtures/petstore-swagger2.json");

const IMPORT: &str = "/publisher/v1/apis/import";

/// A document sent as it is, with `content_type`, to `path` (with its query).
async fn send_document(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    content_type: &str,
    document: &str,
) -> reqwest::Response {
    app.http
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(document.to_owned())
        .send()
        .await
        .unwrap()
}

async fn post_document(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    document: &str,
) -> reqwest::Response {
    send_document(
        app,
        reqwest::Method::POST,
        path,
        token,
        content_type,
        document,
    )
    .await
}

/// The fields of an API's `warnings`.
fn warning_fields(api: &Value) -> Vec<String> {
    error_fields(&json!({"errors": api["warnings"]}))
}

/// Imports a document sent as it is, to `IMPORT` with `query`; the created API.
async fn import_document(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    document: &str,
) -> Value {
    let path = format!("{IMPORT}{query}");
    created_api(post_document(app, &path, token, content_type, document).await).await
}

fn fields_and_reasons(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

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
    created_api(app.post_json(IMPORT, token, body).await).await
}

/// The API a 201 answer created, at its `Location`.
async fn created_api(response: reqwest::Response) -> Value {
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
    // The petstore's own security is not carried over: said first.
    assert_eq!(
        warning_fields(&api),
        ["document.securityDefinitions", "endpointUrl"]
    );

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
        for read_only in [
            "id",
            "createdAt",
            "updatedAt",
            "createdBy",
            "updatedBy",
            "securitySchemes",
        ] {
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

const TRAILING_SLASH: &str = include_str!("../fixtures/openapi/trailing-slash.yaml");

/// (operation, backendPath) of each resource.
fn backend_paths(api: &Value) -> Vec<(String, Value)> {
    let backend = api["resources"].as_array().unwrap().iter();
    operations(api)
        .into_iter()
        .zip(backend.map(|r| r.get("backendPath").cloned().unwrap_or(Value::Null)))
        .collect()
}

#[tokio::test]
async fn a_raw_yaml_body_takes_its_overrides_from_the_query() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let api = import_document(
        &app,
        &token,
        "?name=Shop&context=/shop&endpointUrl=https://shop.example.com/v2",
        "application/yaml",
        TRAILING_SLASH,
    )
    .await;
    assert_eq!(api["name"], "Shop");
    assert_eq!(api["context"], "/shop");
    assert_eq!(api["endpointUrl"], "https://shop.example.com/v2");
    assert_eq!(api["version"], "1.10", "YAML's 1.10 keeps its text");
    assert_eq!(
        backend_paths(&api),
        [
            ("GET /items".to_owned(), json!("/items/")),
            (
                "GET /items/{item_id}".to_owned(),
                json!("/items/{item_id}/")
            ),
            (
                "GET /items/{item_id}/reviews".to_owned(),
                json!("/items/{pk}/reviews/")
            ),
        ]
    );
    assert_eq!(
        warning_fields(&api),
        ["document.paths./items/{pk}/reviews/"]
    );
    assert!(
        api["warnings"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("`{pk}` is named `{item_id}`"),
        "{api}"
    );
    assert_eq!(api["securitySchemes"], json!([]));
    // The stored API shows the backend paths too, and a GET + PUT keeps them.
    let path = api_path(api["id"].as_str().unwrap(), "");
    let stored = app.get_ok(&path, &token).await;
    assert_eq!(backend_paths(&stored), backend_paths(&api));
    assert_eq!(
        app.put_json(&path, &token, &stored, None).await.status(),
        200
    );
    assert_eq!(
        backend_paths(&app.get_ok(&path, &token).await),
        backend_paths(&api)
    );
}

#[tokio::test]
async fn every_document_media_type_is_taken_and_others_are_415() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let json_text =
        serde_json::to_string(&serde_json::from_str::<Value>(SWAGGER2_JSON).unwrap()).unwrap();
    for (i, (content_type, document)) in [
        ("application/yaml", OPENAPI3_YAML),
        ("application/openapi+yaml", OPENAPI3_YAML),
        ("application/x-yaml; charset=utf-8", OPENAPI3_YAML),
        ("text/yaml", OPENAPI3_YAML),
        ("application/openapi+json", json_text.as_str()),
        ("application/yaml", SWAGGER2_JSON),
    ]
    .into_iter()
    .enumerate()
    {
        let response = post_document(
            &app,
            &format!("{IMPORT}?version={i}"),
            &token,
            content_type,
            document,
        )
        .await;
        assert_eq!(response.status(), 201, "{content_type}");
    }
    let problem = expect_problem(
        post_document(&app, IMPORT, &token, "text/plain", OPENAPI3_YAML).await,
        415,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/yaml")
    );
    // With the JSON wrapper, overrides go in the body.
    let response = app
        .post_json(
            &format!("{IMPORT}?name=X"),
            &token,
            &json!({"document": OPENAPI3_YAML, "version": "9"}),
        )
        .await;
    let problem = expect_problem(response, 400).await;
    assert_eq!(error_fields(&problem), ["name"]);
    let problem = expect_problem(
        post_document(
            &app,
            &format!("{IMPORT}?colour=red"),
            &token,
            "application/yaml",
            OPENAPI3_YAML,
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["colour"]);
    let problem = expect_problem(
        app.http
            .post(app.url(IMPORT))
            .bearer_auth(&token)
            .header("content-type", "application/yaml")
            .body(vec![0xff, 0xfe, b'a'])
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["document"]);
}

#[tokio::test]
async fn what_aws_cannot_express_is_refused_naming_the_document_path() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let cases = [
        (
            include_str!("../fixtures/openapi/slash-clash.yaml"),
            vec!["document.paths./orders/"],
            "document.paths./orders`",
        ),
        (
            include_str!("../fixtures/openapi/openapi-3.2.yaml"),
            vec!["document.openapi"],
            "3.2.0",
        ),
        (
            include_str!("../fixtures/openapi/segment-param.yaml"),
            vec!["document.paths./posts/{id}.json"],
            "whole segment",
        ),
        (
            include_str!("../fixtures/openapi/trace.yaml"),
            vec!["document.paths./debug.trace"],
            "TRACE",
        ),
        (
            include_str!("../fixtures/openapi/ref-bad.yaml"),
            vec!["document.paths./external.$ref", "document.paths./loop.$ref"],
            "outside the document",
        ),
    ];
    for (document, fields, said) in cases {
        let problem = expect_problem(
            post_document(&app, IMPORT, &token, "application/yaml", document).await,
            400,
        )
        .await;
        assert_eq!(error_fields(&problem), fields, "{problem}");
        let reasons = fields_and_reasons(&problem);
        assert!(reasons[0].1.contains(said), "{reasons:?}");
        for (_, reason) in &reasons {
            assert!(!reason.contains("resources["), "{reason}");
        }
    }
    // Same method on /x and /x/ is a clash too, naming both.
    let same = include_str!("../fixtures/openapi/slash-clash.yaml").replace("post:", "get:");
    let problem = expect_problem(
        post_document(&app, IMPORT, &token, "application/yaml", &same).await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["document.paths./orders/"]);
    let page = app.get_ok("/publisher/v1/apis", &token).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn long_descriptions_are_truncated_with_a_warning() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let document = include_str!("../fixtures/openapi/long-description.json");
    let api = import_document(&app, &token, "", "application/openapi+json", document).await;
    assert_eq!(api["description"].as_str().unwrap().chars().count(), 2000);
    assert_eq!(
        api["resources"][0]["description"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        2000
    );
    assert_eq!(
        warning_fields(&api),
        [
            "document.info.description",
            "document.paths./talk.get.description"
        ]
    );
}

#[tokio::test]
async fn path_item_references_are_followed() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let document = include_str!("../fixtures/openapi/ref-path-items.yaml");
    let api = import_document(&app, &token, "", "application/openapi+yaml", document).await;
    assert_eq!(operations(&api), ["GET /a", "GET /b"]);
    assert_eq!(api["resources"][1]["description"], "A thing");
}

#[tokio::test]
async fn declared_security_is_reported_with_the_key_manager_it_names() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    app.create_key_manager(&json!({"name": "corp-idp", "type": "oidc",
        "issuer": "https://idp.corp.example/", "jwksUri": "https://idp.corp.example/jwks",
        "tokenEndpoint": "https://idp.corp.example/token"}))
        .await;
    let document = include_str!("../fixtures/openapi/security.yaml")
        .replace("KEY_MANAGER_ISSUER", "https://idp.corp.example");
    let api = import_document(&app, &token, "", "application/yaml", &document).await;
    assert_eq!(
        api["securitySchemes"],
        json!([
            {"name": "idp", "type": "openIdConnect", "keyManager": "corp-idp",
             "field": "document.components.securitySchemes.idp"},
            {"name": "key", "type": "apiKey", "field": "document.components.securitySchemes.key"}
        ])
    );
    let warnings = fields_and_reasons(&json!({"errors": api["warnings"]}));
    assert_eq!(
        warnings.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            "document.components.securitySchemes.idp",
            "document.components.securitySchemes",
            "document.security"
        ]
    );
    assert!(warnings[0].1.contains("corp-idp"), "{warnings:?}");
    // `idp` names a key manager and is carried over; `key` is not.
    assert!(warnings[1].1.contains("with `key`,"), "{warnings:?}");
    assert!(warnings[1].1.contains("unsecured"), "{warnings:?}");
    // Both operations override the document's requirement: neither inherits it, and
    // an API-level policy would secure them.
    assert!(
        warnings[2].1.contains("cannot be expressed"),
        "{warnings:?}"
    );
    assert_eq!(api["policies"], json!([]));
    assert_eq!(api["resources"][0]["policies"], json!([]));

    // Swagger 2.0 securityDefinitions, naming no registered key manager.
    let document = include_str!("../fixtures/openapi/swagger-security.json");
    let api = import_document(&app, &token, "", "application/openapi+json", document).await;
    assert_eq!(
        api["securitySchemes"],
        json!([{"name": "oauth", "type": "oauth2", "field": "document.securityDefinitions.oauth"}])
    );
    assert_eq!(warning_fields(&api), ["document.securityDefinitions"]);
}

fn managed(key_manager: &str, scopes: &[&str]) -> Value {
    json!({"type": "awsOAuth2", "parameters": {"keyManager": key_manager, "scopes": scopes}})
}

/// A document securing its operations with `okta`'s tokens (scheme `idp`): the whole
/// API needs `pets:read`, `POST /pets` also `pets:write`, `GET /health` nothing.
const OKTA_SECURED: &str = r#"
openapi: 3.0.3
info: {title: Okta pets, version: "1"}
servers: [{url: "https://pets.example.com"}]
security: [{idp: ["pets:read"]}]
paths:
  /pets:
    get: {responses: {"200": {description: ok}}}
    post:
      security: [{key: []}, {idp: ["pets:read", "pets:write"]}]
      responses: {"200": {description: ok}}
  /health:
    get: {security: [], responses: {"200": {description: ok}}}
components:
  securitySchemes:
    idp:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: "https://okta.example.com/token", scopes: {}}}
    key: {type: apiKey, in: header, name: X-Key}
"#;

#[tokio::test]
async fn requirements_naming_a_key_manager_become_managed_policies() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    app.create_key_manager(&json!({"name": "okta", "type": "oidc",
        "issuer": "https://okta.example.com/", "jwksUri": "https://okta.example.com/jwks",
        "tokenEndpoint": "https://okta.example.com/token"}))
        .await;
    let api = import_document(&app, &token, "", "application/yaml", OKTA_SECURED).await;
    // `GET /health` is open, so the document's requirement goes on each resource that
    // inherits it rather than on the API.
    assert_eq!(api["policies"], json!([]));
    assert_eq!(
        api["resources"][0]["policies"],
        json!([managed("okta", &["pets:read"])])
    );
    assert_eq!(
        api["resources"][1]["policies"],
        json!([managed("okta", &["pets:read", "pets:write"])])
    );
    assert_eq!(api["resources"][2]["policies"], json!([]));
    assert_eq!(api["resources"][2]["effectivePolicy"]["source"], "none");
    let warnings = fields_and_reasons(&json!({"errors": api["warnings"]}));
    assert_eq!(
        warnings.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            "document.components.securitySchemes.idp",
            "document.components.securitySchemes",
            "document.paths./pets.post.security",
            "document.security"
        ],
        "{warnings:?}"
    );
    assert!(
        warnings[0]
            .1
            .contains("secured by a fedgate-managed authorizer"),
        "{warnings:?}"
    );
    assert!(
        warnings[2].1.contains("leaves out the alternative `key`"),
        "{warnings:?}"
    );
    assert!(
        warnings[3].1.contains("`document.paths./health.get`"),
        "{warnings:?}"
    );

    // An update keeps the policies the API holds: they win over the document's.
    let id = api["id"].as_str().unwrap();
    let path = api_path(id, "");
    let patch = json!({"resources": [
        {"method": "GET", "path": "/pets", "policies": [oauth_policy("own")]},
        {"method": "POST", "path": "/pets"},
        {"method": "GET", "path": "/health"}]});
    app.merge_patch_ok(&path, &token, &patch, None).await;
    let response = send_document(
        &app,
        reqwest::Method::PUT,
        &api_path(id, "/openapi"),
        &token,
        "application/yaml",
        OKTA_SECURED,
    )
    .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(
        updated["resources"][0]["policies"],
        json!([oauth_policy("own")])
    );
    assert_eq!(
        updated["resources"][1]["policies"],
        json!([managed("okta", &["pets:read", "pets:write"])])
    );
    assert_eq!(updated["changes"]["changed"], json!(["POST /pets"]));
    let kept = fields_and_reasons(&json!({"errors": updated["warnings"]}));
    assert!(
        kept.iter()
            .any(|(field, reason)| field == "document.paths./pets.get"
                && reason.starts_with("keeps the policy it has")),
        "{kept:?}"
    );
}

#[tokio::test]
async fn unbounded_documents_are_400_naming_the_reason() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let started = std::time::Instant::now();
    let cases = [
        (
            "application/yaml",
            include_str!("../fixtures/openapi/billion-laughs.yaml"),
            "aliases",
        ),
        (
            "application/yaml",
            include_str!("../fixtures/openapi/deep-nesting.yaml"),
            "deeper than 128",
        ),
        (
            "application/openapi+json",
            include_str!("../fixtures/openapi/deep-nesting.json"),
            "recursion limit",
        ),
    ];
    for (content_type, document, said) in cases {
        let problem = expect_problem(
            post_document(&app, IMPORT, &token, content_type, document).await,
            400,
        )
        .await;
        let reasons = fields_and_reasons(&problem);
        assert_eq!(reasons[0].0, "document");
        assert!(reasons[0].1.contains(said), "{reasons:?}");
    }
    // Deep JSON in the wrapper: serde_json's own limit, a 400 as well.
    let wrapped = format!(
        "{{\"document\": {}}}",
        include_str!("../fixtures/openapi/deep-nesting.json")
    );
    let problem = expect_problem(
        post_document(&app, IMPORT, &token, "application/json", &wrapped).await,
        400,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("recursion limit"),
        "{problem}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The server is still there.
    assert_eq!(app.get("/healthz", &token).await.status(), 200);
}

#[tokio::test]
async fn import_routes_take_documents_up_to_their_own_limit() {
    let app = spawn_app_with(&[
        ("body_limit_bytes", json!(2048)),
        ("import_body_limit_bytes", json!(8192)),
    ])
    .await;
    let token = app.publisher_token().await;
    // Over body_limit_bytes, under import_body_limit_bytes.
    let padded = format!("{OPENAPI3_YAML}\n#{}\n", "x".repeat(4000));
    assert!(padded.len() > 2048 && padded.len() < 8192);
    assert_eq!(
        post_document(&app, IMPORT, &token, "application/yaml", &padded)
            .await
            .status(),
        201
    );
    let wrapped = json!({"document": padded, "version": "2"});
    assert_eq!(app.post_json(IMPORT, &token, &wrapped).await.status(), 201);
    // Every other route keeps body_limit_bytes.
    let mut body = api_body("Big");
    body["description"] = json!("y".repeat(3000));
    expect_problem(
        app.post_json("/publisher/v1/apis", &token, &body).await,
        413,
    )
    .await;
    let too_big = format!("{OPENAPI3_YAML}\n#{}\n", "x".repeat(9000));
    expect_problem(
        post_document(&app, IMPORT, &token, "application/yaml", &too_big).await,
        413,
    )
    .await;
}

#[tokio::test]
async fn put_openapi_updates_the_design_and_keeps_what_fedgate_holds() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let api = import_document(
        &app,
        &token,
        "?context=/pets",
        "application/yaml",
        OPENAPI3_YAML,
    )
    .await;
    let id = api["id"].as_str().unwrap().to_owned();
    let path = api_path(&id, "");
    // fedgate's own settings: an API-level policy, CORS, a key manager, and a policy on
    // GET /pets/{petId} (kept) and on POST /pets (removed with it).
    let patch = json!({
        "policies": [oauth_policy("api-wide")],
        "cors": {"enabled": true},
        "keyManagers": ["corp-idp"],
        "resources": [
            {"method": "GET", "path": "/pets", "description": "List all pets"},
            {"method": "POST", "path": "/pets", "policies": [oauth_policy("writers")]},
            {"method": "GET", "path": "/pets/{petId}", "policies": [oauth_policy("readers")]}
        ]
    });
    let response = app.merge_patch(&path, &token, &patch, None).await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();

    let v2 = include_str!("../fixtures/openapi/pets-v2.yaml");
    let openapi = api_path(&id, "/openapi");
    let put = |if_match: &str| {
        app.http
            .put(app.url(&openapi))
            .bearer_auth(&token)
            .header("content-type", "application/yaml")
            .header("if-match", if_match)
            .body(v2)
            .send()
    };
    expect_problem(put("\"999\"").await.unwrap(), 412).await;
    let response = put(&etag).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_ne!(response.headers()["etag"].to_str().unwrap(), etag);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(
        updated["changes"],
        json!({"added": ["DELETE /pets/{petId}"], "removed": ["POST /pets"],
               "changed": ["GET /pets/{petId}"]})
    );
    assert_eq!(updated["context"], "/pets", "kept: the document names none");
    assert_eq!(updated["policies"], json!([oauth_policy("api-wide")]));
    assert_eq!(updated["cors"]["enabled"], true);
    assert_eq!(updated["keyManagers"], json!(["corp-idp"]));
    assert_eq!(
        operations(&updated),
        ["GET /pets", "GET /pets/{petId}", "DELETE /pets/{petId}"]
    );
    assert_eq!(
        updated["resources"][1]["policies"],
        json!([oauth_policy("readers")])
    );
    assert_eq!(updated["resources"][1]["description"], "One pet, by id");
    assert_eq!(updated["resources"][2]["policies"], json!([]));
    assert_eq!(updated["resources"][2]["effectivePolicy"]["source"], "api");
    let stored = app.get_ok(&path, &token).await;
    assert_eq!(stored["resources"], updated["resources"]);

    // The same document again: nothing changes.
    let again = send_document(
        &app,
        reqwest::Method::PUT,
        &openapi,
        &token,
        "application/yaml",
        v2,
    )
    .await;
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        again["changes"],
        json!({"added": [], "removed": [], "changed": []})
    );

    // A broken document changes nothing and names where it is broken.
    let broken = v2.replace("/pets/{petId}:", "/pets/{petId}.json:");
    let problem = expect_problem(
        send_document(
            &app,
            reqwest::Method::PUT,
            &openapi,
            &token,
            "application/yaml",
            &broken,
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        ["document.paths./pets/{petId}.json"]
    );
    expect_problem(
        send_document(
            &app,
            reqwest::Method::PUT,
            &api_path("00000000-0000-0000-0000-000000000000", "/openapi"),
            &token,
            "application/yaml",
            v2,
        )
        .await,
        404,
    )
    .await;
    let admin = app.admin_token().await;
    let actions = app.audit_actions(&admin, "apis").await;
    // The PATCH, the PUT refused by If-Match, and the two PUTs that went through.
    let updates: Vec<&str> = actions
        .iter()
        .filter(|a| a.starts_with("apis.update "))
        .map(String::as_str)
        .collect();
    assert_eq!(updates.len(), 4, "{actions:?}");
    assert_eq!(
        updates.iter().filter(|a| a.ends_with(" failure")).count(),
        1,
        "{actions:?}"
    );
}
