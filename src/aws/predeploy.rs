//! The pre-deploy checks that need AWS: each authorizer Lambda exists and each invoke role
//! exists and trusts API Gateway. The pure checks live in `domain::predeploy`.

use super::clients::EnvironmentClients;
use super::error::AwsFailure;
use crate::domain::api::ApiDesign;
use crate::domain::api::policy::LambdaAuthorizer;
use crate::domain::predeploy::{
    Finding, PredeployReport, policies_with_fields, trusts_api_gateway,
};

/// The Lambda functions and roles of every policy, looked up in AWS.
pub async fn run(design: &ApiDesign, clients: &EnvironmentClients) -> PredeployReport {
    let mut report = PredeployReport::default();
    for (policy, at) in policies_with_fields(design).into_values() {
        check_function(clients, &policy, &at, &mut report).await;
        check_role(clients, &policy, &at, &mut report).await;
    }
    report
}

async fn check_function(
    clients: &EnvironmentClients,
    policy: &LambdaAuthorizer,
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
    policy: &LambdaAuthorizer,
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
