//! Types shared by the server and the browser. Nothing here is secret
//! except `Password` (the API's wire type), whose `Debug` is redacted and
//! which is only ever sent from the browser to the server.

pub use portcullis_proto::{Password, RepositoryActions as Grant};
use serde::{Deserialize, Serialize};

/// Where `docker login` and `podman login` go, and how: every login line
/// the portal shows is written here, so each works as pasted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginServer {
    /// `host[:port]`.
    pub host: String,
    /// The registry serves plain HTTP: podman then needs
    /// `--tls-verify=false`, Docker an `insecure-registries` entry unless
    /// the host is a loopback address, and URLs start with `http://`.
    pub plain_http: bool,
}

impl LoginServer {
    pub fn scheme(&self) -> &'static str {
        if self.plain_http {
            "http"
        } else {
            "https"
        }
    }

    /// `docker` or `podman` login as `username`, the password read from
    /// `$variable` on standard input: the form for a CI job whose secret
    /// variable holds it.
    pub fn login_command(&self, client: Client, username: &str, variable: &str) -> String {
        let tls = match client {
            Client::Podman if self.plain_http => " --tls-verify=false",
            _ => "",
        };
        format!(
            "echo \"${variable}\" | {} login{tls} --username {username} --password-stdin {}",
            client.command(),
            self.host
        )
    }

    /// The line a person pastes: the shell reads the password without
    /// echoing it (`read -rs`), then the client reads it on standard input.
    /// The password is never on a command line nor in the shell's history.
    pub fn prompted_login(&self, client: Client, username: &str, variable: &str) -> String {
        format!("read -rs {variable} && {}", self.login_command(client, username, variable))
    }

    /// Docker refuses a plain-HTTP registry unless the daemon lists it in
    /// `insecure-registries`; it treats 127.0.0.0/8 (and `localhost`) as
    /// insecure by itself.
    pub fn docker_needs_insecure_entry(&self) -> bool {
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

/// The container clients the login lines are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Docker,
    Podman,
}

impl Client {
    pub const ALL: [Client; 2] = [Client::Docker, Client::Podman];

    pub fn command(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
        }
    }

    /// "Docker", "Podman".
    pub fn title(self) -> &'static str {
        match self {
            Self::Docker => "Docker",
            Self::Podman => "Podman",
        }
    }
}

/// Who is signed in to the portal: a user (what they may see and change
/// is their [`Capabilities`], decided afresh on every request), or a
/// customer who signed in with a token's name and one of its passwords.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub name: String,
    /// For a token holder: the password slot used, re-checked on every
    /// request (a disabled token or an expired or regenerated password
    /// ends the session).
    #[serde(default)]
    pub token: Option<TokenCredential>,
}

impl SignedInUser {
    pub fn is_token(&self) -> bool {
        self.token.is_some()
    }
}

/// Which generation of which password slot a token holder signed in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCredential {
    pub slot: u8,
    pub serial: i64,
}

/// The customer's view of their own token (SPEC §2 item 8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyToken {
    pub name: String,
    pub enabled: bool,
    pub scope_map: String,
    pub login: LoginServer,
    pub passwords: Vec<MyPassword>,
    /// The scope map's rules: pattern and actions.
    pub grants: Vec<Grant>,
    /// Repositories the token may list (metadata/read), with their tags.
    pub repositories: Vec<ReadableRepository>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyPassword {
    pub name: portcullis_proto::PasswordSlot,
    pub created: String,
    /// `None`: never expires.
    pub expiry: Option<String>,
    /// Expires within two weeks.
    pub expires_soon: bool,
    /// The one this session signed in with.
    pub in_use: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadableRepository {
    pub name: String,
    pub tags: Vec<String>,
    /// Whether the token may pull (content/read) from it.
    pub can_pull: bool,
}

/// A signed-in user's own view (the "My access" page): their roles, what
/// they can reach with them, and how to log in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyAccess {
    pub name: String,
    pub login: LoginServer,
    pub roles: Vec<MyRole>,
    /// Repositories the user may list, with the actions they hold there.
    pub repositories: Vec<MyRepository>,
    /// The list stopped at the limit: there are more.
    pub truncated: bool,
}

/// One role assignment that applies to the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRole {
    pub role: String,
    /// How it reaches the user: `None` assigned to them, else the group's
    /// name or "Everyone (anonymous)".
    pub via: Option<String>,
    /// The repository condition, as the CLI prints it.
    pub condition: Option<String>,
    /// Whether the registry's mode honours it now.
    pub honoured: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRepository {
    pub name: String,
    pub actions: Vec<portcullis_proto::Action>,
    pub tags: Vec<String>,
}

impl MyRepository {
    pub fn can(&self, action: portcullis_proto::Action) -> bool {
        self.actions.contains(&action)
    }
}

