//! The national public-service portal feed (Cổng Dịch vụ công quốc gia, issue #9 part 5): a
//! dossier and its progress mapped to the portal's dossier-sync fields, and the outbound
//! subscription that posts the mapping on each dossier change.
//!
//! [`map_dossier`] is a pure function (no I/O, no clock): a [`PortalInput`] (the dossier row,
//! the procedure's code and name, its journal with the names of its steps, its transfers) in,
//! a [`PortalRecord`] out. [`Engine::portal_sync`] gathers the input. The mapping:
//!
//! | portal field | from |
//! | --- | --- |
//! | `MaHoSo` | the dossier code |
//! | `MaTTHC` | the procedure's national code, `motcua:procedureCode` on the BPMN process; the definition key when absent |
//! | `TenTTHC` | the process name (the definition key when it has none) |
//! | `MaCoQuan` | the agency that received the dossier |
//! | `ChuHoSo`, `SoGiayToChuHoSo` | the applicant's name, citizen id or tax code |
//! | `NgayTiepNhan` | received at |
//! | `NgayHenTra` | the promised return date (after any rescheduling) |
//! | `NgayTra` | when the result was handed over (`result_returned`), else when it was refused or cancelled; empty before |
//! | `TrangThaiHoSo` | [`portal_status`] of the one-stop state |
//! | `QuaTrinhXuLy` | one entry per dossier event and completed step of the journal: `NguoiXuLy` (the actor), `ChucDanh` (the actor's title when known: motcua does not know titles yet, so empty), `ThoiDiemXuLy`, `NoiDungXuLy` (Vietnamese text) |
//!
//! Every date is `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh (UTC+7, no daylight saving), empty when
//! absent.
//!
//! `TrangThaiHoSo`, as commonly used by provincial one-stop systems syncing to the national
//! portal (1 mới đăng ký, 2 được tiếp nhận, 3 không được tiếp nhận, 4 đang xử lý, 5 yêu cầu bổ
//! sung giấy tờ, 6 yêu cầu thực hiện nghĩa vụ tài chính, 7 công dân yêu cầu rút hồ sơ, 8 dừng
//! xử lý, 9 đã xử lý xong, 10 đã trả kết quả). Rows marked (?) are motcua's choice where the
//! list has no exact match; check them against the portal's current integration document:
//!
//! | motcua state | code |
//! | --- | --- |
//! | `received` | 2 |
//! | `processing` | 4 |
//! | `supplement_requested` | 5 |
//! | `supplement_received` | 4 (?) |
//! | `transferred` | 4 (?) — liên thông is still processing |
//! | `done` | 9 |
//! | `result_returned` | 10 |
//! | `refused` straight from `received` | 3 |
//! | `refused` later | 8 (?) |
//! | `cancelled` | 7 (?) |
//!
//! The feed ([`Engine::subscribe_portal_sync`]) is a webhook subscription of the dossier event
//! kinds ([`PORTAL_KINDS`]) whose id derives from its URL ([`portal_subscription_id`]): the
//! delivery loop of the API crate (at least once, in order, with back-off) posts the dossier's
//! mapping, as of delivery, instead of the raw event. The portal upserts by `MaHoSo`.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::dossier::{DossierRecord, DossierState, TransferRecord};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::event::Event;
use crate::ids::InstanceId;
use crate::store::{JournalEntry, Store};
use crate::webhooks::NewWebhook;

/// The journal event kinds that change what the portal shows.
pub const PORTAL_KINDS: &[&str] = &[
    "dossier_received",
    "dossier_state_changed",
    "dossier_rescheduled",
    "document_attached",
    "dossier_transferred",
    "transfer_accepted",
    "transfer_returned",
    "task_completed",
];

/// One progress entry (QuaTrinhXuLy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalProgress {
    /// Who (the journal's actor; empty for the system).
    #[serde(rename = "NguoiXuLy")]
    pub nguoi_xu_ly: String,
    /// Their title, when known (empty: motcua keeps no titles yet).
    #[serde(rename = "ChucDanh")]
    pub chuc_danh: String,
    /// When, `yyyyMMddHHmmss` UTC+7.
    #[serde(rename = "ThoiDiemXuLy")]
    pub thoi_diem_xu_ly: String,
    /// What was done (Vietnamese).
    #[serde(rename = "NoiDungXuLy")]
    pub noi_dung_xu_ly: String,
}

