//! The PostgreSQL backend, through sqlx (runtime queries, so building needs no database).
//!
//! Same semantics as the SQLite backend, so the same engine test suite passes on both; the
//! schema (`migrations/postgres`) has the same tables, columns and indexes, ids are the same UUID
//! text and times are `timestamptz`.
//!
//! Concurrency, with several engine nodes on one database (READ COMMITTED):
//! - a command's [`Store::commit`] is one transaction whose instance UPDATE carries
//!   `AND version = <expected>`: of two racing commands the second waits for the first's row
//!   lock, then finds the version moved on (0 rows) and is refused with
//!   [`StoreError::VersionConflict`]; the journal's unique `(instance_id, seq)` is the backstop;
//! - the executor's and external workers' leases (`claim_due_jobs`, `lock_jobs`,
//!   `claim_due_schedules`) pick rows `FOR UPDATE SKIP LOCKED`, so two nodes never hand out the
//!   same job while its lease is live;
//! - a timer start fires once: [`Store::commit_timer_start`] first closes the job with
//!   `WHERE state = 'open'` and writes nothing when another node closed it first.
//!
//! A unique violation is recognised by its constraint's name (named in the migration).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};
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
    ApplicantDocument, ApplicantKind, DocumentRecord, DossierEffect, DossierRecord, DossierState,
    SignatureRecord,
};
use crate::ids::{InstanceId, JobId, TaskId};
use crate::state::SlaMark;

/// How to open a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://user@host:port/database`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
}

impl PostgresConfig {
    /// Defaults for a URL: a pool of 8 connections.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            max_connections: 8,
        }
    }
}

/// A store on one PostgreSQL database, shared safely by several engine nodes.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// The constraint names of the migration that the store maps to typed errors.
const INSTANCES_PKEY: &str = "instances_pkey";
const JOURNAL_INSTANCE_SEQ: &str = "journal_instance_seq";
const IDEMPOTENCY_PKEY: &str = "idempotency_pkey";
const DEFINITIONS_PKEY: &str = "definitions_pkey";

/// PostgreSQL's "serialization_failure" and "deadlock_detected": the transaction was rolled back
/// and may simply be run again.
const RETRYABLE_CODES: [&str; 2] = ["40001", "40P01"];

fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            let what = match db.constraint() {
                Some(DEFINITIONS_PKEY) => "definition version",
                Some(IDEMPOTENCY_PKEY) => "idempotency key",
                Some(INSTANCES_PKEY) => "instance id",
                Some(other) => other,
                None => "key",
            };
            return StoreError::Duplicate(what.to_owned());
        }
    }
    StoreError::Backend(Box::new(e))
}

/// Takes the dossier number the engine read (`d.number`) in the commit's transaction: the first
/// of the day inserts the counter row, a later one moves it from `number - 1`. A number taken
/// meanwhile by another submission is a version conflict (the engine reads again and retries),
/// so numbers stay gap-free and are never given twice.
async fn claim_dossier_number(
    conn: &mut PgConnection,
    d: &crate::dossier::NewDossier,
) -> Result<(), StoreError> {
    let claimed = if d.number == 1 {
        sqlx::query(
            "INSERT INTO dossier_counters (agency, day, last) VALUES ($1, $2, 1) \
             ON CONFLICT (agency, day) DO NOTHING",
        )
        .bind(&d.agency)
        .bind(&d.day)
        .execute(&mut *conn)
        .await
    } else {
        sqlx::query(
            "UPDATE dossier_counters SET last = $3 WHERE agency = $1 AND day = $2 AND last = $3 - 1",
        )
        .bind(&d.agency)
        .bind(&d.day)
        .bind(d.number)
        .execute(&mut *conn)
        .await
    }
    .map_err(commit_error)?;
    if claimed.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::VersionConflict)
    }
}

fn head_row(r: &PgRow) -> Result<Head, StoreError> {
    Ok(Head {
        instance: r.try_get("instance_id").map_err(backend)?,
        seq: r.try_get("seq").map_err(backend)?,
        hash: r.try_get("hash").map_err(backend)?,
    })
}

fn checkpoint_row(r: &PgRow) -> Result<CheckpointRecord, StoreError> {
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

/// Maps a failed commit statement: a lost version race is a conflict, not a database failure.
fn commit_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() && db.constraint() == Some(JOURNAL_INSTANCE_SEQ) {
            return StoreError::VersionConflict;
        }
        if db
            .code()
            .is_some_and(|code| RETRYABLE_CODES.contains(&code.as_ref()))
        {
            return StoreError::VersionConflict;
        }
    }
    backend(e)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| corrupt("id", e))
}

impl PostgresStore {
    /// Connects and runs pending migrations (several nodes may do so at once: sqlx serialises
    /// them with an advisory lock).
    pub async fn open(config: &PostgresConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(&config.url)
            .map_err(backend)?
            .statement_cache_capacity(512);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(backend)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(PostgresStore { pool })
    }

    /// The pool, for tests that inspect tables directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes one command in one transaction; with `guard_job`, first closes that job and writes
    /// nothing (returning false) when it is no longer open.
    async fn write(&self, c: &Commit<'_>, guard_job: Option<JobId>) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(commit_error)?;
        if let Some(job) = guard_job {
            let closed = sqlx::query(
                "UPDATE jobs SET state = 'completed', lock_owner = NULL, lock_expires_at = NULL \
                 WHERE id = $1 AND state = 'open'",
            )
            .bind(job.to_string())
            .execute(&mut *tx)
            .await
            .map_err(commit_error)?;
            if closed.rows_affected() == 0 {
                // Another runner fired it; dropping the transaction rolls it back.
                return Ok(false);
            }
        }
        write_commit(&mut tx, c).await?;
        tx.commit().await.map_err(commit_error)?;
        Ok(true)
    }
}

