//! LocalStack, as `scripts/test` starts it: SDK clients, and the Lambda authorizers and
//! invoke roles an API's policies name, so that pre-deploy checks find them.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

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
    let code = stored_zip(
        "index.py",
        b"def handler(event, context):\n    return {'principalId': 'caller'}\n",
    );
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

/// A zip archive holding one file, stored uncompressed (the format is simple enough not
/// to need a zip library for that).
pub fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32fast::hash(data);
    let size = data.len() as u32;
    let name_len = name.len() as u16;
    // Version 2.0, no flags, stored, 1980-01-01 00:00.
    let common = |out: &mut Vec<u8>| {
        for v in [20u16, 0, 0, 0, 0x21] {
            out.extend(v.to_le_bytes());
        }
        for v in [crc, size, size] {
            out.extend(v.to_le_bytes());
        }
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // extra field length
    };
    let mut zip = 0x0403_4b50u32.to_le_bytes().to_vec();
    common(&mut zip);
    zip.extend(name.as_bytes());
    zip.extend(data);
    let directory_at = zip.len() as u32;
    zip.extend(0x0201_4b50u32.to_le_bytes());
    zip.extend(20u16.to_le_bytes()); // made by
    common(&mut zip);
    for v in [0u16, 0, 0] {
        zip.extend(v.to_le_bytes()); // comment length, disk, internal attributes
    }
    zip.extend(0u32.to_le_bytes()); // external attributes
    zip.extend(0u32.to_le_bytes()); // offset of the local header
    zip.extend(name.as_bytes());
    let directory_size = zip.len() as u32 - directory_at;
    zip.extend(0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, 1, 1] {
        zip.extend(v.to_le_bytes());
    }
    zip.extend(directory_size.to_le_bytes());
    zip.extend(directory_at.to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip
}
