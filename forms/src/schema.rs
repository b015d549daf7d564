//! The form-js (Camunda Forms) JSON schema, as exported by the bpmn-io form-js editor, parsed
//! into typed components and checked: every problem is reported at once with its JSON path
//! (`components[3].validate.min`).
//!
//! The top level is `{"components": [...], "type": "default", "id": "Form_1", "schemaVersion": 16,
//! "exporter": {...}}`; `id` is required because a BPMN `formKey`/`formId` names it. Fields we do
//! not use (`layout`, `exporter`, `executionPlatform`, ...) are accepted and ignored.

use std::collections::HashSet;
use std::fmt;

use motcua_expr::Expression;
use regex::Regex;
use serde_json::{Map, Value};

/// A parsed, checked form.
#[derive(Debug, Clone)]
pub struct FormSchema {
    /// The form's id (`id` at the top level), which a BPMN `formId`/`formKey` names.
    pub id: String,
    /// `schemaVersion`, when given.
    pub schema_version: Option<u64>,
    /// The top-level components, in order.
    pub components: Vec<Component>,
}

/// One component of a form.
#[derive(Debug, Clone)]
pub struct Component {
    /// The editor's id of the component (`Field_0abc`), when given.
    pub id: Option<String>,
    /// The data key of a field (may be dotted: `address.street`); `None` for display-only
    /// components, groups and dynamic lists.
    pub key: Option<String>,
    /// The label (`label`, or `dateLabel`/`timeLabel` for datetime fields).
    pub label: Option<String>,
    /// Help text shown under the field (`description`).
    pub description: Option<String>,
    /// What kind of component this is.
    pub kind: ComponentKind,
    /// Validation rules (`validate`).
    pub validate: Validate,
    /// `conditional.hide`: the component is hidden (not rendered, not validated, its value
    /// dropped) when this is true.
    pub hide: Option<Expression>,
    /// Static options of select, radio, checklist and taglist.
    pub values: Vec<Choice>,
    /// `valuesKey`: the options come from this input variable instead.
    pub values_key: Option<String>,
    /// A computed value: the `expression` of an `expression` component.
    pub expression: Option<Expression>,
    /// `path` of a group (its children's values nest under it) or a dynamic list (the list key).
    pub path: Option<String>,
    /// Children of a group or dynamic list.
    pub components: Vec<Component>,
    /// `text` of a display `text` component (markdown in form-js; shown as plain text here).
    pub text: Option<String>,
    /// `multiple` of a file picker (and select in some versions).
    pub multiple: bool,
    /// `accept` of a file picker (`.pdf,.jpg`).
    pub accept: Option<String>,
    /// `readonly` when it is the literal `true`.
    pub readonly: bool,
    /// `defaultValue`, when given.
    pub default_value: Option<Value>,
    /// `defaultRepetitions` of a dynamic list (rows shown when there is no data), default 1.
    pub default_repetitions: usize,
    /// `dataSource` of a table (`=members`).
    pub data_source: Option<Expression>,
    /// `columns` of a table with static columns.
    pub columns: Vec<Choice>,
    /// Position in the JSON list it came from (components that failed to parse are left out
    /// of `components`, so error paths use this).
    pub(crate) index: usize,
}

/// The kind of a component (form-js `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentKind {
    /// `textfield`: one line of text.
    TextField,
    /// `textarea`: several lines of text.
    TextArea,
    /// `number`.
    Number,
    /// `datetime` with its `subtype`.
    DateTime(DateSubtype),
    /// `checkbox`: a boolean.
    Checkbox,
    /// `checklist`: several of the options.
    Checklist,
    /// `radio`: one of the options.
    Radio,
    /// `select`: one of the options.
    Select,
    /// `taglist`: several of the options, as tags.
    Taglist,
    /// `group`: a fieldset; with `path` its children's values nest under the path.
    Group,
    /// `dynamiclist`: repeating rows; `path` is the list key.
    DynamicList,
    /// `table`: a read-only display of a list (`dataSource`).
    Table,
    /// `filepicker` / `file`: a document slot; the value is an object (or list of objects)
    /// describing an uploaded document, e.g. `{"sha256": "...", "name": "..."}`.
    FilePicker,
    /// `expression`: a computed value (`expression` + `key`), not entered by the user.
    Expression,
    /// `text`: display-only text.
    Text,
    /// Other display-only components with no value (`html`, `image`, `spacer`, `separator`,
    /// `button`, `iframe`, `documentPreview`), by their form-js type name.
    Display(String),
}

