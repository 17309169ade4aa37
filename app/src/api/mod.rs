//! Server functions: thin adapters from the browser to [`crate::backend`].
//! Reads are GET; every state-changing call is a POST that carries the
//! session's CSRF token (checked by the server's CSRF layer before the
//! function runs).

pub mod account;

use leptos::{prelude::*, server_fn::codec::GetUrl};

use crate::{
    error::PortalError,
    model::{MyAccess, MyToken, Overview, Password, SessionInfo, SignedInUser},
};

/// Helpers every area's server functions use (server side only).
///
/// A server function takes what it needs from the request's context (its
/// backend, the request's parts) before it first waits on the database:
/// while a page renders on the server, a call that has waited may find the
/// context gone (the render it started in was replaced), fail, and leave
/// the browser hydrating a page the server did not send.
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    use axum::{extract::ConnectInfo, Extension};
    use leptos::prelude::*;
    use tower_sessions::Session;

    use crate::{
        backend::{Backend, PortalBackend},
        error::PortalError,
        model::{Area, Capabilities, Reach, SignedInUser},
        session::{new_csrf_token, DecidedSession, PreSessionCsrf, CSRF_KEY, USER_KEY},
    };

    /// Sets the response status for `error` and hands it back, for `map_err`.
    pub fn fail(error: PortalError) -> PortalError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                axum::http::StatusCode::from_u16(error.status())
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        error
    }

    pub fn backend() -> Result<std::sync::Arc<dyn PortalBackend>, PortalError> {
        use_context::<Backend>().map(|backend| backend.0).ok_or_else(|| fail(PortalError::Internal))
    }

    pub async fn session() -> Result<Session, PortalError> {
        leptos_axum::extract::<Session>().await.map_err(|_| fail(PortalError::Internal))
    }

    pub async fn client_ip() -> IpAddr {
        leptos_axum::extract::<ConnectInfo<SocketAddr>>()
            .await
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// The signed-in user and what they may administer, decided now. A
    /// session that no longer counts (a user disabled or deleted since; a
    /// token disabled or deleted, or its password regenerated, deleted or
    /// expired) ends here: signed out.
    pub async fn signed_in(session: &Session) -> Result<Option<(SignedInUser, Capabilities)>, PortalError> {
        let backend = backend()?;
        // A page load: decided before the page began to render.
        if let Ok(Extension(DecidedSession(user, can))) =
            leptos_axum::extract::<Extension<DecidedSession>>().await
        {
            return Ok(Some((user, can)));
        }
        let Some(user) =
            session.get::<SignedInUser>(USER_KEY).await.map_err(|_| fail(PortalError::Internal))?
        else {
            return Ok(None);
        };
        match backend.session_state(&user).await.map_err(fail)? {
            Some(can) => Ok(Some((user, can))),
            None => {
                session.flush().await.map_err(|_| fail(PortalError::Internal))?;
                Ok(None)
            }
        }
    }

    pub async fn require_user(session: &Session) -> Result<SignedInUser, PortalError> {
        signed_in(session).await?.map(|(user, _)| user).ok_or_else(|| fail(PortalError::NotSignedIn))
    }

    /// A signed-in person (not a token holder): their own account pages.
    pub async fn require_person(session: &Session) -> Result<SignedInUser, PortalError> {
        let user = require_user(session).await?;
        if user.is_token() {
            return Err(fail(PortalError::Forbidden));
        }
        Ok(user)
    }

    /// The signed-in user, when their roles reach some part of the
    /// administration (the overview is theirs); anyone else gets 403.
    pub async fn require_administrator(session: &Session) -> Result<SignedInUser, PortalError> {
        match signed_in(session).await? {
            Some((user, can)) if can.administers() => Ok(user),
            Some(_) => Err(fail(PortalError::Forbidden)),
            None => Err(fail(PortalError::NotSignedIn)),
        }
    }

    /// The signed-in user, when their roles reach `area` at least as far as
    /// `reach`; anyone else gets 403 (a token holder included). The server's
    /// adapters ask the policy again for each change.
    pub async fn require_reach(
        session: &Session,
        area: Area,
        reach: Reach,
    ) -> Result<SignedInUser, PortalError> {
        let (user, can) = signed_in(session).await?.ok_or_else(|| fail(PortalError::NotSignedIn))?;
        if can.reach(area) >= reach && reach != Reach::None {
            Ok(user)
        } else {
            Err(fail(PortalError::Forbidden))
        }
    }

    /// A context handle provided by the server (an area's backend).
    pub fn context<T: Clone + Send + Sync + 'static>() -> Result<T, PortalError> {
        use_context::<T>().ok_or_else(|| fail(PortalError::Internal))
    }

    /// The token this browser's state-changing calls must carry: the
    /// session's once signed in, before that the pre-session token the CSRF
    /// layer keeps in a cookie, so a signed-out visit stores no session.
    pub async fn csrf_token(session: &Session) -> Result<String, PortalError> {
        let pre_session = leptos_axum::extract::<Extension<PreSessionCsrf>>().await;
        if let Some(token) = session.get::<String>(CSRF_KEY).await.map_err(|_| fail(PortalError::Internal))? {
            return Ok(token);
        }
        let Extension(PreSessionCsrf(token)) = pre_session.map_err(|_| fail(PortalError::Internal))?;
        Ok(token)
    }

    /// A new CSRF token in the session: the one a page showed before (or
    /// that was planted in the browser) authorises nothing any more.
    pub async fn rotate_csrf_token(session: &Session) -> Result<(), PortalError> {
        session.insert(CSRF_KEY, new_csrf_token()).await.map_err(|_| fail(PortalError::Internal))
    }
}

