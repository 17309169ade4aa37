//! The management API against its own OpenAPI document (issue 16):
//! schemathesis generates requests from `/api/v1/openapi.json` of a fresh
//! registry, as the administrator, and checks that no answer is a 5xx and
//! that every status, content type and body is the documented one
//! (server/tests/schemathesis.toml; docs/TESTING.md runs it by hand with
//! more examples). A bounded run with a fixed seed, so that a failure
//! repeats.

use std::{path::Path, process::Command};

use crate::testkit::{TestServer, ADMIN_PASSWORD};

/// The version scripts/setup.sh installs.
const VERSION: &str = "4.32.5";
/// Per operation and phase; 61 operations.
const MAX_EXAMPLES: &str = "10";
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
    let (server, log) = TestServer::start_logging(data.path(), "error");
    // Run in a directory of its own: schemathesis may leave a cache there.
    let scratch = tempfile::tempdir().unwrap();
    let run = Command::new("st")
        .arg("--config-file")
        .arg(tests.join("schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED, "--workers", "2"])
        .env("SCHEMATHESIS_HOOKS", tests.join("schemathesis_hooks.py"))
        .env("PORTCULLIS_ST_URL", &server.base)
        .env("PORTCULLIS_ST_USER", "admin")
        .env("PORTCULLIS_ST_PASSWORD", ADMIN_PASSWORD)
        .current_dir(scratch.path())
        .output()
        .expect("st runs");
    let report = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success(),
        "schemathesis found answers the document does not describe:\n{report}\nserver errors:\n{}",
        log.lines().join("\n")
    );
}
