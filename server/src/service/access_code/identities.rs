//! The identities of an access document: existing users' display names and
//! enabled flags, groups and their members, service principals, role
//! assignments with their conditions and the permissions mode. Read,
//! exported, compared and written inside the one transaction of
//! [`super`]. A section the document leaves out is not managed by it
//! (`prune` leaves it alone); people are never created or deleted by an
//! apply (they choose their own passwords). One more guard lives here: an
//! apply may not leave the registry without an enabled user holding Owner.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use portcullis_proto::{
    AccessDocument, ChangeOp, DeclaredGroup, DeclaredRoleAssignment, DeclaredServicePrincipal, DeclaredUser,
    IdentityKind, ObjectKind, RoleAssignmentMode as WireMode,
};

use super::{change, compare, field, invalid_at, segment, Plan, Step as AnyStep};
use crate::{
    db::{
        identities::{
            self as rows, Assignee, AssignmentRow, GroupRow, Member, NewAssignment, ServicePrincipalRow,
        },
        users::{self, UserRow},
        Tx,
    },
    policy::roles::{ControlAccess, ControlArea, Role, RoleAssignmentMode},
    service::{
        access::could_be_user_name,
        identities::{check_new_name, checked_condition, policy_mode, CONDITION_VERSION},
        tokens::{ManageError, ManageResult},
    },
};

/// The identities as stored.
pub(super) struct CurrentIdentities {
    users: Vec<UserRow>,
    /// Each group with its members' (kind, name).
    groups: Vec<(GroupRow, Vec<(String, String)>)>,
    service_principals: Vec<ServicePrincipalRow>,
    assignments: Vec<AssignmentRow>,
    mode: RoleAssignmentMode,
}

fn wire_mode(mode: RoleAssignmentMode) -> WireMode {
    match mode {
        RoleAssignmentMode::Rbac => WireMode::Rbac,
        RoleAssignmentMode::RbacAbac => WireMode::RbacAbac,
    }
}

/// An assignment as a document names it: role, assignee kind, assignee
/// (lowercase: names compare without case) and canonical condition.
type AssignmentKey = (String, IdentityKind, String, Option<String>);

impl CurrentIdentities {
    pub(super) async fn read(tx: &mut Tx) -> ManageResult<Self> {
        Ok(Self {
            users: users::all(tx).await?,
            groups: rows::groups_with_members(tx).await?,
            service_principals: rows::all_service_principals(tx).await?,
            assignments: rows::all_assignments(tx).await?,
            mode: rows::mode_in(tx)
                .await?
                .and_then(|mode| mode.parse().ok())
                .unwrap_or(RoleAssignmentMode::Rbac),
        })
    }

    /// Writes the identities into the exported document.
    pub(super) fn export(&self, document: &mut AccessDocument) {
        document.users = Some(
            self.users
                .iter()
                .map(|user| {
                    let declared =
                        DeclaredUser { display_name: user.display_name.clone(), enabled: user.enabled };
                    (user.name.clone(), declared)
                })
                .collect(),
        );
        document.groups = Some(
            self.groups
                .iter()
                .map(|(group, members)| {
                    let mut names: Vec<String> = members.iter().map(|(_, name)| name.clone()).collect();
                    names.sort();
                    (
                        group.name.clone(),
                        DeclaredGroup { description: group.description.clone(), members: names },
                    )
                })
                .collect(),
        );
        document.service_principals = Some(
            self.service_principals
                .iter()
                .map(|sp| {
                    let declared =
                        DeclaredServicePrincipal { description: sp.description.clone(), enabled: sp.enabled };
                    (sp.name.clone(), declared)
                })
                .collect(),
        );
        let mut assignments: Vec<DeclaredRoleAssignment> = self
            .assignments
            .iter()
            .map(|row| {
                let kind = IdentityKind::parse(&row.assignee_kind).unwrap_or(IdentityKind::Anonymous);
                DeclaredRoleAssignment {
                    role: row.role.clone(),
                    assignee: if kind == IdentityKind::Anonymous {
                        "anonymous".into()
                    } else {
                        row.assignee_name.clone()
                    },
                    assignee_kind: Some(kind),
                    condition: row.condition.clone(),
                    description: row.description.clone(),
                }
            })
            .collect();
        assignments.sort_by(|a, b| {
            (a.assignee_kind.map(IdentityKind::as_str), &a.assignee, &a.role, &a.condition).cmp(&(
                b.assignee_kind.map(IdentityKind::as_str),
                &b.assignee,
                &b.role,
                &b.condition,
            ))
        });
        document.role_assignments = Some(assignments);
        document.role_assignment_mode = Some(wire_mode(self.mode));
    }

