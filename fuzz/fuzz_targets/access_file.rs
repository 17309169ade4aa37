//! `AccessFile::parse`, the TOML access file of `portcullis plan|apply`,
//! an administrator's text. No panic; every refusal places itself inside
//! the text; a document read, written back (`access_file::write`, what
//! `export` prints), reads as the same document, up to the order and
//! grouping of a scope map's rules: the writer groups them per pattern
//! (a pattern given in both forms, or twice, adds up, as the server reads
//! it too), so those are compared as the server does, merged per trimmed
//! pattern.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use portcullis_cli::access_file::{write, AccessFile};
use portcullis_proto::{AccessDocument, Action, RepositoryActions};

/// The document with each scope map's rules merged per trimmed pattern,
/// sorted, as `service::access_code` reads them.
fn merged(document: &AccessDocument) -> AccessDocument {
    let mut document = document.clone();
    for map in document.scope_maps.values_mut() {
        let mut rules: BTreeMap<String, Vec<Action>> = BTreeMap::new();
        for rule in &map.repositories {
            rules.entry(rule.repository.trim().to_owned()).or_default().extend(&rule.actions);
        }
        map.repositories = rules
            .into_iter()
            .map(|(repository, mut actions)| {
                actions.sort();
                actions.dedup();
                RepositoryActions { repository, actions }
            })
            .collect();
    }
    document
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = match AccessFile::parse(text) {
        Ok(file) => file,
        Err(error) => {
            if let Some(line) = error.line {
                assert!(line >= 1 && line <= text.split('\n').count(), "{error} in {text:?}");
            }
            return;
        }
    };
    let printed = write(&file.document, "exported");
    match AccessFile::parse(&printed) {
        Ok(again) => {
            assert_eq!(merged(&again.document), merged(&file.document), "{text:?} printed as {printed:?}")
        }
        Err(error) => panic!("{text:?} printed as {printed:?} is refused: {error}"),
    }
    let _ = file.locate(Some("/document/tokens/x"), "refused");
});
