//! Runs one job: deploy, undeploy or throttle a deployment in its environment.

use std::sync::Arc;

use crate::aws::apigateway::AwsConnector;
use crate::aws::connector::{ConnectorError, DeployRequest, GatewayConnector, Ownership};
use crate::deploy::limiter::RateLimiter;
use crate::deploy::translate::{Target, translate};
use crate::domain::api::ApiDesign;
use crate::domain::ids::EnvironmentId;
use crate::environments::{ClientsError, clients_for};
use crate::http::AppState;
use crate::store::deployments::{self as store, DeploymentRow, DeploymentUpdate, JobRow};
use crate::store::environments::{self as environments, EnvironmentRow};

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Failed(String),
}

impl From<ConnectorError> for JobError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Transient(m) => JobError::Transient(m),
            ConnectorError::Rejected(m) => JobError::Failed(m),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Transient(format!("database: {e}"))
    }
}

pub async fn run(state: &AppState, job: &JobRow) -> Result<(), JobError> {
    let deployment = store::get(&state.db, job.deployment_id)
        .await?
        .ok_or_else(|| JobError::Failed("the deployment no longer exists".into()))?;
    let environment = environments::get(&state.db, EnvironmentId(deployment.environment_id))
        .await?
        .ok_or_else(|| JobError::Failed("the environment no longer exists".into()))?;
    let connector = connector(state, &environment).await?;
    let ownership = Ownership {
        api_id: deployment.api_id.to_string(),
        environment_id: deployment.environment_id.to_string(),
    };
    match job.kind.as_str() {
        "deploy" => {
            deploy(
                state,
                job,
                &deployment,
                &environment,
                connector.as_ref(),
                &ownership,
            )
            .await
        }
        "undeploy" => {
            connector
                .undeploy(deployment.rest_api_id.as_deref(), &ownership)
                .await?;
            let change = DeploymentUpdate {
                status: "undeployed",
                clear_aws: true,
                ..Default::default()
            };
            store::update(&state.db, deployment.id, &change).await?;
            Ok(())
        }
        "throttle" => {
            if let Some(rest_api_id) = &deployment.rest_api_id
                && deployment.status == "deployed"
            {
                connector
                    .set_blocked(rest_api_id, &environment.stage, deployment.blocked)
                    .await?;
            }
            Ok(())
        }
        other => Err(JobError::Failed(format!("unknown job kind `{other}`"))),
    }
}

async fn connector(
    state: &AppState,
    environment: &EnvironmentRow,
) -> Result<Arc<dyn GatewayConnector>, JobError> {
    let clients = clients_for(state, environment).await.map_err(|e| match e {
        ClientsError::Outbound(refused) => JobError::Failed(refused.to_string()),
        ClientsError::Internal(e) => JobError::Failed(e.to_string()),
    })?;
    // AWS counts quotas per account and region; before a check has told the account, the
    // environment stands in for it.
    let account = environment
        .account_id
        .clone()
        .unwrap_or_else(|| format!("environment:{}", environment.id));
    let scope = format!("{account}/{}", environment.region);
    let limiter = RateLimiter::new(state.db.clone(), state.aws_limits);
    Ok(Arc::new(AwsConnector::new(clients, limiter, scope)))
}

async fn deploy(
    state: &AppState,
    job: &JobRow,
    deployment: &DeploymentRow,
    environment: &EnvironmentRow,
    connector: &dyn GatewayConnector,
    ownership: &Ownership,
) -> Result<(), JobError> {
    let revision_id = job
        .revision_id
        .ok_or_else(|| JobError::Failed("the job names no revision".into()))?;
    let (design, number) = store::revision_design(&state.db, revision_id)
        .await?
        .ok_or_else(|| JobError::Failed("the revision no longer exists".into()))?;
    let design: ApiDesign = serde_json::from_value(design)
        .map_err(|e| JobError::Failed(format!("the stored revision cannot be read: {e}")))?;
    store::update(
        &state.db,
        deployment.id,
        &DeploymentUpdate {
            status: "deploying",
            ..Default::default()
        },
    )
    .await?;
    let document = translate(
        &design,
        &Target {
            region: &environment.region,
            authorizer_ttl_secs: state.config.authorizer_ttl_secs,
        },
    );
    let name = format!("{} {}", design.name.as_str(), design.version.as_str());
    let description = format!(
        "{} (managed by fedgate; do not edit in the console)",
        design.context.as_str()
    );
    let deployment_description = format!("fedgate revision {number}");
    let outcome = connector
        .deploy(DeployRequest {
            rest_api_id: deployment.rest_api_id.as_deref(),
            name: &name,
            description: &description,
            ownership,
            document: &document,
            stage: &environment.stage,
            deployment_description: &deployment_description,
            blocked: deployment.blocked,
        })
        .await?;
    let url = super::invocation_url(
        environment.invoke_url_template.as_deref(),
        &outcome.rest_api_id,
        &environment.region,
        &environment.stage,
    );
    store::update(
        &state.db,
        deployment.id,
        &DeploymentUpdate {
            status: "deployed",
            revision_id: Some(revision_id),
            rest_api_id: Some(&outcome.rest_api_id),
            aws_deployment_id: Some(&outcome.deployment_id),
            invocation_url: Some(&url),
            ..Default::default()
        },
    )
    .await?;
    if outcome.adopted {
        tracing::warn!(rest_api_id = %outcome.rest_api_id, "adopted a tagged REST API left by an interrupted deploy");
    }
    Ok(())
}
