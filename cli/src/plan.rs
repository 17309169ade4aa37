//! Turns a parsed command into the HTTP request(s) of the management API
//! (docs/API.md) and says how to read and print the answer. Pure: no
//! network, no clock (the caller passes `now`), no standard input (the
//! caller passes what it read), no printing, so every command's method,
//! path and body are tested as values. Bodies are built as the API's wire
//! types (`portcullis_proto`).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use portcullis_proto::{
    Action, AttributesPatch, CredentialExpiryChange, GenerateCredentials, IdentityKind, NewClientSecret,
    NewFederatedCredential, NewGroup, NewGroupMember, NewRoleAssignment, NewScopeMap, NewServicePrincipal,
    NewToken, NewUser, PasswordChange, PasswordSlot, RegistrySettingsChange, RepositoryActions,
    RoleAssignmentChange, RoleAssignmentMode, ScopeMapChange, ServicePrincipalChange, TokenChange,
    TokenStatus, UserChange,
};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::{
    args::{
        AssigneeKind, AssignmentCommand, AttributeChanges, AuditCommand, CheckAccess, ClientCommand,
        CredentialCommand, DefinitionCommand, ExpiryArgs, GlobalArgs, GroupCommand, ImageRef,
        ManifestCommand, MemberCommand, Password, Reference, RegistryCommand, RepositoryCommand, RoleCommand,
        Rules, ScopeMapCommand, SpCommand, SpCredentialCommand, SpFederatedCredentialCommand, TokenCommand,
        UserCommand,
    },
    error::CliError,
};

/// One call of the management API. `path` starts with `/api/v1` and is
/// already percent-encoded, query string included.
#[derive(Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    /// The body holds passwords: `Debug` leaves it out.
    pub secret: bool,
}

impl Request {
    fn new(method: Method, path: String) -> Self {
        Self { method, path, body: None, secret: false }
    }

    fn with_body(method: Method, path: String, body: Value) -> Self {
        Self { method, path, body: Some(body), secret: false }
    }

    /// A request carrying a wire type.
    fn sending(method: Method, path: String, body: &impl Serialize) -> Self {
        Self::with_body(method, path, serde_json::to_value(body).expect("a wire type serialises"))
    }

    /// A `GET` of `path`.
    pub(crate) fn get(path: String) -> Self {
        Self::new(Method::GET, path)
    }

    /// A request carrying a wire type (for commands outside this module).
    pub(crate) fn sending_json(method: Method, path: String, body: &impl Serialize) -> Self {
        Self::sending(method, path, body)
    }

    fn with_secret_body(method: Method, path: String, body: Value) -> Self {
        Self { method, path, body: Some(body), secret: true }
    }

    fn sending_secret(method: Method, path: String, body: &impl Serialize) -> Self {
        Self::with_secret_body(method, path, serde_json::to_value(body).expect("a wire type serialises"))
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Request");
        debug.field("method", &self.method).field("path", &self.path);
        if self.secret {
            debug.field("body", &"<redacted>");
        } else {
            debug.field("body", &self.body);
        }
        debug.finish()
    }
}

/// Everything needed to carry out a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub request: Request,
    pub answer: Answer,
    pub resource: Resource,
    /// When the `warnings` of role assignments in the answer also go to
    /// standard error.
    pub warnings: Warnings,
}

/// Where a role assignment's `warnings` (a prefix without a trailing `/`,
/// an action the condition leaves unrestricted, a condition the mode
/// ignores) are shown besides the answer itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warnings {
    /// Not a role assignment answer.
    None,
    /// On standard error in table and TSV output, which do not show them
    /// whole (listings and `show`).
    UnlessJson,
    /// On standard error whatever the output: the answer to a change, the
    /// moment the administrator must see them.
    Always,
}

/// How the answer becomes the printed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Printed as it came (nothing for an empty 204).
    AsIs,
    /// `[Tag]` reduced to the tag names, as `az acr repository show-tags`.
    TagNames,
    /// `{"items", "next"}` pages, followed to the end (or the limit) and
    /// printed as one array.
    Pages(Paging),
    /// One field of the answer object, e.g. a group's `members`.
    Field(&'static str),
    /// A `ModePreview`: printed, then the command is refused (exit 1)
    /// because nothing changed without `--yes`.
    ModePreview,
    /// The request reads a tag (`GET .../_tags/{tag}`); the call is then
    /// made on the manifest whose digest the tag names, and its answer
    /// printed. The API addresses manifests by digest only.
    ThroughTag(ManifestCall),
}

/// A call on one manifest of a repository, made once its digest is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestCall {
    pub method: Method,
    pub repository: String,
}

impl ManifestCall {
    /// The request on the manifest `digest` (as the tag named it).
    pub fn request(&self, digest: &str) -> Result<Request, CliError> {
        Ok(Request::new(self.method.clone(), manifest_path(&self.repository, digest)?))
    }
}

/// A listing the API answers page by page.
#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    /// `GET /api/v1/tokens?after=`, every page.
    Tokens,
    /// `GET /api/v1/audit?token=&limit=&before=`, the newest `limit` entries.
    Audit { token: Option<String>, limit: usize },
}

/// Which columns `--output table` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    ScopeMap,
    Token,
    /// A token just created: its passwords' values, once.
    NewToken,
    /// A token's passwords just generated, with their values.
    Credentials,
    Audit,
    /// Manifests' metadata (`manifest list-metadata`, `show-metadata`).
    Manifest,
    User,
    Group,
    ServicePrincipal,
    /// A service principal just given a secret: the new secret's value.
    NewClientSecret,
    /// The list of a service principal's secrets (never their values).
    ClientSecrets,
    /// A service principal's federated credentials.
    FederatedCredentials,
    RoleDefinition,
    RoleAssignment,
    AccessCheck,
    ModePreview,
    Generic,
}

/// The largest page the API hands out.
const MAX_PAGE: usize = 1000;

/// Characters left as they are in a path segment or query value: RFC 3986
/// unreserved, plus `:` and `@` (allowed in a segment; digests have `:`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const SEGMENT_KEEP_COLON: &AsciiSet = &SEGMENT.remove(b':').remove(b'@');

/// One path segment from a name: encoded whole (a `/` in it stays part of
/// the name), and never empty or a dot segment, which would address a
/// different resource.
fn segment(what: &str, value: &str) -> Result<String, CliError> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(CliError::Usage(format!("{what} {value:?} is not a valid name")));
    }
    Ok(utf8_percent_encode(value, SEGMENT_KEEP_COLON).to_string())
}

/// A repository name keeps its `/` in the path (docs/API.md
/// "Repositories"); each of its segments is encoded.
fn repository_path(repository: &str) -> Result<String, CliError> {
    let segments: Result<Vec<String>, CliError> = repository
        .split('/')
        .map(|part| segment("repository", part).map_err(|_| invalid_repository(repository)))
        .collect();
    Ok(format!("/api/v1/repositories/{}", segments?.join("/")))
}

fn manifest_path(repository: &str, digest: &str) -> Result<String, CliError> {
    Ok(format!("{}/_manifests/{}", repository_path(repository)?, segment("digest", digest)?))
}

fn tag_path(repository: &str, tag: &str) -> Result<String, CliError> {
    Ok(format!("{}/_tags/{}", repository_path(repository)?, segment("tag", tag)?))
}

/// The plan for `method` on the manifest `image` names: directly by
/// digest, or through its tag ([`Answer::ThroughTag`]).
fn on_manifest(method: Method, image: &ImageRef, resource: Resource) -> Result<Plan, CliError> {
    let (request, answer) = match &image.reference {
        Reference::Digest(digest) => {
            (Request::new(method, manifest_path(&image.repository, digest)?), Answer::AsIs)
        }
        Reference::Tag(tag) => (
            Request::new(Method::GET, tag_path(&image.repository, tag)?),
            Answer::ThroughTag(ManifestCall { method, repository: image.repository.clone() }),
        ),
    };
    Ok(Plan { request, answer, resource, warnings: Warnings::None })
}

