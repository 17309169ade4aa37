//! Who a credential is and what it may do: the data plane's, token
//! endpoint's and management API's single source of identity and
//! permissions. The decision itself is `policy` (pure); this module loads
//! what it needs, on every request, so a disabled or deleted token, a
//! regenerated password or an edited scope map counts from the next request
//! on, on every replica.
//!
//! Administrators (portal users with `is_admin`) authenticate with argon2id
//! passwords and hold every action. Repository tokens authenticate with a
//! generated password (recognised by its `pct_` prefix), checked against
//! the keyed digests of their two slots, and hold what their scope map
//! allows.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    auth::{
        password::{self, HumanPassword},
        token::{CredentialRef, Subject},
        token_password::{PasswordHasher, PREFIX},
    },
    db::{
        tokens::{self as token_rows, TokenRow},
        users, Database, DbError,
    },
    policy::{ActionSet, CompiledScope},
    service::{
        audit::{AuditLog, Caller, Outcome},
        tokens::{rules_from_rows, SLOT_NAMES},
    },
};

/// How long a verified admin password is remembered, so that clients
/// sending Basic credentials on every request do not pay argon2 each time.
/// The cache key includes the stored hash: a password change ends it.
const VERIFIED_PASSWORD_TTL: Duration = Duration::from_secs(60);

/// The current time; tests inject their own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("password check failed: {0}")]
    Password(#[from] password::PasswordError),
}

/// What a subject may do right now.
#[derive(Clone)]
pub enum Permissions {
    /// An administrator: every action everywhere.
    All,
    /// A repository token: what its scope map allows.
    Scope(Arc<CompiledScope>),
}

impl Permissions {
    pub fn actions_for(&self, repository: &str) -> ActionSet {
        match self {
            Permissions::All => ActionSet::ALL,
            Permissions::Scope(scope) => scope.actions_for(repository),
        }
    }

    /// Whether the catalog and repository lists may name `repository`
    /// (metadata/read on it: a token never learns a name outside its scope).
    pub fn may_list(&self, repository: &str) -> bool {
        match self {
            Permissions::All => true,
            Permissions::Scope(scope) => crate::policy::may_list_in_catalog(scope, repository),
        }
    }
}

/// A successful authentication.
#[derive(Clone)]
pub struct Authenticated {
    pub subject: Subject,
    /// The password slot a token used.
    pub credential: Option<CredentialRef>,
    pub permissions: Permissions,
}

pub struct AccessService {
    db: Database,
    hasher: Arc<PasswordHasher>,
    audit: AuditLog,
    clock: Clock,
    verified: Mutex<HashMap<[u8; 32], Instant>>,
    /// Compiled scope maps by id, with the revision they were compiled at.
    compiled: Mutex<HashMap<i64, (i64, Arc<CompiledScope>)>>,
}

