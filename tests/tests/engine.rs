//! The engine on a real SQLite file and a real PostgreSQL database (each test runs on both):
//! deploy and versions, the task queue, restarts, idempotent retries, racing completions, atomic
//! commits, external-worker jobs and incidents.

use std::sync::Arc;

use chrono::Duration;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::{TaskCursor, TaskQuery, TaskSort, Workable};
use motcua_engine::{
    CommandOptions, DeployFile, Engine, EngineError, InstanceStatus, StartInstance,
};
use motcua_tests::{Backend, TestDb};
use serde_json::{json, Map, Value};

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");

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

async fn open_task(engine: &Engine<AnyStore>, group: &str) -> motcua_engine::TaskId {
    let tasks = engine
        .tasks(&TaskQuery {
            candidate_group: Some(group.into()),
            ..TaskQuery::default()
        })
        .await
        .expect("task query");
    assert_eq!(
        tasks.len(),
        1,
        "expected one open task for {group}, got {tasks:?}"
    );
    tasks[0].record.id
}

async fn deploy_versions_by_content(backend: Backend) {
    let Some(db) = TestDb::new(backend, "deploy_versions_by_content").await else {
        return;
    };
    let engine = db.open().await;
    let d = engine
        .deploy("a", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    assert_eq!((d[0].definition.version, d[0].created), (1, true));
    let d = engine
        .deploy("b", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    assert_eq!(
        (d[0].definition.version, d[0].created),
        (1, false),
        "identical content: same version"
    );
    let changed = BIRTH.replace("Trả kết quả cho công dân", "Trả kết quả");
    let d = engine
        .deploy("c", &[file("khai-sinh.bpmn", &changed)])
        .await
        .unwrap();
    assert_eq!((d[0].definition.version, d[0].created), (2, true));
    let defs = engine.definitions().await.unwrap();
    assert_eq!(defs.iter().map(|d| d.version).collect::<Vec<_>>(), [1, 2]);
    // A running instance stays on its version.
    let old = engine
        .start(
            StartInstance {
                version: Some(1),
                ..start("dang-ky-khai-sinh")
            },
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        engine
            .instance(old.instance)
            .await
            .unwrap()
            .definition
            .version,
        1
    );
    let new = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap();
    assert_eq!(
        engine
            .instance(new.instance)
            .await
            .unwrap()
            .definition
            .version,
        2
    );
}

async fn a_refused_file_deploys_nothing_of_the_deployment(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_refused_file_deploys_nothing_of_the_deployment").await
    else {
        return;
    };
    let engine = db.open().await;
    let bad = BIRTH
        .replace("dang-ky-khai-sinh\" name", "other-process\" name")
        .replace("<bpmn:endEvent id=\"hoan-thanh\" name=\"Hoàn thành\">", "<bpmn:endEvent id=\"hoan-thanh\" name=\"Hoàn thành\"><bpmn:escalationEventDefinition id=\"esc\" />");
    let err = engine
        .deploy("mixed", &[file("good.bpmn", BIRTH), file("bad.bpmn", &bad)])
        .await
        .unwrap_err();
    let EngineError::Deploy(diags) = err else {
        panic!("expected a deploy error, got {err:?}")
    };
    let first = diags.first().unwrap();
    assert_eq!(first.file, "bad.bpmn");
    assert_eq!(first.element, "escalationEventDefinition");
    assert!(first.position.line > 0);
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM definitions").await,
        0
    );
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM deployments").await,
        0
    );
}

