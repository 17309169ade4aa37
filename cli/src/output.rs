//! Prints an answer as `--output json|table|tsv`, the way `az` does: JSON
//! indented by two spaces, TSV without headers for scripts, tables with
//! per-resource columns. Pure: returns the text, never writes it.
//!
//! A secret generated for one answer (a token's password, a service
//! principal's client secret) is shown once and never again, so every
//! format shows it: the tables of those answers have a row per secret, and
//! their TSV is the same rows without the header. Should a format still
//! leave one out (an answer of another shape, a `--query` selecting around
//! it), the answer is printed as JSON instead, with a note on standard error.

use chrono::{DateTime, Utc};
use portcullis_proto::{Credentials, Platform, Token};
use serde_json::{Map, Value};

use crate::{args::OutputFormat, plan::Resource};

/// Descriptions longer than this are cut, as in az's scope map table.
const DESCRIPTION_WIDTH: usize = 60;

/// What a command prints for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printout {
    /// The answer in the format asked for (or JSON, see `note`).
    pub stdout: String,
    /// For standard error: the format asked for could not show a secret
    /// the answer carries, so `stdout` is JSON.
    pub note: Option<String>,
}

/// What to print for `value` (nothing for `null`, e.g. a 204 answer or a
/// query matching nothing). `resource` picks the table columns; after
/// `--query` the caller passes [`Resource::Generic`].
pub fn print(value: &Value, format: OutputFormat, resource: Resource) -> Printout {
    let stdout = formatted(value, format, resource);
    let hidden = generated_secrets(value).into_iter().filter(|secret| !stdout.contains(secret)).count();
    if hidden == 0 {
        return Printout { stdout, note: None };
    }
    let format = match format {
        OutputFormat::Json => "json",
        OutputFormat::Table => "table",
        OutputFormat::Tsv => "tsv",
    };
    Printout {
        stdout: formatted(value, OutputFormat::Json, resource),
        note: Some(format!(
            "warning: --output {format} would not show the generated secret in this answer, \
             which is shown only once; printed as JSON instead\n"
        )),
    }
}

/// [`print`]'s standard output.
pub fn render(value: &Value, format: OutputFormat, resource: Resource) -> String {
    print(value, format, resource).stdout
}

fn formatted(value: &Value, format: OutputFormat, resource: Resource) -> String {
    if value.is_null() {
        return String::new();
    }
    match format {
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(value).expect("a JSON value serializes");
            text.push('\n');
            text
        }
        OutputFormat::Tsv => match resource.tsv_is_table().then(|| resource_table(value, resource)).flatten()
        {
            Some(table) => table.tsv(),
            None => tsv(value),
        },
        OutputFormat::Table => resource_table(value, resource).unwrap_or_else(|| generic(value)).render(),
    }
}

/// The secrets generated for this answer: the `value` of each entry of a
/// `passwords` (tokens) or `secrets` (service principals) list, wherever
/// the answer holds one. Listings and `show` never carry them.
fn generated_secrets(value: &Value) -> Vec<&str> {
    let mut found = Vec::new();
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                for (key, field) in map {
                    if let ("passwords" | "secrets", Value::Array(entries)) = (key.as_str(), field) {
                        found.extend(entries.iter().filter_map(|entry| entry.get("value")?.as_str()));
                    }
                    pending.push(field);
                }
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    found
}

impl Resource {
    /// Whether `--output tsv` prints the table's rows (without the header)
    /// rather than the answer's scalar fields: for answers whose table
    /// shows what the fields do not (a new secret, a manifest's tags).
    fn tsv_is_table(self) -> bool {
        matches!(
            self,
            Resource::NewToken | Resource::Credentials | Resource::NewClientSecret | Resource::Manifest
        )
    }
}

// ---------------------------------------------------------------------------
// TSV

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// A scalar as a script wants it: strings without quotes, `null` empty.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn tsv(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(|item| tsv_line(item) + "\n").collect(),
        other => tsv_line(other) + "\n",
    }
}

/// One line: a scalar, or the scalar fields of an object (in key order) or
/// elements of an array, tab-separated. Nested objects and arrays are left
/// out, as az does.
fn tsv_line(value: &Value) -> String {
    let fields: Vec<String> = match value {
        Value::Object(map) => map.values().filter(|v| is_scalar(v)).map(scalar_text).collect(),
        Value::Array(items) => items.iter().filter(|v| is_scalar(v)).map(scalar_text).collect(),
        scalar => vec![scalar_text(scalar)],
    };
    fields.join("\t")
}

// ---------------------------------------------------------------------------
// Tables

