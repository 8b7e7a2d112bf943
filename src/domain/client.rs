//! API clients: the OAuth2 clients that obtain fedgate's own access tokens.

use super::scope::{Scope, Scopes};
use super::validation::{Errors, FieldError};

/// An OAuth2 `client_id`: 3–64 characters of letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientId(String);

impl OAuthClientId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let valid_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !(3..=64).contains(&s.len()) || !valid_chars {
            return Err("must be 3–64 characters of letters, digits, '.', '_' and '-'".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// A random id for clients created without one.
    pub fn generate() -> Self {
        Self(format!("fg_{}", uuid::Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's display name: 1–100 characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 100 {
            return Err("must be 1–100 characters and not blank".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated request to create a client.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: ClientName,
    pub client_id: OAuthClientId,
    pub scopes: Scopes,
}

impl NewClient {
    pub fn parse(
        name: &str,
        client_id: Option<&str>,
        scopes: &[Scope],
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::new();
        let name = errors.check("name", ClientName::parse(name));
        let client_id = match client_id {
            Some(id) => errors.check("clientId", OAuthClientId::parse(id)),
            None => Some(OAuthClientId::generate()),
        };
        let scopes = errors.check(
            "scopes",
            Scopes::from_iter_nonempty(scopes.iter().copied())
                .ok_or_else(|| "must name at least one scope".to_owned()),
        );
        errors.finish(|| NewClient {
            name: name.expect("checked"),
            client_id: client_id.expect("checked"),
            scopes: scopes.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error() {
        let errors = NewClient::parse(" ", Some("a b"), &[]).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "clientId", "scopes"]);
    }

    #[test]
    fn generates_a_client_id_when_absent() {
        let client = NewClient::parse("ci", None, &[Scope::Publisher]).unwrap();
        assert!(client.client_id.as_str().starts_with("fg_"));
        assert!(OAuthClientId::parse(client.client_id.as_str()).is_ok());
    }
}
