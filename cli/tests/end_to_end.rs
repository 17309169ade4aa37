//! `execute` against a tiny in-process HTTP server answering canned
//! responses (what goes over the wire, what is printed, which exit code),
//! and against a real `portcullis serve` ([`RealRegistry`]: what the
//! printed secrets and the commands do on a real registry). One test
//! binary on purpose.
//!
//! The real server is the `portcullis` binary beside this test binary
//! (`<target>/debug/portcullis`), or the one `PORTCULLIS_BIN` names. This
//! crate cannot build it (the server depends on this crate), so build it
//! first: `make test` does, as does `cargo test -p server -p
//! portcullis-cli`; alone, `cargo build -p server --bin portcullis`. The
//! CLI under test always runs in-process, from this build.

use std::{
    collections::HashMap,
    ffi::OsString,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use clap::Parser;
use portcullis_cli::{execute, execute_with, execute_with_stdin, ClientCommand, Outcome};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

#[derive(Debug, Parser)]
#[command(name = "portcullis")]
struct Cli {
    #[command(subcommand)]
    command: ClientCommand,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Option<Value>,
}

/// A canned answer: status, content type, body.
type Canned = (u16, &'static str, String);

struct FakeRegistry {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeRegistry {
    /// Serves `answers` keyed by "METHOD /path?query"; anything else is 404.
    async fn start(answers: HashMap<String, Canned>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let answers = Arc::new(answers);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (answers, log) = (answers.clone(), log.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else { return };
                    let key = format!("{} {}", request.method, request.path);
                    log.lock().unwrap().push(request);
                    let (status, content_type, body) = answers.get(&key).cloned().unwrap_or((
                        404,
                        "application/problem+json",
                        json!({"status": 404, "code": "NOT_FOUND", "detail": format!("no canned answer for {key}")})
                            .to_string(),
                    ));
                    let head = format!(
                        "HTTP/1.1 {status} Canned\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn run(&self, args: &[&str]) -> Outcome {
        let mut full = vec!["portcullis"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--registry", &self.base]);
        let cli = Cli::try_parse_from(full).expect("arguments parse");
        execute(cli.command).await
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (request_line.next()?.to_owned(), request_line.next()?.to_owned());
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = (length > 0).then(|| serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap());
    Some(Seen {
        method,
        path,
        authorization: headers.get("authorization").cloned(),
        content_type: headers.get("content-type").cloned(),
        body,
    })
}

fn ok(body: Value) -> Canned {
    (200, "application/json", body.to_string())
}

fn token(name: &str) -> Value {
    json!({"name": name, "creationDate": "2026-11-23T16:30:00Z", "status": "enabled",
           "scopeMap": format!("{name}-scope-map"), "lastUsed": null,
           "credentials": {"username": name, "passwords": []}})
}

#[tokio::test]
async fn a_conflict_prints_the_problem_detail_and_exits_1() {
    let detail = "scope map MyScopeMap already exists";
    let registry = FakeRegistry::start(HashMap::from([(
        "POST /api/v1/scope-maps".to_owned(),
        (
            409,
            "application/problem+json",
            json!({"type": "about:blank", "title": "Conflict", "status": 409, "code": "CONFLICT", "detail": detail})
                .to_string(),
        ),
    )]))
    .await;
    let outcome = registry
        .run(&[
            "scope-map",
            "create",
            "--name",
            "MyScopeMap",
            "--repository",
            "samples/hello-world",
            "content/write",
            "content/read",
            "--username",
            "admin",
            "--password",
            "secret",
        ])
        .await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert_eq!(outcome.stderr, format!("error: {detail}\n"));
    assert_eq!(outcome.stdout, "");

    let seen = registry.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("POST", "/api/v1/scope-maps"));
    // admin:secret
    assert_eq!(seen[0].authorization.as_deref(), Some("Basic YWRtaW46c2VjcmV0"));
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        seen[0].body,
        Some(json!({"name": "MyScopeMap", "repositories": [
            {"repository": "samples/hello-world", "actions": ["content/write", "content/read"]}
        ]}))
    );
}

#[tokio::test]
async fn a_generated_password_comes_out_alone_with_query_and_tsv() {
    let registry = FakeRegistry::start(HashMap::from([(
        "POST /api/v1/tokens/MyToken/credentials".to_owned(),
        ok(json!({"username": "MyToken", "passwords": [
            {"name": "password1", "value": "pct_NEWVALUE", "creationTime": "2026-11-23T16:30:00Z",
             "expiry": "2026-12-23T16:30:00Z"}
        ]})),
    )]))
    .await;
    let outcome = registry
        .run(&[
            "token",
            "credential",
            "generate",
            "--name",
            "MyToken",
            "--password1",
            "--expiration-in-days",
            "30",
            "--query",
            "passwords[0].value",
            "--output",
            "tsv",
        ])
        .await;
    assert_eq!(
        outcome,
        portcullis_cli::Outcome { code: 0, stdout: "pct_NEWVALUE\n".into(), stderr: String::new() }
    );
    let seen = registry.seen();
    assert_eq!(seen[0].authorization, None, "no credentials given, none sent");
    let body = seen[0].body.as_ref().unwrap();
    assert_eq!(body["password1"], true);
    assert!(body["expiry"].as_str().unwrap().ends_with('Z'), "{body}");
}

/// The defect of issue 17: `token create -o table|tsv` and `token
/// credential generate -o tsv` printed no password, `sp create` and `sp
/// credential reset -o tsv` no secret. Every format of every command that
/// generates one must show it: it is never shown again.
#[tokio::test]
async fn every_format_of_every_generating_command_prints_the_secret() {
    let new_token = json!({"name": "MyToken", "creationDate": "2026-11-23T16:30:00.000000Z", "status": "enabled",
        "scopeMap": "MyToken-scope-map", "lastUsed": null, "credentials": {"username": "MyToken", "passwords": [
            {"name": "password1", "value": "pct_CREATED1", "creationTime": "2026-11-23T16:30:00.000000Z", "expiry": null},
            {"name": "password2", "value": "pct_CREATED2", "creationTime": "2026-11-23T16:30:00.000000Z",
             "expiry": "2026-12-23T16:30:00.000000Z"}]}});
    let generated = json!({"username": "MyToken", "passwords": [
        {"name": "password2", "value": "pct_GENERATED2", "creationTime": "2026-11-23T16:30:00.000000Z", "expiry": null}]});
    let registry = FakeRegistry::start(HashMap::from([
        ("POST /api/v1/tokens".to_owned(), created(new_token)),
        ("POST /api/v1/tokens/MyToken/credentials".to_owned(), ok(generated)),
        ("POST /api/v1/service-principals".to_owned(), created(principal(Some("pcs_FIRST")))),
        ("POST /api/v1/service-principals/ci/secrets".to_owned(), ok(principal(Some("pcs_SECOND")))),
    ]))
    .await;
    let commands: [(&[&str], &[&str]); 4] = [
        (&["token", "create", "--name", "MyToken", "--scope-map", "m"], &["pct_CREATED1", "pct_CREATED2"]),
        (&["token", "credential", "generate", "--name", "MyToken", "--password2"], &["pct_GENERATED2"]),
        (&["sp", "create", "--name", "ci"], &["pcs_FIRST"]),
        (&["sp", "credential", "reset", "--name", "ci"], &["pcs_SECOND"]),
    ];
    for (command, secrets) in commands {
        for format in ["json", "table", "tsv"] {
            let outcome = registry.run(&[command, &["-o", format]].concat()).await;
            assert_eq!((outcome.code, outcome.stderr.as_str()), (0, ""), "{command:?} -o {format}");
            for secret in secrets {
                assert!(outcome.stdout.contains(secret), "{command:?} -o {format}:\n{}", outcome.stdout);
            }
        }
    }
    // TSV for scripts: one line per new password, the value in the third field.
    let tsv = registry.run(&["token", "create", "--name", "MyToken", "--scope-map", "m", "-o", "tsv"]).await;
    assert_eq!(
        tsv.stdout,
        "MyToken\tpassword1\tpct_CREATED1\tnever\nMyToken\tpassword2\tpct_CREATED2\t2026-12-23T16:30:00Z\n"
    );
}

#[tokio::test]
async fn token_list_follows_next_to_the_end() {
    let registry = FakeRegistry::start(HashMap::from([
        ("GET /api/v1/tokens".to_owned(), ok(json!({"items": [token("a"), token("b")], "next": "b"}))),
        ("GET /api/v1/tokens?after=b".to_owned(), ok(json!({"items": [token("c")], "next": null}))),
    ]))
    .await;
    let outcome = registry.run(&["token", "list", "--query", "[].name"]).await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let names: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(names, json!(["a", "b", "c"]));
    let paths: Vec<String> = registry.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/api/v1/tokens", "/api/v1/tokens?after=b"]);

    let table = registry.run(&["token", "list", "-o", "table"]).await;
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", table.stdout);
    assert!(lines[0].starts_with("NAME  SCOPE MAP    STATUS"), "{}", table.stdout);
    assert!(lines[4].starts_with("c     c-scope-map  enabled"), "{}", table.stdout);
}

#[tokio::test]
async fn show_tags_prints_the_names_and_empty_answers_print_nothing() {
    let registry = FakeRegistry::start(HashMap::from([
        (
            "GET /api/v1/repositories/samples/hello-world/_tags".to_owned(),
            ok(json!([{"name": "v1", "digest": "sha256:ab", "createdTime": "2026-11-23T16:30:00Z",
                       "lastUpdateTime": "2026-11-23T16:30:00Z", "changeableAttributes": {}}])),
        ),
        (
            "DELETE /api/v1/repositories/samples/hello-world/_tags/v1".to_owned(),
            (204, "text/plain", String::new()),
        ),
    ]))
    .await;
    let tags = registry
        .run(&["repository", "show-tags", "--repository", "samples/hello-world", "-u", "MyToken", "-p", "pw"])
        .await;
    assert_eq!((tags.code, tags.stdout.as_str()), (0, "[\n  \"v1\"\n]\n"));
    let untag = registry.run(&["repository", "untag", "--image", "samples/hello-world:v1"]).await;
    assert_eq!(untag, portcullis_cli::Outcome { code: 0, stdout: String::new(), stderr: String::new() });
}

#[tokio::test]
async fn refusals_without_a_problem_body_still_make_one_line() {
    let registry = FakeRegistry::start(HashMap::from([(
        "GET /api/v1/scope-maps".to_owned(),
        (401, "text/plain", "no".to_owned()),
    )]))
    .await;
    let outcome = registry.run(&["scope-map", "list"]).await;
    assert_eq!(outcome.code, 1);
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.starts_with("error: HTTP 401 Unauthorized from http://127.0.0.1:"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("--username"), "{}", outcome.stderr);
}

#[tokio::test]
async fn local_refusals_send_nothing() {
    let registry = FakeRegistry::start(HashMap::new()).await;
    let outcome = registry.run(&["token", "delete", "--name", "MyToken"]).await;
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.starts_with("error: ") && outcome.stderr.contains("--yes"), "{}", outcome.stderr);
    let outcome = registry.run(&["token", "show", "--name", "MyToken", "--username", "admin"]).await;
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("--password"), "{}", outcome.stderr);
    assert!(registry.seen().is_empty(), "{:?}", registry.seen());
}

#[tokio::test]
async fn an_unreachable_registry_exits_2_naming_it() {
    // A port nobody listens on: bound, then released.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let cli = Cli::try_parse_from([
        "portcullis",
        "scope-map",
        "list",
        "--registry",
        &base,
        "-p",
        "hunter2hunter2",
        "-u",
        "admin",
    ])
    .unwrap();
    let outcome = execute(cli.command).await;
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(
        outcome.stderr.starts_with(&format!("error: cannot connect to the registry at {base}: ")),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("hunter2hunter2"));
    assert_eq!(outcome.stderr.lines().count(), 1);
}

#[tokio::test]
async fn change_password_sends_the_new_password_from_stdin_never_the_command_line() {
    let registry = FakeRegistry::start(HashMap::from([(
        "PUT /api/v1/users/admin/password".to_owned(),
        (204, "text/plain", String::new()),
    )]))
    .await;
    let args =
        ["portcullis", "user", "change-password", "--name", "admin", "-u", "admin", "-p", "current-pw"];
    let command = |extra: &[&str]| {
        let mut full = args.to_vec();
        full.extend_from_slice(extra);
        full.extend_from_slice(&["--registry", &registry.base]);
        Cli::try_parse_from(full).expect("arguments parse").command
    };
    let outcome = execute_with_stdin(command(&[]), "brand-new-password\n".as_bytes()).await;
    assert_eq!(outcome, Outcome { code: 0, stdout: String::new(), stderr: String::new() });
    let seen = registry.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("PUT", "/api/v1/users/admin/password"));
    // admin:current-pw
    assert_eq!(seen[0].authorization.as_deref(), Some("Basic YWRtaW46Y3VycmVudC1wdw=="));
    assert_eq!(
        seen[0].body,
        Some(json!({"currentPassword": "current-pw", "newPassword": "brand-new-password"}))
    );

    // Nothing on stdin: refused before any request.
    let outcome = execute_with_stdin(command(&[]), "".as_bytes()).await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(outcome.stderr.starts_with("error: no new password on standard input"), "{}", outcome.stderr);
    assert_eq!(registry.seen().len(), 1);
}

