//! Server functions for repositories: thin adapters from the browser to
//! [`super::backend`]. Every one needs a signed-in user whose roles read the
//! configuration (anyone else, a token holder included, gets 403), and each
//! change the policy's decision on that repository; reads are GET, and
//! every change is a POST carrying the session's CSRF token, which the
//! server's CSRF layer checks before the function runs.

use leptos::{prelude::*, server_fn::codec::GetUrl};

use crate::{
    error::PortalError,
    repositories::model::{
        DeletedRepository, LockKind, LockScope, Locks, RepositoryDetail, RepositorySummary,
    },
};

#[cfg(feature = "ssr")]
mod ssr {
    pub(super) use crate::api::ssr::fail;
    use crate::{
        api::ssr::{context, require_reach, session},
        error::PortalError,
        model::{Area, Reach, SignedInUser},
        repositories::backend::Repositories,
    };

    /// The backend and the signed-in user (the actor of changes), whose
    /// roles read the configuration: the repositories' administration is
    /// theirs to see. Each change is the policy's decision on that
    /// repository, in the backend.
    pub async fn admin() -> Result<(Repositories, SignedInUser), PortalError> {
        let session = session().await?;
        let user = require_reach(&session, Area::Configuration, Reach::Read).await?;
        Ok((context::<Repositories>()?, user))
    }
}

#[server(prefix = "/portal", endpoint = "repositories", input = GetUrl)]
pub async fn list_repositories() -> Result<Vec<RepositorySummary>, PortalError> {
    let (backend, _) = ssr::admin().await?;
    backend.0.list().await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "repository", input = GetUrl)]
pub async fn get_repository(name: String) -> Result<RepositoryDetail, PortalError> {
    let (backend, user) = ssr::admin().await?;
    backend.0.show(&user, &name).await.map_err(ssr::fail)
}

/// Sets one lock attribute of the repository (`reference` empty), one of
/// its tags or one of its manifests (`reference` the tag or digest).
#[server(prefix = "/portal", endpoint = "repository_lock")]
pub async fn set_repository_lock(
    csrf_token: String,
    repository: String,
    scope: LockScope,
    reference: String,
    lock: LockKind,
    enabled: bool,
) -> Result<Locks, PortalError> {
    use crate::repositories::model::LockTarget;
    let _checked_by_the_csrf_layer = csrf_token;
    let (backend, user) = ssr::admin().await?;
    let target = match scope {
        LockScope::Repository => LockTarget::Repository,
        LockScope::Tag => LockTarget::Tag(reference),
        LockScope::Manifest => LockTarget::Manifest(reference),
    };
    backend.0.set_lock(&user.name, &repository, target, lock, enabled).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "repository_untag")]
pub async fn untag(csrf_token: String, repository: String, tag: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (backend, user) = ssr::admin().await?;
    backend.0.untag(&user.name, &repository, &tag).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "repository_delete_manifest")]
pub async fn delete_manifest(
    csrf_token: String,
    repository: String,
    digest: String,
) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (backend, user) = ssr::admin().await?;
    backend.0.delete_manifest(&user.name, &repository, &digest).await.map_err(ssr::fail)
}

/// Deletes a repository; `confirmation` must repeat its name (what the
/// person typed into the confirmation dialog), so a stray request cannot
/// delete the wrong one.
#[server(prefix = "/portal", endpoint = "repository_delete")]
pub async fn delete_repository(
    csrf_token: String,
    repository: String,
    confirmation: String,
) -> Result<DeletedRepository, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (backend, user) = ssr::admin().await?;
    if confirmation.trim() != repository {
        return Err(ssr::fail(PortalError::Invalid(format!(
            "Type the repository name {repository} exactly to confirm its deletion."
        ))));
    }
    backend.0.delete_repository(&user.name, &repository).await.map_err(ssr::fail)
}
