//! Checks before a deploy, so that a doomed deploy fails with a clear message instead of
//! a half-made API. The pure half lives here: each authorizer Lambda is in the
//! environment's region (and account), AWS can reach the backend, and a trust policy lets
//! API Gateway assume the invoke role. The gateway connector looks the functions and roles
//! up (`aws::predeploy`).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::api::ApiDesign;
use super::api::policy::{LambdaAuthorizer, Policy};

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

/// Each distinct bring-your-own Lambda policy with the first field that names it
/// (fedgate provisions the managed ones itself).
pub fn policies_with_fields(
    design: &ApiDesign,
) -> BTreeMap<(String, String), (LambdaAuthorizer, String)> {
    let mut found = BTreeMap::new();
    let mut add = |policy: &Policy, field: String| {
        let Some(p) = policy.lambda() else {
            return;
        };
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
