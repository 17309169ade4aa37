//! The portal's adapters: they implement the `app` crate's backend ports
//! (`PortalBackend`, `TokensBackend`, `RepositoriesBackend`) over the same
//! services the JSON API calls, and only translate types: the page's
//! strings into domain types, the services' views into the portal's model,
//! the services' errors into `PortalError`. Every rule (who may do what,
//! expiry, locks, audit) lives in `service` and `policy`: each change asks
//! the one access decision ([`authorize`]) as the API and `/v2` do. This
//! module must not call `db`, parse manifests, hold `AppState`, or build
//! HTTP responses.

pub mod access;
pub mod account;
pub mod identities;
pub mod repositories;
pub mod tokens;

pub use access::AccessPortal;
pub use account::AccountPortal;
pub use identities::IdentitiesPortal;
pub use repositories::RepositoriesPortal;
pub use tokens::TokensPortal;

use app::{error::PortalError, model::SignedInUser};

use crate::{
    auth::token::Subject,
    policy::{Decision, Operation},
    service::{
        access::{AccessService, Caller},
        tokens::ManageError,
    },
};

/// Logs the cause and answers the user with a detail-free error.
fn internal(error: impl std::fmt::Display) -> PortalError {
    tracing::error!(%error, "portal request failed");
    PortalError::Internal
}

/// The service's own message for what the user can fix; the cause of an
/// internal error goes to the log only.
pub(crate) fn manage_error(error: ManageError) -> PortalError {
    match error {
        ManageError::Internal(cause) => internal(cause),
        ManageError::Invalid(message) | ManageError::InvalidAt { message, .. } => {
            PortalError::Invalid(sentence(&message))
        }
        ManageError::NotFound(message) => PortalError::NotFound(sentence(&message)),
        ManageError::Conflict(message) => PortalError::Conflict(sentence(&message)),
        ManageError::InUse { ref tokens, .. } => {
            PortalError::InUse { message: sentence(&error.to_string()), tokens: tokens.clone() }
        }
        error @ (ManageError::ReadOnly(_)
        | ManageError::StaleRevision(_)
        | ManageError::RotationRefused(_)) => PortalError::Conflict(sentence(&error.to_string())),
    }
}

/// The services write messages for the API (`there is no token named x`);
/// the page shows them as sentences.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// Who the signed-in user is to the services: a user, or the token a
/// token holder signed in with.
fn subject(user: &SignedInUser) -> Subject {
    match user.token {
        None => Subject::User(user.name.clone()),
        Some(_) => Subject::Token(user.name.clone()),
    }
}

/// The one access decision for a signed-in user: their principal as the
/// policy holds it now (an administrator removed since signing in may do
/// nothing) asked for `operation`; a denial is audited there. The subject
/// to act as, when allowed.
async fn authorize(
    access: &AccessService,
    subject: Subject,
    operation: Operation<'_>,
) -> Result<Subject, PortalError> {
    let principal =
        access.principal(&subject, None).await.map_err(internal)?.ok_or(PortalError::NotSignedIn)?;
    let caller = Caller { subject, principal, grants: None };
    match access.authorize(&caller, operation).await {
        Decision::Allow => Ok(caller.subject),
        Decision::InsufficientScope | Decision::Deny(_) => Err(PortalError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_messages_become_sentences() {
        assert_eq!(sentence("there is no token named x"), "There is no token named x.");
        assert_eq!(sentence("already a sentence."), "Already a sentence.");
    }
}
