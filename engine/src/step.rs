//! The pure step: `(instance state, command, now) -> (new state, events, effects)`.
//!
//! No I/O, no clock, no randomness: ids derive from the instance id and a counter, so replaying
//! the same commands on the same definition yields the same events (a mismatch is
//! nondeterminism). Tokens move until each one waits (a user task, a job, a join, a
//! sub-process) or ends; the store then writes the result in one transaction.
//!
//! Timers: a timer catch event's token waits for its timer job; entering a user task, service
//! task or sub-process arms a timer job for each boundary timer attached to it, and every timer
//! of a token is disarmed when the token leaves. An interrupting boundary timer cancels its
//! activity (and everything inside a sub-process); a non-interrupting one starts a parallel path
//! and, for a cycle, re-arms until its repetitions run out. SLA marks (due soon, overdue) are
//! timers too. Due dates in working days come from the [`WorkCalendar`] in the context.
//!
//! Gateway semantics:
//! - exclusive: the first outgoing flow in document order whose condition holds, else the
//!   default; no match and no default is an error and the command changes nothing;
//! - parallel: forks to all outgoing flows; with several incoming flows it joins, firing once a
//!   token waits on every incoming flow;
//! - inclusive: forks to every flow whose condition holds (else the default); with several
//!   incoming flows it fires once no other token of its scope can still reach it.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use motcua_definitions::expr::Expression;
use motcua_definitions::{
    Assignment, CalledVersion, FlowIdx, MessageRef, MessageThrow, NodeIdx, NodeKind, Process,
    Timer, TimerSpec,
};
use serde_json::{Map, Value};

use crate::calendar::WorkCalendar;
use crate::command::{
    Closed, Command, Effect, JobKind, JobRecord, MessageRecord, OutboxJob, SubscriptionRecord,
    TaskRecord, Transition,
};
use crate::event::{Event, VariableChange};
use crate::ids::{DefinitionRef, InstanceId, JobId, TaskId};
use crate::state::{
    ArmedKind, ArmedTimer, CalledBy, InstanceState, InstanceStatus, SlaMark, Subscription, Token,
    Wait,
};

/// What a step needs besides the state and the command: the time and the working-day calendar.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// Now.
    pub now: DateTime<Utc>,
    /// Working days for SLAs and working-day timers.
    pub calendar: &'a WorkCalendar,
    /// How many working days before a due date "due soon" is marked (default 1).
    pub due_soon_working_days: f64,
}

/// Attempts a timer job gets when firing it fails (the executor counts them down).
pub const TIMER_RETRIES: u32 = 3;

/// Why a command cannot be applied. Nothing changes when a step fails.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// The instance has ended.
    #[error("the instance is {} and takes no more commands", status.as_str())]
    InstanceEnded {
        /// Its status.
        status: InstanceStatus,
    },
    /// The task is not open (completed, cancelled, or never belonged to this instance).
    #[error("task {0} is not open any more")]
    TaskNotOpen(TaskId),
    /// The job is not open.
    #[error("job {0} is not open any more")]
    JobNotOpen(JobId),
    /// Someone else has claimed the task.
    #[error("task {task} is claimed by {assignee}")]
    ClaimedByOther {
        /// The task.
        task: TaskId,
        /// Who has it.
        assignee: String,
    },
    /// The task is delegated and must be resolved before it is completed.
    #[error("task {task} is delegated by {owner}: resolve it first")]
    Delegated {
        /// The task.
        task: TaskId,
        /// Who delegated it.
        owner: String,
    },
    /// The task has no assignee, so there is nobody to delegate it for.
    #[error("task {0} has no assignee: claim or assign it before delegating it")]
    NotAssigned(TaskId),
    /// The task is not delegated, so there is nothing to resolve.
    #[error("task {0} is not delegated: there is nothing to resolve")]
    NotDelegated(TaskId),
    /// No outgoing flow of a gateway matched and it has no default flow.
    #[error(
        "no outgoing flow of gateway '{node}' matched the variables and it has no default flow"
    )]
    NoFlowTaken {
        /// The gateway.
        node: String,
    },
    /// A condition could not be evaluated.
    #[error("the condition of flow '{flow}' (leaving '{node}') failed: {message}")]
    Condition {
        /// The gateway.
        node: String,
        /// The flow.
        flow: String,
        /// Why.
        message: String,
    },
    /// The timer is not armed any more (it fired, or its activity ended).
    #[error("timer job {0} is not armed any more")]
    TimerNotArmed(JobId),
    /// A timer's value could not be turned into a due date.
    #[error("the timer of '{node}' cannot be scheduled: {message}")]
    Timer {
        /// The timer event (or task) node.
        node: String,
        /// Why.
        message: String,
    },
    /// A user task's assignment expression failed or gave something other than a text (or a
    /// list of texts for candidate groups and users).
    #[error("the {field} of task '{node}' (`{expression}`) cannot be computed: {message}")]
    Assignment {
        /// The user task.
        node: String,
        /// Which attribute (`assignee`, `candidateGroups`, `candidateUsers`, `agency`).
        field: &'static str,
        /// The expression as written.
        expression: String,
        /// Why.
        message: String,
    },
    /// No catcher of the instance waits for this message.
    #[error("no catcher of the instance waits for message '{name}' with key {key:?}")]
    NoSubscription {
        /// The message name.
        name: String,
        /// Its correlation key.
        key: Option<String>,
    },
    /// A correlation key or thrown message could not be computed.
    #[error("the message of '{node}' cannot be computed: {message}")]
    Message {
        /// The node.
        node: String,
        /// Why.
        message: String,
    },
    /// No call activity of the instance waits for this child.
    #[error("no call activity waits for child instance {0}")]
    CallNotWaiting(InstanceId),
    /// The state names a node the definition does not have: state and model disagree.
    #[error(
        "nondeterminism: the instance rests at node '{0}', which its definition does not have"
    )]
    Nondeterminism(String),
}

/// Base of the external-job retry back-off: 10 s, doubling per failure, at most one hour.
const RETRY_BACKOFF_BASE_SECS: i64 = 10;
const RETRY_BACKOFF_MAX_SECS: i64 = 3600;

/// Starts an instance of `model`: runs from the none start event (or from `at`, a timer start
/// event that fired) until every token waits.
pub fn start(
    model: &Process,
    definition: DefinitionRef,
    id: InstanceId,
    business_key: Option<String>,
    variables: Map<String, Value>,
    at: Option<NodeIdx>,
    ctx: StepContext<'_>,
) -> Result<Transition, StepError> {
    start_called(
        model,
        definition,
        id,
        business_key,
        variables,
        at,
        None,
        ctx,
    )
}

