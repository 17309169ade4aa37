//! Groups, service principals and their secrets, role assignments and the
//! registry's permissions mode (migrations/0005). Every change takes a new
//! policy revision in its transaction ([`next_revision`]), so what an
//! identity holds can be cached by that revision exactly.

use chrono::{DateTime, Utc};

use super::{on, Backend, Database, DbError, Tx};

/// The registry-wide policy revision now.
pub async fn revision(db: &Database) -> Result<i64, DbError> {
    const SQL: &str = "SELECT value FROM policy_revision";
    Ok(match db.inline() {
        Backend::Sqlite(inline) => inline.one(SQL, &[], |row| row.get(0))?,
        Backend::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await?,
    })
}

/// Takes the next policy revision (see migrations/0004): a change to who
/// holds what invalidates every cached identity on every replica.
pub async fn next_revision(tx: &mut Tx) -> Result<i64, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "UPDATE policy_revision SET value = value + 1 RETURNING value"
    )
    .fetch_one(e)
    .await)?)
}

// ---------------------------------------------------------------- settings

/// The permissions mode as stored (`rbac` or `rbac-abac`), `None` before
/// the first start has set it.
/// [`mode`] inside a change.
pub async fn mode_in(tx: &mut Tx) -> Result<Option<String>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar("SELECT role_assignment_mode FROM registry_settings")
        .fetch_optional(e)
        .await)?)
}

pub async fn mode(db: &Database) -> Result<Option<String>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_scalar("SELECT role_assignment_mode FROM registry_settings")
        .fetch_optional(e)
        .await)?)
}

/// Sets the mode unless it is set; returns whether it was.
pub async fn initialise_mode(tx: &mut Tx, mode: &str) -> Result<bool, DbError> {
    let done = on!(tx.conn(), |e| {
        sqlx::query(
        "INSERT INTO registry_settings (\"only\", role_assignment_mode) VALUES (1, $1) ON CONFLICT DO NOTHING",
    )
    .bind(mode)
    .execute(e).await.map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

pub async fn set_mode(tx: &mut Tx, mode: &str) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO registry_settings (\"only\", role_assignment_mode) VALUES (1, $1)
         ON CONFLICT (\"only\") DO UPDATE SET role_assignment_mode = $1",
    )
    .bind(mode)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(())
}

// ------------------------------------------------------------------ names

/// What already carries `name` (compared without case) among the names a
/// login or an assignee can give: users, service principals (name or
/// application id), groups and tokens.
pub async fn name_owner(tx: &mut Tx, name: &str) -> Result<Option<&'static str>, DbError> {
    name_owner_in(tx.conn(), name).await
}

/// [`name_owner`] outside a change.
pub async fn name_owner_now(db: &Database, name: &str) -> Result<Option<&'static str>, DbError> {
    name_owner_in(db.reader(), name).await
}

async fn name_owner_in(
    executor: Backend<impl sqlx::SqliteExecutor<'_>, impl sqlx::PgExecutor<'_>>,
    name: &str,
) -> Result<Option<&'static str>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    let kind: Option<String> = on!(executor, |e| sqlx::query_scalar(
        "SELECT 'user' FROM users WHERE name = $1 COLLATE NOCASE
         UNION ALL SELECT 'service principal' FROM service_principals WHERE name = $1 OR app_id = $1
         UNION ALL SELECT 'group' FROM groups WHERE name = $1
         UNION ALL SELECT 'token' FROM tokens WHERE name = $1
         LIMIT 1",
    )
    .bind(name)
    .fetch_optional(e)
    .await)?;
    Ok(kind.map(|kind| match kind.as_str() {
        "user" => "a user",
        "service principal" => "a service principal",
        "group" => "a group",
        _ => "a token",
    }))
}

// ------------------------------------------------------------------ groups

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub member_count: i64,
}

const GROUP_COLUMNS: &str = "g.id, g.name, g.description, g.created_at,
    (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count";

/// Every group with its members' (kind, name), by name, inside a change.
pub async fn groups_with_members(tx: &mut Tx) -> Result<Vec<(GroupRow, Vec<(String, String)>)>, DbError> {
    let groups: Vec<GroupRow> =
        on!(tx.conn(), |e| sqlx::query_as(&format!("SELECT {GROUP_COLUMNS} FROM groups g ORDER BY g.name"))
            .fetch_all(e)
            .await)?;
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let members = members_in(tx.conn(), group.id).await?;
        out.push((group, members));
    }
    Ok(out)
}

