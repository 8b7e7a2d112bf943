//! Developer-portal applications, their keys at key managers and tokens from them. An
//! application belongs to the developer who created it (`owner`, the acting principal);
//! another developer's application is not found, as if it did not exist. Keys are an
//! existing client id and secret, or a client registered by dynamic client registration
//! (RFC 7591); secrets are sealed and never returned.

use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change};
use super::{Actor, AppState, Precondition, ServiceError, key_managers};
use crate::domain::application::{ApplicationSpec, parse_credential};
use crate::domain::environment::parse_endpoint_url;
use crate::domain::ids::ApplicationId;
use crate::domain::validation::Errors;
use crate::idp::token::GrantRequest;
use crate::idp::{IdpError, registration, token};
use crate::secrets::Sealed;
use crate::store::WriteError;
use crate::store::applications::{self as store, ApplicationRow, KeyRow, KeyWrite};
use crate::store::key_managers::KeyManagerRow;
use crate::store::rotation::{application_key_context, key_manager_context};

pub use crate::idp::token::TokenResponse;

fn write_error(error: WriteError, name: &str) -> ServiceError {
    match error {
        WriteError::DuplicateName => {
            ServiceError::Conflict(format!("you already have an application named `{name}`"))
        }
        WriteError::VersionMismatch => ServiceError::PreconditionFailed,
        WriteError::Database(e) => e.into(),
    }
}

/// The owner's application; not found also when it is someone else's.
pub async fn find(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
) -> Result<ApplicationRow, ServiceError> {
    store::get(&state.db, &owner.owner(), id)
        .await?
        .ok_or(ServiceError::NotFound("application"))
}

pub async fn list(
    state: &AppState,
    owner: &Actor,
    after: Option<ApplicationId>,
    limit: i64,
) -> Result<Vec<ApplicationRow>, ServiceError> {
    Ok(store::list(&state.db, &owner.owner(), after, limit).await?)
}

