//! The portal's tokens and scope maps, behind
//! `app::tokens::backend::TokensBackend`. Calls the same [`TokenService`]
//! as the JSON API (one implementation of each rule) and only turns its
//! views into the portal's: formatted times, both password slots, the
//! generated password once.

use std::sync::Arc;

use app::{
    error::PortalError,
    model::SignedInUser,
    tokens::{
        backend::TokensBackend,
        model::{
            GeneratedPassword, LoginServer, NewScopeMap, PasswordSlot, RateLimits, RateRefusal,
            RepositoryActions, ScopeMap, Timestamp, Token, TokenDetail, TokenList,
        },
    },
};
use chrono::{DateTime, NaiveDate, Utc};

use super::{authorize, internal, manage_error, subject};
use crate::{
    auth::token::Subject,
    policy::{
        roles::{ControlAccess, ControlArea},
        Operation,
    },
    service::{
        access::AccessService,
        tokens::{self as service, GenerateCredentials, ManageError, TokenService, TokenStatus},
    },
};

pub struct TokensPortal {
    access: Arc<AccessService>,
    tokens: Arc<TokenService>,
    /// `host[:port]` for the login commands.
    login: LoginServer,
}

impl TokensPortal {
    pub fn new(access: Arc<AccessService>, tokens: Arc<TokenService>, login: LoginServer) -> Self {
        Self { access, tokens, login }
    }

    /// The signed-in user, once the decision lets them change tokens and
    /// scope maps.
    async fn administrator(&self, user: &SignedInUser) -> Result<Subject, PortalError> {
        let operation = Operation::Control(ControlArea::Configuration, ControlAccess::Write);
        authorize(&self.access, subject(user), operation).await
    }

    fn service(&self) -> &TokenService {
        &self.tokens
    }
}

pub(super) fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp { iso: service::format_time(time), display: service::display_time(time) }
}

fn token(view: service::Token) -> Token {
    let now = Utc::now();
    let passwords = service::PasswordSlot::ALL
        .into_iter()
        .map(|slot| match view.credentials.password(slot) {
            Some(password) => PasswordSlot {
                name: slot,
                created: Some(timestamp(password.creation_time)),
                expiry: password.expiry.map(timestamp),
                expired: service::expired(password.expiry, now),
                expires_soon: service::expires_soon(password.expiry, now),
            },
            None => {
                PasswordSlot { name: slot, created: None, expiry: None, expired: false, expires_soon: false }
            }
        })
        .collect();
    Token {
        name: view.name,
        enabled: view.status.is_enabled(),
        scope_map: view.scope_map,
        created: timestamp(view.creation_date),
        last_used: view.last_used.map(timestamp),
        passwords,
    }
}

fn scope_map(view: service::ScopeMap) -> ScopeMap {
    ScopeMap {
        system: view.kind == portcullis_proto::ScopeMapKind::SystemDefined,
        name: view.name,
        description: view.description,
        created: timestamp(view.creation_date),
        repositories: view.repositories,
        token_count: view.token_count,
    }
}

