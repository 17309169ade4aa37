//! The portal's users, groups and service principals, behind
//! `app::identities::backend::IdentitiesBackend`. Calls the same
//! [`IdentityService`] and [`FederationService`] as the JSON API (one
//! implementation of each rule: names, passwords, "nobody disables or
//! deletes themself", secrets shown once, audit) and only turns their views
//! into the portal's. Every call first asks the one access decision
//! ([`authorize`]) for `Control(Identities, Read)` or `Write`; role
//! assignments on these pages need `Control(RoleAssignments, Read)`.
//! Must not call `db` or build HTTP responses.

use std::sync::Arc;

use app::{
    error::PortalError,
    identities::{
        backend::{IdentitiesBackend, NewFederated},
        model::{
            Assignment, Assignments, ClientSecret, CreatedServicePrincipal, FederatedCredential,
            GeneratedSecret, Group, GroupDetail, Identity, IdentityKind, LoginServer, NewPassword, Password,
            PasswordChoice, ServicePrincipal, ServicePrincipalDetail, User, UserDetail,
        },
    },
    model::SignedInUser,
};
use chrono::Utc;
use portcullis_proto as proto;

use super::{
    authorize, internal, manage_error,
    tokens::{expiry_date, timestamp},
};
use crate::{
    auth::{password::HumanPassword, token::Subject},
    policy::{
        roles::{ControlAccess, ControlArea},
        Decision, Operation,
    },
    service::{
        access::{AccessService, Caller},
        federation::FederationService,
        identities::IdentityService,
        tokens::expired,
    },
};

pub struct IdentitiesPortal {
    access: Arc<AccessService>,
    identities: Arc<IdentityService>,
    federation: Arc<FederationService>,
    login: LoginServer,
}

impl IdentitiesPortal {
    pub fn new(
        access: Arc<AccessService>,
        identities: Arc<IdentityService>,
        federation: Arc<FederationService>,
        login: LoginServer,
    ) -> Self {
        Self { access, identities, federation, login }
    }

    /// The signed-in user as the services' actor, once the decision lets
    /// them read (`write` false) or change identities.
    async fn allowed(&self, user: &SignedInUser, write: bool) -> Result<Subject, PortalError> {
        let access = if write { ControlAccess::Write } else { ControlAccess::Read };
        let operation = Operation::Control(ControlArea::Identities, access);
        authorize(&self.access, super::subject(user), operation).await
    }

    /// Whether the page may show role assignments to `user`. A question
    /// for the layout, not a refused request: decided by the same policy,
    /// without recording a denial.
    async fn reads_assignments(&self, user: &SignedInUser) -> Result<bool, PortalError> {
        let subject = super::subject(user);
        let Some(principal) = self.access.principal(&subject, None).await.map_err(internal)? else {
            return Ok(false);
        };
        let caller = Caller { subject, principal, grants: None };
        let operation = Operation::Control(ControlArea::RoleAssignments, ControlAccess::Read);
        Ok(matches!(caller.decide(operation), Decision::Allow))
    }

    /// The role assignments that apply to `assignee` (with its groups'),
    /// when `user` may read them.
    async fn assignments(&self, user: &SignedInUser, assignee: &str) -> Result<Assignments, PortalError> {
        if !self.reads_assignments(user).await? {
            return Ok(Assignments::Hidden);
        }
        let query = proto::RoleAssignmentQuery { assignee: Some(assignee.to_owned()), ..Default::default() };
        let views = self.identities.list_assignments(&query).await.map_err(manage_error)?;
        Ok(Assignments::Shown(views.into_iter().map(assignment).collect()))
    }
}

fn kind(kind: proto::IdentityKind) -> IdentityKind {
    match kind {
        proto::IdentityKind::User => IdentityKind::User,
        proto::IdentityKind::Group => IdentityKind::Group,
        proto::IdentityKind::ServicePrincipal => IdentityKind::ServicePrincipal,
        proto::IdentityKind::Anonymous => IdentityKind::Anonymous,
    }
}

