//! Authentication: who a bearer token speaks for, and the client-credentials login that
//! issues fedgate's own tokens. Every front end (the REST API, the console) calls these.
//!
//! A fedgate token names the client's immutable record and its credential generation: it
//! works while that record exists under that generation (rotating the secret bumps it;
//! deleting the client removes the record), and grants only the scopes of the token that
//! the client still has. A developer of a key manager presents that IdP's token, checked
//! against its JWKS, issuer, audience and validity window.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};
use secrecy::SecretString;

use super::audit::{self, Refusal};
use super::{AppState, ServiceError};
use crate::auth::tokens::{Principal, Subject, TokenError, TokenSubject};
use crate::domain::environment::parse_endpoint_url;
use crate::domain::scope::{Scope, Scopes};
use crate::store;

/// Leeway for the clocks of key managers (their `exp` and `nbf`).
const IDP_CLOCK_SKEW_SECS: u64 = 30;

/// Longest client id looked up: longer ones exist nowhere (ids are short names).
const MAX_CLIENT_ID_LEN: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token proves nothing; the reason is safe to tell the caller.
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Service(e.into())
    }
}

/// Who `token` speaks for. A token that is not fedgate's own is tried as a key manager's
/// only when `developers` may call (the developer portal).
pub async fn authenticate(
    state: &AppState,
    token: &str,
    developers: bool,
) -> Result<Principal, AuthError> {
    if developers && !is_fedgate_token(token) {
        developer(state, token).await
    } else {
        client(state, token).await
    }
}

/// fedgate signs its own tokens with HS256; anything else may come from a key manager.
fn is_fedgate_token(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::HS256)
}

async fn client(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    let verified = state.tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => AuthError::Invalid("the access token has expired"),
        TokenError::Invalid => AuthError::Invalid("the access token is invalid"),
    })?;
    let subject = TokenSubject {
        client_id: &verified.client_id,
        record: verified.record,
        generation: verified.generation,
    };
    client_principal(state, &subject, &verified.scopes).await
}

/// The principal a client credential (a token, a console session) still speaks for: the
/// client's record must exist under the same generation (a rotated secret or a deleted
/// client revokes it), and only the `granted` scopes the client still has count.
pub async fn client_principal(
    state: &AppState,
    subject: &TokenSubject<'_>,
    granted: &Scopes,
) -> Result<Principal, AuthError> {
    let client = store::clients::get(&state.db, subject.record)
        .await?
        .filter(|client| client.client_id == subject.client_id)
        .ok_or(AuthError::Invalid(
            "the client of this token no longer exists",
        ))?;
    if client.generation != subject.generation {
        return Err(AuthError::Invalid(
            "the access token was revoked: the client's secret was rotated",
        ));
    }
    let scopes = client
        .scopes()
        .and_then(|current| granted.intersection(&current))
        .ok_or(AuthError::Invalid(
            "the client no longer has any of this token's scopes",
        ))?;
    Ok(Principal {
        subject: Subject::Client {
            record: client.id,
            client_id: client.client_id,
        },
        scopes,
    })
}

/// The claims needed to find who issued a token, read before its signature is checked.
#[derive(serde::Deserialize)]
struct Unverified {
    iss: String,
}

#[derive(serde::Deserialize)]
struct DeveloperClaims {
    iss: String,
    sub: String,
}

/// A developer signed in at a trusted key manager: its RS256 token, checked against that
/// key manager's JWKS, issuer, audience (when it has one), expiry and not-before.
async fn developer(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    const INVALID: AuthError = AuthError::Invalid("the access token is invalid");
    let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
    if header.alg != Algorithm::RS256 {
        return Err(INVALID);
    }
    let payload = token.split('.').nth(1).ok_or(INVALID)?;
    let unverified: Unverified = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(INVALID)?;
    // No key manager has such an issuer; asking the database would only fail on it.
    if unverified.iss.is_empty() || unverified.iss.chars().any(char::is_control) {
        return Err(INVALID);
    }
    for km in store::key_managers::find_by_issuer(&state.db, &unverified.iss).await? {
        let Ok(jwks_uri) = parse_endpoint_url(&km.jwks_uri) else {
            continue;
        };
        let key = match state
            .jwks
            .key(&state.outbound, km.id, &jwks_uri, header.kid.as_deref())
            .await
        {
            Ok(Some(key)) => key,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(key_manager = %km.name, %error, "cannot read the key manager's JWKS");
                continue;
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[unverified.iss.as_str()]);
        validation.leeway = IDP_CLOCK_SKEW_SECS;
        // A token valid only from later is not valid now (jsonwebtoken skips `nbf` unless told).
        validation.validate_nbf = true;
        match &km.audience {
            Some(audience) => {
                // Required too: jsonwebtoken lets a token without `aud` through otherwise.
                validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
                validation.set_audience(&[audience]);
            }
            None => {
                validation.set_required_spec_claims(&["exp", "iss", "sub"]);
                validation.validate_aud = false;
            }
        }
        match jsonwebtoken::decode::<DeveloperClaims>(token, &key, &validation) {
            Ok(data) => {
                let claims = data.claims;
                return Ok(Principal {
                    subject: Subject::Developer {
                        key_manager: km.id,
                        id: format!("{}#{}", claims.iss.trim_end_matches('/'), claims.sub),
                    },
                    scopes: Scopes::from_iter_nonempty([Scope::Devportal]).expect("one scope"),
                });
            }
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    return Err(AuthError::Invalid("the access token has expired"));
                }
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                    return Err(AuthError::Invalid("the access token is not valid yet"));
                }
                _ => continue,
            },
        }
    }
    Err(INVALID)
}

