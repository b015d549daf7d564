//! Signatures on dossier documents: verified detached CMS signatures stored with the dossier,
//! each bound to the SHA-256 of the document version it signs, and the completion check of a
//! user task with `motcua:requiresSignatures`.
//!
//! - [`Engine::attach_signature`]: a signature made elsewhere (the civil servant's token) is
//!   verified against the LATEST version of the slot's document with
//!   [`motcua_signing::verify_detached`] at the engine clock's now; only TOTAL_PASSED is kept,
//!   anything else is an [`EngineError::Signature`] with the validation report. The signer
//!   certificate's SHA-256 fingerprint is looked up in the configured [`SignerMapping`]s (an
//!   unmapped certificate is stored too, with no user or agency: it just cannot satisfy a
//!   task).
//! - [`Engine::sign_document`]: the one-stop counter's "digitize and certify" signs server-side
//!   with the agency's own key ([`SignatureSetup::agency_keys`]), then takes the same path.
//! - The CMS (DER) is a content-addressed blob like the documents; its row in
//!   `dossier_signatures` and the journal event `document_signed` are committed as one
//!   version-checked command on the dossier's instance.
//! - A user task that requires signatures over slots cannot be completed until the latest
//!   version of each slot carries a stored signature by a certificate mapped to the acting
//!   user or to the task's agency (`EngineError::Rejected`, nothing changes). A supplement
//!   makes a new version, so signatures over the older one no longer count.

use std::collections::HashMap;
use std::sync::Arc;

use motcua_definitions::{NodeIdx, Process};
use motcua_signing::openssl::hash::MessageDigest;
use motcua_signing::openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use motcua_signing::openssl::stack::Stack;
use motcua_signing::openssl::x509::{X509Ref, X509};
use motcua_signing::{verify_detached, SignatureReport, SigningIdentity, TrustStore};
use serde_json::{json, Value};

use crate::command::Effect;
use crate::dossier::blobs::sha256_hex;
use crate::dossier::{DocumentRecord, DossierEffect, NewSignature, SignatureRecord};
use crate::engine::{CommandOptions, Engine};
use crate::error::EngineError;
use crate::event::{Event, SignedDocument};
use crate::state::InstanceState;
use crate::store::Store;

/// How many times a signature is re-committed after losing a race on the instance.
const ATTEMPTS: usize = 3;

/// What the engine needs to verify, attribute and make signatures.
#[derive(Default)]
pub struct SignatureSetup {
    /// The trust anchors and CRLs signatures are verified against.
    pub trust: TrustStore,
    /// Who each known signer certificate belongs to.
    pub signers: Vec<SignerMapping>,
    /// Server-side signing keys, by agency code.
    pub agency_keys: HashMap<String, SigningIdentity>,
    /// The engine's own key (journal checkpoints); carried, not used here.
    pub engine_key: Option<SigningIdentity>,
}

impl std::fmt::Debug for SignatureSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material: agencies and certificate subjects only.
        let mut agencies: Vec<(&String, String)> = self
            .agency_keys
            .iter()
            .map(|(a, k)| (a, k.subject()))
            .collect();
        agencies.sort();
        f.debug_struct("SignatureSetup")
            .field("trust", &self.trust)
            .field("signers", &self.signers)
            .field("agency_keys", &agencies)
            .field("engine_key", &self.engine_key.as_ref().map(|k| k.subject()))
            .finish()
    }
}

/// A signer certificate, by fingerprint, and whom it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerMapping {
    /// SHA-256 of the certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// The user (login) it belongs to.
    pub user: Option<String>,
    /// The agency code it belongs to.
    pub agency: Option<String>,
}

/// SHA-256 of a certificate's DER, lowercase hex (the key of [`SignerMapping`]).
pub fn certificate_fingerprint(
    cert: &X509Ref,
) -> Result<String, motcua_signing::openssl::error::ErrorStack> {
    let digest = cert.digest(MessageDigest::sha256())?;
    Ok(crate::chain::hex(&digest))
}