/// A part of the registry's administration, as the server's control-plane
/// roles divide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Area {
    /// Settings, tokens, scope maps (and the repositories' administration).
    Configuration,
    /// Users, groups, service principals.
    Identities,
    RoleAssignments,
    Audit,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Configuration, Area::Identities, Area::RoleAssignments, Area::Audit];
}

/// How far the signed-in user reaches into an [`Area`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reach {
    #[default]
    None,
    Read,
    Write,
}

/// What the signed-in user may see and change in the portal, as the
/// server's access decision gives it now. Pages hide what the user may not
/// do; the server functions refuse it whatever the page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub configuration: Reach,
    pub identities: Reach,
    pub role_assignments: Reach,
    pub audit: Reach,
}

impl Capabilities {
    pub fn reach(&self, area: Area) -> Reach {
        match area {
            Area::Configuration => self.configuration,
            Area::Identities => self.identities,
            Area::RoleAssignments => self.role_assignments,
            Area::Audit => self.audit,
        }
    }

    pub fn with(mut self, area: Area, reach: Reach) -> Self {
        let slot = match area {
            Area::Configuration => &mut self.configuration,
            Area::Identities => &mut self.identities,
            Area::RoleAssignments => &mut self.role_assignments,
            Area::Audit => &mut self.audit,
        };
        *slot = reach;
        self
    }

    pub fn can_read(&self, area: Area) -> bool {
        self.reach(area) >= Reach::Read
    }

    pub fn can_write(&self, area: Area) -> bool {
        self.reach(area) == Reach::Write
    }

    /// Reads some part of the administration: the administrator's pages
    /// are for them; everyone else has "My access".
    pub fn administers(&self) -> bool {
        Area::ALL.into_iter().any(|area| self.can_read(area))
    }
}

/// What a signed-in visitor gets when they open a portal page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAccess {
    Allowed,
    /// Not a page for them; this one is (a token holder's `/` is their
    /// token, a user without administration's `/` is their own access).
    RedirectTo(&'static str),
    /// Their roles do not reach the page's area: they get the refusal
    /// only, with a link to [`PageAccess::home`].
    Refused,
}

/// Where a signed-in visitor starts: a token holder on their token, an
/// administrator on the overview, anyone else on their own access.
pub fn home(user: &SignedInUser, can: &Capabilities) -> &'static str {
    if user.is_token() {
        "/my-token"
    } else if can.administers() {
        "/"
    } else {
        "/my-access"
    }
}

/// Which pages a signed-in visitor may open, decided from the path alone
/// (the server before it renders, the layout in the browser): a token
/// holder its own token only; a user the pages of the areas their roles
/// reach, the overview when they administer anything, and their own pages.
/// The server functions behind each page check again.
pub fn page_access(path: &str, user: &SignedInUser, can: &Capabilities) -> PageAccess {
    let under =
        |prefix: &str| path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'));
    let area = |area: Area| if can.can_read(area) { PageAccess::Allowed } else { PageAccess::Refused };
    let start = home(user, can);
    if path == "/" || path.is_empty() {
        return if start == "/" { PageAccess::Allowed } else { PageAccess::RedirectTo(start) };
    }
    if under("/my-token") {
        return if user.is_token() { PageAccess::Allowed } else { PageAccess::RedirectTo(start) };
    }
    if user.is_token() {
        return PageAccess::Refused;
    }
    if under("/my-access") || under("/account") {
        PageAccess::Allowed
    } else if ["/repositories", "/tokens", "/scope-maps", "/settings"].into_iter().any(under) {
        area(Area::Configuration)
    } else if ["/users", "/groups", "/service-principals"].into_iter().any(under) {
        area(Area::Identities)
    } else if ["/access-control", "/check-access"].into_iter().any(under) {
        area(Area::RoleAssignments)
    } else {
        // Not a page: the router says so.
        PageAccess::Allowed
    }
}

/// What every page needs to know about the visitor's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: Option<SignedInUser>,
    /// Empty for a token holder and a signed-out visitor.
    #[serde(default)]
    pub can: Capabilities,
    /// Sent back with every state-changing request (see the server's CSRF
    /// layer); not a secret from the session's own page.
    pub csrf_token: String,
}

