//! The frame of every signed-in page: brand, navigation, the user and
//! sign-out. Pages that do not exist yet are not linked.

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

use crate::PortalSession;

#[component]
pub fn SignedInLayout() -> impl IntoView {
    let session = expect_context::<PortalSession>();
    view! {
        <Transition fallback=|| view! { <p class="p-8 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.info.await {
                    Ok(info) => match info.user {
                        Some(user) => view! {
                            <div class="min-h-screen flex flex-col">
                                <header class="bg-slate-900 text-white">
                                    <div class="mx-auto max-w-6xl px-4 py-3 flex flex-wrap items-center gap-x-6 gap-y-2">
                                        <A href="/" attr:class="font-semibold tracking-tight text-lg">"Portcullis"</A>
                                        <nav class="flex gap-4 text-sm" aria-label="Main">
                                            <A href="/" exact=true attr:class="text-slate-300 hover:text-white aria-[current=page]:text-white aria-[current=page]:underline">"Overview"</A>
                                        </nav>
                                        <div class="ml-auto flex items-center gap-3 text-sm">
                                            <span class="text-slate-300" data-testid="signed-in-user">{user.name.clone()}</span>
                                            <ActionForm action=session.sign_out>
                                                <input type="hidden" name="csrf_token" value=info.csrf_token.clone() />
                                                <button type="submit" class="rounded bg-slate-700 px-3 py-1 hover:bg-slate-600 focus:outline-none focus:ring-2 focus:ring-white">"Sign out"</button>
                                            </ActionForm>
                                        </div>
                                    </div>
                                </header>
                                <main class="mx-auto w-full max-w-6xl flex-1 px-4 py-8">
                                    <Outlet />
                                </main>
                            </div>
                        }.into_any(),
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
