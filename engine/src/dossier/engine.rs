//! The engine's dossier methods: receive a dossier (instance and dossier in one start commit),
//! move it through the one-stop lifecycle, add document versions, certify documents into the
//! applicant's store and read documents back verified by their hash.
//!
//! Each change is one commit on the dossier's instance: the instance's state with `version + 1`
//! and one journal event (`dossier_state_changed`, `document_attached`, `document_certified`),
//! plus the dossier effects; the instance version check makes it safe against any concurrent
//! command. A commit that loses such a race is re-validated on fresh rows and tried again (at
//! most three times), so an unrelated task completion does not fail a dossier change.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::blobs::{BlobError, BlobStore};
use super::code;
use super::{
    Applicant, ApplicantDocument, ApplicantKind, CertifyInput, DocumentInput, DocumentRecord,
    DossierEffect, DossierRecord, DossierState, DossierView, NewApplicantDocument, NewDocument,
    NewDossier, SubmitDossier,
};
use crate::command::{Effect, Transition};
use crate::engine::{CommandOptions, Engine, Outcome};
use crate::error::EngineError;
use crate::event::{AttachedDocument, CertifiedDocument, Event};
use crate::ids::{DefinitionRef, InstanceId};
use crate::step;
use crate::store::Store;

/// How many times a dossier change is re-validated and re-committed after losing a race.
const ATTEMPTS: usize = 3;
/// How many times a submission is built again when its dossier number was taken meanwhile: more
/// than the submissions of one agency that can race within one moment.
const MAX_NUMBER_ATTEMPTS: usize = 64;

/// A document resolved from a [`DocumentInput`]: its bytes are stored (or it is a reuse).
#[derive(Debug, Clone)]
struct Resolved {
    slot: String,
    sha256: String,
    name: String,
    media_type: String,
    size: i64,
    reused_from: Option<String>,
}

impl Resolved {
    fn attached(&self, version: i32) -> AttachedDocument {
        AttachedDocument {
            slot: self.slot.clone(),
            version,
            sha256: self.sha256.clone(),
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: self.size,
            reused_from: self.reused_from.clone(),
        }
    }

    fn new_document(
        &self,
        instance: InstanceId,
        version: i32,
        added_by: Option<String>,
    ) -> NewDocument {
        NewDocument {
            instance,
            slot: self.slot.clone(),
            version,
            sha256: self.sha256.clone(),
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: self.size,
            added_by,
            reused_from: self.reused_from.clone(),
        }
    }
}

fn blob_error(e: BlobError) -> EngineError {
    match e {
        BlobError::NotFound(sha) => EngineError::NotFound {
            what: "document content",
            id: sha,
        },
        BlobError::InvalidHash(h) => EngineError::Invalid(format!("'{h}' is not a SHA-256")),
        tampered @ BlobError::Tampered { .. } => EngineError::Fatal(tampered.to_string()),
        BlobError::Io(e) => EngineError::Fatal(format!("document storage: {e}")),
    }
}

fn check_applicant(a: &Applicant) -> Result<(), EngineError> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match a.kind {
        ApplicantKind::CitizenId => a.id.len() == 12 && digits(&a.id),
        ApplicantKind::TaxCode => match a.id.split_once('-') {
            Some((head, branch)) => {
                head.len() == 10 && digits(head) && branch.len() == 3 && digits(branch)
            }
            None => (a.id.len() == 10 || a.id.len() == 13) && digits(&a.id),
        },
    };
    if !ok {
        return Err(EngineError::Invalid(match a.kind {
            ApplicantKind::CitizenId => format!(
                "số định danh cá nhân '{}' không hợp lệ: cần đúng 12 chữ số",
                a.id
            ),
            ApplicantKind::TaxCode => format!(
                "mã số thuế '{}' không hợp lệ: cần 10 hoặc 13 chữ số (hoặc dạng 0101234567-001)",
                a.id
            ),
        }));
    }
    if a.name.trim().is_empty() {
        return Err(EngineError::Invalid(
            "thiếu họ tên người nộp hồ sơ".to_owned(),
        ));
    }
    Ok(())
}

fn check_slot(slot: &str) -> Result<(), EngineError> {
    if slot.trim().is_empty() || slot.len() > 100 {
        return Err(EngineError::Invalid(
            "mỗi giấy tờ cần một thành phần hồ sơ (slot) không rỗng, tối đa 100 ký tự".to_owned(),
        ));
    }
    Ok(())
}

