//! A submission checked against a form: every failing field reported at once with its path
//! (`members[2].cccd`), a code and a Vietnamese message; hidden fields dropped; values
//! normalised (numbers from text, dates to ISO, options to their declared value); computed
//! fields set. The result is the cleaned data the engine stores.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::schema::{
    plain, split_path, Component, ComponentKind, DateSubtype, FormSchema, ValidationType,
};
use crate::validators;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's data path: `applicant.name`, `members[2].cccd` (0-based rows, as form-js).
    pub path: String,
    /// What failed: `required`, `min`, `max`, `minLength`, `maxLength`, `pattern`, `type`,
    /// `cccd`, `phone`, `taxCode`, `vnDate`, `email` or `option`.
    pub code: String,
    /// A Vietnamese message for the user, naming the field by its label.
    pub message: String,
}

/// One step of a data path: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// `members[2].cccd` for `[Key members, Index 2, Key cccd]`.
pub(crate) fn display_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

pub(crate) fn join(base: &[Seg], dotted: &str) -> Vec<Seg> {
    let mut p = base.to_vec();
    p.extend(split_path(dotted).into_iter().map(Seg::Key));
    p
}

pub(crate) fn get<'a>(root: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.as_object()?.get(k),
        Seg::Index(i) => v.as_array()?.get(*i),
    })
}

fn get_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.as_object_mut()?.get_mut(k),
        Seg::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// Sets the value at `path`, creating objects for missing keys; a no-op if a step is a list
/// index that does not exist or crosses a non-object.
fn set(root: &mut Value, path: &[Seg], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for seg in parents {
        cur = match seg {
            Seg::Key(k) => {
                let Some(obj) = cur.as_object_mut() else {
                    return;
                };
                let entry = obj
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if entry.is_null() {
                    *entry = Value::Object(Map::new());
                }
                entry
            }
            Seg::Index(i) => match cur.as_array_mut().and_then(|a| a.get_mut(*i)) {
                Some(v) => v,
                None => return,
            },
        };
    }
    match last {
        Seg::Key(k) => {
            if let Some(obj) = cur.as_object_mut() {
                obj.insert(k.clone(), value);
            }
        }
        Seg::Index(i) => {
            if let Some(slot) = cur.as_array_mut().and_then(|a| a.get_mut(*i)) {
                *slot = value;
            }
        }
    }
}

fn remove(root: &mut Value, path: &[Seg]) {
    let Some((Seg::Key(last), parents)) = path.split_last() else {
        return;
    };
    if let Some(obj) = get_mut(root, parents).and_then(Value::as_object_mut) {
        obj.remove(last);
    }
}

/// The variables an expression sees: the whole data, with the current dynamic-list row's
/// values on top (`row` is the row's location, empty at the top level).
pub(crate) fn scope_vars(root: &Value, row: &[Seg]) -> Map<String, Value> {
    let mut vars = root.as_object().cloned().unwrap_or_default();
    if !row.is_empty() {
        if let Some(obj) = get(root, row).and_then(Value::as_object) {
            for (k, v) in obj {
                vars.insert(k.clone(), v.clone());
            }
        }
    }
    vars
}

/// Whether a component is hidden by its `conditional.hide`, given the variables in scope. An
/// expression that fails to evaluate does not hide.
pub(crate) fn is_hidden(c: &Component, vars: &Map<String, Value>) -> bool {
    c.hide
        .as_ref()
        .is_some_and(|e| e.eval_condition(vars).unwrap_or(false))
}

/// The label a message names a field by: its label, or its key.
pub(crate) fn label_of(c: &Component) -> String {
    c.label
        .clone()
        .filter(|l| !l.trim().is_empty())
        .or_else(|| c.key.clone())
        .unwrap_or_default()
}

