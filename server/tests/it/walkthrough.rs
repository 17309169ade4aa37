//! The token walkthrough users know from the cloud registry's docs ("Create
//! a token with repository-scoped permissions"), step by step against the
//! real server: the `portcullis` binary as the CLI (`az acr ...` becomes
//! `portcullis ...`) and skopeo for login, push and pull (`docker ...`).
//!
//! Like clients.rs, it gives skopeo a scratch HOME, runtime and temporary
//! directory, builds its images by hand (no network), copies with
//! `--preserve-digests`, and speaks plain HTTP (`--tls-verify=false`).
//! Every skopeo call names its credentials explicitly (`--authfile` written
//! by a `skopeo login` of one password, or `--creds`), so which password a
//! step uses is visible in the step.
//!
//! What skopeo 1.9.3 (containers/image 5.23) prints for a refusal:
//! - a push to a repository the token holds nothing on fails at the first
//!   blob check (HEAD, so no body): "failed to read from destination
//!   repository ...: 403 (Forbidden)";
//! - a push where the token may read but not write finds the blobs and
//!   fails at the manifest: "denied: requested access to the resource is
//!   denied";
//! - wrong, old or disabled credentials fail at the token endpoint:
//!   "invalid username/password".

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::{
    command::{execute, Outcome},
    registry::{sha256, Registry, OCI_MANIFEST},
    testkit::ADMIN_PASSWORD,
};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

// ---------------------------------------------------------------------------

/// The `portcullis` client commands against one server. The administrator's
/// credentials travel in the environment, a token's on the command line
/// (both ways the CLI accepts them).
pub(crate) struct Cli {
    pub(crate) base: String,
}

impl Cli {
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        for (key, _) in std::env::vars() {
            if key.starts_with("PORTCULLIS_") {
                command.env_remove(key);
            }
        }
        command.args(args).args(["--registry", &self.base]);
        command
    }

    pub(crate) fn admin(&self, args: &[&str]) -> Outcome {
        let mut command = self.command(args);
        command.env("PORTCULLIS_USERNAME", "admin").env("PORTCULLIS_PASSWORD", ADMIN_PASSWORD);
        execute(command, None)
    }

    fn admin_json(&self, args: &[&str]) -> Value {
        parse_json(&self.admin(args).succeeded())
    }

    fn token(&self, password: &str, args: &[&str]) -> Outcome {
        let mut command = self.command(args);
        command.args(["--username", "MyToken", "--password", password]);
        execute(command, None)
    }
}

fn parse_json(outcome: &Outcome) -> Value {
    serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", outcome.report()))
}

/// A refusal by the management API: exit code 1 (not 2, which means the
/// registry was unreachable) and exactly one `error: ...` line.
fn assert_cli_refused(outcome: &Outcome) {
    assert_eq!(outcome.code, Some(1), "{}", outcome.report());
    assert!(outcome.stdout.is_empty(), "{}", outcome.report());
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.report());
    assert!(outcome.stderr.starts_with("error: "), "{}", outcome.report());
}

/// A scratch environment for skopeo: its own HOME, runtime and temporary
/// directories, and no default auth file, so only what a step passes counts.
struct Skopeo {
    dir: tempfile::TempDir,
    authority: String,
}

