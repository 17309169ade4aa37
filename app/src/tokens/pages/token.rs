//! A token's page: status, scope map, its two password slots, generating
//! a password (shown once, with the login commands) and deleting.
//!
//! A generated password lives only in the generate dialog's signal: never
//! in the URL, a resource or the server-rendered HTML, and the signal is
//! cleared when the dialog closes.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    components::{
        copy::CopyButton,
        dialog::{ConfirmDialog, Modal},
        layout::use_capabilities,
        secret::GeneratedCredential,
        ui::{
            use_csrf, ErrorMessage, ExpiryDateField, Loading, CARD, DANGER_OUTLINE, HINT, INPUT, LABEL, LINK,
            PRIMARY, SECONDARY, SMALL_BUTTON, SMALL_DANGER, TABLE, TBODY, TD, TH, THEAD,
        },
    },
    model::Area,
    tokens::{
        api::{generate_password, get_token, list_scope_maps, DeletePassword, DeleteToken, UpdateToken},
        model::{GeneratedPassword, PasswordSlot, ScopeMap, Slot, TokenDetail},
        ui::{PasswordExpiry, Time},
    },
};

#[component]
pub fn TokenPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()));
    let update = ServerAction::<UpdateToken>::new();
    let delete_password = ServerAction::<DeletePassword>::new();
    let discard = ServerAction::<DeleteToken>::new();
    let generations = RwSignal::new(0_usize);
    // Refetched after every change; it never holds a password value.
    let detail = Resource::new(
        move || (name.get(), update.version().get(), delete_password.version().get(), generations.get()),
        |(name, ..)| get_token(name),
    );
    let scope_maps = Resource::new(|| (), |_| list_scope_maps());

    let generate_for = RwSignal::new(None::<PasswordSlot>);
    let delete_for = RwSignal::new(None::<Slot>);
    let discard_open = RwSignal::new(false);
    // The scope map was just changed: the page suggests new passwords. Kept
    // here, as the details are rendered anew from the refetched token.
    let scope_map_changed = RwSignal::new(false);
    let csrf = use_csrf();

    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = discard.value().get() {
            navigate(&format!("/tokens?discarded={}", name.get_untracked()), Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete_password.value().get() {
            delete_for.set(None);
        }
    });

    view! {
        <Title text=move || format!("Token {}", name.get()) />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/tokens" attr:class=LINK>"Tokens"</A> " / " {move || name.get()}
        </nav>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let detail = detail.await;
                let scope_maps = scope_maps.await;
                match (detail, scope_maps) {
                    (Ok(detail), Ok(scope_maps)) => view! {
                        <TokenDetails detail scope_maps update generate_for delete_for discard_open scope_map_changed />
                    }.into_any(),
                    (Err(error), _) | (_, Err(error)) => view! {
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{name.get_untracked()}</h1>
                        <ErrorMessage message=error.to_string() />
                    }.into_any(),
                }
            })}
        </Transition>

        <GenerateDialog token=name password=generate_for on_generated=Callback::new(move |()| generations.update(|n| *n += 1)) />

        <ConfirmDialog
            open=Signal::derive(move || delete_for.with(Option::is_some))
            title=Signal::derive(move || format!("Delete {}?", delete_for.get().map(Slot::as_str).unwrap_or_default()))
            confirm_label="Delete password"
            pending=delete_password.pending()
            error=Signal::derive(move || delete_password.value().get().and_then(Result::err).map(|e| e.to_string()))
            on_confirm=Callback::new(move |_: String| {
                if let Some(slot) = delete_for.get_untracked() {
                    delete_password.dispatch(DeletePassword { csrf_token: csrf(), name: name.get_untracked(), slot });
                }
            })
            on_cancel=Callback::new(move |()| {
                delete_for.set(None);
                delete_password.value().set(None);
            })
            testid="delete-password-dialog"
            confirm_testid="confirm">
            <p>
                "Anyone using " <strong>{move || delete_for.get().map(Slot::as_str).unwrap_or_default()}</strong>
                " of token " <strong>{move || name.get()}</strong> " is refused from the next request on. "
                "The other password keeps working."
            </p>
        </ConfirmDialog>

        <ConfirmDialog
            open=discard_open
            title=Signal::derive(move || format!("Discard token {}?", name.get()))
            confirm_label="Discard token"
            pending=discard.pending()
            error=Signal::derive(move || discard.value().get().and_then(Result::err).map(|e| e.to_string()))
            on_confirm=Callback::new(move |_: String| {
                discard.dispatch(DeleteToken { csrf_token: csrf(), name: name.get_untracked() });
            })
            on_cancel=Callback::new(move |()| discard_open.set(false))
            testid="discard-dialog"
            confirm_testid="confirm">
            <p>
                "The token " <strong data-testid="discard-name">{move || name.get()}</strong>
                " and both its passwords are deleted. Anything using them loses access at once. This cannot be undone."
            </p>
        </ConfirmDialog>
    }
    .into_any()
}

