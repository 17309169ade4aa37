//! The repository rows editor of a scope map: one row per repository
//! pattern with the five action checkboxes, a line to type a new pattern
//! and "+ Add". Patterns are checked by the server (the service's wildcard
//! rules and messages), never here; a row its refusal names is marked.
//! A typed line not added yet is saved with the others, and the editor says
//! so while it is there.

use leptos::{html, prelude::*};

use crate::{
    components::ui::{SMALL_BUTTON, SMALL_DANGER, TBODY, TH, THEAD},
    tokens::model::{action_hint, RepositoryActions, ACTIONS},
};

/// One editable row.
#[derive(Clone, Copy)]
pub struct RuleRow {
    id: usize,
    pub repository: RwSignal<String>,
    pub actions: [RwSignal<bool>; 5],
}

impl RuleRow {
    fn new(id: usize, rule: &RepositoryActions) -> Self {
        Self {
            id,
            repository: RwSignal::new(rule.repository.clone()),
            actions: ACTIONS.map(|action| RwSignal::new(rule.actions.contains(&action))),
        }
    }

    fn value(&self) -> RepositoryActions {
        RepositoryActions {
            repository: self.repository.get_untracked().trim().to_owned(),
            actions: ACTIONS
                .iter()
                .zip(self.actions)
                .filter(|(_, ticked)| ticked.get_untracked())
                .map(|(action, _)| *action)
                .collect(),
        }
    }

    fn clear(&self) {
        self.repository.set(String::new());
        for ticked in self.actions {
            ticked.set(false);
        }
    }
}

/// The editor's state, owned by the page (which reads it on submit).
#[derive(Clone, Copy)]
pub struct Rules {
    rows: RwSignal<Vec<RuleRow>>,
    /// The "new repository" line.
    draft: RuleRow,
    next_id: StoredValue<usize>,
    /// The row just added with + Add, which takes the focus.
    added: RwSignal<Option<usize>>,
    /// The editor's owner: rows are made under it, not under whatever
    /// effect or handler adds them (an effect that replaces the rows would
    /// otherwise dispose the rows it made when it runs again, while their
    /// views still read them).
    owner: StoredValue<Option<Owner>>,
}

impl Rules {
    pub fn new(rules: &[RepositoryActions]) -> Self {
        let this = Self {
            rows: RwSignal::new(Vec::new()),
            draft: RuleRow::new(0, &RepositoryActions::default()),
            next_id: StoredValue::new(1),
            added: RwSignal::new(None),
            owner: StoredValue::new(Owner::current()),
        };
        this.replace(rules);
        this
    }

    /// Shows exactly `rules` (after a save, the server's normal form).
    pub fn replace(&self, rules: &[RepositoryActions]) {
        let rows = rules.iter().map(|rule| self.new_row(rule)).collect();
        self.rows.set(rows);
    }

    fn new_row(&self, rule: &RepositoryActions) -> RuleRow {
        let id = self.take_id();
        match self.owner.get_value() {
            Some(owner) => owner.with(|| RuleRow::new(id, rule)),
            None => RuleRow::new(id, rule),
        }
    }