/// `YYYY-MM-DD` from the date input: the password stops working at 00:00
/// UTC that day (the service refuses a moment in the past).
pub(super) fn expiry_date(date: &str) -> Result<DateTime<Utc>, PortalError> {
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
            .map_err(manage_error)?;
        let total = self.service().count_tokens().await.map_err(manage_error)?;
        Ok(TokenList { items: items.into_iter().map(token).collect(), next, total })
    }

    async fn token(&self, name: &str) -> Result<TokenDetail, PortalError> {
        let view = self.service().token(name).await.map_err(manage_error)?;
        let limits = self.access.rate_limits();
        let since = Utc::now() - chrono::Duration::hours(24);
        let refusals = self.access.rate_refusals(&view.name, since).await.map_err(internal)?;
        let rate_limits = RateLimits {
            reads_per_minute: limits.reads_per_minute.map(u32::from),
            writes_per_minute: limits.writes_per_minute.map(u32::from),
            refusals: refusals
                .into_iter()
                .map(|(at, reason)| RateRefusal { at: timestamp(at), reason })
                .collect(),
        };
        Ok(TokenDetail { token: token(view), login: self.login.clone(), rate_limits })
    }

    async fn create_token(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        scope_map_name: Option<String>,
        new_scope_map: Option<NewScopeMap>,
        enabled: bool,
    ) -> Result<Token, PortalError> {
        // A scope map made on the token form is created with the token, in
        // the same transaction, under the name and description given; the
        // service refuses neither or both.
        let scope_map = scope_map_name.filter(|name| !name.trim().is_empty());
        let request = service::NewToken {
            name: name.to_owned(),
            scope_map,
            repositories: new_scope_map.as_ref().map(|new| new.repositories.clone()),
            status: Some(TokenStatus::from_enabled(enabled)),
            // Passwords are generated on the token's page, one at a time.
            generate_passwords: Some(false),
            ..Default::default()
        };
        let naming =
            new_scope_map.map(|new| service::ScopeMapNaming { name: new.name, description: new.description });
        let view = self
            .service()
            .create_token(&self.administrator(actor_user).await?, &request, naming)
            .await
            .map_err(manage_error)?;
        Ok(token(view))
    }

    async fn update_token(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        enabled: Option<bool>,
        scope_map_name: Option<String>,
    ) -> Result<Token, PortalError> {
        let status = enabled.map(TokenStatus::from_enabled);
        let view = self
            .service()
            .update_token(&self.administrator(actor_user).await?, name, status, scope_map_name.as_deref())
            .await
            .map_err(manage_error)?;
        Ok(token(view))
    }

    async fn delete_token(&self, actor_user: &SignedInUser, name: &str) -> Result<(), PortalError> {
        self.service().delete_token(&self.administrator(actor_user).await?, name).await.map_err(manage_error)
    }

    async fn generate_password(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        slot: service::PasswordSlot,
        expiry: Option<String>,
    ) -> Result<GeneratedPassword, PortalError> {
        let expiry = expiry.as_deref().map(expiry_date).transpose()?;
        let request = GenerateCredentials::slot(slot, expiry);
        let credentials = self
            .service()
            .generate_credentials(&self.administrator(actor_user).await?, name, request)
            .await
            .map_err(manage_error)?;
        let (value, password) = credentials
            .passwords
            .into_iter()
            .filter(|password| password.name == slot)
            .find_map(|mut password| Some((password.value.take()?, password)))
            .ok_or_else(|| {
                manage_error(ManageError::Internal(format!("no {slot} in the generated credentials").into()))
            })?;
        Ok(GeneratedPassword {
            token: credentials.username,
            slot: password.name,
            value,
            expiry: password.expiry.map(timestamp),
            login: self.login.clone(),
        })
    }

    async fn delete_password(
        &self,
        actor_user: &SignedInUser,
        name: &str,
        slot: service::PasswordSlot,
    ) -> Result<Token, PortalError> {
        let view = self
            .service()
            .delete_credential(&self.administrator(actor_user).await?, name, slot)
            .await
            .map_err(manage_error)?;
        Ok(token(view))
    }

    async fn scope_maps(&self) -> Result<Vec<ScopeMap>, PortalError> {
        Ok(self.service().list_scope_maps().await.map_err(manage_error)?.into_iter().map(scope_map).collect())
    }

    async fn scope_map(&self, name: &str) -> Result<ScopeMap, PortalError> {
        Ok(scope_map(self.service().scope_map(name).await.map_err(manage_error)?))
    }

    async fn create_scope_map(
        &self,
        actor_user: &SignedInUser,
        new: NewScopeMap,
    ) -> Result<ScopeMap, PortalError> {
        let view = self
            .service()
            .create_scope_map(
                &self.administrator(actor_user).await?,
                new.name.trim(),
                new.description.trim(),
                &new.repositories,
            )
            .await
            .map_err(manage_error)?;
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
                &self.administrator(actor_user).await?,
                name,
                Some(description.trim()),
                &repositories,
            )
            .await
            .map_err(manage_error)?;
        Ok(scope_map(view))
    }

    async fn delete_scope_map(&self, actor_user: &SignedInUser, name: &str) -> Result<(), PortalError> {
        self.service()
            .delete_scope_map(&self.administrator(actor_user).await?, name)
            .await
            .map_err(manage_error)
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
}
