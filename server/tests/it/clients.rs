//! Real registry clients against the real server: skopeo, podman and the
//! oras Python SDK (SPEC §2 item 4, §3). Owns the client runs and the image
//! content they push, built byte for byte by the test; it talks to the
//! server only through the clients and HTTP, never through its crates.
//!
//! Each test starts its own server and gives the clients a scratch HOME,
//! auth file, runtime, temporary directory and (podman) image store, so
//! nothing leaks between tests or from the machine's own credentials. One
//! thing a root skopeo shares anyway is its blob-location cache in
//! /var/lib/containers/cache; every copy uses `--preserve-digests`, so that
//! cache can never change what is pushed. The server speaks plain HTTP,
//! hence `--tls-verify=false`.
//!
//! The clients come from scripts/setup.sh (Debian's skopeo and podman,
//! `pip install oras`); a missing one fails the test with that hint.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    command::execute,
    registry::{sha256, Registry, OCI_INDEX, OCI_MANIFEST},
    testkit::ADMIN_PASSWORD,
};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
// ---------------------------------------------------------------------------
// Client environment and command running

/// A scratch environment for container tools: its own HOME, auth file,
/// runtime directory, temporary directory and (for podman) image store.
pub(crate) struct ClientEnv {
    dir: tempfile::TempDir,
}

impl ClientEnv {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("client scratch dir");
        for sub in ["home", "run", "tmp", "storage/root", "storage/runroot", "storage/tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        // Tools refuse a runtime directory others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path().join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        Self { dir }
    }

    pub(crate) fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn auth_file(&self) -> PathBuf {
        self.path("auth.json")
    }

    /// `program` with the scratch environment and nothing inherited that
    /// would point it at the machine's own credentials.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        for key in ["DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "CONTAINERS_STORAGE_CONF", "XDG_CONFIG_HOME"] {
            command.env_remove(key);
        }
        command
            .env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("REGISTRY_AUTH_FILE", self.auth_file())
            .env("TMPDIR", self.path("tmp"));
        command
    }

    /// podman with a private store (vfs: no kernel overlay needed), run
    /// root and events log, so parallel tests never share an image.
    pub(crate) fn podman(&self) -> Command {
        let mut command = self.command("podman");
        command
            .arg("--root")
            .arg(self.path("storage/root"))
            .arg("--runroot")
            .arg(self.path("storage/runroot"))
            .arg("--tmpdir")
            .arg(self.path("storage/tmp"))
            .args(["--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"]);
        command
    }
}

/// Runs a command that must succeed; returns its stdout.
pub(crate) fn succeed(command: Command, stdin: Option<&str>) -> String {
    let outcome = execute(command, stdin);
    assert!(outcome.success(), "client command failed: {}", outcome.report());
    outcome.stdout
}

/// Runs a command that must fail; returns its stderr.
pub(crate) fn fail(command: Command, stdin: Option<&str>) -> String {
    let outcome = execute(command, stdin);
    assert!(!outcome.success(), "client command should have failed: {}", outcome.report());
    outcome.stderr
}

pub(crate) fn with_args<I, S>(mut command: Command, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    command.args(args);
    command
}

pub(crate) fn password_line() -> String {
    format!("{ADMIN_PASSWORD}\n")
}

// ---------------------------------------------------------------------------
// Image content built by hand: no network, no daemon, byte-for-byte known

/// An uncompressed tar archive (POSIX ustar) holding regular files.
fn tar_archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut archive = Vec::new();
    for (name, content) in files {
        assert!(name.len() < 100, "ustar names are short");
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let octal = |field: &mut [u8], value: u64| {
            let text = format!("{value:0width$o}\0", width = field.len() - 1);
            field.copy_from_slice(text.as_bytes());
        };
        octal(&mut header[100..108], 0o644); // mode
        octal(&mut header[108..116], 0); // uid
        octal(&mut header[116..124], 0); // gid
        octal(&mut header[124..136], content.len() as u64); // size
        octal(&mut header[136..148], 1_700_000_000); // mtime: fixed, so digests are too
        header[156] = b'0'; // regular file
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        // The checksum is computed with its own field as spaces.
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        archive.extend_from_slice(&header);
        archive.extend_from_slice(content);
        archive.resize(archive.len().next_multiple_of(512), 0);
    }
    archive.resize(archive.len() + 1024, 0);
    archive
}

/// A descriptor as it appears in a manifest or index.
#[derive(Debug, Clone)]
pub(crate) struct Descriptor {
    pub(crate) media_type: &'static str,
    pub(crate) digest: String,
    pub(crate) size: usize,
}

