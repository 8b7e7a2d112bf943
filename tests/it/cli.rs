//! The command-line client as a user runs it: the built `fedgate` binary against a real
//! server (and moto for deploys), each test with its own credentials directory. Exit
//! codes: 0 ok, 1 failed, 2 invalid input, 3 unreachable or not authorised, 4 timed out.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{BOOTSTRAP_SECRET, TestApp, spawn_app};
use crate::deployments::{fast_limits, fixture, fixture_with};

const PETSTORE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/petstore-openapi3.yaml"
);
const PETSTORE_NAME: &str = "Swagger Petstore";

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    #[track_caller]
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit {} instead of {code}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// A user of the client: a credentials directory of their own.
struct User {
    config: tempfile::TempDir,
}

impl User {
    fn new() -> Self {
        User {
            config: tempfile::tempdir().unwrap(),
        }
    }

    /// Where the client keeps its credentials file (made by the client itself).
    fn config_dir(&self) -> PathBuf {
        self.config.path().join("fedgate")
    }

    /// Runs `fedgate ARGS` with `stdin`, off the test's runtime thread: the server under
    /// test answers on that thread meanwhile.
    async fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Outcome {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_fedgate"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("FEDGATE_CLI_CONFIG_DIR", self.config_dir())
            .args(args)
            .write_stdin(stdin.to_owned());
        for (name, value) in env {
            command.env(name, value);
        }
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        Outcome {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    async fn run(&self, args: &[&str]) -> Outcome {
        self.run_with(args, &[], "").await
    }

    /// `fedgate login` as the bootstrap admin, the secret on stdin.
    async fn login(&self, app: &TestApp) -> Outcome {
        self.run_with(
            &[
                "login",
                "--server",
                &app.url(""),
                "--client-id",
                "admin",
                "--client-secret-stdin",
            ],
            &[],
            &format!("{BOOTSTRAP_SECRET}\n"),
        )
        .await
    }

    fn credentials(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.config_dir().join("credentials.json")).unwrap())
            .unwrap()
    }