    fn user(&self, name: &str) -> Option<&UserRow> {
        self.users.iter().find(|user| user.name.eq_ignore_ascii_case(name))
    }

    fn group(&self, name: &str) -> Option<&(GroupRow, Vec<(String, String)>)> {
        self.groups.iter().find(|(group, _)| group.name.eq_ignore_ascii_case(name))
    }

    fn service_principal(&self, name: &str) -> Option<&ServicePrincipalRow> {
        self.service_principals.iter().find(|sp| sp.name.eq_ignore_ascii_case(name) || sp.app_id == name)
    }

    fn key(row: &AssignmentRow) -> AssignmentKey {
        let kind = IdentityKind::parse(&row.assignee_kind).unwrap_or(IdentityKind::Anonymous);
        let name =
            if kind == IdentityKind::Anonymous { String::new() } else { row.assignee_name.to_lowercase() };
        (row.role.clone(), kind, name, row.condition.clone())
    }
}

/// One write of the identities part of an apply.
#[derive(Debug, Clone)]
pub(super) enum Step {
    SetMode(RoleAssignmentMode),
    UpdateUser {
        id: i64,
        display_name: String,
        enabled: bool,
    },
    CreateServicePrincipal {
        name: String,
        description: String,
        enabled: bool,
    },
    UpdateServicePrincipal {
        id: i64,
        description: String,
        enabled: bool,
    },
    CreateGroup {
        name: String,
        description: String,
    },
    SetGroupDescription {
        id: i64,
        description: String,
    },
    AddMember {
        group: String,
        member: String,
    },
    RemoveMember {
        group: String,
        member: String,
    },
    CreateAssignment {
        role: Role,
        kind: IdentityKind,
        assignee: String,
        condition: Option<String>,
        description: String,
    },
    UpdateAssignment {
        id: i64,
        condition: Option<String>,
        description: String,
    },
    DeleteAssignment {
        id: i64,
    },
    DeleteGroup {
        id: i64,
    },
    DeleteServicePrincipal {
        id: i64,
    },
}

fn refuse_twins<'a>(names: impl Iterator<Item = &'a String>, at: &str, kind: &str) -> ManageResult<()> {
    super::refuse_case_twins(names, at, kind)
}

fn check_name(name: &str, pointer: &str, kind: &str) -> ManageResult<()> {
    if !could_be_user_name(name) {
        return Err(invalid_at(
            pointer,
            format!("{kind} {name:?}: a name is 1 to 64 letters, digits and . _ - @"),
        ));
    }
    if name.eq_ignore_ascii_case("anonymous") {
        return Err(invalid_at(pointer, format!("{kind} {name}: the name is reserved")));
    }
    Ok(())
}

