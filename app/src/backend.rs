//! The port through which server functions reach the registry (server side
//! only). The `server` crate implements it and provides it as context, so
//! this crate never runs SQL nor depends on the server.

use std::{net::IpAddr, sync::Arc};

use crate::{
    error::PortalError,
    model::{MyToken, Overview, Password, SignedInUser, TokenCredential},
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

    async fn overview(&self) -> Result<Overview, PortalError>;

    /// Whether a token holder's session still counts: the token exists and
    /// is enabled, and the slot still holds that password, unexpired.
    async fn token_session_valid(&self, name: &str, credential: TokenCredential)
        -> Result<bool, PortalError>;

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
