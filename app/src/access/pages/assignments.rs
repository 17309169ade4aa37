//! Access control (IAM): the registry's role assignments, paged and
//! searchable, filtered by role, identity and repository; each with its
//! identity and kind, its role, and its condition in words with the code
//! on demand. Edit a condition on the assignment's page; delete behind a
//! confirmation.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::{
    access::{
        api::{delete_assignment, get_access_setup, list_assignments},
        model::{condition_in_words, kind_label, member_label, AccessSetup, Assignment, AssignmentList},
    },
    components::layout::use_capabilities,
    components::{
        dialog::ConfirmDialog,
        ui::{
            use_csrf, ErrorMessage, Loading, CODE_BLOCK, INPUT, LABEL, LINK, PRIMARY, SECONDARY,
            SMALL_BUTTON, SMALL_DANGER, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD,
        },
    },
    model::Area,
};

/// The list's filters and page, all in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filters {
    search: String,
    role: String,
    assignee: String,
    repository: String,
    page: u32,
}

impl Filters {
    fn href(&self, page: u32) -> String {
        let encode = super::encode;
        let mut params = Vec::new();
        for (key, value) in [
            ("q", &self.search),
            ("role", &self.role),
            ("assignee", &self.assignee),
            ("repository", &self.repository),
        ] {
            if !value.is_empty() {
                params.push(format!("{key}={}", encode(value)));
            }
        }
        if page > 1 {
            params.push(format!("page={page}"));
        }
        if params.is_empty() {
            "/access-control".to_owned()
        } else {
            format!("/access-control?{}", params.join("&"))
        }
    }

    fn any(&self) -> bool {
        !(self.search.is_empty()
            && self.role.is_empty()
            && self.assignee.is_empty()
            && self.repository.is_empty())
    }
}

