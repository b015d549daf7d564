//! Offline verification of a dossier archive: needs the archive and a trust store, nothing else
//! (no database, no network). Every check runs even after one fails, so the report lists every
//! problem; it passes only when all hold.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use motcua_signing::{verify_detached, TrustStore};

use super::archive::{
    safe_file_name, Archive, CheckpointEntry, JournalLine, Manifest, SignatureEntry, CHECKPOINTS,
    DOSSIER, FORMAT, JOURNAL, MANIFEST, MANIFEST_SIGNATURE, SIGNATURES,
};
use super::{AuditReport, CheckpointCheck, SignatureCheck};
use crate::chain::{self, Row};
use crate::checkpoint::{self, CheckpointPayload};
use crate::dossier::blobs::sha256_hex;
use crate::event::Event;
use crate::merkle;

/// A document version as the journal records it: (slot, version) → (sha256, file name).
type JournalDocuments = BTreeMap<(String, i32), (String, String)>;

/// Verifies an archive against `trust` at `now`.
pub fn verify_archive(archive: &Archive, trust: &TrustStore, now: DateTime<Utc>) -> AuditReport {
    let mut report = AuditReport::new(now);
    let manifest = check_manifest(archive, trust, now, &mut report);
    let instance = manifest.as_ref().map(|m| m.instance.clone());
    let lines = check_journal(archive, manifest.as_ref(), &mut report);
    let documents = journal_documents(&lines);
    check_dossier(archive, manifest.as_ref(), &lines, &mut report);
    check_documents(archive, &documents, &mut report);
    check_signatures(archive, &documents, &lines, trust, now, &mut report);
    check_checkpoints(
        archive,
        instance.as_deref(),
        &lines,
        trust,
        now,
        &mut report,
    );
    report.passed = !report.checks.is_empty() && report.checks.iter().all(|c| c.passed);
    report
}

fn check_manifest(
    archive: &Archive,
    trust: &TrustStore,
    now: DateTime<Utc>,
    report: &mut AuditReport,
) -> Option<Manifest> {
    let manifest: Manifest = match archive.get(MANIFEST).map(serde_json::from_slice) {
        None => {
            report.check("manifest", false, format!("{MANIFEST} is missing"));
            return None;
        }
        Some(Err(e)) => {
            report.check("manifest", false, format!("{MANIFEST} is not valid: {e}"));
            return None;
        }
        Some(Ok(m)) => m,
    };
    report.dossier = Some(manifest.dossier.clone());
    report.instance = Some(manifest.instance.clone());
    let mut problems = Vec::new();
    if manifest.format != FORMAT {
        problems.push(format!("unknown format '{}'", manifest.format));
    }
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for f in &manifest.files {
        match archive.get(&f.path) {
            None => problems.push(format!("{} is listed but missing", f.path)),
            Some(bytes) if sha256_hex(bytes) != f.sha256 || bytes.len() as u64 != f.size => {
                problems.push(format!(
                    "{} does not match its SHA-256 in the manifest",
                    f.path
                ))
            }
            Some(_) => {}
        }
    }
    for path in archive.files.keys() {
        if path != MANIFEST && path != MANIFEST_SIGNATURE && !listed.contains(path.as_str()) {
            problems.push(format!("{path} is not listed in the manifest"));
        }
    }
    if problems.is_empty() {
        report.check(
            "manifest",
            true,
            format!("{} files match the manifest", manifest.files.len()),
        );
    } else {
        report.check("manifest", false, problems.join("; "));
    }
    match archive.get(MANIFEST_SIGNATURE) {
        None => report.check(
            "export-signature",
            true,
            "the manifest is not signed (the exporting engine had no key); the journal's \
             checkpoints carry its integrity",
        ),
        Some(signature) => {
            let bytes = archive.get(MANIFEST).unwrap_or_default();
            let r = verify_detached(bytes, signature, trust, now);
            let who = r
                .signer
                .as_ref()
                .map_or("?", |s| s.subject.as_str())
                .to_owned();
            report.check(
                "export-signature",
                r.passed(),
                format!(
                    "{MANIFEST_SIGNATURE} by {who}: {}{}",
                    r.indication.as_str(),
                    r.sub_indication
                        .map(|s| format!(" / {}", s.as_str()))
                        .unwrap_or_default()
                ),
            );
        }
    }
    Some(manifest)
}