impl AccessService {
    pub fn new(db: Database, hasher: Arc<PasswordHasher>, audit: AuditLog, clock: Clock) -> Self {
        Self {
            db,
            hasher,
            audit,
            clock,
            verified: Mutex::new(HashMap::new()),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The subject these credentials name, or `None` when they are wrong
    /// (without saying which part: unknown names, wrong, expired or
    /// disabled credentials all answer `None`; the audit log says which).
    pub async fn authenticate(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<Option<Authenticated>, AccessError> {
        if secret.starts_with(PREFIX) {
            return self.authenticate_token(username, secret).await;
        }
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
                Ok(Some(Authenticated {
                    subject: Subject::Admin(user.name),
                    credential: None,
                    permissions: Permissions::All,
                }))
            }
            _ => {
                let detail = if user.is_some() { "wrong password" } else { "unknown user" };
                self.audit.record(
                    Caller::Unauthenticated(username),
                    None,
                    None,
                    "login",
                    Outcome::Failure,
                    Some(detail.into()),
                );
                Ok(None)
            }
        }
    }

    async fn authenticate_token(
        &self,
        name: &str,
        secret: &str,
    ) -> Result<Option<Authenticated>, AccessError> {
        // The digest is computed whether or not the token exists, so an
        // unknown name costs the same as a wrong password.
        let digest = self.hasher.digest(secret);
        let row = token_rows::find_token(self.db.reader(), name).await?;
        let now = (self.clock)();
        let matched = match &row {
            None => Err("unknown token"),
            Some(row) => matching_slot(row, &digest.0, now)
                .and_then(|slot| if row.enabled { Ok((row, slot)) } else { Err("token disabled") }),
        };
        let (row, slot) = match matched {
            Ok(found) => found,
            Err(reason) => {
                let token = row.as_ref().map(|row| row.name.as_str());
                let caller = Caller::Unauthenticated(name);
                self.audit.record(caller, token, None, "login", Outcome::Failure, Some(reason.into()));
                return Ok(None);
            }
        };
        let subject = Subject::Token(row.name.clone());
        let detail = SLOT_NAMES[slot].to_owned();
        self.audit.record(Caller::Subject(&subject), None, None, "login", Outcome::Success, Some(detail));
        let serial = row.slots[slot].as_ref().expect("the matched slot holds a password").serial;
        let credential = Some(CredentialRef { slot: slot as u8, serial });
        Ok(Some(Authenticated { subject, credential, permissions: self.scope_of(row).await? }))
    }

    /// What `subject` may do now, or `None` when it may no longer act at
    /// all: a token that was deleted or disabled, or whose password slot
    /// was regenerated, deleted or has expired since `credential` was
    /// issued. Administrators must still exist.
    pub async fn permissions(
        &self,
        subject: &Subject,
        credential: Option<CredentialRef>,
    ) -> Result<Option<Permissions>, AccessError> {
        match subject {
            Subject::Admin(name) => Ok(users::find_by_name(&self.db, name)
                .await?
                .filter(|user| user.is_admin)
                .map(|_| Permissions::All)),
            Subject::Token(name) => {
                let Some(credential) = credential else { return Ok(None) };
                let Some(row) = token_rows::find_token(self.db.reader(), name).await? else {
                    return Ok(None);
                };
                let now = (self.clock)();
                let slot_current = row.slots[credential.slot as usize]
                    .as_ref()
                    .is_some_and(|slot| slot.serial == credential.serial && !expired(slot.expires_at, now));
                if !row.enabled || !slot_current {
                    return Ok(None);
                }
                Ok(Some(self.scope_of(&row).await?))
            }
        }
    }

    /// The token's scope map, compiled once per revision.
    async fn scope_of(&self, row: &TokenRow) -> Result<Permissions, AccessError> {
        let cached = self.compiled.lock().expect("compiled scopes").get(&row.scope_map_id).cloned();
        if let Some((revision, scope)) = cached {
            if revision == row.scope_map_revision {
                return Ok(Permissions::Scope(scope));
            }
        }
        let rules = rules_from_rows(&token_rows::scope_map_rules(self.db.reader(), row.scope_map_id).await?);
        let scope = Arc::new(CompiledScope::compile(&rules));
        self.compiled
            .lock()
            .expect("compiled scopes")
            .insert(row.scope_map_id, (row.scope_map_revision, scope.clone()));
        Ok(Permissions::Scope(scope))
    }
}

fn expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|expiry| expiry <= now)
}

/// The slot whose digest equals `digest` and has not expired. Both slots
/// are compared, in constant time each.
fn matching_slot(row: &TokenRow, digest: &[u8; 32], now: DateTime<Utc>) -> Result<usize, &'static str> {
    let matches: Vec<bool> = row
        .slots
        .iter()
        .map(|slot| slot.as_ref().is_some_and(|slot| bool::from(slot.digest.as_slice().ct_eq(digest))))
        .collect();
    let Some(index) = matches.iter().position(|m| *m) else { return Err("wrong password") };
    let slot = row.slots[index].as_ref().expect("matched slot exists");
    if expired(slot.expires_at, now) {
        return Err("password expired");
    }
    Ok(index)
}

