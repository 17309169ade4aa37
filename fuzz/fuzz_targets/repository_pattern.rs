//! `RepositoryPattern::parse`, the scope-map rule syntax (`name`,
//! `prefix/*`, `*`), with `parse_rule` (a rule as the API and access files
//! give it), the compiled scope built from the rules, and the token and
//! scope-map name rules. No panic; parse agrees with a reference written
//! from the rules; print → parse (text and JSON) is the identity; matching
//! and the compiled scope agree with naive string matching.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_proto::RepositoryActions;
use server::{
    domain::{check_repository_name, RepositoryName},
    policy::{
        validate_scope_map_name, validate_token_name, Action, ActionSet, CompiledScope, PatternKind,
        RepositoryPattern, Rule,
    },
    service::tokens::parse_rule,
};

#[derive(Debug, PartialEq)]
enum Expected<'a> {
    Root,
    Prefix(&'a str),
    Exact(&'a str),
}

fn reference(text: &str) -> Option<Expected<'_>> {
    if text == "*" {
        return Some(Expected::Root);
    }
    if let Some(prefix) = text.strip_suffix("/*") {
        return check_repository_name(prefix).is_ok().then_some(Expected::Prefix(prefix));
    }
    check_repository_name(text).is_ok().then_some(Expected::Exact(text))
}

fn naive_matches(pattern: &str, repository: &str) -> bool {
    match pattern.strip_suffix('*') {
        None => pattern == repository,
        Some(prefix) => repository.starts_with(prefix) && repository.len() > prefix.len(),
    }
}

fn name_rule(name: &str) -> bool {
    (5..=50).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('_')
}

// One input line per rule, `<pattern> <action> <action>...` (the wire
// names, `content/read`; unknown words dropped), and one per repository to
// check, `? <name>`. The pattern is the text before the first space.
fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let mut rules = Vec::new();
    let mut repositories = Vec::new();
    for line in input.split('\n') {
        if let Some(repository) = line.strip_prefix("? ") {
            repositories.push(repository);
            continue;
        }
        let (text, words) = line.split_once(' ').unwrap_or((line, ""));
        let text = &text.to_owned();
        let actions: Vec<Action> = words.split(' ').filter_map(|word| word.parse().ok()).collect();
        assert_eq!(validate_token_name(text).is_ok(), name_rule(text), "{text:?}");
        assert_eq!(validate_scope_map_name(text).is_ok(), name_rule(text), "{text:?}");

        let parsed = RepositoryPattern::parse(text);
        let expected = reference(text);
        match (&parsed, &expected) {
            (Ok(pattern), Some(expected)) => {
                let kind = match pattern.kind() {
                    PatternKind::Root => Expected::Root,
                    PatternKind::Prefix(prefix) => Expected::Prefix(prefix),
                    PatternKind::Exact(name) => Expected::Exact(name),
                };
                assert_eq!(&kind, expected, "{text:?}");
                assert_eq!(pattern.to_string(), *text);
                assert_eq!(pattern.to_string().parse::<RepositoryPattern>().as_ref(), Ok(pattern));
                assert_eq!(RepositoryPattern::try_from(text.clone()).as_ref(), Ok(pattern));
                let json = serde_json::to_string(pattern).unwrap();
                assert_eq!(&serde_json::from_str::<RepositoryPattern>(&json).unwrap(), pattern);
            }
            (Err(error), None) => {
                let _ = error.to_string();
            }
            _ => panic!("{text:?}: parsed {parsed:?}, expected {expected:?}"),
        }

        let rule = RepositoryActions { repository: text.clone(), actions: actions.clone() };
        match parse_rule(&rule) {
            Ok((pattern, set)) => {
                assert!(!actions.is_empty());
                assert_eq!(pattern.as_str(), text.trim());
                assert_eq!(set, actions.iter().copied().collect::<ActionSet>());
                rules.push(Rule::new(pattern, set));
            }
            Err(_) => assert!(actions.is_empty() || reference(text.trim()).is_none(), "{text:?}"),
        }
    }

    let compiled = CompiledScope::compile(&rules);
    for text in repositories {
        let Ok(repository) = text.parse::<RepositoryName>() else { continue };
        let mut expected = ActionSet::EMPTY;
        for rule in &rules {
            let matches = rule.pattern.matches(&repository);
            assert_eq!(matches, naive_matches(rule.pattern.as_str(), text), "{:?} on {text:?}", rule.pattern);
            if matches {
                expected = expected | rule.actions;
            }
        }
        assert_eq!(compiled.actions_for(&repository), expected, "{text:?}");
    }
});
