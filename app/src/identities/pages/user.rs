//! A user's page: status, groups and role assignments; enable or disable,
//! reset the password (typed, or generated and shown once) and delete
//! behind a confirmation. The service refuses a user disabling or deleting
//! themself; the page shows its message.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use super::new_user::GeneratedPasswordView;
use crate::{
    components::{
        dialog::{ConfirmDialog, Modal},
        ui::{use_csrf, ErrorMessage, Loading, CARD, DANGER_OUTLINE, LINK, PRIMARY, SECONDARY},
    },
    identities::{
        api::{get_user, reset_password, DeleteUser, SetUserEnabled},
        model::{NewPassword, Password, UserDetail},
        ui::{use_can_write, AssignmentsSection, PasswordChoiceFields, StatusBadge, Time},
    },
};

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()));
    let enable = ServerAction::<SetUserEnabled>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let detail = Resource::new(move || (name.get(), enable.version().get()), |(name, _)| get_user(name));
    let can_write = use_can_write();
    let csrf = use_csrf();
    let delete_open = RwSignal::new(false);
    let reset_open = RwSignal::new(false);

    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/users", Default::default());
        }
    });

    view! {
        <Title text=move || format!("User {}", name.get()) />
        <nav class="text-sm text-slate-600" aria-label="Breadcrumb">
            <A href="/users" attr:class=LINK>"Users"</A> " / " {move || name.get()}
        </nav>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! {
                        <UserDetails detail can_write enable delete_open reset_open />
                    }.into_any(),
                    Err(error) => view! {
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{name.get_untracked()}</h1>
                        <ErrorMessage message=error.to_string() />
                    }.into_any(),
                }
            })}
        </Transition>

        <ResetPasswordDialog user=name open=reset_open />

        <ConfirmDialog
            open=delete_open
            title=Signal::derive(move || format!("Delete user {}?", name.get()))
            confirm_label="Delete user"
            pending=delete.pending()
            error=Signal::derive(move || delete.value().get().and_then(Result::err).map(|e| e.to_string()))
            on_confirm=Callback::new(move |_: String| {
                delete.dispatch(DeleteUser { csrf_token: csrf(), name: name.get_untracked() });
            })
            on_cancel=Callback::new(move |()| {
                delete_open.set(false);
                delete.value().set(None);
            })
            testid="delete-user-dialog"
            confirm_testid="confirm">
            <p>
                <strong>{move || name.get()}</strong>
                " can no longer sign in or log in from the next request on; their group memberships and role assignments go with them."
            </p>
        </ConfirmDialog>
    }
    .into_any()
}