    async fn import_petstore(&self, extra: &[&str]) -> Value {
        let mut args = vec!["apis", "import", PETSTORE, "-o", "json"];
        args.extend_from_slice(extra);
        self.run(&args).await.expect(0).json()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A port nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn login_stores_a_private_profile_and_refuses_bad_credentials() {
    let app = spawn_app().await;
    let user = User::new();
    let login = user.login(&app).await.expect(0);
    assert!(login.stderr.contains("logged in"), "{}", login.stderr);
    assert_eq!(mode(&user.config_dir()), 0o700);
    assert_eq!(mode(&user.config_dir().join("credentials.json")), 0o600);
    let profile = &user.credentials()["profiles"]["default"];
    assert_eq!(profile["clientId"], "admin");
    assert!(profile["token"]["accessToken"].is_string(), "{profile}");

    // A second server's profile, its secret from the environment; neither secret nor
    // token is ever listed.
    user.run_with(
        &[
            "login",
            "--server",
            &app.url(""),
            "--client-id",
            "admin",
            "--profile",
            "ci",
            "--scope",
            "publisher",
        ],
        &[("FEDGATE_CLI_CLIENT_SECRET", BOOTSTRAP_SECRET)],
        "",
    )
    .await
    .expect(0);
    let listed = user.run(&["profiles", "-o", "json"]).await.expect(0);
    let names: Vec<Value> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["ci", "default"]);
    let table = user.run(&["profiles"]).await.expect(0).stdout;
    for secret in [
        BOOTSTRAP_SECRET,
        profile["token"]["accessToken"].as_str().unwrap(),
    ] {
        assert!(!listed.stdout.contains(secret) && !table.contains(secret));
    }
    // The publisher-only profile is refused an admin route: not authorised, exit 3.
    let refused = user
        .run_with(
            &["environments", "list"],
            &[("FEDGATE_CLI_PROFILE", "ci")],
            "",
        )
        .await
        .expect(3);
    assert!(refused.stderr.contains("403"), "{}", refused.stderr);

    // A wrong secret, and a server that is not there: exit 3, nothing stored.
    let other = User::new();
    let wrong = other
        .run_with(
            &[
                "login",
                "--server",
                &app.url(""),
                "--client-id",
                "admin",
                "--client-secret-stdin",
            ],
            &[],
            "not-the-secret\n",
        )
        .await
        .expect(3);
    assert!(wrong.stderr.contains("401"), "{}", wrong.stderr);
    let down = other
        .run_with(
            &["login", "--server", &dead_url(), "--client-id", "admin"],
            &[("FEDGATE_CLI_CLIENT_SECRET", BOOTSTRAP_SECRET)],
            "",
        )
        .await
        .expect(3);
    assert!(down.stderr.contains("cannot reach"), "{}", down.stderr);
    assert!(!other.config_dir().join("credentials.json").exists());

    user.run(&["logout", "--profile", "ci"]).await.expect(0);
    user.run(&["logout", "--profile", "ci"]).await.expect(2);
}

#[tokio::test]
async fn a_token_the_server_refuses_is_fetched_again() {
    let app = spawn_app().await;
    let user = User::new();
    user.login(&app).await.expect(0);
    // A token that looks fresh but the server does not know: the 401 makes the client
    // ask for a new one and try again.
    let mut credentials = user.credentials();
    credentials["profiles"]["default"]["token"]["accessToken"] = json!("not-a-token");
    std::fs::write(
        user.config_dir().join("credentials.json"),
        credentials.to_string(),
    )
    .unwrap();
    user.run(&["apis", "list"]).await.expect(0);
    let token = &user.credentials()["profiles"]["default"]["token"]["accessToken"];
    assert_ne!(token, "not-a-token");
    assert_eq!(mode(&user.config_dir().join("credentials.json")), 0o600);
}

#[tokio::test]
async fn apis_are_imported_listed_and_found_by_name() {
    let app = spawn_app().await;
    let user = User::new();
    user.login(&app).await.expect(0);
    let first = user.import_petstore(&[]).await;
    assert_eq!(first["name"], PETSTORE_NAME);
    user.import_petstore(&[
        "--version",
        "2.0.0",
        "--endpoint-url",
        "https://pets.example.com/v2",
    ])
    .await;

    let listed = user
        .run(&["apis", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed:#}");
    let table = user.run(&["apis", "list"]).await.expect(0).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID "), "{table}");
    // Aligned: every row's NAME starts where the header's does.
    let name_at = lines[0].find("NAME").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|line| line[name_at..].starts_with(PETSTORE_NAME)),
        "{table}"
    );

    // A name two APIs share is ambiguous (exit 2, the candidates listed); name:version
    // and the id are not.
    let ambiguous = user.run(&["apis", "get", PETSTORE_NAME]).await.expect(2);
    assert!(
        ambiguous.stderr.contains("Swagger Petstore:1.0.0"),
        "{}",
        ambiguous.stderr
    );
    assert!(
        ambiguous.stderr.contains("Swagger Petstore:2.0.0"),
        "{}",
        ambiguous.stderr
    );
    let yaml = user
        .run(&["apis", "get", "Swagger Petstore:2.0.0", "-o", "yaml"])
        .await
        .expect(0);
    let api: Value = serde_norway::from_str(&yaml.stdout).unwrap();
    assert_eq!(api["endpointUrl"], "https://pets.example.com/v2");
    let by_id = user
        .run(&["apis", "get", first["id"].as_str().unwrap()])
        .await
        .expect(0);
    assert!(by_id.stdout.contains("GET /pets"), "{}", by_id.stdout);

    let exported = user
        .run(&["apis", "export", "Swagger Petstore:1.0.0", "-o", "yaml"])
        .await
        .expect(0);
    let document: Value = serde_norway::from_str(&exported.stdout).unwrap();
    assert!(document["paths"]["/pets"].is_object(), "{document:#}");
    user.run(&["revisions", "Swagger Petstore:1.0.0", "-o", "json"])
        .await
        .expect(0);

    // Unknown APIs and invalid documents are the user's to fix: exit 2, in words.
    let unknown = user.run(&["apis", "get", "Nope"]).await.expect(2);
    assert!(
        unknown.stderr.contains("no API `Nope`"),
        "{}",
        unknown.stderr
    );
    let missing = user
        .run(&["apis", "get", &uuid::Uuid::new_v4().to_string()])
        .await
        .expect(2);
    assert!(missing.stderr.contains("404"), "{}", missing.stderr);
    let broken = user
        .run(&[
            "apis",
            "import",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/openapi/ref-bad.yaml"
            ),
        ])
        .await
        .expect(2);
    assert!(broken.stderr.contains("400"), "{}", broken.stderr);

    // Deleting by name.
    user.run(&["apis", "delete", "Swagger Petstore:2.0.0"])
        .await
        .expect(0);
    user.run(&["apis", "get", PETSTORE_NAME]).await.expect(0);
}

