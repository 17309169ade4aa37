//! The clients people type: the Docker Engine (`docker` CLI and `dockerd`)
//! and containerd's `ctr`, against the real server (issue 13; what they
//! showed is in docs/CLIENTS.md). Owns the private engine these tests share
//! and the images they load into it; it talks to the server only through
//! the clients and HTTP, never through its crates.
//!
//! One engine serves the whole test binary: `scripts/isolated-dockerd.sh`
//! runs `dockerd` (and the containerd it starts) with every file in a
//! temporary directory, no bridge and no iptables, until the test process
//! closes its stdin by exiting. It is started on first use; if it cannot
//! start, every test here fails saying why (never skipped). Each test has
//! its own server, its own `DOCKER_CONFIG` (docker keeps logins in
//! `config.json` there), its own containerd namespace and image names with
//! its server's port, so tests running in parallel share nothing but the
//! daemon. The engine, docker and ctr come from scripts/setup.sh (Debian's
//! docker.io and containerd).

use std::{
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use app::model::{Client, LoginServer};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    authz::create_token,
    command::{execute, Outcome},
    registry::{sha256, Registry},
    testkit::ADMIN_PASSWORD,
};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A refused command must end well within this: Docker retries some
/// failures five times with back-off (about 50 s), which must not happen.
const PROMPT_REFUSAL: Duration = Duration::from_secs(20);
/// The text Docker prints for a DENIED answer (its own wording).
const DOCKER_DENIED: &str = "denied: requested access to the resource is denied";

// ---------------------------------------------------------------------------
// The engine

/// The private Docker Engine of this test binary.
struct Engine {
    dir: PathBuf,
    /// The script runs until this stdin closes, at process exit.
    script: Mutex<(Child, ChildStdin)>,
}