pub async fn groups(db: &Database) -> Result<Vec<GroupRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {GROUP_COLUMNS} FROM groups g ORDER BY g.name"
    ))
    .fetch_all(e)
    .await)?)
}

pub async fn group(db: &Database, name: &str) -> Result<Option<GroupRow>, DbError> {
    group_in(db.reader(), name).await
}

/// [`group`] inside a change.
pub async fn find_group(tx: &mut Tx, name: &str) -> Result<Option<GroupRow>, DbError> {
    group_in(tx.conn(), name).await
}

async fn group_in(
    executor: Backend<impl sqlx::SqliteExecutor<'_>, impl sqlx::PgExecutor<'_>>,
    name: &str,
) -> Result<Option<GroupRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    Ok(on!(executor, |e| sqlx::query_as(&format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.name = $1"))
        .bind(name)
        .fetch_optional(e)
        .await)?)
}

pub async fn insert_group(
    tx: &mut Tx,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "INSERT INTO groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_one(e)
    .await)?)
}

pub async fn set_group_description(tx: &mut Tx, id: i64, description: &str) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("UPDATE groups SET description = $1 WHERE id = $2")
        .bind(description)
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn delete_group(tx: &mut Tx, id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(())
}

/// A user or a service principal, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    User(i64),
    ServicePrincipal(i64),
}

impl Member {
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            Member::User(id) => (Some(id), None),
            Member::ServicePrincipal(id) => (None, Some(id)),
        }
    }
}

/// Adds the member; returns whether it was not one already.
pub async fn add_member(tx: &mut Tx, group: i64, member: Member) -> Result<bool, DbError> {
    let (user, sp) = member.columns();
    let done = on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO group_members (group_id, user_id, service_principal_id) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(group)
    .bind(user)
    .bind(sp)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(done == 1)
}

/// Removes the member; returns whether it was one.
pub async fn remove_member(tx: &mut Tx, group: i64, member: Member) -> Result<bool, DbError> {
    let (user, sp) = member.columns();
    let done = on!(tx.conn(), |e| {
        sqlx::query(
        "DELETE FROM group_members WHERE group_id = $1 AND user_id IS NOT DISTINCT FROM $2 AND service_principal_id IS NOT DISTINCT FROM $3",
    )
    .bind(group)
    .bind(user)
    .bind(sp)
    .execute(e).await.map(|done| done.rows_affected())
    })?;
    next_revision(tx).await?;
    Ok(done == 1)
}

/// A group's members: (kind, name), users first, each by name.
pub async fn members(db: &Database, group: i64) -> Result<Vec<(String, String)>, DbError> {
    members_in(db.reader(), group).await
}

async fn members_in(
    executor: Backend<impl sqlx::SqliteExecutor<'_>, impl sqlx::PgExecutor<'_>>,
    group: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(on!(executor, |e| sqlx::query_as(
        "SELECT 'user', u.name FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $1
         UNION ALL
         SELECT 'service-principal', s.name FROM group_members m
             JOIN service_principals s ON s.id = m.service_principal_id WHERE m.group_id = $1
         ORDER BY 1 DESC, 2",
    )
    .bind(group)
    .fetch_all(e)
    .await)?)
}

/// The names of the groups `member` belongs to.
pub async fn groups_of(db: &Database, member: Member) -> Result<Vec<String>, DbError> {
    let (user, sp) = member.columns();
    Ok(on!(db.reader(), |e| {
        sqlx::query_scalar(
        "SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
         WHERE m.user_id IS NOT DISTINCT FROM $1 AND m.service_principal_id IS NOT DISTINCT FROM $2 ORDER BY g.name",
    )
    .bind(user)
    .bind(sp)
    .fetch_all(e).await
    })?)
}

// ------------------------------------------------------ service principals

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServicePrincipalRow {
    pub id: i64,
    pub name: String,
    pub app_id: String,
    pub description: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

const SP_COLUMNS: &str = "id, name, app_id, description, enabled, created_at, last_sign_in_at";

/// [`service_principals`] inside a change.
pub async fn all_service_principals(tx: &mut Tx) -> Result<Vec<ServicePrincipalRow>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_as(&format!(
        "SELECT {SP_COLUMNS} FROM service_principals ORDER BY name"
    ))
    .fetch_all(e)
    .await)?)
}

pub async fn service_principals(db: &Database) -> Result<Vec<ServicePrincipalRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {SP_COLUMNS} FROM service_principals ORDER BY name"
    ))
    .fetch_all(e)
    .await)?)
}

