//! An application's keys at key managers — an existing client id and secret, or one made
//! by dynamic client registration (RFC 7591) — and access tokens from them by the
//! client-credentials grant. Secrets are sealed and never returned.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::applications::find as find_application;
use crate::domain::application::parse_credential;
use crate::domain::environment::parse_endpoint_url;
use crate::domain::ids::{ApplicationId, KeyManagerId};
use crate::domain::validation::Errors;
use crate::http::AppState;
use crate::http::auth::{Authenticated, DevportalScope};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath};
use crate::http::pagination::Page;
use crate::idp::token::{GrantRequest, TokenResponse};
use crate::idp::{IdpError, registration, token};
use crate::secrets::Sealed;
use crate::store::WriteError;
use crate::store::applications::{self as store, ApplicationRow, KeyRow, KeyWrite};
use crate::store::key_managers::{self, KeyManagerRow};
use crate::store::rotation::{application_key_context, key_manager_context};

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

/// A key manager by id or name; `field` names where the request gave it.
async fn find_key_manager(state: &AppState, key: &str) -> Result<Option<KeyManagerRow>, ApiError> {
    Ok(match key.parse::<KeyManagerId>() {
        Ok(id) => key_managers::get(&state.db, id).await?,
        Err(_) => key_managers::get_by_name(&state.db, key).await?,
    })
}

/// A key-manager failure as a 502 carrying what the IdP said.
fn idp_error(key_manager: &str, error: IdpError) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("keyManager".into(), json!(key_manager));
    if let IdpError::Rejected {
        status,
        error,
        description,
    } = &error
    {
        extra.insert("idpStatus".into(), json!(status));
        extra.insert("idpError".into(), json!(error));
        extra.insert("idpErrorDescription".into(), json!(description));
    }
    ApiError::BadGateway {
        detail: format!("key manager `{key_manager}`: {error}"),
        extra,
    }
}

/// The client at the IdP: given, or registered there now.
async fn obtain_client(
    state: &AppState,
    app: &ApplicationRow,
    km: &KeyManagerRow,
    body: &KeysBody,
) -> Result<(String, Option<String>, bool), ApiError> {
    match (&body.client_id, &body.client_secret) {
        (Some(id), Some(secret)) => {
            let mut errors = Errors::new();
            let id = errors.check("clientId", parse_credential(id));
            let secret = errors.check("clientSecret", parse_credential(secret));
            errors
                .finish(|| (id.expect("checked"), secret, false))
                .map_err(ApiError::Validation)
        }
        (Some(_), None) => Err(ApiError::field("clientSecret", "is required with clientId")),
        (None, Some(_)) => Err(ApiError::field("clientId", "is required with clientSecret")),
        (None, None) => {
            let Some(endpoint) = &km.registration_endpoint else {
                return Err(ApiError::Unprocessable {
                    detail: format!(
                        "key manager `{}` offers no dynamic client registration; give the \
                         clientId and clientSecret of a client made at the IdP",
                        km.name
                    ),
                    extra: Default::default(),
                });
            };
            let endpoint = parse_endpoint_url(endpoint).map_err(|e| anyhow::anyhow!(e))?;
            let initial_token = km
                .sealed_registration_token()
                .map(|sealed| open_text(state, &sealed, &key_manager_context(&km.id.to_string())))
                .transpose()?;
            let name = format!("{} (fedgate application {})", app.name, app.id);
            let client =
                registration::register(&state.outbound, &endpoint, initial_token.as_deref(), &name)
                    .await
                    .map_err(|e| idp_error(&km.name, e))?;
            Ok((client.client_id, client.client_secret, true))
        }
    }
}

