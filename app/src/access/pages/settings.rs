//! Settings: the registry's role assignment permissions mode. Before a
//! change the server's preview lists who gains and who loses which access,
//! and the confirmation names how many assignments change.
//!
//! The preview is asked for when the administrator picks the other mode,
//! from the browser only, and held in a signal rather than a resource: the
//! server renders the page without it, and the browser hydrates the same.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    access::{
        api::{get_mode, preview_mode, set_mode},
        model::{member_label, ModePreview, RoleAssignmentMode},
    },
    components::{
        dialog::ConfirmDialog,
        layout::use_capabilities,
        ui::{
            use_csrf, ErrorMessage, Loading, CARD, HINT, PRIMARY, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH,
            THEAD,
        },
    },
    model::Area,
};

fn mode_title(mode: RoleAssignmentMode) -> &'static str {
    match mode {
        RoleAssignmentMode::Rbac => "RBAC Registry Permissions",
        RoleAssignmentMode::RbacAbac => "RBAC Registry + ABAC Repository Permissions",
    }
}

fn mode_hint(mode: RoleAssignmentMode) -> &'static str {
    match mode {
        RoleAssignmentMode::Rbac => {
            "Role assignments apply to the whole registry; Owner, Contributor, Reader and the Acr roles give repository access. Conditions are not honoured."
        }
        RoleAssignmentMode::RbacAbac => {
            "The Container Registry Repository roles can be scoped to repositories with conditions; the Acr roles are not honoured and Owner, Contributor and Reader give no repository access."
        }
    }
}

