//! `Engine::export_dossier`: one dossier's archive built from the database and the document
//! store, and `Engine::verify_dossier`: the same archive made in memory and verified, so what
//! an auditor checks offline and what the engine checks in place are one code path.

use motcua_signing::{SigningIdentity, TrustStore};

use super::archive::{
    Archive, CheckpointEntry, JournalLine, Manifest, ManifestFile, SignatureEntry, CHECKPOINTS,
    DOSSIER, ENGINE_CERTIFICATE, FORMAT, JOURNAL, MANIFEST, MANIFEST_SIGNATURE, SIGNATURES,
};
use super::verify::{document_path, verify_archive};
use super::AuditReport;
use crate::chain::hashed_time;
use crate::checkpoint::Head;
use crate::dossier::blobs::sha256_hex;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::store::Store;

/// An archive as built, with what could not be read from storage (a document whose bytes
/// changed on disk is left out and named here).
struct Built {
    archive: Archive,
    unreadable: Vec<String>,
}

fn json_bytes<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, EngineError> {
    serde_json::to_vec_pretty(value).map_err(|e| EngineError::Fatal(format!("export: {e}")))
}

impl<S: Store> Engine<S> {
    /// Exports a dossier as a self-contained archive. With the engine's `key`, a checkpoint is
    /// signed first (so the archive's journal is covered to its last row) and the manifest is
    /// signed too. A document whose stored bytes no longer match their hash fails the export
    /// with an error naming it.
    pub async fn export_dossier(
        &self,
        code: &str,
        key: Option<&SigningIdentity>,
    ) -> Result<Archive, EngineError> {
        if let Some(key) = key {
            self.checkpoint(key).await?;
        }
        let built = self.build_archive(code, key).await?;
        if let Some(first) = built.unreadable.first() {
            return Err(EngineError::Fatal(format!(
                "dossier {code} cannot be exported: {first}"
            )));
        }
        Ok(built.archive)
    }

    /// Verifies a dossier where it is stored: its export (made in memory, without signing a new
    /// checkpoint) checked as an auditor would check the file.
    pub async fn verify_dossier(
        &self,
        code: &str,
        trust: &TrustStore,
    ) -> Result<AuditReport, EngineError> {
        let built = self.build_archive(code, None).await?;
        let now = self.clock.now();
        let mut report = verify_archive(&built.archive, trust, now);
        if !built.unreadable.is_empty() {
            report.check("storage", false, built.unreadable.join("; "));
            report.passed = false;
        }
        Ok(report)
    }

