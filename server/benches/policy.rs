//! Policy decision time: `CompiledScope::actions_for` on scope maps of 5,
//! 500 and 5,000 rules, and the time to compile each scope map. The index
//! answers in O(depth of the name) hash lookups, so the decision time must
//! not grow with the number of rules; a linear scan over the rules (what
//! the index replaces) is timed beside it for contrast.
//!
//! Then an identity's decision (issue 11's measure): 1,000 role
//! assignments, as ten groups would bring them, each with a condition of
//! ten clauses, decided by `IdentityAccess::actions_on` (its condition
//! index) for four shapes of condition: the ten prefixes, answered
//! by lookup, and three with negations, answered by the index's formulas.
//! The evaluation one assignment at a time (what the index replaces) is
//! timed beside it, and the time to compile the identity.
//!
//!   cargo bench -p server --bench policy
//!
//! Plain `std::time::Instant`, no harness: each figure is the median (and
//! the fastest) of five runs. Measured here, never asserted
//! (docs/BENCHMARKS.md).

use std::hint::black_box;
use std::time::Instant;

use server::{
    domain::{check_repository_name, RepositoryName},
    policy::{
        condition::Condition,
        roles::{IdentityAccess, Role, RoleAssignment, RoleAssignmentMode},
        Action, ActionSet, CompiledScope, PatternKind, RepositoryPattern, Rule,
    },
};

const RUNS: usize = 5;
const DECISIONS: usize = 1_000_000;
const DEPTHS: std::ops::RangeInclusive<usize> = 1..=6;
const PER_DEPTH: usize = 4;

fn rule(pattern: &str, actions: &[Action]) -> Rule {
    Rule::new(RepositoryPattern::parse(pattern).expect(pattern), ActionSet::of(actions))
}

/// `n` rules: one `*` (metadata/read only, so no decision stops early on
/// "everything allowed"), then exact names at depths 1 to 3 and prefixes
/// at depths 1 to 4, in rotation, spread over 50 organisations.
fn rules(n: usize) -> Vec<Rule> {
    use Action::*;
    let mut rules = vec![rule("*", &[MetadataRead])];
    for i in 1..n {
        let org = i % 50;
        let team = (i / 50) % 20;
        let pattern = match i % 7 {
            0 => format!("lib{i}"),
            1 => format!("org{org}/app{i}"),
            2 => format!("org{org}/team{team}/svc{i}"),
            3 => format!("top{i}/*"),
            4 => format!("org{org}/team{i}/*"),
            5 => format!("org{org}/team{team}/svc{i}/*"),
            _ => format!("org{org}/team{team}/svc{i}/part{i}/*"),
        };
        let actions: &[Action] = match i % 3 {
            0 => &[ContentRead],
            1 => &[ContentRead, ContentWrite],
            _ => &[ContentRead, MetadataRead, MetadataWrite],
        };
        rules.push(rule(&pattern, actions));
    }
    rules
}

/// A name of depth `depth` that `rule` covers, when there is one.
fn covered_at_depth(rule: &Rule, depth: usize) -> Option<String> {
    match rule.pattern.kind() {
        PatternKind::Root => None,
        PatternKind::Exact(name) => (name.split('/').count() == depth).then(|| name.to_owned()),
        PatternKind::Prefix(prefix) => {
            let below = depth.checked_sub(prefix.split('/').count()).filter(|below| *below > 0)?;
            Some(format!("{prefix}{}", "/x1".repeat(below)))
        }
    }
}

/// The decision written the obvious way, for contrast: every rule, each
/// pattern matched on its own.
fn linear_scan(rules: &[Rule], repository: &RepositoryName) -> ActionSet {
    rules
        .iter()
        .filter(|rule| rule.pattern.matches(repository))
        .fold(ActionSet::EMPTY, |all, rule| all | rule.actions)
}

