//! The JSON management API under `/api/v1` (docs/API.md; the OpenAPI
//! document is `/api/v1/openapi.json`). Authenticates administrators (HTTP
//! Basic or the portal session with its CSRF header) and, for repository
//! calls and their own token, repository tokens; maps every error once to
//! an `application/problem+json` body.

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

use super::{
    caller::{Admin, ManagementCaller},
    ClientAddress,
};
use crate::{
    auth::{password::HumanPassword, token::Subject},
    db::repositories::LockTarget,
    domain::{Digest, RepositoryName, Tag},
    policy::RepositoryOperation,
    service::{
        registry::RegistryError,
        repositories::AttributesPatch,
        tokens::{GenerateCredentials, ManageError, NewToken, RepositoryActions, Status},
        users::UserError,
    },
    AppState,
};

const OPENAPI: &str = include_str!("openapi.json");

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/scope-maps", get(list_scope_maps).post(create_scope_map))
        .route(
            "/api/v1/scope-maps/{name}",
            get(show_scope_map).patch(update_scope_map).delete(delete_scope_map),
        )
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{name}", get(show_token).patch(update_token).delete(delete_token))
        .route("/api/v1/tokens/{name}/credentials", post(generate_credentials))
        .route("/api/v1/tokens/{name}/credentials/{slot}", axum::routing::delete(delete_credential))
        .route("/api/v1/repositories", get(list_repositories))
        .route(
            "/api/v1/repositories/{*path}",
            get(repository_get).patch(repository_patch).delete(repository_delete),
        )
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/users/{name}/password", axum::routing::put(change_password))
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|_: ManagementCaller| async {
                ApiError::NotFound("no such API endpoint".into())
            }),
        )
        .method_not_allowed_fallback(|_: ManagementCaller| async { ApiError::MethodNotAllowed })
        .layer(super::portal::session_layer(&state))
        .with_state(state)
}

/// A JSON problem (RFC 9457).
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Denied(String),
    NotFound(String),
    Invalid(String),
    Conflict(&'static str, String),
    MethodNotAllowed,
    /// Too many failed sign-ins (or too many at once): retry after this.
    TooManyRequests(std::time::Duration),
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::TooManyRequests(wait) => Some(wait.as_secs().max(1)),
            _ => None,
        };
        let (status, code, detail) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required: give an administrator's or a token's name and password".to_owned(),
            ),
            ApiError::Denied(detail) => (StatusCode::FORBIDDEN, "DENIED", detail),
            ApiError::NotFound(detail) => (StatusCode::NOT_FOUND, "NOT_FOUND", detail),
            ApiError::Invalid(detail) => (StatusCode::BAD_REQUEST, "INVALID", detail),
            ApiError::Conflict(code, detail) => (StatusCode::CONFLICT, code, detail),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "INVALID",
                "this resource does not support that method; see /api/v1/openapi.json".to_owned(),
            ),
            ApiError::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                format!(
                    "too many sign-in attempts (failed ones, or too many at once): retry in {} s",
                    wait.as_secs().max(1)
                ),
            ),
            ApiError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal server error".to_owned())
            }
        };
        let body = serde_json::json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": code,
            "detail": detail,
        });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
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
            ManageError::NotFound(detail) => ApiError::NotFound(detail),
            ManageError::Conflict(detail) => ApiError::Conflict("CONFLICT", detail),
            error @ ManageError::InUse { .. } => ApiError::Conflict("SCOPE_MAP_IN_USE", error.to_string()),
            error @ ManageError::ReadOnly(_) => ApiError::Conflict("READ_ONLY", error.to_string()),
            ManageError::Internal(cause) => {
                tracing::error!(%cause, "management request failed");
                ApiError::Internal
            }
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::NameUnknown => ApiError::NotFound("repository not found".into()),
            RegistryError::ManifestUnknown => ApiError::NotFound("tag or manifest not found".into()),
            RegistryError::Locked(detail) => ApiError::Conflict("LOCKED", detail),
            other => {
                tracing::error!(error = %other, "repository management request failed");
                ApiError::Internal
            }
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The JSON body, with a clear message when it does not parse.
struct Body<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
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

