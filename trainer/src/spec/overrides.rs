//! Command-line overrides as TAO (Hydra) takes them: `section.key=value`, `section.sub.key=value`,
//! `results_dir=/x`; values are YAML (`[0.5,0.5,0.5]`, `True`, `"quoted"`). `~key` puts a key back to its default.

use super::error::{Location, SpecError};
use super::tree::{self, Entry, Node, Value};
use std::sync::Arc;

/// One parsed override.
pub(crate) struct Override {
    /// The key path.
    pub path: Vec<String>,
    /// The new value, or `None` to remove the key (back to its default).
    pub value: Option<Node>,
    /// Where it came from.
    pub loc: Location,
}

/// Parses `key=value` (or `~key`).
pub(crate) fn parse(argument: &str) -> Result<Override, SpecError> {
    let loc = Location::Override { argument: argument.to_owned() };
    let bad = |message: &str| SpecError::Override { argument: argument.to_owned(), message: message.to_owned() };
    let trimmed = argument.trim();
    let (key, value) = if let Some(key) = trimmed.strip_prefix('~') {
        (key.split_once('=').map_or(key, |(k, _)| k), None)
    } else {
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(bad("expected key=value, e.g. train.num_epochs=10"));
        };
        (key.trim_start_matches('+'), Some(value))
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("the key is empty"));
    }
    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err(bad("the key has an empty part"));
    }
    let value = value.map(|text| parse_value(text.trim(), &loc));
    Ok(Override { path, value, loc })
}

/// A value as YAML; text YAML cannot read (`*x`, `@y`) is a plain string.
fn parse_value(text: &str, loc: &Location) -> Node {
    let origin: Arc<str> = Arc::from(loc.to_string());
    let mut node = match tree::parse(text, &origin) {
        Ok(Some(node)) => node,
        Ok(None) => Node::scalar("", false, loc.clone()),
        Err(_) => Node::scalar(text, true, loc.clone()),
    };
    node.relocate(loc);
    node
}

/// Applies an override to the user's tree (the key has already been checked against the schema).
pub(crate) fn apply(root: &mut Node, o: Override) {
    let (last, parents) = o.path.split_last().expect("non-empty path");
    let mut node = root;
    for key in parents {
        if !node.is_map() {
            *node = Node::empty_map(o.loc.clone());
        }
        let Value::Map(entries) = &mut node.value else { unreachable!() };
        let index = match entries.iter().position(|e| &e.key == key) {
            Some(i) => i,
            None => {
                entries.push(Entry { key: key.clone(), key_loc: o.loc.clone(), value: Node::empty_map(o.loc.clone()) });
                entries.len() - 1
            }
        };
        node = &mut entries[index].value;
    }
    if !node.is_map() {
        *node = Node::empty_map(o.loc.clone());
    }
    let Value::Map(entries) = &mut node.value else { unreachable!() };
    let existing = entries.iter().position(|e| &e.key == last);
    match (o.value, existing) {
        (Some(value), Some(i)) => {
            entries[i].key_loc = o.loc.clone();
            entries[i].value = value;
        }
        (Some(value), None) => entries.push(Entry { key: last.clone(), key_loc: o.loc, value }),
        (None, Some(i)) => {
            entries.remove(i);
        }
        (None, None) => {}
    }
}