fn invalid_repository(repository: &str) -> CliError {
    CliError::Usage(format!("repository {repository:?} is not a valid repository name"))
}

fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query: Vec<String> =
        pairs.iter().map(|(key, value)| format!("{key}={}", query_value(value))).collect();
    format!("{path}?{}", query.join("&"))
}

/// The rules of `--repository REPO ACTION...` groups.
fn rules<F>(flag: &str, groups: &Rules<F>) -> Result<Vec<RepositoryActions>, CliError> {
    let mut rules = Vec::with_capacity(groups.groups.len());
    for group in &groups.groups {
        match group.split_first() {
            Some((pattern, actions)) if !pattern.is_empty() && !actions.is_empty() => {
                let actions = actions
                    .iter()
                    .map(|action| action.parse::<Action>())
                    .collect::<Result<_, _>>()
                    .map_err(|error| CliError::Usage(format!("{flag}: {error}")))?;
                rules.push(RepositoryActions { repository: pattern.clone(), actions });
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "{flag} takes a repository pattern followed by one or more actions, got {group:?}"
                )))
            }
        }
    }
    Ok(rules)
}

/// The expiry from `--expiration-in-days` (counted from `now`) or
/// `--expiration`, in whole seconds.
fn expiry(args: &ExpiryArgs, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let time = match (args.expiration_in_days, args.expiration) {
        (Some(days), _) => now + Duration::days(i64::from(days)),
        (None, Some(time)) => time,
        (None, None) => return None,
    };
    Some(time.trunc_subsecs(0))
}

fn attributes(changes: &AttributeChanges) -> AttributesPatch {
    AttributesPatch {
        delete_enabled: changes.delete_enabled,
        write_enabled: changes.write_enabled,
        read_enabled: changes.read_enabled,
        list_enabled: changes.list_enabled,
    }
}

fn status(status: crate::args::TokenStatus) -> TokenStatus {
    match status {
        crate::args::TokenStatus::Enabled => TokenStatus::Enabled,
        crate::args::TokenStatus::Disabled => TokenStatus::Disabled,
    }
}

fn confirmed(yes: bool, what: &str) -> Result<(), CliError> {
    if yes {
        Ok(())
    } else {
        Err(CliError::Usage(format!("deleting {what} cannot be undone; pass --yes to confirm")))
    }
}

fn plain(request: Request, resource: Resource) -> Plan {
    Plan { request, answer: Answer::AsIs, resource, warnings: Warnings::None }
}

/// The plan for `command`, or a usage error found without asking the
/// server. `now` anchors `--expiration-in-days`; `stdin` is the secret read
/// from standard input for the commands that take one
/// ([`ClientCommand::reads_stdin`]).
pub fn plan(command: &ClientCommand, now: DateTime<Utc>, stdin: Option<&Password>) -> Result<Plan, CliError> {
    match command {
        ClientCommand::ScopeMap(args) => scope_map(&args.command),
        ClientCommand::Token(args) => token(&args.command, now),
        ClientCommand::Repository(args) => repository(&args.command),
        ClientCommand::Manifest(args) => manifest(&args.command),
        ClientCommand::User(args) => user(&args.command, &args.global, stdin),
        ClientCommand::Group(args) => group(&args.command),
        ClientCommand::Sp(args) => service_principal(&args.command),
        ClientCommand::Role(args) => role(&args.command),
        ClientCommand::Registry(args) => registry(&args.command),
        ClientCommand::CheckAccess(args) => check_access(args),
        ClientCommand::Plan(_) | ClientCommand::Apply(_) | ClientCommand::Export(_) => Err(CliError::Usage(
            "plan, apply and export are run by the access module, not as one request".to_owned(),
        )),
        ClientCommand::Audit(args) => match &args.command {
            AuditCommand::List(list) => {
                let paging = Paging::Audit { token: list.token.clone(), limit: list.limit as usize };
                Ok(Plan {
                    request: page_request(&paging, None, 0),
                    answer: Answer::Pages(paging),
                    resource: Resource::Audit,
                    warnings: Warnings::None,
                })
            }
        },
        // `login` sends no request: it starts a container client
        // (`crate::login::plan`).
        ClientCommand::Login(_) => {
            Err(CliError::Usage("`login` calls no API; it is planned by login::plan".to_owned()))
        }
    }
}

fn scope_map(command: &ScopeMapCommand) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/scope-maps";
    let one = |name: &str| Ok::<_, CliError>(format!("{BASE}/{}", segment("scope map", name)?));
    let request = match command {
        ScopeMapCommand::Create(create) => {
            segment("scope map", &create.name)?;
            let body = NewScopeMap {
                name: create.name.clone(),
                description: create.description.clone(),
                repositories: rules("--repository", &create.repositories)?,
            };
            Request::sending(Method::POST, BASE.to_owned(), &body)
        }
        ScopeMapCommand::Update(update) => {
            let body = ScopeMapChange {
                description: update.description.clone(),
                add_repositories: rules("--add-repository", &update.add_repository)?,
                remove_repositories: rules("--remove-repository", &update.remove_repository)?,
            };
            if body.is_empty() {
                return Err(CliError::Usage(
                    "nothing to update: pass --add-repository, --remove-repository or --description"
                        .to_owned(),
                ));
            }
            Request::sending(Method::PATCH, one(&update.name)?, &body)
        }
        ScopeMapCommand::List => Request::new(Method::GET, BASE.to_owned()),
        ScopeMapCommand::Show(show) => Request::new(Method::GET, one(&show.name)?),
        ScopeMapCommand::Delete(delete) => {
            let path = one(&delete.name)?;
            confirmed(delete.yes, &format!("scope map {}", delete.name))?;
            Request::new(Method::DELETE, path)
        }
    };
    Ok(plain(request, Resource::ScopeMap))
}

fn token(command: &TokenCommand, now: DateTime<Utc>) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/tokens";
    let one = |name: &str| Ok::<_, CliError>(format!("{BASE}/{}", segment("token", name)?));
    let request = match command {
        TokenCommand::Create(create) => {
            segment("token", &create.name)?;
            let mut body = NewToken { name: create.name.clone(), ..NewToken::default() };
            match (&create.scope_map, create.repositories.is_empty()) {
                (Some(scope_map), true) => body.scope_map = Some(scope_map.clone()),
                (None, false) => body.repositories = Some(rules("--repository", &create.repositories)?),
                _ => {
                    return Err(CliError::Usage(
                        "pass either --scope-map or --repository REPO ACTION..., not both".to_owned(),
                    ))
                }
            }
            body.status = create.status.map(status);
            body.expiry = expiry(&create.expiry, now);
            body.generate_passwords = create.no_passwords.then_some(false);
            return Ok(plain(Request::sending(Method::POST, BASE.to_owned(), &body), Resource::NewToken));
        }
        TokenCommand::Update(update) => {
            let body = TokenChange { status: update.status.map(status), scope_map: update.scope_map.clone() };
            if body == TokenChange::default() {
                return Err(CliError::Usage("nothing to update: pass --status or --scope-map".to_owned()));
            }
            Request::sending(Method::PATCH, one(&update.name)?, &body)
        }
        TokenCommand::List => {
            return Ok(Plan {
                request: page_request(&Paging::Tokens, None, 0),
                answer: Answer::Pages(Paging::Tokens),
                resource: Resource::Token,
                warnings: Warnings::None,
            })
        }
        TokenCommand::Show(show) => Request::new(Method::GET, one(&show.name)?),
        TokenCommand::Delete(delete) => {
            let path = one(&delete.name)?;
            confirmed(delete.yes, &format!("token {}", delete.name))?;
            Request::new(Method::DELETE, path)
        }
        TokenCommand::Credential(credential) => match &credential.command {
            CredentialCommand::Generate(generate) => {
                // Neither flag: the server generates both.
                let body = GenerateCredentials {
                    password1: generate.password1,
                    password2: generate.password2,
                    expiry: expiry(&generate.expiry, now),
                };
                let path = format!("{}/credentials", one(&generate.name)?);
                return Ok(plain(Request::sending(Method::POST, path, &body), Resource::Credentials));
            }
            CredentialCommand::Delete(delete) => {
                let slot = match (delete.password1, delete.password2) {
                    (true, false) => PasswordSlot::Password1,
                    (false, true) => PasswordSlot::Password2,
                    _ => {
                        return Err(CliError::Usage(
                            "pass exactly one of --password1 and --password2".to_owned(),
                        ))
                    }
                };
                Request::new(Method::DELETE, format!("{}/credentials/{slot}", one(&delete.name)?))
            }
            CredentialCommand::Update(update) => {
                let slot = if update.password1 { PasswordSlot::Password1 } else { PasswordSlot::Password2 };
                let body = CredentialExpiryChange { expiry: expiry(&update.expiry, now) };
                Request::sending(Method::PATCH, format!("{}/credentials/{slot}", one(&update.name)?), &body)
            }
        },
    };
    Ok(plain(request, Resource::Token))
}

