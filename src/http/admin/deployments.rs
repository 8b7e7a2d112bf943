//! `GET /admin/v1/deployments`: every deployment across APIs, filtered.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::environments::find as find_environment;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::ApiError;
use crate::http::extract::ValidQuery;
use crate::http::pagination::{Page, PageQuery};
use crate::http::publisher::Deployment;
use crate::store::deployments as store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_all_deployments))
}

const STATUSES: [&str; 6] = [
    "pending",
    "deploying",
    "deployed",
    "failed",
    "undeploying",
    "undeployed",
];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentQuery {
    api_id: Option<Uuid>,
    /// Environment name or id.
    environment: Option<String>,
    /// pending, deploying, deployed, failed, undeploying or undeployed.
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Deployments across APIs
#[utoipa::path(get, path = "/deployments", tag = "admin", security(("bearer" = ["admin"])),
    params(DeploymentQuery),
    responses((status = 200, description = "One page of deployments", body = Page<Deployment>)))]
async fn list_all_deployments(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<DeploymentQuery>,
) -> Result<Json<Page<Deployment>>, ApiError> {
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::field(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ));
    }
    let environment = match &query.environment {
        Some(key) => Some(find_environment(&state, key).await?.id.0),
        None => None,
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let rows = store::list(
        &state.db,
        query.api_id,
        environment,
        query.status.as_deref(),
        page.after()?,
        limit + 1,
    )
    .await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        Deployment::from,
    )))
}