/// Compares the identities of `document` with `current`, adding the
/// changes and writes to `plan`.
pub(super) fn plan(
    current: &CurrentIdentities,
    document: &AccessDocument,
    prune: bool,
    plan: &mut Plan,
) -> ManageResult<()> {
    let mut steps = Vec::new();
    let mode = document.role_assignment_mode.map(policy_mode).unwrap_or(current.mode);
    if mode != current.mode {
        plan.changes.push(change(
            ChangeOp::Update,
            ObjectKind::Registry,
            "registry",
            vec![field(
                "roleAssignmentMode",
                Some(wire_mode(current.mode).as_str().to_owned()),
                Some(wire_mode(mode).as_str().to_owned()),
            )],
        ));
        steps.push(Step::SetMode(mode));
    }

    if let Some(users) = &document.users {
        refuse_twins(users.keys(), "/users", "user")?;
        for (name, declared) in users {
            let pointer = format!("/users/{}", segment(name));
            let Some(row) = current.user(name) else {
                return Err(invalid_at(
                    pointer,
                    format!("there is no user named {name}; an apply neither creates nor deletes people (they choose their own password): create them with `portcullis user create`"),
                ));
            };
            let mut fields = Vec::new();
            compare(&mut fields, "displayName", &row.display_name, &declared.display_name);
            compare(&mut fields, "enabled", &row.enabled, &declared.enabled);
            if !fields.is_empty() {
                plan.changes.push(change(ChangeOp::Update, ObjectKind::User, &row.name, fields));
                steps.push(Step::UpdateUser {
                    id: row.id,
                    display_name: declared.display_name.clone(),
                    enabled: declared.enabled,
                });
            }
        }
    }

    // Service principals before groups, which may list them as members.
    let declared_sps = document.service_principals.as_ref();
    if let Some(sps) = declared_sps {
        refuse_twins(sps.keys(), "/servicePrincipals", "service principal")?;
        for (name, declared) in sps {
            let pointer = format!("/servicePrincipals/{}", segment(name));
            check_name(name, &pointer, "service principal")?;
            match current.service_principal(name) {
                None => {
                    plan.changes.push(change(
                        ChangeOp::Create,
                        ObjectKind::ServicePrincipal,
                        name,
                        vec![
                            field("description", None, Some(declared.description.clone())),
                            field("enabled", None, Some(declared.enabled.to_string())),
                        ],
                    ));
                    steps.push(Step::CreateServicePrincipal {
                        name: name.clone(),
                        description: declared.description.clone(),
                        enabled: declared.enabled,
                    });
                }
                Some(row) => {
                    let mut fields = Vec::new();
                    compare(&mut fields, "description", &row.description, &declared.description);
                    compare(&mut fields, "enabled", &row.enabled, &declared.enabled);
                    if !fields.is_empty() {
                        plan.changes.push(change(
                            ChangeOp::Update,
                            ObjectKind::ServicePrincipal,
                            &row.name,
                            fields,
                        ));
                        steps.push(Step::UpdateServicePrincipal {
                            id: row.id,
                            description: declared.description.clone(),
                            enabled: declared.enabled,
                        });
                    }
                }
            }
        }
    }
    // After the apply: whether a service principal (by name) exists.
    let sp_survives = |name: &str| match declared_sps {
        Some(sps) if sps.keys().any(|declared| declared.eq_ignore_ascii_case(name)) => true,
        Some(_) if prune => false,
        _ => current.service_principal(name).is_some(),
    };

    let declared_groups = document.groups.as_ref();
    if let Some(groups) = declared_groups {
        refuse_twins(groups.keys(), "/groups", "group")?;
        for (name, declared) in groups {
            let pointer = format!("/groups/{}", segment(name));
            check_name(name, &pointer, "group")?;
            let mut wanted = BTreeMap::new();
            for (index, member) in declared.members.iter().enumerate() {
                let known = current.user(member).map(|user| user.name.clone()).or_else(|| {
                    sp_survives(member).then(|| {
                        current.service_principal(member).map_or_else(|| member.clone(), |sp| sp.name.clone())
                    })
                });
                let Some(known) = known else {
                    return Err(invalid_at(
                        format!("{pointer}/members/{index}"),
                        format!("group {name}: {member} is neither a user nor a service principal"),
                    ));
                };
                wanted.insert(known.to_lowercase(), known);
            }
            let existing = current.group(name);
            let had: BTreeMap<String, String> = existing
                .map(|(_, members)| {
                    members.iter().map(|(_, member)| (member.to_lowercase(), member.clone())).collect()
                })
                .unwrap_or_default();
            let mut fields = Vec::new();
            let group_name = existing.map_or(name.as_str(), |(row, _)| row.name.as_str());
            match existing {
                None => {
                    fields.push(field("description", None, Some(declared.description.clone())));
                    steps.push(Step::CreateGroup {
                        name: name.clone(),
                        description: declared.description.clone(),
                    });
                }
                Some((row, _)) if row.description != declared.description => {
                    compare(&mut fields, "description", &row.description, &declared.description);
                    steps.push(Step::SetGroupDescription {
                        id: row.id,
                        description: declared.description.clone(),
                    });
                }
                Some(_) => {}
            }
            for (key, member) in &wanted {
                if !had.contains_key(key) {
                    fields.push(field(&format!("members/{member}"), None, Some("member".into())));
                    steps.push(Step::AddMember { group: group_name.to_owned(), member: member.clone() });
                }
            }
            for (key, member) in &had {
                if !wanted.contains_key(key) {
                    fields.push(field(&format!("members/{member}"), Some("member".into()), None));
                    steps.push(Step::RemoveMember { group: group_name.to_owned(), member: member.clone() });
                }
            }
            if !fields.is_empty() {
                let op = if existing.is_some() { ChangeOp::Update } else { ChangeOp::Create };
                plan.changes.push(change(op, ObjectKind::Group, group_name, fields));
            }
        }
    }
    let group_survives = |name: &str| match declared_groups {
        Some(groups) if groups.keys().any(|declared| declared.eq_ignore_ascii_case(name)) => true,
        Some(_) if prune => false,
        _ => current.group(name).is_some(),
    };

    // Role assignments: what each gives is its identity.
    let mut kept_assignments: Vec<AssignmentKey> = Vec::new();
    if let Some(assignments) = &document.role_assignments {
        let mut seen = HashSet::new();
        for (index, declared) in assignments.iter().enumerate() {
            let pointer = format!("/roleAssignments/{index}");
            let role = Role::from_name(&declared.role).ok_or_else(|| {
                invalid_at(
                    format!("{pointer}/role"),
                    format!(
                        "{:?} is not a built-in role (GET /api/v1/role-definitions lists them)",
                        declared.role
                    ),
                )
            })?;
            let (kind, assignee) = resolve(current, declared, &sp_survives, &group_survives)
                .map_err(|message| invalid_at(format!("{pointer}/assignee"), message))?;
            let controls = ControlArea::ALL.into_iter().any(|area| role.control(area) != ControlAccess::None);
            if kind == IdentityKind::Anonymous && controls {
                return Err(invalid_at(
                    format!("{pointer}/role"),
                    format!("the anonymous caller can hold repository roles only, not {}", role.name()),
                ));
            }
            let condition = checked_condition(role, mode, declared.condition.as_deref(), None)
                .map_err(|error| invalid_at(format!("{pointer}/condition"), error.to_string()))?
                .map(|condition| condition.to_string());
            let key_name =
                if kind == IdentityKind::Anonymous { String::new() } else { assignee.to_lowercase() };
            let key: AssignmentKey = (role.name().to_owned(), kind, key_name, condition.clone());
            if !seen.insert(key.clone()) {
                return Err(invalid_at(
                    pointer,
                    format!("{} is given to {kind} {assignee} twice with this condition", role.name()),
                ));
            }
            let label = assignment_label(role.name(), kind, &assignee, condition.as_deref());
            match current.assignments.iter().find(|row| CurrentIdentities::key(row) == key) {
                None => {
                    plan.changes.push(change(
                        ChangeOp::Create,
                        ObjectKind::RoleAssignment,
                        &label,
                        vec![field("description", None, Some(declared.description.clone()))],
                    ));
                    steps.push(Step::CreateAssignment {
                        role,
                        kind,
                        assignee,
                        condition,
                        description: declared.description.clone(),
                    });
                }
                Some(row) if row.description != declared.description => {
                    plan.changes.push(change(
                        ChangeOp::Update,
                        ObjectKind::RoleAssignment,
                        &label,
                        vec![field(
                            "description",
                            Some(row.description.clone()),
                            Some(declared.description.clone()),
                        )],
                    ));
                    steps.push(Step::UpdateAssignment {
                        id: row.id,
                        condition: row.condition.clone(),
                        description: declared.description.clone(),
                    });
                }
                Some(_) => {}
            }
            kept_assignments.push(key);
        }
        if prune {
            for row in &current.assignments {
                if !kept_assignments.contains(&CurrentIdentities::key(row)) {
                    let label = assignment_label(
                        &row.role,
                        IdentityKind::parse(&row.assignee_kind).unwrap_or(IdentityKind::Anonymous),
                        &row.assignee_name,
                        row.condition.as_deref(),
                    );
                    plan.changes.push(change(
                        ChangeOp::Delete,
                        ObjectKind::RoleAssignment,
                        &label,
                        Vec::new(),
                    ));
                    steps.push(Step::DeleteAssignment { id: row.id });
                }
            }
        }
    }

    if prune {
        if let Some(groups) = declared_groups {
            for (row, _) in &current.groups {
                if !groups.keys().any(|name| name.eq_ignore_ascii_case(&row.name)) {
                    plan.changes.push(change(ChangeOp::Delete, ObjectKind::Group, &row.name, Vec::new()));
                    steps.push(Step::DeleteGroup { id: row.id });
                }
            }
        }
        if let Some(sps) = declared_sps {
            for row in &current.service_principals {
                if !sps.keys().any(|name| name.eq_ignore_ascii_case(&row.name)) {
                    plan.changes.push(change(
                        ChangeOp::Delete,
                        ObjectKind::ServicePrincipal,
                        &row.name,
                        Vec::new(),
                    ));
                    steps.push(Step::DeleteServicePrincipal { id: row.id });
                }
            }
        }
    }

    refuse_lockout(current, document, &steps)?;
    plan.steps.extend(steps.into_iter().map(AnyStep::Identity));
    Ok(())
}

