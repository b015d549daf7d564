//! The store: where state, journal, task queue and jobs live. One trait, one error type; the
//! backends (SQLite now, PostgreSQL next) box their own errors inside [`StoreError`].
//!
//! Every write goes through [`Store::commit`], which writes an instance's new state, its journal
//! events, its projection effects and the idempotency record in ONE transaction, or nothing, and
//! refuses with [`StoreError::VersionConflict`] when the instance moved on since it was read.

pub mod any;
pub mod postgres;
pub mod sqlite;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::chain::SealedEvent;
use crate::checkpoint::{CheckpointRecord, Coverage, Head};
use crate::command::{Effect, JobRecord, MessageRecord, TaskRecord};
use crate::dossier::{
    ApplicantDocument, ApplicantKind, DocumentRecord, DossierRecord, SignatureRecord,
};
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
    /// The store cannot be opened as configured (e.g. a URL of an unknown kind).
    #[error("store configuration: {0}")]
    Config(String),
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
    /// The agency owning the process (motcua `agency`), copied to its instances.
    pub agency: Option<String>,
    /// The first firing of each timer start event: (node id, due).
    pub timer_starts: Vec<(String, DateTime<Utc>)>,
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

/// One form of a deployment (a `.form` file: the JSON schema as deployed), ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewForm {
    /// Form id.
    pub id: String,
    /// The file it came from.
    pub resource: String,
    /// The JSON as deployed.
    pub schema: String,
    /// SHA-256 of the file, hex: identical to the latest version's means no new version.
    pub checksum: String,
}

/// A stored form version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRecord {
    /// Form id.
    pub id: String,
    /// Version, from 1.
    pub version: i32,
    /// File name.
    pub resource: String,
    /// The JSON as deployed.
    pub schema: String,
    /// SHA-256 of the file, hex.
    pub checksum: String,
    /// The deployment that made it.
    pub deployment: String,
}

/// What deploying one form did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedForm {
    /// The stored version.
    pub form: FormRecord,
    /// False when identical content was already the latest version.
    pub created: bool,
}

/// What a deployment stored: its processes and its forms (one transaction).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deployment {
    /// The processes, in the order given.
    pub definitions: Vec<Deployed>,
    /// The forms, in the order given.
    pub forms: Vec<DeployedForm>,
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
    /// The same events as stored: their text and chain hashes ([`crate::chain::seal`]).
    pub sealed: &'a [SealedEvent],
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
    /// The event's text exactly as stored (what the chain hashes).
    pub data: String,
    /// The row's chain hash (`None` for rows written before the chain existed).
    pub hash: Option<String>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    /// Only tasks a member of this candidate group may work.
    pub candidate_group: Option<String>,
    /// Only tasks assigned to this user.
    pub assignee: Option<String>,
    /// Only tasks of this agency (tasks without an agency never match). The HTTP API sets it
    /// from a civil servant's token, so a servant never reads another agency's queue.
    pub agency: Option<String>,
    /// Only tasks this user may work (see [`Workable`]).
    pub workable_by: Option<Workable>,
    /// Only tasks of this instance.
    pub instance: Option<InstanceId>,
    /// Include completed and cancelled tasks too (default: open only).
    pub include_closed: bool,
    /// Only tasks due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks of this procedure (definition key).
    pub definition_key: Option<String>,
    /// Only tasks whose name contains this text (case-insensitive where the database folds
    /// case; always as written).
    pub name_contains: Option<String>,
    /// Only tasks strictly after this position in creation order (cursor paging; only with
    /// [`TaskSort::Created`]).
    pub after: Option<TaskCursor>,
    /// Only overdue tasks (`Some(true)`) or only tasks not overdue (`Some(false)`).
    pub overdue: Option<bool>,
    /// Order: oldest first (default) or by due date (undated last).
    pub sort: TaskSort,
    /// Page size (default 50, at most 1,000).
    pub limit: Option<u32>,
    /// Skip this many (offset paging).
    pub offset: Option<u32>,
}

