//! Scope-map rules (`pattern -> actions`) and `CompiledScope`, the indexed
//! form that answers "which actions does this scope map allow on this
//! repository?" in O(depth of the name) hash lookups, however many rules
//! there are (SPEC §1 "Scope map": rules are additive). Calls nothing.

// Looked up on every request: a fast seeded hash (std's SipHash costs more
// than the rest of the lookup).
use foldhash::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::pattern::{PatternKind, RepositoryPattern};
use super::{Action, ActionSet};
use crate::domain::RepositoryName;

/// One line of a scope map: the actions allowed on the repositories that
/// `pattern` covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub pattern: RepositoryPattern,
    pub actions: ActionSet,
}

impl Rule {
    pub fn new(pattern: RepositoryPattern, actions: ActionSet) -> Rule {
        Rule { pattern, actions }
    }
}

/// Adds `actions` on `pattern` to a rule list, merging into the rule that
/// already names `pattern` (a scope map holds one rule per pattern).
/// Adding nothing leaves the list unchanged.
pub fn add_repository_actions(rules: &mut Vec<Rule>, pattern: &RepositoryPattern, actions: ActionSet) {
    if actions.is_empty() {
        return;
    }
    match rules.iter_mut().find(|rule| &rule.pattern == pattern) {
        Some(rule) => rule.actions |= actions,
        None => rules.push(Rule::new(pattern.clone(), actions)),
    }
}

/// Removes `actions` from the rule naming exactly `pattern` (it does not
/// carve exceptions out of wider patterns: rules are additive only), and
/// drops the rule once it holds no action.
pub fn remove_repository_actions(rules: &mut Vec<Rule>, pattern: &RepositoryPattern, actions: ActionSet) {
    for rule in rules.iter_mut().filter(|rule| &rule.pattern == pattern) {
        rule.actions = rule.actions.difference(actions);
    }
    rules.retain(|rule| !rule.actions.is_empty());
}

/// A scope map's rules indexed for lookup. Holds, per pattern form, the union
/// of the actions of every rule of that form: the root rule's actions, a
/// map from exact name to actions, and a map from prefix (without `/*`) to
/// actions. [`CompiledScope::default`] allows nothing anywhere.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CompiledScope {
    every_repository: ActionSet,
    by_exact_name: HashMap<String, ActionSet>,
    by_prefix: HashMap<String, ActionSet>,
}

impl CompiledScope {
    /// Indexes `rules`. Order and duplicates do not matter; rules with no
    /// action are dropped.
    pub fn compile<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> CompiledScope {
        let mut scope = CompiledScope::default();
        for rule in rules {
            scope.add(rule);
        }
        scope
    }

    fn add(&mut self, rule: &Rule) {
        if rule.actions.is_empty() {
            return;
        }
        match rule.pattern.kind() {
            PatternKind::Root => self.every_repository |= rule.actions,
            PatternKind::Exact(name) => {
                *self.by_exact_name.entry(name.to_owned()).or_default() |= rule.actions
            }
            PatternKind::Prefix(prefix) => {
                *self.by_prefix.entry(prefix.to_owned()).or_default() |= rule.actions
            }
        }
    }

    /// The union of the actions of every rule matching `repository`: the
    /// root rule, the exact rule for the name, and the prefix rule of each
    /// proper ancestor (`a/b/c` looks up prefixes `a` and `a/b`, never
    /// `a/b/c` itself). The name is valid by its type: nothing is re-checked.
    pub fn actions_for(&self, repository: &RepositoryName) -> ActionSet {
        let repository = repository.as_str();
        let mut actions = self.every_repository;
        if let Some(exact) = self.by_exact_name.get(repository) {
            actions |= *exact;
        }
        if self.by_prefix.is_empty() {
            return actions;
        }
        for (separator, _) in repository.match_indices('/') {
            if actions == ActionSet::ALL {
                break;
            }
            if let Some(under_prefix) = self.by_prefix.get(&repository[..separator]) {
                actions |= *under_prefix;
            }
        }
        actions
    }

    /// Whether the scope allows `action` on `repository`.
    pub fn allows(&self, repository: &RepositoryName, action: Action) -> bool {
        self.actions_for(repository).contains(action)
    }

    /// The actions allowed on every repository (from `*` rules).
    pub fn actions_on_every_repository(&self) -> ActionSet {
        self.every_repository
    }

    /// Whether the scope allows nothing anywhere.
    pub fn allows_nothing(&self) -> bool {
        self.every_repository.is_empty() && self.by_exact_name.is_empty() && self.by_prefix.is_empty()
    }
}

impl<'a> FromIterator<&'a Rule> for CompiledScope {
    fn from_iter<I: IntoIterator<Item = &'a Rule>>(rules: I) -> Self {
        CompiledScope::compile(rules)
    }
}

