//! The command line of the client commands: flag names, their environment
//! variables and defaults, and values parsed at the edge (registry URL,
//! image references, expiry times, JMESPath syntax). Must not touch the
//! network or print anything.
//!
//! Spellings mirror `az acr scope-map|token|repository` so that commands
//! users know work unchanged (minus `--registry NAME`, which here is the
//! registry's URL).

use std::{fmt, marker::PhantomData, str::FromStr};

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Args, FromArgMatches, Subcommand, ValueEnum};

use crate::query;

// The client commands, flattened by the `portcullis` binary into its own
// command enum beside `serve` and `gc`. (A plain comment on purpose: clap
// would turn a doc comment into the `about` of the command it is flattened
// into, replacing the binary's own.)
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Manage scope maps: named sets of repository actions a token grants.
    ScopeMap(ScopeMapArgs),
    /// Manage tokens: credentials limited to the actions of one scope map.
    Token(TokenArgs),
    /// Inspect, update and delete repositories, tags and manifests.
    Repository(RepositoryArgs),
    /// List or show manifests with their tags, media type, creation time
    /// and platforms.
    Manifest(ManifestArgs),
    /// Read the audit log of logins, registry actions and management changes.
    Audit(AuditArgs),
    /// Manage people's accounts: create, list, update, delete; change your
    /// own password.
    User(UserArgs),
    /// Manage groups of users and service principals.
    Group(GroupArgs),
    /// Manage service principals (non-human callers) and their client
    /// secrets.
    #[command(name = "sp", visible_alias = "service-principal")]
    Sp(SpArgs),
    /// Manage role assignments and list the role definitions.
    Role(RoleArgs),
    /// Show or change the registry's settings (the role assignment
    /// permissions mode).
    Registry(RegistryArgs),
    /// What an identity may do on a repository, and which role assignments
    /// give or do not give each action.
    CheckAccess(CheckAccess),
    /// Show what `apply` would change to make the registry's access what an
    /// access file declares (exit 0: nothing, 2: changes, 1: refused).
    Plan(PlanArgs),
    /// Make the registry's scope maps, tokens and repository attributes what
    /// an access file declares, in one transaction.
    Apply(ApplyArgs),
    /// Write the registry's scope maps, tokens and repository attributes as
    /// an access file (no passwords).
    Export(ExportArgs),
    /// Log docker, podman, skopeo or oras in to the registry as --username
    /// (a token, user or service principal), the password handed to the
    /// client on standard input, never on a command line; or print that
    /// command (--print).
    Login(LoginArgs),
}

/// The access-as-code commands, which [`crate::access`] runs (several
/// requests, files and secrets) instead of the one-request plan.
#[derive(Debug, Clone, Copy)]
pub enum AccessCommand<'a> {
    Plan(&'a PlanArgs),
    Apply(&'a ApplyArgs),
    Export(&'a ExportArgs),
}

impl ClientCommand {
    /// The options every client command takes.
    pub fn global(&self) -> &GlobalArgs {
        match self {
            Self::ScopeMap(args) => &args.global,
            Self::Token(args) => &args.global,
            Self::Repository(args) => &args.global,
            Self::Manifest(args) => &args.global,
            Self::Audit(args) => &args.global,
            Self::User(args) => &args.global,
            Self::Group(args) => &args.global,
            Self::Sp(args) => &args.global,
            Self::Role(args) => &args.global,
            Self::Registry(args) => &args.global,
            Self::CheckAccess(args) => &args.global,
            Self::Plan(args) => &args.global,
            Self::Apply(args) => &args.global,
            Self::Export(args) => &args.global,
            Self::Login(args) => &args.global,
        }
    }

    /// `plan`, `apply` or `export`.
    pub fn access(&self) -> Option<AccessCommand<'_>> {
        match self {
            Self::Plan(args) => Some(AccessCommand::Plan(args)),
            Self::Apply(args) => Some(AccessCommand::Apply(args)),
            Self::Export(args) => Some(AccessCommand::Export(args)),
            _ => None,
        }
    }

    /// Whether the command reads a secret from standard input. It is read
    /// before planning (see [`crate::plan::plan`]), so planning stays pure.
    pub fn reads_stdin(&self) -> bool {
        match self {
            Self::User(UserArgs { command, .. }) => match command {
                UserCommand::ChangePassword(_) => true,
                UserCommand::Create(create) => create.password_stdin,
                UserCommand::Update(update) => update.password_stdin,
                UserCommand::List | UserCommand::Show(_) | UserCommand::Delete(_) => false,
            },
            Self::Login(login) => login.password_stdin,
            _ => false,
        }
    }
}

/// Where to send the request, as whom, and how to print the answer.
/// `global`: accepted after any subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Base URL of the registry (scheme, host, port).
    #[arg(long, global = true, env = "PORTCULLIS_REGISTRY", default_value = "http://127.0.0.1:5000")]
    pub registry: RegistryUrl,

    /// Administrator or token name for HTTP Basic authentication.
    #[arg(long, short = 'u', global = true, env = "PORTCULLIS_USERNAME")]
    pub username: Option<String>,

    /// Password of --username (an administrator's password or one of the
    /// token's passwords).
    #[arg(long, short = 'p', global = true, env = "PORTCULLIS_PASSWORD", hide_env_values = true)]
    pub password: Option<Password>,

    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,

    /// JMESPath query applied to the answer before printing, e.g.
    /// 'passwords[0].value'.
    #[arg(long, global = true, value_parser = query::check)]
    pub query: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Indented JSON.
    Json,
    /// Aligned columns with a header row.
    Table,
    /// Tab-separated values without headers, for scripts.
    Tsv,
}

/// The registry's base URL: `http` or `https`, no credentials, no query;
/// kept without a trailing slash so API paths append to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl(String);

