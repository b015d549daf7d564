//! `motcua forms`: tools for designers who draw forms in the form-js editor — check a form file,
//! validate sample data against it, render it as the HTML a servant sees.
//!
//! The work is in the `motcua-forms` crate; this module reads files and prints answers
//! (Vietnamese messages, JSON with `--json`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use motcua_forms::render::render;
use motcua_forms::schema::{self, FormSchema};
use motcua_forms::templates::Templates;
use motcua_forms::validate::validate;
use serde_json::{json, Map, Value};

use crate::output::say;

#[derive(Debug, Subcommand)]
pub enum FormsCmd {
    /// Check form files (form-js JSON): every schema error with its path; exit 1 if any.
    Check {
        /// `.form` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Validate data (a JSON object) against a form: every failing field; exit 1 if any.
    Validate {
        /// The `.form` file.
        form: PathBuf,
        /// A JSON file with the data.
        data: PathBuf,
    },
    /// Render a form as HTML (with the data's values and errors, when data is given).
    Render {
        /// The `.form` file.
        form: PathBuf,
        /// A JSON file with values.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Templates that replace the built-in ones (files of the same name).
        #[arg(long, env = "MOTCUA_TEMPLATES_DIR")]
        templates: Option<PathBuf>,
    },
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn load(path: &Path) -> Result<FormSchema> {
    schema::parse(&read(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// A JSON file that must hold one object (form data, sample values).
pub(crate) fn json_object_file(path: &Path) -> Result<Map<String, Value>> {
    match serde_json::from_str(&read(path)?)
        .with_context(|| format!("{} is not JSON", path.display()))?
    {
        Value::Object(m) => Ok(m),
        _ => bail!("{} must hold a JSON object", path.display()),
    }
}

pub fn run(cmd: FormsCmd, json_out: bool) -> Result<()> {
    match cmd {
        FormsCmd::Check { files } => {
            let mut failed = 0;
            let mut report = Vec::new();
            for file in &files {
                let parsed = schema::parse(&read(file)?);
                match &parsed {
                    Ok(form) => {
                        if !json_out {
                            say!("{}: biểu mẫu «{}» hợp lệ", file.display(), form.id);
                        }
                        report.push(json!({"file": file, "id": form.id, "errors": []}));
                    }
                    Err(errors) => {
                        failed += 1;
                        let list: Vec<Value> = errors
                            .errors
                            .iter()
                            .map(|e| json!({"path": e.path, "message": e.message}))
                            .collect();
                        if !json_out {
                            for e in &errors.errors {
                                say!("{}: {}: {}", file.display(), e.path, e.message);
                            }
                        }
                        report.push(json!({"file": file, "errors": list}));
                    }
                }
            }
            if json_out {
                crate::output::print_json(&Value::Array(report));
            }
            if failed > 0 {
                bail!("{failed} of {} form file(s) have errors", files.len());
            }
            Ok(())
        }
        FormsCmd::Validate { form, data: file } => {
            let schema = load(&form)?;
            match validate(&schema, &json_object_file(&file)?) {
                Ok(clean) => {
                    if json_out {
                        crate::output::print_json(&json!({"valid": true, "data": clean}));
                    } else {
                        say!("dữ liệu hợp lệ với biểu mẫu «{}»", schema.id);
                    }
                    Ok(())
                }
                Err(errors) => {
                    if json_out {
                        crate::output::print_json(&json!({"valid": false, "errors": errors}));
                    } else {
                        for e in &errors {
                            say!("{} [{}]: {}", e.path, e.code, e.message);
                        }
                    }
                    bail!("{} field(s) are not valid", errors.len())
                }
            }
        }
        FormsCmd::Render {
            form,
            data: file,
            templates,
        } => {
            let schema = load(&form)?;
            let values = match &file {
                Some(f) => json_object_file(f)?,
                None => Map::new(),
            };
            let errors = match &file {
                Some(_) => validate(&schema, &values).err().unwrap_or_default(),
                None => Vec::new(),
            };
            let templates = Templates::with_overrides(templates);
            let html = render(&templates, &schema, &values, &errors, "")?;
            say!("{html}");
            Ok(())
        }
    }
}