impl FromIterator<Rule> for CompiledScope {
    fn from_iter<I: IntoIterator<Item = Rule>>(rules: I) -> Self {
        let mut scope = CompiledScope::default();
        for rule in rules {
            scope.add(&rule);
        }
        scope
    }
}

/// Sizes only: the maps' iteration order is not deterministic.
impl fmt::Debug for CompiledScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledScope")
            .field("every_repository", &self.every_repository)
            .field("exact_rules", &self.by_exact_name.len())
            .field("prefix_rules", &self.by_prefix.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> RepositoryName {
        text.parse().unwrap()
    }

    fn rule(pattern: &str, actions: &[Action]) -> Rule {
        Rule::new(RepositoryPattern::parse(pattern).unwrap(), ActionSet::of(actions))
    }

    #[test]
    fn empty_scope_allows_nothing() {
        let scope = CompiledScope::default();
        assert!(scope.allows_nothing());
        for repository in ["a", "samples/x", "a/b/c"] {
            assert_eq!(scope.actions_for(&name(repository)), ActionSet::EMPTY);
        }
        let only_empty_rules = CompiledScope::compile(&[rule("*", &[]), rule("a/*", &[])]);
        assert!(only_empty_rules.allows_nothing());
        assert_eq!(only_empty_rules, CompiledScope::default());
    }

    #[test]
    fn duplicate_patterns_are_merged() {
        let scope = CompiledScope::compile(&[
            rule("a/*", &[Action::ContentRead]),
            rule("a/*", &[Action::ContentWrite]),
            rule("a/b", &[Action::MetadataRead]),
            rule("a/b", &[Action::MetadataWrite]),
            rule("*", &[Action::ContentDelete]),
            rule("*", &[Action::ContentRead]),
        ]);
        assert_eq!(scope.actions_for(&name("a/b")), ActionSet::ALL, "{:?}", scope.actions_for(&name("a/b")));
        assert_eq!(
            scope.actions_for(&name("a/c")),
            ActionSet::of(&[Action::ContentRead, Action::ContentWrite, Action::ContentDelete])
        );
        assert_eq!(
            scope.actions_on_every_repository(),
            ActionSet::of(&[Action::ContentRead, Action::ContentDelete])
        );
        assert_eq!(
            format!("{scope:?}"),
            "CompiledScope { every_repository: ActionSet{content/read, content/delete}, \
             exact_rules: 1, prefix_rules: 1 }"
        );
    }

    #[test]
    fn adding_and_removing_repository_actions_edits_one_rule_per_pattern() {
        let hello = RepositoryPattern::parse("samples/hello-world").unwrap();
        let nginx = RepositoryPattern::parse("samples/nginx").unwrap();
        let read_write = ActionSet::of(&[Action::ContentRead, Action::ContentWrite]);

        // The walkthrough of the source: start with push on hello-world ...
        let mut rules = vec![Rule::new(hello.clone(), read_write)];
        // ... add push on nginx, remove write on hello-world ...
        add_repository_actions(&mut rules, &nginx, read_write);
        remove_repository_actions(&mut rules, &hello, Action::ContentWrite.into());
        assert_eq!(
            rules,
            vec![Rule::new(hello.clone(), Action::ContentRead.into()), Rule::new(nginx.clone(), read_write),]
        );
        // ... then add delete on nginx and metadata/read on hello-world.
        add_repository_actions(&mut rules, &nginx, Action::ContentDelete.into());
        add_repository_actions(&mut rules, &hello, Action::MetadataRead.into());
        let scope = CompiledScope::compile(&rules);
        assert_eq!(
            scope.actions_for(&name("samples/nginx")),
            ActionSet::of(&[Action::ContentRead, Action::ContentWrite, Action::ContentDelete])
        );
        assert_eq!(
            scope.actions_for(&name("samples/hello-world")),
            ActionSet::of(&[Action::ContentRead, Action::MetadataRead])
        );

        // Removing every action drops the rule; adding nothing adds no rule.
        remove_repository_actions(&mut rules, &nginx, ActionSet::ALL);
        add_repository_actions(&mut rules, &nginx, ActionSet::EMPTY);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].pattern, hello);
    }

    #[test]
    fn rules_serialise_as_pattern_and_action_list() {
        let written = rule("samples/*", &[Action::MetadataRead, Action::ContentRead]);
        let json = serde_json::to_string(&written).unwrap();
        assert_eq!(json, r#"{"pattern":"samples/*","actions":["content/read","metadata/read"]}"#);
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), written);
        assert!(serde_json::from_str::<Rule>(r#"{"pattern":"samples/teamA*","actions":["content/read"]}"#)
            .is_err());
    }
}
