//! Repository-scoped tokens against the real server: every action, every
//! rule form (exact, `prefix/*`, `*`), every data-plane endpoint, both ways
//! of authenticating (Basic on `/v2`, bearer from `/oauth2/token`); refused
//! credentials that all look alike; revocation and scope-map edits that
//! count from the very next request.
//!
//! The expected answers are derived here from SPEC §1 (the action table and
//! the wildcard rules), not from the server's own `requirement` table, so a
//! drift between the two shows up as a mismatch.

use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use crate::registry::{sha256, Registry, OCI_MANIFEST};

// ----- the model (SPEC §1) -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    ContentRead,
    ContentWrite,
    ContentDelete,
    MetadataRead,
    MetadataWrite,
}

const ACTIONS: [Act; 5] =
    [Act::ContentRead, Act::ContentWrite, Act::ContentDelete, Act::MetadataRead, Act::MetadataWrite];

impl Act {
    fn name(self) -> &'static str {
        match self {
            Act::ContentRead => "content/read",
            Act::ContentWrite => "content/write",
            Act::ContentDelete => "content/delete",
            Act::MetadataRead => "metadata/read",
            Act::MetadataWrite => "metadata/write",
        }
    }

    /// For token names.
    fn short(self) -> &'static str {
        match self {
            Act::ContentRead => "cread",
            Act::ContentWrite => "cwrite",
            Act::ContentDelete => "cdelete",
            Act::MetadataRead => "mread",
            Act::MetadataWrite => "mwrite",
        }
    }
}

/// SPEC §1: an exact name, a prefix wildcard ending in `/*` (matching
/// names below the prefix, never the prefix itself nor a longer sibling
/// such as `prefix-infra/x`), or the root wildcard `*`.
fn pattern_matches(pattern: &str, repository: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(prefix) => repository
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty()),
        None => pattern == repository,
    }
}

/// The data-plane operations the matrix performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    GetManifestByTag,
    HeadManifestByTag,
    GetManifestByDigest,
    HeadManifestByDigest,
    GetBlob,
    HeadBlob,
    StartUpload,
    PatchUpload,
    GetUploadStatus,
    FinishUpload,
    CancelUpload,
    PutManifest,
    DeleteManifest,
    DeleteBlob,
    ListTags,
    Referrers,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::GetManifestByTag => "GET manifest by tag",
            Op::HeadManifestByTag => "HEAD manifest by tag",
            Op::GetManifestByDigest => "GET manifest by digest",
            Op::HeadManifestByDigest => "HEAD manifest by digest",
            Op::GetBlob => "GET blob",
            Op::HeadBlob => "HEAD blob",
            Op::StartUpload => "POST upload",
            Op::PatchUpload => "PATCH upload",
            Op::GetUploadStatus => "GET upload",
            Op::FinishUpload => "PUT upload",
            Op::CancelUpload => "DELETE upload",
            Op::PutManifest => "PUT manifest",
            Op::DeleteManifest => "DELETE manifest",
            Op::DeleteBlob => "DELETE blob",
            Op::ListTags => "GET tags/list",
            Op::Referrers => "GET referrers",
        }
    }

    /// The SPEC §1 action table, row by row:
    /// - content/read: "GET/HEAD manifests and blobs";
    /// - content/write: "start/patch/finish blob uploads, ..., PUT manifests
    ///   and tags" (an upload's status and its cancellation belong to the
    ///   upload);
    /// - content/delete: "DELETE manifests, tags, blobs";
    /// - metadata/read: "tags list, ..., referrers".
    fn needs(self) -> Act {
        match self {
            Op::GetManifestByTag
            | Op::HeadManifestByTag
            | Op::GetManifestByDigest
            | Op::HeadManifestByDigest
            | Op::GetBlob
            | Op::HeadBlob => Act::ContentRead,
            Op::StartUpload
            | Op::PatchUpload
            | Op::GetUploadStatus
            | Op::FinishUpload
            | Op::CancelUpload
            | Op::PutManifest => Act::ContentWrite,
            Op::DeleteManifest | Op::DeleteBlob => Act::ContentDelete,
            Op::ListTags | Op::Referrers => Act::MetadataRead,
        }
    }

    /// The OCI distribution spec's success status of the operation.
    fn success(self) -> StatusCode {
        match self {
            Op::GetManifestByTag
            | Op::HeadManifestByTag
            | Op::GetManifestByDigest
            | Op::HeadManifestByDigest
            | Op::GetBlob
            | Op::HeadBlob
            | Op::ListTags
            | Op::Referrers => StatusCode::OK,
            Op::StartUpload | Op::PatchUpload | Op::DeleteManifest | Op::DeleteBlob => StatusCode::ACCEPTED,
            Op::GetUploadStatus | Op::CancelUpload => StatusCode::NO_CONTENT,
            Op::FinishUpload | Op::PutManifest => StatusCode::CREATED,
        }
    }

    fn is_head(self) -> bool {
        matches!(self, Op::HeadManifestByTag | Op::HeadManifestByDigest | Op::HeadBlob)
    }
}

// ----- observing answers -----

/// What the server answered, as far as the matrix cares.
struct Seen {
    status: StatusCode,
    code: Option<String>,
    challenge: String,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status.as_u16())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if !self.challenge.is_empty() {
            write!(f, " [{}]", self.challenge)?;
        }
        Ok(())
    }
}

