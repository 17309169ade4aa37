//! `FsBlobStore`: the `BlobStore` on a local directory, for the
//! single-machine deployment (SPEC §4). Owns the directory layout below its
//! root and nothing else; calls only `domain`, the filesystem and
//! `hash_state`.
//!
//! Layout:
//! - `<root>/uploads/<uuid>`: an upload session's bytes so far. With its
//!   hash state (below) it is the whole session state, so a restarted server
//!   resumes it as it is. Monolithic uploads stage in the same place, under a
//!   fresh id, so a crash mid-write leaves only something
//!   `list_uploads_older_than` finds.
//! - `<root>/uploads/<uuid>.hash`: the session's running SHA-256 over its
//!   first bytes (`hash_state`), saved after each append.
//! - `<root>/blobs/<algorithm>/<first two hex>/<hex>`: a verified blob.
//!
//! Crash safety: a blob path is only ever created by `rename(2)` of a file
//! that was fsynced and verified first, and the directory is fsynced after
//! the rename, so a blob path holds the whole verified content or nothing.
//!
//! Writing: a request body is gathered into batches of about
//! [`WRITE_BATCH`] bytes (256 KiB) and handed through a short queue to one blocking
//! task per request, which writes each batch with one write and
//! starts its writeback at once; a second thread hashes the written batches
//! meanwhile (for bodies of more than one batch). The file is fsynced once:
//! at the end of an append (whose size is then reported and must survive a
//! crash) or before the rename (`put_whole`). Memory per request is bounded
//! by the queues, whatever the blob's size.
//!
//! Hashing: every byte is hashed once, as it is written. `put_whole` hashes
//! with the expected digest's algorithm. A chunked upload's algorithm is
//! only known at `finish`, so appends keep a SHA-256 (what clients use) in
//! the hash state file, saved only after the bytes it covers were fsynced.
//! Since the upload file only grows, a saved state always covers a prefix of
//! it; whatever follows that prefix (a chunk cut off before its state was
//! saved, an upload begun by an older version) is read back and hashed when
//! the upload is next touched, and a missing or damaged state means the
//! whole file is hashed. `finish` therefore hashes exactly the bytes that
//! become visible, and only reads them back when something went wrong, or
//! for a SHA-512 digest. An exclusive `flock` on the upload file, taken by
//! every append and finish, keeps one writer per upload even when a
//! request's future was dropped while its blocking writer still runs.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use super::error::is_out_of_space;
use super::hash_state::UploadHashState;
use super::{exactly, BlobEntry, BlobRead, BlobStore, ByteRange, ByteStream, StorageError, UploadId};
use crate::domain::{Algorithm, Digest};

/// How many bytes one chunk of a served blob holds at most.
const READ_CHUNK: usize = 512 * 1024;

/// The buffer used to hash upload bytes read back from disk.
const HASH_BUFFER: usize = 1024 * 1024;

/// How many bytes of a request body are gathered before they are handed to
/// the writer as one batch (one write). 4,096 writes per GiB cost little;
/// larger batches only add to the memory a request holds (measured on a
/// 1 GiB upload: 1 MiB batches left about 8 MiB more in malloc arenas than
/// the per-frame writes before them, 256 KiB batches under 1 MiB more).
const WRITE_BATCH: usize = 256 * 1024;

/// How many batches may wait for the writer, and again for the hasher. With
/// the batches being gathered, written and hashed, a request holds at most
/// `(2 * WRITE_QUEUE + 3) * WRITE_BATCH` bytes of its body (1.25 MiB).
const WRITE_QUEUE: usize = 1;

/// The algorithm a chunked upload is hashed with while it streams. An
/// upload finished with another is hashed from its file at `finish`.
const STREAMING_ALGORITHM: Algorithm = Algorithm::Sha256;

