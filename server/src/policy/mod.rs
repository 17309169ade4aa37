//! The pure access decision: actions, repository patterns, scope-map rules
//! and their compiled index, the system scope maps, name rules, and the
//! grant (SPEC §1). Deterministic and denies by default; no I/O, no async,
//! no database. It must not call any other module of this crate: callers
//! hand it strings and rules, it hands back `ActionSet`s and `PolicyError`s.

mod action;
mod error;
mod pattern;
mod repository_name;
mod scope;
mod system;
mod token_and_scope_map_name;

#[cfg(test)]
mod tests;

pub use action::{Action, ActionSet, ActionSetIter};
pub use error::{NameKind, PolicyError, RepositoryNameViolation};
pub use pattern::{PatternKind, RepositoryPattern};
pub use repository_name::{check_repository_name, validate_repository_name, REPOSITORY_NAME_MAX_LENGTH};
pub use scope::{add_repository_actions, remove_repository_actions, CompiledScope, Rule};
pub use system::{
    system_scope_map, SystemScopeMap, REPOSITORIES_ADMIN, REPOSITORIES_PULL, REPOSITORIES_PULL_METADATA_READ,
    REPOSITORIES_PUSH, REPOSITORIES_PUSH_METADATA_WRITE, SYSTEM_SCOPE_MAPS,
};
pub use token_and_scope_map_name::{
    scope_map_name_for_token, validate_scope_map_name, validate_token_name, NAME_MAX_LENGTH, NAME_MIN_LENGTH,
};

/// The actions an issued access token carries: what was asked for and the
/// policy allows, nothing more. Anything not both requested and allowed is
/// denied (SPEC §3, token endpoint).
pub fn grant(requested: ActionSet, allowed: ActionSet) -> ActionSet {
    requested.intersection(allowed)
}

/// Whether `/v2/_catalog` may show `repository` to a holder of `scope`:
/// only with metadata/read on it, so a token never learns a name outside
/// its scope (SPEC §1 "Token", catalog).
pub fn may_list_in_catalog(scope: &CompiledScope, repository: &str) -> bool {
    scope.allows(repository, Action::MetadataRead)
}
