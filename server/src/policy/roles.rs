//! The second access model (SPEC §1 "Identities and role assignments",
//! seed 004): built-in roles, the registry's role-assignment permissions
//! mode, and what an identity's role assignments allow on a repository.
//! Pure like the rest of `policy`: the caller loads an identity's own and
//! its groups' assignments and the mode; [`IdentityAccess`] answers.
//!
//! The two modes, as the source defines them:
//! - `rbac`: registry-wide roles only. The legacy data-plane roles (AcrPull,
//!   AcrPush, AcrDelete) and Owner, Contributor and Reader carry their
//!   registry-wide data-plane access; an ABAC-enabled role acts
//!   registry-wide; a condition cannot be set, and an assignment that has
//!   one (made in the other mode) is kept but not honoured: it grants
//!   nothing until the mode returns (closed, so switching modes never
//!   widens a repository-scoped grant to the whole registry).
//! - `rbac-abac`: the legacy roles are not honoured and Owner, Contributor
//!   and Reader grant control-plane access only; the ABAC-enabled
//!   repository roles grant their actions where their condition holds
//!   (everywhere without one).

use std::{fmt, str::FromStr, sync::Arc};

use crate::domain::RepositoryName;

use super::{
    condition::{Condition, ConditionIndex},
    Action, ActionSet,
};

/// The registry's role-assignment permissions mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleAssignmentMode {
    /// "RBAC Registry Permissions".
    Rbac,
    /// "RBAC Registry + ABAC Repository Permissions".
    RbacAbac,
}

impl RoleAssignmentMode {
    pub const ALL: [RoleAssignmentMode; 2] = [Self::Rbac, Self::RbacAbac];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rbac => "rbac",
            Self::RbacAbac => "rbac-abac",
        }
    }
}

impl fmt::Display for RoleAssignmentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is neither `rbac` nor `rbac-abac`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role assignment mode {0:?}: expected rbac or rbac-abac")]
pub struct UnknownMode(pub String);

impl FromStr for RoleAssignmentMode {
    type Err = UnknownMode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == text).ok_or_else(|| UnknownMode(text.to_owned()))
    }
}

/// A part of the registry's administration (the control plane).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlArea {
    /// Registry settings (the permissions mode), tokens and scope maps.
    Configuration,
    /// Users, groups and service principals.
    Identities,
    /// Role assignments.
    RoleAssignments,
    /// The audit log (read only for everyone).
    Audit,
}

impl ControlArea {
    pub const ALL: [ControlArea; 4] =
        [Self::Configuration, Self::Identities, Self::RoleAssignments, Self::Audit];

    /// The area in a sentence ("changing {} needs ...").
    pub fn description(self) -> &'static str {
        match self {
            Self::Configuration => "the registry's settings, tokens and scope maps",
            Self::Identities => "users, groups and service principals",
            Self::RoleAssignments => "role assignments",
            Self::Audit => "the audit log",
        }
    }

    /// A built-in role that gives `access` to the area, for messages.
    pub fn example_role(self, access: ControlAccess) -> Role {
        match (self, access) {
            (Self::Configuration, ControlAccess::Write) => Role::ConfigurationAdministrator,
            (Self::Configuration, _) => Role::ConfigurationReader,
            (Self::Identities, ControlAccess::Write) => Role::Contributor,
            (Self::RoleAssignments, ControlAccess::Write) => Role::RoleBasedAccessControlAdministrator,
            (_, _) => Role::Reader,
        }
    }

    /// The audit log's name for a refused use of the area.
    pub fn audit_action(self, access: ControlAccess) -> &'static str {
        match (self, access) {
            (Self::Configuration, ControlAccess::Write) => "configuration.write",
            (Self::Configuration, _) => "configuration.read",
            (Self::Identities, ControlAccess::Write) => "identities.write",
            (Self::Identities, _) => "identities.read",
            (Self::RoleAssignments, ControlAccess::Write) => "role-assignments.write",
            (Self::RoleAssignments, _) => "role-assignments.read",
            (Self::Audit, _) => "audit.read",
        }
    }
}

