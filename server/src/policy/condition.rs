//! The condition language of role assignments (SPEC §1 "Identities and role
//! assignments"; seed 004; issue 11 "Conditions"): the cloud registry's
//! condition text, version 2.0, restricted to what a repository condition
//! can say. Owns parsing (with positioned errors and limits), the canonical
//! printer, evaluation for one (action, repository) pair, the index that
//! evaluates many conditions at once ([`ConditionIndex`]), and the analyses
//! the API reports (actions the condition leaves unrestricted, prefixes
//! without a trailing `/`). Pure: no I/O, no async; it calls nothing of this
//! crate but [`Action`]/[`ActionSet`] and the repository-name grammar.
//!
//! # Grammar accepted
//!
//! ```text
//! condition  := expression                         (whole text, ≤ 8 KiB)
//! expression := unary ( (AND unary)+ | (OR unary)+ )?
//! unary      := (NOT | '!') unary | primary
//! primary    := '(' expression ')'
//!             | ActionMatches '{' string '}'
//!             | @Request[Microsoft.ContainerRegistry/registries/repositories:name] operator string
//! operator   := String[Not]Equals[IgnoreCase] | String[Not]StartsWith[IgnoreCase]
//! AND        := AND | &&            OR := OR | ||
//! string     := ' characters, a quote written as two quotes '' '
//! ```
//!
//! Decisions where the cloud's documentation is silent or open:
//! - `AND`, `OR`, `NOT`, the function and operator names, the attribute and
//!   the action names are matched ignoring ASCII case (the cloud's resource
//!   provider and operation names are case-insensitive); a value keeps its
//!   case, and only the `...IgnoreCase` operators ignore it.
//! - `a AND b OR c` is refused: the cloud's documentation says that mixing
//!   the two needs parentheses, so no precedence is guessed.
//! - `NOT`/`!` applies to the expression right after it, so
//!   `!ActionMatches{'…'} AND x` is `(!ActionMatches{'…'}) AND x`.
//! - The cloud's documentation gives no escape for a quote inside a value;
//!   here two quotes stand for one (`'it''s'`). A backslash is an ordinary
//!   character. Repository names never contain either, so this only matters
//!   for the negated operators.
//! - Refused with an error that says so: `StringLike` and the other operator
//!   families (numeric, date, GUID, cross-product `ForAnyOfAnyValues:…` and
//!   value lists `{'a', 'b'}`), `SubOperationMatches`, `Exists`, any other
//!   attribute (`@Resource[…]` included), and wildcard actions
//!   (`ActionMatches{'…/*'}`): none can be evaluated faithfully against a
//!   repository name, and accepting text that is then read differently than
//!   the cloud reads it would grant by surprise.
//!
//! # Limits
//! At most [`MAX_CONDITION_BYTES`] bytes of text (the given text and its
//! canonical form both), at most [`MAX_EXPRESSIONS`] expressions (each
//! `ActionMatches{…}` clause and each name comparison counts one; `AND`,
//! `OR`, `NOT` and parentheses count nothing) and at most [`MAX_DEPTH`]
//! levels of nesting, so hostile text cannot exhaust the stack.

mod index;
mod parser;
mod unrestricted;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use super::{Action, ActionSet};
use crate::domain::RepositoryName;

pub use index::ConditionIndex;

/// The longest condition accepted, in bytes (the cloud's limit, 8 KB).
pub const MAX_CONDITION_BYTES: usize = 8 * 1024;

/// The most `ActionMatches` clauses plus name comparisons in one condition.
pub const MAX_EXPRESSIONS: usize = 50;

/// The deepest nesting accepted: of parentheses in the text, and of
/// `NOT`/`AND`/`OR` in the parsed condition (its canonical form has exactly
/// one pair of parentheses per level, so it always parses back).
pub const MAX_DEPTH: usize = 32;

/// The one attribute a condition may compare: the repository's name.
pub const REPOSITORY_NAME_ATTRIBUTE: &str =
    "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";

/// The cloud's name of a data action is this prefix and the action string.
pub const ACTION_PREFIX: &str = "Microsoft.ContainerRegistry/registries/repositories/";

/// A parsed condition. Equality is equality of the syntax tree (grouping
/// parentheses are not part of it); [`fmt::Display`] writes the canonical
/// text, which parses back to an equal condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    root: Expr,
}