/// An OCI image layout directory (image-spec `image-layout.md`) written by
/// the test, as skopeo's `oci:` transport reads and writes it.
pub(crate) struct OciLayout {
    root: PathBuf,
}

impl OciLayout {
    pub(crate) fn create(root: PathBuf) -> Self {
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(root.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Self { root }
    }

    pub(crate) fn open(root: PathBuf) -> Self {
        Self { root }
    }

    fn put_blob(&self, media_type: &'static str, bytes: &[u8]) -> Descriptor {
        let digest = sha256(bytes);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(self.root.join("blobs/sha256").join(hex), bytes).unwrap();
        Descriptor { media_type, digest, size: bytes.len() }
    }

    /// A one-layer image for `architecture` whose layer holds `files`;
    /// returns the manifest's descriptor.
    pub(crate) fn add_image(&self, architecture: &str, files: &[(&str, &[u8])]) -> Descriptor {
        let layer = self.put_blob(OCI_LAYER_TAR, &tar_archive(files));
        let config = serde_json::to_vec(&json!({
            "architecture": architecture,
            "os": "linux",
            "config": {"Cmd": ["/hello.txt"]},
            // The layer is not compressed, so its diff id is its digest.
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        }))
        .unwrap();
        let config = self.put_blob(OCI_CONFIG, &config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor_json(&config),
            "layers": [descriptor_json(&layer)],
        }))
        .unwrap();
        self.put_blob(OCI_MANIFEST, &manifest)
    }

    /// An image index of `images`, each with its platform.
    fn add_index(&self, images: &[(&Descriptor, &str)]) -> Descriptor {
        let manifests: Vec<Value> = images
            .iter()
            .map(|(image, architecture)| {
                let mut entry = descriptor_json(image);
                entry["platform"] = json!({"architecture": architecture, "os": "linux"});
                entry
            })
            .collect();
        let index =
            serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
                .unwrap();
        self.put_blob(OCI_INDEX, &index)
    }

    /// Writes `index.json` naming `top` as `tag`.
    pub(crate) fn tag(&self, top: &Descriptor, tag: &str) {
        let mut entry = descriptor_json(top);
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        let index = json!({"schemaVersion": 2, "manifests": [entry]});
        std::fs::write(self.root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    }

    /// The digest `index.json` names for `tag`.
    pub(crate) fn tagged(&self, tag: &str) -> String {
        let index: Value =
            serde_json::from_slice(&std::fs::read(self.root.join("index.json")).unwrap()).unwrap();
        let entry = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no {tag} in {index}"));
        entry["digest"].as_str().unwrap().to_owned()
    }

    /// Every blob of the layout, by digest, with its bytes verified against
    /// its name.
    pub(crate) fn blobs(&self) -> BTreeMap<String, Vec<u8>> {
        let mut blobs = BTreeMap::new();
        for entry in std::fs::read_dir(self.root.join("blobs/sha256")).unwrap() {
            let entry = entry.unwrap();
            let digest = format!("sha256:{}", entry.file_name().to_str().unwrap());
            let bytes = std::fs::read(entry.path()).unwrap();
            assert_eq!(sha256(&bytes), digest, "blob file content matches its name");
            blobs.insert(digest, bytes);
        }
        blobs
    }

    /// `oci:<dir>:<tag>` for skopeo.
    pub(crate) fn reference(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.root.display())
    }
}

