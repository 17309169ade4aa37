//! Decision tests across the policy's parts: the additive example of the
//! source, prefix boundaries, the root wildcard, the catalog filter, the
//! grant, a 5,000-rule scope, and property tests comparing `CompiledScope`
//! and the name parser with naive reference implementations.

use proptest::prelude::*;

use super::*;
use std::sync::Arc;

use crate::domain::{check_repository_name, RepositoryName};
use roles::{ControlAccess, ControlArea};
use Action::*;

fn name(text: &str) -> RepositoryName {
    text.parse().unwrap()
}

fn rule(pattern: &str, actions: &[Action]) -> Rule {
    Rule::new(RepositoryPattern::parse(pattern).unwrap(), ActionSet::of(actions))
}

// ---------------------------------------------------------------- tables

#[test]
fn rules_are_additive_as_in_the_source_example() {
    // The source writes `sample/teamA/...`; OCI names are lowercase.
    let scope = CompiledScope::compile(&[
        rule("sample/*", &[ContentRead]),
        rule("sample/teama/*", &[ContentWrite]),
        rule("sample/teama/projectb", &[ContentDelete]),
    ]);
    let table: [(&str, &[Action]); 7] = [
        ("sample/teama/projectb", &[ContentRead, ContentWrite, ContentDelete]),
        ("sample/teama/projectc", &[ContentRead, ContentWrite]),
        ("sample/teama/projectb/sub", &[ContentRead, ContentWrite]),
        ("sample/teama", &[ContentRead]),
        ("sample/teamb/projectb", &[ContentRead]),
        ("sample", &[]),
        ("other/teama/projectb", &[]),
    ];
    for (repository, actions) in table {
        assert_eq!(scope.actions_for(&name(repository)), ActionSet::of(actions), "{repository}");
    }
}

#[test]
fn a_prefix_never_grants_its_own_name_or_a_sibling_sharing_its_letters() {
    let all = &Action::ALL;
    let scope = CompiledScope::compile(&[rule("backend/*", all)]);
    let table = [
        ("backend/x", true),
        ("backend/api/v2", true),
        ("backend", false),
        ("backend-infra/x", false),
        ("backend-infra", false),
        ("backend_x/y", false),
        ("backend.io/y", false),
        ("backendx/y", false),
        ("backen/d", false),
        ("front/backend/x", false),
    ];
    for (repository, granted) in table {
        let expected = if granted { ActionSet::ALL } else { ActionSet::EMPTY };
        assert_eq!(scope.actions_for(&name(repository)), expected, "{repository}");
    }
    // A sibling with its own prefix rule does not leak into `backend/*`.
    let siblings = CompiledScope::compile(&[
        rule("backend/*", &[ContentRead]),
        rule("backend-infra/*", &[ContentWrite]),
        rule("backend", &[MetadataRead]),
    ]);
    assert_eq!(siblings.actions_for(&name("backend/x")), ContentRead.into());
    assert_eq!(siblings.actions_for(&name("backend-infra/x")), ContentWrite.into());
    assert_eq!(siblings.actions_for(&name("backend")), MetadataRead.into());
}

#[test]
fn root_wildcard_covers_every_repository_and_adds_to_the_others() {
    let scope = CompiledScope::compile(&[rule("*", &[ContentRead]), rule("team/*", &[ContentWrite])]);
    for repository in ["a", "team", "other/app", "x/y/z/w/v"] {
        assert_eq!(scope.actions_for(&name(repository)), ContentRead.into(), "{repository}");
    }
    assert_eq!(scope.actions_for(&name("team/app")), ActionSet::of(&[ContentRead, ContentWrite]));
    assert!(scope.allows(&name("anything"), ContentRead));
    assert!(!scope.allows(&name("anything"), ContentWrite));
}

#[test]
fn exact_rules_match_only_their_own_name() {
    let scope = CompiledScope::compile(&[rule("samples/hello-world", &[ContentRead, ContentWrite])]);
    assert_eq!(scope.actions_for(&name("samples/hello-world")), ActionSet::of(&[ContentRead, ContentWrite]));
    for repository in ["samples", "samples/hello-world/x", "samples/hello-worlds", "samples/nginx"] {
        assert_eq!(scope.actions_for(&name(repository)), ActionSet::EMPTY, "{repository}");
    }
}

