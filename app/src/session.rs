//! Portal session keys and the CSRF token format, shared with the server's
//! CSRF layer so both read the same session entries (server side only).

use rand::{distributions::Alphanumeric, Rng};

/// Session entry holding the signed-in [`crate::model::SignedInUser`].
pub const USER_KEY: &str = "portcullis.user";
/// Session entry holding the CSRF token of the session.
pub const CSRF_KEY: &str = "portcullis.csrf";
/// Form field (or `x-csrf-token` header) that carries the token back.
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Length of a CSRF token: 43 random alphanumerics (about 256 bits).
pub const CSRF_TOKEN_LEN: usize = 43;

pub fn new_csrf_token() -> String {
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(CSRF_TOKEN_LEN).map(char::from).collect()
}

/// The signed-in user of a page load and what they may administer,
/// decided by the server's sign-in layer before the page renders and put
/// in the request's extensions: the page's server functions read it
/// instead of asking the database again, so the render never waits on the
/// session (a wait there re-rendered the page under a different resource
/// id than the browser hydrates with).
#[derive(Clone)]
pub struct DecidedSession(pub crate::model::SignedInUser, pub crate::model::Capabilities);

/// The CSRF token of a browser whose session holds none (signed out): the
/// server's CSRF layer keeps it in a cookie, not in a stored session, and
/// puts it in each request's extensions for the page to show.
#[derive(Clone)]
pub struct PreSessionCsrf(pub String);