/// For each depth 1..=6: up to four names a non-root rule covers ("hits",
/// taken across the whole rule list) and four that only `*` covers
/// ("misses", half of them sharing a first component with the rules).
fn query_strings(rules: &[Rule]) -> Vec<String> {
    let mut names = Vec::new();
    for depth in DEPTHS {
        let candidates: Vec<String> = rules.iter().filter_map(|rule| covered_at_depth(rule, depth)).collect();
        if !candidates.is_empty() {
            for k in 0..PER_DEPTH {
                names.push(candidates[k * candidates.len() / PER_DEPTH].clone());
            }
        }
        for k in 0..PER_DEPTH {
            let first = if k % 2 == 0 { format!("miss{k}") } else { format!("org{k}") };
            names.push(format!("{first}{}", "/nothere".repeat(depth - 1)));
        }
    }
    names
}

/// The same names, parsed as every request parses them before a decision.
fn queries(rules: &[Rule]) -> Vec<RepositoryName> {
    query_strings(rules).iter().map(|name| name.parse().expect(name)).collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Nanoseconds per call of `decide` over `names`, `decisions` calls per
/// run: the median and the fastest of RUNS runs.
fn time_decisions<Name>(
    names: &[Name],
    decisions: usize,
    mut decide: impl FnMut(&Name) -> ActionSet,
) -> (f64, f64) {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let mut allowed = 0usize;
        let start = Instant::now();
        for i in 0..decisions {
            allowed += decide(black_box(&names[i % names.len()])).len();
        }
        let elapsed = start.elapsed();
        black_box(allowed);
        runs.push(elapsed.as_nanos() as f64 / decisions as f64);
    }
    let fastest = runs.iter().copied().fold(f64::INFINITY, f64::min);
    (median(runs), fastest)
}

fn cell((median, fastest): (f64, f64)) -> String {
    format!("{median:.0} ({fastest:.0})")
}

fn main() {
    println!(
        "CompiledScope::actions_for, ns per decision: median (fastest) of {RUNS} runs of {DECISIONS} decisions"
    );
    println!(
        "{:>6} {:>13} {:>12} {:>12} {:>12} {:>14} {:>12} {:>16}",
        "rules", "compile (us)", "all names", "hits", "misses", "same 48 names", "name check", "linear scan"
    );
    // Names drawn from the 500-rule map, asked of every map: rules(5) and
    // rules(500) are the first rules of rules(5000).
    let common = queries(&rules(500));
    let root_only = ActionSet::of(&[Action::MetadataRead]);
    for n in [5, 500, 5_000] {
        let rules = rules(n);
        let names = queries(&rules);
        // The index must agree with the scan; hits get more than `*` gives.
        let scope = CompiledScope::compile(&rules);
        for name in names.iter().chain(&common) {
            assert_eq!(scope.actions_for(name), linear_scan(&rules, name), "{name}");
        }
        let (hits, misses): (Vec<RepositoryName>, Vec<RepositoryName>) =
            names.iter().cloned().partition(|name| scope.actions_for(name) != root_only);

        let compiles = (2_000_000 / n).max(20);
        let mut compile_runs = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            for _ in 0..compiles {
                black_box(CompiledScope::compile(black_box(&rules)));
            }
            compile_runs.push(start.elapsed().as_nanos() as f64 / compiles as f64 / 1_000.0);
        }
        let compile_us = median(compile_runs);

        let decide = |name: &RepositoryName| scope.actions_for(name);
        let all = time_decisions(&names, DECISIONS, decide);
        let hit = time_decisions(&hits, DECISIONS, decide);
        let miss = time_decisions(&misses, DECISIONS, decide);
        let same = time_decisions(&common, DECISIONS, decide);
        // The OCI grammar check every request's name passes once, alone.
        let strings = query_strings(&rules);
        let check = time_decisions(&strings, DECISIONS, |name: &String| {
            if check_repository_name(name).is_ok() {
                ActionSet::ALL
            } else {
                ActionSet::EMPTY
            }
        });
        let scans = (50_000_000 / n).clamp(10_000, DECISIONS);
        let linear = time_decisions(&names, scans, |name| linear_scan(&rules, name));
        println!(
            "{n:>6} {compile_us:>13.1} {:>12} {:>12} {:>12} {:>14} {:>12} {:>16}",
            cell(all),
            cell(hit),
            cell(miss),
            cell(same),
            cell(check),
            cell(linear),
        );
        println!("{:>6} {:>13} {:>12} {:>12} {:>12}", "", "(names)", names.len(), hits.len(), misses.len());
    }
    let depths: Vec<String> = DEPTHS.map(|depth| depth.to_string()).collect();
    println!(
        "names of depths {}: hits are covered by an exact or prefix rule, misses only by `*`;\n\
         name check: check_repository_name alone, which every request's name passes once;\n\
         the linear scan matches every rule's pattern in turn (what the index replaces)",
        depths.join(",")
    );
    identity_decisions();
}