fn check_journal(
    archive: &Archive,
    manifest: Option<&Manifest>,
    report: &mut AuditReport,
) -> Vec<JournalLine> {
    let Some(text) = archive.get(JOURNAL) else {
        report.check("journal", false, format!("{JOURNAL} is missing"));
        return Vec::new();
    };
    let Ok(text) = std::str::from_utf8(text) else {
        report.check("journal", false, format!("{JOURNAL} is not UTF-8"));
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<JournalLine>(line) {
            Ok(l) => lines.push(l),
            Err(e) => {
                report.check(
                    "journal",
                    false,
                    format!("{JOURNAL} line {}: not a journal row: {e}", n + 1),
                );
                return Vec::new();
            }
        }
    }
    let instance = manifest.map(|m| m.instance.as_str()).unwrap_or_default();
    let mut times = Vec::with_capacity(lines.len());
    for l in &lines {
        match DateTime::parse_from_rfc3339(&l.at) {
            Ok(t) => times.push(t.with_timezone(&Utc)),
            Err(e) => {
                report.check(
                    "journal",
                    false,
                    format!("journal row {} ({}): time '{}': {e}", l.seq, l.kind, l.at),
                );
                return lines;
            }
        }
        if let Err(e) = serde_json::from_str::<Event>(&l.data) {
            report.check(
                "journal",
                false,
                format!("journal row {} ({}): not an event: {e}", l.seq, l.kind),
            );
            return lines;
        }
    }
    let rows = lines.iter().zip(&times).map(|(l, at)| {
        (
            Row {
                instance,
                seq: l.seq,
                kind: &l.kind,
                actor: l.actor.as_deref(),
                at: *at,
                data: &l.data,
            },
            l.hash.as_deref(),
        )
    });
    match chain::verify(rows) {
        Err(e) => report.check("journal", false, e.to_string()),
        Ok(head) => {
            let expected = manifest.and_then(|m| m.journal_head.as_ref());
            let last = lines.last();
            let agrees = match (expected, last) {
                (Some(h), Some(l)) => h.seq == l.seq && Some(h.hash.as_str()) == head.as_deref(),
                (None, None) => true,
                _ => false,
            };
            if agrees {
                report.check(
                    "journal",
                    true,
                    format!("{} rows, hash chain intact", lines.len()),
                );
            } else {
                report.check(
                    "journal",
                    false,
                    "the journal's last row is not the head the manifest names (rows were \
                     removed from the end, or added)",
                );
            }
        }
    }
    lines
}

/// The documents the journal records, by (slot, version).
fn journal_documents(lines: &[JournalLine]) -> JournalDocuments {
    let mut out = BTreeMap::new();
    for l in lines {
        let docs = match serde_json::from_str::<Event>(&l.data) {
            Ok(Event::DossierReceived { documents, .. }) => documents,
            Ok(Event::DocumentAttached { document }) => vec![document],
            _ => continue,
        };
        for d in docs {
            out.insert((d.slot, d.version), (d.sha256, d.name));
        }
    }
    out
}

fn check_dossier(
    archive: &Archive,
    manifest: Option<&Manifest>,
    lines: &[JournalLine],
    report: &mut AuditReport,
) {
    let received = lines
        .iter()
        .find_map(|l| match serde_json::from_str(&l.data) {
            Ok(Event::DossierReceived { code, .. }) => Some(code),
            _ => None,
        });
    let in_file = archive
        .get(DOSSIER)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned));
    let named = manifest.map(|m| m.dossier.clone());
    match received {
        Some(Some(code)) if Some(&code) == in_file.as_ref() && Some(&code) == named.as_ref() => {
            report.check(
                "dossier",
                true,
                format!("the journal received dossier {code}"),
            )
        }
        Some(code) => report.check(
            "dossier",
            false,
            format!(
                "the journal received dossier {}, but {DOSSIER} says {} and the manifest {}",
                code.as_deref().unwrap_or("(no code)"),
                in_file.as_deref().unwrap_or("nothing"),
                named.as_deref().unwrap_or("nothing")
            ),
        ),
        None => report.check("dossier", false, "the journal has no dossier_received row"),
    }
}

