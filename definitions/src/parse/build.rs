//! What the grammar collects while reading one `<process>`, and how it becomes a [`Process`].
//!
//! The grammar (`mod.rs`) fills builders with raw text (ids, references, attribute values in the
//! three dialects); [`ProcessB::build`] resolves references to indexes, merges the dialects
//! (motcua > Camunda 7 > Zeebe), parses conditions and reports what does not resolve.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostic, DiagnosticKind, Position};
use crate::expr::Expression;
use crate::model::{
    Assignment, DefinitionKey, Flow, FlowIdx, Lane, Node, NodeIdx, NodeKind, Process,
    RequiredDocument, UserTask,
};
use crate::timer::{Timer, TimerKind};

/// Index of the motcua dialect in the per-dialect arrays.
pub(crate) const MOTCUA: usize = 0;
/// Index of the Camunda 7 dialect.
pub(crate) const CAMUNDA: usize = 1;
/// Index of the Zeebe dialect.
pub(crate) const ZEEBE: usize = 2;

/// Builds a diagnostic.
pub(crate) fn diag(
    file: &str,
    kind: DiagnosticKind,
    element: &str,
    id: Option<&str>,
    position: Position,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        kind,
        file: file.to_owned(),
        element_id: id.filter(|i| !i.is_empty()).map(str::to_owned),
        element: element.to_owned(),
        position,
        message: message.into(),
    }
}

/// The executed flow-node elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Start,
    End,
    User,
    Service,
    Manual,
    Task,
    Exclusive,
    Parallel,
    Inclusive,
    Sub,
    /// `intermediateCatchEvent` (timer only).
    Catch,
    /// `boundaryEvent` (timer only).
    Boundary,
}

impl Tag {
    /// The tag of a BPMN element name, if the engine executes it.
    pub fn of(local: &str) -> Option<Tag> {
        Some(match local {
            "startEvent" => Tag::Start,
            "endEvent" => Tag::End,
            "userTask" => Tag::User,
            "serviceTask" => Tag::Service,
            "manualTask" => Tag::Manual,
            "task" => Tag::Task,
            "exclusiveGateway" => Tag::Exclusive,
            "parallelGateway" => Tag::Parallel,
            "inclusiveGateway" => Tag::Inclusive,
            "subProcess" => Tag::Sub,
            "intermediateCatchEvent" => Tag::Catch,
            "boundaryEvent" => Tag::Boundary,
            _ => return None,
        })
    }
}

/// A flow node as read.
#[derive(Debug)]
pub(crate) struct NodeB {
    pub id: String,
    pub name: Option<String>,
    pub tag: Tag,
    pub parent: Option<u32>,
    pub position: Position,
    pub terminate: bool,
    /// Whether an event definition was already seen (start and end events).
    pub has_event_definition: bool,
    /// Whether something inside the node was refused (later checks of the node stay quiet).
    pub refused_child: bool,
    pub default: Option<String>,
    /// Assignment per dialect: [motcua, camunda, zeebe].
    pub assign: [Assignment; 3],
    pub form: [Option<String>; 3],
    pub checks_documents: bool,
    /// motcua `requiresSignatures`: document slots, checked against the process's documents.
    pub requires_signatures: Vec<String>,
    pub sla: Option<f64>,
    pub topic: [Option<String>; 3],
    pub retries: [Option<u32>; 3],
    /// The `timerEventDefinition` being read (start, intermediate catch and boundary events).
    pub timer_def: Option<TimerB>,
    /// The timer, once its definition was read and its value parsed.
    pub timer: Option<Timer>,
    /// motcua `workingDays` on the event itself.
    pub working_days: Option<String>,
    /// A boundary event's `attachedToRef`.
    pub attached_to: Option<String>,
    /// A boundary event's `cancelActivity` (default true).
    pub interrupting: bool,
}

