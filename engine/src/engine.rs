//! The engine facade: deploy, start, command, query. It loads state, runs the pure step and has
//! the store commit the result; it adds idempotency keys, the definition cache and the clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use motcua_definitions::{Diagnostics, NodeKind, Process};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::calendar::WorkCalendar;
use crate::clock::Clock;
use crate::command::{Command, Effect, JobRecord, Transition};
use crate::dossier::blobs::sha256_hex;
use crate::error::EngineError;
use crate::executor::{JobHandler, ScheduleHandler};
use crate::forms::{forms_of, is_form_file};
use crate::ids::{DefinitionRef, InstanceId, JobId, TaskId};
use crate::state::{InstanceState, InstanceStatus};
use crate::step;
use crate::step::StepContext;
use crate::store::{
    Commit, DefinitionRecord, Deployed, IdempotencyRecord, IncidentRow, JournalEntry,
    NewDefinition, Store, StoreError, TaskQuery, TaskRow,
};

/// One BPMN file to deploy.
#[derive(Debug, Clone)]
pub struct DeployFile {
    /// File name, used in diagnostics and stored with the definition.
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Who sends a command and under which idempotency key.
#[derive(Debug, Clone, Default)]
pub struct CommandOptions {
    /// The acting user, recorded in the journal.
    pub actor: Option<String>,
    /// A retried command with the same key returns the first answer and changes nothing.
    pub idempotency_key: Option<String>,
}

impl CommandOptions {
    /// Options with an actor.
    pub fn by(actor: impl Into<String>) -> Self {
        CommandOptions {
            actor: Some(actor.into()),
            idempotency_key: None,
        }
    }

    /// Adds an idempotency key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct StartInstance {
    /// Definition key.
    pub key: String,
    /// A version, or the latest.
    pub version: Option<i32>,
    /// The caller's key (e.g. the dossier code).
    pub business_key: Option<String>,
    /// Start variables.
    pub variables: Map<String, Value>,
}

/// The answer to a command (and what a retry with the same idempotency key returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The instance.
    pub instance: InstanceId,
    /// Its status after the command.
    pub status: InstanceStatus,
    /// Its version after the command.
    pub version: i64,
    /// Tasks this command created.
    pub tasks: Vec<TaskId>,
    /// Jobs this command created.
    pub jobs: Vec<JobId>,
}

/// A job fetched by an external worker, with the instance's variables.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedJob {
    /// The job.
    pub job: JobRecord,
    /// The instance's variables at fetch time.
    pub variables: Map<String, Value>,
    /// The lock lasts until then.
    pub lock_expires_at: DateTime<Utc>,
}

/// How many instance states and task→instance links the engine keeps in memory before it
/// starts over. The caches only save reads: every write is checked against the database.
const CACHE_LIMIT: usize = 50_000;

/// The engine over a store.
///
/// It keeps three caches: parsed models by (key, version) (immutable); task → instance links
/// (immutable); and the last state it committed for each active instance. A cached state may be
/// stale when another engine node wrote since: the commit's version check then refuses it, and
/// the command is run once more on the state read from the database.
pub struct Engine<S: Store> {
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    calendar: Arc<WorkCalendar>,
    due_soon_working_days: f64,
    models: RwLock<HashMap<(String, i32), Arc<Process>>>,
    task_instances: Mutex<HashMap<TaskId, InstanceId>>,
    states: Mutex<HashMap<InstanceId, InstanceState>>,
    pub(crate) handlers: RwLock<HashMap<String, Arc<dyn JobHandler>>>,
    pub(crate) schedule_handlers: RwLock<HashMap<String, Arc<dyn ScheduleHandler>>>,
    pub(crate) counters: crate::feed::Counters,
    pub(crate) webhook_retry: crate::webhooks::WebhookRetry,
    /// Where dossier documents live (none until [`Engine::with_blobs`]).
    pub(crate) blobs: Option<Arc<dyn crate::dossier::BlobStore>>,
    pub(crate) agencies: Arc<crate::agency::Agencies>,
    pub(crate) templates: Arc<motcua_forms::templates::Templates>,
    /// Trust anchors, signer mappings and keys (none until [`Engine::with_signatures`]).
    pub(crate) signatures: Option<Arc<crate::signatures::SignatureSetup>>,
    pub(crate) exchange: Option<Arc<crate::exchange::ExchangeSetup>>,
    /// How often the job executor's pass signs a journal checkpoint (with the engine key).
    pub(crate) checkpoint_every: chrono::Duration,
}

