//! The user list: every user with its status, creation and last sign-in,
//! filtered in the page by name or display name.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    components::ui::{
        ErrorMessage, Loading, INPUT, LABEL, LINK, PRIMARY, TABLE, TABLE_WRAP, TBODY, TD, TH, THEAD,
    },
    identities::{
        api::list_users,
        model::User,
        ui::{use_can_write, StatusBadge, Time},
    },
};

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    let can_write = use_can_write();
    let filter = RwSignal::new(String::new());
    view! {
        <Title text="Users" />
        <div class="flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"Users"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "People who sign in to the portal and log in with docker or podman; what they may do comes from their role assignments."
                </p>
            </div>
            <Show when=move || can_write.get()>
                <A href="/users/new" attr:class=PRIMARY attr:data-testid="add-user">"+ New user"</A>
            </Show>
        </div>
        <label class="mt-6 block w-full sm:w-80">
            <span class=LABEL>"Filter by name"</span>
            <input type="search" class=INPUT data-testid="user-filter" autocomplete="off" spellcheck="false"
                placeholder="Name contains…" bind:value=filter />
        </label>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(users) => view! { <UserTable users filter /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn UserTable(users: Vec<User>, filter: RwSignal<String>) -> impl IntoView {
    let total = users.len();
    let users = StoredValue::new(users);
    let shown = move || {
        let needle = filter.get().trim().to_lowercase();
        users.with_value(|users| {
            users
                .iter()
                .filter(|user| {
                    needle.is_empty()
                        || user.name.to_lowercase().contains(&needle)
                        || user.display_name.to_lowercase().contains(&needle)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <p class="mt-4 text-sm text-slate-600" data-testid="users-total">
            {if total == 1 { "1 user".to_owned() } else { format!("{total} users") }}
        </p>
        <div class=format!("{TABLE_WRAP} mt-2")>
            <table class=TABLE data-testid="users-table">
                <caption class="sr-only">"Users, by name"</caption>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Display name"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=TH>"Created"</th>
                        <th scope="col" class=TH>"Last sign-in"</th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    <For each=shown key=|user| user.name.clone() let:user>
                        <UserRow user />
                    </For>
                </tbody>
            </table>
            <Show when=move || shown().is_empty()>
                <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="users-empty">"No user matches."</p>
            </Show>
        </div>
    }
    .into_any()
}

#[component]
fn UserRow(user: User) -> impl IntoView {
    let href = format!("/users/{}", user.name);
    let row_name = user.name.clone();
    view! {
        <tr data-testid="user-row" data-name=row_name class="hover:bg-slate-50">
            <td class=TD><A href=href attr:class=format!("{LINK} font-medium")>{user.name}</A></td>
            <td class=TD>{user.display_name}</td>
            <td class=TD><StatusBadge enabled=user.enabled /></td>
            <td class=TD><Time time=user.created /></td>
            <td class=TD>{match user.last_sign_in {
                Some(time) => view! { <Time time /> }.into_any(),
                None => view! { <span class="text-slate-400">"Never"</span> }.into_any(),
            }}</td>
        </tr>
    }
    .into_any()
}
