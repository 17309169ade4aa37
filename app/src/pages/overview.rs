//! The registry overview: where to log in, the version, and how much the
//! registry holds.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::{api::get_overview, components::ui::CARD, error::PortalError, PortalSession};

/// Whether a user (not a token holder) is signed in.
fn signed_in_as_user() -> bool {
    use_context::<PortalSession>()
        .and_then(|session| session.info.get_untracked())
        .and_then(Result::ok)
        .and_then(|info| info.user)
        .is_some_and(|user| !user.is_token())
}

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
                        let login_command = format!(
                            "echo $PASSWORD | docker login --username USER --password-stdin {}",
                            overview.login_server
                        );
                        view! {
                            <section class="mt-6 grid gap-4 sm:grid-cols-2">
                                <div class=CARD>
                                    <h2 class="text-sm font-medium text-slate-500">"Login server"</h2>
                                    <p class="mt-1 font-mono text-lg" data-testid="login-server">{overview.login_server.clone()}</p>
                                    <button type="button" data-testid="toggle-login-command"
                                        class="mt-3 text-sm text-blue-700 underline focus:outline-none focus:ring-2 focus:ring-blue-600"
                                        aria-expanded=move || show_login.get().to_string()
                                        on:click=move |_| set_show_login.update(|open| *open = !*open)>
                                        {move || if show_login.get() { "Hide login command" } else { "Show login command" }}
                                    </button>
                                    <Show when=move || show_login.get()>
                                        <pre class="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-testid="login-command">{login_command.clone()}</pre>
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
                    // A user whose roles reach no administration has their
                    // own page instead (a token holder is refused).
                    Err(PortalError::Forbidden) if signed_in_as_user() => view! { <Redirect path="/my-access" /> }.into_any(),
                    Err(error) => view! {
                        <p class="mt-4 text-red-700" role="alert">{error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
