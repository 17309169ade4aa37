//! Starting and stopping a real server for a test.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

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