fn descriptor_json(descriptor: &Descriptor) -> Value {
    json!({"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size})
}

fn digests<V>(blobs: &BTreeMap<String, V>) -> BTreeSet<&str> {
    blobs.keys().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------
// skopeo

pub(crate) fn skopeo(env: &ClientEnv, args: &[&str]) -> Command {
    with_args(env.command("skopeo"), args)
}

/// skopeo copies `tag` of the layout `source` to `remote` (`docker://...`)
/// with its digests kept, over plain HTTP; the push must succeed.
pub(crate) fn skopeo_push(env: &ClientEnv, source: &OciLayout, tag: &str, remote: &str) {
    succeed(
        skopeo(
            env,
            &["copy", "--preserve-digests", "--dest-tls-verify=false", &source.reference(tag), remote],
        ),
        None,
    );
}

fn list_tags(env: &ClientEnv, image: &str) -> Vec<String> {
    let out = succeed(skopeo(env, &["list-tags", "--tls-verify=false", &format!("docker://{image}")]), None);
    let listing: Value = serde_json::from_str(&out).unwrap();
    let mut tags: Vec<String> =
        listing["Tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
    tags.sort();
    tags
}

pub(crate) fn login_skopeo(env: &ClientEnv, authority: &str) {
    // A wrong password is refused at login, before anything is stored.
    let stderr = fail(
        skopeo(env, &["login", "--tls-verify=false", "--username", "admin", "--password-stdin", authority]),
        Some("not-the-password\n"),
    );
    assert!(stderr.contains("invalid username/password"), "{stderr}");
    assert!(!env.auth_file().exists(), "a failed login stored nothing");

    let out = succeed(
        skopeo(env, &["login", "--tls-verify=false", "--username", "admin", "--password-stdin", authority]),
        Some(&password_line()),
    );
    assert!(out.contains("Login Succeeded"), "{out}");
    let stored = std::fs::read_to_string(env.auth_file()).expect("login wrote the auth file");
    assert!(stored.contains(authority), "{stored}");
}

#[tokio::test]
async fn skopeo_copies_an_oci_layout_in_and_out_lists_inspects_and_deletes() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let env = ClientEnv::new();
    login_skopeo(&env, &authority);

    let source = OciLayout::create(env.path("source"));
    let image = source.add_image("amd64", &[("hello.txt", b"hello from skopeo\n")]);
    source.tag(&image, "v1");
    let remote = format!("{authority}/samples/skopeo");

    // In: every credential comes from the login's auth file.
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &source.reference("v1"),
                &format!("docker://{remote}:v1"),
            ],
        ),
        None,
    );
    let raw = succeed(
        skopeo(&env, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{remote}:v1")]),
        None,
    );
    assert_eq!(sha256(raw.as_bytes()), image.digest, "the registry serves the manifest byte for byte");
    let inspected: Value = serde_json::from_str(&succeed(
        skopeo(&env, &["inspect", "--tls-verify=false", &format!("docker://{remote}:v1")]),
        None,
    ))
    .unwrap();
    assert_eq!(inspected["Digest"], image.digest.as_str(), "{inspected}");
    assert_eq!(inspected["Architecture"], "amd64", "{inspected}");

    // Out again, into a new layout: the same manifest and the same blobs.
    let copy = OciLayout::open(env.path("copy"));
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                &format!("docker://{remote}:v1"),
                &copy.reference("v1"),
            ],
        ),
        None,
    );
    assert_eq!(copy.tagged("v1"), image.digest);
    assert_eq!(copy.blobs(), source.blobs(), "identical blobs after the round trip");

    // Registry to registry: a second tag, and another repository (which
    // skopeo tries to satisfy with a cross-repository mount).
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &format!("docker://{remote}:v1"),
                &format!("docker://{remote}:v2"),
            ],
        ),
        None,
    );
    let mirror = format!("{authority}/samples/mirror");
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &format!("docker://{remote}:v1"),
                &format!("docker://{mirror}:v1"),
            ],
        ),
        None,
    );
    assert_eq!(list_tags(&env, &remote), ["v1", "v2"]);
    assert_eq!(list_tags(&env, &mirror), ["v1"]);

    // Delete: skopeo resolves the tag and deletes the manifest by digest,
    // which takes every tag of it along.
    succeed(skopeo(&env, &["delete", "--tls-verify=false", &format!("docker://{remote}:v1")]), None);
    for tag in ["v1", "v2"] {
        let stderr = fail(
            skopeo(&env, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{remote}:{tag}")]),
            None,
        );
        assert!(stderr.contains("manifest unknown"), "{stderr}");
    }
    let by_digest = registry
        .request(Method::GET, &format!("/v2/samples/skopeo/manifests/{}", image.digest))
        .send()
        .await
        .unwrap();
    assert_eq!(by_digest.status(), StatusCode::NOT_FOUND);
    let tags = registry.request(Method::GET, "/v2/samples/skopeo/tags/list").send().await.unwrap();
    if tags.status() == StatusCode::OK {
        assert_eq!(tags.json::<Value>().await.unwrap()["tags"], json!([]));
    } else {
        assert_eq!(tags.status(), StatusCode::NOT_FOUND);
    }
    // The other repository is untouched, blobs and all.
    let survivor = OciLayout::open(env.path("survivor"));
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                &format!("docker://{mirror}:v1"),
                &survivor.reference("v1"),
            ],
        ),
        None,
    );
    assert_eq!(survivor.tagged("v1"), image.digest);
    assert_eq!(survivor.blobs(), source.blobs());
}

