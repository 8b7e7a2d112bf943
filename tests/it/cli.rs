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

/// Asserts that a command's output says `expected`, showing the output when not.
#[track_caller]
fn assert_contains(output: &str, expected: &str) {
    assert!(output.contains(expected), "{expected:?} not in:\n{output}");
}

/// A user logged in to a server with a moto environment, and the Petstore imported.
async fn petstore_on_moto() -> (crate::deployments::Fixture, User) {
    let f = fixture().await;
    let user = User::new();
    user.login(&f.app).await.expect(0);
    user.import_petstore(&[]).await;
    (f, user)
}

#[tokio::test]
async fn login_stores_a_private_profile_and_refuses_bad_credentials() {
    let app = spawn_app().await;
    let user = User::new();
    let login = user.login(&app).await.expect(0);
    assert_contains(&login.stderr, "logged in");
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
    assert_contains(&refused.stderr, "403");

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
    assert_contains(&wrong.stderr, "401");
    let down = other
        .run_with(
            &["login", "--server", &dead_url(), "--client-id", "admin"],
            &[("FEDGATE_CLI_CLIENT_SECRET", BOOTSTRAP_SECRET)],
            "",
        )
        .await
        .expect(3);
    assert_contains(&down.stderr, "cannot reach");
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
    assert_contains(&ambiguous.stderr, "Swagger Petstore:1.0.0");
    assert_contains(&ambiguous.stderr, "Swagger Petstore:2.0.0");
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
    assert_contains(&by_id.stdout, "GET /pets");

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
    assert_contains(&unknown.stderr, "no API `Nope`");
    let missing = user
        .run(&["apis", "get", &uuid::Uuid::new_v4().to_string()])
        .await
        .expect(2);
    assert_contains(&missing.stderr, "404");
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
    assert_contains(&broken.stderr, "400");

    // Deleting by name.
    user.run(&["apis", "delete", "Swagger Petstore:2.0.0"])
        .await
        .expect(0);
    user.run(&["apis", "get", PETSTORE_NAME]).await.expect(0);
}

#[tokio::test]
async fn deploy_waits_for_moto_and_undeploy_too() {
    let (f, user) = petstore_on_moto().await;

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
    assert_contains(&deployed.stderr, ": pending");
    assert_contains(&deployed.stderr, ": deployed");
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
    assert_contains(&across.stdout, "deployed");

    let undeployed = user
        .run(&["undeploy", PETSTORE_NAME, "--env", &f.environment, "--wait"])
        .await
        .expect(0);
    assert_contains(&undeployed.stderr, ": undeployed");
    user.run(&["undeploy", PETSTORE_NAME, "--env", &f.environment])
        .await
        .expect(2);
}

