//! BPMN DI: where a modeler drew each element, for drawing a deployed process again.
//!
//! [`read`] walks the XML text once with quick-xml's plain `Reader` and keeps two things: every
//! semantic element that has an `id` (its local name, e.g. `userTask`, and its `name`), and the
//! diagram interchange — each `BPMNShape` with its `dc:Bounds` (and its label's bounds), each
//! `BPMNEdge` with its `di:waypoint`s. Shapes and edges are joined to their elements by
//! `bpmnElement`. It is separate from [`crate::parse`] on purpose: execution never needs the
//! drawing, and a file whose DI is odd still deploys.
//!
//! Pure: text in, a [`Diagram`] out; no I/O, no clock. Prefixes do not matter (local names are
//! matched), so files from bpmn-js, Camunda Modeler and hand-written ones read alike.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// A rectangle in diagram coordinates (pixels of the modeler, y downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// What kind of figure a shape is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// Any task (user, service, script, call activity...): a rounded rectangle.
    Task,
    /// An expanded or collapsed sub-process: a rounded rectangle too.
    SubProcess,
    /// Start, end, intermediate and boundary events: a circle.
    Event,
    /// Any gateway: a diamond.
    Gateway,
    /// A pool.
    Participant,
    /// A lane inside a pool.
    Lane,
    /// Data objects, stores, annotations and anything else.
    Other,
}

impl ShapeKind {
    fn of(element: &str) -> ShapeKind {
        match element {
            "participant" => ShapeKind::Participant,
            "lane" => ShapeKind::Lane,
            "subProcess" | "transaction" | "adHocSubProcess" => ShapeKind::SubProcess,
            e if e.ends_with("Task") || e == "task" || e == "callActivity" => ShapeKind::Task,
            e if e.ends_with("Event") => ShapeKind::Event,
            e if e.ends_with("Gateway") => ShapeKind::Gateway,
            _ => ShapeKind::Other,
        }
    }

    /// Whether an element of this kind is a flow node that tokens wait at.
    pub fn is_flow_node(self) -> bool {
        matches!(
            self,
            ShapeKind::Task | ShapeKind::SubProcess | ShapeKind::Event | ShapeKind::Gateway
        )
    }
}

/// One drawn element.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// The id of the element it draws (`bpmnElement`).
    pub element: String,
    /// The element's local name (`userTask`, `endEvent`, `lane`...); empty when the element is
    /// not in the file.
    pub element_type: String,
    /// How it is drawn.
    pub kind: ShapeKind,
    /// The element's `name`.
    pub name: Option<String>,
    /// Where.
    pub bounds: Bounds,
    /// Where its label goes, when the modeler placed it.
    pub label: Option<Bounds>,
    /// Pools and lanes: drawn horizontally (the default for bpmn-js).
    pub horizontal: bool,
}

/// One drawn connection (a sequence flow, a message flow, an association).
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The id of the element it draws.
    pub element: String,
    /// The element's local name (`sequenceFlow`, `messageFlow`, `association`).
    pub element_type: String,
    /// The element's `name`.
    pub name: Option<String>,
    /// The path, at least two points.
    pub waypoints: Vec<(f64, f64)>,
    /// Where its label goes, when the modeler placed it.
    pub label: Option<Bounds>,
}

/// The first diagram of a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    /// Shapes in document order (pools and lanes usually first).
    pub shapes: Vec<Shape>,
    /// Edges in document order.
    pub edges: Vec<Edge>,
}

impl Diagram {
    /// The smallest rectangle holding every shape, waypoint and label; `None` when empty.
    pub fn extent(&self) -> Option<Bounds> {
        let mut points = Vec::new();
        for s in &self.shapes {
            for b in std::iter::once(&s.bounds).chain(s.label.as_ref()) {
                points.push((b.x, b.y));
                points.push((b.x + b.width, b.y + b.height));
            }
        }
        for e in &self.edges {
            points.extend(e.waypoints.iter().copied());
            if let Some(b) = &e.label {
                points.push((b.x, b.y));
                points.push((b.x + b.width, b.y + b.height));
            }
        }
        let (first, rest) = points.split_first()?;
        let (mut x0, mut y0, mut x1, mut y1) = (first.0, first.1, first.0, first.1);
        for (x, y) in rest {
            x0 = x0.min(*x);
            y0 = y0.min(*y);
            x1 = x1.max(*x);
            y1 = y1.max(*y);
        }
        Some(Bounds {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        })
    }
}

