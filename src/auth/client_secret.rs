//! Client secrets: generated randomly, stored only as argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// 32 random bytes, base64url: 256 bits, no padding, safe in forms and headers.
pub fn generate() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Hashes on the blocking pool: argon2 is deliberately slow.
pub async fn hash(secret: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(secret.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a client secret: {e}"))
    })
    .await?
}

/// Verifies `secret` against `stored`. With no stored hash (unknown client) it still
/// spends the same work, so response time does not reveal which client ids exist.
pub async fn verify(secret: SecretString, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(secret.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(b"no such client", &salt)
        .expect("hashing a constant")
        .to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let secret = generate();
        let hash = hash(secret.clone()).await.unwrap();
        assert!(!hash.contains(secret.expose_secret()));
        assert!(verify(secret, Some(hash.clone())).await);
        assert!(!verify(SecretString::from("wrong"), Some(hash)).await);
        assert!(!verify(SecretString::from("wrong"), None).await);
    }
}
