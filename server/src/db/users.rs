//! Portal users (administrators) and their password hashes.

use chrono::{DateTime, Utc};

use super::{Database, DbError};

#[derive(Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    /// PHC string (argon2id). Not `Debug`: it is secret material.
    pub password_hash: String,
    pub is_admin: bool,
}

pub async fn find_by_name(db: &Database, name: &str) -> Result<Option<UserRow>, DbError> {
    let row: Option<(i64, String, String, bool)> =
        sqlx::query_as("SELECT id, name, password_hash, is_admin FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(db.reader())
            .await?;
    Ok(row.map(|(id, name, password_hash, is_admin)| UserRow { id, name, password_hash, is_admin }))
}

/// Inserts the user unless one with that name exists; returns whether it was
/// created. Safe when two processes start at once.
pub async fn insert_if_absent(
    db: &Database,
    name: &str,
    password_hash: &str,
    is_admin: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let result = sqlx::query(
        "INSERT INTO users (name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(password_hash)
    .bind(is_admin)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether a user's name equals `name` without regard to case: token names
/// compare without case at `docker login`, so a token called `Admin` would
/// stand beside the user `admin`.
pub async fn name_taken_ignoring_case(db: &Database, name: &str) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE name = ? COLLATE NOCASE)")
        .bind(name)
        .fetch_one(db.reader())
        .await?)
}

pub async fn count(db: &Database) -> Result<i64, DbError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(db.reader()).await?;
    Ok(n)
}

/// Replaces the user's password hash (a PHC string); returns whether the
/// user exists.
pub async fn set_password_hash(db: &Database, name: &str, password_hash: &str) -> Result<bool, DbError> {
    let result = sqlx::query("UPDATE users SET password_hash = ? WHERE name = ?")
        .bind(password_hash)
        .bind(name)
        .execute(db.writer())
        .await?;
    Ok(result.rows_affected() == 1)
}
