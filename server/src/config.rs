//! Command line and environment configuration, parsed and validated once at
//! start. Owns the flag names, their environment variables and defaults; it
//! must not open files, sockets or the database.

use std::{
    fmt,
    net::SocketAddr,
    num::NonZeroU32,
    path::{Path, PathBuf},
};

use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    auth::rate_limit::RateLimitConfig,
    db::DatabaseUrl,
    domain::manifest::{MANIFEST_BYTES_CEILING, MAX_MANIFEST_BYTES},
    http::body_timeout::BodyTimeouts,
    policy::roles::RoleAssignmentMode,
    service::tokens::DEFAULT_MAX_SCOPE_MAP_RULES,
    storage::{S3Settings, StorageSettings},
};

/// `portcullis`: one binary for the registry, its portal and its tools.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "A self-hosted OCI container registry with repository-scoped tokens.",
    long_about = "A self-hosted OCI container registry with repository-scoped tokens.\n\n\
        `portcullis serve` starts the registry, its token service, the management API \
        and the web portal on one listener. Every flag can also be given by the \
        environment variable shown next to it."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the registry and the portal.
    Serve(ServeArgs),
    /// Remove blobs no manifest references and abandoned uploads. Safe
    /// while the registry is serving: recent content is always kept.
    Gc(GcArgs),
    /// Check that every blob the database records is whole in the blob
    /// store (present, of its recorded size, hashing to its digest); list
    /// files no row records. Changes nothing; safe while the registry is
    /// serving. Exits 1 when a blob is damaged.
    Fsck(FsckArgs),
    // The management commands (scope-map, token, repository, audit): a
    // client of a running registry's API.
    #[command(flatten)]
    Client(portcullis_cli::ClientCommand),
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// The data directory of the registry to collect.
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The database: `postgres://USER:PASSWORD@HOST:PORT/NAME` (several
    /// replicas share one) or `sqlite://PATH`. Default: the SQLite file
    /// `portcullis.db` in the data directory.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrlArg>,

    /// Report what would be removed without removing it.
    #[arg(long)]
    pub dry_run: bool,

    /// Content touched within this many minutes is kept (an upload in
    /// progress references its layers only once its manifest arrives).
    #[arg(long, default_value_t = 60)]
    pub grace_minutes: u64,

    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Debug, Args)]
