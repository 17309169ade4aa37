//! `portcullis fsck`: checks that every blob the database records is whole
//! in the blob store (there, of its recorded length, hashing to its digest)
//! and lists store files no row records. It changes nothing. It goes
//! through `db` and `storage` only; it never builds output (the command
//! prints the report).
//!
//! Safe while the registry serves: a blob that looks damaged is checked
//! again against the database before it is reported, so one that garbage
//! collection removed meanwhile is not reported as missing.

use std::{collections::HashSet, sync::Arc};

use futures::TryStreamExt;
use serde::Serialize;

use crate::{
    db::{registry as rows, Database, DbError},
    domain::{Digest, DigestHasher},
    storage::{BlobStore, StorageError},
};

/// What is wrong with a recorded blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "camelCase")]
pub enum Damage {
    /// No file holds it.
    Missing,
    /// The file's length is not the recorded size (cut short, or grown).
    WrongSize { recorded: u64, stored: u64 },
    /// The file has the recorded length but other content.
    WrongDigest { actual: Digest },
    /// Reading the file failed part way.
    Unreadable { error: String },
    /// The database records a digest that is not one.
    InvalidDigest,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Missing => write!(f, "missing: no file holds it"),
            Damage::WrongSize { recorded, stored } => {
                write!(f, "wrong size: {recorded} bytes recorded, the file holds {stored}")
            }
            Damage::WrongDigest { actual } => write!(f, "corrupt: the content hashes to {actual}"),
            Damage::Unreadable { error } => write!(f, "unreadable: {error}"),
            Damage::InvalidDigest => write!(f, "the database records an invalid digest"),
        }
    }
}

/// A recorded blob that is not whole, and who would miss it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DamagedBlob {
    pub digest: String,
    #[serde(flatten)]
    pub damage: Damage,
    /// The repositories that link it or have a manifest referencing it.
    pub repositories: Vec<String>,
}

/// A file in the blob store that no row records: left by a crash between
/// storing a blob and recording it, or by a collection cut short.
/// `portcullis gc` removes it after the grace period; it is not damage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnrecordedBlob {
    pub digest: Digest,
    pub size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FsckReport {
    /// Recorded blobs checked, and the bytes hashed.
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    pub damaged: Vec<DamagedBlob>,
    pub unrecorded: Vec<UnrecordedBlob>,
}

impl FsckReport {
    /// Whether every recorded blob is whole.
    pub fn is_healthy(&self) -> bool {
        self.damaged.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FsckError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub struct Fsck {
    db: Database,
    store: Arc<dyn BlobStore>,
}

impl Fsck {
    pub fn new(db: Database, store: Arc<dyn BlobStore>) -> Self {
        Self { db, store }
    }

    /// One pass over every recorded blob (each hashed once, streamed in
    /// constant memory) and every stored file.
    pub async fn run(&self) -> Result<FsckReport, FsckError> {
        let mut report = FsckReport::default();
        let recorded = rows::recorded_blobs(&self.db).await?;
        let mut known = HashSet::with_capacity(recorded.len());
        for blob in recorded {
            known.insert(blob.digest.clone());
            report.blobs_checked += 1;
            let damage = match blob.digest.parse::<Digest>() {
                Err(_) => Some(Damage::InvalidDigest),
                Ok(digest) => {
                    let damage = self.check(&digest, blob.size).await?;
                    if damage.is_none() {
                        report.bytes_checked += blob.size;
                    }
                    damage
                }
            };
            if let Some(damage) = damage {
                // Collected meanwhile: its row went with its bytes.
                if rows::blob_recorded(&self.db, &blob.digest).await? {
                    report.damaged.push(DamagedBlob {
                        digest: blob.digest,
                        damage,
                        repositories: blob.repositories,
                    });
                }
            }
        }
        for entry in self.store.list_blobs().await? {
            if !known.contains(entry.digest.as_str())
                && !rows::blob_recorded(&self.db, entry.digest.as_str()).await?
            {
                report.unrecorded.push(UnrecordedBlob { digest: entry.digest, size: entry.size });
            }
        }
        report.unrecorded.sort_by(|a, b| a.digest.as_str().cmp(b.digest.as_str()));
        Ok(report)
    }

    /// What is wrong with one blob, if anything.
    async fn check(&self, digest: &Digest, recorded: u64) -> Result<Option<Damage>, FsckError> {
        let stored = match self.store.stat(digest).await? {
            None => return Ok(Some(Damage::Missing)),
            Some(stored) => stored,
        };
        if stored != recorded {
            return Ok(Some(Damage::WrongSize { recorded, stored }));
        }
        let read = match self.store.open(digest, None).await {
            Ok(read) => read,
            Err(StorageError::BlobUnknown) => return Ok(Some(Damage::Missing)),
            Err(error) => return Ok(Some(Damage::Unreadable { error: error.to_string() })),
        };
        let mut body = read.body;
        let mut hasher = DigestHasher::new(digest.algorithm());
        loop {
            match body.try_next().await {
                Ok(Some(chunk)) => hasher.update(&chunk),
                Ok(None) => break,
                Err(error) => return Ok(Some(Damage::Unreadable { error: error.to_string() })),
            }
        }
        let actual = hasher.finish();
        Ok((actual != *digest).then_some(Damage::WrongDigest { actual }))
    }
}
