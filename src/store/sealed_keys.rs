//! Keys fedgate generates for itself and keeps sealed in the database.

use sqlx::PgPool;

use crate::secrets::{Keyring, Sealed};

/// Returns the key for `purpose`, generating and storing it on first use. Safe against
/// replicas racing: the first insert wins and everyone reads that one.
pub async fn get_or_create(
    pool: &PgPool,
    keyring: &Keyring,
    purpose: &str,
    generate: impl FnOnce() -> Vec<u8>,
) -> anyhow::Result<secrecy::SecretSlice<u8>> {
    let fresh = keyring.seal(&generate(), purpose);
    sqlx::query(
        "INSERT INTO sealed_keys (purpose, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)
         ON CONFLICT (purpose) DO NOTHING",
    )
    .bind(purpose)
    .bind(&fresh.key_id)
    .bind(&fresh.nonce)
    .bind(&fresh.ciphertext)
    .execute(pool)
    .await?;
    let (key_id, nonce, ciphertext): (String, Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT key_id, nonce, ciphertext FROM sealed_keys WHERE purpose = $1")
            .bind(purpose)
            .fetch_one(pool)
            .await?;
    let sealed = Sealed {
        key_id,
        nonce,
        ciphertext,
    };
    let key = keyring
        .open(&sealed, purpose)
        .map_err(|e| anyhow::anyhow!("stored key `{purpose}`: {e}"))?;
    Ok(key)
}
