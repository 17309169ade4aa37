//! Repository patterns, the left-hand side of a scope-map rule (SPEC §1
//! "Scope map"): an exact repository name, a prefix wildcard `prefix/*`, or
//! the root wildcard `*`. Owns parsing (with one error per way a pattern can
//! be wrong) and single-pattern matching. Calls nothing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::PolicyError;
use crate::domain::{check_repository_name, RepositoryName};

/// A validated repository pattern. Serialises as its text (`samples/*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepositoryPattern {
    text: String,
    form: Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Form {
    Root,
    Prefix,
    Exact,
}

/// What a [`RepositoryPattern`] covers, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind<'a> {
    /// `*`: every repository.
    Root,
    /// `prefix/*`: every repository strictly below `prefix` (the `&str` is
    /// `prefix`, without the trailing `/*`).
    Prefix(&'a str),
    /// Exactly this repository.
    Exact(&'a str),
}

impl RepositoryPattern {
    /// The root wildcard `*`, matching every repository.
    pub fn root() -> RepositoryPattern {
        RepositoryPattern { text: "*".to_owned(), form: Form::Root }
    }

    /// Parses a pattern. Refuses, each with its own reason: an empty
    /// pattern, more than one `*`, a `*` anywhere but at the end, a `*` not
    /// preceded by `/` (other than `*` alone), and a prefix or exact name
    /// that breaks the OCI repository-name grammar (including uppercase).
    pub fn parse(text: &str) -> Result<RepositoryPattern, PolicyError> {
        let form = classify(text)?;
        Ok(RepositoryPattern { text: text.to_owned(), form })
    }

    /// The pattern as written, e.g. `samples/*`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> PatternKind<'_> {
        match self.form {
            Form::Root => PatternKind::Root,
            Form::Prefix => PatternKind::Prefix(&self.text[..self.text.len() - "/*".len()]),
            Form::Exact => PatternKind::Exact(&self.text),
        }
    }

    pub fn is_root(&self) -> bool {
        self.form == Form::Root
    }

    /// Whether this pattern covers `repository`. `samples/*` covers
    /// `samples/x` and `samples/a/b`, never `samples` nor `samples-infra/x`.
    pub fn matches(&self, repository: &RepositoryName) -> bool {
        let repository = repository.as_str();
        match self.kind() {
            PatternKind::Root => true,
            PatternKind::Exact(name) => repository == name,
            PatternKind::Prefix(prefix) => {
                repository.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

fn classify(text: &str) -> Result<Form, PolicyError> {
    if text.is_empty() {
        return Err(PolicyError::EmptyPattern);
    }
    let pattern = || text.to_owned();
    match text.matches('*').count() {
        0 => check_repository_name(text)
            .map(|()| Form::Exact)
            .map_err(|violation| PolicyError::InvalidPatternName { pattern: pattern(), violation }),
        1 if text == "*" => Ok(Form::Root),
        1 if !text.ends_with('*') => Err(PolicyError::WildcardInMiddle { pattern: pattern() }),
        1 => {
            let Some(prefix) = text.strip_suffix("/*") else {
                return Err(PolicyError::WildcardWithoutSeparator { pattern: pattern() });
            };
            check_repository_name(prefix)
                .map(|()| Form::Prefix)
                .map_err(|violation| PolicyError::InvalidPatternName { pattern: pattern(), violation })
        }
        _ => Err(PolicyError::MultipleWildcards { pattern: pattern() }),
    }
}

impl fmt::Display for RepositoryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for RepositoryPattern {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RepositoryPattern::parse(text)
    }
}

impl TryFrom<&str> for RepositoryPattern {
    type Error = PolicyError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        RepositoryPattern::parse(text)
    }
}

impl TryFrom<String> for RepositoryPattern {
    type Error = PolicyError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let form = classify(&text)?;
        Ok(RepositoryPattern { text, form })
    }
}

impl From<RepositoryPattern> for String {
    fn from(pattern: RepositoryPattern) -> Self {
        pattern.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RepositoryNameViolation as Violation;

    fn name(text: &str) -> RepositoryName {
        text.parse().unwrap()
    }

    fn pattern(text: &str) -> RepositoryPattern {
        RepositoryPattern::parse(text).unwrap()
    }

    #[test]
    fn every_valid_form_parses_to_its_kind() {
        let table = [
            ("*", PatternKind::Root),
            ("samples/*", PatternKind::Prefix("samples")),
            ("samples/team-a/*", PatternKind::Prefix("samples/team-a")),
            ("a/*", PatternKind::Prefix("a")),
            ("samples", PatternKind::Exact("samples")),
            ("samples/hello-world", PatternKind::Exact("samples/hello-world")),
            ("a.b_c__d-e/f", PatternKind::Exact("a.b_c__d-e/f")),
        ];
        for (text, kind) in table {
            let parsed = pattern(text);
            assert_eq!(parsed.kind(), kind, "{text}");
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(parsed.is_root(), text == "*");
            assert_eq!(text.parse::<RepositoryPattern>(), Ok(parsed.clone()));
            assert_eq!(RepositoryPattern::try_from(text.to_owned()), Ok(parsed));
        }
        assert_eq!(RepositoryPattern::root(), pattern("*"));
    }

    #[test]
    fn every_invalid_form_is_refused_with_its_own_reason() {
        let owned = |text: &str| text.to_owned();
        let table = [
            ("", PolicyError::EmptyPattern),
            ("sample/*/teamA", PolicyError::WildcardInMiddle { pattern: owned("sample/*/teamA") }),
            ("sample/*/team-a", PolicyError::WildcardInMiddle { pattern: owned("sample/*/team-a") }),
            ("*/x", PolicyError::WildcardInMiddle { pattern: owned("*/x") }),
            ("*a", PolicyError::WildcardInMiddle { pattern: owned("*a") }),
            ("sam*ple", PolicyError::WildcardInMiddle { pattern: owned("sam*ple") }),
            ("sample/teamA*", PolicyError::WildcardWithoutSeparator { pattern: owned("sample/teamA*") }),
            ("sample/team-a*", PolicyError::WildcardWithoutSeparator { pattern: owned("sample/team-a*") }),
            ("sample*", PolicyError::WildcardWithoutSeparator { pattern: owned("sample*") }),
            ("sample/-*", PolicyError::WildcardWithoutSeparator { pattern: owned("sample/-*") }),
            ("**", PolicyError::MultipleWildcards { pattern: owned("**") }),
            ("sample/*/*", PolicyError::MultipleWildcards { pattern: owned("sample/*/*") }),
            ("*/teamA/*", PolicyError::MultipleWildcards { pattern: owned("*/teamA/*") }),
            (
                "sample/teamA/*",
                PolicyError::InvalidPatternName {
                    pattern: owned("sample/teamA/*"),
                    violation: Violation::Uppercase('A'),
                },
            ),
            (
                "sample/teamA/projectB",
                PolicyError::InvalidPatternName {
                    pattern: owned("sample/teamA/projectB"),
                    violation: Violation::Uppercase('A'),
                },
            ),
            ("/*", PolicyError::InvalidPatternName { pattern: owned("/*"), violation: Violation::Empty }),
            (
                "samples//*",
                PolicyError::InvalidPatternName {
                    pattern: owned("samples//*"),
                    violation: Violation::EmptyComponent,
                },
            ),
            (
                "/samples",
                PolicyError::InvalidPatternName {
                    pattern: owned("/samples"),
                    violation: Violation::EmptyComponent,
                },
            ),
            (
                "samples/",
                PolicyError::InvalidPatternName {
                    pattern: owned("samples/"),
                    violation: Violation::EmptyComponent,
                },
            ),
            (
                "samples-/*",
                PolicyError::InvalidPatternName {
                    pattern: owned("samples-/*"),
                    violation: Violation::SeparatorAtComponentEdge,
                },
            ),
            (
                "a..b",
                PolicyError::InvalidPatternName {
                    pattern: owned("a..b"),
                    violation: Violation::InvalidSeparator(owned("..")),
                },
            ),
            (
                "a b/*",
                PolicyError::InvalidPatternName {
                    pattern: owned("a b/*"),
                    violation: Violation::InvalidCharacter(' '),
                },
            ),
            (
                "samples?",
                PolicyError::InvalidPatternName {
                    pattern: owned("samples?"),
                    violation: Violation::InvalidCharacter('?'),
                },
            ),
        ];
        for (text, error) in table {
            assert_eq!(RepositoryPattern::parse(text), Err(error), "{text:?}");
        }
        let long_prefix = format!("{}/*", "a".repeat(256));
        assert_eq!(
            RepositoryPattern::parse(&long_prefix),
            Err(PolicyError::InvalidPatternName {
                pattern: long_prefix.clone(),
                violation: Violation::TooLong { length: 256 },
            })
        );
    }

    #[test]
    fn messages_name_the_pattern_and_the_fix() {
        let table = [
            ("", "repository pattern is empty: give a repository name, `prefix/*` or `*`"),
            (
                "sample/*/teamA",
                "invalid repository pattern \"sample/*/teamA\": wildcard `*` in the \
                 middle; a wildcard may only end a pattern, as `prefix/*`",
            ),
            (
                "sample/teamA*",
                "invalid repository pattern \"sample/teamA*\": wildcard `*` must \
                 follow `/` (write `prefix/*`), or stand alone as `*` for every repository",
            ),
            (
                "a/*/*",
                "invalid repository pattern \"a/*/*\": more than one wildcard `*`; a \
                 pattern has at most one, at its end (`prefix/*`) or alone (`*`)",
            ),
            (
                "sample/teamA/*",
                "invalid repository pattern \"sample/teamA/*\": repository names must \
                 be lowercase, found 'A'",
            ),
        ];
        for (text, message) in table {
            assert_eq!(RepositoryPattern::parse(text).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn prefix_ends_at_a_path_separator() {
        let backend = pattern("backend/*");
        let table = [
            ("backend/x", true),
            ("backend/a/b", true),
            ("backend/a/b/c/d", true),
            ("backend", false),
            ("backend-infra/x", false),
            ("backend-infra", false),
            ("backendx/y", false),
            ("backend.x/y", false),
            ("back/end", false),
            ("other/backend/x", false),
        ];
        for (repository, expected) in table {
            assert_eq!(backend.matches(&name(repository)), expected, "{repository}");
        }
        let nested = pattern("samples/team-a/*");
        assert!(nested.matches(&name("samples/team-a/project-b")));
        assert!(!nested.matches(&name("samples/team-a")));
        assert!(!nested.matches(&name("samples/team-ab/x")));
        assert!(!nested.matches(&name("samples/x")));
    }

    #[test]
    fn root_matches_every_valid_repository_and_exact_only_itself() {
        let root = pattern("*");
        for repository in ["a", "samples", "samples/x", "a/b/c/d", "z9.z_z__z-z"] {
            assert!(root.matches(&name(repository)), "{repository}");
        }
        let exact = pattern("samples/hello-world");
        assert!(exact.matches(&name("samples/hello-world")));
        for repository in [
            "samples",
            "samples/hello-world/x",
            "samples/hello-worl",
            "samples/hello-world2",
            "x/samples/hello-world",
        ] {
            assert!(!exact.matches(&name(repository)), "{repository}");
        }
    }

    #[test]
    fn serde_uses_the_pattern_text_and_validates_it() {
        let parsed = pattern("samples/*");
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#""samples/*""#);
        assert_eq!(serde_json::from_str::<RepositoryPattern>(r#""samples/*""#).unwrap(), parsed);
        let error = serde_json::from_str::<RepositoryPattern>(r#""sample/*/teamA""#).unwrap_err().to_string();
        assert!(error.contains("wildcard `*` in the middle"), "{error}");
    }
}
