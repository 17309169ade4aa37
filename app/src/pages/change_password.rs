//! Change password: the signed-in administrator gives their current
//! password and the new one twice; the server's words on refusal, a
//! confirmation on success. Token holders are told they have no access.

use leptos::{html, prelude::*};
use leptos_meta::Title;

use crate::{
    api::account::ChangePassword,
    components::ui::{ErrorMessage, Loading, CARD, INPUT, LABEL, PRIMARY},
    error::PortalError,
    PortalSession,
};

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let session = expect_context::<PortalSession>();
    view! {
        <Title text="Change password" />
        <h1 class="text-2xl font-semibold tracking-tight">"Change password"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match session.info.await {
                    Ok(info) => match info.user {
                        Some(user) if !user.is_token() => {
                            view! { <ChangePasswordForm csrf=info.csrf_token /> }.into_any()
                        }
                        _ => view! { <ErrorMessage message=PortalError::Forbidden.to_string() /> }.into_any(),
                    },
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ChangePasswordForm(csrf: String) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let pending = change.pending();
    let form = NodeRef::<html::Form>::new();
    let changed = move || matches!(change.value().get(), Some(Ok(())));
    let error = move || change.value().get().and_then(Result::err).map(|error| error.to_string());
    // The typed passwords do not stay in the form once they are used.
    Effect::new(move |_| {
        if changed() {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
    view! {
        <p class="mt-1 text-sm text-slate-600" id="new-password-rules">
            "The new password needs at least 12 characters, and must differ from your current password and your user name."
        </p>
        <ActionForm action=change node_ref=form attr:class=format!("{CARD} mt-6 max-w-md space-y-4") attr:aria-label="Change password">
            <input type="hidden" name="csrf_token" value=csrf />
            <label class="block">
                <span class=LABEL>"Current password"</span>
                <input class=INPUT name="current_password" type="password" autocomplete="current-password" required />
            </label>
            <label class="block">
                <span class=LABEL>"New password"</span>
                <input class=INPUT name="new_password" type="password" autocomplete="new-password" required
                    aria-describedby="new-password-rules" />
            </label>
            <label class="block">
                <span class=LABEL>"Confirm new password"</span>
                <input class=INPUT name="confirmation" type="password" autocomplete="new-password" required />
            </label>
            {move || error().map(|message| view! {
                <ErrorMessage message testid="password-change-error" />
            })}
            {move || changed().then(|| view! {
                <p class="rounded bg-green-50 px-3 py-2 text-sm text-green-800" role="status" data-testid="password-changed">
                    "Your password has been changed. Use the new one from now on, also with the CLI and registry logins."
                </p>
            })}
            <button type="submit" class=PRIMARY disabled=pending>
                {move || if pending.get() { "Changing…" } else { "Change password" }}
            </button>
        </ActionForm>
    }
}