async fn observe(response: Response) -> Seen {
    let status = response.status();
    let challenge = header_of(&response, "www-authenticate").to_owned();
    let body = response.bytes().await.unwrap_or_default();
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body["errors"][0]["code"].as_str().map(str::to_owned));
    Seen { status, code, challenge }
}

fn header_of<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// How a request authenticates.
#[derive(Clone)]
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

impl Auth {
    fn kind(&self) -> &'static str {
        match self {
            Auth::Basic { .. } => "basic",
            Auth::Bearer(_) => "bearer",
        }
    }

    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        }
    }
}

fn send(registry: &Registry, auth: &Auth, method: Method, path: &str) -> RequestBuilder {
    auth.apply(registry.client.request(method, registry.server.url(path)))
}

// ----- management API helpers -----

/// Creates a token with the given rules; returns (password1, password2).
pub async fn create_token(registry: &Registry, name: &str, rules: Value) -> (String, String) {
    let response = registry
        .request(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": name, "repositories": rules}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "create token {name}");
    let body: Value = response.json().await.unwrap();
    let passwords = &body["credentials"]["passwords"];
    assert_eq!(passwords[0]["name"], "password1", "{body}");
    assert_eq!(passwords[1]["name"], "password2", "{body}");
    let value = |i: usize| passwords[i]["value"].as_str().expect("password value").to_owned();
    (value(0), value(1))
}

/// A bearer token from `GET /oauth2/token` with HTTP Basic, asking for
/// `scopes` (each a token-spec scope).
async fn bearer_token(registry: &Registry, user: &str, password: &str, scopes: &[String]) -> String {
    let mut query = vec![("service".to_owned(), registry.server.authority().to_owned())];
    query.extend(scopes.iter().map(|scope| ("scope".to_owned(), scope.clone())));
    let response = registry
        .client
        .get(registry.server.url("/oauth2/token"))
        .query(&query)
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "token endpoint for {user}");
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().expect("token").to_owned()
}

fn all_actions_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push,delete,metadata_read,metadata_write")
}