/// The latest version of each slot.
pub(crate) fn latest_versions(all: Vec<DocumentRecord>) -> Vec<DocumentRecord> {
    let mut out: Vec<DocumentRecord> = Vec::new();
    for d in all {
        match out.iter_mut().find(|o| o.slot == d.slot) {
            Some(o) if o.version < d.version => *o = d,
            Some(_) => {}
            None => out.push(d),
        }
    }
    out.sort_by(|a, b| a.slot.cmp(&b.slot));
    out
}

impl<S: Store> Engine<S> {
    /// Sets where dossier documents are stored. Without one, every call that reads or writes
    /// document bytes fails with `EngineError::Invalid("no document store configured")`.
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// The document store, if configured.
    pub fn blobs(&self) -> Option<&Arc<dyn BlobStore>> {
        self.blobs.as_ref()
    }

    fn blob_store(&self) -> Result<Arc<dyn BlobStore>, EngineError> {
        self.blobs
            .clone()
            .ok_or_else(|| EngineError::Invalid("no document store configured".into()))
    }

    pub(crate) async fn put_blob(&self, bytes: Vec<u8>) -> Result<String, EngineError> {
        let blobs = self.blob_store()?;
        tokio::task::spawn_blocking(move || blobs.put(&bytes))
            .await
            .map_err(|e| EngineError::Fatal(format!("document storage task: {e}")))?
            .map_err(blob_error)
    }

    pub(crate) async fn get_blob(&self, sha256: &str) -> Result<Vec<u8>, EngineError> {
        let blobs = self.blob_store()?;
        let sha256 = sha256.to_owned();
        tokio::task::spawn_blocking(move || blobs.get(&sha256))
            .await
            .map_err(|e| EngineError::Fatal(format!("document storage task: {e}")))?
            .map_err(blob_error)
    }

    /// Stores an upload's bytes, or checks a reuse: the applicant document must exist and
    /// belong to `owner` (its bytes are read back, verifying them, for the size).
    async fn resolve_document(
        &self,
        input: DocumentInput,
        owner: (ApplicantKind, &str),
    ) -> Result<Resolved, EngineError> {
        check_slot(input.slot())?;
        match input {
            DocumentInput::Upload {
                slot,
                name,
                media_type,
                bytes,
            } => {
                let size = bytes.len() as i64;
                let sha256 = self.put_blob(bytes).await?;
                Ok(Resolved {
                    slot,
                    sha256,
                    name,
                    media_type,
                    size,
                    reused_from: None,
                })
            }
            DocumentInput::Reuse {
                slot,
                applicant_document_id,
            } => {
                let doc = self
                    .store
                    .applicant_document(&applicant_document_id)
                    .await?
                    .ok_or_else(|| EngineError::NotFound {
                        what: "applicant document",
                        id: applicant_document_id.clone(),
                    })?;
                if doc.owner_kind != owner.0 || doc.owner_id != owner.1 {
                    return Err(EngineError::Rejected(format!(
                        "giấy tờ {applicant_document_id} không thuộc về người nộp hồ sơ này: chỉ chủ sở hữu mới được dùng lại giấy tờ đã số hóa"
                    )));
                }
                let size = self.get_blob(&doc.sha256).await?.len() as i64;
                Ok(Resolved {
                    slot,
                    sha256: doc.sha256,
                    name: doc.name,
                    media_type: doc.media_type,
                    size,
                    reused_from: Some(doc.id),
                })
            }
        }
    }

