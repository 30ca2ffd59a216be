//! A YAML tree that remembers where every node came from, so errors name the file, line and column.
//!
//! serde_yaml is archived upstream and drops node positions after parsing; GitLab semantics need
//! positions long after parsing (an unknown `extends` parent, a bad `needs`), and need the
//! `!reference` tag kept as data. So the pipeline is parsed with yaml-rust2's event parser (YAML 1.2,
//! maintained) into this tree, resolving anchors, aliases and `<<` merge keys on the way.

mod node;
mod parse;

pub use node::{Map, Node, Span, Value};
pub use parse::{YamlError, parse_document, parse_str};
