//! The JSON management API under `/api/v1` (docs/API.md). Authenticates
//! administrators (HTTP Basic or the portal session with its CSRF header)
//! and, for repository calls and their own token, repository tokens; maps
//! every error once to an `application/problem+json` body. Bodies are the
//! wire types of `portcullis_proto`; the OpenAPI 3.1 document served at
//! `/api/v1/openapi.json` is generated from the handlers' annotations and
//! those types (`api_openapi.rs`), never written by hand.

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use portcullis_proto::{
    AuditEntry, AuditOutcome, AuditPage, AuditQuery, CredentialExpiryChange, Credentials, DeletedRepository,
    ErrorCode, GenerateCredentials, Manifest, NewScopeMap, NewToken, PasswordChange, PasswordSlot, Problem,
    Repository, ScopeMap, ScopeMapChange, Token, TokenChange, TokenListQuery, TokenPage, TokenSort,
    PROBLEM_CONTENT_TYPE,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    caller::{Control, ManagementCaller, ReadAudit, ReadConfiguration, WriteConfiguration},
    ClientAddress,
};
use crate::{
    auth::{password::HumanPassword, token::Subject},
    db::{repositories::LockTarget, tokens::AuditRow},
    domain::{Digest, RepositoryName, Tag},
    policy::{
        roles::{ControlAccess, ControlArea},
        RepositoryOperation,
    },
    service::{
        registry::RegistryError,
        repositories::{AttributesPatch, RepositoryAdmin, TagView},
        tokens::ManageError,
        users::UserError,
    },
    AppState,
};

#[path = "api_access.rs"]
mod access;
#[path = "api_identities.rs"]
mod identities;
#[path = "api_openapi.rs"]
mod openapi;

/// Where the generated document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The documented operations with one path each: the router and the
/// document are made from the same `routes!` lists. The repository
/// operations live behind the one wildcard route in [`router`] (names
/// contain `/`) and are documented in [`openapi::ApiDoc`].
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(list_scope_maps, create_scope_map))
        .routes(routes!(show_scope_map, update_scope_map, delete_scope_map))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(show_token, update_token, delete_token))
        .routes(routes!(generate_credentials))
        .routes(routes!(delete_credential, update_credential))
        .routes(routes!(access::export_access))
        .routes(routes!(access::plan_access))
        .routes(routes!(access::apply_access))
        .routes(routes!(list_repositories))
        .routes(routes!(list_audit))
        .routes(routes!(change_password))
        .routes(routes!(identities::list_users, identities::create_user))
        .routes(routes!(identities::show_user, identities::update_user, identities::delete_user))
        .routes(routes!(identities::list_groups, identities::create_group))
        .routes(routes!(identities::show_group, identities::delete_group))
        .routes(routes!(identities::add_member))
        .routes(routes!(identities::remove_member))
        .routes(routes!(identities::list_service_principals, identities::create_service_principal))
        .routes(routes!(
            identities::show_service_principal,
            identities::update_service_principal,
            identities::delete_service_principal
        ))
        .routes(routes!(identities::reset_secret))
        .routes(routes!(identities::delete_secret))
        .routes(routes!(identities::list_federated_credentials, identities::create_federated_credential))
        .routes(routes!(identities::delete_federated_credential))
        .routes(routes!(identities::list_role_definitions))
        .routes(routes!(identities::list_role_assignments, identities::create_role_assignment))
        .routes(routes!(
            identities::show_role_assignment,
            identities::update_role_assignment,
            identities::delete_role_assignment
        ))
        .routes(routes!(identities::check_access))
        .routes(routes!(identities::show_registry, identities::update_registry))
        .routes(routes!(identities::preview_registry))
}

pub fn router(state: AppState) -> Router {
    routes()
        .layer(axum::extract::DefaultBodyLimit::max(state.limits.max_api_body_bytes))
        .layer(super::portal::session_layer(&state))
        .with_state(state)
}

