//! `/publisher/v1/apis/{id}/lifecycle`: move an API through its lifecycle and show the
//! history of every move.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::ApiId;
use crate::domain::lifecycle::{LifecycleAction, LifecycleState};
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, etag_header};
use crate::http::extract::{ValidJson, ValidPath};
use crate::service::{apis, lifecycle as service};
use crate::store::lifecycle::LifecycleEventRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_lifecycle, get_lifecycle))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleChange {
    action: LifecycleAction,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    action: LifecycleAction,
    from: LifecycleState,
    to: LifecycleState,
    /// Client id of the token that made the change.
    actor: String,
    at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    state: LifecycleState,
    allowed_actions: Vec<LifecycleAction>,
    /// Every transition, oldest first.
    history: Vec<LifecycleEvent>,
    /// After a change: what is worth knowing about it (publishing an API that is deployed
    /// nowhere: developers find it without an invocation URL).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

impl From<LifecycleEventRow> for LifecycleEvent {
    fn from(row: LifecycleEventRow) -> Self {
        LifecycleEvent {
            action: row.action,
            from: row.from_state,
            to: row.to_state,
            actor: row.actor,
            at: row.at,
        }
    }
}

async fn lifecycle_of(
    state: &AppState,
    api_id: ApiId,
    current: LifecycleState,
) -> Result<Lifecycle, ApiError> {
    let history = service::history(state, api_id).await?;
    Ok(Lifecycle {
        state: current,
        allowed_actions: current.allowed_actions(),
        history: history.into_iter().map(LifecycleEvent::from).collect(),
        warnings: Vec::new(),
    })
}

/// Apply a lifecycle action: publish, deprecate, retire, demote, block or unblock
///
/// Publishing an API that is deployed nowhere succeeds with a `warnings` entry saying so:
/// developers would find it in the catalog without an invocation URL.
#[utoipa::path(post, path = "/apis/{id}/lifecycle", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "The API's ETag last read")),
    request_body = LifecycleChange,
    responses(
        (status = 200, description = "The new state; the API's new ETag in the header", body = Lifecycle, headers(("ETag" = String))),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from the current state (the problem names the allowed actions), or publishing an API without resources, or the API is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The API changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_lifecycle(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(api_id): ValidPath<ApiId>,
    if_match: IfMatch,
    ValidJson(change): ValidJson<LifecycleChange>,
) -> Result<([(HeaderName, HeaderValue); 1], Json<Lifecycle>), ApiError> {
    let changed =
        service::change(&state, api_id, change.action, &if_match.0, &caller.actor).await?;
    let lifecycle = Lifecycle {
        warnings: changed.warnings,
        ..lifecycle_of(&state, api_id, changed.api.lifecycle_state).await?
    };
    Ok(([etag_header(changed.api.version)], Json(lifecycle)))
}

/// The API's lifecycle state, the actions allowed from it, and its history
#[utoipa::path(get, path = "/apis/{id}/lifecycle", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The lifecycle", body = Lifecycle),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_lifecycle(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(api_id): ValidPath<ApiId>,
) -> Result<Json<Lifecycle>, ApiError> {
    let api = apis::get(&state, api_id).await?;
    Ok(Json(
        lifecycle_of(&state, api_id, api.lifecycle_state).await?,
    ))
}
