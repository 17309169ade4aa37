//! The five system-defined scope maps that exist in every registry, cannot
//! be edited or deleted, and apply to all repositories through one root `*`
//! rule (SPEC §1 "Scope map"). Calls nothing.

use super::pattern::RepositoryPattern;
use super::scope::{CompiledScope, Rule};
use super::{Action, ActionSet};

/// A built-in scope map: a name starting with `_`, a description, and the
/// actions its single `*` rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemScopeMap {
    pub name: &'static str,
    pub description: &'static str,
    pub actions: ActionSet,
}

impl SystemScopeMap {
    /// The scope map's rules: one root `*` rule.
    pub fn rules(&self) -> Vec<Rule> {
        vec![Rule::new(RepositoryPattern::root(), self.actions)]
    }

    pub fn compile(&self) -> CompiledScope {
        CompiledScope::compile(&self.rules())
    }
}

pub const REPOSITORIES_ADMIN: SystemScopeMap = SystemScopeMap {
    name: "_repositories_admin",
    description: "Can perform all read, write and delete operations on every repository of the registry",
    actions: ActionSet::ALL,
};

pub const REPOSITORIES_PULL: SystemScopeMap = SystemScopeMap {
    name: "_repositories_pull",
    description: "Can pull any repository of the registry",
    actions: ActionSet::of(&[Action::ContentRead]),
};

pub const REPOSITORIES_PULL_METADATA_READ: SystemScopeMap = SystemScopeMap {
    name: "_repositories_pull_metadata_read",
    description: "Can pull any repository of the registry and read its metadata (list tags and manifests)",
    actions: ActionSet::of(&[Action::ContentRead, Action::MetadataRead]),
};

pub const REPOSITORIES_PUSH: SystemScopeMap = SystemScopeMap {
    name: "_repositories_push",
    description: "Can pull from and push to any repository of the registry",
    actions: ActionSet::of(&[Action::ContentRead, Action::ContentWrite]),
};

pub const REPOSITORIES_PUSH_METADATA_WRITE: SystemScopeMap = SystemScopeMap {
    name: "_repositories_push_metadata_write",
    description: "Can pull from and push to any repository of the registry, and read and write its metadata",
    actions: ActionSet::of(&[
        Action::ContentRead,
        Action::ContentWrite,
        Action::MetadataRead,
        Action::MetadataWrite,
    ]),
};

/// Every system scope map, in the order they are listed (before the
/// user-defined ones).
pub const SYSTEM_SCOPE_MAPS: [SystemScopeMap; 5] = [
    REPOSITORIES_ADMIN,
    REPOSITORIES_PULL,
    REPOSITORIES_PULL_METADATA_READ,
    REPOSITORIES_PUSH,
    REPOSITORIES_PUSH_METADATA_WRITE,
];

/// The system scope map called `name`, if there is one.
pub fn system_scope_map(name: &str) -> Option<SystemScopeMap> {
    SYSTEM_SCOPE_MAPS.into_iter().find(|scope_map| scope_map.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn each_system_scope_map_allows_its_actions_on_every_repository() {
        let table: [(&str, &[Action]); 5] = [
            ("_repositories_admin", &Action::ALL),
            ("_repositories_pull", &[ContentRead]),
            ("_repositories_pull_metadata_read", &[ContentRead, MetadataRead]),
            ("_repositories_push", &[ContentRead, ContentWrite]),
            ("_repositories_push_metadata_write", &[ContentRead, ContentWrite, MetadataRead, MetadataWrite]),
        ];
        assert_eq!(SYSTEM_SCOPE_MAPS.map(|scope_map| scope_map.name), table.map(|(name, _)| name));
        for (name, actions) in table {
            let scope_map = system_scope_map(name).unwrap();
            let expected = ActionSet::of(actions);
            assert_eq!(scope_map.actions, expected, "{name}");
            assert!(!scope_map.description.is_empty());
            assert_eq!(scope_map.rules(), vec![Rule::new(RepositoryPattern::root(), expected)]);
            let scope = scope_map.compile();
            for repository in ["a", "samples/hello-world", "x/y/z/w"] {
                assert_eq!(scope.actions_for(&repository.parse().unwrap()), expected, "{name} {repository}");
            }
            assert!(name.starts_with('_'));
        }
        assert_eq!(system_scope_map("_repositories_other"), None);
        assert_eq!(system_scope_map("repositories_admin"), None);
    }
}
