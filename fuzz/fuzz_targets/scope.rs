//! The token endpoint's `scope` parameters: `ResourceScope::parse`,
//! `parse_scopes` and `parse_scope_params` (one parameter per input line).
//! No panic; a parsed scope prints (`Display`) to text that parses back to
//! it; the merged list matches a naive reference (first appearance order,
//! one entry per resource with the union of its actions, at most
//! `MAX_SCOPES_PER_REQUEST`); the list printed space-separated, as a
//! challenge carries it, parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::{
    auth::scope::{parse_scope_params, parse_scopes, ResourceScope, MAX_SCOPES_PER_REQUEST},
    policy::ActionSet,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let params: Vec<&str> = text.split('\n').collect();

    let mut reference: Vec<ResourceScope> = Vec::new();
    for word in params.iter().flat_map(|param| param.split_ascii_whitespace()) {
        let Some(scope) = ResourceScope::parse(word) else { continue };
        assert!(!scope.actions.is_empty(), "{word:?}");
        let printed = scope.to_string();
        assert_eq!(ResourceScope::parse(&printed).as_ref(), Some(&scope), "{word:?} printed as {printed:?}");
        match reference.iter_mut().find(|known| known.resource == scope.resource) {
            Some(known) => known.actions |= scope.actions,
            None => reference.push(scope),
        }
    }
    // Later words may widen a resource already kept, never add one past the limit.
    reference.truncate(MAX_SCOPES_PER_REQUEST);

    let scopes = parse_scope_params(params.iter().copied());
    assert_eq!(scopes, reference, "{text:?}");
    assert!(scopes.iter().all(|scope| scope.actions != ActionSet::EMPTY));
    if params.len() == 1 {
        assert_eq!(parse_scopes(text), scopes);
    }

    let joined = scopes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
    assert_eq!(parse_scopes(&joined), scopes, "{joined:?}");
});
