//! Portal hardening over HTTP: the CSRF token rotates at sign-in and at
//! sign-out, every response forbids framing and pages allow only their own
//! scripts, and signed-out visits store no session.

use std::path::Path;

use reqwest::{header, Client, Response, StatusCode};
use serde_json::Value;
use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection as _};

use crate::testkit::{browser_like_client, TestServer, ADMIN_PASSWORD};

async fn csrf_token(client: &Client, server: &TestServer) -> String {
    let response = client.get(server.url("/portal/session")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned()
}

async fn sign_in(client: &Client, server: &TestServer, csrf: &str) -> Response {
    let form = [("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf_token", csrf)];
    client.post(server.url("/portal/sign_in")).form(&form).send().await.unwrap()
}

async fn sign_out(client: &Client, server: &TestServer, csrf: &str) -> StatusCode {
    client.post(server.url("/portal/sign_out")).form(&[("csrf_token", csrf)]).send().await.unwrap().status()
}

async fn signed_in(client: &Client, server: &TestServer) -> bool {
    client.get(server.url("/portal/overview")).send().await.unwrap().status() == StatusCode::OK
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

/// Rows of tower-sessions' table in the server's database.
async fn session_rows(data_dir: &Path) -> i64 {
    if let Some(url) = crate::testkit::database_url(data_dir) {
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        return sqlx::query_scalar("SELECT COUNT(*) FROM portal_sessions").fetch_one(&mut db).await.unwrap();
    }
    let mut db = SqliteConnectOptions::new()
        .filename(data_dir.join("portcullis.db"))
        .read_only(true)
        .connect()
        .await
        .unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM portal_sessions").fetch_one(&mut db).await.unwrap()
}

/// A token seen before sign-in (shown in the sign-in page, or planted in
/// the browser) must not authorise anything after it, and the signed-in
/// token must die with the session.
#[tokio::test]
async fn the_csrf_token_rotates_at_sign_in_and_at_sign_out() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));
    let client = browser_like_client();

    let before = csrf_token(&client, &server).await;
    assert_eq!(sign_in(&client, &server, &before).await.status(), StatusCode::OK);
    let during = csrf_token(&client, &server).await;
    assert_ne!(during, before, "the CSRF token from before sign-in survived it");
    assert_eq!(sign_out(&client, &server, &before).await, StatusCode::FORBIDDEN);
    assert!(signed_in(&client, &server).await, "a refused sign-out signed out");

    assert_eq!(sign_out(&client, &server, &during).await, StatusCode::OK);
    assert!(!signed_in(&client, &server).await);
    let after = csrf_token(&client, &server).await;
    assert_ne!(after, during, "the signed-in CSRF token survived sign-out");
    assert_ne!(after, before);
    for stale in [&before, &during] {
        assert_eq!(sign_in(&client, &server, stale).await.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(sign_in(&client, &server, &after).await.status(), StatusCode::OK);
    assert_ne!(csrf_token(&client, &server).await, after);
}

/// Portal responses (pages, redirects, server functions, files) forbid
/// framing and sniffing; a page's policy runs only this origin's scripts
/// and the inline ones carrying the page's nonce, which every inline script
/// the page needs for hydration carries.
#[tokio::test]
async fn responses_forbid_framing_and_pages_allow_only_their_own_scripts() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));
    let client = browser_like_client();

    for path in ["/login", "/", "/portal/session", "/portal/overview", "/no-such-page", "/pkg/portcullis.css"]
    {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&response, "referrer-policy"), "same-origin", "{path}");
        let policy = header(&response, "content-security-policy");
        assert!(policy.split(';').any(|d| d.trim() == "frame-ancestors 'none'"), "{path}: {policy}");
    }

    let mut nonces = Vec::new();
    nonces.push(page_nonce(&client, &server, "/login").await);
    let csrf = csrf_token(&client, &server).await;
    assert_eq!(sign_in(&client, &server, &csrf).await.status(), StatusCode::OK);
    for path in ["/", "/tokens", "/no-such-page"] {
        nonces.push(page_nonce(&client, &server, path).await);
    }
    let mut distinct = nonces.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), nonces.len(), "a nonce was used twice: {nonces:?}");
}

/// The nonce of a page's policy, after checking that the policy allows no
/// other inline script and no `eval`, and that every script of the page
/// carries the nonce (else hydration would not start).
async fn page_nonce(client: &Client, server: &TestServer, path: &str) -> String {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert!(matches!(response.status().as_u16(), 200 | 404), "{path}: {}", response.status());
    let policy = header(&response, "content-security-policy").to_owned();
    assert!(policy.split(';').any(|d| d.trim() == "frame-ancestors 'none'"), "{path}: {policy}");
    let scripts = policy
        .split(';')
        .map(str::trim)
        .find_map(|directive| directive.strip_prefix("script-src "))
        .unwrap_or_else(|| panic!("{path}: no script-src in {policy}"))
        .to_owned();
    assert!(!scripts.contains("unsafe-inline") && !scripts.contains("'unsafe-eval'"), "{scripts}");
    assert!(scripts.contains("'wasm-unsafe-eval'"), "{scripts}");
    let nonce = scripts
        .split_whitespace()
        .find_map(|source| source.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{path}: no nonce in {scripts}"))
        .to_owned();
    assert!(nonce.len() >= 16, "{nonce}");
    let html = response.text().await.unwrap();
    let tags: Vec<&str> =
        html.split("<script").skip(1).map(|rest| &rest[..rest.find('>').unwrap()]).collect();
    assert!(!tags.is_empty(), "{path}: the page hydrates with an inline script");
    for tag in tags {
        assert!(tag.contains(&format!(r#"nonce="{nonce}""#)), "{path}: <script{tag}> lacks the nonce");
    }
    nonce
}

/// Signed-out visits cost the server nothing: no session row until someone
/// signs in. The sign-in form's CSRF token lives in a cookie until then,
/// and a sign-in without that cookie (a form posted from another site) is
/// refused.
#[tokio::test]
async fn signed_out_visits_store_no_session() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));

    let cookieless = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for _ in 0..200 {
        let response = cookieless.get(server.url("/login")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    for path in ["/", "/portal/session", "/tokens"] {
        cookieless.get(server.url(path)).send().await.unwrap();
    }
    assert_eq!(session_rows(data.path()).await, 0, "signed-out visits stored sessions");

    let browser = browser_like_client();
    let response = browser.get(server.url("/login")).send().await.unwrap();
    let cookie = header(&response, "set-cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let html = response.text().await.unwrap();
    let csrf = csrf_token(&browser, &server).await;
    assert!(
        html.contains(&format!(r#"name="csrf_token" value="{csrf}""#)),
        "the form carries the cookie's token"
    );

    // The token alone, without the browser's cookie: refused.
    let forged = sign_in(&cookieless, &server, &csrf).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(session_rows(data.path()).await, 0);

    let response = sign_in(&browser, &server, &csrf).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<&str> =
        response.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
    let session = cookies.iter().find(|c| c.starts_with("portcullis_session=")).expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    assert_eq!(session_rows(data.path()).await, 1);
    assert!(signed_in(&browser, &server).await);
}
