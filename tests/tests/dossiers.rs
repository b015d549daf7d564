//! Dossiers (hồ sơ) on a real SQLite file and a real PostgreSQL database (each test runs on
//! both), with a manual clock: codes per Circular 01/2018 (Vietnam day, gap-free under
//! concurrency, per agency), atomic receipt with the instance, document versions and tamper
//! detection, "submit paper once" reuse, the lifecycle table, the overdue flag, replay, and form
//! storage.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::{NewForm, Store, TaskQuery};
use motcua_engine::{
    Applicant, ApplicantKind, BlobError, BlobStore, CertifyInput, CommandOptions, DeployFile,
    DocumentInput, DossierState, Engine, EngineError, Event, FolderBlobStore, SubmitDossier,
};
use motcua_tests::{Backend, TestDb};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");
const AGENCY: &str = "000.00.01.H22";

struct Setup {
    db: TestDb,
    engine: Engine<AnyStore>,
    blobs: Arc<FolderBlobStore>,
    _dir: TempDir,
}

async fn setup(backend: Backend, test: &str) -> Option<Setup> {
    let db = TestDb::new(backend, test).await?;
    let dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FolderBlobStore::new(dir.path().join("blobs")));
    let engine = db.open().await.with_blobs(blobs.clone());
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
    Some(Setup {
        db,
        engine,
        blobs,
        _dir: dir,
    })
}

fn citizen(id: &str, name: &str) -> Applicant {
    Applicant {
        kind: ApplicantKind::CitizenId,
        id: id.into(),
        name: name.into(),
        address: Some("12 Lê Lợi, Huế".into()),
        phone: Some("0912345678".into()),
        email: None,
    }
}

fn upload(slot: &str, bytes: &[u8]) -> DocumentInput {
    DocumentInput::Upload {
        slot: slot.into(),
        name: format!("{slot}.pdf"),
        media_type: "application/pdf".into(),
        bytes: bytes.to_vec(),
    }
}

fn data(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn submit(agency: &str, applicant: Applicant, documents: Vec<DocumentInput>) -> SubmitDossier {
    SubmitDossier {
        procedure_key: "dang-ky-khai-sinh".into(),
        version: None,
        agency_code: agency.into(),
        applicant,
        data: data(json!({"hoTenTre": "Nguyễn Văn An"})),
        documents,
        due_at: None,
        certify: Vec::new(),
    }
}

/// 2026-11-24T18:30Z is 2026-11-25 01:30 in Vietnam.
fn evening() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap()
}

