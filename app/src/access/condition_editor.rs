//! The condition editor of the Add role assignment wizard and of an
//! assignment's page, after the source's: a visual editor (the role's
//! actions to govern, then expressions on the repository name joined by
//! And or Or, with groups and negation) and a code view showing the text
//! the CLI takes. The server reads and writes the text: every change of
//! the visual editor is printed by the server's printer, and text typed in
//! the code view is parsed by the server's parser (its positioned message
//! shown when refused) and fills the visual editor. The editor's layout
//! follows the structure only, so typing a value never re-creates the
//! field being typed in.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    access::{
        api::{parse_condition, print_condition},
        model::{Action, ConditionReport, Editor, Group, Item, ItemKind, DEFAULT_OPERATOR},
    },
    components::ui::{ErrorMessage, CODE_BLOCK, HINT, INPUT, LABEL, SMALL_BUTTON, SMALL_DANGER},
};

/// Where the editor's content stands, for the page around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionState {
    /// Waiting for the server's reading.
    Pending,
    /// The server's canonical text and warnings.
    Ready(ConditionReport),
    /// Refused: what to fix.
    Invalid(String),
}

const SELECT: &str = "mt-1 block rounded border border-slate-300 bg-white px-2 py-1.5 text-sm focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600";

fn field_id(path: &[usize], field: &str) -> String {
    let path: Vec<String> = path.iter().map(usize::to_string).collect();
    format!("condition-{}-{field}", path.join("-"))
}

/// Moves focus to a control once the editor has re-rendered.
fn focus_later(id: String) {
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
}

