//! The signed-in user's own account: changing their password.
//! A thin adapter to [`crate::backend::PortalBackend::change_password`],
//! which calls the same use-case as the management API.

use leptos::prelude::*;

use crate::{error::PortalError, model::Password};

/// Changes the signed-in user's password. A token holder gets 403;
/// the confirmation must repeat the new password (checked here, so the
/// form also works before the page is interactive).
#[server(prefix = "/portal", endpoint = "password_change")]
pub async fn change_password(
    csrf_token: String,
    current_password: Password,
    new_password: Password,
    confirmation: Password,
) -> Result<(), PortalError> {
    use crate::api::ssr;

    let _checked_by_the_csrf_layer = csrf_token;
    let session = ssr::session().await?;
    let user = ssr::require_person(&session).await?;
    if new_password != confirmation {
        return Err(ssr::fail(PortalError::Invalid(
            "The new password and its confirmation differ. Type the same new password in both fields.".into(),
        )));
    }
    let client = ssr::client_ip().await;
    ssr::backend()?
        .change_password(&user, current_password, new_password, client)
        .await
        .map_err(ssr::fail)?;
    // A new session id once the password changed: an id learnt before
    // (session fixation) opens nothing afterwards.
    session.cycle_id().await.map_err(|_| ssr::fail(PortalError::Internal))
}
