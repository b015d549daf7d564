//! Streaming, namespace-aware BPMN 2.0 reader (quick-xml `NsReader`).
//!
//! [`parse_definitions`] reads a file once, as a stream, with one reused buffer. Elements are
//! matched on their resolved namespace plus local name, so `bpmn:`, `bpmn2:`, `semantic:` or a
//! default namespace are all the same to it. The grammar is `Parser::open`: one
//! `match (frame, namespace, name)` whose arms are the accepted elements and whose last arms
//! either skip (foreign, non-executing XML) or refuse (BPMN the engine does not execute).
//! Every problem becomes a [`Diagnostic`] with the element's line and column; reading goes on
//! after a refusal so that one deploy reports everything (only malformed XML stops it).
//!
//! # What is executed, skipped or refused
//!
//! Motcua executes what it can execute faithfully and refuses the rest with the element's
//! name, id and position; it never silently drops something that changes what runs.
//!
//! - **Executed** (inside a `process` or embedded `subProcess`): `startEvent` (none; at process
//!   level also with a `timerEventDefinition` or a `messageEventDefinition`), `endEvent` (none,
//!   or with `terminateEventDefinition`), `intermediateCatchEvent` with a `timerEventDefinition`
//!   or a `messageEventDefinition`, `intermediateThrowEvent` with a `messageEventDefinition`,
//!   `boundaryEvent` with a `timerEventDefinition` or a `messageEventDefinition` on a
//!   `userTask`, `serviceTask`, `manualTask`, `task`, `receiveTask`, `callActivity` or
//!   `subProcess` (`attachedToRef`; `cancelActivity`, default `true`, makes it interrupting),
//!   `userTask`, `serviceTask` (external worker topic), `manualTask`, `task`, `receiveTask`
//!   (`messageRef`), `sendTask` (`messageRef`; with an external-worker topic, Camunda
//!   `camunda:type="external"` or a Zeebe task definition, it is a worker's job like a service
//!   task, and so is a message throw event with a Zeebe task definition), `callActivity`,
//!   `exclusiveGateway`, `parallelGateway`, `inclusiveGateway`, `eventBasedGateway` (each
//!   outgoing flow to a message or timer catch event or a receive task), `subProcess`,
//!   `sequenceFlow` with an optional `conditionExpression`, and `laneSet`/`lane`/
//!   `childLaneSet`/`flowNodeRef` (a node belongs to its innermost lane).
//!   A `timerEventDefinition` holds one `timeDuration`, `timeDate` or `timeCycle` (text or CDATA;
//!   `xsi:type` ignored), read by [`crate::timer::TimerSpec::parse`]: ISO 8601 durations, dates
//!   (Vietnam time without an offset) and repeating intervals, cron expressions, or a FEEL
//!   (`=`) / `${...}` expression evaluated when the timer is armed. `motcua:workingDays="2"` on
//!   the definition or on the event (it then needs no time child, and wins over one) is a
//!   duration in working days.
//!   **Messages**: `messageRef` names a definitions-level `bpmn:message` (`id`, `name`: the name
//!   is what correlation matches, the id when there is no name). The correlation key is an
//!   expression (`=dossierCode`) evaluated against the instance's variables when the catcher
//!   is entered or the message thrown: `motcua:correlationKey` on the catching or throwing
//!   element wins over the message's Zeebe `zeebe:subscription correlationKey` (Camunda 7 has
//!   no key on the message). A throw publishes the instance's variables, or only those named
//!   by `motcua:variables="a b"`, and `motcua:ttl` (ISO duration, default PT1H, `PT0S`: not
//!   buffered) says how long it waits for a catcher.
//!   **Call activities**: `calledElement` (or Zeebe `zeebe:calledElement processId`, a literal
//!   id), Camunda `calledElementBinding` `latest` (default), `deployment` (read as latest:
//!   motcua does not track deployments per version) or `version` with
//!   `calledElementVersion`; `camunda:in`/`camunda:out` with `source`/`target` or
//!   `variables="all"` (`businessKey` accepted: the child always inherits the parent's
//!   business key); Zeebe `propagateAllParentVariables`/`propagateAllChildVariables` (default
//!   true, Zeebe's defaults). Without any mapping nothing is copied (Camunda 7's default).
//! - **Skipped** (no execution semantics here): diagram interchange (`bpmndi`, `dc`, `di`),
//!   `documentation`, `textAnnotation`, `association`, `group`, `category`, data objects and
//!   stores with their references, `ioSpecification`, `property`, data input/output
//!   associations (variables are instance-wide; data objects are documentation), `incoming`/
//!   `outgoing` children (the flows' `sourceRef`/`targetRef` are the truth), everything at
//!   definitions level except `process` and `message` (`collaboration` with its
//!   `participant`s and `messageFlow`s — message flows are drawings: correlation is by name
//!   and key —, `signal`, `error`, `itemDefinition`, ...: none of it runs without the
//!   signal/error events, which are refused), elements of unknown namespaces, and these
//!   extension elements: `camunda:properties`, `zeebe:properties`, `zeebe:userTask`,
//!   `camunda:failedJobRetryTimeCycle` and any other vendor element not listed below.
//!   Attributes motcua does not know (`camunda:asyncBefore`, `camunda:dueDate`, ...) are
//!   ignored.
//! - **Refused**: every other BPMN element in a process (`scriptTask`, `businessRuleTask`,
//!   `complexGateway`, `transaction`, `adHocSubProcess`, event sub-processes), events with
//!   any other event definition (signal, error, escalation, conditional, compensation,
//!   link..., and message end events: the diagnostic names the event definition and its own
//!   position, with the event's id), events with more than one event definition, timer and
//!   message start events inside a sub-process (an embedded sub-process starts with a none
//!   start event), intermediate catch, throw and boundary events without an event definition,
//!   message elements whose `messageRef` is missing or names no message, boundary events on
//!   anything but the activities above, flows from an event-based gateway to anything but a
//!   catch event or receive task, bad timer values (`invalid-attribute` at the value's
//!   position, saying which format is expected), a bad `motcua:ttl`, call activities without
//!   a called process, with a `processId` expression (`="..."`), another
//!   `calledElementBinding` (`versionTag`) or a `camunda:in`/`out` `sourceExpression`, loop
//!   characteristics, `potentialOwner`/`humanPerformer` (use motcua attributes), conditions in
//!   a language other than FEEL/JUEL, Java delegates (`camunda:class`,
//!   `camunda:delegateExpression`, `camunda:expression`, on service and send tasks), and the
//!   extension elements that change execution: input/output mappings (`camunda:inputOutput`,
//!   `zeebe:ioMapping`), listeners, `camunda:formData`, `camunda:connector`, `camunda:field`,
//!   `zeebe:taskHeaders`, and any motcua element.
//!
//! # Which processes are deployed
//!
//! Every process with `isExecutable="true"`; if none is so marked (bpmn-js writes `false` by
//! default), every process that has flow elements. Diagnostics inside processes that are not
//! deployed are dropped; file-level ones (malformed XML, duplicate ids) are always reported.
//!
//! # Dialects
//!
//! Assignment, forms, SLA and topics are read from motcua's namespace, Camunda 7 attributes and
//! Zeebe extension elements; when several give the same field, motcua wins over Camunda, which
//! wins over Zeebe. A user task's assignee, candidate groups, candidate users and agency may be
//! an expression (`${issuer}`, `=agency`): checked to parse here, evaluated against the
//! instance's variables when the task is created (`AssignmentExpressions`); lanes take names
//! only.
//!
//! Parse diagnostics stop the deploy before validation ([`crate::validate`]): a model with
//! unresolved references cannot be checked for reachability without a cascade of follow-up
//! errors.

