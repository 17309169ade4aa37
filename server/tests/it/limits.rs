//! The configurable limits against the real server: rate limits per
//! credential (429 TOOMANYREQUESTS with Retry-After, one audit entry a
//! minute, shown on the token's portal page) and the size limits of
//! manifests, API bodies and scope maps, each refused with a clear error
//! that changes nothing.

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    authz::create_token,
    portal::signed_in,
    registry::{image_manifest, Registry, OCI_MANIFEST},
    testkit::ADMIN_PASSWORD,
};

async fn oci_error(response: reqwest::Response) -> (StatusCode, Option<String>, String, String) {
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    let code = body["errors"][0]["code"].as_str().unwrap_or_default().to_owned();
    let message = body["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    (status, retry_after, code, message)
}

#[tokio::test]
async fn each_credential_has_its_own_read_and_write_allowance() {
    let registry = Registry::start_with(&["--rate-limit-reads", "5", "--rate-limit-writes", "40"]);
    let repo = "limits/app";
    registry.push_image(repo, "v1", b"layer").await;
    let rules = json!([{"repository": repo, "actions": ["content/read"]}]);
    let (ci, _) = create_token(&registry, "ci-bot", rules.clone()).await;
    let (other, _) = create_token(&registry, "other-bot", rules).await;
    let get = |user: &'static str, password: String| {
        let url = registry.server.url(&format!("/v2/{repo}/manifests/v1"));
        let request =
            registry.client.get(url).basic_auth(user, Some(password)).header(header::ACCEPT, OCI_MANIFEST);
        async move { request.send().await.unwrap() }
    };

    // A minute's worth at once, then 429 with the OCI error and Retry-After.
    for n in 0..5 {
        assert_eq!(get("ci-bot", ci.clone()).await.status(), StatusCode::OK, "read {n}");
    }
    let (status, retry_after, code, message) = oci_error(get("ci-bot", ci.clone()).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code, "TOOMANYREQUESTS");
    assert!(message.contains("more than 5 reads a minute"), "{message}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=12).contains(&seconds), "one read refills every 12 s: {seconds}");
    for _ in 0..3 {
        assert_eq!(get("ci-bot", ci.clone()).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    // Another token, and the same token's writes, have their own allowance.
    assert_eq!(get("other-bot", other.clone()).await.status(), StatusCode::OK);
    let upload = registry
        .client
        .post(registry.server.url(&format!("/v2/{repo}/blobs/uploads/")))
        .basic_auth("ci-bot", Some(&ci))
        .send()
        .await
        .unwrap();
    // Denied (the token only reads), not rate limited: writes are counted apart.
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);

    // The management API counts against the same allowance.
    let api = registry
        .client
        .get(registry.server.url("/api/v1/tokens"))
        .basic_auth("ci-bot", Some(&ci))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(api.headers().get(header::RETRY_AFTER).is_some());
    let problem: Value = api.json().await.unwrap();
    assert_eq!(problem["code"], "TOO_MANY_REQUESTS", "{problem}");

    // Five refusals, one audit entry (one a minute per caller and kind).
    let audit: Value = registry.get_json("/api/v1/audit?token=ci-bot").await;
    let limited: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|entry| entry["action"] == "rate.limited").collect();
    assert_eq!(limited.len(), 1, "{audit}");
    assert_eq!(limited[0]["outcome"], "denied");
    assert_eq!(limited[0]["detail"], "more than 5 reads a minute");

    // The token's portal page says what the limits are and when it went over.
    let (admin, _) = signed_in(&registry.server, "admin", ADMIN_PASSWORD).await;
    let page: Value = admin
        .get(registry.server.url("/portal/token?name=ci-bot"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["rate_limits"]["reads_per_minute"], 5, "{page}");
    assert_eq!(page["rate_limits"]["writes_per_minute"], 40, "{page}");
    let refusals = page["rate_limits"]["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 1, "{page}");
    assert_eq!(refusals[0]["reason"], "more than 5 reads a minute");
    let page: Value = admin
        .get(registry.server.url("/portal/token?name=other-bot"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["rate_limits"]["refusals"], json!([]), "{page}");
}

#[tokio::test]
async fn zero_turns_the_rate_limits_off() {
    let registry = Registry::start_with(&["--rate-limit-reads", "0", "--rate-limit-writes", "0"]);
    for _ in 0..50 {
        let response = registry.request(Method::GET, "/v2/_catalog").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn size_limits_refuse_clearly_and_change_nothing() {
    let registry = Registry::start_with(&[
        "--max-manifest-bytes",
        "2048",
        "--max-api-body-bytes",
        "4096",
        "--max-scope-map-rules",
        "3",
    ]);
    let repo = "limits/sizes";

    // A manifest over the limit: 413 SIZE_INVALID naming the limit; no tag.
    let config = registry.push_blob(repo, b"{}").await;
    let layers: Vec<(String, usize)> =
        (0..30).map(|n| (crate::registry::sha256(format!("layer {n}").as_bytes()), 8)).collect();
    for (n, _) in layers.iter().enumerate() {
        registry.push_blob(repo, format!("layer {n}").as_bytes()).await;
    }
    let refs: Vec<(&str, usize)> = layers.iter().map(|(d, s)| (d.as_str(), *s)).collect();
    let big = image_manifest(&config, 2, &refs, None);
    assert!(big.len() > 2048);
    let (status, _, code, message) =
        oci_error(registry.push_manifest(repo, "big", OCI_MANIFEST, &big).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID"));
    assert!(message.contains("2048 bytes"), "{message}");
    let tag = registry.request(Method::HEAD, &format!("/v2/{repo}/manifests/big")).send().await.unwrap();
    assert_eq!(tag.status(), StatusCode::NOT_FOUND);
    let small = image_manifest(&config, 2, &refs[..2], None);
    assert_eq!(
        registry.push_manifest(repo, "small", OCI_MANIFEST, &small).await.status(),
        StatusCode::CREATED
    );

    // An API body over the limit: 413 problem+json; nothing created.
    let description = "x".repeat(5000);
    let response = registry
        .request(Method::POST, "/api/v1/scope-maps")
        .json(&json!({"name": "wordy-map", "description": description, "repositories": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("4096"), "{problem}");
    let missing = registry.request(Method::GET, "/api/v1/scope-maps/wordy-map").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // A scope map over the rule limit, however it is made.
    let rules = |n: usize| -> Value {
        (0..n).map(|i| json!({"repository": format!("team/app{i}"), "actions": ["content/read"]})).collect()
    };
    let create = |body: Value| registry.request(Method::POST, "/api/v1/scope-maps").json(&body).send();
    let response = create(json!({"name": "many-rules", "repositories": rules(4)})).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("4 repository rules, more than the limit of 3"), "{detail}");
    let response = create(json!({"name": "many-rules", "repositories": rules(3)})).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = registry
        .request(Method::PATCH, "/api/v1/scope-maps/many-rules")
        .json(&json!({"addRepositories": [{"repository": "team/more", "actions": ["content/read"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let map: Value = registry.get_json("/api/v1/scope-maps/many-rules").await;
    assert_eq!(map["repositories"].as_array().unwrap().len(), 3, "{map}");
    // Merged actions on one repository are one rule.
    let response = registry
        .request(Method::PATCH, "/api/v1/scope-maps/many-rules")
        .json(&json!({"addRepositories": [{"repository": "team/app0", "actions": ["content/write"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = registry
        .request(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "wide-token", "repositories": rules(5)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Access as code: the plan names the place in the document.
    let document = json!({"scopeMaps": {"from-file": {"repositories": rules(4)}}});
    let response = registry
        .request(Method::POST, "/api/v1/access/plan")
        .json(&json!({"document": document}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["pointer"], "/document/scopeMaps/from-file/repositories", "{problem}");
}
