//! How the publisher API shows an API design: the design itself plus what fedgate
//! derives from it (per resource, the policy AWS will enforce).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::api::cors::Cors;
use crate::domain::api::policy::{EffectivePolicy, Policy};
use crate::domain::api::{ApiDesign, GatewayType, Resource};
use crate::domain::ids::ApiId;
use crate::domain::lifecycle::LifecycleState;
use crate::domain::validation::FieldError;
use crate::store::apis::ApiRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceView {
    #[serde(flatten)]
    pub resource: Resource,
    /// Read-only: the resource's own policy, else the API's, else none (unsecured).
    pub effective_policy: EffectivePolicy,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesignView {
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub endpoint_url: String,
    pub gateway_type: GatewayType,
    pub cors: Cors,
    pub key_managers: Vec<String>,
    pub policies: Vec<Policy>,
    pub resources: Vec<ResourceView>,
}

impl From<&ApiDesign> for DesignView {
    fn from(design: &ApiDesign) -> Self {
        DesignView {
            name: design.name.as_str().to_owned(),
            version: design.version.as_str().to_owned(),
            context: design.context.as_str().to_owned(),
            description: design.description.clone(),
            endpoint_url: design.endpoint_url.as_str().to_owned(),
            gateway_type: design.gateway_type,
            cors: design.cors.clone(),
            key_managers: design.key_managers.clone(),
            policies: design.policies.clone(),
            resources: design
                .resources
                .iter()
                .map(|resource| ResourceView {
                    effective_policy: design.effective_policy(resource),
                    resource: resource.clone(),
                })
                .collect(),
        }
    }
}

/// An API as the publisher API returns it. Every field outside the design is read-only
/// and ignored when sent back on PUT.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    pub id: ApiId,
    #[serde(flatten)]
    pub design: DesignView,
    pub lifecycle_state: LifecycleState,
    pub created_at: DateTime<Utc>,
    /// Client id of the token that created the API.
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    /// A forced delete is undeploying the API everywhere; it is deleted after the last
    /// undeploy and refuses edits and deploys meanwhile.
    pub deleting: bool,
    /// Why the last forced delete stopped (an undeploy failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_error: Option<String>,
    /// Accepted, but worth knowing before a deploy (e.g. a private endpoint host).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldError>,
}

impl From<&ApiRow> for Api {
    fn from(row: &ApiRow) -> Self {
        Api {
            id: row.id,
            design: DesignView::from(&row.design.0),
            lifecycle_state: row.lifecycle_state,
            created_at: row.created_at,
            created_by: row.created_by.clone(),
            updated_at: row.updated_at,
            updated_by: row.updated_by.clone(),
            deleting: row.deleting,
            deletion_error: row.deletion_error.clone(),
            warnings: row.design.warnings(),
        }
    }
}
