//! A group's page: its members (add a user or service principal picked
//! from a searchable list, remove one), its role assignments, and delete
//! behind a confirmation.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    components::{
        dialog::ConfirmDialog,
        ui::{
            use_csrf, ErrorMessage, Loading, CARD, DANGER_OUTLINE, HINT, INPUT, LABEL, LINK, SMALL_BUTTON,
            SMALL_DANGER, TABLE, TABLE_WRAP, TBODY, TD, TH, THEAD,
        },
    },
    identities::{
        api::{get_group, ChangeMember, DeleteGroup},
        model::{GroupDetail, Identity},
        ui::{use_can_write, AssignmentsSection, IdentityLink, Time},
    },
};

/// How many matches the member picker lists at once.
const PICKER_ROWS: usize = 8;

#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()));
    let change = ServerAction::<ChangeMember>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let detail = Resource::new(move || (name.get(), change.version().get()), |(name, _)| get_group(name));
    let can_write = use_can_write();
    let csrf = use_csrf();
    let delete_open = RwSignal::new(false);

    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/groups", Default::default());
        }
    });

    view! {
        <Title text=move || format!("Group {}", name.get()) />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/groups" attr:class=LINK>"Groups"</A> " / " {move || name.get()}
        </nav>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <GroupDetails detail can_write change delete_open /> }.into_any(),
                    Err(error) => view! {
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{name.get_untracked()}</h1>
                        <ErrorMessage message=error.to_string() />
                    }.into_any(),
                }
            })}
        </Transition>

        <ConfirmDialog
            open=delete_open
            title=Signal::derive(move || format!("Delete group {}?", name.get()))
            confirm_label="Delete group"
            pending=delete.pending()
            error=Signal::derive(move || delete.value().get().and_then(Result::err).map(|e| e.to_string()))
            on_confirm=Callback::new(move |_: String| {
                delete.dispatch(DeleteGroup { csrf_token: csrf(), name: name.get_untracked() });
            })
            on_cancel=Callback::new(move |()| {
                delete_open.set(false);
                delete.value().set(None);
            })
            testid="delete-group-dialog"
            confirm_testid="confirm">
            <p>
                "The members of " <strong>{move || name.get()}</strong>
                " lose what its role assignments gave them from the next request on; the members themselves stay."
            </p>
        </ConfirmDialog>
    }
    .into_any()
}

