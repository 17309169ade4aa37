//! Tests of the condition language: the source's three examples verbatim
//! (the cloud's documentation, whose portal steps seed 004 reproduces),
//! error messages with their positions, the limits, and property tests:
//! the printer round trip, lenient spellings, evaluation against a naive
//! interpreter, and `unrestricted_actions` against an exhaustive check.

use proptest::prelude::*;

use super::*;
use crate::domain::check_repository_name;
use Action::*;

const ONE_REPOSITORY: &str = "(
 (
  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'})
  AND
  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})
 )
 OR 
 (
  @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'nginx'
 )
)";

const ONE_PREFIX: &str = "(
 (
  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'})
  AND
  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})
 )
 OR 
 (
  @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'
 )
)";

const TWO_PREFIXES: &str = "(
 (
  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'})
  AND
  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})
 )
 OR 
 (
  @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'
  OR
  @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'frontend/js/'
 )
)";

/// The `condition` field of `az role assignment create`'s output for the
/// prefix example: newlines removed, the indentation left as spaces.
const ONE_PREFIX_AS_THE_CLI_ECHOES_IT: &str = "( (  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'})  AND  !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}) ) OR  (  @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/' ))";

const READ_ACTIONS: &str =
    "(!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) \
     AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'}))";

const READER: ActionSet = ActionSet::of(&[ContentRead, MetadataRead]);
const WRITER: ActionSet = ActionSet::of(&[ContentRead, MetadataRead, ContentWrite, MetadataWrite]);

fn name(text: &str) -> RepositoryName {
    text.parse().unwrap()
}

