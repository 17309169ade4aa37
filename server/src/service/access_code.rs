//! Access as code (issue 17, docs/ACCESS-AS-CODE.md): the registry's scope
//! maps, tokens and repository attributes as one document
//! ([`AccessDocument`]), compared with what is stored ([`plan`], pure) and
//! made true in one transaction ([`TokenService::apply_access`]).
//!
//! Two rules live here and not in the command-line client, so that a
//! request straight to the API obeys them too:
//! - **Nothing half applied.** The apply names the revision of the plan it
//!   was decided on; inside its one transaction the revision is computed
//!   again from what is stored and a difference refuses it (409
//!   `STALE_REVISION`), so no change made after the plan is overwritten.
//! - **Rotation guard.** An apply that would regenerate or delete every
//!   working password of a token is refused (409 `ROTATION_REFUSED`)
//!   unless the caller allows the downtime: the seed's "change only one
//!   version at a time, so one password keeps working", enforced.

mod identities;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use portcullis_proto::{
    AccessDocument, AccessPlan, ApplyOutcome, ApplyRequest, ChangeOp, DeclaredAttributes, DeclaredPassword,
    DeclaredScopeMap, DeclaredToken, FieldChange, GeneratedSecret, ObjectKind, PasswordSlot, PlannedChange,
    RepositoryActions, TokenStatus,
};
use sha2::{Digest as _, Sha256};

use super::{
    audit::{Caller, Outcome},
    tokens::{display_time, expired, ManageError, ManageResult, TokenService},
};
use crate::{
    auth::token::Subject,
    db::{
        identities as identity_rows,
        repositories::{self as repository_rows, Locks},
        tokens::{self as rows, ScopeMapRow, SlotRow, TokenRow},
        Tx,
    },
    policy::{self, add_repository_actions, Action, ActionSet, RepositoryPattern, Rule},
};

/// Expiry warnings look this far ahead unless the plan says otherwise.
pub const DEFAULT_EXPIRY_WARNING_DAYS: u32 = 30;

/// The longest declared password version.
const MAX_VERSION_LENGTH: usize = 100;

/// What the registry holds now, as far as a document can declare it.
pub struct Current {
    /// The user-defined scope maps.
    scope_maps: Vec<ScopeMapRow>,
    /// The system-defined scope maps' names.
    system_scope_maps: Vec<String>,
    tokens: Vec<TokenRow>,
    /// Id, name and own attributes of every repository.
    repositories: Vec<(i64, String, Locks)>,
    identities: identities::CurrentIdentities,
}

impl Current {
    async fn read(tx: &mut Tx) -> ManageResult<Current> {
        let (system, scope_maps): (Vec<ScopeMapRow>, Vec<ScopeMapRow>) =
            rows::all_scope_maps(tx).await?.into_iter().partition(|map| map.is_system);
        Ok(Current {
            scope_maps,
            system_scope_maps: system.into_iter().map(|map| map.name).collect(),
            tokens: rows::all_tokens(tx).await?,
            repositories: repository_rows::all_repository_locks(tx).await?,
            identities: identities::CurrentIdentities::read(tx).await?,
        })
    }

    /// The document that describes exactly this state (`portcullis export`).
    pub fn document(&self) -> AccessDocument {
        let scope_maps = self
            .scope_maps
            .iter()
            .map(|map| {
                let declared = DeclaredScopeMap {
                    description: map.description.clone(),
                    repositories: rule_views(&map.rules),
                };
                (map.name.clone(), declared)
            })
            .collect();
        let tokens = self
            .tokens
            .iter()
            .map(|token| {
                let password = |slot: &Option<SlotRow>| {
                    slot.as_ref().map(|slot| DeclaredPassword {
                        version: slot.version.clone(),
                        expiry: slot.expires_at.map(|at| at.trunc_subsecs(6)),
                        valid_for_seconds: None,
                    })
                };
                let declared = DeclaredToken {
                    scope_map: token.scope_map_name.clone(),
                    status: TokenStatus::from_enabled(token.enabled),
                    password1: password(&token.slots[0]),
                    password2: password(&token.slots[1]),
                };
                (token.name.clone(), declared)
            })
            .collect();
        let repositories = self
            .repositories
            .iter()
            .filter(|(_, _, locks)| *locks != Locks::OPEN)
            .map(|(_, name, locks)| (name.clone(), attributes_of(*locks)))
            .collect();
        let mut document = AccessDocument { scope_maps, tokens, repositories, ..AccessDocument::default() };
        self.identities.export(&mut document);
        document
    }