async fn list_scope_maps(State(state): State<AppState>, _: Admin) -> ApiResult<Response> {
    Ok(Json(state.tokens.list_scope_maps().await?).into_response())
}

async fn show_scope_map(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(state.tokens.scope_map(&name).await?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewScopeMap {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    repositories: Vec<RepositoryActions>,
}

async fn create_scope_map(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<NewScopeMap>,
) -> ApiResult<Response> {
    let view = state
        .tokens
        .create_scope_map(&caller.subject, &body.name, &body.description, &body.repositories)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScopeMapChange {
    description: Option<String>,
    #[serde(default)]
    add_repositories: Vec<RepositoryActions>,
    #[serde(default)]
    remove_repositories: Vec<RepositoryActions>,
}

async fn update_scope_map(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
    Body(body): Body<ScopeMapChange>,
) -> ApiResult<Response> {
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
    Ok(Json(view).into_response())
}

async fn delete_scope_map(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.tokens.delete_scope_map(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- tokens -----

#[derive(Deserialize)]
struct TokenListQuery {
    #[serde(default)]
    search: String,
    limit: Option<i64>,
    after: Option<String>,
    /// `name` (default) or `-name` (Z→A).
    sort: Option<String>,
}

async fn list_tokens(
    State(state): State<AppState>,
    _: Admin,
    Params(query): Params<TokenListQuery>,
) -> ApiResult<Response> {
    let descending = match query.sort.as_deref() {
        None | Some("name") => false,
        Some("-name") => true,
        Some(other) => return Err(ApiError::Invalid(format!("unknown sort {other:?}: use name or -name"))),
    };
    let (items, next) = state
        .tokens
        .list_tokens(query.search.trim(), query.after.as_deref(), query.limit.unwrap_or(100), descending)
        .await?;
    Ok(Json(serde_json::json!({ "items": items, "next": next })).into_response())
}

async fn create_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Body(body): Body<NewToken>,
) -> ApiResult<Response> {
    let view = state.tokens.create_token(&caller.subject, &body).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn show_token(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    // A token may read itself (the customer's view).
    let own = matches!(&caller.0.subject, Subject::Token(own) if own.eq_ignore_ascii_case(&name));
    if !own {
        caller.administer(&state).await?;
    }
    Ok(Json(state.tokens.token(&name).await?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenChange {
    status: Option<Status>,
    scope_map: Option<String>,
}

async fn update_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
    Body(body): Body<TokenChange>,
) -> ApiResult<Response> {
    Ok(Json(state.tokens.update_token(&caller.subject, &name, body.status, body.scope_map.as_deref()).await?)
        .into_response())
}

async fn delete_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.tokens.delete_token(&caller.subject, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn generate_credentials(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
    Body(body): Body<GenerateCredentials>,
) -> ApiResult<Response> {
    let mut response =
        Json(state.tokens.generate_credentials(&caller.subject, &name, body).await?).into_response();
    // The answer holds a password: never cache it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn delete_credential(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((name, slot)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(state.tokens.delete_credential(&caller.subject, &name, &slot).await?).into_response())
}

// ----- repositories -----

async fn list_repositories(
    State(state): State<AppState>,
    ManagementCaller(caller): ManagementCaller,
) -> ApiResult<Response> {
    let visible = move |name: &str| name.parse::<RepositoryName>().is_ok_and(|name| caller.may_list(&name));
    let names = state.repositories.list(visible).await?;
    Ok(Json(names).into_response())
}

/// What a repository path names: the repository, its tags or manifests,
/// or one of them. Names cannot contain `_tags` or `_manifests` segments.
enum Target {
    Repository(RepositoryName),
    Tags(RepositoryName),
    Tag(RepositoryName, Tag),
    Manifests(RepositoryName),
    Manifest(RepositoryName, Digest),
}

impl Target {
    fn parse(path: &str) -> ApiResult<Target> {
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

    fn repository(&self) -> &RepositoryName {
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
        Target::Repository(name) => Json(admin.show(&name).await?).into_response(),
        Target::Tags(name) => Json(admin.tags(&name).await?).into_response(),
        Target::Tag(name, tag) => Json(admin.tag(&name, &tag).await?).into_response(),
        Target::Manifests(name) => Json(admin.manifests(&name, None).await?).into_response(),
        Target::Manifest(name, digest) => {
            let mut found = admin.manifests(&name, Some(&digest)).await?;
            Json(found.remove(0)).into_response()
        }
    })
}

async fn repository_patch(
    State(state): State<AppState>,
    caller: ManagementCaller,
    Path(path): Path<String>,
    Body(patch): Body<AttributesPatch>,
) -> ApiResult<Response> {
    let target = Target::parse(&path)?;
    caller.authorize(&state, target.repository(), RepositoryOperation::WriteMetadata).await?;
    let admin = &state.repositories;
    let subject = &caller.0.subject;
    Ok(match &target {
        Target::Repository(name) => {
            admin.set_attributes(subject, name, LockTarget::Repository, patch).await?;
            Json(admin.show(name).await?).into_response()
        }
        Target::Tag(name, tag) => {
            admin.set_attributes(subject, name, LockTarget::Tag(tag.as_str()), patch).await?;
            Json(admin.tag(name, tag).await?).into_response()
        }
        Target::Manifest(name, digest) => {
            admin.set_attributes(subject, name, LockTarget::Manifest(digest.as_str()), patch).await?;
            Json(admin.manifests(name, Some(digest)).await?.remove(0)).into_response()
        }
        Target::Tags(_) | Target::Manifests(_) => {
            return Err(ApiError::Invalid("attributes are set on a repository, a tag or a manifest".into()))
        }
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
            Json(admin.delete(subject, name).await?).into_response()
        }
        Target::Tag(name, tag) => {
            caller.authorize(&state, name, RepositoryOperation::Untag).await?;
            admin.untag(subject, name, tag).await?;
            StatusCode::NO_CONTENT.into_response()
        }
        Target::Manifest(name, digest) => {
            caller.authorize(&state, name, RepositoryOperation::DeleteManifest).await?;
            admin.delete_manifest(subject, name, digest).await?;
            StatusCode::NO_CONTENT.into_response()
        }
        Target::Tags(_) | Target::Manifests(_) => {
            return Err(ApiError::Invalid("give a repository, a tag or a manifest to delete".into()))
        }
    })
}

// ----- audit -----

#[derive(Deserialize)]
struct AuditQuery {
    token: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

async fn list_audit(
    State(state): State<AppState>,
    _: Admin,
    Params(query): Params<AuditQuery>,
) -> ApiResult<Response> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state.audit.list(query.token.as_deref(), query.before, limit + 1).await.map_err(|error| {
        tracing::error!(%error, "audit log read failed");
        ApiError::Internal
    })?;
    let next = (rows.len() as i64 > limit).then(|| rows[limit as usize - 1].id);
    let items: Vec<_> = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| {
            serde_json::json!({
                "id": row.id,
                "time": crate::service::tokens::format_time(row.at),
                "caller": row.caller,
                "token": row.token,
                "repository": row.repository,
                "action": row.action,
                "outcome": row.outcome,
                "detail": row.detail,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items, "next": next })).into_response())
}

// ----- users -----

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Denied(detail) => ApiError::Denied(detail),
            error @ UserError::WrongPassword => ApiError::Denied(error.to_string()),
            UserError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            UserError::Invalid(rule) => ApiError::Invalid(rule.to_string()),
            UserError::Internal(cause) => {
                tracing::error!(%cause, "password change failed");
                ApiError::Internal
            }
        }
    }
}

/// `{"currentPassword", "newPassword"}`. Not `Debug`: both are secrets.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// An administrator changes their own password (the portal's page calls
/// the same use-case).
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
            HumanPassword::new(body.current_password),
            HumanPassword::new(body.new_password),
            client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "api_openapi_tests.rs"]
mod openapi_tests;
