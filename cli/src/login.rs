//! `portcullis login`, the equivalent of `az acr login`: logs a container
//! client (docker, podman, skopeo, oras) in to the registry as a token, user
//! or service principal, without the password on any command line. The
//! client runs `login --username NAME --password-stdin HOST` and reads the
//! password on its standard input; `--print` prints the line a person runs
//! instead, the shell reading the password without echo (the portal's
//! `LoginServer::prompted_login` and docs/CLIENTS.md spell it the same way).
//!
//! What to run is decided by pure functions ([`plan`], tested as values);
//! [`run`] is the one place that starts the client. Never calls the
//! registry's API.

use std::{ffi::OsString, process::Stdio};

use tokio::io::AsyncWriteExt;

use crate::{
    args::{ContainerClient, LoginArgs, Password, RegistryUrl},
    error::CliError,
};

/// The variable `--print`'s line reads the password into.
const VARIABLE: &str = "REGISTRY_PASSWORD";

/// Where the clients log in: `host[:port]` of `--registry`, and whether it
/// speaks plain HTTP (then podman and skopeo need `--tls-verify=false`,
/// oras `--plain-http`, and docker an `insecure-registries` entry unless
/// the host is a loopback address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginServer {
    pub host: String,
    pub plain_http: bool,
}

impl LoginServer {
    pub fn of(registry: &RegistryUrl) -> Result<Self, CliError> {
        let url = reqwest::Url::parse(registry.as_str())
            .map_err(|error| CliError::Usage(format!("--registry {registry}: {error}")))?;
        if !url.path().trim_end_matches('/').is_empty() {
            return Err(CliError::Usage(format!(
                "--registry {registry} has a path; container clients log in to a host[:port] \
                 that serves /v2/ at its root"
            )));
        }
        let host =
            url.host_str().ok_or_else(|| CliError::Usage(format!("--registry {registry} names no host")))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self { host, plain_http: url.scheme() == "http" })
    }

    /// Docker refuses a plain-HTTP registry unless its daemon lists it in
    /// `insecure-registries`; it treats 127.0.0.0/8, `::1` and `localhost`
    /// as insecure by itself.
    fn docker_needs_insecure_entry(&self) -> bool {
        self.plain_http && !is_loopback(&self.host)
    }
}

/// `host[:port]` names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
}

impl ContainerClient {
    /// The program, as found on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Skopeo => "skopeo",
            Self::Oras => "oras",
        }
    }

    /// The flag that lets the client speak plain HTTP to `server`.
    fn plain_http_flag(self, server: &LoginServer) -> Option<&'static str> {
        match self {
            _ if !server.plain_http => None,
            Self::Podman | Self::Skopeo => Some("--tls-verify=false"),
            Self::Oras => Some("--plain-http"),
            // The daemon decides (see `docker_needs_insecure_entry`).
            Self::Docker => None,
        }
    }
}

/// A client's login command: the program and its arguments. Holds no
/// password by construction; it goes to standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: &'static str,
    pub args: Vec<String>,
}

impl Invocation {
    pub fn new(client: ContainerClient, server: &LoginServer, username: &str) -> Self {
        let mut args = vec!["login".to_owned()];
        args.extend(client.plain_http_flag(server).map(str::to_owned));
        args.extend(["--username".to_owned(), username.to_owned(), "--password-stdin".to_owned()]);
        args.push(server.host.clone());
        Self { program: client.program(), args }
    }

    /// The line a person pastes: `read -rs` takes the password without
    /// echo and out of the shell's history, the client reads it on
    /// standard input.
    pub fn prompted(&self) -> String {
        let words: Vec<String> = self.args.iter().map(|arg| shell_word(arg)).collect();
        format!("read -rs {VARIABLE} && echo \"${VARIABLE}\" | {} {}", self.program, words.join(" "))
    }
}

/// `word` as one shell word: as it is when it holds nothing the shell
/// would interpret, otherwise in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-[]".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What `portcullis login` does.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginPlan {
    /// `--print`: the line for standard output.
    Print { line: String, warning: Option<String> },
    /// Start the client and write the password to its standard input.
    Run { invocation: Invocation, password: Password, warning: Option<String> },
}

