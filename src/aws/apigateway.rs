//! The AWS API Gateway connector: a constant number of control-plane calls per deploy,
//! each through the shared rate limiter.
//!
//! First deploy: GetRestApis (adoption by tags) → CreateRestApi → PutRestApi →
//! CreateDeployment → GetDeployments (pruning). Later deploys: PutRestApi →
//! CreateDeployment → GetDeployments, plus at most a few DeleteDeployment of old ones.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_apigateway::config::http::HttpResponse;
use aws_sdk_apigateway::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apigateway::primitives::Blob;
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, Op, PatchOperation, PutMode};

use super::check::{self, CheckReport};
use super::clients::{AwsTimeouts, ClientCache, EnvironmentClients};
use super::connector::{
    AdoptionFacts, ConnectorError, DeployOutcome, DeployRequest, GatewayApi, GatewayConnector,
    GatewayTarget, Gateways, ManagedAuthorizerSpec, Ownership, PagePosition, ProvisionedAuthorizer,
    RestApiPage,
};
use super::error::AwsFailure;
use super::limiter::{LimitError, Operation, RateLimiter};
use super::predeploy;
use crate::domain::api::ApiDesign;
use crate::domain::gateway_state::GatewayState;
use crate::domain::ids::EnvironmentId;
use crate::domain::predeploy::PredeployReport;
use crate::outbound::{OutboundError, OutboundGuard};

pub const TAG_API: &str = "fedgate:api";
pub const TAG_ENVIRONMENT: &str = "fedgate:environment";
/// Older AWS deployments kept for a manual rollback in the console.
const KEEP_OLD_DEPLOYMENTS: usize = 3;

pub struct AwsConnector {
    pub(super) clients: Arc<EnvironmentClients>,
    limiter: RateLimiter,
    /// The quota scope: account (or environment) and region.
    scope: String,
}

impl AwsConnector {
    pub fn new(clients: Arc<EnvironmentClients>, limiter: RateLimiter, scope: String) -> Self {
        Self {
            clients,
            limiter,
            scope,
        }
    }

    /// One AWS call: rate-limited, counted, and its error classified.
    pub(super) async fn call<T, E, F>(
        &self,
        op: Operation,
        name: &'static str,
        call: F,
    ) -> Result<T, CallFailure>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.limiter
            .acquire(&self.scope, op)
            .await
            .map_err(|e| CallFailure {
                error: match e {
                    LimitError::Busy { wait, .. } => ConnectorError::Postponed {
                        message: format!("{name}: {e}"),
                        retry_after: wait,
                    },
                    LimitError::Database(_) => ConnectorError::Transient(format!("{name}: {e}")),
                },
                not_found: false,
                code: None,
            })?;
        let result = call.await.map_err(|e| AwsFailure::from_sdk(name, &e));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(failure) if failure.throttled => "throttled",
            Err(_) => "error",
        };
        metrics::counter!("fedgate_aws_calls_total", "operation" => name, "outcome" => outcome)
            .increment(1);
        result.map_err(|failure| CallFailure {
            not_found: failure.not_found,
            code: failure.code.clone(),
            error: failure.into(),
        })
    }

    async fn find_owned(&self, ownership: &Ownership) -> Result<Option<String>, ConnectorError> {
        let mut position: Option<String> = None;
        loop {
            let page = self
                .call(Operation::Overall, "GetRestApis", {
                    self.clients
                        .apigateway
                        .get_rest_apis()
                        .limit(500)
                        .set_position(position.clone())
                        .send()
                })
                .await?;
            let owned = page.items().iter().find(|api| {
                let tags = api.tags();
                tags.and_then(|t| t.get(TAG_API)).map(String::as_str)
                    == Some(ownership.api_id.as_str())
                    && tags
                        .and_then(|t| t.get(TAG_ENVIRONMENT))
                        .map(String::as_str)
                        == Some(ownership.environment_id.as_str())
            });
            if let Some(api) = owned {
                return Ok(api.id().map(str::to_owned));
            }
            match page.position() {
                Some(next) if !page.items().is_empty() => position = Some(next.to_owned()),
                _ => return Ok(None),
            }
        }
    }

    async fn create(&self, request: &DeployRequest<'_>) -> Result<String, ConnectorError> {
        let created = self
            .call(Operation::CreateRestApi, "CreateRestApi", {
                self.clients
                    .apigateway
                    .create_rest_api()
                    .name(request.name)
                    .description(request.description)
                    .endpoint_configuration(
                        EndpointConfiguration::builder()
                            .types(EndpointType::Regional)
                            .build(),
                    )
                    .tags(TAG_API, &request.ownership.api_id)
                    .tags(TAG_ENVIRONMENT, &request.ownership.environment_id)
                    .send()
            })
            .await?;
        created
            .id()
            .map(str::to_owned)
            .ok_or_else(|| ConnectorError::Rejected("CreateRestApi returned no id".into()))
    }

    async fn put_and_deploy(
        &self,
        rest_api_id: &str,
        request: &DeployRequest<'_>,
    ) -> Result<String, CallFailure> {
        let body = serde_json::to_vec(request.document).expect("a JSON value serialises");
        self.call(Operation::PutRestApi, "PutRestApi", {
            self.clients
                .apigateway
                .put_rest_api()
                .rest_api_id(rest_api_id)
                .mode(PutMode::Overwrite)
                .fail_on_warnings(true)
                .body(Blob::new(body))
                .send()
        })
        .await?;
        let deployment = self
            .call(Operation::CreateDeployment, "CreateDeployment", {
                self.clients
                    .apigateway
                    .create_deployment()
                    .rest_api_id(rest_api_id)
                    .stage_name(request.stage)
                    .description(request.deployment_description)
                    .send()
            })
            .await?;
        deployment
            .id()
            .map(str::to_owned)
            .ok_or_else(|| CallFailure {
                error: ConnectorError::Rejected("CreateDeployment returned no id".into()),
                not_found: false,
                code: None,
            })
    }

    /// Deletes all but the newest few AWS deployments so they do not pile up.
    async fn prune(&self, rest_api_id: &str, current: &str) -> Result<(), ConnectorError> {
        let listed = self
            .call(Operation::Overall, "GetDeployments", {
                self.clients
                    .apigateway
                    .get_deployments()
                    .rest_api_id(rest_api_id)
                    .limit(500)
                    .send()
            })
            .await?;
        let mut old: Vec<_> = listed
            .items()
            .iter()
            .filter(|d| d.id() != Some(current))
            .filter_map(|d| {
                Some((
                    d.created_date().map(|t| t.secs()).unwrap_or(0),
                    d.id()?.to_owned(),
                ))
            })
            .collect();
        old.sort();
        let excess = old.len().saturating_sub(KEEP_OLD_DEPLOYMENTS);
        for (_, id) in old.into_iter().take(excess) {
            // A deployment a stage still points to cannot be deleted; that is fine.
            let _ = self
                .call(Operation::Overall, "DeleteDeployment", {
                    self.clients
                        .apigateway
                        .delete_deployment()
                        .rest_api_id(rest_api_id)
                        .deployment_id(&id)
                        .send()
                })
                .await;
        }
        Ok(())
    }
}

