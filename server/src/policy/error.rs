//! The one error type of the policy: every way an action, a repository
//! pattern, a repository name or a token / scope-map name can be refused.
//! Messages are written for the person who typed the value. Calls nothing.

use std::fmt;

use crate::domain::RepositoryNameViolation;

/// Why the policy refused a value. Every variant names the offending input
/// (quoted with `{:?}` so control characters cannot forge a log line) and
/// says what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "unknown action {0:?}: expected one of content/read, content/write, \
         content/delete, metadata/read, metadata/write"
    )]
    UnknownAction(String),

    #[error(
        "unknown token scope action {0:?}: expected pull, push, delete, \
         metadata_read, metadata_write or *"
    )]
    UnknownTokenScopeAction(String),

    #[error("repository pattern is empty: give a repository name, `prefix/*` or `*`")]
    EmptyPattern,

    #[error(
        "invalid repository pattern {pattern:?}: more than one wildcard `*`; \
         a pattern has at most one, at its end (`prefix/*`) or alone (`*`)"
    )]
    MultipleWildcards { pattern: String },

    #[error(
        "invalid repository pattern {pattern:?}: wildcard `*` in the middle; \
         a wildcard may only end a pattern, as `prefix/*`"
    )]
    WildcardInMiddle { pattern: String },

    #[error(
        "invalid repository pattern {pattern:?}: wildcard `*` must follow `/` \
         (write `prefix/*`), or stand alone as `*` for every repository"
    )]
    WildcardWithoutSeparator { pattern: String },

    #[error("invalid repository pattern {pattern:?}: {violation}")]
    InvalidPatternName { pattern: String, violation: RepositoryNameViolation },

    #[error("{kind} name must be 5 to 50 characters long, got {length}")]
    NameLength { kind: NameKind, length: usize },

    #[error(
        "{kind} name {name:?} contains {character:?}; use only letters, \
         digits, `-` and `_`"
    )]
    NameCharacter { kind: NameKind, name: String, character: char },

    #[error(
        "{kind} name {name:?} starts with `_`, which is reserved for \
         system-defined scope maps"
    )]
    ReservedName { kind: NameKind, name: String },

    #[error(
        "token name {token:?} is too long to derive its scope map name \
         {derived:?} (at most 50 characters); name the scope map explicitly"
    )]
    DerivedScopeMapNameTooLong { token: String, derived: String },
}

/// Which kind of name a [`PolicyError::NameLength`], [`PolicyError::NameCharacter`]
/// or [`PolicyError::ReservedName`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    Token,
    ScopeMap,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "token",
            Self::ScopeMap => "scope map",
        })
    }
}
