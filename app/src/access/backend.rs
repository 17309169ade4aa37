//! The port through which the access-control server functions reach the
//! registry. Implemented by the server crate (`portal::access`) over the
//! same identity service as the JSON API and the server's condition parser
//! and printer, so every rule lives there once. Every method asks the
//! policy whether `actor` may (read or change role assignments, read
//! identities, read or change the settings) before it acts.

use std::sync::Arc;

use crate::{
    access::model::{
        AccessCheck, AccessSetup, Assignment, AssignmentList, AssignmentPreview, ConditionReport,
        IdentityKind, Member, ModePreview, RoleAssignmentMode, Tree,
    },
    error::PortalError,
    model::SignedInUser,
};

/// Filters of the role assignment list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    /// Identity, role or condition text containing this (any case).
    pub search: String,
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub repository: Option<String>,
}

#[async_trait::async_trait]
pub trait AccessBackend: Send + Sync + 'static {
    async fn setup(&self, actor: &SignedInUser) -> Result<AccessSetup, PortalError>;

    /// Page `page` (from 1) of the matching assignments, oldest first.
    async fn assignments(
        &self,
        actor: &SignedInUser,
        filter: AssignmentFilter,
        page: u32,
    ) -> Result<AssignmentList, PortalError>;

    async fn assignment(&self, actor: &SignedInUser, name: &str) -> Result<Assignment, PortalError>;

    /// Users, groups, service principals and Everyone (anonymous) whose
    /// name contains `search` (any case).
    async fn members(&self, actor: &SignedInUser, search: &str) -> Result<Vec<Member>, PortalError>;

    /// The server's reading of condition text for `role`: refused with the
    /// parser's positioned message.
    async fn parse_condition(
        &self,
        actor: &SignedInUser,
        role: &str,
        text: &str,
    ) -> Result<ConditionReport, PortalError>;

    /// The canonical text of an editor's tree, with the same checks.
    async fn print_condition(
        &self,
        actor: &SignedInUser,
        role: &str,
        tree: &Tree,
    ) -> Result<ConditionReport, PortalError>;

    /// What an assignment of `role` with `condition` would give on each
    /// existing repository.
    async fn preview(
        &self,
        actor: &SignedInUser,
        role: &str,
        condition: Option<&str>,
    ) -> Result<AssignmentPreview, PortalError>;

    async fn create_assignment(
        &self,
        actor: &SignedInUser,
        role: &str,
        assignee: &str,
        kind: IdentityKind,
        condition: Option<String>,
        description: String,
    ) -> Result<Assignment, PortalError>;

    /// Replaces the condition (none: registry-wide).
    async fn update_condition(
        &self,
        actor: &SignedInUser,
        name: &str,
        condition: Option<String>,
    ) -> Result<Assignment, PortalError>;

    async fn delete_assignment(&self, actor: &SignedInUser, name: &str) -> Result<(), PortalError>;

    async fn check_access(
        &self,
        actor: &SignedInUser,
        assignee: &str,
        repository: &str,
    ) -> Result<AccessCheck, PortalError>;

    /// The registry's role assignment permissions mode.
    async fn mode(&self, actor: &SignedInUser) -> Result<RoleAssignmentMode, PortalError>;

    /// Who gains and who loses which access if the mode became `to`.
    async fn preview_mode(
        &self,
        actor: &SignedInUser,
        to: RoleAssignmentMode,
    ) -> Result<ModePreview, PortalError>;

    /// Switches the mode; effective from the next request.
    async fn set_mode(
        &self,
        actor: &SignedInUser,
        to: RoleAssignmentMode,
    ) -> Result<RoleAssignmentMode, PortalError>;
}

/// Context handle to the backend.
#[derive(Clone)]
pub struct Access(pub Arc<dyn AccessBackend>);
