//! Replay: rebuild an instance's state from its journal alone, and check it.
//!
//! Every command's transition starts with the event that names the command (`task_completed`,
//! `timer_fired`, ...), and the step is deterministic. So the journal can be read as the list of
//! commands that were applied, each at its recorded time: running them again through the step
//! must reproduce the journal event for event, and end in the stored state. Any difference is a
//! [`ReplayError::Nondeterminism`] naming the first event that differs — the database was
//! edited, or the engine changed what a definition does. Auditors and the crash tests use it.

use motcua_definitions::{NodeKind, Process};
use serde_json::{Map, Value};

use crate::calendar::WorkCalendar;
use crate::command::Command;
use crate::event::Event;
use crate::ids::{DefinitionRef, InstanceId};
use crate::state::InstanceState;
use crate::step::{self, StepContext, StepError};
use crate::store::JournalEntry;

/// Why a journal does not replay.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// The journal is empty or does not start with `instance_started`.
    #[error("the journal does not start with instance_started")]
    NoStart,
    /// A command read from the journal was refused by the step.
    #[error("journal event {seq}: the step refuses it: {error}")]
    Refused {
        /// The journal sequence number.
        seq: i64,
        /// Why.
        error: StepError,
    },
    /// Replaying produced different events than the journal holds.
    #[error("nondeterminism at journal event {seq}: the journal has {recorded}, replay gives {replayed}")]
    Nondeterminism {
        /// The first differing sequence number.
        seq: i64,
        /// What the journal holds (JSON).
        recorded: String,
        /// What replay produced (JSON).
        replayed: String,
    },
    /// An event in the journal is not the start of a command.
    #[error("journal event {seq} ({kind}) does not begin a command")]
    NotACommand {
        /// The sequence number.
        seq: i64,
        /// Its kind.
        kind: String,
    },
}

fn json(e: &Event) -> String {
    serde_json::to_string(e).unwrap_or_default()
}

/// The command an event stands for, when it begins a command's transition.
fn command_of(entry: &JournalEntry) -> Option<Command> {
    Some(match &entry.event {
        Event::TaskClaimed { task, assignee } => Command::Claim {
            task: *task,
            user: assignee.clone(),
        },
        Event::TaskUnclaimed { task, .. } => Command::Unclaim { task: *task },
        Event::TaskAssigned { task, assignee, .. } => Command::Assign {
            task: *task,
            user: assignee.clone(),
        },
        Event::TaskDelegated { task, delegate, .. } => Command::Delegate {
            task: *task,
            user: delegate.clone(),
        },
        Event::TaskResolved {
            task, variables, ..
        } => Command::Resolve {
            task: *task,
            variables: variables.clone(),
        },
        Event::TaskCompleted {
            task, variables, ..
        } => Command::Complete {
            task: *task,
            variables: variables.clone(),
            by: entry.actor.clone(),
        },
        Event::JobCompleted { job, variables, .. } => Command::CompleteJob {
            job: *job,
            variables: variables.clone(),
        },
        Event::JobFailed {
            job,
            error,
            retries,
            ..
        } => Command::FailJob {
            job: *job,
            error: error.clone(),
            retries: Some(*retries),
        },
        Event::TimerFired { job, .. } => Command::FireTimer { job: *job },
        Event::IncidentResolved { job, retries } => Command::RetryJob {
            job: *job,
            retries: *retries,
        },
        Event::MessageCorrelated {
            name,
            correlation_key,
            message_id,
            variables,
            buffered,
            expires_at,
            ..
        } => Command::CorrelateMessage {
            name: name.clone(),
            correlation_key: correlation_key.clone(),
            message_id: message_id.clone(),
            variables: variables.clone(),
            buffered: *buffered,
            expires_at: *expires_at,
        },
        Event::CallActivityCompleted {
            child, variables, ..
        } => Command::CompleteCallActivity {
            child: *child,
            variables: variables.clone(),
        },
        Event::InstanceCancelled { reason } => Command::Cancel {
            reason: reason.clone(),
        },
        _ => return None,
    })
}

