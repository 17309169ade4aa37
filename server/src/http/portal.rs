//! The portal mount: Leptos pages and server functions, behind the session,
//! CSRF and sign-in layers; each page names its Content-Security-Policy.
//! The compiled assets under /pkg are served precompressed and, when
//! cargo-leptos hashed their names, cached for a year.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use app::{
    backend::Backend,
    model::{page_access, LoginServer, PageAccess, SignedInUser},
    session::{DecidedSession, USER_KEY},
    shell, App,
};
use axum::{
    extract::{Request, State},
    http::{
        header::{
            CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
            X_FRAME_OPTIONS,
        },
        HeaderValue, Method, StatusCode,
    },
    middleware::{from_fn_with_state, Next},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::{
    config::LeptosOptions,
    nonce::use_nonce,
    prelude::{provide_context, use_context},
};
use leptos_axum::{generate_route_list, LeptosRoutes, ResponseOptions};
use tower::Layer;
use tower_http::{
    services::{fs::ServeFileSystemResponseBody, ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, Session, SessionManagerLayer};

use super::csrf;
use crate::{
    portal::{AccessPortal, AccountPortal, IdentitiesPortal, RepositoriesPortal, TokensPortal},
    AppState,
};

/// Idle time after which a portal session ends.
const SESSION_IDLE: Duration = Duration::from_secs(8 * 60 * 60);
pub const SESSION_COOKIE: &str = "portcullis_session";

pub fn router(mut state: AppState) -> Router {
    // Pages name the hashed files (Leptos' `HydrationScripts` reads the hash
    // file when `hash_files` is set); the fallback renders its pages with
    // the state's options, so they are set there.
    let hashed = HashedAssets::find(&state.leptos);
    if let Some(hashed) = &hashed {
        state.leptos.hash_files = true;
        state.leptos.hash_file = hashed.hash_file.clone();
    }
    let assets =
        assets(&Path::new(&*state.leptos.site_root).join(&*state.leptos.site_pkg_dir), hashed.as_ref());
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
        // Files need no session: merged under the headers only.
        .merge(assets)
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

/// `Cache-Control` of a file whose name carries a hash of its content: a new
/// build has new names, so the browser never needs to ask again.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of a file whose content may change under its name: the
/// browser may keep it but asks each time (a `304` via `Last-Modified`
/// carries no body), so a new build is never mixed with an old one.
const REVALIDATE: &str = "no-cache";

/// The script, wasm and stylesheet names cargo-leptos gave this build
/// (`hash-files = true` in Cargo.toml): `portcullis.<hash>.js` and so on.
struct HashedAssets {
    /// Absolute path of the hash file these names were read from.
    hash_file: Arc<str>,
    js: String,
    wasm: String,
    css: String,
    /// The stylesheet's name without the hash, which the shell links.
    plain_css: String,
}

impl HashedAssets {
    /// The names of the first hash file whose files are all in the site's
    /// pkg directory: `<site root>/hash.txt`, which scripts/finish-site.mjs
    /// copies there after each build, then the one cargo-leptos writes next
    /// to the binary (where Leptos looks by default). The site root is
    /// shared by the debug and release builds, so the binary's own hash file
    /// may name files that a later build of the other profile replaced;
    /// the copy in the site root describes what is there.
    fn find(options: &LeptosOptions) -> Option<Self> {
        let site_root = Path::new(&*options.site_root);
        let pkg = site_root.join(&*options.site_pkg_dir);
        let beside_binary =
            std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(&*options.hash_file)));
        let mut stale = None;
        for path in std::iter::once(site_root.join("hash.txt")).chain(beside_binary) {
            let Some(hashed) = Self::read(&path, &options.output_name) else { continue };
            if [&hashed.js, &hashed.wasm, &hashed.css].iter().all(|name| pkg.join(name).is_file()) {
                return Some(hashed);
            }
            stale.get_or_insert(path);
        }
        if let (Some(path), true) = (stale, pkg.is_dir()) {
            tracing::warn!(
                hash_file = %path.display(),
                pkg = %pkg.display(),
                "the hash file names files the site does not have; build the site again (make build)"
            );
        }
        None
    }

    /// Reads cargo-leptos' `js: <hash>`, `wasm: <hash>`, `css: <hash>` lines;
    /// `None` if the file is missing or lacks one of them.
    fn read(path: &Path, output_name: &str) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let hash_of = |kind: &str| {
            text.lines().find_map(|line| {
                let (name, hash) = line.split_once(':')?;
                (name.trim() == kind && !hash.trim().is_empty()).then(|| hash.trim().to_owned())
            })
        };
        // Leptos joins the name to the binary's directory; absolute, it
        // stays this file whatever the working directory.
        let hash_file = std::path::absolute(path).ok()?.to_str()?.into();
        Some(Self {
            hash_file,
            js: format!("{output_name}.{}.js", hash_of("js")?),
            wasm: format!("{output_name}.{}.wasm", hash_of("wasm")?),
            css: format!("{output_name}.{}.css", hash_of("css")?),
            plain_css: format!("{output_name}.css"),
        })
    }
}

