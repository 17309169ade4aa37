//! One role assignment: who holds which role, and its condition in the
//! same editor as the wizard (save replaces it; remove makes the role
//! registry-wide).

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    access::{
        api::{get_access_setup, get_assignment, update_condition},
        condition_editor::{ConditionEditor, ConditionState},
        model::{condition_in_words, member_label, AccessSetup, Assignment, Editor},
    },
    components::layout::use_capabilities,
    components::ui::{use_csrf, ErrorMessage, Loading, CARD, CODE_BLOCK, LINK, PRIMARY, SECONDARY},
    model::Area,
};

#[component]
pub fn AssignmentPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let setup = Resource::new(|| (), |_| get_access_setup());
    let assignment = Resource::new(name, get_assignment);
    view! {
        <Title text="Role assignment" />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/access-control" attr:class=LINK>"Access control (IAM)"</A> " / Role assignment"
        </nav>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match (setup.await, assignment.await) {
                    (Ok(setup), Ok(assignment)) => view! { <AssignmentDetail setup assignment /> }.into_any(),
                    (Err(error), _) | (_, Err(error)) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn AssignmentDetail(setup: AccessSetup, assignment: Assignment) -> impl IntoView {
    let writer = use_capabilities().get_untracked().can_write(Area::RoleAssignments);
    let takes_condition = setup.role(&assignment.role).is_some_and(|role| setup.takes_condition(role));
    let words = match &assignment.condition {
        Some(condition) => condition_in_words(&condition.tree, &assignment.role_actions),
        None => "None: the whole registry".to_owned(),
    };
    let stored = StoredValue::new((assignment.clone(), setup.operators.clone()));
    view! {
        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{assignment.role.clone()}</h1>
        <dl class=format!("{CARD} mt-4 grid gap-x-6 gap-y-2 text-sm sm:grid-cols-[12rem_1fr]")>
            <dt class="font-medium text-slate-600">"Identity"</dt>
            <dd data-testid="assignment-assignee">{member_label(&assignment.assignee.name, assignment.assignee.kind)}</dd>
            <dt class="font-medium text-slate-600">"Condition"</dt>
            <dd data-testid="assignment-condition-words">{words}</dd>
            {assignment.condition.clone().map(|condition| view! {
                <dt class="font-medium text-slate-600">"Code"</dt>
                <dd><pre class=CODE_BLOCK data-testid="assignment-code">{condition.text}</pre></dd>
            })}
            <dt class="font-medium text-slate-600">"Created"</dt>
            <dd>{format!("{} by {}", assignment.created, assignment.created_by)}</dd>
        </dl>
        <p class="mt-4 text-sm text-slate-600" data-testid="read-only" hidden=writer>
            "You can read role assignments; changing them needs a role that writes them (Owner or Role Based Access Control Administrator)."
        </p>
        {if takes_condition {
            let (assignment, operators) = stored.get_value();
            view! { <div hidden=!writer><EditCondition assignment operators /></div> }.into_any()
        } else {
            view! { <p class="mt-4 text-sm text-slate-600">"This role takes no condition in the registry's current mode."</p> }.into_any()
        }}
    }
    .into_any()
}

/// The condition in the wizard's editor: save replaces it, remove makes
/// the role registry-wide.
#[component]
fn EditCondition(assignment: Assignment, operators: Vec<String>) -> impl IntoView {
    let csrf = use_csrf();
    let navigate = use_navigate();
    let editor = RwSignal::new(match &assignment.condition {
        Some(condition) => Editor::from_tree(&condition.tree),
        None => Editor::new(&assignment.role_actions),
    });
    let state = RwSignal::new(ConditionState::Pending);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = StoredValue::new(assignment.name.clone());
    let saved = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(name) = saved.get() {
            navigate(&format!("/access-control?updated={name}"), Default::default());
        }
    });
    let save = move |condition: Option<String>| {
        pending.set(true);
        error.set(None);
        let csrf = csrf();
        spawn_local(async move {
            let answer = update_condition(csrf, id.get_value(), condition).await;
            pending.set(false);
            match answer {
                Ok(assignment) => saved.set(Some(assignment.name)),
                Err(refused) => error.set(Some(refused.to_string())),
            }
        });
    };
    let save_condition = move |_| {
        if let ConditionState::Ready(report) = state.get_untracked() {
            save(Some(report.text));
        }
    };
    let has_condition = assignment.condition.is_some();
    view! {
        <section class=format!("{CARD} mt-6") aria-labelledby="edit-condition">
            <h2 id="edit-condition" class="text-lg font-semibold">"Edit condition"</h2>
            <div class="mt-3">
                <ConditionEditor role=assignment.role.clone() role_actions=assignment.role_actions.clone()
                    operators editor state />
            </div>
            {move || error.get().map(|message| view! { <ErrorMessage message testid="form-error" /> })}
            <div class="mt-5 flex flex-wrap gap-3">
                <button type="button" class=PRIMARY data-testid="save-condition"
                    disabled=move || pending.get() || !matches!(state.get(), ConditionState::Ready(_))
                    on:click=save_condition>"Save condition"</button>
                {has_condition.then(|| view! {
                    <button type="button" class=SECONDARY data-testid="remove-condition"
                        disabled=move || pending.get() on:click=move |_| save(None)>
                        "Remove condition (whole registry)"
                    </button>
                })}
                <A href="/access-control" attr:class=SECONDARY>"Cancel"</A>
            </div>
        </section>
    }
    .into_any()
}
