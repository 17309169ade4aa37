//! Who is calling `/v2/` and whether they may: the [`Authorized`]
//! extractor parses the path into an endpoint and its operation, finds the
//! caller (Basic credentials, or a bearer token from the token endpoint),
//! and asks the one decision (`AccessService::authorize`). Its rejection
//! carries the `WWW-Authenticate` challenge that sends clients to the
//! token endpoint, so no handler runs for a caller that may not.
//!
//! A cross-repository mount (`POST .../blobs/uploads/?mount=&from=`) also
//! reads its source. As in Distribution (`handlers/app.go`), its challenge
//! names pull on the source beside the target's scope, and a bearer token
//! issued for the target alone is answered 401 with that challenge when the
//! policy lets its holder read the source; clients that fetch the scopes a
//! challenge names (the OCI conformance suite, containerd) then get the
//! mount instead of a silent full upload. When the policy does not let the
//! caller read the source, nothing is said about it: the handler opens an
//! ordinary upload session (`start_upload`).

use std::time::SystemTime;

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, Method},
};

use crate::{
    auth::scope::{challenge, Resource, ResourceScope},
    domain::{Digest, RepositoryName},
    http::{caller::Credentials, ClientAddress},
    policy::{ActionSet, Decision, Operation, RepositoryOperation},
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
        let source = mount_source(&parts.method, &endpoint, parts.uri.query());
        let source_pull = source.as_ref().map(|from| Operation::Repository(from, RepositoryOperation::Pull));
        let ClientAddress(client) = ClientAddress::of(&parts.extensions);
        let challenge = |error| unauthorized(state, operation, source_pull, error);
        let caller = match Credentials::of(&parts.headers) {
            // The anonymous caller, where its role assignments allow this
            // very operation (public pull); otherwise the challenge, as
            // `GET /v2/` always answers it, so clients learn where to log in.
            Credentials::None => {
                let anonymous = state.access.anonymous().await.map_err(refused)?;
                if matches!(operation, Operation::Repository(..))
                    && anonymous.decide(operation) == Decision::Allow
                {
                    anonymous
                } else {
                    return Err(challenge(None));
                }
            }
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
        let kind = super::super::operation_kind(&parts.method);
        state.access.admit(&caller, kind, client).await.map_err(|limited| OciError::RateLimited {
            reason: limited.reason(),
            retry_after: limited.retry_after,
        })?;
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
        // The mount's source: only a bearer token lacking a scope the policy
        // allows is sent back for it; a refusal stays silent (no 401 saying
        // that the source exists or that the caller may not read it).
        if let Some(pull) = source_pull {
            if caller.decide(pull) == Decision::InsufficientScope {
                return Err(challenge(Some("insufficient_scope")));
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
            resource: Resource::Repository(name.clone()),
            actions: operation.scope_to_request(),
        }),
        Operation::SignedIn | Operation::Control(..) => None,
    }
}

/// The repository a `POST .../blobs/uploads/?mount=<digest>&from=<name>`
/// mounts from, when the request is a mount the handler will try (a
/// monolithic `digest=` upload ignores `mount`; a malformed digest or name
/// makes it an ordinary upload) and the source is another repository.
fn mount_source(method: &Method, endpoint: &Endpoint, query: Option<&str>) -> Option<RepositoryName> {
    #[derive(serde::Deserialize)]
    struct MountQuery {
        digest: Option<String>,
        mount: Option<String>,
        from: Option<String>,
    }
    let Endpoint::Uploads(target) = endpoint else { return None };
    if method != Method::POST {
        return None;
    }
    let query: MountQuery = serde_urlencoded::from_str(query?).ok()?;
    if query.digest.is_some() {
        return None;
    }
    query.mount?.parse::<Digest>().ok()?;
    let from: RepositoryName = query.from?.parse().ok()?;
    (from != *target).then_some(from)
}

fn unauthorized(
    state: &AppState,
    operation: Operation<'_>,
    source_pull: Option<Operation<'_>>,
    error: Option<&str>,
) -> OciError {
    let scopes: Vec<ResourceScope> =
        [Some(operation), source_pull].into_iter().flatten().filter_map(wanted_scope).collect();
    OciError::Unauthorized { challenge: challenge(&realm(state), &state.login_server, &scopes, error) }
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

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn uploads(name: &str) -> Endpoint {
        Endpoint::Uploads(name.parse().unwrap())
    }

    #[test]
    fn only_a_mount_the_handler_will_try_names_its_source() {
        let mount = format!("mount={DIGEST}&from=team%2Fbase");
        let source = |method: &Method, endpoint: &Endpoint, query: &str| {
            mount_source(method, endpoint, Some(query)).map(|name| name.to_string())
        };
        assert_eq!(source(&Method::POST, &uploads("team/app"), &mount).as_deref(), Some("team/base"));
        let cases = [
            (Method::GET, uploads("team/app"), mount.clone(), "not a POST"),
            (Method::POST, uploads("team/base"), mount.clone(), "the source is the target"),
            (Method::POST, uploads("team/app"), format!("{mount}&digest={DIGEST}"), "a monolithic upload"),
            (Method::POST, uploads("team/app"), "mount=sha256:abc&from=team/base".into(), "a bad digest"),
            (Method::POST, uploads("team/app"), format!("mount={DIGEST}&from=Team/Base"), "a bad name"),
            (Method::POST, uploads("team/app"), format!("mount={DIGEST}"), "no from"),
            (Method::POST, uploads("team/app"), "from=team/base".into(), "no mount"),
            (
                Method::POST,
                Endpoint::Tags("team/app".parse().unwrap()),
                mount.clone(),
                "not the uploads endpoint",
            ),
        ];
        for (method, endpoint, query, why) in cases {
            assert_eq!(source(&method, &endpoint, &query), None, "{why}");
        }
        assert_eq!(mount_source(&Method::POST, &uploads("team/app"), None), None, "no query");
    }

    #[test]
    fn a_challenge_names_every_scope_in_one_parameter() {
        let target: RepositoryName = "team/app".parse().unwrap();
        let source: RepositoryName = "team/base".parse().unwrap();
        let scopes: Vec<ResourceScope> = [
            Operation::Repository(&target, RepositoryOperation::Push),
            Operation::Repository(&source, RepositoryOperation::Pull),
        ]
        .into_iter()
        .filter_map(wanted_scope)
        .collect();
        let realm = "http://registry.example/oauth2/token";
        assert_eq!(
            challenge(realm, "registry.example", &scopes, Some("insufficient_scope")),
            "Bearer realm=\"http://registry.example/oauth2/token\",service=\"registry.example\",\
             scope=\"repository:team/app:pull,push repository:team/base:pull\",error=\"insufficient_scope\""
        );
    }
}
