//! Every way a console request fails, answered as a redirect or a page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::{Chrome, ErrorPage, render};
use super::session::clear_cookie;
use crate::service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session cookie: the sign-in page.
    #[error("not signed in")]
    SignedOut,
    /// The session expired or its client's credential was revoked: back to sign-in, saying so.
    #[error("the session has ended")]
    SessionEnded,
    /// Signed in, but not allowed (a scope it lacks, a missing or wrong CSRF token).
    #[error("{detail}")]
    Forbidden {
        chrome: Option<Box<Chrome>>,
        detail: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("the page could not be rendered: {0}")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl ConsoleError {
    pub fn forbidden(chrome: Option<Chrome>, detail: impl Into<String>) -> Self {
        ConsoleError::Forbidden {
            chrome: chrome.map(Box::new),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, detail, chrome) = match self {
            ConsoleError::SignedOut => return Redirect::to("/console/").into_response(),
            ConsoleError::SessionEnded => {
                let mut response = Redirect::to("/console/?expired=1").into_response();
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, clear_cookie());
                return response;
            }
            ConsoleError::Forbidden { chrome, detail } => {
                (StatusCode::FORBIDDEN, "Not allowed", detail, chrome)
            }
            ConsoleError::BadRequest(detail) => {
                (StatusCode::BAD_REQUEST, "Bad request", detail, None)
            }
            ConsoleError::Service(ServiceError::NotFound(what)) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("No such {what}."),
                None,
            ),
            ConsoleError::Service(ServiceError::DatabaseUnreachable(error)) => {
                tracing::warn!(%error, "the database is unreachable");
                let mut response = page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "The database cannot be reached right now; try again shortly.".into(),
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(2));
                return response;
            }
            error => {
                tracing::error!(error = ?error, "a console page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An internal error occurred.".into(),
                    None,
                )
            }
        };
        page(status, title, detail, chrome)
    }
}

fn page(
    status: StatusCode,
    title: &'static str,
    detail: String,
    chrome: Option<Box<Chrome>>,
) -> Response {
    let page = ErrorPage {
        chrome: chrome.map(|c| *c),
        title,
        detail,
    };
    match render(&page) {
        Ok(html) => (status, html).into_response(),
        Err(error) => {
            tracing::error!(%error, "the error page could not be rendered");
            (status, title).into_response()
        }
    }
}