/// A client-credentials login.
pub struct Login<'a> {
    pub client_id: &'a str,
    pub secret: SecretString,
    /// Space-separated subset of the client's scopes; all of them when absent.
    pub scope: Option<&'a str>,
    /// Where the attempt came from: failures are throttled per source.
    pub source: IpAddr,
    pub request_id: Option<String>,
}

pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub scopes: Scopes,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("unknown client or wrong secret")]
    InvalidClient,
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failures from this source (for this client): try again after the wait.
    #[error("too many failed logins from this address; try again in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A client whose secret was checked, with the scopes it asked for.
pub struct VerifiedClient {
    pub client: store::clients::ClientRow,
    pub scopes: Scopes,
}

impl VerifiedClient {
    /// What a credential issued to this client names (see `client_principal`).
    pub fn subject(&self) -> TokenSubject<'_> {
        TokenSubject {
            client_id: &self.client.client_id,
            record: self.client.id,
            generation: self.client.generation,
        }
    }
}

/// Checks a client's secret and issues a token for the scopes asked (all the client's when
/// none are).
pub async fn login(state: &AppState, login: Login<'_>) -> Result<Issued, LoginError> {
    let verified = verify_client(state, login).await?;
    let access_token = state.tokens.issue(&verified.subject(), &verified.scopes);
    tracing::info!(client_id = %verified.client.client_id, scope = %verified.scopes, "issued an access token");
    Ok(Issued {
        access_token,
        expires_in: state.tokens.ttl().as_secs(),
        scopes: verified.scopes,
    })
}

/// Checks a client's secret, for every front end that signs clients in (the token
/// endpoint, the console). Failures are audited with the client id tried and throttled per
/// source address and per client id at that address.
pub async fn verify_client(
    state: &AppState,
    login: Login<'_>,
) -> Result<VerifiedClient, LoginError> {
    if let Some(wait) = state.login_throttle.wait(login.client_id, login.source) {
        metrics::counter!("fedgate_token_throttled_total").increment(1);
        return Err(LoginError::Throttled(wait));
    }
    // An id no client can have is not looked up, but costs the same work as any other.
    let plausible = login.client_id.len() <= MAX_CLIENT_ID_LEN
        && !login.client_id.chars().any(char::is_control);
    let client = if plausible {
        store::clients::find_by_client_id(&state.db, login.client_id)
            .await
            .map_err(ServiceError::from)?
    } else {
        None
    };
    let stored_hash = client.as_ref().map(|c| c.secret_hash.clone());
    let verified = state.hasher.verify(login.secret, stored_hash).await;
    let client = match client {
        Some(client) if verified => client,
        _ => {
            state.login_throttle.failed(login.client_id, login.source);
            record_failed_login(state, login.client_id, login.source, login.request_id).await;
            return Err(LoginError::InvalidClient);
        }
    };
    state
        .login_throttle
        .succeeded(login.client_id, login.source);
    let allowed = client.scopes().ok_or(LoginError::InvalidClient)?;
    let granted = match login.scope.map(str::trim) {
        None | Some("") => allowed,
        Some(requested) => {
            let requested =
                Scopes::parse_space_separated(requested).map_err(LoginError::InvalidScope)?;
            if !requested.is_subset(&allowed) {
                return Err(LoginError::InvalidScope(format!(
                    "this client may request only `{allowed}`"
                )));
            }
            requested
        }
    };
    Ok(VerifiedClient {
        client,
        scopes: granted,
    })
}

async fn record_failed_login(
    state: &AppState,
    client_id: &str,
    source: IpAddr,
    request_id: Option<String>,
) {
    let shown: String = client_id
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT_ID_LEN)
        .collect();
    audit::refused(
        state,
        Refusal {
            actor: "anonymous",
            action: "auth.login".into(),
            target_type: "clients",
            target_id: Some(shown),
            status: None,
            detail: format!("unknown client or wrong secret, from {source}"),
            request_id,
        },
    )
    .await;
}
