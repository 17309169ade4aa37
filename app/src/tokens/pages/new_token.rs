//! Add a token: on an existing scope map, or on a new one made with it
//! (the service creates both in one transaction).

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{
    components::ui::{use_csrf, ErrorMessage, Loading, CARD, HINT, INPUT, LABEL, LINK, PRIMARY, SECONDARY},
    tokens::{
        api::{list_scope_maps, CreateToken},
        model::{NewScopeMap, ScopeMap},
        rules_editor::{Rules, RulesEditor},
    },
};

#[component]
pub fn NewTokenPage() -> impl IntoView {
    let scope_maps = Resource::new(|| (), |_| list_scope_maps());
    view! {
        <Title text="Add token" />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/tokens" attr:class=LINK>"Tokens"</A> " / Add"
        </nav>
        <h1 class="mt-2 text-2xl font-semibold tracking-tight">"Add token"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "The token is created without passwords: generate them on its page, each with an optional expiry date."
        </p>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match scope_maps.await {
                    Ok(scope_maps) => view! { <NewTokenForm scope_maps /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn NewTokenForm(scope_maps: Vec<ScopeMap>) -> impl IntoView {
    let csrf = use_csrf();
    let create = ServerAction::<CreateToken>::new();
    let name = RwSignal::new(String::new());
    let create_new = RwSignal::new(false);
    let existing = RwSignal::new(String::new());
    let new_name = RwSignal::new(String::new());
    // Until the user types a name of their own, the new scope map is
    // named after the token.
    let new_name_edited = RwSignal::new(false);
    let new_description = RwSignal::new(String::new());
    let rules = Rules::new(&[]);
    let enabled = RwSignal::new(true);

    Effect::new(move |_| {
        let token = name.get();
        if !new_name_edited.get_untracked() {
            new_name.set(if token.trim().is_empty() {
                String::new()
            } else {
                format!("{}-scope-map", token.trim())
            });
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(token)) = create.value().get() {
            navigate(&format!("/tokens/{}", token.name), Default::default());
        }
    });

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let new_scope_map = create_new.get_untracked().then(|| NewScopeMap {
            name: new_name.get_untracked(),
            description: new_description.get_untracked(),
            repositories: rules.value(),
        });
        let scope_map = (!create_new.get_untracked()).then(|| existing.get_untracked());
        create.dispatch(CreateToken {
            csrf_token: csrf(),
            name: name.get_untracked(),
            scope_map,
            new_scope_map,
            enabled: enabled.get_untracked(),
        });
    };
    let error = move || create.value().get().and_then(Result::err).map(|error| error.to_string());
    let pending = create.pending();
    let (system, user): (Vec<_>, Vec<_>) = scope_maps.into_iter().partition(|map| map.system);

    view! {
        <form class=format!("{CARD} mt-6 max-w-5xl space-y-6") on:submit=submit aria-label="Add token" data-testid="new-token-form">
            <label class="block">
                <span class=LABEL>"Token name"</span>
                <input class=INPUT name="name" required autocomplete="off" spellcheck="false" data-testid="token-name-input"
                    bind:value=name />
                <span class=HINT>"The user name at docker login: 5 to 50 letters, digits, - and _."</span>
            </label>

            <fieldset class="min-w-0">
                <legend class=LABEL>"Scope map"</legend>
                <div class="mt-2 flex flex-wrap gap-x-6 gap-y-2 text-sm">
                    <label class="inline-flex items-center gap-2">
                        <input type="radio" name="scope-map-choice" class="h-4 w-4 accent-blue-700" data-testid="use-existing-scope-map" checked
                            prop:checked=move || !create_new.get() on:change=move |_| create_new.set(false) />
                        "Use an existing scope map"
                    </label>
                    <label class="inline-flex items-center gap-2">
                        <input type="radio" name="scope-map-choice" class="h-4 w-4 accent-blue-700" data-testid="create-new-scope-map"
                            prop:checked=move || create_new.get() on:change=move |_| create_new.set(true) />
                        "Create new"
                    </label>
                </div>
                <Show when=move || !create_new.get()>
                    <ExistingScopeMap user=user.clone() system=system.clone() existing />
                </Show>
                <Show when=move || create_new.get()>
                    <NewScopeMapFields name=new_name edited=new_name_edited description=new_description rules
                        refusal=Signal::derive(error) />
                </Show>
            </fieldset>

            <fieldset>
                <legend class=LABEL>"Status"</legend>
                <div class="mt-2 flex gap-6 text-sm">
                    <label class="inline-flex items-center gap-2">
                        <input type="radio" name="status" class="h-4 w-4 accent-blue-700" data-testid="status-enabled"
                            prop:checked=move || enabled.get() on:change=move |_| enabled.set(true) checked />
                        "Enabled"
                    </label>
                    <label class="inline-flex items-center gap-2">
                        <input type="radio" name="status" class="h-4 w-4 accent-blue-700" data-testid="status-disabled"
                            prop:checked=move || !enabled.get() on:change=move |_| enabled.set(false) />
                        "Disabled"
                    </label>
                </div>
            </fieldset>

            {move || error().map(|message| view! { <ErrorMessage message testid="form-error" /> })}

            <div class="flex flex-wrap gap-3">
                <button type="submit" class=PRIMARY data-testid="create-token" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating…" } else { "Create" }}
                </button>
                <A href="/tokens" attr:class=SECONDARY>"Cancel"</A>
            </div>
        </form>
    }
    .into_any()
}

#[component]
fn ExistingScopeMap(user: Vec<ScopeMap>, system: Vec<ScopeMap>, existing: RwSignal<String>) -> impl IntoView {
    let option = move |map: &ScopeMap| {
        let value = map.name.clone();
        let selected = map.name.clone();
        view! { <option value=value selected=move || existing.with(|e| *e == selected)>{map.name.clone()}</option> }
    };
    view! {
        <label class="mt-3 block">
            <span class="sr-only">"Existing scope map"</span>
            <select class=INPUT data-testid="scope-map-select"
                on:change=move |event| existing.set(event_target_value(&event))>
                <option value="" selected=move || existing.with(String::is_empty)>"Choose a scope map…"</option>
                <optgroup label="Your scope maps">{user.iter().map(option).collect_view()}</optgroup>
                <optgroup label="System-defined (every repository)">{system.iter().map(option).collect_view()}</optgroup>
            </select>
        </label>
    }
    .into_any()
}

#[component]
fn NewScopeMapFields(
    name: RwSignal<String>,
    edited: RwSignal<bool>,
    description: RwSignal<String>,
    rules: Rules,
    refusal: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="mt-3 rounded border border-slate-200 p-4" data-testid="new-scope-map">
            <div class="grid gap-4 sm:grid-cols-2">
                <label class="block">
                    <span class=LABEL>"Scope map name"</span>
                    <input class=INPUT autocomplete="off" spellcheck="false" data-testid="new-scope-map-name"
                        bind:value=name on:input=move |_| edited.set(true) />
                </label>
                <label class="block">
                    <span class=LABEL>"Description"</span>
                    <input class=INPUT autocomplete="off" data-testid="new-scope-map-description" bind:value=description />
                </label>
            </div>
            <RulesEditor rules refusal />
            <Show when=move || rules.is_empty()>
                <p class="mt-3 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200" role="status"
                    data-testid="empty-scope-map-warning">
                    "This scope map grants nothing yet: a token with it could not pull or push anything. Add a repository and tick its actions."
                </p>
            </Show>
        </div>
    }
    .into_any()
}
