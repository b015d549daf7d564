//! Leadership directive tracking (issue #8) on a real SQLite file and a real PostgreSQL
//! database, with a manual clock: a directive of the Chairman with a lead and two coordinating
//! agencies followed through its reminders (7, 3 and 1 working days before the deadline,
//! across the 30/4–1/5/2027 holidays), a child task rolling up into its parent, a late
//! progress report, an extension, a reopening and completion; statuses and statistics at each
//! step, an agency seeing only its own assignments, and every instance replaying from its
//! journal.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use motcua_engine::directive::engine::AssignmentQuery;
use motcua_engine::directive::{
    AssignmentInput, AssignmentRecord, AssignmentState, Deadline, DirectiveSource, DirectiveStatus,
    IssueDirective, Role,
};
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{CommandOptions, DeployFile, Engine, EngineError};
use motcua_tests::{Backend, TestDb};

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

motcua_tests::on_both_databases!(
    a_directive_is_followed_to_completion,
    a_directive_needs_one_lead_and_a_future_deadline,
);
