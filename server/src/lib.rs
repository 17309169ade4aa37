//! Portcullis server: the registry data plane, token service, management
//! API and portal mount in one axum application. `main.rs` only parses the
//! command line; `http::build_router` is what tests drive.

// Leptos view types of the portal nest deeply.
#![recursion_limit = "256"]

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod policy;
pub mod portal;
pub mod service;
pub mod storage;

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use crate::{
    auth::{token::TokenSigner, token_password::PasswordHasher},
    config::{Cli, Command, ServeConfig},
    db::Database,
    service::{
        access::{system_clock, AccessService, Clock},
        audit::AuditLog,
        bootstrap::{self, AdminAccount, ServerKey},
        federation::{DiscoveryFetcher, FederationService},
        identities::IdentityService,
        registry::RegistryService,
        repositories::RepositoryAdmin,
        tokens::TokenService,
        users::UserService,
    },
};

/// Shared by every handler: one pointer, so the extractors' clones of it
/// (several per request) cost one reference count each.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// Changes this copy of the state only (set-up code adjusts the portal's
/// options before the router is built): copied first when shared.
impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut SharedState {
        Arc::make_mut(&mut self.0)
    }
}

/// What every handler shares, behind [`AppState`].
#[derive(Clone)]
pub struct SharedState {
    pub db: Database,
    pub sessions: db::sessions::PortalSessions,
    pub registry: Arc<RegistryService>,
    pub access: Arc<AccessService>,
    /// Scope maps and tokens: the management use-cases.
    pub tokens: Arc<TokenService>,
    /// Repository management (details, locks, deletion).
    pub repositories: Arc<RepositoryAdmin>,
    /// People's own accounts (password changes).
    pub users: Arc<UserService>,
    /// Users, groups, service principals, role assignments, the mode.
    pub identities: Arc<IdentityService>,
    pub audit: AuditLog,
    /// What `/metrics` reports.
    pub metrics: Arc<metrics::Metrics>,
    /// Federated credentials and the token exchange.
    pub federation: Arc<FederationService>,
    /// Signs and checks the token endpoint's access and refresh tokens.
    pub signer: Arc<TokenSigner>,
    pub leptos: LeptosOptions,
    /// `host[:port]` users log in to.
    pub login_server: String,
    /// Whether the listener serves HTTPS (session cookies get `Secure`).
    pub tls: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// Every size and rate limit, as configured.
    pub limits: config::Limits,
    /// How long a request body may stall, and how slowly it may arrive.
    pub body_timeouts: http::body_timeout::BodyTimeouts,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot use data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot open the blob store: {0}")]
    Storage(#[from] storage::StorageError),
    #[error("cannot load the TLS certificate or key: {0}")]
    Tls(std::io::Error),
    #[error("cannot prepare the session store: {0}")]
    Sessions(String),
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    #[error("garbage collection failed: {0}")]
    Gc(String),
    #[error("fsck failed: {0}")]
    Fsck(String),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs one command. The management commands print their own errors and
/// choose their exit code (1 refused, 2 registry unreachable).
pub async fn run(cli: Cli) -> Result<ExitCode, ServeError> {
    match cli.command {
        Command::Serve(args) => serve(ServeConfig::from_args(args)?).await.map(|()| ExitCode::SUCCESS),
        Command::Gc(args) => collect_garbage(args).await.map(|()| ExitCode::SUCCESS),
        Command::Fsck(args) => check_blobs(args).await,
        Command::Client(command) => Ok(portcullis_cli::run(command).await),
    }
}

async fn collect_garbage(args: config::GcArgs) -> Result<(), ServeError> {
    let url = args.database_url.as_ref().map(config::DatabaseUrlArg::parse).transpose()?;
    let db = Database::connect(url.as_ref(), &args.data_dir).await?;
    let store = storage::open(&args.storage.settings(&args.data_dir)?).await?;
    let grace = std::time::Duration::from_secs(args.grace_minutes * 60);
    let report = service::gc::GarbageCollector::new(db, store, grace)
        .run(args.dry_run)
        .await
        .map_err(|e| ServeError::Gc(e.to_string()))?;
    let verb = if args.dry_run { "would remove" } else { "removed" };
    println!(
        "gc {verb} {} blobs ({} bytes) and {} abandoned uploads; kept {} blobs",
        report.blobs_removed, report.bytes_freed, report.uploads_removed, report.blobs_kept
    );
    Ok(())
}

/// `portcullis fsck`: the report on stdout, exit 1 when a blob is damaged.
async fn check_blobs(args: config::FsckArgs) -> Result<ExitCode, ServeError> {
    let url = args.database_url.as_ref().map(config::DatabaseUrlArg::parse).transpose()?;
    let db = Database::connect(url.as_ref(), &args.data_dir).await?;
    let store = storage::open(&args.storage.settings(&args.data_dir)?).await?;
    let started = std::time::Instant::now();
    let report =
        service::fsck::Fsck::new(db, store).run().await.map_err(|e| ServeError::Fsck(e.to_string()))?;
    if args.json {
        let mut json = serde_json::to_value(&report).expect("the report serializes");
        json["healthy"] = report.is_healthy().into();
        println!("{json}");
    } else {
        let seconds = started.elapsed().as_secs_f64();
        let mib = report.bytes_checked as f64 / (1024.0 * 1024.0);
        println!(
            "fsck checked {} blobs ({mib:.1} MiB hashed) in {seconds:.1} s: {} damaged, {} files with no row",
            report.blobs_checked,
            report.damaged.len(),
            report.unrecorded.len()
        );
        for blob in &report.damaged {
            let repositories =
                if blob.repositories.is_empty() { "none".to_owned() } else { blob.repositories.join(", ") };
            println!("damaged {}: {}; repositories: {repositories}", blob.digest, blob.damage);
        }
        for file in &report.unrecorded {
            println!("no row {} ({} bytes): `portcullis gc` removes it", file.digest, file.size);
        }
    }
    Ok(if report.is_healthy() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

impl AppState {
    /// Opens the data directory and database and prepares every shared
    /// piece, without binding a socket.
    pub async fn open(
        config: &ServeConfig,
        login_server: String,
    ) -> Result<(Self, AdminAccount), ServeError> {
        Self::open_with_clock(config, login_server, system_clock()).await
    }

    /// [`Self::open`] with the clock that decides password expiry (tests
    /// move it forward).
    pub async fn open_with_clock(
        config: &ServeConfig,
        login_server: String,
        clock: Clock,
    ) -> Result<(Self, AdminAccount), ServeError> {
        create_private_dir(&config.data_dir)
            .map_err(|source| ServeError::DataDir { path: config.data_dir.display().to_string(), source })?;
        let kek = config.key_encryption_key_file.as_deref().map(bootstrap::key_encryption_key).transpose()?;
        let db = Database::connect(config.database_url.as_ref(), &config.data_dir).await?;
        let admin =
            bootstrap::ensure_admin(&db, config.admin_password.as_ref(), config.role_assignment_mode).await?;
        let sessions = db.session_store().await.map_err(ServeError::Sessions)?;
        let store = storage::open(&config.storage).await?;
        let signer = TokenSigner::from_key(
            bootstrap::shared_key(&db, ServerKey::TokenSigning, &config.data_dir, kek.as_ref()).await?,
        );
        let hasher = Arc::new(PasswordHasher::from_key(
            bootstrap::shared_key(&db, ServerKey::TokenPassword, &config.data_dir, kek.as_ref()).await?,
        ));
        let metrics = metrics::Metrics::shared();
        let audit = AuditLog::start_counted(db.clone(), metrics.clone());
        let limits = config.limits;
        let registry = Arc::new(
            RegistryService::new(db.clone(), store).with_max_manifest_bytes(limits.max_manifest_bytes),
        );
        let signer = Arc::new(signer);
        let federation = Arc::new(FederationService::new(
            db.clone(),
            audit.clone(),
            clock.clone(),
            Arc::new(DiscoveryFetcher::new()),
        ));
        let access = Arc::new(
            AccessService::new(db.clone(), hasher.clone(), audit.clone(), clock)
                .with_rate_limits(limits.rate)
                .with_refresh_tokens(signer.clone(), login_server.clone()),
        );
        let leptos = LeptosOptions::builder()
            .output_name("portcullis")
            .site_root(config.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .build();
        let state = Self(Arc::new(SharedState {
            db: db.clone(),
            sessions,
            registry: registry.clone(),
            repositories: Arc::new(RepositoryAdmin::new(db.clone(), registry, audit.clone())),
            access: access.clone(),
            users: Arc::new(UserService::new(db.clone(), audit.clone(), access.clone())),
            identities: Arc::new(IdentityService::new(db.clone(), hasher.clone(), audit.clone(), access)),
            tokens: Arc::new(
                TokenService::new(db.clone(), hasher, audit.clone())
                    .with_max_scope_map_rules(limits.max_scope_map_rules),
            ),
            limits,
            audit,
            metrics,
            signer,
            federation,
            leptos,
            login_server,
            tls: config.tls.is_some(),
            trusted_proxies: config.trusted_proxies.clone().into(),
            body_timeouts: config.body_timeouts,
        }));
        Ok((state, admin))
    }
}

pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    raise_open_files_limit();
    map_large_allocations();
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: config.listen, source })?;
    let bound = listener.local_addr()?;
    let (state, admin) = AppState::open(&config, config.login_server_for(bound)).await?;
    match admin {
        AdminAccount::CreatedWithGeneratedPassword(password) => {
            // Printed to the terminal once, never logged.
            println!(
                "Created the administrator 'admin' with the generated password: {}\n\
                 It is shown only now. Set PORTCULLIS_ADMIN_PASSWORD before the first start to choose it.",
                password.expose()
            );
        }
        AdminAccount::CreatedWithGivenPassword => {
            println!("Created the administrator 'admin' with the password from PORTCULLIS_ADMIN_PASSWORD.");
        }
        AdminAccount::Existing => {}
    }
    spawn_session_cleanup(state.sessions.clone());
    spawn_upload_expiry(state.registry.clone(), config.upload_expiry);
    let audit = state.audit.clone();
    // Every listener stops accepting at SIGTERM/SIGINT and gives requests
    // in flight 10 s to finish.
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    if let Some(address) = config.metrics_listen {
        let listener =
            TcpListener::bind(address).await.map_err(|source| ServeError::Bind { addr: address, source })?;
        let bound = listener.local_addr()?;
        let metrics = http::metrics::open_router(state.clone());
        println!("Portcullis metrics on http://{bound}/metrics");
        let server =
            with_timeouts(axum_server::from_tcp(listener.into_std()?)?.acceptor(NoDelayAcceptor), &config);
        let handle = handle.clone();
        tokio::spawn(async move {
            if let Err(error) = server.handle(handle).serve(metrics.into_make_service()).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let app = http::build_router(state).into_make_service_with_connect_info::<SocketAddr>();
    match &config.tls {
        None => {
            let server = with_timeouts(
                axum_server::from_tcp(listener.into_std()?)?.acceptor(NoDelayAcceptor),
                &config,
            );
            println!("Portcullis {} listening on http://{bound}", env!("CARGO_PKG_VERSION"));
            server.handle(handle).serve(app).await?;
        }
        Some(files) => {
            // ring is the one provider compiled in; installing twice is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                .await
                .map_err(ServeError::Tls)?;
            // The TLS handshake has its own timeout (10 s, axum-server's
            // default); the request head's starts after it.
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor);
            let server =
                with_timeouts(axum_server::from_tcp(listener.into_std()?)?.acceptor(acceptor), &config);
            println!("Portcullis {} listening on https://{bound}", env!("CARGO_PKG_VERSION"));
            server.handle(handle).serve(app).await?;
        }
    }
    // What the audit writer still holds reaches the database before exit.
    audit.flush().await;
    Ok(())
}

/// Answers go out at once: without `TCP_NODELAY`, a small answer written in
/// two parts waited for the client's delayed ACK (Nagle's algorithm), about
/// 40 ms on blob GETs of a few KiB in the soak run (docs/BENCHMARKS.md).
use axum_server::accept::NoDelayAcceptor;

/// A listener's server with the connection timeouts of `config`: a new
/// connection must send its first request head within the header read
/// timeout (which also covers hyper's HTTP/1-or-2 detection, otherwise
/// untimed), and a kept-alive HTTP/1 connection its next one, or it is
/// closed. Request bodies are paced by `http::body_timeout`.
fn with_timeouts<A, Acceptor>(
    mut server: axum_server::Server<A, Acceptor>,
    config: &ServeConfig,
) -> axum_server::Server<A, Acceptor>
where
    A: axum_server::Address,
{
    server.http_builder().http1().header_read_timeout(config.header_read_timeout);
    server.first_request_timeout(config.header_read_timeout)
}

/// Raises this process's soft limit on open files to its hard limit, as
/// Go programs (Distribution among them) do at start: every connection
/// and every blob being served or stored holds a descriptor, and the usual
/// soft limit of 1,024 is reached by a few hundred clients. Failure only
/// leaves the limit as it was.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit only read or write the struct given.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= limit.rlim_max {
                return;
            }
            let before = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                tracing::debug!(before, after = limit.rlim_cur, "raised the open files limit");
            }
        }
    }
}

