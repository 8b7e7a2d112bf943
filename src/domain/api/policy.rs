//! Security policies (the AWS OAuth2 Lambda authorizer: the publisher's own, or one
//! fedgate manages for a key manager), their ARNs, and the precedence
//! rule that decides which policy AWS enforces on a resource.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::collections::BTreeSet;

use super::draft::{PolicyDraft, PolicyParametersDraft};
use crate::domain::validation::{Errors, parsed_string};

pub const AWS_OAUTH2: &str = "awsOAuth2";

/// `arn:aws[-a-z]*:lambda:<region>:<account>:function:<name>[:<alias or version>]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "arn:aws:lambda:eu-west-1:123456789012:function:authorizer")]
pub struct LambdaArn(String);

impl LambdaArn {
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let valid = match parts.as_slice() {
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
                qualifier @ ..,
            ] => {
                is_partition(partition)
                    && is_region(region)
                    && is_account(account)
                    && is_word(name, 64)
                    && match qualifier {
                        [] => true,
                        [q] => *q == "$LATEST" || is_word(q, 128),
                        _ => false,
                    }
            }
            _ => false,
        };
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be a Lambda function ARN: arn:aws:lambda:<region>:<12-digit account>:function:<name>[:<alias or version>]".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `arn:aws[-a-z]*:iam::<account>:role/<path/>name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "arn:aws:iam::123456789012:role/apigateway-invoke-authorizer")]
pub struct IamRoleArn(String);

impl IamRoleArn {
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let valid = match parts.as_slice() {
            ["arn", partition, "iam", "", account, resource] => {
                is_partition(partition)
                    && is_account(account)
                    && resource.len() <= 512
                    && resource.strip_prefix("role/").is_some_and(|path| {
                        let segments: Vec<&str> = path.split('/').collect();
                        segments.iter().all(|s| is_role_word(s))
                            && segments.last().is_some_and(|name| name.len() <= 64)
                    })
            }
            _ => false,
        };
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be an IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

parsed_string!(LambdaArn, IamRoleArn);

/// `aws`, `aws-cn`, `aws-us-gov`, …
fn is_partition(s: &str) -> bool {
    s.strip_prefix("aws")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
}

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-2`, …
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(lower)
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// Lambda function names, aliases and versions: letters, digits, `-` and `_`.
fn is_word(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// IAM names and path segments: letters, digits and `+=,.@_-`.
fn is_role_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// A Lambda authorizer the publisher brings: the function and the role API Gateway
/// assumes to invoke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaAuthorizer {
    pub lambda_arn: LambdaArn,
    pub invoke_role_arn: IamRoleArn,
}

/// An authorizer fedgate provisions and maintains for a registered key manager: the
/// bearer token must be one of its tokens carrying every scope listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedAuthorizer {
    /// The key manager's name (an id given on write is stored as its name).
    #[schema(example = "okta")]
    pub key_manager: String,
    /// The scopes a token needs, all of them; none: any valid token of the key manager.
    #[schema(example = json!(["pets:read"]))]
    pub scopes: BTreeSet<String>,
}

/// The parameters of an AWS OAuth2 policy, in one of two forms: the publisher's own
/// Lambda authorizer, or one fedgate manages for a key manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AwsOAuth2 {
    Lambda(LambdaAuthorizer),
    Managed(ManagedAuthorizer),
}

impl AwsOAuth2 {
    pub fn managed(&self) -> Option<&ManagedAuthorizer> {
        match self {
            AwsOAuth2::Managed(m) => Some(m),
            AwsOAuth2::Lambda(_) => None,
        }
    }

    pub fn lambda(&self) -> Option<&LambdaAuthorizer> {
        match self {
            AwsOAuth2::Lambda(l) => Some(l),
            AwsOAuth2::Managed(_) => None,
        }
    }
}

/// At most this many scopes per policy, each at most `MAX_SCOPE` characters.
const MAX_SCOPES: usize = 50;
const MAX_SCOPE: usize = 200;

/// An OAuth2 scope token (RFC 6749 §3.3): printable ASCII without space, `"` or `\`.
fn parse_scope(s: &str) -> Result<String, String> {
    let valid = (1..=MAX_SCOPE).contains(&s.len())
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    if valid {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not an OAuth2 scope: 1–{MAX_SCOPE} printable ASCII characters without \
             spaces, `\"` or `\\`"
        ))
    }
}

