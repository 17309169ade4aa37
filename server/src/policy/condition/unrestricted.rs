//! Which actions a condition does not restrict: those for which it holds on
//! every valid repository name, so the API can say "content/write is not
//! restricted by the condition". Decided exactly by evaluating the condition
//! on a finite set of witness names; the method and why it is exact are
//! below. Calls nothing but the repository-name grammar.
//!
//! # Method
//!
//! With the action fixed, every `ActionMatches` clause is a constant, so
//! the condition is a Boolean formula over its comparisons. A comparison
//! against value `v` depends on the name `n` only through "`n` equals `v'`"
//! and "`v'` is a prefix of `n`", where `v'` is `v` lowercased when the
//! operator ignores case (names are lowercase ASCII, so this is exact).
//! Call these folded values `V`. The values of `V` that are prefixes of `n`
//! are prefixes of one another, so they are fixed by the longest of them,
//! `p` (or the empty base when there is none), and `n` either is `p` or
//! strictly extends it without any longer value of `V` being a prefix of
//! it. Two names in the same of these finitely many classes satisfy the
//! same comparisons, so the condition holds on every name exactly when it
//! holds on one valid name of each class that has one. One is found among:
//!
//! - `p` itself, for each `p` in `V`;
//! - `p + s + c` for each `p` in `V` and the empty base, each `c` in
//!   `[a-z0-9]`, and each separator `s` of the grammar: none, `/`, `.`,
//!   `_`, `__`, and 1 to `k` dashes, where `k` is one more than the longest
//!   run of dashes in any value,
//!
//! keeping those that are valid names. Why this is enough: take a valid `n`
//! that strictly extends `p` and avoids the longer values. Cut it just after
//! the first letter or digit that follows `p`: the cut name is still valid
//! (a prefix of a valid name that ends in a letter or digit is valid), still
//! strictly extends `p`, and still avoids every longer value (a value that
//! is a prefix of the cut name is a prefix of `n`). It is `p + s + c` where
//! `s` is the tail of a separator run: one of those listed, except that a
//! run of more than `k` dashes may be shortened to `k` without changing
//! which values are its prefixes, since no value holds `k` dashes in a row.
//!
//! Cost: at most 51 bases × (5 + `k`) separators × 36 characters names,
//! each evaluated once for all actions together; `k` is at most 256 because
//! a longer run cannot occur in a valid name.

use super::Expr;
use crate::domain::{check_repository_name, REPOSITORY_NAME_MAX_LENGTH};
use crate::policy::ActionSet;

/// The actions of `actions` for which `root` holds on every valid name.
pub(super) fn unrestricted_actions(root: &Expr, actions: ActionSet) -> ActionSet {
    let mut unrestricted = actions;
    for name in witness_names(&folded_values(root)) {
        unrestricted = unrestricted.iter().filter(|action| root.holds(*action, &name)).collect();
        if unrestricted.is_empty() {
            break;
        }
    }
    unrestricted
}

/// The compared values as a lowercase name must spell them to match:
/// lowercased for the operators that ignore case. Sorted, without repeats.
fn folded_values(root: &Expr) -> Vec<String> {
    let mut values = Vec::new();
    root.for_each_comparison(&mut |comparison| {
        let value = &comparison.value;
        values.push(if comparison.operator.ignore_case { value.to_ascii_lowercase() } else { value.clone() });
    });
    values.sort();
    values.dedup();
    values
}

/// One valid repository name from every class of names that the values can
/// tell apart (see the module documentation).
fn witness_names(values: &[String]) -> impl Iterator<Item = String> + '_ {
    let separators = separators(values);
    let bases = std::iter::once("").chain(values.iter().map(String::as_str));
    let extended = bases.flat_map(move |base| {
        let separators = separators.clone();
        separators.into_iter().flat_map(move |separator| {
            NAME_ALPHANUMERICS.chars().map(move |character| format!("{base}{separator}{character}"))
        })
    });
    values.iter().cloned().chain(extended).filter(|name| check_repository_name(name).is_ok())
}

const NAME_ALPHANUMERICS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// The separator tails a witness may need: none, `/`, `.`, `_`, `__`, and
/// runs of 1 to one more than the longest run of dashes in any value.
fn separators(values: &[String]) -> Vec<String> {
    let longest_dash_run = values.iter().map(|value| longest_dash_run(value)).max().unwrap_or(0);
    let dash_runs =
        (1..=longest_dash_run.min(REPOSITORY_NAME_MAX_LENGTH) + 1).map(|length| "-".repeat(length));
    ["", "/", ".", "_", "__"].into_iter().map(str::to_owned).chain(dash_runs).collect()
}

fn longest_dash_run(value: &str) -> usize {
    value.split(|character| character != '-').map(str::len).max().unwrap_or(0)
}
