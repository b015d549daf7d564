//! The parser: precedence climbing from tokens to an [`Ast`].
//!
//! Binding powers, loosest first: `or` < `and` < comparisons, `between`, `in` < `+ -` <
//! `* /` < `**` < unary minus (and JUEL `!`, `not`, `empty`) < `.field`, `[index]`.

use serde_json::Value;

use super::eval::number;
use super::lexer::{Tok, Token};
use super::{Dialect, ParseError};

/// How deeply brackets, unary operators and sub-expressions may nest.
pub(crate) const MAX_NESTING: usize = 64;
/// How deep the syntax tree may be (long `a or b or c ...` chains grow it without nesting).
pub(crate) const MAX_TREE_DEPTH: usize = 256;

/// The syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ast {
    Lit(Value),
    Var(String),
    Path(Box<Ast>, String),
    Index(Box<Ast>, Box<Ast>),
    List(Vec<Ast>),
    Context(Vec<(String, Ast)>),
    Range {
        start: Box<Ast>,
        end: Box<Ast>,
        start_closed: bool,
        end_closed: bool,
    },
    Neg(Box<Ast>),
    Not(Box<Ast>),
    Empty(Box<Ast>),
    Bin(BinOp, Box<Ast>, Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Between(Box<Ast>, Box<Ast>, Box<Ast>),
    In(Box<Ast>, Box<Ast>),
    If(Box<Ast>, Box<Ast>, Box<Ast>),
    Call(Func, Vec<Ast>),
}

/// Binary arithmetic and comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "**",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

/// The built-in FEEL functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    StringLength,
    UpperCase,
    LowerCase,
    Contains,
    StartsWith,
    EndsWith,
    Substring,
    String,
    Number,
    Not,
    IsDefined,
    Count,
    Sum,
    Min,
    Max,
    ListContains,
    Abs,
    Floor,
    Ceiling,
}

/// Name, function, fewest and most arguments.
const FUNCS: &[(&str, Func, usize, usize)] = &[
    ("string length", Func::StringLength, 1, 1),
    ("upper case", Func::UpperCase, 1, 1),
    ("lower case", Func::LowerCase, 1, 1),
    ("contains", Func::Contains, 2, 2),
    ("starts with", Func::StartsWith, 2, 2),
    ("ends with", Func::EndsWith, 2, 2),
    ("substring", Func::Substring, 2, 3),
    ("string", Func::String, 1, 1),
    ("number", Func::Number, 1, 1),
    ("not", Func::Not, 1, 1),
    ("is defined", Func::IsDefined, 1, 1),
    ("count", Func::Count, 1, 1),
    ("sum", Func::Sum, 1, usize::MAX),
    ("min", Func::Min, 1, usize::MAX),
    ("max", Func::Max, 1, usize::MAX),
    ("list contains", Func::ListContains, 2, 2),
    ("abs", Func::Abs, 1, 1),
    ("floor", Func::Floor, 1, 1),
    ("ceiling", Func::Ceiling, 1, 1),
];

fn lookup_func(name: &str) -> Option<(Func, usize, usize)> {
    FUNCS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, f, lo, hi)| (f, lo, hi))
}

const BP_OR: u8 = 1;
const BP_AND: u8 = 2;
const BP_CMP: u8 = 3;
const BP_ADD: u8 = 4;
const BP_MUL: u8 = 5;
const BP_POW: u8 = 6;
const BP_UNARY: u8 = 7;
const BP_POSTFIX: u8 = 8;

/// An infix or postfix operator found after an operand.
#[derive(Clone, Copy)]
enum Infix {
    Or,
    And,
    Bin(BinOp),
    Between,
    In,
    Dot,
    Index,
}