fn cache_key(username: &str, secret: &str, stored_hash: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [username, secret, stored_hash] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::Duration as Days;

    use super::*;
    use crate::{
        policy::Action,
        service::tokens::{GenerateCredentials, NewToken, RepositoryActions, Status, TokenService},
    };

    struct Fixture {
        access: AccessService,
        tokens: TokenService,
        /// Seconds the injected clock runs ahead of the real one.
        skew: Arc<AtomicI64>,
        admin: Subject,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let hasher = Arc::new(PasswordHasher::from_key([3; 32]));
        let audit = AuditLog::start(db.clone());
        let skew = Arc::new(AtomicI64::new(0));
        let clock_skew = skew.clone();
        let clock: Clock = Arc::new(move || Utc::now() + Days::seconds(clock_skew.load(Ordering::SeqCst)));
        Fixture {
            access: AccessService::new(db.clone(), hasher.clone(), audit.clone(), clock),
            tokens: TokenService::new(db, hasher, audit),
            skew,
            admin: Subject::Admin("admin".into()),
            _dir: dir,
        }
    }

    fn pull_on(repository: &str) -> Vec<RepositoryActions> {
        vec![RepositoryActions { repository: repository.into(), actions: vec!["content/read".into()] }]
    }

    /// The two generated passwords of a new token.
    async fn create(f: &Fixture, name: &str, expiry: Option<DateTime<Utc>>) -> [String; 2] {
        let request = NewToken {
            name: name.into(),
            repositories: Some(pull_on("samples/app")),
            expiry,
            ..NewToken::default()
        };
        let view = f.tokens.create_token(&f.admin, &request).await.unwrap();
        let values: Vec<String> =
            view.credentials.passwords.iter().map(|p| p.value.clone().expect("shown at creation")).collect();
        [values[0].clone(), values[1].clone()]
    }

    async fn login(f: &Fixture, name: &str, password: &str) -> Option<Authenticated> {
        f.access.authenticate(name, password).await.unwrap()
    }

    async fn still_valid(f: &Fixture, who: &Authenticated) -> bool {
        f.access.permissions(&who.subject, who.credential).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn expired_passwords_are_refused_and_end_issued_tokens() {
        let f = fixture().await;
        let [first, _] = create(&f, "expiring", Some(Utc::now() + Days::days(1))).await;
        let who = login(&f, "expiring", &first).await.expect("valid before expiry");
        assert!(who.permissions.actions_for("samples/app").contains(Action::ContentRead));
        assert!(still_valid(&f, &who).await);

        f.skew.store(2 * 24 * 3600, Ordering::SeqCst);
        assert!(login(&f, "expiring", &first).await.is_none(), "expired password refused");
        assert!(!still_valid(&f, &who).await, "access tokens of an expired password end");
        f.skew.store(0, Ordering::SeqCst);
        assert!(login(&f, "expiring", &first).await.is_some(), "the expiry is the only reason");
    }

    #[tokio::test]
    async fn unknown_wrong_disabled_and_deleted_are_all_refused() {
        let f = fixture().await;
        let [first, second] = create(&f, "customer", None).await;
        let who = login(&f, "customer", &first).await.expect("valid");
        assert!(login(&f, "nobody-here", &first).await.is_none());
        assert!(login(&f, "customer", &format!("{first}x")).await.is_none());
        assert!(login(&f, "customer", "pct_not-the-password").await.is_none());
        assert!(login(&f, "customer", "not-a-token-password").await.is_none());

        f.tokens.update_token(&f.admin, "customer", Some(Status::Disabled), None).await.unwrap();
        assert!(login(&f, "customer", &first).await.is_none(), "disabled");
        assert!(!still_valid(&f, &who).await, "issued tokens end when disabled");
        f.tokens.update_token(&f.admin, "customer", Some(Status::Enabled), None).await.unwrap();
        assert!(still_valid(&f, &who).await, "and count again when re-enabled");

        f.tokens.delete_token(&f.admin, "customer").await.unwrap();
        assert!(login(&f, "customer", &second).await.is_none(), "deleted");
        assert!(!still_valid(&f, &who).await);
    }

    #[tokio::test]
    async fn regenerating_one_slot_keeps_the_other() {
        let f = fixture().await;
        let [first, second] = create(&f, "rotating", None).await;
        let with_first = login(&f, "rotating", &first).await.unwrap();
        let with_second = login(&f, "rotating", &second).await.unwrap();
        let request = GenerateCredentials { password1: true, ..GenerateCredentials::default() };
        let generated = f.tokens.generate_credentials(&f.admin, "rotating", request).await.unwrap();
        assert_eq!(generated.passwords.len(), 1);
        let new_first = generated.passwords[0].value.clone().unwrap();
        assert!(login(&f, "rotating", &first).await.is_none(), "old password1");
        assert!(!still_valid(&f, &with_first).await, "tokens of the old password1");
        assert!(still_valid(&f, &with_second).await, "password2 untouched");
        assert!(login(&f, "rotating", &second).await.is_some());
        assert!(login(&f, "rotating", &new_first).await.is_some());
        // Names compare without case, as at `docker login`.
        assert!(login(&f, "ROTATING", &new_first).await.is_some());
    }

    #[tokio::test]
    async fn scope_map_edits_apply_to_the_next_check() {
        let f = fixture().await;
        let [first, _] = create(&f, "editing", None).await;
        let who = login(&f, "editing", &first).await.unwrap();
        let write =
            vec![RepositoryActions { repository: "samples/*".into(), actions: vec!["content/write".into()] }];
        f.tokens
            .update_scope_map(&f.admin, "editing-scope-map", None, &write, &pull_on("samples/app"))
            .await
            .unwrap();
        let now = f.access.permissions(&who.subject, who.credential).await.unwrap().unwrap();
        assert_eq!(now.actions_for("samples/app"), ActionSet::of(&[Action::ContentWrite]));
        assert_eq!(now.actions_for("samples"), ActionSet::EMPTY);
        assert!(!now.may_list("samples/app"));
    }
}
