//! Checks `openapi.json` against itself, against the router in `api.rs`
//! (read as source text, so a route added there without documentation
//! fails here) and against the response structs' field names.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::OPENAPI;

/// The source of the router this document describes.
const API_SOURCE: &str = include_str!("api.rs");

/// The catch-all that answers 404 for unknown endpoints: not an operation.
const CATCH_ALL: &str = "/api/v1/{*rest}";
/// The one wildcard route: repository names contain `/`.
const REPOSITORY_WILDCARD_PREFIX: &str = "/api/v1/repositories/{*";

const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// docs/API.md's error codes and their statuses.
const CODES: [(&str, u64); 10] = [
    ("UNAUTHORIZED", 401),
    ("DENIED", 403),
    ("NOT_FOUND", 404),
    ("INVALID", 400),
    ("CONFLICT", 409),
    ("SCOPE_MAP_IN_USE", 409),
    ("READ_ONLY", 409),
    ("LOCKED", 409),
    ("TOO_MANY_REQUESTS", 429),
    ("INTERNAL", 500),
];

fn document() -> Value {
    serde_json::from_str(OPENAPI).unwrap_or_else(|error| panic!("openapi.json is not valid JSON: {error}"))
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// The value itself, or what its `$ref` points to.
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            resolve(doc, reference).unwrap_or_else(|| panic!("$ref {reference} does not resolve"))
        }
        None => value,
    }
}

fn collect_refs(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    found.push((at.to_owned(), child.as_str().unwrap_or("<not a string>").to_owned()));
                } else {
                    collect_refs(child, &format!("{at}/{key}"), found);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// Every (method, path) the document has an operation for.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("openapi.json has no `paths` object");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        let item = item.as_object().unwrap_or_else(|| panic!("path item {path} is not an object"));
        for method in item.keys().filter(|key| HTTP_METHODS.contains(&key.as_str())) {
            operations.insert((method.clone(), path.clone()));
        }
    }
    operations
}

/// `(path, [method, ...])` for each `.route("path", get(..).post(..))` in
/// the body of `fn router`. Method names are the functions called at the
/// top level of the second argument (`get(`, `.patch(`,
/// `axum::routing::delete(`); calls nested inside them are handlers.
fn router_routes(source: &str) -> Vec<(String, Vec<String>)> {
    let start = source.find("pub fn router(").expect("api.rs has no `pub fn router(`");
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").expect("the end of `fn router` in api.rs")];
    let mut routes = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let after_quote =
            rest.trim_start().strip_prefix('"').expect("a .route( call whose path is not a string literal");
        let end = after_quote.find('"').expect("an unterminated route path literal");
        let path = after_quote[..end].to_owned();
        let chain = after_quote[end + 1..]
            .trim_start()
            .strip_prefix(',')
            .expect("a .route( call without a method router");
        routes.push((path, top_level_calls(chain)));
        rest = chain;
    }
    routes
}

/// The names of the functions called at depth 0 of `text`, up to the
/// parenthesis that closes the enclosing call. String literals are skipped.
fn top_level_calls(text: &str) -> Vec<String> {
    let mut calls = Vec::new();
    let mut depth = 0usize;
    let mut identifier = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // Skip the literal, honouring escapes.
                while let Some(inner) = chars.next() {
                    match inner {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                identifier.clear();
            }
            '(' => {
                if depth == 0 && !identifier.is_empty() {
                    calls.push(identifier.clone());
                }
                depth += 1;
                identifier.clear();
            }
            ')' => {
                if depth == 0 {
                    return calls;
                }
                depth -= 1;
                identifier.clear();
            }
            c if c.is_alphanumeric() || c == '_' => identifier.push(c),
            _ => identifier.clear(),
        }
    }
    panic!("a .route( call in api.rs is not closed");
}

