//! The TAO tasks around training: `evaluate` (a checkpoint or an exported ONNX on the query/test folders),
//! `inference` (TAO inference JSON of embeddings) and `export` (ONNX, checked against the checkpoint).

use super::checkpoint::model_file;
use super::embed::{BurnEmbedder, Embedder, OnnxEmbedder, embed_paths, embed_paths_side, eval_cameras};
use super::error::TrainError;
use super::plan::{self, EvalSettings, required, section_dir};
use super::session::INIT_LOCK;
use super::validate::{Scores, score};
use crate::data::load_eval_set;
use crate::spec::Spec;
use burn::module::Module;
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reid_eval::Matrix;
use reid_eval::metrics::Label;
use reid_eval::progress::Progress;
use reid_models::export::{ExportOptions, export_onnx};
use reid_models::weights::Checkpoint;
use reid_models::{ReidConfig, ReidModel};
use reid_runtime::embeddings::{EmbeddingSet, write_tao_json};
use reid_runtime::engine::EngineKind;
use std::path::{Path, PathBuf};

/// A network restored from a checkpoint written by training (or any PyTorch ReID checkpoint with the same names).
pub fn load_model(spec: &Spec, path: &Path, device: &Device) -> Result<(ReidModel, ReidConfig), TrainError> {
    let file = model_file(path);
    let ckpt = Checkpoint::open(&file)?;
    let (shape, _) = ckpt.f32("classifier.weight").ok_or_else(|| TrainError::Checkpoint {
        path: file.clone(),
        message: "no `classifier.weight` tensor: not a ReID network checkpoint".into(),
    })?;
    // The camera count of a network with a side information embedding is its table's (`base.sie_embed`
    // `[cameras, 1, D]`; views are not used here).
    let cameras = ckpt.f32("base.sie_embed").map_or(0, |(s, _)| s[0]);
    drop(ckpt);
    if cameras > 0 && !spec.model.sie_camera {
        return Err(TrainError::Checkpoint {
            path: file,
            message: format!(
                "holds a camera embedding (base.sie_embed, {cameras} cameras) but model.sie_camera is False: set \
                 model.sie_camera=True to use it"
            ),
        });
    }
    let config = spec.model.reid_config(shape[0], cameras)?;
    // Building draws throw-away initial weights from the backend's process-wide generator: under the lock that
    // seeds training runs, so a run in the same process keeps the weights its seed gives.
    let mut model = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ReidModel::new(&config, device)?
    };
    model.load_checkpoint(&file, &config.backbone)?;
    Ok((super::float::in_device_float(model, device).valid(), config))
}

