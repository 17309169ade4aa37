//! `portcullis scope-map|token|repository|manifest|audit|user|group|sp|role|registry|check-access|login ...`:
//! the command-line client of the management API (docs/API.md, docs/CLI.md),
//! spelled like `az acr`, `az ad` and `az role`.
//!
//! The `portcullis` binary flattens [`ClientCommand`] into its own command
//! enum and hands it to [`run`]. A command is parsed ([`args`]), turned into
//! a request by a pure function ([`plan`]; a secret the command reads from
//! standard input is read before, by [`execute_with`]), sent
//! ([`transport`], the only network code), narrowed by `--query` ([`query`]) and printed ([`output`]).
//! `login` calls no API: it starts a container client ([`login`]).
//! Errors are one `error: ...` line on stderr ([`error`]). This crate never
//! depends on the server's crates: it speaks only HTTP, in the API's wire
//! types (`portcullis_proto`).

pub mod access;
pub mod access_file;
pub mod args;
pub mod error;
pub mod login;
pub mod output;
pub mod plan;
pub mod query;
pub mod transport;

use std::{
    ffi::OsString,
    io::{Read, Write},
    process::ExitCode,
};

use chrono::Utc;
use portcullis_proto::{AuditPage, Tag, TokenPage};
use serde_json::Value;

pub use args::ClientCommand;
use args::{LoginArgs, OutputFormat, Password};
use error::CliError;
use plan::{page_request, Answer, Resource, Warnings};
use transport::Registry;

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 0 success; 1 refused (by the API or locally); 2 registry unreachable.
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Performs `command`: the answer on stdout, or one `error: ...` line on
/// stderr and a non-zero exit code.
pub async fn run(command: ClientCommand) -> ExitCode {
    let outcome = execute(command).await;
    // A closed pipe (`| head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.code)
}

/// Like [`run`], returning the text instead of printing it.
pub async fn execute(command: ClientCommand) -> Outcome {
    execute_with_stdin(command, std::io::stdin()).await
}

/// Like [`execute`], with `stdin` as standard input (read only by the
/// commands that take a secret there, e.g. `user change-password`).
pub async fn execute_with_stdin(command: ClientCommand, stdin: impl Read) -> Outcome {
    execute_with(command, stdin, &[]).await
}

/// Like [`execute_with_stdin`]; `client_environment` is added to the
/// environment of the container client `login` starts (e.g. `PATH`, or
/// `REGISTRY_AUTH_FILE` / `DOCKER_CONFIG` to choose where it keeps the
/// login), leaving this process's own environment alone.
pub async fn execute_with(
    command: ClientCommand,
    stdin: impl Read,
    client_environment: &[(OsString, OsString)],
) -> Outcome {
    if let Some(access) = command.access() {
        return access::run(&access).await;
    }
    let what = match command {
        ClientCommand::Login(_) => "password",
        _ => "new password",
    };
    let secret = if command.reads_stdin() { read_secret(stdin, what).map(Some) } else { Ok(None) };
    let result = match (secret, &command) {
        (Ok(secret), ClientCommand::Login(login)) => log_in(login, secret.as_ref(), client_environment).await,
        (Ok(secret), _) => perform(&command, secret.as_ref()).await,
        (Err(error), _) => Err(error),
    };
    match result {
        Ok(Printed { stdout, mut stderr, refusal }) => match refusal {
            None => Outcome { code: 0, stdout, stderr },
            Some(error) => {
                stderr.push_str(&(error.line() + "\n"));
                Outcome { code: error.exit_code(), stdout, stderr }
            }
        },
        Err(error) => Outcome { code: error.exit_code(), stdout: String::new(), stderr: error.line() + "\n" },
    }
}

/// What a command that got an answer prints: the answer, notes for the
/// administrator (warnings) and, for a dry run such as `registry update`
/// without `--yes`, the refusal that ends it after the answer.
struct Printed {
    stdout: String,
    stderr: String,
    refusal: Option<CliError>,
}

