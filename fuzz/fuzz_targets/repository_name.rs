//! `check_repository_name` and `RepositoryName`: a `<name>` from a `/v2`
//! path, a scope or the API. No panic; the hand-written parser agrees with
//! the distribution-spec's regular expression (and the 255 limit);
//! `RepositoryName` accepts exactly what the grammar does; print → parse
//! (text and JSON) is the identity.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use regex::Regex;
use server::domain::{check_repository_name, RepositoryName, REPOSITORY_NAME_MAX_LENGTH};

/// distribution-spec "Pulling manifests", anchored.
static GRAMMAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$").unwrap()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let verdict = check_repository_name(text);
    let reference = GRAMMAR.is_match(text) && text.len() <= REPOSITORY_NAME_MAX_LENGTH;
    assert_eq!(verdict.is_ok(), reference, "{text:?}: {verdict:?}");
    if let Err(violation) = &verdict {
        let _ = violation.to_string();
    }

    let parsed = text.parse::<RepositoryName>();
    assert_eq!(parsed.is_ok(), verdict.is_ok(), "{text:?}");
    let Ok(name) = parsed else { return };
    assert_eq!(name.to_string(), text);
    assert_eq!(name.to_string().parse::<RepositoryName>().unwrap(), name);
    assert_eq!(name.components().collect::<Vec<_>>().join("/"), text);
    let json = serde_json::to_string(&name).unwrap();
    assert_eq!(serde_json::from_str::<RepositoryName>(&json).unwrap(), name);
});