/// Whether `path` is an ONNX file (by extension).
pub fn is_onnx(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// What `evaluate` found.
#[derive(Debug)]
pub struct Evaluation {
    /// The checkpoint or ONNX file evaluated.
    pub model: PathBuf,
    /// Scores (plain and, with re-ranking, re-ranked) and the final distances.
    pub scores: Scores,
    /// Query images.
    pub query: Vec<PathBuf>,
    /// Query labels.
    pub query_labels: Vec<Label>,
    /// Gallery images.
    pub gallery: Vec<PathBuf>,
    /// Gallery labels.
    pub gallery_labels: Vec<Label>,
    /// The evaluation results folder.
    pub dir: PathBuf,
    /// What ran the model: `burn (CPU)` for a checkpoint, the engine's description for an ONNX file.
    pub engine: String,
}

fn folders(spec: &Spec, query: &Option<PathBuf>, test: &Option<PathBuf>) -> Result<(PathBuf, PathBuf), TrainError> {
    let q = query.clone().or_else(|| spec.dataset.query_dataset_dir.clone());
    let t = test.clone().or_else(|| spec.dataset.test_dataset_dir.clone());
    Ok((required(&q, "evaluate.query_dataset")?, required(&t, "evaluate.test_dataset")?))
}

/// Embeds `paths` with the checkpoint or ONNX file `model`, `batch_size` images at a time; a network with a
/// side information embedding gets each image's camera from its label.
fn embed_with(
    spec: &Spec,
    model: &Path,
    sets: &[(&[PathBuf], &[Label])],
    batch_size: usize,
    engine: &str,
    progress: &dyn Progress,
) -> Result<(Vec<Matrix>, String), TrainError> {
    let EvalSettings { augment, workers, flip, .. } = EvalSettings::from_spec(spec);
    let hw = [augment.height as usize, augment.width as usize];
    let device = Device::flex();
    let burn_model;
    let burn;
    let onnx;
    let (embedder, description): (&dyn Embedder, String) = if is_onnx(model) {
        let kind = engine_kind(engine).map_err(TrainError::Eval)?;
        onnx = OnnxEmbedder::open_with(model, &augment, kind)?;
        tracing::info!("{}: {}", model.display(), onnx.description());
        let description = onnx.description().to_owned();
        (&onnx, description)
    } else {
        burn_model = load_model(spec, model, &device)?.0;
        burn = BurnEmbedder { model: &burn_model, device: device.clone(), hw };
        (&burn, "burn (CPU)".to_owned())
    };
    let matrices: Vec<Matrix> = sets
        .iter()
        .map(|(paths, labels)| {
            let cameras = eval_cameras(embedder, paths, labels)?;
            embed_paths_side(embedder, paths, cameras.as_deref(), &augment, batch_size, workers, flip, progress)
        })
        .collect::<Result<_, TrainError>>()?;
    Ok((matrices, description))
}

/// The engine an `evaluate.engine`/`inference.engine` value names (empty: `auto`).
pub fn engine_kind(value: &str) -> Result<EngineKind, String> {
    if value.trim().is_empty() { Ok(EngineKind::Auto) } else { value.parse() }
}

/// Evaluates `evaluate.checkpoint` (a training checkpoint or an `.onnx` file) on the query/test folders.
pub fn evaluate(spec: &Spec, progress: &dyn Progress) -> Result<Evaluation, TrainError> {
    let e = &spec.evaluate;
    let model = required(&e.checkpoint, "evaluate.checkpoint")?;
    let (q, t) = folders(spec, &e.query_dataset, &e.test_dataset)?;
    let set = load_eval_set(&q, &t)?;
    let bs = e.batch_size.unwrap_or(spec.dataset.val_batch_size).max(1);
    let (mut m, engine) = embed_with(
        spec,
        &model,
        &[(&set.query, &set.query_labels), (&set.gallery, &set.gallery_labels)],
        bs,
        &e.engine,
        progress,
    )?;
    let g = m.pop().unwrap_or_default();
    let qm = m.pop().unwrap_or_default();
    let scores = score(qm, &set.query_labels, g, &set.gallery_labels, plan::rerank(spec).as_ref())?;
    Ok(Evaluation {
        model,
        scores,
        query: set.query,
        query_labels: set.query_labels,
        gallery: set.gallery,
        gallery_labels: set.gallery_labels,
        dir: section_dir(spec, e.results_dir.as_deref(), "evaluate"),
        engine,
    })
}

/// Writes the TAO inference JSON (query images, then test images) of `inference.checkpoint`; returns its path and
/// the number of embeddings.
pub fn inference(spec: &Spec, progress: &dyn Progress) -> Result<(PathBuf, usize), TrainError> {
    let i = &spec.inference;
    let model = required(&i.checkpoint, "inference.checkpoint")?;
    let (q, t) = folders(spec, &i.query_dataset, &i.test_dataset)?;
    let set = load_eval_set(&q, &t)?;
    let bs = i.batch_size.unwrap_or(spec.dataset.val_batch_size).max(1);
    let (m, engine) = embed_with(
        spec,
        &model,
        &[(&set.query, &set.query_labels), (&set.gallery, &set.gallery_labels)],
        bs,
        &i.engine,
        progress,
    )?;
    tracing::info!("inference: {} on {engine}", model.display());
    let dim = m.first().map_or(0, Matrix::cols);
    let paths: Vec<String> = set.query.iter().chain(&set.gallery).map(|p| p.display().to_string()).collect();
    let values: Vec<f32> = m.iter().flat_map(|x| x.as_slice().to_vec()).collect();
    let n = paths.len();
    let embeddings = Matrix::from_vec(n, dim, values).map_err(|e| TrainError::Eval(e.to_string()))?;
    let out = i
        .output_file
        .clone()
        .unwrap_or_else(|| section_dir(spec, i.results_dir.as_deref(), "inference").join("inference.json"));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| TrainError::write(parent, e))?;
    }
    write_tao_json(&out, &EmbeddingSet { paths, embeddings }).map_err(|e| TrainError::write(&out, e))?;
    Ok((out, n))
}