/// Parses the tokens of one expression; `intro` names what came before the body (`'='`, `'${'`).
pub(crate) fn parse(
    toks: Vec<Token>,
    dialect: Dialect,
    intro: Option<&str>,
) -> Result<Ast, ParseError> {
    let mut p = Parser {
        toks,
        pos: 0,
        dialect,
        nesting: 0,
        in_range_end: false,
        prev: intro.map(str::to_owned),
    };
    let ast = p.expr(0)?;
    let t = p.peek().clone();
    if t.tok != Tok::Eof {
        return Err(err(t.offset, format!("unexpected {}", t.tok.describe())));
    }
    check_depth(&ast, t.offset)?;
    Ok(ast)
}

fn err(offset: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        message: message.into(),
        offset,
    }
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    dialect: Dialect,
    nesting: usize,
    /// Parsing the end of a range, where `[` closes rather than indexes.
    in_range_end: bool,
    /// The last consumed token, as named in messages.
    prev: Option<String>,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        // The token list always ends with Eof, which is never consumed.
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.pos + ahead).min(last)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        self.prev = Some(t.tok.describe());
        t
    }

    fn feel(&self) -> bool {
        self.dialect == Dialect::Feel
    }

    fn is_name(&self, ahead: usize, name: &str) -> bool {
        matches!(&self.peek_at(ahead).tok, Tok::Name(n) if n == name)
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParseError> {
        let t = self.peek();
        if t.tok == tok {
            self.advance();
            return Ok(());
        }
        Err(err(
            t.offset,
            format!("expected {what}, found {}", t.tok.describe()),
        ))
    }

    fn expect_name(&mut self, name: &str) -> Result<(), ParseError> {
        if self.is_name(0, name) {
            self.advance();
            return Ok(());
        }
        let t = self.peek();
        Err(err(
            t.offset,
            format!("expected '{name}', found {}", t.tok.describe()),
        ))
    }

    fn expected_expression(&self) -> ParseError {
        let t = self.peek();
        let mut message = "expected an expression".to_string();
        if let Some(prev) = &self.prev {
            message = format!("{message} after {prev}");
        }
        if t.tok != Tok::Eof {
            message = format!("{message}, found {}", t.tok.describe());
        }
        err(t.offset, message)
    }

    fn expr(&mut self, min_bp: u8) -> Result<Ast, ParseError> {
        if self.nesting >= MAX_NESTING {
            return Err(err(
                self.peek().offset,
                format!("expression is nested too deeply (more than {MAX_NESTING} levels)"),
            ));
        }
        self.nesting += 1;
        let result = self.expr_inner(min_bp);
        self.nesting -= 1;
        result
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Ast, ParseError> {
        let mut lhs = self.prefix()?;
        loop {
            let t = self.peek().clone();
            let Some((op, bp)) = self.infix(&t)? else {
                break;
            };
            if bp < min_bp {
                break;
            }
            self.advance();
            lhs = match op {
                Infix::Or => Ast::Or(Box::new(lhs), Box::new(self.expr(bp + 1)?)),
                Infix::And => Ast::And(Box::new(lhs), Box::new(self.expr(bp + 1)?)),
                Infix::Bin(op) => Ast::Bin(op, Box::new(lhs), Box::new(self.expr(bp + 1)?)),
                Infix::Between => {
                    let low = self.expr(BP_ADD)?;
                    self.expect_name("and")?;
                    let high = self.expr(BP_ADD)?;
                    Ast::Between(Box::new(lhs), Box::new(low), Box::new(high))
                }
                Infix::In => Ast::In(Box::new(lhs), Box::new(self.expr(BP_ADD)?)),
                Infix::Dot => {
                    let name = self.peek().clone();
                    let Tok::Name(field) = name.tok else {
                        return Err(err(
                            name.offset,
                            format!("expected a name after '.', found {}", name.tok.describe()),
                        ));
                    };
                    self.advance();
                    Ast::Path(Box::new(lhs), field)
                }
                Infix::Index => {
                    let index = self.expr(0)?;
                    self.expect(Tok::RBracket, "']'")?;
                    Ast::Index(Box::new(lhs), Box::new(index))
                }
            };
            check_depth(&lhs, t.offset)?;
        }
        Ok(lhs)
    }

    /// The operator `t` stands for after an operand, if any; tokens of the other dialect are errors.
    fn infix(&self, t: &Token) -> Result<Option<(Infix, u8)>, ParseError> {
        let feel = self.feel();
        let wrong = |message: &str| Err(err(t.offset, message));
        let cmp = |op| Some((Infix::Bin(op), BP_CMP));
        Ok(match &t.tok {
            Tok::Name(n) => match n.as_str() {
                "or" => Some((Infix::Or, BP_OR)),
                "and" => Some((Infix::And, BP_AND)),
                "between" if feel => Some((Infix::Between, BP_CMP)),
                "in" if feel => Some((Infix::In, BP_CMP)),
                "eq" if !feel => cmp(BinOp::Eq),
                "ne" if !feel => cmp(BinOp::Ne),
                "lt" if !feel => cmp(BinOp::Lt),
                "le" if !feel => cmp(BinOp::Le),
                "gt" if !feel => cmp(BinOp::Gt),
                "ge" if !feel => cmp(BinOp::Ge),
                _ => None,
            },
            Tok::OrOr if feel => return wrong("FEEL uses 'or', not '||'"),
            Tok::AndAnd if feel => return wrong("FEEL uses 'and', not '&&'"),
            Tok::EqEq if feel => return wrong("FEEL uses '=' for equality, not '=='"),
            Tok::Eq if !feel => return wrong("use '==' for equality in ${...} conditions"),
            Tok::OrOr => Some((Infix::Or, BP_OR)),
            Tok::AndAnd => Some((Infix::And, BP_AND)),
            Tok::Eq | Tok::EqEq => cmp(BinOp::Eq),
            Tok::NotEq => cmp(BinOp::Ne),
            Tok::Lt => cmp(BinOp::Lt),
            Tok::Le => cmp(BinOp::Le),
            Tok::Gt => cmp(BinOp::Gt),
            Tok::Ge => cmp(BinOp::Ge),
            Tok::Plus => Some((Infix::Bin(BinOp::Add), BP_ADD)),
            Tok::Minus => Some((Infix::Bin(BinOp::Sub), BP_ADD)),
            Tok::Star => Some((Infix::Bin(BinOp::Mul), BP_MUL)),
            Tok::Slash => Some((Infix::Bin(BinOp::Div), BP_MUL)),
            Tok::StarStar if feel => Some((Infix::Bin(BinOp::Pow), BP_POW)),
            Tok::Dot => Some((Infix::Dot, BP_POSTFIX)),
            Tok::LBracket if !self.in_range_end => Some((Infix::Index, BP_POSTFIX)),
            _ => None,
        })
    }

    fn prefix(&mut self) -> Result<Ast, ParseError> {
        let t = self.peek().clone();
        let feel = self.feel();
        match t.tok {
            Tok::Num(n) => {
                self.advance();
                Ok(Ast::Lit(number(n)))
            }
            Tok::Str(s) => {
                self.advance();
                Ok(Ast::Lit(Value::String(s)))
            }
            Tok::Minus => {
                self.advance();
                Ok(Ast::Neg(Box::new(self.expr(BP_UNARY)?)))
            }
            Tok::Bang if !feel => {
                self.advance();
                Ok(Ast::Not(Box::new(self.expr(BP_UNARY)?)))
            }
            Tok::Bang => Err(err(t.offset, "FEEL has no '!': use not(...)")),
            Tok::LParen => {
                self.advance();
                let inner = self.expr(0)?;
                if feel && self.peek().tok == Tok::DotDot {
                    return self.range_rest(inner, false);
                }
                self.expect(Tok::RParen, "')'")?;
                Ok(inner)
            }
            Tok::LBracket if feel => {
                self.advance();
                self.list_or_range()
            }
            Tok::RBracket if feel => {
                self.advance();
                let start = self.expr(0)?;
                if self.peek().tok != Tok::DotDot {
                    let t = self.peek();
                    return Err(err(
                        t.offset,
                        format!("expected '..' in a range, found {}", t.tok.describe()),
                    ));
                }
                self.range_rest(start, false)
            }
            Tok::LBrace if feel => {
                self.advance();
                self.context()
            }
            Tok::Name(ref n) => self.name(n.clone(), t.offset),
            _ => Err(self.expected_expression()),
        }
    }

    /// After `[`: a list `[a, b]` or a closed-start range `[a..b]`.
    fn list_or_range(&mut self) -> Result<Ast, ParseError> {
        let mut items = Vec::new();
        if self.peek().tok == Tok::RBracket {
            self.advance();
            return Ok(Ast::List(items));
        }
        loop {
            let item = self.expr(0)?;
            if items.is_empty() && self.peek().tok == Tok::DotDot {
                return self.range_rest(item, true);
            }
            items.push(item);
            let t = self.advance();
            match t.tok {
                Tok::Comma => {}
                Tok::RBracket => return Ok(Ast::List(items)),
                other => {
                    return Err(err(
                        t.offset,
                        format!("expected ',' or ']' in a list, found {}", other.describe()),
                    ))
                }
            }
        }
    }

    /// At `..`: the end of a range and its closing bracket.
    fn range_rest(&mut self, start: Ast, start_closed: bool) -> Result<Ast, ParseError> {
        self.advance();
        // In `[1..10[` the closing `[` must not be read as indexing `10`.
        let was = std::mem::replace(&mut self.in_range_end, true);
        let end = self.expr(0);
        self.in_range_end = was;
        let end = end?;
        let t = self.advance();
        let end_closed = match t.tok {
            Tok::RBracket => true,
            Tok::RParen | Tok::LBracket => false,
            other => {
                return Err(err(
                    t.offset,
                    format!(
                        "expected ']' or ')' to close the range, found {}",
                        other.describe()
                    ),
                ))
            }
        };
        Ok(Ast::Range {
            start: Box::new(start),
            end: Box::new(end),
            start_closed,
            end_closed,
        })
    }

    /// After `{`: a context `{a: 1, "b c": 2}`.
    fn context(&mut self) -> Result<Ast, ParseError> {
        let mut entries = Vec::new();
        if self.peek().tok == Tok::RBrace {
            self.advance();
            return Ok(Ast::Context(entries));
        }
        loop {
            let t = self.advance();
            let key = match t.tok {
                Tok::Name(k) | Tok::Str(k) => k,
                other => {
                    return Err(err(
                        t.offset,
                        format!("expected a context key, found {}", other.describe()),
                    ))
                }
            };
            self.expect(Tok::Colon, "':'")?;
            entries.push((key, self.expr(0)?));
            let t = self.advance();
            match t.tok {
                Tok::Comma => {}
                Tok::RBrace => return Ok(Ast::Context(entries)),
                other => {
                    return Err(err(
                        t.offset,
                        format!(
                            "expected ',' or '}}' in a context, found {}",
                            other.describe()
                        ),
                    ))
                }
            }
        }
    }

    /// A name in operand position: a literal, keyword form, function call or variable.
    fn name(&mut self, name: String, offset: usize) -> Result<Ast, ParseError> {
        let feel = self.feel();
        match name.as_str() {
            "true" | "false" | "null" => {
                self.advance();
                return Ok(Ast::Lit(match name.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::Null,
                }));
            }
            "if" if feel => {
                self.advance();
                let cond = self.expr(0)?;
                self.expect_name("then")?;
                let then = self.expr(0)?;
                self.expect_name("else")?;
                let otherwise = self.expr(0)?;
                return Ok(Ast::If(Box::new(cond), Box::new(then), Box::new(otherwise)));
            }
            "not" if !feel => {
                self.advance();
                return Ok(Ast::Not(Box::new(self.expr(BP_UNARY)?)));
            }
            "empty" if !feel => {
                self.advance();
                return Ok(Ast::Empty(Box::new(self.expr(BP_UNARY)?)));
            }
            "for" | "some" | "every" | "function" if feel => {
                return Err(err(
                    offset,
                    format!("'{name}' expressions are not supported"),
                ));
            }
            "and" | "or" | "then" | "else" | "between" | "in" if feel => {
                return Err(self.expected_expression());
            }
            "and" | "or" | "eq" | "ne" | "lt" | "gt" | "le" | "ge" | "div" | "mod"
            | "instanceof"
                if !feel =>
            {
                return Err(self.expected_expression());
            }
            _ => {}
        }
        // FEEL function names may have two words: `string length(s)`.
        if feel {
            if let Tok::Name(second) = &self.peek_at(1).tok {
                let full = format!("{name} {second}");
                if self.peek_at(2).tok == Tok::LParen && lookup_func(&full).is_some() {
                    self.advance();
                    self.advance();
                    return self.call(full, offset);
                }
            }
        }
        if self.peek_at(1).tok == Tok::LParen {
            self.advance();
            return self.call(name, offset);
        }
        self.advance();
        Ok(Ast::Var(name))
    }

    /// At `(` after a function name.
    fn call(&mut self, name: String, offset: usize) -> Result<Ast, ParseError> {
        let found = lookup_func(&name).filter(|_| self.feel());
        let Some((func, lo, hi)) = found else {
            return Err(err(offset, format!("unknown function '{name}'")));
        };
        self.advance();
        let mut args = Vec::new();
        if self.peek().tok == Tok::RParen {
            self.advance();
        } else {
            loop {
                args.push(self.expr(0)?);
                let t = self.advance();
                match t.tok {
                    Tok::Comma => {}
                    Tok::RParen => break,
                    other => {
                        return Err(err(
                            t.offset,
                            format!(
                                "expected ',' or ')' after an argument of '{name}', found {}",
                                other.describe()
                            ),
                        ))
                    }
                }
            }
        }
        if args.len() < lo || args.len() > hi {
            let expects = match (lo, hi) {
                (1, 1) => "1 argument".to_string(),
                (lo, hi) if lo == hi => format!("{lo} arguments"),
                (lo, usize::MAX) => format!("at least {lo} argument(s)"),
                (lo, hi) => format!("{lo} or {hi} arguments"),
            };
            return Err(err(
                offset,
                format!("function '{name}' takes {expects}, got {}", args.len()),
            ));
        }
        Ok(Ast::Call(func, args))
    }
}

