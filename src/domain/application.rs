//! Developer-portal applications and the client credentials they hold at key managers.

use super::api::{ApiName, check_description};
use super::validation::{Errors, FieldError};

/// A validated application: what a developer may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSpec {
    pub name: String,
    pub description: String,
}

impl ApplicationSpec {
    pub fn parse(name: &str, description: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::new();
        // Same rule as API names: 1–100 characters, not blank, no control characters.
        let name = errors.check("name", ApiName::parse(name));
        let description = errors.check("description", check_description(description));
        errors.finish(|| ApplicationSpec {
            name: name.expect("checked").as_str().to_owned(),
            description: description.expect("checked"),
        })
    }
}

/// A client id or secret someone typed in: 1–500 visible characters.
pub fn parse_credential(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 500 || s.chars().any(|c| c.is_control() || c == ' ') {
        return Err("must be 1–500 characters without spaces or control characters".into());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_checked_together() {
        let spec = ApplicationSpec::parse("  My app ", None).unwrap();
        assert_eq!(spec.name, "My app");
        assert_eq!(spec.description, "");
        let long = "x".repeat(2001);
        let fields: Vec<String> = ApplicationSpec::parse(" ", Some(&long))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "description"]);
    }

    #[test]
    fn credentials_are_single_words() {
        assert!(parse_credential("abc-123").is_ok());
        for bad in ["", "a b", "a\nb"] {
            assert!(parse_credential(bad).is_err(), "{bad:?}");
        }
    }
}
