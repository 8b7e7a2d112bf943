//! The security a document declares — schemes (`components.securitySchemes`, Swagger
//! 2.0 `securityDefinitions`) and the requirements naming them. A requirement naming a
//! scheme of a registered key manager becomes a managed policy; the rest fedgate does
//! not carry over, and an import says so instead of dropping it silently.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::api::ApiDesign;
use crate::domain::api::draft::{PolicyDraft, PolicyParametersDraft};
use crate::domain::api::policy::{AWS_OAUTH2, Policy, parse_policies};
use crate::domain::validation::{Errors, FieldError};

/// Where the document's own `security` is.
const DOCUMENT_SECURITY: &str = "document.security";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum SchemeType {
    #[serde(rename = "apiKey")]
    ApiKey,
    #[serde(rename = "http")]
    Http,
    /// Swagger 2.0's HTTP basic authentication.
    #[serde(rename = "basic")]
    Basic,
    #[serde(rename = "oauth2")]
    OAuth2,
    #[serde(rename = "openIdConnect")]
    OpenIdConnect,
    #[serde(rename = "mutualTLS")]
    MutualTls,
}

impl SchemeType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "apiKey" => SchemeType::ApiKey,
            "http" => SchemeType::Http,
            "basic" => SchemeType::Basic,
            "oauth2" => SchemeType::OAuth2,
            "openIdConnect" => SchemeType::OpenIdConnect,
            "mutualTLS" => SchemeType::MutualTls,
            _ => return None,
        })
    }
}

/// A security scheme the document declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeclaredScheme {
    pub name: String,
    #[serde(rename = "type")]
    pub scheme_type: SchemeType,
    /// The registered key manager whose issuer or token URL the scheme names; a managed
    /// authorizer can be built on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_manager: Option<String>,
    /// Where the document declares it.
    pub field: String,
    /// Its token, authorization and OpenID Connect discovery URLs.
    #[serde(skip)]
    pub urls: Vec<String>,
}

/// The schemes of the document, in its order.
pub fn declared_schemes(doc: &Map<String, Value>) -> Vec<DeclaredScheme> {
    let (schemes, at) = match doc.get("securityDefinitions") {
        Some(definitions) => (Some(definitions), "document.securityDefinitions"),
        None => (
            doc.get("components").and_then(|c| c.get("securitySchemes")),
            "document.components.securitySchemes",
        ),
    };
    let Some(schemes) = schemes.and_then(Value::as_object) else {
        return Vec::new();
    };
    schemes
        .iter()
        .filter_map(|(name, scheme)| {
            let scheme_type = SchemeType::parse(scheme.get("type")?.as_str()?)?;
            let mut urls = Vec::new();
            let mut url = |value: Option<&Value>| {
                if let Some(u) = value.and_then(Value::as_str) {
                    urls.push(u.to_owned());
                }
            };
            // 2.0 puts the URLs on the scheme, 3.x on each flow.
            for key in ["tokenUrl", "authorizationUrl", "openIdConnectUrl"] {
                url(scheme.get(key));
            }
            for flow in scheme
                .get("flows")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|f| f.values())
            {
                url(flow.get("tokenUrl"));
                url(flow.get("authorizationUrl"));
            }
            Some(DeclaredScheme {
                name: name.clone(),
                scheme_type,
                key_manager: None,
                field: format!("{at}.{name}"),
                urls,
            })
        })
        .collect()
}

/// The scheme names a `security` requirement list uses (an empty requirement, `{}`,
/// makes security optional and names none).
pub fn required_schemes(security: Option<&Value>, into: &mut Vec<String>) {
    let requirements = security.and_then(Value::as_array).into_iter().flatten();
    for name in requirements
        .filter_map(Value::as_object)
        .flat_map(Map::keys)
    {
        if !into.contains(name) {
            into.push(name.clone());
        }
    }
}