/// A position in the task queue's creation order: `(created_at, id)` of the last task read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskCursor {
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// The task.
    pub id: TaskId,
}

impl TaskCursor {
    /// The cursor just after `task`.
    pub fn after(task: &TaskRecord) -> Self {
        TaskCursor {
            created_at: task.created_at,
            id: task.id,
        }
    }

    /// An opaque token: hex of `<created_at RFC 3339>|<task id>`.
    pub fn encode(&self) -> String {
        let text = format!(
            "{}|{}",
            self.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.id
        );
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a token made by [`TaskCursor::encode`]; `None` when it is malformed.
    pub fn decode(token: &str) -> Option<Self> {
        if !token.len().is_multiple_of(2) || !token.is_ascii() {
            return None;
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&token[i..i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('|')?;
        Some(TaskCursor {
            created_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            id: id.parse().ok()?,
        })
    }
}

/// Who may work a task: a task matches when it is assigned to `user`, names `user` among its
/// candidate users, or offers itself to at least one of `groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workable {
    /// The user.
    pub user: String,
    /// The user's candidate groups (may be empty).
    pub groups: Vec<String>,
}

impl Workable {
    /// Whether `task` matches, by the same rule the stores apply in SQL.
    pub fn matches(&self, task: &TaskRecord) -> bool {
        task.assignee.as_deref() == Some(self.user.as_str())
            || task.candidate_users.contains(&self.user)
            || task
                .candidate_groups
                .iter()
                .any(|g| self.groups.contains(g))
    }
}

/// The order of a task list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskSort {
    /// Oldest first.
    #[default]
    Created,
    /// Earliest due date first; tasks without a due date last.
    Due,
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
    /// Marked "due soon" by its SLA timer.
    pub due_soon: bool,
    /// Marked overdue by its SLA timer.
    pub overdue: bool,
}

/// A job locked for an external worker.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedJob {
    /// The job.
    pub record: JobRecord,
    /// The instance's variables when it was fetched.
    pub lock_expires_at: DateTime<Utc>,
}

/// A job claimed by the job executor.
#[derive(Debug, Clone, PartialEq)]
pub struct DueJob {
    /// The job.
    pub id: JobId,
    /// `external`, `timer` or `timer_start`.
    pub kind: String,
    /// The instance (none for a timer start).
    pub instance: Option<InstanceId>,
    /// The definition of a timer start.
    pub definition: Option<(String, i32)>,
    /// The node.
    pub node: String,
    /// The topic (external jobs).
    pub topic: String,
    /// Attempts left.
    pub retries: u32,
    /// Firings so far (timer starts).
    pub fired: u32,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// What an outbox job carries (JSON).
    pub payload: Option<String>,
}

/// What one cleanup batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Instances.
    pub instances: u64,
    /// Journal events.
    pub events: u64,
    /// Tasks.
    pub tasks: u64,
    /// Jobs.
    pub jobs: u64,
    /// Idempotency records.
    pub idempotency: u64,
}

impl Removed {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: Removed) {
        self.instances += other.instances;
        self.events += other.events;
        self.tasks += other.tasks;
        self.jobs += other.jobs;
        self.idempotency += other.idempotency;
    }

    /// Whether the batch removed nothing.
    pub fn is_empty(&self) -> bool {
        *self == Removed::default()
    }
}

/// An operator schedule (cron).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    /// Unique name.
    pub name: String,
    /// Cron expression (Asia/Ho_Chi_Minh).
    pub cron: String,
    /// The registered handler it runs.
    pub handler: String,
    /// The next fire.
    pub next_due: DateTime<Utc>,
}

/// One recorded run of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRun {
    /// Schedule name.
    pub name: String,
    /// The fire it was for.
    pub due_at: DateTime<Utc>,
    /// When it ran.
    pub ran_at: DateTime<Utc>,
    /// Which runner.
    pub runner: String,
    /// The handler's result.
    pub result: Value,
}

