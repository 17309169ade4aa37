//! Check access: for an identity and a repository, each action allowed or
//! denied, with the assignment (and group) that decides it, as the
//! registry's one access decision answers it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::{
    access::{
        api::{check_access, list_members},
        model::{kind_label, member_label, AccessCheck},
    },
    components::ui::{
        ErrorMessage, Loading, INPUT, LABEL, LINK, SECONDARY, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH,
        THEAD,
    },
};

#[component]
pub fn CheckAccessPage() -> impl IntoView {
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        query.with(|q| (q.get("assignee").unwrap_or_default(), q.get("repository").unwrap_or_default()))
    });
    let result = Resource::new(
        move || asked.get(),
        |(assignee, repository)| async move {
            if assignee.trim().is_empty() || repository.trim().is_empty() {
                return None;
            }
            Some(check_access(assignee, repository).await)
        },
    );
    // Names to pick from, when the caller may read identities; the field
    // takes any name either way.
    let members = LocalResource::new(|| list_members(String::new()));
    view! {
        <Title text="Check access" />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/access-control" attr:class=LINK>"Access control (IAM)"</A> " / Check access"
        </nav>
        <h1 class="mt-2 text-2xl font-semibold tracking-tight">"Check access"</h1>
        <p class="mt-1 text-sm text-slate-600">"What an identity may do on a repository now, and which role assignment decides it."</p>
        <Form method="GET" action="/check-access" attr:class="mt-6 flex flex-wrap items-end gap-3" attr:role="search">
            <label class="block w-full sm:w-72">
                <span class=LABEL>"Identity"</span>
                <input name="assignee" class=INPUT required autocomplete="off" spellcheck="false" data-testid="check-assignee"
                    list="check-identities" placeholder="User, service principal or Everyone (anonymous)"
                    value=move || asked.with(|a| a.0.clone()) />
            </label>
            <datalist id="check-identities">
                {move || members.get().and_then(Result::ok).unwrap_or_default().into_iter()
                    .filter(|member| member.kind != crate::access::model::IdentityKind::Group)
                    .map(|member| view! { <option value=member.name.clone()>{kind_label(member.kind)}</option> })
                    .collect_view()}
            </datalist>
            <label class="block w-full sm:w-72">
                <span class=LABEL>"Repository"</span>
                <input name="repository" class=INPUT required autocomplete="off" spellcheck="false" data-testid="check-repository"
                    placeholder="backend/nginx" value=move || asked.with(|a| a.1.clone()) />
            </label>
            <button type="submit" class=SECONDARY data-testid="check-submit">"Check"</button>
        </Form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match result.await {
                    None => ().into_any(),
                    Some(Ok(check)) => view! { <CheckResult check /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn CheckResult(check: AccessCheck) -> impl IntoView {
    let summary = format!(
        "{} on {} in {} mode{}",
        member_label(&check.assignee.name, check.assignee.kind),
        check.repository,
        check.mode,
        if check.lists_every_repository { "; lists every repository" } else { "" }
    );
    view! {
        <p class="mt-6 text-sm text-slate-700" data-testid="check-summary">{summary}</p>
        <div class=format!("{TABLE_WRAP} mt-3")>
            <table class=TABLE data-testid="check-table">
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Action"</th>
                        <th scope="col" class=TH>"Access"</th>
                        <th scope="col" class=TH>"Decided by"</th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {check.actions.into_iter().map(|action| {
                        let granted = action.granted;
                        let by = if granted { action.granted_by.clone() } else { action.not_given_by.clone() };
                        view! {
                            <tr data-testid="check-row" data-action=action.action.as_str() data-granted=if granted { "true" } else { "false" }>
                                <td class=format!("{TD} font-mono")>{action.action.as_str()}</td>
                                <td class=TD>{if granted {
                                    view! { <span class="rounded-full bg-green-50 px-2 py-0.5 text-xs font-medium text-green-800 ring-1 ring-green-200">"Allowed"</span> }.into_any()
                                } else {
                                    view! { <span class="rounded-full bg-red-50 px-2 py-0.5 text-xs font-medium text-red-800 ring-1 ring-red-200">"Denied"</span> }.into_any()
                                }}</td>
                                <td class=TD_WRAP>
                                    {if by.is_empty() {
                                        view! { <span class="text-slate-500">"No role assignment gives it."</span> }.into_any()
                                    } else {
                                        view! { <ul class="space-y-1">{by.into_iter().map(|reference| {
                                            let through = match reference.assignee.kind {
                                                crate::access::model::IdentityKind::Group => format!(" (through group {})", reference.assignee.name),
                                                kind => format!(" ({} {})", kind_label(kind).to_lowercase(), reference.assignee.name),
                                            };
                                            view! {
                                                <li>
                                                    <A href=format!("/access-control/{}", reference.assignment) attr:class=LINK>{reference.role.clone()}</A>
                                                    {through}
                                                    {reference.reason.map(|reason| view! { <span class="text-slate-600">{format!(": {reason}")}</span> })}
                                                </li>
                                            }
                                        }).collect_view()}</ul> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