/// Every route of `/api/v1`: the documented ones, the document itself, the
/// repository wildcard and the 404 for the rest.
pub(crate) fn routes() -> Router<AppState> {
    let (routes, document) = documented_routes().split_for_parts();
    let served: std::sync::Arc<str> =
        openapi::finish(document).to_json().expect("the document serialises").into();
    routes
        .route(OPENAPI_PATH, get(move || openapi_json(served.clone())))
        .route(
            "/api/v1/repositories/{*path}",
            get(repository_get).patch(repository_patch).delete(repository_delete).fallback(repository_other),
        )
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|_: ManagementCaller| async {
                ApiError::NotFound("no such API endpoint".into())
            }),
        )
        .method_not_allowed_fallback(|_: ManagementCaller| async { ApiError::MethodNotAllowed })
}

/// A JSON problem (RFC 9457).
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Denied(String),
    NotFound(String),
    Invalid(String),
    /// Bad input, at this JSON pointer into the request body.
    InvalidAt(String, String),
    Conflict(ErrorCode, String),
    MethodNotAllowed,
    /// Too many failed sign-ins (or too many at once): retry after this.
    TooManyRequests(std::time::Duration),
    /// Over the caller's rate limit: what the limit is, and the wait.
    RateLimited(String, std::time::Duration),
    /// The body is larger than the limit (bytes).
    TooLarge(usize),
    /// The registry's disk is full (507); nothing was changed.
    InsufficientStorage,
    Internal,
}

impl ApiError {
    /// A failure below the API that the caller cannot fix: logged with its
    /// cause, answered 500 without detail, or 507 with words an operator
    /// can act on when the cause is a full disk.
    pub(crate) fn internal(cause: &(dyn std::error::Error + 'static), what: &'static str) -> Self {
        if crate::service::out_of_space(cause) {
            tracing::error!(error = %cause, "out of space: {what}");
            return ApiError::InsufficientStorage;
        }
        tracing::error!(error = %cause, "{what}");
        ApiError::Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::TooManyRequests(wait) => Some(wait.as_secs().max(1)),
            ApiError::RateLimited(_, wait) => Some(super::oci::error::retry_seconds(*wait)),
            _ => None,
        };
        let pointer = match &self {
            ApiError::InvalidAt(pointer, _) => Some(pointer.clone()),
            _ => None,
        };
        let (status, code, detail) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "authentication required: give an administrator's or a token's name and password".to_owned(),
            ),
            ApiError::Denied(detail) => (StatusCode::FORBIDDEN, ErrorCode::Denied, detail),
            ApiError::NotFound(detail) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, detail),
            ApiError::Invalid(detail) | ApiError::InvalidAt(_, detail) => {
                (StatusCode::BAD_REQUEST, ErrorCode::Invalid, detail)
            }
            ApiError::Conflict(code, detail) => (StatusCode::CONFLICT, code, detail),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::Invalid,
                "this resource does not support that method; see /api/v1/openapi.json".to_owned(),
            ),
            ApiError::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                format!(
                    "too many sign-in attempts (failed ones, or too many at once): retry in {} s",
                    wait.as_secs().max(1)
                ),
            ),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("the request body is larger than the limit of {limit} bytes (--max-api-body-bytes)"),
            ),
            ApiError::RateLimited(reason, wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                format!("too many requests: {reason} for this credential (the registry operator's rate limit); retry in {} s", super::oci::error::retry_seconds(wait)),
            ),
            ApiError::InsufficientStorage => (
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::InsufficientStorage,
                "insufficient storage: the registry's disk is full; nothing was changed, retry once space \
                 is freed"
                    .to_owned(),
            ),
            ApiError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal server error".to_owned())
            }
        };
        let body = Problem {
            pointer,
            ..Problem::new(status.as_u16(), status.canonical_reason().unwrap_or("Error"), code, detail)
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"portcullis\""));
        }
        response
    }
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        match error {
            ManageError::Invalid(detail) => ApiError::Invalid(detail),
            ManageError::InvalidAt { pointer, message } => {
                ApiError::InvalidAt(format!("/document{pointer}"), message)
            }
            ManageError::StaleRevision(detail) => ApiError::Conflict(ErrorCode::StaleRevision, detail),
            ManageError::RotationRefused(detail) => ApiError::Conflict(ErrorCode::RotationRefused, detail),
            ManageError::NotFound(detail) => ApiError::NotFound(detail),
            ManageError::Conflict(detail) => ApiError::Conflict(ErrorCode::Conflict, detail),
            error @ ManageError::InUse { .. } => {
                ApiError::Conflict(ErrorCode::ScopeMapInUse, error.to_string())
            }
            error @ ManageError::ReadOnly(_) => ApiError::Conflict(ErrorCode::ReadOnly, error.to_string()),
            ManageError::Internal(cause) => ApiError::internal(&*cause, "management request failed"),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::NameUnknown => ApiError::NotFound("repository not found".into()),
            RegistryError::ManifestUnknown => ApiError::NotFound("tag or manifest not found".into()),
            RegistryError::Locked(detail) => ApiError::Conflict(ErrorCode::Locked, detail),
            other => ApiError::internal(&other, "repository management request failed"),
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The generated document (made once, when the router is built).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json(document: std::sync::Arc<str>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.to_string()).into_response()
}