/// `Repository Reader for user alice where <condition>`.
fn assignment_label(role: &str, kind: IdentityKind, assignee: &str, condition: Option<&str>) -> String {
    let who = if kind == IdentityKind::Anonymous {
        "the anonymous caller".to_owned()
    } else {
        format!("{kind} {assignee}")
    };
    match condition {
        Some(condition) => format!("{role} for {who} where {condition}"),
        None => format!("{role} for {who}"),
    }
}

/// The kind and stored spelling of a declared assignee, which must exist
/// after the apply.
fn resolve(
    current: &CurrentIdentities,
    declared: &DeclaredRoleAssignment,
    sp_survives: &dyn Fn(&str) -> bool,
    group_survives: &dyn Fn(&str) -> bool,
) -> Result<(IdentityKind, String), String> {
    let name = declared.assignee.trim();
    let anonymous = declared.assignee_kind == Some(IdentityKind::Anonymous)
        || (declared.assignee_kind.is_none()
            && (name.eq_ignore_ascii_case("anonymous") || name == rows::ANONYMOUS_NAME));
    if anonymous {
        return Ok((IdentityKind::Anonymous, "anonymous".to_owned()));
    }
    let wants = |kind| declared.assignee_kind.is_none() || declared.assignee_kind == Some(kind);
    if wants(IdentityKind::User) {
        if let Some(user) = current.user(name) {
            return Ok((IdentityKind::User, user.name.clone()));
        }
    }
    if wants(IdentityKind::Group) && group_survives(name) {
        return Ok((
            IdentityKind::Group,
            current.group(name).map_or_else(|| name.to_owned(), |(row, _)| row.name.clone()),
        ));
    }
    if wants(IdentityKind::ServicePrincipal) && sp_survives(name) {
        let stored = current.service_principal(name).map_or_else(|| name.to_owned(), |sp| sp.name.clone());
        return Ok((IdentityKind::ServicePrincipal, stored));
    }
    Err(format!("{name} is no user, group or service principal (after this apply)"))
}