/// The service principal whose name or application id is `name`, without
/// regard to case (both are unique that way).
pub async fn service_principal(db: &Database, name: &str) -> Result<Option<ServicePrincipalRow>, DbError> {
    service_principal_in(db.reader(), name).await
}

/// [`service_principal`] inside a change.
pub async fn find_service_principal(tx: &mut Tx, name: &str) -> Result<Option<ServicePrincipalRow>, DbError> {
    service_principal_in(tx.conn(), name).await
}

async fn service_principal_in(
    executor: Backend<impl sqlx::SqliteExecutor<'_>, impl sqlx::PgExecutor<'_>>,
    name: &str,
) -> Result<Option<ServicePrincipalRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    Ok(on!(executor, |e| sqlx::query_as(&format!(
        "SELECT {SP_COLUMNS} FROM service_principals WHERE name = $1 OR app_id = $1"
    ))
    .bind(name)
    .fetch_optional(e)
    .await)?)
}

pub async fn insert_service_principal(
    tx: &mut Tx,
    name: &str,
    app_id: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "INSERT INTO service_principals (name, app_id, description, enabled, created_at)
         VALUES ($1, $2, $3, TRUE, $4) RETURNING id",
    )
    .bind(name)
    .bind(app_id)
    .bind(description)
    .bind(now)
    .fetch_one(e)
    .await)?)
}

pub async fn update_service_principal(
    tx: &mut Tx,
    id: i64,
    description: &str,
    enabled: bool,
) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query(
        "UPDATE service_principals SET description = $1, enabled = $2 WHERE id = $3"
    )
    .bind(description)
    .bind(enabled)
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(())
}

pub async fn delete_service_principal(tx: &mut Tx, id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("DELETE FROM service_principals WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(())
}

/// Records that a user or service principal signed in now, unless it did
/// within the last minute.
pub async fn record_sign_in(db: &Database, member: Member, now: DateTime<Utc>) -> Result<(), DbError> {
    let (table, id) = match member {
        Member::User(id) => ("users", id),
        Member::ServicePrincipal(id) => ("service_principals", id),
    };
    let mut tx = db.begin().await?;
    on!(tx.conn(), |e| sqlx::query(&format!(
        "UPDATE {table} SET last_sign_in_at = $1 WHERE id = $2
         AND (last_sign_in_at IS NULL OR last_sign_in_at < $3)"
    ))
    .bind(now)
    .bind(id)
    .bind(now - chrono::Duration::minutes(1))
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}

/// A client secret as stored. `digest` is secret material: not `Debug`.
#[derive(Clone, sqlx::FromRow)]
pub struct SecretRow {
    pub id: i64,
    pub key_id: String,
    pub description: String,
    pub digest: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

const SECRET_COLUMNS: &str = "id, key_id, description, digest, created_at, expires_at";

pub async fn secrets(db: &Database, service_principal: i64) -> Result<Vec<SecretRow>, DbError> {
    Ok(on!(db.reader(), |e| {
        sqlx::query_as(&format!(
        "SELECT {SECRET_COLUMNS} FROM service_principal_secrets WHERE service_principal_id = $1 ORDER BY created_at, id"
    ))
    .bind(service_principal)
    .fetch_all(e).await
    })?)
}

/// A client secret presented at a login that matched a stored digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MatchedSecret {
    pub id: i64,
    pub key_id: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// For a login: the service principal whose name or application id is
/// `name`, and its secret whose digest is `digest` if it has one; one
/// query.
pub async fn secret_login(
    db: &Database,
    name: &str,
    digest: &[u8],
) -> Result<Option<(ServicePrincipalRow, Option<MatchedSecret>)>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    #[derive(sqlx::FromRow)]
    struct Found {
        #[sqlx(flatten)]
        owner: ServicePrincipalRow,
        secret_id: Option<i64>,
        secret_key_id: Option<String>,
        secret_expires_at: Option<DateTime<Utc>>,
    }
    let found: Option<Found> = on!(db.reader(), |e| sqlx::query_as(
        "SELECT p.id, p.name, p.app_id, p.description, p.enabled, p.created_at, p.last_sign_in_at,
                s.id AS secret_id, s.key_id AS secret_key_id, s.expires_at AS secret_expires_at
         FROM service_principals p
         LEFT JOIN service_principal_secrets s ON s.service_principal_id = p.id AND s.digest = $2
         WHERE p.name = $1 OR p.app_id = $1",
    )
    .bind(name)
    .bind(digest)
    .fetch_optional(e)
    .await)?;
    Ok(found.map(|found| {
        let secret = match (found.secret_id, found.secret_key_id) {
            (Some(id), Some(key_id)) => {
                Some(MatchedSecret { id, key_id, expires_at: found.secret_expires_at })
            }
            _ => None,
        };
        (found.owner, secret)
    }))
}

/// The service principal's secret with this id, while it exists.
pub async fn secret_by_id(
    db: &Database,
    service_principal: i64,
    id: i64,
) -> Result<Option<SecretRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {SECRET_COLUMNS} FROM service_principal_secrets WHERE service_principal_id = $1 AND id = $2"
    ))
    .bind(service_principal)
    .bind(id)
    .fetch_optional(e)
    .await)?)
}

