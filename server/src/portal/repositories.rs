//! The portal's repository use-cases, behind
//! `app::repositories::backend::RepositoriesBackend`. Calls the same
//! `RepositoryAdmin` as the JSON API, so the lock rules and the audit log
//! are one implementation. The server functions
//! have checked that an administrator is signed in; the actor passed here is
//! their name. Must not build HTTP responses.

use std::{collections::HashMap, sync::Arc};

use app::{
    error::PortalError,
    model::SignedInUser,
    repositories::{
        backend::RepositoriesBackend,
        model::{
            DeletedRepository, LockKind, LockTarget, Locks, ManifestInfo, RepositoryDetail, RepositoryRights,
            RepositorySummary, TagInfo,
        },
    },
};

use super::{authorize, internal, sentence, subject};
use crate::{
    auth::token::Subject,
    db::repositories::LockTarget as DbLockTarget,
    domain::{Digest, RepositoryName, Tag},
    policy::{self, Decision, Grants, Operation, RepositoryOperation},
    service::{
        access::AccessService,
        registry::RegistryError,
        repositories::{AttributesPatch, RepositoryAdmin},
        tokens::format_time,
    },
};

pub struct RepositoriesPortal {
    access: Arc<AccessService>,
    admin: Arc<RepositoryAdmin>,
    /// `host[:port]` for the pull commands.
    login_server: String,
}

impl RepositoriesPortal {
    pub fn new(access: Arc<AccessService>, admin: Arc<RepositoryAdmin>, login_server: String) -> Self {
        Self { access, admin, login_server }
    }

    /// The signed-in administrator `actor`, once the decision allows
    /// `operation` on `name`.
    async fn authorize(
        &self,
        actor: &str,
        name: &RepositoryName,
        operation: RepositoryOperation,
    ) -> Result<Subject, PortalError> {
        let subject = Subject::User(actor.to_owned());
        authorize(&self.access, subject, Operation::Repository(name, operation)).await
    }
}

impl RepositoriesPortal {
    /// What the policy lets `viewer` change on `name`.
    async fn rights(
        &self,
        viewer: &SignedInUser,
        name: &RepositoryName,
    ) -> Result<RepositoryRights, PortalError> {
        let principal = self
            .access
            .principal(&subject(viewer), None)
            .await
            .map_err(internal)?
            .ok_or(PortalError::NotSignedIn)?;
        let allows = |operation| {
            policy::decide(&principal, Grants::Policy, Operation::Repository(name, operation))
                == Decision::Allow
        };
        Ok(RepositoryRights {
            change_locks: allows(RepositoryOperation::WriteMetadata),
            delete: allows(RepositoryOperation::DeleteManifest),
        })
    }
}

/// The registry's refusal in words for the page: a lock's own message, or
/// what was not found.
fn refusal(error: RegistryError, missing: impl FnOnce() -> String) -> PortalError {
    match error {
        RegistryError::Locked(message) => PortalError::Conflict(sentence(&message)),
        RegistryError::NameUnknown | RegistryError::ManifestUnknown => PortalError::NotFound(missing()),
        other => internal(other),
    }
}

fn repository_name(name: &str) -> Result<RepositoryName, PortalError> {
    // A name the grammar refuses cannot exist: answer like an unknown one.
    name.parse().map_err(|_| PortalError::NotFound(format!("Repository {name} was not found.")))
}

fn repository_missing(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("Repository {name} was not found.")
}

#[async_trait::async_trait]
impl RepositoriesBackend for RepositoriesPortal {
    async fn list(&self) -> Result<Vec<RepositorySummary>, PortalError> {
        let views = self.admin.list_all().await.map_err(internal)?;
        Ok(views
            .into_iter()
            .map(|view| RepositorySummary {
                name: view.name,
                tag_count: view.tag_count,
                manifest_count: view.manifest_count,
                created: format_time(view.created_time),
                last_update: view.last_update_time.map(format_time),
                listed: view.changeable_attributes.list_enabled,
            })
            .collect())
    }