/// The signer certificate inside a (verified) CMS: the one its SignerInfo names, else the
/// embedded certificate with the report's serial and issuer.
fn signer_certificate(cms: &[u8], report: &SignatureReport) -> Option<X509> {
    let p7 = Pkcs7::from_der(cms).ok()?;
    if let Ok(empty) = Stack::<X509>::new() {
        if let Ok(signers) = p7.signers(&empty, Pkcs7Flags::empty()) {
            if let Some(cert) = signers.iter().next() {
                return Some(cert.to_owned());
            }
        }
    }
    let wanted = report.signer.as_ref()?;
    let certs = p7.signed()?.certificates()?;
    certs
        .iter()
        .find(|c| {
            c.serial_number()
                .to_bn()
                .and_then(|bn| bn.to_hex_str().map(|h| h.to_string()))
                .is_ok_and(|h| {
                    h.trim_start_matches('0')
                        .eq_ignore_ascii_case(wanted.serial.trim_start_matches('0'))
                })
        })
        .map(|c| c.to_owned())
}

/// The latest version of `slot`.
fn latest(documents: &[DocumentRecord], slot: &str) -> Option<DocumentRecord> {
    documents
        .iter()
        .filter(|d| d.slot == slot)
        .max_by_key(|d| d.version)
        .cloned()
}

/// The signer of a verified signature, identified (see `Engine::verify_signer`).
#[derive(Debug, Clone)]
pub(crate) struct VerifiedSigner {
    /// The signer certificate's subject.
    pub subject: String,
    /// Its serial number (hexadecimal).
    pub serial: String,
    /// Its issuer.
    pub issuer: String,
    /// SHA-256 of the certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// The mapped user.
    pub user: Option<String>,
    /// The mapped agency, or the agency whose key signed server-side.
    pub agency: Option<String>,
    /// The claimed signing time.
    pub signing_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl<S: Store> Engine<S> {
    /// Sets the trust anchors, signer mappings and keys. Without it, attaching or making a
    /// signature is `EngineError::Invalid("no signing configuration")` and a task requiring
    /// signatures cannot be completed.
    pub fn with_signatures(mut self, setup: SignatureSetup) -> Self {
        self.signatures = Some(Arc::new(setup));
        self
    }

    /// The signing configuration, if any.
    pub fn signature_setup(&self) -> Option<&SignatureSetup> {
        self.signatures.as_deref()
    }

    /// The engine's own signing key (journal checkpoints), if configured.
    pub fn engine_key(&self) -> Option<&SigningIdentity> {
        self.signatures.as_ref().and_then(|s| s.engine_key.as_ref())
    }

    fn setup(&self) -> Result<Arc<SignatureSetup>, EngineError> {
        self.signatures.clone().ok_or_else(|| {
            EngineError::Invalid(
                "no signing configuration: start motcua with --signing FILE (trust anchors, \
                 signers, agency keys)"
                    .into(),
            )
        })
    }

    /// Every stored signature of a dossier, oldest first.
    pub async fn dossier_signatures(
        &self,
        code: &str,
    ) -> Result<Vec<SignatureRecord>, EngineError> {
        self.dossier_row(code).await?;
        Ok(self.store.dossier_signatures(code).await?)
    }

    /// The CMS (DER) of a stored signature, read back verified against its hash.
    pub async fn read_signature(&self, code: &str, id: &str) -> Result<Vec<u8>, EngineError> {
        let record = self
            .dossier_signatures(code)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| EngineError::NotFound {
                what: "signature",
                id: format!("{code}/{id}"),
            })?;
        self.get_blob(&record.signature_sha256).await
    }

