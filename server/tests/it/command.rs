//! Running the real clients (skopeo, podman, the `portcullis` CLI) from a
//! test: feed stdin, capture both outputs, give up after a timeout.

use std::{
    io::{Read, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Longest any one command may take before the test gives up on it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// What a finished command printed.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub description: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn report(&self) -> String {
        format!(
            "{} (exit {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.description, self.code, self.stdout, self.stderr
        )
    }

    pub fn succeeded(self) -> Self {
        assert!(self.success(), "command failed: {}", self.report());
        self
    }

    pub fn failed(self) -> Self {
        assert!(!self.success(), "command should have failed: {}", self.report());
        self
    }
}

/// Runs `command` to the end (feeding `stdin`, if any), killing it after
/// [`COMMAND_TIMEOUT`]. The description never shows stdin, where the
/// passwords go.
pub fn execute(mut command: Command, stdin: Option<&str>) -> Outcome {
    let description = format!("{command:?}");
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|error| {
        panic!("cannot start {description}: {error}\n(install the clients with `scripts/setup.sh test`)")
    });
    if let Some(input) = stdin {
        // A client that exits early closes its stdin; its stderr says why.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let outcome = Outcome {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        description,
    };
    assert!(status.is_some(), "timed out after {COMMAND_TIMEOUT:?}: {}", outcome.report());
    outcome
}
