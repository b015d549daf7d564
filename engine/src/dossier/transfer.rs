//! Transfers of a dossier between agencies (liên thông, issue #9): the whole dossier, or one
//! step of it, handed to another agency's queue, then accepted or returned by that agency.
//!
//! A transfer is one version-checked commit on the dossier's instance: the `dossier_transferred`
//! journal event, the `dossier_transfers` row (a projection), the dossier's version + 1 (its
//! state becomes `transferred` where the lifecycle table allows it) and the re-routing of the
//! open user tasks (every one for a whole-dossier transfer, the named one for a step) to the
//! receiving agency, each task's previous agency kept in the row. Accepting (`transfer_accepted`)
//! and returning (`transfer_returned`, with its reason: the tasks go back to their agencies and
//! the dossier to the state it had) are commits of their own. Replay verifies such instances
//! like any dossier change (see [`crate::event::Event::dossier_command`]).
//!
//! Who sees a transferred dossier is [`DossierScope`]: the agency that received it at the
//! counter, every agency of a transfer that was not returned, and the one holding it now (the
//! receiver of the latest whole-dossier transfer not returned) — the only one that changes it.
//!
//! Agencies are checked against the directory ([`crate::agency::Agencies::route`]): an unknown
//! agency is refused. An agency the directory marks `peer = "<engine>"` is served by ANOTHER
//! motcua engine: the transfer is then handed to [`Engine::hand_to_peer_outbox`] instead of a
//! local queue, which queues a signed message to that engine in the transfer's commit
//! (`crate::exchange`). [`Engine::transfer_payload`] gives a transfer as a self-contained
//! [`TransferPayload`] (the dossier, its applicant and form data, the documents' bytes by
//! SHA-256, the transfer record), for export.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DossierEffect, DossierRecord, DossierState};
use crate::agency::Route;
use crate::command::Effect;
use crate::engine::{CommandOptions, Engine};
use crate::error::EngineError;
use crate::event::{Event, TransferredDocument};
use crate::ids::{InstanceId, TaskId};
use crate::state::Wait;
use crate::store::{Store, StoreError};

/// How many times a transfer command is re-validated and re-committed after losing a race.
const ATTEMPTS: usize = 3;

/// Where a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Sent, waiting for the receiver (đã chuyển).
    Sent,
    /// The receiver accepted it (đã tiếp nhận liên thông).
    Accepted,
    /// The receiver sent it back, with a reason (trả lại).
    Returned,
}

impl TransferState {
    /// `sent`, `accepted` or `returned`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Sent => "sent",
            TransferState::Accepted => "accepted",
            TransferState::Returned => "returned",
        }
    }

    /// Reads the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sent" => Some(TransferState::Sent),
            "accepted" => Some(TransferState::Accepted),
            "returned" => Some(TransferState::Returned),
            _ => None,
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            TransferState::Sent => "Đã chuyển",
            TransferState::Accepted => "Đã tiếp nhận",
            TransferState::Returned => "Bị trả lại",
        }
    }
}

/// A document version that goes along with a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferDocument {
    /// Slot.
    pub slot: String,
    /// The version sent (the slot's latest when the transfer was made).
    pub version: i32,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
}

/// A user task re-routed by a transfer, with the agency it had before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReroutedTask {
    /// The task.
    pub task: TaskId,
    /// Its agency before the transfer (given back on return).
    pub from_agency: Option<String>,
}

/// A transfer as stored (`dossier_transfers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// Id (UUID v7).
    pub id: String,
    /// The dossier.
    pub dossier_code: String,
    /// The sending agency (the dossier's holder when it was sent).
    pub from_agency: String,
    /// The receiving agency.
    pub to_agency: String,
    /// The peer engine serving the receiver, for a transfer to another motcua engine.
    pub peer: Option<String>,
    /// Why it is transferred.
    pub reason: String,
    /// The documents that go along, each at the version sent.
    pub documents: Vec<TransferDocument>,
    /// The user tasks re-routed to the receiver.
    pub tasks: Vec<ReroutedTask>,
    /// For a step transfer: the one task handed over; `None` for the whole dossier.
    pub step_task: Option<TaskId>,
    /// The dossier's state when it was sent (it goes back to it on return).
    pub state_before: DossierState,
    /// The receiver's share of the SLA, in working days.
    pub receiver_share_working_days: Option<f64>,
    /// The receiver's due date (the working-day calendar from `sent_at`).
    pub receiver_due_at: Option<DateTime<Utc>>,
    /// What remains to the sender, in working days.
    pub sender_share_working_days: Option<f64>,
    /// The sender's due date (the dossier's promised return date).
    pub sender_due_at: Option<DateTime<Utc>>,
    /// Sent, accepted or returned.
    pub state: TransferState,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Who sent it.
    pub sent_by: Option<String>,
    /// When it was accepted or returned.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who accepted or returned it.
    pub decided_by: Option<String>,
    /// Why it was returned.
    pub returned_reason: Option<String>,
}

