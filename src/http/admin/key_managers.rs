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

use crate::domain::environment::parse_endpoint_url;
use crate::domain::ids::KeyManagerId;
use crate::domain::key_manager::{Discovery, KeyManagerInput, KeyManagerSpec};
use crate::domain::validation::FieldError;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned_response};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::secrets::Sealed;
use crate::store::key_managers::{self as store, KeyManagerRow, KeyManagerWrite};
use crate::store::rotation::key_manager_context;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key_manager, list_key_managers))
        .routes(routes!(
            get_key_manager,
            replace_key_manager,
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
    well_known_url: Option<String>,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    token_endpoint: Option<String>,
    registration_endpoint: Option<String>,
    audience: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    /// Initial access token for dynamic client registration (RFC 7591); write-only,
    /// kept on PUT when omitted.
    #[schema(write_only)]
    registration_token: Option<String>,
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

/// Fetches the OIDC discovery document through the outbound guard.
async fn discover(state: &AppState, well_known_url: &str) -> Result<Discovery, ApiError> {
    let field =
        |reason: String| ApiError::Validation(vec![FieldError::new("wellKnownUrl", reason)]);
    let url = parse_endpoint_url(well_known_url).map_err(field)?;
    state
        .outbound
        .check_url(&url)
        .await
        .map_err(|e| field(e.to_string()))?;
    let response = state
        .outbound
        .http_client()
        .get(url)
        .send()
        .await
        .map_err(|e| field(format!("discovery failed: {e}")))?;
    if !response.status().is_success() {
        return Err(field(format!(
            "discovery answered HTTP {}",
            response.status()
        )));
    }
    response
        .json::<Discovery>()
        .await
        .map_err(|e| field(format!("the discovery document is not valid JSON: {e}")))
}

/// Validates the body (discovering what it leaves out) into the row to write.
async fn to_write(
    state: &AppState,
    body: &KeyManagerBody,
    id: KeyManagerId,
    existing: Option<&KeyManagerRow>,
    actor: &str,
) -> Result<KeyManagerWrite, ApiError> {
    let discovered = match &body.well_known_url {
        Some(url) => discover(state, url).await?,
        None => Discovery::default(),
    };
    let input = KeyManagerInput {
        name: &body.name,
        display_name: body.display_name.as_deref(),
        kind: &body.kind,
        issuer: body.issuer.as_deref(),
        jwks_uri: body.jwks_uri.as_deref(),
        token_endpoint: body.token_endpoint.as_deref(),
        registration_endpoint: body.registration_endpoint.as_deref(),
        audience: body.audience.as_deref(),
        scopes: &body.scopes,
    };
    let spec = KeyManagerSpec::parse(&input, &discovered).map_err(ApiError::Validation)?;
    let registration_token: Option<Sealed> = match &body.registration_token {
        Some(token) if token.is_empty() => {
            return Err(ApiError::field("registrationToken", "must not be empty"));
        }
        Some(token) => Some(
            state
                .keyring
                .seal(token.as_bytes(), &key_manager_context(&id.to_string())),
        ),
        None => existing.and_then(|row| row.sealed_registration_token()),
    };
    Ok(KeyManagerWrite {
        id,
        name: spec.name.as_str().to_owned(),
        display_name: spec.display_name,
        well_known_url: body.well_known_url.clone(),
        issuer: spec.issuer.to_string(),
        jwks_uri: spec.jwks_uri.to_string(),
        token_endpoint: spec.token_endpoint.to_string(),
        registration_endpoint: spec.registration_endpoint.map(|u| u.to_string()),
        audience: spec.audience,
        scopes: spec.scopes,
        registration_token,
        actor: actor.to_owned(),
    })
}

async fn find(state: &AppState, id: KeyManagerId) -> Result<KeyManagerRow, ApiError> {
    store::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("key manager"))
}

/// Register a key manager
#[utoipa::path(post, path = "/key-managers", tag = "admin", security(("bearer" = ["admin"])),
    request_body = KeyManagerBody,
    responses(
        (status = 201, description = "Created", body = KeyManager),
        (status = 400, description = "Invalid fields or failed discovery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_key_manager(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidJson(body): ValidJson<KeyManagerBody>,
) -> Result<Response, ApiError> {
    let write = to_write(
        &state,
        &body,
        KeyManagerId::new(),
        None,
        &caller.principal.client_id,
    )
    .await?;
    let row = store::upsert(&state.db, &write, None)
        .await
        .map_err(|e| ApiError::from_write(e, "a key manager", &write.name))?;
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
    let rows = store::list(&state.db, page.after()?, limit + 1).await?;
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
    Ok(respond(StatusCode::OK, find(&state, id).await?))
}

/// Replace a key manager
#[utoipa::path(put, path = "/key-managers/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    request_body = KeyManagerBody,
    responses(
        (status = 200, description = "Replaced", body = KeyManager),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_key_manager(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<KeyManagerId>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<KeyManagerBody>,
) -> Result<Response, ApiError> {
    let current = find(&state, id).await?;
    if_match.check(current.version)?;
    let write = to_write(
        &state,
        &body,
        id,
        Some(&current),
        &caller.principal.client_id,
    )
    .await?;
    let row = store::upsert(&state.db, &write, Some(current.version))
        .await
        .map_err(|e| ApiError::from_write(e, "a key manager", &write.name))?;
    Ok(respond(StatusCode::OK, row))
}

/// Delete a key manager
#[utoipa::path(delete, path = "/key-managers/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_key_manager(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<KeyManagerId>,
) -> Result<StatusCode, ApiError> {
    if store::delete(&state.db, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("key manager"))
    }
}
