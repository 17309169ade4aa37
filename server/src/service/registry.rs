//! The registry's use-cases (OCI Distribution v1.1): blobs, uploads,
//! manifests, tags, referrers and the catalog, over the metadata in `db`
//! and the bytes in `storage`. Authorisation happens before these run (the
//! HTTP layer states each operation's action); this module never builds an
//! HTTP response.

use super::Cause;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::Utc;

use crate::{
    db::{
        registry::{self as rows, ManifestRow, NewManifest, PutManifestRefusal},
        repositories::{self as locks, LockScope, LockedObject},
        Database, DbError,
    },
    domain::{
        manifest::{parse_manifest_within, referrers_index, Descriptor, ManifestError, MAX_MANIFEST_BYTES},
        Algorithm, Digest, Reference, RepositoryName,
    },
    service::gc::{GarbageCollector, GcError},
    storage::{BlobRead, BlobStore, ByteRange, ByteStream, StorageError, UploadId},
};

/// Why a registry operation failed, in the terms of the OCI error codes.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("repository name not known to registry")]
    NameUnknown,
    #[error("blob unknown to registry")]
    BlobUnknown,
    #[error("blob upload unknown to registry")]
    UploadUnknown,
    #[error("blob upload invalid: {0}")]
    UploadInvalid(String),
    /// A chunk that does not start where the upload ends (HTTP 416).
    #[error("chunk out of order: the upload holds {size} bytes")]
    ChunkOutOfOrder { size: u64 },
    #[error("requested range not satisfiable for a blob of {blob_size} bytes")]
    RangeNotSatisfiable { blob_size: u64 },
    #[error("provided digest did not match uploaded content: {0}")]
    DigestInvalid(String),
    #[error("manifest unknown")]
    ManifestUnknown,
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("manifest references blobs unknown to the repository: {}", .0.join(", "))]
    ManifestBlobUnknown(Vec<String>),
    #[error("the client stopped sending the body")]
    BodyInterrupted,
    /// A lock attribute (readEnabled, writeEnabled, deleteEnabled) forbids it.
    #[error("{0}")]
    Locked(String),
    /// The disk of the blob store or of the database is full; nothing of
    /// the request was kept.
    #[error("insufficient storage: {0}")]
    InsufficientStorage(#[source] Cause),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl From<DbError> for RegistryError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Full(_) => Self::InsufficientStorage(error.into()),
            error => Self::Internal(error.into()),
        }
    }
}

impl From<StorageError> for RegistryError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::DigestMismatch { expected, actual } => {
                Self::DigestInvalid(format!("content hashes to {actual}, not {expected}"))
            }
            StorageError::UploadUnknown => Self::UploadUnknown,
            StorageError::BlobUnknown => Self::BlobUnknown,
            StorageError::RangeInvalid { blob_size } => Self::RangeNotSatisfiable { blob_size },
            StorageError::BodyInterrupted(_) => Self::BodyInterrupted,
            error @ StorageError::Full(_) => Self::InsufficientStorage(error.into()),
            StorageError::Io(error) => Self::Internal(error.into()),
        }
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;

/// A stored manifest as served.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub digest: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

impl From<ManifestRow> for StoredManifest {
    fn from(row: ManifestRow) -> Self {
        Self { digest: row.digest, media_type: row.media_type, content: row.content }
    }
}

/// What a manifest PUT stored.
#[derive(Debug, Clone)]
pub struct PutManifestOutcome {
    pub digest: Digest,
    /// The manifest's subject, echoed in the `OCI-Subject` header.
    pub subject: Option<Digest>,
}

/// How a blob upload was started.
#[derive(Debug)]
pub enum UploadStart {
    /// An upload session to PATCH/PUT into.
    Session(UploadId),
    /// The blob was mounted from another repository; nothing to upload.
    Mounted,
}

/// How a blob GET is answered.
#[derive(Debug)]
pub enum BlobServing {
    /// The bytes, through the registry.
    Stream(BlobRead),
    /// A URL where the client fetches them itself (a presigned S3 URL,
    /// `--s3-redirect`).
    Redirect(String),
}

/// What a change by `reference` touches: a tag, or a manifest with its tags.
fn lock_scope(reference: &Reference) -> LockScope<'_> {
    match reference {
        Reference::Tag(tag) => LockScope::Tag(tag),
        Reference::Digest(digest) => LockScope::Manifest(digest),
    }
}

