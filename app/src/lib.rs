//! The Portcullis portal: the HTML shell, the routes and their pages. Runs
//! on the server (`ssr`) and in the browser (`hydrate`); it reaches the
//! registry only through server functions and [`backend`], never SQL.

// Leptos view types of the portal nest deeply.
#![recursion_limit = "256"]

pub mod access;
pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod components;
pub mod error;
pub mod identities;
pub mod model;
mod pages;
pub mod repositories;
#[cfg(feature = "ssr")]
pub mod session;
pub mod tokens;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use crate::{
    access::pages::{AssignmentPage, AssignmentsPage, CheckAccessPage, NewAssignmentPage, SettingsPage},
    api::{SignIn, SignOut},
    components::layout::SignedInLayout,
    error::PortalError,
    identities::pages::{
        GroupPage, GroupsPage, NewUserPage, ServicePrincipalPage, ServicePrincipalsPage, UserPage, UsersPage,
    },
    model::SessionInfo,
    pages::{
        change_password::ChangePasswordPage, my_access::MyAccessPage, my_token::MyTokenPage,
        not_found::NotFound, overview::OverviewPage, sign_in::SignInPage,
    },
    repositories::pages::{RepositoriesPage, RepositoryPage},
    tokens::pages::{NewScopeMapPage, NewTokenPage, ScopeMapPage, ScopeMapsPage, TokenPage, TokensPage},
};

/// The document around every page (server side).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <link rel="stylesheet" id="leptos" href="/pkg/portcullis.css" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// The session as every page sees it, refreshed after sign-in and sign-out.
#[derive(Clone, Copy)]
pub struct PortalSession {
    pub info: Resource<Result<SessionInfo, PortalError>>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_out: ServerAction<SignOut>,
}

/// Every route renders with `SsrMode::Async`: the server sends the page
/// once its data is loaded, so the browser hydrates exactly the HTML it
/// received (streamed Suspense fallbacks raced hydration).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let sign_in = ServerAction::<SignIn>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let info =
        Resource::new(move || (sign_in.version().get(), sign_out.version().get()), |_| api::get_session());
    provide_context(PortalSession { info, sign_in, sign_out });

    // Effects run only in the browser: this marks the moment the page is
    // interactive (browser tests wait for it).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Portcullis".to_owned() } else { format!("{page} · Portcullis") }
        } />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=SignInPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=SignedInLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("my-token") view=MyTokenPage ssr=SsrMode::Async />
                    <Route path=path!("my-access") view=MyAccessPage ssr=SsrMode::Async />
                    <Route path=path!("account/password") view=ChangePasswordPage ssr=SsrMode::Async />
                    <Route path=path!("tokens") view=TokensPage ssr=SsrMode::Async />
                    <Route path=path!("tokens/new") view=NewTokenPage ssr=SsrMode::Async />
                    <Route path=path!("tokens/:name") view=TokenPage ssr=SsrMode::Async />
                    <Route path=path!("scope-maps") view=ScopeMapsPage ssr=SsrMode::Async />
                    <Route path=path!("scope-maps/new") view=NewScopeMapPage ssr=SsrMode::Async />
                    <Route path=path!("scope-maps/:name") view=ScopeMapPage ssr=SsrMode::Async />
                    <Route path=path!("repositories") view=RepositoriesPage ssr=SsrMode::Async />
                    <Route path=path!("repositories/*name") view=RepositoryPage ssr=SsrMode::Async />
                    <Route path=path!("users") view=UsersPage ssr=SsrMode::Async />
                    <Route path=path!("users/new") view=NewUserPage ssr=SsrMode::Async />
                    <Route path=path!("users/:name") view=UserPage ssr=SsrMode::Async />
                    <Route path=path!("groups") view=GroupsPage ssr=SsrMode::Async />
                    <Route path=path!("groups/:name") view=GroupPage ssr=SsrMode::Async />
                    <Route path=path!("service-principals") view=ServicePrincipalsPage ssr=SsrMode::Async />
                    <Route path=path!("service-principals/:name") view=ServicePrincipalPage ssr=SsrMode::Async />
                    <Route path=path!("access-control") view=AssignmentsPage ssr=SsrMode::Async />
                    <Route path=path!("access-control/new") view=NewAssignmentPage ssr=SsrMode::Async />
                    <Route path=path!("access-control/:name") view=AssignmentPage ssr=SsrMode::Async />
                    <Route path=path!("check-access") view=CheckAccessPage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=SettingsPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
