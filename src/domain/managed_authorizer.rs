//! The AWS resources of a managed authorizer (the function fedgate ships, one per key
//! manager and environment): their deterministic names, and the least-privilege trust and
//! inline policies of its two roles. Deterministic names are what make provisioning
//! idempotent and crash-safe: a rerun finds what an interrupted one created.
//!
//! Why an invoke role rather than a resource policy on the function: API Gateway assumes
//! the role (`authorizerCredentials`) to invoke the function, so one role serves every
//! REST API of the environment, with no AddPermission per REST API (and no policy on the
//! function growing with each one); the role may invoke exactly that one function.

use serde_json::json;
use sha2::{Digest, Sha256};

/// Every managed authorizer's function and roles start with it (the README's IAM policy
/// scopes fedgate's rights to it).
pub const NAME_PREFIX: &str = "fedgate-authz-";
pub const EXECUTION_ROLE_SUFFIX: &str = "-exec";
pub const INVOKE_ROLE_SUFFIX: &str = "-invoke";
/// The inline policy of the execution role: its own log group, nothing else.
pub const EXECUTION_POLICY_NAME: &str = "fedgate-authorizer-logs";
/// The inline policy of the invoke role: `lambda:InvokeFunction` on the one function.
pub const INVOKE_POLICY_NAME: &str = "fedgate-authorizer-invoke";
pub const TAG_KEY_MANAGER: &str = "fedgate:key-manager";
pub const RUNTIME: &str = "nodejs22.x";
pub const MEMORY_MB: i32 = 128;
pub const TIMEOUT_SECS: i32 = 5;

/// AWS's limits: a function name and a role name are at most 64 characters.
const MAX_NAME: usize = 64;
const ENVIRONMENT_CHARS: usize = 8;
/// The longest stem whose roles (with the longer suffix) still fit in 64 characters.
pub const MAX_STEM: usize = MAX_NAME - INVOKE_ROLE_SUFFIX.len();
/// How much of the key manager's slug fits: prefix, slug, `-`, 8 chars of environment.
const MAX_SLUG: usize = MAX_STEM - NAME_PREFIX.len() - 1 - ENVIRONMENT_CHARS;
/// A shortened slug keeps this many hex chars of its hash, so two long slugs sharing a
/// beginning still get different names.
const SLUG_HASH_CHARS: usize = 8;

/// `fedgate-authz-<key manager slug>-<8 chars of the environment id>`, the name of the
/// function and the stem of its roles; a slug too long to fit is shortened and keeps a
/// hash of the whole.
pub fn stem(key_manager_slug: &str, environment_id: &str) -> String {
    let slug = if key_manager_slug.len() <= MAX_SLUG {
        key_manager_slug.to_owned()
    } else {
        let hash = hex(&Sha256::digest(key_manager_slug.as_bytes()));
        let kept = key_manager_slug[..MAX_SLUG - SLUG_HASH_CHARS - 1].trim_end_matches('-');
        format!("{kept}-{}", &hash[..SLUG_HASH_CHARS])
    };
    let environment: String = environment_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(ENVIRONMENT_CHARS)
        .collect();
    format!("{NAME_PREFIX}{slug}-{}", environment.to_ascii_lowercase())
}

/// A stem fedgate may provision under: its own prefix, a valid function and role name.
pub fn check_stem(stem: &str) -> Result<(), String> {
    if !stem.starts_with(NAME_PREFIX) {
        return Err(format!("{stem:?} does not start with {NAME_PREFIX}"));
    }
    if stem.len() > MAX_STEM {
        return Err(format!(
            "{stem:?} is longer than {MAX_STEM} characters: its roles' names would exceed AWS's 64"
        ));
    }
    if !stem
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{stem:?} may hold only letters, digits, '-' and '_' (a Lambda function name)"
        ));
    }
    Ok(())
}

pub fn execution_role_name(stem: &str) -> String {
    format!("{stem}{EXECUTION_ROLE_SUFFIX}")
}

pub fn invoke_role_name(stem: &str) -> String {
    format!("{stem}{INVOKE_ROLE_SUFFIX}")
}