#[tokio::test]
async fn skopeo_copies_a_multi_platform_index_with_all_its_images() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let env = ClientEnv::new();
    login_skopeo(&env, &authority);

    let source = OciLayout::create(env.path("source"));
    let amd64 = source.add_image("amd64", &[("hello.txt", b"hello from amd64\n")]);
    let arm64 = source.add_image("arm64", &[("hello.txt", b"hello from arm64\n")]);
    let index = source.add_index(&[(&amd64, "amd64"), (&arm64, "arm64")]);
    source.tag(&index, "multi");
    let remote = format!("{authority}/samples/multi");

    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--all",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &source.reference("multi"),
                &format!("docker://{remote}:v1"),
            ],
        ),
        None,
    );
    let raw = succeed(
        skopeo(&env, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{remote}:v1")]),
        None,
    );
    assert_eq!(sha256(raw.as_bytes()), index.digest, "the index is served byte for byte");
    let response = registry.request(Method::GET, "/v2/samples/multi/manifests/v1").send().await.unwrap();
    assert_eq!(response.headers()[header::CONTENT_TYPE], OCI_INDEX);
    for image in [&amd64, &arm64] {
        let response = registry
            .request(Method::HEAD, &format!("/v2/samples/multi/manifests/{}", image.digest))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "child manifest {} was pushed", image.digest);
    }

    // Everything back out.
    let copy = OciLayout::open(env.path("copy"));
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--all",
                "--preserve-digests",
                "--src-tls-verify=false",
                &format!("docker://{remote}:v1"),
                &copy.reference("multi"),
            ],
        ),
        None,
    );
    assert_eq!(copy.tagged("multi"), index.digest);
    let (copied, original) = (copy.blobs(), source.blobs());
    assert_eq!(digests(&copied), digests(&original));
    assert_eq!(copied, original);

    // Without --all, skopeo resolves the index to the requested platform.
    let arm = OciLayout::open(env.path("arm"));
    succeed(
        skopeo(
            &env,
            &[
                "--override-arch",
                "arm64",
                "--override-os",
                "linux",
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                &format!("docker://{remote}:v1"),
                &arm.reference("arm"),
            ],
        ),
        None,
    );
    assert_eq!(arm.tagged("arm"), arm64.digest);
}

// ---------------------------------------------------------------------------
// podman

