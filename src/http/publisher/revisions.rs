//! `/publisher/v1/apis/{id}/revisions`: immutable, numbered snapshots of a design.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::DesignView;
use crate::domain::api::check_description;
use crate::domain::ids::{ApiId, RevisionId};
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::service::apis as service;
use crate::store::revisions::RevisionRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_revision, list_revisions))
        .routes(routes!(get_revision, delete_revision))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRevision {
    /// What changed, for the people who deploy it.
    description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    id: RevisionId,
    api_id: ApiId,
    /// 1, 2, 3, … per API; never reused.
    number: i32,
    description: String,
    created_at: DateTime<Utc>,
    created_by: String,
}

/// A revision with the design it froze.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    #[serde(flatten)]
    summary: RevisionSummary,
    design: DesignView,
}

impl From<&RevisionRow> for RevisionSummary {
    fn from(row: &RevisionRow) -> Self {
        RevisionSummary {
            id: row.id,
            api_id: row.api_id,
            number: row.number,
            description: row.description.clone(),
            created_at: row.created_at,
            created_by: row.created_by.clone(),
        }
    }
}

impl From<&RevisionRow> for Revision {
    fn from(row: &RevisionRow) -> Self {
        Revision {
            summary: row.into(),
            design: DesignView::from(&row.design.0),
        }
    }
}

/// Snapshot the API's current design as a new revision
#[utoipa::path(post, path = "/apis/{id}/revisions", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid)),
    request_body = CreateRevision,
    responses(
        (status = 201, description = "Created", body = Revision, headers(("Location" = String))),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The API keeps the most revisions allowed; delete one first", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_revision(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(api_id): ValidPath<ApiId>,
    ValidJson(body): ValidJson<CreateRevision>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<Revision>), ApiError> {
    let description = check_description(body.description.as_deref())
        .map_err(|reason| ApiError::field("description", reason))?;
    let row = service::create_revision(&state, api_id, &description, &caller.actor).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/publisher/v1/apis/{api_id}/revisions/{}", row.id),
        )],
        Json(Revision::from(&row)),
    ))
}

/// List an API's revisions, oldest first
#[utoipa::path(get, path = "/apis/{id}/revisions", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), PageQuery),
    responses(
        (status = 200, description = "One page of revisions", body = Page<RevisionSummary>),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_revisions(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(api_id): ValidPath<ApiId>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> Result<Json<Page<RevisionSummary>>, ApiError> {
    let limit = page.limit()?;
    let rows = service::revisions(&state, api_id, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| RevisionSummary::from(&r),
    )))
}

/// Get a revision with its frozen design
#[utoipa::path(get, path = "/apis/{id}/revisions/{revisionId}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("revisionId" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The revision", body = Revision),
        (status = 404, description = "No such API or revision", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_revision(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((api_id, id)): ValidPath<(ApiId, RevisionId)>,
) -> Result<Json<Revision>, ApiError> {
    let row = service::revision(&state, api_id, id).await?;
    Ok(Json(Revision::from(&row)))
}

/// Delete a revision that is not deployed
#[utoipa::path(delete, path = "/apis/{id}/revisions/{revisionId}", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid), ("revisionId" = String, Path, format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such API or revision", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The revision is deployed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_revision(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath((api_id, id)): ValidPath<(ApiId, RevisionId)>,
) -> Result<StatusCode, ApiError> {
    service::delete_revision(&state, api_id, id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
