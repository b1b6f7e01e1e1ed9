//! Person re-identification runtime: everything a deployed ReID model needs that is not training.
//!
//! - [`dataset`]: Market-1501 and camera-less (folder per identity) layouts, file-name grammar, dataset checks.
//! - [`matrix`] and [`distance`]: dense embeddings and batched distances on a blocked GEMM.
//! - [`metrics`]: the field's evaluation protocol (mAP, CMC at every rank, mINP).
//! - [`rerank`]: k-reciprocal re-ranking (Zhong et al., CVPR 2017) from k-nearest lists, sparse Jaccard.
//! - [`engine`]: inference engines behind one [`engine::Engine`] trait (pure-Rust `tract`), the exact eval
//!   preprocessing and the model artifact's metadata.
//! - [`embeddings`]: the TAO inference JSON (`[{"img_path", "embedding"}]`).
//! - [`onnx_graph`]: ONNX models built in code (the export's writer; small test and benchmark models).
//! - [`synth`]: clustered synthetic embedding sets for demos, tests and benchmarks.
//! - [`progress`]: a callback interface so binaries can draw progress bars.
//!
//! This crate never depends on a training framework: an edge build carries only inference code.

pub mod dataset;
pub mod distance;
pub mod embeddings;
pub mod engine;
mod lanes;
pub mod matrix;
pub mod metrics;
pub mod onnx_graph;
pub mod persons;
#[cfg(feature = "plot")]
pub mod plot;
pub mod progress;
pub mod rerank;
pub mod synth;

pub use matrix::Matrix;