/// A `security` requirement list: alternatives, any one of which suffices, each the
/// schemes required together with the scopes each needs. No alternative, or an empty
/// one (`{}`), lets a caller in without credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements(pub Vec<Vec<(String, Vec<String>)>>);

impl Requirements {
    /// The requirements of a `security` field; `None` when there is none.
    pub fn read(security: Option<&Value>) -> Option<Self> {
        let scopes = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let alternatives = security?.as_array()?.iter().filter_map(Value::as_object);
        Some(Self(
            alternatives
                .map(|all| {
                    all.iter()
                        .map(|(name, s)| (name.clone(), scopes(s)))
                        .collect()
                })
                .collect(),
        ))
    }
}

/// The security requirements of a document: its own, and each operation's, one per
/// resource of the draft in its order.
#[derive(Debug, Clone, Default)]
pub struct DocumentSecurity {
    pub top: Option<Requirements>,
    pub operations: Vec<OperationSecurity>,
    /// Every scheme a requirement names, in the document's order.
    pub required: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct OperationSecurity {
    /// Where the document has the operation (`document.paths./pets.get`).
    pub at: String,
    /// Its own `security`, which replaces the document's.
    pub requirements: Option<Requirements>,
}

/// Secures `design` as the document's requirements say where they name a scheme matched
/// to a key manager (`DeclaredScheme::key_manager`): a managed policy with the
/// requirement's scopes, for the API when the document's own requirement names one and
/// every operation is secured, otherwise per resource. A policy the design already has
/// (the document's `x-fedgate`, or the API's own on an update) wins. Warns of every
/// requirement left out.
pub fn secure_with_key_managers(
    security: &DocumentSecurity,
    schemes: &[DeclaredScheme],
    design: &mut ApiDesign,
    warnings: &mut Vec<FieldError>,
) {
    let matched: Vec<(&str, &str)> = schemes
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.key_manager.as_deref()?)))
        .collect();
    let unmatched: Vec<String> = security
        .required
        .iter()
        .filter(|name| !matched.iter().any(|(m, _)| m == name))
        .cloned()
        .collect();
    warnings.extend(unsecured_warning(&unmatched, schemes));
    if matched.is_empty() {
        return;
    }
    let top = security
        .top
        .as_ref()
        .and_then(|r| managed_policy(r, &matched, DOCUMENT_SECURITY, warnings));
    // Per operation: `None` inherits the document's; `Some(None)` is secured by nothing
    // fedgate manages (`security: []`, or schemes of no registered key manager).
    let own: Vec<Option<Option<Policy>>> = security
        .operations
        .iter()
        .map(|op| {
            let at = format!("{}.security", op.at);
            op.requirements
                .as_ref()
                .map(|r| managed_policy(r, &matched, &at, warnings))
        })
        .collect();
    let exempt: Vec<&str> = security
        .operations
        .iter()
        .zip(&own)
        .filter(|(_, own)| matches!(own, Some(None)))
        .map(|(op, _)| op.at.as_str())
        .collect();
    // An operation without a policy cannot sit under an API-level one: fedgate has no
    // "unsecured" to override it with.
    let api_covers_inherited = match &top {
        Some(policy) if exempt.is_empty() || !design.policies.is_empty() => {
            place(&mut design.policies, policy, DOCUMENT_SECURITY, warnings);
            true
        }
        Some(_) => {
            warnings.push(FieldError::new(
                DOCUMENT_SECURITY,
                format!(
                    "{} {} no security fedgate manages, which cannot be expressed under an \
                     API-level policy: the managed policy is attached to each resource \
                     that inherits this requirement instead",
                    few(&exempt),
                    if exempt.len() == 1 {
                        "requires"
                    } else {
                        "require"
                    },
                ),
            ));
            false
        }
        None => true,
    };
    for ((resource, op), own) in design
        .resources
        .iter_mut()
        .zip(&security.operations)
        .zip(own)
    {
        let wanted = match own {
            Some(own) => own,
            None if api_covers_inherited => None,
            None => top.clone(),
        };
        if let Some(policy) = wanted {
            place(&mut resource.policies, &policy, &op.at, warnings);
        }
    }
}

