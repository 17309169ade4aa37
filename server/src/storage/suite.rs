//! The behaviour every `BlobStore` backend must show, written once and run
//! against each backend (STYLE rule 10, after distribution's
//! `storage/driver/testsuites`). Test-only: it drives a store through the
//! trait alone and must not touch a backend's internals.
//!
//! A backend's test module implements `BlobStoreFixture` and expands
//! `blob_store_suite!(fixture_expression)`, which writes one `#[tokio::test]`
//! per case below.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};

use super::{BlobStore, ByteRange, ByteStream, StorageError, UploadId};
use crate::domain::{Algorithm, Digest, DigestHasher};

/// A backend under test, with its persisted state.
#[async_trait]
pub(crate) trait BlobStoreFixture: Send + Sync {
    type Store: BlobStore;

    /// A new store over this fixture's persisted state. Calling it again
    /// models a restarted server (or another replica).
    async fn reopen(&self) -> Self::Store;
}

/// Writes one `#[tokio::test]` per suite case, each on a fresh fixture
/// built by the given expression (which may `.await`).
macro_rules! blob_store_suite {
    ($fixture:expr) => {
        $crate::storage::suite::blob_store_suite!(@cases $fixture;
            put_whole_then_read_back,
            put_whole_with_wrong_digest_leaves_nothing,
            put_whole_with_failing_body_leaves_nothing,
            put_whole_is_idempotent,
            chunked_upload_resumes_after_restart,
            finish_with_wrong_digest_publishes_nothing,
            finish_when_the_blob_exists_is_idempotent,
            empty_blob,
            range_reads,
            delete_removes_the_blob,
            unknown_ids_are_reported,
            cancel_discards_the_upload,
            listing_for_garbage_collection,
            large_blob_streams_in_constant_memory,
            large_chunked_upload_across_restart,
            many_appends_then_finish,
            chunked_upload_finished_with_sha512,
            failed_append_keeps_a_prefix_to_resume_from,
            dropped_append_keeps_a_prefix_to_resume_from,
        );
    };
    (@cases $fixture:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let fixture = $fixture;
                $crate::storage::suite::$case(&fixture).await;
            }
        )+
    };
}
pub(crate) use blob_store_suite;

/// A body made of the given chunks.
pub(crate) fn body_of(chunks: &[&[u8]]) -> ByteStream {
    let chunks: Vec<Bytes> = chunks.iter().map(|chunk| Bytes::copy_from_slice(chunk)).collect();
    stream::iter(chunks.into_iter().map(Ok)).boxed()
}

/// Reads a small served body into memory (only for small test blobs).
async fn read_small(body: ByteStream) -> Vec<u8> {
    body.try_fold(Vec::new(), |mut content, chunk| async move {
        content.extend_from_slice(&chunk);
        Ok(content)
    })
    .await
    .expect("the body reads to its end")
}

async fn read_blob<S: BlobStore>(store: &S, digest: &Digest, range: Option<ByteRange>) -> Vec<u8> {
    let read = store.open(digest, range).await.expect("the blob opens");
    let content = read_small(read.body).await;
    assert_eq!(content.len() as u64, read.length, "length matches the body");
    content
}

fn sha256(content: &[u8]) -> Digest {
    Digest::of_bytes(Algorithm::Sha256, content)
}

/// One chunk of generated content: a cheap deterministic pattern that
/// differs between chunks and between seeds.
fn generated_chunk(seed: u8, index: usize, chunk_len: usize) -> Bytes {
    let mix = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(seed);
    let content: Vec<u8> =
        (0..chunk_len).map(|offset| (mix.rotate_left((offset % 64) as u32) as u8) ^ (offset as u8)).collect();
    Bytes::from(content)
}

/// A body of `chunk_count` generated chunks, produced lazily as it is
/// polled: the whole content never exists in memory.
fn generated_body(seed: u8, chunks: std::ops::Range<usize>, chunk_len: usize) -> ByteStream {
    stream::iter(chunks).map(move |index| Ok(generated_chunk(seed, index, chunk_len))).boxed()
}

/// The digest of the generated content, computed chunk by chunk.
fn generated_digest(seed: u8, chunk_count: usize, chunk_len: usize) -> Digest {
    let mut hasher = DigestHasher::new(Algorithm::Sha256);
    for index in 0..chunk_count {
        hasher.update(&generated_chunk(seed, index, chunk_len));
    }
    hasher.finish()
}

