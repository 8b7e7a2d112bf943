//! Plans, drift and reconcile. The rules run against the in-memory gateway; reading a REST
//! API back runs against moto (integrations, methods) and LocalStack (authorizers and CORS,
//! which moto drops on import), changed behind fedgate's back with the SDK.

use std::time::Duration;

use aws_sdk_apigateway::types::{IntegrationType, Op, PatchOperation};
use serde_json::{Value, json};

use crate::common::fake::{FakeFixture, fake_fixture, pets};
use crate::common::localstack::sdk_config;
use crate::common::{TestApp, expect_problem};
use crate::deploy_localstack::{deploy_unchecked, localstack_fixture, policy};
use crate::deployments::{fixture, moto_apigateway, petstore, resource_id};

async fn preview(app: &TestApp, token: &str, api: &str, environment: &str) -> Value {
    app.get_ok(
        &format!("/publisher/v1/apis/{api}/deployments/preview?environment={environment}"),
        token,
    )
    .await
}

fn drift_path(api: &str, deployment: &Value) -> String {
    format!(
        "/publisher/v1/apis/{api}/deployments/{}/drift",
        deployment["id"].as_str().unwrap()
    )
}

async fn drift(app: &TestApp, token: &str, api: &str, deployment: &Value) -> Value {
    app.get_ok(&drift_path(api, deployment), token).await
}

#[tokio::test]
async fn a_plan_shows_what_a_deploy_would_change_from_what_was_deployed() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Planned")).await;
    let first = preview(&f.app, &f.publisher, &api, &f.environment).await;
    assert_eq!(first["baseline"], "nothing");
    assert_eq!(
        first["plan"],
        "+ GET /pets\n+ GET /pets/{petId}\n+ stage prod\nPlan: 3 to add, 0 to change, 0 to remove.\n"
    );
    f.deploy(&api).await;
    let same = preview(&f.app, &f.publisher, &api, &f.environment).await;
    assert_eq!(same["baseline"], "lastDeployed");
    assert_eq!(same["action"], "nothing");
    assert_eq!(same["plan"], "No changes.\n");
    assert_eq!(same["changes"], json!([]));

    let path = format!("/publisher/v1/apis/{api}");
    let mut design = f.app.get_ok(&path, &f.publisher).await;
    design["endpointUrl"] = json!("https://backend.example.com/v2");
    design["policies"] = json!([policy("authA")]);
    design["resources"] =
        json!([{"method": "GET", "path": "/pets"}, {"method": "POST", "path": "/pets"}]);
    let response = f.app.put_json(&path, &f.publisher, &design, None).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let changed = preview(&f.app, &f.publisher, &api, &f.environment).await;
    assert_eq!(changed["action"], "update");
    assert_eq!(
        changed["plan"],
        "~ GET /pets: authorizer none → fedgate-authA\n\
         ~ GET /pets: integrationUri https://backend.example.com/api/pets → https://backend.example.com/v2/pets\n\
         + POST /pets\n\
         - GET /pets/{petId}\n\
         + authorizer fedgate-authA\n\
         Plan: 2 to add, 1 to change, 1 to remove.\n"
    );
    assert_eq!(
        changed["summary"],
        json!({"add": 2, "change": 1, "remove": 1})
    );
    assert_eq!(
        changed["changes"][0],
        json!({"op": "change", "kind": "method", "method": "GET", "path": "/pets", "name": null,
               "field": "authorizer", "before": null, "after": "fedgate-authA"})
    );
    let removed = &changed["changes"][3];
    assert_eq!(removed["op"], "remove");
    assert_eq!(
        removed["before"]["integration"]["uri"],
        "https://backend.example.com/api/pets/{petId}"
    );
}

