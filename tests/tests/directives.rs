//! Leadership directive tracking (issue #8) on a real SQLite file and a real PostgreSQL
//! database, with a manual clock: a directive of the Chairman with a lead and two coordinating
//! agencies followed through its reminders (7, 3 and 1 working days before the deadline,
//! across the 30/4–1/5/2027 holidays), a child task rolling up into its parent, a late
//! progress report, an extension, a reopening and completion; statuses and statistics at each
//! step, an agency seeing only its own assignments, and every instance replaying from its
//! journal. Documents on assignments and progress reports (issue #8 parts 1 and 5): read back
//! byte-identical, signed by a mapped certificate or server-side with the agency's key, a
//! tampered document refused with HASH_FAILURE and nothing stored, idempotent retries, the
//! journal event, replay.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use motcua_engine::directive::engine::AssignmentQuery;
use motcua_engine::directive::{
    AssignmentInput, AssignmentRecord, AssignmentState, Deadline, DirectiveDocumentInput,
    DirectiveSource, DirectiveStatus, IssueDirective, Role,
};
use motcua_engine::event::DirectiveDocument;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    certificate_fingerprint, BlobError, CommandOptions, DeployFile, Engine, EngineError, Event,
    FolderBlobStore, SignatureSetup, SignerMapping,
};
use motcua_signing::{SigningIdentity, SubIndication, TrustStore};
use motcua_tests::pki::{Pki, Spec};
use motcua_tests::{Backend, TestDb};
use tempfile::TempDir;

const PROCESS: &str = include_str!("../../definitions/catalog/theo-doi-chi-dao.bpmn");
const LEAD: &str = "000.00.12.H22";
const COORD_1: &str = "000.00.14.H22";
const COORD_2: &str = "000.00.15.H22";
const DEPARTMENT: &str = "000.00.12.H22.02";
const ISSUER: &str = "ct-nguyen-van-phuong";

/// A Vietnam-time instant.
fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(7)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn by(user: &str) -> CommandOptions {
    CommandOptions::by(user)
}

/// The periodic report requests' boundary timer.
const REPORT_REQUEST: &str = "yeu-cau-bao-cao";

/// Every timer that fired on the instance, in order: (timer node, Vietnam date).
async fn timers(engine: &Engine<AnyStore>, a: &AssignmentRecord) -> Vec<(String, NaiveDate)> {
    engine
        .journal(a.instance)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            motcua_engine::Event::TimerFired { node, .. } => {
                Some((node, (e.at + Duration::hours(7)).date_naive()))
            }
            _ => None,
        })
        .collect()
}

/// The reminders and the escalation that fired (every timer but the report requests).
async fn fired(engine: &Engine<AnyStore>, a: &AssignmentRecord) -> Vec<(String, NaiveDate)> {
    let mut all = timers(engine, a).await;
    all.retain(|(node, _)| node != REPORT_REQUEST);
    all
}

/// The Vietnam dates of the periodic report requests.
async fn report_requests(engine: &Engine<AnyStore>, a: &AssignmentRecord) -> Vec<NaiveDate> {
    timers(engine, a)
        .await
        .into_iter()
        .filter(|(node, _)| node == REPORT_REQUEST)
        .map(|(_, day)| day)
        .collect()
}

fn f(node: &str, y: i32, m: u32, d: u32) -> (String, NaiveDate) {
    (node.to_owned(), date(y, m, d))
}

/// Moves the clock to 17:00 of each day up to `to` (inclusive), running due jobs each time.
async fn days_until(db: &TestDb, engine: &Engine<AnyStore>, to: NaiveDate) {
    let mut day = (db.clock.now_for_tests() + Duration::hours(7)).date_naive();
    loop {
        let at = local(day.year(), day.month(), day.day(), 17, 0);
        if at > db.clock.now_for_tests() {
            db.clock.set(at);
            engine.run_all_due_jobs("w").await.unwrap();
        }
        if day >= to {
            break;
        }
        day = day.succ_opt().unwrap();
    }
}

async fn status_of(engine: &Engine<AnyStore>, db: &TestDb, id: &str) -> DirectiveStatus {
    engine
        .directive_status(id, db.clock.now_for_tests())
        .await
        .unwrap()
}