/// The site's pkg directory under /pkg, outside the session layers (a file
/// needs no session, and no response here sets a cookie). Every file is
/// served as the `.br` or `.gz` beside it when the browser accepts that
/// encoding (written at build time by scripts/finish-site.mjs: compressing
/// a multi-megabyte wasm on every request would cost seconds of CPU, at
/// build time it costs them once). The hashed names are immutable; any
/// other name is revalidated.
fn assets(pkg: &Path, hashed: Option<&HashedAssets>) -> Router<AppState> {
    let revalidate = SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    // Caches between here and the browser keep one copy per encoding.
    let vary = SetResponseHeaderLayer::overriding(VARY, HeaderValue::from_static("accept-encoding"));
    let directory = ServeDir::new(pkg).precompressed_br().precompressed_gzip();
    let mut router = Router::new().nest_service("/pkg", vary.layer(revalidate.layer(directory)));
    if let Some(hashed) = hashed {
        // A year only for answers with the file: a 404 (a file removed by a
        // build since this server started) must not be kept that long.
        let immutable = SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            |response: &Response<ServeFileSystemResponseBody>| {
                (response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED)
                    .then(|| HeaderValue::from_static(IMMUTABLE))
            },
        );
        for name in [&hashed.js, &hashed.wasm, &hashed.css] {
            let file = precompressed_file(pkg.join(name));
            router = router.route_service(&format!("/pkg/{name}"), vary.layer(immutable.layer(file)));
        }
        // The shell links the stylesheet by its plain name (app/src/lib.rs),
        // which a hashed build no longer has: that name answers with the
        // hashed file, revalidated like every name without a hash.
        let stylesheet = precompressed_file(pkg.join(&hashed.css));
        router = router
            .route_service(&format!("/pkg/{}", hashed.plain_css), vary.layer(revalidate.layer(stylesheet)));
    }
    router
}

