//! Scope maps, tokens and the audit log. Changes that read then write run
//! inside one transaction on the writer (callers open it with
//! [`Database::begin`]), so two concurrent edits cannot lose one another.
//! Functions taking a [`Tx`] work inside it; those taking the [`Database`]
//! read from the reader pool.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, SqliteExecutor};

use super::{
    hot_read,
    inline::{optional_timestamp, Timestamp},
    on, Backend, Conn, Database, DbError, Tx,
};
use crate::policy::{Action, ActionSet, RepositoryPattern, Rule};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScopeMapRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub created_at: DateTime<Utc>,
    pub revision: i64,
    /// Sorted by pattern.
    #[sqlx(skip)]
    pub rules: Vec<Rule>,
    pub token_count: i64,
}

/// A rule as stored: its pattern and its actions, comma-separated.
#[derive(sqlx::FromRow)]
struct RuleColumns {
    pattern: String,
    actions: String,
}

impl RuleColumns {
    /// The rule, or `None` (logged) for a stored rule that no longer
    /// parses: it grants nothing (deny by default).
    fn decode(self) -> Option<Rule> {
        let Ok(pattern) = RepositoryPattern::parse(&self.pattern) else {
            tracing::warn!(pattern = %self.pattern, "a stored scope-map rule does not parse; it grants nothing");
            return None;
        };
        let actions = self.actions.split(',').filter_map(|a| a.parse::<Action>().ok()).collect::<ActionSet>();
        Some(Rule::new(pattern, actions))
    }
}

/// The stored spelling of one rule's actions: `content/read,content/write`.
fn actions_text(actions: ActionSet) -> String {
    actions.iter().map(Action::as_str).collect::<Vec<_>>().join(",")
}

/// One password slot as stored. `digest` is secret material: not `Debug`.
#[derive(Clone)]
pub struct SlotRow {
    pub digest: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub serial: i64,
    /// The declared version it was generated for (`portcullis apply`);
    /// `None` when it was generated any other way.
    pub version: Option<String>,
}

#[derive(Clone)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope_map_id: i64,
    pub scope_map_name: String,
    pub scope_map_revision: i64,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// password1, password2.
    pub slots: [Option<SlotRow>; 2],
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub caller: String,
    pub token: Option<String>,
    pub repository: Option<String>,
    pub action: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

const SCOPE_MAP_COLUMNS: &str = "s.id, s.name, s.description, s.is_system, s.created_at, s.revision,
    (SELECT COUNT(*) FROM tokens t WHERE t.scope_map_id = s.id) AS token_count";

/// A scope map's revision and its rules, read together so that the rules
/// are exactly those of that revision.
pub async fn scope_map_rules_at_revision(
    db: &Database,
    scope_map_id: i64,
) -> Result<Option<(i64, Vec<Rule>)>, DbError> {
    let rows: Vec<(i64, Option<String>, Option<String>)> = on!(db.reader(), |e| sqlx::query_as(
        "SELECT s.revision, r.pattern, r.actions FROM scope_maps s
         LEFT JOIN scope_map_rules r ON r.scope_map_id = s.id WHERE s.id = $1 ORDER BY r.pattern",
    )
    .bind(scope_map_id)
    .fetch_all(e)
    .await)?;
    let Some((revision, _, _)) = rows.first() else { return Ok(None) };
    let revision = *revision;
    let rules = rows
        .into_iter()
        .filter_map(|(_, pattern, actions)| RuleColumns { pattern: pattern?, actions: actions? }.decode())
        .collect();
    Ok(Some((revision, rules)))
}

async fn scope_map_rules(
    executor: Backend<impl SqliteExecutor<'_>, impl PgExecutor<'_>>,
    scope_map_id: i64,
) -> Result<Vec<Rule>, DbError> {
    let rows: Vec<RuleColumns> = on!(executor, |e| sqlx::query_as(
        "SELECT pattern, actions FROM scope_map_rules WHERE scope_map_id = $1 ORDER BY pattern",
    )
    .bind(scope_map_id)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().filter_map(RuleColumns::decode).collect())
}

