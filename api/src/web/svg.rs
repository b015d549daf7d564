//! SVG drawn on the server: a BPMN diagram from its DI ([`diagram`]) with the live counts of
//! each step laid over it, and horizontal bar charts ([`bar_chart`]) for the IOC. Text is
//! escaped; every figure has a `<title>` so screen readers and tooltips name it.

use std::collections::HashMap;
use std::fmt::Write as _;

use motcua_definitions::diagram::{Diagram, ShapeKind};

/// Escapes text for XML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Splits `text` into lines of at most `width` characters, at spaces where it can.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// How many tasks wait at a node, and how many of them are overdue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Open tasks.
    pub open: u64,
    /// Of which overdue.
    pub overdue: u64,
}

fn text_block(out: &mut String, lines: &[String], cx: f64, cy: f64, size: f64) {
    let height = lines.len() as f64 * size * 1.2;
    let top = cy - height / 2.0 + size;
    let _ = write!(
        out,
        r##"<text x="{cx:.1}" y="{top:.1}" font-size="{size}" text-anchor="middle" fill="#1b1f24">"##
    );
    for (i, l) in lines.iter().enumerate() {
        let dy = if i == 0 { 0.0 } else { size * 1.2 };
        let _ = write!(out, r#"<tspan x="{cx:.1}" dy="{dy:.1}">{}</tspan>"#, esc(l));
    }
    out.push_str("</text>");
}

/// The diagram as an `<svg>` element; `waiting` maps node ids to their live counts (a badge
/// on the shape, red when some are overdue).
pub fn diagram(d: &Diagram, waiting: &HashMap<String, Waiting>, title: &str) -> String {
    let Some(extent) = d.extent() else {
        return String::new();
    };
    let pad = 20.0;
    let (x0, y0) = (extent.x - pad, extent.y - pad);
    let (w, h) = (extent.width + 2.0 * pad, extent.height + 2.0 * pad);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" viewBox="{x0:.1} {y0:.1} {w:.1} {h:.1}" width="{w:.0}" height="{h:.0}" role="img" aria-labelledby="svg-title" font-family="Segoe UI, Roboto, Noto Sans, Arial, sans-serif"><title id="svg-title">{}</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1b1f24"/></marker></defs>"##,
        esc(title)
    );
    // Pools and lanes first, underneath everything.
    for s in d
        .shapes
        .iter()
        .filter(|s| matches!(s.kind, ShapeKind::Participant | ShapeKind::Lane))
    {
        let b = &s.bounds;
        let fill = if s.kind == ShapeKind::Participant {
            "#ffffff"
        } else {
            "#f6f8fa"
        };
        let _ = write!(
            out,
            r##"<g class="{}" data-element="{}"><title>{}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#57606a" stroke-width="1"/>"##,
            if s.kind == ShapeKind::Participant {
                "pool"
            } else {
                "lane"
            },
            esc(&s.element),
            esc(s.name.as_deref().unwrap_or(&s.element)),
            b.x,
            b.y,
            b.width,
            b.height
        );
        if let Some(name) = &s.name {
            if s.horizontal {
                let (cx, cy) = (b.x + 15.0, b.y + b.height / 2.0);
                let _ = write!(
                    out,
                    r##"<text transform="translate({cx:.1},{cy:.1}) rotate(-90)" font-size="12" text-anchor="middle" dominant-baseline="middle" fill="#1b1f24">{}</text>"##,
                    esc(name)
                );
            } else {
                text_block(
                    &mut out,
                    std::slice::from_ref(name),
                    b.x + b.width / 2.0,
                    b.y + 15.0,
                    12.0,
                );
            }
        }
        out.push_str("</g>");
    }
    for e in &d.edges {
        let points: Vec<String> = e
            .waypoints
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let dash = if e.element_type == "sequenceFlow" {
            ""
        } else {
            r#" stroke-dasharray="6 4""#
        };
        let _ = write!(
            out,
            r##"<g class="edge" data-element="{}"><polyline points="{}" fill="none" stroke="#1b1f24" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>"##,
            esc(&e.element),
            points.join(" ")
        );
        if let Some(name) = &e.name {
            let (lx, ly) = match (&e.label, e.waypoints.first()) {
                (Some(b), _) => (b.x + b.width / 2.0, b.y + b.height / 2.0),
                (None, Some((x, y))) => (*x + 10.0, *y - 8.0),
                (None, None) => (0.0, 0.0),
            };
            text_block(&mut out, &wrap(name, 18), lx, ly, 11.0);
        }
        out.push_str("</g>");
    }
    for s in d
        .shapes
        .iter()
        .filter(|s| !matches!(s.kind, ShapeKind::Participant | ShapeKind::Lane))
    {
        let b = &s.bounds;
        let (cx, cy) = (b.x + b.width / 2.0, b.y + b.height / 2.0);
        let count = waiting.get(&s.element).copied().unwrap_or_default();
        let stroke = if count.overdue > 0 {
            "#c0392b"
        } else {
            "#1b1f24"
        };
        let name = s.name.as_deref().unwrap_or("");
        let _ = write!(
            out,
            r##"<g class="node {}" data-element="{}" data-type="{}"><title>{}{}</title>"##,
            match s.kind {
                ShapeKind::Task | ShapeKind::SubProcess => "task",
                ShapeKind::Event => "event",
                ShapeKind::Gateway => "gateway",
                _ => "other",
            },
            esc(&s.element),
            esc(&s.element_type),
            esc(if name.is_empty() { &s.element } else { name }),
            if count.open > 0 {
                format!(": {} đang chờ, {} quá hạn", count.open, count.overdue)
            } else {
                String::new()
            }
        );
        match s.kind {
            ShapeKind::Task | ShapeKind::SubProcess => {
                let fill = if count.overdue > 0 {
                    "#fdecea"
                } else {
                    "#ffffff"
                };
                let _ = write!(
                    out,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="10" ry="10" fill="{fill}" stroke="{stroke}" stroke-width="2"/>"#,
                    b.x, b.y, b.width, b.height
                );
                let width = ((b.width / 6.5) as usize).max(6);
                text_block(&mut out, &wrap(name, width), cx, cy, 12.0);
            }
            ShapeKind::Event => {
                let r = b.width.min(b.height) / 2.0;
                let width = if s.element_type == "endEvent" { 4 } else { 2 };
                let _ = write!(
                    out,
                    r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="#ffffff" stroke="{stroke}" stroke-width="{width}"/>"##
                );
                if s.element_type.starts_with("intermediate") || s.element_type == "boundaryEvent" {
                    let _ = write!(
                        out,
                        r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{:.1}" fill="none" stroke="{stroke}" stroke-width="1.5"/>"#,
                        (r - 3.0).max(1.0)
                    );
                }
                label_below(&mut out, s.label.as_ref(), name, cx, b.y + b.height);
            }
            ShapeKind::Gateway => {
                let _ = write!(
                    out,
                    r##"<polygon points="{cx:.1},{:.1} {:.1},{cy:.1} {cx:.1},{:.1} {:.1},{cy:.1}" fill="#ffffff" stroke="{stroke}" stroke-width="2"/>"##,
                    b.y,
                    b.x + b.width,
                    b.y + b.height,
                    b.x
                );
                let mark = match s.element_type.as_str() {
                    "parallelGateway" => "+",
                    "inclusiveGateway" => "○",
                    "eventBasedGateway" => "◇",
                    _ => "×",
                };
                let _ = write!(
                    out,
                    r##"<text x="{cx:.1}" y="{:.1}" font-size="22" text-anchor="middle" fill="#1b1f24">{mark}</text>"##,
                    cy + 8.0
                );
                label_below(&mut out, s.label.as_ref(), name, cx, b.y + b.height);
            }
            _ => {
                let _ = write!(
                    out,
                    r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#8c959f" stroke-dasharray="4 3"/>"##,
                    b.x, b.y, b.width, b.height
                );
                text_block(&mut out, &wrap(name, 16), cx, cy, 11.0);
            }
        }
        if count.open > 0 {
            let fill = if count.overdue > 0 {
                "#c0392b"
            } else {
                "#0b5cad"
            };
            let (bx, by) = (b.x + b.width, b.y);
            let _ = write!(
                out,
                r##"<g class="badge{}"><circle cx="{bx:.1}" cy="{by:.1}" r="12" fill="{fill}"/><text x="{bx:.1}" y="{:.1}" font-size="12" font-weight="700" text-anchor="middle" fill="#ffffff">{}</text></g>"##,
                if count.overdue > 0 { " overdue" } else { "" },
                by + 4.0,
                count.open
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

fn label_below(
    out: &mut String,
    label: Option<&motcua_definitions::diagram::Bounds>,
    name: &str,
    cx: f64,
    bottom: f64,
) {
    if name.is_empty() {
        return;
    }
    let lines = wrap(name, 20);
    match label {
        Some(b) => text_block(out, &lines, b.x + b.width / 2.0, b.y + b.height / 2.0, 11.0),
        None => {
            let height = lines.len() as f64 * 13.2;
            text_block(out, &lines, cx, bottom + 6.0 + height / 2.0, 11.0);
        }
    }
}

/// One bar of a chart.
#[derive(Debug, Clone)]
pub struct Bar {
    /// What it measures (an agency, a procedure).
    pub label: String,
    /// Its length.
    pub value: f64,
    /// The text at its end (`87 %`, `3`).
    pub text: String,
    /// Its colour.
    pub colour: &'static str,
}

/// A horizontal bar chart as an `<svg>`; `max` is the full length (100 for rates). An empty
/// chart says there is nothing to show.
pub fn bar_chart(title: &str, bars: &[Bar], max: f64) -> String {
    let (label_w, bar_w, row_h, top) = (260.0, 420.0, 28.0, 30.0);
    let height = top + row_h * bars.len().max(1) as f64 + 10.0;
    let width = label_w + bar_w + 80.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" font-family="Segoe UI, Roboto, Noto Sans, Arial, sans-serif"><title>{t}</title><text x="0" y="18" font-size="14" font-weight="700" fill="#1b1f24">{t}</text>"##,
        t = esc(title)
    );
    if bars.is_empty() {
        let _ = write!(
            out,
            r##"<text x="0" y="{:.1}" font-size="13" fill="#5a6470">Chưa có số liệu.</text>"##,
            top + 18.0
        );
    }
    let max = if max > 0.0 { max } else { 1.0 };
    for (i, bar) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let len = (bar.value.max(0.0) / max * bar_w).min(bar_w);
        let label: String = if bar.label.chars().count() > 40 {
            bar.label.chars().take(39).chain(['…']).collect()
        } else {
            bar.label.clone()
        };
        let _ = write!(
            out,
            r##"<g class="bar"><title>{}: {}</title><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#1b1f24">{}</text><rect x="{label_w}" y="{:.1}" width="{bar_w}" height="{:.1}" fill="#eef1f4"/><rect x="{label_w}" y="{:.1}" width="{len:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1f24">{}</text></g>"##,
            esc(&bar.label),
            esc(&bar.text),
            label_w - 8.0,
            y + row_h / 2.0 + 4.0,
            esc(&label),
            y + 4.0,
            row_h - 8.0,
            y + 4.0,
            row_h - 8.0,
            bar.colour,
            label_w + len + 6.0,
            y + row_h / 2.0 + 4.0,
            esc(&bar.text)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(
            wrap("Tiếp nhận và kiểm tra hồ sơ", 12),
            vec!["Tiếp nhận và", "kiểm tra hồ", "sơ"]
        );
        assert_eq!(wrap("", 5), Vec::<String>::new());
    }

    #[test]
    fn escapes_text() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn the_catalog_draws_a_shape_per_flow_node_and_marks_overdue_steps() {
        let xml = include_str!("../../../definitions/catalog/dang-ky-khai-sinh.bpmn");
        let d = motcua_definitions::diagram::read(xml).unwrap();
        let mut waiting = HashMap::new();
        waiting.insert(
            "tham-dinh".to_owned(),
            Waiting {
                open: 3,
                overdue: 1,
            },
        );
        let svg = diagram(&d, &waiting, "Đăng ký khai sinh");
        for s in d.shapes.iter().filter(|s| s.kind.is_flow_node()) {
            assert!(
                svg.contains(&format!("data-element=\"{}\"", s.element)),
                "{} is not drawn",
                s.element
            );
        }
        assert!(svg.contains("class=\"badge overdue\""));
        assert!(svg.contains(">3</text>"));
        assert!(svg.contains("Thẩm định"));
        assert_eq!(svg.matches("class=\"lane\"").count(), 3);
    }

    #[test]
    fn bar_charts_scale_and_escape() {
        let svg = bar_chart(
            "Tỷ lệ <đúng hạn>",
            &[Bar {
                label: "UBND xã".into(),
                value: 50.0,
                text: "50 %".into(),
                colour: "#1a7f37",
            }],
            100.0,
        );
        assert!(svg.contains("width=\"210.0\""), "{svg}");
        assert!(svg.contains("Tỷ lệ &lt;đúng hạn&gt;"));
        assert!(bar_chart("x", &[], 1.0).contains("Chưa có số liệu"));
    }
}
