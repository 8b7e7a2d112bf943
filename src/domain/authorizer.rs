//! The Lambda TOKEN authorizer fedgate ships for APIs secured by a key manager alone
//! (`authorizer/index.mjs`; what it checks and answers is in the README), and its
//! deployment package: that file and the `config.json` it reads beside it, zipped the
//! same way every time. The same configuration gives the same bytes, so the same
//! `CodeSha256`: that is how a deploy knows the function needs no update.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::api::path::PathTemplate;
use super::api::{ApiDesign, HttpMethod};
use super::aws::StageName;
use super::zip::stored_zip;

/// The function's code: a single ES module on Node.js built-ins (runtime nodejs20.x or
/// later), so fedgate packages it itself, with no toolchain and no download.
pub const SOURCE: &str = include_str!("../../authorizer/index.mjs");
/// The handler Lambda calls: `handler`, exported by `index.mjs`.
pub const HANDLER: &str = "index.handler";
/// The clock difference `exp` and `nbf` tolerate, as fedgate's own check of key-manager
/// tokens does.
pub const DEFAULT_CLOCK_SKEW_SECS: u32 = 30;

/// `config.json`: one function per key manager and environment, serving every REST API
/// there whose policy names that key manager.
///
/// ```json
/// {"issuer": "https://idp.example.com", "jwksUri": "https://idp.example.com/jwks",
///  "audience": null, "clockSkewSecs": 30,
///  "apis": {"a1b2c3": {"stage": "prod", "methods": [
///    {"method": "GET", "path": "/pets/{id}", "scopes": ["pets:read"]}]}}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerConfig {
    /// The key manager's issuer, compared with `iss` without a trailing `/`.
    pub issuer: String,
    pub jwks_uri: Url,
    /// Must be among `aud` when set.
    pub audience: Option<String>,
    pub clock_skew_secs: u32,
    /// By REST API id. An API (or stage) missing here is denied as a whole.
    pub apis: BTreeMap<String, ApiScopes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiScopes {
    pub stage: String,
    /// One per method and path, sorted by path then method.
    pub methods: Vec<MethodScopes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodScopes {
    pub method: HttpMethod,
    pub path: PathTemplate,
    /// The token needs all of them; none: any valid token may call.
    pub scopes: BTreeSet<String>,
}

impl AuthorizerConfig {
    pub fn new(issuer: &str, jwks_uri: &Url, audience: Option<&str>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            jwks_uri: jwks_uri.clone(),
            audience: audience.map(str::to_owned),
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
            apis: BTreeMap::new(),
        }
    }

    /// Sets a REST API's stage and methods, replacing any it had. A method listed twice
    /// needs the scopes of both listings.
    pub fn with_api(
        mut self,
        rest_api_id: &str,
        stage: &StageName,
        methods: impl IntoIterator<Item = MethodScopes>,
    ) -> Self {
        let mut merged: BTreeMap<(String, &'static str), MethodScopes> = BTreeMap::new();
        for method in methods {
            let key = (method.path.as_str().to_owned(), method.method.as_str());
            match merged.get_mut(&key) {
                Some(known) => known.scopes.extend(method.scopes),
                None => {
                    merged.insert(key, method);
                }
            }
        }
        let api = ApiScopes {
            stage: stage.as_str().to_owned(),
            methods: merged.into_values().collect(),
        };
        self.apis.insert(rest_api_id.to_owned(), api);
        self
    }
}

/// The deployment package: `index.mjs` and `config.json`, in that order.
/// The methods each key manager's authorizer guards in `design`, with the scopes each
/// needs, by key manager name: every resource whose effective policy is a managed one.
pub fn method_scopes(design: &ApiDesign) -> BTreeMap<String, Vec<MethodScopes>> {
    let mut by_key_manager: BTreeMap<String, Vec<MethodScopes>> = BTreeMap::new();
    for resource in &design.resources {
        let effective = design.effective_policy(resource);
        if let Some(managed) = effective.policy.as_ref().and_then(|p| p.managed()) {
            by_key_manager
                .entry(managed.key_manager.clone())
                .or_default()
                .push(MethodScopes {
                    method: resource.method,
                    path: resource.path.clone(),
                    scopes: managed.scopes.clone(),
                });
        }
    }
    by_key_manager
}

/// The first field of `design` naming the key manager `name` in a managed policy.
pub fn key_manager_field(design: &ApiDesign, name: &str) -> Option<String> {
    let names = |policies: &[crate::domain::api::policy::Policy]| {
        policies
            .iter()
            .position(|p| p.managed().is_some_and(|m| m.key_manager == name))
    };
    if let Some(i) = names(&design.policies) {
        return Some(format!("policies[{i}].parameters.keyManager"));
    }
    design
        .resources
        .iter()
        .enumerate()
        .find_map(|(r, resource)| {
            names(&resource.policies)
                .map(|i| format!("resources[{r}].policies[{i}].parameters.keyManager"))
        })
}

pub fn bundle(config: &AuthorizerConfig) -> Vec<u8> {
    let json = serde_json::to_vec_pretty(config).expect("a config serializes");
    stored_zip(&[("index.mjs", SOURCE.as_bytes()), ("config.json", &json)])
}

/// What Lambda reports as a function's `CodeSha256`: the package's SHA-256, in base64.
pub fn code_sha256(package: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(package))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::zip::read_stored_zip;

    fn method(method: &str, path: &str, scopes: &[&str]) -> MethodScopes {
        MethodScopes {
            method: HttpMethod::parse(method).unwrap(),
            path: PathTemplate::parse(path).unwrap(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn config(methods: Vec<MethodScopes>) -> AuthorizerConfig {
        let jwks = Url::parse("https://idp.example.com/jwks").unwrap();
        AuthorizerConfig::new("https://idp.example.com", &jwks, Some("pets")).with_api(
            "a1b2c3",
            &StageName::parse("prod").unwrap(),
            methods,
        )
    }

    fn pets() -> Vec<MethodScopes> {
        vec![
            method("POST", "/pets", &["pets:write"]),
            method("GET", "/pets/{id}", &["pets:read"]),
            method("GET", "/pets", &[]),
            method("ANY", "/files/{proxy+}", &["files", "admin"]),
        ]
    }

    #[test]
    fn method_scopes_follow_the_effective_policy() {
        let managed = |km: &str, scopes: &[&str]| serde_json::json!({"type": "awsOAuth2", "parameters": {"keyManager": km, "scopes": scopes}});
        let draft: crate::domain::api::draft::ApiDraft = serde_json::from_value(json!({
            "name": "Petstore", "version": "1", "context": "/pets",
            "endpointUrl": "https://backend.example.com",
            "policies": [managed("okta", &["pets:read"])],
            "resources": [
                {"method": "GET", "path": "/pets"},
                {"method": "POST", "path": "/pets", "policies": [managed("okta", &["pets:write"])]},
                {"method": "GET", "path": "/admin", "policies": [managed("corp", &[])]}
            ]
        }))
        .unwrap();
        let design = ApiDesign::parse(&draft).unwrap();
        let scopes = method_scopes(&design);
        assert_eq!(scopes.keys().collect::<Vec<_>>(), ["corp", "okta"]);
        assert_eq!(
            scopes["okta"],
            vec![
                method("GET", "/pets", &["pets:read"]),
                method("POST", "/pets", &["pets:write"])
            ]
        );
        assert_eq!(scopes["corp"], vec![method("GET", "/admin", &[])]);
        assert_eq!(
            key_manager_field(&design, "okta").as_deref(),
            Some("policies[0].parameters.keyManager")
        );
        assert_eq!(
            key_manager_field(&design, "corp").as_deref(),
            Some("resources[2].policies[0].parameters.keyManager")
        );
        assert_eq!(key_manager_field(&design, "other"), None);
    }

    #[test]
    fn config_json_is_the_shape_index_mjs_reads() {
        let zip = bundle(&config(pets()));
        let files = read_stored_zip(&zip).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(
            json,
            json!({
                "issuer": "https://idp.example.com",
                "jwksUri": "https://idp.example.com/jwks",
                "audience": "pets",
                "clockSkewSecs": 30,
                "apis": {"a1b2c3": {"stage": "prod", "methods": [
                    {"method": "ANY", "path": "/files/{proxy+}", "scopes": ["admin", "files"]},
                    {"method": "GET", "path": "/pets", "scopes": []},
                    {"method": "POST", "path": "/pets", "scopes": ["pets:write"]},
                    {"method": "GET", "path": "/pets/{id}", "scopes": ["pets:read"]},
                ]}},
            })
        );
    }

    #[test]
    fn the_package_holds_index_mjs_and_config_json_only() {
        let config = config(pets());
        let files = read_stored_zip(&bundle(&config)).unwrap();
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["index.mjs", "config.json"]);
        assert_eq!(files[0].1, SOURCE.as_bytes());
        assert!(
            SOURCE.contains("export const handler"),
            "{HANDLER} is exported"
        );
        let read: AuthorizerConfig = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(read, config);
    }

    #[test]
    fn the_same_config_gives_the_same_bytes_whatever_the_order_of_its_methods() {
        let mut reversed = pets();
        reversed.reverse();
        let package = bundle(&config(pets()));
        assert_eq!(package, bundle(&config(reversed)));
        assert_eq!(code_sha256(&package), code_sha256(&bundle(&config(pets()))));
    }

    #[test]
    fn another_scope_gives_another_package() {
        let mut more = pets();
        more[0].scopes.insert("pets:admin".into());
        assert_ne!(
            code_sha256(&bundle(&config(pets()))),
            code_sha256(&bundle(&config(more)))
        );
    }

    #[test]
    fn a_method_listed_twice_needs_both_listings_scopes() {
        let twice = config(vec![
            method("GET", "/pets", &["a"]),
            method("get", "/pets", &["b"]),
        ]);
        assert_eq!(
            twice.apis["a1b2c3"].methods,
            [method("GET", "/pets", &["a", "b"])]
        );
    }

    #[test]
    fn code_sha256_is_base64_of_the_digest() {
        // SHA-256 of nothing, as Lambda would print it.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
