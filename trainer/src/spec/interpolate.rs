//! `${...}` interpolation, as OmegaConf does it for TAO specs: `${results_dir}` (a top-level key),
//! `${section.key}`, `${.sibling}` (relative), `${oc.env:NAME}` / `${oc.env:NAME,default}` (environment);
//! `\${` is a literal `${`. A value that is exactly one reference takes the referenced value with its type
//! (`val_batch_size: ${dataset.batch_size}` stays a number); references inside text are replaced by their text.

use super::error::SpecError;
use super::tree::{Node, Value};
use std::collections::HashMap;

/// The longest text interpolation may build for one value: references inside text copy the referenced text, so a
/// chain of keys each using the previous one several times would otherwise grow exponentially.
pub(crate) const TEXT_LIMIT: usize = 65_536;

/// Keys whose default is derived from `results_dir`.
const DERIVED: [&str; 4] = ["train.results_dir", "evaluate.results_dir", "inference.results_dir", "export.results_dir"];

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Resolves every reference of `root`; `defaults` answers for keys the spec does not set.
pub(crate) fn interpolate(root: &mut Node, defaults: &Node) -> Result<(), SpecError> {
    let mut targets = Vec::new();
    collect(root, &mut Vec::new(), &mut targets);
    if targets.is_empty() {
        return Ok(());
    }
    let snapshot = root.clone();
    let mut resolver = Resolver { root: &snapshot, defaults, cache: HashMap::new(), stack: Vec::new() };
    let mut resolved = Vec::with_capacity(targets.len());
    for path in &targets {
        let node = node_at(&snapshot, path).expect("collected path");
        resolved.push(resolver.resolve_node(node, &dotted(path))?);
    }
    for (path, node) in targets.iter().zip(resolved) {
        *node_at_mut(root, path).expect("collected path") = node;
    }
    Ok(())
}

fn collect(node: &Node, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match &node.value {
        Value::Scalar { text, .. } => {
            if text.contains("${") {
                out.push(path.clone());
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                collect(item, path, out);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for e in entries {
                path.push(Seg::Key(e.key.clone()));
                collect(&e.value, path, out);
                path.pop();
            }
        }
    }
}

fn dotted(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn node_at<'a>(node: &'a Node, path: &[Seg]) -> Option<&'a Node> {
    path.iter().try_fold(node, |n, seg| match (seg, &n.value) {
        (Seg::Key(k), Value::Map(_)) => n.get(k),
        (Seg::Index(i), Value::Seq(items)) => items.get(*i),
        _ => None,
    })
}

fn node_at_mut<'a>(node: &'a mut Node, path: &[Seg]) -> Option<&'a mut Node> {
    path.iter().try_fold(node, |n, seg| match (seg, &mut n.value) {
        (Seg::Key(k), Value::Map(entries)) => entries.iter_mut().find(|e| &e.key == k).map(|e| &mut e.value),
        (Seg::Index(i), Value::Seq(items)) => items.get_mut(*i),
        _ => None,
    })
}

struct Resolver<'a> {
    root: &'a Node,
    defaults: &'a Node,
    cache: HashMap<String, Node>,
    stack: Vec<String>,
}