#[test]
fn the_catalog_lists_only_repositories_with_metadata_read() {
    let repositories = [
        "samples/hello-world",
        "samples/nginx",
        "samples/private",
        "samples",
        "samples-infra/db",
        "other/app",
        "other/secret",
    ];
    let listed = |scope: &CompiledScope| -> Vec<&str> {
        let principal = Principal::Token(Arc::new(scope.clone()));
        repositories.into_iter().filter(|repository| may_list(&principal, &name(repository))).collect()
    };

    let scoped = CompiledScope::compile(&[
        rule("samples/*", &[MetadataRead]),
        rule("other/app", &[ContentRead, MetadataRead]),
        rule("other/secret", &[ContentRead, ContentWrite, ContentDelete, MetadataWrite]),
    ]);
    assert_eq!(listed(&scoped), vec!["samples/hello-world", "samples/nginx", "samples/private", "other/app"]);

    let table: [(SystemScopeMap, bool); 5] = [
        (REPOSITORIES_ADMIN, true),
        (REPOSITORIES_PULL, false),
        (REPOSITORIES_PULL_METADATA_READ, true),
        (REPOSITORIES_PUSH, false),
        (REPOSITORIES_PUSH_METADATA_WRITE, true),
    ];
    for (scope_map, lists_everything) in table {
        let expected: Vec<&str> = if lists_everything { repositories.to_vec() } else { Vec::new() };
        assert_eq!(listed(&scope_map.compile()), expected, "{}", scope_map.name);
    }
    assert!(listed(&CompiledScope::default()).is_empty());
}

#[test]
fn grant_is_what_was_asked_and_allowed_nothing_more() {
    let pull = ActionSet::from_token_scope_words("pull").unwrap();
    let pull_push = ActionSet::from_token_scope_words("pull,push").unwrap();
    let table = [
        (pull_push, pull_push, pull_push),
        (pull_push, pull, pull),
        (pull, pull_push, pull),
        (pull_push, ActionSet::EMPTY, ActionSet::EMPTY),
        (ActionSet::EMPTY, ActionSet::ALL, ActionSet::EMPTY),
        (ActionSet::ALL, MetadataRead.into(), MetadataRead.into()),
        (ContentDelete.into(), pull_push, ActionSet::EMPTY),
    ];
    let repository = name("samples/hello-world");
    for (requested, allowed, granted) in table {
        let principal = Principal::Token(Arc::new(CompiledScope::compile(&[Rule::new(
            RepositoryPattern::root(),
            allowed,
        )])));
        assert_eq!(
            grant(&principal, Resource::Repository(&repository), requested),
            granted,
            "{requested} / {allowed}"
        );
    }

    // The push walkthrough of the source: push allowed on hello-world only.
    let scope = CompiledScope::compile(&[rule("samples/hello-world", &[ContentRead, ContentWrite])]);
    let principal = Principal::Token(Arc::new(scope));
    assert_eq!(grant(&principal, Resource::Repository(&repository), pull_push), pull_push);
    assert_eq!(grant(&principal, Resource::Repository(&name("samples/nginx")), pull_push), ActionSet::EMPTY);
}

#[test]
fn five_thousand_rules_compile_and_answer_like_a_linear_scan() {
    let mut rules = Vec::new();
    for index in 0..1_000 {
        let organisation = format!("org{index}");
        rules.push(rule(&format!("{organisation}/*"), &[MetadataRead]));
        rules.push(rule(&format!("{organisation}/app"), &[ContentRead]));
        rules.push(rule(&format!("{organisation}/team/*"), &[ContentWrite]));
        rules.push(rule(&format!("{organisation}/team/app/*"), &[ContentDelete]));
        rules.push(rule(&format!("{organisation}/team/app/tool"), &[MetadataWrite]));
    }
    assert_eq!(rules.len(), 5_000);
    let scope = CompiledScope::compile(&rules);

    assert_eq!(
        scope.actions_for(&name("org7/team/app/tool")),
        ActionSet::of(&[ContentWrite, ContentDelete, MetadataRead, MetadataWrite])
    );
    assert_eq!(scope.actions_for(&name("org999/app")), ActionSet::of(&[ContentRead, MetadataRead]));
    assert_eq!(scope.actions_for(&name("org1000/app")), ActionSet::EMPTY);
    assert_eq!(scope.actions_for(&name("org7")), ActionSet::EMPTY);

    let suffixes =
        ["", "/app", "/x", "/team", "/team/x", "/team/app", "/team/app/tool", "/team/app/tool/deep"];
    for index in (0..1_100).step_by(37) {
        for suffix in suffixes {
            let repository = format!("org{index}{suffix}");
            assert_eq!(
                scope.actions_for(&name(&repository)),
                reference_actions(&rules, &repository),
                "{repository}"
            );
        }
    }
}

