//! `/publisher/v1/apis`: create, search, read, replace and delete API designs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::Api;
use crate::domain::api::ApiDesign;
use crate::domain::api::draft::ApiDraft;
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::LifecycleState;
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, etag_header};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::http::patch::MergePatch;
use crate::service::apis::{self as service, Deletion};
use crate::service::{Actor, Precondition};
use crate::store::apis::{ApiFilter, ApiRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api, list_apis))
        .routes(routes!(get_api, replace_api, patch_api, delete_api))
}

/// An API with its `ETag`.
pub type TaggedApi = ([(HeaderName, HeaderValue); 1], Json<Api>);
/// A created API with its `Location` and `ETag`.
pub type CreatedApi = (StatusCode, [(HeaderName, HeaderValue); 2], Json<Api>);

pub fn tagged(row: &ApiRow) -> TaggedApi {
    ([etag_header(row.version)], Json(Api::from(row)))
}

/// Stores a validated new design on behalf of `actor`.
pub async fn insert(
    state: &AppState,
    actor: &Actor,
    design: &ApiDesign,
) -> Result<CreatedApi, ApiError> {
    let row = service::create(state, design, actor).await?;
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location(row.id)),
            etag_header(row.version),
        ],
        Json(Api::from(&row)),
    ))
}

pub(super) fn location(id: ApiId) -> HeaderValue {
    HeaderValue::from_str(&format!("/publisher/v1/apis/{id}")).expect("a path of a uuid is valid")
}

/// Create an API
#[utoipa::path(post, path = "/apis", tag = "publisher", security(("bearer" = ["publisher"])),
    request_body = ApiDraft,
    responses(
        (status = 201, description = "Created", body = Api,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Invalid fields, all of them named", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An API with this name and version, or this context and version, exists (the problem names it)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidJson(draft): ValidJson<ApiDraft>,
) -> Result<CreatedApi, ApiError> {
    let design = ApiDesign::parse(&draft).map_err(ApiError::Validation)?;
    insert(&state, &caller.actor, &design).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApiListQuery {
    /// Part of the name, any case.
    name: Option<String>,
    /// Only APIs in this lifecycle state.
    state: Option<LifecycleState>,
    /// Items per page, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

/// Search APIs by name and state
#[utoipa::path(get, path = "/apis", tag = "publisher", security(("bearer" = ["publisher"])),
    params(ApiListQuery),
    responses((status = 200, description = "One page of APIs", body = Page<Api>)))]
async fn list_apis(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<ApiListQuery>,
) -> Result<Json<Page<Api>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let filter = ApiFilter {
        name: query.name,
        state: query.state,
    };
    let rows = service::list(&state, &filter, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| Api::from(&r),
    )))
}

/// Get an API
#[utoipa::path(get, path = "/apis/{id}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The API", body = Api, headers(("ETag" = String))),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_api(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
) -> Result<TaggedApi, ApiError> {
    Ok(tagged(&service::get(&state, id).await?))
}

/// Replace an API's design
///
/// The whole design is replaced. Read-only fields of a fetched API may be sent back and
/// are ignored. With `If-Match`, the write happens only if the API is unchanged.
#[utoipa::path(put, path = "/apis/{id}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = ApiDraft,
    responses(
        (status = 200, description = "Replaced", body = Api, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields, all of them named", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another API has this name and version, or this context and version (the problem names it), or the API is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The API changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    if_match: IfMatch,
    ValidJson(draft): ValidJson<ApiDraft>,
) -> Result<TaggedApi, ApiError> {
    replace(&state, id, &draft, &if_match.0, &caller.actor).await
}

/// The write of a PUT, and of a PATCH once merged.
async fn replace(
    state: &AppState,
    id: ApiId,
    draft: &ApiDraft,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<TaggedApi, ApiError> {
    let design = ApiDesign::parse(draft).map_err(ApiError::Validation)?;
    let row = service::replace(state, id, &design, precondition, actor).await?;
    Ok(tagged(&row))
}

/// Change some fields of an API's design (JSON merge patch, RFC 7396)
///
/// Only the members the patch names change; `null` removes one, and an array (such as
/// `resources`) is replaced whole. The result is validated and written as a PUT of it
/// would be; a change made meanwhile answers 412.
#[utoipa::path(patch, path = "/apis/{id}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "A JSON merge patch of `ApiDraft`"),
    responses(
        (status = 200, description = "Changed", body = Api, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields of the patched design, all of them named", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another API has this name and version, or this context and version (the problem names it), or the API is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The API changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    if_match: IfMatch,
    patch: MergePatch,
) -> Result<TaggedApi, ApiError> {
    let current = service::get(&state, id).await?;
    let draft: ApiDraft = patch.apply(Api::from(&current), &[])?;
    let precondition = if_match.0.pinned(current.version);
    replace(&state, id, &draft, &precondition, &caller.actor).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteApiQuery {
    /// Undeploy the API from every environment first: answers 202 at once; the API shows
    /// `deleting: true` and is deleted after the last undeploy.
    force: Option<bool>,
}

/// Delete an API with its revisions and history
#[utoipa::path(delete, path = "/apis/{id}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), DeleteApiQuery,
        ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, description = "force=true: undeploying everywhere; the API is deleted after the last undeploy", body = Api),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The API is deployed; the problem names the deployments (use force=true)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The API changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(query): ValidQuery<DeleteApiQuery>,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let force = query.force.unwrap_or(false);
    let deletion = service::delete(&state, id, force, &if_match.0, &caller.actor).await?;
    Ok(match deletion {
        Deletion::Deleted => StatusCode::NO_CONTENT.into_response(),
        Deletion::Started(row) => (StatusCode::ACCEPTED, tagged(&row)).into_response(),
    })
}