fn parse(text: &str) -> Condition {
    Condition::parse(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

fn message(text: &str) -> String {
    match Condition::parse(text) {
        Ok(condition) => panic!("{text:?} should be refused, parsed as {condition}"),
        Err(error) => error.to_string(),
    }
}

/// `@Request[...] <operator> '<value>'`.
fn compare(operator: &str, value: &str) -> String {
    format!("{REPOSITORY_NAME_ATTRIBUTE} {operator} '{value}'")
}

fn granted(condition: &Condition, action: Action, repositories: &[&str]) -> Vec<bool> {
    repositories.iter().map(|repository| condition.allows(action, &name(repository))).collect()
}

// ------------------------------------------------------------- the source

#[test]
fn one_repository_example_grants_reading_that_repository_only() {
    let condition = parse(ONE_REPOSITORY);
    assert_eq!(
        condition.to_string(),
        format!("({READ_ACTIONS} OR {})", compare("StringEqualsIgnoreCase", "nginx"))
    );
    let repositories = ["nginx", "nginx2", "library/nginx", "nginx/sub"];
    for action in READER {
        assert_eq!(granted(&condition, action, &repositories), [true, false, false, false], "{action}");
    }
}

#[test]
fn prefix_example_reaches_backend_slash_only() {
    let condition = parse(ONE_PREFIX);
    assert_eq!(
        condition.to_string(),
        format!("({READ_ACTIONS} OR {})", compare("StringStartsWithIgnoreCase", "backend/"))
    );
    let repositories = [
        "backend/nginx",
        "backend/redis",
        "backend/a/b",
        "backend-infra/k8s",
        "backend-backup/store",
        "backend",
        "backendsvc/containers",
        "frontend/js/react",
    ];
    let expected = [true, true, true, false, false, false, false, false];
    for action in READER {
        assert_eq!(granted(&condition, action, &repositories), expected, "{action}");
    }
    assert!(condition.prefixes_without_trailing_slash().is_empty());
}

#[test]
fn two_prefixes_example_joins_them_with_or() {
    let condition = parse(TWO_PREFIXES);
    assert_eq!(
        condition.to_string(),
        format!(
            "({READ_ACTIONS} OR ({} OR {}))",
            compare("StringStartsWithIgnoreCase", "backend/"),
            compare("StringStartsWithIgnoreCase", "frontend/js/")
        )
    );
    let repositories = [
        "backend/nginx",
        "frontend/js/react",
        "frontend/js/vue",
        "frontend/css/x",
        "frontend",
        "backend-infra/k8s",
    ];
    let expected = [true, true, true, false, false, false];
    for action in READER {
        assert_eq!(granted(&condition, action, &repositories), expected, "{action}");
    }
}

#[test]
fn the_clis_single_line_echo_is_the_same_condition() {
    assert_eq!(parse(ONE_PREFIX_AS_THE_CLI_ECHOES_IT), parse(ONE_PREFIX));
}

#[test]
fn a_prefix_without_its_slash_reaches_the_sources_surprises_and_is_listed() {
    let condition = parse(&ONE_PREFIX.replace("'backend/'", "'backend'"));
    let surprises = ["backend-infra/k8s", "backend-backup/store", "backend", "backendsvc/containers"];
    for action in READER {
        assert_eq!(granted(&condition, action, &surprises), [true; 4], "{action}");
    }
    assert_eq!(condition.prefixes_without_trailing_slash(), ["backend"]);
}

#[test]
fn only_granting_prefix_operators_are_listed_once_each() {
    let text = [
        compare("StringStartsWith", "a"),
        compare("StringStartsWithIgnoreCase", "b/"),
        compare("StringNotStartsWith", "c"),
        compare("StringEquals", "d"),
        compare("StringStartsWithIgnoreCase", ""),
        compare("StringStartsWith", "a"),
    ]
    .join(" OR ");
    assert_eq!(parse(&text).prefixes_without_trailing_slash(), ["a", ""]);
}

#[test]
fn a_writer_whose_condition_names_only_the_reads_leaves_the_writes_unrestricted() {
    let condition = parse(ONE_PREFIX);
    assert_eq!(condition.unrestricted_actions(WRITER), ActionSet::of(&[ContentWrite, MetadataWrite]));
    assert_eq!(condition.unrestricted_actions(READER), ActionSet::EMPTY);
    for repository in ["backend/nginx", "other/x"] {
        assert!(condition.allows(ContentWrite, &name(repository)), "{repository}");
        assert!(condition.allows(MetadataWrite, &name(repository)), "{repository}");
    }
    assert!(!condition.allows(ContentRead, &name("other/x")));
}

// ------------------------------------------------------------- evaluation

#[test]
fn each_operator_on_case_and_prefix_boundaries() {
    let repositories = ["nginx", "nginx/x", "ngin", "other"];
    let table: [(&str, &str, [bool; 4]); 10] = [
        ("StringEquals", "nginx", [true, false, false, false]),
        ("StringEquals", "NGINX", [false, false, false, false]),
        ("StringEqualsIgnoreCase", "NGINX", [true, false, false, false]),
        ("StringNotEquals", "nginx", [false, true, true, true]),
        ("StringNotEqualsIgnoreCase", "NgInX", [false, true, true, true]),
        ("StringStartsWith", "nginx", [true, true, false, false]),
        ("StringStartsWith", "Nginx", [false, false, false, false]),
        ("StringStartsWithIgnoreCase", "Nginx/", [false, true, false, false]),
        ("StringNotStartsWith", "ngin", [false, false, false, true]),
        ("StringNotStartsWithIgnoreCase", "NGINX", [false, false, true, true]),
    ];
    for (operator, value, expected) in table {
        let condition = parse(&compare(operator, value));
        assert_eq!(granted(&condition, ContentRead, &repositories), expected, "{operator} {value:?}");
    }
}

#[test]
fn action_matches_is_true_for_the_action_being_decided_only() {
    for named in Action::ALL {
        let condition = parse(&format!("ActionMatches{{'{ACTION_PREFIX}{named}'}}"));
        for action in Action::ALL {
            assert_eq!(condition.allows(action, &name("any/repo")), action == named, "{named} {action}");
        }
    }
}

#[test]
fn ignoring_case_folds_ascii_letters_only() {
    // The Kelvin sign lowercases to `k` in Unicode; it is not an ASCII `K`.
    let condition = parse(&compare("StringEqualsIgnoreCase", "\u{212A}8s"));
    assert!(!condition.allows(ContentRead, &name("k8s")));
    assert!(parse(&compare("StringEqualsIgnoreCase", "K8S")).allows(ContentRead, &name("k8s")));
}

// ---------------------------------------------------- unrestricted actions

#[test]
fn unrestricted_actions_are_decided_over_valid_repository_names() {
    let always = ActionSet::ALL;
    let never = ActionSet::EMPTY;
    let table = [
        // Names are never empty, never uppercase, never start or end with `-`.
        (compare("StringNotEquals", ""), always),
        (compare("StringStartsWith", ""), always),
        (compare("StringNotStartsWith", "Backend/"), always),
        (compare("StringNotStartsWithIgnoreCase", "Backend/"), never),
        (compare("StringNotStartsWith", "-"), always),
        (compare("StringNotEquals", "a-"), always),
        (compare("StringNotEquals", "a"), never),
        (format!("{} OR {}", compare("StringStartsWith", "a"), compare("StringNotStartsWith", "a")), always),
        (format!("ActionMatches{{'{ACTION_PREFIX}content/read'}}"), ActionSet::from(ContentRead)),
        (format!("!ActionMatches{{'{ACTION_PREFIX}content/read'}}"), ActionSet::ALL.without(ContentRead)),
    ];
    for (text, expected) in table {
        assert_eq!(parse(&text).unrestricted_actions(ActionSet::ALL), expected, "{text}");
    }
}

/// "Not under `a`, or `a` itself, or `a` followed by a letter, digit, `/`,
/// `.`, `_` or `<dashes>`": unrestricted only if `<dashes>` is one dash,
/// since `a-b` must be covered and only a one-dash prefix covers it.
#[test]
fn unrestricted_actions_find_witnesses_behind_runs_of_dashes() {
    let covered = |dashes: &str| {
        let mut clauses =
            vec![format!("!({})", compare("StringStartsWith", "a")), compare("StringEquals", "a")];
        let continuations =
            NAME_CHARACTERS.chars().map(String::from).chain(["/", ".", "_"].map(String::from));
        clauses.extend(continuations.map(|next| compare("StringStartsWith", &format!("a{next}"))));
        clauses.push(compare("StringStartsWith", &format!("a{dashes}")));
        parse(&clauses.join(" OR ")).unrestricted_actions(ActionSet::ALL)
    };
    assert_eq!(covered("-"), ActionSet::ALL);
    assert_eq!(covered("--"), ActionSet::EMPTY);
    assert_eq!(covered("---"), ActionSet::EMPTY);
}

const NAME_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

// ------------------------------------------------------------- the syntax

#[test]
fn the_cloud_spellings_are_accepted_in_any_case_and_with_symbols() {
    let canonical = parse(&format!(
        "(!(ActionMatches{{'{ACTION_PREFIX}content/read'}}) OR ({} AND {}))",
        compare("StringStartsWithIgnoreCase", "a/"),
        compare("StringNotEquals", "a/b")
    ));
    let variants = [
        "(!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) OR \
         (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'a/' AND \
         @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringNotEquals 'a/b'))",
        "!ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'} || \
         (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'a/' && \
         @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringNotEquals 'a/b')",
        "not actionmatches{'microsoft.containerregistry/registries/repositories/CONTENT/READ'} or\n\t(\
         @request[microsoft.containerregistry/registries/repositories:NAME] stringstartswithignorecase 'a/' and \
         @REQUEST[Microsoft.ContainerRegistry/registries/repositories:name] STRINGNOTEQUALS 'a/b')",
        "((((NOT(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}))) Or ((\
         @Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'a/') And \
         (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringNotEquals 'a/b'))))",
    ];
    for text in variants {
        assert_eq!(parse(text), canonical, "{text}");
    }
}

#[test]
fn a_quote_in_a_value_is_written_twice() {
    let condition = parse(&compare("StringNotEquals", "it''s \\ ''quoted'' "));
    assert_eq!(condition.to_string(), compare("StringNotEquals", "it''s \\ ''quoted'' "));
    assert_eq!(condition, parse(&condition.to_string()));
    let Expr::Compare(comparison) = &condition.root else { panic!("{condition:?}") };
    assert_eq!(comparison.value, "it's \\ 'quoted' ");
}

#[test]
fn malformed_conditions_are_refused_with_the_position_and_what_was_expected() {
    let attribute = REPOSITORY_NAME_ATTRIBUTE;
    let table = [
        (
            format!("{attribute} 'backend/'"),
            "expected an operator such as StringStartsWithIgnoreCase after @Request[...] at 1:68, \
             found the value \"backend/\"",
        ),
        (
            format!("(\n  {attribute} StringEquals 'a'\n  OR {attribute} StringEquals 'b'\n"),
            "expected AND, OR or `)` to close the `(` at 1:1 at 4:1, found the end of the condition",
        ),
        (
            format!("{} AND {} OR {}", compare("StringEquals", "a"), compare("StringEquals", "b"), "x"),
            "AND and OR are mixed without parentheses at 1:173: group them, as in (a AND b) OR c, \
             or a AND (b OR c)",
        ),
        (
            format!("{attribute} StringEquals 'nginx"),
            "the quoted value that starts at 1:81 is not closed with '",
        ),
        (
            format!("{attribute} StringEquals \"nginx\""),
            "expected a value in single quotes after StringEquals at 1:81, found '\"'",
        ),
        (
            format!("!(ActionMatches{{'{ACTION_PREFIX}content/list'}})"),
            "unknown action \"Microsoft.ContainerRegistry/registries/repositories/content/list\" at 1:17: \
             expected Microsoft.ContainerRegistry/registries/repositories/ followed by content/read, \
             content/write, content/delete, metadata/read or metadata/write",
        ),
        (
            format!("ActionMatches{{'{ACTION_PREFIX}content/*'}}"),
            "the wildcard action \"Microsoft.ContainerRegistry/registries/repositories/content/*\" at 1:15 \
             is not supported in a repository condition: name each action in its own \
             ActionMatches{'...'} clause",
        ),
        (
            format!("{attribute} StringLike 'backend/*'"),
            "the operator StringLike at 1:68 is not supported in a repository condition: wildcards are \
             not evaluated; use StringEquals... or StringStartsWith...",
        ),
        (
            format!("{attribute} ForAnyOfAnyValues:StringEquals {{'a', 'b'}}"),
            "the operator ForAnyOfAnyValues:StringEquals at 1:68 is not supported in a repository \
             condition: compare the name with one value per expression and join the expressions with OR",
        ),
        (
            "@Resource[Microsoft.ContainerRegistry/registries/repositories:name] StringEquals 'a'".to_owned(),
            "unknown attribute \"@Resource[Microsoft.ContainerRegistry/registries/repositories:name]\" at 1:1: \
             the only attribute is @Request[Microsoft.ContainerRegistry/registries/repositories:name]",
        ),
        (
            format!("{} x", compare("StringEquals", "a")),
            "expected AND, OR or the end of the condition at 1:85, found `x`",
        ),
        (
            format!("({} AND )", compare("StringEquals", "a")),
            "expected an expression: `(`, `!`, NOT, ActionMatches{'...'} or @Request[...] at 1:90, found `)`",
        ),
        ("  \n\t ".to_owned(), ""),
    ];
    for (text, expected) in table {
        let expected =
            if expected.is_empty() { ConditionError::Empty.to_string() } else { expected.to_owned() };
        assert_eq!(message(&text), expected, "{text:?}");
    }
}

#[test]
fn positions_count_lines_and_characters() {
    let error = Condition::parse("(\n  é ActionMatches").unwrap_err();
    let ConditionError::Unexpected { at, .. } = error else { panic!("{error:?}") };
    assert_eq!(at, Position { offset: 4, line: 2, column: 3 });
}

// ------------------------------------------------------------- the limits

#[test]
fn fifty_expressions_are_accepted_and_the_fifty_first_is_refused() {
    let clauses = |count: usize| (0..count).map(|index| compare("StringEquals", &format!("r{index}")));
    let fifty = clauses(50).collect::<Vec<_>>().join(" OR ");
    assert!(Condition::parse(&fifty).is_ok());
    let fifty_one = clauses(51).collect::<Vec<_>>().join(" OR ");
    let error = Condition::parse(&fifty_one).unwrap_err();
    let start_of_last = fifty_one.rfind('@').unwrap();
    assert_eq!(error, ConditionError::TooManyExpressions { at: Position::locate(&fifty_one, start_of_last) });
    assert!(error.to_string().starts_with("more than 50 expressions"), "{error}");
}

#[test]
fn eight_kib_of_text_is_accepted_and_one_byte_more_is_refused() {
    let padded = |length: usize| {
        let bare = compare("StringEquals", "").len();
        compare("StringEquals", &"a".repeat(length - bare))
    };
    assert!(Condition::parse(&padded(8192)).is_ok());
    assert_eq!(
        Condition::parse(&padded(8193)),
        Err(ConditionError::TooLong { length: 8193, canonical: false })
    );
    assert_eq!(message(&padded(8193)), "the condition is 8193 bytes long; the limit is 8192 bytes");
}

#[test]
fn a_condition_whose_canonical_text_is_too_long_is_refused() {
    // Each `!` becomes `!(...)`: 30 of them add 60 bytes.
    let bare = format!("{}{}", "!".repeat(30), compare("StringEquals", ""));
    let text = format!("{}{}'", &bare[..bare.len() - 1], "a".repeat(8192 - bare.len()));
    assert_eq!(text.len(), 8192);
    assert_eq!(Condition::parse(&text), Err(ConditionError::TooLong { length: 8252, canonical: true }));
}

#[test]
fn nesting_beyond_the_limit_is_refused_without_exhausting_the_stack() {
    let leaf = compare("StringEquals", "a");
    let parenthesised = |depth: usize| format!("{}{leaf}{}", "(".repeat(depth), ")".repeat(depth));
    assert!(Condition::parse(&parenthesised(32)).is_ok());
    let too_deep = parenthesised(33);
    assert_eq!(
        Condition::parse(&too_deep),
        Err(ConditionError::TooDeep { at: Position::locate(&too_deep, 32) })
    );
    assert!(matches!(Condition::parse(&"(".repeat(8000)), Err(ConditionError::TooDeep { .. })));
    assert!(matches!(Condition::parse(&"!".repeat(8000)), Err(ConditionError::TooDeep { .. })));
    assert!(Condition::parse(&format!("{}{leaf}", "NOT ".repeat(32))).is_ok());
    assert!(matches!(
        Condition::parse(&format!("{}{leaf}", "NOT ".repeat(33))),
        Err(ConditionError::TooDeep { .. })
    ));
    // Sixteen `!(`: 16 parentheses and 16 negations, 16 levels in the tree.
    let negated = format!("{}{leaf}{}", "!(".repeat(16), ")".repeat(16));
    assert_eq!(parse(&negated).root.depth(), 16);
    assert_eq!(parse(&parse(&negated).to_string()), parse(&negated));
}

// ------------------------------------------------------ property tests

pub(super) fn operator() -> impl Strategy<Value = Operator> {
    (0..Operator::ALL.len()).prop_map(|index| Operator::ALL[index])
}

pub(super) fn action() -> impl Strategy<Value = Action> {
    (0..Action::ALL.len()).prop_map(|index| Action::ALL[index])
}

fn leaf(value: BoxedStrategy<String>) -> impl Strategy<Value = Expr> {
    prop_oneof![
        action().prop_map(Expr::ActionMatches),
        (operator(), value).prop_map(|(operator, value)| Expr::Compare(Comparison { operator, value })),
    ]
}

pub(super) fn tree(value: BoxedStrategy<String>) -> impl Strategy<Value = Expr> {
    leaf(value).prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|operand| Expr::Not(Box::new(operand))),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::All),
            prop::collection::vec(inner, 2..5).prop_map(Expr::Any),
        ]
    })
}