#[tokio::test]
async fn a_refused_password_change_prints_the_detail_without_the_passwords() {
    let detail = "the new password must have at least 12 characters";
    let registry = FakeRegistry::start(HashMap::from([(
        "PUT /api/v1/users/admin/password".to_owned(),
        (
            400,
            "application/problem+json",
            json!({"type": "about:blank", "title": "Bad Request", "status": 400, "code": "INVALID", "detail": detail})
                .to_string(),
        ),
    )]))
    .await;
    let cli = Cli::try_parse_from([
        "portcullis",
        "user",
        "change-password",
        "--name",
        "admin",
        "-u",
        "admin",
        "-p",
        "current-pw",
        "--registry",
        &registry.base,
    ])
    .unwrap();
    let outcome = execute_with_stdin(cli.command, "short\n".as_bytes()).await;
    assert_eq!(outcome, Outcome { code: 1, stdout: String::new(), stderr: format!("error: {detail}\n") });
}

impl FakeRegistry {
    async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Outcome {
        let mut full = vec!["portcullis"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--registry", &self.base]);
        let cli = Cli::try_parse_from(full).expect("arguments parse");
        execute_with_stdin(cli.command, stdin.as_bytes()).await
    }
}

fn created(body: Value) -> Canned {
    (201, "application/json", body.to_string())
}

const CONDITION: &str =
    "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend'";
const PITFALL: &str = "'backend' has no trailing '/': it also matches names such as backend-infra/k8s and \
    backendsvc/app, not only backend/...; existing repositories it also matches: backend-infra/k8s";
const UNRESTRICTED: &str =
    "content/write is not restricted by the condition: it is granted on every repository";

fn principal(secret_value: Option<&str>) -> Value {
    let mut secret = json!({"keyId": "k1", "description": "", "createdAt": "2026-11-23T16:30:00.000000Z",
                            "expiresAt": "2027-06-30T00:00:00.000000Z"});
    if let Some(value) = secret_value {
        secret["value"] = json!(value);
    }
    json!({"name": "ci", "appId": "0b8e4c1a", "description": "CI", "enabled": true,
           "createdAt": "2026-11-23T16:30:00.000000Z", "lastSignInAt": null, "groups": ["devs"],
           "secrets": [secret]})
}

fn assignment() -> Value {
    json!({"name": "5e1d", "role": "Container Registry Repository Writer",
           "assignee": {"kind": "group", "name": "devs"}, "condition": CONDITION, "conditionVersion": "2.0",
           "description": "", "honoured": true, "warnings": [UNRESTRICTED, PITFALL],
           "createdAt": "2026-11-23T16:30:00.000000Z", "createdBy": "user:admin",
           "updatedAt": "2026-11-23T16:30:00.000000Z"})
}

/// The administrator's main flow over the identities API: a user (password
/// from stdin), a group, a service principal and its secret, a conditional
/// role assignment whose warnings reach stderr, a filtered list,
/// check-access, and the permissions mode (preview, then the switch).
#[tokio::test]
async fn identities_flow() {
    let user = json!({"name": "alice", "displayName": "Alice", "enabled": true,
                      "createdAt": "2026-11-23T16:30:00.000000Z", "lastSignInAt": null, "groups": []});
    let group = json!({"name": "devs", "description": "", "createdAt": "2026-11-23T16:30:00.000000Z",
                       "members": [{"kind": "user", "name": "alice"}, {"kind": "service-principal", "name": "ci"}]});
    let registry = FakeRegistry::start(HashMap::from([
        ("POST /api/v1/users".to_owned(), created(user)),
        (
            "POST /api/v1/groups".to_owned(),
            created(json!({"name": "devs", "description": "",
            "createdAt": "2026-11-23T16:30:00.000000Z", "members": []})),
        ),
        ("POST /api/v1/groups/devs/members".to_owned(), ok(group.clone())),
        ("GET /api/v1/groups/devs".to_owned(), ok(group)),
        ("POST /api/v1/service-principals".to_owned(), created(principal(Some("pcs_FIRST")))),
        ("POST /api/v1/service-principals/ci/secrets".to_owned(), ok(principal(Some("pcs_SECOND")))),
        ("POST /api/v1/role-assignments".to_owned(), created(assignment())),
        (
            "GET /api/v1/role-assignments?assignee=alice&repository=backend%2Fapi".to_owned(),
            ok(json!([assignment()])),
        ),
        (
            "GET /api/v1/check-access?assignee=alice&repository=backend%2Fapi".to_owned(),
            ok(json!({
            "assignee": {"kind": "user", "name": "alice"}, "repository": "backend/api", "mode": "rbac",
            "listsEveryRepository": false, "actions": [
                {"action": "content/read", "granted": false, "grantedBy": [], "notGivenBy": [
                    {"assignment": "5e1d", "role": "Container Registry Repository Writer",
                     "assignee": {"kind": "group", "name": "devs"}, "reason": "inactive in rbac mode"}]}]})),
        ),
        ("GET /api/v1/registry".to_owned(), ok(json!({"roleAssignmentMode": "rbac"}))),
        (
            "POST /api/v1/registry/preview".to_owned(),
            ok(json!({"from": "rbac", "to": "rbac-abac", "changes": [
            {"assignment": "5e1d", "assignee": {"kind": "group", "name": "devs"},
             "role": "Container Registry Repository Writer", "before": "nothing",
             "after": "content/read, content/write where the condition holds"}]})),
        ),
        ("PATCH /api/v1/registry".to_owned(), ok(json!({"roleAssignmentMode": "rbac-abac"}))),
    ]))
    .await;
    let admin = ["-u", "admin", "-p", "admin-password"];
    let with_admin =
        |args: &[&'static str]| -> Vec<&'static str> { args.iter().copied().chain(admin).collect() };

    // A user: the password only from stdin, never echoed.
    let outcome = registry
        .run_with_stdin(
            &with_admin(&[
                "user",
                "create",
                "--name",
                "alice",
                "--display-name",
                "Alice",
                "--password-stdin",
            ]),
            "alice-long-password\n",
        )
        .await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(!outcome.stdout.contains("alice-long-password"));
    assert_eq!(
        registry.seen()[0].body,
        Some(json!({"name": "alice", "displayName": "Alice", "password": "alice-long-password"}))
    );

    // A group with the user and the service principal.
    assert_eq!(registry.run(&with_admin(&["group", "create", "--name", "devs"])).await.code, 0);
    assert_eq!(
        registry
            .run(&with_admin(&["group", "member", "add", "--group", "devs", "--member", "alice"]))
            .await
            .code,
        0
    );
    let members =
        registry.run(&with_admin(&["group", "member", "list", "--group", "devs", "-o", "tsv"])).await;
    assert_eq!(members.stdout, "user\talice\nservice-principal\tci\n");

    // The service principal's secret, printed once, alone for scripts.
    let outcome = registry
        .run(&with_admin(&["sp", "create", "--name", "ci", "--secret-expiry", "2027-06-30", "-o", "table"]))
        .await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.lines().nth(2).unwrap().starts_with("ci    0b8e4c1a  k1      pcs_FIRST"),
        "{}",
        outcome.stdout
    );
    let outcome = registry
        .run(&with_admin(&[
            "sp",
            "credential",
            "reset",
            "--name",
            "ci",
            "--query",
            "secrets[?value].value | [0]",
            "-o",
            "tsv",
        ]))
        .await;
    assert_eq!(outcome.stdout, "pcs_SECOND\n");

    // A conditional role assignment: the warnings go to stderr in every format.
    let create = [
        "role",
        "assignment",
        "create",
        "--assignee",
        "devs",
        "--role",
        "Container Registry Repository Writer",
        "--condition",
        CONDITION,
    ];
    let table = registry.run(&with_admin(&[&create[..], &["-o", "table"]].concat())).await;
    assert_eq!(table.code, 0, "{table:?}");
    assert_eq!(table.stderr, format!("warning: {UNRESTRICTED}\nwarning: {PITFALL}\n"));
    assert!(table.stdout.lines().nth(2).unwrap().ends_with("yes       2"), "{}", table.stdout);
    let json = registry.run(&with_admin(&create)).await;
    assert_eq!(json.stderr, table.stderr);
    assert_eq!(serde_json::from_str::<Value>(&json.stdout).unwrap(), assignment());
    let posted = registry.seen().into_iter().rfind(|seen| seen.path == "/api/v1/role-assignments").unwrap();
    assert_eq!(
        posted.body,
        Some(
            json!({"role": "Container Registry Repository Writer", "assignee": "devs", "condition": CONDITION,
                    "description": ""})
        )
    );

    // Filtered list: the warnings on stderr for tables, in the JSON otherwise.
    let list = ["role", "assignment", "list", "--assignee", "alice", "--repository", "backend/api"];
    let table = registry.run(&with_admin(&[&list[..], &["-o", "table"]].concat())).await;
    assert!(table.stderr.starts_with("warning: role assignment 5e1d: content/write"), "{}", table.stderr);
    let json = registry.run(&with_admin(&[&list[..], &["--query", "[].name"]].concat())).await;
    assert_eq!((json.stdout.as_str(), json.stderr.as_str()), ("[\n  \"5e1d\"\n]\n", ""));

    // Why alice cannot pull.
    let check = registry
        .run(&with_admin(&[
            "check-access",
            "--assignee",
            "alice",
            "--repository",
            "backend/api",
            "-o",
            "table",
        ]))
        .await;
    assert_eq!(
        check.stdout,
        "\
ACTION        GRANTED  GRANTED BY  NOT GIVEN BY (WHY)
------------  -------  ----------  ------------------------------------------------------------------------
content/read  no                   Container Registry Repository Writer (group devs): inactive in rbac mode
"
    );

    // The mode: shown, previewed without --yes (nothing changes, exit 1), switched with it.
    let show = registry.run(&with_admin(&["registry", "show", "-o", "tsv"])).await;
    assert_eq!(show.stdout, "rbac\n");
    let preview = registry
        .run(&with_admin(&["registry", "update", "--role-assignment-mode", "rbac-abac", "-o", "table"]))
        .await;
    assert_eq!(preview.code, 1, "{preview:?}");
    assert!(
        preview.stdout.lines().nth(2).unwrap().starts_with("5e1d        group devs"),
        "{}",
        preview.stdout
    );
    assert_eq!(
        preview.stderr,
        "error: the role assignment mode is still rbac: after a switch to rbac-abac, 1 role assignment gives \
         something different (above); pass --yes to switch\n"
    );
    assert!(!registry.seen().iter().any(|seen| seen.method == "PATCH"), "nothing switched without --yes");
    let switch = registry
        .run(&with_admin(&[
            "registry",
            "update",
            "--role-assignment-mode",
            "rbac-abac",
            "--yes",
            "-o",
            "tsv",
        ]))
        .await;
    assert_eq!((switch.code, switch.stdout.as_str()), (0, "rbac-abac\n"));
    let patched = registry.seen().into_iter().find(|seen| seen.method == "PATCH").unwrap();
    assert_eq!(
        (patched.path.as_str(), patched.body),
        ("/api/v1/registry", Some(json!({"roleAssignmentMode": "rbac-abac"})))
    );
}

// ---------------------------------------------------------------------------
// Against a real server

const ADMIN_PASSWORD: &str = "test-admin-password";

/// The server binary: `PORTCULLIS_BIN`, or `portcullis` in the target
/// directory this test binary was built into (`<target>/debug/deps/..`).
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PORTCULLIS_BIN") {
        return PathBuf::from(path);
    }
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile = test_binary.parent().and_then(|deps| deps.parent()).expect("<target>/<profile>/deps");
    let binary = profile.join("portcullis");
    assert!(
        binary.is_file(),
        "no server binary at {}: build it first with `cargo build -p server --bin portcullis` \
         (same CARGO_TARGET_DIR), or name one with PORTCULLIS_BIN",
        binary.display()
    );
    binary
}

