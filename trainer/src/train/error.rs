//! Errors of training, evaluation and export, each naming the file, folder or key at fault.

use std::path::PathBuf;
use thiserror::Error;

/// Why a run stopped.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The spec is invalid.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// A dataset folder or image is unusable.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The sampler cannot build batches from the training split.
    #[error(transparent)]
    Sampler(#[from] crate::data::sampler::SamplerError),
    /// A loss setting is invalid.
    #[error(transparent)]
    Loss(#[from] crate::loss::LossError),
    /// The network or its weights.
    #[error(transparent)]
    Model(#[from] reid_models::ModelError),
    /// Evaluation failed.
    #[error("evaluation: {0}")]
    Eval(String),
    /// A required spec key is missing.
    #[error("{key} is required{hint}")]
    Missing {
        /// The dotted key.
        key: &'static str,
        /// How to give it.
        hint: String,
    },
    /// A combination of settings this trainer does not support.
    #[error("{key}: {message}")]
    Unsupported {
        /// The dotted key.
        key: &'static str,
        /// Why, and what to do instead.
        message: String,
    },
    /// A checkpoint that cannot be read or written.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An output file that cannot be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS's message.
        message: String,
    },
    /// The loss became NaN or infinite.
    #[error(
        "the loss diverged (value {value}) at epoch {epoch}, batch {batch}: lower train.optim.base_lr or set train.clip_grad_norm"
    )]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// The loss value.
        value: f64,
    },
    /// The exported model does not reproduce the checkpoint.
    #[error("export check failed for {path}: {message}")]
    ExportMismatch {
        /// The ONNX file.
        path: PathBuf,
        /// The difference found.
        message: String,
    },
}

impl TrainError {
    /// A write error for `path`.
    pub fn write(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        TrainError::Write { path: path.to_owned(), message: e.to_string() }
    }
}
