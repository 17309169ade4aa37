//! Condition text to syntax tree: a lexer that cuts the text into tokens on
//! demand and a recursive-descent parser for the grammar in the parent
//! module's documentation. Every refusal carries the position of the token
//! at fault. Recursion only happens through `(` and `NOT`/`!`, both counted
//! against [`MAX_DEPTH`] before recursing, so the stack stays shallow
//! whatever the text. Calls nothing outside the condition module.

use super::{
    Action, Comparison, ConditionError, Expr, Operator, Position, ACTION_PREFIX, MAX_CONDITION_BYTES,
    MAX_DEPTH, MAX_EXPRESSIONS, REPOSITORY_NAME_ATTRIBUTE,
};

/// Parses a whole condition, refusing text longer than
/// [`MAX_CONDITION_BYTES`] before reading it.
pub(super) fn parse(text: &str) -> Result<Expr, ConditionError> {
    if text.len() > MAX_CONDITION_BYTES {
        return Err(ConditionError::TooLong { length: text.len(), canonical: false });
    }
    if text.trim().is_empty() {
        return Err(ConditionError::Empty);
    }
    let mut lexer = Lexer { text, offset: 0 };
    let current = lexer.next_token()?;
    let mut parser = Parser { lexer, current, open_parens: 0, open_nots: 0, expressions: 0 };
    let root = parser.expression()?;
    parser.expect_end()?;
    Ok(root)
}

/// What a token is; words and attributes borrow the text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind<'t> {
    Open,
    Close,
    OpenBrace,
    CloseBrace,
    Bang,
    AndSymbol,
    OrSymbol,
    /// A run of ASCII letters, digits, `_`, `.` and `:` (keywords, function
    /// and operator names, `ForAnyOfAnyValues:StringEquals`).
    Word(&'t str),
    /// `@Source[...]`, brackets included (or just `@Source` without them).
    Attribute(&'t str),
    /// A single-quoted value, unescaped.
    Value(String),
    /// Any other character, reported by the parser in context.
    Other(char),
    End,
}

#[derive(Debug, Clone)]
struct Token<'t> {
    kind: Kind<'t>,
    offset: usize,
}

struct Lexer<'t> {
    text: &'t str,
    offset: usize,
}

fn is_word_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | ':')
}

impl<'t> Lexer<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.offset..]
    }

    fn position(&self, offset: usize) -> Position {
        Position::locate(self.text, offset)
    }

    /// The next token, after any whitespace.
    fn next_token(&mut self) -> Result<Token<'t>, ConditionError> {
        let rest = self.rest();
        self.offset += rest.len() - rest.trim_start().len();
        let offset = self.offset;
        let rest = self.rest();
        let Some(first) = rest.chars().next() else {
            return Ok(Token { kind: Kind::End, offset });
        };
        let kind = match first {
            '(' => self.symbol(Kind::Open, 1),
            ')' => self.symbol(Kind::Close, 1),
            '{' => self.symbol(Kind::OpenBrace, 1),
            '}' => self.symbol(Kind::CloseBrace, 1),
            '!' => self.symbol(Kind::Bang, 1),
            '&' if rest.starts_with("&&") => self.symbol(Kind::AndSymbol, 2),
            '|' if rest.starts_with("||") => self.symbol(Kind::OrSymbol, 2),
            '\'' => self.value()?,
            '@' => self.attribute()?,
            character if is_word_character(character) => Kind::Word(self.take_word()),
            other => self.symbol(Kind::Other(other), other.len_utf8()),
        };
        Ok(Token { kind, offset })
    }

    fn symbol(&mut self, kind: Kind<'t>, length: usize) -> Kind<'t> {
        self.offset += length;
        kind
    }

    fn take_word(&mut self) -> &'t str {
        let rest = self.rest();
        let length = rest.find(|character| !is_word_character(character)).unwrap_or(rest.len());
        self.offset += length;
        &rest[..length]
    }

    /// `'...'` with `''` standing for one quote.
    fn value(&mut self) -> Result<Kind<'t>, ConditionError> {
        let start = self.offset;
        self.offset += 1;
        let mut value = String::new();
        loop {
            let rest = self.rest();
            let Some(quote) = rest.find('\'') else {
                return Err(ConditionError::UnterminatedString { at: self.position(start) });
            };
            value.push_str(&rest[..quote]);
            self.offset += quote + 1;
            if !self.rest().starts_with('\'') {
                return Ok(Kind::Value(value));
            }
            value.push('\'');
            self.offset += 1;
        }
    }

    /// `@` and a word, then `[...]` if a bracket follows.
    fn attribute(&mut self) -> Result<Kind<'t>, ConditionError> {
        let start = self.offset;
        self.offset += 1;
        self.take_word();
        if self.rest().starts_with('[') {
            let Some(close) = self.rest().find(']') else {
                return Err(ConditionError::Unexpected {
                    at: self.position(self.text.len()),
                    expected: "`]` to close the attribute".to_owned(),
                    found: describe(&Kind::End),
                });
            };
            self.offset += close + 1;
        }
        Ok(Kind::Attribute(&self.text[start..self.offset]))
    }
}

