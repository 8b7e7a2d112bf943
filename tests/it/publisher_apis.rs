//! `/publisher/v1/apis`: CRUD, validation, policy precedence, concurrency, search.

use serde_json::{Value, json};

use crate::common::publisher::{ROLE_ARN, api_body, api_path, lambda_arn, oauth_policy};
use crate::common::{error_fields, expect_problem, spawn_app, spawn_app_with};

fn id_of(api: &Value) -> String {
    api["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_get_replace_delete() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let response = app
        .post_json("/publisher/v1/apis", &token, &api_body("Petstore"))
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = id_of(&created);
    assert_eq!(location, api_path(&id, ""));
    assert_eq!(created["name"], "Petstore");
    assert_eq!(created["gatewayType"], "aws");
    assert_eq!(created["lifecycleState"], "CREATED");
    assert_eq!(created["createdBy"], "admin");
    assert_eq!(created["resources"][1]["path"], "/pets/{petId}");
    assert_eq!(created["cors"]["enabled"], false);
    assert!(created.get("warnings").is_none());

    let response = app.get(&location, &token).await;
    assert_eq!(response.headers()["etag"], "\"1\"");
    let mut fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched, created);

    // The fetched body goes back as it is, read-only fields and all.
    fetched["description"] = json!("Pets, sold and adopted");
    fetched["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({"method": "post", "path": "/pets"}));
    let response = app.put_json(&location, &token, &fetched, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["description"], "Pets, sold and adopted");
    assert_eq!(replaced["resources"][2]["method"], "POST");
    assert_eq!(replaced["createdAt"], created["createdAt"]);

    // PUT replaces the whole design: what is left out is gone.
    let minimal = json!({"name": "Petstore", "version": "1.0.0", "context": "/petstore",
                         "endpointUrl": "https://petstore.example.com"});
    let replaced: Value = app
        .put_json(&location, &token, &minimal, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["resources"], json!([]));
    assert_eq!(replaced["description"], "");

    assert_eq!(app.delete(&location, &token).await.status(), 204);
    expect_problem(app.get(&location, &token).await, 404).await;
    expect_problem(app.delete(&location, &token).await, 404).await;
    expect_problem(app.put_json(&location, &token, &minimal, None).await, 404).await;
}

#[tokio::test]
async fn validation_names_every_bad_field_and_writes_nothing() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let bad_lambda = json!({"type": "awsOAuth2", "parameters": {
        "lambdaArn": "arn:aws:lambda:us-east-1:1:function:x", "invokeRoleArn": ROLE_ARN}});
    let body = json!({
        "name": " ",
        "version": "1 0",
        "context": "/pets/",
        "endpointUrl": "ftp://example.com",
        "gatewayType": "azure",
        "cors": {"enabled": true, "allowOrigins": ["nope"]},
        "keyManagers": ["", "auth0", "auth0"],
        "policies": [{"type": "apiKey"}],
        "resources": [
            {"method": "FETCH", "path": "/pets/*"},
            {"method": "GET", "path": "/pets/{id}", "policies": [bad_lambda]},
            {"method": "GET", "path": "/pets/{id}"},
            {"method": "PUT", "path": "/pets/{petId}"},
            {"method": "POST", "path": "/files/{proxy+}/more"},
            {"method": "GET", "path": "/orders", "policies": [oauth_policy("a"), oauth_policy("b")]},
            {"method": "GET", "path": "/owners", "policies": [
                {"type": "awsOAuth2", "parameters": {"lambdaArn": lambda_arn("ok")}}]},
            {"path": "orders"}
        ]
    });
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &body).await,
        400,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        [
            "name",
            "version",
            "context",
            "endpointUrl",
            "gatewayType",
            "cors.allowOrigins[0]",
            "keyManagers[0]",
            "keyManagers[2]",
            "policies[0].type",
            "resources[0].method",
            "resources[0].path",
            "resources[1].policies[0].parameters.lambdaArn",
            "resources[2]",
            "resources[4].path",
            "resources[5].policies[1]",
            "resources[6].policies[0].parameters.invokeRoleArn",
            "resources[7].method",
            "resources[7].path",
            "resources[3].path",
        ]
    );
    let reasons = problem["errors"].to_string();
    assert!(
        reasons.contains("unknown policy type `apiKey`"),
        "{reasons}"
    );
    assert!(reasons.contains("{proxy+}"), "{reasons}");
    let page = app.get_ok("/publisher/v1/apis", &token).await;
    assert_eq!(
        page["items"],
        json!([]),
        "a failed validation writes nothing"
    );
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_named_by_path() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Petstore");
    body["resources"][1]["colour"] = json!("red");
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &body).await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["resources[1].colour"]);

    let mut body = api_body("Petstore");
    body["resources"][0]["policies"] = json!([{"type": "awsOAuth2",
        "parameters": {"lambdaArn": lambda_arn("a"), "invokeRoleArn": ROLE_ARN, "ttl": 5}}]);
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &body).await,
        400,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        ["resources[0].policies[0].parameters.ttl"]
    );

    let mut body = api_body("Petstore");
    body["cors"] = json!({"enabled": "yes"});
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &body).await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["cors.enabled"]);
}

