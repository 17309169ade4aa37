//! `portcullis plan|apply|export` (docs/ACCESS-AS-CODE.md): access as code.
//! `plan` sends the file's document to `POST /api/v1/access/plan` and
//! prints what would change (exit 0: nothing, 2: changes, 1: refused);
//! `apply` plans, then sends the document with the plan's revision to
//! `POST /api/v1/access/apply`, which applies it in one transaction or not
//! at all, and hands the generated passwords only to where the user said
//! (`--secrets-out`, `--secrets-exec`, `--show-secrets`); `export` writes
//! the registry's access as a file. The server owns every rule (validity,
//! the revision check, the rotation guard); this module reads files, prints
//! and delivers secrets.

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use portcullis_proto::{
    AccessPlan, AccessState, ApplyOutcome, ApplyRequest, ChangeOp, GeneratedSecret, PlanRequest,
    PlannedChange,
};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::{
    access_file::{self, AccessFile},
    args::{AccessCommand, ApplyArgs, ExportArgs, GlobalArgs, PlanArgs},
    error::CliError,
    plan::Request,
    transport::{ApiRefusal, Registry},
    Outcome,
};

/// Exit code of a plan with changes (as `terraform plan -detailed-exitcode`).
const CHANGES: u8 = 2;

pub async fn run(command: &AccessCommand<'_>) -> Outcome {
    let result = match command {
        AccessCommand::Plan(args) => plan(args).await,
        AccessCommand::Apply(args) => apply(args).await,
        AccessCommand::Export(args) => export(args).await,
    };
    match result {
        Ok(outcome) => outcome,
        // Exit code 2 means "changes" here: every failure is 1.
        Err(error) => Outcome { code: 1, stdout: String::new(), stderr: error.line() + "\n" },
    }
}

/// A refusal of the file, with its name and the line and column.
fn file_error(path: &Path, error: access_file::FileError) -> CliError {
    CliError::Usage(format!("{}: {error}", path.display()))
}

fn read_file(path: &Path) -> Result<AccessFile, CliError> {
    let text = fs::read_to_string(path)
        .map_err(|error| CliError::Usage(format!("cannot read {}: {error}", path.display())))?;
    AccessFile::parse(&text).map_err(|error| file_error(path, error))
}

/// Sends `body` and reads the answer as `T`; a refusal that names a place
/// in the document is reported at that place in the file.
async fn call<T: DeserializeOwned>(
    registry: &Registry,
    request: Request,
    file: Option<(&Path, &AccessFile)>,
) -> Result<T, CliError> {
    let url = registry.url(&request);
    let answer = match registry.send_refusable(&request).await {
        Ok(answer) => answer,
        Err(ApiRefusal { error, pointer }) => {
            return Err(match (file, error) {
                (Some((path, file)), CliError::Api { message, .. }) => {
                    file_error(path, file.locate(pointer.as_deref(), &message))
                }
                (_, error) => error,
            })
        }
    };
    serde_json::from_value(answer).map_err(|error| CliError::BadAnswer { url, reason: error.to_string() })
}

fn post(path: &str, body: &impl serde::Serialize) -> Request {
    Request::sending_json(Method::POST, path.to_owned(), body)
}

async fn make_plan(
    global: &GlobalArgs,
    path: &Path,
    prune: bool,
    days: u32,
) -> Result<(AccessFile, AccessPlan, Registry), CliError> {
    let file = read_file(path)?;
    let registry = Registry::new(global)?;
    let request = PlanRequest { document: file.document.clone(), prune, expiring_within_days: Some(days) };
    let plan: AccessPlan =
        call(&registry, post("/api/v1/access/plan", &request), Some((path, &file))).await?;
    Ok((file, plan, registry))
}

