//! Managed AWS OAuth2 policies (`{keyManager, scopes}`) on API designs: the key manager
//! is resolved on every write and stored by name, and a key manager a design names
//! cannot be deleted.

use serde_json::{Value, json};

use crate::common::publisher::{api_body, api_path, oauth_policy};
use crate::common::{TestApp, error_fields, expect_problem, spawn_app};

pub fn managed(key_manager: &str, scopes: &[&str]) -> Value {
    json!({"type": "awsOAuth2", "parameters": {"keyManager": key_manager, "scopes": scopes}})
}

/// Registers a key manager `name` whose issuer is `https://<name>.example.com/`.
pub async fn key_manager(app: &TestApp, name: &str) -> Value {
    app.create_key_manager(&json!({"name": name, "type": "oidc",
        "issuer": format!("https://{name}.example.com/"),
        "jwksUri": format!("https://{name}.example.com/jwks"),
        "tokenEndpoint": format!("https://{name}.example.com/token")}))
        .await
}

#[tokio::test]
async fn key_managers_are_resolved_on_every_write_and_stored_by_name() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let okta = key_manager(&app, "okta").await;
    let okta_id = okta["id"].as_str().unwrap();

    // By id at the API, by name on a resource: both are stored by name.
    let mut body = api_body("Pets");
    body["policies"] = json!([managed(okta_id, &["pets:read"])]);
    body["resources"][1]["policies"] = json!([managed("okta", &[])]);
    let api = app.create_api(&token, &body).await;
    assert_eq!(api["policies"], json!([managed("okta", &["pets:read"])]));
    assert_eq!(
        api["resources"][1]["policies"],
        json!([managed("okta", &[])])
    );

    // Every unknown reference is named at once, and nothing is written.
    body["name"] = json!("Other");
    body["context"] = json!("/other");
    body["policies"] = json!([managed("nobody", &[])]);
    body["resources"][0]["policies"] = json!([managed("nobody", &[])]);
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &body).await,
        400,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        [
            "policies[0].parameters.keyManager",
            "resources[0].policies[0].parameters.keyManager"
        ]
    );
    assert_eq!(
        problem["errors"][1]["reason"],
        "no key manager is named or has the id `nobody`"
    );

    // PATCH goes through the same check (and resolution).
    let path = api_path(api["id"].as_str().unwrap(), "");
    let patch = json!({"policies": [managed("ghost", &[])]});
    let problem = expect_problem(app.merge_patch(&path, &token, &patch, None).await, 400).await;
    assert_eq!(
        error_fields(&problem),
        ["policies[0].parameters.keyManager"]
    );
    let patch = json!({"policies": [managed(okta_id, &["pets:write"])]});
    let (patched, _) = app.merge_patch_ok(&path, &token, &patch, None).await;
    assert_eq!(
        patched["policies"],
        json!([managed("okta", &["pets:write"])])
    );
}

#[tokio::test]
async fn a_key_manager_an_api_names_is_neither_deleted_nor_renamed() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let admin = app.admin_token().await;
    let okta = key_manager(&app, "okta").await;
    let unused = key_manager(&app, "unused").await;
    let mut body = api_body("Pets");
    body["resources"][1]["policies"] = json!([managed("okta", &["pets:read"])]);
    let api = app.create_api(&token, &body).await;
    let mut body = api_body("Shop");
    body["policies"] = json!([managed("okta", &[])]);
    app.create_api(&token, &body).await;

    let okta_path = format!("/admin/v1/key-managers/{}", okta["id"].as_str().unwrap());
    let problem = expect_problem(app.delete(&okta_path, &admin).await, 409).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("`Pets`") && detail.contains("`Shop`"),
        "{detail}"
    );
    app.get_ok(&okta_path, &admin).await;

    // Designs name it by name, so it keeps its name while they do; the rest may change.
    let mut replacement = json!({"name": "okta-2", "type": "oidc",
        "issuer": "https://okta.example.com/", "jwksUri": "https://okta.example.com/jwks",
        "tokenEndpoint": "https://okta.example.com/token"});
    let problem = expect_problem(
        app.put_json(&okta_path, &admin, &replacement, None).await,
        409,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("before renaming it"),
        "{problem}"
    );
    replacement["name"] = json!("okta");
    replacement["displayName"] = json!("Okta");
    let response = app.put_json(&okta_path, &admin, &replacement, None).await;
    assert_eq!(response.status(), 200);
    let unused_path = format!("/admin/v1/key-managers/{}", unused["id"].as_str().unwrap());
    assert_eq!(app.delete(&unused_path, &admin).await.status(), 204);

    // Once no design names it, it goes.
    let pets = api_path(api["id"].as_str().unwrap(), "");
    let patch = json!({"resources": [{"method": "GET", "path": "/pets"}]});
    app.merge_patch_ok(&pets, &token, &patch, None).await;
    expect_problem(app.delete(&okta_path, &admin).await, 409).await;
    let apis = app.get_ok("/publisher/v1/apis?name=Shop", &token).await;
    let shop = api_path(apis["items"][0]["id"].as_str().unwrap(), "");
    app.merge_patch_ok(&shop, &token, &json!({"policies": []}), None)
        .await;
    assert_eq!(app.delete(&okta_path, &admin).await.status(), 204);
}

#[tokio::test]
async fn views_show_the_key_manager_and_scopes_but_no_arns() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    let developer = app.developer("dev-one").await;
    key_manager(&app, "okta").await;
    key_manager(&app, "corp").await;
    key_manager(&app, "unrelated").await;
    let mut body = api_body("Pets");
    body["keyManagers"] = json!(["corp"]);
    body["policies"] = json!([oauth_policy("api-authorizer")]);
    body["resources"][0]["policies"] = json!([managed("okta", &["pets:read"])]);
    let api = app.create_api(&publisher, &body).await;
    assert_eq!(
        api["resources"][0]["effectivePolicy"],
        json!({"source": "resource", "policy": managed("okta", &["pets:read"])})
    );
    assert_eq!(api["resources"][1]["effectivePolicy"]["source"], "api");
    let id = api["id"].as_str().unwrap();
    app.lifecycle(&publisher, id, "publish").await;

    let portal = app
        .get_ok(&format!("/devportal/v1/apis/{id}"), &developer)
        .await;
    assert_eq!(
        portal["resources"],
        json!([
            {"method": "GET", "path": "/pets", "description": "List pets", "secured": true,
             "keyManager": "okta", "scopes": ["pets:read"]},
            {"method": "GET", "path": "/pets/{petId}", "description": "One pet", "secured": true},
        ])
    );
    let names: Vec<&str> = portal["keyManagers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|km| km["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "the listed one and the managed one: {names:?}"
    );
    assert!(names.contains(&"corp") && names.contains(&"okta"));

    let document = app
        .get_ok(&format!("/devportal/v1/apis/{id}/openapi"), &developer)
        .await;
    assert_eq!(
        document["paths"]["/pets"]["get"]["security"],
        json!([{"okta": ["pets:read"]}])
    );
    assert_eq!(
        document["paths"]["/pets/{petId}"]["get"]["security"],
        json!([{"corp": []}])
    );
    let okta = &document["components"]["securitySchemes"]["okta"]["flows"]["clientCredentials"];
    assert_eq!(okta["tokenUrl"], "https://okta.example.com/token");
    assert_eq!(okta["scopes"], json!({"pets:read": ""}));
    for text in [portal.to_string(), document.to_string()] {
        for internal in ["arn:aws", "petstore.example.com", "authorizer"] {
            assert!(!text.contains(internal), "`{internal}` leaked into {text}");
        }
    }
}
