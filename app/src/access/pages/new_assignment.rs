//! Add role assignment, the source's wizard in four steps: Role, Members,
//! Conditions (for an ABAC-enabled role in rbac-abac mode), Review +
//! assign. Every step is a tab of one form, usable with the keyboard
//! alone; nothing is saved before Assign. Assigning to Everyone
//! (anonymous) asks first, naming what becomes public.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{
    access::{
        api::{create_assignment, get_access_setup, list_members, preview_assignment},
        condition_editor::{ConditionEditor, ConditionState},
        model::{
            action_list, condition_in_words, kind_label, member_label, AccessSetup, Action,
            AssignmentPreview, Editor, IdentityKind, Member, RoleDefinition,
        },
    },
    components::layout::use_capabilities,
    components::{
        dialog::ConfirmDialog,
        ui::{
            use_csrf, ErrorMessage, Loading, CARD, CODE_BLOCK, HINT, INPUT, LABEL, LINK, PRIMARY, SECONDARY,
        },
    },
    model::Area,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Role,
    Members,
    Conditions,
    Review,
}

impl Step {
    const ALL: [Step; 4] = [Step::Role, Step::Members, Step::Conditions, Step::Review];

    fn title(self) -> &'static str {
        match self {
            Step::Role => "Role",
            Step::Members => "Members",
            Step::Conditions => "Conditions",
            Step::Review => "Review + assign",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Step::Role => "role",
            Step::Members => "members",
            Step::Conditions => "conditions",
            Step::Review => "review",
        }
    }
}

