//! Assignment expressions on a real SQLite file and a real PostgreSQL database: a user task's
//! agency, candidate groups, candidate users and assignee computed from the instance's
//! variables when the task is created (`${var}`, `=expr`), a failing expression refusing the
//! command with nothing changed, a parse error at deploy, and a `timeDate` timer computed from
//! a variable when it is armed.

use chrono::Duration;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{CommandOptions, DeployFile, Engine, EngineError, InstanceId, StartInstance};
use motcua_tests::{vars, Backend, TestDb};
use serde_json::json;

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

async fn deploy(engine: &Engine<AnyStore>, body: &str) -> Result<(), EngineError> {
    engine
        .deploy(
            "t",
            &[DeployFile {
                name: "t.bpmn".into(),
                bytes: bpmn(body).into_bytes(),
            }],
        )
        .await
        .map(|_| ())
}

async fn start(
    engine: &Engine<AnyStore>,
    variables: serde_json::Value,
) -> Result<InstanceId, EngineError> {
    engine
        .start(
            StartInstance {
                key: "p".into(),
                variables: vars(variables),
                ..StartInstance::default()
            },
            CommandOptions::default(),
        )
        .await
        .map(|o| o.instance)
}

const ASSIGNED: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Thực hiện" motcua:agency="=agency" motcua:candidateGroups="${group}" camunda:candidateUsers="=[lead, &quot;thu-ky&quot;]"/>
    <bpmn:userTask id="u" name="Nghiệm thu" camunda:assignee="${issuer}"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="u"/>
    <bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="e"/>"#;

async fn assignment_expressions_are_evaluated_when_the_task_is_created(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "assignment_expressions_are_evaluated_when_the_task_is_created",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, ASSIGNED).await.unwrap();
    let id = start(
        &engine,
        json!({"agency": "000.00.12.H22", "group": "so-tnmt, van-phong", "lead": "an", "issuer": "pct-binh"}),
    )
    .await
    .unwrap();
    let tasks = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    let t = &tasks[0].record;
    assert_eq!(t.agency.as_deref(), Some("000.00.12.H22"));
    assert_eq!(t.candidate_groups, vec!["so-tnmt", "van-phong"]);
    assert_eq!(t.candidate_users, vec!["an", "thu-ky"]);
    let by_agency = engine
        .tasks(&TaskQuery {
            agency: Some("000.00.12.H22".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_agency.len(), 1);
    engine
        .complete(t.id, Default::default(), CommandOptions::default())
        .await
        .unwrap();
    let tasks = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks[0].record.node, "u");
    assert_eq!(tasks[0].record.assignee.as_deref(), Some("pct-binh"));
}

async fn a_failing_assignment_expression_refuses_the_command(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "a_failing_assignment_expression_refuses_the_command",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, ASSIGNED).await.unwrap();
    // A missing variable in `${...}`: the start is refused and nothing is stored.
    let e = start(&engine, json!({"agency": "A", "lead": "an"}))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, EngineError::Rejected(_)), "{e:?}");
    assert!(
        text.contains("task 't'") && text.contains("${group}"),
        "{text}"
    );
    // A number where a text is needed.
    let e = start(&engine, json!({"agency": 12, "group": "g", "lead": "an"}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("=agency"), "{e}");
    assert!(e.to_string().contains("not a non-empty text"), "{e}");
    let instances = db.count(&engine, "SELECT COUNT(*) FROM instances").await;
    assert_eq!(instances, 0);
    // A later task's expression fails at completion: the completion is refused.
    let id = start(
        &engine,
        json!({"agency": "A", "group": "g", "lead": "an", "issuer": ["x"]}),
    )
    .await
    .unwrap();
    let before = engine.instance(id).await.unwrap().version;
    let task = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .unwrap()[0]
        .record
        .id;
    let e = engine
        .complete(task, Default::default(), CommandOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("task 'u'"), "{e}");
    assert_eq!(engine.instance(id).await.unwrap().version, before);
}

async fn an_assignment_expression_that_does_not_parse_is_refused_at_deploy(backend: Backend) {
    let Some(db) = TestDb::new(
        backend,
        "an_assignment_expression_that_does_not_parse_is_refused_at_deploy",
    )
    .await
    else {
        return;
    };
    let engine = db.open().await;
    let e = deploy(
        &engine,
        r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" motcua:assignee="${issuer"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>"#,
    )
    .await
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("${issuer") && text.contains("userTask"),
        "{text}"
    );
    assert!(
        text.contains("t.bpmn:8:5:"),
        "line and column named: {text}"
    );
}

async fn a_time_date_timer_is_computed_from_a_variable(backend: Backend) {
    let Some(db) = TestDb::new(backend, "a_time_date_timer_is_computed_from_a_variable").await
    else {
        return;
    };
    let engine = db.open().await;
    deploy(
        &engine,
        r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" motcua:candidateGroups="g"/>
    <bpmn:boundaryEvent id="nhac" attachedToRef="t" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDate xsi:type="bpmn:tFormalExpression">=remind</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:endEvent id="e2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <bpmn:sequenceFlow id="f3" sourceRef="nhac" targetRef="e2"/>"#,
    )
    .await
    .unwrap();
    let remind = motcua_tests::t0() + Duration::days(3);
    let id = start(&engine, json!({"remind": remind.to_rfc3339()}))
        .await
        .unwrap();
    db.clock.advance(Duration::days(3) - Duration::minutes(1));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 0);
    db.clock.advance(Duration::minutes(1));
    assert_eq!(engine.run_all_due_jobs("w").await.unwrap().timers_fired, 1);
    let fired = engine
        .journal(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "timer_fired")
        .count();
    assert_eq!(fired, 1);
    // A value that is not a date refuses the start.
    let e = start(&engine, json!({"remind": 5})).await.unwrap_err();
    assert!(e.to_string().contains("nhac"), "{e}");
}

motcua_tests::on_both_databases!(
    assignment_expressions_are_evaluated_when_the_task_is_created,
    a_failing_assignment_expression_refuses_the_command,
    an_assignment_expression_that_does_not_parse_is_refused_at_deploy,
    a_time_date_timer_is_computed_from_a_variable,
);
