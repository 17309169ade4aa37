//! Pieces the user, group and service principal pages share: whether the
//! signed-in user may change identities, identity links, the role
//! assignments section, the "shown once" warning and copyable snippets.
//! Times and status badges are the tokens area's ([`crate::tokens::ui`]).

use leptos::{html, prelude::*};
use leptos_router::components::A;

use crate::{
    components::{
        copy::CopyButton,
        layout::use_capabilities,
        ui::{CODE_BLOCK, LABEL, LINK, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD},
    },
    identities::model::{Assignment, Assignments, Identity},
    model::Area,
};

pub use crate::tokens::ui::{StatusBadge, Time};

/// Whether the signed-in user may change identities: pages hide every
/// button that changes something otherwise (the server functions refuse
/// anyway).
pub fn use_can_write() -> Signal<bool> {
    let capabilities = use_capabilities();
    Signal::derive(move || capabilities.with(|can| can.can_write(Area::Identities)))
}

/// An identity's name, linked to its page, with its kind.
#[component]
pub fn IdentityLink(identity: Identity) -> impl IntoView {
    let label = identity.kind.label();
    match identity.kind.href(&identity.name) {
        Some(href) => view! {
            <A href=href attr:class=LINK>{identity.name}</A>
            <span class="ml-1 text-xs text-slate-500">"(" {label} ")"</span>
        }
        .into_any(),
        None => view! { <span>{label}</span> }.into_any(),
    }
}

/// The role assignments that apply to an identity (its own and its
/// groups'), or nothing when the signed-in user may not read them.
#[component]
pub fn AssignmentsSection(assignments: Assignments, of: String) -> impl IntoView {
    let Assignments::Shown(assignments) = assignments else {
        return ().into_any();
    };
    let empty = assignments.is_empty();
    view! {
        <section class="mt-8" aria-labelledby="assignments-heading" data-testid="assignments">
            <h2 id="assignments-heading" class="text-lg font-medium">"Role assignments"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "The roles " {of} " holds, directly or through a group. Change them in Access control (IAM)."
            </p>
            {if empty {
                view! { <p class="mt-3 text-sm text-slate-500" data-testid="assignments-empty">"No role assignments."</p> }.into_any()
            } else {
                view! {
                    <div class=format!("{TABLE_WRAP} mt-3")>
                        <table class=TABLE>
                            <thead class=THEAD>
                                <tr>
                                    <th scope="col" class=TH>"Role"</th>
                                    <th scope="col" class=TH>"Assigned to"</th>
                                    <th scope="col" class=TH>"Condition"</th>
                                </tr>
                            </thead>
                            <tbody class=TBODY>
                                {assignments.into_iter().map(|assignment| view! { <AssignmentRow assignment /> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn AssignmentRow(assignment: Assignment) -> impl IntoView {
    let role = assignment.role.clone();
    view! {
        <tr data-testid="assignment-row" data-role=role>
            <td class=TD>
                {assignment.role}
                {(!assignment.honoured).then(|| view! {
                    <span class="ml-2 rounded bg-amber-50 px-1.5 text-xs text-amber-800 ring-1 ring-amber-200"
                        title="The registry's permissions mode ignores this assignment now">"Not in effect"</span>
                })}
            </td>
            <td class=TD><IdentityLink identity=assignment.assignee /></td>
            <td class=TD_WRAP>{match assignment.condition {
                Some(condition) => view! { <code class="break-all font-mono text-xs">{condition}</code> }.into_any(),
                None => view! { <span class="text-slate-600">"Every repository"</span> }.into_any(),
            }}</td>
        </tr>
    }
    .into_any()
}

/// "Copy it now": focused when shown, so a screen reader reads it first.
#[component]
pub fn ShownOnceWarning(what: &'static str) -> impl IntoView {
    let warning = NodeRef::<html::P>::new();
    Effect::new(move |_| {
        if let Some(warning) = warning.get() {
            let _ = warning.focus();
        }
    });
    view! {
        <p node_ref=warning tabindex="-1" role="alert" data-testid="show-once-warning"
            class="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 focus:outline-none">
            <strong>{format!("Copy this {what} now.")}</strong>
            " It is shown only this once and cannot be retrieved after you close this dialog."
        </p>
    }
}

/// A secret value with its copy button.
#[component]
pub fn SecretValue(label: String, value: String, what: &'static str, testid: &'static str) -> impl IntoView {
    view! {
        <div>
            <div class=LABEL>{label}</div>
            <div class="mt-1 flex items-center gap-2">
                <code class="min-w-0 flex-1 break-all rounded bg-slate-100 px-3 py-2 font-mono text-sm" data-testid=testid>
                    {value.clone()}
                </code>
                <CopyButton text=value what testid="copy-secret" />
            </div>
        </div>
    }
}

/// A shell snippet with its copy button.
#[component]
pub fn Snippet(
    #[prop(into)] label: String,
    snippet: String,
    what: &'static str,
    #[prop(into)] testid: String,
    copy_testid: &'static str,
) -> impl IntoView {
    view! {
        <div>
            <div class="flex items-center justify-between gap-2">
                <span class=LABEL>{label}</span>
                <CopyButton text=snippet.clone() what testid=copy_testid />
            </div>
            <pre class=format!("{CODE_BLOCK} mt-1") data-testid=testid>{snippet}</pre>
        </div>
    }
}

/// How a password is given: typed by the administrator, or generated by
/// the server and shown once. Keyboard: the radios, then the field.
#[component]
pub fn PasswordChoiceFields(generate: RwSignal<bool>, password: RwSignal<String>) -> impl IntoView {
    use crate::components::ui::{HINT, INPUT};
    view! {
        <fieldset>
            <legend class=LABEL>"Password"</legend>
            <div class="mt-2 flex flex-wrap gap-x-6 gap-y-2 text-sm">
                <label class="inline-flex items-center gap-2">
                    <input type="radio" name="password-choice" class="h-4 w-4 accent-blue-700" data-testid="password-set"
                        checked prop:checked=move || !generate.get() on:change=move |_| generate.set(false) />
                    "Set a password"
                </label>
                <label class="inline-flex items-center gap-2">
                    <input type="radio" name="password-choice" class="h-4 w-4 accent-blue-700" data-testid="password-generate"
                        prop:checked=move || generate.get() on:change=move |_| generate.set(true) />
                    "Generate one (shown once)"
                </label>
            </div>
            <Show when=move || !generate.get()>
                <label class="mt-3 block">
                    <span class=LABEL>"New password"</span>
                    <input type="password" class=INPUT autocomplete="new-password" data-testid="password-input"
                        bind:value=password />
                    <span class=HINT>"At least 12 characters, not the user name. Give it to the user by a safe channel."</span>
                </label>
            </Show>
        </fieldset>
    }
}