/// `portcullis serve` on a free port of 127.0.0.1, on a fresh data
/// directory, with the administrator `admin` / [`ADMIN_PASSWORD`].
struct RealRegistry {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl RealRegistry {
    fn start() -> Self {
        let data = tempfile::tempdir().expect("a data directory");
        let mut command = Command::new(server_binary());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PORTCULLIS_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PORTCULLIS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start portcullis serve");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end, so the server never writes into a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let base = loop {
            let line =
                received.recv_timeout(Duration::from_secs(30)).expect("the server's address within 30 s");
            if let Some(address) = line.split("listening on ").nth(1) {
                break address.trim().to_owned();
            }
        };
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { child, base, http, _data: data }
    }

    /// A client command as the administrator.
    async fn admin(&self, args: &[&str]) -> Outcome {
        self.run_as(("admin", ADMIN_PASSWORD), args).await
    }

    async fn run_as(&self, (username, password): (&str, &str), args: &[&str]) -> Outcome {
        let mut full = vec!["portcullis"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--registry", &self.base, "--username", username, "--password", password]);
        let cli = Cli::try_parse_from(full).expect("arguments parse");
        execute(cli.command).await
    }

    /// The status of `GET path` with Basic credentials.
    async fn status_as(&self, (username, password): (&str, &str), path: &str) -> u16 {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .basic_auth(username, Some(password))
            .send()
            .await
            .expect("the server answers");
        response.status().as_u16()
    }
}

impl Drop for RealRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealRegistry {
    /// `path` on the registry as the administrator.
    fn as_admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    /// Pushes a blob in one request (`POST .../blobs/uploads/?digest=`).
    async fn push_blob(&self, repository: &str, content: &[u8]) -> String {
        let digest = sha256(content);
        let response = self
            .as_admin(reqwest::Method::POST, &format!("/v2/{repository}/blobs/uploads/?digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(content.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap());
        digest
    }

    /// Pushes an OCI image (a config and `layer`) and tags it with each of
    /// `tags`; returns the manifest's digest.
    async fn push_image(&self, repository: &str, layer: &[u8], tags: &[&str]) -> String {
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = self.push_blob(repository, config).await;
        let layer_digest = self.push_blob(repository, layer).await;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
        }))
        .unwrap();
        for tag in tags {
            let response = self
                .as_admin(reqwest::Method::PUT, &format!("/v2/{repository}/manifests/{tag}"))
                .header("content-type", OCI_MANIFEST)
                .body(manifest.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap());
        }
        sha256(&manifest)
    }

