//! Tests of the reader for messages (events, receive and send tasks, event-based gateways) and
//! call activities: what they become in the model, and their diagnostics with line and column.

use super::tests::render;
use crate::model::{CalledVersion, NodeKind, Process};
use crate::parse_definitions;
use crate::validate::validate_all;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:motcua="urn:motcua:bpmn:1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs">
<bpmn:process id="p" isExecutable="true">
"#;

/// A file whose process body starts on line 4, followed by `tail` (messages) at definitions
/// level.
fn file(body: &str, tail: &str) -> String {
    format!("{HEAD}{body}</bpmn:process>\n{tail}</bpmn:definitions>\n")
}

fn load(xml: &str) -> Process {
    let mut ps = match parse_definitions("t.bpmn", xml.as_bytes()) {
        Ok(ps) => ps,
        Err(d) => panic!("{}", render(&Err(d))),
    };
    if let Err(d) = validate_all("t.bpmn", &ps) {
        panic!("{}", render(&Err(d)));
    }
    ps.remove(0)
}

fn errors(xml: &str) -> String {
    let result = parse_definitions("t.bpmn", xml.as_bytes());
    let result = match result {
        Ok(ps) => match validate_all("t.bpmn", &ps) {
            Ok(()) => Ok(ps),
            Err(d) => Err(d),
        },
        Err(d) => Err(d),
    };
    render(&result)
}

const MESSAGES: &str = r#"<bpmn:message id="m1" name="ket-qua">
  <bpmn:extensionElements><zeebe:subscription correlationKey="=maHoSo" /></bpmn:extensionElements>
</bpmn:message>
<bpmn:message id="m2" name="huy" />
"#;

#[test]
fn message_events_and_tasks() {
    let body = r#"  <bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:startEvent>
  <bpmn:receiveTask id="r" messageRef="m1" />
  <bpmn:intermediateCatchEvent id="c" motcua:correlationKey="=other"><bpmn:messageEventDefinition messageRef="m1" /></bpmn:intermediateCatchEvent>
  <bpmn:intermediateThrowEvent id="t" motcua:variables="a b" motcua:ttl="PT5M" motcua:correlationKey="=k"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateThrowEvent>
  <bpmn:sendTask id="st" messageRef="m1" />
  <bpmn:userTask id="u" />
  <bpmn:boundaryEvent id="b" attachedToRef="u" cancelActivity="false"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:boundaryEvent>
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="r" />
  <bpmn:sequenceFlow id="f2" sourceRef="r" targetRef="c" />
  <bpmn:sequenceFlow id="f3" sourceRef="c" targetRef="t" />
  <bpmn:sequenceFlow id="f4" sourceRef="t" targetRef="st" />
  <bpmn:sequenceFlow id="f5" sourceRef="st" targetRef="u" />
  <bpmn:sequenceFlow id="f6" sourceRef="u" targetRef="e" />
  <bpmn:sequenceFlow id="f7" sourceRef="b" targetRef="e" />
"#;
    let p = load(&file(body, MESSAGES));
    let kind = |id: &str| &p.node(p.node_by_id(id).unwrap()).kind;
    let NodeKind::MessageStartEvent { message } = kind("s") else {
        panic!("{:?}", kind("s"));
    };
    assert_eq!(
        (message.name.as_str(), message.correlation_key.is_none()),
        ("huy", true)
    );
    assert_eq!(p.message_start("huy"), p.node_by_id("s"));
    assert_eq!(p.start(), p.node_by_id("s").unwrap());
    let NodeKind::ReceiveTask { message } = kind("r") else {
        panic!()
    };
    // The Zeebe subscription's key.
    assert_eq!(
        message.correlation_key.as_ref().unwrap().source(),
        "=maHoSo"
    );
    let NodeKind::MessageCatchEvent { message } = kind("c") else {
        panic!()
    };
    // motcua wins over Zeebe.
    assert_eq!(message.correlation_key.as_ref().unwrap().source(), "=other");
    let NodeKind::MessageThrowEvent(t) = kind("t") else {
        panic!()
    };
    assert_eq!(t.message.name, "huy");
    assert_eq!(
        t.variables.as_deref(),
        Some(&["a".to_owned(), "b".to_owned()][..])
    );
    assert_eq!(t.ttl.map(|d| d.minutes), Some(5));
    assert!(matches!(kind("st"), NodeKind::SendTask(s) if s.message.name == "ket-qua"));
    assert!(matches!(
        kind("b"),
        NodeKind::BoundaryMessage { interrupting: false, message, .. } if message.name == "huy"
    ));
    assert_eq!(p.boundaries(p.node_by_id("u").unwrap()).len(), 1);
}

