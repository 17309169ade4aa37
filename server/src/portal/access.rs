//! The portal's access control (IAM), behind
//! `app::access::backend::AccessBackend`. Calls the same
//! [`IdentityService`] as the JSON API (assignments, members, the mode and
//! its preview, check access) and the server's condition parser and
//! printer; only translates types: the condition's syntax tree to the
//! editor's [`Tree`] and back, the services' views into the portal's. Each
//! method first asks the policy for what the API operation asks
//! (`Control(area, Read|Write)`), so a Reader reads and changes nothing.

use std::sync::Arc;

use app::{
    access::{
        backend::{AccessBackend, AssignmentFilter},
        model::{
            AccessCheck, AccessSetup, Assignment, AssignmentList, AssignmentPreview, ConditionReport,
            ConditionText, IdentityKind, Member, ModePreview, RepositoryActions, RoleAssignmentMode, Tree,
            PAGE_SIZE,
        },
    },
    error::PortalError,
    model::SignedInUser,
};
use portcullis_proto::{
    NewRoleAssignment, RoleAssignment as AssignmentView, RoleAssignmentChange, RoleAssignmentQuery,
};

use super::{authorize, internal, manage_error, sentence, subject};
use crate::{
    auth::token::Subject,
    domain::RepositoryName,
    policy::{
        condition::{Condition, Node},
        roles::{ControlAccess, ControlArea, Role, RoleAssignment},
        Operation,
    },
    service::{
        access::AccessService,
        identities::{policy_mode, wire_mode, IdentityService, ANONYMOUS_NAME},
        repositories::RepositoryAdmin,
        tokens::display_time,
    },
};

pub struct AccessPortal {
    access: Arc<AccessService>,
    identities: Arc<IdentityService>,
    repositories: Arc<RepositoryAdmin>,
}

impl AccessPortal {
    pub fn new(
        access: Arc<AccessService>,
        identities: Arc<IdentityService>,
        repositories: Arc<RepositoryAdmin>,
    ) -> Self {
        Self { access, identities, repositories }
    }

    /// The signed-in user, once the decision lets them use `area` so.
    async fn allowed(
        &self,
        user: &SignedInUser,
        area: ControlArea,
        access: ControlAccess,
    ) -> Result<Subject, PortalError> {
        authorize(&self.access, subject(user), Operation::Control(area, access)).await
    }

    async fn current_mode(&self) -> Result<crate::policy::roles::RoleAssignmentMode, PortalError> {
        let settings = self.identities.settings().await.map_err(manage_error)?;
        Ok(policy_mode(settings.role_assignment_mode))
    }

    /// The service's assessment of a condition for `role`, in the page's
    /// terms.
    async fn report(&self, role: &str, text: &str) -> Result<ConditionReport, PortalError> {
        let (condition, warnings) =
            self.identities.explain_condition(role, text).await.map_err(manage_error)?;
        Ok(ConditionReport { text: condition.to_string(), tree: tree(&condition.node()), warnings })
    }
}

fn tree(node: &Node) -> Tree {
    match node {
        Node::ActionMatches(action) => Tree::Action(*action),
        Node::RepositoryName { operator, value } => {
            Tree::Name { operator: operator.clone(), value: value.clone() }
        }
        Node::Not(operand) => Tree::Not(Box::new(tree(operand))),
        Node::All(operands) => Tree::All(operands.iter().map(tree).collect()),
        Node::Any(operands) => Tree::Any(operands.iter().map(tree).collect()),
    }
}

fn node(tree: &Tree) -> Node {
    match tree {
        Tree::Action(action) => Node::ActionMatches(*action),
        Tree::Name { operator, value } => {
            Node::RepositoryName { operator: operator.clone(), value: value.clone() }
        }
        Tree::Not(operand) => Node::Not(Box::new(node(operand))),
        Tree::All(operands) => Node::All(operands.iter().map(node).collect()),
        Tree::Any(operands) => Node::Any(operands.iter().map(node).collect()),
    }
}

