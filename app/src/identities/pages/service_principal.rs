//! A service principal's page: status, application id, groups, client
//! secrets (a new one with an expiry, shown once with the copyable
//! `docker login` and `podman login` commands; delete), federated
//! credentials (each with the CI snippet that exchanges the job's ID token
//! and logs in; create, delete), role assignments; enable or disable and
//! delete behind a confirmation.
//!
//! A new secret lives only in its dialog's signal: never in the URL, a
//! resource or the server-rendered HTML, and it is cleared on close.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    components::{
        dialog::{ConfirmDialog, Modal},
        secret::GeneratedCredential,
        ui::{
            use_csrf, ErrorMessage, ExpiryDateField, Loading, CARD, DANGER_OUTLINE, HINT, INPUT, LABEL, LINK,
            PRIMARY, SECONDARY, SMALL_DANGER, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD,
        },
    },
    identities::{
        api::{
            generate_secret, get_service_principal, CreateFederated, DeleteFederated, DeleteSecret,
            DeleteServicePrincipal, SetServicePrincipalEnabled,
        },
        model::{
            Client, ClientSecret, FederatedCredential, GeneratedSecret, LoginServer, ServicePrincipalDetail,
        },
        ui::{use_can_write, AssignmentsSection, Snippet, StatusBadge, Time},
    },
};

/// What a confirmation dialog of this page is about.
#[derive(Clone, Debug, PartialEq)]
enum Deleting {
    ServicePrincipal,
    Secret(String),
    Federated(String),
}

#[component]
pub fn ServicePrincipalPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()));
    let enable = ServerAction::<SetServicePrincipalEnabled>::new();
    let delete = ServerAction::<DeleteServicePrincipal>::new();
    let delete_secret = ServerAction::<DeleteSecret>::new();
    let create_federated = ServerAction::<CreateFederated>::new();
    let delete_federated = ServerAction::<DeleteFederated>::new();
    let generations = RwSignal::new(0_usize);
    // Refetched after every change; it never holds a secret value.
    let detail = Resource::new(
        move || {
            (
                name.get(),
                enable.version().get(),
                delete_secret.version().get(),
                delete_federated.version().get(),
                generations.get(),
            )
        },
        |(name, ..)| get_service_principal(name),
    );
    let can_write = use_can_write();
    let csrf = use_csrf();
    let deleting = RwSignal::new(None::<Deleting>);
    let generate_open = RwSignal::new(false);

    // A refused credential leaves the form as typed; a created one reloads
    // the page's data (and so empties the form).
    Effect::new(move |_| {
        if let Some(Ok(_)) = create_federated.value().get() {
            generations.update(|n| *n += 1);
        }
    });

    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/service-principals", Default::default());
        }
    });
    Effect::new(move |_| {
        if matches!(delete_secret.value().get(), Some(Ok(())))
            || matches!(delete_federated.value().get(), Some(Ok(())))
        {
            deleting.set(None);
            delete_secret.value().set(None);
            delete_federated.value().set(None);
        }
    });

    let confirm_pending = Signal::derive(move || {
        delete.pending().get() || delete_secret.pending().get() || delete_federated.pending().get()
    });
    let confirm_error = Signal::derive(move || {
        let error = match deleting.get() {
            Some(Deleting::ServicePrincipal) => delete.value().get().and_then(Result::err),
            Some(Deleting::Secret(_)) => delete_secret.value().get().and_then(Result::err),
            Some(Deleting::Federated(_)) => delete_federated.value().get().and_then(Result::err),
            None => None,
        };
        error.map(|error| error.to_string())
    });

    view! {
        <Title text=move || format!("Service principal {}", name.get()) />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/service-principals" attr:class=LINK>"Service principals"</A> " / " {move || name.get()}
        </nav>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! {
                        <Details detail can_write enable create_federated deleting generate_open />
                    }.into_any(),
                    Err(error) => view! {
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{name.get_untracked()}</h1>
                        <ErrorMessage message=error.to_string() />
                    }.into_any(),
                }
            })}
        </Transition>

        <GenerateSecretDialog service_principal=name open=generate_open
            on_generated=Callback::new(move |()| generations.update(|n| *n += 1)) />

        <ConfirmDialog
            open=Signal::derive(move || deleting.with(Option::is_some))
            title=Signal::derive(move || match deleting.get() {
                Some(Deleting::ServicePrincipal) => format!("Delete service principal {}?", name.get()),
                Some(Deleting::Secret(key_id)) => format!("Delete client secret {key_id}?"),
                Some(Deleting::Federated(credential)) => format!("Delete federated credential {credential}?"),
                None => String::new(),
            })
            confirm_label="Delete"
            pending=confirm_pending
            error=confirm_error
            on_confirm=Callback::new(move |_: String| {
                let name = name.get_untracked();
                match deleting.get_untracked() {
                    Some(Deleting::ServicePrincipal) => {
                        delete.dispatch(DeleteServicePrincipal { csrf_token: csrf(), name });
                    }
                    Some(Deleting::Secret(key_id)) => {
                        delete_secret.dispatch(DeleteSecret { csrf_token: csrf(), name, key_id });
                    }
                    Some(Deleting::Federated(credential)) => {
                        delete_federated.dispatch(DeleteFederated { csrf_token: csrf(), name, credential });
                    }
                    None => {}
                }
            })
            on_cancel=Callback::new(move |()| {
                deleting.set(None);
                delete.value().set(None);
                delete_secret.value().set(None);
                delete_federated.value().set(None);
            })
            testid="delete-dialog"
            confirm_testid="confirm">
            <p>{move || match deleting.get() {
                Some(Deleting::ServicePrincipal) => format!(
                    "{} can no longer log in from the next request on, with any secret or federated credential; its group memberships and role assignments go with it.",
                    name.get()),
                Some(Deleting::Secret(_)) => "Anyone logging in with this secret is refused from the next request on; the other secrets keep working.".to_owned(),
                Some(Deleting::Federated(_)) => "Pipelines that exchange their ID token through this credential are refused from the next request on, and the refresh tokens it gave stop working.".to_owned(),
                None => String::new(),
            }}</p>
        </ConfirmDialog>
    }
    .into_any()
}

