//! The OpenAPI 3.0 document a caller of a deployed API gets from the developer portal:
//! the servers are the invocation URLs, the secured operations name an OAuth2
//! client-credentials scheme per key manager whose tokens they take (with the scopes a
//! managed policy requires), and nothing internal (backend URL, Lambda or role ARNs,
//! `x-fedgate`) appears.

use std::collections::{BTreeMap, BTreeSet};

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

/// The security scheme named when an operation is secured by no known key manager.
const BEARER: &str = "bearer";

pub fn for_callers(
    design: &ApiDesign,
    servers: &[Server<'_>],
    issuers: &[TokenIssuer<'_>],
) -> Value {
    let issuer = |name: &str| issuers.iter().find(|i| i.name == name);
    // The publisher's own authorizer: any listed key manager's token may do.
    let listed: Vec<&TokenIssuer<'_>> = issuers
        .iter()
        .filter(|i| design.lists_key_manager(i.name))
        .collect();
    // Each scheme named, with the scopes operations require of it.
    let mut named: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut paths = Map::new();
    for resource in &design.resources {
        let mut operation = plain_operation(resource);
        if let Some(policy) = design.effective_policy(resource).policy {
            let requirements: Vec<(&str, Vec<&str>)> = match policy.managed() {
                // A managed authorizer takes its key manager's tokens only.
                Some(managed) => match issuer(&managed.key_manager) {
                    Some(issuer) => vec![(
                        issuer.name,
                        managed.scopes.iter().map(String::as_str).collect(),
                    )],
                    None => vec![(BEARER, vec![])],
                },
                None if listed.is_empty() => vec![(BEARER, vec![])],
                None => listed.iter().map(|i| (i.name, vec![])).collect(),
            };
            for (scheme, scopes) in &requirements {
                named
                    .entry(scheme)
                    .or_default()
                    .extend(scopes.iter().map(|s| (*s).to_owned()));
            }
            let security: Vec<Value> = requirements
                .into_iter()
                .map(|(scheme, scopes)| json!({scheme: scopes}))
                .collect();
            operation.insert("security".into(), Value::Array(security));
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
    if !named.is_empty() {
        document["components"] = json!({"securitySchemes": security_schemes(&named, issuer)});
    }
    document
}

/// The schemes operations name: a key manager's, whose `tokenUrl` is its token endpoint
/// and whose scopes are its own and those operations require; or plain bearer.
fn security_schemes<'a>(
    named: &BTreeMap<&str, BTreeSet<String>>,
    issuer: impl Fn(&str) -> Option<&'a TokenIssuer<'a>>,
) -> Value {
    let schemes: Map<String, Value> = named
        .iter()
        .map(|(name, required)| {
            let scheme = match issuer(name) {
                Some(issuer) => {
                    let scopes: Map<String, Value> = issuer
                        .scopes
                        .iter()
                        .map(String::as_str)
                        .chain(required.iter().map(String::as_str))
                        .map(|s| (s.to_owned(), json!("")))
                        .collect();
                    json!({"type": "oauth2", "flows": {"clientCredentials": {
                        "tokenUrl": issuer.token_url, "scopes": scopes}}})
                }
                None => json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
            };
            ((*name).to_owned(), scheme)
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
    fn managed_operations_name_their_key_manager_and_scopes() {
        let managed = |km: &str, scopes: &[&str]| json!({"type": "awsOAuth2", "parameters": {"keyManager": km, "scopes": scopes}});
        let draft: ApiDraft = serde_json::from_value(json!({
            "name": "Shop", "version": "1", "context": "/shop",
            "endpointUrl": "https://internal.example.com/api",
            "keyManagers": ["auth0"],
            "resources": [
                {"method": "GET", "path": "/a", "policies": [managed("okta", &["pets:read"])]},
                {"method": "GET", "path": "/b", "policies": [{"type": "awsOAuth2", "parameters": {
                    "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:own",
                    "invokeRoleArn": "arn:aws:iam::123456789012:role/invoke"}}]},
                {"method": "GET", "path": "/c", "policies": [managed("gone", &[])]},
                {"method": "GET", "path": "/open"},
            ]
        }))
        .unwrap();
        let design = ApiDesign::parse(&draft).unwrap();
        let (auth0_scopes, okta_scopes) = (vec!["read".to_owned()], vec!["openid".to_owned()]);
        let issuers = [
            TokenIssuer {
                name: "auth0",
                token_url: "https://auth0.example/oauth/token",
                scopes: &auth0_scopes,
            },
            TokenIssuer {
                name: "okta",
                token_url: "https://okta.example/token",
                scopes: &okta_scopes,
            },
        ];
        let document = for_callers(&design, &[], &issuers);
        let security = |path: &str| document["paths"][path]["get"]["security"].clone();
        assert_eq!(security("/a"), json!([{"okta": ["pets:read"]}]));
        // The publisher's own authorizer: the key managers the API lists.
        assert_eq!(security("/b"), json!([{"auth0": []}]));
        // A key manager fedgate does not know: a bearer token, no token URL to guess.
        assert_eq!(security("/c"), json!([{"bearer": []}]));
        assert_eq!(security("/open"), Value::Null);
        let schemes = &document["components"]["securitySchemes"];
        let okta = &schemes["okta"]["flows"]["clientCredentials"];
        assert_eq!(okta["tokenUrl"], "https://okta.example/token");
        assert_eq!(okta["scopes"], json!({"openid": "", "pets:read": ""}));
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(
            schemes.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["auth0", "bearer", "okta"]
        );
        assert!(!document.to_string().contains("arn:aws"));
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
