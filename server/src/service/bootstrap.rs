//! First start: set the registry's permissions mode and create the
//! administrator `admin`, holding Owner, Repository Contributor and Catalog
//! Lister, when there is none. A registry upgraded from before identities
//! got both from its migration (mode `rbac`, the same roles). And the
//! registry's secret keys, shared by every replica through the database
//! ([`shared_key`]), sealed there with the operator's key-encryption key
//! when one is configured.

use std::{io, path::Path};

use chrono::Utc;

use crate::{
    auth::{
        key_encryption::{KeyEncryptionKey, KeyFileError, StoredKey},
        password::{self, HumanPassword, PasswordError},
        token::{self, SIGNING_KEY_LENGTH},
    },
    config::AdminPassword,
    db::{
        identities::{self, Assignee, NewAssignment},
        keys, users, Database, DbError,
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
    #[error("cannot import the key file {path}: {source}")]
    KeyFile { path: String, source: io::Error },
    #[error(
        "the database's {0} key is damaged: it is neither a {SIGNING_KEY_LENGTH}-byte key \
         nor one sealed with a key-encryption key"
    )]
    DamagedKey(&'static str),
    #[error(
        "cannot use the key-encryption key file {path} \
         (--key-encryption-key-file, PORTCULLIS_KEY_ENCRYPTION_KEY_FILE): {source}"
    )]
    KeyEncryptionKeyFile { path: String, source: KeyFileError },
    #[error(
        "the key-encryption key does not match the database's keys: the {0} key does not open with it \
         (another key-encryption key sealed it, or its row is damaged); \
         start with the key-encryption key file every replica uses"
    )]
    KeyEncryptionKeyMismatch(&'static str),
    #[error(
        "the database's keys are encrypted (the {0} key is sealed): start with the key-encryption key \
         (--key-encryption-key-file or PORTCULLIS_KEY_ENCRYPTION_KEY_FILE) the other replicas use"
    )]
    KeysEncrypted(&'static str),
}

/// The key-encryption key from its file (`--key-encryption-key-file`).
pub fn key_encryption_key(path: &Path) -> Result<KeyEncryptionKey, BootstrapError> {
    KeyEncryptionKey::read_file(path)
        .map_err(|source| BootstrapError::KeyEncryptionKeyFile { path: path.display().to_string(), source })
}

/// One of the registry's secret keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKey {
    /// Signs and checks bearer and refresh tokens.
    TokenSigning,
    /// Keys the digests of token passwords and service principal secrets.
    TokenPassword,
}

impl ServerKey {
    fn name(self) -> &'static str {
        match self {
            Self::TokenSigning => "token-signing",
            Self::TokenPassword => "token-password",
        }
    }

    /// The file in the data directory where a registry from before kept it.
    fn file_name(self) -> &'static str {
        match self {
            Self::TokenSigning => "token-signing.key",
            Self::TokenPassword => "token-password.key",
        }
    }
}

