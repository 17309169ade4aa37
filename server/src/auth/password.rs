//! Human passwords: argon2id hashing and verification, run on a blocking
//! thread because each takes tens of milliseconds of CPU by design.

use std::fmt;

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use password_hash::rand_core::OsRng;
use rand::{distributions::Alphanumeric, Rng};

/// A password typed by a person. Never `Debug`-printed, never serialised.
pub struct HumanPassword(String);

impl HumanPassword {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A random 24-character alphanumeric password (about 142 bits), for the
    /// first administrator when the operator gave none.
    pub fn generate() -> Self {
        Self(OsRng.sample_iter(&Alphanumeric).take(24).map(char::from).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HumanPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HumanPassword(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed")]
    Join,
}

/// Hashes with argon2id and the crate's default (OWASP-recommended) cost.
pub async fn hash(password: HumanPassword) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|phc| phc.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await
    .map_err(|_| PasswordError::Join)?
}

/// Checks `password` against a stored PHC string. With `None` (unknown
/// user) it still spends the time of a real check, so the answer time does
/// not reveal whether a user exists.
pub async fn verify(password: HumanPassword, stored: Option<String>) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DECOY_HASH.clone());
        let parsed = PasswordHash::new(&stored).map_err(|e| PasswordError::Hash(e.to_string()))?;
        let matches = Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok();
        Ok(matches && stored != *DECOY_HASH)
    })
    .await
    .map_err(|_| PasswordError::Join)?
}

/// A hash of a random password nobody knows, computed once.
static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(HumanPassword::generate().expose().as_bytes(), &salt)
        .expect("argon2 hashes a fixed-size input")
        .to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let phc = hash(HumanPassword::new("correct horse battery staple")).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify(HumanPassword::new("correct horse battery staple"), Some(phc.clone())).await.unwrap());
        assert!(!verify(HumanPassword::new("correct horse battery stapler"), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!verify(HumanPassword::new(""), Some(phc)).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt() {
        let a = hash(HumanPassword::new("same password here")).await.unwrap();
        let b = hash(HumanPassword::new("same password here")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify(HumanPassword::new("anything"), None).await.unwrap());
    }

    #[tokio::test]
    async fn corrupt_stored_hash_is_an_error_not_a_match() {
        assert!(verify(HumanPassword::new("x"), Some("not-a-phc-string".into())).await.is_err());
    }

    #[test]
    fn generated_passwords_are_long_random_and_redacted() {
        let a = HumanPassword::generate();
        let b = HumanPassword::generate();
        assert_eq!(a.expose().len(), 24);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "HumanPassword(<redacted>)");
    }
}
