//! The OpenAPI 3.1 document of `/api/v1`, generated: operations from the
//! handlers' `#[utoipa::path]` annotations, schemas from the wire types of
//! `portcullis_proto`. This module adds what every operation shares (the
//! security schemes and the problem+json error answers) and documents the
//! repository operations that live behind the one wildcard route.

use portcullis_proto::{ErrorCode, Problem, TokenSort, PROBLEM_CONTENT_TYPE};
use utoipa::{
    openapi::{
        path::Operation,
        response::{ResponseBuilder, Responses},
        security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
        Content, Header, OpenApi as Document, Ref, RefOr,
    },
    OpenApi,
};

use super::OPENAPI_PATH;
use crate::http::portal::SESSION_COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis management API",
        description = "Scope maps, tokens, identities, role assignments, repositories and the audit \
                       log of a Portcullis registry (docs/API.md). Users authenticate with HTTP Basic or the \
                       portal session (state-changing calls then also send the session's x-csrf-token \
                       header), service principals with HTTP Basic (name or application id and a client \
                       secret); what they may call follows their role assignments. Tokens authenticate with HTTP Basic (their name and one of their \
                       passwords) on the repository calls and GET /api/v1/tokens/{own name}. \
                       Every error is application/problem+json.",
    ),
    paths(
        super::openapi_json,
        super::show_repository,
        super::update_repository,
        super::delete_repository,
        super::list_tags,
        super::show_tag,
        super::update_tag,
        super::untag,
        super::list_manifests,
        super::show_manifest,
        super::update_manifest,
        super::delete_manifest,
    ),
    components(schemas(Problem, ErrorCode, TokenSort), responses(NotFound, Conflict)),
    tags(
        (name = "scope maps", description = "Named sets of repository rules, shared by tokens"),
        (name = "tokens", description = "Repository credentials with two password slots"),
        (name = "repositories", description = "Repositories, tags and manifests and their lock attributes; \
                                               `{name}` is the repository name with its `/` kept"),
        (name = "audit", description = "Who did what, newest first"),
        (name = "access as code", description = "Scope maps, tokens and repository attributes as one \
                                                 document: export, plan and apply it in one transaction"),
        (name = "users", description = "People's accounts"),
        (name = "groups", description = "Named sets of users and service principals that hold roles together"),
        (name = "service principals", description = "Non-human callers with generated client secrets"),
        (name = "role assignments", description = "Built-in roles held by identities, with optional \
                                                   repository conditions; check-access"),
        (name = "registry", description = "The registry's settings: the role-assignment permissions mode"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The document before the routes' operations are added.
pub(super) fn base() -> Document {
    ApiDoc::openapi()
}

/// 404 `NOT_FOUND`.
#[derive(utoipa::ToResponse)]
#[response(description = "Not found (NOT_FOUND)", content_type = "application/problem+json")]
#[allow(dead_code)]
pub(super) struct NotFound(Problem);

/// 409 `CONFLICT`, `SCOPE_MAP_IN_USE`, `READ_ONLY`, `LOCKED`,
/// `STALE_REVISION` or `ROTATION_REFUSED`.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Conflict: CONFLICT (already exists), SCOPE_MAP_IN_USE, READ_ONLY (system scope map), \
                   LOCKED (the attributes forbid it), STALE_REVISION (the registry changed since the plan) \
                   or ROTATION_REFUSED (a token would lose every working password)",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub(super) struct Conflict(Problem);

/// `{name}` of the repository operations.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(super) struct RepositoryPath {
    /// The repository name with its `/` kept (not percent-encoded), e.g.
    /// `samples/hello-world`.
    name: String,
}

/// The error answers every authenticated operation may give, by status.
const SHARED_PROBLEMS: [(&str, &str, &str); 5] = [
    ("400", "BadRequest", "Bad input (INVALID); `detail` says what and why. Nothing was changed."),
    ("401", "Unauthorized", "No or wrong credentials (UNAUTHORIZED)"),
    (
        "403",
        "Denied",
        "The caller may not do this (DENIED): a token outside its scope map, or a call for administrators",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many failed sign-ins for this user from this client, too many at once, or more operations \
         than the caller's rate limit (TOO_MANY_REQUESTS); see Retry-After",
    ),
    ("500", "Internal", "Internal error (INTERNAL); the cause is logged, not sent"),
];

/// The security schemes and, on every operation, who may call it and the
/// shared problem answers. The document's own operation stays anonymous.
pub(super) fn finish(mut document: Document) -> Document {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
    );
    components.add_security_scheme(
        "csrf",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(app::session::CSRF_HEADER))),
    );
    for (status, name, description) in SHARED_PROBLEMS {
        let mut response = ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_CONTENT_TYPE, Content::new(Some(Ref::from_schema_name("Problem"))));
        if status == "401" {
            response = response.header("WWW-Authenticate", Header::default());
        }
        if status == "429" {
            response = response.header("Retry-After", Header::default());
        }
        components.responses.insert(name.to_owned(), RefOr::T(response.build()));
    }
    for (path, item) in document.paths.paths.iter_mut() {
        if path == OPENAPI_PATH {
            continue;
        }
        let operations = [
            (&mut item.get, true),
            (&mut item.put, false),
            (&mut item.post, false),
            (&mut item.patch, false),
            (&mut item.delete, false),
        ];
        for (operation, safe) in operations {
            if let Some(operation) = operation {
                secure(operation, safe);
                add_problems(&mut operation.responses);
            }
        }
    }
    document
}

/// Basic, or the portal session (with its CSRF header unless the method
/// is safe).
fn secure(operation: &mut Operation, safe: bool) {
    let no_scopes = Vec::<String>::new;
    let session = SecurityRequirement::new("session", no_scopes());
    let session = if safe { session } else { session.add("csrf", no_scopes()) };
    operation.security.get_or_insert_with(|| vec![SecurityRequirement::new("basic", no_scopes()), session]);
}

fn add_problems(responses: &mut Responses) {
    for (status, name, _) in SHARED_PROBLEMS {
        responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

#[cfg(test)]
#[path = "api_document_tests.rs"]
mod tests;
