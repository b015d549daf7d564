//! Execution traces of every supported element through the pure step function (no database):
//! each test drives a small real BPMN process and checks where tokens wait and which path they
//! took.

use chrono::{TimeZone, Utc};
use motcua_definitions::Process;
use motcua_engine::calendar::WorkCalendar;
use motcua_engine::command::Command;
use motcua_engine::event::Event;
use motcua_engine::state::Wait;
use motcua_engine::step::{self, StepContext, StepError};
use motcua_engine::{DefinitionRef, InstanceId, InstanceState, InstanceStatus};
use serde_json::{json, Map, Value};

/// Wraps process elements in a BPMN document (default namespace BPMN, `motcua:` declared).
fn bpmn(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:motcua="urn:motcua:bpmn:1.0"
             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
             id="defs" targetNamespace="urn:test">
  <process id="p" isExecutable="true">
{body}
  </process>
</definitions>"#
    )
}

fn ctx(calendar: &WorkCalendar, now: chrono::DateTime<Utc>) -> StepContext<'_> {
    StepContext {
        now,
        calendar,
        due_soon_working_days: 1.0,
    }
}

struct Trace {
    calendar: WorkCalendar,
    model: Process,
    state: InstanceState,
    events: Vec<Event>,
    clock: i64,
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Trace {
    fn start(body: &str, variables: Value) -> Result<Trace, StepError> {
        let xml = bpmn(body);
        let mut processes = match motcua_definitions::load("test.bpmn", xml.as_bytes()) {
            Ok(p) => p,
            Err(d) => panic!("test process does not load:\n{d}"),
        };
        let model = processes.remove(0);
        let id = InstanceId::from_uuid(uuid::Uuid::from_u128(42));
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let def = DefinitionRef {
            key: "p".into(),
            version: 1,
        };
        let calendar = WorkCalendar::vietnam();
        let t = step::start(
            &model,
            def,
            id,
            None,
            vars(variables),
            None,
            ctx(&calendar, now),
        )?;
        Ok(Trace {
            calendar,
            model,
            state: t.state,
            events: t.events,
            clock: 0,
        })
    }

    fn apply(&mut self, command: Command) -> Result<(), StepError> {
        self.clock += 1;
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap()
            + chrono::Duration::minutes(self.clock);
        let t = step::apply(
            &self.model,
            self.state.clone(),
            &command,
            ctx(&self.calendar, now),
        )?;
        assert_eq!(
            t.state.version,
            self.state.version + 1,
            "every change bumps the version"
        );
        self.state = t.state;
        self.events.extend(t.events);
        Ok(())
    }

    /// Node ids where user tasks wait, sorted.
    fn waiting(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .state
            .tokens
            .iter()
            .filter(|t| matches!(t.wait, Wait::UserTask { .. } | Wait::Job { .. }))
            .map(|t| t.node.clone())
            .collect();
        v.sort();
        v
    }

    fn complete(&mut self, node: &str, variables: Value) -> Result<(), StepError> {
        let task = self
            .state
            .tokens
            .iter()
            .find_map(|t| match &t.wait {
                Wait::UserTask { task, .. } if t.node == node => Some(*task),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no open task at {node}; waiting: {:?}", self.waiting()));
        self.apply(Command::Complete {
            task,
            variables: vars(variables),
            by: None,
        })
    }

    /// Node ids entered, in order.
    fn entered(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ActivityEntered { node, .. } => Some(node.as_str()),
                _ => None,
            })
            .collect()
    }

    fn count_entered(&self, node: &str) -> usize {
        self.entered().iter().filter(|n| **n == node).count()
    }

    fn done(&self) -> bool {
        self.state.status == InstanceStatus::Completed && self.state.tokens.is_empty()
    }
}

fn seq(id: &str, from: &str, to: &str) -> String {
    format!(r#"<sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#)
}

fn cond(id: &str, from: &str, to: &str, c: &str) -> String {
    format!(
        r#"<sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><conditionExpression xsi:type="tFormalExpression">{c}</conditionExpression></sequenceFlow>"#
    )
}

#[test]
fn start_tasks_and_none_end() {
    let body = [
        r#"<startEvent id="s"/><userTask id="u" name="Xử lý"/><manualTask id="m"/><task id="t"/><endEvent id="e"/>"#.to_owned(),
        seq("f1", "s", "u"),
        seq("f2", "u", "m"),
        seq("f3", "m", "t"),
        seq("f4", "t", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({"a": 1})).unwrap();
    assert_eq!(tr.waiting(), ["u"]);
    assert_eq!(tr.state.variables["a"], json!(1));
    tr.complete("u", json!({"b": "xong"})).unwrap();
    assert!(tr.done());
    assert_eq!(tr.entered(), ["s", "u", "m", "t", "e"]);
    assert!(matches!(tr.events.last(), Some(Event::InstanceCompleted)));
    assert_eq!(tr.state.variables["b"], json!("xong"));
}

#[test]
fn service_task_waits_for_its_job_and_fails_into_an_incident() {
    let body = [
        r#"<startEvent id="s"/><serviceTask id="w" motcua:topic="gui-sms" motcua:retries="2"/><endEvent id="e"/>"#.to_owned(),
        seq("f1", "s", "w"),
        seq("f2", "w", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    assert_eq!(tr.waiting(), ["w"]);
    let job = match &tr.state.tokens[0].wait {
        Wait::Job { job, retries, .. } => {
            assert_eq!(*retries, 2);
            *job
        }
        other => panic!("expected a job, got {other:?}"),
    };
    tr.apply(Command::FailJob {
        job,
        error: "timeout".into(),
        retries: None,
    })
    .unwrap();
    assert!(matches!(
        tr.state.tokens[0].wait,
        Wait::Job {
            retries: 1,
            incident: false,
            ..
        }
    ));
    tr.apply(Command::FailJob {
        job,
        error: "timeout again".into(),
        retries: None,
    })
    .unwrap();
    assert!(matches!(
        tr.state.tokens[0].wait,
        Wait::Job {
            retries: 0,
            incident: true,
            ..
        }
    ));
    assert!(tr
        .events
        .iter()
        .any(|e| matches!(e, Event::IncidentRaised { message, .. } if message == "timeout again")));
    tr.apply(Command::CompleteJob {
        job,
        variables: vars(json!({"sent": true})),
    })
    .unwrap();
    assert!(tr.done());
}

#[test]
fn exclusive_gateway_takes_first_true_condition_else_default() {
    let body = [
        r#"<startEvent id="s"/><exclusiveGateway id="g" default="fd"/>
           <userTask id="big"/><userTask id="small"/><userTask id="other"/><endEvent id="e"/>"#
            .to_owned(),
        seq("f0", "s", "g"),
        cond("fa", "g", "big", "= amount > 1000"),
        cond("fb", "g", "small", "${amount > 10}"),
        seq("fd", "g", "other"),
        seq("f1", "big", "e"),
        seq("f2", "small", "e"),
        seq("f3", "other", "e"),
    ]
    .concat();
    let cases = [(5000, "big"), (500, "small"), (5, "other")];
    for (amount, expected) in cases {
        let tr = Trace::start(&body, json!({"amount": amount})).unwrap();
        assert_eq!(tr.waiting(), [expected], "amount {amount}");
        assert!(tr
            .events
            .iter()
            .any(|e| matches!(e, Event::GatewayDecided { node, .. } if node == "g")));
    }
}

#[test]
fn exclusive_gateway_without_match_or_default_rejects_the_command() {
    let body = [
        r#"<startEvent id="s"/><userTask id="u"/><exclusiveGateway id="g"/><userTask id="a"/><userTask id="b"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "u"),
        seq("f1", "u", "g"),
        cond("fa", "g", "a", r#"= district = "Phú Vang""#),
        cond("fb", "g", "b", r#"= district = "Phú Lộc""#),
        seq("f2", "a", "e"), seq("f3", "b", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    let before = tr.state.clone();
    let err = tr
        .complete("u", json!({"district": "Hương Trà"}))
        .unwrap_err();
    assert!(
        matches!(err, StepError::NoFlowTaken { ref node } if node == "g"),
        "{err:?}"
    );
    assert_eq!(tr.state, before, "a rejected command changes nothing");
    tr.complete("u", json!({"district": "Phú Vang"})).unwrap();
    assert_eq!(tr.waiting(), ["a"]);
}

#[test]
fn parallel_gateway_forks_and_joins() {
    let body = [
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="a"/><userTask id="b"/><userTask id="c"/>
           <parallelGateway id="join"/><userTask id="after"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "fork"),
        seq("fa", "fork", "a"), seq("fb", "fork", "b"), seq("fc", "fork", "c"),
        seq("ja", "a", "join"), seq("jb", "b", "join"), seq("jc", "c", "join"),
        seq("f1", "join", "after"), seq("f2", "after", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    assert_eq!(tr.waiting(), ["a", "b", "c"]);
    tr.complete("b", json!({})).unwrap();
    tr.complete("a", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["c"], "the join waits for c");
    tr.complete("c", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["after"]);
    assert_eq!(tr.count_entered("after"), 1, "the join fires once");
    tr.complete("after", json!({})).unwrap();
    assert!(tr.done());
}

#[test]
fn inclusive_gateway_forks_by_conditions_and_joins_only_what_can_arrive() {
    let body = [
        r#"<startEvent id="s"/><inclusiveGateway id="fork" default="fd"/>
           <userTask id="tax"/><userTask id="land"/><userTask id="plain"/>
           <inclusiveGateway id="join"/><userTask id="sign"/><endEvent id="e"/>"#
            .to_owned(),
        seq("f0", "s", "fork"),
        cond("ft", "fork", "tax", "= fee > 0"),
        cond("fl", "fork", "land", "= hasLand"),
        seq("fd", "fork", "plain"),
        seq("jt", "tax", "join"),
        seq("jl", "land", "join"),
        seq("jd", "plain", "join"),
        seq("f1", "join", "sign"),
        seq("f2", "sign", "e"),
    ]
    .concat();
    // Two of three branches: the join waits for both, not for the third.
    let mut tr = Trace::start(&body, json!({"fee": 50000, "hasLand": true})).unwrap();
    assert_eq!(tr.waiting(), ["land", "tax"]);
    tr.complete("tax", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["land"]);
    tr.complete("land", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["sign"]);
    assert_eq!(tr.count_entered("sign"), 1);
    // One branch only: the join fires on that token alone.
    let mut tr = Trace::start(&body, json!({"fee": 0, "hasLand": true})).unwrap();
    assert_eq!(tr.waiting(), ["land"]);
    tr.complete("land", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["sign"]);
    // No condition holds: the default.
    let tr = Trace::start(&body, json!({"fee": 0, "hasLand": false})).unwrap();
    assert_eq!(tr.waiting(), ["plain"]);
}

#[test]
fn inclusive_join_fires_when_a_branch_ends_elsewhere() {
    // Branch b may leave for its own end event; once it does, the join stops waiting for it.
    let body = [
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="a"/><userTask id="b"/>
           <exclusiveGateway id="choice" default="toJoin"/><endEvent id="early"/>
           <inclusiveGateway id="join"/><userTask id="after"/><endEvent id="e"/>"#
            .to_owned(),
        seq("f0", "s", "fork"),
        seq("fa", "fork", "a"),
        seq("fb", "fork", "b"),
        seq("ja", "a", "join"),
        seq("fc", "b", "choice"),
        cond("fe", "choice", "early", "= skip"),
        seq("toJoin", "choice", "join"),
        seq("f1", "join", "after"),
        seq("f2", "after", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    tr.complete("a", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["b"], "b can still reach the join");
    tr.complete("b", json!({"skip": true})).unwrap();
    assert_eq!(tr.waiting(), ["after"], "b ended elsewhere: the join fires");
    tr.complete("after", json!({})).unwrap();
    assert!(tr.done());
}

#[test]
fn parallel_fork_and_join_inside_a_sub_process() {
    let body = [
        r#"<startEvent id="s"/>
           <subProcess id="sub" name="Liên thông">
             <startEvent id="ss"/><parallelGateway id="pf"/><userTask id="x"/><userTask id="y"/>
             <parallelGateway id="pj"/><endEvent id="se"/>"#
            .to_owned(),
        seq("i0", "ss", "pf"),
        seq("ix", "pf", "x"),
        seq("iy", "pf", "y"),
        seq("jx", "x", "pj"),
        seq("jy", "y", "pj"),
        seq("i1", "pj", "se"),
        r#"</subProcess><userTask id="after"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "sub"),
        seq("f1", "sub", "after"),
        seq("f2", "after", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    assert_eq!(tr.waiting(), ["x", "y"]);
    assert!(tr
        .state
        .tokens
        .iter()
        .any(|t| t.node == "sub" && matches!(t.wait, Wait::SubProcess)));
    tr.complete("x", json!({})).unwrap();
    assert_eq!(tr.waiting(), ["y"]);
    tr.complete("y", json!({})).unwrap();
    assert_eq!(
        tr.waiting(),
        ["after"],
        "the sub-process completed and its token moved on"
    );
    tr.complete("after", json!({})).unwrap();
    assert!(tr.done());
    assert_eq!(tr.count_entered("sub"), 1);
}

#[test]
fn terminate_end_event_ends_its_scope_only() {
    let body = [
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="outer"/>
           <subProcess id="sub">
             <startEvent id="ss"/><parallelGateway id="pf"/><userTask id="x"/><userTask id="y"/>
             <endEvent id="kill"><terminateEventDefinition id="td"/></endEvent><endEvent id="se"/>"#
            .to_owned(),
        seq("i0", "ss", "pf"),
        seq("ix", "pf", "x"),
        seq("iy", "pf", "y"),
        seq("jx", "x", "kill"),
        seq("jy", "y", "se"),
        r#"</subProcess><endEvent id="e1"/><endEvent id="e2"/>"#.to_owned(),
        seq("f0", "s", "fork"),
        seq("fo", "fork", "outer"),
        seq("fs", "fork", "sub"),
        seq("f1", "sub", "e1"),
        seq("f2", "outer", "e2"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    assert_eq!(tr.waiting(), ["outer", "x", "y"]);
    tr.complete("x", json!({})).unwrap();
    assert_eq!(
        tr.waiting(),
        ["outer"],
        "terminate ended y, not the outer branch"
    );
    assert!(tr
        .events
        .iter()
        .any(|e| matches!(e, Event::ActivityCancelled { node } if node == "y")));
    tr.complete("outer", json!({})).unwrap();
    assert!(tr.done());
}

#[test]
fn terminate_at_process_level_completes_the_instance() {
    let body = [
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="a"/><userTask id="b"/>
           <endEvent id="kill"><terminateEventDefinition/></endEvent><endEvent id="e"/>"#
            .to_owned(),
        seq("f0", "s", "fork"),
        seq("fa", "fork", "a"),
        seq("fb", "fork", "b"),
        seq("f1", "a", "kill"),
        seq("f2", "b", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    tr.complete("a", json!({})).unwrap();
    assert!(tr.done());
    assert!(tr
        .events
        .iter()
        .any(|e| matches!(e, Event::ActivityCancelled { node } if node == "b")));
}

#[test]
fn lanes_give_tasks_their_groups_and_claims_are_exclusive() {
    let body = [
        r#"<laneSet id="ls">
             <lane id="l1" name="Bộ phận một cửa" motcua:candidateGroups="mot-cua" motcua:agency="000.00.02.H22"><flowNodeRef>u</flowNodeRef></lane>
           </laneSet>
           <startEvent id="s"/><userTask id="u"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "u"), seq("f1", "u", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    let a = tr
        .model
        .assignment(tr.model.node_by_id("u").unwrap())
        .unwrap();
    assert_eq!(a.candidate_groups, ["mot-cua"]);
    assert_eq!(a.agency.as_deref(), Some("000.00.02.H22"));
    let task = match tr.state.tokens[0].wait {
        Wait::UserTask { task, .. } => task,
        _ => panic!("expected a user task"),
    };
    tr.apply(Command::Claim {
        task,
        user: "lan".into(),
    })
    .unwrap();
    let before = tr.state.clone();
    let err = step::apply(
        &tr.model,
        tr.state.clone(),
        &Command::Claim {
            task,
            user: "hung".into(),
        },
        ctx(&tr.calendar, Utc::now()),
    )
    .unwrap_err();
    assert!(matches!(err, StepError::ClaimedByOther { ref assignee, .. } if assignee == "lan"));
    assert_eq!(tr.state, before);
    tr.apply(Command::Unclaim { task }).unwrap();
    tr.apply(Command::Claim {
        task,
        user: "hung".into(),
    })
    .unwrap();
    // Only the assignee (or the system) may complete a claimed task.
    let err = step::apply(
        &tr.model,
        tr.state.clone(),
        &Command::Complete {
            task,
            variables: Map::new(),
            by: Some("lan".into()),
        },
        ctx(&tr.calendar, Utc::now()),
    )
    .unwrap_err();
    assert!(
        matches!(err, StepError::ClaimedByOther { ref assignee, .. } if assignee == "hung"),
        "{err:?}"
    );
    tr.complete("u", json!({})).unwrap();
    let err = step::apply(
        &tr.model,
        tr.state.clone(),
        &Command::Complete {
            task,
            variables: Map::new(),
            by: None,
        },
        ctx(&tr.calendar, Utc::now()),
    )
    .unwrap_err();
    assert!(matches!(err, StepError::InstanceEnded { .. }), "{err:?}");
}

#[test]
fn cancel_closes_every_waiting_task() {
    let body = [
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="a"/><userTask id="b"/><parallelGateway id="j"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "fork"), seq("fa", "fork", "a"), seq("fb", "fork", "b"),
        seq("ja", "a", "j"), seq("jb", "b", "j"), seq("f1", "j", "e"),
    ]
    .concat();
    let mut tr = Trace::start(&body, json!({})).unwrap();
    tr.apply(Command::Cancel {
        reason: Some("công dân rút hồ sơ".into()),
    })
    .unwrap();
    assert_eq!(tr.state.status, InstanceStatus::Cancelled);
    assert!(tr.state.tokens.is_empty());
    let cancelled = tr
        .events
        .iter()
        .filter(|e| matches!(e, Event::ActivityCancelled { .. }))
        .count();
    assert_eq!(cancelled, 2);
}

#[test]
fn replaying_the_same_commands_yields_the_same_events() {
    let body = [
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="a"/><userTask id="b"/><parallelGateway id="j"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "fork"), seq("fa", "fork", "a"), seq("fb", "fork", "b"),
        seq("ja", "a", "j"), seq("jb", "b", "j"), seq("f1", "j", "e"),
    ]
    .concat();
    let run = || {
        let mut tr = Trace::start(&body, json!({"x": 1})).unwrap();
        tr.complete("b", json!({"y": 2})).unwrap();
        tr.complete("a", json!({})).unwrap();
        (tr.events, tr.state)
    };
    assert_eq!(run(), run());
}

fn single_task(tr: &Trace) -> motcua_engine::TaskId {
    match tr.state.tokens[0].wait {
        Wait::UserTask { task, .. } => task,
        _ => panic!("expected a user task"),
    }
}

fn owner_of(tr: &Trace) -> (Option<String>, Option<String>) {
    match &tr.state.tokens[0].wait {
        Wait::UserTask {
            assignee, owner, ..
        } => (assignee.clone(), owner.clone()),
        _ => panic!("expected a user task"),
    }
}

fn one_task_body() -> String {
    [
        r#"<startEvent id="s"/><userTask id="u"/><endEvent id="e"/>"#.to_owned(),
        seq("f0", "s", "u"),
        seq("f1", "u", "e"),
    ]
    .concat()
}

#[test]
fn assign_overrides_a_claim_and_records_the_previous_assignee() {
    let mut tr = Trace::start(&one_task_body(), json!({})).unwrap();
    let task = single_task(&tr);
    tr.apply(Command::Assign {
        task,
        user: "lan".into(),
    })
    .unwrap();
    tr.apply(Command::Assign {
        task,
        user: "hung".into(),
    })
    .unwrap();
    assert_eq!(owner_of(&tr), (Some("hung".into()), None));
    let assigned: Vec<&Event> = tr
        .events
        .iter()
        .filter(|e| matches!(e, Event::TaskAssigned { .. }))
        .collect();
    assert_eq!(
        assigned,
        [
            &Event::TaskAssigned {
                task,
                assignee: "lan".into(),
                previous: None
            },
            &Event::TaskAssigned {
                task,
                assignee: "hung".into(),
                previous: Some("lan".into())
            },
        ]
    );
    assert_eq!(assigned[0].kind(), "task_assigned");
    // Assigning to the assignee again changes nothing.
    let t = step::apply(
        &tr.model,
        tr.state.clone(),
        &Command::Assign {
            task,
            user: "hung".into(),
        },
        ctx(&tr.calendar, Utc::now()),
    )
    .unwrap();
    assert!(t.events.is_empty());
    tr.complete("u", json!({})).unwrap();
    assert_eq!(tr.state.status, InstanceStatus::Completed);
}

#[test]
fn delegate_then_resolve_gives_the_task_back_and_complete_waits_for_it() {
    let mut tr = Trace::start(&one_task_body(), json!({})).unwrap();
    let task = single_task(&tr);
    // Nobody to delegate for yet.
    let err = step::apply(
        &tr.model,
        tr.state.clone(),
        &Command::Delegate {
            task,
            user: "hung".into(),
        },
        ctx(&tr.calendar, Utc::now()),
    )
    .unwrap_err();
    assert_eq!(err, StepError::NotAssigned(task));
    tr.apply(Command::Claim {
        task,
        user: "lan".into(),
    })
    .unwrap();
    // Nothing to resolve yet.
    let err = step::apply(
        &tr.model,
        tr.state.clone(),
        &Command::Resolve {
            task,
            variables: Map::new(),
        },
        ctx(&tr.calendar, Utc::now()),
    )
    .unwrap_err();
    assert_eq!(err, StepError::NotDelegated(task));
    tr.apply(Command::Delegate {
        task,
        user: "hung".into(),
    })
    .unwrap();
    assert_eq!(owner_of(&tr), (Some("hung".into()), Some("lan".into())));
    assert_eq!(
        tr.events.last(),
        Some(&Event::TaskDelegated {
            task,
            owner: "lan".into(),
            delegate: "hung".into()
        })
    );
    // Completing a delegated task is refused, even by the system; nothing changes.
    let before = tr.state.clone();
    for by in [None, Some("hung".to_owned()), Some("lan".to_owned())] {
        let err = step::apply(
            &tr.model,
            tr.state.clone(),
            &Command::Complete {
                task,
                variables: Map::new(),
                by,
            },
            ctx(&tr.calendar, Utc::now()),
        )
        .unwrap_err();
        assert!(
            matches!(err, StepError::Delegated { ref owner, .. } if owner == "lan"),
            "{err:?}"
        );
        assert!(err.to_string().contains("resolve it first"), "{err}");
    }
    assert_eq!(tr.state, before);
    // Delegating on keeps the first owner.
    tr.apply(Command::Delegate {
        task,
        user: "mai".into(),
    })
    .unwrap();
    assert_eq!(owner_of(&tr), (Some("mai".into()), Some("lan".into())));
    tr.apply(Command::Resolve {
        task,
        variables: vars(json!({"checked": true})),
    })
    .unwrap();
    assert_eq!(owner_of(&tr), (Some("lan".into()), None));
    assert_eq!(tr.state.variables["checked"], json!(true));
    assert!(tr.events.contains(&Event::TaskResolved {
        task,
        owner: "lan".into(),
        variables: vars(json!({"checked": true})),
    }));
    tr.apply(Command::Complete {
        task,
        variables: Map::new(),
        by: Some("lan".into()),
    })
    .unwrap();
    assert_eq!(tr.state.status, InstanceStatus::Completed);
}

#[test]
fn a_state_without_owner_reads_as_not_delegated() {
    let wait: Wait = serde_json::from_value(
        json!({"wait": "user_task", "task": uuid::Uuid::from_u128(7), "assignee": null}),
    )
    .unwrap();
    assert!(matches!(wait, Wait::UserTask { owner: None, .. }));
    let text = serde_json::to_string(&wait).unwrap();
    assert!(!text.contains("owner"), "{text}");
}