    /// Names this state: any change a document can see (and any new
    /// generation of a password, which a document cannot) gives another.
    pub fn revision(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(serde_json::to_vec(&self.document()).expect("a document serialises"));
        for token in &self.tokens {
            for slot in &token.slots {
                hash.update(slot.as_ref().map_or(0, |slot| slot.serial).to_le_bytes());
            }
        }
        hash.finalize()[..16].iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

fn attributes_of(locks: Locks) -> DeclaredAttributes {
    DeclaredAttributes {
        delete_enabled: locks.delete_enabled,
        write_enabled: locks.write_enabled,
        read_enabled: locks.read_enabled,
        list_enabled: locks.list_enabled,
    }
}

fn locks_of(attributes: DeclaredAttributes) -> Locks {
    Locks {
        read_enabled: attributes.read_enabled,
        write_enabled: attributes.write_enabled,
        delete_enabled: attributes.delete_enabled,
        list_enabled: attributes.list_enabled,
    }
}

/// Rules as the API shows them: by pattern, actions in listing order.
fn rule_views(rules: &[Rule]) -> Vec<RepositoryActions> {
    let mut rules = rules.to_vec();
    rules.sort_by(|a, b| a.pattern.as_str().cmp(b.pattern.as_str()));
    rules
        .iter()
        .map(|rule| RepositoryActions {
            repository: rule.pattern.to_string(),
            actions: Action::LISTED.into_iter().filter(|a| rule.actions.contains(*a)).collect(),
        })
        .collect()
}

fn actions_text(actions: ActionSet) -> String {
    Action::LISTED
        .into_iter()
        .filter(|a| actions.contains(*a))
        .map(Action::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A refusal of the document, naming where in it: a JSON pointer into the
/// request's `document` (`/tokens/ci-bot/scopeMap`), which the CLI turns
/// into the file's line and column.
fn invalid_at(pointer: impl Into<String>, message: impl Into<String>) -> ManageError {
    ManageError::InvalidAt { pointer: pointer.into(), message: message.into() }
}

/// One segment of a JSON pointer (RFC 6901 escapes).
fn segment(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// When a declared password expires, for a password generated at `generated`.
fn declared_expiry(password: &DeclaredPassword, generated: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match (password.expiry, password.valid_for_seconds) {
        (Some(at), _) => Some(at),
        (None, Some(seconds)) => Some(generated + Duration::seconds(seconds)),
        (None, None) => None,
    }
}

/// Expiries compare to the microsecond, the precision the API shows them with.
fn same_expiry(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    a.map(|t| t.trunc_subsecs(6)) == b.map(|t| t.trunc_subsecs(6))
}

fn shown_expiry(expiry: Option<DateTime<Utc>>) -> String {
    expiry.map_or_else(|| "never".to_owned(), display_time)
}

/// One write of an apply, in the order they run.
#[derive(Debug, Clone)]
enum Step {
    CreateScopeMap {
        name: String,
        description: String,
        rules: Vec<Rule>,
    },
    UpdateScopeMap {
        id: i64,
        description: String,
        rules: Vec<Rule>,
    },
    CreateToken {
        name: String,
        scope_map: String,
        enabled: bool,
    },
    UpdateToken {
        id: i64,
        scope_map: String,
        enabled: bool,
    },
    GeneratePassword {
        token: String,
        slot: PasswordSlot,
        version: Option<String>,
        password: DeclaredPassword,
    },
    DeletePassword {
        id: i64,
        slot: PasswordSlot,
    },
    SetExpiry {
        id: i64,
        slot: PasswordSlot,
        expiry: Option<DateTime<Utc>>,
    },
    DeleteToken {
        id: i64,
    },
    DeleteScopeMap {
        id: i64,
    },
    SetRepositoryLocks {
        id: i64,
        locks: Locks,
    },
    Identity(identities::Step),
}

/// What applying a document to a state would do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub changes: Vec<PlannedChange>,
    steps: Vec<Step>,
    /// `token/password1` for every password the apply generates.
    pub generates: Vec<String>,
    /// Why the apply would break logins (empty: it would not).
    pub downtime: Vec<String>,
    pub warnings: Vec<String>,
}

impl Plan {
    fn view(self, revision: String) -> AccessPlan {
        AccessPlan {
            revision,
            changes: self.changes,
            generates: self.generates,
            downtime: self.downtime,
            warnings: self.warnings,
        }
    }
}

/// Options of a plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    pub prune: bool,
    pub expiring_within_days: u32,
    /// The most repository rules one scope map may hold.
    pub max_scope_map_rules: usize,
}

/// Compares `document` with `current` at `now`: every change, the writes
/// that make them, the rotation guard's findings and the expiry warnings.
/// Refuses a document that is not valid, naming where. Pure.
pub fn plan(
    current: &Current,
    document: &AccessDocument,
    options: PlanOptions,
    now: DateTime<Utc>,
) -> ManageResult<Plan> {
    let mut plan = Plan {
        changes: Vec::new(),
        steps: Vec::new(),
        generates: Vec::new(),
        downtime: Vec::new(),
        warnings: Vec::new(),
    };
    let maps = check_scope_maps(document, options.max_scope_map_rules)?;
    refuse_case_twins(document.tokens.keys(), "/tokens", "token")?;
    refuse_case_twins(document.repositories.keys(), "/repositories", "repository")?;

    // Scope maps: created and updated first, so tokens can use them.
    let current_map = |name: &str| current.scope_maps.iter().find(|map| map.name.eq_ignore_ascii_case(name));
    for (name, (declared, rules)) in &maps {
        match current_map(name) {
            None => {
                let mut fields = vec![field("description", None, Some(declared.description.clone()))];
                fields.extend(rule_fields(&[], rules));
                plan.changes.push(change(ChangeOp::Create, ObjectKind::ScopeMap, name, fields));
                plan.steps.push(Step::CreateScopeMap {
                    name: name.clone(),
                    description: declared.description.clone(),
                    rules: rules.clone(),
                });
            }
            Some(row) => {
                let mut fields = Vec::new();
                compare(&mut fields, "description", &row.description, &declared.description);
                fields.extend(rule_fields(&row.rules, rules));
                if !fields.is_empty() {
                    plan.changes.push(change(ChangeOp::Update, ObjectKind::ScopeMap, &row.name, fields));
                    plan.steps.push(Step::UpdateScopeMap {
                        id: row.id,
                        description: declared.description.clone(),
                        rules: rules.clone(),
                    });
                }
            }
        }
    }

    // The scope maps that exist after the apply, by lowercase name.
    let pruned_map =
        |row: &ScopeMapRow| options.prune && !maps.keys().any(|name| name.eq_ignore_ascii_case(&row.name));
    let surviving_map = |name: &str| {
        maps.keys().find(|declared| declared.eq_ignore_ascii_case(name)).cloned().or_else(|| {
            current
                .system_scope_maps
                .iter()
                .chain(current.scope_maps.iter().filter(|row| !pruned_map(row)).map(|row| &row.name))
                .find(|existing| existing.eq_ignore_ascii_case(name))
                .cloned()
        })
    };

    let mut pruned_tokens = Vec::new();
    // By lowercase name: a registry may hold many tokens.
    let tokens_by_name: HashMap<String, &TokenRow> =
        current.tokens.iter().map(|token| (token.name.to_lowercase(), token)).collect();
    let declared_tokens: HashSet<String> = document.tokens.keys().map(|name| name.to_lowercase()).collect();
    for (name, declared) in &document.tokens {
        let pointer = format!("/tokens/{}", segment(name));
        policy::validate_token_name(name).map_err(|error| invalid_at(&pointer, error.to_string()))?;
        let Some(scope_map) = surviving_map(&declared.scope_map) else {
            let why = if current_map(&declared.scope_map).is_some() {
                format!(
                    "token {name} uses scope map {}, which --prune deletes because the document does not declare it; declare it",
                    declared.scope_map
                )
            } else {
                format!(
                    "token {name} names scope map {}, which neither the document declares nor the registry has",
                    declared.scope_map
                )
            };
            return Err(invalid_at(format!("{pointer}/scopeMap"), why));
        };
        for slot in PasswordSlot::ALL {
            if let Some(password) = declared.password(slot) {
                check_password(password, &format!("{pointer}/{slot}"))?;
            }
        }
        let enabled = declared.status.is_enabled();
        let existing = tokens_by_name.get(&name.to_lowercase()).copied();
        let mut fields = Vec::new();
        let mut kept_live = 0;
        let mut live = 0;
        match existing {
            None => {
                fields.push(field("scopeMap", None, Some(scope_map.clone())));
                fields.push(field("status", None, Some(declared.status.as_str().to_owned())));
                plan.steps.push(Step::CreateToken {
                    name: name.clone(),
                    scope_map: scope_map.clone(),
                    enabled,
                });
            }
            Some(row) => {
                if !row.scope_map_name.eq_ignore_ascii_case(&scope_map) {
                    fields.push(field("scopeMap", Some(row.scope_map_name.clone()), Some(scope_map.clone())));
                }
                if row.enabled != enabled {
                    fields.push(field(
                        "status",
                        Some(TokenStatus::from_enabled(row.enabled).as_str().to_owned()),
                        Some(declared.status.as_str().to_owned()),
                    ));
                }
                if !fields.is_empty() {
                    plan.steps.push(Step::UpdateToken { id: row.id, scope_map: scope_map.clone(), enabled });
                }
            }
        }
        let token_name = existing.map_or(name.as_str(), |row| row.name.as_str());
        for slot in PasswordSlot::ALL {
            let stored = existing.and_then(|row| row.slots[slot.index()].as_ref());
            let is_live = stored.is_some_and(|stored| !expired(stored.expires_at, now));
            live += usize::from(is_live);
            let wanted = declared.password(slot);
            let pointer = format!("{pointer}/{slot}");
            match (stored, wanted) {
                (None, None) => {}
                (Some(stored), None) => {
                    fields.push(FieldChange {
                        field: slot.to_string(),
                        before: Some(password_text(stored.version.as_deref(), stored.expires_at)),
                        after: None,
                        note: Some("deleted: it stops working at once".into()),
                    });
                    plan.steps.push(Step::DeletePassword { id: existing.expect("stored").id, slot });
                }
                (stored, Some(wanted)) => {
                    let regenerate = match stored {
                        None => true,
                        Some(stored) => wanted.version.is_some() && wanted.version != stored.version,
                    };
                    if regenerate {
                        let expiry = declared_expiry(wanted, now);
                        if expiry.is_some_and(|at| at <= now) {
                            return Err(invalid_at(
                                pointer,
                                format!(
                                    "token {name}: a new {slot} would expire {}, which is in the past; give a future expiry",
                                    shown_expiry(expiry)
                                ),
                            ));
                        }
                        fields.push(FieldChange {
                            field: slot.to_string(),
                            before: stored
                                .map(|stored| password_text(stored.version.as_deref(), stored.expires_at)),
                            after: Some(password_text(wanted.version.as_deref(), expiry)),
                            note: Some(match stored {
                                None => "generated".into(),
                                Some(_) => "regenerated: the old password stops working at once".into(),
                            }),
                        });
                        plan.generates.push(format!("{token_name}/{slot}"));
                        plan.steps.push(Step::GeneratePassword {
                            token: token_name.to_owned(),
                            slot,
                            version: wanted.version.clone(),
                            password: wanted.clone(),
                        });
                        warn_expiry(&mut plan.warnings, token_name, slot, expiry, now, options);
                    } else {
                        let stored = stored.expect("kept passwords exist");
                        kept_live += usize::from(is_live);
                        let expiry = declared_expiry(wanted, stored.created_at);
                        if !same_expiry(expiry, stored.expires_at) {
                            if expiry.is_some_and(|at| at <= now) {
                                return Err(invalid_at(
                                    pointer,
                                    format!(
                                        "token {name}: {slot}'s new expiry {} is in the past; give a future one (or delete the password)",
                                        shown_expiry(expiry)
                                    ),
                                ));
                            }
                            fields.push(FieldChange {
                                field: format!("{slot}.expiry"),
                                before: Some(shown_expiry(stored.expires_at)),
                                after: Some(shown_expiry(expiry)),
                                note: Some("the password is kept".into()),
                            });
                            plan.steps.push(Step::SetExpiry {
                                id: existing.expect("stored").id,
                                slot,
                                expiry,
                            });
                        }
                        warn_expiry(&mut plan.warnings, token_name, slot, expiry, now, options);
                    }
                }
            }
        }
        if existing.is_some() && live > 0 && kept_live == 0 {
            plan.downtime.push(format!(
                "token {token_name}: this apply regenerates or deletes every working password it has, so clients logged in with them stop working; change one password's version at a time, or allow the downtime (--allow-downtime)"
            ));
        }
        match existing {
            None => plan.changes.push(change(ChangeOp::Create, ObjectKind::Token, name, fields)),
            Some(row) if !fields.is_empty() => {
                plan.changes.push(change(ChangeOp::Update, ObjectKind::Token, &row.name, fields))
            }
            Some(_) => {}
        }
    }

    if options.prune {
        for row in &current.tokens {
            if !declared_tokens.contains(&row.name.to_lowercase()) {
                plan.changes.push(change(
                    ChangeOp::Delete,
                    ObjectKind::Token,
                    &row.name,
                    vec![field("scopeMap", Some(row.scope_map_name.clone()), None)],
                ));
                pruned_tokens.push(Step::DeleteToken { id: row.id });
            }
        }
        plan.steps.append(&mut pruned_tokens);
        for row in current.scope_maps.iter().filter(|row| pruned_map(row)) {
            let fields = rule_fields(&row.rules, &[]);
            plan.changes.push(change(ChangeOp::Delete, ObjectKind::ScopeMap, &row.name, fields));
            plan.steps.push(Step::DeleteScopeMap { id: row.id });
        }
    }

    for (name, declared) in &document.repositories {
        let Some((id, stored_name, locks)) =
            current.repositories.iter().find(|(_, stored, _)| stored == name)
        else {
            return Err(invalid_at(
                format!("/repositories/{}", segment(name)),
                format!("there is no repository named {name}; attributes are set on repositories that exist (push to it first)"),
            ));
        };
        let wanted = locks_of(*declared);
        if wanted != *locks {
            let before = attributes_of(*locks);
            let pairs = [
                ("deleteEnabled", before.delete_enabled, declared.delete_enabled),
                ("writeEnabled", before.write_enabled, declared.write_enabled),
                ("readEnabled", before.read_enabled, declared.read_enabled),
                ("listEnabled", before.list_enabled, declared.list_enabled),
            ];
            let fields = pairs
                .into_iter()
                .filter(|(_, before, after)| before != after)
                .map(|(name, before, after)| field(name, Some(before.to_string()), Some(after.to_string())))
                .collect();
            plan.changes.push(change(ChangeOp::Update, ObjectKind::Repository, stored_name, fields));
            plan.steps.push(Step::SetRepositoryLocks { id: *id, locks: wanted });
        }
    }
    identities::plan(&current.identities, document, options.prune, &mut plan)?;
    Ok(plan)
}

/// The declared scope maps with their parsed rules, checked.
fn check_scope_maps(
    document: &AccessDocument,
    max_rules: usize,
) -> ManageResult<BTreeMap<String, (&DeclaredScopeMap, Vec<Rule>)>> {
    refuse_case_twins(document.scope_maps.keys(), "/scopeMaps", "scope map")?;
    let mut maps = BTreeMap::new();
    for (name, declared) in &document.scope_maps {
        let pointer = format!("/scopeMaps/{}", segment(name));
        policy::validate_scope_map_name(name).map_err(|error| invalid_at(&pointer, error.to_string()))?;
        let mut rules = Vec::new();
        for (index, rule) in declared.repositories.iter().enumerate() {
            let at = format!("{pointer}/repositories/{index}");
            let pattern = RepositoryPattern::parse(rule.repository.trim())
                .map_err(|error| invalid_at(&at, format!("scope map {name}: {error}")))?;
            if rule.actions.is_empty() {
                return Err(invalid_at(
                    at,
                    format!("scope map {name}: give at least one action for {pattern}"),
                ));
            }
            add_repository_actions(&mut rules, &pattern, rule.actions.iter().copied().collect());
        }
        super::tokens::check_rule_count(name, &rules, max_rules)
            .map_err(|error| invalid_at(format!("{pointer}/repositories"), error.to_string()))?;
        rules.sort_by(|a, b| a.pattern.as_str().cmp(b.pattern.as_str()));
        maps.insert(name.clone(), (declared, rules));
    }
    Ok(maps)
}

/// Names compare without case: two keys that differ only in case name one
/// object twice.
fn refuse_case_twins<'a>(names: impl Iterator<Item = &'a String>, at: &str, kind: &str) -> ManageResult<()> {
    let mut seen: HashMap<String, &String> = HashMap::new();
    for name in names {
        if let Some(first) = seen.insert(name.to_lowercase(), name) {
            return Err(invalid_at(
                format!("{at}/{}", segment(name)),
                format!("{kind} {name} is declared twice (as {first} too; names compare without case)"),
            ));
        }
    }
    Ok(())
}

fn check_password(password: &DeclaredPassword, pointer: &str) -> ManageResult<()> {
    if let Some(version) = &password.version {
        if version.trim().is_empty() || version.len() > MAX_VERSION_LENGTH {
            return Err(invalid_at(
                format!("{pointer}/version"),
                format!("a password version is 1 to {MAX_VERSION_LENGTH} characters"),
            ));
        }
    }
    match (password.expiry, password.valid_for_seconds) {
        (Some(_), Some(_)) => {
            Err(invalid_at(pointer, "give either an expiry date or a validity (valid-for), not both"))
        }
        (None, Some(seconds)) if seconds <= 0 => {
            Err(invalid_at(format!("{pointer}/validForSeconds"), "a validity must be longer than zero"))
        }
        (None, Some(seconds)) if seconds > 100 * 366 * 24 * 3600 => {
            Err(invalid_at(format!("{pointer}/validForSeconds"), "a validity is at most 100 years"))
        }
        _ => Ok(()),
    }
}

fn password_text(version: Option<&str>, expiry: Option<DateTime<Utc>>) -> String {
    let version = version.map_or_else(String::new, |version| format!("version {version}, "));
    format!("{version}expires {}", shown_expiry(expiry))
}

fn warn_expiry(
    warnings: &mut Vec<String>,
    token: &str,
    slot: PasswordSlot,
    expiry: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    options: PlanOptions,
) {
    let Some(at) = expiry else { return };
    if at <= now {
        warnings.push(format!("token {token}: {slot} expired {}", display_time(at)));
    } else if at - now <= Duration::days(i64::from(options.expiring_within_days)) {
        let days = (at - now).num_days();
        warnings.push(format!(
            "token {token}: {slot} expires {} (in {days} day{}); bump its version to rotate it",
            display_time(at),
            if days == 1 { "" } else { "s" }
        ));
    }
}

fn field(name: &str, before: Option<String>, after: Option<String>) -> FieldChange {
    FieldChange { field: name.to_owned(), before, after, note: None }
}

/// Adds the change of field `name` to `fields` when the stored and the
/// declared value differ.
fn compare<T: PartialEq + ToString + ?Sized>(
    fields: &mut Vec<FieldChange>,
    name: &str,
    stored: &T,
    declared: &T,
) {
    if stored != declared {
        fields.push(field(name, Some(stored.to_string()), Some(declared.to_string())));
    }
}

fn change(op: ChangeOp, kind: ObjectKind, name: &str, fields: Vec<FieldChange>) -> PlannedChange {
    PlannedChange { op, kind, name: name.to_owned(), fields }
}

/// `repositories/<pattern>` fields for the rules that differ.
fn rule_fields(before: &[Rule], after: &[Rule]) -> Vec<FieldChange> {
    let mut patterns: Vec<&str> = before.iter().chain(after).map(|rule| rule.pattern.as_str()).collect();
    patterns.sort_unstable();
    patterns.dedup();
    let actions = |rules: &[Rule], pattern: &str| {
        rules.iter().find(|rule| rule.pattern.as_str() == pattern).map(|rule| actions_text(rule.actions))
    };
    patterns
        .into_iter()
        .filter_map(|pattern| {
            let (old, new) = (actions(before, pattern), actions(after, pattern));
            (old != new).then(|| field(&format!("repositories/{pattern}"), old, new))
        })
        .collect()
}

impl TokenService {
    /// The registry's access as a document and its revision.
    pub async fn export_access(&self) -> ManageResult<(AccessDocument, String)> {
        let mut tx = self.db.begin_read().await?;
        let current = Current::read(&mut tx).await?;
        drop(tx);
        Ok((current.document(), current.revision()))
    }

    /// What applying `document` would change now.
    pub async fn plan_access(
        &self,
        document: &AccessDocument,
        options: PlanOptions,
    ) -> ManageResult<AccessPlan> {
        let mut tx = self.db.begin_read().await?;
        let current = Current::read(&mut tx).await?;
        drop(tx);
        let plan = plan(&current, document, options, Utc::now())?;
        Ok(plan.view(current.revision()))
    }

    /// Makes the registry's access what `request.document` declares, in one
    /// transaction, or changes nothing: refused when the registry is no
    /// longer at `expected_revision`, when the document is not valid, and
    /// (unless `allow_downtime`) when a token would lose every working
    /// password. One audit entry for the apply (refused ones too), and one
    /// per object changed.
    pub async fn apply_access(&self, actor: &Subject, request: &ApplyRequest) -> ManageResult<ApplyOutcome> {
        match self.apply_in_one_transaction(actor, request).await {
            Ok((outcome, plan)) => {
                for change in &outcome.changes {
                    let token = (change.kind == ObjectKind::Token).then_some(change.name.as_str());
                    let action = format!(
                        "{}.{}",
                        change.kind.audit_name(),
                        match change.op {
                            ChangeOp::Create => "create",
                            ChangeOp::Update => "update",
                            ChangeOp::Delete => "delete",
                        }
                    );
                    let fields = change.fields.iter().map(|field| field.field.as_str()).collect::<Vec<_>>();
                    let repository = (change.kind == ObjectKind::Repository).then_some(change.name.as_str());
                    self.audit
                        .record(
                            Caller::Subject(actor),
                            token,
                            repository,
                            &action,
                            Outcome::Success,
                            Some(format!(
                                "{} {} by access apply: {}",
                                change.kind.as_str(),
                                change.name,
                                fields.join(", ")
                            )),
                        )
                        .await;
                }
                let summary = format!(
                    "applied {} change{}, generated {}",
                    plan.changes.len(),
                    if plan.changes.len() == 1 { "" } else { "s" },
                    if plan.generates.is_empty() {
                        "no password".to_owned()
                    } else {
                        plan.generates.join(", ")
                    }
                );
                self.audit
                    .record(
                        Caller::Subject(actor),
                        None,
                        None,
                        "access.apply",
                        Outcome::Success,
                        Some(summary),
                    )
                    .await;
                Ok(outcome)
            }
            Err(error) => {
                let outcome = match error {
                    ManageError::Internal(_) => Outcome::Failure,
                    _ => Outcome::Denied,
                };
                self.audit
                    .record(
                        Caller::Subject(actor),
                        None,
                        None,
                        "access.apply",
                        outcome,
                        Some(format!("refused: {error}")),
                    )
                    .await;
                Err(error)
            }
        }
    }

    async fn apply_in_one_transaction(
        &self,
        actor: &Subject,
        request: &ApplyRequest,
    ) -> ManageResult<(ApplyOutcome, Plan)> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let current = Current::read(&mut tx).await?;
        let revision = current.revision();
        if revision != request.expected_revision {
            return Err(ManageError::StaleRevision(format!(
                "the registry's access changed since the plan (revision {} expected, {revision} now); run plan again and review it",
                request.expected_revision
            )));
        }
        let options = PlanOptions {
            prune: request.prune,
            expiring_within_days: DEFAULT_EXPIRY_WARNING_DAYS,
            max_scope_map_rules: self.max_scope_map_rules(),
        };
        let plan = plan(&current, &request.document, options, now)?;
        if !plan.downtime.is_empty() && !request.allow_downtime {
            return Err(ManageError::RotationRefused(plan.downtime.join("; ")));
        }
        let mut secrets = Vec::new();
        for step in plan.steps.clone() {
            self.run_step(&mut tx, step, actor, now, &mut secrets).await?;
        }
        let after = Current::read(&mut tx).await?;
        tx.commit().await?;
        let outcome = ApplyOutcome { revision: after.revision(), changes: plan.changes.clone(), secrets };
        Ok((outcome, plan))
    }

    async fn run_step(
        &self,
        tx: &mut Tx,
        step: Step,
        actor: &Subject,
        now: DateTime<Utc>,
        secrets: &mut Vec<GeneratedSecret>,
    ) -> ManageResult<()> {
        match step {
            Step::CreateScopeMap { name, description, rules } => {
                rows::insert_scope_map(tx, &name, &description, &rules, now).await?.ok_or_else(|| {
                    ManageError::Conflict(format!("a scope map named {name} already exists"))
                })?;
            }
            Step::UpdateScopeMap { id, description, rules } => {
                rows::replace_scope_map(tx, id, &description, &rules).await?;
            }
            Step::CreateToken { name, scope_map, enabled } => {
                if let Some(owner) = identity_rows::name_owner(tx, &name).await? {
                    return Err(ManageError::Conflict(format!(
                        "token {name}: {name} is the name of {owner} (names compare without case); choose another"
                    )));
                }
                let map = scope_map_id(tx, &scope_map).await?;
                rows::insert_token(tx, &name, map, enabled, now)
                    .await?
                    .ok_or_else(|| ManageError::Conflict(format!("a token named {name} already exists")))?;
            }
            Step::UpdateToken { id, scope_map, enabled } => {
                let map = scope_map_id(tx, &scope_map).await?;
                rows::update_token(tx, id, enabled, map).await?;
            }
            Step::GeneratePassword { token, slot, version, password } => {
                let row = rows::find_token(tx, &token)
                    .await?
                    .ok_or_else(|| ManageError::NotFound(format!("there is no token named {token}")))?;
                let expiry = declared_expiry(&password, now);
                let value = self.store_generated(tx, row.id, slot, now, expiry, version).await?;
                secrets.push(GeneratedSecret { token: row.name, slot, value: value.into_password(), expiry });
            }
            Step::DeletePassword { id, slot } => rows::set_slot(tx, id, slot.index(), None).await?,
            Step::SetExpiry { id, slot, expiry } => {
                rows::set_slot_expiry(tx, id, slot.index(), expiry).await?;
            }
            Step::DeleteToken { id } => rows::delete_token(tx, id).await?,
            Step::DeleteScopeMap { id } => rows::delete_scope_map(tx, id).await?,
            Step::SetRepositoryLocks { id, locks } => {
                repository_rows::set_repository_locks(tx, id, locks).await?
            }
            Step::Identity(step) => identities::run(tx, step, actor.name(), now).await?,
        }
        Ok(())
    }
}

async fn scope_map_id(tx: &mut Tx, name: &str) -> ManageResult<i64> {
    Ok(rows::find_scope_map(tx, name)
        .await?
        .ok_or_else(|| ManageError::NotFound(format!("there is no scope map named {name}")))?
        .id)
}

#[cfg(test)]
mod tests {
    use portcullis_proto::{ApplyRequest, DeclaredPassword, GenerateCredentials, NewToken};