async fn a_directive_is_followed_to_completion(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_directive_is_followed_to_completion").await else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy(
            "catalog",
            &[DeployFile {
                name: "theo-doi-chi-dao.bpmn".into(),
                bytes: PROCESS.as_bytes().to_vec(),
            }],
        )
        .await
        .unwrap();
    // Monday 19/4/2027 09:00: the Chairman's document 125/UBND-TH, due Wednesday 12/5.
    db.clock.set(local(2027, 4, 19, 9, 0));
    let assignments = engine
        .issue_directive(
            IssueDirective {
                issuer: ISSUER.into(),
                source: DirectiveSource::Document {
                    number: "125/UBND-TH".into(),
                    date: date(2027, 4, 16),
                },
                summary: "Rà soát, xử lý dứt điểm tình trạng ngập úng đường Lê Duẩn".into(),
                content: "Sở Tài nguyên và Môi trường chủ trì, phối hợp Sở Xây dựng và UBND \
                          thành phố Huế khảo sát, đề xuất giải pháp."
                    .into(),
                deadline: Deadline::Date(date(2027, 5, 12)),
                priority: "khẩn".into(),
                assignments: vec![
                    AssignmentInput {
                        agency: COORD_1.into(),
                        role: Role::Coordinate,
                        deadline: None,
                    },
                    AssignmentInput {
                        agency: LEAD.into(),
                        role: Role::Lead,
                        deadline: None,
                    },
                    AssignmentInput {
                        agency: COORD_2.into(),
                        role: Role::Coordinate,
                        deadline: None,
                    },
                ],
                report_every_days: Some(7),
            },
            by("van-thu"),
        )
        .await
        .unwrap();
    assert_eq!(assignments.len(), 3);
    let find = |agency: &str| {
        assignments
            .iter()
            .find(|a| a.agency == agency)
            .unwrap()
            .clone()
    };
    let (lead, c1, c2) = (find(LEAD), find(COORD_1), find(COORD_2));
    assert_eq!(lead.role, Role::Lead);
    assert_eq!(lead.deadline, local(2027, 5, 12, 17, 0));
    assert_eq!(lead.original_deadline, lead.deadline);
    for a in [&lead, &c1, &c2] {
        assert_eq!(
            status_of(&engine, &db, &a.id).await,
            DirectiveStatus::InProgress
        );
    }
    // The work is in each agency's queue; the agency sees only its own assignments.
    let queue = engine
        .tasks(&TaskQuery {
            agency: Some(LEAD.into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].record.node, "thuc-hien");
    assert_eq!(queue[0].record.candidate_groups, vec![LEAD.to_owned()]);
    let own = engine
        .list_assignments(
            &AssignmentQuery {
                agency: Some(COORD_1.into()),
                ..AssignmentQuery::default()
            },
            db.clock.now_for_tests(),
        )
        .await
        .unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].assignment.id, c1.id);

    // Tuesday 20/4: the lead splits off a survey for its department, due Monday 10/5; the
    // first coordinating agency reports progress.
    db.clock.set(local(2027, 4, 20, 9, 0));
    let child = engine
        .add_child_assignment(
            &lead.id,
            DEPARTMENT,
            "Khảo sát hiện trạng thoát nước",
            Deadline::Date(date(2027, 5, 10)),
            by("so-tnmt"),
        )
        .await
        .unwrap();
    assert_eq!(child.parent.as_deref(), Some(lead.id.as_str()));
    let c1 = engine
        .report_progress(
            &c1.id,
            Some(c1.version),
            30,
            "Đã rà soát hồ sơ thiết kế",
            by("so-xd"),
        )
        .await
        .unwrap();
    assert_eq!(c1.progress, 30);
    // A stale version is refused.
    let stale = engine
        .report_progress(&c1.id, Some(1), 40, "Báo cáo cũ", by("so-xd"))
        .await
        .unwrap_err();
    assert!(matches!(stale, EngineError::Conflict(_)), "{stale:?}");

    // Through Thursday 29/4: the child's 7-day reminder fires Tuesday 27/4, the others'
    // Thursday 29/4 (the working day before 30/4, 1/5 and Monday 3/5, compensating 1/5).
    days_until(&db, &engine, date(2027, 4, 28)).await;
    assert_eq!(
        fired(&engine, &child).await,
        vec![f("nhac-7-ngay", 2027, 4, 27)]
    );
    assert!(fired(&engine, &lead).await.is_empty());
    days_until(&db, &engine, date(2027, 4, 29)).await;
    for a in [&lead, &c1, &c2] {
        assert_eq!(fired(&engine, a).await, vec![f("nhac-7-ngay", 2027, 4, 29)]);
    }
    // Nothing over the holidays and the weekend, nor on Tuesday 4/5.
    days_until(&db, &engine, date(2027, 5, 4)).await;
    assert_eq!(fired(&engine, &lead).await.len(), 1);
    assert_eq!(fired(&engine, &child).await.len(), 1);
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::InProgress
    );
    // Wednesday 5/5: the child is due soon (its 3-day reminder) and so, rolled up, is its
    // parent, whose own deadline is further.
    days_until(&db, &engine, date(2027, 5, 5)).await;
    assert_eq!(
        fired(&engine, &child).await,
        vec![f("nhac-7-ngay", 2027, 4, 27), f("nhac-3-ngay", 2027, 5, 5)]
    );
    assert_eq!(
        status_of(&engine, &db, &child.id).await,
        DirectiveStatus::DueSoon
    );
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::DueSoon
    );
    let view = engine
        .list_assignments(
            &AssignmentQuery {
                agency: Some(LEAD.into()),
                ..AssignmentQuery::default()
            },
            db.clock.now_for_tests(),
        )
        .await
        .unwrap();
    assert_eq!(view.len(), 1, "the department's task is not the lead's");
    assert_eq!(view[0].own_status, DirectiveStatus::InProgress);
    assert_eq!(view[0].status, DirectiveStatus::DueSoon);
    // Friday 7/5: the 3-day reminders of the others, the child's 1-day reminder.
    days_until(&db, &engine, date(2027, 5, 7)).await;
    for a in [&lead, &c1, &c2] {
        assert_eq!(
            fired(&engine, a).await,
            vec![f("nhac-7-ngay", 2027, 4, 29), f("nhac-3-ngay", 2027, 5, 7)]
        );
    }
    assert_eq!(fired(&engine, &child).await.len(), 3);
    // Weekly report requests since Monday 19/4 09:00, by the calendar (not working days).
    for a in [&lead, &c1, &c2] {
        assert_eq!(
            report_requests(&engine, a).await,
            vec![date(2027, 4, 26), date(2027, 5, 3)]
        );
    }
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::DueSoon
    );

    // Monday 10/5: the department completes its survey on time and the issuer accepts it;
    // the second coordinating agency asks for a week more and the issuer grants it.
    db.clock.set(local(2027, 5, 10, 9, 0));
    let child = engine
        .complete_assignment(
            &child.id,
            None,
            "Báo cáo khảo sát số 12/BC-TNMT",
            by("phong-2"),
        )
        .await
        .unwrap();
    assert_eq!(child.state, AssignmentState::Completed);
    assert_eq!(
        status_of(&engine, &db, &child.id).await,
        DirectiveStatus::DoneOnTime
    );
    let issuer_tasks = engine
        .tasks(&TaskQuery {
            assignee: Some(ISSUER.into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(issuer_tasks.len(), 1);
    assert_eq!(issuer_tasks[0].record.node, "nghiem-thu");
    let child = engine
        .accept_assignment(&child.id, None, true, None, by(ISSUER))
        .await
        .unwrap();
    assert_eq!(child.state, AssignmentState::Accepted);
    let c2 = engine
        .request_extension(
            &c2.id,
            None,
            Deadline::Date(date(2027, 5, 19)),
            "Chờ kết quả quan trắc",
            by("ubnd-hue"),
        )
        .await
        .unwrap();
    assert_eq!(c2.state, AssignmentState::ExtensionRequested);
    db.clock.set(local(2027, 5, 10, 11, 0));
    let c2 = engine
        .decide_extension(&c2.id, Some(c2.version), true, by(ISSUER))
        .await
        .unwrap();
    assert_eq!(c2.deadline, local(2027, 5, 19, 17, 0));
    assert_eq!(c2.original_deadline, local(2027, 5, 12, 17, 0));
    assert_eq!(c2.state, AssignmentState::InProgress);
    let extensions = engine.directive_extensions(&c2.id).await.unwrap();
    assert_eq!(extensions.len(), 1);
    assert_eq!(extensions[0].approved, Some(true));
    assert_eq!(
        status_of(&engine, &db, &c2.id).await,
        DirectiveStatus::InProgress
    );

    // Tuesday 11/5: the first coordinating agency completes; the 1-day reminders of the
    // lead; the extended task's new 7-day reminder fired Monday 10/5 at 17:00.
    days_until(&db, &engine, date(2027, 5, 10)).await;
    db.clock.set(local(2027, 5, 11, 10, 0));
    engine
        .complete_assignment(&c1.id, None, "Công văn 88/SXD-HT", by("so-xd"))
        .await
        .unwrap();
    engine
        .accept_assignment(&c1.id, None, true, None, by(ISSUER))
        .await
        .unwrap();
    days_until(&db, &engine, date(2027, 5, 11)).await;
    assert_eq!(
        fired(&engine, &lead).await,
        vec![
            f("nhac-7-ngay", 2027, 4, 29),
            f("nhac-3-ngay", 2027, 5, 7),
            f("nhac-1-ngay", 2027, 5, 11)
        ]
    );
    assert_eq!(
        fired(&engine, &c2).await,
        vec![
            f("nhac-7-ngay", 2027, 4, 29),
            f("nhac-3-ngay", 2027, 5, 7),
            f("nhac-7-ngay", 2027, 5, 10)
        ]
    );
    // Wednesday 12/5 17:00: the lead's deadline passes; the issuer gets the escalation.
    days_until(&db, &engine, date(2027, 5, 12)).await;
    assert_eq!(
        fired(&engine, &lead).await.last(),
        Some(&f("den-han", 2027, 5, 12))
    );
    let escalations = engine
        .tasks(&TaskQuery {
            assignee: Some(ISSUER.into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0].record.node, "xu-ly-qua-han");
    // Thursday 13/5: overdue by one working day; a late progress report.
    db.clock.set(local(2027, 5, 13, 9, 0));
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::Overdue { days_late: 1 }
    );
    let stats = engine
        .directive_statistics(&AssignmentQuery::default(), db.clock.now_for_tests())
        .await
        .unwrap();
    assert_eq!(stats.total.overdue, 1);
    assert_eq!(stats.total.done_on_time, 2);
    assert_eq!(stats.total.in_progress, 1, "the extended task");
    assert_eq!(stats.total.on_time_rate(), Some(1.0));
    assert_eq!(stats.by_agency[LEAD].overdue, 1);
    assert_eq!(stats.by_leader[ISSUER].total(), 4);
    let lead_now = engine
        .report_progress(
            &lead.id,
            None,
            90,
            "Đã hoàn thành dự thảo phương án",
            by("so-tnmt"),
        )
        .await
        .unwrap();
    assert_eq!(lead_now.progress, 90);
    let overdue = engine
        .list_assignments(
            &AssignmentQuery {
                status: Some("overdue".into()),
                ..AssignmentQuery::default()
            },
            db.clock.now_for_tests(),
        )
        .await
        .unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].assignment.id, lead.id);

    // Friday 14/5: the lead completes; the issuer reopens it; Monday 17/5 it completes again
    // and is accepted: done three working days late.
    db.clock.set(local(2027, 5, 14, 10, 0));
    engine
        .complete_assignment(&lead.id, None, "Tờ trình 45/TTr-STNMT", by("so-tnmt"))
        .await
        .unwrap();
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::DoneLate { days_late: 2 }
    );
    db.clock.set(local(2027, 5, 14, 14, 0));
    let reopened = engine
        .accept_assignment(
            &lead.id,
            None,
            false,
            Some("Thiếu dự toán kinh phí"),
            by(ISSUER),
        )
        .await
        .unwrap();
    assert_eq!(reopened.state, AssignmentState::InProgress);
    assert_eq!(reopened.completed_at, None);
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::Overdue { days_late: 2 }
    );
    db.clock.set(local(2027, 5, 17, 9, 0));
    engine.run_all_due_jobs("w").await.unwrap();
    engine
        .complete_assignment(
            &lead.id,
            None,
            "Tờ trình 45/TTr-STNMT (bổ sung dự toán)",
            by("so-tnmt"),
        )
        .await
        .unwrap();
    engine
        .accept_assignment(&lead.id, None, true, None, by(ISSUER))
        .await
        .unwrap();
    assert_eq!(
        status_of(&engine, &db, &lead.id).await,
        DirectiveStatus::DoneLate { days_late: 3 }
    );
    // Tuesday 18/5: the extended task is done on time against its new deadline.
    db.clock.set(local(2027, 5, 18, 10, 0));
    engine
        .complete_assignment(&c2.id, None, "Báo cáo quan trắc 07/BC-UBND", by("ubnd-hue"))
        .await
        .unwrap();
    engine
        .accept_assignment(&c2.id, None, true, None, by(ISSUER))
        .await
        .unwrap();
    assert_eq!(
        status_of(&engine, &db, &c2.id).await,
        DirectiveStatus::DoneOnTime
    );

    let stats = engine
        .directive_statistics(&AssignmentQuery::default(), db.clock.now_for_tests())
        .await
        .unwrap();
    assert_eq!(stats.total.done_on_time, 3);
    assert_eq!(stats.total.done_late, 1);
    assert_eq!(stats.total.on_time_rate(), Some(0.75));
    assert_eq!(stats.by_agency[LEAD].done_late, 1);
    assert_eq!(stats.by_agency[COORD_2].done_on_time, 1);
    assert_eq!(stats.by_leader[ISSUER].on_time_rate(), Some(0.75));
    // Filters: by text, by leader, by period.
    let q = |text: &str| AssignmentQuery {
        text: Some(text.into()),
        ..AssignmentQuery::default()
    };
    let now = db.clock.now_for_tests();
    assert_eq!(
        engine
            .list_assignments(&q("ngập úng"), now)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        engine
            .list_assignments(&q("khảo sát hiện trạng"), now)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        engine
            .list_assignments(&q("không có"), now)
            .await
            .unwrap()
            .len(),
        0
    );
    let other_leader = AssignmentQuery {
        issuer: Some("pct-khac".into()),
        ..AssignmentQuery::default()
    };
    assert!(engine
        .list_assignments(&other_leader, now)
        .await
        .unwrap()
        .is_empty());
    let later = AssignmentQuery {
        issued_from: Some(local(2027, 4, 20, 0, 0)),
        ..AssignmentQuery::default()
    };
    assert!(engine
        .list_assignments(&later, now)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(engine.directive_reports(&lead.id).await.unwrap().len(), 1);

    // Every instance replays from its journal alone.
    for a in [&lead, &c1, &c2, &child] {
        engine.verify_instance(a.instance).await.unwrap();
        let kinds: Vec<String> = engine
            .journal(a.instance)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(kinds.contains(&"directive_assigned".to_owned()));
    }
}

