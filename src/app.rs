//! Builds the running application from a `Config`: storage, keys, state, router.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::auth::bootstrap::ensure_admin_client;
use crate::auth::client_secret::SecretHasher;
use crate::auth::throttle::{self, FailureThrottle};
use crate::auth::tokens::TokenService;
use crate::auth::tokens::{Principal, Subject};
use crate::aws::apigateway::AwsGateways;
use crate::aws::clients::AwsTimeouts;
use crate::aws::connector::Gateways;
use crate::aws::limiter::{Limits, RateLimiter};
use crate::config::{Config, parse_networks};
use crate::deploy;
use crate::domain::scope::Scopes;
use crate::http;
use crate::idp::jwks::JwksCache;
use crate::outbound::OutboundGuard;
use crate::secrets::{Keyring, MasterKey, load_master_key};
use crate::service::{self, Actor, AppState, ServiceError};
use crate::store::{self, embedded::EmbeddedPostgres};
use crate::telemetry;

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    embedded: Option<EmbeddedPostgres>,
}

/// The database `config` names, or the embedded one under the data directory (started
/// here, and returned so the caller shuts it down), migrated. When connecting fails, an
/// embedded cluster this process launched is stopped again.
async fn open_database(config: &Config) -> anyhow::Result<(PgPool, Option<EmbeddedPostgres>)> {
    let connect = |url: SecretString| async move {
        store::connect_and_migrate(
            &url,
            config.database_max_connections,
            Duration::from_millis(config.database_acquire_timeout_ms),
        )
        .await
    };
    let Some(url) = &config.database_url else {
        let cluster = EmbeddedPostgres::start(&config.data_dir).await?;
        return match connect(cluster.database_url()).await {
            Ok(db) => Ok((db, Some(cluster))),
            Err(error) => {
                shut_down_after_failure(cluster).await;
                Err(error)
            }
        };
    };
    Ok((connect(url.clone()).await?, None))
}

/// Stops the embedded cluster of a start that failed, if this process launched it.
async fn shut_down_after_failure(cluster: EmbeddedPostgres) {
    if let Err(error) = cluster.shutdown().await {
        tracing::warn!(%error, "could not stop the embedded PostgreSQL");
    }
}

/// `fedgate server reset-admin-secret`: gives `client_id` a new secret (returned, to be
/// shown once) and revokes its tokens, audited as the operator; for when nobody can log
/// in any more. Works with the server running on the same database, or stopped.
pub async fn reset_client_secret(config: &Config, client_id: &str) -> anyhow::Result<SecretString> {
    let (db, embedded) = open_database(config).await?;
    let actor = Actor {
        principal: Principal {
            subject: Subject::Operator {
                name: "operator:reset-admin-secret".into(),
            },
            scopes: Scopes::all(),
        },
        request_id: None,
    };
    let hasher = SecretHasher::new(config.token_max_concurrent_checks);
    let result = service::clients::reset_secret(&db, &hasher, client_id, &actor).await;
    db.close().await;
    if let Some(cluster) = embedded {
        cluster.shutdown().await?;
    }
    match result {
        Ok(rotated) => Ok(rotated.secret),
        Err(ServiceError::NotFound(_)) => Err(anyhow::anyhow!("there is no client `{client_id}`")),
        Err(error) => Err(anyhow::anyhow!(
            "could not reset the secret of `{client_id}`: {error}"
        )),
    }
}

impl Application {
    /// The application with AWS gateways.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, None).await
    }

    /// The application with the given gateways (tests: an in-memory fake), or AWS's.
    ///
    /// The listen address is taken before anything is created (a taken port fails the
    /// start with nothing initialised), and a start failing after the embedded database
    /// was launched stops it.
    pub async fn build_with(
        config: Config,
        gateways: Option<Arc<dyn Gateways>>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen_addr))?;
        let (db, embedded) = open_database(&config).await?;
        match state(config, gateways, db).await {
            Ok(state) => Ok(Self {
                listener,
                router: http::router(state.clone()),
                state,
                embedded,
            }),
            Err(error) => {
                if let Some(cluster) = embedded {
                    shut_down_after_failure(cluster).await;
                }
                Err(error)
            }
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish within the grace
    /// period, then stops the embedded database if this process launched it.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let config = &self.state.config;
        let grace = Duration::from_secs(config.shutdown_grace_secs);
        let limits = http::serve::Limits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            max_connections: config.max_connections,
            grace,
        };
        tracing::info!(addr = %self.local_addr(), "fedgate listening");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut workers =
            deploy::worker::spawn(self.state.clone(), config.deploy_workers, stop_rx.clone());
        workers.extend(deploy::drift_scan::spawn(self.state.clone(), stop_rx));
        let stopping = async {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
        };
        if !http::serve::serve(self.listener, self.router, limits, stopping).await {
            tracing::warn!(?grace, "in-flight requests did not finish in time");
        }
        let _ = stop_tx.send(true);
        // Each worker finishes its job within the grace or releases it to the queue.
        let deadline = tokio::time::Instant::now() + grace + Duration::from_secs(5);
        for worker in workers {
            let _ = tokio::time::timeout_at(deadline, worker).await;
        }
        self.state.db.close().await;
        if let Some(cluster) = self.embedded {
            cluster.shutdown().await?;
        }
        Ok(())
    }
}

