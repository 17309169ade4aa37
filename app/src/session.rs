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

/// 43 random alphanumerics (about 256 bits).
pub fn new_csrf_token() -> String {
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(43).map(char::from).collect()
}
