//! Inference engines behind one [`Engine`] trait, the exact evaluation preprocessing of the trainer, and the
//! model artifact's description ([`ModelInfo`]).
//!
//! - [`tract`]: the pure-Rust CPU engine (nothing to install).
//! - [`preprocess`]: decode, bilinear resize, scale, mean/std, planar CHW — the trainer's eval transform.
//! - [`ort`]: ONNX Runtime (the engine needs feature `ort`) with the CPU, CUDA and TensorRT providers, loaded at run time.
//! - [`select`]: one engine by name (`auto`, `tract`, `ort-cpu`, `cuda`, `tensorrt`).
//! - [`model_info`]: input/output names and shapes and the `reid.*` metadata props of an ONNX file.
//!
//! [`embed_paths`] runs any engine over image files in batches, with optional flip averaging and L2
//! normalisation.

pub mod model_info;
pub mod ort;
pub mod preprocess;
pub mod select;
pub mod tract;

pub use model_info::{CameraInput, ModelInfo};
pub use preprocess::{ColorOrder, PreprocessConfig};
pub use select::{EngineKind, OpenedEngine, open_engine};
pub use tract::TractEngine;

use rayon::prelude::*;
use reid_eval::Matrix;
use reid_eval::progress::Progress;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a model cannot be opened or run, or an image cannot be embedded; every variant names the file.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The file cannot be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not a valid ONNX model (truncated, corrupt, unsupported operator).
    #[error("{path} is not a valid ONNX model: {message}")]
    InvalidModel {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The model does not have exactly one image input (besides a camera input its metadata names).
    #[error(
        "{path} has {count} inputs ({names}); a ReID model has exactly one image input, and a camera input only \
         when its metadata names it (`reid.camera_input`)"
    )]
    InputCount {
        /// The model file.
        path: PathBuf,
        /// Number of (non-initializer) graph inputs.
        count: usize,
        /// Their names, comma-separated.
        names: String,
    },
    /// The model has no output.
    #[error("{path} has no output")]
    NoOutput {
        /// The model file.
        path: PathBuf,
    },
    /// The input is not `N x 3 x H x W`, or its fixed size disagrees with the preprocessing.
    #[error("{path}: input `{input}` {message}")]
    InputShape {
        /// The model file.
        path: PathBuf,
        /// Input name.
        input: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `reid.*` metadata property has a value that cannot be parsed.
    #[error("{path}: metadata property `{key}` = `{value}` is invalid: {message}")]
    Metadata {
        /// The model file.
        path: PathBuf,
        /// Property key.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// The model carries no preprocessing metadata and none was given.
    #[error(
        "{path} carries no preprocessing metadata (missing `{missing}`); give the input size, mean and std \
         explicitly (`--height --width --mean --std`)"
    )]
    MissingPreprocess {
        /// The model file.
        path: PathBuf,
        /// The first missing metadata key.
        missing: String,
    },
    /// The engine failed while running the model.
    #[error("running {path} failed: {message}")]
    Run {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A batch buffer whose length is not `n x 3 x H x W`.
    #[error("{path}: a batch of {n} images needs {expected} values, got {got}")]
    BatchShape {
        /// The model file.
        path: PathBuf,
        /// Images in the batch.
        n: usize,
        /// Values expected.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// An image file that does not decode.
    #[error("cannot decode image {path}: {message}")]
    Decode {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The engine options cannot work together (the message names the option).
    #[error("invalid engine options: {message}")]
    Options {
        /// What is wrong.
        message: String,
    },
    /// No usable ONNX Runtime library.
    #[error(
        "no usable ONNX Runtime library (tried: {tried}); run scripts/setup-ort.sh, or point --ort-lib / \
         $ORT_DYLIB_PATH at libonnxruntime.so"
    )]
    Library {
        /// Every place tried and why it failed.
        tried: String,
    },
    /// The execution provider asked for cannot run (and strict mode forbids the CPU fallback).
    #[error("execution provider `{provider}` is unavailable: {reason}")]
    ProviderUnavailable {
        /// The provider asked for.
        provider: String,
        /// Why it cannot run.
        reason: String,
    },
    /// A camera id outside the model's SIE camera table.
    #[error("camera id {id} is outside the {count} cameras (ids 0..{count}) of {path}'s side information table")]
    Camera {
        /// The model file.
        path: PathBuf,
        /// The camera id given.
        id: i64,
        /// Cameras of the table.
        count: usize,
    },
    /// A batch whose camera ids are not one per image.
    #[error("{path}: a batch of {n} images needs {n} camera ids, got {got}")]
    CameraCount {
        /// The model file.
        path: PathBuf,
        /// Images in the batch.
        n: usize,
        /// Camera ids given.
        got: usize,
    },
    /// A folder (searched recursively) with no image file.
    #[error("no images (jpg, png, bmp) under {path}")]
    NoImages {
        /// The folder.
        path: PathBuf,
    },
}

/// Something that maps a batch of preprocessed `[n, 3, h, w]` images (and, for a model with a camera input,
/// one camera id per image) to `[n, d]` embeddings.
pub trait Engine: Send + Sync {
    /// The model this engine runs: names, shapes, preprocessing, normalisation, camera input.
    fn info(&self) -> &ModelInfo;

    /// The raw model outputs (row after row, `n x info().output_dim`) of `n` preprocessed images laid out as
    /// `[n, 3, h, w]` (see [`preprocess::preprocess_image`]), with `cameras` (one 0-based SIE camera id per image)
    /// fed to the camera input of a model that has one (`None`: camera 0 for every image; ignored by a model
    /// without a camera input). Ids are checked by [`ModelInfo::camera_ids`].
    fn embed_batch_cameras(&self, input: &[f32], n: usize, cameras: Option<&[i64]>) -> Result<Vec<f32>, EngineError>;

