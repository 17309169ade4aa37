//! `Tag`: a manifest tag matching the distribution-spec grammar
//! `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. Pure parsing; calls nothing outside
//! `domain`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// A valid tag, such as `latest` or `v1.2.3-rc_1`. Tags are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// The grammar allows one leading character and up to 127 more.
    pub const MAX_LEN: usize = 128;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Tag {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        check_tag(text)?;
        Ok(Self(text.to_owned()))
    }
}

impl TryFrom<String> for Tag {
    type Error = DomainError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        check_tag(&text)?;
        Ok(Self(text))
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> Self {
        tag.0
    }
}

fn tag_invalid(reason: impl Into<String>) -> DomainError {
    DomainError::TagInvalid { reason: reason.into() }
}

fn check_tag(text: &str) -> Result<(), DomainError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(tag_invalid("the tag is empty"));
    };
    if text.len() > Tag::MAX_LEN {
        return Err(tag_invalid(format!(
            "the tag is {} bytes long; the limit is {}",
            text.len(),
            Tag::MAX_LEN
        )));
    }
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return Err(tag_invalid("the tag must start with a letter, a digit or '_'"));
    }
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-');
    if !text.bytes().all(allowed) {
        return Err(tag_invalid("the tag contains a character outside a-z, A-Z, 0-9, '.', '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_tags() {
        let longest = format!("a{}", "b".repeat(127));
        let valid = [
            "latest",
            "v1",
            "V1.2.3",
            "1.0",
            "_private",
            "a",
            "0",
            "_",
            "release-2024_01.15",
            "UPPER",
            "a..b",
            "a--",
            "sha256-abc.sig",
            longest.as_str(),
        ];
        for text in valid {
            let tag: Tag = text.parse().unwrap_or_else(|error| panic!("{text:?} should be valid: {error}"));
            assert_eq!(tag.as_str(), text);
            assert_eq!(tag.to_string(), text);
        }
    }

    #[test]
    fn rejects_invalid_tags() {
        let too_long = "a".repeat(129);
        let invalid = [
            ("", "empty"),
            (".hidden", "leading dot"),
            ("-dash", "leading dash"),
            ("a/b", "slash"),
            ("a:b", "colon"),
            ("a b", "space"),
            ("a+b", "plus"),
            ("a@b", "at sign"),
            ("tag\n", "newline"),
            ("é", "non-ascii"),
            ("aé", "non-ascii later"),
            (too_long.as_str(), "129 characters"),
        ];
        for (text, why) in invalid {
            match text.parse::<Tag>() {
                Err(DomainError::TagInvalid { reason }) => {
                    assert!(!reason.is_empty(), "{why}: empty reason")
                }
                other => panic!("{text:?} ({why}) should be TagInvalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn serde_round_trips_as_a_string_and_validates() {
        let tag: Tag = "v1.0".parse().unwrap();
        let json = serde_json::to_string(&tag).unwrap();
        assert_eq!(json, "\"v1.0\"");
        assert_eq!(serde_json::from_str::<Tag>(&json).unwrap(), tag);
        assert!(serde_json::from_str::<Tag>("\"-bad\"").is_err());
    }
}