const NAME: &str = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";
const IDENTITY_ASSIGNMENTS: usize = 1_000;
const CLAUSES: usize = 10;

/// The shapes of condition timed; assignment `a` compares the name with
/// `g<a>c<k>/` for each clause `k`.
#[derive(Clone, Copy)]
enum Shape {
    /// Issue 11's measure: ten `StringStartsWithIgnoreCase 'g<a>c<k>/'`
    /// joined by OR (the index looks them up).
    Prefixes,
    /// Nine such prefixes AND `StringNotStartsWithIgnoreCase
    /// 'g<a>c1/private/'`: every condition is a formula (the fallback).
    OwnExclusion,
    /// Nine prefixes AND `StringNotStartsWith 'restricted/'`, the same
    /// exclusion in every condition: a name under `restricted/` concerns
    /// all 1,000 formulas.
    SharedExclusion,
    /// NOT (ten prefixes): everything but them, a formula that holds
    /// wherever none of its comparisons does.
    EverythingBut,
}

impl Shape {
    const ALL: [Shape; 4] = [Self::Prefixes, Self::OwnExclusion, Self::SharedExclusion, Self::EverythingBut];

    fn label(self) -> &'static str {
        match self {
            Self::Prefixes => "10 prefixes (issue 11)",
            Self::OwnExclusion => "9 prefixes AND NOT own",
            Self::SharedExclusion => "9 prefixes AND NOT shared",
            Self::EverythingBut => "NOT (10 prefixes)",
        }
    }

    fn condition(self, a: usize) -> Condition {
        let prefix = |k: usize| format!("{NAME} StringStartsWithIgnoreCase 'g{a}c{k}/'");
        let any = |ks: std::ops::Range<usize>| ks.map(prefix).collect::<Vec<_>>().join(" OR ");
        let text = match self {
            Self::Prefixes => format!("({})", any(0..CLAUSES)),
            Self::OwnExclusion => {
                format!("({}) AND {NAME} StringNotStartsWithIgnoreCase 'g{a}c1/private/'", any(1..CLAUSES))
            }
            Self::SharedExclusion => {
                format!("({}) AND {NAME} StringNotStartsWith 'restricted/'", any(1..CLAUSES))
            }
            Self::EverythingBut => format!("!({})", any(0..CLAUSES)),
        };
        Condition::parse(&text).expect("condition")
    }

    /// Names under some condition's values (excluded ones included), and
    /// names under none.
    fn names(self) -> (Vec<RepositoryName>, Vec<RepositoryName>) {
        let parse = |names: &[&str]| -> Vec<RepositoryName> {
            names.iter().map(|name| name.parse().expect(name)).collect()
        };
        let under: &[&str] = match self {
            Self::Prefixes => &["g1c9/app", "g333c9/app", "g999c9/app"],
            Self::OwnExclusion => &["g1c9/app", "g333c5/app", "g999c1/app", "g1c1/private/app"],
            Self::SharedExclusion => &["g1c9/app", "g333c5/app", "g999c1/app", "restricted/app"],
            Self::EverythingBut => &["g1c9/app", "g333c5/app", "g999c1/app"],
        };
        (parse(under), parse(&["other/app", "g1c10/app"]))
    }
}

