//! Gateway environments: where fedgate deploys (an AWS account, region and stage) and
//! with which credentials.

use secrecy::SecretString;
use url::Url;

use super::aws::{Region, RoleArn, StageName};
use super::validation::{Errors, FieldError, WriteOnly};

/// A unique slug: lowercase letters, digits and hyphens, 1–63, starting alphanumeric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, String> {
        let valid = (1..=63).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && !s.ends_with('-')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be 1–63 lowercase letters, digits and hyphens, starting with a letter or digit".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute http(s) URL without credentials, query or fragment — e.g. an emulator
/// or a VPC endpoint.
pub fn parse_endpoint_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an absolute http(s) URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(url)
}

pub const INVOKE_URL_PLACEHOLDERS: [&str; 3] = ["{restApiId}", "{region}", "{stage}"];

/// An invocation URL template such as `http://127.0.0.1:4566/_aws/execute-api/{restApiId}/{stage}`.
pub fn parse_invoke_url_template(s: &str) -> Result<String, String> {
    if !s.contains("{restApiId}") {
        return Err("must contain {restApiId}".into());
    }
    let mut probe = s.to_owned();
    for placeholder in INVOKE_URL_PLACEHOLDERS {
        probe = probe.replace(placeholder, "x");
    }
    if probe.contains('{') || probe.contains('}') {
        return Err("may use only the placeholders {restApiId}, {region} and {stage}".into());
    }
    parse_endpoint_url(&probe)?;
    Ok(s.trim_end_matches('/').to_owned())
}

/// An AWS access key id: 16–128 upper-case letters and digits.
pub fn parse_access_key_id(s: &str) -> Result<String, String> {
    if s.contains('…') || s.contains('*') {
        return Err(
            "looks masked: send the full access key id, or omit it to keep the stored one".into(),
        );
    }
    let valid = (16..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if valid {
        Ok(s.to_owned())
    } else {
        Err("must be 16–128 upper-case letters and digits (e.g. AKIA…)".into())
    }
}

fn parse_secret(s: &str) -> Result<SecretString, String> {
    if s.is_empty() || s.len() > 4096 || s.chars().any(char::is_whitespace) {
        return Err("must be a non-empty value without whitespace".into());
    }
    Ok(SecretString::from(s.to_owned()))
}

/// `AKIA…WXYZ`: enough to recognise a key, not enough to use it.
pub fn mask_access_key_id(id: &str) -> String {
    if id.len() <= 8 {
        return "…".to_owned();
    }
    format!("{}…{}", &id[..4], &id[id.len() - 4..])
}

/// A secret given in a request, or a request to keep the stored one.
#[derive(Debug, Clone)]
pub enum SecretInput {
    New(SecretString),
    Keep,
}

#[derive(Debug, Clone)]
pub enum CredentialsSpec {
    /// Static keys. `access_key_id` is `None` on an update that keeps the stored one.
    AccessKey {
        access_key_id: Option<String>,
        secret_access_key: SecretInput,
        /// `None`: no session token (any stored one is removed).
        session_token: Option<SecretInput>,
    },
    /// Assume a role on top of the default credential chain.
    AssumeRole {
        role_arn: RoleArn,
        external_id: Option<String>,
        session_name: Option<String>,
    },
    /// The SDK's default chain: environment, profile, container or instance role, web identity.
    Default,
}

/// Raw credentials fields as a request carries them.
#[derive(Debug, Clone, Default)]
pub struct CredentialsInput<'a> {
    pub credential_type: &'a str,
    pub access_key_id: Option<&'a str>,
    pub secret_access_key: WriteOnly<&'a str>,
    pub session_token: WriteOnly<&'a str>,
    pub role_arn: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub session_name: Option<&'a str>,
}

