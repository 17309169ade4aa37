//! The signals an operator reads (issue 16): `/metrics`, open on the
//! `--metrics-listen` address and behind credentials on the main listener,
//! counting what the registry did; and JSON log lines and audit entries
//! that name the request they were written in.

use reqwest::{Client, StatusCode};

use crate::testkit::{TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn metrics_count_requests_and_logins_where_the_operator_chose() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_with(dir.path(), Some(ADMIN_PASSWORD), &["--metrics-listen", "127.0.0.1:0"]);
    let open = server
        .banner
        .iter()
        .find_map(|line| line.split("metrics on ").nth(1))
        .expect("the banner names the metrics address")
        .trim()
        .to_owned();
    let http = Client::new();
    // Some traffic: a refused login, an anonymous /v2 probe, an API call.
    let refused = http
        .get(server.url("/api/v1/tokens"))
        .basic_auth("admin", Some("wrong-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(http.get(server.url("/v2/")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let listed = http
        .get(server.url("/api/v1/tokens"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    let scraped = http.get(&open).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = scraped.text().await.unwrap();
    for line in [
        "portcullis_http_requests_total{class=\"v2\",method=\"GET\",status=\"401\"} 1",
        "portcullis_http_requests_total{class=\"api\",method=\"GET\",status=\"200\"} 1",
        "portcullis_logins_total{outcome=\"failure\"} 1",
        "portcullis_upload_sessions_open 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
    assert!(text.contains("portcullis_http_request_duration_seconds_bucket{"), "{text}");
    assert!(text.contains("portcullis_database_connections{pool=\"writer\",state=\"in_use\"}"), "{text}");

    // On the main listener it takes credentials.
    assert_eq!(http.get(server.url("/metrics")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let behind =
        http.get(server.url("/metrics")).basic_auth("admin", Some(ADMIN_PASSWORD)).send().await.unwrap();
    assert_eq!(behind.status(), StatusCode::OK);
    assert!(behind
        .text()
        .await
        .unwrap()
        .contains("portcullis_http_requests_total{class=\"metrics\",method=\"GET\",status=\"401\"} 1"));
}

#[tokio::test]
async fn a_request_id_joins_the_answer_its_log_lines_and_its_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (server, log) = crate::testkit::TestServer::start_logging_with(
        dir.path(),
        "info",
        &[("PORTCULLIS_LOG_FORMAT", "json")],
    );
    let http = Client::new();
    let refused = http
        .get(server.url("/oauth2/token"))
        .query(&[("service", server.authority()), ("scope", "repository:samples/app:pull")])
        .basic_auth("admin", Some("not-the-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let id = refused.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");

    // Its log lines are JSON objects carrying the id.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let found = log.lines().into_iter().find(|line| line.contains(&id));
        if let Some(line) = found {
            break line;
        }
        assert!(std::time::Instant::now() < deadline, "no log line names {id}: {:#?}", log.lines());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(parsed["span"]["request_id"], id.as_str(), "{line}");
    assert_eq!(parsed["level"], "WARN", "{line}");

    // So is the audit entry of that failed login.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page: serde_json::Value = http
            .get(server.url("/api/v1/audit?limit=20"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = page["items"].as_array().unwrap();
        if let Some(entry) = entries.iter().find(|entry| entry["requestId"] == id.as_str()) {
            assert_eq!(
                (entry["action"].as_str(), entry["outcome"].as_str()),
                (Some("login"), Some("failure"))
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no audit entry names {id}: {page:#}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_trusted_proxys_request_id_is_kept_and_anyone_elses_replaced() {
    let http = Client::new();
    let id_of = |server: &crate::testkit::TestServer, sent: &'static str| {
        let request = http.get(server.url("/healthz")).header("x-request-id", sent);
        async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned() }
    };
    let dir = tempfile::tempdir().unwrap();
    let behind_proxy = crate::testkit::TestServer::start_with(
        dir.path(),
        Some(ADMIN_PASSWORD),
        &["--trusted-proxy", "127.0.0.1"],
    );
    assert_eq!(id_of(&behind_proxy, "edge-7f3a.42:1").await, "edge-7f3a.42:1");
    // Not a plausible id (a space, a quote): replaced even from the proxy.
    let replaced = id_of(&behind_proxy, "a b\"c").await;
    assert_eq!(replaced.len(), 32, "{replaced}");

    let dir = tempfile::tempdir().unwrap();
    let direct = crate::testkit::TestServer::start(dir.path(), Some(ADMIN_PASSWORD));
    let replaced = id_of(&direct, "edge-7f3a.42:1").await;
    assert_ne!(replaced, "edge-7f3a.42:1");
    assert_eq!(replaced.len(), 32, "{replaced}");
}
