//! Server functions for users, groups and service principals: thin
//! adapters to [`crate::identities::backend`]. Each needs a signed-in user
//! who may read identities (changes: write them); the backend asks the
//! access policy again before every service call. Reads are GET, changes
//! are POST with the session's CSRF token. Passwords and secrets travel
//! only in the answer that made them.

use leptos::{prelude::*, server_fn::codec::GetUrl};

use crate::{
    error::PortalError,
    identities::model::{
        CreatedServicePrincipal, FederatedCredential, GeneratedSecret, Group, GroupDetail, NewPassword,
        Password, ServicePrincipal, ServicePrincipalDetail, User, UserDetail,
    },
};

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    pub use crate::api::ssr::fail;
    use crate::{
        api::ssr::{context, require_reach, session},
        error::PortalError,
        identities::{
            backend::{Identities, IdentitiesBackend},
            model::{Password, PasswordChoice},
        },
        model::{Area, Reach, SignedInUser},
    };

    /// The signed-in user who may read identities, or change them when
    /// `write`, and the backend; 401 signed out, 403 otherwise.
    ///
    /// The backend is taken from the context first: after an `.await` the
    /// reactive owner that holds the context may be gone, and the call
    /// would fail now and then during server rendering (so the page
    /// hydrated with an error the server had not rendered).
    pub async fn caller(write: bool) -> Result<(SignedInUser, Arc<dyn IdentitiesBackend>), PortalError> {
        let backend = context::<Identities>()?.0;
        let session = session().await?;
        let reach = if write { Reach::Write } else { Reach::Read };
        let user = require_reach(&session, Area::Identities, reach).await?;
        Ok((user, backend))
    }

    /// A typed password, or one to generate; a form with neither is
    /// incomplete.
    pub fn password_choice(
        password: Option<Password>,
        generate: bool,
    ) -> Result<PasswordChoice, PortalError> {
        match (password, generate) {
            (_, true) => Ok(PasswordChoice::Generate),
            (Some(password), false) if !password.expose().is_empty() => Ok(PasswordChoice::Set(password)),
            _ => Err(fail(PortalError::Invalid("Type a password, or choose to generate one.".into()))),
        }
    }

    /// An empty date field means no expiry.
    pub fn date(expiry: Option<String>) -> Option<String> {
        expiry.filter(|date| !date.trim().is_empty())
    }
}

// ----- users -----

#[server(prefix = "/portal", endpoint = "identities_users", input = GetUrl)]
pub async fn list_users() -> Result<Vec<User>, PortalError> {
    let (user, backend) = ssr::caller(false).await?;
    backend.users(&user).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_user", input = GetUrl)]
pub async fn get_user(name: String) -> Result<UserDetail, PortalError> {
    let (user, backend) = ssr::caller(false).await?;
    backend.user(&user, &name).await.map_err(ssr::fail)
}

/// The answer carries a generated password once; nothing else ever does.
#[server(prefix = "/portal", endpoint = "identities_user_create")]
pub async fn create_user(
    csrf_token: String,
    name: String,
    #[server(default)] display_name: String,
    password: Option<Password>,
    #[server(default)] generate: bool,
) -> Result<NewPassword, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    let choice = ssr::password_choice(password, generate)?;
    backend.create_user(&user, name.trim(), display_name.trim(), choice).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_user_enable")]
pub async fn set_user_enabled(csrf_token: String, name: String, enabled: bool) -> Result<User, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.set_user_enabled(&user, &name, enabled).await.map_err(ssr::fail)
}

/// The answer carries a generated password once; nothing else ever does.
#[server(prefix = "/portal", endpoint = "identities_user_password")]
pub async fn reset_password(
    csrf_token: String,
    name: String,
    password: Option<Password>,
    #[server(default)] generate: bool,
) -> Result<NewPassword, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    let choice = ssr::password_choice(password, generate)?;
    backend.reset_password(&user, &name, choice).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_user_delete")]
pub async fn delete_user(csrf_token: String, name: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.delete_user(&user, &name).await.map_err(ssr::fail)
}

// ----- groups -----

#[server(prefix = "/portal", endpoint = "identities_groups", input = GetUrl)]
pub async fn list_groups() -> Result<Vec<Group>, PortalError> {
    let (user, backend) = ssr::caller(false).await?;
    backend.groups(&user).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_group", input = GetUrl)]
pub async fn get_group(name: String) -> Result<GroupDetail, PortalError> {
    let (user, backend) = ssr::caller(false).await?;
    backend.group(&user, &name).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_group_create")]
pub async fn create_group(
    csrf_token: String,
    name: String,
    #[server(default)] description: String,
) -> Result<Group, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.create_group(&user, name.trim(), description.trim()).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_group_delete")]
pub async fn delete_group(csrf_token: String, name: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.delete_group(&user, &name).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_group_member")]
pub async fn change_member(
    csrf_token: String,
    group: String,
    member: String,
    add: bool,
) -> Result<Group, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.change_member(&user, &group, member.trim(), add).await.map_err(ssr::fail)
}

// ----- service principals -----

#[server(prefix = "/portal", endpoint = "identities_sps", input = GetUrl)]
pub async fn list_service_principals() -> Result<Vec<ServicePrincipal>, PortalError> {
    let (user, backend) = ssr::caller(false).await?;
    backend.service_principals(&user).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_sp", input = GetUrl)]
pub async fn get_service_principal(name: String) -> Result<ServicePrincipalDetail, PortalError> {
    let (user, backend) = ssr::caller(false).await?;
    backend.service_principal(&user, &name).await.map_err(ssr::fail)
}

/// The answer carries the first secret once; nothing else ever does.
#[server(prefix = "/portal", endpoint = "identities_sp_create")]
pub async fn create_service_principal(
    csrf_token: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] create_secret: bool,
    expiry: Option<String>,
) -> Result<CreatedServicePrincipal, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend
        .create_service_principal(&user, name.trim(), description.trim(), create_secret, ssr::date(expiry))
        .await
        .map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_sp_enable")]
pub async fn set_service_principal_enabled(
    csrf_token: String,
    name: String,
    enabled: bool,
) -> Result<ServicePrincipal, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.set_service_principal_enabled(&user, &name, enabled).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_sp_delete")]
pub async fn delete_service_principal(csrf_token: String, name: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.delete_service_principal(&user, &name).await.map_err(ssr::fail)
}

/// The answer carries the new secret once; nothing else ever does.
#[server(prefix = "/portal", endpoint = "identities_sp_secret_generate")]
pub async fn generate_secret(
    csrf_token: String,
    name: String,
    #[server(default)] description: String,
    expiry: Option<String>,
) -> Result<GeneratedSecret, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.generate_secret(&user, &name, description.trim(), ssr::date(expiry)).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_sp_secret_delete")]
pub async fn delete_secret(csrf_token: String, name: String, key_id: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.delete_secret(&user, &name, &key_id).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_sp_federated_create")]
pub async fn create_federated(
    csrf_token: String,
    name: String,
    credential: String,
    issuer: String,
    audience: String,
    subject: String,
    #[server(default)] description: String,
) -> Result<FederatedCredential, PortalError> {
    use crate::identities::backend::NewFederated;
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    let credential = NewFederated { name: credential, issuer, audience, subject, description };
    backend.create_federated(&user, &name, credential).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "identities_sp_federated_delete")]
pub async fn delete_federated(
    csrf_token: String,
    name: String,
    credential: String,
) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, backend) = ssr::caller(true).await?;
    backend.delete_federated(&user, &name, &credential).await.map_err(ssr::fail)
}
