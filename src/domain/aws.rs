//! AWS identifiers: region codes, account ids, ARNs, API Gateway stage names.

/// Region codes AWS API Gateway runs in (commercial, GovCloud, China).
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region(String);

impl Region {
    pub fn parse(s: &str) -> Result<Self, String> {
        if REGIONS.contains(&s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("`{s}` is not an AWS region code (e.g. us-east-1)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API Gateway stage name: letters, digits and underscores, at most 128.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageName(String);

impl StageName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let valid = !s.is_empty()
            && s.len() <= 128
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(
                "must be 1–128 letters, digits or underscores (API Gateway's stage-name rule)"
                    .into(),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(6, ':');
        let mut next = || parts.next().unwrap_or_default().to_owned();
        let (prefix, partition, service, region, account, resource) =
            (next(), next(), next(), next(), next(), next());
        if prefix != "arn" || !matches!(partition.as_str(), "aws" | "aws-cn" | "aws-us-gov") {
            return Err("is not an ARN (arn:aws:service:region:account:resource)".into());
        }
        if service.is_empty() || resource.is_empty() {
            return Err("is not a complete ARN".into());
        }
        if !account.is_empty() && !is_account_id(&account) {
            return Err("has an account id that is not 12 digits".into());
        }
        Ok(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// An IAM role ARN: `arn:aws:iam::123456789012:role/path/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    arn: String,
    pub account: String,
    pub name: String,
}

impl RoleArn {
    pub fn parse(s: &str) -> Result<Self, String> {
        let arn = Arn::parse(s)?;
        let role_path = arn.resource.strip_prefix("role/");
        let name = role_path
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or_default();
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if arn.service != "iam" || !arn.region.is_empty() || arn.account.is_empty() || !name_ok {
            return Err("must be an IAM role ARN (arn:aws:iam::123456789012:role/name)".into());
        }
        Ok(Self {
            name: name.to_owned(),
            account: arn.account,
            arn: s.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.arn
    }
}

/// The AWS partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`), for its ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_stages() {
        assert!(Region::parse("eu-west-1").is_ok());
        assert!(Region::parse("eu-west-9").is_err());
        assert!(Region::parse("EU-WEST-1").is_err());
        assert!(StageName::parse("prod_2").is_ok());
        for bad in ["", "pro d", "prod-1", &"a".repeat(129)] {
            assert!(StageName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        let role = RoleArn::parse("arn:aws:iam::123456789012:role/service/apigw-invoke").unwrap();
        assert_eq!(role.account, "123456789012");
        assert_eq!(role.name, "apigw-invoke");
        for bad in [
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::1234:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "not-an-arn",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(RoleArn::parse(bad).is_err(), "{bad}");
        }
    }
}
