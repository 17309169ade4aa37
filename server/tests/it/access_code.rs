//! Access as code (issue 17, docs/ACCESS-AS-CODE.md) through the real
//! binary: `portcullis plan|apply|export` on a file, the seed's rotation
//! workflow (one password at a time, a client on the other one keeps
//! working), the rotation guard and the revision check in the server, and
//! an apply cut off by SIGKILL.

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::{
    command::Outcome,
    testkit::{TestServer, ADMIN_PASSWORD},
    walkthrough::Cli,
};

const FIRST: &str = r#"
# Two scope maps and a token with two passwords, as in the seed.
[scope-maps.ci-push]
description = "CI pushes samples"
actions = ["repositories/samples/hello-world/metadata/read"]

[scope-maps.ci-push.repositories]
"samples/*" = ["content/read", "content/write"]

[scope-maps.readers]
repositories = { "samples/app" = ["content/read"] }

[tokens.ci-bot]
scope-map = "ci-push"
password1 = { version = 1, valid-for = "365d" }
password2 = { version = 1, valid-for = "365d" }
"#;

fn with_versions(one: u32, two: u32) -> String {
    FIRST
        .replace("password1 = { version = 1", &format!("password1 = {{ version = {one}"))
        .replace("password2 = { version = 1", &format!("password2 = {{ version = {two}"))
}

struct Fixture {
    server: TestServer,
    cli: Cli,
    http: Client,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let server = TestServer::start(&dir.path().join("data"), Some(ADMIN_PASSWORD));
        let cli = Cli { base: server.base.clone() };
        Self { server, cli, http: Client::new(), dir }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn run(&self, args: &[&str]) -> Outcome {
        self.cli.admin(args)
    }

    /// The secrets file an apply wrote: token → slot → password.
    fn secrets(&self, name: &str) -> Value {
        let path = self.dir.path().join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secrets file is the owner's only");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    async fn status_with(&self, user: &str, password: &str, path: &str) -> StatusCode {
        self.http.get(self.server.url(path)).basic_auth(user, Some(password)).send().await.unwrap().status()
    }

    /// Whether `password` signs `token` in (a token may read itself).
    async fn works(&self, token: &str, password: &str) -> bool {
        let status = self.status_with(token, password, &format!("/api/v1/tokens/{token}")).await;
        assert!(matches!(status, StatusCode::OK | StatusCode::UNAUTHORIZED), "{status}");
        status == StatusCode::OK
    }

    /// A bearer token for pull and push on `samples/app`, as `docker login`
    /// gets one.
    async fn bearer(&self, token: &str, password: &str) -> String {
        let answer: Value = self
            .http
            .get(self.server.url("/oauth2/token"))
            .query(&[("service", self.server.authority()), ("scope", "repository:samples/app:pull,push")])
            .basic_auth(token, Some(password))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().expect("a bearer token").to_owned()
    }

