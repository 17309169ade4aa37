//! `/metrics` and the layer that counts every request for it. The route
//! class of a path is decided here (for `/v2`, from `oci::route::Shape`,
//! the shape the data plane parses), so the counters have a small, fixed
//! set of labels. On the main
//! listener `/metrics` needs read access to the configuration (a
//! service principal with the Reader role scrapes with Basic); on the
//! listener of `--metrics-listen` it is open, for an address only the
//! monitoring network reaches.

use std::time::Instant;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use http_body_util::BodyExt;

use super::{
    caller::{Control, ReadConfiguration},
    oci::route::Shape,
};
use crate::{
    metrics::{Snapshot, CONTENT_TYPE},
    AppState,
};

/// The route class of a request path: a label with few values.
pub fn route_class(path: &str) -> &'static str {
    if path == "/v2" || path.starts_with("/v2/") {
        // The endpoint by the shape `oci::route` parses (unchecked names
        // still count as the endpoint they ask for).
        return match Shape::of(path) {
            Some(Shape::Manifest(..)) => "v2_manifest",
            Some(Shape::Blob(..)) => "v2_blob",
            Some(Shape::Uploads(_) | Shape::Upload(..)) => "v2_upload",
            _ => "v2",
        };
    }
    match path {
        "/metrics" => "metrics",
        "/healthz" | "/readyz" => "health",
        _ if path.starts_with("/oauth2/") => "token",
        _ if path.starts_with("/api/") => "api",
        _ if path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/favicon.ico" => "assets",
        _ => "portal",
    }
}

/// A method label from a small set (anyone can send any method).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts the request (of [`route_class`] `class`), its body's bytes, its
/// answer's status, the time to the answer's headers and the answer body's
/// bytes; `next` answers it.
pub(super) async fn count(
    state: &AppState,
    class: &'static str,
    request: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let method = method_label(request.method());
    let (read, sent) = state.metrics.byte_counters(class);
    let head = request.method() == axum::http::Method::HEAD;
    let started = Instant::now();
    let request = request.map(|body| counted(body, read));
    let response = next(request).await;
    state.metrics.answered(class, method, response.status().as_u16(), started.elapsed().as_secs_f64());
    if head {
        // Its body is never sent; its size is the answer's Content-Length.
        return response;
    }
    response.map(|body| counted(body, sent))
}

/// `body`, counting its bytes in `counter`. A body of known length is
/// counted at once and left as it is: its exact size is what sets the
/// `Content-Length` of an answer (and of a `HEAD` answer without a body).
fn counted(body: Body, counter: prometheus_client::metrics::counter::Counter) -> Body {
    if let Some(length) = http_body::Body::size_hint(&body).exact() {
        counter.inc_by(length);
        return body;
    }
    Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.inc_by(data.len() as u64);
        }
        frame
    }))
}

/// `/metrics` on the main listener.
pub(super) async fn scrape(State(state): State<AppState>, _: Control<ReadConfiguration>) -> Response {
    render(&state).await
}

/// The router of `--metrics-listen`: `/metrics`, open.
pub fn open_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(|State(state): State<AppState>| async move { render(&state).await }))
        .with_state(state)
}

async fn render(state: &AppState) -> Response {
    let upload_sessions_open = match state.registry.open_uploads().await {
        Ok(count) => count as u64,
        Err(error) => {
            tracing::warn!(%error, "cannot count the open upload sessions for /metrics");
            0
        }
    };
    let snapshot = Snapshot {
        upload_sessions_open,
        audit_queue_depth: state.audit.queue_depth() as u64,
        pools: state.db.pool_use(),
    };
    let mut response = state.metrics.encode(snapshot).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_into_a_few_classes_read_from_the_right() {
        for (path, class) in [
            ("/v2/", "v2"),
            ("/v2/_catalog", "v2"),
            ("/v2/samples/app/tags/list", "v2"),
            ("/v2/samples/app/manifests/v1", "v2_manifest"),
            ("/v2/samples/app/blobs/sha256:abc", "v2_blob"),
            ("/v2/samples/app/blobs/uploads/", "v2_upload"),
            ("/v2/samples/app/blobs/uploads/0b1c", "v2_upload"),
            ("/v2/team/blobs/app/manifests/v1", "v2_manifest"),
            ("/v2/team/manifests/app/blobs/sha256:abc", "v2_blob"),
            ("/v2/team/blobs/uploads", "v2_upload"),
            ("/v2/blobs/sha256:abc", "v2"),
            ("/v2/team/manifests/manifests", "v2_manifest"),
            ("/v2/team/blobs/blobs/", "v2_blob"),
            ("/v2//manifests/v1", "v2_manifest"),
            ("/oauth2/token", "token"),
            ("/api/v1/tokens", "api"),
            ("/pkg/portcullis.wasm", "assets"),
            ("/metrics", "metrics"),
            ("/healthz", "health"),
            ("/readyz", "health"),
            ("/portal/tokens", "portal"),
            ("/", "portal"),
        ] {
            assert_eq!(route_class(path), class, "{path}");
        }
        assert_eq!(method_label(&axum::http::Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
