//! Scope maps and tokens (SPEC §1, §2): the management use-cases shared by
//! the JSON API, the CLI (through the API) and the portal. Every rule is
//! checked here once (names, patterns, actions, system scope maps, scope
//! maps in use) before anything is written; each change is one transaction
//! and one audit entry. Answers are the API's wire types
//! (`portcullis_proto`), which the API sends as they are.

use super::Cause;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use portcullis_proto::{CredentialPassword, ScopeMapKind};
pub use portcullis_proto::{
    Credentials, GenerateCredentials, NewToken, PasswordSlot, RepositoryActions, ScopeMap, Token, TokenStatus,
};
use rand::{rngs::OsRng, RngCore};

use crate::{
    auth::{
        token::Subject,
        token_password::{GeneratedPassword, PasswordHasher},
    },
    db::{
        identities,
        tokens::{self as rows, ScopeMapRow, SlotRow, TokenRow},
        Database, DbError, Tx,
    },
    policy::{
        self, add_repository_actions, remove_repository_actions, Action, ActionSet, PolicyError,
        RepositoryPattern, Rule,
    },
    service::audit::{AuditLog, Caller, Outcome},
};

/// How many token names a "scope map in use" error lists.
const IN_USE_NAMES_SHOWN: i64 = 10;

/// A password expiring within this is flagged (SPEC §4: before it breaks
/// a pipeline).
pub const EXPIRY_WARNING: chrono::Duration = chrono::Duration::days(14);

/// Whether a password with this expiry has stopped working at `now`: the
/// one expiry rule of sign-in, issued tokens and the pages.
pub fn expired(expiry: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expiry.is_some_and(|expiry| expiry <= now)
}

/// Whether a password with this expiry still works but expires within
/// [`EXPIRY_WARNING`].
pub fn expires_soon(expiry: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    !expired(expiry, now) && expiry.is_some_and(|expiry| expiry - now <= EXPIRY_WARNING)
}

/// Dates as people read them on a page: `2026-11-23 17:44 UTC`.
pub fn display_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Invalid(String),
    /// Bad input at a place in a document (a JSON pointer into it).
    #[error("{message}")]
    InvalidAt { pointer: String, message: String },
    /// An apply decided on a revision the registry has moved past.
    #[error("{0}")]
    StaleRevision(String),
    /// An apply would leave a token without a working password.
    #[error("{0}")]
    RotationRefused(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("scope map {name} is used by tokens {}; move them to another scope map or delete them first", .tokens.join(", "))]
    InUse { name: String, tokens: Vec<String> },
    #[error("scope map {0} is system-defined and cannot be changed or deleted")]
    ReadOnly(String),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl From<PolicyError> for ManageError {
    fn from(error: PolicyError) -> Self {
        Self::Invalid(error.to_string())
    }
}

impl From<DbError> for ManageError {
    fn from(error: DbError) -> Self {
        Self::Internal(error.into())
    }
}

pub type ManageResult<T> = Result<T, ManageError>;

/// RFC 3339, UTC, `Z`: the one time format of the API.
pub fn format_time(time: DateTime<Utc>) -> String {
    portcullis_proto::time::format(time)
}

/// The validated pattern and actions of one rule as users write it: the
/// wildcard rules and at least one action.
pub fn parse_rule(rule: &RepositoryActions) -> ManageResult<(RepositoryPattern, ActionSet)> {
    let pattern = RepositoryPattern::parse(rule.repository.trim())?;
    if rule.actions.is_empty() {
        return Err(ManageError::Invalid(format!("give at least one action for repository {pattern}")));
    }
    Ok((pattern, rule.actions.iter().copied().collect()))
}

/// A new token's scope map made from its `repositories`, with the name and
/// description the portal asks for (the API names it `<token>-scope-map`).
#[derive(Debug, Clone, Default)]
pub struct ScopeMapNaming {
    pub name: String,
    pub description: String,
}

fn scope_map_view(row: ScopeMapRow) -> ScopeMap {
    let mut rules = row.rules;
    rules.sort_by(|a, b| a.pattern.as_str().cmp(b.pattern.as_str()));
    let ordered = |set: ActionSet| Action::LISTED.into_iter().filter(move |a| set.contains(*a));
    ScopeMap {
        kind: if row.is_system { ScopeMapKind::SystemDefined } else { ScopeMapKind::UserDefined },
        actions: rules
            .iter()
            .flat_map(|rule| {
                ordered(rule.actions).map(move |a| format!("repositories/{}/{}", rule.pattern, a))
            })
            .collect(),
        repositories: rules
            .iter()
            .map(|rule| RepositoryActions {
                repository: rule.pattern.to_string(),
                actions: ordered(rule.actions).collect(),
            })
            .collect(),
        name: row.name,
        description: row.description,
        creation_date: row.created_at,
        token_count: row.token_count,
    }
}

