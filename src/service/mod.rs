//! The application layer: every rule, guard and transaction of a use case, called by the
//! front ends (the HTTP API, later the console) and by the deploy workers alike. Services
//! take the acting principal, so a change is attributed where it is made; they return
//! `ServiceError`, which each front end renders once.

pub mod apis;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod clients;
pub mod console;
pub mod deployments;
pub mod discovery;
pub mod drift;
pub mod environments;
pub mod error;
pub mod guards;
pub mod jobs;
pub mod key_managers;
pub mod lifecycle;
pub mod managed_authorizers;

use std::sync::Arc;

use ipnet::IpNet;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use tokio::sync::Notify;

pub use error::ServiceError;

use crate::auth::client_secret::SecretHasher;
use crate::auth::throttle::FailureThrottle;
use crate::auth::tokens::{Principal, TokenService};
use crate::aws::connector::Gateways;
use crate::config::Config;
use crate::idp::jwks::JwksCache;
use crate::outbound::OutboundGuard;
use crate::secrets::Keyring;

/// Everything a service (and so a handler or a worker) may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub tokens: Arc<TokenService>,
    pub keyring: Arc<Keyring>,
    /// Signing keys of key managers whose users may use the developer portal.
    pub jwks: Arc<JwksCache>,
    pub metrics: PrometheusHandle,
    pub outbound: OutboundGuard,
    /// The connector of each environment's gateway.
    pub gateways: Arc<dyn Gateways>,
    /// Wakes this replica's idle deploy workers when a job is queued.
    pub jobs_waker: Arc<Notify>,
    /// Checks client secrets, a bounded number at once.
    pub hasher: SecretHasher,
    /// Failed logins per source address and per client id at a source address.
    pub login_throttle: Arc<FailureThrottle>,
    /// Refused requests (401, 403) per source address: beyond the limit they are no
    /// longer written to the audit log one by one, only counted.
    pub refusals: Arc<FailureThrottle>,
    /// Proxies whose `X-Forwarded-For` names the source address.
    pub trusted_proxies: Arc<Vec<IpNet>>,
}

/// Who is acting — the principal authentication established — and the request it came
/// with: every change a service makes is audited in its name, whichever front end asked.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub request_id: Option<String>,
}

impl Actor {
    /// The name changes are attributed to: a client id, or `{issuer}#{sub}`.
    pub fn name(&self) -> &str {
        self.principal.name()
    }

    /// The key a developer's own data is filed under (see `Principal::owner`).
    pub fn owner(&self) -> String {
        self.principal.owner()
    }
}

/// The versions a change may apply to (a front end's `If-Match`); `any()` when the caller
/// named none.
#[derive(Debug, Clone, Default)]
pub struct Precondition(Option<Vec<i64>>);

impl Precondition {
    pub fn any() -> Self {
        Self(None)
    }

    pub fn one_of(versions: Vec<i64>) -> Self {
        Self(Some(versions))
    }

    pub fn check(&self, current: i64) -> Result<(), ServiceError> {
        match &self.0 {
            Some(versions) if !versions.contains(&current) => Err(ServiceError::PreconditionFailed),
            _ => Ok(()),
        }
    }

    /// For a change computed from the version `read` (a patch applied to it): that version
    /// only, if this precondition accepts it — so a change made meanwhile fails the write
    /// instead of being overwritten; else this precondition, to fail as it would.
    pub fn pinned(&self, read: i64) -> Self {
        match self.check(read) {
            Ok(()) => Self::one_of(vec![read]),
            Err(_) => self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_precondition_accepts_only_the_version_read() {
        let pinned = Precondition::any().pinned(3);
        assert!(pinned.check(3).is_ok());
        assert!(pinned.check(4).is_err(), "a change made meanwhile");
        let pinned = Precondition::one_of(vec![2, 3]).pinned(3);
        assert!(pinned.check(3).is_ok() && pinned.check(2).is_err());
        // One the caller's precondition refuses stays refused, as it would have been.
        let stale = Precondition::one_of(vec![1]).pinned(3);
        assert!(stale.check(3).is_err() && stale.check(1).is_ok());
    }
}
