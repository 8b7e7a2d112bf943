//! Access tokens: HS256 JWTs signed by fedgate, naming the client's immutable record and
//! the generation of its credentials, so that deleting a client or rotating its secret
//! revokes every token issued before; and the principal a verified token speaks for.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{ClientRecordId, KeyManagerId};
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
    /// The client's immutable record: a client re-created under the same client id is a
    /// different record, and the old tokens do not work for it.
    pub cid: ClientRecordId,
    /// The client's credential generation when the token was issued.
    pub generation: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
}

/// What a token's signature and expiry vouch for; whether the client still exists under
/// that generation, and which of the scopes it still has, is for authentication to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub client_id: String,
    pub record: ClientRecordId,
    pub generation: i64,
    pub scopes: Scopes,
}

/// Who a request speaks for, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A fedgate API client: its immutable record and its (reusable) client id.
    Client {
        record: ClientRecordId,
        client_id: String,
    },
    /// A developer signed in at a key manager, named `{issuer}#{sub}` (fedgate client ids
    /// have neither `:` nor `#`, so the two can never be confused).
    Developer {
        key_manager: KeyManagerId,
        id: String,
    },
    /// Someone with the server's database in hand, running a `fedgate server` command
    /// (`operator:` and the command: never a client id, which has no `:`).
    Operator { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: Subject,
    pub scopes: Scopes,
}

impl Principal {
    /// The name changes are attributed to: the client id, or `{issuer}#{sub}`.
    pub fn name(&self) -> &str {
        match &self.subject {
            Subject::Client { client_id, .. } => client_id,
            Subject::Developer { id, .. } => id,
            Subject::Operator { name } => name,
        }
    }

    /// The key a developer's own data (applications) is filed under: the client's
    /// immutable record, or `{issuer}#{sub}`.
    pub fn owner(&self) -> String {
        match &self.subject {
            Subject::Client { record, .. } => record.to_string(),
            Subject::Developer { id, .. } => id.clone(),
            Subject::Operator { name } => name.clone(),
        }
    }
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

    pub fn issue(&self, client: &TokenSubject<'_>, scopes: &Scopes) -> String {
        self.issue_at(client, scopes, chrono::Utc::now().timestamp())
    }

    /// Issues as if at `now` (seconds since the epoch); tests use it to make expired tokens.
    pub fn issue_at(&self, client: &TokenSubject<'_>, scopes: &Scopes, now: i64) -> String {
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client.client_id.to_owned(),
            scope: scopes.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
            cid: client.record,
            generation: client.generation,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let scopes =
            Scopes::parse_space_separated(&data.claims.scope).map_err(|_| TokenError::Invalid)?;
        Ok(VerifiedToken {
            client_id: data.claims.sub,
            record: data.claims.cid,
            generation: data.claims.generation,
            scopes,
        })
    }
}

/// The client a token is issued to.
#[derive(Debug, Clone, Copy)]
pub struct TokenSubject<'a> {
    pub client_id: &'a str,
    pub record: ClientRecordId,
    pub generation: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(&[7u8; 32], "fedgate".into(), Duration::from_secs(60))
    }

    fn ci() -> TokenSubject<'static> {
        TokenSubject {
            client_id: "ci",
            record: ClientRecordId::new(),
            generation: 3,
        }
    }

    #[test]
    fn issue_and_verify() {
        let scopes = Scopes::parse_space_separated("admin publisher").unwrap();
        let client = ci();
        let token = service().issue(&client, &scopes);
        let verified = service().verify(&token).unwrap();
        assert_eq!(verified.client_id, "ci");
        assert_eq!(verified.record, client.record);
        assert_eq!(verified.generation, 3);
        assert_eq!(verified.scopes, scopes);
    }

    #[test]
    fn expired_wrong_key_and_wrong_issuer_are_refused() {
        let scopes = Scopes::all();
        let old = service().issue_at(&ci(), &scopes, chrono::Utc::now().timestamp() - 120);
        assert_eq!(service().verify(&old), Err(TokenError::Expired));
        let other_key = TokenService::new(&[8u8; 32], "fedgate".into(), Duration::from_secs(60));
        assert_eq!(
            other_key.verify(&service().issue(&ci(), &scopes)),
            Err(TokenError::Invalid)
        );
        let other_issuer = TokenService::new(&[7u8; 32], "other".into(), Duration::from_secs(60));
        assert_eq!(
            service().verify(&other_issuer.issue(&ci(), &scopes)),
            Err(TokenError::Invalid)
        );
        assert_eq!(service().verify("garbage"), Err(TokenError::Invalid));
    }
}