/// Every scope map with its rules: system-defined first, then by name.
pub async fn list_scope_maps(db: &Database) -> Result<Vec<ScopeMapRow>, DbError> {
    let mut conn = db.read_connection().await?;
    all_scope_maps_on(conn.conn()).await
}

/// [`list_scope_maps`] inside `tx`.
pub async fn all_scope_maps(tx: &mut Tx) -> Result<Vec<ScopeMapRow>, DbError> {
    all_scope_maps_on(tx.conn()).await
}

async fn all_scope_maps_on(mut conn: Conn<'_>) -> Result<Vec<ScopeMapRow>, DbError> {
    let mut maps: Vec<ScopeMapRow> = on!(conn.reborrow(), |e| sqlx::query_as(&format!(
        "SELECT {SCOPE_MAP_COLUMNS} FROM scope_maps s ORDER BY s.is_system DESC, s.name"
    ))
    .fetch_all(e)
    .await)?;
    let rules: Vec<(i64, String, String)> = on!(conn.reborrow(), |e| sqlx::query_as(
        "SELECT scope_map_id, pattern, actions FROM scope_map_rules ORDER BY pattern"
    )
    .fetch_all(e)
    .await)?;
    for (id, pattern, actions) in rules {
        if let Some(map) = maps.iter_mut().find(|map| map.id == id) {
            map.rules.extend(RuleColumns { pattern, actions }.decode());
        }
    }
    Ok(maps)
}

/// The scope map called `name`, read from the reader pool.
pub async fn scope_map(db: &Database, name: &str) -> Result<Option<ScopeMapRow>, DbError> {
    let mut conn = db.read_connection().await?;
    scope_map_on(conn.conn(), name).await
}

/// The scope map called `name`, inside `tx`.
pub async fn find_scope_map(tx: &mut Tx, name: &str) -> Result<Option<ScopeMapRow>, DbError> {
    scope_map_on(tx.conn(), name).await
}

async fn scope_map_on(mut conn: Conn<'_>, name: &str) -> Result<Option<ScopeMapRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    let map: Option<ScopeMapRow> = on!(conn.reborrow(), |e| sqlx::query_as(&format!(
        "SELECT {SCOPE_MAP_COLUMNS} FROM scope_maps s WHERE s.name = $1"
    ))
    .bind(name)
    .fetch_optional(e)
    .await)?;
    let Some(mut map) = map else { return Ok(None) };
    map.rules = scope_map_rules(conn, map.id).await?;
    Ok(Some(map))
}

