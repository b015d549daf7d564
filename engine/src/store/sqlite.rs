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
    Commit, DefinitionRecord, Deployed, IncidentRow, JournalEntry, LockedJob, NewDefinition, Store,
    StoreError, StoredInstance, TaskQuery, TaskRow,
};
use crate::command::{Effect, JobRecord, TaskRecord};
use crate::ids::{InstanceId, JobId, TaskId};
use crate::state::InstanceState;

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
        })
    }

    /// The pool, for tests that inspect tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
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
        },
        state: row.try_get("state").map_err(backend)?,
        closed_at: row.try_get("closed_at").map_err(backend)?,
    })
}

/// Rows of one multi-row journal INSERT (6 binds a row, well under SQLite's bind limit).
const JOURNAL_ROWS_PER_INSERT: usize = 100;

/// Appends one projection effect to the commit batch.
fn push_effect(q: &mut QueryBuilder<'static, Sqlite>, effect: &Effect, at: DateTime<Utc>) {
    match effect {
        Effect::TaskCreated(t) => {
            let id = t.id.to_string();
            q.push(
                "INSERT INTO tasks (id, instance_id, definition_key, node_id, name, assignee, \
                 candidate_groups, candidate_users, agency, form_key, state, created_at) VALUES (",
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
                .push_bind(t.created_at);
            q.push(");\n");
        }
        Effect::TaskAssigned { task, assignee } => {
            q.push("UPDATE tasks SET assignee = ")
                .push_bind(assignee.clone())
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
                "INSERT INTO jobs (id, instance_id, node_id, topic, state, retries, due_at, \
                 created_at) VALUES (",
            );
            let mut v = q.separated(", ");
            v.push_bind(j.id.to_string())
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
}

/// Builds one command's whole write as ONE batch of statements, sent to SQLite in one round
/// trip: `BEGIN IMMEDIATE; <instance>; <journal>; <effects>; <idempotency>; COMMIT`.
///
/// The version check cannot be read half-way through a batch, so it is made to fail loudly: the
/// instance UPDATE sets `version` to NULL (refused by its NOT NULL constraint) when the stored
/// version is not the expected one, and the journal's UNIQUE (instance_id, seq) refuses a second
/// writer of the same sequence numbers. Either error stops the batch before COMMIT; the caller
/// then rolls back.
fn commit_batch(c: &Commit<'_>) -> Result<QueryBuilder<'static, Sqlite>, StoreError> {
    let state: &InstanceState = c.state;
    let id = state.id.to_string();
    let json = serde_json::to_string(state).map_err(|e| corrupt("state", e))?;
    let mut q: QueryBuilder<'static, Sqlite> = QueryBuilder::new("BEGIN IMMEDIATE;\n");
    match c.expected_version {
        None => {
            q.push(
                "INSERT INTO instances (id, definition_key, definition_version, business_key, \
                 status, version, state, started_at, ended_at, updated_at) VALUES (",
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
                .push_bind(c.at);
            q.push(");\n");
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
                .push(" WHERE id = ")
                .push_bind(id.clone())
                .push(";\n");
        }
    }
    let first_seq = state.journal_seq - c.events.len() as i64 + 1;
    for (chunk_no, chunk) in c.events.chunks(JOURNAL_ROWS_PER_INSERT).enumerate() {
        let base = first_seq + (chunk_no * JOURNAL_ROWS_PER_INSERT) as i64;
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, event) in chunk.iter().enumerate() {
            let data = serde_json::to_string(event).map_err(|e| corrupt("event", e))?;
            rows.push((base + i as i64, event.kind(), data));
        }
        let actor = c.actor.map(str::to_owned);
        q.push("INSERT INTO journal (instance_id, seq, kind, actor, at, data) ");
        q.push_values(rows, |mut b, (seq, kind, data)| {
            b.push_bind(id.clone())
                .push_bind(seq)
                .push_bind(kind)
                .push_bind(actor.clone())
                .push_bind(c.at)
                .push_bind(data);
        });
        q.push(";\n");
    }
    for effect in c.effects {
        push_effect(&mut q, effect, c.at);
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
    q.push("COMMIT;");
    Ok(q)
}

/// Maps a failed commit batch: a lost version race is a conflict, not a database failure.
fn commit_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let message = db.message();
        if message.contains("instances.version") || message.contains("journal.instance_id") {
            return StoreError::VersionConflict;
        }
        if message.contains("idempotency.key") {
            return StoreError::Duplicate("idempotency key".into());
        }
        if message.contains("instances.id") {
            return StoreError::Duplicate("instance id".into());
        }
    }
    backend(e)
}

impl Store for SqliteStore {
    async fn deploy(
        &self,
        name: &str,
        definitions: &[NewDefinition],
        at: DateTime<Utc>,
    ) -> Result<Vec<Deployed>, StoreError> {
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
                 deployment_id, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&d.key)
            .bind(version)
            .bind(&d.name)
            .bind(&d.resource)
            .bind(&d.checksum)
            .bind(&d.xml)
            .bind(&deployment)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
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
        tx.commit().await.map_err(backend)?;
        Ok(out)
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

    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        let mut batch = commit_batch(&commit)?;
        let mut writer = self.writer.lock().await;
        let mut retried = false;
        loop {
            match batch.build().execute(&mut *writer).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    // After a failed batch the transaction may still be open (also when an
                    // earlier caller went away mid-batch): roll it back before anything else.
                    let open_before = e.to_string().contains("within a transaction");
                    if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *writer).await {
                        tracing::debug!("rollback after a failed commit: {rollback}");
                    }
                    if open_before && !retried {
                        retried = true;
                        batch = commit_batch(&commit)?;
                        continue;
                    }
                    return Err(commit_error(e));
                }
            }
        }
    }

    async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM tasks t WHERE ");
        if query.include_closed {
            q.push("1 = 1");
        } else {
            q.push("t.state = 'open'");
        }
        if let Some(group) = &query.candidate_group {
            if query.include_closed {
                q.push(
                    " AND EXISTS (SELECT 1 FROM json_each(t.candidate_groups) g WHERE g.value = ",
                )
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
        if let Some(instance) = &query.instance {
            q.push(" AND t.instance_id = ")
                .push_bind(instance.to_string());
        }
        q.push(" ORDER BY t.created_at, t.id LIMIT ")
            .push_bind(query.limit.unwrap_or(50).clamp(1, 1000) as i64)
            .push(" OFFSET ")
            .push_bind(query.offset.unwrap_or(0) as i64);
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(task_row).collect()
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
            "SELECT seq, kind, actor, at, data FROM journal WHERE instance_id = ? ORDER BY seq",
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
               SELECT id FROM jobs WHERE topic = ? AND state = 'open' AND due_at <= ? \
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
                let instance: String = r.try_get("instance_id").map_err(backend)?;
                Ok(IncidentRow {
                    job: JobId::from_uuid(parse_uuid(&job)?),
                    instance: InstanceId::from_uuid(parse_uuid(&instance)?),
                    node: r.try_get("node_id").map_err(backend)?,
                    message: r.try_get("message").map_err(backend)?,
                    created_at: r.try_get("created_at").map_err(backend)?,
                })
            })
            .collect()
    }
}
