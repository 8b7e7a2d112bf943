//! Optimistic concurrency: mutable resources carry `ETag: "<version>"`; an update may send
//! `If-Match`, and a stale one is answered 412 instead of losing someone's change.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;
use crate::service::Precondition;

/// A response of a versioned resource: its body, its `ETag`, and a `Location` when created.
pub fn versioned_response(
    status: StatusCode,
    version: i64,
    location: Option<String>,
    body: impl Serialize,
) -> Response {
    let mut response = (status, [etag_header(version)], Json(body)).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

pub fn etag_header(version: i64) -> (HeaderName, HeaderValue) {
    (
        header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header"),
    )
}

/// The versions an `If-Match` header accepts; any when absent or `*`.
pub struct IfMatch(pub Precondition);

impl IfMatch {
    /// 412 unless the header is absent or names `current`.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        self.0.check(current).map_err(ApiError::from)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(Precondition::any()));
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::BadRequest("If-Match is not valid text".into()))?;
        if value.trim() == "*" {
            return Ok(IfMatch(Precondition::any()));
        }
        let versions = value
            .split(',')
            .map(|tag| {
                let tag = tag.trim().trim_start_matches("W/").trim_matches('"');
                tag.parse::<i64>()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                ApiError::BadRequest("If-Match must carry an ETag this server issued".into())
            })?;
        Ok(IfMatch(Precondition::one_of(versions)))
    }
}