/// Fails when the tree is deeper than [`MAX_TREE_DEPTH`], so evaluating and dropping it
/// cannot exhaust the stack.
fn check_depth(ast: &Ast, offset: usize) -> Result<(), ParseError> {
    if depth(ast) > MAX_TREE_DEPTH {
        return Err(err(
            offset,
            format!("expression is too deeply nested (more than {MAX_TREE_DEPTH} operators deep)"),
        ));
    }
    Ok(())
}

fn depth(ast: &Ast) -> usize {
    let max = |items: &mut dyn Iterator<Item = &Ast>| items.map(depth).max().unwrap_or(0);
    1 + match ast {
        Ast::Lit(_) | Ast::Var(_) => 0,
        Ast::Path(a, _) | Ast::Neg(a) | Ast::Not(a) | Ast::Empty(a) => depth(a),
        Ast::Index(a, b)
        | Ast::Bin(_, a, b)
        | Ast::And(a, b)
        | Ast::Or(a, b)
        | Ast::In(a, b)
        | Ast::Range {
            start: a, end: b, ..
        } => depth(a).max(depth(b)),
        Ast::Between(a, b, c) | Ast::If(a, b, c) => depth(a).max(depth(b)).max(depth(c)),
        Ast::List(items) | Ast::Call(_, items) => max(&mut items.iter()),
        Ast::Context(entries) => max(&mut entries.iter().map(|(_, v)| v)),
    }
}