/// Values that exercise prefixes, case, quotes and non-ASCII text.
pub(super) fn any_value() -> BoxedStrategy<String> {
    prop_oneof!["[abAB/._-]{0,4}", "\\PC{0,8}", Just("backend/".to_owned()), Just("it's".to_owned())].boxed()
}

fn leaves(expr: &Expr) -> usize {
    match expr {
        Expr::ActionMatches(_) | Expr::Compare(_) => 1,
        Expr::Not(operand) => leaves(operand),
        Expr::All(operands) | Expr::Any(operands) => operands.iter().map(leaves).sum(),
    }
}

fn condition() -> impl Strategy<Value = Condition> {
    tree(any_value())
        .prop_filter("within the expression limit", |root| leaves(root) <= MAX_EXPRESSIONS)
        .prop_map(|root| Condition { root })
        .prop_filter("within the length limit", |condition| {
            condition.to_string().len() <= MAX_CONDITION_BYTES
        })
}

/// A valid repository name, often one that shares a prefix with the
/// values of [`any_value`].
pub(super) fn repository() -> impl Strategy<Value = RepositoryName> {
    prop_oneof!["[ab]{1,3}([-/._][ab]{1,2}){0,3}", "backend(/[a-c]{1,3}|-infra/k8s)?"]
        .prop_filter_map("a valid name", |text| text.parse().ok())
}