/// The documented repository paths a method of the wildcard route serves.
fn repository_paths(method: &str) -> &'static [&'static str] {
    match method {
        "get" => &[
            "/api/v1/repositories/{repository}",
            "/api/v1/repositories/{repository}/_tags",
            "/api/v1/repositories/{repository}/_tags/{tag}",
            "/api/v1/repositories/{repository}/_manifests",
            "/api/v1/repositories/{repository}/_manifests/{digest}",
        ],
        "patch" | "delete" => &[
            "/api/v1/repositories/{repository}",
            "/api/v1/repositories/{repository}/_tags/{tag}",
            "/api/v1/repositories/{repository}/_manifests/{digest}",
        ],
        _ => &[],
    }
}

/// The (method, path) operations the router serves, in the document's terms.
fn routed_operations() -> BTreeSet<(String, String)> {
    let routes = router_routes(API_SOURCE);
    assert!(
        routes.iter().any(|(path, _)| path == "/api/v1/openapi.json"),
        "the route parser found no /api/v1/openapi.json route in api.rs (found {routes:?}); the parser or the router is broken"
    );
    assert!(
        routes.iter().any(|(path, _)| path.starts_with(REPOSITORY_WILDCARD_PREFIX)),
        "the route parser found no repository wildcard route in api.rs (found {routes:?})"
    );
    let mut operations = BTreeSet::new();
    for (path, methods) in routes {
        if path == CATCH_ALL {
            continue;
        }
        assert!(!methods.is_empty(), "route {path} in api.rs: no method router found");
        for method in methods {
            assert!(
                HTTP_METHODS.contains(&method.as_str()),
                "route {path} in api.rs uses method router `{method}(` which names no single HTTP method; \
                 document its methods and teach this test"
            );
            if path.starts_with(REPOSITORY_WILDCARD_PREFIX) {
                let mapped = repository_paths(&method);
                assert!(
                    !mapped.is_empty(),
                    "the repository wildcard route {path} serves {method}, which maps to no documented repository path"
                );
                operations.extend(mapped.iter().map(|p| (method.clone(), (*p).to_owned())));
            } else {
                assert!(
                    !path.contains("{*"),
                    "wildcard route {path} in api.rs has no documented mapping in this test"
                );
                operations.insert((method, path.clone()));
            }
        }
    }
    operations
}

fn show(operations: &BTreeSet<(String, String)>) -> String {
    operations
        .iter()
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc.pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("openapi.json has no component schema {name}"))
}

fn property_names(doc: &Value, name: &str) -> BTreeSet<String> {
    schema(doc, name)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} has no `properties` object"))
        .keys()
        .cloned()
        .collect()
}

fn required_names(doc: &Value, name: &str) -> BTreeSet<String> {
    schema(doc, name)["required"]
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("openapi.json has no `openapi` version string");
    assert!(version.starts_with("3.1."), "openapi.json declares OpenAPI {version}, not 3.1.x");
    assert_eq!(doc["info"]["title"], "Portcullis management API", "info.title");
    assert_eq!(doc["info"]["version"], "1", "info.version");

    let mut refs = Vec::new();
    collect_refs(&doc, "#", &mut refs);
    assert!(
        refs.len() > 20,
        "openapi.json has only {} $refs; the operations should reference component schemas",
        refs.len()
    );
    let broken: Vec<String> = refs
        .iter()
        .filter(|(_, target)| !target.starts_with("#/components/") || resolve(&doc, target).is_none())
        .map(|(at, target)| format!("{target} (at {at})"))
        .collect();
    assert!(broken.is_empty(), "$refs that do not resolve to an existing component: {}", broken.join(", "));

    let schemes = doc.pointer("/components/securitySchemes").expect("openapi.json has no securitySchemes");
    assert_eq!(schemes["basic"]["scheme"], "basic", "securitySchemes.basic is not HTTP Basic");
    assert_eq!(schemes["session"]["in"], "cookie", "securitySchemes.session is not a cookie scheme");
    assert_eq!(
        schemes["session"]["name"], "portcullis_session",
        "securitySchemes.session names the wrong cookie"
    );
    let note = schemes["session"]["description"].as_str().unwrap_or_default();
    assert!(
        note.contains("x-csrf-token"),
        "securitySchemes.session does not mention the x-csrf-token header"
    );
}