    /// [`Engine::embed_batch_cameras`] without camera ids (camera 0 for a model with a camera input).
    fn embed_batch(&self, input: &[f32], n: usize) -> Result<Vec<f32>, EngineError> {
        self.embed_batch_cameras(input, n, None)
    }
}

/// The `[n, 3, h, w]` shape of a batch for `info`'s model; [`EngineError::BatchShape`] when `input` does not hold
/// exactly `n >= 1` images.
pub(crate) fn batch_shape(info: &ModelInfo, input: &[f32], n: usize) -> Result<[usize; 4], EngineError> {
    let (h, w) = (info.preprocess.height as usize, info.preprocess.width as usize);
    let expected = n * 3 * h * w;
    if input.len() != expected || n == 0 {
        return Err(EngineError::BatchShape { path: info.path.clone(), n, expected, got: input.len() });
    }
    Ok([n, 3, h, w])
}

/// Checks that `len` output values are `n x D` rows (with the declared `D`, when the model declares one);
/// `shape` is the engine's own description of the output for the error.
pub(crate) fn check_output(
    info: &ModelInfo,
    len: usize,
    n: usize,
    shape: &dyn std::fmt::Debug,
) -> Result<(), EngineError> {
    let err = |message: String| EngineError::Run { path: info.path.clone(), message };
    if len == 0 || !len.is_multiple_of(n) {
        return Err(err(format!("output shape {shape:?} is not {n} x D")));
    }
    if let Some(d) = info.output_dim
        && len != n * d
    {
        return Err(err(format!("output shape {shape:?}, expected {n} x {d}")));
    }
    Ok(())
}

/// How [`embed_paths`] runs an engine.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbedOptions {
    /// Images per engine call.
    pub batch_size: usize,
    /// Average the embeddings of each image and of its mirror image (TAO's flip feature).
    pub flip: bool,
    /// L2-normalise the output rows when the model does not already (always after flip averaging).
    pub l2_normalize: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self { batch_size: 32, flip: false, l2_normalize: true }
    }
}

/// Every image file under `dir` (recursively, by extension), sorted; [`EngineError::NoImages`] when none.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, EngineError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EngineError> {
        let err = |e: std::io::Error| EngineError::Read { path: dir.to_owned(), message: e.to_string() };
        for entry in std::fs::read_dir(dir).map_err(err)? {
            let path = entry.map_err(err)?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().and_then(|e| e.to_str()).is_some_and(crate::dataset::is_image_extension) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    if out.is_empty() {
        return Err(EngineError::NoImages { path: dir.to_owned() });
    }
    out.sort();
    Ok(out)
}

/// Embeddings of `paths` (one row per path, in order): decoded and preprocessed in parallel per batch, run
/// `options.batch_size` at a time, flip-averaged and L2-normalised as `options` says. `progress` gets one
/// `embedding` stage advanced per image. A model with a camera input gets camera 0 for every image
/// ([`embed_paths_cameras`] gives one per path).
pub fn embed_paths(
    engine: &dyn Engine,
    paths: &[PathBuf],
    options: &EmbedOptions,
    progress: &dyn Progress,
) -> Result<Matrix, EngineError> {
    embed_paths_cameras(engine, paths, None, options, progress)
}

/// [`embed_paths`] with one 0-based SIE camera id per path (`cameras.len() == paths.len()`), fed to a model's
/// camera input (and to its mirrored images with `flip`); unused by a model without one.
pub fn embed_paths_cameras(
    engine: &dyn Engine,
    paths: &[PathBuf],
    cameras: Option<&[i64]>,
    options: &EmbedOptions,
    progress: &dyn Progress,
) -> Result<Matrix, EngineError> {
    let info = engine.info();
    let cfg = &info.preprocess;
    let plane = 3 * cfg.height as usize * cfg.width as usize;
    let mut rows: Vec<f32> = Vec::new();
    let mut dim = info.output_dim.unwrap_or(0);
    if let Some(ids) = cameras
        && ids.len() != paths.len()
    {
        return Err(EngineError::CameraCount { path: info.path.clone(), n: paths.len(), got: ids.len() });
    }
    let batch_size = options.batch_size.max(1);
    progress.stage("embedding", paths.len() as u64);
    for (index, chunk) in paths.chunks(batch_size).enumerate() {
        let ids = cameras.map(|c| &c[index * batch_size..index * batch_size + chunk.len()]);
        let images: Vec<Vec<f32>> =
            chunk.par_iter().map(|p| preprocess::load_image(p, cfg)).collect::<Result<_, _>>()?;
        let n = chunk.len();
        let mut batch = Vec::with_capacity(n * plane);
        for image in &images {
            batch.extend_from_slice(image);
        }
        let mut out = engine.embed_batch_cameras(&batch, n, ids)?;
        if options.flip {
            preprocess::flip_horizontal(&mut batch, cfg.width as usize);
            let mirrored = engine.embed_batch_cameras(&batch, n, ids)?;
            for (a, b) in out.iter_mut().zip(&mirrored) {
                *a = 0.5 * (*a + b);
            }
        }
        dim = out.len() / n;
        if options.l2_normalize && (options.flip || !info.l2_normalized) {
            out.chunks_exact_mut(dim.max(1)).for_each(reid_eval::distance::l2_normalize);
        }
        rows.append(&mut out);
        progress.advance(n as u64);
    }
    progress.finish_stage();
    Matrix::from_vec(paths.len(), dim, rows)
        .map_err(|e| EngineError::Run { path: info.path.clone(), message: e.to_string() })
}