    /// The status of `GET /v2/{repository}/manifests/{reference}`.
    async fn manifest_status(&self, repository: &str, reference: &str) -> u16 {
        let response = self
            .as_admin(reqwest::Method::GET, &format!("/v2/{repository}/manifests/{reference}"))
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// `manifest list-metadata` and `show-metadata` on a real repository, then
/// `repository delete --image NAME:TAG`: the manifest the tag points to
/// goes with every tag pointing to it; the repository's other image stays.
#[tokio::test]
async fn one_image_is_deleted_by_tag_and_the_other_stays() {
    let registry = RealRegistry::start();
    let old = registry.push_image("samples/app", b"layer of the old image", &["v1", "latest"]).await;
    let new = registry.push_image("samples/app", b"layer of the new image", &["v2"]).await;

    let listed = registry.admin(&["manifest", "list-metadata", "--name", "samples/app", "-o", "tsv"]).await;
    assert_eq!(listed.code, 0, "{listed:?}");
    let rows: Vec<Vec<&str>> = listed.stdout.lines().map(|line| line.split('\t').collect()).collect();
    let row = |digest: &str| {
        rows.iter()
            .find(|row| row[0] == digest)
            .unwrap_or_else(|| panic!("{digest} listed: {}", listed.stdout))
            .clone()
    };
    assert_eq!(rows.len(), 2, "{}", listed.stdout);
    assert_eq!(&row(&old)[1..3], [OCI_MANIFEST, "latest, v1"]);
    assert_eq!(&row(&new)[1..3], [OCI_MANIFEST, "v2"]);
    assert_eq!(row(&new)[4], "linux/amd64");
    let table = registry.admin(&["manifest", "list-metadata", "--name", "samples/app", "-o", "table"]).await;
    assert!(table.stdout.starts_with("DIGEST  "), "{}", table.stdout);
    assert_eq!(table.stdout.lines().count(), 4, "{}", table.stdout);

    let shown = registry.admin(&["manifest", "show-metadata", "--name", "samples/app:latest"]).await;
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap_or_else(|_| panic!("{shown:?}"));
    assert_eq!((shown["digest"].as_str(), &shown["tags"]), (Some(old.as_str()), &json!(["latest", "v1"])));
    let by_digest = registry
        .admin(&["manifest", "show-metadata", "--name", &format!("samples/app@{new}"), "--query", "tags"])
        .await;
    assert_eq!(serde_json::from_str::<Value>(&by_digest.stdout).unwrap(), json!(["v2"]));

    // Without --yes nothing is sent, nothing deleted.
    let refused = registry.admin(&["repository", "delete", "--image", "samples/app:v1"]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(registry.manifest_status("samples/app", &old).await, 200);

    let deleted = registry.admin(&["repository", "delete", "--image", "samples/app:v1", "--yes"]).await;
    assert_eq!(deleted, Outcome { code: 0, stdout: String::new(), stderr: String::new() });
    for gone in [old.as_str(), "v1", "latest"] {
        assert_eq!(registry.manifest_status("samples/app", gone).await, 404, "{gone}");
    }
    for kept in [new.as_str(), "v2"] {
        assert_eq!(registry.manifest_status("samples/app", kept).await, 200, "{kept}");
    }
    let tags = registry.admin(&["repository", "show-tags", "--repository", "samples/app", "-o", "tsv"]).await;
    assert_eq!(tags.stdout, "v2\n");
    let listed =
        registry.admin(&["manifest", "list-metadata", "--name", "samples/app", "--query", "[].digest"]).await;
    assert_eq!(serde_json::from_str::<Value>(&listed.stdout).unwrap(), json!([new]));

    // A tag that does not exist: the API's refusal, nothing deleted.
    let missing = registry.admin(&["repository", "delete", "--image", "samples/app:v1", "--yes"]).await;
    assert_eq!((missing.code, missing.stderr.as_str()), (1, "error: tag or manifest not found\n"));
    assert_eq!(registry.manifest_status("samples/app", "v2").await, 200);

    // By digest.
    let deleted =
        registry.admin(&["repository", "delete", "--image", &format!("samples/app@{new}"), "--yes"]).await;
    assert_eq!(deleted.code, 0, "{deleted:?}");
    assert_eq!(registry.manifest_status("samples/app", "v2").await, 404);
}

/// The rows of a table (after the header and the rule), split on runs of
/// spaces (no cell of the tables read here holds one).
fn table_rows(table: &str) -> Vec<Vec<String>> {
    table.lines().skip(2).map(|line| line.split_whitespace().map(str::to_owned).collect()).collect()
}

/// The passwords `token create -o table` and `-o tsv` print are the ones the
/// registry accepts: both log in to the API with HTTP Basic, and to `/v2`.
#[tokio::test]
async fn the_passwords_token_create_prints_as_a_table_or_tsv_log_in() {
    let registry = RealRegistry::start();
    let repository = ["--repository", "samples/hello-world", "content/read", "metadata/read"];

    let table = registry
        .admin(&[&["token", "create", "--name", "TableToken", "-o", "table"][..], &repository].concat())
        .await;
    assert_eq!((table.code, table.stderr.as_str()), (0, ""), "{table:?}");
    assert!(table.stdout.starts_with("USERNAME    PASSWORD   VALUE"), "{}", table.stdout);
    let rows = table_rows(&table.stdout);
    assert_eq!(rows.len(), 2, "{}", table.stdout);

    let tsv = registry
        .admin(&[&["token", "create", "--name", "TsvToken", "-o", "tsv"][..], &repository].concat())
        .await;
    assert_eq!((tsv.code, tsv.stderr.as_str()), (0, ""), "{tsv:?}");
    let lines: Vec<Vec<&str>> = tsv.stdout.lines().map(|line| line.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{}", tsv.stdout);

    let mut printed: Vec<(String, String, String)> = Vec::new();
    for row in &rows {
        printed.push((row[0].clone(), row[1].clone(), row[2].clone()));
    }
    for line in &lines {
        printed.push((line[0].to_owned(), line[1].to_owned(), line[2].to_owned()));
    }
    let slots: Vec<(&str, &str)> =
        printed.iter().map(|(user, slot, _)| (user.as_str(), slot.as_str())).collect();
    assert_eq!(
        slots,
        [
            ("TableToken", "password1"),
            ("TableToken", "password2"),
            ("TsvToken", "password1"),
            ("TsvToken", "password2")
        ]
    );
    for (username, slot, password) in &printed {
        assert!(password.starts_with("pct_") && password.len() == 47, "{username} {slot}: {password:?}");
        let credentials = (username.as_str(), password.as_str());
        assert_eq!(
            registry.status_as(credentials, &format!("/api/v1/tokens/{username}")).await,
            200,
            "{username} {slot}"
        );
        assert_eq!(registry.status_as(credentials, "/v2/").await, 200, "{username} {slot} on /v2");
    }
    // A password that was never printed does not log in: the check above can fail.
    assert_eq!(
        registry.status_as(("TsvToken", "pct_not-a-printed-password"), "/api/v1/tokens/TsvToken").await,
        401
    );

    // A new password2 in TSV, without --query: it logs in, the old one no longer does.
    let generated = registry
        .admin(&["token", "credential", "generate", "--name", "TsvToken", "--password2", "-o", "tsv"])
        .await;
    assert_eq!(generated.code, 0, "{generated:?}");
    let fields: Vec<&str> = generated.stdout.trim_end().split('\t').collect();
    assert_eq!(&fields[..2], ["TsvToken", "password2"], "{}", generated.stdout);
    assert_eq!(registry.status_as(("TsvToken", fields[2]), "/api/v1/tokens/TsvToken").await, 200);
    assert_eq!(registry.status_as(("TsvToken", lines[1][2]), "/api/v1/tokens/TsvToken").await, 401);
}

// ---------------------------------------------------------------------------
// portcullis login

/// A stand-in for docker, podman, skopeo and oras: records its name, each
/// argument, whether PORTCULLIS_PASSWORD reached it, and its standard
/// input, into `$FAKE_CLIENT_LOG`; refuses the password `wrong`.
const FAKE_CLIENT: &str = r#"#!/bin/sh
{
  printf 'program %s\n' "$(basename "$0")"
  for arg in "$@"; do printf 'arg %s\n' "$arg"; done
  printf 'env PORTCULLIS_PASSWORD=%s\n' "${PORTCULLIS_PASSWORD-unset}"
  printf 'stdin '
  cat
} > "$FAKE_CLIENT_LOG"
if grep -qx 'stdin wrong' "$FAKE_CLIENT_LOG"; then
  echo 'Error: invalid username/password' >&2
  exit 1
fi
echo 'Login Succeeded!'
"#;

/// A directory with the fake clients, and where they write.
struct FakeClients {
    dir: tempfile::TempDir,
}

impl FakeClients {
    fn install() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        for program in ["docker", "podman", "skopeo", "oras"] {
            let path = dir.path().join("bin").join(program);
            std::fs::write(&path, FAKE_CLIENT).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("client.log")
    }

    /// PATH with the fake clients first, then the system's tools they use.
    fn environment(&self) -> Vec<(OsString, OsString)> {
        let path = format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display());
        vec![("PATH".into(), path.into()), ("FAKE_CLIENT_LOG".into(), self.log_path().into())]
    }

    /// What the last client run recorded (and forget it).
    fn taken(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log_path());
        log
    }

    async fn login(&self, args: &[&str], stdin: &str, extra: &[(&str, &str)]) -> Outcome {
        let mut full = vec!["portcullis", "login"];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full).expect("arguments parse");
        let mut environment = self.environment();
        environment.extend(extra.iter().map(|(key, value)| (OsString::from(key), OsString::from(value))));
        execute_with(cli.command, stdin.as_bytes(), &environment).await
    }
}

/// The password reaches the client on standard input only: never in its
/// arguments, nor in its environment.
#[tokio::test]
async fn login_hands_the_password_to_the_client_on_stdin_only() {
    let clients = FakeClients::install();
    let registry = ["--registry", "http://127.0.0.1:5000", "--username", "MyToken"];

    let outcome = clients
        .login(
            &[&registry[..], &["--client", "podman", "--password-stdin"]].concat(),
            "pct_FROM_STDIN\n",
            &[("PORTCULLIS_PASSWORD", "pct_FROM_THE_ENVIRONMENT")],
        )
        .await;
    assert_eq!(outcome, Outcome { code: 0, stdout: "Login Succeeded!\n".into(), stderr: String::new() });
    assert_eq!(
        clients.taken(),
        "program podman\narg login\narg --tls-verify=false\narg --username\narg MyToken\narg --password-stdin\n\
         arg 127.0.0.1:5000\nenv PORTCULLIS_PASSWORD=unset\nstdin pct_FROM_STDIN\n"
    );

    // From --password (or PORTCULLIS_PASSWORD): docker, which needs no flag for 127.0.0.1.
    let outcome =
        clients.login(&[&registry[..], &["--password", "pct_FROM_THE_OPTION"]].concat(), "", &[]).await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let log = clients.taken();
    let (arguments, stdin) = log.split_once("stdin ").unwrap();
    assert_eq!(stdin, "pct_FROM_THE_OPTION\n");
    assert!(
        arguments
            .starts_with("program docker\narg login\narg --username\narg MyToken\narg --password-stdin\n"),
        "{log}"
    );
    assert!(!arguments.contains("pct_"), "{log}");

    for (client, plain_http) in [("skopeo", "--tls-verify=false"), ("oras", "--plain-http")] {
        let outcome =
            clients.login(&[&registry[..], &["--client", client, "-p", "pct_X"]].concat(), "", &[]).await;
        assert_eq!(outcome.code, 0, "{outcome:?}");
        let log = clients.taken();
        assert!(log.starts_with(&format!("program {client}\narg login\narg {plain_http}\n")), "{log}");
        assert!(log.ends_with("\nstdin pct_X\n"), "{log}");
    }

    // The client refuses: its message, then ours, exit 1.
    let outcome = clients.login(&[&registry[..], &["--password-stdin"]].concat(), "wrong\n", &[]).await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "Error: invalid username/password\nerror: docker login failed (exit code 1)\n"
    );
    assert!(clients.taken().ends_with("\nstdin wrong\n"));