    use super::*;
    use crate::service::tokens::{
        tests::{fixture, Fixture},
        ManageError,
    };

    fn document(toml_like: serde_json::Value) -> AccessDocument {
        serde_json::from_value(toml_like).unwrap()
    }

    fn seed() -> AccessDocument {
        document(serde_json::json!({
            "scopeMaps": {
                "ci-push": {"description": "CI", "repositories": [
                    {"repository": "samples/*", "actions": ["content/read", "content/write"]}]},
                "readers": {"repositories": [{"repository": "samples/app", "actions": ["content/read"]}]}
            },
            "tokens": {"ci-bot": {"scopeMap": "ci-push",
                "password1": {"version": "1"}, "password2": {"version": "1", "validForSeconds": 864000}}}
        }))
    }

    impl Fixture {
        async fn plan(&self, document: &AccessDocument, prune: bool) -> ManageResult<AccessPlan> {
            self.tokens
                .plan_access(
                    document,
                    PlanOptions {
                        prune,
                        expiring_within_days: 30,
                        max_scope_map_rules: crate::service::tokens::DEFAULT_MAX_SCOPE_MAP_RULES,
                    },
                )
                .await
        }

        async fn apply_with(
            &self,
            document: &AccessDocument,
            prune: bool,
            allow_downtime: bool,
        ) -> ManageResult<ApplyOutcome> {
            let (_, revision) = self.tokens.export_access().await.unwrap();
            let request = ApplyRequest {
                document: document.clone(),
                expected_revision: revision,
                prune,
                allow_downtime,
            };
            self.tokens.apply_access(&self.admin, &request).await
        }