#[component]
pub fn AssignmentsPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        query.with(|query| {
            let text = |key: &str| query.get(key).unwrap_or_default().trim().to_owned();
            Filters {
                search: text("q"),
                role: text("role"),
                assignee: text("assignee"),
                repository: text("repository"),
                page: text("page").parse().unwrap_or(1).max(1),
            }
        })
    });
    let refresh = RwSignal::new(0_u32);
    let setup = Resource::new(move || refresh.get(), |_| get_access_setup());
    let list = Resource::new(
        move || (filters.get(), refresh.get()),
        |(f, _)| list_assignments(f.search, f.role, f.assignee, f.repository, f.page),
    );
    view! {
        <Title text="Access control (IAM)" />
        <div class="flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"Access control (IAM)"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "Role assignments: who holds which role, on which repositories."
                </p>
            </div>
            <div class="flex gap-2">
                <A href="/check-access" attr:class=SECONDARY>"Check access"</A>
            </div>
        </div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match (setup.await, list.await) {
                    (Err(error), _) | (_, Err(error)) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                    (Ok(setup), Ok(list)) => view! { <FilterForm setup=setup.clone() filters=filters.get_untracked() /> <AssignmentTable setup list filters=filters.get_untracked() refresh /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn FilterForm(setup: AccessSetup, filters: Filters) -> impl IntoView {
    let any = filters.any();
    view! {
        <Form method="GET" action="/access-control" attr:class="mt-6 grid gap-3 sm:grid-cols-2 lg:grid-cols-5 lg:items-end" attr:role="search">
            <label class="block lg:col-span-2">
                <span class=LABEL>"Search"</span>
                <input type="search" name="q" class=INPUT data-testid="assignment-search" placeholder="Identity, role or condition contains…"
                    autocomplete="off" spellcheck="false" value=filters.search.clone() />
            </label>
            <label class="block">
                <span class=LABEL>"Role"</span>
                <select name="role" class=INPUT data-testid="filter-role">
                    <option value="" selected=filters.role.is_empty()>"Any role"</option>
                    {setup.roles.into_iter().map(|role| {
                        let selected = role.name == filters.role;
                        let value = role.name.clone();
                        view! { <option value=value selected=selected>{role.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="block">
                <span class=LABEL>"Identity"</span>
                <input name="assignee" class=INPUT data-testid="filter-assignee" autocomplete="off" spellcheck="false"
                    placeholder="Name (with its groups)" value=filters.assignee.clone() />
            </label>
            <label class="block">
                <span class=LABEL>"Repository"</span>
                <input name="repository" class=INPUT data-testid="filter-repository" autocomplete="off" spellcheck="false"
                    placeholder="Gives access to…" value=filters.repository.clone() />
            </label>
            <div class="flex gap-2 lg:col-span-5">
                <button type="submit" class=SECONDARY data-testid="assignment-filter">"Apply filters"</button>
                {any.then(|| view! { <A href="/access-control" attr:class=format!("{LINK} px-2 py-2 text-sm")>"Clear filters"</A> })}
            </div>
        </Form>
    }
    .into_any()
}

#[component]
fn AssignmentTable(
    setup: AccessSetup,
    list: AssignmentList,
    filters: Filters,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let csrf = use_csrf();
    // Set once the browser runs the table (effects run there only).
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let deleting = RwSignal::new(None::<Assignment>);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let confirm = move |_| {
        let Some(assignment) = deleting.get_untracked() else { return };
        pending.set(true);
        error.set(None);
        let csrf = csrf();
        spawn_local(async move {
            let answer = delete_assignment(csrf, assignment.name).await;
            pending.set(false);
            match answer {
                Ok(()) => {
                    deleting.set(None);
                    refresh.update(|n| *n += 1);
                }
                Err(refused) => error.set(Some(refused.to_string())),
            }
        });
    };
    let total = match list.total {
        1 => "1 role assignment".to_owned(),
        n => format!("{n} role assignments"),
    };
    let mode_note = format!("Permissions mode: {}", setup.mode);
    let previous = (list.page > 1).then(|| filters.href(list.page - 1));
    let next = (list.page < list.pages).then(|| filters.href(list.page + 1));
    let empty = list.items.is_empty();
    let writer = use_capabilities().get_untracked().can_write(Area::RoleAssignments);
    view! {
        <div class="mt-4" hidden=!writer>
            <A href="/access-control/new" attr:class=PRIMARY attr:data-testid="add-role-assignment">"+ Add role assignment"</A>
        </div>
        <p class="mt-4 text-sm text-slate-600"><span data-testid="assignments-total">{total}</span>" · "{mode_note}</p>
        <div class=format!("{TABLE_WRAP} mt-3")>
            <table class=TABLE data-testid="assignments-table" data-live=move || live.get().to_string()>
                <caption class="sr-only">"Role assignments"</caption>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Identity"</th>
                        <th scope="col" class=TH>"Role"</th>
                        <th scope="col" class=TH>"Condition"</th>
                        <th scope="col" class=TH><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {list.items.into_iter().map(|assignment| view! { <AssignmentRow assignment writer deleting error /> }).collect_view()}
                </tbody>
            </table>
            {empty.then(|| view! { <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="assignments-empty">"No role assignment matches."</p> })}
        </div>
        <nav class="mt-4 flex items-center justify-between gap-4 text-sm" aria-label="Pages">
            {match previous {
                Some(href) => view! { <A href=href attr:class=SECONDARY attr:rel="prev">"← Previous"</A> }.into_any(),
                None => view! { <span class=format!("{SECONDARY} opacity-50") aria-disabled="true">"← Previous"</span> }.into_any(),
            }}
            <span class="text-slate-600">{format!("Page {} of {}", list.page, list.pages)}</span>
            {match next {
                Some(href) => view! { <A href=href attr:class=SECONDARY attr:rel="next">"Next →"</A> }.into_any(),
                None => view! { <span class=format!("{SECONDARY} opacity-50") aria-disabled="true">"Next →"</span> }.into_any(),
            }}
        </nav>
        <ConfirmDialog open=Signal::derive(move || deleting.with(Option::is_some))
            title="Delete role assignment?" confirm_label="Delete" pending error testid="delete-assignment-dialog"
            on_confirm=confirm on_cancel=move |()| deleting.set(None)>
            <p>{move || deleting.get().map(|a| format!(
                "{} loses {}{}. This cannot be undone.",
                member_label(&a.assignee.name, a.assignee.kind), a.role,
                if a.condition.is_some() { " where its condition holds" } else { " on the whole registry" }
            ))}</p>
        </ConfirmDialog>
    }
    .into_any()
}

#[component]
fn AssignmentRow(
    assignment: Assignment,
    /// The caller may change role assignments.
    writer: bool,
    deleting: RwSignal<Option<Assignment>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let stored = StoredValue::new(assignment.clone());
    let href = format!("/access-control/{}", assignment.name);
    let words = match &assignment.condition {
        Some(condition) => condition_in_words(&condition.tree, &assignment.role_actions),
        None => "None: the whole registry".to_owned(),
    };
    view! {
        <tr data-testid="assignment-row" data-name=assignment.name.clone() data-assignee=assignment.assignee.name.clone()
            data-role=assignment.role.clone()>
            <td class=TD>
                <span class="font-medium">{assignment.assignee.name.clone()}</span>
                <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700" data-testid="assignee-kind">{kind_label(assignment.assignee.kind)}</span>
            </td>
            <td class=TD_WRAP>
                {assignment.role.clone()}
                {(!assignment.honoured).then(|| view! { <span class="ml-2 rounded bg-amber-50 px-1.5 py-0.5 text-xs text-amber-900">"not honoured in this mode"</span> })}
            </td>
            <td class=format!("{TD_WRAP} max-w-xl")>
                <span data-testid="condition-words">{words}</span>
                {assignment.condition.clone().map(|condition| view! {
                    <details class="mt-1">
                        <summary class=format!("{LINK} cursor-pointer text-xs") data-testid="show-code">"Code"</summary>
                        <pre class=format!("{CODE_BLOCK} mt-1") data-testid="condition-code-text">{condition.text}</pre>
                    </details>
                })}
                {(!assignment.warnings.is_empty()).then(|| view! {
                    <ul class="mt-1 list-disc pl-5 text-xs text-amber-900" data-testid="assignment-warnings">
                        {assignment.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                    </ul>
                })}
            </td>
            <td class=TD>
                <div class="flex gap-2">
                    <A href=href attr:class=SMALL_BUTTON attr:data-testid="edit-assignment">{if writer { "Edit" } else { "View" }}</A>
                    <button type="button" class=SMALL_DANGER data-testid="delete-assignment" hidden=!writer
                        on:click=move |_| { error.set(None); deleting.set(Some(stored.get_value())); }>"Delete"</button>
                </div>
            </td>
        </tr>
    }
    .into_any()
}