impl CredentialsSpec {
    /// Parses credentials; `creating` demands the secrets an update may omit.
    pub fn parse(
        input: &CredentialsInput<'_>,
        creating: bool,
        errors: &mut Errors,
    ) -> Option<Self> {
        const AT: &str = "config.credentials";
        let field = |name: &str| format!("{AT}.{name}");
        let stray = |names: &[(&str, Option<&str>)], errors: &mut Errors| {
            for (name, value) in names {
                if value.is_some() {
                    errors.add(
                        field(name),
                        format!("is not used with type `{}`", input.credential_type),
                    );
                }
            }
        };
        match input.credential_type {
            "accessKey" => {
                stray(
                    &[
                        ("roleArn", input.role_arn),
                        ("externalId", input.external_id),
                        ("sessionName", input.session_name),
                    ],
                    errors,
                );
                let access_key_id = match input.access_key_id {
                    Some(id) => Some(errors.check(&field("accessKeyId"), parse_access_key_id(id))?),
                    None if creating => {
                        errors.add(field("accessKeyId"), "is required");
                        return None;
                    }
                    None => None,
                };
                let secret_access_key = match input.secret_access_key {
                    WriteOnly::Set(s) => {
                        SecretInput::New(errors.check(&field("secretAccessKey"), parse_secret(s))?)
                    }
                    WriteOnly::Keep | WriteOnly::Remove if creating => {
                        errors.add(field("secretAccessKey"), "is required");
                        return None;
                    }
                    WriteOnly::Keep => SecretInput::Keep,
                    WriteOnly::Remove => {
                        errors.add(
                            field("secretAccessKey"),
                            "is required with type `accessKey` and cannot be removed: omit it \
                             to keep the stored one, or give a new one",
                        );
                        return None;
                    }
                };
                // Optional: `null` removes it, as leaving it out does on creation.
                let session_token = match input.session_token {
                    WriteOnly::Set(s) => Some(SecretInput::New(
                        errors.check(&field("sessionToken"), parse_secret(s))?,
                    )),
                    WriteOnly::Keep if !creating => Some(SecretInput::Keep),
                    WriteOnly::Keep | WriteOnly::Remove => None,
                };
                Some(CredentialsSpec::AccessKey {
                    access_key_id,
                    secret_access_key,
                    session_token,
                })
            }
            "assumeRole" => {
                stray(
                    &[
                        ("accessKeyId", input.access_key_id),
                        ("secretAccessKey", input.secret_access_key.new_value()),
                        ("sessionToken", input.session_token.new_value()),
                    ],
                    errors,
                );
                let Some(role_arn) = input.role_arn else {
                    errors.add(field("roleArn"), "is required");
                    return None;
                };
                let role_arn = errors.check(&field("roleArn"), RoleArn::parse(role_arn))?;
                let external_id = input.external_id.and_then(|id| {
                    let ok = (2..=1224).contains(&id.len())
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
                    errors.check(
                        &field("externalId"),
                        if ok {
                            Ok(id.to_owned())
                        } else {
                            Err("must be 2–1224 characters of letters, digits and +=,.@:/-_"
                                .to_owned())
                        },
                    )
                });
                let session_name = input.session_name.and_then(|name| {
                    let ok = (2..=64).contains(&name.len())
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
                    errors.check(
                        &field("sessionName"),
                        if ok {
                            Ok(name.to_owned())
                        } else {
                            Err("must be 2–64 characters of letters, digits and +=,.@-_".to_owned())
                        },
                    )
                });
                Some(CredentialsSpec::AssumeRole {
                    role_arn,
                    external_id,
                    session_name,
                })
            }
            "default" => {
                stray(
                    &[
                        ("accessKeyId", input.access_key_id),
                        ("secretAccessKey", input.secret_access_key.new_value()),
                        ("sessionToken", input.session_token.new_value()),
                        ("roleArn", input.role_arn),
                        ("externalId", input.external_id),
                        ("sessionName", input.session_name),
                    ],
                    errors,
                );
                Some(CredentialsSpec::Default)
            }
            other => {
                errors.add(
                    field("type"),
                    format!("`{other}` is not one of accessKey, assumeRole, default"),
                );
                None
            }
        }
    }
}

/// A validated environment.
#[derive(Debug, Clone)]
pub struct EnvironmentSpec {
    pub name: Slug,
    pub display_name: String,
    pub description: String,
    pub region: Region,
    pub stage: StageName,
    pub endpoint_url: Option<Url>,
    pub invoke_url_template: Option<String>,
    pub credentials: CredentialsSpec,
}

/// Raw environment fields as a request carries them.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentInput<'a> {
    pub name: &'a str,
    pub display_name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub provider: &'a str,
    pub region: &'a str,
    pub stage: &'a str,
    pub endpoint_url: Option<&'a str>,
    pub invoke_url_template: Option<&'a str>,
    pub credentials: CredentialsInput<'a>,
}

