//! Exclusive XML canonicalisation (`http://www.w3.org/2001/10/xml-exc-c14n#`, without
//! comments) of one element of a document, as XML-DSig signs and verifies it.
//!
//! The element is chosen inside the whole document so that namespaces declared by its
//! ancestors are known; the enveloped-signature transform is the option to leave out a
//! `ds:Signature` subtree. Only namespaces an element or its attributes use are rendered,
//! where an output ancestor has not rendered them already.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Which element to canonicalise.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The element whose `ID` (or `Id`, `id`) attribute has this value.
    Id(&'a str),
    /// The first element with this namespace and local name.
    Named(&'a str, &'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("the element to canonicalise was not found")]
    NotFound,
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("undeclared namespace prefix {0:?}")]
    Prefix(String),
}

struct Scope {
    /// Declarations made on this element of the input: (prefix, uri).
    declared: Vec<(String, String)>,
    /// Declarations rendered on this element of the output.
    rendered: Vec<(String, String)>,
}

/// Canonicalises the target element. `exclude_signature`: leave out `ds:Signature`
/// children (the enveloped-signature transform).
pub fn canonicalize(
    xml: &[u8],
    target: Target<'_>,
    exclude_signature: bool,
) -> Result<Vec<u8>, C14nError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut buffer = Vec::new();
    let mut scopes: Vec<Scope> = Vec::new();
    let mut out = Vec::with_capacity(xml.len());
    // Depth (in `scopes`) at which the target started, while inside it.
    let mut inside: Option<usize> = None;
    // Depth at which an excluded subtree started.
    let mut skipping: Option<usize> = None;
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| C14nError::Malformed(e.to_string()))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                let declared = declarations(start)?;
                scopes.push(Scope {
                    declared,
                    rendered: Vec::new(),
                });
                let depth = scopes.len();
                if inside.is_none() && is_target(start, &scopes, target)? {
                    inside = Some(depth);
                }
                if let Some(apex) = inside
                    && skipping.is_none()
                {
                    if exclude_signature
                        && depth > apex
                        && resolve(&scopes, prefix_of(start.name().as_ref()))? == Some(DSIG)
                        && local(start.name().as_ref()) == "Signature"
                    {
                        skipping = Some(depth);
                    } else {
                        write_start(&mut out, start, &mut scopes, apex)?;
                        if empty {
                            write_end(&mut out, start.name().as_ref());
                        }
                    }
                }
                if empty {
                    close(&mut scopes, &mut inside, &mut skipping);
                    if inside.is_none() && !out.is_empty() {
                        return Ok(out);
                    }
                }
            }
            Event::End(end) => {
                if inside.is_some() && skipping.is_none() {
                    write_end(&mut out, end.name().as_ref());
                }
                close(&mut scopes, &mut inside, &mut skipping);
                if inside.is_none() && !out.is_empty() {
                    return Ok(out);
                }
            }
            Event::Text(text) => {
                if inside.is_some() && skipping.is_none() {
                    escape_text(&mut out, &text.xml10_content());
                }
            }
            Event::CData(data) => {
                if inside.is_some() && skipping.is_none() {
                    escape_text(&mut out, &data);
                }
            }
            Event::GeneralRef(reference) => {
                if inside.is_some() && skipping.is_none() {
                    let resolved = crt_core::xml::resolve_reference(&reference);
                    let c = resolved.ok_or_else(|| {
                        C14nError::Malformed(format!("unknown entity &{};", reference.as_ref()))
                    })?;
                    escape_text(&mut out, c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::DocType(_) => return Err(C14nError::Doctype),
            Event::Eof => return Err(C14nError::NotFound),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
        buffer.clear();
    }
}

fn close(scopes: &mut Vec<Scope>, inside: &mut Option<usize>, skipping: &mut Option<usize>) {
    let depth = scopes.len();
    if *skipping == Some(depth) {
        *skipping = None;
    }
    if *inside == Some(depth) {
        *inside = None;
    }
    scopes.pop();
}

fn prefix_of(name: &str) -> &str {
    name.split_once(':').map_or("", |(prefix, _)| prefix)
}

fn local(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, local)| local)
}

/// The namespace a prefix has in scope (`""` for the default namespace).
fn resolve<'a>(scopes: &'a [Scope], prefix: &str) -> Result<Option<&'a str>, C14nError> {
    for scope in scopes.iter().rev() {
        if let Some((_, uri)) = scope.declared.iter().find(|(p, _)| p == prefix) {
            return Ok((!uri.is_empty()).then_some(uri.as_str()));
        }
    }
    if prefix.is_empty() || prefix == "xml" {
        Ok(None)
    } else {
        Err(C14nError::Prefix(prefix.to_string()))
    }
}

fn declarations(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, C14nError> {
    let mut declared = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| C14nError::Malformed(e.to_string()))?;
        let key = attribute.key.as_ref();
        let value = || {
            attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .map_err(|e| C14nError::Malformed(e.to_string()))
        };
        if key == "xmlns" {
            declared.push((String::new(), value()?));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            declared.push((prefix.to_string(), value()?));
        }
    }
    Ok(declared)
}