pub struct FsckArgs {
    /// The data directory of the registry to check.
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The database: `postgres://USER:PASSWORD@HOST:PORT/NAME` (several
    /// replicas share one) or `sqlite://PATH`. Default: the SQLite file
    /// `portcullis.db` in the data directory.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrlArg>,

    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Where the blobs live; `serve`, `gc` and `fsck` take the same flags.
#[derive(Debug, Args, Clone, PartialEq, Eq)]
#[command(next_help_heading = "Blob storage")]
pub struct StorageArgs {
    /// Where blobs are stored: a local directory, or `s3://bucket/prefix`
    /// for an S3-compatible bucket that several replicas share (credentials
    /// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance
    /// role). Default: the data directory.
    #[arg(long, env = "PORTCULLIS_STORAGE")]
    pub storage: Option<String>,

    /// The URL of the S3 server, for anything but AWS S3 itself (Garage,
    /// MinIO, Ceph...): requests then use path-style addressing.
    #[arg(long, env = "PORTCULLIS_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The S3 region (Garage's default is `garage`).
    #[arg(long, env = "PORTCULLIS_S3_REGION", default_value = S3Settings::DEFAULT_REGION)]
    pub s3_region: String,

    /// Answer blob downloads with a redirect to a presigned URL of the
    /// bucket (valid 5 minutes) instead of streaming them through the
    /// registry; clients must reach the S3 endpoint themselves. The
    /// registry still decides who may pull.
    #[arg(long, env = "PORTCULLIS_S3_REDIRECT")]
    pub s3_redirect: bool,
}

impl StorageArgs {
    /// The validated storage settings; `data_dir` is the default directory.
    pub fn settings(&self, data_dir: &Path) -> Result<StorageSettings, ConfigError> {
        let invalid = |reason: String| ConfigError::StorageInvalid(reason);
        let Some(storage) = self.storage.as_deref().filter(|storage| storage.starts_with("s3://")) else {
            if self.s3_endpoint.is_some() {
                return Err(invalid("--s3-endpoint needs an s3://bucket/prefix --storage".into()));
            }
            if self.s3_redirect {
                return Err(invalid("--s3-redirect needs an s3://bucket/prefix --storage".into()));
            }
            let root = self.storage.as_deref().map_or_else(|| data_dir.to_owned(), PathBuf::from);
            return Ok(StorageSettings::Directory(root));
        };
        let mut s3 = S3Settings::from_url(storage).map_err(invalid)?;
        if let Some(endpoint) = &self.s3_endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(invalid(format!(
                    "--s3-endpoint must be an http:// or https:// URL, got {endpoint:?}"
                )));
            }
            s3.endpoint = Some(endpoint.trim_end_matches('/').to_owned());
        }
        if self.s3_region.is_empty() {
            return Err(invalid("--s3-region must not be empty".into()));
        }
        s3.region = self.s3_region.clone();
        s3.redirect = self.s3_redirect;
        Ok(StorageSettings::S3(s3))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Use 0.0.0.0:5000 to accept connections
    /// from other machines; port 0 picks a free port (the address is printed).
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,

    /// Directory for the SQLite database and the blobs. Created when missing.
    #[arg(long, env = "PORTCULLIS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The database: `postgres://USER:PASSWORD@HOST:PORT/NAME` (several
    /// replicas share one) or `sqlite://PATH`. Default: the SQLite file
    /// `portcullis.db` in the data directory.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrlArg>,

    /// Password for the `admin` user, used only when the first administrator
    /// is created. Without it a password is generated and printed once.
    #[arg(long, env = "PORTCULLIS_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<AdminPassword>,

    /// File holding the key-encryption key: 64 hexadecimal characters (32
    /// random bytes, e.g. from `openssl rand -hex 32`). With it the
    /// registry's own keys are stored in the database encrypted with this
    /// key (existing ones are encrypted at the next start); every replica
    /// needs the same file. Without it they are stored unencrypted.
    #[arg(long, env = "PORTCULLIS_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,

    /// The permissions mode of a new registry, set at its first start:
    /// `rbac-abac` (registry roles plus repository conditions) or `rbac`
    /// (registry-wide roles only). Ignored afterwards: change it with
    /// `portcullis registry update --role-assignment-mode`.
    #[arg(long, env = "PORTCULLIS_ROLE_ASSIGNMENT_MODE", default_value = "rbac-abac")]
    pub role_assignment_mode: RoleAssignmentMode,

    /// The registry address users type in `docker login` and image names
    /// (host[:port]). Defaults to the listen address.
    #[arg(long, env = "PORTCULLIS_LOGIN_SERVER")]
    pub login_server: Option<String>,

    /// PEM certificate chain: serve HTTPS directly (with --tls-key).
    /// Without it the server speaks plain HTTP, fine on localhost.
    #[arg(long, env = "PORTCULLIS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "PORTCULLIS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Addresses of reverse proxies in front of the registry whose
    /// `X-Forwarded-For` header names the real client (comma-separated IP
    /// addresses). Sign-in throttling counts failures per user name and
    /// client address; without this, the proxy's address is the client's.
    #[arg(long = "trusted-proxy", env = "PORTCULLIS_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Upload sessions not finished this many hours after they started are
    /// removed, with their bytes (checked every hour).
    #[arg(long, env = "PORTCULLIS_UPLOAD_EXPIRY_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_expiry_hours: u64,

    /// Also serve `/metrics` (Prometheus), without credentials, on this
    /// address only the monitoring network reaches, e.g. 127.0.0.1:9090.
    /// Without it `/metrics` is on the main listener and needs credentials
    /// with read access to the configuration.
    #[arg(long, env = "PORTCULLIS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// A connection must send a whole request head within this many
    /// seconds of opening (or of its previous answer, when kept alive),
    /// or it is closed: idle and stalled connections do not pile up.
    #[arg(long, env = "PORTCULLIS_HEADER_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,

    /// A request body that sends no byte for this many seconds is cut off
    /// (an upload keeps what arrived and can be resumed).
    #[arg(long, env = "PORTCULLIS_BODY_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_idle_timeout_secs: u64,

    /// The least average rate of a request body in bytes per second, after
    /// an allowance of --body-idle-timeout-secs; slower bodies are cut off.
    /// 0 checks only idleness.
    #[arg(long, env = "PORTCULLIS_BODY_MIN_RATE", default_value_t = 500)]
    pub body_min_rate: u64,

    /// Directory holding the portal's compiled assets (pkg/ with the wasm,
    /// JavaScript and CSS that cargo-leptos builds).
    #[arg(long, env = "PORTCULLIS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    #[command(flatten)]
    pub storage: StorageArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Every size and rate limit the registry enforces, in one place.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// The largest manifest accepted, in bytes (Distribution's limit, 4 MiB,
    /// by default; at most 64 MiB). Larger ones are refused with 413.
    #[arg(long, env = "PORTCULLIS_MAX_MANIFEST_BYTES", default_value_t = MAX_MANIFEST_BYTES as u64,
        value_parser = clap::value_parser!(u64).range(1024..=MANIFEST_BYTES_CEILING as u64))]
    pub max_manifest_bytes: u64,

    /// The largest JSON body the management API reads, in bytes (an access
    /// file for `portcullis apply` with thousands of tokens fits in the
    /// default). Larger ones are refused with 413.
    #[arg(long, env = "PORTCULLIS_MAX_API_BODY_BYTES", default_value_t = DEFAULT_MAX_API_BODY_BYTES,
        value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub max_api_body_bytes: u64,

    /// The most repository rules one scope map may hold (the cloud
    /// registry's documented limit is 500 repositories per scope map).
    #[arg(long, env = "PORTCULLIS_MAX_SCOPE_MAP_RULES", default_value_t = DEFAULT_MAX_SCOPE_MAP_RULES as u64,
        value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_scope_map_rules: u64,

    /// Read operations (GET and HEAD on /v2 and /api/v1) each token, user,
    /// service principal, and each address calling anonymously, may make a
    /// minute; 0 for no limit. Over it: 429 TOOMANYREQUESTS with
    /// Retry-After. A whole minute's worth may come at once.
    #[arg(long, env = "PORTCULLIS_RATE_LIMIT_READS", default_value_t = DEFAULT_READS_PER_MINUTE)]
    pub rate_limit_reads: u32,

    /// Write operations (PUT, POST, PATCH, DELETE) a minute, counted the
    /// same way; 0 for no limit.
    #[arg(long, env = "PORTCULLIS_RATE_LIMIT_WRITES", default_value_t = DEFAULT_WRITES_PER_MINUTE)]
    pub rate_limit_writes: u32,
}