impl TransferRecord {
    /// A whole-dossier transfer (not one step).
    pub fn is_whole(&self) -> bool {
        self.step_task.is_none()
    }
}

/// What a transfer carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransferRequest {
    /// The receiving agency's code; must be in the agency directory.
    pub to_agency: String,
    /// Why (required).
    pub reason: String,
    /// The slots whose latest versions go along; empty: every document.
    pub documents: Vec<String>,
    /// The receiver's share of the SLA in working days (a multiple of 0.5); `None`: the whole
    /// time left until the dossier's promised return date.
    pub sla_share_working_days: Option<f64>,
    /// One step: this open user task is re-routed; `None`: the whole dossier (every open task).
    pub task: Option<TaskId>,
    /// Refuse unless the dossier is still at this version.
    pub expected_version: Option<i64>,
}

/// Who sees and who changes a dossier, given its transfers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierScope {
    /// The agency that received it at the counter.
    pub owner: String,
    /// The agency holding it now: the receiver of the latest whole-dossier transfer that was
    /// not returned, else the owner. Only its servants change the dossier.
    pub holder: String,
    /// Every agency that may read it: the owner and the agencies of every transfer not
    /// returned (and the sender of a returned one).
    pub readers: Vec<String>,
}

impl DossierScope {
    /// From the dossier's owner and its transfers (oldest first).
    pub fn of(owner: &str, transfers: &[TransferRecord]) -> Self {
        let mut holder = owner.to_owned();
        let mut readers = vec![owner.to_owned()];
        let add = |a: &str, readers: &mut Vec<String>| {
            if !readers.iter().any(|r| r == a) {
                readers.push(a.to_owned());
            }
        };
        for t in transfers {
            add(&t.from_agency, &mut readers);
            if t.state != TransferState::Returned {
                add(&t.to_agency, &mut readers);
                if t.is_whole() {
                    holder = t.to_agency.clone();
                }
            }
        }
        DossierScope {
            owner: owner.to_owned(),
            holder,
            readers,
        }
    }

    /// Whether `agency` may read the dossier.
    pub fn reads(&self, agency: &str) -> bool {
        self.readers.iter().any(|r| r == agency)
    }
}

/// A document with its bytes, in a [`TransferPayload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadDocument {
    /// Slot.
    pub slot: String,
    /// Version.
    pub version: i32,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// SHA-256 of `content`, lowercase hex (the receiver checks it).
    pub sha256: String,
    /// The bytes (base64 in JSON).
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// A transfer, self-contained: what a peer motcua engine needs to receive it (issue #9 part
/// 3) — the dossier's fields, applicant and form data, the documents' bytes by SHA-256 and the
/// transfer record. Built by [`Engine::transfer_payload`]; JSON through serde.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferPayload {
    /// [`TransferPayload::FORMAT`].
    pub format: String,
    /// The transfer.
    pub transfer: TransferRecord,
    /// The dossier (code, procedure, agency, applicant, state, dates, form data, version).
    pub dossier: DossierRecord,
    /// The documents that go along, with their bytes (checked against their SHA-256 when read).
    pub documents: Vec<PayloadDocument>,
}

impl TransferPayload {
    /// The payload's format name and version.
    pub const FORMAT: &'static str = "motcua-transfer/1";
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// A transfer row's columns as both backends read them (by column name).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TransferParts {
    pub id: String,
    pub dossier_code: String,
    pub from_agency: String,
    pub to_agency: String,
    pub peer: Option<String>,
    pub reason: String,
    pub documents: String,
    pub tasks: String,
    pub step_task: Option<String>,
    pub state_before: String,
    pub receiver_share_halves: Option<i64>,
    pub receiver_due_at: Option<DateTime<Utc>>,
    pub sender_share_halves: Option<i64>,
    pub sender_due_at: Option<DateTime<Utc>>,
    pub state: String,
    pub sent_at: DateTime<Utc>,
    pub sent_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub returned_reason: Option<String>,
}

