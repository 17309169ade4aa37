//! Sign-in, the overview, a token holder's own page and a person's password
//! change, behind `app::backend::PortalBackend`. Sign-in is
//! `AccessService::authenticate`, the same throttled check as every other
//! login point; the rest calls the services the JSON API calls.

use std::{net::IpAddr, sync::Arc};

use portcullis_proto::{IdentityKind, RoleAssignmentQuery};

use app::{
    backend::PortalBackend,
    error::PortalError,
    model::{
        Area, Capabilities, Count, LoginServer, MyAccess, MyPassword, MyRepository, MyRole, MyToken,
        Overview, Password, Reach, ReadableRepository, SignedInUser, TokenCredential,
    },
};

use super::{internal, manage_error, sentence, subject};
use crate::{
    auth::{
        password::HumanPassword,
        token::{CredentialRef, Subject},
    },
    policy::{
        self,
        roles::{ControlAccess, ControlArea},
        Decision, Grants, Operation, Principal,
    },
    service::{
        access::{AccessError, AccessService, Disabled},
        identities::{IdentityService, ANONYMOUS_NAME},
        repositories::RepositoryAdmin,
        tokens::{display_time, expires_soon, PasswordSlot, TokenService, TokenStatus},
        users::{UserError, UserService},
    },
};

/// How many repositories (and tags of each) a token holder's page lists.
const MY_TOKEN_LIST_LIMIT: u32 = 1000;
/// How many repositories a user's My access page lists.
const MY_ACCESS_LIST_LIMIT: u32 = 1000;

pub struct AccountPortal {
    access: Arc<AccessService>,
    tokens: Arc<TokenService>,
    repositories: Arc<RepositoryAdmin>,
    users: Arc<UserService>,
    identities: Arc<IdentityService>,
    /// Where users log in.
    login: LoginServer,
}

impl AccountPortal {
    pub fn new(
        access: Arc<AccessService>,
        tokens: Arc<TokenService>,
        repositories: Arc<RepositoryAdmin>,
        users: Arc<UserService>,
        identities: Arc<IdentityService>,
        login: LoginServer,
    ) -> Self {
        Self { access, tokens, repositories, users, identities, login }
    }
}

fn credential_ref(credential: TokenCredential) -> CredentialRef {
    CredentialRef::TokenPassword { slot: credential.slot, serial: credential.serial }
}

fn human(password: Password) -> HumanPassword {
    HumanPassword::new(password.into_inner())
}