pub fn token_view(row: &TokenRow) -> Token {
    let passwords = row
        .slots
        .iter()
        .zip(PasswordSlot::ALL)
        .filter_map(|(slot, name)| {
            slot.as_ref().map(|slot| CredentialPassword {
                name,
                value: None,
                creation_time: slot.created_at,
                expiry: slot.expires_at,
            })
        })
        .collect();
    Token {
        name: row.name.clone(),
        creation_date: row.created_at,
        status: TokenStatus::from_enabled(row.enabled),
        scope_map: row.scope_map_name.clone(),
        last_used: row.last_used_at,
        credentials: Credentials { username: row.name.clone(), passwords },
    }
}

pub struct TokenService {
    pub(super) db: Database,
    hasher: Arc<PasswordHasher>,
    pub(super) audit: AuditLog,
    max_scope_map_rules: usize,
}

/// The most repository rules a scope map holds unless configured otherwise
/// (the cloud registry's documented limit is 500 repositories per scope
/// map).
pub const DEFAULT_MAX_SCOPE_MAP_RULES: usize = 500;

impl TokenService {
    pub fn new(db: Database, hasher: Arc<PasswordHasher>, audit: AuditLog) -> Self {
        Self { db, hasher, audit, max_scope_map_rules: DEFAULT_MAX_SCOPE_MAP_RULES }
    }

    /// Refuses scope maps of more than `max` repository rules.
    pub fn with_max_scope_map_rules(mut self, max: usize) -> Self {
        self.max_scope_map_rules = max;
        self
    }

    pub fn max_scope_map_rules(&self) -> usize {
        self.max_scope_map_rules
    }

    async fn audit_change(&self, actor: &Subject, token: Option<&str>, action: &str, detail: String) {
        self.audit.record(Caller::Subject(actor), token, None, action, Outcome::Success, Some(detail)).await;
    }

    // ----- scope maps -----

    pub async fn list_scope_maps(&self) -> ManageResult<Vec<ScopeMap>> {
        Ok(rows::list_scope_maps(&self.db).await?.into_iter().map(scope_map_view).collect())
    }

    pub async fn scope_map(&self, name: &str) -> ManageResult<ScopeMap> {
        let row = rows::scope_map(&self.db, name).await?;
        Ok(scope_map_view(row.ok_or_else(|| no_scope_map(name))?))
    }

    pub async fn create_scope_map(
        &self,
        actor: &Subject,
        name: &str,
        description: &str,
        repositories: &[RepositoryActions],
    ) -> ManageResult<ScopeMap> {
        policy::validate_scope_map_name(name)?;
        let rules = parse_rules(repositories)?;
        check_rule_count(name, &rules, self.max_scope_map_rules)?;
        let mut tx = self.db.begin().await?;
        insert_scope_map(&mut tx, name, description, &rules).await?;
        let view = scope_map_view(find_scope_map(&mut tx, name).await?);
        tx.commit().await?;
        self.audit_change(actor, None, "scopeMap.create", format!("scope map {name}")).await;
        Ok(view)
    }

    /// Adds and removes repository actions and optionally sets the
    /// description; the change applies to every token on the next request.
    pub async fn update_scope_map(
        &self,
        actor: &Subject,
        name: &str,
        description: Option<&str>,
        add: &[RepositoryActions],
        remove: &[RepositoryActions],
    ) -> ManageResult<ScopeMap> {
        let add = add.iter().map(parse_rule).collect::<ManageResult<Vec<_>>>()?;
        let remove = remove.iter().map(parse_rule).collect::<ManageResult<Vec<_>>>()?;
        self.change_scope_map(actor, name, description, |rules| {
            for (pattern, actions) in &add {
                add_repository_actions(rules, pattern, *actions);
            }
            for (pattern, actions) in &remove {
                remove_repository_actions(rules, pattern, *actions);
            }
        })
        .await
    }

    /// Replaces every rule (the portal's editor shows the whole list) and
    /// optionally the description.
    pub async fn replace_scope_map_rules(
        &self,
        actor: &Subject,
        name: &str,
        description: Option<&str>,
        repositories: &[RepositoryActions],
    ) -> ManageResult<ScopeMap> {
        let wanted = parse_rules(repositories)?;
        self.change_scope_map(actor, name, description, |rules| *rules = wanted).await
    }

