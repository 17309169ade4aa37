//! Portal sign-in over HTTP: credentials, sessions, CSRF, throttling and
//! the first administrator.

use reqwest::{header, Client, StatusCode};
use serde_json::Value;

use crate::testkit::{browser_like_client, TestServer, ADMIN_PASSWORD};

async fn session(client: &Client, server: &TestServer) -> Value {
    let response = client.get(server.url("/portal/session")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub async fn csrf_token(client: &Client, server: &TestServer) -> String {
    session(client, server).await["csrf_token"].as_str().unwrap().to_owned()
}

pub async fn sign_in(
    client: &Client,
    server: &TestServer,
    user: &str,
    password: &str,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("username", user), ("password", password)];
    if let Some(csrf) = csrf {
        form.push(("csrf_token", csrf));
    }
    client.post(server.url("/portal/sign_in")).form(&form).send().await.unwrap()
}

fn location(response: &reqwest::Response) -> Option<&str> {
    response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn admin_signs_in_and_out_with_csrf_protection() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));
    let client = browser_like_client();

    // Signed out: pages send you to the sign-in page, data calls refuse.
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), Some("/login"));
    let cookie = response.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let page = client.get(server.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="csrf_token""#), "sign-in form carries the CSRF token");
    let overview = client.get(server.url("/portal/overview")).send().await.unwrap();
    assert_eq!(overview.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session(&client, &server).await["user"], Value::Null);

    // No CSRF token, or a wrong one: refused before the password is looked at.
    let csrf = csrf_token(&client, &server).await;
    let response = sign_in(&client, &server, "admin", ADMIN_PASSWORD, None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.json::<Value>().await.unwrap(), "StalePage");
    let response = sign_in(&client, &server, "admin", ADMIN_PASSWORD, Some("forged-token")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A token of another session is no good either.
    let other_session_csrf = csrf_token(&browser_like_client(), &server).await;
    let response = sign_in(&client, &server, "admin", ADMIN_PASSWORD, Some(&other_session_csrf)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(session(&client, &server).await["user"], Value::Null);

    // Wrong password, and unknown user: the same refusal.
    let response = sign_in(&client, &server, "admin", "not-the-password", Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap(), "InvalidCredentials");
    let response = sign_in(&client, &server, "nobody", ADMIN_PASSWORD, Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap(), "InvalidCredentials");
    assert_eq!(client.get(server.url("/")).send().await.unwrap().status(), StatusCode::SEE_OTHER);

    // The right password signs in; the session cookie carries it.
    let response = sign_in(&client, &server, "admin", ADMIN_PASSWORD, Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["name"], "admin");
    let page = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Registry overview"));
    let overview: Value =
        client.get(server.url("/portal/overview")).send().await.unwrap().json().await.unwrap();
    assert_eq!(overview["login"]["host"], server.authority());
    assert_eq!(overview["login"]["plain_http"], true);
    assert_eq!(overview["user"], "admin");
    assert_eq!(overview["version"], env!("CARGO_PKG_VERSION"));
    let counts: Vec<(String, i64)> = overview["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["label"].as_str().unwrap().to_owned(), c["value"].as_i64().unwrap()))
        .collect();
    let expected = [("Repositories", 0), ("Tags", 0), ("Blobs", 0), ("Users", 1)];
    assert_eq!(counts, expected.map(|(l, v)| (l.to_owned(), v)));
    let response = client.get(server.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), Some("/"));

    // Another client without the cookie is not signed in.
    let stranger = browser_like_client();
    assert_eq!(
        stranger.get(server.url("/portal/overview")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Sign-out needs the CSRF token too, then ends the session.
    let csrf = csrf_token(&client, &server).await;
    let response = client.post(server.url("/portal/sign_out")).form(&[("x", "y")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(client.get(server.url("/portal/overview")).send().await.unwrap().status(), StatusCode::OK);
    let response = client
        .post(server.url("/portal/sign_out"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        client.get(server.url("/portal/overview")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(location(&response), Some("/login"));
}

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));
    let client = browser_like_client();
    let csrf = csrf_token(&client, &server).await;
    for _ in 0..5 {
        let response = sign_in(&client, &server, "admin", "wrong-password", Some(&csrf)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits.
    let response = sign_in(&client, &server, "admin", ADMIN_PASSWORD, Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    let wait = body["Throttled"]["retry_after_secs"].as_u64().unwrap();
    assert!((1..=30).contains(&wait), "{body}");
    assert_eq!(session(&client, &server).await["user"], Value::Null);
}

#[tokio::test]
async fn first_start_without_a_password_prints_a_generated_one_once() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), None);
    let line = server
        .banner
        .iter()
        .find(|line| line.contains("generated password"))
        .unwrap_or_else(|| panic!("banner: {:?}", server.banner));
    let password = line.rsplit(": ").next().unwrap().trim().to_owned();
    assert_eq!(password.len(), 24, "{line}");

    let client = browser_like_client();
    let csrf = csrf_token(&client, &server).await;
    assert_eq!(sign_in(&client, &server, "admin", &password, Some(&csrf)).await.status(), StatusCode::OK);
    drop(server);

    // A restart on the same data keeps the account and prints nothing.
    let restarted = TestServer::start(data.path(), Some("ignored-after-first-start"));
    assert!(restarted.banner.iter().all(|line| !line.contains("password")), "{:?}", restarted.banner);
    let client = browser_like_client();
    let csrf = csrf_token(&client, &restarted).await;
    assert_eq!(sign_in(&client, &restarted, "admin", &password, Some(&csrf)).await.status(), StatusCode::OK);
}

/// Signs `user` in on a fresh browser-like client; the client and the
/// session's CSRF token.
pub async fn signed_in(server: &TestServer, user: &str, password: &str) -> (Client, String) {
    let client = browser_like_client();
    let csrf = csrf_token(&client, server).await;
    let response = sign_in(&client, server, user, password, Some(&csrf)).await;
    assert_eq!(response.status(), StatusCode::OK, "{user} signs in");
    let csrf = csrf_token(&client, server).await;
    (client, csrf)
}

async fn get_status(client: &Client, server: &TestServer, path: &str) -> StatusCode {
    client.get(server.url(path)).send().await.unwrap().status()
}

/// Every user signs in; what the portal lets them see and change is what
/// their roles reach, decided on each request: a Reader reads the
/// administration and changes nothing, a user with a data-plane role only
/// has My access, and a role removed or an account disabled counts from the
/// next request.
#[tokio::test]
async fn every_user_signs_in_and_the_portal_follows_their_roles() {
    let registry = crate::registry::Registry::start();
    let server = &registry.server;
    for repository in ["backend/nginx", "frontend/app"] {
        registry.push_image(repository, "v1", repository.as_bytes()).await;
    }
    let api = |method: reqwest::Method, path: &str, body: Value| {
        let request = registry.request(method, path).json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.text().await.unwrap());
            response.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    let password = "a-user-password-1";
    for user in ["auditor", "developer"] {
        api(reqwest::Method::POST, "/api/v1/users", serde_json::json!({"name": user, "password": password}))
            .await;
    }
    let reader = api(
        reqwest::Method::POST,
        "/api/v1/role-assignments",
        serde_json::json!({"assignee": "auditor", "role": "Reader"}),
    )
    .await;
    api(
        reqwest::Method::POST,
        "/api/v1/role-assignments",
        serde_json::json!({
            "assignee": "developer",
            "role": "Container Registry Repository Reader",
            "condition": "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'))",
            "conditionVersion": "2.0",
        }),
    )
    .await;

    // The Reader reads every area and changes none.
    let (auditor, csrf) = signed_in(server, "auditor", password).await;
    let info = session(&auditor, server).await;
    for area in ["configuration", "identities", "role_assignments", "audit"] {
        assert_eq!(info["can"][area], "Read", "{area}: {info}");
    }
    assert_eq!(get_status(&auditor, server, "/portal/overview").await, StatusCode::OK);
    assert_eq!(get_status(&auditor, server, "/portal/tokens_list?limit=10").await, StatusCode::OK);
    let create = auditor
        .post(server.url("/portal/token_create"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "sneaky"),
            ("scope_map", "_repositories_pull"),
            ("enabled", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::FORBIDDEN);

    // The developer has My access only: their role, the repositories its
    // condition reaches, and 403 from the administration.
    let (developer, _) = signed_in(server, "developer", password).await;
    let info = session(&developer, server).await;
    for area in ["configuration", "identities", "role_assignments", "audit"] {
        assert_eq!(info["can"][area], "None", "{area}: {info}");
    }
    for path in ["/portal/overview", "/portal/tokens_list?limit=10", "/portal/repositories"] {
        assert_eq!(get_status(&developer, server, path).await, StatusCode::FORBIDDEN, "{path}");
    }
    let mine: Value =
        developer.get(server.url("/portal/my_access")).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["name"], "developer");
    assert_eq!(mine["roles"][0]["role"], "Container Registry Repository Reader", "{mine}");
    let reached: Vec<&str> =
        mine["repositories"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(reached, ["backend/nginx"], "{mine}");
    assert_eq!(mine["repositories"][0]["actions"], serde_json::json!(["content/read", "metadata/read"]));
    assert_eq!(mine["repositories"][0]["tags"], serde_json::json!(["v1"]));
    // The page itself renders for them; "/" sends them there.
    let page = developer.get(server.url("/my-access")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("backend/nginx"));

    // From the next request: the Reader's role removed, the developer disabled.
    let id = reader["name"].as_str().unwrap();
    let removed = registry
        .request(reqwest::Method::DELETE, &format!("/api/v1/role-assignments/{id}"))
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_success());
    assert_eq!(get_status(&auditor, server, "/portal/overview").await, StatusCode::FORBIDDEN);
    let disabled = registry
        .request(reqwest::Method::PATCH, "/api/v1/users/developer")
        .json(&serde_json::json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert!(disabled.status().is_success());
    assert_eq!(get_status(&developer, server, "/portal/my_access").await, StatusCode::UNAUTHORIZED);
    assert_eq!(session(&developer, server).await["user"], Value::Null, "the session ended");
}