/// An incident: a job whose retries ran out.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    /// The job.
    pub job: JobId,
    /// The instance (none for a timer start event's job).
    pub instance: Option<InstanceId>,
    /// The node.
    pub node: String,
    /// The last error.
    pub message: String,
    /// When raised.
    pub created_at: DateTime<Utc>,
}

/// Which feed events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events of instances of this agency's processes.
    pub agency: Option<String>,
    /// Only events of instances of this definition key.
    pub definition_key: Option<String>,
    /// Only events of these kinds (`task_created`, ...).
    pub kinds: Option<Vec<String>>,
}

/// A journal event as the global feed shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// The global feed number: readers see these without gaps (see [`Store::feed`]).
    pub seq: i64,
    /// The instance.
    pub instance: InstanceId,
    /// Its definition key.
    pub definition_key: String,
    /// Its process's agency, if the process names one.
    pub agency: Option<String>,
    /// Event kind.
    pub kind: String,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Option<String>,
    /// The event's JSON (as stored in the journal).
    pub event: Value,
}

/// An outbound webhook subscription with its delivery state (see `crate::webhooks`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    /// Its id (a UUID, text).
    pub id: String,
    /// Where events are posted (`http://...`).
    pub url: String,
    /// The HMAC-SHA256 key the bodies are signed with.
    pub secret: String,
    /// Only events of these kinds (`None`: all).
    pub kinds: Option<Vec<String>>,
    /// Only events of this agency's instances.
    pub agency: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The last feed number the receiver acknowledged (a 2xx).
    pub cursor: i64,
    /// Failed attempts in a row (0: healthy).
    pub attempts: u32,
    /// When delivery is tried next.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, while failing.
    pub last_error: Option<String>,
}

/// What a delivery loop writes back for a subscription it leased.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookProgress {
    /// The last feed number acknowledged.
    pub cursor: i64,
    /// Failed attempts in a row.
    pub attempts: u32,
    /// When to try next.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Whether to give the lease back (false: keep delivering under it).
    pub release: bool,
}

/// Which instances statistics count.
#[derive(Debug, Clone)]
pub struct StatsFilter {
    /// Start of the period (inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// Only this agency.
    pub agency: Option<String>,
    /// Only this procedure (definition key).
    pub definition_key: Option<String>,
}

/// Counts for one agency and procedure (or a sum of several). See [`Store::statistics`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsRow {
    /// The agency (`None`: processes that name none, or a sum over agencies).
    pub agency: Option<String>,
    /// The procedure (`None` in sums over procedures).
    pub definition_key: Option<String>,
    /// Instances started in the period.
    pub received: u64,
    /// Instances active now.
    pub in_progress: u64,
    /// Completed in the period, not after their due date (or without one); includes `done_early`.
    pub done_on_time: u64,
    /// Completed in the period on a day (Vietnam time) before their due date's day.
    pub done_early: u64,
    /// Completed in the period after their due date.
    pub done_late: u64,
    /// Active now and past their due date.
    pub overdue: u64,
}

impl StatsRow {
    /// On time / (on time + late), or `None` when nothing was completed.
    pub fn on_time_rate(&self) -> Option<f64> {
        let done = self.done_on_time + self.done_late;
        (done > 0).then(|| self.done_on_time as f64 / done as f64)
    }

    /// Adds another row's counts.
    pub fn add(&mut self, other: &StatsRow) {
        self.received += other.received;
        self.in_progress += other.in_progress;
        self.done_on_time += other.done_on_time;
        self.done_early += other.done_early;
        self.done_late += other.done_late;
        self.overdue += other.overdue;
    }
}