/// The suffix of an upload's hash state file, after the upload's id.
const HASH_STATE_SUFFIX: &str = ".hash";

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

    fn hash_state_path(&self, upload: UploadId) -> PathBuf {
        self.uploads_dir().join(format!("{upload}{HASH_STATE_SUFFIX}"))
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
        let upload_path = self.upload_path(upload);
        let state_path = self.hash_state_path(upload);
        let (received, written) = stream_to_writer(body, move |batches| {
            let mut file = open_upload_locked(&upload_path, Access::Append)?;
            let (mut state, caught_up) = caught_up_hash(&mut file, &state_path)?;
            let before = state.covered();
            let written = write_batches(&mut file, before, batches, &mut state);
            let synced = file.sync_data();
            if written.as_ref().err().into_iter().chain(synced.as_ref().err()).any(is_out_of_space) {
                // A full disk takes the whole chunk back: the upload keeps
                // the size it had (a prefix, as the contract allows), and
                // the space the cut-off chunk took is free again at once
                // instead of when the session expires. The saved state
                // covers at most `before` bytes, so it stays true.
                file.set_len(before)?;
                file.sync_data()?;
                return Err(match written {
                    Err(error) if is_out_of_space(&error) => error,
                    _ => synced.expect_err("one of the two ran out of space"),
                }
                .into());
            }
            // Even after a failed body or write, what was written stays and
            // must be on disk before the size is reported: clients resume
            // from that size. The state is saved only after its bytes are.
            synced?;
            if caught_up || state.covered() != before {
                save_hash_state(&state_path, &state)?;
            }
            written?;
            Ok(file.metadata()?.len())
        })
        .await;
        let size = written?;
        received.map_err(StorageError::BodyInterrupted)?;
        Ok(size)
    }

    async fn finish(&self, upload: UploadId, expected: &Digest) -> Result<u64, StorageError> {
        let upload_path = self.upload_path(upload);
        let state_path = self.hash_state_path(upload);
        let blob_path = self.blob_path(expected);
        let expected = expected.clone();
        run_blocking(move || {
            // Held until the rename: an append waiting for the lock then
            // finds the upload gone instead of writing into the blob.
            let mut file = open_upload_locked(&upload_path, Access::Read)?;
            file.sync_all()?;
            let (actual, size) = if expected.algorithm() == STREAMING_ALGORITHM {
                let (state, _) = caught_up_hash(&mut file, &state_path)?;
                let size = state.covered();
                (state.finish(), size)
            } else {
                let mut hasher = UploadHashState::new(expected.algorithm());
                hash_to_end(&mut file, &mut hasher)?;
                let size = hasher.covered();
                (hasher.finish(), size)
            };
            if actual != expected {
                return Err(StorageError::DigestMismatch { expected, actual });
            }
            // Before the rename, so no state outlives its upload; a crash in
            // between leaves an upload without state, which is re-hashed.
            remove_if_present(&state_path)?;
            publish(&upload_path, &blob_path)?;
            drop(file);
            Ok(size)
        })
        .await
    }

    async fn cancel(&self, upload: UploadId) -> Result<(), StorageError> {
        let upload_path = self.upload_path(upload);
        let state_path = self.hash_state_path(upload);
        run_blocking(move || {
            let had_bytes = remove_if_present(&upload_path)?;
            // A state whose upload is gone (left by a crash) is cancelled
            // the same way, so garbage collection can remove it.
            let had_state = remove_if_present(&state_path)?;
            if had_bytes || had_state {
                Ok(())
            } else {
                Err(StorageError::UploadUnknown)
            }
        })
        .await
    }

    async fn put_whole(&self, body: ByteStream, expected: &Digest) -> Result<u64, StorageError> {
        let staging = StagingFile::new(self.upload_path(UploadId::generate()));
        let algorithm = expected.algorithm();
        // The writer owns the staging file: if it fails, or its result is
        // dropped with this future, the file is removed.
        let (received, written) = stream_to_writer(body, move |batches| {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(staging.path())?;
            let mut hasher = UploadHashState::new(algorithm);
            write_batches(&mut file, 0, batches, &mut hasher)?;
            Ok((staging, file, hasher))
        })
        .await;
        let (staging, file, hasher) = written?;
        received.map_err(StorageError::BodyInterrupted)?;
        let size = hasher.covered();
        let actual = hasher.finish();
        if actual != *expected {
            return Err(StorageError::DigestMismatch { expected: expected.clone(), actual });
        }
        let blob_path = self.blob_path(expected);
        run_blocking(move || {
            file.sync_all()?;
            drop(file);
            publish(staging.path(), &blob_path)?;
            staging.published();
            Ok(())
        })
        .await?;
        Ok(size)
    }

    /// The store's directories are there (a volume that was unmounted, or a
    /// directory removed under the server, is not).
    async fn check_reachable(&self) -> Result<(), StorageError> {
        for directory in [self.algorithm_dir(Algorithm::Sha256), self.uploads_dir()] {
            if !tokio::fs::metadata(&directory).await?.is_dir() {
                let error = io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a directory", directory.display()),
                );
                return Err(StorageError::Io(error));
            }
        }
        Ok(())
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
            body: exactly(length, ReaderStream::with_capacity(reader, READ_CHUNK).boxed()),
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
                let file_name = entry.file_name();
                let Some(name) = file_name.to_str() else {
                    continue;
                };
                let upload = match name.strip_suffix(HASH_STATE_SUFFIX) {
                    // A hash state is listed only when its upload is gone
                    // (a crash between a finish's rename and the state's
                    // removal), so that `cancel` removes it.
                    Some(id) => match id.parse::<UploadId>() {
                        Ok(upload) if !uploads_dir.join(id).exists() => upload,
                        _ => continue,
                    },
                    None => match name.parse::<UploadId>() {
                        Ok(upload) => upload,
                        Err(_) => continue,
                    },
                };
                let Some(modified) = modified_time(&entry.path())? else {
                    continue; // finished or cancelled while listing
                };
                // A time in the future (clock step) counts as fresh.
                if now.duration_since(modified).is_ok_and(|age| age >= idle) && !uploads.contains(&upload) {
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

/// The receiving end of a request body's batches, on the writer's thread.
struct Batches(mpsc::Receiver<Bytes>);

/// Streams `body` to `write`, which runs on one blocking thread and gets the
/// body as batches of about [`WRITE_BATCH`] bytes through a queue of
/// [`WRITE_QUEUE`]: one blocking task per request rather than a trip
/// through the blocking pool per frame, and bounded memory. Returns how the
/// body ended (an error when it failed before its end; what came before it
/// was still handed to the writer) and what the writer returned. If the
/// writer stops early the rest of the body is not read; its result says why.
///
/// If this future is dropped, the writer still runs to its end: it sees the
/// queue close and finishes with what it received.
async fn stream_to_writer<T, W>(body: ByteStream, write: W) -> (io::Result<()>, Result<T, StorageError>)
where
    W: FnOnce(&mut Batches) -> Result<T, StorageError> + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = mpsc::channel(WRITE_QUEUE);
    let writer = tokio::task::spawn_blocking(move || write(&mut Batches(receiver)));
    let received = forward_batches(body, &sender).await;
    drop(sender);
    let written = match writer.await {
        Ok(outcome) => outcome,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(StorageError::Io(io::Error::other(error))),
    };
    (received, written)
}

