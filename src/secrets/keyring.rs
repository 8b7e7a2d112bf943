//! Sealing and opening secrets with the current master key, and the previous one while a
//! rotation is under way.

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::SecretSlice;

use super::MasterKey;

/// A secret as stored: which key sealed it, the nonce, and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret was sealed with master key {0}, which is not configured")]
    UnknownKey(String),
    #[error("secret could not be decrypted (wrong key or tampered data)")]
    Corrupt,
}

#[derive(Debug, Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Option<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, previous: Option<MasterKey>) -> Self {
        Self { current, previous }
    }

    pub fn current_key_id(&self) -> &str {
        self.current.id()
    }

    /// Encrypts `plaintext`; `context` (e.g. "environment:{id}:secretAccessKey") is bound
    /// to the ciphertext so a sealed value cannot be moved to another row or field.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        Sealed {
            key_id: self.current.id().to_owned(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<SecretSlice<u8>, SecretsError> {
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|key| key.id() == sealed.key_id)
            .ok_or_else(|| SecretsError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(SecretsError::Corrupt);
        }
        key.cipher()
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map(SecretSlice::from)
            .map_err(|_| SecretsError::Corrupt)
    }

    /// True when the value should be re-sealed under the current key.
    pub fn is_stale(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn round_trip_and_context_binding() {
        let ring = Keyring::new(MasterKey::generate(), None);
        let sealed = ring.seal(b"wJalrXUtnFEMI", "env:1:secret");
        assert!(!sealed.ciphertext.windows(5).any(|w| w == b"wJalr"));
        let opened = ring.open(&sealed, "env:1:secret").unwrap();
        assert_eq!(opened.expose_secret(), b"wJalrXUtnFEMI");
        assert!(matches!(
            ring.open(&sealed, "env:2:secret"),
            Err(SecretsError::Corrupt)
        ));
    }

    #[test]
    fn previous_key_opens_old_values() {
        let old = MasterKey::generate();
        let sealed = Keyring::new(old.clone(), None).seal(b"s3cret", "ctx");
        let rotated = Keyring::new(MasterKey::generate(), Some(old));
        assert!(rotated.is_stale(&sealed));
        assert_eq!(
            rotated.open(&sealed, "ctx").unwrap().expose_secret(),
            b"s3cret"
        );
        let without_old = Keyring::new(MasterKey::generate(), None);
        assert!(matches!(
            without_old.open(&sealed, "ctx"),
            Err(SecretsError::UnknownKey(_))
        ));
    }
}
