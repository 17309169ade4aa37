use super::*;
use crate::policy::{
    decide, grant, may_list, Decision, Denial, Grants, Operation, Principal, RepositoryOperation, Resource,
};
use Action::*;
use Role::*;
use RoleAssignmentMode::*;

fn name(text: &str) -> RepositoryName {
    text.parse().expect(text)
}

const NAME: &str = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";

fn starts_with(prefix: &str) -> Condition {
    Condition::parse(&format!("{NAME} StringStartsWithIgnoreCase '{prefix}'")).unwrap()
}

fn identity(mode: RoleAssignmentMode, assignments: Vec<RoleAssignment>) -> Principal {
    Principal::Identity(Arc::new(IdentityAccess::new(mode, assignments)))
}

fn allowed(principal: &Principal, repository: &str, operation: RepositoryOperation) -> bool {
    let repository = name(repository);
    decide(principal, Grants::Policy, Operation::Repository(&repository, operation)) == Decision::Allow
}

const READ_ONLY: &[Action] = &[ContentRead, MetadataRead];
const READ_WRITE: &[Action] = &[ContentRead, MetadataRead, ContentWrite, MetadataWrite];
const EVERYTHING: &[Action] = &[ContentRead, MetadataRead, ContentWrite, MetadataWrite, ContentDelete];

/// A role, its actions and whether it lists everything in `rbac`, then the
/// same in `rbac-abac`.
type DataPlaneRow = (Role, &'static [Action], bool, &'static [Action], bool);

/// The source's table, written out: each role's data-plane actions and
/// whether it lists every repository, in `rbac` and in `rbac-abac`.
const DATA_PLANE: [DataPlaneRow; 13] = [
    (Owner, EVERYTHING, true, &[], false),
    (Contributor, EVERYTHING, true, &[], false),
    (Reader, READ_ONLY, true, &[], false),
    (ConfigurationAdministrator, &[], false, &[], false),
    (ConfigurationReader, &[], false, &[], false),
    (RoleBasedAccessControlAdministrator, &[], false, &[], false),
    (AcrPull, READ_ONLY, true, &[], false),
    (AcrPush, READ_WRITE, true, &[], false),
    (AcrDelete, &[ContentDelete], false, &[], false),
    (RepositoryReader, READ_ONLY, false, READ_ONLY, false),
    (RepositoryWriter, READ_WRITE, false, READ_WRITE, false),
    (RepositoryContributor, EVERYTHING, false, EVERYTHING, false),
    (RepositoryCatalogLister, &[], true, &[], true),
];

#[test]
fn each_role_grants_the_sources_data_plane_actions_in_each_mode() {
    assert_eq!(DATA_PLANE.len(), Role::ALL.len());
    for (role, rbac, rbac_lists, abac, abac_lists) in DATA_PLANE {
        assert_eq!(role.data_actions(Rbac), ActionSet::of(rbac), "{role} in rbac");
        assert_eq!(role.data_actions(RbacAbac), ActionSet::of(abac), "{role} in rbac-abac");
        assert_eq!(role.lists_every_repository(Rbac), rbac_lists, "{role} lists in rbac");
        assert_eq!(role.lists_every_repository(RbacAbac), abac_lists, "{role} lists in rbac-abac");
    }
}

#[test]
fn each_role_reaches_the_control_plane_as_the_source_says() {
    use ControlAccess::{None as No, Read as R, Write as W};
    // Configuration (settings, tokens, scope maps), identities, role
    // assignments, audit log.
    let table: [(Role, [ControlAccess; 4]); 13] = [
        (Owner, [W, W, W, W]),
        (Contributor, [W, W, R, R]),
        (Reader, [R, R, R, R]),
        (ConfigurationAdministrator, [W, No, No, R]),
        (ConfigurationReader, [R, No, No, R]),
        (RoleBasedAccessControlAdministrator, [No, R, W, No]),
        (AcrPull, [No; 4]),
        (AcrPush, [No; 4]),
        (AcrDelete, [No; 4]),
        (RepositoryReader, [No; 4]),
        (RepositoryWriter, [No; 4]),
        (RepositoryContributor, [No; 4]),
        (RepositoryCatalogLister, [No; 4]),
    ];
    for (role, expected) in table {
        for (area, access) in ControlArea::ALL.into_iter().zip(expected) {
            assert_eq!(role.control(area), access, "{role} on {area:?}");
        }
    }
}

#[test]
fn roles_are_found_by_name_without_case_and_only_the_repository_roles_take_conditions() {
    for role in Role::ALL {
        assert_eq!(Role::from_name(role.name()), Some(role));
        assert_eq!(Role::from_name(&role.name().to_lowercase()), Some(role));
        assert!(!role.description().is_empty());
    }
    assert_eq!(Role::from_name("Container Registry Repository Admin"), None);
    let conditional: Vec<Role> = Role::ALL.into_iter().filter(|role| role.takes_condition()).collect();
    assert_eq!(conditional, [RepositoryReader, RepositoryWriter, RepositoryContributor]);
    assert_eq!("rbac-abac".parse(), Ok(RbacAbac));
    assert_eq!("rbac".parse(), Ok(Rbac));
    assert!("abac".parse::<RoleAssignmentMode>().is_err());
}

