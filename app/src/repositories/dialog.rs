//! A modal confirmation for destructive actions: `role="dialog"` with
//! `aria-modal`, focus moved in on opening (to the type-to-confirm field or
//! to Cancel, never to the destructive button), Tab kept inside, Escape and
//! the backdrop cancel, and focus returned to whatever opened it. Rendered
//! only in the browser once opened, so it never affects hydration.

use leptos::{
    ev::KeyboardEvent,
    html::{Button, Input},
    prelude::*,
    web_sys::{Element, HtmlElement},
};

/// What the dialog asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub title: String,
    pub message: String,
    /// Further lines (what else goes with it).
    pub details: Vec<String>,
    /// The destructive button's label ("Delete tag").
    pub action: String,
    /// When set, the person must type this text before confirming.
    pub type_to_confirm: Option<String>,
}

fn same(active: &Element, element: &HtmlElement) -> bool {
    let element: &Element = element;
    active == element
}

#[component]
pub fn ConfirmDialog(
    confirmation: Confirmation,
    /// A request is under way: the buttons wait.
    #[prop(into)]
    pending: Signal<bool>,
    /// The server's refusal, shown inside the dialog (it stays open).
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Called with the typed text (empty without type-to-confirm).
    #[prop(into)]
    on_confirm: Callback<String>,
    #[prop(into)] on_cancel: Callback<()>,
) -> impl IntoView {
    let Confirmation { title, message, details, action, type_to_confirm } = confirmation;
    let typed = RwSignal::new(String::new());
    let expected = StoredValue::new(type_to_confirm.clone());
    let ready = move || {
        !pending.get() && expected.with_value(|expected| expected.as_ref().is_none_or(|e| *e == typed.get()))
    };
    let input_ref = NodeRef::<Input>::new();
    let cancel_ref = NodeRef::<Button>::new();
    let confirm_ref = NodeRef::<Button>::new();
    // Where focus was when the dialog opened, to give it back on cancel.
    let opener = StoredValue::new_local(None::<HtmlElement>);

    // Effects run in the browser only, once the elements are mounted.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let target: Option<HtmlElement> = match input_ref.get() {
            Some(input) => Some((*input).clone()),
            None => cancel_ref.get().map(|button| (*button).clone()),
        };
        let Some(target) = target else { return false };
        if let Some(active) = document().active_element() {
            use leptos::wasm_bindgen::JsCast;
            opener.set_value(active.dyn_into::<HtmlElement>().ok());
        }
        let _ = target.focus();
        true
    });

    let cancel = move || {
        if pending.get_untracked() {
            return;
        }
        if let Some(opener) = opener.get_value() {
            let _ = opener.focus();
        }
        on_cancel.run(());
    };
    let confirm = move || {
        if ready() {
            on_confirm.run(typed.get_untracked());
        }
    };
    let on_keydown = move |ev: KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            cancel();
        }
        "Tab" => {
            // The focusable elements, in order; the confirm button only
            // while it is enabled.
            let mut focusable: Vec<HtmlElement> = Vec::new();
            if let Some(input) = input_ref.get_untracked() {
                focusable.push((*input).clone());
            }
            if let Some(button) = cancel_ref.get_untracked() {
                focusable.push((*button).clone());
            }
            if let Some(button) = confirm_ref.get_untracked() {
                if !button.disabled() {
                    focusable.push((*button).clone());
                }
            }
            let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else { return };
            let active = document().active_element();
            let inside = active.as_ref().is_some_and(|a| focusable.iter().any(|f| same(a, f)));
            if ev.shift_key() && (!inside || active.as_ref().is_some_and(|a| same(a, first))) {
                ev.prevent_default();
                let _ = last.focus();
            } else if !ev.shift_key() && (!inside || active.as_ref().is_some_and(|a| same(a, last))) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
        _ => {}
    };

    view! {
        <div class="fixed inset-0 z-50 flex items-end justify-center p-4 sm:items-center" on:keydown=on_keydown>
            <div class="absolute inset-0 bg-slate-900/50" aria-hidden="true" on:click=move |_| cancel()></div>
            <div role="dialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-message"
                data-testid="confirm-dialog"
                class="relative w-full max-w-lg rounded-lg bg-white p-6 shadow-xl">
                <h2 id="confirm-title" class="text-lg font-semibold text-slate-900">{title}</h2>
                <p id="confirm-message" class="mt-2 break-words text-sm text-slate-700">{message}</p>
                {(!details.is_empty()).then(|| view! {
                    <ul class="mt-2 list-disc space-y-1 pl-5 text-sm text-slate-700">
                        {details.into_iter().map(|line| view! { <li class="break-all">{line}</li> }).collect_view()}
                    </ul>
                })}
                {type_to_confirm.map(|text| view! {
                    <label class="mt-4 block text-sm">
                        <span>"Type "<code class="rounded bg-slate-100 px-1 font-mono text-slate-900">{text.clone()}</code>" to confirm."</span>
                        <input node_ref=input_ref data-testid="confirm-input" autocomplete="off" spellcheck="false"
                            aria-label=format!("Type {text} to confirm")
                            class="mt-1 block w-full rounded border border-slate-300 px-3 py-2 font-mono focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600"
                            on:input=move |ev| typed.set(event_target_value(&ev))
                            on:keydown=move |ev: KeyboardEvent| if ev.key() == "Enter" { ev.prevent_default(); confirm(); } />
                    </label>
                })}
                {move || error.get().map(|message| view! {
                    <p class="mt-4 break-words rounded bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid="dialog-error">{message}</p>
                })}
                <div class="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
                    <button type="button" node_ref=cancel_ref data-testid="cancel-button" disabled=move || pending.get()
                        class="rounded border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-blue-600 disabled:opacity-60"
                        on:click=move |_| cancel()>
                        "Cancel"
                    </button>
                    <button type="button" node_ref=confirm_ref data-testid="confirm-button" disabled=move || !ready()
                        class="rounded bg-red-700 px-4 py-2 text-sm font-medium text-white hover:bg-red-800 focus:outline-none focus:ring-2 focus:ring-red-600 focus:ring-offset-2 disabled:cursor-not-allowed disabled:opacity-50"
                        on:click=move |_| confirm()>
                        {move || if pending.get() { "Working…".to_owned() } else { action.clone() }}
                    </button>
                </div>
            </div>
        </div>
    }
}