pub async fn insert_secret(
    tx: &mut Tx,
    service_principal: i64,
    key_id: &str,
    description: &str,
    digest: &[u8],
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO service_principal_secrets
             (service_principal_id, key_id, description, digest, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(service_principal)
    .bind(key_id)
    .bind(description)
    .bind(digest)
    .bind(now)
    .bind(expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Deletes a secret (or, with `None`, every secret of the principal);
/// returns how many went.
pub async fn delete_secrets(
    tx: &mut Tx,
    service_principal: i64,
    key_id: Option<&str>,
) -> Result<u64, DbError> {
    let done = on!(tx.conn(), |e| {
        sqlx::query(
        "DELETE FROM service_principal_secrets WHERE service_principal_id = $1 AND ($2 IS NULL OR key_id = $2)",
    )
    .bind(service_principal)
    .bind(key_id)
    .execute(e).await.map(|done| done.rows_affected())
    })?;
    Ok(done)
}

// -------------------------------------------------------- role assignments

/// Who an assignment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    User(i64),
    Group(i64),
    ServicePrincipal(i64),
    Anonymous,
}

impl Assignee {
    fn kind(self) -> &'static str {
        match self {
            Assignee::User(_) => "user",
            Assignee::Group(_) => "group",
            Assignee::ServicePrincipal(_) => "service-principal",
            Assignee::Anonymous => "anonymous",
        }
    }

    fn ids(self) -> (Option<i64>, Option<i64>, Option<i64>) {
        match self {
            Assignee::User(id) => (Some(id), None, None),
            Assignee::Group(id) => (None, Some(id), None),
            Assignee::ServicePrincipal(id) => (None, None, Some(id)),
            Assignee::Anonymous => (None, None, None),
        }
    }
}

/// A role assignment as stored, with its assignee's kind and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    pub id: i64,
    pub name: String,
    /// `user`, `group`, `service-principal` or `anonymous`.
    pub assignee_kind: String,
    pub assignee_name: String,
    pub role: String,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

/// The name the built-in anonymous principal is shown with.
pub const ANONYMOUS_NAME: &str = "Everyone (anonymous)";

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.name, a.assignee_kind,
        coalesce(u.name, g.name, s.name, 'Everyone (anonymous)') AS assignee_name,
        a.role, a.condition, a.condition_version, a.description, a.created_at, a.created_by, a.updated_at
    FROM role_assignments a
    LEFT JOIN users u ON u.id = a.user_id
    LEFT JOIN groups g ON g.id = a.group_id
    LEFT JOIN service_principals s ON s.id = a.service_principal_id";

/// Every role assignment, oldest first.
/// [`assignments`] inside a change.
pub async fn all_assignments(tx: &mut Tx) -> Result<Vec<AssignmentRow>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_as(&format!("{ASSIGNMENT_SELECT} ORDER BY a.id")).fetch_all(e).await)?)
}

pub async fn assignments(db: &Database) -> Result<Vec<AssignmentRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(&format!("{ASSIGNMENT_SELECT} ORDER BY a.id"))
        .fetch_all(e)
        .await)?)
}

pub async fn assignment(db: &Database, name: &str) -> Result<Option<AssignmentRow>, DbError> {
    assignment_in(db.reader(), name).await
}

/// [`assignment`] inside a change.
pub async fn find_assignment(tx: &mut Tx, name: &str) -> Result<Option<AssignmentRow>, DbError> {
    assignment_in(tx.conn(), name).await
}