/// `subtype` of a `datetime` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSubtype {
    /// A date: ISO `YYYY-MM-DD`.
    Date,
    /// A time of day: `HH:MM`.
    Time,
    /// Date and time: ISO `YYYY-MM-DDTHH:MM`.
    DateTime,
}

impl ComponentKind {
    /// Whether a component of this kind holds a value under its `key`.
    pub fn has_value(&self) -> bool {
        !matches!(
            self,
            ComponentKind::Group
                | ComponentKind::DynamicList
                | ComponentKind::Table
                | ComponentKind::Text
                | ComponentKind::Display(_)
        )
    }

    /// Whether the value is chosen among options (`values`).
    pub fn has_options(&self) -> bool {
        matches!(
            self,
            ComponentKind::Checklist
                | ComponentKind::Radio
                | ComponentKind::Select
                | ComponentKind::Taglist
        )
    }
}

/// An option of a select, radio, checklist or taglist (or a table column: label + key).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Shown to the user.
    pub label: String,
    /// Stored in the data (usually a string).
    pub value: Value,
}

/// The `validate` rules of a field.
#[derive(Debug, Clone, Default)]
pub struct Validate {
    /// `required`.
    pub required: bool,
    /// `min` of a number.
    pub min: Option<f64>,
    /// `max` of a number.
    pub max: Option<f64>,
    /// `minLength` of a text, in characters.
    pub min_length: Option<usize>,
    /// `maxLength` of a text, in characters.
    pub max_length: Option<usize>,
    /// `pattern`: as in form-js, the text must contain a match (use `^...$` to match it whole).
    pub pattern: Option<Pattern>,
    /// `validationType`: a named validator.
    pub validation_type: Option<ValidationType>,
}

/// A compiled `validate.pattern`.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as written.
    pub source: String,
    /// The compiled regular expression.
    pub regex: Regex,
}

/// A named validator (`validate.validationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationType {
    /// `email` (form-js).
    Email,
    /// `phone`: a Vietnamese phone number (replaces form-js's international rule).
    Phone,
    /// `cccd`: a Vietnamese citizen ID number.
    Cccd,
    /// `taxCode`: a Vietnamese tax code (mã số thuế).
    TaxCode,
    /// `vnDate`: a date written `dd/mm/yyyy`.
    VnDate,
}

impl ValidationType {
    /// The name as written in `validationType`, also the error code.
    pub fn code(self) -> &'static str {
        match self {
            ValidationType::Email => "email",
            ValidationType::Phone => "phone",
            ValidationType::Cccd => "cccd",
            ValidationType::TaxCode => "taxCode",
            ValidationType::VnDate => "vnDate",
        }
    }
}

/// One problem in a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Where: a JSON path such as `components[3].validate.min`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_errors(.errors))]
pub struct SchemaErrors {
    /// The problems, in document order.
    pub errors: Vec<SchemaError>,
}

fn display_errors(errors: &[SchemaError]) -> String {
    let mut s = format!("the form schema has {} problem(s):", errors.len());
    for e in errors {
        s.push_str("\n  ");
        s.push_str(&e.to_string());
    }
    s
}

