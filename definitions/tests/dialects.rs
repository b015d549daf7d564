//! The same small procedure drawn in three modelers (bpmn-js with motcua attributes, Camunda
//! Modeler 5 for Camunda 7, Camunda Modeler for Camunda 8/Zeebe) loads to equivalent models.

use motcua_definitions::{load, NodeKind, Process};

fn fixture(name: &str) -> Process {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut processes = load(name, &xml).unwrap_or_else(|d| panic!("{name} is refused:\n{d}"));
    assert_eq!(processes.len(), 1, "{name}");
    processes.remove(0)
}

/// What must agree across dialects: per node, its id, kind name, assignment, form and topic;
/// per flow, its ends and whether it has a condition.
fn summary(p: &Process) -> Vec<String> {
    let mut out = vec![format!("process {}", p.key())];
    for (i, n) in p.nodes().iter().enumerate() {
        let idx = p.node_by_id(&n.id).expect("indexed");
        assert_eq!(idx.0 as usize, i);
        let detail = match &n.kind {
            NodeKind::UserTask(task) => {
                let a = p.assignment(idx).expect("a user task");
                format!(
                    " assignee={:?} groups={:?} users={:?} form={:?}",
                    a.assignee, a.candidate_groups, a.candidate_users, task.form_key
                )
            }
            NodeKind::ServiceTask { topic, .. } => format!(" topic={topic}"),
            NodeKind::ExclusiveGateway { default } => {
                format!(" default={:?}", default.map(|f| p.flow(f).id.clone()))
            }
            _ => String::new(),
        };
        out.push(format!("{} {}{detail}", n.id, n.kind.element_name()));
    }
    for f in p.flows() {
        out.push(format!(
            "{} {}->{} conditional={}",
            f.id,
            p.node(f.source).id,
            p.node(f.target).id,
            f.condition.is_some()
        ));
    }
    out
}

#[test]
fn three_dialects_load_to_the_same_procedure() {
    let js = fixture("dialect-bpmn-js.bpmn");
    let camunda = fixture("dialect-camunda-modeler.bpmn");
    let zeebe = fixture("dialect-zeebe.bpmn");
    let expected = vec![
        "process cap-ban-sao",
        "StartEvent_1 startEvent",
        r#"xem-xet userTask assignee=None groups=["mot-cua", "tu-phap"] users=[] form=Some("xem-xet-ho-so")"#,
        r#"hop-le exclusiveGateway default=Some("Flow_khong")"#,
        "gui-ket-qua serviceTask topic=gui-ket-qua",
        "xong endEvent",
        "tra-lai endEvent",
        "Flow_1 StartEvent_1->xem-xet conditional=false",
        "Flow_2 xem-xet->hop-le conditional=false",
        "Flow_co hop-le->gui-ket-qua conditional=true",
        "Flow_khong hop-le->tra-lai conditional=false",
        "Flow_3 gui-ket-qua->xong conditional=false",
    ];
    assert_eq!(summary(&js), expected, "bpmn-js");
    assert_eq!(summary(&camunda), expected, "Camunda Modeler");
    assert_eq!(summary(&zeebe), expected, "Zeebe");

    // What only some dialects say.
    assert_eq!(js.agency(), Some("ubnd-phuong-an-cuu"));
    assert_eq!(js.sla_working_days(), Some(3.0));
    let task = js.node_by_id("xem-xet").expect("task");
    match &js.node(task).kind {
        NodeKind::UserTask(t) => assert_eq!(t.sla_working_days, Some(0.5)),
        other => panic!("{other:?}"),
    }
    let retries = |p: &Process| match p.node(p.node_by_id("gui-ket-qua").expect("task")).kind {
        NodeKind::ServiceTask { retries, .. } => retries,
        _ => 0,
    };
    assert_eq!(
        (retries(&js), retries(&camunda), retries(&zeebe)),
        (5, 3, 5)
    );
    let condition = |p: &Process| {
        let f = p.flow(p.flow_by_id("Flow_co").expect("flow"));
        f.condition.as_ref().map(|c| c.source().to_owned())
    };
    assert_eq!(condition(&js).as_deref(), Some("= hopLe = true"));
    assert_eq!(condition(&camunda).as_deref(), Some("${hopLe == true}"));
    assert_eq!(condition(&zeebe).as_deref(), Some("=hopLe = true"));
}