async fn the_procedure_survives_a_restart(backend: Backend) {
    let Some(db) = TestDb::new(backend, "the_procedure_survives_a_restart").await else {
        return;
    };
    let id;
    {
        let engine = db.open().await;
        engine
            .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
            .await
            .unwrap();
        id = engine
            .start(
                StartInstance {
                    business_key: Some("HS-1".into()),
                    ..start("dang-ky-khai-sinh")
                },
                CommandOptions::default(),
            )
            .await
            .unwrap()
            .instance;
        let task = open_task(&engine, "mot-cua").await;
        engine
            .claim(task, "lan", CommandOptions::by("lan"))
            .await
            .unwrap();
        engine
            .complete(task, Map::new(), CommandOptions::by("lan"))
            .await
            .unwrap();
        engine.store().close().await;
    }
    // A new store and engine over the same file: no cache, nothing in memory.
    let engine = db.open().await;
    let state = engine.instance(id).await.unwrap();
    assert_eq!(state.business_key.as_deref(), Some("HS-1"));
    assert_eq!(
        state
            .tokens
            .iter()
            .map(|t| t.node.as_str())
            .collect::<Vec<_>>(),
        ["tham-dinh"]
    );
    let task = open_task(&engine, "tu-phap-ho-tich").await;
    engine
        .complete(
            task,
            vars(json!({"dossierComplete": true})),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    let task = open_task(&engine, "lanh-dao").await;
    engine
        .complete(task, Map::new(), CommandOptions::default())
        .await
        .unwrap();
    let task = open_task(&engine, "mot-cua").await;
    let done = engine
        .complete(task, Map::new(), CommandOptions::default())
        .await
        .unwrap();
    assert_eq!(done.status, InstanceStatus::Completed);
    let journal = engine.journal(id).await.unwrap();
    let seqs: Vec<i64> = journal.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=journal.len() as i64).collect::<Vec<_>>(),
        "gap-free journal"
    );
    assert_eq!(journal.last().unwrap().kind, "instance_completed");
    engine
        .verify_instance(id)
        .await
        .expect("the journal replays to the stored state");
}

async fn an_idempotent_retry_returns_the_first_answer_and_changes_nothing(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "an_idempotent_retry_returns_the_first_answer_and_changes_nothing",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
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
    assert_eq!(db.count(&engine, "SELECT COUNT(*) FROM instances").await, 1);

    let task = open_task(&engine, "mot-cua").await;
    let opts = CommandOptions::by("lan").with_key("complete-1");
    let done = engine
        .complete(task, vars(json!({"a": 1})), opts.clone())
        .await
        .unwrap();
    let journal_len = engine.journal(first.instance).await.unwrap().len();
    let retried = engine
        .complete(task, vars(json!({"a": 1})), opts.clone())
        .await
        .unwrap();
    assert_eq!(done, retried);
    assert_eq!(
        engine.journal(first.instance).await.unwrap().len(),
        journal_len,
        "nothing twice"
    );
    // The same key for another command is a conflict, not a silent replay.
    let err = engine
        .complete(task, vars(json!({"a": 2})), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
}

async fn two_racing_completions_one_wins_one_conflicts(backend: Backend) {
    let Some(db) = TestDb::new(backend, "two_racing_completions_one_wins_one_conflicts").await
    else {
        return;
    };
    let engine = Arc::new(db.open().await);
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    for round in 0..20 {
        let started = engine
            .start(start("dang-ky-khai-sinh"), CommandOptions::default())
            .await
            .unwrap();
        let task = started.tasks[0];
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
        let journal = engine.journal(started.instance).await.unwrap();
        let completions = journal
            .iter()
            .filter(|e| e.kind == "task_completed")
            .count();
        assert_eq!(
            completions, 1,
            "round {round}: exactly one completion recorded"
        );
    }
}

async fn a_failure_inside_the_transaction_leaves_nothing_behind(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "a_failure_inside_the_transaction_leaves_nothing_behind",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    let started = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap();
    let task = started.tasks[0];
    let before_state = engine.instance(started.instance).await.unwrap();
    let before_journal = engine.journal(started.instance).await.unwrap().len();
    // The database fails half-way: after the instance row and journal were written, the
    // insert of the next task aborts.
    db.execute(
        &engine,
        "CREATE TRIGGER fail_task_insert BEFORE INSERT ON tasks \
         BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END",
        "CREATE FUNCTION fail_task_insert() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$; \
         CREATE TRIGGER fail_task_insert BEFORE INSERT ON tasks \
         FOR EACH ROW EXECUTE FUNCTION fail_task_insert();",
    )
    .await;
    let err = engine
        .complete(
            task,
            vars(json!({"x": 1})),
            CommandOptions::default().with_key("k1"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err:?}");
    assert_eq!(
        engine.instance(started.instance).await.unwrap(),
        before_state
    );
    assert_eq!(
        engine.journal(started.instance).await.unwrap().len(),
        before_journal
    );
    assert_eq!(engine.task(task).await.unwrap().state, "open");
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM idempotency").await,
        0
    );
    // A start that fails leaves no instance at all.
    let err = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err:?}");
    assert_eq!(db.count(&engine, "SELECT COUNT(*) FROM instances").await, 1);
    // Once the database recovers, the same command goes through.
    db.execute(
        &engine,
        "DROP TRIGGER fail_task_insert",
        "DROP TRIGGER fail_task_insert ON tasks",
    )
    .await;
    engine
        .complete(
            task,
            vars(json!({"x": 1})),
            CommandOptions::default().with_key("k1"),
        )
        .await
        .unwrap();
    assert_eq!(engine.task(task).await.unwrap().state, "completed");
}

