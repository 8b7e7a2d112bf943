//! Key managers: third-party OAuth2 / OIDC identity providers, given in full or
//! discovered (through the outbound guard) from their `wellKnownUrl`. The initial access
//! token for dynamic client registration is sealed to the key manager and kept on a
//! replace that omits it.

use super::audit::{self, Change};
use super::{Actor, AppState, Precondition, ServiceError};
use crate::domain::deployment::JobKind;
use crate::domain::environment::parse_endpoint_url;
use crate::domain::ids::KeyManagerId;
use crate::domain::key_manager::{Discovery, KeyManagerInput, KeyManagerSpec};
use crate::domain::validation::WriteOnly;
use crate::idp::{IdpError, discovery};
use crate::secrets::Sealed;
use crate::store::apis as api_store;
use crate::store::deployments;
use crate::store::key_managers::{self as store, KeyManagerRow, KeyManagerWrite, UpsertError};
use crate::store::managed_authorizers;
use crate::store::rotation::key_manager_context;

/// A key manager as a front end gives it.
pub struct KeyManagerRequest<'a> {
    /// The explicit fields; they win over discovered ones.
    pub fields: KeyManagerInput<'a>,
    /// Where to discover the endpoints the fields leave out (stored as given).
    pub well_known_url: Option<&'a str>,
    /// The initial access token for registration: kept when omitted, removed by `null`.
    pub registration_token: WriteOnly<&'a str>,
}

/// Fetches the discovery document through the outbound guard; every failure is the
/// `wellKnownUrl` field's.
async fn discover(state: &AppState, well_known_url: &str) -> Result<Discovery, ServiceError> {
    let field = |reason: String| ServiceError::field("wellKnownUrl", reason);
    let url = parse_endpoint_url(well_known_url).map_err(field)?;
    let discovered = discovery::fetch(&state.outbound, &url)
        .await
        .map_err(|e| match e {
            IdpError::Refused(refused) => field(refused.to_string()),
            other => field(format!("discovery failed: {other}")),
        })?;
    // The request's URL is at fault, most often: another name of the issuer's host.
    discovered.check_issuer(&url).map_err(field)?;
    Ok(discovered)
}

/// Validates the request (discovering what it leaves out) into the row to write.
async fn to_write(
    state: &AppState,
    request: &KeyManagerRequest<'_>,
    id: KeyManagerId,
    existing: Option<&KeyManagerRow>,
    actor: &str,
) -> Result<KeyManagerWrite, ServiceError> {
    let discovered = match request.well_known_url {
        Some(url) => discover(state, url).await?,
        None => Discovery::default(),
    };
    let spec =
        KeyManagerSpec::parse(&request.fields, &discovered).map_err(ServiceError::Validation)?;
    let registration_token: Option<Sealed> = match request.registration_token {
        WriteOnly::Set("") => {
            return Err(ServiceError::field(
                "registrationToken",
                "must not be empty",
            ));
        }
        WriteOnly::Set(token) => Some(
            state
                .keyring
                .seal(token.as_bytes(), &key_manager_context(&id.to_string())),
        ),
        WriteOnly::Keep => existing.and_then(|row| row.sealed_registration_token()),
        WriteOnly::Remove => None,
    };
    Ok(KeyManagerWrite {
        id,
        name: spec.name.as_str().to_owned(),
        display_name: spec.display_name,
        well_known_url: request.well_known_url.map(str::to_owned),
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

pub async fn find(state: &AppState, id: KeyManagerId) -> Result<KeyManagerRow, ServiceError> {
    store::get(&state.db, id)
        .await?
        .ok_or(ServiceError::NotFound("key manager"))
}

/// A key manager by id, or by name; `None` when there is none.
pub async fn lookup(state: &AppState, key: &str) -> Result<Option<KeyManagerRow>, ServiceError> {
    Ok(match key.parse::<KeyManagerId>() {
        Ok(id) => store::get(&state.db, id).await?,
        Err(_) => store::get_by_name(&state.db, key).await?,
    })
}

pub async fn list(
    state: &AppState,
    after: Option<KeyManagerId>,
    limit: i64,
) -> Result<Vec<KeyManagerRow>, ServiceError> {
    Ok(store::list(&state.db, after, limit).await?)
}

pub async fn create(
    state: &AppState,
    request: &KeyManagerRequest<'_>,
    actor: &Actor,
) -> Result<KeyManagerRow, ServiceError> {
    let id = KeyManagerId::new();
    let change = Change::new("key-managers.create", "key-managers").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let write = to_write(state, request, id, None, actor.name()).await?;
        save(state, &write, None, actor, &change).await
    })
    .await
}

/// Replaces a key manager if `precondition` accepts its version. Discovery runs between
/// the read and the write, so the write applies only to the version read (a concurrent
/// change makes it fail as a precondition).
pub async fn replace(
    state: &AppState,
    id: KeyManagerId,
    request: &KeyManagerRequest<'_>,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<KeyManagerRow, ServiceError> {
    let change = Change::new("key-managers.update", "key-managers").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let current = find(state, id).await?;
        precondition.check(current.version)?;
        let write = to_write(state, request, id, Some(&current), actor.name()).await?;
        // API designs name it by name: a rename would leave them naming none.
        let renamed = (write.name != current.name).then_some(current.name.as_str());
        let existing = Existing {
            version: current.version,
            renamed_from: renamed,
        };
        save(state, &write, Some(existing), actor, &change).await
    })
    .await
}

