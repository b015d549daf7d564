//! The job executor: runs what is due — instance timers, timer start events, the jobs of topics
//! served by in-process handlers — and operator schedules (cron).
//!
//! Every job is a row with a due time and a lease. A runner leases due rows
//! ([`Store::claim_due_jobs`]), runs each one, and commits its effect with the instance in one
//! transaction; the job row is closed in that same transaction. A runner that dies loses its
//! lease when it expires and another runner takes the job; running it again changes nothing
//! twice, because the instance's version check and the job's open state let only one firing
//! commit. A failing job is retried with exponential back-off; when its attempts run out an
//! incident is raised, which a person retries with [`Engine::retry_incident`]. Handler code that
//! panics counts as a failure, never as a crash of the runner.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use motcua_definitions::{NodeKind, TimerKind, TimerSpec};
use serde_json::{json, Map, Value};

use crate::command::{Command, Effect};
use crate::engine::{CommandOptions, Engine, FetchedJob};
use crate::error::EngineError;
use crate::ids::{DefinitionRef, InstanceId, JobId};
use crate::step;
use crate::store::{Commit, DueJob, ScheduleRow, ScheduleRun, Store};

/// A boxed future, for handler traits that must be object-safe.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Code that does a service task's work inside the engine process, for one topic (like an
/// external worker that needs no network hop). It returns the variables to set, or an error
/// message; a panic counts as an error.
pub trait JobHandler: Send + Sync + 'static {
    /// Runs one job.
    fn run(&self, job: FetchedJob) -> BoxFuture<Result<Map<String, Value>, String>>;
}

/// Code an operator schedule runs; its result is recorded with the run.
pub trait ScheduleHandler: Send + Sync + 'static {
    /// Runs one fire of the schedule `name` that was due at `due_at`.
    fn run(&self, name: String, due_at: DateTime<Utc>) -> BoxFuture<Result<Value, String>>;
}

/// The built-in schedule handler that counts open overdue tasks by agency and group.
pub const OVERDUE_REPORT: &str = "overdue-report";

/// The built-in schedule handler that removes finished instances older than the retention.
pub const HISTORY_CLEANUP: &str = "history-cleanup";

/// How long finished instances are kept by default (the handler `history-cleanup`).
pub const DEFAULT_RETENTION_DAYS: i64 = 365;

/// How long a runner holds a job before another may take it.
pub const JOB_LEASE_SECS: i64 = 60;

/// What one pass of the executor did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobRunReport {
    /// Instance timers fired.
    pub timers_fired: usize,
    /// Instances started by timer start events.
    pub instances_started: usize,
    /// Jobs completed by in-process handlers.
    pub handled: usize,
    /// Jobs that failed (retried later or turned into incidents).
    pub failed: usize,
    /// Jobs that had nothing left to do (already fired, cancelled, or done by another runner).
    pub skipped: usize,
    /// Outbox jobs run (thrown messages, call activities' starts, returns and cancels) and
    /// buffered messages delivered.
    pub delivered: usize,
}

impl JobRunReport {
    /// Jobs that did something.
    pub fn done(&self) -> usize {
        self.timers_fired + self.instances_started + self.handled + self.delivered
    }
}

enum Ran {
    Delivered,
    Fired,
    Started,
    Handled,
    Skipped,
}

const BACKOFF_BASE_SECS: i64 = 10;
const BACKOFF_MAX_SECS: i64 = 3600;

fn backoff(retries_left: u32) -> Duration {
    let failures = crate::step::TIMER_RETRIES
        .saturating_sub(retries_left)
        .clamp(1, 16);
    Duration::seconds((BACKOFF_BASE_SECS << (failures - 1)).min(BACKOFF_MAX_SECS))
}

/// Reads a cron expression as operators write it: six fields with seconds (Quartz, Zeebe) or the
/// classic five; `?` is read as `*`.
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, EngineError> {
    match TimerSpec::parse(TimerKind::Cycle, expression) {
        Ok(TimerSpec::Cron { schedule, .. }) => Ok(*schedule),
        Ok(_) | Err(_) => cron::Schedule::from_str(expression.trim()).map_err(|e| {
            EngineError::Invalid(format!(
                "'{expression}' is not a cron expression (e.g. '0 0 7 * * *' for 07:00 every day): {e}"
            ))
        }),
    }
}

