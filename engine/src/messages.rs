//! Messages and call activities in the engine: correlation, buffering, message starts, and the
//! outbox jobs that carry effects from one instance to another.
//!
//! **Correlation** is by message name plus correlation key (a text; none is the same as the
//! empty text). [`Engine::correlate_message`] looks for the oldest waiting subscription with
//! that name and key (the `message_subscriptions` table, written with the state that armed
//! the catcher) and applies a `CorrelateMessage` command to its instance: version-checked,
//! journaled as `message_correlated`, the message recorded under its id in the same
//! transaction. **One message correlates to at most one subscription — the oldest**; it is
//! not broadcast. When nothing waits, the latest version of the first process (by key) with a
//! message start event of that name is started; else the message is buffered for its time to
//! live (default one hour; zero: dropped) and taken, once, by the first catcher of that name
//! and key entered before it expires (right after the commit that armed the catcher, and by
//! every executor pass, which also removes long-expired buffered messages). Expired messages
//! are ignored when read.
//!
//! **Exactly once**: every message has a unique id (given, or made here); a message whose id
//! was already correlated, started an instance or was buffered is not applied again
//! ([`Correlation::Duplicate`]).
//!
//! **Outbox**: a step never writes another instance. A throw (intermediate message throw event,
//! send task) writes a `message` job; a call activity a `call_start` job; a child's end a
//! `call_return` job; a cancelled call activity a `call_cancel` job. The executor runs each in
//! the target's own transaction; running one twice changes nothing twice (the message id, the
//! child's id, the parent's token waiting for that child).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::command::{Command, Effect, MessageRecord};
use crate::engine::{CommandOptions, Engine};
use crate::error::EngineError;
use crate::ids::{DefinitionRef, InstanceId};
use crate::state::{CalledBy, InstanceStatus, Wait};
use crate::step;
use crate::store::{DueJob, Store, StoreError};

/// How long a message nobody waits for is kept by default.
pub const DEFAULT_MESSAGE_TTL_SECS: i64 = 3600;

/// A message to correlate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorrelateMessage {
    /// The message name (the `name` of a `bpmn:message`).
    pub name: String,
    /// The correlation key, if any.
    pub correlation_key: Option<String>,
    /// The payload: set as variables of the instance that takes it.
    pub variables: Map<String, Value>,
    /// How long it waits for a catcher when none waits (default one hour; zero: not kept).
    #[serde(skip)]
    pub ttl: Option<Duration>,
    /// A unique id (made when absent): a message with an id already seen is not applied twice.
    pub message_id: Option<String>,
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Correlation {
    /// A waiting catcher of this instance took it.
    Correlated {
        /// The message id.
        message_id: String,
        /// The instance.
        instance: InstanceId,
    },
    /// It started this instance (a message start event).
    Started {
        /// The message id.
        message_id: String,
        /// The new instance.
        instance: InstanceId,
    },
    /// Nothing waited: it is kept until `expires_at`.
    Buffered {
        /// The message id.
        message_id: String,
        /// Until when.
        expires_at: DateTime<Utc>,
    },
    /// Nothing waited and its time to live was zero: dropped.
    Dropped {
        /// The message id.
        message_id: String,
    },
    /// A message with this id was applied (or buffered) already: nothing changed.
    Duplicate {
        /// The message id.
        message_id: String,
    },
}

/// The payload of a `message` outbox job.
#[derive(Debug, Deserialize)]
struct MessageJob {
    name: String,
    correlation_key: Option<String>,
    #[serde(default)]
    variables: Map<String, Value>,
    ttl_ms: Option<i64>,
    message_id: String,
}

/// The payload of a `call_start` outbox job.
#[derive(Debug, Deserialize)]
struct CallStartJob {
    parent: InstanceId,
    node: String,
    child: InstanceId,
    process: String,
    version: Option<i32>,
    business_key: Option<String>,
    #[serde(default)]
    variables: Map<String, Value>,
}

/// The payload of a `call_return` outbox job.
#[derive(Debug, Deserialize)]
struct CallReturnJob {
    parent: InstanceId,
    child: InstanceId,
    #[serde(default)]
    variables: Map<String, Value>,
}

/// The payload of a `call_cancel` outbox job.
#[derive(Debug, Deserialize)]
struct CallCancelJob {
    child: InstanceId,
}

/// Whether a job kind is an outbox job (run by [`Engine::run_outbox_job`]).
pub fn is_outbox(kind: &str) -> bool {
    matches!(
        kind,
        "message" | "call_start" | "call_return" | "call_cancel"
    )
}

