//! [`AnyStore`]: one of the backends, chosen at run time by the database URL, so the CLI and the
//! server need one `Engine<AnyStore>` type whatever the database. It only delegates; it knows no
//! SQL, and the backends still do not know each other.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::postgres::{PostgresConfig, PostgresStore};
use super::sqlite::{Durability, SqliteConfig, SqliteStore};
use super::{
    Commit, DefinitionRecord, Deployment, DueJob, EventFilter, FeedEvent, FormRecord, IncidentRow,
    JournalEntry, LockedJob, NewDefinition, NewForm, Removed, ScheduleRow, ScheduleRun,
    StatsFilter, StatsRow, Store, StoreError, StoredInstance, TaskQuery, TaskRow, WebhookProgress,
    WebhookRow,
};
use crate::checkpoint::{CheckpointRecord, Coverage, Head};
use crate::command::MessageRecord;
use crate::dossier::{ApplicantDocument, ApplicantKind, DocumentRecord, DossierRecord};
use crate::ids::{InstanceId, JobId, TaskId};

/// A store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// An embedded SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens the store a URL names: `sqlite:...` (with `sqlite_durability`) or
    /// `postgres://...` / `postgresql://...` (default pool). Any other URL is a
    /// [`StoreError::Config`].
    pub async fn open(url: &str, sqlite_durability: Durability) -> Result<AnyStore, StoreError> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => {
                let config = SqliteConfig {
                    durability: sqlite_durability,
                    ..SqliteConfig::new(url)
                };
                Ok(AnyStore::Sqlite(SqliteStore::open(&config).await?))
            }
            Some("postgres" | "postgresql") => Ok(AnyStore::Postgres(
                PostgresStore::open(&PostgresConfig::new(url)).await?,
            )),
            _ => Err(StoreError::Config(format!(
                "'{url}' is not a database URL motcua knows: use sqlite://<file> or \
                 postgres://<user>@<host>/<database>"
            ))),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

impl From<PostgresStore> for AnyStore {
    fn from(store: PostgresStore) -> Self {
        AnyStore::Postgres(store)
    }
}