// ------------------------------------------------- reference implementations

/// The decision written the obvious way: scan every rule, match on the
/// pattern's text.
fn reference_actions(rules: &[Rule], repository: &str) -> ActionSet {
    if !reference_is_repository_name(repository) {
        return ActionSet::EMPTY;
    }
    rules
        .iter()
        .filter(|rule| reference_matches(rule.pattern.as_str(), repository))
        .fold(ActionSet::EMPTY, |actions, rule| actions | rule.actions)
}

fn reference_matches(pattern: &str, repository: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix_with_slash) = pattern.strip_suffix('*') {
        repository.len() > prefix_with_slash.len() && repository.starts_with(prefix_with_slash)
    } else {
        pattern == repository
    }
}

/// The OCI grammar as a backtracking matcher of the regular expression
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` for each `/`-separated component.
fn reference_is_repository_name(name: &str) -> bool {
    name.len() <= 255 && name.split('/').all(|component| reference_component(component.as_bytes()))
}

fn reference_component(text: &[u8]) -> bool {
    let alphanumeric_run =
        text.iter().take_while(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit()).count();
    (1..=alphanumeric_run).any(|taken| reference_component_tail(&text[taken..]))
}

fn reference_component_tail(text: &[u8]) -> bool {
    if text.is_empty() {
        return true;
    }
    let mut separator_lengths = Vec::new();
    if text.starts_with(b".") || text.starts_with(b"_") {
        separator_lengths.push(1);
    }
    if text.starts_with(b"__") {
        separator_lengths.push(2);
    }
    let dashes = text.iter().take_while(|byte| **byte == b'-').count();
    separator_lengths.extend(1..=dashes);
    separator_lengths.into_iter().any(|length| reference_component(&text[length..]))
}

// ------------------------------------------------------------ properties

fn repository_name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "ab"]), 1..=4)
        .prop_map(|components| components.join("/"))
}

fn action_set() -> impl Strategy<Value = ActionSet> {
    prop::sample::subsequence(Action::ALL.to_vec(), 0..=5).prop_map(|actions| actions.into_iter().collect())
}

fn repository_pattern() -> impl Strategy<Value = RepositoryPattern> {
    prop_oneof![
        1 => Just(RepositoryPattern::root()),
        4 => repository_name().prop_map(|name| RepositoryPattern::parse(&name).unwrap()),
        4 => repository_name().prop_map(|name| RepositoryPattern::parse(&format!("{name}/*")).unwrap()),
    ]
}

fn rules() -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        (repository_pattern(), action_set()).prop_map(|(pattern, actions)| Rule::new(pattern, actions)),
        0..24,
    )
}

/// Valid names from the small alphabet (an invalid one cannot be asked
/// about: the policy takes `RepositoryName`).
fn query() -> impl Strategy<Value = String> {
    repository_name()
}

proptest! {
    #[test]
    fn compiled_scope_agrees_with_a_linear_scan(
        rules in rules(),
        queries in prop::collection::vec(query(), 1..16),
    ) {
        let scope = CompiledScope::compile(&rules);
        for repository in &queries {
            prop_assert_eq!(
                scope.actions_for(&name(repository)),
                reference_actions(&rules, repository),
                "repository {:?}", repository
            );
        }
        // Also ask about every name the rules mention, and one level below.
        for rule in &rules {
            let named = match rule.pattern.kind() {
                PatternKind::Root => continue,
                PatternKind::Prefix(name) | PatternKind::Exact(name) => name,
            };
            for repository in [named.to_owned(), format!("{named}/a"), format!("{named}/b/ab")] {
                prop_assert_eq!(
                    scope.actions_for(&name(&repository)),
                    reference_actions(&rules, &repository),
                    "repository {:?}", repository
                );
            }
        }
    }

    #[test]
    fn compiled_scope_agrees_with_single_pattern_matching(
        rules in rules(),
        repository in query(),
    ) {
        let by_pattern = rules
            .iter()
            .filter(|rule| rule.pattern.matches(&name(&repository)))
            .fold(ActionSet::EMPTY, |actions, rule| actions | rule.actions);
        prop_assert_eq!(CompiledScope::compile(&rules).actions_for(&name(&repository)), by_pattern);
    }

    #[test]
    fn rule_order_does_not_matter_and_adding_a_rule_never_removes_an_action(
        rules in rules(),
        extra in (repository_pattern(), action_set()),
        repository in repository_name(),
    ) {
        let scope = CompiledScope::compile(&rules);
        let reversed: CompiledScope = rules.iter().rev().collect();
        prop_assert_eq!(&scope, &reversed);

        let mut more_rules = rules.clone();
        more_rules.push(Rule::new(extra.0, extra.1));
        let wider = CompiledScope::compile(&more_rules);
        prop_assert!(wider.actions_for(&name(&repository)).contains_all(scope.actions_for(&name(&repository))));
    }

    #[test]
    fn grant_never_exceeds_request_or_allowance(
        requested in action_set(),
        rules in rules(),
        repository in repository_name(),
    ) {
        let repository = name(&repository);
        let principal = Principal::Token(Arc::new(CompiledScope::compile(&rules)));
        let allowed = actions_on(&principal, &repository);
        let granted = grant(&principal, Resource::Repository(&repository), requested);
        // Asking to pull implies asking to read metadata; nothing else is added.
        let asked = if requested.contains(ContentRead) { requested.with(MetadataRead) } else { requested };
        for action in Action::ALL {
            prop_assert_eq!(granted.contains(action), asked.contains(action) && allowed.contains(action));
        }
    }

    #[test]
    fn repository_name_parser_agrees_with_the_grammar(name in "[a0A._/*-]{0,10}") {
        prop_assert_eq!(
            check_repository_name(&name).is_ok(),
            reference_is_repository_name(&name),
            "name {:?}", name
        );
    }

    #[test]
    fn valid_names_built_from_the_grammar_are_accepted(
        components in prop::collection::vec(
            (
                "[a-z0-9]{1,3}",
                prop::collection::vec(
                    (prop::sample::select(vec![".", "_", "__", "-", "--", "---"]), "[a-z0-9]{1,3}"),
                    0..3,
                ),
            ),
            1..4,
        ),
    ) {
        let name = components
            .into_iter()
            .map(|(head, tail)| {
                tail.into_iter()
                    .fold(head, |component, (separator, run)| component + separator + &run)
            })
            .collect::<Vec<_>>()
            .join("/");
        prop_assert_eq!(check_repository_name(&name), Ok(()));
        prop_assert!(reference_is_repository_name(&name));
    }

    #[test]
    fn pattern_parser_agrees_with_the_pattern_forms(text in "[a0A._/*-]{0,10}") {
        let expected = if text == "*" {
            Some("root")
        } else if let Some(prefix) = text.strip_suffix("/*") {
            (!prefix.contains('*') && reference_is_repository_name(prefix)).then_some("prefix")
        } else {
            (!text.contains('*') && reference_is_repository_name(&text)).then_some("exact")
        };
        let parsed = RepositoryPattern::parse(&text);
        let actual = parsed.as_ref().ok().map(|pattern| match pattern.kind() {
            PatternKind::Root => "root",
            PatternKind::Prefix(_) => "prefix",
            PatternKind::Exact(_) => "exact",
        });
        prop_assert_eq!(actual, expected, "pattern {:?}: {:?}", text, parsed);
        if let Ok(pattern) = parsed {
            prop_assert_eq!(pattern.as_str(), text.as_str());
        }
    }
}

// ---------------------------------------------------------------- the decision

/// The first administrator: Owner, Repository Contributor, Catalog Lister.
fn administrator() -> Principal {
    let assignments = roles::ADMINISTRATOR_ROLES.map(|role| roles::RoleAssignment::new(role, None));
    Principal::Identity(Arc::new(roles::IdentityAccess::new(
        roles::RoleAssignmentMode::RbacAbac,
        assignments.to_vec(),
    )))
}

fn token(actions: ActionSet) -> Principal {
    Principal::Token(Arc::new(CompiledScope::compile(&[Rule::new(RepositoryPattern::root(), actions)])))
}

#[test]
fn the_operation_table_names_the_actions_that_allow_each_operation() {
    use RepositoryOperation::*;
    let table: [(RepositoryOperation, &[Action], Action); 8] = [
        (Pull, &[ContentRead], ContentRead),
        (Push, &[ContentWrite], ContentWrite),
        (ReadMetadata, &[MetadataRead], MetadataRead),
        (WriteMetadata, &[MetadataWrite], MetadataWrite),
        (Untag, &[MetadataWrite, ContentDelete], ContentDelete),
        (DeleteManifest, &[ContentDelete], ContentDelete),
        (DeleteBlob, &[ContentDelete], ContentDelete),
        (DeleteRepository, &[ContentDelete], ContentDelete),
    ];
    assert_eq!(table.len(), RepositoryOperation::ALL.len());
    for (operation, allowed_by, named) in table {
        assert_eq!(operation.allowed_by(), ActionSet::of(allowed_by), "{operation:?}");
        assert_eq!(operation.action(), named, "{operation:?}");
        assert!(operation.scope_to_request().contains(named));
    }
    assert_eq!(Push.scope_to_request(), ActionSet::of(&[ContentRead, ContentWrite]));
    assert_eq!(Untag.scope_to_request(), ActionSet::of(&[MetadataWrite, ContentDelete]));
}

#[test]
fn untag_is_allowed_by_metadata_write_or_content_delete_and_nothing_else() {
    let repository = name("samples/app");
    let untag = Operation::Repository(&repository, RepositoryOperation::Untag);
    for held in [ActionSet::of(&[MetadataWrite]), ActionSet::of(&[ContentDelete])] {
        assert_eq!(decide(&token(held), Grants::Policy, untag), Decision::Allow, "{held}");
    }
    let denied =
        decide(&token(ActionSet::of(&[ContentRead, ContentWrite, MetadataRead])), Grants::Policy, untag);
    assert_eq!(
        denied,
        Decision::Deny(Denial::NotGranted { action: ContentDelete, repository: repository.clone() })
    );
    // Deleting the manifest itself is not an untag.
    let delete = Operation::Repository(&repository, RepositoryOperation::DeleteManifest);
    assert!(matches!(decide(&token(MetadataWrite.into()), Grants::Policy, delete), Decision::Deny(_)));
}

#[test]
fn a_bearer_token_is_asked_to_widen_its_scope_only_where_the_policy_allows() {
    let repository = name("samples/app");
    let push = Operation::Repository(&repository, RepositoryOperation::Push);
    let pull_push = token(ActionSet::of(&[ContentRead, ContentWrite]));
    assert_eq!(decide(&pull_push, Grants::Issued(ContentRead.into()), push), Decision::InsufficientScope);
    assert_eq!(
        decide(&pull_push, Grants::Issued(ActionSet::of(&[ContentRead, ContentWrite])), push),
        Decision::Allow
    );
    assert!(matches!(
        decide(&token(ContentRead.into()), Grants::Issued(ActionSet::ALL), push),
        Decision::Deny(_)
    ));
    // An administrator's bearer token is bounded by its grants too.
    assert_eq!(
        decide(&administrator(), Grants::Issued(ContentRead.into()), push),
        Decision::InsufficientScope
    );
}

#[test]
fn administration_is_for_control_plane_roles_and_lists_for_everyone() {
    let scoped = token(ActionSet::ALL);
    let change_tokens = Operation::Control(ControlArea::Configuration, ControlAccess::Write);
    assert_eq!(decide(&administrator(), Grants::Policy, change_tokens), Decision::Allow);
    let refused =
        Denial::ControlNotGranted { area: ControlArea::Configuration, access: ControlAccess::Write };
    assert_eq!(decide(&scoped, Grants::Policy, change_tokens), Decision::Deny(refused.clone()));
    assert_eq!(
        refused.to_string(),
        "changing the registry's settings, tokens and scope maps needs a role that grants it \
         (for example Container Registry Contributor and Data Access Configuration Administrator)"
    );
    assert_eq!(refused.action(), "configuration.write");
    for principal in [&administrator(), &scoped] {
        assert_eq!(decide(principal, Grants::Policy, Operation::SignedIn), Decision::Allow);
        assert_eq!(decide(principal, Grants::Policy, Operation::ListRepositories), Decision::Allow);
        assert_eq!(
            decide(principal, Grants::Issued(MetadataRead.into()), Operation::ListRepositories),
            Decision::Allow
        );
        assert_eq!(
            decide(principal, Grants::Issued(ActionSet::EMPTY), Operation::ListRepositories),
            Decision::InsufficientScope
        );
    }
}

#[test]
fn the_catalog_scope_gives_tokens_read_only() {
    let scoped = token(ActionSet::ALL);
    assert_eq!(grant(&scoped, Resource::Catalog, ActionSet::ALL), MetadataRead.into());
    assert_eq!(grant(&administrator(), Resource::Catalog, ActionSet::ALL), MetadataRead.into());
    assert_eq!(grant(&scoped, Resource::Catalog, ContentWrite.into()), ActionSet::EMPTY);
}

#[test]
fn every_principal_grant_and_operation_is_decided_by_the_rule() {
    // Exhaustive over the five actions: every set the principal may hold,
    // every grant a bearer token may carry (and none), every operation.
    let repository = name("samples/app");
    let every_set: Vec<ActionSet> = (0u8..32)
        .map(|bits| {
            Action::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, a)| a)
                .collect()
        })
        .collect();
    let grants: Vec<Grants> =
        std::iter::once(Grants::Policy).chain(every_set.iter().map(|set| Grants::Issued(*set))).collect();
    for held in &every_set {
        let principal = token(*held);
        for grant in &grants {
            for operation in RepositoryOperation::ALL {
                let needed = operation.allowed_by();
                let issued = match grant {
                    Grants::Policy => ActionSet::ALL,
                    Grants::Issued(set) => *set,
                };
                let expected = if !held.intersection(needed).intersection(issued).is_empty() {
                    Decision::Allow
                } else if !held.intersection(needed).is_empty() {
                    Decision::InsufficientScope
                } else {
                    Decision::Deny(Denial::NotGranted {
                        action: operation.action(),
                        repository: repository.clone(),
                    })
                };
                let decided = decide(&principal, *grant, Operation::Repository(&repository, operation));
                assert_eq!(decided, expected, "held {held} grant {grant:?} {operation:?}");
                // An administrator holds everything: only the grant limits it.
                let admin = decide(&administrator(), *grant, Operation::Repository(&repository, operation));
                let admin_expected = if needed.intersection(issued).is_empty() {
                    Decision::InsufficientScope
                } else {
                    Decision::Allow
                };
                assert_eq!(admin, admin_expected, "administrator grant {grant:?} {operation:?}");
            }
        }
        assert_eq!(may_list(&principal, &repository), held.contains(MetadataRead));
    }
}

#[test]
fn everyone_adds_repository_access_and_never_control() {
    use roles::{IdentityAccess, Role, RoleAssignment, RoleAssignmentMode};
    let public = condition::Condition::parse(
        "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'public/'",
    )
    .unwrap();
    let everyone = Arc::new(IdentityAccess::new(
        RoleAssignmentMode::RbacAbac,
        vec![RoleAssignment::new(Role::RepositoryReader, Some(public))],
    ));
    let own = Principal::Token(Arc::new(CompiledScope::compile(&[rule("private/app", &[ContentWrite])])));
    let both = Principal::WithEveryone(Box::new(own.clone()), everyone);
    assert_eq!(actions_on(&both, &name("public/x")), ActionSet::of(&[ContentRead, MetadataRead]));
    assert_eq!(actions_on(&both, &name("private/app")), ActionSet::of(&[ContentWrite]));
    assert_eq!(actions_on(&both, &name("other")), ActionSet::EMPTY);
    assert!(may_list(&both, &name("public/x")) && !may_list(&both, &name("private/app")));
    let read_tokens = Operation::Control(ControlArea::Configuration, ControlAccess::Read);
    assert!(matches!(decide(&both, Grants::Policy, read_tokens), Decision::Deny(_)));
    let admin = Principal::WithEveryone(
        Box::new(administrator()),
        Arc::new(IdentityAccess::new(RoleAssignmentMode::RbacAbac, Vec::new())),
    );
    assert_eq!(decide(&admin, Grants::Policy, read_tokens), Decision::Allow, "its own control reach");
}