fn compare(journal: &[JournalEntry], at: usize, produced: &[Event]) -> Result<(), ReplayError> {
    for (i, event) in produced.iter().enumerate() {
        match journal.get(at + i) {
            Some(entry) if entry.event == *event => {}
            Some(entry) => {
                return Err(ReplayError::Nondeterminism {
                    seq: entry.seq,
                    recorded: json(&entry.event),
                    replayed: json(event),
                })
            }
            None => {
                return Err(ReplayError::Nondeterminism {
                    seq: (at + i + 1) as i64,
                    recorded: "nothing".into(),
                    replayed: json(event),
                })
            }
        }
    }
    Ok(())
}

/// Rebuilds an instance's state from its journal on `model`, checking every event.
pub fn replay(
    model: &Process,
    id: InstanceId,
    journal: &[JournalEntry],
    calendar: &WorkCalendar,
    due_soon_working_days: f64,
) -> Result<InstanceState, ReplayError> {
    let first = journal.first().ok_or(ReplayError::NoStart)?;
    let Event::InstanceStarted {
        definition_key,
        version,
        business_key,
        called_by,
    } = &first.event
    else {
        return Err(ReplayError::NoStart);
    };
    // Start variables are the first variables_changed; the start node is the first entered.
    let variables: Map<String, Value> = match journal.get(1).map(|e| &e.event) {
        Some(Event::VariablesChanged { changes }) => changes
            .iter()
            .map(|c| (c.name.clone(), c.after.clone()))
            .collect(),
        _ => Map::new(),
    };
    let start_node = journal.iter().find_map(|e| match &e.event {
        Event::ActivityEntered { node, .. } => model.node_by_id(node),
        _ => None,
    });
    let at = start_node.filter(|n| {
        matches!(
            model.node(*n).kind,
            NodeKind::TimerStartEvent { .. } | NodeKind::MessageStartEvent { .. }
        )
    });
    let ctx = |now| StepContext {
        now,
        calendar,
        due_soon_working_days,
    };
    let def = DefinitionRef {
        key: definition_key.clone(),
        version: *version,
    };
    let t = step::start_called(
        model,
        def,
        id,
        business_key.clone(),
        variables,
        at,
        called_by.clone(),
        ctx(first.at),
    )
    .map_err(|error| ReplayError::Refused {
        seq: first.seq,
        error,
    })?;
    compare(journal, 0, &t.events)?;
    let mut position = t.events.len();
    let mut state = t.state;
    while position < journal.len() {
        let entry = &journal[position];
        // Dossier events change no token: `dossier_received` rides on the start commit, every
        // other dossier event is a commit of its own (the instance's version + 1).
        // Directive events likewise: a progress report and an attached document are commits
        // of their own, the others ride on the start or on a task completion whose events come
        // before them.
        if let Some(own_commit) = entry
            .event
            .dossier_command()
            .or_else(|| entry.event.directive_command())
        {
            state.journal_seq += 1;
            if own_commit {
                state.version += 1;
            }
            position += 1;
            continue;
        }
        let command = command_of(entry).ok_or_else(|| ReplayError::NotACommand {
            seq: entry.seq,
            kind: entry.kind.clone(),
        })?;
        let t = step::apply(model, state, &command, ctx(entry.at)).map_err(|error| {
            ReplayError::Refused {
                seq: entry.seq,
                error,
            }
        })?;
        if t.events.is_empty() {
            return Err(ReplayError::NotACommand {
                seq: entry.seq,
                kind: entry.kind.clone(),
            });
        }
        compare(journal, position, &t.events)?;
        position += t.events.len();
        state = t.state;
    }
    // The chain head is the journal's own: the last row's hash.
    state.journal_head = journal.last().and_then(|e| e.hash.clone());
    Ok(state)
}
