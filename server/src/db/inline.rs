//! SQLite's hottest reads, run on the calling thread.
//!
//! Every request reads its credential's row with the policy revision, and a
//! manifest GET or blob HEAD one more row; nothing else. Through sqlx each
//! of these statements is a round trip to the connection's worker thread
//! (sqlx runs a SQLite connection on a thread of its own), and those thread
//! switches were the largest part of a small request's CPU
//! (docs/BENCHMARKS.md, the perf profiles). An indexed lookup in a
//! database whose pages are in memory takes a few microseconds: less than
//! the switch. So these few statements run here, on a connection of this
//! module, on the thread of the request, with rusqlite. The statement is
//! prepared once per connection and kept in its statement cache.
//!
//! The connections are read-only and outside any transaction between
//! statements. WAL lets a reader run beside the writer without waiting; the
//! only waits left are SQLite's own short ones (recovering the WAL index
//! after another process crashed), bounded by [`BUSY_TIMEOUT`]. A
//! connection whose statement failed is closed, not reused.
//!
//! Everything else keeps sqlx (`readers`, the pools): only statements that
//! every request makes earn a second way of reading. The PostgreSQL side of
//! each of these statements is the same SQL on sqlx's reader pool.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard, PoisonError,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use rusqlite::{
    types::{FromSql, FromSqlResult, ValueRef},
    Connection, OpenFlags, OptionalExtension as _, Params, Row,
};

use super::DbError;

/// How long a read waits for a lock SQLite holds only briefly in WAL mode.
/// It blocks the request's thread while it waits, so it is short; the
/// request fails with the database error after it.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// Idle connections kept; more are opened when more threads read at once
/// (each thread runs one statement at a time) and closed after.
const KEEP_IDLE: usize = 16;

/// Prepared statements kept per connection: the few of this module, with
/// room.
const STATEMENT_CACHE: usize = 16;

pub(crate) struct InlineReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    in_use: AtomicU64,
}

impl fmt::Debug for InlineReaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (in_use, idle) = self.usage();
        f.debug_struct("InlineReaders").field("in_use", &in_use).field("idle", &idle).finish_non_exhaustive()
    }
}

impl InlineReaders {
    /// Readers of the SQLite database file at `path` (which exists: the
    /// writer created it and ran the migrations).
    pub(crate) fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), idle: Mutex::new(Vec::new()), in_use: AtomicU64::new(0) }
    }

    /// (connections running a statement, idle connections).
    pub(crate) fn usage(&self) -> (u64, u64) {
        (self.in_use.load(Ordering::Relaxed), self.idle_list().len() as u64)
    }

    fn idle_list(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A panic while the list was held leaves whole connections.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }

    /// Runs `read` on an idle connection (or a new one). The connection
    /// goes back to the idle list only when `read` succeeded.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let idle = self.idle_list().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        self.in_use.fetch_add(1, Ordering::Relaxed);
        let result = read(&connection);
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        let value = result?;
        let mut idle = self.idle_list();
        if idle.len() < KEEP_IDLE {
            idle.push(connection);
        }
        Ok(value)
    }

    /// The one row `sql` selects with `params`, mapped by `map`, or `None`.
    /// `sql` numbers its parameters `$1`, `$2`… as everywhere in `db`;
    /// `params` names them (`rusqlite::named_params! { "$1": name }`).
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, DbError> {
        self.with_connection(|connection| connection.prepare_cached(sql)?.query_row(params, map).optional())
    }

    /// The one row `sql` selects, which must be there.
    pub(crate) fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.with_connection(|connection| connection.prepare_cached(sql)?.query_row(params, map))
    }
}

/// A timestamp column. sqlx writes `DateTime<Utc>` on SQLite as RFC 3339
/// (`2026-12-03T19:39:08.259646415+00:00`), which chrono's RFC 3339 parser
/// reads directly; rusqlite's own conversion goes through a format string
/// each time, which was 7 % of a bearer token's manifest GET (a token row
/// has six timestamps). Any other text goes to rusqlite's conversion.
pub(crate) struct Timestamp(pub(crate) DateTime<Utc>);

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        if let ValueRef::Text(text) = value {
            let parsed =
                std::str::from_utf8(text).ok().and_then(|text| DateTime::parse_from_rfc3339(text).ok());
            if let Some(time) = parsed {
                return Ok(Self(time.with_timezone(&Utc)));
            }
        }
        DateTime::<Utc>::column_result(value).map(Self)
    }
}

