//! What lifecycle changes do in AWS: RETIRED undeploys everywhere; BLOCKED throttles
//! every live stage to zero (callers get 429) until the API is unblocked.

use crate::domain::ids::ApiId;
use crate::domain::lifecycle::LifecycleState;
use crate::http::AppState;
use crate::store::deployments::{self as store, JobKind};

pub async fn apply(
    state: &AppState,
    api: ApiId,
    new_state: LifecycleState,
    actor: &str,
) -> Result<(), sqlx::Error> {
    let live = store::live(&state.db, Some(api.0), None).await?;
    for deployment in live {
        let blocked = new_state == LifecycleState::Blocked;
        match new_state {
            LifecycleState::Retired => {
                store::request(
                    &state.db,
                    deployment.api_id,
                    deployment.environment_id,
                    JobKind::Undeploy,
                    None,
                    actor,
                )
                .await?;
            }
            _ if deployment.blocked != blocked => {
                store::set_blocked(&state.db, deployment.id, blocked).await?;
                store::request(
                    &state.db,
                    deployment.api_id,
                    deployment.environment_id,
                    JobKind::Throttle,
                    None,
                    actor,
                )
                .await?;
            }
            _ => {}
        }
    }
    state.jobs_waker.notify_waiters();
    Ok(())
}
