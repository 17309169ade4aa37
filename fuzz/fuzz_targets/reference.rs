//! Tags, digests, references and upload ids: the `<reference>`,
//! `<digest>` and `<uuid>` of `/v2` paths and the `digest`/`mount` query
//! parameters. No panic; each parser agrees with its grammar written as a
//! regular expression; a `Reference` is a digest exactly when it has a `:`;
//! print → parse (text and JSON) is the identity.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use regex::Regex;
use server::{
    domain::{Algorithm, Digest, DomainError, Reference, Tag},
    storage::UploadId,
};

/// distribution-spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$").unwrap());
/// The registered algorithms narrow the image-spec grammar to fixed-length
/// lowercase hex.
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$").unwrap());
/// image-spec `algorithm ":" encoded`: well-formed but unregistered is
/// `DigestUnsupported`, not `DigestInvalid`.
static DIGEST_GRAMMAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$").unwrap());

fn json_round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    let tag = text.parse::<Tag>();
    assert_eq!(tag.is_ok(), TAG.is_match(text), "tag {text:?}: {tag:?}");
    if let Ok(tag) = &tag {
        assert_eq!(tag.to_string(), text);
        json_round_trip(tag);
    }

    let digest = text.parse::<Digest>();
    assert_eq!(digest.is_ok(), DIGEST.is_match(text), "digest {text:?}: {digest:?}");
    match &digest {
        Ok(digest) => {
            assert_eq!(digest.to_string(), text);
            assert_eq!(format!("{}:{}", digest.algorithm(), digest.hex()), text);
            assert_eq!(Digest::from_parts(digest.algorithm(), digest.hex()).as_ref(), Ok(digest));
            json_round_trip(digest);
        }
        Err(DomainError::DigestUnsupported { algorithm }) => {
            assert!(DIGEST_GRAMMAR.is_match(text), "unsupported but ill-formed {text:?}");
            assert!(text.starts_with(&format!("{algorithm}:")));
        }
        Err(_) => {}
    }
    if let Ok(algorithm) = text.parse::<Algorithm>() {
        assert_eq!(algorithm.to_string(), text);
    }

    let reference = text.parse::<Reference>();
    match &reference {
        Ok(Reference::Tag(tag)) => assert!(!text.contains(':') && tag.as_str() == text),
        Ok(Reference::Digest(digest)) => assert!(text.contains(':') && digest.as_str() == text),
        Err(_) => assert!(tag.is_err() && digest.is_err()),
    }
    if let Ok(reference) = &reference {
        assert_eq!(reference.to_string().parse::<Reference>().as_ref().ok(), Some(reference));
        json_round_trip(reference);
    }

    // Only the lowercase hyphenated form names an upload.
    if let Ok(upload) = text.parse::<UploadId>() {
        assert_eq!(upload.to_string(), text);
    }
});
