//! The portal's use-cases, behind the `app::backend::PortalBackend` port.

use std::{net::IpAddr, sync::Arc};

use app::{
    backend::PortalBackend,
    error::PortalError,
    model::{
        Count, Grant, MyPassword, MyToken, Overview, Password, ReadableRepository, SignedInUser,
        TokenCredential,
    },
};

use crate::{
    auth::token::{CredentialRef, Subject},
    auth::token_password,
    db::{registry, users, Database},
    domain::RepositoryName,
    policy::{self, Decision, Grants, Operation, RepositoryOperation},
    service::{
        access::{AccessError, AccessService},
        portal_tokens::sentence,
        registry::RegistryService,
        tokens::{display_time, expires_soon, Status, TokenService, SLOT_NAMES},
        users::{UserError, UserService},
    },
    AppState,
};

pub struct PortalService {
    db: Database,
    login_server: String,
    access: Arc<AccessService>,
    tokens: Arc<TokenService>,
    registry: Arc<RegistryService>,
    users: Arc<UserService>,
}

impl PortalService {
    pub fn new(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            login_server: state.login_server.clone(),
            access: state.access.clone(),
            tokens: state.tokens.clone(),
            registry: state.registry.clone(),
            users: state.users.clone(),
        }
    }
}

fn credential_ref(credential: TokenCredential) -> CredentialRef {
    CredentialRef { slot: credential.slot, serial: credential.serial }
}

/// Logs the cause and answers the user with a detail-free error.
fn internal(error: impl std::fmt::Display) -> PortalError {
    tracing::error!(%error, "portal request failed");
    PortalError::Internal
}

#[async_trait::async_trait]
impl PortalBackend for PortalService {
    async fn sign_in(
        &self,
        name: &str,
        password: Password,
        client: IpAddr,
    ) -> Result<SignedInUser, PortalError> {
        let refused = |error: AccessError| match error.retry_after() {
            Some(wait) => {
                tracing::warn!(%client, "portal sign-in throttled");
                PortalError::Throttled { retry_after_secs: wait.as_secs().max(1) }
            }
            None => internal(error),
        };
        let signed_in = if password.expose().starts_with(token_password::PREFIX) {
            self.access.authenticate(name, password.expose(), client).await.map_err(refused)?.map(|found| {
                let credential = found.credential.map(|c| TokenCredential { slot: c.slot, serial: c.serial });
                SignedInUser { name: found.subject.name().to_owned(), is_admin: false, token: credential }
            })
        } else {
            self.access
                .sign_in_user(name, password.expose(), client)
                .await
                .map_err(refused)?
                .map(|user| SignedInUser { name: user.name, is_admin: user.is_admin, token: None })
        };
        match signed_in {
            Some(user) => {
                tracing::info!(user = %user.name, %client, token = user.token.is_some(), "portal sign-in");
                Ok(user)
            }
            None => {
                tracing::warn!(%client, "portal sign-in refused");
                Err(PortalError::InvalidCredentials)
            }
        }
    }

    async fn overview(&self) -> Result<Overview, PortalError> {
        let administrators = users::count(&self.db).await.map_err(internal)?;
        let (repositories, tags, blobs) = registry::counts(&self.db).await.map_err(internal)?;
        let count = |label: &str, value| Count { label: label.to_owned(), value };
        Ok(Overview {
            login_server: self.login_server.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            counts: vec![
                count("Repositories", repositories),
                count("Tags", tags),
                count("Blobs", blobs),
                count("Administrators", administrators),
            ],
        })
    }

    async fn token_session_valid(
        &self,
        name: &str,
        credential: TokenCredential,
    ) -> Result<bool, PortalError> {
        let subject = Subject::Token(name.to_owned());
        Ok(self
            .access
            .principal(&subject, Some(credential_ref(credential)))
            .await
            .map_err(internal)?
            .is_some())
    }

    async fn my_token(&self, name: &str, credential: TokenCredential) -> Result<MyToken, PortalError> {
        let subject = Subject::Token(name.to_owned());
        let principal = self
            .access
            .principal(&subject, Some(credential_ref(credential)))
            .await
            .map_err(internal)?
            .ok_or(PortalError::NotSignedIn)?;
        let token = self.tokens.token(name).await.map_err(internal)?;
        let scope_map = self.tokens.scope_map(&token.scope_map).await.map_err(internal)?;
        let now = chrono::Utc::now();
        let passwords = token
            .credentials
            .passwords
            .iter()
            .map(|password| MyPassword {
                name: password.name.to_owned(),
                created: display_time(password.creation_time),
                expiry: password.expiry.map(display_time),
                expires_soon: expires_soon(password.expiry, now),
                in_use: SLOT_NAMES[credential.slot as usize] == password.name,
            })
            .collect();
        let readable = {
            let principal = principal.clone();
            move |name: &str| {
                name.parse::<RepositoryName>().is_ok_and(|name| policy::may_list(&principal, &name))
            }
        };
        let mut repositories = Vec::new();
        for repository in self.registry.catalog(None, 1000, readable).await.map_err(internal)? {
            let Ok(parsed) = repository.parse::<RepositoryName>() else { continue };
            let tags = self.registry.tags(&parsed, None, 1000).await.map_err(internal)?;
            let pull = Operation::Repository(&parsed, RepositoryOperation::Pull);
            let can_pull = policy::decide(&principal, Grants::Policy, pull) == Decision::Allow;
            repositories.push(ReadableRepository { name: repository, tags, can_pull });
        }
        Ok(MyToken {
            enabled: token.status == Status::Enabled,
            scope_map: token.scope_map,
            login_server: self.login_server.clone(),
            passwords,
            grants: scope_map
                .repositories
                .into_iter()
                .map(|rule| Grant { repository: rule.repository, actions: rule.actions })
                .collect(),
            repositories,
            name: token.name,
        })
    }

    async fn change_password(
        &self,
        user: &SignedInUser,
        current: Password,
        new: Password,
        client: IpAddr,
    ) -> Result<(), PortalError> {
        let actor = match user.token {
            None if user.is_admin => Subject::Admin(user.name.clone()),
            _ => Subject::Token(user.name.clone()),
        };
        let (current, new) = (human(current), human(new));
        self.users
            .change_password(&actor, &user.name, current, new, client)
            .await
            .map_err(password_change_error)
    }
}

fn human(password: Password) -> crate::auth::password::HumanPassword {
    crate::auth::password::HumanPassword::new(password.into_inner())
}

/// The use-case's refusals in the portal's words.
fn password_change_error(error: UserError) -> PortalError {
    match error {
        UserError::Denied(_) => PortalError::Forbidden,
        UserError::WrongPassword => PortalError::Invalid(
            "Your current password is not correct, so your password was not changed.".to_owned(),
        ),
        UserError::Throttled { retry_after } => {
            PortalError::Throttled { retry_after_secs: retry_after.as_secs().max(1) }
        }
        UserError::Invalid(rule) => PortalError::Invalid(sentence(&rule.to_string())),
        UserError::Internal(cause) => internal(cause),
    }
}
