//! Documents on leadership directives (issue #8): files attached to an assignment (e.g. the
//! directive's source document on the lead's assignment, the agency's result) or to one of
//! its progress reports, optionally signed.
//!
//! - [`Engine::attach_directive_document`]: the bytes become a content-addressed blob
//!   (SHA-256, re-hashed on every read); a detached CMS made elsewhere is verified over them
//!   at the engine clock's now against the configured trust (only TOTAL_PASSED is kept,
//!   anything else is an [`EngineError::Signature`] with the report and nothing is stored), or
//!   the engine signs them server-side with an agency's configured key. The signer is
//!   identified by the same code as dossier signatures (`crate::signatures`).
//! - The row in `directive_documents` ([`DirectiveEffect::DocumentAttached`]) and the journal
//!   event `directive_document_attached` (with the document's and the signature's SHA-256 and
//!   the signer, so the journal's hash chain covers them) are one version-checked commit of
//!   its own on the assignment's instance, like a progress report.
//! - A retry with the same idempotency key returns the stored document.

use serde::{Deserialize, Serialize};
use serde_json::json;

use chrono::{DateTime, Utc};

use super::{AssignmentState, DirectiveEffect};
use crate::command::Effect;
use crate::dossier::blobs::sha256_hex;
use crate::engine::{CommandOptions, Engine};
use crate::error::EngineError;
use crate::event::{DirectiveDocument, DirectiveDocumentSigner, Event};
use crate::store::Store;

/// How many times an attachment is re-committed after losing a race on the instance.
const ATTEMPTS: usize = 3;
/// The longest file name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// The longest media type accepted, in bytes.
const MAX_MEDIA_TYPE_BYTES: usize = 255;

/// A document to attach to an assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectiveDocumentInput {
    /// File name (e.g. `125-UBND-TH.pdf`).
    pub name: String,
    /// MIME type (e.g. `application/pdf`).
    pub media_type: String,
    /// The content.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// A progress report of the same assignment: the document is that report's attachment.
    /// Without it, it belongs to the assignment (and its directive).
    #[serde(default)]
    pub report: Option<String>,
    /// A detached CMS signature (DER) over the bytes, verified before anything is stored.
    #[serde(skip)]
    pub signature: Option<Vec<u8>>,
    /// Sign server-side with this agency's configured key instead.
    #[serde(default)]
    pub sign_as_agency: Option<String>,
}

/// A document attached to an assignment (read by column name on both databases). The signer
/// columns are set only for a signed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DirectiveDocumentRecord {
    /// Id (UUID v7).
    pub id: String,
    /// The assignment.
    #[sqlx(rename = "assignment_id")]
    pub assignment: String,
    /// Its directive.
    #[sqlx(rename = "directive_id")]
    pub directive: String,
    /// The progress report it is attached to, if any.
    #[sqlx(rename = "report_id")]
    pub report: Option<String>,
    /// File name.
    pub name: String,
    /// MIME type.
    pub media_type: String,
    /// SHA-256 of the bytes (its blob's address).
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the detached CMS signature (DER), its blob's address; `None` unsigned.
    pub signature_sha256: Option<String>,
    /// The signer certificate's subject.
    pub signer_subject: Option<String>,
    /// Its serial number (hexadecimal).
    pub signer_serial: Option<String>,
    /// Its issuer.
    pub signer_issuer: Option<String>,
    /// SHA-256 of the signer certificate (DER), lowercase hex.
    pub fingerprint: Option<String>,
    /// The user the certificate is mapped to, if any.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to (or whose key signed), if any.
    pub signer_agency: Option<String>,
    /// The claimed signing time.
    pub signing_time: Option<DateTime<Utc>>,
    /// Signed by the engine with an agency's key.
    pub server_side: bool,
    /// When it was stored.
    pub added_at: DateTime<Utc>,
    /// Who stored it.
    pub added_by: Option<String>,
}

impl DirectiveDocumentRecord {
    /// Whether it carries a verified signature.
    pub fn is_signed(&self) -> bool {
        self.signature_sha256.is_some()
    }
}

/// The columns of `directive_documents`, in [`DirectiveDocumentRecord`]'s order (both
/// backends).
pub(crate) const DIRECTIVE_DOCUMENT_COLUMNS: &str = "id, assignment_id, directive_id, \
     report_id, name, media_type, sha256, size, signature_sha256, signer_subject, signer_serial, \
     signer_issuer, fingerprint, signer_user, signer_agency, signing_time, server_side, \
     added_at, added_by";

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Invalid(message.into())
}

