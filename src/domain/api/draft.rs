//! The shape in which an API design arrives (request bodies, imports): loosely typed so
//! that validation can report every problem at once, with field paths. Read-only fields
//! of responses are accepted and ignored, so a fetched API can be sent back as it is.

use serde::Deserialize;
use serde::de::IgnoredAny;
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiDraft {
    #[schema(required = true, value_type = String, example = "Petstore")]
    pub name: Option<String>,
    /// The API's own version (e.g. `1.0.0`), part of its identity with `name`.
    #[schema(required = true, value_type = String, example = "1.0.0")]
    pub version: Option<String>,
    /// Base path, e.g. `/pets`: no trailing slash, no `..`, no `{}`.
    #[schema(required = true, value_type = String, example = "/petstore")]
    pub context: Option<String>,
    pub description: Option<String>,
    /// Absolute http(s) URL of the backend.
    #[schema(required = true, value_type = String, example = "https://petstore.example.com/v1")]
    pub endpoint_url: Option<String>,
    /// Only `aws` (the default).
    #[schema(value_type = Option<String>, example = "aws")]
    pub gateway_type: Option<String>,
    pub cors: Option<CorsDraft>,
    /// Key managers (by name) whose tokens the API accepts; empty means all.
    #[serde(default)]
    pub key_managers: Vec<String>,
    /// API-level policies; a resource's own policies override them.
    #[serde(default)]
    pub policies: Vec<PolicyDraft>,
    #[serde(default)]
    pub resources: Vec<ResourceDraft>,
    #[serde(default)]
    #[schema(ignore)]
    pub id: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub lifecycle_state: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_by: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_by: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub warnings: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub deleting: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub deletion_error: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDraft {
    /// GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY.
    #[schema(required = true, value_type = String, example = "GET")]
    pub method: Option<String>,
    /// An API Gateway path template: `/pets/{petId}`, greedy `{proxy+}` last only.
    #[schema(required = true, value_type = String, example = "/pets/{petId}")]
    pub path: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub policies: Vec<PolicyDraft>,
    /// Where the backend serves the resource, when not at `path`: it may end with `/`,
    /// and its parameters (the resource's, in order) may be named otherwise.
    #[schema(value_type = Option<String>, example = "/items/{item_id}/")]
    pub backend_path: Option<String>,
    #[serde(default)]
    #[schema(ignore)]
    pub effective_policy: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyDraft {
    /// `awsOAuth2`.
    #[serde(rename = "type")]
    #[schema(required = true, value_type = String, example = "awsOAuth2")]
    pub policy_type: Option<String>,
    #[serde(default)]
    pub parameters: PolicyParametersDraft,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyParametersDraft {
    /// The Lambda authorizer's function ARN (an alias or version may follow).
    #[schema(value_type = String)]
    pub lambda_arn: Option<String>,
    /// The IAM role API Gateway assumes to invoke the authorizer.
    #[schema(value_type = String)]
    pub invoke_role_arn: Option<String>,
    /// Instead of the two ARNs: a registered key manager (name or id), whose tokens an
    /// authorizer fedgate provisions and maintains checks.
    #[schema(value_type = String)]
    pub key_manager: Option<String>,
    /// With `keyManager`: the scopes a token needs (all of them).
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorsDraft {
    pub enabled: bool,
    /// Origins (`https://app.example.com`) or `*`; default `*`.
    pub allow_origins: Option<Vec<String>>,
    /// Default `Authorization`, `Content-Type`.
    pub allow_headers: Option<Vec<String>>,
    /// Default: the methods of the API's resources.
    pub allow_methods: Option<Vec<String>>,
    pub allow_credentials: Option<bool>,
    /// Seconds a browser may cache the preflight answer (0–86400).
    pub max_age: Option<i64>,
}
