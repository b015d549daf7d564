//! Time on a real SQLite file and a real PostgreSQL database, with a manual clock (no sleeps): intermediate and boundary timers,
//! cycles, timer start events, working-day SLAs, the job executor's leases, retries and
//! incidents, and operator schedules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use motcua_engine::executor::{BoxFuture, JobHandler};
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::{Store, TaskQuery, TaskSort};
use motcua_engine::{
    Command, CommandOptions, DeployFile, Engine, EngineError, FetchedJob, InstanceId,
    InstanceStatus, StartInstance,
};
use motcua_tests::{Backend, TestDb};
use serde_json::{json, Map, Value};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(7)
}

fn bpmn(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:motcua="urn:motcua:bpmn:1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="urn:t">
  <bpmn:process id="p" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

async fn deploy(engine: &Engine<AnyStore>, body: &str) {
    let xml = bpmn(body);
    if let Err(e) = engine
        .deploy(
            "t",
            &[DeployFile {
                name: "t.bpmn".into(),
                bytes: xml.into_bytes(),
            }],
        )
        .await
    {
        panic!("test process does not deploy: {e}");
    }
}

async fn start(engine: &Engine<AnyStore>) -> InstanceId {
    engine
        .start(
            StartInstance {
                key: "p".into(),
                ..StartInstance::default()
            },
            CommandOptions::default(),
        )
        .await
        .expect("start")
        .instance
}

async fn waiting(engine: &Engine<AnyStore>, id: InstanceId) -> Vec<String> {
    let mut v: Vec<String> = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks")
        .into_iter()
        .map(|t| t.record.node)
        .collect();
    v.sort();
    v
}

async fn journal_count(engine: &Engine<AnyStore>, id: InstanceId, kind: &str) -> usize {
    engine
        .journal(id)
        .await
        .expect("journal")
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

const CATCH: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>"#;

async fn a_timer_fires_exactly_once_when_the_clock_passes_it(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "a_timer_fires_exactly_once_when_the_clock_passes_it",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, CATCH).await;
    let id = start(&engine).await;
    assert!(waiting(&engine, id).await.is_empty());
    db.clock.advance(Duration::minutes(59));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().timers_fired,
        0,
        "not yet due"
    );
    db.clock.advance(Duration::minutes(1));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 1);
    assert_eq!(waiting(&engine, id).await, ["after"]);
    db.clock.advance(Duration::days(3));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().done(),
        0,
        "fired once only"
    );
    assert_eq!(journal_count(&engine, id, "timer_fired").await, 1);
}

async fn timers_survive_a_restart(backend: Backend) {
    let Some(db) = TestDb::new(backend, "timers_survive_a_restart").await else {
        return;
    };
    let id;
    {
        let engine = db.open().await;
        deploy(&engine, CATCH).await;
        id = start(&engine).await;
        engine.store().close().await;
    }
    db.clock.advance(Duration::hours(2));
    let engine = db.open().await;
    assert_eq!(engine.run_all_due_jobs("w2").await.unwrap().timers_fired, 1);
    assert_eq!(waiting(&engine, id).await, ["after"]);
}

const BOUNDARY: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review" camunda:candidateGroups="g"/>
    <bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT30M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:userTask id="escalate" camunda:candidateGroups="lead"/>
    <bpmn:manualTask id="reminder"/>
    <bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="e2"/>
    <bpmn:sequenceFlow id="f5" sourceRef="remind" targetRef="reminder"/>
    <bpmn:sequenceFlow id="f6" sourceRef="reminder" targetRef="e3"/>"#;

async fn a_non_interrupting_cycle_fires_n_times_and_an_interrupting_timer_cancels_the_task(
    backend: Backend,
) {
    let Some(db) = TestDb::new(
        backend,
        "a_non_interrupting_cycle_fires_n_times_and_an_interrupting_timer_cancels_the_task",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, BOUNDARY).await;
    let id = start(&engine).await;
    assert_eq!(waiting(&engine, id).await, ["review"]);
    let mut reminders = 0;
    for _ in 0..3 {
        db.clock.advance(Duration::minutes(30));
        reminders += engine.run_all_due_jobs("w").await.unwrap().timers_fired;
        assert_eq!(
            waiting(&engine, id).await,
            ["review"],
            "the reminder leaves the task waiting"
        );
    }
    assert_eq!(reminders, 3, "R3 fires three times");
    db.clock.advance(Duration::minutes(30));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().timers_fired,
        1,
        "the 2-hour limit"
    );
    assert_eq!(
        waiting(&engine, id).await,
        ["escalate"],
        "the task was cancelled"
    );
    let journal = engine.journal(id).await.unwrap();
    assert_eq!(
        journal.iter().filter(|e| e.kind == "timer_fired").count(),
        4
    );
    assert!(journal.iter().any(|e| e.kind == "activity_cancelled"));
    engine
        .verify_instance(id)
        .await
        .expect("the journal replays to the stored state");
    db.clock.advance(Duration::days(1));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().done(),
        0,
        "no timer outlives its task"
    );
}

