//! Messages on a real SQLite file and a real PostgreSQL database, with a manual clock and the
//! executor run by hand: buffering with a time to live, correlation by key, message start
//! events, receive tasks, message boundary events, event-based gateways, and a throw in one
//! instance caught by another through the outbox, once. Every instance replays.

use chrono::Duration;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::{
    CommandOptions, CorrelateMessage, Correlation, DeployFile, Engine, InstanceId, InstanceStatus,
    StartInstance,
};
use motcua_tests::{vars, Backend, TestDb};
use serde_json::{json, Value};

const MESSAGES: &str = r#"
  <bpmn:message id="m-paid" name="paid"/>
  <bpmn:message id="m-cancel" name="cancel-request"/>
  <bpmn:message id="m-remind" name="remind"/>
  <bpmn:message id="m-answer" name="answer"/>
  <bpmn:message id="m-apply" name="apply"/>
  <bpmn:message id="m-notify" name="notify"/>
"#;

fn bpmn(process: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:motcua="urn:motcua:bpmn:1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="urn:t">
  <bpmn:process id="{process}" isExecutable="true">
{body}
  </bpmn:process>
{MESSAGES}
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
                variables: vars(variables),
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

async fn complete(engine: &Engine<AnyStore>, id: InstanceId, node: &str) {
    let task = engine
        .tasks(&TaskQuery {
            instance: Some(id),
            ..TaskQuery::default()
        })
        .await
        .expect("tasks")
        .into_iter()
        .find(|t| t.record.node == node)
        .unwrap_or_else(|| panic!("no open task at {node}"));
    engine
        .complete(task.record.id, Default::default(), CommandOptions::by("an"))
        .await
        .expect("complete");
}

async fn send(
    engine: &Engine<AnyStore>,
    name: &str,
    key: Option<&str>,
    variables: Value,
    ttl: Option<Duration>,
) -> Correlation {
    engine
        .correlate_message(
            CorrelateMessage {
                name: name.into(),
                correlation_key: key.map(str::to_owned),
                variables: vars(variables),
                ttl,
                message_id: None,
            },
            CommandOptions::by("portal"),
        )
        .await
        .expect("correlate")
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

async fn verify(engine: &Engine<AnyStore>, ids: &[InstanceId]) {
    for id in ids {
        engine
            .verify_instance(*id)
            .await
            .expect("the journal replays to the stored state");
    }
}

const CATCH_AFTER_TASK: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="before" camunda:candidateGroups="g"/>
    <bpmn:intermediateCatchEvent id="wait" motcua:correlationKey="=code"><bpmn:messageEventDefinition messageRef="m-paid"/></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="before"/>
    <bpmn:sequenceFlow id="f2" sourceRef="before" targetRef="wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="e"/>
"#;

async fn a_buffered_message_is_taken_by_a_later_catcher_within_its_ttl_only(backend: Backend) {
    let Some(db) = TestDb::new(backend, "buffered_message_ttl").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "p", CATCH_AFTER_TASK).await;
    let a = start(&engine, "p", json!({"code": "A"})).await;
    let b = start(&engine, "p", json!({"code": "B"})).await;
    let sent = send(
        &engine,
        "paid",
        Some("A"),
        json!({"amount": 50}),
        Some(Duration::minutes(10)),
    )
    .await;
    assert!(matches!(sent, Correlation::Buffered { .. }), "{sent:?}");
    let late = send(
        &engine,
        "paid",
        Some("B"),
        json!({"amount": 70}),
        Some(Duration::minutes(10)),
    )
    .await;
    assert!(matches!(late, Correlation::Buffered { .. }), "{late:?}");
    db.clock.advance(Duration::minutes(5));
    complete(&engine, a, "before").await;
    // Taken when the catcher was entered, within its time to live.
    assert_eq!(waiting(&engine, a).await, ["after"]);
    assert_eq!(
        engine.instance(a).await.unwrap().variables["amount"],
        json!(50)
    );
    db.clock.advance(Duration::minutes(6));
    complete(&engine, b, "before").await;
    engine.run_all_due_jobs("w").await.expect("jobs");
    // B's message expired before its catcher came.
    assert!(waiting(&engine, b).await.is_empty());
    assert_eq!(journal_count(&engine, b, "message_correlated").await, 0);
    assert_eq!(journal_count(&engine, a, "message_correlated").await, 1);
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM message_subscriptions")
            .await,
        1,
        "B still waits"
    );
    verify(&engine, &[a, b]).await;
}

const RECEIVE: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="wait" messageRef="m-paid" motcua:correlationKey="=code"/>
    <bpmn:userTask id="after" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
"#;

