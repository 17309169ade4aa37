//! The served document is OpenAPI 3.1 (checked structurally: version,
//! resolvable `$ref`s, declared path parameters, answers and security on
//! every operation), and it matches the router: every documented operation
//! is routed, and on every documented path (and the shapes behind the
//! repository wildcard) the router answers no method the document does not
//! list. Probes run the real handlers over a fresh registry as an
//! administrator (the caller is given, not authenticated).

use std::collections::BTreeSet;

use axum::{
    body::{to_bytes, Body},
    http::{Method, Request, StatusCode},
    Extension, Router,
};
use serde_json::Value;
use tower::ServiceExt;

use crate::{
    http::{
        api::{routes, OPENAPI_PATH},
        caller::ManagementCaller,
        test_state as state,
    },
    service::access::Caller,
    AppState,
};

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// The routes as an administrator reaches them.
fn as_admin(state: AppState) -> Router {
    routes().layer(Extension(ManagementCaller(Caller::administrator("admin")))).with_state(state)
}

async fn send(router: &Router, method: &str, path: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(path)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn send_json(router: &Router, method: &str, path: &str, json: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(json.to_owned()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Whether the router has an operation for the request: anything but the
/// 405 of an unrouted method and the 404 of the catch-all.
fn routed(status: StatusCode, body: &Value) -> bool {
    let unrouted_404 = status == StatusCode::NOT_FOUND && body["detail"] == "no such API endpoint";
    status != StatusCode::METHOD_NOT_ALLOWED && !unrouted_404
}

/// A concrete path for a documented template.
fn instantiate(template: &str) -> String {
    let name = if template.starts_with("/api/v1/repositories/") { "samples/probe" } else { "probe-name" };
    template
        .replace("{name}", name)
        .replace("{tag}", "v1")
        .replace("{digest}", &format!("sha256:{}", "0".repeat(64)))
        .replace("{slot}", "password1")
}

fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

async fn served_document(state: AppState) -> Value {
    let router = routes().with_state(state);
    let (status, document) = send(&router, "get", OPENAPI_PATH).await;
    assert_eq!(status, StatusCode::OK);
    document
}

fn resolve<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    document.pointer(reference.strip_prefix('#')?)
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => refs(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1() {
    let (state, _data) = state().await;
    let document = served_document(state).await;
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());
    let mut references = Vec::new();
    refs(&document, &mut references);
    assert!(!references.is_empty());
    for reference in &references {
        assert!(resolve(&document, reference).is_some(), "{reference} does not resolve");
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["basic"]["scheme"], "basic");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["csrf"]["name"], "x-csrf-token");
    for (method, path) in documented(&document) {
        let operation = &document["paths"][&path][&method];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path}: no success");
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(|parameters| {
                parameters.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect()
            })
            .unwrap_or_default();
        let in_template: BTreeSet<&str> =
            path.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name).collect();
        assert_eq!(declared, in_template, "{method} {path}: path parameters");
        let security = operation["security"].as_array().expect("security");
        if path == OPENAPI_PATH {
            assert_eq!(security, &vec![serde_json::json!({})], "the document is public");
            continue;
        }
        for requirement in security {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.get(scheme).is_some(), "{method} {path}: unknown scheme {scheme}");
            }
        }
        for status in ["400", "401", "403", "429", "500"] {
            let problem = &responses[status];
            let problem = resolve(&document, problem["$ref"].as_str().unwrap_or_default()).unwrap_or(problem);
            assert!(
                problem["content"]["application/problem+json"].is_object(),
                "{method} {path}: {status} is not a problem"
            );
        }
    }
}