/// A header and how to fill its cell from one object.
type Column = (&'static str, fn(&Map<String, Value>) -> String);

struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Header, dashed rule, rows; columns left-aligned, as wide as their
    /// widest cell, two spaces apart; no trailing blanks.
    fn render(&self) -> String {
        if self.rows.is_empty() || self.headers.is_empty() {
            return String::new();
        }
        let width = |column: usize| {
            self.rows
                .iter()
                .map(|row| row[column].chars().count())
                .chain([self.headers[column].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> =
                cells.iter().zip(&widths).map(|(cell, &width)| format!("{cell:<width$}")).collect();
            padded.join("  ").trim_end().to_owned() + "\n"
        };
        let rule: Vec<String> = widths.iter().map(|&width| "-".repeat(width)).collect();
        let mut text = line(&self.headers);
        text.push_str(&line(&rule));
        for row in &self.rows {
            text.push_str(&line(row));
        }
        text
    }
}

impl Table {
    /// The rows without the header, tab-separated; a tab or line break
    /// inside a cell becomes a space, so each row stays one line.
    fn tsv(&self) -> String {
        let clean = |cell: &String| cell.replace(['\t', '\n', '\r'], " ");
        self.rows.iter().map(|row| row.iter().map(clean).collect::<Vec<_>>().join("\t") + "\n").collect()
    }
}

/// The objects to show one per row: an array of objects or one object.
fn objects(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    match value {
        Value::Object(map) => Some(vec![map]),
        Value::Array(items) => items.iter().map(Value::as_object).collect(),
        _ => None,
    }
}

/// The table of `resource`, or `None` when the answer does not have its
/// shape (the caller then shows the generic table).
fn resource_table(value: &Value, resource: Resource) -> Option<Table> {
    let rows = objects(value)?;
    let columns: &[Column] = match resource {
        Resource::Generic => return None,
        Resource::ScopeMap => &[
            ("NAME", |m| text(m, "name")),
            ("TYPE", |m| text(m, "type")),
            ("CREATION DATE", |m| text(m, "creationDate")),
            ("DESCRIPTION", |m| truncate(&text(m, "description"), DESCRIPTION_WIDTH)),
        ],
        Resource::Token => TOKEN_COLUMNS,
        Resource::NewToken => {
            // A `Token` with the values of the passwords just generated; the
            // token's own row when it was created without passwords.
            let [token] = rows.as_slice() else { return None };
            let token: Token = serde_json::from_value(Value::Object((*token).clone())).ok()?;
            if token.credentials.passwords.iter().all(|password| password.value.is_none()) {
                return Some(build(TOKEN_COLUMNS, &rows));
            }
            return Some(new_passwords(&token.credentials));
        }
        Resource::Credentials => {
            // `{"username", "passwords": [..]}`: one row per generated password.
            let [credentials] = rows.as_slice() else { return None };
            let credentials: Credentials =
                serde_json::from_value(Value::Object((*credentials).clone())).ok()?;
            return Some(new_passwords(&credentials));
        }
        Resource::Audit => &[
            ("TIME", |m| text(m, "time")),
            ("CALLER", |m| text(m, "caller")),
            ("TOKEN", |m| text(m, "token")),
            ("REPOSITORY", |m| text(m, "repository")),
            ("ACTION", |m| text(m, "action")),
            ("OUTCOME", |m| text(m, "outcome")),
        ],
        Resource::Manifest => &[
            ("DIGEST", |m| text(m, "digest")),
            ("MEDIA TYPE", |m| text(m, "mediaType")),
            ("TAGS", |m| text(m, "tags")),
            ("CREATED", |m| text(m, "createdTime")),
            ("PLATFORMS", |m| platforms(m.get("platforms"))),
        ],
        Resource::User => &[
            ("NAME", |m| text(m, "name")),
            ("DISPLAY NAME", |m| text(m, "displayName")),
            ("ENABLED", |m| text(m, "enabled")),
            ("GROUPS", |m| text(m, "groups")),
            ("CREATED AT", |m| text(m, "createdAt")),
            ("LAST SIGN-IN", |m| text(m, "lastSignInAt")),
        ],
        Resource::Group => &[
            ("NAME", |m| text(m, "name")),
            ("MEMBERS", |m| identities(m.get("members"))),
            ("CREATED AT", |m| text(m, "createdAt")),
            ("DESCRIPTION", |m| truncate(&text(m, "description"), DESCRIPTION_WIDTH)),
        ],
        Resource::ServicePrincipal => &[
            ("NAME", |m| text(m, "name")),
            ("APP ID", |m| text(m, "appId")),
            ("ENABLED", |m| text(m, "enabled")),
            ("SECRETS", |m| m.get("secrets").and_then(Value::as_array).map_or(0, Vec::len).to_string()),
            ("GROUPS", |m| text(m, "groups")),
            ("LAST SIGN-IN", |m| text(m, "lastSignInAt")),
            ("DESCRIPTION", |m| truncate(&text(m, "description"), DESCRIPTION_WIDTH)),
        ],
        Resource::NewClientSecret => return new_secrets(&rows),
        Resource::ClientSecrets => &[
            ("KEY ID", |m| text(m, "keyId")),
            ("DESCRIPTION", |m| truncate(&text(m, "description"), DESCRIPTION_WIDTH)),
            ("CREATED AT", |m| text(m, "createdAt")),
            ("EXPIRES AT", |m| expiry_text(m.get("expiresAt"))),
        ],
        Resource::FederatedCredentials => &[
            ("NAME", |m| text(m, "name")),
            ("ISSUER", |m| text(m, "issuer")),
            ("AUDIENCE", |m| text(m, "audience")),
            ("SUBJECT", |m| text(m, "subject")),
            ("KEYS", |m| {
                if m.get("jwks").is_some_and(|v| !v.is_null()) {
                    "inline".into()
                } else {
                    "published".into()
                }
            }),
            ("CREATED AT", |m| text(m, "createdAt")),
        ],
        Resource::RoleDefinition => &[
            ("NAME", |m| text(m, "name")),
            ("CONDITIONS", |m| yes_no(m.get("abacEnabled"))),
            ("DESCRIPTION", |m| text(m, "description")),
        ],
        Resource::RoleAssignment => &[
            ("ID", |m| text(m, "name")),
            ("ROLE", |m| text(m, "role")),
            ("ASSIGNEE", |m| identity(m.get("assignee"))),
            ("CONDITION", |m| match m.get("condition") {
                None | Some(Value::Null) => "(every repository)".to_owned(),
                Some(condition) => truncate(&cell(condition), DESCRIPTION_WIDTH),
            }),
            ("HONOURED", |m| yes_no(m.get("honoured"))),
            ("WARNINGS", |m| m.get("warnings").and_then(Value::as_array).map_or(0, Vec::len).to_string()),
        ],
        Resource::AccessCheck => {
            // `{"assignee", "repository", "actions": [..]}`: one row per action.
            let actions: Option<Vec<&Map<String, Value>>> = match rows.as_slice() {
                [check] => check
                    .get("actions")
                    .and_then(Value::as_array)
                    .and_then(|actions| actions.iter().map(Value::as_object).collect()),
                _ => None,
            };
            let actions = actions?;
            let columns: &[Column] = &[
                ("ACTION", |m| text(m, "action")),
                ("GRANTED", |m| yes_no(m.get("granted"))),
                ("GRANTED BY", |m| assignment_refs(m.get("grantedBy"))),
                ("NOT GIVEN BY (WHY)", |m| assignment_refs(m.get("notGivenBy"))),
            ];
            return Some(build(columns, &actions));
        }
        Resource::ModePreview => {
            let changes: Option<Vec<&Map<String, Value>>> = match rows.as_slice() {
                [preview] => preview
                    .get("changes")
                    .and_then(Value::as_array)
                    .and_then(|changes| changes.iter().map(Value::as_object).collect()),
                _ => None,
            };
            let changes = changes?;
            let columns: &[Column] = &[
                ("ASSIGNMENT", |m| text(m, "assignment")),
                ("ASSIGNEE", |m| identity(m.get("assignee"))),
                ("ROLE", |m| text(m, "role")),
                ("NOW", |m| text(m, "before")),
                ("AFTER THE SWITCH", |m| text(m, "after")),
            ];
            return Some(build(columns, &changes));
        }
    };
    Some(build(columns, &rows))
}

const TOKEN_COLUMNS: &[Column] = &[
    ("NAME", |m| text(m, "name")),
    ("SCOPE MAP", |m| text(m, "scopeMap")),
    ("STATUS", |m| text(m, "status")),
    ("CREATION DATE", |m| text(m, "creationDate")),
    ("LAST USED", |m| text(m, "lastUsed")),
    ("PASSWORD1 EXPIRY", |m| password_expiry(m, "password1")),
    ("PASSWORD2 EXPIRY", |m| password_expiry(m, "password2")),
];

/// A token's passwords as generated (password1 first): one row each with
/// what `docker login` needs.
fn new_passwords(credentials: &Credentials) -> Table {
    let headers = ["USERNAME", "PASSWORD", "VALUE", "EXPIRY"];
    let rows = credentials
        .passwords
        .iter()
        .map(|password| {
            vec![
                credentials.username.clone(),
                password.name.to_string(),
                password.value.as_ref().map(|value| value.expose().to_owned()).unwrap_or_default(),
                password.expiry.map_or_else(|| "never".to_owned(), time_cell),
            ]
        })
        .collect();
    Table { headers: headers.map(str::to_owned).to_vec(), rows }
}

fn time_cell(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A service principal's secrets that carry their `value` (only in the
/// answer that created them), one row each with what `docker login` needs.
fn new_secrets(principals: &[&Map<String, Value>]) -> Option<Table> {
    let headers = ["NAME", "APP ID", "KEY ID", "SECRET", "EXPIRES AT"];
    let mut rows = Vec::new();
    for principal in principals {
        for secret in principal.get("secrets")?.as_array()? {
            let secret = secret.as_object()?;
            if secret.get("value").is_none_or(Value::is_null) {
                continue;
            }
            rows.push(vec![
                text(principal, "name"),
                text(principal, "appId"),
                text(secret, "keyId"),
                text(secret, "value"),
                expiry_text(secret.get("expiresAt")),
            ]);
        }
    }
    (!rows.is_empty()).then(|| Table { headers: headers.map(str::to_owned).to_vec(), rows })
}

/// `[Platform]` as `linux/amd64, linux/arm64/v8`.
fn platforms(value: Option<&Value>) -> String {
    let platforms: Vec<Platform> =
        value.and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    platforms.iter().map(Platform::to_string).collect::<Vec<_>>().join(", ")
}

fn yes_no(value: Option<&Value>) -> String {
    match value.and_then(Value::as_bool) {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => String::new(),
    }
}

/// `{"kind": "user", "name": "alice"}` -> `user alice`; the anonymous
/// principal is just `anonymous`.
fn identity(value: Option<&Value>) -> String {
    let Some(value) = value else { return String::new() };
    let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
    match (field("kind"), field("name")) {
        ("anonymous", _) => "anonymous".to_owned(),
        (kind, name) => format!("{kind} {name}").trim().to_owned(),
    }
}

fn identities(value: Option<&Value>) -> String {
    let items = value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items.iter().map(|item| identity(Some(item))).collect::<Vec<_>>().join(", ")
}

/// `AssignmentRef`s as `Role (group devs): reason`, `; `-separated.
fn assignment_refs(value: Option<&Value>) -> String {
    let items = value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|item| {
            let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
            let mut text = format!("{role} ({})", identity(item.get("assignee")));
            if let Some(reason) = item.get("reason").and_then(Value::as_str) {
                text.push_str(": ");
                text.push_str(reason);
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------
// Notes on standard error

/// The `warnings` of the role assignment(s) in `value`, one
/// `warning: ...` line each (naming the assignment when the answer is a
/// list); empty when there are none.
pub fn warnings(value: &Value) -> String {
    let lines = |assignment: &Value, named: bool| -> Vec<String> {
        let warnings =
            assignment.get("warnings").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let id = assignment.get("name").and_then(Value::as_str).unwrap_or_default();
        warnings
            .iter()
            .filter_map(Value::as_str)
            .map(|warning| {
                // One line each, whatever the server wrote.
                let warning = warning.split_whitespace().collect::<Vec<_>>().join(" ");
                if named {
                    format!("warning: role assignment {id}: {warning}\n")
                } else {
                    format!("warning: {warning}\n")
                }
            })
            .collect()
    };
    match value {
        Value::Array(items) => items.iter().flat_map(|item| lines(item, true)).collect(),
        other => lines(other, false).concat(),
    }
}

/// The refusal that ends `registry update` without `--yes`, after the
/// preview (`ModePreview`) was printed.
pub fn unchanged_mode(preview: &Value) -> Result<String, String> {
    let mode = |key: &str| {
        preview
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("expected a mode preview with {key:?}"))
    };
    let (from, to) = (mode("from")?, mode("to")?);
    let changes =
        preview.get("changes").and_then(Value::as_array).ok_or("expected a mode preview with \"changes\"")?;
    let what = match changes.len() {
        0 => "no role assignment gives anything different".to_owned(),
        1 => "1 role assignment gives something different (above)".to_owned(),
        n => format!("{n} role assignments give something different (above)"),
    };
    Ok(format!(
        "the role assignment mode is still {from}: after a switch to {to}, {what}; pass --yes to switch"
    ))
}

fn build(columns: &[Column], rows: &[&Map<String, Value>]) -> Table {
    Table {
        headers: columns.iter().map(|(header, _)| (*header).to_owned()).collect(),
        rows: rows.iter().map(|row| columns.iter().map(|(_, cell)| cell(row)).collect()).collect(),
    }
}

/// A field as a cell; times shortened to whole seconds in UTC.
fn text(map: &Map<String, Value>, key: &str) -> String {
    map.get(key).map(cell).unwrap_or_default()
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(time) => time_cell(time.to_utc()),
            Err(_) => text.clone(),
        },
        Value::Array(items) => items.iter().filter(|v| is_scalar(v)).map(cell).collect::<Vec<_>>().join(", "),
        Value::Object(_) => String::new(),
        scalar => scalar_text(scalar),
    }
}

fn expiry_text(expiry: Option<&Value>) -> String {
    match expiry {
        None | Some(Value::Null) => "never".to_owned(),
        Some(time) => cell(time),
    }
}

/// "not generated" for an empty slot, "never" for a password without expiry.
fn password_expiry(token: &Map<String, Value>, slot: &str) -> String {
    let password = token
        .get("credentials")
        .and_then(|credentials| credentials.get("passwords"))
        .and_then(Value::as_array)
        .and_then(|passwords| passwords.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(slot)));
    match password {
        None => "not generated".to_owned(),
        Some(password) => expiry_text(password.get("expiry")),
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().take(width - 3).collect();
    format!("{kept}...")
}

/// `creationDate` -> `CREATION DATE`.
fn header(key: &str) -> String {
    let mut header = String::new();
    for (i, c) in key.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            header.push(' ');
        }
        if c == '_' || c == '-' {
            header.push(' ');
        } else {
            header.extend(c.to_uppercase());
        }
    }
    header
}

/// Any value: objects by their scalar fields (and lists of scalars),
/// anything else as one `RESULT` column.
fn generic(value: &Value) -> Table {
    let Some(rows) = objects(value) else {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        return Table {
            headers: vec!["RESULT".to_owned()],
            rows: items.into_iter().map(|v| vec![cell(v)]).collect(),
        };
    };
    let showable = |value: &Value| match value {
        Value::Object(_) => false,
        Value::Array(items) => items.iter().all(is_scalar),
        _ => true,
    };
    let mut keys: Vec<&str> = Vec::new();
    for row in &rows {
        for (key, value) in row.iter() {
            if showable(value) && !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
    }
    Table {
        headers: keys.iter().map(|key| header(key)).collect(),
        rows: rows.iter().map(|row| keys.iter().map(|key| text(row, key)).collect()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope_maps() -> Value {
        json!([
            {"name": "_repositories_admin", "type": "SystemDefined", "creationDate": "2020-01-20T09:44:24.123456Z",
             "description": "Can perform all read, write and delete operations on the registry", "actions": [],
             "repositories": [], "tokenCount": 0},
            {"name": "MyScopeMap", "type": "UserDefined", "creationDate": "2019-11-15T21:17:34Z",
             "description": "Sample scope map", "actions": [], "repositories": [], "tokenCount": 1}
        ])
    }

    fn token() -> Value {
        json!({
            "name": "MyToken", "creationDate": "2026-11-23T16:30:00Z", "status": "enabled",
            "scopeMap": "MyToken-scope-map", "lastUsed": null,
            "credentials": {"username": "MyToken", "passwords": [
                {"name": "password2", "creationTime": "2026-11-23T16:30:00Z", "expiry": "2026-12-23T16:30:00Z"}
            ]}
        })
    }

    #[test]
    fn json_is_indented_by_two_and_sorted_by_key() {
        assert_eq!(
            render(&json!({"name": "v1", "digest": "sha256:ab"}), OutputFormat::Json, Resource::Generic),
            "{\n  \"digest\": \"sha256:ab\",\n  \"name\": \"v1\"\n}\n"
        );
        assert_eq!(render(&json!(["v1"]), OutputFormat::Json, Resource::Generic), "[\n  \"v1\"\n]\n");
        assert_eq!(render(&Value::Null, OutputFormat::Json, Resource::Generic), "");
    }

    #[test]
    fn tsv_prints_scalars_raw() {
        let tsv = |value: Value| render(&value, OutputFormat::Tsv, Resource::Generic);
        assert_eq!(tsv(json!("pct_secret")), "pct_secret\n");
        assert_eq!(tsv(json!(42)), "42\n");
        assert_eq!(tsv(json!(true)), "true\n");
        assert_eq!(tsv(json!(["v1", "v2"])), "v1\nv2\n");
        // Objects: scalar values in key order, nested values left out,
        // null as an empty field.
        assert_eq!(
            tsv(json!({"name": "MyToken", "status": "enabled", "lastUsed": null, "credentials": {"x": 1}})),
            "\tMyToken\tenabled\n"
        );
        assert_eq!(tsv(json!([{"b": 2, "a": "x"}, {"a": "y", "b": 3}])), "x\t2\ny\t3\n");
        assert_eq!(tsv(Value::Null), "");
    }

    #[test]
    fn scope_map_table_like_az() {
        let table = render(&scope_maps(), OutputFormat::Table, Resource::ScopeMap);
        let expected = "\
NAME                 TYPE           CREATION DATE         DESCRIPTION
-------------------  -------------  --------------------  ------------------------------------------------------------
_repositories_admin  SystemDefined  2020-01-20T09:44:24Z  Can perform all read, write and delete operations on the ...
MyScopeMap           UserDefined    2019-11-15T21:17:34Z  Sample scope map
";
        assert_eq!(table, expected);
    }

    #[test]
    fn token_table_shows_password_expiry() {
        let table = render(&token(), OutputFormat::Table, Resource::Token);
        let expected = "\
NAME     SCOPE MAP          STATUS   CREATION DATE         LAST USED  PASSWORD1 EXPIRY  PASSWORD2 EXPIRY
-------  -----------------  -------  --------------------  ---------  ----------------  --------------------
MyToken  MyToken-scope-map  enabled  2026-11-23T16:30:00Z             not generated     2026-12-23T16:30:00Z
";
        assert_eq!(table, expected);
        let mut never = token();
        never["credentials"]["passwords"] =
            json!([{"name": "password1", "creationTime": "2026-11-23T16:30:00Z", "expiry": null}]);
        let table = render(&json!([never]), OutputFormat::Table, Resource::Token);
        let row = table.lines().nth(2).unwrap();
        assert!(row.ends_with("never             not generated"), "{row}");
    }

    #[test]
    fn credentials_table_lists_the_new_passwords() {
        let answer = json!({"username": "MyToken", "passwords": [
            {"name": "password1", "value": "pct_abc", "creationTime": "2026-11-23T16:30:00.5Z", "expiry": null},
            {"name": "password2", "value": "pct_def", "creationTime": "2026-11-23T16:30:00.5Z",
             "expiry": "2026-12-23T16:30:00.25Z"}
        ]});
        assert_eq!(
            render(&answer, OutputFormat::Table, Resource::Credentials),
            "\
USERNAME  PASSWORD   VALUE    EXPIRY
--------  ---------  -------  --------------------
MyToken   password1  pct_abc  never
MyToken   password2  pct_def  2026-12-23T16:30:00Z
"
        );
        assert_eq!(
            render(&answer, OutputFormat::Tsv, Resource::Credentials),
            "MyToken\tpassword1\tpct_abc\tnever\nMyToken\tpassword2\tpct_def\t2026-12-23T16:30:00Z\n"
        );
    }

    #[test]
    fn a_new_token_shows_its_passwords_in_every_format() {
        let mut created = token();
        created["credentials"]["passwords"] = json!([
            {"name": "password1", "value": "pct_one", "creationTime": "2026-11-23T16:30:00Z", "expiry": null},
            {"name": "password2", "value": "pct_two", "creationTime": "2026-11-23T16:30:00Z", "expiry": null}
        ]);
        assert_eq!(
            render(&created, OutputFormat::Table, Resource::NewToken),
            "\
USERNAME  PASSWORD   VALUE    EXPIRY
--------  ---------  -------  ------
MyToken   password1  pct_one  never
MyToken   password2  pct_two  never
"
        );
        assert_eq!(
            render(&created, OutputFormat::Tsv, Resource::NewToken),
            "MyToken\tpassword1\tpct_one\tnever\nMyToken\tpassword2\tpct_two\tnever\n"
        );
        assert_eq!(
            render(&created, OutputFormat::Json, Resource::NewToken),
            render(&created, OutputFormat::Json, Resource::Generic)
        );
        // `--no-passwords`: nothing to show once, so the token's own row.
        let mut bare = token();
        bare["credentials"]["passwords"] = json!([]);
        assert_eq!(
            render(&bare, OutputFormat::Table, Resource::NewToken),
            render(&bare, OutputFormat::Table, Resource::Token)
        );
        assert!(render(&bare, OutputFormat::Tsv, Resource::NewToken)
            .starts_with("MyToken\tMyToken-scope-map\tenabled\t"));
    }

    #[test]
    fn a_format_that_would_hide_a_new_secret_prints_json_and_says_so() {
        let answer = json!({"username": "MyToken", "passwords": [
            {"name": "password1", "value": "pct_abc", "creationTime": "2026-11-23T16:30:00Z", "expiry": null}
        ]});
        // As after `--query`: the generic TSV shows only the scalar `username`.
        let printout = print(&answer, OutputFormat::Tsv, Resource::Generic);
        assert_eq!(printout.stdout, render(&answer, OutputFormat::Json, Resource::Generic));
        let note = printout.note.expect("a note on stderr");
        assert!(note.starts_with("warning: --output tsv would not show the generated secret"), "{note}");
        // An answer of an unexpected shape for its resource, and a secret of
        // a service principal shown with the columns of a listing.
        let odd = json!([{"secrets": [{"keyId": "k", "value": "pcs_x"}]}]);
        assert!(print(&odd, OutputFormat::Table, Resource::Credentials).stdout.contains("pcs_x"));
        assert!(print(&odd, OutputFormat::Table, Resource::ServicePrincipal).note.is_some());
        // Nothing secret, nothing noted; a query that selects the value alone keeps the format.
        assert_eq!(print(&token(), OutputFormat::Tsv, Resource::Token).note, None);
        assert_eq!(
            print(&json!("pct_abc"), OutputFormat::Tsv, Resource::Generic),
            Printout { stdout: "pct_abc\n".into(), note: None }
        );
    }

    #[test]
    fn manifest_table_and_tsv() {
        use portcullis_proto::{Attributes, Manifest};
        let attributes =
            Attributes { delete_enabled: true, write_enabled: true, read_enabled: true, list_enabled: true };
        let platform = |os: &str, architecture: &str, variant: Option<&str>| Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: variant.map(str::to_owned),
        };
        let index = Manifest {
            digest: "sha256:1d".into(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            artifact_type: None,
            size: 500,
            total_size: 3000,
            created_time: "2026-11-23T16:31:00.123456Z".parse().unwrap(),
            tags: vec!["latest".into(), "v1".into()],
            platforms: vec![platform("linux", "amd64", None), platform("linux", "arm64", Some("v8"))],
            index_platform: None,
            changeable_attributes: attributes,
        };
        let image = Manifest {
            digest: "sha256:2e".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: Some("application/vnd.oci.image.config.v1+json".into()),
            size: 400,
            total_size: 1400,
            created_time: "2026-11-23T16:30:00Z".parse().unwrap(),
            tags: vec![],
            platforms: vec![platform("linux", "amd64", None)],
            index_platform: Some(platform("linux", "amd64", None)),
            changeable_attributes: attributes,
        };
        let answer = serde_json::to_value([&index, &image]).unwrap();
        assert_eq!(
            render(&answer, OutputFormat::Table, Resource::Manifest),
            "\
DIGEST     MEDIA TYPE                                  TAGS        CREATED               PLATFORMS
---------  ------------------------------------------  ----------  --------------------  ---------------------------
sha256:1d  application/vnd.oci.image.index.v1+json     latest, v1  2026-11-23T16:31:00Z  linux/amd64, linux/arm64/v8
sha256:2e  application/vnd.oci.image.manifest.v1+json              2026-11-23T16:30:00Z  linux/amd64
"
        );
        assert_eq!(
            render(&answer, OutputFormat::Tsv, Resource::Manifest),
            "sha256:1d\tapplication/vnd.oci.image.index.v1+json\tlatest, v1\t2026-11-23T16:31:00Z\tlinux/amd64, linux/arm64/v8\n\
             sha256:2e\tapplication/vnd.oci.image.manifest.v1+json\t\t2026-11-23T16:30:00Z\tlinux/amd64\n"
        );
        // `show-metadata`: one object, one row.
        let one = serde_json::to_value(&image).unwrap();
        assert_eq!(render(&one, OutputFormat::Tsv, Resource::Manifest).lines().count(), 1);
    }

    #[test]
    fn audit_table() {
        let entries = json!([
            {"id": 2, "time": "2026-11-23T16:31:00Z", "caller": "token:MyToken", "token": "MyToken",
             "repository": "samples/nginx", "action": "content/write", "outcome": "denied", "detail": null},
            {"id": 1, "time": "2026-11-23T16:30:00Z", "caller": "admin:admin", "token": "MyToken",
             "repository": null, "action": "token.create", "outcome": "success", "detail": null}
        ]);
        assert_eq!(
            render(&entries, OutputFormat::Table, Resource::Audit),
            "\
TIME                  CALLER         TOKEN    REPOSITORY     ACTION         OUTCOME
--------------------  -------------  -------  -------------  -------------  -------
2026-11-23T16:31:00Z  token:MyToken  MyToken  samples/nginx  content/write  denied
2026-11-23T16:30:00Z  admin:admin    MyToken                 token.create   success
"
        );
    }

    #[test]
    fn generic_tables() {
        let tags = json!([
            {"name": "v1", "digest": "sha256:ab", "createdTime": "2026-11-23T16:30:00Z",
             "changeableAttributes": {"readEnabled": true}},
        ]);
        assert_eq!(
            render(&tags, OutputFormat::Table, Resource::Generic),
            "\
CREATED TIME          DIGEST     NAME
--------------------  ---------  ----
2026-11-23T16:30:00Z  sha256:ab  v1
"
        );
        assert_eq!(
            render(&json!(["v1", "v2"]), OutputFormat::Table, Resource::Generic),
            "RESULT\n------\nv1\nv2\n"
        );
        assert_eq!(
            render(&json!("pct_x"), OutputFormat::Table, Resource::Generic),
            "RESULT\n------\npct_x\n"
        );
        assert_eq!(
            render(
                &json!({"manifestsDeleted": ["sha256:a", "sha256:b"], "tagsDeleted": ["v1"]}),
                OutputFormat::Table,
                Resource::Generic
            ),
            "\
MANIFESTS DELETED   TAGS DELETED
------------------  ------------
sha256:a, sha256:b  v1
"
        );
        assert_eq!(render(&json!([]), OutputFormat::Table, Resource::ScopeMap), "");
        // A shape the resource does not fit falls back to the generic table.
        assert_eq!(render(&json!(["x"]), OutputFormat::Table, Resource::Token), "RESULT\n------\nx\n");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("short", 60), "short");
        assert_eq!(truncate(&"é".repeat(60), 60), "é".repeat(60));
        assert_eq!(truncate(&"é".repeat(61), 60), format!("{}...", "é".repeat(57)));
        assert_eq!(header("creationDate"), "CREATION DATE");
        assert_eq!(header("tokenCount"), "TOKEN COUNT");
    }

    fn assignment(warnings: Value) -> Value {
        json!({"name": "5e1d", "role": "Container Registry Repository Reader",
               "assignee": {"kind": "group", "name": "devs"},
               "condition": "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWith 'backend'",
               "conditionVersion": "2.0", "description": "", "honoured": true, "warnings": warnings,
               "createdAt": "2026-11-23T16:30:00.000000Z", "createdBy": "user:admin",
               "updatedAt": "2026-11-23T16:30:00.000000Z"})
    }

    #[test]
    fn role_assignment_table_counts_warnings() {
        let registry_wide = json!({"name": "77aa", "role": "Owner", "assignee": {"kind": "anonymous", "name": "anonymous"},
            "condition": null, "conditionVersion": null, "description": "", "honoured": true, "warnings": [],
            "createdAt": "2026-11-23T16:30:00Z", "createdBy": "user:admin", "updatedAt": "2026-11-23T16:30:00Z"});
        let list = json!([assignment(json!(["a", "b"])), registry_wide]);
        assert_eq!(
            render(&list, OutputFormat::Table, Resource::RoleAssignment),
            "\
ID    ROLE                                  ASSIGNEE    CONDITION                                                     HONOURED  WARNINGS
----  ------------------------------------  ----------  ------------------------------------------------------------  --------  --------
5e1d  Container Registry Repository Reader  group devs  @Request[Microsoft.ContainerRegistry/registries/repositor...  yes       2
77aa  Owner                                 anonymous   (every repository)                                            yes       0
"
        );
    }

    #[test]
    fn warnings_are_one_line_each() {
        let pitfall = "'backend' has no trailing '/': it also matches names such as backend-infra/k8s";
        let unrestricted =
            "content/write is not restricted by the condition: it is granted on every repository";
        let one = assignment(json!([pitfall, unrestricted]));
        assert_eq!(warnings(&one), format!("warning: {pitfall}\nwarning: {unrestricted}\n"));
        assert_eq!(
            warnings(&json!([one, assignment(json!([]))])),
            format!(
                "warning: role assignment 5e1d: {pitfall}\nwarning: role assignment 5e1d: {unrestricted}\n"
            )
        );
        assert_eq!(warnings(&assignment(json!(["two\nlines"]))), "warning: two lines\n");
        assert_eq!(warnings(&Value::Null), "");
        assert_eq!(warnings(&json!({"roleAssignmentMode": "rbac"})), "");
    }

    #[test]
    fn a_new_secret_is_shown_with_what_docker_login_needs() {
        let principal = json!({"name": "ci", "appId": "0b8e", "description": "", "enabled": true,
        "createdAt": "2026-11-23T16:30:00Z", "lastSignInAt": null, "groups": [],
        "secrets": [
            {"keyId": "k-old", "description": "", "createdAt": "2026-11-01T00:00:00Z", "expiresAt": null},
            {"keyId": "k-new", "description": "gh", "createdAt": "2026-11-23T16:30:00Z",
             "expiresAt": "2027-06-30T00:00:00Z", "value": "pcs_SECRET"}
        ]});
        assert_eq!(
            render(&principal, OutputFormat::Table, Resource::NewClientSecret),
            "\
NAME  APP ID  KEY ID  SECRET      EXPIRES AT
----  ------  ------  ----------  --------------------
ci    0b8e    k-new   pcs_SECRET  2027-06-30T00:00:00Z
"
        );
        assert_eq!(
            render(&principal, OutputFormat::Tsv, Resource::NewClientSecret),
            "ci\t0b8e\tk-new\tpcs_SECRET\t2027-06-30T00:00:00Z\n"
        );
        // `sp show`: the same principal without the value.
        let mut principal = principal;
        principal["secrets"][1].as_object_mut().unwrap().remove("value");
        assert_eq!(
            render(&principal, OutputFormat::Table, Resource::ServicePrincipal),
            "\
NAME  APP ID  ENABLED  SECRETS  GROUPS  LAST SIGN-IN  DESCRIPTION
----  ------  -------  -------  ------  ------------  -----------
ci    0b8e    true     2
"
        );
        assert_eq!(
            render(&principal["secrets"], OutputFormat::Table, Resource::ClientSecrets),
            "\
KEY ID  DESCRIPTION  CREATED AT            EXPIRES AT
------  -----------  --------------------  --------------------
k-old                2026-11-01T00:00:00Z  never
k-new   gh           2026-11-23T16:30:00Z  2027-06-30T00:00:00Z
"
        );
    }

    #[test]
    fn user_and_group_tables() {
        let user = json!({"name": "alice", "displayName": "Alice", "enabled": true,
            "createdAt": "2026-11-23T16:30:00.123456Z", "lastSignInAt": null, "groups": ["devs", "ops"]});
        assert_eq!(
            render(&json!([user]), OutputFormat::Table, Resource::User),
            "\
NAME   DISPLAY NAME  ENABLED  GROUPS     CREATED AT            LAST SIGN-IN
-----  ------------  -------  ---------  --------------------  ------------
alice  Alice         true     devs, ops  2026-11-23T16:30:00Z
"
        );
        let group = json!({"name": "devs", "description": "Developers", "createdAt": "2026-11-23T16:30:00Z",
            "members": [{"kind": "user", "name": "alice"}, {"kind": "service-principal", "name": "ci"}]});
        assert_eq!(
            render(&group, OutputFormat::Table, Resource::Group),
            "\
NAME  MEMBERS                           CREATED AT            DESCRIPTION
----  --------------------------------  --------------------  -----------
devs  user alice, service-principal ci  2026-11-23T16:30:00Z  Developers
"
        );
    }

    #[test]
    fn check_access_table_says_who_grants_and_why_not() {
        let check = json!({"assignee": {"kind": "user", "name": "alice"}, "repository": "backend/api",
        "mode": "rbac-abac", "listsEveryRepository": false, "actions": [
            {"action": "content/read", "granted": true, "notGivenBy": [],
             "grantedBy": [{"assignment": "5e1d", "role": "Container Registry Repository Reader",
                            "assignee": {"kind": "group", "name": "devs"}}]},
            {"action": "content/write", "granted": false, "grantedBy": [],
             "notGivenBy": [{"assignment": "9c0f", "role": "Container Registry Repository Writer",
                             "assignee": {"kind": "user", "name": "alice"}, "reason": "condition false"}]}
        ]});
        assert_eq!(
            render(&check, OutputFormat::Table, Resource::AccessCheck),
            "\
ACTION         GRANTED  GRANTED BY                                         NOT GIVEN BY (WHY)
-------------  -------  -------------------------------------------------  ------------------------------------------------------------------
content/read   yes      Container Registry Repository Reader (group devs)
content/write  no                                                          Container Registry Repository Writer (user alice): condition false
"
        );
    }

    #[test]
    fn mode_preview_table_and_refusal() {
        let preview = json!({"from": "rbac", "to": "rbac-abac", "changes": [
            {"assignment": "5e1d", "assignee": {"kind": "group", "name": "devs"},
             "role": "Container Registry Repository Reader", "before": "nothing (condition not honoured)",
             "after": "content/read, metadata/read where the condition holds"}]});
        assert_eq!(
            render(&preview, OutputFormat::Table, Resource::ModePreview),
            "\
ASSIGNMENT  ASSIGNEE    ROLE                                  NOW                               AFTER THE SWITCH
----------  ----------  ------------------------------------  --------------------------------  -----------------------------------------------------
5e1d        group devs  Container Registry Repository Reader  nothing (condition not honoured)  content/read, metadata/read where the condition holds
"
        );
        assert_eq!(
            unchanged_mode(&preview).unwrap(),
            "the role assignment mode is still rbac: after a switch to rbac-abac, \
             1 role assignment gives something different (above); pass --yes to switch"
        );
        let nothing = json!({"from": "rbac", "to": "rbac", "changes": []});
        assert_eq!(render(&nothing, OutputFormat::Table, Resource::ModePreview), "");
        assert!(unchanged_mode(&nothing).unwrap().contains("no role assignment gives anything different"));
        assert!(unchanged_mode(&json!({"to": "rbac"})).is_err());
    }

    #[test]
    fn role_definition_table() {
        let definitions = json!([{"name": "Owner", "description": "Everything", "abacEnabled": false,
            "rbacActions": [], "rbacAbacActions": [], "listsCatalog": [true, true], "control": []}]);
        assert_eq!(
            render(&definitions, OutputFormat::Table, Resource::RoleDefinition),
            "NAME   CONDITIONS  DESCRIPTION\n-----  ----------  -----------\nOwner  no          Everything\n"
        );
    }
}
