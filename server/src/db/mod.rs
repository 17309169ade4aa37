//! The database: connection pools and every SQL query of the program (one
//! submodule per table family). Nothing outside `db` writes SQL; `db` must
//! not call services or HTTP code.

pub mod federation;
pub mod identities;
pub mod keys;
pub mod registry;
pub mod repositories;
pub mod tokens;
pub mod users;

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Connection as _, SqliteConnection, SqlitePool,
};

/// SQLite allows one writer at a time: writes go through a one-connection
/// pool so they queue in the program instead of failing on a busy lock;
/// reads use a pool of their own (WAL lets them run beside the writer).
#[derive(Clone, Debug)]
pub struct Database {
    writer: SqlitePool,
    reader: SqlitePool,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The disk holding the database is full (`SQLITE_FULL`): the
    /// statement's transaction was rolled back, so nothing of it was kept,
    /// and the same change works once space is freed.
    #[error("the database's disk is full: {0}")]
    Full(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Sqlx(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// SQLite's result code for "database or disk is full"
/// (<https://www.sqlite.org/rescode.html#full>): it reports `ENOSPC` on
/// any of its files (database, WAL, shared memory, temporary files) so.
const SQLITE_FULL: &str = "13";

impl From<sqlx::Error> for DbError {
    /// Every driver error passes here, so a full disk is told apart once.
    fn from(error: sqlx::Error) -> Self {
        let full = match &error {
            sqlx::Error::Database(database) => database.code().as_deref() == Some(SQLITE_FULL),
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

impl Database {
    /// Opens (creating if needed) `<data_dir>/portcullis.db` and applies the
    /// embedded migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, DbError> {
        let path = data_dir.join("portcullis.db");
        // It holds live session ids and password digests: the owner only.
        // SQLite gives the -wal and -shm files the database file's mode.
        owner_only(&path).map_err(|e| DbError::from(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across process crashes; FULL also
            // survives power loss at a small cost per commit.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = pool_options().max_connections(1).connect_with(options.clone()).await?;
        MIGRATOR.run(&writer).await?;
        let reader = pool_options().max_connections(8).connect_with(options.read_only(true)).await?;
        Ok(Self { writer, reader })
    }

    /// The writer pool, for the portal's session store (which brings its
    /// own SQL).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// (pool, connections in use, idle connections) of the writer and the
    /// reader pools, for `/metrics`.
    pub fn pool_use(&self) -> [(&'static str, u64, u64); 2] {
        let usage = |name, pool: &SqlitePool| {
            let idle = pool.num_idle() as u64;
            (name, u64::from(pool.size()).saturating_sub(idle), idle)
        };
        [usage("writer", &self.writer), usage("reader", &self.reader)]
    }

    /// Whether the database answers (`/readyz`): one trivial query on the
    /// reader pool.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// A read-only transaction on the reader pool: every read inside it sees
    /// one committed state, and it never waits for (or holds up) a writer.
    pub async fn begin_read(&self) -> Result<Tx, DbError> {
        Ok(Tx(self.reader.begin().await?))
    }

    /// A transaction on the writer: reads inside it see the latest state and
    /// no other write interleaves until it commits.
    ///
    /// It takes the write lock at once (`BEGIN IMMEDIATE`). A deferred
    /// transaction that reads and then writes fails at once with "database
    /// is locked" when another process (`portcullis gc`, a second server on
    /// the same file) committed in between, without waiting for the busy
    /// timeout; an immediate one waits its turn.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(Tx(self.begin_write().await?))
    }

    /// The driver's transaction behind [`Self::begin`], for this layer's
    /// own multi-statement writes.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

/// The options of both pools: a connection whose last transaction did not
/// end is closed instead of handed out again.
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
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().before_acquire(|connection, _| {
        Box::pin(async move {
            let stuck = connection.is_in_transaction();
            if stuck {
                tracing::warn!("closing a database connection left inside a failed transaction");
            }
            Ok(!stuck)
        })
    })
}

/// A write transaction. Services hold it across the reads and writes of
/// one change and commit it; only `db` sees the driver inside, so another
/// database can be put behind it without touching a service. Dropped
/// without [`Tx::commit`], it rolls back.
pub struct Tx(sqlx::Transaction<'static, sqlx::Sqlite>);

impl Tx {
    pub async fn commit(self) -> Result<(), DbError> {
        Ok(self.0.commit().await?)
    }

    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
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
