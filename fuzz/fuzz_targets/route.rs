//! `Endpoint::parse`, the `/v2` path router, and `operation`, the action
//! table applied to it before authentication. No panic; every endpoint,
//! printed back as the path a client would send, parses to itself (so no
//! two readings of one path exist); a read of a repository resource always
//! asks for an operation.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use server::http::oci::route::{operation, Endpoint};

/// The path a client would send for `endpoint`.
fn path_of(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Base => "/v2/".to_owned(),
        Endpoint::Catalog => "/v2/_catalog".to_owned(),
        Endpoint::Manifest(name, reference) => format!("/v2/{name}/manifests/{reference}"),
        Endpoint::Blob(name, digest) => format!("/v2/{name}/blobs/{digest}"),
        Endpoint::Uploads(name) => format!("/v2/{name}/blobs/uploads/"),
        Endpoint::Upload(name, upload) => format!("/v2/{name}/blobs/uploads/{upload}"),
        Endpoint::Tags(name) => format!("/v2/{name}/tags/list"),
        Endpoint::Referrers(name, digest) => format!("/v2/{name}/referrers/{digest}"),
    }
}

const METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::PUT,
    Method::POST,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else { return };
    let Ok(endpoint) = Endpoint::parse(path) else { return };
    let printed = path_of(&endpoint);
    match Endpoint::parse(&printed) {
        Ok(again) => assert_eq!(again, endpoint, "{path:?} printed as {printed:?}"),
        Err(error) => panic!("{path:?} printed as {printed:?} is refused: {error}"),
    }
    for method in &METHODS {
        let _ = operation(method, &endpoint);
    }
    if !matches!(endpoint, Endpoint::Uploads(_) | Endpoint::Upload(..)) {
        assert!(operation(&Method::GET, &endpoint).is_some(), "GET {path:?}");
    }
});
