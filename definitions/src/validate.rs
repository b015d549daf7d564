//! Deploy-time validation of parsed processes.
//!
//! The parser ([`crate::parse`]) guarantees that references resolve; this module checks the
//! graph: unique ids, flows that stay inside one (sub-)process, start events (a process has
//! exactly one none start event, or none and at least one timer start event; a sub-process has
//! exactly one none start event), reachability from the starts and to an end, gateway
//! conditions and defaults, the flows that start, end and boundary events must not (or must)
//! have, and boundary events drawn in the scope of their activity. A boundary event is reached
//! when its activity is, and must itself lead to an end. A *scope* is the process itself or one embedded
//! sub-process; inside its parent scope a sub-process is an ordinary node. Every problem is
//! collected (never just the first) and the result is sorted by position.

use std::collections::{HashMap, VecDeque};

use crate::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics, Position};
use crate::model::{Node, NodeIdx, NodeKind, Process};

/// Validates every process of one file, collecting all diagnostics.
pub fn validate_all(file: &str, processes: &[Process]) -> Result<(), Diagnostics> {
    let mut v = Validator {
        file,
        diags: Vec::new(),
    };
    let mut seen: HashMap<&str, Position> = HashMap::new();
    for p in processes {
        let elements = p
            .nodes()
            .iter()
            .map(|n| (n.id.as_str(), n.kind.element_name(), n.position))
            .chain(
                p.flows()
                    .iter()
                    .map(|f| (f.id.as_str(), "sequenceFlow", f.position)),
            );
        for (id, element, position) in elements {
            match seen.get(id) {
                Some(first) => v.push(
                    DiagnosticKind::DuplicateId,
                    element,
                    id,
                    position,
                    format!(
                        "the id `{id}` is already used by the element at {first}: give every \
                         element its own id"
                    ),
                ),
                None => {
                    seen.insert(id, position);
                }
            }
        }
        v.process(p);
    }
    if v.diags.is_empty() {
        return Ok(());
    }
    v.diags
        .sort_by_key(|d| (d.position.line, d.position.column));
    Err(Diagnostics(v.diags))
}