/// Parses and checks a form-js schema, reporting every problem.
pub fn parse(json: &str) -> Result<FormSchema, SchemaErrors> {
    let root: Value = serde_json::from_str(json).map_err(|e| SchemaErrors {
        errors: vec![SchemaError {
            path: String::new(),
            message: format!("not valid JSON: {e}"),
        }],
    })?;
    from_value(&root)
}

/// Checks a form-js schema already parsed as JSON, reporting every problem.
pub fn from_value(root: &Value) -> Result<FormSchema, SchemaErrors> {
    let mut p = Parser { errors: Vec::new() };
    let Some(obj) = root.as_object() else {
        return Err(SchemaErrors {
            errors: vec![SchemaError {
                path: String::new(),
                message: "a form schema must be a JSON object".into(),
            }],
        });
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) | None => {
            p.err("id", "the form has no id (a BPMN formId names it)");
            String::new()
        }
        Some(_) => {
            p.err("id", "must be a string");
            String::new()
        }
    };
    let schema_version = match obj.get("schemaVersion") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                p.err("schemaVersion", "must be a whole number");
                None
            }
        },
    };
    if let Some(t) = obj.get("type") {
        if t.as_str() != Some("default") {
            p.err("type", "must be \"default\"");
        }
    }
    let components = match obj.get("components") {
        Some(Value::Array(items)) => p.components(items, "components"),
        None => {
            p.err("components", "missing: a form lists its components");
            Vec::new()
        }
        Some(_) => {
            p.err("components", "must be a list");
            Vec::new()
        }
    };
    // Keys must be unique in each scope: the form (groups without or with a path share it,
    // with the path prefixed) and each dynamic list's rows.
    let mut seen = HashSet::new();
    check_duplicates(&components, &[], "components", &mut seen, &mut p);
    if p.errors.is_empty() {
        Ok(FormSchema {
            id,
            schema_version,
            components,
        })
    } else {
        Err(SchemaErrors { errors: p.errors })
    }
}

/// Records the data paths of `components` in `seen`; a path seen twice in one scope is an error.
fn check_duplicates(
    components: &[Component],
    prefix: &[String],
    json_path: &str,
    seen: &mut HashSet<Vec<String>>,
    p: &mut Parser,
) {
    for c in components {
        let here = format!("{json_path}[{}]", c.index);
        match c.kind {
            ComponentKind::Group => {
                let mut inner = prefix.to_vec();
                if let Some(path) = &c.path {
                    inner.extend(split_path(path));
                }
                check_duplicates(
                    &c.components,
                    &inner,
                    &format!("{here}.components"),
                    seen,
                    p,
                );
            }
            ComponentKind::DynamicList => {
                if let Some(path) = &c.path {
                    let mut full = prefix.to_vec();
                    full.extend(split_path(path));
                    if !seen.insert(full) {
                        p.err(
                            &format!("{here}.path"),
                            &format!("duplicate key \"{path}\""),
                        );
                    }
                }
                let mut row_scope = HashSet::new();
                check_duplicates(
                    &c.components,
                    &[],
                    &format!("{here}.components"),
                    &mut row_scope,
                    p,
                );
            }
            _ => {
                if let (Some(key), true) = (&c.key, c.kind.has_value()) {
                    let mut full = prefix.to_vec();
                    full.extend(split_path(key));
                    if !seen.insert(full) {
                        p.err(&format!("{here}.key"), &format!("duplicate key \"{key}\""));
                    }
                }
            }
        }
    }
}

