//! Showing a new secret once: the "copy it now" warning, the value with its
//! copy button, where to keep it, and the `docker login` / `podman login`
//! lines that read it without putting it on a command line or in the
//! shell's history. Token passwords, service principal secrets and user
//! passwords all use these, so every login line in the portal is written
//! one way ([`LoginServer::prompted_login`]).

use leptos::{html, prelude::*};

use crate::{
    components::{
        copy::CopyButton,
        ui::{CARD, CODE_BLOCK, HINT, LABEL, PRIMARY},
    },
    model::{Client, LoginServer},
    tokens::model::Timestamp,
};

/// "Copy it now": focused when shown, so a screen reader reads it first.
#[component]
pub fn ShownOnceWarning(what: &'static str) -> impl IntoView {
    let warning = NodeRef::<html::P>::new();
    Effect::new(move |_| {
        if let Some(warning) = warning.get() {
            let _ = warning.focus();
        }
    });
    view! {
        <p node_ref=warning tabindex="-1" role="alert" data-testid="show-once-warning"
            class="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 focus:outline-none">
            <strong>{format!("Copy this {what} now.")}</strong>
            {format!(" It is shown only this once and cannot be retrieved after you close this dialog. If it is lost, make a new {what}.")}
        </p>
    }
    .into_any()
}

/// A secret value with its copy button.
#[component]
pub fn SecretValue(
    label: String,
    value: String,
    what: &'static str,
    testid: &'static str,
    copy_testid: &'static str,
) -> impl IntoView {
    view! {
        <div>
            <div class=LABEL>{label}</div>
            <div class="mt-1 flex items-center gap-2">
                <code class="min-w-0 flex-1 break-all rounded bg-slate-100 px-3 py-2 font-mono text-sm" data-testid=testid>
                    {value.clone()}
                </code>
                <CopyButton text=value what testid=copy_testid />
            </div>
        </div>
    }
    .into_any()
}

/// A shell snippet with its copy button.
#[component]
pub fn Snippet(
    #[prop(into)] label: String,
    snippet: String,
    what: &'static str,
    #[prop(into)] testid: String,
    copy_testid: &'static str,
) -> impl IntoView {
    view! {
        <div>
            <div class="flex items-center justify-between gap-2">
                <span class=LABEL>{label}</span>
                <CopyButton text=snippet.clone() what testid=copy_testid />
            </div>
            <pre class=format!("{CODE_BLOCK} mt-1") data-testid=testid>{snippet}</pre>
        </div>
    }
    .into_any()
}

/// The Docker and Podman login lines for `username`, each with its copy
/// button, and how to use them. `what` names the secret ("password",
/// "client secret"); `variable` is the shell variable the line reads it
/// into.
#[component]
pub fn LoginCommands(
    login: LoginServer,
    username: String,
    variable: &'static str,
    what: &'static str,
) -> impl IntoView {
    let snippets = Client::ALL
        .into_iter()
        .map(|client| {
            let copy_testid = match client {
                Client::Docker => "copy-docker-login",
                Client::Podman => "copy-podman-login",
            };
            view! {
                <Snippet label=format!("Log in with {}", client.title())
                    snippet=login.prompted_login(client, &username, variable) what="login command"
                    testid=format!("{}-login", client.command()) copy_testid />
            }
        })
        .collect_view();
    let insecure = login.docker_needs_insecure_entry().then(|| {
        let entry = format!("\"insecure-registries\": [\"{}\"]", login.host);
        view! {
            <p class=HINT data-testid="docker-insecure-hint">
                "This registry serves plain HTTP. Docker refuses it until its daemon lists it: add "
                <code class="font-mono">{entry}</code>
                " to /etc/docker/daemon.json and restart the daemon. The Podman line already says "
                <code class="font-mono">"--tls-verify=false"</code> "."
            </p>
        }
    });
    view! {
        <div class="space-y-3" data-testid="login-commands">
            {snippets}
            <p class=HINT data-testid="login-hint">
                {format!("Paste a line into a shell and press Enter, then type or paste the {what} and press Enter again. \
                    The shell does not show it and keeps it out of its history, and the client reads it from standard input (")}
                <code>"--password-stdin"</code> "), never from the command line. In a CI job, keep it in the CI system's secret variables and pipe it to "
                <code>"--password-stdin"</code> " the same way."
            </p>
            {insecure}
        </div>
    }
    .into_any()
}

/// A holder's own "Log in" card (My token, My access): whose secret to
/// give, the registry, and the login lines.
#[component]
pub fn LoginSection(
    login: LoginServer,
    username: String,
    variable: &'static str,
    /// "With the token's name and one of its passwords."
    intro: &'static str,
    /// `data-testid` of the registry's name.
    host_testid: &'static str,
) -> impl IntoView {
    let host = login.host.clone();
    view! {
        <section class=format!("{CARD} mt-6") aria-labelledby="login-heading">
            <h2 id="login-heading" class="text-lg font-medium">"Log in"</h2>
            <p class="mt-1 text-sm text-slate-600">
                {intro} " Registry: " <span class="font-mono" data-testid=host_testid>{host}</span>
            </p>
            <div class="mt-3">
                <LoginCommands login username variable what="password" />
            </div>
        </section>
    }
    .into_any()
}

/// A secret just made: the warning, the value, its expiry, where to keep
/// it, the login lines, and Done.
#[component]
pub fn GeneratedCredential(
    /// "password1 of ci-reader", "Client secret 3f2a…".
    label: String,
    value: String,
    /// "password", "client secret".
    what: &'static str,
    /// `data-testid` of the value and of its copy button.
    testid: &'static str,
    copy_testid: &'static str,
    expiry: Option<Timestamp>,
    login: LoginServer,
    /// Who logs in with it.
    username: String,
    /// The shell variable the login lines read it into.
    variable: &'static str,
    done: Callback<()>,
) -> impl IntoView {
    let expiry = match expiry {
        Some(time) => format!("Expires {}.", time.display),
        None => "Never expires.".to_owned(),
    };
    view! {
        <div class="mt-3 space-y-4" data-testid="generated">
            <ShownOnceWarning what />
            <div>
                <SecretValue label value what testid copy_testid />
                <p class=HINT data-testid="generated-expiry">{expiry}</p>
            </div>
            <p class="text-sm text-slate-700" data-testid="secret-storage">
                {format!("Keep the {what} in a secret store or in your CI system's secret variables. \
                    Do not paste it into chat, e-mail or a ticket: whoever reads it can use it until it expires or is deleted.")}
            </p>
            <LoginCommands login username variable what />
            <div class="flex justify-end">
                <button type="button" class=PRIMARY data-testid="generated-done" on:click=move |_| done.run(())>"Done"</button>
            </div>
        </div>
    }
    .into_any()
}