struct Validator<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn push(
        &mut self,
        kind: DiagnosticKind,
        element: &str,
        id: &str,
        position: Position,
        message: String,
    ) {
        self.diags.push(Diagnostic {
            kind,
            file: self.file.to_owned(),
            element_id: Some(id.to_owned()),
            element: element.to_owned(),
            position,
            message,
        });
    }

    fn node(&mut self, kind: DiagnosticKind, n: &Node, message: String) {
        self.push(kind, n.kind.element_name(), &n.id, n.position, message);
    }

    fn process(&mut self, p: &Process) {
        self.flows(p);
        let mut scopes: Vec<Option<NodeIdx>> = vec![None];
        scopes.extend(
            p.nodes()
                .iter()
                .enumerate()
                .filter(|(_, n)| matches!(n.kind, NodeKind::SubProcess { .. }))
                .map(|(i, _)| Some(NodeIdx(i as u32))),
        );
        for scope in scopes {
            self.scope(p, scope);
        }
        for (i, n) in p.nodes().iter().enumerate() {
            self.gateway(p, NodeIdx(i as u32), n);
        }
    }

    /// Flows stay in one scope; start events have no incoming flows; end events no outgoing.
    fn flows(&mut self, p: &Process) {
        for f in p.flows() {
            let (source, target) = (p.node(f.source), p.node(f.target));
            if source.parent != target.parent {
                self.push(
                    DiagnosticKind::DanglingFlow,
                    "sequenceFlow",
                    &f.id,
                    f.position,
                    format!(
                        "the flow from `{}` to `{}` crosses a sub-process boundary: connect \
                         elements of the same (sub-)process only",
                        source.id, target.id
                    ),
                );
            }
            if matches!(source.kind, NodeKind::EndEvent { .. }) {
                self.push(
                    DiagnosticKind::DanglingFlow,
                    "sequenceFlow",
                    &f.id,
                    f.position,
                    format!(
                        "the flow leaves end event `{}`: an end event ends its path; remove the \
                         flow or replace the end event by a task",
                        source.id
                    ),
                );
            }
        }
        for n in p.nodes() {
            if let Some(attached_to) = n.kind.attached_to() {
                let activity = p.node(attached_to);
                if activity.parent != n.parent {
                    self.node(
                        DiagnosticKind::InvalidAttribute,
                        n,
                        format!(
                            "the boundary event is attached to `{}`, which is in another \
                             (sub-)process: draw the boundary event on the activity's border, in \
                             the same (sub-)process",
                            activity.id
                        ),
                    );
                }
                for f in &n.incoming {
                    let flow = p.flow(*f);
                    self.push(
                        DiagnosticKind::DanglingFlow,
                        "sequenceFlow",
                        &flow.id,
                        flow.position,
                        format!(
                            "the flow ends at boundary event `{}`: a boundary event is triggered \
                             by its timer or message, never by a flow; connect the flow to the \
                             activity",
                            n.id
                        ),
                    );
                }
            }
            let start = matches!(
                n.kind,
                NodeKind::StartEvent
                    | NodeKind::TimerStartEvent { .. }
                    | NodeKind::MessageStartEvent { .. }
            );
            if start && !n.incoming.is_empty() {
                self.node(
                    DiagnosticKind::StartEvent,
                    n,
                    "a start event cannot have incoming flows: let the flows end at a task or \
                     gateway after the start event"
                        .into(),
                );
            }
        }
    }

    fn scope(&mut self, p: &Process, scope: Option<NodeIdx>) {
        let members: Vec<NodeIdx> = (0..p.nodes().len())
            .map(|i| NodeIdx(i as u32))
            .filter(|i| p.node(*i).parent == scope)
            .collect();
        let starts: Vec<NodeIdx> = members
            .iter()
            .copied()
            .filter(|i| p.node(*i).kind == NodeKind::StartEvent)
            .collect();
        // Timer start events start instances too (process level only; the parser refuses them
        // in sub-processes).
        let timer_starts: Vec<NodeIdx> = members
            .iter()
            .copied()
            .filter(|i| {
                matches!(
                    p.node(*i).kind,
                    NodeKind::TimerStartEvent { .. } | NodeKind::MessageStartEvent { .. }
                )
            })
            .collect();
        let (what, owner_element, owner_id, owner_position) = match scope {
            Some(s) => {
                let n = p.node(s);
                ("sub-process", "subProcess", n.id.as_str(), n.position)
            }
            None => {
                let position = members
                    .first()
                    .map(|i| p.node(*i).position)
                    .unwrap_or_default();
                ("process", "process", p.key().as_str(), position)
            }
        };
        match starts.as_slice() {
            [] if scope.is_none() && !timer_starts.is_empty() => {}
            [] => {
                let message = match scope {
                    None => "the process has no start event: draw one none start event (without \
                             a trigger) where it begins, or timer start events"
                        .to_owned(),
                    Some(_) => format!(
                        "the {what} has no none start event: draw one start event (without a \
                         trigger) where it begins"
                    ),
                };
                self.push(
                    DiagnosticKind::StartEvent,
                    owner_element,
                    owner_id,
                    owner_position,
                    message,
                );
                return;
            }
            [_] => {}
            [_, rest @ ..] => {
                for s in rest {
                    self.node(
                        DiagnosticKind::StartEvent,
                        p.node(*s),
                        format!(
                            "the {what} `{owner_id}` has more than one none start event: keep \
                             exactly one and join the paths with a gateway"
                        ),
                    );
                }
            }
        }

        let in_scope = |i: NodeIdx| p.node(i).parent == scope;
        let roots: Vec<NodeIdx> = starts.iter().chain(&timer_starts).copied().collect();
        // A boundary event is reached when its activity is.
        let forward = walk(&roots, |i| {
            p.node(i)
                .outgoing
                .iter()
                .map(|f| p.flow(*f).target)
                .chain(p.boundaries(i).iter().copied())
                .filter(|t| in_scope(*t))
                .collect()
        });
        let ends: Vec<NodeIdx> = members
            .iter()
            .copied()
            .filter(|i| matches!(p.node(*i).kind, NodeKind::EndEvent { .. }))
            .collect();
        if ends.is_empty() {
            self.push(
                DiagnosticKind::NoPathToEnd,
                owner_element,
                owner_id,
                owner_position,
                format!("the {what} has no end event: draw an end event where its paths finish"),
            );
        }
        let backward = walk(&ends, |i| {
            p.node(i)
                .incoming
                .iter()
                .map(|f| p.flow(*f).source)
                .filter(|s| in_scope(*s))
                .collect()
        });
        for i in members {
            let n = p.node(i);
            if !forward.contains(&i) {
                self.node(
                    DiagnosticKind::Unreachable,
                    n,
                    format!(
                        "`{}` cannot be reached from the start event of its {what}: connect a \
                         sequence flow into it or delete it",
                        n.label()
                    ),
                );
            } else if !ends.is_empty() && !backward.contains(&i) {
                let boundary = n.kind.attached_to().is_some();
                let message = match boundary && n.outgoing.is_empty() {
                    true => format!(
                        "boundary event `{}` has no outgoing flow: connect it to the path taken \
                         when its timer fires or its message comes",
                        n.label()
                    ),
                    false => format!(
                        "no end event can be reached from `{}`: connect it on towards an end \
                         event",
                        n.label()
                    ),
                };
                self.node(DiagnosticKind::NoPathToEnd, n, message);
            }
        }
    }

    /// Conditions and defaults of the flows leaving a node.
    fn gateway(&mut self, p: &Process, idx: NodeIdx, n: &Node) {
        let default = match n.kind {
            NodeKind::ExclusiveGateway { default } | NodeKind::InclusiveGateway { default } => {
                default
            }
            NodeKind::ParallelGateway => {
                for f in &n.outgoing {
                    let flow = p.flow(*f);
                    if flow.condition.is_some() {
                        self.push(
                            DiagnosticKind::Gateway,
                            "sequenceFlow",
                            &flow.id,
                            flow.position,
                            format!(
                                "the flow leaves parallel gateway `{}` but has a condition, \
                                 which a parallel gateway ignores: remove the condition or use \
                                 an inclusive gateway",
                                n.id
                            ),
                        );
                    }
                }
                return;
            }
            NodeKind::EventBasedGateway => {
                if n.outgoing.len() < 2 {
                    self.node(
                        DiagnosticKind::Gateway,
                        n,
                        "an event-based gateway waits for the first of two or more events: \
                         draw at least two outgoing flows, each to a message or timer catch \
                         event or a receive task"
                            .into(),
                    );
                }
                for f in &n.outgoing {
                    let flow = p.flow(*f);
                    let target = p.node(flow.target);
                    let catches = matches!(
                        target.kind,
                        NodeKind::MessageCatchEvent { .. }
                            | NodeKind::TimerCatchEvent { .. }
                            | NodeKind::ReceiveTask { .. }
                    );
                    if !catches {
                        self.push(
                            DiagnosticKind::Gateway,
                            "sequenceFlow",
                            &flow.id,
                            flow.position,
                            format!(
                                "the flow leaves event-based gateway `{}` for `{}` (a {}): each \
                                 flow of an event-based gateway must end at a message or timer \
                                 intermediate catch event or a receive task",
                                n.id,
                                target.id,
                                target.kind.element_name()
                            ),
                        );
                    } else if target.incoming.len() > 1 {
                        self.node(
                            DiagnosticKind::Gateway,
                            target,
                            format!(
                                "`{}` follows event-based gateway `{}` and has other incoming \
                                 flows: an event after an event-based gateway has exactly one \
                                 incoming flow",
                                target.id, n.id
                            ),
                        );
                    }
                    if flow.condition.is_some() {
                        self.push(
                            DiagnosticKind::Gateway,
                            "sequenceFlow",
                            &flow.id,
                            flow.position,
                            "a flow leaving an event-based gateway cannot have a condition: the \
                             event that happens first decides"
                                .to_owned(),
                        );
                    }
                }
                return;
            }
            _ => {
                for f in &n.outgoing {
                    let flow = p.flow(*f);
                    if flow.condition.is_some() {
                        self.push(
                            DiagnosticKind::UnsupportedElement,
                            "sequenceFlow",
                            &flow.id,
                            flow.position,
                            format!(
                                "conditional flows leaving `{}` (a {}) are not supported: put \
                                 an exclusive or inclusive gateway after it and the condition \
                                 on the gateway's flow",
                                n.id,
                                n.kind.element_name()
                            ),
                        );
                    }
                }
                return;
            }
        };
        if let Some(d) = default {
            let flow = p.flow(d);
            if flow.source != idx {
                self.node(
                    DiagnosticKind::Gateway,
                    n,
                    format!(
                        "the default flow `{}` does not leave this gateway: choose one of its \
                         own outgoing flows",
                        flow.id
                    ),
                );
            }
            if flow.condition.is_some() {
                self.push(
                    DiagnosticKind::Gateway,
                    "sequenceFlow",
                    &flow.id,
                    flow.position,
                    format!(
                        "the default flow of gateway `{}` has a condition: a default flow is \
                         taken when no condition holds; remove its condition",
                        n.id
                    ),
                );
            }
        }
        if n.outgoing.len() > 1 {
            for f in &n.outgoing {
                let flow = p.flow(*f);
                if Some(*f) != default && flow.condition.is_none() {
                    self.push(
                        DiagnosticKind::Gateway,
                        "sequenceFlow",
                        &flow.id,
                        flow.position,
                        format!(
                            "the flow leaves {} `{}` with other flows but has no condition: \
                             give it a condition, or make it the gateway's default flow",
                            n.kind.element_name(),
                            n.id
                        ),
                    );
                }
            }
        }
    }
}

/// Every node reached from `roots` by `next` (roots included).
fn walk(
    roots: &[NodeIdx],
    next: impl Fn(NodeIdx) -> Vec<NodeIdx>,
) -> std::collections::HashSet<NodeIdx> {
    let mut seen: std::collections::HashSet<NodeIdx> = roots.iter().copied().collect();
    let mut queue: VecDeque<NodeIdx> = roots.iter().copied().collect();
    while let Some(i) = queue.pop_front() {
        for j in next(i) {
            if seen.insert(j) {
                queue.push_back(j);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests;
