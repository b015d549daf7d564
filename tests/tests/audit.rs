//! The tamper-evident trail, on SQLite and PostgreSQL: the journal's hash chain, the engine's
//! signed checkpoints over the chain heads, the dossier archive and its offline verification.
//! Tampering is done the way an attacker with database access would: by SQL on the rows.

use std::sync::Arc;

use motcua_engine::audit::archive::{JOURNAL, MANIFEST};
use motcua_engine::audit::{verify_archive, Archive, AuditReport};
use motcua_engine::chain;
use motcua_engine::store::any::AnyStore;
use motcua_engine::{
    Applicant, ApplicantKind, CommandOptions, DeployFile, DocumentInput, DossierState, Engine,
    FolderBlobStore, SubmitDossier,
};
use motcua_signing::{SigningIdentity, TrustStore};
use motcua_tests::{pki, Backend, TestDb};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");
const AGENCY: &str = "000.00.01.H22";

struct Setup {
    db: TestDb,
    engine: Engine<AnyStore>,
    key: SigningIdentity,
    trust: TrustStore,
    _dir: TempDir,
}

/// The engine's own key: a certificate of the test PKI valid for years either side of now, so
/// the fixed test clock is inside it whenever the tests run.
fn engine_key(pki: &pki::Pki) -> SigningIdentity {
    pki.user(&pki::Spec {
        cn: "motcua engine (Trung tâm Phục vụ hành chính công)",
        org: "UBND tỉnh Thừa Thiên Huế",
        serial: 900,
        usage: pki::Usage::Signing,
        from: -900 * pki::DAY,
        to: 900 * pki::DAY,
    })
}

async fn setup(backend: Backend, test: &str) -> Option<Setup> {
    let db = TestDb::new(backend, test).await?;
    let dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FolderBlobStore::new(dir.path().join("blobs")));
    let engine = db.open().await.with_blobs(blobs);
    engine
        .deploy(
            "catalog",
            &[DeployFile {
                name: "khai-sinh.bpmn".into(),
                bytes: BIRTH.as_bytes().to_vec(),
            }],
        )
        .await
        .unwrap();
    let pki = pki::Pki::new();
    let mut trust = TrustStore::new();
    trust.add_root(pki.root.clone());
    Some(Setup {
        db,
        engine,
        key: engine_key(&pki),
        trust,
        _dir: dir,
    })
}

fn data(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

async fn receive(s: &Setup, who: &str, id: &str) -> String {
    let view = s
        .engine
        .submit_dossier(
            SubmitDossier {
                procedure_key: "dang-ky-khai-sinh".into(),
                version: None,
                agency_code: AGENCY.into(),
                applicant: Applicant {
                    kind: ApplicantKind::CitizenId,
                    id: id.into(),
                    name: who.into(),
                    address: Some("12 Lê Lợi, Huế".into()),
                    phone: None,
                    email: None,
                },
                data: data(json!({"hoTenTre": "Nguyễn Văn An"})),
                documents: vec![DocumentInput::Upload {
                    slot: "to-khai".into(),
                    name: "Tờ khai.pdf".into(),
                    media_type: "application/pdf".into(),
                    bytes: b"%PDF-1.7 to khai dang ky khai sinh".to_vec(),
                }],
                due_at: None,
                certify: Vec::new(),
            },
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    view.dossier.code
}

fn failed(report: &AuditReport, check: &str) -> String {
    report
        .checks
        .iter()
        .find(|c| c.check == check && !c.passed)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| panic!("expected check '{check}' to fail:\n{}", report.text()))
}

/// A journal's rows as the chain reads them, hashed as rows of instance `id`.
fn rows<'a>(
    journal: &'a [motcua_engine::store::JournalEntry],
    id: &'a str,
) -> impl Iterator<Item = (chain::Row<'a>, Option<&'a str>)> {
    journal.iter().map(move |e| {
        (
            chain::Row {
                instance: id,
                seq: e.seq,
                kind: &e.kind,
                actor: e.actor.as_deref(),
                at: e.at,
                data: &e.data,
            },
            e.hash.as_deref(),
        )
    })
}

async fn every_journal_row_is_chained_and_the_state_holds_the_head(backend: Backend) {
    let Some(s) = setup(backend, "every_journal_row_is_chained").await else {
        return;
    };
    let code = receive(&s, "Nguyễn Thị Hoa", "046090000001").await;
    s.engine
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            None,
            CommandOptions::by("a"),
        )
        .await
        .unwrap();
    let view = s.engine.dossier(&code).await.unwrap();
    let instance = view.dossier.instance;
    let journal = s.engine.journal(instance).await.unwrap();
    assert!(journal.len() > 3);
    // Hashed with the instance id: under another id the first row does not hold.
    assert!(matches!(
        chain::verify(rows(&journal, "")),
        Err(chain::ChainBreak::Hash { seq: 1, .. })
    ));
    let id = instance.to_string();
    let head = chain::verify(rows(&journal, &id)).unwrap();
    let state = s.engine.instance(instance).await.unwrap();
    assert_eq!(state.journal_head, head);
    assert_eq!(
        head.as_deref(),
        journal.last().and_then(|e| e.hash.as_deref())
    );
    // Replay rebuilds the same state, head included.
    s.engine.verify_instance(instance).await.unwrap();
    // A fresh engine (no cache) continues the same chain.
    let again = s.db.open().await;
    again
        .transition_dossier(
            &code,
            DossierState::Cancelled,
            Some("rút hồ sơ".into()),
            None,
            CommandOptions::by("b"),
        )
        .await
        .unwrap();
    let report = again.verify_dossier(&code, &s.trust).await.unwrap();
    assert_eq!(
        report
            .checks
            .iter()
            .find(|c| c.check == "journal")
            .map(|c| c.passed),
        Some(true),
        "{}",
        report.text()
    );
}

