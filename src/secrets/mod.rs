//! Envelope encryption of secrets at rest (AES-256-GCM under a master key).
//!
//! Each ciphertext records the id of the key that sealed it, so the master key can be
//! rotated: the previous key still opens old values while new ones use the current key.

mod keyring;
mod master_key;

pub use keyring::{Keyring, Sealed, SecretsError};
pub use master_key::{MasterKey, load_master_key};
