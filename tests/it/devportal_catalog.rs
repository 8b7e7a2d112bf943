//! The developer portal's catalog: only published and deprecated APIs, searchable and
//! paginated, with which resources need a token, and nothing internal.

use serde_json::{Value, json};

use crate::common::publisher::{api_body, oauth_policy};
use crate::common::{expect_problem, spawn_app};

#[tokio::test]
async fn only_published_and_deprecated_apis_are_listed() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    let developer = app.developer("dev-one").await;
    let mut ids = Vec::new();
    for name in ["Pets", "Pets Legacy", "Draft Pets", "Orders"] {
        ids.push(
            app.create_api(&publisher, &api_body(name)).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.lifecycle(&publisher, &ids[0], "publish").await;
    app.lifecycle(&publisher, &ids[1], "publish").await;
    app.lifecycle(&publisher, &ids[1], "deprecate").await;
    app.lifecycle(&publisher, &ids[3], "publish").await;

    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get_ok("/devportal/v1/apis", &developer).await;
    assert_eq!(names(&all), ["Pets", "Pets Legacy", "Orders"]);
    assert_eq!(all["items"][1]["lifecycleState"], "DEPRECATED");

    let pets = app.get_ok("/devportal/v1/apis?name=pets", &developer).await;
    assert_eq!(
        names(&pets),
        ["Pets", "Pets Legacy"],
        "Draft Pets is not published"
    );

    let first = app.get_ok("/devportal/v1/apis?limit=2", &developer).await;
    assert_eq!(names(&first), ["Pets", "Pets Legacy"]);
    let next = first["next"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("/devportal/v1/apis?limit=2&cursor={next}"),
            &developer,
        )
        .await;
    assert_eq!(names(&second), ["Orders"]);
    assert!(second.get("next").is_none());

    // An unpublished API does not exist here.
    expect_problem(
        app.get(&format!("/devportal/v1/apis/{}", ids[2]), &developer)
            .await,
        404,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/devportal/v1/apis/{}/openapi", ids[2]),
            &developer,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn the_portal_needs_the_devportal_scope() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    expect_problem(app.get("/devportal/v1/apis", &publisher).await, 403).await;
    let anonymous = app
        .http
        .get(app.url("/devportal/v1/apis"))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401).await;
}

#[tokio::test]
async fn an_api_shows_what_needs_a_token_and_hides_internals() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    let developer = app.developer("dev-one").await;
    app.oidc_key_manager("mock-idp", json!({"scopes": ["pets.read"]}))
        .await;
    app.create_key_manager(&json!({"name": "other-idp", "type": "oidc",
        "issuer": "https://other.example/", "jwksUri": "https://other.example/jwks",
        "tokenEndpoint": "https://other.example/token"}))
        .await;
    let mut body = api_body("Secured");
    body["policies"] = json!([oauth_policy("api-authorizer")]);
    body["keyManagers"] = json!(["mock-idp"]);
    body["resources"] = json!([
        {"method": "GET", "path": "/pets", "description": "List pets"},
        {"method": "GET", "path": "/pets/{petId}", "policies": [oauth_policy("pet-authorizer")]},
    ]);
    let id = app.create_api(&publisher, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.lifecycle(&publisher, &id, "publish").await;

    let api = app
        .get_ok(&format!("/devportal/v1/apis/{id}"), &developer)
        .await;
    assert_eq!(api["name"], "Secured");
    assert_eq!(
        api["resources"],
        json!([
            {"method": "GET", "path": "/pets", "description": "List pets", "secured": true},
            {"method": "GET", "path": "/pets/{petId}", "description": "", "secured": true},
        ])
    );
    assert_eq!(api["endpoints"], json!([]), "not deployed anywhere yet");
    assert_eq!(
        api["keyManagers"].as_array().unwrap().len(),
        1,
        "only the one the API names"
    );
    assert_eq!(api["keyManagers"][0]["name"], "mock-idp");

    let document = app
        .get_ok(&format!("/devportal/v1/apis/{id}/openapi"), &developer)
        .await;
    assert_eq!(document["servers"], json!([]));
    assert_eq!(
        document["paths"]["/pets"]["get"]["security"],
        json!([{"mock-idp": []}])
    );
    let flow = &document["components"]["securitySchemes"]["mock-idp"]["flows"]["clientCredentials"];
    assert!(flow["tokenUrl"].as_str().unwrap().ends_with("/token"));
    assert_eq!(flow["scopes"], json!({"pets.read": ""}));

    for text in [api.to_string(), document.to_string()] {
        for internal in ["arn:aws", "petstore.example.com", "authorizer", "x-fedgate"] {
            assert!(!text.contains(internal), "`{internal}` leaked into {text}");
        }
    }
}
