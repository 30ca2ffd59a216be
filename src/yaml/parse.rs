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

/// Parses the first document of `text`. An empty document is `Null`.
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
    let mut builder = Builder {
        wanted,
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(YamlError {
            span: Span::new(file, e.marker().line(), e.marker().col() + 1),
            message: e.info().to_string(),
        });
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok((builder.root, builder.documents))
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
        reference: bool,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        span: Span,
        anchor: usize,
    },
}

struct Builder {
    wanted: usize,
    file: Arc<PathBuf>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<YamlError>,
    documents: usize,
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
    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
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
                Some(node) => {
                    let node = node.clone();
                    self.complete(node, 0);
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
                self.complete(Node::new(value, span), anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                let span = self.span(mark);
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    span,
                    anchor,
                    reference: is_reference(&tag),
                });
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq {
                    items,
                    span,
                    anchor,
                    reference,
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
                self.complete(node, anchor);
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
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    span,
                    anchor,
                });
            }
            Event::MappingEnd => {
                let Some(Frame::Map {
                    entries,
                    span,
                    anchor,
                    ..
                }) = self.stack.pop()
                else {
                    return;
                };
                let node = self.finish_map(entries, span);
                self.complete(node, anchor);
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
