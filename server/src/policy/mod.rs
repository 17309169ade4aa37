//! The pure access decision: actions, repository patterns, scope-map rules
//! and their compiled index, the system scope maps, name rules, the
//! built-in roles with the permissions mode (`roles`) and the repository
//! conditions of role assignments (`condition`), and the one decision every
//! surface asks (`decide`, `grant`, `may_list`; SPEC §1) for tokens and
//! identities alike.
//! Deterministic and denies by default; no I/O, no async, no database. It
//! calls nothing of this crate but the pure `domain` (validated names):
//! callers hand it principals, names and rules, it hands back decisions,
//! `ActionSet`s and `PolicyError`s.

mod action;
pub mod condition;
mod decision;
mod error;
mod pattern;
pub mod roles;
mod scope;
mod system;
mod token_and_scope_map_name;

#[cfg(test)]
mod tests;

pub use action::{Action, ActionSet, ActionSetIter};
pub use decision::{
    actions_on, decide, grant, may_list, Decision, Denial, Grants, Operation, Principal, RepositoryOperation,
    Resource,
};
pub use error::{NameKind, PolicyError};
pub use pattern::{PatternKind, RepositoryPattern};
pub use scope::{add_repository_actions, remove_repository_actions, CompiledScope, Rule};
pub use system::{
    system_scope_map, SystemScopeMap, REPOSITORIES_ADMIN, REPOSITORIES_PULL, REPOSITORIES_PULL_METADATA_READ,
    REPOSITORIES_PUSH, REPOSITORIES_PUSH_METADATA_WRITE, SYSTEM_SCOPE_MAPS,
};
pub use token_and_scope_map_name::{
    scope_map_name_for_token, validate_scope_map_name, validate_token_name, NAME_MAX_LENGTH, NAME_MIN_LENGTH,
};