/// Column `index` of `row`, a timestamp that may be NULL.
pub(crate) fn optional_timestamp(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    Ok(row.get::<_, Option<Timestamp>>(index)?.map(|time| time.0))
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, thread};

    use rusqlite::named_params;

    use super::*;

    fn database() -> (tempfile::TempDir, InlineReaders) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inline.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t (n INTEGER PRIMARY KEY, name TEXT NOT NULL);
                 INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');",
            )
            .unwrap();
        (dir, InlineReaders::new(&path))
    }

    #[test]
    fn reads_one_row_or_none_and_reuses_its_connection() {
        let (_dir, readers) = database();
        for _ in 0..20 {
            let two = readers
                .optional("SELECT name FROM t WHERE n = $1", named_params! { "$1": 2 }, |row| {
                    row.get::<_, String>(0)
                })
                .unwrap();
            assert_eq!(two.as_deref(), Some("two"));
            let none = readers
                .optional("SELECT name FROM t WHERE n = $1", named_params! { "$1": 9 }, |row| {
                    row.get::<_, String>(0)
                })
                .unwrap();
            assert_eq!(none, None);
            let count = readers.one("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0)).unwrap();
            assert_eq!(count, 3);
        }
        assert_eq!(readers.usage(), (0, 1), "one connection served every statement");
    }

    #[test]
    fn parameters_are_bound_by_their_number_not_their_place() {
        let (_dir, readers) = database();
        let found = readers
            .optional(
                "SELECT n FROM t WHERE name = $2 AND n > $1",
                named_params! { "$1": 1, "$2": "three" },
                |row| row.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(found, Some(3));
    }

    #[test]
    fn a_failed_statement_closes_its_connection() {
        let (_dir, readers) = database();
        readers.one("SELECT 1", [], |row| row.get::<_, i64>(0)).unwrap();
        assert_eq!(readers.usage(), (0, 1));
        let error = readers.one("SELECT missing FROM t", [], |row| row.get::<_, i64>(0)).unwrap_err();
        assert!(error.to_string().contains("no such column"), "{error}");
        assert_eq!(readers.usage(), (0, 0), "the failed statement's connection is not reused");
        let missing = readers.one("SELECT n FROM t WHERE n = 9", [], |row| row.get::<_, i64>(0));
        assert!(missing.is_err(), "one() wants its row");
        assert_eq!(readers.one("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0)).unwrap(), 3);
    }

    #[test]
    fn readers_cannot_write() {
        let (_dir, readers) = database();
        let error =
            readers.one("INSERT INTO t VALUES (4, 'four') RETURNING n", [], |row| row.get::<_, i64>(0));
        assert!(error.unwrap_err().to_string().contains("readonly"));
    }

    /// A reader sees what the writer committed, at once, also while the
    /// writer holds an open write transaction (WAL: no waiting).
    #[test]
    fn reads_see_every_commit_and_never_wait_for_the_writer() {
        let (dir, readers) = database();
        let writer = Connection::open(dir.path().join("inline.db")).unwrap();
        let name = |n: i64| {
            readers.optional("SELECT name FROM t WHERE n = $1", named_params! { "$1": n }, |row| {
                row.get::<_, String>(0)
            })
        };
        assert_eq!(name(4).unwrap(), None);
        writer.execute("INSERT INTO t VALUES (4, 'four')", []).unwrap();
        assert_eq!(name(4).unwrap().as_deref(), Some("four"));
        writer.execute_batch("BEGIN IMMEDIATE; UPDATE t SET name = 'FOUR' WHERE n = 4;").unwrap();
        assert_eq!(name(4).unwrap().as_deref(), Some("four"), "the open transaction is not seen");
        writer.execute_batch("COMMIT").unwrap();
        assert_eq!(name(4).unwrap().as_deref(), Some("FOUR"));
    }

    /// The quick path reads what sqlx writes; other forms rusqlite reads
    /// (a space for the `T`, no offset) still come out the same.
    #[test]
    fn timestamps_read_as_rusqlite_reads_them() {
        let (_dir, readers) = database();
        let cases = [
            "2026-12-03T19:39:08.259646415+00:00",
            "2026-12-03T19:39:08+00:00",
            "2026-12-03T21:39:08.5+02:00",
            "2026-12-03 19:39:08.259646415+00:00",
            "2026-12-03 19:39:08",
        ];
        for text in cases {
            let (ours, theirs) = readers
                .one("SELECT $1, $1", named_params! { "$1": text }, |row| {
                    Ok((optional_timestamp(row, 0)?, row.get::<_, DateTime<Utc>>(1)?))
                })
                .unwrap();
            assert_eq!(ours, Some(theirs), "{text}");
        }
        let null = readers.one("SELECT NULL", [], |row| optional_timestamp(row, 0)).unwrap();
        assert_eq!(null, None);
        let bad = readers.one("SELECT 'yesterday'", [], |row| optional_timestamp(row, 0));
        assert!(bad.is_err(), "text that is no time is an error");
    }

    #[test]
    fn threads_reading_at_once_each_get_a_connection() {
        let (_dir, readers) = database();
        let readers = Arc::new(readers);
        let threads: Vec<_> = (0..8i64)
            .map(|i| {
                let readers = readers.clone();
                thread::spawn(move || {
                    for _ in 0..200 {
                        let n = readers
                            .one("SELECT n FROM t WHERE n = $1", named_params! { "$1": i % 3 + 1 }, |row| {
                                row.get::<_, i64>(0)
                            })
                            .unwrap();
                        assert_eq!(n, i % 3 + 1);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let (in_use, idle) = readers.usage();
        assert_eq!(in_use, 0);
        assert!((1..=8).contains(&idle), "{idle} idle connections");
    }
}
