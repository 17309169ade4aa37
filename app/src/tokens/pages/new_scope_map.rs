//! Add a scope map: a name, a description and its repository rules.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{
    components::ui::{use_csrf, ErrorMessage, CARD, HINT, INPUT, LABEL, LINK, PRIMARY, SECONDARY},
    tokens::{
        api::CreateScopeMap,
        rules_editor::{Rules, RulesEditor},
    },
};

#[component]
pub fn NewScopeMapPage() -> impl IntoView {
    let csrf = use_csrf();
    let create = ServerAction::<CreateScopeMap>::new();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let rules = Rules::new(&[]);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(map)) = create.value().get() {
            navigate(&format!("/scope-maps/{}", map.name), Default::default());
        }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        create.dispatch(CreateScopeMap {
            csrf_token: csrf(),
            name: name.get_untracked(),
            description: description.get_untracked(),
            repositories: rules.value(),
        });
    };
    let error = move || create.value().get().and_then(Result::err).map(|error| error.to_string());
    let pending = create.pending();
    view! {
        <Title text="Add scope map" />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/scope-maps" attr:class=LINK>"Scope maps"</A> " / Add"
        </nav>
        <h1 class="mt-2 text-2xl font-semibold tracking-tight">"Add scope map"</h1>
        <form class=format!("{CARD} mt-6 space-y-4") on:submit=submit aria-label="Add scope map" data-testid="scope-map-form">
            <div class="grid gap-4 sm:grid-cols-2">
                <label class="block">
                    <span class=LABEL>"Name"</span>
                    <input class=INPUT required autocomplete="off" spellcheck="false" data-testid="scope-map-name" bind:value=name />
                    <span class=HINT>"5 to 50 letters, digits, - and _."</span>
                </label>
                <label class="block">
                    <span class=LABEL>"Description"</span>
                    <input class=INPUT autocomplete="off" data-testid="scope-map-description" bind:value=description />
                </label>
            </div>
            <RulesEditor rules refusal=Signal::derive(error) />
            {move || error().map(|message| view! { <ErrorMessage message testid="form-error" /> })}
            <div class="flex flex-wrap gap-3">
                <button type="submit" class=PRIMARY data-testid="save-scope-map" disabled=move || pending.get()>
                    {move || if pending.get() { "Adding…" } else { "Add" }}
                </button>
                <A href="/scope-maps" attr:class=SECONDARY>"Cancel"</A>
            </div>
        </form>
    }
    .into_any()
}
