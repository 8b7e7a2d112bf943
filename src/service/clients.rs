//! API clients that obtain fedgate access tokens: created with a generated secret of
//! which only a hash is kept, their secret rotated, deleted unless the last admin.

use secrecy::SecretString;

use sqlx::PgPool;

use super::audit::{self, Change};
use super::{Actor, AppState, ServiceError};
use crate::auth::client_secret::{self, SecretHasher};
use crate::domain::client::NewClient;
use crate::domain::ids::ClientRecordId;
use crate::store::clients::{self as store, ClientRow, DeleteOutcome, InsertClientError};

/// A client with the secret just generated for it: shown once, then only its hash is kept.
pub struct WithSecret {
    pub client: ClientRow,
    pub secret: SecretString,
}

/// A new secret and its hash.
async fn new_secret(hasher: &SecretHasher) -> Result<(SecretString, String), ServiceError> {
    let secret = client_secret::generate();
    let hash = hasher.hash(secret.clone()).await?;
    Ok((secret, hash))
}

pub async fn create(
    state: &AppState,
    client: &NewClient,
    actor: &Actor,
) -> Result<WithSecret, ServiceError> {
    let change = Change::new("clients.create", "clients");
    audit::attempt(state, actor, change.clone(), async {
        let (secret, hash) = new_secret(&state.hasher).await?;
        let mut tx = state.db.begin().await?;
        let row = store::insert(&mut *tx, client, &hash)
            .await
            .map_err(|e| match e {
                InsertClientError::DuplicateClientId => ServiceError::Conflict(format!(
                    "a client with clientId `{}` already exists",
                    client.client_id.as_str()
                )),
                InsertClientError::Database(e) => e.into(),
            })?;
        audit::record(&mut *tx, actor, &change.on(row.id)).await?;
        tx.commit().await?;
        tracing::info!(client_id = %row.client_id, "created an API client");
        Ok(WithSecret {
            client: row,
            secret,
        })
    })
    .await
}

pub async fn list(
    state: &AppState,
    after: Option<ClientRecordId>,
    limit: i64,
) -> Result<Vec<ClientRow>, ServiceError> {
    Ok(store::list(&state.db, after, limit).await?)
}

pub async fn find(state: &AppState, id: ClientRecordId) -> Result<ClientRow, ServiceError> {
    store::get(&state.db, id)
        .await?
        .ok_or(ServiceError::NotFound("client"))
}

/// Deletes a client — its tokens stop working at once, and a client created later under
/// the same client id is a new record that none of them, nor its applications, belong
/// to — but never the last one with the admin scope.
pub async fn delete(
    state: &AppState,
    id: ClientRecordId,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let change = Change::new("clients.delete", "clients").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let mut tx = state.db.begin().await?;
        match store::delete_unless_last_admin(&mut tx, id).await? {
            DeleteOutcome::Deleted => {}
            DeleteOutcome::NotFound => return Err(ServiceError::NotFound("client")),
            DeleteOutcome::LastAdmin => {
                return Err(ServiceError::Conflict(
                    "this is the last client with the admin scope; create another admin \
                     client first"
                        .into(),
                ));
            }
        }
        audit::record(&mut *tx, actor, &change).await?;
        Ok(tx.commit().await?)
    })
    .await
}

/// Replaces a client's secret: the old one stops working, and so does every token issued
/// so far (the client's generation moves on).
pub async fn rotate_secret(
    state: &AppState,
    id: ClientRecordId,
    actor: &Actor,
) -> Result<WithSecret, ServiceError> {
    rotate(&state.db, &state.hasher, ClientKey::Record(id), actor).await
}

/// `rotate_secret` of the client with `client_id`, for an operator with the database in
/// hand and no working credentials (`fedgate server reset-admin-secret`).
pub async fn reset_secret(
    db: &PgPool,
    hasher: &SecretHasher,
    client_id: &str,
    actor: &Actor,
) -> Result<WithSecret, ServiceError> {
    rotate(db, hasher, ClientKey::ClientId(client_id), actor).await
}

enum ClientKey<'a> {
    Record(ClientRecordId),
    ClientId(&'a str),
}

async fn rotate(
    db: &PgPool,
    hasher: &SecretHasher,
    client: ClientKey<'_>,
    actor: &Actor,
) -> Result<WithSecret, ServiceError> {
    let target = match &client {
        ClientKey::Record(id) => id.to_string(),
        ClientKey::ClientId(client_id) => (*client_id).to_owned(),
    };
    let change = Change::new("clients.rotate-secret", "clients").on(target);
    audit::attempt_on(db, actor, change, async {
        let id = match client {
            ClientKey::Record(id) => id,
            ClientKey::ClientId(client_id) => {
                store::find_by_client_id(db, client_id)
                    .await?
                    .ok_or(ServiceError::NotFound("client"))?
                    .id
            }
        };
        let (secret, hash) = new_secret(hasher).await?;
        let mut tx = db.begin().await?;
        let row = store::replace_secret_hash(&mut *tx, id, &hash)
            .await?
            .ok_or(ServiceError::NotFound("client"))?;
        let change = Change::new("clients.rotate-secret", "clients").on(row.id);
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        tracing::info!(client_id = %row.client_id, "rotated a client secret");
        Ok(WithSecret {
            client: row,
            secret,
        })
    })
    .await
}
