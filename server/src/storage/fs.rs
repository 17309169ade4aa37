//! `FsBlobStore`: the `BlobStore` on a local directory, for the
//! single-machine deployment (SPEC §4). Owns the directory layout below its
//! root and nothing else; calls only `domain` and the filesystem.
//!
//! Layout:
//! - `<root>/uploads/<uuid>`: an upload session's bytes so far. The file is
//!   the whole session state, so a restarted server resumes it as it is.
//!   Monolithic uploads stage in the same place, under a fresh id, so a
//!   crash mid-write leaves only something `list_uploads_older_than` finds.
//! - `<root>/blobs/<algorithm>/<first two hex>/<hex>`: a verified blob.
//!
//! Crash safety: a blob path is only ever created by `rename(2)` of a file
//! that was fsynced and verified first, and the directory is fsynced after
//! the rename, so a blob path holds the whole verified content or nothing.
//!
//! Hashing: `put_whole` hashes while it streams. A chunked upload's running
//! hash is not kept between appends: sha2's state cannot be persisted, it
//! would be lost on restart or on another replica, and the algorithm is only
//! known at `finish`. Instead `finish` re-reads the fsynced upload file and
//! hashes it in constant memory. That costs one sequential read of the blob,
//! and it verifies exactly the bytes that will become visible.

