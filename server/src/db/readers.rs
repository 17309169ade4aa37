//! SQLite connections for single read statements, handed out without a
//! round trip to their worker thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and talks to it
//! through channels. Its pool adds one more exchange with that thread after
//! every statement: the connection goes back through a spawned task that
//! pings it first. A request's reads are a few indexed lookups (the
//! credential's row with the policy revision, the manifest by repository
//! and tag), and the thread switches of these exchanges were the largest
//! cost of a manifest GET (docs/BENCHMARKS.md, the perf profile): the ping
//! made two exchanges per statement out of one.
//!
//! Here a connection that ran its statement to the end goes straight back
//! to the idle list. One that did not (the statement failed, or the
//! request's future was dropped half-way) is closed instead, so a
//! connection is only reused in the state it was handed out: outside any
//! transaction, nothing queued. Multi-statement reads (`begin_read`,
//! `read_connection`) keep sqlx's pool.

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use futures::{future::BoxFuture, stream::BoxStream, StreamExt as _, TryStreamExt as _};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTypeInfo},
    ConnectOptions as _, Describe, Either, Execute, Executor, Sqlite, SqliteConnection,
};
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most `max` read connections, opened when first needed.
pub(crate) struct SqliteReaders {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Semaphore,
    max: usize,
}

impl fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (in_use, idle) = self.usage();
        f.debug_struct("SqliteReaders").field("in_use", &in_use).field("idle", &idle).finish_non_exhaustive()
    }
}

impl SqliteReaders {
    pub(crate) fn new(options: SqliteConnectOptions, max: usize) -> Arc<Self> {
        Arc::new(Self { options, idle: Mutex::new(Vec::new()), permits: Semaphore::new(max), max })
    }

    /// (connections running a statement, idle connections).
    pub(crate) fn usage(&self) -> (u64, u64) {
        let in_use = self.max - self.permits.available_permits();
        (in_use as u64, self.idle_list().len() as u64)
    }

    fn idle_list(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        // A panic while the list was held leaves a list of whole
        // connections: still usable.
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn acquire(&self) -> Result<Reader<'_>, sqlx::Error> {
        let permit = self.permits.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle_list().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.options.connect().await?,
        };
        Ok(Reader { readers: self, connection: Some(connection), _permit: permit })
    }
}

/// Runs one statement on a lent connection (`|connection| statement`) and
/// hands the connection back only when the statement came to its end
/// without an error.
macro_rules! lend {
    ($readers:expr, |$connection:ident| $statement:expr) => {
        Box::pin(async move {
            let mut reader = $readers.acquire().await?;
            let $connection = reader.connection();
            let value = $statement.await?;
            reader.release();
            Ok(value)
        })
    };
}

/// A connection lent for one statement. Dropped without [`Reader::release`]
/// it is closed: its worker thread ends when the connection is dropped.
struct Reader<'r> {
    readers: &'r SqliteReaders,
    connection: Option<SqliteConnection>,
    _permit: SemaphorePermit<'r>,
}

impl Reader<'_> {
    fn connection(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("a reader holds its connection until released")
    }

    fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            self.readers.idle_list().push(connection);
        }
    }
}

/// The readers run any statement sqlx's query functions send. Rows are
/// collected before they are handed out: every read of the program asks
/// for one row or for all of them (`fetch_optional`, `fetch_one`,
/// `fetch_all`), none streams.
impl<'r> Executor<'r> for &'r SqliteReaders {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'r: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let steps: BoxFuture<'e, Result<Vec<_>, sqlx::Error>> =
            lend!(self, |connection| connection.fetch_many(query).try_collect::<Vec<_>>());
        futures::stream::once(steps)
            .map_ok(|steps| futures::stream::iter(steps.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'r: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        lend!(self, |connection| connection.fetch_optional(query))
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>>
    where
        'r: 'e,
    {
        lend!(self, |connection| connection.prepare_with(sql, parameters))
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'r: 'e,
    {
        lend!(self, |connection| connection.describe(sql))
    }
}

#[cfg(test)]
mod tests {
    use std::{str::FromStr as _, time::Duration};

    use super::*;

    async fn readers(max: usize) -> (tempfile::TempDir, Arc<SqliteReaders>) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::from_str("sqlite://").unwrap().filename(dir.path().join("r.db"));
        let mut writer = options.clone().create_if_missing(true).connect().await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&mut writer).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1), (2), (3)").execute(&mut writer).await.unwrap();
        (dir, SqliteReaders::new(options.read_only(true), max))
    }

    /// A statement that runs for a second or more: counts to three million.
    const SLOW: &str = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) \
                        SELECT count(*) FROM c";

    #[tokio::test]
    async fn a_connection_that_finished_its_statement_is_reused() {
        let (_dir, readers) = readers(4).await;
        for _ in 0..20 {
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM t").fetch_one(&*readers).await.unwrap();
            assert_eq!(n, 3);
            let all: Vec<(i64,)> =
                sqlx::query_as("SELECT n FROM t ORDER BY n").fetch_all(&*readers).await.unwrap();
            assert_eq!(all, [(1,), (2,), (3,)]);
            let none: Option<(i64,)> = sqlx::query_as("SELECT n FROM t WHERE n = $1")
                .bind(9)
                .fetch_optional(&*readers)
                .await
                .unwrap();
            assert_eq!(none, None);
        }
        assert_eq!(readers.usage(), (0, 1), "one connection, idle, served every statement");
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_statement_closes_its_connection() {
        let (_dir, readers) = readers(4).await;
        sqlx::query("SELECT 1").execute(&*readers).await.unwrap();
        assert_eq!(readers.usage(), (0, 1));

        let error = sqlx::query("SELECT missing FROM t").execute(&*readers).await.unwrap_err();
        assert!(error.to_string().contains("no such column"), "{error}");
        assert_eq!(readers.usage(), (0, 0), "the failed statement's connection is not reused");

        let abandoned =
            tokio::time::timeout(Duration::from_millis(50), sqlx::query(SLOW).execute(&*readers)).await;
        assert!(abandoned.is_err(), "the slow statement was still running");
        assert_eq!(readers.usage(), (0, 0), "the abandoned statement's connection is not reused");

        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM t").fetch_one(&*readers).await.unwrap();
        assert_eq!(n, 3, "a new connection answers");
        assert_eq!(readers.usage(), (0, 1));
    }

    #[tokio::test]
    async fn no_more_than_max_statements_run_at_once() {
        let (_dir, readers) = readers(2).await;
        let slow = || async {
            tokio::time::timeout(Duration::from_millis(300), sqlx::query(SLOW).execute(&*readers)).await
        };
        let watch = async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            readers.usage()
        };
        let (_, _, _, seen) = tokio::join!(slow(), slow(), slow(), watch);
        assert_eq!(seen.0, 2, "two statements run, the third waits for a connection");
        assert_eq!(readers.usage(), (0, 0), "all three were abandoned");
    }

    #[tokio::test]
    async fn readers_cannot_write() {
        let (_dir, readers) = readers(1).await;
        let error = sqlx::query("INSERT INTO t VALUES (4)").execute(&*readers).await.unwrap_err();
        assert!(error.to_string().contains("readonly"), "{error}");
    }
}
