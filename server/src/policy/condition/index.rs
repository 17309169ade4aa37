//! [`ConditionIndex`]: a list of grants "these actions, wherever this
//! condition holds" (what an identity's honoured role assignments are)
//! compiled once, so that the actions on a repository are found by walking
//! the name down a byte trie of the conditions' values, however many grants
//! there are (issue 11: 1,000 role assignments with conditions of ten
//! clauses, under 10 µs per decision). Answers exactly what evaluating
//! every condition with [`Condition::allows`] answers. Pure; calls nothing
//! of this crate but the condition's syntax tree, [`Action`]/[`ActionSet`]
//! and [`RepositoryName`].
//!
//! # Method
//!
//! 1. **One action at a time.** With the action fixed, every
//!    `ActionMatches` clause is a constant. Each condition is specialised
//!    to each action its grant gives (once for all of them when it names
//!    no action): constants are folded, `NOT` is pushed down to the
//!    comparisons (a negated operator under `NOT` is the plain one), nested
//!    `AND`s and `OR`s are flattened. What remains is one of:
//!    - *true*: granted everywhere, as without a condition (the writes of
//!      the cloud's usual `(!ActionMatches{read} AND !ActionMatches{…}) OR …`);
//!    - *false*: never granted;
//!    - *a disjunction of plain comparisons* (`StringEquals…`,
//!      `StringStartsWith…`, alone or joined by `OR`): granted on the names
//!      that equal or start with one of the values, so the action is
//!      written on each value's node of the trie, as `CompiledScope` writes
//!      a rule's actions on its pattern;
//!    - anything else (a negated comparison left over, an `AND` of
//!      comparisons): a *formula*, see 3.
//! 2. **Comparisons are trie nodes.** A [`RepositoryName`] is valid by its
//!    type, hence lowercase ASCII. An `IgnoreCase` comparison with value
//!    `v` (which folds ASCII letters only) is then exactly the plain
//!    comparison with `v` ASCII-lowercased, and a case-sensitive one is the
//!    plain comparison with `v` itself (a value holding an uppercase letter
//!    never matches, as before). So each (test, folded value) is one
//!    *atom*, the `equals` or `starts_with` mark of the folded value's node
//!    in a byte trie. The atoms that hold for a name are the `starts_with`
//!    marks on the path the name walks from the root and the `equals` mark
//!    where it ends: one step per byte of the name, at most 255, whatever
//!    the number or lengths of the values (a hash of prefixes would hash
//!    one prefix per distinct value length, and hash the name each time).
//!    `StringStartsWith ''` holds for every name and is folded to *true*.
//! 3. **Formulas are evaluated only where an atom of theirs holds.**
//!    Identical formulas (same shape over the same atoms, whatever their
//!    spelling) are kept once with the union of their actions. A formula
//!    none of whose atoms holds for a name has the value it has with every
//!    atom false, computed when compiling; the actions that such formulas
//!    grant are counted per action. Each atom lists the formulas that
//!    mention it and what each of them is when that atom is the only one
//!    of theirs to hold, and sums that list up for a name where it is the
//!    only atom found that formulas mention: the actions granted, and per
//!    action the default-true formulas to take out of the counts. So a
//!    decision costs the walk plus nothing more when no atom found is
//!    mentioned by a formula or just one is (an exclusion shared by every
//!    formula included). When several are, the formulas they mention are
//!    taken out of the counts and given their value, read from the lists
//!    when one atom of theirs holds and evaluated over the atoms found
//!    when several do: the cost is then the number of (atom found, formula
//!    mentioning it) pairs, still not the number of grants.
//! 4. The decision stops as soon as it holds every action that some grant
//!    could give.
//!
//! Compiling costs one specialisation per grant and action and one trie
//! insertion per comparison; the trie takes about fifty bytes per distinct
//! byte prefix of the values. The property tests (`index/tests.rs`)
//! compare the index with [`Condition::allows`] on random conditions,
//! grants and names.

use std::collections::HashMap;
use std::fmt;

use super::{Condition, Expr, StringTest};
use crate::domain::RepositoryName;
use crate::policy::{Action, ActionSet};

#[cfg(test)]
mod tests;

/// Grants of actions under conditions, indexed for lookup by repository
/// name. Built by [`ConditionIndex::compile`]; the value of a deterministic
/// function of the grants in order, so equal grants give equal indexes.
#[derive(Clone, PartialEq, Eq)]
pub struct ConditionIndex {
    /// Granted on every repository: grants without a condition, and
    /// conditions that hold everywhere for an action.
    everywhere: ActionSet,
    /// Every action that some grant could give: once held, stop looking.
    reachable: ActionSet,
    /// The trie of folded values; `nodes[0]` is the root (the empty value).
    nodes: Vec<Node>,
    /// The atoms, each the `equals` or `starts_with` mark of one node.
    atoms: Vec<Atom>,
    formulas: Vec<Formula>,
    /// Per action (`action as usize`), how many formulas hold when none of
    /// their atoms does and grant that action.
    default_grants: [u32; ACTIONS],
}