/// Inserts a user-defined scope map; `None` when the name is taken.
pub async fn insert_scope_map(
    tx: &mut Tx,
    name: &str,
    description: &str,
    rules: &[Rule],
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbError> {
    let mut conn = tx.conn();
    let revision = next_revision(conn.reborrow()).await?;
    let id: Option<i64> = on!(conn.reborrow(), |e| {
        sqlx::query_scalar(
        "INSERT INTO scope_maps (name, description, is_system, created_at, revision) VALUES ($1, $2, FALSE, $3, $4)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(description)
    .bind(now)
    .bind(revision)
    .fetch_optional(e).await
    })?;
    if let Some(id) = id {
        insert_rules(conn, id, rules).await?;
    }
    Ok(id)
}

async fn insert_rules(mut conn: Conn<'_>, id: i64, rules: &[Rule]) -> Result<(), DbError> {
    for rule in rules {
        on!(conn.reborrow(), |e| sqlx::query(
            "INSERT INTO scope_map_rules (scope_map_id, pattern, actions) VALUES ($1, $2, $3)"
        )
        .bind(id)
        .bind(rule.pattern.as_str())
        .bind(actions_text(rule.actions))
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// The next value of the registry-wide policy revision. Every scope map
/// takes a new one when it is created and whenever its rules change, so a
/// revision names one set of rules of one scope map forever: caches keyed
/// by it cannot hand one map's rules to another (migrations/0004).
async fn next_revision(mut conn: Conn<'_>) -> Result<i64, DbError> {
    Ok(on!(conn.reborrow(), |e| sqlx::query_scalar(
        "UPDATE policy_revision SET value = value + 1 RETURNING value"
    )
    .fetch_one(e)
    .await)?)
}

/// Replaces a scope map's description and rules and gives it a new revision.
pub async fn replace_scope_map(
    tx: &mut Tx,
    id: i64,
    description: &str,
    rules: &[Rule],
) -> Result<(), DbError> {
    let mut conn = tx.conn();
    let revision = next_revision(conn.reborrow()).await?;
    on!(conn.reborrow(), |e| sqlx::query(
        "UPDATE scope_maps SET description = $1, revision = $2 WHERE id = $3"
    )
    .bind(description)
    .bind(revision)
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    on!(conn.reborrow(), |e| sqlx::query("DELETE FROM scope_map_rules WHERE scope_map_id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    insert_rules(conn, id, rules).await
}

pub async fn delete_scope_map(tx: &mut Tx, id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("DELETE FROM scope_maps WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Names of the tokens using a scope map, at most `limit`, by name.
pub async fn tokens_using(tx: &mut Tx, scope_map_id: i64, limit: i64) -> Result<Vec<String>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "SELECT name FROM tokens WHERE scope_map_id = $1 ORDER BY name LIMIT $2"
    )
    .bind(scope_map_id)
    .bind(limit)
    .fetch_all(e)
    .await)?)
}

/// The columns of [`TokenColumns`], as a literal for `concat!`.
macro_rules! token_columns {
    () => {
        "t.id, t.name, t.scope_map_id, s.name AS scope_map_name,
    s.revision AS scope_map_revision, t.enabled, t.created_at, t.last_used_at,
    t.p1_digest, t.p1_created_at, t.p1_expires_at, t.p1_serial, t.p1_version,
    t.p2_digest, t.p2_created_at, t.p2_expires_at, t.p2_serial, t.p2_version"
    };
}
const TOKEN_COLUMNS: &str = token_columns!();

/// A token by name (names compare without case), the statement every
/// request with a token's name and password makes.
const TOKEN_BY_NAME: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM tokens t JOIN scope_maps s ON s.id = t.scope_map_id WHERE t.name = $1"
);

/// A token's row as selected by [`TOKEN_COLUMNS`], before its two slots
/// are put together.
#[derive(sqlx::FromRow)]
struct TokenColumns {
    id: i64,
    name: String,
    scope_map_id: i64,
    scope_map_name: String,
    scope_map_revision: i64,
    enabled: bool,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    p1_digest: Option<Vec<u8>>,
    p1_created_at: Option<DateTime<Utc>>,
    p1_expires_at: Option<DateTime<Utc>>,
    p1_serial: Option<i64>,
    p1_version: Option<String>,
    p2_digest: Option<Vec<u8>>,
    p2_created_at: Option<DateTime<Utc>>,
    p2_expires_at: Option<DateTime<Utc>>,
    p2_serial: Option<i64>,
    p2_version: Option<String>,
}

impl TokenColumns {
    /// The columns as the inline SQLite reader returns them, by their
    /// place in [`TOKEN_COLUMNS`] (looking each up by name cost more than
    /// the rest of the read).
    fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            scope_map_id: row.get(2)?,
            scope_map_name: row.get(3)?,
            scope_map_revision: row.get(4)?,
            enabled: row.get(5)?,
            created_at: row.get::<_, Timestamp>(6)?.0,
            last_used_at: optional_timestamp(row, 7)?,
            p1_digest: row.get(8)?,
            p1_created_at: optional_timestamp(row, 9)?,
            p1_expires_at: optional_timestamp(row, 10)?,
            p1_serial: row.get(11)?,
            p1_version: row.get(12)?,
            p2_digest: row.get(13)?,
            p2_created_at: optional_timestamp(row, 14)?,
            p2_expires_at: optional_timestamp(row, 15)?,
            p2_serial: row.get(16)?,
            p2_version: row.get(17)?,
        })
    }
}

/// The number of columns [`TOKEN_COLUMNS`] selects; a statement's next
/// column is at this index.
const TOKEN_COLUMN_COUNT: usize = 18;

impl From<TokenColumns> for TokenRow {
    fn from(t: TokenColumns) -> Self {
        // A slot holds a password when its digest is set; the other columns
        // are written with it (set_slot).
        let slot = |digest: Option<Vec<u8>>,
                    created_at: Option<DateTime<Utc>>,
                    expires_at,
                    serial: Option<i64>,
                    version| {
            Some(SlotRow { digest: digest?, created_at: created_at?, expires_at, serial: serial?, version })
        };
        TokenRow {
            id: t.id,
            name: t.name,
            scope_map_id: t.scope_map_id,
            scope_map_name: t.scope_map_name,
            scope_map_revision: t.scope_map_revision,
            enabled: t.enabled,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            slots: [
                slot(t.p1_digest, t.p1_created_at, t.p1_expires_at, t.p1_serial, t.p1_version),
                slot(t.p2_digest, t.p2_created_at, t.p2_expires_at, t.p2_serial, t.p2_version),
            ],
        }
    }
}

/// The token called `name` (names compare without case), read outside
/// any transaction.
pub async fn token(db: &Database, name: &str) -> Result<Option<TokenRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    let row: Option<TokenColumns> = hot_read!(db, TOKEN_BY_NAME, [name], TokenColumns::from_inline);
    Ok(row.map(TokenRow::from))
}

/// The token called `name` and the registry's policy revision, read in
/// one statement: a request with a token's bearer token needs both, and
/// one round trip instead of two is most of what it costs the database.
pub async fn token_and_policy_revision(
    db: &Database,
    name: &str,
) -> Result<Option<(TokenRow, i64)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct WithRevision {
        #[sqlx(flatten)]
        token: TokenColumns,
        policy_revision: i64,
    }
    if super::unstorable(name) {
        return Ok(None);
    }
    const SQL: &str = concat!(
        "SELECT ",
        token_columns!(),
        ", (SELECT value FROM policy_revision) AS policy_revision
         FROM tokens t JOIN scope_maps s ON s.id = t.scope_map_id WHERE t.name = $1"
    );
    let row: Option<WithRevision> = hot_read!(db, SQL, [name], |row| {
        Ok(WithRevision {
            token: TokenColumns::from_inline(row)?,
            policy_revision: row.get(TOKEN_COLUMN_COUNT)?,
        })
    });
    Ok(row.map(|row| (TokenRow::from(row.token), row.policy_revision)))
}

