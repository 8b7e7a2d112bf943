//! First start: with no client at all, create `admin` so someone can log in.

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use crate::domain::client::{ClientName, NewClient, OAuthClientId};
use crate::domain::scope::Scopes;
use crate::store;

pub const BOOTSTRAP_CLIENT_ID: &str = "admin";

pub async fn ensure_admin_client(
    pool: &PgPool,
    configured_secret: Option<&SecretString>,
) -> anyhow::Result<()> {
    let client = NewClient {
        name: ClientName::parse("Bootstrap administrator").expect("valid constant"),
        client_id: OAuthClientId::parse(BOOTSTRAP_CLIENT_ID).expect("valid constant"),
        scopes: Scopes::all(),
    };
    let secret = configured_secret
        .cloned()
        .unwrap_or_else(crate::auth::client_secret::generate);
    let hash = crate::auth::client_secret::hash(secret.clone()).await?;
    if !store::clients::insert_if_none_exist(pool, &client, &hash).await? {
        if configured_secret.is_some() {
            tracing::warn!(
                "FEDGATE_BOOTSTRAP_ADMIN_SECRET is set but not used: it only seeds the first \
                 start, and clients exist already. To get back in, run \
                 `fedgate server reset-admin-secret [CLIENT]`"
            );
        }
        return Ok(());
    }
    if configured_secret.is_some() {
        tracing::info!(
            client_id = BOOTSTRAP_CLIENT_ID,
            "created the bootstrap admin client with the configured secret"
        );
    } else {
        // Printed exactly once, by design: this is the only way to learn it.
        tracing::warn!(
            client_id = BOOTSTRAP_CLIENT_ID,
            "created the bootstrap admin client; its secret, shown only now, is: {}",
            secret.expose_secret()
        );
    }
    Ok(())
}
