//! The minijinja templates behind rendered forms and printed slips.
//!
//! Every template is built into the binary; a deployer can replace any of them by putting a
//! file of the same name in an override folder (`motcua serve --templates DIR`). Templates are
//! HTML and auto-escaped.

use std::path::PathBuf;

use minijinja::Environment;

/// Every built-in template: (name, source).
fn built_in() -> impl Iterator<Item = (&'static str, &'static str)> {
    crate::render::TEMPLATES
        .iter()
        .chain(crate::slips::TEMPLATES.iter())
        .copied()
}

/// Names of the built-in templates, for `motcua templates list` and documentation.
pub fn names() -> Vec<&'static str> {
    built_in().map(|(name, _)| name).collect()
}

/// The built-in source of a template, for a deployer who wants to start an override from it.
pub fn built_in_source(name: &str) -> Option<&'static str> {
    built_in().find(|(n, _)| *n == name).map(|(_, s)| s)
}

/// The template set: built-in templates, each replaced by a file of the same name in the
/// override folder when there is one.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates only.
    pub fn built_in() -> Self {
        Self::with_overrides(None)
    }

    /// The built-in templates, overridden by files in `dir` (read when first used).
    pub fn with_overrides(dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_loader(move |name| {
            if let Some(dir) = &dir {
                // Only plain file names: a template name never reaches outside the folder.
                if !name.contains(['/', '\\']) && !name.starts_with('.') {
                    match std::fs::read_to_string(dir.join(name)) {
                        Ok(source) => return Ok(Some(source)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(minijinja::Error::new(
                                minijinja::ErrorKind::InvalidOperation,
                                format!("template override {name} cannot be read: {e}"),
                            ))
                        }
                    }
                }
            }
            Ok(built_in_source(name).map(str::to_owned))
        });
        Templates { env }
    }

    /// The minijinja environment, for the modules that render.
    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }
}
