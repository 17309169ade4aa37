//! Human passwords: argon2id hashing and verification, run on a blocking
//! thread because each takes tens of milliseconds of CPU by design.

use std::{
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use password_hash::rand_core::OsRng;
use rand::{distributions::Alphanumeric, Rng};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// A password typed by a person. Never `Debug`-printed, never serialised,
/// wiped from memory when dropped.
pub struct HumanPassword(SecretString);

impl HumanPassword {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// A random 24-character alphanumeric password (about 142 bits), for the
    /// first administrator when the operator gave none.
    pub fn generate() -> Self {
        Self::new(OsRng.sample_iter(&Alphanumeric).take(24).map(char::from).collect::<String>())
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
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

/// Checks `password` against a stored PHC string, with the caller's memory
/// for argon2's blocks (grown to the stored hash's cost once, then reused).
/// With `None` (unknown user) it still spends the time of a real check, so
/// the answer time does not reveal whether a user exists.
fn verify_in(
    memory: &mut Vec<Block>,
    password: &HumanPassword,
    stored: Option<String>,
) -> Result<bool, PasswordError> {
    let invalid = |error: &dyn fmt::Display| PasswordError::Hash(error.to_string());
    // The decoy is hashed (once) only when an unknown user first signs in:
    // a real user's check never pays for it.
    let decoy = stored.is_none();
    let stored = stored.unwrap_or_else(|| DECOY_HASH.clone());
    let phc = PasswordHash::new(&stored).map_err(|e| invalid(&e))?;
    let algorithm = Algorithm::try_from(phc.algorithm).map_err(|e| invalid(&e))?;
    let version =
        phc.version.map(Version::try_from).transpose().map_err(|e| invalid(&e))?.unwrap_or_default();
    let params = Params::try_from(&phc).map_err(|e| invalid(&e))?;
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return Err(PasswordError::Hash("the stored hash has no salt or output".into()));
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(|e| invalid(&e))?;
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut output = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt,
            &mut output,
            &mut memory[..params.block_count()],
        )
        .map_err(|e| invalid(&e))?;
    let matches = bool::from(output.ct_eq(expected.as_bytes()));
    Ok(matches && !decoy)
}

/// Verifications for requests nobody has authenticated yet, on a fixed set
/// of threads (one per core) behind a bounded queue, each thread reusing
/// one block of argon2 memory (about 19 MiB): allocating it per check left
/// the process holding ~16 MiB more after every check (48 made-up logins:
/// 360 MiB, never returned, even with only two checks at a time). A thread
/// idle for [`RELEASE_AFTER_IDLE`] gives its block back, so a registry whose
/// clients use tokens (no argon2) does not hold 19 MiB per core for the one
/// administrator sign-in of the morning. A full queue is answered at once
/// ([`Verifiers::verify`] returns `None`): the caller says "busy".
pub struct Verifiers {
    threads: usize,
    queue: usize,
    release_after: Duration,
    /// Bytes of argon2 memory the threads hold now.
    held: Arc<AtomicUsize>,
    /// Started at the first check (most services never check a password).
    jobs: std::sync::OnceLock<flume::Sender<Job>>,
}

/// How long a verifier thread keeps its argon2 memory without a check.
pub const RELEASE_AFTER_IDLE: Duration = Duration::from_secs(30);

struct Job {
    password: HumanPassword,
    stored: Option<String>,
    answer: tokio::sync::oneshot::Sender<Result<bool, PasswordError>>,
}

impl Verifiers {
    /// `threads` verifiers and room for `queue` waiting checks.
    pub fn new(threads: usize, queue: usize) -> Self {
        Self {
            threads,
            queue,
            release_after: RELEASE_AFTER_IDLE,
            held: Arc::default(),
            jobs: std::sync::OnceLock::new(),
        }
    }

    /// Threads give their memory back after `idle` without a check.
    pub fn releasing_after(mut self, idle: Duration) -> Self {
        self.release_after = idle;
        self
    }

    /// Bytes of argon2 memory the verifier threads hold now.
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    fn start(&self) -> flume::Sender<Job> {
        let (jobs, receiver) = flume::bounded::<Job>(self.queue);
        for index in 0..self.threads.max(1) {
            let (receiver, held, idle) = (receiver.clone(), self.held.clone(), self.release_after);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    // Reused by every check on this thread until it idles.
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        match receiver.recv_timeout(idle) {
                            Ok(job) => {
                                let before = memory.capacity();
                                let verified = verify_in(&mut memory, &job.password, job.stored);
                                held.fetch_add(
                                    (memory.capacity() - before) * size_of::<Block>(),
                                    Ordering::Relaxed,
                                );
                                let _ = job.answer.send(verified);
                            }
                            Err(flume::RecvTimeoutError::Timeout) => {
                                held.fetch_sub(memory.capacity() * size_of::<Block>(), Ordering::Relaxed);
                                memory = Vec::new();
                            }
                            Err(flume::RecvTimeoutError::Disconnected) => return, // every sender is gone
                        }
                    }
                })
                .expect("start a password verifier thread");
        }
        jobs
    }

    /// [`verify_in`] on a verifier thread, or `None` at once when the queue
    /// is full.
    pub async fn verify(
        &self,
        password: HumanPassword,
        stored: Option<String>,
    ) -> Option<Result<bool, PasswordError>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.get_or_init(|| self.start());
        jobs.try_send(Job { password, stored, answer }).ok()?;
        Some(answered.await.unwrap_or(Err(PasswordError::Join)))
    }
}