impl Engine {
    fn get() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(Engine::start)
    }

    fn start() -> Engine {
        for program in ["docker", "dockerd", "ctr"] {
            let found = std::env::var("PATH")
                .unwrap_or_default()
                .split(':')
                .chain(["/usr/sbin", "/sbin"])
                .any(|dir| Path::new(dir).join(program).is_file());
            assert!(found, "`{program}` is missing: install the Docker Engine with `scripts/setup.sh test`");
        }
        // Short: the engine's sockets live below it (unix paths ≤ 108 bytes).
        let dir = tempfile::Builder::new().prefix("pce").tempdir_in("/tmp").expect("engine directory").keep();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/isolated-dockerd.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/isolated-dockerd.sh");
        let stdin = child.stdin.take().unwrap();
        let engine = Engine { dir, script: Mutex::new((child, stdin)) };
        let started = Instant::now();
        loop {
            let exited = engine.script.lock().unwrap().0.try_wait().unwrap();
            if let Some(status) = exited {
                panic!(
                    "the Docker Engine did not start ({status}); the end of its log:\n{}",
                    engine.log_tail()
                );
            }
            let mut probe = Command::new("docker");
            probe.env("DOCKER_HOST", engine.host()).args(["version", "--format", "{{.Server.Version}}"]);
            let ready =
                probe.output().is_ok_and(|out| out.status.success()) && engine.containerd_socket().exists();
            if ready {
                return engine;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the Docker Engine did not answer within 90 s; the end of its log:\n{}",
                engine.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn host(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.display())
    }

    fn containerd_socket(&self) -> PathBuf {
        self.dir.join("exec/containerd/containerd.sock")
    }

    /// The daemon's log (debug level) so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

// ---------------------------------------------------------------------------
// Clients

/// The docker CLI as one user: its own `DOCKER_CONFIG`, the shared engine.
struct Docker {
    engine: &'static Engine,
    config: tempfile::TempDir,
}

impl Docker {
    fn new() -> Self {
        Self { engine: Engine::get(), config: tempfile::tempdir().expect("docker config dir") }
    }

    /// `program` with this user's environment and nothing inherited that
    /// would point it at another engine or the machine's own logins.
    fn with_env(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        for key in ["DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_BUILDKIT"] {
            command.env_remove(key);
        }
        command
            .env("DOCKER_HOST", self.engine.host())
            .env("DOCKER_CONFIG", self.config.path())
            .env("DOCKER_CLI_HINTS", "false");
        command
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Outcome {
        let mut command = self.with_env("docker");
        command.args(args);
        execute(command, stdin)
    }

    /// A shell line as a user pastes it, in this user's environment.
    /// `line` run by bash, with `stdin` typed after it.
    fn shell(&self, line: &str, stdin: Option<&str>) -> Outcome {
        let mut command = self.with_env("bash");
        command.args(["-c", line]);
        execute(command, stdin)
    }

    fn login(&self, authority: &str, user: &str, password: &str) -> Outcome {
        self.run(
            &["login", "--username", user, "--password-stdin", authority],
            Some(&format!("{password}\n")),
        )
    }

    fn config_json(&self) -> String {
        std::fs::read_to_string(self.config.path().join("config.json")).unwrap_or_default()
    }

    /// Loads a Docker archive; returns nothing, the archive names the image.
    fn load(&self, archive: &Path) {
        self.run(&["load", "--input", archive.to_str().unwrap()], None).succeeded();
    }

    /// `docker push`; its outcome and how long it took.
    fn push(&self, image: &str) -> (Outcome, Duration) {
        let started = Instant::now();
        let outcome = self.run(&["push", image], None);
        (outcome, started.elapsed())
    }
}

/// containerd's `ctr` on the engine's containerd, in a namespace of its own.
struct Ctr {
    engine: &'static Engine,
    namespace: String,
}

impl Ctr {
    fn new(namespace: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self { engine: Engine::get(), namespace: format!("{namespace}-{n}") }
    }

    fn run(&self, args: &[&str]) -> Outcome {
        let mut command = Command::new("ctr");
        command.arg("--address").arg(self.engine.containerd_socket()).args(["--namespace", &self.namespace]);
        command.args(args);
        execute(command, None)
    }

    /// The digest of the image `reference` in this namespace.
    fn digest_of(&self, reference: &str) -> String {
        let listing = self.run(&["images", "list"]).succeeded().stdout;
        let line = listing
            .lines()
            .find(|line| line.split_whitespace().next() == Some(reference))
            .unwrap_or_else(|| panic!("{reference} not in\n{listing}"));
        line.split_whitespace().find(|word| word.starts_with("sha256:")).unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------
// Images

/// A Docker archive (`docker save` format) of an image named `reference`
/// with one layer per entry of `layers`, each holding one small file with
/// that text; written under `dir`. Layers are made with `tar`; the config
/// names their digests, as `docker load` and `ctr images import` check.
fn image_archive(dir: &Path, reference: &str, layers: &[&str]) -> PathBuf {
    let root = dir.join(format!("archive-{}", sha256(reference.as_bytes()).trim_start_matches("sha256:")));
    std::fs::create_dir_all(&root).unwrap();
    let mut files = vec!["manifest.json".to_owned(), "config.json".to_owned()];
    let mut diff_ids = Vec::new();
    for (i, text) in layers.iter().enumerate() {
        let content = root.join(format!("layer{i}"));
        std::fs::create_dir_all(&content).unwrap();
        std::fs::write(content.join(format!("file{i}.txt")), text).unwrap();
        let tar = format!("layer{i}.tar");
        let mut command = Command::new("tar");
        command.arg("--create").arg("--file").arg(root.join(&tar)).arg("--directory").arg(&content);
        command.args(["--owner=0", "--group=0", "--numeric-owner", &format!("file{i}.txt")]);
        execute(command, None).succeeded();
        diff_ids.push(sha256(&std::fs::read(root.join(&tar)).unwrap()));
        files.push(tar);
    }
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/file0.txt"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    std::fs::write(root.join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    let manifest = json!([{"Config": "config.json", "RepoTags": [reference], "Layers": &files[2..]}]);
    std::fs::write(root.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    let archive = root.with_extension("tar");
    let mut command = Command::new("tar");
    command.arg("--create").arg("--file").arg(&archive).arg("--directory").arg(&root).args(&files);
    execute(command, None).succeeded();
    archive
}

/// The digest `docker push` printed (`v1: digest: sha256:… size: …`).
fn pushed_digest(outcome: &Outcome) -> String {
    outcome
        .stdout
        .lines()
        .find_map(|line| line.split(": digest: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in the push's output: {}", outcome.report()))
        .to_owned()
}

fn lines_with<'a>(outcome: &'a Outcome, text: &str) -> Vec<&'a str> {
    outcome.stdout.lines().chain(outcome.stderr.lines()).filter(|line| line.contains(text)).collect()
}

/// A refusal that came at once and said `expected`: no retries, no hang.
fn assert_refused_promptly(outcome: &Outcome, took: Duration, expected: &str) {
    assert!(!outcome.success(), "should have been refused: {}", outcome.report());
    assert!(took < PROMPT_REFUSAL, "refused only after {took:?}: {}", outcome.report());
    assert!(lines_with(outcome, "Retrying").is_empty(), "docker retried: {}", outcome.report());
    let said = format!("{}{}", outcome.stdout, outcome.stderr);
    assert!(said.contains(expected), "{expected:?} not in: {}", outcome.report());
}

// ---------------------------------------------------------------------------
// Server helpers (the management API as the administrator)

fn read_write(pattern: &str) -> Value {
    json!([{"repository": pattern, "actions": ["content/read", "content/write"]}])
}

fn read_only(pattern: &str) -> Value {
    json!([{"repository": pattern, "actions": ["content/read"]}])
}

/// The digest the registry serves for `repository:reference` (admin).
async fn served_digest(registry: &Registry, repository: &str, reference: &str) -> Option<String> {
    let response = registry
        .request(Method::GET, &format!("/v2/{repository}/manifests/{reference}"))
        .header(header::ACCEPT, format!("{DOCKER_MANIFEST}, application/vnd.oci.image.manifest.v1+json"))
        .send()
        .await
        .unwrap();
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK, "GET {repository}:{reference}");
    let digest = response.headers()["docker-content-digest"].to_str().unwrap().to_owned();
    assert_eq!(sha256(&response.bytes().await.unwrap()), digest);
    Some(digest)
}

async fn manage(registry: &Registry, method: Method, path: &str, body: Value) -> Value {
    let response = registry.request(method.clone(), path).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The `service` of the registry's challenge: the login server the portal
/// shows users.
async fn login_server(registry: &Registry) -> String {
    let response = registry.client.get(registry.server.url("/v2/")).send().await.unwrap();
    let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
    challenge_parameter(challenge, "service").unwrap()
}

fn challenge_parameter(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let end = challenge[start..].find('"')? + start;
    Some(challenge[start..end].to_owned())
}

// ---------------------------------------------------------------------------
// docker

#[tokio::test]
async fn docker_logs_in_with_the_portals_command_pushes_pulls_inspects_and_logs_out() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let (password, _) = create_token(&registry, "docker-writer", read_write("samples/*")).await;
    let docker = Docker::new();

    // The portal's docker line (the Generate dialog's, My token's), pasted
    // into a shell as it is, then the password typed when the shell waits.
    let login_server = LoginServer { host: login_server(&registry).await, plain_http: true };
    assert_eq!(login_server.host, authority);
    let line = login_server.prompted_login(Client::Docker, "docker-writer", "TOKEN_PWD");
    assert!(line.contains("docker login --username docker-writer --password-stdin"), "{line}");
    assert!(!login_server.docker_needs_insecure_entry(), "Docker treats {authority} as insecure by itself");
    let login = docker.shell(&line, Some(&format!("{password}\n"))).succeeded();
    assert!(login.stdout.contains("Login Succeeded"), "{}", login.report());
    let stored = docker.config_json();
    assert!(stored.contains(&authority), "{stored}");
    // Docker keeps the refresh token the token endpoint gave it, not the password.
    assert!(!stored.contains(&password), "the password is not in config.json: {stored}");
    assert!(stored.contains("identitytoken"), "{stored}");

    // A three-layer image, pushed: every layer uploaded, then the manifest.
    let image = format!("{authority}/samples/app:v1");
    let scratch = tempfile::tempdir().unwrap();
    docker.load(&image_archive(scratch.path(), &image, &["base of app\n", "lib of app\n", "bin of app\n"]));
    let (push, _) = docker.push(&image);
    let push = push.succeeded();
    assert_eq!(lines_with(&push, ": Pushed").len(), 3, "{}", push.report());
    let digest = pushed_digest(&push);
    assert_eq!(served_digest(&registry, "samples/app", "v1").await.as_deref(), Some(digest.as_str()));

    // Gone locally, then pulled back: the same manifest.
    docker.run(&["rmi", &image], None).succeeded();
    docker.run(&["image", "inspect", &image], None).failed();
    let pull = docker.run(&["pull", &image], None).succeeded();
    assert!(pull.stdout.contains(&format!("Digest: {digest}")), "{}", pull.report());
    assert!(pull.stdout.contains("Downloaded newer image"), "{}", pull.report());
    let repo_digests = docker
        .run(&["image", "inspect", "--format", "{{json .RepoDigests}}", &image], None)
        .succeeded()
        .stdout;
    assert!(repo_digests.contains(&format!("{authority}/samples/app@{digest}")), "{repo_digests}");

    // `docker manifest inspect` is the CLI's own client: it needs --insecure
    // for a plain-HTTP registry, whatever the engine's insecure list says.
    let inspected = docker.run(&["manifest", "inspect", "--insecure", &image], None).succeeded().stdout;
    let manifest: Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(manifest["mediaType"], DOCKER_MANIFEST, "{manifest}");
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 3, "{manifest}");

    // Logged out: the credentials are gone, and pulling or pushing is
    // refused at once as unauthenticated (no retries).
    let logout = docker.run(&["logout", &authority], None).succeeded();
    assert!(logout.stdout.contains("Removing login credentials"), "{}", logout.report());
    assert!(!docker.config_json().contains(&authority), "{}", docker.config_json());
    docker.run(&["rmi", &image], None).succeeded();
    let started = Instant::now();
    let pull = docker.run(&["pull", &image], None);
    assert_refused_promptly(&pull, started.elapsed(), "unauthorized");
    docker.load(&image_archive(scratch.path(), &image, &["base of app\n", "lib of app\n", "bin of app\n"]));
    let other = format!("{authority}/samples/app:anonymous");
    docker.run(&["tag", &image, &other], None).succeeded();
    let (push, took) = docker.push(&other);
    assert_refused_promptly(&push, took, "unauthorized");
    assert_eq!(served_digest(&registry, "samples/app", "anonymous").await, None);
    docker.run(&["rmi", &image, &other], None).succeeded();
}

#[tokio::test]
async fn docker_is_refused_outside_the_tokens_scope_in_its_own_words() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let (writer_password, _) = create_token(&registry, "team-writer", read_write("samples/*")).await;
    let (reader_password, _) = create_token(&registry, "team-reader", read_only("samples/*")).await;
    let scratch = tempfile::tempdir().unwrap();

    // Content for the reader: samples/app, and other/secret outside its scope.
    let writer = Docker::new();
    writer.login(&authority, "admin", ADMIN_PASSWORD).succeeded();
    let image = format!("{authority}/samples/app:v1");
    let secret = format!("{authority}/other/secret:v1");
    writer.load(&image_archive(scratch.path(), &image, &["refusals base\n", "refusals top\n"]));
    writer.run(&["tag", &image, &secret], None).succeeded();
    writer.push(&secret).0.succeeded();
    writer.login(&authority, "team-writer", &writer_password).succeeded();
    writer.push(&image).0.succeeded();
    writer.run(&["rmi", &image, &secret], None).succeeded();

    let reader = Docker::new();
    reader.login(&authority, "team-reader", &reader_password).succeeded();
    reader.load(&image_archive(scratch.path(), &image, &["refusals base\n", "refusals top\n"]));
    // A push the token may not make: Docker's own denial, at once.
    let forbidden = format!("{authority}/samples/readonly:v1");
    reader.run(&["tag", &image, &forbidden], None).succeeded();
    let (push, took) = reader.push(&forbidden);
    assert_refused_promptly(&push, took, DOCKER_DENIED);
    assert_eq!(served_digest(&registry, "samples/readonly", "v1").await, None);
    reader.run(&["rmi", &image, &forbidden], None).succeeded();

    // Pulls: in the scope yes; outside it no, in the same words whether the
    // repository exists or not.
    reader.run(&["pull", &image], None).succeeded();
    let started = Instant::now();
    let outside = reader.run(&["pull", &secret], None);
    assert_refused_promptly(&outside, started.elapsed(), DOCKER_DENIED);
    let absent = reader.run(&["pull", &format!("{authority}/other/absent:v1")], None).failed();
    assert_eq!(
        outside.stderr.replace("other/secret", "other/NAME"),
        absent.stderr.replace("other/absent", "other/NAME"),
        "an existing and an absent repository are refused alike"
    );

    // The token disabled: the next pull is refused, unauthenticated.
    let token =
        manage(&registry, Method::PATCH, "/api/v1/tokens/team-reader", json!({"status": "disabled"})).await;
    assert_eq!(token["status"], "disabled");
    reader.run(&["rmi", &image], None).succeeded();
    let started = Instant::now();
    let pull = reader.run(&["pull", &image], None);
    assert_refused_promptly(&pull, started.elapsed(), "unauthorized");
    reader.run(&["image", "inspect", &image], None).failed();
}

#[tokio::test]
async fn docker_mounts_from_a_readable_repository_and_uploads_when_it_may_not() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let engine = Engine::get();
    let (team_password, _) = create_token(&registry, "team-writer", read_write("samples/*")).await;
    let (public_password, _) = create_token(&registry, "public-writer", read_write("public/*")).await;
    let scratch = tempfile::tempdir().unwrap();
    let layers = ["mount base\n", "mount lib\n", "mount bin\n"];
    let source = format!("{authority}/samples/app:v1");

    let team = Docker::new();
    team.login(&authority, "team-writer", &team_password).succeeded();
    team.load(&image_archive(scratch.path(), &source, &layers));
    let first = team.push(&source).0.succeeded();
    let digest = pushed_digest(&first);

    // The same image to a second repository the token may read and write:
    // every layer mounted, none uploaded.
    let copy = format!("{authority}/samples/copy:v1");
    team.run(&["tag", &source, &copy], None).succeeded();
    let second = team.push(&copy).0.succeeded();
    assert_eq!(lines_with(&second, "Mounted from samples/app").len(), 3, "{}", second.report());
    assert!(lines_with(&second, ": Pushed").is_empty(), "{}", second.report());
    assert_eq!(pushed_digest(&second), digest);
    assert_eq!(served_digest(&registry, "samples/copy", "v1").await.as_deref(), Some(digest.as_str()));

    // A token that may not read samples/*: Docker still tries the mounts
    // (it remembers where the layers are), gets ordinary upload sessions,
    // and uploads every layer.
    let public = Docker::new();
    public.login(&authority, "public-writer", &public_password).succeeded();
    let target = format!("{authority}/public/app:v1");
    public.run(&["tag", &source, &target], None).succeeded();
    let log_before = engine.log().len();
    let third = public.push(&target).0.succeeded();
    assert!(lines_with(&third, "Mounted from").is_empty(), "{}", third.report());
    assert_eq!(lines_with(&third, ": Pushed").len(), 3, "{}", third.report());
    assert_eq!(pushed_digest(&third), digest);
    assert_eq!(served_digest(&registry, "public/app", "v1").await.as_deref(), Some(digest.as_str()));
    let log = engine.log();
    let tried = log[log_before..]
        .lines()
        .filter(|line| {
            line.contains("attempting to mount layer") && line.contains(&format!("{authority}/samples/"))
        })
        .count();
    assert!(tried >= 3, "docker tried to mount every layer from samples/*: {tried} attempts");

    // What the refused mount answered says nothing about the source: the
    // same as for a source that does not exist or lacks the blob.
    let manifest: Value = serde_json::from_str(
        &team.run(&["manifest", "inspect", "--insecure", &source], None).succeeded().stdout,
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let absent_blob = sha256(b"never pushed");
    let mut answers = Vec::new();
    for (from, blob) in [("samples/app", &layer), ("samples/absent", &layer), ("samples/app", &absent_blob)] {
        let response = registry
            .client
            .post(registry.server.url(&format!("/v2/public/probe/blobs/uploads/?mount={blob}&from={from}")))
            .basic_auth("public-writer", Some(&public_password))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let mut names: Vec<String> = response.headers().keys().map(|name| name.to_string()).collect();
        names.retain(|name| name != "date");
        names.sort();
        let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with("/v2/public/probe/blobs/uploads/"), "{from} {blob}: {location}");
        answers.push((status, names, response.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    assert_eq!(answers[0], answers[1], "an unreadable source answers as an absent one");
    assert_eq!(answers[0], answers[2], "an unreadable blob answers as an absent one");
    let head =
        registry.request(Method::HEAD, &format!("/v2/public/probe/blobs/{layer}")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND, "nothing was mounted");

    for name in [&source, &copy, &target] {
        team.run(&["rmi", name], None).succeeded();
    }
}

#[tokio::test]
async fn docker_push_after_the_password_expired_is_refused_at_once() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    create_token(&registry, "expiring-writer", read_write("samples/*")).await;
    let expiry = chrono::Utc::now() + chrono::Duration::seconds(6);
    let generated = manage(
        &registry,
        Method::POST,
        "/api/v1/tokens/expiring-writer/credentials",
        json!({"password1": true, "expiry": expiry.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}),
    )
    .await;
    let password = generated["passwords"][0]["value"].as_str().unwrap().to_owned();
    assert!(generated["passwords"][0]["expiry"].is_string(), "{generated}");

    let docker = Docker::new();
    docker.login(&authority, "expiring-writer", &password).succeeded();
    let scratch = tempfile::tempdir().unwrap();
    let first = format!("{authority}/samples/app:v1");
    docker.load(&image_archive(scratch.path(), &first, &["expiring base\n", "expiring top\n"]));
    docker.push(&first).0.succeeded();
    assert!(chrono::Utc::now() < expiry, "the first push ended before the expiry (the test is too slow)");

    // After the expiry: Docker's stored refresh token is refused, and so is
    // the push, at once and as an authentication failure.
    let left = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(500)).await;
    let second = format!("{authority}/samples/app:v2");
    docker.load(&image_archive(scratch.path(), &second, &["expiring base\n", "expiring second top\n"]));
    let (push, took) = docker.push(&second);
    assert_refused_promptly(&push, took, "unauthorized");
    assert_eq!(served_digest(&registry, "samples/app", "v2").await, None);
    // Logging in again with the expired password is refused too.
    docker.login(&authority, "expiring-writer", &password).failed();
    docker.run(&["rmi", &first, &second], None).succeeded();
}

// ---------------------------------------------------------------------------
// The mount challenge, as a client that fetches the scopes a challenge names

/// A bearer token from `GET /oauth2/token` for the scopes in `scope` (one
/// parameter, space-separated, as a challenge gives them).
async fn bearer_for(registry: &Registry, user: &str, password: &str, scope: &str) -> String {
    let response = registry
        .client
        .get(registry.server.url("/oauth2/token"))
        .query(&[("service", registry.server.authority()), ("scope", scope)])
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "token for {user} {scope}");
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// `POST .../blobs/uploads/?mount=&from=` with `bearer` (or anonymous):
/// (status, Location, WWW-Authenticate).
async fn mount(
    registry: &Registry,
    bearer: Option<&str>,
    target: &str,
    from: &str,
    blob: &str,
) -> (StatusCode, String, String) {
    let mut request = registry
        .client
        .post(registry.server.url(&format!("/v2/{target}/blobs/uploads/?mount={blob}&from={from}")));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let text =
        |name| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), text(header::LOCATION), text(header::WWW_AUTHENTICATE))
}

