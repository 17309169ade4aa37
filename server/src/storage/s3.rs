//! `S3BlobStore`: the `BlobStore` on an S3-compatible bucket, for several
//! stateless replicas sharing one bucket (SPEC §4). Owns the object layout
//! below its prefix and nothing else; calls only `domain`, `hash_state` and
//! the `object_store` crate (no hand-written S3 client).
//!
//! Layout, below `<prefix>/`:
//! - `blobs/<algorithm>/<hex>`: a verified blob. It is only ever written by
//!   one `PUT` or by completing a multipart upload, both atomic in S3, and
//!   only after the bytes hashed to the digest: the key holds the whole
//!   verified content or nothing.
//! - `uploads/<uuid>/state`: an upload session's running SHA-256 and the
//!   number of bytes it covers (`hash_state`'s text). It is the truth about
//!   the session: its size is the state's `covered`, whatever else is there.
//! - `uploads/<uuid>/parts/<offset, 20 digits>`: the bytes an append stored
//!   at that offset: up to [`PIECE_BYTES`] per piece, and as little as the
//!   client sent (S3's 5 MiB minimum part size never reaches clients).
//!
//! Sessions live in the bucket only, so an upload begun on one replica can
//! be continued on another and finished on a third, and survives restarts.
//! An append stores a piece, then saves the state over it: a crash in
//! between leaves a piece past `covered`, which the next append at that
//! offset overwrites and `finish` ignores.
//!
//! `finish` rejects a wrong SHA-256 from the state without reading anything
//! back, then streams the pieces in order into a multipart upload of the
//! blob's key, hashing them again as they go, and completes it only if the
//! bytes it composed match (aborting it otherwise). So what becomes visible
//! is verified even if two replicas raced on one upload's pieces, and a
//! SHA-512 digest works too.
//!
//! Memory: a request holds at most one piece being gathered
//! ([`PIECE_BYTES`]) when appending, and [`MULTIPART_CHUNK`] times
//! ([`PARTS_IN_FLIGHT`] + 1) when writing a blob, whatever its size.
//!
//! An incomplete multipart upload (a request dropped mid-blob, a crash) is
//! invisible; the writer aborts it when it can, and a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`) or Garage's
//! `garage bucket cleanup-incomplete-uploads` frees what a crash left.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinSet;

use super::hash_state::UploadHashState;
use super::{exactly, BlobEntry, BlobRead, BlobStore, ByteRange, ByteStream, StorageError, UploadId};
use crate::domain::{Algorithm, Digest, DigestHasher};

/// How many bytes of an append are gathered before they are stored as one
/// piece (and the state saved over them).
const PIECE_BYTES: usize = 4 * 1024 * 1024;

/// A body that sends nothing for this long has what it sent so far stored,
/// so a client that stalls (or goes away without closing) can resume from
/// it.
const STALL_FLUSH: Duration = Duration::from_secs(1);

/// The part size of the multipart uploads that write blobs: S3 wants at
/// least 5 MiB for every part but the last, and allows 10,000 parts, so
/// blobs of up to 78 GiB.
const MULTIPART_CHUNK: usize = 8 * 1024 * 1024;

/// How many parts of one blob may be on their way to S3 at once.
const PARTS_IN_FLIGHT: usize = 2;

/// The width of a piece's offset in its key, so keys sort as offsets do.
const OFFSET_DIGITS: usize = 20;

/// How long `open` waits for the bucket to answer its first listing.
const START_CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a redirect's presigned URL stays valid. Clients follow a
/// redirect at once and S3 checks the signature when the GET starts, not
/// while the bytes flow, so a few minutes suffice (and leave room for
/// clocks that differ a little); Distribution's 20 minutes would keep a
/// revoked caller's URL usable four times as long.
const REDIRECT_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Where the S3 blob store is, as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// The key prefix below which everything lives; may be empty.
    pub prefix: String,
    /// The S3 server's URL, for anything but AWS itself; requests then use
    /// path-style addressing (`<endpoint>/<bucket>/<key>`), which
    /// self-hosted servers expect.
    pub endpoint: Option<String>,
    pub region: String,
    /// Explicit credentials; `None` reads the usual AWS variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// or an instance or container role).
    pub credentials: Option<S3Credentials>,
    /// Whether blob GETs are answered with a redirect to a presigned URL
    /// of the object (Distribution's `redirect`), so the bytes flow from
    /// the S3 server to the client instead of through the registry.
    pub redirect: bool,
}

impl S3Settings {
    /// The region used when none is configured.
    pub const DEFAULT_REGION: &'static str = "us-east-1";

    /// Reads `s3://bucket/prefix` (the prefix may be empty).
    pub fn from_url(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(format!(
                "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, '-' or '.')"
            ));
        }
        let prefix = prefix.trim_matches('/');
        Path::parse(prefix).map_err(|error| format!("{prefix:?} is not a usable key prefix: {error}"))?;
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: None,
            region: Self::DEFAULT_REGION.to_owned(),
            credentials: None,
            redirect: false,
        })
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("credentials", &self.credentials.as_ref().map(|_| "<given>"))
            .field("redirect", &self.redirect)
            .finish()
    }
}

/// An access key; the secret never shows in `Debug`.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl PartialEq for S3Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.access_key_id == other.access_key_id
            && self.secret_access_key.expose_secret() == other.secret_access_key.expose_secret()
    }
}

impl Eq for S3Credentials {}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Blobs and uploads in one S3 bucket, below one prefix.
#[derive(Clone)]
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    bucket: String,
    root: Path,
    redirect: bool,
}

impl fmt::Debug for S3BlobStore {
    /// Only where the store is: the client inside holds the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore").field("bucket", &self.bucket).field("prefix", &self.root).finish()
    }
}

