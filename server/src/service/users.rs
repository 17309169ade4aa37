//! Administrators' own accounts: changing one's password. The one owner of
//! the rules for a person's new password and of who may change whose; the
//! management API (`PUT /api/v1/users/{name}/password`) and the portal both
//! call [`UserService::change_password`]. The current password is checked
//! by `service::access` (argon2, throttled like every login point); the new
//! one is hashed with `auth::password`. Never builds HTTP responses.

use super::Cause;
use std::{fmt, net::IpAddr, sync::Arc, time::Duration};

use crate::{
    auth::{
        password::{self, HumanPassword, PasswordError},
        token::Subject,
        token_password,
    },
    config::AdminPassword,
    db::{users, Database, DbError},
    service::{
        access::{AccessError, AccessService},
        audit::{AuditLog, Caller, Outcome},
    },
};

/// The audit action of a password change (success, failure or denial).
pub const PASSWORD_CHANGE: &str = "user.password";

/// The shortest password accepted, as for the first administrator's.
pub const MIN_LEN: usize = AdminPassword::MIN_LEN;

/// The longest password accepted. Argon2 takes any length, but hashing
/// megabytes on request would be a cheap way to load the server.
pub const MAX_LEN: usize = 1024;

/// Why a new password is refused. `Display` is the API's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort,
    TooLong,
    SameAsCurrent,
    SameAsName,
    /// Starts like a token password (`pct_`): sign-in would take it for
    /// one and never check it against the user.
    TokenPrefix,
}

