//! Workload identity federation against the real server (issue 11): the
//! test is the OpenID Connect issuer (a key pair made with `openssl`, its
//! discovery document and JWKS served on 127.0.0.1), a service principal
//! trusts it through a federated credential, a good ID token is exchanged
//! at `/oauth2/exchange` for a refresh token that skopeo logs in with as
//! `00000000-0000-0000-0000-000000000000` and pulls, and every bad token is
//! refused with its reason and audited. Deleting the credential ends the
//! refresh token at the next request.

use std::process::Command;

use axum::{routing::get, Json, Router};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    clients::{fail, skopeo, succeed, ClientEnv},
    registry::Registry,
};

const FEDERATED_USER: &str = "00000000-0000-0000-0000-000000000000";
const AUDIENCE: &str = "api://portcullis-test";
const SUBJECT_PATTERN: &str = "repo:acme/api:ref:refs/heads/*";
const SUBJECT: &str = "repo:acme/api:ref:refs/heads/main";
const READER: &str = "Container Registry Repository Reader";

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().expect("the openssl command");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// An RSA key pair: the signing key and its public JWK.
fn rsa_key(kid: &str) -> (EncodingKey, Value) {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("key.pem");
    let pem = pem.to_str().unwrap();
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem]);
    let der = openssl(&["rsa", "-in", pem, "-outform", "DER", "-traditional"]);
    let modulus = String::from_utf8(openssl(&["rsa", "-in", pem, "-noout", "-modulus"])).unwrap();
    let modulus = hex::decode(modulus.trim().trim_start_matches("Modulus=")).unwrap();
    let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(modulus), "e": "AQAB"});
    (EncodingKey::from_rsa_der(&der), jwk)
}

/// The test's OpenID Connect issuer.
struct Issuer {
    url: String,
    key: EncodingKey,
    kid: String,
    jwk: Value,
}

