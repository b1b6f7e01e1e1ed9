//! An untyped YAML tree that remembers where every key and value came from: [`parse`] reads it (`parse.rs`),
//! [`scalar`] holds the scalar rules of the spec (YAML 1.2 core schema, plus the Python spellings `True`/`False`
//! that TAO specs use), [`emit`] writes it back as block-style YAML (`emit.rs`).
//!
//! The spec is read in stages: YAML text -> [`Node`] tree -> overrides -> `${...}` interpolation -> typed
//! [`Spec`](super::Spec). Keeping the tree untyped until the end lets overrides and interpolation work on any key,
//! and keeping a [`Location`] on every node lets each error name the file and line of the value at fault.

mod emit;
mod parse;
mod scalar;

pub(crate) use emit::emit;
pub(crate) use parse::parse;
pub(crate) use scalar::{Scalar, is_null, parse_bool_lenient, parse_float, parse_int, resolve};

use super::error::Location;
use std::fmt::Write as _;

/// A YAML value with its location.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub loc: Location,
}

/// The three kinds of YAML value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A scalar as written; `quoted` scalars (quoted, block, or tagged `!!str`) are always strings.
    Scalar {
        /// The text after YAML unescaping.
        text: String,
        /// Whether the scalar is a string whatever its text.
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<Entry>),
}

/// One key of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// The key.
    pub key: String,
    /// Where the key was written.
    pub key_loc: Location,
    /// The value.
    pub value: Node,
}

impl Node {
    pub fn scalar(text: impl Into<String>, quoted: bool, loc: Location) -> Node {
        Node { value: Value::Scalar { text: text.into(), quoted }, loc }
    }

    pub fn empty_map(loc: Location) -> Node {
        Node { value: Value::Map(Vec::new()), loc }
    }

    /// The entry `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// The node at a dotted path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// Keys of a mapping (empty for other values).
    pub fn keys(&self) -> Vec<&str> {
        match &self.value {
            Value::Map(entries) => entries.iter().map(|e| e.key.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// Whether this is a null: an unquoted `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, quoted: false } if is_null(text))
    }

    /// Gives every node of the subtree the same location (for values parsed from an override).
    pub fn relocate(&mut self, loc: &Location) {
        self.loc = loc.clone();
        match &mut self.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => items.iter_mut().for_each(|n| n.relocate(loc)),
            Value::Map(entries) => entries.iter_mut().for_each(|e| {
                e.key_loc = loc.clone();
                e.value.relocate(loc);
            }),
        }
    }

    /// Calls `f(path, node)` for this node and every node below it (paths of mapping keys, `[i]` for items).
    pub fn walk<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a Node)) {
        f(path, self);
        match &self.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    item.walk(path, f);
                    path.truncate(len);
                }
            }
            Value::Map(entries) => {
                for e in entries {
                    let len = path.len();
                    push_key(path, &e.key);
                    e.value.walk(path, f);
                    path.truncate(len);
                }
            }
        }
    }

    /// A short description of the value for messages: the scalar's text, or `a list`/`a mapping`.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Scalar { text, quoted: true } => format!("{text:?}"),
            Value::Scalar { text, quoted: false } if text.is_empty() => "an empty value".to_owned(),
            Value::Scalar { text, .. } => text.clone(),
            Value::Seq(_) => "a list".to_owned(),
            Value::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// Appends `.key` (or `key` at the root) to a dotted path.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// Joins a parent path and a key.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let mut path = parent.to_owned();
    push_key(&mut path, key);
    path
}