/// The key manager a `save` replaces.
struct Existing<'a> {
    version: i64,
    /// Its name, when the write gives it another.
    renamed_from: Option<&'a str>,
}

/// Writes a key manager (inserts, or replaces `existing`) with its audit entry, unless
/// another key manager has its issuer: a token's issuer must name one key manager.
/// Checked in the write's transaction; two writes racing for one issuer are settled by
/// the unique index, and the loser is told the same. A rename is refused while an API's
/// design names the old name.
async fn save(
    state: &AppState,
    write: &KeyManagerWrite,
    existing: Option<Existing<'_>>,
    actor: &Actor,
    change: &Change,
) -> Result<KeyManagerRow, ServiceError> {
    let expected_version = existing.as_ref().map(|e| e.version);
    let mut tx = state.db.begin().await?;
    if let Some(holder) = issuer_holder(&mut *tx, write).await? {
        return Err(issuer_taken(&holder));
    }
    let row = match store::upsert(&mut *tx, write, expected_version).await {
        Ok(row) => row,
        Err(UpsertError::IssuerTaken) => {
            drop(tx);
            return Err(match issuer_holder(&state.db, write).await? {
                Some(holder) => issuer_taken(&holder),
                None => ServiceError::Conflict(format!(
                    "another key manager has the issuer `{}`",
                    write.issuer
                )),
            });
        }
        Err(UpsertError::Write(e)) => {
            return Err(ServiceError::from_write(e, "a key manager", &write.name));
        }
    };
    // After the write, which holds the row: an API write naming the old name waits for
    // it and then finds none, and one committed before is seen here.
    if let Some(old) = existing.and_then(|e| e.renamed_from) {
        refuse_if_named_by_apis(&mut tx, old, write.id, "renaming").await?;
    }
    audit::record(&mut *tx, actor, change).await?;
    let refreshes = queue_authorizer_refreshes(&mut tx, row.id, actor).await?;
    tx.commit().await?;
    if refreshes > 0 {
        state.jobs_waker.notify_waiters();
    }
    Ok(row)
}

/// Queues, for every environment where a managed authorizer of the key manager is
/// provisioned, a job bringing it up to date with the key manager's settings (a package
/// that comes out the same makes no AWS call).
async fn queue_authorizer_refreshes(
    tx: &mut sqlx::PgConnection,
    id: KeyManagerId,
    actor: &Actor,
) -> Result<usize, sqlx::Error> {
    let users = managed_authorizers::one_user_per_environment(&mut *tx, id).await?;
    for (_, api_id, environment_id) in &users {
        deployments::request(
            tx,
            *api_id,
            *environment_id,
            JobKind::Authorizer,
            None,
            actor.name(),
        )
        .await?;
    }
    Ok(users.len())
}

/// Another key manager with the issuer of `write`.
async fn issuer_holder(
    db: impl sqlx::PgExecutor<'_>,
    write: &KeyManagerWrite,
) -> Result<Option<KeyManagerRow>, ServiceError> {
    Ok(store::find_by_issuer(db, &write.issuer)
        .await?
        .into_iter()
        .find(|km| km.id != write.id))
}

/// How many APIs a refusal names; the rest are counted.
const NAMED_APIS: i64 = 5;

/// Refuses to delete or rename (`doing`) a key manager that a managed policy of an API's
/// current design names: the policy would name no key manager.
async fn refuse_if_named_by_apis(
    conn: &mut sqlx::PgConnection,
    name: &str,
    id: KeyManagerId,
    doing: &str,
) -> Result<(), ServiceError> {
    let apis = api_store::naming_key_manager(conn, name, id, NAMED_APIS).await?;
    let Some((_, _, total)) = apis.first() else {
        return Ok(());
    };
    let mut named: Vec<String> = apis
        .iter()
        .map(|(api, api_name, _)| format!("`{api_name}` (id {api})"))
        .collect();
    let more = total - apis.len() as i64;
    if more > 0 {
        named.push(format!("{more} more"));
    }
    Err(ServiceError::Conflict(format!(
        "key manager `{name}` secures resources of the APIs {}: remove its policies from \
         them before {doing} it",
        named.join(", ")
    )))
}

fn issuer_taken(holder: &KeyManagerRow) -> ServiceError {
    ServiceError::Conflict(format!(
        "key manager `{}` already has the issuer `{}`; an issuer belongs to one key manager",
        holder.name, holder.issuer
    ))
}

/// Deletes a key manager (with the applications' keys at it) if `precondition` accepts
/// its version and no API's design secures resources with it.
pub async fn delete(
    state: &AppState,
    id: KeyManagerId,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let change = Change::new("key-managers.delete", "key-managers").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let mut tx = state.db.begin().await?;
        let (version, name) = store::delete(&mut *tx, id)
            .await?
            .ok_or(ServiceError::NotFound("key manager"))?;
        // Refused, the transaction ends without a commit: nothing was deleted.
        precondition.check(version)?;
        refuse_if_named_by_apis(&mut tx, &name, id, "deleting").await?;
        audit::record(&mut *tx, actor, &change).await?;
        Ok(tx.commit().await?)
    })
    .await
}
