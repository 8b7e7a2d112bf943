//! `GET /admin/v1/environments/{id}/rest-apis`: every REST API of the environment's account
//! and region, with its stages and whether fedgate manages it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::ApiId;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery, cursor};
use crate::service::discovery::{self as service, Listed, PagePosition};

/// REST APIs per page by default, and at most: each one costs a GetStages call.
const DEFAULT_LIMIT: i64 = 25;
const MAX_LIMIT: i64 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_rest_apis))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RestApiListQuery {
    /// REST APIs per page, 1–100 (default 25); each costs AWS one GetStages call.
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestApi {
    /// The REST API's id (`restApiId`).
    id: String,
    name: String,
    description: Option<String>,
    created_date: Option<DateTime<Utc>>,
    /// Every stage, by name.
    stages: Vec<RestApiStage>,
    /// Tagged `fedgate:api`: a fedgate deployment made or adopted it.
    managed: bool,
    /// The fedgate API the tag names, when it exists in this fedgate.
    fedgate_api: Option<FedgateApi>,
    /// Tagged `fedgate:environment` with this environment's id.
    in_this_environment: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestApiStage {
    name: String,
    /// The deployment the stage serves.
    deployment_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FedgateApi {
    id: ApiId,
    name: String,
}

impl From<Listed> for RestApi {
    fn from(listed: Listed) -> Self {
        let api = listed.api;
        RestApi {
            id: api.id,
            name: api.name,
            description: api.description,
            created_date: api.created_date,
            stages: api
                .stages
                .into_iter()
                .map(|s| RestApiStage {
                    name: s.name,
                    deployment_id: s.deployment_id,
                })
                .collect(),
            managed: listed.managed,
            fedgate_api: listed.fedgate_api.map(|(id, name)| FedgateApi { id, name }),
            in_this_environment: listed.in_this_environment,
        }
    }
}

/// List the REST APIs of the environment's account and region
///
/// Every REST API, fedgate's or not, each with all its stages, page by page: one AWS page
/// of GetRestApis per page and a GetStages per REST API on it. `managed` tells whether it
/// carries fedgate's ownership tags, `fedgateApi` which API of this fedgate they name.
#[utoipa::path(get, path = "/environments/{id}/rest-apis", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Id or name"), RestApiListQuery),
    responses(
        (status = 200, description = "One page of REST APIs", body = Page<RestApi>),
        (status = 400, description = "A bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "AWS refused or failed a call (the problem says which, and why)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_rest_apis(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(key): ValidPath<String>,
    ValidQuery(query): ValidQuery<RestApiListQuery>,
) -> Result<Json<Page<RestApi>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit_within(DEFAULT_LIMIT, MAX_LIMIT)?;
    let from = match page.after::<String>()? {
        None => PagePosition::default(),
        Some(key) => PagePosition::from_key(&key)
            .filter(|from| {
                // AWS's positions are short printable ASCII.
                from.position
                    .as_deref()
                    .is_none_or(|p| p.len() <= 2048 && p.chars().all(|c| c.is_ascii_graphic()))
            })
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor this server issued"))?,
    };
    let limit = usize::try_from(limit).expect("between 1 and MAX_LIMIT");
    let listed = service::list(&state, &key, &from, limit).await?;
    Ok(Json(Page {
        items: listed.items.into_iter().map(RestApi::from).collect(),
        next: listed.next.map(|next| cursor(&next.to_key())),
    }))
}