async fn correlation_by_key_picks_the_right_receive_task(backend: Backend) {
    let Some(db) = TestDb::new(backend, "correlation_by_key").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "p", RECEIVE).await;
    let a = start(&engine, "p", json!({"code": "A"})).await;
    let b = start(&engine, "p", json!({"code": "B"})).await;
    let c = start(&engine, "p", json!({"code": "C"})).await;
    let m = CorrelateMessage {
        name: "paid".into(),
        correlation_key: Some("B".into()),
        variables: vars(json!({"receipt": "BL-1"})),
        ttl: None,
        message_id: Some("bien-lai-1".into()),
    };
    let got = engine
        .correlate_message(m.clone(), CommandOptions::by("portal"))
        .await
        .unwrap();
    assert_eq!(
        got,
        Correlation::Correlated {
            message_id: "bien-lai-1".into(),
            instance: b
        }
    );
    assert_eq!(waiting(&engine, b).await, ["after"]);
    assert!(waiting(&engine, a).await.is_empty() && waiting(&engine, c).await.is_empty());
    // The same message again changes nothing.
    let again = engine
        .correlate_message(m, CommandOptions::by("portal"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Correlation::Duplicate {
            message_id: "bien-lai-1".into()
        }
    );
    assert_eq!(journal_count(&engine, b, "message_correlated").await, 1);
    verify(&engine, &[a, b, c]).await;
}

const MESSAGE_START: &str = r#"
    <bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m-apply"/></bpmn:startEvent>
    <bpmn:userTask id="check" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="e"/>
"#;

async fn a_message_start_event_starts_the_latest_version(backend: Backend) {
    let Some(db) = TestDb::new(backend, "message_start").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "q", MESSAGE_START).await;
    deploy(
        &engine,
        "q",
        &MESSAGE_START
            .replace("check\"", "check2\"")
            .replace("=\"check\"", "=\"check2\""),
    )
    .await;
    let got = send(&engine, "apply", None, json!({"name": "Lê Văn B"}), None).await;
    let Correlation::Started { instance, .. } = got else {
        panic!("{got:?}")
    };
    let state = engine.instance(instance).await.unwrap();
    assert_eq!(state.definition.version, 2);
    assert_eq!(state.variables["name"], json!("Lê Văn B"));
    assert_eq!(waiting(&engine, instance).await, ["check2"]);
    verify(&engine, &[instance]).await;
}

const BOUNDARIES: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="work" camunda:candidateGroups="g"/>
    <bpmn:boundaryEvent id="on-cancel" attachedToRef="work"><bpmn:messageEventDefinition messageRef="m-cancel"/></bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="on-remind" attachedToRef="work" cancelActivity="false"><bpmn:messageEventDefinition messageRef="m-remind"/></bpmn:boundaryEvent>
    <bpmn:userTask id="reminded" camunda:candidateGroups="g"/>
    <bpmn:userTask id="cancelled" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:endEvent id="e2"/>
    <bpmn:endEvent id="e3"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <bpmn:sequenceFlow id="f3" sourceRef="on-remind" targetRef="reminded"/>
    <bpmn:sequenceFlow id="f4" sourceRef="reminded" targetRef="e2"/>
    <bpmn:sequenceFlow id="f5" sourceRef="on-cancel" targetRef="cancelled"/>
    <bpmn:sequenceFlow id="f6" sourceRef="cancelled" targetRef="e3"/>
"#;

async fn message_boundary_events_interrupt_or_not(backend: Backend) {
    let Some(db) = TestDb::new(backend, "message_boundaries").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "p", BOUNDARIES).await;
    let id = start(&engine, "p", json!({})).await;
    for _ in 0..2 {
        let got = send(&engine, "remind", None, json!({}), None).await;
        assert!(matches!(got, Correlation::Correlated { instance, .. } if instance == id));
    }
    assert_eq!(waiting(&engine, id).await, ["reminded", "reminded", "work"]);
    let got = send(
        &engine,
        "cancel-request",
        None,
        json!({"reason": "rút hồ sơ"}),
        None,
    )
    .await;
    assert!(matches!(got, Correlation::Correlated { .. }));
    assert_eq!(
        waiting(&engine, id).await,
        ["cancelled", "reminded", "reminded"]
    );
    // The activity is gone, and its subscriptions with it.
    assert_eq!(
        db.count(&engine, "SELECT COUNT(*) FROM message_subscriptions")
            .await,
        0
    );
    let after = send(&engine, "remind", None, json!({}), Some(Duration::zero())).await;
    assert!(matches!(after, Correlation::Dropped { .. }), "{after:?}");
    verify(&engine, &[id]).await;
}

