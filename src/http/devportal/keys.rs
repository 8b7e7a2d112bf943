//! An application's keys at key managers — an existing client id and secret, or one made
//! by dynamic client registration (RFC 7591) — and access tokens from them by the
//! client-credentials grant. Secrets are sealed and never returned.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::{ApplicationId, KeyManagerId};
use crate::http::AppState;
use crate::http::auth::{Authenticated, DevportalScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath};
use crate::http::pagination::Page;
use crate::service::applications::{self as service, NewKeys, TokenResponse};
use crate::store::applications::KeyRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_keys, list_keys))
        .routes(routes!(delete_keys))
        .routes(routes!(get_token))
}

/// `{keyManager, clientId, clientSecret}` links a client made at the IdP;
/// `{keyManager}` alone registers one there (RFC 7591).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeysBody {
    /// Name or id of the key manager.
    key_manager: String,
    client_id: Option<String>,
    #[schema(write_only)]
    client_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationKey {
    key_manager: String,
    key_manager_id: KeyManagerId,
    client_id: String,
    client_secret_set: bool,
    /// Whether fedgate registered the client at the key manager.
    registered: bool,
    created_at: DateTime<Utc>,
}

impl From<KeyRow> for ApplicationKey {
    fn from(row: KeyRow) -> Self {
        ApplicationKey {
            client_secret_set: row.sealed_secret().is_some(),
            key_manager: row.key_manager_name,
            key_manager_id: row.key_manager_id,
            client_id: row.client_id,
            registered: row.registered,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBody {
    /// Name or id; needed only when the application has keys at several key managers.
    key_manager: Option<String>,
}

/// Give an application keys at a key manager
///
/// With `clientId` and `clientSecret`, links a client made at the IdP; with
/// `keyManager` alone, registers a client there (RFC 7591, with the key manager's initial
/// access token when it has one). The secret is kept encrypted and never returned.
#[utoipa::path(post, path = "/applications/{id}/keys", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid)),
    request_body = KeysBody,
    responses(
        (status = 201, description = "Keys added", body = ApplicationKey),
        (status = 400, description = "Invalid fields or unknown key manager", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application has keys at this key manager", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No credentials given and the key manager cannot register clients", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The key manager refused the registration; the problem carries its error", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_keys(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApplicationId>,
    ValidJson(body): ValidJson<KeysBody>,
) -> Result<(StatusCode, Json<ApplicationKey>), ApiError> {
    let keys = NewKeys {
        key_manager: &body.key_manager,
        client_id: body.client_id.as_deref(),
        client_secret: body.client_secret.as_deref(),
    };
    let row = service::add_keys(&state, &caller.actor, id, &keys).await?;
    Ok((StatusCode::CREATED, Json(ApplicationKey::from(row))))
}

/// An application's keys (secrets are never returned)
#[utoipa::path(get, path = "/applications/{id}/keys", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Every key of the application", body = Page<ApplicationKey>),
        (status = 404, description = "You have no such application", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_keys(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApplicationId>,
) -> Result<Json<Page<ApplicationKey>>, ApiError> {
    let rows = service::keys(&state, &caller.actor, id).await?;
    // One key per key manager at most: a single page.
    Ok(Json(Page {
        items: rows.into_iter().map(ApplicationKey::from).collect(),
        next: None,
    }))
}

/// Remove an application's keys at a key manager
///
/// The client at the IdP is not deleted there.
#[utoipa::path(delete, path = "/applications/{id}/keys/{keyManager}", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid), ("keyManager" = String, Path, description = "Name or id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such application or keys", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_keys(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath((id, key_manager)): ValidPath<(ApplicationId, String)>,
) -> Result<StatusCode, ApiError> {
    service::delete_keys(&state, &caller.actor, id, &key_manager).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get an access token for an application
///
/// Runs the OAuth2 client-credentials grant at the key manager's token endpoint with the
/// application's client (HTTP Basic), the key manager's `audience` and scopes, and
/// returns the key manager's answer in OAuth2's own field names.
#[utoipa::path(post, path = "/applications/{id}/token", tag = "devportal", security(("bearer" = ["devportal"])),
    params(("id" = String, Path, format = Uuid)),
    request_body = TokenBody,
    responses(
        (status = 200, description = "An access token from the key manager", body = TokenResponse),
        (status = 400, description = "`keyManager` is needed or names no keys of the application", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no such application", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The application has no keys", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The key manager refused; the problem carries its error", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_token(
    caller: Authenticated<DevportalScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApplicationId>,
    ValidJson(body): ValidJson<TokenBody>,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = service::token(&state, &caller.actor, id, body.key_manager.as_deref()).await?;
    Ok(Json(token))
}