    /// Stores a detached CMS signature (DER) over the latest version of `slot` of dossier
    /// `code`, after verifying it: anything but TOTAL_PASSED is an
    /// [`EngineError::Signature`] with the report, and nothing changes. The acting user is
    /// recorded as who added it.
    pub async fn attach_signature(
        &self,
        code: &str,
        slot: &str,
        cms_der: &[u8],
        options: CommandOptions,
    ) -> Result<SignatureRecord, EngineError> {
        let print = options.idempotency_key.as_ref().map(|_| {
            json!({
                "op": "attach_signature",
                "code": code,
                "slot": slot,
                "signature": sha256_hex(cms_der),
            })
        });
        let signature_sha256 = sha256_hex(cms_der);
        if self.replay_answer(&options, &print).await?.is_some() {
            return self
                .stored_signature(code, |s| {
                    s.slot == slot && s.signature_sha256 == signature_sha256
                })
                .await;
        }
        self.store_signature(code, slot, cms_der.to_vec(), None, options, print)
            .await
    }

    /// Signs the latest version of `slot` server-side with `agency`'s configured key (the
    /// counter's "digitize and certify") and stores the signature like
    /// [`Engine::attach_signature`], marked server-side and attributed to `agency`.
    pub async fn sign_document(
        &self,
        code: &str,
        slot: &str,
        agency: &str,
        options: CommandOptions,
    ) -> Result<SignatureRecord, EngineError> {
        self.require_agency_key(agency)?;
        let print = options
            .idempotency_key
            .as_ref()
            .map(|_| json!({"op": "sign_document", "code": code, "slot": slot, "agency": agency}));
        if self.replay_answer(&options, &print).await?.is_some() {
            return self
                .stored_signature(code, |s| {
                    s.slot == slot && s.server_side && s.signer_agency.as_deref() == Some(agency)
                })
                .await;
        }
        let documents = self.dossier_documents(code).await?;
        let doc = latest(&documents, slot).ok_or_else(|| EngineError::NotFound {
            what: "document",
            id: format!("{code}/{slot}"),
        })?;
        let bytes = self.get_blob(&doc.sha256).await?;
        let cms = self.sign_with_agency_key(agency, bytes).await?;
        self.store_signature(code, slot, cms, Some(agency.to_owned()), options, print)
            .await
    }

    async fn stored_signature(
        &self,
        code: &str,
        matches: impl Fn(&SignatureRecord) -> bool,
    ) -> Result<SignatureRecord, EngineError> {
        self.store
            .dossier_signatures(code)
            .await?
            .into_iter()
            .rev()
            .find(|s| matches(s))
            .ok_or_else(|| EngineError::NotFound {
                what: "signature",
                id: code.to_owned(),
            })
    }

