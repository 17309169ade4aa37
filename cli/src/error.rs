//! What can go wrong in a client command, the one line each prints, and the
//! exit code. Reads problem+json bodies (docs/API.md "Errors"); no I/O.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Refused before any request: missing confirmation, bad combination.
    #[error("{0}")]
    Usage(String),
    /// The server answered with an error; the message is the problem's
    /// `detail` (or the best the body offers).
    #[error("{message}")]
    Api { status: u16, message: String },
    /// No answer at all.
    #[error("cannot connect to the registry at {registry}: {cause}")]
    Unreachable { registry: String, cause: String },
    /// An answer this client cannot read (not JSON, not the documented shape).
    #[error("unexpected answer from {url}: {reason}")]
    BadAnswer { url: String, reason: String },
    /// `--query` failed on the answer.
    #[error("--query: {0}")]
    Query(String),
    /// A program the command starts (the container client of `login`) is
    /// missing or failed.
    #[error("{0}")]
    Client(String),
}

impl CliError {
    /// 2 when the registry could not be reached, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Unreachable { .. } => 2,
            _ => 1,
        }
    }

    /// The single line printed to stderr.
    pub fn line(&self) -> String {
        // A detail spanning lines would break the one-line promise.
        let text = self.to_string();
        format!("error: {}", text.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// The message for an error answer: the problem's `detail`, else its
/// `title`, else the status and where it came from. `authenticated` adds a
/// hint to a 401 when no credentials were sent.
pub fn problem_message(status: u16, reason: &str, body: &[u8], url: &str, authenticated: bool) -> String {
    let problem: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        problem
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let mut message = match (field("detail"), field("title")) {
        (Some(detail), _) => detail,
        (None, Some(title)) => format!("{title} (HTTP {status})"),
        (None, None) => format!("HTTP {status} {reason} from {url}"),
    };
    if status == 401 && !authenticated {
        message.push_str(
            " (pass --username and --password, or set PORTCULLIS_USERNAME and PORTCULLIS_PASSWORD)",
        );
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:5000/api/v1/scope-maps/MyScopeMap";

    #[test]
    fn the_detail_is_the_message() {
        let body = br#"{"type": "about:blank", "title": "Conflict", "status": 409,
            "code": "SCOPE_MAP_IN_USE", "detail": "scope map MyScopeMap is used by tokens MyToken, ci-bot"}"#;
        let message = problem_message(409, "Conflict", body, URL, true);
        assert_eq!(message, "scope map MyScopeMap is used by tokens MyToken, ci-bot");
        let error = CliError::Api { status: 409, message };
        assert_eq!(error.line(), "error: scope map MyScopeMap is used by tokens MyToken, ci-bot");
        assert_eq!(error.exit_code(), 1);
    }

    #[test]
    fn without_a_detail_the_title_or_status_speaks() {
        let body = br#"{"title": "Forbidden", "status": 403, "code": "DENIED"}"#;
        assert_eq!(problem_message(403, "Forbidden", body, URL, true), "Forbidden (HTTP 403)");
        let body = br#"{"title": "Not Found", "detail": "  "}"#;
        assert_eq!(problem_message(404, "Not Found", body, URL, true), "Not Found (HTTP 404)");
        assert_eq!(
            problem_message(502, "Bad Gateway", b"<html>proxy error</html>", URL, true),
            format!("HTTP 502 Bad Gateway from {URL}")
        );
    }

    #[test]
    fn an_anonymous_401_says_how_to_authenticate() {
        let body = br#"{"status": 401, "code": "UNAUTHORIZED", "detail": "authentication required"}"#;
        let anonymous = problem_message(401, "Unauthorized", body, URL, false);
        assert!(anonymous.starts_with("authentication required (pass --username"), "{anonymous}");
        assert_eq!(problem_message(401, "Unauthorized", body, URL, true), "authentication required");
    }

    #[test]
    fn every_error_is_one_line_with_its_exit_code() {
        let error = CliError::Api { status: 400, message: "bad\ninput:\n  actions".into() };
        assert_eq!(error.line(), "error: bad input: actions");
        let unreachable = CliError::Unreachable {
            registry: "http://127.0.0.1:5000".into(),
            cause: "Connection refused (os error 111)".into(),
        };
        assert_eq!(
            unreachable.line(),
            "error: cannot connect to the registry at http://127.0.0.1:5000: Connection refused (os error 111)"
        );
        assert_eq!(unreachable.exit_code(), 2);
        assert_eq!(CliError::Usage("pass --yes".into()).exit_code(), 1);
    }
}