/// Everything the handlers and workers share, on the database `db`: the admin client
/// comes last.
async fn state(
    config: Config,
    gateways: Option<Arc<dyn Gateways>>,
    db: PgPool,
) -> anyhow::Result<AppState> {
    let outbound = OutboundGuard::new(&config.outbound_allow)
        .map_err(|e| anyhow::anyhow!("outbound_allow: {e}"))?;
    let trusted_proxies = parse_networks(&config.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
    let previous_key = config
        .master_key_previous
        .as_ref()
        .map(|k| MasterKey::from_base64(k.expose_secret()))
        .transpose()
        .map_err(|reason| anyhow::anyhow!("master_key_previous {reason}"))?;
    let keyring = Keyring::new(
        load_master_key(config.master_key.as_ref(), &config.data_dir)?,
        previous_key,
    );
    if config.master_key_previous.is_some() {
        let count = store::rotation::reseal_all(&db, &keyring).await?;
        tracing::warn!(
            count,
            "re-sealed secrets under the new master key; remove FEDGATE_MASTER_KEY_PREVIOUS"
        );
    }
    let signing_key = signing_key(&config, &db, &keyring).await?;
    let tokens = TokenService::new(
        signing_key.expose_secret().as_bytes(),
        config.jwt_issuer.clone(),
        Duration::from_secs(config.token_ttl_secs),
    );
    let gateways = gateways.unwrap_or_else(|| aws_gateways(&config, &db, &outbound));
    let failures = |per_source, per_client_source| {
        Arc::new(FailureThrottle::new(throttle::Limits {
            window: Duration::from_secs(config.token_failure_window_secs),
            per_source,
            per_client_source,
        }))
    };
    let login_throttle = failures(
        config.token_failures_per_source,
        config.token_failures_per_client_source,
    );
    let refusals = failures(config.token_failures_per_source, u32::MAX);
    ensure_admin_client(&db, config.bootstrap_admin_secret.as_ref()).await?;
    Ok(AppState {
        hasher: SecretHasher::new(config.token_max_concurrent_checks),
        login_throttle,
        refusals,
        trusted_proxies: Arc::new(trusted_proxies),
        db,
        tokens: Arc::new(tokens),
        keyring: Arc::new(keyring),
        jwks: Arc::new(JwksCache::new(Duration::from_secs(300))),
        metrics: telemetry::metrics_handle(),
        outbound,
        gateways,
        jobs_waker: Arc::default(),
        config: Arc::new(config),
    })
}

/// AWS API Gateway connectors, paced per account and region by limits shared through
/// the database.
fn aws_gateways(config: &Config, db: &sqlx::PgPool, outbound: &OutboundGuard) -> Arc<dyn Gateways> {
    let limits = Limits {
        create_rest_api: Duration::from_millis(config.aws_rate_create_rest_api_ms),
        put_rest_api: Duration::from_millis(config.aws_rate_put_rest_api_ms),
        create_deployment: Duration::from_millis(config.aws_rate_create_deployment_ms),
        delete_rest_api: Duration::from_millis(config.aws_rate_delete_rest_api_ms),
        overall: Duration::from_millis(config.aws_rate_overall_ms),
        max_wait: Duration::from_secs(config.aws_rate_max_wait_secs),
    };
    let timeouts = AwsTimeouts {
        connect: Duration::from_secs(config.aws_connect_timeout_secs),
        call: Duration::from_secs(config.aws_call_timeout_secs),
    };
    Arc::new(AwsGateways::new(
        outbound.clone(),
        timeouts,
        RateLimiter::new(db.clone(), limits),
    ))
}

/// The configured signing key, or the one generated once and kept sealed in the database.
async fn signing_key(
    config: &Config,
    db: &sqlx::PgPool,
    keyring: &Keyring,
) -> anyhow::Result<SecretString> {
    if let Some(key) = &config.jwt_signing_key {
        return Ok(key.clone());
    }
    let key = store::sealed_keys::get_or_create(db, keyring, "jwt-signing-key", || {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // Stored as text so a configured key and a generated one are used alike.
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes).into_bytes()
    })
    .await?;
    let text = String::from_utf8(key.expose_secret().to_vec())
        .map_err(|_| anyhow::anyhow!("the stored JWT signing key is not valid text"))?;
    Ok(SecretString::from(text))
}