fn open_text(state: &AppState, sealed: &Sealed, context: &str) -> Result<String, ApiError> {
    let plain = state
        .keyring
        .open(sealed, context)
        .map_err(|e| anyhow::anyhow!("{context}: {e}"))?;
    String::from_utf8(plain.expose_secret().to_vec())
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("{context} is not UTF-8")))
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
    let app = find_application(&state, &caller.principal.client_id, id).await?;
    let km = find_key_manager(&state, &body.key_manager)
        .await?
        .ok_or_else(|| ApiError::field("keyManager", "no key manager has this name or id"))?;
    let conflict = || {
        ApiError::Conflict(format!(
            "the application has keys at `{}` already; delete them first",
            km.name
        ))
    };
    // Checked before registering, so that a conflict leaves no orphan client at the IdP.
    if store::keys(&state.db, app.id)
        .await?
        .iter()
        .any(|k| k.key_manager_id == km.id)
    {
        return Err(conflict());
    }
    let (client_id, secret, registered) = obtain_client(&state, &app, &km, &body).await?;
    let key_id = Uuid::now_v7();
    let write = KeyWrite {
        id: key_id,
        application_id: app.id,
        key_manager_id: km.id,
        client_id,
        registered,
        secret: secret.map(|s| {
            state
                .keyring
                .seal(s.as_bytes(), &application_key_context(&key_id.to_string()))
        }),
    };
    let row = store::insert_key(&state.db, &write)
        .await
        .map_err(|e| match e {
            WriteError::DuplicateName => conflict(),
            WriteError::VersionMismatch => ApiError::PreconditionFailed,
            WriteError::Database(e) => e.into(),
        })?;
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
    let app = find_application(&state, &caller.principal.client_id, id).await?;
    let rows = store::keys(&state.db, app.id).await?;
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
    let app = find_application(&state, &caller.principal.client_id, id).await?;
    let km = find_key_manager(&state, &key_manager).await?;
    match km {
        Some(km) if store::delete_key(&state.db, app.id, km.id).await? => {
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found("keys")),
    }
}

/// The key to use: the one at the named key manager, else the only one.
fn choose_key(keys: Vec<KeyRow>, wanted: Option<&KeyManagerRow>) -> Result<KeyRow, ApiError> {
    if let Some(km) = wanted {
        return keys
            .into_iter()
            .find(|k| k.key_manager_id == km.id)
            .ok_or_else(|| {
                ApiError::field(
                    "keyManager",
                    format!("the application has no keys at `{}`", km.name),
                )
            });
    }
    match keys.len() {
        0 => Err(ApiError::Unprocessable {
            detail: "the application has no keys yet; add some with POST …/keys".into(),
            extra: Default::default(),
        }),
        1 => Ok(keys.into_iter().next().expect("one key")),
        _ => {
            let names: Vec<String> = keys.into_iter().map(|k| k.key_manager_name).collect();
            Err(ApiError::field(
                "keyManager",
                format!(
                    "is required: the application has keys at {}",
                    names.join(", ")
                ),
            ))
        }
    }
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
    let app = find_application(&state, &caller.principal.client_id, id).await?;
    let wanted =
        match &body.key_manager {
            Some(key) => Some(find_key_manager(&state, key).await?.ok_or_else(|| {
                ApiError::field("keyManager", "no key manager has this name or id")
            })?),
            None => None,
        };
    let key = choose_key(store::keys(&state.db, app.id).await?, wanted.as_ref())?;
    let km = match wanted {
        Some(km) => km,
        None => key_managers::get(&state.db, key.key_manager_id)
            .await?
            .ok_or_else(|| ApiError::not_found("key manager"))?,
    };
    let secret = key
        .sealed_secret()
        .map(|sealed| {
            open_text(
                &state,
                &sealed,
                &application_key_context(&key.id.to_string()),
            )
        })
        .transpose()?;
    let token_endpoint = parse_endpoint_url(&km.token_endpoint).map_err(|e| anyhow::anyhow!(e))?;
    let request = GrantRequest {
        token_endpoint: &token_endpoint,
        client_id: &key.client_id,
        client_secret: secret.as_deref(),
        audience: km.audience.as_deref(),
        scopes: &km.scopes,
    };
    token::client_credentials(&state.outbound, &request)
        .await
        .map(Json)
        .map_err(|e| idp_error(&km.name, e))
}
