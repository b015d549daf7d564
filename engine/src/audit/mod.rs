//! Dossier archives for auditors: a self-contained export of one dossier (its journal with the
//! hash chain, documents, signatures, the engine's signed checkpoints covering it, a manifest)
//! and its offline verification.
//!
//! - [`archive`]: the archive's layout and its zip form (read with size limits; never trusts
//!   a path inside it).
//! - [`export`]: `Engine::export_dossier` builds an archive from the database.
//! - [`verify`]: checks an archive against a trust store alone, without the database: every
//!   file against the manifest, the journal's hash chain, every document against the journal,
//!   every signature (the `signing` crate's DSS-style report), every checkpoint's signature,
//!   its Merkle audit path and the head it signed. `Engine::verify_dossier` runs the same
//!   checks on an export made in memory, so the database itself is verified the same way.
//!
//! The report ([`AuditReport`]) passes only when every check holds; each failed check names the
//! file, the journal row or the checkpoint.

pub mod archive;
pub mod export;
pub mod verify;

use chrono::{DateTime, Utc};
use motcua_signing::SignatureReport;
use serde::Serialize;

pub use archive::{Archive, ArchiveError};
pub use verify::verify_archive;

/// The outcome of verifying one dossier archive.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// `motcua-audit-report/1`.
    pub format: &'static str,
    /// The dossier code, when the archive names one.
    pub dossier: Option<String>,
    /// Its instance.
    pub instance: Option<String>,
    /// When the verification ran.
    pub verified_at: DateTime<Utc>,
    /// True only when every check passed.
    pub passed: bool,
    /// Every check, in the order run.
    pub checks: Vec<AuditCheck>,
    /// The document signatures, each with its report.
    pub signatures: Vec<SignatureCheck>,
    /// The checkpoints, each with its signature's report.
    pub checkpoints: Vec<CheckpointCheck>,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditCheck {
    /// What was checked (`manifest`, `journal`, `documents`, `signatures`, `checkpoints`,
    /// `export-signature`).
    pub check: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// What was found, naming the file, row or checkpoint.
    pub message: String,
}

/// A document signature and its verification.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    /// The file in the archive.
    pub file: String,
    /// The document slot.
    pub slot: String,
    /// The document version.
    pub version: i32,
    /// The signature report (DSS-style).
    pub report: SignatureReport,
}

/// A checkpoint and its verification.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointCheck {
    /// Its id.
    pub id: i64,
    /// The journal row it signed the head at.
    pub seq: i64,
    /// Whether the signed head is in the signed tree (Merkle audit path) and equals the
    /// journal's row.
    pub head_matches: bool,
    /// The report on the engine's signature over the payload.
    pub report: SignatureReport,
}

impl AuditReport {
    pub(crate) fn new(verified_at: DateTime<Utc>) -> Self {
        AuditReport {
            format: "motcua-audit-report/1",
            dossier: None,
            instance: None,
            verified_at,
            passed: false,
            checks: Vec::new(),
            signatures: Vec::new(),
            checkpoints: Vec::new(),
        }
    }

    pub(crate) fn check(&mut self, check: &'static str, passed: bool, message: impl Into<String>) {
        self.checks.push(AuditCheck {
            check,
            passed,
            message: message.into(),
        });
    }

    /// The report as readable text (Vietnamese headings, English messages like the signature
    /// reports).
    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Kiểm tra hồ sơ {} — {}\n",
            self.dossier.as_deref().unwrap_or("(không rõ mã)"),
            if self.passed {
                "HỢP LỆ (PASSED)"
            } else {
                "KHÔNG HỢP LỆ (FAILED)"
            }
        ));
        if let Some(i) = &self.instance {
            out.push_str(&format!("instance: {i}\n"));
        }
        out.push_str(&format!(
            "verified at: {}\n\n",
            self.verified_at.to_rfc3339()
        ));
        for c in &self.checks {
            out.push_str(&format!(
                "[{}] {}: {}\n",
                if c.passed { " OK " } else { "FAIL" },
                c.check,
                c.message
            ));
        }
        if !self.signatures.is_empty() {
            out.push_str("\nChữ ký số trên giấy tờ:\n");
            for s in &self.signatures {
                out.push_str(&format!(
                    "- {} ({} v{}): {}{}\n",
                    s.file,
                    s.slot,
                    s.version,
                    s.report.indication.as_str(),
                    s.report
                        .sub_indication
                        .map(|x| format!(" / {}", x.as_str()))
                        .unwrap_or_default()
                ));
                if let Some(signer) = &s.report.signer {
                    out.push_str(&format!("  signer: {}\n", signer.subject));
                }
            }
        }
        if !self.checkpoints.is_empty() {
            out.push_str("\nCheckpoint đã ký:\n");
            for c in &self.checkpoints {
                out.push_str(&format!(
                    "- checkpoint {} (journal row {}): signature {}, head {}\n",
                    c.id,
                    c.seq,
                    c.report.indication.as_str(),
                    if c.head_matches {
                        "matches"
                    } else {
                        "DOES NOT MATCH"
                    }
                ));
            }
        }
        out
    }
}
