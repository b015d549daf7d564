//! BPMN 2.0 definitions for motcua: XML in, a validated and immutable process model out.
//!
//! This crate is pure: it does no I/O, reads no clock and knows nothing of the database, HTTP,
//! forms or signing. The engine hands it bytes and a file name and gets back either a list of
//! [`Process`] models or every [`Diagnostic`] found, each naming the file, element id, element
//! kind, line and column.
//!
//! - [`parse`]: streaming, namespace-aware reading of BPMN XML with quick-xml's `NsReader`
//!   (prefixes differ between bpmn-js, Camunda Modeler and hand-written files).
//! - [`model`]: the immutable process graph the engine executes (an arena of nodes and flows).
//! - [`validate`]: the deploy-time checks (unique ids, dangling flows, reachability, gateways).
//! - [`expr`]: the FEEL subset used for conditions (and Camunda 7 `${...}` conditions).
//! - [`timer`]: timer values (ISO 8601 durations, dates, cycles, cron, working days).
//! - [`diagram`]: the BPMN DI (shapes, edges, labels) read apart from execution, for drawing.
#![deny(missing_docs)]

pub mod diagnostic;
pub mod diagram;
/// The expression language (its own crate, shared with `forms`).
pub use motcua_expr as expr;
pub mod model;
pub mod parse;
pub mod timer;
pub mod validate;

pub use diagnostic::{Diagnostic, DiagnosticKind, Diagnostics, Position};
pub use model::{
    Assignment, AssignmentExpressions, CallActivity, CalledVersion, DefinitionKey, Flow, FlowIdx,
    Lane, MessageRef, MessageThrow, Node, NodeIdx, NodeKind, Process, RequiredDocument, UserTask,
    VariableMapping,
};
pub use parse::parse_definitions;
pub use timer::{IsoDuration, Timer, TimerKind, TimerSpec};

/// The XML namespace of motcua's own BPMN extension attributes.
pub const MOTCUA_NS: &str = "urn:motcua:bpmn:1.0";
/// The BPMN 2.0 model namespace.
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// Camunda 7 extension namespace.
pub const CAMUNDA_NS: &str = "http://camunda.org/schema/1.0/bpmn";
/// Zeebe (Camunda 8) extension namespace.
pub const ZEEBE_NS: &str = "http://camunda.org/schema/zeebe/1.0";

/// Parses and validates one BPMN file: the whole deploy-time check.
///
/// `file` is only used to name the file in diagnostics. Returns every executable process of the
/// file, or all diagnostics found (never just the first, never a half model).
pub fn load(file: &str, xml: &[u8]) -> Result<Vec<Process>, Diagnostics> {
    let processes = parse_definitions(file, xml)?;
    validate::validate_all(file, &processes)?;
    Ok(processes)
}
