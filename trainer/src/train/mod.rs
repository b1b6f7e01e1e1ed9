//! The training loop and the commands around it: checkpoints with exact resume, validation, evaluation of a
//! checkpoint or an ONNX file, TAO inference JSON, and verified ONNX export.

pub mod checkpoint;
pub mod embed;
pub mod error;
pub mod history;
pub mod ids;
pub mod parallel;
pub mod plan;
pub mod run;
pub mod tasks;
pub mod validate;

pub use error::TrainError;
pub use history::{EpochRecord, Validation};
pub use run::{Silent, TrainObserver, TrainSummary, train};