/// How an error message names a token. Quoted with `{:?}` where it holds
/// user text, so control characters cannot forge a log line; long text is
/// shortened.
fn describe(kind: &Kind<'_>) -> String {
    match kind {
        Kind::Open => "`(`".to_owned(),
        Kind::Close => "`)`".to_owned(),
        Kind::OpenBrace => "`{`".to_owned(),
        Kind::CloseBrace => "`}`".to_owned(),
        Kind::Bang => "`!`".to_owned(),
        Kind::AndSymbol => "`&&`".to_owned(),
        Kind::OrSymbol => "`||`".to_owned(),
        Kind::Word(word) => format!("`{}`", shortened(word)),
        Kind::Attribute(attribute) => format!("the attribute {:?}", shortened(attribute)),
        Kind::Value(value) => format!("the value {:?}", shortened(value)),
        Kind::Other(character) => format!("{character:?}"),
        Kind::End => "the end of the condition".to_owned(),
    }
}

fn shortened(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joiner {
    And,
    Or,
}

/// Operator names of the cloud's language that a repository condition
/// cannot use, by prefix, with what to write instead.
const UNSUPPORTED_OPERATORS: [(&str, &str); 8] = [
    ("StringLike", "wildcards are not evaluated; use StringEquals... or StringStartsWith..."),
    ("StringNotLike", "wildcards are not evaluated; use StringNotEquals... or StringNotStartsWith..."),
    ("ForAnyOf", "compare the name with one value per expression and join the expressions with OR"),
    ("ForAllOf", "compare the name with one value per expression and join the expressions with OR"),
    ("Numeric", "the repository name is a string; use a String... operator"),
    ("DateTime", "the repository name is a string; use a String... operator"),
    ("Guid", "the repository name is a string; use a String... operator"),
    ("Bool", "the repository name is a string; use a String... operator"),
];

/// Functions of the cloud's language that a repository condition cannot use.
const UNSUPPORTED_FUNCTIONS: [&str; 2] = ["SubOperationMatches", "Exists"];

const EXPRESSION_EXPECTED: &str = "an expression: `(`, `!`, NOT, ActionMatches{'...'} or @Request[...]";

struct Parser<'t> {
    lexer: Lexer<'t>,
    current: Token<'t>,
    open_parens: usize,
    open_nots: usize,
    expressions: usize,
}

impl<'t> Parser<'t> {
    fn advance(&mut self) -> Result<(), ConditionError> {
        self.current = self.lexer.next_token()?;
        Ok(())
    }

    fn position(&self, offset: usize) -> Position {
        self.lexer.position(offset)
    }

    /// "expected `expected` at <current token>, found <current token>".
    fn unexpected(&self, expected: impl Into<String>) -> ConditionError {
        ConditionError::Unexpected {
            at: self.position(self.current.offset),
            expected: expected.into(),
            found: describe(&self.current.kind),
        }
    }

