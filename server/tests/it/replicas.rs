//! Several replicas of one registry (SPEC §4): three `portcullis serve`
//! processes on one database (SQLite, or PostgreSQL when the suite runs
//! there) and one S3 bucket (the tests' Garage), behind a balancer that
//! sends every request to the next replica in turn, request by request (not
//! connection by connection, and with no sticky sessions), so the requests
//! of one push land on different replicas. Real clients (skopeo, podman,
//! oras) talk to the balancer; the checks talk to each replica directly.
//!
//! What must hold: a replica keeps no truth of its own (a bearer token
//! issued by one is honoured by the others; an upload begun on one is
//! continued and finished on others), a revocation on one counts from the
//! next request on every other, and a replica killed in the middle of a
//! push loses nothing acknowledged and leaves nothing half-visible.

use std::{
    path::Path,
    process::Command,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{body::Body, extract::State, response::IntoResponse, Router};
use bytes::Bytes;
use futures::StreamExt as _;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    authz::create_token,
    clients::{
        oras_push_with_referrer, password_line, podman_pull_as_admin, skopeo, skopeo_push, succeed,
        ClientEnv, OciLayout,
    },
    command::execute,
    registry::{image_manifest, sha256, Registry, OCI_MANIFEST},
    s3::s3_env,
    testkit::{database_url, ADMIN_PASSWORD},
};

// ---------------------------------------------------------------------------
// The balancer