/// The managed policy of the first alternative naming a matched scheme (its first such
/// scheme, with its scopes), warning of the alternatives and schemes it leaves out.
fn managed_policy(
    requirements: &Requirements,
    matched: &[(&str, &str)],
    at: &str,
    warnings: &mut Vec<FieldError>,
) -> Option<Policy> {
    let key_manager = |scheme: &str| {
        matched
            .iter()
            .find(|(name, _)| *name == scheme)
            .map(|(_, km)| *km)
    };
    let (index, scheme, scopes, km) =
        requirements
            .0
            .iter()
            .enumerate()
            .find_map(|(i, alternative)| {
                alternative.iter().find_map(|(scheme, scopes)| {
                    key_manager(scheme).map(|km| (i, scheme, scopes, km))
                })
            })?;
    let mut dropped: Vec<String> = requirements.0[index]
        .iter()
        .filter(|(other, _)| other != scheme)
        .map(|(other, _)| format!("`{other}` (required with it)"))
        .collect();
    for (i, alternative) in requirements.0.iter().enumerate() {
        if i == index {
            continue;
        }
        let names: Vec<String> = alternative.iter().map(|(n, _)| format!("`{n}`")).collect();
        dropped.push(if names.is_empty() {
            "the alternative of no security (`{}`)".to_owned()
        } else {
            format!("the alternative {}", names.join(" with "))
        });
    }
    if !dropped.is_empty() {
        warnings.push(FieldError::new(
            at,
            format!(
                "secured by the fedgate-managed authorizer of key manager `{km}` (scheme \
                 `{scheme}`) alone, which leaves out {}",
                dropped.join(", ")
            ),
        ));
    }
    let draft = PolicyDraft {
        policy_type: Some(AWS_OAUTH2.to_owned()),
        parameters: PolicyParametersDraft {
            key_manager: Some(km.to_owned()),
            scopes: Some(scopes.clone()),
            ..Default::default()
        },
    };
    let mut errors = Errors::new();
    let policy = parse_policies(&[draft], "policies", &mut errors);
    match errors.finish(|| policy) {
        Ok(policy) => policy.into_iter().next(),
        Err(errors) => {
            let reasons: Vec<String> = errors.into_iter().map(|e| e.reason).collect();
            warnings.push(FieldError::new(
                at,
                format!(
                    "names scopes of `{scheme}` fedgate cannot check ({}), so it is not \
                     secured by key manager `{km}`",
                    reasons.join("; ")
                ),
            ));
            None
        }
    }
}

/// Gives `slot` (a level's policies) `policy` unless it has one already, which wins.
fn place(slot: &mut Vec<Policy>, policy: &Policy, at: &str, warnings: &mut Vec<FieldError>) {
    match slot.first() {
        None => slot.push(policy.clone()),
        Some(held) if held == policy => {}
        Some(_) => {
            let km = policy.managed().map_or("", |m| m.key_manager.as_str());
            warnings.push(FieldError::new(
                at,
                format!(
                    "keeps the policy it has (the document's `x-fedgate` one, or the \
                     API's own on an update) rather than the fedgate-managed authorizer \
                     of key manager `{km}` its security names"
                ),
            ));
        }
    }
}