    fn is_word(&self, keyword: &str) -> bool {
        matches!(self.current.kind, Kind::Word(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn joiner(&self) -> Option<Joiner> {
        match self.current.kind {
            Kind::AndSymbol => Some(Joiner::And),
            Kind::OrSymbol => Some(Joiner::Or),
            _ if self.is_word("AND") => Some(Joiner::And),
            _ if self.is_word("OR") => Some(Joiner::Or),
            _ => None,
        }
    }

    /// `unary` alone, or a chain of unaries joined by one kind of joiner.
    fn expression(&mut self) -> Result<Expr, ConditionError> {
        let first = self.unary()?;
        let Some(joiner) = self.joiner() else {
            return Ok(first);
        };
        let joiner_offset = self.current.offset;
        let mut operands = vec![first];
        while let Some(next) = self.joiner() {
            if next != joiner {
                return Err(ConditionError::MixedAndOr { at: self.position(self.current.offset) });
            }
            self.advance()?;
            operands.push(self.unary()?);
        }
        let group = match joiner {
            Joiner::And => Expr::All(operands),
            Joiner::Or => Expr::Any(operands),
        };
        self.within_depth(group, joiner_offset)
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if !(self.current.kind == Kind::Bang || self.is_word("NOT")) {
            return self.primary();
        }
        let offset = self.current.offset;
        self.open_nots += 1;
        if self.open_nots > MAX_DEPTH {
            return Err(ConditionError::TooDeep { at: self.position(offset) });
        }
        self.advance()?;
        let operand = self.unary()?;
        self.open_nots -= 1;
        self.within_depth(Expr::Not(Box::new(operand)), offset)
    }

    fn within_depth(&self, expr: Expr, offset: usize) -> Result<Expr, ConditionError> {
        if expr.depth() > MAX_DEPTH {
            return Err(ConditionError::TooDeep { at: self.position(offset) });
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        match &self.current.kind {
            Kind::Open => self.group(),
            Kind::Attribute(attribute) => {
                let attribute = *attribute;
                self.comparison(attribute)
            }
            _ if self.is_word("ActionMatches") => self.action_matches(),
            Kind::Word(word) => {
                match UNSUPPORTED_FUNCTIONS.iter().find(|name| name.eq_ignore_ascii_case(word)) {
                    Some(function) => Err(ConditionError::Unsupported {
                        at: self.position(self.current.offset),
                        what: format!("the function {function}"),
                        hint:
                            "a repository condition tests ActionMatches{'...'} and the repository name only",
                    }),
                    None => Err(self.unexpected(EXPRESSION_EXPECTED)),
                }
            }
            _ => Err(self.unexpected(EXPRESSION_EXPECTED)),
        }
    }

    /// `( expression )`.
    fn group(&mut self) -> Result<Expr, ConditionError> {
        let open = self.current.offset;
        self.open_parens += 1;
        if self.open_parens > MAX_DEPTH {
            return Err(ConditionError::TooDeep { at: self.position(open) });
        }
        self.advance()?;
        let inner = self.expression()?;
        if self.current.kind != Kind::Close {
            let expected = format!("AND, OR or `)` to close the `(` at {}", self.position(open));
            return Err(self.unexpected(expected));
        }
        self.open_parens -= 1;
        self.advance()?;
        Ok(inner)
    }

    fn count_expression(&mut self) -> Result<(), ConditionError> {
        self.expressions += 1;
        if self.expressions > MAX_EXPRESSIONS {
            return Err(ConditionError::TooManyExpressions { at: self.position(self.current.offset) });
        }
        Ok(())
    }

    /// `ActionMatches{'<prefix><action>'}`.
    fn action_matches(&mut self) -> Result<Expr, ConditionError> {
        self.count_expression()?;
        self.advance()?;
        self.expect(Kind::OpenBrace, "`{` after ActionMatches")?;
        let Kind::Value(text) = &self.current.kind else {
            let example =
                format!("the action in quotes, as in ActionMatches{{'{ACTION_PREFIX}content/read'}}");
            return Err(self.unexpected(example));
        };
        let action = self.named_action(text)?;
        self.advance()?;
        self.expect(Kind::CloseBrace, "`}` after the action")?;
        Ok(Expr::ActionMatches(action))
    }

    fn expect(&mut self, kind: Kind<'_>, expected: &str) -> Result<(), ConditionError> {
        if self.current.kind != kind {
            return Err(self.unexpected(expected));
        }
        self.advance()
    }

    /// The [`Action`] that the cloud's action name `text` stands for.
    fn named_action(&self, text: &str) -> Result<Action, ConditionError> {
        let at = self.position(self.current.offset);
        let action = text
            .get(..ACTION_PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(ACTION_PREFIX))
            .map(|_| &text[ACTION_PREFIX.len()..])
            .and_then(|name| {
                Action::ALL.into_iter().find(|action| action.as_str().eq_ignore_ascii_case(name))
            });
        match action {
            Some(action) => Ok(action),
            None if text.contains('*') => Err(ConditionError::Unsupported {
                at,
                what: format!("the wildcard action {:?}", shortened(text)),
                hint: "name each action in its own ActionMatches{'...'} clause",
            }),
            None => Err(ConditionError::UnknownAction { at, action: shortened(text) }),
        }
    }

    /// `@Request[...:name] <operator> '<value>'`.
    fn comparison(&mut self, attribute: &str) -> Result<Expr, ConditionError> {
        self.count_expression()?;
        if !attribute.eq_ignore_ascii_case(REPOSITORY_NAME_ATTRIBUTE) {
            let at = self.position(self.current.offset);
            return Err(ConditionError::UnknownAttribute { at, attribute: shortened(attribute) });
        }
        self.advance()?;
        let operator = self.operator()?;
        self.advance()?;
        let value = match &self.current.kind {
            Kind::Value(value) => value.clone(),
            Kind::OpenBrace => {
                return Err(ConditionError::Unsupported {
                    at: self.position(self.current.offset),
                    what: "a list of values".to_owned(),
                    hint: "compare the name with one value per expression and join the expressions with OR",
                })
            }
            _ => return Err(self.unexpected(format!("a value in single quotes after {operator}"))),
        };
        self.advance()?;
        Ok(Expr::Compare(Comparison { operator, value }))
    }

    fn operator(&self) -> Result<Operator, ConditionError> {
        let expected = "an operator such as StringStartsWithIgnoreCase after @Request[...]";
        let Kind::Word(word) = self.current.kind else {
            return Err(self.unexpected(expected));
        };
        if let Some(operator) = Operator::named(word) {
            return Ok(operator);
        }
        let starts_with_ignoring_case =
            |prefix: &str| word.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix));
        match UNSUPPORTED_OPERATORS.iter().find(|(prefix, _)| starts_with_ignoring_case(prefix)) {
            Some((_, hint)) => Err(ConditionError::Unsupported {
                at: self.position(self.current.offset),
                what: format!("the operator {}", shortened(word)),
                hint,
            }),
            None => Err(self.unexpected(expected)),
        }
    }

    fn expect_end(&self) -> Result<(), ConditionError> {
        if self.current.kind != Kind::End {
            return Err(self.unexpected("AND, OR or the end of the condition"));
        }
        Ok(())
    }
}
