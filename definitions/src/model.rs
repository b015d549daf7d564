//! The immutable process model the engine executes.
//!
//! A [`Process`] is an arena: every flow node of the process and of its embedded sub-processes
//! lives in one `Vec<Node>`, addressed by [`NodeIdx`]; sequence flows live in one `Vec<Flow>`,
//! addressed by [`FlowIdx`]. A node inside a sub-process names it as its `parent`. Models are built
//! only by the parser and never change afterwards: fields are private, getters borrow.

use std::collections::HashMap;

use crate::diagnostic::Position;
use crate::expr::Expression;
use crate::timer::{IsoDuration, Timer};

/// The key of a process definition: the BPMN process `id`. Deploying the same key again makes a
/// new version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefinitionKey(String);

impl DefinitionKey {
    /// Wraps a process id.
    pub fn new(key: impl Into<String>) -> Self {
        DefinitionKey(key.into())
    }
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DefinitionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Index of a node in [`Process::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIdx(pub u32);

/// Index of a flow in [`Process::flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowIdx(pub u32);

/// Who may work a user task. Read from motcua's namespace, Camunda 7 or Zeebe attributes, and
/// inherited from the task's lane when the task names nobody itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// A fixed assignee (user id), if any.
    pub assignee: Option<String>,
    /// Candidate groups (e.g. `mot-cua`, `tu-phap`).
    pub candidate_groups: Vec<String>,
    /// Candidate users.
    pub candidate_users: Vec<String>,
    /// The agency (tenant / routing unit) the task belongs to, if named.
    pub agency: Option<String>,
    /// Values computed when the task is created: an expression (`${var}` or `=expr`) replaces
    /// the literal of the same field. Checked to parse at deploy; user tasks only.
    pub expressions: AssignmentExpressions,
}

/// A user task's assignment written as expressions (`${issuer}`, `=agency`), evaluated against
/// the instance's variables when the task is created. Each is the expression's source text,
/// already checked to parse at deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentExpressions {
    /// Gives the assignee (a text).
    pub assignee: Option<String>,
    /// Gives the candidate groups (a text, comma-separated, or a list of texts).
    pub candidate_groups: Option<String>,
    /// Gives the candidate users (a text, comma-separated, or a list of texts).
    pub candidate_users: Option<String>,
    /// Gives the agency (a text).
    pub agency: Option<String>,
}

impl AssignmentExpressions {
    /// Whether the task names nobody by expression.
    pub fn names_nobody(&self) -> bool {
        self.assignee.is_none() && self.candidate_groups.is_none() && self.candidate_users.is_none()
    }
}

/// A user task's own data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserTask {
    /// Who may work it.
    pub assignment: Assignment,
    /// The form shown to the worker (`formKey` or Zeebe `formId`), if any.
    pub form_key: Option<String>,
    /// Service level in working days (motcua `slaWorkingDays`), if any.
    pub sla_working_days: Option<f64>,
    /// Completing it needs every required document of the dossier (motcua `checksDocuments`):
    /// the receiving step's checklist.
    pub checks_documents: bool,
    /// Document slots whose latest version must carry a valid signature by the acting user or
    /// the task's agency before the task can be completed (motcua `requiresSignatures`,
    /// whitespace- or comma-separated). Each is a `<motcua:document>` slot of the process.
    pub requires_signatures: Vec<String>,
}

/// A document a procedure's dossiers carry (`<motcua:document>` in the process's
/// extensionElements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredDocument {
    /// The document's key in the dossier (e.g. `to-khai`).
    pub slot: String,
    /// Its name as the applicant reads it (e.g. "Tờ khai đăng ký khai sinh").
    pub name: String,
    /// Whether a dossier is incomplete without it.
    pub required: bool,
}

/// A BPMN `message` as a catching or throwing element uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRef {
    /// The `bpmn:message` id.
    pub id: String,
    /// Its `name`: what correlation matches (the message's id when it has no name).
    pub name: String,
    /// The correlation key, evaluated against the instance's variables when the catcher is
    /// entered (or the message thrown): motcua `correlationKey` on the element, else Zeebe's
    /// `zeebe:subscription correlationKey` on the message. `None`: any message of that name.
    pub correlation_key: Option<Expression>,
}

/// What a send task or message throw event publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageThrow {
    /// The message (name and correlation key expression).
    pub message: MessageRef,
    /// Variables sent as the payload (motcua `variables="a b"`); `None`: all of them.
    pub variables: Option<Vec<String>>,
    /// How long the message waits for a catcher when none waits yet (motcua `ttl`); `None`:
    /// the engine's default (one hour).
    pub ttl: Option<IsoDuration>,
}

/// Which version of the called process a call activity starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalledVersion {
    /// The latest version deployed when the activity is entered (also Camunda's `deployment`
    /// binding: motcua does not track which deployment a version came from).
    Latest,
    /// A fixed version (Camunda `calledElementBinding="version"`).
    Fixed(i32),
}