async fn a_directive_needs_one_lead_and_a_future_deadline(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_directive_needs_one_lead_and_a_future_deadline").await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy(
            "catalog",
            &[DeployFile {
                name: "theo-doi-chi-dao.bpmn".into(),
                bytes: PROCESS.as_bytes().to_vec(),
            }],
        )
        .await
        .unwrap();
    let request = |role: Role, deadline: Deadline| IssueDirective {
        issuer: ISSUER.into(),
        source: DirectiveSource::Meeting {
            date: date(2026, 11, 20),
        },
        summary: "Giao ban tuần".into(),
        content: String::new(),
        deadline,
        priority: "thường".into(),
        assignments: vec![AssignmentInput {
            agency: LEAD.into(),
            role,
            deadline: None,
        }],
        report_every_days: None,
    };
    let e = engine
        .issue_directive(
            request(Role::Coordinate, Deadline::WorkingDays(5.0)),
            by("van-thu"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("chủ trì"), "{e}");
    let e = engine
        .issue_directive(
            request(Role::Lead, Deadline::Date(date(2026, 1, 1))),
            by("van-thu"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("đã qua"), "{e}");
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM directives").await,
        0
    );
    assert_eq!(db.count(&engine, "SELECT COUNT(*) FROM instances").await, 0);
    // 5 working days from Tuesday 24/11/2026 08:00: Tuesday 1/12 08:00.
    let a = engine
        .issue_directive(
            request(Role::Lead, Deadline::WorkingDays(5.0)),
            by("van-thu"),
        )
        .await
        .unwrap();
    assert_eq!(a[0].deadline, local(2026, 12, 1, 8, 0));
}

