use serde_json::{Value, json};

use crate::common::{TestApp, error_fields, expect_problem, moto_url, spawn_app};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn moto_environment(name: &str) -> Value {
    json!({
        "name": name,
        "displayName": "Moto",
        "provider": "aws",
        "config": {
            "region": "us-east-1",
            "stage": "prod",
            "endpointUrl": moto_url(),
            "credentials": {"type": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET}
        }
    })
}

/// Runs the live check of a created environment.
async fn check(app: &TestApp, token: &str, created: &Value) -> Value {
    let path = format!(
        "/admin/v1/environments/{}/check",
        created["id"].as_str().unwrap()
    );
    app.post_json(&path, token, &json!({}))
        .await
        .json()
        .await
        .unwrap()
}

async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.post_json("/admin/v1/environments", token, body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn create_get_masked_update_keeps_secret_then_check_against_moto() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let name = unique("moto");
    let created = create(&app, &admin, &moto_environment(&name)).await;
    let credentials = &created["config"]["credentials"];
    assert_eq!(credentials["accessKeyIdMasked"], "AKIA…MPLE");
    assert_eq!(credentials["secretAccessKeySet"], true);
    assert!(!created.to_string().contains(SECRET));
    assert!(!created.to_string().contains("AKIAIOSFODNN7EXAMPLE"));

    // GET by name, with an ETag; send the response back with a change: read-only fields
    // are ignored and the omitted secret is kept.
    let response = app
        .get(&format!("/admin/v1/environments/{name}"), &admin)
        .await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let mut fetched: Value = response.json().await.unwrap();
    fetched["description"] = json!("moto, updated");
    let response = app
        .put_json(
            &format!("/admin/v1/environments/{}", created["id"].as_str().unwrap()),
            &admin,
            &fetched,
            Some(&etag),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["description"], "moto, updated");
    assert_eq!(updated["config"]["credentials"]["secretAccessKeySet"], true);

    // The kept secret still works: the live check authenticates against moto.
    let report: Value = app
        .post_json(
            &format!("/admin/v1/environments/{name}/check"),
            &admin,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["accountId"], "123456789012");
    assert_eq!(report["credentialsProvider"], "static");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "sts:GetCallerIdentity",
            "apigateway:GET /restapis",
            "lambda:GetFunction",
            "iam:GetRole"
        ]
    );
    let after: Value = app
        .get(&format!("/admin/v1/environments/{name}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["accountId"], "123456789012");
}

#[tokio::test]
async fn check_with_an_unreachable_endpoint_fails_fast_and_clearly() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut body = moto_environment(&unique("down"));
    body["config"]["endpointUrl"] = json!(format!("http://127.0.0.1:{closed}"));
    let created = create(&app, &admin, &body).await;
    let started = std::time::Instant::now();
    let report: Value = check(&app, &admin, &created).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "bounded: {:?}",
        started.elapsed()
    );
    assert_eq!(report["ok"], false);
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("could not reach the endpoint"), "{detail}");
}

#[tokio::test]
async fn create_with_check_stores_nothing_when_the_check_fails() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let name = unique("checked");
    let mut body = moto_environment(&name);
    body["config"]["endpointUrl"] = json!(format!("http://127.0.0.1:{closed}"));
    let problem = expect_problem(
        app.post_json("/admin/v1/environments?check=true", &admin, &body)
            .await,
        422,
    )
    .await;
    assert_eq!(problem["check"]["ok"], false);
    expect_problem(
        app.get(&format!("/admin/v1/environments/{name}"), &admin)
            .await,
        404,
    )
    .await;

    let good = moto_environment(&name);
    assert_eq!(
        app.post_json("/admin/v1/environments?check=true", &admin, &good)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn the_outbound_guard_keeps_calls_off_unlisted_addresses() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // 127.0.0.2 is loopback but not on the test allow list (127.0.0.1).
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut body = moto_environment(&unique("guarded"));
    body["config"]["endpointUrl"] = json!(format!("http://127.0.0.2:{port}"));
    let created = create(&app, &admin, &body).await;
    let report: Value = check(&app, &admin, &created).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["checks"][0]["name"], "outbound");
    assert!(
        report["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("allow list")
    );
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "the refused address saw a connection");
}

