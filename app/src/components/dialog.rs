//! Modal dialogs: the browser's own `<dialog>` opened with `showModal()`
//! (focus moves into it, the rest of the page is inert), closed with Escape
//! or its buttons, focus given back to where it was. Tab wraps from the
//! last control to the first and back (a modal `<dialog>` alone would let
//! focus leave to the browser). A dialog exists in the page only while it
//! is open, so nothing it showed stays behind and the server never renders
//! one (hydration is unaffected). What confirming does belongs to the
//! caller: no server function is called from here.

use leptos::{ev::KeyboardEvent, html, prelude::*};

use crate::components::ui::{DANGER, SECONDARY};

/// A modal dialog, rendered while `open` is true. `on_close` runs when the
/// user closes it (Escape, the browser closing it, or the backdrop where
/// `close_on_backdrop`); buttons inside call their own handlers, which set
/// `open` to false.
#[component]
pub fn Modal(
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    #[prop(into)] title: Signal<String>,
    testid: &'static str,
    /// `id` of the text that says what the dialog is about.
    #[prop(optional)]
    described_by: Option<String>,
    /// A click on the backdrop closes it too: for a question, never for
    /// a dialog showing something only once.
    #[prop(optional)]
    close_on_backdrop: bool,
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    let described_by = StoredValue::new(described_by);
    view! {
        <Show when=move || open.get()>
            <ModalPanel on_close title testid described_by=described_by.get_value() close_on_backdrop>
                {children.with_value(|children| children())}
            </ModalPanel>
        </Show>
    }
    .into_any()
}

#[component]
fn ModalPanel(
    on_close: Callback<()>,
    title: Signal<String>,
    testid: &'static str,
    described_by: Option<String>,
    close_on_backdrop: bool,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let title_id = format!("{testid}-title");
    let heading_id = title_id.clone();
    // Where focus was before the dialog opened, to give it back after.
    let opener = StoredValue::new_local(None::<leptos::web_sys::Element>);
    Effect::new(move |_| {
        if let Some(element) = dialog.get() {
            if !element.open() {
                opener.set_value(document().active_element());
                let _ = element.show_modal();
            }
        }
    });
    // Escape and Tab belong to the open dialog wherever focus is: listened
    // for on the window, as focus can leave the dialog without the person
    // moving it (a focused button that becomes disabled while a request
    // runs drops focus to the page).
    #[cfg(feature = "hydrate")]
    {
        let keys = window_event_listener(leptos::ev::keydown, move |event| {
            let Some(element) = dialog.try_get_untracked().flatten() else { return };
            match event.key().as_str() {
                "Escape" => {
                    event.prevent_default();
                    on_close.run(());
                }
                "Tab" => focus::keep_tab_inside(&element, &event),
                _ => {}
            }
        });
        on_cleanup(move || keys.remove());
    }
    on_cleanup(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(element) = opener.try_get_value().flatten() {
            if let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>() {
                // Once the dialog has left the page: until then the modal
                // dialog makes the rest of the page inert, the opener too.
                queue_microtask(move || {
                    let _ = element.focus();
                });
            }
        }
    });
    view! {
        <dialog node_ref=dialog role="dialog" aria-modal="true" aria-labelledby=title_id aria-describedby=described_by
            data-testid=testid
            class="m-auto w-[calc(100%-2rem)] max-w-xl rounded-lg bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/60"
            // The panel fills the dialog box, so a click on the dialog
            // itself is a click on the backdrop.
            on:click=move |event| {
                if close_on_backdrop && event.target() == event.current_target() {
                    on_close.run(());
                }
            }
            on:close=move |_| on_close.run(())>
            <div class="p-5 sm:p-6">
                <h2 id=heading_id class="text-lg font-semibold tracking-tight">{move || title.get()}</h2>
                {children()}
            </div>
        </dialog>
    }
    .into_any()
}

/// "Are you sure?" for a destructive action: says what goes (the
/// children), Cancel first and focused (or the type-to-confirm field),
/// the red button last. While the request runs the buttons wait; a
/// refusal from the service is shown inside and the dialog stays open.
#[component]
pub fn ConfirmDialog(
    #[prop(into)] open: Signal<bool>,
    #[prop(into)] title: Signal<String>,
    /// The destructive button's label ("Delete tag").
    #[prop(into)]
    confirm_label: String,
    /// When set, the person must type this text before confirming.
    #[prop(default = None)]
    type_to_confirm: Option<String>,
    /// A request is under way: the buttons wait.
    #[prop(into)]
    pending: Signal<bool>,
    /// The service's refusal.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// `data-testid` of the destructive button.
    #[prop(default = "confirm-button")]
    confirm_testid: &'static str,
    /// Called with the typed text (empty without type-to-confirm).
    #[prop(into)]
    on_confirm: Callback<String>,
    #[prop(into)] on_cancel: Callback<()>,
    testid: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    let confirm_label = StoredValue::new(confirm_label);
    let type_to_confirm = StoredValue::new(type_to_confirm);
    let message_id = format!("{testid}-message");
    let described_by = message_id.clone();
    let cancel = Callback::new(move |()| {
        if !pending.get_untracked() {
            on_cancel.run(());
        }
    });
    view! {
        <Modal open title testid described_by close_on_backdrop=true on_close=cancel>
            <ConfirmBody message_id=message_id.clone() confirm_label=confirm_label.get_value()
                type_to_confirm=type_to_confirm.get_value() pending error confirm_testid on_confirm cancel>
                {children.with_value(|children| children())}
            </ConfirmBody>
        </Modal>
    }
    .into_any()
}

