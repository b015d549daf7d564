//! Call activities on a real SQLite file and a real PostgreSQL database, with a manual clock
//! and the executor run by hand: the child starts in its own transaction (an outbox job), its
//! outputs are mapped into the parent when it ends, latest versus fixed version binding, a
//! boundary timer on the call activity, and cancelling the parent cancels the child. Every
//! instance replays.

use chrono::Duration;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    CommandOptions, DeployFile, Engine, Event, InstanceId, InstanceStatus, StartInstance,
};
use motcua_tests::{vars, Backend, TestDb};
use serde_json::{json, Value};

fn bpmn(process: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:motcua="urn:motcua:bpmn:1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="urn:t">
  <bpmn:process id="{process}" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

async fn deploy(engine: &Engine<AnyStore>, process: &str, body: &str) {
    let xml = bpmn(process, body);
    if let Err(e) = engine
        .deploy(
            process,
            &[DeployFile {
                name: format!("{process}.bpmn"),
                bytes: xml.into_bytes(),
            }],
        )
        .await
    {
        panic!("test process does not deploy: {e}");
    }
}

async fn start(engine: &Engine<AnyStore>, key: &str, variables: Value) -> InstanceId {
    engine
        .start(
            StartInstance {
                key: key.into(),
                business_key: Some("HS-001".into()),
                variables: vars(variables),
                ..StartInstance::default()
            },
            CommandOptions::default(),
        )
        .await
        .expect("start")
        .instance
}

/// The child a call activity of `parent` started (from the parent's journal).
async fn child_of(engine: &Engine<AnyStore>, parent: InstanceId) -> InstanceId {
    engine
        .journal(parent)
        .await
        .expect("journal")
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            Event::CallActivityStarted { child, .. } => Some(*child),
            _ => None,
        })
        .expect("a call_activity_started event")
}

async fn open_task(
    engine: &Engine<AnyStore>,
    id: InstanceId,
) -> Option<(String, motcua_engine::TaskId)> {
    engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks")
        .into_iter()
        .next()
        .map(|t| (t.record.node, t.record.id))
}

async fn verify(engine: &Engine<AnyStore>, ids: &[InstanceId]) {
    for id in ids {
        engine
            .verify_instance(*id)
            .await
            .expect("the journal replays to the stored state");
    }
}

fn child_body(task: &str) -> String {
    format!(
        r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="{task}" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{task}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="{task}" targetRef="e"/>
"#
    )
}

fn parent_body(binding: &str) -> String {
    format!(
        r#"
    <bpmn:startEvent id="s"/>
    <bpmn:callActivity id="call" calledElement="con" {binding}>
      <bpmn:extensionElements>
        <camunda:in source="hoTen" target="tenNguoiNop"/>
        <camunda:out source="ketQua" target="ketQuaCon"/>
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:boundaryEvent id="too-long" attachedToRef="call"><bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:userTask id="after" camunda:candidateGroups="g"/>
    <bpmn:userTask id="escalate" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:endEvent id="e2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
    <bpmn:sequenceFlow id="f4" sourceRef="too-long" targetRef="escalate"/>
    <bpmn:sequenceFlow id="f5" sourceRef="escalate" targetRef="e2"/>
"#
    )
}

