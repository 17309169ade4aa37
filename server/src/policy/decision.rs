//! The access decision: given who is calling, what their credential was
//! issued for, and what they want to do, allow it, ask for a token with a
//! wider scope, or deny it with the reason. The one entry point of every
//! surface: the data plane, the token endpoint, the management API and the
//! portal. Pure: the caller loads the principal (the policy as it is now)
//! and records the outcome.

use std::{fmt, sync::Arc};

use crate::domain::RepositoryName;

use super::{
    roles::{ControlAccess, ControlArea, IdentityAccess},
    Action, ActionSet, CompiledScope,
};

/// Who is calling, as the policy holds them now.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A repository token: what its scope map allows now, nothing else.
    Token(Arc<CompiledScope>),
    /// A user, service principal or the anonymous caller: what its own and
    /// its groups' role assignments allow now, in the registry's mode.
    Identity(Arc<IdentityAccess>),
    /// A caller with credentials who also holds what the assignments of
    /// "Everyone (anonymous)" give on repositories, so that a repository
    /// open to everyone stays open to a client that has logged in. Only
    /// repository access: control-plane reach is the caller's own.
    WithEveryone(Box<Principal>, Arc<IdentityAccess>),
}

impl Principal {
    /// The widest access the principal's roles give to `area`.
    pub fn control(&self, area: ControlArea) -> ControlAccess {
        match self {
            Principal::Token(_) => ControlAccess::None,
            Principal::Identity(identity) => identity.control(area),
            Principal::WithEveryone(own, _) => own.control(area),
        }
    }
}

/// What a credential presented with the request was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grants {
    /// Basic credentials or a portal session: the policy alone decides.
    Policy,
    /// A bearer token from the token endpoint, issued for these actions on
    /// the resource in question (it never widens what the policy allows).
    Issued(ActionSet),
}

/// What a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation<'a> {
    /// Only needs a valid credential (`GET /v2/`, reading one's own token).
    SignedIn,
    /// List repositories (`/v2/_catalog`, the API's and portal's lists):
    /// every principal may ask; the list shows what [`may_list`] allows.
    ListRepositories,
    /// Read (`ControlAccess::Read`) or change (`Write`) a part of the
    /// registry's administration: settings, tokens and scope maps;
    /// identities; role assignments; the audit log.
    Control(ControlArea, ControlAccess),
    /// Something on one repository.
    Repository(&'a RepositoryName, RepositoryOperation),
}

/// The operations on a repository, whatever surface they come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RepositoryOperation {
    /// Read manifests and blobs (pull); the source of a blob mount.
    Pull,
    /// Upload blobs, push manifests and tags.
    Push,
    /// List tags, referrers and manifests; read attributes.
    ReadMetadata,
    /// Change attributes (locks).
    WriteMetadata,
    /// Remove a tag; the manifest stays.
    Untag,
    /// Delete a manifest by digest, with every tag on it.
    DeleteManifest,
    /// Delete a blob from the repository.
    DeleteBlob,
    /// Delete the repository with everything in it.
    DeleteRepository,
}

impl RepositoryOperation {
    pub const ALL: [RepositoryOperation; 8] = [
        Self::Pull,
        Self::Push,
        Self::ReadMetadata,
        Self::WriteMetadata,
        Self::Untag,
        Self::DeleteManifest,
        Self::DeleteBlob,
        Self::DeleteRepository,
    ];

    /// The one table: the action each operation needs, and the action a
    /// refusal names.
    pub fn action(self) -> Action {
        match self {
            Self::Pull => Action::ContentRead,
            Self::Push => Action::ContentWrite,
            Self::ReadMetadata => Action::MetadataRead,
            Self::WriteMetadata => Action::MetadataWrite,
            Self::Untag | Self::DeleteManifest | Self::DeleteBlob | Self::DeleteRepository => {
                Action::ContentDelete
            }
        }
    }

    /// The actions that allow an operation: holding any of them suffices.
    /// Its [`Self::action`], and for removing a tag also metadata/write
    /// (the management surfaces untag there; `/v2` clients ask for the
    /// `delete` scope).
    pub fn allowed_by(self) -> ActionSet {
        match self {
            Self::Untag => ActionSet::of(&[Action::MetadataWrite, Action::ContentDelete]),
            other => other.action().into(),
        }
    }

