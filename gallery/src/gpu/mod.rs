//! The GPU path (feature `cuda`): exact top-k over a device copy of the index (kept in step with a serving
//! gallery by [`GpuIndex`]) and re-ranking's all-pairs pass,
//! with `cudarc` (cuBLAS GEMMs, NVRTC-compiled selection kernels). Both give the CPU's answers: same ordering and
//! tie rules, distances equal up to summation order. Nothing here runs without an NVIDIA GPU and its libraries;
//! [`Gpu::open`] reports what is missing.

mod device;
mod rerank;
mod search;
mod served;

pub use device::{Gpu, MAX_K, compile_kernels, missing_libraries};
pub use rerank::GpuAllPairs;
pub use search::GpuGallery;
pub use served::GpuIndex;

use thiserror::Error;

/// GPU failures.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No usable device or library.
    #[error("GPU unavailable: {0}")]
    Unavailable(String),
    /// A CUDA driver call failed.
    #[error("CUDA driver: {0}")]
    Driver(String),
    /// A cuBLAS call failed.
    #[error("cuBLAS: {0}")]
    Blas(String),
    /// NVRTC could not compile the kernels.
    #[error("NVRTC could not compile the gallery kernels: {0}")]
    Compile(String),
    /// Sizes past what the kernels or cuBLAS take.
    #[error("too large for the GPU path: {0}")]
    TooLarge(String),
    /// Mismatched buffer shapes.
    #[error("shape: {0}")]
    Shape(String),
    /// The device copy no longer matches the index.
    #[error("GPU copy holds {gpu_rows} rows but the index has {index_rows}: upload it again")]
    Stale {
        /// Rows on the device.
        gpu_rows: usize,
        /// Rows in the index.
        index_rows: usize,
    },
}