/// 1,000 role assignments (as ten groups of 100 would bring them) of the
/// three repository roles in turn, each with a condition of ten clauses
/// of `shape`.
fn assignments(shape: Shape) -> Vec<RoleAssignment> {
    let roles = [Role::RepositoryReader, Role::RepositoryWriter, Role::RepositoryContributor];
    (0..IDENTITY_ASSIGNMENTS)
        .map(|a| RoleAssignment::new(roles[a % roles.len()], Some(shape.condition(a))))
        .collect()
}

/// The decision as it was before the index: every assignment evaluated.
fn one_by_one(assignments: &[RoleAssignment], repository: &RepositoryName) -> ActionSet {
    assignments.iter().fold(ActionSet::EMPTY, |all, assignment| {
        all | assignment.actions_on(RoleAssignmentMode::RbacAbac, repository)
    })
}

fn identity_decisions() {
    const IDENTITY_DECISIONS: usize = 200_000;
    const ONE_BY_ONE_DECISIONS: usize = 1_000;
    const COMPILES: usize = 20;
    println!(
        "\nIdentityAccess::actions_on, {IDENTITY_ASSIGNMENTS} assignments of {CLAUSES} clauses each, ns per \
         decision: median (fastest) of {RUNS} runs of {IDENTITY_DECISIONS} ({ONE_BY_ONE_DECISIONS} one by one)"
    );
    println!(
        "{:<26} {:>13} {:>14} {:>14} {:>14} {:>20} {:>20}",
        "conditions",
        "compile (us)",
        "under a value",
        "under none",
        "slowest name",
        "1 by 1: under",
        "1 by 1: none"
    );
    for shape in Shape::ALL {
        let assignments = assignments(shape);
        let access = IdentityAccess::new(RoleAssignmentMode::RbacAbac, assignments.clone());
        let (under, other) = shape.names();
        // The index must agree with the evaluation.
        for name in under.iter().chain(&other) {
            assert_eq!(access.actions_on(name), one_by_one(&assignments, name), "{name}");
        }

        let mut compile_runs = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            for _ in 0..COMPILES {
                black_box(IdentityAccess::new(RoleAssignmentMode::RbacAbac, black_box(assignments.clone())));
            }
            compile_runs.push(start.elapsed().as_nanos() as f64 / COMPILES as f64 / 1_000.0);
        }
        let compile_us = median(compile_runs);

        let decide = |name: &RepositoryName| access.actions_on(name);
        let hit = time_decisions(&under, IDENTITY_DECISIONS, decide);
        let miss = time_decisions(&other, IDENTITY_DECISIONS, decide);
        let slowest = under
            .iter()
            .chain(&other)
            .map(|name| time_decisions(std::slice::from_ref(name), IDENTITY_DECISIONS, decide))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .expect("names");
        let linear = |name: &RepositoryName| one_by_one(&assignments, name);
        let linear_hit = time_decisions(&under, ONE_BY_ONE_DECISIONS, linear);
        let linear_miss = time_decisions(&other, ONE_BY_ONE_DECISIONS, linear);
        println!(
            "{:<26} {compile_us:>13.1} {:>14} {:>14} {:>14} {:>20} {:>20}",
            shape.label(),
            cell(hit),
            cell(miss),
            cell(slowest),
            cell(linear_hit),
            cell(linear_miss)
        );
    }
    println!(
        "names under a value: some condition compares them with a value they start with (excluded ones\n\
         too); slowest name: the slowest of these names alone; compile: IdentityAccess::new, the\n\
         assignments' clone included; 1 by 1: every assignment's RoleAssignment::actions_on, what\n\
         actions_on did before the index"
    );
}
