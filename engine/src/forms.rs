//! E-forms in the engine: the deployed form a BPMN `formKey` names checks the data of a start or
//! a task completion before anything is committed, and the receiving step's document checklist.
//!
//! A `formKey` (motcua, Camunda 7) or Zeebe `formId` that names a form deployed with a
//! deployment (a `.form` file, form-js JSON) is enforced: invalid data is refused with every
//! failing field ([`EngineError::Form`]) and changes nothing; hidden fields' values are dropped
//! and computed fields set. A key that names no deployed form (an external or Camunda embedded
//! form) is not checked. The latest deployed version of the form is used.
//!
//! A user task with `motcua:checksDocuments="true"` (the counter's receiving step) cannot be
//! completed while its dossier lacks a document the procedure lists as required, and one with
//! `motcua:requiresSignatures` until the documents are signed (see [`crate::signatures`]).

use serde_json::{Map, Value};

use motcua_definitions::{NodeKind, Process};
use motcua_forms::schema::{self, FormSchema};
use motcua_forms::validate::validate;

use crate::command::Command;
use crate::dossier::blobs::sha256_hex;
use crate::engine::{DeployFile, Engine};
use crate::error::EngineError;
use crate::state::InstanceState;
use crate::store::{NewForm, Store};

/// Whether a deployment file is a form (form-js JSON, `*.form`) rather than BPMN.
pub(crate) fn is_form_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".form")
}

/// The forms of a deployment, each checked: every problem of every file, or the forms to store.
pub(crate) fn forms_of(files: &[&DeployFile]) -> Result<Vec<NewForm>, EngineError> {
    let mut problems = Vec::new();
    let mut forms: Vec<NewForm> = Vec::new();
    for file in files {
        let Ok(text) = std::str::from_utf8(&file.bytes) else {
            problems.push(format!("{}: the file is not UTF-8 text", file.name));
            continue;
        };
        match schema::parse(text) {
            Err(e) => problems.extend(e.errors.iter().map(|e| format!("{}: {e}", file.name))),
            Ok(form) if forms.iter().any(|f| f.id == form.id) => problems.push(format!(
                "{}: form '{}' is in this deployment twice",
                file.name, form.id
            )),
            Ok(form) => forms.push(NewForm {
                id: form.id,
                resource: file.name.clone(),
                schema: text.to_owned(),
                checksum: sha256_hex(&file.bytes),
            }),
        }
    }
    if problems.is_empty() {
        Ok(forms)
    } else {
        Err(EngineError::Invalid(format!(
            "the deployment's forms have {} problem(s); nothing was deployed:\n{}",
            problems.len(),
            problems.join("\n")
        )))
    }
}

impl<S: Store> Engine<S> {
    /// The latest deployed version of a form, parsed; `None` when no form has this id.
    pub async fn form(&self, id: &str) -> Result<Option<FormSchema>, EngineError> {
        let Some(record) = self.store().form(id, None).await? else {
            return Ok(None);
        };
        schema::parse(&record.schema).map(Some).map_err(|e| {
            EngineError::Fatal(format!(
                "the stored form {id} version {} no longer parses: {e}",
                record.version
            ))
        })
    }

    /// Start data checked against the start event's form: the cleaned data, or every failing
    /// field.
    pub(crate) async fn check_start_form(
        &self,
        form_key: Option<&str>,
        variables: Map<String, Value>,
    ) -> Result<Map<String, Value>, EngineError> {
        let Some(key) = form_key else {
            return Ok(variables);
        };
        let Some(form) = self.form(key).await? else {
            return Ok(variables);
        };
        validate(&form, &variables).map_err(|errors| EngineError::Form {
            form: key.to_owned(),
            errors,
        })
    }

