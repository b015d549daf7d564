//! Several engine nodes on one database (two `Engine`s, each with its own connections and
//! caches), on SQLite and on PostgreSQL: due jobs are shared without running twice, concurrent
//! starts never deadlock, and concurrent commands on one instance lose no update.

use std::sync::Arc;

use chrono::Duration;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    CommandOptions, DeployFile, Engine, EngineError, InstanceId, InstanceStatus, StartInstance,
};
use motcua_tests::{Backend, TestDb};
use serde_json::Map;

fn bpmn(body: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
  <bpmn:process id="p" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"#
    )
    .into_bytes()
}

async fn deploy(engine: &Engine<AnyStore>, body: &str) {
    let file = DeployFile {
        name: "p.bpmn".into(),
        bytes: bpmn(body),
    };
    if let Err(e) = engine.deploy("t", &[file]).await {
        panic!("does not deploy: {e}");
    }
}

async fn start(engine: &Engine<AnyStore>) -> Result<InstanceId, EngineError> {
    let request = StartInstance {
        key: "p".into(),
        ..StartInstance::default()
    };
    engine
        .start(request, CommandOptions::default())
        .await
        .map(|o| o.instance)
}

const TIMER: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>"#;

async fn two_nodes_share_due_timers_and_fire_each_once(backend: Backend) {
    let Some(db) = TestDb::new(backend, "two_nodes_share_due_timers_and_fire_each_once").await
    else {
        return;
    };
    let a = Arc::new(db.open().await);
    let b = Arc::new(db.open().await);
    deploy(&a, TIMER).await;
    let mut ids = Vec::new();
    for _ in 0..120 {
        ids.push(start(&a).await.expect("start"));
    }
    db.clock.advance(Duration::hours(1));
    let (ra, rb) = tokio::join!(
        {
            let a = a.clone();
            async move { a.run_all_due_jobs("node-a").await }
        },
        {
            let b = b.clone();
            async move { b.run_all_due_jobs("node-b").await }
        }
    );
    let (ra, rb) = (ra.expect("node a"), rb.expect("node b"));
    assert_eq!(ra.timers_fired + rb.timers_fired, 120, "{ra:?} {rb:?}");
    for id in ids {
        let state = a.instance(id).await.expect("instance");
        assert_eq!(state.status, InstanceStatus::Completed);
        let fired = a
            .journal(id)
            .await
            .expect("journal")
            .iter()
            .filter(|e| e.kind == "timer_fired")
            .count();
        assert_eq!(fired, 1, "instance {id}");
        a.verify_instance(id).await.expect("replays");
    }
}

const TASK: &str = r#"
    <bpmn:startEvent id="s"/><bpmn:userTask id="u" camunda:candidateGroups="g"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>
    <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>"#;

