//! A scope map's page: an editor for a user-defined one, read-only for a
//! system-defined one.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    components::{
        dialog::ConfirmDialog,
        layout::use_capabilities,
        ui::{
            use_csrf, ErrorMessage, Loading, CARD, DANGER_OUTLINE, INPUT, LABEL, LINK, PRIMARY, TABLE, TBODY,
            TD, TH, THEAD,
        },
    },
    error::PortalError,
    model::Area,
    tokens::{
        api::{get_scope_map, DeleteScopeMap, UpdateScopeMap},
        model::{ScopeMap, ACTIONS},
        rules_editor::{Rules, RulesEditor},
        ui::{scope_map_kind, Time},
    },
};

#[component]
pub fn ScopeMapPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()));
    let data = Resource::new(move || name.get(), get_scope_map);
    let can = use_capabilities();
    let writable = move || can.get_untracked().can_write(Area::Configuration);
    view! {
        <Title text=move || format!("Scope map {}", name.get()) />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/scope-maps" attr:class=LINK>"Scope maps"</A> " / " {move || name.get()}
        </nav>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(map) if map.system || !writable() => view! { <ReadOnlyScopeMap map /> }.into_any(),
                    Ok(map) => view! { <ScopeMapEditor map /> }.into_any(),
                    Err(error) => view! {
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{name.get_untracked()}</h1>
                        <ErrorMessage message=error.to_string() />
                    }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ScopeMapHeading(map: ScopeMap) -> impl IntoView {
    let tokens = match map.token_count {
        0 => "no token uses it".to_owned(),
        1 => "used by 1 token".to_owned(),
        n => format!("used by {n} tokens"),
    };
    view! {
        <h1 class="mt-2 text-2xl font-semibold tracking-tight" data-testid="scope-map-title">{map.name.clone()}</h1>
        <p class="mt-1 text-sm text-slate-600">
            <span data-testid="scope-map-type">{scope_map_kind(&map)}</span> " · created " <Time time=map.created.clone() />
            " · " <span data-testid="scope-map-usage">{tokens}</span>
        </p>
    }
    .into_any()
}

/// A scope map without controls: a system-defined one, or any for a user
/// whose roles read the configuration but do not change it.
#[component]
fn ReadOnlyScopeMap(map: ScopeMap) -> impl IntoView {
    let rules = map.repositories.clone();
    let description = map.description.clone();
    let note = if map.system {
        "System-defined scope maps exist in every registry, apply to all repositories and cannot be changed or deleted."
    } else {
        "Your roles let you read scope maps, not change them."
    };
    view! {
        <ScopeMapHeading map />
        <section class=format!("{CARD} mt-6") data-testid="read-only-scope-map">
            <p class="text-sm text-slate-700">{description}</p>
            <p class="mt-2 rounded bg-slate-50 px-3 py-2 text-sm text-slate-600" role="note">{note}</p>
            <div class="relative mt-4 overflow-x-auto">
                <table class=TABLE>
                    <thead class=THEAD>
                        <tr>
                            <th scope="col" class=TH>"Repository"</th>
                            {ACTIONS.into_iter().map(|action| view! { <th scope="col" class=format!("{TH} text-center normal-case")>{action.as_str()}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody class=TBODY>
                        {rules.into_iter().map(|rule| view! {
                            <tr>
                                <td class=format!("{TD} font-mono")>{rule.repository.clone()}</td>
                                {ACTIONS.into_iter().map(|action| {
                                    let granted = rule.actions.contains(&action);
                                    view! {
                                        <td class=format!("{TD} text-center")>
                                            {if granted {
                                                view! { <span class="text-green-700" aria-label=format!("{action} granted")>"✓"</span> }.into_any()
                                            } else {
                                                view! { <span class="text-slate-300" aria-label=format!("{action} not granted")>"–"</span> }.into_any()
                                            }}
                                        </td>
                                    }
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

/// A user-defined scope map: description and rules, Save and Delete.
#[component]
fn ScopeMapEditor(map: ScopeMap) -> impl IntoView {
    let csrf = use_csrf();
    let name = StoredValue::new(map.name.clone());
    let description = RwSignal::new(map.description.clone());
    let rules = Rules::new(&map.repositories);
    let save = ServerAction::<UpdateScopeMap>::new();
    let delete = ServerAction::<DeleteScopeMap>::new();
    let confirm_open = RwSignal::new(false);
    // The heading follows the saved state.
    let saved = RwSignal::new(map.clone());

    Effect::new(move |_| {
        if let Some(Ok(map)) = save.value().get() {
            rules.replace(&map.repositories);
            description.set(map.description.clone());
            saved.set(map);
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => navigate(&format!("/scope-maps?deleted={}", name.get_value()), Default::default()),
        // Refused (in use): the dialog closes and the page says why.
        Some(Err(_)) => confirm_open.set(false),
        None => {}
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        delete.value().set(None);
        save.dispatch(UpdateScopeMap {
            csrf_token: csrf(),
            name: name.get_value(),
            description: description.get_untracked(),
            repositories: rules.value(),
        });
    };
    let save_result = move || save.value().get();
    let delete_error = move || delete.value().get().and_then(Result::err).map(|error| error.to_string());
    // The tokens that keep the scope map from going, each linked.
    let delete_users = move || match delete.value().get() {
        Some(Err(PortalError::InUse { tokens, .. })) => Some(tokens),
        _ => None,
    };
    let pending = save.pending();

    view! {
        {move || view! { <ScopeMapHeading map=saved.get() /> }}
        <form class=format!("{CARD} mt-6 space-y-4") on:submit=submit aria-label="Edit scope map" data-testid="scope-map-form">
            <label class="block max-w-xl">
                <span class=LABEL>"Description"</span>
                <input class=INPUT autocomplete="off" data-testid="scope-map-description" bind:value=description />
            </label>
            <RulesEditor rules refusal=Signal::derive(move || save_result().and_then(Result::err).map(|error| error.to_string())) />
            {move || match save_result() {
                Some(Ok(_)) => Some(view! {
                    <p class="rounded bg-green-50 px-3 py-2 text-sm text-green-800" role="status" data-testid="saved">
                        "Saved. Every token using this scope map has the new permissions from its next request."
                    </p>
                }.into_any()),
                Some(Err(error)) => Some(view! { <ErrorMessage message=error.to_string() testid="form-error" /> }.into_any()),
                None => None,
            }}
            {move || delete_error().map(|message| view! { <ErrorMessage message testid="delete-error" /> })}
            {move || delete_users().map(|tokens| view! {
                <p class="text-sm" data-testid="in-use-tokens">
                    "Used by: "
                    {tokens.into_iter().enumerate().map(|(index, token)| view! {
                        {(index > 0).then_some(", ")}
                        <A href=format!("/tokens/{token}") attr:class=LINK>{token}</A>
                    }).collect_view()}
                </p>
            })}
            <div class="flex flex-wrap items-center justify-between gap-3">
                <button type="submit" class=PRIMARY data-testid="save-scope-map" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class=DANGER_OUTLINE data-testid="delete-scope-map"
                    on:click=move |_| { delete.value().set(None); confirm_open.set(true); }>"Delete"</button>
            </div>
        </form>

        <ConfirmDialog
            open=confirm_open
            title=Signal::derive(move || format!("Delete scope map {}?", name.get_value()))
            confirm_label="Delete scope map"
            pending=delete.pending()
            error=Signal::derive(|| None::<String>)
            on_confirm=Callback::new(move |_: String| {
                delete.dispatch(DeleteScopeMap { csrf_token: csrf(), name: name.get_value() });
            })
            on_cancel=Callback::new(move |()| confirm_open.set(false))
            testid="delete-scope-map-dialog"
            confirm_testid="confirm">
            <p>
                "The scope map " <strong>{move || name.get_value()}</strong>
                " and its rules are deleted. A scope map that tokens still use cannot be deleted."
            </p>
        </ConfirmDialog>
    }
    .into_any()
}