    /// Applies `change` to a user-defined scope map's rules in one
    /// transaction and bumps its revision.
    async fn change_scope_map(
        &self,
        actor: &Subject,
        name: &str,
        description: Option<&str>,
        change: impl FnOnce(&mut Vec<Rule>),
    ) -> ManageResult<ScopeMap> {
        let mut tx = self.db.begin().await?;
        let row = find_scope_map(&mut tx, name).await?;
        if row.is_system {
            return Err(ManageError::ReadOnly(row.name));
        }
        let mut rules = row.rules;
        change(&mut rules);
        check_rule_count(name, &rules, self.max_scope_map_rules)?;
        let description = description.unwrap_or(&row.description);
        rows::replace_scope_map(&mut tx, row.id, description, &rules).await?;
        let view = scope_map_view(find_scope_map(&mut tx, name).await?);
        tx.commit().await?;
        self.audit_change(actor, None, "scopeMap.update", format!("scope map {}", view.name)).await;
        Ok(view)
    }

    pub async fn delete_scope_map(&self, actor: &Subject, name: &str) -> ManageResult<()> {
        let mut tx = self.db.begin().await?;
        let row = find_scope_map(&mut tx, name).await?;
        if row.is_system {
            return Err(ManageError::ReadOnly(row.name));
        }
        let users = rows::tokens_using(&mut tx, row.id, IN_USE_NAMES_SHOWN + 1).await?;
        if !users.is_empty() {
            let mut tokens: Vec<String> = users.into_iter().take(IN_USE_NAMES_SHOWN as usize).collect();
            if row.token_count > IN_USE_NAMES_SHOWN {
                tokens.push(format!("and {} more", row.token_count - IN_USE_NAMES_SHOWN));
            }
            return Err(ManageError::InUse { name: row.name, tokens });
        }
        rows::delete_scope_map(&mut tx, row.id).await?;
        tx.commit().await?;
        self.audit_change(actor, None, "scopeMap.delete", format!("scope map {}", row.name)).await;
        Ok(())
    }

    // ----- tokens -----

