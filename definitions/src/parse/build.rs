//! What the grammar collects while reading one `<process>`, and how it becomes a [`Process`].
//!
//! The grammar (`mod.rs`) fills builders with raw text (ids, references, attribute values in the
//! three dialects); [`ProcessB::build`] resolves references to indexes, merges the dialects
//! (motcua > Camunda 7 > Zeebe), parses conditions and reports what does not resolve.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostic, DiagnosticKind, Position};
use crate::expr::Expression;
use crate::model::{
    Assignment, CallActivity, CalledVersion, DefinitionKey, Flow, FlowIdx, Lane, MessageRef,
    MessageThrow, Node, NodeIdx, NodeKind, Process, RequiredDocument, UserTask, VariableMapping,
};
use crate::timer::{IsoDuration, Timer, TimerKind};

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
    /// `boundaryEvent` (timer or message).
    Boundary,
    /// `receiveTask`.
    Receive,
    /// `sendTask`.
    Send,
    /// `intermediateThrowEvent` (message only).
    Throw,
    /// `eventBasedGateway`.
    EventGateway,
    /// `callActivity`.
    Call,
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
            "receiveTask" => Tag::Receive,
            "sendTask" => Tag::Send,
            "intermediateThrowEvent" => Tag::Throw,
            "eventBasedGateway" => Tag::EventGateway,
            "callActivity" => Tag::Call,
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
    /// The `messageRef` of its `messageEventDefinition` (or of a receive or send task), with
    /// where it was read.
    pub message_ref: Option<(String, Position)>,
    /// Whether a `messageEventDefinition` was read.
    pub message_def: bool,
    /// Where the `messageEventDefinition` starts.
    pub message_def_position: Position,
    /// motcua `correlationKey` on the element (wins over the message's Zeebe subscription).
    pub correlation_key: Option<String>,
    /// motcua `variables` of a throw: the payload's variable names.
    pub throw_variables: Option<Vec<String>>,
    /// motcua `ttl` of a throw.
    pub ttl: Option<IsoDuration>,
    /// A call activity's settings.
    pub call: CallB,
}

/// A call activity as read.
#[derive(Debug, Default)]
pub(crate) struct CallB {
    /// `calledElement` (BPMN, Camunda 7).
    pub called_element: Option<String>,
    /// Zeebe `zeebe:calledElement processId`.
    pub zeebe_process: Option<String>,
    /// Camunda `calledElementVersion` when the binding is `version`.
    pub version: Option<i32>,
    /// Camunda `camunda:in`.
    pub inputs: VariableMapping,
    /// Camunda `camunda:out`.
    pub outputs: VariableMapping,
    /// Whether a Zeebe `calledElement` was read (Zeebe's defaults then apply).
    pub zeebe: bool,
    /// Zeebe `propagateAllParentVariables` (default true).
    pub zeebe_all_in: bool,
    /// Zeebe `propagateAllChildVariables` (default true).
    pub zeebe_all_out: bool,
}