#[component]
pub fn NewAssignmentPage() -> impl IntoView {
    let setup = Resource::new(|| (), |_| get_access_setup());
    let writer = use_capabilities().get_untracked().can_write(Area::RoleAssignments);
    view! {
        <Title text="Add role assignment" />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/access-control" attr:class=LINK>"Access control (IAM)"</A> " / Add role assignment"
        </nav>
        <h1 class="mt-2 text-2xl font-semibold tracking-tight">"Add role assignment"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match setup.await {
                    Ok(setup) => view! {
                        <p class="mt-4 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="read-only" hidden=writer>
                            "You can read role assignments but not add them: that needs Owner or Role Based Access Control Administrator."
                        </p>
                        <Wizard setup />
                    }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

/// What the wizard holds between steps.
#[derive(Clone, Copy)]
struct Choices {
    role: RwSignal<Option<RoleDefinition>>,
    member: RwSignal<Option<Member>>,
    /// A condition is being built (step 3).
    with_condition: RwSignal<bool>,
    editor: RwSignal<Editor>,
    condition: RwSignal<ConditionState>,
    description: RwSignal<String>,
}

impl Choices {
    fn role_actions(&self) -> Vec<Action> {
        self.role.with(|role| role.as_ref().map(|role| role.rbac_abac_actions.clone()).unwrap_or_default())
    }

    /// The condition text to save: `Ok(None)` without one, `Err` while it
    /// is not ready.
    fn condition_text(&self) -> Result<Option<String>, String> {
        if !self.with_condition.get() {
            return Ok(None);
        }
        match self.condition.get() {
            ConditionState::Ready(report) => Ok(Some(report.text)),
            ConditionState::Pending => Err("The server is still reading the condition…".to_owned()),
            ConditionState::Invalid(message) => Err(message),
        }
    }
}

#[component]
fn Wizard(setup: AccessSetup) -> impl IntoView {
    let setup = StoredValue::new(setup);
    let step = RwSignal::new(Step::Role);
    // Set once the browser runs the wizard (effects run there only).
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let choices = Choices {
        role: RwSignal::new(None),
        member: RwSignal::new(None),
        with_condition: RwSignal::new(false),
        editor: RwSignal::new(Editor::new(&[])),
        condition: RwSignal::new(ConditionState::Pending),
        description: RwSignal::new(String::new()),
    };
    let takes_condition = move || {
        choices
            .role
            .with(|role| role.as_ref().is_some_and(|role| setup.with_value(|s| s.takes_condition(role))))
    };
    // Why the current step cannot be left forward, if it cannot.
    let blocker = move || match step.get() {
        Step::Role if choices.role.with(Option::is_none) => Some("Select a role to continue.".to_owned()),
        Step::Members if choices.member.with(Option::is_none) => {
            Some("Select a member to continue.".to_owned())
        }
        Step::Conditions => choices.condition_text().err(),
        _ => None,
    };
    let go = move |to: Step| {
        step.set(to);
        // Focus the new step's heading, so keyboard and screen reader
        // users start at its top.
        let id = format!("step-{}-heading", to.id());
        set_timeout(
            move || {
                use leptos::wasm_bindgen::JsCast;
                if let Some(element) = document().get_element_by_id(&id) {
                    if let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>() {
                        let _ = element.focus();
                    }
                }
            },
            std::time::Duration::from_millis(30),
        );
    };
    let next = move |_| {
        if blocker().is_some() {
            return;
        }
        let to = match step.get_untracked() {
            Step::Role => Step::Members,
            Step::Members => Step::Conditions,
            Step::Conditions | Step::Review => Step::Review,
        };
        go(to);
    };
    let previous = move |_| {
        let to = match step.get_untracked() {
            Step::Role | Step::Members => Step::Role,
            Step::Conditions => Step::Members,
            Step::Review => Step::Conditions,
        };
        go(to);
    };
    // A new role starts a new condition on its actions.
    Effect::new(move |_| {
        let actions = choices.role_actions();
        choices.editor.set(Editor::new(&actions));
        choices.with_condition.set(false);
    });
    let reachable = move |target: Step| {
        let order = |s: Step| Step::ALL.iter().position(|x| *x == s).unwrap_or(0);
        order(target) <= order(step.get())
            || (choices.role.with(Option::is_some)
                && (order(target) <= 1 || choices.member.with(Option::is_some))
                && (target != Step::Review || choices.condition_text().is_ok()))
    };

    view! {
        <div class=format!("{CARD} mt-6 max-w-5xl") data-testid="assignment-wizard" data-live=move || live.get().to_string()>
            <nav aria-label="Steps">
                <ol class="flex flex-wrap gap-2 border-b border-slate-200 pb-3 text-sm">
                    {Step::ALL.into_iter().enumerate().map(|(index, target)| view! {
                        <li>
                            <button type="button" data-testid=format!("tab-{}", target.id())
                                class="rounded px-3 py-1.5 font-medium text-slate-700 hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-blue-600 aria-[current=step]:bg-blue-50 aria-[current=step]:text-blue-800 disabled:opacity-50"
                                aria-current=move || (step.get() == target).then_some("step")
                                disabled=move || !reachable(target)
                                on:click=move |_| go(target)>
                                {format!("{}. {}", index + 1, target.title())}
                            </button>
                        </li>
                    }).collect_view()}
                </ol>
            </nav>
            <div class="mt-5">
                {move || match step.get() {
                    Step::Role => view! { <RoleStep setup=setup.get_value() choices /> }.into_any(),
                    Step::Members => view! { <MembersStep choices /> }.into_any(),
                    Step::Conditions => view! { <ConditionsStep setup=setup.get_value() choices takes_condition=takes_condition() /> }.into_any(),
                    Step::Review => view! { <ReviewStep choices previous=Callback::new(move |()| go(Step::Conditions)) /> }.into_any(),
                }}
            </div>
            <Show when=move || step.get() != Step::Review>
                {move || blocker().map(|message| view! { <p class="mt-4 text-sm text-slate-600" data-testid="step-blocker">{message}</p> })}
                <div class="mt-6 flex flex-wrap gap-3">
                    <Show when=move || step.get() != Step::Role>
                        <button type="button" class=SECONDARY data-testid="wizard-previous" on:click=previous>"Previous"</button>
                    </Show>
                    <button type="button" class=PRIMARY data-testid="wizard-next" disabled=move || blocker().is_some() on:click=next>
                        {move || if step.get() == Step::Conditions { "Review + assign" } else { "Next" }}
                    </button>
                    <A href="/access-control" attr:class=SECONDARY>"Cancel"</A>
                </div>
            </Show>
        </div>
    }
    .into_any()
}

fn step_heading(step: Step, text: &'static str) -> impl IntoView {
    view! {
        <h2 id=format!("step-{}-heading", step.id()) tabindex="-1" class="text-lg font-semibold focus:outline-none">{text}</h2>
    }
}

#[component]
fn RoleStep(setup: AccessSetup, choices: Choices) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let roles = StoredValue::new(setup.roles.clone());
    let mode = setup.mode;
    let visible = move || {
        let search = search.get().to_lowercase();
        roles.with_value(|roles| {
            roles
                .iter()
                .filter(|role| {
                    search.is_empty()
                        || role.name.to_lowercase().contains(&search)
                        || role.description.to_lowercase().contains(&search)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        {step_heading(Step::Role, "Role")}
        <p class=HINT>
            "A role is a set of permissions. ABAC-enabled roles can be scoped to repositories with a condition"
            {if mode == crate::access::model::RoleAssignmentMode::RbacAbac { "." } else { " once the registry is in rbac-abac mode (Settings, or portcullis registry update --role-assignment-mode rbac-abac)." }}
        </p>
        <label class="mt-3 block max-w-md">
            <span class=LABEL>"Search by role name or description"</span>
            <input type="search" class=INPUT data-testid="role-search" autocomplete="off" bind:value=search />
        </label>
        <fieldset class="mt-4">
            <legend class="sr-only">"Built-in roles"</legend>
            <ul class="divide-y divide-slate-100 rounded border border-slate-200">
                <For each=visible key=|role| role.name.clone() let:role>
                    <RoleOption role choices />
                </For>
            </ul>
        </fieldset>
    }
    .into_any()
}

#[component]
fn RoleOption(role: RoleDefinition, choices: Choices) -> impl IntoView {
    let name = role.name.clone();
    let checked_name = name.clone();
    let data_name = name.clone();
    let value = name.clone();
    let abac = role.abac_enabled;
    let stored = StoredValue::new(role.clone());
    view! {
        <li>
            <label class="flex cursor-pointer items-start gap-3 px-3 py-2 hover:bg-slate-50" data-testid="role-option" data-name=data_name>
                <input type="radio" name="role" value=value class="mt-1 h-4 w-4 accent-blue-700"
                    prop:checked=move || choices.role.with(|role| role.as_ref().is_some_and(|r| r.name == checked_name))
                    on:change=move |_| choices.role.set(Some(stored.get_value())) />
                <span>
                    <span class="font-medium">{name}</span>
                    {abac.then(|| view! {
                        <span class="ml-2 rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-800 ring-1 ring-indigo-200" data-testid="abac-badge">"ABAC"</span>
                    })}
                    <span class="block text-sm text-slate-600">{role.description}</span>
                </span>
            </label>
        </li>
    }
    .into_any()
}

#[component]
fn MembersStep(choices: Choices) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let members = LocalResource::new(move || list_members(search.get()));
    view! {
        {step_heading(Step::Members, "Members")}
        <p class=HINT>"The user, group or service principal the role is given to, or Everyone (anonymous): callers without credentials."</p>
        <p class="mt-2 text-sm">
            "Role: " <strong data-testid="chosen-role">{move || choices.role.with(|r| r.as_ref().map(|r| r.name.clone()).unwrap_or_default())}</strong>
        </p>
        <label class="mt-3 block max-w-md">
            <span class=LABEL>"Search members"</span>
            <input type="search" class=INPUT data-testid="member-search" autocomplete="off" bind:value=search />
        </label>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(members) if members.is_empty() => view! {
                        <p class="mt-4 text-sm text-slate-500" data-testid="members-empty">"No identity matches."</p>
                    }.into_any(),
                    Ok(members) => view! {
                        <fieldset class="mt-4">
                            <legend class="sr-only">"Members"</legend>
                            <ul class="divide-y divide-slate-100 rounded border border-slate-200">
                                {members.into_iter().map(|member| view! { <MemberOption member choices /> }).collect_view()}
                            </ul>
                        </fieldset>
                    }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn MemberOption(member: Member, choices: Choices) -> impl IntoView {
    let stored = StoredValue::new(member.clone());
    let checked = move || {
        choices.member.with(|chosen| {
            chosen.as_ref().is_some_and(|c| stored.with_value(|m| c.kind == m.kind && c.name == m.name))
        })
    };
    view! {
        <li>
            <label class="flex cursor-pointer items-start gap-3 px-3 py-2 hover:bg-slate-50" data-testid="member-option"
                data-name=member.name.clone() data-kind=member.kind.as_str()>
                <input type="radio" name="member" class="mt-1 h-4 w-4 accent-blue-700"
                    prop:checked=checked on:change=move |_| choices.member.set(Some(stored.get_value())) />
                <span>
                    <span class="font-medium">{member.name.clone()}</span>
                    <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700">{kind_label(member.kind)}</span>
                    <span class="block text-sm text-slate-600">{member.detail.clone()}</span>
                </span>
            </label>
        </li>
    }
    .into_any()
}

#[component]
fn ConditionsStep(setup: AccessSetup, choices: Choices, takes_condition: bool) -> impl IntoView {
    let role = choices.role.get_untracked();
    let Some(role) = role else { return ().into_any() };
    if !takes_condition {
        let why = if role.abac_enabled {
            "Conditions are honoured in rbac-abac mode only: switch the registry's mode in Settings (or portcullis registry update --role-assignment-mode rbac-abac) to scope this role to repositories."
        } else {
            "This role takes no condition: it applies to the whole registry."
        };
        return view! {
            {step_heading(Step::Conditions, "Conditions")}
            <p class="mt-2 text-sm text-slate-700" data-testid="no-condition">{why}</p>
        }
        .into_any();
    }
    let actions = role.rbac_abac_actions.clone();
    let editor_actions = actions.clone();
    let role_name = role.name.clone();
    view! {
        {step_heading(Step::Conditions, "Conditions")}
        <p class=HINT>"Without a condition, " {role_name} " applies to every repository of the registry. Add a condition to scope it."</p>
        <Show when=move || !choices.with_condition.get()
            fallback=move || view! {
                <div class="mt-4 rounded border border-slate-200 p-4">
                    <div class="flex items-center justify-between gap-3">
                        <h3 class="font-semibold">"Condition #1"</h3>
                        <button type="button" class=SECONDARY data-testid="remove-condition"
                            on:click=move |_| choices.with_condition.set(false)>"Remove condition"</button>
                    </div>
                    <ConditionEditor role=role.name.clone() role_actions=editor_actions.clone() operators=setup.operators.clone()
                        editor=choices.editor state=choices.condition />
                </div>
            }>
            <p class="mt-3 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="registry-wide">
                "No condition: registry-wide, " {action_list(&actions)} " on every repository."
            </p>
            <button type="button" class=format!("{PRIMARY} mt-3") data-testid="add-condition"
                on:click=move |_| {
                    choices.with_condition.set(true);
                    set_timeout(|| {
                        use leptos::wasm_bindgen::JsCast;
                        if let Some(element) = document().query_selector("[data-testid=governed-action]").ok().flatten() {
                            if let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>() {
                                let _ = element.focus();
                            }
                        }
                    }, std::time::Duration::from_millis(30));
                }>"+ Add condition"</button>
        </Show>
    }
    .into_any()
}

#[component]
fn ReviewStep(choices: Choices, previous: Callback<()>) -> impl IntoView {
    let csrf = use_csrf();
    let navigate = use_navigate();
    let role = choices.role.get_untracked().expect("a role before the review");
    let member = choices.member.get_untracked().expect("a member before the review");
    let condition = choices.condition_text().ok().flatten();
    let words = choices.with_condition.get_untracked().then(|| match choices.condition.get_untracked() {
        ConditionState::Ready(report) => condition_in_words(&report.tree, &role.rbac_abac_actions),
        _ => String::new(),
    });
    let warnings = match choices.condition.get_untracked() {
        ConditionState::Ready(report) if choices.with_condition.get_untracked() => report.warnings,
        _ => Vec::new(),
    };
    let role_name = role.name.clone();
    let preview_condition = condition.clone().unwrap_or_default();
    let preview =
        LocalResource::new(move || preview_assignment(role_name.clone(), preview_condition.clone()));
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let anonymous = member.kind == IdentityKind::Anonymous;
    let request = StoredValue::new((role.name.clone(), member.clone(), condition.clone()));
    let created = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(name) = created.get() {
            navigate(&format!("/access-control?created={name}"), Default::default());
        }
    });
    let assign = move || {
        let (role, member, condition) = request.get_value();
        pending.set(true);
        error.set(None);
        let csrf = csrf();
        let description = choices.description.get_untracked();
        spawn_local(async move {
            let answer =
                create_assignment(csrf, role, member.name, member.kind, condition, description).await;
            pending.set(false);
            match answer {
                Ok(assignment) => {
                    confirming.set(false);
                    created.set(Some(assignment.name));
                }
                Err(refused) => error.set(Some(refused.to_string())),
            }
        });
    };
    let public_text = move || {
        preview.get().and_then(Result::ok).map(|preview| public_summary(&preview)).unwrap_or_default()
    };
    view! {
        {step_heading(Step::Review, "Review + assign")}
        <dl class="mt-3 grid gap-x-6 gap-y-2 text-sm sm:grid-cols-[12rem_1fr]" data-testid="review">
            <dt class="font-medium text-slate-600">"Role"</dt>
            <dd data-testid="review-role">{role.name.clone()}</dd>
            <dt class="font-medium text-slate-600">"Member"</dt>
            <dd data-testid="review-member">{member_label(&member.name, member.kind)}</dd>
            <dt class="font-medium text-slate-600">"Condition"</dt>
            <dd data-testid="review-condition">
                {match words {
                    Some(words) => view! { <span>{words}</span> }.into_any(),
                    None => view! { <span>{format!("None: {} on every repository", action_list(&role.rbac_abac_actions))}</span> }.into_any(),
                }}
            </dd>
            {condition.clone().map(|text| view! {
                <dt class="font-medium text-slate-600">"Code"</dt>
                <dd><pre class=CODE_BLOCK data-testid="review-code">{text}</pre></dd>
            })}
        </dl>
        {(!warnings.is_empty()).then(|| view! {
            <ul class="mt-3 space-y-1 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="review-warnings">
                {warnings.into_iter().map(|warning| view! { <li>{warning}</li> }).collect_view()}
            </ul>
        })}
        <label class="mt-4 block max-w-xl">
            <span class=LABEL>"Description (optional)"</span>
            <input class=INPUT data-testid="assignment-description" autocomplete="off" bind:value=choices.description />
        </label>
        <section class="mt-5" aria-labelledby="preview-heading">
            <h3 id="preview-heading" class="text-sm font-semibold">"What the member will be able to do on the existing repositories"</h3>
            <p class=HINT>"From this assignment alone; other assignments may give more (Check access shows everything)."</p>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(preview) => view! { <PreviewTable preview /> }.into_any(),
                        Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {move || error.get().filter(|_| !confirming.get()).map(|message| view! { <ErrorMessage message testid="form-error" /> })}
        <div class="mt-6 flex flex-wrap gap-3">
            <button type="button" class=SECONDARY data-testid="wizard-previous" on:click=move |_| previous.run(())>"Previous"</button>
            <button type="button" class=PRIMARY data-testid="assign" disabled=move || pending.get()
                on:click=move |_| if anonymous { confirming.set(true) } else { assign() }>
                {move || if pending.get() { "Assigning…" } else { "Assign" }}
            </button>
            <A href="/access-control" attr:class=SECONDARY>"Cancel"</A>
        </div>
        <ConfirmDialog open=confirming title="Make this public?" confirm_label="Assign to everyone"
            pending error testid="public-dialog" confirm_testid="confirm-public"
            on_confirm=move |_| assign() on_cancel=move |()| confirming.set(false)>
            <p>
                "Everyone, without any credentials, will be able to "
                <strong data-testid="public-summary">{public_text}</strong> "."
            </p>
        </ConfirmDialog>
    }
    .into_any()
}

/// "content/read and metadata/read on backend/nginx, backend/redis", or
/// what the role gives where no repository exists yet.
fn public_summary(preview: &AssignmentPreview) -> String {
    let reached: Vec<String> = preview
        .repositories
        .iter()
        .filter(|repository| !repository.actions.is_empty())
        .map(|repository| format!("{} on {}", action_list(&repository.actions), repository.repository))
        .collect();
    let mut parts = reached;
    if preview.lists_every_repository {
        parts.push("list every repository".to_owned());
    }
    if parts.is_empty() {
        "nothing on the existing repositories (but on matching repositories pushed later)".to_owned()
    } else {
        parts.join("; ")
    }
}

#[component]
fn PreviewTable(preview: AssignmentPreview) -> impl IntoView {
    use crate::components::ui::{TABLE, TABLE_WRAP, TBODY, TD, TH, THEAD};
    if preview.repositories.is_empty() {
        return view! { <p class="mt-2 text-sm text-slate-500" data-testid="preview-empty">"The registry has no repository yet."</p> }.into_any();
    }
    view! {
        {preview.lists_every_repository.then(|| view! { <p class="mt-2 text-sm">"The role also lists every repository."</p> })}
        <div class=format!("{TABLE_WRAP} mt-2")>
            <table class=TABLE data-testid="preview-table">
                <thead class=THEAD><tr><th scope="col" class=TH>"Repository"</th><th scope="col" class=TH>"Actions"</th></tr></thead>
                <tbody class=TBODY>
                    {preview.repositories.into_iter().map(|repository| {
                        let none = repository.actions.is_empty();
                        let name = repository.repository.clone();
                        view! {
                            <tr data-testid="preview-row" data-repository=name data-allowed=if none { "false" } else { "true" }>
                                <td class=format!("{TD} font-mono")>{repository.repository}</td>
                                <td class=TD>{if none {
                                    view! { <span class="text-slate-500">"Nothing"</span> }.into_any()
                                } else {
                                    view! { <span class="text-green-800">{action_list(&repository.actions)}</span> }.into_any()
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
