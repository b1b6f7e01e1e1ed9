//! YAML text to a [`Node`] tree with a location on every node: one document, anchors and aliases, `<<` merge
//! keys, duplicate keys refused. Aliases are expanded (copied) as they are read, so their total size is bounded by
//! [`ALIAS_BUDGET`]: nine nested levels of aliases ("billion laughs") would otherwise take a few hundred bytes of
//! text to gigabytes of memory.

use super::{Entry, Node, Value, join, push_key};
use crate::spec::error::{Location, SpecError};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// The most that alias expansion may copy into one document, counted as one per node plus the bytes of every key
/// and scalar copied (a real spec's aliases copy a few hundred; the bound keeps the copies to a few megabytes).
pub(crate) const ALIAS_BUDGET: usize = 100_000;

struct Frame {
    node: Node,
    anchor: usize,
    /// The size of the node so far (nodes plus key and scalar bytes), the cost of copying it through an alias.
    weight: usize,
    /// A mapping's key waiting for its value.
    key: Option<(String, Location)>,
    /// `<<` merge sources of a mapping.
    merges: Vec<Node>,
}

/// Parses one YAML document. An empty document gives `None`.
pub(crate) fn parse(text: &str, origin: &Arc<str>) -> Result<Option<Node>, SpecError> {
    let loc =
        |span: &Span| Location::File { origin: origin.clone(), line: span.start.line(), column: span.start.col() + 1 };
    let syntax = |line: usize, column: usize, message: String| SpecError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        message,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut copied = 0usize;
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| syntax(e.marker().line(), e.marker().col() + 1, e.info().to_owned()))?;
        let here = loc(&span);
        let (node, anchor, weight) = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(syntax(
                        span.start.line(),
                        span.start.col() + 1,
                        "a spec is one YAML document; found a second one".to_owned(),
                    ));
                }
                continue;
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((node, weight)) => {
                    copied = copied.saturating_add(*weight);
                    if copied > ALIAS_BUDGET {
                        return Err(syntax(
                            span.start.line(),
                            span.start.col() + 1,
                            format!(
                                "YAML aliases expand to more than {ALIAS_BUDGET} nodes and bytes (nested aliases \
                                 multiply); write the values out or use fewer aliases"
                            ),
                        ));
                    }
                    let mut node = node.clone();
                    node.loc = here;
                    (node, 0, *weight)
                }
                None => return Err(syntax(span.start.line(), span.start.col() + 1, "unknown alias".to_owned())),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let quoted = tagged_str || !matches!(style, ScalarStyle::Plain);
                let weight = 1 + text.len();
                (Node::scalar(text.into_owned(), quoted, here), anchor, weight)
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame {
                    node: Node { value: Value::Seq(Vec::new()), loc: here },
                    anchor,
                    weight: 1,
                    key: None,
                    merges: vec![],
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame { node: Node::empty_map(here), anchor, weight: 1, key: None, merges: vec![] });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(mut frame) = stack.pop() else { continue };
                if let Value::Map(entries) = &mut frame.node.value {
                    for source in std::mem::take(&mut frame.merges) {
                        merge_into(entries, source);
                    }
                }
                (frame.node, frame.anchor, frame.weight)
            }
        };
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), weight));
        }
        let path = current_path(&stack);
        if let Some(frame) = stack.last_mut() {
            frame.weight = frame.weight.saturating_add(weight);
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(frame) => match &mut frame.node.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match frame.key.take() {
                    None => match node.value {
                        Value::Scalar { text, .. } => frame.key = Some((text, node.loc)),
                        _ => {
                            let (line, column) = line_col(&node.loc);
                            return Err(syntax(line, column, format!("{}: keys must be plain names", or_root(&path))));
                        }
                    },
                    Some((key, key_loc)) => {
                        if key == "<<" {
                            frame.merges.push(node);
                        } else if let Some(first) = entries.iter().find(|e| e.key == key) {
                            let (line, column) = line_col(&key_loc);
                            let first =
                                first.key_loc.line().map(|l| format!(" (first given on line {l})")).unwrap_or_default();
                            return Err(syntax(line, column, format!("duplicate key {}{first}", join(&path, &key))));
                        } else {
                            entries.push(Entry { key, key_loc, value: node });
                        }
                    }
                },
                Value::Scalar { .. } => unreachable!("scalars are never on the stack"),
            },
        }
    }
    Ok(root)
}

fn or_root(path: &str) -> &str {
    if path.is_empty() { "the top level" } else { path }
}

fn line_col(loc: &Location) -> (usize, usize) {
    match loc {
        Location::File { line, column, .. } => (*line, *column),
        Location::Override { .. } => (1, 1),
    }
}

/// The dotted path of the mapping keys currently open (for messages).
fn current_path(stack: &[Frame]) -> String {
    let mut path = String::new();
    for frame in stack {
        if let Some((key, _)) = &frame.key {
            push_key(&mut path, key);
        } else if let Value::Seq(items) = &frame.node.value {
            let _ = write!(path, "[{}]", items.len());
        }
    }
    path
}

/// YAML merge keys: entries of `source` (a mapping, or a list of them) that `entries` lacks.
fn merge_into(entries: &mut Vec<Entry>, source: Node) {
    match source.value {
        Value::Map(more) => {
            for e in more {
                if !entries.iter().any(|x| x.key == e.key) {
                    entries.push(e);
                }
            }
        }
        Value::Seq(items) => items.into_iter().for_each(|item| merge_into(entries, item)),
        Value::Scalar { .. } => {}
    }
}
