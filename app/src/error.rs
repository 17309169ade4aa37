//! Errors the portal shows to a person: each message says what happened and
//! what to do. Server details never appear here; they go to the server log.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PortalError {
    #[error("Wrong user name or password.")]
    InvalidCredentials,
    /// The password was right, for an account that is disabled; the
    /// message says whose and whom to ask.
    #[error("{0}")]
    AccountDisabled(String),
    #[error("Too many sign-in attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    #[error("Your session has ended. Please sign in again.")]
    NotSignedIn,
    #[error("You do not have access to this page.")]
    Forbidden,
    #[error("This page has expired. Reload it and try again.")]
    StalePage,
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on the server. Please try again; if it keeps happening, the administrator will find the details in the server log.")]
    Internal,
    #[error("The server could not be reached ({0}). Check your connection and try again.")]
    Unreachable(String),
    /// What was asked for does not exist (any more); the message names it.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (a lock forbids it, for
    /// one); the message says why.
    #[error("{0}")]
    Conflict(String),
    /// A scope map still used by tokens cannot be deleted; the page links
    /// them.
    #[error("{message}")]
    InUse { message: String, tokens: Vec<String> },
}

impl PortalError {
    /// The HTTP status a server function answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidCredentials | Self::NotSignedIn => 401,
            Self::Forbidden | Self::StalePage | Self::AccountDisabled(_) => 403,
            Self::Throttled { .. } => 429,
            Self::Invalid(_) => 400,
            Self::Internal | Self::Unreachable(_) => 500,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::InUse { .. } => 409,
        }
    }
}

impl FromServerFnError for PortalError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(reason) | ServerFnErrorErr::Response(reason) => {
                Self::Unreachable(reason)
            }
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::MissingArg(reason) => {
                Self::Invalid(format!("The form was incomplete: {reason}."))
            }
            _ => Self::Internal,
        }
    }
}
