//! Reading an offer file written by a person: YAML or JSON, with every value's line kept
//! so that an error can say "line 12, /volet2/simultaneous_places".
//!
//! The file is read into a small tree of [`Node`]s (one YAML parser for both formats: JSON
//! is YAML's flow style), then deserialised into the caller's type by a serde
//! [`Deserializer`] that lets the *type* decide what a plain scalar means. A FINESS such as
//! `750712184` or a postal code such as `01000` is text when the field is text, even
//! unquoted; YAML's usual number guessing would turn them into numbers and lose the
//! leading zero.
//!
//! The input is untrusted: its size, depth and number of values are bounded, aliases are
//! refused (they are how a few bytes of YAML expand to gigabytes), and so are duplicate
//! keys, which YAML forbids and which would make "which value wins" a surprise.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Largest file read.
pub const MAX_BYTES: usize = 256 * 1024;
/// Deepest nesting of mappings and sequences.
pub const MAX_DEPTH: usize = 24;
/// Most values in one file.
pub const MAX_NODES: usize = 20_000;

/// A value of the file and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; `plain` when unquoted (only then can it mean null, a boolean
    /// or a number).
    Scalar {
        text: String,
        plain: bool,
    },
    Sequence(Vec<Node>),
    Mapping(Vec<(String, Node)>),
}

/// Where something is wrong in the file, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, {}: {message}", if pointer.is_empty() { "(file)" } else { pointer.as_str() })]
pub struct SourceError {
    pub line: usize,
    pub column: usize,
    /// JSON pointer (RFC 6901) of the value, empty for the whole file.
    pub pointer: String,
    pub message: String,
}

impl Node {
    /// Reads YAML or JSON text into a tree.
    pub fn parse(text: &str) -> Result<Node, SourceError> {
        if text.len() > MAX_BYTES {
            return Err(SourceError {
                line: 1,
                column: 1,
                pointer: String::new(),
                message: format!("the file is larger than {MAX_BYTES} bytes"),
            });
        }
        let mut reader = Reader {
            parser: Parser::new_from_str(text),
            nodes: 0,
        };
        reader.document()
    }

    /// The value at a JSON pointer, if the file has it.
    pub fn find(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        if pointer.is_empty() {
            return Some(node);
        }
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                Value::Mapping(entries) => &entries.iter().find(|(key, _)| *key == token)?.1,
                Value::Sequence(items) => items.get(token.parse::<usize>().ok()?)?,
                Value::Scalar { .. } => return None,
            };
        }
        Some(node)
    }

    /// The line of the value at `pointer`, or of its closest parent in the file (a
    /// missing field is reported where it belongs).
    pub fn line_of(&self, pointer: &str) -> usize {
        let mut pointer = pointer.to_string();
        loop {
            if let Some(node) = self.find(&pointer) {
                return node.line;
            }
            match pointer.rfind('/') {
                Some(slash) => pointer.truncate(slash),
                None => return self.line,
            }
        }
    }

    /// Deserialises the tree into `T`, the type deciding what each scalar means.
    pub fn deserialize<T: de::DeserializeOwned>(&self) -> Result<T, SourceError> {
        T::deserialize(NodeDeserializer {
            node: self,
            pointer: String::new(),
        })
        .map_err(|e| SourceError {
            line: e.line.unwrap_or(self.line),
            column: e.column.unwrap_or(self.column),
            pointer: e.pointer.unwrap_or_default(),
            message: e.message,
        })
    }
}

struct Reader<'a> {
    parser: Parser<std::str::Chars<'a>>,
    nodes: usize,
}

fn error_at(mark: &Marker, message: impl Into<String>) -> SourceError {
    SourceError {
        line: mark.line(),
        column: mark.col() + 1,
        pointer: String::new(),
        message: message.into(),
    }
}

