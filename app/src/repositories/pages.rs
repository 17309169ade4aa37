//! Repository pages (SPEC §2 item 7): the list of every repository with a
//! search filter, and one repository with its pull command, tags,
//! manifests, lock switches, untag and deletions (each behind a
//! confirmation). Data comes from server functions only; browser-only
//! state (dialogs, notices, the filter) starts empty, so the server and the
//! browser render the same HTML.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::{Redirect, A},
    hooks::{use_params_map, use_query_map},
};

use crate::{
    components::{
        copy::CopyField,
        dialog::ConfirmDialog,
        ui::{use_csrf, CARD, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD},
    },
    error::PortalError,
    repositories::{
        api::{
            delete_manifest, delete_repository, get_repository, list_repositories, set_repository_lock, untag,
        },
        model::{
            human_size, human_time, short_digest, LockKind, LockScope, Locks, ManifestInfo, Platform,
            RepositoryDetail, RepositoryRights, RepositorySummary, TagInfo,
        },
    },
};

const BADGE: &str = "inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium";

/// "1 tag", "2 tags".
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn loading() -> impl IntoView {
    view! { <p class="mt-6 text-slate-500" role="status">"Loading…"</p> }
}

fn failure(error: &PortalError) -> impl IntoView {
    view! {
        <p class="mt-6 rounded bg-red-50 px-4 py-3 text-red-800" role="alert" data-testid="page-error">
            {error.to_string()}
        </p>
    }
}

fn time(rfc3339: String) -> impl IntoView {
    view! { <time datetime=rfc3339.clone() title=rfc3339.clone() class="whitespace-nowrap">{human_time(&rfc3339)}</time> }
}

fn size(bytes: Option<i64>, what: &'static str) -> impl IntoView {
    match bytes {
        Some(bytes) => view! {
            <span class="whitespace-nowrap tabular-nums" title=format!("{bytes} bytes ({what})")>{human_size(bytes)}</span>
        }
        .into_any(),
        None => view! { <span class="text-slate-400" title="The content could not be read">"—"</span> }.into_any(),
    }
}

