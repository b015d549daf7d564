//! motcua's expression language: the FEEL subset of Camunda 8 and form-js, plus Camunda 7 `${...}`.
//!
//! One language serves sequence-flow conditions now and form conditions and decision tables later.
//! Expressions are parsed once at deploy (a syntax error names its character offset) and
//! evaluated against an instance's variables (JSON values): a hand-written lexer, a
//! precedence-climbing parser into a small syntax tree and a tree-walking evaluator. Nothing
//! here panics on any input, and nesting is capped (64 levels of brackets and unary operators,
//! a tree 256 operators deep) so the stack cannot overflow.
//!
//! # Supported subset
//!
//! | Form | Meaning |
//! |------|---------|
//! | `= expr`, `expr` | FEEL (a leading `=` is Zeebe style); surrounding whitespace is ignored |
//! | `${expr}`, `#{expr}` | Camunda 7 JUEL condition (see the JUEL row below) |
//! | `1`, `-2.5`, `"a\"b\n\\ \u00e9"`, `true`, `false`, `null` | literals |
//! | `[1, 2]`, `{a: 1, "b c": 2}` | lists and contexts (JSON arrays and objects) |
//! | `a.b.c`, `xã` | variables and paths; a missing one is `null`; a path over a list maps it |
//! | `list[1]`, `list[-1]`, `list[item > 3]`, `list[x > 3]` | 1-based index (negative from the end), filter (`item` or the item's fields) |
//! | `=  !=  <  <=  >  >=` | comparisons; `=` is deep equality (`1 = 1.0`; `x = null` iff x is null; mismatched types give false); `<` etc. on mismatched types or null give `null` |
//! | `x between a and b` | `a <= x <= b` |
//! | `x in [1, 2]`, `x in 5`, `x in [1..10]`, `x in (1..10]`, `x in ]1..10[` | membership, equality, ranges |
//! | `a and b`, `a or b`, `not(a)` | three-valued: `null and false` = false, `null and true` = null, `true or null` = true |
//! | `+ - * / **`, unary `-` | arithmetic (`null` in, `null` out; `/ 0` is `null`); `"a" + "b"` concatenates |
//! | `if c then a else b` | `b` unless `c` is true |
//! | `string length(s)` `upper case(s)` `lower case(s)` `contains(s, t)` `starts with(s, t)` `ends with(s, t)` `substring(s, start, len?)` | string functions (by character, 1-based) |
//! | `string(x)` `number(s)` `not(b)` `is defined(x)` | conversions; `is defined` is false only for a missing variable or entry |
//! | `count(l)` `sum(l)` `min(l)` `max(l)` `list contains(l, x)` | list functions (`sum`/`min`/`max` also take several arguments) |
//! | `abs(n)` `floor(n)` `ceiling(n)` | number functions |
//! | JUEL `${...}` | `== != < <= > >= eq ne lt le gt ge`, `&& \|\| ! and or not`, `empty x`, `+ - * /`, `a.b`, `a[0]` (0-based), `a['k']`, `'single'` or `"double"` strings; a missing variable is an error naming it; a string is coerced to a number or boolean when compared with one |
//!
//! Precedence, loosest first: `or` < `and` < comparisons, `between`, `in` < `+ -` < `* /` < `**` <
//! unary minus < `.field`, `[index]`, calls. Numbers are `f64` inside; results that are integral
//! and fit `i64` come back as JSON integers (`1 + 2` is `3`, not `3.0`).
//!
//! Not supported: `for`, `some`/`every`, `function` definitions, `instance of`, dates, times and
//! durations, named arguments, unary tests (`x in > 5`), names with spaces, JUEL method calls
//! and `? :`.
//!
//! # Why not dsntk
//!
//! The dsntk crates (`dsntk-feel-parser` 0.3 and friends) implement full FEEL for DMN: their own
//! value model (decimals, dates, ranges, functions), scope machinery for name resolution with
//! spaces, and a large dependency tree. We need a small subset over `serde_json` values, Camunda 7
//! `${...}` conditions beside it, and errors with character offsets into the text as written in
//! the BPMN file, so a hand-written implementation (about 1,500 lines, 2,000 with tests) is
//! smaller to own.