async fn task_queue_filters_and_pages(backend: Backend) {
    let Some(db) = TestDb::new(backend, "task_queue_filters_and_pages").await else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        db.clock.advance(Duration::minutes(1));
        let o = engine
            .start(
                StartInstance {
                    business_key: Some(format!("HS-{i}")),
                    ..start("dang-ky-khai-sinh")
                },
                CommandOptions::default(),
            )
            .await
            .unwrap();
        ids.push(o.tasks[0]);
    }
    let q = |group: Option<&str>, assignee: Option<&str>, limit, offset| TaskQuery {
        candidate_group: group.map(str::to_owned),
        assignee: assignee.map(str::to_owned),
        limit: Some(limit),
        offset: Some(offset),
        ..TaskQuery::default()
    };
    let page1 = engine.tasks(&q(Some("mot-cua"), None, 2, 0)).await.unwrap();
    let page2 = engine.tasks(&q(Some("mot-cua"), None, 2, 2)).await.unwrap();
    let page3 = engine.tasks(&q(Some("mot-cua"), None, 2, 4)).await.unwrap();
    let listed: Vec<_> = page1
        .iter()
        .chain(&page2)
        .chain(&page3)
        .map(|t| t.record.id)
        .collect();
    assert_eq!(listed, ids, "oldest first, every task once across pages");
    assert!(engine
        .tasks(&q(Some("lanh-dao"), None, 50, 0))
        .await
        .unwrap()
        .is_empty());
    engine
        .claim(ids[3], "lan", CommandOptions::by("lan"))
        .await
        .unwrap();
    let mine = engine.tasks(&q(None, Some("lan"), 50, 0)).await.unwrap();
    assert_eq!(
        mine.iter().map(|t| t.record.id).collect::<Vec<_>>(),
        [ids[3]]
    );
    assert_eq!(mine[0].record.candidate_groups, ["mot-cua"]);
    assert_eq!(mine[0].record.agency.as_deref(), Some("000.00.02.H22"));
    // Someone else cannot take it.
    let err = engine
        .claim(ids[3], "hung", CommandOptions::by("hung"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)));
    // A completed task leaves the open queue.
    engine
        .complete(ids[0], Map::new(), CommandOptions::by("lan"))
        .await
        .unwrap();
    assert_eq!(
        engine
            .tasks(&q(Some("mot-cua"), None, 50, 0))
            .await
            .unwrap()
            .len(),
        4
    );
}

async fn queue_queries_use_indexes(backend: Backend) {
    let Some(db) = TestDb::new(backend, "queue_queries_use_indexes").await else {
        return;
    };
    let engine = db.open().await;
    let by_group = db
        .plan(
            &engine,
            "SELECT t.* FROM task_candidates c JOIN tasks t ON t.id = c.task_id \
             WHERE c.kind = 'group' AND t.state = 'open' AND c.name = 'x' \
             ORDER BY c.created_at, c.task_id LIMIT 50",
        )
        .await;
    let open = db
        .plan(
            &engine,
            "SELECT * FROM tasks t WHERE t.state = 'open' ORDER BY t.created_at, t.id LIMIT 50",
        )
        .await;
    let jobs = db
        .plan(
            &engine,
            "SELECT id FROM jobs WHERE topic = 'x' AND state = 'open' \
             ORDER BY due_at, id LIMIT 10",
        )
        .await;
    match db.backend() {
        Backend::Sqlite => {
            assert!(
                by_group.contains("SEARCH c USING PRIMARY KEY"),
                "{by_group}"
            );
            assert!(!by_group.contains("TEMP B-TREE"), "no sort: {by_group}");
            assert!(open.contains("USING INDEX tasks_open"), "{open}");
            assert!(jobs.contains("USING INDEX jobs_due"), "{jobs}");
        }
        Backend::Postgres => {
            assert!(by_group.contains("task_candidates_pkey"), "{by_group}");
            assert!(!by_group.contains("Seq Scan"), "{by_group}");
            assert!(!by_group.contains("Sort"), "no sort: {by_group}");
            assert!(open.contains("tasks_open"), "{open}");
            assert!(jobs.contains("jobs_due"), "{jobs}");
        }
    }
}