    /// One page by name (A→Z, or Z→A when `descending`), optionally
    /// filtered by a name prefix; the next page starts after the returned
    /// cursor.
    pub async fn list_tokens(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
        descending: bool,
    ) -> ManageResult<(Vec<Token>, Option<String>)> {
        let limit = limit.clamp(1, 1000);
        let mut rows = rows::list_tokens(&self.db, prefix, after, limit + 1, descending).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|row| row.name.clone())
        } else {
            None
        };
        Ok((rows.iter().map(token_view).collect(), next))
    }

    pub async fn count_tokens(&self) -> ManageResult<i64> {
        Ok(rows::count_tokens(&self.db).await?)
    }

    pub async fn token(&self, name: &str) -> ManageResult<Token> {
        let row = rows::token(&self.db, name).await?;
        Ok(token_view(&row.ok_or_else(|| no_token(name))?))
    }

    /// Creates a token on an existing scope map, or on a new scope map made
    /// from `repositories` (named `new_scope_map`, by default
    /// `<token>-scope-map`); by default with both passwords generated
    /// (their values are in the returned token, once).
    pub async fn create_token(
        &self,
        actor: &Subject,
        request: &NewToken,
        new_scope_map: Option<ScopeMapNaming>,
    ) -> ManageResult<Token> {
        let name = request.name.trim();
        policy::validate_token_name(name)?;
        // A token of that name is refused below, in the token's own words.
        if let Some(owner) =
            identities::name_owner_now(&self.db, name).await?.filter(|owner| *owner != "a token")
        {
            return Err(ManageError::Conflict(format!(
                "{name} is the name of {owner} (names compare without case); choose another"
            )));
        }
        let new_rules = match (&request.scope_map, &request.repositories) {
            (Some(_), None) => None,
            (None, Some(repositories)) => {
                let rules = parse_rules(repositories)?;
                check_rule_count(name, &rules, self.max_scope_map_rules)?;
                Some(rules)
            }
            _ => {
                return Err(ManageError::Invalid(
                    "give either an existing scope map or repositories and actions, not both".into(),
                ))
            }
        };
        let now = Utc::now();
        check_expiry(request.expiry, now)?;
        let mut tx = self.db.begin().await?;
        let scope_map_id = match (&request.scope_map, new_rules) {
            (Some(scope_map), _) => find_scope_map(&mut tx, scope_map).await?.id,
            (None, rules) => {
                let naming = match new_scope_map {
                    Some(naming) => naming,
                    None => ScopeMapNaming {
                        name: policy::scope_map_name_for_token(name)?,
                        description: String::new(),
                    },
                };
                let new_name = naming.name.trim();
                insert_scope_map(&mut tx, new_name, naming.description.trim(), &rules.unwrap_or_default())
                    .await?
            }
        };
        let enabled = request.status.unwrap_or(TokenStatus::Enabled).is_enabled();
        let id = rows::insert_token(&mut tx, name, scope_map_id, enabled, now)
            .await?
            .ok_or_else(|| ManageError::Conflict(format!("a token named {name} already exists")))?;
        let mut generated = Vec::new();
        if request.generate_passwords.unwrap_or(true) {
            for slot in PasswordSlot::ALL {
                generated.push(self.store_new_password(&mut tx, id, slot, now, request.expiry).await?);
            }
        }
        let mut view = token_view(&find_token(&mut tx, name).await?);
        tx.commit().await?;
        reveal(&mut view.credentials, generated);
        self.audit_change(
            actor,
            Some(&view.name),
            "token.create",
            format!("token {} on scope map {}", view.name, view.scope_map),
        )
        .await;
        Ok(view)
    }

    /// Sets the status and/or switches the scope map.
    pub async fn update_token(
        &self,
        actor: &Subject,
        name: &str,
        status: Option<TokenStatus>,
        scope_map: Option<&str>,
    ) -> ManageResult<Token> {
        let mut tx = self.db.begin().await?;
        let row = find_token(&mut tx, name).await?;
        let scope_map_id = match scope_map {
            Some(scope_map) => find_scope_map(&mut tx, scope_map).await?.id,
            None => row.scope_map_id,
        };
        let enabled = status.map_or(row.enabled, TokenStatus::is_enabled);
        rows::update_token(&mut tx, row.id, enabled, scope_map_id).await?;
        let view = token_view(&find_token(&mut tx, name).await?);
        tx.commit().await?;
        self.audit_change(
            actor,
            Some(&view.name),
            "token.update",
            format!("token {}: status {:?}, scope map {}", view.name, view.status, view.scope_map),
        )
        .await;
        Ok(view)
    }

    pub async fn delete_token(&self, actor: &Subject, name: &str) -> ManageResult<()> {
        let mut tx = self.db.begin().await?;
        let row = find_token(&mut tx, name).await?;
        rows::delete_token(&mut tx, row.id).await?;
        tx.commit().await?;
        self.audit_change(actor, Some(&row.name), "token.delete", format!("token {}", row.name)).await;
        Ok(())
    }

    /// (Re)generates the chosen password slots (both when none is chosen).
    /// A regenerated slot's old password stops working at once; the other
    /// slot is untouched.
    pub async fn generate_credentials(
        &self,
        actor: &Subject,
        name: &str,
        request: GenerateCredentials,
    ) -> ManageResult<Credentials> {
        let now = Utc::now();
        check_expiry(request.expiry, now)?;
        let slots = request.slots();
        let mut tx = self.db.begin().await?;
        let row = find_token(&mut tx, name).await?;
        let mut generated = Vec::new();
        for slot in &slots {
            generated.push(self.store_new_password(&mut tx, row.id, *slot, now, request.expiry).await?);
        }
        let view = token_view(&find_token(&mut tx, name).await?);
        tx.commit().await?;
        let mut credentials = view.credentials;
        credentials.passwords.retain(|password| slots.contains(&password.name));
        reveal(&mut credentials, generated);
        let names = slots.iter().map(|slot| slot.as_str()).collect::<Vec<_>>().join(", ");
        self.audit_change(
            actor,
            Some(&row.name),
            "token.credential.generate",
            format!("token {}: {names}", row.name),
        )
        .await;
        Ok(credentials)
    }

    pub async fn delete_credential(
        &self,
        actor: &Subject,
        name: &str,
        slot: PasswordSlot,
    ) -> ManageResult<Token> {
        let mut tx = self.db.begin().await?;
        let row = find_token(&mut tx, name).await?;
        rows::set_slot(&mut tx, row.id, slot.index(), None).await?;
        let view = token_view(&find_token(&mut tx, name).await?);
        tx.commit().await?;
        self.audit_change(
            actor,
            Some(&row.name),
            "token.credential.delete",
            format!("token {}: {slot}", row.name),
        )
        .await;
        Ok(view)
    }

    async fn store_new_password(
        &self,
        tx: &mut Tx,
        id: i64,
        slot: PasswordSlot,
        now: DateTime<Utc>,
        expiry: Option<DateTime<Utc>>,
    ) -> ManageResult<(PasswordSlot, GeneratedPassword)> {
        Ok((slot, self.store_generated(tx, id, slot, now, expiry, None).await?))
    }

    /// Generates a password into `slot` (replacing what it held), for the
    /// declared `version` when `portcullis apply` asks.
    pub(super) async fn store_generated(
        &self,
        tx: &mut Tx,
        id: i64,
        slot: PasswordSlot,
        now: DateTime<Utc>,
        expiry: Option<DateTime<Utc>>,
        version: Option<String>,
    ) -> ManageResult<GeneratedPassword> {
        let (password, digest) = self.hasher.generate();
        let row = SlotRow {
            digest: digest.0.to_vec(),
            created_at: now,
            expires_at: expiry,
            serial: new_serial(),
            version,
        };
        rows::set_slot(tx, id, slot.index(), Some(&row)).await?;
        Ok(password)
    }

    /// Sets a password's expiry (`None`: never) and keeps the password.
    pub async fn set_credential_expiry(
        &self,
        actor: &Subject,
        name: &str,
        slot: PasswordSlot,
        expiry: Option<DateTime<Utc>>,
    ) -> ManageResult<Token> {
        check_expiry(expiry, Utc::now())?;
        let mut tx = self.db.begin().await?;
        let row = find_token(&mut tx, name).await?;
        if !rows::set_slot_expiry(&mut tx, row.id, slot.index(), expiry).await? {
            return Err(ManageError::NotFound(format!(
                "token {} has no {slot}; generate it first",
                row.name
            )));
        }
        let view = token_view(&find_token(&mut tx, name).await?);
        tx.commit().await?;
        let shown = expiry.map_or_else(|| "never".to_owned(), display_time);
        self.audit_change(
            actor,
            Some(&row.name),
            "token.credential.expiry",
            format!("token {}: {slot} expires {shown}", row.name),
        )
        .await;
        Ok(view)
    }
}

