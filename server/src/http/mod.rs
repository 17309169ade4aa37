//! HTTP: the router and its layers. Handlers parse requests, call
//! services and map their errors to responses once; they never run SQL.

pub mod api;
pub mod csrf;
pub mod oci;
pub mod portal;
pub mod token;

use axum::{
    http::{header, HeaderMap},
    routing::get,
    Router,
};
use base64::Engine as _;

use crate::AppState;

/// The whole HTTP surface, for `serve` and for tests (`oneshot`).
pub fn build_router(state: AppState) -> Router {
    let registry = oci::router().merge(token::router()).with_state(state.clone());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(registry)
        .merge(api::router(state.clone()))
        .merge(portal::router(state))
}

/// `Authorization: Basic` credentials as (user name, password), for the
/// token endpoint and the data plane alike.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (user, password) =
        String::from_utf8(decoded).ok()?.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned()))?;
    Some((user, password))
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;
    use crate::config::ServeConfig;

    async fn router() -> (Router, tempfile::TempDir) {
        let data = tempfile::tempdir().unwrap();
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.path().to_owned(),
            admin_password: Some("router-test-password".parse().unwrap()),
            login_server: None,
            site_root: "target/site".into(),
            tls: None,
        };
        let (state, _) = AppState::open(&config, "registry.test".into()).await.unwrap();
        (build_router(state), data)
    }

    /// Each surface answers its own paths: the data plane and token
    /// endpoint are never swallowed by the portal's sign-in redirect.
    #[tokio::test]
    async fn each_surface_owns_its_paths() {
        let (router, _data) = router().await;
        let cases = [
            ("/v2/", 401),
            ("/v2", 401),
            ("/v2/a/b/tags/list", 401),
            ("/oauth2/token", 401),
            ("/healthz", 200),
            ("/", 303),
        ];
        for (path, status) in cases {
            let response =
                router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }
}