/// Calls the same method on whichever backend `$self` holds.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn deploy(
        &self,
        name: &str,
        definitions: &[NewDefinition],
        forms: &[NewForm],
        at: DateTime<Utc>,
    ) -> Result<Deployment, StoreError> {
        delegate!(self, s => s.deploy(name, definitions, forms, at))
    }

    async fn form(&self, id: &str, version: Option<i32>) -> Result<Option<FormRecord>, StoreError> {
        delegate!(self, s => s.form(id, version))
    }

    async fn dossier(&self, code: &str) -> Result<Option<DossierRecord>, StoreError> {
        delegate!(self, s => s.dossier(code))
    }

    async fn unchecked_heads(&self, limit: i64) -> Result<Vec<Head>, StoreError> {
        delegate!(self, s => s.unchecked_heads(limit))
    }

    async fn last_checkpoint(&self) -> Result<Option<CheckpointRecord>, StoreError> {
        delegate!(self, s => s.last_checkpoint())
    }

    async fn insert_checkpoint(
        &self,
        record: &CheckpointRecord,
        heads: &[Head],
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_checkpoint(record, heads))
    }

    async fn checkpoints_of(&self, instance: &str) -> Result<Vec<Coverage>, StoreError> {
        delegate!(self, s => s.checkpoints_of(instance))
    }

    async fn checkpoint_leaves(&self, id: i64) -> Result<Vec<Head>, StoreError> {
        delegate!(self, s => s.checkpoint_leaves(id))
    }

    async fn next_dossier_number(&self, agency: &str, day: &str) -> Result<i64, StoreError> {
        delegate!(self, s => s.next_dossier_number(agency, day))
    }

    async fn dossier_by_instance(
        &self,
        instance: InstanceId,
    ) -> Result<Option<DossierRecord>, StoreError> {
        delegate!(self, s => s.dossier_by_instance(instance))
    }

    async fn dossiers_received(
        &self,
        agency: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DossierRecord>, StoreError> {
        delegate!(self, s => s.dossiers_received(agency, from, to))
    }

    async fn directive_assignments(
        &self,
        filter: &crate::directive::AssignmentFilter,
    ) -> Result<Vec<crate::directive::AssignmentRecord>, StoreError> {
        delegate!(self, s => s.directive_assignments(filter))
    }

    async fn directive_reports(
        &self,
        assignment: &str,
    ) -> Result<Vec<crate::directive::ReportRecord>, StoreError> {
        delegate!(self, s => s.directive_reports(assignment))
    }

    async fn directive_extensions(
        &self,
        assignment: &str,
    ) -> Result<Vec<crate::directive::ExtensionRecord>, StoreError> {
        delegate!(self, s => s.directive_extensions(assignment))
    }

    async fn directive_documents(
        &self,
        assignment: &str,
    ) -> Result<Vec<crate::directive::DirectiveDocumentRecord>, StoreError> {
        delegate!(self, s => s.directive_documents(assignment))
    }

    async fn dossier_documents(&self, code: &str) -> Result<Vec<DocumentRecord>, StoreError> {
        delegate!(self, s => s.dossier_documents(code))
    }

    async fn dossier_signatures(
        &self,
        code: &str,
    ) -> Result<Vec<crate::dossier::SignatureRecord>, StoreError> {
        delegate!(self, s => s.dossier_signatures(code))
    }

    async fn dossier_transfers(
        &self,
        code: &str,
    ) -> Result<Vec<crate::dossier::TransferRecord>, StoreError> {
        delegate!(self, s => s.dossier_transfers(code))
    }

    async fn transfer(
        &self,
        id: &str,
    ) -> Result<Option<crate::dossier::TransferRecord>, StoreError> {
        delegate!(self, s => s.transfer(id))
    }

    async fn applicant_documents(
        &self,
        kind: ApplicantKind,
        id: &str,
    ) -> Result<Vec<ApplicantDocument>, StoreError> {
        delegate!(self, s => s.applicant_documents(kind, id))
    }

    async fn applicant_document(&self, id: &str) -> Result<Option<ApplicantDocument>, StoreError> {
        delegate!(self, s => s.applicant_document(id))
    }

    async fn definitions(&self) -> Result<Vec<DefinitionRecord>, StoreError> {
        delegate!(self, s => s.definitions())
    }

    async fn definition(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> Result<Option<(DefinitionRecord, String)>, StoreError> {
        delegate!(self, s => s.definition(key, version))
    }

    async fn definition_record(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> Result<Option<DefinitionRecord>, StoreError> {
        delegate!(self, s => s.definition_record(key, version))
    }

    async fn instance(&self, id: InstanceId) -> Result<Option<StoredInstance>, StoreError> {
        delegate!(self, s => s.instance(id))
    }

    async fn task_instance(&self, task: TaskId) -> Result<Option<InstanceId>, StoreError> {
        delegate!(self, s => s.task_instance(task))
    }

    async fn job_instance(
        &self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> Result<Option<(InstanceId, Option<String>)>, StoreError> {
        delegate!(self, s => s.job_instance(job, now))
    }

    async fn idempotent(&self, key: &str) -> Result<Option<(String, Value)>, StoreError> {
        delegate!(self, s => s.idempotent(key))
    }

    async fn record_idempotent(
        &self,
        record: &super::IdempotencyRecord,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.record_idempotent(record, at))
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        delegate!(self, s => s.commit(commit))
    }

    async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        delegate!(self, s => s.tasks(query))
    }

    async fn count_tasks(&self, query: &TaskQuery) -> Result<i64, StoreError> {
        delegate!(self, s => s.count_tasks(query))
    }

    async fn task(&self, id: TaskId) -> Result<Option<TaskRow>, StoreError> {
        delegate!(self, s => s.task(id))
    }

    async fn journal(&self, id: InstanceId) -> Result<Vec<JournalEntry>, StoreError> {
        delegate!(self, s => s.journal(id))
    }

    async fn lock_jobs(
        &self,
        topic: &str,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<LockedJob>, StoreError> {
        delegate!(self, s => s.lock_jobs(topic, worker, max, now, until))
    }

    async fn incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        delegate!(self, s => s.incidents())
    }

    async fn job(&self, id: JobId) -> Result<Option<DueJob>, StoreError> {
        delegate!(self, s => s.job(id))
    }

    async fn claim_due_jobs(
        &self,
        worker: &str,
        topics: &[String],
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueJob>, StoreError> {
        delegate!(self, s => s.claim_due_jobs(worker, topics, max, now, until))
    }

    async fn commit_timer_start(&self, job: JobId, commit: Commit<'_>) -> Result<bool, StoreError> {
        delegate!(self, s => s.commit_timer_start(job, commit))
    }

    async fn oldest_subscription(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<InstanceId>, StoreError> {
        delegate!(self, s => s.oldest_subscription(name, key))
    }

    async fn buffer_message(&self, message: &MessageRecord) -> Result<bool, StoreError> {
        delegate!(self, s => s.buffer_message(message))
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        delegate!(self, s => s.message(id))
    }

    async fn deliverable_messages(
        &self,
        instance: Option<InstanceId>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(InstanceId, MessageRecord)>, StoreError> {
        delegate!(self, s => s.deliverable_messages(instance, now, limit))
    }

    async fn close_job(&self, job: JobId) -> Result<bool, StoreError> {
        delegate!(self, s => s.close_job(job))
    }

    async fn remove_expired_messages(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        delegate!(self, s => s.remove_expired_messages(before))
    }

    async fn fail_unowned_job(
        &self,
        job: JobId,
        error: &str,
        retries: u32,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.fail_unowned_job(job, error, retries, due_at, at))
    }

    async fn retry_unowned_job(
        &self,
        job: JobId,
        retries: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.retry_unowned_job(job, retries, at))
    }

    async fn put_schedule(
        &self,
        schedule: &ScheduleRow,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.put_schedule(schedule, at))
    }

    async fn remove_schedule(&self, name: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_schedule(name))
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        delegate!(self, s => s.schedules())
    }

    async fn claim_due_schedules(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ScheduleRow>, StoreError> {
        delegate!(self, s => s.claim_due_schedules(worker, max, now, until))
    }

    async fn record_schedule_run(
        &self,
        run: &ScheduleRun,
        next_due: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.record_schedule_run(run, next_due))
    }

    async fn schedule_runs(&self, name: &str) -> Result<Vec<ScheduleRun>, StoreError> {
        delegate!(self, s => s.schedule_runs(name))
    }

    async fn remove_finished(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<Removed, StoreError> {
        delegate!(self, s => s.remove_finished(before, batch))
    }

    async fn overdue_counts(&self) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        delegate!(self, s => s.overdue_counts())
    }

    async fn feed(
        &self,
        after: i64,
        limit: u32,
        filter: &EventFilter,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        delegate!(self, s => s.feed(after, limit, filter))
    }

    async fn statistics(
        &self,
        filter: &StatsFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatsRow>, StoreError> {
        delegate!(self, s => s.statistics(filter, now))
    }

    async fn put_webhook(&self, row: &WebhookRow) -> Result<(), StoreError> {
        delegate!(self, s => s.put_webhook(row))
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        delegate!(self, s => s.webhooks())
    }

    async fn remove_webhook(&self, id: &str) -> Result<bool, StoreError> {
        delegate!(self, s => s.remove_webhook(id))
    }

    async fn claim_due_webhooks(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        delegate!(self, s => s.claim_due_webhooks(worker, max, now, until))
    }

    async fn record_webhook(
        &self,
        id: &str,
        worker: &str,
        progress: &WebhookProgress,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.record_webhook(id, worker, progress))
    }

    async fn exchange_outbox(
        &self,
        dossier_code: &str,
    ) -> Result<Vec<crate::exchange::OutboxRow>, StoreError> {
        delegate!(self, s => s.exchange_outbox(dossier_code))
    }

    async fn exchange_links(
        &self,
        dossier_code: &str,
    ) -> Result<Vec<crate::exchange::LinkRow>, StoreError> {
        delegate!(self, s => s.exchange_links(dossier_code))
    }

    async fn exchange_link(
        &self,
        message_id: &str,
    ) -> Result<Option<crate::exchange::LinkRow>, StoreError> {
        delegate!(self, s => s.exchange_link(message_id))
    }

    async fn claim_due_exchange(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::exchange::OutboxRow>, StoreError> {
        delegate!(self, s => s.claim_due_exchange(worker, max, now, until))
    }

    async fn record_exchange(
        &self,
        id: &str,
        worker: &str,
        progress: &crate::exchange::DeliveryProgress,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.record_exchange(id, worker, progress))
    }
}
