//! Sign-in: user name and password, with the server's message on failure.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::PortalSession;

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = expect_context::<PortalSession>();
    let failure =
        move || session.sign_in.value().get().and_then(|result| result.err()).map(|error| error.to_string());
    let pending = session.sign_in.pending();
    view! {
        <Title text="Sign in" />
        <main class="min-h-screen flex items-center justify-center px-4">
            <div class="w-full max-w-sm rounded-lg bg-white p-8 shadow">
                <h1 class="text-2xl font-semibold tracking-tight">"Portcullis"</h1>
                <p class="mt-1 text-sm text-slate-600" data-testid="sign-in-intro">
                    "Sign in with your user name and password, or with a token's name and one of its passwords to see what that token can reach."
                </p>
                <Transition fallback=|| view! { <p class="mt-6 text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let csrf = session.info.await.map(|info| info.csrf_token).unwrap_or_default();
                        view! {
                            <ActionForm action=session.sign_in attr:class="mt-6 space-y-4" attr:aria-label="Sign in">
                                <input type="hidden" name="csrf_token" value=csrf />
                                <label class="block">
                                    <span class="text-sm font-medium">"User name"</span>
                                    <input name="username" autocomplete="username" required
                                        class="mt-1 block w-full rounded border border-slate-300 px-3 py-2 focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600" />
                                </label>
                                <label class="block">
                                    <span class="text-sm font-medium">"Password"</span>
                                    <input name="password" type="password" autocomplete="current-password" required
                                        class="mt-1 block w-full rounded border border-slate-300 px-3 py-2 focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600" />
                                </label>
                                <Show when=move || failure().is_some()>
                                    <p class="rounded bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid="sign-in-error">
                                        {failure}
                                    </p>
                                </Show>
                                <button type="submit" disabled=pending
                                    class="w-full rounded bg-blue-700 px-4 py-2 font-medium text-white hover:bg-blue-800 focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2 disabled:opacity-60">
                                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                                </button>
                            </ActionForm>
                        }
                    })}
                </Transition>
            </div>
        </main>
    }
}