/// The JSON body, with a clear message when it does not parse.
struct Body<T>(T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let too_large = || ApiError::TooLarge(state.limits.max_api_body_bytes);
        let (parts, body) = request.into_parts();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => ApiError::Invalid(rejection.body_text()),
            })?;
        match Json::<T>::from_request(Request::from_parts(parts, bytes.clone().into()), state).await {
            // Every body is an object, but serde also reads a struct from
            // an array of its fields in order (`[null, null]`).
            Ok(_) if bytes.trim_ascii_start().first() != Some(&b'{') => {
                Err(ApiError::Invalid("the body must be a JSON object".into()))
            }
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(rejection) => Err(ApiError::Invalid(rejection.body_text())),
        }
    }
}

/// The query string, with a clear message when it does not parse.
struct Params<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(ApiError::Invalid(rejection.body_text())),
        }
    }
}

// ----- scope maps -----

/// Every scope map, system-defined first, then by name.
#[utoipa::path(get, path = "/api/v1/scope-maps", tag = "scope maps",
    responses((status = 200, body = Vec<ScopeMap>)))]
async fn list_scope_maps(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
) -> ApiResult<Json<Vec<ScopeMap>>> {
    Ok(Json(state.tokens.list_scope_maps().await?))
}

#[utoipa::path(get, path = "/api/v1/scope-maps/{name}", tag = "scope maps",
    params(("name" = String, Path, description = "The scope map's name")),
    responses((status = 200, body = ScopeMap), (status = 404, response = openapi::NotFound)))]
async fn show_scope_map(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
    Path(name): Path<String>,
) -> ApiResult<Json<ScopeMap>> {
    Ok(Json(state.tokens.scope_map(&name).await?))
}

#[utoipa::path(post, path = "/api/v1/scope-maps", tag = "scope maps", request_body = NewScopeMap,
    responses((status = 201, body = ScopeMap), (status = 409, response = openapi::Conflict)))]
