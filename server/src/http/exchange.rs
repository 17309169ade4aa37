//! `POST /oauth2/exchange`: workload identity federation's token exchange
//! (docs/API.md, "Token exchange"). A CI job posts the ID token of its
//! OpenID Connect issuer and receives a registry refresh token for the
//! service principal whose federated credential accepts it, usable as the
//! password of `docker login -u 00000000-0000-0000-0000-000000000000` and
//! at `/oauth2/token`. Shaped like the cloud registry's exchange: a form
//! (or a JSON object) with `grant_type=access_token` and `access_token`;
//! the RFC 8693 names (`grant_type=urn:ietf:params:oauth:grant-type:token-exchange`
//! with `subject_token`) are accepted too. The checks are
//! `service::federation`'s; this module only translates.

use std::time::SystemTime;

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde::{Deserialize, Serialize};

use super::ClientAddress;
use crate::{
    service::{
        federation::{ExchangeError, FEDERATED_REFRESH_TOKEN_TTL},
        identities::FEDERATED_USER_NAME,
    },
    AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth2/exchange", post(exchange))
}

const ACCESS_TOKEN_GRANT: &str = "access_token";
const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

#[derive(Deserialize)]
struct ExchangeRequest {
    grant_type: String,
    /// The ID token (the cloud registry's name).
    access_token: Option<String>,
    /// The ID token (RFC 8693's name).
    subject_token: Option<String>,
    /// This registry's login server, when given.
    service: Option<String>,
}

/// The answer: the refresh token and how to use it. Not `Debug`: it
/// holds a secret.
#[derive(Serialize)]
struct ExchangeResponse {
    refresh_token: String,
    /// Lifetime of `refresh_token`, in seconds.
    expires_in: u64,
    /// The user name to log in with beside the refresh token.
    username: &'static str,
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({ "errors": [{ "code": code, "message": message, "detail": null }] });
    (status, Json(body)).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "UNSUPPORTED", message.into())
}

async fn exchange(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|value| {
        value.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
    });
    let parsed: Result<ExchangeRequest, String> = if json {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    };
    let request = match parsed {
        Ok(request) => request,
        Err(reason) => {
            return bad_request(format!("the exchange needs grant_type and access_token: {reason}"))
        }
    };
    let id_token = match request.grant_type.as_str() {
        ACCESS_TOKEN_GRANT => request.access_token.or(request.subject_token),
        TOKEN_EXCHANGE_GRANT => request.subject_token.or(request.access_token),
        other => {
            let other: String = other.chars().take(80).collect();
            return bad_request(format!(
                "unsupported grant_type {other:?}: use {ACCESS_TOKEN_GRANT} (or {TOKEN_EXCHANGE_GRANT})"
            ));
        }
    };
    let Some(id_token) = id_token.filter(|token| !token.is_empty()) else {
        return bad_request("the exchange needs the ID token in access_token (or subject_token)");
    };
    if let Some(service) = request.service.as_deref().filter(|service| !service.is_empty()) {
        if service != state.login_server {
            return bad_request(format!("service must be this registry, {}", state.login_server));
        }
    }
    match state.federation.exchange(&id_token, client.0).await {
        Ok(exchanged) => {
            let refresh_token = state.signer.issue_refresh_for(
                &exchanged.subject,
                Some(exchanged.credential),
                &state.login_server,
                SystemTime::now(),
                FEDERATED_REFRESH_TOKEN_TTL,
            );
            let answer = ExchangeResponse {
                refresh_token,
                expires_in: FEDERATED_REFRESH_TOKEN_TTL.as_secs(),
                username: FEDERATED_USER_NAME,
            };
            let mut response = Json(answer).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(ExchangeError::Refused(refusal)) => {
            error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", refusal.to_string())
        }
        Err(ExchangeError::Throttled(wait)) => {
            let seconds = wait.as_secs().max(1);
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "TOOMANYREQUESTS",
                format!("too many failed exchanges: retry in {seconds} s"),
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        Err(ExchangeError::Db(cause)) => {
            tracing::error!(error = %cause, "token exchange failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal server error".into())
        }
    }
}
