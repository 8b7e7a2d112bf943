//! `/devportal/v1/applications`: a developer's applications. Each belongs to the subject
//! of the token that created it; another developer's application answers 404, as if it
//! did not exist.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::application::ApplicationSpec;
use crate::domain::ids::ApplicationId;
use crate::http::AppState;
use crate::http::auth::{Authenticated, DevportalScope};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned_response};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::service::applications as service;
use crate::store::applications::ApplicationRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_application, list_applications))
        .routes(routes!(
            get_application,
            replace_application,
            delete_application
        ))
}

/// An application as written; read-only response fields may be sent back and are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // the read-only echoes are accepted and ignored
pub struct ApplicationBody {
    /// 1–100 characters, unique among the developer's applications.
    name: String,
    description: Option<String>,
    #[schema(read_only, value_type = Option<Object>)]
    id: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    owner: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    created_at: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    updated_at: Option<serde_json::Value>,
}

impl ApplicationBody {
    fn parse(&self) -> Result<ApplicationSpec, ApiError> {
        ApplicationSpec::parse(&self.name, self.description.as_deref())
            .map_err(ApiError::Validation)
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    id: ApplicationId,
    name: String,
    description: String,
    /// Who it belongs to, immutably: the API client's record id (not its reusable client
    /// id), or `{issuer}#{sub}` of a key-manager user.
    owner: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ApplicationRow> for Application {
    fn from(row: ApplicationRow) -> Self {
        Application {
            id: row.id,
            name: row.name,
            description: row.description,
            owner: row.owner,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn respond(status: StatusCode, row: ApplicationRow) -> Response {
    let location =
        (status == StatusCode::CREATED).then(|| format!("/devportal/v1/applications/{}", row.id));
    versioned_response(status, row.version, location, Application::from(row))
}

/// Create an application
#[utoipa::path(post, path = "/applications", tag = "devportal", security(("bearer" = ["devportal"])),
    request_body = ApplicationBody,
    responses(
        (status = 201, description = "Created", body = Application,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You have an application of that name", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_application(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidJson(body): ValidJson<ApplicationBody>,
) -> Result<Response, ApiError> {
    let spec = body.parse()?;
    let row = service::create(&state, &caller.actor, &spec).await?;
    Ok(respond(StatusCode::CREATED, row))
}

/// List your applications
#[utoipa::path(get, path = "/applications", tag = "devportal", security(("bearer" = ["devportal"])),
    params(PageQuery),
    responses((status = 200, description = "One page of your applications", body = Page<Application>)))]
async fn list_applications(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> Result<Json<Page<Application>>, ApiError> {
    let limit = page.limit()?;
    let rows = service::list(&state, &caller.actor, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        Application::from,
    )))
}

/// Get one of your applications
#[utoipa::path(get, path = "/applications/{id}", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The application", body = Application),
        (status = 404, description = "You have no such application", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_application(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApplicationId>,
) -> Result<Response, ApiError> {
    let row = service::find(&state, &caller.actor, id).await?;
    Ok(respond(StatusCode::OK, row))
}

/// Replace one of your applications
#[utoipa::path(put, path = "/applications/{id}", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    request_body = ApplicationBody,
    responses(
        (status = 200, description = "Replaced", body = Application),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You have an application of that name", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_application(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApplicationId>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<ApplicationBody>,
) -> Result<Response, ApiError> {
    let spec = body.parse()?;
    let row = service::replace(&state, &caller.actor, id, &spec, &if_match.0).await?;
    Ok(respond(StatusCode::OK, row))
}

/// Delete one of your applications with its keys
///
/// The clients at the key managers are not deleted there.
#[utoipa::path(delete, path = "/applications/{id}", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "You have no such application", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_application(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApplicationId>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    service::delete(&state, &caller.actor, id, &if_match.0).await?;
    Ok(StatusCode::NO_CONTENT)
}
