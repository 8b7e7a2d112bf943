//! The scopes fedgate's own tokens carry; each opens one area of the API.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Admin,
    Publisher,
    Devportal,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Admin, Scope::Publisher, Scope::Devportal];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Publisher => "publisher",
            Scope::Devportal => "devportal",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty, ordered set of scopes; written space-separated as OAuth2 does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    pub fn from_iter_nonempty(scopes: impl IntoIterator<Item = Scope>) -> Option<Self> {
        let set: BTreeSet<Scope> = scopes.into_iter().collect();
        (!set.is_empty()).then_some(Self(set))
    }

    /// Parses "admin publisher"; unknown words are an error naming the word.
    pub fn parse_space_separated(s: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for word in s.split_ascii_whitespace() {
            set.insert(Scope::parse(word).ok_or_else(|| format!("unknown scope `{word}`"))?);
        }
        Self::from_iter_nonempty(set).ok_or_else(|| "no scope given".to_owned())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes both have; none when they share nothing.
    pub fn intersection(&self, other: &Scopes) -> Option<Scopes> {
        Self::from_iter_nonempty(self.0.intersection(&other.0).copied())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn to_vec(&self) -> Vec<Scope> {
        self.iter().collect()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_owned()).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_keeps_only_shared_scopes() {
        let token = Scopes::parse_space_separated("admin publisher").unwrap();
        let client = Scopes::parse_space_separated("publisher devportal").unwrap();
        assert_eq!(
            token.intersection(&client).unwrap().to_string(),
            "publisher"
        );
        let devportal = Scopes::parse_space_separated("devportal").unwrap();
        assert!(token.intersection(&devportal).is_none());
    }

    #[test]
    fn parses_and_prints_space_separated() {
        let scopes = Scopes::parse_space_separated(" publisher admin publisher").unwrap();
        assert_eq!(scopes.to_string(), "admin publisher");
        assert!(Scopes::parse_space_separated("admin root").is_err());
        assert!(Scopes::parse_space_separated("  ").is_err());
    }

    #[test]
    fn subset() {
        let admin = Scopes::parse_space_separated("admin").unwrap();
        assert!(admin.is_subset(&Scopes::all()));
        assert!(!Scopes::all().is_subset(&admin));
    }
}