/// A node of the syntax tree. `All`/`Any` hold at least two operands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    /// `ActionMatches{'…'}`: true when the action being decided is this one.
    ActionMatches(Action),
    /// `@Request[…:name] <operator> '<value>'`.
    Compare(Comparison),
    Not(Box<Expr>),
    All(Vec<Expr>),
    Any(Vec<Expr>),
}

/// One comparison of the repository name with a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparison {
    operator: Operator,
    value: String,
}

/// One of the eight string operators: equality or prefix, possibly negated,
/// possibly ignoring ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    test: StringTest,
    negated: bool,
    ignore_case: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringTest {
    Equals,
    StartsWith,
}

/// Where in the condition text an error is: byte offset, and 1-based line
/// and column (columns count characters). Displays as `line:column`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

/// Why a condition was refused. Messages are written for the person who
/// typed it: where (`line:column`), what was expected, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error(
        "the condition is empty: write for example \
         {REPOSITORY_NAME_ATTRIBUTE} StringStartsWithIgnoreCase 'backend/'"
    )]
    Empty,

    #[error(
        "the condition is {length} bytes long{canonical}; the limit is {MAX_CONDITION_BYTES} bytes",
        canonical = if *.canonical { " once written canonically" } else { "" }
    )]
    TooLong { length: usize, canonical: bool },

    #[error(
        "more than {MAX_EXPRESSIONS} expressions (each ActionMatches clause and each name \
         comparison counts one): expression {next} starts at {at}",
        next = MAX_EXPRESSIONS + 1
    )]
    TooManyExpressions { at: Position },

    #[error("nesting deeper than {MAX_DEPTH} levels (parentheses, NOT, AND, OR) at {at}")]
    TooDeep { at: Position },

    #[error("expected {expected} at {at}, found {found}")]
    Unexpected { at: Position, expected: String, found: String },

    #[error(
        "AND and OR are mixed without parentheses at {at}: group them, as in \
         (a AND b) OR c, or a AND (b OR c)"
    )]
    MixedAndOr { at: Position },

    #[error("{what} at {at} is not supported in a repository condition: {hint}")]
    Unsupported { at: Position, what: String, hint: &'static str },

    #[error(
        "unknown action {action:?} at {at}: expected {ACTION_PREFIX} followed by content/read, \
         content/write, content/delete, metadata/read or metadata/write"
    )]
    UnknownAction { at: Position, action: String },

    #[error("unknown attribute {attribute:?} at {at}: the only attribute is {REPOSITORY_NAME_ATTRIBUTE}")]
    UnknownAttribute { at: Position, attribute: String },

    #[error("the quoted value that starts at {at} is not closed with '")]
    UnterminatedString { at: Position },
}

impl Condition {
    /// Parses condition text, enforcing the limits of the module.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        text.parse()
    }

    /// Whether the condition holds for `action` on `repository`, that is,
    /// whether a role assignment with this condition grants `action` there
    /// (when its role holds `action` at all). `ActionMatches{'X'}` is true
    /// exactly when `action` is X, as in the cloud: in the common shape
    /// `(!(ActionMatches{A}) AND !(ActionMatches{B})) OR <name test>`, an
    /// action other than A and B is granted on every repository.
    pub fn allows(&self, action: Action, repository: &RepositoryName) -> bool {
        self.root.holds(action, repository.as_str())
    }

    /// The actions of `actions` that this condition does not restrict: it
    /// holds for them on every valid repository name. The answer is exact;
    /// see [`unrestricted`] for the method.
    pub fn unrestricted_actions(&self, actions: ActionSet) -> ActionSet {
        unrestricted::unrestricted_actions(&self.root, actions)
    }

    /// The values compared with `StringStartsWith` or
    /// `StringStartsWithIgnoreCase` that do not end with `/`, in order of
    /// appearance, each once. Such a prefix is the cloud's documented
    /// pitfall: `backend` also matches `backend-infra/k8s`, `backendsvc/…`
    /// and `backend` itself. (The negated forms are not listed: they
    /// exclude too much rather than grant too much.)
    pub fn prefixes_without_trailing_slash(&self) -> Vec<&str> {
        let mut prefixes = Vec::new();
        self.root.for_each_comparison(&mut |comparison| {
            let operator = comparison.operator;
            let grants_by_prefix = operator.test == StringTest::StartsWith && !operator.negated;
            let value = comparison.value.as_str();
            if grants_by_prefix && !value.ends_with('/') && !prefixes.contains(&value) {
                prefixes.push(value);
            }
        });
        prefixes
    }
}

