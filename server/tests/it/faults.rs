//! Faults under a running registry: a full disk (blob store and database),
//! blobs damaged behind its back (and `portcullis fsck`), slow and stalled
//! clients.
//!
//! The disk-full tests mount a size-limited tmpfs as the data directory, so
//! they need root (`mount -t tmpfs`); one that cannot mount fails and says
//! so, it is never skipped.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use reqwest::{header, Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::registry::{image_manifest, sha256, Registry, OCI_MANIFEST};

const MIB: usize = 1024 * 1024;

// ----- a small filesystem of our own -----

/// A size-limited tmpfs mounted on a fresh temporary directory, unmounted
/// when dropped (also when the test panics). Declare it before the
/// `Registry` that uses it, so the server is stopped first.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size_mib: usize) -> Self {
        let dir = tempfile::tempdir().expect("a mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m,mode=0700"), "portcullis-faults"])
            .arg(dir.path())
            .output();
        match output {
            Ok(output) if output.status.success() => Self { dir },
            Ok(output) => panic!(
                "cannot mount a {size_mib} MiB tmpfs on {} (the disk-full tests need root): {}",
                dir.path().display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => panic!("cannot run mount(8) for the disk-full tests: {error}"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes an unprivileged writer may still use.
    fn free_bytes(&self) -> u64 {
        free_bytes(self.path())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(self.dir.path()).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process the test started lingers): detach it now,
            // the kernel frees it when the last user goes.
            let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
        }
    }
}

fn free_bytes(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `stat` a writable statvfs.
    let result = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
    assert_eq!(result, 0, "statvfs: {}", std::io::Error::last_os_error());
    stat.f_bavail as u64 * stat.f_frsize as u64
}

/// Writes `path` until the filesystem is full; returns how many bytes it
/// took.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("the filler file");
    let block = vec![0x5au8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(error) if error.kind() == std::io::ErrorKind::StorageFull => break,
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
    // A partial last block may still fit.
    for size in [4096usize, 512, 1] {
        while file.write(&block[..size]).is_ok_and(|n| n > 0) {
            written += size as u64;
        }
    }
    written
}

/// `len` bytes that do not compress and differ with `seed` (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Every file under `dir` with its length, sorted.
fn files_under(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            files.push((path, len));
        }
    }
    files.sort();
    files
}

/// A 507 with the OCI error body that says the disk is full.
async fn assert_oci_out_of_space(response: Response, what: &str) {
    assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE, "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNKNOWN", "{what}: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("disk is full"), "{what}: {message}");
}

