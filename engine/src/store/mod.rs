//! The store: where state, journal, task queue and jobs live. One trait, one error type; the
//! backends (SQLite now, PostgreSQL next) box their own errors inside [`StoreError`].
//!
//! Every write goes through [`Store::commit`], which writes an instance's new state, its journal
//! events, its projection effects and the idempotency record in ONE transaction, or nothing, and
//! refuses with [`StoreError::VersionConflict`] when the instance moved on since it was read.

pub mod sqlite;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::command::{Effect, JobRecord, TaskRecord};
use crate::event::Event;
use crate::ids::{InstanceId, JobId, TaskId};
use crate::state::InstanceState;

/// A store failure. Backend details are boxed inside and never shown to API clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The instance's version moved on since it was read (optimistic concurrency).
    #[error("the instance was changed concurrently")]
    VersionConflict,
    /// A unique constraint refused a row (e.g. an idempotency key or a definition version).
    #[error("a row with the same {0} exists already")]
    Duplicate(String),
    /// Stored data could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database said no.
    #[error("database error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One BPMN process of a deployment, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewDefinition {
    /// Process id.
    pub key: String,
    /// Process name.
    pub name: Option<String>,
    /// The file it came from.
    pub resource: String,
    /// SHA-256 of the file's bytes, hex.
    pub checksum: String,
    /// The file's text.
    pub xml: String,
}

/// A stored definition version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRecord {
    /// Process id.
    pub key: String,
    /// Version, from 1.
    pub version: i32,
    /// Process name.
    pub name: Option<String>,
    /// File name.
    pub resource: String,
    /// SHA-256 of the file, hex.
    pub checksum: String,
    /// The deployment that made it.
    pub deployment: String,
    /// When.
    pub deployed_at: DateTime<Utc>,
}

/// What deploying one process did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The stored version.
    pub definition: DefinitionRecord,
    /// False when identical content was already the latest version (nothing new was stored).
    pub created: bool,
}

/// The idempotency record written with a command.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// The caller's key.
    pub key: String,
    /// SHA-256 of the command, so a key reused for another command is caught.
    pub fingerprint: String,
    /// The first answer, returned again on a retry.
    pub response: Value,
}

/// Everything one command writes, in one transaction.
#[derive(Debug, Clone)]
pub struct Commit<'a> {
    /// The version read before the step; `None` for a new instance.
    pub expected_version: Option<i64>,
    /// The new state.
    pub state: &'a InstanceState,
    /// New journal events (their sequence numbers follow the state's previous `journal_seq`).
    pub events: &'a [Event],
    /// Projection changes.
    pub effects: &'a [Effect],
    /// Who did it, for the journal.
    pub actor: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
    /// The idempotency record, if the command had a key.
    pub idempotency: Option<IdempotencyRecord>,
}

/// A stored instance.
#[derive(Debug, Clone)]
pub struct StoredInstance {
    /// The state.
    pub state: InstanceState,
}

/// A journal entry as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Sequence number within the instance, from 1.
    pub seq: i64,
    /// Event kind.
    pub kind: String,
    /// Who.
    pub actor: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The event.
    pub event: Event,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    /// Only tasks a member of this candidate group may work.
    pub candidate_group: Option<String>,
    /// Only tasks assigned to this user.
    pub assignee: Option<String>,
    /// Only tasks of this instance.
    pub instance: Option<InstanceId>,
    /// Include completed and cancelled tasks too (default: open only).
    pub include_closed: bool,
    /// Page size (default 50, at most 1,000).
    pub limit: Option<u32>,
    /// Skip this many (offset paging).
    pub offset: Option<u32>,
}

/// A task as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// The task.
    pub record: TaskRecord,
    /// `open`, `completed` or `cancelled`.
    pub state: String,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A job locked for an external worker.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedJob {
    /// The job.
    pub record: JobRecord,
    /// The instance's variables when it was fetched.
    pub lock_expires_at: DateTime<Utc>,
}

/// An incident: a job whose retries ran out.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    /// The job.
    pub job: JobId,
    /// The instance.
    pub instance: InstanceId,
    /// The node.
    pub node: String,
    /// The last error.
    pub message: String,
    /// When raised.
    pub created_at: DateTime<Utc>,
}

/// The storage interface the engine needs. Backends must not depend on each other.
pub trait Store: Send + Sync + 'static {
    /// Stores the processes of one deployment atomically: per key, identical content to the
    /// latest version returns that version; otherwise version n+1 is created.
    fn deploy(
        &self,
        name: &str,
        definitions: &[NewDefinition],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Deployed>, StoreError>> + Send;

    /// Every stored definition version, by key then version.
    fn definitions(&self)
        -> impl Future<Output = Result<Vec<DefinitionRecord>, StoreError>> + Send;

    /// One definition's record and XML: the given version, or the latest.
    fn definition(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> impl Future<Output = Result<Option<(DefinitionRecord, String)>, StoreError>> + Send;

    /// One definition's record without its XML: the given version, or the latest.
    fn definition_record(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> impl Future<Output = Result<Option<DefinitionRecord>, StoreError>> + Send;

    /// An instance's state.
    fn instance(
        &self,
        id: InstanceId,
    ) -> impl Future<Output = Result<Option<StoredInstance>, StoreError>> + Send;

    /// The instance a task belongs to.
    fn task_instance(
        &self,
        task: TaskId,
    ) -> impl Future<Output = Result<Option<InstanceId>, StoreError>> + Send;

    /// The instance a job belongs to and the worker holding its lock (if the lock is live at
    /// `now`).
    fn job_instance(
        &self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<(InstanceId, Option<String>)>, StoreError>> + Send;

    /// The recorded answer to an idempotency key: `(fingerprint, response)`.
    fn idempotent(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(String, Value)>, StoreError>> + Send;

    /// Writes one command's result atomically (see the module comment).
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists tasks.
    fn tasks(
        &self,
        query: &TaskQuery,
    ) -> impl Future<Output = Result<Vec<TaskRow>, StoreError>> + Send;

    /// One task.
    fn task(&self, id: TaskId) -> impl Future<Output = Result<Option<TaskRow>, StoreError>> + Send;

    /// An instance's journal, in order.
    fn journal(
        &self,
        id: InstanceId,
    ) -> impl Future<Output = Result<Vec<JournalEntry>, StoreError>> + Send;

    /// Locks up to `max` due, unlocked (or lock-expired) jobs of `topic` for `worker` until
    /// `until`.
    fn lock_jobs(
        &self,
        topic: &str,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LockedJob>, StoreError>> + Send;

    /// Open incidents.
    fn incidents(&self) -> impl Future<Output = Result<Vec<IncidentRow>, StoreError>> + Send;
}