/// Checks `data` against `schema`. On success returns the cleaned data: hidden fields' values
/// removed, values normalised, computed fields set, keys the form does not know kept as they
/// are. Otherwise returns every failing field (the first failing rule of each).
pub fn validate(
    schema: &FormSchema,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let input = Value::Object(data.clone());
    let mut w = Walker {
        out: input,
        errors: Vec::new(),
    };
    w.check(&schema.components, &[], &[]);
    w.compute(&schema.components, &[], &[]);
    if w.errors.is_empty() {
        match w.out {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    } else {
        Err(w.errors)
    }
}

/// The data as [`validate`] cleans it, keeping what fails as it was: what conditions and
/// computed fields see when a form is shown again with its errors.
pub(crate) fn clean_leniently(schema: &FormSchema, data: &Map<String, Value>) -> Value {
    let mut w = Walker {
        out: Value::Object(data.clone()),
        errors: Vec::new(),
    };
    w.check(&schema.components, &[], &[]);
    w.compute(&schema.components, &[], &[]);
    w.out
}

struct Walker {
    out: Value,
    errors: Vec<FieldError>,
}

impl Walker {
    /// Hidden against the data cleaned so far: fields earlier in the form are already
    /// normalised (a checkbox's `"true"` is `true`) and hidden ones already dropped.
    fn hidden(&self, c: &Component, row: &[Seg]) -> bool {
        c.hide.is_some() && is_hidden(c, &scope_vars(&self.out, row))
    }

    fn error(&mut self, path: &[Seg], code: &str, message: String) {
        self.errors.push(FieldError {
            path: display_path(path),
            code: code.to_owned(),
            message,
        });
    }

    /// Removes every value the components hold under `scope`.
    fn drop_all(&mut self, components: &[Component], scope: &[Seg]) {
        for c in components {
            self.drop_one(c, scope);
        }
    }

    fn drop_one(&mut self, c: &Component, scope: &[Seg]) {
        match c.kind {
            ComponentKind::Group => match &c.path {
                Some(p) => remove(&mut self.out, &join(scope, p)),
                None => self.drop_all(&c.components, scope),
            },
            ComponentKind::DynamicList => {
                if let Some(p) = &c.path {
                    remove(&mut self.out, &join(scope, p));
                }
            }
            _ => {
                if let (Some(k), true) = (&c.key, c.kind.has_value()) {
                    remove(&mut self.out, &join(scope, k));
                }
            }
        }
    }

    /// First pass: hidden values dropped, entered values checked and normalised.
    fn check(&mut self, components: &[Component], scope: &[Seg], row: &[Seg]) {
        for c in components {
            if self.hidden(c, row) {
                self.drop_one(c, scope);
                continue;
            }
            match c.kind {
                ComponentKind::Group => {
                    let inner = match &c.path {
                        Some(p) => join(scope, p),
                        None => scope.to_vec(),
                    };
                    self.check(&c.components, &inner, row);
                }
                ComponentKind::DynamicList => {
                    let Some(p) = &c.path else { continue };
                    let loc = join(scope, p);
                    match get(&self.out, &loc) {
                        None | Some(Value::Null) => {}
                        Some(Value::Array(rows)) => {
                            let n = rows.len();
                            for i in 0..n {
                                let mut at = loc.clone();
                                at.push(Seg::Index(i));
                                if get(&self.out, &at).is_some_and(Value::is_object) {
                                    self.check(&c.components, &at, &at);
                                } else {
                                    let label = label_of(c);
                                    self.error(
                                        &at,
                                        "type",
                                        format!("Dòng {} của «{label}» không hợp lệ.", i + 1),
                                    );
                                }
                            }
                        }
                        Some(_) => {
                            let label = label_of(c);
                            self.error(&loc, "type", format!("«{label}» phải là một danh sách."));
                        }
                    }
                }
                ComponentKind::Expression => {}
                _ if c.kind.has_value() => {
                    if let Some(k) = &c.key {
                        let loc = join(scope, k);
                        self.field(c, &loc);
                    }
                }
                _ => {}
            }
        }
    }

    /// Second pass: computed fields evaluated against the cleaned data and set.
    fn compute(&mut self, components: &[Component], scope: &[Seg], row: &[Seg]) {
        for c in components {
            if self.hidden(c, row) {
                continue;
            }
            match c.kind {
                ComponentKind::Group => {
                    let inner = match &c.path {
                        Some(p) => join(scope, p),
                        None => scope.to_vec(),
                    };
                    self.compute(&c.components, &inner, row);
                }
                ComponentKind::DynamicList => {
                    let Some(p) = &c.path else { continue };
                    let loc = join(scope, p);
                    let n = get(&self.out, &loc)
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    for i in 0..n {
                        let mut at = loc.clone();
                        at.push(Seg::Index(i));
                        if get(&self.out, &at).is_some_and(Value::is_object) {
                            self.compute(&c.components, &at, &at);
                        }
                    }
                }
                _ => {
                    if let (Some(expr), Some(k)) = (&c.expression, &c.key) {
                        let vars = scope_vars(&self.out, row);
                        // An expression that cannot be evaluated yields null: the user
                        // cannot fix it, the form designer can.
                        let value = expr.eval(&vars).unwrap_or(Value::Null);
                        set(&mut self.out, &join(scope, k), value);
                    }
                }
            }
        }
    }

    /// Checks and normalises one value field at `loc`.
    fn field(&mut self, c: &Component, loc: &[Seg]) {
        let label = label_of(c);
        let value = get(&self.out, loc).cloned();
        let empty = match &value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(Value::Bool(b)) => c.kind == ComponentKind::Checkbox && !b,
            Some(Value::Number(_)) => false,
        };
        if let (ComponentKind::Checkbox, Some(Value::String(s))) = (&c.kind, &value) {
            // "false"/"off" from an HTML form is an unchecked box.
            if let Some(b) = truthy(s) {
                set(&mut self.out, loc, Value::Bool(b));
                if b {
                    return;
                }
                if c.validate.required {
                    self.error(loc, "required", required_message(&label));
                }
                return;
            }
        }
        if empty {
            if c.validate.required {
                self.error(loc, "required", required_message(&label));
            } else if matches!(
                c.kind,
                ComponentKind::Number
                    | ComponentKind::DateTime(_)
                    | ComponentKind::Select
                    | ComponentKind::Radio
            ) && matches!(value, Some(Value::String(_)))
            {
                set(&mut self.out, loc, Value::Null);
            }
            return;
        }
        let Some(value) = value else { return };
        let result = match &c.kind {
            ComponentKind::TextField | ComponentKind::TextArea => self.text(c, &label, value),
            ComponentKind::Number => self.number(c, &label, value),
            ComponentKind::DateTime(sub) => date_time(*sub, &label, value),
            ComponentKind::Checkbox => match value {
                Value::Bool(_) => Ok(value),
                _ => Err(("type", format!("«{label}» phải là có hoặc không."))),
            },
            ComponentKind::Radio | ComponentKind::Select => one_of(c, &label, value),
            ComponentKind::Checklist | ComponentKind::Taglist => {
                let items = match value {
                    Value::Array(items) => items,
                    scalar => vec![scalar],
                };
                items
                    .into_iter()
                    .map(|v| one_of(c, &label, v))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            ComponentKind::FilePicker => {
                let ok = match &value {
                    Value::Object(_) => true,
                    Value::Array(items) => items
                        .iter()
                        .all(|d| d.as_object().is_some_and(|o| !o.is_empty())),
                    _ => false,
                };
                if ok {
                    Ok(value)
                } else {
                    Err(("type", format!("«{label}» phải là tài liệu đã tải lên.")))
                }
            }
            _ => Ok(value),
        };
        match result {
            Ok(v) => set(&mut self.out, loc, v),
            Err((code, message)) => self.error(loc, code, message),
        }
    }

    fn text(
        &self,
        c: &Component,
        label: &str,
        value: Value,
    ) -> Result<Value, (&'static str, String)> {
        let s = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(("type", format!("«{label}» phải là văn bản."))),
        };
        let v = &c.validate;
        let n = s.chars().count();
        if let Some(min) = v.min_length {
            if n < min {
                return Err((
                    "minLength",
                    format!("«{label}» phải có ít nhất {min} ký tự."),
                ));
            }
        }
        if let Some(max) = v.max_length {
            if n > max {
                return Err((
                    "maxLength",
                    format!("«{label}» chỉ được có tối đa {max} ký tự."),
                ));
            }
        }
        if let Some(p) = &v.pattern {
            if !p.regex.is_match(&s) {
                return Err((
                    "pattern",
                    format!("«{label}» không đúng định dạng yêu cầu."),
                ));
            }
        }
        if let Some(t) = v.validation_type {
            let (check, what): (Check, &str) = match t {
                ValidationType::Email => (validators::email, "địa chỉ thư điện tử"),
                ValidationType::Phone => (validators::phone, "số điện thoại Việt Nam"),
                ValidationType::Cccd => (validators::cccd, "số căn cước công dân"),
                ValidationType::TaxCode => (validators::tax_code, "mã số thuế"),
                ValidationType::VnDate => (validators::vn_date, "ngày theo dạng dd/mm/yyyy"),
            };
            if let Err(why) = check(&s) {
                return Err((
                    t.code(),
                    format!("«{label}» không phải là {what} hợp lệ: {why}."),
                ));
            }
        }
        Ok(Value::String(s))
    }

    fn number(
        &self,
        c: &Component,
        label: &str,
        value: Value,
    ) -> Result<Value, (&'static str, String)> {
        let not_number = || ("type", format!("«{label}» phải là một số."));
        let (n, value) = match value {
            Value::Number(n) => (n.as_f64().ok_or_else(not_number)?, Value::Number(n)),
            Value::String(s) => {
                let f: f64 = s.trim().parse().map_err(|_| not_number())?;
                if !f.is_finite() {
                    return Err(not_number());
                }
                (f, number_value(f).ok_or_else(not_number)?)
            }
            _ => return Err(not_number()),
        };
        if let Some(min) = c.validate.min {
            if n < min {
                return Err(("min", format!("«{label}» phải lớn hơn hoặc bằng {min}.")));
            }
        }
        if let Some(max) = c.validate.max {
            if n > max {
                return Err(("max", format!("«{label}» phải nhỏ hơn hoặc bằng {max}.")));
            }
        }
        Ok(value)
    }
}