        async fn apply(&self, document: &AccessDocument) -> ManageResult<ApplyOutcome> {
            self.apply_with(document, false, false).await
        }

        async fn slots(&self, token: &str) -> [Option<SlotRow>; 2] {
            rows::token(&self.db, token).await.unwrap().unwrap().slots
        }

        async fn exported(&self) -> (AccessDocument, String) {
            self.tokens.export_access().await.unwrap()
        }
    }

    fn serial(slot: &Option<SlotRow>) -> i64 {
        slot.as_ref().expect("a password").serial
    }

    #[tokio::test]
    async fn a_new_document_is_created_whole_and_then_plans_no_change() {
        let f = fixture().await;
        let plan = f.plan(&seed(), false).await.unwrap();
        let ops: Vec<(ChangeOp, ObjectKind, &str)> =
            plan.changes.iter().map(|c| (c.op, c.kind, c.name.as_str())).collect();
        assert_eq!(
            ops,
            [
                (ChangeOp::Create, ObjectKind::ScopeMap, "ci-push"),
                (ChangeOp::Create, ObjectKind::ScopeMap, "readers"),
                (ChangeOp::Create, ObjectKind::Token, "ci-bot")
            ]
        );
        assert_eq!(plan.generates, ["ci-bot/password1", "ci-bot/password2"]);
        assert!(plan.downtime.is_empty());
        // Ten days of validity is within the 30-day warning.
        assert!(plan.warnings.iter().any(|w| w.contains("password2 expires")), "{:?}", plan.warnings);

        let applied = f.apply(&seed()).await.unwrap();
        assert_eq!(applied.secrets.len(), 2);
        assert!(applied.secrets.iter().all(|s| s.value.expose().starts_with("pct_")));
        let expiry = applied.secrets[1].expiry.unwrap();
        assert!((expiry - Utc::now() - Duration::days(10)).num_seconds().abs() < 60);

        assert!(f.plan(&seed(), false).await.unwrap().changes.is_empty(), "applied: nothing left to do");
        // The export plans no change either, though it spells the validity
        // as the expiry it gave.
        let (exported, revision) = f.exported().await;
        assert_eq!(revision, applied.revision);
        assert_eq!(
            exported.tokens["ci-bot"].password2.as_ref().unwrap().expiry,
            Some(expiry.trunc_subsecs(6))
        );
        assert!(f.plan(&exported, true).await.unwrap().changes.is_empty());
    }

