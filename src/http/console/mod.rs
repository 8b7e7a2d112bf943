//! The web console at `/console/`: server-rendered pages (askama templates, checked at
//! compile time) over the same service functions as the REST API. Its own CSS and a few
//! lines of JavaScript are compiled into the binary: nothing is loaded from another host.
//! These routes are not part of the OpenAPI document.

mod admin;
mod environments;
mod error;
mod pages;
mod publisher;
mod session;
mod sign_in;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::AppState;

pub use error::ConsoleError;
pub use session::{ConsoleSession, CsrfForm, InArea, SESSION_COOKIE};

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// Only fedgate's own assets, no inline script or style, no framing.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/console/", get(sign_in::home))
        .route("/console/sign-in", post(sign_in::sign_in))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/admin/environments", get(admin::environments))
        .route(
            "/console/admin/environments/new",
            get(environments::new_form).post(environments::create),
        )
        .route(
            "/console/admin/environments/{name}/edit",
            get(environments::edit_form).post(environments::update),
        )
        .route(
            "/console/admin/environments/{name}/check",
            post(environments::check),
        )
        .route("/console/publisher/apis", get(publisher::apis))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/console.js", get(script))
        .layer(axum::middleware::map_response(security_headers));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .merge(pages)
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show a session's data: never cached. Assets set their own.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Assets change only with the binary; an hour keeps them fresh enough after an upgrade.
const ASSET_CACHE: &str = "public, max-age=3600";

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHE),
        ],
        STYLESHEET,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHE),
        ],
        SCRIPT,
    )
}
