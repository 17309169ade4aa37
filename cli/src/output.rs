//! Prints an answer as `--output json|table|tsv`, the way `az` does: JSON
//! indented by two spaces, TSV without headers for scripts, tables with
//! per-resource columns. Pure: returns the text, never writes it.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::{args::OutputFormat, plan::Resource};

/// Descriptions longer than this are cut, as in az's scope map table.
const DESCRIPTION_WIDTH: usize = 60;

/// The text to print (empty for `null`, e.g. a 204 answer or a query
/// matching nothing). `resource` picks the table columns; after `--query`
/// the caller passes [`Resource::Generic`].
pub fn render(value: &Value, format: OutputFormat, resource: Resource) -> String {
    if value.is_null() {
        return String::new();
    }
    match format {
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(value).expect("a JSON value serializes");
            text.push('\n');
            text
        }
        OutputFormat::Tsv => tsv(value),
        OutputFormat::Table => table(value, resource).render(),
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

/// The objects to show one per row: an array of objects or one object.
fn objects(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    match value {
        Value::Object(map) => Some(vec![map]),
        Value::Array(items) => items.iter().map(Value::as_object).collect(),
        _ => None,
    }
}

fn table(value: &Value, resource: Resource) -> Table {
    let Some(rows) = objects(value) else {
        return generic(value);
    };
    let columns: &[Column] = match resource {
        Resource::Generic => return generic(value),
        Resource::ScopeMap => &[
            ("NAME", |m| text(m, "name")),
            ("TYPE", |m| text(m, "type")),
            ("CREATION DATE", |m| text(m, "creationDate")),
            ("DESCRIPTION", |m| truncate(&text(m, "description"), DESCRIPTION_WIDTH)),
        ],
        Resource::Token => &[
            ("NAME", |m| text(m, "name")),
            ("SCOPE MAP", |m| text(m, "scopeMap")),
            ("STATUS", |m| text(m, "status")),
            ("CREATION DATE", |m| text(m, "creationDate")),
            ("LAST USED", |m| text(m, "lastUsed")),
            ("PASSWORD1 EXPIRY", |m| password_expiry(m, "password1")),
            ("PASSWORD2 EXPIRY", |m| password_expiry(m, "password2")),
        ],
        Resource::Credentials => {
            // `{"username", "passwords": [..]}`: one row per generated password.
            let passwords: Option<Vec<&Map<String, Value>>> = rows
                .iter()
                .map(|m| m.get("passwords").and_then(Value::as_array))
                .collect::<Option<Vec<_>>>()
                .and_then(|lists| lists.into_iter().flatten().map(Value::as_object).collect());
            let Some(passwords) = passwords else {
                return generic(value);
            };
            let columns: &[Column] = &[
                ("NAME", |m| text(m, "name")),
                ("VALUE", |m| text(m, "value")),
                ("CREATION TIME", |m| text(m, "creationTime")),
                ("EXPIRY", |m| expiry_text(m.get("expiry"))),
            ];
            return build(columns, &passwords);
        }
        Resource::Audit => &[
            ("TIME", |m| text(m, "time")),
            ("CALLER", |m| text(m, "caller")),
            ("TOKEN", |m| text(m, "token")),
            ("REPOSITORY", |m| text(m, "repository")),
            ("ACTION", |m| text(m, "action")),
            ("OUTCOME", |m| text(m, "outcome")),
        ],
    };
    build(columns, &rows)
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
            Ok(time) => time.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
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
            {"name": "password1", "value": "pct_abc", "creationTime": "2026-11-23T16:30:00.5Z", "expiry": null}
        ]});
        assert_eq!(
            render(&answer, OutputFormat::Table, Resource::Credentials),
            "\
NAME       VALUE    CREATION TIME         EXPIRY
---------  -------  --------------------  ------
password1  pct_abc  2026-11-23T16:30:00Z  never
"
        );
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
}
