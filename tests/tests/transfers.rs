//! Transfers between agencies (liên thông, issue #9 part 1) on a real SQLite file and a real
//! PostgreSQL database, with a manual clock: the whole dossier and one step (the task leaves the
//! sender's queue for the receiver's, the sender still reads the dossier and the transfer), SLA
//! shares across the 30/4–1/5 holidays, return with a reason, accept, an unknown agency and a
//! peer agency refused, a stale version, an idempotent retry, the self-contained payload, and
//! replay of every instance.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use motcua_engine::agency::Agencies;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    Applicant, ApplicantKind, CommandOptions, DeployFile, DocumentInput, DossierState, Engine,
    EngineError, Event, FolderBlobStore, SubmitDossier, TaskId, TransferPayload, TransferRequest,
    TransferState,
};
use motcua_tests::{on_both_databases, Backend, TestDb};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");
/// The catalog procedure's agency (its tasks route there): UBND xã Phú Thượng (commune tier).
const COMMUNE: &str = "000.00.02.H22";
/// UBND thành phố Huế (district tier).
const CITY: &str = "000.00.10.H22";
/// Sở Tư pháp (province tier).
const JUSTICE: &str = "000.00.20.H22";

struct Setup {
    db: TestDb,
    engine: Engine<AnyStore>,
    _dir: TempDir,
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
    Some(Setup {
        db,
        engine,
        _dir: dir,
    })
}

fn upload(slot: &str, bytes: &[u8]) -> DocumentInput {
    DocumentInput::Upload {
        slot: slot.into(),
        name: format!("{slot}.pdf"),
        media_type: "application/pdf".into(),
        bytes: bytes.to_vec(),
    }
}

fn submission(due_at: Option<DateTime<Utc>>) -> SubmitDossier {
    let mut data = Map::new();
    data.insert("hoTenTre".into(), json!("Nguyễn Văn An"));
    SubmitDossier {
        procedure_key: "dang-ky-khai-sinh".into(),
        version: None,
        agency_code: COMMUNE.into(),
        applicant: Applicant {
            kind: ApplicantKind::CitizenId,
            id: "046090000001".into(),
            name: "Nguyễn Thị Hoa".into(),
            address: None,
            phone: None,
            email: None,
        },
        data,
        documents: vec![
            upload("to-khai", b"to khai"),
            upload("giay-chung-sinh", b"giay chung sinh"),
        ],
        due_at,
        certify: Vec::new(),
    }
}

fn request(to: &str, reason: &str) -> TransferRequest {
    TransferRequest {
        to_agency: to.into(),
        reason: reason.into(),
        ..TransferRequest::default()
    }
}

/// The open tasks of an instance in an agency's queue.
async fn queue(e: &Engine<AnyStore>, agency: &str) -> Vec<TaskId> {
    e.tasks(&TaskQuery {
        agency: Some(agency.into()),
        ..TaskQuery::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(|t| t.record.id)
    .collect()
}

async fn open_task(e: &Engine<AnyStore>, instance: motcua_engine::InstanceId) -> TaskId {
    e.tasks(&TaskQuery {
        instance: Some(instance),
        ..TaskQuery::default()
    })
    .await
    .unwrap()[0]
        .record
        .id
}

fn kinds(journal: &[motcua_engine::store::JournalEntry]) -> Vec<&str> {
    journal.iter().map(|j| j.kind.as_str()).collect()
}

/// 2027-04-28 (a Wednesday) 09:00 in Vietnam.
fn wednesday_before_the_holidays() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 4, 28, 2, 0, 0).unwrap()
}