impl RegistryUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RegistryUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let url = reqwest::Url::parse(raw.trim()).map_err(|error| {
            format!("{raw:?} is not a URL ({error}); expected e.g. http://127.0.0.1:5000")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{raw:?} must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{raw:?} names no host"));
        }
        // Credentials in the URL would end up in error messages.
        if !url.username().is_empty() || url.password().is_some() {
            return Err("put credentials in --username and --password, not in the URL".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{raw:?} must not have a query or fragment"));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }
}

/// A password given on the command line or in the environment (the API's
/// wire type). Never printed: `Debug` is redacted.
pub use portcullis_proto::Password;

/// `--repository REPO ACTION...` (or `--add-repository`,
/// `--remove-repository`), repeatable: each occurrence is one group, the
/// pattern first. Whether the pattern is valid is the server's call; the
/// client checks the shape and that each action is one of the five.
///
/// Written by hand because clap's derive groups values by occurrence
/// (`Vec<Vec<_>>`) only behind its unstable-v5 feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules<F> {
    pub groups: Vec<Vec<String>>,
    flag: PhantomData<F>,
}

/// Which of the repository flags a [`Rules`] is.
pub trait RuleFlag {
    /// The long name, also the argument id.
    const LONG: &'static str;
    const HELP: &'static str;
    const REQUIRED: bool;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFlag;
impl RuleFlag for RepositoryFlag {
    const LONG: &'static str = "repository";
    const HELP: &'static str = "A repository pattern (samples/hello-world, samples/*, *) and the actions \
        granted on it (content/delete, content/read, content/write, metadata/read, metadata/write). \
        Repeat for more repositories.";
    const REQUIRED: bool = false;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredRepositoryFlag;
impl RuleFlag for RequiredRepositoryFlag {
    const LONG: &'static str = RepositoryFlag::LONG;
    const HELP: &'static str = RepositoryFlag::HELP;
    const REQUIRED: bool = true;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRepositoryFlag;
impl RuleFlag for AddRepositoryFlag {
    const LONG: &'static str = "add-repository";
    const HELP: &'static str = "Grant actions on a repository pattern. Repeat for more.";
    const REQUIRED: bool = false;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveRepositoryFlag;
impl RuleFlag for RemoveRepositoryFlag {
    const LONG: &'static str = "remove-repository";
    const HELP: &'static str = "Revoke actions from the rule with exactly this pattern. Repeat for more.";
    const REQUIRED: bool = false;
}

impl<F> Rules<F> {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

impl<F: RuleFlag> FromArgMatches for Rules<F> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let groups = matches
            .get_occurrences::<String>(F::LONG)
            .map(|occurrences| occurrences.map(|values| values.cloned().collect()).collect())
            .unwrap_or_default();
        Ok(Self { groups, flag: PhantomData })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        if matches.contains_id(F::LONG) {
            *self = Self::from_arg_matches(matches)?;
        }
        Ok(())
    }
}

impl<F: RuleFlag> Args for Rules<F> {
    fn augment_args(command: clap::Command) -> clap::Command {
        command.arg(
            Arg::new(F::LONG)
                .long(F::LONG)
                .value_names(["REPO", "ACTION"])
                .num_args(2..)
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(String))
                .required(F::REQUIRED)
                .help(F::HELP),
        )
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

// ---------------------------------------------------------------------------
// scope-map

#[derive(Debug, Args)]
pub struct ScopeMapArgs {
    #[command(subcommand)]
    pub command: ScopeMapCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum ScopeMapCommand {
    /// Create a scope map from repository patterns and their actions.
    Create(ScopeMapCreate),
    /// Add or remove repository actions, or change the description.
    Update(ScopeMapUpdate),
    /// List all scope maps, system-defined first.
    List,
    /// Show one scope map.
    Show(Named),
    /// Delete a scope map no token uses.
    Delete(NamedDelete),
}

#[derive(Debug, Args)]
pub struct ScopeMapCreate {
    /// Name of the scope map.
    #[arg(long, short = 'n')]
    pub name: String,

    #[command(flatten)]
    pub repositories: Rules<RequiredRepositoryFlag>,

    /// Free text shown in listings.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args([AddRepositoryFlag::LONG, RemoveRepositoryFlag::LONG, "description"])
))]
pub struct ScopeMapUpdate {
    /// Name of the scope map.
    #[arg(long, short = 'n')]
    pub name: String,

    #[command(flatten)]
    pub add_repository: Rules<AddRepositoryFlag>,

    #[command(flatten)]
    pub remove_repository: Rules<RemoveRepositoryFlag>,

    /// New description.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct Named {
    /// Name of the resource.
    #[arg(long, short = 'n')]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NamedDelete {
    /// Name of the resource.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Confirm the deletion; it cannot be undone. Nothing is asked interactively.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

// ---------------------------------------------------------------------------
// token

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token with an existing scope map or with repository actions
    /// (which creates the scope map `<name>-scope-map`). Prints both
    /// passwords once.
    Create(TokenCreate),
    /// Enable or disable a token, or give it another scope map.
    Update(TokenUpdate),
    /// List all tokens.
    List,
    /// Show one token (never its passwords).
    Show(Named),
    /// Delete a token: its passwords stop working at once.
    Delete(NamedDelete),
    /// Generate or delete a token's passwords.
    Credential(CredentialArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenStatus {
    Enabled,
    Disabled,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("permissions").required(true).args(["scope_map", RepositoryFlag::LONG])))]
pub struct TokenCreate {
    /// Name of the token; also the username it logs in with.
    #[arg(long, short = 'n')]
    pub name: String,

    /// An existing scope map to grant.
    #[arg(long)]
    pub scope_map: Option<String>,

    #[command(flatten)]
    pub repositories: Rules<RepositoryFlag>,

    /// Status of the new token.
    #[arg(long, value_enum)]
    pub status: Option<TokenStatus>,

    #[command(flatten)]
    pub expiry: ExpiryArgs,

    /// Create the token without passwords; generate them later with
    /// `token credential generate`.
    #[arg(long, conflicts_with_all = ["expiration_in_days", "expiration"])]
    pub no_passwords: bool,
}

/// When generated passwords stop working; without either, never.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ExpiryArgs {
    /// The passwords expire this many days from now.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub expiration_in_days: Option<u32>,

    /// The passwords expire at this time: RFC 3339 (2026-12-31T18:00:00Z)
    /// or a date (2026-12-31, meaning midnight UTC).
    #[arg(long, value_parser = parse_expiration)]
    pub expiration: Option<DateTime<Utc>>,
}

/// RFC 3339 with any offset (converted to UTC), or `YYYY-MM-DD` for
/// midnight UTC of that day.
pub fn parse_expiration(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(raw) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc());
        }
    }
    Err(format!("{raw:?} is neither an RFC 3339 time (2026-12-31T18:00:00Z) nor a date (2026-12-31)"))
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true).args(["status", "scope_map"])))]
pub struct TokenUpdate {
    /// Name of the token.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Enable or disable the token.
    #[arg(long, value_enum)]
    pub status: Option<TokenStatus>,

    /// Grant this scope map instead of the current one.
    #[arg(long)]
    pub scope_map: Option<String>,
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    #[command(subcommand)]
    pub command: CredentialCommand,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Generate password1, password2 or (neither flag) both, replacing the
    /// old ones. Prints the new values once.
    Generate(CredentialGenerate),
    /// Delete password1 or password2: it stops working at once.
    Delete(CredentialDelete),
    /// Change when password1 or password2 expires, keeping the password
    /// (clients logged in with it keep working).
    Update(CredentialUpdate),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("slot").required(true).args(["password1", "password2"])))]
#[command(group(ArgGroup::new("when").required(true).args(["expiration_in_days", "expiration", "no_expiration"])))]
pub struct CredentialUpdate {
    /// Name of the token.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Change password1's expiry.
    #[arg(long)]
    pub password1: bool,

    /// Change password2's expiry.
    #[arg(long)]
    pub password2: bool,

    #[command(flatten)]
    pub expiry: ExpiryArgs,

    /// The password never expires.
    #[arg(long)]
    pub no_expiration: bool,
}

#[derive(Debug, Args)]
pub struct CredentialGenerate {
    /// Name of the token.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Generate password1.
    #[arg(long)]
    pub password1: bool,

    /// Generate password2.
    #[arg(long)]
    pub password2: bool,

    #[command(flatten)]
    pub expiry: ExpiryArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("slot").required(true).args(["password1", "password2"])))]
pub struct CredentialDelete {
    /// Name of the token.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Delete password1.
    #[arg(long)]
    pub password1: bool,

    /// Delete password2.
    #[arg(long)]
    pub password2: bool,
}

// ---------------------------------------------------------------------------
// repository

#[derive(Debug, Args)]
pub struct RepositoryArgs {
    #[command(subcommand)]
    pub command: RepositoryCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum RepositoryCommand {
    /// List the repositories (a token sees those it has metadata/read on).
    List,
    /// Show a repository's counts and attributes.
    Show(RepositoryName),
    /// List a repository's tags: names only, or everything with --detail.
    ShowTags(ShowTags),
    /// List a repository's manifests, newest first.
    ShowManifests(RepositoryName),
    /// Delete a repository with all its tags and manifests, or one image
    /// (--image): a manifest with every tag pointing to it.
    Delete(RepositoryDelete),
    /// Remove a tag; the manifest it pointed to stays.
    Untag(Untag),
    /// Lock or unlock a repository, tag or manifest.
    Update(RepositoryUpdate),
}

#[derive(Debug, Args)]
pub struct RepositoryName {
    /// Repository name, e.g. samples/hello-world.
    #[arg(long)]
    pub repository: String,
}

#[derive(Debug, Args)]
pub struct ShowTags {
    /// Repository name, e.g. samples/hello-world.
    #[arg(long)]
    pub repository: String,

    /// Show each tag's digest, times and attributes, not only its name.
    #[arg(long)]
    pub detail: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["repository", "image"])))]
pub struct RepositoryDelete {
    /// The repository to delete with all its tags and manifests, e.g.
    /// samples/hello-world.
    #[arg(long)]
    pub repository: Option<String>,

    /// One image instead: REPOSITORY:TAG deletes the manifest the tag
    /// points to, REPOSITORY@sha256:... that manifest; either way with
    /// every tag pointing to it.
    #[arg(long)]
    pub image: Option<ImageRef>,

