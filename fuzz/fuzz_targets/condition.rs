//! `Condition::parse`, the condition language of role assignments, as an
//! administrator types it. No panic and no deep recursion (the limits hold
//! whatever the text); the canonical text (`Display`) parses back to the
//! same condition, as does the editor's tree (`node` → `from_node`); on
//! names taken from the condition's own values, the compiled
//! `ConditionIndex` agrees with `allows`, and every action
//! `unrestricted_actions` reports is allowed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::{
    domain::RepositoryName,
    policy::{
        condition::{Condition, ConditionIndex, MAX_CONDITION_BYTES},
        Action, ActionSet,
    },
};

/// Repository names near the condition's values: each value, lowercased,
/// with a component added, with its last character dropped, and a few
/// fixed names.
fn names_near(text: &str) -> Vec<RepositoryName> {
    let mut candidates: Vec<String> =
        ["a", "backend/api", "frontend/web", "samples/hello"].iter().map(|s| s.to_string()).collect();
    for value in text.split('\'').skip(1).step_by(2).take(20) {
        let lower = value.to_ascii_lowercase();
        let mut shorter = lower.clone();
        shorter.pop();
        candidates.extend([value.to_owned(), format!("{lower}x"), format!("{lower}/x"), lower, shorter]);
    }
    candidates.iter().filter_map(|name| name.parse().ok()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let condition = match Condition::parse(text) {
        Ok(condition) => condition,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let canonical = condition.to_string();
    assert!(canonical.len() <= MAX_CONDITION_BYTES);
    match Condition::parse(&canonical) {
        Ok(again) => assert_eq!(again, condition, "{text:?} printed as {canonical:?}"),
        Err(error) => panic!("{text:?} printed as {canonical:?} is refused: {error}"),
    }
    assert_eq!(Condition::from_node(&condition.node()).as_ref(), Ok(&condition), "{text:?}");
    let _ = condition.prefixes_without_trailing_slash();

    let unrestricted = condition.unrestricted_actions(ActionSet::ALL);
    let index = ConditionIndex::compile([(ActionSet::ALL, Some(&condition))]);
    for name in names_near(text) {
        let allowed: ActionSet =
            Action::ALL.into_iter().filter(|action| condition.allows(*action, &name)).collect();
        assert_eq!(index.actions_for(&name), allowed, "{canonical:?} on {name}");
        assert!(allowed.contains_all(unrestricted), "{canonical:?} on {name}: unrestricted {unrestricted:?}");
    }
});
