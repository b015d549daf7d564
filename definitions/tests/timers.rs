//! Timer events as Camunda Modeler writes them, for Camunda 7 (`${...}`) and Camunda 8/Zeebe
//! (`=...`): they load, and their specs give the due instants the engine will use.

use chrono::{DateTime, Utc};
use motcua_definitions::timer::{vietnam, TimerSpec};
use motcua_definitions::{load, NodeKind, Process, TimerKind};

fn fixture(name: &str) -> Process {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut processes = load(name, &xml).unwrap_or_else(|d| panic!("{name} is refused:\n{d}"));
    assert_eq!(processes.len(), 1, "{name}");
    processes.remove(0)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an instant")
        .with_timezone(&Utc)
}

fn local(d: Option<DateTime<Utc>>) -> Option<String> {
    d.map(|d| d.with_timezone(&vietnam()).to_rfc3339())
}

/// `id kind timer-element source` for every timer node.
fn timers(p: &Process) -> Vec<String> {
    p.nodes()
        .iter()
        .filter_map(|n| {
            let (what, timer) = match &n.kind {
                NodeKind::TimerStartEvent { timer } => ("start".to_owned(), timer),
                NodeKind::TimerCatchEvent { timer } => ("catch".to_owned(), timer),
                NodeKind::BoundaryTimer {
                    attached_to,
                    interrupting,
                    timer,
                } => (
                    format!(
                        "boundary on {} interrupting={interrupting}",
                        p.node(*attached_to).id
                    ),
                    timer,
                ),
                _ => return None,
            };
            Some(format!(
                "{} {what} {} {}",
                n.id,
                timer.kind.element_name(),
                timer.source
            ))
        })
        .collect()
}

fn spec(p: &Process, id: &str) -> TimerSpec {
    let n = p.node(p.node_by_id(id).expect("the node"));
    match &n.kind {
        NodeKind::TimerStartEvent { timer }
        | NodeKind::TimerCatchEvent { timer }
        | NodeKind::BoundaryTimer { timer, .. } => timer.spec.clone(),
        other => panic!("{id} is a {other:?}"),
    }
}

#[test]
fn camunda_modeler_7() {
    let p = fixture("timers-camunda-modeler.bpmn");
    assert_eq!(
        timers(&p),
        [
            "StartEvent_1 start timeCycle 0 0 7 ? * MON-FRI",
            "Event_nhac boundary on Activity_xem interrupting=false timeDuration PT4H",
            "Event_qua_han boundary on Activity_xem interrupting=true timeDate ${hanXuLy}",
            "Event_cho catch timeDuration PT15M",
        ]
    );
    // The only start event is the timer start event.
    assert_eq!(p.node(p.start()).id, "StartEvent_1");
    let task = p.node_by_id("Activity_xem").expect("the task");
    assert_eq!(p.boundaries(task).len(), 2);

    // Friday 27 November 2026, 08:00 in Hà Nội: the next weekday morning is Monday.
    let armed = at("2026-11-27T08:00:00+07:00");
    assert_eq!(
        local(spec(&p, "StartEvent_1").next_after(armed, 0, None)).as_deref(),
        Some("2026-11-30T07:00:00+07:00")
    );
    assert_eq!(
        local(spec(&p, "Event_nhac").next_after(armed, 0, None)).as_deref(),
        Some("2026-11-27T12:00:00+07:00")
    );
    assert_eq!(spec(&p, "Event_nhac").next_after(armed, 1, None), None);
    assert!(matches!(
        spec(&p, "Event_qua_han"),
        TimerSpec::Expression {
            kind: TimerKind::Date,
            ..
        }
    ));
}

#[test]
fn camunda_modeler_8_zeebe() {
    let p = fixture("timers-zeebe.bpmn");
    assert_eq!(
        timers(&p),
        [
            "StartEvent_dem start timeCycle R/2026-01-01T23:00:00+07:00/P1D",
            "Event_han boundary on Activity_duyet interrupting=true timeDuration =thoiHan",
            "Event_nhac boundary on Activity_duyet interrupting=false timeCycle R3/PT1H",
        ]
    );
    // A none start event stays the start of instances started by command.
    assert_eq!(p.node(p.start()).id, "StartEvent_1");
    assert_eq!(p.timer_starts().count(), 1);
    match spec(&p, "Event_han") {
        TimerSpec::Expression { kind, expression } => {
            assert_eq!(kind, TimerKind::Duration);
            let value = expression
                .eval(
                    &serde_json::json!({"thoiHan": "P2D"})
                        .as_object()
                        .cloned()
                        .unwrap(),
                )
                .unwrap();
            let text = value.as_str().unwrap();
            let parsed = motcua_definitions::timer::parse_value(kind, text).unwrap();
            assert_eq!(
                local(parsed.next_after(at("2026-11-24T08:00:00+07:00"), 0, None)).as_deref(),
                Some("2026-11-26T08:00:00+07:00")
            );
        }
        other => panic!("{other:?}"),
    }
    // R3/PT1H fires three times, an hour apart, from when the task began.
    let cycle = spec(&p, "Event_nhac");
    let armed = at("2026-11-24T08:00:00+07:00");
    let mut dues = Vec::new();
    let mut last = None;
    for fired in 0.. {
        let Some(d) = cycle.next_after(armed, fired, last) else {
            break;
        };
        dues.push(local(Some(d)).unwrap());
        last = Some(d);
    }
    assert_eq!(
        dues,
        [
            "2026-11-24T09:00:00+07:00",
            "2026-11-24T10:00:00+07:00",
            "2026-11-24T11:00:00+07:00"
        ]
    );
    // The nightly start: the start instant, then every day at 23:00.
    let nightly = spec(&p, "StartEvent_dem");
    assert_eq!(
        local(nightly.next_after(armed, 0, None)).as_deref(),
        Some("2026-01-01T23:00:00+07:00")
    );
    assert_eq!(
        local(nightly.next_after(armed, 1, Some(at("2026-11-24T23:00:00+07:00")))).as_deref(),
        Some("2026-11-25T23:00:00+07:00")
    );
}
