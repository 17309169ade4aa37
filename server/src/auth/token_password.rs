//! Generated token passwords (SPEC §1 "Token"): 256 random bits behind a
//! fixed prefix that secret scanners can spot, shell-safe, stored only as a
//! keyed digest (HMAC-SHA256 under the registry's key, kept in the
//! database so every replica holds it) and
//! compared in constant time. A keyed digest, not argon2: the password is
//! already a random 256-bit key, so slow hashing would only cap logins at a
//! few per second per core without making guessing any harder. No I/O; it
//! must not log.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, KeyInit, Mac};
use rand::{rngs::OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Every generated password starts with this, so a leaked one is easy to
/// recognise (and to grep for in CI logs).
pub const PREFIX: &str = "pct_";

/// What begins a service principal's client secret (generated the same
/// way, 256 bits): "Portcullis client secret".
pub const SECRET_PREFIX: &str = "pcs_";

/// Random bytes per password.
const RANDOM_BYTES: usize = 32;

/// Length of a generated password: the prefix and 43 base64url characters.
pub const PASSWORD_LENGTH: usize = PREFIX.len() + (RANDOM_BYTES * 4).div_ceil(3);

/// Length of a stored digest, in bytes.
pub const DIGEST_LENGTH: usize = 32;

/// A freshly generated password. Shown once, then dropped (and wiped): not
/// `Debug`, not `Clone`, and `Display` is deliberately absent (use
/// [`GeneratedPassword::reveal`] at the one place that shows it).
pub struct GeneratedPassword(SecretString);

impl GeneratedPassword {
    pub fn reveal(&self) -> &str {
        self.0.expose_secret()
    }

    /// The password as it travels to the one who asked for it.
    pub fn into_password(self) -> portcullis_proto::Password {
        portcullis_proto::Password::new(self.reveal())
    }
}

/// A stored password digest.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigest(pub [u8; DIGEST_LENGTH]);

impl fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordDigest(..)")
    }
}

impl PasswordDigest {
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

/// Digests token passwords with the registry's password key. Every replica
/// holds the same key (`service::bootstrap::shared_key`).
pub struct PasswordHasher {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn from_key(key: [u8; 32]) -> Self {
        Self { mac: Hmac::new_from_slice(&key).expect("HMAC takes keys of any length") }
    }

    /// A new random password and its digest.
    pub fn generate(&self) -> (GeneratedPassword, PasswordDigest) {
        self.generate_prefixed(PREFIX)
    }

    /// A new 256-bit secret after `prefix` ([`PREFIX`] or
    /// [`SECRET_PREFIX`]), and its digest.
    pub fn generate_prefixed(&self, prefix: &str) -> (GeneratedPassword, PasswordDigest) {
        let mut random = [0u8; RANDOM_BYTES];
        OsRng.fill_bytes(&mut random);
        let mut password = String::with_capacity(PASSWORD_LENGTH);
        password.push_str(prefix);
        URL_SAFE_NO_PAD.encode_string(random, &mut password);
        let digest = self.digest(&password);
        (GeneratedPassword(password.into()), digest)
    }

    pub fn digest(&self, password: &str) -> PasswordDigest {
        PasswordDigest(self.mac.clone().chain_update(password.as_bytes()).finalize().into_bytes().into())
    }

    /// Whether `password` is the one `stored` was made from, in time that
    /// does not depend on where they differ.
    pub fn matches(&self, password: &str, stored: &PasswordDigest) -> bool {
        bool::from(self.digest(password).0.ct_eq(&stored.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::from_key([7; 32])
    }

    #[test]
    fn generated_passwords_are_prefixed_shell_safe_and_256_bits() {
        let hasher = hasher();
        let (first, _) = hasher.generate();
        let (second, _) = hasher.generate();
        for password in [first.reveal(), second.reveal()] {
            assert_eq!(password.len(), PASSWORD_LENGTH);
            let body = password.strip_prefix(PREFIX).expect("prefix");
            assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{body}");
            assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        }
        assert_ne!(first.reveal(), second.reveal());
    }

    #[test]
    fn digest_matches_only_the_password_and_depends_on_the_key() {
        let hasher = hasher();
        let (password, digest) = hasher.generate();
        assert!(hasher.matches(password.reveal(), &digest));
        assert!(!hasher.matches(&format!("{}x", password.reveal()), &digest));
        assert!(!hasher.matches("", &digest));
        let other = PasswordHasher::from_key([8; 32]);
        assert!(!other.matches(password.reveal(), &digest));
        assert_eq!(format!("{digest:?}"), "PasswordDigest(..)");
    }
}
