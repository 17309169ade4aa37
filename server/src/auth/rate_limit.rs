//! Per-credential rate limits: how many read and how many write operations
//! each token, user or service principal (and each address calling
//! anonymously) may make a minute. The cloud registry documents such limits
//! per registry tier; here they are the operator's to set.
//!
//! The counting is GCRA from `governor`: a caller idle for a minute may make
//! a whole minute's operations at once, then one more each `60 s / limit`.
//! Pure bookkeeping in memory (per replica, like the sign-in throttle): no
//! I/O, and the clock is `governor`'s, which tests replace.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

use governor::{
    clock::{Clock, DefaultClock, Reference},
    middleware::NoOpMiddleware,
    nanos::Nanos,
    state::keyed::DashMapStateStore,
    Quota, RateLimiter,
};

use super::token::Subject;

/// How often (in checks) limiter state of callers idle for a minute is
/// dropped, so keys from many anonymous addresses do not pile up.
const PRUNE_EVERY: u64 = 1 << 16;

const MINUTE: Duration = Duration::from_secs(60);

/// The limits a registry enforces; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitConfig {
    pub reads_per_minute: Option<NonZeroU32>,
    pub writes_per_minute: Option<NonZeroU32>,
}

impl RateLimitConfig {
    /// The limit on operations of `kind`.
    pub fn per_minute(&self, kind: OperationKind) -> Option<NonZeroU32> {
        match kind {
            OperationKind::Read => self.reads_per_minute,
            OperationKind::Write => self.writes_per_minute,
        }
    }
}

/// Reads look (GET, HEAD); writes change something (PUT, POST, PATCH,
/// DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    Read,
    Write,
}

impl OperationKind {
    pub fn plural(self) -> &'static str {
        match self {
            OperationKind::Read => "reads",
            OperationKind::Write => "writes",
        }
    }
}

/// Whose operations are counted together: a credential's holder, or one
/// address calling without credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    Subject(Subject),
    Anonymous(IpAddr),
}

impl RateKey {
    pub fn new(subject: &Subject, client: IpAddr) -> Self {
        match subject {
            Subject::Anonymous => RateKey::Anonymous(client),
            other => RateKey::Subject(other.clone()),
        }
    }
}

/// An operation refused for going over a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub kind: OperationKind,
    pub per_minute: NonZeroU32,
    /// When the next operation of this kind would be admitted.
    pub retry_after: Duration,
    /// The first refusal of this caller and kind for a minute: the one to
    /// write down (the audit log gets one entry, not one per request).
    pub first: bool,
}

impl Limited {
    /// What the refusal says, for the error body and the audit log.
    pub fn reason(&self) -> String {
        format!("more than {} {} a minute", self.per_minute, self.kind.plural())
    }
}

type Limiter<C> = RateLimiter<RateKey, DashMapStateStore<RateKey>, C, NoOpMiddleware<<C as Clock>::Instant>>;

pub struct RateLimits<C: Clock = DefaultClock> {
    config: RateLimitConfig,
    reads: Option<Limiter<C>>,
    writes: Option<Limiter<C>>,
    clock: C,
    /// When each caller's last refusal of each kind was written down.
    reported: Mutex<HashMap<(RateKey, OperationKind), C::Instant>>,
    checks: AtomicU64,
}