/// What a request with a token's bearer token needs of the token's row:
/// the token was issued from one password slot, which must still hold
/// the same generation of password, unexpired, and the token must be
/// enabled; its scope map's rules are cached by the map's revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStanding {
    pub enabled: bool,
    pub scope_map_id: i64,
    pub scope_map_revision: i64,
    /// Each slot's (serial, expiry) while it holds a password.
    pub slots: [Option<(i64, Option<DateTime<Utc>>)>; 2],
}

/// The [`TokenStanding`] of the token called `name` and the registry's
/// policy revision, in one statement of eight narrow columns: the
/// statement every request with a bearer token makes (the whole row, with
/// its digests, names and six timestamps, is for sign-ins).
pub async fn token_standing_and_policy_revision(
    db: &Database,
    name: &str,
) -> Result<Option<(TokenStanding, i64)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Standing {
        enabled: bool,
        scope_map_id: i64,
        scope_map_revision: i64,
        p1_serial: Option<i64>,
        p1_expires_at: Option<DateTime<Utc>>,
        p2_serial: Option<i64>,
        p2_expires_at: Option<DateTime<Utc>>,
        policy_revision: i64,
    }
    if super::unstorable(name) {
        return Ok(None);
    }
    // A slot's columns are written together (set_slot): it holds a
    // password when its digest is set.
    const SQL: &str = "SELECT t.enabled, t.scope_map_id, s.revision AS scope_map_revision,
         CASE WHEN t.p1_digest IS NOT NULL THEN t.p1_serial END AS p1_serial, t.p1_expires_at,
         CASE WHEN t.p2_digest IS NOT NULL THEN t.p2_serial END AS p2_serial, t.p2_expires_at,
         (SELECT value FROM policy_revision) AS policy_revision
         FROM tokens t JOIN scope_maps s ON s.id = t.scope_map_id WHERE t.name = $1";
    let row: Option<Standing> = hot_read!(db, SQL, [name], |row| {
        // By place, as selected above.
        Ok(Standing {
            enabled: row.get(0)?,
            scope_map_id: row.get(1)?,
            scope_map_revision: row.get(2)?,
            p1_serial: row.get(3)?,
            p1_expires_at: optional_timestamp(row, 4)?,
            p2_serial: row.get(5)?,
            p2_expires_at: optional_timestamp(row, 6)?,
            policy_revision: row.get(7)?,
        })
    });
    Ok(row.map(|row| {
        let standing = TokenStanding {
            enabled: row.enabled,
            scope_map_id: row.scope_map_id,
            scope_map_revision: row.scope_map_revision,
            slots: [
                row.p1_serial.map(|serial| (serial, row.p1_expires_at)),
                row.p2_serial.map(|serial| (serial, row.p2_expires_at)),
            ],
        };
        (standing, row.policy_revision)
    }))
}