/// How far a role reaches into a [`ControlArea`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControlAccess {
    None,
    Read,
    Write,
}

/// The built-in roles, with the source's names and meanings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Contributor,
    Reader,
    ConfigurationAdministrator,
    ConfigurationReader,
    RoleBasedAccessControlAdministrator,
    AcrPull,
    AcrPush,
    AcrDelete,
    RepositoryReader,
    RepositoryWriter,
    RepositoryContributor,
    RepositoryCatalogLister,
}

/// The roles of the first administrator (and of the administrators of a
/// registry upgraded from before identities): Owner for the control plane,
/// and an unconditioned Repository Contributor and the Catalog Lister so
/// that pushing, pulling and listing work in either mode.
pub const ADMINISTRATOR_ROLES: [Role; 3] =
    [Role::Owner, Role::RepositoryContributor, Role::RepositoryCatalogLister];

const READ: ActionSet = ActionSet::of(&[Action::ContentRead, Action::MetadataRead]);
const WRITE: ActionSet = READ.union(ActionSet::of(&[Action::ContentWrite, Action::MetadataWrite]));

impl Role {
    pub const ALL: [Role; 13] = [
        Self::Owner,
        Self::Contributor,
        Self::Reader,
        Self::ConfigurationAdministrator,
        Self::ConfigurationReader,
        Self::RoleBasedAccessControlAdministrator,
        Self::AcrPull,
        Self::AcrPush,
        Self::AcrDelete,
        Self::RepositoryReader,
        Self::RepositoryWriter,
        Self::RepositoryContributor,
        Self::RepositoryCatalogLister,
    ];