#[test]
fn component_schemas_named_in_the_contract_exist() {
    let doc = document();
    let missing: Vec<&str> = [
        "ScopeMap",
        "RepositoryActions",
        "Token",
        "Password",
        "Credentials",
        "TokenPage",
        "Repository",
        "Attributes",
        "AttributesPatch",
        "Tag",
        "Manifest",
        "Platform",
        "DeletedRepository",
        "AuditEntry",
        "AuditPage",
        "Problem",
        "NewScopeMap",
        "ScopeMapChange",
        "NewToken",
        "TokenChange",
        "GenerateCredentials",
    ]
    .into_iter()
    .filter(|name| doc.pointer(&format!("/components/schemas/{name}")).is_none())
    .collect();
    assert!(missing.is_empty(), "component schemas missing from openapi.json: {}", missing.join(", "));
}

#[test]
fn every_routed_operation_is_documented() {
    let routed = routed_operations();
    let documented = documented_operations(&document());
    let undocumented: BTreeSet<_> = routed.difference(&documented).cloned().collect();
    assert!(undocumented.is_empty(), "routes in api.rs missing from openapi.json: {}", show(&undocumented));
}

#[test]
fn every_documented_operation_is_routed() {
    let routed = routed_operations();
    let documented = documented_operations(&document());
    assert!(!documented.is_empty(), "openapi.json documents no operations");
    let unrouted: BTreeSet<_> = documented.difference(&routed).cloned().collect();
    assert!(
        unrouted.is_empty(),
        "operations in openapi.json that the router in api.rs does not serve: {}",
        show(&unrouted)
    );
}

#[test]
fn route_parser_reads_chained_and_qualified_method_routers() {
    let source = r#"
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/a", get(show).patch(update).delete(remove))
        .route("/b/{x}", axum::routing::delete(drop_it))
        .route("/c", post(handler_with(")", nested(1))))
        .route("/{*rest}", axum::routing::any(|| async { ApiError::NotFound("no (such) endpoint".into()) }))
        .layer(layer)
}
"#;
    let routes = router_routes(source);
    let expected: Vec<(String, Vec<String>)> = vec![
        ("/a".into(), vec!["get".into(), "patch".into(), "delete".into()]),
        ("/b/{x}".into(), vec!["delete".into()]),
        ("/c".into(), vec!["post".into()]),
        ("/{*rest}".into(), vec!["any".into()]),
    ];
    assert_eq!(routes, expected, "the route parser misread the sample router");
}

#[test]
fn token_password_and_scope_map_schemas_match_the_structs() {
    let doc = document();
    let token = set(&["name", "creationDate", "status", "scopeMap", "lastUsed", "credentials"]);
    let found = property_names(&doc, "Token");
    let missing: Vec<_> = token.difference(&found).collect();
    assert!(missing.is_empty(), "Token schema lacks properties {missing:?}");
    let extra: Vec<_> = found.difference(&token).collect();
    assert!(extra.is_empty(), "Token schema has properties TokenView does not serialise: {extra:?}");
    let required = required_names(&doc, "Token");
    let optional: Vec<_> = token.difference(&required).collect();
    assert!(
        optional.is_empty(),
        "Token schema does not require {optional:?} (always serialised, null when absent)"
    );

    let password = set(&["name", "value", "creationTime", "expiry"]);
    let found = property_names(&doc, "Password");
    let missing: Vec<_> = password.difference(&found).collect();
    assert!(missing.is_empty(), "Password schema lacks properties {missing:?}");
    let extra: Vec<_> = found.difference(&password).collect();
    assert!(extra.is_empty(), "Password schema has properties PasswordView does not serialise: {extra:?}");
    let required = required_names(&doc, "Password");
    assert!(
        !required.contains("value"),
        "Password schema requires `value`, which is only present at generation"
    );
    let always = set(&["name", "creationTime", "expiry"]);
    let optional: Vec<_> = always.difference(&required).collect();
    assert!(optional.is_empty(), "Password schema does not require {optional:?}");

    let nullable = |schema_name: &str, property: &str| {
        let types = &schema(&doc, schema_name)["properties"][property]["type"];
        types.as_array().is_some_and(|types| types.iter().any(|t| t == "null"))
    };
    assert!(nullable("Token", "lastUsed"), "Token.lastUsed is not nullable");
    assert!(nullable("Password", "expiry"), "Password.expiry is not nullable");

    let scope_map = property_names(&doc, "ScopeMap");
    assert!(
        scope_map.contains("type"),
        "ScopeMap schema lacks the `type` property (SystemDefined/UserDefined)"
    );
    assert!(!scope_map.contains("kind"), "ScopeMap schema names `kind`, which serialises as `type`");
}

