//! The pure step: `(instance state, command, now) -> (new state, events, effects)`.
//!
//! No I/O, no clock, no randomness: ids derive from the instance id and a counter, so replaying
//! the same commands on the same definition yields the same events (a mismatch is
//! nondeterminism). Tokens move until each one waits (a user task, a job, a join, a
//! sub-process) or ends; the store then writes the result in one transaction.
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
use motcua_definitions::{FlowIdx, NodeIdx, NodeKind, Process};
use serde_json::{Map, Value};

use crate::command::{Closed, Command, Effect, JobRecord, TaskRecord, Transition};
use crate::event::{Event, VariableChange};
use crate::ids::{DefinitionRef, InstanceId, JobId, TaskId};
use crate::state::{InstanceState, InstanceStatus, Token, Wait};

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
    /// The state names a node the definition does not have: state and model disagree.
    #[error(
        "nondeterminism: the instance rests at node '{0}', which its definition does not have"
    )]
    Nondeterminism(String),
}

/// Base of the external-job retry back-off: 10 s, doubling per failure, at most one hour.
const RETRY_BACKOFF_BASE_SECS: i64 = 10;
const RETRY_BACKOFF_MAX_SECS: i64 = 3600;

/// Starts an instance of `model`: runs from the none start event until every token waits.
pub fn start(
    model: &Process,
    definition: DefinitionRef,
    id: InstanceId,
    business_key: Option<String>,
    variables: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Transition, StepError> {
    let state = InstanceState {
        id,
        definition: definition.clone(),
        business_key: business_key.clone(),
        status: InstanceStatus::Active,
        variables: Map::new(),
        tokens: Vec::new(),
        next_id: 0,
        version: 0,
        journal_seq: 0,
        started_at: now,
        ended_at: None,
    };
    let mut run = Run::new(model, state, now);
    run.events.push(Event::InstanceStarted {
        definition_key: definition.key,
        version: definition.version,
        business_key,
    });
    run.set_variables(variables);
    let token = run.next_number();
    run.queue.push_back(Pending {
        id: token,
        node: model.start(),
        parent: None,
        via: None,
    });
    run.settle()?;
    Ok(run.finish())
}

/// Applies a command to an instance.
pub fn apply(
    model: &Process,
    state: InstanceState,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<Transition, StepError> {
    if state.status != InstanceStatus::Active {
        return Err(StepError::InstanceEnded {
            status: state.status,
        });
    }
    let mut run = Run::new(model, state, now);
    match command {
        Command::Claim { task, user } => run.claim(*task, user)?,
        Command::Unclaim { task } => run.unclaim(*task)?,
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
        Command::Cancel { reason } => run.cancel(reason.clone()),
    }
    run.settle()?;
    Ok(run.finish())
}

/// A token on its way into a node.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u32,
    node: NodeIdx,
    parent: Option<u32>,
    via: Option<FlowIdx>,
}

struct Run<'m> {
    model: &'m Process,
    state: InstanceState,
    events: Vec<Event>,
    effects: Vec<Effect>,
    now: DateTime<Utc>,
    queue: VecDeque<Pending>,
}

impl<'m> Run<'m> {
    fn new(model: &'m Process, state: InstanceState, now: DateTime<Utc>) -> Self {
        Run {
            model,
            state,
            events: Vec::new(),
            effects: Vec::new(),
            now,
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

    fn take_token(&mut self, position: usize) -> Token {
        self.state.tokens.remove(position)
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

    fn complete(
        &mut self,
        task: TaskId,
        variables: &Map<String, Value>,
        by: Option<&str>,
    ) -> Result<(), StepError> {
        let pos = self.task_position(task)?;
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
        let pos = self.job_position(job)?;
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
        self.events.push(Event::JobFailed {
            job,
            node: node_id.clone(),
            error: error.to_owned(),
            retries: new_left,
        });
        if new_left == 0 {
            *incident = true;
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

    fn cancel(&mut self, reason: Option<String>) {
        self.queue.clear();
        let tokens = std::mem::take(&mut self.state.tokens);
        for token in tokens {
            self.cancel_token(token);
        }
        self.events.push(Event::InstanceCancelled { reason });
        self.state.status = InstanceStatus::Cancelled;
        self.state.ended_at = Some(self.now);
    }

    fn cancel_token(&mut self, token: Token) {
        match token.wait {
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
            Wait::SubProcess => {
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
            self.state.status = InstanceStatus::Completed;
            self.state.ended_at = Some(self.now);
            self.events.push(Event::InstanceCompleted);
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
        match &node.kind {
            NodeKind::StartEvent | NodeKind::ManualTask | NodeKind::Task => {
                self.leave(p.id, p.node, p.parent)
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
                let assignment = model.assignment(p.node).unwrap_or_default();
                self.state.tokens.push(Token {
                    id: p.id,
                    node: node.id.clone(),
                    parent: p.parent,
                    wait: Wait::UserTask {
                        task,
                        assignee: assignment.assignee.clone(),
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
                }));
                Ok(())
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
                    instance: self.state.id,
                    node: node.id.clone(),
                    topic: topic.clone(),
                    retries: *retries,
                    due_at: self.now,
                }));
                Ok(())
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
                });
                Ok(())
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
