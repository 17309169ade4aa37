//! The portal mount: Leptos pages and server functions, behind the session,
//! CSRF and sign-in layers; each page names its Content-Security-Policy.

use std::{sync::Arc, time::Duration};

use app::{
    backend::Backend,
    model::{page_access, LoginServer, PageAccess, SignedInUser},
    session::{DecidedSession, USER_KEY},
    shell, App,
};
use axum::{
    extract::{Request, State},
    http::{
        header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS},
        HeaderValue, Method,
    },
    middleware::{from_fn_with_state, Next},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::{
    nonce::use_nonce,
    prelude::{provide_context, use_context},
};
use leptos_axum::{generate_route_list, LeptosRoutes, ResponseOptions};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::{cookie::SameSite, Expiry, Session, SessionManagerLayer};

use super::csrf;
use crate::{
    portal::{AccessPortal, AccountPortal, IdentitiesPortal, RepositoriesPortal, TokensPortal},
    AppState,
};

/// Idle time after which a portal session ends.
const SESSION_IDLE: Duration = Duration::from_secs(8 * 60 * 60);
pub const SESSION_COOKIE: &str = "portcullis_session";

pub fn router(state: AppState) -> Router {
    // Every login line the portal shows is written for this server.
    let login = LoginServer { host: state.login_server.clone(), plain_http: !state.tls };
    let backend = Backend(Arc::new(AccountPortal::new(
        state.access.clone(),
        state.tokens.clone(),
        state.repositories.clone(),
        state.users.clone(),
        state.identities.clone(),
        login.clone(),
    )));
    let tokens = app::tokens::backend::Tokens(Arc::new(TokensPortal::new(
        state.access.clone(),
        state.tokens.clone(),
        login.clone(),
    )));
    let identities = app::identities::backend::Identities(Arc::new(IdentitiesPortal::new(
        state.access.clone(),
        state.identities.clone(),
        state.federation.clone(),
        login,
    )));
    let repositories = app::repositories::backend::Repositories(Arc::new(RepositoriesPortal::new(
        state.access.clone(),
        state.repositories.clone(),
        state.login_server.clone(),
    )));
    let access = app::access::backend::Access(Arc::new(AccessPortal::new(
        state.access.clone(),
        state.identities.clone(),
        state.repositories.clone(),
    )));
    let backend_for_pages = backend.clone();
    let context = move || {
        provide_context(backend.clone());
        provide_context(access.clone());
        provide_context(tokens.clone());
        provide_context(repositories.clone());
        provide_context(identities.clone());
        name_page_policy();
    };
    let sessions = session_layer(&state);
    let options = state.leptos.clone();
    Router::new()
        .leptos_routes_with_context(&state, generate_route_list(App), context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(from_fn_with_state(backend_for_pages, require_sign_in))
        .layer(from_fn_with_state(csrf::PreSessionCookie { secure: state.tls }, csrf::protect))
        .layer(sessions)
        // Outermost, so redirects and refusals of the inner layers get them too.
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .with_state(state)
}

/// The policy of every portal response that is not a page (server
/// functions, redirects, files): nothing may load from it or frame it.
const DEFAULT_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy of a rendered page. Scripts come from this origin (/pkg/*.js)
/// or are inline with this response's nonce: Leptos generates one per page
/// and puts it on every inline script it writes (the hydration bootstrap
/// and the serialised resources), so no other inline script runs.
/// `'wasm-unsafe-eval'` lets the page compile /pkg/*.wasm (and allows no
/// `eval`); styles are /pkg/*.css only; no page may frame the portal.
fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sets the page policy when Leptos is rendering a page (only then is there
/// a nonce); runs inside each request's Leptos context.
fn name_page_policy() {
    let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>()) else { return };
    if let Ok(policy) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(CONTENT_SECURITY_POLICY, policy);
    }
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
    path == "/login" || path == "/favicon.svg" || path == "/favicon.ico" || path.starts_with("/pkg/") || path.starts_with("/portal/")
}

/// Page loads without a signed-in user go to the sign-in page, the
/// sign-in page of a signed-in user goes to their start page, and so does
/// a page that is not for them when another is (`app::model::page_access`),
/// before anything renders. For a signed-in page load the session is decided here, once
/// (`DecidedSession`): a user disabled or deleted, or a token password
/// that no longer counts, signs the session out.
async fn require_sign_in(
    State(backend): State<Backend>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if request.method() != Method::GET || (is_public(path) && path != "/login") {
        return next.run(request).await;
    }
    let user = session.get::<SignedInUser>(USER_KEY).await.ok().flatten();
    let decided = match user {
        Some(user) => match backend.0.session_state(&user).await {
            Ok(Some(can)) => Some(DecidedSession(user, can)),
            Ok(None) => {
                let _ = session.flush().await;
                None
            }
            // The page's own calls ask again and say what failed.
            Err(_) => return next.run(request).await,
        },
        None => None,
    };
    match (path == "/login", decided) {
        (true, Some(_)) => Redirect::to("/").into_response(),
        (false, None) => Redirect::to("/login").into_response(),
        (false, Some(decided)) => {
            // A page that is not theirs, when another one is: before rendering.
            if let PageAccess::RedirectTo(start) = page_access(path, &decided.0, &decided.1) {
                return Redirect::to(start).into_response();
            }
            request.extensions_mut().insert(decided);
            next.run(request).await
        }
        (true, None) => next.run(request).await,
    }
}