impl EnvironmentSpec {
    pub fn parse(input: &EnvironmentInput<'_>, creating: bool) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::new();
        let name = errors.check("name", Slug::parse(input.name));
        if input.provider != "aws" {
            errors.add("provider", "must be `aws`");
        }
        let display_name = input.display_name.unwrap_or(input.name).trim().to_owned();
        if display_name.chars().count() > 100 {
            errors.add("displayName", "must be at most 100 characters");
        }
        let description = input.description.unwrap_or_default().to_owned();
        if description.chars().count() > 1000 {
            errors.add("description", "must be at most 1000 characters");
        }
        let region = errors.check("config.region", Region::parse(input.region));
        let stage = errors.check("config.stage", StageName::parse(input.stage));
        let endpoint_url = input
            .endpoint_url
            .map(|u| errors.check("config.endpointUrl", parse_endpoint_url(u)));
        let invoke_url_template = input
            .invoke_url_template
            .map(|t| errors.check("config.invokeUrlTemplate", parse_invoke_url_template(t)));
        let credentials = CredentialsSpec::parse(&input.credentials, creating, &mut errors);
        errors.finish(|| EnvironmentSpec {
            name: name.expect("checked"),
            display_name,
            description,
            region: region.expect("checked"),
            stage: stage.expect("checked"),
            endpoint_url: endpoint_url.map(|u| u.expect("checked")),
            invoke_url_template: invoke_url_template.map(|t| t.expect("checked")),
            credentials: credentials.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>() -> EnvironmentInput<'a> {
        EnvironmentInput {
            name: "aws-prod",
            provider: "aws",
            region: "us-east-1",
            stage: "prod",
            credentials: CredentialsInput {
                credential_type: "accessKey",
                access_key_id: Some("AKIAIOSFODNN7EXAMPLE"),
                secret_access_key: WriteOnly::Set("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_environment_parses() {
        let spec = EnvironmentSpec::parse(&input(), true).unwrap();
        assert_eq!(spec.display_name, "aws-prod");
        assert!(matches!(
            spec.credentials,
            CredentialsSpec::AccessKey { .. }
        ));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = input();
        bad.name = "AWS Prod";
        bad.provider = "azure";
        bad.region = "mars-1";
        bad.stage = "prod-1";
        bad.endpoint_url = Some("ftp://x");
        bad.invoke_url_template = Some("http://x/{apiId}");
        bad.credentials.access_key_id = Some("AKIA…WXYZ");
        let errors = fields(EnvironmentSpec::parse(&bad, true).unwrap_err());
        assert_eq!(
            errors,
            [
                "name",
                "provider",
                "config.region",
                "config.stage",
                "config.endpointUrl",
                "config.invokeUrlTemplate",
                "config.credentials.accessKeyId"
            ]
        );
    }

    #[test]
    fn secrets_are_required_on_create_and_optional_on_update() {
        let mut no_secret = input();
        no_secret.credentials.secret_access_key = WriteOnly::Keep;
        let errors = fields(EnvironmentSpec::parse(&no_secret, true).unwrap_err());
        assert_eq!(errors, ["config.credentials.secretAccessKey"]);
        let spec = EnvironmentSpec::parse(&no_secret, false).unwrap();
        assert!(matches!(
            spec.credentials,
            CredentialsSpec::AccessKey {
                secret_access_key: SecretInput::Keep,
                ..
            }
        ));
    }

    #[test]
    fn null_removes_an_optional_secret_and_is_refused_for_a_required_one() {
        let mut removed = input();
        removed.credentials.secret_access_key = WriteOnly::Remove;
        let errors = EnvironmentSpec::parse(&removed, false).unwrap_err();
        assert_eq!(errors[0].field, "config.credentials.secretAccessKey");
        assert!(errors[0].reason.contains("cannot be removed"), "{errors:?}");
        let errors = fields(EnvironmentSpec::parse(&removed, true).unwrap_err());
        assert_eq!(errors, ["config.credentials.secretAccessKey"]);
        let mut no_token = input();
        no_token.credentials.secret_access_key = WriteOnly::Keep;
        no_token.credentials.session_token = WriteOnly::Remove;
        let spec = EnvironmentSpec::parse(&no_token, false).unwrap();
        assert!(matches!(
            spec.credentials,
            CredentialsSpec::AccessKey {
                session_token: None,
                ..
            }
        ));
        // Other credential types have no secret to remove: `null` is no stray field.
        no_token.credentials = CredentialsInput {
            credential_type: "default",
            secret_access_key: WriteOnly::Remove,
            ..Default::default()
        };
        assert!(EnvironmentSpec::parse(&no_token, false).is_ok());
    }

    #[test]
    fn assume_role_and_stray_fields() {
        let mut role = input();
        role.credentials = CredentialsInput {
            credential_type: "assumeRole",
            role_arn: Some("arn:aws:iam::123456789012:role/fedgate"),
            external_id: Some("ext-42"),
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE"),
            ..Default::default()
        };
        let errors = fields(EnvironmentSpec::parse(&role, true).unwrap_err());
        assert_eq!(errors, ["config.credentials.accessKeyId"]);
        role.credentials.access_key_id = None;
        assert!(matches!(
            EnvironmentSpec::parse(&role, true).unwrap().credentials,
            CredentialsSpec::AssumeRole { .. }
        ));
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask_access_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
    }

    #[test]
    fn invoke_url_templates() {
        assert!(
            parse_invoke_url_template("http://127.0.0.1:4566/_aws/execute-api/{restApiId}/{stage}")
                .is_ok()
        );
        assert!(parse_invoke_url_template("https://example.com/{stage}").is_err());
    }
}