const GATEWAY: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:eventBasedGateway id="g"/>
    <bpmn:intermediateCatchEvent id="got-answer" motcua:correlationKey="=code"><bpmn:messageEventDefinition messageRef="m-answer"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="timeout"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="answered" camunda:candidateGroups="g"/>
    <bpmn:userTask id="late" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:endEvent id="e2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="got-answer"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="timeout"/>
    <bpmn:sequenceFlow id="f4" sourceRef="got-answer" targetRef="answered"/>
    <bpmn:sequenceFlow id="f5" sourceRef="timeout" targetRef="late"/>
    <bpmn:sequenceFlow id="f6" sourceRef="answered" targetRef="e"/>
    <bpmn:sequenceFlow id="f7" sourceRef="late" targetRef="e2"/>
"#;

async fn an_event_based_gateway_takes_the_first_event(backend: Backend) {
    let Some(db) = TestDb::new(backend, "event_gateway").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "p", GATEWAY).await;
    let fast = start(&engine, "p", json!({"code": "1"})).await;
    let slow = start(&engine, "p", json!({"code": "2"})).await;
    db.clock.advance(Duration::minutes(30));
    let got = send(&engine, "answer", Some("1"), json!({}), None).await;
    assert!(matches!(got, Correlation::Correlated { instance, .. } if instance == fast));
    assert_eq!(waiting(&engine, fast).await, ["answered"]);
    db.clock.advance(Duration::minutes(30));
    let report = engine.run_all_due_jobs("w").await.unwrap();
    // The message won in `fast`: its timer was disarmed; the timer won in `slow`.
    assert_eq!(report.timers_fired, 1);
    assert_eq!(waiting(&engine, fast).await, ["answered"]);
    assert_eq!(waiting(&engine, slow).await, ["late"]);
    let too_late = send(
        &engine,
        "answer",
        Some("2"),
        json!({}),
        Some(Duration::zero()),
    )
    .await;
    assert!(
        matches!(too_late, Correlation::Dropped { .. }),
        "{too_late:?}"
    );
    assert_eq!(journal_count(&engine, slow, "message_correlated").await, 0);
    verify(&engine, &[fast, slow]).await;
}

const SENDER: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateThrowEvent id="tell" motcua:correlationKey="=code" motcua:variables="code result"><bpmn:messageEventDefinition messageRef="m-notify"/></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="tell"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tell" targetRef="e"/>
"#;

const RECEIVER: &str = r#"
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="wait" messageRef="m-notify" motcua:correlationKey="=code"/>
    <bpmn:userTask id="got" camunda:candidateGroups="g"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="got"/>
    <bpmn:sequenceFlow id="f3" sourceRef="got" targetRef="e"/>
"#;

async fn a_throw_is_caught_by_another_instance_once(backend: Backend) {
    let Some(db) = TestDb::new(backend, "throw_and_catch").await else {
        return;
    };
    let engine = db.open().await;
    deploy(&engine, "sender", SENDER).await;
    deploy(&engine, "receiver", RECEIVER).await;
    let other = start(&engine, "receiver", json!({"code": "Y"})).await;
    let receiver = start(&engine, "receiver", json!({"code": "X"})).await;
    let sender = start(
        &engine,
        "sender",
        json!({"code": "X", "result": "đạt", "secret": 1}),
    )
    .await;
    let s = engine.instance(sender).await.unwrap();
    assert_eq!(s.status, InstanceStatus::Completed);
    assert_eq!(journal_count(&engine, sender, "message_sent").await, 1);
    // The sender's commit only wrote an outbox job.
    assert!(waiting(&engine, receiver).await.is_empty());
    let report = engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(waiting(&engine, receiver).await, ["got"]);
    assert!(waiting(&engine, other).await.is_empty());
    let r = engine.instance(receiver).await.unwrap();
    assert_eq!(r.variables["result"], json!("đạt"));
    assert!(
        !r.variables.contains_key("secret"),
        "only the named variables"
    );
    // The executor runs the job again (a lost lease): nothing happens twice.
    db.execute(
        &engine,
        "UPDATE jobs SET state = 'open' WHERE kind = 'message'",
        "UPDATE jobs SET state = 'open' WHERE kind = 'message'",
    )
    .await;
    let again = engine.run_all_due_jobs("w").await.unwrap();
    assert_eq!((again.delivered, again.skipped), (0, 1));
    assert_eq!(
        journal_count(&engine, receiver, "message_correlated").await,
        1
    );
    assert_eq!(
        db.count(
            &engine,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'message' AND state = 'open'"
        )
        .await,
        0
    );
    verify(&engine, &[sender, receiver, other]).await;
}

motcua_tests::on_both_databases!(
    a_buffered_message_is_taken_by_a_later_catcher_within_its_ttl_only,
    correlation_by_key_picks_the_right_receive_task,
    a_message_start_event_starts_the_latest_version,
    message_boundary_events_interrupt_or_not,
    an_event_based_gateway_takes_the_first_event,
    a_throw_is_caught_by_another_instance_once,
);
