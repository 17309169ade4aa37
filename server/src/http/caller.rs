//! Who is calling: the `Authorization` header parsed once for every
//! surface, and the management API's extractors ([`ManagementCaller`],
//! [`Control`]) whose rejections are problem+json, so a handler that needs
//! a control-plane role cannot forget to check: its argument's type names
//! the area and the access. (`/v2/` has its own extractor,
//! `oci::access::Authorized`, whose rejection is the token challenge.)

use app::{
    model::SignedInUser,
    session::{CSRF_HEADER, CSRF_KEY, USER_KEY},
};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, Method},
};
use base64::Engine as _;
use tower_sessions::Session;

use super::{api::ApiError, csrf, ClientAddress};
use crate::{
    auth::token::Subject,
    domain::RepositoryName,
    policy::{
        roles::{ControlAccess, ControlArea},
        Decision, Operation, RepositoryOperation,
    },
    service::access::Caller,
    AppState,
};

/// The credentials of an `Authorization` header.
pub enum Credentials {
    None,
    Basic { username: String, password: String },
    Bearer(String),
}

impl Credentials {
    pub fn of(headers: &HeaderMap) -> Credentials {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Credentials::None;
        };
        if let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) {
            return Credentials::Bearer(token.trim().to_owned());
        }
        let basic = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "));
        let decoded =
            basic.and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok());
        match decoded.and_then(|bytes| String::from_utf8(bytes).ok()) {
            Some(text) => match text.split_once(':') {
                Some((username, password)) => {
                    Credentials::Basic { username: username.to_owned(), password: password.to_owned() }
                }
                None => Credentials::None,
            },
            None => Credentials::None,
        }
    }
}

/// Anyone the management API accepts: a user or service principal (Basic
/// credentials), a signed-in user's portal session whose state-changing
/// calls carry its CSRF token, or a repository token (Basic credentials; a
/// token holder's portal session is refused). Authenticated once per
/// request.
#[derive(Clone)]
pub struct ManagementCaller(pub Caller);

/// What a handler needs of the control plane: one area, read or write.
pub trait ControlNeed {
    const AREA: ControlArea;
    const ACCESS: ControlAccess;
}

/// A [`ManagementCaller`] whose roles give `N`.
pub struct Control<N: ControlNeed>(pub Caller, pub std::marker::PhantomData<N>);

macro_rules! control_needs {
    ($($(#[$doc:meta])* $name:ident = $area:ident $access:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl ControlNeed for $name {
            const AREA: ControlArea = ControlArea::$area;
            const ACCESS: ControlAccess = ControlAccess::$access;
        }
    )*};
}

control_needs! {
    /// Reading settings, tokens and scope maps.
    ReadConfiguration = Configuration Read;
    /// Changing settings, tokens and scope maps.
    WriteConfiguration = Configuration Write;
    /// Reading users, groups and service principals.
    ReadIdentities = Identities Read;
    /// Changing users, groups and service principals.
    WriteIdentities = Identities Write;
    /// Reading role assignments.
    ReadRoleAssignments = RoleAssignments Read;
    /// Changing role assignments.
    WriteRoleAssignments = RoleAssignments Write;
    /// Reading the audit log.
    ReadAudit = Audit Read;
}

impl FromRequestParts<AppState> for ManagementCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(found) = parts.extensions.get::<ManagementCaller>() {
            return Ok(found.clone());
        }
        let caller = match Credentials::of(&parts.headers) {
            Credentials::Basic { username, password } => {
                let client = ClientAddress::of(&parts.extensions).0;
                match state.access.authenticate(&username, &password, client).await {
                    Ok(Some(found)) => Caller::from(found),
                    Ok(None) => return Err(ApiError::Unauthorized),
                    Err(error) => match error.retry_after() {
                        Some(wait) => return Err(ApiError::TooManyRequests(wait)),
                        None => {
                            tracing::error!(%error, "API authentication failed");
                            return Err(ApiError::Internal);
                        }
                    },
                }
            }
            Credentials::Bearer(_) | Credentials::None => {
                let session =
                    Session::from_request_parts(parts, state).await.map_err(|_| ApiError::Unauthorized)?;
                session_user(state, &session, &parts.method, &parts.headers)
                    .await?
                    .ok_or(ApiError::Unauthorized)?
            }
        };
        let client = ClientAddress::of(&parts.extensions).0;
        let kind = super::operation_kind(&parts.method);
        if let Err(limited) = state.access.admit(&caller, kind, client).await {
            return Err(ApiError::RateLimited(limited.reason(), limited.retry_after));
        }
        let caller = ManagementCaller(caller);
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl<N: ControlNeed> FromRequestParts<AppState> for Control<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = ManagementCaller::from_request_parts(parts, state).await?;
        caller.control(state, N::AREA, N::ACCESS).await?;
        Ok(Control(caller.0, std::marker::PhantomData))
    }
}

impl ManagementCaller {
    /// The decision for `operation` on `repository`; a refusal says which
    /// action was missing (and was audited by the decision).
    pub async fn authorize(
        &self,
        state: &AppState,
        repository: &RepositoryName,
        operation: RepositoryOperation,
    ) -> Result<(), ApiError> {
        refusal(state.access.authorize(&self.0, Operation::Repository(repository, operation)).await)
    }

    /// Whether this caller's roles reach `area` with `access`.
    pub async fn control(
        &self,
        state: &AppState,
        area: ControlArea,
        access: ControlAccess,
    ) -> Result<(), ApiError> {
        refusal(state.access.authorize(&self.0, Operation::Control(area, access)).await)
    }
}

fn refusal(decision: Decision) -> Result<(), ApiError> {
    match decision {
        Decision::Allow => Ok(()),
        Decision::Deny(denial) => Err(ApiError::Denied(denial.to_string())),
        // Only bearer tokens are asked to widen their scope; the API takes
        // none, so this cannot happen: refuse all the same.
        Decision::InsufficientScope => {
            Err(ApiError::Denied("requested access to the resource is denied".into()))
        }
    }
}

/// A signed-in portal user, as the policy holds them now; state-changing
/// calls must carry the session's CSRF token. A token holder's portal
/// session is refused (403): the API takes a token's name and password
/// instead.
async fn session_user(
    state: &AppState,
    session: &Session,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let Ok(Some(user)) = session.get::<SignedInUser>(USER_KEY).await else { return Ok(None) };
    if user.is_token() {
        return Err(ApiError::Denied(
            "a token holder's portal session does not open the management API; send the token's name and password"
                .into(),
        ));
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        let expected = session.get::<String>(CSRF_KEY).await.ok().flatten();
        let given = headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok());
        let matches = matches!((expected, given), (Some(expected), Some(given)) if csrf::tokens_match(given, &expected));
        if !matches {
            return Err(ApiError::Denied("missing or wrong x-csrf-token header for this session".into()));
        }
    }
    let subject = Subject::User(user.name);
    match state.access.principal(&subject, None).await {
        Ok(Some(principal)) => Ok(Some(Caller { subject, principal, grants: None })),
        // Deleted or disabled since signing in.
        Ok(None) => Ok(None),
        Err(error) => {
            tracing::error!(%error, "API session check failed");
            Err(ApiError::Internal)
        }
    }
}