/// The input's own checks, before anything is read or stored.
fn check_input(input: &DirectiveDocumentInput) -> Result<(), EngineError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("tài liệu cần tên tệp"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "tên tệp quá dài ({} ký tự, tối đa {MAX_NAME_CHARS})",
            name.chars().count()
        )));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(invalid(format!(
            "tên tệp '{}' không hợp lệ: không được chứa '/', '\\' hay ký tự điều khiển",
            name.escape_debug()
        )));
    }
    let media_type = input.media_type.trim();
    if media_type.is_empty()
        || media_type.len() > MAX_MEDIA_TYPE_BYTES
        || !media_type.contains('/')
        || media_type
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid(format!(
            "kiểu tệp '{}' không hợp lệ: cần dạng MIME như application/pdf",
            media_type.escape_debug()
        )));
    }
    if input.bytes.is_empty() {
        return Err(invalid(format!("tệp '{name}' rỗng: không có nội dung")));
    }
    if input.signature.as_ref().is_some_and(|s| s.is_empty()) {
        return Err(invalid("chữ ký số rỗng"));
    }
    if input.signature.is_some() && input.sign_as_agency.is_some() {
        return Err(invalid(
            "chỉ chọn một: đính kèm chữ ký số có sẵn hoặc ký phía máy chủ bằng khóa của cơ quan",
        ));
    }
    if input.report.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(invalid("mã báo cáo tiến độ rỗng"));
    }
    Ok(())
}