/// The editor; `state` follows its content.
#[component]
pub fn ConditionEditor(
    /// The role's name (the server checks the condition against it).
    role: String,
    /// The role's repository actions in rbac-abac mode.
    role_actions: Vec<Action>,
    /// The operators the server's parser accepts.
    operators: Vec<String>,
    editor: RwSignal<Editor>,
    state: RwSignal<ConditionState>,
) -> impl IntoView {
    let role = StoredValue::new(role);
    let role_actions = StoredValue::new(role_actions);
    let operators = StoredValue::new(operators);
    // Set once the browser runs the editor (effects run there only).
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let code_view = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    // The code view's own refusal, and whether its text awaits the server.
    let code_error = RwSignal::new(None::<String>);
    let code_pending = RwSignal::new(false);
    let code_sequence = StoredValue::new(0_u64);
    let printed = RwSignal::new(None::<(String, Result<ConditionReport, String>)>);
    let print_sequence = StoredValue::new(0_u64);

    let shape = Memo::new(move |_| editor.with(|editor| editor.expression.shape()));
    let tree_json = Memo::new(move |_| {
        editor.with(|editor| {
            editor
                .to_tree()
                .map(|tree| serde_json::to_string(&tree).unwrap_or_default())
                .map_err(|e| e.to_string())
        })
    });
    // Every change of the tree is printed by the server.
    Effect::new(move |_| {
        let Ok(json) = tree_json.get() else { return };
        print_sequence.update_value(|n| *n += 1);
        let sequence = print_sequence.get_value();
        let role = role.get_value();
        spawn_local(async move {
            let answer = print_condition(role, json.clone()).await.map_err(|error| error.to_string());
            if print_sequence.try_get_value() == Some(sequence) {
                printed.set(Some((json, answer)));
            }
        });
    });
    Effect::new(move |_| {
        let next = if code_view.get() && code_error.with(Option::is_some) {
            ConditionState::Invalid(code_error.get().unwrap_or_default())
        } else if code_view.get() && code_pending.get() {
            ConditionState::Pending
        } else {
            match tree_json.get() {
                Err(message) => ConditionState::Invalid(message),
                Ok(json) => match printed.get() {
                    Some((printed_json, answer)) if printed_json == json => match answer {
                        Ok(report) => ConditionState::Ready(report),
                        Err(message) => ConditionState::Invalid(message),
                    },
                    _ => ConditionState::Pending,
                },
            }
        };
        if state.get_untracked() != next {
            state.set(next);
        }
    });

    let on_code_input = move |text: String| {
        code.set(text.clone());
        code_pending.set(true);
        code_sequence.update_value(|n| *n += 1);
        let sequence = code_sequence.get_value();
        let role = role.get_value();
        spawn_local(async move {
            let answer = parse_condition(role, text).await;
            if code_sequence.try_get_value() != Some(sequence) {
                return;
            }
            code_pending.set(false);
            match answer {
                Ok(report) => {
                    code_error.set(None);
                    editor.set(Editor::from_tree(&report.tree));
                }
                Err(error) => code_error.set(Some(error.to_string())),
            }
        });
    };
    let show_code = move |_| {
        if let Some((_, Ok(report))) = printed.get_untracked() {
            code.set(report.text);
        }
        code_error.set(None);
        code_view.set(true);
    };

    let canonical = move || match state.get() {
        ConditionState::Ready(report) => Some(report.text),
        _ => None,
    };
    let warnings = move || match state.get() {
        ConditionState::Ready(report) => report.warnings,
        _ => Vec::new(),
    };

    view! {
        <div class="space-y-5" data-testid="condition-editor" data-live=move || live.get().to_string()>
            <fieldset>
                <legend class=LABEL>"Editor type"</legend>
                <div class="mt-1 flex gap-6 text-sm">
                    <label class="inline-flex items-center gap-2">
                        <input type="radio" name="editor-type" class="h-4 w-4 accent-blue-700" data-testid="editor-visual"
                            prop:checked=move || !code_view.get() on:change=move |_| code_view.set(false) />
                        "Visual"
                    </label>
                    <label class="inline-flex items-center gap-2">
                        <input type="radio" name="editor-type" class="h-4 w-4 accent-blue-700" data-testid="editor-code"
                            prop:checked=move || code_view.get() on:change=show_code />
                        "Code"
                    </label>
                </div>
            </fieldset>
            <Show when=move || !code_view.get()>
                <ActionsToGovern role_actions=role_actions.get_value() editor />
                <section aria-labelledby="build-expression">
                    <h3 id="build-expression" class="text-sm font-semibold">"Build expression"</h3>
                    <p class=HINT>"Attribute source Request, attribute Repository name: the repository the request is for."</p>
                    {move || {
                        // Re-rendered when the structure changes, not the values.
                        shape.track();
                        group_view(editor, Vec::new(), operators)
                    }}
                </section>
            </Show>
            <Show when=move || code_view.get()>
                <label class="block">
                    <span class=LABEL>"Condition code (version 2.0)"</span>
                    <textarea class=format!("{INPUT} font-mono text-xs") rows="6" spellcheck="false" data-testid="condition-code"
                        prop:value=move || code.get()
                        on:input=move |event| on_code_input(event_target_value(&event))></textarea>
                    <span class=HINT>"Edit or paste a condition: the server reads it and the visual editor follows. Refused text is not saved."</span>
                </label>
                {move || code_error.get().map(|message| view! { <ErrorMessage message testid="condition-code-error" /> })}
            </Show>
            {move || match state.get() {
                ConditionState::Invalid(message) if !code_view.get() => {
                    Some(view! { <ErrorMessage message testid="condition-error" /> }.into_any())
                }
                _ => None,
            }}
            {move || {
                let warnings = warnings();
                (!warnings.is_empty()).then(|| view! {
                    <ul class="space-y-1 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200" role="status" data-testid="condition-warnings">
                        {warnings.into_iter().map(|warning| view! { <li>{warning}</li> }).collect_view()}
                    </ul>
                })
            }}
            <Show when=move || !code_view.get()>
                <div>
                    <h3 class="text-sm font-semibold">"Code"</h3>
                    <pre class=format!("{CODE_BLOCK} mt-1") data-testid="condition-canonical">{move || canonical().unwrap_or_else(|| "…".to_owned())}</pre>
                </div>
            </Show>
        </div>
    }
    .into_any()
}

