//! Dossiers (hồ sơ): an instance of a procedure received at the one-stop counter — the applicant,
//! the dossier code, the documents (content-addressed blobs, SHA-256), the form data and the
//! one-stop state.
//!
//! - [`code`]: dossier codes per Circular 01/2018/TT-VPCP art. 19 (`<agency>-YYMMDD-NNNN`).
//! - [`lifecycle`]: the one-stop states and the one table of allowed transitions.
//! - [`blobs`]: the [`BlobStore`] documents live in (hash-verified on every read).
//! - [`engine`]: the `Engine` methods (submit, transition, documents, certification).
//!
//! Every dossier change is a journal event of the dossier's instance, written in the same
//! transaction as the rows it changes (an [`crate::command::Effect::Dossier`] on the instance's
//! commit, version-checked like any command). The dossier is created by the START commit of
//! its instance, so the instance and the dossier exist together or not at all.
//!
//! The dossier code's number is read before the start commit and taken inside it (a per-agency,
//! per-day counter row moved from `number - 1` to `number`); a number taken meanwhile is a
//! version conflict and the submission is built again with the next one. So the
//! `dossier_received` event carries its code when it is written, and the journal row is hashed
//! into the instance's chain exactly as stored (see [`crate::chain`]). The dossier row
//! (`dossiers.instance_id`) is the link from the instance to its dossier.

pub mod blobs;
pub mod code;
pub mod engine;
pub mod lifecycle;
pub mod transfer;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::InstanceId;

pub use blobs::{BlobError, BlobStore, FolderBlobStore};
pub use lifecycle::DossierState;
pub use transfer::{
    DossierScope, PayloadDocument, ReroutedTask, TransferDocument, TransferPayload, TransferRecord,
    TransferRequest, TransferState,
};

/// How an applicant is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// A citizen, by the 12-digit citizen identity number (CCCD / số định danh cá nhân).
    CitizenId,
    /// An organisation, by its tax code (mã số thuế).
    TaxCode,
}

impl ApplicantKind {
    /// `citizen_id` or `tax_code`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicantKind::CitizenId => "citizen_id",
            ApplicantKind::TaxCode => "tax_code",
        }
    }

    /// Reads the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "citizen_id" => Some(ApplicantKind::CitizenId),
            "tax_code" => Some(ApplicantKind::TaxCode),
            _ => None,
        }
    }
}

/// The person or organisation that submits a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// How `id` identifies them.
    pub kind: ApplicantKind,
    /// The citizen id or tax code.
    pub id: String,
    /// Full name (or the organisation's name).
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
}

/// A document given with a submission or a supplement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentInput {
    /// New bytes.
    Upload {
        /// The procedure's document slot (e.g. `to-khai`, `giay-chung-sinh`).
        slot: String,
        /// The file name.
        name: String,
        /// MIME type.
        media_type: String,
        /// The content.
        bytes: Vec<u8>,
    },
    /// A document already digitized and certified for the same applicant ("submit paper once").
    Reuse {
        /// The slot it fills.
        slot: String,
        /// The applicant document's id.
        applicant_document_id: String,
    },
}

impl DocumentInput {
    /// The slot it fills.
    pub fn slot(&self) -> &str {
        match self {
            DocumentInput::Upload { slot, .. } | DocumentInput::Reuse { slot, .. } => slot,
        }
    }
}

/// Certification of a digitized document into its owner's store (done at the counter).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CertifyInput {
    /// The kind of paper (e.g. `giay-khai-sinh`, `cccd`).
    pub doc_type: String,
    /// Its number, if it has one.
    pub number: Option<String>,
    /// Who issued it.
    pub issuer: Option<String>,
    /// When it was issued.
    pub issued_on: Option<NaiveDate>,
}

/// At submission: certify the document uploaded into `slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifySlot {
    /// The slot of an upload of the same submission.
    pub slot: String,
    /// What it is.
    pub certify: CertifyInput,
}

/// What a submission at the counter carries.
#[derive(Debug, Clone)]
pub struct SubmitDossier {
    /// The procedure (definition key).
    pub procedure_key: String,
    /// A definition version, or the latest.
    pub version: Option<i32>,
    /// The receiving agency's code (e.g. `000.00.01.H22`): letters, digits, `.` and `_`.
    pub agency_code: String,
    /// Who submits.
    pub applicant: Applicant,
    /// The form data; it becomes the instance's start variables.
    pub data: Map<String, Value>,
    /// Documents.
    pub documents: Vec<DocumentInput>,
    /// The promised return date.
    pub due_at: Option<DateTime<Utc>>,
    /// Uploads to certify into the applicant's store at once.
    pub certify: Vec<CertifySlot>,
}

