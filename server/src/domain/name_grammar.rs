//! The OCI repository-name grammar, checked by a small hand-written parser:
//! path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`, at most
//! 255 characters (OCI distribution-spec; SPEC §1 "Repository"). The one
//! parser of the grammar: `RepositoryName` and the policy's repository
//! patterns both call it. Calls nothing.

use std::fmt;

/// The longest repository name accepted, in characters.
pub const REPOSITORY_NAME_MAX_LENGTH: usize = 255;

/// The rule of the OCI repository-name grammar that a name breaks.
///
/// Grammar (OCI distribution-spec, "pulling manifests"): path components
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`, 255 characters at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryNameViolation {
    Empty,
    TooLong {
        length: usize,
    },
    Uppercase(char),
    InvalidCharacter(char),
    /// Leading, trailing or doubled `/`.
    EmptyComponent,
    /// A component starting or ending with `.`, `_` or `-`.
    SeparatorAtComponentEdge,
    /// A run of separator characters other than `.`, `_`, `__` or dashes.
    InvalidSeparator(String),
}

impl fmt::Display for RepositoryNameViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the name is empty"),
            Self::TooLong { length } => {
                write!(f, "the name is {length} characters long; the limit is {}", REPOSITORY_NAME_MAX_LENGTH)
            }
            Self::Uppercase(character) => {
                write!(f, "repository names must be lowercase, found {character:?}")
            }
            Self::InvalidCharacter(character) => write!(
                f,
                "{character:?} is not allowed; use lowercase letters, digits, \
                 `.`, `_`, `-` and `/`"
            ),
            Self::EmptyComponent => {
                f.write_str("a path component is empty (leading, trailing or doubled `/`)")
            }
            Self::SeparatorAtComponentEdge => {
                f.write_str("each path component must start and end with a lowercase letter or digit")
            }
            Self::InvalidSeparator(separator) => write!(
                f,
                "{separator:?} is not a valid separator; letters and digits may be \
                 joined only by `.`, `_`, `__` or dashes"
            ),
        }
    }
}

/// The grammar check itself, reporting the first rule broken. Characters are
/// checked first (so `teamA` says "must be lowercase" whatever else is
/// wrong), then the length, then each path component in turn.
pub fn check_repository_name(name: &str) -> Result<(), RepositoryNameViolation> {
    if name.is_empty() {
        return Err(RepositoryNameViolation::Empty);
    }
    if let Some(character) = name.chars().find(|character| !is_name_character(*character)) {
        return Err(if character.is_ascii_uppercase() {
            RepositoryNameViolation::Uppercase(character)
        } else {
            RepositoryNameViolation::InvalidCharacter(character)
        });
    }
    // Only ASCII is left, so bytes are characters.
    if name.len() > REPOSITORY_NAME_MAX_LENGTH {
        return Err(RepositoryNameViolation::TooLong { length: name.len() });
    }
    name.split('/').try_for_each(check_component)
}

fn is_name_character(character: char) -> bool {
    matches!(character, 'a'..='z' | '0'..='9' | '.' | '_' | '-' | '/')
}

fn is_separator_byte(byte: u8) -> bool {
    matches!(byte, b'.' | b'_' | b'-')
}

/// One component: alternating runs of `[a-z0-9]` and separator characters,
/// starting and ending with a letter or digit, each separator run being `.`,
/// `_`, `__` or one or more `-`.
fn check_component(component: &str) -> Result<(), RepositoryNameViolation> {
    let bytes = component.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return Err(RepositoryNameViolation::EmptyComponent);
    };
    if is_separator_byte(first) || is_separator_byte(last) {
        return Err(RepositoryNameViolation::SeparatorAtComponentEdge);
    }
    let mut separator_start = None;
    for (index, &byte) in bytes.iter().enumerate() {
        match (is_separator_byte(byte), separator_start) {
            (true, None) => separator_start = Some(index),
            (false, Some(start)) => {
                check_separator(&component[start..index])?;
                separator_start = None;
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_separator(separator: &str) -> Result<(), RepositoryNameViolation> {
    let all_dashes = separator.bytes().all(|byte| byte == b'-');
    if matches!(separator, "." | "_" | "__") || all_dashes {
        Ok(())
    } else {
        Err(RepositoryNameViolation::InvalidSeparator(separator.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RepositoryNameViolation as Violation;

    #[test]
    fn valid_names_are_accepted() {
        for name in [
            "a",
            "0",
            "hello-world",
            "samples/hello-world",
            "samples/team-a/project-b",
            "a.b",
            "a_b",
            "a__b",
            "a-b",
            "a--b",
            "a-----b",
            "a.b_c__d-e--f",
            "library/ubuntu",
            "123/456",
            "a/b/c/d/e/f/g",
            &"a".repeat(255),
            &format!("{}/{}", "a".repeat(127), "b".repeat(127)),
        ] {
            assert_eq!(check_repository_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn invalid_names_are_refused_with_the_rule_they_break() {
        let table: Vec<(&str, Violation)> = vec![
            ("", Violation::Empty),
            ("teamA", Violation::Uppercase('A')),
            ("Samples/x", Violation::Uppercase('S')),
            ("samples//X", Violation::Uppercase('X')),
            ("sample*", Violation::InvalidCharacter('*')),
            ("a b", Violation::InvalidCharacter(' ')),
            ("a:b", Violation::InvalidCharacter(':')),
            ("a@b", Violation::InvalidCharacter('@')),
            ("café", Violation::InvalidCharacter('é')),
            ("a\nb", Violation::InvalidCharacter('\n')),
            ("a\\b", Violation::InvalidCharacter('\\')),
            ("/", Violation::EmptyComponent),
            ("/a", Violation::EmptyComponent),
            ("a/", Violation::EmptyComponent),
            ("a//b", Violation::EmptyComponent),
            ("-a", Violation::SeparatorAtComponentEdge),
            ("a-", Violation::SeparatorAtComponentEdge),
            (".a", Violation::SeparatorAtComponentEdge),
            ("a/_b", Violation::SeparatorAtComponentEdge),
            ("a/b.", Violation::SeparatorAtComponentEdge),
            ("..", Violation::SeparatorAtComponentEdge),
            ("a/../b", Violation::SeparatorAtComponentEdge),
            ("a..b", Violation::InvalidSeparator("..".to_owned())),
            ("a___b", Violation::InvalidSeparator("___".to_owned())),
            ("a._b", Violation::InvalidSeparator("._".to_owned())),
            ("a-.b", Violation::InvalidSeparator("-.".to_owned())),
            ("a_-b", Violation::InvalidSeparator("_-".to_owned())),
            ("x/a-_-b", Violation::InvalidSeparator("-_-".to_owned())),
            ("a".repeat(256).leak(), Violation::TooLong { length: 256 }),
        ];
        for (name, violation) in table {
            assert_eq!(check_repository_name(name), Err(violation), "{name:?}");
        }
    }

    #[test]
    fn messages_say_what_is_wrong_and_what_is_allowed() {
        let table = [
            ("", "the name is empty"),
            ("teamA", "repository names must be lowercase, found 'A'"),
            (
                "a b",
                "' ' is not allowed; use lowercase \
                 letters, digits, `.`, `_`, `-` and `/`",
            ),
            (
                "a//b",
                "a path component is empty \
                 (leading, trailing or doubled `/`)",
            ),
            (
                "a-",
                "each path component must start and \
                 end with a lowercase letter or digit",
            ),
            (
                "a..b",
                "\"..\" is not a valid separator; \
                 letters and digits may be joined only by `.`, `_`, `__` or dashes",
            ),
        ];
        for (name, message) in table {
            assert_eq!(check_repository_name(name).unwrap_err().to_string(), message);
        }
        let too_long = "a".repeat(300);
        assert!(check_repository_name(&too_long)
            .unwrap_err()
            .to_string()
            .ends_with("the name is 300 characters long; the limit is 255"));
    }
}