const ACTIONS: usize = Action::ALL.len();

/// The slot of `action` in a per-action count (the enum is fieldless,
/// numbered from 0 like the bits of an [`ActionSet`]).
fn slot(action: Action) -> usize {
    action as usize
}

/// One node of the trie: the folded value spelt by the path from the root.
#[derive(Clone, Default, PartialEq, Eq)]
struct Node {
    /// Sorted by byte.
    children: Vec<(u8, u32)>,
    /// The atom "the name equals this value", if some condition compares so.
    equals: Option<u32>,
    /// The atom "the name starts with this value".
    starts_with: Option<u32>,
}

/// One comparison of the name with a folded value, as conditions use it.
#[derive(Clone, Default, PartialEq, Eq)]
struct Atom {
    /// Granted where the atom holds (it ends a disjunction of plain
    /// comparisons for these actions).
    grants: ActionSet,
    /// The formulas that mention the atom, in increasing order, each with
    /// its value when this atom is the only one of its atoms that holds.
    formulas: Vec<(u32, bool)>,
    /// The same, summed up for a name where no other atom mentioned by a
    /// formula holds: the actions of those formulas that hold then, and per
    /// action how many of them hold by default (and are no longer counted
    /// in [`ConditionIndex::default_grants`]).
    alone_grants: ActionSet,
    default_grants_mentioned: [u32; ACTIONS],
}

/// A condition specialised to some actions that the index cannot answer by
/// lookup alone.
#[derive(Clone, PartialEq, Eq)]
struct Formula {
    root: Term,
    actions: ActionSet,
    /// Its value when none of its atoms holds.
    holds_by_default: bool,
}

/// A specialised condition: `ActionMatches` folded away, negations on the
/// atoms only, no directly nested `All` in `All` nor `Any` in `Any`, at
/// least two operands in each.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Term {
    Atom { atom: u32, negated: bool },
    All(Vec<Term>),
    Any(Vec<Term>),
}

/// What a condition is once specialised to an action.
enum Residual {
    Constant(bool),
    Term(Term),
}

impl ConditionIndex {
    /// Indexes `grants`: each gives its actions wherever its condition
    /// holds for that action (everywhere without a condition).
    pub fn compile<'a>(grants: impl IntoIterator<Item = (ActionSet, Option<&'a Condition>)>) -> Self {
        let mut compiler = Compiler::default();
        for (actions, condition) in grants {
            compiler.add(actions, condition);
        }
        compiler.finish()
    }

    /// The union, over the grants, of the actions whose condition holds on
    /// `repository`: what `condition.allows(action, repository)` says for
    /// each grant and action, found with one walk of the trie.
    pub fn actions_for(&self, repository: &RepositoryName) -> ActionSet {
        let mut granted = self.everywhere;
        if granted == self.reachable {
            return granted;
        }
        // The atoms that hold and that some formula mentions.
        let mut found: Vec<u32> = Vec::new();
        let mut node = &self.nodes[0];
        let mut rest = repository.as_str().as_bytes();
        loop {
            // The node's value is a prefix of the name (the whole name once
            // `rest` is empty).
            self.visit(node.starts_with, &mut granted, &mut found);
            let next = match rest.split_first() {
                None => {
                    self.visit(node.equals, &mut granted, &mut found);
                    None
                }
                Some((byte, tail)) => node.child(*byte).map(|child| (child, tail)),
            };
            if granted == self.reachable {
                return granted;
            }
            let Some((child, tail)) = next else { break };
            node = &self.nodes[child as usize];
            rest = tail;
        }
        granted | self.formula_grants(&found, granted)
    }

    /// Adds what `atom` grants, and notes it if a formula mentions it.
    fn visit(&self, atom: Option<u32>, granted: &mut ActionSet, found: &mut Vec<u32>) {
        let Some(atom) = atom else { return };
        let entry = &self.atoms[atom as usize];
        *granted |= entry.grants;
        if !entry.formulas.is_empty() {
            found.push(atom);
        }
    }

    /// What the formulas grant when the atoms `found` hold and no other
    /// does, leaving out formulas whose actions `granted` already holds.
    fn formula_grants(&self, found: &[u32], granted: ActionSet) -> ActionSet {
        let mut default_grants = self.default_grants;
        let granted_here = match found {
            [] => ActionSet::EMPTY,
            [atom] => {
                let atom = &self.atoms[*atom as usize];
                for (count, mentioned) in default_grants.iter_mut().zip(atom.default_grants_mentioned) {
                    *count -= mentioned;
                }
                atom.alone_grants
            }
            _ => self.evaluate_mentioned(found, granted, &mut default_grants),
        };
        let by_default: ActionSet =
            Action::ALL.into_iter().filter(|action| default_grants[slot(*action)] > 0).collect();
        granted_here | by_default
    }

    /// What the formulas that the atoms `found` mention grant (those whose
    /// actions `granted` does not already hold), taking them out of
    /// `default_grants`.
    fn evaluate_mentioned(
        &self,
        found: &[u32],
        granted: ActionSet,
        default_grants: &mut [u32; ACTIONS],
    ) -> ActionSet {
        let mut granted_here = ActionSet::EMPTY;
        let mut mentioned: Vec<(u32, bool)> =
            found.iter().flat_map(|atom| self.atoms[*atom as usize].formulas.iter().copied()).collect();
        mentioned.sort_unstable_by_key(|(formula, _)| *formula);
        for run in mentioned.chunk_by(|a, b| a.0 == b.0) {
            let formula = &self.formulas[run[0].0 as usize];
            if formula.holds_by_default {
                for action in formula.actions {
                    default_grants[slot(action)] -= 1;
                }
            }
            if (granted | granted_here).contains_all(formula.actions) {
                continue;
            }
            let holds = if run.len() == 1 { run[0].1 } else { formula.root.holds(found) };
            if holds {
                granted_here |= formula.actions;
            }
        }
        granted_here
    }
}

