//! The repository rows editor of a scope map: one row per repository
//! pattern with the five action checkboxes, a line to type a new pattern
//! and "+ Add". Patterns are checked by the server (the service's wildcard
//! rules and messages), never here.

use leptos::prelude::*;

use crate::{
    components::ui::{INPUT, SMALL_BUTTON, SMALL_DANGER, TBODY, TH, THEAD},
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
}

impl Rules {
    pub fn new(rules: &[RepositoryActions]) -> Self {
        let this = Self {
            rows: RwSignal::new(Vec::new()),
            draft: RuleRow::new(0, &RepositoryActions::default()),
            next_id: StoredValue::new(1),
        };
        this.replace(rules);
        this
    }

    /// Shows exactly `rules` (after a save, the server's normal form).
    pub fn replace(&self, rules: &[RepositoryActions]) {
        let rows = rules.iter().map(|rule| RuleRow::new(self.take_id(), rule)).collect();
        self.rows.set(rows);
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
        let row = RuleRow::new(self.take_id(), &rule);
        self.rows.update(|rows| rows.push(row));
        self.draft.clear();
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

#[component]
pub fn RulesEditor(rules: Rules) -> impl IntoView {
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
                                <input id="new-rule-repository" class=format!("{INPUT} mt-0 min-w-48 font-mono text-sm")
                                    placeholder="samples/hello-world" autocomplete="off" spellcheck="false"
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
                            <tr data-testid="rule-row">
                                <td class="px-3 py-2">
                                    <input class=format!("{INPUT} mt-0 min-w-48 font-mono text-sm") aria-label="Repository"
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
                        </For>
                    </tbody>
                </table>
            </div>
            <Show when=move || rules.rows.with(Vec::is_empty)>
                <p class="mt-2 text-xs text-slate-500" data-testid="no-rules">"No repository yet: type one above, tick its actions and choose + Add."</p>
            </Show>
        </fieldset>
    }
    .into_any()
}