use std::io::{self, Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use super::{BlobEntry, BlobRead, BlobStore, ByteRange, ByteStream, StorageError, UploadId};
use crate::domain::{Algorithm, Digest, DigestHasher};

/// How many bytes one chunk of a served blob holds at most.
const READ_CHUNK: usize = 512 * 1024;

/// The buffer used to re-hash an upload file at `finish`.
const HASH_BUFFER: usize = 256 * 1024;

/// Blobs and uploads under one local directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Opens the store at `root`, creating its directories if needed.
    /// Opening the same root again (after a restart) sees every blob and
    /// every unfinished upload.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let store = Self { root: root.into() };
        let layout = store.clone();
        run_blocking(move || {
            std::fs::create_dir_all(&layout.root)?;
            create_dir_durably(&layout.uploads_dir())?;
            create_dir_durably(&layout.root.join("blobs"))?;
            for algorithm in Algorithm::ALL {
                create_dir_durably(&layout.algorithm_dir(algorithm))?;
            }
            Ok(())
        })
        .await?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    fn upload_path(&self, upload: UploadId) -> PathBuf {
        self.uploads_dir().join(upload.to_string())
    }

    fn algorithm_dir(&self, algorithm: Algorithm) -> PathBuf {
        self.root.join("blobs").join(algorithm.as_str())
    }

    /// A `Digest`'s hex is validated lowercase hex, so it is a safe file name.
    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.algorithm_dir(digest.algorithm()).join(&hex[..2]).join(hex)
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn begin_upload(&self) -> Result<UploadId, StorageError> {
        let upload = UploadId::generate();
        let path = self.upload_path(upload);
        let uploads_dir = self.uploads_dir();
        run_blocking(move || {
            std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
            // The session must outlive a crash right after the client was
            // told its id.
            sync_dir(&uploads_dir)?;
            Ok(())
        })
        .await?;
        Ok(upload)
    }

    async fn upload_size(&self, upload: UploadId) -> Result<u64, StorageError> {
        let metadata = tokio::fs::metadata(self.upload_path(upload))
            .await
            .map_err(|error| not_found_as(error, StorageError::UploadUnknown))?;
        Ok(metadata.len())
    }

    async fn append(&self, upload: UploadId, body: ByteStream) -> Result<u64, StorageError> {
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(self.upload_path(upload))
            .await
            .map_err(|error| not_found_as(error, StorageError::UploadUnknown))?;
        let written = write_body(&mut file, body, None).await;
        // Even after a failed body, what was written stays and must be on
        // disk before the size is reported: clients resume from that size.
        file.flush().await?;
        file.sync_data().await?;
        written?;
        Ok(file.metadata().await?.len())
    }

    async fn finish(&self, upload: UploadId, expected: &Digest) -> Result<u64, StorageError> {
        let upload_path = self.upload_path(upload);
        let blob_path = self.blob_path(expected);
        let expected = expected.clone();
        run_blocking(move || {
            let mut file = std::fs::File::open(&upload_path)
                .map_err(|error| not_found_as(error, StorageError::UploadUnknown))?;
            file.sync_all()?;
            let (actual, size) = hash_file(&mut file, expected.algorithm())?;
            drop(file);
            if actual != expected {
                return Err(StorageError::DigestMismatch { expected, actual });
            }
            publish(&upload_path, &blob_path)?;
            Ok(size)
        })
        .await
    }

    async fn cancel(&self, upload: UploadId) -> Result<(), StorageError> {
        tokio::fs::remove_file(self.upload_path(upload))
            .await
            .map_err(|error| not_found_as(error, StorageError::UploadUnknown))
    }

    async fn put_whole(&self, body: ByteStream, expected: &Digest) -> Result<u64, StorageError> {
        let staging = StagingFile::new(self.upload_path(UploadId::generate()));
        let mut file =
            tokio::fs::OpenOptions::new().write(true).create_new(true).open(staging.path()).await?;
        let mut hasher = DigestHasher::new(expected.algorithm());
        let size = write_body(&mut file, body, Some(&mut hasher)).await?;
        let actual = hasher.finish();
        if actual != *expected {
            return Err(StorageError::DigestMismatch { expected: expected.clone(), actual });
        }
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let blob_path = self.blob_path(expected);
        run_blocking(move || {
            publish(staging.path(), &blob_path)?;
            staging.published();
            Ok(())
        })
        .await?;
        Ok(size)
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, StorageError> {
        match tokio::fs::metadata(self.blob_path(digest)).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(metadata.len())),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> Result<BlobRead, StorageError> {
        let mut file = tokio::fs::File::open(self.blob_path(digest))
            .await
            .map_err(|error| not_found_as(error, StorageError::BlobUnknown))?;
        let blob_size = file.metadata().await?.len();
        let (offset, length) = match range {
            None => (0, blob_size),
            Some(range) => range.resolve(blob_size).ok_or(StorageError::RangeInvalid { blob_size })?,
        };
        if offset > 0 {
            file.seek(SeekFrom::Start(offset)).await?;
        }
        let reader = file.take(length);
        Ok(BlobRead {
            blob_size,
            offset,
            length,
            body: ReaderStream::with_capacity(reader, READ_CHUNK).boxed(),
        })
    }

    async fn delete(&self, digest: &Digest) -> Result<(), StorageError> {
        let blob_path = self.blob_path(digest);
        run_blocking(move || {
            std::fs::remove_file(&blob_path)
                .map_err(|error| not_found_as(error, StorageError::BlobUnknown))?;
            if let Some(fanout_dir) = blob_path.parent() {
                sync_dir(fanout_dir)?;
            }
            Ok(())
        })
        .await
    }

    async fn list_blobs(&self) -> Result<Vec<BlobEntry>, StorageError> {
        let store = self.clone();
        run_blocking(move || {
            let mut blobs = Vec::new();
            for algorithm in Algorithm::ALL {
                store.list_algorithm(algorithm, &mut blobs)?;
            }
            Ok(blobs)
        })
        .await
    }

    async fn list_uploads_older_than(&self, idle: Duration) -> Result<Vec<UploadId>, StorageError> {
        let uploads_dir = self.uploads_dir();
        run_blocking(move || {
            let now = SystemTime::now();
            let mut uploads = Vec::new();
            for entry in std::fs::read_dir(&uploads_dir)? {
                let entry = entry?;
                let Some(upload) = entry.file_name().to_str().and_then(|name| name.parse::<UploadId>().ok())
                else {
                    continue;
                };
                let Some(modified) = modified_time(&entry.path())? else {
                    continue; // finished or cancelled while listing
                };
                // A time in the future (clock step) counts as fresh.
                if now.duration_since(modified).is_ok_and(|age| age >= idle) {
                    uploads.push(upload);
                }
            }
            Ok(uploads)
        })
        .await
    }
}

impl FsBlobStore {
    /// Adds the blobs of one algorithm to `blobs`, skipping any stray entry
    /// that is not a blob at its proper path.
    fn list_algorithm(&self, algorithm: Algorithm, blobs: &mut Vec<BlobEntry>) -> io::Result<()> {
        let fanout_dirs = match std::fs::read_dir(self.algorithm_dir(algorithm)) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        for fanout_dir in fanout_dirs {
            let fanout_dir = fanout_dir?;
            let fanout_name = fanout_dir.file_name();
            let Some(fanout) = fanout_name.to_str() else {
                continue;
            };
            if !fanout_dir.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(fanout_dir.path())? {
                let file = file?;
                let Some(digest) =
                    file.file_name().to_str().and_then(|hex| Digest::from_parts(algorithm, hex).ok())
                else {
                    continue;
                };
                if !digest.hex().starts_with(fanout) || fanout.len() != 2 {
                    continue;
                }
                let metadata = match file.metadata() {
                    Ok(metadata) => metadata,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error),
                };
                if !metadata.is_file() {
                    continue;
                }
                blobs.push(BlobEntry { digest, size: metadata.len(), modified: metadata.modified()? });
            }
        }
        Ok(())
    }
}