mod build;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_messages;
mod xml;

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics, Position};
use crate::model::{Assignment, Lane, Process, RequiredDocument};
use crate::timer::{Timer, TimerKind};

use build::{diag, literal_only, parse_days, parse_list, parse_retries, parse_single};
use build::{AssignValue, CAMUNDA, MOTCUA, ZEEBE};
use build::{FlowB, LaneB, MessageB, NodeB, ProcessB, Tag, TimerB};
use xml::{Element, Ev, Ns, Pump, XmlError};

/// Parses every process of a BPMN file. Not yet validated: see [`crate::validate`].
///
/// Returns the processes to deploy, or every diagnostic found, sorted by position.
pub fn parse_definitions(file: &str, xml: &[u8]) -> Result<Vec<Process>, Diagnostics> {
    Parser::new(file, xml).run()
}

/// Where the reader is: the element whose children come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Definitions,
    Process,
    /// An embedded sub-process: both a scope for flow elements and a node.
    SubProcess(u32),
    /// A task, event or gateway.
    Node(u32),
    /// A `timerEventDefinition` of the node.
    Timer(u32),
    /// A `timeDuration`, `timeDate` or `timeCycle` of the node's timer.
    TimerValue(u32, TimerKind),
    Extensions(Owner),
    Flow(usize),
    Condition(usize),
    /// A `laneSet` or `childLaneSet`, with the lane that holds it.
    LaneSet(Option<usize>),
    Lane(usize),
    FlowNodeRef(usize),
    /// A definitions-level `bpmn:message`.
    Message(usize),
    /// The `extensionElements` of a message.
    MessageExtensions(usize),
}

/// Whose `extensionElements` are being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Process,
    Node(u32),
    Flow(usize),
}