/// A stored dossier row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierRecord {
    /// The dossier code.
    pub code: String,
    /// Its instance.
    pub instance: InstanceId,
    /// Procedure (definition key).
    pub procedure_key: String,
    /// Definition version.
    pub procedure_version: i32,
    /// Receiving agency.
    pub agency: String,
    /// Applicant.
    pub applicant: Applicant,
    /// One-stop state.
    pub state: DossierState,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Promised return date.
    pub due_at: Option<DateTime<Utc>>,
    /// When it reached done, refused or cancelled.
    pub finished_at: Option<DateTime<Utc>>,
    /// Form data as submitted.
    pub data: Map<String, Value>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version (1 at receipt, +1 per change).
    pub version: i64,
}

/// One version of a document of a dossier (read from its row by column name on both
/// databases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DocumentRecord {
    /// The dossier.
    pub dossier_code: String,
    /// The slot.
    pub slot: String,
    /// Version within the slot, from 1.
    pub version: i32,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// When.
    pub added_at: DateTime<Utc>,
    /// Who.
    pub added_by: Option<String>,
    /// The applicant document reused instead of an upload.
    pub reused_from: Option<String>,
}

/// A document digitized and certified at the counter, linked to its owner's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantDocument {
    /// Id (UUID v7).
    pub id: String,
    /// Owner identity kind.
    pub owner_kind: ApplicantKind,
    /// Owner id.
    pub owner_id: String,
    /// Kind of paper (`giay-khai-sinh`, `cccd`, ...).
    pub doc_type: String,
    /// Its number.
    pub number: Option<String>,
    /// Issuer.
    pub issuer: Option<String>,
    /// Issue date.
    pub issued_on: Option<NaiveDate>,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// The civil servant who certified it.
    pub certified_by: Option<String>,
    /// When.
    pub certified_at: DateTime<Utc>,
    /// The dossier it was digitized from.
    pub source_dossier: Option<String>,
}

/// A dossier as callers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierView {
    /// The row.
    pub dossier: DossierRecord,
    /// The latest version of each slot, by slot.
    pub documents: Vec<DocumentRecord>,
    /// Past its promised return date and not yet done (computed with the engine clock).
    pub overdue: bool,
}

/// The new dossier row written by an instance's start commit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDossier {
    /// Its instance.
    pub instance: InstanceId,
    /// Procedure.
    pub procedure_key: String,
    /// Definition version.
    pub procedure_version: i32,
    /// Agency code.
    pub agency: String,
    /// The day of receipt, Vietnam time, `YYMMDD` (the counter's key with the agency).
    pub day: String,
    /// Applicant.
    pub applicant: Applicant,
    /// Received at.
    pub received_at: DateTime<Utc>,
    /// Promised return date.
    pub due_at: Option<DateTime<Utc>>,
    /// Form data (JSON text).
    pub data: String,
    /// The day's number the engine read for it (the store takes it, or fails with a conflict).
    pub number: i64,
    /// The code: agency, day and number.
    pub code: String,
}

/// A new document version, addressed by the dossier's instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    /// The dossier's instance.
    pub instance: InstanceId,
    /// Slot.
    pub slot: String,
    /// Version.
    pub version: i32,
    /// SHA-256.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// Who added it.
    pub added_by: Option<String>,
    /// The applicant document reused.
    pub reused_from: Option<String>,
}

/// A new applicant document; `source_dossier` is the dossier of `instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplicantDocument {
    /// The record (its `source_dossier` is ignored: the store reads it from `instance`).
    pub document: ApplicantDocument,
    /// The dossier's instance.
    pub instance: InstanceId,
}