impl Node {
    fn child(&self, byte: u8) -> Option<u32> {
        let index = self.children.binary_search_by_key(&byte, |(key, _)| *key).ok()?;
        Some(self.children[index].1)
    }
}

impl Term {
    /// The value when exactly the atoms of `holding` hold.
    fn holds(&self, holding: &[u32]) -> bool {
        match self {
            Term::Atom { atom, negated } => holding.contains(atom) != *negated,
            Term::All(terms) => terms.iter().all(|term| term.holds(holding)),
            Term::Any(terms) => terms.iter().any(|term| term.holds(holding)),
        }
    }

    /// The atoms of a plain comparison or of an `OR` of plain comparisons.
    fn plain_disjunction(&self) -> Option<Vec<u32>> {
        let plain = |term: &Term| match term {
            Term::Atom { atom, negated: false } => Some(*atom),
            _ => None,
        };
        match self {
            Term::Any(terms) => terms.iter().map(plain).collect(),
            term => plain(term).map(|atom| vec![atom]),
        }
    }

    fn for_each_atom(&self, visit: &mut impl FnMut(u32)) {
        match self {
            Term::Atom { atom, .. } => visit(*atom),
            Term::All(terms) | Term::Any(terms) => terms.iter().for_each(|term| term.for_each_atom(visit)),
        }
    }
}

/// The index under construction.
struct Compiler {
    everywhere: ActionSet,
    nodes: Vec<Node>,
    atoms: Vec<Atom>,
    formulas: Vec<Formula>,
    formula_ids: HashMap<Term, u32>,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler {
            everywhere: ActionSet::EMPTY,
            nodes: vec![Node::default()],
            atoms: Vec::new(),
            formulas: Vec::new(),
            formula_ids: HashMap::new(),
        }
    }
}

impl Compiler {
    fn add(&mut self, actions: ActionSet, condition: Option<&Condition>) {
        let Some(condition) = condition else {
            self.everywhere |= actions;
            return;
        };
        if actions.is_empty() {
            return;
        }
        if names_an_action(&condition.root) {
            for action in actions {
                let residual = self.specialise(&condition.root, Some(action), false);
                self.grant(action.into(), residual);
            }
        } else {
            let residual = self.specialise(&condition.root, None, false);
            self.grant(actions, residual);
        }
    }

    fn grant(&mut self, actions: ActionSet, residual: Residual) {
        let term = match residual {
            Residual::Constant(true) => {
                self.everywhere |= actions;
                return;
            }
            Residual::Constant(false) => return,
            Residual::Term(term) => term,
        };
        if let Some(atoms) = term.plain_disjunction() {
            for atom in atoms {
                self.atoms[atom as usize].grants |= actions;
            }
            return;
        }
        let next_id = u32::try_from(self.formulas.len()).expect("fewer than 2^32 formulas");
        let id = *self.formula_ids.entry(term.clone()).or_insert(next_id);
        if id == next_id {
            let holds_by_default = term.holds(&[]);
            self.formulas.push(Formula { root: term, actions: ActionSet::EMPTY, holds_by_default });
        }
        self.formulas[id as usize].actions |= actions;
    }