/// A directive world with a document store and a signing configuration: the test PKI's
/// certificates are valid around the real time, so the clock is set to it.
struct DocWorld {
    db: TestDb,
    engine: Engine<AnyStore>,
    /// The lead's assignment.
    lead: AssignmentRecord,
    /// Nguyễn Văn A, mapped to user `nguyenvana` of [`LEAD`].
    a: SigningIdentity,
    /// A certificate of the same PKI mapped to nobody.
    stranger: SigningIdentity,
    _dir: TempDir,
}

const SOURCE_PDF: &[u8] = b"%PDF-1.7 Van ban 125/UBND-TH ve xu ly ngap ung duong Le Duan";

async fn doc_world(backend: Backend, test: &str) -> Option<DocWorld> {
    let db = TestDb::new(backend, test).await?;
    db.clock
        .set(DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap());
    let pki = Pki::new();
    let a = pki.user(&Spec::user("Nguyễn Văn A", 100));
    let stranger = pki.user(&Spec::user("Lê Văn C", 102));
    let mut trust = TrustStore::new();
    trust.add_roots_pem(&pki.root_pem()).unwrap();
    let mut agency_keys = std::collections::HashMap::new();
    agency_keys.insert(
        LEAD.to_owned(),
        pki.user(&Spec::user("Sở Tài nguyên và Môi trường", 300)),
    );
    let setup = SignatureSetup {
        trust,
        signers: vec![SignerMapping {
            fingerprint: certificate_fingerprint(a.cert()).unwrap(),
            user: Some("nguyenvana".into()),
            agency: Some(LEAD.into()),
        }],
        agency_keys,
        engine_key: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let engine = db
        .open()
        .await
        .with_blobs(Arc::new(FolderBlobStore::new(dir.path().join("blobs"))))
        .with_signatures(setup);
    engine
        .deploy(
            "catalog",
            &[DeployFile {
                name: "theo-doi-chi-dao.bpmn".into(),
                bytes: PROCESS.as_bytes().to_vec(),
            }],
        )
        .await
        .unwrap();
    let assignments = engine
        .issue_directive(
            IssueDirective {
                issuer: ISSUER.into(),
                source: DirectiveSource::Document {
                    number: "125/UBND-TH".into(),
                    date: db.clock.now_for_tests().date_naive(),
                },
                summary: "Xử lý dứt điểm tình trạng ngập úng đường Lê Duẩn".into(),
                content: String::new(),
                deadline: Deadline::WorkingDays(10.0),
                priority: "khẩn".into(),
                assignments: vec![
                    AssignmentInput {
                        agency: LEAD.into(),
                        role: Role::Lead,
                        deadline: None,
                    },
                    AssignmentInput {
                        agency: COORD_1.into(),
                        role: Role::Coordinate,
                        deadline: None,
                    },
                ],
                report_every_days: None,
            },
            by("van-thu"),
        )
        .await
        .unwrap();
    let lead = assignments
        .into_iter()
        .find(|x| x.role == Role::Lead)
        .unwrap();
    Some(DocWorld {
        db,
        engine,
        lead,
        a,
        stranger,
        _dir: dir,
    })
}

fn pdf(name: &str, bytes: &[u8]) -> DirectiveDocumentInput {
    DirectiveDocumentInput {
        name: name.into(),
        media_type: "application/pdf".into(),
        bytes: bytes.to_vec(),
        ..DirectiveDocumentInput::default()
    }
}

/// The documents' ids and the journal's kinds of an assignment.
async fn doc_snapshot(w: &DocWorld) -> (Vec<String>, Vec<String>) {
    let docs = w.engine.directive_documents(&w.lead.id).await.unwrap();
    let journal = w.engine.journal(w.lead.instance).await.unwrap();
    (
        docs.into_iter().map(|d| d.id).collect(),
        journal.into_iter().map(|e| e.kind).collect(),
    )
}

async fn directive_documents_are_stored_signed_and_journaled(backend: Backend) {
    let Some(w) = doc_world(
        backend,
        "directive_documents_are_stored_signed_and_journaled",
    )
    .await
    else {
        return;
    };
    let e = &w.engine;
    let lead = &w.lead;
    // The directive's source document, unsigned, on the lead's assignment.
    let source = e
        .attach_directive_document(&lead.id, pdf("125-UBND-TH.pdf", SOURCE_PDF), by("van-thu"))
        .await
        .unwrap();
    assert_eq!(source.assignment, lead.id);
    assert_eq!(source.directive, lead.directive.id);
    assert_eq!(source.report, None);
    assert_eq!(source.size, SOURCE_PDF.len() as i64);
    assert_eq!(
        source.sha256,
        motcua_engine::dossier::blobs::sha256_hex(SOURCE_PDF)
    );
    assert!(!source.is_signed() && !source.server_side);
    assert_eq!(source.added_by.as_deref(), Some("van-thu"));
    let (record, bytes) = e
        .directive_document_content(&lead.id, &source.id)
        .await
        .unwrap();
    assert_eq!(record, source);
    assert_eq!(bytes, SOURCE_PDF, "read back byte-identical");
    assert_eq!(
        e.directive_document_signature(&lead.id, &source.id)
            .await
            .unwrap(),
        None
    );

    // Signed by Nguyễn Văn A's mapped certificate: stored with its signer.
    let result = b"%PDF-1.7 Bao cao ket qua khao sat ngap ung".to_vec();
    let cms = w.a.sign(&result, None).unwrap();
    let signed = e
        .attach_directive_document(
            &lead.id,
            DirectiveDocumentInput {
                signature: Some(cms.clone()),
                ..pdf("ket-qua-khao-sat.pdf", &result)
            },
            by("nguyenvana"),
        )
        .await
        .unwrap();
    assert!(signed.is_signed() && !signed.server_side);
    assert_eq!(signed.signer_user.as_deref(), Some("nguyenvana"));
    assert_eq!(signed.signer_agency.as_deref(), Some(LEAD));
    assert!(signed
        .signer_subject
        .as_deref()
        .unwrap()
        .contains("Nguyễn Văn A"));
    assert_eq!(
        signed.fingerprint.as_deref(),
        Some(certificate_fingerprint(w.a.cert()).unwrap().as_str())
    );
    assert!(signed.signing_time.is_some());
    assert_eq!(
        e.directive_document_signature(&lead.id, &signed.id)
            .await
            .unwrap(),
        Some(cms)
    );
    // A valid signature by an unmapped certificate is kept, attributed to nobody.
    let other = w.stranger.sign(SOURCE_PDF, None).unwrap();
    let unmapped = e
        .attach_directive_document(
            &lead.id,
            DirectiveDocumentInput {
                signature: Some(other),
                ..pdf("ban-sao.pdf", SOURCE_PDF)
            },
            by("van-thu"),
        )
        .await
        .unwrap();
    assert!(unmapped.is_signed());
    assert_eq!((unmapped.signer_user, unmapped.signer_agency), (None, None));

    // Server-side with the lead agency's key; another agency has none: refused.
    match e
        .attach_directive_document(
            &lead.id,
            DirectiveDocumentInput {
                sign_as_agency: Some(COORD_1.into()),
                ..pdf("cong-van.pdf", b"%PDF cong van")
            },
            by("van-thu"),
        )
        .await
    {
        Err(EngineError::Rejected(m)) => assert!(m.contains(COORD_1), "{m}"),
        other => panic!("{other:?}"),
    }
    let server = e
        .attach_directive_document(
            &lead.id,
            DirectiveDocumentInput {
                sign_as_agency: Some(LEAD.into()),
                ..pdf("cong-van.pdf", b"%PDF cong van")
            },
            by("van-thu"),
        )
        .await
        .unwrap();
    assert!(server.server_side && server.is_signed());
    assert_eq!(server.signer_agency.as_deref(), Some(LEAD));
    assert!(server
        .signer_subject
        .as_deref()
        .unwrap()
        .contains("Sở Tài nguyên và Môi trường"));

    // A progress report's attachment.
    e.report_progress(&lead.id, None, 40, "Đã khảo sát hiện trường", by("sotnmt"))
        .await
        .unwrap();
    let report = e.directive_reports(&lead.id).await.unwrap().remove(0);
    let photo = e
        .attach_directive_document(
            &lead.id,
            DirectiveDocumentInput {
                report: Some(report.id.clone()),
                media_type: "image/jpeg".into(),
                ..pdf("hien-truong.jpg", b"\xff\xd8\xff\xe0 anh hien truong")
            },
            by("sotnmt"),
        )
        .await
        .unwrap();
    assert_eq!(photo.report.as_deref(), Some(report.id.as_str()));

    // Refusals, nothing stored: a report of nobody, an empty name, empty bytes, a long name,
    // an unknown assignment.
    let before = doc_snapshot(&w).await;
    assert!(matches!(
        e.attach_directive_document(
            &lead.id,
            DirectiveDocumentInput {
                report: Some("khong-co".into()),
                ..pdf("x.pdf", b"x")
            },
            by("sotnmt"),
        )
        .await,
        Err(EngineError::NotFound { .. })
    ));
    for bad in [
        pdf("  ", b"x"),
        pdf("x.pdf", b""),
        pdf(&"d".repeat(300), b"x"),
        pdf("../x.pdf", b"x"),
        DirectiveDocumentInput {
            media_type: String::new(),
            ..pdf("x.pdf", b"x")
        },
    ] {
        match e
            .attach_directive_document(&lead.id, bad, by("sotnmt"))
            .await
        {
            Err(EngineError::Invalid(m)) => assert!(!m.is_empty()),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        e.attach_directive_document("khong-co", pdf("x.pdf", b"x"), by("sotnmt"))
            .await,
        Err(EngineError::NotFound { .. })
    ));
    assert_eq!(doc_snapshot(&w).await, before, "nothing changed");

    // Oldest first; the journal carries each with its hash and signer; replay verifies.
    let docs = e.directive_documents(&lead.id).await.unwrap();
    let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [&source.id, &signed.id, &unmapped.id, &server.id, &photo.id]
            .map(|s| s.as_str())
            .to_vec()
    );
    let journal = e.journal(lead.instance).await.unwrap();
    let attached: Vec<&DirectiveDocument> = journal
        .iter()
        .filter_map(|j| match &j.event {
            Event::DirectiveDocumentAttached {
                assignment,
                document,
            } if *assignment == lead.id => Some(document),
            _ => None,
        })
        .collect();
    assert_eq!(attached.len(), 5);
    assert_eq!(attached[0].sha256, source.sha256);
    assert!(attached[0].signature.is_none());
    let s = attached[1].signature.as_ref().unwrap();
    assert_eq!(Some(&s.signature_sha256), signed.signature_sha256.as_ref());
    assert_eq!(s.signer_user.as_deref(), Some("nguyenvana"));
    assert_eq!(attached[4].report.as_deref(), Some(report.id.as_str()));
    assert!(
        journal
            .iter()
            .filter(|j| j.kind == "directive_document_attached")
            .count()
            == 5
    );
    e.verify_instance(lead.instance).await.expect("replay");
    // Another assignment of the directive has none.
    let others = e
        .list_assignments(
            &AssignmentQuery {
                agency: Some(COORD_1.into()),
                ..AssignmentQuery::default()
            },
            w.db.clock.now_for_tests(),
        )
        .await
        .unwrap();
    assert!(e
        .directive_documents(&others[0].assignment.id)
        .await
        .unwrap()
        .is_empty());
    // Still working: the document commits did not disturb the process.
    e.complete_assignment(
        &lead.id,
        None,
        "Đã xử lý, báo cáo 45/BC-STNMT",
        by("sotnmt"),
    )
    .await
    .unwrap();
    e.verify_instance(lead.instance).await.expect("replay");
}