/// A provisioned managed authorizer as an authorizer names it: the function, and the
/// role API Gateway assumes to invoke it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedArns {
    pub function_arn: String,
    pub invoke_role_arn: String,
}

/// Where the resources live: AWS partition, account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub partition: String,
    pub account: String,
    pub region: String,
}

impl Placement {
    /// The partition and account of an IAM role ARN
    /// (`arn:<partition>:iam::<account>:role/<name>`), in `region`.
    pub fn of_role(role_arn: &str, region: &str) -> Option<Self> {
        let mut parts = role_arn.splitn(6, ':');
        let (arn, partition, service, _, account) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (arn == "arn" && service == "iam" && !account.is_empty() && !partition.is_empty()).then(
            || Self {
                partition: partition.to_owned(),
                account: account.to_owned(),
                region: region.to_owned(),
            },
        )
    }

    pub fn function_arn(&self, name: &str) -> String {
        let Self {
            partition,
            account,
            region,
        } = self;
        format!("arn:{partition}:lambda:{region}:{account}:function:{name}")
    }

    fn log_group_arn(&self, function: &str) -> String {
        let Self {
            partition,
            account,
            region,
        } = self;
        format!("arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function}")
    }
}

/// The invoke role's ARN, from the execution role's ARN a function reports.
pub fn invoke_role_arn(execution_role_arn: &str) -> Option<String> {
    execution_role_arn
        .strip_suffix(EXECUTION_ROLE_SUFFIX)
        .map(|stem| format!("{stem}{INVOKE_ROLE_SUFFIX}"))
}

/// A trust policy letting only `service` (e.g. `lambda.amazonaws.com`) assume the role.
pub fn trust_policy(service: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole"}]})
    .to_string()
}

/// The execution role's rights: write to the function's own log group.
pub fn logs_policy(placement: &Placement, function: &str) -> String {
    let group = placement.log_group_arn(function);
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [group.clone(), format!("{group}:*")]}]})
    .to_string()
}

/// The invoke role's rights: invoke exactly one function.
pub fn invoke_policy(function_arn: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": function_arn}]})
    .to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_aws_limits_and_stay_distinct() {
        let short = stem("okta", "0b6f7d1e-9a2c-4c4e-8f00-1234567890ab");
        assert_eq!(short, "fedgate-authz-okta-0b6f7d1e");
        assert!(check_stem(&short).is_ok());
        let long_a = stem(&"a".repeat(63), "0b6f7d1e-9a2c");
        let long_b = stem(&format!("{}b", "a".repeat(62)), "0b6f7d1e-9a2c");
        assert_ne!(long_a, long_b);
        for s in [&long_a, &long_b] {
            assert_eq!(s.len(), MAX_STEM, "{s}");
            assert!(invoke_role_name(s).len() <= 64);
            assert!(check_stem(s).is_ok(), "{s}");
        }
        assert!(check_stem("other-okta").is_err());
        assert!(check_stem(&format!("{NAME_PREFIX}{}", "x".repeat(50))).is_err());
        assert!(check_stem("fedgate-authz-a.b").is_err());
    }

    #[test]
    fn arns_follow_the_role_placement() {
        let placement =
            Placement::of_role("arn:aws-cn:iam::123456789012:role/x-exec", "cn-north-1").unwrap();
        assert_eq!(
            placement.function_arn("f"),
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f"
        );
        assert!(Placement::of_role("not-an-arn", "us-east-1").is_none());
        assert_eq!(
            invoke_role_arn("arn:aws:iam::1:role/fedgate-authz-a-b-exec").as_deref(),
            Some("arn:aws:iam::1:role/fedgate-authz-a-b-invoke")
        );
        assert_eq!(invoke_role_arn("arn:aws:iam::1:role/someone-else"), None);
        let logs: serde_json::Value = serde_json::from_str(&logs_policy(&placement, "f")).unwrap();
        assert_eq!(
            logs["Statement"][0]["Resource"][1],
            "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/f:*"
        );
    }
}
