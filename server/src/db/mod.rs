//! The database: connection pools and every SQL query of the program (one
//! submodule per table family). Nothing outside `db` writes SQL; `db` must
//! not call services or HTTP code.

pub mod federation;
pub mod identities;
mod inline;
pub mod keys;
mod readers;
pub mod registry;
pub mod repositories;
pub mod sessions;
pub mod tokens;
pub mod users;

use std::{fmt, path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Connection as _, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool,
};

/// One of the two databases: SQLite (one machine, zero configuration) or
/// PostgreSQL (several replicas, SPEC §4). A pool, a connection or a
/// transaction of either; [`on!`] runs one query body against whichever it
/// is, compiled once per driver, so a query is written once.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend<S, P> {
    Sqlite(S),
    Postgres(P),
}

/// Runs `body` with `e` bound to the SQLite or the PostgreSQL side of a
/// [`Backend`] (a pool, a connection). The body is compiled for each
/// driver; it must not name one. Inside a connection's body, a second
/// statement reborrows with `&mut *e`. `|e, dialect|` also binds the
/// [`Dialect`], for the few statements whose text differs.
macro_rules! on {
    ($target:expr, |$e:ident| $body:expr) => {
        match $target {
            $crate::db::Backend::Sqlite($e) => $body,
            $crate::db::Backend::Postgres($e) => $body,
        }
    };
    ($target:expr, |$e:ident, $dialect:ident| $body:expr) => {
        match $target {
            $crate::db::Backend::Sqlite($e) => {
                let $dialect = $crate::db::Dialect::Sqlite;
                $body
            }
            $crate::db::Backend::Postgres($e) => {
                let $dialect = $crate::db::Dialect::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on;

/// One of the reads every request makes (see [`inline`]): `$sql`, with its
/// parameters `$1`, `$2` bound to the listed values, yielding at most one
/// row. On SQLite it runs on the request's thread and `$map` reads the row
/// by place; on PostgreSQL it runs on sqlx's reader pool and the row
/// decodes through `sqlx::FromRow` into the same type. Returns from the
/// calling function with its [`DbError`] when the read fails.
macro_rules! hot_read {
    ($db:expr, $sql:expr, [$($param:expr),+], $map:expr) => {
        match $db.inline() {
            $crate::db::Backend::Sqlite(inline) => {
                inline.optional($sql, &[$(&$param as &dyn rusqlite::ToSql),+], $map)?
            }
            $crate::db::Backend::Postgres(pool) => {
                sqlx::query_as($sql)$(.bind($param))+.fetch_optional(pool).await?
            }
        }
    };
}
pub(crate) use hot_read;

/// Which SQL dialect a statement is sent in. Most statements are one text
/// for both (numbered `$N` parameters, `ON CONFLICT`, `RETURNING`,
/// `IS NOT DISTINCT FROM`, `TRUE`/`FALSE` and the `nocase` collation
/// exist in both); where they differ, both texts stand side by side
/// through [`Dialect::pick`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn pick<T>(self, sqlite: T, postgres: T) -> T {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }
}

type Pool = Backend<SqlitePool, PgPool>;

/// A connection of either driver, borrowed for a few statements.
pub(crate) type Conn<'c> = Backend<&'c mut SqliteConnection, &'c mut PgConnection>;

impl Conn<'_> {
    /// The same connection for one more call (a `&mut` reborrow).
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Backend::Sqlite(c) => Backend::Sqlite(&mut **c),
            Backend::Postgres(c) => Backend::Postgres(&mut **c),
        }
    }
}

/// A connection taken from a pool for several statements.
pub(crate) type PooledConn = Backend<PoolConnection<Sqlite>, PoolConnection<Postgres>>;

impl PooledConn {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Backend::Sqlite(c) => Backend::Sqlite(&mut **c),
            Backend::Postgres(c) => Backend::Postgres(&mut **c),
        }
    }
}