/// A named validator function.
type Check = fn(&str) -> Result<(), validators::Invalid>;

fn required_message(label: &str) -> String {
    format!("Trường «{label}» là bắt buộc.")
}

fn truthy(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "on" | "1" | "yes" => Some(true),
        "false" | "off" | "0" | "no" | "" => Some(false),
        _ => None,
    }
}

/// An `f64` as JSON: an integer when it is whole and exact.
fn number_value(f: f64) -> Option<Value> {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        Some(Value::Number(Number::from(f as i64)))
    } else {
        Number::from_f64(f).map(Value::Number)
    }
}

fn date_time(sub: DateSubtype, label: &str, value: Value) -> Result<Value, (&'static str, String)> {
    let Value::String(s) = &value else {
        return Err(("type", format!("«{label}» phải là ngày hoặc giờ.")));
    };
    let s = s.trim();
    match sub {
        DateSubtype::Date => {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                if s.len() == 10 {
                    return Ok(Value::String(d.format("%Y-%m-%d").to_string()));
                }
            }
            match validators::parse_vn_date(s) {
                Ok(d) => Ok(Value::String(d.format("%Y-%m-%d").to_string())),
                Err(_) => Err((
                    "type",
                    format!("«{label}» không phải là ngày hợp lệ (dd/mm/yyyy)."),
                )),
            }
        }
        DateSubtype::Time => {
            // form-js may add the offset (`10:30Z`, `10:30+07:00`) by `timeSerializingFormat`.
            let bare = s
                .strip_suffix('Z')
                .or_else(|| {
                    let cut = s.len().checked_sub(6)?;
                    let (t, off) = (s.get(..cut)?, s.get(cut..)?);
                    let b = off.as_bytes();
                    (matches!(b[0], b'+' | b'-') && b[3] == b':').then_some(t)
                })
                .unwrap_or(s);
            let ok = chrono::NaiveTime::parse_from_str(bare, "%H:%M").is_ok()
                || chrono::NaiveTime::parse_from_str(bare, "%H:%M:%S").is_ok();
            if ok {
                Ok(Value::String(s.to_owned()))
            } else {
                Err((
                    "type",
                    format!("«{label}» không phải là giờ hợp lệ (HH:MM)."),
                ))
            }
        }
        DateSubtype::DateTime => {
            let ok = chrono::DateTime::parse_from_rfc3339(s).is_ok()
                || chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z").is_ok()
                || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ").is_ok()
                || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").is_ok()
                || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").is_ok();
            if ok {
                Ok(Value::String(s.to_owned()))
            } else {
                Err(("type", format!("«{label}» không phải là ngày giờ hợp lệ.")))
            }
        }
    }
}