/// A `timerEventDefinition` as read.
#[derive(Debug)]
pub(crate) struct TimerB {
    pub position: Position,
    /// motcua `workingDays` on the definition.
    pub working_days: Option<String>,
    /// `timeDuration`, `timeDate`, `timeCycle` children: kind, text, position.
    pub values: Vec<(TimerKind, String, Position)>,
    /// Whether XML inside a value was refused (its text is then not checked again).
    pub refused: bool,
}

impl NodeB {
    pub fn new(
        id: String,
        name: Option<String>,
        tag: Tag,
        parent: Option<u32>,
        p: Position,
    ) -> Self {
        NodeB {
            id,
            name,
            tag,
            parent,
            position: p,
            terminate: false,
            has_event_definition: false,
            refused_child: false,
            default: None,
            assign: Default::default(),
            form: Default::default(),
            checks_documents: false,
            requires_signatures: Vec::new(),
            sla: None,
            topic: Default::default(),
            retries: Default::default(),
            timer_def: None,
            timer: None,
            working_days: None,
            attached_to: None,
            interrupting: true,
        }
    }
}

/// A sequence flow as read.
#[derive(Debug)]
pub(crate) struct FlowB {
    pub id: String,
    pub name: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub condition: Option<String>,
    pub position: Position,
}

/// A lane as read.
#[derive(Debug)]
pub(crate) struct LaneB {
    pub lane: Lane,
    pub depth: u32,
    pub refs: Vec<String>,
}

/// A process as read.
#[derive(Debug, Default)]
pub(crate) struct ProcessB {
    pub id: String,
    pub name: Option<String>,
    pub position: Position,
    pub executable: bool,
    pub agency: Option<String>,
    /// The national procedure code (motcua `procedureCode`), if given.
    pub procedure_code: Option<String>,
    pub sla: Option<f64>,
    /// Documents its dossiers carry (`<motcua:document>` in its extensionElements).
    pub documents: Vec<RequiredDocument>,
    /// Flow elements seen, refused ones included (decides whether a non-executable process is
    /// deployed at all).
    pub flow_elements: usize,
    pub nodes: Vec<NodeB>,
    pub flows: Vec<FlowB>,
    pub lanes: Vec<LaneB>,
    /// Ids of refused elements: flows and lane references to them are not reported again.
    pub refused: HashSet<String>,
    pub diags: Vec<Diagnostic>,
}

fn first<T: Clone>(values: &[Option<T>; 3]) -> Option<T> {
    values.iter().flatten().next().cloned()
}

fn merge(a: &[Assignment; 3]) -> Assignment {
    // Per field, the first dialect that gives it (literally or as an expression) wins.
    let mut out = Assignment::default();
    if let Some(x) = a
        .iter()
        .find(|x| x.assignee.is_some() || x.expressions.assignee.is_some())
    {
        out.assignee = x.assignee.clone();
        out.expressions.assignee = x.expressions.assignee.clone();
    }
    if let Some(x) = a
        .iter()
        .find(|x| !x.candidate_groups.is_empty() || x.expressions.candidate_groups.is_some())
    {
        out.candidate_groups = x.candidate_groups.clone();
        out.expressions.candidate_groups = x.expressions.candidate_groups.clone();
    }
    if let Some(x) = a
        .iter()
        .find(|x| !x.candidate_users.is_empty() || x.expressions.candidate_users.is_some())
    {
        out.candidate_users = x.candidate_users.clone();
        out.expressions.candidate_users = x.expressions.candidate_users.clone();
    }
    if let Some(x) = a
        .iter()
        .find(|x| x.agency.is_some() || x.expressions.agency.is_some())
    {
        out.agency = x.agency.clone();
        out.expressions.agency = x.expressions.agency.clone();
    }
    out
}

impl ProcessB {
    /// Resolves references and builds the model; every problem goes to `self.diags`.
    pub fn build(&mut self, file: &str) -> Option<Process> {
        let mut node_ids: HashMap<&str, NodeIdx> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            node_ids.entry(n.id.as_str()).or_insert(NodeIdx(i as u32));
        }