#[component]
fn Details(
    detail: ServicePrincipalDetail,
    can_write: Signal<bool>,
    enable: ServerAction<SetServicePrincipalEnabled>,
    create_federated: ServerAction<CreateFederated>,
    deleting: RwSignal<Option<Deleting>>,
    generate_open: RwSignal<bool>,
) -> impl IntoView {
    let csrf = use_csrf();
    let sp = detail.service_principal;
    let enabled = sp.enabled;
    let name = StoredValue::new(sp.name.clone());
    let error = move || enable.value().get().and_then(Result::err).map(|error| error.to_string());
    let login = detail.login;
    view! {
        <div class="mt-2 flex flex-wrap items-center justify-between gap-4">
            <h1 class="flex items-center gap-3 text-2xl font-semibold tracking-tight" data-testid="sp-title">
                {sp.name.clone()} <StatusBadge enabled />
            </h1>
            <Show when=move || can_write.get()>
                <div class="flex flex-wrap gap-2">
                    <button type="button" class=SECONDARY data-testid="toggle-enabled" disabled=move || enable.pending().get()
                        on:click=move |_| { enable.dispatch(SetServicePrincipalEnabled {
                            csrf_token: csrf(), name: name.get_value(), enabled: !enabled,
                        }); }>
                        {if enabled { "Disable" } else { "Enable" }}
                    </button>
                    <button type="button" class=DANGER_OUTLINE data-testid="delete-sp"
                        on:click=move |_| deleting.set(Some(Deleting::ServicePrincipal))>"Delete"</button>
                </div>
            </Show>
        </div>
        {move || error().map(|message| view! { <ErrorMessage message testid="update-error" /> })}
        <section class=format!("{CARD} mt-4") aria-label="Details">
            <dl class="grid gap-4 text-sm sm:grid-cols-2">
                <div><dt class="text-slate-500">"Application id"</dt>
                    <dd><code class="font-mono" data-testid="app-id">{sp.app_id.clone()}</code></dd></div>
                <div><dt class="text-slate-500">"Description"</dt>
                    <dd>{if sp.description.is_empty() { "—".to_owned() } else { sp.description.clone() }}</dd></div>
                <div><dt class="text-slate-500">"Created"</dt><dd><Time time=sp.created.clone() /></dd></div>
                <div><dt class="text-slate-500">"Last sign-in"</dt><dd>{match sp.last_sign_in.clone() {
                    Some(time) => view! { <Time time /> }.into_any(),
                    None => view! { <span class="text-slate-400">"Never"</span> }.into_any(),
                }}</dd></div>
                <div><dt class="text-slate-500">"Groups"</dt><dd data-testid="sp-groups">{if sp.groups.is_empty() {
                    view! { <span class="text-slate-400">"None"</span> }.into_any()
                } else {
                    sp.groups.clone().into_iter().map(|group| view! {
                        <A href=format!("/groups/{group}") attr:class=format!("{LINK} mr-2")>{group}</A>
                    }).collect_view().into_any()
                }}</dd></div>
                <div><dt class="text-slate-500">"Login server"</dt>
                    <dd><code class="font-mono" data-testid="login-server">{login.host.clone()}</code></dd></div>
            </dl>
        </section>
        <SecretsSection secrets=sp.secrets can_write deleting generate_open />
        <FederatedSection credentials=detail.federated login service_principal=sp.name.clone() can_write create_federated deleting />
        <AssignmentsSection assignments=detail.assignments of=sp.name />
    }
    .into_any()
}