/// "No role assignment changes its effect." or "3 role assignments change
/// their effect", the sentence both the preview and the dialog start from.
fn change_count(count: usize) -> String {
    match count {
        0 => "No role assignment changes its effect".to_owned(),
        1 => "1 role assignment changes its effect".to_owned(),
        n => format!("{n} role assignments change their effect"),
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let refresh = RwSignal::new(0_u32);
    let mode = Resource::new(move || refresh.get(), |_| get_mode());
    view! {
        <Title text="Settings" />
        <h1 class="text-2xl font-semibold tracking-tight">"Settings"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match mode.await {
                    Ok(mode) => view! { <ModeForm current=mode refresh /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

/// The server's answer to "what if the mode were `to`".
#[derive(Clone)]
enum Preview {
    /// The current mode is chosen: nothing to preview.
    Unchanged,
    Asking,
    Ready(ModePreview),
    Refused(String),
}

#[component]
fn ModeForm(current: RoleAssignmentMode, refresh: RwSignal<u32>) -> impl IntoView {
    let csrf = use_csrf();
    let writer = use_capabilities().get_untracked().can_write(Area::Configuration);
    let chosen = RwSignal::new(current);
    let preview = RwSignal::new(Preview::Unchanged);
    // Only the latest question's answer is shown.
    let asked = StoredValue::new(0_u32);
    let choose = move |mode: RoleAssignmentMode| {
        chosen.set(mode);
        asked.update_value(|n| *n += 1);
        if mode == current {
            preview.set(Preview::Unchanged);
            return;
        }
        preview.set(Preview::Asking);
        let ticket = asked.get_value();
        spawn_local(async move {
            let answer = preview_mode(mode).await;
            if asked.get_value() == ticket {
                preview.set(match answer {
                    Ok(changes) => Preview::Ready(changes),
                    Err(refused) => Preview::Refused(refused.to_string()),
                });
            }
        });
    };
    let count = move || match preview.get() {
        Preview::Ready(preview) => Some(preview.changes.len()),
        _ => None,
    };
    let confirming = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let confirm = move |_| {
        pending.set(true);
        error.set(None);
        let csrf = csrf();
        let to = chosen.get_untracked();
        spawn_local(async move {
            let answer = set_mode(csrf, to).await;
            pending.set(false);
            match answer {
                Ok(_) => {
                    confirming.set(false);
                    refresh.update(|n| *n += 1);
                }
                Err(refused) => error.set(Some(refused.to_string())),
            }
        });
    };
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    view! {
        <section class=format!("{CARD} mt-6 max-w-4xl") aria-labelledby="mode-heading" data-testid="mode-settings"
            data-live=move || live.get().to_string()>
            <h2 id="mode-heading" class="text-lg font-semibold">"Role assignment permissions mode"</h2>
            <p class="mt-1 text-sm" data-testid="current-mode" data-mode=current.as_str()>
                "Now: " <strong>{mode_title(current)}</strong>
            </p>
            <fieldset class="mt-4 space-y-3" disabled=!writer>
                <legend class="sr-only">"Mode"</legend>
                {[RoleAssignmentMode::Rbac, RoleAssignmentMode::RbacAbac]
                    .into_iter()
                    .map(|mode| view! {
                        <label class="flex items-start gap-3 text-sm">
                            <input type="radio" name="mode" class="mt-1 h-4 w-4 accent-blue-700" data-testid="mode-option"
                                data-mode=mode.as_str() checked=mode == current
                                prop:checked=move || chosen.get() == mode on:change=move |_| choose(mode) />
                            <span>
                                <span class="font-medium">{mode_title(mode)}</span>
                                <span class=format!("{HINT} block")>{mode_hint(mode)}</span>
                            </span>
                        </label>
                    })
                    .collect_view()}
            </fieldset>
            <div aria-live="polite">
                {move || match preview.get() {
                    Preview::Unchanged => ().into_any(),
                    Preview::Asking => view! { <Loading /> }.into_any(),
                    Preview::Ready(preview) => view! { <PreviewChanges preview /> }.into_any(),
                    Preview::Refused(message) => view! { <ErrorMessage message /> }.into_any(),
                }}
            </div>
            <p class="mt-4 text-sm text-slate-600" data-testid="read-only" hidden=writer>
                "You can read the settings; changing them needs Owner, Contributor, or Container Registry Contributor and Data Access Configuration Administrator."
            </p>
            <div class="mt-5" hidden=!writer>
                <button type="button" class=PRIMARY data-testid="save-mode"
                    disabled=move || chosen.get() == current || count().is_none()
                    on:click=move |_| { error.set(None); confirming.set(true); }>"Save"</button>
            </div>
        </section>
        <ConfirmDialog open=confirming title="Change the permissions mode?" confirm_label="Change mode"
            pending error testid="mode-dialog" confirm_testid="confirm-mode"
            on_confirm=confirm on_cancel=move |()| confirming.set(false)>
            <p data-testid="mode-dialog-summary">{move || {
                let to = mode_title(chosen.get());
                match count() {
                    Some(0) => format!("Switch to {to}? No role assignment changes its effect."),
                    Some(n) => format!("Switch to {to}? {}, from the next request on.", change_count(n)),
                    None => String::new(),
                }
            }}</p>
        </ConfirmDialog>
    }
    .into_any()
}

#[component]
fn PreviewChanges(preview: ModePreview) -> impl IntoView {
    let count = preview.changes.len();
    let heading =
        if count == 0 { format!("{}.", change_count(0)) } else { format!("{}:", change_count(count)) };
    view! {
        <p class="mt-4 text-sm font-medium" data-testid="mode-preview-count" data-count=count.to_string()>{heading}</p>
        {(count > 0).then(|| view! {
            <div class=format!("{TABLE_WRAP} mt-2")>
                <table class=TABLE data-testid="mode-preview">
                    <thead class=THEAD>
                        <tr>
                            <th scope="col" class=TH>"Identity"</th>
                            <th scope="col" class=TH>"Role"</th>
                            <th scope="col" class=TH>"Now"</th>
                            <th scope="col" class=TH>"After"</th>
                        </tr>
                    </thead>
                    <tbody class=TBODY>
                        {preview.changes.into_iter().map(|change| view! {
                            <tr data-testid="mode-change">
                                <td class=TD>{member_label(&change.assignee.name, change.assignee.kind)}</td>
                                <td class=TD_WRAP>{change.role}</td>
                                <td class=TD_WRAP>{change.before}</td>
                                <td class=TD_WRAP>{change.after}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
    }
    .into_any()
}