const WORKER_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
  <bpmn:process id="lien-thong" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="gui" name="Gửi hồ sơ liên thông" camunda:type="external" camunda:topic="lien-thong-thue"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="gui"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gui" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn external_workers_fetch_lock_complete_and_fail_into_incidents(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "external_workers_fetch_lock_complete_and_fail_into_incidents",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("w", &[file("w.bpmn", WORKER_PROCESS)])
        .await
        .unwrap();
    let a = engine
        .start(start("lien-thong"), CommandOptions::default())
        .await
        .unwrap();
    let b = engine
        .start(start("lien-thong"), CommandOptions::default())
        .await
        .unwrap();
    let lock = Duration::minutes(5);
    let got = engine
        .fetch_and_lock("lien-thong-thue", "w1", 1, lock)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let got2 = engine
        .fetch_and_lock("lien-thong-thue", "w2", 10, lock)
        .await
        .unwrap();
    assert_eq!(got2.len(), 1, "a locked job is not handed out twice");
    assert_ne!(got[0].job.id, got2[0].job.id);
    assert!(engine
        .fetch_and_lock("lien-thong-thue", "w3", 10, lock)
        .await
        .unwrap()
        .is_empty());
    // Only the holder may complete.
    let err = engine
        .complete_job(got[0].job.id, "w2", Map::new(), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    let done = engine
        .complete_job(
            got[0].job.id,
            "w1",
            vars(json!({"maSoThue": "3300101234"})),
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.status, InstanceStatus::Completed);
    // The other fails until its retries (3, Camunda's default) run out.
    let job = got2[0].job.id;
    let instance = got2[0].job.instance;
    assert!(instance == a.instance || instance == b.instance);
    engine
        .fail_job(
            job,
            "w2",
            "máy chủ thuế không trả lời",
            None,
            CommandOptions::default(),
        )
        .await
        .unwrap();
    assert!(
        engine
            .fetch_and_lock("lien-thong-thue", "w2", 10, lock)
            .await
            .unwrap()
            .is_empty(),
        "back-off: not due yet"
    );
    db.clock.advance(Duration::seconds(11));
    let again = engine
        .fetch_and_lock("lien-thong-thue", "w2", 10, lock)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job.retries, 2);
    engine
        .fail_job(job, "w2", "lỗi 2", None, CommandOptions::default())
        .await
        .unwrap();
    db.clock.advance(Duration::seconds(21));
    engine
        .fetch_and_lock("lien-thong-thue", "w2", 10, lock)
        .await
        .unwrap();
    engine
        .fail_job(job, "w2", "lỗi 3", None, CommandOptions::default())
        .await
        .unwrap();
    let incidents = engine.incidents().await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(
        (
            incidents[0].job,
            incidents[0].instance,
            incidents[0].message.as_str()
        ),
        (job, Some(instance), "lỗi 3")
    );
    db.clock.advance(Duration::hours(1));
    assert!(
        engine
            .fetch_and_lock("lien-thong-thue", "w2", 10, lock)
            .await
            .unwrap()
            .is_empty(),
        "an incident is not retried by itself"
    );
    let journal = engine.journal(instance).await.unwrap();
    assert_eq!(journal.iter().filter(|e| e.kind == "job_failed").count(), 3);
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.kind == "incident_raised")
            .count(),
        1
    );
}

async fn an_expired_lock_hands_the_job_to_another_worker(backend: Backend) {
    let Some(db) = TestDb::new(backend, "an_expired_lock_hands_the_job_to_another_worker").await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("w", &[file("w.bpmn", WORKER_PROCESS)])
        .await
        .unwrap();
    engine
        .start(start("lien-thong"), CommandOptions::default())
        .await
        .unwrap();
    let got = engine
        .fetch_and_lock("lien-thong-thue", "w1", 1, Duration::seconds(30))
        .await
        .unwrap();
    db.clock.advance(Duration::seconds(31));
    let taken = engine
        .fetch_and_lock("lien-thong-thue", "w2", 1, Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(taken[0].job.id, got[0].job.id);
    let err = engine
        .complete_job(got[0].job.id, "w1", Map::new(), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict(_)),
        "the first worker lost its lease: {err:?}"
    );
    engine
        .complete_job(got[0].job.id, "w2", Map::new(), CommandOptions::default())
        .await
        .unwrap();
}