async fn assignment_in(
    executor: Backend<impl sqlx::SqliteExecutor<'_>, impl sqlx::PgExecutor<'_>>,
    name: &str,
) -> Result<Option<AssignmentRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    Ok(on!(executor, |e| sqlx::query_as(&format!("{ASSIGNMENT_SELECT} WHERE a.name = $1"))
        .bind(name)
        .fetch_optional(e)
        .await)?)
}

/// The assignments that apply to a user or a service principal (its own
/// and its groups'), or with `None` to the anonymous caller, oldest first.
pub async fn assignments_for(db: &Database, member: Option<Member>) -> Result<Vec<AssignmentRow>, DbError> {
    let query = match member {
        None => format!("{ASSIGNMENT_SELECT} WHERE a.assignee_kind = 'anonymous' ORDER BY a.id"),
        Some(Member::User(_)) => format!(
            "{ASSIGNMENT_SELECT} WHERE a.user_id = $1
             OR a.group_id IN (SELECT group_id FROM group_members WHERE user_id = $1) ORDER BY a.id"
        ),
        Some(Member::ServicePrincipal(_)) => format!(
            "{ASSIGNMENT_SELECT} WHERE a.service_principal_id = $1
             OR a.group_id IN (SELECT group_id FROM group_members WHERE service_principal_id = $1) ORDER BY a.id"
        ),
    };
    let id = match member {
        Some(Member::User(id) | Member::ServicePrincipal(id)) => id,
        None => 0,
    };
    Ok(on!(db.reader(), |e| sqlx::query_as(&query).bind(id).fetch_all(e).await)?)
}

pub struct NewAssignment<'a> {
    pub name: &'a str,
    pub assignee: Assignee,
    pub role: &'a str,
    pub condition: Option<(&'a str, &'a str)>,
    pub description: &'a str,
    pub created_by: &'a str,
}

pub async fn insert_assignment(
    tx: &mut Tx,
    new: &NewAssignment<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let (user, group, sp) = new.assignee.ids();
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO role_assignments (name, assignee_kind, user_id, group_id, service_principal_id, role,
             condition, condition_version, description, created_at, created_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(new.name)
    .bind(new.assignee.kind())
    .bind(user)
    .bind(group)
    .bind(sp)
    .bind(new.role)
    .bind(new.condition.map(|(text, _)| text))
    .bind(new.condition.map(|(_, version)| version))
    .bind(new.description)
    .bind(now)
    .bind(new.created_by)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(())
}

/// Whether the same role is assigned to the same assignee with the same
/// condition already.
pub async fn same_assignment_exists(
    tx: &mut Tx,
    assignee: Assignee,
    role: &str,
    condition: Option<&str>,
) -> Result<Option<String>, DbError> {
    let (user, group, sp) = assignee.ids();
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT name FROM role_assignments WHERE assignee_kind = $1 AND user_id IS NOT DISTINCT FROM $2
         AND group_id IS NOT DISTINCT FROM $3 AND service_principal_id IS NOT DISTINCT FROM $4
         AND role = $5 AND condition IS NOT DISTINCT FROM $6",
    )
    .bind(assignee.kind())
    .bind(user)
    .bind(group)
    .bind(sp)
    .bind(role)
    .bind(condition)
    .fetch_optional(e)
    .await)?)
}

pub async fn update_assignment(
    tx: &mut Tx,
    id: i64,
    condition: Option<(&str, &str)>,
    description: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on!(tx.conn(), |e| {
        sqlx::query(
        "UPDATE role_assignments SET condition = $1, condition_version = $2, description = $3, updated_at = $4
         WHERE id = $5",
    )
    .bind(condition.map(|(text, _)| text))
    .bind(condition.map(|(_, version)| version))
    .bind(description)
    .bind(now)
    .bind(id)
    .execute(e).await.map(|done| done.rows_affected())
    })?;
    next_revision(tx).await?;
    Ok(())
}

/// Whether some enabled user holds `role` (in practice Owner), directly or
/// through a group; conditions aside, as access as code counts.
pub async fn enabled_user_holds(tx: &mut Tx, role: &str) -> Result<bool, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM role_assignments a \
           LEFT JOIN group_members m ON a.assignee_kind = 'group' AND m.group_id = a.group_id \
           JOIN users u ON u.id = CASE a.assignee_kind WHEN 'user' THEN a.user_id ELSE m.user_id END \
         WHERE a.role = $1 AND u.enabled)",
    )
    .bind(role)
    .fetch_one(e)
    .await)?)
}

pub async fn delete_assignment(tx: &mut Tx, id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("DELETE FROM role_assignments WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    next_revision(tx).await?;
    Ok(())
}
