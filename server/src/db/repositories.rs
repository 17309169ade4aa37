//! Repository management: details, tags and manifests with their lock
//! attributes, whole-repository deletion, untagging, and the locks the data
//! plane checks.

use chrono::{DateTime, Utc};

use super::{on, Database, DbError, Dialect, Tx};
use crate::domain::{Digest, Tag};

/// The lock attributes of a repository, manifest or tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Locks {
    pub read_enabled: bool,
    pub write_enabled: bool,
    pub delete_enabled: bool,
    pub list_enabled: bool,
}

impl Locks {
    pub const OPEN: Locks =
        Locks { read_enabled: true, write_enabled: true, delete_enabled: true, list_enabled: true };
}

/// Which object's attributes to change.
#[derive(Debug, Clone, Copy)]
pub enum LockTarget<'a> {
    Repository,
    Tag(&'a str),
    Manifest(&'a str),
}

#[derive(Debug, Clone)]
pub struct RepositoryRow {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_update: Option<DateTime<Utc>>,
    pub tag_count: i64,
    pub manifest_count: i64,
    pub locks: Locks,
}

/// A repository's row with its counts and its last update: the newest of
/// its manifests' creation and its tags' updates, or NULL without
/// manifests. SQLite stores times as RFC 3339 text and compares them as
/// such; PostgreSQL's `timestamptz` is given back as the same text.
fn repository_select(dialect: Dialect) -> String {
    const NEWEST_MANIFEST: &str = "(SELECT max(created_at) FROM manifests m WHERE m.repository_id = r.id)";
    const NEWEST_TAG: &str = "(SELECT max(updated_at) FROM tags t WHERE t.repository_id = r.id)";
    let last_update = match dialect {
        Dialect::Sqlite => format!("max({NEWEST_MANIFEST}, coalesce({NEWEST_TAG}, ''))"),
        Dialect::Postgres => format!(
            "to_char(CASE WHEN {NEWEST_MANIFEST} IS NOT NULL THEN greatest({NEWEST_MANIFEST}, {NEWEST_TAG}) END
                 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        ),
    };
    format!(
        "SELECT r.id, r.name, r.created_at,
           r.read_enabled, r.write_enabled, r.delete_enabled, r.list_enabled,
           (SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id) AS tag_count,
           (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id) AS manifest_count,
           {last_update} AS last_update
         FROM repositories r"
    )
}

/// A row of [`repository_select`]: `last_update` is RFC 3339 text.
#[derive(sqlx::FromRow)]
struct RepositoryColumns {
    id: i64,
    name: String,
    created_at: DateTime<Utc>,
    last_update: Option<String>,
    tag_count: i64,
    manifest_count: i64,
    #[sqlx(flatten)]
    locks: Locks,
}

impl From<RepositoryColumns> for RepositoryRow {
    fn from(row: RepositoryColumns) -> Self {
        RepositoryRow {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_update: row
                .last_update
                .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
                .map(|t| t.to_utc()),
            tag_count: row.tag_count,
            manifest_count: row.manifest_count,
            locks: row.locks,
        }
    }
}

pub async fn repository(db: &Database, name: &str) -> Result<Option<RepositoryRow>, DbError> {
    let row: Option<RepositoryColumns> = on!(db.reader(), |e, dialect| sqlx::query_as(&format!(
        "{} WHERE r.name = $1",
        repository_select(dialect)
    ))
    .bind(name)
    .fetch_optional(e)
    .await)?;
    Ok(row.map(RepositoryRow::from))
}

/// What an administrator lists, by name: every repository holding content,
/// and the unlisted ones (listEnabled false) whatever they hold.
pub async fn administered_repositories(db: &Database) -> Result<Vec<RepositoryRow>, DbError> {
    let rows: Vec<RepositoryColumns> = on!(db.reader(), |e, dialect| sqlx::query_as(&format!(
        "{}
         WHERE NOT r.list_enabled OR EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
         ORDER BY r.name",
        repository_select(dialect)
    ))
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(RepositoryRow::from).collect())
}

#[derive(Debug, Clone)]
pub struct TagRow {
    pub name: String,
    pub digest: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub locks: Locks,
}

/// A row of [`TAG_COLUMNS`]: tags from before migration 0005 have no
/// creation time.
#[derive(sqlx::FromRow)]
struct TagColumns {
    name: String,
    digest: String,
    created_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    locks: Locks,
}

impl From<TagColumns> for TagRow {
    fn from(row: TagColumns) -> Self {
        TagRow {
            name: row.name,
            digest: row.digest,
            created_at: row.created_at.unwrap_or(row.updated_at),
            updated_at: row.updated_at,
            locks: row.locks,
        }
    }
}

const TAG_COLUMNS: &str = "t.name, m.digest, t.created_at, t.updated_at,
    t.read_enabled, t.write_enabled, t.delete_enabled, t.list_enabled";

pub async fn tags(db: &Database, repository: i64) -> Result<Vec<TagRow>, DbError> {
    let rows: Vec<TagColumns> = on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {TAG_COLUMNS} FROM tags t JOIN manifests m ON m.id = t.manifest_id
         WHERE t.repository_id = $1 ORDER BY lower(t.name), t.name"
    ))
    .bind(repository)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(TagRow::from).collect())
}

