//! Types shared by the server and the browser. Nothing here is secret
//! except `Password` (the API's wire type), whose `Debug` is redacted and
//! which is only ever sent from the browser to the server.

pub use portcullis_proto::{Password, RepositoryActions as Grant};
use serde::{Deserialize, Serialize};

/// Who is signed in to the portal: an administrator, or a customer who
/// signed in with a token's name and one of its passwords.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub name: String,
    pub is_admin: bool,
    /// For a token holder: the password slot used, re-checked on every
    /// request (a disabled token or an expired or regenerated password
    /// ends the session).
    #[serde(default)]
    pub token: Option<TokenCredential>,
}

impl SignedInUser {
    pub fn is_token(&self) -> bool {
        self.token.is_some()
    }
}

/// Which generation of which password slot a token holder signed in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCredential {
    pub slot: u8,
    pub serial: i64,
}

/// The customer's view of their own token (SPEC §2 item 8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyToken {
    pub name: String,
    pub enabled: bool,
    pub scope_map: String,
    pub login_server: String,
    pub passwords: Vec<MyPassword>,
    /// The scope map's rules: pattern and actions.
    pub grants: Vec<Grant>,
    /// Repositories the token may list (metadata/read), with their tags.
    pub repositories: Vec<ReadableRepository>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyPassword {
    pub name: portcullis_proto::PasswordSlot,
    pub created: String,
    /// `None`: never expires.
    pub expiry: Option<String>,
    /// Expires within two weeks.
    pub expires_soon: bool,
    /// The one this session signed in with.
    pub in_use: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadableRepository {
    pub name: String,
    pub tags: Vec<String>,
    /// Whether the token may pull (content/read) from it.
    pub can_pull: bool,
}

/// What every page needs to know about the visitor's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: Option<SignedInUser>,
    /// Sent back with every state-changing request (see the server's CSRF
    /// layer); not a secret from the session's own page.
    pub csrf_token: String,
}

/// The registry overview page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// `host[:port]` that users give to `docker login`.
    pub login_server: String,
    pub version: String,
    pub counts: Vec<Count>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub value: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2hunter2");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(p.expose(), "hunter2hunter2");
    }
}