/// A load balancer for the tests: each HTTP request goes to the next replica
/// that is up, with its headers (the `Host` the client used included, so
/// replicas build their URLs for the balancer) and its body streamed both
/// ways. It runs on a runtime of its own, so a test may block on a client
/// command while the client's requests pass through it.
pub struct Balancer {
    /// `127.0.0.1:PORT`, what clients are given.
    pub authority: String,
    backends: Arc<Backends>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Backends {
    /// Each replica's base URL; `None` while it is down (as a balancer's
    /// health check would mark it).
    bases: Mutex<Vec<Option<String>>>,
    next: AtomicUsize,
    /// Requests sent to each replica.
    served: Mutex<Vec<usize>>,
    client: reqwest::Client,
}

impl Backends {
    fn pick(&self) -> Option<String> {
        let bases = self.bases.lock().unwrap();
        for _ in 0..bases.len() {
            let index = self.next.fetch_add(1, Ordering::Relaxed) % bases.len();
            if let Some(base) = &bases[index] {
                self.served.lock().unwrap()[index] += 1;
                return Some(base.clone());
            }
        }
        None
    }
}

impl Balancer {
    /// Binds the balancer's port; replicas are added with [`Self::set`].
    fn start(replicas: usize) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let backends = Arc::new(Backends {
            bases: Mutex::new(vec![None; replicas]),
            next: AtomicUsize::new(0),
            served: Mutex::new(vec![0; replicas]),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = backends.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let router = Router::new().fallback(forward).with_state(shared);
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self { authority, backends, stop: Some(stop), thread: Some(thread) }
    }

    /// Sends replica `index`'s share of requests to `base`, or to nobody.
    fn set(&self, index: usize, base: Option<&str>) {
        self.backends.bases.lock().unwrap()[index] = base.map(str::to_owned);
    }

    /// How many requests each replica was sent so far.
    fn served(&self) -> Vec<usize> {
        self.backends.served.lock().unwrap().clone()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Headers that describe one connection, not the request (RFC 9110 §7.6.1).
fn hop_by_hop(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

async fn forward(
    State(backends): State<Arc<Backends>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let Some(base) = backends.pick() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no replica is up").into_response();
    };
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut outgoing = backends.client.request(parts.method.clone(), format!("{base}{path}"));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let outgoing = outgoing.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    match outgoing.send().await {
        Ok(answer) => {
            let mut response = axum::response::Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if !hop_by_hop(name) {
                    response = response.header(name, value);
                }
            }
            response.body(Body::from_stream(answer.bytes_stream())).unwrap()
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("the replica failed: {error}")).into_response(),
    }
}

// ---------------------------------------------------------------------------
// The cluster

/// Replicas that share one database and one bucket and nothing else: each
/// has a data directory of its own (nothing lands there). The database is
/// one SQLite file in a shared directory (several processes on one
/// machine), or one PostgreSQL database when the suite runs on PostgreSQL;
/// the blobs are a fresh prefix of the tests' Garage bucket. Each replica is
/// told that the registry's name is the balancer's address and that
/// 127.0.0.1 is a proxy (so a test can speak for many clients with
/// `X-Forwarded-For`, as the balancer of a real deployment would, and one
/// client's refused logins do not throttle the next trial's).
struct Cluster {
    replicas: Vec<Registry>,
    balancer: Balancer,
    database_url: String,
    /// `PORTCULLIS_STORAGE`, the endpoint and the S3 credentials.
    storage: Vec<(String, String)>,
    shared: tempfile::TempDir,
    /// The replicas' own data directories, by index.
    own: Vec<tempfile::TempDir>,
}

impl Cluster {
    fn start(count: usize) -> Self {
        let shared = tempfile::tempdir().unwrap();
        let database_url = database_url(shared.path())
            .unwrap_or_else(|| format!("sqlite://{}", shared.path().join("portcullis.db").display()));
        let storage = s3_env(&format!("replicas-{}", uuid::Uuid::new_v4().simple()));
        let balancer = Balancer::start(count);
        let own = (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut cluster = Self { replicas: Vec::new(), balancer, database_url, storage, shared, own };
        // One after the other: the first start creates the database.
        for index in 0..count {
            let replica = cluster.launch(index);
            cluster.balancer.set(index, Some(&replica.server.base));
            cluster.replicas.push(replica);
        }
        cluster
    }

    fn launch(&self, index: usize) -> Registry {
        let env: Vec<(&str, &str)> =
            self.storage.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        // The same key-encryption key for all, as a deployment gives every
        // replica the same secret file: the shared keys are sealed with it.
        let kek = self.shared.path().join("key-encryption.key");
        if !kek.exists() {
            std::fs::write(&kek, format!("{:032x}{:032x}\n", rand::random::<u128>(), rand::random::<u128>()))
                .unwrap();
        }
        let args = [
            "--key-encryption-key-file",
            kek.to_str().unwrap(),
            "--database-url",
            &self.database_url,
            "--login-server",
            &self.balancer.authority,
            "--trusted-proxy",
            "127.0.0.1",
        ];
        Registry::start_in_env(self.own[index].path(), &args, &env)
    }

    /// SIGKILLs replica `index` and takes it out of the balancer.
    fn kill(&mut self, index: usize) {
        self.balancer.set(index, None);
        self.replicas[index].server.kill();
    }

    /// Starts replica `index` again (on a new port) and puts it back.
    fn restart(&mut self, index: usize) {
        let replica = self.launch(index);
        self.balancer.set(index, Some(&replica.server.base));
        self.replicas[index] = replica;
    }

    /// `portcullis gc` with `args` on the shared database and bucket, as
    /// an operator runs it on one replica's machine; its report.
    fn gc(&self, args: &[&str]) -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        command
            .args(["gc", "--database-url", &self.database_url, "--data-dir"])
            .arg(self.shared.path())
            .args(args)
            .env("PORTCULLIS_LOG", "warn")
            .envs(self.storage.iter().map(|(key, value)| (key, value)));
        let outcome = execute(command, None);
        assert!(outcome.success(), "gc failed: {}", outcome.report());
        outcome.stdout
    }

    /// `portcullis fsck` on the shared database and bucket: every blob
    /// present, whole and matching its digest. Then no replica kept
    /// anything of its own beyond its empty directories.
    fn assert_fsck_clean(&self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        command
            .args(["fsck", "--database-url", &self.database_url, "--data-dir"])
            .arg(self.shared.path())
            .envs(self.storage.iter().map(|(key, value)| (key, value)));
        let outcome = execute(command, None);
        assert!(outcome.success(), "fsck found damage: {}", outcome.report());
        for (index, own) in self.own.iter().enumerate() {
            let files = files_under(own.path());
            assert!(files.is_empty(), "replica {index} kept files of its own: {files:?}");
        }
    }
}

/// Every file below `directory`.
fn files_under(directory: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The manifest `image` (`host/repository:tag`) serves, byte for byte,
/// read by skopeo with `creds`.
fn inspect_raw(env: &ClientEnv, creds: &str, image: &str) -> String {
    let arguments =
        ["inspect", "--raw", "--tls-verify=false", "--creds", creds, &format!("docker://{image}")];
    succeed(skopeo(env, &arguments), None)
}

/// Deterministic bytes that do not compress (a layer of `len` bytes).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The path of an upload's `Location` (absolute or not).
fn location_path(response: &reqwest::Response) -> String {
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    match location.split_once("://") {
        Some((_, rest)) => rest[rest.find('/').unwrap()..].to_owned(),
        None => location.to_owned(),
    }
}

/// Pushes an image of `config` and one `layer` to `repository:tag` on
/// `replica` as the administrator, each blob in one POST: the manifest's
/// digest, or the first refusal's status and body.
async fn push_image(
    replica: &Registry,
    repository: &str,
    tag: &str,
    config: &[u8],
    layer: &[u8],
) -> Result<String, (StatusCode, String)> {
    let (config_digest, layer_digest) = (sha256(config), sha256(layer));
    for (digest, bytes) in [(&config_digest, config), (&layer_digest, layer)] {
        let response = replica
            .request(Method::POST, &format!("/v2/{repository}/blobs/uploads/?digest={digest}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::CREATED {
            return Err((response.status(), response.text().await.unwrap()));
        }
    }
    let manifest = image_manifest(&config_digest, config.len(), &[(&layer_digest, layer.len())], None);
    let response = replica
        .request(Method::PUT, &format!("/v2/{repository}/manifests/{tag}"))
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    if response.status() != StatusCode::CREATED {
        return Err((response.status(), response.text().await.unwrap()));
    }
    Ok(sha256(&manifest))
}

/// An image's manifest by digest and each of its blobs, from `replica`:
/// whole, or what is wrong.
async fn whole_image(replica: &Registry, repository: &str, manifest: &str) -> Result<(), String> {
    let response = replica
        .request(Method::GET, &format!("/v2/{repository}/manifests/{manifest}"))
        .header(header::ACCEPT, OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    if response.status() != StatusCode::OK {
        return Err(format!("manifest {manifest}: {}", response.status()));
    }
    let parsed: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let layers = parsed["layers"].as_array().unwrap().iter();
    for descriptor in std::iter::once(&parsed["config"]).chain(layers) {
        let digest = descriptor["digest"].as_str().unwrap();
        let blob =
            replica.request(Method::GET, &format!("/v2/{repository}/blobs/{digest}")).send().await.unwrap();
        if blob.status() != StatusCode::OK {
            return Err(format!("blob {digest} of {manifest}: {}", blob.status()));
        }
        if sha256(&blob.bytes().await.unwrap()) != digest {
            return Err(format!("blob {digest} of {manifest}: other bytes"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn clients_behind_a_balancer_see_one_registry() {
    let cluster = Cluster::start(3);
    let balancer = cluster.balancer.authority.clone();
    let env = ClientEnv::new();
    succeed(
        skopeo(&env, &["login", "--tls-verify=false", "--username", "admin", "--password-stdin", &balancer]),
        Some(&password_line()),
    );

    // skopeo pushes an image with a layer of a few MiB: its requests (and
    // the token requests) go round the three replicas.
    let source = OciLayout::create(env.path("source"));
    let layer = noise(3 << 20, 1);
    let image =
        source.add_image("amd64", &[("hello.txt", b"hello from three replicas\n"), ("data.bin", &layer)]);
    source.tag(&image, "v1");
    let before = cluster.balancer.served();
    let remote = format!("docker://{balancer}/team/app:v1");
    skopeo_push(&env, &source, "v1", &remote);
    let served = cluster.balancer.served();
    for (index, (after, before)) in served.iter().zip(&before).enumerate() {
        assert!(after - before >= 2, "replica {index} served part of the push: {before:?} → {served:?}");
    }

    // Each replica serves the same manifest byte for byte, and the image
    // comes back whole from the last one.
    for replica in &cluster.replicas {
        let raw = inspect_raw(
            &env,
            &format!("admin:{ADMIN_PASSWORD}"),
            &format!("{}/team/app:v1", replica.server.authority()),
        );
        assert_eq!(sha256(raw.as_bytes()), image.digest, "{}", replica.server.base);
    }
    let copy = OciLayout::open(env.path("copy"));
    succeed(
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--src-creds",
                &format!("admin:{ADMIN_PASSWORD}"),
                &format!("docker://{}/team/app:v1", cluster.replicas[2].server.authority()),
                &copy.reference("v1"),
            ],
        ),
        None,
    );
    assert_eq!(copy.blobs(), source.blobs(), "every blob comes back byte for byte");

    // podman pulls it through the balancer.
    podman_pull_as_admin(&env, &balancer, &format!("{balancer}/team/app:v1"), &image.digest);

    // oras pushes an artifact and a referrer through the balancer; another
    // replica lists the referrer.
    let (artifact, referrer) = oras_push_with_referrer(&env, &balancer, "samples/artifact");
    for replica in &cluster.replicas {
        let index: Value = replica.get_json(&format!("/v2/samples/artifact/referrers/{artifact}")).await;
        assert_eq!(index["manifests"][0]["digest"], referrer, "{} {index}", replica.server.base);
    }
    cluster.assert_fsck_clean();
}

#[tokio::test]
async fn an_upload_moves_between_replicas_chunk_by_chunk() {
    let cluster = Cluster::start(3);
    let [a, b, c] = [&cluster.replicas[0], &cluster.replicas[1], &cluster.replicas[2]];
    let content = noise((1 << 20) + 300_001, 2);
    let (first, rest) = content.split_at(1 << 20);
    let (second, last) = rest.split_at(300_000);
    let digest = sha256(&content);

    // Begun on A.
    let begun = a.request(Method::POST, "/v2/team/chunks/blobs/uploads/").send().await.unwrap();
    assert_eq!(begun.status(), StatusCode::ACCEPTED);
    let upload = location_path(&begun);
    // The first chunk on B.
    let patched = b
        .request(Method::PATCH, &upload)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_RANGE, format!("0-{}", first.len() - 1))
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::ACCEPTED, "{}", patched.text().await.unwrap());
    let upload = location_path(&patched);
    // C knows how far it got, and refuses a chunk that does not follow.
    let status = c.request(Method::GET, &upload).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(status.headers()[header::RANGE], format!("0-{}", first.len() - 1).as_str());
    let misplaced = c
        .request(Method::PATCH, &upload)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_RANGE, format!("5-{}", 4 + second.len()))
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(misplaced.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // The second chunk on C, and the last one with the PUT on A.
    let patched = c
        .request(Method::PATCH, &upload)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_RANGE, format!("{}-{}", first.len(), first.len() + second.len() - 1))
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::ACCEPTED, "{}", patched.text().await.unwrap());
    let upload = location_path(&patched);
    let separator = if upload.contains('?') { '&' } else { '?' };
    let finished = a
        .request(Method::PUT, &format!("{upload}{separator}digest={digest}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(last.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::CREATED, "{}", finished.text().await.unwrap());

    // Every replica serves the blob, whole.
    for replica in &cluster.replicas {
        let response =
            replica.request(Method::GET, &format!("/v2/team/chunks/blobs/{digest}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", replica.server.base);
        assert_eq!(sha256(&response.bytes().await.unwrap()), digest, "{}", replica.server.base);
    }
}

/// A client address for trial `trial`, as a balancer hands it on.
fn client(trial: usize) -> String {
    format!("10.0.{}.{}", trial / 250, trial % 250 + 1)
}

/// `GET /oauth2/token` on `replica` with Basic credentials, for pulling
/// `repository`, from `client`: the bearer token, or `None` when refused.
async fn bearer(
    cluster: &Cluster,
    replica: usize,
    (user, password): (&str, &str),
    repository: &str,
    client: &str,
) -> Option<String> {
    let response = cluster.replicas[replica]
        .client
        .get(cluster.replicas[replica].server.url("/oauth2/token"))
        .header("x-forwarded-for", client)
        .query(&[
            ("service", cluster.balancer.authority.as_str()),
            ("scope", &format!("repository:{repository}:pull")),
        ])
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    if response.status() != StatusCode::OK {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    Some(body["token"].as_str().or(body["access_token"].as_str()).unwrap().to_owned())
}

/// The status of a manifest GET of `team/app:v1` on `replica` with a bearer
/// token.
async fn pull_with(cluster: &Cluster, replica: usize, token: &str) -> StatusCode {
    cluster.replicas[replica]
        .client
        .get(cluster.replicas[replica].server.url("/v2/team/app/manifests/v1"))
        .header(header::ACCEPT, OCI_MANIFEST)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The status of the same GET with Basic credentials, from `client`.
async fn pull_basic(
    cluster: &Cluster,
    replica: usize,
    (user, password): (&str, &str),
    client: &str,
) -> StatusCode {
    cluster.replicas[replica]
        .client
        .get(cluster.replicas[replica].server.url("/v2/team/app/manifests/v1"))
        .header("x-forwarded-for", client)
        .header(header::ACCEPT, OCI_MANIFEST)
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
        .status()
}

async fn admin_call(replica: &Registry, method: Method, path: &str, body: Value) -> Value {
    let response = replica.request(method.clone(), path).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_revocation_on_one_replica_counts_from_the_next_request_on_the_others() {
    let cluster = Cluster::start(3);
    cluster.replicas[0].push_image("team/app", "v1", b"layer").await;
    let rules = json!([{"repository": "team/*", "actions": ["content/read", "metadata/read"]}]);
    let (password1, password2) = create_token(&cluster.replicas[0], "reader", rules).await;

    // Disable on one replica, and the very next request on each other one
    // is refused, however the three are chosen; then enable again.
    for trial in 0..60 {
        let (issuer, user, changer) = (trial % 3, (trial + 1) % 3, (trial + 2) % 3);
        let from = client(trial);
        let token = bearer(&cluster, issuer, ("reader", &password1), "team/app", &from)
            .await
            .expect("a bearer token");
        assert_eq!(
            pull_with(&cluster, user, &token).await,
            StatusCode::OK,
            "trial {trial}: issued elsewhere"
        );
        admin_call(
            &cluster.replicas[changer],
            Method::PATCH,
            "/api/v1/tokens/reader",
            json!({"status": "disabled"}),
        )
        .await;
        for replica in [user, issuer] {
            let status = pull_with(&cluster, replica, &token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "trial {trial}: bearer on replica {replica}");
            let status = pull_basic(&cluster, replica, ("reader", &password2), &from).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "trial {trial}: Basic on replica {replica}");
        }
        assert!(
            bearer(&cluster, user, ("reader", &password1), "team/app", &from).await.is_none(),
            "trial {trial}"
        );
        admin_call(
            &cluster.replicas[issuer],
            Method::PATCH,
            "/api/v1/tokens/reader",
            json!({"status": "enabled"}),
        )
        .await;
    }

    // A regenerated password: the old one and its bearer token are refused
    // on the others at once; the new one works there.
    let from = client(1000);
    let token = bearer(&cluster, 0, ("reader", &password1), "team/app", &from).await.unwrap();
    let generated = admin_call(
        &cluster.replicas[1],
        Method::POST,
        "/api/v1/tokens/reader/credentials",
        json!({"password1": true}),
    )
    .await;
    let renewed = generated["passwords"][0]["value"].as_str().unwrap().to_owned();
    assert_eq!(pull_with(&cluster, 2, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(pull_basic(&cluster, 0, ("reader", &password1), &from).await, StatusCode::UNAUTHORIZED);
    assert_eq!(pull_basic(&cluster, 2, ("reader", &renewed), &from).await, StatusCode::OK);
    let other = pull_basic(&cluster, 0, ("reader", &password2), &from).await;
    assert_eq!(other, StatusCode::OK, "the other password stays");

    // An identity: a user's role assignment deleted on one replica, and
    // the next request on another is refused.
    let alice = ("alice", "alice-password-1");
    admin_call(
        &cluster.replicas[2],
        Method::POST,
        "/api/v1/users",
        json!({"name": alice.0, "password": alice.1}),
    )
    .await;
    let assignment = admin_call(
        &cluster.replicas[0],
        Method::POST,
        "/api/v1/role-assignments",
        json!({"assignee": "alice", "role": "Container Registry Repository Reader"}),
    )
    .await;
    let token = bearer(&cluster, 1, alice, "team/app", &from).await.unwrap();
    assert_eq!(pull_with(&cluster, 2, &token).await, StatusCode::OK);
    assert_eq!(pull_basic(&cluster, 0, alice, &from).await, StatusCode::OK);
    let name = assignment["name"].as_str().unwrap();
    let deleted = cluster.replicas[1]
        .request(Method::DELETE, &format!("/api/v1/role-assignments/{name}"))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_ne!(
        pull_with(&cluster, 2, &token).await,
        StatusCode::OK,
        "alice's bearer token after the deletion"
    );
    assert_ne!(pull_basic(&cluster, 0, alice, &from).await, StatusCode::OK);
}

#[tokio::test]
async fn a_replica_killed_in_the_middle_of_a_push_loses_nothing() {
    let mut cluster = Cluster::start(3);

    // A chunk streams into replica B, which is killed part way.
    const CHUNKS: usize = 24;
    const CHUNK: usize = 1 << 20;
    let content = Arc::new(noise(CHUNKS * CHUNK, 3));
    let digest = sha256(&content);
    let begun =
        cluster.replicas[0].request(Method::POST, "/v2/team/big/blobs/uploads/").send().await.unwrap();
    assert_eq!(begun.status(), StatusCode::ACCEPTED);
    let upload = location_path(&begun);
    let sent = Arc::new(AtomicUsize::new(0));
    let body = {
        let (content, sent) = (content.clone(), sent.clone());
        futures::stream::iter(0..CHUNKS).then(move |index| {
            let (content, sent) = (content.clone(), sent.clone());
            async move {
                tokio::time::sleep(Duration::from_millis(25)).await;
                sent.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(Bytes::copy_from_slice(&content[index * CHUNK..(index + 1) * CHUNK]))
            }
        })
    };
    let patch = cluster.replicas[1]
        .request(Method::PATCH, &upload)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let patch = tokio::spawn(patch);
    while sent.load(Ordering::SeqCst) < CHUNKS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.kill(1);
    let cut = patch.await.unwrap();
    assert!(cut.is_err() || !cut.unwrap().status().is_success(), "the cut request was not acknowledged");

    // Another replica says how much was kept, and the client resumes there.
    let status = cluster.replicas[2].request(Method::GET, &upload).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    let kept = match status.headers().get(header::RANGE) {
        Some(range) => {
            let range = range.to_str().unwrap();
            range.split_once('-').unwrap().1.parse::<usize>().unwrap() + 1
        }
        None => 0,
    };
    assert!(kept <= sent.load(Ordering::SeqCst) * CHUNK, "no more than was sent: {kept}");
    let resumed = cluster.replicas[2]
        .request(Method::PATCH, &upload)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_RANGE, format!("{kept}-{}", content.len() - 1))
        .body(content[kept..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::ACCEPTED, "{}", resumed.text().await.unwrap());
    let upload = location_path(&resumed);
    let separator = if upload.contains('?') { '&' } else { '?' };
    let finished = cluster.replicas[0]
        .request(Method::PUT, &format!("{upload}{separator}digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::CREATED, "{}", finished.text().await.unwrap());

    // Back up, the killed replica serves the blob too.
    cluster.restart(1);
    let head = cluster.replicas[1]
        .request(Method::HEAD, &format!("/v2/team/big/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], content.len().to_string().as_str());

    // skopeo pushes through the balancer while a replica is killed: the
    // push either completes or fails, a retry completes, and the image is
    // whole on every replica afterwards.
    let env = ClientEnv::new();
    let creds = format!("admin:{ADMIN_PASSWORD}");
    let source = OciLayout::create(env.path("source"));
    let image = source.add_image("amd64", &[("data.bin", &noise(16 << 20, 4))]);
    source.tag(&image, "v1");
    let reference = source.reference("v1");
    let remote = format!("docker://{}/team/killed:v1", cluster.balancer.authority);
    let push = || {
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                "--dest-creds",
                &creds,
                &reference,
                &remote,
            ],
        )
    };
    let before = cluster.balancer.served().iter().sum::<usize>();
    let first = push();
    let pushing = std::thread::spawn(move || execute(first, None));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while cluster.balancer.served().iter().sum::<usize>() < before + 4
        && !pushing.is_finished()
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    cluster.kill(2);
    let first = pushing.join().unwrap();
    if !first.success() {
        let retried = execute(push(), None);
        assert!(retried.success(), "the retried push: {}", retried.report());
    }
    cluster.restart(2);
    for replica in &cluster.replicas {
        let raw = inspect_raw(&env, &creds, &format!("{}/team/killed:v1", replica.server.authority()));
        assert_eq!(sha256(raw.as_bytes()), image.digest, "{}", replica.server.base);
    }
    cluster.assert_fsck_clean();
}

#[tokio::test]
async fn replicas_pushing_one_blob_and_tag_at_once_keep_everything_whole() {
    let cluster = Cluster::start(3);
    let [a, b, c] = [&cluster.replicas[0], &cluster.replicas[1], &cluster.replicas[2]];
    let layer = noise(2 << 20, 5);
    let layer_digest = sha256(&layer);
    let mut pushed = Vec::new();
    for round in 0..8 {
        // The same layer and the same tag from two replicas at once, each
        // with its own config (so two different manifests).
        let config =
            |by: &str| format!(r#"{{"architecture":"amd64","os":"linux","round":{round},"by":"{by}"}}"#);
        let (config_a, config_b) = (config("a"), config("b"));
        let (one, two) = tokio::join!(
            push_image(a, "team/race", "latest", config_a.as_bytes(), &layer),
            push_image(b, "team/race", "latest", config_b.as_bytes(), &layer),
        );
        let pushed_by = |outcome: Result<String, (StatusCode, String)>| {
            outcome.unwrap_or_else(|(status, body)| panic!("round {round}: {status} {body}"))
        };
        let (one, two) = (pushed_by(one), pushed_by(two));
        let tagged = c
            .request(Method::HEAD, "/v2/team/race/manifests/latest")
            .header(header::ACCEPT, OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        let tagged = tagged.headers()["docker-content-digest"].to_str().unwrap().to_owned();
        assert!(tagged == one || tagged == two, "round {round}: the tag names one of the two pushes");
        pushed.extend([one, two]);
    }

    // A manifest PUT racing its own delete: whichever wins, a tag never
    // names a manifest that is gone.
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = a.push_blob("team/race", config).await;
    for round in 0..8 {
        let manifest = image_manifest(&config_digest, config.len(), &[(&layer_digest, layer.len())], None);
        let digest = sha256(&manifest);
        let tag = format!("doomed-{round}");
        let put = a
            .request(Method::PUT, &format!("/v2/team/race/manifests/{tag}"))
            .header(header::CONTENT_TYPE, OCI_MANIFEST)
            .body(manifest)
            .send();
        let delete = b.request(Method::DELETE, &format!("/v2/team/race/manifests/{digest}")).send();
        let (put, _) = tokio::join!(put, delete);
        assert_eq!(put.unwrap().status(), StatusCode::CREATED);
        let by_tag = c
            .request(Method::GET, &format!("/v2/team/race/manifests/{tag}"))
            .header(header::ACCEPT, OCI_MANIFEST)
            .send()
            .await
            .unwrap()
            .status();
        let by_digest = c
            .request(Method::GET, &format!("/v2/team/race/manifests/{digest}"))
            .header(header::ACCEPT, OCI_MANIFEST)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(by_tag, by_digest, "round {round}: the tag and its manifest stand or fall together");
    }

    // Every manifest pushed is whole on every replica, and so is the layer.
    for replica in &cluster.replicas {
        for digest in &pushed {
            if let Err(wrong) = whole_image(replica, "team/race", digest).await {
                panic!("{wrong} on {}", replica.server.base);
            }
        }
    }
    cluster.assert_fsck_clean();
}

/// Garbage collection run on one replica's machine (`portcullis gc` on the
/// shared database and bucket) while the other replicas take pushes: it
/// removes the images deleted before it, and every push that was
/// acknowledged stays whole. With no grace period a blob pushed a moment
/// before its manifest may be collected first; the registry then refuses
/// that push (the blob POST or the manifest PUT), never acknowledges a
/// manifest whose blobs are gone, and the push succeeds when repeated, as
/// clients repeat it. With the default grace period a concurrent push by
/// skopeo through the balancer is never disturbed.
#[tokio::test]
async fn gc_on_one_replica_while_the_others_take_pushes_keeps_every_acknowledged_image() {
    let cluster = Cluster::start(3);
    let (b, c) = (&cluster.replicas[1], &cluster.replicas[2]);
    let config = |name: &str| format!(r#"{{"architecture":"amd64","os":"linux","name":"{name}"}}"#);

    // Garbage: four images pushed and deleted again.
    let mut garbage = Vec::new();
    for round in 0..4u64 {
        let layer = noise(256 << 10, 100 + round);
        let manifest = push_image(
            b,
            "team/gc",
            &format!("old-{round}"),
            config(&format!("old-{round}")).as_bytes(),
            &layer,
        )
        .await
        .unwrap_or_else(|(status, body)| panic!("{status} {body}"));
        let deleted =
            c.request(Method::DELETE, &format!("/v2/team/gc/manifests/{manifest}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::ACCEPTED);
        garbage.push(sha256(&layer));
    }

    // gc with no grace period, over and over, while B and C take pushes.
    let collecting = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let gc_runs = {
        let collecting = collecting.clone();
        let database_url = cluster.database_url.clone();
        let shared = cluster.shared.path().to_owned();
        let storage = cluster.storage.clone();
        std::thread::spawn(move || {
            let mut reports = Vec::new();
            while collecting.load(Ordering::SeqCst) || reports.is_empty() {
                let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
                command
                    .args(["gc", "--grace-minutes", "0", "--database-url", &database_url, "--data-dir"])
                    .arg(&shared)
                    .env("PORTCULLIS_LOG", "warn")
                    .envs(storage.iter().map(|(key, value)| (key, value)));
                let outcome = execute(command, None);
                assert!(outcome.success(), "gc failed: {}", outcome.report());
                reports.push(outcome.stdout);
            }
            reports
        })
    };
    let mut acknowledged = Vec::new();
    let mut repeated = 0;
    for round in 0..12u64 {
        let replica = if round % 2 == 0 { b } else { c };
        let layer = noise(512 << 10, 200 + round);
        let tag = format!("new-{round}");
        let mut attempts = 0;
        let manifest = loop {
            attempts += 1;
            match push_image(replica, "team/gc", &tag, config(&tag).as_bytes(), &layer).await {
                Ok(manifest) => break manifest,
                // A blob collected after its POST: the POST fails once its
                // rows commit and the bytes are gone (500, "retry the
                // push"), or the manifest PUT finds the blob unknown.
                Err((status, body))
                    if attempts < 20
                        && (status == StatusCode::INTERNAL_SERVER_ERROR
                            || (status == StatusCode::BAD_REQUEST && body.contains("BLOB_UNKNOWN"))) =>
                {
                    repeated += 1;
                }
                Err((status, body)) => panic!("round {round}, attempt {attempts}: {status} {body}"),
            }
        };
        // Acknowledged means whole, even with gc running.
        if let Err(wrong) = whole_image(replica, "team/gc", &manifest).await {
            panic!("round {round}: acknowledged, then {wrong}");
        }
        acknowledged.push(manifest);
    }
    collecting.store(false, Ordering::SeqCst);
    let reports = gc_runs.join().expect("the gc thread");
    eprintln!("gc ran {} times beside 12 pushes; {repeated} pushes were repeated", reports.len());

    // Every acknowledged image is whole on every replica, the garbage is
    // gone, and the bucket matches the database.
    let collected: usize = reports
        .iter()
        .map(|report| {
            let count = report.split("removed ").nth(1).and_then(|rest| rest.split(' ').next());
            count
                .and_then(|count| count.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("a gc report: {report}"))
        })
        .sum();
    assert!(collected >= 8, "the 4 deleted images' configs and layers were collected: {reports:?}");
    for replica in &cluster.replicas {
        for manifest in &acknowledged {
            if let Err(wrong) = whole_image(replica, "team/gc", manifest).await {
                panic!("{wrong} on {}", replica.server.base);
            }
        }
        for layer in &garbage {
            let response =
                replica.request(Method::GET, &format!("/v2/team/gc/blobs/{layer}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "a collected layer");
        }
    }
    cluster.assert_fsck_clean();

    // With the default grace period, gc beside a skopeo push through the
    // balancer removes nothing new and the push needs no second try.
    let env = ClientEnv::new();
    let source = OciLayout::create(env.path("source"));
    let image = source.add_image("amd64", &[("data.bin", &noise(4 << 20, 300))]);
    source.tag(&image, "v1");
    let remote = format!("docker://{}/team/gc:skopeo", cluster.balancer.authority);
    let push = std::thread::spawn(move || {
        let arguments = [
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            &format!("admin:{ADMIN_PASSWORD}"),
            &source.reference("v1"),
            &remote,
        ];
        succeed(skopeo(&env, &arguments), None);
        env
    });
    let mut beside = vec![cluster.gc(&[])];
    while !push.is_finished() {
        beside.push(cluster.gc(&[]));
    }
    push.join().expect("skopeo pushed");
    assert!(beside.iter().all(|report| report.contains("removed 0 blobs")), "{beside:?}");
    let digest = c
        .request(Method::HEAD, "/v2/team/gc/manifests/skopeo")
        .header(header::ACCEPT, OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(digest.headers()["docker-content-digest"], image.digest.as_str());
    whole_image(c, "team/gc", &image.digest).await.unwrap();
    cluster.assert_fsck_clean();
}