    /// Confirm the deletion; it cannot be undone. Nothing is asked interactively.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct Untag {
    /// The tag to remove, as REPOSITORY:TAG.
    #[arg(long)]
    pub image: ImageRef,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).multiple(true).args(["repository", "image"])))]
pub struct RepositoryUpdate {
    /// Repository whose attributes change.
    #[arg(long)]
    pub repository: Option<String>,

    /// A tag (REPOSITORY:TAG) or manifest (REPOSITORY@sha256:...) whose
    /// attributes change instead of the repository's.
    #[arg(long)]
    pub image: Option<ImageRef>,

    #[command(flatten)]
    pub attributes: AttributeChanges,
}

/// The changeable attributes; at least one must be given.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct AttributeChanges {
    /// Allow pushing (true) or refuse it (false).
    #[arg(long, value_name = "BOOL")]
    pub write_enabled: Option<bool>,

    /// Allow deleting (true) or refuse it (false).
    #[arg(long, value_name = "BOOL")]
    pub delete_enabled: Option<bool>,

    /// Allow pulling (true) or refuse it (false).
    #[arg(long, value_name = "BOOL")]
    pub read_enabled: Option<bool>,

    /// Show in listings (true) or hide (false).
    #[arg(long, value_name = "BOOL")]
    pub list_enabled: Option<bool>,
}

/// `repository:tag` or `repository@digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub reference: Reference,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(String),
}

impl FromStr for ImageRef {
    type Err = String;

    /// A digest follows `@`; otherwise the tag follows the last `:` after
    /// the last `/` (so `host:5000/repo` is not read as a tag).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (repository, reference) = if let Some((repository, digest)) = raw.split_once('@') {
            if !digest.contains(':') {
                return Err(format!("{raw:?}: a digest looks like sha256:<hex>"));
            }
            (repository, Reference::Digest(digest.to_owned()))
        } else {
            let name_start = raw.rfind('/').map_or(0, |slash| slash + 1);
            match raw[name_start..].rfind(':') {
                Some(colon) => {
                    let colon = name_start + colon;
                    (&raw[..colon], Reference::Tag(raw[colon + 1..].to_owned()))
                }
                None => {
                    return Err(format!(
                        "{raw:?} names no tag or digest: use REPOSITORY:TAG or REPOSITORY@sha256:..."
                    ))
                }
            }
        };
        let empty = match &reference {
            Reference::Tag(tag) | Reference::Digest(tag) => tag.is_empty(),
        };
        if repository.is_empty() || empty {
            return Err(format!("{raw:?}: use REPOSITORY:TAG or REPOSITORY@sha256:..."));
        }
        Ok(Self { repository: repository.to_owned(), reference })
    }
}

// ---------------------------------------------------------------------------
// manifest

#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    pub command: ManifestCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// List a repository's manifests, newest first: digest, media type,
    /// tags, creation time, platforms.
    ListMetadata(ManifestList),
    /// Show one manifest's metadata, by tag or by digest.
    ShowMetadata(ManifestShow),
}

#[derive(Debug, Args)]
pub struct ManifestList {
    /// Repository name, e.g. samples/hello-world.
    #[arg(long, short = 'n')]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ManifestShow {
    /// The manifest, as REPOSITORY:TAG or REPOSITORY@sha256:...
    #[arg(long, short = 'n')]
    pub name: ImageRef,
}

// ---------------------------------------------------------------------------
// audit

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit entries, newest first.
    List(AuditList),
}

#[derive(Debug, Args)]
pub struct AuditList {
    /// Only entries concerning this token.
    #[arg(long)]
    pub token: Option<String>,

    /// How many of the newest entries to show.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
}

// ---------------------------------------------------------------------------
// user

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Change your own password. The current one is --password (or
    /// PORTCULLIS_PASSWORD), as for every call; the new one is read from
    /// standard input, never from the command line, e.g.
    /// `printf '%s\n' "$NEW" | portcullis user change-password --name admin -u admin`.
    ChangePassword(ChangePassword),
    /// Create a user. The password is read from standard input, never from
    /// the command line, e.g.
    /// `printf '%s\n' "$PW" | portcullis user create --name alice --password-stdin`.
    Create(UserCreate),
    /// List all users.
    List,
    /// Show one user.
    Show(Named),
    /// Change a user's display name or enabled flag, or reset the password
    /// (read from standard input with --password-stdin).
    Update(UserUpdate),
    /// Delete a user with its group memberships and role assignments.
    Delete(NamedDelete),
}

#[derive(Debug, Args)]
pub struct ChangePassword {
    /// Name of the user: your own (the one in --username).
    #[arg(long, short = 'n')]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct UserCreate {
    /// Name of the user: what they sign in with.
    #[arg(long, short = 'n')]
    pub name: String,

    /// The name shown in listings and the portal.
    #[arg(long)]
    pub display_name: Option<String>,

    /// Read the password from standard input (one line). Required: a
    /// password is never taken from the command line.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("change").required(true).multiple(true).args(["display_name", "enabled", "password_stdin"])
))]
pub struct UserUpdate {
    /// Name of the user.
    #[arg(long, short = 'n')]
    pub name: String,

    /// New display name.
    #[arg(long)]
    pub display_name: Option<String>,

    /// Allow signing in (true) or refuse it (false).
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,

    /// Reset the password to one read from standard input (one line).
    #[arg(long)]
    pub password_stdin: bool,
}

// ---------------------------------------------------------------------------
// group

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(subcommand)]
    pub command: GroupCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create an empty group.
    Create(GroupCreate),
    /// List all groups with their members.
    List,
    /// Show one group.
    Show(Named),
    /// Delete a group with its role assignments (its members stay).
    Delete(NamedDelete),
    /// Add, remove or list a group's members.
    Member(MemberArgs),
}

#[derive(Debug, Args)]
pub struct GroupCreate {
    /// Name of the group.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Free text shown in listings.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct MemberArgs {
    #[command(subcommand)]
    pub command: MemberCommand,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a user or service principal to a group.
    Add(GroupMember),
    /// Remove a member from a group.
    Remove(GroupMember),
    /// List a group's members.
    List(GroupName),
}

#[derive(Debug, Args)]
pub struct GroupMember {
    /// Name of the group.
    #[arg(long, short = 'g')]
    pub group: String,

    /// A user's name, or a service principal's name or application id.
    #[arg(long, short = 'm')]
    pub member: String,
}

#[derive(Debug, Args)]
pub struct GroupName {
    /// Name of the group.
    #[arg(long, short = 'g')]
    pub group: String,
}

// ---------------------------------------------------------------------------
// sp (service principals)

#[derive(Debug, Args)]
pub struct SpArgs {
    #[command(subcommand)]
    pub command: SpCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum SpCommand {
    /// Create a service principal with one client secret. Prints the
    /// secret once.
    Create(SpCreate),
    /// List all service principals (never their secrets' values).
    List,
    /// Show one service principal, by name or application id.
    Show(Named),
    /// Enable or disable a service principal, or change its description.
    Update(SpUpdate),
    /// Delete a service principal with its secrets, memberships and role
    /// assignments.
    Delete(NamedDelete),
    /// Reset, list or delete a service principal's client secrets.
    Credential(SpCredentialArgs),
    /// Create, list or delete a service principal's federated credentials
    /// (workload identity federation: a CI job exchanges its OpenID Connect
    /// ID token at /oauth2/exchange instead of holding a secret).
    FederatedCredential(SpFederatedCredentialArgs),
}

#[derive(Debug, Args)]
pub struct SpCreate {
    /// Name of the service principal; also what it logs in with (or its
    /// application id).
    #[arg(long, short = 'n')]
    pub name: String,

    /// Free text shown in listings.
    #[arg(long)]
    pub description: Option<String>,

    /// When the client secret expires: RFC 3339 (2026-12-31T18:00:00Z) or
    /// a date (2026-12-31, midnight UTC). Without it, never.
    #[arg(long, value_parser = parse_expiration)]
    pub secret_expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true).args(["enabled", "description"])))]
