//! The port through which the identities server functions reach the
//! registry (server side only). Implemented by the server crate
//! (`portal::identities`) over the same `IdentityService` and federation
//! service as the JSON API, so every rule lives there once. Every method
//! takes the signed-in user: the implementation asks the access policy for
//! `Control(Identities, Read)` before a read and `Write` before a change.

use std::sync::Arc;

use crate::{
    error::PortalError,
    identities::model::{
        CreatedServicePrincipal, FederatedCredential, GeneratedSecret, Group, GroupDetail, NewPassword,
        PasswordChoice, ServicePrincipal, ServicePrincipalDetail, User, UserDetail,
    },
    model::SignedInUser,
};

/// A federated credential to create (the API's fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewFederated {
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    pub description: String,
}

#[async_trait::async_trait]
pub trait IdentitiesBackend: Send + Sync + 'static {
    /// Every user, by name.
    async fn users(&self, actor: &SignedInUser) -> Result<Vec<User>, PortalError>;

    /// A user with its groups, and its role assignments when the actor may
    /// read role assignments.
    async fn user(&self, actor: &SignedInUser, name: &str) -> Result<UserDetail, PortalError>;

    /// Creates an enabled user; the answer carries a generated password.
    async fn create_user(
        &self,
        actor: &SignedInUser,
        name: &str,
        display_name: &str,
        password: PasswordChoice,
    ) -> Result<NewPassword, PortalError>;

    async fn set_user_enabled(
        &self,
        actor: &SignedInUser,
        name: &str,
        enabled: bool,
    ) -> Result<User, PortalError>;

    /// An administrator's reset; the answer carries a generated password.
    async fn reset_password(
        &self,
        actor: &SignedInUser,
        name: &str,
        password: PasswordChoice,
    ) -> Result<NewPassword, PortalError>;

    async fn delete_user(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError>;

    /// Every group, by name.
    async fn groups(&self, actor: &SignedInUser) -> Result<Vec<Group>, PortalError>;

    async fn group(&self, actor: &SignedInUser, name: &str) -> Result<GroupDetail, PortalError>;

    async fn create_group(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: &str,
    ) -> Result<Group, PortalError>;

    async fn delete_group(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError>;

    /// Adds (`add`) or removes a user or service principal.
    async fn change_member(
        &self,
        actor: &SignedInUser,
        group: &str,
        member: &str,
        add: bool,
    ) -> Result<Group, PortalError>;

    /// Every service principal, by name.
    async fn service_principals(&self, actor: &SignedInUser) -> Result<Vec<ServicePrincipal>, PortalError>;

    async fn service_principal(
        &self,
        actor: &SignedInUser,
        name: &str,
    ) -> Result<ServicePrincipalDetail, PortalError>;

    /// Creates an enabled service principal, with a first secret (expiring
    /// on `secret_expiry`, a `YYYY-MM-DD` date, or never) when asked.
    async fn create_service_principal(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: &str,
        create_secret: bool,
        secret_expiry: Option<String>,
    ) -> Result<CreatedServicePrincipal, PortalError>;

    async fn set_service_principal_enabled(
        &self,
        actor: &SignedInUser,
        name: &str,
        enabled: bool,
    ) -> Result<ServicePrincipal, PortalError>;

    async fn delete_service_principal(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError>;

    /// Adds a client secret beside the others; `expiry` is a `YYYY-MM-DD`
    /// date (the secret stops working at 00:00 UTC that day).
    async fn generate_secret(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: &str,
        expiry: Option<String>,
    ) -> Result<GeneratedSecret, PortalError>;

    async fn delete_secret(&self, actor: &SignedInUser, name: &str, key_id: &str) -> Result<(), PortalError>;

    async fn create_federated(
        &self,
        actor: &SignedInUser,
        name: &str,
        credential: NewFederated,
    ) -> Result<FederatedCredential, PortalError>;

    async fn delete_federated(
        &self,
        actor: &SignedInUser,
        name: &str,
        credential: &str,
    ) -> Result<(), PortalError>;
}

/// Context handle to the backend.
#[derive(Clone)]
pub struct Identities(pub Arc<dyn IdentitiesBackend>);
