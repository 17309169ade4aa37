//! Registry metadata: repositories, blob links, manifests, tags and upload
//! sessions. Multi-row changes run in one transaction on the writer, so a
//! crash leaves either all of a change or none of it.

use super::{hot_read, on, Conn, Database, DbError, Tx};
use crate::domain::RepositoryName;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ManifestRow {
    pub id: i64,
    pub digest: String,
    pub media_type: String,
    pub content: Vec<u8>,
    /// Whether the repository, the manifest and the tag it was reached by
    /// all have readEnabled.
    pub readable: bool,
}

/// A manifest about to be stored, with what it references.
#[derive(Debug)]
pub struct NewManifest<'a> {
    pub digest: &'a str,
    pub media_type: &'a str,
    pub artifact_type: Option<&'a str>,
    pub subject: Option<&'a str>,
    /// JSON object text, when the manifest has annotations.
    pub annotations: Option<&'a str>,
    pub content: &'a [u8],
    pub blob_digests: Vec<&'a str>,
    pub child_digests: Vec<&'a str>,
}

/// Why a manifest could not be stored.
#[derive(Debug)]
pub enum PutManifestRefusal {
    /// These blobs are not in the repository.
    BlobsUnknown(Vec<String>),
    /// These index children are not manifests of the repository.
    ManifestsUnknown(Vec<String>),
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferrerRow {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub artifact_type: Option<String>,
    pub annotations: Option<String>,
}

pub async fn find_repository(db: &Database, name: &str) -> Result<Option<i64>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_scalar("SELECT id FROM repositories WHERE name = $1")
        .bind(name)
        .fetch_optional(e)
        .await)?)
}

/// The repository's id if it holds at least one manifest: a repository
/// that only ever saw uploads is not listed anywhere.
pub async fn find_repository_with_content(db: &Database, name: &str) -> Result<Option<i64>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_scalar(
        "SELECT r.id FROM repositories r
         WHERE r.name = $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)",
    )
    .bind(name)
    .fetch_optional(e)
    .await)?)
}

/// The repository's id, creating it (a permitted push creates a repository).
pub async fn ensure_repository(db: &Database, name: &str, now: DateTime<Utc>) -> Result<i64, DbError> {
    if let Some(id) = find_repository(db, name).await? {
        return Ok(id);
    }
    let mut tx = db.begin().await?;
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
    )
    .bind(name)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    let id = on!(tx.conn(), |e| sqlx::query_scalar("SELECT id FROM repositories WHERE name = $1")
        .bind(name)
        .fetch_one(e)
        .await)?;
    tx.commit().await?;
    Ok(id)
}

/// Whether a repository's link `l` to a blob may be read: the repository
/// is not read-locked. (Per-manifest read locks bind manifests only: a
/// layer's bytes are the same for every image that shares it, and checking
/// every manifest that references a blob would put a scan of a popular base
/// layer's references on every blob GET.)
const READABLE_LINK: &str = "(SELECT r.read_enabled FROM repositories r WHERE r.id = l.repository_id)";

/// A blob the repository sees.
pub struct LinkedBlob {
    pub size: u64,
    /// Whether its read locks allow reading it ([`READABLE_LINK`]).
    pub readable: bool,
}

/// The blob `digest` as the repository named `repository` sees it; one
/// statement finds the repository and the link (a manifest GET or blob
/// HEAD makes one round trip for its content).
pub async fn linked_blob(
    db: &Database,
    repository: &str,
    digest: &str,
) -> Result<Option<LinkedBlob>, DbError> {
    const SQL: &str = "SELECT b.size, r.read_enabled
         FROM repositories r JOIN repository_blobs l ON l.repository_id = r.id JOIN blobs b ON b.digest = l.digest
         WHERE r.name = $1 AND l.digest = $2";
    let row: Option<(i64, bool)> =
        hot_read!(db, SQL, [repository, digest], |row| Ok((row.get(0)?, row.get(1)?)));
    Ok(row.map(|(size, readable)| LinkedBlob { size: size as u64, readable }))
}

