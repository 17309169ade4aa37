//! Upgrades keep working: this release starts on a data directory written
//! by the previous one (tests/fixtures/upgrade-v0.1, made by
//! tests/fixtures/make-upgrade-fixture.sh with the previous binary) and
//! everything in it is still there and behaves as before: scope maps,
//! tokens and their passwords, what each token may and may not do, the
//! audit log, images, and a tag lock. Then new scope maps and tokens work
//! beside the old ones.
//!
//! Every expected value comes from the script (what it created, with which
//! bytes), never from the server's answers; the passwords it generated are
//! in the fixture's passwords.json. Only HTTP is used.
//!
//! SQLite only, on either test database: the earlier release had no other
//! database, so its data directory is a SQLite file (testkit says so when
//! `PORTCULLIS_TEST_DATABASE=postgres`).

use std::path::Path;

use chrono::{DateTime, Utc};
use reqwest::{header, Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use crate::{
    locks::status_and_code,
    registry::{sha256, OCI_MANIFEST},
    testkit::{TestServer, ADMIN_PASSWORD},
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade-v0.1");

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";

// ---------------------------------------------------------------------------
// The script's content, byte for byte (its `put` lines).

const WEB_CONFIG: &[u8] =
    br#"{"architecture":"amd64","os":"linux","config":{"Cmd":["/web"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;
const WEB_LAYER1: &[u8] = b"team-a/web layer one\n";
const WEB_LAYER2: &[u8] = b"team-a/web layer two\n";
const WEB_V2_CONFIG: &[u8] = br#"{"architecture":"arm64","os":"linux","config":{"Cmd":["/web","--v2"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;
const WEB_V2_LAYER: &[u8] = b"team-a/web v2 layer, pushed by ci-bot\n";
const APP_CONFIG: &[u8] =
    br#"{"architecture":"amd64","os":"linux","config":{"Cmd":["/app"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;
const APP_LAYER: &[u8] = b"team-b/app layer\n";
const APP_OTHER_LAYER: &[u8] = b"team-b/app layer that must not replace 1.0\n";

/// The script's `manifest` function: compact, keys in this order.
fn manifest(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    let layers: Vec<String> = layers
        .iter()
        .map(|layer| {
            format!(r#"{{"mediaType":"{LAYER}","digest":"{}","size":{}}}"#, sha256(layer), layer.len())
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{CONFIG}","digest":"{}","size":{}}},"layers":[{}]}}"#,
        sha256(config),
        config.len(),
        layers.join(",")
    )
    .into_bytes()
}

/// (repository, tags, config, layers) of every image the script pushed.
fn images() -> Vec<(&'static str, Vec<&'static str>, &'static [u8], Vec<&'static [u8]>)> {
    vec![
        ("team-a/web", vec!["latest", "v1"], WEB_CONFIG, vec![WEB_LAYER1, WEB_LAYER2]),
        ("team-a/web", vec!["v2"], WEB_V2_CONFIG, vec![WEB_V2_LAYER]),
        ("team-b/app", vec!["1.0", "1.1"], APP_CONFIG, vec![APP_LAYER]),
    ]
}

// ---------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

struct Upgraded {
    server: TestServer,
    client: Client,
    passwords: Value,
    _data: tempfile::TempDir,
}

impl Upgraded {
    fn start() -> Self {
        let fixture = Path::new(FIXTURE);
        let passwords: Value =
            serde_json::from_slice(&std::fs::read(fixture.join("passwords.json")).unwrap()).unwrap();
        let data = tempfile::tempdir().unwrap();
        for file in ["portcullis.db", "token-signing.key", "token-password.key"] {
            std::fs::copy(fixture.join(file), data.path().join(file)).unwrap();
        }
        copy_dir(&fixture.join("blobs"), &data.path().join("blobs"));
        let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { server, client, passwords, _data: data }
    }

    fn password(&self, token: &str, slot: &str) -> String {
        self.passwords["tokens"][token][slot]
            .as_str()
            .unwrap_or_else(|| panic!("passwords.json has {token}.{slot}"))
            .to_owned()
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.server.url(path)).basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    fn basic(&self, method: Method, path: &str, user: &str, password: &str) -> RequestBuilder {
        self.client.request(method, self.server.url(path)).basic_auth(user, Some(password))
    }

    async fn admin_json(&self, path: &str) -> Value {
        json_of(self.admin(Method::GET, path).send().await.unwrap(), StatusCode::OK).await
    }

    /// `/oauth2/token` with Basic credentials: the status, and the access
    /// token when it was issued.
    async fn login(&self, user: &str, password: &str, scope: &str) -> (StatusCode, Option<String>) {
        let response = self
            .client
            .get(self.server.url("/oauth2/token"))
            .query(&[("service", self.server.authority())])
            .query(&if scope.is_empty() { vec![] } else { vec![("scope", scope)] })
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body["token"].as_str().map(str::to_owned))
    }

    async fn bearer_for(&self, user: &str, password: &str, scope: &str) -> String {
        match self.login(user, password, scope).await {
            (StatusCode::OK, Some(token)) => token,
            other => panic!("{user} could not log in for {scope}: {other:?}"),
        }
    }

    fn bearer(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client.request(method, self.server.url(path)).bearer_auth(token)
    }
}

async fn json_of(response: Response, expected: StatusCode) -> Value {
    let status = response.status();
    let url = response.url().clone();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{url}: not JSON ({error}): {text}"))
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("a time, not {value}")).parse().unwrap()
}

/// A blob upload in one request.
fn upload(request: RequestBuilder, content: &[u8]) -> RequestBuilder {
    request.header(header::CONTENT_TYPE, "application/octet-stream").body(content.to_vec())
}

fn upload_path(repository: &str, content: &[u8]) -> String {
    format!("/v2/{repository}/blobs/uploads/?digest={}", sha256(content))
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_registry_of_the_previous_release_keeps_working() {
    let registry = Upgraded::start();
    let made_at = time(&registry.passwords["madeAt"]);

    // --- The administrator still signs in (Basic on /api/v1 and /v2). The
    // audit log as the previous release left it, before this test adds to
    // it: newest first.
    let before = registry.admin_json("/api/v1/audit?limit=1000").await;
    let old_entries = before["items"].as_array().unwrap().clone();
    assert_eq!(before["next"], Value::Null, "fewer than 1000 entries");
    let old_max_id = old_entries.iter().map(|e| e["id"].as_i64().unwrap()).max().unwrap();
    let response = registry.admin(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let wrong = registry.basic(Method::GET, "/v2/", "admin", "not-the-password").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // --- Identities (issue 11): the upgraded registry is in rbac mode, and
    // its administrator is a user holding Owner, an unconditioned
    // Repository Contributor and the Catalog Lister; nothing else is
    // assigned.
    let settings = registry.admin_json("/api/v1/registry").await;
    assert_eq!(settings, json!({"roleAssignmentMode": "rbac"}));
    let assignments = registry.admin_json("/api/v1/role-assignments").await;
    let mut held: Vec<(&str, &str, &Value)> = assignments
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["assignee"]["name"].as_str().unwrap(), a["role"].as_str().unwrap(), &a["condition"]))
        .collect();
    held.sort_by_key(|(name, role, _)| (*name, *role));
    assert_eq!(
        held,
        [
            ("admin", "Container Registry Repository Catalog Lister", &Value::Null),
            ("admin", "Container Registry Repository Contributor", &Value::Null),
            ("admin", "Owner", &Value::Null),
        ],
        "{assignments}"
    );
    let users = registry.admin_json("/api/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["name"], "admin");
    assert_eq!(users[0]["enabled"], true);

    // --- Scope maps: the system ones, then ci-push and app-read; the
    // deleted scratch-map is gone.
    let ci_push_rules = json!([
        {"repository": "shared/base", "actions": ["content/read"]},
        {"repository": "team-a/*", "actions": ["content/read", "content/write", "metadata/read", "metadata/write"]},
    ]);
    let app_read_rules = json!([{"repository": "team-b/app", "actions": ["content/read"]}]);
    let maps = registry.admin_json("/api/v1/scope-maps").await;
    let names: Vec<&str> = maps.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "_repositories_admin",
            "_repositories_pull",
            "_repositories_pull_metadata_read",
            "_repositories_push",
            "_repositories_push_metadata_write",
            "app-read",
            "ci-push",
        ],
        "{maps}"
    );
    for (name, description, rules, actions, token_count) in [
        (
            "ci-push",
            "CI pushes the team-a images",
            &ci_push_rules,
            json!([
                "repositories/shared/base/content/read",
                "repositories/team-a/*/content/read",
                "repositories/team-a/*/content/write",
                "repositories/team-a/*/metadata/read",
                "repositories/team-a/*/metadata/write",
            ]),
            2,
        ),
        (
            "app-read",
            "Read-only access to team-b/app",
            &app_read_rules,
            json!(["repositories/team-b/app/content/read"]),
            1,
        ),
    ] {
        let listed = maps.as_array().unwrap().iter().find(|m| m["name"] == name).unwrap();
        let shown = registry.admin_json(&format!("/api/v1/scope-maps/{name}")).await;
        for map in [listed, &shown] {
            assert_eq!(map["type"], "UserDefined", "{map}");
            assert_eq!(map["description"], description, "{map}");
            assert_eq!(&map["repositories"], rules, "{map}");
            assert_eq!(map["actions"], actions, "{map}");
            assert_eq!(map["tokenCount"], token_count, "{map}");
            assert!(time(&map["creationDate"]) <= made_at, "{map}");
        }
    }
    let pull_map = registry.admin_json("/api/v1/scope-maps/_repositories_pull").await;
    assert_eq!(pull_map["type"], "SystemDefined", "{pull_map}");
    assert_eq!(pull_map["repositories"], json!([{"repository": "*", "actions": ["content/read"]}]));
    assert_eq!(pull_map["tokenCount"], 1, "{pull_map}");
    let gone = registry.admin(Method::GET, "/api/v1/scope-maps/scratch-map").send().await.unwrap();
    assert_eq!(status_and_code(gone).await, (StatusCode::NOT_FOUND, "NOT_FOUND".into()));

    // --- Tokens: status, scope map, password slots and expiry.
    let far_expiry: DateTime<Utc> = "2046-06-30T12:00:00Z".parse().unwrap();
    let tokens = registry.admin_json("/api/v1/tokens").await;
    let names: Vec<&str> =
        tokens["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["app-reader", "ci-bot", "old-bot", "puller"], "{tokens}");
    assert_eq!(tokens["next"], Value::Null);
    for (name, status, scope_map, slots, expiries) in [
        ("app-reader", "enabled", "app-read", vec!["password1", "password2"], vec![Some(far_expiry), None]),
        ("ci-bot", "enabled", "ci-push", vec!["password1", "password2"], vec![None, None]),
        ("old-bot", "disabled", "ci-push", vec!["password1", "password2"], vec![None, None]),
        ("puller", "enabled", "_repositories_pull", vec!["password1"], vec![None]),
    ] {
        let listed = tokens["items"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap();
        let shown = registry.admin_json(&format!("/api/v1/tokens/{name}")).await;
        for token in [listed, &shown] {
            assert_eq!(token["status"], status, "{token}");
            assert_eq!(token["scopeMap"], scope_map, "{token}");
            assert!(time(&token["creationDate"]) <= made_at, "{token}");
            assert!(time(&token["lastUsed"]) <= made_at, "every token logged in before: {token}");
            assert_eq!(token["credentials"]["username"], name, "{token}");
            let passwords = token["credentials"]["passwords"].as_array().unwrap();
            let slot_names: Vec<&str> = passwords.iter().map(|p| p["name"].as_str().unwrap()).collect();
            assert_eq!(slot_names, slots, "{token}");
            for (password, expiry) in passwords.iter().zip(&expiries) {
                assert_eq!(
                    password["expiry"].as_str().map(|_| time(&password["expiry"])),
                    *expiry,
                    "{token}"
                );
                assert!(time(&password["creationTime"]) <= made_at, "{token}");
                assert!(password.get("value").is_none(), "{token}");
            }
        }
    }
    let gone = registry.admin(Method::GET, "/api/v1/tokens/scratch-token").send().await.unwrap();
    assert_eq!(status_and_code(gone).await, (StatusCode::NOT_FOUND, "NOT_FOUND".into()));

    // --- Every recorded password still logs in; the replaced, deleted and
    // disabled ones do not.
    for (token, slot) in [
        ("ci-bot", "password1"),
        ("ci-bot", "password2"),
        ("app-reader", "password1"),
        ("app-reader", "password2"),
        ("puller", "password1"),
    ] {
        let (status, access) = registry.login(token, &registry.password(token, slot), "").await;
        assert_eq!(status, StatusCode::OK, "{token} {slot}");
        assert!(access.is_some(), "{token} {slot}");
    }
    for (token, slot) in [
        ("old-bot", "password1"),
        ("old-bot", "password2"),
        ("app-reader", "replacedPassword1"),
        ("puller", "deletedPassword2"),
    ] {
        let (status, _) = registry.login(token, &registry.password(token, slot), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token} {slot}");
    }

    // --- Every tag, manifest and blob pulls with the same digest.
    let catalog = registry.admin_json("/v2/_catalog").await;
    assert_eq!(catalog["repositories"], json!(["team-a/web", "team-b/app"]));
    for (repository, tags) in
        [("team-a/web", json!(["latest", "v1", "v2"])), ("team-b/app", json!(["1.0", "1.1"]))]
    {
        let listed = registry.admin_json(&format!("/v2/{repository}/tags/list")).await;
        assert_eq!(listed["tags"], tags, "{repository}");
    }
    for (repository, tags, config, layers) in images() {
        let manifest = manifest(config, &layers);
        let digest = sha256(&manifest);
        let references = tags.iter().map(|t| t.to_string()).chain([digest.clone()]);
        for reference in references {
            let response = registry
                .admin(Method::GET, &format!("/v2/{repository}/manifests/{reference}"))
                .header(header::ACCEPT, OCI_MANIFEST)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{repository}:{reference}");
            let header = response.headers()["docker-content-digest"].to_str().unwrap().to_owned();
            assert_eq!(header, digest, "{repository}:{reference}");
            assert_eq!(response.bytes().await.unwrap().as_ref(), manifest, "{repository}:{reference}");
        }
        for blob in std::iter::once(config).chain(layers.iter().copied()) {
            let path = format!("/v2/{repository}/blobs/{}", sha256(blob));
            let response = registry.admin(Method::GET, &path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.bytes().await.unwrap().as_ref(), blob, "{path}");
        }
    }
    // The layer pushed for the refused overwrite is still linked.
    let path = format!("/v2/team-b/app/blobs/{}", sha256(APP_OTHER_LAYER));
    let response = registry.admin(Method::GET, &path).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), APP_OTHER_LAYER);

    // --- What each token may do, and may not.
    let web_v1 = sha256(&manifest(WEB_CONFIG, &[WEB_LAYER1, WEB_LAYER2]));
    let app_1_0 = sha256(&manifest(APP_CONFIG, &[APP_LAYER]));
    let ci_bot = registry.password("ci-bot", "password2");
    let (app_reader1, app_reader2) =
        (registry.password("app-reader", "password1"), registry.password("app-reader", "password2"));
    let puller = registry.password("puller", "password1");

    // ci-bot (Basic): pull and push under team-a/*, pull shared/base,
    // nothing on team-b/app.
    let get = |user: &str, password: &str, path: &str| registry.basic(Method::GET, path, user, password);
    let status = |request: RequestBuilder| async move { request.send().await.unwrap().status() };
    assert_eq!(status(get("ci-bot", &ci_bot, "/v2/team-a/web/manifests/v1")).await, StatusCode::OK);
    let new_blob = b"pushed by ci-bot after the upgrade";
    let push = registry.basic(Method::POST, &upload_path("team-a/tools", new_blob), "ci-bot", &ci_bot);
    assert_eq!(status(upload(push, new_blob)).await, StatusCode::CREATED);
    let push = registry.basic(Method::POST, &upload_path("team-b/app", new_blob), "ci-bot", &ci_bot);
    assert_eq!(
        status_and_code(upload(push, new_blob).send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into())
    );
    let pull = get("ci-bot", &ci_bot, "/v2/team-b/app/manifests/1.0");
    assert_eq!(status_and_code(pull.send().await.unwrap()).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let missing = get("ci-bot", &ci_bot, "/v2/shared/base/manifests/latest");
    assert_eq!(status(missing).await, StatusCode::NOT_FOUND, "allowed to look, nothing there");

    // app-reader (bearer from password1): pull team-b/app, no push; the
    // token endpoint grants only what the scope map allows.
    let token = registry.bearer_for("app-reader", &app_reader1, "repository:team-b/app:pull,push").await;
    let pull = registry
        .bearer(Method::GET, "/v2/team-b/app/manifests/1.0", &token)
        .header(header::ACCEPT, OCI_MANIFEST);
    let response = pull.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["docker-content-digest"], app_1_0.as_str());
    let push = registry.bearer(Method::POST, &upload_path("team-b/app", new_blob), &token);
    assert_eq!(
        status_and_code(upload(push, new_blob).send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into())
    );
    let push = registry.basic(Method::POST, &upload_path("team-b/app", new_blob), "app-reader", &app_reader2);
    assert_eq!(
        status_and_code(upload(push, new_blob).send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into())
    );
    let other = registry.bearer_for("app-reader", &app_reader2, "repository:team-a/web:pull").await;
    let pull = registry.bearer(Method::GET, "/v2/team-a/web/manifests/v1", &other);
    assert_eq!(
        status_and_code(pull.send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into()),
        "nothing allowed on team-a/web"
    );

    // puller (Basic, _repositories_pull): pulls everything, pushes and
    // deletes nothing.
    for path in ["/v2/team-a/web/manifests/v2", "/v2/team-b/app/manifests/1.1"] {
        assert_eq!(status(get("puller", &puller, path)).await, StatusCode::OK, "{path}");
    }
    let push = registry.basic(Method::POST, &upload_path("team-a/web", new_blob), "puller", &puller);
    assert_eq!(
        status_and_code(upload(push, new_blob).send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into())
    );
    let delete =
        registry.basic(Method::DELETE, &format!("/v2/team-a/web/manifests/{web_v1}"), "puller", &puller);
    assert_eq!(status_and_code(delete.send().await.unwrap()).await, (StatusCode::FORBIDDEN, "DENIED".into()));

    // old-bot is disabled: refused on /v2 too.
    let old_bot = registry.password("old-bot", "password1");
    assert_eq!(
        status(get("old-bot", &old_bot, "/v2/team-a/web/manifests/v1")).await,
        StatusCode::UNAUTHORIZED
    );

    // --- The tag lock holds: 1.0 cannot be overwritten nor untagged, 1.1
    // (same manifest, unlocked) can be.
    let tag = registry.admin_json("/api/v1/repositories/team-b/app/_tags/1.0").await;
    assert_eq!(
        tag["changeableAttributes"],
        json!({"deleteEnabled": true, "writeEnabled": false, "readEnabled": true, "listEnabled": true}),
        "{tag}"
    );
    assert_eq!(tag["digest"], app_1_0.as_str(), "{tag}");
    let unlocked = registry.admin_json("/api/v1/repositories/team-b/app/_tags/1.1").await;
    assert_eq!(unlocked["changeableAttributes"]["writeEnabled"], true, "{unlocked}");
    let other_manifest = manifest(APP_CONFIG, &[APP_OTHER_LAYER]);
    let overwrite = registry
        .admin(Method::PUT, "/v2/team-b/app/manifests/1.0")
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(other_manifest.clone());
    assert_eq!(
        status_and_code(overwrite.send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into())
    );
    let untag = registry.admin(Method::DELETE, "/api/v1/repositories/team-b/app/_tags/1.0");
    assert_eq!(status_and_code(untag.send().await.unwrap()).await, (StatusCode::CONFLICT, "LOCKED".into()));
    let moved = registry
        .admin(Method::PUT, "/v2/team-b/app/manifests/1.1")
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(other_manifest.clone());
    assert_eq!(status(moved).await, StatusCode::CREATED);
    let still =
        registry.admin(Method::GET, "/v2/team-b/app/manifests/1.0").header(header::ACCEPT, OCI_MANIFEST);
    let response = still.send().await.unwrap();
    assert_eq!(response.headers()["docker-content-digest"], app_1_0.as_str());

    // --- The audit entries the previous release wrote are listed, as they
    // were, before what this test added.
    let audit = registry.admin_json("/api/v1/audit?limit=1000").await;
    let entries = audit["items"].as_array().unwrap();
    let old_ids: Vec<i64> = old_entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let listed_old: Vec<&Value> =
        entries.iter().filter(|e| e["id"].as_i64().unwrap() <= old_max_id).collect();
    assert_eq!(listed_old.len(), old_entries.len());
    for (listed, old) in listed_old.iter().zip(&old_entries) {
        assert_eq!(*listed, old);
    }
    assert!(old_ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first: {old_ids:?}");
    let has = |caller: &str, token: Value, repository: Value, action: &str, outcome: &str, detail: Value| {
        let found = old_entries.iter().any(|e| {
            e["caller"] == caller
                && e["token"] == token
                && e["repository"] == repository
                && e["action"] == action
                && e["outcome"] == outcome
                && (detail.is_null() || e["detail"] == detail)
                && time(&e["time"]) <= made_at
        });
        assert!(
            found,
            "no old entry {caller} {token} {repository} {action} {outcome} {detail}: {old_entries:#?}"
        );
    };
    let null = Value::Null;
    has("admin:admin", null.clone(), null.clone(), "scopeMap.create", "success", json!("scope map ci-push"));
    has("admin:admin", null.clone(), null.clone(), "scopeMap.create", "success", json!("scope map app-read"));
    has(
        "admin:admin",
        null.clone(),
        null.clone(),
        "scopeMap.delete",
        "success",
        json!("scope map scratch-map"),
    );
    for token in ["ci-bot", "app-reader", "puller", "old-bot", "scratch-token"] {
        has("admin:admin", json!(token), null.clone(), "token.create", "success", null.clone());
    }
    has("admin:admin", json!("scratch-token"), null.clone(), "token.delete", "success", null.clone());
    has(
        "admin:admin",
        json!("app-reader"),
        null.clone(),
        "token.credential.generate",
        "success",
        null.clone(),
    );
    has("admin:admin", json!("puller"), null.clone(), "token.credential.delete", "success", null.clone());
    has("admin:admin", json!("old-bot"), null.clone(), "token.update", "success", null.clone());
    has("admin:admin", null.clone(), json!("team-b/app"), "repository.update", "success", null.clone());
    // Logins, successful (the slot in the detail) and failed (the reason),
    // and refused pushes.
    for (token, slot) in [
        ("ci-bot", "password1"),
        ("ci-bot", "password2"),
        ("app-reader", "password1"),
        ("app-reader", "password2"),
        ("puller", "password1"),
        ("old-bot", "password1"),
    ] {
        has(&format!("token:{token}"), json!(token), null.clone(), "login", "success", json!(slot));
    }
    for (token, reason) in
        [("ci-bot", "wrong password"), ("app-reader", "wrong password"), ("old-bot", "token disabled")]
    {
        has(
            &format!("unauthenticated:{token}"),
            json!(token),
            null.clone(),
            "login",
            "failure",
            json!(reason),
        );
    }
    has(
        "token:app-reader",
        json!("app-reader"),
        json!("team-b/app"),
        "content/write",
        "denied",
        null.clone(),
    );
    has("token:puller", json!("puller"), json!("team-a/web"), "content/write", "denied", null.clone());
    // The ?token= filter finds old entries too.
    let filtered = registry.admin_json("/api/v1/audit?token=scratch-token&limit=1000").await;
    let actions: Vec<&str> =
        filtered["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["token.delete", "token.create"], "{filtered}");

    // --- New scope maps and tokens beside the old ones.
    let created = registry
        .admin(Method::POST, "/api/v1/scope-maps")
        .json(&json!({
            "name": "after-upgrade",
            "description": "Created by the new release",
            "repositories": [{"repository": "team-c/*", "actions": ["content/read", "content/write"]}],
        }))
        .send()
        .await
        .unwrap();
    let created = json_of(created, StatusCode::CREATED).await;
    assert_eq!(created["tokenCount"], 0, "{created}");
    let created = registry
        .admin(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "new-bot", "scopeMap": "after-upgrade"}))
        .send()
        .await
        .unwrap();
    let created = json_of(created, StatusCode::CREATED).await;
    assert_eq!(created["status"], "enabled", "{created}");
    let new_password = created["credentials"]["passwords"][0]["value"].as_str().unwrap().to_owned();
    // A token and scope map named like the deleted ones are new, with their
    // own rules.
    let recreated = registry
        .admin(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "scratch-token", "repositories": [{"repository": "team-d/x", "actions": ["content/write"]}]}))
        .send()
        .await
        .unwrap();
    let recreated = json_of(recreated, StatusCode::CREATED).await;
    assert_eq!(recreated["scopeMap"], "scratch-token-scope-map", "{recreated}");
    let scratch_password = recreated["credentials"]["passwords"][1]["value"].as_str().unwrap().to_owned();

    let token = registry.bearer_for("new-bot", &new_password, "repository:team-c/fresh:pull,push").await;
    let push = registry.bearer(Method::POST, &upload_path("team-c/fresh", new_blob), &token);
    assert_eq!(status(upload(push, new_blob)).await, StatusCode::CREATED);
    let pull = registry.bearer(Method::GET, &format!("/v2/team-c/fresh/blobs/{}", sha256(new_blob)), &token);
    assert_eq!(pull.send().await.unwrap().bytes().await.unwrap().as_ref(), new_blob);
    let refused = registry.basic(Method::GET, "/v2/team-a/web/manifests/v1", "new-bot", &new_password);
    assert_eq!(
        status_and_code(refused.send().await.unwrap()).await,
        (StatusCode::FORBIDDEN, "DENIED".into())
    );
    let push =
        registry.basic(Method::POST, &upload_path("team-d/x", new_blob), "scratch-token", &scratch_password);
    assert_eq!(status(upload(push, new_blob)).await, StatusCode::CREATED);
    let read =
        registry.basic(Method::GET, "/v2/team-d/x/manifests/latest", "scratch-token", &scratch_password);
    assert_eq!(status(read).await, StatusCode::FORBIDDEN, "only content/write");

    // An old scope map and an old token can still be changed, and the
    // change counts at once.
    let patched = registry
        .admin(Method::PATCH, "/api/v1/scope-maps/app-read")
        .json(&json!({"addRepositories": [{"repository": "team-b/app", "actions": ["content/write"]}]}))
        .send()
        .await
        .unwrap();
    let patched = json_of(patched, StatusCode::OK).await;
    assert_eq!(
        patched["repositories"],
        json!([{"repository": "team-b/app", "actions": ["content/read", "content/write"]}])
    );
    let push = registry.basic(Method::POST, &upload_path("team-b/app", new_blob), "app-reader", &app_reader2);
    assert_eq!(status(upload(push, new_blob)).await, StatusCode::CREATED);
    let enabled = registry
        .admin(Method::PATCH, "/api/v1/tokens/old-bot")
        .json(&json!({"status": "enabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(enabled, StatusCode::OK).await["status"], "enabled");
    assert_eq!(status(get("old-bot", &old_bot, "/v2/team-a/web/manifests/v1")).await, StatusCode::OK);

    // Listed after the old ones: tokens by name, scope maps by name, the
    // new audit entries above every old one.
    let tokens = registry.admin_json("/api/v1/tokens").await;
    let names: Vec<&str> =
        tokens["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["app-reader", "ci-bot", "new-bot", "old-bot", "puller", "scratch-token"]);
    let page = registry.admin_json("/api/v1/tokens?limit=2&after=ci-bot").await;
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["new-bot", "old-bot"], "{page}");
    let maps = registry.admin_json("/api/v1/scope-maps").await;
    let names: Vec<&str> = maps.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(&names[5..], ["after-upgrade", "app-read", "ci-push", "scratch-token-scope-map"], "{maps}");
    // (The audit log is written in batches: wait for the entry.)
    let mut creation = None;
    for _ in 0..100 {
        let audit = registry.admin_json("/api/v1/audit?limit=1000").await;
        let newest = &audit["items"][0];
        assert!(newest["id"].as_i64().unwrap() > old_max_id, "{newest}");
        creation = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "token.create" && e["token"] == "new-bot")
            .cloned();
        if creation.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let creation = creation.expect("the new token's creation is audited");
    assert!(creation["id"].as_i64().unwrap() > old_max_id, "{creation}");
    assert!(time(&creation["time"]) > made_at, "{creation}");
}