/// The role's actions, ticked when the condition governs them.
#[component]
fn ActionsToGovern(role_actions: Vec<Action>, editor: RwSignal<Editor>) -> impl IntoView {
    let all = StoredValue::new(role_actions.clone());
    view! {
        <fieldset data-testid="governed-actions">
            <legend class=LABEL>"Actions the condition governs"</legend>
            <p class=HINT>"In most cases keep every action: an action left out is allowed on every repository."</p>
            <ul class="mt-2 space-y-1 text-sm">
                {role_actions.into_iter().map(|action| {
                    let name = action.as_str();
                    view! {
                        <li class="flex flex-wrap items-center gap-3">
                            <label class="inline-flex items-center gap-2">
                                <input type="checkbox" class="h-4 w-4 accent-blue-700" data-testid="governed-action" data-action=name
                                    prop:checked=move || editor.with(|editor| editor.governs(action))
                                    on:change=move |event| {
                                        let ticked = event_target_checked(&event);
                                        editor.update(|editor| editor.set_governed(&all.get_value(), action, ticked));
                                    } />
                                <span class="font-mono">{name}</span>
                                <span class="text-slate-500">{action.description()}</span>
                            </label>
                            <Show when=move || !editor.with(|editor| editor.governs(action))>
                                <span class="rounded bg-amber-50 px-2 py-0.5 text-xs text-amber-900 ring-1 ring-amber-200" data-testid="ungoverned-note">
                                    {format!("{name} will be allowed on every repository")}
                                </span>
                            </Show>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || editor.with(|editor| editor.governed.is_none()).then(|| view! {
                <p class=HINT>"This condition has no action list: its expression governs every action."</p>
            })}
        </fieldset>
    }
    .into_any()
}

/// A group: its items with And/Or between them, and the buttons that add
/// to it. `path` is empty for the top group.
fn group_view(editor: RwSignal<Editor>, path: Vec<usize>, operators: StoredValue<Vec<String>>) -> AnyView {
    let count =
        editor.with_untracked(|editor| editor.expression.group(&path).map_or(0, |group| group.items.len()));
    let group_path = StoredValue::new(path.clone());
    let any = move || {
        editor.with(|editor| editor.expression.group(&group_path.get_value()).is_some_and(|group| group.any))
    };
    let join_id = field_id(&path, "join");
    let any_now = any_untracked(editor, &path);
    let items = (0..count)
        .map(|index| {
            let mut item_path = path.clone();
            item_path.push(index);
            let joiner = (index > 0).then(|| view! {
                <div class="my-1 pl-2 text-xs font-semibold uppercase tracking-wide text-slate-500" data-testid="condition-joiner">
                    {move || if any() { "Or" } else { "And" }}
                </div>
            });
            view! { {joiner} {item_view(editor, item_path, operators)} }
        })
        .collect_view();
    let add = move |kind: ItemKind| {
        let path = group_path.get_value();
        let mut new_path = path.clone();
        editor.update(|editor| {
            if let Some(group) = editor.expression.group_mut(&path) {
                new_path.push(group.items.len());
                group.items.push(Item { negated: false, kind });
            }
        });
        focus_later(field_id(&new_path, "attribute"));
    };
    let nested = !path.is_empty();
    view! {
        <div class=if nested { "mt-2 rounded border border-slate-300 p-3" } else { "mt-2" } data-testid="condition-group">
            <label class="inline-flex items-center gap-2 text-sm">
                <span>"Join expressions with"</span>
                <select id=join_id class=SELECT data-testid="condition-join"
                    on:change=move |event| {
                        let any = event_target_value(&event) == "or";
                        let path = group_path.get_value();
                        editor.update(|editor| {
                            if let Some(group) = editor.expression.group_mut(&path) {
                                group.any = any;
                            }
                        });
                    }>
                    <option value="and" selected={!any_now} prop:selected=move || !any()>"And"</option>
                    <option value="or" selected=any_now prop:selected=any>"Or"</option>
                </select>
            </label>
            <div class="mt-2">{items}</div>
            <div class="mt-2 flex flex-wrap gap-2">
                <button type="button" class=SMALL_BUTTON data-testid="add-expression"
                    on:click=move |_| add(ItemKind::Name { operator: DEFAULT_OPERATOR.to_owned(), value: String::new() })>
                    "+ Add expression"
                </button>
                <button type="button" class=SMALL_BUTTON data-testid="add-group"
                    on:click=move |_| add(ItemKind::Group(Group::starter()))>
                    "+ Add group"
                </button>
            </div>
        </div>
    }
    .into_any()
}

/// One expression or nested group, with its NOT and remove controls.
fn item_view(editor: RwSignal<Editor>, path: Vec<usize>, operators: StoredValue<Vec<String>>) -> AnyView {
    let item_path = StoredValue::new(path.clone());
    let read = move |f: &dyn Fn(&Item) -> String| {
        editor.with(|editor| editor.expression.item(&item_path.get_value()).map(f).unwrap_or_default())
    };
    let change = move |f: &dyn Fn(&mut Item)| {
        let path = item_path.get_value();
        editor.update(|editor| {
            if let Some(item) = editor.expression.item_mut(&path) {
                f(item);
            }
        });
    };
    let negated = move || {
        editor.with(|editor| editor.expression.item(&item_path.get_value()).is_some_and(|i| i.negated))
    };
    let kind = editor.with_untracked(|editor| editor.expression.item(&path).map(|item| item.kind.clone()));
    let number: Vec<String> = path.iter().map(|index| (index + 1).to_string()).collect();
    let label = format!("Expression {}", number.join("."));
    let remove = move |_| {
        let path = item_path.get_value();
        editor.update(|editor| editor.expression.remove(&path));
        let mut parent = path.clone();
        parent.pop();
        focus_later(field_id(&parent, "join"));
    };
    let not_control = view! {
        <label class="inline-flex items-center gap-1 text-sm">
            <input type="checkbox" id=field_id(&path, "not") class="h-4 w-4 accent-blue-700" data-testid="condition-not"
                prop:checked=negated
                on:change=move |event| {
                    let ticked = event_target_checked(&event);
                    change(&|item| item.negated = ticked);
                } />
            "NOT"
        </label>
    };
    let body = match kind {
        Some(ItemKind::Group(_)) => view! {
            <div class="flex-1">
                <div class="flex flex-wrap items-center gap-3 text-sm">
                    <span class="font-medium">{format!("{label}: group")}</span>
                    {not_control}
                    <button type="button" id=field_id(&path, "attribute") class=SMALL_DANGER data-testid="remove-expression"
                        aria-label=format!("Remove {label}") on:click=remove>"Remove group"</button>
                </div>
                {group_view(editor, path.clone(), operators)}
            </div>
        }
        .into_any(),
        Some(ItemKind::Action(_)) | Some(ItemKind::Name { .. }) => {
            let is_action = matches!(kind, Some(ItemKind::Action(_)));
            view! {
                <fieldset class="flex flex-1 flex-wrap items-end gap-3" data-testid="condition-expression">
                    <legend class="sr-only">{label.clone()}</legend>
                    <span class="self-center text-xs font-medium text-slate-500">{label.clone()}</span>
                    {not_control}
                    <label class="text-sm">
                        <span class="block text-xs text-slate-600">"Attribute source"</span>
                        <select class=SELECT disabled=is_action data-testid="attribute-source">
                            <option value="request" selected>"Request"</option>
                        </select>
                    </label>
                    <label class="text-sm">
                        <span class="block text-xs text-slate-600">"Attribute"</span>
                        <select id=field_id(&path, "attribute") class=SELECT data-testid="condition-attribute"
                            on:change=move |event| {
                                let action = event_target_value(&event) == "action";
                                change(&|item| {
                                    item.kind = if action {
                                        ItemKind::Action(Action::ContentRead)
                                    } else {
                                        ItemKind::Name { operator: DEFAULT_OPERATOR.to_owned(), value: String::new() }
                                    };
                                });
                                focus_later(field_id(&item_path.get_value(), "attribute"));
                            }>
                            <option value="name" selected={!is_action}>"Repository name"</option>
                            <option value="action" selected=is_action>"Action (ActionMatches)"</option>
                        </select>
                    </label>
                    {if is_action {
                        view! {
                            <label class="text-sm">
                                <span class="block text-xs text-slate-600">"Action"</span>
                                <select class=SELECT data-testid="condition-action"
                                    on:change=move |event| {
                                        let chosen = event_target_value(&event);
                                        if let Some(action) = Action::LISTED.into_iter().find(|a| a.as_str() == chosen) {
                                            change(&|item| item.kind = ItemKind::Action(action));
                                        }
                                    }>
                                    {Action::LISTED.into_iter().map(|action| {
                                        let selected = move || read(&|item| match item.kind {
                                            ItemKind::Action(current) => current.as_str().to_owned(),
                                            _ => String::new(),
                                        }) == action.as_str();
                                        let initially = selected_now(editor, &item_path.get_value(), action.as_str());
                                        view! { <option value=action.as_str() selected=initially prop:selected=selected>{action.as_str()}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        }
                        .into_any()
                    } else {
                        view! {
                            <label class="text-sm">
                                <span class="block text-xs text-slate-600">"Operator"</span>
                                <select class=SELECT data-testid="condition-operator"
                                    on:change=move |event| {
                                        let chosen = event_target_value(&event);
                                        change(&|item| if let ItemKind::Name { operator, .. } = &mut item.kind {
                                            *operator = chosen.clone();
                                        });
                                    }>
                                    {operators.get_value().into_iter().map(|name| {
                                        let value = name.clone();
                                        let selected = move || read(&|item| match &item.kind {
                                            ItemKind::Name { operator, .. } => operator.clone(),
                                            _ => String::new(),
                                        }).eq_ignore_ascii_case(&value);
                                        let initially = selected_now(editor, &item_path.get_value(), &name);
                                        view! { <option value=name.clone() selected=initially prop:selected=selected>{name.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                            <label class="min-w-48 flex-1 text-sm">
                                <span class="block text-xs text-slate-600">"Value"</span>
                                <input class=format!("{INPUT} font-mono text-sm") autocomplete="off" spellcheck="false"
                                    data-testid="condition-value" placeholder="backend/"
                                    prop:value=move || read(&|item| match &item.kind {
                                        ItemKind::Name { value, .. } => value.clone(),
                                        _ => String::new(),
                                    })
                                    on:input=move |event| {
                                        let typed = event_target_value(&event);
                                        change(&|item| if let ItemKind::Name { value, .. } = &mut item.kind {
                                            *value = typed.clone();
                                        });
                                    } />
                            </label>
                        }
                        .into_any()
                    }}
                    <button type="button" class=SMALL_DANGER data-testid="remove-expression"
                        aria-label=format!("Remove {label}") on:click=remove>"Remove"</button>
                </fieldset>
            }
            .into_any()
        }
        None => ().into_any(),
    };
    view! { <div class="flex items-start gap-2 rounded bg-slate-50 p-2" data-testid="condition-item">{body}</div> }.into_any()
}

fn any_untracked(editor: RwSignal<Editor>, path: &[usize]) -> bool {
    editor.with_untracked(|editor| editor.expression.group(path).is_some_and(|group| group.any))
}

/// Whether the item at `path` has `choice` as its operator or action now
/// (the option's initial `selected`, for the page the server renders).
fn selected_now(editor: RwSignal<Editor>, path: &[usize], choice: &str) -> bool {
    editor.with_untracked(|editor| match editor.expression.item(path).map(|item| &item.kind) {
        Some(ItemKind::Name { operator, .. }) => operator.eq_ignore_ascii_case(choice),
        Some(ItemKind::Action(action)) => action.as_str() == choice,
        _ => false,
    })
}