impl Issuer {
    /// Serves `/.well-known/openid-configuration` and `/jwks` on 127.0.0.1.
    async fn start() -> Self {
        let (key, jwk) = rsa_key("test-key-1");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let configuration = json!({"issuer": url, "jwks_uri": format!("{url}/jwks"),
            "id_token_signing_alg_values_supported": ["RS256"]});
        let jwks = json!({"keys": [jwk.clone()]});
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(move || async move { Json(configuration) }))
            .route("/jwks", get(move || async move { Json(jwks) }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Issuer { url, key, kid: "test-key-1".into(), jwk }
    }

    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": self.url, "aud": AUDIENCE, "sub": SUBJECT, "iat": now, "nbf": now - 5, "exp": now + 600})
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    /// The claims with `changes` applied, signed.
    fn sign_with(&self, changes: Value) -> String {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        self.sign(&claims)
    }
}

async fn api(registry: &Registry, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = registry.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// `POST /oauth2/exchange` as a form, like the cloud registry's clients.
async fn exchange(registry: &Registry, id_token: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "access_token"),
        ("service", registry.server.authority()),
        ("access_token", id_token),
    ];
    let response =
        registry.client.post(registry.server.url("/oauth2/exchange")).form(&form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// `GET /oauth2/token` with Basic `00000000-…:<refresh token>`.
async fn basic_token(registry: &Registry, refresh_token: &str, scope: &str) -> StatusCode {
    let url = registry.server.url("/oauth2/token");
    let query = [("service", registry.server.authority()), ("scope", scope)];
    let request = registry.client.get(url).query(&query).basic_auth(FEDERATED_USER, Some(refresh_token));
    request.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ci_job_exchanges_its_id_token_and_pulls_and_bad_tokens_are_refused_and_audited() {
    let registry = Registry::start();
    registry.push_image("team/app", "v1", b"federated pull").await;
    let issuer = Issuer::start().await;

    let (status, sp) = api(
        &registry,
        Method::POST,
        "/api/v1/service-principals",
        Some(json!({"name": "ci-federated", "createSecret": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let credentials = "/api/v1/service-principals/ci-federated/federated-credentials";
    let new = json!({"name": "main-branch", "issuer": issuer.url, "audience": AUDIENCE, "subject": SUBJECT_PATTERN});
    let (status, created) = api(&registry, Method::POST, credentials, Some(new.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["subject"], json!(SUBJECT_PATTERN));
    assert!(created.get("jwks").is_none(), "published keys: {created}");
    let (status, again) = api(&registry, Method::POST, credentials, Some(new)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, refused) = api(
        &registry,
        Method::POST,
        credentials,
        Some(json!({"name": "everything", "issuer": issuer.url, "audience": AUDIENCE, "subject": "*"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, listed) = api(&registry, Method::GET, credentials, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let (status, assigned) = api(
        &registry,
        Method::POST,
        "/api/v1/role-assignments",
        Some(json!({"assignee": "ci-federated", "role": READER})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");

    // A good token: a refresh token for the federated user name.
    let (status, answer) = exchange(&registry, &issuer.sign(&issuer.claims())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["username"], json!(FEDERATED_USER));
    let refresh = answer["refresh_token"].as_str().expect("a refresh token").to_owned();
    // The same as JSON.
    let response = registry
        .client
        .post(registry.server.url("/oauth2/exchange"))
        .json(&json!({"grant_type": "access_token", "access_token": issuer.sign(&issuer.claims())}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // docker login's way: skopeo logs in with the refresh token and pulls.
    let env = ClientEnv::new();
    let authority = registry.server.authority().to_owned();
    let login =
        ["login", "--tls-verify=false", "--username", FEDERATED_USER, "--password-stdin", authority.as_str()];
    let out = succeed(skopeo(&env, &login), Some(&format!("{refresh}\n")));
    assert!(out.contains("Login Succeeded"), "{out}");
    let pulled = tempfile::tempdir().unwrap();
    let destination = format!("dir:{}", pulled.path().display());
    let source = format!("docker://{authority}/team/app:v1");
    succeed(skopeo(&env, &["copy", "--src-tls-verify=false", &source, &destination]), None);
    assert!(pulled.path().join("manifest.json").exists());
    // A Reader may not push.
    let push = format!("docker://{authority}/team/app:v2");
    let refused = fail(
        skopeo(&env, &["copy", "--src-tls-verify=false", "--dest-tls-verify=false", &source, &push]),
        None,
    );
    assert!(refused.contains("denied") || refused.contains("unauthorized"), "{refused}");
    // And at /oauth2/token, as a refresh grant and as Basic.
    let response = registry.refresh_grant(&refresh, "repository:team/app:pull").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(basic_token(&registry, &refresh, "repository:team/app:pull").await, StatusCode::OK);

    // The shared user name is never locked out: a client failing again and
    // again with one wrong token does not stop the good one.
    for _ in 0..5 {
        assert_eq!(basic_token(&registry, "not-a-refresh-token", "").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(basic_token(&registry, "not-a-refresh-token", "").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(basic_token(&registry, &refresh, "repository:team/app:pull").await, StatusCode::OK);

    // Each bad token: refused with its reason, and audited.
    let now = chrono::Utc::now().timestamp();
    let good = issuer.sign(&issuer.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let mut hmac_header = Header::new(Algorithm::HS256);
    hmac_header.kid = Some(issuer.kid.clone());
    let public_as_secret = issuer.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let hmac =
        jsonwebtoken::encode(&hmac_header, &issuer.claims(), &EncodingKey::from_secret(&public_as_secret))
            .unwrap();
    let (other_key, _) = rsa_key("test-key-1");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(issuer.kid.clone());
    let bad_signature = jsonwebtoken::encode(&header, &issuer.claims(), &other_key).unwrap();
    let mut unknown_header = Header::new(Algorithm::RS256);
    unknown_header.kid = Some("no-such-key".into());
    let unknown_kid = jsonwebtoken::encode(&unknown_header, &issuer.claims(), &issuer.key).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            issuer.sign_with(json!({"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200})),
            "expired",
        ),
        ("not yet valid", issuer.sign_with(json!({"nbf": now + 3600})), "not valid yet"),
        ("wrong audience", issuer.sign_with(json!({"aud": "api://someone-else"})), "audience"),
        ("wrong issuer", issuer.sign_with(json!({"iss": "https://evil.example"})), "trusts the issuer"),
        ("wrong subject", issuer.sign_with(json!({"sub": "repo:acme/api:ref:refs/tags/v1"})), "subject"),
        ("alg none", unsigned, "unsigned (alg none)"),
        ("HS256 with the public key", hmac, "HMAC"),
        ("bad signature", bad_signature, "signature does not verify"),
        ("unknown kid", unknown_kid, "no signing key"),
        ("malformed", "not.a-jwt".to_owned(), "not a well-formed JWT"),
    ];
    for (case, token, reason) in &cases {
        let (status, answer) = exchange(&registry, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{case}: {message}");
    }
    let (status, audit) = api(&registry, Method::GET, "/api/v1/audit?limit=200", None).await;
    assert_eq!(status, StatusCode::OK);
    let entries = audit["items"].as_array().unwrap();
    let exchanges: Vec<&Value> = entries.iter().filter(|entry| entry["action"] == "exchange").collect();
    for (case, _, reason) in &cases {
        assert!(
            exchanges.iter().any(
                |e| e["outcome"] == "failure" && e["detail"].as_str().is_some_and(|d| d.contains(reason))
            ),
            "{case} audited: {exchanges:#?}"
        );
    }
    assert!(
        exchanges
            .iter()
            .any(|e| e["outcome"] == "success" && e["caller"].as_str().unwrap().contains("ci-federated")),
        "the good exchange is audited with the service principal: {exchanges:#?}"
    );

    // Deleting the credential ends the refresh token at the next request.
    let (status, _) = api(&registry, Method::DELETE, &format!("{credentials}/main-branch"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let response = registry.refresh_grant(&refresh, "repository:team/app:pull").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(basic_token(&registry, &refresh, "repository:team/app:pull").await, StatusCode::UNAUTHORIZED);
    fail(skopeo(&env, &["inspect", "--tls-verify=false", &source]), None);
    let (status, answer) = exchange(&registry, &issuer.sign(&issuer.claims())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no credential trusts the issuer now: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_or_deleting_the_service_principal_ends_its_refresh_token() {
    let registry = Registry::start();
    let issuer = Issuer::start().await;
    let (status, _) = api(
        &registry,
        Method::POST,
        "/api/v1/service-principals",
        Some(json!({"name": "ci-inline", "createSecret": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // The keys given inline this time: no fetch.
    let body = json!({"name": "inline", "issuer": issuer.url, "audience": AUDIENCE, "subject": SUBJECT,
        "jwks": {"keys": [issuer.jwk.clone()]}});
    let path = "/api/v1/service-principals/ci-inline/federated-credentials";
    let (status, created) = api(&registry, Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["jwks"]["keys"][0]["kid"], json!("test-key-1"));
    let (status, answer) = exchange(&registry, &issuer.sign(&issuer.claims())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let refresh = answer["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(registry.refresh_grant(&refresh, "").await.status(), StatusCode::OK);

    let (status, _) = api(
        &registry,
        Method::PATCH,
        "/api/v1/service-principals/ci-inline",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(registry.refresh_grant(&refresh, "").await.status(), StatusCode::UNAUTHORIZED);
    let (status, answer) = exchange(&registry, &issuer.sign(&issuer.claims())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("disabled"), "{answer}");
    let (status, _) =
        api(&registry, Method::PATCH, "/api/v1/service-principals/ci-inline", Some(json!({"enabled": true})))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(registry.refresh_grant(&refresh, "").await.status(), StatusCode::OK);
    let (status, _) = api(&registry, Method::DELETE, "/api/v1/service-principals/ci-inline", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(registry.refresh_grant(&refresh, "").await.status(), StatusCode::UNAUTHORIZED);
}
