//! API clients that obtain fedgate access tokens: created with a generated secret of
//! which only a hash is kept, their secret rotated, deleted unless the last admin.

use secrecy::SecretString;

use super::{AppState, ServiceError};
use crate::auth::client_secret;
use crate::domain::client::NewClient;
use crate::domain::ids::ClientRecordId;
use crate::store::clients::{self as store, ClientRow, DeleteOutcome, InsertClientError};

/// A client with the secret just generated for it: shown once, then only its hash is kept.
pub struct WithSecret {
    pub client: ClientRow,
    pub secret: SecretString,
}

/// A new secret and its hash.
async fn new_secret() -> Result<(SecretString, String), ServiceError> {
    let secret = client_secret::generate();
    let hash = client_secret::hash(secret.clone()).await?;
    Ok((secret, hash))
}

pub async fn create(state: &AppState, client: &NewClient) -> Result<WithSecret, ServiceError> {
    let (secret, hash) = new_secret().await?;
    let row = store::insert(&state.db, client, &hash)
        .await
        .map_err(|e| match e {
            InsertClientError::DuplicateClientId => ServiceError::Conflict(format!(
                "a client with clientId `{}` already exists",
                client.client_id.as_str()
            )),
            InsertClientError::Database(e) => e.into(),
        })?;
    tracing::info!(client_id = %row.client_id, "created an API client");
    Ok(WithSecret {
        client: row,
        secret,
    })
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

/// Deletes a client (its tokens stop working at once), but never the last one with the
/// admin scope.
pub async fn delete(state: &AppState, id: ClientRecordId) -> Result<(), ServiceError> {
    match store::delete_unless_last_admin(&state.db, id).await? {
        DeleteOutcome::Deleted => Ok(()),
        DeleteOutcome::NotFound => Err(ServiceError::NotFound("client")),
        DeleteOutcome::LastAdmin => Err(ServiceError::Conflict(
            "this is the last client with the admin scope; create another admin client first"
                .into(),
        )),
    }
}

/// Replaces a client's secret; the old one stops working.
pub async fn rotate_secret(
    state: &AppState,
    id: ClientRecordId,
) -> Result<WithSecret, ServiceError> {
    let (secret, hash) = new_secret().await?;
    let row = store::replace_secret_hash(&state.db, id, &hash)
        .await?
        .ok_or(ServiceError::NotFound("client"))?;
    tracing::info!(client_id = %row.client_id, "rotated a client secret");
    Ok(WithSecret {
        client: row,
        secret,
    })
}