    /// Receives a dossier: stores the uploads' bytes, then writes in ONE transaction the new
    /// instance (the form data are its start variables), the dossier row with its code
    /// (allocated in that transaction), the document rows, the certified applicant documents
    /// and the journal. The blobs are written first: if the transaction then fails they are
    /// orphans (harmless, see [`crate::dossier::blobs`]).
    pub async fn submit_dossier(
        &self,
        request: SubmitDossier,
        options: CommandOptions,
    ) -> Result<DossierView, EngineError> {
        if !code::valid_agency(&request.agency_code) {
            return Err(EngineError::Invalid(format!(
                "mã cơ quan '{}' không hợp lệ: chỉ gồm chữ, số, '.' và '_' (tối đa 40 ký tự)",
                request.agency_code
            )));
        }
        check_applicant(&request.applicant)?;
        for (i, d) in request.documents.iter().enumerate() {
            if request.documents[..i].iter().any(|o| o.slot() == d.slot()) {
                return Err(EngineError::Invalid(format!(
                    "thành phần hồ sơ '{}' được nộp hai lần",
                    d.slot()
                )));
            }
        }
        for c in &request.certify {
            let is_upload = request
                .documents
                .iter()
                .any(|d| matches!(d, DocumentInput::Upload { slot, .. } if *slot == c.slot));
            if !is_upload {
                return Err(EngineError::Invalid(format!(
                    "chỉ chứng thực được giấy tờ tải lên trong lần nộp này: không có '{}'",
                    c.slot
                )));
            }
            if c.certify.doc_type.trim().is_empty() {
                return Err(EngineError::Invalid("thiếu loại giấy tờ (doc_type)".into()));
            }
        }
        let record = self
            .store
            .definition_record(&request.procedure_key, request.version)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "definition",
                id: match request.version {
                    Some(v) => format!("{} v{v}", request.procedure_key),
                    None => request.procedure_key.clone(),
                },
            })?;
        let applicant = request.applicant.clone();
        let mut resolved = Vec::with_capacity(request.documents.len());
        for d in request.documents {
            resolved.push(
                self.resolve_document(d, (applicant.kind, &applicant.id))
                    .await?,
            );
        }
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({
                "op": "submit_dossier",
                "key": request.procedure_key,
                "version": request.version,
                "agency": request.agency_code,
                "applicant": applicant,
                "data": request.data,
                "documents": resolved.iter().map(|r| json!([r.slot, r.sha256, r.name, r.media_type, r.reused_from])).collect::<Vec<_>>(),
                "due_at": request.due_at,
                "certify": request.certify.iter().map(|c| json!([c.slot, c.certify])).collect::<Vec<_>>(),
            })
        });
        if let Some(previous) = self.replay_answer(&options, &print).await? {
            return self.dossier_by_instance(previous.instance).await;
        }
        let def = DefinitionRef {
            key: record.key.clone(),
            version: record.version,
        };
        let model = self.model(&def).await?;
        let variables = self
            .check_start_form(model.start_form(), request.data)
            .await?;
        let now = self.clock.now();
        // The promised return date: the caller's, else the procedure's SLA in working days.
        let due_at = match (request.due_at, model.sla_working_days()) {
            (Some(d), _) => Some(d),
            (None, Some(days)) => Some(
                self.calendar()
                    .add_working_days(now, days)
                    .map_err(|e| EngineError::Invalid(format!("the procedure's SLA: {e}")))?,
            ),
            (None, None) => None,
        };
        let instance = InstanceId::new_v7();
        let data = serde_json::to_string(&variables)
            .map_err(|e| EngineError::Invalid(format!("form data: {e}")))?;
        let day = code::day_of(now);
        // The day's next number is read, then taken by the start commit; when another
        // submission took it meanwhile (a version conflict), the dossier is built again with
        // the next one. Each round one of the contenders wins, so this ends.
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let number = self
                .store
                .next_dossier_number(&request.agency_code, &day)
                .await?;
            let code = code::format_code(&request.agency_code, &day, number);
            let mut transition = step::start(
                &model,
                def.clone(),
                instance,
                None,
                variables.clone(),
                None,
                self.context(now),
            )?;
            let mut certified = Vec::new();
            let mut certified_effects = Vec::new();
            for c in &request.certify {
                let Some(doc) = resolved.iter().find(|r| r.slot == c.slot) else {
                    continue;
                };
                let (event, effect) = certification(
                    instance,
                    &applicant,
                    doc,
                    1,
                    c.certify.clone(),
                    &options,
                    now,
                );
                certified.push(event);
                certified_effects.push(effect);
            }
            transition.state.journal_seq += 1;
            transition.events.push(Event::DossierReceived {
                code: Some(code.clone()),
                agency: request.agency_code.clone(),
                applicant_kind: applicant.kind.as_str().to_owned(),
                applicant_id: applicant.id.clone(),
                applicant_name: applicant.name.clone(),
                due_at,
                documents: resolved.iter().map(|r| r.attached(1)).collect(),
                certified,
            });
            transition
                .effects
                .push(Effect::Dossier(DossierEffect::Created(NewDossier {
                    instance,
                    procedure_key: record.key.clone(),
                    procedure_version: record.version,
                    agency: request.agency_code.clone(),
                    day: day.clone(),
                    applicant: applicant.clone(),
                    received_at: now,
                    due_at,
                    data: data.clone(),
                    number,
                    code,
                })));
            for r in &resolved {
                transition
                    .effects
                    .push(Effect::Dossier(DossierEffect::DocumentAdded(
                        r.new_document(instance, 1, options.actor.clone()),
                    )));
            }
            transition.effects.extend(certified_effects);
            match self.commit(None, transition, &options, &print, now).await {
                Err(EngineError::Conflict(_)) if attempt < MAX_NUMBER_ATTEMPTS => continue,
                other => break other?,
            }
        };
        self.dossier_by_instance(outcome.instance).await
    }

    /// A dossier with the latest version of each document and its overdue flag.
    pub async fn dossier(&self, code: &str) -> Result<DossierView, EngineError> {
        let row = self.dossier_row(code).await?;
        self.view(row).await
    }

    /// The dossier of an instance.
    pub async fn dossier_by_instance(&self, id: InstanceId) -> Result<DossierView, EngineError> {
        let row =
            self.store
                .dossier_by_instance(id)
                .await?
                .ok_or_else(|| EngineError::NotFound {
                    what: "dossier",
                    id: format!("instance {id}"),
                })?;
        self.view(row).await
    }

    /// Every version of every document of a dossier, by slot then version.
    pub async fn dossier_documents(&self, code: &str) -> Result<Vec<DocumentRecord>, EngineError> {
        self.dossier_row(code).await?;
        Ok(self.store.dossier_documents(code).await?)
    }

    /// An applicant's certified documents (reusable in their later dossiers).
    pub async fn applicant_documents(
        &self,
        kind: ApplicantKind,
        id: &str,
    ) -> Result<Vec<ApplicantDocument>, EngineError> {
        Ok(self.store.applicant_documents(kind, id).await?)
    }

    /// Whether a dossier is past its promised return date at the engine clock's now and not
    /// yet done.
    pub fn is_overdue(&self, dossier: &DossierRecord) -> bool {
        !dossier.state.is_finished() && dossier.due_at.is_some_and(|d| d < self.clock.now())
    }

    pub(crate) async fn dossier_row(&self, code: &str) -> Result<DossierRecord, EngineError> {
        self.store
            .dossier(code)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "dossier",
                id: code.to_owned(),
            })
    }

    async fn view(&self, row: DossierRecord) -> Result<DossierView, EngineError> {
        let documents = latest_versions(self.store.dossier_documents(&row.code).await?);
        Ok(DossierView {
            overdue: self.is_overdue(&row),
            dossier: row,
            documents,
        })
    }

    /// Commits one dossier change on the instance's stored state: version + 1, one event.
    pub(crate) async fn commit_dossier_change(
        &self,
        instance: InstanceId,
        event: Event,
        effects: Vec<Effect>,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<Outcome, EngineError> {
        self.commit_dossier_events(instance, vec![event], effects, options, print)
            .await
    }

    /// Commits dossier events on the instance's stored state in one transaction: one journal
    /// row per event, and the version + 1 per event that is a command of its own
    /// ([`Event::dossier_command`]; those riding on one, like `exchange_sent`, add none), so
    /// that replay advances the state the same way.
    pub(crate) async fn commit_dossier_events(
        &self,
        instance: InstanceId,
        events: Vec<Event>,
        effects: Vec<Effect>,
        options: &CommandOptions,
        print: &Option<Value>,
    ) -> Result<Outcome, EngineError> {
        let state = self.instance(instance).await?;
        let expected = state.version;
        let mut next = state;
        for e in &events {
            next.journal_seq += 1;
            if e.dossier_command().or_else(|| e.directive_command()) != Some(false) {
                next.version += 1;
            }
        }
        let now = self.clock.now();
        let transition = Transition {
            state: next,
            events,
            effects,
        };
        self.commit(Some(expected), transition, options, print, now)
            .await
    }

    /// Moves a dossier to another state, if the lifecycle table allows it (else a conflict
    /// naming both states) and, with `expected_version`, only if the dossier is still at that
    /// version. Nothing changes on refusal.
    pub async fn transition_dossier(
        &self,
        code: &str,
        to: DossierState,
        reason: Option<String>,
        expected_version: Option<i64>,
        options: CommandOptions,
    ) -> Result<DossierView, EngineError> {
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({
                "op": "transition_dossier",
                "code": code,
                "to": to,
                "reason": reason,
                "expected_version": expected_version,
            })
        });
        if self.replay_answer(&options, &print).await?.is_some() {
            return self.dossier(code).await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            if let Some(expected) = expected_version {
                if expected != row.version {
                    return Err(EngineError::Conflict(format!(
                        "hồ sơ {code} đã được thay đổi (phiên bản {}, không phải {expected}): hãy tải lại",
                        row.version
                    )));
                }
            }
            let from = row.state;
            if !from.can_go_to(to) {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code}: không thể chuyển từ trạng thái '{from}' ({}) sang '{to}' ({})",
                    from.label(),
                    to.label()
                )));
            }
            let now = self.clock.now();
            let finished_at = (to.is_finished() && row.finished_at.is_none()).then_some(now);
            let event = Event::DossierStateChanged {
                from: from.as_str().to_owned(),
                to: to.as_str().to_owned(),
                reason: reason.clone(),
            };
            let mut events = vec![event];
            let mut effects = vec![Effect::Dossier(DossierEffect::Updated {
                instance: row.instance,
                expected_version: row.version,
                state: Some(to),
                finished_at,
                due_at: None,
            })];
            // A dossier received from a peer engine reports its new state to its origin.
            if let Some((sent, queued)) =
                self.status_for_origin(&row, to, reason.as_deref()).await?
            {
                events.push(sent);
                effects.extend(queued);
            }
            match self
                .commit_dossier_events(row.instance, events, effects, &options, &print)
                .await
            {
                Ok(_) => return self.dossier(code).await,
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves a dossier's promised return date (the agency is late: form 04 of Circular
    /// 01/2018 apologises and names the new date). Refused for a finished dossier.
    pub async fn reschedule_dossier(
        &self,
        code: &str,
        new_due: DateTime<Utc>,
        reason: String,
        options: CommandOptions,
    ) -> Result<DossierView, EngineError> {
        if reason.trim().is_empty() {
            return Err(EngineError::Invalid(
                "a new return date needs its reason (lý do chậm trễ)".into(),
            ));
        }
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({"op": "reschedule_dossier", "code": code, "due_at": new_due, "reason": reason})
        });
        if self.replay_answer(&options, &print).await?.is_some() {
            return self.dossier(code).await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            if row.state.is_finished() {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code} đã kết thúc ({}): không thể hẹn lại ngày trả",
                    row.state.label()
                )));
            }
            let event = Event::DossierRescheduled {
                from: row.due_at,
                to: new_due,
                reason: reason.clone(),
            };
            let effects = vec![Effect::Dossier(DossierEffect::Updated {
                instance: row.instance,
                expected_version: row.version,
                state: None,
                finished_at: None,
                due_at: Some(new_due),
            })];
            match self
                .commit_dossier_change(row.instance, event, effects, &options, &print)
                .await
            {
                Ok(_) => return self.dossier(code).await,
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Adds a document to a dossier: version n+1 of its slot (earlier versions stay). Allowed
    /// while the dossier is received, processing, or in a supplement request or receipt.
    pub async fn add_document(
        &self,
        code: &str,
        input: DocumentInput,
        options: CommandOptions,
    ) -> Result<DocumentRecord, EngineError> {
        let row = self.dossier_row(code).await?;
        let resolved = self
            .resolve_document(input, (row.applicant.kind, &row.applicant.id))
            .await?;
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({
                "op": "add_document",
                "code": code,
                "document": [resolved.slot, resolved.sha256, resolved.name, resolved.media_type, resolved.reused_from],
            })
        });
        if self.replay_answer(&options, &print).await?.is_some() {
            return self
                .store
                .dossier_documents(code)
                .await?
                .into_iter()
                .rev()
                .find(|d| d.slot == resolved.slot && d.sha256 == resolved.sha256)
                .ok_or_else(|| EngineError::NotFound {
                    what: "document",
                    id: format!("{code}/{}", resolved.slot),
                });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            if !row.state.accepts_documents() {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code} đang ở trạng thái '{}' ({}): không nhận thêm giấy tờ",
                    row.state,
                    row.state.label()
                )));
            }
            let version = self
                .store
                .dossier_documents(code)
                .await?
                .iter()
                .filter(|d| d.slot == resolved.slot)
                .map(|d| d.version)
                .max()
                .unwrap_or(0)
                + 1;
            let event = Event::DocumentAttached {
                document: resolved.attached(version),
            };
            let effects = vec![
                Effect::Dossier(DossierEffect::Updated {
                    instance: row.instance,
                    expected_version: row.version,
                    state: None,
                    finished_at: None,
                    due_at: None,
                }),
                Effect::Dossier(DossierEffect::DocumentAdded(resolved.new_document(
                    row.instance,
                    version,
                    options.actor.clone(),
                ))),
            ];
            match self
                .commit_dossier_change(row.instance, event, effects, &options, &print)
                .await
            {
                Ok(_) => {
                    return self
                        .store
                        .dossier_documents(code)
                        .await?
                        .into_iter()
                        .find(|d| d.slot == resolved.slot && d.version == version)
                        .ok_or_else(|| {
                            EngineError::Fatal(format!(
                                "document {code}/{}/v{version} vanished after its commit",
                                resolved.slot
                            ))
                        })
                }
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Certifies a document of a dossier (digitized at the counter) into its applicant's store,
    /// so their later dossiers can reuse it. The acting user is recorded as the certifier.
    pub async fn certify_document(
        &self,
        code: &str,
        slot: &str,
        version: i32,
        certify: CertifyInput,
        options: CommandOptions,
    ) -> Result<ApplicantDocument, EngineError> {
        if certify.doc_type.trim().is_empty() {
            return Err(EngineError::Invalid("thiếu loại giấy tờ (doc_type)".into()));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            let doc = self
                .store
                .dossier_documents(code)
                .await?
                .into_iter()
                .find(|d| d.slot == slot && d.version == version)
                .ok_or_else(|| EngineError::NotFound {
                    what: "document",
                    id: format!("{code}/{slot}/v{version}"),
                })?;
            if let Some(from) = &doc.reused_from {
                return Err(EngineError::Conflict(format!(
                    "giấy tờ {code}/{slot}/v{version} đã có trong kho giấy tờ của người nộp ({from})"
                )));
            }
            let resolved = Resolved {
                slot: doc.slot.clone(),
                sha256: doc.sha256.clone(),
                name: doc.name.clone(),
                media_type: doc.media_type.clone(),
                size: doc.size,
                reused_from: None,
            };
            let now = self.clock.now();
            let (event, effect) = certification(
                row.instance,
                &row.applicant,
                &resolved,
                version,
                certify.clone(),
                &options,
                now,
            );
            let id = event.applicant_document.clone();
            let effects = vec![
                Effect::Dossier(DossierEffect::Updated {
                    instance: row.instance,
                    expected_version: row.version,
                    state: None,
                    finished_at: None,
                    due_at: None,
                }),
                effect,
            ];
            let event = Event::DocumentCertified { certified: event };
            match self
                .commit_dossier_change(row.instance, event, effects, &options, &None)
                .await
            {
                Ok(_) => {
                    return self.store.applicant_document(&id).await?.ok_or_else(|| {
                        EngineError::NotFound {
                            what: "applicant document",
                            id,
                        }
                    })
                }
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// A document version's bytes, verified against its SHA-256: bytes changed on disk are an
    /// `EngineError::Fatal` saying the document was tampered with.
    pub async fn read_document(
        &self,
        code: &str,
        slot: &str,
        version: i32,
    ) -> Result<Vec<u8>, EngineError> {
        let doc = self
            .dossier_documents(code)
            .await?
            .into_iter()
            .find(|d| d.slot == slot && d.version == version)
            .ok_or_else(|| EngineError::NotFound {
                what: "document",
                id: format!("{code}/{slot}/v{version}"),
            })?;
        self.get_blob(&doc.sha256).await
    }
}

/// The journal record and the effect of certifying `doc` for `owner`.
fn certification(
    instance: InstanceId,
    owner: &Applicant,
    doc: &Resolved,
    version: i32,
    certify: CertifyInput,
    options: &CommandOptions,
    now: DateTime<Utc>,
) -> (CertifiedDocument, Effect) {
    let id = uuid::Uuid::now_v7().to_string();
    let event = CertifiedDocument {
        applicant_document: id.clone(),
        slot: doc.slot.clone(),
        version,
        doc_type: certify.doc_type.clone(),
        number: certify.number.clone(),
        sha256: doc.sha256.clone(),
    };
    let effect = Effect::Dossier(DossierEffect::ApplicantDocumentAdded(
        NewApplicantDocument {
            document: ApplicantDocument {
                id,
                owner_kind: owner.kind,
                owner_id: owner.id.clone(),
                doc_type: certify.doc_type,
                number: certify.number,
                issuer: certify.issuer,
                issued_on: certify.issued_on,
                sha256: doc.sha256.clone(),
                name: doc.name.clone(),
                media_type: doc.media_type.clone(),
                certified_by: options.actor.clone(),
                certified_at: now,
                source_dossier: None,
            },
            instance,
        },
    ));
    (event, effect)
}
