//! A small block-style YAML emitter for the resolved spec: mappings one key a line, lists of scalars in flow
//! style, strings quoted wherever plain text would read back as another type.

use super::scalar::{Scalar, parse_bool_lenient, resolve};
use super::{Entry, Node, Value};
use std::fmt::Write as _;

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