/// Which variables cross a call activity, in one direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariableMapping {
    /// Every variable (Camunda `variables="all"`, Zeebe `propagateAllChildVariables`).
    pub all: bool,
    /// `(source, target)` pairs: the source variable is copied under the target name.
    pub pairs: Vec<(String, String)>,
}

impl VariableMapping {
    /// The variables of `from` this mapping passes on.
    pub fn apply(
        &self,
        from: &serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut out = match self.all {
            true => from.clone(),
            false => serde_json::Map::new(),
        };
        for (source, target) in &self.pairs {
            if let Some(v) = from.get(source) {
                out.insert(target.clone(), v.clone());
            }
        }
        out
    }
}

/// A call activity: starts an instance of another process and waits for it to end.
#[derive(Debug, Clone, PartialEq)]
pub struct CallActivity {
    /// The called process's id (`calledElement`, Zeebe `processId`).
    pub process: String,
    /// Which version.
    pub version: CalledVersion,
    /// Parent variables given to the child at its start.
    pub inputs: VariableMapping,
    /// Child variables copied into the parent when the child ends.
    pub outputs: VariableMapping,
}

/// What a node is and the data that kind needs.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A none start event (of the process or of a sub-process).
    StartEvent,
    /// A timer start event (process level only): the engine starts an instance when it fires.
    TimerStartEvent {
        /// When.
        timer: Timer,
    },
    /// A message start event (process level): a correlated message with its name and no
    /// waiting catcher starts an instance of the latest version.
    MessageStartEvent {
        /// The message.
        message: MessageRef,
    },
    /// An intermediate message catch event: the token waits for the message.
    MessageCatchEvent {
        /// The message.
        message: MessageRef,
    },
    /// A receive task: waits for its message like a catch event.
    ReceiveTask {
        /// The message.
        message: MessageRef,
    },
    /// A message boundary event on an activity (interrupting or not, like a boundary timer).
    BoundaryMessage {
        /// The activity it is attached to.
        attached_to: NodeIdx,
        /// Cancels the activity when the message comes (`cancelActivity`, default true).
        interrupting: bool,
        /// The message.
        message: MessageRef,
    },
    /// An event-based gateway: the first of the events after it to happen is taken.
    EventBasedGateway,
    /// An intermediate message throw event: publishes its message and moves on.
    MessageThrowEvent(MessageThrow),
    /// A send task: publishes its message and moves on.
    SendTask(MessageThrow),
    /// A call activity: a child instance of another process.
    CallActivity(CallActivity),
    /// An intermediate timer catch event: the token waits until the timer fires.
    TimerCatchEvent {
        /// When.
        timer: Timer,
    },
    /// A timer boundary event attached to an activity (user task, service task, sub-process).
    BoundaryTimer {
        /// The activity it is attached to.
        attached_to: NodeIdx,
        /// Interrupting (`cancelActivity="true"`, the default) cancels the activity when it
        /// fires; non-interrupting starts a parallel path and leaves the activity waiting.
        interrupting: bool,
        /// When (a cycle fires repeatedly while the activity waits).
        timer: Timer,
    },
    /// A none end event, or a terminate end event when `terminate` is set.
    EndEvent {
        /// Terminate end event: ends every token of its (sub-)process.
        terminate: bool,
    },
    /// A user task: waits in a task queue until a person completes it.
    UserTask(UserTask),
    /// A service task done by an external worker that fetches jobs of `topic`.
    ServiceTask {
        /// The external-worker topic.
        topic: String,
        /// How many attempts a job gets before an incident (default 3).
        retries: u32,
    },
    /// A manual task: done outside the system, passed through at once.
    ManualTask,
    /// An abstract task: passed through at once.
    Task,
    /// Exclusive gateway: the first flow (document order) whose condition holds, else the default.
    ExclusiveGateway {
        /// The default flow.
        default: Option<FlowIdx>,
    },
    /// Parallel gateway: forks to every outgoing flow; joins waiting for every incoming flow.
    ParallelGateway,
    /// Inclusive gateway: forks to every flow whose condition holds (else the default); joins
    /// waiting only for tokens that can still arrive.
    InclusiveGateway {
        /// The default flow.
        default: Option<FlowIdx>,
    },
    /// An embedded sub-process with its own none start event.
    SubProcess {
        /// The sub-process's none start event.
        start: NodeIdx,
    },
}

