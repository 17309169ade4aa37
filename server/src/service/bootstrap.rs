//! First start: create the administrator `admin` when there is none.

use chrono::Utc;

use crate::{
    auth::password::{self, HumanPassword, PasswordError},
    config::AdminPassword,
    db::{users, Database, DbError},
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
) -> Result<AdminAccount, BootstrapError> {
    if users::find_by_name(db, ADMIN_NAME).await?.is_some() {
        return Ok(AdminAccount::Existing);
    }
    let (password, generated) = match given {
        Some(given) => (HumanPassword::new(given.expose()), false),
        None => (HumanPassword::generate(), true),
    };
    let shown = HumanPassword::new(password.expose());
    let phc = password::hash(password).await?;
    if !users::insert_if_absent(db, ADMIN_NAME, &phc, true, Utc::now()).await? {
        // Another process created it between our check and insert.
        return Ok(AdminAccount::Existing);
    }
    Ok(if generated {
        AdminAccount::CreatedWithGeneratedPassword(shown)
    } else {
        AdminAccount::CreatedWithGivenPassword
    })
}
