//! `POST /publisher/v1/apis/import` and `GET /publisher/v1/apis/{id}/openapi`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::apis::{CreatedApi, insert};
use super::views::Api;
use crate::domain::ids::ApiId;
use crate::domain::openapi::{self, Overrides};
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath};
use crate::service::apis;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_api))
        .routes(routes!(export_api))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportApi {
    /// An OpenAPI 3.0/3.1 or Swagger 2.0 document: a JSON object, or JSON or YAML text.
    #[schema(value_type = Object)]
    document: Value,
    /// Instead of `info.title`.
    name: Option<String>,
    /// Instead of `info.version`.
    version: Option<String>,
    /// Instead of `x-fedgate.context`, or a slug of the title.
    context: Option<String>,
    /// Instead of `servers[0].url` (3.x) or `schemes`/`host`/`basePath` (2.0).
    endpoint_url: Option<String>,
    gateway_type: Option<String>,
}

/// Create an API from an OpenAPI or Swagger document
#[utoipa::path(post, path = "/apis/import", tag = "publisher", security(("bearer" = ["publisher"])),
    request_body = ImportApi,
    responses(
        (status = 201, description = "Created", body = Api,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "The document is broken (named by where, e.g. `document.paths./pets.get`) or the API it describes is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An API with this name and version, or this context and version, exists (the problem names it)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn import_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidJson(body): ValidJson<ImportApi>,
) -> Result<CreatedApi, ApiError> {
    let overrides = Overrides {
        name: body.name,
        version: body.version,
        context: body.context,
        endpoint_url: body.endpoint_url,
        gateway_type: body.gateway_type,
    };
    let design = openapi::import(&body.document, overrides)
        .map_err(|error| ApiError::Validation(vec![error]))?
        .into_design()
        .map_err(ApiError::Validation)?;
    insert(&state, &caller.actor, &design).await
}

/// The API's current design as an OpenAPI 3.0 document
///
/// Context, CORS, key managers and policies travel in `x-fedgate` extensions, so the
/// document imports back to the same API.
#[utoipa::path(get, path = "/apis/{id}/openapi", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "An OpenAPI 3.0 document", body = Object),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export_api(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
) -> Result<Json<Value>, ApiError> {
    let row = apis::get(&state, id).await?;
    Ok(Json(openapi::export(&row.design)))
}
