//! Key managers: third-party OAuth2 / OIDC identity providers whose tokens callers of the
//! deployed APIs present.

use url::Url;

use super::environment::{Slug, parse_endpoint_url};
use super::validation::{Errors, FieldError};

/// Endpoints learnt from an OIDC discovery document.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Discovery {
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
}

impl Discovery {
    /// A document names its issuer, and must have been fetched from that issuer's own
    /// metadata URL (OpenID Connect Discovery 1.0 §4.3, RFC 8414 §3.3): otherwise any
    /// host could vouch for another's endpoints. A document naming no issuer is checked
    /// no further (the issuer must then be given explicitly).
    pub fn check_issuer(&self, well_known_url: &Url) -> Result<(), String> {
        let Some(issuer) = &self.issuer else {
            return Ok(());
        };
        let urls = Url::parse(issuer)
            .map(|issuer| metadata_urls(&issuer))
            .unwrap_or_default();
        if urls.iter().any(|url| url == well_known_url) {
            return Ok(());
        }
        let expected = urls
            .first()
            .map(|url| format!(", whose metadata is at `{url}`"))
            .unwrap_or_default();
        Err(format!(
            "the discovery document names the issuer `{issuer}`{expected}, not at \
             `{well_known_url}` (OpenID Connect Discovery §4.3); give the URL under the \
             issuer's own name"
        ))
    }
}

/// Where an issuer's metadata may be: OpenID Connect appends
/// `/.well-known/openid-configuration` to the issuer (without its trailing `/`); RFC 8414
/// inserts `/.well-known/oauth-authorization-server` between host and path, and §5
/// allows the same for `openid-configuration`.
fn metadata_urls(issuer: &Url) -> Vec<Url> {
    if issuer.query().is_some() || issuer.fragment().is_some() || issuer.host().is_none() {
        return Vec::new();
    }
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    ["openid-configuration", "oauth-authorization-server"]
        .iter()
        .flat_map(|suffix| {
            [
                format!("{origin}{path}/.well-known/{suffix}"),
                format!("{origin}/.well-known/{suffix}{path}"),
            ]
        })
        .filter_map(|url| Url::parse(&url).ok())
        .collect()
}

/// Raw fields as a request carries them; what is absent may come from discovery.
#[derive(Debug, Clone, Default)]
pub struct KeyManagerInput<'a> {
    pub name: &'a str,
    pub display_name: Option<&'a str>,
    pub kind: &'a str,
    pub issuer: Option<&'a str>,
    pub jwks_uri: Option<&'a str>,
    pub token_endpoint: Option<&'a str>,
    pub registration_endpoint: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub scopes: &'a [String],
}

#[derive(Debug, Clone)]
pub struct KeyManagerSpec {
    pub name: Slug,
    pub display_name: String,
    pub issuer: Url,
    pub jwks_uri: Url,
    pub token_endpoint: Url,
    pub registration_endpoint: Option<Url>,
    pub audience: Option<String>,
    pub scopes: Vec<String>,
}

