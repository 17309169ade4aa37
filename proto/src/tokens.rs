//! Tokens and their two password slots (SPEC §1 "Token", docs/API.md
//! "Tokens").

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::scope_maps::RepositoryActions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Enabled,
    Disabled,
}

impl TokenStatus {
    pub fn is_enabled(self) -> bool {
        self == TokenStatus::Enabled
    }

    pub fn from_enabled(enabled: bool) -> Self {
        if enabled {
            TokenStatus::Enabled
        } else {
            TokenStatus::Disabled
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Enabled => "enabled",
            TokenStatus::Disabled => "disabled",
        }
    }
}

/// One of a token's two password slots: the same value from the dialog or
/// the command line to the row it is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PasswordSlot {
    Password1,
    Password2,
}

impl PasswordSlot {
    /// Both slots, password1 first (the order of every listing).
    pub const ALL: [PasswordSlot; 2] = [PasswordSlot::Password1, PasswordSlot::Password2];

    pub const fn as_str(self) -> &'static str {
        match self {
            PasswordSlot::Password1 => "password1",
            PasswordSlot::Password2 => "password2",
        }
    }

    /// 0 for password1, 1 for password2 (where the row keeps it).
    pub const fn index(self) -> usize {
        match self {
            PasswordSlot::Password1 => 0,
            PasswordSlot::Password2 => 1,
        }
    }

    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }
}

impl fmt::Display for PasswordSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names neither slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPasswordSlot(pub String);

impl fmt::Display for UnknownPasswordSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown password {:?}: expected password1 or password2", self.0)
    }
}

impl std::error::Error for UnknownPasswordSlot {}

impl FromStr for PasswordSlot {
    type Err = UnknownPasswordSlot;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|slot| slot.as_str() == text)
            .ok_or_else(|| UnknownPasswordSlot(text.to_owned()))
    }
}

/// A password: a token's generated one (`pct_` and 43 characters of
/// `[A-Za-z0-9_-]`, sent once, in the answer that generated it) or one a
/// person typed. Held in a [`SecretString`]: `Debug` never shows it, reading
/// it takes an explicit [`Password::expose`], and its memory is wiped when it
/// is dropped. It serialises as the plain string (the wire needs it).
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Password))]
#[serde(transparent)]
pub struct Password(SecretString);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// A copy of the text, for an API that wants a `String` (the copy is not
    /// wiped: prefer [`Password::expose`]).
    pub fn into_inner(self) -> String {
        self.expose().to_owned()
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Password {}

/// Any text is a password (for command-line arguments).
impl FromStr for Password {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(text))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// One generated slot of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialPassword {
    pub name: PasswordSlot,
    /// Only in the answer of the call that generated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Password>,
    #[serde(with = "crate::time")]
    pub creation_time: DateTime<Utc>,
    /// `null`: never expires.
    #[serde(with = "crate::time::option")]
    pub expiry: Option<DateTime<Utc>>,
}

/// The user name for `docker login` and the generated slots, password1
/// before password2. Also the answer of
/// `POST /api/v1/tokens/{name}/credentials` (the slots just generated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    pub username: String,
    pub passwords: Vec<CredentialPassword>,
}

impl Credentials {
    pub fn password(&self, slot: PasswordSlot) -> Option<&CredentialPassword> {
        self.passwords.iter().find(|password| password.name == slot)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub name: String,
    #[serde(with = "crate::time")]
    pub creation_date: DateTime<Utc>,
    pub status: TokenStatus,
    pub scope_map: String,
    /// `null`: never used.
    #[serde(with = "crate::time::option")]
    pub last_used: Option<DateTime<Utc>>,
    pub credentials: Credentials,
}

/// One page of `GET /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPage {
    pub items: Vec<Token>,
    /// The `after` of the next page; `null` on the last one.
    pub next: Option<String>,
}

/// The order of `GET /api/v1/tokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenSort {
    /// A→Z.
    #[default]
    #[serde(rename = "name")]
    Name,
    /// Z→A.
    #[serde(rename = "-name")]
    NameDescending,
}

/// The query of `GET /api/v1/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TokenListQuery {
    /// A name prefix, compared without case.
    #[serde(default)]
    pub search: String,
    /// 1 to 1000; default 100.
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// `name` (default) or `-name`.
    pub sort: Option<TokenSort>,
}

/// `POST /api/v1/tokens`: exactly one of `scopeMap` and `repositories`;
/// with `repositories` a scope map `<name>-scope-map` is created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<RepositoryActions>>,
    /// Default `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TokenStatus>,
    /// The expiry of the generated passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<DateTime<Utc>>,
    /// Default true: both passwords generated, their values in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_passwords: Option<bool>,
}

/// `PATCH /api/v1/tokens/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TokenStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_map: Option<String>,
}

/// `POST /api/v1/tokens/{name}/credentials`: which slots to (re)generate;
/// neither flag means both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateCredentials {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password1: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password2: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<DateTime<Utc>>,
}

impl GenerateCredentials {
    /// Exactly `slot`.
    pub fn slot(slot: PasswordSlot, expiry: Option<DateTime<Utc>>) -> Self {
        Self {
            password1: slot == PasswordSlot::Password1,
            password2: slot == PasswordSlot::Password2,
            expiry,
        }
    }

    /// The slots asked for, password1 first (both when neither flag is set).
    pub fn slots(&self) -> Vec<PasswordSlot> {
        match (self.password1, self.password2) {
            (true, false) => vec![PasswordSlot::Password1],
            (false, true) => vec![PasswordSlot::Password2],
            _ => PasswordSlot::ALL.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_generated_password_is_on_the_wire_but_not_in_debug() {
        let password = CredentialPassword {
            name: PasswordSlot::Password2,
            value: Some(Password::new("pct_secret")),
            creation_time: "2026-11-23T16:30:00Z".parse().unwrap(),
            expiry: None,
        };
        assert_eq!(
            serde_json::to_value(&password).unwrap(),
            json!({"name": "password2", "value": "pct_secret",
                   "creationTime": "2026-11-23T16:30:00.000000Z", "expiry": null})
        );
        assert!(!format!("{password:?}").contains("pct_secret"));
        let shown = CredentialPassword { value: None, ..password };
        assert!(!serde_json::to_string(&shown).unwrap().contains("value"));
    }

    #[test]
    fn slots_parse_and_generate_requests_name_them() {
        assert_eq!("password2".parse::<PasswordSlot>(), Ok(PasswordSlot::Password2));
        assert!("password3".parse::<PasswordSlot>().is_err());
        assert_eq!(GenerateCredentials::default().slots(), PasswordSlot::ALL);
        let one = GenerateCredentials::slot(PasswordSlot::Password1, None);
        assert_eq!(one.slots(), [PasswordSlot::Password1]);
        assert_eq!(serde_json::to_value(one).unwrap(), json!({"password1": true}));
        assert_eq!(serde_json::to_value(GenerateCredentials::default()).unwrap(), json!({}));
    }

    #[test]
    fn request_times_keep_whole_seconds() {
        let request = NewToken {
            name: "t".into(),
            expiry: Some("2026-12-23T16:30:00Z".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(request).unwrap(),
            json!({"name": "t", "expiry": "2026-12-23T16:30:00Z"})
        );
    }
}