/// SQLite allows one writer at a time: writes go through a one-connection
/// pool so they queue in the program instead of failing on a busy lock;
/// reads use connections of their own (WAL lets them run beside the
/// writer): single statements [`readers::SqliteReaders`], read transactions
/// a pool.
///
/// On PostgreSQL both pools hold several connections; the reader's are
/// read-only (`default_transaction_read_only`), and a write transaction
/// ([`Database::begin`]) takes one registry-wide lock so that, as on
/// SQLite, no other write transaction interleaves with it.
#[derive(Clone)]
pub struct Database {
    writer: Pool,
    reader: Pool,
    /// SQLite's connections for single read statements (`reader()`); on
    /// PostgreSQL those use the reader pool.
    statements: Option<Arc<readers::SqliteReaders>>,
    /// SQLite's connections for the statements every request makes
    /// (`inline()`), run on the request's thread.
    inline: Option<Arc<inline::InlineReaders>>,
}

/// Names the driver only: pool internals never reach a log.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database").field("dialect", &self.dialect()).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The disk holding the database is full (`SQLITE_FULL`, PostgreSQL's
    /// `disk_full`): the statement's transaction was rolled back, so
    /// nothing of it was kept, and the same change works once space is
    /// freed.
    #[error("the database's disk is full: {0}")]
    Full(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Sqlx(#[source] sqlx::Error),
    /// A read on the request's own thread ([`inline`]); reads cannot
    /// fill a disk, so this is never [`DbError::Full`].
    #[error("database error: {0}")]
    Inline(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// SQLite's result code for "database or disk is full"
/// (<https://www.sqlite.org/rescode.html#full>): it reports `ENOSPC` on
/// any of its files (database, WAL, shared memory, temporary files) so.
const SQLITE_FULL: &str = "13";

/// PostgreSQL's SQLSTATE `disk_full` (class 53, insufficient resources).
const POSTGRES_DISK_FULL: &str = "53100";

impl From<sqlx::Error> for DbError {
    /// Every driver error passes here, so a full disk is told apart once.
    fn from(error: sqlx::Error) -> Self {
        let full = match &error {
            sqlx::Error::Database(database) => {
                matches!(database.code().as_deref(), Some(SQLITE_FULL | POSTGRES_DISK_FULL))
            }
            sqlx::Error::Io(io) => {
                matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
            }
            _ => false,
        };
        if full {
            Self::Full(error)
        } else {
            Self::Sqlx(error)
        }
    }
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The same schema for PostgreSQL: one file per SQLite migration, with the
/// same number and meaning (migrations/postgres/README.md).
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Where the database is: `--database-url`. Its `Debug` and `Display`
/// hide the password a PostgreSQL URL may carry.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (or `sqlite:PATH`).
    Sqlite { options: Box<SqliteConnectOptions>, shown: String },
    /// `postgres://` or `postgresql://`, as libpq reads it.
    Postgres { options: Box<PgConnectOptions>, shown: String },
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let shown = redact_password(url);
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|error| format!("cannot read the SQLite URL {shown}: {error}"))?;
            Ok(Self::Sqlite { options: Box::new(options), shown })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|error| format!("cannot read the PostgreSQL URL {shown}: {error}"))?;
            Ok(Self::Postgres { options: Box::new(options), shown })
        } else {
            Err(format!("the database URL must start with sqlite:// or postgres://, got {shown}"))
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { shown, .. } | Self::Postgres { shown, .. } => f.write_str(shown),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `scheme://user:password@host/...` shown as `scheme://user:***@host/...`;
/// a `password=` query parameter is hidden the same way.
fn redact_password(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut shown = match head.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rsplit_once('@') {
                Some((user_info, host)) => {
                    let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
                    let hidden = if user_info.contains(':') { ":***" } else { "" };
                    format!("{scheme}://{user}{hidden}@{host}{}", &rest[authority_end..])
                }
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

impl Database {
    /// Opens (creating if needed) `<data_dir>/portcullis.db` and applies the
    /// embedded migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?.filename(data_dir.join("portcullis.db"));
        Self::open_sqlite(options).await
    }

    /// Opens the database `url` names, or without one the data directory's
    /// SQLite file ([`Self::open`]), and applies the migrations of its
    /// driver.
    pub async fn connect(url: Option<&DatabaseUrl>, data_dir: &Path) -> Result<Self, DbError> {
        match url {
            None => Self::open(data_dir).await,
            Some(DatabaseUrl::Sqlite { options, .. }) => Self::open_sqlite((**options).clone()).await,
            Some(DatabaseUrl::Postgres { options, .. }) => Self::open_postgres((**options).clone()).await,
        }
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> Result<Self, DbError> {
        // It holds live session ids and password digests: the owner only.
        // SQLite gives the -wal and -shm files the database file's mode.
        owner_only(options.get_filename()).map_err(|e| DbError::from(sqlx::Error::Io(e)))?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across process crashes; FULL also
            // survives power loss at a small cost per commit.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = sqlite_pool_options().max_connections(1).connect_with(options.clone()).await?;
        MIGRATOR.run(&writer).await?;
        // The readers skip the ping before each reuse: it is one more round
        // trip to the connection's worker thread per query, a read-only
        // connection has no COMMIT that can fail, and an in-process
        // database cannot have gone away. (A connection handed back with its
        // snapshot's ROLLBACK still queued looks inside a transaction to
        // the guard and is replaced: a new connection, never a wrong read.)
        let reader = sqlite_pool_options()
            .test_before_acquire(false)
            .max_connections(8)
            .connect_with(options.clone().read_only(true))
            .await?;
        let inline = Arc::new(inline::InlineReaders::new(options.get_filename()));
        let statements = readers::SqliteReaders::new(options.read_only(true), 8);
        Ok(Self {
            writer: Backend::Sqlite(writer),
            reader: Backend::Sqlite(reader),
            statements: Some(statements),
            inline: Some(inline),
        })
    }

    async fn open_postgres(options: PgConnectOptions) -> Result<Self, DbError> {
        let writer = postgres_pool_options().max_connections(8).connect_with(options.clone()).await?;
        POSTGRES_MIGRATOR.run(&writer).await?;
        let reader = postgres_pool_options()
            .max_connections(8)
            .connect_with(options.options([("default_transaction_read_only", "on")]))
            .await?;
        Ok(Self {
            writer: Backend::Postgres(writer),
            reader: Backend::Postgres(reader),
            statements: None,
            inline: None,
        })
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self.writer {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The portal's session store on the writer pool (it brings its own
    /// SQL and table, `portal_sessions`), created if missing.
    pub async fn session_store(&self) -> Result<sessions::PortalSessions, String> {
        sessions::PortalSessions::open(&self.writer).await
    }

    /// Where a single read statement runs: SQLite's statement readers, or
    /// PostgreSQL's reader pool.
    pub(crate) fn reader(&self) -> Backend<&readers::SqliteReaders, &PgPool> {
        match (&self.reader, &self.statements) {
            (Backend::Postgres(pool), _) => Backend::Postgres(pool),
            (Backend::Sqlite(_), Some(statements)) => Backend::Sqlite(statements),
            (Backend::Sqlite(_), None) => unreachable!("a SQLite database opens its statement readers"),
        }
    }

    /// Where a statement that every request makes runs: on SQLite, on the
    /// request's own thread ([`inline`]); on PostgreSQL, the reader pool.
    /// The caller writes the statement once and runs it on either.
    pub(crate) fn inline(&self) -> Backend<&inline::InlineReaders, &PgPool> {
        match (&self.reader, &self.inline) {
            (Backend::Postgres(pool), _) => Backend::Postgres(pool),
            (Backend::Sqlite(_), Some(inline)) => Backend::Sqlite(inline),
            (Backend::Sqlite(_), None) => unreachable!("a SQLite database opens its inline readers"),
        }
    }

    /// A reader connection for several statements.
    pub(crate) async fn read_connection(&self) -> Result<PooledConn, DbError> {
        Ok(match &self.reader {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.acquire().await?),
            Backend::Postgres(pool) => Backend::Postgres(pool.acquire().await?),
        })
    }

    /// (pool, connections in use, idle connections) of the writer and the
    /// readers (SQLite's statement readers counted with the reader pool),
    /// for `/metrics`.
    pub fn pool_use(&self) -> [(&'static str, u64, u64); 2] {
        let usage = |pool: &Pool| {
            let (size, idle) = match pool {
                Backend::Sqlite(pool) => (pool.size(), pool.num_idle()),
                Backend::Postgres(pool) => (pool.size(), pool.num_idle()),
            };
            let idle = idle as u64;
            (u64::from(size).saturating_sub(idle), idle)
        };
        let (writer_in_use, writer_idle) = usage(&self.writer);
        let (mut reader_in_use, mut reader_idle) = usage(&self.reader);
        if let Some(statements) = &self.statements {
            let (in_use, idle) = statements.usage();
            reader_in_use += in_use;
            reader_idle += idle;
        }
        if let Some(inline) = &self.inline {
            let (in_use, idle) = inline.usage();
            reader_in_use += in_use;
            reader_idle += idle;
        }
        [("writer", writer_in_use, writer_idle), ("reader", reader_in_use, reader_idle)]
    }

    /// Whether the database answers (`/readyz`): one trivial query on the
    /// reader pool.
    pub async fn ping(&self) -> Result<(), DbError> {
        on!(self.reader(), |e| sqlx::query("SELECT 1").execute(e).await.map(|_| ()))?;
        Ok(())
    }

    /// A read-only transaction on the reader pool: every read inside it sees
    /// one committed state, and it never waits for (or holds up) a writer.
    /// (PostgreSQL: `REPEATABLE READ READ ONLY`, one snapshot for the whole
    /// transaction.)
    pub async fn begin_read(&self) -> Result<Tx, DbError> {
        Ok(Tx(match &self.reader {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.begin().await?),
            Backend::Postgres(pool) => {
                Backend::Postgres(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
            }
        }))
    }

    /// A transaction on the writer: reads inside it see the latest state and
    /// no other write interleaves until it commits.
    ///
    /// It takes the write lock at once (`BEGIN IMMEDIATE`). A deferred
    /// transaction that reads and then writes fails at once with "database
    /// is locked" when another process (`portcullis gc`, a second server on
    /// the same file) committed in between, without waiting for the busy
    /// timeout; an immediate one waits its turn.
    ///
    /// On PostgreSQL it takes a transaction-scoped advisory lock
    /// ([`WRITE_LOCK`]) first, which every replica's write transactions
    /// share: they run one after another as on SQLite, so a change that
    /// reads and then writes (a scope map edit, `portcullis apply`, garbage
    /// collection against a push) cannot interleave with another.
    ///
    /// Every write goes through here, a single statement too: there is no
    /// handle on the writer pool outside a transaction. On PostgreSQL a
    /// lone `DELETE` on a pooled connection skipped the lock and could land
    /// inside another replica's change (a manifest deleted between a
    /// push's insert and its tag: a foreign-key failure, 500).
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match &self.writer {
            Backend::Sqlite(pool) => Tx(Backend::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK).execute(&mut *tx).await?;
                Tx(Backend::Postgres(tx))
            }
        })
    }
}

/// The advisory lock key of PostgreSQL write transactions (any fixed
/// number no other program on the database uses: "portcull" in ASCII).
const WRITE_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// The options of both SQLite pools: a connection whose last transaction
/// did not end is closed instead of handed out again.
///
/// sqlx counts a connection's transaction depth itself. When COMMIT fails
/// with `SQLITE_FULL` (or an I/O error), SQLite has already rolled the
/// transaction back, so the ROLLBACK that sqlx sends next fails ("no
/// transaction is active") and its count stays at 1: every later `begin`
/// on that connection failed with "attempted to call begin_with at
/// non-zero transaction depth", and one full disk left the registry unable
/// to write anything until it was restarted. The ping before each reuse
/// (`test_before_acquire`, on by default) is answered after any rollback
/// still queued, so the depth read here is settled.
fn sqlite_pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().before_acquire(|connection, _| {
        Box::pin(async move { Ok(!stuck_in_transaction(connection.is_in_transaction())) })
    })
}

/// The same guard for PostgreSQL connections.
fn postgres_pool_options() -> PgPoolOptions {
    PgPoolOptions::new().before_acquire(|connection, _| {
        Box::pin(async move { Ok(!stuck_in_transaction(connection.is_in_transaction())) })
    })
}

fn stuck_in_transaction(stuck: bool) -> bool {
    if stuck {
        tracing::warn!("closing a database connection left inside a failed transaction");
    }
    stuck
}

/// A write transaction. Services hold it across the reads and writes of
/// one change and commit it; only `db` sees the driver inside, so services
/// work on either database unchanged. Dropped without [`Tx::commit`], it
/// rolls back.
pub struct Tx(Backend<sqlx::Transaction<'static, Sqlite>, sqlx::Transaction<'static, Postgres>>);

impl Tx {
    pub async fn commit(self) -> Result<(), DbError> {
        match self.0 {
            Backend::Sqlite(tx) => tx.commit().await?,
            Backend::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            Backend::Sqlite(tx) => Backend::Sqlite(&mut **tx),
            Backend::Postgres(tx) => Backend::Postgres(&mut **tx),
        }
    }
}

/// Whether `text` can never be stored: PostgreSQL's text holds no NUL
/// character (SQLite's can, but every stored name was checked when it was
/// created and has none). A lookup of such a name finds nothing on either
/// database without asking, instead of PostgreSQL's encoding error.
fn unstorable(text: &str) -> bool {
    text.contains('\0')
}

/// Creates `path` readable and writable by its owner only, or takes the
/// group's and others' permissions away from an existing file.
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled SQLite is compiled as `.cargo/config.toml` says (its
    /// `LIBSQLITE3_FLAGS`): a build that missed them would still work, only
    /// with two process-wide mutexes on every statement again.
    #[test]
    fn sqlite_is_compiled_without_its_process_wide_mutexes() {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        let options: Vec<String> = connection
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let missed = "built without .cargo/config.toml's LIBSQLITE3_FLAGS (run cargo from the workspace)";
        assert!(!options.iter().any(|option| option == "ENABLE_MEMORY_MANAGEMENT"), "{missed}: {options:?}");
        assert!(options.iter().any(|option| option == "DEFAULT_MEMSTATUS=0"), "{missed}: {options:?}");
    }

    #[test]
    fn a_database_url_never_shows_its_password() {
        let url: DatabaseUrl =
            "postgres://registry:s3cret-Pw@db.example:5432/portcullis?sslmode=require&password=other"
                .parse()
                .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret-Pw") && !shown.contains("other"), "{shown}");
        assert!(
            shown.contains("postgres://registry:***@db.example:5432/portcullis?sslmode=require&password=***")
        );
        let plain: DatabaseUrl = "postgresql://db.example/portcullis".parse().unwrap();
        assert_eq!(plain.to_string(), "postgresql://db.example/portcullis");
    }

    #[test]
    fn a_database_url_names_its_driver() {
        assert!(matches!("sqlite:///srv/registry/portcullis.db".parse(), Ok(DatabaseUrl::Sqlite { .. })));
        assert!(matches!("postgres://u@h/d".parse(), Ok(DatabaseUrl::Postgres { .. })));
        let refused = "mysql://u:hidden-pw@h/d".parse::<DatabaseUrl>().unwrap_err();
        assert!(refused.contains("sqlite:// or postgres://") && !refused.contains("hidden-pw"), "{refused}");
    }
}
