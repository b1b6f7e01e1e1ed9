//! Person re-identification runtime: everything a deployed ReID model needs that is neither training nor scoring.
//!
//! - [`dataset`]: Market-1501 and camera-less (folder per identity) layouts, file-name grammar, dataset checks.
//! - [`engine`]: inference engines behind one [`engine::Engine`] trait (pure-Rust `tract`, ONNX Runtime with
//!   feature `ort`), the one preprocessing every consumer shares and the model artifact's metadata.
//! - [`embeddings`]: the TAO inference JSON (`[{"img_path", "embedding"}]`).
//! - [`onnx_graph`]: ONNX models built in code (the export's writer; small test and benchmark models).
//!
//! Distances, evaluation, re-ranking and progress reporting live in `reid-eval`, synthetic data in `reid-synth`.
//! This crate never depends on a training framework: an edge build carries only inference code.

pub mod dataset;
pub mod embeddings;
pub mod engine;
pub mod onnx_graph;