fn precompressed_file(path: PathBuf) -> ServeFile {
    ServeFile::new(path).precompressed_br().precompressed_gzip()
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
pub fn session_layer(state: &AppState) -> SessionManagerLayer<crate::db::sessions::PortalSessions> {
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
    path == "/login"
        || path == "/favicon.svg"
        || path == "/favicon.ico"
        || path.starts_with("/pkg/")
        || path.starts_with("/portal/")
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

#[cfg(test)]
mod tests {
    use axum::{
        body::{to_bytes, Body},
        http::{
            header::{ACCEPT_ENCODING, CONTENT_ENCODING, IF_MODIFIED_SINCE, LAST_MODIFIED},
            HeaderName, Request,
        },
    };
    use tower::ServiceExt;

    use super::*;

    const JS: &str = "portcullis.AAAAAAAAAAAAAAAAAAAAAA.js";
    const WASM: &str = "portcullis.BBBBBBBBBBBBBBBBBBBBBB.wasm";
    const CSS: &str = "portcullis.CCCCCCCCCCCCCCCCCCCCCC.css";
    const HASHES: &str =
        "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";

    /// A site as `cargo leptos build` and scripts/finish-site.mjs leave it:
    /// hashed names, a brotli variant of the wasm, the hash file copied
    /// into the site root.
    fn site() -> tempfile::TempDir {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        for name in [JS, WASM, CSS, "portcullis.d.ts"] {
            std::fs::write(pkg.join(name), format!("the bytes of {name}")).unwrap();
        }
        std::fs::write(pkg.join(format!("{WASM}.br")), "brotli").unwrap();
        std::fs::write(site.path().join("hash.txt"), HASHES).unwrap();
        site
    }

    async fn portal(site: &Path) -> (Router, tempfile::TempDir) {
        let (mut state, data) = crate::http::test_state().await;
        state.leptos.site_root = site.display().to_string().into();
        (router(state), data)
    }

    async fn get(router: &Router, path: &str, headers: &[(HeaderName, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    fn header<'a>(response: &'a Response, name: HeaderName) -> Option<&'a str> {
        response.headers().get(name).map(|value| value.to_str().unwrap())
    }

    async fn body(response: Response) -> String {
        String::from_utf8(to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn hashed_names_are_immutable_and_sent_precompressed_to_who_accepts_it() {
        let site = site();
        let (portal, _data) = portal(site.path()).await;

        let wasm = format!("/pkg/{WASM}");
        let compressed = get(&portal, &wasm, &[(ACCEPT_ENCODING, "gzip, deflate, br")]).await;
        assert_eq!(compressed.status(), StatusCode::OK);
        assert_eq!(header(&compressed, CONTENT_ENCODING), Some("br"));
        assert_eq!(header(&compressed, CACHE_CONTROL), Some(IMMUTABLE));
        assert_eq!(header(&compressed, VARY), Some("accept-encoding"));
        // The headers every portal response has are still there.
        assert_eq!(header(&compressed, X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
        assert_eq!(body(compressed).await, "brotli");

        let plain = get(&portal, &wasm, &[]).await;
        assert_eq!(header(&plain, CONTENT_ENCODING), None);
        assert_eq!(header(&plain, CACHE_CONTROL), Some(IMMUTABLE));
        let modified = header(&plain, LAST_MODIFIED).unwrap().to_owned();
        assert_eq!(body(plain).await, format!("the bytes of {WASM}"));

        let revalidated = get(&portal, &wasm, &[(IF_MODIFIED_SINCE, &modified)]).await;
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&revalidated, CACHE_CONTROL), Some(IMMUTABLE));

        for name in [JS, CSS] {
            let response = get(&portal, &format!("/pkg/{name}"), &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(header(&response, CACHE_CONTROL), Some(IMMUTABLE), "{name}");
        }
    }

    #[tokio::test]
    async fn names_without_this_builds_hash_are_revalidated() {
        let site = site();
        let (portal, _data) = portal(site.path()).await;

        // The shell's link to the stylesheet: the hashed file, asked again each time.
        let stylesheet = get(&portal, "/pkg/portcullis.css", &[]).await;
        assert_eq!(stylesheet.status(), StatusCode::OK);
        assert_eq!(header(&stylesheet, CACHE_CONTROL), Some(REVALIDATE));
        assert_eq!(body(stylesheet).await, format!("the bytes of {CSS}"));

        let other = get(&portal, "/pkg/portcullis.d.ts", &[]).await;
        assert_eq!(other.status(), StatusCode::OK);
        assert_eq!(header(&other, CACHE_CONTROL), Some(REVALIDATE));

        // A hashed name of another build (an old page's) is not kept.
        let gone = get(&portal, "/pkg/portcullis.DDDDDDDDDDDDDDDDDDDDDD.wasm", &[]).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&gone, CACHE_CONTROL), Some(REVALIDATE));
    }

    #[tokio::test]
    async fn a_hash_file_naming_files_the_site_lacks_is_not_used() {
        let site = site();
        let options = |root: &Path| {
            LeptosOptions::builder().output_name("portcullis").site_root(root.display().to_string()).build()
        };
        let found = HashedAssets::find(&options(site.path())).expect("the site's hash file");
        assert_eq!([found.js, found.wasm, found.css, found.plain_css], [JS, WASM, CSS, "portcullis.css"]);
        assert!(Path::new(&*found.hash_file).is_absolute());

        // Another build replaced the files.
        std::fs::remove_file(site.path().join("pkg").join(WASM)).unwrap();
        assert!(HashedAssets::find(&options(site.path())).is_none());
        // Without the hashed names, the plain ones are served as they are.
        let (portal, _data) = portal(site.path()).await;
        let other = get(&portal, &format!("/pkg/{JS}"), &[]).await;
        assert_eq!(header(&other, CACHE_CONTROL), Some(REVALIDATE));

        std::fs::write(
            site.path().join("hash.txt"),
            "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\n",
        )
        .unwrap();
        assert!(HashedAssets::read(&site.path().join("hash.txt"), "portcullis").is_none());
    }
}