#[tokio::test]
async fn name_and_version_are_unique() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    app.create_api(&token, &api_body("Petstore")).await;
    let mut same_name = api_body("petstore");
    same_name["context"] = json!("/another-petstore");
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &same_name)
            .await,
        409,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let mut v2 = api_body("Petstore");
    v2["version"] = json!("2.0.0");
    let second = app.create_api(&token, &v2).await;
    // Renaming onto an existing name and version is refused as well.
    v2["version"] = json!("1.0.0");
    expect_problem(
        app.put_json(&api_path(&id_of(&second), ""), &token, &v2, None)
            .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn effective_policy_shows_resource_over_api_and_none_as_unsecured() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Petstore");
    body["policies"] = json!([oauth_policy("api-authorizer")]);
    body["resources"][0]["policies"] = json!([oauth_policy("pets-authorizer")]);
    let created = app.create_api(&token, &body).await;
    let own = &created["resources"][0]["effectivePolicy"];
    assert_eq!(own["source"], "resource");
    assert_eq!(own["policy"], oauth_policy("pets-authorizer"));
    let inherited = &created["resources"][1]["effectivePolicy"];
    assert_eq!(inherited["source"], "api");
    assert_eq!(inherited["policy"], oauth_policy("api-authorizer"));

    body["policies"] = json!([]);
    let replaced: Value = app
        .put_json(&api_path(&id_of(&created), ""), &token, &body, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        replaced["resources"][0]["effectivePolicy"]["source"],
        "resource"
    );
    let unsecured = &replaced["resources"][1]["effectivePolicy"];
    assert_eq!(unsecured["source"], "none");
    assert_eq!(unsecured["policy"], Value::Null);
}

#[tokio::test]
async fn a_private_endpoint_is_accepted_with_a_warning() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Local");
    body["endpointUrl"] = json!("http://127.0.0.1:9000/api/");
    let created = app.create_api(&token, &body).await;
    assert_eq!(created["endpointUrl"], "http://127.0.0.1:9000/api");
    assert_eq!(created["warnings"][0]["field"], "endpointUrl");
    assert!(
        created["warnings"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("emulator")
    );
}

#[tokio::test]
async fn a_lost_update_is_412() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let created = app.create_api(&token, &api_body("Petstore")).await;
    let path = api_path(&id_of(&created), "");
    let mut body = api_body("Petstore");

    body["description"] = json!("first writer");
    let first = app.put_json(&path, &token, &body, Some("\"1\"")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");

    body["description"] = json!("second writer, read version 1");
    let problem =
        expect_problem(app.put_json(&path, &token, &body, Some("\"1\"")).await, 412).await;
    assert!(problem["detail"].as_str().unwrap().contains("If-Match"));
    // A tag this server never issued is a bad request, not a lost update.
    expect_problem(
        app.put_json(&path, &token, &body, Some("\"v2\"")).await,
        400,
    )
    .await;
    let current = app.get_ok(&path, &token).await;
    assert_eq!(current["description"], "first writer");

    for if_match in [Some("\"2\""), Some("*"), None] {
        let response = app.put_json(&path, &token, &body, if_match).await;
        assert_eq!(response.status(), 200, "If-Match {if_match:?}");
    }
    let response = app.get(&path, &token).await;
    assert_eq!(response.headers()["etag"], "\"5\"");
}

