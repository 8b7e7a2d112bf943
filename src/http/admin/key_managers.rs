//! `/admin/v1/key-managers`: third-party OAuth2 / OIDC identity providers, given in full
//! or discovered from their `wellKnownUrl`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::KeyManagerId;
use crate::domain::key_manager::KeyManagerInput;
use crate::domain::validation::WriteOnly;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned_response};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery, write_only};
use crate::http::pagination::{Page, PageQuery};
use crate::http::patch::MergePatch;
use crate::service::key_managers::{self as service, KeyManagerRequest};
use crate::store::key_managers::KeyManagerRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key_manager, list_key_managers))
        .routes(routes!(
            get_key_manager,
            replace_key_manager,
            patch_key_manager,
            delete_key_manager
        ))
}

/// A key manager as written: give `issuer`, `jwksUri` and `tokenEndpoint`, or a
/// `wellKnownUrl` to discover them (explicit fields win). Read-only response fields may be
/// sent back and are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // the read-only echoes are accepted and ignored
pub struct KeyManagerBody {
    name: String,
    display_name: Option<String>,
    /// Must be `oidc`.
    #[serde(rename = "type")]
    kind: String,
    /// The issuer's metadata URL (OpenID Connect Discovery or RFC 8414); the document's
    /// `issuer` must be the one this URL belongs to.
    well_known_url: Option<String>,
    /// Unique: no two key managers have one issuer (a trailing `/` aside).
    issuer: Option<String>,
    jwks_uri: Option<String>,
    token_endpoint: Option<String>,
    registration_endpoint: Option<String>,
    audience: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    /// Initial access token for dynamic client registration (RFC 7591); write-only:
    /// kept when omitted, removed by `null`.
    #[serde(default, deserialize_with = "write_only")]
    #[schema(write_only, value_type = Option<String>)]
    registration_token: WriteOnly<String>,
    #[schema(read_only, value_type = Option<Object>)]
    id: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    registration_token_set: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    created_at: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    updated_at: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    created_by: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    updated_by: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyManager {
    id: KeyManagerId,
    name: String,
    display_name: String,
    #[serde(rename = "type")]
    kind: String,
    well_known_url: Option<String>,
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    registration_endpoint: Option<String>,
    audience: Option<String>,
    scopes: Vec<String>,
    registration_token_set: bool,
    created_by: String,
    updated_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<KeyManagerRow> for KeyManager {
    fn from(row: KeyManagerRow) -> Self {
        KeyManager {
            registration_token_set: row.sealed_registration_token().is_some(),
            id: row.id,
            name: row.name,
            display_name: row.display_name,
            kind: row.kind,
            well_known_url: row.well_known_url,
            issuer: row.issuer,
            jwks_uri: row.jwks_uri,
            token_endpoint: row.token_endpoint,
            registration_endpoint: row.registration_endpoint,
            audience: row.audience,
            scopes: row.scopes,
            created_by: row.created_by,
            updated_by: row.updated_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn respond(status: StatusCode, row: KeyManagerRow) -> Response {
    let location =
        (status == StatusCode::CREATED).then(|| format!("/admin/v1/key-managers/{}", row.id));
    versioned_response(status, row.version, location, KeyManager::from(row))
}

impl KeyManagerBody {
    fn request(&self) -> KeyManagerRequest<'_> {
        KeyManagerRequest {
            fields: KeyManagerInput {
                name: &self.name,
                display_name: self.display_name.as_deref(),
                kind: &self.kind,
                issuer: self.issuer.as_deref(),
                jwks_uri: self.jwks_uri.as_deref(),
                token_endpoint: self.token_endpoint.as_deref(),
                registration_endpoint: self.registration_endpoint.as_deref(),
                audience: self.audience.as_deref(),
                scopes: &self.scopes,
            },
            well_known_url: self.well_known_url.as_deref(),
            registration_token: self.registration_token.as_deref(),
        }
    }
}

/// Register a key manager
#[utoipa::path(post, path = "/key-managers", tag = "admin", security(("bearer" = ["admin"])),
    request_body = KeyManagerBody,
    responses(
        (status = 201, description = "Created", body = KeyManager),
        (status = 400, description = "Invalid fields or failed discovery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or the issuer is another key manager's (named in the detail)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_key_manager(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidJson(body): ValidJson<KeyManagerBody>,
) -> Result<Response, ApiError> {
    let row = service::create(&state, &body.request(), &caller.actor).await?;
    Ok(respond(StatusCode::CREATED, row))
}

/// List key managers
#[utoipa::path(get, path = "/key-managers", tag = "admin", security(("bearer" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "One page of key managers", body = Page<KeyManager>)))]
async fn list_key_managers(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> Result<Json<Page<KeyManager>>, ApiError> {
    let limit = page.limit()?;
    let rows = service::list(&state, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        KeyManager::from,
    )))
}

/// Get a key manager
#[utoipa::path(get, path = "/key-managers/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The key manager", body = KeyManager),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_key_manager(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<KeyManagerId>,
) -> Result<Response, ApiError> {
    Ok(respond(StatusCode::OK, service::find(&state, id).await?))
}

/// Replace a key manager
#[utoipa::path(put, path = "/key-managers/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    request_body = KeyManagerBody,
    responses(
        (status = 200, description = "Replaced", body = KeyManager),
        (status = 400, description = "Invalid fields or failed discovery", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, the issuer is another key manager's, or a rename of one an API's design names (named in the detail)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_key_manager(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<KeyManagerId>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<KeyManagerBody>,
) -> Result<Response, ApiError> {
    let row = service::replace(&state, id, &body.request(), &if_match.0, &caller.actor).await?;
    Ok(respond(StatusCode::OK, row))
}

/// What discovery finds: a patch giving a new `wellKnownUrl` finds them again.
const DISCOVERED: [&str; 4] = ["issuer", "jwksUri", "tokenEndpoint", "registrationEndpoint"];

/// Change some fields of a key manager (JSON merge patch, RFC 7396)
///
/// Only the members the patch names change; `null` removes one. An omitted
/// `registrationToken` is kept, `null` removes it. A patch giving `wellKnownUrl` discovers
/// the endpoints it does not give itself; with a stored `wellKnownUrl`, discovery runs
/// again as on PUT. The result is validated and written as a PUT of it would be; a change
/// made meanwhile answers 412.
#[utoipa::path(patch, path = "/key-managers/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "A JSON merge patch of `KeyManagerBody`"),
    responses(
        (status = 200, description = "Changed", body = KeyManager),
        (status = 400, description = "Invalid fields (of the patched key manager) or failed discovery", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, the issuer is another key manager's, or a rename of one an API's design names (named in the detail)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_key_manager(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<KeyManagerId>,
    if_match: IfMatch,
    patch: MergePatch,
) -> Result<Response, ApiError> {
    let current = service::find(&state, id).await?;
    let precondition = if_match.0.pinned(current.version);
    let mut current = serde_json::to_value(KeyManager::from(current))
        .map_err(|e| ApiError::Internal(e.into()))?;
    if patch.sets("wellKnownUrl")
        && let Some(members) = current.as_object_mut()
    {
        members.retain(|name, _| !DISCOVERED.contains(&name.as_str()));
    }
    let body: KeyManagerBody = patch.apply(current, &[&["registrationToken"]])?;
    let row = service::replace(&state, id, &body.request(), &precondition, &caller.actor).await?;
    Ok(respond(StatusCode::OK, row))
}

/// Delete a key manager
#[utoipa::path(delete, path = "/key-managers/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An API's design has a managed policy naming it; the detail names the APIs", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_key_manager(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<KeyManagerId>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    service::delete(&state, id, &if_match.0, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