        // Sequence flows: resolve both ends, parse the condition.
        let mut flows = Vec::new();
        let mut dropped: HashSet<&str> = HashSet::new();
        for f in &self.flows {
            let mut ends = [None, None];
            for (slot, (attr, value)) in [("sourceRef", &f.source), ("targetRef", &f.target)]
                .into_iter()
                .enumerate()
            {
                match value.as_deref() {
                    None | Some("") => self.diags.push(diag(
                        file,
                        DiagnosticKind::InvalidAttribute,
                        "sequenceFlow",
                        Some(&f.id),
                        f.position,
                        format!("the sequence flow has no {attr}: connect both of its ends"),
                    )),
                    Some(r) => match node_ids.get(r) {
                        Some(idx) => ends[slot] = Some(*idx),
                        None if self.refused.contains(r) => {}
                        None => self.diags.push(diag(
                            file,
                            DiagnosticKind::DanglingFlow,
                            "sequenceFlow",
                            Some(&f.id),
                            f.position,
                            format!(
                                "{attr} `{r}` names no flow node of process `{}`: connect the \
                                 flow to an existing element or delete it",
                                self.id
                            ),
                        )),
                    },
                }
            }
            let condition = match f.condition.as_deref() {
                None => None,
                Some(text) => match Expression::parse(text) {
                    Ok(expr) => Some(expr),
                    Err(e) => {
                        self.diags.push(diag(
                            file,
                            DiagnosticKind::Expression,
                            "sequenceFlow",
                            Some(&f.id),
                            f.position,
                            format!(
                                "the condition `{text}` does not parse: {} at character {}; \
                                 write a FEEL expression such as `= amount > 100`",
                                e.message,
                                e.offset + 1
                            ),
                        ));
                        None
                    }
                },
            };
            match ends {
                [Some(source), Some(target)] => flows.push(Flow {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    source,
                    target,
                    condition,
                    position: f.position,
                }),
                _ => {
                    dropped.insert(f.id.as_str());
                }
            }
        }
        let flow_ids: HashMap<&str, FlowIdx> = flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.as_str(), FlowIdx(i as u32)))
            .collect();

        // Nodes: merge dialects, resolve defaults.
        let mut nodes = Vec::with_capacity(self.nodes.len());
        let mut diags = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let default = match n.default.as_deref() {
                None | Some("") => None,
                Some(d) => match flow_ids.get(d) {
                    Some(idx) => Some(*idx),
                    None => {
                        if !dropped.contains(d) {
                            diags.push(diag(
                                file,
                                DiagnosticKind::Gateway,
                                n.tag_name(),
                                Some(&n.id),
                                n.position,
                                format!(
                                    "the default flow `{d}` does not exist: choose one of the \
                                     gateway's outgoing flows as default"
                                ),
                            ));
                        }
                        None
                    }
                },
            };
            let kind = match n.tag {
                Tag::Start => match &n.timer {
                    Some(timer) => NodeKind::TimerStartEvent {
                        timer: timer.clone(),
                    },
                    None => {
                        if n.working_days.is_some() && !n.has_event_definition {
                            diags.push(needs_timer(file, n, "startEvent"));
                        }
                        NodeKind::StartEvent
                    }
                },
                Tag::Catch => match &n.timer {
                    Some(timer) => NodeKind::TimerCatchEvent {
                        timer: timer.clone(),
                    },
                    None => {
                        if !n.has_event_definition {
                            diags.push(needs_timer(file, n, "intermediateCatchEvent"));
                        }
                        NodeKind::Task
                    }
                },
                Tag::Boundary => {
                    let attached = self.attached(file, n, &node_ids, &mut diags);
                    if n.timer.is_none() && !n.has_event_definition {
                        diags.push(needs_timer(file, n, "boundaryEvent"));
                    }
                    match (&n.timer, attached) {
                        (Some(timer), Some(attached_to)) => NodeKind::BoundaryTimer {
                            attached_to,
                            interrupting: n.interrupting,
                            timer: timer.clone(),
                        },
                        _ => NodeKind::Task,
                    }
                }
                Tag::End => NodeKind::EndEvent {
                    terminate: n.terminate,
                },
                Tag::User => {
                    for slot in &n.requires_signatures {
                        if !self.documents.iter().any(|d| d.slot == *slot) {
                            diags.push(diag(
                                file,
                                DiagnosticKind::InvalidAttribute,
                                "userTask",
                                Some(&n.id),
                                n.position,
                                format!(
                                    "requiresSignatures names the document slot `{slot}`, which \
                                     the process does not declare: add <motcua:document \
                                     slot=\"{slot}\" name=\"...\"/> to the process's \
                                     extensionElements or fix the slot"
                                ),
                            ));
                        }
                    }
                    NodeKind::UserTask(UserTask {
                        assignment: merge(&n.assign),
                        form_key: first(&n.form),
                        sla_working_days: n.sla,
                        checks_documents: n.checks_documents,
                        requires_signatures: n.requires_signatures.clone(),
                    })
                }
                Tag::Service => match first(&n.topic) {
                    Some(topic) => NodeKind::ServiceTask {
                        topic,
                        retries: first(&n.retries).unwrap_or(3),
                    },
                    None if n.refused_child => NodeKind::Task,
                    None => {
                        diags.push(diag(
                            file,
                            DiagnosticKind::InvalidAttribute,
                            "serviceTask",
                            Some(&n.id),
                            n.position,
                            "the service task names no external-worker topic: set \
                             motcua:topic (or camunda:type=\"external\" with camunda:topic, or \
                             a Zeebe task definition type)",
                        ));
                        NodeKind::Task
                    }
                },
                Tag::Manual => NodeKind::ManualTask,
                Tag::Task => NodeKind::Task,
                Tag::Exclusive => NodeKind::ExclusiveGateway { default },
                Tag::Parallel => NodeKind::ParallelGateway,
                Tag::Inclusive => NodeKind::InclusiveGateway { default },
                Tag::Sub => {
                    let start = self
                        .nodes
                        .iter()
                        .position(|c| c.tag == Tag::Start && c.parent == Some(i as u32))
                        .unwrap_or(i);
                    NodeKind::SubProcess {
                        start: NodeIdx(start as u32),
                    }
                }
            };
            nodes.push(Node {
                id: n.id.clone(),
                name: n.name.clone(),
                kind,
                parent: n.parent.map(NodeIdx),
                incoming: Vec::new(),
                outgoing: Vec::new(),
                lane: None,
                position: n.position,
            });
        }
        self.diags.extend(diags);
        for (i, f) in flows.iter().enumerate() {
            if let Some(n) = nodes.get_mut(f.source.0 as usize) {
                n.outgoing.push(FlowIdx(i as u32));
            }
            if let Some(n) = nodes.get_mut(f.target.0 as usize) {
                n.incoming.push(FlowIdx(i as u32));
            }
        }

        // Lanes: a node belongs to the innermost lane that names it.
        let mut depth_of: Vec<Option<u32>> = vec![None; nodes.len()];
        for (li, lane) in self.lanes.iter().enumerate() {
            for r in &lane.refs {
                let Some(idx) = node_ids.get(r.as_str()) else {
                    // References to refused or non-executed elements (artifacts) are harmless.
                    continue;
                };
                let slot = idx.0 as usize;
                if depth_of[slot].is_none_or(|d| d <= lane.depth) {
                    depth_of[slot] = Some(lane.depth);
                    nodes[slot].lane = Some(li);
                }
            }
        }

        // The none start event, else the first timer start event.
        let start = nodes
            .iter()
            .position(|n| n.kind == NodeKind::StartEvent && n.parent.is_none())
            .or_else(|| {
                nodes.iter().position(|n| {
                    matches!(n.kind, NodeKind::TimerStartEvent { .. }) && n.parent.is_none()
                })
            });
        let start = match start {
            Some(s) => NodeIdx(s as u32),
            None => {
                self.diags.push(diag(
                    file,
                    DiagnosticKind::StartEvent,
                    "process",
                    Some(&self.id),
                    self.position,
                    "the process has no start event: draw one none start event (without a \
                     trigger) where the procedure begins, or timer start events",
                ));
                NodeIdx(0)
            }
        };
        if !self.diags.is_empty() {
            return None;
        }
        let start_form = self
            .nodes
            .get(start.0 as usize)
            .and_then(|n| first(&n.form));
        Some(
            Process::new(
                DefinitionKey::new(self.id.clone()),
                self.name.clone(),
                nodes,
                flows,
                self.lanes.iter().map(|l| l.lane.clone()).collect(),
                start,
                self.sla,
                self.agency.clone(),
            )
            .with_documents(self.documents.clone())
            .with_start_form(start_form)
            .with_procedure_code(self.procedure_code.clone()),
        )
    }
}

