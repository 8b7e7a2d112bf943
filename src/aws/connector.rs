//! The one seam between the deployment engine and a gateway: a second provider (another
//! cloud, another gateway) is a new implementation of this trait, not a rewrite.

use std::sync::Arc;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::check::CheckReport;
use super::clients::AwsTarget;
use crate::domain::api::ApiDesign;
use crate::domain::gateway_state::GatewayState;
use crate::domain::ids::EnvironmentId;
use crate::domain::predeploy::PredeployReport;
use crate::outbound::OutboundError;

/// Tags naming the fedgate API and environment on the REST API, so a deploy that crashed
/// after creating it adopts it instead of creating a duplicate.
#[derive(Debug, Clone)]
pub struct Ownership {
    pub api_id: String,
    pub environment_id: String,
}

#[derive(Debug, Clone)]
pub struct DeployRequest<'a> {
    /// The REST API from an earlier deploy, if fedgate knows it.
    pub rest_api_id: Option<&'a str>,
    pub name: &'a str,
    pub description: &'a str,
    pub ownership: &'a Ownership,
    /// The AWS-flavoured OpenAPI document (see `deploy::translate`).
    pub document: &'a Value,
    pub stage: &'a str,
    /// Shown on the AWS deployment, e.g. "fedgate revision 3".
    pub deployment_description: &'a str,
    /// Keep the stage's methods throttled to zero (the API is BLOCKED).
    pub blocked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    pub rest_api_id: String,
    pub deployment_id: String,
    pub created: bool,
    pub adopted: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectorError {
    /// Worth retrying later: throttling, a 5xx, a timeout, an unreachable endpoint.
    #[error("{0}")]
    Transient(String),
    /// The gateway refused the request; retrying the same request cannot help.
    #[error("{0}")]
    Rejected(String),
    /// A quota is used up for now: try again after `retry_after`; nothing failed.
    #[error("{message}")]
    Postponed {
        message: String,
        retry_after: std::time::Duration,
    },
}

impl ConnectorError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ConnectorError::Transient(_))
    }
}

/// What a gateway holds for a deployment, as read back from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayApi {
    pub rest_api_id: String,
    pub name: String,
    /// The deployment the stage points at, if the stage exists.
    pub stage_deployment_id: Option<String>,
}

/// A stage of a REST API as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSummary {
    pub name: String,
    /// The deployment the stage serves.
    pub deployment_id: Option<String>,
}

/// A REST API of the account and region, with its tags and every stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestApiSummary {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_date: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    pub stages: Vec<StageSummary>,
}

/// Where a page of REST APIs starts: the gateway's own (opaque) position of one of its
/// pages, and how many REST APIs of that page earlier pages showed. The gateway answers
/// at most the page size asked for, so `skip` stays 0 on AWS; moto and LocalStack ignore
/// GetRestApis' `limit` and `position` and answer every REST API at once, and `skip`
/// pages through that.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PagePosition {
    pub position: Option<String>,
    pub skip: usize,
}

impl PagePosition {
    /// `skip:position`, the form a cursor carries.
    pub fn to_key(&self) -> String {
        format!(
            "{}:{}",
            self.skip,
            self.position.as_deref().unwrap_or_default()
        )
    }

    pub fn from_key(key: &str) -> Option<Self> {
        let (skip, position) = key.split_once(':')?;
        Some(Self {
            skip: skip.parse().ok()?,
            position: (!position.is_empty()).then(|| position.to_owned()),
        })
    }
}

/// One page of the gateway's REST APIs, and where the next one starts (absent on the
/// last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestApiPage {
    pub items: Vec<RestApiSummary>,
    pub next: Option<PagePosition>,
}

/// What discovery needs to know of a REST API beyond its state: what it is, and what it
/// holds that an API design cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionFacts {
    pub api: RestApiSummary,
    pub request_validators: usize,
    /// Models besides the `Empty` and `Error` ones API Gateway makes for every REST API.
    pub models: usize,
}

/// What to provision for a managed authorizer: the function fedgate ships, for one key
/// manager and environment.
#[derive(Debug, Clone)]
pub struct ManagedAuthorizerSpec<'a> {
    /// The function's name and its roles' stem, deterministic:
    /// `domain::managed_authorizer::stem` (≤ 57 characters, so the roles fit in 64).
    pub name: &'a str,
    /// The deployment package, `domain::authorizer::bundle`.
    pub package: &'a [u8],
    /// `domain::authorizer::code_sha256(package)`.
    pub code_sha256: &'a str,
    /// For the `fedgate:key-manager` tag.
    pub key_manager_id: &'a str,
    /// For the `fedgate:environment` tag.
    pub environment_id: &'a str,
}

