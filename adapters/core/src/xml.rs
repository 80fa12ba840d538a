//! XML in and out.
//!
//! Reading: answers from remote services and requests to the simulators are untrusted.
//! [`parse`] builds a small element tree under limits (bytes, depth, element count), refuses
//! any DOCTYPE (so no entity can be declared, let alone expanded) and any reference to an
//! undeclared entity. Namespaces are resolved: elements are matched by (namespace, local
//! name), never by prefix.
//!
//! Writing: [`XmlWriter`] emits documents with quick-xml's escaping of text and attribute
//! values.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Bounds applied while reading untrusted XML.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_elements: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooManyElements(usize),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("reference to an undeclared entity &{0};")]
    UnknownEntity(String),
    #[error("no root element")]
    Empty,
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
}

/// An element: its resolved namespace, local name, attributes (by local name), children
/// and the concatenation of its own text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// Whether this element is `{namespace}name`.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(namespace)
    }

    /// The first child `{namespace}name`.
    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(namespace, name))
    }

    /// Every child `{namespace}name`, in order.
    pub fn children<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.is(namespace, name))
    }

    /// The first descendant `{namespace}name`, depth first.
    pub fn find(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| {
            if c.is(namespace, name) {
                Some(c)
            } else {
                c.find(namespace, name)
            }
        })
    }

    /// The text of the first child `{namespace}name`, trimmed.
    pub fn child_text(&self, namespace: &str, name: &str) -> Option<&str> {
        self.child(namespace, name).map(|c| c.text.trim())
    }

    /// An attribute by local name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an untrusted document into its root element.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut buffer = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut elements = 0usize;
    loop {
        let position = reader.buffer_position();
        let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed {
            position,
            message: e.to_string(),
        };
        let (namespace, event) = reader
            .read_resolved_event_into(&mut buffer)
            .map_err(|e| malformed(&e))?;
        let namespace = match namespace {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(malformed(&format!("undeclared namespace prefix {prefix}")));
            }
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(malformed(&"content after the root element"));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let element = element(start, namespace).map_err(|e| match e {
                    AttributeError::Entity(name) => XmlError::UnknownEntity(name),
                    AttributeError::Other(message) => XmlError::Malformed { position, message },
                })?;
                if matches!(event, Event::Empty(_)) {
                    close(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => match stack.pop() {
                Some(element) => close(&mut stack, &mut root, element),
                None => return Err(malformed(&"closing tag without an opening one")),
            },
            Event::Text(text) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text.xml10_content());
                } else if !text.trim().is_empty() {
                    return Err(malformed(&"text outside the root element"));
                }
            }
            Event::CData(data) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&data);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)
                    .ok_or_else(|| XmlError::UnknownEntity(reference.as_ref().to_string()))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push(resolved);
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        buffer.clear();
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed {
            position: reader.buffer_position(),
            message: "unclosed element at end of input".into(),
        });
    }
    root.ok_or(XmlError::Empty)
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

enum AttributeError {
    Entity(String),
    Other(String),
}

fn element(start: &BytesStart<'_>, namespace: Option<String>) -> Result<Element, AttributeError> {
    let name = start.local_name().as_ref().to_string();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| AttributeError::Other(e.to_string()))?;
        let key = attribute.key;
        if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("entity") {
                    AttributeError::Entity(text)
                } else {
                    AttributeError::Other(text)
                }
            })?;
        let local = key.local_name().as_ref().to_string();
        attributes.push((local, value.into_owned()));
    }
    Ok(Element {
        namespace,
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

/// The five predefined entities and character references; nothing else exists without a
/// DTD, and DTDs are refused.
pub fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten();
    }
    match reference.as_ref() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

/// Writes XML straight into its buffer, escaping with quick-xml's escapes. Element and
/// attribute names are given qualified (`prefix:local`); namespaces are declared as
/// `xmlns` attributes by the caller.
///
/// The bytes are those quick-xml's `Writer` gives for the same events, without building
/// an event per element: a document of a thousand elements is written with no
/// allocation beyond its buffer and the few values that need escaping.
pub struct XmlWriter {
    out: Vec<u8>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter {
            out: Vec::with_capacity(8 * 1024),
        }
    }

    /// Starts the document with `<?xml version="1.0" encoding="UTF-8"?>`.
    pub fn declaration(&mut self) -> &mut Self {
        self.out
            .extend_from_slice(br#"<?xml version="1.0" encoding="UTF-8"?>"#);
        self
    }

    pub fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attributes);
        self.out.push(b'>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
        self
    }

    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attributes);
        self.out.extend_from_slice(b"/>");
        self
    }

    /// `<name attributes>text</name>`.
    pub fn leaf(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) -> &mut Self {
        self.open(name, attributes).text(text).close(name)
    }

    /// Text content, escaping `<`, `>` and `&` (quotes need no escaping in content).
    pub fn text(&mut self, text: &str) -> &mut Self {
        let escaped = quick_xml::escape::partial_escape(text);
        self.out.extend_from_slice(escaped.as_bytes());
        self
    }

    /// Appends already-serialised XML (a signed fragment that must stay byte-identical).
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.out.extend_from_slice(xml.as_bytes());
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// `<name k="v"...`: attribute values escaped, quotes included.
    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        for (key, value) in attributes {
            self.out.push(b' ');
            self.out.extend_from_slice(key.as_bytes());
            self.out.extend_from_slice(b"=\"");
            self.out.extend_from_slice(escape(value).as_bytes());
            self.out.push(b'"');
        }
    }
}