/// The token called `name`, inside `tx`.
pub async fn find_token(tx: &mut Tx, name: &str) -> Result<Option<TokenRow>, DbError> {
    token_on(tx.conn(), name).await
}

async fn token_on(
    executor: Backend<impl SqliteExecutor<'_>, impl PgExecutor<'_>>,
    name: &str,
) -> Result<Option<TokenRow>, DbError> {
    if super::unstorable(name) {
        return Ok(None);
    }
    let row: Option<TokenColumns> =
        on!(executor, |e| sqlx::query_as(TOKEN_BY_NAME).bind(name).fetch_optional(e).await)?;
    Ok(row.map(TokenRow::from))
}

/// One page of tokens by name, A→Z or Z→A: those whose name starts with
/// `prefix` (without case), after `after` in that order, at most `limit`.
/// Walks the name index in either direction.
pub async fn list_tokens(
    db: &Database,
    prefix: &str,
    after: Option<&str>,
    limit: i64,
    descending: bool,
) -> Result<Vec<TokenRow>, DbError> {
    // A prefix range on the NOCASE index: [prefix, prefix + U+10FFFF).
    let upper = format!("{prefix}\u{10FFFF}");
    let (beyond, order) = if descending { ("<", "DESC") } else { (">", "ASC") };
    let rows: Vec<TokenColumns> = on!(db.reader(), |e| sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens t JOIN scope_maps s ON s.id = t.scope_map_id
         WHERE t.name >= $1 AND t.name < $2 AND ($3 IS NULL OR t.name {beyond} $4)
         ORDER BY t.name {order} LIMIT $5"
    ))
    .bind(prefix)
    .bind(upper)
    .bind(after)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(TokenRow::from).collect())
}

pub async fn count_tokens(db: &Database) -> Result<i64, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_scalar("SELECT COUNT(*) FROM tokens").fetch_one(e).await)?)
}