#[test]
fn message_diagnostics() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:receiveTask id="r" />
  <bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="nope" /></bpmn:intermediateCatchEvent>
  <bpmn:intermediateThrowEvent id="t" motcua:ttl="soon"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateThrowEvent>
  <bpmn:intermediateThrowEvent id="none" />
  <bpmn:endEvent id="e"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:endEvent>
  <bpmn:userTask id="u" />
  <bpmn:boundaryEvent id="b" attachedToRef="u"><bpmn:messageEventDefinition /></bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="r" />
  <bpmn:sequenceFlow id="f2" sourceRef="r" targetRef="c" />
  <bpmn:sequenceFlow id="f3" sourceRef="c" targetRef="t" />
  <bpmn:sequenceFlow id="f4" sourceRef="t" targetRef="none" />
  <bpmn:sequenceFlow id="f5" sourceRef="none" targetRef="e" />
"#;
    assert_eq!(
        errors(&file(body, MESSAGES)),
        "5:3 invalid-attribute receiveTask r\n\
         6:39 dangling-flow messageEventDefinition c\n\
         7:3 invalid-attribute intermediateThrowEvent t\n\
         8:3 unsupported-element intermediateThrowEvent none\n\
         9:25 unsupported-element messageEventDefinition e\n\
         11:48 invalid-attribute messageEventDefinition b"
    );
}

#[test]
fn event_based_gateway() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:eventBasedGateway id="g" />
  <bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateCatchEvent>
  <bpmn:intermediateCatchEvent id="tm"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g" />
  <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="c" />
  <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="tm" />
  <bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="e" />
  <bpmn:sequenceFlow id="f5" sourceRef="tm" targetRef="e" />
"#;
    let p = load(&file(body, MESSAGES));
    assert_eq!(
        p.node(p.node_by_id("g").unwrap()).kind,
        NodeKind::EventBasedGateway
    );
    // A task after an event-based gateway is refused.
    let bad = body.replace(
        r#"<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateCatchEvent>"#,
        r#"<bpmn:userTask id="c" />"#,
    );
    assert_eq!(
        errors(&file(&bad, MESSAGES)),
        "10:3 gateway sequenceFlow f2"
    );
}

#[test]
fn call_activities() {
    let body = r##"  <bpmn:startEvent id="s" />
  <bpmn:callActivity id="c7" calledElement="con" camunda:calledElementBinding="version" camunda:calledElementVersion="2">
    <bpmn:extensionElements>
      <camunda:in source="a" target="x" />
      <camunda:in businessKey="#{execution.processBusinessKey}" />
      <camunda:out variables="all" />
    </bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:callActivity id="z">
    <bpmn:extensionElements><zeebe:calledElement processId="con" propagateAllChildVariables="false" /></bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:boundaryEvent id="b" attachedToRef="z"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c7" />
  <bpmn:sequenceFlow id="f2" sourceRef="c7" targetRef="z" />
  <bpmn:sequenceFlow id="f3" sourceRef="z" targetRef="e" />
  <bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="e" />
"##;
    let p = load(&file(body, ""));
    let kind = |id: &str| &p.node(p.node_by_id(id).unwrap()).kind;
    let NodeKind::CallActivity(c) = kind("c7") else {
        panic!()
    };
    assert_eq!(c.process, "con");
    assert_eq!(c.version, CalledVersion::Fixed(2));
    assert_eq!(c.inputs.pairs, vec![("a".to_owned(), "x".to_owned())]);
    assert!(!c.inputs.all && c.outputs.all);
    let NodeKind::CallActivity(z) = kind("z") else {
        panic!()
    };
    assert_eq!(z.version, CalledVersion::Latest);
    // Zeebe copies the parent's variables in by default; here the child's are not copied out.
    assert!(z.inputs.all && !z.outputs.all);
    assert_eq!(p.boundaries(p.node_by_id("z").unwrap()).len(), 1);
}

#[test]
fn call_activity_diagnostics() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:callActivity id="a" />
  <bpmn:callActivity id="b" calledElement="x" camunda:calledElementBinding="versionTag" />
  <bpmn:callActivity id="c">
    <bpmn:extensionElements><zeebe:calledElement processId="=procId" /></bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:callActivity id="d" calledElement="x">
    <bpmn:extensionElements><camunda:in sourceExpression="${1}" target="y" /></bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a" />
  <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b" />
  <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="c" />
  <bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="d" />
  <bpmn:sequenceFlow id="f5" sourceRef="d" targetRef="e" />
"#;
    assert_eq!(
        errors(&file(body, "")),
        "5:3 invalid-attribute callActivity a\n\
         6:3 invalid-attribute callActivity b\n\
         8:29 unsupported-element calledElement c\n\
         11:29 unsupported-element in d"
    );
}
