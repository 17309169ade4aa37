//! The port through which server functions reach the registry (server side
//! only). The `server` crate implements it and provides it as context, so
//! this crate never runs SQL nor depends on the server.

use std::{net::IpAddr, sync::Arc};

use crate::{
    error::PortalError,
    model::{Capabilities, MyAccess, MyToken, Overview, Password, SignedInUser, TokenCredential},
};

#[async_trait::async_trait]
pub trait PortalBackend: Send + Sync + 'static {
    /// Checks a user name and password, throttled per user and client.
    async fn sign_in(
        &self,
        name: &str,
        password: Password,
        client: IpAddr,
    ) -> Result<SignedInUser, PortalError>;

    /// The registry overview, for `user`'s login line.
    async fn overview(&self, user: &SignedInUser) -> Result<Overview, PortalError>;

    /// The signed-in user's session as the policy holds it now: `None`
    /// when it no longer counts (a user disabled or deleted; a token
    /// disabled or deleted, or the password it signed in with regenerated,
    /// deleted or expired), else what the user may administer (nothing for
    /// a token holder).
    async fn session_state(&self, user: &SignedInUser) -> Result<Option<Capabilities>, PortalError>;

    /// A signed-in user's roles and the repositories they reach.
    async fn my_access(&self, user: &SignedInUser) -> Result<MyAccess, PortalError>;

    /// The signed-in token holder's own token.
    async fn my_token(&self, name: &str, credential: TokenCredential) -> Result<MyToken, PortalError>;

    /// The signed-in administrator changes their own password, proving the
    /// current one (the same use-case as `PUT /api/v1/users/{name}/password`).
    async fn change_password(
        &self,
        user: &SignedInUser,
        current: Password,
        new: Password,
        client: IpAddr,
    ) -> Result<(), PortalError>;
}

/// Context handle to the backend.
#[derive(Clone)]
pub struct Backend(pub Arc<dyn PortalBackend>);