/// Copies `body` into batches of [`WRITE_BATCH`] bytes (the last may be
/// shorter) and sends them to the writer, until the body ends, fails (the
/// batch gathered so far is sent first) or the writer stops listening.
/// Copying, rather than passing the frames on, lets the server's read
/// buffers go at once: what a request holds is the batches, nothing more.
async fn forward_batches(mut body: ByteStream, sender: &mpsc::Sender<Bytes>) -> io::Result<()> {
    let mut batch = BytesMut::new();
    loop {
        let chunk = match body.try_next().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(error) => {
                if !batch.is_empty() {
                    let _ = sender.send(batch.freeze()).await;
                }
                return Err(error);
            }
        };
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if batch.capacity() == 0 {
                batch.reserve(WRITE_BATCH);
            }
            let taken = rest.len().min(WRITE_BATCH - batch.len());
            batch.extend_from_slice(&rest[..taken]);
            rest = &rest[taken..];
            if batch.len() == WRITE_BATCH && sender.send(std::mem::take(&mut batch).freeze()).await.is_err() {
                return Ok(()); // the writer failed; it reports why
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(batch.freeze()).await;
    }
    Ok(())
}

/// Writes every batch to `file`, which holds `offset` bytes (one write
/// each, unless the kernel takes less), starting each batch's
/// writeback at once, and adds each batch to `hash` once it is written, so
/// a hash never covers a byte the file lacks. Returns how many bytes were
/// written. A body of more than one batch is hashed on a second thread while
/// this one writes, so the hash and the disk work at the same time; a small
/// body costs no thread.
fn write_batches(
    file: &mut std::fs::File,
    offset: u64,
    batches: &mut Batches,
    hash: &mut UploadHashState,
) -> io::Result<u64> {
    let Some(first) = batches.0.blocking_recv() else {
        return Ok(0);
    };
    let mut total = write_batch(file, offset, &first)?;
    hash.update(&first);
    let Some(second) = batches.0.blocking_recv() else {
        return Ok(total);
    };
    std::thread::scope(|scope| {
        let (to_hasher, from_writer) = std::sync::mpsc::sync_channel::<Bytes>(WRITE_QUEUE);
        let hasher = scope.spawn(move || {
            for batch in from_writer {
                hash.update(&batch);
            }
        });
        let mut next = Some(second);
        let written = loop {
            let Some(batch) = next.take().or_else(|| batches.0.blocking_recv()) else {
                break Ok(total);
            };
            match write_batch(file, offset + total, &batch) {
                Ok(len) => total += len,
                Err(error) => break Err(error),
            }
            if to_hasher.send(batch).is_err() {
                break Ok(total); // the hasher panicked; joining it says so
            }
        };
        drop(to_hasher);
        if let Err(panic) = hasher.join() {
            std::panic::resume_unwind(panic);
        }
        written
    })
}