/// The path of a document version in the archive.
pub fn document_path(slot: &str, version: i32, name: &str) -> String {
    format!(
        "documents/{}/v{version}/{}",
        safe_file_name(slot),
        safe_file_name(name)
    )
}

fn check_documents(archive: &Archive, documents: &JournalDocuments, report: &mut AuditReport) {
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    for ((slot, version), (sha256, name)) in documents {
        let path = document_path(slot, *version, name);
        match archive.get(&path) {
            None => problems.push(format!("{path} (journal: {slot} v{version}) is missing")),
            Some(bytes) if sha256_hex(bytes) != *sha256 => problems.push(format!(
                "{path}: its SHA-256 is not the one the journal recorded for {slot} v{version}"
            )),
            Some(_) => {}
        }
        expected.insert(path);
    }
    for path in archive.files.keys().filter(|p| p.starts_with("documents/")) {
        if !expected.contains(path) {
            problems.push(format!("{path} is not a document the journal recorded"));
        }
    }
    if problems.is_empty() {
        report.check(
            "documents",
            true,
            format!("{} document versions match the journal", documents.len()),
        );
    } else {
        report.check("documents", false, problems.join("; "));
    }
}

fn check_signatures(
    archive: &Archive,
    documents: &JournalDocuments,
    lines: &[JournalLine],
    trust: &TrustStore,
    now: DateTime<Utc>,
    report: &mut AuditReport,
) {
    let entries: Vec<SignatureEntry> = match archive.get(SIGNATURES).map(serde_json::from_slice) {
        None => Vec::new(),
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            report.check(
                "signatures",
                false,
                format!("{SIGNATURES} is not valid: {e}"),
            );
            return;
        }
    };
    // Every signature the journal recorded must be in the archive, and only those; each is
    // recorded with the slot, version and document hash it was accepted for.
    let journaled: BTreeMap<String, (String, i32, String)> = lines
        .iter()
        .filter_map(|l| match serde_json::from_str::<Event>(&l.data) {
            Ok(Event::DocumentSigned { signature }) => Some((
                signature.signature_sha256,
                (signature.slot, signature.version, signature.document_sha256),
            )),
            _ => None,
        })
        .collect();
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for e in &entries {
        listed.insert(e.signature_sha256.clone());
        let Some(signature) = archive.get(&e.file) else {
            problems.push(format!("{} is missing", e.file));
            continue;
        };
        if sha256_hex(signature) != e.signature_sha256 {
            problems.push(format!(
                "{}: not the signature the journal recorded",
                e.file
            ));
        }
        match journaled.get(&e.signature_sha256) {
            None => problems.push(format!("{}: the journal records no such signature", e.file)),
            Some((slot, version, sha))
                if (slot, version, sha) != (&e.slot, &e.version, &e.document_sha256) =>
            {
                problems.push(format!(
                    "{}: the journal recorded it over {slot} v{version}, not {} v{}",
                    e.file, e.slot, e.version
                ))
            }
            Some(_) => {}
        }
        let document = documents
            .get(&(e.slot.clone(), e.version))
            .filter(|(sha, _)| *sha == e.document_sha256)
            .and_then(|(_, name)| archive.get(&document_path(&e.slot, e.version, name)));
        let Some(document) = document else {
            problems.push(format!(
                "{}: the signed document {} v{} is not in the archive",
                e.file, e.slot, e.version
            ));
            continue;
        };
        let r = verify_detached(document, signature, trust, now);
        if !r.passed() {
            problems.push(format!(
                "{} ({} v{}): {}{}",
                e.file,
                e.slot,
                e.version,
                r.indication.as_str(),
                r.sub_indication
                    .map(|s| format!(" / {}", s.as_str()))
                    .unwrap_or_default()
            ));
        }
        report.signatures.push(SignatureCheck {
            file: e.file.clone(),
            slot: e.slot.clone(),
            version: e.version,
            report: r,
        });
    }
    for missing in journaled.keys().filter(|k| !listed.contains(*k)) {
        problems.push(format!(
            "the journal records signature {missing}, which the archive does not hold"
        ));
    }
    if problems.is_empty() {
        report.check(
            "signatures",
            true,
            format!("{} document signature(s) verified", entries.len()),
        );
    } else {
        report.check("signatures", false, problems.join("; "));
    }
}

