//! The portal's shared look and small pieces: the class sets that keep the
//! pages consistent, loading and error states, and the CSRF token a
//! state-changing server function needs. No page logic and no server
//! functions here.

use leptos::prelude::*;

use crate::PortalSession;

/// A white box around a section of a page; the page adds margins.
pub const CARD: &str = "rounded-lg bg-white p-5 shadow-sm";
pub const INPUT: &str = "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-2 focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600";
pub const LABEL: &str = "text-sm font-medium";
pub const HINT: &str = "mt-1 text-xs text-slate-500";
pub const PRIMARY: &str = "inline-flex items-center justify-center rounded bg-blue-700 px-4 py-2 text-sm font-medium text-white hover:bg-blue-800 focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2 disabled:opacity-60";
pub const SECONDARY: &str = "inline-flex items-center justify-center rounded border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2 disabled:opacity-60";
pub const DANGER: &str = "inline-flex items-center justify-center rounded bg-red-700 px-4 py-2 text-sm font-medium text-white hover:bg-red-800 focus:outline-none focus:ring-2 focus:ring-red-600 focus:ring-offset-2 disabled:opacity-60";
pub const DANGER_OUTLINE: &str = "inline-flex items-center justify-center rounded border border-red-300 bg-white px-4 py-2 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-600 focus:ring-offset-2 disabled:opacity-60";
pub const SMALL_BUTTON: &str = "inline-flex items-center rounded border border-slate-300 bg-white px-2.5 py-1 text-xs font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-blue-600 disabled:opacity-60";
pub const SMALL_DANGER: &str = "inline-flex items-center rounded border border-red-300 bg-white px-2.5 py-1 text-xs font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-600 disabled:opacity-60";
pub const LINK: &str = "text-blue-700 underline decoration-blue-300 underline-offset-2 hover:text-blue-900 focus:outline-none focus:ring-2 focus:ring-blue-600";
// Tables: a white box that scrolls sideways on a narrow screen (the page
// never does), header and body rows, and cells. The page adds margins.
/// A table's card: a table wider than the card scrolls inside it, and the
/// `scroll-cue` shadow (style/tailwind.css) shows at the edge that hides more.
pub const TABLE_WRAP: &str = "relative overflow-x-auto rounded-lg bg-white shadow-sm scroll-cue";
pub const TABLE: &str = "w-full divide-y divide-slate-200 text-left text-sm";
pub const THEAD: &str = "bg-slate-50";
pub const TBODY: &str = "divide-y divide-slate-100";
pub const TH: &str =
    "whitespace-nowrap px-4 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-600";
/// A cell on one line: names, dates, numbers, buttons.
pub const TD: &str = "whitespace-nowrap px-4 py-2 align-top";
/// A cell whose text wraps: long names, digests, descriptions, switches.
pub const TD_WRAP: &str = "px-4 py-2 align-top";
pub const CODE_BLOCK: &str =
    "whitespace-pre-wrap wrap-anywhere rounded bg-slate-900 p-3 font-mono text-xs text-slate-100";

/// "Loading…" while a page's data is on its way.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="mt-4 text-slate-500" role="status">"Loading…"</p> }
}

/// An error the user should read.
#[component]
pub fn ErrorMessage(#[prop(into)] message: String, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let testid = if testid.is_empty() { "error" } else { testid };
    view! { <p class="mt-4 rounded bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid=testid>{message}</p> }
}

/// A repository's tags, each with its `docker pull` command when the
/// viewer may pull (a holder's own view: My token, My access).
#[component]
pub fn TagPulls(
    host: String,
    repository: String,
    tags: Vec<String>,
    can_pull: bool,
    /// The `data-testid` of each pull command.
    testid: &'static str,
) -> impl IntoView {
    view! {
        <ul class="mt-1 space-y-1">
            {tags.into_iter().map(|tag| {
                let pull = format!("docker pull {host}/{repository}:{tag}");
                view! {
                    <li class="flex flex-wrap items-center gap-2 text-sm">
                        <span class="rounded bg-slate-100 px-2 font-mono">{tag}</span>
                        {can_pull.then(|| view! { <code class="overflow-x-auto text-xs text-slate-700" data-testid=testid>{pull}</code> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Reads the session's CSRF token for a state-changing server function.
/// Call it while rendering; the returned function works in event handlers
/// (where no context is available) once the session is loaded.
pub fn use_csrf() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let session = use_context::<PortalSession>();
    move || {
        session
            .and_then(|session| session.info.get_untracked())
            .and_then(Result::ok)
            .map(|info| info.csrf_token)
            .unwrap_or_default()
    }
}

/// Tomorrow's date (UTC) as `YYYY-MM-DD`, from the browser's clock: the
/// earliest expiry the server accepts (an expiry is 00:00 UTC of its date).
/// Empty on the server, which renders no `min`; the browser sets it.
fn tomorrow_utc() -> String {
    #[cfg(feature = "hydrate")]
    {
        let tomorrow = js_sys::Date::new(&(js_sys::Date::now() + 86_400_000.0).into());
        String::from(tomorrow.to_iso_string()).chars().take(10).collect()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// An optional expiry date: from tomorrow on, so a date the server would
/// refuse cannot be picked.
#[component]
pub fn ExpiryDateField(
    expiry: RwSignal<String>,
    /// Who stops working at 00:00 UTC on the date ("The password").
    what: &'static str,
    testid: &'static str,
    #[prop(default = "Expiry date (optional)")] label: &'static str,
) -> impl IntoView {
    let min = RwSignal::new(String::new());
    Effect::new(move |_| min.set(tomorrow_utc()));
    view! {
        <label class="block">
            <span class=LABEL>{label}</span>
            <input type="date" class=INPUT data-testid=testid min=move || min.get() bind:value=expiry />
            <span class=HINT>{format!("{what} stops working at 00:00 UTC on this date, from tomorrow on. Leave empty for no expiry; an expiry is recommended.")}</span>
        </label>
    }
    .into_any()
}

/// What the page that sent the visitor here just did, from its query
/// parameter `param` (`/tokens?discarded=ci-reader`): "Token ci-reader
/// discarded." Nothing without the parameter.
#[component]
pub fn DoneNotice(param: &'static str, what: &'static str, verb: &'static str) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let name = Memo::new(move |_| query.with(|query| query.get(param)).filter(|name| !name.is_empty()));
    view! {
        {move || name.get().map(|name| view! {
            <p class="mt-4 rounded bg-green-50 px-3 py-2 text-sm text-green-800" role="status" data-testid="done-notice">
                {format!("{what} {name} {verb}.")}
            </p>
        })}
    }
    .into_any()
}