impl ProcessB {
    /// Resolves a boundary event's `attachedToRef` to an activity that may carry boundary
    /// events (user, service or manual task, task, sub-process).
    fn attached(
        &self,
        file: &str,
        n: &NodeB,
        node_ids: &HashMap<&str, NodeIdx>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<NodeIdx> {
        let mut report = |kind, message: String| {
            diags.push(diag(
                file,
                kind,
                "boundaryEvent",
                Some(&n.id),
                n.position,
                message,
            ))
        };
        let Some(r) = n.attached_to.as_deref() else {
            report(
                DiagnosticKind::InvalidAttribute,
                "the boundary event has no attachedToRef: draw it on the border of a task or \
                 sub-process"
                    .into(),
            );
            return None;
        };
        let Some(idx) = node_ids.get(r).copied() else {
            if !self.refused.contains(r) {
                report(
                    DiagnosticKind::DanglingFlow,
                    format!(
                        "attachedToRef `{r}` names no flow node of process `{}`: attach the \
                         boundary event to an existing task or sub-process",
                        self.id
                    ),
                );
            }
            return None;
        };
        let target = &self.nodes[idx.0 as usize];
        match target.tag {
            Tag::User | Tag::Service | Tag::Manual | Tag::Task | Tag::Sub => Some(idx),
            _ => {
                report(
                    DiagnosticKind::UnsupportedElement,
                    format!(
                        "a boundary event on `{r}` (a {}) is not supported: attach timers to a \
                         user task, service task, manual task, task or sub-process",
                        target.tag_name()
                    ),
                );
                None
            }
        }
    }
}

/// An event that needs a timer definition and has none.
fn needs_timer(file: &str, n: &NodeB, element: &str) -> Diagnostic {
    let message = match n.tag {
        Tag::Start => {
            "motcua:workingDays makes a start event a timer start event only with a \
                       timerEventDefinition: add one, or remove the attribute"
        }
        Tag::Catch => {
            "an intermediate catch event without an event definition waits for \
                       nothing: add a timerEventDefinition (motcua executes timer catch events), \
                       or remove the event"
        }
        _ => {
            "a boundary event without an event definition is never triggered: add a \
              timerEventDefinition (motcua executes timer boundary events), or remove the event"
        }
    };
    let kind = match n.tag {
        Tag::Start => DiagnosticKind::InvalidAttribute,
        _ => DiagnosticKind::UnsupportedElement,
    };
    diag(file, kind, element, Some(&n.id), n.position, message)
}

impl NodeB {
    /// The BPMN element name of the node.
    pub fn tag_name(&self) -> &'static str {
        match self.tag {
            Tag::Start => "startEvent",
            Tag::End => "endEvent",
            Tag::User => "userTask",
            Tag::Service => "serviceTask",
            Tag::Manual => "manualTask",
            Tag::Task => "task",
            Tag::Exclusive => "exclusiveGateway",
            Tag::Parallel => "parallelGateway",
            Tag::Inclusive => "inclusiveGateway",
            Tag::Sub => "subProcess",
            Tag::Catch => "intermediateCatchEvent",
            Tag::Boundary => "boundaryEvent",
        }
    }
}

