//! Errors of model construction, weight import and export.

use std::path::PathBuf;
use thiserror::Error;

/// Something about a model that cannot be done; every message names the key, file or module involved.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The backbone name is not one of the known architectures.
    #[error("model.backbone = `{name}` is not a known backbone: expected one of {known}")]
    UnknownBackbone {
        /// The name given.
        name: String,
        /// The supported names, comma-separated.
        known: String,
    },
    /// A configuration value is out of range.
    #[error("model.{key} = {value} is out of range: expected {expected}")]
    Config {
        /// Spec key (under `model.`).
        key: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// A checkpoint file cannot be read.
    #[error("cannot read checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tensor in a checkpoint has the wrong shape for the model.
    #[error("checkpoint {path}: `{key}` has shape {found:?} but the model expects {expected:?}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor name (as in the checkpoint).
        key: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape in the model.
        expected: Vec<usize>,
    },
    /// The checkpoint does not hold the model's parameters (wrong architecture or wrong file).
    #[error(
        "checkpoint {path} does not fit the {architecture} model: {missing} of its parameters are missing \
         (e.g. {examples}){hint}"
    )]
    Missing {
        /// The file.
        path: PathBuf,
        /// Model description.
        architecture: String,
        /// How many model parameters found nothing.
        missing: usize,
        /// Some of their names.
        examples: String,
        /// Extra advice, possibly empty.
        hint: String,
    },
    /// A whole-network checkpoint holds trained parts the model has no place for (e.g. JPM branches or local
    /// classifiers beyond `devide_length`).
    #[error(
        "checkpoint {path} does not fit the {architecture} model: it holds {count} tensors the model has no \
         place for (e.g. {examples}){hint}"
    )]
    Unexpected {
        /// The file.
        path: PathBuf,
        /// Model description.
        architecture: String,
        /// How many tensors.
        count: usize,
        /// Some of their names.
        examples: String,
        /// Extra advice, possibly empty.
        hint: String,
    },
    /// A position embedding whose grid cannot be resized to the model's patch grid.
    #[error("{origin}: `pos_embed` of shape {shape:?} cannot be resized to the {grid:?} patch grid: {reason}")]
    PosEmbed {
        /// Where it came from (a checkpoint file).
        origin: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The model's grid `[num_y, num_x]`.
        grid: [usize; 2],
        /// Why not.
        reason: String,
    },
    /// A camera or view id beyond the side information embedding.
    #[error("{what} id {id} is beyond the SIE table: model.{key} gives {count} (ids 0..{count})")]
    SideInfo {
        /// `camera` or `view`.
        what: &'static str,
        /// The spec key that sized the table.
        key: &'static str,
        /// The id given.
        id: i64,
        /// How many the table holds.
        count: usize,
    },
    /// Writing a file failed.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// ONNX export failed.
    #[error("ONNX export: {0}")]
    Export(String),
}