impl S3BlobStore {
    /// Connects to the bucket and checks that it can be listed with the
    /// credentials given, so a wrong endpoint, bucket or key fails at start.
    pub async fn open(settings: &S3Settings) -> Result<Self, StorageError> {
        let mut builder =
            AmazonS3Builder::from_env().with_bucket_name(&settings.bucket).with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(credentials) = &settings.credentials {
            builder = builder
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(credentials.secret_access_key.expose_secret());
        }
        let s3 = builder.build().map_err(backend)?;
        let root = Path::parse(&settings.prefix)
            .map_err(|error| StorageError::Io(io::Error::new(io::ErrorKind::InvalidInput, error)))?;
        let store =
            Self { s3: Arc::new(s3), bucket: settings.bucket.clone(), root, redirect: settings.redirect };
        // The client retries an unreachable server for minutes; a start
        // with a wrong endpoint should say so at once.
        let where_ = settings.endpoint.as_deref().unwrap_or("AWS S3");
        let unreachable = |cause: String| {
            StorageError::Io(io::Error::other(format!(
                "cannot list the bucket {} at {where_}: {cause} (check --storage, --s3-endpoint, --s3-region \
                 and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
                settings.bucket
            )))
        };
        match tokio::time::timeout(START_CHECK_TIMEOUT, store.s3.list_with_delimiter(Some(&store.root))).await
        {
            Ok(Ok(_)) => Ok(store),
            Ok(Err(error)) => Err(unreachable(error.to_string())),
            Err(_) => Err(unreachable(format!("no answer within {START_CHECK_TIMEOUT:?}"))),
        }
    }

    fn blobs_root(&self) -> Path {
        self.root.clone().join("blobs")
    }

    fn blob_key(&self, digest: &Digest) -> Path {
        self.blobs_root().join(digest.algorithm().as_str()).join(digest.hex())
    }

    fn uploads_root(&self) -> Path {
        self.root.clone().join("uploads")
    }

    fn upload_root(&self, upload: UploadId) -> Path {
        self.uploads_root().join(upload.to_string())
    }

    fn state_key(&self, upload: UploadId) -> Path {
        self.upload_root(upload).join("state")
    }

    fn pieces_root(&self, upload: UploadId) -> Path {
        self.upload_root(upload).join("parts")
    }

    fn piece_key(&self, upload: UploadId, offset: u64) -> Path {
        self.pieces_root(upload).join(format!("{offset:0OFFSET_DIGITS$}"))
    }