    /// The role's name as users type it (`--role "..."`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Contributor => "Contributor",
            Self::Reader => "Reader",
            Self::ConfigurationAdministrator => {
                "Container Registry Contributor and Data Access Configuration Administrator"
            }
            Self::ConfigurationReader => {
                "Container Registry Configuration Reader and Data Access Configuration Reader"
            }
            Self::RoleBasedAccessControlAdministrator => "Role Based Access Control Administrator",
            Self::AcrPull => "AcrPull",
            Self::AcrPush => "AcrPush",
            Self::AcrDelete => "AcrDelete",
            Self::RepositoryReader => "Container Registry Repository Reader",
            Self::RepositoryWriter => "Container Registry Repository Writer",
            Self::RepositoryContributor => "Container Registry Repository Contributor",
            Self::RepositoryCatalogLister => "Container Registry Repository Catalog Lister",
        }
    }

    /// What the role is for, in one sentence.
    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => "Everything, including role assignments and registry settings.",
            Self::Contributor => "Everything except role assignments.",
            Self::Reader => "Sees everything in the API and the portal and changes nothing.",
            Self::ConfigurationAdministrator => {
                "Registry settings, tokens and scope maps; no repository content, no role assignments."
            }
            Self::ConfigurationReader => "Reads registry settings, tokens and scope maps.",
            Self::RoleBasedAccessControlAdministrator => "Manages role assignments only.",
            Self::AcrPull => "Pull (legacy; not honoured in rbac-abac mode).",
            Self::AcrPush => "Pull and push (legacy; not honoured in rbac-abac mode).",
            Self::AcrDelete => "Delete (legacy; not honoured in rbac-abac mode).",
            Self::RepositoryReader => "Reads content and metadata, optionally in the repositories a condition names.",
            Self::RepositoryWriter => {
                "Reads and writes content and metadata, optionally in the repositories a condition names."
            }
            Self::RepositoryContributor => {
                "Reads, writes and deletes content and metadata, optionally in the repositories a condition names."
            }
            Self::RepositoryCatalogLister => "Lists every repository of the registry (never takes a condition).",
        }
    }

    /// The role called `name`, compared without case.
    pub fn from_name(name: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|role| role.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether an assignment of this role may carry a repository condition
    /// (in `rbac-abac` mode).
    pub fn takes_condition(self) -> bool {
        matches!(self, Self::RepositoryReader | Self::RepositoryWriter | Self::RepositoryContributor)
    }

    /// The data-plane actions the role grants in `mode`, before any
    /// condition.
    pub fn data_actions(self, mode: RoleAssignmentMode) -> ActionSet {
        use RoleAssignmentMode::*;
        match (self, mode) {
            (Self::RepositoryReader, _) => READ,
            (Self::RepositoryWriter, _) => WRITE,
            (Self::RepositoryContributor, _) => ActionSet::ALL,
            (Self::Owner | Self::Contributor, Rbac) => ActionSet::ALL,
            (Self::Reader | Self::AcrPull, Rbac) => READ,
            (Self::AcrPush, Rbac) => WRITE,
            (Self::AcrDelete, Rbac) => Action::ContentDelete.into(),
            _ => ActionSet::EMPTY,
        }
    }

    /// Whether the role lists every repository in `mode` (without it, an
    /// identity's lists show the repositories it holds metadata/read on).
    pub fn lists_every_repository(self, mode: RoleAssignmentMode) -> bool {
        match self {
            Self::RepositoryCatalogLister => true,
            Self::Owner | Self::Contributor | Self::Reader | Self::AcrPull | Self::AcrPush => {
                mode == RoleAssignmentMode::Rbac
            }
            _ => false,
        }
    }

    /// How far the role reaches into `area` of the control plane (the same
    /// in both modes).
    pub fn control(self, area: ControlArea) -> ControlAccess {
        use ControlAccess::*;
        use ControlArea::*;
        match (self, area) {
            (Self::Owner, _) => Write,
            (Self::Contributor, RoleAssignments | Audit) => Read,
            (Self::Contributor, Configuration | Identities) => Write,
            (Self::Reader, _) => Read,
            (Self::ConfigurationAdministrator, Configuration) => Write,
            (Self::ConfigurationAdministrator | Self::ConfigurationReader, Audit) => Read,
            (Self::ConfigurationReader, Configuration) => Read,
            (Self::RoleBasedAccessControlAdministrator, RoleAssignments) => Write,
            (Self::RoleBasedAccessControlAdministrator, Identities) => Read,
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One role assignment as the decision needs it: the role and its
/// condition, if any (already parsed: conditions are checked when they are
/// stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleAssignment {
    pub role: Role,
    pub condition: Option<Arc<Condition>>,
}

impl RoleAssignment {
    pub fn new(role: Role, condition: Option<Condition>) -> Self {
        Self { role, condition: condition.map(Arc::new) }
    }

    /// Whether `mode` honours the assignment: a condition only counts in
    /// `rbac-abac` mode, and only on a role that takes one.
    pub fn is_honoured(&self, mode: RoleAssignmentMode) -> bool {
        self.condition.is_none() || (mode == RoleAssignmentMode::RbacAbac && self.role.takes_condition())
    }

    /// Whether the assignment gives `action` on `repository` in `mode`, or
    /// why not; `None` when its role never includes the action (in either
    /// mode), so that it has nothing to say about it.
    fn gives(
        &self,
        mode: RoleAssignmentMode,
        action: Action,
        repository: &RepositoryName,
    ) -> Option<Result<(), NotGivenBecause>> {
        let in_some_mode =
            RoleAssignmentMode::ALL.into_iter().any(|m| self.role.data_actions(m).contains(action));
        if !in_some_mode {
            return None;
        }
        Some(if !self.is_honoured(mode) {
            Err(NotGivenBecause::ConditionNotHonoured)
        } else if !self.role.data_actions(mode).contains(action) {
            Err(NotGivenBecause::RoleInactiveInMode)
        } else if self.condition.as_ref().is_some_and(|condition| !condition.allows(action, repository)) {
            Err(NotGivenBecause::ConditionFalse)
        } else {
            Ok(())
        })
    }

    /// The actions the assignment grants on `repository` in `mode`.
    pub fn actions_on(&self, mode: RoleAssignmentMode, repository: &RepositoryName) -> ActionSet {
        if !self.is_honoured(mode) {
            return ActionSet::EMPTY;
        }
        let actions = self.role.data_actions(mode);
        match &self.condition {
            None => actions,
            Some(condition) => {
                actions.iter().filter(|action| condition.allows(*action, repository)).collect()
            }
        }
    }
}

/// Why an assignment whose role includes an action does not give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotGivenBecause {
    /// The role gives this action only in the other mode (AcrPull, AcrPush,
    /// AcrDelete, and the data plane of Owner, Contributor and Reader, are
    /// not honoured in `rbac-abac`).
    RoleInactiveInMode,
    /// The assignment has a condition, which the mode does not honour
    /// (`rbac`), or which its role cannot take.
    ConditionNotHonoured,
    /// Its condition does not hold for this repository and action.
    ConditionFalse,
}

impl fmt::Display for NotGivenBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RoleInactiveInMode => "the role gives no repository access in this permissions mode",
            Self::ConditionNotHonoured => "its condition is not honoured in this permissions mode",
            Self::ConditionFalse => "its condition does not hold for this repository",
        })
    }
}