/// The registry overview page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// Where users log in with `docker login`.
    pub login: LoginServer,
    /// Who asks: their login line names them.
    pub user: String,
    pub version: String,
    pub counts: Vec<Count>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub value: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_read_what_they_write_and_administer_any_read() {
        let none = Capabilities::default();
        assert!(!none.administers());
        let reader = Area::ALL.into_iter().fold(none, |can, area| can.with(area, Reach::Read));
        assert!(reader.administers());
        assert!(Area::ALL.into_iter().all(|area| reader.can_read(area) && !reader.can_write(area)));
        let identities = none.with(Area::Identities, Reach::Write);
        assert!(identities.can_read(Area::Identities) && identities.can_write(Area::Identities));
        assert!(!identities.can_read(Area::Configuration));
        assert!(identities.administers());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2hunter2");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(p.expose(), "hunter2hunter2");
    }

    fn login(host: &str, plain_http: bool) -> LoginServer {
        LoginServer { host: host.into(), plain_http }
    }

    #[test]
    fn a_person_types_the_password_into_read_and_the_client_takes_it_on_stdin() {
        assert_eq!(
            login("registry.example:5000", true).prompted_login(Client::Podman, "ci-reader", "TOKEN_PWD"),
            "read -rs TOKEN_PWD && echo \"$TOKEN_PWD\" | podman login --tls-verify=false --username ci-reader --password-stdin registry.example:5000"
        );
        assert_eq!(
            login("registry.example", false).prompted_login(Client::Docker, "ci-reader", "TOKEN_PWD"),
            "read -rs TOKEN_PWD && echo \"$TOKEN_PWD\" | docker login --username ci-reader --password-stdin registry.example"
        );
    }

    #[test]
    fn podman_skips_tls_only_on_plain_http_and_docker_never() {
        assert!(!login("r.example", false).login_command(Client::Podman, "u", "P").contains("tls-verify"));
        assert!(login("r.example", true)
            .login_command(Client::Podman, "u", "P")
            .contains("--tls-verify=false"));
        assert!(!login("r.example", true).login_command(Client::Docker, "u", "P").contains("tls-verify"));
    }

    #[test]
    fn docker_needs_an_insecure_entry_for_plain_http_off_loopback_only() {
        for host in ["127.0.0.1:5000", "127.3.2.1", "localhost:5000", "LOCALHOST", "[::1]:5000"] {
            assert!(!login(host, true).docker_needs_insecure_entry(), "{host}");
        }
        for host in ["10.0.0.5:5000", "registry.example", "[2001:db8::1]:5000", "localhost.example"] {
            assert!(login(host, true).docker_needs_insecure_entry(), "{host}");
        }
        assert!(!login("registry.example", false).docker_needs_insecure_entry());
    }

    fn user(name: &str) -> SignedInUser {
        SignedInUser { name: name.into(), token: None }
    }

    #[test]
    fn a_token_holder_opens_its_token_only_and_starts_there() {
        let holder = SignedInUser { name: "ci".into(), token: Some(TokenCredential { slot: 1, serial: 1 }) };
        let none = Capabilities::default();
        assert_eq!(page_access("/", &holder, &none), PageAccess::RedirectTo("/my-token"));
        assert_eq!(page_access("/my-token", &holder, &none), PageAccess::Allowed);
        for path in
            ["/tokens", "/tokens/x", "/account/password", "/my-access", "/settings", "/users", "/nowhere"]
        {
            assert_eq!(page_access(path, &holder, &none), PageAccess::Refused, "{path}");
        }
    }

    #[test]
    fn a_user_opens_the_areas_its_roles_read_and_its_own_pages() {
        let none = Capabilities::default();
        let ana = user("ana");
        assert_eq!(page_access("/", &ana, &none), PageAccess::RedirectTo("/my-access"));
        assert_eq!(page_access("/my-token", &ana, &none), PageAccess::RedirectTo("/my-access"));
        for path in ["/my-access", "/account/password", "/no-such-page"] {
            assert_eq!(page_access(path, &ana, &none), PageAccess::Allowed, "{path}");
        }
        let pages = [
            ("/repositories", Area::Configuration),
            ("/repositories/backend/nginx", Area::Configuration),
            ("/tokens/ci", Area::Configuration),
            ("/scope-maps/new", Area::Configuration),
            ("/settings", Area::Configuration),
            ("/users/bob", Area::Identities),
            ("/groups", Area::Identities),
            ("/service-principals/deploy", Area::Identities),
            ("/access-control/new", Area::RoleAssignments),
            ("/check-access", Area::RoleAssignments),
        ];
        for (path, needed) in pages {
            assert_eq!(page_access(path, &ana, &none), PageAccess::Refused, "{path}");
            for area in Area::ALL {
                let can = none.with(area, Reach::Read);
                let expected = if area == needed { PageAccess::Allowed } else { PageAccess::Refused };
                assert_eq!(page_access(path, &ana, &can), expected, "{path} with {area:?}");
                assert_eq!(page_access("/", &ana, &can), PageAccess::Allowed, "an administrator's overview");
            }
        }
        // A prefix is a whole segment.
        assert_eq!(page_access("/tokensmith", &ana, &none), PageAccess::Allowed);
    }
}