    async fn load_state(&self, upload: UploadId) -> Result<UploadHashState, StorageError> {
        let text = match self.s3.get(&self.state_key(upload)).await {
            Ok(got) => got.bytes().await.map_err(backend)?,
            Err(object_store::Error::NotFound { .. }) => return Err(StorageError::UploadUnknown),
            Err(error) => return Err(backend(error)),
        };
        // Written whole by one PUT, so it cannot be torn: anything that
        // does not decode was not written by this store.
        std::str::from_utf8(&text).ok().and_then(UploadHashState::decode).ok_or_else(|| {
            StorageError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the state of upload {upload} is damaged"),
            ))
        })
    }

    async fn save_state(&self, upload: UploadId, state: &UploadHashState) -> Result<(), StorageError> {
        let text = Bytes::from(state.encode());
        self.s3.put(&self.state_key(upload), PutPayload::from(text)).await.map_err(backend)?;
        Ok(())
    }

    /// Stores `piece` at the end of the upload, then the state covering it.
    /// The piece is hashed on a blocking thread while it is being sent, not
    /// on the async worker that serves other requests.
    async fn store_piece(
        &self,
        upload: UploadId,
        state: &mut UploadHashState,
        piece: Vec<Bytes>,
    ) -> Result<(), StorageError> {
        let key = self.piece_key(upload, state.covered());
        let payload = piece.iter().cloned().collect::<PutPayload>();
        let mut hashed = state.clone();
        let hashing = tokio::task::spawn_blocking(move || {
            for chunk in &piece {
                hashed.update(chunk);
            }
            hashed
        });
        self.s3.put(&key, payload).await.map_err(backend)?;
        *state = hashing.await.map_err(|error| StorageError::Io(io::Error::other(error)))?;
        self.save_state(upload, state).await
    }

    /// The keys of the pieces that make up the upload's first `size` bytes,
    /// in order: the piece at 0, then the one where it ends, and so on.
    /// Pieces past `size` (stored by an append whose state was never saved)
    /// are not part of it.
    async fn piece_chain(&self, upload: UploadId, size: u64) -> Result<Vec<Path>, StorageError> {
        let mut pieces = std::collections::HashMap::new();
        let mut listing = self.s3.list(Some(&self.pieces_root(upload)));
        while let Some(meta) = listing.try_next().await.map_err(backend)? {
            let offset = meta.location.filename().and_then(|name| name.parse::<u64>().ok());
            if let Some(offset) = offset {
                pieces.insert(offset, (meta.location, meta.size));
            }
        }
        let mut chain = Vec::new();
        let mut at = 0;
        while at < size {
            let Some((key, length)) = pieces.remove(&at) else {
                return Err(inconsistent(upload, at));
            };
            if length == 0 || at + length > size {
                return Err(inconsistent(upload, at));
            }
            chain.push(key);
            at += length;
        }
        Ok(chain)
    }

    /// Deletes the upload's state (after which it is unknown), then its
    /// pieces. `UploadUnknown` when there was nothing to delete.
    async fn remove_upload(&self, upload: UploadId) -> Result<(), StorageError> {
        let objects: Vec<Path> = self
            .s3
            .list(Some(&self.upload_root(upload)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(backend)?;
        if objects.is_empty() {
            return Err(StorageError::UploadUnknown);
        }
        let state_key = self.state_key(upload);
        if objects.contains(&state_key) {
            delete_if_present(&self.s3, &state_key).await?;
        }
        let pieces: Vec<_> = objects.into_iter().filter(|key| *key != state_key).map(Ok).collect();
        let pieces = futures::stream::iter(pieces).boxed();
        self.s3.delete_stream(pieces).try_for_each(|_| async { Ok(()) }).await.or_else(|error| match error {
            object_store::Error::NotFound { .. } => Ok(()),
            error => Err(backend(error)),
        })
    }

    /// Writes a blob from pieces streamed in order, if they hash to `expected`.
    async fn compose(&self, upload: UploadId, size: u64, expected: &Digest) -> Result<(), StorageError> {
        let chain = self.piece_chain(upload, size).await?;
        let mut writer = BlobWriter::new(self.s3.clone(), self.blob_key(expected), expected.algorithm());
        for key in chain {
            let piece = self.s3.get(&key).await.map_err(|error| match error {
                object_store::Error::NotFound { .. } => StorageError::UploadUnknown,
                error => backend(error),
            })?;
            let mut bytes = piece.into_stream();
            while let Some(chunk) = bytes.try_next().await.map_err(backend)? {
                writer.push(chunk).await?;
            }
        }
        let stored = writer.hashed();
        if stored != size {
            writer.abort().await;
            return Err(inconsistent(upload, stored));
        }
        writer.commit(expected).await.map(|_| ())
    }

    /// Stores `body` in pieces at the end of the upload, saving `state`
    /// after each; returns how the body ended (a failed body is not the
    /// store's failure: what arrived before it stays).
    async fn store_body(
        &self,
        upload: UploadId,
        state: &mut UploadHashState,
        mut body: ByteStream,
    ) -> Result<Result<(), io::Error>, StorageError> {
        let mut piece: Vec<Bytes> = Vec::new();
        let mut gathered = 0usize;
        let mut received = Ok(());
        loop {
            let next = if gathered == 0 {
                body.next().await
            } else {
                match tokio::time::timeout(STALL_FLUSH, body.next()).await {
                    Ok(next) => next,
                    Err(_stalled) => {
                        self.store_piece(upload, state, std::mem::take(&mut piece)).await?;
                        gathered = 0;
                        continue;
                    }
                }
            };
            match next {
                Some(Ok(chunk)) => {
                    gathered += chunk.len();
                    piece.push(chunk);
                    if gathered >= PIECE_BYTES {
                        self.store_piece(upload, state, std::mem::take(&mut piece)).await?;
                        gathered = 0;
                    }
                }
                Some(Err(error)) => {
                    received = Err(error);
                    break;
                }
                None => break,
            }
        }
        // What arrived before a failed body stays, as the contract allows:
        // the client resumes from the size it is told.
        if gathered > 0 {
            self.store_piece(upload, state, piece).await?;
        }
        Ok(received)
    }

    /// Deletes the upload's pieces at `from` and after.
    async fn delete_pieces_from(&self, upload: UploadId, from: u64) -> Result<(), StorageError> {
        let pieces: Vec<Path> = self
            .s3
            .list(Some(&self.pieces_root(upload)))
            .try_filter(|meta| {
                let offset = meta.location.filename().and_then(|name| name.parse::<u64>().ok());
                futures::future::ready(offset.is_some_and(|offset| offset >= from))
            })
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(backend)?;
        for piece in pieces {
            delete_if_present(&self.s3, &piece).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn begin_upload(&self) -> Result<UploadId, StorageError> {
        let upload = UploadId::generate();
        self.save_state(upload, &UploadHashState::new(Algorithm::Sha256)).await?;
        Ok(upload)
    }

    async fn upload_size(&self, upload: UploadId) -> Result<u64, StorageError> {
        Ok(self.load_state(upload).await?.covered())
    }

    async fn append(&self, upload: UploadId, body: ByteStream) -> Result<u64, StorageError> {
        let before = self.load_state(upload).await?;
        let mut state = before.clone();
        match self.store_body(upload, &mut state, body).await {
            Ok(received) => {
                received.map_err(StorageError::BodyInterrupted)?;
                Ok(state.covered())
            }
            Err(StorageError::Full(error)) => {
                // A full bucket takes the whole request back, as a full disk
                // does: the session keeps the size it had, and the pieces
                // this request stored are deleted (S3 lets a smaller object
                // replace a larger one, and deletes, over a quota).
                if state.covered() != before.covered() {
                    self.save_state(upload, &before).await?;
                }
                self.delete_pieces_from(upload, before.covered()).await?;
                Err(StorageError::Full(error))
            }
            Err(error) => Err(error),
        }
    }

    async fn finish(&self, upload: UploadId, expected: &Digest) -> Result<u64, StorageError> {
        let state = self.load_state(upload).await?;
        let size = state.covered();
        let mut exists = false;
        if expected.algorithm() == state.algorithm() {
            let actual = state.finish();
            if actual != *expected {
                return Err(StorageError::DigestMismatch { expected: expected.clone(), actual });
            }
            // Verified by the state; the blob is already whole and verified.
            exists = self.stat(expected).await? == Some(size);
        }
        if !exists {
            self.compose(upload, size, expected).await?;
        }
        self.remove_upload(upload).await?;
        Ok(size)
    }

    async fn cancel(&self, upload: UploadId) -> Result<(), StorageError> {
        self.remove_upload(upload).await
    }

    async fn put_whole(&self, mut body: ByteStream, expected: &Digest) -> Result<u64, StorageError> {
        let mut writer = BlobWriter::new(self.s3.clone(), self.blob_key(expected), expected.algorithm());
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => writer.push(chunk).await?,
                Err(error) => {
                    writer.abort().await;
                    return Err(StorageError::BodyInterrupted(error));
                }
            }
        }
        writer.commit(expected).await
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, StorageError> {
        match self.s3.head(&self.blob_key(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(backend(error)),
        }
    }

    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> Result<BlobRead, StorageError> {
        let key = self.blob_key(digest);
        let (options, blob_size, offset, length) = match range {
            None => (GetOptions::default(), None, 0, None),
            Some(range) => {
                let blob_size = self.stat(digest).await?.ok_or(StorageError::BlobUnknown)?;
                let (offset, length) =
                    range.resolve(blob_size).ok_or(StorageError::RangeInvalid { blob_size })?;
                let options = GetOptions {
                    range: Some(GetRange::Bounded(offset..offset + length)),
                    ..Default::default()
                };
                (options, Some(blob_size), offset, Some(length))
            }
        };
        let got = self.s3.get_opts(&key, options).await.map_err(|error| match error {
            object_store::Error::NotFound { .. } => StorageError::BlobUnknown,
            error => backend(error),
        })?;
        let blob_size = blob_size.unwrap_or(got.meta.size);
        let length = length.unwrap_or(blob_size);
        let body = got.into_stream().map_err(io::Error::other).boxed();
        Ok(BlobRead { blob_size, offset, length, body: exactly(length, body) })
    }

    async fn delete(&self, digest: &Digest) -> Result<(), StorageError> {
        // S3 answers a DELETE of a missing key with success; the contract
        // wants it told apart.
        if self.stat(digest).await?.is_none() {
            return Err(StorageError::BlobUnknown);
        }
        delete_if_present(&self.s3, &self.blob_key(digest)).await
    }

    async fn list_blobs(&self) -> Result<Vec<BlobEntry>, StorageError> {
        let blobs_root = self.blobs_root();
        let mut blobs = Vec::new();
        let mut listing = self.s3.list(Some(&blobs_root));
        while let Some(meta) = listing.try_next().await.map_err(backend)? {
            // Only `<algorithm>/<hex>` below `blobs/` is a blob.
            let Some(parts) = meta.location.prefix_match(&blobs_root) else {
                continue;
            };
            let parts: Vec<_> = parts.collect();
            let [algorithm, hex] = parts.as_slice() else {
                continue;
            };
            let Ok(algorithm) = algorithm.as_ref().parse::<Algorithm>() else {
                continue;
            };
            let Ok(digest) = Digest::from_parts(algorithm, hex.as_ref()) else {
                continue;
            };
            blobs.push(BlobEntry { digest, size: meta.size, modified: SystemTime::from(meta.last_modified) });
        }
        Ok(blobs)
    }

    async fn list_uploads_older_than(&self, idle: Duration) -> Result<Vec<UploadId>, StorageError> {
        let uploads_root = self.uploads_root();
        // The newest object of each upload (its state or a piece) says when
        // it was last touched; an upload with pieces but no state (a cancel
        // cut short) is listed too, so that `cancel` removes it.
        let mut touched: std::collections::HashMap<UploadId, SystemTime> = std::collections::HashMap::new();
        let mut listing = self.s3.list(Some(&uploads_root));
        while let Some(meta) = listing.try_next().await.map_err(backend)? {
            let Some(upload) = meta
                .location
                .prefix_match(&uploads_root)
                .and_then(|mut parts| parts.next())
                .and_then(|id| id.as_ref().parse::<UploadId>().ok())
            else {
                continue;
            };
            let modified = SystemTime::from(meta.last_modified);
            let newest = touched.entry(upload).or_insert(modified);
            *newest = (*newest).max(modified);
        }
        let now = SystemTime::now();
        // A time in the future (clocks apart) counts as fresh.
        Ok(touched
            .into_iter()
            .filter(|(_, modified)| now.duration_since(*modified).is_ok_and(|age| age >= idle))
            .map(|(upload, _)| upload)
            .collect())
    }

    /// A presigned GET of the blob's key (SigV4 query authentication).
    async fn presigned_get(
        &self,
        digest: &Digest,
        expires_in: Duration,
    ) -> Result<Option<String>, StorageError> {
        let url = self
            .s3
            .signed_url(axum::http::Method::GET, &self.blob_key(digest), expires_in)
            .await
            .map_err(backend)?;
        Ok(Some(url.to_string()))
    }

    /// A presigned GET valid for [`REDIRECT_EXPIRY`] when the store was
    /// configured to redirect.
    async fn redirect_url(&self, digest: &Digest) -> Result<Option<String>, StorageError> {
        if !self.redirect {
            return Ok(None);
        }
        self.presigned_get(digest, REDIRECT_EXPIRY).await
    }
}

/// Writes one blob key from bytes pushed in order, hashing them; the key
/// becomes visible only through `commit`, and only if the bytes match.
/// A blob that fits one [`MULTIPART_CHUNK`] is written with one `PUT`;
/// a larger one through a multipart upload, which is aborted if the blob
/// is not committed (also when the writer is dropped).
struct BlobWriter {
    s3: Arc<AmazonS3>,
    key: Path,
    hasher: DigestHasher,
    hashed: u64,
    /// The first bytes, until they no longer fit one `PUT`.
    first: Vec<Bytes>,
    first_len: usize,
    multipart: Option<Multipart>,
}

impl BlobWriter {
    fn new(s3: Arc<AmazonS3>, key: Path, algorithm: Algorithm) -> Self {
        Self {
            s3,
            key,
            hasher: DigestHasher::new(algorithm),
            hashed: 0,
            first: Vec::new(),
            first_len: 0,
            multipart: None,
        }
    }

    fn hashed(&self) -> u64 {
        self.hashed
    }

    async fn push(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        self.hasher.update(&chunk);
        self.hashed += chunk.len() as u64;
        if let Some(multipart) = &mut self.multipart {
            return multipart.put(chunk).await;
        }
        self.first_len += chunk.len();
        self.first.push(chunk);
        if self.first_len > MULTIPART_CHUNK {
            let upload = self.s3.put_multipart(&self.key).await.map_err(backend)?;
            let mut multipart = Multipart { upload, buffer: Vec::new(), buffered: 0, parts: JoinSet::new() };
            for chunk in std::mem::take(&mut self.first) {
                multipart.put(chunk).await?;
            }
            self.first_len = 0;
            self.multipart = Some(multipart);
        }
        Ok(())
    }

    /// Makes the bytes the blob if they hash to `expected`; returns their
    /// size. Otherwise nothing becomes visible.
    async fn commit(mut self, expected: &Digest) -> Result<u64, StorageError> {
        let hasher = std::mem::replace(&mut self.hasher, DigestHasher::new(expected.algorithm()));
        let actual = hasher.finish();
        if actual != *expected {
            self.abort().await;
            return Err(StorageError::DigestMismatch { expected: expected.clone(), actual });
        }
        match self.multipart.take() {
            Some(multipart) => multipart.finish().await?,
            None => {
                let payload: PutPayload = std::mem::take(&mut self.first).into_iter().collect();
                self.s3.put(&self.key, payload).await.map_err(backend)?;
            }
        }
        Ok(self.hashed)
    }

    /// Gives up: the parts already sent are discarded.
    async fn abort(mut self) {
        if let Some(multipart) = self.multipart.take() {
            multipart.abort().await;
        }
    }
}

impl Drop for BlobWriter {
    /// A writer dropped with its request (the client went away) aborts its
    /// multipart upload in the background.
    fn drop(&mut self) {
        if let Some(multipart) = self.multipart.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(multipart.abort());
            }
        }
    }
}

/// A multipart upload being written: parts of at least [`MULTIPART_CHUNK`]
/// bytes, at most [`PARTS_IN_FLIGHT`] of them on their way at once, each
/// sent by its own task. (object_store's `WriteMultipart` does the same,
/// but when completing fails and the server has already dropped the upload,
/// as Garage does over a quota, it reports the failed abort instead of why.)
struct Multipart {
    upload: Box<dyn MultipartUpload>,
    buffer: Vec<Bytes>,
    buffered: usize,
    parts: JoinSet<object_store::Result<()>>,
}

impl Multipart {
    async fn put(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        self.buffered += chunk.len();
        self.buffer.push(chunk);
        if self.buffered >= MULTIPART_CHUNK {
            while self.parts.len() >= PARTS_IN_FLIGHT {
                if let Some(sent) = self.parts.join_next().await {
                    sent.map_err(|error| StorageError::Io(io::Error::other(error)))?.map_err(backend)?;
                }
            }
            self.send_buffer();
        }
        Ok(())
    }

    /// Sends what is buffered as the next part (`put_part` numbers the
    /// parts in call order, whenever they arrive).
    fn send_buffer(&mut self) {
        let payload: PutPayload = std::mem::take(&mut self.buffer).into_iter().collect();
        self.buffered = 0;
        self.parts.spawn(self.upload.put_part(payload));
    }

    /// Sends the rest and completes the upload: the object appears whole.
    /// On any failure the upload is aborted and the failure returned.
    async fn finish(mut self) -> Result<(), StorageError> {
        if self.buffered > 0 {
            self.send_buffer();
        }
        let mut sent = Ok(());
        while let Some(part) = self.parts.join_next().await {
            let part = part
                .map_err(|error| StorageError::Io(io::Error::other(error)))
                .and_then(|part| part.map_err(backend));
            if sent.is_ok() {
                sent = part;
            }
        }
        let completed = match sent {
            Ok(()) => self.upload.complete().await.map(|_| ()).map_err(backend),
            Err(error) => Err(error),
        };
        if completed.is_err() {
            self.abort().await;
        }
        completed
    }

    /// Gives up: parts on their way are stopped, those sent discarded.
    async fn abort(mut self) {
        self.parts.shutdown().await;
        if let Err(error) = self.upload.abort().await {
            // After a failed completion the server may have dropped it.
            tracing::debug!(%error, "aborting a multipart upload failed; it stays invisible");
        }
    }
}

/// Deletes `key`; a key already gone is fine.
async fn delete_if_present(s3: &AmazonS3, key: &Path) -> Result<(), StorageError> {
    match s3.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(backend(error)),
    }
}