#[component]
fn SecretsSection(
    secrets: Vec<ClientSecret>,
    can_write: Signal<bool>,
    deleting: RwSignal<Option<Deleting>>,
    generate_open: RwSignal<bool>,
) -> impl IntoView {
    let empty = secrets.is_empty();
    view! {
        <section class="mt-8" aria-labelledby="secrets-heading">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 id="secrets-heading" class="text-lg font-medium">"Client secrets"</h2>
                <Show when=move || can_write.get()>
                    <button type="button" class=SECONDARY data-testid="new-secret" on:click=move |_| generate_open.set(true)>
                        "+ New client secret"
                    </button>
                </Show>
            </div>
            <p class="mt-1 text-sm text-slate-600">"A secret's value is shown once, when it is generated."</p>
            <div class=format!("{TABLE_WRAP} mt-3")>
                <table class=TABLE data-testid="secrets-table">
                    <thead class=THEAD>
                        <tr>
                            <th scope="col" class=TH>"Key id"</th>
                            <th scope="col" class=TH>"Description"</th>
                            <th scope="col" class=TH>"Created"</th>
                            <th scope="col" class=TH>"Expires"</th>
                            <th scope="col" class=TH aria-label="Actions"></th>
                        </tr>
                    </thead>
                    <tbody class=TBODY>
                        {secrets.into_iter().map(|secret| {
                            let key_id = secret.key_id.clone();
                            let row_key = secret.key_id.clone();
                            view! {
                                <tr data-testid="secret-row" data-key=row_key>
                                    <td class=TD><code class="font-mono text-xs">{secret.key_id.clone()}</code></td>
                                    <td class=TD_WRAP>{secret.description.clone()}</td>
                                    <td class=TD><Time time=secret.created.clone() /></td>
                                    <td class=TD data-testid="secret-expiry">{match secret.expiry.clone() {
                                        Some(time) => view! {
                                            <Time time />
                                            {secret.expired.then(|| view! {
                                                <span class="ml-1.5 rounded bg-red-50 px-1.5 text-xs font-medium text-red-800 ring-1 ring-red-200">"Expired"</span>
                                            })}
                                        }.into_any(),
                                        None => view! { <span class="text-slate-600">"No expiry"</span> }.into_any(),
                                    }}</td>
                                    <td class=format!("{TD} text-right")>
                                        <Show when=move || can_write.get()>
                                            <button type="button" class=SMALL_DANGER data-testid="delete-secret"
                                                aria-label=format!("Delete secret {key_id}")
                                                on:click={
                                                    let key_id = key_id.clone();
                                                    move |_| deleting.set(Some(Deleting::Secret(key_id.clone())))
                                                }>"Delete"</button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                {empty.then(|| view! { <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="secrets-empty">"No client secrets."</p> })}
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn FederatedSection(
    credentials: Vec<FederatedCredential>,
    login: LoginServer,
    service_principal: String,
    can_write: Signal<bool>,
    create_federated: ServerAction<CreateFederated>,
    deleting: RwSignal<Option<Deleting>>,
) -> impl IntoView {
    let empty = credentials.is_empty();
    view! {
        <section class="mt-8" aria-labelledby="federated-heading">
            <h2 id="federated-heading" class="text-lg font-medium">"Federated credentials"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "A pipeline whose OpenID Connect ID token matches one of these exchanges it at "
                <code class="font-mono">"POST /oauth2/exchange"</code>
                " for a refresh token and logs in with it: no secret to store."
            </p>
            {empty.then(|| view! { <p class="mt-3 text-sm text-slate-500" data-testid="federated-empty">"No federated credentials."</p> })}
            <ul class="mt-3 space-y-4">
                {credentials.into_iter().map(|credential| {
                    let snippets = Client::ALL
                        .into_iter()
                        .map(|client| {
                            let command = client.command();
                            let label = if client == Client::Docker { "In the CI job, with Docker" } else { "In the CI job, with Podman" };
                            let copy_testid = if client == Client::Docker { "copy-federated-docker" } else { "copy-federated-podman" };
                            view! {
                                <Snippet label snippet=credential.ci_snippet(&login, client) what="CI login snippet"
                                    testid=format!("federated-snippet-{command}") copy_testid />
                            }
                        })
                        .collect_view();
                    let credential_name = credential.name.clone();
                    let row_name = credential.name.clone();
                    view! {
                        <li class=CARD data-testid="federated-row" data-name=row_name>
                            <div class="flex flex-wrap items-start justify-between gap-2">
                                <h3 class="font-medium">{credential.name.clone()}</h3>
                                <Show when=move || can_write.get()>
                                    <button type="button" class=SMALL_DANGER data-testid="delete-federated"
                                        aria-label=format!("Delete federated credential {credential_name}")
                                        on:click={
                                            let credential = credential_name.clone();
                                            move |_| deleting.set(Some(Deleting::Federated(credential.clone())))
                                        }>"Delete"</button>
                                </Show>
                            </div>
                            <dl class="mt-2 grid gap-2 text-sm sm:grid-cols-3">
                                <div><dt class="text-slate-500">"Issuer"</dt><dd class="break-all" data-testid="federated-issuer">{credential.issuer.clone()}</dd></div>
                                <div><dt class="text-slate-500">"Audience"</dt><dd class="break-all" data-testid="federated-audience">{credential.audience.clone()}</dd></div>
                                <div><dt class="text-slate-500">"Subject"</dt><dd class="break-all" data-testid="federated-subject">{credential.subject.clone()}</dd></div>
                            </dl>
                            <div class="mt-3 space-y-3">{snippets}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || can_write.get()>
                <NewFederatedForm service_principal=service_principal.clone() create=create_federated />
            </Show>
        </section>
    }
    .into_any()
}

#[component]
fn NewFederatedForm(service_principal: String, create: ServerAction<CreateFederated>) -> impl IntoView {
    let csrf = use_csrf();
    let service_principal = StoredValue::new(service_principal);
    let name = RwSignal::new(String::new());
    let issuer = RwSignal::new(String::new());
    let audience = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        create.dispatch(CreateFederated {
            csrf_token: csrf(),
            name: service_principal.get_value(),
            credential: name.get_untracked(),
            issuer: issuer.get_untracked(),
            audience: audience.get_untracked(),
            subject: subject.get_untracked(),
            description: description.get_untracked(),
        });
    };
    let error = move || create.value().get().and_then(Result::err).map(|error| error.to_string());
    let field = move |label: &'static str,
                      hint: &'static str,
                      testid: &'static str,
                      value: RwSignal<String>| {
        view! {
            <label class="block">
                <span class=LABEL>{label}</span>
                <input class=INPUT autocomplete="off" spellcheck="false" data-testid=testid bind:value=value />
                <span class=HINT>{hint}</span>
            </label>
        }
    };
    view! {
        <form class=format!("{CARD} mt-4 space-y-4") on:submit=submit aria-label="New federated credential" data-testid="new-federated-form">
            <h3 class="font-medium">"New federated credential"</h3>
            <div class="grid gap-4 sm:grid-cols-2">
                {field("Credential name", "1 to 120 letters, digits and . _ -", "federated-name-input", name)}
                {field("Issuer", "The ID tokens' iss claim, e.g. https://token.actions.githubusercontent.com", "federated-issuer-input", issuer)}
                {field("Audience", "A value the tokens' aud claim must hold, e.g. api://portcullis", "federated-audience-input", audience)}
                {field("Subject", "The tokens' sub claim; * matches any run of characters", "federated-subject-input", subject)}
                {field("Description (optional)", "", "federated-description-input", description)}
            </div>
            {move || error().map(|message| view! { <ErrorMessage message testid="federated-error" /> })}
            <button type="submit" class=PRIMARY data-testid="create-federated" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Adding…" } else { "Add federated credential" }}
            </button>
        </form>
    }
    .into_any()
}

/// A new client secret: a description and an optional expiry date, then
/// the secret and the login commands, shown once.
#[component]
fn GenerateSecretDialog(
    service_principal: Memo<String>,
    open: RwSignal<bool>,
    on_generated: Callback<()>,
) -> impl IntoView {
    let csrf = use_csrf();
    let description = RwSignal::new(String::new());
    let expiry = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The one place the new secret is held; emptied on close.
    let generated = RwSignal::new(None::<GeneratedSecret>);
    let close = Callback::new(move |()| {
        generated.set(None);
        error.set(None);
        description.set(String::new());
        expiry.set(String::new());
        pending.set(false);
        open.set(false);
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let date = expiry.get_untracked();
        let request = (csrf(), service_principal.get_untracked(), description.get_untracked());
        spawn_local(async move {
            let (csrf_token, name, description) = request;
            let result =
                generate_secret(csrf_token, name, description, (!date.is_empty()).then_some(date)).await;
            pending.try_set(false);
            match result {
                Ok(secret) => {
                    // Shown only if its dialog is still open.
                    if open.try_get_untracked() == Some(true) {
                        generated.try_set(Some(secret));
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
        <Modal open title=Signal::derive(move || format!("New client secret for {}", service_principal.get()))
            testid="secret-dialog" on_close=close>
            {move || match generated.get() {
                Some(secret) => view! { <GeneratedSecretView secret done=close /> }.into_any(),
                None => view! {
                    <form class="mt-3 space-y-4" on:submit=submit data-testid="secret-form">
                        <p class="text-sm text-slate-700">"The other secrets keep working."</p>
                        <label class="block">
                            <span class=LABEL>"Description (optional)"</span>
                            <input class=INPUT autocomplete="off" data-testid="secret-description-input" bind:value=description />
                        </label>
                        <ExpiryDateField expiry what="The secret" testid="secret-expiry-input" />
                        {move || error.get().map(|message| view! { <ErrorMessage message testid="secret-error" /> })}
                        <div class="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
                            <button type="button" class=SECONDARY on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class=PRIMARY data-testid="secret-submit" disabled=move || pending.get()>
                                {move || if pending.get() { "Generating…" } else { "Generate" }}
                            </button>
                        </div>
                    </form>
                }.into_any(),
            }}
        </Modal>
    }
    .into_any()
}

/// The new secret, once: with its copy button, where to keep it, and the
/// login lines that read it without echo.
#[component]
pub(super) fn GeneratedSecretView(secret: GeneratedSecret, done: Callback<()>) -> impl IntoView {
    view! {
        <GeneratedCredential label=format!("Client secret {}", secret.key_id) value=secret.value.expose().to_owned()
            what="client secret" testid="generated-secret" copy_testid="copy-secret" expiry=secret.expiry
            login=secret.login username=secret.service_principal variable="SP_SECRET" done />
    }
}