/// An assignment attribute as written: literal names, or an expression evaluated when the
/// task is created (its source text, checked to parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AssignValue<T> {
    /// Names written out.
    Literal(T),
    /// `${...}` or `=expr` (not a plain literal): evaluated against the instance's variables.
    Expression(String),
}

/// Checks that `raw` parses as an expression; the error names the character offset.
fn expression(raw: &str) -> Result<AssignValue<Vec<String>>, String> {
    match Expression::parse(raw) {
        Ok(_) => Ok(AssignValue::Expression(raw.trim().to_owned())),
        Err(e) => Err(format!("the expression `{raw}` does not parse: {e}")),
    }
}

/// Reads a list of names: `a, b`, or a static FEEL list `["a", "b"]` / `=["a","b"]`; anything
/// else written as `${...}` or `=expr` is an expression.
pub(crate) fn parse_list(raw: &str) -> Result<AssignValue<Vec<String>>, String> {
    let text = raw.trim();
    let (feel, text) = match text.strip_prefix('=') {
        Some(rest) => (true, rest.trim()),
        None => (false, text),
    };
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let mut out = Vec::new();
        for item in inner.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match unquote(item) {
                Some(s) => out.push(s.trim().to_owned()),
                None => return expression(raw),
            }
        }
        return Ok(AssignValue::Literal(out));
    }
    if feel || text.contains("${") || text.contains("#{") {
        return match unquote(text) {
            Some(s) if feel => Ok(AssignValue::Literal(split(s))),
            _ => expression(raw),
        };
    }
    Ok(AssignValue::Literal(split(text)))
}