/// The columns of `dossier_transfers`, in [`TransferParts`]' order (both backends).
pub(crate) const TRANSFER_COLUMNS: &str = "id, dossier_code, from_agency, to_agency, peer, \
     reason, documents, tasks, step_task, state_before, receiver_share_halves, receiver_due_at, \
     sender_share_halves, sender_due_at, state, sent_at, sent_by, decided_at, decided_by, \
     returned_reason";

/// Half working days, as stored.
pub(crate) fn halves(days: Option<f64>) -> Option<i64> {
    days.map(|d| (d * 2.0).round() as i64)
}

/// Builds a [`TransferRecord`] from its columns.
pub(crate) fn transfer_from_parts(p: TransferParts) -> Result<TransferRecord, StoreError> {
    let corrupt = |what: &str, detail: String| {
        StoreError::Corrupt(format!("transfer {}: {what}: {detail}", p.id))
    };
    let documents: Vec<TransferDocument> =
        serde_json::from_str(&p.documents).map_err(|e| corrupt("documents", e.to_string()))?;
    let tasks: Vec<ReroutedTask> =
        serde_json::from_str(&p.tasks).map_err(|e| corrupt("tasks", e.to_string()))?;
    let step_task = match &p.step_task {
        Some(t) => Some(
            uuid::Uuid::parse_str(t)
                .map(TaskId::from_uuid)
                .map_err(|e| corrupt("step task", e.to_string()))?,
        ),
        None => None,
    };
    let state_before = DossierState::parse(&p.state_before)
        .ok_or_else(|| corrupt("state before", p.state_before.clone()))?;
    let state = TransferState::parse(&p.state).ok_or_else(|| corrupt("state", p.state.clone()))?;
    Ok(TransferRecord {
        id: p.id,
        dossier_code: p.dossier_code,
        from_agency: p.from_agency,
        to_agency: p.to_agency,
        peer: p.peer,
        reason: p.reason,
        documents,
        tasks,
        step_task,
        state_before,
        receiver_share_working_days: p.receiver_share_halves.map(|h| h as f64 / 2.0),
        receiver_due_at: p.receiver_due_at,
        sender_share_working_days: p.sender_share_halves.map(|h| h as f64 / 2.0),
        sender_due_at: p.sender_due_at,
        state,
        sent_at: p.sent_at,
        sent_by: p.sent_by,
        decided_at: p.decided_at,
        decided_by: p.decided_by,
        returned_reason: p.returned_reason,
    })
}

/// The open user tasks of an instance's state.
fn open_tasks(state: &crate::state::InstanceState) -> Vec<TaskId> {
    state
        .tokens
        .iter()
        .filter_map(|t| match &t.wait {
            Wait::UserTask { task, .. } => Some(*task),
            _ => None,
        })
        .collect()
}

impl<S: Store> Engine<S> {
    /// Every transfer of a dossier, oldest first.
    pub async fn dossier_transfers(&self, code: &str) -> Result<Vec<TransferRecord>, EngineError> {
        self.dossier_row(code).await?;
        Ok(self.store.dossier_transfers(code).await?)
    }

