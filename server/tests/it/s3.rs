//! The registry on S3-compatible object storage (SPEC §4): `portcullis
//! serve --storage s3://...` against a real Garage started by
//! scripts/garage.sh, driven by skopeo, then `portcullis gc` and
//! `portcullis fsck` on the same bucket. Talks to the server only through
//! skopeo and the binary's commands; a missing Garage fails the test with
//! the hint to run `scripts/setup.sh test`.

use std::{collections::HashMap, path::Path, process::Command, sync::OnceLock};

use reqwest::{header, Method, StatusCode};
use serde_json::Value;

use crate::{
    clients::{
        login_skopeo, oras_push_with_referrer, podman_pull_as_admin, skopeo, skopeo_push, succeed, ClientEnv,
        OciLayout,
    },
    registry::{sha256, Registry},
    testkit::{database_env, TestServer},
};

/// The environment `scripts/garage.sh start` printed for the Garage every
/// test of this process shares (the lib tests use the same one).
pub(crate) fn garage() -> &'static HashMap<String, String> {
    static GARAGE: OnceLock<HashMap<String, String>> = OnceLock::new();
    GARAGE.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/garage.sh");
        let output = Command::new(&script)
            .arg("start")
            .arg(std::env::temp_dir().join("portcullis-test-garage"))
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
        assert!(
            output.status.success(),
            "the S3 tests need Garage, and `scripts/garage.sh start` failed \
             (install Garage with `scripts/setup.sh test`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("garage.sh prints text")
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    })
}

/// The settings of a registry on its own prefix of the Garage bucket, as
/// environment variables (the credentials can only come that way).
pub(crate) fn s3_env(prefix: &str) -> Vec<(String, String)> {
    let garage = garage();
    let mut env: Vec<(String, String)> = garage.clone().into_iter().collect();
    let bucket = garage["PORTCULLIS_STORAGE"].trim_end_matches('/');
    env.retain(|(key, _)| key != "PORTCULLIS_STORAGE");
    env.push(("PORTCULLIS_STORAGE".into(), format!("{bucket}/{prefix}")));
    env
}