#[test]
fn the_sources_prefix_example_reaches_backend_slash_only() {
    let reader =
        identity(RbacAbac, vec![RoleAssignment::new(RepositoryReader, Some(starts_with("backend/")))]);
    assert!(allowed(&reader, "backend/nginx", RepositoryOperation::Pull));
    for outside in ["backend-infra/k8s", "backend", "frontend/js/app"] {
        assert!(!allowed(&reader, outside, RepositoryOperation::Pull), "{outside}");
    }
    assert!(!allowed(&reader, "backend/nginx", RepositoryOperation::Push));
    let repository = name("backend-infra/k8s");
    assert_eq!(
        decide(&reader, Grants::Policy, Operation::Repository(&repository, RepositoryOperation::Pull)),
        Decision::Deny(Denial::NotGranted { action: ContentRead, repository })
    );
}

#[test]
fn assignments_add_up_across_an_identity_and_its_groups() {
    let member = identity(
        RbacAbac,
        vec![
            RoleAssignment::new(RepositoryReader, Some(starts_with("backend/"))),
            RoleAssignment::new(RepositoryWriter, Some(starts_with("frontend/js/"))),
        ],
    );
    assert!(allowed(&member, "backend/api", RepositoryOperation::Pull));
    assert!(!allowed(&member, "backend/api", RepositoryOperation::Push));
    assert!(allowed(&member, "frontend/js/web", RepositoryOperation::Push));
    assert!(!allowed(&member, "frontend/css", RepositoryOperation::Pull));
    assert!(!allowed(&member, "frontend/js/web", RepositoryOperation::DeleteManifest));
}

#[test]
fn a_role_whose_condition_names_only_the_reads_leaves_its_writes_unrestricted() {
    let condition = Condition::parse(&format!(
        "((!(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/content/read'}}) AND \
         !(ActionMatches{{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}})) OR \
         ({NAME} StringStartsWithIgnoreCase 'backend/'))"
    ))
    .unwrap();
    assert_eq!(
        condition.unrestricted_actions(RepositoryWriter.data_actions(RbacAbac)),
        ActionSet::of(&[ContentWrite, MetadataWrite])
    );
    let writer = identity(RbacAbac, vec![RoleAssignment::new(RepositoryWriter, Some(condition))]);
    assert!(allowed(&writer, "backend/api", RepositoryOperation::Pull));
    assert!(!allowed(&writer, "other/api", RepositoryOperation::Pull));
    // What the source's language says, however surprising: the write is
    // not governed by the condition.
    assert!(allowed(&writer, "other/api", RepositoryOperation::Push));
    assert!(allowed(&writer, "other/api", RepositoryOperation::WriteMetadata));
}

#[test]
fn in_rbac_mode_a_condition_is_not_honoured_and_grants_nothing() {
    let conditional = RoleAssignment::new(RepositoryContributor, Some(starts_with("backend/")));
    assert!(conditional.is_honoured(RbacAbac) && !conditional.is_honoured(Rbac));
    let principal = identity(Rbac, vec![conditional]);
    for operation in RepositoryOperation::ALL {
        assert!(!allowed(&principal, "backend/api", operation), "{operation:?}");
        assert!(!allowed(&principal, "other", operation), "{operation:?}");
    }
    // Without a condition the same role is registry-wide in both modes.
    for mode in RoleAssignmentMode::ALL {
        let unconditioned = identity(mode, vec![RoleAssignment::new(RepositoryContributor, None)]);
        for operation in RepositoryOperation::ALL {
            assert!(allowed(&unconditioned, "any/where", operation), "{mode} {operation:?}");
        }
    }
}

#[test]
fn every_role_with_and_without_a_condition_in_each_mode_on_matching_and_other_repositories() {
    for (role, rbac, _, abac, _) in DATA_PLANE {
        for mode in RoleAssignmentMode::ALL {
            let base = ActionSet::of(if mode == Rbac { rbac } else { abac });
            for conditioned in [false, true] {
                let condition = conditioned.then(|| starts_with("team/"));
                let principal = identity(mode, vec![RoleAssignment::new(role, condition)]);
                let honoured = !conditioned || (mode == RbacAbac && role.takes_condition());
                for (repository, matches) in [("team/app", true), ("team-x/app", false), ("other", false)] {
                    let held = if !honoured || (conditioned && !matches) { ActionSet::EMPTY } else { base };
                    for operation in RepositoryOperation::ALL {
                        assert_eq!(
                            allowed(&principal, repository, operation),
                            !held.intersection(operation.allowed_by()).is_empty(),
                            "{role} conditioned={conditioned} {mode} {repository} {operation:?}"
                        );
                    }
                    let listed = may_list(&principal, &name(repository));
                    let lists_all = honoured && role.lists_every_repository(mode);
                    assert_eq!(
                        listed,
                        lists_all || held.contains(MetadataRead),
                        "{role} {mode} lists {repository}"
                    );
                }
            }
        }
    }
}