async fn create_scope_map(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Body(body): Body<NewScopeMap>,
) -> ApiResult<(StatusCode, Json<ScopeMap>)> {
    let description = body.description.unwrap_or_default();
    let view =
        state.tokens.create_scope_map(&caller.subject, &body.name, &description, &body.repositories).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Adds and removes actions and optionally sets the description.
#[utoipa::path(patch, path = "/api/v1/scope-maps/{name}", tag = "scope maps", request_body = ScopeMapChange,
    params(("name" = String, Path, description = "The scope map's name")),
    responses((status = 200, body = ScopeMap), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
async fn update_scope_map(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path(name): Path<String>,
    Body(body): Body<ScopeMapChange>,
) -> ApiResult<Json<ScopeMap>> {
    let view = state
        .tokens
        .update_scope_map(
            &caller.subject,
            &name,
            body.description.as_deref(),
            &body.add_repositories,
            &body.remove_repositories,
        )
        .await?;
    Ok(Json(view))
}

/// Refused (409 `SCOPE_MAP_IN_USE`, naming them) while tokens use it.
#[utoipa::path(delete, path = "/api/v1/scope-maps/{name}", tag = "scope maps",
    params(("name" = String, Path, description = "The scope map's name")),
    responses((status = 204, description = "Deleted"), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
async fn delete_scope_map(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.tokens.delete_scope_map(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- tokens -----

/// One page of tokens by name.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenListQuery),
    responses((status = 200, body = TokenPage)))]
async fn list_tokens(
    State(state): State<AppState>,
    _: Control<ReadConfiguration>,
    Params(query): Params<TokenListQuery>,
) -> ApiResult<Json<TokenPage>> {
    let descending = query.sort.unwrap_or_default() == TokenSort::NameDescending;
    let (items, next) = state
        .tokens
        .list_tokens(query.search.trim(), query.after.as_deref(), query.limit.unwrap_or(100), descending)
        .await?;
    Ok(Json(TokenPage { items, next }))
}

/// The answer holds both generated passwords' `value` (unless
/// `generatePasswords` is false): the only time they are shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = Token), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
async fn create_token(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Body(body): Body<NewToken>,
) -> ApiResult<Response> {
    let view = state.tokens.create_token(&caller.subject, &body, None).await?;
    Ok(never_cached((StatusCode::CREATED, Json(view)).into_response()))
}

/// An administrator, or the token itself (the customer's view).
#[utoipa::path(get, path = "/api/v1/tokens/{name}", tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    responses((status = 200, body = Token), (status = 404, response = openapi::NotFound)))]
async fn show_token(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Path(name): Path<String>,
) -> ApiResult<Json<Token>> {
    // A token may read itself (the customer's view).
    let own = matches!(&caller.0.subject, Subject::Token(own) if own.eq_ignore_ascii_case(&name));
    if !own {
        caller.control(&state, ControlArea::Configuration, ControlAccess::Read).await?;
    }
    Ok(Json(state.tokens.token(&name).await?))
}

#[utoipa::path(patch, path = "/api/v1/tokens/{name}", tag = "tokens", request_body = TokenChange,
    params(("name" = String, Path, description = "The token's name")),
    responses((status = 200, body = Token), (status = 404, response = openapi::NotFound)))]
async fn update_token(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path(name): Path<String>,
    Body(body): Body<TokenChange>,
) -> ApiResult<Json<Token>> {
    Ok(Json(state.tokens.update_token(&caller.subject, &name, body.status, body.scope_map.as_deref()).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{name}", tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    responses((status = 204, description = "Deleted"), (status = 404, response = openapi::NotFound)))]
async fn delete_token(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.tokens.delete_token(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// (Re)generates the chosen slots (neither flag: both); the answer lists
/// the generated ones with their `value`, password1 first.
#[utoipa::path(post, path = "/api/v1/tokens/{name}/credentials", tag = "tokens", request_body = GenerateCredentials,
    params(("name" = String, Path, description = "The token's name")),
    responses((status = 200, body = Credentials), (status = 404, response = openapi::NotFound)))]
async fn generate_credentials(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path(name): Path<String>,
    Body(body): Body<GenerateCredentials>,
) -> ApiResult<Response> {
    Ok(never_cached(
        Json(state.tokens.generate_credentials(&caller.subject, &name, body).await?).into_response(),
    ))
}

/// An answer holding a password: never cached.
fn never_cached(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Removes one password; the other slot keeps working.
#[utoipa::path(delete, path = "/api/v1/tokens/{name}/credentials/{slot}", tag = "tokens",
    params(("name" = String, Path, description = "The token's name"),
        ("slot" = PasswordSlot, Path, description = "password1 or password2")),
    responses((status = 200, body = Token), (status = 404, response = openapi::NotFound)))]
async fn delete_credential(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path((name, slot)): Path<(String, String)>,
) -> ApiResult<Json<Token>> {
    let slot: PasswordSlot = slot.parse().map_err(|error| ApiError::Invalid(format!("{error}")))?;
    Ok(Json(state.tokens.delete_credential(&caller.subject, &name, slot).await?))
}

/// Sets one password's expiry (`null`: never) and keeps the password:
/// clients logged in with it keep working.
#[utoipa::path(patch, path = "/api/v1/tokens/{name}/credentials/{slot}", tag = "tokens",
    request_body = CredentialExpiryChange,
    params(("name" = String, Path, description = "The token's name"),
        ("slot" = PasswordSlot, Path, description = "password1 or password2")),
    responses((status = 200, body = Token), (status = 404, response = openapi::NotFound)))]
async fn update_credential(
    State(state): State<AppState>,
    Control(caller, _): Control<WriteConfiguration>,
    Path((name, slot)): Path<(String, String)>,
    Body(body): Body<CredentialExpiryChange>,
) -> ApiResult<Json<Token>> {
    let slot: PasswordSlot = slot.parse().map_err(|error| ApiError::Invalid(format!("{error}")))?;
    Ok(Json(state.tokens.set_credential_expiry(&caller.subject, &name, slot, body.expiry).await?))
}

// ----- repositories -----

/// The repository names the caller may list (a token: those it holds
/// metadata/read on), sorted.
#[utoipa::path(get, path = "/api/v1/repositories", tag = "repositories",
    responses((status = 200, body = Vec<String>)))]