#[tokio::test]
async fn deploy_waits_for_moto_and_undeploy_too() {
    let f = fixture().await;
    let user = User::new();
    user.login(&f.app).await.expect(0);
    user.import_petstore(&[]).await;

    let deployed = user
        .run(&[
            "deploy",
            PETSTORE_NAME,
            "--env",
            &f.environment,
            "--wait=60s",
            "-o",
            "json",
        ])
        .await
        .expect(0);
    assert!(deployed.stderr.contains(": pending"), "{}", deployed.stderr);
    assert!(
        deployed.stderr.contains(": deployed"),
        "{}",
        deployed.stderr
    );
    assert_eq!(deployed.json()["status"], "deployed");

    let listed = user
        .run(&[
            "deployments",
            "list",
            "--api",
            PETSTORE_NAME,
            "--env",
            &f.environment,
            "-o",
            "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(listed[0]["status"], "deployed", "{listed:#}");
    let across = user
        .run(&["deployments", "list", "--env", &f.environment])
        .await
        .expect(0);
    assert!(across.stdout.contains("deployed"), "{}", across.stdout);

    let undeployed = user
        .run(&["undeploy", PETSTORE_NAME, "--env", &f.environment, "--wait"])
        .await
        .expect(0);
    assert!(
        undeployed.stderr.contains(": undeployed"),
        "{}",
        undeployed.stderr
    );
    user.run(&["undeploy", PETSTORE_NAME, "--env", &f.environment])
        .await
        .expect(2);
}

#[tokio::test]
async fn a_deploy_still_running_when_the_wait_is_over_exits_4() {
    let f = fixture().await;
    let user = User::new();
    user.login(&f.app).await.expect(0);
    user.import_petstore(&[]).await;
    let timed_out = user
        .run(&[
            "deploy",
            PETSTORE_NAME,
            "--env",
            &f.environment,
            "--wait=0s",
        ])
        .await
        .expect(4);
    assert!(
        timed_out.stderr.contains("still pending after 0s"),
        "{}",
        timed_out.stderr
    );
}

#[tokio::test]
async fn a_deploy_aws_refuses_exits_1_with_its_error() {
    let mut settings = fast_limits();
    settings.push(("deploy_max_attempts", json!(1)));
    let f = fixture_with(&settings, &dead_url()).await;
    let user = User::new();
    user.login(&f.app).await.expect(0);
    user.import_petstore(&[]).await;
    let failed = user
        .run(&[
            "deploy",
            PETSTORE_NAME,
            "--env",
            &f.environment,
            "--wait=60s",
            "--skip-checks",
        ])
        .await
        .expect(1);
    assert!(
        failed
            .stderr
            .contains("failed: GetRestApis failed: could not reach the endpoint"),
        "{}",
        failed.stderr
    );
    // Unknown environments are the user's to fix.
    user.run(&["deploy", PETSTORE_NAME, "--env", "nowhere"])
        .await
        .expect(2);
}

#[tokio::test]
async fn the_server_ignores_the_clients_variables() {
    let app = spawn_app().await;
    let data = tempfile::tempdir().unwrap();
    let user = User::new();
    let reset = user
        .run_with(
            &["server", "reset-admin-secret"],
            &[
                ("DATABASE_URL", &app.database_url),
                ("FEDGATE_DATA_DIR", data.path().to_str().unwrap()),
                ("FEDGATE_CLI_PROFILE", "prod"),
                ("FEDGATE_CLI_SERVER", "https://fedgate.example.com"),
                ("FEDGATE_CLI_CLIENT_SECRET", "not-a-server-setting"),
            ],
            "",
        )
        .await
        .expect(0);
    let secret = reset.stdout.trim();
    // The new secret logs the client in; the old one no longer does.
    user.run_with(
        &[
            "login",
            "--server",
            &app.url(""),
            "--client-id",
            "admin",
            "--client-secret-stdin",
        ],
        &[],
        secret,
    )
    .await
    .expect(0);
    user.login(&app).await.expect(3);
    // Any other unknown FEDGATE_ variable is still refused.
    user.run_with(
        &["server", "reset-admin-secret"],
        &[
            ("DATABASE_URL", &app.database_url),
            ("FEDGATE_DATA_DIR", data.path().to_str().unwrap()),
            ("FEDGATE_CLIENT_SECRET", "a typo"),
        ],
        "",
    )
    .await
    .expect(1);
}
