//! The customer's self-service view: a token holder sees their own token
//! only: its status, each password's expiry, what it grants, and the
//! repositories and tags it may read, with the commands to copy.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::get_my_token,
    components::{
        secret::LoginSection,
        ui::{TagPulls, CARD},
    },
    model::MyToken,
};

#[component]
pub fn MyTokenPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_my_token());
    view! {
        <Title text="My token" />
        <Transition fallback=|| view! { <p class="mt-4 text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(token) => view! { <TokenSummary token /> }.into_any(),
                    Err(error) => view! {
                        <p class="mt-4 rounded bg-red-50 px-3 py-2 text-red-800" role="alert">{error.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TokenSummary(token: MyToken) -> impl IntoView {
    let host = token.login.host.clone();
    let status = if token.enabled { "Enabled" } else { "Disabled" };
    view! {
        <h1 class="text-2xl font-semibold tracking-tight">"Token " <span data-testid="my-token-name">{token.name.clone()}</span></h1>
        <p class="mt-1 text-sm text-slate-600">
            "Status: " <span data-testid="my-token-status" class="font-medium">{status}</span>
            " · Scope map: " <span class="font-mono">{token.scope_map.clone()}</span>
        </p>
        <LoginSection login=token.login.clone() username=token.name.clone() variable="TOKEN_PWD"
            intro="With the token's name and one of its passwords." host_testid="my-login-server" />
        <section class=format!("{CARD} mt-4") aria-labelledby="passwords-heading">
            <h2 id="passwords-heading" class="text-lg font-medium">"Passwords"</h2>
            <ul class="mt-2 divide-y divide-slate-100" data-testid="my-passwords">
                {token.passwords.into_iter().map(|password| {
                    let expiry = password.expiry.clone().unwrap_or_else(|| "Never expires".into());
                    view! {
                        <li class="flex flex-wrap items-center gap-x-4 gap-y-1 py-2 text-sm">
                            <span class="font-medium">{password.name.as_str()}</span>
                            <span class="text-slate-600">"Created " {password.created.clone()}</span>
                            <span class=if password.expires_soon { "text-amber-700 font-medium" } else { "text-slate-600" }>
                                {if password.expiry.is_some() { "Expires " } else { "" }} {expiry}
                                {password.expires_soon.then_some(" (soon: ask for a new password)")}
                            </span>
                            {password.in_use.then(|| view! { <span class="rounded bg-blue-50 px-2 text-xs text-blue-800">"signed in with this one"</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        <section class=format!("{CARD} mt-4") aria-labelledby="grants-heading">
            <h2 id="grants-heading" class="text-lg font-medium">"What this token may do"</h2>
            <div class="mt-2 overflow-x-auto">
                <table class="min-w-full text-left text-sm" data-testid="my-grants">
                    <thead class="text-slate-500"><tr><th class="py-1 pr-4 font-medium">"Repository"</th><th class="py-1 font-medium">"Actions"</th></tr></thead>
                    <tbody>
                        {token.grants.into_iter().map(|grant| view! {
                            <tr class="border-t border-slate-100">
                                <td class="py-1 pr-4 font-mono">{grant.repository}</td>
                                <td class="py-1">{grant.actions.iter().map(|action| action.as_str()).collect::<Vec<_>>().join(", ")}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class=format!("{CARD} mt-4") aria-labelledby="images-heading">
            <h2 id="images-heading" class="text-lg font-medium">"Images you can see"</h2>
            {if token.repositories.is_empty() {
                view! { <p class="mt-2 text-sm text-slate-600">"This token may not list any repository (it needs metadata/read)."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-2 space-y-3" data-testid="my-repositories">
                        {token.repositories.into_iter().map(|repository| {
                            view! {
                                <li>
                                    <h3 class="font-mono text-sm font-medium">{repository.name.clone()}</h3>
                                    <TagPulls host=host.clone() repository=repository.name.clone() tags=repository.tags can_pull=repository.can_pull testid="my-pull-command" />
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