struct Parser<'a> {
    file: &'a str,
    len: usize,
    pump: Pump<'a>,
    /// Open frames with the qualified names of their elements.
    stack: Vec<(Frame, String)>,
    seen_root: bool,
    /// File-level diagnostics (malformed XML, duplicate ids, no process).
    diags: Vec<Diagnostic>,
    /// Every kept id with where it was first seen.
    ids: HashMap<String, Position>,
    processes: Vec<ProcessB>,
    /// Text of the element being read (a condition, a timer value or a lane's node reference).
    text: String,
    condition_position: Position,
    /// Where the timer value being read starts.
    timer_value_position: Position,
    /// The file's `bpmn:message`s (resolved when the processes are built).
    messages: Vec<MessageB>,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, xml: &'a [u8]) -> Self {
        Parser {
            file,
            len: xml.len(),
            pump: Pump::new(xml),
            stack: Vec::new(),
            seen_root: false,
            diags: Vec::new(),
            ids: HashMap::new(),
            processes: Vec::new(),
            text: String::new(),
            condition_position: Position::default(),
            timer_value_position: Position::default(),
            messages: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Vec<Process>, Diagnostics> {
        loop {
            let ev = match self.pump.next() {
                Ok(ev) => ev,
                Err(e) => return Err(self.malformed(e)),
            };
            let top = self.stack.last().map(|(f, _)| *f);
            match (top, ev) {
                (None, Ev::Start(e)) if self.seen_root => {
                    let e = XmlError {
                        message: format!("a second root element `{}`", e.local),
                        position: e.position,
                    };
                    return Err(self.malformed(e));
                }
                (None, Ev::Start(e)) if e.is_bpmn("definitions") => {
                    self.seen_root = true;
                    self.push(Frame::Definitions, &e);
                }
                (None, Ev::Start(e)) => {
                    let message = format!(
                        "the root element `{}` is not BPMN 2.0 `definitions` (namespace {}): \
                         export the diagram as BPMN 2.0 XML",
                        String::from_utf8_lossy(&e.qname),
                        crate::BPMN_NS
                    );
                    return Err(Diagnostics(vec![diag(
                        self.file,
                        DiagnosticKind::NotBpmn,
                        &e.local,
                        e.id(),
                        e.position,
                        message,
                    )]));
                }
                (None, Ev::Text(_)) => {}
                (None, Ev::End) => {
                    let e = XmlError {
                        message: "an end tag without a start tag".into(),
                        position: self.pump.position(self.len as u64),
                    };
                    return Err(self.malformed(e));
                }
                (None, Ev::Eof) if !self.seen_root => {
                    return Err(Diagnostics(vec![diag(
                        self.file,
                        DiagnosticKind::NotBpmn,
                        "definitions",
                        None,
                        self.pump.position(self.len as u64),
                        "the file holds no XML element: export the diagram as BPMN 2.0 XML",
                    )]));
                }
                (None, Ev::Eof) => break,
                (Some(_), Ev::Eof) => {
                    let open = self
                        .stack
                        .last()
                        .map(|(_, n)| n.clone())
                        .unwrap_or_default();
                    let e = XmlError {
                        message: format!("the file ends before `<{open}>` is closed"),
                        position: self.pump.position(self.len as u64),
                    };
                    return Err(self.malformed(e));
                }
                (Some(frame), Ev::End) => {
                    self.stack.pop();
                    self.close(frame);
                }
                (
                    Some(Frame::Condition(_) | Frame::FlowNodeRef(_) | Frame::TimerValue(..)),
                    Ev::Text(t),
                ) => self.text.push_str(&t),
                (Some(_), Ev::Text(_)) => {}
                (Some(frame), Ev::Start(e)) => {
                    if let Err(e) = self.open(frame, e) {
                        return Err(self.malformed(e));
                    }
                }
            }
        }
        self.finish()
    }

    /// The grammar: what may appear inside each frame.
    fn open(&mut self, frame: Frame, e: Element) -> Result<(), XmlError> {
        let scope = match frame {
            Frame::SubProcess(i) => Some(i),
            _ => None,
        };
        match (frame, e.ns, e.local.as_str()) {
            // <definitions>: only processes run; the rest (collaboration, messages, diagram
            // interchange, ...) is skipped.
            (Frame::Definitions, Ns::Bpmn, "process") => {
                self.open_process(&e);
                self.push(Frame::Process, &e);
                Ok(())
            }
            (Frame::Definitions, Ns::Bpmn, "message") => {
                let id = self.required_id(&e);
                self.messages.push(MessageB {
                    id,
                    name: text_attr(&e, Ns::None, "name"),
                    key: None,
                });
                self.push(Frame::Message(self.messages.len() - 1), &e);
                Ok(())
            }
            (Frame::Definitions, _, _) => self.pump.skip(&e),
            (Frame::Message(i), Ns::Bpmn, "extensionElements") => {
                self.push(Frame::MessageExtensions(i), &e);
                Ok(())
            }
            (Frame::Message(_), _, _) => self.pump.skip(&e),
            (Frame::MessageExtensions(i), Ns::Zeebe, "subscription") => {
                if let Some(m) = self.messages.get_mut(i) {
                    m.key = text_attr(&e, Ns::None, "correlationKey");
                }
                self.pump.skip(&e)
            }
            (Frame::MessageExtensions(_), _, _) => self.pump.skip(&e),

            // <process> and <subProcess>: flow elements.
            (Frame::Process | Frame::SubProcess(_), Ns::Bpmn, "subProcess") => {
                if e.attr(Ns::None, "triggeredByEvent") == Some("true") {
                    return self.refuse_node(
                        &e,
                        "an event sub-process (triggeredByEvent) is not supported; model the \
                         alternative path with gateways",
                    );
                }
                let i = self.open_node(scope, &e, Tag::Sub);
                self.push(Frame::SubProcess(i), &e);
                Ok(())
            }
            (Frame::Process | Frame::SubProcess(_), Ns::Bpmn, local)
                if Tag::of(local).is_some() =>
            {
                let tag = Tag::of(local).unwrap_or(Tag::Task);
                if let Some(message) = refused_attributes(&e) {
                    return self.refuse_node(&e, message);
                }
                let i = self.open_node(scope, &e, tag);
                self.push(Frame::Node(i), &e);
                Ok(())
            }
            (Frame::Process | Frame::SubProcess(_), Ns::Bpmn, "sequenceFlow") => {
                let i = self.open_flow(&e);
                self.push(Frame::Flow(i), &e);
                Ok(())
            }
            (Frame::Process | Frame::SubProcess(_), Ns::Bpmn, "laneSet") => {
                self.push(Frame::LaneSet(None), &e);
                Ok(())
            }
            (Frame::Process, Ns::Bpmn, "extensionElements") => {
                self.push(Frame::Extensions(Owner::Process), &e);
                Ok(())
            }
            (
                Frame::Process | Frame::SubProcess(_),
                Ns::Bpmn,
                "documentation"
                | "textAnnotation"
                | "association"
                | "group"
                | "dataObject"
                | "dataObjectReference"
                | "dataStoreReference"
                | "property"
                | "ioSpecification"
                | "dataInputAssociation"
                | "dataOutputAssociation"
                | "auditing"
                | "monitoring"
                | "incoming"
                | "outgoing",
            ) => self.pump.skip(&e),
            (Frame::SubProcess(i), Ns::Bpmn, "extensionElements") => {
                self.push(Frame::Extensions(Owner::Node(i)), &e);
                Ok(())
            }
            (
                Frame::SubProcess(_),
                Ns::Bpmn,
                "multiInstanceLoopCharacteristics" | "standardLoopCharacteristics",
            ) => self.refuse(&e, loop_message(&e.local)),
            (Frame::Process | Frame::SubProcess(_), Ns::Bpmn, _) => {
                let message = unsupported_message(&e.local);
                self.refuse_node(&e, &message)
            }
            (Frame::Process | Frame::SubProcess(_), _, _) => self.pump.skip(&e),

            // Inside a task, event or gateway.
            (
                Frame::Node(_),
                Ns::Bpmn,
                "incoming"
                | "outgoing"
                | "documentation"
                | "ioSpecification"
                | "dataInputAssociation"
                | "dataOutputAssociation"
                | "property"
                | "dataInput"
                | "dataOutput"
                | "inputSet"
                | "outputSet"
                | "rendering",
            ) => self.pump.skip(&e),
            (Frame::Node(i), Ns::Bpmn, "extensionElements") => {
                self.push(Frame::Extensions(Owner::Node(i)), &e);
                Ok(())
            }
            (Frame::Node(i), Ns::Bpmn, local) if local.ends_with("EventDefinition") => {
                self.event_definition(i, &e)
            }
            (
                Frame::Node(_),
                Ns::Bpmn,
                "multiInstanceLoopCharacteristics" | "standardLoopCharacteristics",
            ) => self.refuse(&e, loop_message(&e.local)),
            (Frame::Node(_), Ns::Bpmn, "potentialOwner" | "humanPerformer" | "performer") => self
                .refuse(
                    &e,
                    "BPMN resource roles are not supported: name who works the task with \
                     motcua:candidateGroups, motcua:candidateUsers or motcua:assignee",
                ),
            (Frame::Node(_), Ns::Bpmn, _) => self.refuse(
                &e,
                format!("`{}` inside a flow node is not supported", e.local),
            ),
            (Frame::Node(_), _, _) => self.pump.skip(&e),

            // <timerEventDefinition>: one of timeDuration, timeDate, timeCycle (the `xsi:type`
            // Camunda Modeler writes is ignored).
            (Frame::Timer(i), Ns::Bpmn, local) if TimerKind::of_element(local).is_some() => {
                let kind = TimerKind::of_element(local).unwrap_or(TimerKind::Duration);
                self.text.clear();
                self.timer_value_position = e.position;
                self.push(Frame::TimerValue(i, kind), &e);
                Ok(())
            }
            (Frame::Timer(_), Ns::Bpmn, "documentation" | "extensionElements") => {
                self.pump.skip(&e)
            }
            (Frame::Timer(_), Ns::Bpmn, _) => self.refuse(
                &e,
                format!(
                    "`{}` inside a timer event definition is not supported: use timeDuration, \
                     timeDate or timeCycle",
                    e.local
                ),
            ),
            (Frame::Timer(_), _, _) => self.pump.skip(&e),
            (Frame::TimerValue(i, _), _, _) => {
                if let Some(def) = self.node_mut(i).and_then(|n| n.timer_def.as_mut()) {
                    def.refused = true;
                }
                self.refuse(
                    &e,
                    "a timer value is text (a duration, date, cycle or expression), not XML \
                     elements",
                )
            }

            // <extensionElements>: the vendor elements that carry what motcua reads, refusals
            // of those that change execution, and a skip for the rest.
            (Frame::Extensions(owner), Ns::Zeebe, "assignmentDefinition") => {
                self.zeebe_assignment(owner, &e);
                self.pump.skip(&e)
            }
            (Frame::Extensions(Owner::Node(i)), Ns::Zeebe, "formDefinition") => {
                let form = e
                    .attr(Ns::None, "formKey")
                    .or(e.attr(Ns::None, "formId"))
                    .or(e.attr(Ns::None, "externalReference"));
                if let Some(node) = self.node_mut(i) {
                    node.form[ZEEBE] = form
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(Into::into);
                }
                self.pump.skip(&e)
            }
            (Frame::Extensions(Owner::Node(i)), Ns::Zeebe, "taskDefinition") => {
                self.zeebe_task_definition(i, &e);
                self.pump.skip(&e)
            }
            (Frame::Extensions(Owner::Node(i)), Ns::Camunda, "in" | "out") => {
                self.camunda_mapping(i, &e);
                self.pump.skip(&e)
            }
            (Frame::Extensions(Owner::Node(i)), Ns::Zeebe, "calledElement") => {
                self.zeebe_called_element(i, &e);
                self.pump.skip(&e)
            }
            (Frame::Extensions(_), Ns::Zeebe, "ioMapping")
            | (Frame::Extensions(_), Ns::Camunda, "inputOutput") => self.refuse(
                &e,
                "input/output mappings are not supported yet: variables are shared by the whole \
                 instance; remove the mapping",
            ),
            (Frame::Extensions(_), Ns::Camunda, "executionListener" | "taskListener")
            | (Frame::Extensions(_), Ns::Zeebe, "executionListeners" | "taskListeners") => self
                .refuse(
                &e,
                "listeners run code that motcua does not have: model the work as a service task \
                 for an external worker",
            ),
            (Frame::Extensions(_), Ns::Camunda, "formData" | "formProperty") => self.refuse(
                &e,
                "Camunda generated forms are not supported: set motcua:formKey to a motcua form",
            ),
            (Frame::Extensions(_), Ns::Camunda, "connector" | "field") => self.refuse(
                &e,
                "Camunda connectors and delegate fields are not supported: use a service task \
                 with motcua:topic for an external worker",
            ),
            (Frame::Extensions(_), Ns::Zeebe, "taskHeaders") => self.refuse(
                &e,
                "task headers are not supported yet: pass what the worker needs as variables",
            ),
            (Frame::Extensions(Owner::Process), Ns::Motcua, "document") => {
                self.required_document(&e);
                self.pump.skip(&e)
            }
            (Frame::Extensions(_), Ns::Motcua, _) => self.refuse(
                &e,
                format!(
                    "motcua defines no extension element `{}` here: motcua settings are \
                     attributes (motcua:agency, motcua:candidateGroups, motcua:formKey, \
                     motcua:topic, ...); the process's extensionElements may list \
                     <motcua:document slot=\"...\" name=\"...\"/>",
                    e.local
                ),
            ),
            (Frame::Extensions(_), _, _) => self.pump.skip(&e),

            // <sequenceFlow>.
            (Frame::Flow(i), Ns::Bpmn, "conditionExpression") => {
                let language = e
                    .attr(Ns::None, "language")
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if !(language.is_empty() || language.contains("feel") || language.contains("juel"))
                {
                    return self.refuse(
                        &e,
                        format!(
                            "conditions in `{language}` are not supported: write the condition \
                             in FEEL (e.g. `= amount > 100`) without a language attribute"
                        ),
                    );
                }
                self.text.clear();
                self.condition_position = e.position;
                self.push(Frame::Condition(i), &e);
                Ok(())
            }
            (Frame::Flow(_), Ns::Bpmn, "documentation") => self.pump.skip(&e),
            (Frame::Flow(i), Ns::Bpmn, "extensionElements") => {
                self.push(Frame::Extensions(Owner::Flow(i)), &e);
                Ok(())
            }
            (Frame::Flow(_), Ns::Bpmn, _) => self.refuse(
                &e,
                format!("`{}` inside a sequence flow is not supported", e.local),
            ),
            (Frame::Flow(_), _, _) => self.pump.skip(&e),
            (Frame::Condition(_), _, _) => {
                self.refuse(&e, "a condition is text (an expression), not XML elements")
            }

            // Lanes.
            (Frame::LaneSet(parent), Ns::Bpmn, "lane") => {
                let i = self.open_lane(parent, &e);
                self.push(Frame::Lane(i), &e);
                Ok(())
            }
            (Frame::LaneSet(_), _, _) => self.pump.skip(&e),
            (Frame::Lane(i), Ns::Bpmn, "flowNodeRef") => {
                self.text.clear();
                self.push(Frame::FlowNodeRef(i), &e);
                Ok(())
            }
            (Frame::Lane(i), Ns::Bpmn, "childLaneSet") => {
                self.push(Frame::LaneSet(Some(i)), &e);
                Ok(())
            }
            (Frame::Lane(_), _, _) => self.pump.skip(&e),
            (Frame::FlowNodeRef(_), _, _) => self.pump.skip(&e),
        }
    }

    /// The end of a frame's element.
    fn close(&mut self, frame: Frame) {
        match frame {
            Frame::Condition(i) => {
                let text = std::mem::take(&mut self.text);
                let text = text.trim();
                if let Some(flow) = self.process().and_then(|p| p.flows.get_mut(i)) {
                    flow.condition = (!text.is_empty()).then(|| text.to_owned());
                }
            }
            Frame::TimerValue(i, kind) => {
                let text = std::mem::take(&mut self.text);
                let position = self.timer_value_position;
                if let Some(def) = self.node_mut(i).and_then(|n| n.timer_def.as_mut()) {
                    def.values.push((kind, text, position));
                }
            }
            Frame::Timer(i) => self.finish_timer(i),
            Frame::FlowNodeRef(lane) => {
                let text = std::mem::take(&mut self.text);
                if let Some(lane) = self.process().and_then(|p| p.lanes.get_mut(lane)) {
                    lane.refs.push(text.trim().to_owned());
                }
            }
            Frame::Definitions
            | Frame::Process
            | Frame::SubProcess(_)
            | Frame::Node(_)
            | Frame::Extensions(_)
            | Frame::Flow(_)
            | Frame::LaneSet(_)
            | Frame::Lane(_)
            | Frame::Message(_)
            | Frame::MessageExtensions(_) => {}
        }
    }

    fn push(&mut self, frame: Frame, e: &Element) {
        let name = String::from_utf8_lossy(&e.qname).into_owned();
        self.stack.push((frame, name));
    }

    fn process(&mut self) -> Option<&mut ProcessB> {
        self.processes.last_mut()
    }

    fn node_mut(&mut self, i: u32) -> Option<&mut NodeB> {
        self.process().and_then(|p| p.nodes.get_mut(i as usize))
    }

    /// Records a diagnostic of the current process (or of the file, outside processes).
    fn report(&mut self, d: Diagnostic) {
        match self.processes.last_mut() {
            Some(p) if self.stack.iter().any(|(f, _)| *f == Frame::Process) => p.diags.push(d),
            _ => self.diags.push(d),
        }
    }

    fn invalid(&mut self, e: &Element, id: Option<&str>, message: String) {
        let d = diag(
            self.file,
            DiagnosticKind::InvalidAttribute,
            &e.local,
            id,
            e.position,
            message,
        );
        self.report(d);
    }

    /// Refuses an element (not a flow node) and skips its subtree. The diagnostic names the
    /// element's own id or, when it has none, the id of the flow node or flow it belongs to.
    fn refuse(&mut self, e: &Element, message: impl Into<String>) -> Result<(), XmlError> {
        let node = self.stack.iter().rev().find_map(|(f, _)| match f {
            Frame::Node(i)
            | Frame::SubProcess(i)
            | Frame::Extensions(Owner::Node(i))
            | Frame::Timer(i)
            | Frame::TimerValue(i, _) => Some(*i),
            _ => None,
        });
        if let Some(n) = node.and_then(|i| self.node_mut(i)) {
            n.refused_child = true;
        }
        let owner = e.id().map(str::to_owned).or_else(|| self.owner_id());
        let d = diag(
            self.file,
            DiagnosticKind::UnsupportedElement,
            &e.local,
            owner.as_deref(),
            e.position,
            message,
        );
        self.report(d);
        self.pump.skip(e)
    }

    /// Refuses a flow element: reported, counted, its id remembered (flows to it are not
    /// reported again), and its subtree skipped.
    fn refuse_node(&mut self, e: &Element, message: &str) -> Result<(), XmlError> {
        if let Some(id) = e.id() {
            self.register_id(e, id);
        }
        if let Some(p) = self.process() {
            p.flow_elements += 1;
            if let Some(id) = e.id() {
                p.refused.insert(id.to_owned());
            }
        }
        let message = format!("`{}` is not supported: {message}", e.local);
        self.refuse(e, message)
    }

    /// The id of the innermost flow node or flow being read.
    fn owner_id(&self) -> Option<String> {
        let p = self.processes.last()?;
        self.stack.iter().rev().find_map(|(f, _)| match f {
            Frame::Node(i)
            | Frame::SubProcess(i)
            | Frame::Extensions(Owner::Node(i))
            | Frame::Timer(i)
            | Frame::TimerValue(i, _) => p.nodes.get(*i as usize).map(|n| n.id.clone()),
            Frame::Flow(i) | Frame::Condition(i) | Frame::Extensions(Owner::Flow(i)) => {
                p.flows.get(*i).map(|f| f.id.clone())
            }
            _ => None,
        })
    }

    fn register_id(&mut self, e: &Element, id: &str) {
        if id.is_empty() {
            return;
        }
        match self.ids.get(id) {
            Some(first) => {
                let message = format!(
                    "the id `{id}` is already used by the element at {first}: give every \
                     element its own id"
                );
                self.diags.push(diag(
                    self.file,
                    DiagnosticKind::DuplicateId,
                    &e.local,
                    Some(id),
                    e.position,
                    message,
                ));
            }
            None => {
                self.ids.insert(id.to_owned(), e.position);
            }
        }
    }

    /// The `id` attribute of an element that must have one.
    fn required_id(&mut self, e: &Element) -> String {
        match e.id() {
            Some(id) if !id.trim().is_empty() => {
                self.register_id(e, id);
                id.to_owned()
            }
            _ => {
                self.invalid(e, None, format!("the `{}` has no id: give it one", e.local));
                String::new()
            }
        }
    }

    fn open_process(&mut self, e: &Element) {
        let mut p = ProcessB {
            position: e.position,
            executable: e.attr(Ns::None, "isExecutable") == Some("true"),
            name: name_of(e),
            agency: text_attr(e, Ns::Motcua, "agency"),
            procedure_code: text_attr(e, Ns::Motcua, "procedureCode"),
            ..ProcessB::default()
        };
        self.processes.push(std::mem::take(&mut p));
        // From here on, diagnostics belong to this process.
        self.stack.push((Frame::Process, String::new()));
        let id = self.required_id(e);
        let sla = match e.attr(Ns::Motcua, "slaWorkingDays").map(parse_days) {
            Some(Ok(d)) => Some(d),
            Some(Err(m)) => {
                self.invalid(e, Some(&id), m);
                None
            }
            None => None,
        };
        self.stack.pop();
        if let Some(p) = self.process() {
            p.id = id;
            p.sla = sla;
        }
    }

    /// `<motcua:document slot="to-khai" name="Tờ khai" required="true"/>` in the process's
    /// extensionElements: a document the procedure's dossiers carry.
    fn required_document(&mut self, e: &Element) {
        let slot = text_attr(e, Ns::None, "slot");
        let name = text_attr(e, Ns::None, "name");
        let required = match e.attr(Ns::None, "required").map(str::trim) {
            None | Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => None,
        };
        let (Some(slot), Some(required)) = (slot, required) else {
            self.invalid(
                e,
                None,
                "a motcua:document needs a `slot` (the document's key in the dossier), a \
                 `name`, and `required` true (the default) or false"
                    .to_owned(),
            );
            return;
        };
        let duplicate = self
            .process()
            .is_some_and(|p| p.documents.iter().any(|d| d.slot == slot));
        if duplicate {
            self.invalid(
                e,
                None,
                format!("the document slot `{slot}` is listed twice"),
            );
            return;
        }
        if let Some(p) = self.process() {
            p.documents.push(RequiredDocument {
                name: name.unwrap_or_else(|| slot.clone()),
                slot,
                required,
            });
        }
    }

    fn open_node(&mut self, scope: Option<u32>, e: &Element, tag: Tag) -> u32 {
        let id = self.required_id(e);
        let mut node = NodeB::new(id.clone(), name_of(e), tag, scope, e.position);
        let mut problems = Vec::new();
        match tag {
            Tag::User => {
                for (dialect, ns) in [(MOTCUA, Ns::Motcua), (CAMUNDA, Ns::Camunda)] {
                    let a = &mut node.assign[dialect];
                    read_assignment(e, ns, a, &mut problems);
                    node.form[dialect] = text_attr(e, ns, "formKey");
                }
                if let Some(v) = e.attr(Ns::Motcua, "agency") {
                    let a = &mut node.assign[MOTCUA];
                    match parse_single(v) {
                        Ok(AssignValue::Literal(v)) => a.agency = v,
                        Ok(AssignValue::Expression(x)) => a.expressions.agency = Some(x),
                        Err(m) => problems.push(m),
                    }
                }
                match e.attr(Ns::Motcua, "checksDocuments").map(str::trim) {
                    None | Some("false") => {}
                    Some("true") => node.checks_documents = true,
                    Some(v) => problems.push(format!(
                        "checksDocuments `{v}` is neither `true` (completing the task needs \
                         every required document of the dossier) nor `false`"
                    )),
                }
                if let Some(v) = e.attr(Ns::Motcua, "requiresSignatures") {
                    let mut slots: Vec<String> = Vec::new();
                    for slot in v
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                    {
                        if !slots.iter().any(|s| s == slot) {
                            slots.push(slot.to_owned());
                        }
                    }
                    if slots.is_empty() {
                        problems.push(
                            "requiresSignatures is empty: name the document slots that must be \
                             signed (separated by spaces or commas), or remove the attribute"
                                .to_owned(),
                        );
                    }
                    node.requires_signatures = slots;
                }
                if let Some(v) = e.attr(Ns::Motcua, "slaWorkingDays") {
                    match parse_days(v) {
                        Ok(d) => node.sla = Some(d),
                        Err(m) => problems.push(m),
                    }
                }
            }
            Tag::Service => {
                node.topic[MOTCUA] = text_attr(e, Ns::Motcua, "topic");
                if e.attr(Ns::Camunda, "type") == Some("external") {
                    node.topic[CAMUNDA] = text_attr(e, Ns::Camunda, "topic");
                }
                if let Some(v) = e.attr(Ns::Motcua, "retries") {
                    match parse_retries(v) {
                        Ok(r) => node.retries[MOTCUA] = Some(r),
                        Err(m) => problems.push(m),
                    }
                }
            }
            Tag::Exclusive | Tag::Inclusive => {
                node.default = text_attr(e, Ns::None, "default");
            }
            Tag::Boundary => {
                node.correlation_key = text_attr(e, Ns::Motcua, "correlationKey");
                node.attached_to = text_attr(e, Ns::None, "attachedToRef");
                match e.attr(Ns::None, "cancelActivity").map(str::trim) {
                    None | Some("true") => node.interrupting = true,
                    Some("false") => node.interrupting = false,
                    Some(v) => problems.push(format!(
                        "cancelActivity `{v}` is neither `true` (the timer interrupts the \
                         activity, the default) nor `false` (it starts a parallel path)"
                    )),
                }
                node.working_days = text_attr(e, Ns::Motcua, "workingDays");
            }
            Tag::Start => {
                node.working_days = text_attr(e, Ns::Motcua, "workingDays");
                for (dialect, ns) in [(MOTCUA, Ns::Motcua), (CAMUNDA, Ns::Camunda)] {
                    node.form[dialect] = text_attr(e, ns, "formKey");
                }
            }
            Tag::Catch => {
                node.working_days = text_attr(e, Ns::Motcua, "workingDays");
                node.correlation_key = text_attr(e, Ns::Motcua, "correlationKey");
            }
            Tag::Receive => {
                node.message_ref = text_attr(e, Ns::None, "messageRef").map(|r| (r, e.position));
                node.correlation_key = text_attr(e, Ns::Motcua, "correlationKey");
            }
            Tag::Send | Tag::Throw => {
                if e.local == "sendTask" {
                    node.message_ref =
                        text_attr(e, Ns::None, "messageRef").map(|r| (r, e.position));
                    if e.attr(Ns::Camunda, "type") == Some("external") {
                        node.topic[CAMUNDA] = text_attr(e, Ns::Camunda, "topic");
                    }
                }
                node.topic[MOTCUA] = text_attr(e, Ns::Motcua, "topic");
                node.correlation_key = text_attr(e, Ns::Motcua, "correlationKey");
                if let Some(v) = e.attr(Ns::Motcua, "variables") {
                    let names: Vec<String> = v
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                    node.throw_variables = Some(names);
                }
                if let Some(v) = e.attr(Ns::Motcua, "ttl") {
                    match crate::timer::IsoDuration::parse(v.trim()) {
                        Ok(d) => node.ttl = Some(d),
                        Err(err) => problems.push(format!(
                            "ttl `{v}` is not an ISO 8601 duration ({}): write e.g. `PT1H`, or \
                             `PT0S` for a message that is not kept when nobody waits for it",
                            err.0
                        )),
                    }
                }
            }
            Tag::Call => {
                node.call.called_element = text_attr(e, Ns::None, "calledElement");
                match e.attr(Ns::Camunda, "calledElementBinding").map(str::trim) {
                    None | Some("latest") | Some("deployment") => {}
                    Some("version") => {
                        match e
                            .attr(Ns::Camunda, "calledElementVersion")
                            .map(|v| v.trim().parse::<i32>())
                        {
                            Some(Ok(v)) if v >= 1 => node.call.version = Some(v),
                            _ => problems.push(
                                "calledElementBinding=\"version\" needs \
                                 camunda:calledElementVersion, a version number from 1"
                                    .to_owned(),
                            ),
                        }
                    }
                    Some(other) => problems.push(format!(
                        "calledElementBinding `{other}` is not supported: use `latest` (the \
                         default), `deployment` (read as latest) or `version` with \
                         camunda:calledElementVersion"
                    )),
                }
            }
            Tag::End | Tag::Manual | Tag::Task | Tag::Parallel | Tag::Sub | Tag::EventGateway => {}
        }
        for m in problems {
            self.invalid(e, Some(&id), m);
        }
        let Some(p) = self.process() else {
            return 0;
        };
        p.flow_elements += 1;
        p.nodes.push(node);
        (p.nodes.len() - 1) as u32
    }

    fn open_flow(&mut self, e: &Element) -> usize {
        let id = self.required_id(e);
        let flow = FlowB {
            id,
            name: name_of(e),
            source: text_attr(e, Ns::None, "sourceRef"),
            target: text_attr(e, Ns::None, "targetRef"),
            condition: None,
            position: e.position,
        };
        let Some(p) = self.process() else {
            return 0;
        };
        p.flows.push(flow);
        p.flows.len() - 1
    }

    fn open_lane(&mut self, parent: Option<usize>, e: &Element) -> usize {
        let id = self.required_id(e);
        let name = name_of(e);
        let mut assignment = Assignment {
            agency: text_attr(e, Ns::Motcua, "agency"),
            ..Assignment::default()
        };
        let mut problems = Vec::new();
        if let Some(v) = e.attr(Ns::Motcua, "assignee") {
            match parse_single(v) {
                Ok(AssignValue::Literal(v)) => assignment.assignee = v,
                Ok(AssignValue::Expression(_)) => problems.push(literal_only(v)),
                Err(m) => problems.push(m),
            }
        }
        match e
            .attr(Ns::Motcua, "candidateGroups")
            .map(|v| (v, parse_list(v)))
        {
            Some((_, Ok(AssignValue::Literal(groups)))) => assignment.candidate_groups = groups,
            Some((v, Ok(AssignValue::Expression(_)))) => problems.push(literal_only(v)),
            Some((_, Err(m))) => problems.push(m),
            None => {
                assignment.candidate_groups = name.iter().map(|n| n.trim().to_owned()).collect()
            }
        }
        for m in problems {
            self.invalid(e, Some(&id), m);
        }
        let Some(p) = self.process() else {
            return 0;
        };
        let depth = match parent.and_then(|i| p.lanes.get(i)) {
            Some(outer) => {
                if assignment.agency.is_none() {
                    assignment.agency = outer.lane.assignment.agency.clone();
                }
                outer.depth + 1
            }
            None => 0,
        };
        p.lanes.push(LaneB {
            lane: Lane {
                id,
                name,
                assignment,
            },
            depth,
            refs: Vec::new(),
        });
        p.lanes.len() - 1
    }

    /// An event definition inside an event: `terminateEventDefinition` in an end event and
    /// `timerEventDefinition` in a process-level start event, an intermediate catch event or a
    /// boundary event are executed; the rest is refused.
    fn event_definition(&mut self, i: u32, e: &Element) -> Result<(), XmlError> {
        let Some(node) = self.node_mut(i) else {
            return self.pump.skip(e);
        };
        let first = !node.has_event_definition;
        node.has_event_definition = true;
        let (tag, node_id, nested) = (node.tag, node.id.clone(), node.parent.is_some());
        let timer = e.local == "timerEventDefinition";
        if first && timer && matches!(tag, Tag::Catch | Tag::Boundary)
            || first && timer && tag == Tag::Start && !nested
        {
            node.timer_def = Some(TimerB {
                position: e.position,
                working_days: text_attr(e, Ns::Motcua, "workingDays"),
                values: Vec::new(),
                refused: false,
            });
            self.push(Frame::Timer(i), e);
            return Ok(());
        }
        let message = e.local == "messageEventDefinition";
        if first && message && matches!(tag, Tag::Catch | Tag::Boundary | Tag::Throw)
            || first && message && tag == Tag::Start && !nested
        {
            node.message_def = true;
            node.message_def_position = e.position;
            node.message_ref = text_attr(e, Ns::None, "messageRef").map(|r| (r, e.position));
            return self.pump.skip(e);
        }
        if tag == Tag::End && first && e.local == "terminateEventDefinition" {
            node.terminate = true;
            return self.pump.skip(e);
        }
        node.refused_child = true;
        let (kind, instead) = match tag {
            Tag::Start if timer || message => (
                "a start event of a sub-process",
                "an embedded sub-process starts with a none start event when a token reaches it",
            ),
            Tag::Start => (
                "a start event",
                "use a none start event (instances are started through the API), a timer \
                 start event or a message start event",
            ),
            Tag::End => (
                "an end event",
                "use a none end event or a terminate end event",
            ),
            Tag::Catch => (
                "an intermediate catch event",
                "only timer and message catch events are executed; model the wait as a user \
                 task",
            ),
            Tag::Boundary => (
                "a boundary event",
                "only timer and message boundary events are executed; model the other outcome \
                 with a gateway after the activity",
            ),
            Tag::Throw => (
                "an intermediate throw event",
                "only message throw events are executed",
            ),
            _ => ("this element", "remove the event definition"),
        };
        let message = match first {
            true => format!(
                "{kind} with a `{}` is not supported (`{node_id}`): {instead}",
                e.local
            ),
            false => format!(
                "`{node_id}` has more than one event definition: motcua executes events with \
                 exactly one; remove this `{}`",
                e.local
            ),
        };
        let d = diag(
            self.file,
            DiagnosticKind::UnsupportedElement,
            &e.local,
            Some(&node_id),
            e.position,
            message,
        );
        self.report(d);
        self.pump.skip(e)
    }

    /// The end of a `timerEventDefinition`: its value (or motcua `workingDays`) becomes the
    /// node's timer, or a diagnostic with the value's position.
    fn finish_timer(&mut self, i: u32) {
        let Some(node) = self.node_mut(i) else {
            return;
        };
        let Some(def) = node.timer_def.take() else {
            return;
        };
        if def.refused {
            return;
        }
        let (node_id, node_element, node_position) =
            (node.id.clone(), node.tag_name(), node.position);
        let working_days = match (def.working_days, node.working_days.clone()) {
            (Some(w), _) => Some((w, "timerEventDefinition", def.position)),
            (None, Some(w)) => Some((w, node_element, node_position)),
            (None, None) => None,
        };
        let (result, element, position) = match (working_days, def.values.as_slice()) {
            (Some((w, element, position)), _) => (Timer::working_days(&w), element, position),
            (None, [(kind, text, position)]) => {
                (Timer::parse(*kind, text), kind.element_name(), *position)
            }
            (None, []) => (
                Err(crate::timer::TimerError(
                    "the timer says nothing about time: add a timeDuration (e.g. PT4H), a \
                     timeDate or a timeCycle, or set motcua:workingDays"
                        .into(),
                )),
                "timerEventDefinition",
                def.position,
            ),
            (None, [_, (kind, _, position), ..]) => (
                Err(crate::timer::TimerError(format!(
                    "a timer has exactly one of timeDuration, timeDate and timeCycle: remove \
                     this `{}` or the other",
                    kind.element_name()
                ))),
                kind.element_name(),
                *position,
            ),
        };
        match result {
            Ok(timer) => {
                if let Some(node) = self.node_mut(i) {
                    node.timer = Some(timer);
                }
            }
            Err(e) => {
                let d = diag(
                    self.file,
                    DiagnosticKind::InvalidAttribute,
                    element,
                    Some(&node_id),
                    position,
                    e.0,
                );
                self.report(d);
            }
        }
    }

    fn zeebe_assignment(&mut self, owner: Owner, e: &Element) {
        let Owner::Node(i) = owner else {
            return;
        };
        let mut a = Assignment::default();
        let mut problems = Vec::new();
        read_assignment(e, Ns::None, &mut a, &mut problems);
        let id = self.node_mut(i).map(|n| n.id.clone());
        for m in problems {
            self.invalid(e, id.as_deref(), m);
        }
        if let Some(node) = self.node_mut(i) {
            node.assign[ZEEBE] = a;
        }
    }

    /// `camunda:in` / `camunda:out` of a call activity: `source` + `target`, or
    /// `variables="all"`; `businessKey` is accepted (the child inherits the business key);
    /// `sourceExpression` is refused.
    fn camunda_mapping(&mut self, i: u32, e: &Element) {
        let input = e.local == "in";
        let id = self.node_mut(i).map(|n| (n.id.clone(), n.tag));
        let Some((id, tag)) = id else {
            return;
        };
        if tag != Tag::Call {
            return;
        }
        let problem = if e.attr(Ns::None, "sourceExpression").is_some() {
            Some(
                "sourceExpression in a camunda:in/out mapping is not supported: map a variable \
                 with source and target, or set the value in a variable first"
                    .to_owned(),
            )
        } else if e.attr(Ns::None, "variables").map(str::trim) == Some("all") {
            if let Some(n) = self.node_mut(i) {
                let m = if input {
                    &mut n.call.inputs
                } else {
                    &mut n.call.outputs
                };
                m.all = true;
            }
            None
        } else if e.attr(Ns::None, "businessKey").is_some() {
            None
        } else {
            match (
                text_attr(e, Ns::None, "source"),
                text_attr(e, Ns::None, "target"),
            ) {
                (Some(source), target) => {
                    let target = target.unwrap_or_else(|| source.clone());
                    if let Some(n) = self.node_mut(i) {
                        let m = if input {
                            &mut n.call.inputs
                        } else {
                            &mut n.call.outputs
                        };
                        m.pairs.push((source, target));
                    }
                    None
                }
                (None, _) => Some(format!(
                    "camunda:{} needs source and target (or variables=\"all\")",
                    e.local
                )),
            }
        };
        if let Some(m) = problem {
            if let Some(n) = self.node_mut(i) {
                n.refused_child = true;
            }
            let d = diag(
                self.file,
                DiagnosticKind::UnsupportedElement,
                &e.local,
                Some(&id),
                e.position,
                m,
            );
            self.report(d);
        }
    }

    /// Zeebe `calledElement processId="..." propagateAllChildVariables="..."`.
    fn zeebe_called_element(&mut self, i: u32, e: &Element) {
        let process = text_attr(e, Ns::None, "processId");
        let flag = |name: &str| e.attr(Ns::None, name).map(str::trim) != Some("false");
        let (all_in, all_out) = (
            flag("propagateAllParentVariables"),
            flag("propagateAllChildVariables"),
        );
        let Some(id) = self.node_mut(i).map(|n| n.id.clone()) else {
            return;
        };
        if process.as_deref().is_some_and(|p| p.starts_with('=')) {
            if let Some(n) = self.node_mut(i) {
                n.refused_child = true;
            }
            let d = diag(
                self.file,
                DiagnosticKind::UnsupportedElement,
                "calledElement",
                Some(&id),
                e.position,
                "a processId computed by an expression is not supported: name the called \
                 process literally (processId=\"my-process\")",
            );
            self.report(d);
            return;
        }
        if let Some(n) = self.node_mut(i) {
            n.call.zeebe = true;
            n.call.zeebe_process = process;
            n.call.zeebe_all_in = all_in;
            n.call.zeebe_all_out = all_out;
        }
    }

    fn zeebe_task_definition(&mut self, i: u32, e: &Element) {
        let topic = text_attr(e, Ns::None, "type");
        let retries = e.attr(Ns::None, "retries").map(parse_retries);
        let id = self.node_mut(i).map(|n| n.id.clone());
        if let Some(Err(m)) = &retries {
            self.invalid(e, id.as_deref(), m.clone());
        }
        if let Some(node) = self.node_mut(i) {
            node.topic[ZEEBE] = topic;
            node.retries[ZEEBE] = retries.and_then(Result::ok);
        }
    }

    fn malformed(&mut self, e: XmlError) -> Diagnostics {
        let element = self
            .stack
            .last()
            .map(|(_, n)| n.rsplit(':').next().unwrap_or(n).to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "xml".to_owned());
        Diagnostics(vec![diag(
            self.file,
            DiagnosticKind::MalformedXml,
            &element,
            None,
            e.position,
            format!("the XML is not well-formed: {}", e.message),
        )])
    }

    /// Picks the processes to deploy, builds them and gathers the diagnostics.
    fn finish(mut self) -> Result<Vec<Process>, Diagnostics> {
        let any_executable = self.processes.iter().any(|p| p.executable);
        let mut out = Vec::new();
        let mut diags = std::mem::take(&mut self.diags);
        let total = self.processes.len();
        let mut messages = HashMap::new();
        for m in std::mem::take(&mut self.messages) {
            messages.entry(m.id.clone()).or_insert(m);
        }
        for mut p in std::mem::take(&mut self.processes) {
            let selected = match any_executable {
                true => p.executable,
                false => p.flow_elements > 0,
            };
            if !selected {
                continue;
            }
            match p.build(self.file, &messages) {
                Some(process) => out.push(process),
                None => diags.append(&mut p.diags),
            }
        }
        if out.is_empty() && diags.is_empty() {
            let message = match total {
                0 => "the file holds no process: draw a process (a pool) with a start event",
                _ => "no process of the file has flow elements: draw the procedure in a pool",
            };
            diags.push(diag(
                self.file,
                DiagnosticKind::NoProcess,
                "definitions",
                None,
                Position { line: 1, column: 1 },
                message,
            ));
        }
        if diags.is_empty() {
            return Ok(out);
        }
        diags.sort_by_key(|d| (d.position.line, d.position.column));
        Err(Diagnostics(diags))
    }
}

