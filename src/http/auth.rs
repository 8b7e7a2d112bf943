//! Typed auth extractors: a handler that takes `Authenticated<AdminScope>` cannot run
//! without a valid bearer token carrying the `admin` scope. Who the token speaks for is
//! `service::auth`'s to decide; this layer reads the header, answers 401/403 and records
//! each refusal in the audit log (bounded per source address).
//!
//! The developer portal also accepts users of key managers (external IdPs): their token
//! makes a `devportal` principal and nothing more.

use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, MatchedPath};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::auth::throttle::source_address;
use crate::domain::scope::Scope;
use crate::service::Actor;
use crate::service::audit::{self, Refusal};
use crate::service::auth::{self as service, AuthError};

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

/// A caller whose token is valid and carries `R::SCOPE`: the actor services audit.
pub struct Authenticated<R: RequiredScope> {
    pub actor: Actor,
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
        let token = match bearer_token(parts) {
            Ok(token) => token,
            Err(refusal) => return Err(refuse(&state, parts, "anonymous", refusal).await),
        };
        let principal =
            match service::authenticate(&state, token, R::SCOPE == Scope::Devportal).await {
                Ok(principal) => principal,
                Err(AuthError::Invalid(reason)) => {
                    return Err(refuse(&state, parts, "anonymous", invalid_token(reason)).await);
                }
                Err(AuthError::Service(error)) => return Err(error.into()),
            };
        if !principal.scopes.contains(R::SCOPE) {
            let refusal = ApiError::Forbidden(format!(
                "this operation needs the `{}` scope; the token has `{}`",
                R::SCOPE,
                principal.scopes
            ));
            return Err(refuse(&state, parts, principal.name(), refusal).await);
        }
        Ok(Self {
            actor: Actor {
                principal,
                request_id: request_id(parts),
            },
            _scope: PhantomData,
        })
    }
}

/// The `X-Request-Id` of the request (set by the request-id layer when the caller sent
/// none), for the audit log.
pub fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The address the request came from: the peer, or what trusted proxies say it was.
pub fn source(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    source_address(peer, &forwarded, &state.trusted_proxies)
}

/// Records a refused request in the audit log — unless its source has already been
/// refused more than the limit in this window, then it is only counted — and returns the
/// refusal to answer.
async fn refuse(state: &AppState, parts: &Parts, actor: &str, refusal: ApiError) -> ApiError {
    let source = source(parts, state);
    if state.refusals.wait("", source).is_some() {
        metrics::counter!("fedgate_audit_refusals_suppressed_total").increment(1);
        return refusal;
    }
    state.refusals.failed("", source);
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let status = refusal.status();
    audit::refused(
        state,
        Refusal {
            actor,
            action: format!("{} {route}", parts.method),
            target_type: route.split('/').nth(3).unwrap_or("unknown"),
            target_id: None,
            status: Some(status.as_u16()),
            detail: format!("{refusal}, from {source}"),
            request_id: request_id(parts),
        },
    )
    .await;
    refusal
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