fn fingerprint(value: &Value) -> String {
    sha256_hex(value.to_string().as_bytes())
}

/// What identifies a command on an instance for its idempotency fingerprint.
fn execute_print(instance: InstanceId, command: &Command) -> Value {
    json!({ "op": "execute", "instance": instance, "command": command })
}

impl<S: Store> Engine<S> {
    /// An engine over `store` reading time from `clock`, with Vietnam's working-day calendar
    /// (the shipped holiday data) and "due soon" one working day before a due date.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Engine {
            store,
            clock,
            calendar: Arc::new(WorkCalendar::vietnam()),
            due_soon_working_days: 1.0,
            models: RwLock::new(HashMap::new()),
            task_instances: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            handlers: RwLock::new(HashMap::new()),
            schedule_handlers: RwLock::new(HashMap::new()),
            counters: crate::feed::Counters::default(),
            webhook_retry: crate::webhooks::WebhookRetry::default(),
            blobs: None,
            agencies: Arc::new(crate::agency::Agencies::shipped()),
            templates: Arc::new(motcua_forms::templates::Templates::built_in()),
            signatures: None,
            exchange: None,
            checkpoint_every: crate::checkpoint::DEFAULT_INTERVAL,
        }
    }

    /// Replaces the working-day calendar (e.g. loaded from a configured folder).
    pub fn with_calendar(mut self, calendar: WorkCalendar) -> Self {
        self.calendar = Arc::new(calendar);
        self
    }

    /// Sets how many working days before a due date "due soon" is marked.
    pub fn with_due_soon(mut self, working_days: f64) -> Self {
        self.due_soon_working_days = working_days;
        self
    }

    /// The working-day calendar.
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    pub(crate) fn context(&self, now: DateTime<Utc>) -> StepContext<'_> {
        StepContext {
            now,
            calendar: &self.calendar,
            due_soon_working_days: self.due_soon_working_days,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current time of the engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    // ---- definitions ----------------------------------------------------------------------

    /// Deploys BPMN files atomically: every file is parsed and validated first; if any has a
    /// problem, nothing is stored and every diagnostic of every file is returned.
    pub async fn deploy(
        &self,
        name: &str,
        files: &[DeployFile],
    ) -> Result<Vec<Deployed>, EngineError> {
        if files.is_empty() {
            return Err(EngineError::Invalid(
                "a deployment needs at least one BPMN or form file".into(),
            ));
        }
        let mut diagnostics = Vec::new();
        let mut new = Vec::new();
        let mut parsed = Vec::new();
        let (form_files, bpmn_files): (Vec<&DeployFile>, Vec<&DeployFile>) =
            files.iter().partition(|f| is_form_file(&f.name));
        let forms = forms_of(&form_files)?;
        for file in bpmn_files {
            match motcua_definitions::load(&file.name, &file.bytes) {
                Err(Diagnostics(mut d)) => diagnostics.append(&mut d),
                Ok(processes) => {
                    let xml = match String::from_utf8(file.bytes.clone()) {
                        Ok(x) => x,
                        Err(_) => {
                            return Err(EngineError::Invalid(format!(
                                "{}: the file is not UTF-8 text",
                                file.name
                            )))
                        }
                    };
                    let checksum = sha256_hex(&file.bytes);
                    let now = self.clock.now();
                    for p in processes {
                        let mut timer_starts = Vec::new();
                        for idx in p.timer_starts() {
                            let node = p.node(idx);
                            let NodeKind::TimerStartEvent { timer } = &node.kind else {
                                continue;
                            };
                            let due = step::timer_due(
                                &node.id,
                                timer,
                                &Map::new(),
                                &self.calendar,
                                now,
                                0,
                                None,
                            )?;
                            if let Some(due) = due {
                                timer_starts.push((node.id.clone(), due));
                            }
                        }
                        if new
                            .iter()
                            .any(|n: &NewDefinition| n.key == p.key().as_str())
                        {
                            return Err(EngineError::Invalid(format!(
                                "process '{}' is in this deployment twice",
                                p.key()
                            )));
                        }
                        new.push(NewDefinition {
                            key: p.key().as_str().to_owned(),
                            name: p.name().map(str::to_owned),
                            resource: file.name.clone(),
                            checksum: checksum.clone(),
                            xml: xml.clone(),
                            agency: p.agency().map(str::to_owned),
                            timer_starts,
                        });
                        parsed.push(p);
                    }
                }
            }
        }
        if !diagnostics.is_empty() {
            return Err(EngineError::Deploy(Diagnostics(diagnostics)));
        }
        let deployed = self
            .store
            .deploy(name, &new, &forms, self.clock.now())
            .await?
            .definitions;
        if let Ok(mut cache) = self.models.write() {
            for (d, p) in deployed.iter().zip(parsed) {
                cache
                    .entry((d.definition.key.clone(), d.definition.version))
                    .or_insert_with(|| Arc::new(p));
            }
        }
        Ok(deployed)
    }

    /// Every definition version.
    pub async fn definitions(&self) -> Result<Vec<DefinitionRecord>, EngineError> {
        Ok(self.store.definitions().await?)
    }

    /// A definition's record and XML (a version, or the latest).
    pub async fn definition(
        &self,
        key: &str,
        version: Option<i32>,
    ) -> Result<(DefinitionRecord, String), EngineError> {
        self.store
            .definition(key, version)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "definition",
                id: match version {
                    Some(v) => format!("{key} v{v}"),
                    None => key.to_owned(),
                },
            })
    }

    /// The parsed model of a definition version, from the cache or parsed once.
    pub async fn model(&self, def: &DefinitionRef) -> Result<Arc<Process>, EngineError> {
        let cache_key = (def.key.clone(), def.version);
        if let Some(p) = self
            .models
            .read()
            .ok()
            .and_then(|c| c.get(&cache_key).cloned())
        {
            return Ok(p);
        }
        let (record, xml) = self.definition(&def.key, Some(def.version)).await?;
        let processes =
            motcua_definitions::load(&record.resource, xml.as_bytes()).map_err(|d| {
                EngineError::Fatal(format!("stored definition {def} no longer loads: {d}"))
            })?;
        let process = processes
            .into_iter()
            .find(|p| p.key().as_str() == def.key)
            .ok_or_else(|| {
                EngineError::Fatal(format!("stored definition {def} lost its process"))
            })?;
        let process = Arc::new(process);
        if let Ok(mut cache) = self.models.write() {
            cache.insert(cache_key, process.clone());
        }
        Ok(process)
    }

    // ---- commands -------------------------------------------------------------------------

    /// Starts an instance.
    pub async fn start(
        &self,
        request: StartInstance,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({
                "op": "start",
                "key": request.key,
                "version": request.version,
                "business_key": request.business_key,
                "variables": request.variables,
            })
        });
        if let Some(previous) = self.replay_answer(&options, &print).await? {
            return Ok(previous);
        }
        let record = self
            .store
            .definition_record(&request.key, request.version)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "definition",
                id: match request.version {
                    Some(v) => format!("{} v{v}", request.key),
                    None => request.key.clone(),
                },
            })?;
        let def = DefinitionRef {
            key: record.key,
            version: record.version,
        };
        let model = self.model(&def).await?;
        let variables = self
            .check_start_form(model.start_form(), request.variables)
            .await?;
        let now = self.clock.now();
        let transition = step::start(
            &model,
            def,
            InstanceId::new_v7(),
            request.business_key,
            variables,
            None,
            self.context(now),
        )?;
        self.commit(None, transition, &options, &print, now).await
    }

    /// Applies a command to an instance.
    pub async fn execute(
        &self,
        instance: InstanceId,
        command: Command,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let print = options
            .idempotency_key
            .as_ref()
            .map(|_| execute_print(instance, &command));
        if let Some(previous) = self.replay_answer(&options, &print).await? {
            return Ok(previous);
        }
        let cached = self.cached_state(instance);
        let from_cache = cached.is_some();
        let state = match cached {
            Some(s) => s,
            None => self.instance(instance).await?,
        };
        match self
            .step_and_commit(state, &command, &options, &print)
            .await
        {
            // The cached state may be stale (another node wrote): once more, from the database.
            Err(_) if from_cache => {
                self.forget_state(instance);
                let state = self.instance(instance).await?;
                self.step_and_commit(state, &command, &options, &print)
                    .await
            }
            other => other,
        }
    }

    pub(crate) fn step_context(&self, now: DateTime<Utc>) -> StepContext<'_> {
        self.context(now)
    }

    async fn step_and_commit(
        &self,
        state: InstanceState,
        command: &Command,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<Outcome, EngineError> {
        let model = self.model(&state.definition).await?;
        let checked = self.check_command_form(&model, &state, command).await?;
        let command = checked.as_ref().unwrap_or(command);
        let expected = state.version;
        let now = self.clock.now();
        let transition = step::apply(&model, state, command, self.context(now))?;
        self.commit(Some(expected), transition, options, print, now)
            .await
    }

    /// Claims a task for `user`.
    pub async fn claim(
        &self,
        task: TaskId,
        user: &str,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let instance = self.task_instance(task).await?;
        let command = Command::Claim {
            task,
            user: user.to_owned(),
        };
        self.execute(instance, command, options).await
    }

    /// Releases a claim.
    pub async fn unclaim(
        &self,
        task: TaskId,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let instance = self.task_instance(task).await?;
        self.execute(instance, Command::Unclaim { task }, options)
            .await
    }

    /// Sets a task's assignee directly, even if someone else has claimed it.
    pub async fn assign(
        &self,
        task: TaskId,
        user: &str,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let instance = self.task_instance(task).await?;
        let command = Command::Assign {
            task,
            user: user.to_owned(),
        };
        self.execute(instance, command, options).await
    }

    /// Delegates a task to `user`; its assignee becomes its owner until it is resolved.
    pub async fn delegate(
        &self,
        task: TaskId,
        user: &str,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let instance = self.task_instance(task).await?;
        let command = Command::Delegate {
            task,
            user: user.to_owned(),
        };
        self.execute(instance, command, options).await
    }

    /// Resolves a delegated task: it goes back to its owner, with variables.
    pub async fn resolve(
        &self,
        task: TaskId,
        variables: Map<String, Value>,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let instance = self.task_instance(task).await?;
        self.execute(instance, Command::Resolve { task, variables }, options)
            .await
    }

    /// Completes a task with variables.
    pub async fn complete(
        &self,
        task: TaskId,
        variables: Map<String, Value>,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let instance = self.task_instance(task).await?;
        let command = Command::Complete {
            task,
            variables,
            by: options.actor.clone(),
        };
        self.execute(instance, command, options).await
    }

    /// Cancels an instance.
    pub async fn cancel(
        &self,
        instance: InstanceId,
        reason: Option<String>,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        self.execute(instance, Command::Cancel { reason }, options)
            .await
    }

    /// Locks up to `max` due jobs of `topic` for `worker` for `lock_for`.
    pub async fn fetch_and_lock(
        &self,
        topic: &str,
        worker: &str,
        max: u32,
        lock_for: Duration,
    ) -> Result<Vec<FetchedJob>, EngineError> {
        let now = self.clock.now();
        let locked = self
            .store
            .lock_jobs(topic, worker, max, now, now + lock_for)
            .await?;
        let mut out = Vec::with_capacity(locked.len());
        for job in locked {
            let variables = self
                .store
                .instance(job.record.instance)
                .await?
                .map(|i| i.state.variables)
                .unwrap_or_default();
            out.push(FetchedJob {
                job: job.record,
                variables,
                lock_expires_at: job.lock_expires_at,
            });
        }
        Ok(out)
    }

    /// [`Engine::fetch_and_lock`] under an idempotency key: a retry with the same key and
    /// request answers the jobs of the first fetch again (as they are now, if this worker still
    /// holds them) instead of locking more. The answer is recorded right after the jobs are
    /// locked, not in the same transaction: if the engine dies in between, a retry locks a new
    /// batch and the first one is free again when its locks expire.
    pub async fn fetch_and_lock_keyed(
        &self,
        topic: &str,
        worker: &str,
        max: u32,
        lock_for: Duration,
        options: &CommandOptions,
    ) -> Result<Vec<FetchedJob>, EngineError> {
        let Some(key) = &options.idempotency_key else {
            return self.fetch_and_lock(topic, worker, max, lock_for).await;
        };
        let print = fingerprint(&json!({
            "op": "fetch-and-lock",
            "topic": topic,
            "worker": worker,
            "max": max,
            "lockSeconds": lock_for.num_seconds(),
        }));
        if let Some((recorded, response)) = self.store.idempotent(key).await? {
            if recorded != print {
                return Err(EngineError::Conflict(format!(
                    "idempotency key '{key}' was already used for a different request"
                )));
            }
            let ids: Vec<(JobId, DateTime<Utc>)> = serde_json::from_value(response)
                .map_err(|e| EngineError::Fatal(format!("stored answer for '{key}': {e}")))?;
            let mut out = Vec::with_capacity(ids.len());
            for (id, lock_expires_at) in ids {
                let Some(row) = self.store.job(id).await? else {
                    continue;
                };
                let Some(instance) = row.instance else {
                    continue;
                };
                let variables = self
                    .store
                    .instance(instance)
                    .await?
                    .map(|i| i.state.variables)
                    .unwrap_or_default();
                out.push(FetchedJob {
                    job: JobRecord {
                        id,
                        kind: crate::command::JobKind::External,
                        instance,
                        node: row.node,
                        topic: row.topic,
                        retries: row.retries,
                        due_at: row.due_at,
                    },
                    variables,
                    lock_expires_at,
                });
            }
            return Ok(out);
        }
        let fetched = self.fetch_and_lock(topic, worker, max, lock_for).await?;
        let ids: Vec<(JobId, DateTime<Utc>)> = fetched
            .iter()
            .map(|f| (f.job.id, f.lock_expires_at))
            .collect();
        let record = IdempotencyRecord {
            key: key.clone(),
            fingerprint: print,
            response: serde_json::to_value(&ids).map_err(|e| EngineError::Fatal(e.to_string()))?,
        };
        self.store
            .record_idempotent(&record, self.clock.now())
            .await?;
        Ok(fetched)
    }

    async fn locked_job_instance(
        &self,
        job: JobId,
        worker: &str,
    ) -> Result<InstanceId, EngineError> {
        let (instance, owner) = self
            .store
            .job_instance(job, self.clock.now())
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "job",
                id: job.to_string(),
            })?;
        match owner {
            Some(o) if o == worker => Ok(instance),
            Some(o) => Err(EngineError::Conflict(format!(
                "job {job} is locked by worker '{o}', not '{worker}'"
            ))),
            None => Err(EngineError::Conflict(format!(
                "job {job} is not locked by worker '{worker}' (its lock expired or it was never fetched): fetch and lock it first"
            ))),
        }
    }

    /// An external worker completes a job it holds.
    pub async fn complete_job(
        &self,
        job: JobId,
        worker: &str,
        variables: Map<String, Value>,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        self.execute_job_command(
            job,
            worker,
            Command::CompleteJob { job, variables },
            options,
        )
        .await
    }

    /// An external worker reports a failure of a job it holds.
    pub async fn fail_job(
        &self,
        job: JobId,
        worker: &str,
        error: &str,
        retries: Option<u32>,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        let command = Command::FailJob {
            job,
            error: error.to_owned(),
            retries,
        };
        self.execute_job_command(job, worker, command, options)
            .await
    }

    /// Runs a worker's command on the job it holds. A refusal because the worker no longer
    /// holds the job may be the retry of a command that committed (its answer was lost) and
    /// closed the job: under the same idempotency key, the first answer is returned.
    async fn execute_job_command(
        &self,
        job: JobId,
        worker: &str,
        command: Command,
        options: CommandOptions,
    ) -> Result<Outcome, EngineError> {
        match self.locked_job_instance(job, worker).await {
            Ok(instance) => self.execute(instance, command, options).await,
            Err(e) => self
                .job_retry_answer(job, &command, &options)
                .await?
                .ok_or(e),
        }
    }

    /// The first answer to a keyed job command, as [`Engine::execute`] recorded it.
    async fn job_retry_answer(
        &self,
        job: JobId,
        command: &Command,
        options: &CommandOptions,
    ) -> Result<Option<Outcome>, EngineError> {
        if options.idempotency_key.is_none() {
            return Ok(None);
        }
        let Some((instance, _)) = self.store.job_instance(job, self.clock.now()).await? else {
            return Ok(None);
        };
        self.replay_answer(options, &Some(execute_print(instance, command)))
            .await
    }

    // ---- queries --------------------------------------------------------------------------

    /// An instance's state.
    pub async fn instance(&self, id: InstanceId) -> Result<InstanceState, EngineError> {
        self.store
            .instance(id)
            .await?
            .map(|s| s.state)
            .ok_or_else(|| EngineError::NotFound {
                what: "instance",
                id: id.to_string(),
            })
    }

    /// An instance's journal.
    pub async fn journal(&self, id: InstanceId) -> Result<Vec<JournalEntry>, EngineError> {
        self.instance(id).await?;
        Ok(self.store.journal(id).await?)
    }

    /// Rebuilds an instance's state from its journal alone (see [`crate::replay`]).
    pub async fn replay(&self, id: InstanceId) -> Result<InstanceState, EngineError> {
        let stored = self.instance(id).await?;
        let model = self.model(&stored.definition).await?;
        let journal = self.store.journal(id).await?;
        crate::replay::replay(
            &model,
            id,
            &journal,
            &self.calendar,
            self.due_soon_working_days,
        )
        .map_err(|e| EngineError::Fatal(format!("instance {id}: {e}")))
    }

    /// Checks that an instance's stored state is exactly what its journal replays to.
    pub async fn verify_instance(&self, id: InstanceId) -> Result<(), EngineError> {
        let replayed = self.replay(id).await?;
        let stored = self.instance(id).await?;
        if replayed == stored {
            return Ok(());
        }
        let show = |s: &InstanceState| serde_json::to_string(s).unwrap_or_default();
        Err(EngineError::Fatal(format!(
            "instance {id}: the stored state differs from its journal's replay\nstored:   {}\nreplayed: {}",
            show(&stored),
            show(&replayed)
        )))
    }

    /// Lists tasks.
    pub async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, EngineError> {
        Ok(self.store.tasks(query).await?)
    }

    /// How many tasks `query` matches (sort and paging ignored).
    pub async fn count_tasks(&self, query: &TaskQuery) -> Result<i64, EngineError> {
        Ok(self.store.count_tasks(query).await?)
    }

    /// One task.
    pub async fn task(&self, id: TaskId) -> Result<TaskRow, EngineError> {
        self.store
            .task(id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "task",
                id: id.to_string(),
            })
    }

    /// Open incidents.
    pub async fn incidents(&self) -> Result<Vec<IncidentRow>, EngineError> {
        Ok(self.store.incidents().await?)
    }

    // ---- internals ------------------------------------------------------------------------

    async fn task_instance(&self, task: TaskId) -> Result<InstanceId, EngineError> {
        if let Some(id) = self
            .task_instances
            .lock()
            .ok()
            .and_then(|m| m.get(&task).copied())
        {
            return Ok(id);
        }
        self.store
            .task_instance(task)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "task",
                id: task.to_string(),
            })
    }

    fn cached_state(&self, id: InstanceId) -> Option<InstanceState> {
        self.states.lock().ok().and_then(|m| m.get(&id).cloned())
    }

    fn forget_state(&self, id: InstanceId) {
        if let Ok(mut m) = self.states.lock() {
            m.remove(&id);
        }
    }

    /// Caches what a committed transition tells: the state of an active instance and the
    /// instance of each new task.
    pub(crate) fn remember(&self, transition: &Transition) {
        let state = &transition.state;
        if let Ok(mut m) = self.states.lock() {
            if state.status == InstanceStatus::Active {
                if m.len() >= CACHE_LIMIT {
                    m.clear();
                }
                m.insert(state.id, state.clone());
            } else {
                m.remove(&state.id);
            }
        }
        if let Ok(mut m) = self.task_instances.lock() {
            for effect in &transition.effects {
                match effect {
                    Effect::TaskCreated(t) => {
                        if m.len() >= CACHE_LIMIT {
                            m.clear();
                        }
                        m.insert(t.id, t.instance);
                    }
                    Effect::TaskClosed { task, .. } => {
                        m.remove(task);
                    }
                    _ => {}
                }
            }
        }
    }

    /// A dossier handed to another agency by a whole-dossier transfer (not returned) is worked
    /// there: the tasks its later steps create go to the holder's queue, not to the agency the
    /// model names. Only the projection changes (a `task_created` event names no agency), so
    /// replay is unaffected. One indexed lookup for commits that create tasks.
    async fn route_to_holder(&self, transition: &mut Transition) -> Result<(), EngineError> {
        if !transition
            .effects
            .iter()
            .any(|e| matches!(e, Effect::TaskCreated(_)))
        {
            return Ok(());
        }
        let Some(dossier) = self.store.dossier_by_instance(transition.state.id).await? else {
            return Ok(());
        };
        let transfers = self.store.dossier_transfers(&dossier.code).await?;
        if transfers.is_empty() {
            return Ok(());
        }
        let scope = crate::dossier::transfer::DossierScope::of(&dossier.agency, &transfers);
        if scope.holder == scope.owner {
            return Ok(());
        }
        for effect in &mut transition.effects {
            if let Effect::TaskCreated(task) = effect {
                task.agency = Some(scope.holder.clone());
            }
        }
        Ok(())
    }

    /// The first answer to this idempotency key, if the command was already done.
    pub(crate) async fn replay_answer(
        &self,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<Option<Outcome>, EngineError> {
        let (Some(key), Some(print)) = (&options.idempotency_key, print) else {
            return Ok(None);
        };
        let Some((recorded, response)) = self.store.idempotent(key).await? else {
            return Ok(None);
        };
        if recorded != fingerprint(print) {
            return Err(EngineError::Conflict(format!(
                "idempotency key '{key}' was already used for a different command"
            )));
        }
        serde_json::from_value(response).map(Some).map_err(|e| {
            EngineError::Fatal(format!("stored answer for key '{key}' is corrupt: {e}"))
        })
    }

    pub(crate) async fn commit(
        &self,
        expected_version: Option<i64>,
        mut transition: Transition,
        options: &CommandOptions,
        print: &Option<Value>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EngineError> {
        self.route_to_holder(&mut transition).await?;
        let outcome = Outcome {
            instance: transition.state.id,
            status: transition.state.status,
            version: transition.state.version,
            tasks: transition
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::TaskCreated(t) => Some(t.id),
                    _ => None,
                })
                .collect(),
            jobs: transition
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::JobCreated(j) => Some(j.id),
                    _ => None,
                })
                .collect(),
        };
        if transition.events.is_empty() && transition.effects.is_empty() {
            return Ok(outcome);
        }
        let idempotency = match (&options.idempotency_key, print) {
            (Some(key), Some(print)) => Some(IdempotencyRecord {
                key: key.clone(),
                fingerprint: fingerprint(print),
                response: serde_json::to_value(&outcome)
                    .map_err(|e| EngineError::Fatal(e.to_string()))?,
            }),
            _ => None,
        };
        let mut transition = transition;
        let sealed = crate::chain::seal(
            &mut transition.state,
            &transition.events,
            options.actor.as_deref(),
            now,
        )
        .map_err(|e| EngineError::Fatal(format!("an event could not be serialised: {e}")))?;
        let commit = Commit {
            expected_version,
            state: &transition.state,
            events: &transition.events,
            sealed: &sealed,
            effects: &transition.effects,
            actor: options.actor.as_deref(),
            at: now,
            idempotency,
        };
        match self.store.commit(commit).await {
            Ok(()) => {
                self.counters.command();
                self.remember(&transition);
                let armed = transition
                    .effects
                    .iter()
                    .any(|e| matches!(e, Effect::SubscriptionOpened(_)));
                if armed {
                    // A buffered message may wait for a catcher this command armed; what is
                    // missed here (a failure, a race) the executor's next pass delivers.
                    if let Err(e) = self.deliver_buffered(Some(transition.state.id)).await {
                        tracing::warn!("delivering buffered messages failed: {e}");
                    }
                }
                Ok(outcome)
            }
            Err(StoreError::VersionConflict) => {
                self.counters.conflict();
                Err(StoreError::VersionConflict.into())
            }
            // A concurrent retry with the same key won the race: answer as it did.
            Err(StoreError::Duplicate(_)) if options.idempotency_key.is_some() => {
                match self.replay_answer(options, print).await? {
                    Some(previous) => Ok(previous),
                    None => Err(EngineError::Conflict(
                        "a concurrent command changed the same data; re-read and try again".into(),
                    )),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