/// Inserts a token without passwords; `None` when the name is taken.
pub async fn insert_token(
    tx: &mut Tx,
    name: &str,
    scope_map_id: i64,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbError> {
    Ok(on!(tx.conn(), |e| sqlx::query_scalar(
        "INSERT INTO tokens (name, scope_map_id, enabled, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(scope_map_id)
    .bind(enabled)
    .bind(now)
    .fetch_optional(e)
    .await)?)
}

pub async fn update_token(tx: &mut Tx, id: i64, enabled: bool, scope_map_id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("UPDATE tokens SET enabled = $1, scope_map_id = $2 WHERE id = $3")
        .bind(enabled)
        .bind(scope_map_id)
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Stores (or with `None` clears) password slot `slot` (0 or 1).
pub async fn set_slot(tx: &mut Tx, id: i64, slot: usize, value: Option<&SlotRow>) -> Result<(), DbError> {
    let prefix = ["p1", "p2"][slot];
    on!(tx.conn(), |e| sqlx::query(&format!(
        "UPDATE tokens SET {prefix}_digest = $1, {prefix}_created_at = $2, {prefix}_expires_at = $3,
         {prefix}_serial = $4, {prefix}_version = $5 WHERE id = $6"
    ))
    .bind(value.map(|slot| slot.digest.as_slice()))
    .bind(value.map(|slot| slot.created_at))
    .bind(value.and_then(|slot| slot.expires_at))
    .bind(value.map(|slot| slot.serial))
    .bind(value.and_then(|slot| slot.version.as_deref()))
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Sets the expiry of password slot `slot` (0 or 1), which keeps its
/// password; whether the slot holds one.
pub async fn set_slot_expiry(
    tx: &mut Tx,
    id: i64,
    slot: usize,
    expiry: Option<DateTime<Utc>>,
) -> Result<bool, DbError> {
    let prefix = ["p1", "p2"][slot];
    let result = on!(tx.conn(), |e| sqlx::query(&format!(
        "UPDATE tokens SET {prefix}_expires_at = $1 WHERE id = $2 AND {prefix}_digest IS NOT NULL"
    ))
    .bind(expiry)
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(result > 0)
}

/// Every token, by name, inside `tx`.
pub async fn all_tokens(tx: &mut Tx) -> Result<Vec<TokenRow>, DbError> {
    let rows: Vec<TokenColumns> = on!(tx.conn(), |e| sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens t JOIN scope_maps s ON s.id = t.scope_map_id ORDER BY t.name"
    ))
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(TokenRow::from).collect())
}

pub async fn delete_token(tx: &mut Tx, id: i64) -> Result<(), DbError> {
    on!(tx.conn(), |e| sqlx::query("DELETE FROM tokens WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A line for the audit log.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    pub caller: String,
    pub token: Option<String>,
    pub repository: Option<String>,
    pub action: String,
    pub outcome: &'static str,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// Rows per INSERT statement: 8 parameters each, well under SQLite's and
/// PostgreSQL's (65,535) limits.
const AUDIT_ROWS_PER_INSERT: usize = 500;

/// Appends audit entries and records tokens' last use, in one transaction.
pub async fn append_audit(
    db: &Database,
    entries: &[NewAuditEntry],
    last_used: &[(String, DateTime<Utc>)],
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    // One multi-row INSERT per chunk: a statement per entry could not keep
    // up with thousands of logins a second.
    for chunk in entries.chunks(AUDIT_ROWS_PER_INSERT) {
        on!(tx.conn(), |e| {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO audit_log (at, caller, token, repository, action, outcome, detail, request_id) ",
            );
            insert.push_values(chunk, |mut row, entry| {
                row.push_bind(entry.at)
                    .push_bind(&entry.caller)
                    .push_bind(&entry.token)
                    .push_bind(&entry.repository)
                    .push_bind(&entry.action)
                    .push_bind(entry.outcome)
                    .push_bind(&entry.detail)
                    .push_bind(&entry.request_id);
            });
            insert.build().execute(e).await.map(|done| done.rows_affected())
        })?;
    }
    for (name, at) in last_used {
        on!(tx.conn(), |e| {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE name = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(at)
            .bind(name)
            .bind(at)
            .execute(e).await.map(|done| done.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// Newest first, before entry `before`, optionally for one token.
/// One token's entries of one action since `since`, newest first (the
/// token's index, read backwards until an entry is older).
pub async fn list_token_action(
    db: &Database,
    token: &str,
    action: &str,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(
        "SELECT id, at, caller, token, repository, action, outcome, detail, request_id FROM audit_log
         WHERE token = $1 AND action = $2 AND at >= $3 ORDER BY id DESC LIMIT $4",
    )
    .bind(token)
    .bind(action)
    .bind(since)
    .bind(limit)
    .fetch_all(e)
    .await)?)
}

pub async fn list_audit(
    db: &Database,
    token: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    Ok(on!(db.reader(), |e| sqlx::query_as(
        "SELECT id, at, caller, token, repository, action, outcome, detail, request_id FROM audit_log
         WHERE ($1 IS NULL OR token = $1) AND ($2 IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(token)
    .bind(before)
    .bind(limit)
    .fetch_all(e)
    .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_column_count_matches_the_columns() {
        assert_eq!(TOKEN_COLUMNS.split(',').count(), TOKEN_COLUMN_COUNT);
    }
}