impl Reader<'_> {
    fn next(&mut self) -> Result<(Event, Marker), SourceError> {
        self.parser.next_token().map_err(|e| SourceError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            pointer: String::new(),
            message: format!("not valid YAML or JSON: {}", e.info()),
        })
    }

    fn document(&mut self) -> Result<Node, SourceError> {
        let mut root = None;
        loop {
            let (event, mark) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentStart | Event::Nothing => {}
                Event::DocumentEnd | Event::StreamEnd => {
                    return root.ok_or_else(|| error_at(&mark, "the file is empty"));
                }
                event if root.is_none() => root = Some(self.node(event, mark, 0)?),
                _ => return Err(error_at(&mark, "the file holds more than one document")),
            }
        }
    }

    fn node(&mut self, event: Event, mark: Marker, depth: usize) -> Result<Node, SourceError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(error_at(&mark, format!("more than {MAX_NODES} values")));
        }
        if depth > MAX_DEPTH {
            return Err(error_at(
                &mark,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let value = match event {
            Event::Scalar(text, style, _, _) => Value::Scalar {
                text,
                plain: style == TScalarStyle::Plain,
            },
            Event::Alias(_) => {
                return Err(error_at(&mark, "aliases (*name) are not accepted"));
            }
            Event::SequenceStart(_, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, item_mark) = self.next()?;
                    if event == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(event, item_mark, depth + 1)?);
                }
                Value::Sequence(items)
            }
            Event::MappingStart(_, _) => {
                let mut entries: Vec<(String, Node)> = Vec::new();
                loop {
                    let (event, key_mark) = self.next()?;
                    let key = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, _, _, _) => text,
                        _ => return Err(error_at(&key_mark, "a key must be plain text")),
                    };
                    if entries.iter().any(|(existing, _)| *existing == key) {
                        return Err(error_at(&key_mark, format!("\"{key}\" is given twice")));
                    }
                    let (event, value_mark) = self.next()?;
                    let value = self.node(event, value_mark, depth + 1)?;
                    entries.push((key, value));
                }
                Value::Mapping(entries)
            }
            other => return Err(error_at(&mark, format!("unexpected {other:?}"))),
        };
        Ok(Node {
            value,
            line: mark.line(),
            column: mark.col() + 1,
        })
    }
}

/// A deserialisation error, located once the innermost value that caused it is known.
#[derive(Debug)]
pub struct DeError {
    message: String,
    line: Option<usize>,
    column: Option<usize>,
    pointer: Option<String>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError {
            message: message.to_string(),
            line: None,
            column: None,
            pointer: None,
        }
    }
}

impl DeError {
    fn locate(mut self, node: &Node, pointer: &str) -> Self {
        if self.line.is_none() {
            self.line = Some(node.line);
            self.column = Some(node.column);
            self.pointer = Some(pointer.to_string());
        }
        self
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct NodeDeserializer<'a> {
    node: &'a Node,
    pointer: String,
}

impl<'a> NodeDeserializer<'a> {
    fn scalar(&self) -> Option<(&'a str, bool)> {
        match &self.node.value {
            Value::Scalar { text, plain } => Some((text.as_str(), *plain)),
            _ => None,
        }
    }

    fn fail(&self, message: String) -> DeError {
        <DeError as de::Error>::custom(message).locate(self.node, &self.pointer)
    }

    fn kind(&self) -> &'static str {
        match &self.node.value {
            Value::Scalar { .. } => "a single value",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a set of fields",
        }
    }

    fn number<T: std::str::FromStr>(&self, expected: &str) -> Result<T, DeError> {
        match self.scalar() {
            Some((text, true)) => text
                .parse()
                .map_err(|_| self.fail(format!("expected {expected}, found \"{text}\""))),
            Some((text, false)) => Err(self.fail(format!(
                "expected {expected}, found the quoted text \"{text}\""
            ))),
            None => Err(self.fail(format!("expected {expected}, found {}", self.kind()))),
        }
    }
}