impl RateLimits<DefaultClock> {
    pub fn new(config: RateLimitConfig) -> Self {
        Self::with_clock(config, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    pub fn with_clock(config: RateLimitConfig, clock: C) -> Self {
        let limiter = |limit: Option<NonZeroU32>| {
            limit.map(|limit| RateLimiter::dashmap_with_clock(Quota::per_minute(limit), clock.clone()))
        };
        Self {
            reads: limiter(config.reads_per_minute),
            writes: limiter(config.writes_per_minute),
            config,
            clock,
            reported: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Counts one operation of `kind` by `key`; `Err` when it goes over the
    /// limit (a refused operation is not counted).
    pub fn check(&self, key: &RateKey, kind: OperationKind) -> Result<(), Limited> {
        let limiter = match kind {
            OperationKind::Read => &self.reads,
            OperationKind::Write => &self.writes,
        };
        let (Some(limiter), Some(per_minute)) = (limiter, self.config.per_minute(kind)) else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        let Err(not_until) = limiter.check_key(key) else {
            return Ok(());
        };
        let now = self.clock.now();
        let retry_after = not_until.wait_time_from(now);
        let mut reported = self.reported.lock().expect("rate limit lock");
        let first = match reported.get(&(key.clone(), kind)) {
            Some(at) if now.duration_since(*at) < Nanos::from(MINUTE) => false,
            _ => {
                reported.insert((key.clone(), kind), now);
                true
            }
        };
        Err(Limited { kind, per_minute, retry_after, first })
    }

    /// Forgets callers idle for a minute (their allowance is whole again,
    /// so nothing is lost) and refusals written down a minute ago.
    fn prune(&self) {
        for limiter in [&self.reads, &self.writes].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now = self.clock.now();
        let minute = Nanos::from(MINUTE);
        self.reported.lock().expect("rate limit lock").retain(|_, at| now.duration_since(*at) < minute);
    }

    /// How many callers the limiters hold state for (for tests).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        [&self.reads, &self.writes].into_iter().flatten().map(|limiter| limiter.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limits(reads: u32, writes: u32) -> (RateLimits<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let config = RateLimitConfig {
            reads_per_minute: NonZeroU32::new(reads),
            writes_per_minute: NonZeroU32::new(writes),
        };
        (RateLimits::with_clock(config, clock.clone()), clock)
    }

    fn token(name: &str) -> RateKey {
        RateKey::Subject(Subject::Token(name.to_owned()))
    }

    #[test]
    fn a_minute_of_operations_at_once_then_one_each_interval() {
        let (limits, clock) = limits(6, 0);
        let ci = token("ci");
        for _ in 0..6 {
            assert_eq!(limits.check(&ci, OperationKind::Read), Ok(()));
        }
        let refused = limits.check(&ci, OperationKind::Read).unwrap_err();
        assert_eq!(refused.kind, OperationKind::Read);
        assert_eq!(refused.per_minute.get(), 6);
        assert_eq!(refused.retry_after, Duration::from_secs(10));
        assert!(refused.first);
        assert_eq!(refused.reason(), "more than 6 reads a minute");

        clock.advance(Duration::from_secs(9));
        assert_eq!(limits.check(&ci, OperationKind::Read).unwrap_err().retry_after, Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(limits.check(&ci, OperationKind::Read), Ok(()));
        assert!(limits.check(&ci, OperationKind::Read).is_err());

        clock.advance(Duration::from_secs(60));
        for _ in 0..6 {
            assert_eq!(limits.check(&ci, OperationKind::Read), Ok(()));
        }
    }

    #[test]
    fn callers_and_kinds_are_counted_apart_and_none_is_no_limit() {
        let (limits, _clock) = limits(1, 1);
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for key in [
            token("ci"),
            token("CI-2"),
            RateKey::Subject(Subject::User("ci".to_owned())),
            RateKey::new(&Subject::Anonymous, address),
            RateKey::new(&Subject::Anonymous, other),
        ] {
            assert_eq!(limits.check(&key, OperationKind::Read), Ok(()));
            assert_eq!(limits.check(&key, OperationKind::Write), Ok(()));
            assert!(limits.check(&key, OperationKind::Read).is_err());
            assert!(limits.check(&key, OperationKind::Write).is_err());
        }

        let (unlimited, _clock) = limits_without_writes();
        for _ in 0..1000 {
            assert_eq!(unlimited.check(&token("ci"), OperationKind::Write), Ok(()));
        }
        assert!(unlimited.check(&token("ci"), OperationKind::Read).is_ok());
        assert!(unlimited.check(&token("ci"), OperationKind::Read).is_err());
    }

    fn limits_without_writes() -> (RateLimits<FakeRelativeClock>, FakeRelativeClock) {
        limits(1, 0)
    }

    #[test]
    fn a_refusal_is_written_down_once_a_minute_per_caller_and_kind() {
        let (limits, clock) = limits(1, 1);
        let ci = token("ci");
        limits.check(&ci, OperationKind::Read).unwrap();
        limits.check(&ci, OperationKind::Write).unwrap();
        assert!(limits.check(&ci, OperationKind::Read).unwrap_err().first);
        assert!(!limits.check(&ci, OperationKind::Read).unwrap_err().first);
        assert!(limits.check(&ci, OperationKind::Write).unwrap_err().first);
        clock.advance(Duration::from_secs(30));
        assert!(!limits.check(&ci, OperationKind::Read).unwrap_err().first);
        clock.advance(Duration::from_secs(30));
        // A minute later the allowance is back: admitted, then refused and
        // written down again.
        limits.check(&ci, OperationKind::Read).unwrap();
        assert!(limits.check(&ci, OperationKind::Read).unwrap_err().first);
    }

    #[test]
    fn idle_callers_are_forgotten() {
        let (limits, clock) = limits(10, 10);
        for n in 0..100 {
            limits.check(&token(&format!("t{n}")), OperationKind::Read).unwrap();
        }
        assert_eq!(limits.tracked(), 100);
        clock.advance(Duration::from_secs(61));
        limits.prune();
        assert_eq!(limits.tracked(), 0);
        assert!(limits.reported.lock().unwrap().is_empty());
    }
}
