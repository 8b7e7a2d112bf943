//! `/devportal/v1/apis`: published and deprecated APIs, where each is deployed, and an
//! OpenAPI document callers can use directly. Internal details (backend URL, Lambda and
//! role ARNs, credentials) never appear.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::api::policy::Policy;
use crate::domain::api::{ApiDesign, HttpMethod, Resource};
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::LifecycleState;
use crate::domain::openapi::portal::{self, Server, TokenIssuer};
use crate::http::AppState;
use crate::http::auth::{Authenticated, DevportalScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::service::catalog as service;
use crate::store::apis::ApiRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_published_apis))
        .routes(routes!(get_published_api))
        .routes(routes!(get_api_openapi))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// Part of the name, any case.
    name: Option<String>,
    /// Items per page, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiSummary {
    id: ApiId,
    name: String,
    version: String,
    context: String,
    description: String,
    /// PUBLISHED or DEPRECATED.
    lifecycle_state: LifecycleState,
    updated_at: DateTime<Utc>,
}

impl From<ApiRow> for ApiSummary {
    fn from(row: ApiRow) -> Self {
        let design = row.design.0;
        ApiSummary {
            id: row.id,
            name: design.name.as_str().to_owned(),
            version: design.version.as_str().to_owned(),
            context: design.context.as_str().to_owned(),
            description: design.description,
            lifecycle_state: row.lifecycle_state,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalResource {
    method: HttpMethod,
    path: String,
    description: String,
    /// Whether a call needs an access token from one of the API's key managers.
    secured: bool,
    /// The key manager whose tokens a call needs, when fedgate manages the authorizer
    /// (otherwise any of the API's `keyManagers` may do).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "okta")]
    key_manager: Option<String>,
    /// With `keyManager`: the scopes the token must carry, all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["pets:read"]))]
    scopes: Option<Vec<String>>,
}

impl PortalResource {
    /// What a caller of `resource` needs; of a publisher's own authorizer nothing but
    /// that a token is needed (its ARNs are internal).
    fn of(design: &ApiDesign, resource: &Resource) -> Self {
        let policy = design.effective_policy(resource).policy;
        let managed = policy.as_ref().and_then(Policy::managed);
        PortalResource {
            method: resource.method,
            path: resource.path.as_str().to_owned(),
            description: resource.description.clone(),
            secured: policy.is_some(),
            key_manager: managed.map(|m| m.key_manager.clone()),
            scopes: managed.map(|m| m.scopes.iter().cloned().collect()),
        }
    }
}

/// Where the API answers: append a resource path to `invocationUrl`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    environment: String,
    display_name: String,
    region: String,
    stage: String,
    invocation_url: String,
}

/// A key manager that issues tokens for the API.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenProvider {
    name: String,
    display_name: String,
    token_endpoint: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalApi {
    #[serde(flatten)]
    summary: ApiSummary,
    resources: Vec<PortalResource>,
    /// One per environment where the API is deployed now.
    endpoints: Vec<Endpoint>,
    key_managers: Vec<TokenProvider>,
}

/// The environments where the API is deployed, as developers see them.
async fn endpoints(state: &AppState, id: ApiId) -> Result<Vec<Endpoint>, ApiError> {
    Ok(service::endpoints(state, id)
        .await?
        .into_iter()
        .map(|e| Endpoint {
            environment: e.environment,
            display_name: e.display_name,
            region: e.region,
            stage: e.stage,
            invocation_url: e.invocation_url,
        })
        .collect())
}

/// Browse published APIs
#[utoipa::path(get, path = "/apis", tag = "devportal", security(("bearer" = ["devportal"])),
    params(CatalogQuery),
    responses((status = 200, description = "One page of published and deprecated APIs", body = Page<ApiSummary>)))]
async fn list_published_apis(
    _caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<CatalogQuery>,
) -> Result<Json<Page<ApiSummary>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let rows = service::list(&state, query.name.as_deref(), page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        ApiSummary::from,
    )))
}

/// A published API: its resources, where it is deployed, and who issues its tokens
#[utoipa::path(get, path = "/apis/{id}", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The API", body = PortalApi),
        (status = 404, description = "No such published API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_published_api(
    _caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
) -> Result<Json<PortalApi>, ApiError> {
    let row = service::visible_api(&state, id).await?;
    let design = &row.design.0;
    let resources = design
        .resources
        .iter()
        .map(|r| PortalResource::of(design, r))
        .collect();
    let key_managers = service::key_managers_of(&state, design)
        .await?
        .into_iter()
        .map(|km| TokenProvider {
            name: km.name,
            display_name: km.display_name,
            token_endpoint: km.token_endpoint,
        })
        .collect();
    Ok(Json(PortalApi {
        endpoints: endpoints(&state, id).await?,
        resources,
        key_managers,
        summary: ApiSummary::from(row),
    }))
}

/// The API as OpenAPI 3.0 for callers: servers are the invocation URLs
///
/// Secured operations name an OAuth2 client-credentials scheme per key manager, whose
/// `tokenUrl` is that key manager's token endpoint, so Swagger UI or Postman can call the
/// deployed API directly: an operation fedgate secures for one key manager names that
/// one, with the scopes it requires; one secured by the publisher's own authorizer names
/// each key manager the API lists.
#[utoipa::path(get, path = "/apis/{id}/openapi", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "An OpenAPI 3.0 document", body = Object),
        (status = 404, description = "No such published API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_api_openapi(
    _caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
) -> Result<Json<Value>, ApiError> {
    let row = service::visible_api(&state, id).await?;
    let endpoints = endpoints(&state, id).await?;
    let key_managers = service::key_managers_of(&state, &row.design).await?;
    let servers: Vec<Server> = endpoints
        .iter()
        .map(|e| Server {
            url: &e.invocation_url,
            description: &e.display_name,
        })
        .collect();
    let issuers: Vec<TokenIssuer> = key_managers
        .iter()
        .map(|km| TokenIssuer {
            name: &km.name,
            token_url: &km.token_endpoint,
            scopes: &km.scopes,
        })
        .collect();
    Ok(Json(portal::for_callers(&row.design, &servers, &issuers)))
}