#[tokio::test]
async fn each_validation_rule_names_its_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let cases = [
        ("/name", json!("Not A Slug"), "name"),
        ("/provider", json!("azure"), "provider"),
        ("/config/region", json!("us-middle-1"), "config.region"),
        ("/config/stage", json!("prod stage"), "config.stage"),
        (
            "/config/endpointUrl",
            json!("localhost:4566"),
            "config.endpointUrl",
        ),
        (
            "/config/invokeUrlTemplate",
            json!("http://x/{apiId}"),
            "config.invokeUrlTemplate",
        ),
        (
            "/config/credentials/accessKeyId",
            json!("short"),
            "config.credentials.accessKeyId",
        ),
        (
            "/config/credentials/type",
            json!("password"),
            "config.credentials.type",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut body = moto_environment(&unique("bad"));
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap()[key] = value;
        let problem = expect_problem(
            app.post_json("/admin/v1/environments", &admin, &body).await,
            400,
        )
        .await;
        assert_eq!(error_fields(&problem), [field], "{pointer}");
    }
    let mut role = moto_environment(&unique("role"));
    role["config"]["credentials"] =
        json!({"type": "assumeRole", "roleArn": "arn:aws:iam::123:role/x"});
    let problem = expect_problem(
        app.post_json("/admin/v1/environments", &admin, &role).await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["config.credentials.roleArn"]);
    let mut unknown = moto_environment(&unique("unknown"));
    unknown["config"]["colour"] = json!("red");
    let problem = expect_problem(
        app.post_json("/admin/v1/environments", &admin, &unknown)
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["config.colour"]);
}

#[tokio::test]
async fn duplicate_name_is_409_and_lost_update_is_412() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let name = unique("dup");
    let created = create(&app, &admin, &moto_environment(&name)).await;
    expect_problem(
        app.post_json("/admin/v1/environments", &admin, &moto_environment(&name))
            .await,
        409,
    )
    .await;

    let path = format!("/admin/v1/environments/{}", created["id"].as_str().unwrap());
    let etag = app.get(&path, &admin).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut first = moto_environment(&name);
    first["description"] = json!("first writer");
    assert_eq!(
        app.put_json(&path, &admin, &first, Some(&etag))
            .await
            .status(),
        200
    );
    let mut second = moto_environment(&name);
    second["description"] = json!("second writer, stale");
    expect_problem(app.put_json(&path, &admin, &second, Some(&etag)).await, 412).await;
    let now: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(now["description"], "first writer");
}

#[tokio::test]
async fn changing_the_access_key_needs_its_secret() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let name = unique("rekey");
    let created = create(&app, &admin, &moto_environment(&name)).await;
    let mut body = moto_environment(&name);
    body["config"]["credentials"] =
        json!({"type": "accessKey", "accessKeyId": "AKIAOTHERKEY00000000"});
    let path = format!("/admin/v1/environments/{}", created["id"].as_str().unwrap());
    let problem = expect_problem(app.put_json(&path, &admin, &body, None).await, 400).await;
    assert_eq!(
        error_fields(&problem),
        ["config.credentials.secretAccessKey"]
    );
}

#[tokio::test]
async fn publisher_and_devportal_tokens_are_403() {
    let app = spawn_app().await;
    for scope in ["publisher", "devportal"] {
        let token = app.token(scope).await;
        expect_problem(app.get("/admin/v1/environments", &token).await, 403).await;
        expect_problem(
            app.post_json("/admin/v1/environments", &token, &moto_environment("x-env"))
                .await,
            403,
        )
        .await;
    }
}