async fn insert_blob_link(
    tx: &mut Tx,
    repository: i64,
    digest: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest)
    .bind(size as i64)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO repository_blobs (repository_id, digest, linked_at) VALUES ($1, $2, $3)
         ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
    )
    .bind(repository)
    .bind(digest)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Records a stored blob and makes it visible in the repository.
pub async fn link_new_blob(
    db: &Database,
    repository: i64,
    digest: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    insert_blob_link(&mut tx, repository, digest, size, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Like [`link_new_blob`], and ends the upload session in the same
/// transaction.
pub async fn complete_upload(
    db: &Database,
    upload: &str,
    repository: i64,
    digest: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    insert_blob_link(&mut tx, repository, digest, size, now).await?;
    on!(tx.conn(), |e| sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(upload)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}

/// Cross-repository mount: links a blob the source repository sees and may
/// read into the target. Returns false when the source does not have it or
/// a read lock covers it there (the client then uploads it).
pub async fn mount_blob(
    db: &Database,
    source: i64,
    target: i64,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let result = on!(tx.conn(), |e| sqlx::query(&format!(
        "INSERT INTO repository_blobs (repository_id, digest, linked_at)
         SELECT $1, l.digest, $2 FROM repository_blobs l WHERE l.repository_id = $3 AND l.digest = $4
           AND {READABLE_LINK}
         ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = excluded.linked_at"
    ))
    .bind(target)
    .bind(now)
    .bind(source)
    .bind(digest)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result > 0)
}

/// Removes the blob from the repository's view; the bytes stay until
/// garbage collection finds nothing references them.
pub async fn unlink_blob(db: &Database, repository: i64, digest: &str) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let result = on!(tx.conn(), |e| sqlx::query(
        "DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2"
    )
    .bind(repository)
    .bind(digest)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result > 0)
}

pub async fn insert_upload(
    db: &Database,
    upload: &str,
    repository: i64,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    on!(tx.conn(), |e| sqlx::query(
        "INSERT INTO uploads (id, repository_id, started_at) VALUES ($1, $2, $3)"
    )
    .bind(upload)
    .bind(repository)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}

/// Whether the upload session exists and belongs to the repository.
pub async fn upload_exists(db: &Database, upload: &str, repository: i64) -> Result<bool, DbError> {
    let found: Option<i32> = on!(db.reader(), |e| sqlx::query_scalar(
        "SELECT 1 FROM uploads WHERE id = $1 AND repository_id = $2"
    )
    .bind(upload)
    .bind(repository)
    .fetch_optional(e)
    .await)?;
    Ok(found.is_some())
}

pub async fn delete_upload(db: &Database, upload: &str) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let result = on!(tx.conn(), |e| sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(upload)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result > 0)
}

/// The manifest `digest` of the repository named `repository`.
pub async fn manifest_by_digest(
    db: &Database,
    repository: &str,
    digest: &str,
) -> Result<Option<ManifestRow>, DbError> {
    manifest_by(
        db,
        "SELECT m.id, m.digest, m.media_type, m.content, (m.read_enabled AND r.read_enabled) AS readable
         FROM repositories r JOIN manifests m ON m.repository_id = r.id
         WHERE r.name = $1 AND m.digest = $2",
        repository,
        digest,
    )
    .await
}

/// The manifest `tag` names in the repository named `repository`.
pub async fn manifest_by_tag(
    db: &Database,
    repository: &str,
    tag: &str,
) -> Result<Option<ManifestRow>, DbError> {
    manifest_by(
        db,
        "SELECT m.id, m.digest, m.media_type, m.content,
           (m.read_enabled AND r.read_enabled AND t.read_enabled) AS readable
         FROM repositories r JOIN tags t ON t.repository_id = r.id JOIN manifests m ON m.id = t.manifest_id
         WHERE r.name = $1 AND t.name = $2",
        repository,
        tag,
    )
    .await
}

/// The manifest `sql` selects by repository name (`$1`) and `reference`
/// (`$2`), on the request's thread on SQLite.
async fn manifest_by(
    db: &Database,
    sql: &'static str,
    repository: &str,
    reference: &str,
) -> Result<Option<ManifestRow>, DbError> {
    Ok(hot_read!(db, sql, [repository, reference], |row| {
        // By place: the statements select these five in this order.
        Ok(ManifestRow {
            id: row.get(0)?,
            digest: row.get(1)?,
            media_type: row.get(2)?,
            content: row.get(3)?,
            readable: row.get(4)?,
        })
    }))
}

/// Stores a manifest (and points `tag` at it) after checking, inside the
/// transaction, that everything it references is in the repository.
pub async fn put_manifest(
    db: &Database,
    repository: i64,
    manifest: &NewManifest<'_>,
    tag: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<(), PutManifestRefusal>, DbError> {
    let mut tx = db.begin().await?;
    let mut missing_blobs = Vec::new();
    for digest in &manifest.blob_digests {
        let linked: Option<i32> = on!(tx.conn(), |e| sqlx::query_scalar(
            "SELECT 1 FROM repository_blobs WHERE repository_id = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .fetch_optional(e)
        .await)?;
        if linked.is_none() {
            missing_blobs.push((*digest).to_owned());
        }
    }
    if !missing_blobs.is_empty() {
        return Ok(Err(PutManifestRefusal::BlobsUnknown(missing_blobs)));
    }
    let mut missing_children = Vec::new();
    for digest in &manifest.child_digests {
        let found: Option<i32> = on!(tx.conn(), |e| sqlx::query_scalar(
            "SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2"
        )
        .bind(repository)
        .bind(digest)
        .fetch_optional(e)
        .await)?;
        if found.is_none() {
            missing_children.push((*digest).to_owned());
        }
    }
    if !missing_children.is_empty() {
        return Ok(Err(PutManifestRefusal::ManifestsUnknown(missing_children)));
    }
    on!(tx.conn(), |e| {
        sqlx::query(
        "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (repository_id, digest) DO NOTHING",
    )
    .bind(repository)
    .bind(manifest.digest)
    .bind(manifest.media_type)
    .bind(manifest.artifact_type)
    .bind(manifest.subject)
    .bind(manifest.annotations)
    .bind(manifest.content.len() as i64)
    .bind(manifest.content)
    .bind(now)
    .execute(e).await.map(|done| done.rows_affected())
    })?;
    let id: i64 = on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2"
    )
    .bind(repository)
    .bind(manifest.digest)
    .fetch_one(e)
    .await)?;
    for digest in &manifest.blob_digests {
        on!(tx.conn(), |e| sqlx::query(
            "INSERT INTO manifest_blobs (manifest_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(id)
        .bind(digest)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    }
    for digest in &manifest.child_digests {
        on!(tx.conn(), |e| sqlx::query(
            "INSERT INTO index_children (manifest_id, child_digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(digest)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    }
    if let Some(tag) = tag {
        on!(tx.conn(), |e| {
            sqlx::query(
            "INSERT INTO tags (repository_id, name, manifest_id, updated_at, created_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at",
        )
        .bind(repository)
        .bind(tag)
        .bind(id)
        .bind(now)
        .execute(e).await.map(|done| done.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Deletes a manifest and every tag pointing at it.
pub async fn delete_manifest(db: &Database, repository: i64, digest: &str) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let result =
        on!(tx.conn(), |e| sqlx::query("DELETE FROM manifests WHERE repository_id = $1 AND digest = $2")
            .bind(repository)
            .bind(digest)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result > 0)
}

pub async fn delete_tag(db: &Database, repository: i64, tag: &str) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let result = on!(tx.conn(), |e| sqlx::query("DELETE FROM tags WHERE repository_id = $1 AND name = $2")
        .bind(repository)
        .bind(tag)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(result > 0)
}

/// Listed tags (listEnabled on the tag and its manifest) in lexical,
/// case-insensitive order (the spec's) after `last`, at most `limit`.
pub async fn list_tags(
    db: &Database,
    repository: i64,
    last: Option<&str>,
    limit: u32,
) -> Result<Vec<String>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_scalar(
        "SELECT t.name FROM tags t JOIN manifests m ON m.id = t.manifest_id
         WHERE t.repository_id = $1 AND t.list_enabled AND m.list_enabled
           AND (lower(t.name) > lower($2) OR (lower(t.name) = lower($2) AND t.name > $2))
         ORDER BY lower(t.name), t.name LIMIT $3",
    )
    .bind(repository)
    .bind(last.unwrap_or(""))
    .bind(limit as i64)
    .fetch_all(e)
    .await)?)
}

/// Listed repositories (listEnabled) holding at least one manifest, in
/// lexical order after `last`, at most `limit`.
/// One page of the catalog: the names read, and where the next page starts
/// (`None` after the last page).
pub struct RepositoryPage {
    pub names: Vec<RepositoryName>,
    pub next: Option<String>,
}

/// Listed repositories holding content, by name, after `last`, at most
/// `limit` rows. A stored name that no longer parses is logged and never
/// shown; paging goes on past it.
pub async fn list_repositories(
    db: &Database,
    last: Option<&str>,
    limit: u32,
) -> Result<RepositoryPage, DbError> {
    let names: Vec<String> = on!(db.reader(), |e| {
        sqlx::query_scalar(
        "SELECT r.name FROM repositories r
         WHERE r.name > $1 AND r.list_enabled AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
         ORDER BY r.name LIMIT $2",
    )
    .bind(last.unwrap_or(""))
    .bind(limit as i64)
    .fetch_all(e).await
    })?;
    let next = if names.len() as u64 == u64::from(limit) { names.last().cloned() } else { None };
    let names = names
        .into_iter()
        .filter_map(|name| match RepositoryName::try_from(name) {
            Ok(name) => Some(name),
            Err(error) => {
                tracing::warn!(%error, "a stored repository name does not parse; it is not listed");
                None
            }
        })
        .collect();
    Ok(RepositoryPage { names, next })
}

pub async fn referrers(
    db: &Database,
    repository: i64,
    subject: &str,
    artifact_type: Option<&str>,
) -> Result<Vec<ReferrerRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(
        "SELECT digest, media_type, size, artifact_type, annotations FROM manifests
         WHERE repository_id = $1 AND subject = $2 AND ($3 IS NULL OR artifact_type = $4)
         ORDER BY created_at, digest",
    )
    .bind(repository)
    .bind(subject)
    .bind(artifact_type)
    .bind(artifact_type)
    .fetch_all(e)
    .await)?)
}

/// Counts for the overview page.
pub async fn counts(db: &Database) -> Result<(i64, i64, i64), DbError> {
    Ok(on!(db.reader(), |e| {
        sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM repositories WHERE EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = repositories.id)),
                (SELECT COUNT(*) FROM tags),
                (SELECT COUNT(*) FROM blobs)",
    )
    .fetch_one(e).await
    })?)
}

/// Upload sessions started before `before` (abandoned, for collection).
pub async fn uploads_started_before(db: &Database, before: DateTime<Utc>) -> Result<Vec<String>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_scalar(
        "SELECT id FROM uploads WHERE started_at < $1 ORDER BY started_at"
    )
    .bind(before)
    .fetch_all(e)
    .await)?)
}