fn is_null(text: &str, plain: bool) -> bool {
    plain && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

macro_rules! numbers {
    ($($method:ident => $visit:ident : $ty:ty, $expected:literal;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let value: $ty = self.number($expected)?;
            visitor.$visit(value).map_err(|e: DeError| e.locate(self.node, &self.pointer))
        })*
    };
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            Value::Scalar { text, plain } => {
                if is_null(text, *plain) {
                    visitor.visit_unit()
                } else if *plain && (text == "true" || text == "false") {
                    visitor.visit_bool(text == "true")
                } else if *plain && let Ok(n) = text.parse::<i64>() {
                    visitor.visit_i64(n)
                } else if *plain && let Ok(x) = text.parse::<f64>() {
                    visitor.visit_f64(x)
                } else {
                    visitor.visit_str(text)
                }
            }
            Value::Sequence(_) => return self.deserialize_seq(visitor),
            Value::Mapping(_) => return self.deserialize_map(visitor),
        };
        result.map_err(|e: DeError| e.locate(self.node, &self.pointer))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some(("true", true)) => visitor.visit_bool(true),
            Some(("false", true)) => visitor.visit_bool(false),
            Some((text, _)) => Err(self.fail(format!("expected true or false, found \"{text}\""))),
            None => Err(self.fail(format!("expected true or false, found {}", self.kind()))),
        }
    }

    numbers! {
        deserialize_i8 => visit_i8: i8, "a whole number";
        deserialize_i16 => visit_i16: i16, "a whole number";
        deserialize_i32 => visit_i32: i32, "a whole number";
        deserialize_i64 => visit_i64: i64, "a whole number";
        deserialize_u8 => visit_u8: u8, "a whole number from 0 to 255";
        deserialize_u16 => visit_u16: u16, "a whole number from 0 to 65535";
        deserialize_u32 => visit_u32: u32, "a positive whole number";
        deserialize_u64 => visit_u64: u64, "a positive whole number";
        deserialize_f32 => visit_f32: f32, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, plain)) if !is_null(text, plain) => visitor
                .visit_str(text)
                .map_err(|e: DeError| e.locate(self.node, &self.pointer)),
            Some(_) => Err(self.fail("expected text, found nothing".into())),
            None => Err(self.fail(format!("expected text, found {}", self.kind()))),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.fail("binary values are not accepted".into()))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, plain)) if is_null(text, plain) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, plain)) if is_null(text, plain) => visitor.visit_unit(),
            _ => Err(self.fail("expected nothing (null)".into())),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let Value::Sequence(items) = &self.node.value else {
            return Err(self.fail(format!("expected a list, found {}", self.kind())));
        };
        visitor
            .visit_seq(Items {
                items: items.iter().enumerate(),
                pointer: &self.pointer,
            })
            .map_err(|e: DeError| e.locate(self.node, &self.pointer))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let Value::Mapping(entries) = &self.node.value else {
            return Err(self.fail(format!("expected a set of fields, found {}", self.kind())));
        };
        visitor
            .visit_map(Entries {
                entries: entries.iter(),
                pending: None,
                pointer: &self.pointer,
            })
            .map_err(|e: DeError| e.locate(self.node, &self.pointer))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((text, _)) => visitor
                .visit_enum(text.into_deserializer())
                .map_err(|e: DeError| e.locate(self.node, &self.pointer)),
            None => Err(self.fail(format!("expected one of {}", variants.join(", ")))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct Items<'a, I> {
    items: I,
    pointer: &'a str,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)>> SeqAccess<'de> for Items<'a, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((index, node)) = self.items.next() else {
            return Ok(None);
        };
        let pointer = format!("{}/{index}", self.pointer);
        seed.deserialize(NodeDeserializer {
            node,
            pointer: pointer.clone(),
        })
        .map(Some)
        .map_err(|e: DeError| e.locate(node, &pointer))
    }
}

struct Entries<'a, I> {
    entries: I,
    pending: Option<(&'a Node, String)>,
    pointer: &'a str,
}

