//! The registry overview: where to log in, the version, and how much the
//! registry holds.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::get_overview,
    components::{secret::LoginCommands, ui::CARD},
};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_overview());
    let (show_login, set_show_login) = signal(false);
    view! {
        <Title text="Overview" />
        <h1 class="text-2xl font-semibold tracking-tight">"Registry overview"</h1>
        <Transition fallback=|| view! { <p class="mt-4 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(overview) => {
                        let login = StoredValue::new(overview.login.clone());
                        let user = StoredValue::new(overview.user.clone());
                        view! {
                            <section class="mt-6 grid gap-4 sm:grid-cols-2">
                                <div class=CARD>
                                    <h2 class="text-sm font-medium text-slate-500">"Login server"</h2>
                                    <p class="mt-1 font-mono text-lg" data-testid="login-server">{overview.login.host.clone()}</p>
                                    <button type="button" data-testid="toggle-login-command"
                                        class="mt-3 text-sm text-blue-700 underline focus:outline-none focus:ring-2 focus:ring-blue-600"
                                        aria-expanded=move || show_login.get().to_string()
                                        on:click=move |_| set_show_login.update(|open| *open = !*open)>
                                        {move || if show_login.get() { "Hide login command" } else { "Show login command" }}
                                    </button>
                                    <Show when=move || show_login.get()>
                                        <div class="mt-3" data-testid="login-command">
                                            <LoginCommands login=login.get_value() username=user.get_value() variable="PASSWORD" what="password" />
                                        </div>
                                    </Show>
                                </div>
                                <div class=CARD>
                                    <h2 class="text-sm font-medium text-slate-500">"Version"</h2>
                                    <p class="mt-1 font-mono text-lg" data-testid="version">{overview.version.clone()}</p>
                                </div>
                            </section>
                            <section class="mt-4 grid gap-4 sm:grid-cols-3" aria-label="Counts">
                                {overview.counts.into_iter().map(|count| view! {
                                    <div class=CARD>
                                        <h2 class="text-sm font-medium text-slate-500">{count.label}</h2>
                                        <p class="mt-1 text-3xl font-semibold">{count.value}</p>
                                    </div>
                                }).collect_view()}
                            </section>
                        }.into_any()
                    }
                    Err(error) => view! {
                        <p class="mt-4 text-red-700" role="alert">{error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
