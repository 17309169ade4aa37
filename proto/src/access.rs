//! Access as code (docs/API.md "Access as code"): the desired state of a
//! registry's scope maps, tokens and repository attributes as one
//! document, the plan that compares it with the registry, and the answer of
//! an apply. `portcullis plan|apply|export` read and write it as a TOML
//! file (docs/ACCESS-AS-CODE.md); the server decides, diffs and applies it
//! in one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    scope_maps::RepositoryActions, tokens::Password, IdentityKind, PasswordSlot, RoleAssignmentMode,
    TokenStatus,
};

/// The access a registry should have. Objects are keyed by name; names
/// compare without case, so two keys that differ only in case are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessDocument {
    /// User-defined scope maps (the system-defined ones exist everywhere
    /// and cannot be declared; tokens may name them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scope_maps: BTreeMap<String, DeclaredScopeMap>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokens: BTreeMap<String, DeclaredToken>,
    /// Repository-level attributes of existing repositories.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repositories: BTreeMap<String, DeclaredAttributes>,
    /// Existing users' display names and enabled flags (people are neither
    /// created nor deleted by an apply: they choose their own password).
    /// Absent: users are not managed by this document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<BTreeMap<String, DeclaredUser>>,
    /// Absent: groups are not managed (`prune` leaves them alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<BTreeMap<String, DeclaredGroup>>,
    /// Absent: service principals are not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principals: Option<BTreeMap<String, DeclaredServicePrincipal>>,
    /// Absent: role assignments are not managed. An assignment is what it
    /// gives: its role, assignee and condition; only its description can
    /// change in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_assignments: Option<Vec<DeclaredRoleAssignment>>,
    /// Absent: the mode is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_assignment_mode: Option<RoleAssignmentMode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredUser {
    #[serde(default)]
    pub display_name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredGroup {
    #[serde(default)]
    pub description: String,
    /// Users and service principals, by name.
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredServicePrincipal {
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredRoleAssignment {
    /// A built-in role's name (`GET /api/v1/role-definitions`).
    pub role: String,
    /// A user, group or service principal, or `anonymous`.
    pub assignee: String,
    /// Optional (names of users, groups and service principals are one
    /// space); `anonymous` for the anonymous caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_kind: Option<IdentityKind>,
    /// An ABAC condition on the repository name (rbac-abac mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredScopeMap {
    #[serde(default)]
    pub description: String,
    /// The rules; a pattern given twice has the union of its actions.
    #[serde(default)]
    pub repositories: Vec<RepositoryActions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredToken {
    /// A declared or a system-defined scope map.
    pub scope_map: String,
    #[serde(default = "enabled")]
    pub status: TokenStatus,
    /// Absent: the token has no password1 (an existing one is deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password1: Option<DeclaredPassword>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password2: Option<DeclaredPassword>,
}

fn enabled() -> TokenStatus {
    TokenStatus::Enabled
}

impl DeclaredToken {
    pub fn password(&self, slot: PasswordSlot) -> Option<&DeclaredPassword> {
        match slot {
            PasswordSlot::Password1 => self.password1.as_ref(),
            PasswordSlot::Password2 => self.password2.as_ref(),
        }
    }
}

/// One password slot that should hold a password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredPassword {
    /// Changing it regenerates this password (and only it). Absent: keep
    /// whatever password the slot holds (generate one when it is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When the password stops working; at most one of `expiry` and
    /// `validForSeconds`. Changing only the expiry keeps the password.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::time::option")]
    pub expiry: Option<DateTime<Utc>>,
    /// The expiry as a duration from the password's generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for_seconds: Option<i64>,
}

/// A repository's own attributes; absent ones are `true` (the default of
/// every repository).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredAttributes {
    #[serde(default = "yes")]
    pub delete_enabled: bool,
    #[serde(default = "yes")]
    pub write_enabled: bool,
    #[serde(default = "yes")]
    pub read_enabled: bool,
    #[serde(default = "yes")]
    pub list_enabled: bool,
}

fn yes() -> bool {
    true
}

impl Default for DeclaredAttributes {
    fn default() -> Self {
        Self { delete_enabled: true, write_enabled: true, read_enabled: true, list_enabled: true }
    }
}

/// `GET /api/v1/access`: the registry's access now, and the revision an
/// apply must name to change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessState {
    pub revision: String,
    pub document: AccessDocument,
}

/// `POST /api/v1/access/plan`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    pub document: AccessDocument,
    /// Delete the scope maps and tokens the document does not name.
    #[serde(default)]
    pub prune: bool,
    /// Warn about passwords that expire within this many days (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // utoipa documents a `u32` as `int32`, whose range ends at 2^31 - 1.
    #[cfg_attr(feature = "openapi", schema(format = Int64, maximum = 4294967295_u64))]
    pub expiring_within_days: Option<u32>,
}

