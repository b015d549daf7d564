//! A form as accessible HTML: each field a `<label for>` and an input whose `name` is its data
//! path (`members[2].cccd`), values and errors kept, the error next to its field
//! (`aria-invalid`, `aria-describedby`), groups and dynamic-list rows as fieldsets, hidden
//! fields left out. The markup is the template `form.html`; this module builds its view model.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::schema::{plain, Component, ComponentKind, DateSubtype, FormSchema};
use crate::templates::Templates;
use crate::validate::{
    clean_leniently, display_path, get, is_hidden, join, label_of, scope_vars, FieldError, Seg,
};

/// The built-in templates of this module: (name, source).
pub(crate) const TEMPLATES: &[(&str, &str)] =
    &[("form.html", include_str!("../templates/form.html"))];

/// Rendering failed: the template (possibly a deployer's override) is broken.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the form: {0}")]
pub struct RenderError(#[from] minijinja::Error);

/// The whole form, as given to `form.html`.
#[derive(Debug, Serialize)]
struct FormView {
    id: String,
    action: String,
    multipart: bool,
    items: Vec<Item>,
    errors: Vec<SummaryError>,
}

/// An error in the summary at the top, linking to its field when it has one.
#[derive(Debug, Serialize)]
struct SummaryError {
    href: Option<String>,
    message: String,
}

/// One thing in the form, in document order: fieldsets are opened and closed around their
/// contents so the template needs no recursion.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    Open {
        legend: String,
        description: Option<String>,
        required: bool,
    },
    Close,
    Text {
        paragraphs: Vec<String>,
    },
    Table {
        caption: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Field(Box<FieldView>),
}

#[derive(Debug, Serialize, Default)]
struct FieldView {
    /// input, textarea, select, checkbox, choices (radio/checklist), file, output.
    widget: &'static str,
    /// `type` of an `<input>`; `radio`/`checkbox` for choices.
    input_type: &'static str,
    id: String,
    name: String,
    label: String,
    value: String,
    checked: bool,
    multiple: bool,
    options: Vec<OptionView>,
    required: bool,
    readonly: bool,
    error: Option<String>,
    error_id: String,
    description: Option<String>,
    description_id: String,
    describedby: String,
    accept: Option<String>,
    minlength: Option<usize>,
    maxlength: Option<usize>,
    min: Option<String>,
    max: Option<String>,
    files: Vec<String>,
}

#[derive(Debug, Serialize)]
struct OptionView {
    id: String,
    value: String,
    label: String,
    selected: bool,
}

/// Renders `schema` as an HTML form posting to `action`, with `values` filled in and `errors`
/// (from [`crate::validate::validate`]) shown next to their fields and summarised at the top.
pub fn render(
    templates: &Templates,
    schema: &FormSchema,
    values: &Map<String, Value>,
    errors: &[FieldError],
    action: &str,
) -> Result<String, RenderError> {
    let root = Value::Object(values.clone());
    let cleaned = clean_leniently(schema, values);
    let mut b = Builder {
        root: &root,
        cleaned: &cleaned,
        errors,
        items: Vec::new(),
        multipart: false,
        field_ids: Vec::new(),
    };
    b.components(&schema.components, &[], &[]);
    let summary = errors
        .iter()
        .map(|e| SummaryError {
            href: b
                .field_ids
                .iter()
                .find(|(path, _)| *path == e.path)
                .map(|(_, id)| format!("#{id}")),
            message: e.message.clone(),
        })
        .collect();
    let view = FormView {
        id: schema.id.clone(),
        action: action.to_owned(),
        multipart: b.multipart,
        items: b.items,
        errors: summary,
    };
    let tmpl = templates.env().get_template("form.html")?;
    Ok(tmpl.render(minijinja::Value::from_serialize(&view))?)
}