/// Writes every chunk of `body` to `file`, feeding `hasher` if given, and
/// returns how many bytes were written. A failing body is
/// `BodyInterrupted`; a failing write is `Io`.
async fn write_body(
    file: &mut tokio::fs::File,
    mut body: ByteStream,
    mut hasher: Option<&mut DigestHasher>,
) -> Result<u64, StorageError> {
    let mut written = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(StorageError::BodyInterrupted)? {
        if let Some(hasher) = hasher.as_deref_mut() {
            hasher.update(&chunk);
        }
        file.write_all(&chunk).await?;
        written += chunk.len() as u64;
    }
    Ok(written)
}

/// Hashes a file from its current position to its end, in constant memory,
/// and returns the digest and the number of bytes read.
fn hash_file(file: &mut std::fs::File, algorithm: Algorithm) -> io::Result<(Digest, u64)> {
    let mut hasher = DigestHasher::new(algorithm);
    let mut buffer = vec![0u8; HASH_BUFFER];
    let mut size = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hasher.finish(), size))
}

/// Makes the fsynced, verified file at `from` the blob at `blob_path`, by an
/// atomic rename and then an fsync of the directory that holds it. If the
/// blob already exists the rename replaces it with identical content, which
/// is what makes `finish` and `put_whole` idempotent.
fn publish(from: &Path, blob_path: &Path) -> io::Result<()> {
    let fanout_dir = blob_path.parent().expect("a blob path always has a fan-out directory");
    create_dir_durably(fanout_dir)?;
    std::fs::rename(from, blob_path)?;
    sync_dir(fanout_dir)
}

/// Creates `dir` if it is missing and, when it was created, fsyncs its
/// parent so the new entry survives a crash. Its parent must exist.
fn create_dir_durably(dir: &Path) -> io::Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => match dir.parent() {
            Some(parent) => sync_dir(parent),
            None => Ok(()),
        },
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// Makes the entries of `dir` (creations, renames, removals) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The modification time of `path`, or `None` if it no longer exists.
fn modified_time(path: &Path) -> io::Result<Option<SystemTime>> {
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(Some(metadata.modified()?)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Maps "no such file" to the store's own "unknown" error.
fn not_found_as(error: io::Error, unknown: StorageError) -> StorageError {
    if error.kind() == io::ErrorKind::NotFound {
        unknown
    } else {
        StorageError::Io(error)
    }
}

/// Runs filesystem work that blocks (fsync, rename, directory walks, the
/// hash of a whole file) off the async workers.
async fn run_blocking<T, F>(work: F) -> Result<T, StorageError>
where
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(outcome) => outcome,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(StorageError::Io(io::Error::other(error))),
    }
}

/// A monolithic upload's file before it is published. If `put_whole` fails
/// or its future is dropped (the client went away), the file is removed
/// here; a crash leaves it to `list_uploads_older_than`.
struct StagingFile {
    path: PathBuf,
    published: bool,
}

