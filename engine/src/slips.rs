//! The printed slips of Circular 01/2018/TT-VPCP for a dossier: the engine's data (the dossier,
//! its procedure, its journal, the agency directory) mapped onto `motcua_forms::slips`, which
//! renders them. Forms 01–05 are per dossier; form 06 (the tracking register) is per agency and
//! period.
//!
//! Where each field comes from: the receipt (01) from the dossier row and the `dossier_received`
//! journal entry (the receiving officer is its actor); the supplement request (02) and the
//! refusal (03) from the latest journal entry moving the dossier to that state (its reason,
//! one item or reason per line, and its actor); the apology (04) from the latest rescheduling
//! of the return date; the control sheet (05) from the tasks in the journal (who completed which
//! step when, on time against the task's due date or not); the register (06) from the
//! agency's dossiers received in the period.

use std::str::FromStr;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};

use motcua_definitions::Process;
use motcua_forms::slips::{
    Agency as SlipAgency, Apology, Applicant as SlipApplicant, ControlRow, ControlSheet, Party,
    ReceiptSlip, Refusal, RegisterRow, Slip, SlipDocument, SupplementRequest, Timeliness,
    TrackingRegister,
};
use motcua_forms::templates::Templates;

use crate::agency::Agencies;
use crate::dossier::{DossierRecord, DossierState, DossierView};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::event::Event;
use crate::ids::DefinitionRef;
use crate::store::{JournalEntry, Store};

/// Which per-dossier form of Circular 01/2018.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlipForm {
    /// 01: receipt and appointment slip.
    Receipt,
    /// 02: supplement request.
    Supplement,
    /// 03: refusal.
    Refusal,
    /// 04: apology and new return date.
    Apology,
    /// 05: processing control sheet.
    ControlSheet,
}

impl FromStr for SlipForm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "01" | "1" | "receipt" => Ok(SlipForm::Receipt),
            "02" | "2" | "supplement" => Ok(SlipForm::Supplement),
            "03" | "3" | "refusal" => Ok(SlipForm::Refusal),
            "04" | "4" | "apology" => Ok(SlipForm::Apology),
            "05" | "5" | "control-sheet" | "control_sheet" => Ok(SlipForm::ControlSheet),
            other => Err(format!(
                "'{other}' is not a dossier form: use 01 (receipt), 02 (supplement), \
                 03 (refusal), 04 (apology) or 05 (control-sheet); the register (06) is per agency"
            )),
        }
    }
}

/// Vietnam time (UTC+7), as the slips print it.
fn vn(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&motcua_definitions::timer::vietnam())
}

fn slip_agency(a: crate::agency::Agency) -> SlipAgency {
    SlipAgency {
        name: a.name,
        parent: a.parent,
        address: a.address,
        phone: a.phone,
    }
}

fn slip_applicant(d: &DossierRecord) -> SlipApplicant {
    SlipApplicant {
        name: d.applicant.name.clone(),
        address: d.applicant.address.clone(),
        phone: d.applicant.phone.clone(),
        email: d.applicant.email.clone(),
        id_number: Some(d.applicant.id.clone()),
    }
}