/// A key manager named by name or id: 1–100 characters, not blank.
fn parse_key_manager_ref(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 100 {
        return Err("must name a registered key manager (its name or id)".into());
    }
    Ok(s.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "parameters")]
pub enum Policy {
    #[serde(rename = "awsOAuth2")]
    AwsOAuth2(AwsOAuth2),
}

impl Policy {
    /// Validates one policy, reporting errors under `at` (e.g. `policies[0]`).
    fn parse(draft: &PolicyDraft, at: &str, errors: &mut Errors) -> Option<Policy> {
        match draft.policy_type.as_deref() {
            None => {
                errors.add(format!("{at}.type"), "is required");
                None
            }
            Some(AWS_OAUTH2) => {
                parse_aws_oauth2(&draft.parameters, &format!("{at}.parameters"), errors)
                    .map(Policy::AwsOAuth2)
            }
            Some(other) => {
                errors.add(
                    format!("{at}.type"),
                    format!("unknown policy type `{other}`; known types: {AWS_OAUTH2}"),
                );
                None
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Policy::AwsOAuth2(_) => AWS_OAUTH2,
        }
    }

    /// The managed authorizer's parameters, for a policy of that form.
    pub fn managed(&self) -> Option<&ManagedAuthorizer> {
        match self {
            Policy::AwsOAuth2(p) => p.managed(),
        }
    }

    /// The publisher's own Lambda authorizer, for a policy of that form.
    pub fn lambda(&self) -> Option<&LambdaAuthorizer> {
        match self {
            Policy::AwsOAuth2(p) => p.lambda(),
        }
    }

    fn managed_mut(&mut self) -> Option<&mut ManagedAuthorizer> {
        match self {
            Policy::AwsOAuth2(AwsOAuth2::Managed(m)) => Some(m),
            Policy::AwsOAuth2(AwsOAuth2::Lambda(_)) => None,
        }
    }
}

/// The managed policies of one level's `policies` named `field`, each with the field
/// naming its key manager (`policies[0].parameters.keyManager`).
pub fn managed_mut<'p>(
    policies: &'p mut [Policy],
    field: &str,
) -> impl Iterator<Item = (String, &'p mut ManagedAuthorizer)> {
    policies.iter_mut().enumerate().filter_map(move |(i, p)| {
        p.managed_mut()
            .map(|m| (format!("{field}[{i}].parameters.keyManager"), m))
    })
}

/// Exactly one form: `keyManager` (+ `scopes`), or `lambdaArn` + `invokeRoleArn`.
fn parse_aws_oauth2(
    params: &PolicyParametersDraft,
    at: &str,
    errors: &mut Errors,
) -> Option<AwsOAuth2> {
    let own = params.lambda_arn.is_some() || params.invoke_role_arn.is_some();
    if params.key_manager.is_some() && own {
        let field = if params.lambda_arn.is_some() {
            "lambdaArn"
        } else {
            "invokeRoleArn"
        };
        errors.add(
            format!("{at}.{field}"),
            "give either keyManager (fedgate manages the authorizer) or lambdaArn and \
             invokeRoleArn (your own), not both",
        );
        return None;
    }
    if let Some(key_manager) = &params.key_manager {
        let key_manager = errors.check(
            &format!("{at}.keyManager"),
            parse_key_manager_ref(key_manager),
        );
        let given = params.scopes.as_deref().unwrap_or_default();
        if given.len() > MAX_SCOPES {
            errors.add(
                format!("{at}.scopes"),
                format!("at most {MAX_SCOPES} scopes"),
            );
            return None;
        }
        let mut scopes = BTreeSet::new();
        for (i, scope) in given.iter().enumerate() {
            if let Some(scope) = errors.check(&format!("{at}.scopes[{i}]"), parse_scope(scope)) {
                scopes.insert(scope);
            }
        }
        return Some(AwsOAuth2::Managed(ManagedAuthorizer {
            key_manager: key_manager?,
            scopes,
        }));
    }
    if params.scopes.is_some() {
        errors.add(
            format!("{at}.scopes"),
            "scopes need keyManager: fedgate checks them in the authorizer it manages \
             (your own authorizer checks its own)",
        );
        return None;
    }
    if !own {
        errors.add(
            at.to_owned(),
            "give keyManager (and scopes) for an authorizer fedgate manages, or lambdaArn \
             and invokeRoleArn for your own",
        );
        return None;
    }
    let lambda = errors.check(
        &format!("{at}.lambdaArn"),
        required(&params.lambda_arn).and_then(LambdaArn::parse),
    );
    let role = errors.check(
        &format!("{at}.invokeRoleArn"),
        required(&params.invoke_role_arn).and_then(IamRoleArn::parse),
    );
    Some(AwsOAuth2::Lambda(LambdaAuthorizer {
        lambda_arn: lambda?,
        invoke_role_arn: role?,
    }))
}

