//! Builds the positioned tree from yaml-rust2's events: anchors, aliases, `<<` merge keys, tags.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::node::{Map, Node, Span, Value};

/// A YAML syntax error, or a structure that YAML allows but a CI file cannot hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{span}: {message}")]
pub struct YamlError {
    pub span: Span,
    pub message: String,
}

/// GitLab's default `max_yaml_size_bytes` (2 MB): a CI file may not be larger.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// GitLab's default `max_yaml_depth`: maps and lists nested deeper are refused.
pub const MAX_DEPTH: usize = 100;
/// The most a document may weigh once its aliases are expanded, counting each node as
/// [`NODE_WEIGHT`] bytes plus its text. GitLab measures the loaded document against
/// `max_yaml_size_bytes` the same way, so an alias bomb (a "billion laughs") is refused before it
/// is built. Every file under [`MAX_FILE_BYTES`] weighs less than this when it has no aliases.
pub const MAX_EXPANDED_WEIGHT: u64 = 64 * 1024 * 1024;
const NODE_WEIGHT: u64 = 32;

/// Parses the first document of `text`. An empty document is `Null`.
///
/// The parser is driven one event at a time (yaml-rust2's own `load` recurses once per level of
/// nesting, which overflows the stack on a deep file), and stops at the first error.
pub fn parse_str(text: &str, file: Arc<PathBuf>) -> Result<Node, YamlError> {
    let (root, _) = parse_document(text, file.clone(), 1)?;
    Ok(root.unwrap_or_else(|| Node::new(Value::Null, Span::new(file, 1, 1))))
}

/// Parses document `wanted` (from 1) of `text`, and says how many documents it has: a
/// `spec:` header and its content are two documents of one file.
pub fn parse_document(
    text: &str,
    file: Arc<PathBuf>,
    wanted: usize,
) -> Result<(Option<Node>, usize), YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            span: Span::new(file, 1, 1),
            message: format!(
                "the file is {} bytes, more than GitLab's limit of {} bytes for a CI file (max_yaml_size_bytes)",
                text.len(),
                MAX_FILE_BYTES
            ),
        });
    }
    if let Some(error) = forbidden_character(text, &file) {
        return Err(error);
    }
    let mut builder = Builder {
        wanted,
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        documents: 0,
        expanded: 0,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| YamlError {
            span: Span::new(file.clone(), e.marker().line(), e.marker().col() + 1),
            message: e.info().to_string(),
        })?;
        // Documents other than the wanted one are scanned (to count them) but not built.
        let done = matches!(ev, Event::StreamEnd);
        builder.on_event(ev, mark);
        if let Some(error) = builder.error.take() {
            return Err(error);
        }
        if done {
            break;
        }
    }
    Ok((builder.root, builder.documents))
}

/// YAML allows no C0 control character but tab and line breaks. yaml-rust2 reads NUL as the end
/// of the input, which would silently drop the rest of the file, so they are refused here.
fn forbidden_character(text: &str, file: &Arc<PathBuf>) -> Option<YamlError> {
    let (offset, c) = text
        .char_indices()
        .find(|&(_, c)| c < ' ' && !matches!(c, '\t' | '\n' | '\r') || c == '\u{7f}')?;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    let name = match c {
        '\0' => " (NUL)".to_string(),
        _ => String::new(),
    };
    Some(YamlError {
        span: Span::new(file.clone(), line, col),
        message: format!(
            "control character U+{:04X}{name} is not allowed in a YAML file",
            c as u32
        ),
    })
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
        reference: bool,
        weight: u64,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        span: Span,
        anchor: usize,
        weight: u64,
    },
}

struct Builder {
    wanted: usize,
    file: Arc<PathBuf>,
    stack: Vec<Frame>,
    /// Each anchored node with its weight, counted again at every alias to it.
    anchors: HashMap<usize, (Node, u64)>,
    root: Option<Node>,
    error: Option<YamlError>,
    documents: usize,
    /// The weight of the document so far, aliases expanded (see [`MAX_EXPANDED_WEIGHT`]).
    expanded: u64,
}