impl fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => {
                write!(f, "the new password must have at least {MIN_LEN} characters")
            }
            Self::TooLong => write!(f, "the new password must have at most {MAX_LEN} characters"),
            Self::SameAsCurrent => f.write_str("the new password must differ from your current one"),
            Self::SameAsName => f.write_str("the new password must not be your user name"),
            Self::TokenPrefix => write!(
                f,
                "the new password must not start with {:?}, which marks token passwords",
                token_password::PREFIX
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Not the user themself: another administrator, or a token.
    #[error("{0}")]
    Denied(String),
    /// The current password given is not the user's; nothing changed.
    #[error("the current password is not correct; the password was not changed")]
    WrongPassword,
    /// Too many failed sign-ins of this user from this client (wrong
    /// current passwords count as such), or too many password checks at
    /// once: retry after this.
    #[error("too many sign-in attempts (failed ones, or too many at once): retry in {} s", .retry_after.as_secs())]
    Throttled { retry_after: Duration },
    #[error("{0}")]
    Invalid(PasswordRule),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl From<DbError> for UserError {
    fn from(error: DbError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<PasswordError> for UserError {
    fn from(error: PasswordError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<AccessError> for UserError {
    fn from(error: AccessError) -> Self {
        match error.retry_after() {
            Some(retry_after) => Self::Throttled { retry_after },
            None => Self::Internal(error.into()),
        }
    }
}

/// Checks a new password against the rules, before anything is verified
/// or written.
pub fn check_new_password(name: &str, current: &str, new: &str) -> Result<(), PasswordRule> {
    let length = new.chars().count();
    if length < MIN_LEN {
        return Err(PasswordRule::TooShort);
    }
    if length > MAX_LEN {
        return Err(PasswordRule::TooLong);
    }
    if new == current {
        return Err(PasswordRule::SameAsCurrent);
    }
    if new.to_lowercase() == name.to_lowercase() {
        return Err(PasswordRule::SameAsName);
    }
    if new.starts_with(token_password::PREFIX) {
        return Err(PasswordRule::TokenPrefix);
    }
    Ok(())
}

pub struct UserService {
    db: Database,
    audit: AuditLog,
    /// Checks the current password as a sign-in: a wrong one counts as a
    /// failed sign-in of that user from that client, so a stolen session
    /// cannot guess the password at the server's speed.
    access: Arc<AccessService>,
}

impl UserService {
    pub fn new(db: Database, audit: AuditLog, access: Arc<AccessService>) -> Self {
        Self { db, audit, access }
    }

    /// How many people have an account.
    pub async fn count(&self) -> Result<i64, UserError> {
        Ok(users::count(&self.db).await?)
    }

    /// `actor` sets the password of user `name` to `new`, proving with
    /// `current` that they know the present one. Only an administrator
    /// changing their own password may; `client` keys the throttle. A
    /// refusal changes nothing; every attempt past the permission check is
    /// audited (without either password).
    pub async fn change_password(
        &self,
        actor: &Subject,
        name: &str,
        current: HumanPassword,
        new: HumanPassword,
        client: IpAddr,
    ) -> Result<(), UserError> {
        let own = matches!(actor, Subject::User(actor_name) if actor_name == name);
        if !own {
            self.record(actor, Outcome::Denied, format!("password of {}", name.escape_debug())).await;
            return Err(UserError::Denied(match actor {
                Subject::User(_) => "a user may change only their own password".to_owned(),
                Subject::Token(_) => {
                    "a token cannot change a user's password; authenticate as that user".to_owned()
                }
                Subject::ServicePrincipal(_) | Subject::Anonymous => {
                    "only the user themself can change their password; authenticate as that user".to_owned()
                }
            }));
        }
        check_new_password(name, current.expose(), new.expose()).map_err(UserError::Invalid)?;
        let Some(user) = self.access.sign_in_user(name, current.expose(), client).await? else {
            self.record(actor, Outcome::Failure, "wrong current password".to_owned()).await;
            return Err(UserError::WrongPassword);
        };
        let phc = password::hash(new).await?;
        if !users::set_password_hash(&self.db, &user.name, &phc).await? {
            return Err(UserError::Internal(
                format!("user {} vanished during a password change", user.name).into(),
            ));
        }
        self.record(actor, Outcome::Success, format!("password of {} changed", user.name.escape_debug()))
            .await;
        Ok(())
    }

    async fn record(&self, actor: &Subject, outcome: Outcome, detail: String) {
        self.audit.record(Caller::Subject(actor), None, None, PASSWORD_CHANGE, outcome, Some(detail)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::{auth::token_password::PasswordHasher, service::access::system_clock};

    const FIRST: &str = "first-admin-password";
    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    struct Fixture {
        users: UserService,
        db: Database,
        audit: AuditLog,
        admin: Subject,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let phc = password::hash(HumanPassword::new(FIRST)).await.unwrap();
        users::insert_for_test(&db, "admin", &phc).await;
        let audit = AuditLog::start(db.clone());
        let hasher = Arc::new(PasswordHasher::from_key([7; 32]));
        let access = Arc::new(AccessService::new(db.clone(), hasher, audit.clone(), system_clock()));
        Fixture {
            users: UserService::new(db.clone(), audit.clone(), access),
            db,
            audit,
            admin: Subject::User("admin".into()),
            _dir: dir,
        }
    }

    impl Fixture {
        async fn change(
            &self,
            actor: &Subject,
            name: &str,
            current: &str,
            new: &str,
        ) -> Result<(), UserError> {
            self.users
                .change_password(actor, name, HumanPassword::new(current), HumanPassword::new(new), CLIENT)
                .await
        }

        async fn stored_hash(&self) -> String {
            users::find_by_name(&self.db, "admin").await.unwrap().unwrap().password_hash
        }

        async fn verifies(&self, password: &str) -> bool {
            password::verify(HumanPassword::new(password), Some(self.stored_hash().await)).await.unwrap()
        }

        /// (action, outcome, detail) of the password-change audit entries,
        /// oldest first (a wrong current password is also a failed login).
        async fn audited(&self) -> Vec<(String, String, Option<String>)> {
            let mut rows = self.audit.list(None, None, 100).await.unwrap();
            rows.reverse();
            rows.into_iter()
                .filter(|row| row.action == PASSWORD_CHANGE)
                .map(|row| (row.action, row.outcome, row.detail))
                .collect()
        }
    }

    #[test]
    fn new_password_rules() {
        let check = |new: &str| check_new_password("administrator", "the-current-one", new);
        assert_eq!(check("a-good-new-password"), Ok(()));
        assert_eq!(check("twelve-chars"), Ok(()), "exactly MIN_LEN");
        assert_eq!(check("eleven-char"), Err(PasswordRule::TooShort));
        // Characters, not bytes: eleven two-byte characters are too short.
        assert_eq!(check(&"é".repeat(11)), Err(PasswordRule::TooShort));
        assert_eq!(check(&"x".repeat(MAX_LEN)), Ok(()));
        assert_eq!(check(&"x".repeat(MAX_LEN + 1)), Err(PasswordRule::TooLong));
        assert_eq!(check("the-current-one"), Err(PasswordRule::SameAsCurrent));
        assert_eq!(
            check_new_password("administrator", "another-password", "Administrator"),
            Err(PasswordRule::SameAsName)
        );
        assert_eq!(check("pct_looks-like-a-token"), Err(PasswordRule::TokenPrefix));
        assert_eq!(PasswordRule::TooShort.to_string(), "the new password must have at least 12 characters");
    }

    #[tokio::test]
    async fn the_admin_changes_their_password_and_only_the_new_one_works() {
        let f = fixture().await;
        f.change(&f.admin, "admin", FIRST, "second-admin-password").await.unwrap();
        assert!(f.stored_hash().await.starts_with("$argon2id$"));
        assert!(f.verifies("second-admin-password").await);
        assert!(!f.verifies(FIRST).await);

        let audited = f.audited().await;
        assert_eq!(
            audited,
            [(
                PASSWORD_CHANGE.to_owned(),
                "success".to_owned(),
                Some("password of admin changed".to_owned())
            )]
        );
        for row in f.audit.list(None, None, 100).await.unwrap() {
            let text = format!("{} {} {}", row.caller, row.action, row.detail.unwrap_or_default());
            assert!(!text.contains(FIRST) && !text.contains("second-admin-password"), "{text}");
        }
        let rows = f.audit.list(None, None, 1).await.unwrap();
        assert_eq!((rows[0].caller.as_str(), rows[0].action.as_str()), ("user:admin", PASSWORD_CHANGE));
    }

    #[tokio::test]
    async fn a_wrong_current_password_is_refused_and_changes_nothing() {
        let f = fixture().await;
        let before = f.stored_hash().await;
        let refused = f.change(&f.admin, "admin", "not-the-password", "second-admin-password").await;
        assert!(matches!(refused, Err(UserError::WrongPassword)), "{refused:?}");
        assert_eq!(f.stored_hash().await, before);
        assert_eq!(
            f.audited().await,
            [(PASSWORD_CHANGE.to_owned(), "failure".to_owned(), Some("wrong current password".to_owned()))]
        );
    }

    #[tokio::test]
    async fn an_invalid_new_password_is_refused_before_anything_is_checked_or_written() {
        let f = fixture().await;
        let before = f.stored_hash().await;
        for (new, rule) in [
            ("short", PasswordRule::TooShort),
            (FIRST, PasswordRule::SameAsCurrent),
            ("pct_aaaaaaaaaaaaaaaa", PasswordRule::TokenPrefix),
        ] {
            let refused = f.change(&f.admin, "admin", FIRST, new).await;
            assert!(matches!(refused, Err(UserError::Invalid(found)) if found == rule), "{new}: {refused:?}");
        }
        assert_eq!(f.stored_hash().await, before);
        assert!(f.audited().await.is_empty());
    }

    #[tokio::test]
    async fn only_the_user_themself_may_change_it() {
        let f = fixture().await;
        let before = f.stored_hash().await;
        let other_admin = Subject::User("other".into());
        let refused = f.change(&other_admin, "admin", FIRST, "second-admin-password").await;
        assert!(matches!(&refused, Err(UserError::Denied(m)) if m.contains("only their own")), "{refused:?}");
        let token = Subject::Token("admin".into());
        let refused = f.change(&token, "admin", FIRST, "second-admin-password").await;
        assert!(matches!(&refused, Err(UserError::Denied(m)) if m.contains("token")), "{refused:?}");
        assert_eq!(f.stored_hash().await, before);
        let outcomes: Vec<String> = f.audited().await.into_iter().map(|(_, outcome, _)| outcome).collect();
        assert_eq!(outcomes, ["denied", "denied"]);
    }

    #[tokio::test]
    async fn repeated_wrong_current_passwords_are_throttled() {
        let f = fixture().await;
        for _ in 0..crate::auth::throttle::FREE_FAILURES {
            let refused = f.change(&f.admin, "admin", "not-the-password", "second-admin-password").await;
            assert!(matches!(refused, Err(UserError::WrongPassword)), "{refused:?}");
        }
        // Even the right password waits now.
        let refused = f.change(&f.admin, "admin", FIRST, "second-admin-password").await;
        assert!(matches!(refused, Err(UserError::Throttled { retry_after }) if retry_after.as_secs() > 0));
        assert!(f.verifies(FIRST).await);
    }
}