/// Splits a dotted key or path (`address.street`) into its segments.
pub fn split_path(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

struct Parser {
    errors: Vec<SchemaError>,
}

impl Parser {
    fn err(&mut self, path: &str, message: &str) {
        self.errors.push(SchemaError {
            path: path.to_owned(),
            message: message.to_owned(),
        });
    }

    fn components(&mut self, items: &[Value], path: &str) -> Vec<Component> {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let mut c = self.component(item, &format!("{path}[{i}]"))?;
                c.index = i;
                Some(c)
            })
            .collect()
    }

    fn string(&mut self, obj: &Map<String, Value>, name: &str, path: &str) -> Option<String> {
        match obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(&format!("{path}.{name}"), "must be a string");
                None
            }
        }
    }

    fn expression(&mut self, v: &Value, path: &str) -> Option<Expression> {
        let source = match v {
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            _ => {
                self.err(path, "must be an expression (a string such as \"=x > 1\")");
                return None;
            }
        };
        match Expression::parse(&source) {
            Ok(e) => Some(e),
            Err(e) => {
                self.err(path, &format!("invalid expression {source:?}: {e}"));
                None
            }
        }
    }

    fn component(&mut self, item: &Value, path: &str) -> Option<Component> {
        let Some(obj) = item.as_object() else {
            self.err(path, "a component must be a JSON object");
            return None;
        };
        let kind = match obj.get("type").and_then(Value::as_str) {
            None => {
                self.err(&format!("{path}.type"), "missing component type");
                return None;
            }
            Some(t) => match kind_of(t, obj) {
                Ok(k) => k,
                Err(message) => {
                    let field = if t == "datetime" { "subtype" } else { "type" };
                    self.err(&format!("{path}.{field}"), &message);
                    return None;
                }
            },
        };
        let key = self.string(obj, "key", path);
        let label = self
            .string(obj, "label", path)
            .or_else(|| self.string(obj, "dateLabel", path))
            .or_else(|| self.string(obj, "timeLabel", path));
        let description = self.string(obj, "description", path);
        let component_path = self.string(obj, "path", path);
        let text = self.string(obj, "text", path);
        let values_key = self.string(obj, "valuesKey", path);
        let accept = self.string(obj, "accept", path);

        if kind.has_value() {
            match &key {
                Some(k) if valid_path(k) => {}
                Some(k) => self.err(
                    &format!("{path}.key"),
                    &format!("invalid key \"{k}\": use letters, digits and _ (dots nest)"),
                ),
                None => self.err(&format!("{path}.key"), "a field must have a key"),
            }
        }
        match (&kind, &component_path) {
            (ComponentKind::DynamicList, None) => {
                self.err(&format!("{path}.path"), "a dynamic list must have a path")
            }
            (ComponentKind::DynamicList | ComponentKind::Group, Some(p)) if !valid_path(p) => {
                self.err(&format!("{path}.path"), &format!("invalid path \"{p}\""))
            }
            _ => {}
        }

        let hide = match obj.get("conditional") {
            None | Some(Value::Null) => None,
            Some(Value::Object(c)) => match c.get("hide") {
                None | Some(Value::Null) => None,
                Some(v) => self.expression(v, &format!("{path}.conditional.hide")),
            },
            Some(_) => {
                self.err(&format!("{path}.conditional"), "must be an object");
                None
            }
        };
        let expression = match obj.get("expression") {
            None | Some(Value::Null) => None,
            Some(v) => self.expression(v, &format!("{path}.expression")),
        };
        if kind == ComponentKind::Expression
            && expression.is_none()
            && !self
                .errors
                .iter()
                .any(|e| e.path == format!("{path}.expression"))
        {
            self.err(
                &format!("{path}.expression"),
                "an expression field must have an expression",
            );
        }
        let data_source = match obj.get("dataSource") {
            None | Some(Value::Null) => None,
            Some(v) => self.expression(v, &format!("{path}.dataSource")),
        };

        let values = self.choices(obj.get("values"), &format!("{path}.values"), "value");
        let columns = self.choices(obj.get("columns"), &format!("{path}.columns"), "key");

        let validate = match obj.get("validate") {
            None | Some(Value::Null) => Validate::default(),
            Some(Value::Object(v)) => self.validate(v, &format!("{path}.validate")),
            Some(_) => {
                self.err(&format!("{path}.validate"), "must be an object");
                Validate::default()
            }
        };

        let components = match obj.get("components") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => self.components(items, &format!("{path}.components")),
            Some(_) => {
                self.err(&format!("{path}.components"), "must be a list");
                Vec::new()
            }
        };
        let default_repetitions = match obj.get("defaultRepetitions") {
            None | Some(Value::Null) => 1,
            Some(v) => match v.as_u64() {
                Some(n) if n <= 1000 => n as usize,
                _ => {
                    self.err(
                        &format!("{path}.defaultRepetitions"),
                        "must be a whole number up to 1000",
                    );
                    1
                }
            },
        };

        Some(Component {
            id: self.string(obj, "id", path),
            key,
            label,
            description,
            kind,
            validate,
            hide,
            values,
            values_key,
            expression,
            path: component_path,
            components,
            text,
            multiple: obj
                .get("multiple")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            accept,
            readonly: obj
                .get("readonly")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            default_value: obj.get("defaultValue").filter(|v| !v.is_null()).cloned(),
            default_repetitions,
            data_source,
            columns,
            index: 0,
        })
    }

    /// Options (`values`: label + value) or table columns (`columns`: label + key).
    fn choices(&mut self, v: Option<&Value>, path: &str, value_field: &str) -> Vec<Choice> {
        let items = match v {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(Value::String(_)) if value_field == "key" => return Vec::new(), // `=expr` columns
            Some(_) => {
                self.err(path, "must be a list");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let here = format!("{path}[{i}]");
            let value = item.get(value_field).filter(|v| !v.is_null());
            match value {
                Some(value) => {
                    let label = match item.get("label") {
                        Some(Value::String(s)) => s.clone(),
                        _ => plain(value),
                    };
                    out.push(Choice {
                        label,
                        value: value.clone(),
                    });
                }
                None => self.err(&here, &format!("an option must have a {value_field}")),
            }
        }
        out
    }

    fn validate(&mut self, v: &Map<String, Value>, path: &str) -> Validate {
        let number = |p: &mut Parser, name: &str| -> Option<f64> {
            match v.get(name) {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => match s.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => Some(n),
                    _ => {
                        p.err(&format!("{path}.{name}"), "must be a number");
                        None
                    }
                },
                Some(_) => {
                    p.err(&format!("{path}.{name}"), "must be a number");
                    None
                }
            }
        };
        let min = number(self, "min");
        let max = number(self, "max");
        let min_length = number(self, "minLength");
        let max_length = number(self, "maxLength");
        let length = |p: &mut Parser, name: &str, n: Option<f64>| -> Option<usize> {
            let n = n?;
            if n < 0.0 || n.fract() != 0.0 || n > 1e9 {
                p.err(
                    &format!("{path}.{name}"),
                    "must be a whole number, 0 or more",
                );
                None
            } else {
                Some(n as usize)
            }
        };
        let min_length = length(self, "minLength", min_length);
        let max_length = length(self, "maxLength", max_length);
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                self.err(
                    &format!("{path}.min"),
                    &format!("min ({lo}) is greater than max ({hi})"),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (min_length, max_length) {
            if lo > hi {
                self.err(
                    &format!("{path}.minLength"),
                    &format!("minLength ({lo}) is greater than maxLength ({hi})"),
                );
            }
        }
        let required = match v.get("required") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.err(&format!("{path}.required"), "must be true or false");
                false
            }
        };
        let pattern = match v.get("pattern") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => match Regex::new(s) {
                Ok(regex) => Some(Pattern {
                    source: s.clone(),
                    regex,
                }),
                Err(e) => {
                    let first = e.to_string();
                    let last = first.lines().last().unwrap_or("").trim().to_owned();
                    self.err(
                        &format!("{path}.pattern"),
                        &format!("invalid regular expression {s:?}: {last}"),
                    );
                    None
                }
            },
            Some(_) => {
                self.err(&format!("{path}.pattern"), "must be a string");
                None
            }
        };
        let validation_type = match v.get("validationType") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match s.as_str() {
                "" | "custom" => None,
                "email" => Some(ValidationType::Email),
                "phone" => Some(ValidationType::Phone),
                "cccd" => Some(ValidationType::Cccd),
                "taxCode" => Some(ValidationType::TaxCode),
                "vnDate" => Some(ValidationType::VnDate),
                other => {
                    self.err(
                        &format!("{path}.validationType"),
                        &format!(
                            "unknown validation type \"{other}\" (known: email, phone, cccd, taxCode, vnDate)"
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                self.err(&format!("{path}.validationType"), "must be a string");
                None
            }
        };
        Validate {
            required,
            min,
            max,
            min_length,
            max_length,
            pattern,
            validation_type,
        }
    }
}