    /// `expr` (negated when `negate`) with `ActionMatches` decided for
    /// `action` (`None`: the expression names no action), its comparisons
    /// turned into atoms, negations pushed down to them and constants
    /// folded.
    fn specialise(&mut self, expr: &Expr, action: Option<Action>, negate: bool) -> Residual {
        match expr {
            Expr::ActionMatches(matched) => Residual::Constant((Some(*matched) == action) != negate),
            Expr::Compare(comparison) => {
                let operator = comparison.operator;
                let negated = operator.negated != negate;
                if operator.test == StringTest::StartsWith && comparison.value.is_empty() {
                    return Residual::Constant(!negated);
                }
                let folded = comparison.value.bytes().map(|byte| {
                    if operator.ignore_case {
                        byte.to_ascii_lowercase()
                    } else {
                        byte
                    }
                });
                let atom = self.atom(operator.test, folded);
                Residual::Term(Term::Atom { atom, negated })
            }
            Expr::Not(operand) => self.specialise(operand, action, !negate),
            Expr::All(operands) | Expr::Any(operands) => {
                // `NOT (a AND b)` is `NOT a OR NOT b`, and the other way.
                let conjunction = matches!(expr, Expr::All(_)) != negate;
                let mut terms = Vec::with_capacity(operands.len());
                for operand in operands {
                    match self.specialise(operand, action, negate) {
                        // `true` in an AND, `false` in an OR: no effect.
                        Residual::Constant(value) if value == conjunction => {}
                        absorbing @ Residual::Constant(_) => return absorbing,
                        Residual::Term(Term::All(inner)) if conjunction => terms.extend(inner),
                        Residual::Term(Term::Any(inner)) if !conjunction => terms.extend(inner),
                        Residual::Term(term) => terms.push(term),
                    }
                }
                match terms.len() {
                    0 => Residual::Constant(conjunction),
                    1 => Residual::Term(terms.pop().expect("one term")),
                    _ if conjunction => Residual::Term(Term::All(terms)),
                    _ => Residual::Term(Term::Any(terms)),
                }
            }
        }
    }

    /// The atom "`test` with the folded value `value`", made on first use.
    fn atom(&mut self, test: StringTest, value: impl Iterator<Item = u8>) -> u32 {
        let mut node = 0usize;
        for byte in value {
            let children = &self.nodes[node].children;
            node = match children.binary_search_by_key(&byte, |(key, _)| *key) {
                Ok(index) => children[index].1 as usize,
                Err(index) => {
                    let child = self.nodes.len();
                    let id = u32::try_from(child).expect("fewer than 2^32 trie nodes");
                    self.nodes[node].children.insert(index, (byte, id));
                    self.nodes.push(Node::default());
                    child
                }
            };
        }
        let next_atom = u32::try_from(self.atoms.len()).expect("fewer than 2^32 atoms");
        let mark = match test {
            StringTest::Equals => &mut self.nodes[node].equals,
            StringTest::StartsWith => &mut self.nodes[node].starts_with,
        };
        let atom = *mark.get_or_insert(next_atom);
        if atom == next_atom {
            self.atoms.push(Atom::default());
        }
        atom
    }

    fn finish(mut self) -> ConditionIndex {
        let mut default_grants = [0; ACTIONS];
        let mut reachable = self.everywhere;
        for (id, formula) in (0u32..).zip(&self.formulas) {
            reachable |= formula.actions;
            if formula.holds_by_default {
                for action in formula.actions {
                    default_grants[slot(action)] += 1;
                }
            }
            let mut atoms = Vec::new();
            formula.root.for_each_atom(&mut |atom| atoms.push(atom));
            atoms.sort_unstable();
            atoms.dedup();
            for atom in atoms {
                let alone = formula.root.holds(&[atom]);
                let entry = &mut self.atoms[atom as usize];
                entry.formulas.push((id, alone));
                if alone {
                    entry.alone_grants |= formula.actions;
                }
                if formula.holds_by_default {
                    for action in formula.actions {
                        entry.default_grants_mentioned[slot(action)] += 1;
                    }
                }
            }
        }
        for atom in &self.atoms {
            reachable |= atom.grants;
        }
        ConditionIndex {
            everywhere: self.everywhere,
            reachable,
            nodes: self.nodes,
            atoms: self.atoms,
            formulas: self.formulas,
            default_grants,
        }
    }
}

/// Whether `expr` holds an `ActionMatches` clause (else its value is the
/// same for every action).
fn names_an_action(expr: &Expr) -> bool {
    match expr {
        Expr::ActionMatches(_) => true,
        Expr::Compare(_) => false,
        Expr::Not(operand) => names_an_action(operand),
        Expr::All(operands) | Expr::Any(operands) => operands.iter().any(names_an_action),
    }
}

/// Sizes only, as for `CompiledScope`.
impl fmt::Debug for ConditionIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionIndex")
            .field("everywhere", &self.everywhere)
            .field("trie_nodes", &self.nodes.len())
            .field("atoms", &self.atoms.len())
            .field("formulas", &self.formulas.len())
            .finish()
    }
}