async fn completing_the_task_disarms_its_timers(backend: Backend) {
    let Some(db) = TestDb::new(backend, "completing_the_task_disarms_its_timers").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, BOUNDARY).await;
    let id = start(&engine).await;
    let task = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .unwrap()[0]
        .record
        .id;
    engine
        .complete(task, Map::new(), CommandOptions::default())
        .await
        .unwrap();
    assert_eq!(
        engine.instance(id).await.unwrap().status,
        InstanceStatus::Completed
    );
    db.clock.advance(Duration::days(1));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().done(), 0);
    assert_eq!(journal_count(&engine, id, "timer_fired").await, 0);
}

async fn an_expired_lease_hands_a_timer_to_another_runner_and_it_fires_once(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "an_expired_lease_hands_a_timer_to_another_runner_and_it_fires_once",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, CATCH).await;
    let id = start(&engine).await;
    db.clock.advance(Duration::hours(1));
    // Runner "dead" takes the job and dies before running it.
    let now = db.clock.now_for_tests();
    let taken = engine
        .store()
        .claim_due_jobs("dead", &[], 10, now, now + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        engine.run_all_due_jobs("w2").await.unwrap().done(),
        0,
        "the lease is live"
    );
    db.clock.advance(Duration::seconds(61));
    assert_eq!(engine.run_all_due_jobs("w2").await.unwrap().timers_fired, 1);
    // The dead runner comes back and fires its copy: nothing happens twice.
    let err = engine
        .execute(
            id,
            Command::FireTimer { job: taken[0].id },
            CommandOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    assert_eq!(journal_count(&engine, id, "timer_fired").await, 1);
    assert_eq!(waiting(&engine, id).await, ["after"]);
}

async fn a_timer_start_event_starts_instances_on_its_cycle(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_timer_start_event_starts_instances_on_its_cycle").await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(
        &engine,
        r#"<bpmn:startEvent id="daily"><bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
           <bpmn:userTask id="report" camunda:candidateGroups="ioc"/><bpmn:endEvent id="e"/>
           <bpmn:sequenceFlow id="f1" sourceRef="daily" targetRef="report"/>
           <bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="e"/>"#,
    )
    .await;
    let started = |r: motcua_engine::executor::JobRunReport| r.instances_started;
    assert_eq!(started(engine.run_all_due_jobs("w").await.unwrap()), 0);
    db.clock.advance(Duration::hours(1));
    assert_eq!(started(engine.run_all_due_jobs("w").await.unwrap()), 1);
    db.clock.advance(Duration::hours(1));
    assert_eq!(started(engine.run_all_due_jobs("w").await.unwrap()), 1);
    db.clock.advance(Duration::hours(5));
    assert_eq!(
        started(engine.run_all_due_jobs("w").await.unwrap()),
        0,
        "R2: two instances only"
    );
    let tasks = engine
        .tasks(&TaskQuery {
            candidate_group: Some("ioc".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 2);
}

async fn a_new_version_replaces_the_timer_starts_of_the_old_one(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "a_new_version_replaces_the_timer_starts_of_the_old_one",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    let body = |name: &str| {
        format!(
            r#"<bpmn:startEvent id="daily" name="{name}"><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
               <bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="daily" targetRef="e"/>"#
        )
    };
    deploy(&engine, &body("v1")).await;
    deploy(&engine, &body("v2")).await;
    db.clock.advance(Duration::hours(1));
    let report = engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(
        report.instances_started, 1,
        "only the latest version's timer fires"
    );
}

const SLA: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review" camunda:candidateGroups="g" motcua:slaWorkingDays="2"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>"#;

async fn sla_due_dates_follow_working_days_and_mark_due_soon_then_overdue(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "sla_due_dates_follow_working_days_and_mark_due_soon_then_overdue",
    )
    .await
    else {
        return;
    };
    // Friday 2026-11-27 10:00: two working days later is Tuesday 2026-12-01 10:00.
    db.clock.set(local(2026, 11, 27, 10, 0));
    let engine = db.open().await;
    deploy(&engine, SLA).await;
    let id = start(&engine).await;
    let task = &engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .unwrap()[0];
    assert_eq!(task.record.due_at, Some(local(2026, 12, 1, 10, 0)));
    assert!(!task.due_soon && !task.overdue);
    // Monday 10:00 is one working day before: due soon.
    db.clock.set(local(2026, 11, 30, 10, 0));
    engine.run_all_due_jobs("w").await.unwrap();
    let task = engine.task(task.record.id).await.unwrap();
    assert!(task.due_soon && !task.overdue);
    let overdue = TaskQuery {
        overdue: Some(true),
        ..TaskQuery::default()
    };
    assert!(engine.tasks(&overdue).await.unwrap().is_empty());
    db.clock.set(local(2026, 12, 1, 10, 0));
    engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(engine.tasks(&overdue).await.unwrap().len(), 1);
    let journal = engine.journal(id).await.unwrap();
    let kinds: Vec<&str> = journal
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| *k == "due_soon" || *k == "overdue")
        .collect();
    assert_eq!(kinds, ["due_soon", "overdue"]);
    engine
        .verify_instance(id)
        .await
        .expect("the journal replays to the stored state");
}