/// Merges the backends' grouped counts into one row per (agency, procedure), sorted.
pub(crate) fn merge_stats(
    parts: impl IntoIterator<Item = (Option<String>, String, StatsRow)>,
) -> Vec<StatsRow> {
    let mut rows: std::collections::BTreeMap<(Option<String>, String), StatsRow> =
        std::collections::BTreeMap::new();
    for (agency, key, counts) in parts {
        let row = rows
            .entry((agency.clone(), key.clone()))
            .or_insert_with(|| StatsRow {
                agency,
                definition_key: Some(key),
                ..StatsRow::default()
            });
        row.add(&counts);
    }
    rows.into_values().collect()
}

/// The columns of `dossier_signatures`, in [`SignatureRecord`]'s order (both backends).
pub(crate) const SIGNATURE_COLUMNS: &str = "id, dossier_code, slot, version, document_sha256, \
     signature_sha256, signer_subject, signer_serial, signer_issuer, fingerprint, signer_user, \
     signer_agency, signing_time, server_side, added_at, added_by";

/// The storage interface the engine needs. Backends must not depend on each other.
pub trait Store: Send + Sync + 'static {
    /// Stores the processes and forms of one deployment atomically: per key (per form id),
    /// identical content to the latest version returns that version; otherwise version n+1 is
    /// created.
    fn deploy(
        &self,
        name: &str,
        definitions: &[NewDefinition],
        forms: &[NewForm],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Deployment, StoreError>> + Send;

    /// One form: the given version, or the latest.
    fn form(
        &self,
        id: &str,
        version: Option<i32>,
    ) -> impl Future<Output = Result<Option<FormRecord>, StoreError>> + Send;

    /// A dossier by code.
    fn dossier(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Option<DossierRecord>, StoreError>> + Send;

    /// Up to `limit` chain heads not yet covered by a checkpoint, by instance id.
    fn unchecked_heads(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Head>, StoreError>> + Send;

    /// The latest checkpoint.
    fn last_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<CheckpointRecord>, StoreError>> + Send;

    /// Writes a checkpoint and its leaves and marks the heads covered, in one transaction;
    /// [`StoreError::Duplicate`] when a checkpoint with its id exists already.
    fn insert_checkpoint(
        &self,
        record: &CheckpointRecord,
        heads: &[Head],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The checkpoints covering an instance, oldest first.
    fn checkpoints_of(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<Coverage>, StoreError>> + Send;

    /// A checkpoint's heads in leaf order.
    fn checkpoint_leaves(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Vec<Head>, StoreError>> + Send;

    /// The next dossier number of an agency's day (`YYMMDD`), as read now: one more than the
    /// last taken. The start commit takes it or fails with a version conflict.
    fn next_dossier_number(
        &self,
        agency: &str,
        day: &str,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The dossier of an instance.
    fn dossier_by_instance(
        &self,
        instance: InstanceId,
    ) -> impl Future<Output = Result<Option<DossierRecord>, StoreError>> + Send;

    /// The dossiers an agency received in `[from, to)`, in order of receipt (the tracking
    /// register, form 06 of Circular 01/2018).
    fn dossiers_received(
        &self,
        agency: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DossierRecord>, StoreError>> + Send;

    /// Every document version of a dossier, by slot then version.
    fn dossier_documents(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send;

    /// Every stored signature of a dossier, oldest first.
    fn dossier_signatures(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Vec<SignatureRecord>, StoreError>> + Send;

    /// Every transfer of a dossier, oldest first.
    fn dossier_transfers(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Vec<crate::dossier::TransferRecord>, StoreError>> + Send;

    /// A transfer by id.
    fn transfer(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<crate::dossier::TransferRecord>, StoreError>> + Send;

    /// Directive assignments (joined with their directive) matching the filter, oldest first.
    fn directive_assignments(
        &self,
        filter: &crate::directive::AssignmentFilter,
    ) -> impl Future<Output = Result<Vec<crate::directive::AssignmentRecord>, StoreError>> + Send;

    /// An assignment's progress reports, oldest first.
    fn directive_reports(
        &self,
        assignment: &str,
    ) -> impl Future<Output = Result<Vec<crate::directive::ReportRecord>, StoreError>> + Send;

    /// An assignment's extension requests, oldest first.
    fn directive_extensions(
        &self,
        assignment: &str,
    ) -> impl Future<Output = Result<Vec<crate::directive::ExtensionRecord>, StoreError>> + Send;

    /// An assignment's documents (its own and its reports'), oldest first.
    fn directive_documents(
        &self,
        assignment: &str,
    ) -> impl Future<Output = Result<Vec<crate::directive::DirectiveDocumentRecord>, StoreError>> + Send;

    /// An applicant's certified documents, oldest first.
    fn applicant_documents(
        &self,
        kind: ApplicantKind,
        id: &str,
    ) -> impl Future<Output = Result<Vec<ApplicantDocument>, StoreError>> + Send;

    /// One applicant document.
    fn applicant_document(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ApplicantDocument>, StoreError>> + Send;

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

    /// Records the answer to a keyed request that is not an instance command (fetch-and-lock);
    /// an existing record for the key is kept.
    fn record_idempotent(
        &self,
        record: &IdempotencyRecord,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes one command's result atomically (see the module comment).
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists tasks.
    fn tasks(
        &self,
        query: &TaskQuery,
    ) -> impl Future<Output = Result<Vec<TaskRow>, StoreError>> + Send;

    /// How many tasks `query` matches (its filters; sort and paging are ignored).
    fn count_tasks(
        &self,
        query: &TaskQuery,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

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

    /// One job's row, claimed or not.
    fn job(&self, id: JobId) -> impl Future<Output = Result<Option<DueJob>, StoreError>> + Send;

    /// Leases up to `max` due jobs for the executor: timers, timer starts and the external jobs
    /// of `topics` (served by in-process handlers).
    fn claim_due_jobs(
        &self,
        worker: &str,
        topics: &[String],
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DueJob>, StoreError>> + Send;

    /// The instance holding the oldest message subscription of `name` with `key` (`""`: no
    /// key), if any.
    fn oldest_subscription(
        &self,
        name: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<InstanceId>, StoreError>> + Send;

    /// Buffers a message nobody waits for; false (nothing written) when a message with its id
    /// was buffered or taken already.
    fn buffer_message(
        &self,
        message: &MessageRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A message, buffered or taken, by id.
    fn message(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<MessageRecord>, StoreError>> + Send;

    /// Up to `limit` buffered messages, unexpired at `now`, that a waiting subscription
    /// matches (of `instance` only, when given), oldest message first, with that
    /// subscription's instance.
    fn deliverable_messages(
        &self,
        instance: Option<InstanceId>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(InstanceId, MessageRecord)>, StoreError>> + Send;

    /// Closes an open job whose effect was applied elsewhere (an outbox job); false when it
    /// was not open.
    fn close_job(&self, job: JobId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes buffered messages that expired before `before` (taken ones stay: their ids
    /// keep a message from being applied twice).
    fn remove_expired_messages(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Fires a timer start: writes the new instance (as [`Store::commit`]) and, in the same
    /// transaction, closes the job — unless it is no longer open, in which case nothing is
    /// written and `false` is returned.
    fn commit_timer_start(
        &self,
        job: JobId,
        commit: Commit<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a failed attempt of a job that belongs to no instance (a timer start): fewer
    /// retries and a later due time, or an incident at zero.
    fn fail_unowned_job(
        &self,
        job: JobId,
        error: &str,
        retries: u32,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives an unowned job's incident new attempts.
    fn retry_unowned_job(
        &self,
        job: JobId,
        retries: u32,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds or replaces a schedule.
    fn put_schedule(
        &self,
        schedule: &ScheduleRow,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a schedule; false when there was none.
    fn remove_schedule(&self, name: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every schedule.
    fn schedules(&self) -> impl Future<Output = Result<Vec<ScheduleRow>, StoreError>> + Send;

    /// Leases up to `max` due schedules.
    fn claim_due_schedules(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ScheduleRow>, StoreError>> + Send;

    /// Records a schedule's run for `due_at` and moves it to `next_due`, in one transaction.
    /// Returns false (and writes nothing) when that fire was already recorded by another runner.
    fn record_schedule_run(
        &self,
        run: &ScheduleRun,
        next_due: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The recorded runs of a schedule, newest first.
    fn schedule_runs(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ScheduleRun>, StoreError>> + Send;

    /// Removes up to `batch` instances that ended before `before`, with their journal, tasks,
    /// jobs and incidents, and idempotency records older than `before`. Each batch is one
    /// transaction driven by indexes; call it until it removes nothing.
    fn remove_finished(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> impl Future<Output = Result<Removed, StoreError>> + Send;

    /// Open tasks marked overdue, counted by agency and candidate group (for reports).
    fn overdue_counts(
        &self,
    ) -> impl Future<Output = Result<Vec<(Option<String>, String, i64)>, StoreError>> + Send;

    /// Up to `limit` feed events with `seq > after`, oldest first. A reader that has seen
    /// every event up to N never later finds one numbered N or less: numbers are given in
    /// commit order (each backend's module comment says how).
    fn feed(
        &self,
        after: i64,
        limit: u32,
        filter: &EventFilter,
    ) -> impl Future<Output = Result<Vec<FeedEvent>, StoreError>> + Send;

    /// Counts by agency and procedure: received in the period, active now, completed in the
    /// period on time / early / late, active and overdue at `now`. Index queries on the
    /// instances' `started_at`, `status`, `ended_at` and `due_at` columns.
    fn statistics(
        &self,
        filter: &StatsFilter,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<StatsRow>, StoreError>> + Send;

    /// Adds a webhook subscription. With `row.cursor` negative the cursor starts at the feed's
    /// current end (only events after now are delivered).
    fn put_webhook(&self, row: &WebhookRow) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The active webhook subscriptions, oldest first.
    fn webhooks(&self) -> impl Future<Output = Result<Vec<WebhookRow>, StoreError>> + Send;

    /// Deactivates a subscription; false when there was no active one.
    fn remove_webhook(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Leases up to `max` active subscriptions due at `now` (not leased, or lease expired)
    /// until `until`.
    fn claim_due_webhooks(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<WebhookRow>, StoreError>> + Send;

    /// Writes a leased subscription's progress; false (and nothing written) when `worker` no
    /// longer holds its lease.
    fn record_webhook(
        &self,
        id: &str,
        worker: &str,
        progress: &WebhookProgress,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The exchange messages queued for a dossier, oldest first.
    fn exchange_outbox(
        &self,
        dossier_code: &str,
    ) -> impl Future<Output = Result<Vec<crate::exchange::OutboxRow>, StoreError>> + Send;

    /// The exchange messages sent and received for a dossier, oldest first.
    fn exchange_links(
        &self,
        dossier_code: &str,
    ) -> impl Future<Output = Result<Vec<crate::exchange::LinkRow>, StoreError>> + Send;

    /// The link of one message, if it was sent or applied here.
    fn exchange_link(
        &self,
        message_id: &str,
    ) -> impl Future<Output = Result<Option<crate::exchange::LinkRow>, StoreError>> + Send;

    /// Leases up to `max` undelivered messages due at `now` (not leased, or lease expired)
    /// until `until`, oldest first.
    fn claim_due_exchange(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<crate::exchange::OutboxRow>, StoreError>> + Send;

    /// Writes a leased message's delivery attempt and releases the lease; false (and nothing
    /// written) when `worker` no longer holds it.
    fn record_exchange(
        &self,
        id: &str,
        worker: &str,
        progress: &crate::exchange::DeliveryProgress,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
