//! What an operator runs by hand: the binary's commands, start-up messages, a way back in.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{BOOTSTRAP_SECRET, expect_problem, spawn_app};

fn fedgate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fedgate"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    command
}

#[tokio::test]
async fn reset_admin_secret_prints_a_new_one_revokes_tokens_and_is_audited() {
    let app = spawn_app().await;
    let old = app.admin_token().await;
    let data = tempfile::tempdir().unwrap();
    let output = fedgate()
        .args(["server", "reset-admin-secret"])
        .env("DATABASE_URL", &app.database_url)
        .env("FEDGATE_DATA_DIR", data.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Logs and messages on stderr, without colours when not a terminal; the secret alone
    // on stdout, for `SECRET=$(fedgate server reset-admin-secret)`.
    assert!(stderr.contains("shown only now"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    let secret = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(secret.len() >= 32, "{secret}");

    let problem = expect_problem(app.get("/admin/v1/clients", &old).await, 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    let fresh = app.token_for("admin", &secret, None).await;
    let log = app
        .get_ok("/admin/v1/audit?targetType=clients&outcome=success", &fresh)
        .await;
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "clients.rotate-secret");
    assert_eq!(entry["actor"], "operator:reset-admin-secret");

    let unknown = fedgate()
        .args(["server", "reset-admin-secret", "nobody"])
        .env("DATABASE_URL", &app.database_url)
        .env("FEDGATE_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("there is no client `nobody`"));
    // The bootstrap secret no longer works either.
    let response = app
        .http
        .post(app.url("/auth/token"))
        .basic_auth("admin", Some(BOOTSTRAP_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[test]
fn the_spec_to_a_reader_that_stops_early_is_not_a_panic() {
    let mut child = fedgate()
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), "{");
    // stdout is closed here, as `| head -1` closes it.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_lists_every_setting() {
    let output = fedgate().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for setting in [
        "DATABASE_URL",
        "FEDGATE_OUTBOUND_ALLOW",
        "FEDGATE_TOKEN_TTL_SECS",
        "FEDGATE_MASTER_KEY",
    ] {
        assert!(help.contains(setting), "{setting} missing from --help");
    }
}

#[tokio::test]
async fn an_unused_bootstrap_secret_is_said_at_start() {
    let captured = crate::common::capture_logs();
    let app = spawn_app().await;
    let secret = secrecy::SecretString::from("another-bootstrap-secret");
    fedgate::auth::bootstrap::ensure_admin_client(&app.state.db, Some(&secret))
        .await
        .unwrap();
    let logs = captured.text();
    assert!(
        logs.contains("FEDGATE_BOOTSTRAP_ADMIN_SECRET is set but not used")
            && logs.contains("reset-admin-secret"),
        "{logs}"
    );
}
