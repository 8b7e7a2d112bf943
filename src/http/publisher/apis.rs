//! `/publisher/v1/apis`: create, search, read, replace and delete API designs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::deployments::{refuse_if_live, undeploy_everywhere};
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
use crate::store::apis::{self as store, ApiFilter, ApiRow, UpdateOutcome, WriteError};
use crate::store::deployments;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api, list_apis))
        .routes(routes!(get_api, replace_api, delete_api))
}

/// An API with its `ETag`.
pub type TaggedApi = ([(HeaderName, HeaderValue); 1], Json<Api>);
/// A created API with its `Location` and `ETag`.
pub type CreatedApi = (StatusCode, [(HeaderName, HeaderValue); 2], Json<Api>);

pub fn tagged(row: &ApiRow) -> TaggedApi {
    ([etag_header(row.version)], Json(Api::from(row)))
}

/// Stores a validated new design on behalf of `actor`; import creates APIs this way too.
pub async fn insert(
    state: &AppState,
    actor: &str,
    design: &ApiDesign,
) -> Result<CreatedApi, ApiError> {
    let row = store::insert(&state.db, design, actor)
        .await
        .map_err(|e| write_error(e, design))?;
    tracing::info!(api = %row.id, name = design.name.as_str(), "created an API");
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location(row.id)),
            etag_header(row.version),
        ],
        Json(Api::from(&row)),
    ))
}

fn location(id: ApiId) -> HeaderValue {
    HeaderValue::from_str(&format!("/publisher/v1/apis/{id}")).expect("a path of a uuid is valid")
}

fn write_error(error: WriteError, design: &ApiDesign) -> ApiError {
    match error {
        WriteError::DuplicateNameVersion => ApiError::Conflict(format!(
            "an API named `{}` with version `{}` already exists",
            design.name.as_str(),
            design.version.as_str()
        )),
        WriteError::Database(e) => e.into(),
    }
}

/// Create an API
#[utoipa::path(post, path = "/apis", tag = "publisher", security(("bearer" = ["publisher"])),
    request_body = ApiDraft,
    responses(
        (status = 201, description = "Created", body = Api,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Invalid fields, all of them named", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An API with this name and version exists", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidJson(draft): ValidJson<ApiDraft>,
) -> Result<CreatedApi, ApiError> {
    let design = ApiDesign::parse(&draft).map_err(ApiError::Validation)?;
    insert(&state, &caller.principal.client_id, &design).await
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
    let rows = store::list(&state.db, &filter, page.after()?, limit + 1).await?;
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
    let row = store::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("API"))?;
    Ok(tagged(&row))
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
        (status = 409, description = "Another API has this name and version", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The API changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    if_match: IfMatch,
    ValidJson(draft): ValidJson<ApiDraft>,
) -> Result<TaggedApi, ApiError> {
    let design = ApiDesign::parse(&draft).map_err(ApiError::Validation)?;
    let outcome = store::update(
        &state.db,
        id,
        &design,
        |current| if_match.check(current).is_ok(),
        &caller.principal.client_id,
    )
    .await
    .map_err(|e| write_error(e, &design))?;
    match outcome {
        UpdateOutcome::Updated(row) => Ok(tagged(&row)),
        UpdateOutcome::NotFound => Err(ApiError::not_found("API")),
        UpdateOutcome::Stale => Err(ApiError::PreconditionFailed),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteApiQuery {
    /// Undeploy the API from every environment first.
    force: Option<bool>,
}

/// Delete an API with its revisions and history
#[utoipa::path(delete, path = "/apis/{id}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), DeleteApiQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The API is deployed; the problem names the deployments (use force=true)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    ValidQuery(query): ValidQuery<DeleteApiQuery>,
) -> Result<StatusCode, ApiError> {
    if query.force.unwrap_or(false) {
        undeploy_everywhere(&state, id, &caller.principal.client_id).await?;
    } else {
        let deployments = deployments::live(&state.db, Some(id.0), None).await?;
        refuse_if_live(
            &deployments,
            "undeploy the API first, or delete with force=true",
        )?;
    }
    if store::delete(&state.db, id).await? {
        tracing::info!(api = %id, "deleted an API");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API"))
    }
}