impl<S: Store> Engine<S> {
    /// Attaches a document to assignment `assignment_id` (or, with `input.report`, to one of
    /// its progress reports), optionally signed: a given detached CMS is verified over the
    /// bytes (anything but TOTAL_PASSED is [`EngineError::Signature`], nothing is stored);
    /// `sign_as_agency` signs server-side with that agency's key (an agency without one is
    /// [`EngineError::Rejected`]). One commit of its own on the assignment's instance with the
    /// `directive_document_attached` event. With an idempotency key, a retry returns the
    /// stored document.
    pub async fn attach_directive_document(
        &self,
        assignment_id: &str,
        input: DirectiveDocumentInput,
        options: CommandOptions,
    ) -> Result<DirectiveDocumentRecord, EngineError> {
        check_input(&input)?;
        let name = input.name.trim().to_owned();
        let media_type = input.media_type.trim().to_owned();
        let report = input.report.as_deref().map(str::trim).map(str::to_owned);
        let sha256 = sha256_hex(&input.bytes);
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({
                "op": "attach_directive_document",
                "assignment": assignment_id,
                "report": report,
                "name": name,
                "media_type": media_type,
                "sha256": sha256,
                "signature": input.signature.as_deref().map(sha256_hex),
                "sign_as_agency": input.sign_as_agency,
            })
        });
        let wants_signature = input.signature.is_some() || input.sign_as_agency.is_some();
        if self.replay_answer(&options, &print).await?.is_some() {
            return self
                .stored_document(assignment_id, &sha256, &name, &report, wants_signature)
                .await;
        }
        let a = self.directive_assignment(assignment_id).await?;
        if a.state == AssignmentState::Accepted {
            return Err(EngineError::Conflict(format!(
                "nhiệm vụ {assignment_id} đã được nghiệm thu: không nhận thêm tài liệu"
            )));
        }
        if let Some(r) = &report {
            let reports = self.store.directive_reports(assignment_id).await?;
            if !reports.iter().any(|x| x.id == *r) {
                return Err(EngineError::NotFound {
                    what: "directive report",
                    id: format!("{assignment_id}/{r}"),
                });
            }
        }
        // The signature first: nothing is stored unless it verifies.
        let now = self.clock.now();
        let cms = match (&input.signature, &input.sign_as_agency) {
            (Some(cms), _) => Some((cms.clone(), None)),
            (None, Some(agency)) => Some((
                self.sign_with_agency_key(agency, input.bytes.clone())
                    .await?,
                Some(agency.clone()),
            )),
            (None, None) => None,
        };
        let signed = match cms {
            Some((cms, server_agency)) => {
                let signer = self
                    .verify_signer(input.bytes.clone(), cms.clone(), server_agency.clone(), now)
                    .await?;
                Some((cms, signer, server_agency.is_some()))
            }
            None => None,
        };
        let size = i64::try_from(input.bytes.len())
            .map_err(|_| invalid(format!("tệp '{name}' quá lớn")))?;
        let stored = self.put_blob(input.bytes).await?;
        if stored != sha256 {
            return Err(EngineError::Fatal(format!(
                "the document store answered {stored} for content hashed {sha256}"
            )));
        }
        let signature_sha256 = match &signed {
            Some((cms, _, _)) => Some(self.put_blob(cms.clone()).await?),
            None => None,
        };
        let id = uuid::Uuid::now_v7().to_string();
        let signer = signed.as_ref().map(|(_, s, _)| s);
        let server_side = signed.as_ref().is_some_and(|(_, _, server)| *server);
        let record = DirectiveDocumentRecord {
            id: id.clone(),
            assignment: a.id.clone(),
            directive: a.directive.id.clone(),
            report: report.clone(),
            name,
            media_type,
            sha256,
            size,
            signature_sha256: signature_sha256.clone(),
            signer_subject: signer.map(|s| s.subject.clone()),
            signer_serial: signer.map(|s| s.serial.clone()),
            signer_issuer: signer.map(|s| s.issuer.clone()),
            fingerprint: signer.map(|s| s.fingerprint.clone()),
            signer_user: signer.and_then(|s| s.user.clone()),
            signer_agency: signer.and_then(|s| s.agency.clone()),
            signing_time: signer.and_then(|s| s.signing_time),
            server_side,
            added_at: now,
            added_by: options.actor.clone(),
        };
        let event = Event::DirectiveDocumentAttached {
            assignment: a.id.clone(),
            document: DirectiveDocument {
                id: record.id.clone(),
                report: record.report.clone(),
                name: record.name.clone(),
                media_type: record.media_type.clone(),
                sha256: record.sha256.clone(),
                size: record.size,
                signature: match (signature_sha256, signer) {
                    (Some(signature_sha256), Some(s)) => Some(DirectiveDocumentSigner {
                        signature_sha256,
                        signer_subject: s.subject.clone(),
                        fingerprint: s.fingerprint.clone(),
                        signer_user: s.user.clone(),
                        signer_agency: s.agency.clone(),
                        server_side,
                    }),
                    _ => None,
                },
            },
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let effects = vec![Effect::Directive(DirectiveEffect::DocumentAttached(
                Box::new(record.clone()),
            ))];
            match self
                .commit_dossier_change(a.instance, event.clone(), effects, &options, &print)
                .await
            {
                Ok(_) => break,
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        match self.directive_document(assignment_id, &id).await {
            // A concurrent retry with the same idempotency key won: its document is the answer.
            Err(EngineError::NotFound { .. }) if options.idempotency_key.is_some() => {
                let (sha256, name) = (record.sha256.clone(), record.name.clone());
                self.stored_document(assignment_id, &sha256, &name, &report, wants_signature)
                    .await
            }
            found => found,
        }
    }

    /// The latest stored document matching a retried attachment.
    async fn stored_document(
        &self,
        assignment_id: &str,
        sha256: &str,
        name: &str,
        report: &Option<String>,
        signed: bool,
    ) -> Result<DirectiveDocumentRecord, EngineError> {
        self.store
            .directive_documents(assignment_id)
            .await?
            .into_iter()
            .rev()
            .find(|d| {
                d.sha256 == sha256
                    && d.name == name
                    && d.report == *report
                    && d.is_signed() == signed
            })
            .ok_or_else(|| EngineError::NotFound {
                what: "directive document",
                id: assignment_id.to_owned(),
            })
    }

    /// An assignment's documents (its own and its reports'), oldest first.
    pub async fn directive_documents(
        &self,
        assignment_id: &str,
    ) -> Result<Vec<DirectiveDocumentRecord>, EngineError> {
        self.directive_assignment(assignment_id).await?;
        Ok(self.store.directive_documents(assignment_id).await?)
    }

    /// One document of an assignment.
    pub async fn directive_document(
        &self,
        assignment_id: &str,
        document_id: &str,
    ) -> Result<DirectiveDocumentRecord, EngineError> {
        self.directive_documents(assignment_id)
            .await?
            .into_iter()
            .find(|d| d.id == document_id)
            .ok_or_else(|| EngineError::NotFound {
                what: "directive document",
                id: format!("{assignment_id}/{document_id}"),
            })
    }

    /// A document and its bytes, read back from the document store verified against its
    /// SHA-256.
    pub async fn directive_document_content(
        &self,
        assignment_id: &str,
        document_id: &str,
    ) -> Result<(DirectiveDocumentRecord, Vec<u8>), EngineError> {
        let record = self.directive_document(assignment_id, document_id).await?;
        let bytes = self.get_blob(&record.sha256).await?;
        Ok((record, bytes))
    }

    /// The detached CMS signature (DER) of a document, verified against its hash on read;
    /// `None` for an unsigned document.
    pub async fn directive_document_signature(
        &self,
        assignment_id: &str,
        document_id: &str,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        let record = self.directive_document(assignment_id, document_id).await?;
        match &record.signature_sha256 {
            Some(sha) => Ok(Some(self.get_blob(sha).await?)),
            None => Ok(None),
        }
    }
}