struct Builder<'a> {
    /// The values as given: what the user typed is shown again as typed.
    root: &'a Value,
    /// The values as validation cleans them (checkbox `"true"` is `true`, computed fields
    /// set): what `conditional.hide`, tables and computed fields see, as in validation.
    cleaned: &'a Value,
    errors: &'a [FieldError],
    items: Vec<Item>,
    multipart: bool,
    /// (data path, element id) of every rendered field, for the error summary's links.
    field_ids: Vec<(String, String)>,
}

/// An element id for a data path: `f-members-2-cccd`.
fn id_for(path: &str) -> String {
    let mut id = String::from("f");
    let mut dash = true;
    for ch in path.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            if dash {
                id.push('-');
                dash = false;
            }
            id.push(ch);
        } else {
            dash = true;
        }
    }
    id
}

impl Builder<'_> {
    fn components(&mut self, components: &[Component], scope: &[Seg], row: &[Seg]) {
        for c in components {
            if c.hide.is_some() && is_hidden(c, &scope_vars(self.cleaned, row)) {
                continue;
            }
            self.component(c, scope, row);
        }
    }

    fn component(&mut self, c: &Component, scope: &[Seg], row: &[Seg]) {
        match &c.kind {
            ComponentKind::Group => {
                let inner = match &c.path {
                    Some(p) => join(scope, p),
                    None => scope.to_vec(),
                };
                self.items.push(Item::Open {
                    legend: label_of(c),
                    description: c.description.clone(),
                    required: false,
                });
                self.components(&c.components, &inner, row);
                self.items.push(Item::Close);
            }
            ComponentKind::DynamicList => {
                let Some(p) = &c.path else { return };
                let loc = join(scope, p);
                let rows = match get(self.root, &loc) {
                    Some(Value::Array(a)) => a.len(),
                    _ => c.default_repetitions,
                };
                let label = label_of(c);
                self.items.push(Item::Open {
                    legend: label.clone(),
                    description: c.description.clone(),
                    required: false,
                });
                for i in 0..rows {
                    let mut at = loc.clone();
                    at.push(Seg::Index(i));
                    self.items.push(Item::Open {
                        legend: format!("{label} – dòng {}", i + 1),
                        description: None,
                        required: false,
                    });
                    self.components(&c.components, &at, &at);
                    self.items.push(Item::Close);
                }
                self.items.push(Item::Close);
            }
            ComponentKind::Text => {
                if let Some(text) = c.text.as_ref().filter(|t| !t.trim().is_empty()) {
                    let paragraphs = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect();
                    self.items.push(Item::Text { paragraphs });
                }
            }
            ComponentKind::Table => self.table(c, row),
            ComponentKind::Display(_) => {}
            _ => {
                if let Some(k) = &c.key {
                    let loc = join(scope, k);
                    let field = self.field(c, &loc);
                    self.field_ids.push((field.name.clone(), field.id.clone()));
                    self.items.push(Item::Field(Box::new(field)));
                }
            }
        }
    }

    fn table(&mut self, c: &Component, row: &[Seg]) {
        let Some(source) = &c.data_source else { return };
        let data = source
            .eval(&scope_vars(self.cleaned, row))
            .unwrap_or(Value::Null);
        let Value::Array(list) = data else { return };
        let keys: Vec<(String, String)> = if c.columns.is_empty() {
            list.first()
                .and_then(Value::as_object)
                .map(|o| o.keys().map(|k| (k.clone(), k.clone())).collect())
                .unwrap_or_default()
        } else {
            c.columns
                .iter()
                .map(|col| (col.label.clone(), plain(&col.value)))
                .collect()
        };
        let rows = list
            .iter()
            .map(|r| {
                keys.iter()
                    .map(|(_, k)| r.get(k).map(plain).unwrap_or_default())
                    .collect()
            })
            .collect();
        self.items.push(Item::Table {
            caption: label_of(c),
            columns: keys.into_iter().map(|(label, _)| label).collect(),
            rows,
        });
    }

    fn field(&mut self, c: &Component, loc: &[Seg]) -> FieldView {
        let name = display_path(loc);
        let id = id_for(&name);
        let value = get(self.root, loc).cloned().unwrap_or(Value::Null);
        let error = self
            .errors
            .iter()
            .find(|e| e.path == name)
            .map(|e| e.message.clone());
        let description = c.description.clone().filter(|d| !d.trim().is_empty());
        let error_id = format!("{id}-error");
        let description_id = format!("{id}-description");
        let describedby = [
            description.as_ref().map(|_| description_id.clone()),
            error.as_ref().map(|_| error_id.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let mut f = FieldView {
            widget: "input",
            input_type: "text",
            label: label_of(c),
            value: plain(&value),
            required: c.validate.required,
            readonly: c.readonly,
            error,
            description,
            describedby,
            minlength: c.validate.min_length,
            maxlength: c.validate.max_length,
            id,
            name,
            error_id,
            description_id,
            ..FieldView::default()
        };
        match &c.kind {
            ComponentKind::TextArea => f.widget = "textarea",
            ComponentKind::TextField => {
                f.input_type = match c.validate.validation_type {
                    Some(crate::schema::ValidationType::Email) => "email",
                    Some(crate::schema::ValidationType::Phone) => "tel",
                    _ => "text",
                }
            }
            ComponentKind::Number => {
                f.input_type = "number";
                f.min = c.validate.min.map(|n| n.to_string());
                f.max = c.validate.max.map(|n| n.to_string());
            }
            ComponentKind::DateTime(sub) => {
                f.input_type = match sub {
                    DateSubtype::Date => "date",
                    DateSubtype::Time => "time",
                    DateSubtype::DateTime => "datetime-local",
                };
                if *sub == DateSubtype::Date {
                    if let Ok(d) = crate::validators::parse_vn_date(&f.value) {
                        f.value = d.format("%Y-%m-%d").to_string();
                    }
                }
            }
            ComponentKind::Checkbox => {
                f.widget = "checkbox";
                f.input_type = "checkbox";
                f.checked = matches!(&value, Value::Bool(true))
                    || matches!(&value, Value::String(s) if matches!(s.as_str(), "true" | "on"));
                f.value = "true".into();
            }
            ComponentKind::Radio | ComponentKind::Checklist | ComponentKind::Taglist => {
                f.widget = "choices";
                f.input_type = if c.kind == ComponentKind::Radio {
                    "radio"
                } else {
                    "checkbox"
                };
                f.multiple = c.kind != ComponentKind::Radio;
                f.options = self.options(c, &f.id, &value);
            }
            ComponentKind::Select => {
                f.widget = "select";
                f.options = self.options(c, &f.id, &value);
            }
            ComponentKind::FilePicker => {
                self.multipart = true;
                f.widget = "file";
                f.input_type = "file";
                f.multiple = c.multiple;
                f.accept = c.accept.clone();
                let docs = match &value {
                    Value::Array(a) => a.iter().collect(),
                    Value::Object(_) => vec![&value],
                    _ => Vec::new(),
                };
                f.files = docs
                    .into_iter()
                    .map(|d| {
                        d.get("name")
                            .or_else(|| d.get("sha256"))
                            .map(plain)
                            .unwrap_or_default()
                    })
                    .collect();
                f.value = String::new();
            }
            ComponentKind::Expression => {
                f.value = get(self.cleaned, loc).map(plain).unwrap_or_default();
                f.widget = "output";
                f.required = false;
            }
            _ => {}
        }
        f
    }

    fn options(&self, c: &Component, id: &str, value: &Value) -> Vec<OptionView> {
        let chosen: Vec<String> = match value {
            Value::Array(a) => a.iter().map(plain).collect(),
            Value::Null => Vec::new(),
            v => vec![plain(v)],
        };
        c.values
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let v = plain(&o.value);
                OptionView {
                    id: format!("{id}-{i}"),
                    selected: chosen.contains(&v),
                    value: v,
                    label: o.label.clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_paths() {
        assert_eq!(id_for("members[2].cccd"), "f-members-2-cccd");
        assert_eq!(id_for("a"), "f-a");
    }
}