async fn the_queue_sorts_and_filters_by_due_date(backend: Backend) {
    let Some(db) = TestDb::new(backend, "the_queue_sorts_and_filters_by_due_date").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, SLA).await;
    let first = start(&engine).await;
    db.clock.advance(Duration::hours(1));
    let second = start(&engine).await;
    let by_due = TaskQuery {
        sort: TaskSort::Due,
        ..TaskQuery::default()
    };
    let order: Vec<_> = engine
        .tasks(&by_due)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.record.instance)
        .collect();
    assert_eq!(order, [first, second]);
    let before = TaskQuery {
        due_before: Some(local(2026, 11, 26, 8, 30)),
        ..TaskQuery::default()
    };
    let due: Vec<_> = engine
        .tasks(&before)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.record.instance)
        .collect();
    assert_eq!(
        due,
        [first],
        "Tuesday 08:00 + 2 working days = Thursday 08:00"
    );
}

async fn a_boundary_timer_in_working_days_skips_the_weekend(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "a_boundary_timer_in_working_days_skips_the_weekend",
    )
    .await
    else {
        return;
    };
    db.clock.set(local(2026, 11, 27, 9, 0)); // Friday
    let engine = db.open().await;
    deploy(
        &engine,
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="review" camunda:candidateGroups="g"/>
           <bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition motcua:workingDays="1"/></bpmn:boundaryEvent>
           <bpmn:userTask id="escalate" camunda:candidateGroups="lead"/><bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
           <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
           <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>
           <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="e2"/>"#,
    )
    .await;
    let id = start(&engine).await;
    db.clock.set(local(2026, 11, 30, 8, 59)); // Monday, one minute early
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 0);
    db.clock.set(local(2026, 11, 30, 9, 0));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 1);
    assert_eq!(waiting(&engine, id).await, ["escalate"]);
}

struct Flaky {
    calls: AtomicUsize,
    fail_first: usize,
}

impl JobHandler for Flaky {
    fn run(&self, job: FetchedJob) -> BoxFuture<Result<Map<String, Value>, String>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = n < self.fail_first;
        Box::pin(async move {
            if fail {
                panic!("cổng SMS không trả lời (lần {})", n + 1);
            }
            let mut vars = Map::new();
            vars.insert("smsSentFor".into(), json!(job.job.node));
            Ok(vars)
        })
    }
}

