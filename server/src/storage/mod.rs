//! The blob store: content-addressed blobs and the resumable upload sessions
//! that produce them, behind the narrow `BlobStore` trait (SPEC §3: "stored
//! by digest once per registry, verified before it becomes visible, and never
//! half-written"). It knows bytes and digests only: it must not call `db`,
//! `service`, `http` or `policy`, and knows nothing of repositories,
//! manifests or who may read a blob.
//!
//! Contract every backend keeps:
//! - A blob becomes visible (to `stat`, `open`, `list_blobs`) only whole and
//!   only after its bytes were hashed and matched the expected digest; a
//!   crash or error at any point leaves either nothing or the whole blob.
//! - An upload session is durable: it survives a restart of the server (or a
//!   switch to another replica), and its size is exactly the bytes stored.
//! - Content is streamed in both directions; memory use does not grow with
//!   blob size.
//! - A blob being served yields exactly the `length` it announced, or ends
//!   with an error (a file cut short under the server, a read that failed):
//!   never fewer bytes presented as the whole ([`exactly`]).
//! - A full backend says so (`StorageError::Full`), and an append or a
//!   whole put cut off by it leaves nothing of the failed request behind.
//!
//! Backends: `fs` (a local directory, one machine) and `s3` (an
//! S3-compatible bucket that several replicas share, SPEC §4); `open` builds
//! the configured one. The shared behaviour test suite is in `suite` and
//! runs against every backend (STYLE rule 10).

mod error;
mod fs;
mod hash_state;
mod s3;
#[cfg(test)]
pub(crate) mod suite;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use uuid::Uuid;

use crate::domain::Digest;

pub use error::{is_out_of_space, StorageError};
pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Credentials, S3Settings};

/// Where the blobs live, as configured (`--storage`): a local directory
/// (one machine) or an S3-compatible bucket (several replicas, SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageSettings {
    Directory(PathBuf),
    S3(S3Settings),
}

/// Opens the configured backend.
pub async fn open(settings: &StorageSettings) -> Result<Arc<dyn BlobStore>, StorageError> {
    Ok(match settings {
        StorageSettings::Directory(root) => Arc::new(FsBlobStore::open(root.clone()).await?),
        StorageSettings::S3(s3) => Arc::new(S3BlobStore::open(s3).await?),
    })
}

/// Blob content in transit, in either direction: a request body being
/// stored or a blob being served. Chunks arrive in order; an `Err` item ends
/// the content early.
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// `body` as a stream that yields exactly `length` bytes: if it ends sooner,
/// its last item is an `UnexpectedEof` error, so whoever sends it (the HTTP
/// layer, with `Content-Length: length`) aborts instead of ending cleanly.
/// More than `length` bytes is the backend's bug; they are passed on and the
/// HTTP layer refuses them.
pub fn exactly(length: u64, body: ByteStream) -> ByteStream {
    Box::pin(ExactLength { body, remaining: length, ended: false })
}

struct ExactLength {
    body: ByteStream,
    remaining: u64,
    ended: bool,
}

impl futures::Stream for ExactLength {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if self.ended {
            return Poll::Ready(None);
        }
        let item = match futures::Stream::poll_next(self.body.as_mut(), cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        Poll::Ready(match item {
            Some(Ok(chunk)) => {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                Some(Ok(chunk))
            }
            Some(Err(error)) => {
                self.ended = true;
                Some(Err(error))
            }
            None if self.remaining > 0 => {
                self.ended = true;
                Some(Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the blob ended {} bytes before its announced length", self.remaining),
                )))
            }
            None => None,
        })
    }
}

