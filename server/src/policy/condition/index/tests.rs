//! Tests of the condition index: one example per way a specialised
//! condition is answered (everywhere, by lookup, by a formula), then
//! property tests that the index answers what evaluating every condition
//! answers, and that an identity's decision is the union of its
//! assignments' decisions, in both modes.

use proptest::prelude::*;

use super::super::tests::{action, any_value, operator, repository, tree};
use super::super::{Comparison, Operator, ACTION_PREFIX, REPOSITORY_NAME_ATTRIBUTE};
use super::*;
use crate::domain::check_repository_name;
use crate::policy::roles::{IdentityAccess, Role, RoleAssignment, RoleAssignmentMode};
use Action::*;

fn name(text: &str) -> RepositoryName {
    text.parse().expect(text)
}

fn parse(text: &str) -> Condition {
    Condition::parse(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

/// `@Request[...] <operator> '<value>'`.
fn compare(operator: &str, value: &str) -> String {
    format!("{REPOSITORY_NAME_ATTRIBUTE} {operator} '{value}'")
}

fn not_action(action: Action) -> String {
    format!("!(ActionMatches{{'{ACTION_PREFIX}{action}'}})")
}

const READ: ActionSet = ActionSet::of(&[ContentRead, MetadataRead]);
const WRITE: ActionSet = ActionSet::of(&[ContentRead, MetadataRead, ContentWrite, MetadataWrite]);

/// The plain reading: each grant's actions filtered by its condition.
fn evaluated(grants: &[(ActionSet, Option<Condition>)], repository: &RepositoryName) -> ActionSet {
    grants.iter().fold(ActionSet::EMPTY, |all, (actions, condition)| {
        all | actions
            .iter()
            .filter(|action| condition.as_ref().is_none_or(|condition| condition.allows(*action, repository)))
            .collect()
    })
}

fn compiled(grants: &[(ActionSet, Option<Condition>)]) -> ConditionIndex {
    ConditionIndex::compile(grants.iter().map(|(actions, condition)| (*actions, condition.as_ref())))
}

/// Checks the index against [`evaluated`] on `names`, and returns what it
/// grants on each.
fn answers(grants: &[(ActionSet, Option<Condition>)], names: &[&str]) -> Vec<ActionSet> {
    let index = compiled(grants);
    names
        .iter()
        .map(|text| {
            let repository = name(text);
            let answer = index.actions_for(&repository);
            assert_eq!(answer, evaluated(grants, &repository), "{text} with {index:?}");
            answer
        })
        .collect()
}

// ------------------------------------------------------------- examples

#[test]
fn the_sources_prefix_example_is_answered_by_lookup_and_its_writes_everywhere() {
    let condition = parse(&format!(
        "(({} AND {}) OR {})",
        not_action(ContentRead),
        not_action(MetadataRead),
        compare("StringStartsWithIgnoreCase", "Backend/")
    ));
    let grants = [(WRITE, Some(condition))];
    assert_eq!(
        format!("{:?}", compiled(&grants)),
        "ConditionIndex { everywhere: ActionSet{content/write, metadata/write}, trie_nodes: 9, atoms: 1, \
         formulas: 0 }"
    );
    let writes = ActionSet::of(&[ContentWrite, MetadataWrite]);
    assert_eq!(
        answers(&grants, &["backend/nginx", "backend/a/b", "backend", "backend-infra/k8s", "b", "other"]),
        [WRITE, WRITE, writes, writes, writes, writes]
    );
}

#[test]
fn case_is_ignored_only_where_the_operator_says_so() {
    let grants = [
        (ActionSet::from(ContentRead), Some(parse(&compare("StringEquals", "NGINX")))),
        (ActionSet::from(ContentWrite), Some(parse(&compare("StringEqualsIgnoreCase", "NGINX")))),
        (ActionSet::from(ContentDelete), Some(parse(&compare("StringStartsWith", "Lib/")))),
        (ActionSet::from(MetadataRead), Some(parse(&compare("StringStartsWithIgnoreCase", "Lib/")))),
        (ActionSet::from(MetadataWrite), Some(parse(&compare("StringStartsWith", "lib")))),
    ];
    let names = ["nginx", "nginx2", "ngin", "lib/x", "lib", "li", "libx"];
    let write = ActionSet::from(ContentWrite);
    let lib = ActionSet::of(&[MetadataRead, MetadataWrite]);
    let libx = ActionSet::from(MetadataWrite);
    assert_eq!(
        answers(&grants, &names),
        [write, ActionSet::EMPTY, ActionSet::EMPTY, lib, libx, ActionSet::EMPTY, libx]
    );
}

#[test]
fn negations_and_conjunctions_are_formulas_kept_once_whatever_their_spelling() {
    let except_secrets = |prefix: &str, secret: &str| {
        parse(&format!(
            "{} AND {}",
            compare("StringStartsWithIgnoreCase", prefix),
            compare("StringNotStartsWith", secret)
        ))
    };
    let grants = [
        (READ, Some(except_secrets("team/", "team/secret/"))),
        (ActionSet::from(ContentWrite), Some(except_secrets("TEAM/", "team/secret/"))),
        (
            ActionSet::from(ContentDelete),
            Some(parse(&format!("!({})", compare("StringEquals", "team/keep")))),
        ),
    ];
    let index = compiled(&grants);
    assert_eq!(
        format!("{index:?}"),
        "ConditionIndex { everywhere: ActionSet{}, trie_nodes: 17, atoms: 3, formulas: 2 }"
    );
    let team = READ.with(ContentWrite);
    assert_eq!(
        answers(&grants, &["team/app", "team/secret/x", "team/keep", "team", "other"]),
        [team.with(ContentDelete), ContentDelete.into(), team, ContentDelete.into(), ContentDelete.into()]
    );
}

#[test]
fn a_formula_that_holds_by_default_is_given_up_only_where_its_atoms_say_so() {
    // Two exclusions that both hold by default: `ab` is under both, `ac`
    // under the first only.
    let grants = [
        (ActionSet::from(ContentRead), Some(parse(&format!("!({})", compare("StringStartsWith", "a"))))),
        (ActionSet::from(ContentRead), Some(parse(&compare("StringNotStartsWith", "ab")))),
        (ActionSet::from(ContentWrite), Some(parse(&compare("StringNotStartsWith", "ab")))),
    ];
    let read = ActionSet::from(ContentRead);
    let both = read.with(ContentWrite);
    assert_eq!(
        answers(&grants, &["ab", "ab/c", "ac", "a", "b"]),
        [ActionSet::EMPTY, ActionSet::EMPTY, both, both, both]
    );
}

#[test]
fn an_empty_prefix_holds_everywhere_and_an_empty_index_grants_nothing() {
    let everywhere = [(READ, Some(parse(&compare("StringStartsWith", ""))))];
    assert_eq!(answers(&everywhere, &["a", "b/c"]), [READ, READ]);
    let nowhere = [(READ, Some(parse(&compare("StringNotStartsWith", ""))))];
    assert_eq!(answers(&nowhere, &["a", "b/c"]), [ActionSet::EMPTY; 2]);
    assert_eq!(answers(&[], &["a"]), [ActionSet::EMPTY]);
    assert_eq!(
        answers(
            &[(ActionSet::EMPTY, None), (ActionSet::EMPTY, Some(parse(&compare("StringEquals", "a"))))],
            &["a"]
        ),
        [ActionSet::EMPTY]
    );
}

// ------------------------------------------------------ property tests

/// A plain comparison (`StringEquals…`, `StringStartsWith…`).
fn plain_comparison(value: BoxedStrategy<String>) -> impl Strategy<Value = Expr> {
    (operator(), value).prop_map(|(operator, value)| {
        Expr::Compare(Comparison { operator: Operator { negated: false, ..operator }, value })
    })
}

/// Values that are prefixes of one another or differ only in case, so
/// that several comparisons of one condition hold for one name.
fn nested_value() -> impl Strategy<Value = String> {
    prop::sample::select(&["a", "A", "ab", "aB", "ab/", "Ab/c", "ab/c-d", "b", "a-b", ""][..])
        .prop_map(str::to_owned)
}

/// Conditions of every shape, weighted towards those the index looks up:
/// random trees, disjunctions of plain comparisons, and such disjunctions
/// behind the cloud's `!ActionMatches{…} AND …` guard.
fn shaped_condition() -> impl Strategy<Value = Condition> {
    let value = prop_oneof![any_value(), nested_value()].boxed();
    let disjunction = prop::collection::vec(plain_comparison(value.clone()), 1..5)
        .prop_map(
            |mut terms| if terms.len() == 1 { terms.pop().expect("one term") } else { Expr::Any(terms) },
        )
        .boxed();
    let guarded =
        (prop::collection::vec(action(), 1..3), disjunction.clone()).prop_map(|(actions, names)| {
            let guards: Vec<Expr> =
                actions.into_iter().map(|action| Expr::Not(Box::new(Expr::ActionMatches(action)))).collect();
            let guard =
                if guards.len() == 1 { guards.into_iter().next().expect("one") } else { Expr::All(guards) };
            Expr::Any(vec![guard, names])
        });
    prop_oneof![2 => tree(value), 1 => disjunction, 1 => guarded].prop_map(|root| Condition { root })
}

/// Names close to the conditions' values: each value folded, with a
/// character, a component or a dash added, and cut short by one; the
/// valid ones.
fn names_near(conditions: &[Condition]) -> Vec<RepositoryName> {
    let mut names = Vec::new();
    for condition in conditions {
        condition.root.for_each_comparison(&mut |comparison| {
            let value = comparison.value.to_ascii_lowercase();
            let shorter = value.char_indices().last().map(|(last, _)| value[..last].to_owned());
            let candidates =
                [value.clone(), format!("{value}a"), format!("{value}/b"), format!("{value}-a")].into_iter();
            names.extend(candidates.chain(shorter).filter_map(|text| text.parse().ok()));
        });
    }
    names
}

fn action_set() -> impl Strategy<Value = ActionSet> {
    prop::collection::vec(action(), 0..4).prop_map(ActionSet::from)
}

fn role() -> impl Strategy<Value = Role> {
    (0..Role::ALL.len()).prop_map(|index| Role::ALL[index])
}

fn mode() -> impl Strategy<Value = RoleAssignmentMode> {
    prop_oneof![Just(RoleAssignmentMode::Rbac), Just(RoleAssignmentMode::RbacAbac)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_index_answers_what_evaluating_every_condition_answers(
        pool in prop::collection::vec(shaped_condition(), 1..5),
        picks in prop::collection::vec((action_set(), prop::option::weighted(0.85, 0..5usize)), 0..10),
        names in prop::collection::vec(repository(), 1..8),
    ) {
        // Conditions drawn from a small pool, so that grants share some.
        let grants: Vec<(ActionSet, Option<Condition>)> = picks
            .into_iter()
            .map(|(actions, pick)| (actions, pick.map(|index| pool[index % pool.len()].clone())))
            .collect();
        let index = compiled(&grants);
        for repository in names.iter().chain(&names_near(&pool)) {
            prop_assert_eq!(
                index.actions_for(repository),
                evaluated(&grants, repository),
                "{} with {:?}", repository, index
            );
        }
    }

    #[test]
    fn an_identity_decides_as_its_assignments_do_one_by_one(
        mode in mode(),
        pool in prop::collection::vec(shaped_condition(), 1..5),
        picks in prop::collection::vec((role(), prop::option::weighted(0.7, 0..5usize)), 0..10),
        names in prop::collection::vec(repository(), 1..8),
    ) {
        let assignments: Vec<RoleAssignment> = picks
            .into_iter()
            .map(|(role, pick)| RoleAssignment::new(role, pick.map(|index| pool[index % pool.len()].clone())))
            .collect();
        let access = IdentityAccess::new(mode, assignments.clone());
        for repository in names.iter().chain(&names_near(&pool)) {
            let one_by_one = assignments
                .iter()
                .fold(ActionSet::EMPTY, |all, assignment| all | assignment.actions_on(mode, repository));
            prop_assert_eq!(access.actions_on(repository), one_by_one, "{} in {}", repository, mode);
        }
        let lists = assignments
            .iter()
            .any(|assignment| assignment.is_honoured(mode) && assignment.role.lists_every_repository(mode));
        prop_assert_eq!(access.lists_every_repository(), lists);
    }
}

#[test]
fn names_near_the_values_are_valid_and_close() {
    let condition =
        parse(&format!("{} OR {}", compare("StringStartsWith", "Ab/"), compare("StringEquals", "a-")));
    let names: Vec<String> = names_near(&[condition]).iter().map(|name| name.to_string()).collect();
    assert_eq!(names, ["ab/a", "ab", "a-a", "a--a", "a"]);
    assert!(names.iter().all(|name| check_repository_name(name).is_ok()));
}