/// The plan for `args`; `stdin` is the password read from standard input
/// with `--password-stdin`. Refuses (before anything runs) a missing user
/// name or password, and a password of several lines, which the client
/// would cut at the first.
pub fn plan(args: &LoginArgs, stdin: Option<&Password>) -> Result<LoginPlan, CliError> {
    let server = LoginServer::of(&args.global.registry)?;
    let username = args.global.username.as_deref().ok_or_else(|| {
        CliError::Usage(
            "pass --username (or PORTCULLIS_USERNAME): the token, user or service principal to log in as"
                .to_owned(),
        )
    })?;
    if username.is_empty() || username.starts_with('-') || username.chars().any(char::is_control) {
        return Err(CliError::Usage(format!("{username:?} is not a name to log in as")));
    }
    let invocation = Invocation::new(args.client, &server, username);
    let warning =
        (args.client == ContainerClient::Docker && server.docker_needs_insecure_entry()).then(|| {
            format!(
            "warning: {host} speaks plain HTTP: docker refuses it unless the Docker daemon lists \"{host}\" \
             in \"insecure-registries\" (/etc/docker/daemon.json)\n",
            host = server.host
        )
        });
    if args.print {
        return Ok(LoginPlan::Print { line: invocation.prompted() + "\n", warning });
    }
    let password = match (args.password_stdin, stdin, &args.global.password) {
        (true, Some(password), _) => password.clone(),
        (true, None, _) => return Err(CliError::Usage("no password on standard input".to_owned())),
        (false, _, Some(password)) => password.clone(),
        (false, _, None) => {
            return Err(CliError::Usage(
                "no password: pass --password-stdin and pipe it in, or set PORTCULLIS_PASSWORD \
                 (or --password); or --print the command to run yourself"
                    .to_owned(),
            ))
        }
    };
    if password.expose().is_empty() || password.expose().contains(['\n', '\r']) {
        return Err(CliError::Usage("the password must be one non-empty line".to_owned()));
    }
    Ok(LoginPlan::Run { invocation, password, warning })
}

/// What the client printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    pub stdout: String,
    pub stderr: String,
    /// `None` when it exited 0; otherwise what to say (its own messages
    /// are in `stderr`).
    pub failure: Option<String>,
}

