//! The evaluator: walks an [`Ast`] over JSON variables with FEEL's null semantics.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::parser::{Ast, BinOp, Func};
use super::{Dialect, EvalError};

/// A number as a JSON value: an integer when integral and within `i64`, `null` when not finite.
pub(crate) fn number(f: f64) -> Value {
    if !f.is_finite() {
        return Value::Null;
    }
    // -2^63 is exact as f64; 2^63 (the upper bound, exclusive) is too.
    if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
        return Value::from(f as i64);
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn error(message: impl Into<String>) -> EvalError {
    EvalError {
        message: message.into(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a context",
    }
}

/// Where names are looked up: the variables, or inside a filter `list[...]` the current item.
enum Scope<'s> {
    Root,
    Item(&'s Value, &'s Scope<'s>),
}

/// Evaluation against one set of variables.
pub(crate) struct Evaluator<'a> {
    pub vars: &'a Map<String, Value>,
    pub dialect: Dialect,
    pub source: &'a str,
}

impl Evaluator<'_> {
    pub(crate) fn run(&self, ast: &Ast) -> Result<Value, EvalError> {
        self.eval(ast, &Scope::Root)
    }

    fn feel(&self) -> bool {
        self.dialect == Dialect::Feel
    }

    fn eval(&self, ast: &Ast, scope: &Scope) -> Result<Value, EvalError> {
        Ok(match ast {
            Ast::Lit(v) => v.clone(),
            Ast::Var(name) => self.lookup(name, scope)?,
            Ast::Path(base, field) => path(self.eval(base, scope)?, field),
            Ast::Index(base, index) => self.index(base, index, scope)?,
            Ast::List(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.eval(item, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Context(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(key.clone(), self.eval(value, scope)?);
                }
                Value::Object(map)
            }
            Ast::Range { .. } => return Err(error("a range can only be used after 'in'")),
            Ast::Neg(x) => {
                let v = self.eval(x, scope)?;
                match num(&v) {
                    Some(n) => number(-n),
                    None if !self.feel() && !v.is_null() => {
                        return Err(error(format!("cannot negate {}", type_name(&v))))
                    }
                    None => Value::Null,
                }
            }
            Ast::Not(x) => not(&self.eval(x, scope)?),
            Ast::Empty(x) => Value::Bool(match self.eval(x, scope)? {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            }),
            Ast::Bin(op, a, b) => {
                let (a, b) = (self.eval(a, scope)?, self.eval(b, scope)?);
                self.binary(*op, a, b)?
            }
            Ast::And(a, b) => {
                let left = truth(&self.eval(a, scope)?);
                if left == Some(false) {
                    return Ok(Value::Bool(false));
                }
                match (left, truth(&self.eval(b, scope)?)) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            Ast::Or(a, b) => {
                let left = truth(&self.eval(a, scope)?);
                if left == Some(true) {
                    return Ok(Value::Bool(true));
                }
                match (left, truth(&self.eval(b, scope)?)) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            Ast::Between(x, low, high) => {
                let x = self.eval(x, scope)?;
                let low = self.compare(BinOp::Ge, &x, &self.eval(low, scope)?);
                let high = self.compare(BinOp::Le, &x, &self.eval(high, scope)?);
                match (truth(&low), truth(&high)) {
                    (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            Ast::In(x, set) => {
                let x = self.eval(x, scope)?;
                self.in_test(&x, set, scope)?
            }
            Ast::If(cond, then, otherwise) => {
                if self.eval(cond, scope)? == Value::Bool(true) {
                    self.eval(then, scope)?
                } else {
                    self.eval(otherwise, scope)?
                }
            }
            Ast::Call(Func::IsDefined, args) => match args.first() {
                Some(arg) => Value::Bool(self.is_defined(arg, scope)?),
                None => Value::Null,
            },
            Ast::Call(func, args) => {
                let args: Vec<Value> = args
                    .iter()
                    .map(|arg| self.eval(arg, scope))
                    .collect::<Result<_, _>>()?;
                call(*func, &args)
            }
        })
    }

    fn lookup(&self, name: &str, scope: &Scope) -> Result<Value, EvalError> {
        match scope {
            Scope::Item(item, parent) => {
                if name == "item" {
                    return Ok((*item).clone());
                }
                match item {
                    Value::Object(fields) if fields.contains_key(name) => {
                        Ok(fields.get(name).cloned().unwrap_or(Value::Null))
                    }
                    _ => self.lookup(name, parent),
                }
            }
            Scope::Root => match self.vars.get(name) {
                Some(v) => Ok(v.clone()),
                None if self.feel() => Ok(Value::Null),
                None => Err(error(format!(
                    "Unknown property used in expression: {}. Cause: Cannot resolve identifier '{name}'",
                    self.source.trim()
                ))),
            },
        }
    }

    fn has(&self, name: &str, scope: &Scope) -> bool {
        match scope {
            Scope::Item(item, parent) => {
                name == "item"
                    || matches!(item, Value::Object(f) if f.contains_key(name))
                    || self.has(name, parent)
            }
            Scope::Root => self.vars.contains_key(name),
        }
    }

    /// `is defined(x)`: false for a missing variable or context entry, true otherwise (even null).
    fn is_defined(&self, ast: &Ast, scope: &Scope) -> Result<bool, EvalError> {
        match ast {
            Ast::Var(name) => Ok(self.has(name, scope)),
            Ast::Path(base, field) => {
                if !self.is_defined(base, scope)? {
                    return Ok(false);
                }
                Ok(match self.eval(base, scope)? {
                    Value::Object(fields) => fields.contains_key(field),
                    Value::Array(_) => true,
                    _ => false,
                })
            }
            other => Ok(!self.eval(other, scope)?.is_null() || matches!(other, Ast::Lit(_))),
        }
    }

    fn index(&self, base: &Ast, index: &Ast, scope: &Scope) -> Result<Value, EvalError> {
        let base = self.eval(base, scope)?;
        let key = self.eval(index, scope)?;
        Ok(match (&base, &key) {
            (Value::Array(items), Value::Number(n)) => {
                let Some(i) = n.as_f64().filter(|f| f.fract() == 0.0) else {
                    return Ok(Value::Null);
                };
                let len = items.len() as f64;
                let position = match self.dialect {
                    Dialect::Feel if i > 0.0 => i - 1.0,
                    Dialect::Feel if i < 0.0 => len + i,
                    Dialect::Feel => return Ok(Value::Null),
                    Dialect::Juel => i,
                };
                if position < 0.0 || position >= len {
                    Value::Null
                } else {
                    items.get(position as usize).cloned().unwrap_or(Value::Null)
                }
            }
            (Value::Object(fields), Value::String(k)) => {
                fields.get(k).cloned().unwrap_or(Value::Null)
            }
            (Value::Array(items), _) if self.feel() => {
                let mut kept = Vec::new();
                for item in items {
                    let item_scope = Scope::Item(item, scope);
                    if self.eval(index, &item_scope)? == Value::Bool(true) {
                        kept.push(item.clone());
                    }
                }
                Value::Array(kept)
            }
            _ => Value::Null,
        })
    }

    fn in_test(&self, x: &Value, set: &Ast, scope: &Scope) -> Result<Value, EvalError> {
        if let Ast::Range {
            start,
            end,
            start_closed,
            end_closed,
        } = set
        {
            let start = self.eval(start, scope)?;
            let end = self.eval(end, scope)?;
            let low = if *start_closed { BinOp::Ge } else { BinOp::Gt };
            let high = if *end_closed { BinOp::Le } else { BinOp::Lt };
            let low = truth(&self.compare(low, x, &start));
            let high = truth(&self.compare(high, x, &end));
            return Ok(match (low, high) {
                (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            });
        }
        Ok(match self.eval(set, scope)? {
            Value::Array(items) => Value::Bool(items.iter().any(|item| equal(x, item))),
            other => Value::Bool(equal(x, &other)),
        })
    }

    fn binary(&self, op: BinOp, a: Value, b: Value) -> Result<Value, EvalError> {
        if matches!(
            op,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        ) {
            return Ok(self.compare(op, &a, &b));
        }
        if let (BinOp::Add, Value::String(x), Value::String(y)) = (op, &a, &b) {
            return Ok(Value::String(format!("{x}{y}")));
        }
        let (x, y) = match (num(&a), num(&b)) {
            (Some(x), Some(y)) => (x, y),
            _ if !self.feel() && !a.is_null() && !b.is_null() => {
                return Err(error(format!(
                    "cannot apply '{}' to {} and {}",
                    op.symbol(),
                    type_name(&a),
                    type_name(&b)
                )))
            }
            _ => return Ok(Value::Null),
        };
        Ok(number(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div if y == 0.0 => return Ok(Value::Null),
            BinOp::Div => x / y,
            _ => x.powf(y),
        }))
    }

    /// `=`/`!=` give true or false; ordering comparisons give null unless both sides are numbers
    /// or both strings. In `${...}` a string is coerced to the other side's number or boolean.
    fn compare(&self, op: BinOp, a: &Value, b: &Value) -> Value {
        let (a, b) = if self.feel() {
            (a.clone(), b.clone())
        } else {
            (juel_coerce(a, b), juel_coerce(b, a))
        };
        let ordering = match (&a, &b) {
            (Value::Number(_), Value::Number(_)) => {
                num(&a).zip(num(&b)).and_then(|(x, y)| x.partial_cmp(&y))
            }
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            _ => None,
        };
        let result = match op {
            BinOp::Eq => return Value::Bool(equal(&a, &b)),
            BinOp::Ne => return Value::Bool(!equal(&a, &b)),
            BinOp::Lt => ordering.map(Ordering::is_lt),
            BinOp::Le => ordering.map(Ordering::is_le),
            BinOp::Gt => ordering.map(Ordering::is_gt),
            _ => ordering.map(Ordering::is_ge),
        };
        result.map_or(Value::Null, Value::Bool)
    }
}

/// EL coercion of `v` towards `other`'s type: a numeric string next to a number becomes a number,
/// `"true"`/`"false"` next to a boolean becomes a boolean.
fn juel_coerce(v: &Value, other: &Value) -> Value {
    match (v, other) {
        (Value::String(s), Value::Number(_)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map_or_else(|| v.clone(), number),
        (Value::String(s), Value::Bool(_)) => Value::Bool(s.eq_ignore_ascii_case("true")),
        _ => v.clone(),
    }
}

/// Deep equality where numbers compare by value (`1 = 1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a) == num(b),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn truth(v: &Value) -> Option<bool> {
    v.as_bool()
}

fn not(v: &Value) -> Value {
    truth(v).map_or(Value::Null, |b| Value::Bool(!b))
}

fn path(base: Value, field: &str) -> Value {
    match base {
        Value::Object(mut fields) => fields.remove(field).unwrap_or(Value::Null),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| path(v, field)).collect()),
        _ => Value::Null,
    }
}

/// FEEL's `string(x)`: numbers without a needless `.0`, other non-strings as JSON text.
fn to_string(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) => Value::String(s.clone()),
        Value::Number(_) => Value::String(num(v).map(number).unwrap_or_default().to_string()),
        other => Value::String(other.to_string()),
    }
}

fn parse_number(s: &str) -> Value {
    let s = s.trim();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    match s.parse::<f64>() {
        Ok(f) if plain => number(f),
        _ => Value::Null,
    }
}

/// The items `sum`, `min` and `max` work on: one list argument, or the arguments themselves.
fn items(args: &[Value]) -> &[Value] {
    match args {
        [Value::Array(items)] => items,
        _ => args,
    }
}

fn extreme(args: &[Value], want: Ordering) -> Value {
    let items = items(args);
    let mut best: Option<&Value> = None;
    for item in items {
        let better = match (best, item) {
            (None, Value::Number(_) | Value::String(_)) => true,
            (Some(b @ Value::Number(_)), Value::Number(_)) => {
                num(item).zip(num(b)).and_then(|(x, y)| x.partial_cmp(&y)) == Some(want)
            }
            (Some(Value::String(b)), Value::String(s)) => s.cmp(b) == want,
            _ => return Value::Null,
        };
        if better {
            best = Some(item);
        }
    }
    best.map_or(Value::Null, |b| match num(b) {
        Some(n) => number(n),
        None => b.clone(),
    })
}

fn str_fn(args: &[Value], f: impl Fn(&str, &str) -> bool) -> Value {
    match args {
        [Value::String(s), Value::String(sub)] => Value::Bool(f(s, sub)),
        _ => Value::Null,
    }
}

fn num_fn(args: &[Value], f: impl Fn(f64) -> f64) -> Value {
    args.first()
        .and_then(num)
        .map_or(Value::Null, |n| number(f(n)))
}

fn call(func: Func, args: &[Value]) -> Value {
    let first = args.first().unwrap_or(&Value::Null);
    let text = first.as_str();
    match func {
        Func::StringLength => text.map_or(Value::Null, |s| Value::from(s.chars().count())),
        Func::UpperCase => text.map_or(Value::Null, |s| Value::from(s.to_uppercase())),
        Func::LowerCase => text.map_or(Value::Null, |s| Value::from(s.to_lowercase())),
        Func::Contains => str_fn(args, |s, sub| s.contains(sub)),
        Func::StartsWith => str_fn(args, |s, p| s.starts_with(p)),
        Func::EndsWith => str_fn(args, |s, p| s.ends_with(p)),
        Func::Substring => substring(args),
        Func::String => to_string(first),
        Func::Number => match first {
            Value::Number(_) => num(first).map_or(Value::Null, number),
            Value::String(s) => parse_number(s),
            _ => Value::Null,
        },
        Func::Not => not(first),
        // Handled by the evaluator, which needs the unevaluated argument.
        Func::IsDefined => Value::Null,
        Func::Count => match first {
            Value::Array(items) => Value::from(items.len()),
            _ => Value::Null,
        },
        Func::Sum => {
            let nums: Option<Vec<f64>> = items(args).iter().map(num).collect();
            nums.map_or(Value::Null, |n| number(n.iter().sum()))
        }
        Func::Min => extreme(args, Ordering::Less),
        Func::Max => extreme(args, Ordering::Greater),
        Func::ListContains => match args {
            [Value::Array(items), x] => Value::Bool(items.iter().any(|item| equal(item, x))),
            _ => Value::Null,
        },
        Func::Abs => num_fn(args, f64::abs),
        Func::Floor => num_fn(args, f64::floor),
        Func::Ceiling => num_fn(args, f64::ceil),
    }
}

/// `substring(s, start, length?)`: 1-based `start`, negative counts from the end.
fn substring(args: &[Value]) -> Value {
    let (Some(Value::String(s)), Some(start)) = (args.first(), args.get(1).and_then(num)) else {
        return Value::Null;
    };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as f64;
    if start.fract() != 0.0 || start == 0.0 {
        return Value::Null;
    }
    let from = if start > 0.0 {
        start - 1.0
    } else {
        (len + start).max(0.0)
    }
    .min(len);
    let count = match args.get(2) {
        None => len,
        Some(v) => match num(v) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 => n,
            _ => return Value::Null,
        },
    };
    let to = (from + count).min(len);
    let (from, to) = (from as usize, to as usize);
    Value::String(chars.get(from..to).unwrap_or_default().iter().collect())
}