fn is_reference(tag: &Option<Tag>) -> bool {
    matches!(tag, Some(t) if t.handle == "!" && t.suffix == "reference")
}

fn is_str_tag(tag: &Option<Tag>) -> bool {
    matches!(tag, Some(t) if t.suffix == "str" && (t.handle == "!!" || t.handle == "tag:yaml.org,2002:"))
}

impl Builder {
    fn span(&self, mark: Marker) -> Span {
        Span::new(self.file.clone(), mark.line(), mark.col() + 1)
    }

    fn fail(&mut self, span: Span, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                span,
                message: message.into(),
            });
        }
    }

    /// Hands a finished node to its parent (or makes it the document root).
    fn complete(&mut self, node: Node, anchor: usize, weight: u64) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq {
                items, weight: w, ..
            }) => {
                *w = w.saturating_add(weight);
                items.push(node)
            }
            Some(Frame::Map {
                entries,
                key,
                weight: w,
                ..
            }) => match key.take() {
                None => {
                    *w = w.saturating_add(weight);
                    *key = Some(node)
                }
                Some(k) => {
                    *w = w.saturating_add(weight);
                    entries.push((k, node))
                }
            },
        }
    }

    /// Counts `weight` more of the expanded document; false (with the error set) past the limit.
    fn grow(&mut self, weight: u64, mark: Marker) -> bool {
        self.expanded = self.expanded.saturating_add(weight);
        if self.expanded > MAX_EXPANDED_WEIGHT {
            let span = self.span(mark);
            self.fail(
                span,
                format!(
                    "the document expands to more than {MAX_EXPANDED_WEIGHT} bytes (aliases of aliases?); GitLab refuses a CI file this large once loaded (max_yaml_size_bytes)"
                ),
            );
            return false;
        }
        true
    }

    /// Opens a map or list, refusing one nested deeper than GitLab allows.
    fn open(&mut self, frame: Frame, mark: Marker) {
        if self.stack.len() >= MAX_DEPTH {
            let span = self.span(mark);
            self.fail(
                span,
                format!(
                    "maps and lists are nested more than {MAX_DEPTH} levels deep, GitLab's limit (max_yaml_depth)"
                ),
            );
            return;
        }
        if self.grow(NODE_WEIGHT, mark) {
            self.stack.push(frame);
        }
    }

    fn finish_map(&mut self, entries: Vec<(Node, Node)>, span: Span) -> Node {
        let mut explicit = Vec::new();
        for (k, _) in &entries {
            if !is_merge_key(k) {
                if let Some(name) = k.as_scalar() {
                    explicit.push(name.to_string());
                }
            }
        }
        let mut map = Map::new();
        for (k, v) in entries {
            if is_merge_key(&k) {
                let sources: Vec<Node> = match v.value {
                    Value::Map(_) => vec![v],
                    Value::Seq(items) => items,
                    _ => {
                        self.fail(v.span, "a `<<` merge key takes a map or a list of maps");
                        continue;
                    }
                };
                for source in sources {
                    let Value::Map(source_map) = source.value else {
                        self.fail(
                            source.span,
                            "a `<<` merge key takes a map or a list of maps",
                        );
                        continue;
                    };
                    for (name, value, key_span) in source_map.iter_with_spans() {
                        // Keys written in the map win; among merged maps the first one wins.
                        if !explicit.iter().any(|e| e == name) && !map.contains_key(name) {
                            map.insert(name.to_string(), value.clone(), key_span.clone());
                        }
                    }
                }
                continue;
            }
            let name = match &k.value {
                Value::Scalar { text, .. } => text.clone(),
                Value::Null => {
                    self.fail(k.span, "a map key may not be empty");
                    continue;
                }
                _ => {
                    let message = format!("a map key must be a string, found {}", k.kind());
                    self.fail(k.span, message);
                    continue;
                }
            };
            // As in Ruby's YAML loader (GitLab's), a repeated key keeps the last value.
            map.insert(name, v, k.span);
        }
        Node::new(Value::Map(map), span)
    }
}