pub async fn tag(db: &Database, repository: i64, name: &str) -> Result<Option<TagRow>, DbError> {
    let row: Option<TagColumns> = on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {TAG_COLUMNS} FROM tags t JOIN manifests m ON m.id = t.manifest_id
         WHERE t.repository_id = $1 AND t.name = $2"
    ))
    .bind(repository)
    .bind(name)
    .fetch_optional(e)
    .await)?;
    Ok(row.map(TagRow::from))
}

#[derive(Debug, Clone)]
pub struct ManifestInfoRow {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub created_at: DateTime<Utc>,
    pub tags: Vec<String>,
    pub content: Vec<u8>,
    pub locks: Locks,
}

/// A manifest's row with its tags' names, newline-separated.
#[derive(sqlx::FromRow)]
struct ManifestColumns {
    digest: String,
    media_type: String,
    artifact_type: Option<String>,
    size: i64,
    created_at: DateTime<Utc>,
    content: Vec<u8>,
    tag_names: Option<String>,
    #[sqlx(flatten)]
    locks: Locks,
}

impl From<ManifestColumns> for ManifestInfoRow {
    fn from(row: ManifestColumns) -> Self {
        let mut tags: Vec<String> =
            row.tag_names.map(|t| t.split('\n').map(str::to_owned).collect()).unwrap_or_default();
        tags.sort();
        ManifestInfoRow {
            digest: row.digest,
            media_type: row.media_type,
            artifact_type: row.artifact_type,
            size: row.size,
            created_at: row.created_at,
            content: row.content,
            tags,
            locks: row.locks,
        }
    }
}

pub async fn manifests(
    db: &Database,
    repository: i64,
    digest: Option<&str>,
) -> Result<Vec<ManifestInfoRow>, DbError> {
    let rows: Vec<ManifestColumns> = on!(db.reader(), |e, dialect| sqlx::query_as(&format!(
        "SELECT m.digest, m.media_type, m.artifact_type, m.size, m.created_at, m.content,
           m.read_enabled, m.write_enabled, m.delete_enabled, m.list_enabled,
           (SELECT {} FROM tags t WHERE t.manifest_id = m.id) AS tag_names
         FROM manifests m WHERE m.repository_id = $1 AND ($2 IS NULL OR m.digest = $2)
         ORDER BY m.created_at DESC, m.digest",
        dialect.pick("group_concat(t.name, char(10))", "string_agg(t.name, chr(10))")
    ))
    .bind(repository)
    .bind(digest)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(ManifestInfoRow::from).collect())
}