async fn a_panicking_handler_retries_with_back_off_then_raises_an_incident_that_a_person_retries(
    backend: Backend,
) {
    let Some(db) = TestDb::new(
        backend,
        "a_panicking_handler_retries_with_back_off_then_raises_an_incident_that_a_person_retries",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    let handler = Arc::new(Flaky {
        calls: AtomicUsize::new(0),
        fail_first: 3,
    });
    engine.register_handler("gui-sms", handler.clone());
    deploy(
        &engine,
        r#"<bpmn:startEvent id="s"/><bpmn:serviceTask id="sms" motcua:topic="gui-sms"/>
           <bpmn:userTask id="after" camunda:candidateGroups="g"/><bpmn:endEvent id="e"/>
           <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sms"/>
           <bpmn:sequenceFlow id="f2" sourceRef="sms" targetRef="after"/>
           <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>"#,
    )
    .await;
    let id = start(&engine).await;
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().failed, 1);
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().failed,
        0,
        "back-off: not due again yet"
    );
    db.clock.advance(Duration::seconds(10));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().failed,
        1,
        "second attempt after 10 s"
    );
    db.clock.advance(Duration::seconds(19));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().failed,
        0,
        "back-off doubles: 20 s"
    );
    db.clock.advance(Duration::seconds(1));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().failed, 1);
    let incidents = engine.incidents().await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert!(
        incidents[0].message.contains("panicked"),
        "{}",
        incidents[0].message
    );
    db.clock.advance(Duration::days(1));
    assert_eq!(
        engine.run_all_due_jobs("w").await.unwrap().done(),
        0,
        "an incident waits for a person"
    );
    engine
        .retry_incident(incidents[0].job, 1, CommandOptions::by("operator-lan"))
        .await
        .unwrap();
    assert!(engine.incidents().await.unwrap().is_empty());
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().handled, 1);
    assert_eq!(
        waiting(&engine, id).await,
        ["after"],
        "the instance continues"
    );
    assert_eq!(
        engine.instance(id).await.unwrap().variables["smsSentFor"],
        json!("sms")
    );
    assert_eq!(handler.calls.load(Ordering::SeqCst), 4);
    engine
        .verify_instance(id)
        .await
        .expect("the journal replays to the stored state");
}

async fn a_schedule_fires_once_per_due_time_even_with_two_runners(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "a_schedule_fires_once_per_due_time_even_with_two_runners",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    let next = engine
        .put_schedule("bao-cao-qua-han", "0 0 7 * * *", "overdue-report")
        .await
        .unwrap();
    assert_eq!(
        next,
        local(2026, 11, 25, 7, 0),
        "07:00 in Huế the next morning"
    );
    assert!(engine.run_due_schedules("a").await.unwrap().is_empty());
    db.clock.set(local(2026, 11, 25, 7, 0));
    let second = db.open().await; // another node on the same database
    let a = engine.run_due_schedules("a").await.unwrap();
    let b = second.run_due_schedules("b").await.unwrap();
    assert_eq!(
        a.len() + b.len(),
        1,
        "exactly one runner records the 07:00 fire"
    );
    let runs = engine.schedule_runs("bao-cao-qua-han").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].result["overdueTasks"], json!(0));
    let schedules = engine.schedules().await.unwrap();
    assert_eq!(schedules[0].next_due, local(2026, 11, 26, 7, 0));
    // A fire whose lease expired is not run twice: the (name, due) record is unique.
    db.clock.set(local(2026, 11, 26, 7, 0));
    let now = db.clock.now_for_tests();
    let claimed = engine
        .store()
        .claim_due_schedules("dead", 10, now, now + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    db.clock.advance(Duration::seconds(61));
    assert_eq!(second.run_due_schedules("b").await.unwrap().len(), 1);
    let dead = motcua_engine::store::ScheduleRun {
        name: "bao-cao-qua-han".into(),
        due_at: claimed[0].next_due,
        ran_at: now,
        runner: "dead".into(),
        result: json!({}),
    };
    assert!(!engine
        .store()
        .record_schedule_run(&dead, local(2026, 11, 27, 7, 0))
        .await
        .unwrap());
    assert_eq!(
        engine.schedule_runs("bao-cao-qua-han").await.unwrap().len(),
        2
    );
}

motcua_tests::on_both_databases!(
    a_timer_fires_exactly_once_when_the_clock_passes_it,
    timers_survive_a_restart,
    a_non_interrupting_cycle_fires_n_times_and_an_interrupting_timer_cancels_the_task,
    completing_the_task_disarms_its_timers,
    an_expired_lease_hands_a_timer_to_another_runner_and_it_fires_once,
    a_timer_start_event_starts_instances_on_its_cycle,
    a_new_version_replaces_the_timer_starts_of_the_old_one,
    sla_due_dates_follow_working_days_and_mark_due_soon_then_overdue,
    the_queue_sorts_and_filters_by_due_date,
    a_boundary_timer_in_working_days_skips_the_weekend,
    a_panicking_handler_retries_with_back_off_then_raises_an_incident_that_a_person_retries,
    a_schedule_fires_once_per_due_time_even_with_two_runners,
);
