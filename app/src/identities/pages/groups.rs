//! The group list, and a new group (name and description) for whoever may
//! change identities; a created group's page opens.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{
    components::ui::{
        use_csrf, ErrorMessage, Loading, CARD, HINT, INPUT, LABEL, LINK, PRIMARY, TABLE, TABLE_WRAP, TBODY,
        TD, TD_WRAP, TH, THEAD,
    },
    identities::{
        api::{list_groups, CreateGroup},
        model::Group,
        ui::{use_can_write, Time},
    },
};

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| list_groups());
    let can_write = use_can_write();
    view! {
        <Title text="Groups" />
        <h1 class="text-2xl font-semibold tracking-tight">"Groups"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Users and service principals that share role assignments: a role given to a group counts for each member."
        </p>
        <Show when=move || can_write.get()>
            <NewGroupForm />
        </Show>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match groups.await {
                    Ok(groups) => view! { <GroupTable groups /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn NewGroupForm() -> impl IntoView {
    let csrf = use_csrf();
    let create = ServerAction::<CreateGroup>::new();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(group)) = create.value().get() {
            navigate(&format!("/groups/{}", group.name), Default::default());
        }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        create.dispatch(CreateGroup {
            csrf_token: csrf(),
            name: name.get_untracked(),
            description: description.get_untracked(),
        });
    };
    let error = move || create.value().get().and_then(Result::err).map(|error| error.to_string());
    view! {
        <form class=format!("{CARD} mt-6 space-y-4") on:submit=submit aria-label="New group" data-testid="new-group-form">
            <h2 class="text-lg font-medium">"New group"</h2>
            <div class="grid gap-4 sm:grid-cols-2">
                <label class="block">
                    <span class=LABEL>"Group name"</span>
                    <input class=INPUT required autocomplete="off" spellcheck="false" data-testid="group-name-input" bind:value=name />
                    <span class=HINT>"1 to 64 letters, digits and . _ - @; not the name of a user or service principal."</span>
                </label>
                <label class="block">
                    <span class=LABEL>"Description (optional)"</span>
                    <input class=INPUT autocomplete="off" data-testid="group-description-input" bind:value=description />
                </label>
            </div>
            {move || error().map(|message| view! { <ErrorMessage message testid="form-error" /> })}
            <button type="submit" class=PRIMARY data-testid="create-group" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create group" }}
            </button>
        </form>
    }
    .into_any()
}

#[component]
fn GroupTable(groups: Vec<Group>) -> impl IntoView {
    let empty = groups.is_empty();
    view! {
        <div class=format!("{TABLE_WRAP} mt-6")>
            <table class=TABLE data-testid="groups-table">
                <caption class="sr-only">"Groups, by name"</caption>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Description"</th>
                        <th scope="col" class=TH>"Members"</th>
                        <th scope="col" class=TH>"Created"</th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {groups.into_iter().map(|group| {
                        let href = format!("/groups/{}", group.name);
                        let row_name = group.name.clone();
                        view! {
                            <tr data-testid="group-row" data-name=row_name class="hover:bg-slate-50">
                                <td class=TD><A href=href attr:class=format!("{LINK} font-medium")>{group.name}</A></td>
                                <td class=TD_WRAP>{group.description}</td>
                                <td class=TD data-testid="member-count">{group.members.len()}</td>
                                <td class=TD><Time time=group.created /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {empty.then(|| view! { <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="groups-empty">"No groups yet."</p> })}
        </div>
    }
    .into_any()
}