/// Streams a served blob through a hasher, checking that no chunk is large,
/// and returns its digest and size.
async fn hash_served<S: BlobStore>(store: &S, digest: &Digest) -> (Digest, u64) {
    let read = store.open(digest, None).await.expect("the blob opens");
    let mut body = read.body;
    let mut hasher = DigestHasher::new(digest.algorithm());
    let mut size = 0u64;
    while let Some(chunk) = body.try_next().await.expect("the body reads") {
        assert!(
            chunk.len() <= 4 * 1024 * 1024,
            "a served chunk of {} bytes means the blob is not streamed",
            chunk.len()
        );
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    assert_eq!(size, read.length);
    (hasher.finish(), size)
}

async fn assert_no_uploads<S: BlobStore>(store: &S) {
    assert_eq!(store.list_uploads_older_than(Duration::ZERO).await.unwrap(), [], "no upload is left behind");
}

pub(crate) async fn put_whole_then_read_back(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let content = b"hello, registry";
    let digest = sha256(content);
    let size = store.put_whole(body_of(&[b"hello, ", b"registry"]), &digest).await.unwrap();
    assert_eq!(size, content.len() as u64);
    assert_eq!(store.stat(&digest).await.unwrap(), Some(size));
    assert_eq!(read_blob(&store, &digest, None).await, content);

    let sha512 = Digest::of_bytes(Algorithm::Sha512, content);
    store.put_whole(body_of(&[content]), &sha512).await.unwrap();
    assert_eq!(read_blob(&store, &sha512, None).await, content);

    let read = store.open(&digest, None).await.unwrap();
    assert_eq!((read.blob_size, read.offset, read.length), (size, 0, size));
    assert_no_uploads(&store).await;
}

pub(crate) async fn put_whole_with_wrong_digest_leaves_nothing(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let claimed = sha256(b"what the client claimed");
    let actual = sha256(b"what it sent");
    match store.put_whole(body_of(&[b"what it sent"]), &claimed).await {
        Err(StorageError::DigestMismatch { expected, actual: computed }) => {
            assert_eq!(expected, claimed);
            assert_eq!(computed, actual);
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert_eq!(store.stat(&actual).await.unwrap(), None);
    assert!(store.list_blobs().await.unwrap().is_empty());
    assert_no_uploads(&store).await;

    // A wrong algorithm is a mismatch too.
    let sha512 = Digest::of_bytes(Algorithm::Sha512, b"other");
    assert!(matches!(
        store.put_whole(body_of(&[b"content"]), &sha512).await,
        Err(StorageError::DigestMismatch { .. })
    ));
    assert!(store.list_blobs().await.unwrap().is_empty());
}

pub(crate) async fn put_whole_with_failing_body_leaves_nothing(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let digest = sha256(b"complete content");
    let failing: ByteStream = stream::iter([
        Ok(Bytes::from_static(b"complete")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")),
    ])
    .boxed();
    assert!(matches!(store.put_whole(failing, &digest).await, Err(StorageError::BodyInterrupted(_))));
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(store.list_blobs().await.unwrap().is_empty());
    assert_no_uploads(&store).await;
}

pub(crate) async fn put_whole_is_idempotent(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let digest = sha256(b"same");
    for _ in 0..3 {
        assert_eq!(store.put_whole(body_of(&[b"same"]), &digest).await.unwrap(), 4);
    }
    let blobs = store.list_blobs().await.unwrap();
    assert_eq!(blobs.len(), 1);
    assert_eq!((&blobs[0].digest, blobs[0].size), (&digest, 4));
    assert_eq!(read_blob(&store, &digest, None).await, b"same");
}

pub(crate) async fn chunked_upload_resumes_after_restart(fixture: &impl BlobStoreFixture) {
    let digest = sha256(b"chunk one|chunk two|chunk three");
    let upload = {
        let store = fixture.reopen().await;
        let upload = store.begin_upload().await.unwrap();
        assert_eq!(store.upload_size(upload).await.unwrap(), 0);
        assert_eq!(store.append(upload, body_of(&[b"chunk one|"])).await.unwrap(), 10);
        upload
        // The store is dropped here: the server stops.
    };
    let store = fixture.reopen().await;
    assert_eq!(store.upload_size(upload).await.unwrap(), 10);
    assert_eq!(store.append(upload, body_of(&[b"chunk ", b"two|"])).await.unwrap(), 20);
    let store = fixture.reopen().await;
    assert_eq!(store.append(upload, body_of(&[b"chunk three"])).await.unwrap(), 31);
    assert_eq!(store.stat(&digest).await.unwrap(), None, "not visible before finish");
    assert_eq!(store.finish(upload, &digest).await.unwrap(), 31);

    let store = fixture.reopen().await;
    assert_eq!(read_blob(&store, &digest, None).await, b"chunk one|chunk two|chunk three");
    assert!(matches!(store.upload_size(upload).await, Err(StorageError::UploadUnknown)));
    assert_no_uploads(&store).await;
}

pub(crate) async fn finish_with_wrong_digest_publishes_nothing(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let upload = store.begin_upload().await.unwrap();
    store.append(upload, body_of(&[b"sent"])).await.unwrap();
    let claimed = sha256(b"claimed");
    match store.finish(upload, &claimed).await {
        Err(StorageError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, claimed);
            assert_eq!(actual, sha256(b"sent"));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert_eq!(store.stat(&sha256(b"sent")).await.unwrap(), None);
    assert!(store.list_blobs().await.unwrap().is_empty());
    // The upload is kept unchanged for the client to cancel.
    assert_eq!(store.upload_size(upload).await.unwrap(), 4);
    store.cancel(upload).await.unwrap();
    assert_no_uploads(&store).await;
}

pub(crate) async fn finish_when_the_blob_exists_is_idempotent(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let digest = sha256(b"shared layer");
    store.put_whole(body_of(&[b"shared layer"]), &digest).await.unwrap();
    for _ in 0..2 {
        let upload = store.begin_upload().await.unwrap();
        store.append(upload, body_of(&[b"shared ", b"layer"])).await.unwrap();
        assert_eq!(store.finish(upload, &digest).await.unwrap(), 12);
    }
    assert_eq!(store.list_blobs().await.unwrap().len(), 1);
    assert_eq!(read_blob(&store, &digest, None).await, b"shared layer");
    assert_no_uploads(&store).await;
}

pub(crate) async fn empty_blob(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let digest = sha256(b"");
    let upload = store.begin_upload().await.unwrap();
    assert_eq!(store.append(upload, body_of(&[])).await.unwrap(), 0);
    assert_eq!(store.finish(upload, &digest).await.unwrap(), 0);
    assert_eq!(store.stat(&digest).await.unwrap(), Some(0));
    assert_eq!(read_blob(&store, &digest, None).await, b"");
    assert!(matches!(
        store.open(&digest, Some(ByteRange::starting_at(0))).await,
        Err(StorageError::RangeInvalid { blob_size: 0 })
    ));
    assert_eq!(store.put_whole(body_of(&[]), &digest).await.unwrap(), 0);
}

pub(crate) async fn range_reads(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let content = b"0123456789";
    let digest = sha256(content);
    store.put_whole(body_of(&[content]), &digest).await.unwrap();

    let satisfiable = [
        (ByteRange::inclusive(0, 0), 0, &b"0"[..]),
        (ByteRange::inclusive(2, 5), 2, b"2345"),
        (ByteRange::inclusive(9, 9), 9, b"9"),
        (ByteRange::inclusive(0, 9), 0, b"0123456789"),
        (ByteRange::inclusive(5, 100), 5, b"56789"),
        (Some(ByteRange::starting_at(7)), 7, b"789"),
        (Some(ByteRange::starting_at(0)), 0, b"0123456789"),
        (Some(ByteRange::suffix(4)), 6, b"6789"),
        (Some(ByteRange::suffix(40)), 0, b"0123456789"),
    ];
    for (range, offset, expected) in satisfiable {
        let range = range.expect("a well-formed range");
        let read = store.open(&digest, Some(range)).await.unwrap();
        assert_eq!(read.blob_size, 10, "{range:?}");
        assert_eq!(read.offset, offset, "{range:?}");
        assert_eq!(read.length, expected.len() as u64, "{range:?}");
        assert_eq!(read_small(read.body).await, expected, "{range:?}");
    }
    for range in [
        ByteRange::inclusive(10, 10).unwrap(),
        ByteRange::inclusive(11, 20).unwrap(),
        ByteRange::starting_at(10),
        ByteRange::suffix(0),
    ] {
        assert!(
            matches!(
                store.open(&digest, Some(range)).await,
                Err(StorageError::RangeInvalid { blob_size: 10 })
            ),
            "{range:?}"
        );
    }
}

pub(crate) async fn delete_removes_the_blob(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let kept = sha256(b"kept");
    let deleted = sha256(b"deleted");
    store.put_whole(body_of(&[b"kept"]), &kept).await.unwrap();
    store.put_whole(body_of(&[b"deleted"]), &deleted).await.unwrap();
    // A reader that opened the blob before the delete may finish.
    let early_reader = store.open(&deleted, None).await.unwrap();
    store.delete(&deleted).await.unwrap();
    assert_eq!(store.stat(&deleted).await.unwrap(), None);
    assert!(matches!(store.open(&deleted, None).await, Err(StorageError::BlobUnknown)));
    assert!(matches!(store.delete(&deleted).await, Err(StorageError::BlobUnknown)));
    assert_eq!(read_small(early_reader.body).await, b"deleted");
    assert_eq!(store.stat(&kept).await.unwrap(), Some(4));
    let listed: Vec<Digest> =
        store.list_blobs().await.unwrap().into_iter().map(|entry| entry.digest).collect();
    assert_eq!(listed, [kept]);
    // It can be stored again.
    store.put_whole(body_of(&[b"deleted"]), &deleted).await.unwrap();
    assert_eq!(store.stat(&deleted).await.unwrap(), Some(7));
}

pub(crate) async fn unknown_ids_are_reported(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let missing = sha256(b"never stored");
    assert_eq!(store.stat(&missing).await.unwrap(), None);
    assert!(matches!(store.open(&missing, None).await, Err(StorageError::BlobUnknown)));
    assert!(matches!(store.delete(&missing).await, Err(StorageError::BlobUnknown)));

    let unknown = UploadId::generate();
    assert!(matches!(store.upload_size(unknown).await, Err(StorageError::UploadUnknown)));
    assert!(matches!(store.append(unknown, body_of(&[b"x"])).await, Err(StorageError::UploadUnknown)));
    assert!(matches!(store.finish(unknown, &missing).await, Err(StorageError::UploadUnknown)));
    assert!(matches!(store.cancel(unknown).await, Err(StorageError::UploadUnknown)));
    assert_no_uploads(&store).await;
}

pub(crate) async fn cancel_discards_the_upload(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let upload = store.begin_upload().await.unwrap();
    store.append(upload, body_of(&[b"partial"])).await.unwrap();
    store.cancel(upload).await.unwrap();
    assert!(matches!(store.upload_size(upload).await, Err(StorageError::UploadUnknown)));
    assert!(matches!(store.append(upload, body_of(&[b"more"])).await, Err(StorageError::UploadUnknown)));
    assert!(matches!(store.finish(upload, &sha256(b"partial")).await, Err(StorageError::UploadUnknown)));
    assert!(matches!(store.cancel(upload).await, Err(StorageError::UploadUnknown)));
    assert_eq!(store.stat(&sha256(b"partial")).await.unwrap(), None);
    assert_no_uploads(&store).await;
}

pub(crate) async fn listing_for_garbage_collection(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    assert!(store.list_blobs().await.unwrap().is_empty());
    assert_no_uploads(&store).await;

    let mut expected = vec![
        (sha256(b"one"), 3),
        (sha256(b"three"), 5),
        (Digest::of_bytes(Algorithm::Sha512, b"sha512 blob"), 11),
    ];
    store.put_whole(body_of(&[b"one"]), &expected[0].0).await.unwrap();
    store.put_whole(body_of(&[b"three"]), &expected[1].0).await.unwrap();
    store.put_whole(body_of(&[b"sha512 blob"]), &expected[2].0).await.unwrap();
    let mut listed: Vec<(Digest, u64)> =
        store.list_blobs().await.unwrap().into_iter().map(|entry| (entry.digest, entry.size)).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);

    let first = store.begin_upload().await.unwrap();
    let second = store.begin_upload().await.unwrap();
    store.append(second, body_of(&[b"data"])).await.unwrap();
    let mut idle = store.list_uploads_older_than(Duration::ZERO).await.unwrap();
    idle.sort();
    let mut begun = vec![first, second];
    begun.sort();
    assert_eq!(idle, begun);
    assert_eq!(
        store.list_uploads_older_than(Duration::from_secs(3600)).await.unwrap(),
        [],
        "fresh uploads are not collected"
    );
    // Uploads are not blobs.
    assert_eq!(store.list_blobs().await.unwrap().len(), 3);
}

/// 64 MiB, generated lazily in 64 KiB chunks: never held in memory, neither
/// when stored nor when read back.
pub(crate) async fn large_blob_streams_in_constant_memory(fixture: &impl BlobStoreFixture) {
    const CHUNK_LEN: usize = 64 * 1024;
    const CHUNK_COUNT: usize = 1024;
    const SIZE: u64 = (CHUNK_LEN * CHUNK_COUNT) as u64;
    let store = fixture.reopen().await;
    let digest = generated_digest(1, CHUNK_COUNT, CHUNK_LEN);
    let size = store.put_whole(generated_body(1, 0..CHUNK_COUNT, CHUNK_LEN), &digest).await.unwrap();
    assert_eq!(size, SIZE);
    assert_eq!(store.stat(&digest).await.unwrap(), Some(SIZE));
    assert_eq!(hash_served(&store, &digest).await, (digest.clone(), SIZE));

    // A range in the middle of the blob, across a chunk boundary.
    let first = CHUNK_LEN as u64 * 500 - 10;
    let read = store.open(&digest, ByteRange::inclusive(first, first + 19)).await.unwrap();
    let mut expected = generated_chunk(1, 499, CHUNK_LEN)[CHUNK_LEN - 10..].to_vec();
    expected.extend_from_slice(&generated_chunk(1, 500, CHUNK_LEN)[..10]);
    assert_eq!(read_small(read.body).await, expected);
}

/// 64 MiB sent as four 16 MiB appends, with a restart in the middle.
pub(crate) async fn large_chunked_upload_across_restart(fixture: &impl BlobStoreFixture) {
    const CHUNK_LEN: usize = 64 * 1024;
    const CHUNK_COUNT: usize = 1024;
    const CHUNKS_PER_APPEND: usize = 256;
    const SIZE: u64 = (CHUNK_LEN * CHUNK_COUNT) as u64;
    let digest = generated_digest(2, CHUNK_COUNT, CHUNK_LEN);
    let upload = fixture.reopen().await.begin_upload().await.unwrap();
    for append in 0..CHUNK_COUNT / CHUNKS_PER_APPEND {
        // A fresh store for every append: the session lives in the backend.
        let store = fixture.reopen().await;
        let chunks = append * CHUNKS_PER_APPEND..(append + 1) * CHUNKS_PER_APPEND;
        let size = store.append(upload, generated_body(2, chunks.clone(), CHUNK_LEN)).await.unwrap();
        assert_eq!(size, (chunks.end * CHUNK_LEN) as u64);
    }
    let store = fixture.reopen().await;
    assert_eq!(store.upload_size(upload).await.unwrap(), SIZE);
    assert_eq!(store.finish(upload, &digest).await.unwrap(), SIZE);
    assert_eq!(hash_served(&store, &digest).await, (digest.clone(), SIZE));
    assert_no_uploads(&store).await;
}

/// Many small appends of uneven sizes (none a multiple of a hash block),
/// each checked against the size it reports.
pub(crate) async fn many_appends_then_finish(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let upload = store.begin_upload().await.unwrap();
    let mut content = Vec::new();
    for (index, len) in [1usize, 63, 64, 65, 1000, 0, 7, 4096, 129].into_iter().enumerate() {
        let chunk = generated_chunk(3, index, len);
        content.extend_from_slice(&chunk);
        let size = store.append(upload, body_of(&[&chunk[..len / 2], &chunk[len / 2..]])).await.unwrap();
        assert_eq!(size, content.len() as u64, "append {index}");
    }
    // A wrong digest is refused and changes nothing.
    let prefix = sha256(&content[..content.len() - 1]);
    assert!(matches!(store.finish(upload, &prefix).await, Err(StorageError::DigestMismatch { .. })));
    assert_eq!(store.upload_size(upload).await.unwrap(), content.len() as u64);
    let digest = sha256(&content);
    assert_eq!(store.finish(upload, &digest).await.unwrap(), content.len() as u64);
    assert_eq!(read_blob(&store, &digest, None).await, content);
    assert_no_uploads(&store).await;
}

/// The algorithm is only known at `finish`: a SHA-512 digest works too.
pub(crate) async fn chunked_upload_finished_with_sha512(fixture: &impl BlobStoreFixture) {
    let store = fixture.reopen().await;
    let upload = store.begin_upload().await.unwrap();
    store.append(upload, body_of(&[b"first half, "])).await.unwrap();
    let store = fixture.reopen().await;
    store.append(upload, body_of(&[b"second half"])).await.unwrap();
    let content = b"first half, second half";
    // The SHA-256 of other content is refused first; the upload stays.
    assert!(matches!(
        store.finish(upload, &sha256(b"other content")).await,
        Err(StorageError::DigestMismatch { .. })
    ));
    let digest = Digest::of_bytes(Algorithm::Sha512, content);
    assert_eq!(store.finish(upload, &digest).await.unwrap(), content.len() as u64);
    assert_eq!(read_blob(&store, &digest, None).await, content);
}

/// 3 MiB of generated content, for tests that cut it at any byte.
fn resumable_content(seed: u8) -> Bytes {
    let chunks: Vec<Bytes> = (0..12).map(|index| generated_chunk(seed, index, 256 * 1024)).collect();
    Bytes::from(chunks.concat())
}

/// `content` as a body of 64 KiB chunks.
fn body_from(content: &Bytes) -> ByteStream {
    let chunks: Vec<Bytes> = (0..content.len())
        .step_by(64 * 1024)
        .map(|start| content.slice(start..(start + 64 * 1024).min(content.len())))
        .collect();
    stream::iter(chunks.into_iter().map(Ok)).boxed()
}

/// A body that fails part way leaves what arrived before the failure (or
/// less), and `upload_size` says how much: the client resumes from there
/// and the blob is exactly what was sent.
pub(crate) async fn failed_append_keeps_a_prefix_to_resume_from(fixture: &impl BlobStoreFixture) {
    let content = resumable_content(4);
    let store = fixture.reopen().await;
    let upload = store.begin_upload().await.unwrap();
    store.append(upload, body_from(&content.slice(..300_000))).await.unwrap();
    let failing: ByteStream = body_from(&content.slice(300_000..2_000_000))
        .chain(stream::once(async {
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away"))
        }))
        .boxed();
    assert!(matches!(store.append(upload, failing).await, Err(StorageError::BodyInterrupted(_))));
    let kept = store.upload_size(upload).await.unwrap();
    assert!((300_000..=2_000_000).contains(&kept), "kept {kept}");
    // After a restart, as a client resuming later would find it.
    let store = fixture.reopen().await;
    let size = store.append(upload, body_from(&content.slice(kept as usize..))).await.unwrap();
    assert_eq!(size, content.len() as u64);
    let digest = sha256(&content);
    assert_eq!(store.finish(upload, &digest).await.unwrap(), content.len() as u64);
    assert_eq!(hash_served(&store, &digest).await, (digest.clone(), content.len() as u64));
}

/// The request carrying an append goes away (its future is dropped) while
/// its body is still arriving. What was stored stays; the next append waits
/// for whatever the dropped one was still writing, so an empty append tells
/// the settled size, and the upload resumed from it finishes as the blob
/// that was sent.
pub(crate) async fn dropped_append_keeps_a_prefix_to_resume_from(fixture: &impl BlobStoreFixture) {
    let content = resumable_content(5);
    let store = fixture.reopen().await;
    let upload = store.begin_upload().await.unwrap();
    // 2 MiB, then a body that never ends.
    let stalled: ByteStream = body_from(&content.slice(..2 * 1024 * 1024)).chain(stream::pending()).boxed();
    let mut append = Box::pin(store.append(upload, stalled));
    // Until some of it is stored; bounded, and the body's first 2 MiB are
    // all there is, so the store has had them long before this ends.
    for _ in 0..1000 {
        tokio::select! {
            outcome = &mut append => panic!("a body that never ends cannot finish: {outcome:?}"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if store.upload_size(upload).await.unwrap() > 0 {
            break;
        }
    }
    drop(append);
    // Bounded so that a writer that never ends fails the test, not hangs it.
    let settled = tokio::time::timeout(Duration::from_secs(120), store.append(upload, body_of(&[])));
    let kept = settled.await.expect("the dropped append's writer ends").unwrap();
    assert!((1..=2 * 1024 * 1024).contains(&kept), "kept {kept}");
    assert_eq!(store.upload_size(upload).await.unwrap(), kept);
    let size = store.append(upload, body_from(&content.slice(kept as usize..))).await.unwrap();
    assert_eq!(size, content.len() as u64);
    let digest = sha256(&content);
    assert_eq!(store.finish(upload, &digest).await.unwrap(), content.len() as u64);
    assert_eq!(hash_served(&store, &digest).await, (digest.clone(), content.len() as u64));
}