/// The API body limit unless configured: 16 MiB.
pub const DEFAULT_MAX_API_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// Reads a minute per caller unless configured (the cloud registry's
/// highest tier allows 10,000).
pub const DEFAULT_READS_PER_MINUTE: u32 = 10_000;
/// Writes a minute per caller unless configured (the cloud registry's
/// highest tier allows 2,000).
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 2_000;

/// [`LimitArgs`], as the services take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_manifest_bytes: usize,
    pub max_api_body_bytes: usize,
    pub max_scope_map_rules: usize,
    pub rate: RateLimitConfig,
}

impl Default for Limits {
    /// The defaults of [`LimitArgs`].
    fn default() -> Self {
        Self {
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_api_body_bytes: DEFAULT_MAX_API_BODY_BYTES as usize,
            max_scope_map_rules: DEFAULT_MAX_SCOPE_MAP_RULES,
            rate: RateLimitConfig {
                reads_per_minute: NonZeroU32::new(DEFAULT_READS_PER_MINUTE),
                writes_per_minute: NonZeroU32::new(DEFAULT_WRITES_PER_MINUTE),
            },
        }
    }
}

impl From<LimitArgs> for Limits {
    fn from(args: LimitArgs) -> Self {
        Self {
            max_manifest_bytes: args.max_manifest_bytes as usize,
            max_api_body_bytes: args.max_api_body_bytes as usize,
            max_scope_map_rules: args.max_scope_map_rules as usize,
            rate: RateLimitConfig {
                reads_per_minute: NonZeroU32::new(args.rate_limit_reads),
                writes_per_minute: NonZeroU32::new(args.rate_limit_writes),
            },
        }
    }
}