/// The first fire of `schedule` strictly after `after`, in Asia/Ho_Chi_Minh.
fn next_fire(schedule: &cron::Schedule, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(&motcua_definitions::timer::vietnam());
    schedule.after(&local).next().map(|t| t.with_timezone(&Utc))
}

impl<S: Store> Engine<S> {
    /// Lets `handler` do the jobs of `topic` inside this process.
    pub fn register_handler(&self, topic: &str, handler: Arc<dyn JobHandler>) {
        if let Ok(mut h) = self.handlers.write() {
            h.insert(topic.to_owned(), handler);
        }
    }

    /// Registers code an operator schedule can run by name.
    pub fn register_schedule_handler(&self, name: &str, handler: Arc<dyn ScheduleHandler>) {
        if let Ok(mut h) = self.schedule_handlers.write() {
            h.insert(name.to_owned(), handler);
        }
    }

    /// Leases up to `max` due jobs for `worker` and runs them. Call it in a loop (`motcua
    /// worker`) or, in tests, after moving the clock.
    pub async fn run_due_jobs(&self, worker: &str, max: u32) -> Result<JobRunReport, EngineError> {
        let now = self.clock.now();
        let topics: Vec<String> = self
            .handlers
            .read()
            .map(|h| h.keys().cloned().collect())
            .unwrap_or_default();
        let jobs = self
            .store
            .claim_due_jobs(
                worker,
                &topics,
                max,
                now,
                now + Duration::seconds(JOB_LEASE_SECS),
            )
            .await?;
        let mut report = JobRunReport::default();
        // Buffered messages whose catcher waits (missed right after the catcher's commit),
        // and buffered messages long expired (ignored when read anyway).
        report.delivered += self.deliver_buffered(None).await?;
        self.store
            .remove_expired_messages(
                now - Duration::seconds(crate::messages::DEFAULT_MESSAGE_TTL_SECS),
            )
            .await?;
        for job in jobs {
            let ran = match job.kind.as_str() {
                kind if crate::messages::is_outbox(kind) => match self.run_outbox_job(&job).await {
                    Ok(true) => Ok(Ran::Delivered),
                    Ok(false) => Ok(Ran::Skipped),
                    Err(e) => Err(e),
                },
                "timer" => self.fire_timer_job(&job).await,
                "timer_start" => self.fire_timer_start(&job).await,
                "external" => self.run_handler(&job, worker).await,
                other => Err(format!("unknown job kind '{other}'")),
            };
            if matches!(
                ran,
                Ok(Ran::Fired | Ran::Started | Ran::Handled | Ran::Delivered)
            ) {
                self.counters.job_fired();
            }
            match ran {
                Ok(Ran::Delivered) => report.delivered += 1,
                Ok(Ran::Fired) => report.timers_fired += 1,
                Ok(Ran::Started) => report.instances_started += 1,
                Ok(Ran::Handled) => report.handled += 1,
                Ok(Ran::Skipped) => report.skipped += 1,
                Err(message) => {
                    report.failed += 1;
                    tracing::warn!(job = %job.id, kind = %job.kind, "job failed: {message}");
                    self.job_failed(&job, worker, &message).await?;
                }
            }
        }
        Ok(report)
    }

    /// Runs due jobs until none is left at the current time (tests and `motcua jobs run-due`).
    pub async fn run_all_due_jobs(&self, worker: &str) -> Result<JobRunReport, EngineError> {
        let mut total = JobRunReport::default();
        loop {
            let r = self.run_due_jobs(worker, 500).await?;
            total.timers_fired += r.timers_fired;
            total.instances_started += r.instances_started;
            total.handled += r.handled;
            total.failed += r.failed;
            total.skipped += r.skipped;
            total.delivered += r.delivered;
            if r.done() + r.failed + r.skipped == 0 {
                return Ok(total);
            }
        }
    }

