//! A small XML element tree: read with quick-xml from the JUnit files that jobs produce, and
//! written back, escaped, into our own report. Only what JUnit needs: elements, attributes and
//! text; comments, processing instructions and DOCTYPEs are dropped, and no entity other than
//! XML's five predefined ones is ever expanded (so a hostile file cannot blow up memory).

use std::fmt::Write as _;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Writes the element at `indent` spaces. Elements whose children are all elements are laid
    /// out one child per line; any text inside is kept exactly as it was, since in `system-out`
    /// or a failure message every space may matter.
    pub fn write(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        let _ = write!(out, "{pad}<{}", self.name);
        for (k, v) in &self.attrs {
            let _ = write!(out, " {k}=\"{}\"", escape_attr(v));
        }
        if self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        let has_text = self.children.iter().any(|n| matches!(n, Node::Text(_)));
        if has_text {
            out.push('>');
            for child in &self.children {
                match child {
                    Node::Text(t) => out.push_str(&escape_text(t)),
                    Node::Element(e) => {
                        let mut inner = String::new();
                        e.write(&mut inner, 0);
                        out.push_str(inner.trim_end_matches('\n'));
                    }
                }
            }
            let _ = writeln!(out, "</{}>", self.name);
        } else {
            out.push_str(">\n");
            for e in self.elements() {
                e.write(out, indent + 2);
            }
            let _ = writeln!(out, "{pad}</{}>", self.name);
        }
    }
}

/// Reads a whole document and returns its root element.
pub fn parse(input: impl BufRead) -> Result<Element, String> {
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::new();
    // The elements being read, innermost last; the root stays at the bottom once closed.
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => stack.push(element(&start)),
            Event::Empty(start) => close(&mut stack, &mut root, element(&start)),
            Event::End(_) => {
                // quick-xml checks that end tags match, so this is the element it closes.
                if let Some(done) = stack.pop() {
                    close(&mut stack, &mut root, done);
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().map_err(|e| e.to_string())?;
                push_text(&mut stack, &text);
            }
            Event::CData(t) => {
                let text = t.xml10_content().map_err(|e| e.to_string())?;
                push_text(&mut stack, &text);
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_string(),
                            // An entity we do not know: kept as written rather than failing.
                            None => format!("&{name};"),
                        }
                    }
                };
                push_text(&mut stack, &text);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    if let Some(open) = stack.last() {
        return Err(format!("unexpected end of file inside <{}>", open.name));
    }
    root.ok_or_else(|| "no element in the file".to_string())
}

fn element(start: &BytesStart) -> Element {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let attrs = start
        .attributes()
        .with_checks(false)
        .filter_map(Result::ok)
        .map(|a| {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            // A value with an unknown entity is kept raw rather than dropped.
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
            (key, value)
        })
        .collect();
    Element {
        name,
        attrs,
        children: Vec::new(),
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, done: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(done)),
        None => {
            // A second root would be malformed; the first one is the document.
            root.get_or_insert(done);
        }
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    let Some(parent) = stack.last_mut() else {
        return;
    };
    if let Some(Node::Text(prev)) = parent.children.last_mut() {
        prev.push_str(text);
    } else {
        parent.children.push(Node::Text(text.to_string()));
    }
}

/// Drops whitespace-only text between elements, so that re-indenting does not pile up blank
/// lines; text in elements that hold only text (such as `system-out`) is kept whole.
pub fn drop_layout_whitespace(e: &mut Element) {
    let has_elements = e.children.iter().any(|n| matches!(n, Node::Element(_)));
    if has_elements {
        e.children
            .retain(|n| !matches!(n, Node::Text(t) if t.trim().is_empty()));
    }
    for child in &mut e.children {
        if let Node::Element(c) = child {
            drop_layout_whitespace(c);
        }
    }
}

/// Text content: `&`, `<` and `>` escaped, characters XML cannot hold dropped.
pub fn escape_text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value in double quotes: also `"`, and the whitespace that attribute
/// normalisation would otherwise turn into plain spaces.
pub fn escape_attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' if attr => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\t' | '\n' | '\r' => out.push(c),
            // XML 1.0 has no way to write these at all, not even as references.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_text_and_entities() {
        let doc = r#"<?xml version="1.0"?>
<!-- a comment -->
<testsuites><testsuite name="a &amp; b" tests="1">
  <testcase name="t&#49;"><failure message="x &lt; y">line 1
&lt;tag&gt; &unknown; <![CDATA[<raw>]]></failure></testcase>
</testsuite></testsuites>"#;
        let mut root = parse(doc.as_bytes()).unwrap();
        drop_layout_whitespace(&mut root);
        let suite = root.elements().next().unwrap();
        assert_eq!(suite.attr("name"), Some("a & b"));
        let case = suite.elements().next().unwrap();
        assert_eq!(case.attr("name"), Some("t1"));
        let failure = case.elements().next().unwrap();
        assert_eq!(failure.attr("message"), Some("x < y"));
        assert_eq!(
            failure.children,
            [Node::Text("line 1\n<tag> &unknown; <raw>".into())]
        );
        let mut out = String::new();
        failure.write(&mut out, 0);
        assert_eq!(
            out,
            "<failure message=\"x &lt; y\">line 1\n&lt;tag&gt; &amp;unknown; &lt;raw&gt;</failure>\n"
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse("<a><b></a>".as_bytes()).is_err());
        assert!(parse("<a><b>".as_bytes()).is_err());
        assert!(parse("just text".as_bytes()).is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_attr("a\"b\nc<&\u{1b}"), "a&quot;b&#10;c&lt;&amp;");
        assert_eq!(escape_text("a\"b\nc<&\u{1b}"), "a\"b\nc&lt;&amp;");
    }
}
