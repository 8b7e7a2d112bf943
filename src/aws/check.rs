//! The live check of an environment: can fedgate authenticate, manage REST APIs, and make
//! the read calls its pre-deploy checks need? Every check runs, concurrently, within the
//! SDK's bounded timeouts.

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;
use utoipa::ToSchema;

use super::clients::EnvironmentClients;
use super::error::AwsFailure;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub ok: bool,
    pub account_id: Option<String>,
    pub principal_arn: Option<String>,
    /// The credentials provider used: `static`, `assume-role` or `default-chain`.
    pub credentials_provider: String,
    pub checks: Vec<CheckItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckItem {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// A name no real function or role has: "not found" proves the read call is allowed.
const PROBE_NAME: &str = "fedgate-permission-probe-does-not-exist";

pub async fn run(clients: &EnvironmentClients) -> CheckReport {
    let (identity, apis, function, role) = tokio::join!(
        clients.sts.get_caller_identity().send(),
        clients.apigateway.get_rest_apis().limit(1).send(),
        clients
            .lambda
            .get_function()
            .function_name(PROBE_NAME)
            .send(),
        clients.iam.get_role().role_name(PROBE_NAME).send(),
    );
    let mut report = CheckReport {
        ok: true,
        account_id: None,
        principal_arn: None,
        credentials_provider: clients.provider.to_owned(),
        checks: Vec::new(),
    };
    let identity_item = match identity {
        Ok(out) => {
            report.account_id = out.account().map(str::to_owned);
            report.principal_arn = out.arn().map(str::to_owned);
            item(
                "sts:GetCallerIdentity",
                Ok(format!("authenticated as {}", out.arn().unwrap_or("?"))),
            )
        }
        Err(e) => item(
            "sts:GetCallerIdentity",
            Err(describe("GetCallerIdentity", &e)),
        ),
    };
    let checks = [
        identity_item,
        item(
            "apigateway:GET /restapis",
            apis.map(|_| "may read REST APIs".to_owned())
                .map_err(|e| describe("GetRestApis", &e)),
        ),
        item(
            "lambda:GetFunction",
            read_allowed("GetFunction", function, "ResourceNotFoundException"),
        ),
        item("iam:GetRole", read_allowed("GetRole", role, "NoSuchEntity")),
    ];
    report.ok = checks.iter().all(|c| c.ok);
    report.checks = checks.into();
    report
}

fn item(name: &str, result: Result<String, String>) -> CheckItem {
    let (ok, detail) = match result {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    CheckItem {
        name: name.to_owned(),
        ok,
        detail,
    }
}

/// A probe succeeds when the call is allowed: the expected "not found" proves it.
fn read_allowed<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
    not_found_code: &str,
) -> Result<String, String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok("read allowed".into()),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some(not_found_code) => {
            Ok("read allowed".into())
        }
        Err(e) => Err(describe(operation, &e)),
    }
}

/// AWS's own code and message for service errors; the cause chain for transport ones
/// (unreachable endpoint, timeout, bad TLS) — in words, with what to do about it.
fn describe<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsFailure::from_sdk(operation, error).detail()
}