    /// What a logged-in client's next registry request gets: 404 (no such
    /// blob) when it is let in, 401 when not.
    async fn registry_status(&self, bearer: &str) -> StatusCode {
        let digest = format!("sha256:{}", "0".repeat(64));
        self.http
            .head(self.server.url(&format!("/v2/samples/app/blobs/{digest}")))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn admin_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.http.request(method, self.server.url(path)).basic_auth("admin", Some(ADMIN_PASSWORD));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The audit entries after `after` (logins left out), newest first,
    /// once one of them satisfies `until` (within 10 s).
    async fn audit_until(&self, after: i64, until: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, audit) = self.admin_json(reqwest::Method::GET, "/api/v1/audit?limit=100", None).await;
            let entries: Vec<Value> = audit["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|entry| entry["id"].as_i64().unwrap() > after && entry["action"] != "login")
                .cloned()
                .collect();
            if entries.iter().any(&until) || Instant::now() > deadline {
                return entries;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn export(&self) -> String {
        self.run(&["export"]).succeeded().stdout
    }
}

fn revision(plan_output: &str) -> String {
    plan_output
        .lines()
        .find_map(|line| line.strip_prefix("Registry revision: "))
        .expect("the plan names the revision")
        .to_owned()
}

fn password<'a>(secrets: &'a Value, token: &str, slot: &str) -> &'a str {
    secrets[token][slot].as_str().unwrap_or_else(|| panic!("{token}/{slot} in {secrets}"))
}

#[tokio::test]
async fn the_seeds_rotation_workflow_with_plan_and_apply() {
    let f = Fixture::start();
    let file = f.file("access.toml", FIRST);

    let plan = f.run(&["plan", "-f", &file]);
    assert_eq!(plan.code, Some(2), "changes: exit 2\n{}", plan.report());
    assert!(plan.stdout.contains("+ create scope map ci-push"), "{}", plan.stdout);
    assert!(plan.stdout.contains("repositories/samples/*: content/read, content/write"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ create token ci-bot"), "{}", plan.stdout);

    // Passwords are shown once: an apply that does not say where they go
    // changes nothing.
    let nowhere = f.run(&["apply", "-f", &file]).failed();
    assert!(nowhere.stderr.contains("--secrets-out"), "{}", nowhere.report());
    assert_eq!(f.status_with("admin", ADMIN_PASSWORD, "/api/v1/tokens/ci-bot").await, StatusCode::NOT_FOUND);

    let applied = f.run(&["apply", "-f", &file, "--secrets-out", &f.path("v1.json")]).succeeded();
    assert!(applied.stdout.contains("Applied 3 changes"), "{}", applied.stdout);
    assert!(!applied.stdout.contains("pct_"), "no password on the screen: {}", applied.stdout);
    let v1 = f.secrets("v1.json");
    let (one, two) =
        (password(&v1, "ci-bot", "password1").to_owned(), password(&v1, "ci-bot", "password2").to_owned());
    assert!(f.works("ci-bot", &one).await && f.works("ci-bot", &two).await);
    let no_change = f.run(&["plan", "-f", &file]);
    assert_eq!(no_change.code, Some(0), "{}", no_change.report());
    assert!(no_change.stdout.starts_with("No changes"), "{}", no_change.stdout);

    // A client logged in with password2 before the rotation.
    let logged_in = f.bearer("ci-bot", &two).await;
    assert_eq!(f.registry_status(&logged_in).await, StatusCode::NOT_FOUND);

    // Bump password1's version: only password1 changes.
    let file = f.file("access.toml", &with_versions(2, 1));
    let plan = f.run(&["plan", "-f", &file]);
    assert_eq!(plan.code, Some(2));
    assert!(plan.stdout.contains("password1: version 1"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Generates passwords: ci-bot/password1."), "{}", plan.stdout);
    f.run(&["apply", "-f", &file, "--secrets-out", &f.path("v2.json")]).succeeded();
    let v2 = f.secrets("v2.json");
    assert_eq!(v2["ci-bot"].as_object().unwrap().len(), 1, "only password1: {v2}");
    let new_one = password(&v2, "ci-bot", "password1").to_owned();
    assert!(!f.works("ci-bot", &one).await, "the old password1 stops working");
    assert!(f.works("ci-bot", &new_one).await);
    assert!(f.works("ci-bot", &two).await, "password2 is untouched");
    assert_eq!(f.registry_status(&logged_in).await, StatusCode::NOT_FOUND, "its client never noticed");

    // Both at once is refused, and nothing changes.
    let both = f.file("both.toml", &with_versions(3, 2));
    let refused = f.run(&["apply", "-f", &both, "--secrets-out", &f.path("both.json")]).failed();
    assert!(refused.stderr.contains("--allow-downtime"), "{}", refused.report());
    assert!(f.run(&["plan", "-f", &both]).stdout.contains("Apply refuses: token ci-bot"));
    assert!(!Path::new(&f.path("both.json")).exists(), "no secrets file for a refused apply");
    assert!(f.works("ci-bot", &new_one).await && f.works("ci-bot", &two).await);

    // The expiry alone changes the expiry, not the password.
    let later = f.file(
        "later.toml",
        &with_versions(2, 1).replace(
            "password2 = { version = 1, valid-for = \"365d\" }",
            "password2 = { version = 1, expiry = 2031-01-01 }",
        ),
    );
    let plan = f.run(&["plan", "-f", &later]);
    assert!(
        plan.stdout.contains("password2.expiry:") && plan.stdout.contains("the password is kept"),
        "{}",
        plan.stdout
    );
    f.run(&["apply", "-f", &later]).succeeded();
    assert!(f.works("ci-bot", &two).await, "password2 kept its value");

    // An edit made after the plan (here through the API, as the portal
    // makes it): the apply of that plan is refused.
    let plan = f.run(&["plan", "-f", &file]);
    let reviewed = revision(&plan.stdout);
    let (status, _) = f
        .admin_json(
            reqwest::Method::PATCH,
            "/api/v1/scope-maps/readers",
            Some(json!({"description": "edited"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stale = f.run(&["apply", "-f", &file, "--expected-revision", &reviewed]).failed();
    assert!(stale.stderr.contains("changed since the plan"), "{}", stale.report());
    assert_eq!(
        f.run(&["plan", "-f", &file]).code,
        Some(2),
        "the edit is still there, to be undone by a new plan"
    );

    // export → plan: no change; the exported file is the registry's truth.
    let exported = f.path("exported.toml");
    f.run(&["export", "-f", &exported]).succeeded();
    let plan = f.run(&["plan", "-f", &exported]);
    assert_eq!(plan.code, Some(0), "{}", plan.report());

    // --prune removes a token the file does not name, and only with it.
    let (status, _) = f
        .admin_json(
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "by-hand", "scopeMap": "readers"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(f.run(&["plan", "-f", &exported]).code, Some(0), "unmanaged tokens are left alone");
    let pruning = f.run(&["plan", "-f", &exported, "--prune"]);
    assert!(pruning.stdout.contains("- delete token by-hand"), "{}", pruning.stdout);
    f.run(&["apply", "-f", &exported, "--prune"]).succeeded();
    assert_eq!(f.status_with("admin", ADMIN_PASSWORD, "/api/v1/tokens/by-hand").await, StatusCode::NOT_FOUND);
    assert!(f.works("ci-bot", &two).await);

    // The same without a file: a new expiry, the same password.
    let token = f
        .run(&[
            "token",
            "credential",
            "update",
            "--name",
            "ci-bot",
            "--password2",
            "--expiration",
            "2032-02-29",
        ])
        .succeeded();
    assert!(token.stdout.contains("2032-02-29T00:00:00"), "{}", token.stdout);
    assert!(f.works("ci-bot", &two).await, "password2 kept its value");
    let past = f.run(&[
        "token",
        "credential",
        "update",
        "--name",
        "ci-bot",
        "--password2",
        "--expiration",
        "2020-01-01",
    ]);
    assert!(past.failed().stderr.contains("in the past"));
    let plan = f.run(&["plan", "-f", &exported]);
    assert!(
        plan.stdout.contains("password2.expiry: 2032-02-29 00:00 UTC → "),
        "drift shows: {}",
        plan.stdout
    );
}

#[tokio::test]
async fn malformed_files_are_refused_with_their_line_and_column() {
    let f = Fixture::start();
    let cases = [
        ("[tokens.a]\nscope-map = \"readers\"\npasword1 = {}\n", "line 3, column 1", "unknown field `pasword1`"),
        ("[scope-maps.m.repositories]\n\"a\" = [\"content/reed\"]\n", "line 2", "content/reed"),
        ("[tokens.ci]\nscope-map = \"m\"\n[tokens.CI]\nscope-map = \"m\"\n", "line 3", "declared twice"),
        // Found by the server, placed in the file by the CLI.
        (
            "[scope-maps.teams]\ndescription = \"x\"\n\n[scope-maps.teams.repositories]\n\"samples/*/team\" = [\"content/read\"]\n",
            "line 5, column 1",
            "in the middle",
        ),
        ("[tokens.ci-bot]\nscope-map = \"no-such-map\"\n", "line 2, column 13", "no-such-map"),
    ];
    for (text, place, reason) in cases {
        let file = f.file("bad.toml", text);
        let refused = f.run(&["plan", "-f", &file]);
        assert_eq!(refused.code, Some(1), "{}", refused.report());
        assert!(refused.stderr.contains(&format!("bad.toml: {place}")), "{place}: {}", refused.report());
        assert!(refused.stderr.contains(reason), "{reason}: {}", refused.report());
    }
    let exported = f.export();
    assert!(
        !exported.contains("[scope-maps") && !exported.contains("[tokens"),
        "nothing was made: {exported}"
    );
}

#[tokio::test]
async fn a_refused_apply_changes_nothing_and_is_audited_once() {
    let f = Fixture::start();
    let base = f.file("base.toml", "[scope-maps.team-map]\nrepositories = { \"team/*\" = [\"content/read\"] }\n\n[tokens.t-token]\nscope-map = \"team-map\"\npassword1 = { version = 1 }\npassword2 = { version = 1 }\n");
    f.run(&["apply", "-f", &base, "--secrets-out", &f.path("t.json")]).succeeded();
    let old_one = password(&f.secrets("t.json"), "t-token", "password1").to_owned();

    // Three changes: a new scope map, T's password1 bumped, a new token U.
    let three = f.file(
        "three.toml",
        &(std::fs::read_to_string(&base).unwrap().replace("password1 = { version = 1 }", "password1 = { version = 2 }")
            + "\n[scope-maps.new-map]\nrepositories = { \"new/*\" = [\"content/read\"] }\n\n[tokens.u-token]\nscope-map = \"new-map\"\npassword1 = {}\n"),
    );
    let plan = f.run(&["plan", "-f", &three]);
    assert!(plan.stdout.contains("Plan: 2 to create, 1 to update, 0 to delete."), "{}", plan.stdout);
    let reviewed = revision(&plan.stdout);
    // Entries are written in batches: the first apply's last one, its
    // summary, marks where this test's entries start.
    let first_apply = f.audit_until(0, |entry| entry["action"] == "access.apply").await;
    let summary = first_apply.iter().find(|entry| entry["action"] == "access.apply").expect("audited");
    let last_before = summary["id"].as_i64().unwrap();

    // U's name is taken after the plan.
    let (status, _) = f
        .admin_json(
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "u-token", "scopeMap": "team-map"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = f.export();
    let refused = f
        .run(&[
            "apply",
            "-f",
            &three,
            "--expected-revision",
            &reviewed,
            "--secrets-out",
            &f.path("three.json"),
        ])
        .failed();
    assert!(refused.stderr.contains("changed since the plan"), "{}", refused.report());
    assert_eq!(f.export(), before, "byte for byte");
    assert!(f.works("t-token", &old_one).await, "T's old password1 still works");

    // The audit log holds the token made by hand, one refused apply and no
    // password generated by it.
    let entries = f.audit_until(last_before, |entry| entry["action"] == "access.apply").await;
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|entry| (entry["action"].as_str().unwrap(), entry["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("access.apply", "denied"), ("token.create", "success")], "{entries:#?}");
}

#[tokio::test]
async fn the_apply_endpoint_itself_guards_rotations_and_revisions() {
    let f = Fixture::start();
    let document = |one: &str, two: &str| {
        json!({"scopeMaps": {"team-map": {"repositories": [{"repository": "team/*", "actions": ["content/read"]}]}},
               "tokens": {"t-token": {"scopeMap": "team-map", "password1": {"version": one}, "password2": {"version": two}}}})
    };
    let revision =
        || async { f.admin_json(reqwest::Method::GET, "/api/v1/access", None).await.1["revision"].clone() };
    let apply = |body: Value| f.admin_json(reqwest::Method::POST, "/api/v1/access/apply", Some(body));

    let first = revision().await;
    let (status, created) = apply(json!({"document": document("1", "1"), "expectedRevision": first})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["secrets"].as_array().unwrap().len(), 2);
    assert_eq!(created["revision"], revision().await);

    let (status, problem) =
        apply(json!({"document": document("2", "2"), "expectedRevision": created["revision"]})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("ROTATION_REFUSED")),
        "{problem}"
    );
    let (status, problem) = apply(json!({"document": document("2", "1"), "expectedRevision": first})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("STALE_REVISION")),
        "{problem}"
    );
    let mut bad = document("2", "1");
    bad["scopeMaps"]["team-map"]["repositories"][0]["repository"] = json!("team/*/x");
    let (status, problem) = apply(json!({"document": bad, "expectedRevision": created["revision"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["pointer"], "/document/scopeMaps/team-map/repositories/0");
    let (status, _) = apply(json!({"document": document("2", "2"), "expectedRevision": created["revision"],
                                    "allowDowntime": true}))
    .await;
    assert_eq!(status, StatusCode::OK, "allowed, it goes through");
}

#[tokio::test]
async fn passwords_go_to_a_command_or_the_screen_when_asked() {
    let f = Fixture::start();
    let file = f.file("access.toml", FIRST);
    let store = f.path("vault");
    std::fs::create_dir(&store).unwrap();
    let exec =
        format!("cat > {store}/\"$PORTCULLIS_TOKEN.$PORTCULLIS_SLOT\" && test -n \"$PORTCULLIS_EXPIRY\"");
    let applied = f.run(&["apply", "-f", &file, "--secrets-exec", &exec]).succeeded();
    assert!(applied.stdout.contains("Handed ci-bot/password1 to --secrets-exec."), "{}", applied.stdout);
    let stored = std::fs::read_to_string(format!("{store}/ci-bot.password1")).unwrap();
    assert!(stored.starts_with("pct_") && !stored.ends_with('\n'), "exactly the password");
    assert!(f.works("ci-bot", &stored).await);

    let shown =
        f.run(&["apply", "-f", &f.file("access.toml", &with_versions(1, 2)), "--show-secrets"]).succeeded();
    let line = shown.stdout.lines().find(|line| line.starts_with("ci-bot password2: ")).expect("shown");
    assert!(f.works("ci-bot", line.trim_start_matches("ci-bot password2: ")).await);
}

/// A document big enough that applying it takes a while: `count` tokens,
/// each with both passwords, on one new scope map.
fn big_document(count: usize) -> String {
    let mut text =
        String::from("[scope-maps.bulk-map]\nrepositories = { \"bulk/*\" = [\"content/read\"] }\n");
    for index in 0..count {
        text.push_str(&format!(
            "\n[tokens.bulk-{index:05}]\nscope-map = \"bulk-map\"\npassword1 = {{ version = 1 }}\npassword2 = {{ version = 1 }}\n"
        ));
    }
    text
}

/// The CPU time a process has used (user + system), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

#[tokio::test]
async fn an_apply_cut_off_by_sigkill_leaves_the_state_before_it() {
    const TOKENS: usize = 4_000;
    // How much server CPU the whole apply takes, on a registry of its own.
    // The cut below is placed by the server's CPU time, not the clock, so
    // it lands inside the apply however busy the machine is.
    let (whole, whole_cpu) = {
        let measured = Fixture::start();
        let file = measured.file("bulk.toml", &big_document(TOKENS));
        let (started, cpu) = (Instant::now(), cpu_time(measured.server.pid()));
        measured.run(&["apply", "-f", &file, "--secrets-out", &measured.path("bulk.json")]).succeeded();
        (started.elapsed(), cpu_time(measured.server.pid()) - cpu)
    };

    let f = Fixture::start();
    let file = f.file("bulk.toml", &big_document(TOKENS));
    let before = f.export();
    let Fixture { mut server, cli, dir, .. } = f;
    let secrets = dir.path().join("cut.json");
    let mut command = cli.command(&["apply", "-f", &file, "--secrets-out", secrets.to_str().unwrap()]);
    command.env("PORTCULLIS_USERNAME", "admin").env("PORTCULLIS_PASSWORD", ADMIN_PASSWORD);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    // Half way through the server's work (the plan before the apply is the
    // smaller part).
    let start_cpu = cpu_time(server.pid());
    let mut apply = command.spawn().unwrap();
    let deadline = Instant::now() + whole * 20 + Duration::from_secs(60);
    while cpu_time(server.pid()) - start_cpu < whole_cpu / 2 {
        assert!(Instant::now() < deadline, "the server did not get half way in {:?}", whole * 20);
        assert!(
            apply.try_wait().unwrap().is_none(),
            "the apply ended before half its server CPU ({whole_cpu:?})"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let answered = apply.try_wait().unwrap().is_some();
    server.kill();
    let _ = apply.wait();
    assert!(!answered, "the apply ended before the kill ({whole:?}); the test did not cut it off");

    let restarted = TestServer::start(&dir.path().join("data"), Some(ADMIN_PASSWORD));
    let after = Cli { base: restarted.base.clone() }.admin(&["export"]).succeeded().stdout;
    let bulk = after.lines().filter(|line| line.starts_with("[tokens.bulk-")).count();
    assert!(bulk == 0 || bulk == TOKENS, "never half applied: {bulk} of {TOKENS} tokens");
    if bulk == 0 {
        assert_eq!(after.replace(&restarted.base, &cli.base), before, "exactly the state before the apply");
    }
    eprintln!(
        "killed after {:?} of server CPU of a {whole_cpu:?} ({whole:?}) apply: {bulk} of {TOKENS} tokens after the restart",
        whole_cpu / 2
    );
    assert!(!secrets.exists(), "no secrets file from an apply that did not answer");
}

#[tokio::test]
async fn identities_and_role_assignments_are_code_too() {
    let f = Fixture::start();
    // The new registry as a file: its administrator with the three
    // bootstrap assignments. Planned back with --prune: nothing to do.
    let exported = f.path("exported.toml");
    f.run(&["export", "-f", &exported]).succeeded();
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("[users.admin]") && text.contains("[[role-assignments]]"), "{text}");
    let plan = f.run(&["plan", "-f", &exported, "--prune"]);
    assert_eq!(plan.code, Some(0), "{}", plan.report());

    // A team: a service principal in a group that reads backend/* only.
    // (A new registry is in rbac-abac mode: conditions are honoured.)
    assert!(text.contains("role-assignment-mode = \"rbac-abac\""), "{text}");
    let team = text.clone()
        + r#"
[service-principals.ci-runner]
description = "CI"

[groups.backend-devs]
description = "Backend"
members = ["ci-runner"]

[[role-assignments]]
role = "Container Registry Repository Reader"
assignee = "backend-devs"
condition = "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'"
description = "backend readers"
"#;
    let team = f.file("team.toml", &team);
    let plan = f.run(&["plan", "-f", &team]);
    assert_eq!(plan.code, Some(2), "{}", plan.report());
    assert!(plan.stdout.contains("+ create service principal ci-runner"), "{}", plan.stdout);
    f.run(&["apply", "-f", &team]).succeeded();
    let check = |repository: &str| {
        let path = format!("/api/v1/check-access?assignee=ci-runner&repository={repository}");
        let f = &f;
        async move { f.admin_json(reqwest::Method::GET, &path, None).await }
    };
    let (status, backend) = check("backend/api").await;
    assert_eq!(status, StatusCode::OK, "{backend}");
    let read = |answer: &Value| {
        answer["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "content/read" && a["granted"] == true)
    };
    assert!(read(&backend), "{backend}");
    assert!(!read(&check("frontend/web").await.1), "the condition holds");
    assert_eq!(f.run(&["plan", "-f", &team, "--prune"]).code, Some(0));

    // The file without the administrator's Owner, pruned: refused.
    let orphaned =
        std::fs::read_to_string(&team).unwrap().replacen("role = \"Owner\"", "role = \"Reader\"", 1);
    let orphaned = f.file("orphaned.toml", &orphaned);
    let refused = f.run(&["apply", "-f", &orphaned, "--prune"]).failed();
    assert!(refused.stderr.contains("no enabled user holding Owner"), "{}", refused.report());
    // A typo in a condition is placed in the file.
    let typo = std::fs::read_to_string(&team)
        .unwrap()
        .replace("StringStartsWithIgnoreCase 'backend/'", "StringStartsWit 'backend/'");
    let refused = f.run(&["plan", "-f", &f.file("typo.toml", &typo)]).failed();
    assert!(refused.stderr.contains("typo.toml: line "), "{}", refused.report());
}

#[tokio::test]
async fn a_document_reaches_no_further_than_its_applier_may() {
    let f = Fixture::start();
    // Carol administers the configuration and identities (Contributor),
    // but may only read role assignments.
    let (status, _) = f
        .admin_json(
            reqwest::Method::POST,
            "/api/v1/users",
            Some(json!({"name": "carol", "password": "carols-long-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = f
        .admin_json(
            reqwest::Method::POST,
            "/api/v1/role-assignments",
            Some(json!({"role": "Contributor", "assignee": "carol"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let as_carol = |args: &[&str]| {
        let mut command = f.cli.command(args);
        command.env("PORTCULLIS_USERNAME", "carol").env("PORTCULLIS_PASSWORD", "carols-long-password");
        crate::command::execute(command, None)
    };
    let tokens = f.file("tokens.toml", FIRST);
    as_carol(&["apply", "-f", &tokens, "--secrets-out", &f.path("carol.json")]).succeeded();
    let grant = f.file("grant.toml", "[[role-assignments]]\nrole = \"Owner\"\nassignee = \"carol\"\n");
    let refused = as_carol(&["apply", "-f", &grant]).failed();
    assert!(refused.stderr.contains("role assignments"), "{}", refused.report());
    let (_, carol) =
        f.admin_json(reqwest::Method::GET, "/api/v1/role-assignments?assignee=carol", None).await;
    assert_eq!(carol.as_array().unwrap().len(), 1, "still only Contributor: {carol}");
    // Reading them is hers: the export works.
    as_carol(&["export"]).succeeded();
}
