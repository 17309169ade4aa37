//! Regression tests for the attacks of the security review (issue 9): each
//! failed against the code before its fix.

use std::os::unix::fs::PermissionsExt;

use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    locks::status_and_code,
    registry::{sha256, Registry},
    testkit::{TestServer, ADMIN_PASSWORD},
};

/// Creates a token with a new scope map of `rules`; returns password1.
async fn create_token(registry: &Registry, name: &str, rules: Value) -> String {
    crate::authz::create_token(registry, name, rules).await.0
}

async fn admin(registry: &Registry, method: Method, path: &str) -> StatusCode {
    registry.request(method, path).send().await.unwrap().status()
}

async fn patch(registry: &Registry, path: &str, body: Value) {
    let response = registry.request(Method::PATCH, path).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "PATCH {path}");
}

fn as_user(
    registry: &Registry,
    method: Method,
    path: &str,
    user: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    registry.client.request(method, registry.server.url(path)).basic_auth(user, Some(password))
}

/// Critical: a scope map created after the newest one was deleted must not
/// inherit its cached rules (SQLite reused the id, the revision restarted).
#[tokio::test]
async fn a_new_scope_map_never_inherits_a_deleted_ones_rules() {
    let registry = Registry::start();
    let (_, other) = registry.push_image("other/app", "v1", b"other layer").await;
    registry.push_image("customer/app", "v1", b"customer layer").await;

    let everything = json!([{"repository": "*", "actions":
        ["content/read", "content/write", "content/delete", "metadata/read", "metadata/write"]}]);
    let wide = create_token(&registry, "wide-token", everything).await;
    let used = as_user(&registry, Method::GET, "/v2/_catalog", "wide-token", &wide).send().await.unwrap();
    assert_eq!(used.status(), StatusCode::OK, "the wide token was used once");
    assert_eq!(admin(&registry, Method::DELETE, "/api/v1/tokens/wide-token").await, StatusCode::NO_CONTENT);
    let deleted = admin(&registry, Method::DELETE, "/api/v1/scope-maps/wide-token-scope-map").await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);

    let narrow = create_token(
        &registry,
        "narrow-token",
        json!([{"repository": "customer/app", "actions": ["content/read"]}]),
    )
    .await;
    let catalog: Value = as_user(&registry, Method::GET, "/v2/_catalog", "narrow-token", &narrow)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["repositories"], json!([]), "no metadata/read anywhere: {catalog}");
    let read_other = as_user(&registry, Method::GET, "/v2/other/app/manifests/v1", "narrow-token", &narrow)
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(read_other).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let delete_other = as_user(
        &registry,
        Method::DELETE,
        &format!("/v2/other/app/manifests/{other}"),
        "narrow-token",
        &narrow,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(status_and_code(delete_other).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let read_own = as_user(&registry, Method::GET, "/v2/customer/app/manifests/v1", "narrow-token", &narrow)
        .send()
        .await
        .unwrap();
    assert_eq!(read_own.status(), StatusCode::OK);
}

/// Five wrong passwords for one user name from one client lock that pair
/// out at every login point; the right password is then refused too, with
/// 429 and Retry-After, while another client is unaffected.
#[tokio::test]
async fn every_login_point_is_throttled() {
    // One server per login point: each test locks `admin` out.
    for point in ["token GET", "token POST", "/v2 Basic", "/api Basic"] {
        let registry = Registry::start();
        let attempt = |password: &str, forwarded_for: Option<&str>| {
            let request = match point {
                "token GET" => registry
                    .client
                    .get(registry.server.url("/oauth2/token?scope=repository:a/b:pull"))
                    .basic_auth("admin", Some(password)),
                "token POST" => registry.client.post(registry.server.url("/oauth2/token")).form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", password),
                ]),
                "/v2 Basic" => {
                    registry.client.get(registry.server.url("/v2/")).basic_auth("admin", Some(password))
                }
                _ => registry
                    .client
                    .get(registry.server.url("/api/v1/tokens"))
                    .basic_auth("admin", Some(password)),
            };
            match forwarded_for {
                Some(address) => request.header("x-forwarded-for", address),
                None => request,
            }
        };
        for i in 0..5 {
            let response = attempt("wrong password", None).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{point}: failure {i}");
        }
        let locked = attempt(ADMIN_PASSWORD, None).send().await.unwrap();
        assert_eq!(
            locked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{point}: the right password after 5 failures"
        );
        let retry: u64 = locked.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "{point}: Retry-After {retry}");
        let (_, error) = status_and_code(locked).await;
        let wanted = match point {
            "/api Basic" => "TOO_MANY_REQUESTS",
            _ => "TOOMANYREQUESTS",
        };
        assert_eq!(error, wanted, "{point}");
        // X-Forwarded-For from a client that is not a trusted proxy changes
        // nothing: it cannot step around the lock.
        let forged = attempt(ADMIN_PASSWORD, Some("203.0.113.9")).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS, "{point}: forged X-Forwarded-For");
    }
}

