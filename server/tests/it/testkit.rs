//! Starting and stopping a real server for a test, on SQLite (the default)
//! or, with `PORTCULLIS_TEST_DATABASE=postgres`, on a fresh PostgreSQL
//! database per data directory in one cluster that `scripts/postgres.sh`
//! starts (issue 15: the same suite passes on both databases).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc, Mutex, OnceLock},
    time::Duration,
};

use sqlx::Connection as _;

pub const ADMIN_PASSWORD: &str = "test-admin-password";

pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:PORT` (or `https://` with TLS)
    pub base: String,
    /// Lines the server printed to stdout before it was ready.
    pub banner: Vec<String>,
}

impl TestServer {
    /// Starts `portcullis serve` on `data_dir`, with the admin password of
    /// the tests unless `admin_password` is `None`.
    pub fn start(data_dir: &Path, admin_password: Option<&str>) -> Self {
        Self::start_with(data_dir, admin_password, &[])
    }

    /// Like [`TestServer::start`], with more `serve` arguments.
    pub fn start_with(data_dir: &Path, admin_password: Option<&str>, extra_args: &[&str]) -> Self {
        Self::launch(data_dir, admin_password, extra_args, "warn", None, &[])
    }

    /// Like [`TestServer::start_with`], with more environment (settings
    /// that can only come that way, such as S3 credentials).
    pub fn start_with_env(
        data_dir: &Path,
        admin_password: Option<&str>,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::launch(data_dir, admin_password, extra_args, "warn", None, env)
    }

    /// Like [`TestServer::start`], logging at `filter` (a `PORTCULLIS_LOG`
    /// directive) into the returned [`Log`] instead of the test's stderr.
    pub fn start_logging(data_dir: &Path, filter: &str) -> (Self, Log) {
        Self::start_logging_with(data_dir, filter, &[])
    }

    /// Like [`TestServer::start_logging`], with more environment (e.g.
    /// `PORTCULLIS_LOG_FORMAT=json`).
    pub fn start_logging_with(data_dir: &Path, filter: &str, env: &[(&str, &str)]) -> (Self, Log) {
        let log = Log::default();
        (Self::launch(data_dir, Some(ADMIN_PASSWORD), &[], filter, Some(log.clone()), env), log)
    }

    fn launch(
        data_dir: &Path,
        admin_password: Option<&str>,
        extra_args: &[&str],
        filter: &str,
        log: Option<Log>,
        env: &[(&str, &str)],
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        for (key, _) in std::env::vars() {
            if key.starts_with("PORTCULLIS_") {
                command.env_remove(key);
            }
        }
        if let Some(password) = admin_password {
            command.env("PORTCULLIS_ADMIN_PASSWORD", password);
        }
        // A server told its database (replicas sharing one) needs none of
        // its own.
        if !extra_args.contains(&"--database-url") {
            command.envs(database_env(data_dir));
        }
        command.envs(env.iter().copied());
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env("PORTCULLIS_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(if log.is_some() { Stdio::piped() } else { Stdio::inherit() })
            .spawn()
            .expect("start portcullis");
        if let Some(log) = log {
            let stderr = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.0.lock().unwrap().push(line);
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Drain to the end, so the server never writes to a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut banner = Vec::new();
        loop {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("server printed its address within 30 s");
            if let Some(address) = line.split("listening on ").nth(1) {
                let base = address.trim().to_owned();
                return Self { child, base, banner };
            }
            banner.push(line);
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        self.base.split_once("://").map_or(self.base.as_str(), |(_, authority)| authority)
    }
}

/// What a server started with [`TestServer::start_logging`] wrote to
/// stderr, line by line.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl TestServer {
    /// SIGKILL: no shutdown hook runs and nothing is flushed, as when a
    /// process dies in a power cut or under the OOM killer.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "the server died of the signal: {status:?}");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that keeps cookies and does not follow redirects, so tests see
/// each answer as the browser would.
pub fn browser_like_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Whether the test servers run on PostgreSQL
/// (`PORTCULLIS_TEST_DATABASE=postgres`) rather than SQLite (unset or
/// `sqlite`).
pub fn on_postgres() -> bool {
    match std::env::var("PORTCULLIS_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite" | "") | Err(_) => false,
        Ok(other) => panic!("PORTCULLIS_TEST_DATABASE must be sqlite or postgres, not {other:?}"),
    }
}

/// Whether a test that holds only on SQLite stops here: on PostgreSQL it
/// prints why (past the test harness's capture, so a run shows it) and
/// answers true.
pub fn sqlite_only(test: &str, reason: &str) -> bool {
    if on_postgres() {
        uncaptured(&format!("SQLite only, not run on PostgreSQL: {test}: {reason}"));
    }
    on_postgres()
}

/// A line on the test process's stderr that the harness does not capture.
fn uncaptured(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The environment that points a `portcullis serve`, `gc` or `fsck` of
/// `data_dir` at its database: nothing on SQLite (the data directory's
/// file), `PORTCULLIS_DATABASE_URL` on PostgreSQL.
pub fn database_env(data_dir: &Path) -> Vec<(&'static str, String)> {
    database_url(data_dir).map(|url| ("PORTCULLIS_DATABASE_URL", url)).into_iter().collect()
}

/// The PostgreSQL database of `data_dir`'s server, created at its first
/// start and the same for every later one (a restart keeps its data);
/// `None` on SQLite. A data directory that already holds a SQLite
/// database (an upgrade fixture) keeps it, and says so.
pub fn database_url(data_dir: &Path) -> Option<String> {
    static DATABASES: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    if !on_postgres() {
        return None;
    }
    let mut databases = DATABASES.get_or_init(Default::default).lock().unwrap();
    if let Some(url) = databases.get(data_dir) {
        return Some(url.clone());
    }
    if data_dir.join("portcullis.db").exists() {
        uncaptured(&format!(
            "note: {} holds a SQLite database (a fixture of an earlier release); this server runs on it, \
             not on PostgreSQL",
            data_dir.display()
        ));
        return None;
    }
    let url = create_database();
    databases.insert(data_dir.to_owned(), url.clone());
    Some(url)
}

/// The admin URL of the tests' PostgreSQL cluster, started (or found
/// running) by `scripts/postgres.sh start` under the target directory.
fn cluster_url() -> &'static str {
    static CLUSTER: OnceLock<String> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("postgres");
        let output = Command::new(script).arg("start").arg(&dir).output().unwrap_or_else(|error| {
            panic!("PORTCULLIS_TEST_DATABASE=postgres: cannot run {script}: {error}")
        });
        assert!(
            output.status.success(),
            "PORTCULLIS_TEST_DATABASE=postgres, but no PostgreSQL cluster could be started \
             (install PostgreSQL with `scripts/setup.sh test`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    })
}

/// A new, empty database in the cluster (byte-ordered text, as SQLite's);
/// its URL.
fn create_database() -> String {
    let admin = cluster_url();
    let name = format!("portcullis_test_{}", uuid::Uuid::new_v4().simple());
    let statement = format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'");
    // Its own thread and runtime: tests call this from inside theirs.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(async {
                    let mut connection =
                        sqlx::PgConnection::connect(admin).await.expect("connect to the tests' cluster");
                    sqlx::query(&statement).execute(&mut connection).await.expect("CREATE DATABASE");
                    connection.close().await.expect("close");
                });
            })
            .join()
            .expect("CREATE DATABASE ran")
    });
    let (server, _) = admin.rsplit_once('/').expect("the admin URL names its database");
    format!("{server}/{name}")
}