    /// One transfer.
    pub async fn transfer(&self, id: &str) -> Result<TransferRecord, EngineError> {
        self.store
            .transfer(id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "transfer",
                id: id.to_owned(),
            })
    }

    /// Who reads and who changes a dossier, given its transfers.
    pub async fn dossier_scope(&self, code: &str) -> Result<DossierScope, EngineError> {
        let row = self.dossier_row(code).await?;
        let transfers = self.store.dossier_transfers(code).await?;
        Ok(DossierScope::of(&row.agency, &transfers))
    }

    /// Transfers a dossier (or, with `request.task`, one step of it) to another agency: ONE
    /// version-checked commit on the dossier's instance with the `dossier_transferred` event,
    /// the transfer row, the dossier's new state (`transferred` where the lifecycle allows)
    /// and the re-routed tasks. Refused (nothing changes) for an agency missing from the
    /// directory, the agency holding it, a finished dossier, a dossier with a transfer still
    /// waiting for its receiver, an unknown slot or task, a bad SLA share or a stale
    /// `expected_version`.
    pub async fn transfer_dossier(
        &self,
        code: &str,
        request: TransferRequest,
        options: CommandOptions,
    ) -> Result<TransferRecord, EngineError> {
        let reason = request.reason.trim().to_owned();
        if reason.is_empty() {
            return Err(EngineError::Invalid(
                "a transfer needs its reason (lý do chuyển)".into(),
            ));
        }
        let route = self.agencies.route(&request.to_agency).ok_or_else(|| {
            EngineError::Invalid(format!(
                "cơ quan '{}' không có trong danh mục cơ quan (the agency directory): không thể chuyển hồ sơ đến cơ quan không xác định",
                request.to_agency
            ))
        })?;
        if let Some(days) = request.sla_share_working_days {
            if !days.is_finite() || days <= 0.0 || (days * 2.0).fract() != 0.0 {
                return Err(EngineError::Invalid(format!(
                    "the receiver's SLA share must be a positive multiple of 0.5 working days, not {days}"
                )));
            }
        }
        let print = transfer_print(code, &request, &options);
        if let Some(first) = self.replayed_transfer(code, &request, &options).await? {
            return Ok(first);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            if let Some(expected) = request.expected_version {
                if expected != row.version {
                    return Err(EngineError::Conflict(format!(
                        "hồ sơ {code} đã được thay đổi (phiên bản {}, không phải {expected}): hãy tải lại",
                        row.version
                    )));
                }
            }
            if row.state.is_finished() {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code} đã kết thúc ({}): không thể chuyển",
                    row.state.label()
                )));
            }
            let transfers = self.store.dossier_transfers(code).await?;
            if let Some(open) = transfers.iter().find(|t| t.state == TransferState::Sent) {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code} đang chờ {} tiếp nhận (liên thông {}): chỉ chuyển tiếp khi đã được tiếp nhận hoặc trả lại",
                    open.to_agency, open.id
                )));
            }
            let scope = DossierScope::of(&row.agency, &transfers);
            if scope.holder == request.to_agency {
                return Err(EngineError::Invalid(format!(
                    "hồ sơ {code} đang ở {}: không thể chuyển cho chính cơ quan đang giữ",
                    scope.holder
                )));
            }
            // The documents: the latest version of each named slot (every slot by default).
            let latest = super::engine::latest_versions(self.store.dossier_documents(code).await?);
            let documents: Vec<TransferDocument> = if request.documents.is_empty() {
                latest.iter().map(transfer_document).collect()
            } else {
                let mut out = Vec::new();
                for slot in &request.documents {
                    let d = latest.iter().find(|d| &d.slot == slot).ok_or_else(|| {
                        EngineError::NotFound {
                            what: "document",
                            id: format!("{code}/{slot}"),
                        }
                    })?;
                    if !out.iter().any(|o: &TransferDocument| &o.slot == slot) {
                        out.push(transfer_document(d));
                    }
                }
                out
            };
            // The tasks: the named open task, or every open one.
            let state = self.instance(row.instance).await?;
            let open = open_tasks(&state);
            let moving: Vec<TaskId> = match request.task {
                Some(task) => {
                    if !open.contains(&task) {
                        return Err(EngineError::Conflict(format!(
                            "task {task} is not an open user task of dossier {code}"
                        )));
                    }
                    vec![task]
                }
                None => open,
            };
            let mut tasks = Vec::with_capacity(moving.len());
            for task in &moving {
                let from_agency = self.store.task(*task).await?.and_then(|t| t.record.agency);
                tasks.push(ReroutedTask {
                    task: *task,
                    from_agency,
                });
            }
            // SLA shares: the receiver's from now by the working-day calendar; the sender keeps
            // what is left until the promised return date.
            let now = self.clock.now();
            let calendar = self.calendar();
            let remaining = row
                .due_at
                .map(|due| calendar.working_days_between(now, due).max(0.0));
            let (receiver_share, receiver_due) = match request.sla_share_working_days {
                Some(days) => (
                    Some(days),
                    Some(calendar.add_working_days(now, days).map_err(|e| {
                        EngineError::Invalid(format!("the receiver's SLA share: {e}"))
                    })?),
                ),
                None => (remaining, row.due_at),
            };
            let sender_share = match (remaining, request.sla_share_working_days) {
                (Some(left), Some(days)) => Some((left - days).max(0.0)),
                (Some(_), None) => Some(0.0),
                (None, _) => None,
            };
            let new_state = row
                .state
                .can_go_to(DossierState::Transferred)
                .then_some(DossierState::Transferred);
            let record = TransferRecord {
                id: uuid::Uuid::now_v7().to_string(),
                dossier_code: code.to_owned(),
                from_agency: scope.holder.clone(),
                to_agency: request.to_agency.clone(),
                peer: match &route {
                    Route::Peer { engine } => Some(engine.clone()),
                    Route::Local => None,
                },
                reason: reason.clone(),
                documents,
                tasks,
                step_task: request.task,
                state_before: row.state,
                receiver_share_working_days: receiver_share,
                receiver_due_at: receiver_due,
                sender_share_working_days: sender_share,
                sender_due_at: row.due_at,
                state: TransferState::Sent,
                sent_at: now,
                sent_by: options.actor.clone(),
                decided_at: None,
                decided_by: None,
                returned_reason: None,
            };
            let event = Event::DossierTransferred {
                transfer: record.id.clone(),
                from_agency: record.from_agency.clone(),
                to_agency: record.to_agency.clone(),
                peer: record.peer.clone(),
                reason: reason.clone(),
                step_task: record.step_task,
                tasks: moving.clone(),
                documents: record
                    .documents
                    .iter()
                    .map(|d| TransferredDocument {
                        slot: d.slot.clone(),
                        version: d.version,
                        sha256: d.sha256.clone(),
                    })
                    .collect(),
                receiver_share_working_days: receiver_share,
                receiver_due_at: receiver_due,
                sender_share_working_days: sender_share,
                state: new_state.map(|s| s.as_str().to_owned()),
            };
            let mut effects = vec![
                Effect::Dossier(DossierEffect::Updated {
                    instance: row.instance,
                    expected_version: row.version,
                    state: new_state,
                    finished_at: None,
                    due_at: None,
                }),
                Effect::Dossier(DossierEffect::TransferSent(record.clone())),
            ];
            match &route {
                Route::Local => {
                    for task in &moving {
                        effects.push(Effect::TaskRerouted {
                            task: *task,
                            agency: Some(record.to_agency.clone()),
                        });
                    }
                }
                Route::Peer { engine } => {
                    self.hand_to_peer_outbox(engine, &record, &mut effects)
                        .await?;
                }
            }
            match self
                .commit_dossier_change(row.instance, event, effects, &options, &print)
                .await
            {
                Ok(_) => return self.transfer(&record.id).await,
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The first answer of a transfer retried with the same idempotency key, if there is one
    /// (`None` without a key or when the key is new; a conflict when the key was used for
    /// another request). Changes nothing: callers whose scope changed with the transfer itself
    /// (the sender no longer holds the dossier) use it to answer a retry.
    pub async fn replayed_transfer(
        &self,
        code: &str,
        request: &TransferRequest,
        options: &CommandOptions,
    ) -> Result<Option<TransferRecord>, EngineError> {
        let print = transfer_print(code, request, options);
        if self.replay_answer(options, &print).await?.is_none() {
            return Ok(None);
        }
        let reason = request.reason.trim();
        self.store
            .dossier_transfers(code)
            .await?
            .into_iter()
            .rev()
            .find(|t| t.to_agency == request.to_agency && t.reason == reason)
            .map(Some)
            .ok_or_else(|| EngineError::NotFound {
                what: "transfer",
                id: format!("{code} → {}", request.to_agency),
            })
    }

    /// A transfer to another motcua engine (issue #9 part 3): called by
    /// [`Engine::transfer_dossier`] instead of re-routing the tasks to a local queue when the
    /// receiving agency is served by a peer engine (`peer = "..."` in the agency directory),
    /// before the transfer's commit, with the effects that commit will write. It adds the
    /// signed `dossier.transfer` message (the documents the transfer names, with their bytes)
    /// to the outbox in that same commit (`crate::exchange`), so the transfer and its delivery
    /// exist together or not at all. The peer must also be in `--peers` (URL, certificate).
    pub async fn hand_to_peer_outbox(
        &self,
        _peer: &str,
        record: &TransferRecord,
        effects: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        let row = self.dossier_row(&record.dossier_code).await?;
        let slots = record
            .documents
            .iter()
            .map(|d| {
                (
                    d.slot.clone(),
                    d.name.clone(),
                    d.media_type.clone(),
                    d.sha256.clone(),
                )
            })
            .collect();
        self.queue_transfer_to_peer(
            &row,
            &record.from_agency,
            &record.to_agency,
            &record.reason,
            slots,
            effects,
        )
        .await
    }

    /// The transfer, self-contained, for a peer engine: the transfer record, the dossier row
    /// (applicant, form data, dates) and each document that goes along with its bytes, read
    /// back from the blob store and checked against its SHA-256.
    pub async fn transfer_payload(&self, id: &str) -> Result<TransferPayload, EngineError> {
        let transfer = self.transfer(id).await?;
        let dossier = self.dossier_row(&transfer.dossier_code).await?;
        let mut documents = Vec::with_capacity(transfer.documents.len());
        for d in &transfer.documents {
            let content = self.get_blob(&d.sha256).await?;
            documents.push(PayloadDocument {
                slot: d.slot.clone(),
                version: d.version,
                name: d.name.clone(),
                media_type: d.media_type.clone(),
                sha256: d.sha256.clone(),
                content,
            });
        }
        Ok(TransferPayload {
            format: TransferPayload::FORMAT.to_owned(),
            transfer,
            dossier,
            documents,
        })
    }

    /// The receiver accepts a transfer (sent → accepted): one commit with `transfer_accepted`.
    pub async fn accept_transfer(
        &self,
        id: &str,
        options: CommandOptions,
    ) -> Result<TransferRecord, EngineError> {
        self.decide_transfer(id, None, options).await
    }

    /// The receiver returns a transfer with its reason (sent → returned): the re-routed tasks
    /// still open go back to their agencies and the dossier to the state it had, in one
    /// commit with `transfer_returned`.
    pub async fn return_transfer(
        &self,
        id: &str,
        reason: String,
        options: CommandOptions,
    ) -> Result<TransferRecord, EngineError> {
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(EngineError::Invalid(
                "returning a transfer needs its reason (lý do trả lại)".into(),
            ));
        }
        self.decide_transfer(id, Some(reason), options).await
    }

    async fn decide_transfer(
        &self,
        id: &str,
        returned: Option<String>,
        options: CommandOptions,
    ) -> Result<TransferRecord, EngineError> {
        let print = options
            .idempotency_key
            .as_ref()
            .map(|_| json!({"op": "decide_transfer", "id": id, "returned": returned}));
        if self.replay_answer(&options, &print).await?.is_some() {
            return self.transfer(id).await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let transfer = self.transfer(id).await?;
            if transfer.state != TransferState::Sent {
                return Err(EngineError::Conflict(format!(
                    "liên thông {id} {}: không thể {} nữa",
                    transfer.state.label().to_lowercase(),
                    if returned.is_some() {
                        "trả lại"
                    } else {
                        "tiếp nhận"
                    }
                )));
            }
            let row = self.dossier_row(&transfer.dossier_code).await?;
            let (event, effects) = match &returned {
                None => (
                    Event::TransferAccepted {
                        transfer: id.to_owned(),
                    },
                    vec![
                        Effect::Dossier(DossierEffect::Updated {
                            instance: row.instance,
                            expected_version: row.version,
                            state: None,
                            finished_at: None,
                            due_at: None,
                        }),
                        Effect::Dossier(DossierEffect::TransferDecided {
                            id: id.to_owned(),
                            state: TransferState::Accepted,
                            decided_by: options.actor.clone(),
                            returned_reason: None,
                        }),
                    ],
                ),
                Some(reason) => {
                    let back = back_state(row.state, transfer.state_before);
                    let state = self.instance(row.instance).await?;
                    let open = open_tasks(&state);
                    let mut effects = vec![
                        Effect::Dossier(DossierEffect::Updated {
                            instance: row.instance,
                            expected_version: row.version,
                            state: back,
                            finished_at: None,
                            due_at: None,
                        }),
                        Effect::Dossier(DossierEffect::TransferDecided {
                            id: id.to_owned(),
                            state: TransferState::Returned,
                            decided_by: options.actor.clone(),
                            returned_reason: Some(reason.clone()),
                        }),
                    ];
                    let mut back_tasks = Vec::new();
                    for t in transfer.tasks.iter().filter(|t| open.contains(&t.task)) {
                        back_tasks.push(t.task);
                        effects.push(Effect::TaskRerouted {
                            task: t.task,
                            agency: t.from_agency.clone(),
                        });
                    }
                    (
                        Event::TransferReturned {
                            transfer: id.to_owned(),
                            reason: reason.clone(),
                            tasks: back_tasks,
                            state: back.map(|s| s.as_str().to_owned()),
                        },
                        effects,
                    )
                }
            };
            match self
                .commit_dossier_change(row.instance, event, effects, &options, &print)
                .await
            {
                Ok(_) => return self.transfer(id).await,
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The agency a transfer goes to is known and local: helper for callers that check before
    /// sending (the CLI, HTTP).
    pub fn transfer_route(&self, agency: &str) -> Option<Route> {
        self.agencies.route(agency)
    }

    /// The instance of a dossier (for callers holding a transfer).
    pub async fn transfer_instance(&self, id: &str) -> Result<InstanceId, EngineError> {
        let t = self.transfer(id).await?;
        Ok(self.dossier_row(&t.dossier_code).await?.instance)
    }
}

/// The fingerprint of a transfer request for its idempotency key.
fn transfer_print(
    code: &str,
    request: &TransferRequest,
    options: &CommandOptions,
) -> Option<serde_json::Value> {
    options.idempotency_key.as_ref().map(|_| {
        json!({
            "op": "transfer_dossier",
            "code": code,
            "to": request.to_agency,
            "reason": request.reason.trim(),
            "documents": request.documents,
            "share": request.sla_share_working_days,
            "task": request.task,
            "expected_version": request.expected_version,
        })
    })
}

/// Where a returned dossier goes: back to the state it had, if it is still `transferred` and
/// the lifecycle allows it (else `processing`, else it stays).
fn back_state(now: DossierState, before: DossierState) -> Option<DossierState> {
    if now != DossierState::Transferred || before == DossierState::Transferred {
        return None;
    }
    if now.can_go_to(before) {
        Some(before)
    } else if now.can_go_to(DossierState::Processing) {
        Some(DossierState::Processing)
    } else {
        None
    }
}

fn transfer_document(d: &super::DocumentRecord) -> TransferDocument {
    TransferDocument {
        slot: d.slot.clone(),
        version: d.version,
        sha256: d.sha256.clone(),
        name: d.name.clone(),
        media_type: d.media_type.clone(),
        size: d.size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(from: &str, to: &str, state: TransferState, step: bool) -> TransferRecord {
        TransferRecord {
            id: "t".into(),
            dossier_code: "D".into(),
            from_agency: from.into(),
            to_agency: to.into(),
            peer: None,
            reason: "r".into(),
            documents: vec![],
            tasks: vec![],
            step_task: step.then(|| TaskId::from_uuid(uuid::Uuid::nil())),
            state_before: DossierState::Processing,
            receiver_share_working_days: None,
            receiver_due_at: None,
            sender_share_working_days: None,
            sender_due_at: None,
            state,
            sent_at: chrono::DateTime::<Utc>::MIN_UTC,
            sent_by: None,
            decided_at: None,
            decided_by: None,
            returned_reason: None,
        }
    }

    #[test]
    fn scope_follows_whole_transfers_not_returned() {
        let s = DossierScope::of("A", &[]);
        assert_eq!(s.holder, "A");
        let s = DossierScope::of(
            "A",
            &[
                record("A", "B", TransferState::Accepted, false),
                record("B", "C", TransferState::Sent, false),
            ],
        );
        assert_eq!(s.holder, "C");
        assert!(s.reads("A") && s.reads("B") && s.reads("C") && !s.reads("D"));
        let s = DossierScope::of("A", &[record("A", "B", TransferState::Returned, false)]);
        assert_eq!(s.holder, "A");
        assert!(!s.reads("B"));
        let s = DossierScope::of("A", &[record("A", "B", TransferState::Sent, true)]);
        assert_eq!(
            s.holder, "A",
            "a step transfer leaves the dossier with its holder"
        );
        assert!(s.reads("B"));
    }

    #[test]
    fn a_returned_dossier_goes_back() {
        use DossierState::*;
        assert_eq!(back_state(Transferred, Processing), Some(Processing));
        assert_eq!(back_state(Transferred, Received), Some(Received));
        assert_eq!(back_state(Processing, Received), None);
    }

    #[test]
    fn payload_round_trips_with_bytes_as_base64() {
        let d = PayloadDocument {
            slot: "s".into(),
            version: 1,
            name: "n".into(),
            media_type: "m".into(),
            sha256: "x".into(),
            content: vec![0, 1, 2, 255],
        };
        let text = serde_json::to_string(&d).unwrap();
        assert!(text.contains("\"AAEC/w==\""), "{text}");
        assert_eq!(serde_json::from_str::<PayloadDocument>(&text).unwrap(), d);
    }
}