fn repository(command: &RepositoryCommand) -> Result<Plan, CliError> {
    let generic = |request| Ok(plain(request, Resource::Generic));
    match command {
        RepositoryCommand::List => generic(Request::new(Method::GET, "/api/v1/repositories".to_owned())),
        RepositoryCommand::Show(show) => {
            generic(Request::new(Method::GET, repository_path(&show.repository)?))
        }
        RepositoryCommand::ShowTags(tags) => Ok(Plan {
            request: Request::new(Method::GET, format!("{}/_tags", repository_path(&tags.repository)?)),
            answer: if tags.detail { Answer::AsIs } else { Answer::TagNames },
            resource: Resource::Generic,
            warnings: Warnings::None,
        }),
        RepositoryCommand::ShowManifests(show) => Ok(plain(
            Request::new(Method::GET, format!("{}/_manifests", repository_path(&show.repository)?)),
            Resource::Manifest,
        )),
        RepositoryCommand::Delete(delete) => match (&delete.repository, &delete.image) {
            (Some(repository), None) => {
                let path = repository_path(repository)?;
                confirmed(delete.yes, &format!("repository {repository} with all its tags and manifests"))?;
                generic(Request::new(Method::DELETE, path))
            }
            (None, Some(image)) => {
                let plan = on_manifest(Method::DELETE, image, Resource::Generic)?;
                let what = match &image.reference {
                    Reference::Tag(tag) => format!(
                        "the manifest {}:{tag} points to, with every tag pointing to it,",
                        image.repository
                    ),
                    Reference::Digest(digest) => {
                        format!("manifest {}@{digest} with every tag pointing to it", image.repository)
                    }
                };
                confirmed(delete.yes, &what)?;
                Ok(plan)
            }
            _ => Err(CliError::Usage("pass either --repository or --image".to_owned())),
        },
        RepositoryCommand::Untag(untag) => {
            let Reference::Tag(tag) = &untag.image.reference else {
                return Err(CliError::Usage(
                    "untag takes REPOSITORY:TAG; to delete a manifest by digest use `repository delete`"
                        .to_owned(),
                ));
            };
            generic(Request::new(Method::DELETE, tag_path(&untag.image.repository, tag)?))
        }
        RepositoryCommand::Update(update) => {
            let body = attributes(&update.attributes);
            let path = match (&update.repository, &update.image) {
                (Some(repository), Some(image)) if *repository != image.repository => {
                    return Err(CliError::Usage(format!(
                        "--repository {repository} and --image {} name different repositories",
                        image.repository
                    )))
                }
                (_, Some(image)) => match &image.reference {
                    Reference::Tag(tag) => tag_path(&image.repository, tag)?,
                    Reference::Digest(digest) => manifest_path(&image.repository, digest)?,
                },
                (Some(repository), None) => repository_path(repository)?,
                (None, None) => return Err(CliError::Usage("pass --repository or --image".to_owned())),
            };
            generic(Request::sending(Method::PATCH, path, &body))
        }
    }
}

/// `manifest list-metadata|show-metadata`, as `az acr manifest` spells them.
fn manifest(command: &ManifestCommand) -> Result<Plan, CliError> {
    match command {
        ManifestCommand::ListMetadata(list) => Ok(plain(
            Request::new(Method::GET, format!("{}/_manifests", repository_path(&list.name)?)),
            Resource::Manifest,
        )),
        ManifestCommand::ShowMetadata(show) => on_manifest(Method::GET, &show.name, Resource::Manifest),
    }
}

/// `user ...`. `stdin` is the password read from standard input: the new
/// one for `change-password`, the initial one for `create`, an
/// administrator's reset for `update --password-stdin`.
fn user(command: &UserCommand, global: &GlobalArgs, stdin: Option<&Password>) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/users";
    let one = |name: &str| Ok::<_, CliError>(format!("{BASE}/{}", segment("user", name)?));
    let from_stdin = || {
        stdin.cloned().ok_or_else(|| CliError::Usage("no password: pipe it into standard input".to_owned()))
    };
    let request = match command {
        UserCommand::ChangePassword(change) => {
            let path = format!("{}/password", one(&change.name)?);
            let current = global.password.as_ref().ok_or_else(|| {
                CliError::Usage(
                    "pass your current password with --password (or PORTCULLIS_PASSWORD); \
                     the new one goes to standard input"
                        .to_owned(),
                )
            })?;
            let new = stdin
                .ok_or_else(|| CliError::Usage("no new password: pipe it into standard input".to_owned()))?;
            let body = PasswordChange { current_password: current.clone(), new_password: new.clone() };
            return Ok(plain(Request::sending_secret(Method::PUT, path, &body), Resource::Generic));
        }
        UserCommand::Create(create) => {
            segment("user", &create.name)?;
            let body = NewUser {
                name: create.name.clone(),
                display_name: create.display_name.clone().unwrap_or_default(),
                password: from_stdin()?,
            };
            Request::sending_secret(Method::POST, BASE.to_owned(), &body)
        }
        UserCommand::List => Request::new(Method::GET, BASE.to_owned()),
        UserCommand::Show(show) => Request::new(Method::GET, one(&show.name)?),
        UserCommand::Update(update) => {
            let path = one(&update.name)?;
            let body = UserChange {
                display_name: update.display_name.clone(),
                enabled: update.enabled,
                password: if update.password_stdin { Some(from_stdin()?) } else { None },
            };
            if body == UserChange::default() {
                return Err(CliError::Usage(
                    "nothing to update: pass --display-name, --enabled or --password-stdin".to_owned(),
                ));
            }
            if body.password.is_some() {
                Request::sending_secret(Method::PATCH, path, &body)
            } else {
                Request::sending(Method::PATCH, path, &body)
            }
        }
        UserCommand::Delete(delete) => {
            let path = one(&delete.name)?;
            confirmed(
                delete.yes,
                &format!("user {} with its memberships and role assignments", delete.name),
            )?;
            Request::new(Method::DELETE, path)
        }
    };
    Ok(plain(request, Resource::User))
}

