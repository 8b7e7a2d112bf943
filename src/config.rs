//! Layered settings: compiled-in `config/default.toml` → optional config file →
//! `FEDGATE_*` environment variables (plus `DATABASE_URL`), validated once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The documented defaults; the same file ships in `config/`.
pub const DEFAULTS_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub database_url: Option<SecretString>,
    pub database_max_connections: u32,
    /// How long a query waits for a database connection before it fails (503).
    pub database_acquire_timeout_ms: u64,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub bootstrap_admin_secret: Option<SecretString>,
    pub master_key: Option<SecretString>,
    pub master_key_previous: Option<SecretString>,
    pub jwt_signing_key: Option<SecretString>,
    pub jwt_issuer: String,
    pub token_ttl_secs: u64,
    /// Lifetime of a console session from sign-in.
    pub console_session_ttl_secs: u64,
    /// A console session unused this long ends.
    pub console_session_idle_secs: u64,
    /// Mark the console's cookie `Secure` (users reach fedgate over https, e.g. through a
    /// TLS-terminating proxy); also set when the request says `X-Forwarded-Proto: https`.
    pub console_secure_cookies: bool,
    /// Client secrets checked at once (argon2, 19 MiB each); 0 means one per CPU core.
    pub token_max_concurrent_checks: usize,
    pub token_failure_window_secs: u64,
    pub token_failures_per_source: u32,
    pub token_failures_per_client_source: u32,
    /// Proxies whose `X-Forwarded-For` names the real source address (CIDRs or IPs).
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub trusted_proxies: Vec<String>,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    /// Largest OpenAPI document the import routes take (they alone).
    pub import_body_limit_bytes: usize,
    pub shutdown_grace_secs: u64,
    pub header_read_timeout_secs: u64,
    pub max_connections: usize,
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub outbound_allow: Vec<String>,
    pub aws_connect_timeout_secs: u64,
    pub aws_call_timeout_secs: u64,
    pub max_revisions_per_api: u32,
    pub max_resources_per_api: u32,
    /// PUT, PATCH and DELETE of a resource with an ETag need `If-Match` (else 428).
    pub require_if_match: bool,
    pub authorizer_ttl_secs: u32,
    pub deploy_workers: usize,
    pub deploy_poll_interval_ms: u64,
    pub deploy_lease_secs: u64,
    pub deploy_max_attempts: u32,
    /// 0: off.
    pub drift_scan_interval_secs: u64,
    pub aws_rate_create_rest_api_ms: u64,
    pub aws_rate_put_rest_api_ms: u64,
    pub aws_rate_create_deployment_ms: u64,
    pub aws_rate_delete_rest_api_ms: u64,
    pub aws_rate_overall_ms: u64,
    pub aws_rate_max_wait_secs: u64,
}

