//! Optimistic concurrency: mutable resources carry `ETag: "<version>"`; a change may send
//! `If-Match`, and a stale one is answered 412 instead of losing someone's change. With
//! `require_if_match`, a PUT, PATCH or DELETE of such a resource without `If-Match` is
//! answered 428.

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
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

/// The versions an `If-Match` header accepts; any when absent or `*`. Extracted by the
/// handlers of resources with an `ETag`, whose PUT, PATCH and DELETE need the header when
/// `require_if_match` is set.
pub struct IfMatch(pub Precondition);

impl IfMatch {
    /// 412 unless the header is absent or names `current`.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        self.0.check(current).map_err(ApiError::from)
    }
}

/// The methods that change or delete a resource, and need `If-Match` when it is required.
fn needs_if_match(method: &Method) -> bool {
    [Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

impl<S> FromRequestParts<S> for IfMatch
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            if AppState::from_ref(state).config.require_if_match && needs_if_match(&parts.method) {
                return Err(ApiError::PreconditionRequired);
            }
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

/// Documents the 428 of `require_if_match` on every PUT, PATCH and DELETE that takes
/// `If-Match`, as the extractor answers it: once, for all of them.
pub fn document_if_match_required(spec: &mut utoipa::openapi::OpenApi) {
    let required = super::error::problem_response(
        "`require_if_match` is set and the request has no If-Match header (RFC 6585)",
    );
    for item in spec.paths.paths.values_mut() {
        for operation in [&mut item.put, &mut item.patch, &mut item.delete]
            .into_iter()
            .flatten()
        {
            let takes_if_match = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| p.name.eq_ignore_ascii_case("If-Match"));
            if takes_if_match {
                operation
                    .responses
                    .responses
                    .insert("428".into(), required.clone().into());
            }
        }
    }
}