fn group(command: &GroupCommand) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/groups";
    let one = |name: &str| Ok::<_, CliError>(format!("{BASE}/{}", segment("group", name)?));
    let request = match command {
        GroupCommand::Create(create) => {
            segment("group", &create.name)?;
            let body = NewGroup {
                name: create.name.clone(),
                description: create.description.clone().unwrap_or_default(),
            };
            Request::sending(Method::POST, BASE.to_owned(), &body)
        }
        GroupCommand::List => Request::new(Method::GET, BASE.to_owned()),
        GroupCommand::Show(show) => Request::new(Method::GET, one(&show.name)?),
        GroupCommand::Delete(delete) => {
            let path = one(&delete.name)?;
            confirmed(delete.yes, &format!("group {} with its role assignments", delete.name))?;
            Request::new(Method::DELETE, path)
        }
        GroupCommand::Member(member) => match &member.command {
            MemberCommand::Add(add) => {
                segment("member", &add.member)?;
                let body = NewGroupMember { member: add.member.clone() };
                Request::sending(Method::POST, format!("{}/members", one(&add.group)?), &body)
            }
            MemberCommand::Remove(remove) => Request::new(
                Method::DELETE,
                format!("{}/members/{}", one(&remove.group)?, segment("member", &remove.member)?),
            ),
            MemberCommand::List(list) => {
                return Ok(Plan {
                    request: Request::new(Method::GET, one(&list.group)?),
                    answer: Answer::Field("members"),
                    resource: Resource::Generic,
                    warnings: Warnings::None,
                })
            }
        },
    };
    Ok(plain(request, Resource::Group))
}

fn service_principal(command: &SpCommand) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/service-principals";
    let one = |name: &str| Ok::<_, CliError>(format!("{BASE}/{}", segment("service principal", name)?));
    let request = match command {
        SpCommand::Create(create) => {
            segment("service principal", &create.name)?;
            let body = NewServicePrincipal {
                name: create.name.clone(),
                description: create.description.clone().unwrap_or_default(),
                create_secret: true,
                secret_expires_at: create.secret_expiry,
            };
            let request = Request::sending(Method::POST, BASE.to_owned(), &body);
            return Ok(plain(request, Resource::NewClientSecret));
        }
        SpCommand::List => Request::new(Method::GET, BASE.to_owned()),
        SpCommand::Show(show) => Request::new(Method::GET, one(&show.name)?),
        SpCommand::Update(update) => {
            let body =
                ServicePrincipalChange { description: update.description.clone(), enabled: update.enabled };
            if body == ServicePrincipalChange::default() {
                return Err(CliError::Usage("nothing to update: pass --enabled or --description".to_owned()));
            }
            Request::sending(Method::PATCH, one(&update.name)?, &body)
        }
        SpCommand::Delete(delete) => {
            let path = one(&delete.name)?;
            confirmed(
                delete.yes,
                &format!("service principal {} with its secrets and role assignments", delete.name),
            )?;
            Request::new(Method::DELETE, path)
        }
        SpCommand::Credential(credential) => match &credential.command {
            SpCredentialCommand::Reset(reset) => {
                let body = NewClientSecret {
                    description: reset.description.clone().unwrap_or_default(),
                    expires_at: reset.expiry,
                    append: reset.append,
                };
                let request = Request::sending(Method::POST, format!("{}/secrets", one(&reset.name)?), &body);
                return Ok(plain(request, Resource::NewClientSecret));
            }
            SpCredentialCommand::List(list) => {
                return Ok(Plan {
                    request: Request::new(Method::GET, one(&list.name)?),
                    answer: Answer::Field("secrets"),
                    resource: Resource::ClientSecrets,
                    warnings: Warnings::None,
                })
            }
            SpCredentialCommand::Delete(delete) => Request::new(
                Method::DELETE,
                format!("{}/secrets/{}", one(&delete.name)?, segment("key id", &delete.key_id)?),
            ),
        },
        SpCommand::FederatedCredential(federated) => {
            let federated_path =
                |name: &str| Ok::<_, CliError>(format!("{}/federated-credentials", one(name)?));
            let request = match &federated.command {
                SpFederatedCredentialCommand::Create(create) => {
                    segment("federated credential", &create.credential_name)?;
                    let body = NewFederatedCredential {
                        name: create.credential_name.clone(),
                        issuer: create.issuer.clone(),
                        audience: create.audience.clone(),
                        subject: create.subject.clone(),
                        description: create.description.clone().unwrap_or_default(),
                        jwks: create.jwks_file.clone(),
                    };
                    Request::sending(Method::POST, federated_path(&create.name)?, &body)
                }
                SpFederatedCredentialCommand::List(list) => {
                    Request::new(Method::GET, federated_path(&list.name)?)
                }
                SpFederatedCredentialCommand::Delete(delete) => Request::new(
                    Method::DELETE,
                    format!(
                        "{}/{}",
                        federated_path(&delete.name)?,
                        segment("federated credential", &delete.credential_name)?
                    ),
                ),
            };
            return Ok(plain(request, Resource::FederatedCredentials));
        }
    };
    Ok(plain(request, Resource::ServicePrincipal))
}

fn identity_kind(kind: AssigneeKind) -> IdentityKind {
    match kind {
        AssigneeKind::User => IdentityKind::User,
        AssigneeKind::Group => IdentityKind::Group,
        AssigneeKind::ServicePrincipal => IdentityKind::ServicePrincipal,
        AssigneeKind::Anonymous => IdentityKind::Anonymous,
    }
}

fn role(command: &RoleCommand) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/role-assignments";
    let one = |id: &str| Ok::<_, CliError>(format!("{BASE}/{}", segment("role assignment", id)?));
    let assignments = |request, warnings| Plan {
        request,
        answer: Answer::AsIs,
        resource: Resource::RoleAssignment,
        warnings,
    };
    let assignment = match command {
        RoleCommand::Definition(definition) => match definition.command {
            DefinitionCommand::List => {
                let request = Request::new(Method::GET, "/api/v1/role-definitions".to_owned());
                return Ok(plain(request, Resource::RoleDefinition));
            }
        },
        RoleCommand::Assignment(assignment) => &assignment.command,
    };
    Ok(match assignment {
        AssignmentCommand::Create(create) => {
            let body = NewRoleAssignment {
                role: create.role.clone(),
                assignee: create.assignee.clone(),
                assignee_kind: create.assignee_kind.map(identity_kind),
                condition: create.condition.clone(),
                condition_version: create.condition_version.clone(),
                description: create.description.clone().unwrap_or_default(),
            };
            assignments(Request::sending(Method::POST, BASE.to_owned(), &body), Warnings::Always)
        }
        AssignmentCommand::List(list) => {
            let pairs: Vec<(&str, String)> =
                [("assignee", &list.assignee), ("role", &list.role), ("repository", &list.repository)]
                    .into_iter()
                    .filter_map(|(key, value)| value.clone().map(|value| (key, value)))
                    .collect();
            assignments(Request::new(Method::GET, with_query(BASE, &pairs)), Warnings::UnlessJson)
        }
        AssignmentCommand::Show(show) => {
            assignments(Request::new(Method::GET, one(&show.ids)?), Warnings::UnlessJson)
        }
        AssignmentCommand::Update(update) => {
            // The API's PATCH always sets the condition (null: none), so
            // one of --condition and --remove-condition is required.
            let condition = match (&update.condition, update.remove_condition) {
                (Some(condition), false) => Some(Some(condition.clone())),
                (None, true) => Some(None),
                _ => {
                    return Err(CliError::Usage(
                        "pass exactly one of --condition and --remove-condition".to_owned(),
                    ))
                }
            };
            let body = RoleAssignmentChange {
                condition,
                condition_version: update.condition_version.clone(),
                description: update.description.clone(),
            };
            assignments(Request::sending(Method::PATCH, one(&update.ids)?, &body), Warnings::Always)
        }
        AssignmentCommand::Delete(delete) => {
            let path = one(&delete.ids)?;
            confirmed(delete.yes, &format!("role assignment {}", delete.ids))?;
            assignments(Request::new(Method::DELETE, path), Warnings::None)
        }
    })
}

