//! Identities and role assignments (SPEC §1 "Identities and role
//! assignments", docs/API.md "Identities"): users, groups, service
//! principals with their client secrets, the built-in role definitions,
//! role assignments with their repository conditions, the registry's
//! permissions mode and "check access".

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Action, Password};

/// What kind of identity a name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    User,
    Group,
    ServicePrincipal,
    /// The built-in "Everyone (anonymous)": callers without credentials.
    Anonymous,
}

impl IdentityKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            IdentityKind::User => "user",
            IdentityKind::Group => "group",
            IdentityKind::ServicePrincipal => "service-principal",
            IdentityKind::Anonymous => "anonymous",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::User, Self::Group, Self::ServicePrincipal, Self::Anonymous]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identity named in an answer: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityRef {
    pub kind: IdentityKind,
    pub name: String,
}

/// A person's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::option")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// The groups the user belongs to, by name.
    pub groups: Vec<String>,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    /// 1-64 letters, digits and `. _ - @`; unique among users, service
    /// principals, groups and tokens, without regard to case.
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    /// At least 12 characters; not the name; not starting with `pct_` or
    /// `pcs_`.
    pub password: Password,
}

/// `PATCH /api/v1/users/{name}`: what is given changes. A new password
/// set here is an administrator's reset (the user's own change, which
/// proves the current one, is `PUT .../password`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub name: String,
    pub description: String,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    /// Users first, each kind by name.
    pub members: Vec<IdentityRef>,
}

/// `POST /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGroup {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// `POST /api/v1/groups/{name}/members`: a user's name, or a service
/// principal's name or application id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGroupMember {
    pub member: String,
}

/// One client secret of a service principal. `value` is present only in
/// the answer that created it: the one time it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientSecret {
    pub key_id: String,
    pub description: String,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::option")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Password>,
}

/// A non-human caller (CI, deployment): `docker login` with its name or
/// application id and a client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub name: String,
    pub app_id: String,
    pub description: String,
    pub enabled: bool,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::option")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub groups: Vec<String>,
    pub secrets: Vec<ClientSecret>,
}

/// A federated credential of a service principal (workload identity
/// federation): the service principal trusts ID tokens of `issuer` whose
/// `aud` holds `audience` and whose `sub` matches `subject`, where `*`
/// matches any run of characters (possibly none), every other character
/// only itself, case-sensitively. Such a token is exchanged at
/// `POST /oauth2/exchange` for a registry refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    pub description: String,
    /// The issuer's public signing keys as given (a JWKS document); absent
    /// when they are fetched from the issuer's OpenID configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/service-principals/{name}/federated-credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewFederatedCredential {
    /// 1 to 120 letters, digits, `.`, `_` and `-`; unique per service
    /// principal (without regard to case).
    pub name: String,
    /// The issuer's URL, exactly as in the tokens' `iss` claim: `https://`
    /// (`http://` only on a loopback address).
    pub issuer: String,
    /// A value the tokens' `aud` claim must hold, compared exactly.
    pub audience: String,
    /// The tokens' `sub` claim, exact or a pattern with `*`
    /// (`repo:acme/api:ref:refs/heads/*`); not only `*`.
    pub subject: String,
    #[serde(default)]
    pub description: String,
    /// The issuer's public signing keys (a JWKS document: `{"keys": [..]}`,
    /// RSA or EC keys). Without it they are fetched from
    /// `{issuer}/.well-known/openid-configuration` → `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
}

/// `POST /api/v1/service-principals`: created with one client secret,
/// shown once in the answer, unless `createSecret` is false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewServicePrincipal {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub create_secret: bool,
    /// When the first secret expires (none: never).
    #[serde(default, with = "crate::time::option")]
    pub secret_expires_at: Option<DateTime<Utc>>,
}

fn yes() -> bool {
    true
}

/// A field that is present (`null` included): `Some`, absent: `None` (by
/// `#[serde(default)]`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/service-principals/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePrincipalChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `POST /api/v1/service-principals/{name}/secrets` ("credential reset"):
/// a new secret, which replaces every existing one unless `append`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewClientSecret {
    #[serde(default)]
    pub description: String,
    #[serde(default, with = "crate::time::option")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub append: bool,
}

/// The registry's role-assignment permissions mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RoleAssignmentMode {
    /// Registry-wide role assignments only.
    #[serde(rename = "rbac")]
    Rbac,
    /// Registry roles plus repository conditions.
    #[serde(rename = "rbac-abac")]
    RbacAbac,
}