impl<'de, 'a, I: Iterator<Item = &'a (String, Node)>> MapAccess<'de> for Entries<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, node)) = self.entries.next() else {
            return Ok(None);
        };
        let pointer = format!("{}/{}", self.pointer, escape(key));
        let key_value = seed
            .deserialize(key.as_str().into_deserializer())
            .map_err(|e: DeError| e.locate(node, &pointer))?;
        self.pending = Some((node, pointer));
        Ok(Some(key_value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (node, pointer) = self
            .pending
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a value without its key"))?;
        seed.deserialize(NodeDeserializer {
            node,
            pointer: pointer.clone(),
        })
        .map_err(|e: DeError| e.locate(node, &pointer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        finess: String,
        postal_codes: Vec<String>,
        places: u32,
        on_call: bool,
        #[serde(default)]
        note: Option<String>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Ehpad,
        HomeCare,
    }

    const YAML: &str = "finess: 750712184\npostal_codes:\n  - 01000\n  - '72000'\nplaces: 25\non_call: true\nkind: home_care\n";

    #[test]
    fn plain_scalars_take_the_type_of_their_field() {
        let sample: Sample = Node::parse(YAML).unwrap().deserialize().unwrap();
        assert_eq!(sample.finess, "750712184");
        assert_eq!(sample.postal_codes, ["01000", "72000"]);
        assert_eq!(sample.places, 25);
        assert!(sample.on_call);
        assert_eq!(sample.kind, Kind::HomeCare);
        assert_eq!(sample.note, None);
    }

    #[test]
    fn json_reads_the_same() {
        let json = r#"{"finess": "750712184", "postal_codes": ["01000", "72000"],
            "places": 25, "on_call": true, "kind": "home_care"}"#;
        let from_json: Sample = Node::parse(json).unwrap().deserialize().unwrap();
        let from_yaml: Sample = Node::parse(YAML).unwrap().deserialize().unwrap();
        assert_eq!(from_json, from_yaml);
    }

    #[test]
    fn a_wrong_value_is_reported_at_its_line_and_pointer() {
        let text = YAML.replace("places: 25", "places: many");
        let error = Node::parse(&text)
            .unwrap()
            .deserialize::<Sample>()
            .unwrap_err();
        assert_eq!((error.line, error.pointer.as_str()), (5, "/places"));
        assert!(error.message.contains("positive whole number"), "{error}");

        let text = YAML.replace("  - '72000'", "  - {code: 72000}");
        let error = Node::parse(&text)
            .unwrap()
            .deserialize::<Sample>()
            .unwrap_err();
        assert_eq!((error.line, error.pointer.as_str()), (4, "/postal_codes/1"));
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let text = format!("{YAML}colour: blue\n");
        let error = Node::parse(&text)
            .unwrap()
            .deserialize::<Sample>()
            .unwrap_err();
        assert_eq!((error.line, error.pointer.as_str()), (8, "/colour"));
        assert!(error.message.contains("unknown field `colour`"), "{error}");

        let text = YAML.replace("places: 25\n", "");
        let error = Node::parse(&text)
            .unwrap()
            .deserialize::<Sample>()
            .unwrap_err();
        assert_eq!(error.pointer, "");
        assert!(error.message.contains("missing field `places`"), "{error}");

        let text = YAML.replace("home_care", "hospital");
        let error = Node::parse(&text)
            .unwrap()
            .deserialize::<Sample>()
            .unwrap_err();
        assert_eq!((error.line, error.pointer.as_str()), (7, "/kind"));
        assert!(error.message.contains("ehpad"), "{error}");
    }

    #[test]
    fn hostile_input_is_refused_with_a_position() {
        let bomb = "a: &x [1, 2]\nb: [*x, *x]\n";
        let error = Node::parse(bomb).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("aliases"));

        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(
            Node::parse(&deep)
                .unwrap_err()
                .message
                .contains("nested deeper")
        );

        let twice = "finess: 1\nfiness: 2\n";
        let error = Node::parse(twice).unwrap_err();
        assert_eq!(error.line, 2);

        assert!(Node::parse("a: [1, 2").is_err());
        assert!(Node::parse("").unwrap_err().message.contains("empty"));
        let big = "x".repeat(MAX_BYTES + 1);
        assert!(Node::parse(&big).unwrap_err().message.contains("larger"));
    }

    #[test]
    fn pointers_find_their_line() {
        let node = Node::parse(YAML).unwrap();
        assert_eq!(node.line_of("/postal_codes/1"), 4);
        assert_eq!(node.line_of("/places"), 5);
        assert_eq!(node.line_of("/postal_codes/7"), 3);
        assert_eq!(node.line_of("/nowhere/deeper"), 1);
    }
}
