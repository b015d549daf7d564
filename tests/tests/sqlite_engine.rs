//! The engine on real SQLite files: deploy and versions, the task queue, restarts, idempotent
//! retries, racing completions, atomic commits, external-worker jobs and incidents.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    CommandOptions, DeployFile, Engine, EngineError, InstanceStatus, ManualClock, SqliteConfig,
    SqliteStore, StartInstance,
};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

const BIRTH: &str = include_str!("../../definitions/catalog/dang-ky-khai-sinh.bpmn");

struct Db {
    _dir: TempDir,
    url: String,
    clock: ManualClock,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("motcua.db").display());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap());
        Db {
            _dir: dir,
            url,
            clock,
        }
    }

    async fn open(&self) -> Engine<SqliteStore> {
        let store = SqliteStore::open(&SqliteConfig::new(&self.url))
            .await
            .expect("open store");
        Engine::new(store, Arc::new(self.clock.clone()))
    }
}

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

async fn open_task(engine: &Engine<SqliteStore>, group: &str) -> motcua_engine::TaskId {
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

async fn count(engine: &Engine<SqliteStore>, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(engine.store().pool())
        .await
        .expect(sql)
}

#[tokio::test]
async fn deploy_versions_by_content() {
    let db = Db::new();
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

#[tokio::test]
async fn a_refused_file_deploys_nothing_of_the_deployment() {
    let db = Db::new();
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
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM definitions").await, 0);
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM deployments").await, 0);
}

#[tokio::test]
async fn the_procedure_survives_a_restart() {
    let db = Db::new();
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
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_first_answer_and_changes_nothing() {
    let db = Db::new();
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
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM instances").await, 1);

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

#[tokio::test]
async fn two_racing_completions_one_wins_one_conflicts() {
    let db = Db::new();
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

#[tokio::test]
async fn a_failure_inside_the_transaction_leaves_nothing_behind() {
    let db = Db::new();
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
    sqlx::query(
        "CREATE TRIGGER fail_task_insert BEFORE INSERT ON tasks \
         BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END",
    )
    .execute(engine.store().pool())
    .await
    .unwrap();
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
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM idempotency").await, 0);
    // A start that fails leaves no instance at all.
    let err = engine
        .start(start("dang-ky-khai-sinh"), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err:?}");
    assert_eq!(count(&engine, "SELECT COUNT(*) FROM instances").await, 1);
    // Once the database recovers, the same command goes through.
    sqlx::query("DROP TRIGGER fail_task_insert")
        .execute(engine.store().pool())
        .await
        .unwrap();
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

#[tokio::test]
async fn task_queue_filters_and_pages() {
    let db = Db::new();
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
    assert_eq!(mine[0].record.agency.as_deref(), Some("xa-phu-thuong"));
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

#[tokio::test]
async fn queue_queries_use_indexes() {
    let db = Db::new();
    let engine = db.open().await;
    let plan = |sql: &'static str| {
        let pool = engine.store().pool().clone();
        async move {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sql).fetch_all(&pool).await.expect("explain");
            rows.into_iter()
                .map(|r| r.3)
                .collect::<Vec<_>>()
                .join(" | ")
        }
    };
    let by_group = plan(
        "EXPLAIN QUERY PLAN SELECT * FROM tasks t WHERE t.state = 'open' AND t.id IN \
         (SELECT task_id FROM task_candidates WHERE kind = 'group' AND name = 'x') \
         ORDER BY t.created_at, t.id LIMIT 50",
    )
    .await;
    assert!(
        by_group.contains("USING PRIMARY KEY") || by_group.contains("USING INDEX"),
        "{by_group}"
    );
    assert!(!by_group.contains("SCAN task_candidates"), "{by_group}");
    let open = plan("EXPLAIN QUERY PLAN SELECT * FROM tasks t WHERE t.state = 'open' ORDER BY t.created_at, t.id LIMIT 50").await;
    assert!(open.contains("USING INDEX tasks_open"), "{open}");
    let jobs = plan(
        "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE topic = 'x' AND state = 'open' AND due_at <= '2026' \
         ORDER BY due_at, id LIMIT 10",
    )
    .await;
    assert!(jobs.contains("USING INDEX jobs_due"), "{jobs}");
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

#[tokio::test]
async fn external_workers_fetch_lock_complete_and_fail_into_incidents() {
    let db = Db::new();
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

#[tokio::test]
async fn an_expired_lock_hands_the_job_to_another_worker() {
    let db = Db::new();
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

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let db = Db::new();
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