async fn checkpoints_cover_what_changed_and_chain_to_each_other(backend: Backend) {
    let Some(s) = setup(backend, "checkpoints_cover_what_changed").await else {
        return;
    };
    let a = receive(&s, "Nguyễn Thị Hoa", "046090000001").await;
    let b = receive(&s, "Trần Văn Bình", "046090000002").await;
    let first = s.engine.checkpoint(&s.key).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].id, first[0].size), (1, 2));
    assert!(
        s.engine.checkpoint(&s.key).await.unwrap().is_empty(),
        "nothing changed, nothing to sign"
    );
    s.engine
        .transition_dossier(
            &b,
            DossierState::Processing,
            None,
            None,
            CommandOptions::by("x"),
        )
        .await
        .unwrap();
    let second = s.engine.checkpoint(&s.key).await.unwrap();
    assert_eq!((second[0].id, second[0].size), (2, 1), "only b changed");
    let payload: Value = serde_json::from_str(&second[0].payload).unwrap();
    assert_eq!(
        payload["previous"],
        json!(motcua_engine::checkpoint::payload_digest(&first[0].payload))
    );
    // Each checkpoint's signature verifies over its payload with the configured roots.
    for c in first.iter().chain(&second) {
        let r = motcua_signing::verify_detached(
            c.payload.as_bytes(),
            &c.signature,
            &s.trust,
            s.engine.now(),
        );
        assert!(r.passed(), "{r:?}");
    }
    let a_instance = s.engine.dossier(&a).await.unwrap().dossier.instance;
    let b_instance = s.engine.dossier(&b).await.unwrap().dossier.instance;
    assert_eq!(s.engine.checkpoints_of(a_instance).await.unwrap().len(), 1);
    assert_eq!(s.engine.checkpoints_of(b_instance).await.unwrap().len(), 2);
    // At intervals, by the engine's clock: not before `every` has passed since the last one.
    receive(&s, "Phạm Thị Dung", "046090000004").await;
    let every = chrono::Duration::minutes(5);
    assert!(s
        .engine
        .checkpoint_if_due(&s.key, every)
        .await
        .unwrap()
        .is_empty());
    s.db.clock.advance(chrono::Duration::minutes(5));
    let due = s.engine.checkpoint_if_due(&s.key, every).await.unwrap();
    assert_eq!((due.len(), due[0].id, due[0].size), (1, 3, 1));
    // Two nodes racing: each makes its own number, none is written twice.
    let other = s.db.open().await;
    receive(&s, "Lê Văn Cường", "046090000003").await;
    let (x, y) = tokio::join!(s.engine.checkpoint(&s.key), other.checkpoint(&s.key));
    let ids: Vec<i64> = x.unwrap().iter().chain(&y.unwrap()).map(|c| c.id).collect();
    assert!(ids.contains(&4), "{ids:?}");
    assert_eq!(
        s.db.count(&s.engine, "SELECT COUNT(*) FROM journal_checkpoints")
            .await,
        ids.len() as i64 + 3
    );
}

