//! Who a credential is and what it may do: the data plane's, token
//! endpoint's, management API's and portal's single source of identity and
//! principals. The decision itself is `policy::decide` (pure); this module
//! loads what it needs, on every request, so a disabled or deleted token, a
//! regenerated password or an edited scope map counts from the next request
//! on, on every replica, and records every denial once
//! ([`AccessService::authorize`]).
//!
//! Users authenticate with argon2id passwords, service principals with a
//! generated client secret (recognised by its `pcs_` prefix, checked
//! against keyed digests), and both hold what their own and their groups'
//! role assignments allow in the registry's permissions mode; the anonymous
//! caller holds what the assignments to "Everyone (anonymous)" allow.
//! What an identity holds is loaded once per policy revision (every change
//! to identities, memberships, assignments or the mode takes a new one) and
//! cached; whether it may still act (enabled, its secret still there and
//! unexpired) is read on every request. Repository tokens authenticate with
//! a generated password (recognised by its `pct_` prefix), checked against
//! the keyed digests of their two slots, and hold what their scope map
//! allows.

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    auth::{
        password::{self, HumanPassword},
        rate_limit::{Limited, OperationKind, RateKey, RateLimitConfig, RateLimits},
        throttle::{AttemptKey, LoginThrottle},
        token::{AccessClaims, CredentialRef, Subject, TokenSigner},
        token_password::{PasswordHasher, PREFIX, SECRET_PREFIX},
    },
    db::{
        federation,
        identities::{self, AssignmentRow, Member},
        tokens::{self as token_rows, TokenRow},
        users::{self, UserRow},
        Database, DbError,
    },
    domain::RepositoryName,
    policy::{
        self,
        condition::Condition,
        roles::{IdentityAccess, Role, RoleAssignment, RoleAssignmentMode},
        CompiledScope, Decision, Grants, Operation,
    },
    service::{
        audit::{self, AuditLog, Caller as AuditCaller, Outcome},
        identities::FEDERATED_USER_NAME,
        tokens::{expired, PasswordSlot},
    },
};

/// How long a verified admin password is remembered, so that clients
/// sending Basic credentials on every request do not pay argon2 each time.
/// The cache key includes the stored hash: a password change ends it.
const VERIFIED_PASSWORD_TTL: Duration = Duration::from_secs(60);

/// How often a user's or service principal's last sign-in date is written.
const SIGN_IN_DATE_PRECISION: Duration = Duration::from_secs(60);

/// The audit log's action for an operation refused by a rate limit.
pub const RATE_LIMITED_ACTION: &str = "rate.limited";

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
    /// Too many failed sign-ins for this user name from this client.
    #[error("too many failed sign-ins: retry in {} s", retry_after.as_secs())]
    Throttled { retry_after: Duration },
    /// Too many password checks are waiting already; try again shortly.
    #[error("too many sign-ins at once: retry shortly")]
    Busy,
}

impl AccessError {
    /// For a 429/503 answer: how long the client should wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => Some((*retry_after).max(Duration::from_secs(1))),
            Self::Busy => Some(Duration::from_secs(1)),
            Self::Db(_) | Self::Password(_) => None,
        }
    }
}

/// The longest user name a person can have; longer ones are refused
/// without a password check (and without storing them whole anywhere).
const USER_NAME_MAX_LENGTH: usize = 64;

/// Whether `name` could name a person's account: the bootstrap and the
/// identities to come use letters, digits and `. _ - @`.
pub(crate) fn could_be_user_name(name: &str) -> bool {
    (1..=USER_NAME_MAX_LENGTH).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub use crate::policy::Principal;

/// A disabled account whose right password was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disabled {
    Token,
    User,
}

/// A successful authentication.
#[derive(Clone)]
pub struct Authenticated {
    pub subject: Subject,
    /// The password slot a token used.
    pub credential: Option<CredentialRef>,
    pub principal: Principal,
}

/// A caller whose credential was checked on this request, on any surface.
#[derive(Clone)]
pub struct Caller {
    pub subject: Subject,
    /// What the policy holds for the subject now.
    pub principal: Principal,
    /// The grants of a bearer token; `None` for Basic credentials and
    /// portal sessions, where the policy alone decides.
    pub grants: Option<Arc<AccessClaims>>,
}

impl From<Authenticated> for Caller {
    fn from(found: Authenticated) -> Self {
        Caller { subject: found.subject, principal: found.principal, grants: None }
    }
}

impl Caller {
    /// A user holding the first administrator's roles, for tests of the
    /// surfaces (which check the policy themselves).
    #[cfg(test)]
    pub fn administrator(name: &str) -> Caller {
        use crate::policy::roles::ADMINISTRATOR_ROLES;
        let assignments = ADMINISTRATOR_ROLES.map(|role| RoleAssignment::new(role, None)).to_vec();
        let access = IdentityAccess::new(RoleAssignmentMode::RbacAbac, assignments);
        Caller {
            subject: Subject::User(name.to_owned()),
            principal: Principal::Identity(Arc::new(access)),
            grants: None,
        }
    }

    /// The decision for `operation`, without recording anything (for
    /// questions such as "may this blob be mounted from there").
    pub fn decide(&self, operation: Operation<'_>) -> Decision {
        policy::decide(&self.principal, self.grants_for(operation), operation)
    }

    /// Whether repository lists may name `repository` to this caller.
    pub fn may_list(&self, repository: &RepositoryName) -> bool {
        policy::may_list(&self.principal, repository)
    }

