//! The registry's own secret keys (`server_keys`), one row per key name,
//! shared by every replica on the database. The key bytes are secret
//! material: nothing here logs or formats them.

use chrono::{DateTime, Utc};

use super::{on, DbError, Tx};

/// The key stored as `name`, or `None` when there is none yet.
pub async fn find(tx: &mut Tx, name: &str) -> Result<Option<Vec<u8>>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar("SELECT key FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_optional(e)
        .await)?)
}

/// Stores `key` as `name`; `false` (and nothing changes) when a key of
/// that name is already stored.
pub async fn insert(tx: &mut Tx, name: &str, key: &[u8], now: DateTime<Utc>) -> Result<bool, DbError> {
    let inserted = on!(tx.conn(), |e| {
        sqlx::query(
        "INSERT INTO server_keys (name, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(key)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(inserted == 1)
}

/// Replaces the key stored as `name` with `new` if it still is `expected`;
/// `false` (and nothing changes) when it is not, e.g. because another
/// replica replaced it first.
pub async fn replace(tx: &mut Tx, name: &str, expected: &[u8], new: &[u8]) -> Result<bool, DbError> {
    let replaced =
        on!(tx.conn(), |e| sqlx::query("UPDATE server_keys SET key = $1 WHERE name = $2 AND key = $3")
            .bind(new)
            .bind(name)
            .bind(expected)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))?;
    Ok(replaced == 1)
}