/// Any failure of the object store; its message names the operation and
/// key, never the credentials. A server out of room is `Full`, as a full
/// disk is, so the client hears 507 and nothing of the request stays.
fn backend(error: object_store::Error) -> StorageError {
    let full = is_out_of_room(&error);
    let error = io::Error::other(error);
    if full {
        StorageError::Full(io::Error::new(io::ErrorKind::StorageFull, error))
    } else {
        StorageError::Io(error)
    }
}

/// S3 has no standard "full" error; what its servers answer instead, as the
/// client reports it (status and response body): `507 Insufficient Storage`
/// (MinIO's `XMinioStorageFull` among them) or a bucket quota (Garage
/// answers `403` "... quota is reached").
fn is_out_of_room(error: &object_store::Error) -> bool {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    ["507 Insufficient Storage", "XMinioStorageFull", "quota is reached"]
        .iter()
        .any(|sign| text.contains(sign))
}

/// The upload's stored pieces do not add up to what its state covers.
fn inconsistent(upload: UploadId, at: u64) -> StorageError {
    StorageError::Io(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("upload {upload} has no stored bytes that continue at offset {at}"),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use futures::stream;

    use super::*;
    use crate::storage::is_out_of_space;
    use crate::storage::suite::{blob_store_suite, body_of, BlobStoreFixture};

    /// Where the test Garage is, as `scripts/garage.sh start` printed it.
    struct TestGarage {
        endpoint: String,
        region: String,
        bucket: String,
        credentials: S3Credentials,
    }

    /// The Garage every test of this process shares: started by
    /// `scripts/garage.sh`, or the one it already runs for the same
    /// directory. A missing Garage fails the tests, it never skips them.
    fn garage() -> &'static TestGarage {
        static GARAGE: OnceLock<TestGarage> = OnceLock::new();
        GARAGE.get_or_init(|| {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/garage.sh");
            let dir = std::env::temp_dir().join("portcullis-test-garage");
            let output = std::process::Command::new(&script)
                .arg("start")
                .arg(&dir)
                .output()
                .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
            assert!(
                output.status.success(),
                "the S3 blob store is tested on a real Garage, and `scripts/garage.sh start` failed \
                 (install Garage with `scripts/setup.sh test`):\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let printed = String::from_utf8(output.stdout).expect("garage.sh prints text");
            let vars: HashMap<&str, &str> =
                printed.lines().filter_map(|line| line.strip_prefix("export ")?.split_once('=')).collect();
            let var = |name: &str| -> String {
                vars.get(name).unwrap_or_else(|| panic!("garage.sh printed no {name}: {printed}")).to_string()
            };
            TestGarage {
                endpoint: var("PORTCULLIS_S3_ENDPOINT"),
                region: var("PORTCULLIS_S3_REGION"),
                bucket: S3Settings::from_url(&var("PORTCULLIS_STORAGE")).expect("an s3:// URL").bucket,
                credentials: S3Credentials {
                    access_key_id: var("AWS_ACCESS_KEY_ID"),
                    secret_access_key: var("AWS_SECRET_ACCESS_KEY").into(),
                },
            }
        })
    }

    /// A store under a prefix of its own in the shared bucket; `reopen`
    /// builds a new client on the same prefix, as another replica or a
    /// restarted server does.
    struct S3Fixture {
        settings: S3Settings,
    }

    impl S3Fixture {
        fn new() -> Self {
            let garage = garage();
            Self {
                settings: S3Settings {
                    bucket: garage.bucket.clone(),
                    prefix: format!("tests/{}", uuid::Uuid::new_v4()),
                    endpoint: Some(garage.endpoint.clone()),
                    region: garage.region.clone(),
                    credentials: Some(garage.credentials.clone()),
                    redirect: false,
                },
            }
        }
    }

    #[async_trait]
    impl BlobStoreFixture for S3Fixture {
        type Store = S3BlobStore;

        async fn reopen(&self) -> S3BlobStore {
            S3BlobStore::open(&self.settings).await.expect("the bucket opens")
        }
    }

    blob_store_suite!(S3Fixture::new());

    fn sha256(content: &[u8]) -> Digest {
        Digest::of_bytes(Algorithm::Sha256, content)
    }

    /// `len` bytes of a pattern that differs with `seed`.
    fn content(seed: u8, len: usize) -> Bytes {
        (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed ^ (i >> 12) as u8).collect::<Vec<u8>>().into()
    }

    /// `content` as a body of 64 KiB chunks.
    fn body_from(content: &Bytes) -> ByteStream {
        let chunks: Vec<Bytes> = (0..content.len())
            .step_by(64 * 1024)
            .map(|start| content.slice(start..(start + 64 * 1024).min(content.len())))
            .collect();
        stream::iter(chunks.into_iter().map(Ok)).boxed()
    }

    /// Every key below the store's prefix, relative to it.
    async fn keys(store: &S3BlobStore) -> Vec<String> {
        let mut keys: Vec<String> = store
            .s3
            .list(Some(&store.root))
            .map_ok(|meta| meta.location.as_ref()[store.root.as_ref().len() + 1..].to_owned())
            .try_collect()
            .await
            .unwrap();
        keys.sort();
        keys
    }

    async fn read_all(store: &S3BlobStore, digest: &Digest, range: Option<ByteRange>) -> Vec<u8> {
        let read = store.open(digest, range).await.unwrap();
        let content: Vec<Bytes> = read.body.try_collect().await.unwrap();
        content.concat()
    }

    /// OCI clients choose their chunk sizes; two replicas take turns.
    #[tokio::test]
    async fn an_upload_continues_on_another_replica_in_chunks_of_any_size() {
        let fixture = S3Fixture::new();
        let replicas = [fixture.reopen().await, fixture.reopen().await];
        let chunks = [content(1, 1), content(2, 100 * 1024), content(3, 7 * 1024 * 1024), content(4, 3)];
        let upload = replicas[0].begin_upload().await.unwrap();
        let mut sent = 0u64;
        for (turn, chunk) in chunks.iter().enumerate() {
            let (this, other) = (&replicas[turn % 2], &replicas[(turn + 1) % 2]);
            sent += chunk.len() as u64;
            assert_eq!(this.append(upload, body_from(chunk)).await.unwrap(), sent, "chunk {turn}");
            assert_eq!(other.upload_size(upload).await.unwrap(), sent, "the other replica sees chunk {turn}");
        }
        let whole = chunks.concat();
        let digest = sha256(&whole);
        assert_eq!(fixture.reopen().await.finish(upload, &digest).await.unwrap(), sent);
        assert_eq!(read_all(&replicas[1], &digest, None).await, whole);
        assert_eq!(
            keys(&replicas[0]).await,
            [format!("blobs/sha256/{}", digest.hex())],
            "the upload is gone"
        );
    }

    #[tokio::test]
    async fn a_wrong_digest_leaves_nothing_visible() {
        let fixture = S3Fixture::new();
        let store = fixture.reopen().await;
        // Larger than one part: the multipart upload is aborted.
        let sent = content(5, 20 * 1024 * 1024);
        let claimed = sha256(b"something else");
        assert!(matches!(
            store.put_whole(body_from(&sent), &claimed).await,
            Err(StorageError::DigestMismatch { .. })
        ));
        assert_eq!(store.stat(&claimed).await.unwrap(), None);
        assert_eq!(store.stat(&sha256(&sent)).await.unwrap(), None);
        assert_eq!(keys(&store).await, Vec::<String>::new());

        // A chunked upload finished with a SHA-512 is hashed as it is
        // composed; a mismatch there aborts the composition.
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_from(&sent)).await.unwrap();
        let other = Digest::of_bytes(Algorithm::Sha512, b"something else");
        assert!(matches!(store.finish(upload, &other).await, Err(StorageError::DigestMismatch { .. })));
        assert!(store.list_blobs().await.unwrap().is_empty());
        assert!(keys(&store).await.iter().all(|key| key.starts_with("uploads/")));
        assert_eq!(store.upload_size(upload).await.unwrap(), sent.len() as u64, "the upload is kept");
        let right = Digest::of_bytes(Algorithm::Sha512, &sent);
        assert_eq!(store.finish(upload, &right).await.unwrap(), sent.len() as u64);
        assert_eq!(store.stat(&right).await.unwrap(), Some(sent.len() as u64));
    }

    /// The state's digest is only a shortcut: bytes that differ from what
    /// it covered (two replicas racing on one upload) never become the blob.
    #[tokio::test]
    async fn finish_verifies_the_bytes_it_composes() {
        let fixture = S3Fixture::new();
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_of(&[b"first piece|"])).await.unwrap();
        store.append(upload, body_of(&[b"second piece"])).await.unwrap();
        let digest = sha256(b"first piece|second piece");
        // Same length, other bytes, where the second piece was stored.
        store.s3.put(&store.piece_key(upload, 12), PutPayload::from_static(b"SECOND PIECE")).await.unwrap();
        match store.finish(upload, &digest).await {
            Err(StorageError::DigestMismatch { expected, actual }) => {
                assert_eq!(expected, digest);
                assert_eq!(actual, sha256(b"first piece|SECOND PIECE"));
            }
            other => panic!("expected DigestMismatch, got {other:?}"),
        }
        assert_eq!(store.stat(&digest).await.unwrap(), None);
    }

    #[tokio::test]
    async fn ranges_of_a_blob_written_in_several_parts() {
        let fixture = S3Fixture::new();
        let store = fixture.reopen().await;
        let whole = content(6, 20 * 1024 * 1024 + 5);
        let digest = sha256(&whole);
        store.put_whole(body_from(&whole), &digest).await.unwrap();
        let boundary = MULTIPART_CHUNK as u64;
        let read = store.open(&digest, ByteRange::inclusive(boundary - 3, boundary + 2)).await.unwrap();
        assert_eq!((read.blob_size, read.offset, read.length), (whole.len() as u64, boundary - 3, 6));
        let across = read.body.try_collect::<Vec<Bytes>>().await.unwrap().concat();
        assert_eq!(across, whole[MULTIPART_CHUNK - 3..MULTIPART_CHUNK + 3]);
        assert_eq!(read_all(&store, &digest, Some(ByteRange::suffix(10))).await, whole[whole.len() - 10..]);
        assert_eq!(read_all(&store, &digest, None).await, whole);
    }

    /// An append stores what it receives as it goes: while a 64 MiB body
    /// streams, the size another replica reads is never more than one
    /// piece behind what the body has yielded, so the body is not held.
    #[tokio::test]
    async fn an_append_stores_its_body_as_it_arrives() {
        const CHUNK: usize = 256 * 1024;
        const CHUNKS: usize = 256;
        let fixture = S3Fixture::new();
        let store = fixture.reopen().await;
        let observer = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        let body = stream::unfold(0usize, move |index| {
            let observer = observer.clone();
            async move {
                if index == CHUNKS {
                    return None;
                }
                let yielded = (index * CHUNK) as u64;
                let stored = observer.upload_size(upload).await.unwrap();
                assert!(
                    yielded - stored <= PIECE_BYTES as u64,
                    "{yielded} bytes yielded, only {stored} stored"
                );
                Some((Ok(content(index as u8, CHUNK)), index + 1))
            }
        })
        .boxed();
        assert_eq!(store.append(upload, body).await.unwrap(), (CHUNK * CHUNKS) as u64);
    }

    /// Bytes allocated and not yet freed by each thread, and their peak:
    /// a `#[tokio::test]` runs the store and every task it spawns (parts
    /// in flight, HTTP connections) on its one thread, so that thread's
    /// count is what the store holds. Other tests' threads do not touch it.
    mod per_thread_memory {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        pub(super) struct Counting;

        thread_local! {
            static LIVE: Cell<i64> = const { Cell::new(0) };
            static PEAK: Cell<i64> = const { Cell::new(0) };
        }

        fn add(delta: i64) {
            let _ = LIVE.try_with(|live| {
                let now = live.get() + delta;
                live.set(now);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }

        /// Starts a new peak; returns what the thread holds now.
        pub(super) fn reset_peak() -> i64 {
            let live = LIVE.with(Cell::get);
            PEAK.with(|peak| peak.set(live));
            live
        }

        pub(super) fn peak() -> i64 {
            PEAK.with(Cell::get)
        }

        // SAFETY: every call is passed to `System` unchanged; the counters
        // are const thread-locals without destructors, which never allocate.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                let block = unsafe { System.alloc(layout) };
                if !block.is_null() {
                    add(layout.size() as i64);
                }
                block
            }

            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                let block = unsafe { System.alloc_zeroed(layout) };
                if !block.is_null() {
                    add(layout.size() as i64);
                }
                block
            }

            unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
                unsafe { System.dealloc(block, layout) };
                add(-(layout.size() as i64));
            }

            unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                let moved = unsafe { System.realloc(block, layout, new_size) };
                if !moved.is_null() {
                    add(new_size as i64 - layout.size() as i64);
                }
                moved
            }
        }
    }

    #[global_allocator]
    static ALLOCATOR: per_thread_memory::Counting = per_thread_memory::Counting;

    /// A 64 MiB blob, produced lazily in 64 KiB chunks, written whole,
    /// appended and composed, and read back: at no point does the store
    /// hold anything near the whole blob (the bound is what its buffers
    /// allow, about 24 MiB, with room for the HTTP client's own).
    #[tokio::test]
    async fn a_large_blob_passes_through_bounded_buffers() {
        const CHUNK: usize = 64 * 1024;
        const CHUNKS: usize = 1024;
        const BOUND: i64 = 40 * 1024 * 1024;
        let lazy_body = || stream::iter(0..CHUNKS).map(|index| Ok(content(index as u8, CHUNK))).boxed();
        let mut hasher = DigestHasher::new(Algorithm::Sha256);
        for index in 0..CHUNKS {
            hasher.update(&content(index as u8, CHUNK));
        }
        let digest = hasher.finish();
        let fixture = S3Fixture::new();
        let store = fixture.reopen().await;

        let before = per_thread_memory::reset_peak();
        store.put_whole(lazy_body(), &digest).await.unwrap();
        let held = per_thread_memory::peak() - before;
        assert!(held < BOUND, "put_whole held {held} bytes of a 64 MiB blob");
        store.delete(&digest).await.unwrap();

        let before = per_thread_memory::reset_peak();
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, lazy_body()).await.unwrap();
        store.finish(upload, &digest).await.unwrap();
        let held = per_thread_memory::peak() - before;
        assert!(held < BOUND, "append and finish held {held} bytes of a 64 MiB blob");

        let before = per_thread_memory::reset_peak();
        let mut served = store.open(&digest, None).await.unwrap().body;
        let mut hasher = DigestHasher::new(Algorithm::Sha256);
        while let Some(chunk) = served.try_next().await.unwrap() {
            hasher.update(&chunk);
        }
        assert_eq!(hasher.finish(), digest);
        let held = per_thread_memory::peak() - before;
        assert!(held < BOUND, "reading held {held} bytes of a 64 MiB blob");
    }

    /// A bucket of its own with a size quota, on the test Garage.
    fn bucket_with_quota(max_size: &str) -> S3Settings {
        let garage = garage();
        let bucket = format!("quota-{}", uuid::Uuid::new_v4().simple());
        let config = std::env::temp_dir().join("portcullis-test-garage/garage.toml");
        let key = garage.credentials.access_key_id.as_str();
        // Where scripts/garage.sh finds Garage too.
        let home = std::env::var("HOME").unwrap_or_default();
        let path = format!("{home}/.cargo/bin:{}", std::env::var("PATH").unwrap_or_default());
        for args in [
            &["bucket", "create", &bucket][..],
            &["bucket", "set-quotas", "--max-size", max_size, &bucket],
            &["bucket", "allow", "--read", "--write", "--key", key, &bucket],
        ] {
            let output = std::process::Command::new("garage")
                .env("PATH", &path)
                .arg("-c")
                .arg(&config)
                .args(args)
                .output()
                .unwrap();
            assert!(output.status.success(), "garage {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        S3Settings { bucket, prefix: String::new(), ..S3Fixture::new().settings }
    }

    /// A full bucket (here Garage's quota) is `Full`, and the request that
    /// ran into it leaves nothing: no blob, no piece, the session's size.
    #[tokio::test]
    async fn a_full_bucket_is_reported_and_keeps_nothing_of_the_request() {
        const MIB: usize = 1024 * 1024;
        let store = S3BlobStore::open(&bucket_with_quota("12MiB")).await.unwrap();
        let upload = store.begin_upload().await.unwrap();
        let first = content(7, 3 * MIB);
        assert_eq!(store.append(upload, body_from(&first)).await.unwrap(), first.len() as u64);

        // 4 MiB pieces: the first two fit, the third does not.
        let too_much = content(8, 16 * MIB);
        match store.append(upload, body_from(&too_much)).await {
            Err(StorageError::Full(error)) => assert!(is_out_of_space(&error), "{error}"),
            other => panic!("expected Full, got {other:?}"),
        }
        assert_eq!(store.upload_size(upload).await.unwrap(), first.len() as u64);
        let pieces = keys(&store).await.into_iter().filter(|key| key.contains("/parts/")).count();
        assert_eq!(pieces, 1, "the pieces of the refused append are gone");

        let blob = content(9, 20 * MIB);
        match store.put_whole(body_from(&blob), &sha256(&blob)).await {
            Err(StorageError::Full(_)) => {}
            other => panic!("expected Full, got {other:?}"),
        }
        assert_eq!(store.stat(&sha256(&blob)).await.unwrap(), None);

        // The session resumes where it was.
        let rest = content(10, MIB);
        assert_eq!(store.append(upload, body_from(&rest)).await.unwrap(), (first.len() + rest.len()) as u64);
        let digest = sha256(&[first, rest].concat());
        assert_eq!(store.finish(upload, &digest).await.unwrap(), 4 * MIB as u64);
    }

    #[tokio::test]
    async fn a_presigned_url_serves_the_blob_without_credentials() {
        let fixture = S3Fixture::new();
        let store = fixture.reopen().await;
        let digest = sha256(b"fetched directly from the bucket");
        store.put_whole(body_of(&[b"fetched directly from the bucket"]), &digest).await.unwrap();
        let url = store.presigned_get(&digest, Duration::from_secs(60)).await.unwrap().expect("S3 presigns");
        assert!(
            !url.contains(fixture.settings.credentials.as_ref().unwrap().secret_access_key.expose_secret())
        );
        let fetched = reqwest::get(&url).await.unwrap();
        assert_eq!(fetched.status(), reqwest::StatusCode::OK);
        assert_eq!(fetched.bytes().await.unwrap(), "fetched directly from the bucket");
        let unsigned = url.split('?').next().unwrap();
        assert_eq!(reqwest::get(unsigned).await.unwrap().status(), reqwest::StatusCode::FORBIDDEN);
    }

    #[test]
    fn storage_urls_name_a_bucket_and_a_prefix() {
        let parsed = S3Settings::from_url("s3://registry-blobs/portcullis/prod/").unwrap();
        assert_eq!((parsed.bucket.as_str(), parsed.prefix.as_str()), ("registry-blobs", "portcullis/prod"));
        assert_eq!(parsed.region, "us-east-1");
        assert_eq!(S3Settings::from_url("s3://bucket").unwrap().prefix, "");
        for wrong in ["bucket/prefix", "https://bucket/x", "s3://", "s3://UPPER/x", "s3://a/x", "s3://b_c/x"]
        {
            assert!(S3Settings::from_url(wrong).is_err(), "{wrong}");
        }
    }

    #[tokio::test]
    async fn the_secret_key_never_shows_in_debug_output() {
        let fixture = S3Fixture::new();
        let secret =
            fixture.settings.credentials.as_ref().unwrap().secret_access_key.expose_secret().to_owned();
        let store = fixture.reopen().await;
        for shown in [format!("{:?}", fixture.settings), format!("{store:?}")] {
            assert!(!shown.contains(&secret), "{shown}");
        }
    }
}