async fn list_repositories(
    State(state): State<AppState>,
    ManagementCaller(caller): ManagementCaller,
) -> ApiResult<Json<Vec<String>>> {
    let names = state.repositories.list(|name| caller.may_list(name)).await?;
    Ok(Json(names.into_iter().map(String::from).collect()))
}

/// What a repository path names: the repository, its tags or manifests,
/// or one of them. Names cannot contain `_tags` or `_manifests` segments.
/// Public for the fuzz targets (`fuzz/`), not for other modules.
pub enum Target {
    Repository(RepositoryName),
    Tags(RepositoryName),
    Tag(RepositoryName, Tag),
    Manifests(RepositoryName),
    Manifest(RepositoryName, Digest),
}

impl Target {
    pub fn parse(path: &str) -> ApiResult<Target> {
        let name = |text: &str| {
            text.parse::<RepositoryName>()
                .map_err(|error| ApiError::Invalid(format!("invalid repository name: {error}")))
        };
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let marker = segments.iter().rposition(|s| *s == "_tags" || *s == "_manifests");
        let Some(at) = marker else { return Ok(Target::Repository(name(&segments.join("/"))?)) };
        let repository = name(&segments[..at].join("/"))?;
        let rest = &segments[at + 1..];
        match (segments[at], rest) {
            ("_tags", []) => Ok(Target::Tags(repository)),
            ("_tags", [tag]) => Ok(Target::Tag(
                repository,
                tag.parse().map_err(|error| ApiError::Invalid(format!("invalid tag: {error}")))?,
            )),
            ("_manifests", []) => Ok(Target::Manifests(repository)),
            ("_manifests", [digest]) => Ok(Target::Manifest(
                repository,
                digest.parse().map_err(|error| ApiError::Invalid(format!("invalid digest: {error}")))?,
            )),
            _ => Err(ApiError::NotFound("no such repository resource".into())),
        }
    }

    pub fn repository(&self) -> &RepositoryName {
        match self {
            Target::Repository(name)
            | Target::Tags(name)
            | Target::Tag(name, _)
            | Target::Manifests(name)
            | Target::Manifest(name, _) => name,
        }
    }
}

