//! The package fedgate builds for its Lambda authorizer, run as Lambda would: unzipped by
//! another implementation (Python's zipfile), its `index.handler` called by Node with the
//! event API Gateway sends, on a token from the OIDC mock's token endpoint asked for as
//! the devportal asks. What the zip and `config.json` must be is checked here once across
//! both languages; authorizer/index.test.mjs tests the function itself.

use std::process::Command;

use fedgate::domain::api::HttpMethod;
use fedgate::domain::api::path::PathTemplate;
use fedgate::domain::authorizer::{AuthorizerConfig, MethodScopes, bundle};
use fedgate::domain::aws::StageName;
use serde_json::{Value, json};
use url::Url;

use crate::common::devportal::{oidc_issuer, oidc_url};

const API: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod";

/// The client-credentials grant with the form and Basic authentication of src/idp/token.rs.
pub async fn devportal_token(scope: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/token", oidc_url()))
        .basic_auth("pet-shop", Some("pet-shop-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn method(method: HttpMethod, path: &str, scope: &str) -> MethodScopes {
    MethodScopes {
        method,
        path: PathTemplate::parse(path).unwrap(),
        scopes: [scope.to_owned()].into(),
    }
}

/// Unzips the package with Python and calls its handler with Node; the handler's answer,
/// or what it threw.
pub fn run(package: &[u8], event: &Value) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("function.zip");
    let root = dir.path().join("function");
    std::fs::write(&zip, package).unwrap();
    let unzip = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .args([&zip, &root])
        .status()
        .expect("python3 runs");
    assert!(unzip.success());
    let mut files: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["config.json", "index.mjs"]);

    let script = "const [entry, event] = process.argv.slice(1);
        const { handler } = await import(entry);
        try { console.log(JSON.stringify(await handler(JSON.parse(event)))); }
        catch (error) { console.error(error.message); process.exit(1); }";
    let entry = Url::from_file_path(root.join("index.mjs")).unwrap();
    let output = Command::new("node")
        .args(["--input-type=module", "-e", script, entry.as_str()])
        .arg(event.to_string())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() {
        // The handler's own log lines come first; its answer is the last line.
        Ok(serde_json::from_str(stdout.lines().last().unwrap()).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

pub fn effect<'a>(answer: &'a Value, resource: &str) -> Option<&'a str> {
    answer["policyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Resource"].as_array().unwrap().contains(&json!(resource)))
        .and_then(|s| s["Effect"].as_str())
}

#[tokio::test]
async fn the_packaged_authorizer_allows_the_scopes_a_token_has_and_denies_the_rest() {
    // oauth2-mock-server ignores `audience`: its key manager has none.
    let jwks = Url::parse(&format!("{}/jwks", oidc_url())).unwrap();
    let config = AuthorizerConfig::new(&oidc_issuer(), &jwks, None).with_api(
        "a1b2c3",
        &StageName::parse("prod").unwrap(),
        [
            method(HttpMethod::Get, "/pets/{id}", "pets:read"),
            method(HttpMethod::Post, "/pets", "pets:write"),
        ],
    );
    let package = bundle(&config);
    let event = |token: &str, call: &str| {
        json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
               "methodArn": format!("{API}/{call}")})
    };

    let reader = run(
        &package,
        &event(&devportal_token("pets:read").await, "GET/pets/42"),
    )
    .unwrap();
    assert_eq!(effect(&reader, &format!("{API}/GET/pets/*")), Some("Allow"));
    assert_eq!(effect(&reader, &format!("{API}/POST/pets")), Some("Deny"));
    assert_eq!(reader["context"]["scope"], "pets:read");

    let writer = run(
        &package,
        &event(&devportal_token("pets:write").await, "POST/pets"),
    )
    .unwrap();
    assert_eq!(effect(&writer, &format!("{API}/GET/pets/*")), Some("Deny"));
    assert_eq!(effect(&writer, &format!("{API}/POST/pets")), Some("Allow"));

    // Another issuer's configuration: the same token is refused (API Gateway's 401).
    let other = AuthorizerConfig {
        issuer: "https://elsewhere.example.com".into(),
        ..config
    };
    let refused = run(
        &bundle(&other),
        &event(&devportal_token("pets:read").await, "GET/pets/42"),
    );
    assert_eq!(refused, Err("Unauthorized".into()));
}
