//! A smoke test of the PostgreSQL backend on a real server: one procedure end to end, racing
//! commands, idempotent retries, a rolled-back failure, timers, schedules, and two engine nodes
//! sharing 200 due timers (each fires exactly once).
//!
//! Needs `MOTCUA_TEST_DATABASE_URL` (any database on the server; a fresh one is created and
//! dropped). Without it the test says `SKIPPED postgres_smoke` on standard error and passes.

use std::io::Write;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use motcua_engine::executor::OVERDUE_REPORT;
use motcua_engine::store::{Store, TaskQuery, TaskSort};
use motcua_engine::{
    AnyStore, CommandOptions, DeployFile, Durability, Engine, EngineError, InstanceStatus,
    ManualClock, PostgresConfig, PostgresStore, StartInstance, StoreError,
};
use serde_json::{json, Map, Value};
use sqlx::Connection;

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");

const CATCH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="urn:t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

fn file(name: &str, text: &str) -> DeployFile {
    DeployFile {
        name: name.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn start(key: &str) -> StartInstance {
    StartInstance {
        key: key.into(),
        ..StartInstance::default()
    }
}

fn with_database(url: &str, name: &str) -> String {
    match url.rfind('/') {
        Some(i) if url[..i].contains("://") => format!("{}/{name}", &url[..i]),
        _ => url.to_owned(),
    }
}

async fn open_task(engine: &Engine<PostgresStore>, group: &str) -> motcua_engine::TaskId {
    let tasks = engine
        .tasks(&TaskQuery {
            candidate_group: Some(group.into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "one open task for {group}: {tasks:?}");
    tasks[0].record.id
}

async fn count(store: &PostgresStore, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_smoke() {
    let Ok(base) = std::env::var("MOTCUA_TEST_DATABASE_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED postgres_smoke: MOTCUA_TEST_DATABASE_URL is not set"
        );
        return;
    };
    let admin_url = with_database(&base, "postgres");
    let name = format!("motcua_scratch_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = with_database(&base, &name);
    let outcome = tokio::spawn(scenario(url)).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn scenario(url: String) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap());
    let open = || async {
        let store = PostgresStore::open(&PostgresConfig::new(url.clone()))
            .await
            .unwrap();
        Engine::new(store, Arc::new(clock.clone()))
    };
    let engine = Arc::new(open().await);

    // Deploy: versions by content.
    let d = engine
        .deploy("a", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    assert_eq!((d[0].definition.version, d[0].created), (1, true));
    let d = engine
        .deploy("b", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    assert_eq!((d[0].definition.version, d[0].created), (1, false));

    // The procedure end to end.
    let started = engine
        .start(
            StartInstance {
                business_key: Some("HS-1".into()),
                ..start("dang-ky-khai-sinh")
            },
            CommandOptions::default(),
        )
        .await
        .unwrap();
    let id = started.instance;
    let task = open_task(&engine, "mot-cua").await;
    engine
        .claim(task, "lan", CommandOptions::by("lan"))
        .await
        .unwrap();
    assert_eq!(
        engine
            .tasks(&TaskQuery {
                assignee: Some("lan".into()),
                ..TaskQuery::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    engine
        .complete(task, Map::new(), CommandOptions::by("lan"))
        .await
        .unwrap();
    // A new store: nothing cached.
    let engine2 = open().await;
    let task = open_task(&engine2, "tu-phap-ho-tich").await;
    engine2
        .complete(
            task,
            vars(json!({"dossierComplete": true})),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    let task = open_task(&engine2, "lanh-dao").await;
    engine2
        .complete(task, Map::new(), CommandOptions::default())
        .await
        .unwrap();
    let task = open_task(&engine2, "mot-cua").await;
    let done = engine2
        .complete(task, Map::new(), CommandOptions::default())
        .await
        .unwrap();
    assert_eq!(done.status, InstanceStatus::Completed);
    let journal = engine2.journal(id).await.unwrap();
    let seqs: Vec<i64> = journal.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=journal.len() as i64).collect::<Vec<_>>());
    assert_eq!(journal.last().unwrap().kind, "instance_completed");
    // Closed tasks: found through the candidate list only with include_closed.
    let closed = engine2
        .tasks(&TaskQuery {
            candidate_group: Some("mot-cua".into()),
            include_closed: true,
            sort: TaskSort::Due,
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert!(closed.iter().all(|t| t.state == "completed"));
    assert_eq!(
        count(engine2.store(), "SELECT COUNT(*) FROM task_candidates").await,
        0
    );

    // Racing completions: one wins, one conflicts.
    for round in 0..20 {
        let s = engine
            .start(start("dang-ky-khai-sinh"), CommandOptions::default())
            .await
            .unwrap();
        let task = s.tasks[0];
        let a = tokio::spawn({
            let e = engine.clone();
            async move {
                e.complete(task, vars(json!({"by": "a"})), CommandOptions::by("a"))
                    .await
            }
        });
        let b = tokio::spawn({
            let e = engine.clone();
            async move {
                e.complete(task, vars(json!({"by": "b"})), CommandOptions::by("b"))
                    .await
            }
        });
        let results = [a.await.unwrap(), b.await.unwrap()];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(EngineError::Conflict(_))))
            .count();
        assert_eq!((wins, conflicts), (1, 1), "round {round}: {results:?}");
        let completions = engine
            .journal(s.instance)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "task_completed")
            .count();
        assert_eq!(completions, 1);
    }

    // Idempotent retries.
    let first = engine
        .start(
            start("dang-ky-khai-sinh"),
            CommandOptions::default().with_key("portal-42"),
        )
        .await
        .unwrap();
    let again = engine
        .start(
            start("dang-ky-khai-sinh"),
            CommandOptions::default().with_key("portal-42"),
        )
        .await
        .unwrap();
    assert_eq!(first, again);
    let task = first.tasks[0];
    let opts = CommandOptions::by("lan").with_key("complete-1");
    let done = engine
        .complete(task, vars(json!({"a": 1})), opts.clone())
        .await
        .unwrap();
    let len = engine.journal(first.instance).await.unwrap().len();
    let retried = engine
        .complete(task, vars(json!({"a": 1})), opts.clone())
        .await
        .unwrap();
    assert_eq!(done, retried);
    assert_eq!(engine.journal(first.instance).await.unwrap().len(), len);
    let err = engine
        .complete(task, vars(json!({"a": 2})), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");

    // A failure half-way through a commit leaves nothing behind.
    let s = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap();
    let before = engine.instance(s.instance).await.unwrap();
    let before_journal = engine.journal(s.instance).await.unwrap().len();
    let instances = count(engine.store(), "SELECT COUNT(*) FROM instances").await;
    let keys = count(engine.store(), "SELECT COUNT(*) FROM idempotency").await;
    sqlx::query(
        "CREATE FUNCTION fail_task_insert() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END; $$",
    )
    .execute(engine.store().pool())
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER fail_task_insert BEFORE INSERT ON tasks \
         FOR EACH ROW EXECUTE FUNCTION fail_task_insert()",
    )
    .execute(engine.store().pool())
    .await
    .unwrap();
    let err = engine
        .complete(
            s.tasks[0],
            vars(json!({"x": 1})),
            CommandOptions::default().with_key("k1"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err:?}");
    assert_eq!(engine.instance(s.instance).await.unwrap(), before);
    assert_eq!(
        engine.journal(s.instance).await.unwrap().len(),
        before_journal
    );
    assert_eq!(engine.task(s.tasks[0]).await.unwrap().state, "open");
    assert_eq!(
        count(engine.store(), "SELECT COUNT(*) FROM idempotency").await,
        keys
    );
    let err = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err:?}");
    assert_eq!(
        count(engine.store(), "SELECT COUNT(*) FROM instances").await,
        instances
    );
    sqlx::query("DROP TRIGGER fail_task_insert ON tasks")
        .execute(engine.store().pool())
        .await
        .unwrap();
    engine
        .complete(
            s.tasks[0],
            vars(json!({"x": 1})),
            CommandOptions::default().with_key("k1"),
        )
        .await
        .unwrap();

    // A timer fires once when the clock passes it.
    engine.deploy("t", &[file("t.bpmn", CATCH)]).await.unwrap();
    let t = engine
        .start(start("p"), CommandOptions::default())
        .await
        .unwrap();
    clock.advance(Duration::minutes(59));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 0);
    clock.advance(Duration::minutes(1));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 1);
    // Days on, the SLA timers of the birth registrations fire (once): a fresh one's first task
    // (0.5 working days) is marked overdue.
    let late = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap();
    clock.advance(Duration::days(3));
    let report = engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    clock.advance(Duration::days(30));
    let report = engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().done(), 0);
    let overdue = engine
        .tasks(&TaskQuery {
            overdue: Some(true),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    let counts = engine.store().overdue_counts().await.unwrap();
    assert!(overdue
        .iter()
        .any(|t| t.record.id == late.tasks[0] && t.overdue));
    assert!(
        counts.contains(&(Some("000.00.02.H22".into()), "mot-cua".into(), 1)),
        "{counts:?}"
    );
    assert_eq!(
        counts.iter().map(|c| c.2).sum::<i64>() as usize,
        overdue
            .iter()
            .map(|t| t.record.candidate_groups.len().max(1))
            .sum::<usize>()
    );
    let fired = engine
        .journal(t.instance)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "timer_fired")
        .count();
    assert_eq!(fired, 1);

    // A schedule fires once per due time with two runners.
    let first_due = engine
        .put_schedule("report", "0 0 7 * * *", OVERDUE_REPORT)
        .await
        .unwrap();
    clock.set(first_due + Duration::minutes(1));
    let (a, b) = tokio::join!(
        engine.run_due_schedules("node-a"),
        engine2.run_due_schedules("node-b")
    );
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
    let runs = engine.schedule_runs("report").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].due_at, first_due);
    assert!(engine.store().schedules().await.unwrap()[0].next_due > first_due);
    let (a, b) = tokio::join!(
        engine.run_due_schedules("node-a"),
        engine2.run_due_schedules("node-b")
    );
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 0, "not due again yet");

    // Two engine nodes share 200 due timers: each fires exactly once.
    let fired_before = count(
        engine.store(),
        "SELECT COUNT(*) FROM journal WHERE kind = 'timer_fired'",
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(
            engine
                .start(start("p"), CommandOptions::default())
                .await
                .unwrap()
                .instance,
        );
    }
    clock.advance(Duration::hours(2));
    let node = |e: Arc<Engine<PostgresStore>>, worker: &'static str| async move {
        let mut fired = 0;
        loop {
            let report = e.run_due_jobs(worker, 16).await.unwrap();
            fired += report.timers_fired;
            if report.done() == 0 && report.skipped == 0 && report.failed == 0 {
                return fired;
            }
        }
    };
    let engine2 = Arc::new(engine2);
    let (a, b) = tokio::join!(
        tokio::spawn(node(engine.clone(), "node-a")),
        tokio::spawn(node(engine2.clone(), "node-b"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a + b, 200, "node a fired {a}, node b fired {b}");
    eprintln!("200 timers: node a fired {a}, node b fired {b}");
    let fired_after = count(
        engine.store(),
        "SELECT COUNT(*) FROM journal WHERE kind = 'timer_fired'",
    )
    .await;
    assert_eq!(fired_after - fired_before, 200);
    for id in &ids {
        let n = engine
            .journal(*id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "timer_fired")
            .count();
        assert_eq!(n, 1);
    }

    // AnyStore: by URL scheme.
    let any = AnyStore::open(&url, Durability::Full).await.unwrap();
    assert!(matches!(any, AnyStore::Postgres(_)));
    assert_eq!(any.definitions().await.unwrap().len(), 2);
    any.close().await;
    let err = AnyStore::open("mysql://x", Durability::Full)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");

    engine.store().close().await;
    engine2.store().close().await;
}