async fn repository_get(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let target = Target::parse(&path)?;
    caller.authorize(&state, target.repository(), RepositoryOperation::ReadMetadata).await?;
    let admin = &state.repositories;
    Ok(match target {
        Target::Repository(name) => show_repository(admin, &name).await?.into_response(),
        Target::Tags(name) => list_tags(admin, &name).await?.into_response(),
        Target::Tag(name, tag) => show_tag(admin, &name, &tag).await?.into_response(),
        Target::Manifests(name) => list_manifests(admin, &name).await?.into_response(),
        Target::Manifest(name, digest) => show_manifest(admin, &name, &digest).await?.into_response(),
    })
}

async fn repository_patch(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Path(path): Path<String>,
    body: Result<Body<AttributesPatch>, ApiError>,
) -> ApiResult<Response> {
    let target = Target::parse(&path)?;
    if matches!(target, Target::Tags(_) | Target::Manifests(_)) {
        return Ok(method_not_allowed(READ_ONLY));
    }
    let Body(patch) = body?;
    caller.authorize(&state, target.repository(), RepositoryOperation::WriteMetadata).await?;
    let admin = &state.repositories;
    let subject = &caller.0.subject;
    Ok(match &target {
        Target::Repository(name) => update_repository(admin, subject, name, patch).await?.into_response(),
        Target::Tag(name, tag) => update_tag(admin, subject, name, tag, patch).await?.into_response(),
        Target::Manifest(name, digest) => {
            update_manifest(admin, subject, name, digest, patch).await?.into_response()
        }
        Target::Tags(_) | Target::Manifests(_) => method_not_allowed(READ_ONLY),
    })
}

async fn repository_delete(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let target = Target::parse(&path)?;
    let admin = &state.repositories;
    let subject = &caller.0.subject;
    Ok(match &target {
        Target::Repository(name) => {
            caller.authorize(&state, name, RepositoryOperation::DeleteRepository).await?;
            delete_repository(admin, subject, name).await?.into_response()
        }
        Target::Tag(name, tag) => {
            caller.authorize(&state, name, RepositoryOperation::Untag).await?;
            untag(admin, subject, name, tag).await?.into_response()
        }
        Target::Manifest(name, digest) => {
            caller.authorize(&state, name, RepositoryOperation::DeleteManifest).await?;
            delete_manifest(admin, subject, name, digest).await?.into_response()
        }
        Target::Tags(_) | Target::Manifests(_) => method_not_allowed(READ_ONLY),
    })
}

/// What a tag or manifest list allows; the other repository paths also
/// PATCH and DELETE.
const READ_ONLY: &str = "GET,HEAD";

/// A method the repository wildcard route does not have at all.
async fn repository_other(_: ManagementCaller, Path(path): Path<String>) -> Response {
    match Target::parse(&path) {
        Ok(Target::Tags(_) | Target::Manifests(_)) => method_not_allowed(READ_ONLY),
        _ => method_not_allowed("GET,HEAD,PATCH,DELETE"),
    }
}

/// A 405 with the `Allow` header that RFC 9110 (section 15.5.6) requires:
/// axum's, for the whole wildcard route, would also name PATCH and DELETE
/// on the lists.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = ApiError::MethodNotAllowed.into_response();
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

// The repository operations behind the wildcard route, one function each
// so that each is documented with its own path. `{name}` keeps its `/`.

/// Needs metadata/read.
#[utoipa::path(get, path = "/api/v1/repositories/{name}", tag = "repositories", params(openapi::RepositoryPath),
    responses((status = 200, body = Repository), (status = 404, response = openapi::NotFound)))]
async fn show_repository(admin: &RepositoryAdmin, name: &RepositoryName) -> ApiResult<Json<Repository>> {
    Ok(Json(admin.show(name).await?))
}

/// Needs metadata/write; answers the repository afterwards.
#[utoipa::path(patch, path = "/api/v1/repositories/{name}", tag = "repositories", params(openapi::RepositoryPath),
    request_body = AttributesPatch,
    responses((status = 200, body = Repository), (status = 404, response = openapi::NotFound)))]