/// The registry's `key`, the same on every replica: the one stored in the
/// database, or, on the first start, a new random one stored there. A
/// registry upgraded from before kept its keys in files of its data
/// directory: the first start stores the file's key (so every token,
/// password digest and refresh token stays valid) and removes the file, so
/// one copy of the secret remains. Replicas starting at once agree on one
/// key: the first insert wins and everyone reads it back.
///
/// With a key-encryption key the row holds the key sealed with it (a plain
/// row, from a registry that ran without one, is sealed in place); without
/// one the row holds the key itself, and a sealed row stops the start.
pub async fn shared_key(
    db: &Database,
    key: ServerKey,
    data_dir: &Path,
    kek: Option<&KeyEncryptionKey>,
) -> Result<[u8; SIGNING_KEY_LENGTH], BootstrapError> {
    let file = data_dir.join(key.file_name());
    let from_file = match token::read_key_file(&file) {
        Ok(found) => Some(found),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(BootstrapError::KeyFile { path: file.display().to_string(), source }),
    };
    let candidate = from_file.unwrap_or_else(token::random_key);
    let row = match kek {
        Some(kek) => kek.seal(key.name(), &candidate),
        None => candidate.to_vec(),
    };
    let mut tx = db.begin().await?;
    let created = keys::insert(&mut tx, key.name(), &row, Utc::now()).await?;
    let stored_row = keys::find(&mut tx, key.name()).await?.ok_or(BootstrapError::DamagedKey(key.name()))?;
    let stored = match (StoredKey::classify(&stored_row), kek) {
        (StoredKey::Plain(plain), None) => *plain,
        (StoredKey::Plain(plain), Some(kek)) => {
            // Only if the row still holds this plain key: a replica
            // starting at once may have sealed it first.
            if keys::replace(&mut tx, key.name(), plain, &kek.seal(key.name(), plain)).await? {
                tracing::info!(key = key.name(), "key in the database sealed with the key-encryption key");
            }
            *plain
        }
        (StoredKey::Sealed(sealed), Some(kek)) => {
            kek.open(key.name(), sealed).map_err(|_| BootstrapError::KeyEncryptionKeyMismatch(key.name()))?
        }
        (StoredKey::Sealed(_), None) => return Err(BootstrapError::KeysEncrypted(key.name())),
        (StoredKey::Damaged, _) => return Err(BootstrapError::DamagedKey(key.name())),
    };
    tx.commit().await?;
    match from_file {
        Some(old) if old == stored => {
            if created {
                tracing::info!(key = key.name(), file = %file.display(), "key file moved into the database");
            }
            if let Err(error) = std::fs::remove_file(&file) {
                tracing::warn!(%error, file = %file.display(), "cannot remove a key file the database now holds");
            }
        }
        Some(_) => tracing::warn!(
            key = key.name(),
            file = %file.display(),
            "this key file differs from the key in the database, which every replica uses; the file is ignored"
        ),
        None if created => {
            tracing::info!(key = key.name(), sealed = kek.is_some(), "new key stored in the database")
        }
        None => {}
    }
    Ok(stored)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_registry_stores_one_random_key_per_name_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let signing = shared_key(&db, ServerKey::TokenSigning, dir.path(), None).await.unwrap();
        let password = shared_key(&db, ServerKey::TokenPassword, dir.path(), None).await.unwrap();
        assert_ne!(signing, password);
        assert_ne!(signing, [0; SIGNING_KEY_LENGTH]);
        assert_eq!(shared_key(&db, ServerKey::TokenSigning, dir.path(), None).await.unwrap(), signing);
        // A second server on the same database (another data directory)
        // gets the same keys, and no file is written anywhere.
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(shared_key(&db, ServerKey::TokenSigning, elsewhere.path(), None).await.unwrap(), signing);
        assert_eq!(
            shared_key(&db, ServerKey::TokenPassword, elsewhere.path(), None).await.unwrap(),
            password
        );
        assert!(!dir.path().join("token-signing.key").exists());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn replicas_starting_at_once_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let starts = (0..8).map(|_| shared_key(&db, ServerKey::TokenSigning, dir.path(), None));
        let keys = futures::future::try_join_all(starts).await.unwrap();
        assert!(keys.iter().all(|key| *key == keys[0]));
    }

    #[tokio::test]
    async fn an_upgraded_registry_moves_its_key_files_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token-signing.key");
        std::fs::write(&file, format!("{}\n", "a5".repeat(32))).unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        assert_eq!(shared_key(&db, ServerKey::TokenSigning, dir.path(), None).await.unwrap(), [0xa5; 32]);
        assert!(!file.exists(), "one copy of the secret remains: the database's");
        assert_eq!(shared_key(&db, ServerKey::TokenSigning, dir.path(), None).await.unwrap(), [0xa5; 32]);

        // A stale file beside a stored key is ignored, not imported.
        std::fs::write(&file, "0f".repeat(32)).unwrap();
        assert_eq!(shared_key(&db, ServerKey::TokenSigning, dir.path(), None).await.unwrap(), [0xa5; 32]);
        assert!(file.exists(), "a file that is not the database's key is left for the operator");
    }

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes([byte; SIGNING_KEY_LENGTH])
    }

    async fn row(db: &Database, key: ServerKey) -> Vec<u8> {
        let mut tx = db.begin().await.unwrap();
        keys::find(&mut tx, key.name()).await.unwrap().expect("a stored key")
    }

    #[tokio::test]
    async fn with_a_key_encryption_key_a_new_key_is_stored_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let signing = shared_key(&db, ServerKey::TokenSigning, dir.path(), Some(&kek(1))).await.unwrap();
        let stored = row(&db, ServerKey::TokenSigning).await;
        assert!(stored.starts_with(b"pck1"));
        assert!(
            !stored.windows(SIGNING_KEY_LENGTH).any(|window| window == signing),
            "the row is not the key"
        );
        assert_eq!(
            shared_key(&db, ServerKey::TokenSigning, dir.path(), Some(&kek(1))).await.unwrap(),
            signing
        );
        assert_eq!(row(&db, ServerKey::TokenSigning).await, stored, "an opened key is not sealed again");
    }

    #[tokio::test]
    async fn a_plain_key_is_sealed_in_place_at_the_first_start_with_a_key_encryption_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let plain = shared_key(&db, ServerKey::TokenPassword, dir.path(), None).await.unwrap();
        assert_eq!(row(&db, ServerKey::TokenPassword).await, plain);

        assert_eq!(
            shared_key(&db, ServerKey::TokenPassword, dir.path(), Some(&kek(1))).await.unwrap(),
            plain
        );
        let sealed = row(&db, ServerKey::TokenPassword).await;
        assert!(sealed.starts_with(b"pck1") && sealed != plain);
        assert_eq!(
            shared_key(&db, ServerKey::TokenPassword, dir.path(), Some(&kek(1))).await.unwrap(),
            plain
        );
        assert_eq!(row(&db, ServerKey::TokenPassword).await, sealed);
    }

    #[tokio::test]
    async fn another_key_encryption_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let key = shared_key(&db, ServerKey::TokenSigning, dir.path(), Some(&kek(1))).await.unwrap();
        let stored = row(&db, ServerKey::TokenSigning).await;
        let error = shared_key(&db, ServerKey::TokenSigning, dir.path(), Some(&kek(2))).await.unwrap_err();
        assert!(matches!(error, BootstrapError::KeyEncryptionKeyMismatch("token-signing")), "{error}");
        let message = error.to_string();
        assert!(message.contains("key-encryption key does not match the database's keys"), "{message}");
        assert!(
            !message.contains(&hex::encode(key)) && !message.contains(&hex::encode(&stored)),
            "{message}"
        );
        assert_eq!(row(&db, ServerKey::TokenSigning).await, stored, "a refused start changes nothing");
    }

    #[tokio::test]
    async fn a_sealed_key_without_a_key_encryption_key_stops_the_start_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        shared_key(&db, ServerKey::TokenPassword, dir.path(), Some(&kek(1))).await.unwrap();
        let error = shared_key(&db, ServerKey::TokenPassword, dir.path(), None).await.unwrap_err();
        assert!(matches!(error, BootstrapError::KeysEncrypted("token-password")), "{error}");
        let message = error.to_string();
        assert!(message.contains("database's keys are encrypted"), "{message}");
        assert!(message.contains("--key-encryption-key-file"), "{message}");
        assert!(message.contains("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE"), "{message}");
    }

    #[tokio::test]
    async fn replicas_with_a_key_encryption_key_starting_at_once_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let kek = kek(1);
        let starts = (0..8).map(|_| shared_key(&db, ServerKey::TokenSigning, dir.path(), Some(&kek)));
        let keys = futures::future::try_join_all(starts).await.unwrap();
        assert!(keys.iter().all(|key| *key == keys[0]));

        // And when they all find the same plain key to seal.
        let plain = shared_key(&db, ServerKey::TokenPassword, dir.path(), None).await.unwrap();
        let starts = (0..8).map(|_| shared_key(&db, ServerKey::TokenPassword, dir.path(), Some(&kek)));
        let keys = futures::future::try_join_all(starts).await.unwrap();
        assert!(keys.iter().all(|key| *key == plain));
        assert!(row(&db, ServerKey::TokenPassword).await.starts_with(b"pck1"));
    }

    #[tokio::test]
    async fn a_sealed_key_moved_to_the_other_name_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let kek = kek(1);
        shared_key(&db, ServerKey::TokenSigning, dir.path(), Some(&kek)).await.unwrap();
        shared_key(&db, ServerKey::TokenPassword, dir.path(), Some(&kek)).await.unwrap();
        let signing = row(&db, ServerKey::TokenSigning).await;
        let password = row(&db, ServerKey::TokenPassword).await;
        let mut tx = db.begin().await.unwrap();
        assert!(keys::replace(&mut tx, "token-signing", &signing, &password).await.unwrap());
        assert!(keys::replace(&mut tx, "token-password", &password, &signing).await.unwrap());
        tx.commit().await.unwrap();
        for key in [ServerKey::TokenSigning, ServerKey::TokenPassword] {
            let error = shared_key(&db, key, dir.path(), Some(&kek)).await.unwrap_err();
            assert!(matches!(error, BootstrapError::KeyEncryptionKeyMismatch(_)), "{error}");
        }
    }

    #[tokio::test]
    async fn a_bad_key_encryption_key_file_is_named_with_its_setting_and_not_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kek.hex");
        std::fs::write(&file, "secret-looking-text").unwrap();
        let message = key_encryption_key(&file).unwrap_err().to_string();
        assert!(message.contains("--key-encryption-key-file"), "{message}");
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(!message.contains("secret-looking"), "{message}");
        let missing = key_encryption_key(&dir.path().join("absent")).unwrap_err().to_string();
        assert!(
            missing.contains("absent") && missing.contains("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE"),
            "{missing}"
        );
    }

    #[tokio::test]
    async fn a_damaged_key_file_stops_the_start_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token-password.key"), "not-a-key").unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let error = shared_key(&db, ServerKey::TokenPassword, dir.path(), None).await.unwrap_err();
        assert!(matches!(error, BootstrapError::KeyFile { .. }), "{error}");
        assert!(!error.to_string().contains("not-a-key"), "{error}");
        // Nothing was stored: fixing the file is enough.
        std::fs::write(dir.path().join("token-password.key"), "0f".repeat(32)).unwrap();
        assert_eq!(shared_key(&db, ServerKey::TokenPassword, dir.path(), None).await.unwrap(), [0x0f; 32]);
    }
}