    async fn fire_timer_job(&self, job: &DueJob) -> Result<Ran, String> {
        let Some(instance) = job.instance else {
            return Err("a timer job without an instance".into());
        };
        let options = CommandOptions::by("timer");
        // A user's command may have changed the instance at the same moment: try again.
        for _ in 0..3 {
            match self
                .execute(
                    instance,
                    Command::FireTimer { job: job.id },
                    options.clone(),
                )
                .await
            {
                Ok(_) => return Ok(Ran::Fired),
                Err(EngineError::Conflict(_)) => {
                    if !self.timer_still_armed(instance, job.id).await {
                        return Ok(Ran::Skipped);
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("the instance kept changing while the timer fired".into())
    }

    async fn timer_still_armed(&self, instance: InstanceId, job: JobId) -> bool {
        match self.instance(instance).await {
            Ok(state) => {
                state.timers.iter().any(|t| t.job == job)
                    || state.tokens.iter().any(
                        |t| matches!(&t.wait, crate::state::Wait::Timer { job: j } if *j == job),
                    )
            }
            Err(_) => false,
        }
    }

    async fn fire_timer_start(&self, job: &DueJob) -> Result<Ran, String> {
        let Some((key, version)) = job.definition.clone() else {
            return Err("a timer start job without a definition".into());
        };
        let def = DefinitionRef { key, version };
        let model = self.model(&def).await.map_err(|e| e.to_string())?;
        let Some(idx) = model.node_by_id(&job.node) else {
            return Err(format!("{def} has no node '{}'", job.node));
        };
        let NodeKind::TimerStartEvent { timer } = &model.node(idx).kind else {
            return Err(format!(
                "'{}' of {def} is not a timer start event",
                job.node
            ));
        };
        let now = self.clock.now();
        let mut transition = step::start(
            &model,
            def.clone(),
            InstanceId::new_v7(),
            None,
            Map::new(),
            Some(idx),
            self.step_context(now),
        )
        .map_err(|e| e.to_string())?;
        let fired = job.fired + 1;
        let next = step::timer_due(
            &job.node,
            timer,
            &Map::new(),
            self.calendar(),
            job.due_at,
            fired,
            Some(job.due_at),
        )
        .map_err(|e| e.to_string())?;
        if let Some(due_at) = next {
            transition.effects.push(Effect::TimerStartScheduled {
                job: JobId::from_uuid(uuid::Uuid::now_v7()),
                key: def.key.clone(),
                version: def.version,
                node: job.node.clone(),
                fired,
                due_at,
            });
        }
        let sealed = crate::chain::seal(
            &mut transition.state,
            &transition.events,
            Some("timer"),
            now,
        )
        .map_err(|e| e.to_string())?;
        let commit = Commit {
            expected_version: None,
            state: &transition.state,
            events: &transition.events,
            sealed: &sealed,
            effects: &transition.effects,
            actor: Some("timer"),
            at: now,
            idempotency: None,
        };
        match self.store.commit_timer_start(job.id, commit).await {
            Ok(true) => {
                self.remember(&transition);
                Ok(Ran::Started)
            }
            Ok(false) => Ok(Ran::Skipped),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn run_handler(&self, job: &DueJob, worker: &str) -> Result<Ran, String> {
        let handler = self
            .handlers
            .read()
            .ok()
            .and_then(|h| h.get(&job.topic).cloned());
        let Some(handler) = handler else {
            return Err(format!(
                "no handler for topic '{}' in this process",
                job.topic
            ));
        };
        let Some(instance) = job.instance else {
            return Err("an external job without an instance".into());
        };
        let variables = match self.instance(instance).await {
            Ok(s) => s.variables,
            Err(e) => return Err(e.to_string()),
        };
        let fetched = FetchedJob {
            job: crate::command::JobRecord {
                id: job.id,
                kind: crate::command::JobKind::External,
                instance,
                node: job.node.clone(),
                topic: job.topic.clone(),
                retries: job.retries,
                due_at: job.due_at,
            },
            variables,
            lock_expires_at: self.clock.now() + Duration::seconds(JOB_LEASE_SECS),
        };
        // The handler runs in its own task, so a panic in it is caught as an error.
        let outcome = tokio::spawn(handler.run(fetched)).await;
        let variables = match outcome {
            Ok(Ok(vars)) => vars,
            Ok(Err(message)) => return Err(message),
            Err(join) if join.is_panic() => {
                let payload = join.into_panic();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                return Err(format!("the handler panicked: {text}"));
            }
            Err(join) => return Err(format!("the handler was cancelled: {join}")),
        };
        match self
            .complete_job(job.id, worker, variables, CommandOptions::by(worker))
            .await
        {
            Ok(_) => Ok(Ran::Handled),
            Err(EngineError::Conflict(_)) => Ok(Ran::Skipped),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn job_failed(
        &self,
        job: &DueJob,
        worker: &str,
        message: &str,
    ) -> Result<(), EngineError> {
        let left = job.retries.saturating_sub(1);
        let now = self.clock.now();
        let outcome = match (job.kind.as_str(), job.instance) {
            (kind, _) if crate::messages::is_outbox(kind) => self
                .store
                .fail_unowned_job(job.id, message, left, now + backoff(left), now)
                .await
                .map_err(EngineError::from),
            ("external", Some(_)) => self
                .fail_job(job.id, worker, message, None, CommandOptions::by(worker))
                .await
                .map(|_| ()),
            (_, Some(instance)) => self
                .execute(
                    instance,
                    Command::FailJob {
                        job: job.id,
                        error: message.to_owned(),
                        retries: Some(left),
                    },
                    CommandOptions::by(worker),
                )
                .await
                .map(|_| ()),
            (_, None) => self
                .store
                .fail_unowned_job(job.id, message, left, now + backoff(left), now)
                .await
                .map_err(EngineError::from),
        };
        match outcome {
            // The job was finished or cancelled meanwhile: nothing to record.
            Err(EngineError::Conflict(_)) => Ok(()),
            other => other,
        }
    }

    /// Gives the job of an incident `retries` new attempts, due now. The acting person and an
    /// idempotency key come in `options` (no actor: recorded as `operator`).
    pub async fn retry_incident(
        &self,
        job: JobId,
        retries: u32,
        options: CommandOptions,
    ) -> Result<(), EngineError> {
        let row = self
            .store
            .job(job)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "job",
                id: job.to_string(),
            })?;
        match row
            .instance
            .filter(|_| !crate::messages::is_outbox(&row.kind))
        {
            Some(instance) => {
                let options = CommandOptions {
                    actor: options.actor.or_else(|| Some("operator".into())),
                    ..options
                };
                self.execute(instance, Command::RetryJob { job, retries }, options)
                    .await?;
            }
            None => {
                self.store
                    .retry_unowned_job(job, retries, self.clock.now())
                    .await?
            }
        }
        Ok(())
    }

    // ---- operator schedules -----------------------------------------------------------------

    /// Adds (or replaces) a schedule that runs `handler` at every fire of `cron`
    /// (Asia/Ho_Chi_Minh). Returns its first fire.
    pub async fn put_schedule(
        &self,
        name: &str,
        cron: &str,
        handler: &str,
    ) -> Result<DateTime<Utc>, EngineError> {
        if name.trim().is_empty() {
            return Err(EngineError::Invalid("a schedule needs a name".into()));
        }
        let known = handler == OVERDUE_REPORT
            || handler == HISTORY_CLEANUP
            || self
                .schedule_handlers
                .read()
                .map(|h| h.contains_key(handler))
                .unwrap_or(false);
        if !known {
            return Err(EngineError::Invalid(format!(
                "no schedule handler '{handler}' (built in: {OVERDUE_REPORT}, {HISTORY_CLEANUP})"
            )));
        }
        let schedule = parse_cron(cron)?;
        let now = self.clock.now();
        let next_due = next_fire(&schedule, now).ok_or_else(|| {
            EngineError::Invalid(format!("the cron expression '{cron}' never fires"))
        })?;
        let row = ScheduleRow {
            name: name.to_owned(),
            cron: cron.to_owned(),
            handler: handler.to_owned(),
            next_due,
        };
        self.store.put_schedule(&row, now).await?;
        Ok(next_due)
    }

    /// Removes a schedule.
    pub async fn remove_schedule(&self, name: &str) -> Result<(), EngineError> {
        if self.store.remove_schedule(name).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound {
                what: "schedule",
                id: name.to_owned(),
            })
        }
    }

    /// Every schedule.
    pub async fn schedules(&self) -> Result<Vec<ScheduleRow>, EngineError> {
        Ok(self.store.schedules().await?)
    }

    /// A schedule's recorded runs, newest first.
    pub async fn schedule_runs(&self, name: &str) -> Result<Vec<ScheduleRun>, EngineError> {
        Ok(self.store.schedule_runs(name).await?)
    }

    /// Runs the schedules that are due. Each fire is recorded once, by (name, due time), even
    /// when several runners hold it; missed fires (the engine was down) run once, then the
    /// schedule moves to its next fire after now. Returns the runs this runner recorded.
    pub async fn run_due_schedules(&self, worker: &str) -> Result<Vec<ScheduleRun>, EngineError> {
        let now = self.clock.now();
        let due = self
            .store
            .claim_due_schedules(worker, 100, now, now + Duration::seconds(JOB_LEASE_SECS))
            .await?;
        let mut recorded = Vec::new();
        for row in due {
            let result = match self.run_schedule_handler(&row).await {
                Ok(v) => v,
                Err(message) => json!({ "error": message }),
            };
            let next_due = parse_cron(&row.cron)
                .ok()
                .and_then(|s| next_fire(&s, now.max(row.next_due)))
                .unwrap_or(row.next_due + Duration::days(36500));
            let run = ScheduleRun {
                name: row.name.clone(),
                due_at: row.next_due,
                ran_at: self.clock.now(),
                runner: worker.to_owned(),
                result,
            };
            if self.store.record_schedule_run(&run, next_due).await? {
                recorded.push(run);
            }
        }
        Ok(recorded)
    }

    async fn run_schedule_handler(&self, row: &ScheduleRow) -> Result<Value, String> {
        if row.handler == OVERDUE_REPORT {
            return self.overdue_report().await.map_err(|e| e.to_string());
        }
        if row.handler == HISTORY_CLEANUP {
            let before = self.clock.now() - Duration::days(DEFAULT_RETENTION_DAYS);
            return self
                .remove_finished(before, 1000)
                .await
                .map(|r| {
                    json!({"instances": r.instances, "events": r.events, "tasks": r.tasks,
                           "jobs": r.jobs, "idempotency": r.idempotency})
                })
                .map_err(|e| e.to_string());
        }
        let handler = self
            .schedule_handlers
            .read()
            .ok()
            .and_then(|h| h.get(&row.handler).cloned())
            .ok_or_else(|| format!("no schedule handler '{}'", row.handler))?;
        match tokio::spawn(handler.run(row.name.clone(), row.next_due)).await {
            Ok(result) => result,
            Err(join) => Err(format!("the schedule handler failed: {join}")),
        }
    }

    /// Removes finished instances that ended before `before` (and idempotency records older
    /// than it), in batches of `batch`, each its own transaction, until none is left.
    pub async fn remove_finished(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<crate::store::Removed, EngineError> {
        let mut total = crate::store::Removed::default();
        loop {
            let removed = self.store.remove_finished(before, batch).await?;
            if removed.is_empty() {
                return Ok(total);
            }
            total.add(removed);
        }
    }

    /// Open overdue tasks counted by agency and candidate group.
    pub async fn overdue_report(&self) -> Result<Value, EngineError> {
        let counts = self.store.overdue_counts().await?;
        let mut by_agency: HashMap<String, Map<String, Value>> = HashMap::new();
        let mut total = 0;
        for (agency, group, n) in counts {
            total += n;
            by_agency
                .entry(agency.unwrap_or_default())
                .or_default()
                .insert(group, json!(n));
        }
        Ok(json!({ "overdueTasks": total, "byAgency": by_agency }))
    }
}