/// A definitions-level `bpmn:message` as read.
#[derive(Debug, Clone)]
pub(crate) struct MessageB {
    pub id: String,
    pub name: Option<String>,
    /// Zeebe `zeebe:subscription correlationKey`.
    pub key: Option<String>,
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
            message_ref: None,
            message_def: false,
            message_def_position: Position::default(),
            correlation_key: None,
            throw_variables: None,
            ttl: None,
            call: CallB::default(),
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
    pub fn build(&mut self, file: &str, messages: &HashMap<String, MessageB>) -> Option<Process> {
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
            let message = match n.message_def || matches!(n.tag, Tag::Receive | Tag::Send) {
                true => self.message(file, n, messages, &mut diags),
                false => None,
            };
            let kind = match n.tag {
                Tag::Start if n.message_def => match message {
                    Some(message) => NodeKind::MessageStartEvent { message },
                    None => NodeKind::StartEvent,
                },
                Tag::Catch if n.message_def => match message {
                    Some(message) => NodeKind::MessageCatchEvent { message },
                    None => NodeKind::Task,
                },
                Tag::Receive => match message {
                    Some(message) => NodeKind::ReceiveTask { message },
                    None => NodeKind::Task,
                },
                Tag::Send | Tag::Throw if first(&n.topic).is_some() => NodeKind::ServiceTask {
                    topic: first(&n.topic).unwrap_or_default(),
                    retries: first(&n.retries).unwrap_or(3),
                },
                Tag::Send | Tag::Throw => match message {
                    Some(message) => {
                        let throw = MessageThrow {
                            message,
                            variables: n.throw_variables.clone(),
                            ttl: n.ttl,
                        };
                        match n.tag {
                            Tag::Send => NodeKind::SendTask(throw),
                            _ => NodeKind::MessageThrowEvent(throw),
                        }
                    }
                    None => {
                        if n.tag == Tag::Throw && !n.has_event_definition {
                            diags.push(diag(
                                file,
                                DiagnosticKind::UnsupportedElement,
                                "intermediateThrowEvent",
                                Some(&n.id),
                                n.position,
                                "an intermediate throw event without an event definition is \
                                 not executed: add a messageEventDefinition (motcua publishes \
                                 the message), or remove the event",
                            ));
                        }
                        NodeKind::Task
                    }
                },
                Tag::EventGateway => NodeKind::EventBasedGateway,
                Tag::Call => match self.call(file, n, &mut diags) {
                    Some(call) => NodeKind::CallActivity(call),
                    None => NodeKind::Task,
                },
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
                    match (&n.timer, message, attached) {
                        (Some(timer), _, Some(attached_to)) => NodeKind::BoundaryTimer {
                            attached_to,
                            interrupting: n.interrupting,
                            timer: timer.clone(),
                        },
                        (None, Some(message), Some(attached_to)) => NodeKind::BoundaryMessage {
                            attached_to,
                            interrupting: n.interrupting,
                            message,
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

        // The none start event, else the first timer or message start event.
        let start = nodes
            .iter()
            .position(|n| n.kind == NodeKind::StartEvent && n.parent.is_none())
            .or_else(|| {
                nodes.iter().position(|n| {
                    matches!(
                        n.kind,
                        NodeKind::TimerStartEvent { .. } | NodeKind::MessageStartEvent { .. }
                    ) && n.parent.is_none()
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
                     trigger) where the procedure begins, or timer or message start events",
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
    /// Resolves the message of a message event, receive task or send task: its `messageRef`
    /// names a `bpmn:message` of the file; the correlation key is motcua `correlationKey` on
    /// the element, else the message's Zeebe subscription key.
    fn message(
        &self,
        file: &str,
        n: &NodeB,
        messages: &HashMap<String, MessageB>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<MessageRef> {
        let element = n.tag_name();
        let Some((r, position)) = n.message_ref.clone() else {
            if n.refused_child {
                return None;
            }
            let (element, position) = match n.message_def {
                true => ("messageEventDefinition", n.message_def_position),
                false => (element, n.position),
            };
            diags.push(diag(
                file,
                DiagnosticKind::InvalidAttribute,
                element,
                Some(&n.id),
                position,
                "the element names no message: set messageRef to the id of a <bpmn:message> \
                 (in the modeler: Message > Global message reference)",
            ));
            return None;
        };
        let Some(m) = messages.get(&r) else {
            let element = match n.message_def {
                true => "messageEventDefinition",
                false => element,
            };
            diags.push(diag(
                file,
                DiagnosticKind::DanglingFlow,
                element,
                Some(&n.id),
                position,
                format!(
                    "messageRef `{r}` names no <bpmn:message> of the file: add <bpmn:message \
                     id=\"{r}\" name=\"...\"/> under <bpmn:definitions> or fix the reference"
                ),
            ));
            return None;
        };
        let key_text = n.correlation_key.clone().or_else(|| m.key.clone());
        let correlation_key = match key_text {
            None => None,
            Some(text) => match Expression::parse(&text) {
                Ok(e) => Some(e),
                Err(e) => {
                    diags.push(diag(
                        file,
                        DiagnosticKind::Expression,
                        element,
                        Some(&n.id),
                        n.position,
                        format!(
                            "the correlation key `{text}` does not parse: {} at character {}; \
                             write an expression such as `=dossierCode`",
                            e.message,
                            e.offset + 1
                        ),
                    ));
                    return None;
                }
            },
        };
        Some(MessageRef {
            id: m.id.clone(),
            name: m.name.clone().unwrap_or_else(|| m.id.clone()),
            correlation_key,
        })
    }

    /// A call activity's called process, version binding and variable mappings.
    fn call(&self, file: &str, n: &NodeB, diags: &mut Vec<Diagnostic>) -> Option<CallActivity> {
        let c = &n.call;
        let Some(process) = c.called_element.clone().or_else(|| c.zeebe_process.clone()) else {
            if !n.refused_child {
                diags.push(diag(
                    file,
                    DiagnosticKind::InvalidAttribute,
                    "callActivity",
                    Some(&n.id),
                    n.position,
                    "the call activity names no process: set calledElement (or a Zeebe \
                     calledElement processId) to the id of the process to start",
                ));
            }
            return None;
        };
        if n.refused_child {
            return None;
        }
        let mut inputs = c.inputs.clone();
        let mut outputs = c.outputs.clone();
        if c.zeebe && c.called_element.is_none() {
            inputs.all |= c.zeebe_all_in;
            outputs.all |= c.zeebe_all_out;
        }
        Some(CallActivity {
            process,
            version: match c.version {
                Some(v) => CalledVersion::Fixed(v),
                None => CalledVersion::Latest,
            },
            inputs,
            outputs,
        })
    }

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
            Tag::User
            | Tag::Service
            | Tag::Manual
            | Tag::Task
            | Tag::Sub
            | Tag::Receive
            | Tag::Call => Some(idx),
            _ => {
                report(
                    DiagnosticKind::UnsupportedElement,
                    format!(
                        "a boundary event on `{r}` (a {}) is not supported: attach it to a \
                         user task, service task, manual task, task, receive task, call \
                         activity or sub-process",
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
                       nothing: add a timerEventDefinition or a messageEventDefinition, or \
                       remove the event"
        }
        _ => {
            "a boundary event without an event definition is never triggered: add a \
              timerEventDefinition or a messageEventDefinition, or remove the event"
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
            Tag::Receive => "receiveTask",
            Tag::Send => "sendTask",
            Tag::Throw => "intermediateThrowEvent",
            Tag::EventGateway => "eventBasedGateway",
            Tag::Call => "callActivity",
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