#[tokio::test]
async fn search_by_name_and_state_with_pagination() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    for name in ["Petstore", "pet-clinic", "Weather", "PETS 2", "Orders_100%"] {
        app.create_api(&token, &api_body(name)).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|api| api["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let pets = app.get_ok("/publisher/v1/apis?name=PET", &token).await;
    assert_eq!(names(&pets), ["Petstore", "pet-clinic", "PETS 2"]);
    let percent = app.get_ok("/publisher/v1/apis?name=0%25", &token).await;
    assert_eq!(names(&percent), ["Orders_100%"]);
    let underscore = app.get_ok("/publisher/v1/apis?name=s_", &token).await;
    assert_eq!(names(&underscore), ["Orders_100%"]);
    let created = app.get_ok("/publisher/v1/apis?state=CREATED", &token).await;
    assert_eq!(created["items"].as_array().unwrap().len(), 5);
    let published = app
        .get_ok("/publisher/v1/apis?state=PUBLISHED", &token)
        .await;
    assert_eq!(published["items"], json!([]));
    let problem = expect_problem(app.get("/publisher/v1/apis?state=LIVE", &token).await, 400).await;
    assert_eq!(error_fields(&problem), ["state"]);

    let mut seen = Vec::new();
    let mut path = "/publisher/v1/apis?limit=2&name=e".to_owned();
    loop {
        let page = app.get_ok(&path, &token).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(names(&page));
        match page["next"].as_str() {
            Some(next) => path = format!("/publisher/v1/apis?limit=2&name=e&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["Petstore", "pet-clinic", "Weather", "PETS 2", "Orders_100%"]
    );
}

#[tokio::test]
async fn delete_accepts_force() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let created = app.create_api(&token, &api_body("Petstore")).await;
    let path = api_path(&id_of(&created), "");
    expect_problem(
        app.delete(&format!("{path}?force=maybe"), &token).await,
        400,
    )
    .await;
    assert_eq!(
        app.delete(&format!("{path}?force=true"), &token)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn only_publisher_tokens_get_in() {
    let app = spawn_app().await;
    let publisher = app.publisher_token().await;
    let created = app.create_api(&publisher, &api_body("Petstore")).await;
    let path = api_path(&id_of(&created), "");
    let devportal = app.token("devportal").await;
    let body = api_body("Other");
    for response in [
        app.get("/publisher/v1/apis", &devportal).await,
        app.post_json("/publisher/v1/apis", &devportal, &body).await,
        app.get(&path, &devportal).await,
        app.put_json(&path, &devportal, &body, None).await,
        app.delete(&path, &devportal).await,
    ] {
        expect_problem(response, 403).await;
    }
    let anonymous = app
        .http
        .get(app.url("/publisher/v1/apis"))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401).await;
    app.get_ok(&path, &publisher).await;
}

#[tokio::test]
async fn changes_record_who_made_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let ci = app
        .create_client(
            &admin,
            &json!({"name": "ci", "clientId": "ci-bot", "scopes": ["publisher"]}),
        )
        .await;
    let ci_token = app
        .token_for("ci-bot", ci["clientSecret"].as_str().unwrap(), None)
        .await;
    let publisher = app.publisher_token().await;
    let created = app.create_api(&publisher, &api_body("Petstore")).await;
    let id = id_of(&created);
    let updated: Value = app
        .put_json(&api_path(&id, ""), &ci_token, &api_body("Petstore"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["createdBy"], "admin");
    assert_eq!(updated["updatedBy"], "ci-bot");

    let audit = app
        .get_ok(
            &format!("/admin/v1/audit?targetType=apis&targetId={id}"),
            &admin,
        )
        .await;
    let entries: Vec<(String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("ci-bot".to_owned(), "apis.update".to_owned()),
            ("admin".to_owned(), "apis.create".to_owned()),
        ]
    );
}

#[tokio::test]
async fn resources_beyond_the_cap_are_refused_as_aws_counts_them() {
    let app = spawn_app_with(&[("max_resources_per_api", json!(5))]).await;
    let token = app.publisher_token().await;
    let assert_refused = |problem: Value, count: &str| {
        assert_eq!(error_fields(&problem), ["resources"], "{problem}");
        let reason = problem["errors"][0]["reason"].as_str().unwrap().to_owned();
        for words in [count, "the limit is 5", "FEDGATE_MAX_RESOURCES_PER_API"] {
            assert!(reason.contains(words), "{words:?} missing from {reason:?}");
        }
    };
    // `/`, `/a`, `/a/b`, `/a/b/{id}`, `/c`: five resources for three operations.
    let five = json!([
        {"method": "GET", "path": "/a/b/{id}"},
        {"method": "PUT", "path": "/a/b/{id}"},
        {"method": "GET", "path": "/c"}
    ]);
    let mut body = api_body("Capped");
    body["resources"] = five;
    let api = app.create_api(&token, &body).await;
    let id = api["id"].as_str().unwrap();

    // One more path segment (`/c/d`) makes six.
    let six = json!([
        {"method": "GET", "path": "/a/b/{id}"},
        {"method": "GET", "path": "/c/d"}
    ]);
    let mut over = api_body("Capped too");
    over["resources"] = six.clone();
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &over).await,
        400,
    )
    .await;
    assert_refused(problem, "6 resources");

    let mut replacement = body.clone();
    replacement["resources"] = six;
    let problem = expect_problem(
        app.put_json(&api_path(id, ""), &token, &replacement, None)
            .await,
        400,
    )
    .await;
    assert_refused(problem, "6 resources");

    let document = json!({"openapi": "3.0.0",
        "info": {"title": "Imported", "version": "1"},
        "servers": [{"url": "https://b.example.com"}],
        "paths": {"/x/y/z": {"get": {}}, "/w/v": {"get": {}}}});
    let problem = expect_problem(
        app.post_json(
            "/publisher/v1/apis/import",
            &token,
            &json!({ "document": document }),
        )
        .await,
        400,
    )
    .await;
    assert_refused(problem, "6 resources");
}