    fn take_id(&self) -> usize {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    fn add_draft(&self) {
        let rule = self.draft.value();
        if rule.repository.is_empty() {
            return;
        }
        let row = self.new_row(&rule);
        self.rows.update(|rows| rows.push(row));
        self.added.set(Some(row.id));
        self.draft.clear();
    }

    /// Nothing listed and nothing typed: a scope map that grants nothing.
    pub fn is_empty(&self) -> bool {
        self.rows.with(Vec::is_empty) && self.draft.repository.with(|text| text.trim().is_empty())
    }

    /// The rows to send: every row, and the "new repository" line when
    /// something was typed there but not added yet.
    pub fn value(&self) -> Vec<RepositoryActions> {
        let mut rules: Vec<RepositoryActions> =
            self.rows.get_untracked().iter().map(RuleRow::value).collect();
        let draft = self.draft.value();
        if !draft.repository.is_empty() {
            rules.push(draft);
        }
        rules
    }
}

/// Whether the service's refusal names `pattern` (it quotes the pattern it
/// refused, `"samples/team-a*"`).
fn named_by(refusal: Option<String>, pattern: &str) -> bool {
    let pattern = pattern.trim();
    !pattern.is_empty() && refusal.is_some_and(|message| message.contains(&format!("{pattern:?}")))
}

/// Inputs grow with a long pattern instead of cutting it off.
const PATTERN_INPUT: &str =
    "mt-1 block rounded border border-slate-300 bg-white px-3 py-2 focus:border-blue-600 \
    focus:outline-none focus:ring-1 focus:ring-blue-600 mt-0 min-w-48 field-sizing-content font-mono text-sm \
    placeholder:font-sans placeholder:italic placeholder:text-slate-400 \
    aria-invalid:border-red-600 aria-invalid:ring-1 aria-invalid:ring-red-600";

#[component]
pub fn RulesEditor(
    rules: Rules,
    /// The service's refusal of the last save; the rows it names are marked.
    #[prop(optional, into)]
    refusal: Signal<Option<String>>,
) -> impl IntoView {
    let draft = rules.draft;
    let draft_empty = move || draft.repository.with(|text| text.trim().is_empty());
    view! {
        <fieldset class="mt-4 min-w-0" data-testid="rules-editor">
            <legend class="text-sm font-medium">"Repositories and permissions"</legend>
            <p class="mt-1 text-xs text-slate-500">
                "A repository name ("<code>"samples/hello-world"</code>"), a prefix wildcard ending in "<code>"/*"</code>
                " ("<code>"samples/*"</code>"), or "<code>"*"</code>" for every repository. Rules add up."
            </p>
            <div class="relative mt-2 overflow-x-auto rounded border border-slate-200">
                <table class="min-w-full text-left text-sm">
                    <thead class=THEAD>
                        <tr>
                            <th scope="col" class=TH>"Repository"</th>
                            {ACTIONS.into_iter().map(|action| view! {
                                <th scope="col" class=format!("{TH} text-center")>
                                    <span class="block normal-case tracking-normal">{action.as_str()}</span>
                                    <span class="block font-normal normal-case tracking-normal text-slate-400">{action_hint(action)}</span>
                                </th>
                            }).collect_view()}
                            <th scope="col" class=TH aria-label="Row actions"></th>
                        </tr>
                    </thead>
                    <tbody class=TBODY>
                        <tr class="bg-blue-50/40" data-testid="new-rule">
                            <td class="px-3 py-2">
                                <label class="sr-only" for="new-rule-repository">"Repository"</label>
                                <input id="new-rule-repository" class=PATTERN_INPUT
                                    placeholder="e.g. team/app or team/*" autocomplete="off" spellcheck="false"
                                    aria-invalid=move || named_by(refusal.get(), &draft.repository.get()).then_some("true")
                                    bind:value=draft.repository
                                    on:keydown=move |event| {
                                        // Enter adds the row rather than submitting the form.
                                        if event.key() == "Enter" {
                                            event.prevent_default();
                                            rules.add_draft();
                                        }
                                    } />
                            </td>
                            {ACTIONS.into_iter().zip(draft.actions).map(|(action, ticked)| view! {
                                <td class="px-3 py-2 text-center">
                                    <input type="checkbox" class="h-4 w-4 accent-blue-700" aria-label=action.as_str() bind:checked=ticked />
                                </td>
                            }).collect_view()}
                            <td class="px-3 py-2">
                                <button type="button" class=SMALL_BUTTON data-testid="add-rule" aria-label="Add repository"
                                    disabled=draft_empty on:click=move |_| rules.add_draft()>"+ Add"</button>
                            </td>
                        </tr>
                        <For each=move || rules.rows.get() key=|row| row.id let:row>
                            <RuleRowView rules row refusal />
                        </For>
                    </tbody>
                </table>
            </div>
            <Show when=move || !draft_empty()>
                <p class="mt-2 text-xs text-amber-800" data-testid="draft-note">
                    {move || format!("“{}” is not added yet: it is saved with the rows above, or clear it.", draft.repository.get().trim())}
                </p>
            </Show>
            <Show when=move || rules.rows.with(Vec::is_empty)>
                <p class="mt-2 text-xs text-slate-500" data-testid="no-rules">"No repository yet: type one above, tick its actions and choose + Add."</p>
            </Show>
        </fieldset>
    }
    .into_any()
}

/// One listed row; it takes the focus when it was just added.
#[component]
fn RuleRowView(rules: Rules, row: RuleRow, refusal: Signal<Option<String>>) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if rules.added.get() == Some(row.id) {
            if let Some(input) = input.get() {
                let _ = input.focus();
                rules.added.set(None);
            }
        }
    });
    let invalid = move || named_by(refusal.get(), &row.repository.get());
    view! {
        <tr data-testid="rule-row" data-invalid=move || invalid().to_string()>
            <td class="px-3 py-2">
                <input node_ref=input class=PATTERN_INPUT aria-label="Repository"
                    aria-invalid=move || invalid().then_some("true")
                    autocomplete="off" spellcheck="false" bind:value=row.repository />
            </td>
            {ACTIONS.into_iter().zip(row.actions).map(|(action, ticked)| view! {
                <td class="px-3 py-2 text-center">
                    <input type="checkbox" class="h-4 w-4 accent-blue-700"
                        aria-label=move || format!("{action} on {}", row.repository.get())
                        bind:checked=ticked />
                </td>
            }).collect_view()}
            <td class="px-3 py-2">
                <button type="button" class=SMALL_DANGER
                    aria-label=move || format!("Remove {}", row.repository.get())
                    on:click=move |_| rules.rows.update(|rows| rows.retain(|r| r.id != row.id))>
                    "Remove"
                </button>
            </td>
        </tr>
    }
    .into_any()
}