async fn unknown_ids_are_not_found(backend: Backend) {
    let Some(db) = TestDb::new(backend, "unknown_ids_are_not_found").await else {
        return;
    };
    let engine = db.open().await;
    let err = engine
        .start(start("khong-co"), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::NotFound {
                what: "definition",
                ..
            }
        ),
        "{err:?}"
    );
    let task = motcua_engine::TaskId::from_uuid(uuid::Uuid::nil());
    let err = engine
        .complete(task, Map::new(), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NotFound { what: "task", .. }),
        "{err:?}"
    );
}

async fn history_cleanup_removes_old_finished_instances_and_nothing_else(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "history_cleanup_removes_old_finished_instances_and_nothing_else",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    let finish = |id| {
        let engine = &engine;
        async move {
            loop {
                let tasks = engine
                    .tasks(&TaskQuery {
                        instance: Some(id),
                        ..TaskQuery::default()
                    })
                    .await
                    .unwrap();
                let Some(t) = tasks.first() else { break };
                engine
                    .complete(
                        t.record.id,
                        vars(json!({"dossierComplete": true})),
                        CommandOptions::default(),
                    )
                    .await
                    .unwrap();
            }
        }
    };
    // Two finished long ago, one cancelled long ago, one still running from long ago.
    let old_done = engine
        .start(
            start("dang-ky-khai-sinh"),
            CommandOptions::default().with_key("old-1"),
        )
        .await
        .unwrap()
        .instance;
    finish(old_done).await;
    let old_done_2 = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap()
        .instance;
    finish(old_done_2).await;
    let old_cancelled = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap()
        .instance;
    engine
        .cancel(old_cancelled, None, CommandOptions::default())
        .await
        .unwrap();
    let old_running = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap()
        .instance;
    // A year later: one finished recently.
    db.clock.advance(Duration::days(400));
    let recent = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap()
        .instance;
    finish(recent).await;
    let running_journal = engine.journal(old_running).await.unwrap().len();
    let recent_journal = engine.journal(recent).await.unwrap().len();

    let removed = engine
        .remove_finished(db.clock.now_for_tests() - Duration::days(365), 2)
        .await
        .unwrap();
    assert_eq!(removed.instances, 3, "{removed:?}");
    assert!(removed.events > 0 && removed.tasks > 0, "{removed:?}");
    assert_eq!(
        removed.idempotency, 1,
        "the old idempotency record goes too"
    );
    for gone in [old_done, old_done_2, old_cancelled] {
        assert!(matches!(
            engine.instance(gone).await,
            Err(EngineError::NotFound { .. })
        ));
        assert_eq!(
            db.count(
                &engine,
                &format!("SELECT COUNT(*) FROM journal WHERE instance_id = '{gone}'")
            )
            .await,
            0
        );
        assert_eq!(
            db.count(
                &engine,
                &format!("SELECT COUNT(*) FROM tasks WHERE instance_id = '{gone}'")
            )
            .await,
            0
        );
    }
    assert_eq!(
        engine.journal(old_running).await.unwrap().len(),
        running_journal,
        "running instances stay"
    );
    assert_eq!(
        engine.journal(recent).await.unwrap().len(),
        recent_journal,
        "recent ones stay"
    );
    assert_eq!(
        engine.instance(old_running).await.unwrap().status,
        InstanceStatus::Active
    );
    // Nothing left to remove: a second pass is a no-op.
    let again = engine
        .remove_finished(db.clock.now_for_tests() - Duration::days(365), 2)
        .await
        .unwrap();
    assert!(again.is_empty());
}

async fn an_edited_journal_is_found_by_replay(backend: Backend) {
    let Some(db) = TestDb::new(backend, "an_edited_journal_is_found_by_replay").await else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    let started = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap();
    engine
        .complete(
            started.tasks[0],
            vars(json!({"fee": 1})),
            CommandOptions::by("lan"),
        )
        .await
        .unwrap();
    engine
        .verify_instance(started.instance)
        .await
        .expect("an untouched journal replays");
    // Someone edits history in the database: the fee recorded with the completion.
    let edit = "UPDATE journal SET data = replace(data, '\"fee\":1', '\"fee\":9') \
                WHERE kind = 'task_completed'";
    db.execute(&engine, edit, edit).await;
    let reopened = db.open().await; // no cached state
    let err = reopened
        .verify_instance(started.instance)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("differs") || text.contains("nondeterminism"),
        "{text}"
    );
}