/// Starts an instance like [`start`]; `called_by` names the call activity that started it (its
/// end then resumes the parent through an outbox job).
#[allow(clippy::too_many_arguments)]
pub fn start_called(
    model: &Process,
    definition: DefinitionRef,
    id: InstanceId,
    business_key: Option<String>,
    variables: Map<String, Value>,
    at: Option<NodeIdx>,
    called_by: Option<CalledBy>,
    ctx: StepContext<'_>,
) -> Result<Transition, StepError> {
    let now = ctx.now;
    let state = InstanceState {
        id,
        definition: definition.clone(),
        business_key: business_key.clone(),
        status: InstanceStatus::Active,
        variables: Map::new(),
        tokens: Vec::new(),
        timers: Vec::new(),
        subscriptions: Vec::new(),
        called_by: called_by.clone(),
        due_at: None,
        next_id: 0,
        version: 0,
        journal_seq: 0,
        journal_head: None,
        started_at: now,
        ended_at: None,
    };
    let mut run = Run::new(model, state, ctx);
    run.events.push(Event::InstanceStarted {
        definition_key: definition.key,
        version: definition.version,
        business_key,
        called_by,
    });
    run.set_variables(variables);
    if let Some(days) = model.sla_working_days() {
        let due = run.working_days_from_now(days, model.node(model.start()).id.as_str())?;
        run.state.due_at = Some(due);
        run.arm_sla(None, None, due)?;
    }
    let token = run.next_number();
    run.queue.push_back(Pending {
        id: token,
        node: at.unwrap_or_else(|| model.start()),
        parent: None,
        via: None,
        triggered: false,
    });
    run.settle()?;
    Ok(run.finish())
}

/// Applies a command to an instance.
pub fn apply(
    model: &Process,
    state: InstanceState,
    command: &Command,
    ctx: StepContext<'_>,
) -> Result<Transition, StepError> {
    if state.status != InstanceStatus::Active {
        return Err(StepError::InstanceEnded {
            status: state.status,
        });
    }
    let mut run = Run::new(model, state, ctx);
    match command {
        Command::Claim { task, user } => run.claim(*task, user)?,
        Command::Unclaim { task } => run.unclaim(*task)?,
        Command::Assign { task, user } => run.assign(*task, user)?,
        Command::Delegate { task, user } => run.delegate(*task, user)?,
        Command::Resolve { task, variables } => run.resolve(*task, variables)?,
        Command::Complete {
            task,
            variables,
            by,
        } => run.complete(*task, variables, by.as_deref())?,
        Command::CompleteJob { job, variables } => run.complete_job(*job, variables)?,
        Command::FailJob {
            job,
            error,
            retries,
        } => run.fail_job(*job, error, *retries)?,
        Command::FireTimer { job } => run.fire_timer(*job)?,
        Command::RetryJob { job, retries } => run.retry_job(*job, *retries)?,
        Command::CorrelateMessage {
            name,
            correlation_key,
            message_id,
            variables,
            buffered,
            expires_at,
        } => run.correlate(
            name,
            correlation_key.as_deref(),
            message_id,
            variables,
            *buffered,
            *expires_at,
        )?,
        Command::CompleteCallActivity { child, variables } => {
            run.complete_call(*child, variables)?
        }
        Command::Cancel { reason } => run.cancel(reason.clone()),
    }
    run.settle()?;
    Ok(run.finish())
}

/// When a timer fires for the `fired + 1`-th time (`None`: never again). Working days come from
/// the calendar; an expression is evaluated against `variables` and its text read as a timer
/// value of the element's kind.
pub fn timer_due(
    node: &str,
    timer: &Timer,
    variables: &Map<String, Value>,
    calendar: &WorkCalendar,
    armed_at: DateTime<Utc>,
    fired: u32,
    last_due: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, StepError> {
    let fail = |message: String| StepError::Timer {
        node: node.to_owned(),
        message,
    };
    match &timer.spec {
        TimerSpec::WorkingDays(days) if fired == 0 => calendar
            .add_working_days(armed_at, *days)
            .map(Some)
            .map_err(|e| fail(e.to_string())),
        TimerSpec::WorkingDays(_) => Ok(None),
        TimerSpec::Expression { kind, expression } => {
            let value = expression.eval(variables).map_err(|e| fail(e.message))?;
            let text = match value {
                Value::String(s) => s,
                other => {
                    return Err(fail(format!(
                        "'{}' gave {other}, not a text such as \"PT1H\"",
                        expression.source()
                    )))
                }
            };
            let spec = motcua_definitions::timer::parse_value(*kind, &text)
                .map_err(|e| fail(e.to_string()))?;
            Ok(spec.next_after(armed_at, fired, last_due))
        }
        spec => Ok(spec.next_after(armed_at, fired, last_due)),
    }
}

/// A user task's assignment with its expressions evaluated against `variables`: each
/// expression replaces the literal of its field. A single value (assignee, agency) must be a
/// non-empty text; groups and users a text (comma-separated) or a list of texts.
pub fn evaluate_assignment(
    node: &str,
    mut a: Assignment,
    variables: &Map<String, Value>,
) -> Result<Assignment, StepError> {
    let eval = |field: &'static str, source: &str| -> Result<Value, StepError> {
        let fail = |message: String| StepError::Assignment {
            node: node.to_owned(),
            field,
            expression: source.to_owned(),
            message,
        };
        let expression = Expression::parse(source).map_err(|e| fail(e.to_string()))?;
        expression.eval(variables).map_err(|e| fail(e.message))
    };
    let fail =
        |field: &'static str, source: &str, got: &Value, wanted: &str| StepError::Assignment {
            node: node.to_owned(),
            field,
            expression: source.to_owned(),
            message: format!("it gave {got}, not {wanted}"),
        };
    let single = |field: &'static str, source: &str| -> Result<String, StepError> {
        match eval(field, source)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            other => Err(fail(field, source, &other, "a non-empty text")),
        }
    };
    let list = |field: &'static str, source: &str| -> Result<Vec<String>, StepError> {
        let wanted = "a text or a list of texts";
        let out: Vec<String> = match eval(field, source)? {
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in &items {
                    match item {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
                        _ => return Err(fail(field, source, &Value::Array(items.clone()), wanted)),
                    }
                }
                out
            }
            other => return Err(fail(field, source, &other, wanted)),
        };
        if out.is_empty() {
            return Err(StepError::Assignment {
                node: node.to_owned(),
                field,
                expression: source.to_owned(),
                message: "it names nobody".into(),
            });
        }
        Ok(out)
    };
    let x = std::mem::take(&mut a.expressions);
    if let Some(source) = &x.assignee {
        a.assignee = Some(single("assignee", source)?);
    }
    if let Some(source) = &x.candidate_groups {
        a.candidate_groups = list("candidateGroups", source)?;
    }
    if let Some(source) = &x.candidate_users {
        a.candidate_users = list("candidateUsers", source)?;
    }
    if let Some(source) = &x.agency {
        a.agency = Some(single("agency", source)?);
    }
    Ok(a)
}

/// A token on its way into a node.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u32,
    node: NodeIdx,
    parent: Option<u32>,
    via: Option<FlowIdx>,
    /// Its event already happened (an event after an event-based gateway): it only passes.
    triggered: bool,
}

struct Run<'m> {
    model: &'m Process,
    state: InstanceState,
    events: Vec<Event>,
    effects: Vec<Effect>,
    now: DateTime<Utc>,
    ctx: StepContext<'m>,
    queue: VecDeque<Pending>,
}

impl<'m> Run<'m> {
    fn new(model: &'m Process, state: InstanceState, ctx: StepContext<'m>) -> Self {
        Run {
            model,
            state,
            events: Vec::new(),
            effects: Vec::new(),
            now: ctx.now,
            ctx,
            queue: VecDeque::new(),
        }
    }