fn required(value: &Option<String>) -> Result<&str, String> {
    value.as_deref().ok_or_else(|| "is required".to_owned())
}

/// Validates the policies of one level (the API or one resource) named `field`: each
/// policy, and at most one of each type.
pub fn parse_policies(drafts: &[PolicyDraft], field: &str, errors: &mut Errors) -> Vec<Policy> {
    let mut policies: Vec<Policy> = Vec::new();
    for (i, draft) in drafts.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(policy) = Policy::parse(draft, &at, errors) else {
            continue;
        };
        if policies.iter().any(|p| p.kind() == policy.kind()) {
            errors.add(
                at,
                format!("at most one {} policy per level", policy.kind()),
            );
        } else {
            policies.push(policy);
        }
    }
    policies
}

/// Where a resource's effective policy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicySource {
    Resource,
    Api,
    /// No policy: AWS will not secure the resource.
    None,
}

/// The policy AWS enforces on one resource, and its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EffectivePolicy {
    pub source: PolicySource,
    pub policy: Option<Policy>,
}

/// The precedence rule: a resource's own policy overrides the API's; with neither the
/// resource is unsecured.
pub fn effective_policy(api: &[Policy], resource: &[Policy]) -> EffectivePolicy {
    match (resource.first(), api.first()) {
        (Some(policy), _) => EffectivePolicy {
            source: PolicySource::Resource,
            policy: Some(policy.clone()),
        },
        (None, Some(policy)) => EffectivePolicy {
            source: PolicySource::Api,
            policy: Some(policy.clone()),
        },
        (None, None) => EffectivePolicy {
            source: PolicySource::None,
            policy: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(function: &str) -> Policy {
        Policy::AwsOAuth2(AwsOAuth2::Lambda(LambdaAuthorizer {
            lambda_arn: LambdaArn::parse(&format!(
                "arn:aws:lambda:eu-west-1:123456789012:function:{function}"
            ))
            .unwrap(),
            invoke_role_arn: IamRoleArn::parse("arn:aws:iam::123456789012:role/invoke").unwrap(),
        }))
    }

    #[test]
    fn resource_overrides_api_and_none_is_unsecured() {
        let api = [oauth("api")];
        let resource = [oauth("resource")];
        let both = effective_policy(&api, &resource);
        assert_eq!(both.source, PolicySource::Resource);
        assert_eq!(both.policy, Some(oauth("resource")));
        let inherited = effective_policy(&api, &[]);
        assert_eq!(inherited.source, PolicySource::Api);
        assert_eq!(inherited.policy, Some(oauth("api")));
        let only_resource = effective_policy(&[], &resource);
        assert_eq!(only_resource.source, PolicySource::Resource);
        let none = effective_policy(&[], &[]);
        assert_eq!(none.source, PolicySource::None);
        assert_eq!(none.policy, None);
    }

    #[test]
    fn lambda_arns() {
        for ok in [
            "arn:aws:lambda:us-east-1:123456789012:function:auth",
            "arn:aws:lambda:us-gov-west-1:123456789012:function:my_auth-2:prod",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:auth:7",
            "arn:aws:lambda:eu-central-1:123456789012:function:auth:$LATEST",
        ] {
            assert!(LambdaArn::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:12345678901:function:auth",
            "arn:aws:lambda:useast1:123456789012:function:auth",
            "arn:aws:lambda:us-east-1:123456789012:layer:auth",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:a:b:c",
            "arn:aws:iam::123456789012:role/x",
            "arn:gcp:lambda:us-east-1:123456789012:function:auth",
        ] {
            assert!(LambdaArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        for ok in [
            "arn:aws:iam::123456789012:role/invoke",
            "arn:aws:iam::123456789012:role/service-role/api+gw=1,x.y@z",
            "arn:aws-us-gov:iam::123456789012:role/a/b/c",
        ] {
            assert!(IamRoleArn::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a//b",
            "arn:aws:iam::123456789012:role/has space",
        ] {
            assert!(IamRoleArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reports_every_policy_error() {
        let drafts = [
            PolicyDraft {
                policy_type: Some("apiKey".into()),
                parameters: PolicyParametersDraft::default(),
            },
            PolicyDraft {
                policy_type: Some(AWS_OAUTH2.into()),
                parameters: PolicyParametersDraft {
                    lambda_arn: Some("nope".into()),
                    invoke_role_arn: None,
                    ..Default::default()
                },
            },
        ];
        let mut errors = Errors::new();
        parse_policies(&drafts, "policies", &mut errors);
        let fields: Vec<String> = errors
            .finish(|| ())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "policies[0].type",
                "policies[1].parameters.lambdaArn",
                "policies[1].parameters.invokeRoleArn"
            ]
        );
    }

    #[test]
    fn one_policy_per_level() {
        let draft = PolicyDraft {
            policy_type: Some(AWS_OAUTH2.into()),
            parameters: PolicyParametersDraft {
                lambda_arn: Some("arn:aws:lambda:us-east-1:123456789012:function:a".into()),
                invoke_role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
                ..Default::default()
            },
        };
        let mut errors = Errors::new();
        let policies = parse_policies(&[draft.clone(), draft], "policies", &mut errors);
        assert_eq!(policies.len(), 1);
        let errors = errors.finish(|| ()).unwrap_err();
        assert_eq!(errors[0].field, "policies[1]");
    }
}

#[cfg(test)]
mod form_tests {
    use super::*;

    fn parse(parameters: serde_json::Value) -> Result<Option<Policy>, Vec<String>> {
        let draft: PolicyDraft = serde_json::from_value(
            serde_json::json!({"type": "awsOAuth2", "parameters": parameters}),
        )
        .unwrap();
        let mut errors = Errors::new();
        let policy = Policy::parse(&draft, "policies[0]", &mut errors);
        errors.finish(|| policy).map_err(|e| {
            e.into_iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect()
        })
    }

    #[test]
    fn managed_form_keeps_sorted_unique_scopes() {
        let policy = parse(serde_json::json!({"keyManager": " okta ", "scopes": ["b", "a", "b"]}))
            .unwrap()
            .unwrap();
        let managed = policy.managed().unwrap();
        assert_eq!(managed.key_manager, "okta");
        assert_eq!(managed.scopes.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(policy.lambda().is_none());
        // Stored as {keyManager, scopes}, read back as the same form.
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(
            json["parameters"],
            serde_json::json!({"keyManager": "okta", "scopes": ["a", "b"]})
        );
        assert_eq!(serde_json::from_value::<Policy>(json).unwrap(), policy);
    }

    #[test]
    fn stored_lambda_policies_still_read() {
        let json = serde_json::json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:a",
            "invokeRoleArn": "arn:aws:iam::123456789012:role/r"}});
        let policy: Policy = serde_json::from_value(json).unwrap();
        assert!(policy.lambda().is_some());
    }

    #[test]
    fn exactly_one_form_with_the_field_named() {
        let both = parse(serde_json::json!({"keyManager": "okta",
            "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:a"}));
        assert!(
            both.unwrap_err()[0]
                .starts_with("policies[0].parameters.lambdaArn: give either keyManager")
        );
        let neither = parse(serde_json::json!({}));
        assert!(neither.unwrap_err()[0].starts_with("policies[0].parameters: give keyManager"));
        let stray_scopes = parse(serde_json::json!({"scopes": ["a"],
            "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:a",
            "invokeRoleArn": "arn:aws:iam::123456789012:role/r"}));
        assert!(
            stray_scopes.unwrap_err()[0]
                .starts_with("policies[0].parameters.scopes: scopes need keyManager")
        );
        let bad_scope =
            parse(serde_json::json!({"keyManager": "okta", "scopes": ["ok", "two words", ""]}));
        let errors = bad_scope.unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("policies[0].parameters.scopes[1]:"));
        assert!(errors[1].starts_with("policies[0].parameters.scopes[2]:"));
        let blank = parse(serde_json::json!({"keyManager": "  "}));
        assert!(blank.unwrap_err()[0].starts_with("policies[0].parameters.keyManager:"));
    }
}