fn assignment(view: AssignmentView) -> Assignment {
    let condition = view.condition.map(|text| {
        // Stored conditions were checked when set; one that no longer
        // parses shows as text only.
        let tree = Condition::parse(&text).map(|condition| tree(&condition.node())).ok();
        (text, tree)
    });
    let role_actions = Role::from_name(&view.role)
        .map(|role| role.data_actions(crate::policy::roles::RoleAssignmentMode::RbacAbac).iter().collect())
        .unwrap_or_default();
    Assignment {
        name: view.name,
        role: view.role,
        assignee: view.assignee,
        condition: condition.map(|(text, tree)| ConditionText {
            tree: tree.unwrap_or(Tree::Name { operator: "?".to_owned(), value: text.clone() }),
            text,
        }),
        description: view.description,
        honoured: view.honoured,
        warnings: view.warnings.iter().map(|warning| sentence(warning)).collect(),
        created: display_time(view.created_at),
        created_by: view.created_by,
        role_actions,
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[async_trait::async_trait]
impl AccessBackend for AccessPortal {
    async fn setup(&self, user: &SignedInUser) -> Result<AccessSetup, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        let settings = self.identities.settings().await.map_err(manage_error)?;
        Ok(AccessSetup {
            mode: settings.role_assignment_mode,
            roles: self.identities.role_definitions(),
            operators: Condition::operator_names(),
        })
    }

    async fn assignments(
        &self,
        user: &SignedInUser,
        filter: AssignmentFilter,
        page: u32,
    ) -> Result<AssignmentList, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        let query = RoleAssignmentQuery {
            assignee: filter.assignee,
            role: filter.role,
            repository: filter.repository,
        };
        let views = self.identities.list_assignments(&query).await.map_err(manage_error)?;
        let matching: Vec<AssignmentView> = views
            .into_iter()
            .filter(|view| {
                let search = filter.search.as_str();
                search.is_empty()
                    || contains(&view.assignee.name, search)
                    || contains(&view.role, search)
                    || view.condition.as_deref().is_some_and(|text| contains(text, search))
            })
            .collect();
        let total = matching.len();
        let size = PAGE_SIZE as usize;
        let pages = total.div_ceil(size).max(1) as u32;
        let page = page.min(pages);
        let items =
            matching.into_iter().skip((page as usize - 1) * size).take(size).map(assignment).collect();
        Ok(AssignmentList { items, total, page, pages })
    }

    async fn assignment(&self, user: &SignedInUser, name: &str) -> Result<Assignment, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        self.identities.assignment(name).await.map(assignment).map_err(manage_error)
    }

    async fn members(&self, user: &SignedInUser, search: &str) -> Result<Vec<Member>, PortalError> {
        // What GET /api/v1/users, /groups and /service-principals ask.
        self.allowed(user, ControlArea::Identities, ControlAccess::Read).await?;
        let mut members = vec![Member {
            kind: IdentityKind::Anonymous,
            name: ANONYMOUS_NAME.to_owned(),
            detail: "Callers without credentials".to_owned(),
        }];
        let users = self.identities.list_users().await.map_err(manage_error)?;
        members.extend(users.into_iter().map(|user| Member {
            kind: IdentityKind::User,
            name: user.name,
            detail: user.display_name,
        }));
        let groups = self.identities.list_groups().await.map_err(manage_error)?;
        members.extend(groups.into_iter().map(|group| Member {
            kind: IdentityKind::Group,
            detail: format!("{} members", group.members.len()),
            name: group.name,
        }));
        let principals = self.identities.list_service_principals().await.map_err(manage_error)?;
        members.extend(principals.into_iter().map(|sp| Member {
            kind: IdentityKind::ServicePrincipal,
            name: sp.name,
            detail: format!("Application id {}", sp.app_id),
        }));
        members.retain(|member| {
            search.is_empty() || contains(&member.name, search) || contains(&member.detail, search)
        });
        Ok(members)
    }

    async fn parse_condition(
        &self,
        user: &SignedInUser,
        role: &str,
        text: &str,
    ) -> Result<ConditionReport, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        self.report(role, text).await
    }

    async fn print_condition(
        &self,
        user: &SignedInUser,
        role: &str,
        tree: &Tree,
    ) -> Result<ConditionReport, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        let condition = Condition::from_node(&node(tree)).map_err(|error| {
            PortalError::Invalid(sentence(&format!("the condition does not parse: {error}")))
        })?;
        self.report(role, &condition.to_string()).await
    }

    async fn preview(
        &self,
        user: &SignedInUser,
        role: &str,
        condition: Option<&str>,
    ) -> Result<AssignmentPreview, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        let mode = self.current_mode().await?;
        let role = Role::from_name(role)
            .ok_or_else(|| PortalError::Invalid(format!("{role} is not a role of this registry.")))?;
        let condition = match condition {
            Some(text) => Some(Arc::new(
                self.identities.explain_condition(role.name(), text).await.map_err(manage_error)?.0,
            )),
            None => None,
        };
        let assignment = RoleAssignment { role, condition };
        let repositories = self.repositories.list_all().await.map_err(internal)?;
        let repositories = repositories
            .into_iter()
            .filter_map(|repository| repository.name.parse::<RepositoryName>().ok())
            .map(|name| RepositoryActions {
                actions: assignment.actions_on(mode, &name).iter().collect(),
                repository: name.to_string(),
            })
            .collect();
        Ok(AssignmentPreview { repositories, lists_every_repository: role.lists_every_repository(mode) })
    }

    async fn create_assignment(
        &self,
        user: &SignedInUser,
        role: &str,
        assignee: &str,
        kind: IdentityKind,
        condition: Option<String>,
        description: String,
    ) -> Result<Assignment, PortalError> {
        let actor = self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Write).await?;
        let request = NewRoleAssignment {
            role: role.to_owned(),
            assignee: assignee.to_owned(),
            assignee_kind: Some(kind),
            condition_version: None,
            condition,
            description,
        };
        self.identities.create_assignment(&actor, request).await.map(assignment).map_err(manage_error)
    }

    async fn update_condition(
        &self,
        user: &SignedInUser,
        name: &str,
        condition: Option<String>,
    ) -> Result<Assignment, PortalError> {
        let actor = self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Write).await?;
        let change = RoleAssignmentChange { condition: Some(condition), ..RoleAssignmentChange::default() };
        self.identities.update_assignment(&actor, name, change).await.map(assignment).map_err(manage_error)
    }

    async fn delete_assignment(&self, user: &SignedInUser, name: &str) -> Result<(), PortalError> {
        let actor = self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Write).await?;
        self.identities.delete_assignment(&actor, name).await.map_err(manage_error)
    }

    async fn check_access(
        &self,
        user: &SignedInUser,
        assignee: &str,
        repository: &str,
    ) -> Result<AccessCheck, PortalError> {
        self.allowed(user, ControlArea::RoleAssignments, ControlAccess::Read).await?;
        self.identities.check_access(assignee, repository).await.map_err(manage_error)
    }

    async fn mode(&self, user: &SignedInUser) -> Result<RoleAssignmentMode, PortalError> {
        self.allowed(user, ControlArea::Configuration, ControlAccess::Read).await?;
        Ok(wire_mode(self.current_mode().await?))
    }

    async fn preview_mode(
        &self,
        user: &SignedInUser,
        to: RoleAssignmentMode,
    ) -> Result<ModePreview, PortalError> {
        self.allowed(user, ControlArea::Configuration, ControlAccess::Read).await?;
        self.identities.preview_mode(policy_mode(to)).await.map_err(manage_error)
    }

    async fn set_mode(
        &self,
        user: &SignedInUser,
        to: RoleAssignmentMode,
    ) -> Result<RoleAssignmentMode, PortalError> {
        let actor = self.allowed(user, ControlArea::Configuration, ControlAccess::Write).await?;
        let settings = self.identities.set_mode(&actor, policy_mode(to)).await.map_err(manage_error)?;
        Ok(settings.role_assignment_mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editors_tree_goes_through_the_servers_printer_and_parser_unchanged() {
        let texts = [
            "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND \
             !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR \
             @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/')",
            "(!(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEquals 'backend/secret') AND \
             (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWith 'backend/' OR \
             ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}))",
        ];
        for text in texts {
            let condition = Condition::parse(text).unwrap();
            let editor = app::access::model::Editor::from_tree(&tree(&condition.node()));
            let back = Condition::from_node(&node(&editor.to_tree().unwrap())).unwrap();
            assert_eq!(back.to_string(), text);
        }
    }

    #[test]
    fn a_tree_with_an_unknown_operator_or_an_empty_group_is_refused() {
        let unknown = Tree::Name { operator: "StringLike".to_owned(), value: "a*".to_owned() };
        assert!(Condition::from_node(&node(&unknown)).is_err());
        assert!(Condition::from_node(&node(&Tree::Any(vec![]))).is_err());
    }
}