    #[tokio::test]
    async fn bumping_one_version_regenerates_only_that_password() {
        let f = fixture().await;
        f.apply(&seed()).await.unwrap();
        let before = f.slots("ci-bot").await;
        let mut bumped = seed();
        bumped.tokens.get_mut("ci-bot").unwrap().password1.as_mut().unwrap().version = Some("2".into());
        let plan = f.plan(&bumped, false).await.unwrap();
        assert_eq!(plan.generates, ["ci-bot/password1"]);
        let applied = f.apply(&bumped).await.unwrap();
        assert_eq!(applied.secrets.len(), 1);
        assert_eq!(applied.secrets[0].slot, PasswordSlot::Password1);
        let after = f.slots("ci-bot").await;
        assert_ne!(serial(&after[0]), serial(&before[0]), "password1 regenerated");
        assert_eq!(serial(&after[1]), serial(&before[1]), "password2 kept");
        assert_eq!(after[0].as_ref().unwrap().version.as_deref(), Some("2"));
    }

    #[tokio::test]
    async fn the_rotation_guard_refuses_losing_every_working_password() {
        let f = fixture().await;
        f.apply(&seed()).await.unwrap();
        let (exported, revision) = f.exported().await;
        let mut both = seed();
        for slot in PasswordSlot::ALL {
            let token = both.tokens.get_mut("ci-bot").unwrap();
            let password = match slot {
                PasswordSlot::Password1 => token.password1.as_mut(),
                PasswordSlot::Password2 => token.password2.as_mut(),
            };
            password.unwrap().version = Some("2".into());
        }
        let plan = f.plan(&both, false).await.unwrap();
        assert_eq!(plan.downtime.len(), 1, "{:?}", plan.downtime);
        assert!(matches!(f.apply(&both).await, Err(ManageError::RotationRefused(_))));
        // One regenerated, the other deleted: refused too.
        let mut one_and_none = seed();
        let token = one_and_none.tokens.get_mut("ci-bot").unwrap();
        token.password1.as_mut().unwrap().version = Some("2".into());
        token.password2 = None;
        assert!(matches!(f.apply(&one_and_none).await, Err(ManageError::RotationRefused(_))));
        assert_eq!(f.exported().await, (exported, revision), "nothing changed");
        // Allowed, it goes through.
        assert_eq!(f.apply_with(&both, false, true).await.unwrap().secrets.len(), 2);
    }

