//! The rules for token and scope-map names: letters, digits, `-` and `_`,
//! 5 to 50 characters, and a leading `_` reserved for the system-defined
//! scope maps. Also derives `<token>-scope-map`, the name of the scope map
//! created with a token (SPEC §1 "Token"). Calls nothing.

use super::{NameKind, PolicyError};

pub const NAME_MIN_LENGTH: usize = 5;
pub const NAME_MAX_LENGTH: usize = 50;

/// Checks a token name (the user name given at `docker login`).
pub fn validate_token_name(name: &str) -> Result<(), PolicyError> {
    validate_name(NameKind::Token, name)
}

/// Checks the name of a user-defined scope map. System scope-map names,
/// which start with `_`, are refused: users cannot create them.
pub fn validate_scope_map_name(name: &str) -> Result<(), PolicyError> {
    validate_name(NameKind::ScopeMap, name)
}

/// The name of the scope map created together with token `token_name` from
/// a list of repositories and actions: `<token>-scope-map`. Fails when the
/// result would exceed the 50-character limit.
pub fn scope_map_name_for_token(token_name: &str) -> Result<String, PolicyError> {
    validate_token_name(token_name)?;
    let derived = format!("{token_name}-scope-map");
    if derived.len() > NAME_MAX_LENGTH {
        return Err(PolicyError::DerivedScopeMapNameTooLong { token: token_name.to_owned(), derived });
    }
    Ok(derived)
}

fn validate_name(kind: NameKind, name: &str) -> Result<(), PolicyError> {
    let length = name.chars().count();
    if !(NAME_MIN_LENGTH..=NAME_MAX_LENGTH).contains(&length) {
        return Err(PolicyError::NameLength { kind, length });
    }
    if let Some(character) =
        name.chars().find(|character| !(character.is_ascii_alphanumeric() || matches!(character, '-' | '_')))
    {
        return Err(PolicyError::NameCharacter { kind, name: name.to_owned(), character });
    }
    if name.starts_with('_') {
        return Err(PolicyError::ReservedName { kind, name: name.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_accepted_for_tokens_and_scope_maps() {
        for name in
            ["MyToken", "abcde", "ci-build_42", "A-B_C", "12345", "device-000001", "a____", &"x".repeat(50)]
        {
            assert_eq!(validate_token_name(name), Ok(()), "{name}");
            assert_eq!(validate_scope_map_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn invalid_names_are_refused_with_the_rule_they_break() {
        let table = [
            ("", PolicyError::NameLength { kind: NameKind::Token, length: 0 }),
            ("abcd", PolicyError::NameLength { kind: NameKind::Token, length: 4 }),
            ("x".repeat(51).leak(), PolicyError::NameLength { kind: NameKind::Token, length: 51 }),
            (
                "my token",
                PolicyError::NameCharacter {
                    kind: NameKind::Token,
                    name: "my token".to_owned(),
                    character: ' ',
                },
            ),
            (
                "my.token",
                PolicyError::NameCharacter {
                    kind: NameKind::Token,
                    name: "my.token".to_owned(),
                    character: '.',
                },
            ),
            (
                "my/token",
                PolicyError::NameCharacter {
                    kind: NameKind::Token,
                    name: "my/token".to_owned(),
                    character: '/',
                },
            ),
            (
                "tökens",
                PolicyError::NameCharacter {
                    kind: NameKind::Token,
                    name: "tökens".to_owned(),
                    character: 'ö',
                },
            ),
            (
                "_repositories_admin",
                PolicyError::ReservedName { kind: NameKind::Token, name: "_repositories_admin".to_owned() },
            ),
            ("_mine", PolicyError::ReservedName { kind: NameKind::Token, name: "_mine".to_owned() }),
        ];
        for (name, error) in table {
            assert_eq!(validate_token_name(name), Err(error.clone()), "{name:?}");
            let scope_map_error = match error {
                PolicyError::NameLength { length, .. } => {
                    PolicyError::NameLength { kind: NameKind::ScopeMap, length }
                }
                PolicyError::NameCharacter { name, character, .. } => {
                    PolicyError::NameCharacter { kind: NameKind::ScopeMap, name, character }
                }
                PolicyError::ReservedName { name, .. } => {
                    PolicyError::ReservedName { kind: NameKind::ScopeMap, name }
                }
                other => other,
            };
            assert_eq!(validate_scope_map_name(name), Err(scope_map_error), "{name:?}");
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Five characters, ten bytes: refused for the character, not the length.
        assert!(matches!(
            validate_token_name("ééééé"),
            Err(PolicyError::NameCharacter { character: 'é', .. })
        ));
    }

    #[test]
    fn messages_say_what_is_allowed() {
        let table = [
            (validate_token_name("abc"), "token name must be 5 to 50 characters long, got 3"),
            (
                validate_scope_map_name("my scope"),
                "scope map name \"my scope\" contains ' '; use only letters, digits, `-` and `_`",
            ),
            (
                validate_scope_map_name("_repositories_pull"),
                "scope map name \"_repositories_pull\" starts with `_`, which is reserved \
                 for system-defined scope maps",
            ),
        ];
        for (result, message) in table {
            assert_eq!(result.unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn a_token_gets_a_derived_scope_map_name_when_it_fits() {
        assert_eq!(scope_map_name_for_token("MyToken"), Ok("MyToken-scope-map".to_owned()));
        let longest = "t".repeat(40);
        assert_eq!(scope_map_name_for_token(&longest), Ok(format!("{longest}-scope-map")));
        let derived = scope_map_name_for_token(&longest).unwrap();
        assert_eq!(validate_scope_map_name(&derived), Ok(()));

        let too_long = "t".repeat(41);
        assert_eq!(
            scope_map_name_for_token(&too_long),
            Err(PolicyError::DerivedScopeMapNameTooLong {
                token: too_long.clone(),
                derived: format!("{too_long}-scope-map"),
            })
        );
        assert_eq!(
            scope_map_name_for_token("abc"),
            Err(PolicyError::NameLength { kind: NameKind::Token, length: 3 })
        );
    }
}