async fn submit_creates_instance_and_dossier(backend: Backend) {
    let Some(s) = setup(backend, "submit_creates_instance_and_dossier").await else {
        return;
    };
    s.db.clock.set(evening());
    let first = s
        .engine
        .submit_dossier(
            submit(
                AGENCY,
                citizen("046090000001", "Nguyễn Thị Hoa"),
                vec![upload("to-khai", b"to khai")],
            ),
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    assert_eq!(first.dossier.code, "000.00.01.H22-261125-0001");
    assert_eq!(first.dossier.state, DossierState::Received);
    assert_eq!(first.dossier.version, 1);
    assert_eq!(first.documents.len(), 1);
    assert_eq!(first.dossier.applicant.phone.as_deref(), Some("0912345678"));
    // The instance exists, with the form data as its variables.
    let state = s.engine.instance(first.dossier.instance).await.unwrap();
    assert_eq!(state.variables["hoTenTre"], json!("Nguyễn Văn An"));
    // The journal's dossier_received carries the code the store allocated.
    let journal = s.engine.journal(first.dossier.instance).await.unwrap();
    let received = journal
        .iter()
        .find_map(|e| match &e.event {
            Event::DossierReceived { code, .. } => Some(code.clone()),
            _ => None,
        })
        .expect("a dossier_received event");
    assert_eq!(received.as_deref(), Some("000.00.01.H22-261125-0001"));
    let second = s
        .engine
        .submit_dossier(
            submit(AGENCY, citizen("046090000002", "Trần Văn Bình"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(second.dossier.code, "000.00.01.H22-261125-0002");
    assert_eq!(
        s.engine
            .dossier_by_instance(second.dossier.instance)
            .await
            .unwrap()
            .dossier
            .code,
        second.dossier.code
    );

    // Atomic: a submission whose dossier row cannot be written leaves no instance and no number.
    s.db.execute(
        &s.engine,
        "INSERT INTO dossiers (code, instance_id, procedure_key, procedure_version, agency, \
         applicant_kind, applicant_id, applicant_name, applicant, state, received_at, data, \
         updated_at, version) VALUES ('000.00.01.H22-261125-0003', 'blocker', 'x', 1, 'x', \
         'citizen_id', '1', 'x', '{}', 'received', '2026-11-24T18:30:00Z', '{}', \
         '2026-11-24T18:30:00Z', 1)",
        "INSERT INTO dossiers (code, instance_id, procedure_key, procedure_version, agency, \
         applicant_kind, applicant_id, applicant_name, applicant, state, received_at, data, \
         updated_at, version) VALUES ('000.00.01.H22-261125-0003', 'blocker', 'x', 1, 'x', \
         'citizen_id', '1', 'x', '{}', 'received', '2026-11-24T18:30:00Z', '{}', \
         '2026-11-24T18:30:00Z', 1)",
    )
    .await;
    let instances =
        s.db.count(&s.engine, "SELECT COUNT(*) FROM instances")
            .await;
    let refused = s
        .engine
        .submit_dossier(
            submit(AGENCY, citizen("046090000003", "Lê Văn Cường"), vec![]),
            CommandOptions::default(),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        s.db.count(&s.engine, "SELECT COUNT(*) FROM instances")
            .await,
        instances
    );
    s.db.execute(
        &s.engine,
        "DELETE FROM dossiers WHERE instance_id = 'blocker'",
        "DELETE FROM dossiers WHERE instance_id = 'blocker'",
    )
    .await;
    let third = s
        .engine
        .submit_dossier(
            submit(AGENCY, citizen("046090000003", "Lê Văn Cường"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(third.dossier.code, "000.00.01.H22-261125-0003", "no gap");

    // A retried submission under the same idempotency key answers the first dossier.
    let keyed = || {
        submit(
            AGENCY,
            citizen("046090000004", "Phạm Thị Dung"),
            vec![upload("to-khai", b"dung")],
        )
    };
    let a = s
        .engine
        .submit_dossier(keyed(), CommandOptions::default().with_key("nop-1"))
        .await
        .unwrap();
    let b = s
        .engine
        .submit_dossier(keyed(), CommandOptions::default().with_key("nop-1"))
        .await
        .unwrap();
    assert_eq!(a.dossier.code, "000.00.01.H22-261125-0004");
    assert_eq!(b.dossier.code, a.dossier.code);
    assert_eq!(
        s.db.count(&s.engine, "SELECT COUNT(*) FROM dossiers").await,
        4
    );
    let reused_key = s
        .engine
        .submit_dossier(
            submit(AGENCY, citizen("046090000005", "Khác"), vec![]),
            CommandOptions::default().with_key("nop-1"),
        )
        .await;
    assert!(
        matches!(reused_key, Err(EngineError::Conflict(_))),
        "{reused_key:?}"
    );

    // Bad input is refused before anything is written.
    let bad = s
        .engine
        .submit_dossier(
            submit("../x", citizen("046090000003", "x"), vec![]),
            CommandOptions::default(),
        )
        .await;
    assert!(matches!(bad, Err(EngineError::Invalid(_))), "{bad:?}");
    let bad = s
        .engine
        .submit_dossier(
            submit(AGENCY, citizen("12", "x"), vec![]),
            CommandOptions::default(),
        )
        .await;
    assert!(matches!(bad, Err(EngineError::Invalid(_))), "{bad:?}");
}

async fn concurrent_codes_are_gap_free(backend: Backend) {
    let Some(s) = setup(backend, "concurrent_codes_are_gap_free").await else {
        return;
    };
    s.db.clock.set(evening());
    // Two engines (two nodes) on the same database.
    let other = Arc::new(s.db.open().await.with_blobs(s.blobs.clone()));
    let engine = Arc::new(s.engine);
    let mut handles = Vec::new();
    for i in 0..20 {
        let e = if i % 2 == 0 {
            engine.clone()
        } else {
            other.clone()
        };
        handles.push(tokio::spawn(async move {
            e.submit_dossier(
                submit(
                    AGENCY,
                    citizen(&format!("0460900001{i:02}"), "Người nộp"),
                    vec![],
                ),
                CommandOptions::default(),
            )
            .await
            .map(|v| v.dossier.code)
        }));
    }
    let mut codes = BTreeSet::new();
    for h in handles {
        codes.insert(h.await.unwrap().unwrap());
    }
    let expected: BTreeSet<String> = (1..=20)
        .map(|n| format!("000.00.01.H22-261125-{n:04}"))
        .collect();
    assert_eq!(codes, expected);
    // Another agency has its own sequence.
    let other_agency = engine
        .submit_dossier(
            submit("000.00.02.H22", citizen("046090000200", "X"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(other_agency.dossier.code, "000.00.02.H22-261125-0001");
    // The next day (Vietnam time) starts again at 0001.
    s.db.clock.advance(Duration::days(1));
    let next_day = engine
        .submit_dossier(
            submit(AGENCY, citizen("046090000201", "Y"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(next_day.dossier.code, "000.00.01.H22-261126-0001");
}

async fn documents_are_versioned_and_verified(backend: Backend) {
    let Some(s) = setup(backend, "documents_are_versioned_and_verified").await else {
        return;
    };
    let e = &s.engine;
    let view = e
        .submit_dossier(
            submit(
                AGENCY,
                citizen("046090000001", "Nguyễn Thị Hoa"),
                vec![
                    upload("to-khai", b"to khai v1"),
                    upload("giay-chung-sinh", b"giay chung sinh"),
                ],
            ),
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    assert_eq!(view.documents.len(), 2);
    e.transition_dossier(
        &code,
        DossierState::SupplementRequested,
        Some("Tờ khai thiếu chữ ký".into()),
        None,
        CommandOptions::by("mot-cua-1"),
    )
    .await
    .unwrap();
    let v2 = e
        .add_document(
            &code,
            upload("to-khai", b"to khai v2"),
            CommandOptions::by("cong-dan"),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.added_by.as_deref(), Some("cong-dan"));
    let all = e.dossier_documents(&code).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|d| (d.slot.as_str(), d.version))
            .collect::<Vec<_>>(),
        [("giay-chung-sinh", 1), ("to-khai", 1), ("to-khai", 2)]
    );
    let latest = e.dossier(&code).await.unwrap();
    assert_eq!(latest.dossier.version, 3);
    let to_khai = latest
        .documents
        .iter()
        .find(|d| d.slot == "to-khai")
        .unwrap();
    assert_eq!(to_khai.version, 2);
    assert_eq!(
        e.read_document(&code, "to-khai", 1).await.unwrap(),
        b"to khai v1"
    );
    assert_eq!(
        e.read_document(&code, "to-khai", 2).await.unwrap(),
        b"to khai v2"
    );
    // A document closed to supplements: a final dossier accepts none.
    e.transition_dossier(
        &code,
        DossierState::Cancelled,
        None,
        None,
        CommandOptions::default(),
    )
    .await
    .unwrap();
    let closed = e
        .add_document(&code, upload("to-khai", b"v3"), CommandOptions::default())
        .await;
    assert!(
        matches!(closed, Err(EngineError::Conflict(_))),
        "{closed:?}"
    );

    // Bytes changed on disk are detected on read.
    let path = s.blobs.path_of(&to_khai.sha256).unwrap();
    std::fs::write(&path, b"to khai FORGED").unwrap();
    let tampered = e.read_document(&code, "to-khai", 2).await;
    match tampered {
        Err(EngineError::Fatal(m)) => assert!(m.contains(&to_khai.sha256), "{m}"),
        other => panic!("expected a tampered document, got {other:?}"),
    }
    assert!(matches!(
        s.blobs.get(&to_khai.sha256),
        Err(BlobError::Tampered { .. })
    ));
    // Version 1 is untouched.
    assert_eq!(
        e.read_document(&code, "to-khai", 1).await.unwrap(),
        b"to khai v1"
    );
    // Without a document store, uploads are refused.
    let bare = s.db.open().await;
    let refused = bare
        .submit_dossier(
            submit(
                AGENCY,
                citizen("046090000001", "x"),
                vec![upload("a", b"a")],
            ),
            CommandOptions::default(),
        )
        .await;
    assert!(
        matches!(&refused, Err(EngineError::Invalid(m)) if m.contains("no document store")),
        "{refused:?}"
    );
}

async fn applicant_documents_are_reused_by_their_owner_only(backend: Backend) {
    let Some(s) = setup(
        backend,
        "applicant_documents_are_reused_by_their_owner_only",
    )
    .await
    else {
        return;
    };
    let e = &s.engine;
    let hoa = citizen("046090000001", "Nguyễn Thị Hoa");
    let mut first = submit(AGENCY, hoa.clone(), vec![upload("cccd", b"cccd scan")]);
    first.certify = vec![motcua_engine::CertifySlot {
        slot: "cccd".into(),
        certify: CertifyInput {
            doc_type: "cccd".into(),
            number: Some("046090000001".into()),
            issuer: Some("Cục Cảnh sát QLHC về TTXH".into()),
            issued_on: chrono::NaiveDate::from_ymd_opt(2021, 5, 4),
        },
    }];
    let first = e
        .submit_dossier(first, CommandOptions::by("mot-cua-1"))
        .await
        .unwrap();
    let store = e
        .applicant_documents(ApplicantKind::CitizenId, "046090000001")
        .await
        .unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(store[0].certified_by.as_deref(), Some("mot-cua-1"));
    assert_eq!(
        store[0].source_dossier.as_deref(),
        Some(first.dossier.code.as_str())
    );
    let cccd = store[0].id.clone();

    // The same owner reuses it instead of uploading.
    let second = e
        .submit_dossier(
            submit(
                AGENCY,
                hoa.clone(),
                vec![DocumentInput::Reuse {
                    slot: "cccd-me".into(),
                    applicant_document_id: cccd.clone(),
                }],
            ),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        second.documents[0].reused_from.as_deref(),
        Some(cccd.as_str())
    );
    assert_eq!(second.documents[0].sha256, store[0].sha256);
    assert_eq!(
        e.read_document(&second.dossier.code, "cccd-me", 1)
            .await
            .unwrap(),
        b"cccd scan"
    );
    let journal = e.journal(second.dossier.instance).await.unwrap();
    assert!(journal.iter().any(|j| matches!(&j.event,
        Event::DossierReceived { documents, .. }
            if documents.iter().any(|d| d.reused_from.as_deref() == Some(cccd.as_str())))));

    // Another person may not.
    let dossiers = s.db.count(e, "SELECT COUNT(*) FROM dossiers").await;
    let instances = s.db.count(e, "SELECT COUNT(*) FROM instances").await;
    let refused = e
        .submit_dossier(
            submit(
                AGENCY,
                citizen("046090000009", "Kẻ khác"),
                vec![DocumentInput::Reuse {
                    slot: "cccd".into(),
                    applicant_document_id: cccd.clone(),
                }],
            ),
            CommandOptions::default(),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(
        s.db.count(e, "SELECT COUNT(*) FROM dossiers").await,
        dossiers
    );
    assert_eq!(
        s.db.count(e, "SELECT COUNT(*) FROM instances").await,
        instances
    );
    // Nor add it to their dossier later.
    let theirs = e
        .submit_dossier(
            submit(AGENCY, citizen("046090000009", "Kẻ khác"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    let refused = e
        .add_document(
            &theirs.dossier.code,
            DocumentInput::Reuse {
                slot: "cccd".into(),
                applicant_document_id: cccd,
            },
            CommandOptions::default(),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::Rejected(_))),
        "{refused:?}"
    );

    // Certifying later, from the dossier.
    let certified = e
        .certify_document(
            &first.dossier.code,
            "cccd",
            1,
            CertifyInput {
                doc_type: "giay-khai-sinh".into(),
                ..CertifyInput::default()
            },
            CommandOptions::by("mot-cua-2"),
        )
        .await
        .unwrap();
    assert_eq!(certified.owner_id, "046090000001");
    assert_eq!(
        e.applicant_documents(ApplicantKind::CitizenId, "046090000001")
            .await
            .unwrap()
            .len(),
        2
    );
    e.verify_instance(first.dossier.instance).await.unwrap();
}

async fn lifecycle_follows_the_table(backend: Backend) {
    let Some(s) = setup(backend, "lifecycle_follows_the_table").await else {
        return;
    };
    let e = &s.engine;
    let view = e
        .submit_dossier(
            submit(AGENCY, citizen("046090000001", "Hoa"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    let moved = e
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            Some(1),
            CommandOptions::by("can-bo"),
        )
        .await
        .unwrap();
    assert_eq!(moved.dossier.state, DossierState::Processing);
    assert_eq!(moved.dossier.version, 2);
    let journal_len = e.journal(view.dossier.instance).await.unwrap().len();

    // Not in the table: a conflict naming both states; nothing changes.
    let forbidden = e
        .transition_dossier(
            &code,
            DossierState::ResultReturned,
            None,
            None,
            CommandOptions::default(),
        )
        .await;
    match forbidden {
        Err(EngineError::Conflict(m)) => {
            assert!(
                m.contains("processing") && m.contains("result_returned"),
                "{m}"
            )
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A stale expected version.
    let stale = e
        .transition_dossier(
            &code,
            DossierState::Done,
            None,
            Some(1),
            CommandOptions::default(),
        )
        .await;
    assert!(matches!(stale, Err(EngineError::Conflict(_))), "{stale:?}");
    let after = e.dossier(&code).await.unwrap();
    assert_eq!(after.dossier, moved.dossier, "the row is unchanged");
    assert_eq!(
        e.journal(view.dossier.instance).await.unwrap().len(),
        journal_len,
        "the journal is unchanged"
    );

    for to in [DossierState::Transferred, DossierState::Done] {
        e.transition_dossier(&code, to, None, None, CommandOptions::default())
            .await
            .unwrap();
    }
    let done = e.dossier(&code).await.unwrap();
    assert!(done.dossier.finished_at.is_some());
    s.db.clock.advance(Duration::hours(2));
    let returned = e
        .transition_dossier(
            &code,
            DossierState::ResultReturned,
            None,
            Some(done.dossier.version),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(returned.dossier.finished_at, done.dossier.finished_at);
    // Final: nothing leaves it.
    let final_state = e
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            None,
            CommandOptions::default(),
        )
        .await;
    assert!(matches!(final_state, Err(EngineError::Conflict(_))));
    let changes: Vec<(String, String)> = e
        .journal(view.dossier.instance)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|j| match j.event {
            Event::DossierStateChanged { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(changes.len(), 4);
    // An idempotent retry changes nothing more.
    let other = e
        .submit_dossier(
            submit(AGENCY, citizen("046090000002", "Bình"), vec![]),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    let key = CommandOptions::default().with_key("move-1");
    let a = e
        .transition_dossier(
            &other.dossier.code,
            DossierState::Processing,
            None,
            None,
            key.clone(),
        )
        .await
        .unwrap();
    let b = e
        .transition_dossier(
            &other.dossier.code,
            DossierState::Processing,
            None,
            None,
            key,
        )
        .await
        .unwrap();
    assert_eq!(a.dossier.version, b.dossier.version);
}

async fn overdue_flag_follows_the_clock(backend: Backend) {
    let Some(s) = setup(backend, "overdue_flag_follows_the_clock").await else {
        return;
    };
    let e = &s.engine;
    let mut request = submit(AGENCY, citizen("046090000001", "Hoa"), vec![]);
    request.due_at = Some(s.db.clock.now_for_tests() + Duration::days(2));
    let view = e
        .submit_dossier(request, CommandOptions::default())
        .await
        .unwrap();
    assert!(!view.overdue);
    s.db.clock.advance(Duration::days(2) + Duration::minutes(1));
    let late = e.dossier(&view.dossier.code).await.unwrap();
    assert!(late.overdue);
    e.transition_dossier(
        &view.dossier.code,
        DossierState::Processing,
        None,
        None,
        CommandOptions::default(),
    )
    .await
    .unwrap();
    let done = e
        .transition_dossier(
            &view.dossier.code,
            DossierState::Done,
            None,
            None,
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert!(!done.overdue, "a done dossier is not overdue");
}

async fn replay_verifies_a_dossier_instance(backend: Backend) {
    let Some(s) = setup(backend, "replay_verifies_a_dossier_instance").await else {
        return;
    };
    let e = &s.engine;
    let view = e
        .submit_dossier(
            submit(
                AGENCY,
                citizen("046090000001", "Hoa"),
                // Both required documents: the receiving task checks them.
                vec![upload("to-khai", b"v1"), upload("giay-chung-sinh", b"gcs")],
            ),
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    let id = view.dossier.instance;
    e.verify_instance(id).await.unwrap();
    e.transition_dossier(
        &view.dossier.code,
        DossierState::Processing,
        None,
        None,
        CommandOptions::default(),
    )
    .await
    .unwrap();
    // A task completed between dossier changes (the engine's cached state stays right).
    let tasks = e
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    let task = tasks[0].record.id;
    e.claim(task, "lan", CommandOptions::by("lan"))
        .await
        .unwrap();
    e.add_document(
        &view.dossier.code,
        upload("to-khai", b"v2"),
        CommandOptions::default(),
    )
    .await
    .unwrap();
    e.complete(task, Map::new(), CommandOptions::by("lan"))
        .await
        .unwrap();
    let journal = e.journal(id).await.unwrap();
    let seqs: Vec<i64> = journal.iter().map(|j| j.seq).collect();
    assert_eq!(seqs, (1..=journal.len() as i64).collect::<Vec<_>>());
    e.verify_instance(id).await.expect("replay matches");
    // A fresh engine (no cache) agrees.
    let fresh = s.db.open().await;
    fresh.verify_instance(id).await.expect("replay matches");
}

async fn forms_are_versioned_by_content(backend: Backend) {
    let Some(db) = TestDb::new(backend, "forms_are_versioned_by_content").await else {
        return;
    };
    let engine = db.open().await;
    let form = |schema: &str| NewForm {
        id: "to-khai-khai-sinh".into(),
        resource: "to-khai.form".into(),
        schema: schema.into(),
        checksum: motcua_engine::dossier::blobs::sha256_hex(schema.as_bytes()),
    };
    let now = db.clock.now_for_tests();
    let a = engine
        .store()
        .deploy("a", &[], &[form(r#"{"components":[]}"#)], now)
        .await
        .unwrap();
    assert_eq!(a.forms[0].form.version, 1);
    assert!(a.forms[0].created);
    let b = engine
        .store()
        .deploy("b", &[], &[form(r#"{"components":[]}"#)], now)
        .await
        .unwrap();
    assert_eq!(b.forms[0].form.version, 1);
    assert!(!b.forms[0].created);
    let c = engine
        .store()
        .deploy("c", &[], &[form(r#"{"components":[{"key":"x"}]}"#)], now)
        .await
        .unwrap();
    assert_eq!(c.forms[0].form.version, 2);
    let latest = engine
        .store()
        .form("to-khai-khai-sinh", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(latest.schema, r#"{"components":[{"key":"x"}]}"#);
    assert_eq!(latest.deployment, c.forms[0].form.deployment);
    let v1 = engine
        .store()
        .form("to-khai-khai-sinh", Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.schema, r#"{"components":[]}"#);
    assert!(engine.store().form("nope", None).await.unwrap().is_none());
}

/// History cleanup removes finished instances, but never one that is a dossier: a dossier is a
/// legal record with its own retention, and its journal is its history.
async fn cleanup_keeps_the_instances_of_dossiers(backend: Backend) {
    let Some(s) = setup(backend, "cleanup_keeps_the_instances_of_dossiers").await else {
        return;
    };
    let e = &s.engine;
    let view = e
        .submit_dossier(
            submit(
                AGENCY,
                citizen("046090000001", "Hoa"),
                vec![upload("to-khai", b"v1")],
            ),
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    let dossier_instance = view.dossier.instance;
    let plain = e
        .start(
            motcua_engine::StartInstance {
                key: "dang-ky-khai-sinh".into(),
                ..Default::default()
            },
            CommandOptions::default(),
        )
        .await
        .unwrap()
        .instance;
    for id in [dossier_instance, plain] {
        e.cancel(id, Some("rút hồ sơ".into()), CommandOptions::default())
            .await
            .unwrap();
    }
    s.db.clock.advance(Duration::days(400));
    let removed = e
        .remove_finished(e.now() - Duration::days(365), 100)
        .await
        .unwrap();
    assert_eq!(removed.instances, 1);
    assert!(
        e.instance(plain).await.is_err(),
        "the plain instance is gone"
    );
    assert!(!e.journal(dossier_instance).await.unwrap().is_empty());
    assert_eq!(
        e.dossier(&view.dossier.code)
            .await
            .unwrap()
            .dossier
            .instance,
        dossier_instance
    );
}

motcua_tests::on_both_databases!(
    cleanup_keeps_the_instances_of_dossiers,
    submit_creates_instance_and_dossier,
    concurrent_codes_are_gap_free,
    documents_are_versioned_and_verified,
    applicant_documents_are_reused_by_their_owner_only,
    lifecycle_follows_the_table,
    overdue_flag_follows_the_clock,
    replay_verifies_a_dossier_instance,
    forms_are_versioned_by_content,
);