    #[tokio::test]
    async fn the_only_working_password_is_guarded_too() {
        let f = fixture().await;
        let request = NewToken {
            name: "single".into(),
            scope_map: Some("_repositories_pull".into()),
            generate_passwords: Some(false),
            ..NewToken::default()
        };
        f.tokens.create_token(&f.admin, &request, None).await.unwrap();
        f.tokens
            .generate_credentials(
                &f.admin,
                "single",
                GenerateCredentials::slot(PasswordSlot::Password1, None),
            )
            .await
            .unwrap();
        let declared = |version: Option<&str>| {
            let mut document = AccessDocument::default();
            document.tokens.insert(
                "single".into(),
                DeclaredToken {
                    scope_map: "_repositories_pull".into(),
                    status: TokenStatus::Enabled,
                    password1: Some(DeclaredPassword {
                        version: version.map(str::to_owned),
                        ..Default::default()
                    }),
                    password2: None,
                },
            );
            document
        };
        // Made by hand, no version: declaring none keeps it.
        assert!(f.plan(&declared(None), false).await.unwrap().changes.is_empty());
        assert!(matches!(f.apply(&declared(Some("1"))).await, Err(ManageError::RotationRefused(_))));
    }

    #[tokio::test]
    async fn changing_only_the_expiry_keeps_the_password() {
        let f = fixture().await;
        f.apply(&seed()).await.unwrap();
        let before = f.slots("ci-bot").await;
        let mut later = seed();
        let at: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        later.tokens.get_mut("ci-bot").unwrap().password1.as_mut().unwrap().expiry = Some(at);
        let plan = f.plan(&later, false).await.unwrap();
        assert!(plan.generates.is_empty());
        assert_eq!(plan.changes[0].fields[0].field, "password1.expiry");
        let applied = f.apply(&later).await.unwrap();
        assert!(applied.secrets.is_empty());
        let after = f.slots("ci-bot").await;
        assert_eq!(serial(&after[0]), serial(&before[0]), "the same password");
        assert_eq!(after[0].as_ref().unwrap().expires_at, Some(at));
        // A past expiry is refused where it is written.
        let mut past = seed();
        past.tokens.get_mut("ci-bot").unwrap().password1.as_mut().unwrap().expiry =
            Some("2020-01-01T00:00:00Z".parse().unwrap());
        assert!(matches!(
            f.plan(&past, false).await,
            Err(ManageError::InvalidAt { pointer, .. }) if pointer == "/tokens/ci-bot/password1"
        ));
    }