#[server(prefix = "/portal", endpoint = "session", input = GetUrl)]
pub async fn get_session() -> Result<SessionInfo, PortalError> {
    let session = ssr::session().await?;
    // The CSRF token first: it reads the request's context, which a page
    // rendering on the server may no longer hold once a call has waited
    // on the database (see `ssr`).
    let csrf_token = ssr::csrf_token(&session).await?;
    let (user, can) = match ssr::signed_in(&session).await? {
        Some((user, can)) => (Some(user), can),
        None => (None, crate::model::Capabilities::default()),
    };
    Ok(SessionInfo { user, can, csrf_token })
}

#[server(prefix = "/portal", endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: Password,
    csrf_token: String,
) -> Result<SignedInUser, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let backend = ssr::backend()?;
    let session = ssr::session().await?;
    let client = ssr::client_ip().await;
    let user = backend.sign_in(username.trim(), password, client).await.map_err(ssr::fail)?;
    // A new session id and CSRF token at sign-in defeat session fixation and
    // a token learnt before it.
    session.cycle_id().await.map_err(|_| ssr::fail(PortalError::Internal))?;
    session.insert(crate::session::USER_KEY, &user).await.map_err(|_| ssr::fail(PortalError::Internal))?;
    ssr::rotate_csrf_token(&session).await?;
    let can = backend.session_state(&user).await.map_err(ssr::fail)?.unwrap_or_default();
    leptos_axum::redirect(crate::model::home(&user, &can));
    Ok(user)
}

#[server(prefix = "/portal", endpoint = "sign_out")]
pub async fn sign_out(csrf_token: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let session = ssr::session().await?;
    // The session's CSRF token goes with it; the CSRF layer hands the
    // browser a new pre-session token in this response.
    session.flush().await.map_err(|_| ssr::fail(PortalError::Internal))?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/portal", endpoint = "overview", input = GetUrl)]
pub async fn get_overview() -> Result<Overview, PortalError> {
    let backend = ssr::backend()?;
    let session = ssr::session().await?;
    let user = ssr::require_administrator(&session).await?;
    backend.overview(&user).await.map_err(ssr::fail)
}

/// The signed-in user's roles and the repositories they reach.
#[server(prefix = "/portal", endpoint = "my_access", input = GetUrl)]
pub async fn get_my_access() -> Result<MyAccess, PortalError> {
    let backend = ssr::backend()?;
    let session = ssr::session().await?;
    let user = ssr::require_person(&session).await?;
    backend.my_access(&user).await.map_err(ssr::fail)
}

/// The signed-in token holder's own token; administrators have none.
#[server(prefix = "/portal", endpoint = "my_token", input = GetUrl)]
pub async fn get_my_token() -> Result<MyToken, PortalError> {
    let backend = ssr::backend()?;
    let session = ssr::session().await?;
    let user = ssr::require_user(&session).await?;
    let Some(credential) = user.token else {
        return Err(ssr::fail(PortalError::Invalid(
            "You are signed in as a user: this page shows a token holder's own token; yours is My access."
                .into(),
        )));
    };
    backend.my_token(&user.name, credential).await.map_err(ssr::fail)
}
