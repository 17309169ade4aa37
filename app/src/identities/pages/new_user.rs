//! New user: a name, a display name and a password the administrator types
//! or has generated. A generated password is shown once, in a dialog with
//! a copy button, then the user's page opens.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{
    components::{
        dialog::Modal,
        ui::{use_csrf, ErrorMessage, CARD, HINT, INPUT, LABEL, LINK, PRIMARY, SECONDARY},
    },
    identities::{
        api::create_user,
        model::{NewPassword, Password},
        ui::{PasswordChoiceFields, SecretValue, ShownOnceWarning},
    },
};

#[component]
pub fn NewUserPage() -> impl IntoView {
    let csrf = use_csrf();
    let name = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let generate = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The one place a generated password is held; emptied on close.
    let created = RwSignal::new(None::<NewPassword>);
    let navigate = use_navigate();
    let open_user =
        Callback::new(move |user: String| navigate(&format!("/users/{user}"), Default::default()));

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let generating = generate.get_untracked();
        let typed = (!generating).then(|| Password::new(password.get_untracked()));
        let request = (csrf(), name.get_untracked(), display_name.get_untracked());
        spawn_local(async move {
            let (csrf_token, name, display_name) = request;
            let result = create_user(csrf_token, name, display_name, typed, generating).await;
            pending.try_set(false);
            match result {
                Ok(answer) if answer.value.is_some() => {
                    password.try_set(String::new());
                    created.try_set(Some(answer));
                }
                Ok(answer) => open_user.run(answer.user),
                Err(failure) => {
                    error.try_set(Some(failure.to_string()));
                }
            }
        });
    };
    let done = Callback::new(move |()| {
        if let Some(answer) = created.get_untracked() {
            created.set(None);
            open_user.run(answer.user);
        }
    });

    view! {
        <Title text="New user" />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/users" attr:class=LINK>"Users"</A> " / New"
        </nav>
        <h1 class="mt-2 text-2xl font-semibold tracking-tight">"New user"</h1>
        <form class=format!("{CARD} mt-6 max-w-2xl space-y-6") on:submit=submit aria-label="New user" data-testid="new-user-form">
            <label class="block">
                <span class=LABEL>"User name"</span>
                <input class=INPUT name="name" required autocomplete="off" spellcheck="false" data-testid="user-name-input"
                    bind:value=name />
                <span class=HINT>"The name at sign-in and docker login: 1 to 64 letters, digits and . _ - @."</span>
            </label>
            <label class="block">
                <span class=LABEL>"Display name (optional)"</span>
                <input class=INPUT name="display_name" autocomplete="off" data-testid="display-name-input"
                    bind:value=display_name />
            </label>
            <PasswordChoiceFields generate password />
            {move || error.get().map(|message| view! { <ErrorMessage message testid="form-error" /> })}
            <div class="flex flex-wrap gap-3">
                <button type="submit" class=PRIMARY data-testid="create-user" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating…" } else { "Create" }}
                </button>
                <A href="/users" attr:class=SECONDARY>"Cancel"</A>
            </div>
        </form>

        <Modal open=Signal::derive(move || created.with(Option::is_some))
            title=Signal::derive(move || created.with(|c| c.as_ref().map(|c| format!("User {} created", c.user)).unwrap_or_default()))
            testid="password-dialog" on_close=done>
            {move || created.get().map(|answer| view! { <GeneratedPasswordView answer done /> })}
        </Modal>
    }
    .into_any()
}

/// A generated password, once, with its copy button.
#[component]
pub(super) fn GeneratedPasswordView(answer: NewPassword, done: Callback<()>) -> impl IntoView {
    let value = answer.value.as_ref().map(|value| value.expose().to_owned()).unwrap_or_default();
    view! {
        <div class="mt-3 space-y-4" data-testid="generated">
            <ShownOnceWarning what="password" />
            <SecretValue label=format!("Password of {}", answer.user) value what="password" testid="generated-password" copy_testid="copy-password" />
            <p class=HINT>"Give it to the user by a safe channel; they can change it under Change password once signed in."</p>
            <div class="flex justify-end">
                <button type="button" class=PRIMARY data-testid="generated-done" on:click=move |_| done.run(())>"Done"</button>
            </div>
        </div>
    }
}