    fn grants_for(&self, operation: Operation<'_>) -> Grants {
        let Some(claims) = &self.grants else { return Grants::Policy };
        let resource = match operation {
            Operation::Repository(name, _) => policy::Resource::Repository(name),
            Operation::ListRepositories => policy::Resource::Catalog,
            Operation::SignedIn | Operation::Control(..) => return Grants::Policy,
        };
        Grants::Issued(claims.granted(resource))
    }
}

/// What an identity held at a policy revision: (revision, its access,
/// whether any of its assignments is honoured).
type CachedIdentity = (i64, Arc<IdentityAccess>, bool);

pub struct AccessService {
    db: Database,
    hasher: Arc<PasswordHasher>,
    audit: AuditLog,
    clock: Clock,
    verified: Mutex<HashMap<[u8; 32], Instant>>,
    /// Compiled scope maps by id, with the revision they were compiled at.
    /// (This map and the next are read on every request: a fast seeded
    /// hash.)
    compiled: Mutex<foldhash::HashMap<i64, (i64, Arc<CompiledScope>)>>,
    /// What each identity holds (`None`: the anonymous caller), with the
    /// policy revision it was loaded at.
    identities: Mutex<foldhash::HashMap<Option<Member>, CachedIdentity>>,
    /// When each identity's sign-in date was last written.
    sign_ins: Mutex<HashMap<Member, Instant>>,
    /// Failed sign-ins per user name and client, for every login point:
    /// the portal, `/oauth2/token`, Basic on `/v2` and on `/api/v1`.
    throttle: LoginThrottle,
    /// Bounds the argon2 work that unauthenticated requests can cause: one
    /// check per core at a time, a queue of 8 per core behind them; beyond
    /// it a sign-in is answered "busy" at once.
    verifiers: password::Verifiers,
    /// Verifies refresh tokens presented as the password of the federated
    /// user name ([`Self::with_refresh_tokens`]); `None`: refused.
    refresh_tokens: Option<(Arc<TokenSigner>, String)>,
    /// Operations per minute per caller ([`Self::with_rate_limits`]); none
    /// by default.
    rate_limits: RateLimits,
}

impl AccessService {
    pub fn new(db: Database, hasher: Arc<PasswordHasher>, audit: AuditLog, clock: Clock) -> Self {
        Self {
            db,
            hasher,
            audit,
            clock,
            verified: Mutex::new(HashMap::new()),
            compiled: Mutex::default(),
            identities: Mutex::default(),
            sign_ins: Mutex::new(HashMap::new()),
            throttle: LoginThrottle::default(),
            verifiers: {
                let cores = std::thread::available_parallelism().map_or(2, usize::from);
                password::Verifiers::new(cores, cores * 8)
            },
            refresh_tokens: None,
            rate_limits: RateLimits::new(RateLimitConfig::default()),
        }
    }

    /// Limits how many read and write operations a minute each caller may
    /// make ([`Self::admit`]).
    pub fn with_rate_limits(mut self, config: RateLimitConfig) -> Self {
        self.rate_limits = RateLimits::new(config);
        self
    }

    pub fn rate_limits(&self) -> RateLimitConfig {
        self.rate_limits.config()
    }

    /// When `token` went over a rate limit since `since` (at most one entry
    /// a minute per kind, as [`Self::admit`] writes them), newest first:
    /// (time, reason).
    pub async fn rate_refusals(
        &self,
        token: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String)>, AccessError> {
        const SHOWN: i64 = 50;
        let rows = self.audit.list_token_action(token, RATE_LIMITED_ACTION, since, SHOWN).await?;
        Ok(rows.into_iter().map(|row| (row.at, row.detail.unwrap_or_default())).collect())
    }

    /// Counts one operation of `kind` by `caller` (calling from `client`)
    /// against the rate limits, on every surface alike. Over a limit it is
    /// refused; the first refusal of a caller in a minute is written to the
    /// audit log (as `rate.limited`, with the limit), the ones after it only
    /// to the log, so a client hammering the registry cannot flood the audit
    /// log.
    pub async fn admit(&self, caller: &Caller, kind: OperationKind, client: IpAddr) -> Result<(), Limited> {
        // Every request passes here: with no limit on this kind, nothing is
        // counted and no key is built.
        if self.rate_limits.config().per_minute(kind).is_none() {
            return Ok(());
        }
        let Err(limited) = self.rate_limits.check(&RateKey::new(&caller.subject, client), kind) else {
            return Ok(());
        };
        tracing::warn!(subject = %caller.subject, %client, limit = %limited.reason(), "rate limited");
        if limited.first {
            self.audit
                .record(
                    AuditCaller::Subject(&caller.subject),
                    None,
                    None,
                    RATE_LIMITED_ACTION,
                    Outcome::Denied,
                    Some(limited.reason()),
                )
                .await;
        }
        Err(limited)
    }