/// Behind a trusted proxy, failures count per forwarded client: an
/// attacker behind the same proxy cannot lock the administrator out.
#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_client() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(data.path(), Some(ADMIN_PASSWORD), &["--trusted-proxy", "127.0.0.1"]);
    let client = Client::new();
    let attempt = |password: &str, client_address: &str| {
        client
            .get(server.url("/v2/"))
            .basic_auth("admin", Some(password))
            .header("x-forwarded-for", client_address)
            .send()
    };
    for _ in 0..6 {
        attempt("guess", "203.0.113.9").await.unwrap();
    }
    assert_eq!(attempt(ADMIN_PASSWORD, "203.0.113.9").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt(ADMIN_PASSWORD, "198.51.100.20").await.unwrap().status(), StatusCode::OK);
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A burst of made-up Basic credentials may not run argon2 unbounded: 48 at
/// once pushed memory past 1.2 GiB before. Every answer is 401 or 429.
#[tokio::test]
async fn password_checks_are_bounded_under_a_burst() {
    let registry = Registry::start();
    let pid = registry.server.pid();
    let before = peak_rss_kib(pid);
    let requests = (0..48).map(|i| {
        registry
            .client
            .get(registry.server.url("/v2/"))
            .basic_auth(format!("user-{i}"), Some("made-up password"))
            .send()
    });
    let answers = futures::future::join_all(requests).await;
    for answer in answers {
        let status = answer.unwrap().status();
        assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{status}");
    }
    let after = peak_rss_kib(pid);
    eprintln!("peak RSS before the burst {before} KiB, after {after} KiB");
    // About 19 MiB per argon2 verification running at once (one per core).
    let cores = std::thread::available_parallelism().map_or(2, usize::from) as u64;
    assert!(after < before + (cores + 4) * 20 * 1024, "peak RSS grew from {before} to {after} KiB");
    // Names that cannot be a person's are refused without any check.
    let long = "x".repeat(10_000);
    let response = registry.client.get(registry.server.url("/v2/")).basic_auth(&long, Some("p")).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// A blob referenced by a locked manifest, or in a repository with
/// deleteEnabled=false, cannot be deleted (the image would break).
#[tokio::test]
async fn locks_cover_the_blobs_of_locked_images() {
    let registry = Registry::start();
    let layer = b"locked layer".to_vec();
    let (_, digest) = registry.push_image("locked/app", "v1", &layer).await;
    let layer_digest = sha256(&layer);
    let locked = json!({"writeEnabled": false, "deleteEnabled": false});
    patch(&registry, &format!("/api/v1/repositories/locked/app/_manifests/{digest}"), locked.clone()).await;
    patch(&registry, "/api/v1/repositories/locked/app/_tags/v1", locked).await;
    let path = format!("/v2/locked/app/blobs/{layer_digest}");
    let refused = registry.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(status_and_code(refused).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    assert_eq!(admin(&registry, Method::GET, &path).await, StatusCode::OK, "the layer still pulls");
    assert_eq!(admin(&registry, Method::GET, "/v2/locked/app/manifests/v1").await, StatusCode::OK);

    // A blob no locked manifest references, in a repository whose
    // deleteEnabled is false, stays too; with it true, it goes.
    let loose = registry.push_blob("locked/app", b"loose blob").await;
    patch(&registry, "/api/v1/repositories/locked/app", json!({"deleteEnabled": false})).await;
    let loose_path = format!("/v2/locked/app/blobs/{loose}");
    let refused = registry.request(Method::DELETE, &loose_path).send().await.unwrap();
    assert_eq!(status_and_code(refused).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    patch(&registry, "/api/v1/repositories/locked/app", json!({"deleteEnabled": true})).await;
    assert_eq!(admin(&registry, Method::DELETE, &loose_path).await, StatusCode::ACCEPTED);
}

/// readEnabled=false covers blob reads and mounts from the repository, not
/// only manifests.
#[tokio::test]
async fn read_locks_cover_blobs_and_mounts() {
    let registry = Registry::start();
    let layer = b"secret layer".to_vec();
    registry.push_image("private/app", "v1", &layer).await;
    let layer_digest = sha256(&layer);
    patch(&registry, "/api/v1/repositories/private/app", json!({"readEnabled": false})).await;
    let path = format!("/v2/private/app/blobs/{layer_digest}");
    let get = registry.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(status_and_code(get).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    assert_eq!(admin(&registry, Method::HEAD, &path).await, StatusCode::FORBIDDEN);
    let mount = registry
        .request(Method::POST, &format!("/v2/copy/app/blobs/uploads/?mount={layer_digest}&from=private/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        mount.status(),
        StatusCode::ACCEPTED,
        "no mount from a read-locked repository: an upload instead"
    );
    let copied =
        registry.request(Method::HEAD, &format!("/v2/copy/app/blobs/{layer_digest}")).send().await.unwrap();
    assert_eq!(copied.status(), StatusCode::NOT_FOUND);
    patch(&registry, "/api/v1/repositories/private/app", json!({"readEnabled": true})).await;
    assert_eq!(admin(&registry, Method::GET, &path).await, StatusCode::OK);
}

/// The challenge's realm is the configured login server, whatever `Host`
/// says: a forged Host would send clients' passwords elsewhere.
#[tokio::test]
async fn the_realm_never_comes_from_the_host_header() {
    let registry = Registry::start();
    let response = registry
        .client
        .get(registry.server.url("/v2/"))
        .header(header::HOST, "evil.example:443")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().to_owned();
    let authority = registry.server.authority();
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"http://{authority}/oauth2/token\"")),
        "{challenge}"
    );
    assert!(!challenge.contains("evil.example"), "{challenge}");
}

/// Unauthenticated input cannot grow the database without bound: a huge
/// user name is cut in the audit log, and a tag list answers at most 1000
/// tags a page, with a Link to the next.
#[tokio::test]
async fn unauthenticated_input_and_lists_are_capped() {
    let registry = Registry::start();
    let huge = "u".repeat(60_000);
    let response = registry
        .client
        .post(registry.server.url("/oauth2/token"))
        .form(&[("grant_type", "password"), ("username", huge.as_str()), ("password", "pct_wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The audit writer batches: wait for the entry.
    let mut longest = 0;
    for _ in 0..50 {
        let entries: Value =
            registry.request(Method::GET, "/api/v1/audit").send().await.unwrap().json().await.unwrap();
        let entries = entries["items"].as_array().cloned().unwrap_or_default();
        let callers: Vec<usize> = entries
            .iter()
            .filter(|entry| entry["caller"].as_str().is_some_and(|c| c.starts_with("unauthenticated:uuu")))
            .map(|entry| entry.to_string().len())
            .collect();
        if let Some(length) = callers.first() {
            longest = *length;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(longest > 0, "the failed login was audited");
    assert!(longest < 2_000, "the audit entry holds {longest} bytes");

    // 1001 tags: two pages.
    let (manifest, _) = registry.push_image("many/tags", "t0000", b"layer").await;
    for i in 1..=1000 {
        let response = registry
            .push_manifest("many/tags", &format!("t{i:04}"), crate::registry::OCI_MANIFEST, &manifest)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let first = registry.request(Method::GET, "/v2/many/tags/tags/list").send().await.unwrap();
    let link = first.headers()[header::LINK].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["tags"].as_array().unwrap().len(), 1000);
    assert!(link.contains("last=t0999"), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let second: Value = registry.request(Method::GET, &next).send().await.unwrap().json().await.unwrap();
    assert_eq!(second["tags"], json!(["t1000"]));
}

/// The data directory and the database are the owner's only.
#[tokio::test]
async fn the_data_directory_is_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let _server = TestServer::start(&data, Some(ADMIN_PASSWORD));
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    if crate::testkit::on_postgres() {
        // The database is the cluster's; nothing of it is in the directory.
        assert!(!data.join("portcullis.db").exists(), "a SQLite file beside a PostgreSQL database");
    } else {
        assert_eq!(mode(&data.join("portcullis.db")), 0o600);
    }
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("portcullis.db") || name.ends_with(".key") {
            assert_eq!(mode(&path) & 0o077, 0, "{name} is readable by others");
        }
    }
}

/// Token names compare without case, so none may equal a person's name in
/// any case.
#[tokio::test]
async fn a_token_cannot_take_a_users_name_in_any_case() {
    let registry = Registry::start();
    for name in ["admin", "Admin", "ADMIN"] {
        let response = registry
            .request(Method::POST, "/api/v1/tokens")
            .json(&json!({"name": name, "scopeMap": "_repositories_pull"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT, "{name}");
    }
}

/// No secret reaches the log, at the most verbose level, on any path a
/// secret travels: generated token passwords, the administrator's password
/// on every login point (right and wrong), bearer and refresh tokens, the
/// portal's session cookie and CSRF token, and a password change.
#[tokio::test]
async fn no_secret_reaches_the_log_at_trace_level() {
    let (registry, log) = Registry::start_logging("trace");
    let server = &registry.server;
    let mut secrets = vec![ADMIN_PASSWORD.to_owned()];
    // On PostgreSQL: the database password, given in the URL.
    if let Some(url) = crate::testkit::database_url(registry.data_dir()) {
        let password =
            url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).map(|(user_info, _)| user_info);
        let password = password.and_then(|user_info| user_info.split_once(':')).map(|(_, password)| password);
        secrets.push(password.expect("the tests' PostgreSQL URL carries a password").to_owned());
    }

    let (password1, password2) = crate::authz::create_token(
        &registry,
        "ci-pusher",
        json!([{"repository": "app/*", "actions": ["content/read", "content/write"]}]),
    )
    .await;
    secrets.extend([password1.clone(), password2.clone()]);
    let wrong = "wrong-secret-Zq81".to_owned();
    secrets.push(wrong.clone());

    // Basic on /v2 and /api/v1, right and wrong.
    for (user, password) in [("ci-pusher", &password1), ("admin", &wrong), ("ci-pusher", &wrong)] {
        as_user(&registry, Method::GET, "/v2/", user, password).send().await.unwrap();
        as_user(&registry, Method::GET, "/api/v1/tokens", user, password).send().await.unwrap();
    }
    // The token endpoint: Basic, then the password and refresh grants.
    let service = server.authority().to_owned();
    let response = registry
        .client
        .get(server.url("/oauth2/token"))
        .query(&[("service", service.as_str()), ("scope", "repository:app/web:pull,push")])
        .basic_auth("ci-pusher", Some(&password2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bearer = response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let body = registry.password_grant("ci-pusher", &password1, "repository:app/web:pull").await;
    let refresh = body["refresh_token"].as_str().expect("a refresh token").to_owned();
    let response = registry.refresh_grant(&refresh, "repository:app/web:pull").await;
    let refreshed =
        response.json::<Value>().await.unwrap()["access_token"].as_str().expect("an access token").to_owned();
    for token in [&bearer, &refreshed] {
        let response =
            registry.client.get(server.url("/v2/app/web/tags/list")).bearer_auth(token).send().await.unwrap();
        assert_ne!(response.status(), StatusCode::UNAUTHORIZED);
    }
    secrets.extend([bearer, refresh, refreshed]);

    // The portal: a session cookie and a CSRF token, a wrong then a right
    // sign-in.
    let browser = crate::testkit::browser_like_client();
    let csrf = crate::portal::csrf_token(&browser, server).await;
    crate::portal::sign_in(&browser, server, "admin", &wrong, Some(&csrf)).await;
    let csrf = crate::portal::csrf_token(&browser, server).await;
    let signed_in = crate::portal::sign_in(&browser, server, "admin", ADMIN_PASSWORD, Some(&csrf)).await;
    let cookies: Vec<String> = signed_in
        .cookies()
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    assert!(!cookies.is_empty(), "signing in set a session cookie");
    secrets.extend(cookies);
    secrets.push(csrf);

    // A password change: the current and the new password.
    let new_password = "new-admin-secret-Kd47".to_owned();
    let response = registry
        .request(Method::PUT, "/api/v1/users/admin/password")
        .json(&json!({"currentPassword": ADMIN_PASSWORD, "newPassword": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    as_user(&registry, Method::GET, "/v2/", "admin", &new_password).send().await.unwrap();
    secrets.push(new_password);

    // The log is flushed line by line; give the reader thread a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let lines = log.lines();
    // The log followed these paths at its most verbose (queries with their
    // statements, grants, refusals), so the search below means something.
    for expected in ["sqlx::query", "token scope granted", "registry authentication failed", "session"] {
        assert!(
            lines.iter().any(|line| line.contains(expected)),
            "the trace log ({} lines) has {expected:?}",
            lines.len()
        );
    }
    for secret in &secrets {
        assert!(secret.len() >= 12, "a secret worth looking for: {secret:?}");
        if let Some(line) = lines.iter().find(|line| line.contains(secret.as_str())) {
            panic!("a secret reached the log: {line}");
        }
    }
}

/// `serve` on `data_dir` that must stop at start: its exit code and stderr.
fn refused_start(data_dir: &std::path::Path, extra_args: &[&str]) -> (Option<i32>, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PORTCULLIS_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra_args)
        .envs(crate::testkit::database_env(data_dir))
        .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("PORTCULLIS_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start portcullis");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

/// The database's keys, sealed once a key-encryption key is configured:
/// tokens made before keep working, and a start without that key, or with
/// another, is refused without showing either.
#[tokio::test]
async fn keys_sealed_with_the_key_encryption_key_need_it_at_every_start() {
    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let kek_hex = "3c".repeat(32);
    let kek = secrets.path().join("kek");
    std::fs::write(&kek, format!("{kek_hex}\n")).unwrap();
    let other = secrets.path().join("other-kek");
    std::fs::write(&other, "c3".repeat(32)).unwrap();
    // One login server: a refresh token is bound to it, and port 0 differs
    // at each start.
    let with_kek = ["--key-encryption-key-file", kek.to_str().unwrap(), "--login-server", "registry.test"];

    // A registry that ran without one keeps its tokens once it gets one.
    let password = {
        let registry = Registry::start_in(data.path(), &[]);
        create_token(&registry, "ci-puller", json!([{"repository": "app/*", "actions": ["content/read"]}]))
            .await
    };
    let registry = Registry::start_in(data.path(), &with_kek);
    let response = as_user(&registry, Method::GET, "/v2/", "ci-puller", &password).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "a token password from before the key-encryption key");
    let refresh = registry.password_grant("ci-puller", &password, "repository:app/web:pull").await
        ["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    drop(registry);

    let registry = Registry::start_in(data.path(), &with_kek);
    let response = registry.refresh_grant(&refresh, "repository:app/web:pull").await;
    assert_eq!(response.status(), StatusCode::OK, "a refresh token survives a restart with the same key");
    drop(registry);

    let (code, stderr) = refused_start(data.path(), &[]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE"), "{stderr}");
    let (code, stderr) = refused_start(data.path(), &["--key-encryption-key-file", other.to_str().unwrap()]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("does not match the database's keys"), "{stderr}");
    assert!(!stderr.contains(&kek_hex) && !stderr.contains(&"c3".repeat(32)), "{stderr}");
}