/// The AWS connectors of every environment: SDK clients cached per environment version,
/// endpoints checked against the outbound guard, calls paced by the shared rate limiter.
pub struct AwsGateways {
    clients: ClientCache,
    outbound: OutboundGuard,
    timeouts: AwsTimeouts,
    limiter: RateLimiter,
}

impl AwsGateways {
    pub fn new(outbound: OutboundGuard, timeouts: AwsTimeouts, limiter: RateLimiter) -> Self {
        Self {
            clients: ClientCache::default(),
            outbound,
            timeouts,
            limiter,
        }
    }
}

#[async_trait]
impl Gateways for AwsGateways {
    async fn connect(
        &self,
        target: &GatewayTarget,
    ) -> Result<Arc<dyn GatewayConnector>, OutboundError> {
        let clients = self
            .clients
            .get_or_build(target.environment_id, target.version, async || {
                EnvironmentClients::build(&target.aws, &self.outbound, self.timeouts).await
            })
            .await?;
        Ok(Arc::new(AwsConnector::new(
            clients,
            self.limiter.clone(),
            target.quota_scope.clone(),
        )))
    }

    fn forget(&self, environment: EnvironmentId) {
        self.clients.forget(environment);
    }
}

#[async_trait]
impl GatewayConnector for AwsConnector {
    async fn check(&self) -> CheckReport {
        check::run(&self.clients).await
    }

    async fn predeploy(&self, design: &ApiDesign) -> PredeployReport {
        predeploy::run(design, &self.clients).await
    }

