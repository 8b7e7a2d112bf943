//! The session cookie and the extractors of console handlers: `ConsoleSession` (signed
//! in), `InArea<R>` (signed in with scope `R`), and `CsrfForm<T>` (a form posted by a
//! signed-in page, carrying its session's CSRF token).

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::ConsoleError;
use super::pages::Chrome;
use crate::http::AppState;
use crate::http::auth::{RequiredScope, request_id};
use crate::http::extract::read_up_to;
use crate::service::Actor;
use crate::service::console::{self as service, SessionError};

pub const SESSION_COOKIE: &str = "fedgate_session";

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// The cookie that opens a session; `Secure` when the browser reached fedgate over https.
pub fn session_cookie(session_id: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={session_id}; HttpOnly; SameSite=Strict; Path=/console; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a base64url id is a valid header value")
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "fedgate_session=; HttpOnly; SameSite=Strict; Path=/console; Max-Age=0",
    )
}

/// Whether the browser's request came over https: the setting, or a proxy saying so
/// (`Secure` only narrows where the cookie goes, so a false claim harms nobody).
pub fn came_over_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.console_secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The session id the browser sent, if any.
pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// A signed-in browser: the actor its changes are audited as (the same principal a token
/// of its client would be), and what its pages need.
pub struct ConsoleSession {
    pub actor: Actor,
    pub session_id: String,
    csrf_token: String,
}

impl ConsoleSession {
    pub fn chrome(&self) -> Chrome {
        Chrome::new(
            self.actor.name(),
            &self.actor.principal.scopes,
            &self.csrf_token,
        )
    }

    /// Refuses a form without this session's CSRF token (compared in constant time).
    pub fn verify_csrf(&self, given: Option<&str>) -> Result<(), ConsoleError> {
        let matches = given
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(self.csrf_token.as_bytes())));
        if matches {
            Ok(())
        } else {
            Err(ConsoleError::forbidden(
                Some(self.chrome()),
                "This form was not sent by a page of your session (its CSRF token is missing \
                 or wrong). Reload the page and try again.",
            ))
        }
    }
}

impl ConsoleSession {
    /// Refuses a session whose scopes lack `R::SCOPE` (a page, or a form posted to one).
    pub fn require<R: RequiredScope>(&self) -> Result<(), ConsoleError> {
        if self.actor.principal.scopes.contains(R::SCOPE) {
            return Ok(());
        }
        Err(ConsoleError::forbidden(
            Some(self.chrome()),
            format!(
                "This page needs the `{}` scope; you signed in with `{}`.",
                R::SCOPE,
                self.actor.principal.scopes
            ),
        ))
    }
}

impl<S> FromRequestParts<S> for ConsoleSession
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let session_id = session_id(&parts.headers).ok_or(ConsoleError::SignedOut)?;
        match service::session(&state, session_id, request_id(parts)).await {
            Ok(session) => Ok(ConsoleSession {
                actor: session.actor,
                session_id: session_id.to_owned(),
                csrf_token: session.csrf_token,
            }),
            Err(SessionError::Ended) => Err(ConsoleError::SessionEnded),
            Err(SessionError::Service(error)) => Err(error.into()),
        }
    }
}

/// A session whose scopes include `R::SCOPE`: the pages of that area.
pub struct InArea<R: RequiredScope> {
    pub session: ConsoleSession,
    _scope: PhantomData<R>,
}

impl<S, R> FromRequestParts<S> for InArea<R>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    R: RequiredScope,
{
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = ConsoleSession::from_request_parts(parts, state).await?;
        session.require::<R>()?;
        Ok(InArea {
            session,
            _scope: PhantomData,
        })
    }
}

/// A form (`application/x-www-form-urlencoded`) posted by a signed-in page: refused
/// unless it carries the session's CSRF token.
pub struct CsrfForm<T> {
    pub session: ConsoleSession,
    pub form: T,
}

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = ConsoleSession::from_request_parts(&mut parts, state).await?;
        let limit = AppState::from_ref(state).config.body_limit_bytes;
        let body = read_up_to(Request::from_parts(parts, body), limit)
            .await
            .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
        let csrf = form_urlencoded::parse(&body)
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.into_owned());
        session.verify_csrf(csrf.as_deref())?;
        let form = serde_urlencoded::from_bytes(&body)
            .map_err(|e| ConsoleError::BadRequest(format!("malformed form: {e}")))?;
        Ok(CsrfForm { session, form })
    }
}