    /// Accepts this registry's refresh tokens (for `service`) as the
    /// password of the federated user name
    /// `00000000-0000-0000-0000-000000000000`, the cloud registry's
    /// convention for `docker login` after a token exchange.
    pub fn with_refresh_tokens(mut self, signer: Arc<TokenSigner>, service: String) -> Self {
        self.refresh_tokens = Some((signer, service));
        self
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Decides `operation` for `caller`, every surface alike, and records a
    /// denial (log and audit log) here and nowhere else.
    pub async fn authorize(&self, caller: &Caller, operation: Operation<'_>) -> Decision {
        let decision = caller.decide(operation);
        if let Decision::Deny(denial) = &decision {
            let repository = denial.repository().map(RepositoryName::as_str);
            tracing::warn!(subject = %caller.subject, repository, action = denial.action(), "request denied");
            self.audit
                .record(
                    AuditCaller::Subject(&caller.subject),
                    None,
                    repository,
                    denial.action(),
                    Outcome::Denied,
                    None,
                )
                .await;
        }
        decision
    }

    /// The subject these credentials name, or `None` when they are wrong
    /// (without saying which part: unknown names, wrong, expired or
    /// disabled credentials all answer `None`; the audit log says which).
    /// `client` is the caller's address: after repeated failures for this
    /// user name from it, attempts are refused for a while
    /// ([`AccessError::Throttled`]) without being checked.
    pub async fn authenticate(
        &self,
        username: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<Option<Authenticated>, AccessError> {
        if username == FEDERATED_USER_NAME {
            return self.authenticate_refresh_token(secret, client).await;
        }
        self.throttled(username, client, async {
            if secret.starts_with(PREFIX) {
                return self.authenticate_token(username, secret).await;
            }
            if secret.starts_with(SECRET_PREFIX) {
                return self.authenticate_service_principal(username, secret).await;
            }
            let Some(user) = self.verify_user(username, secret).await? else { return Ok(None) };
            let principal = self.identity(Some(Member::User(user.id))).await?;
            Ok(Some(Authenticated { subject: Subject::User(user.name), credential: None, principal }))
        })
        .await
    }

    /// Records a sign-in date at most once a minute per identity, without
    /// touching the database for the sign-ins in between (clients sending
    /// Basic credentials sign in on every request).
    async fn record_sign_in(&self, member: Member) {
        {
            let mut recorded = self.sign_ins.lock().expect("sign-in dates");
            if recorded.get(&member).is_some_and(|at| at.elapsed() < SIGN_IN_DATE_PRECISION) {
                return;
            }
            if recorded.len() > 100_000 {
                recorded.clear();
            }
            recorded.insert(member, Instant::now());
        }
        if let Err(error) = identities::record_sign_in(&self.db, member, (self.clock)()).await {
            tracing::warn!(%error, "could not record a sign-in date");
        }
    }

    /// The anonymous caller ("Everyone (anonymous)"): what its role
    /// assignments allow now (nothing without one).
    pub async fn anonymous(&self) -> Result<Caller, AccessError> {
        let principal = self.identity(None).await?;
        Ok(Caller { subject: Subject::Anonymous, principal, grants: None })
    }

    /// A person's portal sign-in: their account when the password matches,
    /// throttled like every other login point.
    pub async fn sign_in_user(
        &self,
        username: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<Option<UserRow>, AccessError> {
        self.throttled(username, client, self.verify_user(username, secret)).await
    }

    /// Runs one sign-in attempt unless this user name is locked out for
    /// this client, and counts its outcome.
    async fn throttled<T>(
        &self,
        username: &str,
        client: IpAddr,
        attempt: impl Future<Output = Result<Option<T>, AccessError>>,
    ) -> Result<Option<T>, AccessError> {
        let key = AttemptKey::new(username, client);
        self.throttled_as(key, attempt).await
    }

    /// Runs one sign-in attempt unless `key` is locked out, and counts its
    /// outcome.
    async fn throttled_as<T>(
        &self,
        key: AttemptKey,
        attempt: impl Future<Output = Result<Option<T>, AccessError>>,
    ) -> Result<Option<T>, AccessError> {
        if let Err(retry_after) = self.throttle.check(&key, Instant::now()) {
            tracing::warn!(user = %audit::unauthenticated_name(&key.user), client = %key.client, "sign-in throttled");
            return Err(AccessError::Throttled { retry_after });
        }
        let found = attempt.await?;
        match &found {
            Some(_) => self.throttle.record_success(&key),
            None => self.throttle.record_failure(key, Instant::now()),
        }
        Ok(found)
    }

    /// The user whose password this is. Names that cannot be a person's
    /// (too long, odd characters, or a token's name) are refused without an
    /// argon2 check; an unknown but possible name costs a check against a
    /// decoy hash, so timing does not tell which names exist.
    async fn verify_user(&self, username: &str, secret: &str) -> Result<Option<UserRow>, AccessError> {
        let refuse = |detail: &'static str| async move {
            let caller = AuditCaller::Unauthenticated(username);
            self.audit.record(caller, None, None, "login", Outcome::Failure, Some(detail.into())).await;
            Ok(None)
        };
        if !could_be_user_name(username) {
            return refuse("unknown user").await;
        }
        let user = users::find_by_name(&self.db, username).await?;
        if user.is_none() && token_rows::token(&self.db, username).await?.is_some() {
            return refuse("a token's name with a password that is not a token password").await;
        }
        if user.is_none() && identities::service_principal(&self.db, username).await?.is_some() {
            return refuse("a service principal's name with a password that is not a client secret").await;
        }
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let key = cache_key(username, secret, stored.as_deref().unwrap_or(""));
        let cached = {
            let mut verified = self.verified.lock().expect("verified cache");
            verified.retain(|_, at| at.elapsed() < VERIFIED_PASSWORD_TTL);
            verified.contains_key(&key)
        };
        let matches = cached
            || self.verifiers.verify(HumanPassword::new(secret), stored).await.ok_or(AccessError::Busy)??;
        match user {
            Some(user) if matches && !user.enabled => refuse("user disabled").await,
            Some(user) if matches => {
                self.verified.lock().expect("verified cache").insert(key, Instant::now());
                let subject = Subject::User(user.name.clone());
                self.audit
                    .record(AuditCaller::Subject(&subject), None, None, "login", Outcome::Success, None)
                    .await;
                self.record_sign_in(Member::User(user.id)).await;
                Ok(Some(user))
            }
            Some(_) => refuse("wrong password").await,
            None => refuse("unknown user").await,
        }
    }

    /// After a refused sign-in, which disabled account (if any) `secret`
    /// is right for. The portal says so to the person who knows the
    /// password; the data plane never does. One more verification, and only
    /// after a refusal that the throttle let through.
    pub async fn disabled_account(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<Option<Disabled>, AccessError> {
        if secret.starts_with(PREFIX) {
            let digest = self.hasher.digest(secret);
            let row = token_rows::token(&self.db, username).await?;
            let disabled =
                row.is_some_and(|row| !row.enabled && matching_slot(&row, &digest.0, (self.clock)()).is_ok());
            return Ok(disabled.then_some(Disabled::Token));
        }
        if secret.starts_with(SECRET_PREFIX) || !could_be_user_name(username) {
            return Ok(None);
        }
        let Some(user) = users::find_by_name(&self.db, username).await? else { return Ok(None) };
        if user.enabled {
            return Ok(None);
        }
        let matches = self
            .verifiers
            .verify(HumanPassword::new(secret), Some(user.password_hash))
            .await
            .ok_or(AccessError::Busy)??;
        Ok(matches.then_some(Disabled::User))
    }

    async fn authenticate_token(
        &self,
        name: &str,
        secret: &str,
    ) -> Result<Option<Authenticated>, AccessError> {
        // The digest is computed whether or not the token exists, so an
        // unknown name costs the same as a wrong password.
        let digest = self.hasher.digest(secret);
        let (row, revision) = token_rows::token_and_policy_revision(&self.db, name).await?.unzip();
        let now = (self.clock)();
        let matched = match &row {
            None => Err("unknown token"),
            Some(row) => matching_slot(row, &digest.0, now).and_then(|slot| {
                if row.enabled {
                    Ok((row, slot))
                } else {
                    Err("token disabled")
                }
            }),
        };
        let (row, slot) = match matched {
            Ok(found) => found,
            Err(reason) => {
                let token = row.as_ref().map(|row| row.name.as_str());
                let caller = AuditCaller::Unauthenticated(name);
                self.audit.record(caller, token, None, "login", Outcome::Failure, Some(reason.into())).await;
                return Ok(None);
            }
        };
        let subject = Subject::Token(row.name.clone());
        let detail = PasswordSlot::ALL[slot].as_str().to_owned();
        self.audit
            .record(AuditCaller::Subject(&subject), None, None, "login", Outcome::Success, Some(detail))
            .await;
        let serial = row.slots[slot].as_ref().expect("the matched slot holds a password").serial;
        let credential = Some(CredentialRef::TokenPassword { slot: slot as u8, serial });
        let revision = revision.expect("read with the row");
        let principal = self.scope_at_revision(row.scope_map_id, row.scope_map_revision, revision).await?;
        Ok(Some(Authenticated { subject, credential, principal }))
    }

    /// What the policy holds for `subject` now, or `None` when it may no
    /// longer act at all: a token that was deleted or disabled, or whose
    /// password slot was regenerated, deleted or has expired since
    /// `credential` was issued; a user or service principal that was
    /// deleted or disabled, or whose client secret was deleted or has
    /// expired.
    pub async fn principal(
        &self,
        subject: &Subject,
        credential: Option<CredentialRef>,
    ) -> Result<Option<Principal>, AccessError> {
        match subject {
            Subject::User(name) => {
                let Some((user, revision)) = users::enabled_id_and_policy_revision(&self.db, name).await?
                else {
                    return Ok(None);
                };
                Ok(Some(self.identity_at_revision(Some(Member::User(user)), revision).await?))
            }
            Subject::ServicePrincipal(name) => {
                let Some(found) =
                    identities::service_principal(&self.db, name).await?.filter(|sp| sp.enabled)
                else {
                    return Ok(None);
                };
                let current = match credential {
                    Some(CredentialRef::Secret(secret)) => {
                        identities::secret_by_id(&self.db, found.id, secret)
                            .await?
                            .is_some_and(|secret| !expired(secret.expires_at, (self.clock)()))
                    }
                    Some(CredentialRef::Federated(id)) => {
                        federation::credential_by_id(&self.db, found.id, id).await?.is_some()
                    }
                    _ => false,
                };
                if !current {
                    return Ok(None);
                }
                Ok(Some(self.identity(Some(Member::ServicePrincipal(found.id))).await?))
            }
            Subject::Anonymous => Ok(Some(self.identity(None).await?)),
            Subject::Token(name) => {
                let Some(CredentialRef::TokenPassword { slot, serial }) = credential else { return Ok(None) };
                let Some((token, revision)) =
                    token_rows::token_standing_and_policy_revision(&self.db, name).await?
                else {
                    return Ok(None);
                };
                let now = (self.clock)();
                let slot_current = token
                    .slots
                    .get(usize::from(slot))
                    .copied()
                    .flatten()
                    .is_some_and(|(current, expiry)| current == serial && !expired(expiry, now));
                if !token.enabled || !slot_current {
                    return Ok(None);
                }
                Ok(Some(
                    self.scope_at_revision(token.scope_map_id, token.scope_map_revision, revision).await?,
                ))
            }
        }
    }

    /// What an identity (or, with `None`, the anonymous caller) holds now:
    /// its own and its groups' role assignments in the registry's mode, and
    /// for a caller with credentials also what "Everyone (anonymous)"
    /// holds, when anything ([`Principal::WithEveryone`]).
    async fn identity(&self, member: Option<Member>) -> Result<Principal, AccessError> {
        let revision = identities::revision(&self.db).await?;
        self.identity_at_revision(member, revision).await
    }

    /// [`Self::identity`] with the policy revision already read (before
    /// anything else about the caller, so nothing cached is older).
    async fn identity_at_revision(
        &self,
        member: Option<Member>,
        revision: i64,
    ) -> Result<Principal, AccessError> {
        let (own, _) = self.identity_at(member, revision).await?;
        let principal = Principal::Identity(own);
        match member {
            None => Ok(principal),
            Some(_) => self.with_everyone(principal, revision).await,
        }
    }

    /// `principal` with the anonymous caller's repository access added,
    /// when some assignment of "Everyone (anonymous)" is honoured.
    async fn with_everyone(&self, principal: Principal, revision: i64) -> Result<Principal, AccessError> {
        let (everyone, grants) = self.identity_at(None, revision).await?;
        Ok(if grants { Principal::WithEveryone(Box::new(principal), everyone) } else { principal })
    }

    /// What `member` holds at `revision`, loaded once per revision, and
    /// whether any of its assignments is honoured. The revision is read
    /// before the assignments, so a cached entry is never older than its
    /// key.
    async fn identity_at(
        &self,
        member: Option<Member>,
        revision: i64,
    ) -> Result<(Arc<IdentityAccess>, bool), AccessError> {
        let cached = self.identities.lock().expect("identities").get(&member).cloned();
        if let Some((at, access, honoured)) = cached {
            if at == revision {
                return Ok((access, honoured));
            }
        }
        let (mode, rows) = self.assignments_of(member).await?;
        let honoured = parsed_assignments(&rows).any(|(_, _, assignment)| assignment.is_honoured(mode));
        let access = Arc::new(identity_access(mode, &rows));
        self.identities.lock().expect("identities").insert(member, (revision, access.clone(), honoured));
        Ok((access, honoured))
    }

    /// The registry's mode and the assignments that apply to `member`, as
    /// stored.
    pub async fn assignments_of(
        &self,
        member: Option<Member>,
    ) -> Result<(RoleAssignmentMode, Vec<AssignmentRow>), AccessError> {
        let mode = self.mode().await?;
        Ok((mode, identities::assignments_for(&self.db, member).await?))
    }

    /// The registry's permissions mode. Unset only before the first start
    /// has finished; then nothing conditional is honoured.
    pub async fn mode(&self) -> Result<RoleAssignmentMode, AccessError> {
        Ok(identities::mode(&self.db)
            .await?
            .and_then(|mode| mode.parse().ok())
            .unwrap_or(RoleAssignmentMode::Rbac))
    }

    /// A refresh token of this registry presented as the password of the
    /// federated user name (`docker login -u 00000000-… -p <refresh token>`
    /// after `/oauth2/exchange`): its subject while its credential still
    /// holds. Throttled per client address and token, never per name.
    async fn authenticate_refresh_token(
        &self,
        secret: &str,
        client: IpAddr,
    ) -> Result<Option<Authenticated>, AccessError> {
        let key = AttemptKey::presented("refresh-token", secret, client);
        self.throttled_as(key, async {
            let refuse = |detail: &'static str| async move {
                let caller = AuditCaller::Unauthenticated(FEDERATED_USER_NAME);
                self.audit.record(caller, None, None, "login", Outcome::Failure, Some(detail.into())).await;
                Ok(None)
            };
            let Some((signer, service)) = &self.refresh_tokens else {
                return refuse("refresh tokens are not accepted here").await;
            };
            let now = std::time::SystemTime::from((self.clock)());
            let Ok((subject, credential)) = signer.verify_refresh_credential(secret, service, now) else {
                return refuse("invalid refresh token").await;
            };
            let Some(principal) = self.principal(&subject, credential).await? else {
                return refuse("the refresh token's credential or identity no longer holds").await;
            };
            let detail = match credential {
                Some(CredentialRef::Federated(_)) => "refresh token of a federated credential",
                _ => "refresh token",
            };
            self.audit
                .record(
                    AuditCaller::Subject(&subject),
                    None,
                    None,
                    "login",
                    Outcome::Success,
                    Some(detail.into()),
                )
                .await;
            Ok(Some(Authenticated { subject, credential, principal }))
        })
        .await
    }

    async fn authenticate_service_principal(
        &self,
        name: &str,
        secret: &str,
    ) -> Result<Option<Authenticated>, AccessError> {
        let digest = self.hasher.digest(secret);
        let found = identities::secret_login(&self.db, name, &digest.0).await?;
        let now = (self.clock)();
        let matched = match &found {
            None => Err("unknown service principal"),
            Some((_, None)) => Err("wrong client secret"),
            Some((_, Some(secret))) if expired(secret.expires_at, now) => Err("client secret expired"),
            Some((owner, _)) if !owner.enabled => Err("service principal disabled"),
            Some((owner, Some(secret))) => Ok((owner, secret)),
        };
        let (owner, secret) = match matched {
            Ok(found) => found,
            Err(reason) => {
                let caller = AuditCaller::Unauthenticated(name);
                self.audit.record(caller, None, None, "login", Outcome::Failure, Some(reason.into())).await;
                return Ok(None);
            }
        };
        let subject = Subject::ServicePrincipal(owner.name.clone());
        let detail = format!("client secret {}", secret.key_id);
        self.audit
            .record(AuditCaller::Subject(&subject), None, None, "login", Outcome::Success, Some(detail))
            .await;
        self.record_sign_in(Member::ServicePrincipal(owner.id)).await;
        let principal = self.identity(Some(Member::ServicePrincipal(owner.id))).await?;
        Ok(Some(Authenticated { subject, credential: Some(CredentialRef::Secret(secret.id)), principal }))
    }

    /// The token's scope map, with what "Everyone (anonymous)" holds, at
    /// the policy revision read with the token's row.
    async fn scope_at_revision(
        &self,
        scope_map_id: i64,
        scope_map_revision: i64,
        revision: i64,
    ) -> Result<Principal, AccessError> {
        let scope = self.compiled_scope(scope_map_id, scope_map_revision).await?;
        self.with_everyone(Principal::Token(scope), revision).await
    }

    /// The token's scope map, compiled once per revision. Revisions come
    /// from one registry-wide counter and ids are never reused, so a cached
    /// entry can only ever be the rules of this very map at this revision.
    async fn compiled_scope(
        &self,
        scope_map_id: i64,
        scope_map_revision: i64,
    ) -> Result<Arc<CompiledScope>, AccessError> {
        let cached = self.compiled.lock().expect("compiled scopes").get(&scope_map_id).cloned();
        if let Some((revision, scope)) = cached {
            if revision == scope_map_revision {
                return Ok(scope);
            }
        }
        // Deleted since the token row was read: nothing is allowed.
        let Some((revision, rules)) = token_rows::scope_map_rules_at_revision(&self.db, scope_map_id).await?
        else {
            return Ok(Arc::new(CompiledScope::compile(std::iter::empty())));
        };
        let scope = Arc::new(CompiledScope::compile(&rules));
        self.compiled.lock().expect("compiled scopes").insert(scope_map_id, (revision, scope.clone()));
        Ok(scope)
    }
}

/// The decision's view of stored assignments. A stored role or condition
/// that no longer parses is logged and grants nothing (deny by default).
pub fn identity_access(mode: RoleAssignmentMode, rows: &[AssignmentRow]) -> IdentityAccess {
    IdentityAccess::new(mode, parsed_assignments(rows).map(|(_, _, assignment)| assignment).collect())
}

/// The stored assignments that parse, each with its position among those
/// that do (the index `IdentityAccess::check` names) and its row.
pub fn parsed_assignments(
    rows: &[AssignmentRow],
) -> impl Iterator<Item = (usize, &AssignmentRow, RoleAssignment)> {
    rows.iter()
        .filter_map(|row| {
            let Some(role) = Role::from_name(&row.role) else {
                tracing::warn!(assignment = %row.name, role = %row.role, "a stored role assignment names no role; it grants nothing");
                return None;
            };
            let condition = match row.condition.as_deref().map(Condition::parse) {
                None => None,
                Some(Ok(condition)) => Some(condition),
                Some(Err(error)) => {
                    tracing::warn!(assignment = %row.name, %error, "a stored condition does not parse; the assignment grants nothing");
                    return None;
                }
            };
            Some((row, RoleAssignment::new(role, condition)))
        })
        .enumerate()
        .map(|(index, (row, assignment))| (index, row, assignment))
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

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    use crate::{
        policy::{Action, ActionSet},
        service::tokens::{
            GenerateCredentials, NewToken, RepositoryActions, TokenService, TokenStatus as Status,
        },
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
            admin: Subject::User("admin".into()),
            _dir: dir,
        }
    }

    fn pull_on(repository: &str) -> Vec<RepositoryActions> {
        vec![RepositoryActions { repository: repository.into(), actions: vec![Action::ContentRead] }]
    }

    /// The two generated passwords of a new token.
    async fn create(f: &Fixture, name: &str, expiry: Option<DateTime<Utc>>) -> [String; 2] {
        let request = NewToken {
            name: name.into(),
            repositories: Some(pull_on("samples/app")),
            expiry,
            ..NewToken::default()
        };
        let view = f.tokens.create_token(&f.admin, &request, None).await.unwrap();
        let values: Vec<String> = view
            .credentials
            .passwords
            .iter()
            .map(|p| p.value.clone().expect("shown at creation").into_inner())
            .collect();
        [values[0].clone(), values[1].clone()]
    }

    async fn login(f: &Fixture, name: &str, password: &str) -> Option<Authenticated> {
        f.access.authenticate(name, password, LOCAL).await.unwrap()
    }

    async fn still_valid(f: &Fixture, who: &Authenticated) -> bool {
        f.access.principal(&who.subject, who.credential).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn expired_passwords_are_refused_and_end_issued_tokens() {
        let f = fixture().await;
        let [first, _] = create(&f, "expiring", Some(Utc::now() + Days::days(1))).await;
        let who = login(&f, "expiring", &first).await.expect("valid before expiry");
        assert!(
            policy::actions_on(&who.principal, &"samples/app".parse().unwrap()).contains(Action::ContentRead)
        );
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
        // Only the right password learns that the token is disabled.
        assert_eq!(f.access.disabled_account("customer", &first).await.unwrap(), Some(Disabled::Token));
        assert_eq!(f.access.disabled_account("customer", &second).await.unwrap(), Some(Disabled::Token));
        assert_eq!(f.access.disabled_account("customer", &format!("{first}x")).await.unwrap(), None);
        assert_eq!(f.access.disabled_account("nobody-here", &first).await.unwrap(), None);
        f.tokens.update_token(&f.admin, "customer", Some(Status::Enabled), None).await.unwrap();
        assert_eq!(f.access.disabled_account("customer", &first).await.unwrap(), None, "enabled");
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
        let new_first = generated.passwords[0].value.clone().unwrap().into_inner();
        assert!(login(&f, "rotating", &first).await.is_none(), "old password1");
        assert!(!still_valid(&f, &with_first).await, "tokens of the old password1");
        assert!(still_valid(&f, &with_second).await, "password2 untouched");
        assert!(login(&f, "rotating", &second).await.is_some());
        assert!(login(&f, "rotating", &new_first).await.is_some());
        // Names compare without case, as at `docker login`.
        assert!(login(&f, "ROTATING", &new_first).await.is_some());
    }

    #[tokio::test]
    async fn failed_sign_ins_lock_out_one_name_from_one_client() {
        let f = fixture().await;
        let [first, _] = create(&f, "guessed", None).await;
        let elsewhere: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..crate::auth::throttle::FREE_FAILURES {
            assert!(login(&f, "guessed", "pct_wrong").await.is_none());
        }
        let locked = f.access.authenticate("guessed", &first, LOCAL).await;
        assert!(matches!(locked, Err(AccessError::Throttled { .. })), "even the right password waits");
        assert!(
            f.access.authenticate("guessed", &first, elsewhere).await.unwrap().is_some(),
            "another client"
        );
        // People are throttled by the same count, at the portal too.
        let user = f.access.sign_in_user("guessed", "not a password", LOCAL).await;
        assert!(matches!(user, Err(AccessError::Throttled { .. })));
    }

    #[tokio::test]
    async fn scope_map_edits_apply_to_the_next_check() {
        let f = fixture().await;
        let [first, _] = create(&f, "editing", None).await;
        let who = login(&f, "editing", &first).await.unwrap();
        let write =
            vec![RepositoryActions { repository: "samples/*".into(), actions: vec![Action::ContentWrite] }];
        f.tokens
            .update_scope_map(&f.admin, "editing-scope-map", None, &write, &pull_on("samples/app"))
            .await
            .unwrap();
        let now = f.access.principal(&who.subject, who.credential).await.unwrap().unwrap();
        assert_eq!(
            policy::actions_on(&now, &"samples/app".parse().unwrap()),
            ActionSet::of(&[Action::ContentWrite])
        );
        assert_eq!(policy::actions_on(&now, &"samples".parse().unwrap()), ActionSet::EMPTY);
        assert!(!policy::may_list(&now, &"samples/app".parse().unwrap()));
    }
}

/// The decisions of a long-running server (whose caches saw every change)
/// equal those of a server started afresh on the same database, whatever
/// the order of creations, edits, deletions and uses of scope maps and
/// tokens (a cached scope map must never outlive its identity).
#[cfg(test)]
mod cache_consistency {
    use proptest::prelude::*;

    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    use crate::{
        policy::{Action, ActionSet},
        service::tokens::{NewToken, RepositoryActions, TokenService},
    };

    const MAPS: [&str; 3] = ["map-a", "map-b", "map-c"];
    const TOKENS: [&str; 3] = ["token-a", "token-b", "token-c"];
    const REPOSITORIES: [&str; 4] = ["customer/app", "other/app", "customer", "x"];
    const PATTERNS: [&str; 4] = ["customer/app", "customer/*", "*", "other/app"];

    #[derive(Debug, Clone)]
    enum Step {
        CreateMap {
            map: usize,
            pattern: usize,
            actions: u8,
        },
        EditMap {
            map: usize,
            pattern: usize,
            actions: u8,
        },
        DeleteMap {
            map: usize,
        },
        CreateToken {
            token: usize,
            map: usize,
        },
        /// A token with a scope map of its own (`<token>-scope-map`).
        CreateTokenWithMap {
            token: usize,
            pattern: usize,
            actions: u8,
        },
        /// The token and then its own scope map, as an administrator
        /// discards a token made with one.
        DiscardToken {
            token: usize,
        },
        SwitchMap {
            token: usize,
            map: usize,
        },
        DeleteToken {
            token: usize,
        },
        Use {
            token: usize,
        },
    }

    /// Few names, so that deletions and re-creations meet often (the fault
    /// needs a map deleted while newest, then another created).
    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (0..2usize, 0..4usize, 1..32u8).prop_map(|(map, pattern, actions)| Step::CreateMap {
                map,
                pattern,
                actions
            }),
            1 => (0..2usize, 0..4usize, 1..32u8).prop_map(|(map, pattern, actions)| Step::EditMap {
                map,
                pattern,
                actions
            }),
            2 => (0..2usize).prop_map(|map| Step::DeleteMap { map }),
            3 => (0..2usize, 0..2usize).prop_map(|(token, map)| Step::CreateToken { token, map }),
            3 => (0..2usize, 0..4usize, 1..32u8).prop_map(|(token, pattern, actions)| Step::CreateTokenWithMap {
                token,
                pattern,
                actions
            }),
            2 => (0..2usize).prop_map(|token| Step::DiscardToken { token }),
            1 => (0..2usize, 0..2usize).prop_map(|(token, map)| Step::SwitchMap { token, map }),
            2 => (0..2usize).prop_map(|token| Step::DeleteToken { token }),
            1 => (0..2usize).prop_map(|token| Step::Use { token }),
        ]
    }

