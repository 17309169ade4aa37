//! Small pieces only the token and scope map pages use: times, the status
//! badge and password expiry of the token model, a scope map's type, and
//! query strings of the token list.
//! The class sets and views every area shares are in
//! [`crate::components::ui`].

use leptos::prelude::*;

use crate::tokens::model::{PasswordSlot, ScopeMap, Timestamp};

/// A time, readable and machine-readable.
#[component]
pub fn Time(time: Timestamp) -> impl IntoView {
    view! { <time datetime=time.iso>{time.display}</time> }
}

/// A time's date alone, for a list that must stay narrow; the whole time is
/// its tooltip.
#[component]
pub fn Day(time: Timestamp) -> impl IntoView {
    let day: String = time.display.chars().take(10).collect();
    view! { <time datetime=time.iso title=time.display>{day}</time> }
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

/// "Not generated", "No expiry" or the date, flagged when expired or close.
#[component]
pub fn PasswordExpiry(
    password: PasswordSlot,
    /// The date alone (a list); the whole time otherwise.
    #[prop(optional)]
    compact: bool,
) -> impl IntoView {
    let slot = password;
    if !slot.generated() {
        return view! { <span class="text-slate-400" data-testid="not-generated">"Not generated"</span> }
            .into_any();
    }
    let flag = if slot.expired {
        Some(("rounded bg-red-50 px-1.5 text-xs font-medium text-red-800 ring-1 ring-red-200", "Expired"))
    } else if slot.expires_soon {
        Some((
            "rounded bg-amber-50 px-1.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200",
            "Expires soon",
        ))
    } else {
        None
    };
    match slot.expiry {
        None => view! { <span class="text-slate-600">"No expiry"</span> }.into_any(),
        Some(time) => view! {
            <span class="inline-flex flex-wrap items-center gap-1.5">
                {if compact { view! { <Day time /> }.into_any() } else { view! { <Time time /> }.into_any() }}
                {flag.map(|(class, text)| view! { <span class=class>{text}</span> })}
            </span>
        }
        .into_any(),
    }
}

/// How the API and the CLI name a scope map's type.
pub fn scope_map_kind(map: &ScopeMap) -> &'static str {
    if map.system {
        "SystemDefined"
    } else {
        "UserDefined"
    }
}
