//! The console's home, sign-in and sign-out.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::pages::{HomePage, SignInPage, render};
use super::session::{CsrfForm, came_over_https, clear_cookie, session_cookie};
use super::{ConsoleError, ConsoleSession};
use crate::http::AppState;
use crate::http::auth::{request_id, source};
use crate::http::extract::read_up_to;
use crate::service::auth::{Login, LoginError};
use crate::service::console as service;

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    expired: Option<String>,
}

/// The home page of the session's areas, or the sign-in form.
pub async fn home(
    session: Result<ConsoleSession, ConsoleError>,
    Query(query): Query<HomeQuery>,
) -> Result<Response, ConsoleError> {
    match session {
        Ok(session) => Ok(render(&HomePage {
            chrome: Some(session.chrome()),
        })?
        .into_response()),
        Err(ConsoleError::SignedOut) => Ok(render(&SignInPage {
            expired: query.expired.is_some(),
            ..blank_sign_in()
        })?
        .into_response()),
        Err(error) => Err(error),
    }
}

fn blank_sign_in() -> SignInPage {
    SignInPage {
        chrome: None,
        client_id: String::new(),
        error: None,
        client_id_missing: false,
        secret_missing: false,
        expired: false,
    }
}

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

/// Checks the client's id and secret as `/auth/token` does (throttled alike) and opens a
/// session. A cross-site form cannot post here: the Origin must be this host's.
pub async fn sign_in(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ConsoleError> {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts.headers) {
        return Err(ConsoleError::forbidden(
            None,
            "The sign-in form was sent from another site.",
        ));
    }
    let source = source(&parts, &state);
    let request_id = request_id(&parts);
    let https = came_over_https(&state, &parts.headers);
    let body = read_up_to(
        Request::from_parts(parts, body),
        state.config.body_limit_bytes,
    )
    .await
    .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let form: SignInForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let client_id = form.client_id.trim().to_owned();
    if client_id.is_empty() || form.client_secret.is_empty() {
        let page = SignInPage {
            client_id_missing: client_id.is_empty(),
            secret_missing: form.client_secret.is_empty(),
            client_id,
            ..blank_sign_in()
        };
        return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
    }
    let login = Login {
        client_id: &client_id,
        secret: SecretString::from(form.client_secret),
        scope: None,
        source,
        request_id,
    };
    let refused = |status: StatusCode, error: &LoginError| -> Result<Response, ConsoleError> {
        let page = SignInPage {
            client_id: client_id.clone(),
            error: Some(capitalised(&error.to_string())),
            ..blank_sign_in()
        };
        Ok((status, render(&page)?).into_response())
    };
    match service::sign_in(&state, login).await {
        Ok(opened) => {
            let cookie = session_cookie(&opened.session_id, opened.expires_in.as_secs(), https);
            let mut response = Redirect::to("/console/").into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        // Which of the two was wrong is not said: the service's message names neither.
        Err(error @ (LoginError::InvalidClient | LoginError::InvalidScope(_))) => {
            refused(StatusCode::UNAUTHORIZED, &error)
        }
        Err(error @ LoginError::Throttled(wait)) => {
            let mut response = refused(StatusCode::TOO_MANY_REQUESTS, &error)?;
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
            Ok(response)
        }
        Err(LoginError::Service(error)) => Err(error.into()),
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>() + "."
    })
}

/// True unless an `Origin` header names another host than the one the request was sent
/// to (browsers send it on every POST; tools that send none are not a cross-site threat).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        });
    matches!((origin_host, host), (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host))
}

/// Sign-out is a change too: it needs the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn sign_out(
    State(state): State<AppState>,
    CsrfForm { session, .. }: CsrfForm<NoFields>,
) -> Result<Response, ConsoleError> {
    service::sign_out(&state, &session.session_id).await?;
    let mut response = Redirect::to("/console/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn sign_in_refuses_another_sites_origin() {
        assert!(same_origin(&headers(None, "fedgate:8080")));
        assert!(same_origin(&headers(
            Some("http://fedgate:8080"),
            "fedgate:8080"
        )));
        assert!(same_origin(&headers(Some("https://fedgate"), "fedgate")));
        assert!(!same_origin(&headers(
            Some("https://evil.example"),
            "fedgate:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "fedgate:8080")));
    }
}