fn check_checkpoints(
    archive: &Archive,
    instance: Option<&str>,
    lines: &[JournalLine],
    trust: &TrustStore,
    now: DateTime<Utc>,
    report: &mut AuditReport,
) {
    let entries: Vec<CheckpointEntry> = match archive.get(CHECKPOINTS).map(serde_json::from_slice) {
        None => Vec::new(),
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            report.check(
                "checkpoints",
                false,
                format!("{CHECKPOINTS} is not valid: {e}"),
            );
            return;
        }
    };
    let by_seq: BTreeMap<i64, Option<&str>> =
        lines.iter().map(|l| (l.seq, l.hash.as_deref())).collect();
    let mut problems = Vec::new();
    let mut covered = 0;
    for e in &entries {
        let Some(signature) = archive.get(&e.signature) else {
            problems.push(format!("checkpoint {}: {} is missing", e.id, e.signature));
            continue;
        };
        let r = verify_detached(e.payload.as_bytes(), signature, trust, now);
        if !r.passed() {
            problems.push(format!(
                "checkpoint {}: its signature is {}{}",
                e.id,
                r.indication.as_str(),
                r.sub_indication
                    .map(|s| format!(" / {}", s.as_str()))
                    .unwrap_or_default()
            ));
        }
        let in_tree = serde_json::from_str::<CheckpointPayload>(&e.payload)
            .ok()
            .filter(|p| p.format == checkpoint::FORMAT && p.id == e.id)
            .and_then(|p| {
                let root = checkpoint::parse_hash(&p.root)?;
                let path = e
                    .audit_path
                    .iter()
                    .map(|h| checkpoint::parse_hash(h))
                    .collect::<Option<Vec<merkle::Hash>>>()?;
                let leaf = u64::try_from(e.leaf).ok()?;
                Some(merkle::verify_inclusion(
                    &e.head.leaf_hash(),
                    leaf,
                    p.size,
                    &path,
                    &root,
                ))
            })
            .unwrap_or(false);
        let same_instance = Some(e.head.instance.as_str()) == instance;
        let row_matches = by_seq.get(&e.head.seq) == Some(&Some(e.head.hash.as_str()));
        if !in_tree {
            problems.push(format!(
                "checkpoint {}: the head of row {} is not in the signed tree",
                e.id, e.head.seq
            ));
        }
        if !same_instance {
            problems.push(format!(
                "checkpoint {}: it signed the head of another instance",
                e.id
            ));
        }
        if !row_matches {
            let kind = lines
                .iter()
                .find(|l| l.seq == e.head.seq)
                .map_or("missing", |l| l.kind.as_str());
            problems.push(format!(
                "checkpoint {} signed journal row {} ({kind}) with another hash: the journal \
                 was rewritten after the checkpoint",
                e.id, e.head.seq
            ));
        }
        if r.passed() && in_tree && same_instance && row_matches {
            covered = covered.max(e.head.seq);
        }
        report.checkpoints.push(CheckpointCheck {
            id: e.id,
            seq: e.head.seq,
            head_matches: in_tree && same_instance && row_matches,
            report: r,
        });
    }
    let last = lines.last().map_or(0, |l| l.seq);
    if entries.is_empty() {
        problems.push(
            "no signed checkpoint covers the journal: a rewrite of the whole chain would not \
             show"
                .to_owned(),
        );
    } else if covered < last {
        problems.push(format!(
            "journal rows {}..{last} are not covered by a valid signed checkpoint",
            covered + 1
        ));
    }
    if problems.is_empty() {
        report.check(
            "checkpoints",
            true,
            format!(
                "{} signed checkpoint(s); the last covers row {last}",
                entries.len()
            ),
        );
    } else {
        report.check("checkpoints", false, problems.join("; "));
    }
}