/// Refuses an apply after which no enabled user holds Owner (directly or
/// through a group), when one does now: nobody could administer the
/// registry any more.
fn refuse_lockout(
    current: &CurrentIdentities,
    document: &AccessDocument,
    steps: &[Step],
) -> ManageResult<()> {
    let owner = Role::Owner.name();
    let enabled_now = |name: &str| current.user(name).is_some_and(|user| user.enabled);
    let enabled_after = |name: &str| match document.users.as_ref().and_then(|users| {
        users.iter().find(|(declared, _)| declared.eq_ignore_ascii_case(name)).map(|(_, user)| user.enabled)
    }) {
        Some(enabled) => enabled,
        None => enabled_now(name),
    };
    let members_now = |group: &str| -> Vec<String> {
        current
            .group(group)
            .map(|(_, members)| {
                members.iter().filter(|(kind, _)| kind == "user").map(|(_, name)| name.clone()).collect()
            })
            .unwrap_or_default()
    };
    let members_after = |group: &str| -> Vec<String> {
        match document
            .groups
            .as_ref()
            .and_then(|groups| groups.iter().find(|(name, _)| name.eq_ignore_ascii_case(group)))
        {
            Some((_, declared)) => {
                declared.members.iter().filter(|member| current.user(member).is_some()).cloned().collect()
            }
            None => members_now(group),
        }
    };
    let holds = |kind: IdentityKind,
                 name: &str,
                 enabled: &dyn Fn(&str) -> bool,
                 members: &dyn Fn(&str) -> Vec<String>| match kind {
        IdentityKind::User => enabled(name),
        IdentityKind::Group => members(name).iter().any(|member| enabled(member)),
        _ => false,
    };
    let owner_now = current.assignments.iter().any(|row| {
        row.role == owner
            && holds(
                IdentityKind::parse(&row.assignee_kind).unwrap_or(IdentityKind::Anonymous),
                &row.assignee_name,
                &enabled_now,
                &members_now,
            )
    });
    if !owner_now {
        return Ok(());
    }
    let deleted: Vec<i64> = steps
        .iter()
        .filter_map(|step| match step {
            Step::DeleteAssignment { id } => Some(*id),
            _ => None,
        })
        .collect();
    let deleted_groups: Vec<i64> = steps
        .iter()
        .filter_map(|step| match step {
            Step::DeleteGroup { id } => Some(*id),
            _ => None,
        })
        .collect();
    let group_gone =
        |name: &str| current.group(name).is_some_and(|(row, _)| deleted_groups.contains(&row.id));
    let kept = current.assignments.iter().filter(|row| !deleted.contains(&row.id)).map(|row| {
        (
            row.role.as_str(),
            IdentityKind::parse(&row.assignee_kind).unwrap_or(IdentityKind::Anonymous),
            row.assignee_name.clone(),
        )
    });
    let created = steps.iter().filter_map(|step| match step {
        Step::CreateAssignment { role, kind, assignee, .. } => Some((role.name(), *kind, assignee.clone())),
        _ => None,
    });
    let owner_after = kept.chain(created).any(|(role, kind, name)| {
        role == owner
            && !(kind == IdentityKind::Group && group_gone(&name))
            && holds(kind, &name, &enabled_after, &members_after)
    });
    if owner_after {
        Ok(())
    } else {
        Err(ManageError::Invalid(
            "this apply would leave no enabled user holding Owner (directly or through a group): nobody could administer the registry any more; keep one".into(),
        ))
    }
}

