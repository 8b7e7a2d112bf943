//! The OpenAPI 3.0 document a caller of a deployed API gets from the developer portal:
//! the servers are the invocation URLs, the secured operations name an OAuth2
//! client-credentials scheme per key manager, and nothing internal (backend URL, Lambda
//! or role ARNs, `x-fedgate`) appears.

use serde_json::{Map, Value, json};

use super::export::plain_operation;
use super::operation_key;
use crate::domain::api::ApiDesign;

/// Where a deployed API answers.
pub struct Server<'a> {
    pub url: &'a str,
    pub description: &'a str,
}

/// A key manager callers get tokens from.
pub struct TokenIssuer<'a> {
    pub name: &'a str,
    pub token_url: &'a str,
    pub scopes: &'a [String],
}

/// The security scheme named when an API is secured but lists no known key manager.
const BEARER: &str = "bearer";

pub fn for_callers(
    design: &ApiDesign,
    servers: &[Server<'_>],
    issuers: &[TokenIssuer<'_>],
) -> Value {
    // Any one key manager's token will do: one security requirement per scheme.
    let requirements: Vec<Value> = if issuers.is_empty() {
        vec![json!({BEARER: []})]
    } else {
        issuers.iter().map(|i| json!({i.name: []})).collect()
    };
    let mut paths = Map::new();
    let mut secured_any = false;
    for resource in &design.resources {
        let mut operation = plain_operation(resource);
        if design.effective_policy(resource).policy.is_some() {
            secured_any = true;
            operation.insert("security".into(), Value::Array(requirements.clone()));
        }
        let item = paths
            .entry(resource.path.as_str())
            .or_insert_with(|| json!({}));
        item[operation_key(resource.method)] = Value::Object(operation);
    }
    let mut info = json!({"title": design.name.as_str(), "version": design.version.as_str()});
    if !design.description.is_empty() {
        info["description"] = json!(design.description);
    }
    let servers: Vec<Value> = servers
        .iter()
        .map(|s| json!({"url": s.url, "description": s.description}))
        .collect();
    let mut document =
        json!({"openapi": "3.0.3", "info": info, "servers": servers, "paths": paths});
    if secured_any {
        document["components"] = json!({"securitySchemes": security_schemes(issuers)});
    }
    document
}

fn security_schemes(issuers: &[TokenIssuer<'_>]) -> Value {
    if issuers.is_empty() {
        return json!({BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}});
    }
    let schemes: Map<String, Value> = issuers
        .iter()
        .map(|issuer| {
            let scopes: Map<String, Value> = issuer
                .scopes
                .iter()
                .map(|s| (s.clone(), json!("")))
                .collect();
            let scheme = json!({"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": issuer.token_url, "scopes": scopes}}});
            (issuer.name.to_owned(), scheme)
        })
        .collect();
    Value::Object(schemes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::draft::ApiDraft;

    fn design() -> ApiDesign {
        let policy = |f: &str| {
            json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": format!("arn:aws:lambda:eu-west-1:123456789012:function:{f}"),
            "invokeRoleArn": "arn:aws:iam::123456789012:role/invoke"}})
        };
        let draft: ApiDraft = serde_json::from_value(json!({
            "name": "Shop", "version": "1", "context": "/shop",
            "endpointUrl": "https://internal.example.com/api",
            "policies": [policy("api")],
            "resources": [
                {"method": "GET", "path": "/items/{id}", "policies": [policy("own")]},
                {"method": "ANY", "path": "/open"},
            ]
        }))
        .unwrap();
        let mut design = ApiDesign::parse(&draft).unwrap();
        design.policies.clear();
        design
    }

    #[test]
    fn servers_are_invocation_urls_and_only_secured_operations_need_a_token() {
        let scopes = vec!["read".to_owned()];
        let document = for_callers(
            &design(),
            &[Server {
                url: "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
                description: "prod",
            }],
            &[TokenIssuer {
                name: "auth0",
                token_url: "https://idp.example/oauth/token",
                scopes: &scopes,
            }],
        );
        assert_eq!(
            document["servers"][0]["url"],
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
        );
        let get = &document["paths"]["/items/{id}"]["get"];
        assert_eq!(get["security"], json!([{"auth0": []}]));
        assert_eq!(get["parameters"][0]["name"], "id");
        assert!(
            document["paths"]["/open"][super::super::ANY_METHOD]
                .get("security")
                .is_none()
        );
        let flow =
            &document["components"]["securitySchemes"]["auth0"]["flows"]["clientCredentials"];
        assert_eq!(flow["tokenUrl"], "https://idp.example/oauth/token");
        assert_eq!(flow["scopes"], json!({"read": ""}));
        let text = document.to_string();
        for internal in ["arn:aws", "internal.example.com", "x-fedgate"] {
            assert!(!text.contains(internal), "{internal} leaked: {text}");
        }
    }

    #[test]
    fn a_secured_api_without_key_managers_still_says_bearer() {
        let document = for_callers(&design(), &[], &[]);
        assert_eq!(
            document["paths"]["/items/{id}"]["get"]["security"],
            json!([{"bearer": []}])
        );
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