/// What a lock check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedOperation {
    Write,
    Delete,
}

/// What keeps the registry from serving requests (`/readyz`): the part
/// that does not answer, and why (for the log).
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("the database does not answer: {0}")]
    Database(String),
    #[error("the blob store does not answer: {0}")]
    Storage(String),
}

impl NotReady {
    /// The part that is not ready, for an answer that names no internals.
    pub fn part(&self) -> &'static str {
        match self {
            Self::Database(_) => "database",
            Self::Storage(_) => "blob store",
        }
    }
}

/// `check`'s outcome, a timeout counting as a failure.
async fn within_readiness_timeout<E: std::fmt::Display>(
    check: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(READINESS_TIMEOUT, check).await {
        Ok(answer) => answer.map_err(|error| error.to_string()),
        Err(_) => Err(format!("no answer within {READINESS_TIMEOUT:?}")),
    }
}

/// How long `/readyz` waits for each of the database and the blob store.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct RegistryService {
    db: Database,
    store: Arc<dyn BlobStore>,
    /// One append or finish at a time per upload session.
    upload_locks: Mutex<HashMap<UploadId, Arc<tokio::sync::Mutex<()>>>>,
    max_manifest_bytes: usize,
}

impl RegistryService {
    pub fn new(db: Database, store: Arc<dyn BlobStore>) -> Self {
        Self { db, store, upload_locks: Mutex::new(HashMap::new()), max_manifest_bytes: MAX_MANIFEST_BYTES }
    }

    /// Refuses manifests of more than `max` bytes.
    pub fn with_max_manifest_bytes(mut self, max: usize) -> Self {
        self.max_manifest_bytes = max;
        self
    }

    pub fn max_manifest_bytes(&self) -> usize {
        self.max_manifest_bytes
    }

    async fn repository(&self, name: &RepositoryName) -> RegistryResult<i64> {
        rows::find_repository(&self.db, name.as_str()).await?.ok_or(RegistryError::NameUnknown)
    }

    /// The size of a blob the repository may see (HEAD), unless the
    /// repository is read-locked.
    pub async fn blob_size(&self, name: &RepositoryName, digest: &Digest) -> RegistryResult<u64> {
        match rows::linked_blob(&self.db, name.as_str(), digest.as_str()).await? {
            None => Err(RegistryError::BlobUnknown),
            Some(blob) if !blob.readable => {
                Err(RegistryError::Locked(format!("{name}@{digest} is locked: readEnabled is false")))
            }
            Some(blob) => Ok(blob.size),
        }
    }

    /// Answers a blob GET: where the client fetches the blob when the store
    /// redirects, else its bytes (or a range of them).
    pub async fn serve_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> RegistryResult<BlobServing> {
        let recorded = self.blob_size(name, digest).await?;
        if let Some(url) = self.store.redirect_url(digest).await? {
            return Ok(BlobServing::Redirect(url));
        }
        self.open_blob(name, digest, recorded, range).await.map(BlobServing::Stream)
    }

    /// Streams a blob (or a range of it) the repository may see.
    pub async fn read_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> RegistryResult<BlobRead> {
        let recorded = self.blob_size(name, digest).await?;
        self.open_blob(name, digest, recorded, range).await
    }