/// A dossier as the national portal's sync takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalRecord {
    /// The dossier code.
    #[serde(rename = "MaHoSo")]
    pub ma_ho_so: String,
    /// The national procedure code (or the definition key).
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    /// The procedure's name.
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    /// The receiving agency's code.
    #[serde(rename = "MaCoQuan")]
    pub ma_co_quan: String,
    /// The applicant's name.
    #[serde(rename = "ChuHoSo")]
    pub chu_ho_so: String,
    /// The applicant's citizen id or tax code.
    #[serde(rename = "SoGiayToChuHoSo")]
    pub so_giay_to_chu_ho_so: String,
    /// Received at, `yyyyMMddHHmmss` UTC+7.
    #[serde(rename = "NgayTiepNhan")]
    pub ngay_tiep_nhan: String,
    /// Promised return date (empty when none).
    #[serde(rename = "NgayHenTra")]
    pub ngay_hen_tra: String,
    /// The status code ([`portal_status`]), as text.
    #[serde(rename = "TrangThaiHoSo")]
    pub trang_thai_ho_so: String,
    /// When the result was returned (or the dossier refused or cancelled); empty before.
    #[serde(rename = "NgayTra")]
    pub ngay_tra: String,
    /// Progress, oldest first.
    #[serde(rename = "QuaTrinhXuLy")]
    pub qua_trinh_xu_ly: Vec<PortalProgress>,
}

/// What the mapping reads.
#[derive(Debug, Clone)]
pub struct PortalInput<'a> {
    /// The dossier row.
    pub dossier: &'a DossierRecord,
    /// `motcua:procedureCode` of the process, if any.
    pub procedure_code: Option<&'a str>,
    /// The process name, if any.
    pub procedure_name: Option<&'a str>,
    /// The instance's journal, in order.
    pub journal: &'a [JournalEntry],
    /// The names of the steps (user tasks) by node id, as the model names them.
    pub step_names: &'a BTreeMap<String, String>,
    /// The dossier's transfers.
    pub transfers: &'a [TransferRecord],
}

/// `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh (UTC+7).
pub fn portal_date(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => at.with_timezone(&offset).format("%Y%m%d%H%M%S").to_string(),
        None => at.format("%Y%m%d%H%M%S").to_string(),
    }
}

/// The portal's status code of a one-stop state (see the module's table). `refused_at_intake`:
/// the dossier was refused straight from `received`.
pub fn portal_status(state: DossierState, refused_at_intake: bool) -> u8 {
    match state {
        DossierState::Received => 2,
        DossierState::Processing => 4,
        DossierState::SupplementRequested => 5,
        DossierState::SupplementReceived => 4,
        DossierState::Transferred => 4,
        DossierState::Done => 9,
        DossierState::ResultReturned => 10,
        DossierState::Refused if refused_at_intake => 3,
        DossierState::Refused => 8,
        DossierState::Cancelled => 7,
    }
}

fn label(state: &str) -> String {
    DossierState::parse(state)
        .map(|s| s.label().to_owned())
        .unwrap_or_else(|| state.to_owned())
}

/// The progress text of a journal event, if it is one the portal shows.
fn progress_text(
    entry: &JournalEntry,
    step_names: &BTreeMap<String, String>,
    transfers: &[TransferRecord],
) -> Option<String> {
    let with_reason = |text: String, reason: &Option<String>| match reason {
        Some(r) if !r.trim().is_empty() => format!("{text}. Lý do: {r}"),
        _ => text,
    };
    Some(match &entry.event {
        Event::DossierReceived { .. } => "Tiếp nhận hồ sơ".to_owned(),
        Event::DossierStateChanged { from, to, reason } => with_reason(
            format!("Chuyển trạng thái: {} → {}", label(from), label(to)),
            reason,
        ),
        Event::DossierRescheduled { to, reason, .. } => format!(
            "Hẹn lại ngày trả kết quả: {}. Lý do: {reason}",
            portal_date(*to)
        ),
        Event::DocumentAttached { document } => {
            format!(
                "Bổ sung giấy tờ: {} (lần {})",
                document.slot, document.version
            )
        }
        Event::DossierTransferred {
            to_agency, reason, ..
        } => format!("Chuyển liên thông đến {to_agency}. Lý do: {reason}"),
        Event::TransferAccepted { transfer } => {
            let to = transfers
                .iter()
                .find(|t| &t.id == transfer)
                .map(|t| t.to_agency.as_str())
                .unwrap_or("cơ quan nhận");
            format!("{to} tiếp nhận hồ sơ liên thông")
        }
        Event::TransferReturned {
            transfer, reason, ..
        } => {
            let to = transfers
                .iter()
                .find(|t| &t.id == transfer)
                .map(|t| t.to_agency.as_str())
                .unwrap_or("cơ quan nhận");
            format!("{to} trả lại hồ sơ liên thông. Lý do: {reason}")
        }
        Event::TaskCompleted { node, .. } => {
            format!("Hoàn thành bước: {}", step_names.get(node).unwrap_or(node))
        }
        _ => return None,
    })
}

