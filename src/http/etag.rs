//! Optimistic concurrency over HTTP: a resource's version is its strong `ETag`
//! (`"3"`), and an optional `If-Match` makes a write conditional on it.

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderName};
use axum::http::request::Parts;

use super::error::ApiError;

/// The `ETag` header of a resource at `version`.
pub fn etag(version: i32) -> (HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The versions an `If-Match` header accepts: `None` when absent or `*` (any), else the
/// listed strong ETags this server issued. Weak or foreign tags never match (RFC 9110
/// compares strongly), so they leave the list empty and the write fails with 412.
pub struct IfMatch(pub Option<Vec<i32>>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::BadRequest("If-Match is not valid text".into()))?;
        let tags: Vec<&str> = value.split(',').map(str::trim).collect();
        if tags.contains(&"*") {
            return Ok(IfMatch(None));
        }
        let versions = tags
            .iter()
            .filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
            .collect();
        Ok(IfMatch(Some(versions)))
    }
}
