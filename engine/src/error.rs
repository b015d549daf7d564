//! The engine's one error type. Callers match on the variant: `Conflict` (retry after re-reading),
//! `NotFound`, `Rejected` (the command is wrong for this state or these variables), `Deploy` (a
//! BPMN file was refused, with every diagnostic), `Invalid` (bad input), `Fatal` (a bug or a
//! broken database: report it).

use motcua_definitions::Diagnostics;

use crate::step::StepError;
use crate::store::StoreError;

/// Everything that can go wrong in an engine call.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Nothing with that id (or key) exists.
    #[error("{what} '{id}' was not found")]
    NotFound {
        /// What was looked for (`task`, `instance`, `definition`, ...).
        what: &'static str,
        /// The id or key given.
        id: String,
    },
    /// Another command changed the same thing first, or the thing is no longer in a state that
    /// accepts this command. Nothing was changed.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The command does not fit the process (e.g. no gateway flow matched). Nothing was changed.
    #[error("{0}")]
    Rejected(String),
    /// A BPMN file was refused; every diagnostic is inside.
    #[error("deployment refused:\n{0}")]
    Deploy(Diagnostics),
    /// Data refused by the form its start event or task names: every failing field, each with
    /// its path, a code and a Vietnamese message. Nothing was changed.
    #[error("the data does not fit form {form}: {}", .errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>().join("; "))]
    Form {
        /// The form's id.
        form: String,
        /// Every failing field.
        errors: Vec<motcua_forms::validate::FieldError>,
    },
    /// A signature was refused: its validation report is not TOTAL_PASSED. Nothing was
    /// changed.
    #[error("the signature is not valid: {} {}: {}", .report.indication.as_str(), .report.sub_indication.map(|s| s.as_str()).unwrap_or(""), .report.summary_vi)]
    Signature {
        /// The validation report (DSS-style).
        report: Box<motcua_signing::SignatureReport>,
    },
    /// Bad input (e.g. an empty deployment).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A state the engine cannot explain: the definition and the state disagree, or stored data
    /// is corrupt.
    #[error("fatal: {0}")]
    Fatal(String),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StepError> for EngineError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::InstanceEnded { .. }
            | StepError::TaskNotOpen(_)
            | StepError::JobNotOpen(_)
            | StepError::ClaimedByOther { .. }
            | StepError::Delegated { .. }
            | StepError::NotAssigned(_)
            | StepError::NotDelegated(_)
            | StepError::TimerNotArmed(_)
            | StepError::NoSubscription { .. }
            | StepError::CallNotWaiting(_) => EngineError::Conflict(e.to_string()),
            StepError::NoFlowTaken { .. }
            | StepError::Condition { .. }
            | StepError::Timer { .. }
            | StepError::Assignment { .. }
            | StepError::Message { .. } => EngineError::Rejected(e.to_string()),
            StepError::Nondeterminism(_) => EngineError::Fatal(e.to_string()),
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict => EngineError::Conflict(
                "the instance was changed by another command; re-read it and try again".into(),
            ),
            other => EngineError::Store(other),
        }
    }
}
