//! The training loop and the commands around it: checkpoints with exact resume, validation, evaluation of a
//! checkpoint or an ONNX file, TAO inference JSON, and verified ONNX export.
//!
//! A run: [`plan`] resolves the spec once ([`RunPlan`]); [`run`] drives it: [`session`] sets up and resumes,
//! [`epoch`] trains one epoch, [`run`] validates and [`session`] writes checkpoints, all from the plan.

pub mod checkpoint;
pub mod device_note;
pub mod embed;
pub mod epoch;
pub mod error;
pub mod float;
pub mod history;
pub mod ids;
pub mod parallel;
pub mod plan;
pub mod run;
pub mod session;
pub mod tasks;
pub mod validate;

pub use error::TrainError;
pub use history::{EpochRecord, Validation};
pub use plan::RunPlan;
pub use run::{Silent, TrainObserver, TrainSummary, train};
