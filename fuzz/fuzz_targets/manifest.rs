//! `parse_manifest`: a pushed manifest or index body with each Content-Type
//! a client may send. No panic; what it accepts is a supported type of the
//! right kind; and the descriptors it read, printed as a referrers index
//! (`referrers_index`, the registry's one manifest printer), parse back to
//! the same descriptors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::domain::manifest::{
    parse_manifest, referrers_index, ManifestKind, MEDIA_TYPE_DOCKER_MANIFEST,
    MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST,
    SUPPORTED_MANIFEST_MEDIA_TYPES,
};

/// The Content-Types worth trying on every body: none, each supported type
/// (with a parameter and in another case too), the generic ones, schema 1.
const CONTENT_TYPES: [Option<&str>; 11] = [
    None,
    Some(MEDIA_TYPE_OCI_MANIFEST),
    Some(MEDIA_TYPE_OCI_INDEX),
    Some(MEDIA_TYPE_DOCKER_MANIFEST),
    Some(MEDIA_TYPE_DOCKER_MANIFEST_LIST),
    Some("application/json"),
    Some("application/octet-stream"),
    Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
    Some("Application/VND.OCI.image.manifest.v1+json; charset=utf-8"),
    Some(""),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the Content-Type; past the table, the bytes up to
    // the first newline are the Content-Type itself.
    let Some((&selector, body)) = data.split_first() else { return };
    let (content_type, body) = match CONTENT_TYPES.get(usize::from(selector)) {
        Some(content_type) => (*content_type, body),
        None => match body.iter().position(|&byte| byte == b'\n') {
            Some(at) => match std::str::from_utf8(&body[..at]) {
                Ok(text) => (Some(text), &body[at + 1..]),
                Err(_) => return,
            },
            None => return,
        },
    };
    let Ok(manifest) = parse_manifest(content_type, body) else { return };

    assert!(SUPPORTED_MANIFEST_MEDIA_TYPES.contains(&manifest.media_type.as_str()), "{manifest:?}");
    assert_eq!(ManifestKind::of_media_type(&manifest.media_type), Some(manifest.kind));
    match manifest.kind {
        ManifestKind::Image => assert!(manifest.config.is_some() && manifest.manifests.is_empty()),
        ManifestKind::Index => assert!(manifest.config.is_none() && manifest.layers.is_empty()),
    }

    // Every descriptor read, plus this manifest's own referrer entry.
    let mut descriptors: Vec<_> = manifest
        .blob_references()
        .chain(manifest.manifest_references())
        .chain(manifest.subject.iter())
        .cloned()
        .collect();
    let own = server::domain::Digest::of_bytes(server::domain::Algorithm::Sha256, body);
    descriptors.push(manifest.referrer_descriptor(own, body.len() as u64));
    let printed = referrers_index(descriptors.clone());
    let reparsed = parse_manifest(Some(MEDIA_TYPE_OCI_INDEX), &printed)
        .unwrap_or_else(|error| panic!("a referrers index of parsed descriptors is refused: {error}"));
    assert_eq!(reparsed.manifests, descriptors);
    assert_eq!(reparsed.kind, ManifestKind::Index);
});