pub struct SpUpdate {
    /// Name or application id of the service principal.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Allow signing in (true) or refuse it (false).
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,

    /// New description.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct SpCredentialArgs {
    #[command(subcommand)]
    pub command: SpCredentialCommand,
}

#[derive(Debug, Subcommand)]
pub enum SpCredentialCommand {
    /// Generate a new client secret, replacing all others unless --append.
    /// Prints the new secret once.
    Reset(SpCredentialReset),
    /// List a service principal's client secrets (never their values).
    List(Named),
    /// Delete one client secret: it stops working at once.
    Delete(SpCredentialDelete),
}

#[derive(Debug, Args)]
pub struct SpCredentialReset {
    /// Name or application id of the service principal.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Keep the existing secrets; without it they stop working at once.
    #[arg(long)]
    pub append: bool,

    /// When the new secret expires: RFC 3339 or a date. Without it, never.
    #[arg(long, value_parser = parse_expiration)]
    pub expiry: Option<DateTime<Utc>>,

    /// Free text naming the secret, e.g. where it is used.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct SpCredentialDelete {
    /// Name or application id of the service principal.
    #[arg(long, short = 'n')]
    pub name: String,

    /// The secret's key id (see `sp credential list`).
    #[arg(long)]
    pub key_id: String,
}

#[derive(Debug, Args)]
pub struct SpFederatedCredentialArgs {
    #[command(subcommand)]
    pub command: SpFederatedCredentialCommand,
}

#[derive(Debug, Subcommand)]
pub enum SpFederatedCredentialCommand {
    /// Trust ID tokens of an OpenID Connect issuer for an audience and a
    /// subject.
    Create(SpFederatedCredentialCreate),
    /// List a service principal's federated credentials.
    List(Named),
    /// Delete a federated credential: the refresh tokens exchanged through
    /// it stop working at once.
    Delete(SpFederatedCredentialDelete),
}

#[derive(Debug, Args)]
pub struct SpFederatedCredentialCreate {
    /// Name or application id of the service principal.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Name of the federated credential (letters, digits, . _ -).
    #[arg(long)]
    pub credential_name: String,

    /// The issuer's URL, exactly as in the tokens' `iss` claim
    /// (https://token.actions.githubusercontent.com).
    #[arg(long)]
    pub issuer: String,

    /// A value the tokens' `aud` claim must hold.
    #[arg(long)]
    pub audience: String,

    /// The tokens' `sub` claim, exact or with `*` matching any run of
    /// characters (repo:acme/api:ref:refs/heads/*); case-sensitive.
    #[arg(long)]
    pub subject: String,

    /// Free text shown in listings.
    #[arg(long)]
    pub description: Option<String>,

    /// A JWKS file with the issuer's public signing keys. Without it the
    /// registry fetches them from the issuer's OpenID configuration.
    #[arg(long, value_name = "FILE", value_parser = read_jwks_file)]
    pub jwks_file: Option<serde_json::Value>,
}

/// The JSON of a JWKS file, read when the arguments are parsed.
fn read_jwks_file(path: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("{path} is not JSON: {error}"))?;
    if !value.get("keys").is_some_and(serde_json::Value::is_array) {
        return Err(format!("{path} is not a JWKS: it needs a \"keys\" array"));
    }
    Ok(value)
}

#[derive(Debug, Args)]
pub struct SpFederatedCredentialDelete {
    /// Name or application id of the service principal.
    #[arg(long, short = 'n')]
    pub name: String,

    /// Name of the federated credential.
    #[arg(long)]
    pub credential_name: String,
}

// ---------------------------------------------------------------------------
// role

#[derive(Debug, Args)]
pub struct RoleArgs {
    #[command(subcommand)]
    pub command: RoleCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create, list, update and delete role assignments.
    Assignment(AssignmentArgs),
    /// List the built-in role definitions.
    Definition(DefinitionArgs),
}

#[derive(Debug, Args)]
pub struct DefinitionArgs {
    #[command(subcommand)]
    pub command: DefinitionCommand,
}

#[derive(Debug, Subcommand)]
pub enum DefinitionCommand {
    /// List the built-in roles with their actions per mode.
    List,
}

#[derive(Debug, Args)]
pub struct AssignmentArgs {
    #[command(subcommand)]
    pub command: AssignmentCommand,
}

#[derive(Debug, Subcommand)]
pub enum AssignmentCommand {
    /// Give an identity a role, registry-wide or limited by a repository
    /// condition. Warnings (e.g. a prefix without a trailing '/', an action
    /// the condition leaves unrestricted) are printed to standard error.
    Create(AssignmentCreate),
    /// List role assignments, optionally only those of an assignee (with
    /// its groups'), a role or a repository.
    List(AssignmentList),
    /// Show one role assignment.
    Show(AssignmentId),
    /// Replace an assignment's condition, or remove it (registry-wide).
    Update(AssignmentUpdate),
    /// Delete a role assignment: what it gave stops at once.
    Delete(AssignmentDelete),
}

/// Kinds of assignee, as `--assignee-kind` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssigneeKind {
    User,
    Group,
    ServicePrincipal,
    /// The built-in "Everyone (anonymous)": callers without credentials.
    Anonymous,
}

#[derive(Debug, Args)]
pub struct AssignmentCreate {
    /// A user's, group's or service principal's name (or application id);
    /// `anonymous` with --assignee-kind anonymous.
    #[arg(long)]
    pub assignee: String,

    /// What kind of identity --assignee is: checked when given; needed only
    /// for anonymous.
    #[arg(long, value_enum)]
    pub assignee_kind: Option<AssigneeKind>,

    /// The role's name, e.g. "Container Registry Repository Reader" (see
    /// `role definition list`).
    #[arg(long)]
    pub role: String,

    /// A repository condition (ABAC), e.g.
    /// "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'".
    #[arg(long)]
    pub condition: Option<String>,

    /// The condition language's version (2.0, the default).
    #[arg(long, requires = "condition")]
    pub condition_version: Option<String>,

    /// Free text shown in listings.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct AssignmentList {
    /// Only assignments to this identity (and, for a user or service
    /// principal, to its groups).
    #[arg(long)]
    pub assignee: Option<String>,

    /// Only assignments of this role.
    #[arg(long)]
    pub role: Option<String>,

    /// Only assignments that give some action on this repository.
    #[arg(long)]
    pub repository: Option<String>,
}

#[derive(Debug, Args)]
pub struct AssignmentId {
    /// The assignment's id (its `name` in answers).
    #[arg(long)]
    pub ids: String,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("new_condition").required(true).args(["condition", "remove_condition"])))]
pub struct AssignmentUpdate {
    /// The assignment's id (its `name` in answers).
    #[arg(long)]
    pub ids: String,

    /// The new repository condition, replacing the current one.
    #[arg(long)]
    pub condition: Option<String>,

    /// The condition language's version (2.0, the default).
    #[arg(long, requires = "condition")]
    pub condition_version: Option<String>,

    /// Remove the condition: the role then applies to every repository.
    #[arg(long)]
    pub remove_condition: bool,

    /// New description.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct AssignmentDelete {
    /// The assignment's id (its `name` in answers).
    #[arg(long)]
    pub ids: String,

    /// Confirm the deletion; it cannot be undone. Nothing is asked interactively.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

// ---------------------------------------------------------------------------
// registry

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Show the registry's settings.
    Show,
    /// Switch the role assignment permissions mode. Without --yes nothing
    /// changes: the preview (who gains and who loses what) is printed and
    /// the command exits 1. Nothing is asked interactively.
    Update(RegistryUpdate),
}

/// `--role-assignment-mode`, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleAssignmentMode {
    /// Registry-wide role assignments only; conditions are not honoured.
    Rbac,
    /// Registry roles plus repository conditions.
    RbacAbac,
}

#[derive(Debug, Args)]
pub struct RegistryUpdate {
    /// The permissions mode to switch to.
    #[arg(long, value_enum)]
    pub role_assignment_mode: RoleAssignmentMode,

