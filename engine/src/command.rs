//! Commands on an instance and the effects a step asks the store to write beside the state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::Event;
use crate::ids::{InstanceId, JobId, TaskId};
use crate::state::InstanceState;

/// A command on an existing instance. Starting an instance is [`crate::step::start`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[must_use]
pub enum Command {
    /// Take a task: it becomes the user's.
    Claim {
        /// The task.
        task: TaskId,
        /// The user taking it.
        user: String,
    },
    /// Give a claimed task back to its candidate groups.
    Unclaim {
        /// The task.
        task: TaskId,
    },
    /// Set a task's assignee directly, even if someone else has claimed it.
    Assign {
        /// The task.
        task: TaskId,
        /// The new assignee.
        user: String,
    },
    /// Delegate a task: `user` becomes its assignee and the current assignee its owner, who gets
    /// it back on [`Command::Resolve`].
    Delegate {
        /// The task.
        task: TaskId,
        /// The delegate.
        user: String,
    },
    /// Resolve a delegated task: it goes back to its owner, with variables.
    Resolve {
        /// The task.
        task: TaskId,
        /// Variables to set.
        variables: Map<String, Value>,
    },
    /// Complete a task with variables.
    Complete {
        /// The task.
        task: TaskId,
        /// Variables to set.
        variables: Map<String, Value>,
        /// The user completing it; a task claimed by someone else refuses them. `None` is the
        /// system (an administrator or a migration) and may complete any task.
        by: Option<String>,
    },
    /// An external worker finished a job.
    CompleteJob {
        /// The job.
        job: JobId,
        /// Variables to set.
        variables: Map<String, Value>,
    },
    /// An external worker failed a job.
    FailJob {
        /// The job.
        job: JobId,
        /// What went wrong.
        error: String,
        /// Attempts left as the worker sees it; `None` takes one off.
        retries: Option<u32>,
    },
    /// A timer's job is due: fire it (the job executor sends this).
    FireTimer {
        /// The timer's job.
        job: JobId,
    },
    /// Give a job whose retries ran out (an incident) new attempts, due now.
    RetryJob {
        /// The job.
        job: JobId,
        /// Attempts to give it.
        retries: u32,
    },
    /// A message for a catcher of this instance (the oldest subscription with its name and
    /// correlation key).
    CorrelateMessage {
        /// The message name.
        name: String,
        /// Its correlation key, if any.
        correlation_key: Option<String>,
        /// Its unique id.
        message_id: String,
        /// Its payload, set as variables.
        variables: Map<String, Value>,
        /// Whether it was buffered (its row is then marked consumed; else a row is recorded).
        buffered: bool,
        /// When it expires (recorded with a correlated message's row).
        expires_at: DateTime<Utc>,
    },
    /// The child instance of a call activity ended: copy its outputs and move on.
    CompleteCallActivity {
        /// The child.
        child: InstanceId,
        /// The child's variables at its end.
        variables: Map<String, Value>,
    },
    /// Cancel the whole instance.
    Cancel {
        /// Why, for the journal.
        reason: Option<String>,
    },
}

/// A user task as the queue (a projection table) shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Task id.
    pub id: TaskId,
    /// The instance.
    pub instance: InstanceId,
    /// The definition key.
    pub definition_key: String,
    /// The node id.
    pub node: String,
    /// The node's label.
    pub name: String,
    /// Assignee, if any.
    pub assignee: Option<String>,
    /// Candidate groups.
    pub candidate_groups: Vec<String>,
    /// Candidate users.
    pub candidate_users: Vec<String>,
    /// The agency, if any.
    pub agency: Option<String>,
    /// The form, if any.
    pub form_key: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it is due by its SLA (working days), if it has one.
    pub due_at: Option<DateTime<Utc>>,
}

/// What runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A service task's job: an external worker (or an in-process handler) of its topic.
    External,
    /// A timer of an instance (catch event, boundary event, SLA mark): the executor fires it.
    Timer,
    /// An outbox job: publish a thrown message (to another instance, a start or the buffer).
    Message,
    /// An outbox job: start a call activity's child instance.
    CallStart,
    /// An outbox job: a child ended; resume its parent.
    CallReturn,
    /// An outbox job: the parent's call activity was cancelled; cancel the child.
    CallCancel,
}

impl JobKind {
    /// `external` or `timer`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::External => "external",
            JobKind::Timer => "timer",
            JobKind::Message => "message",
            JobKind::CallStart => "call_start",
            JobKind::CallReturn => "call_return",
            JobKind::CallCancel => "call_cancel",
        }
    }
}

/// A job as its table shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Job id.
    pub id: JobId,
    /// Who runs it.
    pub kind: JobKind,
    /// The instance.
    pub instance: InstanceId,
    /// The node id.
    pub node: String,
    /// Worker topic (empty for timers).
    pub topic: String,
    /// Attempts left.
    pub retries: u32,
    /// Not to be fetched before.
    pub due_at: DateTime<Utc>,
}