    async fn describe(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayApi>, ConnectorError> {
        let Some(api) = self.rest_api(rest_api_id).await? else {
            return Ok(None);
        };
        let stage_deployment_id = self
            .stage(rest_api_id, stage)
            .await?
            .and_then(|found| found.deployment_id().map(str::to_owned));
        Ok(Some(GatewayApi {
            rest_api_id: rest_api_id.to_owned(),
            name: api.name().unwrap_or_default().to_owned(),
            stage_deployment_id,
        }))
    }

    async fn read_state(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayState>, ConnectorError> {
        self.read(rest_api_id, stage).await
    }

    async fn deploy(&self, request: DeployRequest<'_>) -> Result<DeployOutcome, ConnectorError> {
        let (mut rest_api_id, mut adopted, mut created) = match request.rest_api_id {
            Some(id) => (id.to_owned(), false, false),
            None => match self.find_owned(request.ownership).await? {
                Some(id) => (id, true, false),
                None => (self.create(&request).await?, false, true),
            },
        };
        let deployment_id = match self.put_and_deploy(&rest_api_id, &request).await {
            Ok(id) => id,
            // The REST API was deleted behind fedgate's back: adopt or recreate it.
            Err(e) if e.not_found && !created => {
                rest_api_id = match self.find_owned(request.ownership).await? {
                    Some(id) if id != rest_api_id => {
                        adopted = true;
                        id
                    }
                    _ => {
                        created = true;
                        self.create(&request).await?
                    }
                };
                self.put_and_deploy(&rest_api_id, &request).await?
            }
            Err(e) => return Err(e.error),
        };
        if request.blocked {
            self.set_blocked(&rest_api_id, request.stage, true).await?;
        }
        self.prune(&rest_api_id, &deployment_id).await?;
        Ok(DeployOutcome {
            rest_api_id,
            deployment_id,
            created,
            adopted,
        })
    }

    async fn reserve(&self, request: &DeployRequest<'_>) -> Result<String, ConnectorError> {
        match self.find_owned(request.ownership).await? {
            Some(id) => Ok(id),
            None => self.create(request).await,
        }
    }

    async fn undeploy(
        &self,
        rest_api_id: Option<&str>,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError> {
        let id = match rest_api_id {
            Some(id) => id.to_owned(),
            None => match self.find_owned(ownership).await? {
                Some(id) => id,
                None => return Ok(()),
            },
        };
        let deleted = self
            .call(Operation::DeleteRestApi, "DeleteRestApi", {
                self.clients
                    .apigateway
                    .delete_rest_api()
                    .rest_api_id(&id)
                    .send()
            })
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.not_found => Ok(()),
            Err(e) => Err(e.error),
        }
    }

    async fn set_blocked(
        &self,
        rest_api_id: &str,
        stage: &str,
        blocked: bool,
    ) -> Result<(), ConnectorError> {
        let operations = if blocked {
            ["rateLimit", "burstLimit"]
                .map(|limit| {
                    PatchOperation::builder()
                        .op(Op::Replace)
                        .path(format!("/*/*/throttling/{limit}"))
                        .value("0")
                        .build()
                })
                .to_vec()
        } else {
            vec![
                PatchOperation::builder()
                    .op(Op::Remove)
                    .path("/*/*")
                    .build(),
            ]
        };
        self.call(Operation::Overall, "UpdateStage", {
            self.clients
                .apigateway
                .update_stage()
                .rest_api_id(rest_api_id)
                .stage_name(stage)
                .set_patch_operations(Some(operations))
                .send()
        })
        .await
        .map(|_| ())
        .map_err(ConnectorError::from)
    }

    async fn list_rest_apis(
        &self,
        from: &PagePosition,
        limit: usize,
    ) -> Result<RestApiPage, ConnectorError> {
        self.rest_apis(from, limit).await
    }

    async fn describe_for_adoption(
        &self,
        rest_api_id: &str,
    ) -> Result<Option<AdoptionFacts>, ConnectorError> {
        self.adoption_facts(rest_api_id).await
    }

    async fn tag_owned(
        &self,
        rest_api_id: &str,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError> {
        self.tag(rest_api_id, ownership).await
    }

    async fn ensure_managed_authorizer(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
    ) -> Result<ProvisionedAuthorizer, ConnectorError> {
        self.ensure_authorizer(spec).await
    }

    async fn remove_managed_authorizer(&self, name: &str) -> Result<(), ConnectorError> {
        self.remove_authorizer(name).await
    }
}

/// Transient failures are worth retrying; the others are the gateway's refusal.
impl From<AwsFailure> for ConnectorError {
    fn from(failure: AwsFailure) -> Self {
        if failure.transient {
            ConnectorError::Transient(failure.to_string())
        } else {
            ConnectorError::Rejected(failure.to_string())
        }
    }
}

/// A failed call: AWS's verdict, and whether it said "not found".
pub(super) struct CallFailure {
    pub(super) error: ConnectorError,
    pub(super) not_found: bool,
    /// AWS's error code, e.g. `EntityAlreadyExists`.
    pub(super) code: Option<String>,
}

impl CallFailure {
    /// `None` for "not found", the error otherwise.
    pub(super) fn not_found_as_none<T>(self) -> Result<Option<T>, ConnectorError> {
        if self.not_found {
            Ok(None)
        } else {
            Err(self.error)
        }
    }
}

impl From<CallFailure> for ConnectorError {
    fn from(failure: CallFailure) -> Self {
        failure.error
    }
}
