//! The management API against its own OpenAPI document (issue 16):
//! schemathesis generates requests from `/api/v1/openapi.json` of a fresh
//! registry, as the administrator, and checks that no answer is a 5xx and
//! that every status, content type and body is the documented one
//! (server/tests/schemathesis.toml; docs/TESTING.md runs it by hand with
//! more examples). A bounded run with a fixed seed, so that a failure
//! repeats.

use std::{
    fs::File,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use crate::testkit::{TestServer, ADMIN_PASSWORD};

/// The version scripts/setup.sh installs.
const VERSION: &str = "4.32.5";
/// Per operation and phase (61 operations): about 30 s on two cores.
const MAX_EXAMPLES: &str = "20";
/// Not a time budget (`--max-time` would repeat the phases until it is
/// spent): a guard against a hung run.
const GIVE_UP_AFTER: Duration = Duration::from_secs(300);
const SEED: &str = "16";

#[test]
fn the_management_api_answers_as_its_document_says() {
    let installed = Command::new("st").arg("--version").output();
    assert!(
        installed.as_ref().is_ok_and(|output| output.status.success()),
        "schemathesis (`st`) is not installed: run `scripts/setup.sh test`, or \
         `python3 -m pip install schemathesis=={VERSION}` ({installed:?})"
    );
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let data = tempfile::tempdir().unwrap();
    // Logged aside: the run sends malformed session cookies by the hundred.
    // No rate limits: the run sends thousands of requests a minute as one
    // administrator (the limits have their own tests in limits.rs).
    let (server, log) = TestServer::start_logging_with(
        data.path(),
        "error",
        &[("PORTCULLIS_RATE_LIMIT_READS", "0"), ("PORTCULLIS_RATE_LIMIT_WRITES", "0")],
    );
    // Run in a directory of its own: schemathesis may leave a cache there.
    let scratch = tempfile::tempdir().unwrap();
    let output = scratch.path().join("st.out");
    let file = File::create(&output).unwrap();
    let mut run = Command::new("st")
        .arg("--config-file")
        .arg(tests.join("schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED, "--workers", "2"])
        .args(["--request-timeout", "30"])
        .env("SCHEMATHESIS_HOOKS", tests.join("schemathesis_hooks.py"))
        .env("PORTCULLIS_ST_URL", &server.base)
        .env("PORTCULLIS_ST_USER", "admin")
        .env("PORTCULLIS_ST_PASSWORD", ADMIN_PASSWORD)
        .current_dir(scratch.path())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("st starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > GIVE_UP_AFTER {
            run.kill().unwrap();
            run.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = std::fs::read_to_string(&output).unwrap_or_default();
    let errors = log.lines().join("\n");
    match status {
        Some(status) if status.success() => {}
        Some(_) => panic!(
            "schemathesis found answers the document does not describe:\n{report}\nserver errors:\n{errors}"
        ),
        None => panic!(
            "schemathesis did not finish within {GIVE_UP_AFTER:?}:\n{report}\nserver errors:\n{errors}"
        ),
    }
}