mod eval;
mod lexer;
mod parser;

use serde_json::{Map, Value};

/// Which language an expression is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// FEEL, as in Camunda 8 (`= ...`) and form-js.
    Feel,
    /// Camunda 7 JUEL conditions, `${...}`.
    Juel,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    source: String,
    dialect: Dialect,
    ast: parser::Ast,
}

/// A syntax error, with the 0-based character offset into the source text where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset})")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// 0-based character offset into the expression text.
    pub offset: usize,
}

/// An evaluation error (e.g. adding a string to a number in Camunda 7 mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
}

impl Expression {
    /// Parses an expression: `= ...` or bare text is FEEL, `${...}` is a Camunda 7 condition.
    pub fn parse(source: &str) -> Result<Expression, ParseError> {
        let chars: Vec<char> = source.chars().collect();
        let first = chars
            .iter()
            .position(|c| !c.is_whitespace())
            .unwrap_or(chars.len());
        let end = chars
            .iter()
            .rposition(|c| !c.is_whitespace())
            .map_or(first, |i| i + 1);
        let at = |i: usize| chars.get(i).copied();
        let (dialect, start, body_end, intro) = match (at(first), at(first + 1)) {
            (Some('$' | '#'), Some('{')) => {
                if end < first + 3 || at(end - 1) != Some('}') {
                    return Err(ParseError {
                        message: format!("unterminated '{}{{': expected '}}'", chars[first]),
                        offset: end,
                    });
                }
                let intro = format!("'{}{{'", chars[first]);
                (Dialect::Juel, first + 2, end - 1, Some(intro))
            }
            (Some('='), _) => (Dialect::Feel, first + 1, end, Some("'='".to_string())),
            _ => (Dialect::Feel, first, end, None),
        };
        let tokens = lexer::tokenize(&chars, start, body_end, dialect)?;
        let ast = parser::parse(tokens, dialect, intro.as_deref())?;
        Ok(Expression {
            source: source.to_owned(),
            dialect,
            ast,
        })
    }

    /// The text as written in the file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// FEEL or Camunda 7 JUEL.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Evaluates against variables.
    pub fn eval(&self, vars: &Map<String, Value>) -> Result<Value, EvalError> {
        eval::Evaluator {
            vars,
            dialect: self.dialect,
            source: &self.source,
        }
        .run(&self.ast)
    }

