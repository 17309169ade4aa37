//! HTTP: the router and its layers. Handlers parse requests, call
//! services and map their errors to responses once; they never run SQL.

pub mod api;
pub mod body_timeout;
pub mod caller;
pub mod csrf;
pub mod exchange;
pub mod metrics;
pub mod oci;
pub mod portal;
pub mod token;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::AppState;
use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{request::Parts, HeaderMap},
    middleware::{from_fn_with_state, Next},
    response::Response,
    routing::get,
    Router,
};

/// The whole HTTP surface, for `serve` and for tests (`oneshot`): every
/// request body paced by the state's `body_timeouts`, then
/// [`around_every_request`], then the routes.
///
/// The two layers wrap the routes once, as one service, rather than each
/// route (`Router::layer`): a layer on a router is applied to every route
/// and boxed again at each, so a request went through a clone and a box of
/// each layer per route level (docs/BENCHMARKS.md).
pub fn build_router(state: AppState) -> Router {
    let registry = oci::router().merge(token::router()).merge(exchange::router()).with_state(state.clone());
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readiness).with_state(state.clone()))
        .route("/metrics", get(metrics::scrape).with_state(state.clone()))
        .merge(registry)
        .merge(api::router(state.clone()))
        .merge(portal::router(state.clone()));
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .layer(body_timeout::layer(state.body_timeouts))
            .layer(from_fn_with_state(state, around_every_request))
            .service(routes),
    )
}

/// What runs around every request, outermost first: it gets its id
/// ([`identify_request`]), is counted ([`metrics::count`]) and learns its
/// caller's address ([`resolve_client_address`]). One layer rather than
/// three: each `from_fn` layer clones and boxes the routes below it for
/// every request, which with three layers was about a tenth of a small
/// request's instructions (docs/BENCHMARKS.md).
async fn around_every_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let class = metrics::route_class(request.uri().path());
    identify_request(&state.trusted_proxies, class, request, |request| {
        metrics::count(&state, class, request, |request| next.run(resolve_client_address(&state, request)))
    })
    .await
}

/// `/readyz`, for a load balancer: 200 when this replica's database and
/// blob store both answer, else 503 naming which does not (the cause goes
/// to the log, not to whoever asks).
async fn readiness(State(state): State<AppState>) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    match state.registry.readiness().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(not_ready) => {
            tracing::warn!(error = %not_ready, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: the {} does not answer\n", not_ready.part()),
            )
        }
    }
}

/// Whether a request counts against its caller's read or write limit.
pub fn operation_kind(method: &axum::http::Method) -> crate::auth::rate_limit::OperationKind {
    use crate::auth::rate_limit::OperationKind;
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        OperationKind::Read
    } else {
        OperationKind::Write
    }
}

/// The header that names a request to the operator.
pub const REQUEST_ID_HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// Gives every request an id: in the answer's `X-Request-Id`, in every log
/// line written while answering it (the `request` span) and in every audit
/// entry it records, so one can be found from the other. A trusted reverse
/// proxy's `X-Request-Id` is kept (so the proxy's log names the same
/// request), when it is a plausible id; anyone else's is replaced.
async fn identify_request(
    trusted_proxies: &[IpAddr],
    class: &'static str,
    request: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    use tracing::Instrument;
    let from_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| trusted_proxies.contains(&peer.ip()));
    let forwarded = from_proxy
        .then(|| {
            request.headers().get(REQUEST_ID_HEADER)?.to_str().ok().filter(|id| plausible_request_id(id))
        })
        .flatten()
        .map(str::to_owned);
    let id = forwarded.unwrap_or_else(new_request_id);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        class,
    );
    let mut response = crate::service::audit::in_request(id.clone(), next(request)).instrument(span).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// 32 hex digits of a random 128-bit number. Encoded into a buffer:
/// `format!` and `hex::encode` (which collects characters one by one) cost
/// several times as much, on every request.
fn new_request_id() -> String {
    let mut digits = [0; 32];
    hex::encode_to_slice(rand::random::<u128>().to_be_bytes(), &mut digits).expect("16 bytes are 32 digits");
    String::from_utf8(digits.to_vec()).expect("hex digits are ASCII")
}

/// An id a proxy may hand on: 1 to 128 characters of letters, digits and
/// `-_.:`, so it can go into log lines and audit entries as it is.
fn plausible_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'))
}

