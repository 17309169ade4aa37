//! The portal's tokens and scope maps, behind
//! `app::tokens::backend::TokensBackend`. Calls the same [`TokenService`]
//! as the JSON API (one implementation of each rule) and only turns its
//! views into the portal's: formatted times, both password slots, the
//! generated password once. Must not run SQL.

use app::{
    error::PortalError,
    model::SignedInUser,
    tokens::{
        backend::TokensBackend,
        model::{
            GeneratedPassword, NewScopeMap, PasswordSlot, RepositoryActions, ScopeMap, Timestamp, Token,
            TokenDetail, TokenList,
        },
    },
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    auth::token::Subject,
    service::tokens::{
        self as service, GenerateCredentials, ManageError, ScopeMapView, Status, TokenService, TokenView,
        SLOT_NAMES,
    },
    AppState,
};

pub struct TokensPortal {
    state: AppState,
}

impl TokensPortal {
    pub fn new(state: &AppState) -> Self {
        Self { state: state.clone() }
    }

    fn service(&self) -> &TokenService {
        &self.state.tokens
    }
}

fn actor(user: &SignedInUser) -> Subject {
    Subject::Admin(user.name.clone())
}

/// The service's own message for what the user can fix; the cause of an
/// internal error goes to the log only.
fn portal_error(error: ManageError) -> PortalError {
    match error {
        ManageError::Internal(cause) => {
            tracing::error!(%cause, "portal tokens request failed");
            PortalError::Internal
        }
        ManageError::Invalid(message) => PortalError::Invalid(sentence(&message)),
        ManageError::NotFound(message) => PortalError::NotFound(sentence(&message)),
        ManageError::Conflict(message) => PortalError::Conflict(sentence(&message)),
        error @ (ManageError::InUse { .. } | ManageError::ReadOnly(_)) => {
            PortalError::Conflict(sentence(&error.to_string()))
        }
    }
}

/// The service writes messages for the API (`there is no token named x`);
/// the page shows them as sentences.
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp { iso: service::format_time(time), display: service::display_time(time) }
}

fn token(view: TokenView) -> Token {
    let now = Utc::now();
    let passwords = SLOT_NAMES
        .iter()
        .map(|slot| match view.credentials.passwords.iter().find(|password| password.name == *slot) {
            Some(password) => PasswordSlot {
                name: (*slot).to_owned(),
                created: Some(timestamp(password.creation_time)),
                expiry: password.expiry.map(timestamp),
                expired: password.expiry.is_some_and(|expiry| expiry <= now),
                expires_soon: service::expires_soon(password.expiry, now),
            },
            None => PasswordSlot {
                name: (*slot).to_owned(),
                created: None,
                expiry: None,
                expired: false,
                expires_soon: false,
            },
        })
        .collect();
    Token {
        name: view.name,
        enabled: view.status == Status::Enabled,
        scope_map: view.scope_map,
        created: timestamp(view.creation_date),
        last_used: view.last_used.map(timestamp),
        passwords,
    }
}

fn scope_map(view: ScopeMapView) -> ScopeMap {
    ScopeMap {
        system: view.kind == "SystemDefined",
        name: view.name,
        description: view.description,
        created: timestamp(view.creation_date),
        repositories: view
            .repositories
            .into_iter()
            .map(|rule| RepositoryActions { repository: rule.repository, actions: rule.actions })
            .collect(),
        token_count: view.token_count,
    }
}

fn rules(rows: &[RepositoryActions]) -> Vec<service::RepositoryActions> {
    rows.iter()
        .map(|row| service::RepositoryActions {
            repository: row.repository.trim().to_owned(),
            actions: row.actions.iter().map(|action| action.trim().to_owned()).collect(),
        })
        .collect()
}

/// `YYYY-MM-DD` from the date input: the password stops working at 00:00
/// UTC that day (the service refuses a moment in the past).
fn expiry_date(date: &str) -> Result<DateTime<Utc>, PortalError> {
    NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| PortalError::Invalid(format!("{date:?} is not a date: give it as YYYY-MM-DD.")))
}

#[async_trait::async_trait]
impl TokensBackend for TokensPortal {
    async fn list_tokens(
        &self,
        search: &str,
        after: Option<&str>,
        limit: u32,
        descending: bool,
    ) -> Result<TokenList, PortalError> {
        let (items, next) = self
            .service()
            .list_tokens(search, after, i64::from(limit), descending)
            .await
            .map_err(portal_error)?;
        let total = self.service().count_tokens().await.map_err(portal_error)?;
        Ok(TokenList { items: items.into_iter().map(token).collect(), next, total })
    }

    async fn token(&self, name: &str) -> Result<TokenDetail, PortalError> {
        let view = self.service().token(name).await.map_err(portal_error)?;
        Ok(TokenDetail { token: token(view), login_server: self.state.login_server.clone() })
    }

