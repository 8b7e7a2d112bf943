//! Secrets never reach the logs, and survive a master-key rotation.

use serde_json::{Value, json};

use crate::common::{capture_logs, moto_url, spawn_app, test_config};

const SECRET: &str = "Zm9vYmFyU2VjcmV0S2V5VGhhdE11c3ROb3RMZWFr";

fn environment(name: &str) -> Value {
    json!({
        "name": name, "provider": "aws",
        "config": {"region": "eu-west-1", "stage": "live", "endpointUrl": moto_url(),
            "credentials": {"type": "accessKey", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET,
                            "sessionToken": "SessionTokenNeverLogged"}}
    })
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = capture_logs();
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created: Value = app
        .post_json("/admin/v1/environments", &admin, &environment("logged"))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let mut bad = environment("logged-bad");
    bad["config"]["region"] = json!("nowhere-1");
    app.post_json("/admin/v1/environments", &admin, &bad).await;
    app.put_json(
        &format!("/admin/v1/environments/{id}"),
        &admin,
        &environment("logged"),
        None,
    )
    .await;
    let report: Value = app
        .post_json(
            &format!("/admin/v1/environments/{id}/check"),
            &admin,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report:#}");

    let logs = captured.text();
    assert!(
        logs.contains("registered an environment"),
        "the capture works"
    );
    assert!(logs.contains("GetCallerIdentity"), "AWS calls are traced");
    for secret in [
        SECRET,
        "SessionTokenNeverLogged",
        crate::common::BOOTSTRAP_SECRET,
        &admin,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn rotating_the_master_key_reseals_every_secret() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created: Value = app
        .post_json("/admin/v1/environments", &admin, &environment("rotated"))
        .await
        .json()
        .await
        .unwrap();
    let old_key_id = app.state.keyring.current_key_id().to_owned();

    // Restart on the same database with a new key, the old one as previous.
    let data_dir = tempfile::tempdir().unwrap();
    let new_key = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let config = test_config(
        &app.database_url,
        data_dir.path(),
        &[
            ("master_key", json!(new_key)),
            (
                "master_key_previous",
                json!("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
            ),
        ],
    );
    let rotated = fedgate::Application::build(config)
        .await
        .expect("starts and re-seals");
    let new_key_id = rotated.state().keyring.current_key_id().to_owned();
    assert_ne!(new_key_id, old_key_id);
    let stale: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM environments WHERE secret_key_id <> $1)
              + (SELECT count(*) FROM sealed_keys WHERE key_id <> $1)",
    )
    .bind(&new_key_id)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(stale, 0);

    // Without the previous key the server still opens everything: the secret works.
    let data_dir = tempfile::tempdir().unwrap();
    let config = test_config(
        &app.database_url,
        data_dir.path(),
        &[("master_key", json!(new_key))],
    );
    let after = fedgate::Application::build(config).await.unwrap();
    let addr = after.local_addr();
    tokio::spawn(after.run_until(std::future::pending()));
    let token = {
        let body: Value = app
            .http
            .post(format!("http://{addr}/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "admin"),
                ("client_secret", crate::common::BOOTSTRAP_SECRET),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };
    let report: Value = app
        .http
        .post(format!(
            "http://{addr}/admin/v1/environments/{}/check",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
}