/// Where blobs live. Object-safe, so the application holds an
/// `Arc<dyn BlobStore>` and can run on the filesystem or object storage.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Starts an empty upload session and returns its id.
    async fn begin_upload(&self) -> Result<UploadId, StorageError>;

    /// How many bytes the upload holds so far (the OCI upload `Range`).
    async fn upload_size(&self, upload: UploadId) -> Result<u64, StorageError>;

    /// Appends `body` to the upload and returns its new size.
    ///
    /// The caller checks a chunk's `Content-Range` against `upload_size`
    /// and runs one append per upload at a time (OCI clients send chunks in
    /// order and wait for each answer). If the body fails or the call is
    /// dropped part way, a prefix of the chunk may remain: `upload_size`
    /// still tells the truth, so the client can resume from it. A dropped
    /// append may still be storing what it had received; the next append or
    /// finish of the upload waits for it, so the size an append returns is
    /// settled. Interleaved or misplaced bytes can never become a blob,
    /// because `finish` verifies the digest of exactly the bytes stored
    /// (hashed as they were stored, or read back).
    async fn append(&self, upload: UploadId, body: ByteStream) -> Result<u64, StorageError>;

    /// Ends the upload: verifies that its bytes hash to `expected`, then
    /// makes them the blob `expected` and returns its size. Idempotent when
    /// the blob already exists.
    ///
    /// On `DigestMismatch` nothing becomes visible and the upload is kept
    /// unchanged, so the client may inspect or cancel it; abandoned uploads
    /// are collected through `list_uploads_older_than`.
    async fn finish(&self, upload: UploadId, expected: &Digest) -> Result<u64, StorageError>;

    /// Discards an upload and its bytes.
    async fn cancel(&self, upload: UploadId) -> Result<(), StorageError>;

    /// Stores a whole blob in one pass (monolithic upload), hashing it while
    /// it streams; returns its size. On any error nothing becomes visible and
    /// nothing is left behind. Idempotent when the blob already exists.
    async fn put_whole(&self, body: ByteStream, expected: &Digest) -> Result<u64, StorageError>;

    /// The blob's size, or `None` if there is no such blob.
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, StorageError>;

    /// Streams the blob, or the requested part of it.
    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> Result<BlobRead, StorageError>;

    /// Removes the blob. Readers that already opened it may finish.
    async fn delete(&self, digest: &Digest) -> Result<(), StorageError>;

    /// Every stored blob, in no particular order, for garbage collection.
    /// Each entry carries its modification time so a collector can spare
    /// blobs younger than a grace period: a client uploads layers before the
    /// manifest that references them.
    async fn list_blobs(&self) -> Result<Vec<BlobEntry>, StorageError>;

    /// Uploads untouched for at least `idle` (appends refresh the time), for
    /// garbage collection of abandoned sessions with `cancel`.
    async fn list_uploads_older_than(&self, idle: Duration) -> Result<Vec<UploadId>, StorageError>;

    /// Whether the store answers at all (`/readyz`): an error when it cannot
    /// be reached. By default, a `stat` of the empty blob, which asks the
    /// backend without needing the blob to exist.
    async fn check_reachable(&self) -> Result<(), StorageError> {
        self.stat(&Digest::of_bytes(crate::domain::Algorithm::Sha256, b"")).await.map(|_| ())
    }

    /// A URL from which a client may GET the blob itself for `expires_in`,
    /// without credentials (Distribution's `redirect` option), or `None`
    /// when the backend can only serve blobs through the registry. It does
    /// not check that the blob exists; the caller has.
    async fn presigned_get(
        &self,
        _digest: &Digest,
        _expires_in: Duration,
    ) -> Result<Option<String>, StorageError> {
        Ok(None)
    }

    /// Where a client should fetch the blob instead of from the registry
    /// (the store is configured to redirect and can presign), or `None`
    /// to stream it through the registry. Like [`Self::presigned_get`], it
    /// does not check that the blob exists.
    async fn redirect_url(&self, _digest: &Digest) -> Result<Option<String>, StorageError> {
        Ok(None)
    }
}

/// The id of an upload session, the `<uuid>` of
/// `/v2/<name>/blobs/uploads/<uuid>`. Random, so it cannot be guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UploadId(Uuid);

impl UploadId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for UploadId {
    /// Always the lowercase hyphenated form, which is also the file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for UploadId {
    type Err = StorageError;

    /// Accepts only the form `Display` writes, so one upload has one URL.
    /// Anything else names no upload: `UploadUnknown`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let uuid = Uuid::try_parse(text).map_err(|_| StorageError::UploadUnknown)?;
        let upload = Self(uuid);
        if upload.to_string() != text {
            return Err(StorageError::UploadUnknown);
        }
        Ok(upload)
    }
}

/// A byte range of a blob, as one HTTP `Range: bytes=first-last`,
/// `bytes=first-` or `bytes=-suffix` asks for it (RFC 9110 §14.1.1).
/// `first <= last` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-` or `first-last`.
    From { first: u64, last: Option<u64> },
    /// `-length`: the last `length` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Bytes `first..=last`; `None` when `first > last`, which HTTP calls
    /// syntactically invalid.
    pub fn inclusive(first: u64, last: u64) -> Option<Self> {
        (first <= last).then_some(Self::From { first, last: Some(last) })
    }

    /// Bytes from `first` to the end of the blob.
    pub fn starting_at(first: u64) -> Self {
        Self::From { first, last: None }
    }

    /// The last `length` bytes of the blob.
    pub fn suffix(length: u64) -> Self {
        Self::Suffix(length)
    }

    /// The `(offset, length)` this range selects from a blob of
    /// `blob_size` bytes, or `None` when it selects nothing (it starts at or
    /// past the end, or is a zero-length suffix). As in RFC 9110 §14.1.2, a
    /// `last` past the end is clamped to the end, and a suffix longer than
    /// the blob selects the whole blob.
    pub fn resolve(self, blob_size: u64) -> Option<(u64, u64)> {
        match self {
            Self::From { first, .. } if first >= blob_size => None,
            Self::From { first, last } => {
                let last = last.map_or(blob_size - 1, |last| last.min(blob_size - 1));
                Some((first, last - first + 1))
            }
            Self::Suffix(0) => None,
            Self::Suffix(_) if blob_size == 0 => None,
            Self::Suffix(length) => {
                let length = length.min(blob_size);
                Some((blob_size - length, length))
            }
        }
    }
}