#[component]
fn TokenDetails(
    detail: TokenDetail,
    scope_maps: Vec<ScopeMap>,
    update: ServerAction<UpdateToken>,
    generate_for: RwSignal<Option<PasswordSlot>>,
    delete_for: RwSignal<Option<Slot>>,
    discard_open: RwSignal<bool>,
    scope_map_changed: RwSignal<bool>,
) -> impl IntoView {
    let csrf = use_csrf();
    // A user whose roles read the configuration but do not change it sees
    // the token without the controls.
    let writable = use_capabilities().get_untracked().can_write(Area::Configuration);
    let TokenDetail { token, login, rate_limits } = detail;
    let login_server = login.host;
    let name = StoredValue::new(token.name.clone());
    let enabled = token.enabled;
    let current_scope_map = token.scope_map.clone();
    let chosen = RwSignal::new(token.scope_map.clone());
    let changed = {
        let current = current_scope_map.clone();
        move || chosen.with(|chosen| *chosen != current)
    };
    let pending = update.pending();
    let error = move || update.value().get().and_then(Result::err).map(|error| error.to_string());
    let toggle = move |_| {
        scope_map_changed.set(false);
        update.dispatch(UpdateToken {
            csrf_token: csrf(),
            name: name.get_value(),
            enabled: Some(!enabled),
            scope_map: None,
        });
    };
    let change_scope_map = move |_| {
        scope_map_changed.set(true);
        update.dispatch(UpdateToken {
            csrf_token: csrf(),
            name: name.get_value(),
            enabled: None,
            scope_map: Some(chosen.get_untracked()),
        });
    };
    let scope_map_href = format!("/scope-maps/{}", token.scope_map);

    // Built in parts: one view of it all is too deep a type to compile.
    let header = view! {
        <div class="mt-2 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight" data-testid="token-name">{token.name.clone()}</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "Created " <Time time=token.created.clone() /> " · Last used "
                    {match token.last_used.clone() {
                        Some(time) => view! { <Time time /> }.into_any(),
                        None => "never".into_any(),
                    }}
                </p>
            </div>
            {writable.then(|| view! {
                <button type="button" class=DANGER_OUTLINE data-testid="discard-token"
                    on:click=move |_| { discard_open.set(true); }>"Discard"</button>
            })}
        </div>
    }
    .into_any();
    let settings = view! {
        <section class=format!("{CARD} mt-6") aria-labelledby="settings-heading">
            <h2 id="settings-heading" class="text-lg font-medium">"Settings"</h2>
            <dl class="mt-4 grid gap-6 sm:grid-cols-2">
                <div>
                    <dt class=LABEL id="status-label">"Status"</dt>
                    <dd class="mt-2 flex items-center gap-3">
                        {writable.then(|| view! {
                        <button type="button" role="switch" aria-checked=enabled.to_string() aria-labelledby="status-label"
                            data-testid="status-switch" disabled=move || pending.get() on:click=toggle
                            class=if enabled {
                                "relative inline-flex h-6 w-11 shrink-0 items-center rounded-full bg-green-600 transition focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2 disabled:opacity-60"
                            } else {
                                "relative inline-flex h-6 w-11 shrink-0 items-center rounded-full bg-slate-300 transition focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2 disabled:opacity-60"
                            }>
                            <span aria-hidden="true" class=if enabled {
                                "inline-block h-5 w-5 translate-x-5 rounded-full bg-white shadow transition"
                            } else {
                                "inline-block h-5 w-5 translate-x-0.5 rounded-full bg-white shadow transition"
                            }></span>
                        </button>
                        })}
                        <span class="text-sm" data-testid="status-text">{if enabled { "Enabled" } else { "Disabled: every login with it is refused" }}</span>
                    </dd>
                </div>
                <div>
                    <dt class=LABEL><label for="scope-map-select">"Scope map"</label></dt>
                    <dd class="mt-1">
                        {if !writable {
                            view! { <p class="mt-2 font-mono text-sm" data-testid="scope-map-name">{token.scope_map.clone()}</p> }.into_any()
                        } else { view! {
                        <div class="flex flex-wrap items-center gap-2">
                            <select id="scope-map-select" class=format!("{INPUT} mt-0 w-auto min-w-56") data-testid="scope-map-select"
                                on:change=move |event| chosen.set(event_target_value(&event))>
                                {scope_maps.into_iter().map(|map| {
                                    let selected = map.name == current_scope_map;
                                    let label = if map.system { format!("{} (system)", map.name) } else { map.name.clone() };
                                    view! { <option value=map.name selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                            <Show when=changed.clone()>
                                <button type="button" class=SECONDARY data-testid="change-scope-map" disabled=move || pending.get()
                                    on:click=change_scope_map>"Change"</button>
                            </Show>
                        </div>
                        }.into_any() }}
                        <p class=HINT>
                            <A href=scope_map_href attr:class=LINK>"Open " {token.scope_map.clone()}</A>
                            " to see or edit what it grants."
                        </p>
                    </dd>
                </div>
            </dl>
        </section>
    }
    .into_any();
    let passwords = view! {
        <section class=format!("{CARD} mt-4") aria-labelledby="passwords-heading">
            <h2 id="passwords-heading" class="text-lg font-medium">"Passwords"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Two passwords, so one can be replaced while the other keeps working. A password is shown once, when it is generated."
            </p>
            <PasswordsTable passwords=token.passwords generate_for delete_for writable />
        </section>
    }
    .into_any();
    let login = view! {
        <section class=format!("{CARD} mt-4") aria-labelledby="login-heading">
            <h2 id="login-heading" class="text-lg font-medium">"Login server"</h2>
            <div class="mt-2 flex flex-wrap items-center gap-2">
                <code class="rounded bg-slate-100 px-2 py-1 font-mono text-sm" data-testid="login-server">{login_server.clone()}</code>
                <CopyButton text=login_server.clone() what="login server" testid="copy-login-server" />
            </div>
            <p class=HINT>"User name: " <code class="font-mono">{token.name.clone()}</code>
                ". Generate a password to get the login commands."</p>
        </section>
    }
    .into_any();
    let limits = view! {
        <section class=format!("{CARD} mt-4") aria-labelledby="rate-limits-heading" data-testid="rate-limits">
            <h2 id="rate-limits-heading" class="text-lg font-medium">"Rate limits"</h2>
            <p class="mt-1 text-sm text-slate-600" data-testid="rate-limit-summary">
                "This token may make " {rate_limits.summary()} " (pulls and lookups are reads; pushes and deletes are writes). "
                "Over a limit, requests are refused with 429 Too Many Requests until the allowance refills. The registry's operator sets the limits."
            </p>
            {if rate_limits.refusals.is_empty() {
                view! { <p class="mt-3 text-sm" data-testid="rate-refusals-none">"No request was refused for going over a limit in the last 24 hours."</p> }.into_any()
            } else { view! {
                <p class="mt-3 text-sm font-medium text-amber-800" data-testid="rate-refusals-count">
                    {format!("Refused for going over a limit in the last 24 hours (at most one entry a minute): {}", rate_limits.refusals.len())}
                </p>
                <ul class="mt-2 space-y-1 text-sm" data-testid="rate-refusals">
                    {rate_limits.refusals.into_iter().map(|refusal| view! {
                        <li data-testid="rate-refusal"><Time time=refusal.at /> " · " {refusal.reason}</li>
                    }).collect_view()}
                </ul>
            }.into_any() }}
        </section>
    }
    .into_any();
    view! {
        {header}
        {move || error().map(|message| view! { <ErrorMessage message testid="update-error" /> })}
        {move || (scope_map_changed.get() && !pending.get() && error().is_none()).then(|| view! {
            <p class="mt-4 rounded bg-blue-50 px-3 py-2 text-sm text-blue-900 ring-1 ring-blue-200" role="status"
                data-testid="rotate-suggestion">
                "The scope map is changed from the next request. If the token changed hands, generate new passwords "
                "(one slot at a time, so the other keeps working), so that only the new holder can use it."
            </p>
        })}
        {settings}
        {passwords}
        {limits}
        {login}
    }
    .into_any()
}

/// The two password slots, each with Generate (or Regenerate) and Delete.
#[component]
fn PasswordsTable(
    passwords: Vec<PasswordSlot>,
    generate_for: RwSignal<Option<PasswordSlot>>,
    delete_for: RwSignal<Option<Slot>>,
    writable: bool,
) -> impl IntoView {
    view! {
        <div class="relative mt-3 overflow-x-auto">
            <table class=TABLE>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Password"</th>
                        <th scope="col" class=TH>"Created"</th>
                        <th scope="col" class=TH>"Expires"</th>
                        <th scope="col" class=TH aria-label="Actions"></th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {passwords.into_iter().map(|slot| {
                        let for_dialog = slot.clone();
                        let slot_name = slot.name;
                        let generated = slot.generated();
                        view! {
                            <tr data-testid="password-row" data-slot=slot.name.as_str()>
                                <th scope="row" class=format!("{TD} font-medium")>{slot.name.as_str()}</th>
                                <td class=TD data-testid="password-created">{match slot.created.clone() {
                                    Some(time) => view! { <Time time /> }.into_any(),
                                    None => view! { <span class="text-slate-400">"Not generated"</span> }.into_any(),
                                }}</td>
                                <td class=TD data-testid="password-expiry"><PasswordExpiry password=slot.clone() /></td>
                                <td class=format!("{TD} text-right")>
                                    {writable.then(|| view! {
                                        <div class="flex justify-end gap-2">
                                            <button type="button" class=SMALL_BUTTON data-testid=format!("generate-{}", slot_name)
                                                on:click=move |_| generate_for.set(Some(for_dialog.clone()))>
                                                {if generated { "Regenerate" } else { "Generate" }}
                                            </button>
                                            {generated.then(|| view! {
                                                <button type="button" class=SMALL_DANGER data-testid=format!("delete-{slot_name}")
                                                    on:click=move |_| delete_for.set(Some(slot_name))>"Delete"</button>
                                            })}
                                        </div>
                                    })}
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

/// Generate one password: an optional expiry date, then the password and
/// the login commands, shown once.
#[component]
fn GenerateDialog(
    token: Memo<String>,
    password: RwSignal<Option<PasswordSlot>>,
    on_generated: Callback<()>,
) -> impl IntoView {
    let slot = password;
    let csrf = use_csrf();
    let expiry = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The one place the new password is held; emptied on close.
    let generated = RwSignal::new(None::<GeneratedPassword>);
    let close = Callback::new(move |()| {
        generated.set(None);
        error.set(None);
        expiry.set(String::new());
        pending.set(false);
        slot.set(None);
    });
    let open = Signal::derive(move || slot.with(Option::is_some));
    let title = Signal::derive(move || {
        slot.with(|slot| slot.as_ref().map(|slot| format!("Generate {}", slot.name)).unwrap_or_default())
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(chosen) = slot.get_untracked() else { return };
        pending.set(true);
        error.set(None);
        let date = expiry.get_untracked();
        let request = (csrf(), token.get_untracked(), chosen.name, (!date.is_empty()).then_some(date));
        spawn_local(async move {
            let (csrf_token, name, slot_name, expiry) = request;
            let result = generate_password(csrf_token, name, slot_name, expiry).await;
            pending.try_set(false);
            match result {
                Ok(password) => {
                    // Shown only if its dialog is still the open one.
                    if slot.try_with_untracked(|open| open.as_ref().map(|s| s.name == slot_name)).flatten()
                        == Some(true)
                    {
                        generated.try_set(Some(password));
                    }
                    on_generated.run(());
                }
                Err(failure) => {
                    error.try_set(Some(failure.to_string()));
                }
            }
        });
    };
    view! {
        <Modal open title testid="generate-dialog" on_close=close>
            {move || match generated.get() {
                Some(password) => view! { <GeneratedView password close /> }.into_any(),
                None => {
                    let current = slot.get_untracked();
                    let replaces = current.as_ref().is_some_and(PasswordSlot::generated);
                    let slot_name = current.map(|slot| slot.name.as_str()).unwrap_or_default();
                    view! {
                        <form class="mt-3 space-y-4" on:submit=submit data-testid="generate-form">
                            <p class="text-sm text-slate-700">
                                {if replaces {
                                    format!("The current {slot_name} stops working as soon as the new one is generated; the other password keeps working.")
                                } else {
                                    format!("{slot_name} of {} is not generated yet.", token.get_untracked())
                                }}
                            </p>
                            <ExpiryDateField expiry what="The password" testid="expiry-input" />
                            {move || error.get().map(|message| view! { <ErrorMessage message testid="generate-error" /> })}
                            <div class="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
                                <button type="button" class=SECONDARY on:click=move |_| close.run(())>"Cancel"</button>
                                <button type="submit" class=PRIMARY data-testid="generate-submit" disabled=move || pending.get()>
                                    {move || if pending.get() { "Generating…" } else { "Generate" }}
                                </button>
                            </div>
                        </form>
                    }.into_any()
                }
            }}
        </Modal>
    }
    .into_any()
}

/// The new password, once: with its copy button, where to keep it, and
/// the login lines that read it without echo.
#[component]
fn GeneratedView(password: GeneratedPassword, close: Callback<()>) -> impl IntoView {
    view! {
        <GeneratedCredential label=format!("{} of {}", password.slot.as_str(), password.token)
            value=password.value.expose().to_owned() what="password" testid="generated-password"
            copy_testid="copy-password" expiry=password.expiry login=password.login username=password.token
            variable="TOKEN_PWD" done=close />
    }
}