/// The first administrator's password as given by the operator. Never
/// printed (`Debug` is redacted), wiped from memory when dropped.
#[derive(Clone)]
pub struct AdminPassword(SecretString);

impl AdminPassword {
    pub const MIN_LEN: usize = 12;

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::str::FromStr for AdminPassword {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.chars().count() < Self::MIN_LEN {
            return Err(format!("the admin password must have at least {} characters", Self::MIN_LEN));
        }
        Ok(Self(s.into()))
    }
}

impl fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminPassword(<redacted>)")
    }
}

/// Everything `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where the blobs live (by default the data directory).
    pub storage: StorageSettings,
    /// `None`: the data directory's SQLite file.
    pub database_url: Option<DatabaseUrl>,
    pub admin_password: Option<AdminPassword>,
    /// Encrypts the registry's keys in the database; read at start
    /// (`service::bootstrap::key_encryption_key`), not here.
    pub key_encryption_key_file: Option<PathBuf>,
    /// The permissions mode of a new registry.
    pub role_assignment_mode: RoleAssignmentMode,
    /// `host[:port]` shown to users; resolved against the bound address when
    /// not configured (see [`ServeConfig::login_server_for`]).
    pub login_server: Option<String>,
    pub site_root: PathBuf,
    pub tls: Option<TlsFiles>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long an upload session may stay unfinished.
    pub upload_expiry: std::time::Duration,
    /// Where `/metrics` is served without credentials, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    pub limits: Limits,
    /// How long a connection may take to send a request head.
    pub header_read_timeout: std::time::Duration,
    /// How long request bodies may stall, and how slow they may be.
    pub body_timeouts: BodyTimeouts,
}

/// Certificate and key files for HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--login-server must be host or host:port without a scheme or path, got {0:?}")]
    LoginServerInvalid(String),
    #[error("--storage: {0}")]
    StorageInvalid(String),
    /// Says what is wrong with the URL, its password hidden.
    #[error("--database-url: {0}")]
    DatabaseUrlInvalid(String),
}

/// `--database-url` as given. clap takes any text: its refusal would print
/// the value, password and all; [`DatabaseUrlArg::parse`] refuses with the
/// password hidden instead.
#[derive(Clone)]
pub struct DatabaseUrlArg(SecretString);

impl std::str::FromStr for DatabaseUrlArg {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.into()))
    }
}

impl fmt::Debug for DatabaseUrlArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrlArg(<redacted>)")
    }
}

impl DatabaseUrlArg {
    pub fn parse(&self) -> Result<DatabaseUrl, ConfigError> {
        self.0.expose_secret().parse().map_err(ConfigError::DatabaseUrlInvalid)
    }
}

impl ServeConfig {
    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let login_server = match args.login_server {
            Some(raw) => Some(validate_login_server(&raw)?),
            None => None,
        };
        let storage = args.storage.settings(&args.data_dir)?;
        Ok(Self {
            listen: args.listen,
            storage,
            data_dir: args.data_dir,
            database_url: args.database_url.as_ref().map(DatabaseUrlArg::parse).transpose()?,
            admin_password: args.admin_password,
            key_encryption_key_file: args.key_encryption_key_file,
            role_assignment_mode: args.role_assignment_mode,
            login_server,
            site_root: args.site_root,
            trusted_proxies: args.trusted_proxies,
            upload_expiry: std::time::Duration::from_secs(args.upload_expiry_hours * 3600),
            metrics_listen: args.metrics_listen,
            limits: args.limits.into(),
            header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout_secs),
            body_timeouts: BodyTimeouts {
                idle: std::time::Duration::from_secs(args.body_idle_timeout_secs),
                min_rate: args.body_min_rate,
            },
            tls: match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                _ => None,
            },
        })
    }

    /// The login server once the socket is bound (port 0 becomes the real
    /// port; an unspecified address becomes `localhost`).
    pub fn login_server_for(&self, bound: SocketAddr) -> String {
        if let Some(configured) = &self.login_server {
            return configured.clone();
        }
        if bound.ip().is_unspecified() {
            format!("localhost:{}", bound.port())
        } else {
            bound.to_string()
        }
    }
}

