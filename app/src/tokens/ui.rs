//! Small pieces only the token and scope map pages use: times and the
//! status badge of the token model, and query strings of the token list.
//! The class sets and views every area shares are in
//! [`crate::components::ui`].

use leptos::prelude::*;

use crate::tokens::model::Timestamp;

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
