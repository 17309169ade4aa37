//! Authentication and authorisation of `/v2/` requests: Basic credentials
//! or a bearer token from the token endpoint; then the current policy
//! (`service::access`) and, for bearer tokens, the token's grants must both
//! allow the operation's action. Rejections carry the `WWW-Authenticate`
//! challenge that sends clients to the token endpoint.

use std::{net::IpAddr, time::SystemTime};

use axum::http::{header, HeaderMap};

use crate::{
    auth::{
        scope::{challenge, Resource, ResourceScope},
        token::{AccessClaims, Subject},
    },
    domain::RepositoryName,
    policy::{Action, ActionSet},
    service::{
        access::{AccessError, Permissions},
        audit::{Caller as AuditCaller, Outcome},
    },
    AppState,
};

use super::{
    error::OciError,
    route::{Endpoint, Requirement},
};

/// An authenticated caller of the data plane.
pub struct Caller {
    pub subject: Subject,
    /// What the subject may do now (loaded for this request).
    pub permissions: Permissions,
    /// The grants of a bearer token; `None` for Basic credentials, where
    /// the policy alone decides.
    pub grants: Option<AccessClaims>,
}

/// The realm clients fetch tokens from: the configured login server, never
/// a request header (a forged `Host` would send clients' passwords to
/// another server).
fn realm(state: &AppState) -> String {
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{}/oauth2/token", state.login_server)
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

fn unauthorized(state: &AppState, endpoint: &Endpoint, needed: Requirement, error: Option<&str>) -> OciError {
    let scope = wanted_scope(endpoint, needed);
    OciError::Unauthorized { challenge: challenge(&realm(state), &state.login_server, scope.as_ref(), error) }
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

fn refused(error: AccessError) -> OciError {
    match error.retry_after() {
        Some(retry_after) => OciError::TooManyRequests { retry_after },
        None => {
            tracing::error!(%error, "access check failed");
            OciError::Internal
        }
    }
}

/// Authenticates the request and checks it may perform `needed`, against
/// the policy as it is now (a token disabled or edited since its bearer
/// token was issued is refused on this very request).
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    client: IpAddr,
    endpoint: &Endpoint,
    needed: Requirement,
) -> Result<Caller, OciError> {
    let caller = match credentials(headers) {
        Credentials::None => return Err(unauthorized(state, endpoint, needed, None)),
        Credentials::Basic { username, password } => {
            match state.access.authenticate(&username, &password, client).await.map_err(refused)? {
                Some(found) => {
                    Caller { subject: found.subject, permissions: found.permissions, grants: None }
                }
                None => {
                    tracing::warn!(%client, "registry authentication failed");
                    return Err(unauthorized(state, endpoint, needed, Some("invalid_token")));
                }
            }
        }
        Credentials::Bearer(token) => {
            let claims = match state.signer.verify_access(&token, &state.login_server, SystemTime::now()) {
                Ok(claims) => claims,
                Err(error) => {
                    tracing::debug!(%error, "bearer token refused");
                    return Err(unauthorized(state, endpoint, needed, Some("invalid_token")));
                }
            };
            match state.access.permissions(&claims.subject, claims.credential).await.map_err(refused)? {
                Some(permissions) => {
                    Caller { subject: claims.subject.clone(), permissions, grants: Some(claims) }
                }
                None => {
                    tracing::warn!(subject = %claims.subject, "bearer token of a revoked credential");
                    return Err(unauthorized(state, endpoint, needed, Some("invalid_token")));
                }
            }
        }
    };
    match needed {
        Requirement::Authenticated => Ok(caller),
        Requirement::Catalog => {
            if let Some(grants) = &caller.grants {
                if grants.granted(&Resource::Catalog).is_empty() {
                    return Err(unauthorized(state, endpoint, needed, Some("insufficient_scope")));
                }
            }
            Ok(caller)
        }
        Requirement::Action(action) => {
            let name = endpoint.repository().expect("actions are on repositories");
            if !allows(&caller, name, action) {
                if caller.permissions.actions_for(name.as_str()).contains(action) {
                    // The policy allows it but this token was not issued for
                    // it: the client should fetch a token with that scope.
                    return Err(unauthorized(state, endpoint, needed, Some("insufficient_scope")));
                }
                deny(state, &caller, name, action);
                return Err(OciError::Denied { action: action.as_str(), repository: name.to_string() });
            }
            Ok(caller)
        }
    }
}

/// Logs and audits a refusal.
pub fn deny(state: &AppState, caller: &Caller, name: &RepositoryName, action: Action) {
    tracing::warn!(subject = %caller.subject, repository = %name, action = %action, "registry request denied");
    state.audit.record(
        AuditCaller::Subject(&caller.subject),
        None,
        Some(name.as_str()),
        action.as_str(),
        Outcome::Denied,
        None,
    );
}

/// Whether the caller may perform `action` on `name` now: the current
/// policy and, for a bearer token, its grants.
pub fn allows(caller: &Caller, name: &RepositoryName, action: Action) -> bool {
    let granted = caller
        .grants
        .as_ref()
        .is_none_or(|grants| grants.granted(&Resource::Repository(name.to_string())).contains(action));
    granted && caller.permissions.actions_for(name.as_str()).contains(action)
}

/// Which repositories the caller may see in the catalog: those where it
/// holds metadata/read (administrators: all).
pub fn catalog_filter(caller: &Caller) -> impl Fn(&str) -> bool + '_ {
    move |name: &str| caller.permissions.may_list(name)
}