async fn head_status(registry: &Registry, repo: &str, digest: &str) -> StatusCode {
    registry.request(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap().status()
}

async fn pull(registry: &Registry, path: &str) -> Vec<u8> {
    let response = registry.request(Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.bytes().await.unwrap().to_vec()
}

/// Starts an upload session; returns its path (the `Location`).
async fn start_session(registry: &Registry, repo: &str) -> String {
    let response =
        registry.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

fn upload_bytes_on_disk(data: &Path) -> Vec<u64> {
    files_under(&data.join("uploads")).into_iter().map(|(_, len)| len).collect()
}

// ----- disk full -----

#[tokio::test]
async fn a_full_disk_refuses_blob_pushes_cleanly_and_they_work_once_space_is_freed() {
    let disk = Tmpfs::mount(64);
    let data = disk.path().join("data");
    let registry = Registry::start_in(&data, &[]);
    let repo = "faults/disk";
    let layer = b"a layer pushed before the disk filled".to_vec();
    let (manifest, _) = registry.push_image(repo, "before", &layer).await;
    let blobs_before = files_under(&data.join("blobs"));
    let free = disk.free_bytes();

    // A blob larger than the free space, in one request: refused, and
    // nothing of it stays (no blob, no staging file, the space back).
    let big = noise(free as usize + 16 * MIB, 1);
    let big_digest = sha256(&big);
    let response = registry
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={big_digest}"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_oci_out_of_space(response, "monolithic push larger than the disk").await;
    assert_eq!(head_status(&registry, repo, &big_digest).await, StatusCode::NOT_FOUND);
    assert_eq!(files_under(&data.join("blobs")), blobs_before, "no blob file appeared");
    assert_eq!(upload_bytes_on_disk(&data), Vec::<u64>::new(), "the staging file was removed");
    assert!(disk.free_bytes() + MIB as u64 >= free, "the space came back");

    // The same as one chunk of a session: the chunk is taken back whole,
    // the session stays (size 0) for the client to resume.
    let session = start_session(&registry, repo).await;
    let response = registry.request(Method::PATCH, &session).body(big.clone()).send().await.unwrap();
    assert_oci_out_of_space(response, "chunk larger than the disk").await;
    let status = registry.request(Method::GET, &session).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT, "the session survives");
    assert_eq!(status.headers()[header::RANGE], "0-0");
    assert_eq!(upload_bytes_on_disk(&data), [0], "the session's file holds nothing of the chunk");
    assert!(disk.free_bytes() + MIB as u64 >= free, "the space came back");
    drop(big);

    // A disk filled by something else: even a small push is refused ...
    let filler = disk.path().join("filler");
    fill(&filler);
    let small = noise(MIB, 2);
    let small_digest = sha256(&small);
    let response = registry
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={small_digest}"))
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_oci_out_of_space(response, "small push on a full disk").await;
    assert_eq!(head_status(&registry, repo, &small_digest).await, StatusCode::NOT_FOUND);
    let chunk = noise(MIB, 3);
    let response = registry
        .request(Method::PATCH, &session)
        .header(header::CONTENT_RANGE, format!("0-{}", chunk.len() - 1))
        .body(chunk.clone())
        .send()
        .await
        .unwrap();
    assert_oci_out_of_space(response, "chunk on a full disk").await;
    assert_eq!(upload_bytes_on_disk(&data), [0]);
    assert_eq!(files_under(&data.join("blobs")), blobs_before, "no blob file appeared");

    // ... while what was there is served whole.
    assert_eq!(pull(&registry, &format!("/v2/{repo}/manifests/before")).await, manifest);
    assert_eq!(pull(&registry, &format!("/v2/{repo}/blobs/{}", sha256(&layer))).await, layer);

    // Once space is freed the same pushes work, the session included.
    std::fs::remove_file(&filler).unwrap();
    registry.push_blob(repo, &small).await;
    assert_eq!(pull(&registry, &format!("/v2/{repo}/blobs/{small_digest}")).await, small);
    let response = registry
        .request(Method::PATCH, &session)
        .header(header::CONTENT_RANGE, format!("0-{}", chunk.len() - 1))
        .body(chunk.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    let chunk_digest = sha256(&chunk);
    let response =
        registry.request(Method::PUT, &format!("{session}?digest={chunk_digest}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    assert_eq!(pull(&registry, &format!("/v2/{repo}/blobs/{chunk_digest}")).await, chunk);
    assert_eq!(upload_bytes_on_disk(&data), Vec::<u64>::new(), "nothing left in uploads/");
}

async fn create_token(registry: &Registry, name: &str) -> Response {
    registry
        .request(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": name, "scopeMap": "_repositories_pull"}))
        .send()
        .await
        .unwrap()
}

async fn token_status(registry: &Registry, name: &str) -> StatusCode {
    registry.request(Method::GET, &format!("/api/v1/tokens/{name}")).send().await.unwrap().status()
}

#[tokio::test]
async fn a_full_disk_refuses_database_writes_cleanly_and_keeps_what_was_there() {
    if crate::testkit::sqlite_only(
        "faults::a_full_disk_refuses_database_writes_cleanly_and_keeps_what_was_there",
        "it fills the disk under the data directory, where only SQLite keeps the database; \
         PostgreSQL's disk_full (53100) maps to the same DbError::Full",
    ) {
        return;
    }
    let disk = Tmpfs::mount(64);
    let data = disk.path().join("data");
    let registry = Registry::start_in(&data, &[]);
    let repo = "faults/db";
    let layer = b"the layer of the image pushed before".to_vec();
    let (manifest, _) = registry.push_image(repo, "before", &layer).await;
    assert_eq!(create_token(&registry, "before").await.status(), StatusCode::CREATED);
    // What a bigger manifest will reference, stored while there is room.
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = registry.push_blob(repo, config).await;
    let layer_digest = sha256(&layer);
    let mut big = serde_json::from_slice::<Value>(&image_manifest(
        &config_digest,
        config.len(),
        &[(&layer_digest, layer.len())],
        None,
    ))
    .unwrap();
    // 3 MiB of annotation: more than the write-ahead log holds yet.
    big["annotations"] = json!({"org.example.padding": "p".repeat(3 * MIB)});
    let big = serde_json::to_vec(&big).unwrap();

    let filler = disk.path().join("filler");
    fill(&filler);

    // A manifest PUT writes its content into the database.
    let response = registry.push_manifest(repo, "big", OCI_MANIFEST, &big).await;
    assert_oci_out_of_space(response, "manifest PUT on a full disk").await;
    let response = registry.request(Method::GET, &format!("/v2/{repo}/manifests/big")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "no half-stored manifest");
    let tags: Value = registry.get_json(&format!("/v2/{repo}/tags/list")).await;
    assert_eq!(tags["tags"], json!(["before"]));

    // Token writes are small: the log may still have room for some. Each
    // either succeeds or is refused with a clear problem, and once one is
    // refused the disk is full for the database too.
    let mut created = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        let name = format!("t-{i:04}");
        let response = create_token(&registry, &name).await;
        match response.status() {
            StatusCode::CREATED => created.push(name),
            StatusCode::INSUFFICIENT_STORAGE => {
                let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
                assert_eq!(content_type, "application/problem+json");
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["code"], "INSUFFICIENT_STORAGE", "{problem}");
                assert_eq!(problem["status"], 507, "{problem}");
                let detail = problem["detail"].as_str().unwrap_or_default();
                assert!(detail.contains("disk is full"), "{detail}");
                refused = Some(name);
                break;
            }
            other => panic!(
                "creating token {name} on a full disk answered {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    let refused = refused.expect("a token write was refused within 2,000 on a full disk");
    assert_eq!(token_status(&registry, &refused).await, StatusCode::NOT_FOUND, "not half-created");

    // Reads keep working meanwhile.
    assert_eq!(token_status(&registry, "before").await, StatusCode::OK);
    assert_eq!(pull(&registry, &format!("/v2/{repo}/manifests/before")).await, manifest);
    assert_eq!(pull(&registry, &format!("/v2/{repo}/blobs/{layer_digest}")).await, layer);

    // Once space is freed the same writes work, and nothing was lost.
    std::fs::remove_file(&filler).unwrap();
    let response = registry.push_manifest(repo, "big", OCI_MANIFEST, &big).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    assert_eq!(pull(&registry, &format!("/v2/{repo}/manifests/big")).await, big);
    assert_eq!(create_token(&registry, &refused).await.status(), StatusCode::CREATED);
    for name in created.iter().chain([&"before".to_owned()]) {
        assert_eq!(token_status(&registry, name).await, StatusCode::OK, "token {name}");
    }
    assert_eq!(pull(&registry, &format!("/v2/{repo}/manifests/before")).await, manifest);
}

// ----- vanished and damaged blobs -----

/// Where the filesystem store keeps a sha256 blob.
fn blob_file(data: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    data.join("blobs/sha256").join(&hex[..2]).join(hex)
}

struct FsckRun {
    code: Option<i32>,
    stdout: String,
}

fn fsck(data: &Path, extra: &[&str]) -> FsckRun {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["fsck", "--data-dir"])
        .arg(data)
        .envs(crate::testkit::database_env(data))
        .args(extra)
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .expect("fsck runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.trim().is_empty(), "fsck wrote to stderr: {stderr}");
    FsckRun { code: output.status.code(), stdout }
}

async fn get_blob(registry: &Registry, repo: &str, digest: &str, range: Option<&str>) -> Response {
    let mut request = registry.request(Method::GET, &format!("/v2/{repo}/blobs/{digest}"));
    if let Some(range) = range {
        request = request.header(header::RANGE, range);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn damaged_blobs_are_never_served_as_whole_and_fsck_names_them() {
    let registry = Registry::start();
    let data = registry.data_dir().to_owned();
    let deleted = noise(300 * 1024, 10);
    let truncated = noise(2 * MIB, 11);
    let corrupted = noise(MIB, 12);
    let healthy = noise(MIB, 13);
    registry.push_image("faults/deleted", "v1", &deleted).await;
    registry.push_image("faults/truncated", "v1", &truncated).await;
    registry.push_image("faults/corrupted", "v1", &corrupted).await;
    registry.push_image("faults/healthy", "v1", &healthy).await;
    // The corrupted layer is also pushed on its own to a second repository.
    registry.push_blob("faults/other", &corrupted).await;

    // A healthy registry: the four layers and the config they share.
    let clean = fsck(&data, &[]);
    assert_eq!(clean.code, Some(0), "{}", clean.stdout);
    assert!(clean.stdout.starts_with("fsck checked 5 blobs"), "{}", clean.stdout);
    assert!(clean.stdout.contains(": 0 damaged, 0 files with no row"), "{}", clean.stdout);

    let (d, t, c) = (sha256(&deleted), sha256(&truncated), sha256(&corrupted));
    std::fs::remove_file(blob_file(&data, &d)).unwrap();
    std::fs::OpenOptions::new().write(true).open(blob_file(&data, &t)).unwrap().set_len(MIB as u64).unwrap();
    let mut changed = corrupted.clone();
    for byte in &mut changed[1000..1100] {
        *byte ^= 0xff;
    }
    std::fs::write(blob_file(&data, &c), &changed).unwrap();
    // And bytes at a blob's place that no row records.
    let stray = b"bytes stored without a row".to_vec();
    let stray_path = blob_file(&data, &sha256(&stray));
    std::fs::create_dir_all(stray_path.parent().unwrap()).unwrap();
    std::fs::write(&stray_path, &stray).unwrap();

    // Missing or cut short: an error, whole or by range, never bytes.
    for (repo, digest) in [("faults/deleted", &d), ("faults/truncated", &t)] {
        for range in [None, Some("bytes=0-9"), Some("bytes=1048570-")] {
            let response = get_blob(&registry, repo, digest, range).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{repo} {range:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], "UNKNOWN", "{repo} {range:?}");
        }
    }
    // Same length, other bytes: served (the registry does not hash what it
    // serves, see docs/ARCHITECTURE.md "Faults"), with the digest the
    // client checks them against, which they fail.
    let response = get_blob(&registry, "faults/corrupted", &c, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let announced = response.headers()["docker-content-digest"].to_str().unwrap().to_owned();
    assert_eq!(announced, c);
    let served = response.bytes().await.unwrap();
    assert_eq!(served.len(), corrupted.len());
    assert_ne!(sha256(&served), announced, "a client that checks the digest refuses these bytes");
    let fine = get_blob(&registry, "faults/healthy", &sha256(&healthy), None).await;
    assert_eq!(fine.bytes().await.unwrap().as_ref(), healthy.as_slice());

    // fsck finds exactly those three and names who references them.
    let report = fsck(&data, &[]);
    assert_eq!(report.code, Some(1), "{}", report.stdout);
    let lines: Vec<&str> = report.stdout.lines().collect();
    assert!(lines[0].ends_with(": 3 damaged, 1 files with no row"), "{}", report.stdout);
    let mut damaged: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("damaged ")).collect();
    damaged.sort();
    let mut expected = vec![
        format!("damaged {d}: missing: no file holds it; repositories: faults/deleted"),
        format!(
            "damaged {t}: wrong size: {} bytes recorded, the file holds {MIB}; repositories: faults/truncated",
            2 * MIB
        ),
        format!(
            "damaged {c}: corrupt: the content hashes to {}; repositories: faults/corrupted, faults/other",
            sha256(&changed)
        ),
    ];
    expected.sort();
    assert_eq!(damaged, expected);
    assert!(
        lines.contains(
            &format!("no row {} ({} bytes): `portcullis gc` removes it", sha256(&stray), stray.len())
                .as_str()
        ),
        "{}",
        report.stdout
    );

    let report = fsck(&data, &["--json"]);
    assert_eq!(report.code, Some(1));
    let json: Value = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(json["healthy"], false);
    assert_eq!(json["blobsChecked"], 5);
    let mut problems: Vec<(String, String, Value)> = json["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["digest"].as_str().unwrap().to_owned(),
                b["problem"].as_str().unwrap().to_owned(),
                b["repositories"].clone(),
            )
        })
        .collect();
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (d.clone(), "missing".to_owned(), json!(["faults/deleted"])),
        (t.clone(), "wrongSize".to_owned(), json!(["faults/truncated"])),
        (c.clone(), "wrongDigest".to_owned(), json!(["faults/corrupted", "faults/other"])),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(problems, expected);
    assert_eq!(json["unrecorded"], json!([{"digest": sha256(&stray), "size": stray.len()}]));
}

#[tokio::test]
async fn a_blob_cut_short_while_it_is_served_ends_the_answer_with_an_error() {
    let registry = Registry::start();
    let content = noise(64 * MIB, 20);
    let digest = registry.push_blob("faults/stream", &content).await;
    let mut response = get_blob(&registry, "faults/stream", &digest, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(content.len() as u64));
    let mut received = response.chunk().await.unwrap().expect("a first chunk").len();

    // The file is cut to 1 MiB behind the server's back, mid-answer.
    let file = blob_file(registry.data_dir(), &digest);
    std::fs::OpenOptions::new().write(true).open(file).unwrap().set_len(MIB as u64).unwrap();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert!(ended.is_err(), "the answer ended cleanly after {received} of {} bytes", content.len());
    assert!(received < content.len());
}

// ----- slow and stalled clients -----

/// Timeouts short enough for a test: 2 s for a request head, 2 s without a
/// body byte, and at least 1,000 bytes/s of body after those 2 s.
const QUICK_TIMEOUTS: [&str; 6] =
    ["--header-read-timeout-secs", "2", "--body-idle-timeout-secs", "2", "--body-min-rate", "1000"];

/// How many sockets the process `pid` holds open (its descriptors in
/// /proc/PID/fd that are sockets: the database's read pool also opens files
/// as it grows, which would blur the count).
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's /proc entry")
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Raises this test process's soft limit on open files to at least `want`.
fn allow_open_files(want: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read or write the struct given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            assert_eq!(
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit),
                0,
                "{}",
                std::io::Error::last_os_error()
            );
        }
    }
    assert!(
        limit.rlim_cur >= want,
        "this test opens about {want} files; the hard limit of open files is {}",
        limit.rlim_max
    );
}

/// Waits up to `within` for `condition`; false if it never held.
async fn eventually(within: std::time::Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    condition()
}

/// Reads until the peer closes the connection (EOF or reset), up to
/// `deadline`; returns what arrived, or `None` if it was still open.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    deadline: tokio::time::Instant,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_thousand_silent_connections_are_closed_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    allow_open_files(1500);
    let registry = Registry::start_with(&QUICK_TIMEOUTS);
    let pid = registry.server.pid();
    let address = registry.server.authority().to_owned();
    let baseline = open_fds(pid);

    let mut silent = Vec::with_capacity(1000);
    for _ in 0..1000 {
        silent.push(tokio::net::TcpStream::connect(&address).await.expect("connect"));
    }
    // And one kept alive after one request, then idle.
    let mut kept = tokio::net::TcpStream::connect(&address).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = [0u8; 1024];
    let n = kept.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
    // The server accepts them (each holds a descriptor until it is closed:
    // on a busy machine the first may be closed before the last is
    // accepted, so only the peak is known).
    let mut peak = 0;
    let accepting = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    while tokio::time::Instant::now() < accepting {
        peak = peak.max(open_fds(pid));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(peak > baseline + 100, "the server held {peak} sockets at most, {baseline} before");

    // Others are served meanwhile: a push and a pull.
    let layer = b"pushed while 1,000 connections sit idle".to_vec();
    let (manifest, _) = registry.push_image("faults/busy", "v1", &layer).await;
    assert_eq!(pull(&registry, "/v2/faults/busy/manifests/v1").await, manifest);

    // The server closes every one of them after the header timeout.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    for (i, stream) in silent.iter_mut().enumerate() {
        let received = read_until_closed(stream, deadline).await;
        assert_eq!(received, Some(Vec::new()), "silent connection {i} still open 15 s after a 2 s timeout");
    }
    assert!(
        read_until_closed(&mut kept, deadline).await.is_some(),
        "the idle kept-alive connection was closed"
    );
    drop(silent);
    drop(kept);
    assert!(
        eventually(std::time::Duration::from_secs(10), || open_fds(pid) <= baseline + 5).await,
        "the server's open sockets came back down: {} now, {baseline} before",
        open_fds(pid)
    );
    // And it still serves.
    assert_eq!(registry.request(Method::GET, "/v2/").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn an_upload_at_one_byte_a_second_is_cut_off_and_stays_resumable() {
    use base64::Engine as _;
    use tokio::io::AsyncWriteExt;
    let registry = Registry::start_with(&QUICK_TIMEOUTS);
    let pid = registry.server.pid();
    let address = registry.server.authority().to_owned();
    let repo = "faults/slow";
    let session = start_session(&registry, repo).await;
    let baseline = open_fds(pid);
    let content = noise(100, 30);

    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{}", crate::testkit::ADMIN_PASSWORD));
    let head = format!(
        "PATCH {session} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        content.len()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let trickled = content.clone();
    let trickle = tokio::spawn(async move {
        for byte in trickled {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        writer
    });

    // Others are served meanwhile.
    let layer = b"pushed beside a 1 byte/s upload".to_vec();
    let (manifest, _) = registry.push_image("faults/beside", "v1", &layer).await;
    assert_eq!(pull(&registry, "/v2/faults/beside/manifests/v1").await, manifest);

    // The server answers and closes the connection.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let answer =
        read_until_closed(&mut reader, deadline).await.expect("the server cut the upload off within 20 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("BLOB_UPLOAD_INVALID"), "{answer}");
    trickle.abort();

    // What arrived before the cut is kept: the session resumes from there.
    let status = registry.request(Method::GET, &session).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    let range = status.headers()[header::RANGE].to_str().unwrap().to_owned();
    let kept: usize = range.strip_prefix("0-").unwrap().parse::<usize>().unwrap() + 1;
    assert!((2..20).contains(&kept), "about 2 s of 1 byte/s was kept, the range says {range}");
    let response = registry
        .request(Method::PATCH, &session)
        .header(header::CONTENT_RANGE, format!("{kept}-{}", content.len() - 1))
        .body(content[kept..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    let digest = sha256(&content);
    let response = registry.request(Method::PUT, &format!("{session}?digest={digest}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    assert_eq!(pull(&registry, &format!("/v2/{repo}/blobs/{digest}")).await, content);

    drop(reader);
    assert!(
        eventually(std::time::Duration::from_secs(10), || open_fds(pid) <= baseline + 2).await,
        "the server's open sockets came back down: {} now, {baseline} before",
        open_fds(pid)
    );
}
