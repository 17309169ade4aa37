//! Authentication: human password hashing and sign-in throttling. Owns how a
//! secret is checked; it must not query the database (callers pass what
//! they loaded) nor know about HTTP.

pub mod key_encryption;
pub mod password;
pub mod rate_limit;
pub mod scope;
pub mod throttle;
pub mod token;
pub mod token_password;
