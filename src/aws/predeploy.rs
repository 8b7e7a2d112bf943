//! Checks before a deploy, so that a doomed deploy fails with a clear message instead of
//! a half-made API: each authorizer Lambda exists in the environment's region (and
//! account), each invoke role exists and trusts API Gateway, and AWS can reach the backend.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::clients::EnvironmentClients;
use super::error::AwsFailure;
use crate::domain::api::ApiDesign;
use crate::domain::api::policy::{AwsOAuth2, Policy};

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Finding {
    /// Where in the API design the problem sits.
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PredeployReport {
    pub problems: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// The environment facts the checks compare against.
pub struct EnvironmentFacts<'a> {
    pub region: &'a str,
    pub account_id: Option<&'a str>,
    /// An emulator or private endpoint: the backend may be private too.
    pub has_endpoint_url: bool,
}

/// Each distinct policy with the first field that names it.
fn policies_with_fields(design: &ApiDesign) -> BTreeMap<(String, String), (AwsOAuth2, String)> {
    let mut found = BTreeMap::new();
    let mut add = |policy: &Policy, field: String| {
        let Policy::AwsOAuth2(p) = policy;
        found
            .entry((
                p.lambda_arn.as_str().to_owned(),
                p.invoke_role_arn.as_str().to_owned(),
            ))
            .or_insert((p.clone(), field));
    };
    for (i, policy) in design.policies.iter().enumerate() {
        add(policy, format!("policies[{i}].parameters"));
    }
    for (r, resource) in design.resources.iter().enumerate() {
        for (i, policy) in resource.policies.iter().enumerate() {
            add(policy, format!("resources[{r}].policies[{i}].parameters"));
        }
    }
    found
}

/// The checks that need no AWS call.
pub fn static_checks(design: &ApiDesign, env: &EnvironmentFacts<'_>) -> PredeployReport {
    let mut report = PredeployReport::default();
    for (policy, at) in policies_with_fields(design).into_values() {
        let parts: Vec<&str> = policy.lambda_arn.as_str().split(':').collect();
        let (region, account) = (parts[3], parts[4]);
        if region != env.region {
            report.problems.push(Finding {
                field: format!("{at}.lambdaArn"),
                reason: format!(
                    "the function is in {region}; this environment deploys to {}",
                    env.region
                ),
            });
        }
        if let Some(env_account) = env.account_id
            && account != env_account
        {
            report.problems.push(Finding {
                field: format!("{at}.lambdaArn"),
                reason: format!("the function is in account {account}; this environment is account {env_account}"),
            });
        }
    }
    if !env.has_endpoint_url
        && let Some(reason) = design.endpoint_url.unreachable_from_aws()
    {
        report.problems.push(Finding {
            field: "endpointUrl".into(),
            reason,
        });
    }
    report
}

/// All checks: the static ones, then the Lambda functions and roles, looked up in AWS.
pub async fn run(
    design: &ApiDesign,
    env: &EnvironmentFacts<'_>,
    clients: &EnvironmentClients,
) -> PredeployReport {
    let mut report = static_checks(design, env);
    for (policy, at) in policies_with_fields(design).into_values() {
        check_function(clients, &policy, &at, &mut report).await;
        check_role(clients, &policy, &at, &mut report).await;
    }
    report
}

async fn check_function(
    clients: &EnvironmentClients,
    policy: &AwsOAuth2,
    at: &str,
    report: &mut PredeployReport,
) {
    let field = format!("{at}.lambdaArn");
    match clients
        .lambda
        .get_function()
        .function_name(policy.lambda_arn.as_str())
        .send()
        .await
    {
        Ok(found) => {
            let state = found
                .configuration()
                .and_then(|c| c.state())
                .map(|s| s.as_str().to_owned());
            if let Some(state) = state.filter(|s| s != "Active") {
                report.warnings.push(Finding {
                    field,
                    reason: format!("the function's state is {state}, not Active"),
                });
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            report.problems.push(Finding {
                field,
                reason: "no such Lambda function".into(),
            });
        }
        Err(e) => report.problems.push(Finding {
            field,
            reason: format!(
                "could not look the function up: {}",
                AwsFailure::from_sdk("GetFunction", &e).detail()
            ),
        }),
    }
}

async fn check_role(
    clients: &EnvironmentClients,
    policy: &AwsOAuth2,
    at: &str,
    report: &mut PredeployReport,
) {
    let field = format!("{at}.invokeRoleArn");
    let name = policy
        .invoke_role_arn
        .as_str()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    match clients.iam.get_role().role_name(name).send().await {
        Ok(found) => {
            let trust = found
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .unwrap_or_default();
            if !trusts_api_gateway(trust) {
                report.problems.push(Finding {
                    field,
                    reason: "the role's trust policy does not allow apigateway.amazonaws.com to assume it".into(),
                });
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            report.problems.push(Finding {
                field,
                reason: "no such IAM role".into(),
            });
        }
        Err(e) => report.problems.push(Finding {
            field,
            reason: format!(
                "could not look the role up: {}",
                AwsFailure::from_sdk("GetRole", &e).detail()
            ),
        }),
    }
}

/// Whether a trust policy (IAM returns it URL-encoded) lets API Gateway assume the role.
pub fn trusts_api_gateway(document: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return false;
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    statements.iter().any(|statement| {
        let allows = statement["Effect"] == "Allow";
        let assumes = match &statement["Action"] {
            serde_json::Value::String(a) => a == "sts:AssumeRole",
            serde_json::Value::Array(list) => list.iter().any(|a| a == "sts:AssumeRole"),
            _ => false,
        };
        let service = &statement["Principal"]["Service"];
        let api_gateway = match service {
            serde_json::Value::String(s) => s == "apigateway.amazonaws.com",
            serde_json::Value::Array(list) => list.iter().any(|s| s == "apigateway.amazonaws.com"),
            _ => false,
        };
        allows && assumes && api_gateway
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies() {
        let good = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","apigateway.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        assert!(trusts_api_gateway(good));
        let encoded: String =
            percent_encoding::utf8_percent_encode(good, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert!(trusts_api_gateway(&encoded));
        let lambda_only = good.replace(",\"apigateway.amazonaws.com\"", "");
        assert!(!trusts_api_gateway(&lambda_only));
        assert!(!trusts_api_gateway("not json"));
    }
}
