//! Cross-cutting request handling: metrics per route, sane request ids, no control
//! characters in paths and queries, and problem+json for errors that layers and the
//! router produce with an empty body (405, 408, 413…).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Problem};
use crate::domain::validation::FieldError;

/// Counts requests and records latency by method, route template and status.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_owned();
    // The route template, not the raw path: ids must not explode the label space.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The standard methods by name, any other as `other`: clients choose the method, and
/// every distinct label value is a new series kept for the life of the process.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

pub const REQUEST_ID: &str = "x-request-id";

/// The longest incoming `X-Request-Id` kept.
const MAX_REQUEST_ID: usize = 64;

/// Drops an incoming `X-Request-Id` that is not 1–64 of `A–Z a–z 0–9 . _ : -` (or comes
/// more than once), so that the request-id layer after it generates a UUID: the id is
/// echoed in the response and written to logs and the audit log, where a client must
/// not be able to put text of any size or shape.
pub async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let mut ids = request.headers().get_all(REQUEST_ID).iter();
    let usable = match (ids.next(), ids.next()) {
        (Some(id), None) => is_usable_request_id(id.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !usable {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

fn is_usable_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Refuses a path or query that, percent-decoded, holds a control character (U+0000–U+001F,
/// U+007F–U+009F), with a 400 naming `path` or each offending query parameter. No id,
/// name, filter or cursor contains one; a NUL cannot even be stored, and line breaks
/// would forge lines in logs.
pub async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let errors = control_characters_in(request.uri());
    if !errors.is_empty() {
        return ApiError::Validation(errors).into_response();
    }
    next.run(request).await
}

fn control_characters_in(uri: &Uri) -> Vec<FieldError> {
    const REASON: &str = "must not contain control characters (such as NUL or a line break)";
    let has_control = |s: &str| s.chars().any(char::is_control);
    let mut errors = Vec::new();
    if has_control(&percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy()) {
        errors.push(FieldError::new("path", REASON));
    }
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if has_control(&name) {
            errors.push(FieldError::new(
                "query",
                "a parameter name must not contain control characters",
            ));
        } else if has_control(&value) {
            errors.push(FieldError::new(name.into_owned(), REASON));
        }
    }
    errors
}

/// Gives bodiless error responses a problem+json body.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (parts, _body) = response.into_parts();
    let detail = match status.as_u16() {
        405 => "this method is not allowed on this resource",
        408 => "the request took too long and was cancelled",
        413 => "the request body is too large",
        _ => "the request could not be handled",
    };
    let mut problem = Problem::for_status(status, detail).into_response_with_status();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let (mut new_parts, body) = problem.into_parts();
    new_parts.extensions = parts.extensions;
    Response::from_parts(new_parts, Body::new(body))
}

/// Unknown routes.
pub async fn not_found() -> impl IntoResponse {
    Problem::for_status(
        axum::http::StatusCode::NOT_FOUND,
        "no such resource; see /openapi.json",
    )
    .into_response_with_status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_methods_keep_their_name_as_a_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::TRACE), "TRACE");
        for invented in ["INVENTED", "get", "PROPFIND"] {
            let method = Method::from_bytes(invented.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{invented}");
        }
    }

    fn fields(uri: &str) -> Vec<String> {
        control_characters_in(&uri.parse().unwrap())
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn control_characters_in_paths_and_queries_are_named() {
        assert!(fields("/apis/abc?name=pets%20shop&state=PUBLISHED").is_empty());
        assert!(fields("/apis/%C3%A9t%C3%A9").is_empty());
        assert_eq!(fields("/apis/%00"), ["path"]);
        assert_eq!(fields("/apis/a%0Ab"), ["path"]);
        assert_eq!(fields("/apis/%C2%85"), ["path"]);
        assert_eq!(fields("/apis?name=%00&state=x%7F"), ["name", "state"]);
        assert_eq!(fields("/apis?na%09me=x"), ["query"]);
        assert_eq!(fields("/apis/%01?cursor=%1B"), ["path", "cursor"]);
    }

    #[test]
    fn request_ids_are_short_plain_tokens() {
        for ok in ["a", "0b5f-11ee:trace.span_7", &"x".repeat(64)] {
            assert!(is_usable_request_id(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "new\nline",
            "é",
            "a/b",
            "<x>",
            &"x".repeat(65),
        ] {
            assert!(!is_usable_request_id(bad.as_bytes()), "{bad}");
        }
    }
}
