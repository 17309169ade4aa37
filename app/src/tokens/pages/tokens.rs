//! The token list: server-side paging and prefix search by name, sorted
//! either way, each token with its status and password expiries.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::{
    components::layout::use_capabilities,
    components::ui::{
        DoneNotice, ErrorMessage, Loading, INPUT, LABEL, LINK, PRIMARY, SECONDARY, TABLE, TABLE_WRAP, TBODY,
        TD, TH, THEAD,
    },
    model::Area,
    tokens::{
        api::list_tokens,
        model::{PasswordSlot, Token, TokenList, PAGE_SIZE},
        ui::{encode, Day, PasswordExpiry, StatusBadge, Time},
    },
};

/// Where a page of the list is: the search, the cursor of this page and
/// the cursors of the pages before it (for "Previous"), all in the URL so
/// a reload or a shared link shows the same page.
#[derive(Clone, Debug, PartialEq)]
struct ListPosition {
    search: String,
    after: Option<String>,
    /// Cursors of the earlier pages after the first (token names hold no
    /// comma).
    trail: Vec<String>,
    /// Z→A instead of A→Z.
    descending: bool,
}

impl ListPosition {
    fn href(search: &str, after: Option<&str>, trail: &[String], descending: bool) -> String {
        let mut params = Vec::new();
        if !search.is_empty() {
            params.push(format!("q={}", encode(search)));
        }
        if descending {
            params.push("order=desc".to_owned());
        }
        if let Some(after) = after {
            params.push(format!("after={}", encode(after)));
        }
        if !trail.is_empty() {
            params.push(format!("trail={}", encode(&trail.join(","))));
        }
        if params.is_empty() {
            "/tokens".to_owned()
        } else {
            format!("/tokens?{}", params.join("&"))
        }
    }

    fn next(&self, next: &str) -> String {
        let mut trail = self.trail.clone();
        trail.extend(self.after.clone());
        Self::href(&self.search, Some(next), &trail, self.descending)
    }

    /// The first page in the other order.
    fn reversed(&self) -> String {
        Self::href(&self.search, None, &[], !self.descending)
    }

    fn previous(&self) -> Option<String> {
        self.after.as_ref()?;
        let mut trail = self.trail.clone();
        let after = trail.pop();
        Some(Self::href(&self.search, after.as_deref(), &trail, self.descending))
    }