#[test]
fn administration_follows_the_control_plane_roles() {
    for role in Role::ALL {
        for mode in RoleAssignmentMode::ALL {
            let principal = identity(mode, vec![RoleAssignment::new(role, None)]);
            for area in ControlArea::ALL {
                for access in [ControlAccess::Read, ControlAccess::Write] {
                    let expected = if role.control(area) >= access {
                        Decision::Allow
                    } else {
                        Decision::Deny(Denial::ControlNotGranted { area, access })
                    };
                    let operation = Operation::Control(area, access);
                    assert_eq!(
                        decide(&principal, Grants::Policy, operation),
                        expected,
                        "{role} {mode} {area:?}"
                    );
                }
            }
        }
    }
    let nobody = identity(RbacAbac, Vec::new());
    assert_eq!(decide(&nobody, Grants::Policy, Operation::SignedIn), Decision::Allow);
    assert!(!allowed(&nobody, "any", RepositoryOperation::Pull));
}

#[test]
fn an_identitys_bearer_token_carries_what_was_asked_and_allowed() {
    let reader =
        identity(RbacAbac, vec![RoleAssignment::new(RepositoryReader, Some(starts_with("public/")))]);
    let public = name("public/x");
    let private = name("private/x");
    assert_eq!(
        grant(&reader, Resource::Repository(&public), ActionSet::of(&[ContentRead, ContentWrite])),
        ActionSet::of(READ_ONLY)
    );
    assert_eq!(grant(&reader, Resource::Repository(&private), ActionSet::ALL), ActionSet::EMPTY);
    assert_eq!(grant(&reader, Resource::Catalog, ActionSet::ALL), MetadataRead.into());
    let issued = Grants::Issued(ContentRead.into());
    let push = Operation::Repository(&public, RepositoryOperation::Push);
    assert!(matches!(decide(&reader, issued, push), Decision::Deny(_)));
}

#[test]
fn check_access_names_the_assignments_that_give_each_action_and_why_others_do_not() {
    let assignments = vec![
        RoleAssignment::new(RepositoryReader, Some(starts_with("backend/"))),
        RoleAssignment::new(AcrPush, None),
        RoleAssignment::new(RepositoryWriter, Some(starts_with("frontend/"))),
        RoleAssignment::new(RepositoryCatalogLister, None),
    ];
    let access = IdentityAccess::new(RbacAbac, assignments.clone());
    let checks = access.check(&name("backend/api"));
    let of = |action: Action| checks.iter().find(|check| check.action == action).unwrap().clone();
    assert_eq!(checks.len(), Action::ALL.len());
    assert_eq!(of(ContentRead).granted_by, [0]);
    assert_eq!(
        of(ContentRead).not_given_by,
        [(1, NotGivenBecause::RoleInactiveInMode), (2, NotGivenBecause::ConditionFalse)]
    );
    assert_eq!(of(ContentWrite).granted_by, Vec::<usize>::new());
    assert_eq!(
        of(ContentWrite).not_given_by,
        [(1, NotGivenBecause::RoleInactiveInMode), (2, NotGivenBecause::ConditionFalse)]
    );
    // No role of the identity ever includes delete: nothing to explain.
    assert_eq!(
        of(ContentDelete),
        ActionCheck { action: ContentDelete, granted_by: vec![], not_given_by: vec![] }
    );

    let rbac = IdentityAccess::new(Rbac, assignments).check(&name("backend/api"));
    let read = rbac.iter().find(|check| check.action == ContentRead).unwrap();
    assert_eq!(read.granted_by, [1]);
    assert_eq!(
        read.not_given_by,
        [(0, NotGivenBecause::ConditionNotHonoured), (2, NotGivenBecause::ConditionNotHonoured)]
    );
}

#[test]
fn check_access_agrees_with_the_decision_for_every_role_mode_and_repository() {
    let assignments: Vec<RoleAssignment> = Role::ALL
        .into_iter()
        .flat_map(|role| {
            [RoleAssignment::new(role, None), RoleAssignment::new(role, Some(starts_with("team/")))]
        })
        .collect();
    for mode in RoleAssignmentMode::ALL {
        for count in 0..=assignments.len() {
            let access = IdentityAccess::new(mode, assignments[..count].to_vec());
            for repository in ["team/app", "other"] {
                let repository = name(repository);
                let held = access.actions_on(&repository);
                for check in access.check(&repository) {
                    assert_eq!(!check.granted_by.is_empty(), held.contains(check.action), "{mode} {count}");
                    for index in &check.granted_by {
                        assert!(assignments[*index].actions_on(mode, &repository).contains(check.action));
                    }
                }
            }
        }
    }
}