fn identity(reference: proto::IdentityRef) -> Identity {
    Identity { kind: kind(reference.kind), name: reference.name }
}

fn assignment(view: proto::RoleAssignment) -> Assignment {
    Assignment {
        id: view.name,
        role: view.role,
        assignee: identity(view.assignee),
        condition: view.condition,
        description: view.description,
        honoured: view.honoured,
    }
}

fn user(view: proto::User) -> User {
    User {
        name: view.name,
        display_name: view.display_name,
        enabled: view.enabled,
        created: timestamp(view.created_at),
        last_sign_in: view.last_sign_in_at.map(timestamp),
        groups: view.groups,
    }
}

fn group(view: proto::Group) -> Group {
    Group {
        name: view.name,
        description: view.description,
        created: timestamp(view.created_at),
        members: view.members.into_iter().map(identity).collect(),
    }
}

fn service_principal(view: proto::ServicePrincipal) -> ServicePrincipal {
    let now = Utc::now();
    ServicePrincipal {
        name: view.name,
        app_id: view.app_id,
        description: view.description,
        enabled: view.enabled,
        created: timestamp(view.created_at),
        last_sign_in: view.last_sign_in_at.map(timestamp),
        groups: view.groups,
        secrets: view
            .secrets
            .into_iter()
            .map(|secret| ClientSecret {
                key_id: secret.key_id,
                description: secret.description,
                created: timestamp(secret.created_at),
                expiry: secret.expires_at.map(timestamp),
                expired: expired(secret.expires_at, now),
            })
            .collect(),
    }
}

fn federated(view: proto::FederatedCredential) -> FederatedCredential {
    FederatedCredential {
        name: view.name,
        issuer: view.issuer,
        audience: view.audience,
        subject: view.subject,
        description: view.description,
        created: timestamp(view.created_at),
    }
}

/// The password to give the service, and the one to show back (a generated
/// one only: the administrator typed the other).
fn chosen(choice: PasswordChoice) -> (Password, Option<Password>) {
    match choice {
        PasswordChoice::Set(password) => (password, None),
        PasswordChoice::Generate => {
            let generated = Password::new(HumanPassword::generate().expose());
            (generated.clone(), Some(generated))
        }
    }
}

impl IdentitiesPortal {
    /// The secret just made, out of the view that carries it once.
    fn shown_secret(&self, view: proto::ServicePrincipal) -> Result<GeneratedSecret, PortalError> {
        let name = view.name;
        let secret =
            view.secrets.into_iter().find(|secret| secret.value.is_some()).ok_or_else(|| {
                internal(format!("no secret value in the answer for service principal {name}"))
            })?;
        Ok(GeneratedSecret {
            service_principal: name,
            key_id: secret.key_id,
            value: secret.value.expect("found with a value"),
            expiry: secret.expires_at.map(timestamp),
            login: self.login.clone(),
        })
    }
}

#[async_trait::async_trait]
impl IdentitiesBackend for IdentitiesPortal {
    async fn users(&self, actor: &SignedInUser) -> Result<Vec<User>, PortalError> {
        self.allowed(actor, false).await?;
        Ok(self.identities.list_users().await.map_err(manage_error)?.into_iter().map(user).collect())
    }

    async fn user(&self, actor: &SignedInUser, name: &str) -> Result<UserDetail, PortalError> {
        self.allowed(actor, false).await?;
        let view = user(self.identities.user(name).await.map_err(manage_error)?);
        let assignments = self.assignments(actor, &view.name).await?;
        let is_you = actor.token.is_none() && actor.name == view.name;
        Ok(UserDetail { user: view, assignments, is_you })
    }

