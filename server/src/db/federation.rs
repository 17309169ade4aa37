//! Federated credentials of service principals (migrations/0006): the
//! issuer, audience and subject a service principal trusts, and the
//! issuer's keys when given inline. Every change takes a new policy
//! revision in its transaction, as for the other identity tables.

use chrono::{DateTime, Utc};

use super::{identities::next_revision, on, Database, DbError, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FederatedCredentialRow {
    pub id: i64,
    pub service_principal_id: i64,
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    /// The JWKS document as given; `None`: fetched from the issuer.
    pub jwks: Option<String>,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, service_principal_id, name, issuer, audience, subject, jwks, description, created_at";

/// What a new credential holds.
pub struct NewFederatedCredential<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub subject: &'a str,
    pub jwks: Option<&'a str>,
    pub description: &'a str,
}

/// A service principal's credentials, by name.
pub async fn credentials(
    db: &Database,
    service_principal: i64,
) -> Result<Vec<FederatedCredentialRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM federated_credentials WHERE service_principal_id = $1 ORDER BY name"
    ))
    .bind(service_principal)
    .fetch_all(e)
    .await)?)
}

/// Every credential that trusts `issuer` (compared exactly), oldest first.
pub async fn credentials_of_issuer(
    db: &Database,
    issuer: &str,
) -> Result<Vec<FederatedCredentialRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM federated_credentials WHERE issuer = $1 ORDER BY id"
    ))
    .bind(issuer)
    .fetch_all(e)
    .await)?)
}

/// The service principal's credential with this id, while it exists.
pub async fn credential_by_id(
    db: &Database,
    service_principal: i64,
    id: i64,
) -> Result<Option<FederatedCredentialRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM federated_credentials WHERE service_principal_id = $1 AND id = $2"
    ))
    .bind(service_principal)
    .bind(id)
    .fetch_optional(e)
    .await)?)
}

/// Whether the service principal already has a credential of this name
/// (without regard to case).
pub async fn credential_named(tx: &mut Tx, service_principal: i64, name: &str) -> Result<bool, DbError> {
    let found: Option<i64> = on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT id FROM federated_credentials WHERE service_principal_id = $1 AND name = $2",
    )
    .bind(service_principal)
    .bind(name)
    .fetch_optional(e)
    .await)?;
    Ok(found.is_some())
}

pub async fn insert_credential(
    tx: &mut Tx,
    service_principal: i64,
    new: &NewFederatedCredential<'_>,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    let id = on!(tx.conn(), |e| sqlx::query_scalar(
        "INSERT INTO federated_credentials
             (service_principal_id, name, issuer, audience, subject, jwks, description, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(service_principal)
    .bind(new.name)
    .bind(new.issuer)
    .bind(new.audience)
    .bind(new.subject)
    .bind(new.jwks)
    .bind(new.description)
    .bind(now)
    .fetch_one(e)
    .await)?;
    next_revision(tx).await?;
    Ok(id)
}

/// Deletes the named credential; whether there was one.
pub async fn delete_credential(tx: &mut Tx, service_principal: i64, name: &str) -> Result<bool, DbError> {
    let done = on!(tx.conn(), |e| sqlx::query(
        "DELETE FROM federated_credentials WHERE service_principal_id = $1 AND name = $2"
    )
    .bind(service_principal)
    .bind(name)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    if done == 0 {
        return Ok(false);
    }
    next_revision(tx).await?;
    Ok(true)
}

/// The name of the service principal with this id and whether it is
/// enabled, while it exists.
pub async fn owner(db: &Database, service_principal: i64) -> Result<Option<(String, bool)>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as("SELECT name, enabled FROM service_principals WHERE id = $1")
        .bind(service_principal)
        .fetch_optional(e)
        .await)?)
}