async fn an_exported_dossier_verifies_offline_and_names_what_was_changed(backend: Backend) {
    let Some(s) = setup(backend, "an_exported_dossier_verifies_offline").await else {
        return;
    };
    let code = receive(&s, "Nguyễn Thị Hoa", "046090000001").await;
    s.engine
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            None,
            CommandOptions::by("x"),
        )
        .await
        .unwrap();
    let archive = s.engine.export_dossier(&code, Some(&s.key)).await.unwrap();
    let zip = archive.to_zip().unwrap();
    let read = Archive::from_zip(&zip).unwrap();
    let now = s.engine.now();
    let report = verify_archive(&read, &s.trust, now);
    assert!(report.passed, "{}", report.text());
    assert_eq!(report.dossier.as_deref(), Some(code.as_str()));
    assert!(!report.checkpoints.is_empty());
    assert!(read
        .files
        .keys()
        .any(|p| p == "documents/to-khai/v1/Tờ khai.pdf"));
    // The certificates the signatures carry are there to read, beside the engine's.
    let certificates: Vec<&String> = read
        .files
        .keys()
        .filter(|p| p.starts_with("certificates/"))
        .collect();
    assert!(certificates.len() >= 3, "{certificates:?}");

    // Only the configured roots are trusted: another root fails the signatures.
    let stranger = pki::Pki::new();
    let mut other_trust = TrustStore::new();
    other_trust.add_root(stranger.root.clone());
    let report = verify_archive(&read, &other_trust, now);
    assert!(!report.passed);
    failed(&report, "checkpoints");
    failed(&report, "export-signature");

    // A journal line edited in the archive: the manifest and the chain both name it.
    let mut edited = read.clone();
    let text = String::from_utf8(edited.files[JOURNAL].clone()).unwrap();
    let changed = text.replacen("mot-cua-1", "nguoi-khac", 1);
    assert_ne!(changed, text);
    edited.files.insert(JOURNAL.into(), changed.into_bytes());
    let report = verify_archive(&edited, &s.trust, now);
    assert!(!report.passed);
    assert!(failed(&report, "manifest").contains(JOURNAL));
    let journal = failed(&report, "journal");
    assert!(
        journal.contains("journal row 1 (instance_started)"),
        "{journal}"
    );

    // A document's bytes changed: named against the journal's hash.
    let mut doc = read.clone();
    let path = "documents/to-khai/v1/Tờ khai.pdf".to_owned();
    let mut bytes = doc.files[&path].clone();
    bytes[0] ^= 1;
    doc.files.insert(path.clone(), bytes);
    let report = verify_archive(&doc, &s.trust, now);
    assert!(failed(&report, "documents").contains(&path));

    // The manifest rewritten to match: its signature no longer holds.
    let mut manifest: Value = serde_json::from_slice(&doc.files[MANIFEST]).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == json!(path) {
            f["sha256"] = json!(motcua_engine::chain::hex(&sha(&doc.files[&path])));
        }
    }
    doc.files.insert(
        MANIFEST.into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    let report = verify_archive(&doc, &s.trust, now);
    assert!(failed(&report, "export-signature").contains("HASH_FAILURE"));
    failed(&report, "documents");

    // Not a zip, or a zip with a path escaping the folder: an error, never a panic.
    assert!(Archive::from_zip(b"PK\x03\x04 broken").is_err());
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

async fn an_edited_journal_row_in_the_database_is_named(backend: Backend) {
    let Some(s) = setup(backend, "an_edited_journal_row_in_the_database").await else {
        return;
    };
    let code = receive(&s, "Nguyễn Thị Hoa", "046090000001").await;
    s.engine
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            None,
            CommandOptions::by("x"),
        )
        .await
        .unwrap();
    s.engine.checkpoint(&s.key).await.unwrap();
    let report = s.engine.verify_dossier(&code, &s.trust).await.unwrap();
    assert!(report.passed, "{}", report.text());
    let instance = s.engine.dossier(&code).await.unwrap().dossier.instance;
    let journal = s.engine.journal(instance).await.unwrap();
    let received = journal
        .iter()
        .find(|e| e.kind == "dossier_received")
        .unwrap()
        .seq;

    // 1. The applicant's name changed in the dossier_received row, hash left alone.
    let edit = format!(
        "UPDATE journal SET data = replace(data, 'Nguyễn Thị Hoa', 'Nguyễn Thị Hòa') \
         WHERE instance_id = '{instance}' AND seq = {received}"
    );
    s.db.execute(&s.engine, &edit, &edit).await;
    let report = s.engine.verify_dossier(&code, &s.trust).await.unwrap();
    assert!(!report.passed);
    let message = failed(&report, "journal");
    assert!(
        message.contains(&format!("journal row {received} (dossier_received)")),
        "{message}"
    );

    // 2. The attacker recomputes the whole chain after the edit (they have the database, not
    //    the engine's key): the chain holds again, the signed checkpoint does not.
    let journal = s.engine.journal(instance).await.unwrap();
    let id = instance.to_string();
    let mut head: Option<String> = None;
    for (row, _) in rows(&journal, &id) {
        let h = chain::link(head.as_deref(), row);
        let update = format!(
            "UPDATE journal SET hash = '{h}' WHERE instance_id = '{id}' AND seq = {}",
            row.seq
        );
        s.db.execute(&s.engine, &update, &update).await;
        head = Some(h);
    }
    let report = s.engine.verify_dossier(&code, &s.trust).await.unwrap();
    assert!(!report.passed);
    assert!(report
        .checks
        .iter()
        .any(|c| c.check == "journal" && c.passed));
    let message = failed(&report, "checkpoints");
    assert!(
        message.contains("checkpoint 1 signed journal row")
            && message.contains("rewritten after the checkpoint"),
        "{message}"
    );
}

motcua_tests::on_both_databases!(
    every_journal_row_is_chained_and_the_state_holds_the_head,
    checkpoints_cover_what_changed_and_chain_to_each_other,
    an_exported_dossier_verifies_offline_and_names_what_was_changed,
    an_edited_journal_row_in_the_database_is_named,
);