    /// What a challenge tells a client to ask the token endpoint for: a
    /// push also reads (Docker asks for `pull,push`), and an untag asks for
    /// both actions that allow it (`delete,metadata_write`), so a holder of
    /// either gets a token that works.
    pub fn scope_to_request(self) -> ActionSet {
        match self {
            Self::Push => ActionSet::of(&[Action::ContentRead, Action::ContentWrite]),
            Self::Untag => self.allowed_by(),
            other => other.action().into(),
        }
    }
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The policy allows it, but the bearer token presented was not issued
    /// for it: the client should fetch a token with the wider scope.
    InsufficientScope,
    Deny(Denial),
}

/// Why a request was denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The principal holds none of the actions the operation needs.
    NotGranted { action: Action, repository: RepositoryName },
    /// No role of the caller reaches this part of the administration.
    ControlNotGranted { area: ControlArea, access: ControlAccess },
}

impl Denial {
    /// The action refused, for the audit log.
    pub fn action(&self) -> &'static str {
        match self {
            Denial::NotGranted { action, .. } => action.as_str(),
            Denial::ControlNotGranted { area, access } => area.audit_action(*access),
        }
    }

    pub fn repository(&self) -> Option<&RepositoryName> {
        match self {
            Denial::NotGranted { repository, .. } => Some(repository),
            Denial::ControlNotGranted { .. } => None,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::NotGranted { action, repository } => {
                write!(
                    f,
                    "requested access to the resource is denied: {action} on {repository} is not granted"
                )
            }
            Denial::ControlNotGranted { area, access } => write!(
                f,
                "{} {} needs a role that grants it (for example {})",
                match access {
                    ControlAccess::Write => "changing",
                    ControlAccess::Read | ControlAccess::None => "reading",
                },
                area.description(),
                area.example_role(*access),
            ),
        }
    }
}

/// Decides `operation` for `principal` holding `grants`.
pub fn decide(principal: &Principal, grants: Grants, operation: Operation<'_>) -> Decision {
    match operation {
        Operation::SignedIn => Decision::Allow,
        Operation::Control(area, access) => {
            if principal.control(area) >= access {
                Decision::Allow
            } else {
                Decision::Deny(Denial::ControlNotGranted { area, access })
            }
        }
        Operation::ListRepositories => match grants {
            Grants::Issued(issued) if issued.is_empty() => Decision::InsufficientScope,
            _ => Decision::Allow,
        },
        Operation::Repository(repository, operation) => {
            let needed = operation.allowed_by();
            let held = actions_on(principal, repository).intersection(needed);
            let usable = match grants {
                Grants::Policy => held,
                Grants::Issued(issued) => held.intersection(issued),
            };
            if !usable.is_empty() {
                Decision::Allow
            } else if !held.is_empty() {
                Decision::InsufficientScope
            } else {
                Decision::Deny(Denial::NotGranted {
                    action: operation.action(),
                    repository: repository.clone(),
                })
            }
        }
    }
}

/// Every action `principal` holds on `repository` now.
pub fn actions_on(principal: &Principal, repository: &RepositoryName) -> ActionSet {
    match principal {
        Principal::Token(scope) => scope.actions_for(repository),
        Principal::Identity(identity) => identity.actions_on(repository),
        Principal::WithEveryone(own, everyone) => {
            actions_on(own, repository) | everyone.actions_on(repository)
        }
    }
}

/// Whether repository lists (the catalog, the API's and the portal's) may
/// name `repository` to `principal`: with metadata/read on it, so a token
/// never learns a name outside its scope, or for an identity holding a
/// role that lists every repository (Catalog Lister).
pub fn may_list(principal: &Principal, repository: &RepositoryName) -> bool {
    match principal {
        Principal::Identity(identity) if identity.lists_every_repository() => true,
        Principal::WithEveryone(own, everyone) => {
            may_list(own, repository) || may_list(&Principal::Identity(everyone.clone()), repository)
        }
        _ => actions_on(principal, repository).contains(Action::MetadataRead),
    }
}

/// What the token endpoint is asked to issue a bearer token for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource<'a> {
    Repository(&'a RepositoryName),
    /// `registry:catalog`.
    Catalog,
}

/// The actions a new bearer token carries on `resource`: what was asked
/// and the policy allows now, nothing more. Asking to pull also grants
/// metadata/read where the policy holds it (pull-only clients list tags
/// under a pull scope). A token may hold the catalog scope only to read
/// it; the listing is filtered by [`may_list`].
pub fn grant(principal: &Principal, resource: Resource<'_>, requested: ActionSet) -> ActionSet {
    let requested = if requested.contains(Action::ContentRead) {
        requested.with(Action::MetadataRead)
    } else {
        requested
    };
    let allowed = match (resource, principal) {
        (Resource::Repository(repository), _) => actions_on(principal, repository),
        (Resource::Catalog, _) => Action::MetadataRead.into(),
    };
    requested.intersection(allowed)
}
