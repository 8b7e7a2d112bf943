//! Where the master key comes from: configuration, or a file generated once in the data dir.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aes_gcm::aead::{KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::config::decode_master_key;

/// A 32-byte AES key with a short public id derived from it.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: Key<Aes256Gcm>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // The id names the key without revealing it: a truncated hash is enough.
        let digest = Sha256::digest(bytes);
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            id,
            key: bytes.into(),
        }
    }

    pub fn from_base64(encoded: &str) -> Result<Self, String> {
        decode_master_key(encoded).map(Self::from_bytes)
    }

    pub fn generate() -> Self {
        Self::from_bytes(Aes256Gcm::generate_key(OsRng).into())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.key)
    }

    fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.as_slice())
    }
}

/// The configured key, else the one kept in `data_dir/master.key`, generated on first use.
pub fn load_master_key(
    configured: Option<&SecretString>,
    data_dir: &Path,
) -> anyhow::Result<MasterKey> {
    if let Some(encoded) = configured {
        return MasterKey::from_base64(encoded.expose_secret())
            .map_err(|reason| anyhow::anyhow!("master_key {reason}"));
    }
    let path = data_dir.join("master.key");
    if path.exists() {
        let encoded = std::fs::read_to_string(&path)?;
        return MasterKey::from_base64(&encoded)
            .map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()));
    }
    std::fs::create_dir_all(data_dir)?;
    let key = MasterKey::generate();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    writeln!(file, "{}", key.to_base64())?;
    file.sync_all()?;
    tracing::warn!(
        path = %path.display(),
        "!!! No FEDGATE_MASTER_KEY configured: generated a master key into {}. \
         Every stored secret is encrypted under it: back it up, keep it off shared disks, \
         and set FEDGATE_MASTER_KEY in production. !!!",
        path.display()
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_master_key(None, dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_master_key(None, dir.path()).unwrap();
        assert_eq!(first.id(), second.id());
    }

    #[test]
    fn configured_key_wins_and_debug_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        let encoded = SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let key = load_master_key(Some(&encoded), dir.path()).unwrap();
        assert!(!dir.path().join("master.key").exists());
        assert!(!format!("{key:?}").contains("AAEC"));
    }
}
