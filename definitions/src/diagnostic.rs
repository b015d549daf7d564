//! Deploy-time diagnostics: what is wrong, where (file, element, line, column) and how to fix it.

use std::fmt;

/// A 1-based line and column in the source XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of problem a diagnostic reports; stable, so tools can match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// The XML itself is not well-formed.
    MalformedXml,
    /// The document is XML but not BPMN 2.0 definitions.
    NotBpmn,
    /// An element the engine does not execute.
    UnsupportedElement,
    /// A required attribute is missing or has a bad value.
    InvalidAttribute,
    /// Two elements share an id.
    DuplicateId,
    /// A sequence flow names a source or target that does not exist.
    DanglingFlow,
    /// A node cannot be reached from a start event.
    Unreachable,
    /// No end event can be reached from a node.
    NoPathToEnd,
    /// A process or sub-process does not have exactly one none start event.
    StartEvent,
    /// A gateway's outgoing flows are wrong (missing conditions, bad default).
    Gateway,
    /// A condition expression does not parse.
    Expression,
    /// The file holds no process to deploy.
    NoProcess,
}

impl DiagnosticKind {
    /// A stable machine-readable code, e.g. `unsupported-element`.
    pub fn code(self) -> &'static str {
        match self {
            DiagnosticKind::MalformedXml => "malformed-xml",
            DiagnosticKind::NotBpmn => "not-bpmn",
            DiagnosticKind::UnsupportedElement => "unsupported-element",
            DiagnosticKind::InvalidAttribute => "invalid-attribute",
            DiagnosticKind::DuplicateId => "duplicate-id",
            DiagnosticKind::DanglingFlow => "dangling-flow",
            DiagnosticKind::Unreachable => "unreachable",
            DiagnosticKind::NoPathToEnd => "no-path-to-end",
            DiagnosticKind::StartEvent => "start-event",
            DiagnosticKind::Gateway => "gateway",
            DiagnosticKind::Expression => "expression",
            DiagnosticKind::NoProcess => "no-process",
        }
    }
}

/// One problem found in a BPMN file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of problem.
    pub kind: DiagnosticKind,
    /// The file name given to the parser.
    pub file: String,
    /// The id of the offending element, when it has one.
    pub element_id: Option<String>,
    /// The element kind (BPMN local name, e.g. `escalationEventDefinition`).
    pub element: String,
    /// Where the element starts.
    pub position: Position,
    /// What is wrong and how to fix it, as one or two sentences.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {} ", self.file, self.position, self.kind.code())?;
        match &self.element_id {
            Some(id) => write!(f, "<{} id=\"{}\">", self.element, id)?,
            None => write!(f, "<{}>", self.element)?,
        }
        write!(f, ": {}", self.message)
    }
}

/// All diagnostics of one file; the error type of [`crate::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The first diagnostic (in document order), if any.
    pub fn first(&self) -> Option<&Diagnostic> {
        self.0.first()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
