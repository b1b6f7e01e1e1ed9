//! Errors of the spec file, each naming the key at fault and where its value came from.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

/// Where a value of the spec came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A YAML document: its name (file path or the `origin` given to [`Spec::parse`](super::Spec::parse)), 1-based
    /// line and column.
    File {
        /// File name or origin.
        origin: Arc<str>,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
    },
    /// A `key=value` override of the command line.
    Override {
        /// The override as given.
        argument: String,
    },
}

impl Location {
    /// The line in the YAML document, when the value came from one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Location::File { line, .. } => Some(*line),
            Location::Override { .. } => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File { origin, line, column } => write!(f, "{origin} line {line} column {column}"),
            Location::Override { argument } => write!(f, "override `{argument}`"),
        }
    }
}

/// ` (at LOCATION)` or nothing.
pub(crate) struct At<'a>(pub &'a Option<Location>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, " ({location})"),
            None => Ok(()),
        }
    }
}

/// ` (did you mean X?)` or nothing.
pub(crate) struct DidYouMean<'a>(pub &'a Option<String>);

impl fmt::Display for DidYouMean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (did you mean {s}?)"),
            None => Ok(()),
        }
    }
}

/// A spec that cannot be used; every message names the key (full dotted path) and, where known, the file and line.
#[derive(Debug, Error)]
pub enum SpecError {
    /// The spec file cannot be read.
    #[error("cannot read spec file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not valid YAML, or not a mapping of sections.
    #[error("{origin} line {line} column {column}: {message}")]
    Syntax {
        /// File name or origin.
        origin: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What the parser found.
        message: String,
    },
    /// A key the spec does not define (in the file or in an override).
    #[error("unknown key {key}{}{}", in_location(.location), DidYouMean(.suggestion))]
    UnknownKey {
        /// Full dotted path of the key.
        key: String,
        /// Where it was given.
        location: Option<Location>,
        /// The nearest known key, if one is close.
        suggestion: Option<String>,
    },
    /// An override that is not `key=value`.
    #[error("override `{argument}`: {message}")]
    Override {
        /// The override as given.
        argument: String,
        /// What is wrong.
        message: String,
    },
    /// A value of the wrong type (a string where a number belongs, a list where a mapping belongs, ...).
    #[error("{key}: {message}{}", At(.location))]
    Type {
        /// Full dotted path of the key.
        key: String,
        /// What was expected and found.
        message: String,
        /// Where the value was given.
        location: Option<Location>,
    },
    /// A value out of its range, or inconsistent with another key.
    #[error("{key} = {value} {message}{}", At(.location))]
    Invalid {
        /// Full dotted path of the key.
        key: String,
        /// The value given, as text.
        value: String,
        /// The rule it breaks, e.g. `is out of range [0, 1]`.
        message: String,
        /// Where the value was given.
        location: Option<Location>,
    },
    /// A `${...}` reference that cannot be resolved.
    #[error("{key}: {message}{}", At(.location))]
    Interpolation {
        /// Full dotted path of the key whose value holds the reference.
        key: String,
        /// The variable (`results_dir`, `dataset.batch_size`, `oc.env:HOME`).
        variable: String,
        /// What is wrong.
        message: String,
        /// Where the value was given.
        location: Option<Location>,
    },
    /// The resolved spec cannot be written as YAML.
    #[error("cannot write the spec as YAML: {0}")]
    Serialize(String),
}

fn in_location(location: &Option<Location>) -> String {
    match location {
        Some(Location::File { origin, line, .. }) => format!(" in {origin} line {line}"),
        Some(location @ Location::Override { .. }) => format!(" in {location}"),
        None => String::new(),
    }
}

impl SpecError {
    /// The full dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            SpecError::UnknownKey { key, .. }
            | SpecError::Type { key, .. }
            | SpecError::Invalid { key, .. }
            | SpecError::Interpolation { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Where the offending value was given, if known.
    pub fn location(&self) -> Option<&Location> {
        match self {
            SpecError::UnknownKey { location, .. }
            | SpecError::Type { location, .. }
            | SpecError::Invalid { location, .. }
            | SpecError::Interpolation { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    /// Sets the location of a key-naming error that has none.
    pub(crate) fn or_location(mut self, found: Option<&Location>) -> Self {
        if let SpecError::UnknownKey { location, .. }
        | SpecError::Type { location, .. }
        | SpecError::Invalid { location, .. }
        | SpecError::Interpolation { location, .. } = &mut self
            && location.is_none()
        {
            *location = found.cloned();
        }
        self
    }
}