#[component]
fn UserDetails(
    detail: UserDetail,
    can_write: Signal<bool>,
    enable: ServerAction<SetUserEnabled>,
    delete_open: RwSignal<bool>,
    reset_open: RwSignal<bool>,
) -> impl IntoView {
    let csrf = use_csrf();
    let user = detail.user;
    let enabled = user.enabled;
    let name = user.name.clone();
    let toggle_name = user.name.clone();
    let error = move || enable.value().get().and_then(Result::err).map(|error| error.to_string());
    let groups = user.groups.clone();
    view! {
        <div class="mt-2 flex flex-wrap items-center justify-between gap-4">
            <h1 class="flex items-center gap-3 text-2xl font-semibold tracking-tight" data-testid="user-title">
                {name.clone()} <StatusBadge enabled />
                {detail.is_you.then(|| view! { <span class="text-sm font-normal text-slate-500">"(you)"</span> })}
            </h1>
            <Show when=move || can_write.get()>
                <div class="flex flex-wrap gap-2">
                    <button type="button" class=SECONDARY data-testid="toggle-enabled" disabled=move || enable.pending().get()
                        on:click={
                            let name = toggle_name.clone();
                            move |_| { enable.dispatch(SetUserEnabled { csrf_token: csrf(), name: name.clone(), enabled: !enabled }); }
                        }>
                        {if enabled { "Disable" } else { "Enable" }}
                    </button>
                    <button type="button" class=SECONDARY data-testid="reset-password" on:click=move |_| reset_open.set(true)>
                        "Reset password"
                    </button>
                    <button type="button" class=DANGER_OUTLINE data-testid="delete-user" on:click=move |_| delete_open.set(true)>
                        "Delete"
                    </button>
                </div>
            </Show>
        </div>
        {move || error().map(|message| view! { <ErrorMessage message testid="update-error" /> })}
        <section class=format!("{CARD} mt-4") aria-label="Details">
            <dl class="grid gap-4 text-sm sm:grid-cols-2">
                <div><dt class="text-slate-500">"Display name"</dt>
                    <dd data-testid="display-name">{if user.display_name.is_empty() { "—".to_owned() } else { user.display_name.clone() }}</dd></div>
                <div><dt class="text-slate-500">"Created"</dt><dd><Time time=user.created.clone() /></dd></div>
                <div><dt class="text-slate-500">"Last sign-in"</dt><dd>{match user.last_sign_in.clone() {
                    Some(time) => view! { <Time time /> }.into_any(),
                    None => view! { <span class="text-slate-400">"Never"</span> }.into_any(),
                }}</dd></div>
            </dl>
        </section>
        <section class="mt-8" aria-labelledby="groups-heading">
            <h2 id="groups-heading" class="text-lg font-medium">"Groups"</h2>
            {if groups.is_empty() {
                view! { <p class="mt-2 text-sm text-slate-500" data-testid="groups-empty">"Not a member of any group."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-2 flex flex-wrap gap-2" data-testid="user-groups">
                        {groups.into_iter().map(|group| view! {
                            <li><A href=format!("/groups/{group}") attr:class=LINK>{group.clone()}</A></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <AssignmentsSection assignments=detail.assignments of=name />
    }
    .into_any()
}

/// Reset a user's password: typed, or generated and shown once.
#[component]
fn ResetPasswordDialog(user: Memo<String>, open: RwSignal<bool>) -> impl IntoView {
    let csrf = use_csrf();
    let generate = RwSignal::new(true);
    let password = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done_message = RwSignal::new(None::<String>);
    // The one place a generated password is held; emptied on close.
    let generated = RwSignal::new(None::<NewPassword>);
    let close = Callback::new(move |()| {
        generated.set(None);
        password.set(String::new());
        error.set(None);
        done_message.set(None);
        pending.set(false);
        generate.set(true);
        open.set(false);
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let generating = generate.get_untracked();
        let typed = (!generating).then(|| Password::new(password.get_untracked()));
        let request = (csrf(), user.get_untracked());
        spawn_local(async move {
            let (csrf_token, name) = request;
            let result = reset_password(csrf_token, name, typed, generating).await;
            pending.try_set(false);
            match result {
                Ok(answer) if answer.value.is_some() => {
                    if open.try_get_untracked() == Some(true) {
                        generated.try_set(Some(answer));
                    }
                }
                Ok(answer) => {
                    password.try_set(String::new());
                    done_message.try_set(Some(format!("The password of {} is changed.", answer.user)));
                }
                Err(failure) => {
                    error.try_set(Some(failure.to_string()));
                }
            }
        });
    };
    view! {
        <Modal open title=Signal::derive(move || format!("Reset the password of {}", user.get())) testid="reset-dialog" on_close=close>
            {move || match (generated.get(), done_message.get()) {
                (Some(answer), _) => view! { <GeneratedPasswordView answer done=close /> }.into_any(),
                (None, Some(message)) => view! {
                    <div class="mt-3 space-y-4">
                        <p class="text-sm text-slate-700" role="status" data-testid="reset-done">{message}</p>
                        <div class="flex justify-end">
                            <button type="button" class=PRIMARY data-testid="reset-close" autofocus=true on:click=move |_| close.run(())>"Done"</button>
                        </div>
                    </div>
                }.into_any(),
                (None, None) => view! {
                    <form class="mt-3 space-y-4" on:submit=submit data-testid="reset-form">
                        <p class="text-sm text-slate-700">"The current password stops working at once."</p>
                        <PasswordChoiceFields generate password />
                        {move || error.get().map(|message| view! { <ErrorMessage message testid="reset-error" /> })}
                        <div class="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
                            <button type="button" class=SECONDARY on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class=PRIMARY data-testid="reset-submit" disabled=move || pending.get()>
                                {move || if pending.get() { "Resetting…" } else { "Reset password" }}
                            </button>
                        </div>
                    </form>
                }.into_any(),
            }}
        </Modal>
    }
    .into_any()
}