/// A dossier change the store writes with the instance's commit.
#[derive(Debug, Clone, PartialEq)]
pub enum DossierEffect {
    /// Allocate the code (counter upsert), insert the row, fill the code into the journal.
    Created(NewDossier),
    /// Bump the dossier's version (refused unless it is `expected_version`), optionally moving
    /// it to a new state.
    Updated {
        /// The dossier's instance.
        instance: InstanceId,
        /// The version read.
        expected_version: i64,
        /// The new state, if it changes.
        state: Option<DossierState>,
        /// Set when the new state finishes the dossier.
        finished_at: Option<DateTime<Utc>>,
        /// A new promised return date, if it moves.
        due_at: Option<DateTime<Utc>>,
    },
    /// A document version.
    DocumentAdded(NewDocument),
    /// A certified document in the owner's store.
    ApplicantDocumentAdded(NewApplicantDocument),
    /// A verified signature over a document version (its row in `dossier_signatures`).
    SignatureAdded(NewSignature),
    /// A transfer to another agency (its row in `dossier_transfers`).
    TransferSent(TransferRecord),
    /// A transfer accepted or returned: refused (a version conflict) unless it is still sent.
    TransferDecided {
        /// The transfer.
        id: String,
        /// Accepted or returned.
        state: TransferState,
        /// Who decided.
        decided_by: Option<String>,
        /// Why it was returned.
        returned_reason: Option<String>,
    },
}

/// A new signature row, addressed by the dossier's instance (its `dossier_code` is ignored:
/// the store reads it from `instance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSignature {
    /// The dossier's instance.
    pub instance: InstanceId,
    /// The row.
    pub record: SignatureRecord,
}

/// A signature over one document version of a dossier, verified before it was stored (read
/// from its row by column name on both databases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SignatureRecord {
    /// Id (UUID v7).
    pub id: String,
    /// The dossier.
    pub dossier_code: String,
    /// The document's slot.
    pub slot: String,
    /// The signed version.
    pub version: i32,
    /// SHA-256 of the signed document version (the signature is bound to it).
    pub document_sha256: String,
    /// SHA-256 of the CMS signature (DER); its blob's address.
    pub signature_sha256: String,
    /// The signer certificate's subject, "CN=..., O=..., C=VN".
    pub signer_subject: String,
    /// Its serial number (hexadecimal).
    pub signer_serial: String,
    /// Its issuer.
    pub signer_issuer: String,
    /// SHA-256 of the signer certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// The user the certificate is mapped to in the signing configuration, if any.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to, if any.
    pub signer_agency: Option<String>,
    /// The claimed signing time (the `signingTime` signed attribute).
    pub signing_time: Option<DateTime<Utc>>,
    /// Signed by the engine with an agency's key (the counter's "digitize and certify").
    pub server_side: bool,
    /// When it was stored.
    pub added_at: DateTime<Utc>,
    /// Who stored it.
    pub added_by: Option<String>,
}

/// A dossier row's columns as both backends read them (by column name), before parsing.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DossierParts {
    pub code: String,
    #[sqlx(rename = "instance_id")]
    pub instance: String,
    pub procedure_key: String,
    pub procedure_version: i32,
    pub agency: String,
    pub applicant_kind: String,
    pub applicant_id: String,
    pub applicant_name: String,
    pub applicant: String,
    pub state: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub data: String,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// Contact details stored in `dossiers.applicant` (JSON).
#[derive(Debug, Default, Deserialize)]
struct Contact {
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Builds a [`DossierRecord`] from its columns.
pub(crate) fn dossier_from_parts(
    p: DossierParts,
) -> Result<DossierRecord, crate::store::StoreError> {
    use crate::store::StoreError;
    let corrupt = |what: &str, detail: String| {
        StoreError::Corrupt(format!("dossier {}: {what}: {detail}", p.code))
    };
    let instance =
        uuid::Uuid::parse_str(&p.instance).map_err(|e| corrupt("instance id", e.to_string()))?;
    let kind = ApplicantKind::parse(&p.applicant_kind)
        .ok_or_else(|| corrupt("applicant kind", p.applicant_kind.clone()))?;
    let state = DossierState::parse(&p.state).ok_or_else(|| corrupt("state", p.state.clone()))?;
    let contact: Contact =
        serde_json::from_str(&p.applicant).map_err(|e| corrupt("applicant", e.to_string()))?;
    let data: Map<String, Value> =
        serde_json::from_str(&p.data).map_err(|e| corrupt("data", e.to_string()))?;
    Ok(DossierRecord {
        code: p.code,
        instance: InstanceId::from_uuid(instance),
        procedure_key: p.procedure_key,
        procedure_version: p.procedure_version,
        agency: p.agency,
        applicant: Applicant {
            kind,
            id: p.applicant_id,
            name: p.applicant_name,
            address: contact.address,
            phone: contact.phone,
            email: contact.email,
        },
        state,
        received_at: p.received_at,
        due_at: p.due_at,
        finished_at: p.finished_at,
        data,
        updated_at: p.updated_at,
        version: p.version,
    })
}
