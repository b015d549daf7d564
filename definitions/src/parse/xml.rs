//! The XML layer under the BPMN grammar: quick-xml's `NsReader` turned into owned, positioned
//! events.
//!
//! Each element start becomes an [`Element`] carrying its resolved namespace (as a [`Ns`]), its
//! local name, its attributes (namespace-resolved, unescaped) and its 1-based line and column.
//! Owning the data ends the borrow of the reader's single reused buffer at once, so the grammar
//! in `mod.rs` can call back into the reader (to skip a subtree) from any match arm.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::diagnostic::Position;

/// The namespaces the grammar tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// BPMN 2.0 model.
    Bpmn,
    /// motcua's own extension namespace.
    Motcua,
    /// Camunda 7.
    Camunda,
    /// Zeebe (Camunda 8).
    Zeebe,
    /// No namespace (unprefixed attributes, or elements of a document without `xmlns`).
    None,
    /// Anything else: diagram interchange, other vendors.
    Other,
}

impl Ns {
    fn of(resolved: &ResolveResult) -> Ns {
        match resolved {
            ResolveResult::Bound(ns) => match ns.as_ref() {
                b if b == crate::BPMN_NS.as_bytes() => Ns::Bpmn,
                b if b == crate::MOTCUA_NS.as_bytes() => Ns::Motcua,
                b if b == crate::CAMUNDA_NS.as_bytes() => Ns::Camunda,
                b if b == crate::ZEEBE_NS.as_bytes() => Ns::Zeebe,
                _ => Ns::Other,
            },
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(_) => Ns::Other,
        }
    }
}

/// One attribute of an element.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub ns: Ns,
    pub local: String,
    pub value: String,
}

/// An element start (an empty element is reported as a start followed by an end).
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub ns: Ns,
    pub local: String,
    /// The qualified name as written, needed to skip the element's subtree.
    pub qname: Vec<u8>,
    pub attrs: Vec<Attr>,
    pub position: Position,
}

impl Element {
    /// The value of an attribute in namespace `ns` (use [`Ns::None`] for plain BPMN attributes).
    pub fn attr(&self, ns: Ns, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// The `id` attribute.
    pub fn id(&self) -> Option<&str> {
        self.attr(Ns::None, "id")
    }

    /// Whether this is the BPMN element `local`.
    pub fn is_bpmn(&self, local: &str) -> bool {
        self.ns == Ns::Bpmn && self.local == local
    }
}

/// An owned XML event.
#[derive(Debug)]
pub(crate) enum Ev {
    Start(Element),
    End,
    /// Character data (text or CDATA), unescaped.
    Text(String),
    Eof,
}

/// An XML error: the message and where it was found.
#[derive(Debug)]
pub(crate) struct XmlError {
    pub message: String,
    pub position: Position,
}

/// Maps byte offsets of the input to 1-based lines and columns (columns count characters).
pub(crate) struct LineIndex<'a> {
    text: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    pub fn position(&self, offset: u64) -> Position {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let chars = self.text[start..offset]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        Position {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(chars + 1).unwrap_or(u32::MAX),
        }
    }
}

/// The event pump: one `NsReader`, one reused buffer.
pub(crate) struct Pump<'a> {
    reader: NsReader<&'a [u8]>,
    buf: Vec<u8>,
    lines: LineIndex<'a>,
}

impl<'a> Pump<'a> {
    pub fn new(xml: &'a [u8]) -> Self {
        let mut reader = NsReader::from_reader(xml);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        // Text is not trimmed: a whitespace text event leaves the reader just past the next `<`,
        // so `buffer_position()` before every read is exactly where the next element starts.
        config.trim_text(false);
        Pump {
            reader,
            buf: Vec::new(),
            lines: LineIndex::new(xml),
        }
    }

    /// The position of a byte offset.
    pub fn position(&self, offset: u64) -> Position {
        self.lines.position(offset)
    }

    fn error(&self, message: String) -> XmlError {
        XmlError {
            message,
            position: self.lines.position(self.reader.error_position()),
        }
    }

    /// Reads the next event that matters to the grammar (declarations, comments, processing
    /// instructions and doctypes are passed over).
    pub fn next(&mut self) -> Result<Ev, XmlError> {
        loop {
            self.buf.clear();
            let offset = self.reader.buffer_position();
            let (resolved, event) = match self.reader.read_resolved_event_into(&mut self.buf) {
                Ok(x) => x,
                Err(e) => {
                    let message = e.to_string();
                    return Err(self.error(message));
                }
            };
            let element_ns = Ns::of(&resolved);
            let ev = match event {
                Event::Start(start) => {
                    let position = self.lines.position(offset);
                    let mut attrs = Vec::new();
                    for attr in start.attributes() {
                        let attr = match attr {
                            Ok(a) => a,
                            Err(e) => {
                                return Err(XmlError {
                                    message: format!("bad attribute: {e}"),
                                    position,
                                })
                            }
                        };
                        let key = attr.key;
                        if key.as_namespace_binding().is_some() {
                            continue;
                        }
                        let (ns, local) = self.reader.resolve_attribute(key);
                        let value = attr.unescape_value().map_err(|e| XmlError {
                            message: format!("bad attribute value: {e}"),
                            position,
                        })?;
                        attrs.push(Attr {
                            ns: Ns::of(&ns),
                            local: String::from_utf8_lossy(local.as_ref()).into_owned(),
                            value: value.into_owned(),
                        });
                    }
                    Ev::Start(Element {
                        ns: element_ns,
                        local: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                        qname: start.name().as_ref().to_vec(),
                        attrs,
                        position,
                    })
                }
                Event::End(_) => Ev::End,
                Event::Text(text) => {
                    let position = self.lines.position(offset);
                    let text = text.unescape().map_err(|e| XmlError {
                        message: format!("bad text: {e}"),
                        position,
                    })?;
                    Ev::Text(text.into_owned())
                }
                Event::CData(data) => {
                    let position = self.lines.position(offset);
                    let text = data.decode().map_err(|e| XmlError {
                        message: format!("bad CDATA: {e}"),
                        position,
                    })?;
                    Ev::Text(text.into_owned())
                }
                Event::Eof => Ev::Eof,
                // With `expand_empty_elements` the reader never yields `Empty`.
                Event::Empty(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_)
                | Event::DocType(_) => continue,
            };
            return Ok(ev);
        }
    }

    /// Skips the subtree of an element whose start was just read.
    pub fn skip(&mut self, element: &Element) -> Result<(), XmlError> {
        self.buf.clear();
        let name = quick_xml::name::QName(&element.qname);
        match self.reader.read_to_end_into(name, &mut self.buf) {
            Ok(_) => Ok(()),
            Err(e) => {
                let message = e.to_string();
                Err(self.error(message))
            }
        }
    }
}
