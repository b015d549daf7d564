//! A birth registration received at a commune's one-stop counter and followed to its slips, on
//! a real SQLite file and a real PostgreSQL database, with a manual clock: the promised return
//! date counts working days across the 30/4 and 1/5 holidays; the start form refuses bad data
//! and consumes no dossier number; the receiving step refuses to finish while a required
//! document is missing; the six forms of Circular 01/2018 are filled from the dossier and its
//! journal.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use motcua_engine::slips::SlipForm;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    Applicant, ApplicantKind, CommandOptions, DocumentInput, DossierState, Engine, EngineError,
    FolderBlobStore, SubmitDossier,
};
use motcua_forms::slips::{render, Slip, Timeliness};
use motcua_tests::{deploy_file as file, vars as map, Backend, TestDb};
use serde_json::{json, Value};

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");
const DECLARATION: &str = include_str!("../../definitions/catalog/to-khai-khai-sinh.form");
const RECEIPT: &str = include_str!("../../definitions/catalog/khai-sinh-tiep-nhan.form");
const EXAMINATION: &str = include_str!("../../definitions/catalog/khai-sinh-tham-dinh.form");
const AGENCY: &str = "000.00.01.H22";

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a time")
}

fn submission(data: Value, documents: Vec<DocumentInput>) -> SubmitDossier {
    SubmitDossier {
        procedure_key: "dang-ky-khai-sinh".into(),
        version: None,
        agency_code: AGENCY.into(),
        applicant: Applicant {
            kind: ApplicantKind::CitizenId,
            id: "046090001234".into(),
            name: "Nguyễn Văn An".into(),
            address: Some("12 Lê Lợi, phường Phú Hội, Huế".into()),
            phone: Some("0905123456".into()),
            email: None,
        },
        data: map(data),
        documents,
        due_at: None,
        certify: Vec::new(),
    }
}

fn upload(slot: &str) -> DocumentInput {
    DocumentInput::Upload {
        slot: slot.into(),
        name: format!("{slot}.pdf"),
        media_type: "application/pdf".into(),
        bytes: format!("%PDF-1.7 {slot}").into_bytes(),
    }
}

fn declaration() -> Value {
    json!({
        "applicantName": "Nguyễn Văn An",
        "applicantId": "046090001234",
        "relationship": "cha",
        "childName": "Nguyễn Thị Bình An",
        "childBirthDate": "2026-04-20",
        "childGender": "nu",
        "birthPlace": "Bệnh viện Trung ương Huế",
    })
}