async fn update_repository(
    admin: &RepositoryAdmin,
    subject: &Subject,
    name: &RepositoryName,
    patch: AttributesPatch,
) -> ApiResult<Json<Repository>> {
    admin.set_attributes(subject, name, LockTarget::Repository, patch).await?;
    Ok(Json(admin.show(name).await?))
}

/// Needs content/delete: the repository with all its manifests and tags,
/// unless a lock forbids it.
#[utoipa::path(delete, path = "/api/v1/repositories/{name}", tag = "repositories", params(openapi::RepositoryPath),
    responses((status = 200, body = DeletedRepository), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
async fn delete_repository(
    admin: &RepositoryAdmin,
    subject: &Subject,
    name: &RepositoryName,
) -> ApiResult<Json<DeletedRepository>> {
    Ok(Json(admin.delete(subject, name).await?))
}

/// Needs metadata/read; sorted by name.
#[utoipa::path(get, path = "/api/v1/repositories/{name}/_tags", tag = "repositories",
    params(openapi::RepositoryPath),
    responses((status = 200, body = Vec<TagView>), (status = 404, response = openapi::NotFound)))]
async fn list_tags(admin: &RepositoryAdmin, name: &RepositoryName) -> ApiResult<Json<Vec<TagView>>> {
    Ok(Json(admin.tags(name).await?))
}

/// Needs metadata/read.
#[utoipa::path(get, path = "/api/v1/repositories/{name}/_tags/{tag}", tag = "repositories",
    params(openapi::RepositoryPath, ("tag" = String, Path)),
    responses((status = 200, body = TagView), (status = 404, response = openapi::NotFound)))]
async fn show_tag(admin: &RepositoryAdmin, name: &RepositoryName, tag: &Tag) -> ApiResult<Json<TagView>> {
    Ok(Json(admin.tag(name, tag).await?))
}

/// Needs metadata/write; answers the tag afterwards.
#[utoipa::path(patch, path = "/api/v1/repositories/{name}/_tags/{tag}", tag = "repositories",
    params(openapi::RepositoryPath, ("tag" = String, Path)), request_body = AttributesPatch,
    responses((status = 200, body = TagView), (status = 404, response = openapi::NotFound)))]
async fn update_tag(
    admin: &RepositoryAdmin,
    subject: &Subject,
    name: &RepositoryName,
    tag: &Tag,
    patch: AttributesPatch,
) -> ApiResult<Json<TagView>> {
    admin.set_attributes(subject, name, LockTarget::Tag(tag.as_str()), patch).await?;
    Ok(Json(admin.tag(name, tag).await?))
}

/// Untag: needs metadata/write or content/delete; the manifest stays.
#[utoipa::path(delete, path = "/api/v1/repositories/{name}/_tags/{tag}", tag = "repositories",
    params(openapi::RepositoryPath, ("tag" = String, Path)),
    responses((status = 204, description = "Untagged"), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
async fn untag(
    admin: &RepositoryAdmin,
    subject: &Subject,
    name: &RepositoryName,
    tag: &Tag,
) -> ApiResult<StatusCode> {
    admin.untag(subject, name, tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Needs metadata/read; newest first.
#[utoipa::path(get, path = "/api/v1/repositories/{name}/_manifests", tag = "repositories",
    params(openapi::RepositoryPath),
    responses((status = 200, body = Vec<Manifest>), (status = 404, response = openapi::NotFound)))]
async fn list_manifests(admin: &RepositoryAdmin, name: &RepositoryName) -> ApiResult<Json<Vec<Manifest>>> {
    Ok(Json(admin.manifests(name, None).await?))
}

/// Needs metadata/read.
#[utoipa::path(get, path = "/api/v1/repositories/{name}/_manifests/{digest}", tag = "repositories",
    params(openapi::RepositoryPath, ("digest" = String, Path, example = "sha256:…")),
    responses((status = 200, body = Manifest), (status = 404, response = openapi::NotFound)))]