/// Has glibc map every allocation of 4 MiB or more on its own, so freeing
/// one gives the memory back to the system at once. Such allocations are
/// rare (argon2's 19 MiB block for a person's password; nothing on the data
/// path comes near). By default glibc raises its mapping threshold to the
/// size of the first large block freed, after which blocks of that size
/// land in a heap that does not shrink: a password verifier that let its
/// block go after idling kept the 19 MiB in the process anyway.
///
/// Setting the threshold also stops glibc from raising its trim threshold
/// with it, which stays at 128 KiB: a heap was then given back to the
/// system whenever that much at its top was free, and taken again (page
/// faults, zeroed pages) by the next buffers of a streaming upload. The
/// trim threshold is set to 16 MiB, so the heaps keep what streaming
/// reuses (measured: a 1 GiB monolithic PUT used 15 % less server CPU, the
/// peak RSS the same; docs/BENCHMARKS.md), while argon2's blocks, mapped on
/// their own, still go back at once.
fn map_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes only the allocator's tuning; it is safe to
    // call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

/// Creates the data directory (and its parents) accessible to the owner
/// only; an existing one loses the group's and others' permissions.
fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(path)
}

/// Removes abandoned upload sessions every hour (and once at start), so
/// anyone allowed to start an upload cannot fill the disk with sessions
/// they never finish.
fn spawn_upload_expiry(registry: Arc<RegistryService>, ttl: std::time::Duration) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            match registry.expire_uploads(ttl).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "abandoned upload sessions removed"),
                Err(error) => tracing::error!(%error, "upload expiry failed"),
            }
        }
    });
}

fn spawn_session_cleanup(sessions: db::sessions::PortalSessions) {
    use tower_sessions::session_store::ExpiredDeletion;
    tokio::spawn(async move {
        if let Err(error) = sessions.continuously_delete_expired(tokio::time::Duration::from_secs(600)).await
        {
            tracing::error!(%error, "expired-session cleanup stopped");
        }
    });
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
