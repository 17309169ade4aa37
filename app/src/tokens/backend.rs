//! The port through which the tokens server functions reach the registry.
//! Implemented by the server crate (`portal::tokens`) on top of the
//! same token service as the JSON API, so every rule lives there once.
//! Callers have checked that `actor` is a signed-in administrator.

use std::sync::Arc;

use crate::{
    error::PortalError,
    model::SignedInUser,
    tokens::model::{
        GeneratedPassword, NewScopeMap, RepositoryActions, ScopeMap, Slot, Token, TokenDetail, TokenList,
    },
};

#[async_trait::async_trait]
pub trait TokensBackend: Send + Sync + 'static {
    /// One page by name (Z→A when `descending`): names starting with
    /// `search` (any case), after `after`, at most `limit`.
    async fn list_tokens(
        &self,
        search: &str,
        after: Option<&str>,
        limit: u32,
        descending: bool,
    ) -> Result<TokenList, PortalError>;

    async fn token(&self, name: &str) -> Result<TokenDetail, PortalError>;

    /// Creates a token without passwords, on `scope_map` or on
    /// `new_scope_map` created first.
    async fn create_token(
        &self,
        actor: &SignedInUser,
        name: &str,
        scope_map: Option<String>,
        new_scope_map: Option<NewScopeMap>,
        enabled: bool,
    ) -> Result<Token, PortalError>;

    async fn update_token(
        &self,
        actor: &SignedInUser,
        name: &str,
        enabled: Option<bool>,
        scope_map: Option<String>,
    ) -> Result<Token, PortalError>;

    async fn delete_token(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError>;

    /// (Re)generates one slot; `expiry` is a `YYYY-MM-DD` date (the
    /// password stops working at 00:00 UTC that day).
    async fn generate_password(
        &self,
        actor: &SignedInUser,
        name: &str,
        slot: Slot,
        expiry: Option<String>,
    ) -> Result<GeneratedPassword, PortalError>;

    async fn delete_password(
        &self,
        actor: &SignedInUser,
        name: &str,
        slot: Slot,
    ) -> Result<Token, PortalError>;

    /// System-defined first, then by name.
    async fn scope_maps(&self) -> Result<Vec<ScopeMap>, PortalError>;

    async fn scope_map(&self, name: &str) -> Result<ScopeMap, PortalError>;

    async fn create_scope_map(
        &self,
        actor: &SignedInUser,
        scope_map: NewScopeMap,
    ) -> Result<ScopeMap, PortalError>;

    /// Makes the scope map's description and rules exactly these.
    async fn update_scope_map(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: String,
        repositories: Vec<RepositoryActions>,
    ) -> Result<ScopeMap, PortalError>;

    async fn delete_scope_map(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError>;
}

/// Context handle to the backend.
#[derive(Clone)]
pub struct Tokens(pub Arc<dyn TokensBackend>);
