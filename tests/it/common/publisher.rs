//! Building blocks of the publisher tests: valid ARNs, policies and API bodies.

use serde_json::{Value, json};

use super::TestApp;

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/apigateway-invoke-authorizer";

pub fn lambda_arn(function: &str) -> String {
    format!("arn:aws:lambda:eu-west-1:123456789012:function:{function}")
}

/// An AWS OAuth2 policy whose authorizer is the Lambda `function`.
pub fn oauth_policy(function: &str) -> Value {
    json!({"type": "awsOAuth2",
           "parameters": {"lambdaArn": lambda_arn(function), "invokeRoleArn": ROLE_ARN}})
}

/// A valid API body named `name` with two resources and no policy; its context is the
/// name in lower case, with a hyphen for each character a path segment cannot have
/// (`Petstore` → `/petstore`, `PETS 2` → `/pets-2`), so that APIs of distinct names have
/// distinct addresses.
pub fn api_body(name: &str) -> Value {
    let context: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '~' | '-' => c,
            _ => '-',
        })
        .collect();
    json!({
        "name": name,
        "version": "1.0.0",
        "context": format!("/{context}"),
        "description": "Pets for sale",
        "endpointUrl": "https://petstore.example.com/v1",
        "gatewayType": "aws",
        "resources": [
            {"method": "GET", "path": "/pets", "description": "List pets"},
            {"method": "GET", "path": "/pets/{petId}", "description": "One pet"}
        ]
    })
}

/// Path of an API's own resource (or sub-resource, with `rest`).
pub fn api_path(id: &str, rest: &str) -> String {
    format!("/publisher/v1/apis/{id}{rest}")
}

impl TestApp {
    pub async fn publisher_token(&self) -> String {
        self.token("publisher").await
    }

    /// Creates an API, asserting 201, and returns its body.
    pub async fn create_api(&self, token: &str, body: &Value) -> Value {
        let response = self.post_json("/publisher/v1/apis", token, body).await;
        let status = response.status();
        let created: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "creating an API failed: {created}");
        created
    }

    /// GET that asserts 200 and returns the body.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "GET {path} failed: {body}");
        body
    }
}