async fn show_manifest(
    admin: &RepositoryAdmin,
    name: &RepositoryName,
    digest: &Digest,
) -> ApiResult<Json<Manifest>> {
    Ok(Json(admin.manifests(name, Some(digest)).await?.remove(0)))
}

/// Needs metadata/write; answers the manifest afterwards.
#[utoipa::path(patch, path = "/api/v1/repositories/{name}/_manifests/{digest}", tag = "repositories",
    params(openapi::RepositoryPath, ("digest" = String, Path)), request_body = AttributesPatch,
    responses((status = 200, body = Manifest), (status = 404, response = openapi::NotFound)))]
async fn update_manifest(
    admin: &RepositoryAdmin,
    subject: &Subject,
    name: &RepositoryName,
    digest: &Digest,
    patch: AttributesPatch,
) -> ApiResult<Json<Manifest>> {
    admin.set_attributes(subject, name, LockTarget::Manifest(digest.as_str()), patch).await?;
    Ok(Json(admin.manifests(name, Some(digest)).await?.remove(0)))
}

/// Needs content/delete: the manifest and every tag on it, unless a lock
/// forbids it.
#[utoipa::path(delete, path = "/api/v1/repositories/{name}/_manifests/{digest}", tag = "repositories",
    params(openapi::RepositoryPath, ("digest" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict)))]
async fn delete_manifest(
    admin: &RepositoryAdmin,
    subject: &Subject,
    name: &RepositoryName,
    digest: &Digest,
) -> ApiResult<StatusCode> {
    admin.delete_manifest(subject, name, digest).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- audit -----

/// Newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
async fn list_audit(
    State(state): State<AppState>,
    _: Control<ReadAudit>,
    Params(query): Params<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state
        .audit
        .list(query.token.as_deref(), query.before, limit + 1)
        .await
        .map_err(|error| ApiError::internal(&error, "audit log read failed"))?;
    let next = (rows.len() as i64 > limit).then(|| rows[limit as usize - 1].id);
    let items = rows.into_iter().take(limit as usize).map(audit_entry).collect();
    Ok(Json(AuditPage { items, next }))
}

fn audit_entry(row: AuditRow) -> AuditEntry {
    let outcome = AuditOutcome::parse(&row.outcome).unwrap_or_else(|| {
        tracing::error!(outcome = %row.outcome, id = row.id, "unknown outcome in the audit log");
        AuditOutcome::Failure
    });
    AuditEntry {
        id: row.id,
        time: row.at,
        caller: row.caller,
        token: row.token,
        repository: row.repository,
        action: row.action,
        outcome,
        detail: row.detail,
        request_id: row.request_id,
    }
}

// ----- users -----

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Denied(detail) => ApiError::Denied(detail),
            error @ UserError::WrongPassword => ApiError::Denied(error.to_string()),
            UserError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            UserError::Invalid(rule) => ApiError::Invalid(rule.to_string()),
            UserError::Internal(cause) => ApiError::internal(&*cause, "password change failed"),
        }
    }
}

/// An administrator changes their own password (the portal's page calls
/// the same use-case). A wrong `currentPassword` is 403 and counts as a
/// failed sign-in.
#[utoipa::path(put, path = "/api/v1/users/{name}/password", tag = "users", request_body = PasswordChange,
    params(("name" = String, Path, description = "The caller's own user name")),
    responses((status = 204, description = "Changed")))]
async fn change_password(
    State(state): State<AppState>,
    ManagementCaller(caller): ManagementCaller,
    ClientAddress(client): ClientAddress,
    Path(name): Path<String>,
    Body(body): Body<PasswordChange>,
) -> ApiResult<StatusCode> {
    state
        .users
        .change_password(
            &caller.subject,
            &name,
            HumanPassword::new(body.current_password.into_inner()),
            HumanPassword::new(body.new_password.into_inner()),
            client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
