//! Modal dialogs: the browser's own `<dialog>` opened with `showModal()`
//! (focus moves into it, the rest of the page is inert, Tab stays inside),
//! closed with Escape or its buttons, focus given back to where it was.
//! A dialog exists in the page only while it is open, so nothing it showed
//! stays behind. Tab wraps from the last control to the first and back
//! (a modal `<dialog>` alone would let focus leave to the browser).

use leptos::{html, prelude::*};

use crate::tokens::ui::{DANGER, SECONDARY};

/// A modal dialog, rendered while `open` is true. `on_close` runs when the
/// user closes it (Escape or the browser closing it); buttons inside call
/// their own handlers, which set `open` to false.
#[component]
pub fn Modal(
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    #[prop(into)] title: Signal<String>,
    testid: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <ModalPanel on_close title testid>
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
    on_cleanup(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(element) = opener.try_get_value().flatten() {
            if let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>() {
                let _ = element.focus();
            }
        }
    });
    view! {
        <dialog node_ref=dialog role="dialog" aria-modal="true" aria-labelledby=title_id.clone() data-testid=testid
            class="m-auto w-[calc(100%-2rem)] max-w-xl rounded-lg bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/60"
            on:keydown=move |event| {
                if event.key() == "Escape" {
                    event.prevent_default();
                    on_close.run(());
                } else if event.key() == "Tab" {
                    if let Some(element) = dialog.get_untracked() {
                        focus::keep_tab_inside(&element, &event);
                    }
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

/// "Are you sure?" for a destructive action: names what goes, Cancel
/// first (and focused), the red button second.
#[component]
pub fn ConfirmDialog(
    #[prop(into)] open: Signal<bool>,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] confirm_label: String,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<String>>,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
    testid: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    let confirm_label = StoredValue::new(confirm_label);
    view! {
        <Modal open title testid on_close=on_cancel>
            <div class="mt-3 text-sm text-slate-700">{children.with_value(|children| children())}</div>
            {move || error.get().map(|message| view! {
                <p class="mt-3 rounded bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid="confirm-error">{message}</p>
            })}
            <div class="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
                <button type="button" class=SECONDARY on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <button type="button" class=DANGER data-testid="confirm" disabled=move || pending.get()
                    on:click=move |_| on_confirm.run(())>
                    {move || if pending.get() { "Working…".to_owned() } else { confirm_label.get_value() }}
                </button>
            </div>
        </Modal>
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

#[cfg(not(feature = "hydrate"))]
mod focus {
    pub fn keep_tab_inside<D, E>(_dialog: &D, _event: &E) {}
}
