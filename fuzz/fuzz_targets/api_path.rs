//! `Target::parse`: the `{*path}` of `/api/v1/repositories/...` (a
//! repository, its `_tags` or `_manifests`, or one of them). No panic; the
//! target, printed back as a path, parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::http::api::Target;

/// The path the portal and the CLI would send for `target`.
fn path_of(target: &Target) -> String {
    match target {
        Target::Repository(name) => name.to_string(),
        Target::Tags(name) => format!("{name}/_tags"),
        Target::Tag(name, tag) => format!("{name}/_tags/{tag}"),
        Target::Manifests(name) => format!("{name}/_manifests"),
        Target::Manifest(name, digest) => format!("{name}/_manifests/{digest}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else { return };
    let Ok(target) = Target::parse(path) else { return };
    let printed = path_of(&target);
    let Ok(again) = Target::parse(&printed) else { panic!("{path:?} printed as {printed:?} is refused") };
    assert_eq!(path_of(&again), printed, "{path:?}");
    assert_eq!(again.repository(), target.repository());
});
