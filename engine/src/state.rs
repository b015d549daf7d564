//! An instance's live state: one row per instance, O(active tokens), never O(history).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{DefinitionRef, InstanceId, JobId, TaskId};

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Has tokens that wait.
    Active,
    /// Every token reached an end (or a terminate end event ended it).
    Completed,
    /// Cancelled by a person.
    Cancelled,
}

impl InstanceStatus {
    /// The status as stored and shown (`active`, `completed`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Active => "active",
            InstanceStatus::Completed => "completed",
            InstanceStatus::Cancelled => "cancelled",
        }
    }
}

/// What a waiting token waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "wait", rename_all = "snake_case")]
pub enum Wait {
    /// A person to complete a user task.
    UserTask {
        /// The task in the queue.
        task: TaskId,
        /// Who claimed it, if anyone.
        assignee: Option<String>,
        /// Set while the task is delegated: who delegated it and gets it back on resolve
        /// (Camunda's owner). A delegated task cannot be completed before it is resolved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
    /// An external worker to complete a job.
    Job {
        /// The job.
        job: JobId,
        /// Attempts left.
        retries: u32,
        /// Set when retries ran out: a person must look.
        incident: bool,
    },
    /// The other branches of a joining gateway.
    Join {
        /// The sequence flow this token arrived by.
        flow: String,
    },
    /// The tokens of the embedded sub-process this token entered (their `parent` is this token).
    SubProcess,
    /// An intermediate timer catch event's timer.
    Timer {
        /// The timer's job.
        job: JobId,
    },
    /// A message (intermediate message catch event or receive task).
    Message {
        /// The subscription (in [`InstanceState::subscriptions`]).
        subscription: u32,
    },
    /// The first of the events after an event-based gateway (their subscriptions and timers
    /// belong to this token).
    EventGateway,
    /// The child instance of a call activity to end.
    CallActivity {
        /// The child instance.
        child: InstanceId,
    },
}

/// A message catcher that waits: the catch event or receive task its token rests at, a
/// boundary event of that token's activity, or an event after an event-based gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Unique within the instance (from the instance's counter).
    pub id: u32,
    /// The token it belongs to.
    pub token: u32,
    /// The catching node (catch event, receive task or boundary event).
    pub node: String,
    /// The message name.
    pub name: String,
    /// The correlation key's value when the catcher was entered, if it has one.
    pub correlation_key: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
}

/// The call activity that started an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalledBy {
    /// The parent instance.
    pub instance: InstanceId,
    /// The call activity's node in the parent.
    pub node: String,
}

/// What an armed timer does when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "armed", rename_all = "snake_case")]
pub enum ArmedKind {
    /// A boundary timer event of the activity its token waits at.
    Boundary {
        /// The boundary event's id.
        node: String,
    },
    /// A timer catch event after an event-based gateway (the gateway's token owns it).
    Gateway {
        /// The timer catch event's id.
        node: String,
    },
    /// A service-level mark on a task (or, without a task, on the instance).
    Sla {
        /// The task, or `None` for the instance's own SLA.
        task: Option<TaskId>,
        /// Which mark.
        mark: SlaMark,
        /// The due date the mark is about.
        deadline: DateTime<Utc>,
    },
}

/// Service-level marks set by the SLA timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMark {
    /// The due date is near (by default one working day before).
    DueSoon,
    /// The due date has passed.
    Overdue,
}

impl SlaMark {
    /// `due_soon` or `overdue`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaMark::DueSoon => "due_soon",
            SlaMark::Overdue => "overdue",
        }
    }
}

/// A timer armed for a waiting token (or for the instance): a job row is due at `due_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmedTimer {
    /// The job that fires it.
    pub job: JobId,
    /// The token it belongs to; `None` for the instance's own SLA.
    pub token: Option<u32>,
    /// What it does.
    #[serde(flatten)]
    pub kind: ArmedKind,
    /// When it was first armed (cycles count from here).
    pub armed_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// How many times it fired already (cycles).
    pub fired: u32,
}

/// A token resting at a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Unique within the instance.
    pub id: u32,
    /// The BPMN id of the node it rests at.
    pub node: String,
    /// The token waiting at the enclosing sub-process node, if inside one.
    pub parent: Option<u32>,
    /// What it waits for.
    #[serde(flatten)]
    pub wait: Wait,
}

/// The whole live state of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    /// The instance.
    pub id: InstanceId,
    /// The definition version it runs on (until explicitly migrated).
    pub definition: DefinitionRef,
    /// The caller's key (e.g. a dossier code), if any.
    pub business_key: Option<String>,
    /// Active, completed or cancelled.
    pub status: InstanceStatus,
    /// Process variables.
    pub variables: Map<String, Value>,
    /// Waiting tokens.
    pub tokens: Vec<Token>,
    /// Timers armed for waiting tokens (boundary events, SLA marks).
    #[serde(default)]
    pub timers: Vec<ArmedTimer>,
    /// Message catchers that wait.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    /// The call activity that started this instance, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_by: Option<CalledBy>,
    /// When the instance is due by its process SLA, if it has one.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// Counter for token, task and job numbers; ids derive from it deterministically.
    pub next_id: u32,
    /// Optimistic-concurrency version: every committed command adds one.
    pub version: i64,
    /// Sequence number of the last journal event.
    pub journal_seq: i64,
    /// The hash of the last journal event (the head of the instance's hash chain, see
    /// [`crate::chain`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_head: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it completed or was cancelled.
    pub ended_at: Option<DateTime<Utc>>,
}

impl InstanceState {
    /// The token waiting at a task, if the task is open.
    pub fn task_token(&self, task: TaskId) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| matches!(&t.wait, Wait::UserTask { task: id, .. } if *id == task))
    }

    /// The token waiting for a job, if the job is open.
    pub fn job_token(&self, job: JobId) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| matches!(&t.wait, Wait::Job { job: id, .. } if *id == job))
    }
}