/// One line from standard input, like `docker login --password-stdin`: the
/// final line break is dropped; an empty or multi-line secret is refused.
/// `what` names the secret in the refusals ("new password").
fn read_secret(mut stdin: impl Read, what: &str) -> Result<Password, CliError> {
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|error| CliError::Usage(format!("cannot read the {what} from standard input: {error}")))?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        let variable = what.replace(' ', "_").to_uppercase();
        return Err(CliError::Usage(format!(
            "no {what} on standard input; pipe it in, e.g. printf '%s\\n' \"${variable}\" | portcullis ..."
        )));
    }
    if line.contains(['\n', '\r']) {
        return Err(CliError::Usage(format!("the {what} on standard input must be one line")));
    }
    Ok(Password::new(line))
}

/// `portcullis login`: prints the login line, or runs the client with the
/// password on its standard input and passes on what it printed.
async fn log_in(
    args: &LoginArgs,
    stdin: Option<&Password>,
    client_environment: &[(OsString, OsString)],
) -> Result<Printed, CliError> {
    match login::plan(args, stdin)? {
        login::LoginPlan::Print { line, warning } => {
            Ok(Printed { stdout: line, stderr: warning.unwrap_or_default(), refusal: None })
        }
        login::LoginPlan::Run { invocation, password, warning } => {
            let run = login::run(&invocation, &password, client_environment).await?;
            Ok(Printed {
                stdout: run.stdout,
                stderr: warning.unwrap_or_default() + &run.stderr,
                refusal: run.failure.map(CliError::Client),
            })
        }
    }
}

async fn perform(command: &ClientCommand, stdin: Option<&Password>) -> Result<Printed, CliError> {
    let global = command.global();
    let plan = plan::plan(command, Utc::now(), stdin)?;
    let registry = Registry::new(global)?;
    let mut refusal = None;
    let answer = match &plan.answer {
        Answer::AsIs => registry.send(&plan.request).await?,
        Answer::Field(field) => {
            let mut answer = registry.send(&plan.request).await?;
            match answer.get_mut(*field) {
                Some(value) => value.take(),
                None => {
                    return Err(CliError::BadAnswer {
                        url: registry.url(&plan.request),
                        reason: format!("expected an object with {field:?}"),
                    })
                }
            }
        }
        Answer::ModePreview => {
            let preview = registry.send(&plan.request).await?;
            let line = output::unchanged_mode(&preview)
                .map_err(|reason| CliError::BadAnswer { url: registry.url(&plan.request), reason })?;
            refusal = Some(CliError::Usage(line));
            preview
        }
        Answer::ThroughTag(call) => {
            let tag = registry.send(&plan.request).await?;
            let digest = tag_digest(tag)
                .map_err(|reason| CliError::BadAnswer { url: registry.url(&plan.request), reason })?;
            registry.send(&call.request(&digest)?).await?
        }
        Answer::TagNames => {
            let tags = registry.send(&plan.request).await?;
            tag_names(&tags)
                .map_err(|reason| CliError::BadAnswer { url: registry.url(&plan.request), reason })?
        }
        Answer::Pages(paging) => {
            let limit = match paging {
                plan::Paging::Audit { limit, .. } => Some(*limit),
                plan::Paging::Tokens => None,
            };
            let mut items = Vec::new();
            let mut request = plan.request.clone();
            loop {
                let page = registry.send(&request).await?;
                let (page_items, next) = page_parts(paging, page)
                    .map_err(|reason| CliError::BadAnswer { url: registry.url(&request), reason })?;
                items.extend(page_items);
                let done = limit.is_some_and(|limit| items.len() >= limit);
                let next_request = match next {
                    Some(cursor) if !done => page_request(paging, Some(&cursor), items.len()),
                    _ => break,
                };
                if next_request == request {
                    return Err(CliError::BadAnswer {
                        url: registry.url(&request),
                        reason: "the next page is the same page again".to_owned(),
                    });
                }
                request = next_request;
            }
            if let Some(limit) = limit {
                items.truncate(limit);
            }
            Value::Array(items)
        }
    };
    let stderr = match (plan.warnings, global.output) {
        (Warnings::None, _) | (Warnings::UnlessJson, OutputFormat::Json) => String::new(),
        (Warnings::UnlessJson | Warnings::Always, _) => output::warnings(&answer),
    };
    let (value, resource) = match &global.query {
        Some(expression) => (query::apply(expression, &answer).map_err(CliError::Query)?, Resource::Generic),
        None => (answer, plan.resource),
    };
    let printout = output::print(&value, global.output, resource);
    let stderr = stderr + printout.note.as_deref().unwrap_or_default();
    Ok(Printed { stdout: printout.stdout, stderr, refusal })
}