/// The plain reading of the language: ASCII-lowercase both sides for the
/// `IgnoreCase` operators, compare, negate for the `Not` operators.
fn naive_allows(expr: &Expr, action: Action, name: &str) -> bool {
    match expr {
        Expr::ActionMatches(matched) => *matched == action,
        Expr::Compare(comparison) => {
            let operator = comparison.operator;
            let (name, value) = if operator.ignore_case {
                (name.to_ascii_lowercase(), comparison.value.to_ascii_lowercase())
            } else {
                (name.to_owned(), comparison.value.clone())
            };
            let found = match operator.test {
                StringTest::Equals => name == value,
                StringTest::StartsWith => name.starts_with(&value),
            };
            if operator.negated {
                !found
            } else {
                found
            }
        }
        Expr::Not(operand) => !naive_allows(operand, action, name),
        Expr::All(operands) => {
            for operand in operands {
                if !naive_allows(operand, action, name) {
                    return false;
                }
            }
            true
        }
        Expr::Any(operands) => {
            for operand in operands {
                if naive_allows(operand, action, name) {
                    return true;
                }
            }
            false
        }
    }
}

/// A spelling of `expr` that the parser must read as `expr`: keywords in
/// random case or as symbols, `NOT` or `!`, optional extra parentheses and
/// assorted whitespace, chosen by `choices`.
fn noisy(expr: &Expr, choices: &mut impl Iterator<Item = u8>) -> String {
    let space = pick(&[" ", "  ", "\n ", "\t"], choices);
    let text = match expr {
        Expr::ActionMatches(action) => {
            format!("{}{{'{}{action}'}}", pick(&["ActionMatches", "actionmatches"], choices), ACTION_PREFIX)
        }
        Expr::Compare(comparison) => {
            let attribute = pick(
                &[
                    REPOSITORY_NAME_ATTRIBUTE,
                    "@request[microsoft.containerregistry/registries/repositories:NAME]",
                ],
                choices,
            );
            let operator = comparison.operator.to_string();
            let operator =
                if pick(&["keep", "upper"], choices) == "upper" { operator.to_uppercase() } else { operator };
            format!("{attribute}{space}{operator}{space}'{}'", comparison.value.replace('\'', "''"))
        }
        Expr::Not(operand) => {
            let not = pick(&["!", "NOT ", "not ", "Not "], choices);
            format!("{not}({})", noisy(operand, choices))
        }
        Expr::All(operands) | Expr::Any(operands) => {
            let joiners: &[&str] = if matches!(expr, Expr::All(_)) {
                &["AND", "and", "And", "&&"]
            } else {
                &["OR", "or", "Or", "||"]
            };
            let joined: Vec<String> = operands.iter().map(|operand| noisy(operand, choices)).collect();
            let joiner = pick(joiners, choices);
            format!("({})", joined.join(&format!("{space}{joiner}{space}")))
        }
    };
    match choices.next().unwrap() % 3 {
        0 => format!("({space}{text}{space})"),
        _ => text,
    }
}

