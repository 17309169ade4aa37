//! `RepositoryName`: a repository name that satisfies the OCI
//! distribution-spec grammar and length limit. Pure; the grammar's parser
//! is `name_grammar` (shared with the policy's repository patterns).
//!
//! Grammar (distribution-spec "Pulling manifests"):
//! `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
//! Because every component must start and end with `[a-z0-9]`, the grammar
//! alone rules out `.`/`..` components, empty components and leading or
//! trailing `/`, so a valid name is also safe as a relative path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// A valid OCI repository name, such as `samples/hello-world`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepositoryName(String);

impl RepositoryName {
    /// The longest name accepted. The distribution spec notes that clients
    /// limit `<host>/<name>` to 255 characters; the name alone can never be
    /// longer than that.
    pub const MAX_LEN: usize = 255;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated path components, in order; never empty.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RepositoryName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for RepositoryName {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        check_name(text)?;
        Ok(Self(text.to_owned()))
    }
}

impl TryFrom<String> for RepositoryName {
    type Error = DomainError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        check_name(&text)?;
        Ok(Self(text))
    }
}

impl From<RepositoryName> for String {
    fn from(name: RepositoryName) -> Self {
        name.0
    }
}

/// The grammar's one parser (`name_grammar`), its verdict wrapped in the
/// domain's error.
fn check_name(text: &str) -> Result<(), DomainError> {
    super::check_repository_name(text)
        .map_err(|violation| DomainError::NameInvalid { reason: violation.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        let max_len = "a".repeat(RepositoryName::MAX_LEN);
        let max_len_with_components = format!("{}/b", "a".repeat(253));
        let valid = [
            "a",
            "0",
            "hello-world",
            "samples/hello-world",
            "samples/teama/projectb",
            "a.b",
            "a_b",
            "a__b",
            "a-b",
            "a--b",
            "a---------b",
            "a.b-c_d__e",
            "a1/b2/c3",
            "library/ubuntu",
            "v2",
            "my.registry.name/x",
            "a/b/c/d/e/f/g/h",
            "123/456",
            max_len.as_str(),
            max_len_with_components.as_str(),
        ];
        for text in valid {
            let name: RepositoryName =
                text.parse().unwrap_or_else(|error| panic!("{text:?} should be valid: {error}"));
            assert_eq!(name.as_str(), text);
            assert_eq!(name.to_string(), text);
            assert_eq!(name.as_ref(), text);
        }
    }

    #[test]
    fn rejects_invalid_names() {
        let too_long = "a".repeat(RepositoryName::MAX_LEN + 1);
        let too_long_with_components = format!("{}/bb", "a".repeat(253));
        let invalid = [
            ("", "empty"),
            ("A", "uppercase"),
            ("Samples/x", "uppercase"),
            ("samples/X", "uppercase"),
            ("a/../b", "'..' component"),
            ("..", "'..' alone"),
            ("../a", "leading '..'"),
            ("a/..", "trailing '..'"),
            ("a/./b", "'.' component"),
            (".", "'.' alone"),
            ("a//b", "empty component"),
            ("/a", "leading slash"),
            ("a/", "trailing slash"),
            ("/", "slash alone"),
            ("-a", "leading dash"),
            ("a-", "trailing dash"),
            ("_a", "leading underscore"),
            ("a_", "trailing underscore"),
            (".a", "leading dot"),
            ("a.", "trailing dot"),
            ("a___b", "three underscores"),
            ("a..b", "two dots"),
            ("a._b", "mixed separators"),
            ("a-_b", "mixed separators"),
            ("a_-b", "mixed separators"),
            ("a-.b", "mixed separators"),
            ("a/-b", "component starting with dash"),
            ("a/b-", "component ending with dash"),
            ("a b", "space"),
            ("a:b", "colon"),
            ("a@b", "at sign"),
            ("a\\b", "backslash"),
            ("a\0b", "nul byte"),
            ("a\nb", "newline"),
            ("é", "non-ascii"),
            ("a/é", "non-ascii component"),
            (too_long.as_str(), "256 characters"),
            (too_long_with_components.as_str(), "256 characters with '/'"),
        ];
        for (text, why) in invalid {
            match text.parse::<RepositoryName>() {
                Err(DomainError::NameInvalid { reason }) => {
                    assert!(!reason.is_empty(), "{why}: empty reason")
                }
                other => panic!("{text:?} ({why}) should be NameInvalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn reasons_say_what_is_wrong() {
        let cases = [
            ("", "empty"),
            ("A", "lowercase"),
            ("a//b", "path component is empty"),
            ("a/../b", "must start and end"),
            ("a-", "must start and end"),
            ("a___b", "\"___\" is not a valid separator"),
            ("a b", "is not allowed"),
            (&*"a".repeat(256), "256 characters"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<RepositoryName>().unwrap_err();
            assert!(error.to_string().contains(expected), "{text:?}: {error} should mention {expected:?}");
        }
    }

    #[test]
    fn components_split_on_slash() {
        let name: RepositoryName = "samples/team-a/project_b".parse().unwrap();
        assert_eq!(name.components().collect::<Vec<_>>(), ["samples", "team-a", "project_b"]);
    }

    #[test]
    fn serde_round_trips_as_a_string_and_validates() {
        let name: RepositoryName = "samples/hello".parse().unwrap();
        let json = serde_json::to_string(&name).unwrap();
        assert_eq!(json, "\"samples/hello\"");
        assert_eq!(serde_json::from_str::<RepositoryName>(&json).unwrap(), name);
        assert!(serde_json::from_str::<RepositoryName>("\"a/../b\"").is_err());
    }

    #[test]
    fn try_from_string_validates() {
        assert!(RepositoryName::try_from("ok/name".to_owned()).is_ok());
        assert!(RepositoryName::try_from("Not/ok".to_owned()).is_err());
    }
}