/// Runs one write inside the apply's transaction.
pub(super) async fn run(tx: &mut Tx, step: Step, actor: &str, now: DateTime<Utc>) -> ManageResult<()> {
    match step {
        Step::SetMode(mode) => rows::set_mode(tx, &mode.to_string()).await?,
        Step::UpdateUser { id, display_name, enabled } => {
            users::update(tx, id, &display_name, enabled).await?
        }
        Step::CreateServicePrincipal { name, description, enabled } => {
            check_new_name(tx, &name).await?;
            let app_id = uuid::Uuid::new_v4().to_string();
            let id = rows::insert_service_principal(tx, &name, &app_id, &description, now).await?;
            if !enabled {
                rows::update_service_principal(tx, id, &description, false).await?;
            }
        }
        Step::UpdateServicePrincipal { id, description, enabled } => {
            rows::update_service_principal(tx, id, &description, enabled).await?
        }
        Step::CreateGroup { name, description } => {
            check_new_name(tx, &name).await?;
            rows::insert_group(tx, &name, &description, now).await?;
        }
        Step::SetGroupDescription { id, description } => {
            rows::set_group_description(tx, id, &description).await?
        }
        Step::AddMember { group, member } => {
            let (group, member) = group_and_member(tx, &group, &member).await?;
            rows::add_member(tx, group, member).await?;
        }
        Step::RemoveMember { group, member } => {
            let (group, member) = group_and_member(tx, &group, &member).await?;
            rows::remove_member(tx, group, member).await?;
        }
        Step::CreateAssignment { role, kind, assignee, condition, description } => {
            let assignee = match kind {
                IdentityKind::Anonymous => Assignee::Anonymous,
                IdentityKind::User => Assignee::User(
                    users::find(tx, &assignee).await?.ok_or_else(|| missing("user", &assignee))?.id,
                ),
                IdentityKind::Group => Assignee::Group(
                    rows::find_group(tx, &assignee).await?.ok_or_else(|| missing("group", &assignee))?.id,
                ),
                IdentityKind::ServicePrincipal => Assignee::ServicePrincipal(
                    rows::find_service_principal(tx, &assignee)
                        .await?
                        .ok_or_else(|| missing("service principal", &assignee))?
                        .id,
                ),
            };
            let name = uuid::Uuid::new_v4().to_string();
            let new = NewAssignment {
                name: &name,
                assignee,
                role: role.name(),
                condition: condition.as_deref().map(|text| (text, CONDITION_VERSION)),
                description: &description,
                created_by: actor,
            };
            rows::insert_assignment(tx, &new, now).await?;
        }
        Step::UpdateAssignment { id, condition, description } => {
            let condition = condition.as_deref().map(|text| (text, CONDITION_VERSION));
            rows::update_assignment(tx, id, condition, &description, now).await?;
        }
        Step::DeleteAssignment { id } => rows::delete_assignment(tx, id).await?,
        Step::DeleteGroup { id } => rows::delete_group(tx, id).await?,
        Step::DeleteServicePrincipal { id } => rows::delete_service_principal(tx, id).await?,
    }
    Ok(())
}

fn missing(kind: &str, name: &str) -> ManageError {
    ManageError::NotFound(format!("there is no {kind} named {name}"))
}

async fn group_and_member(tx: &mut Tx, group: &str, member: &str) -> ManageResult<(i64, Member)> {
    let group = rows::find_group(tx, group).await?.ok_or_else(|| missing("group", group))?.id;
    let member = match users::find(tx, member).await? {
        Some(user) => Member::User(user.id),
        None => Member::ServicePrincipal(
            rows::find_service_principal(tx, member)
                .await?
                .ok_or_else(|| missing("user or service principal", member))?
                .id,
        ),
    };
    Ok((group, member))
}
