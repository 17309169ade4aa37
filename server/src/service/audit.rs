//! The audit log: every token authentication, every denied request and
//! every management change, with each token's last use. Entries are queued
//! and appended in batches by one background task, so a login costs no
//! database write of its own (thousands of logins per second share a
//! commit). Readers flush first, so they see everything recorded before.
//!
//! The queue is bounded ([`QUEUED`] entries). When it is full, `record`
//! waits for room: the request being audited slows down until the writer
//! has committed a batch, so a flood of logins is throttled by the audit
//! log instead of growing memory without limit or dropping entries.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::{
    auth::token::Subject,
    db::{
        tokens::{self as rows, AuditRow, NewAuditEntry},
        Database, DbError,
    },
    metrics::Metrics,
};

tokio::task_local! {
    /// The id of the request being answered, which every entry recorded
    /// while answering it carries ([`in_request`]).
    static REQUEST_ID: String;
}

/// Runs `answer` (the handling of one request) with `id` as the request id
/// of every entry it records.
pub async fn in_request<F: std::future::Future>(id: String, answer: F) -> F::Output {
    REQUEST_ID.scope(id, answer).await
}

fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Entries written per transaction at most.
const BATCH: usize = 2000;

/// Entries waiting for the writer at most: a few batches, so the writer
/// always has a full batch ready while callers fill the next ones.
const QUEUED: usize = 4 * BATCH;

/// How long the writer waits for more entries before a commit.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// How an audited attempt ended: the audit log's wire type.
pub use portcullis_proto::AuditOutcome as Outcome;

/// How much of a name that did not authenticate is kept: anyone can send
/// one, so the log must not grow with its length.
const UNAUTHENTICATED_NAME_KEPT: usize = 128;

/// A name someone sent that did not authenticate, as logs and the audit
/// log keep it: escaped and cut to [`UNAUTHENTICATED_NAME_KEPT`] characters
/// (marked with `…` when cut).
pub fn unauthenticated_name(name: &str) -> String {
    let kept: String = name.chars().take(UNAUTHENTICATED_NAME_KEPT).collect();
    let cut = if kept.len() < name.len() { "…" } else { "" };
    format!("{}{cut}", kept.escape_debug())
}

#[cfg(test)]
fn unauthenticated_caller(name: &str) -> String {
    AuditActor::Unauthenticated(unauthenticated_name(name)).to_string()
}

/// Who an audit entry is about, as the log stores it in its `caller`
/// column: `admin:<name>`, `token:<name>` or `unauthenticated:<name>`
/// (names escaped by [`Subject`]'s `Display`, cut by
/// [`unauthenticated_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    Subject(Subject),
    /// The kept (escaped, cut) form of a name that did not authenticate.
    Unauthenticated(String),
}

impl std::fmt::Display for AuditActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditActor::Subject(subject) => subject.fmt(f),
            AuditActor::Unauthenticated(kept) => write!(f, "unauthenticated:{kept}"),
        }
    }
}

