//! Server functions for access control (IAM): thin adapters to
//! [`crate::access::backend`], which asks the policy for the area each one
//! needs (role assignments, identities, configuration) as the JSON API
//! does. Reads are GET (parsing and printing a condition change nothing);
//! changes are POST with the session's CSRF token.

use leptos::{prelude::*, server_fn::codec::GetUrl};

#[cfg(feature = "ssr")]
use crate::model::{Area, Reach};
use crate::{
    access::model::{
        AccessCheck, AccessSetup, Assignment, AssignmentList, AssignmentPreview, ConditionReport,
        IdentityKind, Member, ModePreview, RoleAssignmentMode,
    },
    error::PortalError,
};

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    pub use crate::api::ssr::*;
    use crate::{
        access::backend::{Access, AccessBackend},
        error::PortalError,
        model::{Area, Reach, SignedInUser},
    };

    /// The signed-in user whose roles reach `area` as far as `reach`, and
    /// the backend (which asks the policy again), or 401/403.
    /// The backend is taken before the first wait (see `crate::api::ssr`).
    pub async fn caller(
        area: Area,
        reach: Reach,
    ) -> Result<(SignedInUser, Arc<dyn AccessBackend>), PortalError> {
        let backend = context::<Access>()?.0;
        let session = session().await?;
        let user = require_reach(&session, area, reach).await?;
        Ok((user, backend))
    }
}

#[server(prefix = "/portal", endpoint = "access_setup", input = GetUrl)]
pub async fn get_access_setup() -> Result<AccessSetup, PortalError> {
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    access.setup(&user).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "role_assignments", input = GetUrl)]
pub async fn list_assignments(
    #[server(default)] search: String,
    #[server(default)] role: String,
    #[server(default)] assignee: String,
    #[server(default)] repository: String,
    page: u32,
) -> Result<AssignmentList, PortalError> {
    use crate::access::backend::AssignmentFilter;
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    let given = |text: String| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let filter = AssignmentFilter {
        search: search.trim().to_owned(),
        role: given(role),
        assignee: given(assignee),
        repository: given(repository),
    };
    access.assignments(&user, filter, page.max(1)).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "role_assignment", input = GetUrl)]
pub async fn get_assignment(name: String) -> Result<Assignment, PortalError> {
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    access.assignment(&user, &name).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "access_members", input = GetUrl)]
pub async fn list_members(#[server(default)] search: String) -> Result<Vec<Member>, PortalError> {
    let (user, access) = ssr::caller(Area::Identities, Reach::Read).await?;
    access.members(&user, search.trim()).await.map_err(ssr::fail)
}

/// Condition text as the server's parser reads it: its tree and canonical
/// text, or the parser's positioned message.
#[server(prefix = "/portal", endpoint = "condition_parse", input = GetUrl)]
pub async fn parse_condition(role: String, text: String) -> Result<ConditionReport, PortalError> {
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    access.parse_condition(&user, &role, &text).await.map_err(ssr::fail)
}

/// The visual editor's tree (as JSON) printed by the server's printer.
#[server(prefix = "/portal", endpoint = "condition_print", input = GetUrl)]
pub async fn print_condition(role: String, tree: String) -> Result<ConditionReport, PortalError> {
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    let tree = serde_json::from_str(&tree).map_err(|_| {
        ssr::fail(PortalError::Invalid("The condition editor sent an unreadable tree.".into()))
    })?;
    access.print_condition(&user, &role, &tree).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "assignment_preview", input = GetUrl)]
pub async fn preview_assignment(
    role: String,
    #[server(default)] condition: String,
) -> Result<AssignmentPreview, PortalError> {
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    let condition = Some(condition.as_str()).filter(|text| !text.trim().is_empty());
    access.preview(&user, &role, condition).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "role_assignment_create")]
pub async fn create_assignment(
    csrf_token: String,
    role: String,
    assignee: String,
    kind: IdentityKind,
    condition: Option<String>,
    #[server(default)] description: String,
) -> Result<Assignment, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Write).await?;
    let condition = condition.filter(|text| !text.trim().is_empty());
    access.create_assignment(&user, &role, &assignee, kind, condition, description).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "role_assignment_update")]
pub async fn update_condition(
    csrf_token: String,
    name: String,
    condition: Option<String>,
) -> Result<Assignment, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Write).await?;
    let condition = condition.filter(|text| !text.trim().is_empty());
    access.update_condition(&user, &name, condition).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "role_assignment_delete")]
pub async fn delete_assignment(csrf_token: String, name: String) -> Result<(), PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Write).await?;
    access.delete_assignment(&user, &name).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "check_access", input = GetUrl)]
pub async fn check_access(assignee: String, repository: String) -> Result<AccessCheck, PortalError> {
    let (user, access) = ssr::caller(Area::RoleAssignments, Reach::Read).await?;
    access.check_access(&user, assignee.trim(), repository.trim()).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "registry_mode", input = GetUrl)]
pub async fn get_mode() -> Result<RoleAssignmentMode, PortalError> {
    let (user, access) = ssr::caller(Area::Configuration, Reach::Read).await?;
    access.mode(&user).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "registry_mode_preview", input = GetUrl)]
pub async fn preview_mode(to: RoleAssignmentMode) -> Result<ModePreview, PortalError> {
    let (user, access) = ssr::caller(Area::Configuration, Reach::Read).await?;
    access.preview_mode(&user, to).await.map_err(ssr::fail)
}

#[server(prefix = "/portal", endpoint = "registry_mode_set")]
pub async fn set_mode(csrf_token: String, to: RoleAssignmentMode) -> Result<RoleAssignmentMode, PortalError> {
    let _checked_by_the_csrf_layer = csrf_token;
    let (user, access) = ssr::caller(Area::Configuration, Reach::Write).await?;
    access.set_mode(&user, to).await.map_err(ssr::fail)
}
