//! Crash safety (SPEC §3: "a crash mid-upload leaves no corrupt blob and no
//! dangling reference"): the real server is SIGKILLed while a large blob
//! streams in, restarted on the same data directory, and must show nothing
//! of the half upload; `portcullis gc` removes what was left, and the same
//! push then succeeds.
//!
//! It drives only the binary, its HTTP surface and `portcullis gc`; the one
//! look inside the data directory is at the size of `uploads/`, to time the
//! kill, and a search for any file named after the cut-off digest.
//! testkit's `TestServer` keeps its child private, so this module starts the
//! binary itself, the same way, and keeps the handle to kill it. The body is
//! written by hand on a TCP socket so the test decides exactly when the
//! server dies: once part of the upload is on its disk and well before the
//! end.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use base64::Engine as _;
use bytes::Bytes;
use reqwest::{header, Client, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::{
    registry::{image_manifest, sha256, OCI_MANIFEST},
    testkit::{TestServer, ADMIN_PASSWORD},
};

/// The blob cut off by the crash.
const BIG: usize = 200 * 1024 * 1024;
/// How much the test writes to the socket between looks at the disk.
const PIECE: usize = 1024 * 1024;
/// The server is killed once this much of the upload is on its disk.
const KILL_AT: u64 = 32 * 1024 * 1024;

/// `portcullis serve` on a free port, which the test may SIGKILL.
struct KillableServer {
    server: TestServer,
    client: Client,
}

impl KillableServer {
    fn start(data_dir: &Path) -> Self {
        let server = TestServer::start(data_dir, Some(ADMIN_PASSWORD));
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { server, client }
    }

    fn authority(&self) -> &str {
        self.server.authority()
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.server.url(path)).basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    fn kill(&mut self) {
        self.server.kill();
    }
}

/// `len` bytes that do not repeat, different for each `seed`.
fn generated(len: usize, seed: u64) -> Bytes {
    let mut out = Vec::with_capacity(len + 8);
    let mut state = seed | 1;
    while out.len() < len {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

fn header_of(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// Bytes of unfinished uploads on the server's disk (upload sessions and
/// the staging files of monolithic uploads live in `<data>/uploads`).
fn upload_bytes_on_disk(data_dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries
            .map_while(Result::ok)
            .map(|entry| match entry.metadata() {
                Ok(meta) if meta.is_dir() => walk(&entry.path()),
                Ok(meta) => meta.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(&data_dir.join("uploads"))
}

/// Every file below `dir` whose name contains `needle`.
fn files_named(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map_while(Result::ok) {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_named(&path, needle));
        } else if entry.file_name().to_string_lossy().contains(needle) {
            found.push(path);
        }
    }
    found
}

/// Sends `head` (a request line and headers announcing `content`), then
/// the body piece by piece until at least [`KILL_AT`] bytes of it are on the
/// server's disk, then SIGKILLs the server. Never sends the last piece, so
/// the upload cannot have completed. Returns how many body bytes were sent.
fn stream_then_kill(server: &mut KillableServer, data_dir: &Path, head: &str, content: &[u8]) -> usize {
    let mut socket = TcpStream::connect(server.authority()).unwrap();
    socket.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    socket.write_all(head.as_bytes()).unwrap();
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    while upload_bytes_on_disk(data_dir) < KILL_AT {
        assert!(
            Instant::now() < deadline,
            "after {sent} bytes sent the server had only {} bytes of the upload on disk",
            upload_bytes_on_disk(data_dir)
        );
        if sent + PIECE < content.len() {
            if let Err(error) = socket.write_all(&content[sent..sent + PIECE]) {
                // The server stopped reading: show what it answered.
                socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut answer = Vec::new();
                let _ = socket.read_to_end(&mut answer);
                panic!(
                    "the server refused the body after {sent} bytes ({error}): {}",
                    String::from_utf8_lossy(&answer)
                );
            }
            sent += PIECE;
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    server.kill();
    sent
}

fn basic_credentials() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"))
}

/// What `portcullis gc` reported.
#[derive(Debug, PartialEq, Eq)]
struct GcCounts {
    blobs_removed: u64,
    uploads_removed: u64,
    blobs_kept: u64,
}

/// `portcullis gc --data-dir D --grace-minutes 0`, while the server serves.
fn collect_garbage(data_dir: &Path) -> GcCounts {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PORTCULLIS_") {
            command.env_remove(key);
        }
    }
    let output = command
        .args(["gc", "--grace-minutes", "0", "--data-dir"])
        .arg(data_dir)
        .envs(crate::testkit::database_env(data_dir))
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .expect("run portcullis gc");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "portcullis gc failed ({}):\n{stdout}\n{stderr}", output.status);
    // "gc removed N blobs (B bytes) and M abandoned uploads; kept K blobs"
    let line = stdout.lines().find(|l| l.starts_with("gc ")).unwrap_or_else(|| panic!("gc said: {stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |word: &str| -> u64 {
        let at = words.iter().position(|w| *w == word).unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
        words[at + 1].parse().unwrap_or_else(|_| panic!("no count after {word:?} in {line:?}"))
    };
    let before = |word: &str| -> u64 {
        let at = words.iter().position(|w| *w == word).unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
        words[at - 1].parse().unwrap_or_else(|_| panic!("no count before {word:?} in {line:?}"))
    };
    GcCounts {
        blobs_removed: after("removed"),
        uploads_removed: before("abandoned"),
        blobs_kept: after("kept"),
    }
}

async fn push_blob(server: &KillableServer, repo: &str, content: Bytes) -> String {
    let digest = sha256(&content);
    let response = server
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={digest}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(content)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    digest
}

/// Pushes a manifest of `config` and `layers` (already in `repo`) as `tag`;
/// returns its digest.
async fn push_manifest(server: &KillableServer, repo: &str, tag: &str, layers: &[(&str, usize)]) -> String {
    let config = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let config_size = config.len();
    let config_digest = push_blob(server, repo, config).await;
    let manifest = image_manifest(&config_digest, config_size, layers, None);
    let response = server
        .request(Method::PUT, &format!("/v2/{repo}/manifests/{tag}"))
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    sha256(&manifest)
}

/// A small image that exists before the crash and must survive it intact.
async fn push_small_image(server: &KillableServer, repo: &str, tag: &str) -> String {
    let layer = Bytes::from_static(b"a small layer pushed before the crash");
    let size = layer.len();
    let layer_digest = push_blob(server, repo, layer).await;
    push_manifest(server, repo, tag, &[(&layer_digest, size)]).await
}

/// HEAD and GET of a blob answer its size and exactly its bytes.
async fn assert_blob_reads_back(server: &KillableServer, repo: &str, digest: &str, size: usize) {
    let head = server.request(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header_of(&head, "content-length"), size.to_string());
    assert_eq!(header_of(&head, "docker-content-digest"), digest);
    let mut get = server.request(Method::GET, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let (mut hasher, mut read) = (Sha256::new(), 0);
    while let Some(chunk) = get.chunk().await.unwrap() {
        hasher.update(&chunk);
        read += chunk.len();
    }
    assert_eq!(read, size);
    assert_eq!(format!("sha256:{}", hex::encode(hasher.finalize())), digest);
}

/// The catalog and every repository's tags agree with `tagged` (repository,
/// sorted tags): each listed repository answers its tags list, and a
/// repository the catalog lists beyond `tagged` has no tags.
async fn assert_consistent(server: &KillableServer, tagged: &[(&str, &[&str])]) {
    let response = server.request(Method::GET, "/v2/_catalog").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let catalog: Value = response.json().await.unwrap();
    let listed: Vec<&str> =
        catalog["repositories"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    for (repo, _) in tagged {
        assert!(listed.contains(repo), "{repo} missing from {catalog}");
    }
    for repo in &listed {
        let response = server.request(Method::GET, &format!("/v2/{repo}/tags/list")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the catalog lists {repo}, so its tags list answers");
        let body: Value = response.json().await.unwrap();
        let expected = tagged.iter().find(|(r, _)| r == repo).map_or(&[][..], |(_, tags)| *tags);
        let tags = if body["tags"].is_null() { json!([]) } else { body["tags"].clone() };
        assert_eq!(tags, json!(expected), "tags of {repo}");
    }
}

/// After the restart: the cut-off blob is nowhere, the old image is intact,
/// and `gc` removes exactly the abandoned upload and no blob.
async fn assert_nothing_of_the_half_upload(
    server: &KillableServer,
    data_dir: &Path,
    repos: &[&str],
    digest: &str,
    tagged: &[(&str, &[&str])],
    before: (&str, &str, &str),
) {
    for repo in repos {
        let head = server.request(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND, "the cut-off blob is not visible in {repo}");
    }
    let hex = digest.trim_start_matches("sha256:");
    assert_eq!(
        files_named(data_dir, hex),
        Vec::<PathBuf>::new(),
        "no file carries the cut-off blob's digest"
    );
    assert_consistent(server, tagged).await;
    let (repo, tag, manifest_digest) = before;
    let manifest = server.request(Method::GET, &format!("/v2/{repo}/manifests/{tag}")).send().await.unwrap();
    assert_eq!(manifest.status(), StatusCode::OK);
    assert_eq!(header_of(&manifest, "docker-content-digest"), manifest_digest);
    let manifest: Value = manifest.json().await.unwrap();
    for descriptor in [&manifest["config"], &manifest["layers"][0]] {
        let blob_digest = descriptor["digest"].as_str().unwrap();
        let size = descriptor["size"].as_u64().unwrap() as usize;
        assert_blob_reads_back(server, repo, blob_digest, size).await;
    }
}

#[tokio::test]
async fn killed_during_a_chunked_upload_leaves_no_blob_and_the_push_can_be_retried() {
    let data = tempfile::tempdir().unwrap();
    let mut server = KillableServer::start(data.path());
    let before = push_small_image(&server, "samples/crash", "before").await;
    let content = generated(BIG, 0x243F_6A88_85A3_08D3);
    let digest = sha256(&content);

    // One PATCH announcing the whole blob, cut off by the kill. The upload
    // goes to a repository that has nothing yet.
    let start = server.request(Method::POST, "/v2/samples/fresh/blobs/uploads/").send().await.unwrap();
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let location = header_of(&start, "location");
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Range: 0-{}\r\nContent-Length: {BIG}\r\n\r\n",
        server.authority(),
        basic_credentials(),
        BIG - 1,
    );
    let sent = stream_then_kill(&mut server, data.path(), &head, &content);
    drop(server);

    let server = KillableServer::start(data.path());
    let tagged: &[(&str, &[&str])] = &[("samples/crash", &["before"])];
    assert_nothing_of_the_half_upload(
        &server,
        data.path(),
        &["samples/fresh", "samples/crash"],
        &digest,
        tagged,
        ("samples/crash", "before", &before),
    )
    .await;
    // The session may survive the restart (its file is its whole state),
    // but never with more than was sent.
    let status = server.request(Method::GET, &location).send().await.unwrap();
    match status.status() {
        StatusCode::NO_CONTENT => {
            let range = header_of(&status, "range");
            let end: usize =
                range.trim_start_matches("0-").parse().unwrap_or_else(|_| panic!("Range {range:?}"));
            assert!(end < sent, "the restarted session holds {range}, but only {sent} bytes were sent");
            eprintln!(
                "chunked crash: {sent} bytes sent; the restarted server resumes the session at {range}"
            );
        }
        StatusCode::NOT_FOUND => {}
        other => panic!("upload status after the restart answered {other}"),
    }

    let counts = collect_garbage(data.path());
    eprintln!("gc after the crash: {counts:?}");
    assert_eq!((counts.blobs_removed, counts.uploads_removed), (0, 1), "{counts:?}");
    assert!(counts.blobs_kept >= 2, "the old image's blobs are kept: {counts:?}");
    assert_eq!(upload_bytes_on_disk(data.path()), 0, "gc left upload bytes behind");
    let gone = server.request(Method::GET, &location).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    // The whole push again, in chunks this time.
    let start = server.request(Method::POST, "/v2/samples/fresh/blobs/uploads/").send().await.unwrap();
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let mut location = header_of(&start, "location");
    let chunk = 70 * 1024 * 1024;
    for offset in (0..BIG).step_by(chunk) {
        let end = (offset + chunk).min(BIG);
        let response = server
            .request(Method::PATCH, &location)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_RANGE, format!("{offset}-{}", end - 1))
            .body(content.slice(offset..end))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "PATCH {offset}-{}", end - 1);
        assert_eq!(header_of(&response, "range"), format!("0-{}", end - 1));
        location = header_of(&response, "location");
    }
    let separator = if location.contains('?') { '&' } else { '?' };
    let done =
        server.request(Method::PUT, &format!("{location}{separator}digest={digest}")).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED, "{}", done.text().await.unwrap());
    assert_blob_reads_back(&server, "samples/fresh", &digest, BIG).await;
    push_manifest(&server, "samples/fresh", "after", &[(&digest, BIG)]).await;
    assert_consistent(&server, &[("samples/crash", &["before"]), ("samples/fresh", &["after"])]).await;
}

#[tokio::test]
async fn killed_during_a_monolithic_upload_leaves_no_blob_and_the_push_can_be_retried() {
    let data = tempfile::tempdir().unwrap();
    let mut server = KillableServer::start(data.path());
    let before = push_small_image(&server, "samples/crash", "before").await;
    let content = generated(BIG, 0x1319_8A2E_0370_7344);
    let digest = sha256(&content);

    let head = format!(
        "POST /v2/samples/crash/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Basic {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {BIG}\r\n\r\n",
        server.authority(),
        basic_credentials(),
    );
    let sent = stream_then_kill(&mut server, data.path(), &head, &content);
    eprintln!("monolithic crash: {sent} bytes sent");
    drop(server);

    let server = KillableServer::start(data.path());
    let tagged: &[(&str, &[&str])] = &[("samples/crash", &["before"])];
    assert_nothing_of_the_half_upload(
        &server,
        data.path(),
        &["samples/crash"],
        &digest,
        tagged,
        ("samples/crash", "before", &before),
    )
    .await;

    let counts = collect_garbage(data.path());
    eprintln!("gc after the crash: {counts:?}");
    assert_eq!((counts.blobs_removed, counts.uploads_removed), (0, 1), "{counts:?}");
    assert!(counts.blobs_kept >= 2, "the old image's blobs are kept: {counts:?}");
    assert_eq!(upload_bytes_on_disk(data.path()), 0, "gc left upload bytes behind");

    // The same monolithic push again.
    let pushed = push_blob(&server, "samples/crash", content.clone()).await;
    assert_eq!(pushed, digest);
    assert_blob_reads_back(&server, "samples/crash", &digest, BIG).await;
    push_manifest(&server, "samples/crash", "after", &[(&digest, BIG)]).await;
    assert_consistent(&server, &[("samples/crash", &["after", "before"])]).await;
}