    #[tokio::test]
    async fn a_stale_revision_changes_nothing() {
        let f = fixture().await;
        f.apply(&seed()).await.unwrap();
        let (_, revision) = f.exported().await;
        // Someone regenerates a password after the plan: the document cannot
        // see it, the revision does.
        f.tokens
            .generate_credentials(
                &f.admin,
                "ci-bot",
                GenerateCredentials::slot(PasswordSlot::Password1, None),
            )
            .await
            .unwrap();
        let (exported, now) = f.exported().await;
        assert_ne!(revision, now);
        let mut more = seed();
        more.scope_maps.insert("later-map".into(), DeclaredScopeMap::default());
        let request =
            ApplyRequest { document: more, expected_revision: revision, prune: false, allow_downtime: false };
        assert!(matches!(
            f.tokens.apply_access(&f.admin, &request).await,
            Err(ManageError::StaleRevision(_))
        ));
        assert_eq!(f.exported().await, (exported, now));
    }

    #[tokio::test]
    async fn a_failure_late_in_the_apply_leaves_nothing_of_it() {
        let f = fixture().await;
        crate::db::users::insert_for_test(&f.db, "alice", "not-a-real-hash").await;
        let before = f.exported().await;
        let mut document = seed();
        document.tokens.insert(
            "Alice".into(),
            DeclaredToken {
                scope_map: "readers".into(),
                status: TokenStatus::Enabled,
                password1: Some(DeclaredPassword::default()),
                password2: None,
            },
        );
        let refused = f.apply(&document).await.unwrap_err();
        assert!(
            matches!(&refused, ManageError::Conflict(message) if message.contains("a user")),
            "{refused:?}"
        );
        assert_eq!(f.exported().await, before, "the scope maps and ci-bot made before it are gone too");
    }

    #[tokio::test]
    async fn prune_deletes_what_the_document_does_not_name_and_only_then() {
        let f = fixture().await;
        f.apply(&seed()).await.unwrap();
        let request = NewToken {
            name: "by-hand".into(),
            repositories: Some(vec![RepositoryActions {
                repository: "other".into(),
                actions: vec![Action::ContentRead],
            }]),
            ..NewToken::default()
        };
        f.tokens.create_token(&f.admin, &request, None).await.unwrap();
        assert!(f.plan(&seed(), false).await.unwrap().changes.is_empty(), "left alone without --prune");
        let plan = f.plan(&seed(), true).await.unwrap();
        let deleted: Vec<(ObjectKind, &str)> = plan
            .changes
            .iter()
            .filter(|c| c.op == ChangeOp::Delete)
            .map(|c| (c.kind, c.name.as_str()))
            .collect();
        assert_eq!(deleted, [(ObjectKind::Token, "by-hand"), (ObjectKind::ScopeMap, "by-hand-scope-map")]);
        f.apply_with(&seed(), true, false).await.unwrap();
        let (exported, _) = f.exported().await;
        assert_eq!(exported.tokens.keys().collect::<Vec<_>>(), ["ci-bot"]);
        assert_eq!(exported.scope_maps.keys().collect::<Vec<_>>(), ["ci-push", "readers"]);
        // A token may not keep a map that --prune would delete.
        let mut keeps = seed();
        keeps.scope_maps.remove("readers");
        keeps.tokens.get_mut("ci-bot").unwrap().scope_map = "readers".into();
        assert!(matches!(
            f.plan(&keeps, true).await,
            Err(ManageError::InvalidAt { pointer, message }) if pointer == "/tokens/ci-bot/scopeMap" && message.contains("--prune")
        ));
    }

    #[tokio::test]
    async fn invalid_documents_are_refused_where_they_are_wrong() {
        let f = fixture().await;
        let at = |result: ManageResult<AccessPlan>| match result {
            Err(ManageError::InvalidAt { pointer, message }) => (pointer, message),
            other => panic!("expected a placed refusal, got {other:?}"),
        };
        let mut wildcard = seed();
        wildcard.scope_maps.get_mut("readers").unwrap().repositories[0].repository = "samples/*/x".into();
        let (pointer, message) = at(f.plan(&wildcard, false).await);
        assert_eq!(pointer, "/scopeMaps/readers/repositories/0");
        assert!(message.contains("in the middle"), "{message}");
        let mut missing = seed();
        missing.tokens.get_mut("ci-bot").unwrap().scope_map = "nope-map".into();
        assert_eq!(at(f.plan(&missing, false).await).0, "/tokens/ci-bot/scopeMap");
        let mut twins = seed();
        twins.scope_maps.insert("CI-push".into(), DeclaredScopeMap::default());
        assert!(at(f.plan(&twins, false).await).1.contains("declared twice"));
        let mut system = seed();
        system.scope_maps.insert("_repositories_pull".into(), DeclaredScopeMap::default());
        assert_eq!(at(f.plan(&system, false).await).0, "/scopeMaps/_repositories_pull");
        let mut both = seed();
        both.tokens.get_mut("ci-bot").unwrap().password2.as_mut().unwrap().expiry = Some(Utc::now());
        assert!(at(f.plan(&both, false).await).1.contains("not both"));
        let mut absent = seed();
        absent.repositories.insert("no/such".into(), DeclaredAttributes::default());
        assert_eq!(at(f.plan(&absent, false).await).0, "/repositories/no~1such");
    }