/// Escapes text for XML content or attribute values.
pub fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:example";

    #[test]
    fn namespaces_are_resolved_whatever_the_prefix() {
        let a = parse(
            br#"<a:root xmlns:a="urn:example"><a:item k="v">x &amp; y</a:item></a:root>"#,
            Limits::default(),
        )
        .unwrap();
        let b = parse(
            br#"<root xmlns="urn:example"><item k="v">x &#38; y</item></root>"#,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.child_text(NS, "item"), Some("x & y"));
        assert_eq!(a.child(NS, "item").unwrap().attribute("k"), Some("v"));
        assert!(a.child("urn:other", "item").is_none());
    }

    #[test]
    fn entity_tricks_are_refused() {
        let billion_laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert_eq!(
            parse(billion_laughs, Limits::default()),
            Err(XmlError::Doctype)
        );
        let external = br#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"#;
        assert_eq!(parse(external, Limits::default()), Err(XmlError::Doctype));
        assert!(matches!(
            parse(b"<x>&undeclared;</x>", Limits::default()),
            Err(XmlError::UnknownEntity(_))
        ));
    }

    #[test]
    fn limits_hold() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(
            parse(deep.as_bytes(), Limits::default()),
            Err(XmlError::TooDeep(64))
        );
        let wide = format!("<r>{}</r>", "<i/>".repeat(20));
        let limits = Limits {
            max_elements: 10,
            ..Limits::default()
        };
        assert_eq!(
            parse(wide.as_bytes(), limits),
            Err(XmlError::TooManyElements(10))
        );
        let limits = Limits {
            max_bytes: 8,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"<root>too long</root>", limits),
            Err(XmlError::TooLarge(8))
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        for input in [
            &b""[..],
            b"<a>",
            b"<a></b>",
            b"</a>",
            b"<a/><b/>",
            b"text",
            b"<p:a/>",
            &[0xff, 0xfe, 0x00],
        ] {
            assert!(parse(input, Limits::default()).is_err(), "{input:?}");
        }
    }

    #[test]
    fn writer_escapes_and_reads_back() {
        let mut w = XmlWriter::new();
        w.declaration()
            .open(
                "e:doc",
                &[("xmlns:e", NS), ("note", "a \"quoted\" <value>")],
            )
            .leaf("e:item", &[], "D'AEION & <co>")
            .empty("e:flag", &[("on", "true")])
            .close("e:doc");
        let bytes = w.finish();
        let root = parse(&bytes, Limits::default()).unwrap();
        assert!(root.is(NS, "doc"));
        assert_eq!(root.attribute("note"), Some("a \"quoted\" <value>"));
        assert_eq!(root.child_text(NS, "item"), Some("D'AEION & <co>"));
        assert_eq!(
            root.child(NS, "flag").unwrap().attribute("on"),
            Some("true")
        );
    }

    #[test]
    fn writer_gives_the_bytes_of_quick_xml_events() {
        use quick_xml::Writer;
        use quick_xml::events::{BytesDecl, BytesEnd, BytesText};

        let attributes = [("xmlns:e", NS), ("note", "l'\"a\" <b> & c")];
        let mut w = XmlWriter::new();
        w.declaration()
            .open("e:doc", &attributes)
            .leaf("e:item", &[], "D'AEION & <co> \"x\"")
            .empty("e:flag", &[("on", "true")])
            .raw("<e:kept a='1'/>")
            .close("e:doc");

        let mut events = Writer::new(Vec::new());
        let start = |name| BytesStart::new(name).with_attributes(attributes.iter().copied());
        for event in [
            Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
            Event::Start(start("e:doc")),
            Event::Start(BytesStart::new("e:item")),
            Event::Text(BytesText::from_escaped(quick_xml::escape::partial_escape(
                "D'AEION & <co> \"x\"",
            ))),
            Event::End(BytesEnd::new("e:item")),
            Event::Empty(BytesStart::new("e:flag").with_attributes([("on", "true")])),
        ] {
            events.write_event(event).unwrap();
        }
        events.get_mut().extend_from_slice(b"<e:kept a='1'/>");
        events
            .write_event(Event::End(BytesEnd::new("e:doc")))
            .unwrap();
        assert_eq!(
            String::from_utf8(w.finish()).unwrap(),
            String::from_utf8(events.into_inner()).unwrap()
        );
    }
}