    /// Switch now. Without it, only the preview is printed.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

// ---------------------------------------------------------------------------
// access as code

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The access file (TOML, docs/ACCESS-AS-CODE.md).
    #[arg(long, short = 'f')]
    pub file: std::path::PathBuf,

    /// Also delete the scope maps and tokens the file does not declare.
    #[arg(long)]
    pub prune: bool,

    /// Warn about passwords that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiring_within: u32,

    /// Print the plan as JSON (the API's AccessPlan) instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("secrets").args(["secrets_out", "secrets_exec", "show_secrets"])))]
pub struct ApplyArgs {
    /// The access file (TOML, docs/ACCESS-AS-CODE.md).
    #[arg(long, short = 'f')]
    pub file: std::path::PathBuf,

    /// Also delete the scope maps and tokens the file does not declare.
    #[arg(long)]
    pub prune: bool,

    /// Allow regenerating or deleting every working password of a token in
    /// one apply (its clients stop working until they get the new one).
    #[arg(long)]
    pub allow_downtime: bool,

    /// Apply only if the registry is still at this revision (the one a
    /// reviewed `plan` printed); otherwise nothing changes.
    #[arg(long, value_name = "REVISION")]
    pub expected_revision: Option<String>,

    /// Write the generated passwords to this new file (owner-only JSON:
    /// {"token": {"password1": "..."}}).
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<std::path::PathBuf>,

    /// Run this shell command once per generated password, the password on
    /// its standard input and PORTCULLIS_TOKEN, PORTCULLIS_SLOT and
    /// PORTCULLIS_EXPIRY in its environment (e.g. a vault's CLI).
    #[arg(long, value_name = "COMMAND")]
    pub secrets_exec: Option<String>,

    /// Print the generated passwords on standard output.
    #[arg(long)]
    pub show_secrets: bool,

    /// Warn about passwords that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiring_within: u32,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short = 'f')]
    pub file: Option<std::path::PathBuf>,

    /// Print the access file's JSON Schema instead (no registry needed).
    #[arg(long)]
    pub schema: bool,

    #[command(flatten)]
    pub global: GlobalArgs,
}

// check-access

#[derive(Debug, Args)]
pub struct CheckAccess {
    /// A user's or service principal's name (or application id), or
    /// `anonymous`.
    #[arg(long)]
    pub assignee: String,

    /// Repository name, e.g. samples/hello-world.
    #[arg(long)]
    pub repository: String,

    #[command(flatten)]
    pub global: GlobalArgs,
}

// ---------------------------------------------------------------------------
// login

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The container client to log in.
    #[arg(long, value_enum, default_value_t = ContainerClient::Docker)]
    pub client: ContainerClient,

    /// Read the password from standard input (one line) instead of
    /// --password / PORTCULLIS_PASSWORD.
    #[arg(long, conflicts_with = "print")]
    pub password_stdin: bool,

    /// Print the login command instead of running it: the shell reads the
    /// password without echo and hands it to the client on standard input.
    /// No password is needed, and none is printed.
    #[arg(long)]
    pub print: bool,

    #[command(flatten)]
    pub global: GlobalArgs,
}

