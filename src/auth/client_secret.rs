//! Client secrets: generated randomly, stored only as argon2id hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// 32 random bytes, base64url: 256 bits, no padding, safe in forms and headers.
pub fn generate() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Hashes and checks secrets, at most `permits` at once: each argon2 run takes 19 MiB and
/// a core for ~50 ms, so unbounded concurrent checks (wrong secrets cost the same) would
/// exhaust memory. Callers beyond the bound wait; the permit is held by the blocking task
/// itself, so a caller that gives up does not free it early.
#[derive(Clone)]
pub struct SecretHasher {
    permits: Arc<Semaphore>,
    bound: usize,
}

impl SecretHasher {
    /// `permits` = 0 means one per CPU core.
    pub fn new(permits: usize) -> Self {
        let permits = if permits == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            permits
        };
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            bound: permits,
        }
    }

    pub async fn hash(&self, secret: SecretString) -> anyhow::Result<String> {
        let permit = self.permits.clone().acquire_owned().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_now(&secret)
        })
        .await?
    }

    /// Verifies `secret` against `stored`. With no stored hash (unknown client) it still
    /// spends the same work, so response time does not reveal which client ids exist.
    pub async fn verify(&self, secret: SecretString, stored: Option<String>) -> bool {
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_now(&secret, stored)
        })
        .await
        .unwrap_or(false)
    }

    /// Checks running now.
    pub fn in_use(&self) -> usize {
        self.bound - self.permits.available_permits()
    }
}

fn hash_now(secret: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(secret.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a client secret: {e}"))
}

fn verify_now(secret: &SecretString, stored: Option<String>) -> bool {
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
    let Ok(parsed) = PasswordHash::new(&stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(secret.expose_secret().as_bytes(), &parsed)
        .is_ok()
}

/// Hashes on the blocking pool, outside any bound: for start-up (the bootstrap client).
pub async fn hash(secret: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&secret)).await?
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
        let hasher = SecretHasher::new(0);
        let secret = generate();
        let hash = hasher.hash(secret.clone()).await.unwrap();
        assert!(!hash.contains(secret.expose_secret()));
        assert!(hasher.verify(secret, Some(hash.clone())).await);
        assert!(!hasher.verify(SecretString::from("wrong"), Some(hash)).await);
        assert!(!hasher.verify(SecretString::from("wrong"), None).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_bound_of_checks_run_at_once() {
        let hasher = SecretHasher::new(2);
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let checks: Vec<_> = (0..12)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.verify(SecretString::from("x"), None).await })
            })
            .collect();
        let watcher = {
            let (hasher, peak) = (hasher.clone(), peak.clone());
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(hasher.in_use(), std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            })
        };
        for check in checks {
            assert!(!check.await.unwrap());
        }
        watcher.abort();
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