/// A value that must be one of the static options (returned as the option's own value, so
/// `"2"` from an HTML form becomes `2` when the option is the number 2). With no static
/// options (`valuesKey`, `valuesExpression`) any scalar is accepted.
fn one_of(c: &Component, label: &str, value: Value) -> Result<Value, (&'static str, String)> {
    if value.is_array() || value.is_object() {
        return Err(("type", format!("«{label}» có giá trị không hợp lệ.")));
    }
    if c.values.is_empty() {
        return Ok(value);
    }
    c.values
        .iter()
        .find(|o| o.value == value || plain(&o.value) == plain(&value))
        .map(|o| o.value.clone())
        .ok_or_else(|| {
            (
                "option",
                format!("«{label}» có giá trị không nằm trong danh sách lựa chọn."),
            )
        })
}

/// The most rows a posted field name may address (`list[999].x`); larger indexes are ignored
/// so a crafted name cannot make us allocate a huge list.
const MAX_POSTED_ROWS: usize = 1000;

/// Builds the data of an HTML form submission (`application/x-www-form-urlencoded` pairs, as
/// [`crate::render::render`] names the inputs: `applicant.name`, `members[2].cccd`) into
/// nested JSON for [`validate`]: dotted names nest, `[n]` indexes make list rows, the values of
/// checklist and taglist fields are collected into lists, every other value is a string (the
/// last one wins). File inputs are not handled here: their documents are stored first and
/// their descriptions put in the data by the caller.
pub fn from_form_fields(schema: &FormSchema, fields: &[(String, String)]) -> Map<String, Value> {
    let mut multi = Vec::new();
    multi_valued(&schema.components, "", &mut multi);
    let mut root = Value::Object(Map::new());
    for (name, value) in fields {
        let Some(segs) = parse_name(name) else {
            continue;
        };
        let pattern = display_pattern(&segs);
        let is_multi = multi.contains(&pattern);
        insert_posted(&mut root, &segs, Value::String(value.clone()), is_multi);
    }
    match root {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Paths (with `[]` for any row) of the checklist and taglist fields.
fn multi_valued(components: &[Component], prefix: &str, out: &mut Vec<String>) {
    let dot = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_owned()
        } else {
            format!("{p}.{k}")
        }
    };
    for c in components {
        match c.kind {
            ComponentKind::Group => {
                let inner = match &c.path {
                    Some(p) => dot(prefix, p),
                    None => prefix.to_owned(),
                };
                multi_valued(&c.components, &inner, out);
            }
            ComponentKind::DynamicList => {
                if let Some(p) = &c.path {
                    multi_valued(&c.components, &format!("{}[]", dot(prefix, p)), out);
                }
            }
            ComponentKind::Checklist | ComponentKind::Taglist => {
                if let Some(k) = &c.key {
                    out.push(dot(prefix, k));
                }
            }
            _ => {}
        }
    }
}

