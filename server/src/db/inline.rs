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
//! module, on the thread of the request, with rusqlite.
//!
//! Each connection keeps the statements prepared on it, found by the
//! address of their SQL text (every statement is a `&'static str`), with
//! where each numbered parameter goes. rusqlite's own statement cache
//! hashes the whole SQL text twice per statement and looks parameters up
//! by name: some 2,000 instructions a statement, a twentieth of a manifest
//! GET (docs/BENCHMARKS.md).
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
    Connection, OpenFlags, Row, Statement, ToSql,
};

use super::DbError;

/// How long a read waits for a lock SQLite holds only briefly in WAL mode.
/// It blocks the request's thread while it waits, so it is short; the
/// request fails with the database error after it.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// Idle connections kept; more are opened when more threads read at once
/// (each thread runs one statement at a time) and closed after.
const KEEP_IDLE: usize = 16;

/// Statements kept prepared per connection: the few of this module, with
/// room. Past it the oldest is finalized.
const KEEP_PREPARED: usize = 16;

/// The parameters of a statement, in order: the first binds `$1`, the
/// second `$2`, and so on.
pub(crate) type Params<'a> = &'a [&'a dyn ToSql];

/// A statement prepared on a connection of this module.
struct Prepared<'conn> {
    sql: &'static str,
    statement: Statement<'conn>,
    /// Where `$1`, `$2`… are bound (SQLite numbers parameters by where
    /// they first appear, which need not be their order).
    places: Vec<usize>,
}

/// The statements prepared on one connection.
type Statements<'conn> = Vec<Prepared<'conn>>;

self_cell::self_cell!(
    /// A read-only connection with the statements prepared on it.
    struct Reader {
        owner: Connection,
        #[not_covariant]
        dependent: Statements,
    }
);

// SAFETY: a `Reader` is the connection and every statement prepared on it,
// moved between threads only together (through the idle list) and used by
// one thread at a time (`&mut self`); nothing borrowed from it outlives
// `first_row`. That is what SQLite allows of a connection opened with
// SQLITE_OPEN_NO_MUTEX in a thread-safe build, and why rusqlite's
// `Connection` is `Send`. A `Statement` alone is not `Send` only because
// it borrows its connection (and another thread might use the connection
// beside it), which cannot happen while the two travel as one.
unsafe impl Send for Reader {}

impl Reader {
    /// Runs `sql` with `params` and hands its first row, if any, to `map`.
    fn first_row<T>(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        self.with_dependent_mut(|connection, statements| {
            let found = statements.iter().position(|prepared| std::ptr::eq(prepared.sql, sql));
            let at = match found {
                Some(at) => at,
                None => {
                    if statements.len() == KEEP_PREPARED {
                        statements.remove(0);
                    }
                    statements.push(prepare(connection, sql)?);
                    statements.len() - 1
                }
            };
            let Prepared { statement, places, .. } = &mut statements[at];
            if places.len() != params.len() {
                return Err(rusqlite::Error::InvalidParameterCount(params.len(), places.len()));
            }
            for (&place, param) in places.iter().zip(params) {
                statement.raw_bind_parameter(place, param)?;
            }
            // Dropping the rows resets the statement (and ends its read).
            let mut rows = statement.raw_query();
            rows.next()?.map(map).transpose()
        })
    }
}

/// `sql` prepared on `connection`, with the places of `$1`, `$2`… (each
/// must be there: a statement that skips a number is refused).
fn prepare<'conn>(connection: &'conn Connection, sql: &'static str) -> rusqlite::Result<Prepared<'conn>> {
    let statement = connection.prepare(sql)?;
    let places = (1..=statement.parameter_count())
        .map(|number| {
            let name = format!("${number}");
            statement.parameter_index(&name)?.ok_or(rusqlite::Error::InvalidParameterName(name))
        })
        .collect::<rusqlite::Result<_>>()?;
    Ok(Prepared { sql, statement, places })
}

pub(crate) struct InlineReaders {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
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

