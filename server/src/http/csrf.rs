//! CSRF protection for the portal: every state-changing request must carry
//! the session's token, as the `csrf_token` form field or the
//! `x-csrf-token` header. Page loads make sure the session has a token.
//! Must not call services: it only compares the token.

use app::{
    error::PortalError,
    session::{new_csrf_token, CSRF_FIELD, CSRF_HEADER, CSRF_KEY},
};
use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::{header::CONTENT_TYPE, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// Portal forms are small; a larger body is refused rather than buffered.
const MAX_FORM_BYTES: usize = 1 << 20;

pub async fn protect(session: Session, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        if !request.uri().path().starts_with("/pkg/") {
            ensure_token(&session).await;
        }
        return next.run(request).await;
    }
    let expected = match session.get::<String>(CSRF_KEY).await {
        Ok(Some(token)) => token,
        _ => return rejection(),
    };
    let (parts, body) = request.into_parts();
    let mut provided = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form && provided.is_none() {
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
        };
        provided = form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.into_owned());
        Body::from(bytes)
    } else {
        body
    };
    match provided {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
            next.run(Request::from_parts(parts, body)).await
        }
        _ => {
            tracing::warn!(path = %parts.uri.path(), "portal request refused: missing or wrong CSRF token");
            rejection()
        }
    }
}

async fn ensure_token(session: &Session) {
    if matches!(session.get::<String>(CSRF_KEY).await, Ok(None)) {
        if let Err(error) = session.insert(CSRF_KEY, new_csrf_token()).await {
            tracing::error!(%error, "could not store the CSRF token in the session");
        }
    }
}

/// 403 with the portal's error encoding, so the page shows a clear message.
fn rejection() -> Response {
    let body = serde_json::to_string(&PortalError::StalePage).unwrap_or_default();
    (StatusCode::FORBIDDEN, [(CONTENT_TYPE, "application/json")], body).into_response()
}