/// Lines of a reason: one item each (empty lines dropped).
fn lines(reason: Option<&str>) -> Vec<String> {
    reason
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl<S: Store> Engine<S> {
    /// The same engine with an agency directory (names and addresses printed on slips).
    pub fn with_agencies(mut self, agencies: Agencies) -> Self {
        self.agencies = std::sync::Arc::new(agencies);
        self
    }

    /// The agency directory.
    pub fn agencies(&self) -> &Agencies {
        &self.agencies
    }

    /// The same engine rendering with these templates (built-in ones, overridden from a
    /// folder).
    pub fn with_templates(mut self, templates: Templates) -> Self {
        self.templates = std::sync::Arc::new(templates);
        self
    }

    /// The templates slips and forms are rendered with.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// A per-dossier form of Circular 01/2018, filled from the dossier and its journal.
    pub async fn dossier_slip(&self, code: &str, form: SlipForm) -> Result<Slip, EngineError> {
        let view = self.dossier(code).await?;
        let journal = self.journal(view.dossier.instance).await?;
        let model = self
            .model(&DefinitionRef {
                key: view.dossier.procedure_key.clone(),
                version: view.dossier.procedure_version,
            })
            .await?;
        let d = &view.dossier;
        let agency = self.agencies.get_or_code(&d.agency);
        let place = agency
            .address
            .clone()
            .unwrap_or_else(|| agency.name.clone());
        let procedure = model.name().unwrap_or(model.key().as_str()).to_owned();
        let return_at = vn(d.due_at.unwrap_or(d.received_at));
        let moved_to = |state: DossierState| {
            journal.iter().rev().find_map(|e| match &e.event {
                Event::DossierStateChanged { to, reason, .. } if to == state.as_str() => {
                    Some((e, reason.clone()))
                }
                _ => None,
            })
        };
        let missing = |what: &str| {
            EngineError::Conflict(format!(
                "dossier {code} has no {what}: the form cannot be filled yet"
            ))
        };
        Ok(match form {
            SlipForm::Receipt => Slip::Receipt(ReceiptSlip {
                agency: slip_agency(agency.clone()),
                code: d.code.clone(),
                applicant: slip_applicant(d),
                procedure,
                documents: receipt_documents(&view, &model),
                processing_days: model.sla_working_days().map_or(0, |d| d.ceil() as u32),
                received_at: vn(d.received_at),
                return_at,
                return_place: agency.name.clone(),
                officer: receiving_officer(&journal).unwrap_or_default(),
            }),
            SlipForm::Supplement => {
                let (entry, reason) = moved_to(DossierState::SupplementRequested)
                    .ok_or_else(|| missing("supplement request"))?;
                Slip::Supplement(SupplementRequest {
                    agency: slip_agency(agency.clone()),
                    code: d.code.clone(),
                    applicant: slip_applicant(d),
                    procedure,
                    items: lines(reason.as_deref()),
                    reason: reason.clone().unwrap_or_default(),
                    officer: entry.actor.clone().unwrap_or_default(),
                    contact_phone: agency.phone.clone(),
                    place,
                    issued_at: vn(entry.at),
                })
            }
            SlipForm::Refusal => {
                let (entry, reason) =
                    moved_to(DossierState::Refused).ok_or_else(|| missing("refusal"))?;
                Slip::Refusal(Refusal {
                    agency: slip_agency(agency.clone()),
                    code: d.code.clone(),
                    applicant: slip_applicant(d),
                    procedure,
                    reasons: lines(reason.as_deref()),
                    officer: entry.actor.clone().unwrap_or_default(),
                    place,
                    issued_at: vn(entry.at),
                })
            }
            SlipForm::Apology => {
                let (entry, from, to, reason) = journal
                    .iter()
                    .rev()
                    .find_map(|e| match &e.event {
                        Event::DossierRescheduled { from, to, reason } => {
                            Some((e, *from, *to, reason.clone()))
                        }
                        _ => None,
                    })
                    .ok_or_else(|| missing("new return date"))?;
                Slip::Apology(Apology {
                    agency: slip_agency(agency.clone()),
                    code: d.code.clone(),
                    applicant: slip_applicant(d),
                    procedure,
                    received_at: vn(d.received_at),
                    original_return_at: vn(from.unwrap_or(d.received_at)),
                    reason,
                    new_return_at: vn(to),
                    apology: None,
                    signer: entry.actor.clone().unwrap_or_default(),
                    signer_title: None,
                    place,
                    issued_at: vn(entry.at),
                })
            }
            SlipForm::ControlSheet => Slip::ControlSheet(ControlSheet {
                agency: slip_agency(agency.clone()),
                code: d.code.clone(),
                applicant: slip_applicant(d),
                procedure,
                received_at: vn(d.received_at),
                return_at,
                lead_agency: Some(agency.name.clone()),
                coordinating_agencies: Vec::new(),
                rows: self.control_rows(&journal, &model, &agency.name).await?,
            }),
        })
    }

    /// Form 06, the tracking register: the dossiers `agency` received from `from` to `to`
    /// (Vietnam dates, both included).
    pub async fn dossier_register(
        &self,
        agency: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Slip, EngineError> {
        if to < from {
            return Err(EngineError::Invalid(format!(
                "the period ends ({to}) before it starts ({from})"
            )));
        }
        let start = crate::calendar::from_local(from.and_time(NaiveTime::MIN));
        let end = crate::calendar::from_local(to.and_time(NaiveTime::MIN)) + Duration::days(1);
        let dossiers = self.store.dossiers_received(agency, start, end).await?;
        let directory = self.agencies.get_or_code(agency);
        let mut rows = Vec::with_capacity(dossiers.len());
        for d in dossiers {
            let journal = self.journal(d.instance).await?;
            let when = |state: DossierState| {
                journal.iter().find_map(|e| match &e.event {
                    Event::DossierStateChanged { to, .. } if to == state.as_str() => Some(vn(e.at)),
                    _ => None,
                })
            };
            let procedure = match self
                .model(&DefinitionRef {
                    key: d.procedure_key.clone(),
                    version: d.procedure_version,
                })
                .await
            {
                Ok(m) => m.name().unwrap_or(&d.procedure_key).to_owned(),
                Err(_) => d.procedure_key.clone(),
            };
            rows.push(RegisterRow {
                code: d.code.clone(),
                procedure,
                sets: 1,
                applicant: d.applicant.name.clone(),
                contact: d.applicant.phone.clone().or(d.applicant.address.clone()),
                lead_agency: Some(directory.name.clone()),
                received_at: vn(d.received_at),
                return_at: vn(d.due_at.unwrap_or(d.received_at)),
                transferred_at: when(DossierState::Transferred),
                result_at: when(DossierState::Done),
                returned_at: when(DossierState::ResultReturned),
                note: (d.state != DossierState::ResultReturned).then(|| d.state.label().to_owned()),
            });
        }
        Ok(Slip::Register(TrackingRegister {
            agency: slip_agency(directory),
            period: Some(format!(
                "Từ ngày {} đến ngày {}",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            )),
            rows,
        }))
    }

    /// Form 05's rows: each completed user task is a handover from whoever completed it to the
    /// next step, on time or late against the task's own due date.
    async fn control_rows(
        &self,
        journal: &[JournalEntry],
        model: &Process,
        agency: &str,
    ) -> Result<Vec<ControlRow>, EngineError> {
        let step_name = |node: &str| {
            model
                .node_by_id(node)
                .and_then(|i| model.node(i).name.clone())
                .unwrap_or_else(|| node.to_owned())
        };
        let mut rows: Vec<ControlRow> = Vec::new();
        let mut holder = Party {
            agency: agency.to_owned(),
            person: receiving_officer(journal),
        };
        for e in journal {
            match &e.event {
                Event::TaskCreated { node, .. } => {
                    // The handover into this step.
                    rows.push(ControlRow {
                        from: holder.clone(),
                        to: Party {
                            agency: step_name(node),
                            person: None,
                        },
                        at: vn(e.at),
                        outcome: None,
                        note: None,
                    });
                }
                Event::TaskCompleted { task, node, .. } => {
                    let due = self.task(*task).await.ok().and_then(|t| t.record.due_at);
                    let outcome = due.map(|due| match e.at.cmp(&due) {
                        std::cmp::Ordering::Greater => Timeliness::Late,
                        _ if due - e.at >= Duration::hours(24) => Timeliness::Early,
                        _ => Timeliness::OnTime,
                    });
                    holder = Party {
                        agency: step_name(node),
                        person: e.actor.clone(),
                    };
                    // The step's result: who handed it on, when, on time or not.
                    if let Some(last) = rows.last_mut() {
                        if last.to.agency == step_name(node) && last.outcome.is_none() {
                            last.to.person = e.actor.clone();
                            last.note = Some(format!(
                                "hoàn thành lúc {}",
                                vn(e.at).format("%H:%M %d/%m/%Y")
                            ));
                            last.outcome = outcome;
                            continue;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(rows)
    }
}

/// Who received the dossier: the actor of its `dossier_received` entry.
fn receiving_officer(journal: &[JournalEntry]) -> Option<String> {
    journal.iter().find_map(|e| match e.event {
        Event::DossierReceived { .. } => e.actor.clone(),
        _ => None,
    })
}

/// The receipt's list: the documents on file, named as the procedure names their slots.
fn receipt_documents(view: &DossierView, model: &Process) -> Vec<SlipDocument> {
    view.documents
        .iter()
        .map(|doc| {
            let name = model
                .documents()
                .iter()
                .find(|r| r.slot == doc.slot)
                .map_or_else(|| doc.name.clone(), |r| r.name.clone());
            SlipDocument {
                name,
                kind: if doc.reused_from.is_some() {
                    "Bản điện tử đã số hóa (dùng lại)".to_owned()
                } else {
                    "Bản điện tử".to_owned()
                },
                copies: 1,
            }
        })
        .collect()
}