    async fn show(&self, viewer: &SignedInUser, name: &str) -> Result<RepositoryDetail, PortalError> {
        let name = repository_name(name)?;
        let may = self.rights(viewer, &name).await?;
        let admin = &self.admin;
        let missing = || format!("Repository {name} was not found.");
        let view = admin.show(&name).await.map_err(|e| refusal(e, missing))?;
        let tags = admin.tags(&name).await.map_err(|e| refusal(e, missing))?;
        let manifests = admin.manifests(&name, None).await.map_err(|e| refusal(e, missing))?;
        let by_digest: HashMap<&str, _> = manifests.iter().map(|m| (m.digest.as_str(), m)).collect();
        let tags = tags
            .into_iter()
            .map(|tag| {
                let manifest = by_digest.get(tag.digest.as_str());
                TagInfo {
                    total_size: manifest.map(|m| m.total_size),
                    media_type: manifest.map(|m| m.media_type.clone()).unwrap_or_default(),
                    platforms: manifest.map(|m| m.platforms.clone()).unwrap_or_default(),
                    name: tag.name,
                    digest: tag.digest,
                    pushed: format_time(tag.last_update_time),
                    locks: tag.changeable_attributes,
                }
            })
            .collect();
        let manifests = manifests
            .into_iter()
            .map(|m| ManifestInfo {
                total_size: Some(m.total_size),
                platform: m.index_platform,
                platforms: m.platforms,
                digest: m.digest,
                media_type: m.media_type,
                artifact_type: m.artifact_type,
                size: m.size,
                pushed: format_time(m.created_time),
                tags: m.tags,
                locks: m.changeable_attributes,
            })
            .collect();
        Ok(RepositoryDetail {
            name: view.name,
            login_server: self.login_server.clone(),
            created: format_time(view.created_time),
            last_update: view.last_update_time.map(format_time),
            locks: view.changeable_attributes,
            may,
            tags,
            manifests,
        })
    }

    async fn set_lock(
        &self,
        actor: &str,
        repository: &str,
        target: LockTarget,
        lock: LockKind,
        enabled: bool,
    ) -> Result<Locks, PortalError> {
        let name = repository_name(repository)?;
        let admin = &self.admin;
        let actor = self.authorize(actor, &name, RepositoryOperation::WriteMetadata).await?;
        let mut patch = AttributesPatch::default();
        match lock {
            LockKind::Read => patch.read_enabled = Some(enabled),
            LockKind::Write => patch.write_enabled = Some(enabled),
            LockKind::Delete => patch.delete_enabled = Some(enabled),
            LockKind::List => patch.list_enabled = Some(enabled),
        }
        match &target {
            LockTarget::Repository => {
                admin
                    .set_attributes(&actor, &name, DbLockTarget::Repository, patch)
                    .await
                    .map_err(|e| refusal(e, repository_missing(repository)))?;
                let view = admin.show(&name).await.map_err(|e| refusal(e, repository_missing(repository)))?;
                Ok(view.changeable_attributes)
            }
            LockTarget::Tag(tag) => {
                let missing = || format!("Tag {tag} was not found in {name}.");
                let tag: Tag = tag.parse().map_err(|_| PortalError::NotFound(missing()))?;
                admin
                    .set_attributes(&actor, &name, DbLockTarget::Tag(tag.as_str()), patch)
                    .await
                    .map_err(|e| refusal(e, missing))?;
                let view = admin.tag(&name, &tag).await.map_err(|e| refusal(e, missing))?;
                Ok(view.changeable_attributes)
            }
            LockTarget::Manifest(digest) => {
                let missing = || format!("Manifest {digest} was not found in {name}.");
                let digest: Digest = digest.parse().map_err(|_| PortalError::NotFound(missing()))?;
                admin
                    .set_attributes(&actor, &name, DbLockTarget::Manifest(digest.as_str()), patch)
                    .await
                    .map_err(|e| refusal(e, missing))?;
                let mut view =
                    admin.manifests(&name, Some(&digest)).await.map_err(|e| refusal(e, missing))?;
                Ok(view.remove(0).changeable_attributes)
            }
        }
    }

    async fn untag(&self, actor: &str, repository: &str, tag: &str) -> Result<(), PortalError> {
        let name = repository_name(repository)?;
        let missing = || format!("Tag {tag} was not found in {name}.");
        let parsed: Tag = tag.parse().map_err(|_| PortalError::NotFound(missing()))?;
        let actor = self.authorize(actor, &name, RepositoryOperation::Untag).await?;
        self.admin.untag(&actor, &name, &parsed).await.map_err(|e| refusal(e, missing))
    }

    async fn delete_manifest(&self, actor: &str, repository: &str, digest: &str) -> Result<(), PortalError> {
        let name = repository_name(repository)?;
        let missing = || format!("Manifest {digest} was not found in {name}.");
        let parsed: Digest = digest.parse().map_err(|_| PortalError::NotFound(missing()))?;
        let actor = self.authorize(actor, &name, RepositoryOperation::DeleteManifest).await?;
        self.admin.delete_manifest(&actor, &name, &parsed).await.map_err(|e| refusal(e, missing))
    }

    async fn delete_repository(
        &self,
        actor: &str,
        repository: &str,
    ) -> Result<DeletedRepository, PortalError> {
        let name = repository_name(repository)?;
        let actor = self.authorize(actor, &name, RepositoryOperation::DeleteRepository).await?;
        let deleted =
            self.admin.delete(&actor, &name).await.map_err(|e| refusal(e, repository_missing(repository)))?;
        Ok(DeletedRepository {
            manifests_deleted: deleted.manifests_deleted.len(),
            tags_deleted: deleted.tags_deleted.len(),
        })
    }
}
