//! `POST /publisher/v1/apis/discover`: adopt a REST API fedgate did not create.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::apis::location;
use super::views::Api;
use crate::domain::ids::DeploymentId;
use crate::domain::openapi::Overrides;
use crate::domain::validation::FieldError;
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::etag_header;
use crate::http::extract::ValidJson;
use crate::service::discovery::{self as service, DiscoverRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(discover_api))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoverApi {
    /// The environment (name or id) whose account and region hold the REST API.
    environment: String,
    /// The REST API's id.
    rest_api_id: String,
    /// The stage to adopt: the environment's stage (the default), since fedgate deploys
    /// there.
    stage: Option<String>,
    /// Instead of the REST API's name.
    name: Option<String>,
    /// Instead of a version the name ends with (`Pets v2` → `2`), else `1`.
    version: Option<String>,
    /// Instead of a slug of the name.
    context: Option<String>,
    /// Instead of the backend most HTTP integrations call; every HTTP method then calls it.
    endpoint_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredApi {
    api: Api,
    /// The `deployed` deployment standing for the adopted REST API.
    deployment_id: DeploymentId,
    /// What the REST API holds that the API cannot (Lambda or mock integrations,
    /// authorizers other than TOKEN Lambda ones with an invoke role, request validators,
    /// models…): a deploy from fedgate removes it, and its plan says so.
    warnings: Vec<FieldError>,
}

/// Adopt an existing REST API as a fedgate API
///
/// Reads the REST API (GetRestApi, GetStages, GetRequestValidators, GetModels,
/// GetAuthorizers, GetResources, GetStage), maps its HTTP integrations to the endpoint and
/// resources, its TOKEN Lambda authorizers to awsOAuth2 policies and its CORS preflights
/// to CORS settings, and records the API, a first revision and a `deployed` deployment.
/// The only change in AWS is the `fedgate:api` and `fedgate:environment` tags.
#[utoipa::path(post, path = "/apis/discover", tag = "publisher", security(("bearer" = ["publisher"])),
    request_body = DiscoverApi,
    responses(
        (status = 201, description = "Adopted", body = DiscoveredApi,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Invalid fields, or the API the REST API maps to is invalid (named by field; override it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such environment or REST API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The REST API is managed already (tags, or a deployment holds it), or the name or context is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`stage` is not the environment's, or the REST API has no such stage", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "AWS refused or failed a call (the problem says which, and why)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn discover_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidJson(body): ValidJson<DiscoverApi>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, HeaderValue); 2],
        Json<DiscoveredApi>,
    ),
    ApiError,
> {
    let request = DiscoverRequest {
        environment: body.environment,
        rest_api_id: body.rest_api_id,
        stage: body.stage,
        overrides: Overrides {
            name: body.name,
            version: body.version,
            context: body.context,
            endpoint_url: body.endpoint_url,
            gateway_type: None,
        },
    };
    let adopted = service::discover(&state, request, &caller.actor).await?;
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location(adopted.api.id)),
            etag_header(adopted.api.version),
        ],
        Json(DiscoveredApi {
            api: Api::from(&adopted.api),
            deployment_id: adopted.deployment_id,
            warnings: adopted.warnings,
        }),
    ))
}