/// Attributes that make an otherwise supported element unsupported.
fn refused_attributes(e: &Element) -> Option<&'static str> {
    if e.local != "serviceTask" && e.local != "sendTask" {
        return None;
    }
    let java = ["class", "delegateExpression", "expression"]
        .iter()
        .any(|a| e.attr(Ns::Camunda, a).is_some());
    if java {
        return Some(
            "Java delegates (camunda:class, camunda:delegateExpression, camunda:expression) do \
             not exist in motcua: set camunda:type=\"external\" with camunda:topic, or \
             motcua:topic, for an external worker",
        );
    }
    match e.attr(Ns::Camunda, "type") {
        Some("external") | None => None,
        Some(_) => Some(
            "only external service tasks are supported: set camunda:type=\"external\" with \
             camunda:topic, or motcua:topic",
        ),
    }
}

fn loop_message(local: &str) -> String {
    format!(
        "`{local}` (a loop or multi-instance activity) is not supported yet: model the repetition \
         with a gateway and a flow back"
    )
}

fn unsupported_message(local: &str) -> String {
    let instead = match local {
        "scriptTask" | "businessRuleTask" => {
            "use a service task with motcua:topic, done by an external worker"
        }
        "complexGateway" => "use an exclusive, parallel, inclusive or event-based gateway",
        "transaction" | "adHocSubProcess" => "use an embedded sub-process",
        _ => "remove it or replace it by a supported element",
    };
    format!("motcua does not execute it; {instead}")
}