fn payload<T: serde::de::DeserializeOwned>(job: &DueJob) -> Result<T, String> {
    let text = job.payload.as_deref().unwrap_or("null");
    serde_json::from_str(text)
        .map_err(|e| format!("the {} job's payload is corrupt: {e}", job.kind))
}

impl<S: Store> Engine<S> {
    /// Correlates a message: to the oldest waiting catcher with its name and key, else to a
    /// message start event, else into the buffer (see the module documentation).
    pub async fn correlate_message(
        &self,
        request: CorrelateMessage,
        options: CommandOptions,
    ) -> Result<Correlation, EngineError> {
        let name = request.name.trim().to_owned();
        if name.is_empty() {
            return Err(EngineError::Invalid("a message needs a name".into()));
        }
        let message_id = match request.message_id.as_deref().map(str::trim) {
            Some("") => return Err(EngineError::Invalid("a message id cannot be empty".into())),
            Some(id) => id.to_owned(),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let ttl = request
            .ttl
            .unwrap_or_else(|| Duration::seconds(DEFAULT_MESSAGE_TTL_SECS));
        if ttl < Duration::zero() {
            return Err(EngineError::Invalid(
                "a message's ttl cannot be negative".into(),
            ));
        }
        let key = request.correlation_key.filter(|k| !k.is_empty());
        let duplicate = Correlation::Duplicate {
            message_id: message_id.clone(),
        };
        if self.store.message(&message_id).await?.is_some() {
            return Ok(duplicate);
        }
        let now = self.clock.now();
        let expires_at = now + ttl;
        let options = CommandOptions {
            actor: options.actor.or_else(|| Some("message".into())),
            // The message id makes it idempotent; a key would name one instance's command.
            idempotency_key: None,
        };
        // A waiting catcher; a concurrent command may take it first: look again.
        for _ in 0..5 {
            let Some(instance) = self
                .store
                .oldest_subscription(&name, key.as_deref().unwrap_or(""))
                .await?
            else {
                break;
            };
            let command = Command::CorrelateMessage {
                name: name.clone(),
                correlation_key: key.clone(),
                message_id: message_id.clone(),
                variables: request.variables.clone(),
                buffered: false,
                expires_at,
            };
            match self.execute(instance, command, options.clone()).await {
                Ok(_) => {
                    return Ok(Correlation::Correlated {
                        message_id,
                        instance,
                    })
                }
                Err(EngineError::Conflict(_)) => continue,
                Err(EngineError::Store(StoreError::Duplicate(_))) => return Ok(duplicate),
                Err(e) => return Err(e),
            }
        }
        // A message start event.
        if let Some((def, node)) = self.message_start(&name).await? {
            let model = self.model(&def).await?;
            let mut transition = step::start(
                &model,
                def,
                InstanceId::new_v7(),
                None,
                request.variables.clone(),
                Some(node),
                self.step_context(now),
            )?;
            let instance = transition.state.id;
            transition
                .effects
                .push(Effect::MessageRecorded(MessageRecord {
                    id: message_id.clone(),
                    name: name.clone(),
                    correlation_key: key.clone(),
                    payload: request.variables.clone(),
                    created_at: now,
                    expires_at,
                    consumed_by: Some(instance),
                }));
            return match self.commit(None, transition, &options, &None, now).await {
                Ok(_) => Ok(Correlation::Started {
                    message_id,
                    instance,
                }),
                Err(EngineError::Store(StoreError::Duplicate(_))) => Ok(duplicate),
                Err(e) => Err(e),
            };
        }
        if ttl.is_zero() {
            return Ok(Correlation::Dropped { message_id });
        }
        let record = MessageRecord {
            id: message_id.clone(),
            name,
            correlation_key: key,
            payload: request.variables,
            created_at: now,
            expires_at,
            consumed_by: None,
        };
        match self.store.buffer_message(&record).await? {
            true => Ok(Correlation::Buffered {
                message_id,
                expires_at,
            }),
            false => Ok(duplicate),
        }
    }

    /// The latest version of the first definition (by key) whose message start event has this
    /// message name, with that start event.
    async fn message_start(
        &self,
        name: &str,
    ) -> Result<Option<(DefinitionRef, motcua_definitions::NodeIdx)>, EngineError> {
        let mut latest: Vec<(String, i32)> = Vec::new();
        for d in self.store.definitions().await? {
            match latest.iter_mut().find(|(k, _)| *k == d.key) {
                Some(entry) => entry.1 = entry.1.max(d.version),
                None => latest.push((d.key, d.version)),
            }
        }
        latest.sort();
        for (key, version) in latest {
            let def = DefinitionRef { key, version };
            let model = self.model(&def).await?;
            if let Some(node) = model.message_start(name) {
                return Ok(Some((def, node)));
            }
        }
        Ok(None)
    }

    /// Gives buffered messages to the catchers that wait for them (of `instance` only, when
    /// given). Returns how many were taken.
    pub(crate) fn deliver_buffered(
        &self,
        instance: Option<InstanceId>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, EngineError>> + Send + '_>>
    {
        Box::pin(async move {
            let now = self.clock.now();
            let mut taken = 0;
            for (target, m) in self.store.deliverable_messages(instance, now, 100).await? {
                let command = Command::CorrelateMessage {
                    name: m.name,
                    correlation_key: m.correlation_key,
                    message_id: m.id,
                    variables: m.payload,
                    buffered: true,
                    expires_at: m.expires_at,
                };
                match self
                    .execute(target, command, CommandOptions::by("message"))
                    .await
                {
                    Ok(_) => taken += 1,
                    // Taken by another catcher, or the catcher moved on: the next pass looks again.
                    Err(EngineError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(taken)
        })
    }

    /// Runs one outbox job (`message`, `call_start`, `call_return`, `call_cancel`) and closes
    /// it. Returns whether it did something (false: nothing was left to do).
    pub(crate) async fn run_outbox_job(&self, job: &DueJob) -> Result<bool, String> {
        let did = match job.kind.as_str() {
            "message" => {
                let m: MessageJob = payload(job)?;
                let result = self
                    .correlate_message(
                        CorrelateMessage {
                            name: m.name,
                            correlation_key: m.correlation_key,
                            variables: m.variables,
                            ttl: m.ttl_ms.map(Duration::milliseconds),
                            message_id: Some(m.message_id),
                        },
                        CommandOptions::by("message"),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                !matches!(result, Correlation::Duplicate { .. })
            }
            "call_start" => self.start_child(payload(job)?).await?,
            "call_return" => self.return_to_parent(payload(job)?).await?,
            "call_cancel" => {
                let c: CallCancelJob = payload(job)?;
                let command = Command::Cancel {
                    reason: Some("its call activity was cancelled".into()),
                };
                match self
                    .execute(c.child, command, CommandOptions::by("call-activity"))
                    .await
                {
                    Ok(_) => true,
                    // Ended already, or not started (its start job then sees the parent moved on).
                    Err(EngineError::Conflict(_) | EngineError::NotFound { .. }) => false,
                    Err(e) => return Err(e.to_string()),
                }
            }
            other => return Err(format!("'{other}' is not an outbox job")),
        };
        self.store
            .close_job(job.id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(did)
    }

    /// Whether `parent` still waits at a call activity for `child`.
    async fn parent_waits(&self, parent: InstanceId, child: InstanceId) -> Result<bool, String> {
        match self.instance(parent).await {
            Ok(state) => Ok(state.status == InstanceStatus::Active
                && state
                    .tokens
                    .iter()
                    .any(|t| matches!(&t.wait, Wait::CallActivity { child: c } if *c == child))),
            Err(EngineError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn start_child(&self, c: CallStartJob) -> Result<bool, String> {
        if !self.parent_waits(c.parent, c.child).await? {
            return Ok(false);
        }
        let record = self
            .store
            .definition_record(&c.process, c.version)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| match c.version {
                Some(v) => format!("the called process '{}' v{v} is not deployed", c.process),
                None => format!("the called process '{}' is not deployed", c.process),
            })?;
        let def = DefinitionRef {
            key: record.key,
            version: record.version,
        };
        let model = self.model(&def).await.map_err(|e| e.to_string())?;
        let now = self.clock.now();
        let transition = step::start_called(
            &model,
            def,
            c.child,
            c.business_key,
            c.variables,
            None,
            Some(CalledBy {
                instance: c.parent,
                node: c.node,
            }),
            self.step_context(now),
        )
        .map_err(|e| e.to_string())?;
        match self
            .commit(
                None,
                transition,
                &CommandOptions::by("call-activity"),
                &None,
                now,
            )
            .await
        {
            Ok(_) => Ok(true),
            // Started by an earlier run of this job.
            Err(EngineError::Store(StoreError::Duplicate(_))) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn return_to_parent(&self, r: CallReturnJob) -> Result<bool, String> {
        for _ in 0..3 {
            let command = Command::CompleteCallActivity {
                child: r.child,
                variables: r.variables.clone(),
            };
            match self
                .execute(r.parent, command, CommandOptions::by("call-activity"))
                .await
            {
                Ok(_) => return Ok(true),
                Err(EngineError::Conflict(_)) => {
                    if !self.parent_waits(r.parent, r.child).await? {
                        return Ok(false);
                    }
                }
                Err(EngineError::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("the parent instance kept changing while its call activity returned".into())
    }
}