/// `a`, `b`, `c` and 2 more.
fn few(items: &[&str]) -> String {
    const SHOWN: usize = 3;
    let named: Vec<String> = items.iter().take(SHOWN).map(|i| format!("`{i}`")).collect();
    match items.len().saturating_sub(SHOWN) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

/// The warning an import gives when the document's operations require security.
pub fn unsecured_warning(required: &[String], schemes: &[DeclaredScheme]) -> Option<FieldError> {
    if required.is_empty() {
        return None;
    }
    let names: Vec<String> = required.iter().map(|n| format!("`{n}`")).collect();
    let field = schemes
        .first()
        .map(|s| {
            s.field
                .rsplit_once('.')
                .map_or(s.field.as_str(), |(at, _)| at)
        })
        .unwrap_or("document.security")
        .to_owned();
    Some(FieldError::new(
        field,
        format!(
            "the document secures its operations with {}, which fedgate does not carry \
             over: what they alone secure deploys unsecured until a policy is attached",
            names.join(", ")
        ),
    ))
}

/// Whether `url` names the key manager of this issuer or token endpoint: the token
/// endpoint itself, or any URL under the issuer (its discovery document, its
/// authorization endpoint).
pub fn names_key_manager(url: &str, issuer: &str, token_endpoint: &str) -> bool {
    let trim = |u: &str| u.trim_end_matches('/').to_owned();
    let (url, issuer) = (trim(url), trim(issuer));
    url == trim(token_endpoint)
        || url == issuer
        || url
            .strip_prefix(&issuer)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemes_of_both_flavours() {
        let v3 = json!({"components": {"securitySchemes": {
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://idp.example.com/.well-known/openid-configuration"},
            "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://idp.example.com/token"}}},
            "odd": {"type": "magic"}}}});
        let schemes = declared_schemes(v3.as_object().unwrap());
        assert_eq!(schemes.len(), 2);
        assert_eq!(schemes[0].scheme_type, SchemeType::OpenIdConnect);
        assert_eq!(schemes[1].urls, ["https://idp.example.com/token"]);
        assert_eq!(schemes[1].field, "document.components.securitySchemes.cc");
        let v2 = json!({"securityDefinitions": {"auth": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t.example.com/token"}, "b": {"type": "basic"}}});
        let schemes = declared_schemes(v2.as_object().unwrap());
        assert_eq!(schemes[0].urls, ["https://t.example.com/token"]);
        assert_eq!(schemes[1].scheme_type, SchemeType::Basic);
        assert_eq!(
            serde_json::to_value(&schemes[1]).unwrap(),
            json!({"name": "b", "type": "basic", "field": "document.securityDefinitions.b"})
        );
    }

    #[test]
    fn requirements_and_the_warning() {
        let mut required = Vec::new();
        required_schemes(
            Some(&json!([{}, {"a": []}, {"b": ["x"], "a": []}])),
            &mut required,
        );
        assert_eq!(required, ["a", "b"]);
        let warning = unsecured_warning(&required, &[]).unwrap();
        assert_eq!(warning.field, "document.security");
        assert!(warning.reason.contains("`a`, `b`"), "{}", warning.reason);
        assert!(unsecured_warning(&[], &[]).is_none());
    }

    #[test]
    fn requirements_keep_alternatives_and_scopes() {
        assert_eq!(Requirements::read(None), None);
        assert_eq!(
            Requirements::read(Some(&json!([]))),
            Some(Requirements(vec![]))
        );
        let read = Requirements::read(Some(&json!([{}, {"a": ["x", "y"], "b": []}]))).unwrap();
        assert_eq!(
            read.0,
            [
                vec![],
                vec![
                    ("a".to_owned(), vec!["x".to_owned(), "y".to_owned()]),
                    ("b".to_owned(), vec![])
                ]
            ]
        );
    }

    #[test]
    fn key_managers_by_issuer_or_token_url() {
        let (issuer, token) = ("http://localhost:8081/", "http://localhost:8081/token");
        assert!(names_key_manager(
            "http://localhost:8081/token",
            issuer,
            token
        ));
        assert!(names_key_manager(
            "http://localhost:8081/.well-known/openid-configuration",
            issuer,
            token
        ));
        assert!(!names_key_manager(
            "http://localhost:80812/token",
            issuer,
            token
        ));
        assert!(!names_key_manager(
            "https://other.example.com/token",
            issuer,
            token
        ));
    }
}
