//! Who a credential is and what it may do: the data plane's and token
//! endpoint's single source of identity and permissions. The decision
//! itself is `policy` (pure); this module loads what it needs.
//!
//! Until repository tokens exist, the only identity is the portal's
//! administrators, who hold every action on every repository.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sha2::{Digest as _, Sha256};

use crate::{
    auth::{
        password::{self, HumanPassword},
        token::Subject,
    },
    db::{users, Database, DbError},
    policy::ActionSet,
};

/// How long a verified admin password is remembered, so that clients
/// sending Basic credentials on every request do not pay argon2 each time.
/// The cache key includes the stored hash: a password change ends it.
const VERIFIED_PASSWORD_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("password check failed: {0}")]
    Password(#[from] password::PasswordError),
}

pub struct AccessService {
    db: Database,
    verified: Mutex<HashMap<[u8; 32], Instant>>,
}

impl AccessService {
    pub fn new(db: Database) -> Self {
        Self { db, verified: Mutex::new(HashMap::new()) }
    }

    /// The subject these credentials name, or `None` when they are wrong
    /// (without saying which part).
    pub async fn verify_password(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<Option<Subject>, AccessError> {
        let user = users::find_by_name(&self.db, username).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let key = cache_key(username, secret, stored.as_deref().unwrap_or(""));
        let cached = {
            let mut verified = self.verified.lock().expect("verified cache");
            verified.retain(|_, at| at.elapsed() < VERIFIED_PASSWORD_TTL);
            verified.contains_key(&key)
        };
        let matches = cached || password::verify(HumanPassword::new(secret), stored).await?;
        match user {
            Some(user) if matches && user.is_admin => {
                self.verified.lock().expect("verified cache").insert(key, Instant::now());
                Ok(Some(Subject::Admin(user.name)))
            }
            _ => Ok(None),
        }
    }

    /// Whether the subject still exists and may authenticate (checked again
    /// when a refresh token is used).
    pub async fn subject_is_active(&self, subject: &Subject) -> Result<bool, AccessError> {
        match subject {
            Subject::Admin(name) => {
                Ok(users::find_by_name(&self.db, name).await?.is_some_and(|u| u.is_admin))
            }
            Subject::Token(_) => Ok(false),
        }
    }

    /// The actions the subject holds on `repository` right now.
    pub async fn allowed_actions(
        &self,
        subject: &Subject,
        _repository: &str,
    ) -> Result<ActionSet, AccessError> {
        Ok(match subject {
            Subject::Admin(_) => ActionSet::ALL,
            Subject::Token(_) => ActionSet::EMPTY,
        })
    }
}

fn cache_key(username: &str, secret: &str, stored_hash: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [username, secret, stored_hash] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}
