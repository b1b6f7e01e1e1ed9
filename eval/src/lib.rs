//! Person re-identification evaluation: everything that turns embeddings into a score, on any machine.
//!
//! - [`matrix`] and [`distance`]: dense embeddings and batched distances on a blocked GEMM.
//! - [`metrics`]: the field's evaluation protocol (mAP, CMC at every rank, mINP).
//! - [`rerank`]: k-reciprocal re-ranking (Zhong et al., CVPR 2017) from k-nearest lists, sparse Jaccard.
//! - [`plot`] (feature `plot`): CMC curves, sampled matches and training curves as PNG.
//! - [`progress`]: a callback interface so binaries can draw progress bars.
//!
//! This crate depends on no inference engine, no training framework and no network: the gallery service, the
//! runtime and the trainer all build on it.

pub mod distance;
mod lanes;
pub mod matrix;
pub mod metrics;
#[cfg(feature = "plot")]
pub mod plot;
pub mod progress;
pub mod rerank;

pub use matrix::Matrix;
