//! `Reference`: the `<reference>` of `/v2/<name>/manifests/<reference>`,
//! either a tag or a digest. Pure parsing; calls nothing outside `domain`.
//!
//! A tag can never contain ':', so text with a ':' is parsed as a digest and
//! its errors are digest errors; anything else is parsed as a tag.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Digest, DomainError, Tag};

/// A manifest reference: a tag, or a digest naming the content directly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn as_tag(&self) -> Option<&Tag> {
        match self {
            Reference::Tag(tag) => Some(tag),
            Reference::Digest(_) => None,
        }
    }

    pub fn as_digest(&self) -> Option<&Digest> {
        match self {
            Reference::Tag(_) => None,
            Reference::Digest(digest) => Some(digest),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(tag) => tag.as_str(),
            Reference::Digest(digest) => digest.as_str(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for Reference {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.contains(':') {
            text.parse().map(Reference::Digest)
        } else {
            text.parse().map(Reference::Tag)
        }
    }
}

impl TryFrom<String> for Reference {
    type Error = DomainError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text.contains(':') {
            Digest::try_from(text).map(Reference::Digest)
        } else {
            Tag::try_from(text).map(Reference::Tag)
        }
    }
}

impl From<Reference> for String {
    fn from(reference: Reference) -> Self {
        match reference {
            Reference::Tag(tag) => tag.into(),
            Reference::Digest(digest) => digest.into(),
        }
    }
}

impl From<Tag> for Reference {
    fn from(tag: Tag) -> Self {
        Reference::Tag(tag)
    }
}

impl From<Digest> for Reference {
    fn from(digest: Digest) -> Self {
        Reference::Digest(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Algorithm;

    const ABC_SHA256: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn parses_tags_and_digests() {
        let tags = ["latest", "v1.0", "_x", "A-b_c.d"];
        for text in tags {
            let reference: Reference = text.parse().unwrap();
            assert_eq!(reference.as_tag().map(Tag::as_str), Some(text));
            assert_eq!(reference.as_digest(), None);
            assert_eq!(reference.to_string(), text);
        }
        let reference: Reference = ABC_SHA256.parse().unwrap();
        let digest = reference.as_digest().expect("a digest");
        assert_eq!(digest.algorithm(), Algorithm::Sha256);
        assert_eq!(reference.as_tag(), None);
        assert_eq!(reference.to_string(), ABC_SHA256);
    }

    fn kind(error: &DomainError) -> &'static str {
        match error {
            DomainError::NameInvalid { .. } => "name",
            DomainError::TagInvalid { .. } => "tag",
            DomainError::DigestInvalid { .. } => "digest",
            DomainError::DigestUnsupported { .. } => "unsupported",
        }
    }

    #[test]
    fn reports_the_error_of_the_kind_it_looks_like() {
        let cases = [
            ("", "tag"),
            (".bad", "tag"),
            ("a/b", "tag"),
            ("latest:", "digest"),
            ("sha256:abc", "digest"),
            ("sha256:ABC", "digest"),
            (":", "digest"),
            ("md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported"),
        ];
        for (text, expected_kind) in cases {
            let error = text.parse::<Reference>().unwrap_err();
            assert_eq!(kind(&error), expected_kind, "{text:?} gave {error:?}");
        }
    }

    #[test]
    fn serde_round_trips_both_kinds() {
        for text in ["latest", ABC_SHA256] {
            let reference: Reference = text.parse().unwrap();
            let json = serde_json::to_string(&reference).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), reference);
        }
        assert!(serde_json::from_str::<Reference>("\"a/b\"").is_err());
    }
}