motcua_tests::on_both_databases!(
    deploy_versions_by_content,
    a_refused_file_deploys_nothing_of_the_deployment,
    the_procedure_survives_a_restart,
    an_idempotent_retry_returns_the_first_answer_and_changes_nothing,
    two_racing_completions_one_wins_one_conflicts,
    a_failure_inside_the_transaction_leaves_nothing_behind,
    task_queue_filters_and_pages,
    queue_queries_use_indexes,
    external_workers_fetch_lock_complete_and_fail_into_incidents,
    an_expired_lock_hands_the_job_to_another_worker,
    unknown_ids_are_not_found,
    history_cleanup_removes_old_finished_instances_and_nothing_else,
    an_edited_journal_is_found_by_replay,
    task_queue_scoped_to_an_agency_and_groups,
    count_tasks_uses_the_filters_of_tasks,
    delegate_resolve_complete_replays,
    task_queue_by_procedure_text_and_cursor,
);

/// The procedure and text filters, and cursor paging that lists every task once, through the
/// table path and the group index path; tasks created at the same instant are ordered by id.
async fn task_queue_by_procedure_text_and_cursor(backend: Backend) {
    let Some(db) = TestDb::new(backend, "task_queue_procedure_text_cursor").await else {
        return;
    };
    let engine = db.open().await;
    let other = BIRTH.replace("id=\"dang-ky-khai-sinh\"", "id=\"khai-sinh-b\"");
    engine
        .deploy("two", &[file("a.bpmn", BIRTH), file("b.bpmn", &other)])
        .await
        .unwrap();
    let mut first = Vec::new();
    for (i, key) in [
        "dang-ky-khai-sinh",
        "khai-sinh-b",
        "dang-ky-khai-sinh",
        "khai-sinh-b",
    ]
    .into_iter()
    .enumerate()
    {
        // Two and two share an instant.
        if i % 2 == 0 {
            db.clock.advance(Duration::minutes(1));
        }
        let o = engine
            .start(start(key), CommandOptions::default())
            .await
            .unwrap();
        first.push(o.tasks[0]);
    }
    db.clock.advance(Duration::minutes(1));
    engine
        .complete(
            first[0],
            vars(json!({"dossierComplete": true})),
            CommandOptions::by("lan"),
        )
        .await
        .unwrap();
    let ids = |rows: Vec<motcua_engine::store::TaskRow>| {
        rows.into_iter().map(|t| t.record.id).collect::<Vec<_>>()
    };
    let by_procedure = TaskQuery {
        definition_key: Some("khai-sinh-b".into()),
        ..TaskQuery::default()
    };
    assert_eq!(
        ids(engine.tasks(&by_procedure).await.unwrap()),
        [first[1], first[3]]
    );
    assert_eq!(engine.count_tasks(&by_procedure).await.unwrap(), 2);
    let by_text = |text: &str| TaskQuery {
        name_contains: Some(text.into()),
        ..TaskQuery::default()
    };
    let reviewing = engine.tasks(&by_text("thẩm định")).await.unwrap();
    assert_eq!(reviewing.len(), 1, "Vietnamese text matches as written");
    assert_eq!(reviewing[0].record.name, "Thẩm định hồ sơ");
    let mut receiving = ids(engine.tasks(&by_text("tiếp nhận")).await.unwrap());
    receiving.sort();
    let mut expected = vec![first[1], first[2], first[3]];
    expected.sort();
    assert_eq!(receiving, expected, "case-insensitive on the first letter");
    assert!(engine.tasks(&by_text("%")).await.unwrap().is_empty());
    assert!(engine.tasks(&by_text("_")).await.unwrap().is_empty());
    let both = TaskQuery {
        definition_key: Some("dang-ky-khai-sinh".into()),
        name_contains: Some("hồ sơ".into()),
        ..TaskQuery::default()
    };
    assert_eq!(engine.count_tasks(&both).await.unwrap(), 2);

    for group in [None, Some("mot-cua")] {
        let base = TaskQuery {
            candidate_group: group.map(str::to_owned),
            ..TaskQuery::default()
        };
        let all = ids(engine.tasks(&base).await.unwrap());
        assert!(all.len() >= 3, "{group:?}: {all:?}");
        let mut listed = Vec::new();
        let mut after = None;
        loop {
            let page = engine
                .tasks(&TaskQuery {
                    limit: Some(2),
                    after,
                    ..base.clone()
                })
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            let cursor = TaskCursor::after(&last.record);
            assert_eq!(TaskCursor::decode(&cursor.encode()), Some(cursor));
            after = Some(cursor);
            let full = page.len() == 2;
            listed.extend(ids(page));
            if !full {
                break;
            }
        }
        assert_eq!(listed, all, "{group:?}: every task once, in order");
    }
    assert_eq!(TaskCursor::decode("zz"), None);
    assert_eq!(TaskCursor::decode("6162"), None);
}