impl StagingFile {
    fn new(path: PathBuf) -> Self {
        Self { path, published: false }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn published(mut self) {
        self.published = true;
    }
}

impl Drop for StagingFile {
    fn drop(&mut self) {
        if !self.published {
            // One unlink; an error only means nothing was left to remove.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::suite::{blob_store_suite, body_of, BlobStoreFixture};

    /// A store on a temporary directory; `reopen` opens a new
    /// `FsBlobStore` on the same root, as a restarted server does.
    struct FsFixture {
        root: tempfile::TempDir,
    }

    impl FsFixture {
        fn new() -> Self {
            Self { root: tempfile::tempdir().expect("a temporary directory") }
        }
    }

    #[async_trait]
    impl BlobStoreFixture for FsFixture {
        type Store = FsBlobStore;

        async fn reopen(&self) -> FsBlobStore {
            FsBlobStore::open(self.root.path()).await.expect("the store opens")
        }
    }

    blob_store_suite!(FsFixture::new());

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(files_under(&path));
            } else {
                files.push(path);
            }
        }
        files.sort();
        files
    }

    #[tokio::test]
    async fn blobs_live_under_algorithm_and_fanout_directories() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let digest = Digest::of_bytes(Algorithm::Sha256, b"layout");
        store.put_whole(body_of(&[b"layout"]), &digest).await.unwrap();
        let expected = fixture.root.path().join("blobs/sha256").join(&digest.hex()[..2]).join(digest.hex());
        assert_eq!(files_under(fixture.root.path()), std::slice::from_ref(&expected));
        assert_eq!(std::fs::read(expected).unwrap(), b"layout");
    }

    #[tokio::test]
    async fn an_upload_is_a_file_named_by_its_id() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_of(&[b"abc"])).await.unwrap();
        let path = fixture.root.path().join("uploads").join(upload.to_string());
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        let digest = Digest::of_bytes(Algorithm::Sha256, b"abc");
        store.finish(upload, &digest).await.unwrap();
        assert!(!path.exists(), "a finished upload leaves no file behind");
    }

    #[tokio::test]
    async fn a_file_left_by_a_crash_mid_upload_is_never_a_blob() {
        // What a crash between writing the staging file and renaming it
        // leaves: a partial file in uploads/ and nothing at the blob path.
        let fixture = FsFixture::new();
        let digest = Digest::of_bytes(Algorithm::Sha256, b"complete content");
        let leftover = UploadId::generate();
        std::fs::create_dir_all(fixture.root.path().join("uploads")).unwrap();
        std::fs::write(fixture.root.path().join("uploads").join(leftover.to_string()), b"complete").unwrap();

        let store = fixture.reopen().await;
        assert_eq!(store.stat(&digest).await.unwrap(), None);
        assert!(store.list_blobs().await.unwrap().is_empty());
        assert_eq!(store.list_uploads_older_than(Duration::ZERO).await.unwrap(), [leftover]);
        store.cancel(leftover).await.unwrap();
        assert!(store.list_uploads_older_than(Duration::ZERO).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn stray_files_are_not_listed() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let digest = Digest::of_bytes(Algorithm::Sha256, b"real");
        store.put_whole(body_of(&[b"real"]), &digest).await.unwrap();
        let root = fixture.root.path();
        let misplaced = Digest::of_bytes(Algorithm::Sha256, b"misplaced");
        let wrong_fanout = if misplaced.hex().starts_with("00") { "11" } else { "00" };
        std::fs::create_dir_all(root.join("blobs/sha256").join(wrong_fanout)).unwrap();
        std::fs::write(root.join("blobs/sha256").join(wrong_fanout).join(misplaced.hex()), b"misplaced")
            .unwrap();
        std::fs::write(root.join("blobs/sha256/stray-file"), b"x").unwrap();
        std::fs::write(root.join("blobs/sha256").join(&digest.hex()[..2]).join("not-hex"), b"x").unwrap();
        std::fs::write(root.join("uploads/not-an-upload"), b"x").unwrap();

        let listed: Vec<Digest> =
            store.list_blobs().await.unwrap().into_iter().map(|entry| entry.digest).collect();
        assert_eq!(listed, [digest]);
        assert!(store.list_uploads_older_than(Duration::ZERO).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn opening_creates_the_layout_and_reopening_keeps_it() {
        let fixture = FsFixture::new();
        let nested = fixture.root.path().join("a/b");
        let store = FsBlobStore::open(&nested).await.unwrap();
        assert_eq!(store.root(), nested);
        for dir in ["uploads", "blobs/sha256", "blobs/sha512"] {
            assert!(nested.join(dir).is_dir(), "{dir}");
        }
        FsBlobStore::open(&nested).await.unwrap();
    }
}
