//! Client secrets: generated randomly, stored only as argon2id hashes.

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};
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
/// itself, so a caller that gives up does not free it early. The runs reuse one memory
/// area per permit, allocated once: the allocator never sees 19 MiB come and go, so the
/// process does not keep a freed area per thread either.
#[derive(Clone)]
pub struct SecretHasher {
    permits: Arc<Semaphore>,
    bound: usize,
    areas: Arc<Mutex<Vec<Vec<Block>>>>,
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
            areas: Arc::default(),
        }
    }

    pub async fn hash(&self, secret: SecretString) -> anyhow::Result<String> {
        self.run(move |memory| hash_with(&secret, memory)).await?
    }

    /// Verifies `secret` against `stored`. With no stored hash (unknown client) it still
    /// spends the same work, so response time does not reveal which client ids exist.
    pub async fn verify(&self, secret: SecretString, stored: Option<String>) -> bool {
        self.run(move |memory| verify_with(&secret, stored, memory))
            .await
            .unwrap_or(false)
    }

    /// Runs `work` on the blocking pool under a permit, with a memory area of its own.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = self.permits.clone().acquire_owned().await?;
        let areas = self.areas.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // There are never more areas than permits: each holder of a permit takes one.
            let mut memory = areas
                .lock()
                .expect("not poisoned")
                .pop()
                .unwrap_or_default();
            let result = work(&mut memory);
            areas.lock().expect("not poisoned").push(memory);
            result
        })
        .await?)
    }

    /// Checks running now.
    pub fn in_use(&self) -> usize {
        self.bound - self.permits.available_permits()
    }
}

/// argon2 of `password` under the algorithm, version and parameters of `like` (the
/// defaults when none), in `memory` (grown to the parameters' size once).
fn argon2_into(
    password: &[u8],
    salt: &Salt<'_>,
    like: Option<&PasswordHash<'_>>,
    memory: &mut Vec<Block>,
) -> password_hash::Result<Output> {
    let hasher = match like {
        Some(hash) => Argon2::new(
            Algorithm::try_from(hash.algorithm)?,
            hash.version
                .map(Version::try_from)
                .transpose()?
                .unwrap_or_default(),
            Params::try_from(hash)?,
        ),
        None => Argon2::default(),
    };
    let params = hasher.params();
    memory.resize(params.block_count(), Block::default());
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let length = like
        .and_then(|hash| hash.hash.map(|h| h.len()))
        .unwrap_or(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN));
    Output::init_with(length, |out| {
        hasher
            .hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..])
            .map_err(password_hash::Error::from)
    })
}

fn hash_with(secret: &SecretString, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let output = argon2_into(
        secret.expose_secret().as_bytes(),
        &salt.as_salt(),
        None,
        memory,
    )
    .map_err(|e| anyhow::anyhow!("hashing a client secret: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&Params::default())
            .map_err(|e| anyhow::anyhow!("hashing a client secret: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

fn verify_with(secret: &SecretString, stored: Option<String>, memory: &mut Vec<Block>) -> bool {
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
    let Ok(parsed) = PasswordHash::new(&stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    // `Output`'s equality is constant-time.
    argon2_into(
        secret.expose_secret().as_bytes(),
        &salt,
        Some(&parsed),
        memory,
    )
    .is_ok_and(|computed| computed == expected)
}

/// Hashes on the blocking pool, outside any bound: for start-up (the bootstrap client).
pub async fn hash(secret: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_with(&secret, &mut Vec::new())).await?
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

    #[tokio::test]
    async fn hashes_are_standard_phc_argon2id_both_ways() {
        use argon2::PasswordVerifier;
        let hasher = SecretHasher::new(1);
        // Stored before the reusable memory (argon2's own hashing) still verifies…
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let old = Argon2::default()
            .hash_password(b"old-secret", &salt)
            .unwrap()
            .to_string();
        assert!(
            hasher
                .verify(SecretString::from("old-secret"), Some(old.clone()))
                .await
        );
        assert!(
            !hasher
                .verify(SecretString::from("old-secreT"), Some(old))
                .await
        );
        // … and what it hashes now is a standard PHC string argon2 itself verifies.
        let new = hasher.hash(SecretString::from("new-secret")).await.unwrap();
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"new-secret", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"new-secreT", &parsed)
                .is_err()
        );
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