async fn a_call_activity_maps_variables_in_and_out(backend: Backend) {
    let Some(db) = TestDb::new(backend, "call_activity_mappings").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "con", &child_body("v1")).await;
    deploy(&engine, "con", &child_body("v2")).await;
    deploy(&engine, "cha", &parent_body("")).await;
    let parent = start(&engine, "cha", json!({"hoTen": "Trần Thị C", "noiBo": 1})).await;
    let child = child_of(&engine, parent).await;
    // The child starts in its own transaction, when the executor runs the outbox job.
    assert!(engine.instance(child).await.is_err());
    engine.run_all_due_jobs("w").await.unwrap();
    let c = engine.instance(child).await.unwrap();
    assert_eq!(c.definition.version, 2, "latest binding");
    assert_eq!(c.business_key.as_deref(), Some("HS-001"));
    assert_eq!(c.variables.get("tenNguoiNop"), Some(&json!("Trần Thị C")));
    assert!(
        !c.variables.contains_key("noiBo"),
        "only the mapped variables"
    );
    let (node, task) = open_task(&engine, child).await.unwrap();
    assert_eq!(node, "v2");
    engine
        .complete(
            task,
            vars(json!({"ketQua": "cấp", "rac": 2})),
            CommandOptions::by("an"),
        )
        .await
        .unwrap();
    assert_eq!(
        engine.instance(child).await.unwrap().status,
        InstanceStatus::Completed
    );
    // The parent resumes in its own transaction too.
    assert_eq!(open_task(&engine, parent).await, None);
    engine.run_all_due_jobs("w").await.unwrap();
    let p = engine.instance(parent).await.unwrap();
    assert_eq!(p.variables.get("ketQuaCon"), Some(&json!("cấp")));
    assert!(!p.variables.contains_key("rac"));
    assert_eq!(
        open_task(&engine, parent).await.map(|t| t.0).as_deref(),
        Some("after")
    );
    // The boundary timer was disarmed when the call activity completed.
    db.clock.advance(Duration::days(11));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 0);
    // Running the return job again changes nothing.
    db.execute(
        &engine,
        "UPDATE jobs SET state = 'open' WHERE kind IN ('call_start', 'call_return')",
        "UPDATE jobs SET state = 'open' WHERE kind IN ('call_start', 'call_return')",
    )
    .await;
    let again = engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(again.delivered, 0);
    let kinds: Vec<String> = engine
        .journal(parent)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("call_activity"))
        .collect();
    assert_eq!(kinds, ["call_activity_started", "call_activity_completed"]);
    verify(&engine, &[parent, child]).await;
}

async fn a_fixed_version_binding_starts_that_version(backend: Backend) {
    let Some(db) = TestDb::new(backend, "call_activity_version").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "con", &child_body("v1")).await;
    deploy(&engine, "con", &child_body("v2")).await;
    deploy(
        &engine,
        "cha",
        &parent_body(r#"camunda:calledElementBinding="version" camunda:calledElementVersion="1""#),
    )
    .await;
    let parent = start(&engine, "cha", json!({})).await;
    engine.run_all_due_jobs("w").await.unwrap();
    let child = child_of(&engine, parent).await;
    assert_eq!(engine.instance(child).await.unwrap().definition.version, 1);
    assert_eq!(
        open_task(&engine, child).await.map(|t| t.0).as_deref(),
        Some("v1")
    );
    verify(&engine, &[parent, child]).await;
}

async fn cancelling_the_parent_cancels_the_child(backend: Backend) {
    let Some(db) = TestDb::new(backend, "call_activity_cancel").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "con", &child_body("v1")).await;
    deploy(&engine, "cha", &parent_body("")).await;
    // A person cancels the parent.
    let parent = start(&engine, "cha", json!({})).await;
    engine.run_all_due_jobs("w").await.unwrap();
    let child = child_of(&engine, parent).await;
    engine
        .cancel(parent, Some("rút hồ sơ".into()), CommandOptions::by("an"))
        .await
        .unwrap();
    engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(
        engine.instance(child).await.unwrap().status,
        InstanceStatus::Cancelled
    );
    assert_eq!(open_task(&engine, child).await, None);
    // The interrupting boundary timer cancels the call activity, and so the child.
    let parent2 = start(&engine, "cha", json!({})).await;
    engine.run_all_due_jobs("w").await.unwrap();
    let child2 = child_of(&engine, parent2).await;
    db.clock.advance(Duration::days(10));
    engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(
        engine.instance(child2).await.unwrap().status,
        InstanceStatus::Cancelled
    );
    assert_eq!(
        open_task(&engine, parent2).await.map(|t| t.0).as_deref(),
        Some("escalate")
    );
    // A parent cancelled before its child started: the child is never started.
    let parent3 = start(&engine, "cha", json!({})).await;
    let child3 = child_of(&engine, parent3).await;
    engine
        .cancel(parent3, None, CommandOptions::by("an"))
        .await
        .unwrap();
    engine.run_all_due_jobs("w").await.unwrap();
    assert!(engine.instance(child3).await.is_err());
    verify(&engine, &[parent, child, parent2, child2, parent3]).await;
}

motcua_tests::on_both_databases!(
    a_call_activity_maps_variables_in_and_out,
    a_fixed_version_binding_starts_that_version,
    cancelling_the_parent_cancels_the_child,
);
