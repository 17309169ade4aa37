//! The audit log: every token authentication, every denied request and
//! every management change, with each token's last use. Entries are queued
//! and appended in batches by one background task, so a login costs no
//! database write of its own (thousands of logins per second share a
//! commit). Readers flush first, so they see everything recorded before.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::{
    auth::token::Subject,
    db::{
        tokens::{self as rows, AuditRow, NewAuditEntry},
        Database, DbError,
    },
};

/// Entries written per transaction at most.
const BATCH: usize = 2000;

/// How long the writer waits for more entries before a commit.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

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

fn unauthenticated_caller(name: &str) -> String {
    format!("unauthenticated:{}", unauthenticated_name(name))
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
    sender: mpsc::UnboundedSender<Message>,
    db: Database,
}

impl AuditLog {
    /// Starts the writer task (on the current Tokio runtime).
    pub fn start(db: Database) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(db.clone(), receiver));
        Self { sender, db }
    }

    /// Records one event. `token` is the token concerned, when any; a
    /// successful event by a token also marks it used now.
    pub fn record(
        &self,
        caller: Caller<'_>,
        token: Option<&str>,
        repository: Option<&str>,
        action: &str,
        outcome: Outcome,
        detail: Option<String>,
    ) {
        let at = Utc::now();
        let (caller, token) = match caller {
            Caller::Subject(subject) => {
                let token = token.or(match subject {
                    Subject::Token(name) => Some(name.as_str()),
                    Subject::Admin(_) => None,
                });
                (subject.to_string(), token)
            }
            Caller::Unauthenticated(name) => (unauthenticated_caller(name), token),
        };
        let used = match (outcome, token) {
            (Outcome::Success, Some(name)) if caller.starts_with("token:") => Some((name.to_owned(), at)),
            _ => None,
        };
        let entry = NewAuditEntry {
            at,
            caller,
            token: token.map(str::to_owned),
            repository: repository.map(str::to_owned),
            action: action.to_owned(),
            outcome: outcome.as_str(),
            detail,
        };
        // The writer lives as long as the runtime; a closed channel means
        // the process is shutting down.
        let _ = self.sender.send(Message::Entry(entry, used));
    }

    /// Waits until everything recorded so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
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

async fn write_batches(db: Database, mut receiver: mpsc::UnboundedReceiver<Message>) {
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
}
