//! The OCI data plane over HTTP against the real server: every endpoint,
//! its headers, and its error paths (see docs/OCI_CONFORMANCE_CHECKLIST.md).

use reqwest::{header, Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::testkit::{Log, TestServer, ADMIN_PASSWORD};

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An admin client speaking to one server with Basic credentials.
pub struct Registry {
    pub server: TestServer,
    pub client: Client,
    data_dir: std::path::PathBuf,
    /// The temporary data directory, unless the test brought its own.
    _data: Option<tempfile::TempDir>,
}

impl Registry {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`Registry::start`], with more `serve` arguments.
    pub fn start_with(extra_args: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut registry = Self::start_in(data.path(), extra_args);
        registry._data = Some(data);
        registry
    }

    /// Like [`Registry::start_with`], on a data directory the test owns
    /// (e.g. on a filesystem it mounted).
    pub fn start_in(data_dir: &std::path::Path, extra_args: &[&str]) -> Self {
        Self::start_in_env(data_dir, extra_args, &[])
    }

    /// Like [`Registry::start_in`], with more environment.
    pub fn start_in_env(data_dir: &std::path::Path, extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let server = TestServer::start_with_env(data_dir, Some(ADMIN_PASSWORD), extra_args, env);
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { server, client, data_dir: data_dir.to_owned(), _data: None }
    }

    /// Like [`Registry::start`], logging at `filter` into the returned log.
    pub fn start_logging(filter: &str) -> (Self, Log) {
        let data = tempfile::tempdir().unwrap();
        let (server, log) = TestServer::start_logging(data.path(), filter);
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        (Self { server, client, data_dir: data.path().to_owned(), _data: Some(data) }, log)
    }

    /// `POST /oauth2/token` with the OAuth2 password grant for `scope`:
    /// the answer's JSON, with an access and a refresh token.
    pub async fn password_grant(&self, user: &str, password: &str, scope: &str) -> Value {
        let service = self.server.authority();
        let form = [
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("service", service),
            ("scope", scope),
            ("client_id", "test"),
        ];
        let response = self.client.post(self.server.url("/oauth2/token")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "password grant for {user}");
        response.json().await.unwrap()
    }

    /// `POST /oauth2/token` with the refresh-token grant for `scope`.
    pub async fn refresh_grant(&self, refresh_token: &str, scope: &str) -> reqwest::Response {
        let service = self.server.authority();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("service", service),
            ("scope", scope),
        ];
        self.client.post(self.server.url("/oauth2/token")).form(&form).send().await.unwrap()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.server.url(path)).basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    /// `GET path` as the administrator, read as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.request(Method::GET, path).send().await.unwrap().json().await.unwrap()
    }

    pub async fn push_blob(&self, repo: &str, content: &[u8]) -> String {
        let digest = sha256(content);
        let response = self
            .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={digest}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(content.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        digest
    }

    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Response {
        self.request(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))
            .header(header::CONTENT_TYPE, media_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Pushes a config and one layer and an OCI image manifest; returns
    /// (manifest bytes, manifest digest).
    pub async fn push_image(&self, repo: &str, tag: &str, layer: &[u8]) -> (Vec<u8>, String) {
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = self.push_blob(repo, config).await;
        let layer_digest = self.push_blob(repo, layer).await;
        let manifest = image_manifest(&config_digest, config.len(), &[(&layer_digest, layer.len())], None);
        let response = self.push_manifest(repo, tag, OCI_MANIFEST, &manifest).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let digest = sha256(&manifest);
        (manifest, digest)
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn image_manifest(
    config: &str,
    config_size: usize,
    layers: &[(&str, usize)],
    subject: Option<(&str, usize)>,
) -> Vec<u8> {
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": layers.iter().map(|(d, s)| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})).collect::<Vec<_>>(),
    });
    if let Some((digest, size)) = subject {
        manifest["subject"] = json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size});
    }
    serde_json::to_vec(&manifest).unwrap()
}

async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["errors"][0]["code"].as_str().unwrap_or_default().to_owned()
}

fn header_of<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

