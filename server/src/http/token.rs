//! The token endpoint of the Docker registry token specification:
//! `GET /oauth2/token` with HTTP Basic, and `POST /oauth2/token` with the
//! OAuth2 `password` and `refresh_token` grants (containerd, oras). The
//! access token it returns grants the intersection of what was asked and
//! what the policy allows now.

use std::time::{Duration, SystemTime};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Form, Json, Router,
};
use serde::Deserialize;

use super::{caller::Credentials, ClientAddress};
use crate::{
    auth::{
        scope::{parse_scope_params, parse_scopes, ResourceScope},
        token::TokenResponse,
    },
    policy,
    service::access::{AccessError, Authenticated},
    AppState,
};

/// Access tokens are short-lived: the data plane re-checks the policy on
/// every request anyway, and clients fetch a new one when told to.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(300);
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth2/token", get(get_token).post(post_token))
}

#[derive(Deserialize)]
struct PostForm {
    grant_type: String,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

/// A token-endpoint refusal, in the JSON shape registries answer with.
enum TokenError {
    Unauthorized(&'static str),
    BadRequest(String),
    TooManyRequests(Duration),
    Internal,
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooManyRequests(wait) => Some(wait.as_secs()),
            _ => None,
        };
        let (status, code, message) = match self {
            Self::Unauthorized(message) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message.to_owned()),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "UNSUPPORTED", message),
            Self::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "TOOMANYREQUESTS",
                format!(
                    "too many sign-in attempts (failed ones, or too many at once): retry in {} s",
                    wait.as_secs()
                ),
            ),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal server error".into()),
        };
        let body = serde_json::json!({ "errors": [{ "code": code, "message": message, "detail": null }] });
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"portcullis\""));
        }
        response
    }
}

fn refused(error: AccessError) -> TokenError {
    match error.retry_after() {
        Some(wait) => TokenError::TooManyRequests(wait),
        None => {
            tracing::error!(%error, "token request failed");
            TokenError::Internal
        }
    }
}

/// The grants of a new access token: each requested scope as the one
/// decision grants it to the subject now (`policy::grant`).
fn grants_for(who: &Authenticated, requested: Vec<ResourceScope>) -> Vec<ResourceScope> {
    let mut grants = Vec::new();
    for scope in requested {
        let granted = policy::grant(&who.principal, scope.resource.as_policy(), scope.actions);
        let subject = &who.subject;
        if !granted.is_empty() {
            tracing::info!(%subject, requested = %scope, %granted, "token scope granted");
            grants.push(ResourceScope { resource: scope.resource, actions: granted });
        } else {
            tracing::warn!(%subject, requested = %scope, "token scope denied");
        }
    }
    grants
}

fn respond(
    state: &AppState,
    who: Authenticated,
    scopes: Vec<ResourceScope>,
    with_refresh: bool,
) -> Json<TokenResponse> {
    let grants = grants_for(&who, scopes);
    let now = SystemTime::now();
    let service = &state.login_server;
    let signer = &state.signer;
    let token =
        signer.issue_access_for(&who.subject, who.credential, service, &grants, now, ACCESS_TOKEN_TTL);
    let refresh_token = with_refresh
        .then(|| signer.issue_refresh_for(&who.subject, who.credential, service, now, REFRESH_TOKEN_TTL));
    Json(TokenResponse::new(token, ACCESS_TOKEN_TTL, now, refresh_token))
}

async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    client: ClientAddress,
) -> Result<Authenticated, TokenError> {
    state.access.authenticate(username, password, client.0).await.map_err(refused)?.ok_or_else(|| {
        tracing::warn!(client = %client.0, "token request with wrong credentials");
        TokenError::Unauthorized("invalid user name or password")
    })
}

async fn get_token(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<TokenResponse>, TokenError> {
    // `scope` may repeat; `service` is this registry whatever the client says.
    let scope_params = params.iter().filter(|(key, _)| key == "scope").map(|(_, value)| value.as_str());
    let scopes = parse_scope_params(scope_params);
    let offline = params.iter().any(|(key, value)| key == "offline_token" && value == "true");
    let Credentials::Basic { username, password } = Credentials::of(&headers) else {
        return anonymous(&state, scopes).await;
    };
    let who = authenticate(&state, &username, &password, client).await?;
    Ok(respond(&state, who, scopes, offline))
}

/// A token request without credentials: a token for the anonymous caller
/// when its role assignments grant some of what was asked; otherwise the
/// 401 that sends the client to log in (so a registry without anonymous
/// assignments answers exactly as one without the feature).
async fn anonymous(state: &AppState, scopes: Vec<ResourceScope>) -> Result<Json<TokenResponse>, TokenError> {
    let caller = state.access.anonymous().await.map_err(refused)?;
    // Repository scopes only: the catalog's read is granted to everyone
    // and filtered later, which says nothing about anonymous access.
    let grants_something = scopes.iter().any(|scope| {
        let resource = scope.resource.as_policy();
        matches!(resource, policy::Resource::Repository(_))
            && !policy::grant(&caller.principal, resource, scope.actions).is_empty()
    });
    if !grants_something {
        return Err(TokenError::Unauthorized(super::oci::error::UNAUTHORIZED_MESSAGE));
    }
    let who = Authenticated { subject: caller.subject, credential: None, principal: caller.principal };
    Ok(respond(state, who, scopes, false))
}

async fn post_token(
    State(state): State<AppState>,
    client: ClientAddress,
    Form(form): Form<PostForm>,
) -> Result<Json<TokenResponse>, TokenError> {
    let scopes = form.scope.as_deref().map(parse_scopes).unwrap_or_default();
    match form.grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (form.username.as_deref(), form.password.as_deref())
            else {
                return Err(TokenError::BadRequest("the password grant needs username and password".into()));
            };
            let who = authenticate(&state, username, password, client).await?;
            Ok(respond(&state, who, scopes, true))
        }
        "refresh_token" => {
            let Some(refresh) = form.refresh_token.as_deref() else {
                return Err(TokenError::BadRequest("the refresh_token grant needs refresh_token".into()));
            };
            let (subject, credential) = state
                .signer
                .verify_refresh_credential(refresh, &state.login_server, SystemTime::now())
                .map_err(|_| TokenError::Unauthorized("invalid refresh token"))?;
            // The refresh token counts only while its credential still does.
            let principal = state
                .access
                .principal(&subject, credential)
                .await
                .map_err(refused)?
                .ok_or(TokenError::Unauthorized("invalid refresh token"))?;
            Ok(respond(&state, Authenticated { subject, credential, principal }, scopes, true))
        }
        other => Err(TokenError::BadRequest(format!("unsupported grant_type {other:?}"))),
    }
}