pub async fn create(
    state: &AppState,
    owner: &Actor,
    spec: &ApplicationSpec,
) -> Result<ApplicationRow, ServiceError> {
    let change = Change::new("applications.create", "applications");
    audit::attempt(state, owner, change.clone(), async {
        let mut tx = state.db.begin().await?;
        let row = store::insert(&mut *tx, &owner.owner(), spec)
            .await
            .map_err(|e| write_error(e, &spec.name))?;
        audit::record(&mut *tx, owner, &change.on(row.id)).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await
}

/// Replaces name and description if `precondition` accepts the current version; the
/// write applies only to the version checked.
pub async fn replace(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
    spec: &ApplicationSpec,
    precondition: &Precondition,
) -> Result<ApplicationRow, ServiceError> {
    let change = Change::new("applications.update", "applications").on(id);
    audit::attempt(state, owner, change.clone(), async {
        let current = find(state, owner, id).await?;
        precondition.check(current.version)?;
        let mut tx = state.db.begin().await?;
        let row = store::update(&mut *tx, &owner.owner(), id, spec, current.version)
            .await
            .map_err(|e| write_error(e, &spec.name))?;
        audit::record(&mut *tx, owner, &change).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await
}

/// Deletes the application with its keys (the clients at the key managers stay there) if
/// `precondition` accepts its version.
pub async fn delete(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
    precondition: &Precondition,
) -> Result<(), ServiceError> {
    let change = Change::new("applications.delete", "applications").on(id);
    audit::attempt(state, owner, change.clone(), async {
        let mut tx = state.db.begin().await?;
        let version = store::delete(&mut *tx, &owner.owner(), id)
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        // Refused, the transaction ends without a commit: nothing was deleted.
        precondition.check(version)?;
        audit::record(&mut *tx, owner, &change).await?;
        Ok(tx.commit().await?)
    })
    .await
}

/// Keys to add at a key manager: `client_id` and `client_secret` of a client made at the
/// IdP, or neither to register one there.
pub struct NewKeys<'a> {
    /// Name or id of the key manager.
    pub key_manager: &'a str,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
}

/// The key manager a request names (by name or id); else the field `keyManager` is
/// invalid.
async fn named_key_manager(state: &AppState, key: &str) -> Result<KeyManagerRow, ServiceError> {
    key_managers::lookup(state, key)
        .await?
        .ok_or_else(|| ServiceError::field("keyManager", "no key manager has this name or id"))
}

/// A key-manager failure as a developer sees it: a bad gateway carrying what the IdP
/// itself answered, or else a reason in general words. How fedgate reaches the IdP —
/// addresses, URLs, the outbound policy — is the administrators' business (they set the
/// allow list): it goes to the log, not to the developer.
fn idp_error(key_manager: &str, error: IdpError) -> ServiceError {
    let mut extra = serde_json::Map::new();
    extra.insert("keyManager".into(), json!(key_manager));
    let reason = match &error {
        IdpError::Rejected {
            status,
            error: idp_error,
            description,
        } => {
            extra.insert("idpStatus".into(), json!(status));
            extra.insert("idpError".into(), json!(idp_error));
            extra.insert("idpErrorDescription".into(), json!(description));
            error.to_string()
        }
        IdpError::Refused(_) => {
            "the call is refused by fedgate's outbound policy; ask an administrator".to_owned()
        }
        IdpError::Unreachable(_) => "the key manager could not be reached".to_owned(),
        IdpError::Malformed(_) | IdpError::TooLarge => {
            "the key manager's answer could not be used; ask an administrator".to_owned()
        }
    };
    if !matches!(error, IdpError::Rejected { .. }) {
        tracing::warn!(key_manager, %error, "a developer's call to a key manager failed");
    }
    ServiceError::BadGateway {
        detail: format!("key manager `{key_manager}`: {reason}"),
        extra,
    }
}

/// Opens a sealed secret that is text.
fn open_text(state: &AppState, sealed: &Sealed, context: &str) -> Result<String, ServiceError> {
    let plain = state
        .keyring
        .open(sealed, context)
        .map_err(|e| anyhow::anyhow!("{context}: {e}"))?;
    String::from_utf8(plain.expose_secret().to_vec())
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("{context} is not UTF-8")))
}

/// A client at the IdP: its id, its secret (none for a public client) and whether
/// fedgate registered it.
struct ObtainedClient {
    client_id: String,
    secret: Option<String>,
    registered: bool,
}

/// The client at the IdP: given, or registered there now.
async fn obtain_client(
    state: &AppState,
    app: &ApplicationRow,
    km: &KeyManagerRow,
    keys: &NewKeys<'_>,
) -> Result<ObtainedClient, ServiceError> {
    match (keys.client_id, keys.client_secret) {
        (Some(id), Some(secret)) => {
            let mut errors = Errors::new();
            let id = errors.check("clientId", parse_credential(id));
            let secret = errors.check("clientSecret", parse_credential(secret));
            errors
                .finish(|| ObtainedClient {
                    client_id: id.expect("checked"),
                    secret,
                    registered: false,
                })
                .map_err(ServiceError::Validation)
        }
        (Some(_), None) => Err(ServiceError::field(
            "clientSecret",
            "is required with clientId",
        )),
        (None, Some(_)) => Err(ServiceError::field(
            "clientId",
            "is required with clientSecret",
        )),
        (None, None) => {
            let Some(endpoint) = &km.registration_endpoint else {
                return Err(ServiceError::Unprocessable {
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
            Ok(ObtainedClient {
                client_id: client.client_id,
                secret: client.client_secret,
                registered: true,
            })
        }
    }
}

/// Gives the owner's application keys at a key manager — one set per key manager. The
/// conflict is checked before registering, so that it leaves no orphan client at the IdP;
/// the secret is sealed to the key.
pub async fn add_keys(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
    keys: &NewKeys<'_>,
) -> Result<KeyRow, ServiceError> {
    let change = Change::new("applications.keys.add", "applications").on(id);
    audit::attempt(state, owner, change.clone(), async {
        let app = find(state, owner, id).await?;
        let km = named_key_manager(state, keys.key_manager).await?;
        let conflict = || {
            ServiceError::Conflict(format!(
                "the application has keys at `{}` already; delete them first",
                km.name
            ))
        };
        if store::keys(&state.db, app.id)
            .await?
            .iter()
            .any(|k| k.key_manager_id == km.id)
        {
            return Err(conflict());
        }
        let client = obtain_client(state, &app, &km, keys).await?;
        let key_id = Uuid::now_v7();
        let write = KeyWrite {
            id: key_id,
            application_id: app.id,
            key_manager_id: km.id,
            client_id: client.client_id,
            registered: client.registered,
            secret: client.secret.map(|s| {
                state
                    .keyring
                    .seal(s.as_bytes(), &application_key_context(&key_id.to_string()))
            }),
        };
        let mut tx = state.db.begin().await?;
        let row = store::insert_key(&mut tx, &write)
            .await
            .map_err(|e| match e {
                WriteError::DuplicateName => conflict(),
                WriteError::VersionMismatch => ServiceError::PreconditionFailed,
                WriteError::Database(e) => e.into(),
            })?;
        audit::record(&mut *tx, owner, &change).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await
}

/// The keys of the owner's application, oldest first.
pub async fn keys(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
) -> Result<Vec<KeyRow>, ServiceError> {
    let app = find(state, owner, id).await?;
    Ok(store::keys(&state.db, app.id).await?)
}

/// Removes the application's keys at a key manager (by name or id); the client at the
/// IdP stays there.
pub async fn delete_keys(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
    key_manager: &str,
) -> Result<(), ServiceError> {
    let change = Change::new("applications.keys.delete", "applications").on(id);
    audit::attempt(state, owner, change.clone(), async {
        let app = find(state, owner, id).await?;
        let km = key_managers::lookup(state, key_manager)
            .await?
            .ok_or(ServiceError::NotFound("keys"))?;
        let mut tx = state.db.begin().await?;
        if !store::delete_key(&mut *tx, app.id, km.id).await? {
            return Err(ServiceError::NotFound("keys"));
        }
        audit::record(&mut *tx, owner, &change).await?;
        Ok(tx.commit().await?)
    })
    .await
}

/// The key to use: the one at the named key manager, else the only one.
fn choose_key(keys: Vec<KeyRow>, wanted: Option<&KeyManagerRow>) -> Result<KeyRow, ServiceError> {
    if let Some(km) = wanted {
        return keys
            .into_iter()
            .find(|k| k.key_manager_id == km.id)
            .ok_or_else(|| {
                ServiceError::field(
                    "keyManager",
                    format!("the application has no keys at `{}`", km.name),
                )
            });
    }
    match keys.len() {
        0 => Err(ServiceError::Unprocessable {
            detail: "the application has no keys yet; add some with POST …/keys".into(),
            extra: Default::default(),
        }),
        1 => Ok(keys.into_iter().next().expect("one key")),
        _ => {
            let names: Vec<String> = keys.into_iter().map(|k| k.key_manager_name).collect();
            Err(ServiceError::field(
                "keyManager",
                format!(
                    "is required: the application has keys at {}",
                    names.join(", ")
                ),
            ))
        }
    }
}

/// An access token for the owner's application: the client-credentials grant at the key
/// manager (`key_manager`, by name or id, or the only one the application has keys at)
/// with the application's client, the key manager's audience and scopes.
pub async fn token(
    state: &AppState,
    owner: &Actor,
    id: ApplicationId,
    key_manager: Option<&str>,
) -> Result<TokenResponse, ServiceError> {
    let app = find(state, owner, id).await?;
    let wanted = match key_manager {
        Some(key) => Some(named_key_manager(state, key).await?),
        None => None,
    };
    let key = choose_key(store::keys(&state.db, app.id).await?, wanted.as_ref())?;
    let km = match wanted {
        Some(km) => km,
        None => key_managers::find(state, key.key_manager_id).await?,
    };
    let secret = key
        .sealed_secret()
        .map(|sealed| {
            open_text(
                state,
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
        .map_err(|e| idp_error(&km.name, e))
}
