//! SDK configuration for an environment — region, endpoint, timeouts and the chosen
//! credentials provider — and a cache of clients per environment, rebuilt when the
//! environment changes.
//!
//! Every call to an AWS service endpoint (API Gateway, Lambda, IAM, STS, and STS for an
//! assumed role) goes through the outbound guard's HTTP client, which resolves names with
//! the guard on every connection: a cached client cannot be steered to an address the
//! guard refuses by a name that changes what it resolves to. The base credential
//! providers (environment, profile, instance metadata, container credentials) keep the
//! SDK's own transport: instance metadata and container credentials live on link-local
//! and loopback addresses the guard refuses, and they are fedgate's host's own, not an
//! admin-supplied URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_apigateway::config::retry::RetryConfig;
use aws_sdk_apigateway::config::timeout::TimeoutConfig;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::domain::ids::EnvironmentId;
use crate::outbound::{OutboundError, OutboundGuard};

/// Credentials with their secrets opened, ready for the SDK. Never logged.
#[derive(Clone)]
pub enum ResolvedCredentials {
    Static {
        access_key_id: String,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
    },
    AssumeRole {
        role_arn: String,
        external_id: Option<String>,
        session_name: Option<String>,
    },
    DefaultChain,
}

impl ResolvedCredentials {
    /// Which provider the SDK is given, by name: what operators and tests look at.
    pub fn provider_name(&self) -> &'static str {
        match self {
            ResolvedCredentials::Static { .. } => "static",
            ResolvedCredentials::AssumeRole { .. } => "assume-role",
            ResolvedCredentials::DefaultChain => "default-chain",
        }
    }
}

impl std::fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.provider_name())
    }
}

/// Where and as whom to call AWS.
#[derive(Debug, Clone)]
pub struct AwsTarget {
    pub region: String,
    pub endpoint_url: Option<Url>,
    pub credentials: ResolvedCredentials,
}

#[derive(Debug, Clone, Copy)]
pub struct AwsTimeouts {
    pub connect: Duration,
    pub call: Duration,
}

/// The SDK clients of one environment.
#[derive(Debug, Clone)]
pub struct EnvironmentClients {
    pub config: SdkConfig,
    pub provider: &'static str,
    pub sts: aws_sdk_sts::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
}

impl EnvironmentClients {
    /// Checks the target against the outbound guard, then builds the clients.
    pub async fn build(
        target: &AwsTarget,
        guard: &OutboundGuard,
        timeouts: AwsTimeouts,
    ) -> Result<Self, OutboundError> {
        let aws_host;
        let endpoint = match &target.endpoint_url {
            Some(url) => url,
            None => {
                aws_host = Url::parse(&format!(
                    "https://apigateway.{}.amazonaws.com/",
                    target.region
                ))
                .expect("a region code makes a valid host");
                &aws_host
            }
        };
        // Fails early, in words, for a refused endpoint; the guarded client checks again
        // whenever it connects.
        guard.check_url(endpoint).await?;
        let config = sdk_config(target, guard, timeouts).await;
        Ok(Self {
            provider: target.credentials.provider_name(),
            sts: aws_sdk_sts::Client::new(&config),
            apigateway: aws_sdk_apigateway::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            config,
        })
    }
}

/// The environment's SDK configuration. The loader gets no HTTP client, so the credential
/// chain it builds keeps the SDK's default transport; the guarded client is set on the
/// configuration afterwards, for the service clients and the assume-role STS client.
async fn sdk_config(target: &AwsTarget, guard: &OutboundGuard, timeouts: AwsTimeouts) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.call)
                .operation_timeout(timeouts.call)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url.as_str().trim_end_matches('/'));
    }
    match &target.credentials {
        ResolvedCredentials::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } => {
            loader = loader.credentials_provider(Credentials::new(
                access_key_id,
                secret_access_key.expose_secret(),
                session_token.as_ref().map(|t| t.expose_secret().to_owned()),
                None,
                "fedgate-environment",
            ));
            guarded(loader.load().await, guard)
        }
        ResolvedCredentials::AssumeRole {
            role_arn,
            external_id,
            session_name,
        } => {
            // The base identity comes from the default chain (its own transport); the role
            // is assumed over it by STS, an AWS endpoint like the others: guarded.
            let base = guarded(loader.load().await, guard);
            let mut builder = AssumeRoleProvider::builder(role_arn.clone())
                .session_name(session_name.clone().unwrap_or_else(|| "fedgate".to_owned()));
            if let Some(id) = external_id {
                builder = builder.external_id(id.clone());
            }
            let provider = builder.configure(&base).build().await;
            base.into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build()
        }
        ResolvedCredentials::DefaultChain => guarded(loader.load().await, guard),
    }
}

/// `config` with the guard's HTTP client, for the clients built from it from now on; the
/// credentials provider `config` already holds keeps its own.
fn guarded(config: SdkConfig, guard: &OutboundGuard) -> SdkConfig {
    config
        .into_builder()
        .http_client(guard.sdk_http_client())
        .build()
}

/// Clients per environment, keyed by the environment's version so an update rebuilds them.
#[derive(Debug, Default)]
pub struct ClientCache {
    entries: Mutex<HashMap<EnvironmentId, (i64, Arc<EnvironmentClients>)>>,
}

impl ClientCache {
    pub async fn get_or_build(
        &self,
        id: EnvironmentId,
        version: i64,
        build: impl AsyncFnOnce() -> Result<EnvironmentClients, OutboundError>,
    ) -> Result<Arc<EnvironmentClients>, OutboundError> {
        if let Some((cached_version, clients)) = self.entries.lock().expect("not poisoned").get(&id)
            && *cached_version == version
        {
            return Ok(clients.clone());
        }
        let clients = Arc::new(build().await?);
        self.entries
            .lock()
            .expect("not poisoned")
            .insert(id, (version, clients.clone()));
        Ok(clients)
    }

    pub fn forget(&self, id: EnvironmentId) {
        self.entries.lock().expect("not poisoned").remove(&id);
    }
}
