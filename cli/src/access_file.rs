//! The access file of `portcullis plan|apply|export` (docs/ACCESS-AS-CODE.md):
//! TOML read into the API's [`AccessDocument`], remembering where in the
//! text each part came from, so that every refusal (the parser's, this
//! module's or the server's, which names a JSON pointer into the document)
//! is reported with the file's line and column; and the document written
//! back as TOML (`export`). Pure: text in, text out.

use std::{collections::BTreeMap, fmt, ops::Range};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use portcullis_proto::{
    AccessDocument, Action, DeclaredAttributes, DeclaredGroup, DeclaredPassword, DeclaredRoleAssignment,
    DeclaredScopeMap, DeclaredServicePrincipal, DeclaredToken, DeclaredUser, IdentityKind, RepositoryActions,
    RoleAssignmentMode, TokenStatus,
};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A refusal of the file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// 1-based; `None` when no place is to blame.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// A file read: the document, and where its parts are in the text.
#[derive(Debug, Clone)]
pub struct AccessFile {
    pub document: AccessDocument,
    text: String,
    /// JSON pointer into the document → byte range in the text.
    places: BTreeMap<String, Range<usize>>,
}

impl AccessFile {
    /// Reads `text`, refusing (with the line and column) what is not TOML,
    /// an unknown key, a value of the wrong type, an unknown action, a flat
    /// action that is not `repositories/<repository>/<action>`, a date
    /// without a time zone, a validity that is not `<n>d|h|w`, and a name
    /// declared twice (names compare without case).
    pub fn parse(text: &str) -> Result<AccessFile, FileError> {
        let file: FileDocument = toml::from_str(text).map_err(|error| {
            let at = error.span().map(|span| position(text, span.start));
            FileError {
                line: at.map(|(line, _)| line),
                column: at.map(|(_, column)| column),
                message: error.message().trim().to_owned(),
            }
        })?;
        let mut read = Reader { text, places: BTreeMap::new() };
        let document = read.document(file)?;
        Ok(AccessFile { document, text: text.to_owned(), places: read.places })
    }

