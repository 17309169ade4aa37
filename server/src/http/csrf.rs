//! CSRF protection for the portal: every state-changing request must carry
//! the expected token, as the `csrf_token` form field or the `x-csrf-token`
//! header. A session that holds a token (every signed-in one: sign-in
//! stores a fresh token) is checked against it; a browser without one is
//! checked against its pre-session cookie (double submit), so signed-out
//! visits store nothing on the server. Must not call services: it only
//! hands out and compares tokens.

use app::{
    error::PortalError,
    session::{new_csrf_token, PreSessionCsrf, CSRF_FIELD, CSRF_HEADER, CSRF_KEY, CSRF_TOKEN_LEN},
};
use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{
        header::{CONTENT_TYPE, COOKIE, SET_COOKIE},
        HeaderMap, HeaderValue, Method, StatusCode,
    },
    middleware::Next,
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;
use tower_sessions::{
    cookie::{time::Duration, Cookie, SameSite},
    Session,
};

/// Portal forms are small; a larger body is refused rather than buffered.
const MAX_FORM_BYTES: usize = 1 << 20;

/// The cookie holding a signed-out browser's CSRF token. Another site can
/// neither read it nor make the browser send it with a cross-site POST
/// (SameSite=Lax), so a sign-in form posted from elsewhere fails the
/// comparison (login CSRF).
pub const PRE_SESSION_COOKIE: &str = "portcullis_csrf";

/// How the pre-session cookie is issued.
#[derive(Clone, Copy)]
pub struct PreSessionCookie {
    /// Only over HTTPS, like the session cookie, when the portal serves TLS.
    pub secure: bool,
}

pub async fn protect(
    State(policy): State<PreSessionCookie>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/pkg/") {
        return next.run(request).await;
    }
    let held = session.get::<String>(CSRF_KEY).await;
    let presented = pre_session_token(request.headers());
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let expected = match &held {
            Ok(Some(token)) => token,
            Ok(None) => match &presented {
                Some(token) => token,
                None => return rejection(),
            },
            Err(_) => return rejection(),
        };
        request = match checked(request, expected).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        };
    }
    // The token a signed-out page shows: the browser's own, or a new one.
    // A browser whose session held a token gets a new one even if it still
    // has an old cookie: signing out rotates the token.
    let offered = match (&held, &presented) {
        (Ok(None), Some(token)) => token.clone(),
        _ => new_csrf_token(),
    };
    request.extensions_mut().insert(PreSessionCsrf(offered.clone()));
    let mut response = next.run(request).await;
    // Afterwards the browser holds a pre-session token exactly when its
    // session holds none: issued on signed-out visits, dropped at sign-in,
    // issued afresh at sign-out.
    let cookie = match session.get::<String>(CSRF_KEY).await {
        Ok(None) if presented.as_ref() != Some(&offered) => Some(policy.cookie(offered)),
        Ok(Some(_)) if presented.is_some() => Some(policy.removal()),
        _ => None,
    };
    if let Some(value) = cookie.and_then(|cookie| HeaderValue::try_from(cookie.to_string()).ok()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

impl PreSessionCookie {
    fn cookie(self, token: String) -> Cookie<'static> {
        Cookie::build((PRE_SESSION_COOKIE, token))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build()
    }

    fn removal(self) -> Cookie<'static> {
        let mut cookie = self.cookie(String::new());
        cookie.set_max_age(Duration::ZERO);
        cookie
    }
}

/// The request's pre-session token, if it carries one of the form this
/// layer issues (anything else is ignored, never shown or compared).
fn pre_session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == PRE_SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| token.len() == CSRF_TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The request again if it carries `expected` (header or form field).
async fn checked(request: Request, expected: &str) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let mut provided = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form && provided.is_none() {
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response());
        };
        provided = form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.into_owned());
        Body::from(bytes)
    } else {
        body
    };
    match provided {
        Some(token) if tokens_match(&token, expected) => Ok(Request::from_parts(parts, body)),
        _ => {
            tracing::warn!(path = %parts.uri.path(), "portal request refused: missing or wrong CSRF token");
            Err(rejection())
        }
    }
}

/// Whether a presented CSRF token is the expected one (constant time; an
/// empty expectation matches nothing). The portal's layer and the API's
/// session callers both compare here.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// 403 with the portal's error encoding, so the page shows a clear message.
fn rejection() -> Response {
    let body = serde_json::to_string(&PortalError::StalePage).unwrap_or_default();
    (StatusCode::FORBIDDEN, [(CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_tokens_of_the_issued_form_are_read() {
        let token = new_csrf_token();
        let read =
            pre_session_token(&cookies(&format!("portcullis_session=x; {PRE_SESSION_COOKIE}={token}")));
        assert_eq!(read, Some(token.clone()));
        for junk in [String::new(), "short".into(), format!("{token}x"), format!("{}\"", &token[1..])] {
            assert_eq!(pre_session_token(&cookies(&format!("{PRE_SESSION_COOKIE}={junk}"))), None, "{junk}");
        }
        assert_eq!(pre_session_token(&cookies(&format!("other={token}"))), None);
        assert_eq!(pre_session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_for_this_site_and_no_script() {
        let issued = PreSessionCookie { secure: true }.cookie(new_csrf_token()).to_string();
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(issued.contains(attribute), "{issued}");
        }
        let removal = PreSessionCookie { secure: false }.removal().to_string();
        assert!(removal.contains("Max-Age=0") && !removal.contains("Secure"), "{removal}");
    }
}
