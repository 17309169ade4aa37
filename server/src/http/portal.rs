//! The portal mount: Leptos pages and server functions, behind the session,
//! CSRF and sign-in layers.

use std::{sync::Arc, time::Duration};

use app::{backend::Backend, model::SignedInUser, session::USER_KEY, shell, App};
use axum::{
    extract::Request,
    http::Method,
    middleware::{from_fn, Next},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::{cookie::SameSite, Expiry, Session, SessionManagerLayer};

use super::csrf;
use crate::{
    service::{portal::PortalService, portal_repositories::RepositoriesPortal, portal_tokens::TokensPortal},
    AppState,
};

/// Idle time after which a portal session ends.
const SESSION_IDLE: Duration = Duration::from_secs(8 * 60 * 60);
pub const SESSION_COOKIE: &str = "portcullis_session";

pub fn router(state: AppState) -> Router {
    let backend = Backend(Arc::new(PortalService::new(&state)));
    let tokens = app::tokens::backend::Tokens(Arc::new(TokensPortal::new(&state)));
    let repositories = app::repositories::backend::Repositories(Arc::new(RepositoriesPortal::new(&state)));
    let context = move || {
        provide_context(backend.clone());
        provide_context(tokens.clone());
        provide_context(repositories.clone());
    };
    let sessions = session_layer(&state);
    let options = state.leptos.clone();
    Router::new()
        .leptos_routes_with_context(&state, generate_route_list(App), context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(from_fn(require_sign_in))
        .layer(from_fn(csrf::protect))
        .layer(sessions)
        .with_state(state)
}

/// The portal session cookie's layer (also read by the management API).
pub fn session_layer(state: &AppState) -> SessionManagerLayer<tower_sessions_sqlx_store::SqliteStore> {
    SessionManagerLayer::new(state.sessions.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.tls)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::try_from(SESSION_IDLE).expect("fits"),
        ))
}

/// Paths anyone may fetch: assets, server functions (which check the
/// session themselves) and the sign-in page.
fn is_public(path: &str) -> bool {
    path == "/login" || path == "/favicon.ico" || path.starts_with("/pkg/") || path.starts_with("/portal/")
}

/// Page loads without a signed-in user go to the sign-in page, and the
/// sign-in page of a signed-in user goes to the overview, before anything
/// renders.
async fn require_sign_in(session: Session, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if request.method() != Method::GET || (is_public(path) && path != "/login") {
        return next.run(request).await;
    }
    let signed_in = matches!(session.get::<SignedInUser>(USER_KEY).await, Ok(Some(_)));
    match (path == "/login", signed_in) {
        (true, true) => Redirect::to("/").into_response(),
        (false, false) => Redirect::to("/login").into_response(),
        _ => next.run(request).await,
    }
}