#[async_trait::async_trait]
impl PortalBackend for AccountPortal {
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
        let found = self.access.authenticate(name, password.expose(), client).await.map_err(refused)?;
        let Some(found) = found else {
            tracing::warn!(%client, "portal sign-in refused");
            // The right password of a disabled account: say so, and whom to ask.
            return Err(match self.access.disabled_account(name, password.expose()).await.map_err(refused)? {
                Some(Disabled::Token) => PortalError::AccountDisabled(format!(
                    "The token {name} is disabled. Ask the registry's administrator to enable it or to give you another token."
                )),
                Some(Disabled::User) => PortalError::AccountDisabled(format!(
                    "The account {name} is disabled. Ask an administrator of the registry to enable it."
                )),
                None => PortalError::InvalidCredentials,
            });
        };
        let user = match (found.subject, found.credential) {
            // Every user may sign in: what they see is their capabilities
            // (the administration their roles reach, or My access).
            (Subject::User(name), _) => SignedInUser { name, token: None },
            (Subject::Token(name), Some(CredentialRef::TokenPassword { slot, serial })) => {
                SignedInUser { name, token: Some(TokenCredential { slot, serial }) }
            }
            // Service principals are for programs, not the portal.
            _ => return Err(PortalError::InvalidCredentials),
        };
        tracing::info!(user = %user.name, %client, token = user.token.is_some(), "portal sign-in");
        Ok(user)
    }

    async fn overview(&self, user: &SignedInUser) -> Result<Overview, PortalError> {
        let users = self.users.count().await.map_err(internal)?;
        let held = self.repositories.counts().await.map_err(internal)?;
        let count = |label: &str, value| Count { label: label.to_owned(), value };
        Ok(Overview {
            login: self.login.clone(),
            user: user.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            counts: vec![
                count("Repositories", held.repositories),
                count("Tags", held.tags),
                count("Blobs", held.blobs),
                count("Users", users),
            ],
        })
    }

    async fn session_state(&self, user: &SignedInUser) -> Result<Option<Capabilities>, PortalError> {
        let credential = user.token.map(credential_ref);
        let Some(principal) = self.access.principal(&subject(user), credential).await.map_err(internal)?
        else {
            return Ok(None);
        };
        if user.is_token() {
            return Ok(Some(Capabilities::default()));
        }
        Ok(Some(capabilities(&principal)))
    }

    async fn my_access(&self, user: &SignedInUser) -> Result<MyAccess, PortalError> {
        let principal = self
            .access
            .principal(&subject(user), None)
            .await
            .map_err(internal)?
            .ok_or(PortalError::NotSignedIn)?;
        let own = RoleAssignmentQuery { assignee: Some(user.name.clone()), ..Default::default() };
        let everyone =
            RoleAssignmentQuery { assignee: Some(ANONYMOUS_NAME.to_owned()), ..Default::default() };
        let mut roles = Vec::new();
        for query in [own, everyone] {
            let assignments = self.identities.list_assignments(&query).await.map_err(manage_error)?;
            roles.extend(assignments.into_iter().map(|assignment| MyRole {
                via: match assignment.assignee.kind {
                    IdentityKind::User => None,
                    _ => Some(assignment.assignee.name),
                },
                role: assignment.role,
                condition: assignment.condition,
                honoured: assignment.honoured,
            }));
        }
        let found =
            self.repositories.readable(&principal, MY_ACCESS_LIST_LIMIT + 1).await.map_err(internal)?;
        let truncated = found.len() > MY_ACCESS_LIST_LIMIT as usize;
        let repositories = found
            .into_iter()
            .take(MY_ACCESS_LIST_LIMIT as usize)
            .map(|found| MyRepository {
                name: found.name,
                actions: found.actions.iter().collect(),
                tags: found.tags,
            })
            .collect();
        Ok(MyAccess { name: user.name.clone(), login: self.login.clone(), roles, repositories, truncated })
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
                name: password.name,
                created: display_time(password.creation_time),
                expiry: password.expiry.map(display_time),
                expires_soon: expires_soon(password.expiry, now),
                in_use: PasswordSlot::from_index(credential.slot.into()) == Some(password.name),
            })
            .collect();
        let repositories = self
            .repositories
            .readable(&principal, MY_TOKEN_LIST_LIMIT)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|found| ReadableRepository { name: found.name, tags: found.tags, can_pull: found.can_pull })
            .collect();
        Ok(MyToken {
            enabled: token.status == TokenStatus::Enabled,
            scope_map: token.scope_map,
            login: self.login.clone(),
            passwords,
            grants: scope_map.repositories,
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
        self.users
            .change_password(&subject(user), &user.name, human(current), human(new), client)
            .await
            .map_err(password_change_error)
    }
}

/// What `principal` may administer: the one decision, asked for each area.
fn capabilities(principal: &Principal) -> Capabilities {
    Area::ALL.into_iter().fold(Capabilities::default(), |can, area| {
        let control = control_area(area);
        let allows = |access| {
            policy::decide(principal, Grants::Policy, Operation::Control(control, access)) == Decision::Allow
        };
        let reach = if allows(ControlAccess::Write) {
            Reach::Write
        } else if allows(ControlAccess::Read) {
            Reach::Read
        } else {
            Reach::None
        };
        can.with(area, reach)
    })
}

/// The portal's name of a control-plane area.
fn control_area(area: Area) -> ControlArea {
    match area {
        Area::Configuration => ControlArea::Configuration,
        Area::Identities => ControlArea::Identities,
        Area::RoleAssignments => ControlArea::RoleAssignments,
        Area::Audit => ControlArea::Audit,
    }
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