/// A job that carries a cross-instance effect out of the commit that wrote it (the outbox): the
/// executor runs it in the other instance's own transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxJob {
    /// Job id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// The instance that wrote it.
    pub instance: InstanceId,
    /// The node that caused it.
    pub node: String,
    /// What the executor needs (JSON).
    pub payload: Value,
    /// When.
    pub due_at: DateTime<Utc>,
}

/// A waiting message catcher as its table shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// The instance.
    pub instance: InstanceId,
    /// The subscription within it.
    pub id: u32,
    /// The catching node.
    pub node: String,
    /// The message name.
    pub name: String,
    /// The correlation key, if any.
    pub correlation_key: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
}

/// A message as the `buffered_messages` table keeps it: buffered until a catcher takes it, or
/// recorded when it was correlated at once (its id is then known, so it is never applied
/// twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Unique message id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Correlation key, if any.
    pub correlation_key: Option<String>,
    /// Payload.
    pub payload: Map<String, Value>,
    /// When it came.
    pub created_at: DateTime<Utc>,
    /// Until when it waits for a catcher.
    pub expires_at: DateTime<Utc>,
    /// The instance that took it, once taken.
    pub consumed_by: Option<InstanceId>,
}

/// How a task or job left its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closed {
    /// Done.
    Completed,
    /// Ended without being done (terminate, cancel).
    Cancelled,
}

impl Closed {
    /// `completed` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Closed::Completed => "completed",
            Closed::Cancelled => "cancelled",
        }
    }
}

/// A change to a projection table, written in the same transaction as the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// An exchange message queued or linked (see `crate::exchange`).
    Exchange(crate::exchange::ExchangeEffect),
    /// Put a task in the queue.
    TaskCreated(TaskRecord),
    /// Set or clear a task's assignee.
    TaskAssigned {
        /// The task.
        task: TaskId,
        /// The new assignee.
        assignee: Option<String>,
    },
    /// Move an open task to another agency's queue (a transfer, or its return).
    TaskRerouted {
        /// The task.
        task: TaskId,
        /// The agency whose queue it goes to.
        agency: Option<String>,
    },
    /// Take a task out of the queue.
    TaskClosed {
        /// The task.
        task: TaskId,
        /// How.
        how: Closed,
    },
    /// Create a job.
    JobCreated(JobRecord),
    /// A job failed: release its lock, set retries and when it may run again.
    JobRetry {
        /// The job.
        job: JobId,
        /// Attempts left.
        retries: u32,
        /// Not before.
        due_at: DateTime<Utc>,
        /// The error.
        error: String,
    },
    /// Set or clear a task's SLA mark.
    TaskMarked {
        /// The task.
        task: TaskId,
        /// The mark.
        mark: crate::state::SlaMark,
    },
    /// Retries ran out.
    IncidentRaised {
        /// The job.
        job: JobId,
        /// The node.
        node: String,
        /// The error.
        message: String,
    },
    /// Schedule the next firing of a definition's timer start event.
    TimerStartScheduled {
        /// The new job.
        job: JobId,
        /// Definition key.
        key: String,
        /// Definition version.
        version: i32,
        /// The timer start event.
        node: String,
        /// Firings so far (for cycles with repetitions).
        fired: u32,
        /// When.
        due_at: DateTime<Utc>,
    },
    /// A person gave an incident's job new attempts.
    IncidentResolved {
        /// The job.
        job: JobId,
        /// Attempts given.
        retries: u32,
        /// Due again at.
        due_at: DateTime<Utc>,
    },
    /// Remove a job.
    JobClosed {
        /// The job.
        job: JobId,
        /// How.
        how: Closed,
    },
    /// Open a message subscription row.
    SubscriptionOpened(SubscriptionRecord),
    /// Remove a message subscription row.
    SubscriptionClosed {
        /// The instance.
        instance: InstanceId,
        /// The subscription.
        id: u32,
    },
    /// Record a message correlated at once (its row, already consumed): a second message with
    /// the same id is refused by the table's key.
    MessageRecorded(MessageRecord),
    /// Mark a buffered message consumed by `instance`; the commit fails when it was consumed
    /// already (or has expired).
    BufferedConsumed {
        /// The message.
        message: String,
        /// The instance taking it.
        instance: InstanceId,
    },
    /// Write an outbox job.
    Outbox(OutboxJob),
    /// A dossier row, document or applicant document (see [`crate::dossier`]).
    Dossier(crate::dossier::DossierEffect),
    /// A directive, assignment, report or extension row (see [`crate::directive`]).
    Directive(crate::directive::DirectiveEffect),
}

/// What a step produced: the new state, the journal events and the projection effects. The store
/// writes all three in one transaction, or nothing.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Transition {
    /// The new state (version already incremented).
    pub state: InstanceState,
    /// New journal events, in order.
    pub events: Vec<Event>,
    /// Projection changes.
    pub effects: Vec<Effect>,
}