/// Why a diagram could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiagramError {
    /// The text is not well-formed XML.
    #[error("the XML is not well-formed at byte {position}: {message}")]
    Xml {
        /// Byte offset.
        position: u64,
        /// The reader's message.
        message: String,
    },
    /// The file has no BPMN DI (no `BPMNShape`): a modeler did not draw it.
    #[error("the file has no diagram (no BPMNDiagram with shapes)")]
    NoDiagram,
    /// A coordinate is not a finite number.
    #[error("element {element}: '{value}' is not a coordinate")]
    BadNumber {
        /// The DI element's `bpmnElement` (or `?`).
        element: String,
        /// The text.
        value: String,
    },
}

/// Where the reader is inside the DI.
enum Within {
    Nothing,
    Shape(Shape),
    Edge(Edge),
}

/// Reads the first `BPMNDiagram` of a BPMN file.
pub fn read(xml: &str) -> Result<Diagram, DiagramError> {
    let mut reader = Reader::from_str(xml);
    let mut elements: HashMap<String, (String, Option<String>)> = HashMap::new();
    let mut diagram = Diagram::default();
    let mut within = Within::Nothing;
    let mut in_label = false;
    let mut diagrams_seen = 0u32;
    let mut in_diagram = false;
    loop {
        let event = reader.read_event().map_err(|e| DiagramError::Xml {
            position: reader.buffer_position(),
            message: e.to_string(),
        })?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let local = local_name(e);
            match local.as_str() {
                "BPMNDiagram" => {
                    diagrams_seen += 1;
                    in_diagram = diagrams_seen == 1 && !empty;
                }
                "BPMNShape" if in_diagram => {
                    let element = attr(e, "bpmnElement").unwrap_or_default();
                    let shape = Shape {
                        element,
                        element_type: String::new(),
                        kind: ShapeKind::Other,
                        name: None,
                        bounds: Bounds {
                            x: 0.0,
                            y: 0.0,
                            width: 0.0,
                            height: 0.0,
                        },
                        label: None,
                        horizontal: attr(e, "isHorizontal").as_deref() != Some("false"),
                    };
                    if empty {
                        diagram.shapes.push(shape);
                    } else {
                        within = Within::Shape(shape);
                    }
                }
                "BPMNEdge" if in_diagram => {
                    let edge = Edge {
                        element: attr(e, "bpmnElement").unwrap_or_default(),
                        element_type: String::new(),
                        name: None,
                        waypoints: Vec::new(),
                        label: None,
                    };
                    if empty {
                        diagram.edges.push(edge);
                    } else {
                        within = Within::Edge(edge);
                    }
                }
                "BPMNLabel" => in_label = !empty,
                "Bounds" => {
                    let element = match &within {
                        Within::Shape(s) => s.element.clone(),
                        Within::Edge(e) => e.element.clone(),
                        Within::Nothing => String::new(),
                    };
                    let bounds = bounds(e, &element)?;
                    match (&mut within, in_label) {
                        (Within::Shape(s), false) => s.bounds = bounds,
                        (Within::Shape(s), true) => s.label = Some(bounds),
                        (Within::Edge(edge), true) => edge.label = Some(bounds),
                        _ => {}
                    }
                }
                "waypoint" => {
                    if let Within::Edge(edge) = &mut within {
                        let x = number(e, "x", &edge.element)?;
                        let y = number(e, "y", &edge.element)?;
                        edge.waypoints.push((x, y));
                    }
                }
                _ if !in_diagram => {
                    if let Some(id) = attr(e, "id") {
                        elements.insert(id, (local, attr(e, "name")));
                    }
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::End(e) => match e.local_name().as_ref() {
                b"BPMNShape" => {
                    if let Within::Shape(s) = std::mem::replace(&mut within, Within::Nothing) {
                        diagram.shapes.push(s);
                    }
                }
                b"BPMNEdge" => {
                    if let Within::Edge(edge) = std::mem::replace(&mut within, Within::Nothing) {
                        diagram.edges.push(edge);
                    }
                }
                b"BPMNLabel" => in_label = false,
                b"BPMNDiagram" => in_diagram = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if diagram.shapes.is_empty() {
        return Err(DiagramError::NoDiagram);
    }
    for s in &mut diagram.shapes {
        if let Some((kind, name)) = elements.get(&s.element) {
            s.kind = ShapeKind::of(kind);
            s.element_type = kind.clone();
            s.name = name.clone().filter(|n| !n.trim().is_empty());
        }
    }
    for e in &mut diagram.edges {
        if let Some((kind, name)) = elements.get(&e.element) {
            e.element_type = kind.clone();
            e.name = name.clone().filter(|n| !n.trim().is_empty());
        }
    }
    diagram.edges.retain(|e| e.waypoints.len() >= 2);
    Ok(diagram)
}

fn local_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == name.as_bytes())
            .then(|| a.unescape_value().ok().map(|v| v.into_owned()))
            .flatten()
    })
}

