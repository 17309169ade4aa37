//! A signed-in user's own view: the roles that apply to them (their own,
//! their groups', and what is open to everyone), the repositories those
//! roles reach with which actions, the tags with the commands to pull
//! them, and how to log in. Everything here is what the server's access
//! decision gives the user now.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::get_my_access,
    components::{
        secret::LoginSection,
        ui::{ErrorMessage, Loading, TagPulls, CARD, LINK, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD},
    },
    model::{MyAccess, MyRepository, MyRole},
};

#[component]
pub fn MyAccessPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_my_access());
    view! {
        <Title text="My access" />
        <h1 class="text-2xl font-semibold tracking-tight">"My access"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(access) => view! { <AccessSummary access /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AccessSummary(access: MyAccess) -> impl IntoView {
    let host = access.login.host.clone();
    view! {
        <p class="mt-1 text-sm text-slate-600">
            "Signed in as " <span class="font-medium" data-testid="my-access-name">{access.name.clone()}</span>
            ". " <A href="/account/password" attr:class=LINK>"Change your password"</A>
        </p>
        <LoginSection login=access.login.clone() username=access.name.clone() variable="PASSWORD"
            intro="With your user name and password, from docker or podman." host_testid="my-access-login-server" />
        <Roles roles=access.roles />
        <Repositories repositories=access.repositories truncated=access.truncated host />
    }
}

#[component]
fn Roles(roles: Vec<MyRole>) -> impl IntoView {
    view! {
        <section class="mt-6" aria-labelledby="roles-heading">
            <h2 id="roles-heading" class="text-lg font-medium">"Your roles"</h2>
            {if roles.is_empty() {
                view! {
                    <p class="mt-2 text-sm text-slate-600" data-testid="my-roles-empty">
                        "No role is assigned to you yet: ask an administrator of the registry for one."
                    </p>
                }.into_any()
            } else {
                view! {
                    <div class=format!("{TABLE_WRAP} mt-2")>
                        <table class=TABLE data-testid="my-roles">
                            <thead class=THEAD>
                                <tr><th class=TH>"Role"</th><th class=TH>"Through"</th><th class=TH>"On"</th></tr>
                            </thead>
                            <tbody class=TBODY>
                                {roles.into_iter().map(|role| view! {
                                    <tr data-testid="my-role">
                                        <td class=TD>
                                            {role.role.clone()}
                                            {(!role.honoured).then(|| view! {
                                                <span class="ml-2 rounded bg-amber-50 px-2 text-xs text-amber-800">"not honoured in this mode"</span>
                                            })}
                                        </td>
                                        <td class=TD>{role.via.clone().unwrap_or_else(|| "Assigned to you".to_owned())}</td>
                                        <td class=TD_WRAP>
                                            {match role.condition.clone() {
                                                Some(condition) => view! { <code class="wrap-anywhere text-xs">{condition}</code> }.into_any(),
                                                None => view! { <span>"Every repository"</span> }.into_any(),
                                            }}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Repositories(repositories: Vec<MyRepository>, truncated: bool, host: String) -> impl IntoView {
    view! {
        <section class="mt-6" aria-labelledby="repositories-heading">
            <h2 id="repositories-heading" class="text-lg font-medium">"Repositories you can reach"</h2>
            {if repositories.is_empty() {
                view! {
                    <p class="mt-2 text-sm text-slate-600" data-testid="my-repositories-empty">
                        "Your roles let you list no repository (that takes metadata/read on it)."
                    </p>
                }.into_any()
            } else {
                view! {
                    <ul class="mt-2 space-y-3" data-testid="my-access-repositories">
                        {repositories.into_iter().map(|repository| {
                            let can_pull = repository.can(portcullis_proto::Action::ContentRead);
                            let actions = repository.actions.iter().map(|action| action.as_str()).collect::<Vec<_>>().join(", ");
                            view! {
                                <li class=CARD data-testid="my-access-repository" data-name=repository.name.clone()>
                                    <h3 class="font-mono text-sm font-medium">{repository.name.clone()}</h3>
                                    <p class="mt-1 text-xs text-slate-600" data-testid="my-access-actions">{actions}</p>
                                    <TagPulls host=host.clone() repository=repository.name.clone() tags=repository.tags can_pull testid="my-access-pull-command" />
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {truncated.then(|| view! {
                        <p class="mt-2 text-sm text-slate-600">"Only the first 1,000 repositories are listed."</p>
                    })}
                }.into_any()
            }}
        </section>
    }
}
