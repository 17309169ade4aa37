//! `/metrics` (issue 16, Signals): open on the `--metrics-listen` address,
//! behind credentials on the main listener, counting what the registry did.

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