/// One action of a "check access" answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionCheck {
    pub action: Action,
    /// The assignments that give the action (positions in the list).
    pub granted_by: Vec<usize>,
    /// The assignments whose role includes the action but that do not give
    /// it here, and why.
    pub not_given_by: Vec<(usize, NotGivenBecause)>,
}

/// What an identity holds now: the registry's mode and the role
/// assignments of the identity and of its groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityAccess {
    mode: RoleAssignmentMode,
    assignments: Vec<RoleAssignment>,
    /// The honoured assignments' data-plane actions under their conditions,
    /// compiled once: a decision walks the name down the index instead of
    /// evaluating every condition (issue 11).
    index: ConditionIndex,
    lists_every_repository: bool,
}

impl IdentityAccess {
    pub fn new(mode: RoleAssignmentMode, assignments: Vec<RoleAssignment>) -> Self {
        let honoured = || assignments.iter().filter(|assignment| assignment.is_honoured(mode));
        let index = ConditionIndex::compile(
            honoured()
                .map(|assignment| (assignment.role.data_actions(mode), assignment.condition.as_deref())),
        );
        let lists_every_repository =
            honoured().any(|assignment| assignment.role.lists_every_repository(mode));
        Self { mode, assignments, index, lists_every_repository }
    }

    pub fn mode(&self) -> RoleAssignmentMode {
        self.mode
    }

    /// The union of what each assignment grants on `repository`
    /// ([`RoleAssignment::actions_on`]), read from the index.
    pub fn actions_on(&self, repository: &RepositoryName) -> ActionSet {
        self.index.actions_for(repository)
    }

    /// Whether some honoured assignment lists every repository.
    pub fn lists_every_repository(&self) -> bool {
        self.lists_every_repository
    }

    /// "Check access": for each action, the assignments that give it on
    /// `repository`, and those whose role includes it (in either mode) but
    /// that do not give it here, with the reason. Assignments are named by
    /// their position in the list given to [`IdentityAccess::new`]; the
    /// caller knows which assignment and group each one is.
    pub fn check(&self, repository: &RepositoryName) -> Vec<ActionCheck> {
        Action::ALL
            .into_iter()
            .map(|action| {
                let mut check = ActionCheck { action, granted_by: Vec::new(), not_given_by: Vec::new() };
                for (index, assignment) in self.assignments.iter().enumerate() {
                    match assignment.gives(self.mode, action, repository) {
                        Some(Ok(())) => check.granted_by.push(index),
                        Some(Err(reason)) => check.not_given_by.push((index, reason)),
                        None => {}
                    }
                }
                check
            })
            .collect()
    }

    /// The widest access any assignment gives to `area`.
    pub fn control(&self, area: ControlArea) -> ControlAccess {
        self.assignments
            .iter()
            .map(|assignment| assignment.role.control(area))
            .max()
            .unwrap_or(ControlAccess::None)
    }
}

#[cfg(test)]
mod tests;
