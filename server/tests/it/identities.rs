//! Identities and role assignments against the real server (issue 11):
//! users, service principals, groups and the anonymous caller holding
//! built-in roles with repository conditions, through the management API,
//! plain HTTP on `/v2` and skopeo. The seed's three condition examples, the
//! trailing-slash pitfall, `ActionMatches`, anonymous pull beside tokens,
//! next-request revocation, and the permissions mode.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    clients::{fail, skopeo, succeed, ClientEnv},
    registry::Registry,
    testkit::ADMIN_PASSWORD,
};

const READER: &str = "Container Registry Repository Reader";
const WRITER: &str = "Container Registry Repository Writer";
const NAME: &str = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";
const USER_PASSWORD: &str = "developer-password-1";

/// The seed's repositories, each with one image tagged `v1`.
const REPOSITORIES: [&str; 6] =
    ["backend/nginx", "backend-infra/k8s", "backend", "backendsvc/app", "frontend/js/app", "frontend/css"];

async fn registry_with_images() -> Registry {
    let registry = Registry::start();
    for repository in REPOSITORIES {
        registry.push_image(repository, "v1", repository.as_bytes()).await;
    }
    registry
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

async fn created(registry: &Registry, path: &str, body: Value) -> Value {
    let (status, answer) = api(registry, Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
    answer
}

async fn create_user(registry: &Registry, name: &str) {
    created(registry, "/api/v1/users", json!({"name": name, "password": USER_PASSWORD})).await;
}

/// Assigns `role` to `assignee`; the answer (with its warnings).
async fn assign(registry: &Registry, assignee: &str, role: &str, condition: Option<&str>) -> Value {
    let mut body = json!({"assignee": assignee, "role": role});
    if let Some(condition) = condition {
        body["condition"] = json!(condition);
        body["conditionVersion"] = json!("2.0");
    }
    created(registry, "/api/v1/role-assignments", body).await
}

/// The common shape: `content/read` and `metadata/read` governed by
/// `expression`.
fn reading_where(expression: &str) -> String {
    format!(
        "((!(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/content/read'}}) \
         AND !(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}})) \
         OR ({expression}))"
    )
}

/// `GET /v2/<repository>/manifests/v1` with Basic credentials: the status.
async fn pull(registry: &Registry, user: &str, password: &str, repository: &str) -> StatusCode {
    let url = registry.server.url(&format!("/v2/{repository}/manifests/v1"));
    let request = registry.client.get(url).basic_auth(user, Some(password));
    request.header("accept", crate::registry::OCI_MANIFEST).send().await.unwrap().status()
}

/// Which of `REPOSITORIES` `user` may pull.
async fn pullable(registry: &Registry, user: &str, password: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for repository in REPOSITORIES {
        match pull(registry, user, password, repository).await {
            StatusCode::OK => found.push(repository),
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {}
            other => panic!("{user} pulling {repository}: {other}"),
        }
    }
    found
}

async fn catalog(registry: &Registry, user: &str, password: &str) -> Vec<String> {
    let response = registry
        .client
        .get(registry.server.url("/v2/_catalog"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let listing: Value = response.json().await.unwrap();
    listing["repositories"].as_array().unwrap().iter().map(|name| name.as_str().unwrap().to_owned()).collect()
}

async fn push_blob_status(registry: &Registry, user: &str, password: &str, repository: &str) -> StatusCode {
    let url = registry.server.url(&format!("/v2/{repository}/blobs/uploads/"));
    registry.client.post(url).basic_auth(user, Some(password)).send().await.unwrap().status()
}

#[tokio::test]
async fn the_sources_three_conditions_as_a_user_and_as_a_service_principal() {
    let registry = registry_with_images().await;
    create_user(&registry, "dev").await;
    let one = format!("{NAME} StringEqualsIgnoreCase 'backend/nginx'");
    let assignment = assign(&registry, "dev", READER, Some(&reading_where(&one))).await;
    assert_eq!(assignment["assignee"], json!({"kind": "user", "name": "dev"}));
    assert_eq!(assignment["honoured"], json!(true));
    assert_eq!(assignment["warnings"], json!([]), "{assignment}");
    assert_eq!(pullable(&registry, "dev", USER_PASSWORD).await, ["backend/nginx"]);
    assert_eq!(catalog(&registry, "dev", USER_PASSWORD).await, ["backend/nginx"]);
    assert_eq!(
        push_blob_status(&registry, "dev", USER_PASSWORD, "backend/nginx").await,
        StatusCode::FORBIDDEN
    );

    // A prefix with its slash: backend/nginx, never backend-infra/k8s nor
    // backend itself. The edit counts from the next request.
    let prefix = format!("{NAME} StringStartsWithIgnoreCase 'backend/'");
    let id = assignment["name"].as_str().unwrap();
    let path = format!("/api/v1/role-assignments/{id}");
    let (status, edited) =
        api(&registry, Method::PATCH, &path, Some(json!({"condition": reading_where(&prefix)}))).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(pullable(&registry, "dev", USER_PASSWORD).await, ["backend/nginx"]);

    // Two prefixes with Or.
    let two = format!(
        "{NAME} StringStartsWithIgnoreCase 'backend/' OR {NAME} StringStartsWithIgnoreCase 'frontend/js/'"
    );
    let (status, _) =
        api(&registry, Method::PATCH, &path, Some(json!({"condition": reading_where(&two)}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pullable(&registry, "dev", USER_PASSWORD).await, ["backend/nginx", "frontend/js/app"]);
    assert_eq!(catalog(&registry, "dev", USER_PASSWORD).await, ["backend/nginx", "frontend/js/app"]);

    // Check access says which assignment gives what, and why not.
    let (status, check) =
        api(&registry, Method::GET, "/api/v1/check-access?assignee=dev&repository=frontend/js/app", None)
            .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    let read = check["actions"].as_array().unwrap().iter().find(|a| a["action"] == "content/read").unwrap();
    assert_eq!(read["granted"], json!(true));
    assert_eq!(read["grantedBy"][0]["assignment"], json!(id));
    let write = check["actions"].as_array().unwrap().iter().find(|a| a["action"] == "content/write").unwrap();
    assert_eq!(write["granted"], json!(false));

    // The same as a service principal, with skopeo and its client secret.
    let sp = created(&registry, "/api/v1/service-principals", json!({"name": "ci-frontend"})).await;
    let secret = sp["secrets"][0]["value"].as_str().expect("the secret, shown once").to_owned();
    assert!(secret.starts_with("pcs_"), "{secret}");
    let (_, again) = api(&registry, Method::GET, "/api/v1/service-principals/ci-frontend", None).await;
    assert!(again["secrets"][0].get("value").is_none(), "shown once only: {again}");
    let writes = format!(
        "((!(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/content/read'}}) \
          AND !(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}}) \
          AND !(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/content/write'}}) \
          AND !(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/metadata/write'}})) \
         OR ({two}))"
    );
    let writer = assign(&registry, "ci-frontend", WRITER, Some(&writes)).await;
    assert_eq!(writer["assignee"]["kind"], json!("service-principal"));
    let env = ClientEnv::new();
    let authority = registry.server.authority().to_owned();
    let login =
        ["login", "--tls-verify=false", "--username", "ci-frontend", "--password-stdin", authority.as_str()];
    succeed(skopeo(&env, &login), Some(&format!("{secret}\n")));
    let image = |repository: &str| format!("docker://{authority}/{repository}:v1");
    succeed(skopeo(&env, &["inspect", "--tls-verify=false", &image("frontend/js/app")]), None);
    let refused = fail(skopeo(&env, &["inspect", "--tls-verify=false", &image("frontend/css")]), None);
    assert!(refused.contains("denied") || refused.contains("unauthorized"), "{refused}");
    // It may push where its condition holds, and only there.
    let copy = |to: &str| {
        skopeo(
            &env,
            &[
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &image("backend/nginx"),
                to,
            ],
        )
    };
    succeed(copy(&format!("docker://{authority}/frontend/js/new:v1")), None);
    let refused = fail(copy(&format!("docker://{authority}/frontend/css:v2")), None);
    assert!(refused.contains("denied") || refused.contains("403"), "{refused}");
}

#[tokio::test]
async fn a_prefix_without_its_slash_reaches_its_siblings_and_the_answer_says_so() {
    let registry = registry_with_images().await;
    create_user(&registry, "dev").await;
    let condition = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'backend'"));
    let assignment = assign(&registry, "dev", READER, Some(&condition)).await;
    let warnings = assignment["warnings"].to_string();
    assert!(warnings.contains("'backend' has no trailing '/'"), "{warnings}");
    assert!(warnings.contains("backend-infra/k8s") && warnings.contains("backendsvc/app"), "{warnings}");
    assert_eq!(
        pullable(&registry, "dev", USER_PASSWORD).await,
        ["backend/nginx", "backend-infra/k8s", "backend", "backendsvc/app"]
    );
}

#[tokio::test]
async fn an_action_the_condition_does_not_name_is_granted_everywhere_and_the_api_says_so() {
    let registry = registry_with_images().await;
    create_user(&registry, "dev").await;
    let condition = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'backend/'"));
    let assignment = assign(&registry, "dev", WRITER, Some(&condition)).await;
    let warnings = assignment["warnings"].to_string();
    assert!(warnings.contains("content/write is not restricted by the condition"), "{warnings}");
    assert!(warnings.contains("metadata/write is not restricted by the condition"), "{warnings}");
    // Reading follows the condition; writing does not.
    assert_eq!(pullable(&registry, "dev", USER_PASSWORD).await, ["backend/nginx"]);
    assert_eq!(push_blob_status(&registry, "dev", USER_PASSWORD, "frontend/css").await, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn anonymous_pull_of_public_repositories_beside_scoped_tokens() {
    let registry = Registry::start();
    registry.push_image("public/x", "v1", b"public").await;
    registry.push_image("private/x", "v1", b"private").await;
    let env = ClientEnv::new();
    let authority = registry.server.authority().to_owned();
    let inspect = |repository: &str| {
        skopeo(
            &env,
            &[
                "inspect",
                "--tls-verify=false",
                "--no-creds",
                &format!("docker://{authority}/{repository}:v1"),
            ],
        )
    };
    // No assignment, no anonymous access.
    fail(inspect("public/x"), None);

    let condition = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'public/'"));
    let body =
        json!({"assignee": "anonymous", "assigneeKind": "anonymous", "role": READER, "condition": condition});
    let assignment = created(&registry, "/api/v1/role-assignments", body).await;
    assert_eq!(assignment["assignee"], json!({"kind": "anonymous", "name": "Everyone (anonymous)"}));
    succeed(inspect("public/x"), None);
    let refused = fail(inspect("private/x"), None);
    assert!(refused.contains("unauthorized") || refused.contains("denied"), "{refused}");
    // Plain HTTP without credentials too, and nothing more than pulling.
    let get = registry.client.get(registry.server.url("/v2/public/x/manifests/v1"));
    assert_eq!(get.send().await.unwrap().status(), StatusCode::OK);
    let post = registry.client.post(registry.server.url("/v2/public/x/blobs/uploads/"));
    assert_eq!(post.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let ping = registry.client.get(registry.server.url("/v2/"));
    assert_eq!(
        ping.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "clients still learn the realm"
    );

    // A scoped token works unchanged on the same registry.
    let token = json!({"name": "private-reader", "repositories": [{"repository": "private/x", "actions": ["content/read"]}]});
    let token = created(&registry, "/api/v1/tokens", token).await;
    let password = token["credentials"]["passwords"][0]["value"].as_str().unwrap();
    assert_eq!(pull(&registry, "private-reader", password, "private/x").await, StatusCode::OK);
    // What is open to everyone stays open to a client that logged in.
    assert_eq!(pull(&registry, "private-reader", password, "public/x").await, StatusCode::OK);
    // Everyone can hold repository roles only.
    let body = json!({"assignee": "anonymous", "assigneeKind": "anonymous", "role": "Reader"});
    let (status, refused) = api(&registry, Method::POST, "/api/v1/role-assignments", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
}

#[tokio::test]
async fn groups_disabling_and_secrets_count_from_the_next_request() {
    let registry = registry_with_images().await;
    create_user(&registry, "dev").await;
    created(&registry, "/api/v1/groups", json!({"name": "backend-team"})).await;
    let (status, group) =
        api(&registry, Method::POST, "/api/v1/groups/backend-team/members", Some(json!({"member": "dev"})))
            .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(group["members"], json!([{"kind": "user", "name": "dev"}]));
    let condition = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'backend/'"));
    assign(&registry, "backend-team", READER, Some(&condition)).await;
    assert_eq!(pullable(&registry, "dev", USER_PASSWORD).await, ["backend/nginx"]);

    // A bearer token issued now stops working once the membership ends.
    let grant = registry.password_grant("dev", USER_PASSWORD, "repository:backend/nginx:pull").await;
    let bearer = grant["access_token"].as_str().unwrap().to_owned();
    let with_bearer = || {
        registry
            .client
            .get(registry.server.url("/v2/backend/nginx/manifests/v1"))
            .bearer_auth(&bearer)
            .header("accept", crate::registry::OCI_MANIFEST)
            .send()
    };
    assert_eq!(with_bearer().await.unwrap().status(), StatusCode::OK);
    let (status, _) = api(&registry, Method::DELETE, "/api/v1/groups/backend-team/members/dev", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pullable(&registry, "dev", USER_PASSWORD).await, Vec::<&str>::new());
    assert_ne!(with_bearer().await.unwrap().status(), StatusCode::OK);

    // Disabling a user ends its sign-ins and its tokens.
    assign(&registry, "dev", READER, Some(&condition)).await;
    let grant = registry.password_grant("dev", USER_PASSWORD, "repository:backend/nginx:pull").await;
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) =
        api(&registry, Method::PATCH, "/api/v1/users/dev", Some(json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pull(&registry, "dev", USER_PASSWORD, "backend/nginx").await, StatusCode::UNAUTHORIZED);
    let refreshed = registry.refresh_grant(&refresh, "repository:backend/nginx:pull").await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);

    // A service principal's deleted and expired secrets.
    let sp = created(&registry, "/api/v1/service-principals", json!({"name": "ci"})).await;
    let first = sp["secrets"][0]["value"].as_str().unwrap().to_owned();
    let first_key = sp["secrets"][0]["keyId"].as_str().unwrap().to_owned();
    assign(&registry, "ci", READER, Some(&condition)).await;
    assert_eq!(pull(&registry, "ci", &first, "backend/nginx").await, StatusCode::OK);
    let app_id = sp["appId"].as_str().unwrap();
    assert_eq!(pull(&registry, app_id, &first, "backend/nginx").await, StatusCode::OK, "by application id");
    let grant = registry.password_grant("ci", &first, "repository:backend/nginx:pull").await;
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let path = "/api/v1/service-principals/ci/secrets";
    let (status, appended) =
        api(&registry, Method::POST, path, Some(json!({"append": true, "expiresAt": soon}))).await;
    assert_eq!(status, StatusCode::OK, "{appended}");
    let expiring = appended["secrets"][1]["value"].as_str().unwrap().to_owned();
    assert_eq!(pull(&registry, "ci", &expiring, "backend/nginx").await, StatusCode::OK);
    let (status, _) = api(&registry, Method::DELETE, &format!("{path}/{first_key}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pull(&registry, "ci", &first, "backend/nginx").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        registry.refresh_grant(&refresh, "repository:backend/nginx:pull").await.status(),
        StatusCode::UNAUTHORIZED
    );
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(pull(&registry, "ci", &expiring, "backend/nginx").await, StatusCode::UNAUTHORIZED, "expired");
}

#[tokio::test]
async fn the_permissions_mode_switch_with_its_preview() {
    let registry = registry_with_images().await;
    let (_, settings) = api(&registry, Method::GET, "/api/v1/registry", None).await;
    assert_eq!(settings, json!({"roleAssignmentMode": "rbac-abac"}), "a new registry's default");
    create_user(&registry, "legacy").await;
    assign(&registry, "legacy", "AcrPull", None).await;
    create_user(&registry, "scoped").await;
    let condition = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'backend/'"));
    assign(&registry, "scoped", READER, Some(&condition)).await;
    // rbac-abac: AcrPull is not honoured; the condition is.
    assert_eq!(pullable(&registry, "legacy", USER_PASSWORD).await, Vec::<&str>::new());
    assert_eq!(pullable(&registry, "scoped", USER_PASSWORD).await, ["backend/nginx"]);

    let change = json!({"roleAssignmentMode": "rbac"});
    let (status, preview) =
        api(&registry, Method::POST, "/api/v1/registry/preview", Some(change.clone())).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let changed: Vec<&str> = preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["assignee"]["name"].as_str().unwrap())
        .collect();
    assert!(changed.contains(&"legacy") && changed.contains(&"scoped"), "{preview}");
    // The administrator's Owner gains repository access in rbac; its
    // unconditioned Repository Contributor and Catalog Lister do not change.
    let roles: Vec<&str> =
        preview["changes"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert!(!roles.iter().any(|role| role.starts_with("Container Registry Repository C")), "{preview}");
    assert_eq!(
        pullable(&registry, "legacy", USER_PASSWORD).await,
        Vec::<&str>::new(),
        "a preview changes nothing"
    );

    let (status, _) = api(&registry, Method::PATCH, "/api/v1/registry", Some(change)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pullable(&registry, "legacy", USER_PASSWORD).await, REPOSITORIES.to_vec());
    assert_eq!(
        pullable(&registry, "scoped", USER_PASSWORD).await,
        Vec::<&str>::new(),
        "not honoured in rbac"
    );
    let (_, listed) = api(&registry, Method::GET, "/api/v1/role-assignments?assignee=scoped", None).await;
    assert_eq!(listed[0]["honoured"], json!(false), "{listed}");
    // Conditions cannot be set in rbac mode.
    let body = json!({"assignee": "scoped", "role": READER, "condition": condition});
    let (status, refused) = api(&registry, Method::POST, "/api/v1/role-assignments", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    // The administrator keeps push, pull and the catalog in both modes.
    for mode in ["rbac", "rbac-abac"] {
        let body = json!({"roleAssignmentMode": mode});
        assert_eq!(api(&registry, Method::PATCH, "/api/v1/registry", Some(body)).await.0, StatusCode::OK);
        assert_eq!(pullable(&registry, "admin", ADMIN_PASSWORD).await, REPOSITORIES.to_vec(), "{mode}");
        assert_eq!(
            push_blob_status(&registry, "admin", ADMIN_PASSWORD, "new/repo").await,
            StatusCode::ACCEPTED
        );
        assert_eq!(catalog(&registry, "admin", ADMIN_PASSWORD).await.len(), REPOSITORIES.len(), "{mode}");
    }
}

#[tokio::test]
async fn control_plane_roles_decide_the_management_api() {
    let registry = Registry::start();
    create_user(&registry, "auditor").await;
    assign(&registry, "auditor", "Reader", None).await;
    let as_auditor = |method: Method, path: &str| {
        registry.client.request(method, registry.server.url(path)).basic_auth("auditor", Some(USER_PASSWORD))
    };
    assert_eq!(as_auditor(Method::GET, "/api/v1/tokens").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        as_auditor(Method::GET, "/api/v1/role-assignments").send().await.unwrap().status(),
        StatusCode::OK
    );
    let refused = as_auditor(Method::POST, "/api/v1/users")
        .json(&json!({"name": "someone", "password": USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("users, groups and service principals"),
        "{problem}"
    );
    // Names are one space, without case, across users, service principals,
    // groups and tokens.
    for (path, body) in [
        ("/api/v1/users", json!({"name": "AUDITOR", "password": USER_PASSWORD})),
        ("/api/v1/service-principals", json!({"name": "Auditor"})),
        ("/api/v1/groups", json!({"name": "auditor"})),
    ] {
        let (status, answer) = api(&registry, Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
    }
    let token =
        json!({"name": "Auditor", "repositories": [{"repository": "a", "actions": ["content/read"]}]});
    assert_eq!(api(&registry, Method::POST, "/api/v1/tokens", Some(token)).await.0, StatusCode::CONFLICT);
}

// ----- the authorisation matrix for identities -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Pull,
    Push,
    Delete,
    ReadMetadata,
    WriteMetadata,
}

const ACTS: [Act; 5] = [Act::Pull, Act::Push, Act::Delete, Act::ReadMetadata, Act::WriteMetadata];

/// What each built-in role gives on repositories, from the text (not
/// from the server's tables): in `rbac-abac` only the Repository roles; in
/// `rbac` also the legacy roles and Owner, Contributor and Reader.
fn expected(role: &str, mode: &str) -> &'static [Act] {
    use Act::*;
    const READ: &[Act] = &[Pull, ReadMetadata];
    const WRITE: &[Act] = &[Pull, ReadMetadata, Push, WriteMetadata];
    const ALL: &[Act] = &[Pull, ReadMetadata, Push, WriteMetadata, Delete];
    match (role, mode) {
        ("Container Registry Repository Reader", _) => READ,
        ("Container Registry Repository Writer", _) => WRITE,
        ("Container Registry Repository Contributor", _) => ALL,
        ("Owner" | "Contributor", "rbac") => ALL,
        ("Reader" | "AcrPull", "rbac") => READ,
        ("AcrPush", "rbac") => WRITE,
        ("AcrDelete", "rbac") => &[Delete],
        _ => &[],
    }
}

/// Whether `user` may do `act` on `repository`, asked over HTTP: the
/// decision runs before the handler, so a refusal is 401/403 and anything
/// else means allowed (a delete of a digest that does not exist is 404).
async fn may(registry: &Registry, user: &str, act: Act, repository: &str) -> bool {
    let base = registry.server.url("");
    let base = base.trim_end_matches('/');
    let request = match act {
        Act::Pull => registry.client.get(format!("{base}/v2/{repository}/manifests/v1")),
        Act::Push => registry.client.post(format!("{base}/v2/{repository}/blobs/uploads/")),
        Act::Delete => {
            registry.client.delete(format!("{base}/v2/{repository}/manifests/sha256:{}", "0".repeat(64)))
        }
        Act::ReadMetadata => registry.client.get(format!("{base}/v2/{repository}/tags/list")),
        Act::WriteMetadata => {
            registry.client.patch(format!("{base}/api/v1/repositories/{repository}")).json(&json!({}))
        }
    };
    let status = request.basic_auth(user, Some(USER_PASSWORD)).send().await.unwrap().status();
    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}

#[tokio::test]
async fn every_role_with_and_without_a_condition_on_every_operation_in_both_modes() {
    let registry = Registry::start();
    for repository in ["backend/app", "other/app"] {
        registry.push_image(repository, "v1", repository.as_bytes()).await;
    }
    let (_, roles) = api(&registry, Method::GET, "/api/v1/role-definitions", None).await;
    let roles: Vec<(String, bool)> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|role| (role["name"].as_str().unwrap().to_owned(), role["abacEnabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(roles.len(), 13);
    let condition = format!("{NAME} StringStartsWithIgnoreCase 'backend/'");
    // (user, role, conditional)
    let mut cases = Vec::new();
    for (index, (role, abac)) in roles.iter().enumerate() {
        for conditional in [false, true] {
            if conditional && !abac {
                continue;
            }
            let user = format!("user{index}{}", if conditional { "c" } else { "" });
            create_user(&registry, &user).await;
            assign(&registry, &user, role, conditional.then_some(condition.as_str())).await;
            cases.push((user, role.clone(), conditional));
        }
    }
    assert_eq!(cases.len(), 16);
    let mut mismatches = Vec::new();
    for mode in ["rbac-abac", "rbac"] {
        let body = json!({"roleAssignmentMode": mode});
        assert_eq!(api(&registry, Method::PATCH, "/api/v1/registry", Some(body)).await.0, StatusCode::OK);
        for (user, role, conditional) in &cases {
            for repository in ["backend/app", "other/app"] {
                // A condition holds on backend/ only, and counts only in
                // rbac-abac (in rbac it is kept but gives nothing).
                let honoured = !conditional || (mode == "rbac-abac" && repository.starts_with("backend/"));
                for act in ACTS {
                    let want = honoured && expected(role, mode).contains(&act);
                    let got = may(&registry, user, act, repository).await;
                    if want != got {
                        mismatches.push(format!(
                            "{mode}: {role}{} {act:?} on {repository}: expected {want}, got {got}",
                            if *conditional { " (backend/)" } else { "" }
                        ));
                    }
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// The README's identity flow, as printed there: the CLI creates a user
/// (password on stdin) and assigns the conditional Reader role; the user
/// logs in with a real client and reaches backend/ only; check-access says
/// why.
#[tokio::test]
async fn the_readmes_identity_flow_with_the_cli_and_skopeo() {
    let registry = registry_with_images().await;
    let cli = crate::walkthrough::Cli { base: registry.server.base.clone() };
    let admin = |args: &[&str], stdin: Option<&str>| {
        let mut command = cli.command(args);
        command.env("PORTCULLIS_USERNAME", "admin").env("PORTCULLIS_PASSWORD", ADMIN_PASSWORD);
        crate::command::execute(command, stdin).succeeded()
    };
    admin(&["user", "create", "--name", "alice", "--password-stdin"], Some(&format!("{USER_PASSWORD}\n")));
    let condition = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'backend/'"));
    let created = admin(
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            "alice",
            "--role",
            READER,
            "--condition-version",
            "2.0",
            "--condition",
            &condition,
        ],
        None,
    );
    assert!(created.stderr.is_empty(), "no warning for a prefix with its slash: {}", created.stderr);
    let env = ClientEnv::new();
    let authority = registry.server.authority().to_owned();
    let login =
        ["login", "--tls-verify=false", "--username", "alice", "--password-stdin", authority.as_str()];
    succeed(skopeo(&env, &login), Some(&format!("{USER_PASSWORD}\n")));
    let image = |repository: &str| format!("docker://{authority}/{repository}:v1");
    succeed(skopeo(&env, &["inspect", "--tls-verify=false", &image("backend/nginx")]), None);
    fail(skopeo(&env, &["inspect", "--tls-verify=false", &image("backend-infra/k8s")]), None);
    let check = admin(
        &["check-access", "--assignee", "alice", "--repository", "backend/nginx", "--output", "table"],
        None,
    );
    let read = check.stdout.lines().find(|line| line.starts_with("content/read")).expect(&check.stdout);
    assert!(read.contains("yes") || read.contains("true"), "{}", check.stdout);
    assert!(read.contains(READER), "{}", check.stdout);

    // A prefix without its slash: the CLI prints the warning on stderr.
    let sloppy = reading_where(&format!("{NAME} StringStartsWithIgnoreCase 'frontend'"));
    let warned = admin(
        &["role", "assignment", "create", "--assignee", "alice", "--role", READER, "--condition", &sloppy],
        None,
    );
    assert!(warned.stderr.contains("no trailing '/'"), "{}", warned.stderr);
}