/// The inside of a [`ConfirmDialog`], made anew at each opening (so the
/// typed text starts empty).
#[component]
fn ConfirmBody(
    message_id: String,
    confirm_label: String,
    type_to_confirm: Option<String>,
    pending: Signal<bool>,
    error: Signal<Option<String>>,
    confirm_testid: &'static str,
    on_confirm: Callback<String>,
    cancel: Callback<()>,
    children: Children,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let expected = StoredValue::new(type_to_confirm.clone());
    let ready = move || {
        !pending.get() && expected.with_value(|expected| expected.as_ref().is_none_or(|e| *e == typed.get()))
    };
    let confirm = move || {
        if ready() {
            on_confirm.run(typed.get_untracked());
        }
    };
    let typing = type_to_confirm.is_some();
    // When a request ends, focus goes to its refusal (or Cancel), not to
    // the page: the confirm button it was on was disabled meanwhile.
    let refusal = NodeRef::<html::P>::new();
    let cancel_button = NodeRef::<html::Button>::new();
    Effect::new(move |was_pending: Option<bool>| {
        let now = pending.get();
        if was_pending == Some(true) && !now {
            set_timeout(
                // The dialog may have closed meanwhile.
                move || match (
                    refusal.try_get_untracked().flatten(),
                    cancel_button.try_get_untracked().flatten(),
                ) {
                    (Some(refusal), _) => {
                        let _ = refusal.focus();
                    }
                    (None, Some(cancel)) => {
                        let _ = cancel.focus();
                    }
                    (None, None) => {}
                },
                std::time::Duration::ZERO,
            );
        }
        now
    });
    view! {
        <div id=message_id class="mt-3 text-sm text-slate-700">{children()}</div>
        {type_to_confirm.map(|text| view! {
            <label class="mt-4 block text-sm">
                <span>"Type "<code class="rounded bg-slate-100 px-1 font-mono text-slate-900">{text.clone()}</code>" to confirm."</span>
                <input data-testid="confirm-input" autocomplete="off" spellcheck="false" autofocus=true
                    aria-label=format!("Type {text} to confirm")
                    class="mt-1 block w-full rounded border border-slate-300 px-3 py-2 font-mono focus:border-blue-600 focus:outline-none focus:ring-1 focus:ring-blue-600"
                    on:input=move |event| typed.set(event_target_value(&event))
                    on:keydown=move |event: KeyboardEvent| if event.key() == "Enter" { event.prevent_default(); confirm(); } />
            </label>
        })}
        {move || error.get().map(|message| view! {
            <p node_ref=refusal tabindex="-1" class="mt-3 break-words rounded bg-red-50 px-3 py-2 text-sm text-red-800 focus:outline-none" role="alert" data-testid="dialog-error">{message}</p>
        })}
        <div class="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            // Focus starts on Cancel (or the field), never on the red button.
            <button node_ref=cancel_button type="button" class=SECONDARY data-testid="cancel-button" autofocus=!typing
                disabled=move || pending.get() on:click=move |_| cancel.run(())>"Cancel"</button>
            <button type="button" class=DANGER data-testid=confirm_testid disabled=move || !ready()
                on:click=move |_| confirm()>
                {move || if pending.get() { "Working…".to_owned() } else { confirm_label.clone() }}
            </button>
        </div>
    }
    .into_any()
}

/// Tab and Shift+Tab wrap around the dialog's controls.
#[cfg(feature = "hydrate")]
mod focus {
    use leptos::{
        prelude::document,
        wasm_bindgen::{prelude::*, JsCast},
        web_sys::{Element, HtmlElement, KeyboardEvent},
    };

    #[wasm_bindgen(wasm_bindgen = leptos::wasm_bindgen)]
    extern "C" {
        /// A `NodeList` of elements.
        type Elements;
        #[wasm_bindgen(method, getter)]
        fn length(this: &Elements) -> u32;
        #[wasm_bindgen(method)]
        fn item(this: &Elements, index: u32) -> Option<HtmlElement>;
        /// The dialog, seen as what it is to JavaScript.
        type Root;
        #[wasm_bindgen(method, js_name = querySelectorAll)]
        fn select_all(this: &Root, selectors: &str) -> Elements;
    }

    const FOCUSABLE: &str =
        "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), \
                             textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

    pub fn keep_tab_inside(dialog: &Element, event: &KeyboardEvent) {
        let controls = dialog.unchecked_ref::<Root>().select_all(FOCUSABLE);
        let count = controls.length();
        let (Some(first), Some(last)) = (controls.item(0), controls.item(count.saturating_sub(1))) else {
            return;
        };
        let active = document().active_element();
        let position = (0..count).find(|index| {
            controls.item(*index).is_some_and(|control| active.as_ref() == Some(control.as_ref()))
        });
        let target = match (position, event.shift_key()) {
            (None, false) => Some(first),
            (None, true) => Some(last),
            (Some(0), true) => Some(last),
            (Some(index), false) if index + 1 == count => Some(first),
            _ => None,
        };
        if let Some(target) = target {
            event.prevent_default();
            let _ = target.focus();
        }
    }
}