    /// Verifies `cms` against the latest version of `slot`, stores its blob, then commits its
    /// row and the `document_signed` event on the dossier's instance. `server_agency` is the
    /// agency whose key made it (server-side signing).
    async fn store_signature(
        &self,
        code: &str,
        slot: &str,
        cms: Vec<u8>,
        server_agency: Option<String>,
        options: CommandOptions,
        print: Option<Value>,
    ) -> Result<SignatureRecord, EngineError> {
        self.setup()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let row = self.dossier_row(code).await?;
            if row.state.is_finished() {
                return Err(EngineError::Conflict(format!(
                    "hồ sơ {code} đã kết thúc ({}): không nhận thêm chữ ký số",
                    row.state.label()
                )));
            }
            let documents = self.store.dossier_documents(code).await?;
            let doc = latest(&documents, slot).ok_or_else(|| EngineError::NotFound {
                what: "document",
                id: format!("{code}/{slot}"),
            })?;
            let bytes = self.get_blob(&doc.sha256).await?;
            let now = self.clock.now();
            let signer = self
                .verify_signer(bytes, cms.clone(), server_agency.clone(), now)
                .await?;
            let signature_sha256 = self.put_blob(cms.clone()).await?;
            let record = SignatureRecord {
                id: uuid::Uuid::now_v7().to_string(),
                dossier_code: row.code.clone(),
                slot: doc.slot.clone(),
                version: doc.version,
                document_sha256: doc.sha256.clone(),
                signature_sha256,
                signer_subject: signer.subject,
                signer_serial: signer.serial,
                signer_issuer: signer.issuer,
                fingerprint: signer.fingerprint,
                signer_user: signer.user,
                signer_agency: signer.agency,
                signing_time: signer.signing_time,
                server_side: server_agency.is_some(),
                added_at: now,
                added_by: options.actor.clone(),
            };
            let event = Event::DocumentSigned {
                signature: SignedDocument {
                    id: record.id.clone(),
                    slot: record.slot.clone(),
                    version: record.version,
                    document_sha256: record.document_sha256.clone(),
                    signature_sha256: record.signature_sha256.clone(),
                    signer_subject: record.signer_subject.clone(),
                    fingerprint: record.fingerprint.clone(),
                    signer_user: record.signer_user.clone(),
                    signer_agency: record.signer_agency.clone(),
                    server_side: record.server_side,
                },
            };
            let id = record.id.clone();
            let effects = vec![
                Effect::Dossier(DossierEffect::Updated {
                    instance: row.instance,
                    expected_version: row.version,
                    state: None,
                    finished_at: None,
                    due_at: None,
                }),
                Effect::Dossier(DossierEffect::SignatureAdded(NewSignature {
                    instance: row.instance,
                    record,
                })),
            ];
            match self
                .commit_dossier_change(row.instance, event, effects, &options, &print)
                .await
            {
                Ok(_) => return self.stored_signature(code, |s| s.id == id).await,
                Err(EngineError::Conflict(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Refuses an agency without a configured server-side key (`EngineError::Rejected`,
    /// in Vietnamese); `EngineError::Invalid` without any signing configuration.
    pub(crate) fn require_agency_key(&self, agency: &str) -> Result<(), EngineError> {
        if !self.setup()?.agency_keys.contains_key(agency) {
            return Err(EngineError::Rejected(format!(
                "cơ quan {agency} chưa được cấu hình khóa ký số (agency_key trong tệp --signing): \
                 không thể ký phía máy chủ"
            )));
        }
        Ok(())
    }

    /// Signs `bytes` server-side with `agency`'s configured key at the engine clock's now: a
    /// detached CMS (DER).
    pub(crate) async fn sign_with_agency_key(
        &self,
        agency: &str,
        bytes: Vec<u8>,
    ) -> Result<Vec<u8>, EngineError> {
        self.require_agency_key(agency)?;
        let setup = self.setup()?;
        let at = std::time::SystemTime::from(self.clock.now());
        let key_agency = agency.to_owned();
        tokio::task::spawn_blocking(move || {
            setup
                .agency_keys
                .get(&key_agency)
                .map(|identity| identity.sign(&bytes, Some(at)))
        })
        .await
        .map_err(|e| EngineError::Fatal(format!("signing task: {e}")))?
        .ok_or_else(|| EngineError::Fatal(format!("the key of {agency} vanished")))?
        .map_err(|e| EngineError::Fatal(format!("signing with the key of {agency}: {e}")))
    }

    /// Verifies a detached CMS (DER) over `bytes` against the configured trust at `now` and
    /// identifies its signer: anything but TOTAL_PASSED is an [`EngineError::Signature`] with
    /// the report. The signer certificate's fingerprint is looked up in the signer mappings;
    /// `server_agency` (the agency whose key made it) takes precedence over the mapped agency.
    pub(crate) async fn verify_signer(
        &self,
        bytes: Vec<u8>,
        cms: Vec<u8>,
        server_agency: Option<String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<VerifiedSigner, EngineError> {
        let setup = self.setup()?;
        let (report, signer) = {
            let setup = Arc::clone(&setup);
            tokio::task::spawn_blocking(move || {
                let report = verify_detached(&bytes, &cms, &setup.trust, now);
                let signer = report
                    .passed()
                    .then(|| signer_certificate(&cms, &report))
                    .flatten();
                (report, signer)
            })
            .await
            .map_err(|e| EngineError::Fatal(format!("verification task: {e}")))?
        };
        if !report.passed() {
            return Err(EngineError::Signature {
                report: Box::new(report),
            });
        }
        let (Some(summary), Some(cert)) = (report.signer.clone(), signer) else {
            return Err(EngineError::Invalid(
                "the signature verified but its signer certificate cannot be read".into(),
            ));
        };
        let fingerprint = certificate_fingerprint(&cert)
            .map_err(|e| EngineError::Fatal(format!("certificate fingerprint: {e}")))?;
        let mapping = setup
            .signers
            .iter()
            .find(|m| m.fingerprint.eq_ignore_ascii_case(&fingerprint));
        Ok(VerifiedSigner {
            subject: summary.subject,
            serial: summary.serial,
            issuer: summary.issuer,
            fingerprint,
            user: mapping.and_then(|m| m.user.clone()),
            agency: server_agency.or_else(|| mapping.and_then(|m| m.agency.clone())),
            signing_time: report.signing_time,
        })
    }

    /// The completion check of a user task requiring signatures over `slots`: the latest
    /// version of each has a stored signature bound to its hash by a certificate mapped to
    /// `actor` or to the task's agency. Otherwise `EngineError::Rejected` naming the slot and
    /// who must sign.
    pub(crate) async fn check_signatures(
        &self,
        model: &Process,
        state: &InstanceState,
        node: NodeIdx,
        slots: &[String],
        actor: Option<&str>,
    ) -> Result<(), EngineError> {
        let task = model.node(node).label().to_owned();
        let agency = model.assignment(node).and_then(|a| a.agency);
        let who = match (actor, agency.as_deref()) {
            (Some(u), Some(a)) => format!("người thực hiện ({u}) hoặc cơ quan {a}"),
            (Some(u), None) => format!("người thực hiện ({u})"),
            (None, Some(a)) => format!("cơ quan {a}"),
            (None, None) => "người thực hiện hoặc cơ quan xử lý".to_owned(),
        };
        let Some(dossier) = self.store.dossier_by_instance(state.id).await? else {
            return Err(EngineError::Rejected(format!(
                "nhiệm vụ '{task}' cần chữ ký số trên giấy tờ ({}) nhưng quy trình này không có hồ sơ",
                slots.join(", ")
            )));
        };
        let documents = self.store.dossier_documents(&dossier.code).await?;
        let signatures = self.store.dossier_signatures(&dossier.code).await?;
        let mut problems = Vec::new();
        for slot in slots {
            let name = model
                .documents()
                .iter()
                .find(|d| d.slot == *slot)
                .map(|d| d.name.as_str())
                .unwrap_or(slot);
            let Some(doc) = latest(&documents, slot) else {
                problems.push(format!(
                    "chưa có giấy tờ '{name}' ({slot}) để ký; cần chữ ký số của {who}"
                ));
                continue;
            };
            let on_version: Vec<&SignatureRecord> = signatures
                .iter()
                .filter(|s| {
                    s.slot == *slot && s.version == doc.version && s.document_sha256 == doc.sha256
                })
                .collect();
            let satisfied = on_version.iter().any(|s| {
                actor.is_some_and(|u| s.signer_user.as_deref() == Some(u))
                    || agency
                        .as_deref()
                        .is_some_and(|a| s.signer_agency.as_deref() == Some(a))
            });
            if satisfied {
                continue;
            }
            let mut problem = format!(
                "giấy tờ '{name}' ({slot}, phiên bản {}) chưa có chữ ký số hợp lệ của {who}",
                doc.version
            );
            if !on_version.is_empty() {
                let others: Vec<String> = on_version
                    .iter()
                    .map(|s| {
                        let owner = match (&s.signer_user, &s.signer_agency) {
                            (Some(u), Some(a)) => format!("{u}, cơ quan {a}"),
                            (Some(u), None) => u.clone(),
                            (None, Some(a)) => format!("cơ quan {a}"),
                            (None, None) => "chứng thư chưa được gán cho ai".to_owned(),
                        };
                        format!("{} ({owner})", s.signer_subject)
                    })
                    .collect();
                problem.push_str(&format!(
                    " (chữ ký hiện có không được chấp nhận: {})",
                    others.join("; ")
                ));
            }
            problems.push(problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Rejected(format!(
                "hồ sơ {}: chưa thể hoàn thành nhiệm vụ '{task}': {}",
                dossier.code,
                problems.join("; ")
            )))
        }
    }
}