/// A blob being served.
pub struct BlobRead {
    /// The size of the whole blob (the `/size` of a `Content-Range`).
    pub blob_size: u64,
    /// Where `body` starts within the blob.
    pub offset: u64,
    /// How many bytes `body` yields (the `Content-Length`).
    pub length: u64,
    pub body: ByteStream,
}

impl fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobRead")
            .field("blob_size", &self.blob_size)
            .field("offset", &self.offset)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// One stored blob, as listed for garbage collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    pub digest: Digest,
    pub size: u64,
    pub modified: SystemTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_id_round_trips_through_its_text() {
        let upload = UploadId::generate();
        let text = upload.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<UploadId>().unwrap(), upload);
    }

    #[test]
    fn upload_id_rejects_other_forms() {
        let upload = UploadId::generate();
        let simple = upload.0.simple().to_string();
        let upper = upload.to_string().to_uppercase();
        let braced = format!("{{{upload}}}");
        let urn = upload.0.urn().to_string();
        for text in
            ["", "../../blobs", "not-a-uuid", simple.as_str(), upper.as_str(), braced.as_str(), urn.as_str()]
        {
            assert!(matches!(text.parse::<UploadId>(), Err(StorageError::UploadUnknown)), "{text:?}");
        }
    }

    #[tokio::test]
    async fn a_served_blob_that_ends_early_ends_with_an_error() {
        use futures::{StreamExt, TryStreamExt};
        let whole = || futures::stream::iter([Ok(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"de"))]);
        let served: Vec<Bytes> = exactly(5, whole().boxed()).try_collect().await.unwrap();
        assert_eq!(served.concat(), b"abcde");

        let mut short = exactly(8, whole().boxed());
        assert_eq!(short.next().await.unwrap().unwrap(), "abc");
        assert_eq!(short.next().await.unwrap().unwrap(), "de");
        let error = short.next().await.unwrap().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("3 bytes before"), "{error}");
        assert!(short.next().await.is_none(), "nothing after the error");

        let failed =
            futures::stream::iter([Ok(Bytes::from_static(b"ab")), Err(std::io::Error::other("EIO"))]);
        let mut failed = exactly(5, failed.boxed());
        failed.next().await.unwrap().unwrap();
        assert_eq!(failed.next().await.unwrap().unwrap_err().to_string(), "EIO");
        assert!(failed.next().await.is_none());
    }

    #[test]
    fn byte_ranges_resolve_against_the_blob_size() {
        let cases = [
            // (range, blob size, expected (offset, length))
            (ByteRange::inclusive(0, 0), 10, Some((0, 1))),
            (ByteRange::inclusive(0, 9), 10, Some((0, 10))),
            (ByteRange::inclusive(2, 5), 10, Some((2, 4))),
            (ByteRange::inclusive(9, 9), 10, Some((9, 1))),
            (ByteRange::inclusive(5, 100), 10, Some((5, 5))),
            (ByteRange::inclusive(10, 12), 10, None),
            (ByteRange::inclusive(0, 0), 0, None),
            (Some(ByteRange::starting_at(0)), 10, Some((0, 10))),
            (Some(ByteRange::starting_at(7)), 10, Some((7, 3))),
            (Some(ByteRange::starting_at(10)), 10, None),
            (Some(ByteRange::starting_at(0)), 0, None),
            (Some(ByteRange::suffix(3)), 10, Some((7, 3))),
            (Some(ByteRange::suffix(10)), 10, Some((0, 10))),
            (Some(ByteRange::suffix(25)), 10, Some((0, 10))),
            (Some(ByteRange::suffix(0)), 10, None),
            (Some(ByteRange::suffix(5)), 0, None),
        ];
        for (range, blob_size, expected) in cases {
            let range = range.expect("a well-formed range");
            assert_eq!(range.resolve(blob_size), expected, "{range:?} of {blob_size}");
        }
        assert_eq!(ByteRange::inclusive(5, 4), None);
    }
}