/// `members[2].cccd` → `[Key members, Index 2, Key cccd]`; `None` for a malformed name or an
/// index of [`MAX_POSTED_ROWS`] or more.
fn parse_name(name: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    for part in name.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        segs.push(Seg::Key(key.to_owned()));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index: usize = rest.get(1..close)?.parse().ok()?;
            if index >= MAX_POSTED_ROWS || !rest.starts_with('[') {
                return None;
            }
            segs.push(Seg::Index(index));
            rest = &rest[close + 1..];
        }
    }
    Some(segs)
}

fn display_pattern(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(_) => s.push_str("[]"),
        }
    }
    s
}

/// Puts a posted value at `segs`, creating objects and list rows on the way; a multi-valued
/// field collects its values in a list.
fn insert_posted(root: &mut Value, segs: &[Seg], value: Value, multi: bool) {
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut cur = root;
    for (i, seg) in parents.iter().enumerate() {
        let next_is_index = matches!(segs.get(i + 1), Some(Seg::Index(_)));
        let fresh = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        cur = match seg {
            Seg::Key(k) => {
                let Value::Object(obj) = cur else { return };
                let entry = obj.entry(k.clone()).or_insert_with(fresh);
                if entry.is_array() != next_is_index || !(entry.is_array() || entry.is_object()) {
                    *entry = fresh();
                }
                entry
            }
            Seg::Index(n) => {
                let Value::Array(list) = cur else { return };
                while list.len() <= *n {
                    list.push(Value::Object(Map::new()));
                }
                let slot = &mut list[*n];
                if slot.is_array() != next_is_index {
                    *slot = fresh();
                }
                slot
            }
        };
    }
    let Seg::Key(k) = last else { return };
    let Value::Object(obj) = cur else { return };
    if multi {
        match obj
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(items) => items.push(value),
            other => *other = Value::Array(vec![value]),
        }
    } else {
        obj.insert(k.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn paths_display() {
        let p = vec![
            Seg::Key("members".into()),
            Seg::Index(2),
            Seg::Key("cccd".into()),
        ];
        assert_eq!(display_path(&p), "members[2].cccd");
    }

    #[test]
    fn number_from_text_and_bounds() {
        let f = crate::schema::parse(
            r#"{"id":"F","components":[{"type":"number","key":"n","label":"Số","validate":{"min":1,"max":10}}]}"#,
        )
        .unwrap();
        assert_eq!(
            validate(&f, &obj(json!({"n": "5"}))).unwrap()["n"],
            json!(5)
        );
        assert_eq!(
            validate(&f, &obj(json!({"n": "2.5"}))).unwrap()["n"],
            json!(2.5)
        );
        let e = validate(&f, &obj(json!({"n": 11}))).unwrap_err();
        assert_eq!(e[0].code, "max");
        let e = validate(&f, &obj(json!({"n": "abc"}))).unwrap_err();
        assert_eq!(e[0].code, "type");
        assert_eq!(
            validate(&f, &obj(json!({"n": ""}))).unwrap()["n"],
            Value::Null
        );
    }

    #[test]
    fn times_and_datetimes() {
        let f = crate::schema::parse(
            r#"{"id":"F","components":[{"type":"datetime","subtype":"time","key":"t"},
            {"type":"datetime","subtype":"datetime","key":"dt"}]}"#,
        )
        .unwrap();
        for (t, dt) in [
            ("10:30", "2025-01-02T10:30"),
            ("10:30Z", "2025-01-02T10:30Z"),
            ("10:30+07:00", "2025-01-02T10:30+07:00"),
            ("23:59:59", "2025-01-02T10:30:00+07:00"),
        ] {
            let ok = validate(&f, &obj(json!({"t": t, "dt": dt})));
            assert!(ok.is_ok(), "{t} {dt}: {ok:?}");
        }
        let e = validate(&f, &obj(json!({"t": "25:00", "dt": "2025-02-30T10:00"}))).unwrap_err();
        assert_eq!(e.len(), 2);
        let e = validate(&f, &obj(json!({"t": "10:30+0", "dt": 5}))).unwrap_err();
        assert_eq!(e.len(), 2);
    }
}