/// `registry update` without `--yes` only asks for the preview (see
/// [`Answer::ModePreview`]); nothing is asked interactively.
fn registry(command: &RegistryCommand) -> Result<Plan, CliError> {
    const BASE: &str = "/api/v1/registry";
    Ok(match command {
        RegistryCommand::Show => plain(Request::new(Method::GET, BASE.to_owned()), Resource::Generic),
        RegistryCommand::Update(update) => {
            let body = RegistrySettingsChange {
                role_assignment_mode: match update.role_assignment_mode {
                    crate::args::RoleAssignmentMode::Rbac => RoleAssignmentMode::Rbac,
                    crate::args::RoleAssignmentMode::RbacAbac => RoleAssignmentMode::RbacAbac,
                },
            };
            if update.yes {
                plain(Request::sending(Method::PATCH, BASE.to_owned(), &body), Resource::Generic)
            } else {
                Plan {
                    request: Request::sending(Method::POST, format!("{BASE}/preview"), &body),
                    answer: Answer::ModePreview,
                    resource: Resource::ModePreview,
                    warnings: Warnings::None,
                }
            }
        }
    })
}

fn check_access(args: &CheckAccess) -> Result<Plan, CliError> {
    if args.assignee.is_empty() || args.repository.is_empty() {
        return Err(CliError::Usage("--assignee and --repository must not be empty".to_owned()));
    }
    let path = with_query(
        "/api/v1/check-access",
        &[("assignee", args.assignee.clone()), ("repository", args.repository.clone())],
    );
    Ok(plain(Request::new(Method::GET, path), Resource::AccessCheck))
}

