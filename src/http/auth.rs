//! Typed auth extractors: a handler that takes `Authenticated<AdminScope>` cannot run
//! without a valid bearer token carrying the `admin` scope.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::auth::tokens::Principal;
use crate::domain::scope::Scope;
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
