//! Embedding image folders with a network: the burn model of a checkpoint or an exported ONNX file (tract),
//! (through the runtime's tract engine), with TAO's optional flip feature (the embedding of the image and of its mirror image, averaged).

use super::error::TrainError;
use crate::data::augment::{flip_horizontal, preprocess_config};
use crate::data::{AugmentConfig, LoaderConfig, eval_stream};
use burn::tensor::{Device, Tensor, TensorData};
use reid_eval::Matrix;
use reid_eval::progress::Progress;
use reid_models::ReidModel;
use reid_runtime::engine::{Engine, TractEngine};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Something that maps a batch of normalised `[n, 3, h, w]` images to `[n, d]` embeddings.
pub trait Embedder {
    /// The embeddings of `n` images, row after row.
    fn embed(&self, images: Vec<f32>, n: usize) -> Result<Vec<f32>, TrainError>;
}

/// A burn network in inference mode on `device`.
pub struct BurnEmbedder<'a> {
    /// The network (`model.valid()`).
    pub model: &'a ReidModel,
    /// Where it runs.
    pub device: Device,
    /// Input height and width.
    pub hw: [usize; 2],
}

impl Embedder for BurnEmbedder<'_> {
    fn embed(&self, images: Vec<f32>, n: usize) -> Result<Vec<f32>, TrainError> {
        let [h, w] = self.hw;
        let x = Tensor::<4>::from_data(TensorData::new(images, [n, 3, h, w]), &self.device);
        self.model.embed(x).into_data().try_to_vec::<f32>().map_err(|e| TrainError::Eval(format!("{e:?}")))
    }
}

/// An exported ONNX model on the runtime's tract engine (the deployed CPU path), fed the trainer's preprocessing.
pub struct OnnxEmbedder {
    engine: TractEngine,
}

impl OnnxEmbedder {
    /// Loads and optimises `path` for `[N, 3, h, w]` inputs (symbolic batch) preprocessed as `augment` says.
    pub fn open(path: &Path, augment: &AugmentConfig) -> Result<Self, TrainError> {
        let engine = TractEngine::open(path, Some(&preprocess_config(augment)))
            .map_err(|e| TrainError::Checkpoint { path: path.to_owned(), message: e.to_string() })?;
        Ok(OnnxEmbedder { engine })
    }
}

impl Embedder for OnnxEmbedder {
    fn embed(&self, images: Vec<f32>, n: usize) -> Result<Vec<f32>, TrainError> {
        self.engine.embed_batch(&images, n).map_err(|e| TrainError::Eval(e.to_string()))
    }
}

/// Embeddings of `paths` (rows in path order), `batch_size` images at a time, decoded on `workers` threads.
pub fn embed_paths(
    embedder: &dyn Embedder,
    paths: &[PathBuf],
    augment: &AugmentConfig,
    batch_size: usize,
    workers: usize,
    flip: bool,
    progress: &dyn Progress,
) -> Result<Matrix, TrainError> {
    let cfg = LoaderConfig { augment: augment.clone(), workers, prefetch: 2 };
    let w = augment.width as usize;
    let mut rows: Vec<f32> = Vec::new();
    let mut dim = 0;
    progress.stage("embedding", paths.len() as u64);
    for batch in eval_stream(Arc::new(paths.to_vec()), batch_size, &cfg)? {
        let batch = batch?;
        let n = batch.len();
        let mut out = if flip {
            let mut mirrored = batch.images.clone();
            flip_horizontal(&mut mirrored, w);
            let a = embedder.embed(batch.images, n)?;
            let b = embedder.embed(mirrored, n)?;
            a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect()
        } else {
            embedder.embed(batch.images, n)?
        };
        dim = out.len() / n.max(1);
        rows.append(&mut out);
        progress.advance(n as u64);
    }
    progress.finish_stage();
    Matrix::from_vec(paths.len(), dim, rows).map_err(|e| TrainError::Eval(e.to_string()))
}