/// Maps a dossier and its journal to the portal's sync record (pure).
pub fn map_dossier(input: &PortalInput<'_>) -> PortalRecord {
    let d = input.dossier;
    let mut refused_at_intake = false;
    let mut progress = Vec::new();
    for entry in input.journal {
        if let Event::DossierStateChanged { from, to, .. } = &entry.event {
            if to == DossierState::Refused.as_str() {
                refused_at_intake = from == DossierState::Received.as_str();
            }
        }
        if let Some(text) = progress_text(entry, input.step_names, input.transfers) {
            progress.push(PortalProgress {
                nguoi_xu_ly: entry.actor.clone().unwrap_or_default(),
                chuc_danh: String::new(),
                thoi_diem_xu_ly: portal_date(entry.at),
                noi_dung_xu_ly: text,
            });
        }
    }
    // NgayTra: the hand-over of the result; for a refusal or a cancellation, its moment.
    let returned_at = input
        .journal
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            Event::DossierStateChanged { to, .. }
                if to == DossierState::ResultReturned.as_str()
                    || to == DossierState::Refused.as_str()
                    || to == DossierState::Cancelled.as_str() =>
            {
                Some(e.at)
            }
            _ => None,
        })
        .filter(|_| {
            matches!(
                d.state,
                DossierState::ResultReturned | DossierState::Refused | DossierState::Cancelled
            )
        });
    PortalRecord {
        ma_ho_so: d.code.clone(),
        ma_tthc: input
            .procedure_code
            .map(str::to_owned)
            .unwrap_or_else(|| d.procedure_key.clone()),
        ten_tthc: input
            .procedure_name
            .map(str::to_owned)
            .unwrap_or_else(|| d.procedure_key.clone()),
        ma_co_quan: d.agency.clone(),
        chu_ho_so: d.applicant.name.clone(),
        so_giay_to_chu_ho_so: d.applicant.id.clone(),
        ngay_tiep_nhan: portal_date(d.received_at),
        ngay_hen_tra: d.due_at.map(portal_date).unwrap_or_default(),
        trang_thai_ho_so: portal_status(d.state, refused_at_intake).to_string(),
        ngay_tra: returned_at.map(portal_date).unwrap_or_default(),
        qua_trinh_xu_ly: progress,
    }
}

/// The id of the portal feed's subscription to `url` (derived from it, so the delivery loop
/// recognises it and a restart finds it again).
pub fn portal_subscription_id(url: &str) -> String {
    crate::webhooks::subscription_id_for_key(&portal_key(url.trim()))
}

fn portal_key(url: &str) -> String {
    format!("portal-sync:{url}")
}

impl<S: Store> Engine<S> {
    /// A dossier mapped to the national portal's sync record.
    pub async fn portal_sync(&self, code: &str) -> Result<PortalRecord, EngineError> {
        let row = self.dossier_row(code).await?;
        self.portal_record(row).await
    }

    /// The portal record of an instance's dossier (`NotFound` when it has none).
    pub async fn portal_sync_by_instance(
        &self,
        instance: InstanceId,
    ) -> Result<PortalRecord, EngineError> {
        let row = self
            .store
            .dossier_by_instance(instance)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "dossier",
                id: format!("instance {instance}"),
            })?;
        self.portal_record(row).await
    }

    async fn portal_record(&self, row: DossierRecord) -> Result<PortalRecord, EngineError> {
        let state = self.instance(row.instance).await?;
        let model = self.model(&state.definition).await?;
        let journal = self.journal(row.instance).await?;
        let transfers = self.store.dossier_transfers(&row.code).await?;
        let mut step_names = BTreeMap::new();
        for entry in &journal {
            if let Event::TaskCompleted { node, .. } = &entry.event {
                if let Some(name) = model
                    .node_by_id(node)
                    .and_then(|i| model.node(i).name.clone())
                {
                    step_names.insert(node.clone(), name);
                }
            }
        }
        Ok(map_dossier(&PortalInput {
            dossier: &row,
            procedure_code: model.procedure_code(),
            procedure_name: model.name(),
            journal: &journal,
            step_names: &step_names,
            transfers: &transfers,
        }))
    }

    /// Subscribes the portal feed to `url` (idempotent: the same URL gives back the same
    /// subscription, its cursor kept): the dossier event kinds from now on, each delivered as
    /// the dossier's [`PortalRecord`], signed with `secret` like any webhook.
    pub async fn subscribe_portal_sync(
        &self,
        url: &str,
        secret: String,
    ) -> Result<crate::store::WebhookRow, EngineError> {
        self.subscribe_webhook(NewWebhook {
            url: url.trim().to_owned(),
            secret,
            kinds: Some(PORTAL_KINDS.iter().map(|k| (*k).to_owned()).collect()),
            agency: None,
            after: None,
            idempotency_key: Some(portal_key(url.trim())),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_vietnam_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 5).unwrap();
        assert_eq!(portal_date(at), "20261125013005");
    }

    #[test]
    fn statuses() {
        use DossierState::*;
        assert_eq!(portal_status(Received, false), 2);
        assert_eq!(portal_status(Refused, true), 3);
        assert_eq!(portal_status(Refused, false), 8);
        assert_eq!(portal_status(ResultReturned, false), 10);
    }
}