/// Issue 11: two APIs at one context and version were both accepted. The context and
/// version are an API's address, so the second is refused naming the first — on create,
/// PUT, PATCH and import.
#[tokio::test]
async fn context_and_version_are_unique() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let first = app.create_api(&token, &api_body("Petstore")).await;
    let named = |problem: &Value| {
        let detail = problem["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("API `Petstore`"), "{detail}");
        assert!(detail.contains(first["id"].as_str().unwrap()), "{detail}");
        assert!(
            detail.contains("`/petstore` with version `1.0.0`"),
            "{detail}"
        );
    };
    let mut other = api_body("Pet shop");
    other["context"] = json!("/petstore");
    let problem = expect_problem(
        app.post_json("/publisher/v1/apis", &token, &other).await,
        409,
    )
    .await;
    named(&problem);

    // Another version at the same context is another address.
    other["version"] = json!("2.0.0");
    let second = app.create_api(&token, &other).await;
    let path = api_path(&id_of(&second), "");
    other["version"] = json!("1.0.0");
    named(&expect_problem(app.put_json(&path, &token, &other, None).await, 409).await);
    let moved = app
        .merge_patch(&path, &token, &json!({"version": "1.0.0"}), None)
        .await;
    named(&expect_problem(moved, 409).await);
    let import = json!({"document": {"openapi": "3.0.3",
        "info": {"title": "Imported", "version": "1.0.0"}, "paths": {"/pets": {"get": {"responses": {"200": {"description": "ok"}}}}}},
        "context": "/petstore", "endpointUrl": "https://petstore.example.com"});
    named(
        &expect_problem(
            app.post_json("/publisher/v1/apis/import", &token, &import)
                .await,
            409,
        )
        .await,
    );
    // The API itself keeps its address through a replace.
    let first_path = api_path(&id_of(&first), "");
    let same_address = json!({"description": "same address"});
    app.merge_patch_ok(&first_path, &token, &same_address, None)
        .await;

    // Racing creates at one address: one wins, the others are 409 (the unique index is the
    // backstop of the check), never 500.
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let mut body = api_body(&format!("Racer {i}"));
            body["context"] = json!("/race");
            let request = app
                .http
                .post(app.url("/publisher/v1/apis"))
                .bearer_auth(&token)
                .json(&body);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
}

