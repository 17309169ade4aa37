//! Server functions for tokens and scope maps: thin adapters to
//! [`crate::tokens::backend`]. Reads need a signed-in user whose roles read
//! the configuration, changes one whose roles change it (anyone else, a
//! token holder included, gets 403); reads are GET, changes are POST with
//! the session's CSRF token.

use leptos::{prelude::*, server_fn::codec::GetUrl};

use crate::{
    error::PortalError,
    tokens::model::{
        GeneratedPassword, NewScopeMap, RepositoryActions, ScopeMap, Slot, Token, TokenDetail, TokenList,
    },
};

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    pub use crate::api::ssr::*;
    use crate::{
        error::PortalError,
        model::{Area, Reach, SignedInUser},
        tokens::backend::{Tokens, TokensBackend},
    };

    /// The backend, for a signed-in user who may read the configuration
    /// (tokens and scope maps), or 401/403.
    pub async fn reader() -> Result<Arc<dyn TokensBackend>, PortalError> {
        let session = session().await?;
        require_reach(&session, Area::Configuration, Reach::Read).await?;
        Ok(context::<Tokens>()?.0)
    }

    /// The signed-in user who may change the configuration and the
    /// backend, or 401/403 (the backend asks the policy again).
    pub async fn writer() -> Result<(SignedInUser, Arc<dyn TokensBackend>), PortalError> {
        let session = session().await?;
        let user = require_reach(&session, Area::Configuration, Reach::Write).await?;
        Ok((user, context::<Tokens>()?.0))
    }
}

#[server(prefix = "/portal", endpoint = "tokens_list", input = GetUrl)]
pub async fn list_tokens(
    #[server(default)] search: String,
    after: Option<String>,
    limit: u32,
    #[server(default)] descending: bool,
) -> Result<TokenList, PortalError> {
    let tokens = ssr::reader().await?;
    tokens.list_tokens(search.trim(), after.as_deref(), limit, descending).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "token", input = GetUrl)]
pub async fn get_token(name: String) -> Result<TokenDetail, PortalError> {
    let tokens = ssr::reader().await?;
    tokens.token(&name).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "token_create")]
pub async fn create_token(
    csrf_token: String,
    name: String,
    scope_map: Option<String>,
    new_scope_map: Option<NewScopeMap>,
    enabled: bool,
) -> Result<Token, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    tokens.create_token(&user, name.trim(), scope_map, new_scope_map, enabled).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "token_update")]
pub async fn update_token(
    csrf_token: String,
    name: String,
    enabled: Option<bool>,
    scope_map: Option<String>,
) -> Result<Token, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    tokens.update_token(&user, &name, enabled, scope_map).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "token_delete")]
pub async fn delete_token(csrf_token: String, name: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    tokens.delete_token(&user, &name).await.map_err(ssr::fail)
}

/// The answer carries the new password once; nothing else ever does.
#[server(prefix = "/portal", endpoint = "token_password_generate")]
pub async fn generate_password(
    csrf_token: String,
    name: String,
    slot: Slot,
    expiry: Option<String>,
) -> Result<GeneratedPassword, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    let expiry = expiry.filter(|date| !date.trim().is_empty());
    tokens.generate_password(&user, &name, slot, expiry).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "token_password_delete")]
pub async fn delete_password(csrf_token: String, name: String, slot: Slot) -> Result<Token, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    tokens.delete_password(&user, &name, slot).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "scope_maps", input = GetUrl)]
pub async fn list_scope_maps() -> Result<Vec<ScopeMap>, PortalError> {
    let tokens = ssr::reader().await?;
    tokens.scope_maps().await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "scope_map", input = GetUrl)]
pub async fn get_scope_map(name: String) -> Result<ScopeMap, PortalError> {
    let tokens = ssr::reader().await?;
    tokens.scope_map(&name).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "scope_map_create")]
pub async fn create_scope_map(
    csrf_token: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] repositories: Vec<RepositoryActions>,
) -> Result<ScopeMap, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    let scope_map = NewScopeMap { name: name.trim().to_owned(), description, repositories };
    tokens.create_scope_map(&user, scope_map).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "scope_map_update")]
pub async fn update_scope_map(
    csrf_token: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] repositories: Vec<RepositoryActions>,
) -> Result<ScopeMap, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    tokens.update_scope_map(&user, &name, description, repositories).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "scope_map_delete")]
pub async fn delete_scope_map(csrf_token: String, name: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, tokens) = ssr::writer().await?;
    tokens.delete_scope_map(&user, &name).await.map_err(ssr::fail)
}