/// Reads one name (an assignee, an agency): plain text or a FEEL string literal `="x"`;
/// anything else written as `${...}` or `=expr` is an expression.
pub(crate) fn parse_single(raw: &str) -> Result<AssignValue<Option<String>>, String> {
    let text = raw.trim();
    let value = match text.strip_prefix('=') {
        Some(rest) => match unquote(rest.trim()) {
            Some(v) => v,
            None => return expression(raw).map(single),
        },
        None if text.contains("${") || text.contains("#{") => return expression(raw).map(single),
        None => text,
    };
    let value = value.trim();
    Ok(AssignValue::Literal(
        (!value.is_empty()).then(|| value.to_owned()),
    ))
}

fn single(v: AssignValue<Vec<String>>) -> AssignValue<Option<String>> {
    match v {
        AssignValue::Literal(l) => AssignValue::Literal(l.into_iter().next()),
        AssignValue::Expression(e) => AssignValue::Expression(e),
    }
}

/// The message for an expression where only literal names are read (lanes).
pub(crate) fn literal_only(raw: &str) -> String {
    format!(
        "`{raw}` is an expression; a lane's names are read as written: name the users or groups \
         literally (e.g. `mot-cua, tu-phap`), or put the expression on the user task"
    )
}

/// Reads a number of working days: a non-negative decimal such as `2` or `0.5`.
pub(crate) fn parse_days(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(d) if d.is_finite() && d >= 0.0 => Ok(d),
        _ => Err(format!(
            "`{raw}` is not a number of working days: write a non-negative decimal such as `2` \
             or `0.5`"
        )),
    }
}

/// Reads a retry count: a whole number, optionally written as FEEL (`=3`).
pub(crate) fn parse_retries(raw: &str) -> Result<u32, String> {
    let text = raw.trim();
    let text = text.strip_prefix('=').unwrap_or(text).trim();
    text.parse::<u32>().map_err(|_| {
        format!("`{raw}` is not a number of retries: write a whole number such as `3`")
    })
}

fn split(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn unquote(text: &str) -> Option<&str> {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .filter(|t| !t.contains('"'))
}
