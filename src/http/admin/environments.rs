//! `/admin/v1/environments`: AWS API Gateway environments, their credentials (write-only)
//! and the live check.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::aws::check::CheckReport;
use crate::domain::environment::{
    CredentialsInput, EnvironmentInput, EnvironmentSpec, mask_access_key_id,
};
use crate::domain::ids::EnvironmentId;
use crate::domain::validation::WriteOnly;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned_response};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery, write_only};
use crate::http::pagination::{Page, PageQuery};
use crate::http::patch::MergePatch;
use crate::service::Precondition;
use crate::service::environments as service;
use crate::store::environments::{EnvironmentRow, StoredCredentials};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_environment, list_environments))
        .routes(routes!(
            get_environment,
            replace_environment,
            patch_environment,
            delete_environment
        ))
        .routes(routes!(check_environment))
}

/// An environment as written. Read-only fields of the response (`id`, `accountId`,
/// timestamps, masked credentials…) may be sent back and are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // the read-only echoes are accepted and ignored
pub struct EnvironmentBody {
    /// Unique slug.
    name: String,
    display_name: Option<String>,
    description: Option<String>,
    /// Must be `aws`.
    provider: String,
    config: AwsConfigBody,
    #[schema(read_only, value_type = Option<Object>)]
    id: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    account_id: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    created_at: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    updated_at: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    created_by: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    updated_by: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsConfigBody {
    /// AWS region code, e.g. `us-east-1`.
    region: String,
    /// API Gateway stage name.
    stage: String,
    credentials: CredentialsBody,
    /// For emulators and VPC endpoints: every AWS call goes here.
    endpoint_url: Option<String>,
    /// Overrides `https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}`.
    invoke_url_template: Option<String>,
}

/// `type` is `accessKey` (accessKeyId, secretAccessKey, sessionToken?), `assumeRole`
/// (roleArn, externalId?, sessionName?) or `default` (the SDK's default chain). Secrets are
/// write-only: omitted, they keep the stored ones (so does an omitted `accessKeyId`); `null`
/// removes the session token and is refused (400) for the secret access key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // the read-only echoes are accepted and ignored
pub struct CredentialsBody {
    #[serde(rename = "type")]
    credential_type: String,
    access_key_id: Option<String>,
    #[serde(default, deserialize_with = "write_only")]
    #[schema(write_only, value_type = Option<String>)]
    secret_access_key: WriteOnly<String>,
    #[serde(default, deserialize_with = "write_only")]
    #[schema(write_only, value_type = Option<String>)]
    session_token: WriteOnly<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    session_name: Option<String>,
    #[schema(read_only, value_type = Option<Object>)]
    access_key_id_masked: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    secret_access_key_set: Option<serde_json::Value>,
    #[schema(read_only, value_type = Option<Object>)]
    session_token_set: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    id: EnvironmentId,
    name: String,
    display_name: String,
    description: String,
    provider: String,
    config: AwsConfigView,
    /// The AWS account the last successful check authenticated into.
    account_id: Option<String>,
    created_by: String,
    updated_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsConfigView {
    region: String,
    stage: String,
    credentials: CredentialsView,
    endpoint_url: Option<String>,
    invoke_url_template: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum CredentialsView {
    #[serde(rename_all = "camelCase")]
    AccessKey {
        access_key_id_masked: String,
        secret_access_key_set: bool,
        session_token_set: bool,
    },
    #[serde(rename_all = "camelCase")]
    AssumeRole {
        role_arn: String,
        external_id: Option<String>,
        session_name: Option<String>,
    },
    Default,
}

impl From<EnvironmentRow> for Environment {
    fn from(row: EnvironmentRow) -> Self {
        let has_secret = row.sealed_secrets().is_some();
        let credentials = match row.credentials.0 {
            StoredCredentials::AccessKey {
                access_key_id,
                has_session_token,
            } => CredentialsView::AccessKey {
                access_key_id_masked: mask_access_key_id(&access_key_id),
                secret_access_key_set: has_secret,
                session_token_set: has_session_token,
            },
            StoredCredentials::AssumeRole {
                role_arn,
                external_id,
                session_name,
            } => CredentialsView::AssumeRole {
                role_arn,
                external_id,
                session_name,
            },
            StoredCredentials::Default => CredentialsView::Default,
        };
        Environment {
            id: row.id,
            name: row.name,
            display_name: row.display_name,
            description: row.description,
            provider: row.provider,
            config: AwsConfigView {
                region: row.region,
                stage: row.stage,
                credentials,
                endpoint_url: row.endpoint_url,
                invoke_url_template: row.invoke_url_template,
            },
            account_id: row.account_id,
            created_by: row.created_by,
            updated_by: row.updated_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl EnvironmentBody {
    fn parse(&self, creating: bool) -> Result<EnvironmentSpec, ApiError> {
        let c = &self.config.credentials;
        let input = EnvironmentInput {
            name: &self.name,
            display_name: self.display_name.as_deref(),
            description: self.description.as_deref(),
            provider: &self.provider,
            region: &self.config.region,
            stage: &self.config.stage,
            endpoint_url: self.config.endpoint_url.as_deref(),
            invoke_url_template: self.config.invoke_url_template.as_deref(),
            credentials: CredentialsInput {
                credential_type: &c.credential_type,
                access_key_id: c.access_key_id.as_deref(),
                secret_access_key: c.secret_access_key.as_deref(),
                session_token: c.session_token.as_deref(),
                role_arn: c.role_arn.as_deref(),
                external_id: c.external_id.as_deref(),
                session_name: c.session_name.as_deref(),
            },
        };
        EnvironmentSpec::parse(&input, creating).map_err(ApiError::Validation)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// Run the live check first; store nothing and answer 422 when it fails.
    #[serde(default)]
    check: bool,
}

fn with_etag(status: StatusCode, row: EnvironmentRow, location: bool) -> Response {
    let location = location.then(|| format!("/admin/v1/environments/{}", row.id));
    versioned_response(status, row.version, location, Environment::from(row))
}

/// Register an AWS gateway environment
#[utoipa::path(post, path = "/environments", tag = "admin", security(("bearer" = ["admin"])),
    params(CreateQuery), request_body = EnvironmentBody,
    responses(
        (status = 201, description = "Created", body = Environment),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`check=true` and the live check failed; nothing was stored", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_environment(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<CreateQuery>,
    ValidJson(body): ValidJson<EnvironmentBody>,
) -> Result<Response, ApiError> {
    let spec = body.parse(true)?;
    let row = service::create(&state, spec, query.check, &caller.actor).await?;
    Ok(with_etag(StatusCode::CREATED, row, true))
}

/// List environments
#[utoipa::path(get, path = "/environments", tag = "admin", security(("bearer" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "One page of environments", body = Page<Environment>)))]
async fn list_environments(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> Result<Json<Page<Environment>>, ApiError> {
    let limit = page.limit()?;
    let rows = service::list(&state, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        Environment::from,
    )))
}

/// Get an environment (by id or name); secrets are never returned
#[utoipa::path(get, path = "/environments/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Id or name")),
    responses(
        (status = 200, description = "The environment", body = Environment),
        (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_environment(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(key): ValidPath<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        StatusCode::OK,
        service::find(&state, &key).await?,
        false,
    ))
}

/// Replace an environment; omitted secrets keep the stored ones
#[utoipa::path(put, path = "/environments/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Id or name"),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    request_body = EnvironmentBody,
    responses(
        (status = 200, description = "Replaced", body = Environment),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or region/stage/endpoint change while APIs are deployed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace_environment(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(key): ValidPath<String>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<EnvironmentBody>,
) -> Result<Response, ApiError> {
    replace(&state, &key, &body, &if_match.0, &caller).await
}

/// The write of a PUT, and of a PATCH once merged.
async fn replace(
    state: &AppState,
    key: &str,
    body: &EnvironmentBody,
    precondition: &Precondition,
    caller: &Authenticated<AdminScope>,
) -> Result<Response, ApiError> {
    let spec = body.parse(false)?;
    let row = service::replace(state, key, spec, precondition, &caller.actor).await?;
    Ok(with_etag(StatusCode::OK, row, false))
}

/// The write-only members of an environment: a patch's `null` there means remove.
const SECRETS: &[&[&str]] = &[
    &["config", "credentials", "secretAccessKey"],
    &["config", "credentials", "sessionToken"],
];

/// Change some fields of an environment (JSON merge patch, RFC 7396)
///
/// Only the members the patch names change; `null` removes one (an omitted `endpointUrl`
/// stays as it is, `"endpointUrl": null` removes it). Secrets omitted are kept; `null`
/// removes the session token and is refused (400) for the secret access key. The result is
/// validated and written as a PUT of it would be; a change made meanwhile answers 412.
#[utoipa::path(patch, path = "/environments/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Id or name"),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "A JSON merge patch of `EnvironmentBody`"),
    responses(
        (status = 200, description = "Changed", body = Environment),
        (status = 400, description = "Invalid fields (of the patched environment), or a required secret set to null", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or region/stage/endpoint change while APIs are deployed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_environment(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(key): ValidPath<String>,
    if_match: IfMatch,
    patch: MergePatch,
) -> Result<Response, ApiError> {
    let current = service::find(&state, &key).await?;
    let precondition = if_match.0.pinned(current.version);
    let body: EnvironmentBody = patch.apply(Environment::from(current), SECRETS)?;
    replace(&state, &key, &body, &precondition, &caller).await
}

/// Delete an environment
#[utoipa::path(delete, path = "/environments/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Id or name"),
           ("If-Match" = Option<String>, Header, description = "ETag from a GET; 412 if stale")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "APIs are deployed here", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_environment(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(key): ValidPath<String>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    service::delete(&state, &key, &if_match.0, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verify credentials and permissions against AWS
///
/// Runs STS GetCallerIdentity, API Gateway GetRestApis, and probes lambda:GetFunction and
/// iam:GetRole (which the pre-deploy checks need). Always 200: `ok` tells the verdict.
#[utoipa::path(post, path = "/environments/{id}/check", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Id or name")),
    responses(
        (status = 200, description = "The check's report", body = CheckReport),
        (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
    ))]
async fn check_environment(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(key): ValidPath<String>,
) -> Result<Json<CheckReport>, ApiError> {
    Ok(Json(service::check(&state, &key).await?))
}
