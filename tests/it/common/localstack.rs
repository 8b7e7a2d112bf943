//! LocalStack, as `scripts/test` starts it: SDK clients, and the Lambda authorizers and
//! invoke roles an API's policies name, so that pre-deploy checks find them.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use fedgate::domain::zip::stored_zip;

pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "us-east-1";

pub fn localstack_url() -> String {
    std::env::var("TEST_LOCALSTACK_URL").expect(
        "TEST_LOCALSTACK_URL is not set: run the suite with scripts/test, which starts LocalStack",
    )
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(localstack_url())
        .load()
        .await
}

/// Creates an IAM role API Gateway may assume; returns its ARN.
pub async fn invoke_role(config: &aws_config::SdkConfig, name: &str) -> String {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws_sdk_iam::Client::new(config)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create the invoke role")
        .role()
        .map(|r| r.arn().to_owned())
        .expect("a role ARN")
}

/// Creates a Lambda function (LocalStack cannot run it here: it only has to exist);
/// returns its ARN.
pub async fn authorizer_function(
    config: &aws_config::SdkConfig,
    name: &str,
    role_arn: &str,
) -> String {
    let code = stored_zip(&[(
        "index.py",
        b"def handler(event, context):\n    return {'principalId': 'caller'}\n".as_slice(),
    )]);
    aws_sdk_lambda::Client::new(config)
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(role_arn)
        .code(FunctionCode::builder().zip_file(Blob::new(code)).build())
        .send()
        .await
        .expect("create the authorizer function")
        .function_arn()
        .expect("a function ARN")
        .to_owned()
}
