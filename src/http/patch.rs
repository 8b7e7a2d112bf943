//! `PATCH` with a JSON merge patch (RFC 7396), one way for every resource: the current
//! resource as GET shows it, merged with the patch, is the body a PUT would have carried,
//! and it goes through that PUT's validation, precondition, write and audit entry. So a
//! patch changes only what it names; write-only secrets, which no GET shows, are kept
//! unless the patch sets them to `null` (removal, refused where the secret is required).

use axum::extract::{FromRef, FromRequest, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::{parse_json, read_body};
use crate::domain::merge_patch;

/// The media type of a merge patch.
pub const MERGE_PATCH_JSON: &str = "application/merge-patch+json";

/// A PATCH body: a JSON object sent as `application/merge-patch+json` (else 415).
pub struct MergePatch(Value);

impl<S> FromRequest<S> for MergePatch
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(
            req,
            state,
            |essence| essence.is_merge_patch(),
            "a PATCH body must be a JSON merge patch (Content-Type: \
             application/merge-patch+json, RFC 7396)",
        )
        .await?;
        let patch: Value = parse_json(&bytes)?;
        if !patch.is_object() {
            return Err(ApiError::BadRequest(
                "a merge patch of a resource must be a JSON object; send a PUT to replace it \
                 whole"
                    .into(),
            ));
        }
        Ok(MergePatch(patch))
    }
}

impl MergePatch {
    /// Whether the patch gives the top-level member `name` a value (not `null`).
    pub fn sets(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|value| !value.is_null())
    }

    /// The PUT body this patch makes of `current` (the resource as GET shows it): the
    /// patch applied, with the `null` it sets at any of the `write_only` paths kept.
    /// Fields are named as on PUT when the result is invalid.
    pub fn apply<T: DeserializeOwned>(
        &self,
        current: impl Serialize,
        write_only: &[&[&str]],
    ) -> Result<T, ApiError> {
        let mut document =
            serde_json::to_value(current).map_err(|e| ApiError::Internal(e.into()))?;
        merge_patch::apply(&mut document, &self.0);
        for path in write_only {
            merge_patch::restore_null(&mut document, &self.0, path);
        }
        let bytes = serde_json::to_vec(&document).map_err(|e| ApiError::Internal(e.into()))?;
        parse_json(&bytes)
    }
}

/// Documents the 415 of every PATCH (all take a merge patch): once, for all of them.
pub fn document_media_type(spec: &mut utoipa::openapi::OpenApi) {
    let unsupported = super::error::problem_response("Not application/merge-patch+json");
    for operation in spec
        .paths
        .paths
        .values_mut()
        .filter_map(|item| item.patch.as_mut())
    {
        operation
            .responses
            .responses
            .insert("415".into(), unsupported.clone().into());
    }
}