/// The address a request comes from: the peer, or, when the peer is one of
/// the configured trusted proxies, the nearest `X-Forwarded-For` entry that
/// is not a trusted proxy itself. Headers from anyone else are ignored, so
/// a client cannot pick the address its sign-in failures count against.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|address| !trusted_proxies.contains(address)).unwrap_or(peer)
}

/// Replaces the connection's peer address with [`client_address`] for
/// everything below (the portal reads it as `ConnectInfo` too).
fn resolve_client_address(state: &AppState, mut request: Request) -> Request {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |ConnectInfo(peer)| *peer);
    let client = client_address(peer.ip(), request.headers(), &state.trusted_proxies);
    request.extensions_mut().insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    request
}

/// The caller's address, as [`client_address`] resolved it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    pub fn of(parts_extensions: &axum::http::Extensions) -> Self {
        Self(
            parts_extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| peer.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions))
    }
}

/// A fresh registry in a temporary directory (with an administrator), for
/// the router tests.
#[cfg(test)]
pub(crate) async fn test_state() -> (AppState, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let config = crate::config::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_owned(),
        storage: crate::storage::StorageSettings::Directory(data.path().to_owned()),
        database_url: None,
        admin_password: Some("router-test-password".parse().unwrap()),
        key_encryption_key_file: None,
        role_assignment_mode: crate::policy::roles::RoleAssignmentMode::RbacAbac,
        login_server: None,
        site_root: "target/site".into(),
        tls: None,
        trusted_proxies: Vec::new(),
        upload_expiry: std::time::Duration::from_secs(3600),
        metrics_listen: None,
        limits: crate::config::Limits::default(),
        header_read_timeout: std::time::Duration::from_secs(30),
        body_timeouts: body_timeout::BodyTimeouts { idle: std::time::Duration::from_secs(60), min_rate: 500 },
    };
    let (state, _) = AppState::open(&config, "registry.test".into()).await.unwrap();
    (state, data)
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn a_proxy_may_hand_on_short_plain_request_ids_only() {
        for id in ["edge-7f3a.42:1", "0123456789abcdef0123456789abcdef", "x", &"a".repeat(128)] {
            assert!(plausible_request_id(id), "{id}");
        }
        for id in ["", "a b", "a\"b", "caf\u{e9}", "line\nbreak", &"a".repeat(129), "{id}"] {
            assert!(!plausible_request_id(id), "{id}");
        }
    }

    #[test]
    fn a_new_request_id_is_32_hex_digits_and_new_each_time() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|digit| matches!(digit, b'0'..=b'9' | b'a'..=b'f')), "{id}");
            assert!(plausible_request_id(id), "{id}");
        }
    }

    async fn router() -> (Router, tempfile::TempDir) {
        let (state, data) = test_state().await;
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
            ("/readyz", 200),
            ("/", 303),
        ];
        for (path, status) in cases {
            let response =
                router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }

    /// `/readyz` says which part does not answer, and nothing more.
    #[tokio::test]
    async fn readiness_names_the_part_that_does_not_answer() {
        let (router, data) = router().await;
        let ready = |router: Router| async move {
            let response =
                router.oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        };
        assert_eq!(ready(router.clone()).await, (200, "ready\n".to_owned()));
        // The blob directory goes away (an unmounted volume): the
        // database still answers, the store does not.
        std::fs::remove_dir_all(data.path().join("blobs")).unwrap();
        assert_eq!(
            ready(router.clone()).await,
            (503, "not ready: the blob store does not answer\n".to_owned())
        );
        // /healthz only says the process is alive.
        let alive = router.oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(alive.status().as_u16(), 200);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let client =
            |peer: &str, trusted: &[IpAddr]| client_address(peer.parse().unwrap(), &headers, trusted);
        // Anyone can write the header: without a trusted proxy it is ignored.
        assert_eq!(client("192.0.2.5", &[]), "192.0.2.5".parse::<IpAddr>().unwrap());
        assert_eq!(client("192.0.2.5", &[proxy]), "192.0.2.5".parse::<IpAddr>().unwrap());
        // Behind the proxy: the nearest entry it was not told by itself.
        assert_eq!(client("10.0.0.1", &[proxy]), "198.51.100.7".parse::<IpAddr>().unwrap());
        let chained: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client("10.0.0.1", &[proxy, chained]), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