async fn plan(args: &PlanArgs) -> Result<Outcome, CliError> {
    let (_, plan, _) = make_plan(&args.global, &args.file, args.prune, args.expiring_within).await?;
    let stdout = if args.json {
        serde_json::to_string_pretty(&plan).expect("a plan serialises") + "\n"
    } else {
        render_plan(&plan)
    };
    let code = if plan.changes.is_empty() { 0 } else { CHANGES };
    Ok(Outcome { code, stdout, stderr: String::new() })
}

async fn apply(args: &ApplyArgs) -> Result<Outcome, CliError> {
    let (file, plan, registry) =
        make_plan(&args.global, &args.file, args.prune, args.expiring_within).await?;
    let mut stdout = render_plan(&plan);
    if plan.changes.is_empty() {
        return Ok(Outcome { code: 0, stdout, stderr: String::new() });
    }
    // Where the passwords go is settled before anything changes.
    let mut sink = SecretSink::choose(args, &plan.generates)?;
    let request = ApplyRequest {
        document: file.document.clone(),
        expected_revision: args.expected_revision.clone().unwrap_or_else(|| plan.revision.clone()),
        prune: args.prune,
        allow_downtime: args.allow_downtime,
    };
    let outcome: ApplyOutcome =
        call(&registry, post("/api/v1/access/apply", &request), Some((&args.file, &file))).await?;
    let delivered = sink.deliver(&outcome.secrets, &mut stdout);
    drop(sink);
    stdout.push_str(&format!(
        "\nApplied {} change{} in one transaction. Registry revision: {}\n",
        outcome.changes.len(),
        if outcome.changes.len() == 1 { "" } else { "s" },
        outcome.revision
    ));
    match delivered {
        Ok(()) => Ok(Outcome { code: 0, stdout, stderr: String::new() }),
        Err(error) => Ok(Outcome { code: 1, stdout, stderr: error.line() + "\n" }),
    }
}

async fn export(args: &ExportArgs) -> Result<Outcome, CliError> {
    if args.schema {
        let schema = serde_json::to_string_pretty(&access_file::json_schema()).expect("JSON") + "\n";
        return Ok(Outcome { code: 0, stdout: schema, stderr: String::new() });
    }
    let registry = Registry::new(&args.global)?;
    let state: AccessState = call(&registry, Request::get("/api/v1/access".to_owned()), None).await?;
    let header = format!(
        "Portcullis access file (docs/ACCESS-AS-CODE.md), exported from {}\nrevision {}; passwords are never exported",
        args.global.registry, state.revision
    );
    let text = access_file::write(&state.document, &header);
    match &args.file {
        None => Ok(Outcome { code: 0, stdout: text, stderr: String::new() }),
        Some(path) => {
            fs::write(path, text)
                .map_err(|error| CliError::Usage(format!("cannot write {}: {error}", path.display())))?;
            Ok(Outcome { code: 0, stdout: String::new(), stderr: format!("wrote {}\n", path.display()) })
        }
    }
}

/// The plan as people read it: `+` create, `~` update, `-` delete, field by
/// field, then the summary, what apply would refuse, and the warnings.
pub fn render_plan(plan: &AccessPlan) -> String {
    let mut text = String::new();
    if plan.changes.is_empty() {
        text.push_str("No changes: the registry's access matches the file.\n");
    } else {
        text.push_str("Portcullis will:\n");
        for change in &plan.changes {
            render_change(&mut text, change);
        }
        let count = |op| plan.changes.iter().filter(|change| change.op == op).count();
        text.push_str(&format!(
            "\nPlan: {} to create, {} to update, {} to delete.\n",
            count(ChangeOp::Create),
            count(ChangeOp::Update),
            count(ChangeOp::Delete)
        ));
        if !plan.generates.is_empty() {
            text.push_str(&format!("Generates passwords: {}.\n", plan.generates.join(", ")));
        }
    }
    for refusal in &plan.downtime {
        text.push_str(&format!("Apply refuses: {refusal}\n"));
    }
    for warning in &plan.warnings {
        text.push_str(&format!("Warning: {warning}\n"));
    }
    text.push_str(&format!("Registry revision: {}\n", plan.revision));
    text
}