    async fn build_archive(
        &self,
        code: &str,
        key: Option<&SigningIdentity>,
    ) -> Result<Built, EngineError> {
        let dossier = self
            .store
            .dossier(code)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "dossier",
                id: code.to_owned(),
            })?;
        let instance = dossier.instance;
        let mut archive = Archive::default();
        let mut unreadable = Vec::new();
        archive
            .files
            .insert(DOSSIER.to_owned(), json_bytes(&dossier)?);

        let journal = self.store.journal(instance).await?;
        let mut text = String::new();
        for e in &journal {
            let line = JournalLine {
                seq: e.seq,
                kind: e.kind.clone(),
                actor: e.actor.clone(),
                at: hashed_time(e.at),
                data: e.data.clone(),
                hash: e.hash.clone(),
            };
            let json = serde_json::to_string(&line)
                .map_err(|e| EngineError::Fatal(format!("export: {e}")))?;
            text.push_str(&json);
            text.push('\n');
        }
        archive.files.insert(JOURNAL.to_owned(), text.into_bytes());
        let head = journal.last().and_then(|e| {
            e.hash.as_ref().map(|hash| Head {
                instance: instance.to_string(),
                seq: e.seq,
                hash: hash.clone(),
            })
        });

        for d in self.store.dossier_documents(code).await? {
            let path = document_path(&d.slot, d.version, &d.name);
            match self.get_blob(&d.sha256).await {
                Ok(bytes) => {
                    archive.files.insert(path, bytes);
                }
                Err(e) => unreadable.push(format!("{path}: {e}")),
            }
        }

        let signatures = self
            .archive_signatures(code, &mut archive, &mut unreadable)
            .await?;
        archive
            .files
            .insert(SIGNATURES.to_owned(), json_bytes(&signatures)?);

        let mut checkpoints = Vec::new();
        for c in self.checkpoints_of(instance).await? {
            let file = format!("checkpoints/{}.p7s", c.checkpoint.id);
            let audit_path = self.audit_path(c.checkpoint.id, c.leaf).await?;
            archive.files.insert(file.clone(), c.checkpoint.signature);
            checkpoints.push(CheckpointEntry {
                id: c.checkpoint.id,
                payload: c.checkpoint.payload,
                signature: file,
                head: c.head,
                leaf: c.leaf,
                audit_path,
            });
        }
        archive
            .files
            .insert(CHECKPOINTS.to_owned(), json_bytes(&checkpoints)?);
        if let Some(key) = key {
            let pem = key
                .cert()
                .to_pem()
                .map_err(|e| EngineError::Fatal(format!("export: the engine certificate: {e}")))?;
            archive.files.insert(ENGINE_CERTIFICATE.to_owned(), pem);
        }
        // Every certificate the signatures carry, for reading (verification uses the ones
        // inside each signature and the verifier's own roots).
        let signatures: Vec<Vec<u8>> = archive
            .files
            .iter()
            .filter(|(p, _)| p.ends_with(".p7s"))
            .map(|(_, b)| b.clone())
            .collect();
        for cms in signatures {
            for cert in motcua_signing::embedded_certificates(&cms).unwrap_or_default() {
                if let (Ok(der), Ok(pem)) = (cert.to_der(), cert.to_pem()) {
                    let name = format!("certificates/{}.pem", &sha256_hex(&der)[..16]);
                    archive.files.entry(name).or_insert(pem);
                }
            }
        }

        let now = self.clock.now();
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            dossier: dossier.code.clone(),
            instance: instance.to_string(),
            exported_at: hashed_time(now),
            journal_head: head,
            files: archive
                .files
                .iter()
                .map(|(path, bytes)| ManifestFile {
                    path: path.clone(),
                    sha256: sha256_hex(bytes),
                    size: bytes.len() as u64,
                })
                .collect(),
        };
        let manifest = json_bytes(&manifest)?;
        if let Some(key) = key {
            let signature = key
                .sign(&manifest, Some(std::time::SystemTime::from(now)))
                .map_err(|e| EngineError::Fatal(format!("export: signing the manifest: {e}")))?;
            archive
                .files
                .insert(MANIFEST_SIGNATURE.to_owned(), signature);
        }
        archive.files.insert(MANIFEST.to_owned(), manifest);
        Ok(Built {
            archive,
            unreadable,
        })
    }

    /// The dossier's document signatures into the archive: each CMS as `signatures/<n>.p7s`.
    async fn archive_signatures(
        &self,
        code: &str,
        archive: &mut Archive,
        unreadable: &mut Vec<String>,
    ) -> Result<Vec<SignatureEntry>, EngineError> {
        let mut entries = Vec::new();
        for (n, s) in self
            .store
            .dossier_signatures(code)
            .await?
            .into_iter()
            .enumerate()
        {
            let file = format!("signatures/{}.p7s", n + 1);
            match self.get_blob(&s.signature_sha256).await {
                Ok(bytes) => {
                    archive.files.insert(file.clone(), bytes);
                }
                Err(e) => unreadable.push(format!("{file}: {e}")),
            }
            entries.push(SignatureEntry {
                file,
                slot: s.slot,
                version: s.version,
                document_sha256: s.document_sha256,
                signature_sha256: s.signature_sha256,
                signer_user: s.signer_user,
                signer_agency: s.signer_agency,
                server_side: s.server_side,
            });
        }
        Ok(entries)
    }
}