/// Writes one batch at `offset` of `file` (opened for appending, or written
/// from its start) and starts its writeback; returns its length.
fn write_batch(file: &mut std::fs::File, offset: u64, batch: &[u8]) -> io::Result<u64> {
    file.write_all(batch)?;
    let len = batch.len() as u64;
    start_writeback(file, offset, len);
    Ok(len)
}

/// Asks the kernel to start writing these bytes of `file` to disk now,
/// without waiting for it (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`):
/// the disk then works while the body still arrives, and the one fsync at
/// the end has little left to wait for. Only a hint: durability comes from
/// that fsync, so a failure here is ignored.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the duration of the call (borrowed
    // from `file`), and the call only reads its arguments.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &std::fs::File, _offset: u64, _len: u64) {}

/// How an upload file is opened.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Append,
}

/// Opens the upload file at `path` and takes its exclusive lock (waiting for
/// the append or finish that holds it), so one writer at a time touches an
/// upload, even a writer whose request is gone, or on another replica
/// sharing the directory. Once locked it must still be the upload: one that
/// was finished (renamed into a blob) or cancelled meanwhile is
/// `UploadUnknown`. The lock ends when the file is closed.
fn open_upload_locked(path: &Path, access: Access) -> Result<std::fs::File, StorageError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .append(matches!(access, Access::Append))
        .open(path)
        .map_err(|error| not_found_as(error, StorageError::UploadUnknown))?;
    file.lock()?;
    let locked = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(current) if current.dev() == locked.dev() && current.ino() == locked.ino() => Ok(file),
        Ok(_) => Err(StorageError::UploadUnknown),
        Err(error) => Err(not_found_as(error, StorageError::UploadUnknown)),
    }
}

/// The running hash of the locked upload `file`, caught up with every byte
/// it holds, and whether that took more than the saved state (so the state
/// is worth saving again). The saved state at `state_path` covers a prefix
/// of the file (module documentation); the bytes after it are read back and
/// hashed. A missing, damaged or impossible state (covering more than the
/// file holds) counts as none: the whole file is hashed.
fn caught_up_hash(file: &mut std::fs::File, state_path: &Path) -> io::Result<(UploadHashState, bool)> {
    let size = file.metadata()?.len();
    let saved = match std::fs::read_to_string(state_path) {
        Ok(text) => UploadHashState::decode(&text),
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::InvalidData) => None,
        Err(error) => return Err(error),
    };
    let mut state = match saved {
        Some(state) if state.algorithm() == STREAMING_ALGORITHM && state.covered() <= size => state,
        _ => UploadHashState::new(STREAMING_ALGORITHM),
    };
    if state.covered() == size {
        return Ok((state, false));
    }
    file.seek(SeekFrom::Start(state.covered()))?;
    hash_to_end(file, &mut state)?;
    Ok((state, true))
}