impl RoleAssignmentMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            RoleAssignmentMode::Rbac => "rbac",
            RoleAssignmentMode::RbacAbac => "rbac-abac",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Rbac, Self::RbacAbac].into_iter().find(|mode| mode.as_str() == text)
    }
}

impl fmt::Display for RoleAssignmentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A built-in role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub name: String,
    pub description: String,
    /// Whether an assignment may carry a repository condition.
    pub abac_enabled: bool,
    /// Repository actions in `rbac` mode.
    pub rbac_actions: Vec<Action>,
    /// Repository actions in `rbac-abac` mode (before any condition).
    pub rbac_abac_actions: Vec<Action>,
    /// Whether it lists every repository (per mode: `rbac`, `rbac-abac`).
    pub lists_catalog: [bool; 2],
    /// Control-plane reach: `area: none|read|write` for settings, tokens
    /// and scope maps (`configuration`), identities, role assignments and
    /// the audit log.
    pub control: Vec<ControlReach>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ControlReach {
    pub area: String,
    pub access: String,
}

/// A role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// Its id (a UUID), as `role assignment delete --ids` takes it.
    pub name: String,
    pub role: String,
    pub assignee: IdentityRef,
    /// The condition as given (version 2.0), none for registry-wide.
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub description: String,
    /// Whether the registry's mode honours it now.
    pub honoured: bool,
    /// What the administrator should know: actions the condition leaves
    /// unrestricted, prefixes without a trailing `/` and the existing
    /// repositories they also match, a condition the mode ignores.
    pub warnings: Vec<String>,
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(with = "crate::time")]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/role-assignments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRoleAssignment {
    /// The role's name, e.g. "Container Registry Repository Reader".
    pub role: String,
    /// A user's, group's or service principal's name (or application id),
    /// or `anonymous` with `assigneeKind: anonymous`.
    pub assignee: String,
    /// Only needed for the anonymous principal; otherwise checked when
    /// given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_kind: Option<IdentityKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `2.0` (the default when a condition is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_version: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// `PATCH /api/v1/role-assignments/{name}`: what is given changes. An
/// absent `condition` keeps the present one; `"condition": null` removes
/// it (the role then applies to every repository), so a client that leaves
/// the field out never widens an assignment by accident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAssignmentChange {
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub condition: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Filters of `GET /api/v1/role-assignments`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentQuery {
    /// Assignments to this identity (and, for users and service
    /// principals, to their groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Assignments that give some action on this repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RegistrySettings {
    pub role_assignment_mode: RoleAssignmentMode,
}

/// `PATCH /api/v1/registry`, and the body of its preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrySettingsChange {
    pub role_assignment_mode: RoleAssignmentMode,
}

/// What switching the mode would change, assignment by assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModePreview {
    pub from: RoleAssignmentMode,
    pub to: RoleAssignmentMode,
    /// Only the assignments whose effect changes.
    pub changes: Vec<ModeChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModeChange {
    pub assignment: String,
    pub assignee: IdentityRef,
    pub role: String,
    /// What it gives now and after the switch, in words.
    pub before: String,
    pub after: String,
}

/// `GET /api/v1/check-access?assignee=&repository=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    pub assignee: IdentityRef,
    pub repository: String,
    pub mode: RoleAssignmentMode,
    /// Whether repository lists show every repository to it.
    pub lists_every_repository: bool,
    pub actions: Vec<ActionAccess>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActionAccess {
    pub action: Action,
    pub granted: bool,
    /// The assignments that give it.
    pub granted_by: Vec<AssignmentRef>,
    /// Assignments whose role includes it but that do not give it here.
    pub not_given_by: Vec<AssignmentRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssignmentRef {
    pub assignment: String,
    pub role: String,
    /// The assignee: the identity itself, or the group through which it
    /// holds the assignment.
    pub assignee: IdentityRef,
    /// Why it does not give the action (absent when it does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AccessCheckQuery {
    pub assignee: String,
    pub repository: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_condition_keeps_and_a_null_one_removes() {
        let change = |text: &str| serde_json::from_str::<RoleAssignmentChange>(text).unwrap().condition;
        assert_eq!(change(r#"{"description": "x"}"#), None);
        assert_eq!(change(r#"{"condition": null}"#), Some(None));
        assert_eq!(change(r#"{"condition": "c"}"#), Some(Some("c".to_owned())));
        let removing = RoleAssignmentChange { condition: Some(None), ..RoleAssignmentChange::default() };
        assert_eq!(serde_json::to_string(&removing).unwrap(), r#"{"condition":null}"#);
    }
}
