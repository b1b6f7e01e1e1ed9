//! Embedding image folders with a network: the burn model of a checkpoint or an exported ONNX file (tract),
//! (through the runtime's tract engine), with TAO's optional flip feature (the embedding of the image and of its mirror image, averaged).

use super::error::TrainError;
use crate::data::augment::{flip_horizontal, preprocess_config};
use crate::data::split::sie_camera_ids;
use crate::data::{AugmentConfig, LoaderConfig, eval_stream};
use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_eval::Matrix;
use reid_eval::metrics::Label;
use reid_eval::progress::Progress;
use reid_models::ReidModel;
use reid_runtime::engine::ort::OrtOptions;
use reid_runtime::engine::{Engine, EngineKind, open_engine};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Something that maps a batch of normalised `[n, 3, h, w]` images to `[n, d]` embeddings.
pub trait Embedder {
    /// The embeddings of `n` images, row after row.
    fn embed(&self, images: Vec<f32>, n: usize) -> Result<Vec<f32>, TrainError>;

    /// Cameras of the side information embedding the model takes (0: it takes none).
    fn sie_cameras(&self) -> usize {
        0
    }

    /// [`Embedder::embed`] with the images' 0-based camera ids (ignored by a model without SIE).
    fn embed_side(&self, images: Vec<f32>, n: usize, cameras: &[i64]) -> Result<Vec<f32>, TrainError> {
        let _ = cameras;
        self.embed(images, n)
    }
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
        self.embed_side(images, n, &[])
    }

    fn sie_cameras(&self) -> usize {
        self.model.sie_cameras()
    }

    /// TransReID's test feature takes the query/gallery images' own cameras (`processor.py`: `model(img,
    /// cam_label=camids)`); an empty `cameras` is camera 0 for every image.
    fn embed_side(&self, images: Vec<f32>, n: usize, cameras: &[i64]) -> Result<Vec<f32>, TrainError> {
        let [h, w] = self.hw;
        let x = Tensor::<4>::from_data(TensorData::new(images, [n, 3, h, w]), &self.device);
        let camera = (self.model.sie_cameras() > 0 && !cameras.is_empty())
            .then(|| Tensor::<1, Int>::from_data(TensorData::new(cameras.to_vec(), [cameras.len()]), &self.device));
        let e = self.model.embed_side(x, camera);
        // A float64 device's embeddings are rounded to f32 here, as every embedding the evaluator reads.
        e.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| TrainError::Eval(format!("{e:?}")))
    }
}

/// The 0-based SIE camera ids of `paths` from their evaluation labels (the name's camera minus 1), checked
/// against the model's table, when `embedder` takes cameras; `None` when it takes none. An error names the first
/// image without a camera, with camera 0, or with a camera the table does not have.
pub fn eval_cameras(
    embedder: &dyn Embedder,
    paths: &[PathBuf],
    labels: &[Label],
) -> Result<Option<Vec<i64>>, TrainError> {
    let count = embedder.sie_cameras();
    if count == 0 {
        return Ok(None);
    }
    let ids = sie_camera_ids(paths.iter().map(PathBuf::as_path).zip(labels.iter().map(|l| l.camera)))?;
    if let Some((path, id)) = paths.iter().zip(&ids).find(|(_, id)| **id as usize >= count) {
        return Err(TrainError::Eval(format!(
            "{}: camera id {id} (c{}) is beyond the side information embedding: model.sie_camera gives {count} \
             cameras (ids 0..{count}, the training split's)",
            path.display(),
            id + 1
        )));
    }
    Ok(Some(ids))
}

/// An exported ONNX model on one of the runtime's engines (tract, ONNX Runtime), fed the trainer's preprocessing.
pub struct OnnxEmbedder {
    engine: Box<dyn Engine>,
    description: String,
}

impl OnnxEmbedder {
    /// Loads and optimises `path` on tract (pure Rust, the export check's reference) for `[N, 3, h, w]` inputs
    /// (symbolic batch) preprocessed as `augment` says.
    pub fn open(path: &Path, augment: &AugmentConfig) -> Result<Self, TrainError> {
        Self::open_with(path, augment, EngineKind::Tract)
    }

    /// [`open`](Self::open) on the engine `kind` names (`auto`: ONNX Runtime's CPU provider where its library is
    /// found, else tract).
    pub fn open_with(path: &Path, augment: &AugmentConfig, kind: EngineKind) -> Result<Self, TrainError> {
        let opened = open_engine(kind, path, Some(&preprocess_config(augment)), &OrtOptions::default())
            .map_err(|e| TrainError::Checkpoint { path: path.to_owned(), message: e.to_string() })?;
        Ok(OnnxEmbedder { engine: opened.engine, description: opened.description })
    }

    /// What runs the model, e.g. `tract` or `ONNX Runtime 1.32.0 (CPUExecutionProvider ...)`.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl Embedder for OnnxEmbedder {
    fn embed(&self, images: Vec<f32>, n: usize) -> Result<Vec<f32>, TrainError> {
        self.engine.embed_batch(&images, n).map_err(|e| TrainError::Eval(e.to_string()))
    }

    /// The model's camera input (`reid.sie_cameras`), when it has one.
    fn sie_cameras(&self) -> usize {
        self.engine.info().camera.as_ref().map_or(0, |c| c.count)
    }

    fn embed_side(&self, images: Vec<f32>, n: usize, cameras: &[i64]) -> Result<Vec<f32>, TrainError> {
        let cameras = (!cameras.is_empty()).then_some(cameras);
        self.engine.embed_batch_cameras(&images, n, cameras).map_err(|e| TrainError::Eval(e.to_string()))
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
    embed_paths_side(embedder, paths, None, augment, batch_size, workers, flip, progress)
}

/// [`embed_paths`] with each image's camera id (`cameras[i]` for `paths[i]`, from [`eval_cameras`]).
#[allow(clippy::too_many_arguments)]
pub fn embed_paths_side(
    embedder: &dyn Embedder,
    paths: &[PathBuf],
    cameras: Option<&[i64]>,
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
        // Evaluation batches' labels are the images' indices.
        let cams: Vec<i64> = cameras.map(|c| batch.labels.iter().map(|&i| c[i]).collect()).unwrap_or_default();
        let mut out = if flip {
            let mut mirrored = batch.images.clone();
            flip_horizontal(&mut mirrored, w);
            let a = embedder.embed_side(batch.images, n, &cams)?;
            let b = embedder.embed_side(mirrored, n, &cams)?;
            a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect()
        } else {
            embedder.embed_side(batch.images, n, &cams)?
        };
        dim = out.len() / n.max(1);
        rows.append(&mut out);
        progress.advance(n as u64);
    }
    progress.finish_stage();
    Matrix::from_vec(paths.len(), dim, rows).map_err(|e| TrainError::Eval(e.to_string()))
}