fn render_change(text: &mut String, change: &PlannedChange) {
    let (sign, verb) = match change.op {
        ChangeOp::Create => ('+', "create"),
        ChangeOp::Update => ('~', "update"),
        ChangeOp::Delete => ('-', "delete"),
    };
    text.push_str(&format!("  {sign} {verb} {} {}\n", change.kind.as_str(), change.name));
    for field in &change.fields {
        let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
        let values = match change.op {
            ChangeOp::Create => shown(&field.after),
            ChangeOp::Delete => shown(&field.before),
            ChangeOp::Update => format!("{} → {}", shown(&field.before), shown(&field.after)),
        };
        let note = field.note.as_ref().map_or_else(String::new, |note| format!(" ({note})"));
        text.push_str(&format!("      {}: {values}{note}\n", field.field));
    }
}

/// Where the generated passwords go.
enum SecretSink {
    /// Nothing is generated.
    None,
    /// A JSON file `{"token": {"password1": "..."}}`, owner-only, written
    /// beside its final name first and renamed into place.
    File {
        path: PathBuf,
        temporary: PathBuf,
        handle: File,
    },
    /// A command run once per password, the password on its standard
    /// input, `PORTCULLIS_TOKEN`, `PORTCULLIS_SLOT` and `PORTCULLIS_EXPIRY`
    /// in its environment.
    Exec(String),
    Show,
}

impl SecretSink {
    /// Refuses an apply that generates passwords without saying where they
    /// go, and makes sure a secrets file can be written, before anything
    /// changes.
    fn choose(args: &ApplyArgs, generates: &[String]) -> Result<SecretSink, CliError> {
        if let Some(path) = &args.secrets_out {
            let temporary = path.with_file_name(format!(
                ".{}.{}.tmp",
                path.file_name().map_or_else(|| "secrets".into(), |name| name.to_string_lossy()),
                std::process::id()
            ));
            let handle = owner_only(&temporary).map_err(|error| {
                CliError::Usage(format!("cannot write secrets to {}: {error}", path.display()))
            })?;
            return Ok(SecretSink::File { path: path.clone(), temporary, handle });
        }
        if let Some(command) = &args.secrets_exec {
            return Ok(SecretSink::Exec(command.clone()));
        }
        if args.show_secrets {
            return Ok(SecretSink::Show);
        }
        if generates.is_empty() {
            return Ok(SecretSink::None);
        }
        Err(CliError::Usage(format!(
            "this apply generates {} ({}), shown only once: say where they go with --secrets-out FILE, --secrets-exec COMMAND or --show-secrets; nothing was changed",
            if generates.len() == 1 { "a password".to_owned() } else { format!("{} passwords", generates.len()) },
            generates.join(", ")
        )))
    }

