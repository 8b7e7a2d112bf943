//! Each guard and its change are one transaction: a request racing a delete (or a retire)
//! either sees it or is seen by it. Each test forces the bad interleaving by holding the
//! parent row's lock from the test itself, so that the request under test is checked
//! while the other waits; every one of them fails every time when a guard is checked
//! outside the transaction of its change.

use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::fake::{FakeFixture, fake_fixture, pets};

/// A connection of the test's own holding `lock` on one row until it is dropped.
async fn hold(f: &FakeFixture, table: &str, id: &str, lock: &str) -> sqlx::PgConnection {
    let mut conn = sqlx::PgConnection::connect(&f.app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query(&format!("SELECT 1 FROM {table} WHERE id = $1::uuid {lock}"))
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn release(mut conn: sqlx::PgConnection) {
    sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
}

/// Sends a request in the background; the task ends with its status.
fn spawn_request(
    f: &FakeFixture,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> tokio::task::JoinHandle<u16> {
    let mut request = f
        .app
        .http
        .request(method, f.app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
}

fn spawn_delete(f: &FakeFixture, path: String, token: String) -> tokio::task::JoinHandle<u16> {
    spawn_request(f, reqwest::Method::DELETE, &path, &token, None)
}

async fn create_revision(f: &FakeFixture, api: &str) -> String {
    let revision: Value = f
        .app
        .post_json(
            &format!("/publisher/v1/apis/{api}/revisions"),
            &f.publisher,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    revision["id"].as_str().unwrap().to_owned()
}

async fn live_deployments(f: &FakeFixture, api: &str) -> Vec<Value> {
    f.deployments(api)
        .await
        .into_iter()
        .filter(|d| d["status"] != "undeployed")
        .collect()
}

#[tokio::test]
async fn deleting_an_environment_while_a_deploy_is_requested() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Racer")).await;
    let admin = f.app.admin_token().await;
    // The delete's lock waits behind the test's, after (or before) its guard ran.
    let held = hold(&f, "environments", &f.environment_id, "FOR SHARE").await;
    let delete = spawn_delete(
        &f,
        format!("/admin/v1/environments/{}", f.environment_id),
        admin.clone(),
    );
    assert!(
        f.lock_waiters(1).await,
        "the delete never waited for the row"
    );
    // Meanwhile a deploy is requested and queued.
    let deploy = f
        .request_deploy(&api, "", json!({"environment": "fake", }))
        .await;
    assert_eq!(deploy.status(), 202);
    release(held).await;
    // The delete must see the deployment it raced with, and refuse.
    assert_eq!(delete.await.unwrap(), 409);
    let environment = f
        .app
        .get(
            &format!("/admin/v1/environments/{}", f.environment_id),
            &admin,
        )
        .await;
    assert_eq!(environment.status(), 200);
    assert_eq!(live_deployments(&f, &api).await.len(), 1);
}

#[tokio::test]
async fn moving_an_environment_while_a_deploy_is_requested() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Mover")).await;
    let admin = f.app.admin_token().await;
    let path = format!("/admin/v1/environments/{}", f.environment_id);
    let mut moved = f.app.get_ok(&path, &admin).await;
    moved["config"]["region"] = json!("eu-west-1");
    let held = hold(&f, "environments", &f.environment_id, "FOR SHARE").await;
    let replace = spawn_request(&f, reqwest::Method::PUT, &path, &admin, Some(moved));
    assert!(
        f.lock_waiters(1).await,
        "the replace never waited for the row"
    );
    let deploy = f
        .request_deploy(&api, "", json!({"environment": "fake"}))
        .await;
    assert_eq!(deploy.status(), 202);
    release(held).await;
    assert_eq!(replace.await.unwrap(), 409);
    let environment = f.app.get_ok(&path, &admin).await;
    assert_eq!(environment["config"]["region"], "us-east-1");
}

#[tokio::test]
async fn deleting_an_api_while_a_deploy_is_requested() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Twice")).await;
    // Snapshot first: making a revision locks the API's row, which the test holds.
    let revision = create_revision(&f, &api).await;
    let held = hold(&f, "apis", &api, "FOR SHARE").await;
    let delete = spawn_delete(&f, format!("/publisher/v1/apis/{api}"), f.publisher.clone());
    assert!(
        f.lock_waiters(1).await,
        "the delete never waited for the row"
    );
    let deploy = f
        .request_deploy(
            &api,
            "",
            json!({"environment": "fake", "revisionId": revision}),
        )
        .await;
    assert_eq!(deploy.status(), 202);
    release(held).await;
    assert_eq!(delete.await.unwrap(), 409);
    assert_eq!(live_deployments(&f, &api).await.len(), 1);
}

#[tokio::test]
async fn deleting_a_revision_while_a_deploy_of_it_is_requested() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Revised")).await;
    let revision = create_revision(&f, &api).await;
    let held = hold(&f, "apis", &api, "FOR SHARE").await;
    let delete = spawn_delete(
        &f,
        format!("/publisher/v1/apis/{api}/revisions/{revision}"),
        f.publisher.clone(),
    );
    // The delete waits for the API's row (a revision's guard is its API's deployments);
    // where it does not, it has already gone ahead of the deploy.
    let waited = f.lock_waiters(1).await;
    let deploy = f
        .request_deploy(
            &api,
            "",
            json!({"environment": "fake", "revisionId": revision}),
        )
        .await;
    release(held).await;
    assert!(
        waited,
        "the revision's delete never waited for its API's row"
    );
    assert_eq!(deploy.status(), 202);
    assert_eq!(delete.await.unwrap(), 409);
    let kept = f
        .app
        .get(
            &format!("/publisher/v1/apis/{api}/revisions/{revision}"),
            &f.publisher,
        )
        .await;
    assert_eq!(kept.status(), 200);
}

#[tokio::test]
async fn retiring_an_api_while_a_deploy_is_requested() {
    let f = fake_fixture(&[]).await;
    let api = f.create_api(&pets("Retiree")).await;
    for action in ["publish", "deprecate"] {
        assert_eq!(f.lifecycle(&api, action).await.status(), 200);
    }
    // The deploy is held after its checks, at the environment's row.
    let held = hold(&f, "environments", &f.environment_id, "FOR UPDATE").await;
    let deploy = spawn_request(
        &f,
        reqwest::Method::POST,
        &format!("/publisher/v1/apis/{api}/deployments"),
        &f.publisher,
        Some(json!({"environment": "fake"})),
    );
    assert!(
        f.lock_waiters(1).await,
        "the deploy never waited for the row"
    );
    // The retire either waits for the deploy, or the deploy sees the retire.
    let retire = spawn_request(
        &f,
        reqwest::Method::POST,
        &format!("/publisher/v1/apis/{api}/lifecycle"),
        &f.publisher,
        Some(json!({"action": "retire"})),
    );
    f.lock_waiters(2).await;
    release(held).await;
    let (deploy, retire) = (deploy.await.unwrap(), retire.await.unwrap());
    assert_eq!(retire, 200);
    assert!(
        deploy == 202 || deploy == 409,
        "the deploy answered {deploy}"
    );
    // Whatever the order, nothing of a RETIRED API stays deployed.
    f.eventually(
        &format!("/publisher/v1/apis/{api}/deployments"),
        15,
        |list| {
            list["items"]
                .as_array()
                .is_some_and(|items| items.iter().all(|d| d["status"] == "undeployed"))
        },
    )
    .await;
    assert!(f.gateway.apis().is_empty(), "{:?}", f.gateway.apis());
}
