//! Types shared by the server and the browser. Nothing here is secret
//! except `Password` (the API's wire type), whose `Debug` is redacted and
//! which is only ever sent from the browser to the server.

pub use portcullis_proto::{Password, RepositoryActions as Grant};
use serde::{Deserialize, Serialize};

/// Who is signed in to the portal: a user (what they may see and change
/// is their [`Capabilities`], decided afresh on every request), or a
/// customer who signed in with a token's name and one of its passwords.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub name: String,
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

/// A signed-in user's own view (the "My access" page): their roles, what
/// they can reach with them, and how to log in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyAccess {
    pub name: String,
    pub login_server: String,
    pub roles: Vec<MyRole>,
    /// Repositories the user may list, with the actions they hold there.
    pub repositories: Vec<MyRepository>,
    /// The list stopped at the limit: there are more.
    pub truncated: bool,
}

/// One role assignment that applies to the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRole {
    pub role: String,
    /// How it reaches the user: `None` assigned to them, else the group's
    /// name or "Everyone (anonymous)".
    pub via: Option<String>,
    /// The repository condition, as the CLI prints it.
    pub condition: Option<String>,
    /// Whether the registry's mode honours it now.
    pub honoured: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRepository {
    pub name: String,
    pub actions: Vec<portcullis_proto::Action>,
    pub tags: Vec<String>,
}

impl MyRepository {
    pub fn can(&self, action: portcullis_proto::Action) -> bool {
        self.actions.contains(&action)
    }
}

/// A part of the registry's administration, as the server's control-plane
/// roles divide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Area {
    /// Settings, tokens, scope maps (and the repositories' administration).
    Configuration,
    /// Users, groups, service principals.
    Identities,
    RoleAssignments,
    Audit,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Configuration, Area::Identities, Area::RoleAssignments, Area::Audit];
}

/// How far the signed-in user reaches into an [`Area`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reach {
    #[default]
    None,
    Read,
    Write,
}

/// What the signed-in user may see and change in the portal, as the
/// server's access decision gives it now. Pages hide what the user may not
/// do; the server functions refuse it whatever the page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub configuration: Reach,
    pub identities: Reach,
    pub role_assignments: Reach,
    pub audit: Reach,
}

impl Capabilities {
    pub fn reach(&self, area: Area) -> Reach {
        match area {
            Area::Configuration => self.configuration,
            Area::Identities => self.identities,
            Area::RoleAssignments => self.role_assignments,
            Area::Audit => self.audit,
        }
    }

    pub fn with(mut self, area: Area, reach: Reach) -> Self {
        let slot = match area {
            Area::Configuration => &mut self.configuration,
            Area::Identities => &mut self.identities,
            Area::RoleAssignments => &mut self.role_assignments,
            Area::Audit => &mut self.audit,
        };
        *slot = reach;
        self
    }

    pub fn can_read(&self, area: Area) -> bool {
        self.reach(area) >= Reach::Read
    }

    pub fn can_write(&self, area: Area) -> bool {
        self.reach(area) == Reach::Write
    }

    /// Reads some part of the administration: the administrator's pages
    /// are for them; everyone else has "My access".
    pub fn administers(&self) -> bool {
        Area::ALL.into_iter().any(|area| self.can_read(area))
    }
}

/// What every page needs to know about the visitor's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: Option<SignedInUser>,
    /// Empty for a token holder and a signed-out visitor.
    #[serde(default)]
    pub can: Capabilities,
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
    fn capabilities_read_what_they_write_and_administer_any_read() {
        let none = Capabilities::default();
        assert!(!none.administers());
        let reader = Area::ALL.into_iter().fold(none, |can, area| can.with(area, Reach::Read));
        assert!(reader.administers());
        assert!(Area::ALL.into_iter().all(|area| reader.can_read(area) && !reader.can_write(area)));
        let identities = none.with(Area::Identities, Reach::Write);
        assert!(identities.can_read(Area::Identities) && identities.can_write(Area::Identities));
        assert!(!identities.can_read(Area::Configuration));
        assert!(identities.administers());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2hunter2");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(p.expose(), "hunter2hunter2");
    }
}