impl KeyManagerSpec {
    /// Explicit fields win over discovered ones.
    pub fn parse(
        input: &KeyManagerInput<'_>,
        discovered: &Discovery,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::new();
        let name = errors.check("name", Slug::parse(input.name));
        if input.kind != "oidc" {
            errors.add("type", "must be `oidc`");
        }
        let mut required_url =
            |field: &str, given: Option<&str>, found: &Option<String>| match given
                .or(found.as_deref())
            {
                Some(url) => errors.check(field, parse_endpoint_url(url)),
                None => {
                    errors.add(field, "is required (or give wellKnownUrl to discover it)");
                    None
                }
            };
        let issuer = required_url("issuer", input.issuer, &discovered.issuer);
        let jwks_uri = required_url("jwksUri", input.jwks_uri, &discovered.jwks_uri);
        let token_endpoint = required_url(
            "tokenEndpoint",
            input.token_endpoint,
            &discovered.token_endpoint,
        );
        let registration_endpoint = input
            .registration_endpoint
            .or(discovered.registration_endpoint.as_deref())
            .and_then(|url| errors.check("registrationEndpoint", parse_endpoint_url(url)));
        if input.audience.is_some_and(|a| a.trim().is_empty()) {
            errors.add("audience", "must not be blank");
        }
        for (i, scope) in input.scopes.iter().enumerate() {
            if scope.is_empty() || scope.chars().any(char::is_whitespace) {
                errors.add(format!("scopes[{i}]"), "must be a single non-empty word");
            }
        }
        let display_name = input.display_name.unwrap_or(input.name).trim().to_owned();
        errors.finish(|| KeyManagerSpec {
            name: name.expect("checked"),
            display_name,
            issuer: issuer.expect("checked"),
            jwks_uri: jwks_uri.expect("checked"),
            token_endpoint: token_endpoint.expect("checked"),
            registration_endpoint,
            audience: input.audience.map(str::to_owned),
            scopes: input.scopes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_fills_what_is_absent_and_explicit_fields_win() {
        let input = KeyManagerInput {
            name: "auth0",
            kind: "oidc",
            token_endpoint: Some("https://idp.example/custom/token"),
            ..Default::default()
        };
        let discovered = Discovery {
            issuer: Some("https://idp.example/".into()),
            jwks_uri: Some("https://idp.example/.well-known/jwks.json".into()),
            token_endpoint: Some("https://idp.example/oauth/token".into()),
            registration_endpoint: None,
        };
        let spec = KeyManagerSpec::parse(&input, &discovered).unwrap();
        assert_eq!(
            spec.token_endpoint.as_str(),
            "https://idp.example/custom/token"
        );
        assert_eq!(
            spec.jwks_uri.as_str(),
            "https://idp.example/.well-known/jwks.json"
        );
    }

    #[test]
    fn a_discovered_issuer_must_be_where_its_document_was_found() {
        let document = |issuer: &str| Discovery {
            issuer: Some(issuer.into()),
            ..Default::default()
        };
        let url = |s: &str| Url::parse(s).unwrap();
        for (issuer, well_known) in [
            (
                "https://idp.example",
                "https://idp.example/.well-known/openid-configuration",
            ),
            (
                "https://idp.example/",
                "https://idp.example/.well-known/openid-configuration",
            ),
            (
                "https://idp.example/tenant/v2.0",
                "https://idp.example/tenant/v2.0/.well-known/openid-configuration",
            ),
            (
                "https://idp.example/tenant",
                "https://idp.example/.well-known/oauth-authorization-server/tenant",
            ),
            (
                "https://idp.example",
                "https://idp.example/.well-known/oauth-authorization-server",
            ),
            (
                "https://IDP.example:443",
                "https://idp.example/.well-known/openid-configuration",
            ),
        ] {
            assert_eq!(
                document(issuer).check_issuer(&url(well_known)),
                Ok(()),
                "{issuer} at {well_known}"
            );
        }
        for (issuer, well_known) in [
            (
                "http://localhost:8080",
                "http://127.0.0.1:8080/.well-known/openid-configuration",
            ),
            (
                "https://evil.example",
                "https://idp.example/.well-known/openid-configuration",
            ),
            (
                "https://idp.example/other",
                "https://idp.example/tenant/.well-known/openid-configuration",
            ),
            (
                "https://idp.example",
                "https://idp.example/.well-known/jwks.json",
            ),
            (
                "not a url",
                "https://idp.example/.well-known/openid-configuration",
            ),
        ] {
            let error = document(issuer).check_issuer(&url(well_known)).unwrap_err();
            assert!(
                error.contains(issuer) && error.contains(well_known),
                "{error}"
            );
        }
        assert_eq!(
            Discovery::default().check_issuer(&url("https://idp.example/x")),
            Ok(())
        );
    }

    #[test]
    fn missing_endpoints_are_named() {
        let input = KeyManagerInput {
            name: "Bad Name",
            kind: "saml",
            issuer: Some("not a url"),
            ..Default::default()
        };
        let fields: Vec<String> = KeyManagerSpec::parse(&input, &Discovery::default())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["name", "type", "issuer", "jwksUri", "tokenEndpoint"]
        );
    }
}
