//! The port through which the repositories server functions reach the
//! registry (server side only). Implemented by the server crate
//! (`portal::repositories`) over the same services as the JSON API;
//! the server functions check that an administrator is signed in and pass
//! their name as the actor recorded in the audit log.

use std::sync::Arc;

use crate::{
    error::PortalError,
    model::SignedInUser,
    repositories::model::{
        DeletedRepository, LockKind, LockTarget, Locks, RepositoryDetail, RepositorySummary,
    },
};

#[async_trait::async_trait]
pub trait RepositoriesBackend: Send + Sync + 'static {
    /// Every repository, unlisted ones (listEnabled false) included, by name.
    async fn list(&self) -> Result<Vec<RepositorySummary>, PortalError>;

    /// The repository with its tags and manifests, and what `viewer` may
    /// change there.
    async fn show(&self, viewer: &SignedInUser, name: &str) -> Result<RepositoryDetail, PortalError>;

    /// Sets one lock attribute; the target's attributes afterwards.
    async fn set_lock(
        &self,
        actor: &str,
        repository: &str,
        target: LockTarget,
        lock: LockKind,
        enabled: bool,
    ) -> Result<Locks, PortalError>;

    /// Removes a tag; the manifest stays.
    async fn untag(&self, actor: &str, repository: &str, tag: &str) -> Result<(), PortalError>;

    /// Deletes a manifest with every tag pointing at it.
    async fn delete_manifest(&self, actor: &str, repository: &str, digest: &str) -> Result<(), PortalError>;

    /// Deletes the repository with everything in it.
    async fn delete_repository(
        &self,
        actor: &str,
        repository: &str,
    ) -> Result<DeletedRepository, PortalError>;
}

/// Context handle to the backend.
#[derive(Clone)]
pub struct Repositories(pub Arc<dyn RepositoriesBackend>);