    async fn create_token(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        scope_map_name: Option<String>,
        new_scope_map: Option<NewScopeMap>,
        enabled: bool,
    ) -> Result<Token, PortalError> {
        let mut request = service::NewToken {
            name: name.to_owned(),
            status: Some(if enabled { Status::Enabled } else { Status::Disabled }),
            // Passwords are generated on the token's page, one at a time.
            generate_passwords: Some(false),
            ..Default::default()
        };
        // A scope map made on the token form is created with the token, in
        // the same transaction, under the name and description given.
        match (scope_map_name.filter(|n| !n.trim().is_empty()), new_scope_map) {
            (Some(existing), None) => request.scope_map = Some(existing),
            (None, Some(new)) => {
                request.repositories = Some(rules(&new.repositories));
                request.new_scope_map =
                    Some(service::ScopeMapNaming { name: new.name, description: new.description });
            }
            (None, None) => {
                return Err(PortalError::Invalid(
                    "Choose a scope map, or create a new one with its repositories and actions.".into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(PortalError::Invalid(
                    "Choose an existing scope map or create a new one, not both.".into(),
                ))
            }
        }
        let view = self.service().create_token(&actor(actor_user), &request).await.map_err(portal_error)?;
        Ok(token(view))
    }

    async fn update_token(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        enabled: Option<bool>,
        scope_map_name: Option<String>,
    ) -> Result<Token, PortalError> {
        let status = enabled.map(|enabled| if enabled { Status::Enabled } else { Status::Disabled });
        let view = self
            .service()
            .update_token(&actor(actor_user), name, status, scope_map_name.as_deref())
            .await
            .map_err(portal_error)?;
        Ok(token(view))
    }

    async fn delete_token(&self, actor_user: &SignedInUser, name: &str) -> Result<(), PortalError> {
        self.service().delete_token(&actor(actor_user), name).await.map_err(portal_error)
    }

    async fn generate_password(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        slot: &str,
        expiry: Option<String>,
    ) -> Result<GeneratedPassword, PortalError> {
        let index = service::slot_index(slot).map_err(portal_error)?;
        let expiry = expiry.as_deref().map(expiry_date).transpose()?;
        let request = GenerateCredentials { password1: index == 0, password2: index == 1, expiry };
        let credentials = self
            .service()
            .generate_credentials(&actor(actor_user), name, request)
            .await
            .map_err(portal_error)?;
        let password = credentials
            .passwords
            .into_iter()
            .find(|password| password.name == SLOT_NAMES[index] && password.value.is_some())
            .ok_or_else(|| {
                portal_error(ManageError::Internal(format!("no {slot} in the generated credentials").into()))
            })?;
        Ok(GeneratedPassword {
            token: credentials.username,
            slot: password.name.to_owned(),
            value: password.value.unwrap_or_default(),
            expiry: password.expiry.map(timestamp),
            login_server: self.state.login_server.clone(),
        })
    }

    async fn delete_password(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        slot: &str,
    ) -> Result<Token, PortalError> {
        let view =
            self.service().delete_credential(&actor(actor_user), name, slot).await.map_err(portal_error)?;
        Ok(token(view))
    }

    async fn scope_maps(&self) -> Result<Vec<ScopeMap>, PortalError> {
        Ok(self.service().list_scope_maps().await.map_err(portal_error)?.into_iter().map(scope_map).collect())
    }

    async fn scope_map(&self, name: &str) -> Result<ScopeMap, PortalError> {
        Ok(scope_map(self.service().scope_map(name).await.map_err(portal_error)?))
    }

    async fn create_scope_map(
        &self,
        actor_user: &SignedInUser,
        new: NewScopeMap,
    ) -> Result<ScopeMap, PortalError> {
        let view = self
            .service()
            .create_scope_map(
                &actor(actor_user),
                new.name.trim(),
                new.description.trim(),
                &rules(&new.repositories),
            )
            .await
            .map_err(portal_error)?;
        Ok(scope_map(view))
    }

    async fn update_scope_map(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        description: String,
        repositories: Vec<RepositoryActions>,
    ) -> Result<ScopeMap, PortalError> {
        let view = self
            .service()
            .replace_scope_map_rules(
                &actor(actor_user),
                name,
                Some(description.trim()),
                &rules(&repositories),
            )
            .await
            .map_err(portal_error)?;
        Ok(scope_map(view))
    }

    async fn delete_scope_map(&self, actor_user: &SignedInUser, name: &str) -> Result<(), PortalError> {
        self.service().delete_scope_map(&actor(actor_user), name).await.map_err(portal_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_date_is_midnight_utc() {
        assert_eq!(service::format_time(expiry_date("2031-02-03").unwrap()), "2031-02-03T00:00:00.000000Z");
        assert!(matches!(expiry_date("03/02/2031"), Err(PortalError::Invalid(_))));
    }

    #[test]
    fn service_messages_become_sentences() {
        assert_eq!(sentence("there is no token named x"), "There is no token named x.");
    }
}
