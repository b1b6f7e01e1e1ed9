//! The ONNX Runtime engine (the engine itself, the library loader and calibration need feature `ort`; the
//! options, placement and hardware probes are plain data and always built): the shared library found and loaded at run time, CPU / CUDA /
//! TensorRT providers with a logged CPU fallback (or an error with `strict`), TensorRT fp16/int8 engines cached
//! per model, GPU and TensorRT version, and a report of which provider ran which nodes.
//!
//! - [`library`]: where `libonnxruntime.so` is looked for, its version, the process-wide environment.
//! - [`options`]: what is asked for, and the exact provider option keys it becomes.
//! - [`engine`]: [`OrtEngine`], the [`super::Engine`] implementation.
//! - [`placement`]: nodes per provider, from ONNX Runtime's profiler.
//! - [`calibration`]: int8 calibration tables (activation ranges measured on images).
//! - [`hardware`]: GPU model and TensorRT version, for the engine cache key.

#[cfg(feature = "ort")]
pub mod calibration;
#[cfg(feature = "ort")]
pub mod engine;
pub mod hardware;
#[cfg(feature = "ort")]
pub mod library;
pub mod options;
pub mod placement;

#[cfg(feature = "ort")]
pub use engine::OrtEngine;
pub use options::{BatchProfile, OrtOptions, Precision, Provider, TensorRtOptions};
pub use placement::Placement;