    /// Opens a blob whose rows say it has `recorded` bytes.
    async fn open_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        recorded: u64,
        range: Option<ByteRange>,
    ) -> RegistryResult<BlobRead> {
        let damaged = |what: String| {
            RegistryError::Internal(format!("blob {digest} is damaged: {what}; run `portcullis fsck`").into())
        };
        // The store's size is the file's at open; a file changed under the
        // registry is refused here, and one cut short later while streaming
        // ends the body with an error (`storage::exactly`). Bytes changed in
        // place at the same length are not detected on the way out: clients
        // verify the digest of what they pull, and `portcullis fsck` finds
        // them (docs/ARCHITECTURE.md "Faults").
        let read = match self.store.open(digest, range).await {
            Ok(read) => read,
            Err(StorageError::RangeInvalid { blob_size }) if blob_size != recorded => {
                return Err(damaged(format!("{recorded} bytes recorded, the store holds {blob_size}")))
            }
            Err(StorageError::BlobUnknown) => {
                // Garbage collection deletes a blob's rows with its bytes;
                // if the rows are still there, the bytes vanished.
                return Err(match self.blob_size(name, digest).await {
                    Err(RegistryError::BlobUnknown) => RegistryError::BlobUnknown,
                    _ => damaged("its bytes are missing from the store".into()),
                });
            }
            Err(error) => return Err(error.into()),
        };
        if read.blob_size != recorded {
            return Err(damaged(format!("{recorded} bytes recorded, the store holds {}", read.blob_size)));
        }
        Ok(read)
    }

    /// Removes the blob from the repository; garbage collection reclaims the
    /// bytes once nothing references them.
    pub async fn delete_blob(&self, name: &RepositoryName, digest: &Digest) -> RegistryResult<()> {
        let repository = self.repository(name).await.map_err(|_| RegistryError::BlobUnknown)?;
        self.check_locks(name, LockScope::Blob(digest), LockedOperation::Delete).await?;
        if rows::unlink_blob(&self.db, repository, digest.as_str()).await? {
            Ok(())
        } else {
            Err(RegistryError::BlobUnknown)
        }
    }

    /// Starts an upload session, or mounts `mount` from `from` when the
    /// caller may (the HTTP layer decides `from` is readable) and the source
    /// has the blob; otherwise falls back to a session.
    pub async fn start_upload(
        &self,
        name: &RepositoryName,
        mount: Option<(&Digest, &RepositoryName)>,
    ) -> RegistryResult<UploadStart> {
        self.check_locks(name, LockScope::Repository, LockedOperation::Write).await?;
        let now = Utc::now();
        let repository = rows::ensure_repository(&self.db, name.as_str(), now).await?;
        if let Some((digest, from)) = mount {
            if let Some(source) = rows::find_repository(&self.db, from.as_str()).await? {
                if rows::mount_blob(&self.db, source, repository, digest.as_str(), now).await? {
                    return Ok(UploadStart::Mounted);
                }
            }
        }
        let upload = self.store.begin_upload().await?;
        if let Err(error) = rows::insert_upload(&self.db, &upload.to_string(), repository, now).await {
            // No row, no session: its (empty) file goes too.
            let _ = self.store.cancel(upload).await;
            return Err(error.into());
        }
        Ok(UploadStart::Session(upload))
    }

    /// Monolithic upload: the whole blob in one request.
    pub async fn put_blob(
        &self,
        name: &RepositoryName,
        digest: &Digest,
        body: ByteStream,
    ) -> RegistryResult<u64> {
        self.check_locks(name, LockScope::Repository, LockedOperation::Write).await?;
        let size = self.store.put_whole(body, digest).await?;
        let now = Utc::now();
        let repository = rows::ensure_repository(&self.db, name.as_str(), now).await?;
        rows::link_new_blob(&self.db, repository, digest.as_str(), size, now).await?;
        self.confirm_stored(repository, digest).await?;
        Ok(size)
    }

    /// After a blob's rows commit, its bytes must still be there: garbage
    /// collection deletes bytes inside its own write transaction, so a push
    /// that raced it sees them gone here, withdraws the link and fails
    /// (the client retries) rather than leaving a row without content.
    async fn confirm_stored(&self, repository: i64, digest: &Digest) -> RegistryResult<()> {
        if self.store.stat(digest).await?.is_some() {
            return Ok(());
        }
        rows::unlink_blob(&self.db, repository, digest.as_str()).await?;
        Err(RegistryError::Internal(
            format!("{digest} was garbage-collected during the push; retry the push").into(),
        ))
    }

    async fn upload_session(&self, name: &RepositoryName, upload: UploadId) -> RegistryResult<()> {
        let repository = self.repository(name).await.map_err(|_| RegistryError::UploadUnknown)?;
        if rows::upload_exists(&self.db, &upload.to_string(), repository).await? {
            Ok(())
        } else {
            Err(RegistryError::UploadUnknown)
        }
    }

    fn upload_lock(&self, upload: UploadId) -> Arc<tokio::sync::Mutex<()>> {
        self.upload_locks.lock().expect("upload locks").entry(upload).or_default().clone()
    }

    fn forget_upload_lock(&self, upload: UploadId) {
        self.upload_locks.lock().expect("upload locks").remove(&upload);
    }

    /// Whether this replica can serve: the database and the blob store both
    /// answer, each within [`READINESS_TIMEOUT`]. Asked by a load balancer
    /// (`/readyz`), so it reads nothing of the registry's content.
    pub async fn readiness(&self) -> Result<(), NotReady> {
        within_readiness_timeout(self.db.ping()).await.map_err(NotReady::Database)?;
        within_readiness_timeout(self.store.check_reachable()).await.map_err(NotReady::Storage)
    }

    /// How many upload sessions are started and not finished.
    pub async fn open_uploads(&self) -> RegistryResult<usize> {
        Ok(self.store.list_uploads_older_than(std::time::Duration::ZERO).await?.len())
    }

    /// Removes the upload sessions nobody finished within `ttl` of starting
    /// them (their rows, bytes and locks); returns how many.
    pub async fn expire_uploads(&self, ttl: std::time::Duration) -> Result<usize, GcError> {
        let expired =
            GarbageCollector::new(self.db.clone(), self.store.clone(), ttl).expire_uploads(false).await?;
        for upload in &expired {
            self.forget_upload_lock(*upload);
        }
        Ok(expired.len())
    }

    /// How many bytes the upload holds.
    pub async fn upload_size(&self, name: &RepositoryName, upload: UploadId) -> RegistryResult<u64> {
        self.upload_session(name, upload).await?;
        Ok(self.store.upload_size(upload).await?)
    }

    /// Appends a chunk. With `start` (from `Content-Range`), the chunk must
    /// begin where the upload ends, and `expected_len` bytes must arrive.
    pub async fn append_upload(
        &self,
        name: &RepositoryName,
        upload: UploadId,
        start: Option<u64>,
        expected_len: Option<u64>,
        body: ByteStream,
    ) -> RegistryResult<u64> {
        self.upload_session(name, upload).await?;
        let lock = self.upload_lock(upload);
        let _held = lock.lock().await;
        let before = self.store.upload_size(upload).await?;
        if let Some(start) = start {
            if start != before {
                return Err(RegistryError::ChunkOutOfOrder { size: before });
            }
        }
        let after = self.store.append(upload, body).await?;
        if let Some(expected) = expected_len {
            if after - before != expected {
                return Err(RegistryError::UploadInvalid(format!(
                    "the chunk was declared as {expected} bytes but {} arrived",
                    after - before
                )));
            }
        }
        Ok(after)
    }

    /// Ends an upload (with an optional last chunk), verifying the digest.
    pub async fn finish_upload(
        &self,
        name: &RepositoryName,
        upload: UploadId,
        digest: &Digest,
        last_chunk: Option<ByteStream>,
    ) -> RegistryResult<u64> {
        if let Some(body) = last_chunk {
            self.append_upload(name, upload, None, None, body).await?;
        } else {
            self.upload_session(name, upload).await?;
        }
        let lock = self.upload_lock(upload);
        let _held = lock.lock().await;
        let repository = self.repository(name).await?;
        let size = self.store.finish(upload, digest).await?;
        rows::complete_upload(&self.db, &upload.to_string(), repository, digest.as_str(), size, Utc::now())
            .await?;
        self.confirm_stored(repository, digest).await?;
        // The store's upload file became the blob (or was dropped as a
        // duplicate); nothing is left to cancel.
        self.forget_upload_lock(upload);
        Ok(size)
    }

    pub async fn cancel_upload(&self, name: &RepositoryName, upload: UploadId) -> RegistryResult<()> {
        self.upload_session(name, upload).await?;
        let lock = self.upload_lock(upload);
        let _held = lock.lock().await;
        rows::delete_upload(&self.db, &upload.to_string()).await?;
        self.store.cancel(upload).await?;
        self.forget_upload_lock(upload);
        Ok(())
    }

    pub async fn manifest(
        &self,
        name: &RepositoryName,
        reference: &Reference,
    ) -> RegistryResult<StoredManifest> {
        let row = match reference {
            Reference::Digest(digest) => {
                rows::manifest_by_digest(&self.db, name.as_str(), digest.as_str()).await?
            }
            Reference::Tag(tag) => rows::manifest_by_tag(&self.db, name.as_str(), tag.as_str()).await?,
        };
        let row = row.ok_or(RegistryError::ManifestUnknown)?;
        if !row.readable {
            return Err(RegistryError::Locked(format!("{name}:{reference} is locked: readEnabled is false")));
        }
        Ok(StoredManifest::from(row))
    }

    /// Refuses when a lock forbids `operation` on the repository or on what
    /// `scope` names in it. Writes need writeEnabled; deletes need
    /// writeEnabled and deleteEnabled (a write-locked image cannot be
    /// deleted either). Moving a tag concerns that tag, storing a manifest
    /// by digest that manifest; a deletion concerns everything in scope
    /// (untagging: the tag and its manifest; a blob: every manifest that
    /// references it, and their tags).
    pub async fn check_locks(
        &self,
        name: &RepositoryName,
        scope: LockScope<'_>,
        operation: LockedOperation,
    ) -> RegistryResult<()> {
        let Some(concerned) = locks::concerned_locks(&self.db, name.as_str(), scope).await? else {
            return Ok(());
        };
        // The switch that forbids the operation, named as the API and the
        // portal name it, so the refusal says what to turn back on.
        let (forbids, verb): (fn(&locks::Locks) -> Option<&'static str>, _) = match operation {
            LockedOperation::Write => {
                (|locks| (!locks.write_enabled).then_some("writeEnabled"), "written to")
            }
            LockedOperation::Delete => (
                |locks| {
                    (!locks.write_enabled)
                        .then_some("writeEnabled")
                        .or((!locks.delete_enabled).then_some("deleteEnabled"))
                },
                "deleted",
            ),
        };
        let refuse = |object: String, switch: &str| {
            RegistryError::Locked(format!(
                "{object} is locked and cannot be {verb}: its {switch} is false (turn {switch} on to allow it)"
            ))
        };
        if let Some(switch) = forbids(&concerned.repository) {
            return Err(refuse(format!("repository {name}"), switch));
        }
        let writing = operation == LockedOperation::Write;
        let manifests_matter = !(writing && matches!(scope, LockScope::Tag(_)));
        let tags_matter = !(writing && matches!(scope, LockScope::Manifest(_)));
        let matters = |object: &LockedObject| match object {
            LockedObject::Manifest(_) => manifests_matter,
            LockedObject::Tag(_) => tags_matter,
        };
        let blocking = concerned
            .objects
            .iter()
            .filter(|(object, _)| matters(object))
            .find_map(|(object, locks)| forbids(locks).map(|switch| (object, switch)));
        match blocking {
            Some((object, switch)) => Err(refuse(format!("{object} in {name}"), switch)),
            None => Ok(()),
        }
    }

    /// Stores a manifest under a tag or its digest after validating it and
    /// checking that the repository holds everything it references.
    pub async fn put_manifest(
        &self,
        name: &RepositoryName,
        reference: &Reference,
        content_type: Option<&str>,
        content: &[u8],
    ) -> RegistryResult<PutManifestOutcome> {
        self.check_locks(name, lock_scope(reference), LockedOperation::Write).await?;
        let parsed = parse_manifest_within(content_type, content, self.max_manifest_bytes)?;
        let digest = match reference {
            Reference::Digest(expected) => {
                let actual = Digest::of_bytes(expected.algorithm(), content);
                if &actual != expected {
                    return Err(RegistryError::DigestInvalid(format!(
                        "the manifest hashes to {actual}, not to the {expected} it was pushed as"
                    )));
                }
                actual
            }
            Reference::Tag(_) => Digest::of_bytes(Algorithm::Sha256, content),
        };
        let annotations = (!parsed.annotations.is_empty())
            .then(|| serde_json::to_string(&parsed.annotations).expect("string map serialises"));
        let new = NewManifest {
            digest: digest.as_str(),
            media_type: &parsed.media_type,
            artifact_type: parsed.artifact_type.as_deref(),
            subject: parsed.subject.as_ref().map(|s| s.digest.as_str()),
            annotations: annotations.as_deref(),
            content,
            blob_digests: parsed.blob_references().map(|d| d.digest.as_str()).collect(),
            child_digests: parsed.manifest_references().map(|d| d.digest.as_str()).collect(),
        };
        let now = Utc::now();
        let repository = rows::ensure_repository(&self.db, name.as_str(), now).await?;
        let tag = reference.as_tag().map(|t| t.as_str());
        match rows::put_manifest(&self.db, repository, &new, tag, now).await? {
            Ok(()) => Ok(PutManifestOutcome { digest, subject: parsed.subject.map(|s| s.digest) }),
            Err(
                PutManifestRefusal::BlobsUnknown(missing) | PutManifestRefusal::ManifestsUnknown(missing),
            ) => Err(RegistryError::ManifestBlobUnknown(missing)),
        }
    }

    /// Deletes a manifest (by digest) or untags (by tag).
    pub async fn delete_manifest(&self, name: &RepositoryName, reference: &Reference) -> RegistryResult<()> {
        let repository = self.repository(name).await.map_err(|_| RegistryError::ManifestUnknown)?;
        self.check_locks(name, lock_scope(reference), LockedOperation::Delete).await?;
        let deleted = match reference {
            Reference::Digest(digest) => rows::delete_manifest(&self.db, repository, digest.as_str()).await?,
            Reference::Tag(tag) => rows::delete_tag(&self.db, repository, tag.as_str()).await?,
        };
        if deleted {
            Ok(())
        } else {
            Err(RegistryError::ManifestUnknown)
        }
    }

    /// Up to `limit` tags after `last`, in lexical order.
    pub async fn tags(
        &self,
        name: &RepositoryName,
        last: Option<&str>,
        limit: u32,
    ) -> RegistryResult<Vec<String>> {
        let repository = rows::find_repository_with_content(&self.db, name.as_str())
            .await?
            .ok_or(RegistryError::NameUnknown)?;
        Ok(rows::list_tags(&self.db, repository, last, limit).await?)
    }

    /// Up to `limit` repository names after `last`, in lexical order, kept
    /// when `visible` says so (the caller's catalog filter).
    pub async fn catalog(
        &self,
        last: Option<&str>,
        limit: u32,
        visible: impl Fn(&RepositoryName) -> bool,
    ) -> RegistryResult<Vec<RepositoryName>> {
        let mut names = Vec::new();
        let mut cursor = last.map(str::to_owned);
        // Page through the table until `limit` visible names are found, so
        // a filtered catalog still pages correctly.
        loop {
            let page = rows::list_repositories(&self.db, cursor.as_deref(), 1000).await?;
            for name in page.names {
                if visible(&name) {
                    names.push(name);
                    if names.len() == limit as usize {
                        return Ok(names);
                    }
                }
            }
            cursor = page.next;
            if cursor.is_none() {
                return Ok(names);
            }
        }
    }

    /// The referrers index body for `subject`, optionally filtered by
    /// artifact type. An unknown repository or subject gives an empty index.
    pub async fn referrers(
        &self,
        name: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> RegistryResult<Vec<u8>> {
        let rows = match rows::find_repository(&self.db, name.as_str()).await? {
            Some(repository) => {
                rows::referrers(&self.db, repository, subject.as_str(), artifact_type).await?
            }
            None => Vec::new(),
        };
        let mut descriptors = Vec::with_capacity(rows.len());
        for row in rows {
            descriptors.push(Descriptor {
                media_type: row.media_type,
                digest: row.digest.parse().map_err(|e| RegistryError::Internal(Box::new(e)))?,
                size: row.size as u64,
                artifact_type: row.artifact_type,
                annotations: match row.annotations {
                    Some(text) => {
                        serde_json::from_str(&text).map_err(|e| RegistryError::Internal(Box::new(e)))?
                    }
                    None => Default::default(),
                },
                platform: None,
            });
        }
        Ok(referrers_index(descriptors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FsBlobStore;

    #[tokio::test]
    async fn unfinished_uploads_expire_with_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let store = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
        let registry = RegistryService::new(db, store);
        let name: RepositoryName = "samples/app".parse().unwrap();
        let UploadStart::Session(upload) = registry.start_upload(&name, None).await.unwrap() else {
            panic!("a session, not a mount");
        };
        let chunk: ByteStream =
            Box::pin(futures::stream::once(async { Ok(bytes::Bytes::from_static(b"partial")) }));
        registry.append_upload(&name, upload, None, None, chunk).await.unwrap();
        assert_eq!(
            registry.expire_uploads(std::time::Duration::from_secs(3600)).await.unwrap(),
            0,
            "too young"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(registry.expire_uploads(std::time::Duration::from_secs(1)).await.unwrap(), 1);
        assert!(matches!(registry.upload_size(&name, upload).await, Err(RegistryError::UploadUnknown)));
        assert!(registry.upload_locks.lock().unwrap().is_empty(), "its lock is forgotten");
    }
}