impl Skopeo {
    fn new(authority: &str) -> Self {
        let dir = tempfile::tempdir().expect("client scratch dir");
        for sub in ["home", "run", "tmp", "auth"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path().join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        Self { dir, authority: authority.to_owned() }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Outcome {
        let mut command = Command::new("skopeo");
        for key in ["DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "CONTAINERS_STORAGE_CONF", "XDG_CONFIG_HOME"] {
            command.env_remove(key);
        }
        command
            .env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("TMPDIR", self.path("tmp"))
            // Never written (every login names its file): without
            // --authfile a command is anonymous.
            .env("REGISTRY_AUTH_FILE", self.path("auth/none.json"))
            .args(args);
        execute(command, stdin)
    }

    /// `echo $PASSWORD | skopeo login --username MyToken --password-stdin`
    /// into an auth file of its own.
    fn login(&self, password: &str, file: &str) -> Result<PathBuf, Outcome> {
        let auth_file = self.path("auth").join(file);
        let outcome = self.run(
            &[
                "login",
                "--tls-verify=false",
                "--authfile",
                auth_file.to_str().unwrap(),
                "--username",
                "MyToken",
                "--password-stdin",
                &self.authority,
            ],
            Some(&format!("{password}\n")),
        );
        if outcome.success() {
            assert!(outcome.stdout.contains("Login Succeeded"), "{}", outcome.report());
            Ok(auth_file)
        } else {
            Err(outcome)
        }
    }

    fn remote(&self, repository: &str) -> String {
        format!("docker://{}/{repository}:v1", self.authority)
    }

    fn push(&self, image: &Image, repository: &str, auth_file: &Path) -> Outcome {
        self.run(
            &[
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                "--authfile",
                auth_file.to_str().unwrap(),
                &image.reference(),
                &self.remote(repository),
            ],
            None,
        )
    }

    /// Pulls into a new layout; returns the digest the layout's index names.
    fn pull(&self, repository: &str, auth_file: &Path, into: &str) -> Result<String, Outcome> {
        let layout = self.path(into);
        std::fs::create_dir_all(layout.parent().expect("layout in a directory")).unwrap();
        let outcome = self.run(
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--authfile",
                auth_file.to_str().unwrap(),
                &self.remote(repository),
                &format!("oci:{}:v1", layout.display()),
            ],
            None,
        );
        if !outcome.success() {
            return Err(outcome);
        }
        let index: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        Ok(index["manifests"][0]["digest"].as_str().unwrap().to_owned())
    }

    /// `skopeo inspect --raw` (no tag listing, which would need
    /// metadata/read) with explicit credentials.
    fn inspect(&self, repository: &str, password: &str) -> Outcome {
        self.run(
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                "--creds",
                &format!("MyToken:{password}"),
                &self.remote(repository),
            ],
            None,
        )
    }
}

fn pulled(result: Result<String, Outcome>) -> String {
    result.unwrap_or_else(|outcome| panic!("pull failed: {}", outcome.report()))
}

fn assert_login_refused(outcome: &Outcome) {
    assert!(outcome.stderr.contains("invalid username/password"), "{}", outcome.report());
}

/// See the module comment for which wording skopeo 1.9.3 uses when.
fn assert_push_denied(outcome: &Outcome) {
    let stderr = outcome.stderr.to_lowercase();
    assert!(
        stderr.contains("denied: requested access to the resource is denied")
            || stderr.contains("403 (forbidden)"),
        "{}",
        outcome.report()
    );
}

// ---------------------------------------------------------------------------
// Images built by hand (a local equivalent of clients.rs's private
// tar_archive and OciLayout)

/// A one-layer image in an OCI layout directory, tagged `v1`.
struct Image {
    layout: PathBuf,
    digest: String,
}

impl Image {
    fn create(layout: PathBuf, file: &str, content: &[u8]) -> Self {
        std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
        std::fs::write(layout.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let put = |media_type: &str, bytes: &[u8]| {
            let digest = sha256(bytes);
            std::fs::write(layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:")), bytes)
                .unwrap();
            json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
        };
        let layer = put(OCI_LAYER_TAR, &tar_with_one_file(file, content));
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": [format!("/{file}")]},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
        }))
        .unwrap();
        let config = put(OCI_CONFIG, &config);
        let manifest = serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}),
        )
        .unwrap();
        let mut top = put(OCI_MANIFEST, &manifest);
        let digest = top["digest"].as_str().unwrap().to_owned();
        top["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
        let index = json!({"schemaVersion": 2, "manifests": [top]});
        std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        Self { layout, digest }
    }

    fn reference(&self) -> String {
        format!("oci:{}:v1", self.layout.display())
    }
}

/// An uncompressed POSIX ustar archive holding one regular file.
fn tar_with_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(text.as_bytes());
    };
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], content.len() as u64);
    octal(&mut header[136..148], 1_700_000_000);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut archive = header.to_vec();
    archive.extend_from_slice(content);
    archive.resize(archive.len().next_multiple_of(512) + 1024, 0);
    archive
}

// ---------------------------------------------------------------------------

