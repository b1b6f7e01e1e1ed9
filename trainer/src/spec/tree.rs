//! An untyped YAML tree that remembers where every key and value came from, with the scalar rules of the spec
//! (YAML 1.2 core schema, plus the Python spellings `True`/`False` that TAO specs use) and a small block-style
//! emitter.
//!
//! The spec is read in stages: YAML text -> [`Node`] tree -> overrides -> `${...}` interpolation -> typed
//! [`Spec`](super::Spec). Keeping the tree untyped until the end lets overrides and interpolation work on any key,
//! and keeping a [`Location`] on every node lets each error name the file and line of the value at fault.

use super::error::{Location, SpecError};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

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

// ---------------------------------------------------------------------------------------------------------------
// Parsing

struct Frame {
    node: Node,
    anchor: usize,
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
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| syntax(e.marker().line(), e.marker().col() + 1, e.info().to_owned()))?;
        let here = loc(&span);
        let (node, anchor) = match event {
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
                Some(node) => {
                    let mut node = node.clone();
                    node.loc = here;
                    (node, 0)
                }
                None => return Err(syntax(span.start.line(), span.start.col() + 1, "unknown alias".to_owned())),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let quoted = tagged_str || !matches!(style, ScalarStyle::Plain);
                (Node::scalar(text.into_owned(), quoted, here), anchor)
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame {
                    node: Node { value: Value::Seq(Vec::new()), loc: here },
                    anchor,
                    key: None,
                    merges: vec![],
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame { node: Node::empty_map(here), anchor, key: None, merges: vec![] });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(mut frame) = stack.pop() else { continue };
                if let Value::Map(entries) = &mut frame.node.value {
                    for source in std::mem::take(&mut frame.merges) {
                        merge_into(entries, source);
                    }
                }
                (frame.node, frame.anchor)
            }
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        let path = current_path(&stack);
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

// ---------------------------------------------------------------------------------------------------------------
// Scalars

/// A scalar resolved without a target type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

/// `~`, `null`, `Null`, `NULL` or nothing.
pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// The YAML 1.2 core booleans (which include Python's `True`/`False`).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Booleans where a boolean is expected: the core ones and YAML 1.1's `yes`/`no`/`on`/`off` (PyYAML reads those too).
pub(crate) fn parse_bool_lenient(text: &str) -> Option<bool> {
    parse_bool(text).or(match text {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    })
}

/// Decimal (`_` separators allowed), `0x` and `0o` integers.
pub(crate) fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, digits)
    };
    if digits.is_empty() || digits.starts_with('_') || !digits.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    let value = i128::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if negative { -value } else { value })
}

/// Core-schema floats (`1.5`, `.5`, `1e-5`, `-2.0E3`, `.inf`, `.nan`); integers are floats too.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    match unsigned {
        ".inf" | ".Inf" | ".INF" => return Some(if negative { f64::NEG_INFINITY } else { f64::INFINITY }),
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => return Some(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Some(i as f64);
    }
    let ok = unsigned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'))
        && unsigned.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
        && unsigned.chars().any(|c| c.is_ascii_digit());
    if !ok {
        return None;
    }
    text.replace('_', "").parse::<f64>().ok()
}

/// Resolves an unquoted scalar as the YAML 1.2 core schema does.
pub(crate) fn resolve(text: &str) -> Scalar<'_> {
    if is_null(text) {
        return Scalar::Null;
    }
    if let Some(b) = parse_bool(text) {
        return Scalar::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        if let Ok(u) = u64::try_from(i) {
            return Scalar::UInt(u);
        }
        if let Ok(i) = i64::try_from(i) {
            return Scalar::Int(i);
        }
    }
    match parse_float(text) {
        Some(f) => Scalar::Float(f),
        None => Scalar::Str(text),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Emitting

/// Writes a tree as block-style YAML: mappings one key a line, lists of scalars in flow style (`[40, 70]`).
pub(crate) fn emit(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => emit_entries(&mut out, entries, 0),
        _ => {
            emit_inline(&mut out, node);
            out.push('\n');
        }
    }
    out
}

fn emit_entries(out: &mut String, entries: &[Entry], indent: usize) {
    for e in entries {
        out.push_str(&" ".repeat(indent));
        emit_key(out, &e.key);
        out.push(':');
        match &e.value.value {
            Value::Map(children) if !children.is_empty() => {
                out.push('\n');
                emit_entries(out, children, indent + 2);
            }
            Value::Seq(items) if items.iter().any(|i| !matches!(i.value, Value::Scalar { .. })) => {
                out.push('\n');
                for item in items {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str("- ");
                    match &item.value {
                        Value::Map(children) if !children.is_empty() => {
                            // The first key goes on the dash's line; the rest align under it.
                            let mut nested = String::new();
                            emit_entries(&mut nested, children, indent + 4);
                            out.push_str(nested.trim_start());
                        }
                        _ => {
                            emit_inline(out, item);
                            out.push('\n');
                        }
                    }
                }
            }
            _ => {
                out.push(' ');
                emit_inline(out, &e.value);
                out.push('\n');
            }
        }
    }
}

fn emit_key(out: &mut String, key: &str) {
    if plain_safe(key) {
        out.push_str(key);
    } else {
        out.push_str(&quote(key));
    }
}

/// A value on one line: scalars, flow lists, `{}`.
fn emit_inline(out: &mut String, node: &Node) {
    match &node.value {
        Value::Scalar { text, quoted } => {
            let text = text.replace("${", "\\${");
            if *quoted {
                // Quoted when plain text would read as another type, here or in YAML 1.1 (PyYAML: `no`, `on`).
                if plain_safe(&text) && matches!(resolve(&text), Scalar::Str(_)) && parse_bool_lenient(&text).is_none()
                {
                    out.push_str(&text);
                } else {
                    out.push_str(&quote(&text));
                }
            } else {
                match resolve(&text) {
                    Scalar::Null => out.push_str("null"),
                    Scalar::Bool(b) => out.push_str(if b { "True" } else { "False" }),
                    Scalar::Float(f) => out.push_str(&format_float(f, &text)),
                    Scalar::Int(_) | Scalar::UInt(_) => out.push_str(&text),
                    Scalar::Str(s) if plain_safe(s) && parse_bool_lenient(s).is_none() => out.push_str(s),
                    Scalar::Str(s) => out.push_str(&quote(s)),
                }
            }
        }
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                emit_inline(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                emit_key(out, &e.key);
                out.push_str(": ");
                emit_inline(out, &e.value);
            }
            out.push('}');
        }
    }
}

/// Floats as written, with a `.` before any exponent so that YAML 1.1 readers (PyYAML) also see a float.
fn format_float(f: f64, text: &str) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            ".nan".into()
        } else if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let lower = text.to_ascii_lowercase();
    match lower.split_once('e') {
        Some((mantissa, exponent)) if !mantissa.contains('.') => format!("{mantissa}.0e{exponent}"),
        _ if !lower.contains('.') && !lower.contains('e') => format!("{text}.0"),
        _ => text.to_owned(),
    }
}

/// Whether a string can be written unquoted and read back as the same string.
fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let unsafe_start = first.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let unsafe_inside = s.ends_with(char::is_whitespace)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control() || ",[]{}".contains(c));
    !unsafe_start && !unsafe_inside
}

/// A double-quoted YAML string (JSON's escapes are a subset of YAML's).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Suggestions

/// Edit distance with adjacent transpositions (optimal string alignment): `base_lrr` -> `base_lr` is 1,
/// `modle` -> `model` is 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a typo.
pub(crate) fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