impl NodeKind {
    /// The BPMN element name of this kind (e.g. `userTask`).
    pub fn element_name(&self) -> &'static str {
        match self {
            NodeKind::StartEvent
            | NodeKind::TimerStartEvent { .. }
            | NodeKind::MessageStartEvent { .. } => "startEvent",
            NodeKind::TimerCatchEvent { .. } | NodeKind::MessageCatchEvent { .. } => {
                "intermediateCatchEvent"
            }
            NodeKind::BoundaryTimer { .. } | NodeKind::BoundaryMessage { .. } => "boundaryEvent",
            NodeKind::ReceiveTask { .. } => "receiveTask",
            NodeKind::EventBasedGateway => "eventBasedGateway",
            NodeKind::MessageThrowEvent(_) => "intermediateThrowEvent",
            NodeKind::SendTask(_) => "sendTask",
            NodeKind::CallActivity(_) => "callActivity",
            NodeKind::EndEvent { .. } => "endEvent",
            NodeKind::UserTask(_) => "userTask",
            NodeKind::ServiceTask { .. } => "serviceTask",
            NodeKind::ManualTask => "manualTask",
            NodeKind::Task => "task",
            NodeKind::ExclusiveGateway { .. } => "exclusiveGateway",
            NodeKind::ParallelGateway => "parallelGateway",
            NodeKind::InclusiveGateway { .. } => "inclusiveGateway",
            NodeKind::SubProcess { .. } => "subProcess",
        }
    }

    /// The activity a boundary event (timer or message) is attached to.
    pub fn attached_to(&self) -> Option<NodeIdx> {
        match self {
            NodeKind::BoundaryTimer { attached_to, .. }
            | NodeKind::BoundaryMessage { attached_to, .. } => Some(*attached_to),
            _ => None,
        }
    }

    /// The message a catching node (start, catch, receive task, boundary) waits for.
    pub fn caught_message(&self) -> Option<&MessageRef> {
        match self {
            NodeKind::MessageStartEvent { message }
            | NodeKind::MessageCatchEvent { message }
            | NodeKind::ReceiveTask { message }
            | NodeKind::BoundaryMessage { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// A flow node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The BPMN id.
    pub id: String,
    /// The label drawn in the modeler, if any.
    pub name: Option<String>,
    /// Kind and kind-specific data.
    pub kind: NodeKind,
    /// The sub-process that contains this node (`None` at process level).
    pub parent: Option<NodeIdx>,
    /// Incoming sequence flows.
    pub incoming: Vec<FlowIdx>,
    /// Outgoing sequence flows, in document order.
    pub outgoing: Vec<FlowIdx>,
    /// The lane the node is drawn in, if any (index into [`Process::lanes`]).
    pub lane: Option<usize>,
    /// Where the element starts in the file.
    pub position: Position,
}

impl Node {
    /// The name if drawn, else the id: what people see.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// A sequence flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The BPMN id.
    pub id: String,
    /// The label, if any.
    pub name: Option<String>,
    /// Source node.
    pub source: NodeIdx,
    /// Target node.
    pub target: NodeIdx,
    /// Condition, if any (FEEL or Camunda 7 `${...}`).
    pub condition: Option<Expression>,
    /// Where the element starts in the file.
    pub position: Position,
}

/// A lane: names an agency and/or candidate groups for the tasks drawn in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The BPMN id.
    pub id: String,
    /// The label.
    pub name: Option<String>,
    /// Assignment inherited by user tasks of this lane that name nobody themselves.
    pub assignment: Assignment,
}

/// A validated, immutable process.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    key: DefinitionKey,
    name: Option<String>,
    nodes: Vec<Node>,
    flows: Vec<Flow>,
    lanes: Vec<Lane>,
    start: NodeIdx,
    sla_working_days: Option<f64>,
    agency: Option<String>,
    documents: Vec<RequiredDocument>,
    start_form: Option<String>,
    procedure_code: Option<String>,
    by_id: HashMap<String, NodeIdx>,
    flow_by_id: HashMap<String, FlowIdx>,
    boundaries: HashMap<NodeIdx, Vec<NodeIdx>>,
}