/// The syntax tree as other modules see it: the portal's visual editor
/// reads a condition through it and builds one with it. The operator is
/// the cloud's spelling (`StringStartsWithIgnoreCase`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    ActionMatches(Action),
    RepositoryName { operator: String, value: String },
    Not(Box<Node>),
    All(Vec<Node>),
    Any(Vec<Node>),
}

impl Condition {
    /// The names of the operators a comparison may use, in the order an
    /// editor offers them.
    pub fn operator_names() -> Vec<String> {
        let mut names: Vec<Operator> = Operator::ALL.to_vec();
        // Plain before negated, prefix after equality, IgnoreCase first.
        names.sort_by_key(|operator| {
            (operator.negated, operator.test == StringTest::StartsWith, !operator.ignore_case)
        });
        names.into_iter().map(|operator| operator.to_string()).collect()
    }

    /// The syntax tree, for an editor.
    pub fn node(&self) -> Node {
        self.root.node()
    }

    /// The condition an editor built: refused as the same text would be
    /// (it is printed canonically and parsed back, so every limit holds).
    /// A group of one is that one expression; an empty group is refused.
    pub fn from_node(node: &Node) -> Result<Condition, ConditionError> {
        let root = Expr::from_node(node)?;
        Condition::parse(&root.to_string())
    }
}

impl Expr {
    fn node(&self) -> Node {
        match self {
            Expr::ActionMatches(action) => Node::ActionMatches(*action),
            Expr::Compare(comparison) => Node::RepositoryName {
                operator: comparison.operator.to_string(),
                value: comparison.value.clone(),
            },
            Expr::Not(operand) => Node::Not(Box::new(operand.node())),
            Expr::All(operands) => Node::All(operands.iter().map(Expr::node).collect()),
            Expr::Any(operands) => Node::Any(operands.iter().map(Expr::node).collect()),
        }
    }

    fn from_node(node: &Node) -> Result<Expr, ConditionError> {
        let start = Position { offset: 0, line: 1, column: 1 };
        let group = |operands: &[Node], join: fn(Vec<Expr>) -> Expr| -> Result<Expr, ConditionError> {
            let mut operands = operands.iter().map(Expr::from_node).collect::<Result<Vec<_>, _>>()?;
            match operands.len() {
                0 => Err(ConditionError::Unexpected {
                    at: start,
                    expected: "an expression in every group".to_owned(),
                    found: "an empty group".to_owned(),
                }),
                1 => Ok(operands.remove(0)),
                _ => Ok(join(operands)),
            }
        };
        match node {
            Node::ActionMatches(action) => Ok(Expr::ActionMatches(*action)),
            Node::RepositoryName { operator, value } => {
                let operator = Operator::named(operator).ok_or_else(|| ConditionError::Unexpected {
                    at: start,
                    expected: "a String operator".to_owned(),
                    found: format!("{operator:?}"),
                })?;
                Ok(Expr::Compare(Comparison { operator, value: value.clone() }))
            }
            Node::Not(operand) => Ok(Expr::Not(Box::new(Expr::from_node(operand)?))),
            Node::All(operands) => group(operands, Expr::All),
            Node::Any(operands) => group(operands, Expr::Any),
        }
    }
}

impl FromStr for Condition {
    type Err = ConditionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let condition = Condition { root: parser::parse(text)? };
        let canonical_length = condition.to_string().len();
        if canonical_length > MAX_CONDITION_BYTES {
            return Err(ConditionError::TooLong { length: canonical_length, canonical: true });
        }
        Ok(condition)
    }
}

