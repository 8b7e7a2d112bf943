//! `GET /admin/v1/deployments`: every deployment across APIs, filtered.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::deployment::{DeploymentStatus, DriftState};
use crate::domain::ids::ApiId;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::ApiError;
use crate::http::extract::ValidQuery;
use crate::http::pagination::{Page, PageQuery};
use crate::http::publisher::Deployment;
use crate::service::{deployments, environments};
use crate::store::deployments::DeploymentFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_all_deployments))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentQuery {
    api_id: Option<ApiId>,
    /// Environment name or id.
    environment: Option<String>,
    status: Option<DeploymentStatus>,
    /// What the last drift check found: `inSync`, `drifted` or `missing`.
    drift: Option<DriftState>,
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
    let environment = match &query.environment {
        Some(key) => Some(environments::find(&state, key).await?.id),
        None => None,
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let filter = DeploymentFilter {
        api: query.api_id,
        environment,
        status: query.status,
        drift: query.drift,
        live: false,
    };
    let rows = deployments::list(&state, &filter, page.after()?, limit + 1).await?;
    let max_attempts = state.config.deploy_max_attempts;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| Deployment::new(r, max_attempts),
    )))
}
