//! The SQLite backend: an embedded file in WAL mode, through sqlx (runtime queries, so building
//! needs no database).
//!
//! Durability: `synchronous=FULL` (the default) syncs the WAL on every commit, so an
//! acknowledged command survives a power cut; `NORMAL` syncs only at checkpoints, so an
//! acknowledged command survives a crash of the process but the last ones may be lost on power
//! loss. Either way a transaction is all or nothing.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{
    Commit, DefinitionRecord, Deployed, DeployedForm, Deployment, DueJob, EventFilter, FeedEvent,
    FormRecord, IncidentRow, JournalEntry, LockedJob, NewDefinition, NewForm, Removed, ScheduleRow,
    ScheduleRun, StatsFilter, StatsRow, Store, StoreError, StoredInstance, TaskQuery, TaskRow,
    TaskSort, WebhookProgress, WebhookRow, SIGNATURE_COLUMNS,
};
use crate::checkpoint::{CheckpointRecord, Coverage, Head};
use crate::command::{Effect, JobKind, JobRecord, MessageRecord, TaskRecord};
use crate::directive::{AssignmentChange, AssignmentState, DirectiveEffect, DirectiveSource};
use crate::dossier::{
    Applicant, ApplicantDocument, ApplicantKind, DocumentRecord, DossierEffect, DossierRecord,
    DossierState, SignatureRecord,
};
use crate::exchange::ExchangeEffect;
use crate::ids::{InstanceId, JobId, TaskId};
use crate::state::InstanceState;
use crate::state::SlaMark;

/// When SQLite syncs to disk (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: every commit is on disk before it is acknowledged.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits survive a process crash; a power cut may lose the last few.
    Normal,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!(
                "'{other}' is not a durability level: use 'full' or 'normal'"
            )),
        }
    }
}

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// `sqlite://path.db` (created when missing) or `sqlite::memory:`.
    pub url: String,
    /// Sync policy.
    pub durability: Durability,
    /// Pool size (readers; SQLite has one writer at a time).
    pub max_connections: u32,
}

impl SqliteConfig {
    /// Defaults for a URL: `synchronous=FULL`, 4 connections.
    pub fn new(url: impl Into<String>) -> Self {
        SqliteConfig {
            url: url.into(),
            durability: Durability::Full,
            max_connections: 4,
        }
    }
}

/// A store on one SQLite file.
///
/// Reads go through a pool; commits go through one dedicated writer connection (SQLite has one
/// writer at a time anyway), which saves a pool checkout per command.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<tokio::sync::Mutex<SqliteConnection>>,
    queue: Arc<std::sync::Mutex<Vec<Pending>>>,
}

/// Most commits sent as one transaction.
const GROUP_COMMIT_MAX: usize = 64;

/// A commit waiting for the writer, with the channel its caller waits on.
struct Pending {
    commit: OwnedCommit,
    done: tokio::sync::oneshot::Sender<Result<(), sqlx::Error>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("instance", &self.commit.state.id)
            .finish()
    }
}

/// A [`Commit`] that owns its data, so it can wait in the writer's queue.
struct OwnedCommit {
    expected_version: Option<i64>,
    state: InstanceState,
    events: Vec<crate::event::Event>,
    sealed: Vec<crate::chain::SealedEvent>,
    effects: Vec<Effect>,
    actor: Option<String>,
    at: DateTime<Utc>,
    idempotency: Option<super::IdempotencyRecord>,
    guard_job: Option<JobId>,
}

impl OwnedCommit {
    fn new(c: &Commit<'_>, guard_job: Option<JobId>) -> Self {
        OwnedCommit {
            expected_version: c.expected_version,
            state: c.state.clone(),
            events: c.events.to_vec(),
            sealed: c.sealed.to_vec(),
            effects: c.effects.to_vec(),
            actor: c.actor.map(str::to_owned),
            at: c.at,
            idempotency: c.idempotency.clone(),
            guard_job,
        }
    }

    fn borrow(&self) -> (Commit<'_>, Option<JobId>) {
        (
            Commit {
                expected_version: self.expected_version,
                state: &self.state,
                events: &self.events,
                sealed: &self.sealed,
                effects: &self.effects,
                actor: self.actor.as_deref(),
                at: self.at,
                idempotency: self.idempotency.clone(),
            },
            self.guard_job,
        )
    }
}

async fn rollback(conn: &mut SqliteConnection) {
    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
        tracing::debug!("rollback after a failed commit: {e}");
    }
}

/// Sends a group of commits as one transaction, or one by one when that fails.
///
/// Each commit goes as its own statement batch inside the shared transaction, so its SQL text
/// has the same shape as when it goes alone and SQLite's prepared statements are reused.
async fn execute_group(conn: &mut SqliteConnection, group: Vec<Pending>) {
    if group.len() > 1 {
        match execute_together(conn, &group).await {
            Ok(()) => {
                for p in group {
                    let _ = p.done.send(Ok(()));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(
                    "a group of {} commits failed, sending each alone: {e}",
                    group.len()
                );
                rollback(conn).await;
            }
        }
    }
    for p in group {
        let result = execute_one(conn, &p.commit).await;
        let _ = p.done.send(result);
    }
}

async fn execute_together(
    conn: &mut SqliteConnection,
    group: &[Pending],
) -> Result<(), sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    for p in group {
        let (commit, guard) = p.commit.borrow();
        let mut q: QueryBuilder<'static, Sqlite> = QueryBuilder::new("");
        push_commit(&mut q, &commit, guard).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        q.build().execute(&mut *conn).await?;
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// Sends one commit as its own transaction. A batch refused for finding a transaction still
/// open (left by a failed batch) is rolled back and sent once more.
async fn execute_one(conn: &mut SqliteConnection, commit: &OwnedCommit) -> Result<(), sqlx::Error> {
    let mut retried = false;
    loop {
        let mut batch =
            commit_batch(&[commit.borrow()]).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        match batch.build().execute(&mut *conn).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                let open_before = e.to_string().contains("within a transaction");
                rollback(conn).await;
                if open_before && !retried {
                    retried = true;
                    continue;
                }
                return Err(e);
            }
        }
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Duplicate(db.constraint().unwrap_or("key").to_owned());
        }
    }
    StoreError::Backend(Box::new(e))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| corrupt("id", e))
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

impl SqliteStore {
    /// Opens (creating when missing) the database and runs pending migrations.
    pub async fn open(config: &SqliteConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&config.url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match config.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .statement_cache_capacity(512)
            .pragma("wal_autocheckpoint", "8000")
            .page_size(2048);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let writer = options.connect().await.map_err(backend)?;
        Ok(SqliteStore {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            queue: Arc::new(std::sync::Mutex::new(Vec::new())),
        })
    }

    /// The pool, for tests that inspect tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Commits through the group-commit writer: the commit joins a queue; whichever caller gets
    /// the writer connection next sends every queued commit as ONE transaction (one sync for
    /// all), and answers each caller. If that shared transaction fails, it is rolled back and
    /// each commit is sent alone, so one failing command never takes the others down and every
    /// caller gets its own answer, only after its transaction is durable.
    async fn run_batch(
        &self,
        commit: &Commit<'_>,
        guard_job: Option<JobId>,
    ) -> Result<(), sqlx::Error> {
        let (done, answer) = tokio::sync::oneshot::channel();
        if let Ok(mut queue) = self.queue.lock() {
            queue.push(Pending {
                commit: OwnedCommit::new(commit, guard_job),
                done,
            });
        }
        let writer = self.writer.clone();
        let queue = self.queue.clone();
        // The writer runs in its own task: a caller that goes away cannot leave a batch half
        // sent, and the commits it carries for others are still answered.
        tokio::spawn(async move {
            let mut conn = writer.lock_owned().await;
            loop {
                let group: Vec<Pending> = match queue.lock() {
                    Ok(mut q) => {
                        let n = q.len().min(GROUP_COMMIT_MAX);
                        q.drain(..n).collect()
                    }
                    Err(_) => Vec::new(),
                };
                if group.is_empty() {
                    return;
                }
                execute_group(&mut conn, group).await;
            }
        });
        answer.await.unwrap_or_else(|_| {
            Err(sqlx::Error::Protocol(
                "the commit writer stopped before answering".into(),
            ))
        })
    }

    /// Closes every connection (the WAL is checkpointed by the last one).
    pub async fn close(&self) {
        let mut writer = self.writer.lock().await;
        if let Err(e) = sqlx::query("PRAGMA optimize").execute(&mut *writer).await {
            tracing::debug!("PRAGMA optimize on close: {e}");
        }
        self.pool.close().await;
    }
}

fn definition_record(row: &SqliteRow) -> Result<DefinitionRecord, StoreError> {
    Ok(DefinitionRecord {
        key: row.try_get("key").map_err(backend)?,
        version: row.try_get("version").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        resource: row.try_get("resource").map_err(backend)?,
        checksum: row.try_get("checksum").map_err(backend)?,
        deployment: row.try_get("deployment_id").map_err(backend)?,
        deployed_at: row.try_get("deployed_at").map_err(backend)?,
    })
}

fn task_row(row: &SqliteRow) -> Result<TaskRow, StoreError> {
    let groups: String = row.try_get("candidate_groups").map_err(backend)?;
    let users: String = row.try_get("candidate_users").map_err(backend)?;
    let id: String = row.try_get("id").map_err(backend)?;
    let instance: String = row.try_get("instance_id").map_err(backend)?;
    Ok(TaskRow {
        record: TaskRecord {
            id: TaskId::from_uuid(parse_uuid(&id)?),
            instance: InstanceId::from_uuid(parse_uuid(&instance)?),
            definition_key: row.try_get("definition_key").map_err(backend)?,
            node: row.try_get("node_id").map_err(backend)?,
            name: row.try_get("name").map_err(backend)?,
            assignee: row.try_get("assignee").map_err(backend)?,
            candidate_groups: serde_json::from_str(&groups)
                .map_err(|e| corrupt("candidate groups", e))?,
            candidate_users: serde_json::from_str(&users)
                .map_err(|e| corrupt("candidate users", e))?,
            agency: row.try_get("agency").map_err(backend)?,
            form_key: row.try_get("form_key").map_err(backend)?,
            created_at: row.try_get("created_at").map_err(backend)?,
            due_at: row.try_get("due_at").map_err(backend)?,
        },
        state: row.try_get("state").map_err(backend)?,
        closed_at: row.try_get("closed_at").map_err(backend)?,
        due_soon: row.try_get::<i64, _>("due_soon").map_err(backend)? != 0,
        overdue: row.try_get::<i64, _>("overdue").map_err(backend)? != 0,
    })
}

/// Rows of one multi-row journal INSERT (7 binds a row, well under SQLite's bind limit).
const JOURNAL_ROWS_PER_INSERT: usize = 100;

