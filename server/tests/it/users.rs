//! Changing the administrator's password against the real server: the
//! management API (`PUT /api/v1/users/{name}/password`) and the real
//! `portcullis user change-password`, which reads the new password from
//! standard input.

use std::process::Command;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::{
    command::execute,
    testkit::{TestServer, ADMIN_PASSWORD},
};

async fn put_password(
    client: &Client,
    server: &TestServer,
    (user, password): (&str, &str),
    name: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = client
        .put(server.url(&format!("/api/v1/users/{name}/password")))
        .basic_auth(user, Some(password))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn admin_status(client: &Client, server: &TestServer, password: &str) -> StatusCode {
    let response = client
        .get(server.url("/api/v1/scope-maps"))
        .basic_auth("admin", Some(password))
        .send()
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn the_administrator_changes_their_password_over_the_api_and_with_the_cli() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), Some(ADMIN_PASSWORD));
    let client = Client::new();
    let admin = ("admin", ADMIN_PASSWORD);
    let second = "second-admin-password";
    let change = |current: &str, new: &str| json!({"currentPassword": current, "newPassword": new});

    // A token is refused, whatever it names.
    let created = client
        .post(server.url("/api/v1/tokens"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"name": "ci-bot", "scopeMap": "_repositories_admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let token: Value = created.json().await.unwrap();
    let token_password = token["credentials"]["passwords"][0]["value"].as_str().unwrap().to_owned();
    for name in ["admin", "ci-bot"] {
        let (status, problem) =
            put_password(&client, &server, ("ci-bot", &token_password), name, change(ADMIN_PASSWORD, second))
                .await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("DENIED")), "{problem}");
    }
    // Another user's password: refused.
    let (status, problem) =
        put_password(&client, &server, admin, "someone", change(ADMIN_PASSWORD, second)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("only their own"), "{problem}");
    // A wrong current password, a weak new one, a body of the wrong shape.
    let (status, problem) =
        put_password(&client, &server, admin, "admin", change("not-it-at-all", second)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("current password is not correct"), "{problem}");
    let (status, problem) =
        put_password(&client, &server, admin, "admin", change(ADMIN_PASSWORD, "short")).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("at least 12 characters"), "{problem}");
    let (status, _) = put_password(&client, &server, admin, "admin", json!({"newPassword": second})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // None of that changed anything.
    assert_eq!(admin_status(&client, &server, ADMIN_PASSWORD).await, StatusCode::OK);

    let (status, body) = put_password(&client, &server, admin, "admin", change(ADMIN_PASSWORD, second)).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(admin_status(&client, &server, ADMIN_PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(admin_status(&client, &server, second).await, StatusCode::OK);

    // The CLI: the current password from PORTCULLIS_PASSWORD, the new one on stdin.
    let third = "third admin password";
    let cli = |current: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        for (key, _) in std::env::vars() {
            if key.starts_with("PORTCULLIS_") {
                command.env_remove(key);
            }
        }
        command
            .args(["user", "change-password", "--name", "admin", "--registry", &server.base])
            .env("PORTCULLIS_USERNAME", "admin")
            .env("PORTCULLIS_PASSWORD", current);
        command
    };
    let refused = execute(cli(second), Some("short\n")).failed();
    assert_eq!(
        refused.stderr,
        "error: the new password must have at least 12 characters\n",
        "{}",
        refused.report()
    );
    let done = execute(cli(second), Some(&format!("{third}\n"))).succeeded();
    assert_eq!((done.stdout.as_str(), done.stderr.as_str()), ("", ""));
    assert!(!done.description.contains(third), "the new password is not on the command line");
    assert_eq!(admin_status(&client, &server, second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(admin_status(&client, &server, third).await, StatusCode::OK);

    // The audit log names each change, never a password.
    let audit: Value = client
        .get(server.url("/api/v1/audit?limit=1000"))
        .basic_auth("admin", Some(third))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "user.password")
        .collect();
    let outcomes: Vec<&str> = entries.iter().map(|entry| entry["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["success", "success", "failure", "denied", "denied", "denied"], "{audit}");
    let text = audit.to_string();
    for secret in [ADMIN_PASSWORD, second, third, &token_password] {
        assert!(!text.contains(secret), "the audit log holds a password: {text}");
    }
}