fn platform_chips(platforms: &[Platform]) -> impl IntoView {
    if platforms.is_empty() {
        return view! { <span class="text-slate-400">"—"</span> }.into_any();
    }
    view! {
        <ul class="flex flex-wrap gap-1" aria-label="Platforms">
            {platforms.iter().map(|platform| view! {
                <li class=format!("{BADGE} bg-indigo-50 font-mono text-indigo-800")>{platform.to_string()}</li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

// ---------------------------------------------------------------------------
// The list

fn matches(name: &str, filter: &str) -> bool {
    let filter = filter.trim().to_lowercase();
    filter.is_empty() || name.to_lowercase().contains(&filter)
}

#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| list_repositories());
    let query = use_query_map();
    let deleted = move || query.read().get("deleted");
    let filter = RwSignal::new(String::new());
    view! {
        <Title text="Repositories" />
        <div class="flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"Repositories"</h1>
                <p class="mt-1 text-sm text-slate-600">"Every repository of the registry, unlisted ones included."</p>
            </div>
            <label class="block w-full sm:w-80">
                <span class="sr-only">"Search repositories"</span>
                <input type="search" data-testid="repository-search" placeholder="Search repositories"
                    autocomplete="off" spellcheck="false"
                    class="block w-full rounded border border-slate-300 bg-white px-3 py-2 focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600"
                    on:input=move |ev| filter.set(event_target_value(&ev)) />
            </label>
        </div>
        {move || deleted().map(|name| view! {
            <p class="mt-4 rounded bg-emerald-50 px-4 py-3 text-sm text-emerald-900" role="status" data-testid="notice">
                "Repository " <span class="font-mono">{name}</span> " was deleted."
            </p>
        })}
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class=format!("{CARD} mt-6 text-slate-700") data-testid="repositories-empty">
                            <p class="font-medium">"No repositories yet."</p>
                            <p class="mt-1 text-sm">"Push an image to create one; it appears here with its tags."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! { <RepositoryTable list filter /> }.into_any(),
                    Err(error) => failure(&error).into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RepositoryTable(list: Vec<RepositorySummary>, filter: RwSignal<String>) -> impl IntoView {
    let names: Vec<String> = list.iter().map(|r| r.name.clone()).collect();
    let total = names.len();
    let shown = move || filter.with(|filter| names.iter().filter(|name| matches(name, filter)).count());
    let shown_count = shown.clone();
    view! {
        <p class="mt-4 text-sm text-slate-600" data-testid="repository-count" aria-live="polite">
            {move || {
                let shown = shown_count();
                let noun = if total == 1 { "repository" } else { "repositories" };
                if shown == total { format!("{total} {noun}") } else { format!("{shown} of {total} {noun}") }
            }}
        </p>
        <div class=format!("{TABLE_WRAP} mt-2")>
            <table class=TABLE>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Tags"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Manifests"</th>
                        <th scope="col" class=TH>"Last update"</th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {list.into_iter().map(|repository| {
                        let name = repository.name.clone();
                        let label = repository.name.clone();
                        view! {
                            <tr data-testid="repository-row" data-name=repository.name.clone()
                                class="hover:bg-slate-50" class:hidden=move || !filter.with(|f| matches(&name, f))>
                                <td class=TD_WRAP>
                                    <div class="flex flex-wrap items-center gap-2">
                                        <A href=format!("/repositories/{}", repository.name)
                                            attr:class="break-all font-mono text-blue-700 hover:underline focus:outline-none focus:ring-2 focus:ring-blue-600"
                                            attr:data-testid="repository-link">
                                            {label}
                                        </A>
                                        {(!repository.listed).then(|| view! {
                                            <span class=format!("{BADGE} bg-amber-100 text-amber-900") data-testid="unlisted-badge"
                                                title="listEnabled is off: hidden from the catalog and from listings">"unlisted"</span>
                                        })}
                                    </div>
                                </td>
                                <td class=format!("{TD_WRAP} text-right tabular-nums") data-testid="tag-count">{repository.tag_count}</td>
                                <td class=format!("{TD_WRAP} text-right tabular-nums") data-testid="manifest-count">{repository.manifest_count}</td>
                                <td class=format!("{TD_WRAP} text-slate-700")>
                                    {match repository.last_update {
                                        Some(at) => time(at).into_any(),
                                        None => view! { <span class="text-slate-400">"—"</span> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }.into_any()
                    }).collect_view()}
                    <tr class:hidden=move || shown() != 0>
                        <td colspan="4" class=format!("{TD_WRAP} text-center text-slate-600") data-testid="no-match">
                            "No repository matches the search."
                        </td>
                    </tr>
                </tbody>
            </table>
        </div>
    }
}

// ---------------------------------------------------------------------------
// One repository

/// A message after an action, shown in the page's live region.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Notice {
    Done(String),
    Failed(String),
}

/// A destructive action waiting for confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Destructive {
    Untag {
        tag: String,
        digest: String,
    },
    /// Deleting the manifest a tag points at (with every tag on it).
    DeleteImage {
        tag: String,
        digest: String,
        tags: Vec<String>,
    },
    DeleteManifest {
        digest: String,
        tags: Vec<String>,
    },
    DeleteRepository {
        tags: usize,
        manifests: usize,
    },
}

/// What the confirmation dialog asks.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Confirmation {
    title: String,
    message: String,
    /// Further lines (what else goes with it).
    details: Vec<String>,
    /// The destructive button's label ("Delete tag").
    action: String,
    /// When set, the person must type this text before confirming.
    type_to_confirm: Option<String>,
}

/// The state the repository page's pieces share (through context).
#[derive(Clone, Copy)]
struct PageState {
    name: Memo<String>,
    /// Bumped to reload the repository after a change.
    refresh: RwSignal<u32>,
    notice: RwSignal<Option<Notice>>,
    asking: RwSignal<Option<Destructive>>,
    pending: RwSignal<bool>,
    dialog_error: RwSignal<Option<String>>,
    /// Where to go once the repository is gone.
    leave_to: RwSignal<Option<String>>,
}

impl PageState {
    /// Shows a notice; a success goes away by itself after a while, an
    /// error stays until dismissed.
    fn say(&self, notice: Notice) {
        let done = matches!(notice, Notice::Done(_));
        self.notice.set(Some(notice.clone()));
        if done {
            let current = self.notice;
            set_timeout(
                move || {
                    if current.try_get_untracked().flatten().as_ref() == Some(&notice) {
                        current.set(None);
                    }
                },
                std::time::Duration::from_secs(8),
            );
        }
    }

    fn ask(&self, action: Destructive) {
        self.pending.set(false);
        self.dialog_error.set(None);
        self.asking.set(Some(action));
    }

    fn confirmation(&self, action: &Destructive) -> Confirmation {
        let name = self.name.get_untracked();
        let list = |tags: &[String]| tags.join(", ");
        match action {
            Destructive::Untag { tag, digest } => Confirmation {
                title: format!("Untag {tag}?"),
                message: format!(
                    "The tag {tag} is removed from {name}. The manifest {} stays and can still be pulled by digest.",
                    short_digest(digest)
                ),
                details: vec![],
                action: "Untag".into(),
                type_to_confirm: None,
            },
            Destructive::DeleteImage { tag, digest, tags } => Confirmation {
                title: format!("Delete the image {tag} points to?"),
                message: format!(
                    "The manifest {digest} is deleted from {name}, with every tag pointing at it. Pulls of these tags will fail."
                ),
                details: vec![format!("Tags removed: {}", list(tags))],
                action: "Delete image".into(),
                type_to_confirm: None,
            },
            Destructive::DeleteManifest { digest, tags } => Confirmation {
                title: "Delete this manifest?".into(),
                message: format!("The manifest {digest} is deleted from {name}."),
                details: if tags.is_empty() {
                    vec!["No tag points at it.".into()]
                } else {
                    vec![format!("Tags removed with it: {}", list(tags))]
                },
                action: "Delete manifest".into(),
                type_to_confirm: None,
            },
            Destructive::DeleteRepository { tags, manifests } => Confirmation {
                title: format!("Delete the repository {name}?"),
                message: "The repository is deleted with everything in it. This cannot be undone.".into(),
                details: vec![format!(
                    "{} and {} are deleted.",
                    count(*manifests, "manifest"),
                    count(*tags, "tag")
                )],
                action: "Delete repository".into(),
                type_to_confirm: Some(name),
            },
        }
    }

    /// Carries out a confirmed action; the dialog shows a refusal (a lock's
    /// message, say) and stays open.
    fn run(self, action: Destructive, typed: String, csrf: String) {
        self.pending.set(true);
        self.dialog_error.set(None);
        let repository = self.name.get_untracked();
        spawn_local(async move {
            let outcome: Result<Option<String>, PortalError> = match action {
                Destructive::Untag { tag, .. } => untag(csrf, repository.clone(), tag.clone())
                    .await
                    .map(|()| Some(format!("Tag {tag} was removed; its manifest stays."))),
                Destructive::DeleteImage { digest, .. } | Destructive::DeleteManifest { digest, .. } => {
                    delete_manifest(csrf, repository.clone(), digest.clone())
                        .await
                        .map(|()| Some(format!("Manifest {} was deleted.", short_digest(&digest))))
                }
                Destructive::DeleteRepository { .. } => {
                    delete_repository(csrf, repository.clone(), typed).await.map(|_| None)
                }
            };
            self.pending.set(false);
            match outcome {
                Ok(Some(message)) => {
                    self.asking.set(None);
                    self.say(Notice::Done(message));
                    self.refresh.update(|n| *n += 1);
                }
                Ok(None) => {
                    self.asking.set(None);
                    self.leave_to.set(Some(format!("/repositories?deleted={repository}")));
                }
                Err(error) => self.dialog_error.set(Some(error.to_string())),
            }
        });
    }
}

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let params = use_params_map();
    let name =
        Memo::new(move |_| params.read().get("name").unwrap_or_default().trim_end_matches('/').to_owned());
    let state = PageState {
        name,
        refresh: RwSignal::new(0),
        notice: RwSignal::new(None),
        asking: RwSignal::new(None),
        pending: RwSignal::new(false),
        dialog_error: RwSignal::new(None),
        leave_to: RwSignal::new(None),
    };
    provide_context(state);
    let csrf = use_csrf();
    let data = Resource::new(move || (name.get(), state.refresh.get()), |(name, _)| get_repository(name));
    view! {
        <Title text=move || name.get() />
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <A href="/repositories" attr:class="text-blue-700 hover:underline">"Repositories"</A>
            <span class="text-slate-400" aria-hidden="true">" / "</span>
        </nav>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(detail) => view! { <RepositoryView detail /> }.into_any(),
                    Err(error) => view! {
                        <h1 class="break-all font-mono text-2xl font-semibold">{name.get_untracked()}</h1>
                        {failure(&error)}
                    }.into_any(),
                }
            })}
        </Transition>
        <div class="pointer-events-none fixed inset-x-4 bottom-4 z-40 sm:left-auto sm:w-96" aria-live="polite">
            {move || state.notice.get().map(|notice| {
                let (text, failed) = match notice {
                    Notice::Done(text) => (text, false),
                    Notice::Failed(text) => (text, true),
                };
                view! {
                    <div data-testid="notice" data-kind=if failed { "error" } else { "success" }
                        role=if failed { "alert" } else { "status" }
                        class=if failed {
                            "pointer-events-auto flex items-start gap-3 rounded-lg bg-red-700 px-4 py-3 text-sm text-white shadow-lg"
                        } else {
                            "pointer-events-auto flex items-start gap-3 rounded-lg bg-slate-900 px-4 py-3 text-sm text-white shadow-lg"
                        }>
                        <p class="flex-1 break-words">{text}</p>
                        <button type="button" aria-label="Dismiss" class="rounded px-1 text-white/80 hover:text-white focus:outline-none focus:ring-2 focus:ring-white"
                            on:click=move |_| state.notice.set(None)>"✕"</button>
                    </div>
                }
            })}
        </div>
        {move || state.asking.get().map(|action| {
            let Confirmation { title, message, details, action: label, type_to_confirm } =
                state.confirmation(&action);
            view! {
                <ConfirmDialog open=true title confirm_label=label type_to_confirm
                    pending=state.pending error=state.dialog_error
                    on_confirm=move |typed: String| state.run(action.clone(), typed, csrf())
                    on_cancel=move |_| state.asking.set(None) testid="confirm-dialog">
                    <p class="break-words">{message.clone()}</p>
                    {(!details.is_empty()).then(|| view! {
                        <ul class="mt-2 list-disc space-y-1 pl-5">
                            {details.iter().map(|line| view! { <li class="break-all">{line.clone()}</li> }).collect_view()}
                        </ul>
                    })}
                </ConfirmDialog>
            }
        })}
        {move || state.leave_to.get().map(|path| view! { <Redirect path /> })}
    }
}

/// The four lock attributes of one object as signals, updated in place
/// when a switch changes (no reload, so keyboard focus stays put).
#[derive(Clone, Copy)]
struct LockSignals {
    read: RwSignal<bool>,
    write: RwSignal<bool>,
    delete: RwSignal<bool>,
    list: RwSignal<bool>,
}

impl LockSignals {
    fn new(locks: Locks) -> Self {
        Self {
            read: RwSignal::new(locks.read_enabled),
            write: RwSignal::new(locks.write_enabled),
            delete: RwSignal::new(locks.delete_enabled),
            list: RwSignal::new(locks.list_enabled),
        }
    }

    fn of(&self, kind: LockKind) -> RwSignal<bool> {
        match kind {
            LockKind::Read => self.read,
            LockKind::Write => self.write,
            LockKind::Delete => self.delete,
            LockKind::List => self.list,
        }
    }

    /// Writes or deletes refused: the image is locked.
    fn locked(&self) -> bool {
        !self.write.get() || !self.delete.get()
    }
}

#[component]
fn LockSwitch(
    scope: LockScope,
    reference: String,
    kind: LockKind,
    checked: RwSignal<bool>,
    /// What the switch belongs to, for its accessible name ("tag v1").
    subject: String,
) -> impl IntoView {
    let state = expect_context::<PageState>();
    let csrf = use_csrf();
    let busy = RwSignal::new(false);
    // Shown either way (it is the lock's state); changed only by a user
    // the policy lets change it.
    let read_only = !use_context::<RepositoryRights>().unwrap_or_default().change_locks;
    let label = format!("{} enabled for {subject}", kind.label());
    let toggle = move |_| {
        if busy.get_untracked() {
            return;
        }
        let enabled = !checked.get_untracked();
        busy.set(true);
        let csrf = csrf();
        let repository = state.name.get_untracked();
        let reference = reference.clone();
        let subject = subject.clone();
        spawn_local(async move {
            let result = set_repository_lock(csrf, repository, scope, reference, kind, enabled).await;
            busy.set(false);
            match result {
                Ok(locks) => {
                    let now = kind.of(&locks);
                    checked.set(now);
                    let word = if now { "on" } else { "off" };
                    state.say(Notice::Done(format!("{} of {subject} is now {word}.", kind.attribute())));
                }
                Err(error) => state.say(Notice::Failed(error.to_string())),
            }
        });
    };
    view! {
        <button type="button" role="switch" aria-checked=move || checked.get().to_string() aria-label=label
            aria-busy=move || busy.get().to_string()
            disabled=read_only
            data-testid=format!("lock-{}", kind.label())
            title=move || format!("{}: {}", kind.attribute(), if checked.get() { "on" } else { "off (locked)" })
            class="inline-flex items-center gap-1.5 rounded px-1 py-0.5 text-xs text-slate-700 hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-blue-600 aria-busy:opacity-60 disabled:cursor-default disabled:hover:bg-transparent"
            on:click=toggle>
            <span aria-hidden="true" class=move || if checked.get() {
                "relative inline-flex h-4 w-7 shrink-0 items-center rounded-full bg-emerald-600 transition-colors"
            } else {
                "relative inline-flex h-4 w-7 shrink-0 items-center rounded-full bg-slate-300 transition-colors"
            }>
                <span class=move || if checked.get() {
                    "inline-block h-3 w-3 translate-x-3.5 rounded-full bg-white shadow transition-transform"
                } else {
                    "inline-block h-3 w-3 translate-x-0.5 rounded-full bg-white shadow transition-transform"
                }></span>
            </span>
            <span aria-hidden="true">{kind.label()}</span>
        </button>
    }
    .into_any()
}

#[component]
fn LockSwitches(scope: LockScope, reference: String, locks: LockSignals, subject: String) -> impl IntoView {
    view! {
        <div class="flex flex-nowrap gap-x-1" role="group" aria-label=format!("Enabled operations of {subject}")>
            {LockKind::ALL.into_iter().map(|kind| view! {
                <LockSwitch scope reference=reference.clone() kind checked=locks.of(kind) subject=subject.clone() />
            }).collect_view()}
        </div>
    }
    .into_any()
}

fn locked_badge(locks: LockSignals) -> impl IntoView {
    move || {
        locks.locked().then(|| {
            view! {
                <span class=format!("{BADGE} bg-amber-100 text-amber-900") data-testid="locked-badge"
                    title="writeEnabled or deleteEnabled is off">"locked"</span>
            }
        })
    }
}

#[component]
fn RepositoryView(detail: RepositoryDetail) -> impl IntoView {
    let state = expect_context::<PageState>();
    let RepositoryDetail { name, login_server, created, last_update, locks, tags, manifests, may } = detail;
    // The controls below show only what the policy lets this user change.
    provide_context(may);
    let repository_locks = LockSignals::new(locks);
    let (tag_count, manifest_count) = (tags.len(), manifests.len());

    // The pull command: the tag chosen (latest, else the first), or the
    // newest manifest's digest when nothing is tagged.
    let default_tag =
        tags.iter().find(|t| t.name == "latest").or_else(|| tags.first()).map(|t| t.name.clone());
    let chosen = RwSignal::new(default_tag.clone());
    let newest_digest = manifests.first().map(|m| m.digest.clone());
    let image = format!("{login_server}/{name}");
    let pull_command = Signal::derive(move || match (chosen.get(), &newest_digest) {
        (Some(tag), _) => format!("docker pull {image}:{tag}"),
        (None, Some(digest)) => format!("docker pull {image}@{digest}"),
        (None, None) => String::new(),
    });
    let tag_names: Vec<String> = tags.iter().map(|t| t.name.clone()).collect();
    let has_content = tag_count + manifest_count > 0;

    view! {
        <header class="flex flex-wrap items-start justify-between gap-4">
            <div class="min-w-0">
                <div class="flex flex-wrap items-center gap-2">
                    <h1 class="break-all font-mono text-2xl font-semibold tracking-tight" data-testid="repository-name">{name.clone()}</h1>
                    {move || (!repository_locks.list.get()).then(|| view! {
                        <span class=format!("{BADGE} bg-amber-100 text-amber-900") data-testid="unlisted-badge"
                            title="listEnabled is off: hidden from the catalog and from listings">"unlisted"</span>
                    })}
                    {locked_badge(repository_locks)}
                </div>
                <p class="mt-1 text-sm text-slate-600">
                    {format!("{} · {} · created ", count(tag_count, "tag"), count(manifest_count, "manifest"))}
                    {time(created)}
                    {last_update.map(|at| view! { " · last update " {time(at)} })}
                </p>
            </div>
            {may.delete.then(|| view! {
                <button type="button" data-testid="delete-repository-button"
                    class="rounded border border-red-300 bg-white px-3 py-2 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-600"
                    on:click=move |_| state.ask(Destructive::DeleteRepository { tags: tag_count, manifests: manifest_count })>
                    "Delete repository…"
                </button>
            })}
        </header>

        <div class="mt-6 grid gap-4 lg:grid-cols-2">
            <section class=CARD aria-labelledby="pull-heading">
                <h2 id="pull-heading" class="text-sm font-medium text-slate-500">"Pull command"</h2>
                {if has_content {
                    view! {
                        {(tag_names.len() > 1).then(|| view! {
                            <label class="mt-2 flex items-center gap-2 text-sm">
                                <span>"Tag"</span>
                                <select data-testid="pull-tag"
                                    class="rounded border border-slate-300 bg-white px-2 py-1 font-mono text-sm focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600"
                                    on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                                    {tag_names.iter().map(|tag| view! {
                                        <option value=tag.clone() selected=Some(tag) == default_tag.as_ref()>{tag.clone()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                        })}
                        <div class="mt-2">
                            <CopyField value=pull_command label="Pull command" testid="pull-command" />
                        </div>
                    }.into_any()
                } else {
                    view! { <p class="mt-2 text-sm text-slate-600">"Nothing to pull: the repository is empty."</p> }.into_any()
                }}
            </section>
            <section class=CARD aria-labelledby="locks-heading" data-testid="repository-locks">
                <h2 id="locks-heading" class="text-sm font-medium text-slate-500">"Repository locks"</h2>
                <p class="mt-1 text-xs text-slate-600">
                    "A switch that is off locks that operation for the whole repository: write (push), delete, read (pull), list (catalog)."
                </p>
                <div class="mt-3">
                    <LockSwitches scope=LockScope::Repository reference=String::new() locks=repository_locks
                        subject=format!("repository {name}") />
                </div>
            </section>
        </div>

        <TagsTable tags manifests=manifests.clone() />
        <ManifestsTable manifests />
    }
}

/// A column heading of a tags or manifests table.
#[derive(Clone, Copy)]
enum Column {
    Text(&'static str),
    /// Right-aligned, as numbers are.
    Number(&'static str),
}

const TAG_COLUMNS: &[Column] = &[
    Column::Text("Tag"),
    Column::Text("Digest"),
    Column::Number("Size"),
    Column::Text("Platforms"),
    Column::Text("Pushed"),
];

const MANIFEST_COLUMNS: &[Column] = &[
    Column::Text("Digest"),
    Column::Text("Type"),
    Column::Text("Platforms"),
    Column::Number("Size"),
    Column::Text("Pushed"),
    Column::Text("Tags"),
];

/// A section of tags or manifests: its heading, then a line saying there
/// are none, or a wide table (it scrolls sideways on a phone) whose rows
/// end with the lock switches and the actions.
#[component]
fn ObjectTable(
    title: &'static str,
    heading_id: &'static str,
    /// `data-testid` of the table.
    testid: &'static str,
    /// Shown instead of the table when there are no rows ("No tags."),
    /// with its `data-testid`.
    empty: Option<(&'static str, &'static str)>,
    /// The headings before "Enabled operations" and the actions.
    columns: &'static [Column],
    /// The rows.
    children: Children,
) -> impl IntoView {
    view! {
        <section class="mt-8" aria-labelledby=heading_id>
            <h2 id=heading_id class="text-lg font-semibold">{title}</h2>
            {match empty {
                Some((text, testid)) => view! { <p class="mt-2 text-sm text-slate-600" data-testid=testid>{text}</p> }.into_any(),
                None => view! {
                    <div class=format!("{TABLE_WRAP} mt-2")>
                        <table class=format!("{TABLE} min-w-[64rem]") data-testid=testid>
                            <thead class=THEAD>
                                <tr>
                                    {columns.iter().map(|column| {
                                        let (label, class) = match *column {
                                            Column::Text(label) => (label, TH.to_owned()),
                                            Column::Number(label) => (label, format!("{TH} text-right")),
                                        };
                                        view! { <th scope="col" class=class>{label}</th> }
                                    }).collect_view()}
                                    <th scope="col" class=TH>"Enabled operations"</th>
                                    <th scope="col" class=TH><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody class=TBODY>{children()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// The first cell of a tag or manifest row: what it is, marked when locked.
#[component]
fn RowHeading(locks: LockSignals, children: Children) -> impl IntoView {
    view! {
        <th scope="row" class=format!("{TD_WRAP} text-left font-normal")>
            <div class="flex flex-wrap items-center gap-2">
                {children()}
                {locked_badge(locks)}
            </div>
        </th>
    }
}

/// The last two cells of a tag or manifest row: its lock switches, then
/// its action buttons.
#[component]
fn RowControls(
    scope: LockScope,
    reference: String,
    locks: LockSignals,
    subject: String,
    /// The [`AskButton`]s.
    children: Children,
) -> impl IntoView {
    view! {
        <td class=TD_WRAP>
            <LockSwitches scope reference locks subject />
        </td>
        <td class=format!("{TD} text-right")>
            <div class="flex justify-end gap-2">{children()}</div>
        </td>
    }
}

/// A small button that asks to confirm a destructive action.
#[component]
fn AskButton(
    action: Destructive,
    label: &'static str,
    /// The accessible name, naming what it acts on.
    aria_label: String,
    testid: &'static str,
    /// Red: it deletes.
    #[prop(optional)]
    danger: bool,
) -> impl IntoView {
    let state = expect_context::<PageState>();
    if !use_context::<RepositoryRights>().unwrap_or_default().delete {
        return ().into_any();
    }
    let class = if danger {
        "rounded border border-red-300 px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-600"
    } else {
        "rounded border border-slate-300 px-2 py-1 text-xs font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-blue-600"
    };
    view! {
        <button type="button" data-testid=testid aria-label=aria_label class=class
            on:click=move |_| state.ask(action.clone())>{label}</button>
    }
    .into_any()
}

#[component]
fn TagsTable(tags: Vec<TagInfo>, manifests: Vec<ManifestInfo>) -> impl IntoView {
    let tags_of = move |digest: &str| {
        manifests.iter().find(|m| m.digest == digest).map(|m| m.tags.clone()).unwrap_or_default()
    };
    view! {
        <ObjectTable title="Tags" heading_id="tags-heading" testid="tags-table"
            empty=tags.is_empty().then_some(("No tags.", "no-tags")) columns=TAG_COLUMNS>
            {tags.into_iter().map(|tag| {
                let locks = LockSignals::new(tag.locks);
                let untag_action = Destructive::Untag { tag: tag.name.clone(), digest: tag.digest.clone() };
                let delete_action = Destructive::DeleteImage {
                    tag: tag.name.clone(),
                    digest: tag.digest.clone(),
                    tags: tags_of(&tag.digest),
                };
                let (untag_label, delete_label, subject) = (
                    format!("Untag {}", tag.name),
                    format!("Delete the image {} points to", tag.name),
                    format!("tag {}", tag.name),
                );
                let name = tag.name.clone();
                view! {
                    <tr data-testid="tag-row" data-tag=tag.name.clone() data-digest=tag.digest.clone()>
                        <RowHeading locks>
                            <span class="break-words font-mono font-medium" data-testid="tag-name">{name}</span>
                        </RowHeading>
                        <td class=TD_WRAP>
                            <code class="whitespace-nowrap text-xs" title=tag.digest.clone() data-testid="tag-digest">{short_digest(&tag.digest)}</code>
                        </td>
                        <td class=format!("{TD_WRAP} text-right") data-testid="tag-size">{size(tag.total_size, "manifest, config and layers")}</td>
                        <td class=TD_WRAP data-testid="tag-platforms">{platform_chips(&tag.platforms)}</td>
                        <td class=format!("{TD_WRAP} text-slate-700") data-testid="tag-pushed">{time(tag.pushed.clone())}</td>
                        <RowControls scope=LockScope::Tag reference=tag.name.clone() locks subject>
                            <AskButton action=untag_action label="Untag" testid="untag-button" aria_label=untag_label />
                            <AskButton action=delete_action label="Delete image" testid="delete-image-button" danger=true
                                aria_label=delete_label />
                        </RowControls>
                    </tr>
                }.into_any()
            }).collect_view()}
        </ObjectTable>
    }
}

fn manifest_kind(manifest: &ManifestInfo) -> impl IntoView {
    if manifest.is_index() {
        view! { "Index" }.into_any()
    } else if let Some(artifact) = manifest.artifact() {
        view! {
            "Artifact"
            <div class="max-w-[16rem] break-all text-xs text-slate-500">{artifact.to_owned()}</div>
        }
        .into_any()
    } else {
        view! { "Image" }.into_any()
    }
}

#[component]
fn ManifestsTable(manifests: Vec<ManifestInfo>) -> impl IntoView {
    view! {
        <ObjectTable title="Manifests" heading_id="manifests-heading" testid="manifests-table"
            empty=manifests.is_empty().then_some(("No manifests.", "no-manifests")) columns=MANIFEST_COLUMNS>
            {manifests.into_iter().map(|manifest| {
                let locks = LockSignals::new(manifest.locks);
                let kind = manifest_kind(&manifest);
                let short = short_digest(&manifest.digest);
                let delete_action = Destructive::DeleteManifest {
                    digest: manifest.digest.clone(),
                    tags: manifest.tags.clone(),
                };
                let (delete_label, subject) = (format!("Delete manifest {short}"), format!("manifest {short}"));
                let digest = manifest.digest.clone();
                let platforms = if manifest.platforms.is_empty() {
                    match &manifest.platform {
                        Some(platform) => view! {
                            <span class=format!("{BADGE} bg-slate-100 font-mono text-slate-700") title="Its platform in an index of this repository">{platform.to_string()}</span>
                        }.into_any(),
                        None => platform_chips(&[]).into_any(),
                    }
                } else {
                    platform_chips(&manifest.platforms).into_any()
                };
                view! {
                    <tr data-testid="manifest-row" data-digest=manifest.digest.clone()>
                        <RowHeading locks>
                            <code class="whitespace-nowrap text-xs" title=digest data-testid="manifest-digest">{short}</code>
                        </RowHeading>
                        <td class=TD_WRAP title=manifest.media_type.clone() data-testid="manifest-type">{kind}</td>
                        <td class=TD_WRAP data-testid="manifest-platforms">{platforms}</td>
                        <td class=format!("{TD_WRAP} text-right") data-testid="manifest-size">
                            {size(manifest.total_size.or(Some(manifest.size)), "manifest, config and layers")}
                            <div class="whitespace-nowrap text-xs text-slate-500" title="The manifest document itself">
                                {format!("manifest {}", human_size(manifest.size))}
                            </div>
                        </td>
                        <td class=format!("{TD_WRAP} text-slate-700")>{time(manifest.pushed.clone())}</td>
                        <td class=TD_WRAP data-testid="manifest-tags">
                            {if manifest.tags.is_empty() && manifest.platform.is_some() {
                                view! { <span class="italic text-slate-500">"in an index"</span> }.into_any()
                            } else if manifest.tags.is_empty() {
                                view! { <span class="italic text-slate-400">"untagged"</span> }.into_any()
                            } else {
                                view! {
                                    <ul class="flex flex-wrap gap-1">
                                        {manifest.tags.iter().map(|tag| view! {
                                            <li class=format!("{BADGE} bg-blue-50 font-mono text-blue-800")>{tag.clone()}</li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </td>
                        <RowControls scope=LockScope::Manifest reference=manifest.digest.clone() locks subject>
                            <AskButton action=delete_action label="Delete" testid="delete-manifest-button" danger=true
                                aria_label=delete_label />
                        </RowControls>
                    </tr>
                }.into_any()
            }).collect_view()}
        </ObjectTable>
    }
}