    // Nothing to log in with: refused before any client runs.
    let outcome = clients.login(&[&registry[..], &["--password-stdin"]].concat(), "", &[]).await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(outcome.stderr.starts_with("error: no password on standard input"), "{}", outcome.stderr);
    assert_eq!(clients.taken(), "", "no client ran");
}

#[tokio::test]
async fn login_names_a_missing_client() {
    let empty = tempfile::tempdir().unwrap();
    let cli =
        Cli::try_parse_from(["portcullis", "login", "--client", "oras", "-u", "t", "-p", "pct_X"]).unwrap();
    let path = vec![(OsString::from("PATH"), empty.path().as_os_str().to_owned())];
    let outcome = execute_with(cli.command, "".as_bytes(), &path).await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert_eq!(
        outcome.stderr,
        "error: oras is not installed (not found on PATH); install it, or choose another client with \
         --client docker|podman|skopeo|oras\n"
    );
}

/// `login --print` writes a line that works as pasted: the shell reads the
/// password, the client gets it on standard input. The line holds no
/// password even when one is given.
#[tokio::test]
async fn the_printed_login_line_works_as_pasted() {
    let clients = FakeClients::install();
    let args = [
        "--client",
        "skopeo",
        "--print",
        "-u",
        "ci reader",
        "-p",
        "pct_NOT_PRINTED",
        "--registry",
        "http://registry.example:5000",
    ];
    let printed = clients.login(&args, "", &[]).await;
    assert_eq!(printed.code, 0, "{printed:?}");
    assert_eq!(
        printed.stdout,
        "read -rs REGISTRY_PASSWORD && echo \"$REGISTRY_PASSWORD\" | skopeo login --tls-verify=false \
         --username 'ci reader' --password-stdin registry.example:5000\n"
    );
    assert_eq!(clients.taken(), "", "--print runs nothing");
    // As a person would: paste it into bash, type the password.
    let mut shell = Command::new("bash");
    shell.args(["-c", printed.stdout.trim_end()]).stdin(Stdio::piped()).stdout(Stdio::piped());
    for (key, value) in clients.environment() {
        shell.env(key, value);
    }
    let mut shell = shell.spawn().expect("bash");
    use std::io::Write as _;
    shell.stdin.take().unwrap().write_all(b"pct_TYPED\n").unwrap();
    assert!(shell.wait_with_output().unwrap().status.success());
    assert_eq!(
        clients.taken(),
        "program skopeo\narg login\narg --tls-verify=false\narg --username\narg ci reader\narg --password-stdin\n\
         arg registry.example:5000\nenv PORTCULLIS_PASSWORD=unset\nstdin pct_TYPED\n"
    );
}

