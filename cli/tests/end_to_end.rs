//! `execute` against a tiny in-process HTTP server answering canned
//! responses: what goes over the wire, what is printed, which exit code.
//! One test binary on purpose.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use clap::Parser;
use portcullis_cli::{execute, execute_with_stdin, ClientCommand, Outcome};
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