#[component]
fn GroupDetails(
    detail: GroupDetail,
    can_write: Signal<bool>,
    change: ServerAction<ChangeMember>,
    delete_open: RwSignal<bool>,
) -> impl IntoView {
    let csrf = use_csrf();
    let group = detail.group;
    let name = StoredValue::new(group.name.clone());
    let error = move || change.value().get().and_then(Result::err).map(|error| error.to_string());
    let empty = group.members.is_empty();
    view! {
        <div class="mt-2 flex flex-wrap items-center justify-between gap-4">
            <h1 class="text-2xl font-semibold tracking-tight" data-testid="group-title">{group.name.clone()}</h1>
            <Show when=move || can_write.get()>
                <button type="button" class=DANGER_OUTLINE data-testid="delete-group" on:click=move |_| delete_open.set(true)>
                    "Delete"
                </button>
            </Show>
        </div>
        <section class=format!("{CARD} mt-4") aria-label="Details">
            <dl class="grid gap-4 text-sm sm:grid-cols-2">
                <div><dt class="text-slate-500">"Description"</dt>
                    <dd>{if group.description.is_empty() { "—".to_owned() } else { group.description.clone() }}</dd></div>
                <div><dt class="text-slate-500">"Created"</dt><dd><Time time=group.created.clone() /></dd></div>
            </dl>
        </section>
        <section class="mt-8" aria-labelledby="members-heading">
            <h2 id="members-heading" class="text-lg font-medium">"Members"</h2>
            {move || error().map(|message| view! { <ErrorMessage message testid="member-error" /> })}
            <div class=format!("{TABLE_WRAP} mt-3")>
                <table class=TABLE data-testid="members-table">
                    <thead class=THEAD>
                        <tr>
                            <th scope="col" class=TH>"Member"</th>
                            <th scope="col" class=TH aria-label="Actions"></th>
                        </tr>
                    </thead>
                    <tbody class=TBODY>
                        {group.members.into_iter().map(|member| {
                            let member_name = member.name.clone();
                            let remove_name = member.name.clone();
                            view! {
                                <tr data-testid="member-row" data-name=member_name>
                                    <td class=TD><IdentityLink identity=member /></td>
                                    <td class=format!("{TD} text-right")>
                                        <Show when=move || can_write.get()>
                                            <button type="button" class=SMALL_DANGER data-testid="remove-member"
                                                aria-label=format!("Remove {remove_name}")
                                                disabled=move || change.pending().get()
                                                on:click={
                                                    let member = remove_name.clone();
                                                    move |_| { change.dispatch(ChangeMember {
                                                        csrf_token: csrf(), group: name.get_value(), member: member.clone(), add: false,
                                                    }); }
                                                }>"Remove"</button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                {empty.then(|| view! { <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="members-empty">"No members yet."</p> })}
            </div>
            <Show when=move || can_write.get()>
                <MemberPicker group=name.get_value() candidates=detail.candidates.clone() change />
            </Show>
        </section>
        <AssignmentsSection assignments=detail.assignments of=group.name />
    }
    .into_any()
}

/// Add a member: type to narrow the users and service principals that are
/// not members yet, then choose one (Tab to it, Enter).
#[component]
fn MemberPicker(
    group: String,
    candidates: Vec<Identity>,
    change: ServerAction<ChangeMember>,
) -> impl IntoView {
    let csrf = use_csrf();
    let search = RwSignal::new(String::new());
    let group = StoredValue::new(group);
    let candidates = StoredValue::new(candidates);
    let matches = move || {
        let needle = search.get().trim().to_lowercase();
        candidates.with_value(|candidates| {
            candidates
                .iter()
                .filter(|candidate| candidate.name.to_lowercase().contains(&needle))
                .take(PICKER_ROWS)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let total = candidates.with_value(Vec::len);
    view! {
        <div class=format!("{CARD} mt-4") data-testid="member-picker">
            <label class="block sm:w-96">
                <span class=LABEL>"Add a member"</span>
                <input type="search" class=INPUT data-testid="member-search" autocomplete="off" spellcheck="false"
                    placeholder="Search users and service principals…" bind:value=search
                    aria-controls="member-candidates" />
                <span class=HINT>{format!("{total} users and service principals are not members yet.")}</span>
            </label>
            <ul id="member-candidates" class="mt-3 divide-y divide-slate-100" aria-label="Matching identities" aria-live="polite">
                <For each=matches key=|candidate| (candidate.kind, candidate.name.clone()) let:candidate>
                    {
                        let label = format!("Add {}", candidate.name);
                        let member = candidate.name.clone();
                        let row_name = candidate.name.clone();
                        view! {
                            <li class="flex items-center justify-between gap-3 py-2 text-sm" data-testid="candidate" data-name=row_name>
                                <span>{candidate.name.clone()} <span class="ml-1 text-xs text-slate-500">"(" {candidate.kind.label()} ")"</span></span>
                                <button type="button" class=SMALL_BUTTON aria-label=label data-testid="add-member"
                                    disabled=move || change.pending().get()
                                    on:click=move |_| { change.dispatch(ChangeMember {
                                        csrf_token: csrf(), group: group.get_value(), member: member.clone(), add: true,
                                    }); }>"Add"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || matches().is_empty()>
                <p class="mt-2 text-sm text-slate-500" data-testid="no-candidates">"No user or service principal matches."</p>
            </Show>
        </div>
    }
    .into_any()
}