async fn task_of(engine: &Engine<AnyStore>, group: &str) -> motcua_engine::TaskId {
    let tasks = engine
        .tasks(&TaskQuery {
            candidate_group: Some(group.into()),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    tasks[0].record.id
}

async fn a_dossier_is_followed_to_its_six_slips(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_dossier_is_followed_to_its_six_slips").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let engine = db
        .open()
        .await
        .with_blobs(Arc::new(FolderBlobStore::new(dir.path())));
    engine
        .deploy(
            "catalog",
            &[
                file("dang-ky-khai-sinh.bpmn", BIRTH),
                file("to-khai-khai-sinh.form", DECLARATION),
                file("khai-sinh-tiep-nhan.form", RECEIPT),
                file("khai-sinh-tham-dinh.form", EXAMINATION),
            ],
        )
        .await
        .expect("deploy");
    // Wednesday 29 April 2026, 09:00 in Huế: Thursday 30/4 and Friday 1/5 are holidays.
    db.clock.set(utc(2026, 4, 29, 2, 0));

    // Bad declaration data: refused with its fields, and no dossier number is used up.
    let mut bad = declaration();
    bad["applicantId"] = json!("12345");
    let err = engine
        .submit_dossier(
            submission(bad, vec![upload("to-khai")]),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect_err("bad data");
    assert!(
        matches!(&err, EngineError::Form { errors, .. } if errors.iter().any(|e| e.path == "applicantId")),
        "{err:?}"
    );
    assert_eq!(db.count(&engine, "SELECT count(*) FROM dossiers").await, 0);

    // Received with the declaration only: the birth certificate from the hospital is missing.
    let view = engine
        .submit_dossier(
            submission(declaration(), vec![upload("to-khai")]),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect("received");
    let code = view.dossier.code.clone();
    assert_eq!(code, format!("{AGENCY}-260429-0001"));
    // One working day (the procedure's SLA) from Wednesday 09:00 skips 30/4, 1/5 and the
    // weekend: Monday 4 May, 09:00.
    assert_eq!(view.dossier.due_at, Some(utc(2026, 5, 4, 2, 0)));

    let receipt = task_of(&engine, "mot-cua").await;
    let err = engine
        .complete(
            receipt,
            map(json!({"receivedDocuments": ["to-khai"]})),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect_err("the birth certificate is required");
    assert!(
        matches!(&err, EngineError::Rejected(m) if m.contains("Giấy chứng sinh") && !m.contains("kết hôn")),
        "{err:?}"
    );
    engine
        .add_document(
            &code,
            upload("giay-chung-sinh"),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect("the missing document");
    db.clock.set(utc(2026, 4, 29, 3, 0));
    engine
        .complete(
            receipt,
            map(json!({"receivedDocuments": ["to-khai", "giay-chung-sinh"]})),
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect("received and checked");

    // 01: the receipt slip.
    let slip = engine
        .dossier_slip(&code, SlipForm::Receipt)
        .await
        .expect("01");
    let html = render(engine.templates(), &slip).expect("renders");
    assert!(
        html.contains(&code.replace('.', "")) || html.contains(&code),
        "the code"
    );
    assert!(html.contains("04 tháng 05 năm 2026"), "the promised date");
    assert!(
        html.contains("UBND phường Phú Hội"),
        "the agency from the directory"
    );
    let Slip::Receipt(r) = &slip else {
        panic!("{slip:?}")
    };
    let names: Vec<&str> = r.documents.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Giấy chứng sinh", "Tờ khai đăng ký khai sinh"]);
    assert_eq!(r.officer, "cb.motcua.lan");
    assert_eq!(r.processing_days, 1);

    // 02: a supplement request, one item a line.
    engine
        .transition_dossier(
            &code,
            DossierState::Processing,
            None,
            None,
            CommandOptions::by("cb.tuphap.minh"),
        )
        .await
        .expect("processing");
    engine
        .transition_dossier(
            &code,
            DossierState::SupplementRequested,
            Some("Bản sao CCCD của người đi đăng ký\nGiấy xác nhận nơi cư trú".into()),
            None,
            CommandOptions::by("cb.tuphap.minh"),
        )
        .await
        .expect("supplement requested");
    let Slip::Supplement(s) = engine
        .dossier_slip(&code, SlipForm::Supplement)
        .await
        .expect("02")
    else {
        panic!("02")
    };
    assert_eq!(
        s.items,
        [
            "Bản sao CCCD của người đi đăng ký",
            "Giấy xác nhận nơi cư trú"
        ]
    );
    assert_eq!(s.officer, "cb.tuphap.minh");

    // 03 before any refusal cannot be filled; 04 before a new date neither.
    for form in [SlipForm::Refusal, SlipForm::Apology] {
        assert!(matches!(
            engine.dossier_slip(&code, form).await,
            Err(EngineError::Conflict(_))
        ));
    }

    // 04: late, so a new date and an apology.
    db.clock.set(utc(2026, 5, 4, 8, 0));
    engine
        .reschedule_dossier(
            &code,
            utc(2026, 5, 6, 2, 0),
            "Chờ xác minh nơi cư trú".into(),
            CommandOptions::by("lanh-dao.hung"),
        )
        .await
        .expect("rescheduled");
    let Slip::Apology(a) = engine
        .dossier_slip(&code, SlipForm::Apology)
        .await
        .expect("04")
    else {
        panic!("04")
    };
    assert_eq!(a.original_return_at, utc(2026, 5, 4, 2, 0));
    assert_eq!(a.new_return_at, utc(2026, 5, 6, 2, 0));
    assert_eq!(
        engine.dossier(&code).await.expect("view").dossier.due_at,
        Some(utc(2026, 5, 6, 2, 0))
    );

    // 05: the control sheet: the receiving step, handed on within its half-day SLA.
    let Slip::ControlSheet(c) = engine
        .dossier_slip(&code, SlipForm::ControlSheet)
        .await
        .expect("05")
    else {
        panic!("05")
    };
    assert_eq!(c.rows[0].to.agency, "Tiếp nhận và kiểm tra hồ sơ");
    assert_eq!(c.rows[0].to.person.as_deref(), Some("cb.motcua.lan"));
    assert_eq!(c.rows[0].outcome, Some(Timeliness::OnTime));
    assert_eq!(c.rows[1].to.agency, "Thẩm định hồ sơ");
    assert_eq!(c.rows[1].outcome, None, "still open");

    // 03: refused after all.
    engine
        .transition_dossier(
            &code,
            DossierState::Cancelled,
            Some("Công dân rút hồ sơ".into()),
            None,
            CommandOptions::by("cb.motcua.lan"),
        )
        .await
        .expect("cancelled");

    // 06: the register of the agency for the day.
    let day = NaiveDate::from_ymd_opt(2026, 4, 29).expect("a date");
    let Slip::Register(reg) = engine.dossier_register(AGENCY, day, day).await.expect("06") else {
        panic!("06")
    };
    assert_eq!(reg.rows.len(), 1);
    assert_eq!(reg.rows[0].code, code);
    assert_eq!(
        reg.rows[0].note.as_deref(),
        Some(DossierState::Cancelled.label())
    );
    let next = NaiveDate::from_ymd_opt(2026, 4, 30).expect("a date");
    let Slip::Register(empty) = engine
        .dossier_register(AGENCY, next, next)
        .await
        .expect("06")
    else {
        panic!("06")
    };
    assert!(empty.rows.is_empty());
    assert!(render(engine.templates(), &Slip::Register(reg)).is_ok());
}

motcua_tests::on_both_databases!(a_dossier_is_followed_to_its_six_slips);
