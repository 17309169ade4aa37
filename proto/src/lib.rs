//! The wire types of the management API `/api/v1` (docs/API.md): every
//! request and response body, defined once and shared by the server (which
//! answers with them and generates its OpenAPI document from them, feature
//! `openapi`), the CLI (which sends and reads them) and the portal (which
//! shows them). Serde only: no I/O, no server types, nothing that keeps the
//! portal's wasm build from compiling (as kanidm's `kanidm_proto`).
//!
//! Values that are one of a set are enums ([`Action`], [`ScopeMapKind`],
//! [`TokenStatus`], [`PasswordSlot`], [`AuditOutcome`], [`ErrorCode`]); their
//! serde names are the wire spelling. Secrets are [`Password`]s, whose `Debug`
//! prints no secret.

mod access;
mod audit;
mod identities;
mod problem;
mod repositories;
mod scope_maps;
pub mod time;
mod tokens;
mod users;

pub use access::{
    AccessDocument, AccessPlan, AccessState, ApplyOutcome, ApplyRequest, ChangeOp, CredentialExpiryChange,
    DeclaredAttributes, DeclaredGroup, DeclaredPassword, DeclaredRoleAssignment, DeclaredScopeMap,
    DeclaredServicePrincipal, DeclaredToken, DeclaredUser, FieldChange, GeneratedSecret, ObjectKind,
    PlanRequest, PlannedChange,
};
pub use audit::{AuditEntry, AuditOutcome, AuditPage, AuditQuery};
pub use identities::{
    AccessCheck, AccessCheckQuery, ActionAccess, AssignmentRef, ClientSecret, ControlReach,
    FederatedCredential, Group, IdentityKind, IdentityRef, ModeChange, ModePreview, NewClientSecret,
    NewFederatedCredential, NewGroup, NewGroupMember, NewRoleAssignment, NewServicePrincipal, NewUser,
    RegistrySettings, RegistrySettingsChange, RoleAssignment, RoleAssignmentChange, RoleAssignmentMode,
    RoleAssignmentQuery, RoleDefinition, ServicePrincipal, ServicePrincipalChange, User, UserChange,
};
pub use problem::{ErrorCode, Problem, PROBLEM_CONTENT_TYPE};
pub use repositories::{Attributes, AttributesPatch, DeletedRepository, Manifest, Platform, Repository, Tag};
pub use scope_maps::{
    Action, NewScopeMap, RepositoryActions, ScopeMap, ScopeMapChange, ScopeMapKind, UnknownAction,
};
pub use tokens::{
    CredentialPassword, Credentials, GenerateCredentials, NewToken, Password, PasswordSlot, Token,
    TokenChange, TokenListQuery, TokenPage, TokenSort, TokenStatus, UnknownPasswordSlot,
};
pub use users::PasswordChange;

/// The derive and attribute of the schema, only with the `openapi`
/// feature; without it the types carry serde alone.
#[cfg(feature = "openapi")]
pub use utoipa;