/// The canonical text: one line; `AND`, `OR` and `!`; every `AND`/`OR`
/// group and every negated expression in parentheses, nothing else in
/// parentheses; the cloud's spelling of names; quotes in values doubled.
/// The common shape prints as
/// `((!(ActionMatches{'…content/read'}) AND !(ActionMatches{'…metadata/read'})) OR @Request[…] StringStartsWithIgnoreCase 'backend/')`.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::ActionMatches(action) => write!(f, "ActionMatches{{'{ACTION_PREFIX}{action}'}}"),
            Expr::Compare(comparison) => write!(
                f,
                "{REPOSITORY_NAME_ATTRIBUTE} {} '{}'",
                comparison.operator,
                comparison.value.replace('\'', "''")
            ),
            Expr::Not(operand) => write!(f, "!({operand})"),
            Expr::All(operands) => write_group(f, operands, " AND "),
            Expr::Any(operands) => write_group(f, operands, " OR "),
        }
    }
}

fn write_group(f: &mut fmt::Formatter<'_>, operands: &[Expr], joiner: &str) -> fmt::Result {
    f.write_str("(")?;
    for (index, operand) in operands.iter().enumerate() {
        if index > 0 {
            f.write_str(joiner)?;
        }
        write!(f, "{operand}")?;
    }
    f.write_str(")")
}

impl Expr {
    /// The value of the expression for one action and one name.
    fn holds(&self, action: Action, name: &str) -> bool {
        match self {
            Expr::ActionMatches(matched) => *matched == action,
            Expr::Compare(comparison) => comparison.matches(name),
            Expr::Not(operand) => !operand.holds(action, name),
            Expr::All(operands) => operands.iter().all(|operand| operand.holds(action, name)),
            Expr::Any(operands) => operands.iter().any(|operand| operand.holds(action, name)),
        }
    }

    /// Levels of `NOT`/`AND`/`OR` above the deepest leaf (a leaf is 0).
    fn depth(&self) -> usize {
        match self {
            Expr::ActionMatches(_) | Expr::Compare(_) => 0,
            Expr::Not(operand) => 1 + operand.depth(),
            Expr::All(operands) | Expr::Any(operands) => {
                1 + operands.iter().map(Expr::depth).max().unwrap_or(0)
            }
        }
    }

    fn for_each_comparison<'a>(&'a self, visit: &mut impl FnMut(&'a Comparison)) {
        match self {
            Expr::ActionMatches(_) => {}
            Expr::Compare(comparison) => visit(comparison),
            Expr::Not(operand) => operand.for_each_comparison(visit),
            Expr::All(operands) | Expr::Any(operands) => {
                operands.iter().for_each(|operand| operand.for_each_comparison(visit))
            }
        }
    }
}

impl Comparison {
    /// Whether `name` passes. Case is ignored for ASCII letters only:
    /// repository names are lowercase ASCII, and Unicode case folding could
    /// map a non-ASCII value onto an ASCII name (`K`, the Kelvin sign,
    /// lowercases to `k`).
    fn matches(&self, name: &str) -> bool {
        let (name, value) = (name.as_bytes(), self.value.as_bytes());
        let candidate = match self.operator.test {
            StringTest::Equals => name,
            StringTest::StartsWith => &name[..value.len().min(name.len())],
        };
        let equal = if self.operator.ignore_case {
            candidate.eq_ignore_ascii_case(value)
        } else {
            candidate == value
        };
        equal != self.operator.negated
    }
}

impl Operator {
    /// Every operator, for lookup by name.
    const ALL: [Operator; 8] = {
        let mut all = [Operator { test: StringTest::Equals, negated: false, ignore_case: false }; 8];
        let mut index = 0;
        while index < 8 {
            all[index] = Operator {
                test: if index & 4 == 0 { StringTest::Equals } else { StringTest::StartsWith },
                negated: index & 2 != 0,
                ignore_case: index & 1 != 0,
            };
            index += 1;
        }
        all
    };

    /// The operator spelt `name`, ignoring ASCII case.
    fn named(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|operator| operator.to_string().eq_ignore_ascii_case(name))
    }
}

/// The cloud's spelling, e.g. `StringNotStartsWithIgnoreCase`.
impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = if self.negated { "Not" } else { "" };
        let test = match self.test {
            StringTest::Equals => "Equals",
            StringTest::StartsWith => "StartsWith",
        };
        let case = if self.ignore_case { "IgnoreCase" } else { "" };
        write!(f, "String{not}{test}{case}")
    }
}

impl Position {
    /// The position of byte `offset` of `text`.
    fn locate(text: &str, offset: usize) -> Position {
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Position {
            offset,
            line: 1 + before.matches('\n').count(),
            column: 1 + before[line_start..].chars().count(),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}
