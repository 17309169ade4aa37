//! Sign-in throttling: after repeated failures for one user name from one
//! client, further attempts are refused for a growing delay, so passwords
//! cannot be guessed at the speed of the server. Pure bookkeeping in
//! memory: no I/O, the clock is passed in.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use sha2::{Digest as _, Sha256};

/// Failures allowed before the first lock-out.
pub const FREE_FAILURES: u32 = 5;
const FIRST_LOCK: Duration = Duration::from_secs(30);
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// A key with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKey {
    pub user: String,
    pub client: IpAddr,
}

impl AttemptKey {
    pub fn new(user: &str, client: IpAddr) -> Self {
        Self { user: user.to_lowercase(), client }
    }

    /// Attempts with one presented credential from one client, for login
    /// points where the user name is shared by design (the federated
    /// `00000000-…` name, the token exchange): one client failing with one
    /// token never locks out another pipeline. `kind` keeps the spaces
    /// apart; the key holds a digest, never the credential. No user name
    /// contains `:`, so these never meet a name's key.
    pub fn presented(kind: &str, credential: &str, client: IpAddr) -> Self {
        let digest = Sha256::digest(credential.as_bytes());
        Self { user: format!("{kind}:{}", hex::encode(&digest[..16])), client }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<AttemptKey, Failures>>,
}

impl LoginThrottle {
    /// `Err(wait)` when the key is locked out at `now`.
    pub fn check(&self, key: &AttemptKey, now: Instant) -> Result<(), Duration> {
        let failures = self.failures.lock().expect("throttle lock");
        match failures.get(key).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: AttemptKey, now: Instant) {
        let mut failures = self.failures.lock().expect("throttle lock");
        failures.retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
        let entry = failures.entry(key).or_insert(Failures { count: 0, last: now, locked_until: None });
        entry.count += 1;
        entry.last = now;
        if entry.count >= FREE_FAILURES {
            let doublings = (entry.count - FREE_FAILURES).min(16);
            let lock = FIRST_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK);
            entry.locked_until = Some(now + lock);
        }
    }

    pub fn record_success(&self, key: &AttemptKey) {
        self.failures.lock().expect("throttle lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: &str) -> AttemptKey {
        AttemptKey::new(user, "127.0.0.1".parse().unwrap())
    }

    #[test]
    fn locks_after_the_free_failures_and_unlocks_later() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..FREE_FAILURES - 1 {
            throttle.record_failure(key("admin"), t0);
            assert!(throttle.check(&key("admin"), t0).is_ok(), "after {} failures", i + 1);
        }
        throttle.record_failure(key("admin"), t0);
        assert_eq!(throttle.check(&key("admin"), t0), Err(FIRST_LOCK));
        assert!(throttle.check(&key("admin"), t0 + FIRST_LOCK).is_ok());
    }

    #[test]
    fn lock_doubles_and_is_capped() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES + 1 {
            throttle.record_failure(key("admin"), t0);
        }
        assert_eq!(throttle.check(&key("admin"), t0), Err(FIRST_LOCK * 2));
        for _ in 0..40 {
            throttle.record_failure(key("admin"), t0);
        }
        assert_eq!(throttle.check(&key("admin"), t0), Err(MAX_LOCK));
    }

    #[test]
    fn keys_are_independent_and_case_insensitive() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.record_failure(key("Admin"), t0);
        }
        assert!(throttle.check(&key("admin"), t0).is_err());
        assert!(throttle.check(&key("other"), t0).is_ok());
        let elsewhere = AttemptKey::new("admin", "10.1.2.3".parse().unwrap());
        assert!(throttle.check(&elsewhere, t0).is_ok());
    }

    #[test]
    fn presented_credentials_are_keyed_apart_and_never_as_a_name() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            throttle.record_failure(AttemptKey::presented("refresh-token", "stolen", client), t0);
        }
        assert!(throttle.check(&AttemptKey::presented("refresh-token", "stolen", client), t0).is_err());
        assert!(throttle.check(&AttemptKey::presented("refresh-token", "another", client), t0).is_ok());
        let elsewhere: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(throttle.check(&AttemptKey::presented("refresh-token", "stolen", elsewhere), t0).is_ok());
        assert!(throttle.check(&AttemptKey::new("00000000-0000-0000-0000-000000000000", client), t0).is_ok());
        assert!(!AttemptKey::presented("refresh-token", "stolen", client).user.contains("stolen"));
    }

    #[test]
    fn success_clears_the_count() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.record_failure(key("admin"), t0);
        }
        throttle.record_success(&key("admin"));
        throttle.record_failure(key("admin"), t0);
        assert!(throttle.check(&key("admin"), t0).is_ok());
    }

    #[test]
    fn old_failures_are_forgotten() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.record_failure(key("admin"), t0);
        }
        let later = t0 + FORGET_AFTER + Duration::from_secs(1);
        throttle.record_failure(key("admin"), later);
        assert!(throttle.check(&key("admin"), later).is_ok());
    }
}