/// A hash of a random password nobody knows, computed once.
static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(HumanPassword::generate().expose().as_bytes(), &salt)
        .expect("argon2 hashes a fixed-size input")
        .to_string()
});

/// One check on a verifier of its own, for tests.
#[cfg(test)]
pub async fn verify(password: HumanPassword, stored: Option<String>) -> Result<bool, PasswordError> {
    Verifiers::new(1, 1).verify(password, stored).await.expect("an idle verifier takes the check")
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

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
    async fn idle_verifiers_give_their_memory_back() {
        let phc = hash(HumanPassword::new("a long enough password")).await.unwrap();
        let verifiers = Verifiers::new(1, 1).releasing_after(Duration::from_millis(200));
        assert_eq!(verifiers.held_bytes(), 0, "nothing before the first check");
        let right = verifiers.verify(HumanPassword::new("a long enough password"), Some(phc.clone())).await;
        assert!(right.unwrap().unwrap());
        let block = verifiers.held_bytes();
        assert!(block >= 19 * 1024 * 1024, "one argon2 block held after a check: {block}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while verifiers.held_bytes() > 0 {
            assert!(Instant::now() < deadline, "the idle thread kept {} bytes", verifiers.held_bytes());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // And a check after that works as before.
        let wrong = verifiers.verify(HumanPassword::new("another"), Some(phc)).await;
        assert!(!wrong.unwrap().unwrap());
        assert_eq!(verifiers.held_bytes(), block);
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt() {
        let a = hash(HumanPassword::new("same password here")).await.unwrap();
        let b = hash(HumanPassword::new("same password here")).await.unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn reused_memory_verifies_like_the_crate() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let phc = runtime.block_on(hash(HumanPassword::new("a long enough password"))).unwrap();
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(verify_in(&mut memory, &HumanPassword::new("a long enough password"), Some(phc.clone()))
                .unwrap());
            assert!(!verify_in(
                &mut memory,
                &HumanPassword::new("a long enough passwore"),
                Some(phc.clone())
            )
            .unwrap());
            assert!(!verify_in(&mut memory, &HumanPassword::new("anything"), None).unwrap());
        }
        assert!(verify_in(&mut memory, &HumanPassword::new("x"), Some("not-a-phc-string".into())).is_err());
    }

    #[tokio::test]
    async fn verifiers_answer_and_refuse_beyond_their_queue() {
        let phc = hash(HumanPassword::new("a long enough password")).await.unwrap();
        let verifiers = Verifiers::new(1, 1);
        let right = verifiers.verify(HumanPassword::new("a long enough password"), Some(phc.clone())).await;
        assert!(right.unwrap().unwrap());
        let wrong = verifiers.verify(HumanPassword::new("another"), Some(phc.clone())).await;
        assert!(!wrong.unwrap().unwrap());
        // One thread busy, one check waiting: a third is refused at once.
        let checks: Vec<_> =
            (0..3).map(|_| verifiers.verify(HumanPassword::new("x"), Some(phc.clone()))).collect();
        let answers = futures::future::join_all(checks).await;
        assert!(answers.iter().any(Option::is_none), "the queue is bounded");
        assert!(answers.iter().any(Option::is_some));
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