async fn whole_dossier_transfer_then_accept(backend: Backend) {
    let Some(s) = setup(backend, "whole_dossier_transfer_then_accept").await else {
        return;
    };
    let e = &s.engine;
    s.db.clock.set(wednesday_before_the_holidays());
    let view = e
        .submit_dossier(submission(None), CommandOptions::by("mot-cua-1"))
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    let task = open_task(e, view.dossier.instance).await;
    assert_eq!(queue(e, COMMUNE).await, vec![task]);
    e.transition_dossier(
        &code,
        DossierState::Processing,
        None,
        None,
        CommandOptions::default(),
    )
    .await
    .unwrap();

    let t = e
        .transfer_dossier(
            &code,
            request(CITY, "Thuộc thẩm quyền UBND thành phố"),
            CommandOptions::by("mot-cua-1"),
        )
        .await
        .unwrap();
    assert_eq!(t.state, TransferState::Sent);
    assert_eq!(
        (t.from_agency.as_str(), t.to_agency.as_str()),
        (COMMUNE, CITY)
    );
    assert_eq!(t.sent_by.as_deref(), Some("mot-cua-1"));
    assert_eq!(t.state_before, DossierState::Processing);
    assert!(t.is_whole());
    // Every document goes along by default, with its SHA-256.
    let slots: Vec<&str> = t.documents.iter().map(|d| d.slot.as_str()).collect();
    assert_eq!(slots, ["giay-chung-sinh", "to-khai"]);
    assert_eq!(t.documents[1].sha256.len(), 64);
    // The task moved queues; the dossier is transferred and held by the city.
    assert_eq!(t.tasks.len(), 1);
    assert_eq!(t.tasks[0].task, task);
    assert_eq!(t.tasks[0].from_agency.as_deref(), Some(COMMUNE));
    assert_eq!(queue(e, COMMUNE).await, Vec::<TaskId>::new());
    assert_eq!(queue(e, CITY).await, vec![task]);
    let now = e.dossier(&code).await.unwrap();
    assert_eq!(now.dossier.state, DossierState::Transferred);
    assert_eq!(
        now.dossier.agency, COMMUNE,
        "the owner stays the receiving counter"
    );
    let scope = e.dossier_scope(&code).await.unwrap();
    assert_eq!(scope.holder, CITY);
    assert!(scope.reads(COMMUNE) && scope.reads(CITY) && !scope.reads(JUSTICE));
    // The sender still reads the dossier and its transfer.
    assert_eq!(e.dossier_transfers(&code).await.unwrap(), vec![t.clone()]);

    let accepted = e
        .accept_transfer(&t.id, CommandOptions::by("chuyen-vien-tp"))
        .await
        .unwrap();
    assert_eq!(accepted.state, TransferState::Accepted);
    assert_eq!(accepted.decided_by.as_deref(), Some("chuyen-vien-tp"));
    assert!(accepted.decided_at.is_some());
    // Decided once.
    let again = e.accept_transfer(&t.id, CommandOptions::default()).await;
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
    let back = e
        .return_transfer(&t.id, "x".into(), CommandOptions::default())
        .await;
    assert!(matches!(back, Err(EngineError::Conflict(_))), "{back:?}");
    // The receiver works it: the task completes in the city's queue, and the next step's task
    // is created in the city's queue too (the city holds the dossier), not the commune's.
    e.complete(task, Map::new(), CommandOptions::by("chuyen-vien-tp"))
        .await
        .unwrap();
    let next = open_task(e, view.dossier.instance).await;
    assert_ne!(next, task);
    assert!(queue(e, CITY).await.contains(&next));
    assert!(!queue(e, COMMUNE).await.contains(&next));
    // The receiver moves the dossier on (transferred → processing is in the table).
    e.transition_dossier(
        &code,
        DossierState::Processing,
        None,
        None,
        CommandOptions::default(),
    )
    .await
    .unwrap();

    let journal = e.journal(view.dossier.instance).await.unwrap();
    let k = kinds(&journal);
    assert!(
        k.contains(&"dossier_transferred") && k.contains(&"transfer_accepted"),
        "{k:?}"
    );
    let sent = journal
        .iter()
        .find_map(|j| match &j.event {
            Event::DossierTransferred {
                transfer,
                to_agency,
                state,
                ..
            } => Some((transfer.clone(), to_agency.clone(), state.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sent,
        (
            t.id.clone(),
            CITY.to_owned(),
            Some("transferred".to_owned())
        )
    );
    e.verify_instance(view.dossier.instance).await.unwrap();
    s.db.open()
        .await
        .verify_instance(view.dossier.instance)
        .await
        .unwrap();
}

async fn one_step_transfer_then_return(backend: Backend) {
    let Some(s) = setup(backend, "one_step_transfer_then_return").await else {
        return;
    };
    let e = &s.engine;
    s.db.clock.set(wednesday_before_the_holidays());
    let view = e
        .submit_dossier(submission(None), CommandOptions::by("mot-cua-1"))
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    e.transition_dossier(
        &code,
        DossierState::Processing,
        None,
        None,
        CommandOptions::default(),
    )
    .await
    .unwrap();
    // The receiving step is done; the appraisal (thẩm định) goes to the justice department.
    let first = open_task(e, view.dossier.instance).await;
    e.complete(first, Map::new(), CommandOptions::by("mot-cua-1"))
        .await
        .unwrap();
    let appraisal = open_task(e, view.dossier.instance).await;
    assert_ne!(appraisal, first);
    let t = e
        .transfer_dossier(
            &code,
            TransferRequest {
                to_agency: JUSTICE.into(),
                reason: "Xin ý kiến thẩm định của Sở Tư pháp".into(),
                documents: vec!["to-khai".into()],
                sla_share_working_days: Some(1.0),
                task: Some(appraisal),
                expected_version: Some(2),
            },
            CommandOptions::by("tu-phap-xa"),
        )
        .await
        .unwrap();
    assert_eq!(t.step_task, Some(appraisal));
    assert_eq!(t.documents.len(), 1);
    assert_eq!(t.documents[0].slot, "to-khai");
    // The step is in the receiver's queue and not in the sender's.
    assert_eq!(queue(e, JUSTICE).await, vec![appraisal]);
    assert!(!queue(e, COMMUNE).await.contains(&appraisal));
    // The dossier stays with its holder; the receiver reads it too.
    let scope = e.dossier_scope(&code).await.unwrap();
    assert_eq!(scope.holder, COMMUNE);
    assert!(scope.reads(JUSTICE));
    assert_eq!(
        e.dossier(&code).await.unwrap().dossier.state,
        DossierState::Transferred
    );

    let returned = e
        .return_transfer(
            &t.id,
            "Hồ sơ thiếu bản sao giấy chứng sinh".into(),
            CommandOptions::by("so-tu-phap"),
        )
        .await
        .unwrap();
    assert_eq!(returned.state, TransferState::Returned);
    assert_eq!(
        returned.returned_reason.as_deref(),
        Some("Hồ sơ thiếu bản sao giấy chứng sinh")
    );
    // Back to the sender: its queue, its state.
    assert_eq!(queue(e, COMMUNE).await, vec![appraisal]);
    assert!(queue(e, JUSTICE).await.is_empty());
    let after = e.dossier(&code).await.unwrap();
    assert_eq!(after.dossier.state, DossierState::Processing);
    assert!(!e.dossier_scope(&code).await.unwrap().reads(JUSTICE));
    let journal = e.journal(view.dossier.instance).await.unwrap();
    let reason = journal
        .iter()
        .find_map(|j| match &j.event {
            Event::TransferReturned { reason, tasks, .. } => Some((reason.clone(), tasks.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        reason,
        (
            "Hồ sơ thiếu bản sao giấy chứng sinh".to_owned(),
            vec![appraisal]
        )
    );
    // A returned dossier may be transferred again.
    e.transfer_dossier(
        &code,
        request(CITY, "Chuyển thành phố"),
        CommandOptions::default(),
    )
    .await
    .unwrap();
    e.verify_instance(view.dossier.instance).await.unwrap();
    s.db.open()
        .await
        .verify_instance(view.dossier.instance)
        .await
        .unwrap();
}

async fn sla_shares_across_the_holidays(backend: Backend) {
    let Some(s) = setup(backend, "sla_shares_across_the_holidays").await else {
        return;
    };
    let e = &s.engine;
    let sent_at = wednesday_before_the_holidays();
    s.db.clock.set(sent_at);
    // Promised for Friday 7/5/2027 09:00 (Vietnam).
    let due = Utc.with_ymd_and_hms(2027, 5, 7, 2, 0, 0).unwrap();
    let view = e
        .submit_dossier(submission(Some(due)), CommandOptions::default())
        .await
        .unwrap();
    let t = e
        .transfer_dossier(
            &view.dossier.code,
            TransferRequest {
                sla_share_working_days: Some(2.0),
                ..request(CITY, "Liên thông")
            },
            CommandOptions::default(),
        )
        .await
        .unwrap();
    // Two working days from Wednesday 28/4 09:00: Thursday 29/4, then — 30/4 and 1/5 are
    // holidays, 1/5 a Saturday compensated on Monday 3/5 — Tuesday 4/5 09:00.
    assert_eq!(t.receiver_share_working_days, Some(2.0));
    assert_eq!(
        t.receiver_due_at,
        Some(Utc.with_ymd_and_hms(2027, 5, 4, 2, 0, 0).unwrap())
    );
    // Left until Friday 7/5 09:00: 29/4, 4/5, 5/5, 6/5, 7/5 = 5 working days; the sender keeps 3.
    assert_eq!(t.sender_share_working_days, Some(3.0));
    assert_eq!(t.sender_due_at, Some(due));
    assert_eq!(t.sent_at, sent_at);
    // Without a share, the receiver gets all that is left.
    e.return_transfer(&t.id, "Trả".into(), CommandOptions::default())
        .await
        .unwrap();
    let whole = e
        .transfer_dossier(
            &view.dossier.code,
            request(CITY, "Lại"),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(whole.receiver_share_working_days, Some(5.0));
    assert_eq!(whole.receiver_due_at, Some(due));
    assert_eq!(whole.sender_share_working_days, Some(0.0));
    // A share that is not a half-day multiple is refused.
    let bad = e
        .transfer_dossier(
            &view.dossier.code,
            TransferRequest {
                sla_share_working_days: Some(0.3),
                ..request(JUSTICE, "x")
            },
            CommandOptions::default(),
        )
        .await;
    assert!(matches!(bad, Err(EngineError::Invalid(_))), "{bad:?}");
}

async fn refusals_change_nothing(backend: Backend) {
    let Some(s) = setup(backend, "refusals_change_nothing").await else {
        return;
    };
    let e = &s.engine;
    s.db.clock.set(wednesday_before_the_holidays());
    let view = e
        .submit_dossier(submission(None), CommandOptions::default())
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    // An agency missing from the directory.
    let unknown = e
        .transfer_dossier(
            &code,
            request("999.99.99.H99", "x"),
            CommandOptions::default(),
        )
        .await;
    match unknown {
        Err(EngineError::Invalid(m)) => assert!(m.contains("999.99.99.H99"), "{m}"),
        other => panic!("{other:?}"),
    }
    // No reason; its own holder; an unknown slot; a task of no one.
    for (r, what) in [
        (request(CITY, "  "), "reason"),
        (request(COMMUNE, "x"), "holder"),
        (
            TransferRequest {
                documents: vec!["khong-co".into()],
                ..request(CITY, "x")
            },
            "slot",
        ),
        (
            TransferRequest {
                task: Some(TaskId::from_uuid(uuid::Uuid::nil())),
                ..request(CITY, "x")
            },
            "task",
        ),
    ] {
        let refused = e
            .transfer_dossier(&code, r, CommandOptions::default())
            .await;
        assert!(refused.is_err(), "{what}: {refused:?}");
    }
    // A stale version.
    let stale = e
        .transfer_dossier(
            &code,
            TransferRequest {
                expected_version: Some(7),
                ..request(CITY, "x")
            },
            CommandOptions::default(),
        )
        .await;
    assert!(matches!(stale, Err(EngineError::Conflict(_))), "{stale:?}");
    let now = e.dossier(&code).await.unwrap();
    assert_eq!(now.dossier.version, 1);
    assert_eq!(now.dossier.state, DossierState::Received);
    assert!(e.dossier_transfers(&code).await.unwrap().is_empty());
    // A second transfer while the first waits for its receiver.
    e.transfer_dossier(&code, request(CITY, "x"), CommandOptions::default())
        .await
        .unwrap();
    let twice = e
        .transfer_dossier(&code, request(JUSTICE, "y"), CommandOptions::default())
        .await;
    assert!(matches!(twice, Err(EngineError::Conflict(_))), "{twice:?}");
    // A returned reason is required.
    let t = &e.dossier_transfers(&code).await.unwrap()[0];
    let empty = e
        .return_transfer(&t.id, " ".into(), CommandOptions::default())
        .await;
    assert!(matches!(empty, Err(EngineError::Invalid(_))), "{empty:?}");
    let unknown = e
        .accept_transfer("no-such", CommandOptions::default())
        .await;
    assert!(
        matches!(unknown, Err(EngineError::NotFound { .. })),
        "{unknown:?}"
    );
    // From received, a returned dossier goes back to received.
    e.return_transfer(
        &t.id,
        "Không thuộc thẩm quyền".into(),
        CommandOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        e.dossier(&code).await.unwrap().dossier.state,
        DossierState::Received
    );
    e.verify_instance(view.dossier.instance).await.unwrap();
}

async fn idempotent_retry_and_payload(backend: Backend) {
    let Some(s) = setup(backend, "idempotent_retry_and_payload").await else {
        return;
    };
    let e = &s.engine;
    s.db.clock.set(wednesday_before_the_holidays());
    let view = e
        .submit_dossier(submission(None), CommandOptions::default())
        .await
        .unwrap();
    let code = view.dossier.code.clone();
    let options = CommandOptions {
        actor: Some("mot-cua-1".into()),
        idempotency_key: Some("transfer-1".into()),
    };
    let first = e
        .transfer_dossier(&code, request(CITY, "Liên thông"), options.clone())
        .await
        .unwrap();
    let retry = e
        .transfer_dossier(&code, request(CITY, "Liên thông"), options.clone())
        .await
        .unwrap();
    assert_eq!(first, retry);
    assert_eq!(e.dossier_transfers(&code).await.unwrap().len(), 1);
    let journal = e.journal(view.dossier.instance).await.unwrap();
    assert_eq!(
        kinds(&journal)
            .iter()
            .filter(|k| **k == "dossier_transferred")
            .count(),
        1
    );
    // The same key for another request is a conflict.
    let other = e
        .transfer_dossier(&code, request(JUSTICE, "Khác"), options)
        .await;
    assert!(matches!(other, Err(EngineError::Conflict(_))), "{other:?}");
    let accept = CommandOptions {
        actor: None,
        idempotency_key: Some("accept-1".into()),
    };
    let a1 = e.accept_transfer(&first.id, accept.clone()).await.unwrap();
    let a2 = e.accept_transfer(&first.id, accept).await.unwrap();
    assert_eq!(a1, a2);

    // The self-contained payload a peer engine would receive.
    let payload = e.transfer_payload(&first.id).await.unwrap();
    assert_eq!(payload.format, TransferPayload::FORMAT);
    assert_eq!(payload.dossier.code, code);
    assert_eq!(payload.dossier.applicant.id, "046090000001");
    assert_eq!(payload.dossier.data["hoTenTre"], json!("Nguyễn Văn An"));
    assert_eq!(payload.documents.len(), 2);
    let to_khai = payload
        .documents
        .iter()
        .find(|d| d.slot == "to-khai")
        .unwrap();
    assert_eq!(to_khai.content, b"to khai");
    assert_eq!(
        to_khai.sha256,
        motcua_engine::dossier::blobs::sha256_hex(b"to khai")
    );
    let text = serde_json::to_value(&payload).unwrap();
    let back: TransferPayload = serde_json::from_value(text.clone()).unwrap();
    assert_eq!(back, payload);
    assert_eq!(text["transfer"]["id"], Value::String(first.id.clone()));
    e.verify_instance(view.dossier.instance).await.unwrap();
}

async fn a_peer_agency_needs_its_engine_configured(backend: Backend) {
    let Some(s) = setup(backend, "a_peer_agency_needs_its_engine_configured").await else {
        return;
    };
    let directory = "[[tier]]\nname = \"province\"\n\
        [[agency]]\ncode = \"000.00.02.H22\"\nname = \"Phú Thượng\"\ntier = \"province\"\n\
        [[agency]]\ncode = \"000.00.00.H45\"\nname = \"Quảng Trị\"\ntier = \"province\"\npeer = \"quang-tri\"\n";
    let e = s
        .engine
        .with_agencies(Agencies::parse("peers.toml", directory).unwrap());
    let view = e
        .submit_dossier(submission(None), CommandOptions::default())
        .await
        .unwrap();
    let refused = e
        .transfer_dossier(
            &view.dossier.code,
            request("000.00.00.H45", "Liên thông tỉnh khác"),
            CommandOptions::default(),
        )
        .await;
    match refused {
        Err(EngineError::Rejected(m)) => assert!(m.contains("--peers"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(e
        .dossier_transfers(&view.dossier.code)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        e.dossier(&view.dossier.code).await.unwrap().dossier.version,
        1
    );
}

on_both_databases!(
    whole_dossier_transfer_then_accept,
    one_step_transfer_then_return,
    sla_shares_across_the_holidays,
    refusals_change_nothing,
    idempotent_retry_and_payload,
    a_peer_agency_needs_its_engine_configured,
);