#[tokio::test]
async fn a_deploy_still_running_when_the_wait_is_over_exits_4() {
    let (f, user) = petstore_on_moto().await;
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
    assert_contains(&timed_out.stderr, "still pending after 0s");
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
    assert_contains(
        &failed.stderr,
        "failed: GetRestApis failed: could not reach the endpoint",
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

const WSO2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wso2");

/// A deploy directory: the petstore document and a manifest of it named `Pets`.
fn manifest_dir(endpoint: &str, environments: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(PETSTORE, dir.path().join("pets.openapi.yaml")).unwrap();
    write_manifest(dir.path(), endpoint, environments);
    dir
}

fn write_manifest(dir: &Path, endpoint: &str, environments: &[&str]) {
    let manifest = format!(
        "apiVersion: fedgate/v1\nkind: Api\nmetadata: {{name: Pets, version: 1.0.0}}\nspec:\n  \
         openapi: ./pets.openapi.yaml\n  overrides: {{context: /pets, endpointUrl: {endpoint}}}\n  \
         environments: {}\n",
        serde_json::to_string(environments).unwrap()
    );
    std::fs::write(dir.join("pets.yaml"), manifest).unwrap();
}

impl User {
    async fn revision_count(&self, api: &str) -> usize {
        self.run(&["revisions", api, "-o", "json"])
            .await
            .expect(0)
            .json()
            .as_array()
            .unwrap()
            .len()
    }

    async fn deployments_of(&self, api: &str) -> Value {
        self.run(&["deployments", "list", "--api", api, "-o", "json"])
            .await
            .expect(0)
            .json()
    }
}

#[tokio::test]
async fn apply_creates_deploys_converges_updates_and_undeploys() {
    let f = fixture().await;
    let user = User::new();
    user.login(&f.app).await.expect(0);
    let dir = manifest_dir("http://127.0.0.1:8089/api", &[&f.environment]);
    let path = dir.path().to_str().unwrap();

    let planned = user.run(&["plan", "-f", path]).await.expect(0);
    assert_contains(&planned.stdout, "+ create API Pets 1.0.0");
    assert_contains(
        &planned.stdout,
        &format!("~ deploy Pets 1.0.0 to {}", f.environment),
    );
    let as_json = user
        .run(&["plan", "-f", path, "-o", "json"])
        .await
        .expect(0);
    assert_eq!(as_json.json()["changes"], true);
    assert_eq!(as_json.json()["actions"][0]["action"], "createApi");
    // Nothing was created by planning; without a terminal, apply wants --auto-approve.
    user.run(&["apis", "get", "Pets"]).await.expect(2);
    let unconfirmed = user.run(&["apply", "-f", path]).await.expect(2);
    assert_contains(&unconfirmed.stderr, "--auto-approve");
    user.run(&["apis", "get", "Pets"]).await.expect(2);

    let applied = user
        .run(&["apply", "-f", path, "--auto-approve", "--wait=60s"])
        .await
        .expect(0);
    assert_contains(&applied.stderr, ": deployed");
    assert!(
        applied.stdout.contains("created Pets 1.0.0")
            && applied.stdout.contains("Apply complete: 2 actions done."),
        "{}",
        applied.stdout
    );
    let api = user
        .run(&["apis", "get", "Pets", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(api["context"], "/pets");
    assert_eq!(api["endpointUrl"], "http://127.0.0.1:8089/api");
    let deployments = user.deployments_of("Pets").await;
    assert_eq!(deployments[0]["status"], "deployed", "{deployments:#}");
    let revisions = user.revision_count("Pets").await;

    // The same file again: nothing to do, nothing written.
    let again = user
        .run(&["apply", "-f", path, "--auto-approve"])
        .await
        .expect(0);
    assert_contains(&again.stdout, "No changes.");
    assert_eq!(user.revision_count("Pets").await, revisions);
    assert_eq!(user.deployments_of("Pets").await, deployments);
    let unchanged = user
        .run(&["plan", "-f", path, "-o", "json"])
        .await
        .expect(0);
    assert_eq!(unchanged.json()["changes"], false);

    // A new endpoint: the design is patched and redeployed.
    write_manifest(dir.path(), "http://127.0.0.1:8089/v2", &[&f.environment]);
    let planned = user.run(&["plan", "-f", path]).await.expect(0);
    assert!(
        planned
            .stdout
            .contains("~ update API Pets 1.0.0: endpointUrl")
            && planned.stdout.contains("(design changed)"),
        "{}",
        planned.stdout
    );
    user.run(&["apply", "-f", path, "--auto-approve", "--wait=60s"])
        .await
        .expect(0);
    let api = user
        .run(&["apis", "get", "Pets", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(api["endpointUrl"], "http://127.0.0.1:8089/v2");
    assert_eq!(user.revision_count("Pets").await, revisions + 1);
    user.run(&["apply", "-f", path, "--auto-approve"])
        .await
        .expect(0);

    // No environment any more: undeployed.
    write_manifest(dir.path(), "http://127.0.0.1:8089/v2", &[]);
    let planned = user.run(&["plan", "-f", path]).await.expect(0);
    assert_contains(
        &planned.stdout,
        &format!("- undeploy Pets 1.0.0 from {}", f.environment),
    );
    let undeployed = user
        .run(&["apply", "-f", path, "--auto-approve", "--wait=60s"])
        .await
        .expect(0);
    assert_contains(&undeployed.stderr, ": undeployed");
    assert_eq!(user.deployments_of("Pets").await[0]["status"], "undeployed");
    let again = user
        .run(&["apply", "-f", path, "--auto-approve"])
        .await
        .expect(0);
    assert_contains(&again.stdout, "No changes.");

    // A broken manifest is invalid input.
    std::fs::write(
        dir.path().join("pets.yaml"),
        "apiVersion: fedgate/v1\nkind: Api\nmetadata: {name: Pets}\n",
    )
    .unwrap();
    user.run(&["plan", "-f", path]).await.expect(2);
    user.run(&["apply", "-f", path, "--auto-approve"])
        .await
        .expect(2);
}

#[tokio::test]
async fn apply_stops_at_a_deploy_aws_refuses() {
    let mut settings = fast_limits();
    settings.push(("deploy_max_attempts", json!(1)));
    let f = fixture_with(&settings, &dead_url()).await;
    let user = User::new();
    user.login(&f.app).await.expect(0);
    let dir = manifest_dir("http://127.0.0.1:8089/api", &[&f.environment]);
    let failed = user
        .run(&[
            "apply",
            "-f",
            dir.path().to_str().unwrap(),
            "--auto-approve",
            "--wait=60s",
        ])
        .await;
    assert_ne!(failed.code, 0, "{}", failed.stderr);
    assert_contains(&failed.stderr, "stopped at action 2 of 2");
    // The API was created before the deploy failed; the next plan deploys it again.
    user.run(&["apis", "get", "Pets"]).await.expect(0);
}

#[tokio::test]
async fn import_wso2_migrates_each_kind_of_project() {
    let f = fixture().await;
    let user = User::new();
    user.login(&f.app).await.expect(0);

    // 4.x, OpenAPI 3, AWS authorizers. Mapped, aws-dev would be deployed to; aws-prod
    // is not mapped. (moto cannot make the Lambda authorizers: the deploy is only planned.)
    let project = format!("{WSO2}/orders-v45-oas3-aws");
    let env_map = format!("aws-dev={}", f.environment);
    let dry = user
        .run(&["import-wso2", &project, "--env-map", &env_map, "--dry-run"])
        .await
        .expect(0);
    assert!(
        dry.stdout
            .contains(&format!("~ deploy OrdersAPI 2.1.0 to {}", f.environment))
            && !dry.stdout.contains("aws-prod"),
        "{}",
        dry.stdout
    );
    assert_contains(&dry.stderr, "not mapped: environment `aws-prod`");
    user.run(&["apis", "get", "OrdersAPI"]).await.expect(2);
    let orders = user.run(&["import-wso2", &project]).await.expect(0);
    for note in [
        "not mapped: environment `aws-dev`",
        "not mapped: api.yaml: data.operations[1].scopes: WSO2 scopes orders:write",
        "not mapped: api.yaml: data.endpointConfig.sandbox_endpoints",
    ] {
        assert!(orders.stderr.contains(note), "{note}: {}", orders.stderr);
    }
    let api = user
        .run(&["apis", "get", "OrdersAPI:2.1.0", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(api["context"], "/orders/2.1.0");
    assert_eq!(api["endpointUrl"], "https://orders.example.com/api");
    assert_eq!(api["policies"][0]["type"], "awsOAuth2", "{api:#}");
    assert_eq!(api["cors"]["enabled"], true, "{api:#}");
    let post = api["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "POST" && r["path"] == "/orders")
        .unwrap_or_else(|| panic!("{api:#}"));
    assert_eq!(
        post["policies"][0]["parameters"]["lambdaArn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:orders-writer-authorizer"
    );
    assert_eq!(api["lifecycleState"], "PUBLISHED");
    assert_eq!(user.deployments_of("OrdersAPI").await, json!([]));

    // 4.x, Swagger 2.0; its manifest is kept, and applying it changes nothing.
    let deploy = tempfile::tempdir().unwrap();
    let manifest = deploy.path().join("inventory.yaml");
    user.run(&[
        "import-wso2",
        &format!("{WSO2}/inventory-v42-swagger2"),
        "--write-manifest",
        manifest.to_str().unwrap(),
    ])
    .await
    .expect(0);
    let api = user
        .run(&["apis", "get", "InventoryAPI", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(api["context"], "/inventory");
    assert_eq!(api["endpointUrl"], "http://inventory.internal:8080");
    assert!(!api["resources"].as_array().unwrap().is_empty(), "{api:#}");
    assert!(deploy.path().join("inventory.openapi.yaml").exists());
    let again = user
        .run(&[
            "apply",
            "-f",
            deploy.path().to_str().unwrap(),
            "--auto-approve",
        ])
        .await
        .expect(0);
    assert_contains(&again.stdout, "No changes.");

    // 3.x; a dry run changes nothing.
    let legacy = format!("{WSO2}/legacy-v3");
    let dry = user
        .run(&["import-wso2", &legacy, "--dry-run"])
        .await
        .expect(0);
    assert_contains(&dry.stdout, "+ create API");
    assert_contains(&dry.stderr, "not mapped: ");
    let before = user
        .run(&["apis", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(before.as_array().unwrap().len(), 2);
    let env_map = format!("Production and Sandbox={}", f.environment);
    let imported = user
        .run(&["import-wso2", &legacy, "--env-map", &env_map, "--wait=60s"])
        .await
        .expect(0);
    assert_contains(&imported.stderr, ": deployed");
    let listed = user
        .run(&["apis", "list", "-o", "json"])
        .await
        .expect(0)
        .json();
    let weather = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["context"] == "/weather/3.0.0")
        .unwrap_or_else(|| panic!("{listed:#}"));
    assert_eq!(weather["version"], "3.0.0");
    assert_eq!(
        user.deployments_of(weather["id"].as_str().unwrap()).await[0]["status"],
        "deployed"
    );

    // Not a project: invalid input.
    user.run(&["import-wso2", WSO2]).await.expect(2);
}