/// The request for the page after `cursor` (the previous page's `next`;
/// `None` for the first page), having `collected` items so far.
pub fn page_request(paging: &Paging, cursor: Option<&Value>, collected: usize) -> Request {
    let cursor = cursor.map(|value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    });
    let path = match paging {
        Paging::Tokens => {
            let pairs: Vec<(&str, String)> = cursor.into_iter().map(|after| ("after", after)).collect();
            with_query("/api/v1/tokens", &pairs)
        }
        Paging::Audit { token, limit } => {
            let mut pairs = Vec::new();
            if let Some(token) = token {
                pairs.push(("token", token.clone()));
            }
            pairs.push(("limit", limit.saturating_sub(collected).clamp(1, MAX_PAGE).to_string()));
            if let Some(before) = cursor {
                pairs.push(("before", before));
            }
            with_query("/api/v1/audit", &pairs)
        }
    };
    Request::new(Method::GET, path)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Parser)]
    #[command(name = "portcullis")]
    struct Cli {
        #[command(subcommand)]
        command: ClientCommand,
    }

    fn now() -> DateTime<Utc> {
        "2026-11-23T16:30:00.5Z".parse().unwrap()
    }

    fn plan_of(args: &[&str]) -> Result<Plan, CliError> {
        let cli = Cli::try_parse_from(std::iter::once("portcullis").chain(args.iter().copied()))
            .unwrap_or_else(|error| panic!("{args:?} parses: {error}"));
        let stdin = cli.command.reads_stdin().then(|| Password::new("new-password-from-stdin"));
        plan(&cli.command, now(), stdin.as_ref())
    }

    fn request(args: &[&str]) -> Request {
        plan_of(args).unwrap_or_else(|error| panic!("{args:?}: {error}")).request
    }

    fn usage_error(args: &[&str]) -> String {
        match plan_of(args) {
            Err(CliError::Usage(message)) => message,
            other => panic!("{args:?}: usage error expected, got {other:?}"),
        }
    }

    fn get(path: &str) -> Request {
        Request::new(Method::GET, path.to_owned())
    }

    #[test]
    fn scope_map_requests() {
        assert_eq!(
            request(&[
                "scope-map",
                "create",
                "--name",
                "MyScopeMap",
                "--repository",
                "samples/hello-world",
                "content/write",
                "content/read",
                "--repository",
                "samples/*",
                "metadata/read",
                "--description",
                "Sample scope map",
            ]),
            Request::with_body(
                Method::POST,
                "/api/v1/scope-maps".into(),
                json!({
                    "name": "MyScopeMap",
                    "description": "Sample scope map",
                    "repositories": [
                        {"repository": "samples/hello-world", "actions": ["content/write", "content/read"]},
                        {"repository": "samples/*", "actions": ["metadata/read"]}
                    ]
                })
            )
        );
        assert_eq!(
            request(&["scope-map", "create", "-n", "m", "--repository", "*", "content/read"]).body,
            Some(json!({"name": "m", "repositories": [{"repository": "*", "actions": ["content/read"]}]}))
        );
        assert_eq!(
            request(&[
                "scope-map",
                "update",
                "--name",
                "MyToken-scope-map",
                "--add-repository",
                "samples/nginx",
                "content/write",
                "content/read",
                "--remove-repository",
                "samples/hello-world",
                "content/write",
            ]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/scope-maps/MyToken-scope-map".into(),
                json!({
                    "addRepositories": [{"repository": "samples/nginx", "actions": ["content/write", "content/read"]}],
                    "removeRepositories": [{"repository": "samples/hello-world", "actions": ["content/write"]}]
                })
            )
        );
        assert_eq!(
            request(&["scope-map", "update", "--name", "m", "--description", ""]).body,
            Some(json!({"description": ""}))
        );
        assert_eq!(request(&["scope-map", "list"]), get("/api/v1/scope-maps"));
        assert_eq!(
            request(&["scope-map", "show", "--name", "MyScopeMap"]),
            get("/api/v1/scope-maps/MyScopeMap")
        );
        assert_eq!(
            request(&["scope-map", "delete", "--name", "MyScopeMap", "--yes"]),
            Request::new(Method::DELETE, "/api/v1/scope-maps/MyScopeMap".into())
        );
        assert_eq!(plan_of(&["scope-map", "list"]).unwrap().resource, Resource::ScopeMap);
    }

    #[test]
    fn deleting_needs_yes() {
        for args in [
            &["scope-map", "delete", "--name", "m"][..],
            &["token", "delete", "--name", "t"],
            &["repository", "delete", "--repository", "samples/nginx"],
        ] {
            let message = usage_error(args);
            assert!(message.contains("--yes"), "{message}");
        }
    }

    #[test]
    fn names_are_one_encoded_segment() {
        assert_eq!(
            request(&["scope-map", "show", "--name", "a/b c?d#e%"]).path,
            "/api/v1/scope-maps/a%2Fb%20c%3Fd%23e%25"
        );
        assert_eq!(request(&["token", "show", "--name", "ci-bot_1.x"]).path, "/api/v1/tokens/ci-bot_1.x");
        for args in [
            &["token", "show", "--name", ""][..],
            &["token", "delete", "--name", "..", "--yes"],
            &["scope-map", "show", "--name", "."],
            &["repository", "show", "--repository", "samples//x"],
            &["repository", "show", "--repository", "samples/../admin"],
            &["repository", "show", "--repository", ""],
        ] {
            usage_error(args);
        }
    }

    #[test]
    fn token_requests() {
        assert_eq!(
            request(&[
                "token",
                "create",
                "--name",
                "MyToken",
                "--repository",
                "samples/hello-world",
                "content/write",
                "content/read",
            ]),
            Request::with_body(
                Method::POST,
                "/api/v1/tokens".into(),
                json!({
                    "name": "MyToken",
                    "repositories": [{"repository": "samples/hello-world", "actions": ["content/write", "content/read"]}]
                })
            )
        );
        assert_eq!(
            request(&[
                "token",
                "create",
                "--name",
                "MyToken",
                "--scope-map",
                "MyScopeMap",
                "--status",
                "disabled",
                "--expiration-in-days",
                "30",
            ])
            .body,
            Some(
                json!({"name": "MyToken", "scopeMap": "MyScopeMap", "status": "disabled", "expiry": "2026-12-23T16:30:00Z"})
            )
        );
        assert_eq!(
            request(&["token", "create", "--name", "t", "--scope-map", "m", "--expiration", "2027-01-31"])
                .body,
            Some(json!({"name": "t", "scopeMap": "m", "expiry": "2027-01-31T00:00:00Z"}))
        );
        let create = plan_of(&["token", "create", "--name", "t", "--scope-map", "m"]).unwrap();
        assert_eq!((create.answer, create.resource), (Answer::AsIs, Resource::NewToken));
        assert_eq!(
            request(&["token", "create", "--name", "t", "--scope-map", "m", "--no-passwords"]).body,
            Some(json!({"name": "t", "scopeMap": "m", "generatePasswords": false}))
        );
        assert_eq!(
            request(&["token", "update", "--name", "MyToken", "--status", "disabled"]),
            Request::with_body(Method::PATCH, "/api/v1/tokens/MyToken".into(), json!({"status": "disabled"}))
        );
        assert_eq!(
            request(&["token", "update", "--name", "MyToken", "--scope-map", "New", "--status", "enabled"])
                .body,
            Some(json!({"status": "enabled", "scopeMap": "New"}))
        );
        assert_eq!(request(&["token", "show", "--name", "MyToken"]), get("/api/v1/tokens/MyToken"));
        assert_eq!(
            request(&["token", "delete", "--name", "MyToken", "--yes"]),
            Request::new(Method::DELETE, "/api/v1/tokens/MyToken".into())
        );
        let list = plan_of(&["token", "list"]).unwrap();
        assert_eq!(list.request, get("/api/v1/tokens"));
        assert_eq!(list.answer, Answer::Pages(Paging::Tokens));
        assert_eq!(list.resource, Resource::Token);
    }

    #[test]
    fn credential_requests() {
        let generate = plan_of(&[
            "token",
            "credential",
            "generate",
            "--name",
            "MyToken",
            "--expiration-in-days",
            "30",
            "--password1",
        ])
        .unwrap();
        assert_eq!(
            generate.request,
            Request::with_body(
                Method::POST,
                "/api/v1/tokens/MyToken/credentials".into(),
                json!({"password1": true, "expiry": "2026-12-23T16:30:00Z"})
            )
        );
        assert_eq!(generate.resource, Resource::Credentials);
        assert_eq!(
            request(&["token", "credential", "generate", "--name", "t"]).body,
            Some(json!({})),
            "neither flag: the server generates both"
        );
        assert_eq!(
            request(&["token", "credential", "generate", "--name", "t", "--password1", "--password2"]).body,
            Some(json!({"password1": true, "password2": true}))
        );
        assert_eq!(
            request(&["token", "credential", "delete", "--name", "MyToken", "--password2"]),
            Request::new(Method::DELETE, "/api/v1/tokens/MyToken/credentials/password2".into())
        );
        assert_eq!(
            request(&["token", "credential", "delete", "--name", "MyToken", "--password1"]).path,
            "/api/v1/tokens/MyToken/credentials/password1"
        );
        assert_eq!(
            request(&[
                "token",
                "credential",
                "update",
                "--name",
                "MyToken",
                "--password2",
                "--expiration",
                "2027-06-30"
            ]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/tokens/MyToken/credentials/password2".into(),
                json!({"expiry": "2027-06-30T00:00:00.000000Z"})
            )
        );
        assert_eq!(
            request(&["token", "credential", "update", "--name", "t", "--password1", "--no-expiration"]).body,
            Some(json!({"expiry": null}))
        );
        for refused in [
            &["token", "credential", "update", "--name", "t", "--password1"][..],
            &["token", "credential", "update", "--name", "t", "--no-expiration"],
            &[
                "token",
                "credential",
                "update",
                "--name",
                "t",
                "--password1",
                "--password2",
                "--no-expiration",
            ],
            &[
                "token",
                "credential",
                "update",
                "--name",
                "t",
                "--password1",
                "--no-expiration",
                "--expiration-in-days",
                "3",
            ],
        ] {
            let parsed = Cli::try_parse_from(std::iter::once("portcullis").chain(refused.iter().copied()));
            assert!(parsed.is_err(), "{refused:?} is refused by the parser");
        }
    }

    #[test]
    fn repository_requests() {
        assert_eq!(request(&["repository", "list"]), get("/api/v1/repositories"));
        assert_eq!(
            request(&["repository", "show", "--repository", "samples/hello-world"]),
            get("/api/v1/repositories/samples/hello-world")
        );
        let tags = plan_of(&["repository", "show-tags", "--repository", "samples/hello-world"]).unwrap();
        assert_eq!(tags.request, get("/api/v1/repositories/samples/hello-world/_tags"));
        assert_eq!(tags.answer, Answer::TagNames);
        let detail =
            plan_of(&["repository", "show-tags", "--repository", "samples/hello-world", "--detail"]).unwrap();
        assert_eq!(detail.request, tags.request);
        assert_eq!(detail.answer, Answer::AsIs);
        assert_eq!(
            request(&["repository", "show-manifests", "--repository", "a/b/c"]),
            get("/api/v1/repositories/a/b/c/_manifests")
        );
        assert_eq!(
            request(&["repository", "delete", "--repository", "samples/nginx", "--yes"]),
            Request::new(Method::DELETE, "/api/v1/repositories/samples/nginx".into())
        );
        assert_eq!(
            request(&["repository", "untag", "--image", "samples/hello-world:v1"]),
            Request::new(Method::DELETE, "/api/v1/repositories/samples/hello-world/_tags/v1".into())
        );
        let message = usage_error(&["repository", "untag", "--image", "samples/hello-world@sha256:ab"]);
        assert!(message.contains("REPOSITORY:TAG"), "{message}");
    }

    #[test]
    fn deleting_one_image_resolves_a_tag_first() {
        let by_tag =
            plan_of(&["repository", "delete", "--image", "samples/hello-world:v1", "--yes"]).unwrap();
        assert_eq!(by_tag.request, get("/api/v1/repositories/samples/hello-world/_tags/v1"));
        let call = ManifestCall { method: Method::DELETE, repository: "samples/hello-world".into() };
        assert_eq!(by_tag.answer, Answer::ThroughTag(call.clone()));
        assert_eq!(
            call.request("sha256:0123").unwrap(),
            Request::new(
                Method::DELETE,
                "/api/v1/repositories/samples/hello-world/_manifests/sha256:0123".into()
            )
        );
        // Whatever the tag answered stays one path segment.
        assert_eq!(
            call.request("sha256:a/../b").unwrap().path,
            "/api/v1/repositories/samples/hello-world/_manifests/sha256:a%2F..%2Fb"
        );
        assert!(call.request("..").is_err());

        let by_digest =
            plan_of(&["repository", "delete", "--image", "samples/x@sha256:0123", "--yes"]).unwrap();
        assert_eq!(
            (by_digest.request, by_digest.answer),
            (
                Request::new(Method::DELETE, "/api/v1/repositories/samples/x/_manifests/sha256:0123".into()),
                Answer::AsIs
            )
        );
        let message = usage_error(&["repository", "delete", "--image", "samples/x:v1"]);
        assert_eq!(
            message,
            "deleting the manifest samples/x:v1 points to, with every tag pointing to it, cannot be undone; pass --yes to confirm"
        );
        let message = usage_error(&["repository", "delete", "--image", "samples/x@sha256:0123"]);
        assert!(
            message.starts_with("deleting manifest samples/x@sha256:0123 with every tag")
                && message.contains("--yes"),
            "{message}"
        );
        usage_error(&["repository", "delete", "--image", "samples//x:v1", "--yes"]);
    }

    #[test]
    fn manifest_metadata_requests() {
        let list = plan_of(&["manifest", "list-metadata", "--name", "samples/hello-world"]).unwrap();
        assert_eq!(
            list,
            plain(get("/api/v1/repositories/samples/hello-world/_manifests"), Resource::Manifest)
        );
        assert_eq!(
            plan_of(&["repository", "show-manifests", "--repository", "samples/hello-world"]).unwrap(),
            list
        );
        let by_digest = plan_of(&["manifest", "show-metadata", "--name", "samples/x@sha256:0123"]).unwrap();
        assert_eq!(
            by_digest,
            plain(get("/api/v1/repositories/samples/x/_manifests/sha256:0123"), Resource::Manifest)
        );
        let by_tag = plan_of(&["manifest", "show-metadata", "--name", "samples/x:v1.0"]).unwrap();
        assert_eq!(by_tag.request, get("/api/v1/repositories/samples/x/_tags/v1.0"));
        assert_eq!(
            (by_tag.answer, by_tag.resource),
            (
                Answer::ThroughTag(ManifestCall { method: Method::GET, repository: "samples/x".into() }),
                Resource::Manifest
            )
        );
        usage_error(&["manifest", "list-metadata", "--name", "samples/../x"]);
    }

    #[test]
    fn repository_update_patches_the_named_level() {
        assert_eq!(
            request(&["repository", "update", "--repository", "samples/x", "--write-enabled", "false"]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/repositories/samples/x".into(),
                json!({"writeEnabled": false})
            )
        );
        assert_eq!(
            request(&[
                "repository",
                "update",
                "--image",
                "samples/x:v1",
                "--delete-enabled",
                "false",
                "--read-enabled",
                "true",
                "--list-enabled",
                "false",
                "--write-enabled",
                "true",
            ]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/repositories/samples/x/_tags/v1".into(),
                json!({"deleteEnabled": false, "readEnabled": true, "listEnabled": false, "writeEnabled": true})
            )
        );
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            request(&[
                "repository",
                "update",
                "--repository",
                "samples/x",
                "--image",
                &format!("samples/x@{digest}"),
                "--delete-enabled",
                "false",
            ])
            .path,
            format!("/api/v1/repositories/samples/x/_manifests/{digest}")
        );
        let message = usage_error(&[
            "repository",
            "update",
            "--repository",
            "samples/x",
            "--image",
            "samples/y:v1",
            "--read-enabled",
            "true",
        ]);
        assert!(message.contains("different repositories"), "{message}");
    }

    #[test]
    fn audit_pages() {
        let list = plan_of(&["audit", "list", "--token", "My Token", "--limit", "2500"]).unwrap();
        assert_eq!(list.request, get("/api/v1/audit?token=My%20Token&limit=1000"));
        let Answer::Pages(paging) = &list.answer else { panic!("paged") };
        assert_eq!(
            page_request(paging, Some(&json!(4711)), 2000),
            get("/api/v1/audit?token=My%20Token&limit=500&before=4711")
        );
        assert_eq!(plan_of(&["audit", "list"]).unwrap().request, get("/api/v1/audit?limit=100"));
        assert_eq!(list.resource, Resource::Audit);
    }

    #[test]
    fn token_pages_follow_next() {
        assert_eq!(page_request(&Paging::Tokens, None, 0), get("/api/v1/tokens"));
        assert_eq!(
            page_request(&Paging::Tokens, Some(&json!("ci bot&x")), 100),
            get("/api/v1/tokens?after=ci%20bot%26x")
        );
    }

    #[test]
    fn change_password_puts_both_passwords_in_the_body_and_never_in_debug() {
        let change =
            plan_of(&["user", "change-password", "--name", "admin", "-u", "admin", "-p", "current-pw"])
                .unwrap();
        assert_eq!(
            change.request,
            Request::with_secret_body(
                Method::PUT,
                "/api/v1/users/admin/password".into(),
                json!({"currentPassword": "current-pw", "newPassword": "new-password-from-stdin"})
            )
        );
        assert_eq!(change.answer, Answer::AsIs);
        let shown = format!("{change:?}");
        assert!(!shown.contains("current-pw") && !shown.contains("new-password-from-stdin"), "{shown}");
        assert!(format!("{:?}", request(&["token", "show", "--name", "t"])).contains("body: None"));

        assert_eq!(
            request(&["user", "change-password", "--name", "a b/c", "-u", "x", "-p", "y"]).path,
            "/api/v1/users/a%20b%2Fc/password"
        );
        if std::env::var_os("PORTCULLIS_PASSWORD").is_none() {
            let message = usage_error(&["user", "change-password", "--name", "admin"]);
            assert!(message.contains("--password"), "{message}");
        }
        usage_error(&["user", "change-password", "--name", "..", "-u", "admin", "-p", "x"]);

        // Nothing came on standard input.
        let cli = Cli::try_parse_from([
            "portcullis",
            "user",
            "change-password",
            "--name",
            "admin",
            "-u",
            "admin",
            "-p",
            "x",
        ])
        .unwrap();
        let message = match plan(&cli.command, now(), None) {
            Err(CliError::Usage(message)) => message,
            other => panic!("usage error expected, got {other:?}"),
        };
        assert!(message.contains("standard input"), "{message}");
    }

    fn secret_body(method: Method, path: &str, body: Value) -> Request {
        Request::with_secret_body(method, path.to_owned(), body)
    }

    #[test]
    fn user_requests_carry_the_stdin_password_and_hide_it() {
        let create =
            plan_of(&["user", "create", "--name", "alice", "--display-name", "Alice", "--password-stdin"])
                .unwrap();
        assert_eq!(
            create.request,
            secret_body(
                Method::POST,
                "/api/v1/users",
                json!({"name": "alice", "displayName": "Alice", "password": "new-password-from-stdin"})
            )
        );
        assert_eq!(create.resource, Resource::User);
        assert!(!format!("{create:?}").contains("new-password-from-stdin"));
        assert_eq!(
            request(&["user", "update", "--name", "alice", "--password-stdin", "--enabled", "true"]),
            secret_body(
                Method::PATCH,
                "/api/v1/users/alice",
                json!({"enabled": true, "password": "new-password-from-stdin"})
            )
        );
        assert_eq!(
            request(&["user", "update", "--name", "alice", "--display-name", "A. Smith"]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/users/alice".into(),
                json!({"displayName": "A. Smith"})
            )
        );
        assert_eq!(request(&["user", "list"]), get("/api/v1/users"));
        assert_eq!(request(&["user", "show", "--name", "a@b.c"]), get("/api/v1/users/a@b.c"));
        assert_eq!(
            request(&["user", "delete", "--name", "alice", "--yes"]),
            Request::new(Method::DELETE, "/api/v1/users/alice".into())
        );
        // Nothing came on standard input.
        let cli =
            Cli::try_parse_from(["portcullis", "user", "create", "--name", "alice", "--password-stdin"])
                .unwrap();
        assert!(matches!(plan(&cli.command, now(), None), Err(CliError::Usage(_))));
    }

    #[test]
    fn group_requests() {
        assert_eq!(
            request(&["group", "create", "--name", "devs"]),
            Request::with_body(
                Method::POST,
                "/api/v1/groups".into(),
                json!({"name": "devs", "description": ""})
            )
        );
        assert_eq!(request(&["group", "list"]), get("/api/v1/groups"));
        assert_eq!(request(&["group", "show", "--name", "devs"]), get("/api/v1/groups/devs"));
        assert_eq!(
            request(&["group", "delete", "--name", "devs", "--yes"]),
            Request::new(Method::DELETE, "/api/v1/groups/devs".into())
        );
        assert_eq!(
            request(&["group", "member", "add", "--group", "devs", "--member", "alice"]),
            Request::with_body(
                Method::POST,
                "/api/v1/groups/devs/members".into(),
                json!({"member": "alice"})
            )
        );
        assert_eq!(
            request(&["group", "member", "remove", "--group", "devs", "--member", "a b"]),
            Request::new(Method::DELETE, "/api/v1/groups/devs/members/a%20b".into())
        );
        let list = plan_of(&["group", "member", "list", "--group", "devs"]).unwrap();
        assert_eq!((list.request, list.answer), (get("/api/v1/groups/devs"), Answer::Field("members")));
    }

    #[test]
    fn service_principal_requests() {
        let create = plan_of(&["sp", "create", "--name", "ci", "--secret-expiry", "2027-06-30"]).unwrap();
        assert_eq!(
            create.request,
            Request::with_body(
                Method::POST,
                "/api/v1/service-principals".into(),
                json!({"name": "ci", "description": "", "createSecret": true,
                       "secretExpiresAt": "2027-06-30T00:00:00.000000Z"})
            )
        );
        assert_eq!(create.resource, Resource::NewClientSecret);
        assert_eq!(
            request(&["sp", "update", "--name", "ci", "--enabled", "false"]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/service-principals/ci".into(),
                json!({"enabled": false})
            )
        );
        assert_eq!(request(&["sp", "list"]), get("/api/v1/service-principals"));
        assert_eq!(request(&["sp", "show", "--name", "ci"]), get("/api/v1/service-principals/ci"));
        assert_eq!(
            request(&["sp", "delete", "--name", "ci", "--yes"]),
            Request::new(Method::DELETE, "/api/v1/service-principals/ci".into())
        );
        let reset =
            plan_of(&["sp", "credential", "reset", "--name", "ci", "--append", "--description", "gh"])
                .unwrap();
        assert_eq!(
            reset.request,
            Request::with_body(
                Method::POST,
                "/api/v1/service-principals/ci/secrets".into(),
                json!({"description": "gh", "expiresAt": null, "append": true})
            )
        );
        assert_eq!(reset.resource, Resource::NewClientSecret);
        let list = plan_of(&["sp", "credential", "list", "--name", "ci"]).unwrap();
        assert_eq!(
            (list.request, list.answer, list.resource),
            (get("/api/v1/service-principals/ci"), Answer::Field("secrets"), Resource::ClientSecrets)
        );
        assert_eq!(
            request(&["sp", "credential", "delete", "--name", "ci", "--key-id", "3f2a"]),
            Request::new(Method::DELETE, "/api/v1/service-principals/ci/secrets/3f2a".into())
        );
    }

    #[test]
    fn federated_credential_requests() {
        let create = plan_of(&[
            "sp",
            "federated-credential",
            "create",
            "--name",
            "ci",
            "--credential-name",
            "main",
            "--issuer",
            "https://token.actions.githubusercontent.com",
            "--audience",
            "api://portcullis",
            "--subject",
            "repo:acme/api:ref:refs/heads/*",
        ])
        .unwrap();
        assert_eq!(
            create.request,
            Request::with_body(
                Method::POST,
                "/api/v1/service-principals/ci/federated-credentials".into(),
                json!({"name": "main", "issuer": "https://token.actions.githubusercontent.com",
                       "audience": "api://portcullis", "subject": "repo:acme/api:ref:refs/heads/*",
                       "description": ""})
            )
        );
        assert_eq!(create.resource, Resource::FederatedCredentials);
        assert_eq!(
            request(&["sp", "federated-credential", "list", "--name", "ci"]),
            get("/api/v1/service-principals/ci/federated-credentials")
        );
        assert_eq!(
            request(&["sp", "federated-credential", "delete", "--name", "ci", "--credential-name", "main"]),
            Request::new(Method::DELETE, "/api/v1/service-principals/ci/federated-credentials/main".into())
        );
    }

    #[test]
    fn role_assignment_requests() {
        let condition =
            "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWith 'backend/'";
        let create = plan_of(&[
            "role",
            "assignment",
            "create",
            "--assignee",
            "devs",
            "--role",
            "Container Registry Repository Reader",
            "--condition",
            condition,
        ])
        .unwrap();
        assert_eq!(
            create.request,
            Request::with_body(
                Method::POST,
                "/api/v1/role-assignments".into(),
                json!({"role": "Container Registry Repository Reader", "assignee": "devs",
                       "condition": condition, "description": ""})
            )
        );
        assert_eq!((create.resource, create.warnings), (Resource::RoleAssignment, Warnings::Always));
        assert_eq!(
            request(&[
                "role",
                "assignment",
                "create",
                "--assignee",
                "anonymous",
                "--assignee-kind",
                "anonymous",
                "--role",
                "r",
                "--description",
                "public pulls"
            ])
            .body,
            Some(
                json!({"role": "r", "assignee": "anonymous", "assigneeKind": "anonymous", "description": "public pulls"})
            )
        );
        assert_eq!(
            request(&[
                "role",
                "assignment",
                "create",
                "--assignee",
                "ci",
                "--assignee-kind",
                "service-principal",
                "--role",
                "r",
                "--condition",
                "c",
                "--condition-version",
                "2.0"
            ])
            .body,
            Some(
                json!({"role": "r", "assignee": "ci", "assigneeKind": "service-principal", "condition": "c",
                        "conditionVersion": "2.0", "description": ""})
            )
        );
        let list = plan_of(&[
            "role",
            "assignment",
            "list",
            "--assignee",
            "alice",
            "--role",
            "Repository Reader",
            "--repository",
            "backend/api",
        ])
        .unwrap();
        assert_eq!(
            list.request,
            get("/api/v1/role-assignments?assignee=alice&role=Repository%20Reader&repository=backend%2Fapi")
        );
        assert_eq!(list.warnings, Warnings::UnlessJson);
        assert_eq!(request(&["role", "assignment", "list"]), get("/api/v1/role-assignments"));
        assert_eq!(
            request(&["role", "assignment", "show", "--ids", "5e1d"]),
            get("/api/v1/role-assignments/5e1d")
        );
        assert_eq!(
            request(&["role", "assignment", "update", "--ids", "5e1d", "--condition", "c"]),
            Request::with_body(
                Method::PATCH,
                "/api/v1/role-assignments/5e1d".into(),
                json!({"condition": "c"})
            )
        );
        assert_eq!(
            request(&[
                "role",
                "assignment",
                "update",
                "--ids",
                "5e1d",
                "--remove-condition",
                "--description",
                "d"
            ])
            .body,
            Some(json!({"condition": null, "description": "d"})),
            "null removes the condition"
        );
        let delete = plan_of(&["role", "assignment", "delete", "--ids", "5e1d", "--yes"]).unwrap();
        assert_eq!(delete.request, Request::new(Method::DELETE, "/api/v1/role-assignments/5e1d".into()));
        assert!(usage_error(&["role", "assignment", "delete", "--ids", "5e1d"]).contains("--yes"));
        assert_eq!(
            plan_of(&["role", "definition", "list"]).unwrap(),
            plain(get("/api/v1/role-definitions"), Resource::RoleDefinition)
        );
    }

    #[test]
    fn registry_update_without_yes_only_previews() {
        let preview = plan_of(&["registry", "update", "--role-assignment-mode", "rbac-abac"]).unwrap();
        assert_eq!(
            preview.request,
            Request::with_body(
                Method::POST,
                "/api/v1/registry/preview".into(),
                json!({"roleAssignmentMode": "rbac-abac"})
            )
        );
        assert_eq!((preview.answer, preview.resource), (Answer::ModePreview, Resource::ModePreview));
        let switch = plan_of(&["registry", "update", "--role-assignment-mode", "rbac", "--yes"]).unwrap();
        assert_eq!(
            switch.request,
            Request::with_body(
                Method::PATCH,
                "/api/v1/registry".into(),
                json!({"roleAssignmentMode": "rbac"})
            )
        );
        assert_eq!(switch.answer, Answer::AsIs);
        assert_eq!(request(&["registry", "show"]), get("/api/v1/registry"));
    }

    #[test]
    fn check_access_request() {
        let check =
            plan_of(&["check-access", "--assignee", "ci bot", "--repository", "backend/api"]).unwrap();
        assert_eq!(check.request, get("/api/v1/check-access?assignee=ci%20bot&repository=backend%2Fapi"));
        assert_eq!(check.resource, Resource::AccessCheck);
        usage_error(&["check-access", "--assignee", "", "--repository", "x"]);
    }

    #[test]
    fn identity_deletions_need_yes() {
        for args in [
            &["user", "delete", "--name", "alice"][..],
            &["group", "delete", "--name", "devs"],
            &["sp", "delete", "--name", "ci"],
        ] {
            assert!(usage_error(args).contains("--yes"), "{args:?}");
        }
    }
}
