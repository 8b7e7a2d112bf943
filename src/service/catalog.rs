//! The developer portal's catalog: the APIs developers may see (published and
//! deprecated; others do not exist for them), where each is deployed, and who issues
//! tokens for it.

use super::{AppState, ServiceError};
use crate::domain::api::ApiDesign;
use crate::domain::deployment::DeploymentStatus;
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::LifecycleState;
use crate::store::apis::{self, ApiRow};
use crate::store::deployments::{self, DeploymentFilter};
use crate::store::environments;
use crate::store::key_managers::{self, KeyManagerRow};

/// The states in which developers see an API.
pub const VISIBLE: [LifecycleState; 2] = [LifecycleState::Published, LifecycleState::Deprecated];

/// Where an API answers: one per environment it is deployed to now.
pub struct Endpoint {
    pub environment: String,
    pub display_name: String,
    pub region: String,
    pub stage: String,
    pub invocation_url: String,
}

pub async fn list(
    state: &AppState,
    name: Option<&str>,
    after: Option<ApiId>,
    limit: i64,
) -> Result<Vec<ApiRow>, ServiceError> {
    Ok(apis::list_in_states(&state.db, name, Some(&VISIBLE), after, limit).await?)
}

/// An API a developer may see.
pub async fn visible_api(state: &AppState, id: ApiId) -> Result<ApiRow, ServiceError> {
    apis::get(&state.db, id)
        .await?
        .filter(|row| VISIBLE.contains(&row.lifecycle_state))
        .ok_or(ServiceError::NotFound("API"))
}

/// The environments where the API is deployed, with their invocation URLs.
pub async fn endpoints(state: &AppState, id: ApiId) -> Result<Vec<Endpoint>, ServiceError> {
    let filter = DeploymentFilter {
        api: Some(id),
        status: Some(DeploymentStatus::Deployed),
        ..Default::default()
    };
    let rows = deployments::list(&state.db, &filter, None, 1000).await?;
    let mut endpoints = Vec::new();
    for row in rows {
        let (Some(url), Some(env)) = (
            row.invocation_url,
            environments::get(&state.db, row.environment_id).await?,
        ) else {
            continue;
        };
        endpoints.push(Endpoint {
            environment: env.name,
            display_name: env.display_name,
            region: env.region,
            stage: env.stage,
            invocation_url: url,
        });
    }
    Ok(endpoints)
}

/// The key managers whose tokens the API takes: those it lists (every one when it
/// lists none) and those its managed policies name.
pub async fn key_managers_of(
    state: &AppState,
    design: &ApiDesign,
) -> Result<Vec<KeyManagerRow>, ServiceError> {
    let all = key_managers::list(&state.db, None, 1000).await?;
    Ok(all
        .into_iter()
        .filter(|km| design.takes_tokens_of(&km.name))
        .collect())
}