    /// Evaluates as a condition: `true` holds; `false` and `null` do not; anything else is an error.
    pub fn eval_condition(&self, vars: &Map<String, Value>) -> Result<bool, EvalError> {
        match self.eval(vars)? {
            Value::Bool(b) => Ok(b),
            Value::Null => Ok(false),
            other => Err(EvalError {
                message: format!("a condition must be true or false, got {other}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Parses `src`, evaluates it against `vars` and compares with `expected`.
    fn check(src: &str, vars_json: Value, expected: Value) {
        let expr = Expression::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        let got = expr
            .eval(&vars(vars_json))
            .unwrap_or_else(|e| panic!("{src:?}: {e}"));
        assert_eq!(got, expected, "{src:?}");
        // Integral results must be JSON integers, not floats.
        if expected.is_i64() {
            assert!(got.is_i64(), "{src:?} gave {got}");
        }
    }

    fn parse_err(src: &str) -> ParseError {
        match Expression::parse(src) {
            Ok(e) => panic!("{src:?} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    fn check_err(src: &str, offset: usize, message_part: &str) {
        let e = parse_err(src);
        assert_eq!(e.offset, offset, "{src:?}: {e}");
        assert!(e.message.contains(message_part), "{src:?}: {e}");
    }

    fn eval_err(src: &str, vars_json: Value) -> EvalError {
        let expr = Expression::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        match expr.eval(&vars(vars_json)) {
            Ok(v) => panic!("{src:?} gave {v}"),
            Err(e) => e,
        }
    }

    #[test]
    fn expr_literals_and_arithmetic() {
        let none = json!({});
        for (src, expected) in [
            ("1", json!(1)),
            ("= 1 + 2", json!(3)),
            ("-2.5", json!(-2.5)),
            ("1.0", json!(1)),
            ("7 / 2", json!(3.5)),
            ("6 / 3", json!(2)),
            ("1 / 0", json!(null)),
            ("2 ** 10", json!(1024)),
            ("-2 ** 2", json!(4)),
            ("2 + 3 * 4", json!(14)),
            ("(2 + 3) * 4", json!(20)),
            ("10 - 2 - 3", json!(5)),
            ("- (1 + 2)", json!(-3)),
            ("0.1 + 0.2 > 0.3", json!(true)),
            ("\"a\\\"b\\n\\\\\"", json!("a\"b\n\\")),
            ("\"\\u00e9\\ud83d\\ude00\"", json!("é😀")),
            ("\"Phú \" + \"Vang\"", json!("Phú Vang")),
            ("\"a\" + 1", json!(null)),
            ("null + 1", json!(null)),
            ("- null", json!(null)),
            ("true", json!(true)),
            ("null", json!(null)),
            ("[1, 2, \"x\"]", json!([1, 2, "x"])),
            ("[]", json!([])),
            ("{a: 1, \"b c\": [2]}", json!({"a": 1, "b c": [2]})),
            ("{}", json!({})),
            ("{a: {b: 2}}.a.b", json!(2)),
            ("if 1 > 2 then \"x\" else \"y\"", json!("y")),
            ("if null then 1 else 2", json!(2)),
            ("1 + if true then 1 else 2 + 10", json!(2)),
            ("  \n   = 1 + 1\n  ", json!(2)),
        ] {
            check(src, none.clone(), expected);
        }
    }

    #[test]
    fn expr_paths_and_indexing() {
        let v = json!({
            "amount": 1500,
            "applicant": {"name": "Nguyễn Văn A", "address": {"district": "Phú Vang"}},
            "hồSơ": {"sốTrang": 3},
            "list": [10, 20, 30],
            "people": [{"age": 20, "n": "a"}, {"age": 40, "n": "b"}],
            "nothing": null,
        });
        for (src, expected) in [
            ("amount", json!(1500)),
            ("applicant.address.district", json!("Phú Vang")),
            ("applicant.address.ward", json!(null)),
            ("missing.deep.path", json!(null)),
            ("hồSơ.sốTrang", json!(3)),
            ("list[1]", json!(10)),
            ("list[3]", json!(30)),
            ("list[-1]", json!(30)),
            ("list[4]", json!(null)),
            ("list[0]", json!(null)),
            ("list[item > 15]", json!([20, 30])),
            ("people[age > 30].n", json!(["b"])),
            ("people.age", json!([20, 40])),
            ("people[1].n", json!("a")),
            ("count(list[item >= 20])", json!(2)),
        ] {
            check(src, v.clone(), expected);
        }
    }

    #[test]
    fn expr_comparisons() {
        let v = json!({"amount": 1500, "district": "Phú Vang", "x": null, "f": 1.0, "l": [1, {"a": 2}]});
        for (src, expected) in [
            ("= amount > 1000 and district = \"Phú Vang\"", json!(true)),
            ("amount > 1000 and district = \"Phú Lộc\"", json!(false)),
            ("amount >= 1500", json!(true)),
            ("amount < 1500", json!(false)),
            ("amount <= 1500", json!(true)),
            ("amount != 1500", json!(false)),
            ("f = 1", json!(true)),
            ("1 = 1.0", json!(true)),
            ("x = null", json!(true)),
            ("missing = null", json!(true)),
            ("amount = null", json!(false)),
            ("x != null", json!(false)),
            ("x > 1", json!(null)),
            ("amount > \"1\"", json!(null)),
            ("amount = \"1500\"", json!(false)),
            ("\"abc\" < \"abd\"", json!(true)),
            ("\"Z\" < \"a\"", json!(true)),
            ("\"Phú\" > \"Phu\"", json!(true)),
            ("l = [1, {a: 2}]", json!(true)),
            ("l = [1, {a: 3}]", json!(false)),
            ("{a: 1, b: 2} = {b: 2, a: 1.0}", json!(true)),
            ("amount between 1000 and 2000", json!(true)),
            ("amount between 1600 and 2000", json!(false)),
            ("x between 1 and 2", json!(null)),
            ("amount in [1000, 1500]", json!(true)),
            ("amount in [1, 2]", json!(false)),
            ("district in [\"Huế\", \"Phú Vang\"]", json!(true)),
            ("amount in 1500", json!(true)),
            ("5 in [1..10]", json!(true)),
            ("10 in [1..10)", json!(false)),
            ("1 in (1..10]", json!(false)),
            ("1 in ]1..10]", json!(false)),
            ("10 in [1..10[", json!(false)),
            ("x in [1..10]", json!(null)),
            ("amount + 1 > 1500 = true", json!(true)),
        ] {
            check(src, v.clone(), expected);
        }
    }

    #[test]
    fn expr_three_valued_logic() {
        let v = json!({"t": true, "f": false, "n": null});
        for (src, expected) in [
            ("null and false", json!(false)),
            ("false and null", json!(false)),
            ("null and true", json!(null)),
            ("true and true", json!(true)),
            ("true or null", json!(true)),
            ("null or true", json!(true)),
            ("null or false", json!(null)),
            ("false or false", json!(false)),
            ("not(true)", json!(false)),
            ("not(n)", json!(null)),
            ("not(missing)", json!(null)),
            ("not(1)", json!(null)),
            ("t and not(f)", json!(true)),
            ("f or t and n", json!(null)),
            ("\"yes\" and true", json!(null)),
        ] {
            check(src, v.clone(), expected);
        }
    }

    #[test]
    fn expr_functions() {
        let v = json!({"s": "Thừa Thiên Huế", "l": [3, 1, 2], "n": null, "o": {"a": null}});
        for (src, expected) in [
            ("string length(s)", json!(14)),
            ("string length(n)", json!(null)),
            ("upper case(s)", json!("THỪA THIÊN HUẾ")),
            ("lower case(\"ĐÀ NẴNG\")", json!("đà nẵng")),
            ("contains(s, \"Thiên\")", json!(true)),
            ("contains(s, 1)", json!(null)),
            ("starts with(s, \"Thừa\")", json!(true)),
            ("ends with(s, \"Hue\")", json!(false)),
            ("substring(\"foobar\", 3)", json!("obar")),
            ("substring(\"foobar\", 3, 3)", json!("oba")),
            ("substring(\"foobar\", -2, 1)", json!("a")),
            ("substring(s, 12)", json!("Huế")),
            ("substring(\"abc\", 5)", json!("")),
            ("string(1.5)", json!("1.5")),
            ("string(2)", json!("2")),
            ("string(true)", json!("true")),
            ("string(n)", json!(null)),
            ("number(\"12.5\")", json!(12.5)),
            ("number(\"12\") + 1", json!(13)),
            ("number(\"abc\")", json!(null)),
            ("number(\"inf\")", json!(null)),
            ("is defined(s)", json!(true)),
            ("is defined(n)", json!(true)),
            ("is defined(missing)", json!(false)),
            ("is defined(o.a)", json!(true)),
            ("is defined(o.b)", json!(false)),
            ("is defined(missing.b)", json!(false)),
            ("count(l)", json!(3)),
            ("count(n)", json!(null)),
            ("sum(l)", json!(6)),
            ("sum(1, 2.5)", json!(3.5)),
            ("sum([1, \"a\"])", json!(null)),
            ("min(l)", json!(1)),
            ("max(l)", json!(3)),
            ("max(1, 5, 2)", json!(5)),
            ("min([\"b\", \"a\"])", json!("a")),
            ("min([])", json!(null)),
            ("max([1, \"a\"])", json!(null)),
            ("list contains(l, 2)", json!(true)),
            ("list contains(l, 2.0)", json!(true)),
            ("list contains(l, 7)", json!(false)),
            ("abs(-3)", json!(3)),
            ("floor(1.7)", json!(1)),
            ("floor(-1.5)", json!(-2)),
            ("ceiling(1.2)", json!(2)),
            ("abs(\"x\")", json!(null)),
            ("not(contains(s, \"Huế\"))", json!(false)),
        ] {
            check(src, v.clone(), expected);
        }
    }

    #[test]
    fn expr_juel() {
        let v = json!({
            "amount": 1500,
            "district": "Phú Vang",
            "approved": true,
            "flag": "true",
            "count": "7",
            "list": [1, 2],
            "o": {"k": "v"},
            "blank": "",
            "n": null,
        });
        for (src, expected) in [
            ("${amount > 1000 && district == 'Phú Vang'}", json!(true)),
            ("${amount > 1000 && district == \"Phú Vang\"}", json!(true)),
            ("  ${ amount gt 1000 and district ne 'Huế' }\n", json!(true)),
            ("${amount lt 1000 || !approved}", json!(false)),
            ("${not approved}", json!(false)),
            ("${!(amount == 1500)}", json!(false)),
            ("${amount eq 1500}", json!(true)),
            ("${amount le 1500 && amount ge 1500}", json!(true)),
            ("${approved == 'true'}", json!(true)),
            ("${flag == true}", json!(true)),
            ("${count > 5}", json!(true)),
            ("${count == 7}", json!(true)),
            ("${empty blank}", json!(true)),
            ("${empty n}", json!(true)),
            ("${empty list}", json!(false)),
            ("${not empty district}", json!(true)),
            ("${list[0]}", json!(1)),
            ("${o['k']}", json!("v")),
            ("${o.k == 'v'}", json!(true)),
            ("${o.missing == null}", json!(true)),
            ("${amount * 2 - 1}", json!(2999)),
            ("${'it\\'s'}", json!("it's")),
            ("#{amount > 1}", json!(true)),
        ] {
            check(src, v.clone(), expected);
        }
        let e = eval_err("${missingVar == 1}", v.clone());
        assert!(e.message.contains("Unknown property"), "{e}");
        assert!(e.message.contains("'missingVar'"), "{e}");
        let e = eval_err("${district + 1}", v.clone());
        assert!(e.message.contains("cannot apply '+'"), "{e}");
        // Short-circuit as in JUEL: the missing variable is never looked up.
        check("${amount < 0 && missingVar}", v, json!(false));
        assert_eq!(
            Expression::parse("${a == 1}").map(|e| e.dialect()),
            Ok(Dialect::Juel)
        );
    }

    #[test]
    fn expr_conditions() {
        let v = vars(json!({"a": 1, "s": "x"}));
        let cond = |src: &str| Expression::parse(src).map(|e| e.eval_condition(&v));
        assert_eq!(cond("= a = 1"), Ok(Ok(true)));
        assert_eq!(cond("= a = 2"), Ok(Ok(false)));
        assert_eq!(cond("= a > missing"), Ok(Ok(false)));
        assert!(matches!(cond("= s"), Ok(Err(_))));
        assert!(matches!(cond("a + 1"), Ok(Err(_))));
    }

    #[test]
    fn expr_syntax_errors() {
        check_err("= 1 +", 5, "expected an expression after '+'");
        check_err("= 1 +\n   ", 5, "expected an expression after '+'");
        check_err("${a ==}", 6, "expected an expression after '=='");
        check_err("= \"abc", 2, "unterminated string");
        check_err("\"abc", 0, "unterminated string");
        check_err("x = \"abc\\", 4, "unterminated string");
        check_err("foo(1)", 0, "unknown function 'foo'");
        check_err("= 1 + bar baz(2)", 10, "unexpected 'baz'");
        check_err("= 1 + foo(2)", 6, "unknown function 'foo'");
        check_err("${foo(1)}", 2, "unknown function 'foo'");
        check_err("= (1 + 2))", 9, "unexpected ')'");
        check_err("= (1 + 2", 8, "expected ')'");
        check_err("=", 1, "expected an expression after '='");
        check_err("   ", 3, "expected an expression");
        check_err("${}", 2, "expected an expression after '${'");
        check_err("${a == 1", 8, "unterminated '${'");
        check_err("a == 1", 2, "FEEL uses '='");
        check_err("a && b", 2, "FEEL uses 'and'");
        check_err("${a = 1}", 4, "'=='");
        check_err("'x'", 0, "double quotes");
        check_err("= a # b", 4, "unexpected character '#'");
        check_err("\"\\q\"", 1, "invalid escape");
        check_err("\"\\u12\"", 1, "invalid unicode escape");
        check_err("substring(\"a\")", 0, "takes 2 or 3 arguments, got 1");
        check_err("string length(\"a\", 2)", 0, "takes 1 argument, got 2");
        check_err("= [1, 2", 7, "expected ',' or ']'");
        check_err("{a 1}", 3, "expected ':'");
        check_err("if a then b", 11, "expected 'else'");
        check_err("a between 1 or 2", 12, "expected 'and'");
        check_err("a.1", 2, "expected a name after '.'");
        check_err("for x in l return x", 0, "not supported");
        check_err("Đà Nẵng = 1", 3, "unexpected 'Nẵng'");
        check_err("\"Huế\" = x y", 10, "unexpected 'y'");
        check_err("and", 0, "expected an expression, found 'and'");
    }

    #[test]
    fn expr_deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        let e = parse_err(&deep);
        assert!(e.message.contains("nested too deeply"), "{e}");
        assert_eq!(e.offset, 64);
        let e = parse_err(&format!("{}1", "-".repeat(10_000)));
        assert!(e.message.contains("nested too deeply"), "{e}");
        let e = parse_err(&"[".repeat(100_000));
        assert!(e.message.contains("nested too deeply"), "{e}");
        let long = vec!["a"; 10_000].join(" or ");
        let e = parse_err(&long);
        assert!(e.message.contains("too deeply nested"), "{e}");
        let e = parse_err(&format!("a{}", ".b".repeat(10_000)));
        assert!(e.message.contains("too deeply nested"), "{e}");
        // Moderate nesting is fine.
        let ok = format!("{}1{}", "(".repeat(30), ")".repeat(30));
        check(&ok, json!({}), json!(1));
        check(&vec!["false"; 200].join(" or "), json!({}), json!(false));
    }

    #[test]
    fn expr_never_panics_on_odd_input() {
        for src in [
            "",
            "=",
            "${",
            "$",
            "${}}",
            "#{",
            "[..]",
            "(..)",
            "]1..",
            "[1..",
            "1..2",
            "\"\\u",
            "\"\\ud83d\"",
            "\"\\ud83d\\u0041\"",
            "{",
            "{a:",
            "{\"a\":1,",
            "a[",
            "a[1",
            "a.",
            "not(",
            "if",
            "if a then",
            "x in",
            "x between",
            "1 2",
            ".",
            "..",
            ".5",
            "1.",
            "1e5",
            "${a ? b : c}",
            "= = =",
            "**",
            "substring(",
            "is defined()",
            "\u{0}",
            "🙂",
            "a.b.c[1][2](",
            "[1..2]",
            "${empty}",
        ] {
            if let Ok(e) = Expression::parse(src) {
                let _ = e.eval(&Map::new());
            }
        }
        // A range outside `in` is an evaluation error, not a crash.
        assert!(eval_err("[1..2]", json!({})).message.contains("range"));
        check(".5 + 1", json!({}), json!(1.5));
    }
}