/// Who asked: a subject, or someone whose credentials did not authenticate.
pub enum Caller<'a> {
    Subject(&'a Subject),
    /// Failed authentication under this user name.
    Unauthenticated(&'a str),
}

enum Message {
    Entry(NewAuditEntry, Option<(String, DateTime<Utc>)>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<Message>,
    db: Database,
    /// Counts logins and denials as they are recorded.
    metrics: Arc<Metrics>,
}

impl AuditLog {
    /// Starts the writer task (on the current Tokio runtime).
    pub fn start(db: Database) -> Self {
        Self::start_counted(db, Metrics::shared())
    }

    /// Like [`AuditLog::start`], counting logins and denials in `metrics`.
    pub fn start_counted(db: Database, metrics: Arc<Metrics>) -> Self {
        let (mut log, receiver) = Self::unstarted(db, QUEUED);
        log.metrics = metrics;
        tokio::spawn(write_batches(log.db.clone(), receiver));
        log
    }

    #[cfg(test)]
    fn start_with_capacity(db: Database, capacity: usize) -> Self {
        let (log, receiver) = Self::unstarted(db, capacity);
        tokio::spawn(write_batches(log.db.clone(), receiver));
        log
    }

    /// The log and the receiving end its writer task reads.
    fn unstarted(db: Database, capacity: usize) -> (Self, mpsc::Receiver<Message>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Self { sender, db, metrics: Metrics::shared() }, receiver)
    }

    /// How many entries wait to be written.
    pub fn queue_depth(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    /// Records one event. `token` is the token concerned, when any; a
    /// successful event by a token also marks it used now. Waits while the
    /// queue is full (see the module documentation); never drops the entry.
    pub async fn record(
        &self,
        caller: Caller<'_>,
        token: Option<&str>,
        repository: Option<&str>,
        action: &str,
        outcome: Outcome,
        detail: Option<String>,
    ) {
        let at = Utc::now();
        let (actor, token) = match caller {
            Caller::Subject(subject) => {
                let token = token.or(match subject {
                    Subject::Token(name) => Some(name.as_str()),
                    Subject::User(_) | Subject::ServicePrincipal(_) | Subject::Anonymous => None,
                });
                (AuditActor::Subject(subject.clone()), token)
            }
            Caller::Unauthenticated(name) => (AuditActor::Unauthenticated(unauthenticated_name(name)), token),
        };
        // A token's own successful use marks it used, not an administrator's
        // change to it.
        let used = match (outcome, &actor, token) {
            (Outcome::Success, AuditActor::Subject(Subject::Token(_)), Some(name)) => {
                Some((name.to_owned(), at))
            }
            _ => None,
        };
        self.metrics.audited(action, outcome.as_str());
        let entry = NewAuditEntry {
            at,
            caller: actor.to_string(),
            token: token.map(str::to_owned),
            repository: repository.map(str::to_owned),
            action: action.to_owned(),
            outcome: outcome.as_str(),
            detail,
            request_id: current_request_id(),
        };
        // The writer lives as long as the runtime; a closed channel means
        // the process is shutting down.
        let _ = self.sender.send(Message::Entry(entry, used)).await;
    }

    /// Waits until everything recorded so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// One token's entries of `action` since `since`, newest first, at
    /// most `limit` (after a flush).
    pub async fn list_token_action(
        &self,
        token: &str,
        action: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, DbError> {
        self.flush().await;
        rows::list_token_action(&self.db, token, action, since, limit).await
    }

    /// Newest first (after a flush).
    pub async fn list(
        &self,
        token: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, DbError> {
        self.flush().await;
        rows::list_audit(&self.db, token, before, limit).await
    }
}

async fn write_batches(db: Database, mut receiver: mpsc::Receiver<Message>) {
    let mut entries = Vec::new();
    let mut last_used: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut waiting = Vec::new();
    while let Some(message) = receiver.recv().await {
        let mut next = Some(message);
        let mut lingered = false;
        while let Some(message) = next.take() {
            match message {
                Message::Entry(entry, used) => {
                    entries.push(entry);
                    if let Some((name, at)) = used {
                        last_used.insert(name, at);
                    }
                }
                Message::Flush(done) => waiting.push(done),
            }
            if entries.len() < BATCH {
                next = receiver.try_recv().ok();
                // A short wait lets a steady trickle share one commit (each
                // commit syncs to disk); nobody waits on it but a flush.
                if next.is_none() && !lingered && waiting.is_empty() {
                    lingered = true;
                    tokio::time::sleep(LINGER).await;
                    next = receiver.try_recv().ok();
                }
            }
        }
        let used: Vec<_> = last_used.drain().collect();
        if !entries.is_empty() || !used.is_empty() {
            if let Err(error) = rows::append_audit(&db, &entries, &used).await {
                tracing::error!(%error, lost = entries.len(), "cannot write the audit log");
            }
            entries.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_did_not_authenticate_are_kept_short() {
        assert_eq!(unauthenticated_caller("admin"), "unauthenticated:admin");
        let long = "x".repeat(60_000);
        let kept = unauthenticated_caller(&long);
        assert_eq!(kept, format!("unauthenticated:{}…", "x".repeat(UNAUTHENTICATED_NAME_KEPT)));
        assert_eq!(unauthenticated_caller("a\nb"), "unauthenticated:a\\nb");
    }

    async fn record_login(log: &AuditLog, name: &str) {
        log.record(Caller::Unauthenticated(name), None, None, "login", Outcome::Failure, None).await;
    }

    /// A full queue makes `record` wait for the writer instead of dropping
    /// the entry, and everything waited for is written.
    #[tokio::test]
    async fn a_full_queue_waits_for_the_writer_and_loses_nothing() {
        use futures::FutureExt as _;
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let (log, receiver) = AuditLog::unstarted(db.clone(), 2);
        record_login(&log, "first").await;
        record_login(&log, "second").await;
        // No writer yet: the third entry has no room and waits.
        let mut third = Box::pin(record_login(&log, "third"));
        assert!((&mut third).now_or_never().is_none(), "record returned while the queue was full");
        tokio::spawn(write_batches(db, receiver));
        third.await;
        let callers: Vec<_> =
            log.list(None, None, 10).await.unwrap().into_iter().map(|row| row.caller).collect();
        assert_eq!(callers, ["unauthenticated:third", "unauthenticated:second", "unauthenticated:first"],);
    }

    /// Many more entries than the queue holds, from many tasks at once: all
    /// of them are written.
    #[tokio::test]
    async fn entries_beyond_the_capacity_are_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let log = AuditLog::start_with_capacity(db, 3);
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move { record_login(&log, &format!("caller{n}")).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(log.list(None, None, 1000).await.unwrap().len(), 200);
    }
}