/// `[Tag]` -> `["v1", ...]`: only the names are read, so an answer whose
/// other fields this client does not know still lists.
fn tag_names(tags: &Value) -> Result<Value, String> {
    let tags = tags.as_array().ok_or("expected a list of tags")?;
    tags.iter()
        .map(|tag| {
            tag.get("name")
                .filter(|name| name.is_string())
                .cloned()
                .ok_or_else(|| "a tag without a name".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The digest a `Tag` points to.
fn tag_digest(tag: Value) -> Result<String, String> {
    let tag: Tag = serde_json::from_value(tag).map_err(|error| format!("expected a tag: {error}"))?;
    Ok(tag.digest)
}

/// A page (`TokenPage` or `AuditPage`) -> (items, cursor).
fn page_parts(paging: &plan::Paging, page: Value) -> Result<(Vec<Value>, Option<Value>), String> {
    fn items<T: serde::Serialize>(items: Vec<T>) -> Vec<Value> {
        items.iter().map(|item| serde_json::to_value(item).expect("a wire type serialises")).collect()
    }
    let unexpected = |error: serde_json::Error| format!("expected a page {{\"items\", \"next\"}}: {error}");
    Ok(match paging {
        plan::Paging::Tokens => {
            let page: TokenPage = serde_json::from_value(page).map_err(unexpected)?;
            (items(page.items), page.next.map(Value::String))
        }
        plan::Paging::Audit { .. } => {
            let page: AuditPage = serde_json::from_value(page).map_err(unexpected)?;
            (items(page.items), page.next.map(Value::from))
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tag_names_keep_the_order() {
        let tags = json!([{"name": "v1", "digest": "sha256:a"}, {"name": "latest", "digest": "sha256:b"}]);
        assert_eq!(tag_names(&tags).unwrap(), json!(["v1", "latest"]));
        assert!(tag_names(&json!({"name": "v1"})).is_err());
        assert!(tag_names(&json!([{"digest": "sha256:a"}])).is_err());
    }

    #[test]
    fn a_tag_names_its_digest() {
        let tag = json!({"name": "v1", "digest": "sha256:ab", "createdTime": "2026-11-23T16:30:00Z",
            "lastUpdateTime": "2026-11-23T16:30:00Z", "changeableAttributes": {"deleteEnabled": true,
            "writeEnabled": true, "readEnabled": true, "listEnabled": true}});
        assert_eq!(tag_digest(tag).unwrap(), "sha256:ab");
        assert!(tag_digest(json!({"name": "v1"})).is_err());
        assert!(tag_digest(json!(["sha256:ab"])).is_err());
    }

    #[test]
    fn pages_split_into_items_and_cursor() {
        let entry = json!({"id": 7, "time": "2026-11-23T16:30:00.000000Z", "caller": "admin:admin", "token": null,
                           "repository": null, "action": "token.create", "outcome": "success", "detail": "token a",
                           "requestId": null});
        let audit = plan::Paging::Audit { token: None, limit: 10 };
        let (items, next) = page_parts(&audit, json!({"items": [entry.clone()], "next": 7})).unwrap();
        assert_eq!((items, next), (vec![entry], Some(json!(7))));
        let (items, next) = page_parts(&plan::Paging::Tokens, json!({"items": [], "next": null})).unwrap();
        assert!(items.is_empty() && next.is_none());
        assert!(page_parts(&plan::Paging::Tokens, json!([1, 2])).is_err());
        assert!(page_parts(&plan::Paging::Tokens, json!({"next": null})).is_err());
    }

    /// The answers of the commands that generate a secret, built from the
    /// API's wire types, with the secrets they carry.
    fn generating_commands() -> Vec<(&'static [&'static str], Value, Vec<&'static str>)> {
        use portcullis_proto::{
            ClientSecret, CredentialPassword, Credentials, Password, PasswordSlot, ServicePrincipal, Token,
            TokenStatus,
        };
        let time = |text: &str| text.parse::<chrono::DateTime<Utc>>().unwrap();
        let password = |slot, value: &str, expiry: Option<&str>| CredentialPassword {
            name: slot,
            value: Some(Password::new(value)),
            creation_time: time("2026-11-23T16:30:00.123456Z"),
            expiry: expiry.map(time),
        };
        let token = Token {
            name: "MyToken".into(),
            creation_date: time("2026-11-23T16:30:00Z"),
            status: TokenStatus::Enabled,
            scope_map: "MyToken-scope-map".into(),
            last_used: None,
            credentials: Credentials {
                username: "MyToken".into(),
                passwords: vec![
                    password(PasswordSlot::Password1, "pct_CREATED1", None),
                    password(PasswordSlot::Password2, "pct_CREATED2", Some("2026-12-23T16:30:00Z")),
                ],
            },
        };
        let generated = Credentials {
            username: "MyToken".into(),
            passwords: vec![password(PasswordSlot::Password2, "pct_GENERATED2", None)],
        };
        let secret = |key: &str, value: Option<&str>| ClientSecret {
            key_id: key.into(),
            description: String::new(),
            created_at: time("2026-11-23T16:30:00Z"),
            expires_at: Some(time("2027-06-30T00:00:00Z")),
            value: value.map(Password::new),
        };
        let principal = |secrets| ServicePrincipal {
            name: "ci".into(),
            app_id: "0b8e4c1a".into(),
            description: "CI".into(),
            enabled: true,
            created_at: time("2026-11-23T16:30:00Z"),
            last_sign_in_at: None,
            groups: vec![],
            secrets,
        };
        fn wire(value: &impl serde::Serialize) -> Value {
            serde_json::to_value(value).expect("a wire type serialises")
        }
        vec![
            (
                &["token", "create", "--name", "MyToken", "--repository", "samples/x", "content/read"],
                wire(&token),
                vec!["pct_CREATED1", "pct_CREATED2"],
            ),
            (
                &["token", "credential", "generate", "--name", "MyToken", "--password2"],
                wire(&generated),
                vec!["pct_GENERATED2"],
            ),
            (
                &["sp", "create", "--name", "ci"],
                wire(&principal(vec![secret("k1", Some("pcs_FIRST"))])),
                vec!["pcs_FIRST"],
            ),
            (
                &["sp", "credential", "reset", "--name", "ci", "--append"],
                wire(&principal(vec![secret("k1", None), secret("k2", Some("pcs_SECOND"))])),
                vec!["pcs_SECOND"],
            ),
        ]
    }

    /// Every format of every command that generates a secret prints it:
    /// a password shown nowhere is lost for good.
    #[test]
    fn every_format_shows_every_generated_secret() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(subcommand)]
            command: ClientCommand,
        }
        let mut lost = Vec::new();
        for (args, answer, secrets) in generating_commands() {
            let words = std::iter::once("portcullis").chain(args.iter().copied());
            let cli = <Cli as clap::Parser>::try_parse_from(words).expect("arguments parse");
            let plan = plan::plan(&cli.command, Utc::now(), None).unwrap();
            for format in [OutputFormat::Json, OutputFormat::Table, OutputFormat::Tsv] {
                let printout = output::print(&answer, format, plan.resource);
                let text = &printout.stdout;
                for secret in &secrets {
                    if !text.contains(secret) {
                        lost.push(format!(
                            "{} -o {format:?} does not show {secret}:\n{text}",
                            args.join(" ")
                        ));
                    }
                }
                // In the format asked for, not through the JSON safety net.
                if let Some(note) = printout.note {
                    lost.push(format!("{} -o {format:?} fell back to JSON: {note}", args.join(" ")));
                }
            }
        }
        assert!(lost.is_empty(), "{}", lost.join("\n"));
    }

    #[test]
    fn the_secret_on_stdin_is_one_line_without_its_line_break() {
        let read = |input: &str| {
            read_secret(input.as_bytes(), "new password").map(|secret| secret.expose().to_owned())
        };
        assert_eq!(read("new-password\n").unwrap(), "new-password");
        assert_eq!(read("new-password\r\n").unwrap(), "new-password");
        assert_eq!(read("new password ").unwrap(), "new password ", "spaces are kept");
        for bad in ["", "\n", "two\nlines\n"] {
            assert!(matches!(read(bad), Err(CliError::Usage(_))), "{bad:?}");
        }
    }
}
