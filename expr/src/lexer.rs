//! The tokenizer: turns the body of an expression into tokens, each carrying the 0-based
//! character offset (into the full source text) where it starts.

use super::{Dialect, ParseError};

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Str(String),
    Name(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    DotDot,
    Colon,
    Plus,
    Minus,
    Star,
    Slash,
    StarStar,
    Eq,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        let sym = match self {
            Tok::Num(n) => return format!("number {n}"),
            Tok::Str(_) => return "a string".into(),
            Tok::Name(n) => return format!("'{n}'"),
            Tok::Eof => return "the end of the expression".into(),
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::Colon => ":",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::StarStar => "**",
            Tok::Eq => "=",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
        };
        format!("'{sym}'")
    }
}

impl Tok {
    /// Whether the token can end an operand (so a following `.` is a path, not a number).
    fn ends_operand(&self) -> bool {
        matches!(
            self,
            Tok::Num(_) | Tok::Str(_) | Tok::Name(_) | Tok::RParen | Tok::RBracket | Tok::RBrace
        )
    }
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

/// Tokenizes `chars[start..end]`; the result always ends with [`Tok::Eof`] at offset `end`.
pub(crate) fn tokenize(
    chars: &[char],
    start: usize,
    end: usize,
    dialect: Dialect,
) -> Result<Vec<Token>, ParseError> {
    let end = end.min(chars.len());
    let at = |i: usize| if i < end { chars.get(i).copied() } else { None };
    let mut out = Vec::new();
    let mut i = start;
    while let Some(c) = at(i) {
        let offset = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = at(i + 1);
        let two = |t: Tok| (t, 2);
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            ',' => (Tok::Comma, 1),
            ':' => (Tok::Colon, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '/' => (Tok::Slash, 1),
            '.' if next == Some('.') => two(Tok::DotDot),
            // `.5` is a number, but not right after an operand: `a.1` is a path error.
            '.' if !next.is_some_and(|n| n.is_ascii_digit())
                || out.last().is_some_and(|t: &Token| t.tok.ends_operand()) =>
            {
                (Tok::Dot, 1)
            }
            '*' if next == Some('*') => two(Tok::StarStar),
            '*' => (Tok::Star, 1),
            '=' if next == Some('=') => two(Tok::EqEq),
            '=' => (Tok::Eq, 1),
            '!' if next == Some('=') => two(Tok::NotEq),
            '!' => (Tok::Bang, 1),
            '<' if next == Some('=') => two(Tok::Le),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => two(Tok::Ge),
            '>' => (Tok::Gt, 1),
            '&' if next == Some('&') => two(Tok::AndAnd),
            '|' if next == Some('|') => two(Tok::OrOr),
            '"' => {
                let (s, after) = string(chars, i, end)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    offset,
                });
                i = after;
                continue;
            }
            '\'' if dialect == Dialect::Juel => {
                let (s, after) = string(chars, i, end)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    offset,
                });
                i = after;
                continue;
            }
            c if c.is_ascii_digit() || c == '.' => {
                let mut j = i;
                while at(j).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                }
                if at(j) == Some('.') && at(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                    while at(j).is_some_and(|d| d.is_ascii_digit()) {
                        j += 1;
                    }
                }
                let text: String = chars[i..j].iter().collect();
                let n = text.parse::<f64>().map_err(|_| ParseError {
                    message: format!("invalid number '{text}'"),
                    offset,
                })?;
                (Tok::Num(n), j - i)
            }
            c if is_name_start(c) => {
                let mut j = i + 1;
                while at(j).is_some_and(is_name_char) {
                    j += 1;
                }
                (Tok::Name(chars[i..j].iter().collect()), j - i)
            }
            '\'' => {
                return Err(ParseError {
                    message: "FEEL strings use double quotes (\"...\"), not single quotes".into(),
                    offset,
                })
            }
            other => {
                return Err(ParseError {
                    message: format!("unexpected character '{other}'"),
                    offset,
                })
            }
        };
        out.push(Token { tok, offset });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        offset: end,
    });
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    // Combining diacritics (U+0300..U+036F) keep decomposed (NFD) Vietnamese names whole.
    c.is_alphanumeric() || c == '_' || ('\u{300}'..='\u{36f}').contains(&c)
}

/// Reads a quoted string starting at `chars[start]` (the quote); returns it and the index after
/// the closing quote.
fn string(chars: &[char], start: usize, end: usize) -> Result<(String, usize), ParseError> {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    let at = |i: usize| if i < end { chars.get(i).copied() } else { None };
    loop {
        let Some(c) = at(i) else {
            return Err(ParseError {
                message: "unterminated string".into(),
                offset: start,
            });
        };
        if c == quote {
            return Ok((out, i + 1));
        }
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let bad = |message: String| ParseError { message, offset: i };
        let escaped = match at(i + 1) {
            Some('"') => '"',
            Some('\'') => '\'',
            Some('\\') => '\\',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let (c, after) = unicode_escape(chars, i, end).map_err(bad)?;
                out.push(c);
                i = after;
                continue;
            }
            Some(other) => return Err(bad(format!("invalid escape '\\{other}' in string"))),
            None => {
                return Err(ParseError {
                    message: "unterminated string".into(),
                    offset: start,
                })
            }
        };
        out.push(escaped);
        i += 2;
    }
}

/// Decodes `\uXXXX` (and a following `\uXXXX` low surrogate) starting at the backslash.
fn unicode_escape(chars: &[char], i: usize, end: usize) -> Result<(char, usize), String> {
    let hex4 = |at: usize| -> Option<u32> {
        if at + 4 > end {
            return None;
        }
        let text: String = chars.get(at..at + 4)?.iter().collect();
        u32::from_str_radix(&text, 16).ok()
    };
    let invalid = || "invalid unicode escape: expected '\\u' and four hex digits".to_string();
    let hi = hex4(i + 2).ok_or_else(invalid)?;
    if (0xD800..0xDC00).contains(&hi) {
        let lo = (chars.get(i + 6) == Some(&'\\') && chars.get(i + 7) == Some(&'u'))
            .then(|| hex4(i + 8))
            .flatten()
            .filter(|lo| (0xDC00..0xE000).contains(lo))
            .ok_or_else(|| "invalid unicode escape: unpaired surrogate".to_string())?;
        let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        let c = char::from_u32(code).ok_or_else(invalid)?;
        return Ok((c, i + 12));
    }
    let c = char::from_u32(hi)
        .ok_or_else(|| "invalid unicode escape: unpaired surrogate".to_string())?;
    Ok((c, i + 6))
}