fn validate_login_server(raw: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::LoginServerInvalid(raw.to_owned());
    let host = raw.trim();
    if host.is_empty() || host.contains("://") || host.contains('/') || host.contains(char::is_whitespace) {
        return Err(invalid());
    }
    if let Some((_, port)) = host.rsplit_once(':') {
        if !host.starts_with('[') || host.contains("]:") {
            port.parse::<u16>().map_err(|_| invalid())?;
        }
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("portcullis").chain(args.iter().copied()))
    }

    #[test]
    fn a_database_url_is_checked_without_showing_its_password() {
        let Command::Serve(args) =
            parse(&["serve", "--database-url", "mysql://u:leak-me@h/d"]).unwrap().command
        else {
            panic!("serve")
        };
        assert!(!format!("{args:?}").contains("leak-me"));
        let error = ServeConfig::from_args(args).unwrap_err().to_string();
        assert!(error.starts_with("--database-url: ") && !error.contains("leak-me"), "{error}");
        let Command::Serve(args) =
            parse(&["serve", "--database-url", "postgres://u:leak-me@h/d"]).unwrap().command
        else {
            panic!("serve")
        };
        let config = ServeConfig::from_args(args).unwrap();
        assert!(matches!(config.database_url, Some(DatabaseUrl::Postgres { .. })));
        assert!(!format!("{config:?}").contains("leak-me"));
    }

    fn serve_args(args: &[&str]) -> ServeArgs {
        let mut full = vec!["serve"];
        full.extend_from_slice(args);
        match parse(&full).expect("parses").command {
            Command::Serve(args) => args,
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_safe() {
        // Only meaningful when the environment does not override them.
        if std::env::vars().any(|(k, _)| k.starts_with("PORTCULLIS_")) {
            return;
        }
        let args = serve_args(&[]);
        assert_eq!(args.listen, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(args.data_dir, PathBuf::from("./data"));
        assert!(args.admin_password.is_none());
        assert_eq!(args.site_root, PathBuf::from("target/site"));
    }

    #[test]
    fn flags_override_defaults() {
        let args = serve_args(&[
            "--listen",
            "0.0.0.0:8443",
            "--data-dir",
            "/srv/registry",
            "--admin-password",
            "correct horse battery",
            "--login-server",
            "registry.example.com",
        ]);
        assert_eq!(args.listen, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(args.data_dir, PathBuf::from("/srv/registry"));
        assert_eq!(args.admin_password.unwrap().expose(), "correct horse battery");
        let config =
            ServeConfig::from_args(serve_args(&["--login-server", "registry.example.com:443"])).unwrap();
        assert_eq!(config.login_server.as_deref(), Some("registry.example.com:443"));
    }

    #[test]
    fn storage_is_the_data_directory_unless_a_directory_or_bucket_is_given() {
        let storage = |args: &[&str]| ServeConfig::from_args(serve_args(args)).map(|config| config.storage);
        if !std::env::vars().any(|(k, _)| k.starts_with("PORTCULLIS_S3") || k == "PORTCULLIS_STORAGE") {
            assert_eq!(
                storage(&["--data-dir", "/srv/registry"]),
                Ok(StorageSettings::Directory("/srv/registry".into()))
            );
        }
        assert_eq!(
            storage(&["--storage", "/mnt/blobs"]),
            Ok(StorageSettings::Directory("/mnt/blobs".into()))
        );
        let Ok(StorageSettings::S3(s3)) = storage(&[
            "--storage",
            "s3://registry-blobs/prod",
            "--s3-endpoint",
            "http://127.0.0.1:3900/",
            "--s3-region",
            "garage",
        ]) else {
            panic!("an s3:// storage is a bucket");
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str(), s3.endpoint.as_deref(), s3.region.as_str()),
            ("registry-blobs", "prod", Some("http://127.0.0.1:3900"), "garage")
        );
        assert_eq!(s3.credentials, None, "credentials come from the AWS variables");
        assert!(!s3.redirect, "blobs stream through the registry unless asked");
        let Ok(StorageSettings::S3(s3)) = storage(&["--storage", "s3://registry-blobs", "--s3-redirect"])
        else {
            panic!("an s3:// storage is a bucket");
        };
        assert!(s3.redirect);
        for wrong in [
            &["--storage", "s3://Bad_Bucket/x"][..],
            &["--storage", "s3://bucket", "--s3-endpoint", "127.0.0.1:3900"],
            &["--storage", "/mnt/blobs", "--s3-endpoint", "http://127.0.0.1:3900"],
            &["--storage", "/mnt/blobs", "--s3-redirect"],
        ] {
            assert!(matches!(storage(wrong), Err(ConfigError::StorageInvalid(_))), "{wrong:?}");
        }
    }

    #[test]
    fn gc_and_fsck_take_the_storage_flags() {
        let Command::Gc(gc) = parse(&["gc", "--storage", "s3://bucket/p"]).unwrap().command else {
            panic!("gc");
        };
        assert!(matches!(gc.storage.settings(&gc.data_dir), Ok(StorageSettings::S3(_))));
        let Command::Fsck(fsck) =
            parse(&["fsck", "--storage", "s3://bucket/p", "--s3-region", "garage"]).unwrap().command
        else {
            panic!("fsck");
        };
        assert_eq!(fsck.storage.s3_region, "garage");
    }

    #[test]
    fn the_key_encryption_key_file_is_a_flag_or_its_environment_variable() {
        let config =
            ServeConfig::from_args(serve_args(&["--key-encryption-key-file", "/run/secrets/kek"])).unwrap();
        assert_eq!(config.key_encryption_key_file, Some(PathBuf::from("/run/secrets/kek")));
        // The environment variable is checked on the parser rather than by
        // setting it: tests share the process's environment.
        use clap::CommandFactory;
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").unwrap();
        let arg = serve.get_arguments().find(|arg| arg.get_id() == "key_encryption_key_file").unwrap();
        assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE")));
        assert_eq!(arg.get_long(), Some("key-encryption-key-file"));
        if std::env::var_os("PORTCULLIS_KEY_ENCRYPTION_KEY_FILE").is_none() {
            assert_eq!(serve_args(&[]).key_encryption_key_file, None);
        }
    }

    #[test]
    fn the_admin_password_never_shows_in_debug_output() {
        let args = serve_args(&["--admin-password", "correct horse battery"]);
        assert!(!format!("{args:?}").contains("correct horse"), "{args:?}");
        let config = ServeConfig::from_args(args).unwrap();
        assert!(!format!("{config:?}").contains("correct horse"), "{config:?}");
        assert!(format!("{config:?}").contains("AdminPassword(<redacted>)"));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let err = parse(&["serve", "--listen", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = parse(&["serve", "--admin-password", "short"]).unwrap_err();
        assert!(err.to_string().contains("at least 12 characters"), "{err}");
        for bad in ["https://registry.example.com", "host/path", "host:port", "", "a b"] {
            let result = ServeConfig::from_args(serve_args(&["--login-server", bad]));
            assert_eq!(result.unwrap_err(), ConfigError::LoginServerInvalid(bad.to_owned()));
        }
        assert!(parse(&["frobnicate"]).is_err());
        let err = parse(&["serve", "--tls-cert", "cert.pem"]).unwrap_err();
        assert!(err.to_string().contains("--tls-key"), "{err}");
    }

    #[test]
    fn timeouts_have_defaults_and_take_flags() {
        if std::env::vars().any(|(k, _)| k.starts_with("PORTCULLIS_")) {
            return;
        }
        let config = ServeConfig::from_args(serve_args(&[])).unwrap();
        assert_eq!(config.header_read_timeout, std::time::Duration::from_secs(30));
        assert_eq!(
            config.body_timeouts,
            BodyTimeouts { idle: std::time::Duration::from_secs(60), min_rate: 500 }
        );
        let config = ServeConfig::from_args(serve_args(&[
            "--header-read-timeout-secs",
            "2",
            "--body-idle-timeout-secs",
            "3",
            "--body-min-rate",
            "0",
        ]))
        .unwrap();
        assert_eq!(config.header_read_timeout, std::time::Duration::from_secs(2));
        assert_eq!(
            config.body_timeouts,
            BodyTimeouts { idle: std::time::Duration::from_secs(3), min_rate: 0 }
        );
        assert!(parse(&["serve", "--header-read-timeout-secs", "0"]).is_err());
    }

    #[test]
    fn tls_needs_both_files() {
        let config =
            ServeConfig::from_args(serve_args(&["--tls-cert", "/c.pem", "--tls-key", "/k.pem"])).unwrap();
        assert_eq!(config.tls, Some(TlsFiles { cert: "/c.pem".into(), key: "/k.pem".into() }));
    }

    #[test]
    fn gc_takes_its_options() {
        let Command::Gc(args) =
            parse(&["gc", "--data-dir", "/d", "--dry-run", "--grace-minutes", "5"]).unwrap().command
        else {
            panic!("gc expected")
        };
        assert_eq!(args.data_dir, PathBuf::from("/d"));
        assert!(args.dry_run);
        assert_eq!(args.grace_minutes, 5);
        assert!(parse(&["gc", "--grace-minutes", "soon"]).is_err());
    }

    #[test]
    fn limits_default_as_documented_and_zero_turns_a_rate_limit_off() {
        let config = ServeConfig::from_args(serve_args(&[])).unwrap();
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.limits.max_manifest_bytes, 4 * 1024 * 1024);
        assert_eq!(config.limits.max_scope_map_rules, 500);
        let config = ServeConfig::from_args(serve_args(&[
            "--max-manifest-bytes",
            "8388608",
            "--max-scope-map-rules",
            "20",
            "--rate-limit-reads",
            "0",
            "--rate-limit-writes",
            "30",
        ]))
        .unwrap();
        assert_eq!(config.limits.max_manifest_bytes, 8 * 1024 * 1024);
        assert_eq!(config.limits.max_scope_map_rules, 20);
        assert_eq!(config.limits.rate.reads_per_minute, None);
        assert_eq!(config.limits.rate.writes_per_minute.map(NonZeroU32::get), Some(30));
        assert!(parse(&["serve", "--max-manifest-bytes", "999999999999"]).is_err());
        assert!(parse(&["serve", "--max-scope-map-rules", "0"]).is_err());
    }

    #[test]
    fn fsck_takes_its_options() {
        let Command::Fsck(args) = parse(&["fsck", "--data-dir", "/d", "--json"]).unwrap().command else {
            panic!("fsck expected")
        };
        assert_eq!(args.data_dir, PathBuf::from("/d"));
        assert!(args.json);
    }

    #[test]
    fn admin_password_never_shows_in_debug() {
        let args = serve_args(&["--admin-password", "super-secret-password"]);
        let rendered = format!("{args:?}");
        assert!(!rendered.contains("super-secret-password"), "{rendered}");
    }

    #[test]
    fn login_server_follows_the_bound_socket() {
        let config = ServeConfig::from_args(serve_args(&[])).unwrap();
        let config = ServeConfig { login_server: None, ..config };
        assert_eq!(config.login_server_for("127.0.0.1:41234".parse().unwrap()), "127.0.0.1:41234");
        assert_eq!(config.login_server_for("0.0.0.0:5000".parse().unwrap()), "localhost:5000");
        let configured = ServeConfig { login_server: Some("cr.example.com".into()), ..config };
        assert_eq!(configured.login_server_for("0.0.0.0:5000".parse().unwrap()), "cr.example.com");
    }
}