    /// A completion (or a delegate's resolution) checked against its task's form: the command
    /// with the variables to set, or `None` when the task has no deployed form.
    pub(crate) async fn check_command_form(
        &self,
        model: &Process,
        state: &InstanceState,
        command: &Command,
    ) -> Result<Option<Command>, EngineError> {
        let (task, variables) = match command {
            Command::Complete {
                task, variables, ..
            }
            | Command::Resolve { task, variables } => (*task, variables),
            _ => return Ok(None),
        };
        let task_node = state
            .task_token(task)
            .and_then(|t| model.node_by_id(&t.node));
        let user_task = task_node.and_then(|idx| match &model.node(idx).kind {
            NodeKind::UserTask(u) => Some(u),
            _ => None,
        });
        if let Command::Complete { by, .. } = command {
            if user_task.is_some_and(|u| u.checks_documents) {
                self.check_documents(model, state).await?;
            }
            if let (Some(idx), Some(u)) = (task_node, user_task) {
                if !u.requires_signatures.is_empty() {
                    self.check_signatures(model, state, idx, &u.requires_signatures, by.as_deref())
                        .await?;
                }
            }
        }
        let form_key = user_task.and_then(|u| u.form_key.as_deref());
        if form_key.is_none() {
            return Ok(None);
        }
        let checked = self
            .check_task_form(form_key, &state.variables, variables.clone())
            .await?;
        let mut command = command.clone();
        match &mut command {
            Command::Complete { variables, .. } | Command::Resolve { variables, .. } => {
                *variables = checked
            }
            _ => {}
        }
        Ok(Some(command))
    }

    /// The receiving step's checklist: every document the procedure requires is on file in
    /// the instance's dossier. An instance without a dossier (started directly, not submitted)
    /// has nothing to check.
    async fn check_documents(
        &self,
        model: &Process,
        state: &InstanceState,
    ) -> Result<(), EngineError> {
        let Some(dossier) = self.store().dossier_by_instance(state.id).await? else {
            return Ok(());
        };
        let on_file = self.store().dossier_documents(&dossier.code).await?;
        let missing: Vec<&str> = model
            .documents()
            .iter()
            .filter(|d| d.required && !on_file.iter().any(|f| f.slot == d.slot))
            .map(|d| d.name.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Rejected(format!(
                "hồ sơ {} còn thiếu giấy tờ bắt buộc: {}",
                dossier.code,
                missing.join("; ")
            )))
        }
    }

    /// A task's submitted variables checked against its form, seen together with the
    /// instance's variables (a condition may read either): the variables to set, with hidden
    /// fields removed and computed or normalised fields set, or every failing field.
    pub(crate) async fn check_task_form(
        &self,
        form_key: Option<&str>,
        instance_variables: &Map<String, Value>,
        submitted: Map<String, Value>,
    ) -> Result<Map<String, Value>, EngineError> {
        let Some(key) = form_key else {
            return Ok(submitted);
        };
        let Some(form) = self.form(key).await? else {
            return Ok(submitted);
        };
        let mut merged = instance_variables.clone();
        merged.extend(submitted.iter().map(|(k, v)| (k.clone(), v.clone())));
        let cleaned = validate(&form, &merged).map_err(|errors| EngineError::Form {
            form: key.to_owned(),
            errors,
        })?;
        Ok(changes(instance_variables, &submitted, cleaned))
    }
}

/// What a completion sets: every submitted key as cleaned (a submitted key the form dropped as
/// hidden is set to null, so a value from before does not linger), plus every value the form
/// computed or normalised that differs from the instance's.
fn changes(
    before: &Map<String, Value>,
    submitted: &Map<String, Value>,
    cleaned: Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for key in submitted.keys() {
        if !cleaned.contains_key(key) {
            out.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in cleaned {
        if submitted.contains_key(&key) || before.get(&key) != Some(&value) {
            out.insert(key, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::changes;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("a JSON object"),
        }
    }

    #[test]
    fn a_completion_sets_what_was_submitted_cleaned_and_what_the_form_computed() {
        let before = map(json!({"a": 1, "total": 2, "kept": true}));
        let submitted = map(json!({"b": "x", "hiddenNow": "old"}));
        // The form dropped `hiddenNow`, normalised `b`, recomputed `total`, left `a` and `kept`.
        let cleaned = map(json!({"a": 1, "b": "X", "total": 3, "kept": true}));
        assert_eq!(
            changes(&before, &submitted, cleaned),
            map(json!({"b": "X", "hiddenNow": null, "total": 3}))
        );
    }
}
