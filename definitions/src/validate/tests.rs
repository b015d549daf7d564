//! Tests of the deploy-time checks, with the parser's `check(xml, expect)` helper: each case is a
//! process body (its first line is line 4) and the diagnostics expected, in position order.

use crate::parse::tests::{check, doc};

#[test]
fn a_valid_process_passes() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:inclusiveGateway id="g" />
  <bpmn:userTask id="a" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g" />
  <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="a" />
  <bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="e" />
"#;
    // A gateway with one unconditioned outgoing flow is fine.
    check(
        &doc(body),
        "process p\ns startEvent\ng inclusiveGateway\na userTask\ne endEvent\nf1 s->g\nf2 g->a\nf3 a->e",
    );
}

#[test]
fn reachability() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:userTask id="a" />
  <bpmn:userTask id="island" />
  <bpmn:userTask id="stuck" />
  <bpmn:parallelGateway id="g" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g" />
  <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="a" />
  <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="stuck" />
  <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="e" />
"#;
    check(
        &doc(body),
        "
        6:3 unreachable userTask island
        7:3 no-path-to-end userTask stuck
        ",
    );
}

#[test]
fn scopes_are_checked_separately() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:subProcess id="sub">
    <bpmn:userTask id="inner" />
    <bpmn:endEvent id="se" />
    <bpmn:sequenceFlow id="sf" sourceRef="inner" targetRef="se" />
  </bpmn:subProcess>
  <bpmn:subProcess id="sub2">
    <bpmn:startEvent id="s2" />
    <bpmn:startEvent id="s3" />
    <bpmn:endEvent id="e2" />
    <bpmn:sequenceFlow id="sf2" sourceRef="s2" targetRef="e2" />
    <bpmn:sequenceFlow id="sf3" sourceRef="s3" targetRef="e2" />
    <bpmn:sequenceFlow id="out" sourceRef="s3" targetRef="e" />
  </bpmn:subProcess>
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub" />
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="sub2" />
  <bpmn:sequenceFlow id="f3" sourceRef="sub2" targetRef="e" />
"#;
    check(
        &doc(body),
        "
        5:3 start-event subProcess sub
        12:5 start-event startEvent s3
        16:5 dangling-flow sequenceFlow out
        ",
    );
}

#[test]
fn start_and_end_events() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:startEvent id="s2" />
  <bpmn:userTask id="a" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a" />
  <bpmn:sequenceFlow id="f2" sourceRef="s2" targetRef="a" />
  <bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="e" />
  <bpmn:sequenceFlow id="back" sourceRef="e" targetRef="s" />