async fn concurrent_starts_on_two_nodes_never_deadlock(backend: Backend) {
    let Some(db) = TestDb::new(backend, "concurrent_starts_on_two_nodes_never_deadlock").await
    else {
        return;
    };
    let a = Arc::new(db.open().await);
    let b = Arc::new(db.open().await);
    deploy(&a, TASK).await;
    let mut handles = Vec::new();
    for i in 0..200 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move { start(&node).await }));
    }
    for h in handles {
        h.await.expect("task").expect("every start succeeds");
    }
    let open = a
        .tasks(&TaskQuery {
            candidate_group: Some("g".into()),
            limit: Some(1000),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks");
    assert_eq!(open.len(), 200);
}

async fn concurrent_completions_on_two_nodes_lose_no_update(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "concurrent_completions_on_two_nodes_lose_no_update",
    )
    .await
    else {
        return;
    };
    let a = Arc::new(db.open().await);
    let b = Arc::new(db.open().await);
    // Ten parallel tasks of one instance, joined at the end.
    let mut body = String::from(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/><bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="e"/>"#,
    );
    for i in 0..10 {
        body.push_str(&format!(
            r#"<bpmn:userTask id="t{i}" camunda:candidateGroups="g"/>
               <bpmn:sequenceFlow id="a{i}" sourceRef="fork" targetRef="t{i}"/>
               <bpmn:sequenceFlow id="b{i}" sourceRef="t{i}" targetRef="join"/>"#
        ));
    }
    deploy(&a, &body).await;
    let id = start(&a).await.expect("start");
    // Both nodes commit to the same instance: each one's cached state goes stale with the
    // other's commits, which the version check catches.
    let tasks = a
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 10);
    let mut handles = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let task = t.record.id;
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0;
            loop {
                let mut vars = Map::new();
                vars.insert(format!("done{i}"), serde_json::json!(true));
                match node.complete(task, vars, CommandOptions::default()).await {
                    Ok(_) => return conflicts,
                    // A client that gets a conflict re-reads and tries again.
                    Err(EngineError::Conflict(_)) => conflicts += 1,
                    Err(e) => panic!("task {i}: {e}"),
                }
                assert!(conflicts < 100, "task {i} never got through");
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    let state = a.instance(id).await.expect("instance");
    assert_eq!(state.status, InstanceStatus::Completed);
    assert_eq!(
        state.variables.len(),
        10,
        "every completion's variables are kept"
    );
    let completed = a
        .journal(id)
        .await
        .expect("journal")
        .iter()
        .filter(|e| e.kind == "task_completed")
        .count();
    assert_eq!(completed, 10);
    a.verify_instance(id).await.expect("replays");
}

async fn one_failing_command_in_a_group_commit_fails_alone(backend: Backend) {
    let Some(db) = TestDb::new(backend, "one_failing_command_in_a_group_commit_fails_alone").await
    else {
        return;
    };
    let engine = Arc::new(db.open().await);
    deploy(&engine, TASK).await;
    let bad_xml = String::from_utf8(bpmn(TASK))
        .expect("utf-8")
        .replace("id=\"p\"", "id=\"bad\"");
    engine
        .deploy(
            "bad",
            &[DeployFile {
                name: "bad.bpmn".into(),
                bytes: bad_xml.into_bytes(),
            }],
        )
        .await
        .expect("deploy bad");
    // The database refuses tasks of process "bad" only.
    db.execute(
        &engine,
        "CREATE TRIGGER refuse_bad BEFORE INSERT ON tasks WHEN NEW.definition_key = 'bad' \
         BEGIN SELECT RAISE(ABORT, 'refused (simulated)'); END",
        "CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused (simulated)'; END $$; \
         CREATE TRIGGER refuse_bad BEFORE INSERT ON tasks FOR EACH ROW \
         WHEN (NEW.definition_key = 'bad') EXECUTE FUNCTION refuse_bad();",
    )
    .await;
    let mut handles = Vec::new();
    for i in 0..41 {
        let engine = engine.clone();
        let key = if i == 20 { "bad" } else { "p" };
        handles.push(tokio::spawn(async move {
            let request = StartInstance {
                key: key.into(),
                ..StartInstance::default()
            };
            (key, engine.start(request, CommandOptions::default()).await)
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.expect("task") {
            ("p", Ok(_)) => ok += 1,
            ("bad", Err(EngineError::Store(_))) => {}
            (key, other) => panic!("{key}: unexpected {other:?}"),
        }
    }
    assert_eq!(
        ok, 40,
        "every good command commits, whatever group it shared"
    );
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM instances").await,
        40
    );
    assert_eq!(
        db.count(
            &engine,
            "SELECT COUNT(*) FROM instances WHERE definition_key = 'bad'"
        )
        .await,
        0
    );
}

motcua_tests::on_both_databases!(
    two_nodes_share_due_timers_and_fire_each_once,
    concurrent_starts_on_two_nodes_never_deadlock,
    concurrent_completions_on_two_nodes_lose_no_update,
    one_failing_command_in_a_group_commit_fails_alone,
);