impl Resolver<'_> {
    /// The value of a node with its references resolved; `key` is its dotted path (for messages and relative
    /// references).
    fn resolve_node(&mut self, node: &Node, key: &str) -> Result<Node, SpecError> {
        let Value::Scalar { text, quoted } = &node.value else { return Ok(node.clone()) };
        let error = |variable: &str, message: String| SpecError::Interpolation {
            key: key.to_owned(),
            variable: variable.to_owned(),
            message,
            location: Some(node.loc.clone()),
        };
        let mut out = String::new();
        let mut rest = text.as_str();
        let mut pieces = 0;
        let mut whole: Option<Node> = None;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("\\${") {
                out.push_str("${");
                rest = after;
                pieces += 1;
                continue;
            }
            if let Some(after) = rest.strip_prefix("${") {
                let Some(end) = after.find('}') else {
                    return Err(error(after, format!("`${{{after}` has no closing `}}`")));
                };
                let variable = after[..end].trim();
                rest = &after[end + 1..];
                let value = self.lookup(variable, key).map_err(|message| error(variable, message))?;
                pieces += 1;
                match &value.value {
                    Value::Scalar { text, .. } if !value.is_null() => {
                        if out.len() + text.len() > TEXT_LIMIT {
                            return Err(error(
                                variable,
                                format!("the interpolated text grows beyond {TEXT_LIMIT} bytes"),
                            ));
                        }
                        out.push_str(text);
                    }
                    Value::Scalar { .. } => {
                        let name = absolute_key(variable, key).unwrap_or_else(|| variable.to_owned());
                        return Err(error(variable, format!("${{{variable}}} is used but {name} is not set")));
                    }
                    _ => {}
                }
                whole = Some(value);
                continue;
            }
            let next = [rest.find("${"), rest.find("\\${")].into_iter().flatten().min().unwrap_or(rest.len());
            let next = if next == 0 { 1 } else { next };
            let cut = (next..=rest.len()).find(|&i| rest.is_char_boundary(i)).unwrap_or(rest.len());
            out.push_str(&rest[..cut]);
            rest = &rest[cut..];
            pieces += 1;
        }
        match whole {
            // Exactly one reference and nothing else: the referenced value, with its type.
            Some(mut value) if pieces == 1 => {
                value.relocate(&node.loc);
                Ok(value)
            }
            Some(value) if !matches!(value.value, Value::Scalar { .. }) => {
                Err(error(key, "a list or mapping cannot be interpolated into text".to_owned()))
            }
            _ => Ok(Node::scalar(out, *quoted, node.loc.clone())),
        }
    }

    /// The resolved value of a variable, or a message saying why there is none.
    fn lookup(&mut self, variable: &str, from: &str) -> Result<Node, String> {
        if let Some((resolver, argument)) = variable.split_once(':') {
            return match resolver.trim() {
                "oc.env" | "env" => {
                    let (name, default) = match argument.split_once(',') {
                        Some((name, default)) => (name.trim(), Some(default.trim())),
                        None => (argument.trim(), None),
                    };
                    match (std::env::var(name), default) {
                        (Ok(value), _) => Ok(Node::scalar(value, false, self.root.loc.clone())),
                        (Err(_), Some(default)) => {
                            let default = default.trim_matches(|c| c == '\'' || c == '"');
                            Ok(Node::scalar(default, false, self.root.loc.clone()))
                        }
                        (Err(_), None) => Err(format!("environment variable {name} (in ${{{variable}}}) is not set")),
                    }
                }
                other => Err(format!("unknown resolver `{other}` in ${{{variable}}} (known: oc.env)")),
            };
        }
        let absolute =
            absolute_key(variable, from).ok_or_else(|| format!("${{{variable}}} goes above the top level"))?;
        if let Some(done) = self.cache.get(&absolute) {
            return Ok(done.clone());
        }
        let path: Vec<&str> = absolute.split('.').collect();
        let derived;
        let node = match self.root.at(&path) {
            Some(node) => node,
            // A section's results_dir defaults to `${results_dir}/<section>`, as after typing.
            None if DERIVED.contains(&absolute.as_str()) => {
                derived = Node::scalar(format!("${{results_dir}}/{}", path[0]), false, self.root.loc.clone());
                &derived
            }
            None => match self.defaults.at(&path) {
                Some(node) => node,
                None => return Err(format!("unknown variable ${{{variable}}}")),
            },
        };
        if self.stack.contains(&absolute) {
            return Err(format!("${{{variable}}} refers to itself (through {})", self.stack.join(" -> ")));
        }
        self.stack.push(absolute.clone());
        let resolved = self.resolve_node(node, &absolute).map_err(|e| e.to_string());
        self.stack.pop();
        let resolved = resolved?;
        self.cache.insert(absolute, resolved.clone());
        Ok(resolved)
    }
}

/// `a.b` stays; `.x` is a sibling of `from`'s key, `..x` a sibling of its parent, and so on.
fn absolute_key(variable: &str, from: &str) -> Option<String> {
    let dots = variable.chars().take_while(|&c| c == '.').count();
    if dots == 0 {
        return Some(variable.to_owned());
    }
    let mut base: Vec<&str> = from.split('.').collect();
    for _ in 0..dots {
        base.pop()?;
    }
    let rest = &variable[dots..];
    if !rest.is_empty() {
        base.push(rest);
    }
    Some(base.join("."))
}