/// A managed authorizer as provisioned: what an authorizer's `authorizerUri` and
/// `authorizerCredentials` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedAuthorizer {
    pub function_arn: String,
    /// The role API Gateway assumes to invoke the function (`authorizerCredentials`).
    pub invoke_role_arn: String,
    /// Whether anything was created or updated.
    pub changed: bool,
}

/// Everything the engine asks of one environment's gateway.
#[async_trait]
pub trait GatewayConnector: Send + Sync {
    /// The live check: can fedgate authenticate and make the calls it needs?
    async fn check(&self) -> CheckReport;

    /// The checks that need the gateway's account: authorizer functions and invoke roles
    /// exist and can be used. The pure checks are `domain::predeploy::static_checks`.
    async fn predeploy(&self, design: &ApiDesign) -> PredeployReport;

    /// Creates (or adopts) the gateway API, replaces its definition with `document`, and
    /// deploys it to the stage.
    async fn deploy(&self, request: DeployRequest<'_>) -> Result<DeployOutcome, ConnectorError>;

    /// The gateway API a first deploy pushes to, before it pushes: the one tagged as the
    /// deployment's (left by an interrupted deploy) or a new empty one. A deploy that must
    /// name its REST API first (in a managed authorizer's configuration) calls this.
    async fn reserve(&self, request: &DeployRequest<'_>) -> Result<String, ConnectorError>;

    /// Removes the gateway API; one already gone counts as removed.
    async fn undeploy(
        &self,
        rest_api_id: Option<&str>,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError>;

    /// Throttles every method of the stage to zero (blocked) or lifts that throttle.
    async fn set_blocked(
        &self,
        rest_api_id: &str,
        stage: &str,
        blocked: bool,
    ) -> Result<(), ConnectorError>;

    /// What the gateway holds for the REST API and its stage, read back; `None` when the
    /// REST API is gone (a stage that is gone is a state without a stage).
    async fn read_state(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayState>, ConnectorError>;

    /// The gateway API with this id and its stage, or `None` when it is gone.
    async fn describe(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayApi>, ConnectorError>;

    /// One page of the REST APIs of the account and region (at most `limit`), each with
    /// its stages, starting at `from` (the `next` of the previous page).
    async fn list_rest_apis(
        &self,
        from: &PagePosition,
        limit: usize,
    ) -> Result<RestApiPage, ConnectorError>;

    /// The REST API with its tags, stages and what a design cannot hold; `None` when
    /// there is no such REST API.
    async fn describe_for_adoption(
        &self,
        rest_api_id: &str,
    ) -> Result<Option<AdoptionFacts>, ConnectorError>;

    /// Tags the REST API as owned by a fedgate API and environment; nothing else changes.
    async fn tag_owned(
        &self,
        rest_api_id: &str,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError>;

    /// Creates, adopts (after a crash) or updates the managed authorizer's function, its
    /// execution role and its invoke role. With the function's code unchanged it is one
    /// read and no write.
    async fn ensure_managed_authorizer(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
    ) -> Result<ProvisionedAuthorizer, ConnectorError>;

    /// Removes the function and both roles of the managed authorizer `name`; what is
    /// already gone counts as removed.
    async fn remove_managed_authorizer(&self, name: &str) -> Result<(), ConnectorError>;
}

/// Where and as whom to reach one environment's gateway.
#[derive(Debug, Clone)]
pub struct GatewayTarget {
    pub environment_id: EnvironmentId,
    /// Bumped on every change of the environment: cached connections are rebuilt.
    pub version: i64,
    pub aws: AwsTarget,
    /// Where the provider counts its control-plane quotas (AWS: account and region).
    pub quota_scope: String,
}

/// Makes the connector of an environment; the composition root picks the implementation
/// (AWS, or the in-memory fake of the service tests).
#[async_trait]
pub trait Gateways: Send + Sync {
    /// The connector of `target`; refused when its endpoint is not an allowed destination.
    async fn connect(
        &self,
        target: &GatewayTarget,
    ) -> Result<Arc<dyn GatewayConnector>, OutboundError>;

    /// Drops what is cached for an environment (it changed or was deleted).
    fn forget(&self, environment: EnvironmentId);
}
