//! The security a document declares — schemes (`components.securitySchemes`, Swagger
//! 2.0 `securityDefinitions`) and the requirements naming them — which fedgate does not
//! carry over: an import says so instead of dropping it silently.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::validation::FieldError;

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
             over: the API deploys unsecured until a policy is attached",
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