fn name_of(e: &Element) -> Option<String> {
    e.attr(Ns::None, "name")
        .filter(|n| !n.trim().is_empty())
        .map(str::to_owned)
}

fn text_attr(e: &Element, ns: Ns, local: &str) -> Option<String> {
    e.attr(ns, local)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Reads `assignee`, `candidateGroups` and `candidateUsers` of namespace `ns` into `a`: literal
/// names, or expressions (checked to parse) evaluated when the task is created.
fn read_assignment(e: &Element, ns: Ns, a: &mut Assignment, problems: &mut Vec<String>) {
    if let Some(v) = e.attr(ns, "assignee") {
        match parse_single(v) {
            Ok(AssignValue::Literal(v)) => a.assignee = v,
            Ok(AssignValue::Expression(x)) => a.expressions.assignee = Some(x),
            Err(m) => problems.push(m),
        }
    }
    for (attr, groups) in [("candidateGroups", true), ("candidateUsers", false)] {
        if let Some(v) = e.attr(ns, attr) {
            let (slot, expr) = if groups {
                (&mut a.candidate_groups, &mut a.expressions.candidate_groups)
            } else {
                (&mut a.candidate_users, &mut a.expressions.candidate_users)
            };
            match parse_list(v) {
                Ok(AssignValue::Literal(v)) => *slot = v,
                Ok(AssignValue::Expression(x)) => *expr = Some(x),
                Err(m) => problems.push(m),
            }
        }
    }
}
