//! The one seam between the deployment engine and a gateway: a second provider (another
//! cloud, another gateway) is a new implementation of this trait, not a rewrite.

use async_trait::async_trait;
use serde_json::Value;

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
}

impl ConnectorError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ConnectorError::Transient(_))
    }
}

#[async_trait]
pub trait GatewayConnector: Send + Sync {
    /// Creates (or adopts) the gateway API, replaces its definition with `document`, and
    /// deploys it to the stage.
    async fn deploy(&self, request: DeployRequest<'_>) -> Result<DeployOutcome, ConnectorError>;

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
}