fn is_merge_key(k: &Node) -> bool {
    matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<")
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => self.documents += 1,
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            _ if self.documents != self.wanted => {}
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(&(_, weight)) => {
                    if self.grow(weight, mark) {
                        let node = self.anchors[&id].0.clone();
                        self.complete(node, 0, weight);
                    }
                }
                None => self.fail(self.span(mark), "alias to an unknown anchor"),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let span = self.span(mark);
                if is_reference(&tag) {
                    self.fail(
                        span,
                        "`!reference` takes a list, such as `!reference [.job, script]`",
                    );
                    return;
                }
                let plain = style == TScalarStyle::Plain && !is_str_tag(&tag);
                let value = if plain && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::Scalar { text, plain }
                };
                let weight = NODE_WEIGHT
                    + match &value {
                        Value::Scalar { text, .. } => text.len() as u64,
                        _ => 0,
                    };
                if self.grow(weight, mark) {
                    self.complete(Node::new(value, span), anchor, weight);
                }
            }
            Event::SequenceStart(anchor, tag) => {
                let span = self.span(mark);
                let frame = Frame::Seq {
                    items: Vec::new(),
                    span,
                    anchor,
                    reference: is_reference(&tag),
                    weight: NODE_WEIGHT,
                };
                self.open(frame, mark);
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq {
                    items,
                    span,
                    anchor,
                    reference,
                    weight,
                }) = self.stack.pop()
                else {
                    return;
                };
                let node = if reference {
                    let mut path = Vec::new();
                    for item in &items {
                        match item.as_scalar() {
                            Some(s) => path.push(s.to_string()),
                            None => {
                                self.fail(item.span.clone(), "`!reference` takes a list of names, such as `!reference [.job, script]`");
                                return;
                            }
                        }
                    }
                    if path.is_empty() {
                        self.fail(span.clone(), "`!reference` needs at least a job name");
                        return;
                    }
                    Node::new(Value::Reference(path), span)
                } else {
                    Node::new(Value::Seq(items), span)
                };
                self.complete(node, anchor, weight);
            }
            Event::MappingStart(anchor, tag) => {
                let span = self.span(mark);
                if is_reference(&tag) {
                    self.fail(
                        span,
                        "`!reference` takes a list, such as `!reference [.job, script]`",
                    );
                    return;
                }
                let frame = Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    span,
                    anchor,
                    weight: NODE_WEIGHT,
                };
                self.open(frame, mark);
            }
            Event::MappingEnd => {
                let Some(Frame::Map {
                    entries,
                    span,
                    anchor,
                    weight,
                    ..
                }) = self.stack.pop()
                else {
                    return;
                };
                let node = self.finish_map(entries, span);
                self.complete(node, anchor, weight);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, YamlError> {
        parse_str(text, Arc::new(PathBuf::from("t.yml")))
    }

    #[test]
    fn spans_are_one_based_lines_and_columns() {
        let root = parse("a: 1\nb:\n  c: [x, y]\n").unwrap();
        let map = root.as_map().unwrap();
        let b = map.get("b").unwrap().as_map().unwrap();
        let c = b.get("c").unwrap();
        assert_eq!((c.span.line, c.span.col), (3, 6));
        assert_eq!(map.key_span("b").map(|s| (s.line, s.col)), Some((2, 1)));
        assert_eq!(c.as_seq().unwrap()[1].as_scalar(), Some("y"));
    }

    #[test]
    fn scalars_keep_their_text_and_nulls_are_null() {
        let root = parse("v: 1.10\nq: 'true'\nn: ~\ne:\nb: true\n").unwrap();
        let m = root.as_map().unwrap();
        assert_eq!(m.get("v").unwrap().as_scalar(), Some("1.10"));
        assert_eq!(m.get("q").unwrap().as_bool(), None);
        assert!(m.get("n").unwrap().is_null());
        assert!(m.get("e").unwrap().is_null());
        assert_eq!(m.get("b").unwrap().as_bool(), Some(true));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "\
.base: &base
  image: alpine
  script: [a]
  variables: {X: '1'}
.more: &more
  image: debian
  tags: [t]
job:
  <<: [*base, *more]
  script: [b]
other:
  script: *base
";
        let root = parse(text);
        // `script: *base` is a map where a list is expected: the YAML is still valid.
        let root = root.unwrap();
        let job = root.as_map().unwrap().get("job").unwrap().as_map().unwrap();
        assert_eq!(
            job.get("image").unwrap().as_scalar(),
            Some("alpine"),
            "first merged map wins"
        );
        assert_eq!(job.get("tags").unwrap().as_seq().unwrap().len(), 1);
        let script = job.get("script").unwrap().as_seq().unwrap();
        assert_eq!(
            script[0].as_scalar(),
            Some("b"),
            "explicit keys beat merged ones"
        );
        assert!(job.contains_key("variables"));
    }

    #[test]
    fn explicit_key_before_merge_still_wins() {
        let root = parse("a: &a {x: 1, y: 2}\nb:\n  x: 9\n  <<: *a\n").unwrap();
        let b = root.as_map().unwrap().get("b").unwrap().as_map().unwrap();
        assert_eq!(b.get("x").unwrap().as_scalar(), Some("9"));
        assert_eq!(b.get("y").unwrap().as_scalar(), Some("2"));
    }

    #[test]
    fn reference_tags_become_references() {
        let root =
            parse("job:\n  script:\n    - !reference [.setup, script]\n    - echo\n").unwrap();
        let job = root.as_map().unwrap().get("job").unwrap().as_map().unwrap();
        let first = &job.get("script").unwrap().as_seq().unwrap()[0];
        assert_eq!(
            first.value,
            Value::Reference(vec![".setup".into(), "script".into()])
        );
        assert_eq!(first.span.line, 3);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.span.line >= 1, "{e}");
        assert!(e.to_string().starts_with("t.yml:"), "{e}");
        let e = parse("a: *nope\n").unwrap_err();
        assert!(e.message.contains("anchor"), "{e}");
        let e = parse("a: !reference scalar\n").unwrap_err();
        assert_eq!(e.span.line, 1);
        let e = parse("? [a, b]\n: c\n").unwrap_err();
        assert!(e.message.contains("key"), "{e}");
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let root = parse("a: 1\na: 2\n").unwrap();
        assert_eq!(
            root.as_map().unwrap().get("a").unwrap().as_scalar(),
            Some("2")
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_before_it_is_built() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = format!("*a{}", level - 1);
            let items = [prev.as_str(); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("expands to more than"), "{e}");
        assert!(e.span.line > 1, "{e}");
        // A few aliases of a small anchor are fine.
        assert!(parse("a: &a [x, y]\nb: [*a, *a, *a]\n").is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let block_seq = "- ".repeat(30_000) + "x\n";
        let e = parse(&block_seq).unwrap_err();
        assert!(e.message.contains("nested more than 100"), "{e}");
        let mut block_map = String::new();
        for depth in 0..1_500 {
            block_map.push_str(&" ".repeat(depth));
            block_map.push_str("k:\n");
        }
        let e = parse(&block_map).unwrap_err();
        assert!(e.message.contains("max_yaml_depth"), "{e}");
        assert_eq!(e.span.line, 101, "{e}");
        let flow = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&flow).is_err());
        let ok = "[".repeat(99) + &"]".repeat(99);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn a_nul_byte_is_an_error_naming_its_line() {
        let e = parse("a: 1\nb: x\0y\nc: [\n").unwrap_err();
        assert_eq!((e.span.line, e.span.col), (2, 5), "{e}");
        assert!(e.message.contains("NUL"), "{e}");
        assert!(parse("a: \u{1b}]0;title\u{7}\n").is_err());
        assert!(parse("a: b\tc\r\n").is_ok());
    }

    #[test]
    fn a_file_over_gitlabs_size_limit_is_refused() {
        let text = "#".repeat(MAX_FILE_BYTES + 1);
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("max_yaml_size_bytes"), "{e}");
    }

    #[test]
    fn never_panics_on_garbage() {
        let samples = [
            "",
            "---",
            "- - -",
            "a: &x\n  b: *x",
            "{",
            "]",
            "a: !!binary x",
            "<<: 3",
            "? a",
            "'",
            "a:\n\t- b",
        ];
        for s in samples {
            let _ = parse(s);
        }
    }
}