    fn finish(mut self) -> Transition {
        if !self.events.is_empty() || !self.effects.is_empty() {
            self.state.version += 1;
            self.state.journal_seq += self.events.len() as i64;
        }
        Transition {
            state: self.state,
            events: self.events,
            effects: self.effects,
        }
    }

    fn next_number(&mut self) -> u32 {
        let n = self.state.next_id;
        self.state.next_id += 1;
        n
    }

    fn node_idx(&self, id: &str) -> Result<NodeIdx, StepError> {
        self.model
            .node_by_id(id)
            .ok_or_else(|| StepError::Nondeterminism(id.to_owned()))
    }

    fn set_variables(&mut self, variables: Map<String, Value>) {
        let mut changes = Vec::new();
        for (name, after) in variables {
            let before = self.state.variables.insert(name.clone(), after.clone());
            if before.as_ref() != Some(&after) {
                changes.push(VariableChange {
                    name,
                    before,
                    after,
                });
            }
        }
        if !changes.is_empty() {
            self.events.push(Event::VariablesChanged { changes });
        }
    }

    /// Removes a waiting token; its boundary and SLA timers are disarmed.
    fn take_token(&mut self, position: usize) -> Token {
        let token = self.state.tokens.remove(position);
        self.disarm(Some(token.id));
        token
    }

    fn task_position(&self, task: TaskId) -> Result<usize, StepError> {
        self.state
            .tokens
            .iter()
            .position(|t| matches!(&t.wait, Wait::UserTask { task: id, .. } if *id == task))
            .ok_or(StepError::TaskNotOpen(task))
    }

    fn job_position(&self, job: JobId) -> Result<usize, StepError> {
        self.state
            .tokens
            .iter()
            .position(|t| matches!(&t.wait, Wait::Job { job: id, .. } if *id == job))
            .ok_or(StepError::JobNotOpen(job))
    }

    // ---- commands -------------------------------------------------------------------------

