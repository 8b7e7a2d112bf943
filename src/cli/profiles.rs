//! The credentials file: one profile per server (URL, client id and secret, the cached
//! token), as JSON under `$FEDGATE_CLI_CONFIG_DIR`, `$XDG_CONFIG_HOME/fedgate` or
//! `~/.config/fedgate`. It holds secrets, so it is written 0600 in a 0700 directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::CliError;

pub const FILE_NAME: &str = "credentials.json";

#[derive(Default, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// What `fedgate login` stored for one server. Not `Debug`: it holds the secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub server: String,
    pub client_id: String,
    pub client_secret: String,
    /// The scopes asked for at login (all of the client's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<CachedToken>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedToken {
    pub access_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl CachedToken {
    /// Still good for a request that starts now (with a margin for the clock and the trip).
    pub fn is_fresh(&self) -> bool {
        self.expires_at - 30 > chrono::Utc::now().timestamp()
    }
}

/// The credentials file at its place on this machine.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// `$FEDGATE_CLI_CONFIG_DIR`, else `$XDG_CONFIG_HOME/fedgate`, else `~/.config/fedgate`.
    pub fn locate() -> Result<Self, CliError> {
        let non_empty = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        let dir = if let Some(dir) = non_empty("FEDGATE_CLI_CONFIG_DIR") {
            PathBuf::from(dir)
        } else if let Some(config) = non_empty("XDG_CONFIG_HOME") {
            PathBuf::from(config).join("fedgate")
        } else if let Some(home) = non_empty("HOME") {
            PathBuf::from(home).join(".config").join("fedgate")
        } else {
            return Err(CliError::Local(
                "no place for the credentials file: set FEDGATE_CLI_CONFIG_DIR or HOME".into(),
            ));
        };
        Ok(Store { dir })
    }

    pub fn at(dir: &Path) -> Self {
        Store {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The file's profiles; none when it does not exist yet.
    pub fn load(&self) -> Result<Credentials, CliError> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| CliError::local(&format!("cannot read {}", path.display()), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
            Err(e) => Err(CliError::local(
                &format!("cannot read {}", path.display()),
                e,
            )),
        }
    }

    /// The profile `name`, or an error telling how to make it.
    pub fn profile(&self, name: &str) -> Result<Profile, CliError> {
        self.load()?.profiles.remove(name).ok_or_else(|| {
            CliError::Invalid(format!(
                "no profile `{name}` in {}: run `fedgate login --profile {name} --server URL --client-id ID` first",
                self.path().display()
            ))
        })
    }

    /// Sets (Some) or removes (None) one profile, keeping the others as the file holds
    /// them now: another `fedgate` may have refreshed its own token meanwhile.
    pub fn update(&self, name: &str, profile: Option<Profile>) -> Result<bool, CliError> {
        let mut credentials = self.load()?;
        let existed = match profile {
            Some(profile) => credentials
                .profiles
                .insert(name.to_owned(), profile)
                .is_some(),
            None => credentials.profiles.remove(name).is_some(),
        };
        self.save(&credentials)?;
        Ok(existed)
    }

    /// Writes a temporary file created 0600 and renames it over the old one, so the
    /// secrets are never readable by others, not even for a moment, and a reader never
    /// sees half a file.
    fn save(&self, credentials: &Credentials) -> Result<(), CliError> {
        let failed = |e: std::io::Error| {
            CliError::local(&format!("cannot write {}", self.path().display()), e)
        };
        if !self.dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(failed)?;
        }
        let temporary = self
            .dir
            .join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let json = serde_json::to_vec_pretty(credentials).expect("profiles serialise");
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut file| file.write_all(&json).and_then(|()| file.sync_all()))
            .and_then(|()| std::fs::rename(&temporary, self.path()));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn profile(server: &str) -> Profile {
        Profile {
            server: server.into(),
            client_id: "admin".into(),
            client_secret: "s3cret".into(),
            scope: None,
            token: None,
        }
    }

    #[test]
    fn profiles_are_kept_apart_in_a_private_file() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::at(&root.path().join("fedgate"));
        assert!(store.load().unwrap().profiles.is_empty());
        store
            .update("default", Some(profile("http://a:8080")))
            .unwrap();
        store.update("prod", Some(profile("https://b"))).unwrap();
        assert_eq!(store.profile("prod").unwrap().server, "https://b");
        assert!(store.update("default", None).unwrap());
        assert!(store.profile("default").is_err());
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&root.path().join("fedgate")), 0o700);
    }
}