/// The deployment's REST API id in the fake gateway.
fn rest_api_id(deployment: &Value) -> String {
    deployment["restApiId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn drift_is_in_sync_drifted_or_missing_and_reconcile_recreates_what_was_deleted() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Drifting")).await;
    let deployed = f.deploy(&api).await;
    assert_eq!(deployed["drift"], Value::Null, "not checked yet");
    let before = f.gateway.calls().len();
    let checked = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(
        f.gateway.calls()[before..],
        ["GetAuthorizers", "GetResources", "GetStage"],
        "a check reads three times and writes nothing"
    );
    assert_eq!(checked["state"], "inSync", "{checked:#}");
    assert_eq!(checked["plan"], "No changes.\n");
    assert_eq!(checked["deployment"]["drift"]["state"], "inSync");

    let old_id = rest_api_id(&deployed);
    f.gateway.edit(&old_id, |held| {
        let paths = held.document["paths"].as_object_mut().unwrap();
        paths["/pets"]["get"]["x-amazon-apigateway-integration"]["uri"] =
            json!("https://elsewhere.example.com/pets");
        paths.remove("/pets/{petId}");
        held.blocked = true;
    });
    let drifted = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(drifted["state"], "drifted", "{drifted:#}");
    assert_eq!(
        drifted["plan"],
        "~ GET /pets: integrationUri https://backend.example.com/api/pets → https://elsewhere.example.com/pets\n\
         - GET /pets/{petId}\n\
         ~ stage prod: blocked false → true\n\
         Plan: 0 to add, 2 to change, 1 to remove.\n"
    );
    let shown = f.deployments(&api).await;
    assert_eq!(shown[0]["drift"]["state"], "drifted");
    assert_eq!(shown[0]["drift"]["changes"], 3);
    let one = f
        .app
        .get_ok(
            &format!(
                "/publisher/v1/apis/{api}/deployments/{}",
                deployed["id"].as_str().unwrap()
            ),
            &f.publisher,
        )
        .await;
    assert_eq!(one["driftChanges"], drifted["changes"], "kept as found");
    let admin = f.app.admin_token().await;
    let listed = f
        .app
        .get_ok("/admin/v1/deployments?drift=drifted", &admin)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed:#}");
    let listed = f
        .app
        .get_ok("/admin/v1/deployments?drift=missing", &admin)
        .await;
    assert_eq!(listed["items"], json!([]));

    f.gateway.delete(&old_id);
    let missing = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(missing["state"], "missing", "{missing:#}");
    assert!(
        missing["plan"].as_str().unwrap().contains("- GET /pets\n"),
        "what AWS lost is listed: {missing:#}"
    );

    let reconcile = format!(
        "/publisher/v1/apis/{api}/deployments/{}/reconcile?wait=20",
        deployed["id"].as_str().unwrap()
    );
    let response = f.app.post_json(&reconcile, &f.publisher, &json!({})).await;
    let redeployed: Value = response.json().await.unwrap();
    assert_eq!(redeployed["status"], "deployed", "{redeployed:#}");
    let new_id = rest_api_id(&redeployed);
    assert_ne!(new_id, old_id, "the REST API was recreated");
    assert_eq!(redeployed["revisionId"], deployed["revisionId"]);
    let notice = redeployed["notice"].as_str().unwrap();
    for part in [
        old_id.as_str(),
        new_id.as_str(),
        deployed["invocationUrl"].as_str().unwrap(),
        redeployed["invocationUrl"].as_str().unwrap(),
    ] {
        assert!(notice.contains(part), "{notice} names {part}");
    }
    let history = f.app.history_kinds(&api, &redeployed, &f.publisher).await;
    assert!(history.contains(&"recreated".to_owned()), "{history:?}");
    let again = drift(&f.app, &f.publisher, &api, &redeployed).await;
    assert_eq!(again["state"], "inSync", "{again:#}");
    // A deploy that finds its REST API in place says nothing of the sort.
    let quiet = f.deploy(&api).await;
    assert_eq!(quiet["notice"], Value::Null);
}

#[tokio::test]
async fn drift_is_refused_where_there_is_nothing_to_compare() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Nothing")).await;
    let deployed = f.deploy(&api).await;
    let id = deployed["id"].as_str().unwrap();
    // A deployment made before fedgate kept what it pushed.
    sqlx::query("UPDATE deployments SET deployed_state = NULL WHERE id = $1::uuid")
        .bind(id)
        .execute(&f.app.state.db)
        .await
        .unwrap();
    let refused = expect_problem(
        f.app.get(&drift_path(&api, &deployed), &f.publisher).await,
        409,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("deploy it once"),
        "{refused}"
    );
    let legacy = preview(&f.app, &f.publisher, &api, &f.environment).await;
    assert_eq!(legacy["baseline"], "unknown");
    let undeploy = format!("/publisher/v1/apis/{api}/deployments/{id}?wait=20");
    assert_eq!(f.app.delete(&undeploy, &f.publisher).await.status(), 200);
    expect_problem(
        f.app.get(&drift_path(&api, &deployed), &f.publisher).await,
        409,
    )
    .await;
}

async fn scanning_fixture() -> FakeFixture {
    fake_fixture(&[("drift_scan_interval_secs", json!(1))]).await
}