#[tokio::test]
async fn the_document_and_the_router_have_the_same_operations() {
    let (state, _data) = state().await;
    let document = served_document(state.clone()).await;
    let operations = documented(&document);
    // docs/API.md's 35 paths (14 for tokens, repositories and the audit
    // log, 18 for identities, federated credentials and role assignments, 3
    // for access as code) and the document's own.
    let paths: BTreeSet<&str> = operations.iter().map(|(_, path)| path.as_str()).collect();
    assert_eq!(paths.len(), 36, "{paths:#?}");
    let router = as_admin(state);
    let mut mismatches = Vec::new();
    for path in &paths {
        for method in METHODS {
            let is_documented = operations.contains(&(method.to_owned(), path.to_string()));
            let (status, body) = send(&router, method, &instantiate(path)).await;
            if routed(status, &body) != is_documented {
                mismatches
                    .push(format!("{method} {path}: documented {is_documented}, answered {status} {body}"));
            }
        }
    }
    // Nothing else under /api/v1 is routed.
    for path in ["/api/v1/unknown", "/api/v1/tokens/a/b/c", "/api/v1/users/admin/x", "/api/v1/registry/x"] {
        for method in METHODS {
            let (status, body) = send(&router, method, path).await;
            if routed(status, &body) {
                mismatches.push(format!("{method} {path}: undocumented but answered {status} {body}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

// Found by schemathesis (server/tests/it/schemathesis.rs): answers the
// document did not describe.

#[tokio::test]
async fn a_body_that_is_not_an_object_is_invalid() {
    let (state, _data) = state().await;
    let router = as_admin(state);
    // serde reads a struct from an array of its fields too: `[null, null]`
    // was a valid `UserChange`.
    for body in ["[null, null]", " []", "null", "\"admin\"", "1"] {
        let (status, problem) = send_json(&router, "patch", "/api/v1/users/admin", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert_eq!(problem["code"], "INVALID", "{body}: {problem}");
    }
    let (status, user) = send_json(&router, "patch", "/api/v1/users/admin", " {}").await;
    assert_eq!(status, StatusCode::OK, "{user}");
}

#[tokio::test]
async fn an_assignee_that_names_nobody_is_a_documented_404() {
    let (state, _data) = state().await;
    let document = served_document(state.clone()).await;
    let router = as_admin(state);
    for query in ["?assignee=nobody", "?assignee="] {
        let (status, problem) = send(&router, "get", &format!("/api/v1/role-assignments{query}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{query}: {problem}");
    }
    let responses = &document["paths"]["/api/v1/role-assignments"]["get"]["responses"];
    assert!(responses["404"].is_object(), "{responses}");
}

#[tokio::test]
async fn an_unsigned_integer_is_documented_with_its_whole_range() {
    let (state, _data) = state().await;
    let document = served_document(state).await;
    // utoipa's `int32` for a `u32` made 2^31 out of range for clients
    // (and schemathesis), though the server takes it.
    let days = &document["components"]["schemas"]["PlanRequest"]["properties"]["expiringWithinDays"];
    assert_eq!(days["maximum"], u32::MAX, "{days}");
    assert_ne!(days["format"], "int32", "{days}");
}

#[tokio::test]
async fn every_405_names_the_documented_methods() {
    let (state, _data) = state().await;
    let document = served_document(state.clone()).await;
    let operations = documented(&document);
    let router = as_admin(state);
    let mut wrong = Vec::new();
    let paths: BTreeSet<&str> = operations.iter().map(|(_, path)| path.as_str()).collect();
    for path in paths {
        let mut allowed: BTreeSet<String> = METHODS
            .iter()
            .filter(|method| operations.contains(&(method.to_string(), path.into())))
            .map(|method| method.to_uppercase())
            .collect();
        if allowed.contains("GET") {
            allowed.insert("HEAD".into());
        }
        for method in METHODS.iter().chain(&["options"]) {
            let request = Request::builder()
                .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                .uri(instantiate(path))
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            if response.status() != StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            // RFC 9110 section 15.5.6. Schemathesis found the tag and
            // manifest lists without it, then naming PATCH and DELETE.
            let allow: BTreeSet<String> = response
                .headers()
                .get("allow")
                .and_then(|value| value.to_str().ok())
                .map(|value| value.split(',').map(|m| m.trim().to_owned()).collect())
                .unwrap_or_default();
            if allow != allowed {
                wrong.push(format!("{method} {path}: Allow {allow:?}, documented {allowed:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
