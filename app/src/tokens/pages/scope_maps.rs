//! The scope map list, system-defined first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    components::layout::use_capabilities,
    components::ui::{
        DoneNotice, ErrorMessage, Loading, LINK, PRIMARY, TABLE, TABLE_WRAP, TBODY, TD, TD_WRAP, TH, THEAD,
    },
    model::Area,
    tokens::{
        api::list_scope_maps,
        ui::{scope_map_kind, Time},
    },
};

#[component]
pub fn ScopeMapsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| list_scope_maps());
    let can = use_capabilities();
    view! {
        <Title text="Scope maps" />
        <div class="flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"Scope maps"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "Which actions a token may do on which repositories. Editing one changes every token using it, on the next request."
                </p>
            </div>
            <Show when=move || can.get().can_write(Area::Configuration)>
                <A href="/scope-maps/new" attr:class=PRIMARY attr:data-testid="add-scope-map">"+ Add"</A>
            </Show>
        </div>
        <DoneNotice param="deleted" what="Scope map" verb="deleted" />
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(maps) => view! {
                        <div class=format!("{TABLE_WRAP} mt-4")>
                            <table class=TABLE data-testid="scope-maps-table">
                                <caption class="sr-only">"Scope maps, system-defined first"</caption>
                                <thead class=THEAD>
                                    <tr>
                                        <th scope="col" class=TH>"Name"</th>
                                        <th scope="col" class=TH>"Type"</th>
                                        <th scope="col" class=TH>"Creation date"</th>
                                        <th scope="col" class=TH>"Description"</th>
                                        <th scope="col" class=format!("{TH} text-right")>"Tokens"</th>
                                    </tr>
                                </thead>
                                <tbody class=TBODY>
                                    {maps.into_iter().map(|map| {
                                        let href = format!("/scope-maps/{}", map.name);
                                        let kind = scope_map_kind(&map);
                                        let row_name = map.name.clone();
                                        view! {
                                            <tr data-testid="scope-map-row" data-name=row_name class="hover:bg-slate-50">
                                                <td class=TD><A href=href attr:class=format!("{LINK} font-medium")>{map.name.clone()}</A></td>
                                                <td class=TD>
                                                    <span class=if map.system {
                                                        "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700"
                                                    } else {
                                                        "rounded-full bg-blue-50 px-2 py-0.5 text-xs font-medium text-blue-800"
                                                    }>{kind}</span>
                                                </td>
                                                <td class=TD><Time time=map.created /></td>
                                                <td class=format!("{TD_WRAP} min-w-64 text-slate-700")>{map.description}</td>
                                                <td class=format!("{TD} text-right tabular-nums") data-testid="token-count">{map.token_count}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}