#[test]
fn the_token_walkthrough_works_with_the_cli_and_skopeo() {
    let registry = Registry::start();
    let cli = Cli { base: registry.server.base.clone() };
    let skopeo = Skopeo::new(registry.server.authority());
    let hello = Image::create(skopeo.path("images/hello-world"), "hello", b"Hello from Portcullis!\n");
    let nginx = Image::create(skopeo.path("images/nginx"), "nginx.conf", b"events {}\nhttp {}\n");

    // Create token and specify repositories: two passwords, shown once.
    let token = cli.admin_json(&[
        "token",
        "create",
        "--name",
        "MyToken",
        "--repository",
        "samples/hello-world",
        "content/write",
        "content/read",
        "--output",
        "json",
    ]);
    assert_eq!(token["name"], "MyToken", "{token}");
    assert_eq!(token["status"], "enabled", "{token}");
    assert_eq!(token["scopeMap"], "MyToken-scope-map", "{token}");
    let passwords = token["credentials"]["passwords"].as_array().expect("passwords");
    let names: Vec<&str> = passwords.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["password1", "password2"], "{token}");
    let password1 = passwords[0]["value"].as_str().expect("password1 value").to_owned();
    let password2 = passwords[1]["value"].as_str().expect("password2 value").to_owned();
    assert!(password1.starts_with("pct_") && password2.starts_with("pct_") && password1 != password2);
    let scope_map = cli.admin_json(&["scope-map", "show", "--name", "MyToken-scope-map"]);
    assert_eq!(
        scope_map["repositories"],
        json!([{"repository": "samples/hello-world", "actions": ["content/read", "content/write"]}]),
        "{scope_map}"
    );

    // Authenticate using the token.
    let auth1 = skopeo.login(&password1, "password1.json").unwrap_or_else(|o| panic!("{}", o.report()));

    // Push: allowed to samples/hello-world, not to samples/nginx.
    skopeo.push(&hello, "samples/hello-world", &auth1).succeeded();
    assert_push_denied(&skopeo.push(&nginx, "samples/nginx", &auth1).failed());

    // Update token permissions: write and read on nginx, hello-world only read.
    let scope_map = cli.admin_json(&[
        "scope-map",
        "update",
        "--name",
        "MyToken-scope-map",
        "--add-repository",
        "samples/nginx",
        "content/write",
        "content/read",
        "--remove-repository",
        "samples/hello-world",
        "content/write",
    ]);
    assert_eq!(
        scope_map["repositories"],
        json!([
            {"repository": "samples/hello-world", "actions": ["content/read"]},
            {"repository": "samples/nginx", "actions": ["content/read", "content/write"]}
        ]),
        "{scope_map}"
    );
    skopeo.push(&nginx, "samples/nginx", &auth1).succeeded();
    assert_push_denied(&skopeo.push(&hello, "samples/hello-world", &auth1).failed());

    // Pulling from both repositories succeeds.
    assert_eq!(pulled(skopeo.pull("samples/nginx", &auth1, "pulled/nginx")), nginx.digest);
    assert_eq!(pulled(skopeo.pull("samples/hello-world", &auth1, "pulled/hello-world")), hello.digest);

    // Delete images: content/delete on nginx, then the token deletes the
    // repository with its own name and password.
    let before = cli.token(&password1, &["repository", "delete", "--repository", "samples/nginx", "--yes"]);
    assert_cli_refused(&before);
    cli.admin_json(&[
        "scope-map",
        "update",
        "--name",
        "MyToken-scope-map",
        "--add-repository",
        "samples/nginx",
        "content/delete",
    ]);
    let deleted = parse_json(
        &cli.token(&password1, &["repository", "delete", "--repository", "samples/nginx", "--yes"])
            .succeeded(),
    );
    assert_eq!(deleted["tagsDeleted"], json!(["v1"]), "{deleted}");
    assert_eq!(deleted["manifestsDeleted"], json!([nginx.digest]), "{deleted}");
    let repositories = cli.admin_json(&["repository", "list"]);
    assert_eq!(repositories, json!(["samples/hello-world"]), "samples/nginx is gone");
    assert_cli_refused(&cli.admin(&["repository", "show", "--repository", "samples/nginx"]));
    skopeo.inspect("samples/nginx", &password1).failed();

    // Show repo tags: refused without metadata/read, then exactly ["v1"].
    let show_tags = ["repository", "show-tags", "--repository", "samples/hello-world"];
    assert_cli_refused(&cli.token(&password1, &show_tags));
    cli.admin_json(&[
        "scope-map",
        "update",
        "--name",
        "MyToken-scope-map",
        "--add-repository",
        "samples/hello-world",
        "metadata/read",
    ]);
    assert_eq!(parse_json(&cli.token(&password1, &show_tags).succeeded()), json!(["v1"]));

    // Disable the token: refused at once; enable it: accepted again.
    let disabled = cli.admin_json(&["token", "update", "--name", "MyToken", "--status", "disabled"]);
    assert_eq!(disabled["status"], "disabled", "{disabled}");
    assert_login_refused(&skopeo.inspect("samples/hello-world", &password1).failed());
    assert!(skopeo.pull("samples/hello-world", &auth1, "pulled/while-disabled").is_err());
    assert_cli_refused(&cli.token(&password1, &show_tags));
    let enabled = cli.admin_json(&["token", "update", "--name", "MyToken", "--status", "enabled"]);
    assert_eq!(enabled["status"], "enabled", "{enabled}");
    skopeo.inspect("samples/hello-world", &password1).succeeded();
    assert_eq!(pulled(skopeo.pull("samples/hello-world", &auth1, "pulled/re-enabled")), hello.digest);

    // Regenerate password1 with a 30-day expiry, printed alone for a script.
    let generated = cli
        .admin(&[
            "token",
            "credential",
            "generate",
            "--name",
            "MyToken",
            "--expiration-in-days",
            "30",
            "--password1",
            "--query",
            "passwords[0].value",
            "--output",
            "tsv",
        ])
        .succeeded();
    let new_password1 = generated.stdout.trim_end_matches('\n').to_owned();
    assert_eq!(generated.stdout, format!("{new_password1}\n"), "only the value: {}", generated.report());
    assert!(new_password1.starts_with("pct_"), "{}", generated.report());
    assert!(new_password1 != password1 && new_password1 != password2);
    assert_login_refused(&skopeo.login(&password1, "old-password1.json").expect_err("old password1 refused"));
    assert_login_refused(&skopeo.inspect("samples/hello-world", &password1).failed());
    let auth2 = skopeo.login(&password2, "password2.json").unwrap_or_else(|o| panic!("{}", o.report()));
    let auth1_new =
        skopeo.login(&new_password1, "new-password1.json").unwrap_or_else(|o| panic!("{}", o.report()));
    assert_eq!(pulled(skopeo.pull("samples/hello-world", &auth2, "pulled/password2")), hello.digest);
    assert_eq!(pulled(skopeo.pull("samples/hello-world", &auth1_new, "pulled/new-password1")), hello.digest);
    let shown = cli.admin_json(&["token", "show", "--name", "MyToken"]);
    let passwords = &shown["credentials"]["passwords"];
    assert_eq!(passwords[1]["expiry"], Value::Null, "password2 never expires: {shown}");
    assert!(passwords[0].get("value").is_none() && passwords[1].get("value").is_none(), "{shown}");
    let expiry: DateTime<Utc> = passwords[0]["expiry"].as_str().expect("password1 expires").parse().unwrap();
    let days = (expiry - Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "password1 expires in 30 days, not {days}: {shown}");

    // The refusals were audited.
    let denied = cli.admin_json(&[
        "audit",
        "list",
        "--limit",
        "1000",
        "--query",
        "[?caller=='token:MyToken' && outcome=='denied'].repository",
    ]);
    assert!(denied.as_array().is_some_and(|r| r.contains(&json!("samples/nginx"))), "{denied}");

    // A token cannot delete itself; the administrator can, and its
    // passwords stop working at once.
    assert_cli_refused(&cli.token(&new_password1, &["token", "delete", "--name", "MyToken", "--yes"]));
    cli.admin_json(&["token", "show", "--name", "MyToken"]);
    let refused = cli.admin(&["token", "delete", "--name", "MyToken"]);
    assert_cli_refused(&refused);
    assert!(refused.stderr.contains("--yes"), "{}", refused.report());
    let gone = cli.admin(&["token", "delete", "--name", "MyToken", "--yes"]).succeeded();
    assert_eq!(gone.stdout, "", "a 204 prints nothing");
    assert_login_refused(&skopeo.login(&password2, "after-delete.json").expect_err("deleted token refused"));
    assert_cli_refused(&cli.admin(&["token", "show", "--name", "MyToken"]));
}
