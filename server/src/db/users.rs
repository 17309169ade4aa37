//! Users (people): their names, argon2id password hashes and state. What a
//! user may do comes from role assignments (`db::identities`).

use chrono::{DateTime, Utc};

use super::{hot_read, on, Backend, Database, DbError, Tx};

#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    /// PHC string (argon2id). Not `Debug`: it is secret material.
    pub password_hash: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, display_name, password_hash, enabled, created_at, last_sign_in_at";

pub async fn find_by_name(db: &Database, name: &str) -> Result<Option<UserRow>, DbError> {
    by_name(db.reader(), name).await
}

/// The id of the enabled user called `name` and the registry's policy
/// revision, read in one statement (each request with a person's bearer
/// token needs both).
pub async fn enabled_id_and_policy_revision(
    db: &Database,
    name: &str,
) -> Result<Option<(i64, i64)>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    const SQL: &str =
        "SELECT u.id, (SELECT value FROM policy_revision) FROM users u WHERE u.name = $1 AND u.enabled";
    Ok(hot_read!(db, SQL, [name], |row| Ok((row.get(0)?, row.get(1)?))))
}

/// The user called `name`, read inside a change.
pub async fn find(tx: &mut Tx, name: &str) -> Result<Option<UserRow>, DbError> {
    by_name(tx.conn(), name).await
}

async fn by_name(
    executor: Backend<impl sqlx::SqliteExecutor<'_>, impl sqlx::PgExecutor<'_>>,
    name: &str,
) -> Result<Option<UserRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    Ok(on!(executor, |e| sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE name = $1"))
        .bind(name)
        .fetch_optional(e)
        .await)?)
}

/// Every user, by name.
/// [`list`] inside a change.
pub async fn all(tx: &mut Tx) -> Result<Vec<UserRow>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))
        .fetch_all(e)
        .await)?)
}

pub async fn list(db: &Database) -> Result<Vec<UserRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))
        .fetch_all(e)
        .await)?)
}

/// Inserts the user unless one with that name exists; returns its id when
/// it was created. Safe when two processes start at once.
pub async fn insert(
    tx: &mut Tx,
    name: &str,
    display_name: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbError> {
    Ok(on!(tx.conn(), |e| {
        sqlx::query_scalar(
        "INSERT INTO users (name, display_name, password_hash, enabled, created_at) VALUES ($1, $2, $3, TRUE, $4)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(display_name)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(e).await
    })?)
}

/// Changes a user's display name and enabled flag; a new policy revision
/// makes every replica load the user afresh.
pub async fn update(tx: &mut Tx, id: i64, display_name: &str, enabled: bool) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("UPDATE users SET display_name = $1, enabled = $2 WHERE id = $3")
        .bind(display_name)
        .bind(enabled)
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    super::identities::next_revision(tx).await?;
    Ok(())
}

/// Deletes the user with its memberships and role assignments.
pub async fn delete(tx: &mut Tx, id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    super::identities::next_revision(tx).await?;
    Ok(())
}

pub async fn count(db: &Database) -> Result<i64, DbError> {
    let (n,): (i64,) = on!(db.reader(), |e| sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(e).await)?;
    Ok(n)
}

/// Replaces the user's password hash (a PHC string); returns whether the
/// user exists.
pub async fn set_password_hash(db: &Database, name: &str, password_hash: &str) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let result = on!(tx.conn(), |e| sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
        .bind(password_hash)
        .bind(name)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result == 1)
}

/// A user for a test's fixture, in its own transaction.
#[cfg(test)]
pub async fn insert_for_test(db: &Database, name: &str, password_hash: &str) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let id = insert(&mut tx, name, "", password_hash, Utc::now()).await.unwrap().expect("a new name");
    tx.commit().await.unwrap();
    id
}