fn pick<'a>(options: &[&'a str], choices: &mut impl Iterator<Item = u8>) -> &'a str {
    options[usize::from(choices.next().unwrap()) % options.len()]
}

/// Every valid name of at most four characters over `a`, `b`, `c` and
/// the separators: enough to reach every class of names that values over
/// `a`, `b` and the separators (at most three characters) tell apart.
fn short_names() -> Vec<String> {
    let alphabet = ['a', 'b', 'c', '-', '/', '_', '.'];
    let mut names = vec![String::new()];
    let mut all = Vec::new();
    for _ in 0..4 {
        names = names
            .iter()
            .flat_map(|prefix| alphabet.iter().map(move |character| format!("{prefix}{character}")))
            .collect();
        all.extend(names.iter().filter(|name| check_repository_name(name).is_ok()).cloned());
    }
    all
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_condition(condition in condition()) {
        let printed = condition.to_string();
        let parsed = Condition::parse(&printed).map_err(|error| TestCaseError::fail(format!("{printed}: {error}")))?;
        prop_assert_eq!(&parsed, &condition);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn lenient_spellings_parse_to_the_same_condition(
        condition in condition(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let text = noisy(&condition.root, &mut choices.into_iter().cycle());
        prop_assume!(text.len() <= MAX_CONDITION_BYTES);
        let parsed = Condition::parse(&text).map_err(|error| TestCaseError::fail(format!("{text}: {error}")))?;
        prop_assert_eq!(parsed, condition);
    }

    #[test]
    fn allows_agrees_with_a_naive_evaluator(
        condition in condition(),
        action in action(),
        repository in repository(),
    ) {
        prop_assert_eq!(
            condition.allows(action, &repository),
            naive_allows(&condition.root, action, repository.as_str())
        );
    }

    #[test]
    fn unrestricted_actions_agree_with_an_exhaustive_check_over_short_names(
        root in tree("[abAB/._-]{0,3}".boxed()),
    ) {
        let condition = Condition { root };
        let names = short_names();
        let exhaustive: ActionSet = Action::ALL
            .into_iter()
            .filter(|action| names.iter().all(|name| naive_allows(&condition.root, *action, name)))
            .collect();
        prop_assert_eq!(condition.unrestricted_actions(ActionSet::ALL), exhaustive, "{}", condition);
    }
}
