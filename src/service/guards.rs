//! The refusals several use cases share: a change the state of an API or its deployments
//! does not allow. Pure checks on rows the caller has read (and usually locked).

use super::ServiceError;
use crate::store::apis::ApiRow;
use crate::store::deployments::DeploymentRow;

/// A conflict while a forced delete is undeploying the API: it takes no edits or deploys.
pub fn refuse_if_deleting(api: &ApiRow) -> Result<(), ServiceError> {
    if api.deleting {
        return Err(ServiceError::Conflict(
            "the API is being deleted: it is undeploying everywhere".into(),
        ));
    }
    Ok(())
}

/// A conflict naming the live deployments among `rows`, e.g. before a delete.
pub fn refuse_if_live(rows: &[DeploymentRow], what: &str) -> Result<(), ServiceError> {
    let live: Vec<String> = rows
        .iter()
        .filter(|d| d.is_live())
        .map(|d| format!("{} in {} ({})", d.api_name, d.environment_name, d.status))
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    Err(ServiceError::Conflict(format!(
        "{what}: live deployments: {}",
        live.join(", ")
    )))
}