    async fn create_user(
        &self,
        actor: &SignedInUser,
        name: &str,
        display_name: &str,
        password: PasswordChoice,
    ) -> Result<NewPassword, PortalError> {
        let subject = self.allowed(actor, true).await?;
        let (password, shown) = chosen(password);
        let request =
            proto::NewUser { name: name.to_owned(), display_name: display_name.to_owned(), password };
        let created = self.identities.create_user(&subject, request).await.map_err(manage_error)?;
        Ok(NewPassword { user: created.name, value: shown })
    }

    async fn set_user_enabled(
        &self,
        actor: &SignedInUser,
        name: &str,
        enabled: bool,
    ) -> Result<User, PortalError> {
        let subject = self.allowed(actor, true).await?;
        let change = proto::UserChange { enabled: Some(enabled), ..Default::default() };
        Ok(user(self.identities.update_user(&subject, name, change).await.map_err(manage_error)?))
    }

    async fn reset_password(
        &self,
        actor: &SignedInUser,
        name: &str,
        password: PasswordChoice,
    ) -> Result<NewPassword, PortalError> {
        let subject = self.allowed(actor, true).await?;
        let (password, shown) = chosen(password);
        let change = proto::UserChange { password: Some(password), ..Default::default() };
        let changed = self.identities.update_user(&subject, name, change).await.map_err(manage_error)?;
        Ok(NewPassword { user: changed.name, value: shown })
    }