impl Process {
    /// Builds a process from its parts. Used by the parser; `start` must be the process-level
    /// none start event or, when there is none, the first process-level timer start event.
    /// Validation is separate ([`crate::validate`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: DefinitionKey,
        name: Option<String>,
        nodes: Vec<Node>,
        flows: Vec<Flow>,
        lanes: Vec<Lane>,
        start: NodeIdx,
        sla_working_days: Option<f64>,
        agency: Option<String>,
    ) -> Self {
        let by_id = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), NodeIdx(i as u32)))
            .collect();
        let flow_by_id = flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), FlowIdx(i as u32)))
            .collect();
        let mut boundaries: HashMap<NodeIdx, Vec<NodeIdx>> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if let Some(attached_to) = n.kind.attached_to() {
                boundaries
                    .entry(attached_to)
                    .or_default()
                    .push(NodeIdx(i as u32));
            }
        }
        Process {
            key,
            name,
            nodes,
            flows,
            lanes,
            start,
            sla_working_days,
            agency,
            documents: Vec::new(),
            start_form: None,
            procedure_code: None,
            by_id,
            flow_by_id,
            boundaries,
        }
    }

    /// The definition key (process id).
    pub fn key(&self) -> &DefinitionKey {
        &self.key
    }
    /// The process name, if drawn.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Every node, sub-process contents included.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    /// Every sequence flow.
    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }
    /// The lanes.
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }
    /// The process-level none start event, used when an instance is started by a command.
    /// A process whose only start event is a timer start event has that one here.
    pub fn start(&self) -> NodeIdx {
        self.start
    }
    /// The process-level timer start events (the engine schedules them at deploy).
    pub fn timer_starts(&self) -> impl Iterator<Item = NodeIdx> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.parent.is_none() && matches!(n.kind, NodeKind::TimerStartEvent { .. })
            })
            .map(|(i, _)| NodeIdx(i as u32))
    }
    /// The process-level message start events.
    pub fn message_starts(&self) -> impl Iterator<Item = NodeIdx> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.parent.is_none() && matches!(n.kind, NodeKind::MessageStartEvent { .. })
            })
            .map(|(i, _)| NodeIdx(i as u32))
    }
    /// The process-level message start event of a message name, if any.
    pub fn message_start(&self, name: &str) -> Option<NodeIdx> {
        self.message_starts().find(|i| {
            self.node(*i)
                .kind
                .caught_message()
                .is_some_and(|m| m.name == name)
        })
    }
    /// The boundary events attached to an activity, in document order.
    pub fn boundaries(&self, activity: NodeIdx) -> &[NodeIdx] {
        self.boundaries
            .get(&activity)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    /// The process SLA in working days (motcua `slaWorkingDays`), if any.
    pub fn sla_working_days(&self) -> Option<f64> {
        self.sla_working_days
    }
    /// The agency owning the process (motcua `agency`), if any.
    pub fn agency(&self) -> Option<&str> {
        self.agency.as_deref()
    }
    /// The documents its dossiers carry, in the order the file lists them.
    pub fn documents(&self) -> &[RequiredDocument] {
        &self.documents
    }
    /// The form of its start event (`formKey`, Camunda or Zeebe), if any: start data is
    /// validated against it.
    pub fn start_form(&self) -> Option<&str> {
        self.start_form.as_deref()
    }
    /// The same process with the documents its dossiers carry.
    pub fn with_documents(mut self, documents: Vec<RequiredDocument>) -> Self {
        self.documents = documents;
        self
    }
    /// The procedure's code in the national procedure database (mã thủ tục hành chính, e.g.
    /// `1.001193`; motcua `procedureCode` on the process), if given. Portal feeds fall back to
    /// the definition key without one.
    pub fn procedure_code(&self) -> Option<&str> {
        self.procedure_code.as_deref()
    }
    /// The same process with its national procedure code.
    pub fn with_procedure_code(mut self, code: Option<String>) -> Self {
        self.procedure_code = code;
        self
    }
    /// The same process with its start event's form.
    pub fn with_start_form(mut self, form: Option<String>) -> Self {
        self.start_form = form;
        self
    }
    /// A node by index.
    pub fn node(&self, idx: NodeIdx) -> &Node {
        &self.nodes[idx.0 as usize]
    }
    /// A flow by index.
    pub fn flow(&self, idx: FlowIdx) -> &Flow {
        &self.flows[idx.0 as usize]
    }
    /// A node by BPMN id.
    pub fn node_by_id(&self, id: &str) -> Option<NodeIdx> {
        self.by_id.get(id).copied()
    }
    /// A flow by BPMN id.
    pub fn flow_by_id(&self, id: &str) -> Option<FlowIdx> {
        self.flow_by_id.get(id).copied()
    }
    /// The effective assignment of a user task: its own, else its lane's.
    pub fn assignment(&self, idx: NodeIdx) -> Option<Assignment> {
        let node = self.node(idx);
        let NodeKind::UserTask(task) = &node.kind else {
            return None;
        };
        let mut a = task.assignment.clone();
        if let Some(lane) = node.lane.and_then(|l| self.lanes.get(l)) {
            if a.assignee.is_none()
                && a.candidate_groups.is_empty()
                && a.candidate_users.is_empty()
                && a.expressions.names_nobody()
            {
                a.assignee = lane.assignment.assignee.clone();
                a.candidate_groups = lane.assignment.candidate_groups.clone();
                a.candidate_users = lane.assignment.candidate_users.clone();
            }
            if a.agency.is_none() && a.expressions.agency.is_none() {
                a.agency = lane.assignment.agency.clone();
            }
        }
        if a.agency.is_none() && a.expressions.agency.is_none() {
            a.agency = self.agency.clone();
        }
        Some(a)
    }
}