/// A key or path: non-empty segments of letters, digits, `_` and `-`, separated by dots.
fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
}

/// A JSON value as plain text (strings without quotes).
pub(crate) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn kind_of(t: &str, obj: &Map<String, Value>) -> Result<ComponentKind, String> {
    Ok(match t {
        "textfield" => ComponentKind::TextField,
        "textarea" => ComponentKind::TextArea,
        "number" => ComponentKind::Number,
        "datetime" => {
            let subtype = match obj.get("subtype").and_then(Value::as_str) {
                None | Some("date") => DateSubtype::Date,
                Some("time") => DateSubtype::Time,
                Some("datetime") => DateSubtype::DateTime,
                Some(other) => {
                    return Err(format!(
                        "unknown datetime subtype \"{other}\" (date, time or datetime)"
                    ))
                }
            };
            ComponentKind::DateTime(subtype)
        }
        "checkbox" => ComponentKind::Checkbox,
        "checklist" => ComponentKind::Checklist,
        "radio" => ComponentKind::Radio,
        "select" => ComponentKind::Select,
        "taglist" => ComponentKind::Taglist,
        "group" => ComponentKind::Group,
        "dynamiclist" => ComponentKind::DynamicList,
        "table" => ComponentKind::Table,
        "filepicker" | "file" => ComponentKind::FilePicker,
        "expression" => ComponentKind::Expression,
        "text" => ComponentKind::Text,
        "html" | "image" | "spacer" | "separator" | "button" | "iframe" | "documentPreview" => {
            ComponentKind::Display(t.to_owned())
        }
        other => return Err(format!("unknown component type \"{other}\"")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_form() {
        let f = parse(r#"{"id":"F","type":"default","components":[{"type":"textfield","key":"a","label":"A"}]}"#).unwrap();
        assert_eq!(f.id, "F");
        assert_eq!(f.components[0].kind, ComponentKind::TextField);
    }

    #[test]
    fn errors_have_paths() {
        let e = parse(
            r#"{"components":[{"type":"textfield"},{"type":"nope","key":"b"},
            {"type":"number","key":"n","validate":{"min":5,"max":1}},
            {"type":"textfield","key":"p","validate":{"pattern":"(a"}},
            {"type":"textfield","key":"h","conditional":{"hide":"=a >"}}]}"#,
        )
        .unwrap_err();
        let paths: Vec<_> = e.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "id",
                "components[0].key",
                "components[1].type",
                "components[2].validate.min",
                "components[3].validate.pattern",
                "components[4].conditional.hide"
            ]
        );
        assert!(e
            .to_string()
            .contains("components[1].type: unknown component type"));
    }

    #[test]
    fn duplicate_keys_per_scope() {
        let e = parse(r#"{"id":"F","components":[
            {"type":"textfield","key":"a"},
            {"type":"group","components":[{"type":"textfield","key":"a"}]},
            {"type":"group","path":"g","components":[{"type":"textfield","key":"a"}]},
            {"type":"dynamiclist","path":"l","components":[{"type":"textfield","key":"a"},{"type":"number","key":"a"}]}]}"#)
        .unwrap_err();
        let paths: Vec<_> = e.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "components[1].components[0].key",
                "components[3].components[1].key"
            ]
        );
    }
}