/// Real skopeo, logged in by `portcullis login --client skopeo` with a
/// token's password on standard input, keeps the login in its auth file
/// (REGISTRY_AUTH_FILE) and pulls with it.
#[tokio::test]
async fn skopeo_logged_in_by_portcullis_login_reads_with_the_login() {
    let registry = RealRegistry::start();
    registry.push_image("samples/hello-world", b"hello-world layer", &["v1"]).await;
    let token = registry
        .admin(&[
            "token",
            "create",
            "--name",
            "Puller",
            "--repository",
            "samples/hello-world",
            "content/read",
            "metadata/read",
            "-o",
            "tsv",
        ])
        .await;
    assert_eq!(token.code, 0, "{token:?}");
    let password = token.stdout.lines().next().unwrap().split('\t').nth(2).unwrap().to_owned();

    // A scratch HOME and runtime directory, so skopeo reads no other login.
    let scratch = tempfile::tempdir().unwrap();
    for sub in ["home", "run", "tmp"] {
        std::fs::create_dir(scratch.path().join(sub)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(scratch.path().join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let auth_file = scratch.path().join("auth.json");
    let environment = |auth: &std::path::Path| -> Vec<(OsString, OsString)> {
        vec![
            ("HOME".into(), scratch.path().join("home").into()),
            ("XDG_RUNTIME_DIR".into(), scratch.path().join("run").into()),
            ("TMPDIR".into(), scratch.path().join("tmp").into()),
            ("REGISTRY_AUTH_FILE".into(), auth.into()),
        ]
    };
    let login = |stdin: String| {
        let cli = Cli::try_parse_from([
            "portcullis",
            "login",
            "--client",
            "skopeo",
            "--username",
            "Puller",
            "--password-stdin",
            "--registry",
            &registry.base,
        ])
        .unwrap();
        let environment = environment(&auth_file);
        async move { execute_with(cli.command, stdin.as_bytes(), &environment).await }
    };

    let refused = login("pct_wrong-password\n".to_owned()).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.ends_with("error: skopeo login failed (exit code 1)\n"), "{}", refused.stderr);
    assert!(!auth_file.exists(), "a refused login keeps nothing");

    let outcome = login(format!("{password}\n")).await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(outcome.stdout.contains("Login Succeeded"), "{outcome:?}");
    let auth: Value = serde_json::from_slice(&std::fs::read(&auth_file).unwrap()).unwrap();
    let authority = registry.base.trim_start_matches("http://");
    assert!(auth["auths"][authority]["auth"].is_string(), "{auth}");

    // skopeo reads with that login, and without it is refused.
    let skopeo = |auth: &std::path::Path, args: &[&str]| {
        let mut command = Command::new("skopeo");
        command.env_remove("DOCKER_CONFIG").envs(environment(auth)).args(args);
        command.output().expect("skopeo is installed (scripts/setup.sh test)")
    };
    let image = format!("docker://{authority}/samples/hello-world");
    let tags = skopeo(&auth_file, &["list-tags", "--tls-verify=false", &image]);
    assert!(tags.status.success(), "{}", String::from_utf8_lossy(&tags.stderr));
    let tags: Value = serde_json::from_slice(&tags.stdout).unwrap();
    assert_eq!(tags["Tags"], json!(["v1"]));
    let inspect = skopeo(&auth_file, &["inspect", "--raw", "--tls-verify=false", &format!("{image}:v1")]);
    assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
    let anonymous = skopeo(
        &scratch.path().join("none.json"),
        &["inspect", "--raw", "--tls-verify=false", &format!("{image}:v1")],
    );
    assert!(!anonymous.status.success(), "without the login skopeo is refused");
}