/// Whether any upload session row has this id.
pub async fn upload_known(db: &Database, upload: &str) -> Result<bool, DbError> {
    let found: Option<i32> = on!(db.reader(), |e| sqlx::query_scalar("SELECT 1 FROM uploads WHERE id = $1")
        .bind(upload)
        .fetch_optional(e)
        .await)?;
    Ok(found.is_some())
}

/// A blob the database records, with the repositories that see it: those
/// it is linked in and those with a manifest that references it. For
/// `portcullis fsck`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedBlob {
    pub digest: String,
    pub size: u64,
    /// Sorted, each once.
    pub repositories: Vec<String>,
}

/// Every blob the database records, in digest order.
pub async fn recorded_blobs(db: &Database) -> Result<Vec<RecordedBlob>, DbError> {
    // Repository names never hold a newline (the name grammar), so one
    // separates them.
    let rows: Vec<(String, i64, Option<String>)> = on!(db.reader(), |e, dialect| sqlx::query_as(&format!(
        "SELECT b.digest, b.size, (
             SELECT {} FROM (
                 SELECT r.name FROM repository_blobs l JOIN repositories r ON r.id = l.repository_id
                 WHERE l.digest = b.digest
                 UNION
                 SELECT r.name FROM manifest_blobs mb JOIN manifests m ON m.id = mb.manifest_id
                     JOIN repositories r ON r.id = m.repository_id
                 WHERE mb.digest = b.digest) AS seen_by)
         FROM blobs b ORDER BY b.digest",
        dialect.pick("group_concat(name, char(10))", "string_agg(name, chr(10))")
    ))
    .fetch_all(e)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(digest, size, names)| {
            let mut repositories: Vec<String> = names
                .as_deref()
                .unwrap_or_default()
                .split('\n')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            repositories.sort();
            repositories.dedup();
            RecordedBlob { digest, size: size as u64, repositories }
        })
        .collect())
}