/// Appends one projection effect to the commit batch.
fn push_effect(
    q: &mut QueryBuilder<'static, Sqlite>,
    effect: &Effect,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match effect {
        Effect::TaskCreated(t) => {
            let id = t.id.to_string();
            q.push(
                "INSERT INTO tasks (id, instance_id, definition_key, node_id, name, assignee, \
                 candidate_groups, candidate_users, agency, form_key, state, created_at, due_at) \
                 VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(id.clone())
                .push_bind(t.instance.to_string())
                .push_bind(t.definition_key.clone())
                .push_bind(t.node.clone())
                .push_bind(t.name.clone())
                .push_bind(t.assignee.clone())
                .push_bind(json_list(&t.candidate_groups))
                .push_bind(json_list(&t.candidate_users))
                .push_bind(t.agency.clone())
                .push_bind(t.form_key.clone())
                .push_bind("open")
                .push_bind(t.created_at)
                .push_bind(t.due_at);
            q.push(");\n");
        }
        Effect::TaskAssigned { task, assignee } => {
            q.push("UPDATE tasks SET assignee = ")
                .push_bind(assignee.clone())
                .push(" WHERE id = ")
                .push_bind(task.to_string())
                .push(";\n");
        }
        Effect::TaskRerouted { task, agency } => {
            q.push("UPDATE tasks SET agency = ")
                .push_bind(agency.clone())
                .push(" WHERE id = ")
                .push_bind(task.to_string())
                .push(";\n");
        }
        Effect::TaskClosed { task, how } => {
            let id = task.to_string();
            q.push("UPDATE tasks SET state = ")
                .push_bind(how.as_str())
                .push(", closed_at = ")
                .push_bind(at)
                .push(" WHERE id = ")
                .push_bind(id)
                .push(";\n");
        }
        Effect::JobCreated(j) => {
            q.push(
                "INSERT INTO jobs (id, kind, instance_id, node_id, topic, state, retries, due_at, \
                 created_at) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(j.id.to_string())
                .push_bind(j.kind.as_str())
                .push_bind(j.instance.to_string())
                .push_bind(j.node.clone())
                .push_bind(j.topic.clone())
                .push_bind("open")
                .push_bind(j.retries as i64)
                .push_bind(j.due_at)
                .push_bind(at);
            q.push(");\n");
        }
        Effect::JobRetry {
            job,
            retries,
            due_at,
            error,
        } => {
            q.push("UPDATE jobs SET retries = ")
                .push_bind(*retries as i64)
                .push(", due_at = ")
                .push_bind(*due_at)
                .push(", last_error = ")
                .push_bind(error.clone())
                .push(", lock_owner = NULL, lock_expires_at = NULL WHERE id = ")
                .push_bind(job.to_string())
                .push(";\n");
        }
        Effect::IncidentRaised { job, node, message } => {
            let id = job.to_string();
            q.push("UPDATE jobs SET state = 'incident', retries = 0, last_error = ")
                .push_bind(message.clone())
                .push(", lock_owner = NULL, lock_expires_at = NULL WHERE id = ")
                .push_bind(id.clone())
                .push(";\nINSERT INTO incidents (job_id, instance_id, node_id, message, created_at) SELECT ")
                .push_bind(id.clone())
                .push(", instance_id, ")
                .push_bind(node.clone())
                .push(", ")
                .push_bind(message.clone())
                .push(", ")
                .push_bind(at)
                .push(" FROM jobs WHERE id = ")
                .push_bind(id)
                .push(
                    " ON CONFLICT (job_id) DO UPDATE SET message = excluded.message, \
                     created_at = excluded.created_at, resolved_at = NULL;\n",
                );
        }
        Effect::TaskMarked { task, mark } => {
            let column = match mark {
                SlaMark::DueSoon => "due_soon",
                SlaMark::Overdue => "overdue",
            };
            q.push(format!("UPDATE tasks SET {column} = 1 WHERE id = "))
                .push_bind(task.to_string())
                .push(";\n");
        }
        Effect::IncidentResolved {
            job,
            retries,
            due_at,
        } => {
            let id = job.to_string();
            q.push("UPDATE jobs SET state = 'open', retries = ")
                .push_bind(*retries as i64)
                .push(", due_at = ")
                .push_bind(*due_at)
                .push(", lock_owner = NULL, lock_expires_at = NULL WHERE id = ")
                .push_bind(id.clone())
                .push(";\nUPDATE incidents SET resolved_at = ")
                .push_bind(at)
                .push(" WHERE job_id = ")
                .push_bind(id)
                .push(" AND resolved_at IS NULL;\n");
        }
        Effect::TimerStartScheduled {
            job,
            key,
            version,
            node,
            fired,
            due_at,
        } => {
            push_timer_start(q, *job, key, *version, node, *fired, *due_at, at);
        }
        Effect::SubscriptionOpened(r) => {
            q.push(
                "INSERT INTO message_subscriptions (instance_id, subscription, node_id, name, \
                 correlation_key, created_at) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(r.instance.to_string())
                .push_bind(r.id as i64)
                .push_bind(r.node.clone())
                .push_bind(r.name.clone())
                .push_bind(r.correlation_key.clone().unwrap_or_default())
                .push_bind(r.created_at);
            q.push(");\n");
        }
        Effect::SubscriptionClosed { instance, id } => {
            q.push("DELETE FROM message_subscriptions WHERE instance_id = ")
                .push_bind(instance.to_string())
                .push(" AND subscription = ")
                .push_bind(*id as i64)
                .push(";\n");
        }
        Effect::MessageRecorded(m) => {
            let payload = serde_json::to_string(&m.payload).map_err(|e| corrupt("message", e))?;
            q.push(
                "INSERT INTO buffered_messages (id, name, correlation_key, payload, created_at, \
                 expires_at, state, consumed_by) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(m.id.clone())
                .push_bind(m.name.clone())
                .push_bind(m.correlation_key.clone().unwrap_or_default())
                .push_bind(payload)
                .push_bind(m.created_at)
                .push_bind(m.expires_at)
                .push_bind("consumed")
                .push_bind(m.consumed_by.map(|i| i.to_string()));
            q.push(");\n");
        }
        Effect::BufferedConsumed { message, instance } => {
            // A message already taken (or expired) makes `state` NULL: the batch fails.
            q.push(
                "UPDATE buffered_messages SET state = CASE WHEN state = 'buffered' AND \
                 expires_at > ",
            )
            .push_bind(at)
            .push(" THEN 'consumed' END, consumed_by = ")
            .push_bind(instance.to_string())
            .push(" WHERE id = ")
            .push_bind(message.clone())
            .push(";\n");
        }
        Effect::Outbox(j) => {
            let payload = j.payload.to_string();
            q.push(
                "INSERT INTO jobs (id, kind, instance_id, node_id, topic, state, retries, due_at, \
                 created_at, payload) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(j.id.to_string())
                .push_bind(j.kind.as_str())
                .push_bind(j.instance.to_string())
                .push_bind(j.node.clone())
                .push_bind("")
                .push_bind("open")
                .push_bind(crate::step::TIMER_RETRIES as i64)
                .push_bind(j.due_at)
                .push_bind(at)
                .push_bind(payload);
            q.push(");\n");
        }
        Effect::Dossier(d) => push_dossier_effect(q, d, at)?,
        Effect::Exchange(x) => push_exchange_effect(q, x),
        Effect::Directive(d) => push_directive_effect(q, d, at),
        Effect::JobClosed { job, how } => {
            let id = job.to_string();
            q.push("UPDATE jobs SET state = ")
                .push_bind(how.as_str())
                .push(", lock_owner = NULL, lock_expires_at = NULL WHERE id = ")
                .push_bind(id.clone())
                .push(";\nUPDATE incidents SET resolved_at = ")
                .push_bind(at)
                .push(" WHERE job_id = ")
                .push_bind(id)
                .push(" AND resolved_at IS NULL;\n");
        }
    }
    Ok(())
}

/// Appends a dossier effect. A new dossier takes its number in the commit's transaction (see
/// [`crate::dossier::code`]); everything else addresses the dossier by its instance.
fn push_dossier_effect(
    q: &mut QueryBuilder<'static, Sqlite>,
    effect: &DossierEffect,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match effect {
        DossierEffect::Created(d) => {
            let applicant = applicant_json(&d.applicant)?;
            // The number the engine read is taken here, or the batch fails: the first of the
            // day inserts the counter row (a second insert breaks its primary key), a later
            // one moves it from `number - 1` (else `last` is set to NULL, refused by NOT NULL).
            // Both failures are version conflicts: the engine reads again and retries.
            if d.number == 1 {
                q.push("INSERT INTO dossier_counters (agency, day, last) VALUES (")
                    .push_bind(d.agency.clone())
                    .push(", ")
                    .push_bind(d.day.clone())
                    .push(", 1);\n");
            } else {
                q.push("UPDATE dossier_counters SET last = CASE WHEN last = ")
                    .push_bind(d.number - 1)
                    .push(" THEN ")
                    .push_bind(d.number)
                    .push(" END WHERE agency = ")
                    .push_bind(d.agency.clone())
                    .push(" AND day = ")
                    .push_bind(d.day.clone())
                    .push(";\n");
            }
            q.push(
                "INSERT INTO dossiers (code, instance_id, procedure_key, procedure_version, \
                 agency, applicant_kind, applicant_id, applicant_name, applicant, state, \
                 received_at, due_at, finished_at, data, updated_at, version) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(d.code.clone())
                .push_bind(d.instance.to_string())
                .push_bind(d.procedure_key.clone())
                .push_bind(d.procedure_version)
                .push_bind(d.agency.clone())
                .push_bind(d.applicant.kind.as_str())
                .push_bind(d.applicant.id.clone())
                .push_bind(d.applicant.name.clone())
                .push_bind(applicant)
                .push_bind(DossierState::Received.as_str())
                .push_bind(d.received_at)
                .push_bind(d.due_at)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(d.data.clone())
                .push_bind(at)
                .push_bind(1_i64);
            q.push(");\n");
        }
        DossierEffect::Updated {
            instance,
            expected_version,
            state,
            finished_at,
            due_at,
        } => {
            // A stale version sets NULL: refused by NOT NULL, mapped to a version conflict.
            q.push("UPDATE dossiers SET version = CASE WHEN version = ")
                .push_bind(*expected_version)
                .push(" THEN ")
                .push_bind(expected_version + 1)
                .push(" END, state = COALESCE(")
                .push_bind(state.map(|s| s.as_str()))
                .push(", state), finished_at = COALESCE(")
                .push_bind(*finished_at)
                .push(", finished_at), due_at = COALESCE(")
                .push_bind(*due_at)
                .push(", due_at), updated_at = ")
                .push_bind(at)
                .push(" WHERE instance_id = ")
                .push_bind(instance.to_string())
                .push(";\n");
        }
        DossierEffect::DocumentAdded(d) => {
            q.push(
                "INSERT INTO dossier_documents (dossier_code, slot, version, sha256, name, \
                 media_type, size, added_at, added_by, reused_from) SELECT code, ",
            );
            let mut v = q.separated(", ");
            v.push_bind(d.slot.clone())
                .push_bind(d.version)
                .push_bind(d.sha256.clone())
                .push_bind(d.name.clone())
                .push_bind(d.media_type.clone())
                .push_bind(d.size)
                .push_bind(at)
                .push_bind(d.added_by.clone())
                .push_bind(d.reused_from.clone());
            q.push(" FROM dossiers WHERE instance_id = ")
                .push_bind(d.instance.to_string())
                .push(";\n");
        }
        DossierEffect::SignatureAdded(n) => {
            let r = &n.record;
            q.push(
                "INSERT INTO dossier_signatures (id, dossier_code, slot, version, \
                 document_sha256, signature_sha256, signer_subject, signer_serial, \
                 signer_issuer, fingerprint, signer_user, signer_agency, signing_time, \
                 server_side, added_at, added_by) SELECT ",
            )
            .push_bind(r.id.clone())
            .push(", code, ");
            let mut v = q.separated(", ");
            v.push_bind(r.slot.clone())
                .push_bind(r.version)
                .push_bind(r.document_sha256.clone())
                .push_bind(r.signature_sha256.clone())
                .push_bind(r.signer_subject.clone())
                .push_bind(r.signer_serial.clone())
                .push_bind(r.signer_issuer.clone())
                .push_bind(r.fingerprint.clone())
                .push_bind(r.signer_user.clone())
                .push_bind(r.signer_agency.clone())
                .push_bind(r.signing_time)
                .push_bind(r.server_side)
                .push_bind(at)
                .push_bind(r.added_by.clone());
            q.push(" FROM dossiers WHERE instance_id = ")
                .push_bind(n.instance.to_string())
                .push(";\n");
        }
        DossierEffect::TransferSent(t) => {
            let (documents, tasks) = transfer_json(t)?;
            q.push(format!(
                "INSERT INTO dossier_transfers ({}) VALUES (",
                crate::dossier::transfer::TRANSFER_COLUMNS
            ));
            let mut v = q.separated(", ");
            v.push_bind(t.id.clone())
                .push_bind(t.dossier_code.clone())
                .push_bind(t.from_agency.clone())
                .push_bind(t.to_agency.clone())
                .push_bind(t.peer.clone())
                .push_bind(t.reason.clone())
                .push_bind(documents)
                .push_bind(tasks)
                .push_bind(t.step_task.map(|s| s.to_string()))
                .push_bind(t.state_before.as_str())
                .push_bind(crate::dossier::transfer::halves(
                    t.receiver_share_working_days,
                ))
                .push_bind(t.receiver_due_at)
                .push_bind(crate::dossier::transfer::halves(
                    t.sender_share_working_days,
                ))
                .push_bind(t.sender_due_at)
                .push_bind(t.state.as_str())
                .push_bind(t.sent_at)
                .push_bind(t.sent_by.clone())
                .push_bind(t.decided_at)
                .push_bind(t.decided_by.clone())
                .push_bind(t.returned_reason.clone());
            q.push(");\n");
        }
        DossierEffect::TransferDecided {
            id,
            state,
            decided_by,
            returned_reason,
        } => {
            // Decided once: a transfer no longer `sent` sets NULL, refused by NOT NULL and
            // mapped to a version conflict.
            q.push("UPDATE dossier_transfers SET state = CASE WHEN state = 'sent' THEN ")
                .push_bind(state.as_str())
                .push(" END, decided_at = ")
                .push_bind(at)
                .push(", decided_by = ")
                .push_bind(decided_by.clone())
                .push(", returned_reason = ")
                .push_bind(returned_reason.clone())
                .push(" WHERE id = ")
                .push_bind(id.clone())
                .push(";\n");
        }
        DossierEffect::ApplicantDocumentAdded(n) => {
            let a = &n.document;
            q.push(
                "INSERT INTO applicant_documents (id, owner_kind, owner_id, doc_type, number, \
                 issuer, issued_on, sha256, name, media_type, certified_by, certified_at, \
                 source_dossier) SELECT ",
            );
            let mut v = q.separated(", ");
            v.push_bind(a.id.clone())
                .push_bind(a.owner_kind.as_str())
                .push_bind(a.owner_id.clone())
                .push_bind(a.doc_type.clone())
                .push_bind(a.number.clone())
                .push_bind(a.issuer.clone())
                .push_bind(a.issued_on)
                .push_bind(a.sha256.clone())
                .push_bind(a.name.clone())
                .push_bind(a.media_type.clone())
                .push_bind(a.certified_by.clone())
                .push_bind(a.certified_at);
            q.push(", code FROM dossiers WHERE instance_id = ")
                .push_bind(n.instance.to_string())
                .push(";\n");
        }
    }
    Ok(())
}

/// A transfer's documents and re-routed tasks as stored (JSON text).
fn transfer_json(t: &crate::dossier::TransferRecord) -> Result<(String, String), StoreError> {
    let documents = serde_json::to_string(&t.documents)
        .map_err(|e| StoreError::Corrupt(format!("transfer {} documents: {e}", t.id)))?;
    let tasks = serde_json::to_string(&t.tasks)
        .map_err(|e| StoreError::Corrupt(format!("transfer {} tasks: {e}", t.id)))?;
    Ok((documents, tasks))
}

fn applicant_json(a: &Applicant) -> Result<String, StoreError> {
    serde_json::to_string(&serde_json::json!({
        "address": a.address,
        "phone": a.phone,
        "email": a.email,
    }))
    .map_err(|e| corrupt("applicant", e))
}

const DOSSIER_COLUMNS: &str = "code, instance_id, procedure_key, procedure_version, agency, \
     applicant_kind, applicant_id, applicant_name, applicant, state, received_at, due_at, \
     finished_at, data, updated_at, version";

const DOCUMENT_COLUMNS: &str = "dossier_code, slot, version, sha256, name, media_type, size, \
     added_at, added_by, reused_from";

const APPLICANT_DOCUMENT_COLUMNS: &str = "id, owner_kind, owner_id, doc_type, number, issuer, \
     issued_on, sha256, name, media_type, certified_by, certified_at, source_dossier";

fn form_record(r: &SqliteRow) -> Result<FormRecord, StoreError> {
    Ok(FormRecord {
        id: r.try_get("id").map_err(backend)?,
        version: r.try_get("version").map_err(backend)?,
        resource: r.try_get("resource").map_err(backend)?,
        schema: r.try_get("schema").map_err(backend)?,
        checksum: r.try_get("checksum").map_err(backend)?,
        deployment: r.try_get("deployment_id").map_err(backend)?,
    })
}

fn dossier_record(r: &SqliteRow) -> Result<DossierRecord, StoreError> {
    crate::dossier::dossier_from_parts(sqlx::FromRow::from_row(r).map_err(backend)?)
}

fn document_record(r: &SqliteRow) -> Result<DocumentRecord, StoreError> {
    sqlx::FromRow::from_row(r).map_err(backend)
}

fn applicant_document(r: &SqliteRow) -> Result<ApplicantDocument, StoreError> {
    let kind: String = r.try_get("owner_kind").map_err(backend)?;
    Ok(ApplicantDocument {
        id: r.try_get("id").map_err(backend)?,
        owner_kind: ApplicantKind::parse(&kind)
            .ok_or_else(|| corrupt("applicant document owner kind", &kind))?,
        owner_id: r.try_get("owner_id").map_err(backend)?,
        doc_type: r.try_get("doc_type").map_err(backend)?,
        number: r.try_get("number").map_err(backend)?,
        issuer: r.try_get("issuer").map_err(backend)?,
        issued_on: r.try_get("issued_on").map_err(backend)?,
        sha256: r.try_get("sha256").map_err(backend)?,
        name: r.try_get("name").map_err(backend)?,
        media_type: r.try_get("media_type").map_err(backend)?,
        certified_by: r.try_get("certified_by").map_err(backend)?,
        certified_at: r.try_get("certified_at").map_err(backend)?,
        source_dossier: r.try_get("source_dossier").map_err(backend)?,
    })
}

#[allow(clippy::too_many_arguments)]
fn push_timer_start(
    q: &mut QueryBuilder<'static, Sqlite>,
    job: JobId,
    key: &str,
    version: i32,
    node: &str,
    fired: u32,
    due_at: DateTime<Utc>,
    at: DateTime<Utc>,
) {
    q.push(
        "INSERT INTO jobs (id, kind, definition_key, definition_version, node_id, topic, state, \
         retries, fired, due_at, created_at) VALUES (",
    );
    let mut v = q.separated(", ");
    v.push_bind(job.to_string())
        .push_bind("timer_start")
        .push_bind(key.to_owned())
        .push_bind(version)
        .push_bind(node.to_owned())
        .push_bind("")
        .push_bind("open")
        .push_bind(crate::step::TIMER_RETRIES as i64)
        .push_bind(fired as i64)
        .push_bind(due_at)
        .push_bind(at);
    q.push(");\n");
}

/// Builds one command's whole write as ONE batch of statements, sent to SQLite in one round
/// trip: `BEGIN IMMEDIATE; <instance>; <journal>; <effects>; <idempotency>; COMMIT`.
///
/// The version check cannot be read half-way through a batch, so it is made to fail loudly: the
/// instance UPDATE sets `version` to NULL (refused by its NOT NULL constraint) when the stored
/// version is not the expected one, and the journal's UNIQUE (instance_id, seq) refuses a second
/// writer of the same sequence numbers. Either error stops the batch before COMMIT; the caller
/// then rolls back.
///
/// With `guard_job`, the batch first closes that job and fails (NOT NULL on `jobs.state`) when
/// it is no longer open: a timer start fires once even when two runners hold it.
fn commit_batch(
    commits: &[(Commit<'_>, Option<JobId>)],
) -> Result<QueryBuilder<'static, Sqlite>, StoreError> {
    let mut q: QueryBuilder<'static, Sqlite> = QueryBuilder::new("BEGIN IMMEDIATE;\n");
    for (c, guard_job) in commits {
        push_commit(&mut q, c, *guard_job)?;
    }
    q.push("COMMIT;");
    Ok(q)
}

/// Appends one command's statements (without BEGIN/COMMIT) to a batch.
fn push_commit(
    q: &mut QueryBuilder<'static, Sqlite>,
    c: &Commit<'_>,
    guard_job: Option<JobId>,
) -> Result<(), StoreError> {
    let state: &InstanceState = c.state;
    let id = state.id.to_string();
    let json = serde_json::to_string(state).map_err(|e| corrupt("state", e))?;
    if let Some(job) = guard_job {
        q.push(
            "UPDATE jobs SET state = CASE WHEN state = 'open' THEN 'completed' END, \
             lock_owner = NULL, lock_expires_at = NULL WHERE id = ",
        )
        .push_bind(job.to_string())
        .push(";\n");
    }
    match c.expected_version {
        None => {
            q.push(
                "INSERT INTO instances (id, definition_key, definition_version, business_key, \
                 status, version, state, started_at, ended_at, updated_at, due_at, \
                 journal_seq, journal_head, agency) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(id.clone())
                .push_bind(state.definition.key.clone())
                .push_bind(state.definition.version)
                .push_bind(state.business_key.clone())
                .push_bind(state.status.as_str())
                .push_bind(state.version)
                .push_bind(json)
                .push_bind(state.started_at)
                .push_bind(state.ended_at)
                .push_bind(c.at)
                .push_bind(state.due_at)
                .push_bind(state.journal_seq)
                .push_bind(state.journal_head.clone());
            q.push(", (SELECT agency FROM definitions WHERE key = ")
                .push_bind(state.definition.key.clone())
                .push(" AND version = ")
                .push_bind(state.definition.version)
                .push("));\n");
        }
        Some(expected) => {
            q.push("UPDATE instances SET version = CASE WHEN version = ")
                .push_bind(expected)
                .push(" THEN ")
                .push_bind(state.version)
                .push(" END, status = ")
                .push_bind(state.status.as_str())
                .push(", state = ")
                .push_bind(json)
                .push(", ended_at = ")
                .push_bind(state.ended_at)
                .push(", updated_at = ")
                .push_bind(c.at)
                .push(", due_at = ")
                .push_bind(state.due_at)
                .push(", journal_seq = ")
                .push_bind(state.journal_seq)
                .push(", journal_head = ")
                .push_bind(state.journal_head.clone())
                .push(" WHERE id = ")
                .push_bind(id.clone())
                .push(";\n");
        }
    }
    if c.sealed.len() != c.events.len() {
        return Err(corrupt("commit", "the events were not sealed"));
    }
    let first_seq = state.journal_seq - c.events.len() as i64 + 1;
    let rows: Vec<_> = c.events.iter().zip(c.sealed).collect();
    for (chunk_no, chunk) in rows.chunks(JOURNAL_ROWS_PER_INSERT).enumerate() {
        let base = first_seq + (chunk_no * JOURNAL_ROWS_PER_INSERT) as i64;
        let actor = c.actor.map(str::to_owned);
        q.push("INSERT INTO journal (instance_id, seq, kind, actor, at, data, hash) ");
        q.push_values(chunk.iter().enumerate(), |mut b, (i, (event, sealed))| {
            b.push_bind(id.clone())
                .push_bind(base + i as i64)
                .push_bind(event.kind())
                .push_bind(actor.clone())
                .push_bind(c.at)
                .push_bind(sealed.data.clone())
                .push_bind(sealed.hash.clone());
        });
        q.push(";\n");
    }
    for effect in c.effects {
        push_effect(q, effect, c.at)?;
    }
    if let Some(record) = &c.idempotency {
        q.push("INSERT INTO idempotency (key, fingerprint, response, created_at) VALUES (");
        let mut v = q.separated(", ");
        v.push_bind(record.key.clone())
            .push_bind(record.fingerprint.clone())
            .push_bind(record.response.to_string())
            .push_bind(c.at);
        q.push(");\n");
    }
    Ok(())
}

/// Rows of one checkpoint-leaves INSERT (5 binds a row).
const CHECKPOINT_ROWS_PER_INSERT: usize = 1000;

fn head_row(r: &sqlx::sqlite::SqliteRow) -> Result<Head, StoreError> {
    Ok(Head {
        instance: r.try_get("instance_id").map_err(backend)?,
        seq: r.try_get("seq").map_err(backend)?,
        hash: r.try_get("hash").map_err(backend)?,
    })
}

fn checkpoint_row(r: &sqlx::sqlite::SqliteRow) -> Result<CheckpointRecord, StoreError> {
    let signature: String = r.try_get("signature").map_err(backend)?;
    crate::checkpoint::record_from_row(
        r.try_get("id").map_err(backend)?,
        r.try_get("at").map_err(backend)?,
        r.try_get("size").map_err(backend)?,
        r.try_get("root").map_err(backend)?,
        r.try_get("payload").map_err(backend)?,
        &signature,
    )
}

/// Maps a failed commit batch: a lost version race is a conflict, not a database failure.
fn commit_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let message = db.message();
        if message.contains("instances.version")
            || message.contains("journal.instance_id")
            || message.contains("dossiers.version")
            || message.contains("dossier_counters")
            || message.contains("dossier_transfers.state")
        {
            return StoreError::VersionConflict;
        }
        if message.contains("idempotency.key") {
            return StoreError::Duplicate("idempotency key".into());
        }
        if message.contains("buffered_messages.state") {
            return StoreError::VersionConflict;
        }
        if message.contains("buffered_messages.id") {
            return StoreError::Duplicate("message id".into());
        }
        if message.contains("instances.id") {
            return StoreError::Duplicate("instance id".into());
        }
    }
    backend(e)
}

/// The `SELECT {columns}` of a task query with its WHERE clause, shared by `tasks` and
/// `count_tasks` so the two cannot drift; also whether it reads a group's queue through the
/// candidates index (`c`).
fn task_filter<'q>(query: &'q TaskQuery, columns: &str) -> (QueryBuilder<'q, Sqlite>, bool) {
    // A group's open queue in creation order is read from the candidates index in order.
    let by_group_in_order =
        query.candidate_group.is_some() && !query.include_closed && query.sort == TaskSort::Created;
    let mut q: QueryBuilder<'q, Sqlite> = if by_group_in_order {
        QueryBuilder::new(format!(
            "SELECT {columns} FROM task_candidates c JOIN tasks t ON t.id = c.task_id \
             WHERE c.kind = 'group' AND t.state = 'open'"
        ))
    } else {
        QueryBuilder::new(format!("SELECT {columns} FROM tasks t WHERE "))
    };
    if by_group_in_order {
        if let Some(group) = &query.candidate_group {
            q.push(" AND c.name = ").push_bind(group);
        }
    } else if query.include_closed {
        q.push("1 = 1");
    } else {
        q.push("t.state = 'open'");
    }
    if let Some(group) = query
        .candidate_group
        .as_ref()
        .filter(|_| !by_group_in_order)
    {
        if query.include_closed {
            q.push(" AND EXISTS (SELECT 1 FROM json_each(t.candidate_groups) g WHERE g.value = ")
                .push_bind(group)
                .push(")");
        } else {
            q.push(" AND t.id IN (SELECT task_id FROM task_candidates WHERE kind = 'group' AND name = ")
                .push_bind(group)
                .push(")");
        }
    }
    if let Some(assignee) = &query.assignee {
        q.push(" AND t.assignee = ").push_bind(assignee);
    }
    if let Some(agency) = &query.agency {
        q.push(" AND t.agency = ").push_bind(agency);
    }
    if let Some(w) = &query.workable_by {
        // Candidate rows are removed when a task closes, so the JSON columns are read.
        q.push(" AND (t.assignee = ")
            .push_bind(&w.user)
            .push(" OR EXISTS (SELECT 1 FROM json_each(t.candidate_users) u WHERE u.value = ")
            .push_bind(&w.user)
            .push(")");
        if !w.groups.is_empty() {
            q.push(" OR EXISTS (SELECT 1 FROM json_each(t.candidate_groups) g WHERE g.value IN (");
            let mut list = q.separated(", ");
            for group in &w.groups {
                list.push_bind(group);
            }
            q.push("))");
        }
        q.push(")");
    }
    if let Some(key) = &query.definition_key {
        q.push(" AND t.definition_key = ").push_bind(key);
    }
    if let Some(text) = &query.name_contains {
        // SQLite's lower() folds ASCII only, so the text as written is compared too.
        q.push(" AND (instr(lower(t.name), lower(")
            .push_bind(text)
            .push(")) > 0 OR instr(t.name, ")
            .push_bind(text)
            .push(") > 0)");
    }
    if let Some(cursor) = query.after {
        let (at, id) = if by_group_in_order {
            ("c.created_at", "c.task_id")
        } else {
            ("t.created_at", "t.id")
        };
        q.push(format!(" AND ({at} > "))
            .push_bind(cursor.created_at)
            .push(format!(" OR ({at} = "))
            .push_bind(cursor.created_at)
            .push(format!(" AND {id} > "))
            .push_bind(cursor.id.to_string())
            .push("))");
    }
    if let Some(instance) = &query.instance {
        q.push(" AND t.instance_id = ")
            .push_bind(instance.to_string());
    }
    if let Some(before) = query.due_before {
        q.push(" AND t.due_at IS NOT NULL AND t.due_at < ")
            .push_bind(before);
    }
    match query.overdue {
        Some(true) => {
            q.push(" AND t.overdue = 1");
        }
        Some(false) => {
            q.push(" AND t.overdue = 0");
        }
        None => {}
    }
    (q, by_group_in_order)
}

impl Store for SqliteStore {
    async fn deploy(
        &self,
        name: &str,
        definitions: &[NewDefinition],
        forms: &[NewForm],
        at: DateTime<Utc>,
    ) -> Result<Deployment, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let deployment = Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO deployments (id, name, deployed_at) VALUES (?, ?, ?)")
            .bind(&deployment)
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let mut out = Vec::with_capacity(definitions.len());
        for d in definitions {
            let latest = sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at \
                 FROM definitions WHERE key = ? ORDER BY version DESC LIMIT 1",
            )
            .bind(&d.key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .map(|r| definition_record(&r))
            .transpose()?;
            if let Some(latest) = &latest {
                if latest.checksum == d.checksum {
                    out.push(Deployed {
                        definition: latest.clone(),
                        created: false,
                    });
                    continue;
                }
            }
            let version = latest.map(|l| l.version + 1).unwrap_or(1);
            sqlx::query(
                "INSERT INTO definitions (key, version, name, resource, checksum, xml, \
                 deployment_id, deployed_at, agency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&d.key)
            .bind(version)
            .bind(&d.name)
            .bind(&d.resource)
            .bind(&d.checksum)
            .bind(&d.xml)
            .bind(&deployment)
            .bind(at)
            .bind(&d.agency)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "UPDATE jobs SET state = 'cancelled', lock_owner = NULL, lock_expires_at = NULL \
                 WHERE kind = 'timer_start' AND state = 'open' AND definition_key = ?",
            )
            .bind(&d.key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            for (node, due_at) in &d.timer_starts {
                let mut q: QueryBuilder<'static, Sqlite> = QueryBuilder::new("");
                push_timer_start(
                    &mut q,
                    JobId::from_uuid(Uuid::now_v7()),
                    &d.key,
                    version,
                    node,
                    0,
                    *due_at,
                    at,
                );
                q.build().execute(&mut *tx).await.map_err(backend)?;
            }
            out.push(Deployed {
                definition: DefinitionRecord {
                    key: d.key.clone(),
                    version,
                    name: d.name.clone(),
                    resource: d.resource.clone(),
                    checksum: d.checksum.clone(),
                    deployment: deployment.clone(),
                    deployed_at: at,
                },
                created: true,
            });
        }
        let mut deployed_forms = Vec::with_capacity(forms.len());
        for f in forms {
            let latest = sqlx::query(
                "SELECT id, version, resource, schema, checksum, deployment_id FROM forms \
                 WHERE id = ? ORDER BY version DESC LIMIT 1",
            )
            .bind(&f.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .map(|r| form_record(&r))
            .transpose()?;
            if let Some(latest) = &latest {
                if latest.checksum == f.checksum {
                    deployed_forms.push(DeployedForm {
                        form: latest.clone(),
                        created: false,
                    });
                    continue;
                }
            }
            let version = latest.map(|l| l.version + 1).unwrap_or(1);
            sqlx::query(
                "INSERT INTO forms (id, version, resource, schema, checksum, deployment_id, \
                 deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&f.id)
            .bind(version)
            .bind(&f.resource)
            .bind(&f.schema)
            .bind(&f.checksum)
            .bind(&deployment)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            deployed_forms.push(DeployedForm {
                form: FormRecord {
                    id: f.id.clone(),
                    version,
                    resource: f.resource.clone(),
                    schema: f.schema.clone(),
                    checksum: f.checksum.clone(),
                    deployment: deployment.clone(),
                },
                created: true,
            });
        }
        tx.commit().await.map_err(backend)?;
        Ok(Deployment {
            definitions: out,
            forms: deployed_forms,
        })
    }

    async fn form(&self, id: &str, version: Option<i32>) -> Result<Option<FormRecord>, StoreError> {
        let row = match version {
            Some(v) => sqlx::query(
                "SELECT id, version, resource, schema, checksum, deployment_id FROM forms \
                 WHERE id = ? AND version = ?",
            )
            .bind(id)
            .bind(v),
            None => sqlx::query(
                "SELECT id, version, resource, schema, checksum, deployment_id FROM forms \
                 WHERE id = ? ORDER BY version DESC LIMIT 1",
            )
            .bind(id),
        }
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(form_record).transpose()
    }

    async fn dossier(&self, code: &str) -> Result<Option<DossierRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE code = ?"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(dossier_record).transpose()
    }

    async fn unchecked_heads(&self, limit: i64) -> Result<Vec<Head>, StoreError> {
        let rows = sqlx::query(
            "SELECT id AS instance_id, journal_seq AS seq, journal_head AS hash FROM instances \
             WHERE journal_seq > checkpointed_seq AND journal_head IS NOT NULL \
             ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(head_row).collect()
    }

    async fn last_checkpoint(&self) -> Result<Option<CheckpointRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, at, size, root, payload, signature FROM journal_checkpoints \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(checkpoint_row).transpose()
    }

    async fn insert_checkpoint(
        &self,
        record: &CheckpointRecord,
        heads: &[Head],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO journal_checkpoints (id, at, size, root, payload, signature) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(record.id)
        .bind(record.at)
        .bind(record.size)
        .bind(&record.root)
        .bind(&record.payload)
        .bind(crate::checkpoint::signature_text(record))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for (chunk_no, chunk) in heads.chunks(CHECKPOINT_ROWS_PER_INSERT).enumerate() {
            let base = (chunk_no * CHECKPOINT_ROWS_PER_INSERT) as i64;
            let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
                "INSERT INTO checkpoint_leaves (checkpoint_id, leaf, instance_id, seq, hash) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut b, (i, h)| {
                b.push_bind(record.id)
                    .push_bind(base + i as i64)
                    .push_bind(&h.instance)
                    .push_bind(h.seq)
                    .push_bind(&h.hash);
            });
            q.build().execute(&mut *tx).await.map_err(backend)?;
            let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new("WITH v(id, seq) AS (");
            q.push_values(chunk, |mut b, h| {
                b.push_bind(&h.instance).push_bind(h.seq);
            });
            q.push(
                ") UPDATE instances SET checkpointed_seq = \
                 (SELECT v.seq FROM v WHERE v.id = instances.id) \
                 WHERE id IN (SELECT id FROM v) \
                 AND checkpointed_seq < (SELECT v.seq FROM v WHERE v.id = instances.id)",
            );
            q.build().execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn checkpoints_of(&self, instance: &str) -> Result<Vec<Coverage>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.at, c.size, c.root, c.payload, c.signature, l.leaf, l.seq, l.hash \
             FROM checkpoint_leaves l JOIN journal_checkpoints c ON c.id = l.checkpoint_id \
             WHERE l.instance_id = ? ORDER BY c.id",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(Coverage {
                    checkpoint: checkpoint_row(r)?,
                    head: Head {
                        instance: instance.to_owned(),
                        seq: r.try_get("seq").map_err(backend)?,
                        hash: r.try_get("hash").map_err(backend)?,
                    },
                    leaf: r.try_get("leaf").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn checkpoint_leaves(&self, id: i64) -> Result<Vec<Head>, StoreError> {
        let rows = sqlx::query(
            "SELECT instance_id, seq, hash FROM checkpoint_leaves WHERE checkpoint_id = ? \
             ORDER BY leaf",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(head_row).collect()
    }

    async fn next_dossier_number(&self, agency: &str, day: &str) -> Result<i64, StoreError> {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last FROM dossier_counters WHERE agency = ? AND day = ?")
                .bind(agency)
                .bind(day)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(last.unwrap_or(0) + 1)
    }

    async fn dossier_by_instance(
        &self,
        instance: InstanceId,
    ) -> Result<Option<DossierRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE instance_id = ?"
        ))
        .bind(instance.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(dossier_record).transpose()
    }

    async fn dossiers_received(
        &self,
        agency: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DossierRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE agency = ? AND received_at >= ? \
             AND received_at < ? ORDER BY received_at, code"
        ))
        .bind(agency)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(dossier_record).collect()
    }

    async fn dossier_documents(&self, code: &str) -> Result<Vec<DocumentRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM dossier_documents WHERE dossier_code = ? \
             ORDER BY slot, version"
        ))
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(document_record).collect()
    }

    async fn directive_assignments(
        &self,
        filter: &crate::directive::AssignmentFilter,
    ) -> Result<Vec<crate::directive::AssignmentRecord>, StoreError> {
        let mut sql = String::from(crate::directive::ASSIGNMENT_SELECT);
        let mut binds: Vec<String> = Vec::new();
        for (column, value) in [
            ("a.id", filter.id.clone()),
            ("a.directive_id", filter.directive.clone()),
            ("a.agency", filter.agency.clone()),
            ("d.issuer", filter.issuer.clone()),
            ("a.instance_id", filter.instance.map(|i| i.to_string())),
        ] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND {column} = ?"));
            }
        }
        sql.push_str(" ORDER BY a.created_at, a.id");
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter()
            .map(|r| {
                let parts: crate::directive::AssignmentParts =
                    sqlx::FromRow::from_row(r).map_err(backend)?;
                crate::directive::assignment_from_parts(parts)
            })
            .collect()
    }

    async fn directive_reports(
        &self,
        assignment: &str,
    ) -> Result<Vec<crate::directive::ReportRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, assignment_id, text, percent, reported_at, reported_by \
             FROM directive_reports WHERE assignment_id = ? ORDER BY reported_at, id",
        )
        .bind(assignment)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let parts: crate::directive::ReportParts =
                    sqlx::FromRow::from_row(r).map_err(backend)?;
                Ok(parts.into())
            })
            .collect()
    }

    async fn directive_extensions(
        &self,
        assignment: &str,
    ) -> Result<Vec<crate::directive::ExtensionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, assignment_id, reason, requested_deadline, requested_at, requested_by, \
             approved, new_deadline, decided_at, decided_by FROM directive_extensions \
             WHERE assignment_id = ? ORDER BY requested_at, id",
        )
        .bind(assignment)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let parts: crate::directive::ExtensionParts =
                    sqlx::FromRow::from_row(r).map_err(backend)?;
                Ok(parts.into())
            })
            .collect()
    }

    async fn directive_documents(
        &self,
        assignment: &str,
    ) -> Result<Vec<crate::directive::DirectiveDocumentRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM directive_documents WHERE assignment_id = ? \
             ORDER BY added_at, id",
            crate::directive::documents::DIRECTIVE_DOCUMENT_COLUMNS
        ))
        .bind(assignment)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| sqlx::FromRow::from_row(r).map_err(backend))
            .collect()
    }

    async fn dossier_signatures(&self, code: &str) -> Result<Vec<SignatureRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SIGNATURE_COLUMNS} FROM dossier_signatures WHERE dossier_code = ? \
             ORDER BY added_at, id"
        ))
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| sqlx::FromRow::from_row(r).map_err(backend))
            .collect()
    }

    async fn dossier_transfers(
        &self,
        code: &str,
    ) -> Result<Vec<crate::dossier::TransferRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM dossier_transfers WHERE dossier_code = ? ORDER BY sent_at, id",
            crate::dossier::transfer::TRANSFER_COLUMNS
        ))
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let parts: crate::dossier::transfer::TransferParts =
                    sqlx::FromRow::from_row(r).map_err(backend)?;
                crate::dossier::transfer::transfer_from_parts(parts)
            })
            .collect()
    }

    async fn transfer(
        &self,
        id: &str,
    ) -> Result<Option<crate::dossier::TransferRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM dossier_transfers WHERE id = ?",
            crate::dossier::transfer::TRANSFER_COLUMNS
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            Some(r) => {
                let parts: crate::dossier::transfer::TransferParts =
                    sqlx::FromRow::from_row(&r).map_err(backend)?;
                Ok(Some(crate::dossier::transfer::transfer_from_parts(parts)?))
            }
            None => Ok(None),
        }
    }

    async fn applicant_documents(
        &self,
        kind: ApplicantKind,
        id: &str,
    ) -> Result<Vec<ApplicantDocument>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {APPLICANT_DOCUMENT_COLUMNS} FROM applicant_documents \
             WHERE owner_kind = ? AND owner_id = ? ORDER BY certified_at, id"
        ))
        .bind(kind.as_str())
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(applicant_document).collect()
    }

    async fn applicant_document(&self, id: &str) -> Result<Option<ApplicantDocument>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {APPLICANT_DOCUMENT_COLUMNS} FROM applicant_documents WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(applicant_document).transpose()
    }

    async fn definitions(&self) -> Result<Vec<DefinitionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, version, name, resource, checksum, deployment_id, deployed_at \
             FROM definitions ORDER BY key, version",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(definition_record).collect()
    }

    async fn definition(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> Result<Option<(DefinitionRecord, String)>, StoreError> {
        let row = match version {
            Some(v) => sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at, xml \
                 FROM definitions WHERE key = ? AND version = ?",
            )
            .bind(key)
            .bind(v),
            None => sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at, xml \
                 FROM definitions WHERE key = ? ORDER BY version DESC LIMIT 1",
            )
            .bind(key),
        }
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((
                definition_record(&r)?,
                r.try_get("xml").map_err(backend)?,
            ))),
        }
    }

    async fn definition_record(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> Result<Option<DefinitionRecord>, StoreError> {
        let row = match version {
            Some(v) => sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at \
                 FROM definitions WHERE key = ? AND version = ?",
            )
            .bind(key)
            .bind(v),
            None => sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at \
                 FROM definitions WHERE key = ? ORDER BY version DESC LIMIT 1",
            )
            .bind(key),
        }
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(definition_record).transpose()
    }

    async fn instance(&self, id: InstanceId) -> Result<Option<StoredInstance>, StoreError> {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM instances WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match state {
            None => Ok(None),
            Some(s) => Ok(Some(StoredInstance {
                state: serde_json::from_str(&s).map_err(|e| corrupt("instance state", e))?,
            })),
        }
    }

    async fn task_instance(&self, task: TaskId) -> Result<Option<InstanceId>, StoreError> {
        let id: Option<String> = sqlx::query_scalar("SELECT instance_id FROM tasks WHERE id = ?")
            .bind(task.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        id.map(|s| parse_uuid(&s).map(InstanceId::from_uuid))
            .transpose()
    }

    async fn job_instance(
        &self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> Result<Option<(InstanceId, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT instance_id, CASE WHEN lock_expires_at > ? THEN lock_owner END AS owner \
             FROM jobs WHERE id = ?",
        )
        .bind(now)
        .bind(job.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let instance: String = r.try_get("instance_id").map_err(backend)?;
                Ok(Some((
                    InstanceId::from_uuid(parse_uuid(&instance)?),
                    r.try_get("owner").map_err(backend)?,
                )))
            }
        }
    }

    async fn idempotent(&self, key: &str) -> Result<Option<(String, Value)>, StoreError> {
        let row = sqlx::query("SELECT fingerprint, response FROM idempotency WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let response: String = r.try_get("response").map_err(backend)?;
                Ok(Some((
                    r.try_get("fingerprint").map_err(backend)?,
                    serde_json::from_str(&response).map_err(|e| corrupt("response", e))?,
                )))
            }
        }
    }

    async fn record_idempotent(
        &self,
        record: &super::IdempotencyRecord,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO idempotency (key, fingerprint, response, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&record.key)
        .bind(&record.fingerprint)
        .bind(record.response.to_string())
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        self.run_batch(&commit, None).await.map_err(commit_error)
    }

    async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let (mut q, by_group_in_order) = task_filter(query, "t.*");
        q.push(match query.sort {
            TaskSort::Created if by_group_in_order => " ORDER BY c.created_at, c.task_id",
            TaskSort::Created => " ORDER BY t.created_at, t.id",
            TaskSort::Due => " ORDER BY t.due_at IS NULL, t.due_at, t.created_at, t.id",
        });
        q.push(" LIMIT ")
            .push_bind(query.limit.unwrap_or(50).clamp(1, 1000) as i64)
            .push(" OFFSET ")
            .push_bind(query.offset.unwrap_or(0) as i64);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(task_row).collect()
    }

    async fn count_tasks(&self, query: &TaskQuery) -> Result<i64, StoreError> {
        let (mut q, _) = task_filter(query, "COUNT(*)");
        q.build_query_scalar::<i64>()
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn task(&self, id: TaskId) -> Result<Option<TaskRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM tasks WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(task_row).transpose()
    }

    async fn journal(&self, id: InstanceId) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, actor, at, data, hash FROM journal WHERE instance_id = ? \
             ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data").map_err(backend)?;
                Ok(JournalEntry {
                    seq: r.try_get("seq").map_err(backend)?,
                    kind: r.try_get("kind").map_err(backend)?,
                    actor: r.try_get("actor").map_err(backend)?,
                    at: r.try_get("at").map_err(backend)?,
                    event: serde_json::from_str(&data).map_err(|e| corrupt("journal event", e))?,
                    hash: r.try_get("hash").map_err(backend)?,
                    data,
                })
            })
            .collect()
    }

    async fn lock_jobs(
        &self,
        topic: &str,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<LockedJob>, StoreError> {
        let rows = sqlx::query(
            "UPDATE jobs SET lock_owner = ?, lock_expires_at = ? WHERE id IN ( \
               SELECT id FROM jobs WHERE topic = ? AND kind = 'external' AND state = 'open' \
               AND due_at <= ? \
               AND (lock_expires_at IS NULL OR lock_expires_at <= ?) \
               ORDER BY due_at, id LIMIT ?) \
             RETURNING id, instance_id, node_id, topic, retries, due_at, lock_expires_at",
        )
        .bind(worker)
        .bind(until)
        .bind(topic)
        .bind(now)
        .bind(now)
        .bind(max.min(1000) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                let id: String = r.try_get("id").map_err(backend)?;
                let instance: String = r.try_get("instance_id").map_err(backend)?;
                let retries: i64 = r.try_get("retries").map_err(backend)?;
                Ok(LockedJob {
                    record: JobRecord {
                        id: JobId::from_uuid(parse_uuid(&id)?),
                        kind: JobKind::External,
                        instance: InstanceId::from_uuid(parse_uuid(&instance)?),
                        node: r.try_get("node_id").map_err(backend)?,
                        topic: r.try_get("topic").map_err(backend)?,
                        retries: retries.max(0) as u32,
                        due_at: r.try_get("due_at").map_err(backend)?,
                    },
                    lock_expires_at: r.try_get("lock_expires_at").map_err(backend)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        jobs.sort_by_key(|j| (j.record.due_at, j.record.id));
        Ok(jobs)
    }

    async fn incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, instance_id, node_id, message, created_at FROM incidents \
             WHERE resolved_at IS NULL ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let job: String = r.try_get("job_id").map_err(backend)?;
                let instance: Option<String> = r.try_get("instance_id").map_err(backend)?;
                Ok(IncidentRow {
                    job: JobId::from_uuid(parse_uuid(&job)?),
                    instance: instance
                        .map(|i| parse_uuid(&i).map(InstanceId::from_uuid))
                        .transpose()?,
                    node: r.try_get("node_id").map_err(backend)?,
                    message: r.try_get("message").map_err(backend)?,
                    created_at: r.try_get("created_at").map_err(backend)?,
                })
            })
            .collect()
    }
    async fn job(&self, id: JobId) -> Result<Option<DueJob>, StoreError> {
        let row = sqlx::query(
            "SELECT id, kind, instance_id, definition_key, definition_version, node_id, topic, \
             retries, fired, due_at, payload FROM jobs WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(due_job).transpose()
    }

    async fn claim_due_jobs(
        &self,
        worker: &str,
        topics: &[String],
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueJob>, StoreError> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE jobs SET lock_owner = ");
        q.push_bind(worker)
            .push(", lock_expires_at = ")
            .push_bind(until)
            .push(" WHERE id IN (SELECT id FROM jobs WHERE state = 'open' AND due_at <= ")
            .push_bind(now)
            .push(" AND (lock_expires_at IS NULL OR lock_expires_at <= ")
            .push_bind(now)
            .push(
                ") AND (kind IN ('timer', 'timer_start', 'message', 'call_start', 'call_return', \
                 'call_cancel')",
            );
        if !topics.is_empty() {
            q.push(" OR (kind = 'external' AND topic IN (");
            let mut list = q.separated(", ");
            for t in topics {
                list.push_bind(t.clone());
            }
            q.push("))");
        }
        q.push(") ORDER BY due_at, id LIMIT ")
            .push_bind(max.min(10_000) as i64)
            .push(
                ") RETURNING id, kind, instance_id, definition_key, definition_version, node_id, \
                 topic, retries, fired, due_at, payload",
            );
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let mut jobs = rows.iter().map(due_job).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (j.due_at, j.id));
        Ok(jobs)
    }

    async fn oldest_subscription(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<InstanceId>, StoreError> {
        let row: Option<String> = sqlx::query_scalar(
            "SELECT instance_id FROM message_subscriptions WHERE name = ? AND correlation_key = ? \
             ORDER BY created_at, instance_id, subscription LIMIT 1",
        )
        .bind(name)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|i| parse_uuid(&i).map(InstanceId::from_uuid))
            .transpose()
    }

    async fn buffer_message(&self, m: &MessageRecord) -> Result<bool, StoreError> {
        let payload = serde_json::to_string(&m.payload).map_err(|e| corrupt("message", e))?;
        let done = sqlx::query(
            "INSERT INTO buffered_messages (id, name, correlation_key, payload, created_at, \
             expires_at, state) VALUES (?, ?, ?, ?, ?, ?, 'buffered') ON CONFLICT (id) DO NOTHING",
        )
        .bind(&m.id)
        .bind(&m.name)
        .bind(m.correlation_key.clone().unwrap_or_default())
        .bind(payload)
        .bind(m.created_at)
        .bind(m.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM buffered_messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(message_row).transpose()
    }

    async fn deliverable_messages(
        &self,
        instance: Option<InstanceId>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(InstanceId, MessageRecord)>, StoreError> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT m.*, (SELECT s.instance_id FROM message_subscriptions s WHERE s.name = m.name \
             AND s.correlation_key = m.correlation_key",
        );
        if let Some(i) = instance {
            q.push(" AND s.instance_id = ").push_bind(i.to_string());
        }
        q.push(
            " ORDER BY s.created_at, s.instance_id, s.subscription LIMIT 1) AS waiting \
             FROM buffered_messages m WHERE m.state = 'buffered' AND m.expires_at > ",
        )
        .push_bind(now)
        .push(" ORDER BY m.created_at, m.id");
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        let mut out = Vec::new();
        for r in &rows {
            let waiting: Option<String> = r.try_get("waiting").map_err(backend)?;
            if let Some(i) = waiting {
                out.push((InstanceId::from_uuid(parse_uuid(&i)?), message_row(r)?));
                if out.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn close_job(&self, job: JobId) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'completed', lock_owner = NULL, lock_expires_at = NULL \
             WHERE id = ? AND state = 'open'",
        )
        .bind(job.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_expired_messages(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM buffered_messages WHERE state = 'buffered' AND expires_at < ?",
        )
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn commit_timer_start(&self, job: JobId, commit: Commit<'_>) -> Result<bool, StoreError> {
        match self.run_batch(&commit, Some(job)).await {
            Ok(()) => Ok(true),
            // The guard found the job closed: another runner fired it.
            Err(e) if e.to_string().contains("jobs.state") => Ok(false),
            Err(e) => Err(commit_error(e)),
        }
    }

    async fn fail_unowned_job(
        &self,
        job: JobId,
        error: &str,
        retries: u32,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id = job.to_string();
        if retries == 0 {
            sqlx::query(
                "UPDATE jobs SET state = 'incident', retries = 0, last_error = ?, \
                 lock_owner = NULL, lock_expires_at = NULL WHERE id = ?",
            )
            .bind(error)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "INSERT INTO incidents (job_id, instance_id, node_id, message, created_at) \
                 SELECT id, instance_id, node_id, ?, ? FROM jobs WHERE id = ? \
                 ON CONFLICT (job_id) DO UPDATE SET message = excluded.message, \
                 created_at = excluded.created_at, resolved_at = NULL",
            )
            .bind(error)
            .bind(at)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        } else {
            sqlx::query(
                "UPDATE jobs SET retries = ?, due_at = ?, last_error = ?, lock_owner = NULL, \
                 lock_expires_at = NULL WHERE id = ?",
            )
            .bind(retries as i64)
            .bind(due_at)
            .bind(error)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn retry_unowned_job(
        &self,
        job: JobId,
        retries: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id = job.to_string();
        sqlx::query(
            "UPDATE jobs SET state = 'open', retries = ?, due_at = ?, lock_owner = NULL, \
             lock_expires_at = NULL WHERE id = ? AND state = 'incident'",
        )
        .bind(retries.max(1) as i64)
        .bind(at)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "UPDATE incidents SET resolved_at = ? WHERE job_id = ? AND resolved_at IS NULL",
        )
        .bind(at)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn put_schedule(
        &self,
        schedule: &ScheduleRow,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedules (name, cron, handler, next_due, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, handler = excluded.handler, \
             next_due = excluded.next_due, lock_owner = NULL, lock_expires_at = NULL",
        )
        .bind(&schedule.name)
        .bind(&schedule.cron)
        .bind(&schedule.handler)
        .bind(schedule.next_due)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn remove_schedule(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM schedules WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        let rows = sqlx::query("SELECT name, cron, handler, next_due FROM schedules ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(schedule_row).collect()
    }

    async fn claim_due_schedules(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ScheduleRow>, StoreError> {
        let rows = sqlx::query(
            "UPDATE schedules SET lock_owner = ?, lock_expires_at = ? WHERE name IN ( \
               SELECT name FROM schedules WHERE next_due <= ? \
               AND (lock_expires_at IS NULL OR lock_expires_at <= ?) ORDER BY next_due LIMIT ?) \
             RETURNING name, cron, handler, next_due",
        )
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(max.min(1000) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out = rows
            .iter()
            .map(schedule_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            a.next_due
                .cmp(&b.next_due)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    async fn record_schedule_run(
        &self,
        run: &ScheduleRun,
        next_due: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let inserted = sqlx::query(
            "INSERT INTO schedule_runs (name, due_at, ran_at, runner, result) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name, due_at) DO NOTHING",
        )
        .bind(&run.name)
        .bind(run.due_at)
        .bind(run.ran_at)
        .bind(&run.runner)
        .bind(run.result.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE schedules SET next_due = ?, lock_owner = NULL, lock_expires_at = NULL \
             WHERE name = ? AND next_due <= ?",
        )
        .bind(next_due)
        .bind(&run.name)
        .bind(run.due_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn schedule_runs(&self, name: &str) -> Result<Vec<ScheduleRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, due_at, ran_at, runner, result FROM schedule_runs WHERE name = ? \
             ORDER BY due_at DESC",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let result: String = r.try_get("result").map_err(backend)?;
                Ok(ScheduleRun {
                    name: r.try_get("name").map_err(backend)?,
                    due_at: r.try_get("due_at").map_err(backend)?,
                    ran_at: r.try_get("ran_at").map_err(backend)?,
                    runner: r.try_get("runner").map_err(backend)?,
                    result: serde_json::from_str(&result).map_err(|e| corrupt("run result", e))?,
                })
            })
            .collect()
    }

    async fn remove_finished(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<Removed, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM instances WHERE ended_at IS NOT NULL AND ended_at < ? \
             AND NOT EXISTS (SELECT 1 FROM dossiers d WHERE d.instance_id = instances.id) \
             ORDER BY ended_at LIMIT ?",
        )
        .bind(before)
        .bind(batch.clamp(1, 10_000) as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut removed = Removed::default();
        for id in &ids {
            let mut counts = [0u64; 5];
            for (i, sql) in [
                "DELETE FROM journal WHERE instance_id = ?",
                "DELETE FROM tasks WHERE instance_id = ?",
                "DELETE FROM jobs WHERE instance_id = ?",
                "DELETE FROM incidents WHERE instance_id = ?",
                "DELETE FROM instances WHERE id = ?",
            ]
            .into_iter()
            .enumerate()
            {
                counts[i] = sqlx::query(sql)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            removed.events += counts[0];
            removed.tasks += counts[1];
            removed.jobs += counts[2];
            removed.instances += counts[4];
        }
        removed.idempotency = sqlx::query(
            "DELETE FROM idempotency WHERE key IN \
             (SELECT key FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)",
        )
        .bind(before)
        .bind(batch.clamp(1, 10_000) as i64)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(removed)
    }

    async fn overdue_counts(&self) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.agency, COALESCE(g.value, '') AS grp, COUNT(*) AS n FROM tasks t \
             LEFT JOIN json_each(t.candidate_groups) g \
             WHERE t.state = 'open' AND t.overdue = 1 GROUP BY t.agency, grp ORDER BY t.agency, grp",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("agency").map_err(backend)?,
                    r.try_get("grp").map_err(backend)?,
                    r.try_get("n").map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn feed(
        &self,
        after: i64,
        limit: u32,
        filter: &EventFilter,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        read_feed(self, after, limit, filter).await
    }

    async fn statistics(
        &self,
        filter: &StatsFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatsRow>, StoreError> {
        read_statistics(&self.pool, filter, now).await
    }

    async fn put_webhook(&self, row: &WebhookRow) -> Result<(), StoreError> {
        let kinds = row
            .kinds
            .as_ref()
            .map(|k| serde_json::to_string(k).map_err(|e| corrupt("webhook kinds", e)))
            .transpose()?;
        sqlx::query(
            "INSERT INTO webhook_subscriptions (id, url, secret, kinds, agency, created_at, cursor, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? < 0 THEN COALESCE((SELECT MAX(id) FROM journal), 0) ELSE ? END, 0, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.url)
        .bind(&row.secret)
        .bind(kinds)
        .bind(&row.agency)
        .bind(row.created_at)
        .bind(row.cursor)
        .bind(row.cursor)
        .bind(row.next_attempt_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, secret, kinds, agency, created_at, cursor, attempts, next_attempt_at, last_error FROM webhook_subscriptions WHERE active = 1 ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(webhook_row).collect()
    }

    async fn remove_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_subscriptions SET active = 0, lock_owner = NULL, lock_expires_at = NULL WHERE id = ? AND active = 1",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn claim_due_webhooks(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(
            "UPDATE webhook_subscriptions SET lock_owner = ?, lock_expires_at = ? WHERE id IN ( SELECT id FROM webhook_subscriptions WHERE active = 1 AND next_attempt_at <= ? AND (lock_expires_at IS NULL OR lock_expires_at <= ?) ORDER BY next_attempt_at LIMIT ?) RETURNING id, url, secret, kinds, agency, created_at, cursor, attempts, next_attempt_at, last_error",
        )
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(max.clamp(1, 1000) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out = rows
            .iter()
            .map(webhook_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            a.next_attempt_at
                .cmp(&b.next_attempt_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    async fn record_webhook(
        &self,
        id: &str,
        worker: &str,
        progress: &WebhookProgress,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_subscriptions SET cursor = ?, attempts = ?, next_attempt_at = ?, last_error = ?, lock_owner = CASE WHEN ? THEN NULL ELSE lock_owner END, lock_expires_at = CASE WHEN ? THEN NULL ELSE lock_expires_at END WHERE id = ? AND lock_owner = ? AND active = 1",
        )
        .bind(progress.cursor)
        .bind(i64::from(progress.attempts))
        .bind(progress.next_attempt_at)
        .bind(&progress.last_error)
        .bind(progress.release)
        .bind(progress.release)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn exchange_outbox(
        &self,
        dossier_code: &str,
    ) -> Result<Vec<crate::exchange::OutboxRow>, StoreError> {
        let rows: Vec<crate::exchange::OutboxParts> = sqlx::query_as(&format!(
            "SELECT {} FROM exchange_outbox WHERE dossier_code = ? ORDER BY created_at, id",
            crate::exchange::OUTBOX_COLUMNS
        ))
        .bind(dossier_code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn exchange_links(
        &self,
        dossier_code: &str,
    ) -> Result<Vec<crate::exchange::LinkRow>, StoreError> {
        let rows: Vec<crate::exchange::LinkParts> = sqlx::query_as(&format!(
            "SELECT {} FROM exchange_links WHERE dossier_code = ? ORDER BY at, message_id",
            crate::exchange::LINK_COLUMNS
        ))
        .bind(dossier_code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn exchange_link(
        &self,
        message_id: &str,
    ) -> Result<Option<crate::exchange::LinkRow>, StoreError> {
        let row: Option<crate::exchange::LinkParts> = sqlx::query_as(&format!(
            "SELECT {} FROM exchange_links WHERE message_id = ?",
            crate::exchange::LINK_COLUMNS
        ))
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.map(Into::into))
    }

    async fn claim_due_exchange(
        &self,
        worker: &str,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::exchange::OutboxRow>, StoreError> {
        let rows: Vec<crate::exchange::OutboxParts> = sqlx::query_as(&format!(
            "UPDATE exchange_outbox SET lock_owner = ?, lock_expires_at = ? WHERE id IN (SELECT id FROM exchange_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (lock_expires_at IS NULL OR lock_expires_at <= ?) ORDER BY next_attempt_at LIMIT ?) RETURNING {}",
            crate::exchange::OUTBOX_COLUMNS
        ))
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(max.clamp(1, 1000) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out: Vec<crate::exchange::OutboxRow> = rows.into_iter().map(Into::into).collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn record_exchange(
        &self,
        id: &str,
        worker: &str,
        progress: &crate::exchange::DeliveryProgress,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE exchange_outbox SET delivered_at = ?, attempts = ?, next_attempt_at = ?, last_error = ?, lock_owner = NULL, lock_expires_at = NULL WHERE id = ? AND lock_owner = ?",
        )
        .bind(progress.delivered_at)
        .bind(i64::from(progress.attempts))
        .bind(progress.next_attempt_at)
        .bind(&progress.last_error)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }
}

fn due_job(r: &SqliteRow) -> Result<DueJob, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    let instance: Option<String> = r.try_get("instance_id").map_err(backend)?;
    let key: Option<String> = r.try_get("definition_key").map_err(backend)?;
    let version: Option<i32> = r.try_get("definition_version").map_err(backend)?;
    let retries: i64 = r.try_get("retries").map_err(backend)?;
    Ok(DueJob {
        id: JobId::from_uuid(parse_uuid(&id)?),
        kind: r.try_get("kind").map_err(backend)?,
        instance: instance
            .map(|i| parse_uuid(&i).map(InstanceId::from_uuid))
            .transpose()?,
        definition: key.zip(version),
        node: r.try_get("node_id").map_err(backend)?,
        topic: r.try_get("topic").map_err(backend)?,
        retries: retries.max(0) as u32,
        fired: r.try_get::<i64, _>("fired").map_err(backend)?.max(0) as u32,
        due_at: r.try_get("due_at").map_err(backend)?,
        payload: r.try_get("payload").map_err(backend)?,
    })
}

fn message_row(r: &SqliteRow) -> Result<MessageRecord, StoreError> {
    let key: String = r.try_get("correlation_key").map_err(backend)?;
    let payload: String = r.try_get("payload").map_err(backend)?;
    let consumed_by: Option<String> = r.try_get("consumed_by").map_err(backend)?;
    Ok(MessageRecord {
        id: r.try_get("id").map_err(backend)?,
        name: r.try_get("name").map_err(backend)?,
        correlation_key: (!key.is_empty()).then_some(key),
        payload: serde_json::from_str(&payload).map_err(|e| corrupt("message payload", e))?,
        created_at: r.try_get("created_at").map_err(backend)?,
        expires_at: r.try_get("expires_at").map_err(backend)?,
        consumed_by: consumed_by
            .map(|i| parse_uuid(&i).map(InstanceId::from_uuid))
            .transpose()?,
    })
}

fn schedule_row(r: &SqliteRow) -> Result<ScheduleRow, StoreError> {
    Ok(ScheduleRow {
        name: r.try_get("name").map_err(backend)?,
        cron: r.try_get("cron").map_err(backend)?,
        handler: r.try_get("handler").map_err(backend)?,
        next_due: r.try_get("next_due").map_err(backend)?,
    })
}

// ---- the event feed and statistics -----------------------------------------------------------

/// The feed on SQLite: `feed_seq` is the journal's AUTOINCREMENT id (a generated column). Rows are
/// written by the one writer connection inside its transaction, so ids grow in commit order,
/// and a reader's WAL snapshot always holds a prefix of them: no reader can see id N+1 without
/// N. Nothing needs sequencing afterwards.
async fn read_feed(
    store: &SqliteStore,
    after: i64,
    limit: u32,
    filter: &EventFilter,
) -> Result<Vec<FeedEvent>, StoreError> {
    if filter.kinds.as_ref().is_some_and(|k| k.is_empty()) {
        return Ok(Vec::new());
    }
    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT j.id AS feed_seq, j.instance_id, i.definition_key, i.agency, j.kind, j.at, \
         j.actor, j.data FROM journal j JOIN instances i ON i.id = j.instance_id WHERE j.id > ",
    );
    q.push_bind(after);
    if let Some(agency) = &filter.agency {
        q.push(" AND i.agency = ").push_bind(agency.clone());
    }
    if let Some(key) = &filter.definition_key {
        q.push(" AND i.definition_key = ").push_bind(key.clone());
    }
    if let Some(kinds) = &filter.kinds {
        q.push(" AND j.kind IN (");
        let mut list = q.separated(", ");
        for kind in kinds {
            list.push_bind(kind.clone());
        }
        q.push(")");
    }
    q.push(" ORDER BY j.id LIMIT ")
        .push_bind(i64::from(limit.clamp(1, 10_000)));
    let rows = q.build().fetch_all(&store.pool).await.map_err(backend)?;
    rows.iter().map(feed_event).collect()
}

fn feed_event(r: &SqliteRow) -> Result<FeedEvent, StoreError> {
    let instance: String = r.try_get("instance_id").map_err(backend)?;
    let data: String = r.try_get("data").map_err(backend)?;
    Ok(FeedEvent {
        seq: r.try_get("feed_seq").map_err(backend)?,
        instance: InstanceId::from_uuid(parse_uuid(&instance)?),
        definition_key: r.try_get("definition_key").map_err(backend)?,
        agency: r.try_get("agency").map_err(backend)?,
        kind: r.try_get("kind").map_err(backend)?,
        at: r.try_get("at").map_err(backend)?,
        actor: r.try_get("actor").map_err(backend)?,
        event: serde_json::from_str(&data).map_err(|e| corrupt("journal event", e))?,
    })
}

/// Statistics: three grouped index queries (started in the period; active now; completed in
/// the period). Times are stored as RFC 3339 text in UTC, so they compare as text; "early" is
/// a Vietnam (UTC+7) calendar day before the due date's day.
async fn read_statistics(
    pool: &SqlitePool,
    filter: &StatsFilter,
    now: DateTime<Utc>,
) -> Result<Vec<StatsRow>, StoreError> {
    let scoped = |q: &mut QueryBuilder<'_, Sqlite>| {
        if let Some(agency) = &filter.agency {
            q.push(" AND agency = ").push_bind(agency.clone());
        }
        if let Some(key) = &filter.definition_key {
            q.push(" AND definition_key = ").push_bind(key.clone());
        }
        q.push(" GROUP BY agency, definition_key");
    };
    let mut parts = Vec::new();

    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT agency, definition_key, COUNT(*) AS a, 0 AS b, 0 AS c FROM instances \
         WHERE started_at >= ",
    );
    q.push_bind(filter.from)
        .push(" AND started_at < ")
        .push_bind(filter.to);
    scoped(&mut q);
    for r in q.build().fetch_all(pool).await.map_err(backend)? {
        let (agency, key, a, _, _) = stats_part(&r)?;
        let row = StatsRow {
            received: a,
            ..StatsRow::default()
        };
        parts.push((agency, key, row));
    }

    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT agency, definition_key, COUNT(*) AS a, \
         SUM(CASE WHEN due_at IS NOT NULL AND due_at < ",
    );
    q.push_bind(now)
        .push(" THEN 1 ELSE 0 END) AS b, 0 AS c FROM instances WHERE status = 'active'");
    scoped(&mut q);
    for r in q.build().fetch_all(pool).await.map_err(backend)? {
        let (agency, key, a, b, _) = stats_part(&r)?;
        let row = StatsRow {
            in_progress: a,
            overdue: b,
            ..StatsRow::default()
        };
        parts.push((agency, key, row));
    }

    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT agency, definition_key, \
         SUM(CASE WHEN due_at IS NULL OR ended_at <= due_at THEN 1 ELSE 0 END) AS a, \
         SUM(CASE WHEN due_at IS NOT NULL AND ended_at > due_at THEN 1 ELSE 0 END) AS b, \
         SUM(CASE WHEN due_at IS NOT NULL \
             AND date(ended_at, '+7 hours') < date(due_at, '+7 hours') THEN 1 ELSE 0 END) AS c \
         FROM instances WHERE status = 'completed' AND ended_at >= ",
    );
    q.push_bind(filter.from)
        .push(" AND ended_at < ")
        .push_bind(filter.to);
    scoped(&mut q);
    for r in q.build().fetch_all(pool).await.map_err(backend)? {
        let (agency, key, a, b, c) = stats_part(&r)?;
        let row = StatsRow {
            done_on_time: a,
            done_late: b,
            done_early: c,
            ..StatsRow::default()
        };
        parts.push((agency, key, row));
    }
    Ok(super::merge_stats(parts))
}

type StatsPart = (Option<String>, String, u64, u64, u64);

fn stats_part(r: &SqliteRow) -> Result<StatsPart, StoreError> {
    let count = |name: &str| -> Result<u64, StoreError> {
        let n: Option<i64> = r.try_get(name).map_err(backend)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    };
    Ok((
        r.try_get("agency").map_err(backend)?,
        r.try_get("definition_key").map_err(backend)?,
        count("a")?,
        count("b")?,
        count("c")?,
    ))
}

fn webhook_row(r: &SqliteRow) -> Result<WebhookRow, StoreError> {
    let kinds: Option<String> = r.try_get("kinds").map_err(backend)?;
    let attempts: i64 = r.try_get("attempts").map_err(backend)?;
    Ok(WebhookRow {
        id: r.try_get("id").map_err(backend)?,
        url: r.try_get("url").map_err(backend)?,
        secret: r.try_get("secret").map_err(backend)?,
        kinds: kinds
            .map(|k| serde_json::from_str(&k).map_err(|e| corrupt("webhook kinds", e)))
            .transpose()?,
        agency: r.try_get("agency").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        cursor: r.try_get("cursor").map_err(backend)?,
        attempts: attempts.max(0) as u32,
        next_attempt_at: r.try_get("next_attempt_at").map_err(backend)?,
        last_error: r.try_get("last_error").map_err(backend)?,
    })
}

/// Appends an exchange effect (see [`crate::exchange`]): a message queued for a peer, or a
/// message linked to its dossier (a second link of one message id breaks the primary key: a
/// message is applied once).
fn push_exchange_effect(q: &mut QueryBuilder<'static, Sqlite>, effect: &ExchangeEffect) {
    match effect {
        ExchangeEffect::Queued(m) => {
            q.push(
                "INSERT INTO exchange_outbox (id, peer, kind, dossier_code, body, signature, \
                 created_at, attempts, next_attempt_at) VALUES (",
            );
            q.separated(", ")
                .push_bind(m.id.clone())
                .push_bind(m.peer.clone())
                .push_bind(m.kind.clone())
                .push_bind(m.dossier_code.clone())
                .push_bind(m.body.clone())
                .push_bind(m.signature.clone())
                .push_bind(m.created_at)
                .push_bind(i64::from(m.attempts))
                .push_bind(m.next_attempt_at);
            q.push(");\n");
        }
        ExchangeEffect::Linked(l) => {
            q.push(
                "INSERT INTO exchange_links (message_id, dossier_code, direction, kind, peer, \
                 remote_code, at) VALUES (",
            );
            q.separated(", ")
                .push_bind(l.message_id.clone())
                .push_bind(l.dossier_code.clone())
                .push_bind(l.direction.clone())
                .push_bind(l.kind.clone())
                .push_bind(l.peer.clone())
                .push_bind(l.remote_code.clone())
                .push_bind(l.at);
            q.push(");\n");
        }
    }
}

/// Appends a directive effect (see [`crate::directive`]). A stale assignment version sets the
/// version to NULL: refused by NOT NULL, mapped to a version conflict.
fn push_directive_effect(
    q: &mut QueryBuilder<'static, Sqlite>,
    effect: &DirectiveEffect,
    at: DateTime<Utc>,
) {
    match effect {
        DirectiveEffect::Issued(d) => {
            let (number, date) = match &d.source {
                DirectiveSource::Document { number, date } => (Some(number.clone()), *date),
                DirectiveSource::Meeting { date } => (None, *date),
            };
            q.push(
                "INSERT INTO directives (id, issuer, source_kind, source_number, source_date, \
                 summary, content, priority, issued_at, issued_by, report_every_days) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(d.id.clone())
                .push_bind(d.issuer.clone())
                .push_bind(crate::directive::source_kind(&d.source))
                .push_bind(number)
                .push_bind(date)
                .push_bind(d.summary.clone())
                .push_bind(d.content.clone())
                .push_bind(d.priority.clone())
                .push_bind(d.issued_at)
                .push_bind(d.issued_by.clone())
                .push_bind(i64::from(d.report_every_days));
            q.push(");\n");
        }
        DirectiveEffect::AssignmentCreated {
            id,
            directive,
            parent,
            agency,
            role,
            title,
            deadline,
            instance,
        } => {
            q.push(
                "INSERT INTO directive_assignments (id, directive_id, parent_id, agency, role, \
                 title, deadline, original_deadline, instance_id, state, progress, \
                 completed_at, accepted_at, created_at, updated_at, version) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(id.clone())
                .push_bind(directive.clone())
                .push_bind(parent.clone())
                .push_bind(agency.clone())
                .push_bind(role.as_str())
                .push_bind(title.clone())
                .push_bind(*deadline)
                .push_bind(*deadline)
                .push_bind(instance.to_string())
                .push_bind(AssignmentState::InProgress.as_str())
                .push_bind(0_i32)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(at)
                .push_bind(at)
                .push_bind(1_i64);
            q.push(");\n");
        }
        DirectiveEffect::AssignmentUpdated(AssignmentChange {
            id,
            expected_version,
            state,
            progress,
            deadline,
            completed_at,
            clear_completed,
            accepted_at,
        }) => {
            q.push("UPDATE directive_assignments SET version = CASE WHEN version = ")
                .push_bind(*expected_version)
                .push(" THEN ")
                .push_bind(expected_version + 1)
                .push(" END, state = COALESCE(")
                .push_bind(state.map(|s| s.as_str()))
                .push(", state), progress = COALESCE(")
                .push_bind(*progress)
                .push(", progress), deadline = COALESCE(")
                .push_bind(*deadline)
                .push(", deadline), completed_at = CASE WHEN ")
                .push_bind(*clear_completed)
                .push(" THEN NULL ELSE COALESCE(")
                .push_bind(*completed_at)
                .push(", completed_at) END, accepted_at = COALESCE(")
                .push_bind(*accepted_at)
                .push(", accepted_at), updated_at = ")
                .push_bind(at)
                .push(" WHERE id = ")
                .push_bind(id.clone())
                .push(";\n");
        }
        DirectiveEffect::ReportAdded(r) => {
            q.push(
                "INSERT INTO directive_reports (id, assignment_id, text, percent, reported_at, \
                 reported_by) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(r.id.clone())
                .push_bind(r.assignment.clone())
                .push_bind(r.text.clone())
                .push_bind(r.percent)
                .push_bind(r.reported_at)
                .push_bind(r.reported_by.clone());
            q.push(");\n");
        }
        DirectiveEffect::DocumentAttached(d) => {
            q.push(format!(
                "INSERT INTO directive_documents ({}) VALUES (",
                crate::directive::documents::DIRECTIVE_DOCUMENT_COLUMNS
            ));
            let mut v = q.separated(", ");
            v.push_bind(d.id.clone())
                .push_bind(d.assignment.clone())
                .push_bind(d.directive.clone())
                .push_bind(d.report.clone())
                .push_bind(d.name.clone())
                .push_bind(d.media_type.clone())
                .push_bind(d.sha256.clone())
                .push_bind(d.size)
                .push_bind(d.signature_sha256.clone())
                .push_bind(d.signer_subject.clone())
                .push_bind(d.signer_serial.clone())
                .push_bind(d.signer_issuer.clone())
                .push_bind(d.fingerprint.clone())
                .push_bind(d.signer_user.clone())
                .push_bind(d.signer_agency.clone())
                .push_bind(d.signing_time)
                .push_bind(d.server_side)
                .push_bind(d.added_at)
                .push_bind(d.added_by.clone());
            q.push(");\n");
        }
        DirectiveEffect::ExtensionRequested(x) => {
            q.push(
                "INSERT INTO directive_extensions (id, assignment_id, reason, \
                 requested_deadline, requested_at, requested_by, approved, new_deadline, \
                 decided_at, decided_by) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(x.id.clone())
                .push_bind(x.assignment.clone())
                .push_bind(x.reason.clone())
                .push_bind(x.requested_deadline)
                .push_bind(x.requested_at)
                .push_bind(x.requested_by.clone())
                .push_bind(None::<bool>)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(None::<DateTime<Utc>>)
                .push_bind(None::<String>);
            q.push(");\n");
        }
        DirectiveEffect::ExtensionDecided {
            id,
            approved,
            new_deadline,
            decided_by,
        } => {
            q.push("UPDATE directive_extensions SET approved = ")
                .push_bind(*approved)
                .push(", new_deadline = ")
                .push_bind(*new_deadline)
                .push(", decided_at = ")
                .push_bind(at)
                .push(", decided_by = ")
                .push_bind(decided_by.clone())
                .push(" WHERE id = ")
                .push_bind(id.clone())
                .push(";\n");
        }
    }
}