#[test]
fn every_error_response_is_a_problem_with_its_codes() {
    let doc = document();
    let status_of: BTreeMap<&str, u64> = CODES.into_iter().collect();

    let problem_codes: BTreeSet<String> = schema(&doc, "Problem")["properties"]["code"]["enum"]
        .as_array()
        .expect("Problem.code has no enum")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let contract: BTreeSet<String> = status_of.keys().map(|code| (*code).to_owned()).collect();
    assert_eq!(problem_codes, contract, "Problem.code enum differs from docs/API.md's codes");

    // Every code api.rs can answer with is one of them.
    let emitted: BTreeSet<&str> = API_SOURCE
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|literal| literal.len() > 3 && literal.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    assert!(emitted.contains("INTERNAL"), "found no error code literals in api.rs (found {emitted:?})");
    let unknown: Vec<_> = emitted.iter().filter(|code| !status_of.contains_key(**code)).collect();
    assert!(unknown.is_empty(), "api.rs answers codes missing from the Problem enum: {unknown:?}");

    let problem_ref = "#/components/schemas/Problem";
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let what = format!("{} {path}", method.to_uppercase());
            let responses =
                operation["responses"].as_object().unwrap_or_else(|| panic!("{what} has no responses"));
            let secured = operation.get("security").and_then(Value::as_array).is_none_or(|s| !s.is_empty());
            if secured {
                for status in ["401", "500"] {
                    assert!(responses.contains_key(status), "{what} does not document its {status} response");
                }
            }
            assert!(responses.keys().any(|s| s.starts_with('2')), "{what} documents no success response");
            for (status, response) in responses.iter().filter(|(status, _)| !status.starts_with('2')) {
                let response = deref(&doc, response);
                let content =
                    response["content"].as_object().unwrap_or_else(|| panic!("{what} {status}: no content"));
                let media: Vec<_> = content.keys().collect();
                assert_eq!(
                    media,
                    ["application/problem+json"],
                    "{what} {status}: not application/problem+json"
                );
                let schema = &content["application/problem+json"]["schema"];
                let (refs_problem, codes) = match schema.get("allOf").and_then(Value::as_array) {
                    Some(parts) => (
                        parts.iter().any(|part| part["$ref"] == problem_ref),
                        parts
                            .iter()
                            .find_map(|part| part.pointer("/properties/code/enum"))
                            .and_then(Value::as_array),
                    ),
                    None => (schema["$ref"] == problem_ref, None),
                };
                assert!(refs_problem, "{what} {status}: the schema does not reference Problem");
                let codes = codes.unwrap_or_else(|| panic!("{what} {status}: lists no `code` enum"));
                assert!(!codes.is_empty(), "{what} {status}: empty `code` enum");
                for code in codes {
                    let code = code.as_str().unwrap_or_default();
                    let expected =
                        status_of.get(code).unwrap_or_else(|| panic!("{what} {status}: unknown code {code}"));
                    assert_eq!(
                        status,
                        &expected.to_string(),
                        "{what}: code {code} listed under the wrong status"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} error responses found in openapi.json");
}
