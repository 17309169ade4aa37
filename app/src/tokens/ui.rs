//! Small pieces the token and scope map pages share: the class sets that
//! keep them consistent, loading and error states, times, query strings,
//! the CSRF token and the clipboard.

use leptos::prelude::*;

use crate::{tokens::model::Timestamp, PortalSession};

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
pub const TABLE_WRAP: &str = "relative mt-4 overflow-x-auto rounded-lg bg-white shadow-sm";
pub const TABLE: &str = "min-w-full divide-y divide-slate-200 text-left text-sm";
pub const TH: &str =
    "whitespace-nowrap px-4 py-2 text-xs font-semibold uppercase tracking-wide text-slate-500";
pub const TD: &str = "whitespace-nowrap px-4 py-2 align-top";
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

/// A time, readable and machine-readable.
#[component]
pub fn Time(time: Timestamp) -> impl IntoView {
    view! { <time datetime=time.iso>{time.display}</time> }
}

/// Status as a coloured badge.
#[component]
pub fn StatusBadge(enabled: bool) -> impl IntoView {
    let (class, text) = if enabled {
        (
            "rounded-full bg-green-50 px-2 py-0.5 text-xs font-medium text-green-800 ring-1 ring-green-200",
            "Enabled",
        )
    } else {
        (
            "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700 ring-1 ring-slate-300",
            "Disabled",
        )
    };
    view! { <span class=class data-testid="status-badge">{text}</span> }
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
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

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::wasm_bindgen::prelude::*;

    #[wasm_bindgen(wasm_bindgen = leptos::wasm_bindgen)]
    extern "C" {
        /// `navigator.clipboard.writeText`; throws where the page is not a
        /// secure context (no clipboard then).
        #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
        pub fn write_text(text: &str) -> Result<JsValue, JsValue>;
    }
}

/// Puts `text` on the clipboard; false where the browser offers none.
pub fn copy_to_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        browser::write_text(text).is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}

/// A button that copies `text`, then says so.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    /// What is copied, for screen readers: "Copy {what}".
    what: &'static str,
    testid: &'static str,
) -> impl IntoView {
    let (state, set_state) = signal(None::<bool>);
    view! {
        <button type="button" class=SMALL_BUTTON data-testid=testid aria-label=format!("Copy {what}")
            on:click=move |_| set_state.set(Some(copy_to_clipboard(&text.get_untracked())))>
            {move || match state.get() {
                None => "Copy",
                Some(true) => "Copied",
                Some(false) => "Select and copy by hand",
            }}
        </button>
    }
}
