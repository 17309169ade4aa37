//! HTTP: the router and its layers. Handlers parse requests, call
//! services and map their errors to responses once; they never run SQL.

pub mod csrf;
pub mod portal;

use axum::{routing::get, Router};

use crate::AppState;

/// The whole HTTP surface, for `serve` and for tests (`oneshot`).
pub fn build_router(state: AppState) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" })).merge(portal::router(state))
}