fn is_target(
    start: &BytesStart<'_>,
    scopes: &[Scope],
    target: Target<'_>,
) -> Result<bool, C14nError> {
    match target {
        Target::Id(id) => {
            for attribute in start.attributes().flatten() {
                if matches!(attribute.key.as_ref(), "ID" | "Id" | "id")
                    && attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()
                        .as_deref()
                        == Some(id)
                {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Target::Named(namespace, name) => {
            let element = start.name();
            Ok(local(element.as_ref()) == name
                && resolve(scopes, prefix_of(element.as_ref()))? == Some(namespace))
        }
    }
}

/// Whether an output ancestor rendered `prefix` with `uri` (the nearest rendering wins).
fn rendered_in_output(scopes: &[Scope], apex: usize, prefix: &str, uri: &str) -> bool {
    for scope in scopes[apex - 1..scopes.len() - 1].iter().rev() {
        if let Some((_, rendered)) = scope.rendered.iter().find(|(p, _)| p == prefix) {
            return rendered == uri;
        }
    }
    // Above the apex nothing is rendered; the empty default namespace needs no rendering.
    prefix.is_empty() && uri.is_empty()
}

fn write_start(
    out: &mut Vec<u8>,
    start: &BytesStart<'_>,
    scopes: &mut [Scope],
    apex: usize,
) -> Result<(), C14nError> {
    let name = start.name();
    let name = name.as_ref();
    let mut attributes: Vec<(String, String, String)> = Vec::new(); // (uri, qname, value)
    let mut used = vec![prefix_of(name).to_string()];
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| C14nError::Malformed(e.to_string()))?;
        let key = attribute.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let prefix = prefix_of(key);
        let uri = if prefix.is_empty() {
            String::new()
        } else {
            used.push(prefix.to_string());
            if prefix == "xml" {
                "http://www.w3.org/XML/1998/namespace".to_string()
            } else {
                resolve(scopes, prefix)?.unwrap_or_default().to_string()
            }
        };
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| C14nError::Malformed(e.to_string()))?
            .into_owned();
        attributes.push((uri, key.to_string(), value));
    }
    used.sort();
    used.dedup();
    let mut namespaces = Vec::new();
    for prefix in used.iter().filter(|p| p.as_str() != "xml") {
        let uri = resolve(scopes, prefix)?.unwrap_or_default().to_string();
        if !rendered_in_output(scopes, apex, prefix, &uri) {
            namespaces.push((prefix.clone(), uri));
        }
    }
    attributes.sort_by(|a, b| (a.0.as_str(), local(&a.1)).cmp(&(b.0.as_str(), local(&b.1))));
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    for (prefix, uri) in &namespaces {
        if prefix.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attribute(out, uri);
        out.push(b'"');
    }
    for (_, qname, value) in &attributes {
        out.push(b' ');
        out.extend_from_slice(qname.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attribute(out, value);
        out.push(b'"');
    }
    out.push(b'>');
    if let Some(scope) = scopes.last_mut() {
        scope.rendered = namespaces;
    }
    Ok(())
}

fn write_end(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

fn escape_text(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

fn escape_attribute(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, target: Target<'_>, exclude: bool) -> String {
        String::from_utf8(canonicalize(xml.as_bytes(), target, exclude).unwrap()).unwrap()
    }

    #[test]
    fn ancestors_namespaces_are_rendered_only_where_used() {
        let doc = r#"<e:Envelope xmlns:e="urn:e" xmlns:s="urn:s" xmlns:unused="urn:u"><e:Body><s:A ID="a1" z="2" a="1"><s:B/>text &amp; more<C xmlns="urn:d"/></s:A></e:Body></e:Envelope>"#;
        assert_eq!(
            c14n(doc, Target::Id("a1"), false),
            r#"<s:A xmlns:s="urn:s" ID="a1" a="1" z="2"><s:B></s:B>text &amp; more<C xmlns="urn:d"></C></s:A>"#
        );
    }

    #[test]
    fn enveloped_signature_is_left_out() {
        let doc = r#"<a:Assertion xmlns:a="urn:a" ID="x"><a:Issuer>i</a:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature><a:Subject/></a:Assertion>"#;
        assert_eq!(
            c14n(doc, Target::Id("x"), true),
            r#"<a:Assertion xmlns:a="urn:a" ID="x"><a:Issuer>i</a:Issuer><a:Subject></a:Subject></a:Assertion>"#
        );
        assert_eq!(
            c14n(doc, Target::Named(DSIG, "SignedInfo"), false),
            r#"<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"></ds:SignedInfo>"#
        );
    }

    #[test]
    fn attribute_values_and_text_are_escaped_canonically() {
        let doc = "<a ID=\"y\" v=\"1 &lt; 2 &quot;q&quot; &#x9;\">x &gt; y&#xD;\r\n</a>";
        assert_eq!(
            c14n(doc, Target::Id("y"), false),
            "<a ID=\"y\" v=\"1 &lt; 2 &quot;q&quot; &#x9;\">x &gt; y&#xD;\n</a>"
        );
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert_eq!(
            canonicalize(
                b"<!DOCTYPE a [<!ENTITY e \"x\">]><a ID=\"z\">&e;</a>",
                Target::Id("z"),
                false
            ),
            Err(C14nError::Doctype)
        );
        assert_eq!(
            canonicalize(b"<a/>", Target::Id("missing"), false),
            Err(C14nError::NotFound)
        );
        assert!(canonicalize(b"<p:a ID=\"z\"/>", Target::Id("z"), false).is_err());
    }
}