/// Saves `state` for the upload's next append or finish. Not fsynced: a
/// state lost or torn by a crash is only work to redo (it is checked when
/// read), never a wrong digest, since it is written after the bytes it
/// covers were fsynced.
fn save_hash_state(state_path: &Path, state: &UploadHashState) -> io::Result<()> {
    std::fs::write(state_path, state.encode())
}

/// Hashes `file` from its current position to its end into `state`, in
/// constant memory.
fn hash_to_end(file: &mut std::fs::File, state: &mut UploadHashState) -> io::Result<()> {
    let mut buffer = vec![0u8; HASH_BUFFER];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => state.update(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Removes the file at `path`; `false` if there was none.
fn remove_if_present(path: &Path) -> io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
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
        error.into()
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

    fn sha256(content: &[u8]) -> Digest {
        Digest::of_bytes(Algorithm::Sha256, content)
    }

    /// The saved hash state of `upload`, decoded.
    fn saved_state(fixture: &FsFixture, upload: UploadId) -> Option<UploadHashState> {
        let path = fixture.root.path().join("uploads").join(format!("{upload}.hash"));
        UploadHashState::decode(&std::fs::read_to_string(path).ok()?)
    }

    fn upload_file(fixture: &FsFixture, upload: UploadId) -> PathBuf {
        fixture.root.path().join("uploads").join(upload.to_string())
    }

    /// Appends bytes to the upload file behind the store's back, as a chunk
    /// does whose request died (or whose server crashed) after its bytes
    /// were written and before its hash state was saved.
    fn append_behind_the_store(fixture: &FsFixture, upload: UploadId, bytes: &[u8]) {
        let mut file = std::fs::OpenOptions::new().append(true).open(upload_file(fixture, upload)).unwrap();
        file.write_all(bytes).unwrap();
    }

    #[tokio::test]
    async fn each_append_saves_the_hash_of_what_the_file_holds() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        assert!(saved_state(&fixture, upload).is_none(), "an empty upload needs no state");
        let mut content = Vec::new();
        for part in [&b"first "[..], b"second ", &[7u8; 200], b"last"] {
            store.append(upload, body_of(&[part])).await.unwrap();
            content.extend_from_slice(part);
            let state = saved_state(&fixture, upload).expect("a state after each append");
            assert_eq!(state.covered(), content.len() as u64);
            assert_eq!(state.finish(), sha256(&content));
            assert_eq!(std::fs::read(upload_file(&fixture, upload)).unwrap(), content);
        }
        store.finish(upload, &sha256(&content)).await.unwrap();
        let uploads: Vec<_> = std::fs::read_dir(fixture.root.path().join("uploads")).unwrap().collect();
        assert!(uploads.is_empty(), "finish removes the upload and its state: {uploads:?}");
    }

    /// Nothing in the registry changes an upload's stored bytes; this test
    /// does, after the state was saved, to show that `finish` takes the
    /// digest from the state instead of reading the bytes back.
    #[tokio::test]
    async fn finish_takes_the_digest_from_the_state_without_reading_the_file_back() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_of(&[b"sent bytes"])).await.unwrap();
        std::fs::write(upload_file(&fixture, upload), b"SENT BYTES").unwrap();
        let store = fixture.reopen().await;
        assert_eq!(store.finish(upload, &sha256(b"sent bytes")).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn bytes_past_the_saved_state_are_hashed_from_the_file() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_of(&[b"acknowledged|"])).await.unwrap();
        append_behind_the_store(&fixture, upload, b"cut off|");
        assert_eq!(saved_state(&fixture, upload).unwrap().covered(), 13, "the state lags the file");

        // After a restart: the prefix the state covers is not accepted as
        // the whole upload, and the whole upload is.
        let store = fixture.reopen().await;
        assert!(matches!(
            store.finish(upload, &sha256(b"acknowledged|")).await,
            Err(StorageError::DigestMismatch { .. })
        ));
        // A further append catches the state up first.
        assert_eq!(store.append(upload, body_of(&[b"resumed"])).await.unwrap(), 28);
        assert_eq!(saved_state(&fixture, upload).unwrap().covered(), 28);
        append_behind_the_store(&fixture, upload, b"|again");
        let digest = sha256(b"acknowledged|cut off|resumed|again");
        assert_eq!(store.finish(upload, &digest).await.unwrap(), 34);
        assert_eq!(std::fs::read(store.blob_path(&digest)).unwrap(), b"acknowledged|cut off|resumed|again");
    }

    #[tokio::test]
    async fn a_missing_damaged_or_impossible_state_means_the_file_is_hashed() {
        let content = b"the bytes of the upload";
        let longer = UploadHashState::new(Algorithm::Sha256);
        let mut longer = longer;
        longer.update(b"the bytes of the upload, and more than the file holds");
        let damaged_states = [
            None,
            Some(String::new()),
            Some("not a state at all\n".to_owned()),
            Some(longer.encode()),
            Some(longer.encode().replace("covered 53", "covered 23")),
        ];
        for damaged in damaged_states {
            let fixture = FsFixture::new();
            let store = fixture.reopen().await;
            let upload = store.begin_upload().await.unwrap();
            // An upload written before hash states existed, or whose state
            // was lost or is not to be believed.
            std::fs::write(upload_file(&fixture, upload), &content[..10]).unwrap();
            let state_path = fixture.root.path().join("uploads").join(format!("{upload}.hash"));
            if let Some(text) = &damaged {
                std::fs::write(&state_path, text).unwrap();
            }
            let store = fixture.reopen().await;
            assert_eq!(store.append(upload, body_of(&[&content[10..]])).await.unwrap(), 23, "{damaged:?}");
            assert_eq!(saved_state(&fixture, upload).unwrap().covered(), 23, "{damaged:?}");
            if let Some(text) = &damaged {
                std::fs::write(&state_path, text).unwrap();
            }
            assert_eq!(store.finish(upload, &sha256(content)).await.unwrap(), 23, "{damaged:?}");
        }
    }

    #[tokio::test]
    async fn a_state_left_without_its_upload_is_collected() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let orphan = UploadId::generate();
        let mut state = UploadHashState::new(Algorithm::Sha256);
        state.update(b"finished long ago");
        let state_path = fixture.root.path().join("uploads").join(format!("{orphan}.hash"));
        std::fs::write(&state_path, state.encode()).unwrap();
        let live = store.begin_upload().await.unwrap();
        store.append(live, body_of(&[b"in progress"])).await.unwrap();

        let mut listed = store.list_uploads_older_than(Duration::ZERO).await.unwrap();
        listed.sort();
        let mut expected = vec![orphan, live];
        expected.sort();
        assert_eq!(listed, expected, "a live upload is listed once, with or without its state");
        store.cancel(orphan).await.unwrap();
        assert!(!state_path.exists());
        store.cancel(live).await.unwrap();
        let left: Vec<_> = std::fs::read_dir(fixture.root.path().join("uploads")).unwrap().collect();
        assert!(left.is_empty(), "cancel removes an upload and its state: {left:?}");
    }

    /// An append that waits for the lock while the upload is finished (its
    /// file renamed into a blob) must not write into the blob.
    #[tokio::test]
    async fn an_append_that_waited_for_a_finished_upload_writes_nothing() {
        let fixture = FsFixture::new();
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_of(&[b"whole"])).await.unwrap();
        let path = upload_file(&fixture, upload);
        let held = std::fs::File::open(&path).unwrap();
        held.lock().unwrap();
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.append(upload, body_of(&[b" and more"])).await }
        });
        // Give the append time to open the file and wait for the lock; if it
        // has not yet, it finds no file, which must give the same answer.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let moved = fixture.root.path().join("moved");
        std::fs::rename(&path, &moved).unwrap();
        drop(held);
        assert!(matches!(waiting.await.unwrap(), Err(StorageError::UploadUnknown)));
        assert_eq!(std::fs::read(&moved).unwrap(), b"whole");
    }
}
