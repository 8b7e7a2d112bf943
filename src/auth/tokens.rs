//! Access tokens: HS256 JWTs signed by fedgate, carrying the client and its scopes.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::scope::Scopes;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The OAuth2 client id the token was issued to.
    pub sub: String,
    /// Space-separated scopes, as OAuth2 writes them.
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: String,
    pub scopes: Scopes,
}

pub struct TokenService {
    issuer: String,
    ttl: Duration,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenService {
    pub fn new(signing_key: &[u8], issuer: String, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Expiry is exact: a token is refused the second it expires.
        validation.leeway = 0;
        Self {
            issuer,
            ttl,
            encoding: EncodingKey::from_secret(signing_key),
            decoding: DecodingKey::from_secret(signing_key),
            validation,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, client_id: &str, scopes: &Scopes) -> String {
        self.issue_at(client_id, scopes, chrono::Utc::now().timestamp())
    }

    /// Issues as if at `now` (seconds since the epoch); tests use it to make expired tokens.
    pub fn issue_at(&self, client_id: &str, scopes: &Scopes, now: i64) -> String {
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client_id.to_owned(),
            scope: scopes.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let scopes =
            Scopes::parse_space_separated(&data.claims.scope).map_err(|_| TokenError::Invalid)?;
        Ok(Principal {
            client_id: data.claims.sub,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(&[7u8; 32], "fedgate".into(), Duration::from_secs(60))
    }

    #[test]
    fn issue_and_verify() {
        let scopes = Scopes::parse_space_separated("admin publisher").unwrap();
        let token = service().issue("ci", &scopes);
        let principal = service().verify(&token).unwrap();
        assert_eq!(principal.client_id, "ci");
        assert_eq!(principal.scopes, scopes);
    }

    #[test]
    fn expired_wrong_key_and_wrong_issuer_are_refused() {
        let scopes = Scopes::all();
        let old = service().issue_at("ci", &scopes, chrono::Utc::now().timestamp() - 120);
        assert_eq!(service().verify(&old), Err(TokenError::Expired));
        let other_key = TokenService::new(&[8u8; 32], "fedgate".into(), Duration::from_secs(60));
        assert_eq!(
            other_key.verify(&service().issue("ci", &scopes)),
            Err(TokenError::Invalid)
        );
        let other_issuer = TokenService::new(&[7u8; 32], "other".into(), Duration::from_secs(60));
        assert_eq!(
            service().verify(&other_issuer.issue("ci", &scopes)),
            Err(TokenError::Invalid)
        );
        assert_eq!(service().verify("garbage"), Err(TokenError::Invalid));
    }
}