/// Runs `portcullis <command>` on the data directory and the bucket.
fn portcullis(data: &Path, env: &[(String, String)], args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .envs(database_env(data))
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .expect("portcullis runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "portcullis {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A layer larger than S3's minimum part size, so it is stored in pieces
/// and composed by a multipart upload.
fn large_file() -> Vec<u8> {
    (0..12 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

#[tokio::test]
async fn push_pull_gc_and_fsck_on_s3() {
    let data = tempfile::tempdir().unwrap();
    let env = s3_env(&format!("it/{}", uuid::Uuid::new_v4()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (server, _log) = TestServer::start_logging_with(data.path(), "warn", &env_refs);
    let authority = server.authority().to_owned();
    let clients = ClientEnv::new();
    login_skopeo(&clients, &authority);

    let source = OciLayout::create(clients.path("source"));
    let large = large_file();
    let image =
        source.add_image("amd64", &[("hello.txt", b"hello from S3\n"), ("large.bin", large.as_slice())]);
    source.tag(&image, "v1");
    let remote = format!("docker://{authority}/samples/s3:v1");
    skopeo_push(&clients, &source, "v1", &remote);
    let pulled = OciLayout::open(clients.path("pulled"));
    succeed(
        skopeo(
            &clients,
            &["copy", "--preserve-digests", "--src-tls-verify=false", &remote, &pulled.reference("v1")],
        ),
        None,
    );
    assert_eq!(pulled.tagged("v1"), image.digest);
    assert_eq!(pulled.blobs(), source.blobs(), "the same blobs come back");
    assert!(!data.path().join("blobs").exists(), "no blob went to the data directory");

    // fsck reads every blob back from the bucket.
    let report: Value = serde_json::from_str(&portcullis(data.path(), &env, &["fsck", "--json"])).unwrap();
    assert_eq!(report["healthy"], true, "{report}");
    assert_eq!(report["blobsChecked"], 2, "the config and the layer: {report}");
    assert!(report["bytesChecked"].as_u64().unwrap() > large.len() as u64, "{report}");

    // Everything is referenced: gc keeps it all.
    let kept = portcullis(data.path(), &env, &["gc", "--grace-minutes", "0"]);
    assert!(kept.contains("removed 0 blobs"), "{kept}");
    assert!(kept.contains("kept 2 blobs"), "{kept}");

    // Once the image is deleted, its config and layer are garbage.
    succeed(skopeo(&clients, &["delete", "--tls-verify=false", &remote]), None);
    let removed = portcullis(data.path(), &env, &["gc", "--grace-minutes", "0"]);
    assert!(removed.contains("removed 2 blobs"), "{removed}");
    let report: Value = serde_json::from_str(&portcullis(data.path(), &env, &["fsck", "--json"])).unwrap();
    assert_eq!(
        (&report["healthy"], &report["blobsChecked"]),
        (&Value::Bool(true), &Value::from(0)),
        "{report}"
    );

    // And a new push after the collection works.
    skopeo_push(&clients, &source, "v1", &remote);
    drop(server);
}

/// With `--s3-redirect` a blob GET the caller may make is answered 307 with
/// a presigned URL of the bucket, which needs no credentials and serves
/// ranges; everything else (HEAD, manifests, refusals) is answered by the
/// registry as before, and skopeo, podman and oras pull through the
/// redirect.
#[tokio::test]
async fn blob_downloads_redirect_to_the_bucket_when_asked() {
    let data = tempfile::tempdir().unwrap();
    let mut env = s3_env(&format!("it/{}", uuid::Uuid::new_v4()));
    env.push(("PORTCULLIS_S3_REDIRECT".into(), "true".into()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let registry = Registry::start_in_env(data.path(), &[], &env_refs);
    let authority = registry.server.authority().to_owned();
    let clients = ClientEnv::new();
    login_skopeo(&clients, &authority);

    let source = OciLayout::create(clients.path("source"));
    let image = source.add_image("amd64", &[("large.bin", large_file().as_slice())]);
    source.tag(&image, "v1");
    let remote = format!("docker://{authority}/samples/redirect:v1");
    skopeo_push(&clients, &source, "v1", &remote);
    let (layer_digest, layer) =
        source.blobs().into_iter().max_by_key(|(_, bytes)| bytes.len()).expect("the image has blobs");

    let path = format!("/v2/samples/redirect/blobs/{layer_digest}");
    let response = registry.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(response.headers()["docker-content-digest"], layer_digest.as_str());
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let endpoint = &garage()["PORTCULLIS_S3_ENDPOINT"];
    assert!(location.starts_with(endpoint.as_str()), "the bucket's URL: {location}");
    let anyone = reqwest::Client::new();
    let fetched = anyone.get(&location).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(sha256(&fetched.bytes().await.unwrap()), layer_digest, "the whole blob, without credentials");
    let part = anyone.get(&location).header(header::RANGE, "bytes=5-9").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &layer[5..10]);

    // The registry still decides: no credentials, another repository or an
    // unknown blob get the registry's own refusal, not a URL.
    let anonymous = registry.client.get(registry.server.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().get(header::LOCATION).is_none());
    for elsewhere in [
        format!("/v2/samples/other/blobs/{layer_digest}"),
        format!("/v2/samples/redirect/blobs/{}", sha256(b"never pushed")),
    ] {
        let response = registry.request(Method::GET, &elsewhere).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{elsewhere}");
        assert!(response.headers().get(header::LOCATION).is_none(), "{elsewhere}");
    }
    let head = registry.request(Method::HEAD, &path).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], layer.len().to_string().as_str());

    // Real clients follow the redirect.
    let pulled = OciLayout::open(clients.path("pulled"));
    succeed(
        skopeo(
            &clients,
            &["copy", "--preserve-digests", "--src-tls-verify=false", &remote, &pulled.reference("v1")],
        ),
        None,
    );
    assert_eq!(pulled.blobs(), source.blobs(), "skopeo pulled every blob byte for byte");
    podman_pull_as_admin(&clients, &authority, &format!("{authority}/samples/redirect:v1"), &image.digest);
    // The oras script pushes an artifact, pulls it back (through the
    // redirect) and checks its bytes.
    oras_push_with_referrer(&clients, &authority, "samples/artifact");
}