/// `POST /api/v1/access/apply`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyRequest {
    pub document: AccessDocument,
    /// The `revision` of the plan (or export) this apply was decided on:
    /// any change since is refused with 409 `STALE_REVISION`.
    pub expected_revision: String,
    #[serde(default)]
    pub prune: bool,
    /// Allow regenerating or deleting every working password of a token in
    /// one apply (otherwise 409 `ROTATION_REFUSED`).
    #[serde(default)]
    pub allow_downtime: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    ScopeMap,
    Token,
    Repository,
    User,
    Group,
    ServicePrincipal,
    RoleAssignment,
    Registry,
}

impl ObjectKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectKind::ScopeMap => "scope map",
            ObjectKind::Token => "token",
            ObjectKind::Repository => "repository",
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::ServicePrincipal => "service principal",
            ObjectKind::RoleAssignment => "role assignment",
            ObjectKind::Registry => "registry",
        }
    }

    /// The first word of the audit action of a change to such an object
    /// (`token.update`), as the imperative calls spell it.
    pub const fn audit_name(self) -> &'static str {
        match self {
            ObjectKind::ScopeMap => "scopeMap",
            ObjectKind::Token => "token",
            ObjectKind::Repository => "repository",
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::ServicePrincipal => "sp",
            ObjectKind::RoleAssignment => "role-assignment",
            ObjectKind::Registry => "registry",
        }
    }
}

/// One field of a change, as a plan prints it: `before → after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// `description`, `repositories/samples/*`, `password1`, `password1.expiry`...
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// What the change means, e.g. `regenerated: the old password stops working`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One object to create, update or delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    pub op: ChangeOp,
    pub kind: ObjectKind,
    pub name: String,
    pub fields: Vec<FieldChange>,
}

/// What an apply of the document would change, in the order it would
/// change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessPlan {
    /// The registry's revision the plan was made on: give it to apply.
    pub revision: String,
    pub changes: Vec<PlannedChange>,
    /// The passwords the apply would generate (`token/password1`).
    pub generates: Vec<String>,
    /// Why an apply without `allowDowntime` would be refused (empty: it
    /// would not).
    pub downtime: Vec<String>,
    /// Passwords that expire soon (or have expired) and stay so.
    pub warnings: Vec<String>,
}

/// A password an apply generated: shown once, in this answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GeneratedSecret {
    pub token: String,
    pub slot: PasswordSlot,
    pub value: Password,
    #[serde(with = "crate::time::option")]
    pub expiry: Option<DateTime<Utc>>,
}

/// `200` of an apply: what changed, the new revision and the generated
/// passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApplyOutcome {
    pub revision: String,
    pub changes: Vec<PlannedChange>,
    pub secrets: Vec<GeneratedSecret>,
}

/// `PATCH /api/v1/tokens/{name}/credentials/{slot}`: a new expiry (`null`:
/// none) for the password, which is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialExpiryChange {
    #[serde(with = "crate::time::option")]
    pub expiry: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_document_reads_the_documented_shape_and_refuses_unknown_keys() {
        let document: AccessDocument = serde_json::from_value(json!({
            "scopeMaps": {"ci-push": {"description": "CI", "repositories": [
                {"repository": "samples/*", "actions": ["content/read", "content/write"]}]}},
            "tokens": {"ci-bot": {"scopeMap": "ci-push",
                "password1": {"version": "1", "expiry": "2027-06-30T00:00:00Z"},
                "password2": {"validForSeconds": 86400}}},
            "repositories": {"samples/prod": {"deleteEnabled": false}}
        }))
        .unwrap();
        let token = &document.tokens["ci-bot"];
        assert_eq!(token.status, TokenStatus::Enabled);
        assert_eq!(token.password1.as_ref().unwrap().version.as_deref(), Some("1"));
        assert_eq!(token.password2.as_ref().unwrap().valid_for_seconds, Some(86400));
        let attributes = document.repositories["samples/prod"];
        assert!(!attributes.delete_enabled && attributes.write_enabled && attributes.list_enabled);
        let unknown = serde_json::from_value::<AccessDocument>(
            json!({"tokens": {"t": {"scopeMap": "m", "pasword1": {}}}}),
        );
        assert!(unknown.unwrap_err().to_string().contains("unknown field `pasword1`"));
    }

    #[test]
    fn a_generated_secret_is_not_in_debug_output() {
        let secret = GeneratedSecret {
            token: "ci-bot".into(),
            slot: PasswordSlot::Password1,
            value: Password::new("pct_secret"),
            expiry: None,
        };
        assert!(!format!("{secret:?}").contains("pct_secret"));
        assert_eq!(serde_json::to_value(&secret).unwrap()["value"], "pct_secret");
    }
}