    fn page_number(&self) -> usize {
        self.trail.len() + usize::from(self.after.is_some()) + 1
    }
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let query = use_query_map();
    let position = Memo::new(move |_| {
        query.with(|query| ListPosition {
            search: query.get("q").unwrap_or_default().trim().to_owned(),
            after: query.get("after").filter(|after| !after.is_empty()),
            trail: query
                .get("trail")
                .map(|trail| trail.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            descending: query.get("order").is_some_and(|order| order == "desc"),
        })
    });
    let data = Resource::new(
        move || position.with(|p| (p.search.clone(), p.after.clone(), p.descending)),
        |(search, after, descending)| list_tokens(search, after, PAGE_SIZE, descending),
    );
    let search = move || position.with(|p| p.search.clone());
    let can = use_capabilities();
    view! {
        <Title text="Tokens" />
        <div class="flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"Tokens"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "Credentials that can do exactly what their scope map lists, on exactly those repositories."
                </p>
            </div>
            <Show when=move || can.get().can_write(Area::Configuration)>
                <A href="/tokens/new" attr:class=PRIMARY attr:data-testid="add-token">"+ Add"</A>
            </Show>
        </div>
        <DoneNotice param="discarded" what="Token" verb="discarded" />
        <Form method="GET" action="/tokens" attr:class="mt-6 flex flex-wrap items-end gap-2" attr:role="search">
            <label class="block w-full sm:w-80">
                <span class=LABEL>"Search by name"</span>
                <input type="search" name="q" class=INPUT data-testid="token-search" placeholder="Name starts with…"
                    autocomplete="off" spellcheck="false" value=search prop:value=search />
            </label>
            <input type="hidden" name="order"
                value=move || if position.with(|p| p.descending) { "desc" } else { "" } />
            <button type="submit" class=SECONDARY data-testid="token-search-submit">"Search"</button>
            <Show when=move || !search().is_empty()>
                <A href="/tokens" attr:class=format!("{LINK} px-2 py-2 text-sm")>"Clear search"</A>
            </Show>
        </Form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <TokenTable list position=position.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn TokenTable(list: TokenList, position: ListPosition) -> impl IntoView {
    let total = match list.total {
        1 => "1 token in the registry".to_owned(),
        n => format!("{n} tokens in the registry"),
    };
    let empty = list.items.is_empty();
    let empty_message = if position.search.is_empty() {
        "No tokens yet. Choose + Add to create one.".to_owned()
    } else {
        format!("No token name starts with “{}”.", position.search)
    };
    let previous = position.previous();
    let next = list.next.as_deref().map(|next| position.next(next));
    let page = position.page_number();
    view! {
        <p class="mt-4 text-sm text-slate-600" data-testid="tokens-total">{total}</p>
        <div class=format!("{TABLE_WRAP} mt-4")>
            <table class=TABLE data-testid="tokens-table">
                <caption class="sr-only">"Tokens, sorted by name"</caption>
                <thead class=THEAD>
                    <tr>
                        <th scope="col" class=TH aria-sort=if position.descending { "descending" } else { "ascending" }>
                            <A href=position.reversed() attr:class=LINK attr:data-testid="tokens-sort"
                                attr:title=if position.descending { "Sort A→Z" } else { "Sort Z→A" }>
                                {if position.descending { "Name ↓" } else { "Name ↑" }}
                            </A>
                        </th>
                        <th scope="col" class=WIDE_TH>"Scope map"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=PHONE_TH>"Expires"</th>
                        <th scope="col" class=WIDE_TH>"Created"</th>
                        <th scope="col" class=WIDE_TH>"Password 1 expires"</th>
                        <th scope="col" class=WIDE_TH>"Password 2 expires"</th>
                        <th scope="col" class=WIDE_TH>"Last used"</th>
                    </tr>
                </thead>
                <tbody class=TBODY>
                    {list.items.into_iter().map(|token| view! { <TokenRow token /> }).collect_view()}
                </tbody>
            </table>
            {empty.then(|| view! { <p class="px-4 py-6 text-center text-sm text-slate-500" data-testid="tokens-empty">{empty_message}</p> })}
        </div>
        <nav class="mt-4 flex items-center justify-between gap-4 text-sm" aria-label="Pages">
            {match previous {
                Some(href) => view! { <A href=href attr:class=SECONDARY attr:data-testid="tokens-previous" attr:rel="prev">"← Previous"</A> }.into_any(),
                None => view! { <span class=format!("{SECONDARY} opacity-50") aria-disabled="true">"← Previous"</span> }.into_any(),
            }}
            <span class="text-slate-600" data-testid="tokens-page">{format!("Page {page}")}</span>
            {match next {
                Some(href) => view! { <A href=href attr:class=SECONDARY attr:data-testid="tokens-next" attr:rel="next">"Next →"</A> }.into_any(),
                None => view! { <span class=format!("{SECONDARY} opacity-50") aria-disabled="true">"Next →"</span> }.into_any(),
            }}
        </nav>
    }
    .into_any()
}

#[component]
fn TokenRow(token: Token) -> impl IntoView {
    let href = format!("/tokens/{}", token.name);
    let scope_map_href = format!("/scope-maps/{}", token.scope_map);
    let soonest = soonest_expiry(&token.passwords);
    let mut passwords = token.passwords.into_iter();
    let password1 = passwords.next();
    let password2 = passwords.next();
    let row_name = token.name.clone();
    view! {
        <tr data-testid="token-row" data-name=row_name class="hover:bg-slate-50">
            <td class=NAME_TD><A href=href attr:class=format!("{LINK} font-medium")>{token.name}</A></td>
            <td class=WIDE_NAME_TD><A href=scope_map_href attr:class=LINK>{token.scope_map}</A></td>
            <td class=TD><StatusBadge enabled=token.enabled /></td>
            <td class=PHONE_TD data-testid="token-expires">{soonest.map(|password| view! { <PasswordExpiry password compact=true /> })}</td>
            <td class=WIDE_TD><Day time=token.created /></td>
            <td class=WIDE_TD>{password1.map(|password| view! { <PasswordExpiry password compact=true /> })}</td>
            <td class=WIDE_TD>{password2.map(|password| view! { <PasswordExpiry password compact=true /> })}</td>
            <td class=WIDE_TD>{match token.last_used {
                Some(time) => view! { <Time time /> }.into_any(),
                None => view! { <span class="text-slate-400">"Never"</span> }.into_any(),
            }}</td>
        </tr>
    }
    .into_any()
}

/// Columns a phone leaves out, and the one only a phone shows.
const WIDE_TH: &str = "hidden sm:table-cell whitespace-nowrap px-4 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-600";
const WIDE_TD: &str = "hidden sm:table-cell whitespace-nowrap px-4 py-2 align-top";
const PHONE_TH: &str = "sm:hidden whitespace-nowrap px-4 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-600";
const PHONE_TD: &str = "sm:hidden whitespace-nowrap px-4 py-2 align-top";
/// Names wrap (at their hyphens) rather than widen the table.
const NAME_TD: &str = "px-4 py-2 align-top break-words";
const WIDE_NAME_TD: &str = "hidden sm:table-cell px-4 py-2 align-top break-words";

/// The password a phone's one "Expires" column shows: the generated one
/// that expires first, else a generated one without expiry, else the first
/// slot ("Not generated").
fn soonest_expiry(passwords: &[PasswordSlot]) -> Option<PasswordSlot> {
    let generated = passwords.iter().filter(|password| password.generated());
    generated
        .clone()
        .filter(|password| password.expiry.is_some())
        .min_by(|a, b| a.expiry.as_ref().map(|t| &t.iso).cmp(&b.expiry.as_ref().map(|t| &t.iso)))
        .or_else(|| generated.clone().next())
        .or_else(|| passwords.first())
        .cloned()
}