/// Whether the database records the blob (any repository or none).
pub async fn blob_recorded(db: &Database, digest: &str) -> Result<bool, DbError> {
    let found: Option<i32> =
        on!(db.reader(), |e| sqlx::query_scalar("SELECT 1 FROM blobs WHERE digest = $1")
            .bind(digest)
            .fetch_optional(e)
            .await)?;
    Ok(found.is_some())
}

/// Whether a blob is garbage: no manifest references it and no repository
/// linked it after `cutoff`.
pub async fn blob_is_garbage(db: &Database, digest: &str, cutoff: DateTime<Utc>) -> Result<bool, DbError> {
    let mut conn = db.read_connection().await?;
    garbage_check(conn.conn(), digest, cutoff).await
}

async fn garbage_check(conn: Conn<'_>, digest: &str, cutoff: DateTime<Utc>) -> Result<bool, DbError> {
    let referenced: Option<i32> = on!(conn, |e| sqlx::query_scalar(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM manifest_blobs WHERE digest = $1)
                     OR EXISTS (SELECT 1 FROM repository_blobs WHERE digest = $1 AND linked_at > $2)
                     OR EXISTS (SELECT 1 FROM blobs WHERE digest = $1 AND created_at > $2)",
    )
    .bind(digest)
    .bind(cutoff)
    .fetch_optional(e)
    .await)?;
    Ok(referenced.is_none())
}

/// Deletes a garbage blob's rows and, inside the same write transaction,
/// its bytes (`remove`). A push of the same digest commits its rows only
/// after this transaction and then finds the bytes gone, so it fails and
/// is retried instead of leaving a row without content.
pub async fn collect_blob<F, Fut>(
    db: &Database,
    digest: &str,
    cutoff: DateTime<Utc>,
    remove: F,
) -> Result<bool, DbError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut tx = db.begin().await?;
    if !garbage_check(tx.conn(), digest, cutoff).await? {
        return Ok(false);
    }
    on!(tx.conn(), |e| sqlx::query("DELETE FROM repository_blobs WHERE digest = $1")
        .bind(digest)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    on!(tx.conn(), |e| sqlx::query("DELETE FROM blobs WHERE digest = $1")
        .bind(digest)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    if let Err(reason) = remove().await {
        tracing::error!(%digest, %reason, "could not delete blob content; keeping its rows");
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}