/// The instance row, the journal, the effects and the idempotency record of one command.
async fn write_commit(conn: &mut PgConnection, c: &Commit<'_>) -> Result<(), StoreError> {
    let state = c.state;
    let id = state.id.to_string();
    let json = serde_json::to_string(state).map_err(|e| corrupt("state", e))?;
    match c.expected_version {
        None => {
            sqlx::query(
                "INSERT INTO instances (id, definition_key, definition_version, business_key, \
                 status, version, state, started_at, ended_at, updated_at, due_at, agency, \
                 journal_seq, journal_head) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 (SELECT agency FROM definitions WHERE key = $2 AND version = $3), $12, $13)",
            )
            .bind(&id)
            .bind(&state.definition.key)
            .bind(state.definition.version)
            .bind(&state.business_key)
            .bind(state.status.as_str())
            .bind(state.version)
            .bind(json)
            .bind(state.started_at)
            .bind(state.ended_at)
            .bind(c.at)
            .bind(state.due_at)
            .bind(state.journal_seq)
            .bind(&state.journal_head)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Some(expected) => {
            let updated = sqlx::query(
                "UPDATE instances SET version = $1, status = $2, state = $3, ended_at = $4, \
                 updated_at = $5, due_at = $8, journal_seq = $9, journal_head = $10 \
                 WHERE id = $6 AND version = $7",
            )
            .bind(state.version)
            .bind(state.status.as_str())
            .bind(json)
            .bind(state.ended_at)
            .bind(c.at)
            .bind(&id)
            .bind(expected)
            .bind(state.due_at)
            .bind(state.journal_seq)
            .bind(&state.journal_head)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
    }
    if !c.events.is_empty() {
        let first_seq = state.journal_seq - c.events.len() as i64 + 1;
        let mut seqs = Vec::with_capacity(c.events.len());
        let mut kinds = Vec::with_capacity(c.events.len());
        let mut data = Vec::with_capacity(c.events.len());
        let mut hashes = Vec::with_capacity(c.events.len());
        for (i, (event, sealed)) in c.events.iter().zip(c.sealed).enumerate() {
            seqs.push(first_seq + i as i64);
            kinds.push(event.kind().to_owned());
            data.push(sealed.data.clone());
            hashes.push(sealed.hash.clone());
        }
        if data.len() != c.events.len() {
            return Err(corrupt("commit", "the events were not sealed"));
        }
        // One statement for any number of events: the rows come in as arrays.
        sqlx::query(
            "INSERT INTO journal (instance_id, seq, kind, actor, at, data, hash) \
             SELECT $1, e.seq, e.kind, $2, $3, e.data, e.hash \
             FROM UNNEST($4::bigint[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY \
               AS e(seq, kind, data, hash, n) ORDER BY e.n",
        )
        .bind(&id)
        .bind(c.actor)
        .bind(c.at)
        .bind(seqs)
        .bind(kinds)
        .bind(data)
        .bind(hashes)
        .execute(&mut *conn)
        .await
        .map_err(commit_error)?;
    }
    for effect in c.effects {
        write_effect(conn, effect, c.at).await?;
    }
    if let Some(record) = &c.idempotency {
        sqlx::query(
            "INSERT INTO idempotency (key, fingerprint, response, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&record.key)
        .bind(&record.fingerprint)
        .bind(record.response.to_string())
        .bind(c.at)
        .execute(&mut *conn)
        .await
        .map_err(commit_error)?;
    }
    Ok(())
}

/// Writes one projection effect (the same SQL meaning as the SQLite backend's).
async fn write_effect(
    conn: &mut PgConnection,
    effect: &Effect,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match effect {
        Effect::TaskCreated(t) => {
            sqlx::query(
                "INSERT INTO tasks (id, instance_id, definition_key, node_id, name, assignee, \
                 candidate_groups, candidate_users, agency, form_key, state, created_at, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12)",
            )
            .bind(t.id.to_string())
            .bind(t.instance.to_string())
            .bind(&t.definition_key)
            .bind(&t.node)
            .bind(&t.name)
            .bind(&t.assignee)
            .bind(Json(&t.candidate_groups))
            .bind(Json(&t.candidate_users))
            .bind(&t.agency)
            .bind(&t.form_key)
            .bind(t.created_at)
            .bind(t.due_at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::TaskAssigned { task, assignee } => {
            sqlx::query("UPDATE tasks SET assignee = $1 WHERE id = $2")
                .bind(assignee)
                .bind(task.to_string())
                .execute(&mut *conn)
                .await
                .map_err(commit_error)?;
        }
        Effect::TaskRerouted { task, agency } => {
            sqlx::query("UPDATE tasks SET agency = $1 WHERE id = $2")
                .bind(agency)
                .bind(task.to_string())
                .execute(&mut *conn)
                .await
                .map_err(commit_error)?;
        }
        Effect::TaskClosed { task, how } => {
            sqlx::query("UPDATE tasks SET state = $1, closed_at = $2 WHERE id = $3")
                .bind(how.as_str())
                .bind(at)
                .bind(task.to_string())
                .execute(&mut *conn)
                .await
                .map_err(commit_error)?;
        }
        Effect::JobCreated(j) => {
            sqlx::query(
                "INSERT INTO jobs (id, kind, instance_id, node_id, topic, state, retries, due_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8)",
            )
            .bind(j.id.to_string())
            .bind(j.kind.as_str())
            .bind(j.instance.to_string())
            .bind(&j.node)
            .bind(&j.topic)
            .bind(j.retries as i64)
            .bind(j.due_at)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::JobRetry {
            job,
            retries,
            due_at,
            error,
        } => {
            sqlx::query(
                "UPDATE jobs SET retries = $1, due_at = $2, last_error = $3, lock_owner = NULL, \
                 lock_expires_at = NULL WHERE id = $4",
            )
            .bind(*retries as i64)
            .bind(*due_at)
            .bind(error)
            .bind(job.to_string())
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::IncidentRaised { job, node, message } => {
            let id = job.to_string();
            sqlx::query(
                "UPDATE jobs SET state = 'incident', retries = 0, last_error = $1, \
                 lock_owner = NULL, lock_expires_at = NULL WHERE id = $2",
            )
            .bind(message)
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            sqlx::query(
                "INSERT INTO incidents (job_id, instance_id, node_id, message, created_at) \
                 SELECT $1, instance_id, $2, $3, $4 FROM jobs WHERE id = $1 \
                 ON CONFLICT (job_id) DO UPDATE SET message = EXCLUDED.message, \
                 created_at = EXCLUDED.created_at, resolved_at = NULL",
            )
            .bind(&id)
            .bind(node)
            .bind(message)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::TaskMarked { task, mark } => {
            let sql = match mark {
                SlaMark::DueSoon => "UPDATE tasks SET due_soon = true WHERE id = $1",
                SlaMark::Overdue => "UPDATE tasks SET overdue = true WHERE id = $1",
            };
            sqlx::query(sql)
                .bind(task.to_string())
                .execute(&mut *conn)
                .await
                .map_err(commit_error)?;
        }
        Effect::IncidentResolved {
            job,
            retries,
            due_at,
        } => {
            let id = job.to_string();
            sqlx::query(
                "UPDATE jobs SET state = 'open', retries = $1, due_at = $2, lock_owner = NULL, \
                 lock_expires_at = NULL WHERE id = $3",
            )
            .bind(*retries as i64)
            .bind(*due_at)
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            resolve_incident(conn, &id, at)
                .await
                .map_err(commit_error)?;
        }
        Effect::TimerStartScheduled {
            job,
            key,
            version,
            node,
            fired,
            due_at,
        } => {
            insert_timer_start(conn, *job, key, *version, node, *fired, *due_at, at)
                .await
                .map_err(commit_error)?;
        }
        Effect::JobClosed { job, how } => {
            let id = job.to_string();
            sqlx::query(
                "UPDATE jobs SET state = $1, lock_owner = NULL, lock_expires_at = NULL \
                 WHERE id = $2",
            )
            .bind(how.as_str())
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            resolve_incident(conn, &id, at)
                .await
                .map_err(commit_error)?;
        }
        Effect::SubscriptionOpened(r) => {
            sqlx::query(
                "INSERT INTO message_subscriptions (instance_id, subscription, node_id, name, \
                 correlation_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(r.instance.to_string())
            .bind(r.id as i64)
            .bind(&r.node)
            .bind(&r.name)
            .bind(r.correlation_key.clone().unwrap_or_default())
            .bind(r.created_at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::SubscriptionClosed { instance, id } => {
            sqlx::query(
                "DELETE FROM message_subscriptions WHERE instance_id = $1 AND subscription = $2",
            )
            .bind(instance.to_string())
            .bind(*id as i64)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::MessageRecorded(m) => {
            let payload = serde_json::to_string(&m.payload).map_err(|e| corrupt("message", e))?;
            sqlx::query(
                "INSERT INTO buffered_messages (id, name, correlation_key, payload, created_at, \
                 expires_at, state, consumed_by) VALUES ($1, $2, $3, $4, $5, $6, 'consumed', $7)",
            )
            .bind(&m.id)
            .bind(&m.name)
            .bind(m.correlation_key.clone().unwrap_or_default())
            .bind(payload)
            .bind(m.created_at)
            .bind(m.expires_at)
            .bind(m.consumed_by.map(|i| i.to_string()))
            .execute(&mut *conn)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    StoreError::Duplicate("message id".into())
                }
                _ => commit_error(e),
            })?;
        }
        Effect::BufferedConsumed { message, instance } => {
            let done = sqlx::query(
                "UPDATE buffered_messages SET state = 'consumed', consumed_by = $1 \
                 WHERE id = $2 AND state = 'buffered' AND expires_at > $3",
            )
            .bind(instance.to_string())
            .bind(message)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            if done.rows_affected() == 0 {
                // Taken by another instance, or expired: nothing of this command is written.
                return Err(StoreError::VersionConflict);
            }
        }
        Effect::Outbox(j) => {
            sqlx::query(
                "INSERT INTO jobs (id, kind, instance_id, node_id, topic, state, retries, due_at, \
                 created_at, payload) VALUES ($1, $2, $3, $4, '', 'open', $5, $6, $7, $8)",
            )
            .bind(j.id.to_string())
            .bind(j.kind.as_str())
            .bind(j.instance.to_string())
            .bind(&j.node)
            .bind(crate::step::TIMER_RETRIES as i64)
            .bind(j.due_at)
            .bind(at)
            .bind(j.payload.to_string())
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        Effect::Dossier(d) => write_dossier_effect(conn, d, at).await?,
        Effect::Exchange(x) => write_exchange_effect(conn, x).await?,
        Effect::Directive(d) => write_directive_effect(conn, d, at).await?,
    }
    Ok(())
}

/// Writes an exchange effect (see [`crate::exchange`]): a message queued for a peer, or a
/// message linked to its dossier (a second link of one message id breaks the primary key: a
/// message is applied once).
async fn write_exchange_effect(
    conn: &mut PgConnection,
    effect: &crate::exchange::ExchangeEffect,
) -> Result<(), StoreError> {
    match effect {
        crate::exchange::ExchangeEffect::Queued(m) => {
            sqlx::query(
                "INSERT INTO exchange_outbox (id, peer, kind, dossier_code, body, signature, \
                 created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&m.id)
            .bind(&m.peer)
            .bind(&m.kind)
            .bind(&m.dossier_code)
            .bind(&m.body)
            .bind(&m.signature)
            .bind(m.created_at)
            .bind(i32::try_from(m.attempts).unwrap_or(i32::MAX))
            .bind(m.next_attempt_at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        crate::exchange::ExchangeEffect::Linked(l) => {
            sqlx::query(
                "INSERT INTO exchange_links (message_id, dossier_code, direction, kind, peer, \
                 remote_code, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&l.message_id)
            .bind(&l.dossier_code)
            .bind(&l.direction)
            .bind(&l.kind)
            .bind(&l.peer)
            .bind(&l.remote_code)
            .bind(l.at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
    }
    Ok(())
}

/// Writes a dossier effect. The dossier code is allocated here, in the commit's transaction:
/// the upsert of the (agency, day) counter row locks it until commit, so two nodes submitting
/// for the same agency and day are serialised and never get the same number; a rolled-back
/// submission rolls its number back (gap-free). The code is then written into the
/// `dossier_received` journal row (which the step wrote with `"code":null`).
async fn write_dossier_effect(
    conn: &mut PgConnection,
    effect: &DossierEffect,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match effect {
        DossierEffect::Created(d) => {
            claim_dossier_number(conn, d).await?;
            let code = &d.code;
            let applicant = serde_json::to_string(&serde_json::json!({
                "address": d.applicant.address,
                "phone": d.applicant.phone,
                "email": d.applicant.email,
            }))
            .map_err(|e| corrupt("applicant", e))?;
            sqlx::query(
                "INSERT INTO dossiers (code, instance_id, procedure_key, procedure_version, \
                 agency, applicant_kind, applicant_id, applicant_name, applicant, state, \
                 received_at, due_at, finished_at, data, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, 1)",
            )
            .bind(code)
            .bind(d.instance.to_string())
            .bind(&d.procedure_key)
            .bind(d.procedure_version)
            .bind(&d.agency)
            .bind(d.applicant.kind.as_str())
            .bind(&d.applicant.id)
            .bind(&d.applicant.name)
            .bind(applicant)
            .bind(DossierState::Received.as_str())
            .bind(d.received_at)
            .bind(d.due_at)
            .bind(&d.data)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DossierEffect::Updated {
            instance,
            expected_version,
            state,
            finished_at,
            due_at,
        } => {
            let updated = sqlx::query(
                "UPDATE dossiers SET version = $1 + 1, state = COALESCE($2, state), \
                 finished_at = COALESCE($3, finished_at), updated_at = $4, \
                 due_at = COALESCE($6, due_at) WHERE instance_id = $5 AND version = $1",
            )
            .bind(*expected_version)
            .bind(state.map(|s| s.as_str()))
            .bind(*finished_at)
            .bind(at)
            .bind(instance.to_string())
            .bind(*due_at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
        DossierEffect::DocumentAdded(d) => {
            sqlx::query(
                "INSERT INTO dossier_documents (dossier_code, slot, version, sha256, name, \
                 media_type, size, added_at, added_by, reused_from) \
                 SELECT code, $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM dossiers \
                 WHERE instance_id = $10",
            )
            .bind(&d.slot)
            .bind(d.version)
            .bind(&d.sha256)
            .bind(&d.name)
            .bind(&d.media_type)
            .bind(d.size)
            .bind(at)
            .bind(&d.added_by)
            .bind(&d.reused_from)
            .bind(d.instance.to_string())
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DossierEffect::SignatureAdded(n) => {
            let r = &n.record;
            sqlx::query(
                "INSERT INTO dossier_signatures (id, dossier_code, slot, version, \
                 document_sha256, signature_sha256, signer_subject, signer_serial, \
                 signer_issuer, fingerprint, signer_user, signer_agency, signing_time, \
                 server_side, added_at, added_by) \
                 SELECT $1, code, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 \
                 FROM dossiers WHERE instance_id = $16",
            )
            .bind(&r.id)
            .bind(&r.slot)
            .bind(r.version)
            .bind(&r.document_sha256)
            .bind(&r.signature_sha256)
            .bind(&r.signer_subject)
            .bind(&r.signer_serial)
            .bind(&r.signer_issuer)
            .bind(&r.fingerprint)
            .bind(&r.signer_user)
            .bind(&r.signer_agency)
            .bind(r.signing_time)
            .bind(r.server_side)
            .bind(at)
            .bind(&r.added_by)
            .bind(n.instance.to_string())
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DossierEffect::TransferSent(t) => {
            let documents = serde_json::to_string(&t.documents)
                .map_err(|e| corrupt("transfer documents", e))?;
            let tasks =
                serde_json::to_string(&t.tasks).map_err(|e| corrupt("transfer tasks", e))?;
            sqlx::query(&format!(
                "INSERT INTO dossier_transfers ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
                crate::dossier::transfer::TRANSFER_COLUMNS
            ))
            .bind(&t.id)
            .bind(&t.dossier_code)
            .bind(&t.from_agency)
            .bind(&t.to_agency)
            .bind(&t.peer)
            .bind(&t.reason)
            .bind(documents)
            .bind(tasks)
            .bind(t.step_task.map(|s| s.to_string()))
            .bind(t.state_before.as_str())
            .bind(crate::dossier::transfer::halves(
                t.receiver_share_working_days,
            ))
            .bind(t.receiver_due_at)
            .bind(crate::dossier::transfer::halves(
                t.sender_share_working_days,
            ))
            .bind(t.sender_due_at)
            .bind(t.state.as_str())
            .bind(t.sent_at)
            .bind(&t.sent_by)
            .bind(t.decided_at)
            .bind(&t.decided_by)
            .bind(&t.returned_reason)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DossierEffect::TransferDecided {
            id,
            state,
            decided_by,
            returned_reason,
        } => {
            let updated = sqlx::query(
                "UPDATE dossier_transfers SET state = $1, decided_at = $2, decided_by = $3, \
                 returned_reason = $4 WHERE id = $5 AND state = 'sent'",
            )
            .bind(state.as_str())
            .bind(at)
            .bind(decided_by)
            .bind(returned_reason)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
        DossierEffect::ApplicantDocumentAdded(n) => {
            let a = &n.document;
            sqlx::query(
                "INSERT INTO applicant_documents (id, owner_kind, owner_id, doc_type, number, \
                 issuer, issued_on, sha256, name, media_type, certified_by, certified_at, \
                 source_dossier) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, code \
                 FROM dossiers WHERE instance_id = $13",
            )
            .bind(&a.id)
            .bind(a.owner_kind.as_str())
            .bind(&a.owner_id)
            .bind(&a.doc_type)
            .bind(&a.number)
            .bind(&a.issuer)
            .bind(a.issued_on)
            .bind(&a.sha256)
            .bind(&a.name)
            .bind(&a.media_type)
            .bind(&a.certified_by)
            .bind(a.certified_at)
            .bind(n.instance.to_string())
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
    }
    Ok(())
}

const DOSSIER_COLUMNS: &str = "code, instance_id, procedure_key, procedure_version, agency, \
     applicant_kind, applicant_id, applicant_name, applicant, state, received_at, due_at, \
     finished_at, data, updated_at, version";

const DOCUMENT_COLUMNS: &str = "dossier_code, slot, version, sha256, name, media_type, size, \
     added_at, added_by, reused_from";

const APPLICANT_DOCUMENT_COLUMNS: &str = "id, owner_kind, owner_id, doc_type, number, issuer, \
     issued_on, sha256, name, media_type, certified_by, certified_at, source_dossier";

fn form_record(r: &PgRow) -> Result<FormRecord, StoreError> {
    Ok(FormRecord {
        id: r.try_get("id").map_err(backend)?,
        version: r.try_get("version").map_err(backend)?,
        resource: r.try_get("resource").map_err(backend)?,
        schema: r.try_get("schema").map_err(backend)?,
        checksum: r.try_get("checksum").map_err(backend)?,
        deployment: r.try_get("deployment_id").map_err(backend)?,
    })
}

fn dossier_record(r: &PgRow) -> Result<DossierRecord, StoreError> {
    crate::dossier::dossier_from_parts(sqlx::FromRow::from_row(r).map_err(backend)?)
}

fn document_record(r: &PgRow) -> Result<DocumentRecord, StoreError> {
    sqlx::FromRow::from_row(r).map_err(backend)
}

fn applicant_document(r: &PgRow) -> Result<ApplicantDocument, StoreError> {
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

async fn resolve_incident(
    conn: &mut PgConnection,
    job: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE incidents SET resolved_at = $1 WHERE job_id = $2 AND resolved_at IS NULL")
        .bind(at)
        .bind(job)
        .execute(conn)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_timer_start(
    conn: &mut PgConnection,
    job: JobId,
    key: &str,
    version: i32,
    node: &str,
    fired: u32,
    due_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, definition_key, definition_version, node_id, topic, state, \
         retries, fired, due_at, created_at) \
         VALUES ($1, 'timer_start', $2, $3, $4, '', 'open', $5, $6, $7, $8)",
    )
    .bind(job.to_string())
    .bind(key)
    .bind(version)
    .bind(node)
    .bind(crate::step::TIMER_RETRIES as i64)
    .bind(fired as i64)
    .bind(due_at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

fn definition_record(row: &PgRow) -> Result<DefinitionRecord, StoreError> {
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

fn task_row(row: &PgRow) -> Result<TaskRow, StoreError> {
    let groups: Json<Vec<String>> = row
        .try_get("candidate_groups")
        .map_err(|e| corrupt("candidate groups", e))?;
    let users: Json<Vec<String>> = row
        .try_get("candidate_users")
        .map_err(|e| corrupt("candidate users", e))?;
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
            candidate_groups: groups.0,
            candidate_users: users.0,
            agency: row.try_get("agency").map_err(backend)?,
            form_key: row.try_get("form_key").map_err(backend)?,
            created_at: row.try_get("created_at").map_err(backend)?,
            due_at: row.try_get("due_at").map_err(backend)?,
        },
        state: row.try_get("state").map_err(backend)?,
        closed_at: row.try_get("closed_at").map_err(backend)?,
        due_soon: row.try_get("due_soon").map_err(backend)?,
        overdue: row.try_get("overdue").map_err(backend)?,
    })
}

fn due_job(r: &PgRow) -> Result<DueJob, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    let instance: Option<String> = r.try_get("instance_id").map_err(backend)?;
    let key: Option<String> = r.try_get("definition_key").map_err(backend)?;
    let version: Option<i32> = r.try_get("definition_version").map_err(backend)?;
    let retries: i64 = r.try_get("retries").map_err(backend)?;
    let fired: i64 = r.try_get("fired").map_err(backend)?;
    Ok(DueJob {
        id: JobId::from_uuid(parse_uuid(&id)?),
        kind: r.try_get("kind").map_err(backend)?,
        instance: instance
            .map(|i| parse_uuid(&i).map(InstanceId::from_uuid))
            .transpose()?,
        definition: key.zip(version),
        node: r.try_get("node_id").map_err(backend)?,
        topic: r.try_get("topic").map_err(backend)?,
        retries: retries.clamp(0, u32::MAX as i64) as u32,
        fired: fired.clamp(0, u32::MAX as i64) as u32,
        due_at: r.try_get("due_at").map_err(backend)?,
        payload: r.try_get("payload").map_err(backend)?,
    })
}

fn message_row(r: &PgRow) -> Result<MessageRecord, StoreError> {
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

fn schedule_row(r: &PgRow) -> Result<ScheduleRow, StoreError> {
    Ok(ScheduleRow {
        name: r.try_get("name").map_err(backend)?,
        cron: r.try_get("cron").map_err(backend)?,
        handler: r.try_get("handler").map_err(backend)?,
        next_due: r.try_get("next_due").map_err(backend)?,
    })
}

const DEFINITION_COLUMNS: &str =
    "key, version, name, resource, checksum, deployment_id, deployed_at";

/// The `SELECT {columns}` of a task query with its WHERE clause, shared by `tasks` and
/// `count_tasks` so the two cannot drift; also whether it reads a group's queue through the
/// candidates index (`c`).
fn task_filter<'q>(query: &'q TaskQuery, columns: &str) -> (QueryBuilder<'q, Postgres>, bool) {
    // A group's open queue in creation order is read from the candidates index in order.
    let by_group_in_order =
        query.candidate_group.is_some() && !query.include_closed && query.sort == TaskSort::Created;
    let mut q: QueryBuilder<'q, Postgres> = if by_group_in_order {
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
        q.push("true");
    } else {
        q.push("t.state = 'open'");
    }
    if let Some(group) = query
        .candidate_group
        .as_ref()
        .filter(|_| !by_group_in_order)
    {
        if query.include_closed {
            q.push(" AND t.candidate_groups @> jsonb_build_array(")
                .push_bind(group)
                .push("::text)");
        } else {
            q.push(
                " AND t.id IN (SELECT task_id FROM task_candidates \
                 WHERE kind = 'group' AND name = ",
            )
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
            .push(" OR t.candidate_users @> jsonb_build_array(")
            .push_bind(&w.user)
            .push("::text)");
        if !w.groups.is_empty() {
            q.push(" OR t.candidate_groups ?| ")
                .push_bind(&w.groups)
                .push("::text[]");
        }
        q.push(")");
    }
    if let Some(key) = &query.definition_key {
        q.push(" AND t.definition_key = ").push_bind(key);
    }
    if let Some(text) = &query.name_contains {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q.push(" AND t.name ILIKE '%' || ")
            .push_bind(escaped)
            .push(" || '%'");
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
            q.push(" AND t.overdue");
        }
        Some(false) => {
            q.push(" AND NOT t.overdue");
        }
        None => {}
    }
    (q, by_group_in_order)
}

impl Store for PostgresStore {
    async fn deploy(
        &self,
        name: &str,
        definitions: &[NewDefinition],
        forms: &[NewForm],
        at: DateTime<Utc>,
    ) -> Result<Deployment, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let deployment = Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO deployments (id, name, deployed_at) VALUES ($1, $2, $3)")
            .bind(&deployment)
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let mut out = Vec::with_capacity(definitions.len());
        for d in definitions {
            let latest = sqlx::query(&format!(
                "SELECT {DEFINITION_COLUMNS} FROM definitions WHERE key = $1 \
                 ORDER BY version DESC LIMIT 1"
            ))
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
            // Two nodes deploying the same key at once: the second insert of (key, version)
            // waits for the first and is refused as a duplicate.
            sqlx::query(
                "INSERT INTO definitions (key, version, name, resource, checksum, xml, \
                 deployment_id, deployed_at, agency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
                 WHERE kind = 'timer_start' AND state = 'open' AND definition_key = $1",
            )
            .bind(&d.key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            for (node, due_at) in &d.timer_starts {
                insert_timer_start(
                    &mut tx,
                    JobId::from_uuid(Uuid::now_v7()),
                    &d.key,
                    version,
                    node,
                    0,
                    *due_at,
                    at,
                )
                .await
                .map_err(backend)?;
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
                 WHERE id = $1 ORDER BY version DESC LIMIT 1",
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
            // Two nodes deploying the same form at once: the second insert waits for the
            // first and is refused as a duplicate.
            sqlx::query(
                "INSERT INTO forms (id, version, resource, schema, checksum, deployment_id, \
                 deployed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
                 WHERE id = $1 AND version = $2",
            )
            .bind(id)
            .bind(v),
            None => sqlx::query(
                "SELECT id, version, resource, schema, checksum, deployment_id FROM forms \
                 WHERE id = $1 ORDER BY version DESC LIMIT 1",
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
            "SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE code = $1"
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
             ORDER BY id LIMIT $1",
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
             VALUES ($1, $2, $3, $4, $5, $6)",
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
        let instances: Vec<&str> = heads.iter().map(|h| h.instance.as_str()).collect();
        let seqs: Vec<i64> = heads.iter().map(|h| h.seq).collect();
        let hashes: Vec<&str> = heads.iter().map(|h| h.hash.as_str()).collect();
        sqlx::query(
            "INSERT INTO checkpoint_leaves (checkpoint_id, leaf, instance_id, seq, hash) \
             SELECT $1, v.n - 1, v.id, v.seq, v.hash \
             FROM UNNEST($2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY \
               AS v(id, seq, hash, n)",
        )
        .bind(record.id)
        .bind(&instances)
        .bind(&seqs)
        .bind(&hashes)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "UPDATE instances SET checkpointed_seq = v.seq \
             FROM UNNEST($1::text[], $2::bigint[]) AS v(id, seq) \
             WHERE instances.id = v.id AND instances.checkpointed_seq < v.seq",
        )
        .bind(&instances)
        .bind(&seqs)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn checkpoints_of(&self, instance: &str) -> Result<Vec<Coverage>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.at, c.size, c.root, c.payload, c.signature, l.leaf, l.seq, l.hash \
             FROM checkpoint_leaves l JOIN journal_checkpoints c ON c.id = l.checkpoint_id \
             WHERE l.instance_id = $1 ORDER BY c.id",
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
            "SELECT instance_id, seq, hash FROM checkpoint_leaves WHERE checkpoint_id = $1 \
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
            sqlx::query_scalar("SELECT last FROM dossier_counters WHERE agency = $1 AND day = $2")
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
            "SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE instance_id = $1"
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
            "SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE agency = $1 AND received_at >= $2 \
             AND received_at < $3 ORDER BY received_at, code"
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
            "SELECT {DOCUMENT_COLUMNS} FROM dossier_documents WHERE dossier_code = $1 \
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
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
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
             FROM directive_reports WHERE assignment_id = $1 ORDER BY reported_at, id",
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
             WHERE assignment_id = $1 ORDER BY requested_at, id",
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
            "SELECT {} FROM directive_documents WHERE assignment_id = $1 \
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
            "SELECT {SIGNATURE_COLUMNS} FROM dossier_signatures WHERE dossier_code = $1 \
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
            "SELECT {} FROM dossier_transfers WHERE dossier_code = $1 ORDER BY sent_at, id",
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
            "SELECT {} FROM dossier_transfers WHERE id = $1",
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
             WHERE owner_kind = $1 AND owner_id = $2 ORDER BY certified_at, id"
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
            "SELECT {APPLICANT_DOCUMENT_COLUMNS} FROM applicant_documents WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(applicant_document).transpose()
    }

    async fn definitions(&self) -> Result<Vec<DefinitionRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DEFINITION_COLUMNS} FROM definitions ORDER BY key, version"
        ))
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
                 FROM definitions WHERE key = $1 AND version = $2",
            )
            .bind(key)
            .bind(v),
            None => sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at, xml \
                 FROM definitions WHERE key = $1 ORDER BY version DESC LIMIT 1",
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
                 FROM definitions WHERE key = $1 AND version = $2",
            )
            .bind(key)
            .bind(v),
            None => sqlx::query(
                "SELECT key, version, name, resource, checksum, deployment_id, deployed_at \
                 FROM definitions WHERE key = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(key),
        }
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(definition_record).transpose()
    }

    async fn instance(&self, id: InstanceId) -> Result<Option<StoredInstance>, StoreError> {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM instances WHERE id = $1")
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
        let id: Option<String> = sqlx::query_scalar("SELECT instance_id FROM tasks WHERE id = $1")
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
            "SELECT instance_id, CASE WHEN lock_expires_at > $1 THEN lock_owner END AS owner \
             FROM jobs WHERE id = $2",
        )
        .bind(now)
        .bind(job.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(r) => {
                // As in SQLite: a job without an instance (a timer start) fails to decode.
                let instance: String = r.try_get("instance_id").map_err(backend)?;
                Ok(Some((
                    InstanceId::from_uuid(parse_uuid(&instance)?),
                    r.try_get("owner").map_err(backend)?,
                )))
            }
        }
    }

    async fn idempotent(&self, key: &str) -> Result<Option<(String, Value)>, StoreError> {
        let row = sqlx::query("SELECT fingerprint, response FROM idempotency WHERE key = $1")
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
            "INSERT INTO idempotency (key, fingerprint, response, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
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
        self.write(&commit, None).await.map(|_| ())
    }

    async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let (mut q, by_group_in_order) = task_filter(query, "t.*");
        q.push(match query.sort {
            TaskSort::Created if by_group_in_order => " ORDER BY c.created_at, c.task_id",
            TaskSort::Created => " ORDER BY t.created_at, t.id",
            TaskSort::Due => " ORDER BY t.due_at ASC NULLS LAST, t.created_at, t.id",
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
        let row = sqlx::query("SELECT * FROM tasks WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(task_row).transpose()
    }

    async fn journal(&self, id: InstanceId) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, actor, at, data, hash FROM journal WHERE instance_id = $1 \
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
            "WITH picked AS MATERIALIZED ( \
               SELECT id FROM jobs WHERE topic = $1 AND kind = 'external' AND state = 'open' \
               AND due_at <= $2 AND (lock_expires_at IS NULL OR lock_expires_at <= $2) \
               ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs j SET lock_owner = $4, lock_expires_at = $5 FROM picked \
             WHERE j.id = picked.id \
             RETURNING j.id, j.instance_id, j.node_id, j.topic, j.retries, j.due_at, \
               j.lock_expires_at",
        )
        .bind(topic)
        .bind(now)
        .bind(max.min(1000) as i64)
        .bind(worker)
        .bind(until)
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
                        retries: retries.clamp(0, u32::MAX as i64) as u32,
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
             retries, fired, due_at, payload FROM jobs WHERE id = $1",
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
        let rows = sqlx::query(
            "WITH picked AS MATERIALIZED ( \
               SELECT id FROM jobs WHERE state = 'open' AND due_at <= $1 \
               AND (lock_expires_at IS NULL OR lock_expires_at <= $1) \
               AND (kind IN ('timer', 'timer_start', 'message', 'call_start', 'call_return', \
                             'call_cancel') \
                    OR (kind = 'external' AND topic = ANY($2::text[]))) \
               ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs j SET lock_owner = $4, lock_expires_at = $5 FROM picked \
             WHERE j.id = picked.id \
             RETURNING j.id, j.kind, j.instance_id, j.definition_key, j.definition_version, \
               j.node_id, j.topic, j.retries, j.fired, j.due_at, j.payload",
        )
        .bind(now)
        .bind(topics)
        .bind(max.min(10_000) as i64)
        .bind(worker)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut jobs = rows.iter().map(due_job).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (j.due_at, j.id));
        Ok(jobs)
    }

    async fn commit_timer_start(&self, job: JobId, commit: Commit<'_>) -> Result<bool, StoreError> {
        self.write(&commit, Some(job)).await
    }

    async fn oldest_subscription(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<InstanceId>, StoreError> {
        let row: Option<String> = sqlx::query_scalar(
            "SELECT instance_id FROM message_subscriptions WHERE name = $1 \
             AND correlation_key = $2 ORDER BY created_at, instance_id, subscription LIMIT 1",
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
             expires_at, state) VALUES ($1, $2, $3, $4, $5, $6, 'buffered') \
             ON CONFLICT (id) DO NOTHING",
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
        let row = sqlx::query("SELECT * FROM buffered_messages WHERE id = $1")
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
        let rows = sqlx::query(
            "SELECT m.*, w.instance_id AS waiting FROM buffered_messages m \
             CROSS JOIN LATERAL (SELECT s.instance_id FROM message_subscriptions s \
               WHERE s.name = m.name AND s.correlation_key = m.correlation_key \
               AND ($1::text IS NULL OR s.instance_id = $1) \
               ORDER BY s.created_at, s.instance_id, s.subscription LIMIT 1) w \
             WHERE m.state = 'buffered' AND m.expires_at > $2 \
             ORDER BY m.created_at, m.id LIMIT $3",
        )
        .bind(instance.map(|i| i.to_string()))
        .bind(now)
        .bind(limit.min(10_000) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out = Vec::new();
        for r in &rows {
            let waiting: String = r.try_get("waiting").map_err(backend)?;
            out.push((
                InstanceId::from_uuid(parse_uuid(&waiting)?),
                message_row(r)?,
            ));
        }
        Ok(out)
    }

    async fn close_job(&self, job: JobId) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'completed', lock_owner = NULL, lock_expires_at = NULL \
             WHERE id = $1 AND state = 'open'",
        )
        .bind(job.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_expired_messages(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM buffered_messages WHERE state = 'buffered' AND expires_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
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
                "UPDATE jobs SET state = 'incident', retries = 0, last_error = $1, \
                 lock_owner = NULL, lock_expires_at = NULL WHERE id = $2",
            )
            .bind(error)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "INSERT INTO incidents (job_id, instance_id, node_id, message, created_at) \
                 SELECT id, instance_id, node_id, $1, $2 FROM jobs WHERE id = $3 \
                 ON CONFLICT (job_id) DO UPDATE SET message = EXCLUDED.message, \
                 created_at = EXCLUDED.created_at, resolved_at = NULL",
            )
            .bind(error)
            .bind(at)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        } else {
            sqlx::query(
                "UPDATE jobs SET retries = $1, due_at = $2, last_error = $3, lock_owner = NULL, \
                 lock_expires_at = NULL WHERE id = $4",
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
            "UPDATE jobs SET state = 'open', retries = $1, due_at = $2, lock_owner = NULL, \
             lock_expires_at = NULL WHERE id = $3 AND state = 'incident'",
        )
        .bind(retries.max(1) as i64)
        .bind(at)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        resolve_incident(&mut tx, &id, at).await.map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn put_schedule(
        &self,
        schedule: &ScheduleRow,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedules (name, cron, handler, next_due, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, handler = EXCLUDED.handler, \
             next_due = EXCLUDED.next_due, lock_owner = NULL, lock_expires_at = NULL",
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
        let done = sqlx::query("DELETE FROM schedules WHERE name = $1")
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
            "WITH picked AS MATERIALIZED ( \
               SELECT name FROM schedules WHERE next_due <= $1 \
               AND (lock_expires_at IS NULL OR lock_expires_at <= $1) \
               ORDER BY next_due, name LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE schedules s SET lock_owner = $3, lock_expires_at = $4 FROM picked \
             WHERE s.name = picked.name \
             RETURNING s.name, s.cron, s.handler, s.next_due",
        )
        .bind(now)
        .bind(max.min(1000) as i64)
        .bind(worker)
        .bind(until)
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
            "INSERT INTO schedule_runs (name, due_at, ran_at, runner, result) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name, due_at) DO NOTHING",
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
            "UPDATE schedules SET next_due = $1, lock_owner = NULL, lock_expires_at = NULL \
             WHERE name = $2 AND next_due <= $3",
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
            "SELECT name, due_at, ran_at, runner, result FROM schedule_runs WHERE name = $1 \
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
        let batch = batch.clamp(1, 10_000) as i64;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // SKIP LOCKED: two nodes cleaning up at once take different instances.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM instances WHERE ended_at IS NOT NULL AND ended_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM dossiers d WHERE d.instance_id = instances.id) \
             ORDER BY ended_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(before)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut removed = Removed::default();
        if !ids.is_empty() {
            let mut counts = [0u64; 5];
            for (i, sql) in [
                "DELETE FROM journal WHERE instance_id = ANY($1::text[])",
                "DELETE FROM tasks WHERE instance_id = ANY($1::text[])",
                "DELETE FROM jobs WHERE instance_id = ANY($1::text[])",
                "DELETE FROM incidents WHERE instance_id = ANY($1::text[])",
                "DELETE FROM instances WHERE id = ANY($1::text[])",
            ]
            .into_iter()
            .enumerate()
            {
                counts[i] = sqlx::query(sql)
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            removed.events = counts[0];
            removed.tasks = counts[1];
            removed.jobs = counts[2];
            removed.instances = counts[4];
        }
        removed.idempotency = sqlx::query(
            "WITH old AS MATERIALIZED ( \
               SELECT key FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 \
               FOR UPDATE SKIP LOCKED) \
             DELETE FROM idempotency i USING old WHERE i.key = old.key",
        )
        .bind(before)
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(removed)
    }

    async fn overdue_counts(&self) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        // NULLS FIRST and byte-wise group names: the order SQLite gives.
        let rows = sqlx::query(
            "SELECT t.agency, COALESCE(g.value, '') COLLATE \"C\" AS grp, COUNT(*) AS n \
             FROM tasks t \
             LEFT JOIN LATERAL jsonb_array_elements_text(t.candidate_groups) AS g(value) ON true \
             WHERE t.state = 'open' AND t.overdue \
             GROUP BY t.agency, grp ORDER BY t.agency NULLS FIRST, grp",
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
            "INSERT INTO webhook_subscriptions (id, url, secret, kinds, agency, created_at, cursor, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 < 0 THEN COALESCE((SELECT MAX(feed_seq) FROM journal), 0) ELSE $8 END, 0, $9) ON CONFLICT (id) DO NOTHING",
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
            "SELECT id, url, secret, kinds, agency, created_at, cursor, attempts, next_attempt_at, last_error FROM webhook_subscriptions WHERE active = true ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(webhook_row).collect()
    }

    async fn remove_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_subscriptions SET active = false, lock_owner = NULL, lock_expires_at = NULL WHERE id = $1 AND active = true",
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
            "UPDATE webhook_subscriptions SET lock_owner = $1, lock_expires_at = $2 WHERE id IN ( SELECT id FROM webhook_subscriptions WHERE active = true AND next_attempt_at <= $3 AND (lock_expires_at IS NULL OR lock_expires_at <= $4) ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING id, url, secret, kinds, agency, created_at, cursor, attempts, next_attempt_at, last_error",
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
            "UPDATE webhook_subscriptions SET cursor = $1, attempts = $2, next_attempt_at = $3, last_error = $4, lock_owner = CASE WHEN $5 THEN NULL ELSE lock_owner END, lock_expires_at = CASE WHEN $6 THEN NULL ELSE lock_expires_at END WHERE id = $7 AND lock_owner = $8 AND active = true",
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
            "SELECT {} FROM exchange_outbox WHERE dossier_code = $1 ORDER BY created_at, id",
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
            "SELECT {} FROM exchange_links WHERE dossier_code = $1 ORDER BY at, message_id",
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
            "SELECT {} FROM exchange_links WHERE message_id = $1",
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
            "UPDATE exchange_outbox SET lock_owner = $1, lock_expires_at = $2 WHERE id IN (SELECT id FROM exchange_outbox WHERE delivered_at IS NULL AND next_attempt_at <= $3 AND (lock_expires_at IS NULL OR lock_expires_at <= $4) ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING {}",
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
            "UPDATE exchange_outbox SET delivered_at = $1, attempts = $2, next_attempt_at = $3, last_error = $4, lock_owner = NULL, lock_expires_at = NULL WHERE id = $5 AND lock_owner = $6",
        )
        .bind(progress.delivered_at)
        .bind(i32::try_from(progress.attempts).unwrap_or(i32::MAX))
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

// ---- the event feed and statistics -----------------------------------------------------------

/// How many journal rows one sequencer pass numbers at most.
const SEQUENCE_BATCH: i64 = 10_000;

/// Gives the feed numbers (`journal.feed_seq`) to committed journal rows, in commit order.
///
/// Why: a journal row's identity `id` is taken when it is inserted, not when its transaction
/// commits, so a transaction holding id 7 may commit after one holding id 8: a reader that
/// paged up to 8 would never see 7. The feed number is therefore given AFTER commit, by one
/// sequencer at a time:
///
/// 1. a cheap check (partial index `journal_unsequenced`) returns early when every row has
///    its number;
/// 2. otherwise, in a small transaction of its own, the sequencer locks the single
///    `feed_counter` row (`SELECT ... FOR UPDATE`), which serialises sequencers across every
///    engine node; the statement after the lock takes a fresh READ COMMITTED snapshot, so it
///    sees the numbers the previous sequencer committed;
/// 3. it numbers the rows it sees without one (`WHERE feed_seq IS NULL ORDER BY id`) from
///    `last + 1` upwards and moves `last`, then commits.
///
/// A row of a transaction still in flight is invisible to that snapshot, so it is left
/// unnumbered and gets a LARGER number in a later pass, after every number a reader could have
/// seen already. Each pass's numbers appear to readers all at once (one commit), and a pass
/// commits only after the previous one did, so the numbered set a reader can see is always a
/// prefix `1..=last`: reading `feed_seq > N` never skips a row that appears later. Per
/// instance the order is kept too: an instance's next command commits only after its previous
/// one (version check), so its rows are numbered after the earlier ones.
///
/// Readers run it before they read ([`Store::feed`]), so the feed needs no background job;
/// concurrent readers queue on the counter row for the few milliseconds of a pass.
async fn sequence_feed(pool: &PgPool) -> Result<(), StoreError> {
    loop {
        let pending: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM journal WHERE feed_seq IS NULL)")
                .fetch_one(pool)
                .await
                .map_err(backend)?;
        if !pending {
            return Ok(());
        }
        let mut tx = pool.begin().await.map_err(backend)?;
        let last: i64 = sqlx::query_scalar("SELECT last FROM feed_counter WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let numbered: (i64, Option<i64>) = sqlx::query_as(
            "WITH todo AS ( \
               SELECT id, $1 + row_number() OVER (ORDER BY id) AS n FROM journal \
               WHERE feed_seq IS NULL ORDER BY id LIMIT $2), \
             done AS ( \
               UPDATE journal j SET feed_seq = todo.n FROM todo WHERE j.id = todo.id \
               RETURNING todo.n) \
             SELECT COUNT(*), MAX(n) FROM done",
        )
        .bind(last)
        .bind(SEQUENCE_BATCH)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if let (_, Some(max)) = numbered {
            sqlx::query("UPDATE feed_counter SET last = $1 WHERE id = 1")
                .bind(max)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        if numbered.0 < SEQUENCE_BATCH {
            return Ok(());
        }
    }
}

async fn read_feed(
    store: &PostgresStore,
    after: i64,
    limit: u32,
    filter: &EventFilter,
) -> Result<Vec<FeedEvent>, StoreError> {
    if filter.kinds.as_ref().is_some_and(|k| k.is_empty()) {
        return Ok(Vec::new());
    }
    sequence_feed(&store.pool).await?;
    let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT j.feed_seq, j.instance_id, i.definition_key, i.agency, j.kind, j.at, \
         j.actor, j.data FROM journal j JOIN instances i ON i.id = j.instance_id \
         WHERE j.feed_seq > ",
    );
    q.push_bind(after);
    if let Some(agency) = &filter.agency {
        q.push(" AND i.agency = ").push_bind(agency.clone());
    }
    if let Some(key) = &filter.definition_key {
        q.push(" AND i.definition_key = ").push_bind(key.clone());
    }
    if let Some(kinds) = &filter.kinds {
        q.push(" AND j.kind = ANY(")
            .push_bind(kinds.clone())
            .push(")");
    }
    q.push(" ORDER BY j.feed_seq LIMIT ")
        .push_bind(i64::from(limit.clamp(1, 10_000)));
    let rows = q.build().fetch_all(&store.pool).await.map_err(backend)?;
    rows.iter().map(feed_event).collect()
}

fn feed_event(r: &PgRow) -> Result<FeedEvent, StoreError> {
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
/// the period); "early" is a Vietnam (UTC+7) calendar day before the due date's day.
async fn read_statistics(
    pool: &PgPool,
    filter: &StatsFilter,
    now: DateTime<Utc>,
) -> Result<Vec<StatsRow>, StoreError> {
    let scoped = |q: &mut QueryBuilder<'_, Postgres>| {
        if let Some(agency) = &filter.agency {
            q.push(" AND agency = ").push_bind(agency.clone());
        }
        if let Some(key) = &filter.definition_key {
            q.push(" AND definition_key = ").push_bind(key.clone());
        }
        q.push(" GROUP BY agency, definition_key");
    };
    let mut parts = Vec::new();

    let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT agency, definition_key, COUNT(*) AS a, 0::bigint AS b, 0::bigint AS c \
         FROM instances WHERE started_at >= ",
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

    let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT agency, definition_key, COUNT(*) AS a, \
         SUM(CASE WHEN due_at IS NOT NULL AND due_at < ",
    );
    q.push_bind(now).push(
        " THEN 1 ELSE 0 END)::bigint AS b, 0::bigint AS c FROM instances \
         WHERE status = 'active'",
    );
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

    let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT agency, definition_key, \
         SUM(CASE WHEN due_at IS NULL OR ended_at <= due_at THEN 1 ELSE 0 END)::bigint AS a, \
         SUM(CASE WHEN due_at IS NOT NULL AND ended_at > due_at THEN 1 ELSE 0 END)::bigint AS b, \
         SUM(CASE WHEN due_at IS NOT NULL \
             AND ((ended_at AT TIME ZONE 'UTC') + interval '7 hours')::date \
               < ((due_at AT TIME ZONE 'UTC') + interval '7 hours')::date \
             THEN 1 ELSE 0 END)::bigint AS c \
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

fn stats_part(r: &PgRow) -> Result<StatsPart, StoreError> {
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

fn webhook_row(r: &PgRow) -> Result<WebhookRow, StoreError> {
    let kinds: Option<String> = r.try_get("kinds").map_err(backend)?;
    let attempts: i32 = r.try_get("attempts").map_err(backend)?;
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

/// Writes a directive effect (see [`crate::directive`]); a stale assignment version is a
/// version conflict.
async fn write_directive_effect(
    conn: &mut PgConnection,
    effect: &DirectiveEffect,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match effect {
        DirectiveEffect::Issued(d) => {
            let (number, date) = match &d.source {
                DirectiveSource::Document { number, date } => (Some(number.clone()), *date),
                DirectiveSource::Meeting { date } => (None, *date),
            };
            sqlx::query(
                "INSERT INTO directives (id, issuer, source_kind, source_number, source_date, \
                 summary, content, priority, issued_at, issued_by, report_every_days) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&d.id)
            .bind(&d.issuer)
            .bind(crate::directive::source_kind(&d.source))
            .bind(number)
            .bind(date)
            .bind(&d.summary)
            .bind(&d.content)
            .bind(&d.priority)
            .bind(d.issued_at)
            .bind(&d.issued_by)
            .bind(i32::try_from(d.report_every_days).unwrap_or(i32::MAX))
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
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
            sqlx::query(
                "INSERT INTO directive_assignments (id, directive_id, parent_id, agency, role, \
                 title, deadline, original_deadline, instance_id, state, progress, \
                 completed_at, accepted_at, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, 0, NULL, NULL, $10, $10, 1)",
            )
            .bind(id)
            .bind(directive)
            .bind(parent)
            .bind(agency)
            .bind(role.as_str())
            .bind(title)
            .bind(*deadline)
            .bind(instance.to_string())
            .bind(AssignmentState::InProgress.as_str())
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
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
            let updated = sqlx::query(
                "UPDATE directive_assignments SET version = $1 + 1, \
                 state = COALESCE($2, state), progress = COALESCE($3, progress), \
                 deadline = COALESCE($4, deadline), \
                 completed_at = CASE WHEN $5 THEN NULL ELSE COALESCE($6, completed_at) END, \
                 accepted_at = COALESCE($7, accepted_at), updated_at = $8 \
                 WHERE id = $9 AND version = $1",
            )
            .bind(*expected_version)
            .bind(state.map(|s| s.as_str()))
            .bind(*progress)
            .bind(*deadline)
            .bind(*clear_completed)
            .bind(*completed_at)
            .bind(*accepted_at)
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::VersionConflict);
            }
        }
        DirectiveEffect::ReportAdded(r) => {
            sqlx::query(
                "INSERT INTO directive_reports (id, assignment_id, text, percent, reported_at, \
                 reported_by) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&r.id)
            .bind(&r.assignment)
            .bind(&r.text)
            .bind(r.percent)
            .bind(r.reported_at)
            .bind(&r.reported_by)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DirectiveEffect::DocumentAttached(d) => {
            sqlx::query(&format!(
                "INSERT INTO directive_documents ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                crate::directive::documents::DIRECTIVE_DOCUMENT_COLUMNS
            ))
            .bind(&d.id)
            .bind(&d.assignment)
            .bind(&d.directive)
            .bind(&d.report)
            .bind(&d.name)
            .bind(&d.media_type)
            .bind(&d.sha256)
            .bind(d.size)
            .bind(&d.signature_sha256)
            .bind(&d.signer_subject)
            .bind(&d.signer_serial)
            .bind(&d.signer_issuer)
            .bind(&d.fingerprint)
            .bind(&d.signer_user)
            .bind(&d.signer_agency)
            .bind(d.signing_time)
            .bind(d.server_side)
            .bind(d.added_at)
            .bind(&d.added_by)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DirectiveEffect::ExtensionRequested(x) => {
            sqlx::query(
                "INSERT INTO directive_extensions (id, assignment_id, reason, \
                 requested_deadline, requested_at, requested_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&x.id)
            .bind(&x.assignment)
            .bind(&x.reason)
            .bind(x.requested_deadline)
            .bind(x.requested_at)
            .bind(&x.requested_by)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
        DirectiveEffect::ExtensionDecided {
            id,
            approved,
            new_deadline,
            decided_by,
        } => {
            sqlx::query(
                "UPDATE directive_extensions SET approved = $1, new_deadline = $2, \
                 decided_at = $3, decided_by = $4 WHERE id = $5",
            )
            .bind(*approved)
            .bind(*new_deadline)
            .bind(at)
            .bind(decided_by)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(commit_error)?;
        }
    }
    Ok(())
}