/// Starts the client with `environment` added to this process's (and
/// `PORTCULLIS_PASSWORD` removed: the client has no use for it), writes
/// the password and a line break to its standard input, closes it, and
/// waits for the client to end.
pub async fn run(
    invocation: &Invocation,
    password: &Password,
    environment: &[(OsString, OsString)],
) -> Result<ClientRun, CliError> {
    let program = invocation.program;
    let mut child = tokio::process::Command::new(program)
        .args(&invocation.args)
        .envs(environment.iter().cloned())
        .env_remove("PORTCULLIS_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => CliError::Client(format!(
                "{program} is not installed (not found on PATH); install it, or choose another client \
                 with --client docker|podman|skopeo|oras"
            )),
            _ => CliError::Client(format!("cannot start {program}: {error}")),
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from the secret itself (no copy to wipe). A client that exits
    // before reading closes the pipe; its own messages say why.
    let _ = async {
        stdin.write_all(password.expose().as_bytes()).await?;
        stdin.write_all(b"\n").await?;
        stdin.shutdown().await
    }
    .await;
    drop(stdin);
    let output = child
        .wait_with_output()
        .await
        .map_err(|error| CliError::Client(format!("{program} login did not finish: {error}")))?;
    let failure = (!output.status.success()).then(|| {
        let status = match output.status.code() {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_owned(),
        };
        format!("{program} login failed ({status})")
    });
    Ok(ClientRun {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        failure,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::ClientCommand;

    #[derive(Debug, Parser)]
    #[command(name = "portcullis")]
    struct Cli {
        #[command(subcommand)]
        command: ClientCommand,
    }

    fn plan_of(args: &[&str], stdin: Option<&str>) -> Result<LoginPlan, CliError> {
        let cli = Cli::try_parse_from(std::iter::once("portcullis").chain(args.iter().copied()))
            .unwrap_or_else(|error| panic!("{args:?} parses: {error}"));
        let ClientCommand::Login(login) = cli.command else { panic!("login expected") };
        plan(&login, stdin.map(Password::new).as_ref())
    }

    fn server(host: &str, plain_http: bool) -> LoginServer {
        LoginServer { host: host.into(), plain_http }
    }

    #[test]
    fn the_login_server_is_the_registry_host() {
        let of = |url: &str| LoginServer::of(&url.parse().unwrap());
        assert_eq!(of("http://127.0.0.1:5000").unwrap(), server("127.0.0.1:5000", true));
        assert_eq!(of("https://registry.example/").unwrap(), server("registry.example", false));
        assert_eq!(of("https://registry.example:443").unwrap(), server("registry.example", false));
        assert_eq!(of("https://Registry.Example:8443").unwrap(), server("registry.example:8443", false));
        assert_eq!(of("http://[::1]:5000").unwrap(), server("[::1]:5000", true));
        assert!(matches!(of("https://registry.example/prefix"), Err(CliError::Usage(_))));
    }

    #[test]
    fn each_client_is_told_to_read_the_password_on_stdin() {
        use ContainerClient::*;
        let line = |client, server: &LoginServer| {
            let invocation = Invocation::new(client, server, "MyToken");
            format!("{} {}", invocation.program, invocation.args.join(" "))
        };
        let local = server("127.0.0.1:5000", true);
        assert_eq!(line(Docker, &local), "docker login --username MyToken --password-stdin 127.0.0.1:5000");
        assert_eq!(
            line(Podman, &local),
            "podman login --tls-verify=false --username MyToken --password-stdin 127.0.0.1:5000"
        );
        assert_eq!(
            line(Skopeo, &local),
            "skopeo login --tls-verify=false --username MyToken --password-stdin 127.0.0.1:5000"
        );
        assert_eq!(
            line(Oras, &local),
            "oras login --plain-http --username MyToken --password-stdin 127.0.0.1:5000"
        );
        let tls = server("registry.example", false);
        for client in [Docker, Podman, Skopeo, Oras] {
            let line = line(client, &tls);
            assert!(line.ends_with(" login --username MyToken --password-stdin registry.example"), "{line}");
        }
    }

    #[test]
    fn print_writes_the_portals_prompted_login_and_no_password() {
        // The same line as app::model::LoginServer::prompted_login, with its own variable.
        let printed = plan_of(
            &[
                "login",
                "--client",
                "podman",
                "--print",
                "-u",
                "ci-reader",
                "-p",
                "pct_SECRET",
                "--registry",
                "http://registry.example:5000",
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            printed,
            LoginPlan::Print {
                line: "read -rs REGISTRY_PASSWORD && echo \"$REGISTRY_PASSWORD\" | podman login --tls-verify=false \
                       --username ci-reader --password-stdin registry.example:5000\n"
                    .to_owned(),
                warning: None
            }
        );
        // Docker and a plain-HTTP registry that is not this machine: say what the daemon needs.
        let LoginPlan::Print { line, warning } =
            plan_of(&["login", "--print", "-u", "ci", "--registry", "http://registry.example:5000"], None)
                .unwrap()
        else {
            panic!("print expected")
        };
        assert_eq!(
            line,
            "read -rs REGISTRY_PASSWORD && echo \"$REGISTRY_PASSWORD\" | docker login --username ci --password-stdin registry.example:5000\n"
        );
        assert!(warning.unwrap().contains("\"insecure-registries\""));
        for loopback in [
            "http://127.0.0.1:5000",
            "http://localhost:5000",
            "http://[::1]:5000",
            "https://registry.example",
        ] {
            let Ok(LoginPlan::Print { warning, .. }) =
                plan_of(&["login", "--print", "-u", "ci", "--registry", loopback], None)
            else {
                panic!("print expected")
            };
            assert_eq!(warning, None, "{loopback}");
        }
        // Names the shell would read otherwise are quoted.
        assert_eq!(shell_word("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_word("alice@example.com"), "alice@example.com");
        assert_eq!(shell_word("[::1]:5000"), "[::1]:5000");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }

    #[test]
    fn the_password_comes_from_stdin_or_the_password_option() {
        let LoginPlan::Run { invocation, password, warning } = plan_of(
            &["login", "-u", "MyToken", "--password-stdin", "--client", "skopeo"],
            Some("pct_FROM_STDIN"),
        )
        .unwrap() else {
            panic!("run expected")
        };
        assert_eq!(password.expose(), "pct_FROM_STDIN");
        assert_eq!((invocation.program, warning), ("skopeo", None));
        assert!(!invocation.args.iter().any(|arg| arg.contains("pct_")), "{invocation:?}");
        let Ok(LoginPlan::Run { password, .. }) =
            plan_of(&["login", "-u", "MyToken", "-p", "pct_OPTION"], None)
        else {
            panic!("run expected")
        };
        assert_eq!(password.expose(), "pct_OPTION");
        // --password-stdin wins over --password (e.g. an administrator's PORTCULLIS_PASSWORD).
        let Ok(LoginPlan::Run { password, .. }) = plan_of(
            &["login", "-u", "MyToken", "-p", "admin-password", "--password-stdin"],
            Some("pct_TOKEN"),
        ) else {
            panic!("run expected")
        };
        assert_eq!(password.expose(), "pct_TOKEN");
        assert!(
            !format!("{:?}", plan_of(&["login", "-u", "t", "-p", "pct_HIDDEN"], None)).contains("pct_HIDDEN")
        );
    }

    #[test]
    fn refusals_before_anything_runs() {
        let refused = |args: &[&str], stdin: Option<&str>| match plan_of(args, stdin) {
            Err(CliError::Usage(message)) => message,
            other => panic!("{args:?}: refusal expected, got {other:?}"),
        };
        if std::env::var_os("PORTCULLIS_USERNAME").is_none() {
            assert!(refused(&["login", "-p", "x"], None).contains("--username"));
            assert!(refused(&["login", "--print"], None).contains("--username"));
        }
        if std::env::var_os("PORTCULLIS_PASSWORD").is_none() {
            assert!(refused(&["login", "-u", "t"], None).contains("--password-stdin"));
        }
        assert!(refused(&["login", "-u", "t", "--password-stdin"], None).contains("standard input"));
        assert!(refused(&["login", "-u", "t", "-p", "two\nlines"], None).contains("one non-empty line"));
        assert!(refused(&["login", "--username=--force", "-p", "x"], None).contains("not a name"));
        assert!(refused(&["login", "--username=", "-p", "x"], None).contains("not a name"));
    }

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1:5000", "127.1.2.3", "localhost:5000", "LOCALHOST", "[::1]:5000"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["registry.example:5000", "10.0.0.1:5000", "[2001:db8::1]:5000", "localhost.example"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