fn number(e: &BytesStart<'_>, name: &str, element: &str) -> Result<f64, DiagramError> {
    let text = attr(e, name).unwrap_or_default();
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(DiagramError::BadNumber {
            element: if element.is_empty() { "?" } else { element }.to_owned(),
            value: text,
        }),
    }
}

fn bounds(e: &BytesStart<'_>, element: &str) -> Result<Bounds, DiagramError> {
    Ok(Bounds {
        x: number(e, "x", element)?,
        y: number(e, "y", element)?,
        width: number(e, "width", element)?,
        height: number(e, "height", element)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d">
  <process id="p" isExecutable="true">
    <startEvent id="s" name="Bắt đầu"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t" name="đi"/>
    <userTask id="t" name="Thẩm định"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="g"/>
    <exclusiveGateway id="g"/>
  </process>
  <bpmndi:BPMNDiagram id="dia">
    <bpmndi:BPMNPlane id="plane" bpmnElement="p">
      <bpmndi:BPMNShape id="s_di" bpmnElement="s">
        <dc:Bounds x="10" y="20" width="36" height="36"/>
        <bpmndi:BPMNLabel><dc:Bounds x="5" y="60" width="50" height="14"/></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="100" y="0" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="g_di" bpmnElement="g" isMarkerVisible="true"><dc:Bounds x="250" y="15" width="50" height="50"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="46" y="38"/><di:waypoint x="100" y="40"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="200" y="40"/><di:waypoint x="250.5" y="40"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</definitions>"#;

    /// One data-driven check: the shapes as `id kind name x,y,w,h`, the edges as `id (x,y)...`.
    fn check(xml: &str, shapes: &[&str], edges: &[&str]) {
        let d = read(xml).unwrap();
        let got: Vec<String> = d
            .shapes
            .iter()
            .map(|s| {
                format!(
                    "{} {:?} {} {},{},{},{}",
                    s.element,
                    s.kind,
                    s.name.as_deref().unwrap_or("-"),
                    s.bounds.x,
                    s.bounds.y,
                    s.bounds.width,
                    s.bounds.height
                )
            })
            .collect();
        assert_eq!(got, shapes);
        let got: Vec<String> = d
            .edges
            .iter()
            .map(|e| {
                let points: Vec<String> = e
                    .waypoints
                    .iter()
                    .map(|(x, y)| format!("({x},{y})"))
                    .collect();
                format!("{} {}", e.element, points.join(""))
            })
            .collect();
        assert_eq!(got, edges);
    }

    #[test]
    fn reads_shapes_edges_and_names() {
        check(
            SMALL,
            &[
                "s Event Bắt đầu 10,20,36,36",
                "t Task Thẩm định 100,0,100,80",
                "g Gateway - 250,15,50,50",
            ],
            &["f1 (46,38)(100,40)", "f2 (200,40)(250.5,40)"],
        );
        let d = read(SMALL).unwrap();
        assert_eq!(
            d.shapes[0].label,
            Some(Bounds {
                x: 5.0,
                y: 60.0,
                width: 50.0,
                height: 14.0
            })
        );
        assert_eq!(d.edges[0].name.as_deref(), Some("đi"));
        let extent = d.extent().unwrap();
        assert_eq!((extent.x, extent.y, extent.width), (5.0, 0.0, 295.0));
    }

    #[test]
    fn a_file_without_di_says_so() {
        let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p"><startEvent id="s"/></process></definitions>"#;
        assert_eq!(read(xml), Err(DiagramError::NoDiagram));
    }

    #[test]
    fn bad_numbers_and_bad_xml_are_errors_not_panics() {
        let bad = SMALL.replace("x=\"10\"", "x=\"mười\"");
        assert!(matches!(read(&bad), Err(DiagramError::BadNumber { .. })));
        assert!(matches!(
            read("<definitions><process></definitions>"),
            Err(DiagramError::Xml { .. })
        ));
    }

    #[test]
    fn the_birth_registration_catalog_has_lanes_and_every_flow_node() {
        let xml = include_str!("../catalog/dang-ky-khai-sinh.bpmn");
        let d = read(xml).unwrap();
        let kinds = |k: ShapeKind| d.shapes.iter().filter(|s| s.kind == k).count();
        assert_eq!(kinds(ShapeKind::Participant), 1);
        assert_eq!(kinds(ShapeKind::Lane), 3);
        assert!(kinds(ShapeKind::Task) >= 5);
        assert!(kinds(ShapeKind::Event) >= 2);
        assert!(kinds(ShapeKind::Gateway) >= 1);
        assert!(d.edges.iter().all(|e| e.element_type == "sequenceFlow"
            || e.element_type == "messageFlow"
            || e.element_type == "association"));
    }
}
