//! The positioned YAML tree: nodes, maps and the spans that point back to the source.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a node starts: the file (as the user would name it) and a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub col: usize,
}

impl Span {
    pub fn new(file: Arc<PathBuf>, line: usize, col: usize) -> Self {
        Span { file, line, col }
    }

    /// A span for values that do not come from a file (command line, built-in defaults).
    pub fn synthetic(what: &str) -> Self {
        Span {
            file: Arc::new(PathBuf::from(what)),
            line: 0,
            col: 0,
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

/// An ordered map: GitLab keeps jobs and variables in the order they are written. An index by key
/// keeps lookups and inserts constant-time: a pipeline of 20,000 jobs is one map of 20,000 keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<(String, Node, Span)>,
    index: HashMap<String, usize>,
}

impl Map {
    pub fn new() -> Self {
        Map::default()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    /// The span of a key itself (where `key:` is written), for errors about the key.
    pub fn key_span(&self, key: &str) -> Option<&Span> {
        self.position(key).map(|i| &self.entries[i].2)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Inserts or replaces in place, keeping the original position of an existing key.
    pub fn insert(&mut self, key: String, value: Node, key_span: Span) {
        if let Some(i) = self.position(&key) {
            let slot = &mut self.entries[i];
            slot.1 = value;
            slot.2 = key_span;
        } else {
            self.index.insert(key.clone(), self.entries.len());
            self.entries.push((key, value, key_span));
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let pos = self.index.remove(key)?;
        let removed = self.entries.remove(pos).1;
        for (k, _, _) in &self.entries[pos..] {
            if let Some(i) = self.index.get_mut(k.as_str()) {
                *i -= 1;
            }
        }
        Some(removed)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, v, _)| (k.as_str(), v))
    }

    pub fn iter_with_spans(&self) -> impl Iterator<Item = (&str, &Node, &Span)> {
        self.entries.iter().map(|(k, v, s)| (k.as_str(), v, s))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Node)> {
        self.entries.iter_mut().map(|(k, v, _)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _, _)| k.as_str())
    }

    pub fn into_entries(self) -> impl Iterator<Item = (String, Node, Span)> {
        self.entries.into_iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A YAML value. Scalars keep their text: GitLab reads most of them as strings, and converting
/// early would turn `1.10` into `1.1` or `on` into a boolean where GitLab keeps text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// `plain` is false for quoted and block scalars, which are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Map),
    /// GitLab's `!reference [job, key, ...]`, resolved after includes are merged.
    Reference(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node { value, span }
    }

    pub fn string(text: impl Into<String>, span: Span) -> Self {
        Node::new(
            Value::Scalar {
                text: text.into(),
                plain: false,
            },
            span,
        )
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar (strings, numbers and booleans alike), as written.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A boolean as YAML 1.2 core schema writes it (`true`/`false` in any case), plain only.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar { text, plain: true } => text.parse().ok(),
            _ => None,
        }
    }

    /// A short name of the node's kind, for error messages ("expected a string, found a map").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { plain: true, text } if text.parse::<f64>().is_ok() => "a number",
            Value::Scalar { .. } if self.as_bool().is_some() => "a boolean",
            Value::Scalar { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
            Value::Reference(_) => "a !reference",
        }
    }
}