fn new_serial() -> i64 {
    // Positive, random: identifies one generation of a slot.
    (OsRng.next_u64() >> 1) as i64
}

fn reveal(credentials: &mut Credentials, generated: Vec<(PasswordSlot, GeneratedPassword)>) {
    for (slot, password) in generated {
        if let Some(view) = credentials.passwords.iter_mut().find(|view| view.name == slot) {
            view.value = Some(password.into_password());
        }
    }
}

fn check_expiry(expiry: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ManageResult<()> {
    match expiry {
        Some(expiry) if expiry <= now => Err(ManageError::Invalid(format!(
            "the expiry {} is in the past; give a future date",
            display_time(expiry)
        ))),
        _ => Ok(()),
    }
}

fn parse_rules(repositories: &[RepositoryActions]) -> ManageResult<Vec<Rule>> {
    let mut rules = Vec::new();
    for repository in repositories {
        let (pattern, actions) = parse_rule(repository)?;
        add_repository_actions(&mut rules, &pattern, actions);
    }
    Ok(rules)
}

/// Refuses a scope map of more than `max` repository rules (one rule per
/// repository or wildcard, its actions merged).
pub(super) fn check_rule_count(name: &str, rules: &[Rule], max: usize) -> ManageResult<()> {
    if rules.len() > max {
        return Err(ManageError::Invalid(format!(
            "scope map {name} would have {} repository rules, more than the limit of {max} \
             (--max-scope-map-rules); use wildcards such as team/* to cover many repositories",
            rules.len()
        )));
    }
    Ok(())
}

fn no_scope_map(name: &str) -> ManageError {
    ManageError::NotFound(format!("there is no scope map named {name}"))
}

fn no_token(name: &str) -> ManageError {
    ManageError::NotFound(format!("there is no token named {name}"))
}

async fn find_scope_map(tx: &mut Tx, name: &str) -> ManageResult<ScopeMapRow> {
    rows::find_scope_map(tx, name).await?.ok_or_else(|| no_scope_map(name))
}

async fn insert_scope_map(tx: &mut Tx, name: &str, description: &str, rules: &[Rule]) -> ManageResult<i64> {
    policy::validate_scope_map_name(name)?;
    rows::insert_scope_map(tx, name, description, rules, Utc::now())
        .await?
        .ok_or_else(|| ManageError::Conflict(format!("a scope map named {name} already exists")))
}

async fn find_token(tx: &mut Tx, name: &str) -> ManageResult<TokenRow> {
    rows::find_token(tx, name).await?.ok_or_else(|| no_token(name))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A token service on a new database, and its administrator (also the
    /// fixture of `access_code`'s tests).
    pub(in crate::service) struct Fixture {
        pub(in crate::service) tokens: TokenService,
        pub(in crate::service) db: Database,
        pub(in crate::service) admin: Subject,
        _dir: tempfile::TempDir,
    }

    pub(in crate::service) async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        crate::db::users::insert_for_test(&db, "admin", "not-a-real-hash").await;
        let audit = AuditLog::start(db.clone());
        Fixture {
            tokens: TokenService::new(db.clone(), Arc::new(PasswordHasher::from_key([5; 32])), audit),
            db,
            admin: Subject::User("admin".into()),
            _dir: dir,
        }
    }

    fn rule(repository: &str, actions: &[&str]) -> RepositoryActions {
        RepositoryActions {
            repository: repository.into(),
            actions: actions.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    fn invalid(result: ManageResult<impl std::fmt::Debug>) -> String {
        match result {
            Err(ManageError::Invalid(message)) => message,
            other => panic!("expected an invalid-input error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn scope_map_input_is_checked_with_reasons_and_nothing_is_written() {
        let f = fixture().await;
        let create = |name: &'static str, rules: Vec<RepositoryActions>| {
            let tokens = &f.tokens;
            let admin = &f.admin;
            async move { tokens.create_scope_map(admin, name, "", &rules).await }
        };
        let ok = vec![rule("samples/a", &["content/read"])];
        assert!(invalid(create("abc", ok.clone()).await).contains("5 to 50 characters"));
        assert!(invalid(create("_mine", ok.clone()).await).contains("reserved"));
        assert!(invalid(create("has space", ok.clone()).await).contains("letters, digits"));
        let middle = invalid(create("wildcards", vec![rule("sample/*/teamA", &["content/read"])]).await);
        assert!(middle.contains("in the middle"), "{middle}");
        let no_slash = invalid(create("wildcards", vec![rule("sample/teamA*", &["content/read"])]).await);
        assert!(no_slash.contains("must follow `/`"), "{no_slash}");
        let many =
            invalid(create("wildcards", vec![rule("sample/teamA/*/projectB/*", &["content/read"])]).await);
        assert!(many.contains("more than one wildcard"), "{many}");
        assert!(invalid(create("wildcards", vec![rule("Samples/A", &["content/read"])]).await)
            .contains("lowercase"));
        // An unknown action does not get past the wire type (portcullis_proto).
        assert!(
            invalid(create("actions", vec![rule("samples/a", &[])]).await).contains("at least one action")
        );
        // None of the refused maps exists.
        let names: Vec<String> =
            f.tokens.list_scope_maps().await.unwrap().into_iter().map(|m| m.name).collect();
        assert_eq!(names.len(), 5, "{names:?}");

        create("good-map", ok.clone()).await.unwrap();
        assert!(
            matches!(create("GOOD-map", ok).await, Err(ManageError::Conflict(_))),
            "names compare without case"
        );
    }

    #[tokio::test]
    async fn system_scope_maps_are_listed_first_and_read_only() {
        let f = fixture().await;
        f.tokens.create_scope_map(&f.admin, "aaaa-first", "", &[rule("x", &["content/read"])]).await.unwrap();
        let maps = f.tokens.list_scope_maps().await.unwrap();
        let kinds: Vec<ScopeMapKind> = maps.iter().map(|m| m.kind).collect();
        let expected = [ScopeMapKind::SystemDefined; 5].into_iter().chain([ScopeMapKind::UserDefined]);
        assert_eq!(kinds, expected.collect::<Vec<_>>());
        assert_eq!(maps[0].name, "_repositories_admin");
        assert!(maps[1].actions.contains(&"repositories/*/content/read".to_owned()));
        let edit = f.tokens.update_scope_map(&f.admin, "_repositories_pull", None, &[], &[]).await;
        assert!(matches!(edit, Err(ManageError::ReadOnly(_))));
        assert!(matches!(
            f.tokens.delete_scope_map(&f.admin, "_repositories_pull").await,
            Err(ManageError::ReadOnly(_))
        ));
    }

    #[tokio::test]
    async fn updates_add_and_remove_actions_and_deleting_a_used_map_names_its_tokens() {
        let f = fixture().await;
        let rules = [rule("samples/hello-world", &["content/write", "content/read"])];
        f.tokens.create_scope_map(&f.admin, "MyScopeMap", "Sample scope map", &rules).await.unwrap();
        let updated = f
            .tokens
            .update_scope_map(
                &f.admin,
                "MyScopeMap",
                None,
                &[rule("samples/nginx", &["content/write", "content/read"])],
                &[rule("samples/hello-world", &["content/write", "content/read"])],
            )
            .await
            .unwrap();
        assert_eq!(updated.repositories, vec![rule("samples/nginx", &["content/read", "content/write"])]);
        assert_eq!(updated.description, "Sample scope map");
        for name in ["user-one", "user-two"] {
            let request =
                NewToken { name: name.into(), scope_map: Some("MyScopeMap".into()), ..NewToken::default() };
            f.tokens.create_token(&f.admin, &request, None).await.unwrap();
        }
        let refusal = f.tokens.delete_scope_map(&f.admin, "MyScopeMap").await.unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "scope map MyScopeMap is used by tokens user-one, user-two; move them to another scope map or delete them first"
        );
        for name in ["user-one", "user-two"] {
            f.tokens.delete_token(&f.admin, name).await.unwrap();
        }
        f.tokens.delete_scope_map(&f.admin, "MyScopeMap").await.unwrap();
        assert!(matches!(f.tokens.scope_map("MyScopeMap").await, Err(ManageError::NotFound(_))));
    }

    #[tokio::test]
    async fn replacing_the_rules_keeps_exactly_the_wanted_ones() {
        let f = fixture().await;
        let current = [rule("a", &["content/read", "content/write"]), rule("b/*", &["metadata/read"])];
        f.tokens.create_scope_map(&f.admin, "editor-map", "before", &current).await.unwrap();
        let wanted = [rule("a", &["content/read"]), rule("c", &["content/read"])];
        let view =
            f.tokens.replace_scope_map_rules(&f.admin, "editor-map", Some("after"), &wanted).await.unwrap();
        assert_eq!(view.repositories, wanted.to_vec());
        assert_eq!(view.description, "after");
        let bad = [rule("sample/*/teamA", &["content/read"])];
        assert!(invalid(f.tokens.replace_scope_map_rules(&f.admin, "editor-map", None, &bad).await)
            .contains("in the middle"));
        assert_eq!(f.tokens.scope_map("editor-map").await.unwrap().repositories, wanted.to_vec());
    }

    #[tokio::test]
    async fn a_token_and_its_named_new_scope_map_are_created_together_or_not_at_all() {
        let f = fixture().await;
        let request = |token: &str| NewToken {
            name: token.into(),
            repositories: Some(vec![rule("acme/app", &["content/read"])]),
            ..NewToken::default()
        };
        let naming = || Some(ScopeMapNaming { name: "acme-readers".into(), description: "Acme".into() });
        let created = f.tokens.create_token(&f.admin, &request("acme-ci"), naming()).await.unwrap();
        assert_eq!(created.scope_map, "acme-readers");
        assert_eq!(f.tokens.scope_map("acme-readers").await.unwrap().description, "Acme");
        // The second token's map name is taken: nothing of it is written.
        assert!(matches!(
            f.tokens.create_token(&f.admin, &request("acme-cd"), naming()).await,
            Err(ManageError::Conflict(_))
        ));
        assert!(matches!(f.tokens.token("acme-cd").await, Err(ManageError::NotFound(_))));
        // A token refused inside the transaction (its name is taken) leaves
        // no new scope map behind.
        let never_made = Some(ScopeMapNaming { name: "never-made".into(), description: String::new() });
        assert!(f.tokens.create_token(&f.admin, &request("acme-ci"), never_made).await.is_err());
        assert!(matches!(f.tokens.scope_map("never-made").await, Err(ManageError::NotFound(_))));
    }

    #[test]
    fn one_expiry_rule_for_expired_and_expiring_soon() {
        let now = Utc::now();
        let at = |days: i64| Some(now + chrono::Duration::days(days));
        assert!(!expired(None, now) && !expires_soon(None, now), "no expiry never expires");
        assert!(expired(Some(now), now) && !expires_soon(Some(now), now), "the expiry itself is past");
        assert!(expired(at(-1), now) && !expires_soon(at(-1), now));
        assert!(!expired(at(14), now) && expires_soon(at(14), now));
        assert!(!expired(at(15), now) && !expires_soon(at(15), now));
    }

    #[tokio::test]
    async fn token_creation_rules() {
        let f = fixture().await;
        let both = NewToken {
            name: "both-given".into(),
            scope_map: Some("_repositories_pull".into()),
            repositories: Some(vec![rule("a", &["content/read"])]),
            ..NewToken::default()
        };
        assert!(invalid(f.tokens.create_token(&f.admin, &both, None).await).contains("either"));
        let neither = NewToken { name: "neither-given".into(), ..NewToken::default() };
        assert!(invalid(f.tokens.create_token(&f.admin, &neither, None).await).contains("either"));
        let unknown = NewToken {
            name: "unknown-map".into(),
            scope_map: Some("nope-nope".into()),
            ..NewToken::default()
        };
        assert!(matches!(
            f.tokens.create_token(&f.admin, &unknown, None).await,
            Err(ManageError::NotFound(_))
        ));
        let past = NewToken {
            name: "in-the-past".into(),
            scope_map: Some("_repositories_pull".into()),
            expiry: Some(Utc::now() - chrono::Duration::days(1)),
            ..NewToken::default()
        };
        let refused = invalid(f.tokens.create_token(&f.admin, &past, None).await);
        assert!(refused.contains("in the past"), "{refused}");
        // The date as the portal shows dates, not a raw timestamp.
        assert!(refused.contains(" UTC is in the past") && !refused.contains(":00.0"), "{refused}");
        let admin_name = NewToken {
            name: "admin".into(),
            scope_map: Some("_repositories_pull".into()),
            ..NewToken::default()
        };
        assert!(matches!(
            f.tokens.create_token(&f.admin, &admin_name, None).await,
            Err(ManageError::Conflict(_))
        ));
        // Token names compare without case: `Admin` would be the user `admin`.
        let admin_name = NewToken { name: "Admin".into(), ..admin_name };
        assert!(matches!(
            f.tokens.create_token(&f.admin, &admin_name, None).await,
            Err(ManageError::Conflict(_))
        ));

        let request = NewToken {
            name: "MyToken".into(),
            repositories: Some(vec![rule("samples/hello-world", &["content/write", "content/read"])]),
            ..NewToken::default()
        };
        let created = f.tokens.create_token(&f.admin, &request, None).await.unwrap();
        assert_eq!(created.scope_map, "MyToken-scope-map");
        assert_eq!(created.status, TokenStatus::Enabled);
        assert_eq!(created.credentials.passwords.len(), 2);
        assert!(created
            .credentials
            .passwords
            .iter()
            .all(|p| p.value.as_ref().is_some_and(|v| v.expose().starts_with("pct_"))));
        // Never shown again.
        let shown = serde_json::to_string(&f.tokens.token("mytoken").await.unwrap()).unwrap();
        assert!(!shown.contains("pct_") && !shown.contains("\"value\""), "{shown}");
        assert!(matches!(
            f.tokens.create_token(&f.admin, &request, None).await,
            Err(ManageError::Conflict(_))
        ));
        // Nothing half-written by the refused attempts.
        assert_eq!(f.tokens.count_tokens().await.unwrap(), 1);
        let maps = f.tokens.list_scope_maps().await.unwrap();
        assert_eq!(maps.iter().filter(|m| m.kind == ScopeMapKind::UserDefined).count(), 1);
    }

    #[tokio::test]
    async fn token_pages_walk_the_name_index_with_a_prefix_search() {
        let f = fixture().await;
        for name in ["device-003", "Device-001", "device-002", "other-01", "device-004"] {
            let request = NewToken {
                name: name.into(),
                scope_map: Some("_repositories_pull".into()),
                generate_passwords: Some(false),
                ..NewToken::default()
            };
            f.tokens.create_token(&f.admin, &request, None).await.unwrap();
        }
        let names = |page: &[Token]| page.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        let (first, next) = f.tokens.list_tokens("DEVICE", None, 2, false).await.unwrap();
        assert_eq!(names(&first), ["Device-001", "device-002"]);
        let (second, next) = f.tokens.list_tokens("DEVICE", next.as_deref(), 2, false).await.unwrap();
        assert_eq!(names(&second), ["device-003", "device-004"]);
        assert_eq!(next, None);
        let (first, next) = f.tokens.list_tokens("device", None, 3, true).await.unwrap();
        assert_eq!(names(&first), ["device-004", "device-003", "device-002"]);
        let (second, next) = f.tokens.list_tokens("device", next.as_deref(), 3, true).await.unwrap();
        assert_eq!(names(&second), ["Device-001"]);
        assert_eq!(next, None);
        let (all, _) = f.tokens.list_tokens("", None, 100, false).await.unwrap();
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(|t| t.credentials.passwords.is_empty()));
    }
}
