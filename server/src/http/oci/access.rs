//! Who is calling `/v2/` and whether they may: the [`Authorized`]
//! extractor parses the path into an endpoint and its operation, finds the
//! caller (Basic credentials, or a bearer token from the token endpoint),
//! and asks the one decision (`AccessService::authorize`). Its rejection
//! carries the `WWW-Authenticate` challenge that sends clients to the
//! token endpoint, so no handler runs for a caller that may not.

use std::time::SystemTime;

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, Method},
};

use crate::{
    auth::scope::{challenge, Resource, ResourceScope},
    http::{caller::Credentials, ClientAddress},
    policy::{ActionSet, Decision, Operation},
    service::access::{AccessError, Caller},
    AppState,
};

use super::{
    error::OciError,
    route::{operation, Endpoint},
};

/// A `/v2/` request whose caller may perform its operation.
pub struct Authorized {
    pub endpoint: Endpoint,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Authorized {
    type Rejection = OciError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OciError> {
        let endpoint = match Endpoint::parse(parts.uri.path()) {
            // A reference that cannot exist names no manifest (the spec's 404).
            Err(OciError::TagInvalid(_)) if parts.method != Method::PUT => {
                return Err(OciError::ManifestUnknown)
            }
            parsed => parsed?,
        };
        let operation = operation(&parts.method, &endpoint).ok_or(OciError::MethodNotAllowed)?;
        let ClientAddress(client) = ClientAddress::of(&parts.extensions);
        let challenge = |error| unauthorized(state, operation, error);
        let caller = match Credentials::of(&parts.headers) {
            Credentials::None => return Err(challenge(None)),
            Credentials::Basic { username, password } => {
                match state.access.authenticate(&username, &password, client).await.map_err(refused)? {
                    Some(found) => Caller::from(found),
                    None => {
                        tracing::warn!(%client, "registry authentication failed");
                        return Err(challenge(Some("invalid_token")));
                    }
                }
            }
            Credentials::Bearer(token) => {
                let claims = match state.signer.verify_access(&token, &state.login_server, SystemTime::now())
                {
                    Ok(claims) => claims,
                    Err(error) => {
                        tracing::debug!(%error, "bearer token refused");
                        return Err(challenge(Some("invalid_token")));
                    }
                };
                // The policy as it is now: a token disabled or edited since
                // its bearer token was issued is refused on this very request.
                match state.access.principal(&claims.subject, claims.credential).await.map_err(refused)? {
                    Some(principal) => {
                        Caller { subject: claims.subject.clone(), principal, grants: Some(claims) }
                    }
                    None => {
                        tracing::warn!(subject = %claims.subject, "bearer token of a revoked credential");
                        return Err(challenge(Some("invalid_token")));
                    }
                }
            }
        };
        match state.access.authorize(&caller, operation).await {
            Decision::Allow => {}
            // The policy allows it but this token was not issued for it:
            // the client should fetch a token with that scope.
            Decision::InsufficientScope => return Err(challenge(Some("insufficient_scope"))),
            Decision::Deny(denial) => {
                let repository = denial.repository().map_or_else(String::new, ToString::to_string);
                return Err(OciError::Denied { action: denial.action(), repository });
            }
        }
        Ok(Authorized { endpoint, caller })
    }
}

/// The realm clients fetch tokens from: the configured login server, never
/// a request header (a forged `Host` would send clients' passwords to
/// another server).
fn realm(state: &AppState) -> String {
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{}/oauth2/token", state.login_server)
}

/// The scope a client should ask for to perform `operation`.
fn wanted_scope(operation: Operation<'_>) -> Option<ResourceScope> {
    match operation {
        Operation::ListRepositories => {
            Some(ResourceScope { resource: Resource::Catalog, actions: ActionSet::ALL })
        }
        Operation::Repository(name, operation) => Some(ResourceScope {
            resource: Resource::Repository(name.to_string()),
            actions: operation.scope_to_request(),
        }),
        Operation::SignedIn | Operation::Administer => None,
    }
}

fn unauthorized(state: &AppState, operation: Operation<'_>, error: Option<&str>) -> OciError {
    let scope = wanted_scope(operation);
    OciError::Unauthorized { challenge: challenge(&realm(state), &state.login_server, scope.as_ref(), error) }
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