#[tokio::test]
async fn version_check_and_authentication_challenge() {
    let registry = Registry::start();
    let anonymous = registry.client.get(registry.server.url("/v2/")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header_of(&anonymous, "docker-distribution-api-version"), "registry/2.0");
    let challenge = header_of(&anonymous, "www-authenticate").to_owned();
    let authority = registry.server.authority();
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"http://{authority}/oauth2/token\"")),
        "{challenge}"
    );
    assert!(challenge.contains(&format!("service=\"{authority}\"")), "{challenge}");
    assert_eq!(error_code(anonymous).await, "UNAUTHORIZED");

    // The challenge of a repository request names its scope.
    let response =
        registry.client.get(registry.server.url("/v2/samples/hello/tags/list")).send().await.unwrap();
    let challenge = header_of(&response, "www-authenticate");
    assert!(challenge.contains("scope=\"repository:samples/hello:metadata_read\""), "{challenge}");

    let wrong = registry
        .client
        .get(registry.server.url("/v2/"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = registry.request(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(header_of(&ok, "docker-distribution-api-version"), "registry/2.0");
}

#[tokio::test]
async fn token_endpoint_issues_scoped_bearer_tokens() {
    let registry = Registry::start();
    let service = registry.server.authority().to_owned();
    let url = |scope: &str| registry.server.url(&format!("/oauth2/token?service={service}&scope={scope}"));

    let anonymous = registry.client.get(url("repository:a/b:pull")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = registry
        .client
        .get(url("repository:a/b:pull"))
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let body: Value = registry
        .client
        .get(url("repository:a/b:pull,push"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["access_token"], body["token"]);
    assert!(body["expires_in"].as_u64().unwrap() >= 60);
    let bearer = |method: Method, path: &str| {
        registry.client.request(method, registry.server.url(path)).bearer_auth(&token)
    };
    // Granted: push and pull on a/b.
    let content = b"bearer pushed blob";
    let digest = sha256(content);
    let response = bearer(Method::POST, &format!("/v2/a/b/blobs/uploads/?digest={digest}"))
        .body(content.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = bearer(Method::GET, &format!("/v2/a/b/blobs/{digest}")).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), content);
    // Not in the token: delete on a/b, anything on another repository.
    let response = bearer(Method::DELETE, &format!("/v2/a/b/blobs/{digest}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(header_of(&response, "www-authenticate").contains("error=\"insufficient_scope\""));
    let response = bearer(Method::GET, &format!("/v2/other/blobs/{digest}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A forged token is refused.
    let forged = format!("{}x", &token[..token.len() - 1]);
    let response = registry.client.get(registry.server.url("/v2/")).bearer_auth(forged).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // OAuth2 password grant with a refresh token, then the refresh grant.
    let body = registry.password_grant("admin", ADMIN_PASSWORD, "repository:a/b:pull").await;
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(body["access_token"].is_string());
    let response = registry.refresh_grant(&refresh, "repository:a/b:pull").await;
    assert_eq!(response.status(), StatusCode::OK);
    let access = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let response = registry
        .client
        .get(registry.server.url(&format!("/v2/a/b/blobs/{digest}")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // An access token is not a refresh token.
    let form =
        [("grant_type", "refresh_token"), ("refresh_token", access.as_str()), ("service", service.as_str())];
    let response =
        registry.client.post(registry.server.url("/oauth2/token")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Every `Range` form of RFC 9110 §14.1.1 on a blob GET: one satisfiable
/// range is 206 with its `Content-Range`, an unsatisfiable one 416 with
/// `bytes */<size>`, and several ranges or invalid syntax are ignored (200,
/// the whole blob), as docs/API.md says.
#[tokio::test]
async fn blob_range_forms() {
    let registry = Registry::start();
    let repo = "samples/ranges";
    let content = b"hello, registry";
    let size = content.len();
    let digest = registry.push_blob(repo, content).await;
    let get = |range: &'static str| {
        registry
            .request(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
            .header(header::RANGE, range)
            .send()
    };
    let partial = [
        // (Range, Content-Range, body)
        ("bytes=7-14", format!("bytes 7-14/{size}"), &b"registry"[..]),
        ("bytes=7-100", format!("bytes 7-14/{size}"), b"registry"),
        ("bytes=7-", format!("bytes 7-14/{size}"), b"registry"),
        ("bytes=0-", format!("bytes 0-14/{size}"), content),
        ("bytes=-8", format!("bytes 7-14/{size}"), b"registry"),
        ("bytes=-1", format!("bytes 14-14/{size}"), b"y"),
        ("bytes=-100", format!("bytes 0-14/{size}"), content),
    ];
    for (range, content_range, body) in partial {
        let response = get(range).await.unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header_of(&response, "content-range"), content_range, "{range}");
        assert_eq!(header_of(&response, "content-length"), body.len().to_string(), "{range}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), body, "{range}");
    }
    for range in ["bytes=15-", "bytes=100-200", "bytes=-0"] {
        let response = get(range).await.unwrap();
        assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header_of(&response, "content-range"), format!("bytes */{size}"), "{range}");
    }
    // Several ranges, reversed or malformed ones, and other units: the
    // whole blob.
    for range in ["bytes=0-4, 7-14", "bytes=0-1,-3", "bytes=0-4, 100-", "bytes=9-3", "bytes=abc", "items=0-4"]
    {
        let response = get(range).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{range}");
        assert!(response.headers().get("content-range").is_none(), "{range}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), content, "{range}");
    }
}

#[tokio::test]
async fn blobs_monolithic_chunked_ranged_and_deleted() {
    let registry = Registry::start();
    let repo = "samples/blobs";

    // Monolithic POST ?digest=.
    let content = b"hello, registry";
    let digest = registry.push_blob(repo, content).await;
    let head = registry.request(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header_of(&head, "content-length"), content.len().to_string());
    assert_eq!(header_of(&head, "docker-content-digest"), digest);
    let get = registry.request(Method::GET, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.bytes().await.unwrap().as_ref(), content);

    // Range request.
    let part = registry
        .request(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .header(header::RANGE, "bytes=7-14")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header_of(&part, "content-range"), format!("bytes 7-14/{}", content.len()));
    assert_eq!(part.bytes().await.unwrap().as_ref(), b"registry");
    let past = registry
        .request(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .header(header::RANGE, "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // POST then PUT with the whole body.
    let content2 = b"second blob, POST then PUT";
    let digest2 = sha256(content2);
    let start = registry.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let location = header_of(&start, "location").to_owned();
    assert!(location.starts_with(&format!("/v2/{repo}/blobs/uploads/")), "{location}");
    assert!(!header_of(&start, "docker-upload-uuid").is_empty());
    let put = registry
        .request(Method::PUT, &format!("{location}?digest={digest2}"))
        .body(content2.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(header_of(&put, "location"), format!("/v2/{repo}/blobs/{digest2}"));
    assert_eq!(header_of(&put, "docker-content-digest"), digest2);

    // Chunked: two PATCHes with Content-Range, a status GET, an
    // out-of-order chunk (416), then PUT without body.
    let content3: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let digest3 = sha256(&content3);
    let start = registry.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    let location = header_of(&start, "location").to_owned();
    let first = registry
        .request(Method::PATCH, &location)
        .header(header::CONTENT_RANGE, "0-59999")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(content3[..60_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(header_of(&first, "range"), "0-59999");
    let location = header_of(&first, "location").to_owned();
    let status = registry.request(Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(header_of(&status, "range"), "0-59999");
    let wrong = registry
        .request(Method::PATCH, &location)
        .header(header::CONTENT_RANGE, "70000-99999")
        .body(content3[70_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header_of(&wrong, "range"), "0-59999");
    let second = registry
        .request(Method::PATCH, &location)
        .header(header::CONTENT_RANGE, "60000-99999")
        .body(content3[60_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    assert_eq!(header_of(&second, "range"), "0-99999");
    let location = header_of(&second, "location").to_owned();
    let done = registry.request(Method::PUT, &format!("{location}?digest={digest3}")).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    let get = registry.request(Method::GET, &format!("/v2/{repo}/blobs/{digest3}")).send().await.unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), &content3[..]);
    // The finished session is gone.
    let gone = registry.request(Method::GET, &location).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(gone).await, "BLOB_UPLOAD_UNKNOWN");

    // Cancel an upload.
    let start = registry.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    let location = header_of(&start, "location").to_owned();
    assert_eq!(
        registry.request(Method::DELETE, &location).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        registry.request(Method::GET, &location).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // A blob is visible only where it was pushed or mounted.
    let elsewhere =
        registry.request(Method::HEAD, &format!("/v2/other/blobs/{digest}")).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let mount = registry
        .request(Method::POST, &format!("/v2/other/blobs/uploads/?mount={digest}&from={repo}"))
        .send()
        .await
        .unwrap();
    assert_eq!(mount.status(), StatusCode::CREATED);
    assert_eq!(header_of(&mount, "location"), format!("/v2/other/blobs/{digest}"));
    assert_eq!(
        registry.request(Method::HEAD, &format!("/v2/other/blobs/{digest}")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Mounting what the source does not have falls back to an upload.
    let unknown = sha256(b"never pushed");
    let fallback = registry
        .request(Method::POST, &format!("/v2/other/blobs/uploads/?mount={unknown}&from={repo}"))
        .send()
        .await
        .unwrap();
    assert_eq!(fallback.status(), StatusCode::ACCEPTED);

    // Delete a blob from one repository.
    let delete =
        registry.request(Method::DELETE, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::ACCEPTED);
    let gone = registry.request(Method::GET, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(gone).await, "BLOB_UNKNOWN");
    assert_eq!(
        registry.request(Method::HEAD, &format!("/v2/other/blobs/{digest}")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_blob_input_gets_the_right_error_and_changes_nothing() {
    let registry = Registry::start();
    let repo = "samples/bad";
    let content = b"some content";
    let wrong_digest = sha256(b"other content");
    // Wrong digest on a monolithic upload.
    let response = registry
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={wrong_digest}"))
        .body(content.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "DIGEST_INVALID");
    assert_eq!(
        registry
            .request(Method::HEAD, &format!("/v2/{repo}/blobs/{wrong_digest}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry
            .request(Method::HEAD, &format!("/v2/{repo}/blobs/{}", sha256(content)))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Malformed digests, names and upload ids.
    let cases = [
        (
            Method::GET,
            "/v2/samples/bad/blobs/sha256:1234".to_owned(),
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
        ),
        (
            Method::GET,
            "/v2/samples/bad/blobs/md5:d41d8cd98f00b204e9800998ecf8427e".to_owned(),
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
        ),
        (Method::GET, "/v2/Samples/Bad/tags/list".to_owned(), StatusCode::BAD_REQUEST, "NAME_INVALID"),
        (
            Method::GET,
            "/v2/samples/..%2F..%2Fetc/tags/list".to_owned(),
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
        ),
        (
            Method::GET,
            "/v2/samples/bad/blobs/uploads/not-an-upload".to_owned(),
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        (
            Method::GET,
            "/v2/samples/bad/manifests/-notatag".to_owned(),
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
        ),
        (
            Method::PUT,
            "/v2/samples/bad/manifests/-notatag".to_owned(),
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
        ),
        (
            Method::POST,
            "/v2/samples/bad/manifests/latest".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
        ),
        (Method::GET, "/v2/samples/bad/tags/list".to_owned(), StatusCode::NOT_FOUND, "NAME_UNKNOWN"),
    ];
    for (method, path, status, code) in cases {
        let response = registry.request(method.clone(), &path).send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert_eq!(error_code(response).await, code, "{method} {path}");
    }
    // A PUT to finish an upload with the wrong digest leaves no blob.
    let start = registry.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    let location = header_of(&start, "location").to_owned();
    let response = registry
        .request(Method::PUT, &format!("{location}?digest={wrong_digest}"))
        .body(content.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "DIGEST_INVALID");
    assert_eq!(
        registry
            .request(Method::HEAD, &format!("/v2/{repo}/blobs/{wrong_digest}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Finishing without a digest.
    let response = registry.request(Method::PUT, &location).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "DIGEST_INVALID");
}

#[tokio::test]
async fn manifests_tags_referrers_catalog_and_deletes() {
    let registry = Registry::start();
    let repo = "samples/hello-world";
    let (manifest, digest) = registry.push_image(repo, "v1", b"layer one").await;

    // GET and HEAD by tag and by digest.
    for reference in ["v1", digest.as_str()] {
        let get = registry
            .request(Method::GET, &format!("/v2/{repo}/manifests/{reference}"))
            .header(header::ACCEPT, OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(header_of(&get, "content-type"), OCI_MANIFEST);
        assert_eq!(header_of(&get, "docker-content-digest"), digest);
        assert_eq!(get.bytes().await.unwrap().as_ref(), &manifest[..]);
        let head = registry
            .request(Method::HEAD, &format!("/v2/{repo}/manifests/{reference}"))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(header_of(&head, "content-length"), manifest.len().to_string());
        assert_eq!(header_of(&head, "docker-content-digest"), digest);
    }
    let unknown = registry.request(Method::GET, &format!("/v2/{repo}/manifests/v9")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(unknown).await, "MANIFEST_UNKNOWN");

    // PUT by digest: must match the content.
    let response = registry.push_manifest(repo, &digest, OCI_MANIFEST, &manifest).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header_of(&response, "location"), format!("/v2/{repo}/manifests/{digest}"));
    let response = registry.push_manifest(repo, &sha256(b"x"), OCI_MANIFEST, &manifest).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "DIGEST_INVALID");

    // References must exist in the repository.
    let missing = image_manifest(&sha256(b"no config"), 9, &[], None);
    let response = registry.push_manifest(repo, "broken", OCI_MANIFEST, &missing).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "MANIFEST_BLOB_UNKNOWN");
    // Invalid, oversized and unsupported manifests.
    let response = registry.push_manifest(repo, "broken", OCI_MANIFEST, b"{not json").await;
    assert_eq!(error_code(response).await, "MANIFEST_INVALID");
    let huge = vec![b' '; 4 * 1024 * 1024 + 1];
    let response = registry.push_manifest(repo, "broken", OCI_MANIFEST, &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = registry
        .push_manifest(
            repo,
            "broken",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            br#"{"schemaVersion":1}"#,
        )
        .await;
    assert_eq!(error_code(response).await, "UNSUPPORTED");
    assert_eq!(
        registry.request(Method::GET, &format!("/v2/{repo}/manifests/broken")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // Tags with paging.
    for tag in ["v2", "v3", "latest"] {
        assert_eq!(
            registry.push_manifest(repo, tag, OCI_MANIFEST, &manifest).await.status(),
            StatusCode::CREATED
        );
    }
    let list: Value = registry.get_json(&format!("/v2/{repo}/tags/list")).await;
    assert_eq!(list, json!({"name": repo, "tags": ["latest", "v1", "v2", "v3"]}));
    let page = registry.request(Method::GET, &format!("/v2/{repo}/tags/list?n=2")).send().await.unwrap();
    assert_eq!(header_of(&page, "link"), format!("</v2/{repo}/tags/list?n=2&last=v1>; rel=\"next\""));
    assert_eq!(page.json::<Value>().await.unwrap()["tags"], json!(["latest", "v1"]));
    let page =
        registry.request(Method::GET, &format!("/v2/{repo}/tags/list?n=2&last=v1")).send().await.unwrap();
    assert!(page.headers().get("link").is_none());
    assert_eq!(page.json::<Value>().await.unwrap()["tags"], json!(["v2", "v3"]));
    let page: Value = registry.get_json(&format!("/v2/{repo}/tags/list?n=0")).await;
    assert_eq!(page["tags"], json!([]));

    // An index of the image.
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len(), "platform": {"architecture": "amd64", "os": "linux"}}]
    })).unwrap();
    let response = registry.push_manifest(repo, "multi", OCI_INDEX, &index).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let get = registry.request(Method::GET, &format!("/v2/{repo}/manifests/multi")).send().await.unwrap();
    assert_eq!(header_of(&get, "content-type"), OCI_INDEX);

    // Referrers: an artifact whose subject is the image.
    let empty = registry.push_blob(repo, b"{}").await;
    let mut artifact: Value =
        serde_json::from_slice(&image_manifest(&empty, 2, &[], Some((&digest, manifest.len())))).unwrap();
    artifact["artifactType"] = json!("application/vnd.example.sbom");
    artifact["config"]["mediaType"] = json!("application/vnd.oci.empty.v1+json");
    artifact["annotations"] = json!({"org.example.kind": "sbom"});
    let artifact = serde_json::to_vec(&artifact).unwrap();
    let artifact_digest = sha256(&artifact);
    let response = registry.push_manifest(repo, &artifact_digest, OCI_MANIFEST, &artifact).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header_of(&response, "oci-subject"), digest);
    let referrers =
        registry.request(Method::GET, &format!("/v2/{repo}/referrers/{digest}")).send().await.unwrap();
    assert_eq!(referrers.status(), StatusCode::OK);
    assert_eq!(header_of(&referrers, "content-type"), OCI_INDEX);
    let body: Value = referrers.json().await.unwrap();
    assert_eq!(body["manifests"][0]["digest"], artifact_digest.as_str());
    assert_eq!(body["manifests"][0]["artifactType"], "application/vnd.example.sbom");
    assert_eq!(body["manifests"][0]["annotations"]["org.example.kind"], "sbom");
    let filtered = registry
        .request(
            Method::GET,
            &format!("/v2/{repo}/referrers/{digest}?artifactType=application/vnd.example.other"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(header_of(&filtered, "oci-filters-applied"), "artifactType");
    assert_eq!(filtered.json::<Value>().await.unwrap()["manifests"], json!([]));
    let none: Value = registry.get_json(&format!("/v2/{repo}/referrers/{}", sha256(b"nothing"))).await;
    assert_eq!(none["manifests"], json!([]));

    // Catalog with paging.
    registry.push_image("samples/zeta", "v1", b"z").await;
    registry.push_image("alpha", "v1", b"a").await;
    let catalog: Value = registry.get_json("/v2/_catalog").await;
    assert_eq!(catalog["repositories"], json!(["alpha", "samples/hello-world", "samples/zeta"]));
    let page = registry.request(Method::GET, "/v2/_catalog?n=1").send().await.unwrap();
    assert_eq!(header_of(&page, "link"), "</v2/_catalog?n=1&last=alpha>; rel=\"next\"");

    // Untag, then delete the manifest by digest (its tags go with it).
    assert_eq!(
        registry.request(Method::DELETE, &format!("/v2/{repo}/manifests/v3")).send().await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        registry.request(Method::GET, &format!("/v2/{repo}/manifests/v3")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.request(Method::GET, &format!("/v2/{repo}/manifests/v2")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        registry
            .request(Method::DELETE, &format!("/v2/{repo}/manifests/{digest}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        registry.request(Method::GET, &format!("/v2/{repo}/manifests/v2")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let missing =
        registry.request(Method::DELETE, &format!("/v2/{repo}/manifests/{digest}")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(missing).await, "MANIFEST_UNKNOWN");
}

/// The manifest shapes the OCI conformance suite pushes: a descriptor with
/// `data` and a field no spec defines, a manifest without `mediaType` and
/// without layers, and referrers whose subject was never pushed.
#[tokio::test]
async fn accepts_the_conformance_suites_manifest_shapes() {
    use base64::Engine as _;
    let registry = Registry::start();
    let repo = "conformance/shapes";
    let config = br#"{"author":"conformance","architecture":"amd64","os":"linux"}"#;
    let config_digest = registry.push_blob(repo, config).await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest, "size": config.len(),
            "data": base64::engine::general_purpose::STANDARD.encode(config),
            "newUnspecifiedField": null
        },
        "layers": []
    }))
    .unwrap();
    let response = registry.push_manifest(repo, "emptylayer", OCI_MANIFEST, &manifest).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());

    // A referrer of a subject that does not exist (yet) is stored and listed.
    let missing_subject = sha256(b"never pushed subject");
    let empty = registry.push_blob(repo, b"{}").await;
    let mut referrer: Value =
        serde_json::from_slice(&image_manifest(&empty, 2, &[(&empty, 2)], Some((&missing_subject, 100))))
            .unwrap();
    referrer["config"]["mediaType"] = json!("application/vnd.oci.empty.v1+json");
    referrer["artifactType"] = json!("application/vnd.nba.strawberry.jam.croissant");
    referrer["annotations"] = json!({"org.opencontainers.conformance.test": "test layer c"});
    let referrer = serde_json::to_vec(&referrer).unwrap();
    let response = registry.push_manifest(repo, &sha256(&referrer), OCI_MANIFEST, &referrer).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header_of(&response, "oci-subject"), missing_subject);
    let listed = registry
        .request(Method::GET, &format!("/v2/{repo}/referrers/{missing_subject}"))
        .send()
        .await
        .unwrap();
    assert_eq!(header_of(&listed, "content-type"), OCI_INDEX);
    let body: Value = listed.json().await.unwrap();
    assert_eq!(body["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["manifests"][0]["annotations"],
        json!({"org.opencontainers.conformance.test": "test layer c"})
    );

    // A GET with a malformed digest answers 400 with an OCI error body.
    let response = registry
        .request(Method::GET, &format!("/v2/{repo}/manifests/sha256:totallywrong"))
        .body("blablabla")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "DIGEST_INVALID");
    // HEAD of a name that cannot be a tag is a plain 404.
    let response = registry
        .request(Method::HEAD, &format!("/v2/{repo}/manifests/.INVALID_MANIFEST_NAME"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A client that promises more bytes than it sends and hangs up: nothing
/// becomes visible, and a retry succeeds.
#[tokio::test]
async fn truncated_bodies_leave_nothing_behind() {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let registry = Registry::start();
    let repo = "samples/truncated";
    let content = vec![7u8; 100_000];
    let digest = sha256(&content);
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    let mut socket = tokio::net::TcpStream::connect(registry.server.authority()).await.unwrap();
    let head = format!(
        "POST /v2/{repo}/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {credentials}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        registry.server.authority(),
        content.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&content[..40_000]).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    drop(socket);

    let head = registry.request(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let leftovers = std::fs::read_dir(registry.data_dir().join("uploads")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "a failed monolithic upload leaves no staging file");
    // The full retry works.
    assert_eq!(registry.push_blob(repo, &content).await, digest);
}

/// sha512 digests work for blobs and for manifests pushed by digest.
#[tokio::test]
async fn sha512_digests_for_blobs_and_manifests() {
    use sha2::Sha512;
    let sha512 = |bytes: &[u8]| format!("sha512:{}", hex::encode(Sha512::digest(bytes)));
    let registry = Registry::start();
    let repo = "samples/sha512";
    let config = br#"{"architecture":"arm64","os":"linux"}"#;
    let config_digest = sha512(config);
    let response = registry
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={config_digest}"))
        .body(config.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header_of(&response, "docker-content-digest"), config_digest);
    let wrong = sha512(b"something else");
    let response = registry
        .request(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={wrong}"))
        .body(config.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, "DIGEST_INVALID");
    let manifest = image_manifest(&config_digest, config.len(), &[], None);
    let manifest_digest = sha512(&manifest);
    let response = registry.push_manifest(repo, &manifest_digest, OCI_MANIFEST, &manifest).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    let get = registry
        .request(Method::GET, &format!("/v2/{repo}/manifests/{manifest_digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(header_of(&get, "docker-content-digest"), manifest_digest);
    assert_eq!(get.bytes().await.unwrap().as_ref(), &manifest[..]);
    let blob =
        registry.request(Method::GET, &format!("/v2/{repo}/blobs/{config_digest}")).send().await.unwrap();
    assert_eq!(blob.bytes().await.unwrap().as_ref(), config);
}