    fn identities() -> AccessDocument {
        document(serde_json::json!({
            "roleAssignmentMode": "rbac-abac",
            "users": {"admin": {"displayName": "The Administrator"}},
            "servicePrincipals": {"ci-runner": {"description": "CI"}},
            "groups": {"backend-devs": {"description": "Backend", "members": ["admin", "ci-runner"]}},
            "roleAssignments": [
                {"role": "Owner", "assignee": "admin"},
                {"role": "Container Registry Repository Reader", "assignee": "backend-devs",
                 "condition": "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'"},
                {"role": "Container Registry Repository Reader", "assignee": "anonymous",
                 "condition": "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'public/app'"}
            ]
        }))
    }

    #[tokio::test]
    async fn identities_are_applied_exported_and_then_plan_no_change() {
        let f = fixture().await;
        let plan = f.plan(&identities(), false).await.unwrap();
        let kinds: Vec<(ChangeOp, ObjectKind)> = plan.changes.iter().map(|c| (c.op, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                (ChangeOp::Update, ObjectKind::Registry),
                (ChangeOp::Update, ObjectKind::User),
                (ChangeOp::Create, ObjectKind::ServicePrincipal),
                (ChangeOp::Create, ObjectKind::Group),
                (ChangeOp::Create, ObjectKind::RoleAssignment),
                (ChangeOp::Create, ObjectKind::RoleAssignment),
                (ChangeOp::Create, ObjectKind::RoleAssignment),
            ]
        );
        f.apply(&identities()).await.unwrap();
        assert!(f.plan(&identities(), true).await.unwrap().changes.is_empty());
        let (exported, _) = f.exported().await;
        assert_eq!(exported.groups.as_ref().unwrap()["backend-devs"].members, ["admin", "ci-runner"]);
        assert_eq!(exported.role_assignments.as_ref().unwrap().len(), 3);
        assert!(f.plan(&exported, true).await.unwrap().changes.is_empty(), "the export is the state");
        // The group reads its members in the decision as well.
        let members = crate::db::identities::members(
            &f.db,
            crate::db::identities::group(&f.db, "backend-devs").await.unwrap().unwrap().id,
        )
        .await
        .unwrap();
        assert_eq!(members.len(), 2);
    }

    #[tokio::test]
    async fn sections_a_document_leaves_out_are_not_managed_even_with_prune() {
        let f = fixture().await;
        f.apply(&identities()).await.unwrap();
        let (before, _) = f.exported().await;
        let plan = f.plan(&seed(), true).await.unwrap();
        assert!(
            plan.changes.iter().all(|c| matches!(c.kind, ObjectKind::ScopeMap | ObjectKind::Token)),
            "{plan:?}"
        );
        f.apply_with(&seed(), true, false).await.unwrap();
        let (after, _) = f.exported().await;
        assert_eq!(
            (after.users, after.groups, after.role_assignments),
            (before.users, before.groups, before.role_assignments)
        );
        // Named and pruned: the group the document leaves out goes, with
        // its assignment.
        let mut fewer = identities();
        fewer.groups = Some(Default::default());
        fewer.role_assignments.as_mut().unwrap().remove(1);
        let plan = f.plan(&fewer, true).await.unwrap();
        // (The seed's scope maps and token go too: the document names none.)
        let deleted: Vec<ObjectKind> = plan
            .changes
            .iter()
            .filter(|c| {
                c.op == ChangeOp::Delete && !matches!(c.kind, ObjectKind::ScopeMap | ObjectKind::Token)
            })
            .map(|c| c.kind)
            .collect();
        assert_eq!(deleted, [ObjectKind::RoleAssignment, ObjectKind::Group]);
    }

    #[tokio::test]
    async fn nobody_may_be_left_without_owner_and_people_are_not_created() {
        let f = fixture().await;
        f.apply(&identities()).await.unwrap();
        let mut no_owner = identities();
        no_owner.role_assignments.as_mut().unwrap().remove(0);
        let refused = f.apply_with(&no_owner, true, false).await.unwrap_err();
        assert!(refused.to_string().contains("no enabled user holding Owner"), "{refused}");
        let mut disabled = identities();
        disabled.users.as_mut().unwrap().get_mut("admin").unwrap().enabled = false;
        assert!(f.plan(&disabled, false).await.unwrap_err().to_string().contains("Owner"));
        // Owner through a group of enabled people is enough.
        let mut through_group = identities();
        through_group.role_assignments.as_mut().unwrap()[0].assignee = "backend-devs".into();
        f.apply_with(&through_group, true, false).await.unwrap();

        let mut stranger = identities();
        stranger
            .users
            .as_mut()
            .unwrap()
            .insert("bob".into(), serde_json::from_value(serde_json::json!({})).unwrap());
        assert!(matches!(
            f.plan(&stranger, false).await,
            Err(ManageError::InvalidAt { pointer, message }) if pointer == "/users/bob" && message.contains("user create")
        ));
    }

    #[tokio::test]
    async fn identity_mistakes_are_refused_where_they_are_written() {
        let f = fixture().await;
        let at = |result: ManageResult<AccessPlan>| match result {
            Err(ManageError::InvalidAt { pointer, message }) => (pointer, message),
            other => panic!("expected a placed refusal, got {other:?}"),
        };
        let mut syntax = identities();
        syntax.role_assignments.as_mut().unwrap()[1].condition = Some("@Resource[nope".into());
        assert_eq!(at(f.plan(&syntax, false).await).0, "/roleAssignments/1/condition");
        let mut rbac = identities();
        rbac.role_assignment_mode = None;
        let (pointer, message) = at(f.plan(&rbac, false).await);
        assert_eq!(pointer, "/roleAssignments/1/condition");
        assert!(message.contains("rbac mode"), "{message}");
        let mut role = identities();
        role.role_assignments.as_mut().unwrap()[0].role = "Superuser".into();
        assert_eq!(at(f.plan(&role, false).await).0, "/roleAssignments/0/role");
        let mut member = identities();
        member.groups.as_mut().unwrap().get_mut("backend-devs").unwrap().members.push("ghost".into());
        assert_eq!(at(f.plan(&member, false).await).0, "/groups/backend-devs/members/2");
        let mut anonymous_owner = identities();
        anonymous_owner.role_assignments.as_mut().unwrap()[0].assignee = "anonymous".into();
        assert!(at(f.plan(&anonymous_owner, false).await).1.contains("repository roles only"));
        let mut twice = identities();
        let first = twice.role_assignments.as_ref().unwrap()[0].clone();
        twice.role_assignments.as_mut().unwrap().push(first);
        assert!(at(f.plan(&twice, false).await).1.contains("twice"));
    }
}