    /// A refusal the server gave for `pointer` (`/document/tokens/ci-bot`),
    /// placed at the nearest part of the file it names.
    pub fn locate(&self, pointer: Option<&str>, message: &str) -> FileError {
        let mut pointer = pointer.map(|p| p.strip_prefix("/document").unwrap_or(p).to_owned());
        while let Some(current) = pointer {
            if let Some(span) = self.places.get(&current) {
                let (line, column) = position(&self.text, span.start);
                return FileError { line: Some(line), column: Some(column), message: message.to_owned() };
            }
            pointer = current.rfind('/').filter(|at| *at > 0).map(|at| current[..at].to_owned());
        }
        FileError { line: None, column: None, message: message.to_owned() }
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}

/// One segment of a JSON pointer (RFC 6901 escapes).
fn segment(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

// ----- the file as written -----

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileDocument {
    #[serde(default)]
    scope_maps: BTreeMap<Spanned<String>, FileScopeMap>,
    #[serde(default)]
    tokens: BTreeMap<Spanned<String>, FileToken>,
    #[serde(default)]
    repositories: BTreeMap<Spanned<String>, FileAttributes>,
    role_assignment_mode: Option<RoleAssignmentMode>,
    users: Option<BTreeMap<Spanned<String>, FileUser>>,
    groups: Option<BTreeMap<Spanned<String>, FileGroup>>,
    service_principals: Option<BTreeMap<Spanned<String>, FileServicePrincipal>>,
    role_assignments: Option<Vec<Spanned<FileAssignment>>>,
}

// The identities read and write the same shape (`export` builds them with
// empty spans).

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileUser {
    #[serde(default)]
    display_name: String,
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    description: String,
    /// Users and service principals by name.
    #[serde(default)]
    members: Vec<Spanned<String>>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileServicePrincipal {
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileAssignment {
    role: Spanned<String>,
    assignee: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignee_kind: Option<IdentityKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    condition: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
}

/// A value written by `export`, which has no place in a file yet.
fn unplaced<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileScopeMap {
    #[serde(default)]
    description: String,
    /// `"samples/*" = ["content/read", "content/write"]`.
    #[serde(default)]
    repositories: BTreeMap<Spanned<String>, Vec<Action>>,
    /// The flat form of declarative tools: `repositories/samples/*/content/read`.
    #[serde(default)]
    actions: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileToken {
    scope_map: Spanned<String>,
    #[serde(default = "enabled")]
    status: TokenStatus,
    password1: Option<Spanned<FilePassword>>,
    password2: Option<Spanned<FilePassword>>,
}

fn enabled() -> TokenStatus {
    TokenStatus::Enabled
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FilePassword {
    version: Option<Spanned<Version>>,
    expiry: Option<Spanned<toml::value::Datetime>>,
    valid_for: Option<Spanned<String>>,
}

/// `version = 2` or `version = "2026-q4"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Version {
    Number(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileAttributes {
    #[serde(default = "yes")]
    delete_enabled: bool,
    #[serde(default = "yes")]
    write_enabled: bool,
    #[serde(default = "yes")]
    read_enabled: bool,
    #[serde(default = "yes")]
    list_enabled: bool,
}

fn yes() -> bool {
    true
}

/// Turns the file into the document, noting where each part is.
struct Reader<'t> {
    text: &'t str,
    places: BTreeMap<String, Range<usize>>,
}

impl Reader<'_> {
    fn refuse(&self, span: Range<usize>, message: impl Into<String>) -> FileError {
        let (line, column) = position(self.text, span.start);
        FileError { line: Some(line), column: Some(column), message: message.into() }
    }

    fn note(&mut self, pointer: String, span: Range<usize>) {
        self.places.insert(pointer, span);
    }

    /// Refuses a key that names, without case, one already read.
    fn refuse_twins<'a>(
        &self,
        kind: &str,
        names: impl Iterator<Item = &'a Spanned<String>>,
    ) -> Result<(), FileError> {
        let mut seen: BTreeMap<String, &Spanned<String>> = BTreeMap::new();
        // In the file's order, so the later of two twins is the one refused.
        let mut names: Vec<&Spanned<String>> = names.collect();
        names.sort_by_key(|name| name.span().start);
        for name in names {
            if let Some(first) = seen.insert(name.get_ref().to_lowercase(), name) {
                let (line, _) = position(self.text, first.span().start);
                return Err(self.refuse(
                    name.span(),
                    format!(
                        "{kind} {} is declared twice (also as {} on line {line}; names compare without case)",
                        name.get_ref(),
                        first.get_ref()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn document(&mut self, file: FileDocument) -> Result<AccessDocument, FileError> {
        self.refuse_twins("scope map", file.scope_maps.keys())?;
        self.refuse_twins("token", file.tokens.keys())?;
        self.refuse_twins("repository", file.repositories.keys())?;
        let mut document = AccessDocument::default();
        for (name, map) in file.scope_maps {
            let pointer = format!("/scopeMaps/{}", segment(name.get_ref()));
            self.note(pointer.clone(), name.span());
            let mut repositories = Vec::new();
            for (pattern, actions) in map.repositories {
                self.note(format!("{pointer}/repositories/{}", repositories.len()), pattern.span());
                repositories.push(RepositoryActions { repository: pattern.into_inner(), actions });
            }
            for flat in map.actions {
                let (repository, action) =
                    flat_action(flat.get_ref()).map_err(|why| self.refuse(flat.span(), why))?;
                self.note(format!("{pointer}/repositories/{}", repositories.len()), flat.span());
                repositories.push(RepositoryActions { repository, actions: vec![action] });
            }
            let declared = DeclaredScopeMap { description: map.description, repositories };
            document.scope_maps.insert(name.into_inner(), declared);
        }
        for (name, token) in file.tokens {
            let pointer = format!("/tokens/{}", segment(name.get_ref()));
            self.note(pointer.clone(), name.span());
            self.note(format!("{pointer}/scopeMap"), token.scope_map.span());
            let password1 = self.password(&format!("{pointer}/password1"), token.password1)?;
            let password2 = self.password(&format!("{pointer}/password2"), token.password2)?;
            let declared = DeclaredToken {
                scope_map: token.scope_map.into_inner(),
                status: token.status,
                password1,
                password2,
            };
            document.tokens.insert(name.into_inner(), declared);
        }
        for (name, attributes) in file.repositories {
            self.note(format!("/repositories/{}", segment(name.get_ref())), name.span());
            let declared = DeclaredAttributes {
                delete_enabled: attributes.delete_enabled,
                write_enabled: attributes.write_enabled,
                read_enabled: attributes.read_enabled,
                list_enabled: attributes.list_enabled,
            };
            document.repositories.insert(name.into_inner(), declared);
        }
        document.role_assignment_mode = file.role_assignment_mode;
        if let Some(users) = file.users {
            self.refuse_twins("user", users.keys())?;
            let mut declared = BTreeMap::new();
            for (name, user) in users {
                self.note(format!("/users/{}", segment(name.get_ref())), name.span());
                declared.insert(
                    name.into_inner(),
                    DeclaredUser { display_name: user.display_name, enabled: user.enabled },
                );
            }
            document.users = Some(declared);
        }
        if let Some(sps) = file.service_principals {
            self.refuse_twins("service principal", sps.keys())?;
            let mut declared = BTreeMap::new();
            for (name, sp) in sps {
                self.note(format!("/servicePrincipals/{}", segment(name.get_ref())), name.span());
                let sp = DeclaredServicePrincipal { description: sp.description, enabled: sp.enabled };
                declared.insert(name.into_inner(), sp);
            }
            document.service_principals = Some(declared);
        }
        if let Some(groups) = file.groups {
            self.refuse_twins("group", groups.keys())?;
            let mut declared = BTreeMap::new();
            for (name, group) in groups {
                let pointer = format!("/groups/{}", segment(name.get_ref()));
                self.note(pointer.clone(), name.span());
                let mut members = Vec::new();
                for member in group.members {
                    self.note(format!("{pointer}/members/{}", members.len()), member.span());
                    members.push(member.into_inner());
                }
                declared.insert(name.into_inner(), DeclaredGroup { description: group.description, members });
            }
            document.groups = Some(declared);
        }
        if let Some(assignments) = file.role_assignments {
            let mut declared = Vec::new();
            for assignment in assignments {
                let pointer = format!("/roleAssignments/{}", declared.len());
                self.note(pointer.clone(), assignment.span());
                let assignment = assignment.into_inner();
                self.note(format!("{pointer}/role"), assignment.role.span());
                self.note(format!("{pointer}/assignee"), assignment.assignee.span());
                if let Some(condition) = &assignment.condition {
                    self.note(format!("{pointer}/condition"), condition.span());
                }
                declared.push(DeclaredRoleAssignment {
                    role: assignment.role.into_inner(),
                    assignee: assignment.assignee.into_inner(),
                    assignee_kind: assignment.assignee_kind,
                    condition: assignment.condition.map(Spanned::into_inner),
                    description: assignment.description,
                });
            }
            document.role_assignments = Some(declared);
        }
        Ok(document)
    }

    fn password(
        &mut self,
        pointer: &str,
        password: Option<Spanned<FilePassword>>,
    ) -> Result<Option<DeclaredPassword>, FileError> {
        let Some(password) = password else { return Ok(None) };
        self.note(pointer.to_owned(), password.span());
        let password = password.into_inner();
        let version = password.version.map(|version| {
            self.note(format!("{pointer}/version"), version.span());
            match version.into_inner() {
                Version::Number(number) => number.to_string(),
                Version::Text(text) => text,
            }
        });
        let expiry = match password.expiry {
            None => None,
            Some(expiry) => {
                self.note(format!("{pointer}/expiry"), expiry.span());
                Some(toml_time(expiry.get_ref()).map_err(|why| self.refuse(expiry.span(), why))?)
            }
        };
        let valid_for_seconds = match password.valid_for {
            None => None,
            Some(valid_for) => {
                self.note(format!("{pointer}/validForSeconds"), valid_for.span());
                Some(
                    duration_seconds(valid_for.get_ref())
                        .map_err(|why| self.refuse(valid_for.span(), why))?,
                )
            }
        };
        Ok(Some(DeclaredPassword { version, expiry, valid_for_seconds }))
    }
}

/// `repositories/samples/*/content/read` → (`samples/*`, content/read).
fn flat_action(text: &str) -> Result<(String, Action), String> {
    let shape = || {
        format!("{text:?} is not an action of the form repositories/<repository>/<action>, e.g. repositories/samples/*/content/read")
    };
    let rest = text.strip_prefix("repositories/").ok_or_else(shape)?;
    let mut parts = rest.rsplitn(3, '/');
    let (verb, noun, repository) = match (parts.next(), parts.next(), parts.next()) {
        (Some(verb), Some(noun), Some(repository)) if !repository.is_empty() => (verb, noun, repository),
        _ => return Err(shape()),
    };
    let action = format!("{noun}/{verb}").parse::<Action>().map_err(|error| format!("{text:?}: {error}"))?;
    Ok((repository.to_owned(), action))
}

/// A TOML date (midnight UTC) or date-time with a time zone.
fn toml_time(time: &toml::value::Datetime) -> Result<DateTime<Utc>, String> {
    match (time.date, time.time, time.offset) {
        (Some(date), None, None) => {
            let date = NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
                .ok_or_else(|| format!("{time} is not a date"))?;
            Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        }
        (Some(_), Some(_), Some(_)) => DateTime::parse_from_rfc3339(&time.to_string())
            .map(|time| time.to_utc())
            .map_err(|error| format!("{time}: {error}")),
        _ => Err(format!(
            "{time} needs a date and, with a time of day, a time zone: 2027-06-30 or 2027-06-30T12:00:00Z"
        )),
    }
}

/// `90d`, `12h`, `2w` → seconds.
fn duration_seconds(text: &str) -> Result<i64, String> {
    let refuse =
        || format!("{text:?} is not a validity: give a number of days, hours or weeks, e.g. 90d, 12h or 2w");
    let text = text.trim();
    let unit = text.chars().last().ok_or_else(refuse)?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().map_err(|_| refuse())?;
    let seconds = match unit {
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(refuse()),
    };
    if number <= 0 {
        return Err(format!("{text:?}: a validity must be longer than zero"));
    }
    number.checked_mul(seconds).ok_or_else(refuse)
}

/// The shortest of `90d`, `12h`, `2w` for a whole number of hours; `None`
/// otherwise.
fn duration_text(seconds: i64) -> Option<String> {
    if seconds <= 0 || seconds % 3_600 != 0 {
        return None;
    }
    Some(if seconds % (7 * 86_400) == 0 {
        format!("{}w", seconds / (7 * 86_400))
    } else if seconds % 86_400 == 0 {
        format!("{}d", seconds / 86_400)
    } else {
        format!("{}h", seconds / 3_600)
    })
}

// ----- the file as `export` writes it -----

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ExportDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    role_assignment_mode: Option<RoleAssignmentMode>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    scope_maps: BTreeMap<String, ExportScopeMap>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tokens: BTreeMap<String, ExportToken>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    repositories: BTreeMap<String, ExportAttributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<BTreeMap<String, FileUser>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<BTreeMap<String, FileGroup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_principals: Option<BTreeMap<String, FileServicePrincipal>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_assignments: Option<Vec<FileAssignment>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ExportScopeMap {
    description: String,
    repositories: BTreeMap<String, Vec<Action>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ExportToken {
    scope_map: String,
    status: TokenStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    password1: Option<ExportPassword>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password2: Option<ExportPassword>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ExportPassword {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry: Option<toml::value::Datetime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_for: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ExportAttributes {
    delete_enabled: bool,
    write_enabled: bool,
    read_enabled: bool,
    list_enabled: bool,
}

/// The document as an access file, which `plan` reads back as the same
/// document. `header` is written as comment lines on top.
pub fn write(document: &AccessDocument, header: &str) -> String {
    let password = |password: &Option<DeclaredPassword>| {
        password.as_ref().map(|password| ExportPassword {
            version: password.version.clone(),
            expiry: password.expiry.map(|expiry| {
                expiry
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                    .parse()
                    .expect("an RFC 3339 time is a TOML date-time")
            }),
            valid_for: password.valid_for_seconds.map(|seconds| {
                duration_text(seconds).unwrap_or_else(|| format!("{}h", (seconds + 3_599) / 3_600))
            }),
        })
    };
    let export = ExportDocument {
        scope_maps: document
            .scope_maps
            .iter()
            .map(|(name, map)| {
                let mut repositories: BTreeMap<String, Vec<Action>> = BTreeMap::new();
                for rule in &map.repositories {
                    let actions = repositories.entry(rule.repository.clone()).or_default();
                    actions.extend(&rule.actions);
                    actions.sort_by_key(|action| Action::LISTED.iter().position(|listed| listed == action));
                    actions.dedup();
                }
                (name.clone(), ExportScopeMap { description: map.description.clone(), repositories })
            })
            .collect(),
        tokens: document
            .tokens
            .iter()
            .map(|(name, token)| {
                let export = ExportToken {
                    scope_map: token.scope_map.clone(),
                    status: token.status,
                    password1: password(&token.password1),
                    password2: password(&token.password2),
                };
                (name.clone(), export)
            })
            .collect(),
        repositories: document
            .repositories
            .iter()
            .map(|(name, attributes)| {
                let export = ExportAttributes {
                    delete_enabled: attributes.delete_enabled,
                    write_enabled: attributes.write_enabled,
                    read_enabled: attributes.read_enabled,
                    list_enabled: attributes.list_enabled,
                };
                (name.clone(), export)
            })
            .collect(),
        role_assignment_mode: document.role_assignment_mode,
        users: document.users.as_ref().map(|users| {
            users
                .iter()
                .map(|(name, user)| {
                    (
                        name.clone(),
                        FileUser { display_name: user.display_name.clone(), enabled: user.enabled },
                    )
                })
                .collect()
        }),
        groups: document.groups.as_ref().map(|groups| {
            groups
                .iter()
                .map(|(name, group)| {
                    let members = group.members.iter().cloned().map(unplaced).collect();
                    (name.clone(), FileGroup { description: group.description.clone(), members })
                })
                .collect()
        }),
        service_principals: document.service_principals.as_ref().map(|sps| {
            sps.iter()
                .map(|(name, sp)| {
                    let sp =
                        FileServicePrincipal { description: sp.description.clone(), enabled: sp.enabled };
                    (name.clone(), sp)
                })
                .collect()
        }),
        role_assignments: document.role_assignments.as_ref().map(|assignments| {
            assignments
                .iter()
                .map(|assignment| FileAssignment {
                    role: unplaced(assignment.role.clone()),
                    assignee: unplaced(assignment.assignee.clone()),
                    assignee_kind: assignment.assignee_kind,
                    condition: assignment.condition.clone().map(unplaced),
                    description: assignment.description.clone(),
                })
                .collect()
        }),
    };
    let mut text: String = header.lines().map(|line| format!("# {line}\n")).collect();
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&toml::to_string(&export).expect("an access document is TOML"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[scope-maps.ci-push]
description = "CI pushes samples"
actions = ["repositories/samples/hello-world/metadata/read"]

[scope-maps.ci-push.repositories]
"samples/*" = ["content/write", "content/read"]

[tokens.ci-bot]
scope-map = "ci-push"
password1 = { version = 1, valid-for = "365d" }
password2 = { version = "b", expiry = 2027-06-30 }

[tokens.reader]
scope-map = "_repositories_pull"
status = "disabled"

[repositories."samples/prod"]
delete-enabled = false
"#;

    fn refusal(text: &str) -> FileError {
        AccessFile::parse(text).expect_err("refused")
    }

    #[test]
    fn a_file_reads_into_the_document_with_both_action_forms() {
        let file = AccessFile::parse(SAMPLE).unwrap();
        let map = &file.document.scope_maps["ci-push"];
        assert_eq!(map.description, "CI pushes samples");
        assert_eq!(
            map.repositories,
            vec![
                RepositoryActions {
                    repository: "samples/*".into(),
                    actions: vec![Action::ContentWrite, Action::ContentRead]
                },
                RepositoryActions {
                    repository: "samples/hello-world".into(),
                    actions: vec![Action::MetadataRead]
                },
            ]
        );
        let token = &file.document.tokens["ci-bot"];
        assert_eq!(token.status, TokenStatus::Enabled);
        let one = token.password1.as_ref().unwrap();
        assert_eq!((one.version.as_deref(), one.valid_for_seconds), (Some("1"), Some(365 * 86_400)));
        let two = token.password2.as_ref().unwrap();
        assert_eq!(two.expiry, Some("2027-06-30T00:00:00Z".parse().unwrap()));
        assert_eq!(file.document.tokens["reader"].status, TokenStatus::Disabled);
        assert!(!file.document.repositories["samples/prod"].delete_enabled);
        assert!(file.document.repositories["samples/prod"].write_enabled);
    }

    #[test]
    fn malformed_files_are_refused_with_the_line_and_column() {
        let unknown = refusal("[tokens.a]\nscope-map = \"m\"\npasword1 = {}\n");
        assert_eq!((unknown.line, unknown.column), (Some(3), Some(1)), "{unknown}");
        assert!(unknown.message.contains("unknown field `pasword1`"), "{unknown}");

        let action = refusal("[scope-maps.m.repositories]\n\"a\" = [\"content/readd\"]\n");
        assert_eq!(action.line, Some(2), "{action}");
        assert!(action.message.contains("content/readd"), "{action}");

        let flat = refusal("[scope-maps.m]\nactions = [\"samples/a/content/read\"]\n");
        assert_eq!((flat.line, flat.column), (Some(2), Some(12)), "{flat}");
        assert!(flat.message.contains("repositories/<repository>/<action>"), "{flat}");

        let twice = refusal("[tokens.ci-bot]\nscope-map = \"m\"\n\n[tokens.CI-bot]\nscope-map = \"m\"\n");
        assert_eq!(twice.line, Some(4), "{twice}");
        assert!(twice.message.contains("declared twice") && twice.message.contains("line 1"), "{twice}");

        let duplicate_key = refusal("[tokens.a]\nscope-map = \"m\"\nscope-map = \"n\"\n");
        assert_eq!(duplicate_key.line, Some(3), "{duplicate_key}");

        let local = refusal("[tokens.a]\nscope-map = \"m\"\npassword1 = { expiry = 2027-06-30T12:00:00 }\n");
        assert_eq!(local.line, Some(3), "{local}");
        assert!(local.message.contains("time zone"), "{local}");

        let validity = refusal("[tokens.a]\nscope-map = \"m\"\npassword1 = { valid-for = \"1y\" }\n");
        assert!(validity.message.contains("90d"), "{validity}");
        assert!(refusal("[tokens.a]\nscope-map = \"m\"\npassword1 = { valid-for = \"0d\" }\n")
            .message
            .contains("longer than zero"));
    }

    #[test]
    fn the_servers_pointer_finds_the_nearest_place_in_the_file() {
        let file = AccessFile::parse(SAMPLE).unwrap();
        let at = |pointer: &str| {
            let error = file.locate(Some(pointer), "why");
            (error.line.unwrap(), error.column.unwrap())
        };
        assert_eq!(at("/document/scopeMaps/ci-push/repositories/0"), (7, 1));
        assert_eq!(at("/document/scopeMaps/ci-push/repositories/1"), (4, 12));
        assert_eq!(at("/document/tokens/ci-bot/scopeMap"), (10, 13));
        assert_eq!(at("/document/tokens/ci-bot/password2/expiry"), (12, 39));
        // Deeper than anything noted: the nearest enclosing part.
        assert_eq!(at("/document/tokens/reader/password1"), (14, 9));
        let nowhere = file.locate(None, "the registry changed");
        assert_eq!((nowhere.line, nowhere.to_string()), (None, "the registry changed".to_owned()));
    }

    #[test]
    fn an_exported_file_reads_back_as_the_same_document() {
        let document = AccessFile::parse(SAMPLE).unwrap().document;
        let text = write(&document, "exported");
        assert!(text.starts_with("# exported\n\n"), "{text}");
        let again = AccessFile::parse(&text).unwrap().document;
        // The two action forms become one table, actions in listing order.
        assert_eq!(
            again.scope_maps["ci-push"].repositories,
            vec![
                RepositoryActions {
                    repository: "samples/*".into(),
                    actions: vec![Action::ContentRead, Action::ContentWrite]
                },
                RepositoryActions {
                    repository: "samples/hello-world".into(),
                    actions: vec![Action::MetadataRead]
                },
            ]
        );
        assert_eq!(again.tokens, document.tokens);
        assert_eq!(again.repositories, document.repositories);
        assert_eq!(write(&again, "exported"), text, "writing is stable");
    }

    #[test]
    fn validities_read_and_write_in_days_hours_and_weeks() {
        assert_eq!(duration_seconds("90d"), Ok(90 * 86_400));
        assert_eq!(duration_seconds("12h"), Ok(12 * 3_600));
        assert_eq!(duration_seconds("2w"), Ok(14 * 86_400));
        assert!(duration_seconds("d").is_err() && duration_seconds("5m").is_err());
        assert_eq!(duration_text(14 * 86_400).as_deref(), Some("2w"));
        assert_eq!(duration_text(90 * 86_400).as_deref(), Some("90d"));
        assert_eq!(duration_text(5 * 3_600).as_deref(), Some("5h"));
        assert_eq!(duration_text(59), None);
    }
}

/// The JSON Schema of the access file (draft 2020-12), for editors that
/// check TOML against one (Taplo / "Even Better TOML": a first line
/// `#:schema ./access.schema.json`). Shipped as docs/access.schema.json;
/// `portcullis export --schema` prints it.
pub fn json_schema() -> serde_json::Value {
    use serde_json::json;
    let action = json!({"enum": Action::LISTED.iter().map(|a| a.as_str()).collect::<Vec<_>>()});
    let password = json!({
        "type": "object",
        "description": "A password that should exist. Changing `version` regenerates this password only; changing only the expiry keeps it.",
        "additionalProperties": false,
        "properties": {
            "version": {"type": ["integer", "string"], "description": "Bump to regenerate this password (change one password's version at a time)."},
            "expiry": {"type": "string", "description": "A TOML date (2027-06-30, midnight UTC) or date-time with a time zone (2027-06-30T12:00:00Z)."},
            "valid-for": {"type": "string", "pattern": "^[0-9]+[hdw]$", "description": "The expiry as a time after generation: 90d, 12h, 2w."}
        },
        "not": {"required": ["expiry", "valid-for"]}
    });
    let boolean = |description: &str| json!({"type": "boolean", "default": true, "description": description});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Portcullis access file",
        "description": "The scope maps, tokens and repository attributes a registry should have (docs/ACCESS-AS-CODE.md). Names compare without case.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "scope-maps": {
                "type": "object",
                "description": "User-defined scope maps by name (5 to 50 letters, digits, `-` and `_`).",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "description": {"type": "string"},
                        "repositories": {
                            "type": "object",
                            "description": "Repository (an exact name, `prefix/*` or `*`) → actions.",
                            "additionalProperties": {"type": "array", "items": action, "minItems": 1}
                        },
                        "actions": {
                            "type": "array",
                            "description": "The flat form of declarative tools: repositories/<repository>/<action>.",
                            "items": {"type": "string", "pattern": "^repositories/.+/(content/(read|write|delete)|metadata/(read|write))$"}
                        }
                    }
                }
            },
            "tokens": {
                "type": "object",
                "description": "Tokens by name. A password slot left out has no password (an existing one is deleted).",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["scope-map"],
                    "properties": {
                        "scope-map": {"type": "string", "description": "A declared or a system-defined scope map (_repositories_pull, ...)."},
                        "status": {"enum": ["enabled", "disabled"], "default": "enabled"},
                        "password1": password.clone(),
                        "password2": password
                    }
                }
            },
            "role-assignment-mode": {"enum": ["rbac", "rbac-abac"], "description": "The permissions mode; absent: left as it is. Conditions need rbac-abac."},
            "users": {
                "type": "object",
                "description": "Existing users by name (apply neither creates nor deletes people). Absent: users are not managed.",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "display-name": {"type": "string", "default": ""},
                        "enabled": {"type": "boolean", "default": true}
                    }
                }
            },
            "groups": {
                "type": "object",
                "description": "Groups by name. Absent: groups are not managed (--prune leaves them alone).",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "description": {"type": "string", "default": ""},
                        "members": {"type": "array", "items": {"type": "string"}, "description": "Users and service principals by name."}
                    }
                }
            },
            "service-principals": {
                "type": "object",
                "description": "Service principals by name (client secrets and federated credentials are managed with `portcullis sp`). Absent: not managed.",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "description": {"type": "string", "default": ""},
                        "enabled": {"type": "boolean", "default": true}
                    }
                }
            },
            "role-assignments": {
                "type": "array",
                "description": "Role assignments; one is its role, assignee and condition (only the description changes in place). Absent: not managed.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["role", "assignee"],
                    "properties": {
                        "role": {"type": "string", "description": "A built-in role's name, e.g. Container Registry Repository Reader."},
                        "assignee": {"type": "string", "description": "A user, group or service principal, or anonymous."},
                        "assignee-kind": {"enum": ["user", "group", "service-principal", "anonymous"]},
                        "condition": {"type": "string", "description": "An ABAC condition on the repository name (rbac-abac mode)."},
                        "description": {"type": "string", "default": ""}
                    }
                }
            },
            "repositories": {
                "type": "object",
                "description": "Attributes of existing repositories by name; absent attributes are true.",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "delete-enabled": boolean("Whether manifests, tags and the repository may be deleted."),
                        "write-enabled": boolean("Whether pushes and tag changes are allowed."),
                        "read-enabled": boolean("Whether pulls are allowed."),
                        "list-enabled": boolean("Whether the repository is listed.")
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    /// The shipped copy is the one this module writes.
    #[test]
    fn the_shipped_schema_is_the_generated_one() {
        let shipped = include_str!("../../docs/access.schema.json");
        let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
        assert!(
            shipped == generated,
            "docs/access.schema.json is stale: run `portcullis export --schema > docs/access.schema.json`"
        );
    }

    /// Every key the schema names is one the file reader accepts (and the
    /// reader refuses the others: deny_unknown_fields, tested above).
    #[test]
    fn every_key_of_the_schema_is_read() {
        let schema = json_schema();
        let keys = |value: &serde_json::Value| -> Vec<String> {
            value["properties"].as_object().unwrap().keys().cloned().collect()
        };
        let map = &schema["properties"]["scope-maps"]["additionalProperties"];
        let token = &schema["properties"]["tokens"]["additionalProperties"];
        let repository = &schema["properties"]["repositories"]["additionalProperties"];
        assert_eq!(
            keys(&schema),
            [
                "groups",
                "repositories",
                "role-assignment-mode",
                "role-assignments",
                "scope-maps",
                "service-principals",
                "tokens",
                "users"
            ]
        );
        let identities = |section: &str| -> Vec<String> {
            let value = &schema["properties"][section];
            let inner =
                if value["type"] == "array" { &value["items"] } else { &value["additionalProperties"] };
            keys(inner)
        };
        assert_eq!(identities("users"), ["display-name", "enabled"]);
        assert_eq!(identities("groups"), ["description", "members"]);
        assert_eq!(identities("service-principals"), ["description", "enabled"]);
        assert_eq!(
            identities("role-assignments"),
            ["assignee", "assignee-kind", "condition", "description", "role"]
        );
        let with_identities = "role-assignment-mode = \"rbac-abac\"\n[users.u]\ndisplay-name = \"U\"\nenabled = false\n\
            [groups.g]\ndescription = \"d\"\nmembers = [\"u\"]\n[service-principals.s]\ndescription = \"d\"\nenabled = false\n\
            [[role-assignments]]\nrole = \"Reader\"\nassignee = \"u\"\nassignee-kind = \"user\"\ncondition = \"c\"\ndescription = \"d\"\n";
        let read = AccessFile::parse(with_identities).unwrap_or_else(|error| panic!("{error}")).document;
        assert_eq!(read.role_assignments.unwrap()[0].assignee_kind, Some(IdentityKind::User));
        assert!(!read.users.unwrap()["u"].enabled && !read.service_principals.unwrap()["s"].enabled);
        let text = format!(
            "[scope-maps.a-map]\n{}\n[tokens.a-token]\n{}\n[repositories.\"a/b\"]\n{}\n",
            keys(map)
                .iter()
                .map(|key| match key.as_str() {
                    "description" => "description = \"d\"".to_owned(),
                    "repositories" => "repositories = { \"a/*\" = [\"content/read\"] }".to_owned(),
                    "actions" => "actions = [\"repositories/a/b/metadata/write\"]".to_owned(),
                    other => panic!("a scope-map key the test does not know: {other}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            keys(token)
                .iter()
                .map(|key| match key.as_str() {
                    "scope-map" => "scope-map = \"a-map\"".to_owned(),
                    "status" => "status = \"disabled\"".to_owned(),
                    slot => format!("{slot} = {{ version = 1, valid-for = \"2w\" }}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            keys(repository).iter().map(|key| format!("{key} = false")).collect::<Vec<_>>().join("\n"),
        );
        let password_keys = keys(&token["properties"]["password1"]);
        assert_eq!(password_keys, ["expiry", "valid-for", "version"]);
        let document = AccessFile::parse(&text).unwrap_or_else(|error| panic!("{error}\n{text}")).document;
        assert_eq!(document.scope_maps["a-map"].repositories.len(), 2);
        assert_eq!(
            document.tokens["a-token"].password2.as_ref().unwrap().valid_for_seconds,
            Some(14 * 86_400)
        );
        assert!(!document.repositories["a/b"].list_enabled && !document.repositories["a/b"].delete_enabled);
        AccessFile::parse("[tokens.a-token]\nscope-map = \"m\"\npassword1 = { expiry = 2027-01-01 }\n")
            .unwrap();
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    const IDENTITIES: &str = r#"
role-assignment-mode = "rbac-abac"

[users.alice]
display-name = "Alice Example"

[groups.backend-devs]
description = "Backend team"
members = ["alice", "ci"]

[service-principals.ci]
description = "GitHub Actions"

[[role-assignments]]
role = "Container Registry Repository Reader"
assignee = "backend-devs"
condition = "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'"

[[role-assignments]]
role = "Owner"
assignee = "alice"
"#;

    #[test]
    fn identities_read_with_their_places_and_export_back() {
        let file = AccessFile::parse(IDENTITIES).unwrap();
        let document = &file.document;
        assert_eq!(document.role_assignment_mode, Some(RoleAssignmentMode::RbacAbac));
        assert_eq!(document.users.as_ref().unwrap()["alice"].display_name, "Alice Example");
        assert!(document.users.as_ref().unwrap()["alice"].enabled, "enabled by default");
        assert_eq!(document.groups.as_ref().unwrap()["backend-devs"].members, ["alice", "ci"]);
        let assignments = document.role_assignments.as_ref().unwrap();
        assert_eq!(assignments.len(), 2);
        assert!(assignments[0].condition.as_deref().unwrap().contains("StringStartsWith"));
        let at = |pointer: &str| file.locate(Some(pointer), "why").line.unwrap();
        assert_eq!(at("/document/groups/backend-devs/members/1"), 9);
        assert_eq!(at("/document/roleAssignments/0/condition"), 17);
        assert_eq!(at("/document/roleAssignments/1"), 19);
        let again = AccessFile::parse(&write(document, "")).unwrap().document;
        assert_eq!(&again, document);
        // A file without identity sections manages none: they stay absent.
        let none = AccessFile::parse("[tokens.t-token]\nscope-map = \"m\"\n").unwrap().document;
        assert!(none.users.is_none() && none.groups.is_none() && none.role_assignments.is_none());
        let unknown =
            AccessFile::parse("[[role-assignments]]\nrole = \"Owner\"\nassignee = \"a\"\nscope = \"x\"\n");
        assert!(unknown.unwrap_err().message.contains("unknown field `scope`"));
    }
}