#[tokio::test]
async fn a_mount_challenge_names_pull_on_the_source_when_the_policy_allows_it() {
    let registry = Registry::start();
    let blob = registry.push_blob("samples/base", b"a layer worth mounting").await;
    let (team, _) = create_token(&registry, "team-writer", read_write("samples/*")).await;
    let (public, _) = create_token(&registry, "public-writer", read_write("public/*")).await;
    let mounted = format!("/v2/samples/app/blobs/{blob}");

    // The conformance suite's way: anonymous first, then once more with a
    // token for exactly the scopes the challenge names. The challenge names
    // the source too, so the one retry mounts.
    let (status, _, challenge) = mount(&registry, None, "samples/app", "samples/base", &blob).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let scope = challenge_parameter(&challenge, "scope").expect("a scope in the challenge");
    assert_eq!(scope, "repository:samples/app:pull,push repository:samples/base:pull", "{challenge}");
    let bearer = bearer_for(&registry, "team-writer", &team, &scope).await;
    let (status, location, _) = mount(&registry, Some(&bearer), "samples/app", "samples/base", &blob).await;
    assert_eq!((status, location.as_str()), (StatusCode::CREATED, mounted.as_str()));

    // A bearer token for the target alone, while the policy lets its holder
    // read the source: 401 asking for pull on the source too, then 201.
    let bearer = bearer_for(&registry, "team-writer", &team, "repository:samples/other:pull,push").await;
    let (status, _, challenge) =
        mount(&registry, Some(&bearer), "samples/other", "samples/base", &blob).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{challenge}");
    assert_eq!(
        challenge_parameter(&challenge, "error").as_deref(),
        Some("insufficient_scope"),
        "{challenge}"
    );
    let scope = challenge_parameter(&challenge, "scope").unwrap();
    assert_eq!(scope, "repository:samples/other:pull,push repository:samples/base:pull");
    let bearer = bearer_for(&registry, "team-writer", &team, &scope).await;
    let (status, location, _) = mount(&registry, Some(&bearer), "samples/other", "samples/base", &blob).await;
    assert_eq!((status, location), (StatusCode::CREATED, format!("/v2/samples/other/blobs/{blob}")));

    // The policy refuses the source: no challenge about it (that would say
    // it matters), an ordinary upload session at once, nothing mounted —
    // with a target-only token and with one fetched for the named scopes,
    // whose source scope the token endpoint leaves out.
    let (status, _, challenge) = mount(&registry, None, "public/app", "samples/base", &blob).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let scope = challenge_parameter(&challenge, "scope").unwrap();
    for scope in [scope.as_str(), "repository:public/app:pull,push"] {
        let bearer = bearer_for(&registry, "public-writer", &public, scope).await;
        let (status, location, challenge) =
            mount(&registry, Some(&bearer), "public/app", "samples/base", &blob).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{scope}: {challenge}");
        assert!(location.starts_with("/v2/public/app/blobs/uploads/"), "{location}");
    }
    let head = registry.request(Method::HEAD, &format!("/v2/public/app/blobs/{blob}")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);

    // A mount from the target itself, or a malformed one, asks for nothing more.
    let bearer = bearer_for(&registry, "team-writer", &team, "repository:samples/app:pull,push").await;
    let (status, _, _) = mount(&registry, Some(&bearer), "samples/app", "samples/app", &blob).await;
    assert_eq!(status, StatusCode::CREATED, "already there");
    let (status, _, _) = mount(&registry, Some(&bearer), "samples/app", "samples/base", "sha256:bad").await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

// ---------------------------------------------------------------------------
// ctr (containerd)

#[tokio::test]
async fn ctr_pushes_and_pulls_with_plain_http_and_user_and_is_refused_without_write() {
    let registry = Registry::start();
    let authority = registry.server.authority().to_owned();
    let (writer, _) = create_token(&registry, "ctr-writer", read_write("samples/*")).await;
    let (reader, _) = create_token(&registry, "ctr-reader", read_only("samples/*")).await;
    let writer_user = format!("ctr-writer:{writer}");
    let reader_user = format!("ctr-reader:{reader}");
    let scratch = tempfile::tempdir().unwrap();

    // Push: an image imported into containerd from a Docker archive.
    let image = format!("{authority}/samples/ctr:v1");
    let pusher = Ctr::new("ctr-push");
    let archive = image_archive(scratch.path(), &image, &["ctr base\n", "ctr top\n"]);
    pusher.run(&["images", "import", archive.to_str().unwrap()]).succeeded();
    let digest = pusher.digest_of(&image);
    pusher.run(&["images", "push", "--plain-http", "--user", &writer_user, &image]).succeeded();
    assert_eq!(served_digest(&registry, "samples/ctr", "v1").await.as_deref(), Some(digest.as_str()));

    // Pull, in another namespace, with a read-only token; and an image
    // Docker pushed (gzip layers containerd has never seen) the same way.
    let puller = Ctr::new("ctr-pull");
    puller.run(&["images", "pull", "--plain-http", "--user", &reader_user, &image]).succeeded();
    assert_eq!(puller.digest_of(&image), digest);
    let docker = Docker::new();
    docker.login(&authority, "ctr-writer", &writer).succeeded();
    let from_docker = format!("{authority}/samples/from-docker:v1");
    docker.load(&image_archive(scratch.path(), &from_docker, &["pushed by docker\n", "for ctr\n"]));
    let docker_digest = pushed_digest(&docker.push(&from_docker).0.succeeded());
    docker.run(&["rmi", &from_docker], None).succeeded();
    let pulled =
        puller.run(&["images", "pull", "--plain-http", "--user", &reader_user, &from_docker]).succeeded();
    assert!(pulled.stdout.contains("unpacking linux/amd64"), "{}", pulled.report());
    assert_eq!(puller.digest_of(&from_docker), docker_digest);

    // Refused: a push with the read-only token (nothing lands), a pull
    // outside its scope, a wrong password.
    let forbidden = format!("{authority}/samples/ctr-readonly:v1");
    pusher.run(&["images", "tag", &image, &forbidden]).succeeded();
    let push = pusher.run(&["images", "push", "--plain-http", "--user", &reader_user, &forbidden]).failed();
    assert!(push.stderr.contains("403 Forbidden"), "{}", push.report());
    assert_eq!(served_digest(&registry, "samples/ctr-readonly", "v1").await, None);
    let outside = format!("{authority}/other/ctr:v1");
    pusher.run(&["images", "tag", &image, &outside]).succeeded();
    pusher
        .run(&["images", "push", "--plain-http", "--user", &format!("admin:{ADMIN_PASSWORD}"), &outside])
        .succeeded();
    let pull = puller.run(&["images", "pull", "--plain-http", "--user", &reader_user, &outside]).failed();
    assert!(pull.stderr.contains("403 Forbidden"), "{}", pull.report());
    let wrong = puller
        .run(&["images", "pull", "--plain-http", "--user", "ctr-reader:not-the-password", &image])
        .failed();
    assert!(wrong.stderr.contains("401 Unauthorized"), "{}", wrong.report());
}