    fn idle_list(&self) -> MutexGuard<'_, Vec<Reader>> {
        // A panic while the list was held leaves whole connections.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> rusqlite::Result<Reader> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Reader::new(connection, |_| Vec::new()))
    }

    /// Runs `read` on an idle connection (or a new one). The connection
    /// goes back to the idle list only when `read` succeeded.
    fn with_reader<T>(&self, read: impl FnOnce(&mut Reader) -> rusqlite::Result<T>) -> Result<T, DbError> {
        let idle = self.idle_list().pop();
        let mut reader = match idle {
            Some(reader) => reader,
            None => self.open()?,
        };
        self.in_use.fetch_add(1, Ordering::Relaxed);
        let result = read(&mut reader);
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        let value = result?;
        let mut idle = self.idle_list();
        if idle.len() < KEEP_IDLE {
            idle.push(reader);
        }
        Ok(value)
    }

    /// The one row `sql` selects with `params`, mapped by `map`, or `None`.
    /// `sql` numbers its parameters `$1`, `$2`… as everywhere in `db`, and
    /// `params` lists their values in that order.
    pub(crate) fn optional<T>(
        &self,
        sql: &'static str,
        params: Params<'_>,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, DbError> {
        self.with_reader(|reader| reader.first_row(sql, params, map))
    }

    /// The one row `sql` selects, which must be there.
    pub(crate) fn one<T>(
        &self,
        sql: &'static str,
        params: Params<'_>,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.with_reader(|reader| {
            reader.first_row(sql, params, map)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
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
                .optional("SELECT name FROM t WHERE n = $1", &[&2], |row| row.get::<_, String>(0))
                .unwrap();
            assert_eq!(two.as_deref(), Some("two"));
            let none = readers
                .optional("SELECT name FROM t WHERE n = $1", &[&9], |row| row.get::<_, String>(0))
                .unwrap();
            assert_eq!(none, None);
            let count = readers.one("SELECT count(*) FROM t", &[], |row| row.get::<_, i64>(0)).unwrap();
            assert_eq!(count, 3);
        }
        assert_eq!(readers.usage(), (0, 1), "one connection served every statement");
    }

    #[test]
    fn parameters_are_bound_by_their_number_not_their_place() {
        let (_dir, readers) = database();
        let found = readers
            .optional("SELECT n FROM t WHERE name = $2 AND n > $1", &[&1, &"three"], |row| {
                row.get::<_, i64>(0)
            })
            .unwrap();
        assert_eq!(found, Some(3));
    }

    #[test]
    fn each_numbered_parameter_must_be_there_and_given() {
        let (_dir, readers) = database();
        let skipped =
            readers.optional("SELECT n FROM t WHERE name = $2", &[&"two"], |row| row.get::<_, i64>(0));
        assert!(skipped.unwrap_err().to_string().contains("$1"), "a statement without $1 is refused");
        let sql = "SELECT n FROM t WHERE name = $1";
        let too_many = readers.optional(sql, &[&"two", &2], |row| row.get::<_, i64>(0));
        assert!(too_many.is_err(), "two values for one parameter");
        let none = readers.optional(sql, &[], |row| row.get::<_, i64>(0));
        assert!(none.is_err(), "no value for $1");
        assert_eq!(readers.optional(sql, &[&"two"], |row| row.get::<_, i64>(0)).unwrap(), Some(2));
    }

    /// Statements are found by the address of their text: the same text at
    /// another address is prepared again and answers the same, and past
    /// [`KEEP_PREPARED`] the oldest is finalized and prepared again when
    /// it comes back.
    #[test]
    fn statements_stay_prepared_by_address_and_the_oldest_make_room() {
        let (_dir, readers) = database();
        let mut texts: Vec<&'static str> = (0..KEEP_PREPARED + 4)
            .map(|i| &*format!("SELECT name FROM t WHERE n = $1 + {i} - {i}").leak())
            .collect();
        texts.push(texts[0].to_owned().leak());
        for _ in 0..3 {
            for text in &texts {
                let two = readers.optional(text, &[&2], |row| row.get::<_, String>(0)).unwrap();
                assert_eq!(two.as_deref(), Some("two"), "{text}");
            }
        }
        assert_eq!(readers.usage(), (0, 1), "one connection served every statement");
    }

    #[test]
    fn a_failed_statement_closes_its_connection() {
        let (_dir, readers) = database();
        readers.one("SELECT 1", &[], |row| row.get::<_, i64>(0)).unwrap();
        assert_eq!(readers.usage(), (0, 1));
        let error = readers.one("SELECT missing FROM t", &[], |row| row.get::<_, i64>(0)).unwrap_err();
        assert!(error.to_string().contains("no such column"), "{error}");
        assert_eq!(readers.usage(), (0, 0), "the failed statement's connection is not reused");
        let missing = readers.one("SELECT n FROM t WHERE n = 9", &[], |row| row.get::<_, i64>(0));
        assert!(missing.is_err(), "one() wants its row");
        assert_eq!(readers.one("SELECT count(*) FROM t", &[], |row| row.get::<_, i64>(0)).unwrap(), 3);
    }

    #[test]
    fn readers_cannot_write() {
        let (_dir, readers) = database();
        let error =
            readers.one("INSERT INTO t VALUES (4, 'four') RETURNING n", &[], |row| row.get::<_, i64>(0));
        assert!(error.unwrap_err().to_string().contains("readonly"));
    }

    /// A reader sees what the writer committed, at once, also while the
    /// writer holds an open write transaction (WAL: no waiting).
    #[test]
    fn reads_see_every_commit_and_never_wait_for_the_writer() {
        let (dir, readers) = database();
        let writer = Connection::open(dir.path().join("inline.db")).unwrap();
        let name = |n: i64| {
            readers.optional("SELECT name FROM t WHERE n = $1", &[&n], |row| row.get::<_, String>(0))
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
                .one("SELECT $1, $1", &[&text], |row| {
                    Ok((optional_timestamp(row, 0)?, row.get::<_, DateTime<Utc>>(1)?))
                })
                .unwrap();
            assert_eq!(ours, Some(theirs), "{text}");
        }
        let null = readers.one("SELECT NULL", &[], |row| optional_timestamp(row, 0)).unwrap();
        assert_eq!(null, None);
        let bad = readers.one("SELECT 'yesterday'", &[], |row| optional_timestamp(row, 0));
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
                            .one("SELECT n FROM t WHERE n = $1", &[&(i % 3 + 1)], |row| row.get::<_, i64>(0))
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