#[tokio::test]
async fn the_secret_is_not_in_the_database_in_plain_text() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = create(&app, &admin, &moto_environment(&unique("sealed"))).await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let row: (String, Vec<u8>) = sqlx::query_as(
        "SELECT row_to_json(e)::text, secret_ciphertext FROM environments e WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(!row.0.contains(SECRET), "the secret is in the row");
    assert!(!row.1.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    assert!(!row.1.windows(6).any(|w| w == b"wJalrX"));
}

#[tokio::test]
async fn list_and_delete() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = create(&app, &admin, &moto_environment(&unique("a"))).await;
    create(&app, &admin, &moto_environment(&unique("b"))).await;
    let page: Value = app
        .get("/admin/v1/environments?limit=1", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string());
    let path = format!("/admin/v1/environments/{}", a["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    expect_problem(app.get(&path, &admin).await, 404).await;
}

#[tokio::test]
async fn assume_role_and_default_chain_choose_their_providers() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut role = moto_environment(&unique("role"));
    role["config"]["credentials"] = json!({
        "type": "assumeRole",
        "roleArn": "arn:aws:iam::123456789012:role/fedgate-deployer",
        "externalId": "fedgate-ext",
        "sessionName": "fedgate-test"
    });
    let created = create(&app, &admin, &role).await;
    assert_eq!(
        created["config"]["credentials"]["roleArn"],
        "arn:aws:iam::123456789012:role/fedgate-deployer"
    );
    let report: Value = check(&app, &admin, &created).await;
    assert_eq!(report["credentialsProvider"], "assume-role");
    assert_eq!(report["ok"], true, "{report:#}");
    // moto's STS answers GetCallerIdentity of assumed credentials with the role session.
    let principal = report["principalArn"].as_str().unwrap();
    assert!(
        principal.contains("assumed-role/fedgate-deployer/fedgate-test"),
        "{principal}"
    );

    let mut default = moto_environment(&unique("default"));
    default["config"]["credentials"] = json!({"type": "default"});
    let created = create(&app, &admin, &default).await;
    let report: Value = check(&app, &admin, &created).await;
    assert_eq!(report["credentialsProvider"], "default-chain");
    assert_eq!(report["ok"], true, "{report:#}");
}

/// Issue 11: a PUT without `endpointUrl` removes it (a full replacement, pointing an
/// emulator environment at real AWS); a merge patch changes only what it names.
#[tokio::test]
async fn merge_patch_changes_only_what_it_names() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let name = unique("patch");
    let created = create(&app, &admin, &moto_environment(&name)).await;
    let path = format!("/admin/v1/environments/{}", created["id"].as_str().unwrap());

    let description = json!({"description": "patched"});
    let (patched, etag) = app
        .merge_patch_ok(&path, &admin, &description, Some("\"1\""))
        .await;
    assert_eq!(etag, "\"2\"");
    assert_eq!(patched["description"], "patched");
    assert_eq!(patched["displayName"], "Moto");
    assert_eq!(
        patched["config"]["endpointUrl"],
        created["config"]["endpointUrl"]
    );
    assert_eq!(
        patched["config"]["credentials"]["accessKeyIdMasked"],
        "AKIA…MPLE"
    );
    assert_eq!(patched["config"]["credentials"]["secretAccessKeySet"], true);
    // The kept secret still authenticates against moto.
    assert_eq!(check(&app, &admin, &created).await["ok"], true);
    // Recorded as the update a PUT is.
    assert_eq!(
        app.audit_actions(&admin, "environments").await[..2],
        ["environments.update success", "environments.create success"]
    );

    // The same precondition as PUT: a stale ETag is 412 and changes nothing.
    let stale = app.merge_patch(&path, &admin, &description, Some("\"1\""));
    expect_problem(stale.await, 412).await;

    // Secrets: an optional one is set and removed by `null`; a required one cannot be.
    let token = json!({"config": {"credentials": {"sessionToken": "a-session-token"}}});
    let (with_token, _) = app.merge_patch_ok(&path, &admin, &token, None).await;
    assert_eq!(with_token["config"]["credentials"]["sessionTokenSet"], true);
    let no_token = json!({"config": {"credentials": {"sessionToken": null}}});
    let (without, _) = app.merge_patch_ok(&path, &admin, &no_token, None).await;
    assert_eq!(without["config"]["credentials"]["sessionTokenSet"], false);
    assert_eq!(without["config"]["credentials"]["secretAccessKeySet"], true);
    let no_secret = json!({"config": {"credentials": {"secretAccessKey": null}}});
    let problem = expect_problem(app.merge_patch(&path, &admin, &no_secret, None).await, 400).await;
    assert_eq!(
        error_fields(&problem),
        ["config.credentials.secretAccessKey"]
    );
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be removed"),
        "{problem}"
    );

    // Fields of the merged result are named as on PUT.
    let bad = json!({"config": {"region": "mars-1"}});
    let problem = expect_problem(app.merge_patch(&path, &admin, &bad, None).await, 400).await;
    assert_eq!(error_fields(&problem), ["config.region"]);

    // Only a merge patch is a PATCH body.
    let as_json = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&admin)
        .json(&json!({"description": "plain JSON"}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(as_json, 415).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/merge-patch+json")
    );
    let not_an_object = app.merge_patch(&path, &admin, &json!(["x"]), None).await;
    expect_problem(not_an_object, 400).await;

    // `null` removes a setting; PUT stays a full replacement: what it omits is removed.
    let no_endpoint = json!({"config": {"endpointUrl": null}});
    let (removed, _) = app.merge_patch_ok(&path, &admin, &no_endpoint, None).await;
    assert_eq!(removed["config"]["endpointUrl"], Value::Null);
    assert_eq!(removed["description"], "patched");
    let mut replacement = moto_environment(&name);
    replacement["config"]
        .as_object_mut()
        .unwrap()
        .remove("endpointUrl");
    let replaced: Value = app
        .put_json(&path, &admin, &replacement, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["description"], "");
    assert_eq!(replaced["config"]["endpointUrl"], Value::Null);
}