/// The scope the HTTP API gives a civil servant: one agency's tasks, and of those only the ones
/// offered to one of their groups, naming them, or assigned to them; open or closed, through
/// the group index path and the table path alike.
async fn task_queue_scoped_to_an_agency_and_groups(backend: Backend) {
    let Some(db) = TestDb::new(backend, "task_queue_scoped").await else {
        return;
    };
    let engine = db.open().await;
    let other = BIRTH
        .replace(
            "motcua:agency=\"000.00.02.H22\"",
            "motcua:agency=\"xa-phu-mau\"",
        )
        .replace("id=\"dang-ky-khai-sinh\"", "id=\"khai-sinh-b\"");
    engine
        .deploy("two", &[file("a.bpmn", BIRTH), file("b.bpmn", &other)])
        .await
        .unwrap();
    let mut a = Vec::new();
    for key in ["dang-ky-khai-sinh", "khai-sinh-b", "dang-ky-khai-sinh"] {
        db.clock.advance(Duration::minutes(1));
        let o = engine
            .start(start(key), CommandOptions::default())
            .await
            .unwrap();
        if key == "dang-ky-khai-sinh" {
            a.push(o.tasks[0]);
        }
    }
    // One of agency A's tasks is done: it leaves the candidates index but stays in the table.
    engine
        .complete(
            a[1],
            vars(json!({"dossierComplete": true})),
            CommandOptions::by("lan"),
        )
        .await
        .unwrap();
    let scoped = |groups: &[&str], user: &str, group: Option<&str>, closed: bool, sort| TaskQuery {
        agency: Some("000.00.02.H22".into()),
        workable_by: Some(Workable {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }),
        candidate_group: group.map(str::to_owned),
        include_closed: closed,
        sort,
        ..TaskQuery::default()
    };
    let listed = |q: TaskQuery| {
        let engine = &engine;
        async move {
            let mut ids: Vec<_> = engine
                .tasks(&q)
                .await
                .unwrap()
                .iter()
                .map(|t| t.record.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let mut open_a = vec![a[0]];
    open_a.sort();
    for sort in [TaskSort::Created, TaskSort::Due] {
        // The group index path (a group, open, by creation) and the table path agree.
        for group in [None, Some("mot-cua")] {
            assert_eq!(
                listed(scoped(&["mot-cua"], "x", group, false, sort)).await,
                open_a
            );
        }
        // Closed tasks too, by the JSON columns.
        let mut all_a = a.clone();
        all_a.sort();
        assert_eq!(
            listed(scoped(&["mot-cua", "lanh-dao"], "x", None, true, sort)).await,
            all_a
        );
        // Other groups, and no groups, see nothing; the completer sees what they closed.
        assert!(listed(scoped(&["lanh-dao"], "x", None, true, sort))
            .await
            .is_empty());
        assert!(listed(scoped(&[], "x", None, true, sort)).await.is_empty());
        let next = engine
            .tasks(&TaskQuery {
                instance: Some(engine.task(a[1]).await.unwrap().record.instance),
                ..TaskQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert!(listed(scoped(&[], "lan", None, false, sort))
            .await
            .is_empty());
    }
    // Agency B's tasks never appear in agency A's scope, whatever the filters.
    let b_only = TaskQuery {
        agency: Some("xa-phu-mau".into()),
        ..TaskQuery::default()
    };
    let b = engine.tasks(&b_only).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].record.agency.as_deref(), Some("xa-phu-mau"));
    assert!(
        !listed(scoped(&["mot-cua"], "x", None, true, TaskSort::Created))
            .await
            .contains(&b[0].record.id)
    );
    // Assigned to the user: visible without a matching group.
    let next = engine
        .tasks(&TaskQuery {
            agency: Some("000.00.02.H22".into()),
            candidate_group: Some("tu-phap-ho-tich".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    let t = next[0].record.id;
    engine
        .claim(t, "hoa", CommandOptions::by("hoa"))
        .await
        .unwrap();
    assert_eq!(
        listed(scoped(&[], "hoa", None, false, TaskSort::Created)).await,
        vec![t]
    );
    assert!(Workable {
        user: "hoa".into(),
        groups: vec![]
    }
    .matches(&engine.task(t).await.unwrap().record));
}

/// `count_tasks` counts exactly what `tasks` lists (without paging), whatever the filters.
async fn count_tasks_uses_the_filters_of_tasks(backend: Backend) {
    let Some(db) = TestDb::new(backend, "count_tasks_filters").await else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        db.clock.advance(Duration::minutes(1));
        let o = engine
            .start(start("dang-ky-khai-sinh"), CommandOptions::default())
            .await
            .unwrap();
        ids.push(o.tasks[0]);
    }
    engine
        .claim(ids[1], "lan", CommandOptions::by("lan"))
        .await
        .unwrap();
    engine
        .complete(
            ids[0],
            vars(json!({"dossierComplete": true})),
            CommandOptions::by("lan"),
        )
        .await
        .unwrap();
    let workable = |user: &str, groups: &[&str]| {
        Some(Workable {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        })
    };
    let cases: Vec<(TaskQuery, i64)> = vec![
        (TaskQuery::default(), 4),
        (
            TaskQuery {
                limit: Some(1),
                offset: Some(3),
                ..TaskQuery::default()
            },
            4,
        ),
        (
            TaskQuery {
                include_closed: true,
                ..TaskQuery::default()
            },
            5,
        ),
        (
            TaskQuery {
                candidate_group: Some("mot-cua".into()),
                ..TaskQuery::default()
            },
            3,
        ),
        (
            TaskQuery {
                candidate_group: Some("mot-cua".into()),
                include_closed: true,
                sort: TaskSort::Due,
                ..TaskQuery::default()
            },
            4,
        ),
        (
            TaskQuery {
                assignee: Some("lan".into()),
                ..TaskQuery::default()
            },
            1,
        ),
        (
            TaskQuery {
                agency: Some("xa-phu-mau".into()),
                ..TaskQuery::default()
            },
            0,
        ),
        (
            TaskQuery {
                agency: Some("000.00.02.H22".into()),
                workable_by: workable("x", &["mot-cua"]),
                ..TaskQuery::default()
            },
            3,
        ),
        (
            TaskQuery {
                agency: Some("000.00.02.H22".into()),
                workable_by: workable("lan", &[]),
                include_closed: true,
                ..TaskQuery::default()
            },
            1,
        ),
        (
            TaskQuery {
                overdue: Some(true),
                ..TaskQuery::default()
            },
            0,
        ),
    ];
    for (query, expected) in cases {
        let count = engine.count_tasks(&query).await.unwrap();
        assert_eq!(count, expected, "{query:?}");
        let listed = engine
            .tasks(&TaskQuery {
                limit: Some(1000),
                offset: Some(0),
                ..query.clone()
            })
            .await
            .unwrap();
        assert_eq!(listed.len() as i64, count, "{query:?}");
    }
}

/// Delegate, resolve, then complete: the queue follows the assignee, a delegated task refuses
/// completion, and the journal replays to the stored state.
async fn delegate_resolve_complete_replays(backend: Backend) {
    let Some(db) = TestDb::new(backend, "delegate_resolve_complete").await else {
        return;
    };
    let engine = db.open().await;
    engine
        .deploy("catalog", &[file("khai-sinh.bpmn", BIRTH)])
        .await
        .unwrap();
    let started = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap();
    let task = started.tasks[0];
    engine
        .claim(task, "lan", CommandOptions::by("lan"))
        .await
        .unwrap();
    engine
        .assign(task, "mai", CommandOptions::by("leader"))
        .await
        .unwrap();
    engine
        .delegate(task, "hung", CommandOptions::by("mai"))
        .await
        .unwrap();
    assert_eq!(
        engine.task(task).await.unwrap().record.assignee.as_deref(),
        Some("hung")
    );
    let err = engine
        .complete(task, Map::new(), CommandOptions::by("hung"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Conflict(m) if m.contains("resolve it first")),
        "{err:?}"
    );
    engine
        .resolve(task, vars(json!({"fee": 5})), CommandOptions::by("hung"))
        .await
        .unwrap();
    assert_eq!(
        engine.task(task).await.unwrap().record.assignee.as_deref(),
        Some("mai")
    );
    engine
        .complete(
            task,
            vars(json!({"dossierComplete": true})),
            CommandOptions::by("mai"),
        )
        .await
        .unwrap();
    let kinds: Vec<String> = engine
        .journal(started.instance)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    for kind in ["task_assigned", "task_delegated", "task_resolved"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let state = engine.instance(started.instance).await.unwrap();
    assert_eq!(state.variables["fee"], json!(5));
    engine
        .verify_instance(started.instance)
        .await
        .expect("the journal replays to the stored state");
}
