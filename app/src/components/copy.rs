//! Copying text for the person: a small Copy button, and a read-only field
//! with a Copy button. Copying uses the asynchronous Clipboard API when the
//! page may (a secure context such as HTTPS or localhost) and says "Copied"
//! once the browser has it; otherwise the person is told to copy by hand.
//! Browser-only work happens in event handlers, so the server and the
//! browser render the same HTML.

use leptos::{html::Input, prelude::*};

use crate::components::ui::SMALL_BUTTON;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CopyState {
    Idle,
    Copied,
    /// The clipboard refused: the person copies by hand.
    Manual,
}

/// Starts `navigator.clipboard.writeText(text)`; `None` where the API is
/// missing (plain HTTP from another host).
fn clipboard_write(text: &str) -> Option<leptos::web_sys::js_sys::Promise> {
    use leptos::{
        wasm_bindgen::{JsCast, JsValue},
        web_sys::js_sys::{Function, Promise, Reflect},
    };
    let window: JsValue = window().into();
    let navigator = Reflect::get(&window, &JsValue::from_str("navigator")).ok()?;
    let clipboard = Reflect::get(&navigator, &JsValue::from_str("clipboard")).ok()?;
    if clipboard.is_undefined() || clipboard.is_null() {
        return None;
    }
    let write =
        Reflect::get(&clipboard, &JsValue::from_str("writeText")).ok()?.dyn_into::<Function>().ok()?;
    write.call1(&clipboard, &JsValue::from_str(text)).ok()?.dyn_into::<Promise>().ok()
}

/// Puts `text` on the clipboard, then sets `state` to what came of it.
fn copy(text: &str, state: RwSignal<CopyState>) {
    match clipboard_write(text) {
        Some(promise) => leptos::task::spawn_local(async move {
            let done = leptos::__reexports::wasm_bindgen_futures::JsFuture::from(promise).await;
            state.try_set(if done.is_ok() { CopyState::Copied } else { CopyState::Manual });
        }),
        None => state.set(CopyState::Manual),
    }
}

/// A small button that copies `text`, then says so.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    /// What is copied, for screen readers: "Copy {what}".
    what: &'static str,
    testid: &'static str,
) -> impl IntoView {
    let state = RwSignal::new(CopyState::Idle);
    view! {
        <button type="button" class=SMALL_BUTTON data-testid=testid aria-label=format!("Copy {what}")
            on:click=move |_| copy(&text.get_untracked(), state)>
            {move || match state.get() {
                CopyState::Idle => "Copy",
                CopyState::Copied => "Copied",
                CopyState::Manual => "Select and copy by hand",
            }}
        </button>
    }
}

/// A command to copy: a read-only field with a Copy button. Where the
/// clipboard refuses, the text is selected and the person is told to
/// press Ctrl+C.
#[component]
pub fn CopyField(
    /// The text to show and copy.
    #[prop(into)]
    value: Signal<String>,
    /// Accessible name of the field ("Pull command").
    label: &'static str,
    /// `data-testid` of the field; the button gets `copy-` before it.
    testid: &'static str,
) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    let state = RwSignal::new(CopyState::Idle);
    let on_copy = move |_| {
        if let Some(field) = input.get_untracked() {
            field.select();
        }
        copy(&value.get_untracked(), state);
    };
    // A different text (another tag chosen) has not been copied yet.
    Effect::new(move |_| {
        value.track();
        state.set(CopyState::Idle);
    });
    view! {
        <div class="flex min-w-0 items-stretch gap-2">
            <input node_ref=input readonly data-testid=testid aria-label=label
                prop:value=move || value.get()
                value=move || value.get()
                on:focus=move |_| { if let Some(field) = input.get_untracked() { field.select(); } }
                class="min-w-0 flex-1 rounded border border-slate-300 bg-slate-900 px-3 py-2 font-mono text-xs text-slate-100 focus:outline-none focus:ring-2 focus:ring-blue-600 sm:text-sm" />
            <button type="button" data-testid=format!("copy-{testid}")
                class="shrink-0 rounded bg-blue-700 px-3 py-2 text-sm font-medium text-white hover:bg-blue-800 focus:outline-none focus:ring-2 focus:ring-blue-600 focus:ring-offset-2"
                on:click=on_copy>
                {move || match state.get() { CopyState::Copied => "Copied", _ => "Copy" }}
            </button>
        </div>
        <p class="mt-1 min-h-[1.25rem] text-xs text-slate-600" role="status" aria-live="polite">
            {move || match state.get() {
                CopyState::Idle => "",
                CopyState::Copied => "Copied to the clipboard.",
                CopyState::Manual => "The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.",
            }}
        </p>
    }
}