"#;
    check(
        &doc(body),
        "
        4:3 start-event startEvent s
        5:3 start-event startEvent s2
        11:3 dangling-flow sequenceFlow back
        ",
    );
    check(
        &doc(r#"  <bpmn:userTask id="a" />
"#),
        "3:1 start-event process p",
    );
    check(
        &doc(r#"  <bpmn:startEvent id="s" />
  <bpmn:userTask id="a" />
  <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="a" />
"#),
        "4:3 no-path-to-end process p",
    );
}

#[test]
fn gateway_conditions_and_defaults() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:exclusiveGateway id="x" />
  <bpmn:inclusiveGateway id="i" default="d" />
  <bpmn:exclusiveGateway id="y" default="x1" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="x" />
  <bpmn:sequenceFlow id="x1" sourceRef="x" targetRef="i"><bpmn:conditionExpression>= a</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="x2" sourceRef="x" targetRef="y" />
  <bpmn:sequenceFlow id="d" sourceRef="i" targetRef="e"><bpmn:conditionExpression>= b</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="i2" sourceRef="i" targetRef="e" />
  <bpmn:sequenceFlow id="y1" sourceRef="y" targetRef="e" />
"#;
    // `y` names `x1`, a flow of `x`, as default; `x1` also has a condition.
    check(
        &doc(body),
        "
        7:3 gateway exclusiveGateway y
        10:3 gateway sequenceFlow x1
        11:3 gateway sequenceFlow x2
        12:3 gateway sequenceFlow d
        13:3 gateway sequenceFlow i2
        ",
    );
    // A default naming a flow that does not exist.
    check(
        &doc(r#"  <bpmn:startEvent id="s" />
  <bpmn:exclusiveGateway id="x" default="missing" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x" />
  <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e" />
"#),
        "5:3 gateway exclusiveGateway x",
    );
}

#[test]
fn conditions_outside_exclusive_and_inclusive_gateways() {
    let body = r#"  <bpmn:startEvent id="s" />
  <bpmn:userTask id="a" />
  <bpmn:parallelGateway id="p1" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a" />
  <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="p1"><bpmn:conditionExpression>= ok</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f3" sourceRef="p1" targetRef="e"><bpmn:conditionExpression>= ok</bpmn:conditionExpression></bpmn:sequenceFlow>
"#;
    check(
        &doc(body),
        "
        9:3 unsupported-element sequenceFlow f2
        10:3 gateway sequenceFlow f3
        ",
    );
}

#[test]
fn ids_are_unique_across_processes() {
    // Two processes of one file reusing an id: refused by the parser, which sees the whole file.
    let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="a" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>
  <bpmn:process id="b" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:endEvent id="e2"/><bpmn:sequenceFlow id="f2" sourceRef="s" targetRef="e2"/></bpmn:process>
</bpmn:definitions>"#;
    check(xml, "3:44 duplicate-id startEvent s");
    // The validator finds them too in models built by other means.
    let a = crate::parse_definitions(
        "a",
        xml.replace(
            r#"id="s"/><bpmn:endEvent id="e2""#,
            r#"id="s2"/><bpmn:endEvent id="e2""#,
        )
        .replace(
            r#"sourceRef="s" targetRef="e2""#,
            r#"sourceRef="s2" targetRef="e2""#,
        )
        .as_bytes(),
    )
    .expect("parses");
    let twice = [a[0].clone(), a[0].clone()];
    let diags = crate::validate::validate_all("x", &twice).expect_err("duplicates");
    assert_eq!(diags.0.len(), 3, "{diags}");
}

const TIMER: &str = "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>\
                     </bpmn:timerEventDefinition>";

#[test]
fn start_events_with_timers() {
    use crate::parse::tests::messages;
    // No start event at all.
    let body = r#"  <bpmn:userTask id="a" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e" />
"#;
    assert_eq!(
        messages(&doc(body)),
        [
            "3:1 start-event process p: the process has no start event: draw one none start event \
          (without a trigger) where the procedure begins, or timer or message start events"
        ]
    );
    // Two none start events are still wrong beside a timer start event; every start is a root
    // of reachability.
    let body = format!(
        r#"  <bpmn:startEvent id="s1" />
  <bpmn:startEvent id="s2" />
  <bpmn:startEvent id="t">{TIMER}</bpmn:startEvent>
  <bpmn:userTask id="a" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s1" targetRef="e" />
  <bpmn:sequenceFlow id="f2" sourceRef="s2" targetRef="e" />
  <bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="a" />
  <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="e" />
  <bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="t" />
"#
    );
    check(
        &doc(&body),
        "
        5:3 start-event startEvent s2
        6:3 start-event startEvent t
        ",
    );
}

#[test]
fn boundary_events() {
    use crate::parse::tests::messages;
    let body = format!(
        r#"  <bpmn:startEvent id="s" />
  <bpmn:userTask id="a" />
  <bpmn:boundaryEvent id="ok" attachedToRef="a">{TIMER}</bpmn:boundaryEvent>
  <bpmn:boundaryEvent id="mute" attachedToRef="a">{TIMER}</bpmn:boundaryEvent>
  <bpmn:boundaryEvent id="fed" attachedToRef="a">{TIMER}</bpmn:boundaryEvent>
  <bpmn:boundaryEvent id="loop" attachedToRef="a">{TIMER}</bpmn:boundaryEvent>
  <bpmn:userTask id="island" />
  <bpmn:boundaryEvent id="far" attachedToRef="island">{TIMER}</bpmn:boundaryEvent>
  <bpmn:task id="spin" />
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a" />
  <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e" />
  <bpmn:sequenceFlow id="f3" sourceRef="ok" targetRef="e" />
  <bpmn:sequenceFlow id="f4" sourceRef="s" targetRef="fed" />
  <bpmn:sequenceFlow id="f5" sourceRef="fed" targetRef="e" />
  <bpmn:sequenceFlow id="f6" sourceRef="loop" targetRef="spin" />
  <bpmn:sequenceFlow id="f7" sourceRef="far" targetRef="e" />
  <bpmn:sequenceFlow id="f8" sourceRef="island" targetRef="e" />
"#
    );
    assert_eq!(
        messages(&doc(&body)),
        [
            "7:3 no-path-to-end boundaryEvent mute: boundary event `mute` has no outgoing flow: \
             connect it to the path taken when its timer fires or its message comes",
            "9:3 no-path-to-end boundaryEvent loop: no end event can be reached from `loop`: \
             connect it on towards an end event",
            "10:3 unreachable userTask island: `island` cannot be reached from the start event of \
             its process: connect a sequence flow into it or delete it",
            "11:3 unreachable boundaryEvent far: `far` cannot be reached from the start event of \
             its process: connect a sequence flow into it or delete it",
            "12:3 no-path-to-end task spin: no end event can be reached from `spin`: connect it \
             on towards an end event",
            "17:3 dangling-flow sequenceFlow f4: the flow ends at boundary event `fed`: a \
             boundary event is triggered by its timer or message, never by a flow; connect the \
             flow to the activity",
        ]
    );
}

#[test]
fn boundary_events_stay_in_their_activitys_scope() {
    let body = format!(
        r#"  <bpmn:startEvent id="s" />
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="ss" />
    <bpmn:userTask id="inner" />
    <bpmn:endEvent id="se" />
    <bpmn:sequenceFlow id="s1" sourceRef="ss" targetRef="inner" />
    <bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="se" />
    <bpmn:boundaryEvent id="inside" attachedToRef="inner" cancelActivity="false">{TIMER}</bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="s3" sourceRef="inside" targetRef="se" />
  </bpmn:subProcess>
  <bpmn:boundaryEvent id="wrong" attachedToRef="inner">{TIMER}</bpmn:boundaryEvent>
  <bpmn:endEvent id="e" />
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub" />
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="e" />
  <bpmn:sequenceFlow id="f3" sourceRef="wrong" targetRef="e" />
"#
    );
    // `wrong` is drawn in the process but attached inside the sub-process: refused, and (not
    // being reachable from the process start through its activity) unreachable as well.
    check(
        &doc(&body),
        "
        14:3 invalid-attribute boundaryEvent wrong
        14:3 unreachable boundaryEvent wrong
        ",
    );
    check(
        &doc(&body.replace(
            "  <bpmn:boundaryEvent id=\"wrong\" attachedToRef=\"inner\">",
            "  <bpmn:boundaryEvent id=\"wrong\" attachedToRef=\"sub\">",
        )),
        "
        process p
        s startEvent
        sub subProcess start=ss
        ss startEvent in=sub
        inner userTask in=sub
        se endEvent in=sub
        inside boundaryEvent on=inner non-interrupting timeDuration PT1H duration in=sub
        wrong boundaryEvent on=sub timeDuration PT1H duration
        e endEvent
        s1 ss->inner
        s2 inner->se
        s3 inside->se
        f1 s->sub
        f2 sub->e
        f3 wrong->e
        ",
    );
}