    fn deliver(&mut self, secrets: &[GeneratedSecret], stdout: &mut String) -> Result<(), CliError> {
        match self {
            SecretSink::None => Ok(()),
            SecretSink::Show => {
                for secret in secrets {
                    stdout.push_str(&format!(
                        "{} {}: {}\n",
                        secret.token,
                        secret.slot,
                        secret.value.expose()
                    ));
                }
                Ok(())
            }
            SecretSink::File { path, temporary, handle } => {
                let mut json: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
                for secret in secrets {
                    json.entry(&secret.token)
                        .or_default()
                        .insert(secret.slot.as_str(), secret.value.expose());
                }
                let text = serde_json::to_string_pretty(&json).expect("strings serialise") + "\n";
                let written = handle
                    .write_all(text.as_bytes())
                    .and_then(|()| handle.sync_all())
                    .and_then(|()| fs::rename(&*temporary, &*path));
                match written {
                    Ok(()) => {
                        stdout.push_str(&format!(
                            "Wrote {} password(s) to {}.\n",
                            secrets.len(),
                            path.display()
                        ));
                        Ok(())
                    }
                    Err(error) => {
                        let _ = fs::remove_file(&*temporary);
                        Err(CliError::Usage(format!(
                            "the apply succeeded but writing {} failed ({error}): the new passwords are lost; regenerate them with `portcullis token credential generate`",
                            path.display()
                        )))
                    }
                }
            }
            SecretSink::Exec(command) => {
                let mut failed = Vec::new();
                for secret in secrets {
                    let name = format!("{}/{}", secret.token, secret.slot);
                    match run_with_secret(command, secret) {
                        Ok(()) => stdout.push_str(&format!("Handed {name} to --secrets-exec.\n")),
                        Err(why) => failed.push(format!("{name} ({why})")),
                    }
                }
                if failed.is_empty() {
                    return Ok(());
                }
                Err(CliError::Usage(format!(
                    "the apply succeeded but --secrets-exec failed for {}: those passwords are lost; regenerate them with `portcullis token credential generate`",
                    failed.join(", ")
                )))
            }
        }
    }
}

impl Drop for SecretSink {
    fn drop(&mut self) {
        // An apply that never got to write leaves no empty file behind.
        if let SecretSink::File { temporary, .. } = self {
            let _ = fs::remove_file(temporary);
        }
    }
}

/// A new file only its owner can read.
fn owner_only(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn run_with_secret(command: &str, secret: &GeneratedSecret) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("PORTCULLIS_TOKEN", &secret.token)
        .env("PORTCULLIS_SLOT", secret.slot.as_str())
        .env("PORTCULLIS_EXPIRY", secret.expiry.map(portcullis_proto::time::format).unwrap_or_default())
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start sh: {error}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let written = stdin.write_all(secret.value.expose().as_bytes());
    drop(stdin);
    let status = child.wait().map_err(|error| error.to_string())?;
    written.map_err(|error| format!("cannot write the password to it: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("it exited with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use portcullis_proto::{FieldChange, ObjectKind};

    use super::*;

    #[test]
    fn a_plan_reads_like_a_terraform_plan() {
        let plan = AccessPlan {
            revision: "abc".into(),
            changes: vec![
                PlannedChange {
                    op: ChangeOp::Create,
                    kind: ObjectKind::ScopeMap,
                    name: "ci-push".into(),
                    fields: vec![FieldChange {
                        field: "repositories/samples/*".into(),
                        before: None,
                        after: Some("content/read, content/write".into()),
                        note: None,
                    }],
                },
                PlannedChange {
                    op: ChangeOp::Update,
                    kind: ObjectKind::Token,
                    name: "ci-bot".into(),
                    fields: vec![FieldChange {
                        field: "password1".into(),
                        before: Some("version 1, expires never".into()),
                        after: Some("version 2, expires never".into()),
                        note: Some("regenerated: the old password stops working at once".into()),
                    }],
                },
            ],
            generates: vec!["ci-bot/password1".into()],
            downtime: vec![],
            warnings: vec!["token ci-bot: password2 expires 2026-12-20 00:00 UTC (in 16 days)".into()],
        };
        assert_eq!(
            render_plan(&plan),
            "Portcullis will:\n  + create scope map ci-push\n      repositories/samples/*: content/read, content/write\n  \
             ~ update token ci-bot\n      password1: version 1, expires never → version 2, expires never \
             (regenerated: the old password stops working at once)\n\nPlan: 1 to create, 1 to update, 0 to delete.\n\
             Generates passwords: ci-bot/password1.\nWarning: token ci-bot: password2 expires 2026-12-20 00:00 UTC (in 16 days)\n\
             Registry revision: abc\n"
        );
        let none = AccessPlan {
            revision: "abc".into(),
            changes: vec![],
            generates: vec![],
            downtime: vec![],
            warnings: vec![],
        };
        assert!(render_plan(&none).starts_with("No changes"));
    }
}
