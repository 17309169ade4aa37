//! The frame of every signed-in page: brand, navigation, the user and
//! sign-out.

use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

use crate::{
    components::ui::{ErrorMessage, LINK},
    error::PortalError,
    model::{home, page_access, Area, Capabilities, PageAccess},
    PortalSession,
};

/// What the signed-in user may administer, for pages that hide what the
/// user may not change (the server functions refuse it anyway). Empty for
/// token holders. The layout provides it once the session is loaded, before
/// any page renders, so the server and the browser read the same value
/// (reading the session resource itself from a page raced hydration).
pub fn use_capabilities() -> Signal<Capabilities> {
    let can = use_context::<Capabilities>().unwrap_or_default();
    Signal::derive(move || can)
}

const NAV_LINK: &str =
    "text-slate-300 hover:text-white aria-[current=page]:text-white aria-[current=page]:underline";

#[component]
pub fn SignedInLayout() -> impl IntoView {
    let session = expect_context::<PortalSession>();
    let path = use_location().pathname;
    // After a page change in the browser, focus goes to the new page's
    // heading, so a keyboard or screen reader user starts there.
    Effect::new(move |previous: Option<String>| {
        let now = path.get();
        if previous.is_some_and(|previous| previous != now) {
            // Once the router has put the new page in place.
            set_timeout(|| focus_heading(40), std::time::Duration::from_millis(50));
        }
        now
    });
    view! {
        <Transition fallback=|| view! { <p class="p-8 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.info.await {
                    Ok(info) => match info.user {
                        Some(user) => {
                        provide_context(info.can);
                        let start = home(&user, &info.can);
                        let access = {
                            let (user, can) = (user.clone(), info.can);
                            Memo::new(move |_| path.with(|path| page_access(path, &user, &can)))
                        };
                        view! {
                            <div class="min-h-screen flex flex-col">
                                <header class="bg-slate-900 text-white">
                                    <div class="mx-auto max-w-[96rem] px-4 py-3 flex flex-wrap items-center gap-x-6 gap-y-2">
                                        <A href=home(&user, &info.can) attr:class="font-semibold tracking-tight text-lg">"Portcullis"</A>
                                        {if user.is_token() {
                                            // A token holder sees their own token only.
                                            view! {
                                                <nav class="flex gap-4 text-sm" aria-label="Main">
                                                    <A href="/my-token" attr:class=NAV_LINK>"My token"</A>
                                                </nav>
                                            }.into_any()
                                        } else {
                                            // Only what the user's roles reach.
                                            let can = info.can;
                                            view! {
                                                <nav class="flex flex-wrap gap-4 text-sm" aria-label="Main">
                                                    {can.administers().then(|| view! { <A href="/" exact=true attr:class=NAV_LINK>"Overview"</A> })}
                                                    {can.can_read(Area::Configuration).then(|| view! {
                                                        <A href="/repositories" attr:class=NAV_LINK>"Repositories"</A>
                                                        <A href="/tokens" attr:class=NAV_LINK>"Tokens"</A>
                                                        <A href="/scope-maps" attr:class=NAV_LINK>"Scope maps"</A>
                                                    })}
                                                    {can.can_read(Area::Identities).then(|| view! {
                                                        <A href="/users" attr:class=NAV_LINK>"Users"</A>
                                                        <A href="/groups" attr:class=NAV_LINK>"Groups"</A>
                                                        <A href="/service-principals" attr:class=NAV_LINK>"Service principals"</A>
                                                    })}
                                                    {can.can_read(Area::RoleAssignments).then(|| view! {
                                                        <A href="/access-control" attr:class=NAV_LINK>"Access control (IAM)"</A>
                                                        <A href="/check-access" attr:class=NAV_LINK>"Check access"</A>
                                                    })}
                                                    {can.can_read(Area::Configuration).then(|| view! {
                                                        <A href="/settings" attr:class=NAV_LINK>"Settings"</A>
                                                    })}
                                                    <A href="/my-access" attr:class=NAV_LINK>"My access"</A>
                                                </nav>
                                            }.into_any()
                                        }}
                                        <div class="ml-auto flex items-center gap-3 text-sm">
                                            <span class="text-slate-300" data-testid="signed-in-user">{user.name.clone()}</span>
                                            {(!user.is_token()).then(|| view! {
                                                <A href="/account/password" attr:class=NAV_LINK>"Change password"</A>
                                            })}
                                            <ActionForm action=session.sign_out>
                                                <input type="hidden" name="csrf_token" value=info.csrf_token.clone() />
                                                <button type="submit" class="rounded bg-slate-700 px-3 py-1 hover:bg-slate-600 focus:outline-none focus:ring-2 focus:ring-white">"Sign out"</button>
                                            </ActionForm>
                                        </div>
                                    </div>
                                </header>
                                <main class="mx-auto w-full max-w-[96rem] flex-1 px-4 py-8">
                                    {move || match access.get() {
                                        PageAccess::Allowed => view! { <Outlet /> }.into_any(),
                                        PageAccess::RedirectTo(path) => view! { <Redirect path /> }.into_any(),
                                        PageAccess::Refused => view! { <Refused start /> }.into_any(),
                                    }}
                                </main>
                            </div>
                        }.into_any()
                        }
                        None => view! { <Redirect path="/login" /> }.into_any(),
                    },
                    Err(error) => view! {
                        <p class="p-8 text-red-700" role="alert">{error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A page the signed-in visitor's roles do not reach: the refusal alone,
/// nothing of the page (its title, buttons or search), and the way back.
#[component]
fn Refused(start: &'static str) -> impl IntoView {
    // The status of a refused server function, for the refused page.
    #[cfg(feature = "ssr")]
    let refusal = crate::api::ssr::fail(PortalError::Forbidden);
    #[cfg(not(feature = "ssr"))]
    let refusal = PortalError::Forbidden;
    let label = match start {
        "/my-token" => "Go to My token",
        "/my-access" => "Go to My access",
        _ => "Go to the overview",
    };
    view! {
        <leptos_meta::Title text="No access" />
        <div data-testid="page-refused">
            <ErrorMessage message=refusal.to_string() />
            <p class="mt-3 text-sm">
                "Your roles do not reach this page. Ask an administrator of the registry if you need it. "
                <A href=start attr:class=LINK>{label}</A>
            </p>
        </div>
    }
}

/// Focuses the page's `<h1>` once the page has rendered it, trying every
/// 50 ms for at most `tries` times (a page waits for its data first).
fn focus_heading(tries: u32) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let heading = document()
            .query_selector("main h1")
            .ok()
            .flatten()
            .and_then(|heading| heading.dyn_into::<leptos::web_sys::HtmlElement>().ok());
        match heading {
            Some(heading) => {
                let _ = heading.set_attribute("tabindex", "-1");
                let _ = heading.focus();
            }
            None if tries > 0 => {
                set_timeout(move || focus_heading(tries - 1), std::time::Duration::from_millis(50));
            }
            None => {}
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = tries;
}
