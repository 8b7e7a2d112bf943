//! Deployments of an API to an environment, and the jobs that move them: the states,
//! the rules of what may happen next, and the invocation URL. No I/O.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::ApiDesign;

/// Where a deployment (one API in one environment) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    /// A deploy is queued.
    Pending,
    /// A worker is deploying it.
    Deploying,
    Deployed,
    Failed,
    /// An undeploy is queued or running.
    Undeploying,
    /// Nothing of it is left in the gateway.
    Undeployed,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 6] = [
        DeploymentStatus::Pending,
        DeploymentStatus::Deploying,
        DeploymentStatus::Deployed,
        DeploymentStatus::Failed,
        DeploymentStatus::Undeploying,
        DeploymentStatus::Undeployed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Pending => "pending",
            DeploymentStatus::Deploying => "deploying",
            DeploymentStatus::Deployed => "deployed",
            DeploymentStatus::Failed => "failed",
            DeploymentStatus::Undeploying => "undeploying",
            DeploymentStatus::Undeployed => "undeployed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether something may exist in the gateway for it.
    pub fn is_live(self) -> bool {
        self != DeploymentStatus::Undeployed
    }

    /// Whether the API is callable there, or about to be: deployed, or a deploy queued or
    /// running.
    pub fn serves_or_will(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Pending | DeploymentStatus::Deploying | DeploymentStatus::Deployed
        )
    }

    /// Whether no job is on its way to change it.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Deployed | DeploymentStatus::Failed | DeploymentStatus::Undeployed
        )
    }
}

impl TryFrom<String> for DeploymentStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown deployment status `{s}`"))
    }
}

impl fmt::Display for DeploymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job does to its deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Deploy,
    Undeploy,
    /// Apply the deployment's `blocked` flag to the stage.
    Throttle,
    /// Bring the managed authorizers the deployment uses up to date with their key
    /// managers' settings.
    Authorizer,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::Deploy,
        JobKind::Undeploy,
        JobKind::Throttle,
        JobKind::Authorizer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Deploy => "deploy",
            JobKind::Undeploy => "undeploy",
            JobKind::Throttle => "throttle",
            JobKind::Authorizer => "authorizer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s)
    }

    /// The status a deployment shows while a job of this kind is queued (`None`: keep it).
    pub fn queued_status(self) -> Option<DeploymentStatus> {
        match self {
            JobKind::Deploy => Some(DeploymentStatus::Pending),
            JobKind::Undeploy => Some(DeploymentStatus::Undeploying),
            JobKind::Throttle | JobKind::Authorizer => None,
        }
    }
}

impl TryFrom<String> for JobKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown job kind `{s}`"))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the gateway still holds what fedgate deployed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "camelCase")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DriftState {
    InSync,
    /// The gateway holds something else: changed, added or removed behind fedgate's back.
    Drifted,
    /// The REST API (or its stage) is gone.
    Missing,
}

impl DriftState {
    pub const ALL: [DriftState; 3] = [DriftState::InSync, DriftState::Drifted, DriftState::Missing];

    /// As stored (`in_sync`); the API spells it `inSync`.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftState::InSync => "in_sync",
            DriftState::Drifted => "drifted",
            DriftState::Missing => "missing",
        }
    }
}

/// Where a job stands in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
    /// A newer request of the same deployment replaced it before it ran.
    Superseded,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Superseded => "superseded",
        }
    }
}

/// Why an API cannot be deployed as it is; the same rule as publishing it.
pub fn check_deployable(design: &ApiDesign) -> Result<(), &'static str> {
    if design.resources.is_empty() {
        return Err("an API without resources cannot be deployed; add a resource first");
    }
    Ok(())
}

/// `https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}`, or the environment's
/// own template (emulators, custom domains).
pub fn invocation_url(
    template: Option<&str>,
    rest_api_id: &str,
    region: &str,
    stage: &str,
) -> String {
    template
        .unwrap_or("https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}")
        .replace("{restApiId}", rest_api_id)
        .replace("{region}", region)
        .replace("{stage}", stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_urls() {
        assert_eq!(
            invocation_url(None, "a1b2c3", "eu-west-1", "prod"),
            "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(
            invocation_url(
                Some("http://127.0.0.1:4566/_aws/execute-api/{restApiId}/{stage}"),
                "a1",
                "us-east-1",
                "dev"
            ),
            "http://127.0.0.1:4566/_aws/execute-api/a1/dev"
        );
    }

    #[test]
    fn statuses_round_trip_and_only_undeployed_is_gone() {
        for status in DeploymentStatus::ALL {
            assert_eq!(DeploymentStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.is_live(), status != DeploymentStatus::Undeployed);
        }
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        // The stored spelling: what migration 0050's CHECK allows.
        let stored: Vec<&str> = DriftState::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(stored, ["in_sync", "drifted", "missing"]);
        assert!(DeploymentStatus::parse("deleted").is_none());
    }
}
