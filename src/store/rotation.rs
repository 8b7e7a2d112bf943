//! Master-key rotation: re-seals every stored secret that an older key sealed.

use sqlx::PgPool;

use crate::secrets::{Keyring, Sealed};

/// A table holding sealed values: its key column, the three sealed columns, and how the
/// sealing context is derived from the key.
struct SealedTable {
    table: &'static str,
    key: &'static str,
    columns: [&'static str; 3],
    context: fn(&str) -> String,
}

const TABLES: [SealedTable; 4] = [
    SealedTable {
        table: "sealed_keys",
        key: "purpose",
        columns: ["key_id", "nonce", "ciphertext"],
        context: |purpose| purpose.to_owned(),
    },
    SealedTable {
        table: "environments",
        key: "id::text",
        columns: ["secret_key_id", "secret_nonce", "secret_ciphertext"],
        context: environment_context,
    },
    SealedTable {
        table: "key_managers",
        key: "id::text",
        columns: ["secret_key_id", "secret_nonce", "secret_ciphertext"],
        context: key_manager_context,
    },
    SealedTable {
        table: "application_keys",
        key: "id::text",
        columns: ["secret_key_id", "secret_nonce", "secret_ciphertext"],
        context: application_key_context,
    },
];

pub fn environment_context(id: &str) -> String {
    format!("environment:{id}:credentials")
}

pub fn key_manager_context(id: &str) -> String {
    format!("key-manager:{id}:registrationToken")
}

pub fn application_key_context(id: &str) -> String {
    format!("application-key:{id}:clientSecret")
}

/// Re-seals under the current key every value sealed by another; returns how many.
/// Each row is rewritten only if it still holds the value read (replicas may race).
pub async fn reseal_all(pool: &PgPool, keyring: &Keyring) -> anyhow::Result<u64> {
    let mut resealed = 0;
    for t in &TABLES {
        let [key_id, nonce, ciphertext] = t.columns;
        let rows: Vec<(String, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(&format!(
            "SELECT {key}, {key_id}, {nonce}, {ciphertext} FROM {table}
             WHERE {key_id} IS NOT NULL AND {key_id} <> $1",
            key = t.key,
            table = t.table
        ))
        .bind(keyring.current_key_id())
        .fetch_all(pool)
        .await?;
        for (row_key, old_key_id, old_nonce, old_ciphertext) in rows {
            let context = (t.context)(&row_key);
            let old = Sealed {
                key_id: old_key_id,
                nonce: old_nonce,
                ciphertext: old_ciphertext,
            };
            let plaintext = keyring
                .open(&old, &context)
                .map_err(|e| anyhow::anyhow!("{} {row_key}: {e}", t.table))?;
            let new = keyring.seal(secrecy::ExposeSecret::expose_secret(&plaintext), &context);
            let updated = sqlx::query(&format!(
                "UPDATE {table} SET {key_id} = $1, {nonce} = $2, {ciphertext} = $3
                 WHERE {key} = $4 AND {ciphertext} = $5",
                table = t.table,
                key = t.key,
            ))
            .bind(&new.key_id)
            .bind(&new.nonce)
            .bind(&new.ciphertext)
            .bind(&row_key)
            .bind(&old.ciphertext)
            .execute(pool)
            .await?;
            resealed += updated.rows_affected();
        }
    }
    Ok(resealed)
}
