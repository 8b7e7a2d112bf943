//! What a REST API holds, reduced to what fedgate decides and can read back: its methods
//! (integration, authorizer, the headers a CORS preflight answers with), its authorizers
//! and its stage. Built from the document fedgate pushes (`from_document`) or from the
//! gateway's own answers (the AWS reader), so a plan and a drift check compare like with
//! like, and discovery maps what it read back to an API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::openapi::OPERATIONS;

/// Methods by path (`/pets/{id}`), then by method (`GET`, … `ANY`).
pub type Methods = BTreeMap<String, BTreeMap<String, MethodState>>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayState {
    pub methods: Methods,
    /// By authorizer name.
    pub authorizers: BTreeMap<String, AuthorizerState>,
    /// `None` when the stage does not exist (or, in a plan, is not compared).
    pub stage: Option<StageState>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodState {
    pub integration: Integration,
    /// The name of the authorizer securing the method (`None`: open).
    pub authorizer: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// API Gateway's type, upper-case: `HTTP_PROXY`, `HTTP`, `MOCK`, `AWS_PROXY`, `AWS`.
    #[serde(rename = "type")]
    pub kind: String,
    pub http_method: Option<String>,
    pub uri: Option<String>,
    /// `integration.request.path.id` → `method.request.path.id`.
    pub request_parameters: BTreeMap<String, String>,
    /// Headers the integration's default response sets (a CORS preflight's answer):
    /// `Access-Control-Allow-Origin` → `'https://app.example.com'`.
    pub response_headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerState {
    /// `TOKEN`, `REQUEST` or `COGNITO_USER_POOLS`.
    #[serde(rename = "type")]
    pub kind: String,
    pub uri: Option<String>,
    pub credentials: Option<String>,
    pub identity_source: Option<String>,
    pub ttl_secs: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageState {
    pub name: String,
    /// Every method throttled to zero (the API is BLOCKED).
    pub blocked: bool,
    /// The AWS deployment the stage serves; `None` where it is not known (a plan).
    pub deployment_id: Option<String>,
}

const RESPONSE_HEADER: &str = "method.response.header.";

impl GatewayState {
    /// The state API Gateway builds from an AWS-flavoured OpenAPI document (what
    /// `translate` makes), with `stage` as given.
    pub fn from_document(document: &Value, stage: Option<StageState>) -> Self {
        let schemes = document
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object);
        let authorizer_of = |name: &str| {
            let scheme = schemes?.get(name)?;
            scheme.get("x-amazon-apigateway-authorizer")?.as_object()
        };
        let mut methods = Methods::new();
        let paths = document.get("paths").and_then(Value::as_object);
        for (path, item) in paths.into_iter().flatten() {
            for (key, method) in OPERATIONS {
                let Some(operation) = item.get(key) else {
                    continue;
                };
                let integration = operation
                    .get("x-amazon-apigateway-integration")
                    .map(integration_of)
                    .unwrap_or_default();
                let authorizer = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .and_then(|requirements| requirements.first())
                    .and_then(Value::as_object)
                    .and_then(|requirement| requirement.keys().next())
                    .filter(|name| authorizer_of(name).is_some())
                    .cloned();
                methods.entry(path.clone()).or_default().insert(
                    method.as_str().to_owned(),
                    MethodState {
                        integration,
                        authorizer,
                    },
                );
            }
        }
        let authorizers = schemes
            .into_iter()
            .flatten()
            .filter_map(|(name, _)| {
                let authorizer = authorizer_of(name)?;
                let text = |key: &str| {
                    authorizer
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                Some((
                    name.clone(),
                    AuthorizerState {
                        kind: text("type").unwrap_or_default().to_ascii_uppercase(),
                        uri: text("authorizerUri"),
                        credentials: text("authorizerCredentials"),
                        identity_source: text("identitySource"),
                        ttl_secs: authorizer
                            .get("authorizerResultTtlInSeconds")
                            .and_then(Value::as_i64)
                            .and_then(|ttl| i32::try_from(ttl).ok()),
                    },
                ))
            })
            .collect();
        Self {
            methods,
            authorizers,
            stage,
        }
    }
}

fn integration_of(integration: &Value) -> Integration {
    let text = |key: &str| {
        integration
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let strings = |value: Option<&Value>| -> BTreeMap<String, String> {
        value
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect()
    };
    let response_headers = strings(integration.pointer("/responses/default/responseParameters"))
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(RESPONSE_HEADER)?.to_owned(), v)))
        .collect();
    Integration {
        kind: text("type").unwrap_or_default().to_ascii_uppercase(),
        http_method: text("httpMethod"),
        uri: text("uri"),
        request_parameters: strings(integration.get("requestParameters")),
        response_headers,
    }
}

/// `method.response.header.<name>` → `<name>`, for readers of the gateway's own answers.
pub fn response_header_name(parameter: &str) -> Option<&str> {
    parameter.strip_prefix(RESPONSE_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_becomes_methods_and_authorizers() {
        let document = json!({
            "paths": {
                "/pets": {
                    "get": {"security": [{"fedgate-authA": []}],
                        "x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET",
                            "uri": "https://b.example.com/pets"}},
                    "options": {"x-amazon-apigateway-integration": {"type": "mock",
                        "responses": {"default": {"statusCode": "200", "responseParameters": {
                            "method.response.header.Access-Control-Allow-Origin": "'*'"}}}}}
                },
                "/pets/{id}": {"x-amazon-apigateway-any-method": {
                    "security": [{"not-an-authorizer": []}],
                    "x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "ANY",
                        "uri": "https://b.example.com/pets/{id}",
                        "requestParameters": {"integration.request.path.id": "method.request.path.id"}}}}
            },
            "components": {"securitySchemes": {
                "fedgate-authA": {"x-amazon-apigateway-authorizer": {"type": "token",
                    "authorizerUri": "arn:uri", "authorizerCredentials": "arn:role",
                    "identitySource": "method.request.header.Authorization",
                    "authorizerResultTtlInSeconds": 300}},
                "not-an-authorizer": {"type": "http", "scheme": "basic"}
            }}
        });
        let state = GatewayState::from_document(&document, None);
        let count: usize = state.methods.values().map(BTreeMap::len).sum();
        assert_eq!(count, 3);
        let get = &state.methods["/pets"]["GET"];
        assert_eq!(get.authorizer.as_deref(), Some("fedgate-authA"));
        assert_eq!(get.integration.kind, "HTTP_PROXY");
        let options = &state.methods["/pets"]["OPTIONS"];
        assert_eq!(options.integration.kind, "MOCK");
        assert_eq!(
            options.integration.response_headers["Access-Control-Allow-Origin"],
            "'*'"
        );
        let any = &state.methods["/pets/{id}"]["ANY"];
        assert_eq!(any.authorizer, None, "a scheme without an authorizer");
        assert_eq!(
            any.integration.request_parameters["integration.request.path.id"],
            "method.request.path.id"
        );
        assert_eq!(
            state.authorizers.keys().collect::<Vec<_>>(),
            ["fedgate-authA"]
        );
        assert_eq!(state.authorizers["fedgate-authA"].kind, "TOKEN");
        assert_eq!(state.authorizers["fedgate-authA"].ttl_secs, Some(300));
    }

    #[test]
    fn round_trips_through_json() {
        let document = json!({"paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "uri": "u"}}}}});
        let state = GatewayState::from_document(
            &document,
            Some(StageState {
                name: "prod".into(),
                blocked: false,
                deployment_id: Some("d1".into()),
            }),
        );
        let back: GatewayState =
            serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
        assert_eq!(back, state);
    }
}
