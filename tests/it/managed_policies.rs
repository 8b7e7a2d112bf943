//! APIs secured by a key manager alone: the deploy engine provisions the key manager's
//! authorizer in the environment, keeps its configuration (every REST API's methods and
//! scopes) in step with the deployments, and removes it with its last user. Through the
//! service layer and the workers, against Postgres and the in-memory gateway.

use serde_json::{Value, json};

use crate::common::fake::{FakeFixture, fake_fixture};

fn managed(scopes: &[&str]) -> Value {
    json!({"type": "awsOAuth2", "parameters": {"keyManager": "okta", "scopes": scopes}})
}

fn secured_pets(name: &str) -> Value {
    json!({
        "name": name, "version": "1.0.0", "context": format!("/{}", name.to_lowercase()),
        "endpointUrl": "https://backend.example.com/api",
        "policies": [managed(&["pets:read"])],
        "resources": [
            {"method": "GET", "path": "/pets"},
            {"method": "POST", "path": "/pets", "policies": [managed(&["pets:write"])]}
        ]
    })
}

async fn register_okta(f: &FakeFixture) -> Value {
    let admin = f.app.admin_token().await;
    let response = f
        .app
        .post_json(
            "/admin/v1/key-managers",
            &admin,
            &json!({"name": "okta", "type": "oidc", "issuer": "https://idp.example.com",
                    "jwksUri": "https://idp.example.com/jwks",
                    "tokenEndpoint": "https://idp.example.com/token"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn preview(f: &FakeFixture, api: &str) -> Value {
    f.app
        .get_ok(
            &format!(
                "/publisher/v1/apis/{api}/deployments/preview?environment={}",
                f.environment
            ),
            &f.publisher,
        )
        .await
}

/// Replaces the API's design with `change` applied to it.
async fn edit(f: &FakeFixture, api: &str, change: impl FnOnce(&mut Value)) {
    let path = format!("/publisher/v1/apis/{api}");
    let mut design = f.app.get_ok(&path, &f.publisher).await;
    change(&mut design);
    let response = f.app.put_json(&path, &f.publisher, &design, None).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Undeploys the API's (only) deployment and waits for it.
async fn undeploy(f: &FakeFixture, api: &str) {
    let deployment = &f.deployments(api).await[0];
    let path = format!(
        "/publisher/v1/apis/{api}/deployments/{}?wait=20",
        deployment["id"].as_str().unwrap()
    );
    assert_eq!(f.app.delete(&path, &f.publisher).await.status(), 200);
}

/// The one function the fake holds, and its configuration.
fn only_function(f: &FakeFixture) -> (String, Value) {
    let functions = f.gateway.functions();
    assert_eq!(functions.len(), 1, "{functions:#?}");
    let (name, function) = functions.into_iter().next().unwrap();
    (name, function.config)
}

#[tokio::test]
async fn the_key_managers_authorizer_follows_its_deployments() {
    let f = fake_fixture(&[]).await;
    register_okta(&f).await;
    let pets = f.create_api(&secured_pets("Pets")).await;

    // The plan says what will be provisioned before anything is.
    let plan = preview(&f, &pets).await;
    let function_changes: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "function")
        .collect();
    assert_eq!(function_changes.len(), 1, "{plan:#}");
    assert_eq!(function_changes[0]["op"], "add");
    let name = function_changes[0]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("fedgate-authz-okta-"), "{name}");
    assert!(
        plan["plan"]
            .as_str()
            .unwrap()
            .contains(&format!("+ authorizer function {name}")),
        "{}",
        plan["plan"]
    );
    assert!(f.gateway.functions().is_empty());

    // The first deploy makes the REST API first, so the function is made once, with it.
    let deployed = f.deploy(&pets).await;
    let rest_api_id = deployed["restApiId"].as_str().unwrap().to_owned();
    let (function, config) = only_function(&f);
    assert_eq!(function, name);
    assert_eq!(f.gateway.count("CreateFunction"), 1);
    assert_eq!(f.gateway.count("UpdateFunctionCode"), 0);
    // As the key manager keeps it; the function compares without a trailing `/`.
    assert_eq!(config["issuer"], "https://idp.example.com/");
    assert_eq!(
        config["apis"],
        json!({rest_api_id.clone(): {"stage": "prod", "methods": [
            {"method": "GET", "path": "/pets", "scopes": ["pets:read"]},
            {"method": "POST", "path": "/pets", "scopes": ["pets:write"]}]}})
    );
    // The REST API's authorizer is that function, invoked with its role.
    let document = f.gateway.apis()[&rest_api_id].document.clone();
    let authorizer = &document["components"]["securitySchemes"]["fedgate-km-okta"]["x-amazon-apigateway-authorizer"];
    assert!(
        authorizer["authorizerUri"]
            .as_str()
            .unwrap()
            .contains(&format!(":function:{name}/invocations")),
        "{authorizer:#}"
    );
    assert!(
        authorizer["authorizerCredentials"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":role/{name}-invoke"))
    );
    assert_eq!(
        document["paths"]["/pets"]["post"]["x-amazon-apigateway-integration"]["requestParameters"]
            ["integration.request.header.X-Fedgate-Sub"],
        "context.authorizer.sub"
    );

    // Deployed again as it is: no provisioning call at all, and the plan says so.
    let calls = f.gateway.calls().len();
    let plan = preview(&f, &pets).await;
    assert!(
        !plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "function"),
        "{plan:#}"
    );
    edit(&f, &pets, |design| {
        design["description"] = json!("Pets, described")
    })
    .await;
    f.deploy(&pets).await;
    let provisioning: Vec<&str> = f.gateway.calls()[calls..]
        .iter()
        .copied()
        .filter(|c| c.contains("Function") || c.contains("Role"))
        .collect();
    assert!(provisioning.is_empty(), "{provisioning:?}");

    // A second API on the same key manager: the same function serves both.
    let shop = f.create_api(&secured_pets("Shop")).await;
    let shop_rest_api = f.deploy(&shop).await["restApiId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, config) = only_function(&f);
    assert_eq!(
        config["apis"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
            .len(),
        2
    );
    assert!(config["apis"].get(&shop_rest_api).is_some());
    assert_eq!(f.gateway.count("CreateFunction"), 1);
    assert_eq!(f.gateway.count("UpdateFunctionCode"), 1);

    // Undeploying one API drops it from the configuration; the last one removes it all.
    undeploy(&f, &pets).await;
    let (_, config) = only_function(&f);
    assert_eq!(
        config["apis"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [&shop_rest_api]
    );
    undeploy(&f, &shop).await;
    assert!(f.gateway.functions().is_empty());
    assert!(f.gateway.roles().is_empty(), "{:#?}", f.gateway.roles());
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM managed_authorizers")
        .fetch_one(&f.app.state.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_key_manager_change_updates_its_authorizers() {
    let f = fake_fixture(&[]).await;
    let okta = register_okta(&f).await;
    let pets = f.create_api(&secured_pets("Pets")).await;
    f.deploy(&pets).await;
    let (_, config) = only_function(&f);
    assert_eq!(config["audience"], Value::Null);

    let admin = f.app.admin_token().await;
    let mut body = okta.clone();
    body["audience"] = json!("https://pets.example.com");
    let response = f
        .app
        .put_json(
            &format!("/admin/v1/key-managers/{}", okta["id"].as_str().unwrap()),
            &admin,
            &body,
            None,
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, config) = only_function(&f);
        if config["audience"] == "https://pets.example.com" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never updated: {config:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(f.gateway.count("UpdateFunctionCode"), 1);
    // The deployment's status is untouched by the refresh.
    let deployment = &f.deployments(&pets).await[0];
    assert_eq!(deployment["status"], "deployed");
}

#[tokio::test]
async fn a_policy_moved_to_another_form_removes_the_function() {
    let f = fake_fixture(&[]).await;
    register_okta(&f).await;
    let pets = f.create_api(&secured_pets("Pets")).await;
    f.deploy(&pets).await;
    assert_eq!(f.gateway.functions().len(), 1);

    let own = json!({"type": "awsOAuth2", "parameters": {
        "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:own",
        "invokeRoleArn": "arn:aws:iam::123456789012:role/own-invoke"}});
    edit(&f, &pets, |design| {
        design["policies"] = json!([own]);
        design["resources"][1]["policies"] = json!([]);
    })
    .await;
    let plan = preview(&f, &pets).await;
    assert!(
        plan["plan"]
            .as_str()
            .unwrap()
            .contains("- authorizer function fedgate-authz-okta-"),
        "{}",
        plan["plan"]
    );
    f.deploy(&pets).await;
    assert!(f.gateway.functions().is_empty());
}