async fn admin_json(registry: &Registry, method: Method, path: &str, body: Value) -> Value {
    let response = registry.request(method.clone(), path).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

// ----- the matrix -----

/// Repositories pushed before the matrix runs.
const REPOSITORIES: [&str; 4] = ["backend/api", "backend-infra/x", "backend", "other/thing"];
/// Never pushed: below the exact rule's name.
const BELOW_EXACT: &str = "backend/api/sub";
/// The rule forms: (short name, pattern).
const FORMS: [(&str, &str); 3] = [("exact", "backend/api"), ("wild", "backend/*"), ("root", "*")];

/// What a repository holds for the matrix to name.
struct Fixture {
    repository: String,
    manifest: Vec<u8>,
    digest: String,
    layer: String,
    /// Pushed (false for [`BELOW_EXACT`], which only borrows digests).
    exists: bool,
}

/// Every data-plane operation on `fixture.repository` as `auth`; the
/// dedicated manifest and blob to delete, and an upload session for the
/// refused session calls, are prepared as admin first.
async fn run_battery(registry: &Registry, auth: &Auth, fixture: &Fixture, case: &str) -> Vec<(Op, Seen)> {
    let repo = fixture.repository.as_str();
    let (doomed_manifest, doomed_blob, admin_session) = if fixture.exists {
        let blob = registry.push_blob(repo, format!("doomed blob of {case}").as_bytes()).await;
        let mut manifest: Value = serde_json::from_slice(&fixture.manifest).unwrap();
        manifest["annotations"] = json!({"org.example.case": case});
        let manifest = serde_json::to_vec(&manifest).unwrap();
        let digest = sha256(&manifest);
        let pushed = registry.push_manifest(repo, &digest, OCI_MANIFEST, &manifest).await;
        assert_eq!(pushed.status(), StatusCode::CREATED, "admin pushes the manifest {case} deletes");
        let start =
            registry.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
        assert_eq!(start.status(), StatusCode::ACCEPTED, "admin starts an upload in {repo}");
        (digest, blob, header_of(&start, "location").to_owned())
    } else {
        (
            sha256(format!("no manifest {case}").as_bytes()),
            sha256(format!("no blob {case}").as_bytes()),
            format!("/v2/{repo}/blobs/uploads/{}", uuid::Uuid::new_v4()),
        )
    };
    let mut seen = Vec::new();
    let go = |method: Method, path: String| send(registry, auth, method, &path);

    // Reads.
    for (op, method, reference) in [
        (Op::GetManifestByTag, Method::GET, "v1"),
        (Op::HeadManifestByTag, Method::HEAD, "v1"),
        (Op::GetManifestByDigest, Method::GET, fixture.digest.as_str()),
        (Op::HeadManifestByDigest, Method::HEAD, fixture.digest.as_str()),
    ] {
        let response = go(method, format!("/v2/{repo}/manifests/{reference}"))
            .header(header::ACCEPT, OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        seen.push((op, observe(response).await));
    }
    for (op, method) in [(Op::GetBlob, Method::GET), (Op::HeadBlob, Method::HEAD)] {
        let response = go(method, format!("/v2/{repo}/blobs/{}", fixture.layer)).send().await.unwrap();
        seen.push((op, observe(response).await));
    }
    let response = go(Method::GET, format!("/v2/{repo}/tags/list")).send().await.unwrap();
    seen.push((Op::ListTags, observe(response).await));
    let response = go(Method::GET, format!("/v2/{repo}/referrers/{}", fixture.digest)).send().await.unwrap();
    seen.push((Op::Referrers, observe(response).await));

    // An upload: start, one chunk, status, finish. The token's own session
    // where it may start one, otherwise the admin's.
    let content = format!("uploaded in case {case}").into_bytes();
    let response = go(Method::POST, format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    let own_session =
        (response.status() == StatusCode::ACCEPTED).then(|| header_of(&response, "location").to_owned());
    seen.push((Op::StartUpload, observe(response).await));
    let mut session = own_session.clone().unwrap_or_else(|| admin_session.clone());
    let response = go(Method::PATCH, session.clone())
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_RANGE, format!("0-{}", content.len() - 1))
        .body(content.clone())
        .send()
        .await
        .unwrap();
    if response.status() == StatusCode::ACCEPTED && !header_of(&response, "location").is_empty() {
        session = header_of(&response, "location").to_owned();
    }
    seen.push((Op::PatchUpload, observe(response).await));
    let response = go(Method::GET, session.clone()).send().await.unwrap();
    seen.push((Op::GetUploadStatus, observe(response).await));
    let response = go(Method::PUT, format!("{session}?digest={}", sha256(&content))).send().await.unwrap();
    seen.push((Op::FinishUpload, observe(response).await));
    // Cancel: a second session of the token's own, or the admin's.
    let cancel = match own_session {
        Some(_) => {
            let response = go(Method::POST, format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
            match response.status() {
                StatusCode::ACCEPTED => header_of(&response, "location").to_owned(),
                _ => admin_session.clone(),
            }
        }
        None => admin_session.clone(),
    };
    let response = go(Method::DELETE, cancel).send().await.unwrap();
    seen.push((Op::CancelUpload, observe(response).await));

    // Re-put the image under a tag of this case.
    let response = go(Method::PUT, format!("/v2/{repo}/manifests/t-{case}"))
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(fixture.manifest.clone())
        .send()
        .await
        .unwrap();
    seen.push((Op::PutManifest, observe(response).await));

    // Deletes, of what was pushed for this case only.
    let response =
        go(Method::DELETE, format!("/v2/{repo}/manifests/{doomed_manifest}")).send().await.unwrap();
    seen.push((Op::DeleteManifest, observe(response).await));
    let response = go(Method::DELETE, format!("/v2/{repo}/blobs/{doomed_blob}")).send().await.unwrap();
    seen.push((Op::DeleteBlob, observe(response).await));
    seen
}

/// Whether `seen` is what the model wants; allowed operations give their
/// success status, refused ones 403 with the OCI code DENIED (HEAD answers
/// have no body to carry it).
fn matches_model(op: Op, allowed: bool, seen: &Seen) -> bool {
    if allowed {
        seen.status == op.success()
    } else {
        seen.status == StatusCode::FORBIDDEN && (op.is_head() || seen.code.as_deref() == Some("DENIED"))
    }
}

fn wanted(op: Op, allowed: bool) -> String {
    if allowed {
        op.success().as_u16().to_string()
    } else if op.is_head() {
        "403".to_owned()
    } else {
        "403 DENIED".to_owned()
    }
}

#[tokio::test]
async fn every_action_and_rule_form_on_every_endpoint() {
    let started = std::time::Instant::now();
    let registry = Registry::start();
    let mut fixtures = Vec::new();
    for repository in REPOSITORIES {
        let layer = format!("layer of {repository}");
        let (manifest, digest) = registry.push_image(repository, "v1", layer.as_bytes()).await;
        fixtures.push(Fixture {
            repository: repository.to_owned(),
            manifest,
            digest,
            layer: sha256(layer.as_bytes()),
            exists: true,
        });
    }
    let below = Fixture {
        repository: BELOW_EXACT.to_owned(),
        manifest: fixtures[0].manifest.clone(),
        digest: fixtures[0].digest.clone(),
        layer: fixtures[0].layer.clone(),
        exists: false,
    };

    let mut mismatches: Vec<String> = Vec::new();
    let mut checked = 0usize;
    let mut tokens = Vec::new();
    for action in ACTIONS {
        for (form, pattern) in FORMS {
            let name = format!("m-{}-{form}", action.short());
            let (password, _) =
                create_token(&registry, &name, json!([{"repository": pattern, "actions": [action.name()]}]))
                    .await;
            tokens.push((name, password, action, form, pattern));
        }
    }

    // The catalog and the API's repository list, before anything below
    // could have created a repository.
    for (name, password, action, _, pattern) in &tokens {
        let mut expected: Vec<&str> = REPOSITORIES
            .into_iter()
            .filter(|repo| *action == Act::MetadataRead && pattern_matches(pattern, repo))
            .collect();
        expected.sort();
        let expected = json!(expected);
        let basic = Auth::Basic { user: name.clone(), password: password.clone() };
        let bearer =
            Auth::Bearer(bearer_token(&registry, name, password, &["registry:catalog:*".to_owned()]).await);
        for auth in [&basic, &bearer] {
            let response = send(&registry, auth, Method::GET, "/v2/_catalog").send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            checked += 1;
            if status != StatusCode::OK || body["repositories"] != expected {
                mismatches.push(format!(
                    "{name} {} GET /v2/_catalog: expected 200 {expected}, got {} {body}",
                    auth.kind(),
                    status.as_u16()
                ));
            }
        }
        let response = send(&registry, &basic, Method::GET, "/api/v1/repositories").send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        checked += 1;
        if status != StatusCode::OK || body != expected {
            mismatches.push(format!(
                "{name} basic GET /api/v1/repositories: expected 200 {expected}, got {} {body}",
                status.as_u16()
            ));
        }
    }

    // One repository through the management API: in scope, existing or
    // not (200/404); out of scope, existing or not: the same 403 DENIED,
    // so a token learns no names.
    for (name, password, action, _, pattern) in &tokens {
        let basic = Auth::Basic { user: name.clone(), password: password.clone() };
        let mut refusals = Vec::new();
        for (repository, exists) in
            [("backend/api", true), ("backend/ghost", false), ("other/thing", true), ("other/ghost", false)]
        {
            let path = format!("/api/v1/repositories/{repository}");
            let response = send(&registry, &basic, Method::GET, &path).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let allowed = *action == Act::MetadataRead && pattern_matches(pattern, repository);
            let (want, code) = match (allowed, exists) {
                (true, true) => (StatusCode::OK, None),
                (true, false) => (StatusCode::NOT_FOUND, Some("NOT_FOUND")),
                (false, _) => (StatusCode::FORBIDDEN, Some("DENIED")),
            };
            checked += 1;
            if status != want || (code.is_some() && body["code"].as_str() != code) {
                mismatches.push(format!(
                    "{name} basic GET {path}: expected {} {}, got {} {body}",
                    want.as_u16(),
                    code.unwrap_or_default(),
                    status.as_u16()
                ));
            }
            if !allowed {
                refusals.push((repository, body.to_string().replace(repository, "<name>")));
            }
        }
        for pair in refusals.windows(2) {
            let ((first, first_body), (second, second_body)) = (&pair[0], &pair[1]);
            checked += 1;
            if first.split('/').next() == second.split('/').next() && first_body != second_body {
                mismatches.push(format!(
                    "{name} basic GET /api/v1/repositories/{{{first},{second}}}: the refusals differ beyond the name: {first_body} vs {second_body}"
                ));
            }
        }
    }

    // Every endpoint, on the repository the rules name and across the
    // prefix boundary.
    for (name, password, action, form, pattern) in &tokens {
        let mut targets: Vec<&Fixture> = fixtures.iter().collect();
        if *form == "exact" {
            // Below the exact name: must not match. (Not for the wildcards,
            // which rightly match it: pushing there would create it.)
            targets.push(&below);
        }
        let scopes: Vec<String> = targets.iter().map(|f| all_actions_scope(&f.repository)).collect();
        let basic = Auth::Basic { user: name.clone(), password: password.clone() };
        let bearer = Auth::Bearer(bearer_token(&registry, name, password, &scopes).await);
        for auth in [&basic, &bearer] {
            for fixture in &targets {
                let case = format!("{name}-{}-{}", auth.kind(), fixture.repository.replace('/', "."));
                let held = pattern_matches(pattern, &fixture.repository);
                for (op, seen) in run_battery(&registry, auth, fixture, &case).await {
                    let allowed = held && op.needs() == *action;
                    checked += 1;
                    if !matches_model(op, allowed, &seen) {
                        mismatches.push(format!(
                            "{name} {} {} {}: expected {}, got {seen}",
                            auth.kind(),
                            fixture.repository,
                            op.label(),
                            wanted(op, allowed),
                        ));
                    }
                }
            }
        }
    }

    // A bearer token asked only for backend/api, used elsewhere: where the
    // policy allows the action the client is told to fetch a token with
    // that scope (401 insufficient_scope); where it does not, 403 DENIED.
    for (name, expected_status, expected_code, needle, repo) in [
        (
            "m-cread-root",
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "error=\"insufficient_scope\"",
            "other/thing",
        ),
        ("m-cread-wild", StatusCode::FORBIDDEN, "DENIED", "", "backend-infra/x"),
    ] {
        let password = &tokens.iter().find(|t| t.0 == name).unwrap().1;
        let bearer =
            Auth::Bearer(bearer_token(&registry, name, password, &[all_actions_scope("backend/api")]).await);
        let response =
            send(&registry, &bearer, Method::GET, &format!("/v2/{repo}/manifests/v1")).send().await.unwrap();
        let seen = observe(response).await;
        checked += 1;
        if seen.status != expected_status
            || seen.code.as_deref() != Some(expected_code)
            || !seen.challenge.contains(needle)
        {
            mismatches.push(format!(
                "{name} bearer(backend/api only) {repo} GET manifest by tag: expected {} {expected_code} {needle}, got {seen}",
                expected_status.as_u16()
            ));
        }
    }

    println!("authorization matrix: {checked} answers checked in {:?}", started.elapsed());
    if !mismatches.is_empty() {
        println!("{} mismatches (token auth repository operation):", mismatches.len());
        for line in &mismatches {
            println!("  {line}");
        }
        panic!("{} of {checked} answers differ from SPEC §1 (listed above)", mismatches.len());
    }
}

// ----- mounts and upload sessions -----

/// A cross-repository mount needs content/read on the source (otherwise an
/// ordinary upload session, and nothing becomes visible); an upload session
/// belongs to its repository and cannot be reached through another one.
#[tokio::test]
async fn mounts_and_upload_sessions_stay_within_the_scope() {
    let registry = Registry::start();
    for repository in ["backend/api", "other/thing", "backend-infra/x"] {
        registry.push_image(repository, "v1", format!("layer of {repository}").as_bytes()).await;
    }
    let rules = json!([
        {"repository": "backend/api", "actions": ["content/read", "content/write"]},
        {"repository": "other/thing", "actions": ["content/read"]},
    ]);
    let (password, _) = create_token(&registry, "mover", rules).await;
    let scopes = ["backend/api", "other/thing", "backend-infra/x"].map(all_actions_scope);
    let basic = Auth::Basic { user: "mover".into(), password: password.clone() };
    let bearer = Auth::Bearer(bearer_token(&registry, "mover", &password, &scopes).await);
    let registry = &registry;
    let admin_head =
        |path: String| async move { registry.request(Method::HEAD, &path).send().await.unwrap().status() };

    for auth in [&basic, &bearer] {
        let kind = auth.kind();
        // Readable source: mounted.
        let readable = registry.push_blob("other/thing", format!("mountable {kind}").as_bytes()).await;
        let response = send(
            registry,
            auth,
            Method::POST,
            &format!("/v2/backend/api/blobs/uploads/?mount={readable}&from=other/thing"),
        )
        .send()
        .await
        .unwrap();
        let location = header_of(&response, "location").to_owned();
        assert_eq!(response.status(), StatusCode::CREATED, "{kind}: mount from a readable source");
        assert_eq!(location, format!("/v2/backend/api/blobs/{readable}"), "{kind}");
        assert_eq!(admin_head(format!("/v2/backend/api/blobs/{readable}")).await, StatusCode::OK, "{kind}");

        // Unreadable source: an ordinary session, nothing mounted.
        let hidden = registry.push_blob("backend-infra/x", format!("not mountable {kind}").as_bytes()).await;
        let response = send(
            registry,
            auth,
            Method::POST,
            &format!("/v2/backend/api/blobs/uploads/?mount={hidden}&from=backend-infra/x"),
        )
        .send()
        .await
        .unwrap();
        let location = header_of(&response, "location").to_owned();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{kind}: mount from an unreadable source");
        assert!(location.starts_with("/v2/backend/api/blobs/uploads/"), "{kind}: {location}");
        assert_eq!(
            admin_head(format!("/v2/backend/api/blobs/{hidden}")).await,
            StatusCode::NOT_FOUND,
            "{kind}: nothing mounted from backend-infra/x"
        );

        // Another repository's session, addressed through backend/api.
        let start =
            registry.request(Method::POST, "/v2/backend-infra/x/blobs/uploads/").send().await.unwrap();
        assert_eq!(start.status(), StatusCode::ACCEPTED);
        let foreign = header_of(&start, "location").rsplit('/').next().unwrap().to_owned();
        let through = format!("/v2/backend/api/blobs/uploads/{foreign}");
        let content = format!("smuggled {kind}").into_bytes();
        let digest = sha256(&content);
        let attempts = [
            (Method::GET, through.clone(), Vec::new()),
            (Method::PATCH, through.clone(), content.clone()),
            (Method::PUT, format!("{through}?digest={digest}"), content.clone()),
            (Method::DELETE, through.clone(), Vec::new()),
        ];
        for (method, path, body) in attempts {
            let seen =
                observe(send(registry, auth, method.clone(), &path).body(body).send().await.unwrap()).await;
            assert_eq!(seen.status, StatusCode::NOT_FOUND, "{kind} {method} {path}: got {seen}");
            assert_eq!(seen.code.as_deref(), Some("BLOB_UPLOAD_UNKNOWN"), "{kind} {method} {path}");
        }
        for repository in ["backend/api", "backend-infra/x"] {
            assert_eq!(
                admin_head(format!("/v2/{repository}/blobs/{digest}")).await,
                StatusCode::NOT_FOUND,
                "{kind}: nothing landed in {repository}"
            );
        }
        // The session is intact for its owner.
        let status = registry
            .request(Method::GET, &format!("/v2/backend-infra/x/blobs/uploads/{foreign}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::NO_CONTENT, "{kind}: the admin's session survives");
        // And the token cannot reach it under its own name either.
        let seen = observe(
            send(registry, auth, Method::GET, &format!("/v2/backend-infra/x/blobs/uploads/{foreign}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(seen.status, StatusCode::FORBIDDEN, "{kind}: got {seen}");
    }
}

// ----- refused credentials -----

/// A client address of its own for every probe: the probes fail on
/// purpose, far more often than sign-in throttling lets one client fail
/// (see `security::every_login_point_is_throttled`), so the server trusts
/// 127.0.0.1 as a proxy and each probe names another client.
fn next_client() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("198.51.{}.{}", n / 250, n % 250 + 1)
}

/// The answers to one pair of credentials from the token endpoint, the
/// data plane's version check and the management API: (where, status,
/// WWW-Authenticate, body).
async fn answers(
    registry: &Registry,
    user: &str,
    password: &str,
) -> Vec<(&'static str, u16, String, String)> {
    let mut out = Vec::new();
    let requests = [
        (
            "GET /oauth2/token",
            registry
                .client
                .get(registry.server.url("/oauth2/token"))
                .query(&[("service", registry.server.authority()), ("scope", "repository:backend/api:pull")]),
        ),
        ("GET /v2/", registry.client.get(registry.server.url("/v2/"))),
        ("GET /api/v1/repositories", registry.client.get(registry.server.url("/api/v1/repositories"))),
    ];
    for (label, request) in requests {
        let request = request.header("x-forwarded-for", next_client());
        let response = request.basic_auth(user, Some(password)).send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = header_of(&response, "www-authenticate").to_owned();
        out.push((label, status, challenge, response.text().await.unwrap()));
    }
    out
}

async fn assert_refused_like(
    registry: &Registry,
    baseline: &[(&'static str, u16, String, String)],
    what: &str,
    user: &str,
    password: &str,
) {
    let got = answers(registry, user, password).await;
    for (expected, got) in baseline.iter().zip(&got) {
        assert_eq!(got, expected, "{what}: {} differs from an unknown token's refusal", expected.0);
    }
}

async fn assert_accepted(registry: &Registry, what: &str, user: &str, password: &str) {
    for (label, status, _, body) in answers(registry, user, password).await {
        assert_eq!(status, 200, "{what}: {label} accepts the credentials: {body}");
    }
}

/// GET the manifest `backend/api:v1` with a bearer token.
async fn pull_status(registry: &Registry, bearer: &str) -> Seen {
    let auth = Auth::Bearer(bearer.to_owned());
    observe(send(registry, &auth, Method::GET, "/v2/backend/api/manifests/v1").send().await.unwrap()).await
}

fn assert_refused_bearer(seen: &Seen, what: &str) {
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{what}: got {seen}");
    assert_eq!(seen.code.as_deref(), Some("UNAUTHORIZED"), "{what}: got {seen}");
}

#[tokio::test]
async fn refused_credentials_look_alike_and_revocation_counts_at_once() {
    let registry = Registry::start_with(&["--trusted-proxy", "127.0.0.1"]);
    registry.push_image("backend/api", "v1", b"layer").await;
    let pull = json!([{"repository": "backend/api", "actions": ["content/read"]}]);
    let (pw1, pw2) = create_token(&registry, "cred-probe", pull.clone()).await;
    let (other_pw, _) = create_token(&registry, "cred-other", pull.clone()).await;
    let scope = ["repository:backend/api:pull".to_owned()];

    assert_accepted(&registry, "password1", "cred-probe", &pw1).await;
    assert_accepted(&registry, "password2", "cred-probe", &pw2).await;

    let baseline = answers(&registry, "no-such-token", &pw1).await;
    for (label, status, challenge, body) in &baseline {
        assert_eq!(*status, 401, "unknown token at {label}: {body}");
        assert!(!challenge.is_empty(), "unknown token at {label}: a 401 carries a challenge");
    }
    let mut wrong_generated = pw1.clone();
    let last = wrong_generated.pop().unwrap();
    wrong_generated.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(wrong_generated.len(), pw1.len());
    assert!(wrong_generated.starts_with("pct_"));
    for (what, user, password) in [
        ("unknown token with a non-generated password", "no-such-token", "wrong-password"),
        ("wrong password", "cred-probe", "wrong-password"),
        ("wrong pct_ password of the right length", "cred-probe", wrong_generated.as_str()),
        ("another token's password", "cred-probe", other_pw.as_str()),
        ("empty password", "cred-probe", ""),
    ] {
        assert_refused_like(&registry, &baseline, what, user, password).await;
    }

    // Disable: both passwords refused like an unknown token, bearer tokens
    // issued before refused on the next request; re-enable: all work.
    let bearer1 = bearer_token(&registry, "cred-probe", &pw1, &scope).await;
    let bearer2 = bearer_token(&registry, "cred-probe", &pw2, &scope).await;
    assert_eq!(pull_status(&registry, &bearer1).await.status, StatusCode::OK);
    let token =
        admin_json(&registry, Method::PATCH, "/api/v1/tokens/cred-probe", json!({"status": "disabled"}))
            .await;
    assert_eq!(token["status"], "disabled");
    assert_refused_like(&registry, &baseline, "disabled token, password1", "cred-probe", &pw1).await;
    assert_refused_like(&registry, &baseline, "disabled token, password2", "cred-probe", &pw2).await;
    assert_refused_bearer(&pull_status(&registry, &bearer1).await, "bearer of password1 after disabling");
    assert_refused_bearer(&pull_status(&registry, &bearer2).await, "bearer of password2 after disabling");
    admin_json(&registry, Method::PATCH, "/api/v1/tokens/cred-probe", json!({"status": "enabled"})).await;
    assert_eq!(pull_status(&registry, &bearer1).await.status, StatusCode::OK, "bearer after re-enabling");
    assert_eq!(pull_status(&registry, &bearer2).await.status, StatusCode::OK, "bearer after re-enabling");
    assert_accepted(&registry, "password1 after re-enabling", "cred-probe", &pw1).await;

    // Delete the password1 slot: password1 and its bearer token refused,
    // password2 and its bearer token still work.
    let token =
        admin_json(&registry, Method::DELETE, "/api/v1/tokens/cred-probe/credentials/password1", json!({}))
            .await;
    assert_eq!(token["credentials"]["passwords"].as_array().unwrap().len(), 1, "{token}");
    assert_refused_like(&registry, &baseline, "deleted password1", "cred-probe", &pw1).await;
    assert_accepted(&registry, "password2 after deleting password1", "cred-probe", &pw2).await;
    assert_refused_bearer(&pull_status(&registry, &bearer1).await, "bearer of a deleted password1");
    assert_eq!(pull_status(&registry, &bearer2).await.status, StatusCode::OK, "bearer of password2");

    // Regenerate password2: the old one and its bearer token refused, the
    // new one works.
    let generated = admin_json(
        &registry,
        Method::POST,
        "/api/v1/tokens/cred-probe/credentials",
        json!({"password2": true}),
    )
    .await;
    let new_pw2 = generated["passwords"][0]["value"].as_str().unwrap().to_owned();
    assert_eq!(generated["passwords"][0]["name"], "password2");
    assert_ne!(new_pw2, pw2);
    assert_refused_bearer(&pull_status(&registry, &bearer2).await, "bearer of a regenerated password2");
    assert_refused_like(&registry, &baseline, "old password2 after regenerating", "cred-probe", &pw2).await;
    assert_accepted(&registry, "regenerated password2", "cred-probe", &new_pw2).await;

    // Delete the token: its bearer token refused at once, its password
    // refused like an unknown token's.
    let bearer3 = bearer_token(&registry, "cred-probe", &new_pw2, &scope).await;
    assert_eq!(pull_status(&registry, &bearer3).await.status, StatusCode::OK);
    let response = registry.request(Method::DELETE, "/api/v1/tokens/cred-probe").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_refused_bearer(&pull_status(&registry, &bearer3).await, "bearer of a deleted token");
    assert_refused_like(&registry, &baseline, "deleted token", "cred-probe", &new_pw2).await;
    // The other token was never touched.
    assert_accepted(&registry, "untouched token", "cred-other", &other_pw).await;

    // An expired password: refused like an unknown token, and so is the
    // bearer token it obtained; the other slot keeps working.
    let (_, expiring_pw2) = create_token(&registry, "cred-expiring", pull.clone()).await;
    let expiry = chrono::Utc::now() + chrono::Duration::seconds(2);
    let generated = admin_json(
        &registry,
        Method::POST,
        "/api/v1/tokens/cred-expiring/credentials",
        json!({"password1": true, "expiry": expiry.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}),
    )
    .await;
    let expiring_pw1 = generated["passwords"][0]["value"].as_str().unwrap().to_owned();
    assert!(generated["passwords"][0]["expiry"].is_string(), "{generated}");
    let bearer4 = bearer_token(&registry, "cred-expiring", &expiring_pw1, &scope).await;
    assert_eq!(pull_status(&registry, &bearer4).await.status, StatusCode::OK, "before the expiry");
    let left = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + std::time::Duration::from_millis(500)).await;
    assert_refused_like(&registry, &baseline, "expired password1", "cred-expiring", &expiring_pw1).await;
    assert_refused_bearer(&pull_status(&registry, &bearer4).await, "bearer of an expired password1");
    assert_accepted(&registry, "password2 beside an expired password1", "cred-expiring", &expiring_pw2).await;
}

// ----- policy changes -----

#[tokio::test]
async fn scope_map_edits_count_from_the_next_request() {
    let registry = Registry::start();
    registry.push_image("backend/api", "v1", b"layer").await;
    let rule = json!([{"repository": "backend/api", "actions": ["content/read"]}]);
    let (password, _) = create_token(&registry, "policy-flip", rule.clone()).await;
    let bearer = Auth::Bearer(
        bearer_token(&registry, "policy-flip", &password, &["repository:backend/api:pull".to_owned()]).await,
    );
    let basic = Auth::Basic { user: "policy-flip".into(), password };
    let pull = |auth: &Auth| send(&registry, auth, Method::GET, "/v2/backend/api/manifests/v1").send();
    for auth in [&bearer, &basic] {
        let seen = observe(pull(auth).await.unwrap()).await;
        assert_eq!(seen.status, StatusCode::OK, "{} before the edit: {seen}", auth.kind());
    }

    let map = admin_json(
        &registry,
        Method::PATCH,
        "/api/v1/scope-maps/policy-flip-scope-map",
        json!({"removeRepositories": rule}),
    )
    .await;
    assert_eq!(map["repositories"], json!([]), "{map}");
    for auth in [&bearer, &basic] {
        let seen = observe(pull(auth).await.unwrap()).await;
        assert_eq!(seen.status, StatusCode::FORBIDDEN, "{} after removing content/read: {seen}", auth.kind());
        assert_eq!(seen.code.as_deref(), Some("DENIED"), "{} after removing content/read", auth.kind());
    }

    let map = admin_json(
        &registry,
        Method::PATCH,
        "/api/v1/scope-maps/policy-flip-scope-map",
        json!({"addRepositories": rule}),
    )
    .await;
    assert_eq!(map["repositories"], rule, "{map}");
    for auth in [&bearer, &basic] {
        let seen = observe(pull(auth).await.unwrap()).await;
        assert_eq!(seen.status, StatusCode::OK, "{} after adding content/read back: {seen}", auth.kind());
    }

    // Switching the token to another scope map counts at once too.
    let response = registry
        .request(Method::POST, "/api/v1/scope-maps")
        .json(&json!({"name": "elsewhere", "repositories": [{"repository": "other/*", "actions": ["content/read"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let token =
        admin_json(&registry, Method::PATCH, "/api/v1/tokens/policy-flip", json!({"scopeMap": "elsewhere"}))
            .await;
    assert_eq!(token["scopeMap"], "elsewhere", "{token}");
    for auth in [&bearer, &basic] {
        let seen = observe(pull(auth).await.unwrap()).await;
        assert_eq!(seen.status, StatusCode::FORBIDDEN, "{} after switching scope maps: {seen}", auth.kind());
        assert_eq!(seen.code.as_deref(), Some("DENIED"), "{} after switching scope maps", auth.kind());
    }
    let token = admin_json(
        &registry,
        Method::PATCH,
        "/api/v1/tokens/policy-flip",
        json!({"scopeMap": "policy-flip-scope-map"}),
    )
    .await;
    assert_eq!(token["scopeMap"], "policy-flip-scope-map", "{token}");
    for auth in [&bearer, &basic] {
        let seen = observe(pull(auth).await.unwrap()).await;
        assert_eq!(seen.status, StatusCode::OK, "{} after switching back: {seen}", auth.kind());
    }
}

/// Removing a tag (the manifest stays) is allowed with metadata/write or
/// with content/delete, on `/v2` (Basic and bearer, following the
/// challenge's scope) and on the management API alike; deleting the
/// manifest by digest needs content/delete.
#[tokio::test]
async fn untag_needs_metadata_write_or_content_delete_on_every_surface() {
    let registry = Registry::start();
    let (manifest, digest) = registry.push_image("team/app", "v1", b"untag layer").await;
    let cases: [(&str, &[&str], bool); 3] = [
        ("untag-mwrite", &["metadata/write"], true),
        ("untag-cdelete", &["content/delete"], true),
        ("untag-none", &["content/read", "content/write", "metadata/read"], false),
    ];
    for (token, actions, may_untag) in cases {
        let rules = json!([{"repository": "team/app", "actions": actions}]);
        let (password, _) = create_token(&registry, token, rules).await;
        let tag = |surface: &str| format!("{token}-{surface}");
        for surface in ["basic", "bearer", "api"] {
            let response = registry.push_manifest("team/app", &tag(surface), OCI_MANIFEST, &manifest).await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        let basic = Auth::Basic { user: token.into(), password: password.clone() };
        let v2_untag = |surface: &str| format!("/v2/team/app/manifests/{}", tag(surface));
        let seen =
            observe(send(&registry, &basic, Method::DELETE, &v2_untag("basic")).send().await.unwrap()).await;
        let expected = if may_untag { StatusCode::ACCEPTED } else { StatusCode::FORBIDDEN };
        assert_eq!(seen.status, expected, "{token}: /v2 untag with Basic: {seen}");

        // A bearer client first meets the challenge, then asks for its scope.
        let seen =
            observe(registry.client.delete(registry.server.url(&v2_untag("bearer"))).send().await.unwrap())
                .await;
        assert_eq!(seen.status, StatusCode::UNAUTHORIZED);
        assert!(seen.challenge.contains("scope=\"repository:team/app:delete,metadata_write\""), "{seen}");
        let scope = "repository:team/app:delete,metadata_write".to_owned();
        let bearer = Auth::Bearer(bearer_token(&registry, token, &password, &[scope]).await);
        let seen =
            observe(send(&registry, &bearer, Method::DELETE, &v2_untag("bearer")).send().await.unwrap())
                .await;
        assert_eq!(seen.status, expected, "{token}: /v2 untag with a bearer token: {seen}");

        let api_untag = format!("/api/v1/repositories/team/app/_tags/{}", tag("api"));
        let status = basic
            .apply(registry.client.delete(registry.server.url(&api_untag)))
            .send()
            .await
            .unwrap()
            .status();
        let expected = if may_untag { StatusCode::NO_CONTENT } else { StatusCode::FORBIDDEN };
        assert_eq!(status, expected, "{token}: API untag");

        // The manifest itself stays unless content/delete is held.
        if token == "untag-mwrite" {
            let by_digest = format!("/v2/team/app/manifests/{digest}");
            let seen =
                observe(send(&registry, &basic, Method::DELETE, &by_digest).send().await.unwrap()).await;
            assert_eq!(seen.status, StatusCode::FORBIDDEN, "metadata/write deletes no manifest: {seen}");
            let api_delete = format!("/api/v1/repositories/team/app/_manifests/{digest}");
            let status = basic
                .apply(registry.client.delete(registry.server.url(&api_delete)))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, StatusCode::FORBIDDEN, "metadata/write deletes no manifest on the API");
        }
    }
    let tags: Value =
        registry.request(Method::GET, "/v2/team/app/tags/list").send().await.unwrap().json().await.unwrap();
    let tags: Vec<&str> = tags["tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(tags, ["untag-none-api", "untag-none-basic", "untag-none-bearer", "v1"]);
}
