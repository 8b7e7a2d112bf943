//! Typed auth extractors: a handler that takes `Authenticated<AdminScope>` cannot run
//! without a valid bearer token carrying the `admin` scope.
//!
//! The developer portal also accepts users of external IdPs: an RS256 token whose issuer
//! is a registered key manager and whose signature its JWKS verifies is a `devportal`
//! principal (and nothing more), identified as `{issuer}#{sub}` so that it can never be
//! mistaken for a fedgate client, whose ids have neither `:` nor `#`.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};

use super::AppState;
use super::error::ApiError;
use crate::auth::tokens::Principal;
use crate::domain::environment::parse_endpoint_url;
use crate::domain::scope::{Scope, Scopes};
use crate::store;

/// Names the scope an extractor demands.
pub trait RequiredScope: Send + Sync + 'static {
    const SCOPE: Scope;
}

pub struct AdminScope;
impl RequiredScope for AdminScope {
    const SCOPE: Scope = Scope::Admin;
}

pub struct PublisherScope;
impl RequiredScope for PublisherScope {
    const SCOPE: Scope = Scope::Publisher;
}

pub struct DevportalScope;
impl RequiredScope for DevportalScope {
    const SCOPE: Scope = Scope::Devportal;
}

/// A caller whose token is valid and carries `R::SCOPE`.
pub struct Authenticated<R: RequiredScope> {
    pub principal: Principal,
    _scope: PhantomData<R>,
}

impl<S, R> FromRequestParts<S> for Authenticated<R>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    R: RequiredScope,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer_token(parts)?;
        let principal = if R::SCOPE == Scope::Devportal && !is_fedgate_token(token) {
            external_principal(&state, token).await?
        } else {
            fedgate_principal(&state, token).await?
        };
        if !principal.scopes.contains(R::SCOPE) {
            return Err(ApiError::Forbidden(format!(
                "this operation needs the `{}` scope; the token has `{}`",
                R::SCOPE,
                principal.scopes
            )));
        }
        Ok(Self {
            principal,
            _scope: PhantomData,
        })
    }
}

async fn fedgate_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let principal = state
        .tokens
        .verify(token)
        .map_err(|e| invalid_token(&e.to_string()))?;
    // A deleted client's tokens stop working at once, not when they expire.
    if store::clients::find_by_client_id(&state.db, &principal.client_id)
        .await?
        .is_none()
    {
        return Err(invalid_token("the client of this token no longer exists"));
    }
    Ok(principal)
}

/// fedgate signs its own tokens with HS256; anything else may come from a key manager.
fn is_fedgate_token(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::HS256)
}

/// The claims needed to find who issued a token, read before its signature is checked.
#[derive(serde::Deserialize)]
struct Unverified {
    iss: String,
}

#[derive(serde::Deserialize)]
struct ExternalClaims {
    iss: String,
    sub: String,
}

/// A developer signed in at a trusted key manager: its RS256 token, checked against that
/// key manager's JWKS, issuer and (when it has one) audience.
async fn external_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let invalid = || invalid_token("the access token is invalid");
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header.alg != Algorithm::RS256 {
        return Err(invalid());
    }
    let payload = token.split('.').nth(1).ok_or_else(invalid)?;
    let unverified: Unverified = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid)?;
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
        match jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation) {
            Ok(data) => {
                let claims = data.claims;
                return Ok(Principal {
                    client_id: format!("{}#{}", claims.iss.trim_end_matches('/'), claims.sub),
                    scopes: Scopes::from_iter_nonempty([Scope::Devportal]).expect("one scope"),
                });
            }
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                return Err(invalid_token("the access token has expired"));
            }
            Err(_) => continue,
        }
    }
    Err(invalid())
}

fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || ApiError::Unauthorized {
        detail: "an access token is required (Authorization: Bearer <token>)".into(),
        challenge: "Bearer realm=\"fedgate\"".into(),
    };
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

fn invalid_token(detail: &str) -> ApiError {
    ApiError::Unauthorized {
        detail: detail.to_owned(),
        challenge: format!(
            "Bearer realm=\"fedgate\", error=\"invalid_token\", error_description=\"{detail}\""
        ),
    }
}
