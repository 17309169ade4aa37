//! Tokens and scope maps as the portal shows them, shared by the server
//! and the browser. Times arrive formatted by the server, so the page the
//! server renders and the page the browser hydrates are the same. Rules,
//! actions and password slots are the API's wire types
//! (`portcullis_proto`).
//!
//! One value here is secret: [`GeneratedPassword::value`], sent once, in
//! the answer that generated it, and never kept by the page after its
//! dialog closes. Its `Debug` is redacted.

pub use portcullis_proto::{Action, Password, PasswordSlot as Slot, RepositoryActions};
use serde::{Deserialize, Serialize};

pub use crate::model::LoginServer;

/// The five actions a rule can grant (SPEC §1), in the order the cloud
/// registry lists them.
pub const ACTIONS: [Action; 5] = Action::LISTED;

/// What a user reads of each action in the editor.
pub fn action_hint(action: Action) -> &'static str {
    match action {
        Action::ContentDelete => "delete images",
        Action::ContentRead => "pull",
        Action::ContentWrite => "push",
        Action::MetadataRead => "list tags",
        Action::MetadataWrite => "untag, lock",
    }
}

/// Tokens per page of the token list.
pub const PAGE_SIZE: u32 = 25;

/// A moment, as the page shows it and as a `<time datetime>` carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// RFC 3339, UTC.
    pub iso: String,
    /// `2026-11-23 16:30 UTC`.
    pub display: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeMap {
    pub name: String,
    /// System-defined: read-only, applies to every repository.
    pub system: bool,
    pub description: String,
    pub created: Timestamp,
    pub repositories: Vec<RepositoryActions>,
    pub token_count: i64,
}

/// A scope map to create together with a token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewScopeMap {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub repositories: Vec<RepositoryActions>,
}

/// One of a token's two password slots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordSlot {
    pub name: Slot,
    /// `None`: not generated.
    pub created: Option<Timestamp>,
    /// `None`: never expires (or not generated).
    pub expiry: Option<Timestamp>,
    pub expired: bool,
    /// Expires within two weeks: rotate it before it breaks a pipeline.
    pub expires_soon: bool,
}

impl PasswordSlot {
    pub fn generated(&self) -> bool {
        self.created.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub name: String,
    pub enabled: bool,
    pub scope_map: String,
    pub created: Timestamp,
    pub last_used: Option<Timestamp>,
    /// Always two: password1, password2.
    pub passwords: Vec<PasswordSlot>,
}

/// One page of the token list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    pub items: Vec<Token>,
    /// Cursor of the next page (the last name of this one).
    pub next: Option<String>,
    /// Tokens in the registry (all of them, not only the search's).
    pub total: i64,
}

/// A token with what its page needs besides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDetail {
    pub token: Token,
    /// Where `docker login` goes.
    pub login: LoginServer,
    pub rate_limits: RateLimits,
}

/// How many operations a minute the token may make, and when it recently
/// went over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    /// `None`: no limit.
    pub reads_per_minute: Option<u32>,
    pub writes_per_minute: Option<u32>,
    /// Refusals in the last day, newest first (the audit log keeps one a
    /// minute per kind; the ones between are only counted in the log).
    pub refusals: Vec<RateRefusal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRefusal {
    pub at: Timestamp,
    /// "more than 10000 reads a minute".
    pub reason: String,
}

impl RateLimits {
    /// "10,000 reads and 2,000 writes a minute", or what is unlimited.
    pub fn summary(&self) -> String {
        fn limit(per_minute: Option<u32>, kind: &str) -> String {
            match per_minute {
                Some(n) => format!("{} {kind}", thousands(n)),
                None => format!("unlimited {kind}"),
            }
        }
        format!(
            "{} and {} a minute",
            limit(self.reads_per_minute, "reads"),
            limit(self.writes_per_minute, "writes")
        )
    }
}

fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A freshly generated password: shown once, never retrievable again.
/// `value` is the one secret here; its `Debug` is redacted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedPassword {
    pub token: String,
    pub slot: Slot,
    pub value: Password,
    pub expiry: Option<Timestamp>,
    pub login: LoginServer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_read_as_a_sentence() {
        let limits =
            RateLimits { reads_per_minute: Some(10_000), writes_per_minute: Some(600), refusals: Vec::new() };
        assert_eq!(limits.summary(), "10,000 reads and 600 writes a minute");
        let limits =
            RateLimits { reads_per_minute: None, writes_per_minute: Some(1_234_567), refusals: Vec::new() };
        assert_eq!(limits.summary(), "unlimited reads and 1,234,567 writes a minute");
    }

    fn generated() -> GeneratedPassword {
        GeneratedPassword {
            token: "tobi-nginx-reader".into(),
            slot: Slot::Password1,
            value: Password::new("pct_secret"),
            expiry: None,
            login: LoginServer { host: "registry.example:5000".into(), plain_http: true },
        }
    }

    #[test]
    fn debug_hides_the_password() {
        assert!(!format!("{:?}", generated()).contains("pct_secret"));
    }
}
