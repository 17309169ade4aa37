//! Authentication and authorisation of `/v2/` requests: Basic credentials
//! or a bearer token from the token endpoint; then the current policy
//! (`service::access`) and, for bearer tokens, the token's grants must both
//! allow the operation's action. Rejections carry the `WWW-Authenticate`
//! challenge that sends clients to the token endpoint.

use std::time::SystemTime;

use axum::http::{header, HeaderMap};

use crate::{
    auth::{
        scope::{challenge, Resource, ResourceScope},
        token::{AccessClaims, Subject},
    },
    domain::RepositoryName,
    policy::{Action, ActionSet},
    AppState,
};

use super::{
    error::OciError,
    route::{Endpoint, Requirement},
};

/// An authenticated caller of the data plane.
pub struct Caller {
    pub subject: Subject,
    /// The grants of a bearer token; `None` for Basic credentials, where
    /// the policy alone decides.
    pub grants: Option<AccessClaims>,
}

/// The realm clients fetch tokens from: this server, as the client reached
/// it.
fn realm(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or(&state.login_server);
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{host}/oauth2/token")
}

/// The scope a client should ask for to perform `needed` on `endpoint`.
fn wanted_scope(endpoint: &Endpoint, needed: Requirement) -> Option<ResourceScope> {
    match (needed, endpoint.repository()) {
        (Requirement::Catalog, _) => {
            Some(ResourceScope { resource: Resource::Catalog, actions: ActionSet::ALL })
        }
        (Requirement::Action(action), Some(name)) => {
            // Docker clients ask for pull,push when pushing.
            let actions = match action {
                Action::ContentWrite => ActionSet::of(&[Action::ContentRead, Action::ContentWrite]),
                other => ActionSet::of(&[other]),
            };
            Some(ResourceScope { resource: Resource::Repository(name.to_string()), actions })
        }
        _ => None,
    }
}

fn unauthorized(
    state: &AppState,
    headers: &HeaderMap,
    endpoint: &Endpoint,
    needed: Requirement,
    error: Option<&str>,
) -> OciError {
    let scope = wanted_scope(endpoint, needed);
    OciError::Unauthorized {
        challenge: challenge(&realm(state, headers), &state.login_server, scope.as_ref(), error),
    }
}

enum Credentials {
    None,
    Basic { username: String, password: String },
    Bearer(String),
}

fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Credentials::None;
    };
    if let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) {
        return Credentials::Bearer(token.trim().to_owned());
    }
    match crate::http::basic_credentials(headers) {
        Some((username, password)) => Credentials::Basic { username, password },
        None => Credentials::None,
    }
}

fn internal(error: impl std::fmt::Display) -> OciError {
    tracing::error!(%error, "access check failed");
    OciError::Internal
}

/// Authenticates the request and checks it may perform `needed`.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    endpoint: &Endpoint,
    needed: Requirement,
) -> Result<Caller, OciError> {
    let caller = match credentials(headers) {
        Credentials::None => return Err(unauthorized(state, headers, endpoint, needed, None)),
        Credentials::Basic { username, password } => {
            match state.access.verify_password(&username, &password).await.map_err(internal)? {
                Some(subject) => Caller { subject, grants: None },
                None => {
                    tracing::warn!(user = %username, "registry authentication failed");
                    return Err(unauthorized(state, headers, endpoint, needed, Some("invalid_token")));
                }
            }
        }
        Credentials::Bearer(token) => {
            match state.signer.verify_access(&token, &state.login_server, SystemTime::now()) {
                Ok(claims) => Caller { subject: claims.subject.clone(), grants: Some(claims) },
                Err(error) => {
                    tracing::debug!(%error, "bearer token refused");
                    return Err(unauthorized(state, headers, endpoint, needed, Some("invalid_token")));
                }
            }
        }
    };
    match needed {
        Requirement::Authenticated => Ok(caller),
        Requirement::Catalog => {
            if let Some(grants) = &caller.grants {
                if grants.granted(&Resource::Catalog).is_empty() {
                    return Err(unauthorized(state, headers, endpoint, needed, Some("insufficient_scope")));
                }
            }
            Ok(caller)
        }
        Requirement::Action(action) => {
            let name = endpoint.repository().expect("actions are on repositories");
            if !allows(state, &caller, name, action).await {
                if policy_allows(state, &caller.subject, name, action).await {
                    // The policy allows it but this token was not issued for
                    // it: the client should fetch a token with that scope.
                    return Err(unauthorized(state, headers, endpoint, needed, Some("insufficient_scope")));
                }
                tracing::warn!(subject = %caller.subject, repository = %name, action = %action, "registry request denied");
                return Err(OciError::Denied);
            }
            Ok(caller)
        }
    }
}

async fn policy_allows(state: &AppState, subject: &Subject, name: &RepositoryName, action: Action) -> bool {
    match state.access.allowed_actions(subject, name.as_str()).await {
        Ok(actions) => actions.contains(action),
        Err(error) => {
            tracing::error!(%error, "policy lookup failed");
            false
        }
    }
}

/// Whether the caller may perform `action` on `name` now: the current
/// policy and, for a bearer token, its grants.
pub async fn allows(state: &AppState, caller: &Caller, name: &RepositoryName, action: Action) -> bool {
    let granted = caller
        .grants
        .as_ref()
        .is_none_or(|grants| grants.granted(&Resource::Repository(name.to_string())).contains(action));
    granted && policy_allows(state, &caller.subject, name, action).await
}

/// Which repositories the caller may see in the catalog (metadata/read).
/// Administrators see all; repository tokens see none until scope maps
/// give them metadata/read.
pub fn catalog_filter(caller: &Caller) -> impl Fn(&str) -> bool {
    let everything = matches!(caller.subject, Subject::Admin(_));
    move |_name: &str| everything
}
