//! The service principal list, and a new service principal for whoever may
//! change identities: with a first client secret (expiring on a date, or
//! never), shown once with the login commands, or without one.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use super::service_principal::GeneratedSecretView;
use crate::{
    components::{
        dialog::Modal,
        ui::{
            use_csrf, ErrorMessage, ExpiryDateField, Loading, CARD, HINT, INPUT, LABEL, LINK, PRIMARY, TABLE,
            TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD,
        },
    },
    identities::{
        api::{create_service_principal, list_service_principals},
        model::{GeneratedSecret, ServicePrincipal},
        ui::{use_can_write, StatusBadge, Time},
    },
};

#[component]
pub fn ServicePrincipalsPage() -> impl IntoView {
    let principals = Resource::new(|| (), |_| list_service_principals());
    let can_write = use_can_write();
    view! {
        <Title text="Service principals" />
        <h1 class="text-2xl font-semibold tracking-tight">"Service principals"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Identities for CI and deployments: docker login with a client secret, or a federated credential that trusts the pipeline's own ID token."
        </p>
        <Show when=move || can_write.get()>
            <NewServicePrincipalForm />
        </Show>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match principals.await {
                    Ok(principals) => view! { <ServicePrincipalTable principals /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn NewServicePrincipalForm() -> impl IntoView {
    let csrf = use_csrf();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let with_secret = RwSignal::new(true);
    let expiry = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The one place the first secret is held; emptied on close.
    let secret = RwSignal::new(None::<GeneratedSecret>);
    let navigate = use_navigate();
    let open_page = Callback::new(move |name: String| {
        navigate(&format!("/service-principals/{name}"), Default::default())
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let create_secret = with_secret.get_untracked();
        let date = expiry.get_untracked();
        let request = (csrf(), name.get_untracked(), description.get_untracked(), create_secret);
        spawn_local(async move {
            let (csrf_token, name, description, create_secret) = request;
            let expiry = (create_secret && !date.is_empty()).then_some(date);
            let result = create_service_principal(csrf_token, name, description, create_secret, expiry).await;
            pending.try_set(false);
            match result {
                Ok(created) => match created.secret {
                    Some(shown) => {
                        secret.try_set(Some(shown));
                    }
                    None => open_page.run(created.name),
                },
                Err(failure) => {
                    error.try_set(Some(failure.to_string()));
                }
            }
        });
    };
    let done = Callback::new(move |()| {
        if let Some(shown) = secret.get_untracked() {
            secret.set(None);
            open_page.run(shown.service_principal);
        }
    });
    view! {
        <form class=format!("{CARD} mt-6 space-y-4") on:submit=submit aria-label="New service principal" data-testid="new-sp-form">
            <h2 class="text-lg font-medium">"New service principal"</h2>
            <div class="grid gap-4 sm:grid-cols-2">
                <label class="block">
                    <span class=LABEL>"Name"</span>
                    <input class=INPUT required autocomplete="off" spellcheck="false" data-testid="sp-name-input" bind:value=name />
                    <span class=HINT>"The user name at docker login (its application id works too)."</span>
                </label>
                <label class="block">
                    <span class=LABEL>"Description (optional)"</span>
                    <input class=INPUT autocomplete="off" data-testid="sp-description-input" bind:value=description />
                </label>
            </div>
            <label class="inline-flex items-center gap-2 text-sm">
                <input type="checkbox" class="h-4 w-4 accent-blue-700" data-testid="sp-with-secret" bind:checked=with_secret />
                "Create a first client secret (shown once)"
            </label>
            <Show when=move || with_secret.get()>
                <div class="sm:w-64">
                    <ExpiryDateField expiry what="The secret" testid="sp-expiry-input" label="Secret expiry date (optional)" />
                </div>
            </Show>
            {move || error.get().map(|message| view! { <ErrorMessage message testid="form-error" /> })}
            <button type="submit" class=PRIMARY data-testid="create-sp" disabled=move || pending.get()>
                {move || if pending.get() { "Creating…" } else { "Create service principal" }}
            </button>
        </form>
        <Modal open=Signal::derive(move || secret.with(Option::is_some))
            title=Signal::derive(move || secret.with(|s| s.as_ref().map(|s| format!("Client secret of {}", s.service_principal)).unwrap_or_default()))
            testid="secret-dialog" on_close=done>
            {move || secret.get().map(|secret| view! { <GeneratedSecretView secret done /> })}
        </Modal>
    }
    .into_any()
}

#[component]
fn ServicePrincipalTable(principals: Vec<ServicePrincipal>) -> impl IntoView {
    let empty = principals.is_empty();
    view! {
        <div class=format!("{TABLE_WRAP} mt-6")>
            <table class=TABLE data-testid="sps-table">
                <caption class="sr-only">"Service principals, by name"</caption>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Application id"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=TH>"Secrets"</th>
                        <th scope="col" class=TH>"Created"</th>
                        <th scope="col" class=TH>"Last sign-in"</th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {principals.into_iter().map(|sp| {
                        let href = format!("/service-principals/{}", sp.name);
                        let row_name = sp.name.clone();
                        view! {
                            <tr data-testid="sp-row" data-name=row_name class="hover:bg-slate-50">
                                <td class=TD><A href=href attr:class=format!("{LINK} font-medium")>{sp.name}</A></td>
                                <td class=TD_WRAP><code class="font-mono text-xs">{sp.app_id}</code></td>
                                <td class=TD><StatusBadge enabled=sp.enabled /></td>
                                <td class=TD>{sp.secrets.len()}</td>
                                <td class=TD><Time time=sp.created /></td>
                                <td class=TD>{match sp.last_sign_in {
                                    Some(time) => view! { <Time time /> }.into_any(),
                                    None => view! { <span class="text-slate-400">"Never"</span> }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {empty.then(|| view! { <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="sps-empty">"No service principals yet."</p> })}
        </div>
    }
    .into_any()
}