    fn rules(pattern: usize, actions: u8) -> Vec<RepositoryActions> {
        let names = Action::ALL.iter().enumerate().filter(|(i, _)| actions & (1 << i) != 0);
        vec![RepositoryActions {
            repository: PATTERNS[pattern].into(),
            actions: names.map(|(_, action)| *action).collect(),
        }]
    }

    async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let hasher = Arc::new(PasswordHasher::from_key([5; 32]));
        let audit = AuditLog::start(db.clone());
        let long_running = AccessService::new(db.clone(), hasher.clone(), audit.clone(), system_clock());
        let tokens = TokenService::new(db.clone(), hasher.clone(), audit.clone());
        let admin = Subject::User("admin".into());
        // The credentials of each live token.
        let mut live: [Option<Authenticated>; 3] = [None, None, None];
        for step in steps {
            // Refusals (a name taken, a map in use, ...) are part of the game.
            match step {
                Step::CreateMap { map, pattern, actions } => {
                    let _ = tokens.create_scope_map(&admin, MAPS[map], "", &rules(pattern, actions)).await;
                }
                Step::EditMap { map, pattern, actions } => {
                    let _ = tokens
                        .replace_scope_map_rules(&admin, MAPS[map], None, &rules(pattern, actions))
                        .await;
                }
                Step::DeleteMap { map } => {
                    let _ = tokens.delete_scope_map(&admin, MAPS[map]).await;
                }
                Step::CreateToken { token, map } => {
                    let request = NewToken {
                        name: TOKENS[token].into(),
                        scope_map: Some(MAPS[map].into()),
                        ..NewToken::default()
                    };
                    if let Ok(view) = tokens.create_token(&admin, &request, None).await {
                        let password = view.credentials.passwords[0].value.clone().unwrap().into_inner();
                        live[token] =
                            long_running.authenticate(TOKENS[token], &password, LOCAL).await.unwrap();
                    }
                }
                Step::CreateTokenWithMap { token, pattern, actions } => {
                    let request = NewToken {
                        name: TOKENS[token].into(),
                        repositories: Some(rules(pattern, actions)),
                        ..NewToken::default()
                    };
                    if let Ok(view) = tokens.create_token(&admin, &request, None).await {
                        let password = view.credentials.passwords[0].value.clone().unwrap().into_inner();
                        live[token] =
                            long_running.authenticate(TOKENS[token], &password, LOCAL).await.unwrap();
                    }
                }
                Step::DiscardToken { token } => {
                    if tokens.delete_token(&admin, TOKENS[token]).await.is_ok() {
                        live[token] = None;
                    }
                    let _ = tokens.delete_scope_map(&admin, &format!("{}-scope-map", TOKENS[token])).await;
                }
                Step::SwitchMap { token, map } => {
                    let _ = tokens.update_token(&admin, TOKENS[token], None, Some(MAPS[map])).await;
                }
                Step::DeleteToken { token } => {
                    if tokens.delete_token(&admin, TOKENS[token]).await.is_ok() {
                        live[token] = None;
                    }
                }
                Step::Use { token } => {
                    if let Some(who) = &live[token] {
                        long_running.principal(&who.subject, who.credential).await.unwrap();
                    }
                }
            }
            let fresh = AccessService::new(db.clone(), hasher.clone(), audit.clone(), system_clock());
            for who in live.iter().flatten() {
                let cached = long_running.principal(&who.subject, who.credential).await.unwrap();
                let restarted = fresh.principal(&who.subject, who.credential).await.unwrap();
                prop_assert_eq!(cached.is_some(), restarted.is_some());
                if let (Some(cached), Some(restarted)) = (cached, restarted) {
                    for repository in REPOSITORIES {
                        prop_assert_eq!(
                            policy::actions_on(&cached, &repository.parse().unwrap()),
                            policy::actions_on(&restarted, &repository.parse().unwrap()),
                            "{} on {}",
                            who.subject,
                            repository
                        );
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn a_long_running_server_decides_as_a_fresh_one(steps in proptest::collection::vec(step(), 1..30)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(run(steps))?;
        }
    }

    /// The sequence that was reported: a `*` map used once, deleted with its
    /// token, then a narrow map created in its place.
    #[tokio::test]
    async fn a_new_scope_map_never_inherits_a_deleted_ones_rules() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let hasher = Arc::new(PasswordHasher::from_key([5; 32]));
        let audit = AuditLog::start(db.clone());
        let access = AccessService::new(db.clone(), hasher.clone(), audit.clone(), system_clock());
        let tokens = TokenService::new(db, hasher, audit);
        let admin = Subject::User("admin".into());
        let create = |name: &'static str, repository: &'static str, actions: Vec<Action>| {
            let request = NewToken {
                name: name.into(),
                repositories: Some(vec![RepositoryActions { repository: repository.into(), actions }]),
                ..NewToken::default()
            };
            let tokens = &tokens;
            let admin = &admin;
            async move {
                let view = tokens.create_token(admin, &request, None).await.unwrap();
                view.credentials.passwords[0].value.clone().unwrap().into_inner()
            }
        };
        let everything = Action::ALL.to_vec();
        let wide = create("wide-token", "*", everything).await;
        let who = access.authenticate("wide-token", &wide, LOCAL).await.unwrap().unwrap();
        assert!(
            policy::actions_on(&who.principal, &"other/app".parse().unwrap()).contains(Action::ContentDelete)
        );
        tokens.delete_token(&admin, "wide-token").await.unwrap();
        tokens.delete_scope_map(&admin, "wide-token-scope-map").await.unwrap();

        let narrow = create("narrow-token", "customer/app", vec![Action::ContentRead]).await;
        let who = access.authenticate("narrow-token", &narrow, LOCAL).await.unwrap().unwrap();
        assert_eq!(
            policy::actions_on(&who.principal, &"customer/app".parse().unwrap()),
            ActionSet::of(&[Action::ContentRead])
        );
        assert_eq!(policy::actions_on(&who.principal, &"other/app".parse().unwrap()), ActionSet::EMPTY);
        assert!(!policy::may_list(&who.principal, &"other/app".parse().unwrap()));
    }
}