#[tokio::test]
async fn the_scan_records_drift_on_every_deployment_and_exports_it() {
    let f = scanning_fixture().await;
    let api = f.create_api(&pets("Scanned")).await;
    let deployed = f.deploy(&api).await;
    f.gateway.delete(&rest_api_id(&deployed));
    let path = format!(
        "/publisher/v1/apis/{api}/deployments/{}",
        deployed["id"].as_str().unwrap()
    );
    f.eventually(&path, 15, |d| d["drift"]["state"] == "missing")
        .await;
    let metrics = f.app.metrics().await;
    assert!(
        metrics.contains("fedgate_deployments_drift{state=\"missing\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn one_replica_claims_a_periodic_run_per_interval() {
    let f = fake_fixture(&[]).await;
    let db = &f.app.state.db;
    let hour = Duration::from_secs(3600);
    let (a, b, c, d) = tokio::join!(
        fedgate::store::periodic::claim(db, "test-run", hour),
        fedgate::store::periodic::claim(db, "test-run", hour),
        fedgate::store::periodic::claim(db, "test-run", hour),
        fedgate::store::periodic::claim(db, "test-run", hour),
    );
    let won = [a, b, c, d]
        .into_iter()
        .filter(|c| *c.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "of four replicas asking at once, one runs");
    assert!(
        fedgate::store::periodic::claim(db, "test-run", Duration::ZERO)
            .await
            .unwrap(),
        "due again once the interval has passed"
    );
}

#[tokio::test]
async fn drift_on_moto_reads_back_what_was_deployed_and_what_changed_behind_fedgate() {
    let f = fixture().await;
    let api = f.create_api(&petstore("Drifty")).await;
    let deployed = f.deploy(&api, None).await;
    let checked = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(checked["state"], "inSync", "{checked:#}");

    // moto answers 500 to UpdateIntegration/UpdateMethod; PutIntegration and DeleteMethod
    // change a method as the AWS console would.
    let aws = moto_apigateway().await;
    let id = deployed["restApiId"].as_str().unwrap();
    let pets = resource_id(&aws, id, "/pets").await;
    aws.put_integration()
        .rest_api_id(id)
        .resource_id(&pets)
        .http_method("GET")
        .r#type(IntegrationType::HttpProxy)
        .integration_http_method("GET")
        .uri("http://127.0.0.1:9999/elsewhere")
        .send()
        .await
        .unwrap();
    aws.delete_method()
        .rest_api_id(id)
        .resource_id(&pets)
        .http_method("POST")
        .send()
        .await
        .unwrap();
    let drifted = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(drifted["state"], "drifted", "{drifted:#}");
    assert_eq!(
        drifted["plan"],
        "~ GET /pets: integrationUri http://127.0.0.1:8089/api/pets → http://127.0.0.1:9999/elsewhere\n\
         - POST /pets\n\
         Plan: 0 to add, 1 to change, 1 to remove.\n"
    );

    aws.delete_rest_api().rest_api_id(id).send().await.unwrap();
    let missing = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(missing["state"], "missing", "{missing:#}");
}

#[tokio::test]
async fn drift_on_localstack_compares_authorizers_and_cors() {
    let f = localstack_fixture().await;
    let api = f
        .create_api(&json!({
            "name": "Guarded", "version": "1", "context": "/guarded", "endpointUrl": "http://127.0.0.1:9/api",
            "cors": {"enabled": true, "allowOrigins": ["https://app.example.com"]},
            "policies": [policy("authA")],
            "resources": [{"method": "GET", "path": "/pets"}, {"method": "GET", "path": "/pets/{id}"}]
        }))
        .await;
    let deployed = deploy_unchecked(&f, &api).await;
    let checked = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(checked["state"], "inSync", "{checked:#}");

    let aws = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let id = deployed["restApiId"].as_str().unwrap();
    let authorizers = aws.get_authorizers().rest_api_id(id).send().await.unwrap();
    let authorizer = authorizers.items()[0].id().unwrap();
    aws.update_authorizer()
        .rest_api_id(id)
        .authorizer_id(authorizer)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Replace)
                .path("/authorizerResultTtlInSeconds")
                .value("0")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let drifted = drift(&f.app, &f.publisher, &api, &deployed).await;
    assert_eq!(drifted["state"], "drifted", "{drifted:#}");
    assert_eq!(
        drifted["plan"],
        "~ authorizer fedgate-authA: ttlSecs 300 → 0\nPlan: 0 to add, 1 to change, 0 to remove.\n"
    );
}