/// What `export` wrote and how closely the ONNX model reproduces the checkpoint.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The ONNX file.
    pub onnx: PathBuf,
    /// The checkpoint exported.
    pub checkpoint: PathBuf,
    /// Largest difference between ONNX (tract) and burn embeddings, relative to the largest magnitude.
    pub max_rel_diff: f32,
    /// Images in the check batch.
    pub checked: usize,
    /// Embedding dimension.
    pub dim: usize,
}

/// Largest tolerated relative difference between the exported model and the checkpoint.
pub const EXPORT_TOLERANCE: f32 = 1e-4;

/// Exports `export.checkpoint` to `export.onnx_file` and checks the ONNX model (tract) against the burn network on
/// a batch of query images (or seeded noise when no query folder is set); fails above [`EXPORT_TOLERANCE`].
pub fn export(spec: &Spec, progress: &dyn Progress) -> Result<Exported, TrainError> {
    let x = &spec.export;
    let checkpoint = required(&x.checkpoint, "export.checkpoint")?;
    let onnx =
        x.onnx_file.clone().unwrap_or_else(|| section_dir(spec, x.results_dir.as_deref(), "export").join("model.onnx"));
    if let Some(parent) = onnx.parent() {
        std::fs::create_dir_all(parent).map_err(|e| TrainError::write(parent, e))?;
    }
    let device = Device::flex();
    let (model, config) = load_model(spec, &checkpoint, &device)?;
    let augment = plan::eval_augment(spec);
    let opts = ExportOptions {
        backbone_name: spec.model.backbone.clone(),
        pixel_mean: augment.mean,
        pixel_std: augment.std,
        l2_normalize: false,
    };
    export_onnx(&model, &config, &opts, &onnx)?;
    // The check: real query images when there are some, 8 at most, else seeded noise.
    let hw = [augment.height as usize, augment.width as usize];
    let sample: Vec<PathBuf> = spec
        .dataset
        .query_dataset_dir
        .as_deref()
        .and_then(|q| load_eval_set(q, spec.dataset.test_dataset_dir.as_deref().unwrap_or(q)).ok())
        .map(|s| s.query.into_iter().take(8).collect())
        .unwrap_or_default();
    let (a, b, n) = if sample.is_empty() {
        let n = 4;
        let mut rng = StdRng::seed_from_u64(0);
        let noise: Vec<f32> = (0..n * 3 * hw[0] * hw[1]).map(|_| rng.random_range(-2.0f32..2.0)).collect();
        let burn = BurnEmbedder { model: &model, device: device.clone(), hw }.embed(noise.clone(), n)?;
        let tract = OnnxEmbedder::open(&onnx, &augment)?.embed(noise, n)?;
        (burn, tract, n)
    } else {
        let burn = BurnEmbedder { model: &model, device: device.clone(), hw };
        let a = embed_paths(&burn, &sample, &augment, 8, 1, false, progress)?;
        let b = embed_paths(&OnnxEmbedder::open(&onnx, &augment)?, &sample, &augment, 8, 1, false, progress)?;
        (a.as_slice().to_vec(), b.as_slice().to_vec(), sample.len())
    };
    let scale = a.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
    let max_rel_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max) / scale;
    if a.len() != b.len() || max_rel_diff.is_nan() || max_rel_diff > EXPORT_TOLERANCE {
        return Err(TrainError::ExportMismatch {
            path: onnx,
            message: format!(
                "ONNX and checkpoint embeddings differ by {max_rel_diff:.3e} (relative; tolerance {EXPORT_TOLERANCE:.0e}) on {n} images"
            ),
        });
    }
    Ok(Exported { onnx, checkpoint, max_rel_diff, checked: n, dim: config.feat_dim })
}
