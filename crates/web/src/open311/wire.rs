//! The wire form of Open311 answers: one ordered tree ([`Node`]) written either as JSON
//! (serde) or as XML (quick-xml's writer, which escapes), so both formats always carry
//! the same data in the same order.
//!
//! XML follows GeoReport v2's shapes: a list is an element holding one element per item,
//! named by the list ([`Node::List`]); `null` is an empty element.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A value of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// Items, each written in XML as an element named by the first field.
    List(&'static str, Vec<Node>),
    /// Fields in order.
    Object(Vec<(&'static str, Node)>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_none(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(n) => serializer.serialize_i64(*n),
            Self::Float(x) => serializer.serialize_f64(*x),
            Self::Text(s) => serializer.serialize_str(s),
            Self::List(_, items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// The JSON document.
pub fn to_json(node: &Node) -> Vec<u8> {
    serde_json::to_vec(node).unwrap_or_else(|_| b"[]".to_vec())
}

/// The XML document: a declaration and `node` as the element `root`.
pub fn to_xml(root: &str, node: &Node) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    let written = writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .and_then(|()| write_element(&mut writer, root, node));
    match written {
        Ok(()) => writer.into_inner(),
        // Writing into memory does not fail; if it ever did, an empty root is still XML.
        Err(_) => format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><{root}/>").into_bytes(),
    }
}

fn write_element(writer: &mut Writer<Vec<u8>>, name: &str, node: &Node) -> std::io::Result<()> {
    let scalar = match node {
        Node::Null => {
            return writer.write_event(Event::Empty(BytesStart::new(name)));
        }
        Node::Bool(b) => b.to_string(),
        Node::Int(n) => n.to_string(),
        Node::Float(x) => x.to_string(),
        Node::Text(s) => xml_chars(s),
        Node::List(item, items) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for child in items {
                write_element(writer, item, child)?;
            }
            return writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Node::Object(fields) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for (key, child) in fields {
                write_element(writer, key, child)?;
            }
            return writer.write_event(Event::End(BytesEnd::new(name)));
        }
    };
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::new(&scalar)))?;
    writer.write_event(Event::End(BytesEnd::new(name)))
}

/// The text with every character XML 1.0 cannot carry (control characters other than
/// tab and line breaks, U+FFFE, U+FFFF) replaced by U+FFFD; escaping is the writer's.
fn xml_chars(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;
    use quick_xml::Reader;

    fn sample() -> Node {
        Node::List(
            "request",
            vec![Node::Object(vec![
                ("service_request_id", Node::text("7")),
                ("description", Node::text("a < b & \"c\" 'd' ]]> \u{1}")),
                ("metadata", Node::Bool(true)),
                ("order", Node::Int(3)),
                ("lat", Node::Float(56.85)),
                ("account_id", Node::Null),
                (
                    "values",
                    Node::List(
                        "value",
                        vec![Node::Object(vec![("key", Node::text("Автобус"))])],
                    ),
                ),
            ])],
        )
    }

    #[test]
    fn json_keeps_the_order_and_the_types() {
        let json = String::from_utf8(to_json(&sample())).unwrap_or_default();
        assert_eq!(
            json,
            r#"[{"service_request_id":"7","description":"a < b & \"c\" 'd' ]]> \u0001","metadata":true,"order":3,"lat":56.85,"account_id":null,"values":[{"key":"Автобус"}]}]"#
        );
    }

    #[test]
    fn xml_is_well_formed_and_reads_back_the_same_text() {
        let xml = String::from_utf8(to_xml("service_requests", &sample())).unwrap_or_default();
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="utf-8"?><service_requests><request><service_request_id>7</service_request_id>"#), "{xml}");
        assert!(xml.contains("<account_id/>"), "{xml}");
        assert!(
            xml.contains("<values><value><key>Автобус</key></value></values>"),
            "{xml}"
        );
        let mut reader = Reader::from_str(&xml);
        let mut text = String::new();
        let mut depth = 0i32;
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(Event::Start(_)) => depth += 1,
                Ok(Event::End(_)) => depth -= 1,
                Ok(Event::Text(t)) => text.push_str(&String::from_utf8_lossy(&t)),
                Ok(Event::GeneralRef(r)) => {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name);
                    assert!(resolved.is_some(), "unknown entity {name}: {xml}");
                    text.push_str(resolved.unwrap_or_default());
                }
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}: {xml}"),
            }
        }
        assert_eq!(depth, 0);
        assert!(text.contains("a < b & \"c\" 'd' ]]> \u{FFFD}"), "{text}");
    }
}