async fn a_tampered_directive_document_is_refused_and_nothing_is_stored(backend: Backend) {
    let Some(w) = doc_world(
        backend,
        "a_tampered_directive_document_is_refused_and_nothing_is_stored",
    )
    .await
    else {
        return;
    };
    let before = doc_snapshot(&w).await;
    let cms = w.a.sign(SOURCE_PDF, None).unwrap();
    let mut changed = SOURCE_PDF.to_vec();
    changed[12] ^= 1;
    match w
        .engine
        .attach_directive_document(
            &w.lead.id,
            DirectiveDocumentInput {
                signature: Some(cms),
                ..pdf("125-UBND-TH.pdf", &changed)
            },
            by("nguyenvana"),
        )
        .await
    {
        Err(EngineError::Signature { report }) => {
            assert_eq!(report.sub_indication, Some(SubIndication::HashFailure));
            assert!(!report.passed());
        }
        other => panic!("{other:?}"),
    }
    // Not a signature at all.
    match w
        .engine
        .attach_directive_document(
            &w.lead.id,
            DirectiveDocumentInput {
                signature: Some(b"garbage".to_vec()),
                ..pdf("125-UBND-TH.pdf", &changed)
            },
            by("nguyenvana"),
        )
        .await
    {
        Err(EngineError::Signature { report }) => {
            assert_eq!(report.sub_indication, Some(SubIndication::FormatFailure))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(doc_snapshot(&w).await, before, "nothing changed");
    // Not even the bytes reached the document store.
    let blobs = w.engine.blobs().unwrap();
    assert!(matches!(
        blobs.get(&motcua_engine::dossier::blobs::sha256_hex(&changed)),
        Err(BlobError::NotFound(_))
    ));
    w.engine
        .verify_instance(w.lead.instance)
        .await
        .expect("replay");
}

async fn a_retried_directive_document_is_added_once(backend: Backend) {
    let Some(w) = doc_world(backend, "a_retried_directive_document_is_added_once").await else {
        return;
    };
    let input = || DirectiveDocumentInput {
        signature: Some(w.a.sign(SOURCE_PDF, None).unwrap()),
        ..pdf("125-UBND-TH.pdf", SOURCE_PDF)
    };
    let options = || by("nguyenvana").with_key("attach-125-UBND-TH");
    let first = w
        .engine
        .attach_directive_document(&w.lead.id, input(), options())
        .await
        .unwrap();
    let journal = w.engine.journal(w.lead.instance).await.unwrap().len();
    // The same command again (a new CMS over the same bytes has another hash: resend the
    // first one, as a client retrying would).
    let retry = DirectiveDocumentInput {
        signature: w
            .engine
            .directive_document_signature(&w.lead.id, &first.id)
            .await
            .unwrap(),
        ..pdf("125-UBND-TH.pdf", SOURCE_PDF)
    };
    let again = w
        .engine
        .attach_directive_document(&w.lead.id, retry.clone(), options())
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(
        w.engine
            .directive_documents(&w.lead.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        w.engine.journal(w.lead.instance).await.unwrap().len(),
        journal
    );
    assert_eq!(
        w.db.count(&w.engine, "SELECT COUNT(*) FROM directive_documents")
            .await,
        1
    );
    // The same key for another document: a conflict, nothing added.
    assert!(matches!(
        w.engine
            .attach_directive_document(&w.lead.id, pdf("khac.pdf", b"khac"), options())
            .await,
        Err(EngineError::Conflict(_))
    ));
    // Without a key, the same document is a second row.
    w.engine
        .attach_directive_document(&w.lead.id, retry, by("nguyenvana"))
        .await
        .unwrap();
    assert_eq!(
        w.engine
            .directive_documents(&w.lead.id)
            .await
            .unwrap()
            .len(),
        2
    );
    w.engine
        .verify_instance(w.lead.instance)
        .await
        .expect("replay");
}

motcua_tests::on_both_databases!(
    a_directive_is_followed_to_completion,
    a_directive_needs_one_lead_and_a_future_deadline,
    directive_documents_are_stored_signed_and_journaled,
    a_tampered_directive_document_is_refused_and_nothing_is_stored,
    a_retried_directive_document_is_added_once,
);