/// Every repository's id, name and own attributes, by name, inside `tx`.
pub async fn all_repository_locks(tx: &mut Tx) -> Result<Vec<(i64, String, Locks)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        name: String,
        #[sqlx(flatten)]
        locks: Locks,
    }
    let rows: Vec<Row> = on!(tx.conn(), |e| sqlx::query_as(
        "SELECT id, name, read_enabled, write_enabled, delete_enabled, list_enabled FROM repositories
         ORDER BY name",
    )
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(|row| (row.id, row.name, row.locks)).collect())
}

/// Sets all four attributes of a repository, inside `tx`.
pub async fn set_repository_locks(tx: &mut Tx, repository: i64, locks: Locks) -> Result<(), DbError> {
    on!(tx.conn(), |e| {
        sqlx::query(
        "UPDATE repositories SET read_enabled = $1, write_enabled = $2, delete_enabled = $3, list_enabled = $4
         WHERE id = $5",
    )
    .bind(locks.read_enabled)
    .bind(locks.write_enabled)
    .bind(locks.delete_enabled)
    .bind(locks.list_enabled)
    .bind(repository)
    .execute(e).await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Sets the given attributes (the `None`s are left alone); whether the
/// object exists.
pub async fn set_locks(
    db: &Database,
    repository: i64,
    target: LockTarget<'_>,
    read: Option<bool>,
    write: Option<bool>,
    delete: Option<bool>,
    list: Option<bool>,
) -> Result<bool, DbError> {
    let set = "read_enabled = coalesce($1, read_enabled), write_enabled = coalesce($2, write_enabled),
        delete_enabled = coalesce($3, delete_enabled), list_enabled = coalesce($4, list_enabled)";
    let (sql, key) = match target {
        LockTarget::Repository => {
            (format!("UPDATE repositories SET {set} WHERE id = $5 AND $6 IS NULL"), None)
        }
        LockTarget::Tag(tag) => {
            (format!("UPDATE tags SET {set} WHERE repository_id = $5 AND name = $6"), Some(tag))
        }
        LockTarget::Manifest(digest) => {
            (format!("UPDATE manifests SET {set} WHERE repository_id = $5 AND digest = $6"), Some(digest))
        }
    };
    let mut tx = db.begin().await?;
    let result = on!(tx.conn(), |e| sqlx::query(&sql)
        .bind(read)
        .bind(write)
        .bind(delete)
        .bind(list)
        .bind(repository)
        .bind(key)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result > 0)
}

/// What a write or delete touches, besides the repository itself.
#[derive(Debug, Clone, Copy)]
pub enum LockScope<'a> {
    /// The repository only (uploads).
    Repository,
    /// One tag.
    Tag(&'a Tag),
    /// One manifest and every tag on it.
    Manifest(&'a Digest),
    /// A blob: every manifest of the repository that references it (an
    /// image directly, an index through one of its images) and their tags.
    Blob(&'a Digest),
    /// Every manifest and tag of the repository.
    Everything,
}

/// A manifest or tag that carries lock attributes of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockedObject {
    Manifest(Digest),
    Tag(Tag),
}

/// `manifest <digest>`, `tag <name>`, as refusals name them.
impl std::fmt::Display for LockedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockedObject::Manifest(digest) => write!(f, "manifest {digest}"),
            LockedObject::Tag(tag) => write!(f, "tag {tag}"),
        }
    }
}

/// The lock attributes of what a change touches: its manifests, then its
/// tags, beside the repository's own.
pub struct ConcernedLocks {
    pub repository: Locks,
    pub objects: Vec<(LockedObject, Locks)>,
}

/// Which manifests (`m`) and tags (`t`, joined to its manifest `m`) of
/// repository `?1` a scope concerns (`?2`: the tag, digest or blob digest).
fn concerned_conditions(scope: LockScope<'_>) -> Option<(&'static str, &'static str)> {
    const BLOB: &str = "m.id IN (SELECT manifest_id FROM manifest_blobs WHERE digest = $2)
        OR EXISTS (SELECT 1 FROM index_children c
            JOIN manifests image ON image.repository_id = $1 AND image.digest = c.child_digest
            JOIN manifest_blobs b ON b.manifest_id = image.id AND b.digest = $2
            WHERE c.manifest_id = m.id)";
    match scope {
        LockScope::Repository => None,
        LockScope::Tag(_) => Some((
            "m.id IN (SELECT manifest_id FROM tags WHERE repository_id = $1 AND name = $2)",
            "t.name = $2",
        )),
        LockScope::Manifest(_) => Some(("m.digest = $2", "m.digest = $2")),
        LockScope::Blob(_) => Some((BLOB, BLOB)),
        LockScope::Everything => Some(("TRUE", "TRUE")),
    }
}

/// The locks of `scope` in the repository, or `None` when the repository
/// does not exist (yet: a push creates it). For a tag: the tag and the
/// manifest it names (not the manifest's other tags).
pub async fn concerned_locks(
    db: &Database,
    repository_name: &str,
    scope: LockScope<'_>,
) -> Result<Option<ConcernedLocks>, DbError> {
    /// A repository's, manifest's or tag's locks, with its id or name.
    #[derive(sqlx::FromRow)]
    struct Row<Key> {
        key: Key,
        #[sqlx(flatten)]
        locks: Locks,
    }
    let row: Option<Row<i64>> = on!(db.reader(), |e| sqlx::query_as(
        "SELECT id AS key, read_enabled, write_enabled, delete_enabled, list_enabled
         FROM repositories WHERE name = $1",
    )
    .bind(repository_name)
    .fetch_optional(e)
    .await)?;
    let Some(Row { key: id, locks }) = row else { return Ok(None) };
    let mut concerned = ConcernedLocks { repository: locks, objects: Vec::new() };
    let Some((manifest_condition, tag_condition)) = concerned_conditions(scope) else {
        return Ok(Some(concerned));
    };
    let key = match scope {
        LockScope::Tag(tag) => tag.as_str(),
        LockScope::Manifest(digest) | LockScope::Blob(digest) => digest.as_str(),
        LockScope::Repository | LockScope::Everything => "",
    };
    let manifests: Vec<Row<String>> = on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT m.digest AS key, m.read_enabled, m.write_enabled, m.delete_enabled, m.list_enabled
         FROM manifests m WHERE m.repository_id = $1 AND ({manifest_condition})"
    ))
    .bind(id)
    .bind(key)
    .fetch_all(e)
    .await)?;
    let tags: Vec<Row<String>> = on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT t.name AS key, t.read_enabled, t.write_enabled, t.delete_enabled, t.list_enabled
         FROM tags t JOIN manifests m ON m.id = t.manifest_id
         WHERE t.repository_id = $1 AND ({tag_condition})"
    ))
    .bind(id)
    .bind(key)
    .fetch_all(e)
    .await)?;
    for row in manifests {
        concerned.objects.push((LockedObject::Manifest(stored(row.key.parse())?), row.locks));
    }
    for row in tags {
        concerned.objects.push((LockedObject::Tag(stored(row.key.parse())?), row.locks));
    }
    Ok(Some(concerned))
}

/// A stored value that must parse into its domain type: a failure means a
/// damaged row, reported as a decoding error.
fn stored<T>(parsed: Result<T, crate::domain::DomainError>) -> Result<T, sqlx::Error> {
    parsed.map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// Deletes a repository with everything in it; the manifests and tags it
/// held (blobs go to garbage collection).
pub async fn delete_repository(
    db: &Database,
    repository: i64,
) -> Result<(Vec<String>, Vec<String>), DbError> {
    let mut tx = db.begin().await?;
    let manifests: Vec<String> = on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT digest FROM manifests WHERE repository_id = $1 ORDER BY digest"
    )
    .bind(repository)
    .fetch_all(e)
    .await)?;
    let tags: Vec<String> = on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT name FROM tags WHERE repository_id = $1 ORDER BY name"
    )
    .bind(repository)
    .fetch_all(e)
    .await)?;
    on!(tx.conn(), |e| sqlx::query("DELETE FROM repositories WHERE id = $1")
        .bind(repository)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok((manifests, tags))
}