/// The clients `portcullis login` logs in (docs/CLIENTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContainerClient {
    Docker,
    Podman,
    Skopeo,
    /// The oras command-line client.
    Oras,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    /// The shape the server gives it: client commands flattened beside its
    /// own.
    #[derive(Debug, Parser)]
    #[command(name = "portcullis")]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    // `Serve` carries nothing here, unlike the server's.
    #[allow(clippy::large_enum_variant)]
    #[derive(Debug, Subcommand)]
    enum Top {
        Serve,
        #[command(flatten)]
        Client(ClientCommand),
    }

    fn parse(args: &[&str]) -> Result<ClientCommand, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("portcullis").chain(args.iter().copied()))?;
        match cli.command {
            Top::Client(command) => Ok(command),
            Top::Serve => panic!("parsed as serve"),
        }
    }

    fn groups(groups: &[&[&str]]) -> Vec<Vec<String>> {
        groups.iter().map(|group| group.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
        // The server's own subcommand still parses beside the flattened ones.
        assert!(matches!(
            Cli::from_arg_matches(&Cli::command().get_matches_from(["portcullis", "serve"])).unwrap().command,
            Top::Serve
        ));
    }

    #[test]
    fn scope_map_create_takes_repeated_repository_groups() {
        let ClientCommand::ScopeMap(ScopeMapArgs { command: ScopeMapCommand::Create(create), .. }) =
            parse(&[
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
            ])
            .unwrap()
        else {
            panic!("scope-map create expected")
        };
        assert_eq!(create.name, "MyScopeMap");
        assert_eq!(
            create.repositories.groups,
            groups(&[
                &["samples/hello-world", "content/write", "content/read"],
                &["samples/*", "metadata/read"]
            ])
        );
        assert_eq!(create.description.as_deref(), Some("Sample scope map"));
    }

    #[test]
    fn a_repository_group_needs_a_pattern_and_an_action() {
        let err = parse(&["scope-map", "create", "--name", "m", "--repository", "samples/x"]).unwrap_err();
        assert!(err.to_string().contains("--repository"), "{err}");
        let err = parse(&["scope-map", "create", "--name", "m"]).unwrap_err();
        assert!(err.to_string().contains("--repository"), "{err}");
        let err = parse(&["token", "create", "--name", "t", "--repository", "r"]).unwrap_err();
        assert!(err.to_string().contains("--repository"), "{err}");
    }

    #[test]
    fn scope_map_update_adds_and_removes_groups() {
        let ClientCommand::ScopeMap(ScopeMapArgs { command: ScopeMapCommand::Update(update), .. }) =
            parse(&[
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
                "--add-repository",
                "samples/other",
                "metadata/read",
            ])
            .unwrap()
        else {
            panic!("scope-map update expected")
        };
        assert_eq!(
            update.add_repository.groups,
            groups(&[
                &["samples/nginx", "content/write", "content/read"],
                &["samples/other", "metadata/read"]
            ])
        );
        assert_eq!(update.remove_repository.groups, groups(&[&["samples/hello-world", "content/write"]]));
        assert_eq!(update.description, None);
        // Nothing to change is refused before any request.
        assert!(parse(&["scope-map", "update", "--name", "m"]).is_err());
    }

    #[test]
    fn scope_map_list_show_delete() {
        assert!(matches!(
            parse(&["scope-map", "list"]).unwrap(),
            ClientCommand::ScopeMap(ScopeMapArgs { command: ScopeMapCommand::List, .. })
        ));
        let ClientCommand::ScopeMap(ScopeMapArgs { command: ScopeMapCommand::Show(show), .. }) =
            parse(&["scope-map", "show", "-n", "m"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(show.name, "m");
        let ClientCommand::ScopeMap(ScopeMapArgs { command: ScopeMapCommand::Delete(delete), .. }) =
            parse(&["scope-map", "delete", "--name", "m"]).unwrap()
        else {
            panic!()
        };
        assert!(!delete.yes);
        let ClientCommand::ScopeMap(ScopeMapArgs { command: ScopeMapCommand::Delete(delete), .. }) =
            parse(&["scope-map", "delete", "--name", "m", "--yes"]).unwrap()
        else {
            panic!()
        };
        assert!(delete.yes);
    }

    #[test]
    fn global_options_come_after_the_subcommand() {
        let command = parse(&[
            "token",
            "credential",
            "generate",
            "--name",
            "MyToken",
            "--password1",
            "--expiration-in-days",
            "30",
            "--query",
            "passwords[0].value",
            "--output",
            "tsv",
            "--registry",
            "https://registry.example.com:8443/",
            "--username",
            "admin",
            "--password",
            "s3cret",
        ])
        .unwrap();
        let global = command.global();
        assert_eq!(global.registry.as_str(), "https://registry.example.com:8443");
        assert_eq!(global.username.as_deref(), Some("admin"));
        assert_eq!(global.password.as_ref().map(Password::expose), Some("s3cret"));
        assert_eq!(global.output, OutputFormat::Tsv);
        assert_eq!(global.query.as_deref(), Some("passwords[0].value"));
        let ClientCommand::Token(TokenArgs {
            command:
                TokenCommand::Credential(CredentialArgs { command: CredentialCommand::Generate(generate) }),
            ..
        }) = command
        else {
            panic!("token credential generate expected")
        };
        assert!(generate.password1 && !generate.password2);
        assert_eq!(generate.expiry.expiration_in_days, Some(30));

        // Also between the group and its subcommand, with short forms.
        let command = parse(&["repository", "-o", "table", "list", "-u", "MyToken", "-p", "pw"]).unwrap();
        assert_eq!(command.global().output, OutputFormat::Table);
        assert_eq!(command.global().username.as_deref(), Some("MyToken"));
    }

    #[test]
    fn global_defaults() {
        if std::env::vars().any(|(key, _)| key.starts_with("PORTCULLIS_")) {
            return;
        }
        let command = parse(&["audit", "list"]).unwrap();
        let global = command.global();
        assert_eq!(global.registry.as_str(), "http://127.0.0.1:5000");
        assert_eq!(global.output, OutputFormat::Json);
        assert!(global.username.is_none() && global.password.is_none() && global.query.is_none());
    }

    #[test]
    fn bad_global_values_are_refused() {
        for bad in ["ftp://host", "localhost:5000", "http://user:pw@host", "http://host/?x=1", "nonsense"] {
            let err = parse(&["scope-map", "list", "--registry", bad]).unwrap_err();
            assert!(err.to_string().contains("--registry"), "{bad}: {err}");
        }
        let err = parse(&["scope-map", "list", "--output", "yaml"]).unwrap_err();
        assert!(err.to_string().contains("--output"), "{err}");
        let err = parse(&["scope-map", "list", "--query", "passwords[0"]).unwrap_err();
        assert!(err.to_string().contains("--query"), "{err}");
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let command = parse(&["token", "list", "--password", "super-secret-value"]).unwrap();
        let rendered = format!("{command:?}");
        assert!(!rendered.contains("super-secret-value"), "{rendered}");
    }

    #[test]
    fn token_create_takes_a_scope_map_or_repositories_not_both() {
        let ClientCommand::Token(TokenArgs { command: TokenCommand::Create(create), .. }) = parse(&[
            "token",
            "create",
            "--name",
            "MyToken",
            "--repository",
            "samples/hello-world",
            "content/write",
            "content/read",
            "--status",
            "disabled",
            "--expiration",
            "2026-12-31",
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            create.repositories.groups,
            groups(&[&["samples/hello-world", "content/write", "content/read"]])
        );
        assert_eq!(create.scope_map, None);
        assert_eq!(create.status, Some(TokenStatus::Disabled));
        assert_eq!(create.expiry.expiration, Some("2026-12-31T00:00:00Z".parse().unwrap()));
        assert!(!create.no_passwords);

        let ClientCommand::Token(TokenArgs { command: TokenCommand::Create(create), .. }) =
            parse(&["token", "create", "--name", "t", "--scope-map", "MyScopeMap", "--no-passwords"])
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(create.scope_map.as_deref(), Some("MyScopeMap"));
        assert!(create.no_passwords && create.repositories.is_empty());

        for bad in [
            &["token", "create", "--name", "t"][..],
            &["token", "create", "--name", "t", "--scope-map", "m", "--repository", "r", "content/read"],
            &[
                "token",
                "create",
                "--name",
                "t",
                "--scope-map",
                "m",
                "--expiration-in-days",
                "1",
                "--expiration",
                "2030-01-01",
            ],
            &[
                "token",
                "create",
                "--name",
                "t",
                "--scope-map",
                "m",
                "--no-passwords",
                "--expiration-in-days",
                "1",
            ],
            &["token", "create", "--name", "t", "--scope-map", "m", "--status", "paused"],
            &["token", "create", "--name", "t", "--scope-map", "m", "--expiration-in-days", "0"],
            &["token", "create", "--name", "t", "--scope-map", "m", "--expiration", "next week"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn token_update_list_show_delete() {
        let ClientCommand::Token(TokenArgs { command: TokenCommand::Update(update), .. }) =
            parse(&["token", "update", "--name", "MyToken", "--status", "disabled"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (update.name.as_str(), update.status, update.scope_map),
            ("MyToken", Some(TokenStatus::Disabled), None)
        );
        assert!(parse(&["token", "update", "--name", "MyToken"]).is_err(), "nothing to update");
        assert!(matches!(
            parse(&["token", "list"]).unwrap(),
            ClientCommand::Token(TokenArgs { command: TokenCommand::List, .. })
        ));
        assert!(matches!(
            parse(&["token", "show", "--name", "t"]).unwrap(),
            ClientCommand::Token(TokenArgs { command: TokenCommand::Show(Named { name }), .. }) if name == "t"
        ));
        assert!(matches!(
            parse(&["token", "delete", "--name", "t", "--yes"]).unwrap(),
            ClientCommand::Token(TokenArgs {
                command: TokenCommand::Delete(NamedDelete { yes: true, .. }),
                ..
            })
        ));
    }

    #[test]
    fn credential_delete_takes_exactly_one_slot() {
        let ClientCommand::Token(TokenArgs {
            command: TokenCommand::Credential(CredentialArgs { command: CredentialCommand::Delete(delete) }),
            ..
        }) = parse(&["token", "credential", "delete", "--name", "t", "--password2"]).unwrap()
        else {
            panic!()
        };
        assert!(delete.password2 && !delete.password1);
        assert!(parse(&["token", "credential", "delete", "--name", "t"]).is_err());
        assert!(
            parse(&["token", "credential", "delete", "--name", "t", "--password1", "--password2"]).is_err()
        );
    }

    #[test]
    fn expiration_accepts_rfc3339_and_dates() {
        assert_eq!(
            parse_expiration("2026-12-31").unwrap(),
            "2026-12-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            parse_expiration("2026-12-31T18:00:00+02:00").unwrap(),
            "2026-12-31T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(parse_expiration("2026-02-30").is_err());
        assert!(parse_expiration("31/12/2026").is_err());
    }

    #[test]
    fn repository_commands() {
        let ClientCommand::Repository(RepositoryArgs { command: RepositoryCommand::ShowTags(tags), .. }) =
            parse(&["repository", "show-tags", "--repository", "samples/hello-world", "--detail"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(tags.repository, "samples/hello-world");
        assert!(tags.detail);
        assert!(matches!(
            parse(&["repository", "show-manifests", "--repository", "a/b"]).unwrap(),
            ClientCommand::Repository(RepositoryArgs { command: RepositoryCommand::ShowManifests(RepositoryName { repository }), .. }) if repository == "a/b"
        ));
        assert!(matches!(
            parse(&["repository", "show", "--repository", "a"]).unwrap(),
            ClientCommand::Repository(RepositoryArgs { command: RepositoryCommand::Show(_), .. })
        ));
        assert!(matches!(
            parse(&["repository", "delete", "--repository", "a", "--yes"]).unwrap(),
            ClientCommand::Repository(RepositoryArgs {
                command: RepositoryCommand::Delete(RepositoryDelete { yes: true, image: None, .. }),
                ..
            })
        ));
        let ClientCommand::Repository(RepositoryArgs { command: RepositoryCommand::Delete(delete), .. }) =
            parse(&["repository", "delete", "--image", "samples/x@sha256:ab"]).unwrap()
        else {
            panic!("repository delete expected")
        };
        assert_eq!((delete.repository, delete.yes), (None, false));
        assert_eq!(delete.image.unwrap().reference, Reference::Digest("sha256:ab".into()));
        for bad in [
            &["repository", "delete", "--yes"][..],
            &["repository", "delete", "--repository", "a", "--image", "a:v1"],
            &["repository", "delete", "--image", "samples/x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let ClientCommand::Repository(RepositoryArgs { command: RepositoryCommand::Untag(untag), .. }) =
            parse(&["repository", "untag", "--image", "samples/hello-world:v1"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(untag.image.reference, Reference::Tag("v1".into()));

        let ClientCommand::Repository(RepositoryArgs { command: RepositoryCommand::Update(update), .. }) =
            parse(&[
                "repository",
                "update",
                "--image",
                "samples/hello-world@sha256:abcd",
                "--write-enabled",
                "false",
                "--list-enabled",
                "true",
            ])
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(update.repository, None);
        assert_eq!(update.attributes.write_enabled, Some(false));
        assert_eq!(update.attributes.list_enabled, Some(true));
        assert_eq!(update.attributes.read_enabled, None);
        assert!(parse(&["repository", "update", "--repository", "a"]).is_err(), "no attribute");
        assert!(parse(&["repository", "update", "--write-enabled", "false"]).is_err(), "no target");
        assert!(parse(&["repository", "update", "--repository", "a", "--read-enabled", "maybe"]).is_err());
    }

    #[test]
    fn image_references_split_like_docker() {
        let image = |raw: &str| raw.parse::<ImageRef>();
        assert_eq!(
            image("samples/hello-world:v1").unwrap(),
            ImageRef { repository: "samples/hello-world".into(), reference: Reference::Tag("v1".into()) }
        );
        // The tag is after the last ':' of the last path segment.
        assert_eq!(
            image("host:5000/samples/x:1.0").unwrap(),
            ImageRef { repository: "host:5000/samples/x".into(), reference: Reference::Tag("1.0".into()) }
        );
        assert_eq!(
            image("a/b@sha256:0123").unwrap(),
            ImageRef { repository: "a/b".into(), reference: Reference::Digest("sha256:0123".into()) }
        );
        for bad in ["samples/x", "host:5000/samples/x", ":v1", "x:", "x@", "x@0123", "@sha256:00"] {
            assert!(image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manifest_metadata_commands() {
        assert!(matches!(
            parse(&["manifest", "list-metadata", "--name", "samples/x"]).unwrap(),
            ClientCommand::Manifest(ManifestArgs {
                command: ManifestCommand::ListMetadata(ManifestList { name }),
                ..
            }) if name == "samples/x"
        ));
        let ClientCommand::Manifest(ManifestArgs { command: ManifestCommand::ShowMetadata(show), global }) =
            parse(&["manifest", "show-metadata", "-n", "samples/x:v1", "-o", "table"]).unwrap()
        else {
            panic!("manifest show-metadata expected")
        };
        assert_eq!(
            show.name,
            ImageRef { repository: "samples/x".into(), reference: Reference::Tag("v1".into()) }
        );
        assert_eq!(global.output, OutputFormat::Table);
        assert!(parse(&["manifest", "show-metadata", "--name", "samples/x"]).is_err(), "no tag or digest");
        assert!(parse(&["manifest", "list-metadata"]).is_err(), "--name is required");
    }

    #[test]
    fn login_takes_the_client_and_where_the_password_comes_from() {
        let ClientCommand::Login(login) = parse(&["login", "-u", "MyToken", "--password-stdin"]).unwrap()
        else {
            panic!("login expected")
        };
        assert_eq!((login.client, login.password_stdin, login.print), (ContainerClient::Docker, true, false));
        assert!(parse(&["login", "--password-stdin"]).unwrap().reads_stdin());
        assert!(!parse(&["login", "-p", "x"]).unwrap().reads_stdin());
        let ClientCommand::Login(login) = parse(&["login", "--client", "skopeo", "--print"]).unwrap() else {
            panic!("login expected")
        };
        assert_eq!((login.client, login.print), (ContainerClient::Skopeo, true));
        assert!(parse(&["login", "--print", "--password-stdin"]).is_err());
        assert!(parse(&["login", "--client", "helm"]).is_err());
    }

    #[test]
    fn audit_list_options() {
        let ClientCommand::Audit(AuditArgs { command: AuditCommand::List(list), .. }) =
            parse(&["audit", "list", "--token", "MyToken", "--limit", "5"]).unwrap()
        else {
            panic!("audit list expected")
        };
        assert_eq!((list.token.as_deref(), list.limit), (Some("MyToken"), 5));
        assert!(parse(&["audit", "list", "--limit", "0"]).is_err());
    }

    #[test]
    fn user_change_password_takes_the_name_and_never_the_new_password() {
        let command =
            parse(&["user", "change-password", "--name", "admin", "-u", "admin", "-p", "current"]).unwrap();
        assert!(command.reads_stdin());
        let ClientCommand::User(UserArgs { command: UserCommand::ChangePassword(change), global }) = command
        else {
            panic!("user change-password expected")
        };
        assert_eq!(change.name, "admin");
        assert_eq!(global.password.as_ref().map(Password::expose), Some("current"));
        for flag in ["--new-password", "--new-password-stdin"] {
            assert!(parse(&["user", "change-password", "--name", "admin", flag, "x"]).is_err(), "{flag}");
        }
        assert!(parse(&["user", "change-password"]).is_err(), "--name is required");
        assert!(!parse(&["token", "list"]).unwrap().reads_stdin());
    }

    #[test]
    fn user_create_reads_the_password_from_stdin_only() {
        let command =
            parse(&["user", "create", "--name", "alice", "--display-name", "Alice A", "--password-stdin"])
                .unwrap();
        assert!(command.reads_stdin());
        let ClientCommand::User(UserArgs { command: UserCommand::Create(create), .. }) = command else {
            panic!("user create expected")
        };
        assert_eq!((create.name.as_str(), create.display_name.as_deref()), ("alice", Some("Alice A")));
        let err = parse(&["user", "create", "--name", "alice"]).unwrap_err();
        assert!(err.to_string().contains("--password-stdin"), "{err}");
        assert!(parse(&["user", "create", "--name", "alice", "--password-stdin", "pw"]).is_err());
        assert!(parse(&["user", "create", "--name", "alice", "--new-password", "pw"]).is_err());
    }

    #[test]
    fn user_update_list_show_delete() {
        let command = parse(&["user", "update", "--name", "alice", "--enabled", "false"]).unwrap();
        assert!(!command.reads_stdin());
        let ClientCommand::User(UserArgs { command: UserCommand::Update(update), .. }) = command else {
            panic!()
        };
        assert_eq!((update.enabled, update.display_name, update.password_stdin), (Some(false), None, false));
        assert!(parse(&["user", "update", "--name", "alice", "--password-stdin"]).unwrap().reads_stdin());
        assert!(parse(&["user", "update", "--name", "alice"]).is_err(), "nothing to update");
        assert!(parse(&["user", "update", "--name", "alice", "--enabled", "maybe"]).is_err());
        assert!(matches!(
            parse(&["user", "list"]).unwrap(),
            ClientCommand::User(UserArgs { command: UserCommand::List, .. })
        ));
        assert!(matches!(
            parse(&["user", "show", "--name", "alice"]).unwrap(),
            ClientCommand::User(UserArgs { command: UserCommand::Show(Named { name }), .. }) if name == "alice"
        ));
        assert!(matches!(
            parse(&["user", "delete", "--name", "alice", "--yes"]).unwrap(),
            ClientCommand::User(UserArgs { command: UserCommand::Delete(NamedDelete { yes: true, .. }), .. })
        ));
    }

    #[test]
    fn group_and_member_commands() {
        let ClientCommand::Group(GroupArgs { command: GroupCommand::Create(create), .. }) =
            parse(&["group", "create", "--name", "devs", "--description", "Developers"]).unwrap()
        else {
            panic!()
        };
        assert_eq!((create.name.as_str(), create.description.as_deref()), ("devs", Some("Developers")));
        let ClientCommand::Group(GroupArgs {
            command: GroupCommand::Member(MemberArgs { command: MemberCommand::Add(add) }),
            ..
        }) = parse(&["group", "member", "add", "--group", "devs", "--member", "alice"]).unwrap()
        else {
            panic!("group member add expected")
        };
        assert_eq!((add.group.as_str(), add.member.as_str()), ("devs", "alice"));
        assert!(matches!(
            parse(&["group", "member", "remove", "-g", "devs", "-m", "ci"]).unwrap(),
            ClientCommand::Group(GroupArgs {
                command: GroupCommand::Member(MemberArgs { command: MemberCommand::Remove(_) }),
                ..
            })
        ));
        assert!(matches!(
            parse(&["group", "member", "list", "--group", "devs"]).unwrap(),
            ClientCommand::Group(GroupArgs {
                command: GroupCommand::Member(MemberArgs { command: MemberCommand::List(GroupName { group }) }),
                ..
            }) if group == "devs"
        ));
        assert!(parse(&["group", "member", "add", "--group", "devs"]).is_err(), "--member is required");
        assert!(matches!(
            parse(&["group", "list"]).unwrap(),
            ClientCommand::Group(GroupArgs { command: GroupCommand::List, .. })
        ));
    }

    #[test]
    fn sp_commands_also_answer_to_service_principal() {
        let ClientCommand::Sp(SpArgs { command: SpCommand::Create(create), .. }) =
            parse(&["sp", "create", "--name", "ci", "--description", "CI", "--secret-expiry", "2027-06-30"])
                .unwrap()
        else {
            panic!("sp create expected")
        };
        assert_eq!(create.secret_expiry, Some("2027-06-30T00:00:00Z".parse().unwrap()));
        assert!(matches!(
            parse(&["service-principal", "list"]).unwrap(),
            ClientCommand::Sp(SpArgs { command: SpCommand::List, .. })
        ));
        assert!(parse(&["sp", "create", "--name", "ci", "--secret-expiry", "soon"]).is_err());
        assert!(parse(&["sp", "update", "--name", "ci"]).is_err(), "nothing to update");
        let ClientCommand::Sp(SpArgs { command: SpCommand::Update(update), .. }) =
            parse(&["sp", "update", "--name", "ci", "--enabled", "false"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(update.enabled, Some(false));

        let ClientCommand::Sp(SpArgs {
            command: SpCommand::Credential(SpCredentialArgs { command: SpCredentialCommand::Reset(reset) }),
            ..
        }) = parse(&[
            "sp",
            "credential",
            "reset",
            "--name",
            "ci",
            "--append",
            "--expiry",
            "2027-01-01T12:00:00+01:00",
            "--description",
            "github",
        ])
        .unwrap()
        else {
            panic!("sp credential reset expected")
        };
        assert!(reset.append);
        assert_eq!(reset.expiry, Some("2027-01-01T11:00:00Z".parse().unwrap()));
        assert_eq!(reset.description.as_deref(), Some("github"));
        assert!(matches!(
            parse(&["sp", "credential", "delete", "--name", "ci", "--key-id", "k1"]).unwrap(),
            ClientCommand::Sp(SpArgs {
                command: SpCommand::Credential(SpCredentialArgs {
                    command: SpCredentialCommand::Delete(SpCredentialDelete { key_id, .. })
                }),
                ..
            }) if key_id == "k1"
        ));
        assert!(parse(&["sp", "credential", "delete", "--name", "ci"]).is_err(), "--key-id is required");
        assert!(!parse(&["sp", "credential", "list", "--name", "ci"]).unwrap().reads_stdin());
        let ClientCommand::Sp(SpArgs {
            command:
                SpCommand::FederatedCredential(SpFederatedCredentialArgs {
                    command: SpFederatedCredentialCommand::Create(create),
                }),
            ..
        }) = parse(&[
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
        .unwrap()
        else {
            panic!("sp federated-credential create expected")
        };
        assert_eq!(create.subject, "repo:acme/api:ref:refs/heads/*");
        assert!(create.jwks_file.is_none());
        assert!(
            parse(&["sp", "federated-credential", "create", "--name", "ci", "--credential-name", "m"])
                .is_err(),
            "issuer, audience and subject are required"
        );
        assert!(parse(&["sp", "federated-credential", "delete", "--name", "ci"]).is_err());
        let missing = parse(&[
            "sp",
            "federated-credential",
            "create",
            "--name",
            "ci",
            "--credential-name",
            "m",
            "--issuer",
            "https://i",
            "--audience",
            "a",
            "--subject",
            "s",
            "--jwks-file",
            "/nonexistent/jwks.json",
        ]);
        assert!(missing.is_err(), "an unreadable JWKS file is refused at parse time");
    }

    #[test]
    fn role_assignment_commands() {
        let ClientCommand::Role(RoleArgs {
            command: RoleCommand::Assignment(AssignmentArgs { command: AssignmentCommand::Create(create) }),
            ..
        }) = parse(&[
            "role",
            "assignment",
            "create",
            "--assignee",
            "devs",
            "--assignee-kind",
            "group",
            "--role",
            "Container Registry Repository Reader",
            "--condition",
            "x",
            "--condition-version",
            "2.0",
        ])
        .unwrap()
        else {
            panic!("role assignment create expected")
        };
        assert_eq!(create.assignee_kind, Some(AssigneeKind::Group));
        assert_eq!(create.role, "Container Registry Repository Reader");
        assert_eq!(
            (create.condition.as_deref(), create.condition_version.as_deref()),
            (Some("x"), Some("2.0"))
        );
        assert!(parse(&[
            "role",
            "assignment",
            "create",
            "--assignee",
            "a",
            "--assignee-kind",
            "anonymous",
            "--role",
            "r"
        ])
        .is_ok());
        for bad in [
            &["role", "assignment", "create", "--assignee", "a"][..],
            &["role", "assignment", "create", "--assignee", "a", "--role", "r", "--assignee-kind", "robot"],
            &["role", "assignment", "create", "--assignee", "a", "--role", "r", "--condition-version", "2.0"],
            &["role", "assignment", "update", "--ids", "i"],
            &["role", "assignment", "update", "--ids", "i", "--condition", "c", "--remove-condition"],
            &["role", "assignment", "update", "--ids", "i", "--description", "only"],
            &["role", "assignment", "delete"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        let ClientCommand::Role(RoleArgs {
            command: RoleCommand::Assignment(AssignmentArgs { command: AssignmentCommand::List(list) }),
            ..
        }) = parse(&["role", "assignment", "list", "--assignee", "alice", "--repository", "backend/api"])
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (list.assignee.as_deref(), list.role.as_deref(), list.repository.as_deref()),
            (Some("alice"), None, Some("backend/api"))
        );
        assert!(matches!(
            parse(&["role", "assignment", "update", "--ids", "i", "--remove-condition"]).unwrap(),
            ClientCommand::Role(RoleArgs {
                command: RoleCommand::Assignment(AssignmentArgs {
                    command: AssignmentCommand::Update(AssignmentUpdate { remove_condition: true, .. })
                }),
                ..
            })
        ));
        assert!(matches!(
            parse(&["role", "definition", "list", "-o", "table"]).unwrap(),
            ClientCommand::Role(RoleArgs {
                command: RoleCommand::Definition(DefinitionArgs { command: DefinitionCommand::List }),
                ..
            })
        ));
    }

    #[test]
    fn registry_and_check_access() {
        let ClientCommand::Registry(RegistryArgs { command: RegistryCommand::Update(update), .. }) =
            parse(&["registry", "update", "--role-assignment-mode", "rbac-abac"]).unwrap()
        else {
            panic!("registry update expected")
        };
        assert_eq!((update.role_assignment_mode, update.yes), (RoleAssignmentMode::RbacAbac, false));
        assert!(parse(&["registry", "update", "--role-assignment-mode", "abac"]).is_err());
        assert!(parse(&["registry", "update"]).is_err());
        // The subcommand `registry` and the global --registry live side by side.
        let command = parse(&["registry", "show", "--registry", "http://r.example:5000"]).unwrap();
        assert_eq!(command.global().registry.as_str(), "http://r.example:5000");
        let ClientCommand::CheckAccess(check) =
            parse(&["check-access", "--assignee", "alice", "--repository", "samples/x", "-o", "table"])
                .unwrap()
        else {
            panic!("check-access expected")
        };
        assert_eq!((check.assignee.as_str(), check.repository.as_str()), ("alice", "samples/x"));
        assert_eq!(check.global.output, OutputFormat::Table);
        assert!(parse(&["check-access", "--assignee", "alice"]).is_err());
    }
}