    async fn delete_user(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError> {
        let subject = self.allowed(actor, true).await?;
        self.identities.delete_user(&subject, name).await.map_err(manage_error)
    }

    async fn groups(&self, actor: &SignedInUser) -> Result<Vec<Group>, PortalError> {
        self.allowed(actor, false).await?;
        Ok(self.identities.list_groups().await.map_err(manage_error)?.into_iter().map(group).collect())
    }

    async fn group(&self, actor: &SignedInUser, name: &str) -> Result<GroupDetail, PortalError> {
        self.allowed(actor, false).await?;
        let view = group(self.identities.group(name).await.map_err(manage_error)?);
        let assignments = self.assignments(actor, &view.name).await?;
        let users = self.identities.list_users().await.map_err(manage_error)?;
        let principals = self.identities.list_service_principals().await.map_err(manage_error)?;
        let candidates = users
            .into_iter()
            .map(|user| Identity { kind: IdentityKind::User, name: user.name })
            .chain(
                principals
                    .into_iter()
                    .map(|sp| Identity { kind: IdentityKind::ServicePrincipal, name: sp.name }),
            )
            .filter(|candidate| !view.members.contains(candidate))
            .collect();
        Ok(GroupDetail { group: view, assignments, candidates })
    }

    async fn create_group(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: &str,
    ) -> Result<Group, PortalError> {
        let subject = self.allowed(actor, true).await?;
        let request = proto::NewGroup { name: name.to_owned(), description: description.to_owned() };
        Ok(group(self.identities.create_group(&subject, request).await.map_err(manage_error)?))
    }

    async fn delete_group(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError> {
        let subject = self.allowed(actor, true).await?;
        self.identities.delete_group(&subject, name).await.map_err(manage_error)
    }

    async fn change_member(
        &self,
        actor: &SignedInUser,
        name: &str,
        member: &str,
        add: bool,
    ) -> Result<Group, PortalError> {
        let subject = self.allowed(actor, true).await?;
        Ok(group(self.identities.change_member(&subject, name, member, add).await.map_err(manage_error)?))
    }

    async fn service_principals(&self, actor: &SignedInUser) -> Result<Vec<ServicePrincipal>, PortalError> {
        self.allowed(actor, false).await?;
        let views = self.identities.list_service_principals().await.map_err(manage_error)?;
        Ok(views.into_iter().map(service_principal).collect())
    }

    async fn service_principal(
        &self,
        actor: &SignedInUser,
        name: &str,
    ) -> Result<ServicePrincipalDetail, PortalError> {
        self.allowed(actor, false).await?;
        let view = service_principal(self.identities.service_principal(name).await.map_err(manage_error)?);
        let credentials = self.federation.list(&view.name).await.map_err(manage_error)?;
        let assignments = self.assignments(actor, &view.name).await?;
        Ok(ServicePrincipalDetail {
            service_principal: view,
            federated: credentials.into_iter().map(federated).collect(),
            assignments,
            login: self.login.clone(),
        })
    }

    async fn create_service_principal(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: &str,
        create_secret: bool,
        secret_expiry: Option<String>,
    ) -> Result<CreatedServicePrincipal, PortalError> {
        let secret_expires_at = secret_expiry.as_deref().map(expiry_date).transpose()?;
        let subject = self.allowed(actor, true).await?;
        let request = proto::NewServicePrincipal {
            name: name.to_owned(),
            description: description.to_owned(),
            create_secret,
            secret_expires_at,
        };
        let view = self.identities.create_service_principal(&subject, request).await.map_err(manage_error)?;
        let name = view.name.clone();
        let secret = if create_secret { Some(self.shown_secret(view)?) } else { None };
        Ok(CreatedServicePrincipal { name, secret })
    }

    async fn set_service_principal_enabled(
        &self,
        actor: &SignedInUser,
        name: &str,
        enabled: bool,
    ) -> Result<ServicePrincipal, PortalError> {
        let subject = self.allowed(actor, true).await?;
        let change = proto::ServicePrincipalChange { enabled: Some(enabled), ..Default::default() };
        let view =
            self.identities.update_service_principal(&subject, name, change).await.map_err(manage_error)?;
        Ok(service_principal(view))
    }

    async fn delete_service_principal(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError> {
        let subject = self.allowed(actor, true).await?;
        self.identities.delete_service_principal(&subject, name).await.map_err(manage_error)
    }

    async fn generate_secret(
        &self,
        actor: &SignedInUser,
        name: &str,
        description: &str,
        expiry: Option<String>,
    ) -> Result<GeneratedSecret, PortalError> {
        let expires_at = expiry.as_deref().map(expiry_date).transpose()?;
        let subject = self.allowed(actor, true).await?;
        // Added beside the others: a pipeline using another secret keeps
        // working while this one is rolled out.
        let request =
            proto::NewClientSecret { description: description.to_owned(), expires_at, append: true };
        let view = self.identities.reset_secret(&subject, name, request).await.map_err(manage_error)?;
        self.shown_secret(view)
    }

    async fn delete_secret(&self, actor: &SignedInUser, name: &str, key_id: &str) -> Result<(), PortalError> {
        let subject = self.allowed(actor, true).await?;
        self.identities.delete_secret(&subject, name, key_id).await.map_err(manage_error)?;
        Ok(())
    }

    async fn create_federated(
        &self,
        actor: &SignedInUser,
        name: &str,
        credential: NewFederated,
    ) -> Result<FederatedCredential, PortalError> {
        let subject = self.allowed(actor, true).await?;
        let request = proto::NewFederatedCredential {
            name: credential.name,
            issuer: credential.issuer,
            audience: credential.audience,
            subject: credential.subject,
            description: credential.description,
            jwks: None,
        };
        Ok(federated(self.federation.create(&subject, name, request).await.map_err(manage_error)?))
    }

    async fn delete_federated(
        &self,
        actor: &SignedInUser,
        name: &str,
        credential: &str,
    ) -> Result<(), PortalError> {
        let subject = self.allowed(actor, true).await?;
        self.federation.delete(&subject, name, credential).await.map_err(manage_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_is_the_one_given_and_shown_a_typed_one_is_not_shown() {
        let (given, shown) = chosen(PasswordChoice::Generate);
        assert_eq!(shown.as_ref().map(Password::expose), Some(given.expose()));
        assert!(given.expose().len() >= 12);
        let (given, shown) = chosen(PasswordChoice::Set(Password::new("typed-password-1")));
        assert_eq!(given.expose(), "typed-password-1");
        assert!(shown.is_none());
    }
}