    fn claim(&mut self, task: TaskId, user: &str) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
        let Wait::UserTask { assignee, .. } = &mut self.state.tokens[pos].wait else {
            return Err(StepError::TaskNotOpen(task));
        };
        match assignee {
            Some(current) if current == user => Ok(()),
            Some(current) => Err(StepError::ClaimedByOther {
                task,
                assignee: current.clone(),
            }),
            None => {
                *assignee = Some(user.to_owned());
                self.events.push(Event::TaskClaimed {
                    task,
                    assignee: user.to_owned(),
                });
                self.effects.push(Effect::TaskAssigned {
                    task,
                    assignee: Some(user.to_owned()),
                });
                Ok(())
            }
        }
    }

    fn unclaim(&mut self, task: TaskId) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
        let Wait::UserTask { assignee, .. } = &mut self.state.tokens[pos].wait else {
            return Err(StepError::TaskNotOpen(task));
        };
        if let Some(previous) = assignee.take() {
            self.events.push(Event::TaskUnclaimed { task, previous });
            self.effects.push(Effect::TaskAssigned {
                task,
                assignee: None,
            });
        }
        Ok(())
    }

    fn assign(&mut self, task: TaskId, user: &str) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
        let Wait::UserTask { assignee, .. } = &mut self.state.tokens[pos].wait else {
            return Err(StepError::TaskNotOpen(task));
        };
        if assignee.as_deref() == Some(user) {
            return Ok(());
        }
        let previous = assignee.replace(user.to_owned());
        self.events.push(Event::TaskAssigned {
            task,
            assignee: user.to_owned(),
            previous,
        });
        self.effects.push(Effect::TaskAssigned {
            task,
            assignee: Some(user.to_owned()),
        });
        Ok(())
    }

    fn delegate(&mut self, task: TaskId, user: &str) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
        let Wait::UserTask {
            assignee, owner, ..
        } = &mut self.state.tokens[pos].wait
        else {
            return Err(StepError::TaskNotOpen(task));
        };
        // Delegating again keeps the first owner (Camunda: the owner is set only once).
        let new_owner = match (owner.as_ref(), assignee.as_ref()) {
            (Some(o), _) => o.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => return Err(StepError::NotAssigned(task)),
        };
        *owner = Some(new_owner.clone());
        *assignee = Some(user.to_owned());
        self.events.push(Event::TaskDelegated {
            task,
            owner: new_owner,
            delegate: user.to_owned(),
        });
        self.effects.push(Effect::TaskAssigned {
            task,
            assignee: Some(user.to_owned()),
        });
        Ok(())
    }

    fn resolve(&mut self, task: TaskId, variables: &Map<String, Value>) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
        let Wait::UserTask {
            assignee, owner, ..
        } = &mut self.state.tokens[pos].wait
        else {
            return Err(StepError::TaskNotOpen(task));
        };
        let Some(back) = owner.take() else {
            return Err(StepError::NotDelegated(task));
        };
        *assignee = Some(back.clone());
        self.events.push(Event::TaskResolved {
            task,
            owner: back.clone(),
            variables: variables.clone(),
        });
        self.set_variables(variables.clone());
        self.effects.push(Effect::TaskAssigned {
            task,
            assignee: Some(back),
        });
        Ok(())
    }

    fn complete(
        &mut self,
        task: TaskId,
        variables: &Map<String, Value>,
        by: Option<&str>,
    ) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
        if let Wait::UserTask {
            owner: Some(owner), ..
        } = &self.state.tokens[pos].wait
        {
            return Err(StepError::Delegated {
                task,
                owner: owner.clone(),
            });
        }
        if let (
            Wait::UserTask {
                assignee: Some(a), ..
            },
            Some(user),
        ) = (&self.state.tokens[pos].wait, by)
        {
            if a != user {
                return Err(StepError::ClaimedByOther {
                    task,
                    assignee: a.clone(),
                });
            }
        }
        let token = self.take_token(pos);
        let node = self.node_idx(&token.node)?;
        self.events.push(Event::TaskCompleted {
            task,
            node: token.node.clone(),
            variables: variables.clone(),
        });
        self.set_variables(variables.clone());
        self.effects.push(Effect::TaskClosed {
            task,
            how: Closed::Completed,
        });
        self.leave(token.id, node, token.parent)
    }

    fn complete_job(
        &mut self,
        job: JobId,
        variables: &Map<String, Value>,
    ) -> Result<(), StepError> {
        let pos = self.job_position(job)?;
        let token = self.take_token(pos);
        let node = self.node_idx(&token.node)?;
        self.events.push(Event::JobCompleted {
            job,
            node: token.node.clone(),
            variables: variables.clone(),
        });
        self.set_variables(variables.clone());
        self.effects.push(Effect::JobClosed {
            job,
            how: Closed::Completed,
        });
        self.leave(token.id, node, token.parent)
    }

    fn fail_job(&mut self, job: JobId, error: &str, retries: Option<u32>) -> Result<(), StepError> {
        let (node_id, configured, new_left) = match self.job_position(job) {
            Ok(pos) => {
                let node_id = self.state.tokens[pos].node.clone();
                let configured = match &self.model.node(self.node_idx(&node_id)?).kind {
                    NodeKind::ServiceTask { retries, .. } => *retries,
                    _ => 0,
                };
                let Wait::Job {
                    retries: left,
                    incident,
                    ..
                } = &mut self.state.tokens[pos].wait
                else {
                    return Err(StepError::JobNotOpen(job));
                };
                let new_left = retries.unwrap_or(left.saturating_sub(1));
                *left = new_left;
                *incident = new_left == 0;
                (node_id, configured, new_left)
            }
            // A timer's job: its attempts are counted on the job row by the executor.
            Err(_) => {
                let node_id = self.timer_node(job).ok_or(StepError::JobNotOpen(job))?;
                (node_id, TIMER_RETRIES, retries.unwrap_or(0))
            }
        };
        self.events.push(Event::JobFailed {
            job,
            node: node_id.clone(),
            error: error.to_owned(),
            retries: new_left,
        });
        if new_left == 0 {
            self.events.push(Event::IncidentRaised {
                job,
                node: node_id.clone(),
                message: error.to_owned(),
            });
            self.effects.push(Effect::IncidentRaised {
                job,
                node: node_id,
                message: error.to_owned(),
            });
        } else {
            let failures = configured.saturating_sub(new_left).clamp(1, 16);
            let secs = (RETRY_BACKOFF_BASE_SECS << (failures - 1)).min(RETRY_BACKOFF_MAX_SECS);
            self.effects.push(Effect::JobRetry {
                job,
                retries: new_left,
                due_at: self.now + Duration::seconds(secs),
                error: error.to_owned(),
            });
        }
        Ok(())
    }

    /// The node a timer job belongs to, if it is armed.
    fn timer_node(&self, job: JobId) -> Option<String> {
        if let Some(t) = self
            .state
            .tokens
            .iter()
            .find(|t| matches!(&t.wait, Wait::Timer { job: j } if *j == job))
        {
            return Some(t.node.clone());
        }
        let armed = self.state.timers.iter().find(|a| a.job == job)?;
        Some(self.timer_node_of(armed))
    }

    fn retry_job(&mut self, job: JobId, retries: u32) -> Result<(), StepError> {
        let retries = retries.max(1);
        match self.job_position(job) {
            Ok(pos) => {
                if let Wait::Job {
                    retries: left,
                    incident,
                    ..
                } = &mut self.state.tokens[pos].wait
                {
                    *left = retries;
                    *incident = false;
                }
            }
            Err(_) => {
                self.timer_node(job).ok_or(StepError::JobNotOpen(job))?;
            }
        }
        self.events.push(Event::IncidentResolved { job, retries });
        self.effects.push(Effect::IncidentResolved {
            job,
            retries,
            due_at: self.now,
        });
        Ok(())
    }

    // ---- messages and call activities -------------------------------------------------------

    /// The value of a message's correlation key for this instance (a text; numbers and
    /// booleans as written), or `None` when the message has no key.
    fn correlation_key(
        &self,
        node: &str,
        message: &MessageRef,
    ) -> Result<Option<String>, StepError> {
        let Some(expression) = &message.correlation_key else {
            return Ok(None);
        };
        let fail = |m: String| StepError::Message {
            node: node.to_owned(),
            message: m,
        };
        match expression.eval(&self.state.variables) {
            Ok(Value::String(s)) => Ok(Some(s)),
            Ok(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Ok(other) => Err(fail(format!(
                "the correlation key `{}` gave {other}, not a text",
                expression.source()
            ))),
            Err(e) => Err(fail(format!(
                "the correlation key `{}` failed: {}",
                expression.source(),
                e.message
            ))),
        }
    }

    /// Opens a message subscription for `token` at `node`.
    fn subscribe(
        &mut self,
        token: u32,
        node: &str,
        message: &MessageRef,
    ) -> Result<u32, StepError> {
        let key = self.correlation_key(node, message)?;
        let id = self.next_number();
        self.state.subscriptions.push(Subscription {
            id,
            token,
            node: node.to_owned(),
            name: message.name.clone(),
            correlation_key: key.clone(),
            created_at: self.now,
        });
        self.effects
            .push(Effect::SubscriptionOpened(SubscriptionRecord {
                instance: self.state.id,
                id,
                node: node.to_owned(),
                name: message.name.clone(),
                correlation_key: key,
                created_at: self.now,
            }));
        Ok(id)
    }

    /// Publishes a thrown message through an outbox job; the job's id is the message's id.
    fn throw(&mut self, node: &str, throw: &MessageThrow) -> Result<(), StepError> {
        let key = self.correlation_key(node, &throw.message)?;
        let variables: Map<String, Value> = match &throw.variables {
            None => self.state.variables.clone(),
            Some(names) => names
                .iter()
                .filter_map(|n| self.state.variables.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        };
        let ttl_ms: Option<i64> = match throw.ttl {
            None => None,
            Some(d) => match d.add_to(self.now) {
                Some(t) => Some((t - self.now).num_milliseconds()),
                None => {
                    return Err(StepError::Message {
                        node: node.to_owned(),
                        message: "the ttl is too long".into(),
                    })
                }
            },
        };
        let n = self.next_number();
        let job = self.state.id.job_id(n);
        self.events.push(Event::MessageSent {
            node: node.to_owned(),
            name: throw.message.name.clone(),
            correlation_key: key.clone(),
            message_id: job.to_string(),
        });
        self.effects.push(Effect::Outbox(OutboxJob {
            id: job,
            kind: JobKind::Message,
            instance: self.state.id,
            node: node.to_owned(),
            payload: serde_json::json!({
                "name": throw.message.name,
                "correlation_key": key,
                "variables": variables,
                "ttl_ms": ttl_ms,
                "message_id": job.to_string(),
            }),
            due_at: self.now,
        }));
        Ok(())
    }

    /// A message for the oldest matching subscription of this instance.
    fn correlate(
        &mut self,
        name: &str,
        key: Option<&str>,
        message_id: &str,
        variables: &Map<String, Value>,
        buffered: bool,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StepError> {
        let Some(sub) = self
            .state
            .subscriptions
            .iter()
            .filter(|s| s.name == name && s.correlation_key.as_deref() == key)
            .min_by_key(|s| (s.created_at, s.id))
            .cloned()
        else {
            return Err(StepError::NoSubscription {
                name: name.to_owned(),
                key: key.map(str::to_owned),
            });
        };
        self.events.push(Event::MessageCorrelated {
            name: name.to_owned(),
            correlation_key: key.map(str::to_owned),
            message_id: message_id.to_owned(),
            node: sub.node.clone(),
            variables: variables.clone(),
            buffered,
            expires_at,
        });
        self.effects.push(match buffered {
            true => Effect::BufferedConsumed {
                message: message_id.to_owned(),
                instance: self.state.id,
            },
            false => Effect::MessageRecorded(MessageRecord {
                id: message_id.to_owned(),
                name: name.to_owned(),
                correlation_key: key.map(str::to_owned),
                payload: variables.clone(),
                created_at: self.now,
                expires_at,
                consumed_by: Some(self.state.id),
            }),
        });
        self.set_variables(variables.clone());
        let Some(owner) = self.state.tokens.iter().position(|t| t.id == sub.token) else {
            return Err(StepError::Nondeterminism(sub.node));
        };
        let target = self.node_idx(&sub.node)?;
        match &self.state.tokens[owner].wait {
            Wait::Message { subscription } if *subscription == sub.id => {
                let token = self.take_token(owner);
                self.leave(token.id, target, token.parent)
            }
            Wait::EventGateway => self.gateway_decided(owner, target),
            _ => {
                let NodeKind::BoundaryMessage { interrupting, .. } = &self.model.node(target).kind
                else {
                    return Err(StepError::Nondeterminism(sub.node));
                };
                let parent = self.state.tokens[owner].parent;
                if *interrupting {
                    let token = self.state.tokens.remove(owner);
                    if matches!(token.wait, Wait::SubProcess) {
                        self.terminate_scope(Some(token.id));
                    }
                    self.cancel_token(token);
                }
                let id = self.next_number();
                self.queue.push_back(Pending {
                    id,
                    node: target,
                    parent,
                    via: None,
                    triggered: false,
                });
                Ok(())
            }
        }
    }

    /// The event `target` after the event-based gateway whose token is at `owner` happened
    /// first: the gateway's other subscriptions and timers are disarmed and the token passes
    /// through `target`.
    fn gateway_decided(&mut self, owner: usize, target: NodeIdx) -> Result<(), StepError> {
        let token = self.take_token(owner);
        let gateway = self.node_idx(&token.node)?;
        let model = self.model;
        let flow = model
            .node(gateway)
            .outgoing
            .iter()
            .copied()
            .find(|f| model.flow(*f).target == target);
        self.events.push(Event::GatewayDecided {
            node: token.node.clone(),
            flows: flow.iter().map(|f| model.flow(*f).id.clone()).collect(),
        });
        self.events.push(Event::ActivityCompleted {
            node: token.node.clone(),
        });
        self.queue.push_back(Pending {
            id: token.id,
            node: target,
            parent: token.parent,
            via: flow,
            triggered: true,
        });
        Ok(())
    }

    /// The child of a call activity ended: its outputs are copied and the token moves on.
    fn complete_call(
        &mut self,
        child: InstanceId,
        variables: &Map<String, Value>,
    ) -> Result<(), StepError> {
        let Some(pos) = self
            .state
            .tokens
            .iter()
            .position(|t| matches!(&t.wait, Wait::CallActivity { child: c } if *c == child))
        else {
            return Err(StepError::CallNotWaiting(child));
        };
        let node_id = self.state.tokens[pos].node.clone();
        let node = self.node_idx(&node_id)?;
        let NodeKind::CallActivity(call) = &self.model.node(node).kind else {
            return Err(StepError::Nondeterminism(node_id));
        };
        let outputs = call.outputs.apply(variables);
        self.events.push(Event::CallActivityCompleted {
            node: node_id,
            child,
            variables: variables.clone(),
        });
        self.set_variables(outputs);
        let token = self.take_token(pos);
        self.leave(token.id, node, token.parent)
    }

    // ---- timers ---------------------------------------------------------------------------

    fn working_days_from_now(&self, days: f64, node: &str) -> Result<DateTime<Utc>, StepError> {
        self.ctx
            .calendar
            .add_working_days(self.now, days)
            .map_err(|e| StepError::Timer {
                node: node.to_owned(),
                message: e.to_string(),
            })
    }

    /// When a timer fires for the `fired + 1`-th time, or `None` when it is done.
    fn timer_due(
        &self,
        node: &str,
        timer: &Timer,
        armed_at: DateTime<Utc>,
        fired: u32,
        last_due: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, StepError> {
        timer_due(
            node,
            timer,
            &self.state.variables,
            self.ctx.calendar,
            armed_at,
            fired,
            last_due,
        )
    }

    fn new_timer_job(&mut self, node: &str, due_at: DateTime<Utc>) -> JobId {
        let n = self.next_number();
        let job = self.state.id.job_id(n);
        self.events.push(Event::TimerArmed {
            job,
            node: node.to_owned(),
            due_at,
        });
        self.effects.push(Effect::JobCreated(JobRecord {
            id: job,
            kind: JobKind::Timer,
            instance: self.state.id,
            node: node.to_owned(),
            topic: String::new(),
            retries: TIMER_RETRIES,
            due_at,
        }));
        job
    }

    /// Arms the boundary timers and message subscriptions of the activity a token now waits
    /// at.
    fn arm_boundaries(&mut self, token: u32, activity: NodeIdx) -> Result<(), StepError> {
        let model = self.model;
        for &b in model.boundaries(activity) {
            let node = model.node(b);
            if let NodeKind::BoundaryMessage { message, .. } = &node.kind {
                self.subscribe(token, &node.id, message)?;
                continue;
            }
            let NodeKind::BoundaryTimer { timer, .. } = &node.kind else {
                continue;
            };
            let Some(due) = self.timer_due(&node.id, timer, self.now, 0, None)? else {
                continue;
            };
            let job = self.new_timer_job(&node.id, due);
            self.state.timers.push(ArmedTimer {
                job,
                token: Some(token),
                kind: ArmedKind::Boundary {
                    node: node.id.clone(),
                },
                armed_at: self.now,
                due_at: due,
                fired: 0,
            });
        }
        Ok(())
    }

    /// Arms the "due soon" and "overdue" marks of a task (or of the instance).
    fn arm_sla(
        &mut self,
        token: Option<u32>,
        task: Option<(TaskId, &str)>,
        deadline: DateTime<Utc>,
    ) -> Result<(), StepError> {
        let node = match task {
            Some((_, node)) => node.to_owned(),
            None => self.model.node(self.model.start()).id.clone(),
        };
        let soon = self
            .ctx
            .calendar
            .add_working_days(deadline, -self.ctx.due_soon_working_days)
            .map_err(|e| StepError::Timer {
                node: node.clone(),
                message: e.to_string(),
            })?;
        let mut marks = vec![(SlaMark::Overdue, deadline)];
        if soon > self.now && soon < deadline {
            marks.insert(0, (SlaMark::DueSoon, soon));
        }
        for (mark, due) in marks {
            let job = self.new_timer_job(&node, due);
            self.state.timers.push(ArmedTimer {
                job,
                token,
                kind: ArmedKind::Sla {
                    task: task.map(|(t, _)| t),
                    mark,
                    deadline,
                },
                armed_at: self.now,
                due_at: due,
                fired: 0,
            });
        }
        Ok(())
    }

    /// Disarms every timer and message subscription of a token (`None`: the instance's own
    /// timers).
    fn disarm(&mut self, token: Option<u32>) {
        if let Some(t) = token {
            let (gone, kept): (Vec<Subscription>, Vec<Subscription>) =
                std::mem::take(&mut self.state.subscriptions)
                    .into_iter()
                    .partition(|s| s.token == t);
            self.state.subscriptions = kept;
            for s in gone {
                self.effects.push(Effect::SubscriptionClosed {
                    instance: self.state.id,
                    id: s.id,
                });
            }
        }
        let (gone, kept): (Vec<ArmedTimer>, Vec<ArmedTimer>) =
            std::mem::take(&mut self.state.timers)
                .into_iter()
                .partition(|a| a.token == token);
        self.state.timers = kept;
        for a in gone {
            self.effects.push(Effect::JobClosed {
                job: a.job,
                how: Closed::Cancelled,
            });
        }
    }

    fn fire_timer(&mut self, job: JobId) -> Result<(), StepError> {
        // An intermediate timer catch event.
        if let Some(pos) = self
            .state
            .tokens
            .iter()
            .position(|t| matches!(&t.wait, Wait::Timer { job: j } if *j == job))
        {
            let token = self.take_token(pos);
            let node = self.node_idx(&token.node)?;
            self.events.push(Event::TimerFired {
                job,
                node: token.node.clone(),
                count: 1,
            });
            self.effects.push(Effect::JobClosed {
                job,
                how: Closed::Completed,
            });
            return self.leave(token.id, node, token.parent);
        }
        let Some(pos) = self.state.timers.iter().position(|a| a.job == job) else {
            return Err(StepError::TimerNotArmed(job));
        };
        let armed = self.state.timers.remove(pos);
        self.effects.push(Effect::JobClosed {
            job,
            how: Closed::Completed,
        });
        let count = armed.fired + 1;
        match &armed.kind {
            ArmedKind::Sla {
                task,
                mark,
                deadline,
            } => {
                let node = self.timer_node_of(&armed);
                self.events.push(Event::TimerFired { job, node, count });
                self.events.push(match mark {
                    SlaMark::DueSoon => Event::DueSoon {
                        task: *task,
                        due_at: *deadline,
                    },
                    SlaMark::Overdue => Event::Overdue {
                        task: *task,
                        due_at: *deadline,
                    },
                });
                if let Some(task) = task {
                    self.effects.push(Effect::TaskMarked {
                        task: *task,
                        mark: *mark,
                    });
                }
                Ok(())
            }
            ArmedKind::Gateway { node } => {
                self.events.push(Event::TimerFired {
                    job,
                    node: node.clone(),
                    count,
                });
                let Some(owner) = armed
                    .token
                    .and_then(|id| self.state.tokens.iter().position(|t| t.id == id))
                else {
                    return Err(StepError::TimerNotArmed(job));
                };
                let target = self.node_idx(node)?;
                self.gateway_decided(owner, target)
            }
            ArmedKind::Boundary { node } => {
                let b = self.node_idx(node)?;
                let NodeKind::BoundaryTimer {
                    interrupting,
                    timer,
                    ..
                } = &self.model.node(b).kind
                else {
                    return Err(StepError::Nondeterminism(node.clone()));
                };
                let interrupting = *interrupting;
                self.events.push(Event::TimerFired {
                    job,
                    node: node.clone(),
                    count,
                });
                let Some(owner) = armed
                    .token
                    .and_then(|id| self.state.tokens.iter().position(|t| t.id == id))
                else {
                    return Err(StepError::TimerNotArmed(job));
                };
                let parent = self.state.tokens[owner].parent;
                if interrupting {
                    let token = self.state.tokens.remove(owner);
                    if matches!(token.wait, Wait::SubProcess) {
                        self.terminate_scope(Some(token.id));
                    }
                    self.cancel_token(token);
                } else if let Some(next) =
                    self.timer_due(node, timer, armed.armed_at, count, Some(armed.due_at))?
                {
                    let new_job = self.new_timer_job(node, next);
                    self.state.timers.push(ArmedTimer {
                        job: new_job,
                        due_at: next,
                        fired: count,
                        ..armed.clone()
                    });
                }
                let id = self.next_number();
                self.queue.push_back(Pending {
                    id,
                    node: b,
                    parent,
                    via: None,
                    triggered: false,
                });
                Ok(())
            }
        }
    }

    fn timer_node_of(&self, armed: &ArmedTimer) -> String {
        match &armed.kind {
            ArmedKind::Boundary { node } | ArmedKind::Gateway { node } => node.clone(),
            ArmedKind::Sla { .. } => armed
                .token
                .and_then(|id| self.state.tokens.iter().find(|t| t.id == id))
                .map(|t| t.node.clone())
                .unwrap_or_else(|| self.model.node(self.model.start()).id.clone()),
        }
    }

    fn cancel(&mut self, reason: Option<String>) {
        // The command's own event comes first, like every command's (see `replay`).
        self.events.push(Event::InstanceCancelled { reason });
        self.queue.clear();
        let tokens = std::mem::take(&mut self.state.tokens);
        for token in tokens {
            self.cancel_token(token);
        }
        self.disarm(None);
        self.state.status = InstanceStatus::Cancelled;
        self.state.ended_at = Some(self.now);
    }

    fn cancel_token(&mut self, token: Token) {
        self.disarm(Some(token.id));
        match token.wait {
            Wait::Timer { job } => {
                self.events
                    .push(Event::ActivityCancelled { node: token.node });
                self.effects.push(Effect::JobClosed {
                    job,
                    how: Closed::Cancelled,
                });
            }
            Wait::UserTask { task, .. } => {
                self.events
                    .push(Event::ActivityCancelled { node: token.node });
                self.effects.push(Effect::TaskClosed {
                    task,
                    how: Closed::Cancelled,
                });
            }
            Wait::Job { job, .. } => {
                self.events
                    .push(Event::ActivityCancelled { node: token.node });
                self.effects.push(Effect::JobClosed {
                    job,
                    how: Closed::Cancelled,
                });
            }
            Wait::SubProcess | Wait::Message { .. } | Wait::EventGateway => {
                self.events
                    .push(Event::ActivityCancelled { node: token.node });
            }
            Wait::CallActivity { child } => {
                let n = self.next_number();
                let job = self.state.id.job_id(n);
                self.effects.push(Effect::Outbox(OutboxJob {
                    id: job,
                    kind: JobKind::CallCancel,
                    instance: self.state.id,
                    node: token.node.clone(),
                    payload: serde_json::json!({ "parent": self.state.id, "child": child }),
                    due_at: self.now,
                }));
                self.events
                    .push(Event::ActivityCancelled { node: token.node });
            }
            Wait::Join { .. } => {}
        }
    }

    // ---- token movement -------------------------------------------------------------------

    /// Moves pending tokens until all wait, firing joins that became ready, then checks whether
    /// the instance has completed.
    fn settle(&mut self) -> Result<(), StepError> {
        loop {
            while let Some(p) = self.queue.pop_front() {
                self.enter(p)?;
            }
            if !self.fire_ready_join()? {
                break;
            }
        }
        if self.state.status == InstanceStatus::Active && self.state.tokens.is_empty() {
            self.disarm(None);
            self.state.status = InstanceStatus::Completed;
            self.state.ended_at = Some(self.now);
            self.events.push(Event::InstanceCompleted);
            if let Some(parent) = self.state.called_by.clone() {
                let n = self.next_number();
                let job = self.state.id.job_id(n);
                self.effects.push(Effect::Outbox(OutboxJob {
                    id: job,
                    kind: JobKind::CallReturn,
                    instance: self.state.id,
                    node: parent.node.clone(),
                    payload: serde_json::json!({
                        "parent": parent.instance,
                        "child": self.state.id,
                        "variables": self.state.variables,
                    }),
                    due_at: self.now,
                }));
            }
        }
        Ok(())
    }

    fn enter(&mut self, p: Pending) -> Result<(), StepError> {
        let model = self.model;
        let node = model.node(p.node);
        self.events.push(Event::ActivityEntered {
            node: node.id.clone(),
            element: node.kind.element_name().to_owned(),
        });
        if p.triggered {
            return self.leave(p.id, p.node, p.parent);
        }
        match &node.kind {
            NodeKind::StartEvent
            | NodeKind::TimerStartEvent { .. }
            | NodeKind::MessageStartEvent { .. }
            | NodeKind::BoundaryTimer { .. }
            | NodeKind::BoundaryMessage { .. }
            | NodeKind::ManualTask
            | NodeKind::Task => self.leave(p.id, p.node, p.parent),
            NodeKind::MessageCatchEvent { message } | NodeKind::ReceiveTask { message } => {
                let subscription = self.subscribe(p.id, &node.id, message)?;
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::Message { subscription },
                });
                self.arm_boundaries(p.id, p.node)
            }
            NodeKind::EventBasedGateway => {
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::EventGateway,
                });
                for &f in &node.outgoing {
                    let target = model.node(model.flow(f).target);
                    match &target.kind {
                        NodeKind::MessageCatchEvent { message }
                        | NodeKind::ReceiveTask { message } => {
                            self.subscribe(p.id, &target.id, message)?;
                        }
                        NodeKind::TimerCatchEvent { timer } => {
                            let Some(due) = self.timer_due(&target.id, timer, self.now, 0, None)?
                            else {
                                continue;
                            };
                            let job = self.new_timer_job(&target.id, due);
                            self.state.timers.push(ArmedTimer {
                                job,
                                token: Some(p.id),
                                kind: ArmedKind::Gateway {
                                    node: target.id.clone(),
                                },
                                armed_at: self.now,
                                due_at: due,
                                fired: 0,
                            });
                        }
                        _ => return Err(StepError::Nondeterminism(target.id.clone())),
                    }
                }
                Ok(())
            }
            NodeKind::MessageThrowEvent(throw) | NodeKind::SendTask(throw) => {
                self.throw(&node.id, throw)?;
                self.leave(p.id, p.node, p.parent)
            }
            NodeKind::CallActivity(call) => {
                let n = self.next_number();
                let child = self.state.id.child_id(n);
                let job = self.state.id.job_id(n);
                let version = match call.version {
                    CalledVersion::Latest => None,
                    CalledVersion::Fixed(v) => Some(v),
                };
                let variables = call.inputs.apply(&self.state.variables);
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::CallActivity { child },
                });
                self.events.push(Event::CallActivityStarted {
                    node: node.id.clone(),
                    child,
                    process: call.process.clone(),
                    version,
                });
                self.effects.push(Effect::Outbox(OutboxJob {
                    id: job,
                    kind: JobKind::CallStart,
                    instance: self.state.id,
                    node: node.id.clone(),
                    payload: serde_json::json!({
                        "parent": self.state.id,
                        "node": node.id,
                        "child": child,
                        "process": call.process,
                        "version": version,
                        "business_key": self.state.business_key,
                        "variables": variables,
                    }),
                    due_at: self.now,
                }));
                self.arm_boundaries(p.id, p.node)
            }
            NodeKind::TimerCatchEvent { timer } => {
                let Some(due) = self.timer_due(&node.id, timer, self.now, 0, None)? else {
                    return Err(StepError::Timer {
                        node: node.id.clone(),
                        message: "the timer never fires".into(),
                    });
                };
                let job = self.new_timer_job(&node.id, due);
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::Timer { job },
                });
                Ok(())
            }
            NodeKind::EndEvent { terminate } => {
                self.events.push(Event::ActivityCompleted {
                    node: node.id.clone(),
                });
                if *terminate {
                    self.terminate_scope(p.parent);
                }
                self.scope_token_ended(p.parent)
            }
            NodeKind::UserTask(user_task) => {
                let n = self.next_number();
                let task = self.state.id.task_id(n);
                let assignment = evaluate_assignment(
                    &node.id,
                    model.assignment(p.node).unwrap_or_default(),
                    &self.state.variables,
                )?;
                let due_at = match user_task.sla_working_days {
                    Some(days) => Some(self.working_days_from_now(days, &node.id)?),
                    None => None,
                };
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::UserTask {
                        task,
                        assignee: assignment.assignee.clone(),
                        owner: None,
                    },
                });
                self.events.push(Event::TaskCreated {
                    task,
                    node: node.id.clone(),
                });
                self.effects.push(Effect::TaskCreated(TaskRecord {
                    id: task,
                    instance: self.state.id,
                    definition_key: self.state.definition.key.clone(),
                    node: node.id.clone(),
                    name: node.label().to_owned(),
                    assignee: assignment.assignee,
                    candidate_groups: assignment.candidate_groups,
                    candidate_users: assignment.candidate_users,
                    agency: assignment.agency,
                    form_key: user_task.form_key.clone(),
                    created_at: self.now,
                    due_at,
                }));
                if let Some(due) = due_at {
                    self.arm_sla(Some(p.id), Some((task, &node.id)), due)?;
                }
                self.arm_boundaries(p.id, p.node)
            }
            NodeKind::ServiceTask { topic, retries } => {
                let n = self.next_number();
                let job = self.state.id.job_id(n);
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::Job {
                        job,
                        retries: *retries,
                        incident: false,
                    },
                });
                self.events.push(Event::JobCreated {
                    job,
                    node: node.id.clone(),
                    topic: topic.clone(),
                });
                self.effects.push(Effect::JobCreated(JobRecord {
                    id: job,
                    kind: JobKind::External,
                    instance: self.state.id,
                    node: node.id.clone(),
                    topic: topic.clone(),
                    retries: *retries,
                    due_at: self.now,
                }));
                self.arm_boundaries(p.id, p.node)
            }
            NodeKind::ExclusiveGateway { default } => {
                let flow = self.choose_exclusive(p.node, *default)?;
                self.take_flows(p.id, p.node, p.parent, &[flow]);
                Ok(())
            }
            NodeKind::ParallelGateway | NodeKind::InclusiveGateway { .. }
                if node.incoming.len() > 1 =>
            {
                let flow = p.via.map(|f| model.flow(f).id.clone()).unwrap_or_default();
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::Join { flow },
                });
                Ok(())
            }
            NodeKind::ParallelGateway => {
                let flows = node.outgoing.clone();
                self.take_flows(p.id, p.node, p.parent, &flows);
                Ok(())
            }
            NodeKind::InclusiveGateway { default } => {
                let flows = self.choose_inclusive(p.node, *default)?;
                self.take_flows(p.id, p.node, p.parent, &flows);
                Ok(())
            }
            NodeKind::SubProcess { start } => {
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::SubProcess,
                });
                let child = self.next_number();
                self.queue.push_back(Pending {
                    id: child,
                    node: *start,
                    parent: Some(p.id),
                    via: None,
                    triggered: false,
                });
                self.arm_boundaries(p.id, p.node)
            }
        }
    }

    /// The token leaves `node` by its outgoing flows (all of them: an activity with several
    /// outgoing flows forks), or ends when there are none.
    fn leave(&mut self, id: u32, node: NodeIdx, parent: Option<u32>) -> Result<(), StepError> {
        let flows = self.model.node(node).outgoing.clone();
        if flows.is_empty() {
            self.events.push(Event::ActivityCompleted {
                node: self.model.node(node).id.clone(),
            });
            return self.scope_token_ended(parent);
        }
        self.events.push(Event::ActivityCompleted {
            node: self.model.node(node).id.clone(),
        });
        self.push_flows(id, parent, &flows);
        Ok(())
    }

    /// A gateway's decision: journal it, complete the gateway and move along the chosen flows.
    fn take_flows(&mut self, id: u32, node: NodeIdx, parent: Option<u32>, flows: &[FlowIdx]) {
        let model = self.model;
        self.events.push(Event::GatewayDecided {
            node: model.node(node).id.clone(),
            flows: flows.iter().map(|f| model.flow(*f).id.clone()).collect(),
        });
        self.events.push(Event::ActivityCompleted {
            node: model.node(node).id.clone(),
        });
        self.push_flows(id, parent, flows);
    }

    fn push_flows(&mut self, id: u32, parent: Option<u32>, flows: &[FlowIdx]) {
        for (i, flow) in flows.iter().enumerate() {
            let token = if i == 0 { id } else { self.next_number() };
            self.queue.push_back(Pending {
                id: token,
                node: self.model.flow(*flow).target,
                parent,
                via: Some(*flow),
                triggered: false,
            });
        }
    }

    fn condition_holds(&self, node: NodeIdx, flow: FlowIdx) -> Result<bool, StepError> {
        let f = self.model.flow(flow);
        match &f.condition {
            None => Ok(true),
            Some(expr) => {
                expr.eval_condition(&self.state.variables)
                    .map_err(|e| StepError::Condition {
                        node: self.model.node(node).id.clone(),
                        flow: f.id.clone(),
                        message: e.message,
                    })
            }
        }
    }

    fn choose_exclusive(
        &self,
        node: NodeIdx,
        default: Option<FlowIdx>,
    ) -> Result<FlowIdx, StepError> {
        for &flow in &self.model.node(node).outgoing {
            if Some(flow) != default && self.condition_holds(node, flow)? {
                return Ok(flow);
            }
        }
        default.ok_or_else(|| StepError::NoFlowTaken {
            node: self.model.node(node).id.clone(),
        })
    }

    fn choose_inclusive(
        &self,
        node: NodeIdx,
        default: Option<FlowIdx>,
    ) -> Result<Vec<FlowIdx>, StepError> {
        let mut taken = Vec::new();
        for &flow in &self.model.node(node).outgoing {
            if Some(flow) != default && self.condition_holds(node, flow)? {
                taken.push(flow);
            }
        }
        if taken.is_empty() {
            match default {
                Some(d) => taken.push(d),
                None => {
                    return Err(StepError::NoFlowTaken {
                        node: self.model.node(node).id.clone(),
                    })
                }
            }
        }
        Ok(taken)
    }

    /// A token of scope `parent` ended. When it was the last of a sub-process, the sub-process
    /// completes and its token moves on.
    fn scope_token_ended(&mut self, parent: Option<u32>) -> Result<(), StepError> {
        let Some(scope) = parent else {
            return Ok(());
        };
        let busy = self.state.tokens.iter().any(|t| t.parent == Some(scope))
            || self.queue.iter().any(|p| p.parent == Some(scope));
        if busy {
            return Ok(());
        }
        let Some(pos) = self.state.tokens.iter().position(|t| t.id == scope) else {
            return Ok(());
        };
        let token = self.take_token(pos);
        let node = self.node_idx(&token.node)?;
        self.leave(token.id, node, token.parent)
    }

    /// A terminate end event: every other token of the scope (and of scopes inside it) ends.
    fn terminate_scope(&mut self, parent: Option<u32>) {
        let mut doomed = vec![parent];
        let mut i = 0;
        while i < doomed.len() {
            let scope = doomed[i];
            for t in &self.state.tokens {
                if t.parent == scope && matches!(t.wait, Wait::SubProcess) {
                    doomed.push(Some(t.id));
                }
            }
            i += 1;
        }
        self.queue.retain(|p| !doomed.contains(&p.parent));
        let (gone, kept): (Vec<Token>, Vec<Token>) = std::mem::take(&mut self.state.tokens)
            .into_iter()
            .partition(|t| doomed.contains(&t.parent));
        self.state.tokens = kept;
        for token in gone {
            self.cancel_token(token);
        }
    }

    /// Fires the first join (in token order) that is ready. Returns whether one fired.
    fn fire_ready_join(&mut self) -> Result<bool, StepError> {
        let mut seen: Vec<(String, Option<u32>)> = Vec::new();
        for i in 0..self.state.tokens.len() {
            let t = &self.state.tokens[i];
            if !matches!(t.wait, Wait::Join { .. }) {
                continue;
            }
            let key = (t.node.clone(), t.parent);
            if seen.contains(&key) {
                continue;
            }
            seen.push(key.clone());
            let node = self.node_idx(&key.0)?;
            if let Some(consumed) = self.join_ready(node, key.1) {
                self.fire_join(node, key.1, &consumed)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Which waiting tokens a ready join consumes, or `None` while it must wait.
    fn join_ready(&self, node: NodeIdx, parent: Option<u32>) -> Option<Vec<u32>> {
        let model = self.model;
        let n = model.node(node);
        let waiting: Vec<(u32, &str)> = self
            .state
            .tokens
            .iter()
            .filter(|t| t.node == n.id && t.parent == parent)
            .filter_map(|t| match &t.wait {
                Wait::Join { flow } => Some((t.id, flow.as_str())),
                _ => None,
            })
            .collect();
        match n.kind {
            NodeKind::ParallelGateway => {
                let mut consumed = Vec::new();
                for &flow in &n.incoming {
                    let fid = model.flow(flow).id.as_str();
                    let (id, _) = waiting.iter().find(|(_, f)| *f == fid)?;
                    consumed.push(*id);
                }
                Some(consumed)
            }
            NodeKind::InclusiveGateway { .. } => {
                let others_can_arrive = self
                    .state
                    .tokens
                    .iter()
                    .filter(|t| !(t.node == n.id && t.parent == parent))
                    .filter_map(|t| self.representative(t, parent))
                    .any(|at| self.reaches(at, node));
                if others_can_arrive {
                    None
                } else {
                    Some(waiting.iter().map(|(id, _)| *id).collect())
                }
            }
            _ => None,
        }
    }

    /// The node where `token`, or the sub-process token containing it, rests in scope `scope`.
    fn representative(&self, token: &Token, scope: Option<u32>) -> Option<NodeIdx> {
        let mut t = token;
        loop {
            if t.parent == scope {
                return self.model.node_by_id(&t.node);
            }
            let parent = t.parent?;
            t = self.state.tokens.iter().find(|x| x.id == parent)?;
        }
    }

    /// Whether a token at `from` can still reach `target` without passing through it.
    fn reaches(&self, from: NodeIdx, target: NodeIdx) -> bool {
        let model = self.model;
        let mut seen = vec![false; model.nodes().len()];
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            for &f in &model.node(n).outgoing {
                let next = model.flow(f).target;
                if next == target {
                    return true;
                }
                let i = next.0 as usize;
                if !seen[i] {
                    seen[i] = true;
                    stack.push(next);
                }
            }
        }
        false
    }

    fn fire_join(
        &mut self,
        node: NodeIdx,
        parent: Option<u32>,
        consumed: &[u32],
    ) -> Result<(), StepError> {
        self.state.tokens.retain(|t| !consumed.contains(&t.id));
        let id = self.next_number();
        let flows = match self.model.node(node).kind {
            NodeKind::InclusiveGateway { default } => self.choose_inclusive(node, default)?,
            _ => self.model.node(node).outgoing.clone(),
        };
        self.take_flows(id, node, parent, &flows);
        Ok(())
    }
}