#[tokio::test]
async fn podman_logs_in_pushes_removes_and_pulls_an_image() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let env = ClientEnv::new();
    let podman = |args: &[&str]| with_args(env.podman(), args);

    let stderr = fail(
        podman(&["login", "--tls-verify=false", "-u", "admin", "--password-stdin", &authority]),
        Some("wrong\n"),
    );
    assert!(stderr.contains("invalid username/password"), "{stderr}");
    let out = succeed(
        podman(&["login", "--tls-verify=false", "-u", "admin", "--password-stdin", &authority]),
        Some(&password_line()),
    );
    assert!(out.contains("Login Succeeded"), "{out}");

    // An image from a tarball: no base image, no network.
    let rootfs = env.path("rootfs.tar");
    std::fs::write(&rootfs, tar_archive(&[("hello.txt", b"hello from podman\n")])).unwrap();
    let image = format!("{authority}/samples/podman:v1");
    let docker_image = format!("{authority}/samples/podman:v1-docker");
    succeed(podman(&["import", "--change", "CMD [\"/hello.txt\"]", rootfs.to_str().unwrap(), &image]), None);

    // Pushed twice: as an OCI manifest, and as a Docker schema 2 manifest.
    let oci_digest_file = env.path("oci.digest");
    let docker_digest_file = env.path("docker.digest");
    succeed(
        podman(&[
            "push",
            "--tls-verify=false",
            "--format",
            "oci",
            "--digestfile",
            oci_digest_file.to_str().unwrap(),
            &image,
        ]),
        None,
    );
    succeed(
        podman(&[
            "push",
            "--tls-verify=false",
            "--format",
            "v2s2",
            "--digestfile",
            docker_digest_file.to_str().unwrap(),
            &image,
            &format!("docker://{docker_image}"),
        ]),
        None,
    );
    let oci_digest = std::fs::read_to_string(&oci_digest_file).unwrap().trim().to_owned();
    let docker_digest = std::fs::read_to_string(&docker_digest_file).unwrap().trim().to_owned();
    for (tag, digest, media_type) in
        [("v1", &oci_digest, OCI_MANIFEST), ("v1-docker", &docker_digest, DOCKER_MANIFEST)]
    {
        let response = registry
            .request(Method::GET, &format!("/v2/samples/podman/manifests/{tag}"))
            .header(header::ACCEPT, format!("{OCI_MANIFEST}, {DOCKER_MANIFEST}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{tag}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], media_type, "{tag}");
        assert_eq!(response.headers()["docker-content-digest"], digest.as_str(), "{tag}");
        assert_eq!(&sha256(&response.bytes().await.unwrap()), digest, "{tag}");
    }

    // Gone locally, then back from the registry.
    succeed(podman(&["rmi", &image]), None);
    let outcome = execute(podman(&["image", "exists", &image]), None);
    assert!(!outcome.success(), "the image was removed: {}", outcome.report());
    for (reference, digest) in [(&image, &oci_digest), (&docker_image, &docker_digest)] {
        succeed(podman(&["pull", "--tls-verify=false", reference]), None);
        succeed(podman(&["image", "exists", reference]), None);
        // Both tags hold the same image (one config), so podman keeps one
        // image with both manifests' digests.
        let repo_digests =
            succeed(podman(&["image", "inspect", "--format", "{{json .RepoDigests}}", reference]), None);
        let wanted = format!("{authority}/samples/podman@{digest}");
        assert!(repo_digests.contains(&wanted), "{wanted} not in {repo_digests}");
    }

    succeed(podman(&["logout", &authority]), None);
    succeed(podman(&["rmi", "--all", "--force"]), None);
}

/// podman logs in to `authority` as the administrator, pulls `image`
/// (`authority/repository:tag`), checks that what it pulled is the
/// manifest `digest`, and removes every image again.
pub(crate) fn podman_pull_as_admin(env: &ClientEnv, authority: &str, image: &str, digest: &str) {
    let podman = |args: &[&str]| with_args(env.podman(), args);
    succeed(
        podman(&["login", "--tls-verify=false", "-u", "admin", "--password-stdin", authority]),
        Some(&password_line()),
    );
    succeed(podman(&["pull", "--tls-verify=false", image]), None);
    let repo_digests =
        succeed(podman(&["image", "inspect", "--format", "{{json .RepoDigests}}", image]), None);
    assert!(repo_digests.contains(digest), "{repo_digests}");
    succeed(podman(&["rmi", "--all", "--force"]), None);
}

// ---------------------------------------------------------------------------
// oras (the Python SDK; oras-py ships no command line)

fn oras_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/oras/push_pull_referrers.py")
}

/// Runs the oras script against `authority` as the administrator: it
/// pushes an artifact to `repository`, pulls it back, attaches a referrer
/// and finds it. Returns (artifact digest, referrer digest).
pub(crate) fn oras_push_with_referrer(
    env: &ClientEnv,
    authority: &str,
    repository: &str,
) -> (String, String) {
    let probe = execute(with_args(env.command("python3"), ["-c", "import oras.client"]), None);
    assert!(probe.success(), "the oras Python SDK is missing (pip install oras): {}", probe.report());
    let mut command = env.command("python3");
    command.arg(oras_script()).args([authority, repository, "admin"]).arg(env.path("oras"));
    let out = succeed(command, Some(&password_line()));
    let seen: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("the script printed no JSON ({error}): {out}"));
    let digest = |key: &str| seen[key].as_str().unwrap_or_else(|| panic!("no {key} in {seen}")).to_owned();
    (digest("artifact_digest"), digest("referrer_digest"))
}

#[tokio::test]
async fn oras_py_pushes_pulls_and_finds_a_referrer() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let env = ClientEnv::new();
    let (artifact, referrer) = oras_push_with_referrer(&env, &authority, "samples/artifact");
    let (artifact, referrer) = (artifact.as_str(), referrer.as_str());

    // What the SDK saw, checked once more over HTTP.
    let response = registry
        .request(Method::GET, &format!("/v2/samples/artifact/referrers/{artifact}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let index: Value = response.json().await.unwrap();
    let listed: Vec<&str> =
        index["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap()).collect();
    assert_eq!(listed, [referrer], "{index}");
    let manifest: Value = registry
        .request(Method::GET, &format!("/v2/samples/artifact/manifests/{referrer}"))
        .header(header::ACCEPT, OCI_MANIFEST)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["subject"]["digest"], artifact, "{manifest}");
    let tags: Value = registry.get_json("/v2/samples/artifact/tags/list").await;
    assert_eq!(tags["tags"], json!(["sbom", "v1"]));
}