/// Issue 11: a merge patch changes only what it names, through PUT's validation,
/// precondition and audit entry.
#[tokio::test]
async fn merge_patch_changes_only_what_it_names() {
    let app = spawn_app().await;
    let token = app.publisher_token().await;
    let mut body = api_body("Petstore");
    body["cors"] = json!({"enabled": true, "allowOrigins": ["https://shop.example.com"]});
    let created = app.create_api(&token, &body).await;
    let path = api_path(&id_of(&created), "");

    let patch = json!({"description": "patched", "cors": {"maxAge": 600}});
    let (patched, etag) = app
        .merge_patch_ok(&path, &token, &patch, Some("\"1\""))
        .await;
    assert_eq!(etag, "\"2\"");
    assert_eq!(patched["description"], "patched");
    assert_eq!(patched["resources"], created["resources"]);
    assert_eq!(
        patched["cors"]["allowOrigins"],
        json!(["https://shop.example.com"])
    );
    assert_eq!(patched["cors"]["maxAge"], 600);
    let stale = app.merge_patch(&path, &token, &patch, Some("\"1\""));
    expect_problem(stale.await, 412).await;

    // An array is replaced whole; every bad field of the result is named.
    let one = json!({"resources": [{"method": "GET", "path": "/pets"}]});
    let (replaced, _) = app.merge_patch_ok(&path, &token, &one, None).await;
    assert_eq!(replaced["resources"].as_array().unwrap().len(), 1);
    let bad = json!({"context": "/pets/", "endpointUrl": "ftp://x"});
    let problem = expect_problem(app.merge_patch(&path, &token, &bad, None).await, 400).await;
    assert_eq!(error_fields(&problem), ["context", "endpointUrl"]);
    let problem = expect_problem(
        app.merge_patch(&path, &token, &json!({"name": null}), None)
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["name"]);

    let admin = app.admin_token().await;
    // Newest first: the resources, the stale attempt (refused, recorded), the first patch.
    assert_eq!(
        app.audit_actions(&admin, "apis").await[..4],
        [
            "apis.update success",
            "apis.update failure",
            "apis.update success",
            "apis.create success"
        ]
    );
}

/// Migration 0042 stops, naming them, when APIs already share a context and version; once
/// they no longer do, it adds the unique index.
#[tokio::test]
async fn the_migration_names_the_apis_sharing_a_context_and_version() {
    let url = crate::common::fresh_database().await;
    // One connection: a failed run keeps the migration lock of its session, which the
    // same session takes again.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let before = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0042" {
            std::fs::copy(&path, before.path().join(&name)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(before.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    async fn insert(
        conn: &mut sqlx::PgConnection,
        name: &str,
        context: &str,
    ) -> Result<uuid::Uuid, sqlx::Error> {
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO apis (id, name, api_version, context, design, created_by, updated_by)
             VALUES ($1, $2, '1.0.0', $3, '{}', 'test', 'test')",
        )
        .bind(id)
        .bind(name)
        .bind(context)
        .execute(conn)
        .await
        .map(|_| id)
    }
    let one = insert(&mut conn, "One", "/shared").await.unwrap();
    let two = insert(&mut conn, "Two", "/shared").await.unwrap();
    insert(&mut conn, "Three", "/own").await.unwrap();

    let migrate = fedgate::store::MIGRATOR.run(&mut conn).await;
    let error = migrate.unwrap_err().to_string();
    assert!(
        error.contains(&format!(
            "APIs share a context and version: /shared 1.0.0 (One, id {one}; Two, id {two})"
        )),
        "{error}"
    );
    sqlx::query("UPDATE apis SET context = '/other' WHERE id = $1")
        .bind(two)
        .execute(&mut conn)
        .await
        .unwrap();
    fedgate::store::MIGRATOR.run(&mut conn).await.unwrap();
    let again = insert(&mut conn, "Four", "/shared").await.unwrap_err();
    assert_eq!(
        again.as_database_error().unwrap().constraint(),
        Some("apis_context_version")
    );
}
