//! First start: set the registry's permissions mode and create the
//! administrator `admin`, holding Owner, Repository Contributor and Catalog
//! Lister, when there is none. A registry upgraded from before identities
//! got both from its migration (mode `rbac`, the same roles).

use chrono::Utc;

use crate::{
    auth::password::{self, HumanPassword, PasswordError},
    config::AdminPassword,
    db::{
        identities::{self, Assignee, NewAssignment},
        users, Database, DbError,
    },
    policy::roles::{RoleAssignmentMode, ADMINISTRATOR_ROLES},
};

pub const ADMIN_NAME: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// What happened to the administrator account at start.
#[derive(Debug)]
pub enum AdminAccount {
    Existing,
    CreatedWithGivenPassword,
    /// Created with this generated password, to be shown once.
    CreatedWithGeneratedPassword(HumanPassword),
}

pub async fn ensure_admin(
    db: &Database,
    given: Option<&AdminPassword>,
    mode: RoleAssignmentMode,
) -> Result<AdminAccount, BootstrapError> {
    let mut tx = db.begin().await?;
    if identities::initialise_mode(&mut tx, mode.as_str()).await? {
        tracing::info!(%mode, "role assignment mode set for the new registry");
    }
    tx.commit().await?;
    if users::find_by_name(db, ADMIN_NAME).await?.is_some() {
        return Ok(AdminAccount::Existing);
    }
    let (password, generated) = match given {
        Some(given) => (HumanPassword::new(given.expose()), false),
        None => (HumanPassword::generate(), true),
    };
    let shown = HumanPassword::new(password.expose());
    let phc = password::hash(password).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let Some(id) = users::insert(&mut tx, ADMIN_NAME, "Administrator", &phc, now).await? else {
        // Another process created it between our check and insert.
        return Ok(AdminAccount::Existing);
    };
    for role in ADMINISTRATOR_ROLES {
        let name = uuid::Uuid::new_v4().to_string();
        let assignment = NewAssignment {
            name: &name,
            assignee: Assignee::User(id),
            role: role.name(),
            condition: None,
            description: "the first administrator's",
            created_by: "bootstrap",
        };
        identities::insert_assignment(&mut tx, &assignment, now).await?;
    }
    tx.commit().await?;
    Ok(if generated {
        AdminAccount::CreatedWithGeneratedPassword(shown)
    } else {
        AdminAccount::CreatedWithGivenPassword
    })
}