/// `["a", "b"]` in a file, or `a,b` in an environment variable.
fn list_or_comma_separated<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    Ok(match ListOrString::deserialize(d)? {
        ListOrString::List(items) => items,
        ListOrString::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Every setting with its default as `config/default.toml` gives it (`unset` for the
/// commented-out ones), in the file's order: for `--help`.
pub fn default_settings() -> Vec<(String, String)> {
    DEFAULTS_TOML
        .lines()
        .filter_map(|line| {
            let (unset, line) = match line.strip_prefix("# ") {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (key, value) = line.split_once(" = ")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return None;
            }
            let value = if unset { "unset" } else { value.trim() };
            Some((key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// A list of IPs or CIDRs (`trusted_proxies`).
pub fn parse_networks(entries: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("`{entry}` is not an IP address or CIDR"))
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Config {
    /// Loads the layers from the real process environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(config_file))
    }

    /// The layers, exposed so tests can add their own on top.
    pub fn figment(config_file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Toml::string(DEFAULTS_TOML));
        if let Some(path) = config_file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            // FEDGATE_CONFIG names the file itself and is not a setting; FEDGATE_CLI_*
            // belong to the command-line client (`fedgate login`, …), which may run in
            // the same shell as a server.
            .merge(
                Env::prefixed("FEDGATE_")
                    .ignore(&["config"])
                    .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("cli_")),
            )
            .merge(Env::raw().only(&["DATABASE_URL"]))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(invalid(
                    "database_url",
                    "must be a postgres:// or postgresql:// URL",
                ));
            }
        }
        if self.database_max_connections == 0 {
            return Err(invalid("database_max_connections", "must be at least 1"));
        }
        if self.database_acquire_timeout_ms < 100 {
            return Err(invalid(
                "database_acquire_timeout_ms",
                "must be at least 100 (milliseconds)",
            ));
        }
        if let Some(key) = &self.master_key {
            decode_master_key(key.expose_secret()).map_err(|reason| ConfigError::Invalid {
                key: "master_key",
                reason,
            })?;
        }
        if let Some(key) = &self.master_key_previous {
            decode_master_key(key.expose_secret()).map_err(|reason| ConfigError::Invalid {
                key: "master_key_previous",
                reason,
            })?;
            if self.master_key.is_none() {
                return Err(invalid(
                    "master_key_previous",
                    "needs master_key: the previous key is only read during a rotation",
                ));
            }
        }
        crate::outbound::OutboundGuard::new(&self.outbound_allow).map_err(|reason| {
            ConfigError::Invalid {
                key: "outbound_allow",
                reason,
            }
        })?;
        if self.aws_connect_timeout_secs == 0 || self.aws_call_timeout_secs == 0 {
            return Err(invalid(
                "aws_call_timeout_secs",
                "AWS timeouts must be at least 1 second",
            ));
        }
        if self.authorizer_ttl_secs > 3600 {
            return Err(invalid(
                "authorizer_ttl_secs",
                "API Gateway caches authorizer results for at most 3600 seconds",
            ));
        }
        if let Some(key) = &self.jwt_signing_key
            && key.expose_secret().len() < 32
        {
            return Err(invalid("jwt_signing_key", "must be at least 32 bytes long"));
        }
        if let Some(secret) = &self.bootstrap_admin_secret
            && secret.expose_secret().len() < 12
        {
            return Err(invalid(
                "bootstrap_admin_secret",
                "must be at least 12 characters long",
            ));
        }
        if self.jwt_issuer.trim().is_empty() {
            return Err(invalid("jwt_issuer", "must not be empty"));
        }
        if self.token_ttl_secs == 0 || self.token_ttl_secs > 86_400 {
            return Err(invalid(
                "token_ttl_secs",
                "must be between 1 and 86400 seconds",
            ));
        }
        if self.console_session_ttl_secs == 0 || self.console_session_ttl_secs > 7 * 86_400 {
            return Err(invalid(
                "console_session_ttl_secs",
                "must be between 1 and 604800 seconds",
            ));
        }
        if self.console_session_idle_secs == 0 {
            return Err(invalid("console_session_idle_secs", "must be at least 1"));
        }
        if self.token_failure_window_secs == 0 {
            return Err(invalid("token_failure_window_secs", "must be at least 1"));
        }
        if self.token_failures_per_source == 0 || self.token_failures_per_client_source == 0 {
            return Err(invalid(
                "token_failures_per_client_source",
                "failure limits must be at least 1",
            ));
        }
        parse_networks(&self.trusted_proxies).map_err(|reason| ConfigError::Invalid {
            key: "trusted_proxies",
            reason,
        })?;
        if self.body_limit_bytes < 1024 {
            return Err(invalid("body_limit_bytes", "must be at least 1024"));
        }
        if self.import_body_limit_bytes < 1024 {
            return Err(invalid("import_body_limit_bytes", "must be at least 1024"));
        }
        let counts = [
            ("deploy_lease_secs", self.deploy_lease_secs),
            ("deploy_max_attempts", self.deploy_max_attempts.into()),
            ("deploy_poll_interval_ms", self.deploy_poll_interval_ms),
            ("request_timeout_secs", self.request_timeout_secs),
            ("max_revisions_per_api", self.max_revisions_per_api.into()),
            // Every REST API has its root resource `/`.
            ("max_resources_per_api", self.max_resources_per_api.into()),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("max_connections", self.max_connections as u64),
        ];
        if let Some((key, _)) = counts.into_iter().find(|(_, value)| *value == 0) {
            return Err(invalid(key, "must be at least 1"));
        }
        Ok(())
    }
}

/// A master key is exactly 32 bytes, given as standard base64.
pub fn decode_master_key(encoded: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| "must be base64 (as `openssl rand -base64 32` prints)".to_owned())?;
    bytes
        .try_into()
        .map_err(|_| "must decode to exactly 32 bytes".to_owned())
}

#[cfg(test)]
// figment::Jail's closures return figment::Error, which clippy finds large; it is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn every_setting_is_listed_for_help() {
        let listed: Vec<String> = default_settings().into_iter().map(|(k, _)| k).collect();
        // Each field of Config is a documented setting, and nothing else is. Read inside a
        // jail: the other tests set FEDGATE_* variables in theirs, one at a time.
        let mut value = serde_json::Value::Null;
        Jail::expect_with(|_| {
            value = Config::figment(None).extract::<serde_json::Value>()?;
            Ok(())
        });
        let mut fields: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        for unset in [
            "database_url",
            "bootstrap_admin_secret",
            "master_key",
            "master_key_previous",
            "jwt_signing_key",
        ] {
            fields.push(unset.to_owned());
        }
        fields.sort();
        fields.dedup();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(sorted, fields);
        assert!(default_settings().contains(&("token_ttl_secs".into(), "3600".into())));
        assert!(default_settings().contains(&("database_url".into(), "unset".into())));
    }

    #[test]
    fn trusted_proxies_are_ips_or_networks() {
        let nets = parse_networks(&["10.0.0.0/8".into(), " 192.0.2.5 ".into()]).unwrap();
        assert_eq!(nets[1].to_string(), "192.0.2.5/32");
        let error = parse_networks(&["nope".into()]).unwrap_err();
        assert!(error.contains("`nope`"), "{error}");
    }

    #[test]
    fn defaults_load_and_validate() {
        Jail::expect_with(|_jail| {
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8080");
            assert_eq!(config.log_format, LogFormat::Text);
            assert!(config.database_url.is_none());
            Ok(())
        });
    }

    #[test]
    fn env_overrides_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "fedgate.toml",
                "listen_addr = \"0.0.0.0:9000\"\ntoken_ttl_secs = 60",
            )?;
            jail.set_env("FEDGATE_TOKEN_TTL_SECS", "120");
            jail.set_env("DATABASE_URL", "postgres://u@localhost/db");
            let config =
                Config::from_figment(Config::figment(Some(Path::new("fedgate.toml")))).unwrap();
            assert_eq!(config.listen_addr.to_string(), "0.0.0.0:9000");
            assert_eq!(config.token_ttl_secs, 120);
            assert!(config.database_url.is_some());
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_MASTER_KEY", "not base64!");
            let err = Config::from_figment(Config::figment(None)).unwrap_err();
            assert!(err.to_string().contains("master_key"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_LISTEN_ADDR", "nowhere");
            let err = Config::from_figment(Config::figment(None)).unwrap_err();
            assert!(
                err.to_string().to_lowercase().contains("listen_addr"),
                "{err}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_MAX_REVISIONS_PER_API", "0");
            let err = Config::from_figment(Config::figment(None)).unwrap_err();
            assert!(err.to_string().contains("max_revisions_per_api"), "{err}");
            Ok(())
        });
        for key in [
            "MAX_RESOURCES_PER_API",
            "HEADER_READ_TIMEOUT_SECS",
            "MAX_CONNECTIONS",
        ] {
            Jail::expect_with(|jail| {
                jail.set_env(format!("FEDGATE_{key}"), "0");
                let err = Config::from_figment(Config::figment(None)).unwrap_err();
                assert!(err.to_string().contains(&key.to_lowercase()), "{err}");
                Ok(())
            });
        }
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_LISTEN_ADR", "127.0.0.1:1");
            let err = Config::from_figment(Config::figment(None)).unwrap_err();
            assert!(
                err.to_string().to_lowercase().contains("listen_adr"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_clients_variables_are_not_settings() {
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_CLI_PROFILE", "prod");
            jail.set_env("FEDGATE_CLI_CLIENT_SECRET", "not-a-server-setting");
            jail.set_env("FEDGATE_TOKEN_TTL_SECS", "120");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.token_ttl_secs, 120);
            Ok(())
        });
    }

    #[test]
    fn outbound_allow_takes_a_comma_separated_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_OUTBOUND_ALLOW", "127.0.0.1, 10.0.0.0/8");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert_eq!(config.outbound_allow, ["127.0.0.1", "10.0.0.0/8"]);
            jail.set_env("FEDGATE_OUTBOUND_ALLOW", "bad host!");
            let err = Config::from_figment(Config::figment(None)).unwrap_err();
            assert!(err.to_string().contains("outbound_allow"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        Jail::expect_with(|jail| {
            jail.set_env("FEDGATE_BOOTSTRAP_ADMIN_SECRET", "super-secret-value");
            let config = Config::from_figment(Config::figment(None)).unwrap();
            assert!(!format!("{config:?}").contains("super-secret-value"));
            Ok(())
        });
    }
}
