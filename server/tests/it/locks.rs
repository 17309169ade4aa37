//! Repository, tag and manifest lock attributes (changeableAttributes):
//! shown with metadata/read, changed with metadata/write, and binding every
//! caller, the administrator included.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::registry::{Registry, OCI_MANIFEST};

async fn patch(registry: &Registry, path: &str, body: Value) -> Value {
    let response = registry.request(Method::PATCH, path).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "PATCH {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The status and the error code (OCI `errors[0].code` or problem `code`).
pub async fn status_and_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["errors"][0]["code"].as_str().or(body["code"].as_str()).unwrap_or("").to_owned();
    (status, code)
}

#[tokio::test]
async fn locks_bind_even_the_administrator() {
    let registry = Registry::start();
    let (manifest, digest) = registry.push_image("locked/app", "v1", b"first layer").await;
    let (other, _) = registry.push_image("locked/app", "v2", b"second layer").await;

    // Shown, all enabled, then write-lock the tag v1.
    let tag =
        patch(&registry, "/api/v1/repositories/locked/app/_tags/v1", json!({"writeEnabled": false})).await;
    assert_eq!(
        tag["changeableAttributes"],
        json!({"deleteEnabled": true, "writeEnabled": false, "readEnabled": true, "listEnabled": true})
    );
    // v1 cannot be overwritten nor deleted; v2 can be overwritten.
    let overwrite = registry.push_manifest("locked/app", "v1", OCI_MANIFEST, &other).await;
    assert_eq!(status_and_code(overwrite).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let untag = registry.request(Method::DELETE, "/v2/locked/app/manifests/v1").send().await.unwrap();
    assert_eq!(status_and_code(untag).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let by_digest =
        registry.request(Method::DELETE, &format!("/v2/locked/app/manifests/{digest}")).send().await.unwrap();
    assert_eq!(
        status_and_code(by_digest).await,
        (StatusCode::FORBIDDEN, "DENIED".into()),
        "its manifest either"
    );
    let api_untag =
        registry.request(Method::DELETE, "/api/v1/repositories/locked/app/_tags/v1").send().await.unwrap();
    assert_eq!(status_and_code(api_untag).await, (StatusCode::CONFLICT, "LOCKED".into()));
    let delete_repository =
        registry.request(Method::DELETE, "/api/v1/repositories/locked/app").send().await.unwrap();
    assert_eq!(status_and_code(delete_repository).await, (StatusCode::CONFLICT, "LOCKED".into()));
    let moved = registry.push_manifest("locked/app", "v2", OCI_MANIFEST, &manifest).await;
    assert_eq!(moved.status(), StatusCode::CREATED);
    // Unlocked: the overwrite works.
    patch(&registry, "/api/v1/repositories/locked/app/_tags/v1", json!({"writeEnabled": true})).await;
    let overwrite = registry.push_manifest("locked/app", "v1", OCI_MANIFEST, &other).await;
    assert_eq!(overwrite.status(), StatusCode::CREATED);

    // Repository-wide write lock: no uploads, no manifests.
    patch(&registry, "/api/v1/repositories/locked/app", json!({"writeEnabled": false})).await;
    let upload = registry.request(Method::POST, "/v2/locked/app/blobs/uploads/").send().await.unwrap();
    assert_eq!(status_and_code(upload).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let tagging = registry.push_manifest("locked/app", "v3", OCI_MANIFEST, &manifest).await;
    assert_eq!(status_and_code(tagging).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    patch(&registry, "/api/v1/repositories/locked/app", json!({"writeEnabled": true})).await;

    // Read lock on a manifest: pulling it is refused, by tag and by digest.
    patch(
        &registry,
        &format!("/api/v1/repositories/locked/app/_manifests/{digest}"),
        json!({"readEnabled": false}),
    )
    .await;
    let pull =
        registry.request(Method::GET, &format!("/v2/locked/app/manifests/{digest}")).send().await.unwrap();
    assert_eq!(status_and_code(pull).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let pull = registry.request(Method::GET, "/v2/locked/app/manifests/v2").send().await.unwrap();
    assert_eq!(status_and_code(pull).await, (StatusCode::FORBIDDEN, "DENIED".into()));
    let still = registry.request(Method::GET, "/v2/locked/app/manifests/v1").send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK, "other manifests still pull");

    // List lock: hidden from the catalog, the API list and the tag list.
    patch(&registry, "/api/v1/repositories/locked/app/_tags/v1", json!({"listEnabled": false})).await;
    let tags: Value =
        registry.request(Method::GET, "/v2/locked/app/tags/list").send().await.unwrap().json().await.unwrap();
    assert_eq!(tags["tags"], json!(["v2"]));
    patch(&registry, "/api/v1/repositories/locked/app", json!({"listEnabled": false})).await;
    let catalog: Value =
        registry.request(Method::GET, "/v2/_catalog").send().await.unwrap().json().await.unwrap();
    assert_eq!(catalog["repositories"], json!([]));
    let listed: Value =
        registry.request(Method::GET, "/api/v1/repositories").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]));

    // Bad input is refused and changes nothing.
    let bad = registry
        .request(Method::PATCH, "/api/v1/repositories/locked/app")
        .json(&json!({"writeEnabled": "no"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(bad).await, (StatusCode::BAD_REQUEST, "INVALID".into()));
    let shown: Value = registry
        .request(Method::GET, "/api/v1/repositories/locked/app")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["changeableAttributes"]["writeEnabled"], json!(true), "{shown}");
    assert_eq!(shown["changeableAttributes"]["listEnabled"], json!(false), "{shown}");

    // Unlocked again, the repository can be deleted.
    patch(
        &registry,
        &format!("/api/v1/repositories/locked/app/_manifests/{digest}"),
        json!({"readEnabled": true}),
    )
    .await;
    let deleted = registry.request(Method::DELETE, "/api/v1/repositories/locked/app").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
}
