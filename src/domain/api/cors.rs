//! Cross-origin settings of an API, answered by API Gateway on preflight requests.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::HttpMethod;
use super::draft::CorsDraft;
use crate::domain::validation::Errors;

const DEFAULT_HEADERS: [&str; 2] = ["Authorization", "Content-Type"];
const MAX_AGE_LIMIT: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub enabled: bool,
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    /// Absent: the methods of the API's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<HttpMethod>>,
    pub allow_credentials: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
}

impl Cors {
    /// Validates the `cors` object (absent: disabled, with the defaults filled in).
    pub fn parse(draft: Option<&CorsDraft>, errors: &mut Errors) -> Cors {
        let fallback = CorsDraft::default();
        let draft = draft.unwrap_or(&fallback);
        let allow_origins = draft
            .allow_origins
            .clone()
            .unwrap_or_else(|| vec!["*".to_owned()]);
        for (i, origin) in allow_origins.iter().enumerate() {
            errors.check(&format!("cors.allowOrigins[{i}]"), check_origin(origin));
        }
        if draft.enabled && allow_origins.is_empty() {
            errors.add(
                "cors.allowOrigins",
                "must name at least one origin (or `*`)",
            );
        }
        let allow_headers = draft
            .allow_headers
            .clone()
            .unwrap_or_else(|| DEFAULT_HEADERS.map(str::to_owned).to_vec());
        for (i, header) in allow_headers.iter().enumerate() {
            errors.check(&format!("cors.allowHeaders[{i}]"), check_header(header));
        }
        let allow_methods = draft.allow_methods.as_ref().map(|methods| {
            methods
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let parsed = HttpMethod::parse(m).and_then(|m| {
                        (m != HttpMethod::Any)
                            .then_some(m)
                            .ok_or_else(|| "ANY is not a method a browser sends".to_owned())
                    });
                    errors.check(&format!("cors.allowMethods[{i}]"), parsed)
                })
                .collect()
        });
        let allow_credentials = draft.allow_credentials.unwrap_or(false);
        if allow_credentials && allow_origins.iter().any(|o| o == "*") {
            errors.add(
                "cors.allowCredentials",
                "browsers refuse credentials with the `*` origin; list the origins",
            );
        }
        let max_age = draft.max_age.and_then(|age| {
            let checked = u32::try_from(age)
                .ok()
                .filter(|age| i64::from(*age) <= MAX_AGE_LIMIT)
                .ok_or_else(|| format!("must be between 0 and {MAX_AGE_LIMIT} seconds"));
            errors.check("cors.maxAge", checked)
        });
        Cors {
            enabled: draft.enabled,
            allow_origins,
            allow_headers,
            allow_methods,
            allow_credentials,
            max_age,
        }
    }
}

/// `*` or a bare origin: `https://app.example.com[:port]`, no path.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let bad = || format!("`{origin}` is not `*` or an origin like https://app.example.com");
    let url = url::Url::parse(origin).map_err(|_| bad())?;
    let serialized = url.origin().ascii_serialization();
    (matches!(url.scheme(), "http" | "https") && serialized == origin.trim_end_matches('/'))
        .then_some(())
        .ok_or_else(bad)
}

/// An HTTP header name (an RFC 9110 token).
fn check_header(header: &str) -> Result<(), String> {
    let valid = !header.is_empty()
        && header
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
    valid
        .then_some(())
        .ok_or_else(|| format!("`{header}` is not a header name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(draft: CorsDraft) -> Vec<String> {
        let mut errors = Errors::new();
        Cors::parse(Some(&draft), &mut errors);
        errors
            .finish(|| ())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn absent_means_disabled_with_defaults() {
        let mut errors = Errors::new();
        let cors = Cors::parse(None, &mut errors);
        assert!(errors.is_empty());
        assert!(!cors.enabled);
        assert_eq!(cors.allow_origins, ["*"]);
        assert_eq!(cors.allow_headers, DEFAULT_HEADERS);
    }

    #[test]
    fn reports_every_bad_setting() {
        let fields = errors_of(CorsDraft {
            enabled: true,
            allow_origins: Some(vec!["*".into(), "https://a.example/path".into()]),
            allow_headers: Some(vec!["X Bad".into()]),
            allow_methods: Some(vec!["GET".into(), "ANY".into(), "FETCH".into()]),
            allow_credentials: Some(true),
            max_age: Some(-1),
        });
        assert_eq!(
            fields,
            [
                "cors.allowOrigins[1]",
                "cors.allowHeaders[0]",
                "cors.allowMethods[1]",
                "cors.allowMethods[2]",
                "cors.allowCredentials",
                "cors.maxAge"
            ]
        );
        assert!(
            errors_of(CorsDraft {
                enabled: true,
                allow_origins: Some(vec!["https://app.example.com:8443".into()]),
                allow_credentials: Some(true),
                ..Default::default()
            })
            .is_empty()
        );
    }
}
