//! The training loop: epochs of P x K batches through the network, the recipe's losses, grouped optimiser steps,
//! periodic validation and checkpoints, and exact resume.

use super::checkpoint::{self, RunState, files};
use super::embed::{BurnEmbedder, embed_paths};
use super::error::TrainError;
use super::history::{EpochRecord, Validation, write_jsonl};
use super::parallel::{parallel_step, split_batch};
use super::plan;
use super::validate::{score, summary};
use crate::data::sampler::{Sampler, epoch_seed};
use crate::data::{LoaderConfig, load_eval_set, load_train_set, train_stream};
use crate::loss::{CenterLoss, ReidLoss};
use crate::optim::{GroupedOptimizer, clip_global_norm};
use crate::spec::{PretrainChoice, Spec};
use burn::module::Module;
use burn::optim::{GradientsParams, OptimizerRecord};
use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_models::ReidModel;
use reid_runtime::progress::{NoProgress, Progress};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Serialises seeding and weight initialisation across runs in one process.
static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What the loop reports while it runs (the CLI draws progress bars from it).
pub trait TrainObserver {
    /// An epoch of `batches` batches starts.
    fn epoch_start(&mut self, _epoch: usize, _num_epochs: usize, _batches: usize) {}
    /// A batch finished: running means of the epoch so far.
    fn batch_end(&mut self, _done: usize, _loss: f64, _accuracy: f64, _lr: f64) {}
    /// An epoch finished (validation included when it ran).
    fn epoch_end(&mut self, _record: &EpochRecord) {}
    /// A one-line message (checkpoint written, validation started, ...).
    fn message(&mut self, _text: &str) {}
    /// Progress of long stages (embedding for validation).
    fn progress(&self) -> &dyn Progress {
        &NoProgress
    }
}

/// An observer that reports nothing.
pub struct Silent;

impl TrainObserver for Silent {}

/// Where a finished run left its results.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// The training results folder.
    pub dir: PathBuf,
    /// The final network.
    pub last_model: PathBuf,
    /// The network with the best validation mAP, when validation ran.
    pub best_model: Option<PathBuf>,
    /// Every epoch's record.
    pub history: Vec<EpochRecord>,
    /// The metrics log.
    pub metrics: PathBuf,
    /// Validation of the network before its first training step (not on resumed runs).
    pub initial: Option<Validation>,
}

/// The devices training runs on: CUDA `gpu_ids` in a `cuda` build (several ids: data-parallel), the CPU
/// otherwise (`gpu_ids` is then ignored).
pub fn training_devices(spec: &Spec) -> Vec<Device> {
    #[cfg(feature = "cuda")]
    {
        let ids = if spec.train.gpu_ids.is_empty() { vec![0] } else { spec.train.gpu_ids.clone() };
        ids.into_iter().map(Device::cuda).collect()
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = spec;
        vec![Device::flex()]
    }
}

fn resolve_resume(spec: &Spec, dir: &Path) -> Option<PathBuf> {
    spec.train.resume_training_checkpoint_path.clone().map(|p| checkpoint::checkpoint_dir(&p)).or_else(|| {
        // TAO resumes from the latest checkpoint of the results folder when one exists.
        checkpoint::latest(&dir.join("checkpoints"))
    })
}

fn image_tensor(images: Vec<f32>, n: usize, hw: [usize; 2], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(images, [n, 3, hw[0], hw[1]]), device)
}

fn label_tensor(labels: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(v, [labels.len()]), device)
}

fn centers_to_file(centers: &CenterLoss, path: &Path) -> Result<(), TrainError> {
    let t = centers.centers.val();
    let [c, d] = t.dims();
    let values = t.into_data().try_to_vec::<f32>().map_err(|e| TrainError::write(path, format!("{e:?}")))?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![c, d], &bytes)
        .map_err(|e| TrainError::write(path, e))?;
    let data = safetensors::serialize([("centers", view)], None).map_err(|e| TrainError::write(path, e))?;
    std::fs::write(path, data).map_err(|e| TrainError::write(path, e))
}

fn centers_from_file(path: &Path, device: &Device) -> Result<CenterLoss, TrainError> {
    let err = |m: String| TrainError::Checkpoint { path: path.to_owned(), message: m };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
    let t = st.tensor("centers").map_err(|e| err(e.to_string()))?;
    let shape = t.shape().to_vec();
    let values: Vec<f32> = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let tensor = Tensor::<2>::from_data(TensorData::new(values, [shape[0], shape[1]]), device).require_grad();
    Ok(CenterLoss::from_centers(tensor))
}

/// The metadata saved with a network: epoch, classifier width, backbone.
fn model_metadata(spec: &Spec, epoch: usize, num_classes: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("reid.epoch".to_owned(), epoch.to_string()),
        ("reid.num_classes".to_owned(), num_classes.to_string()),
        ("reid.backbone".to_owned(), spec.model.backbone.clone()),
    ])
}

/// Trains the network the spec describes on [`training_devices`]; returns where the results went.
pub fn train(spec: &Spec, observer: &mut dyn TrainObserver) -> Result<TrainSummary, TrainError> {
    train_on(spec, &training_devices(spec), observer)
}

/// [`train`] on the given devices (more than one: data-parallel steps, see [`super::parallel`]).
pub fn train_on(spec: &Spec, devices: &[Device], observer: &mut dyn TrainObserver) -> Result<TrainSummary, TrainError> {
    let dir = plan::section_dir(spec, spec.train.results_dir.as_deref(), "train");
    let ckpt_root = dir.join("checkpoints");
    std::fs::create_dir_all(&ckpt_root).map_err(|e| TrainError::write(&ckpt_root, e))?;
    for note in spec.notes() {
        observer.message(&note);
    }
    let train_dir = plan::required(&spec.dataset.train_dataset_dir, "dataset.train_dataset_dir")?;
    let train_set = load_train_set(&train_dir)?;
    let num_classes = train_set.num_classes;
    if spec.dataset.num_classes != num_classes {
        observer.message(&format!(
            "dataset.num_classes = {} but {} holds {num_classes} identities: the classifier gets {num_classes} outputs",
            spec.dataset.num_classes,
            train_dir.display()
        ));
    }
    let eval_set = match (&spec.dataset.query_dataset_dir, &spec.dataset.test_dataset_dir) {
        (Some(q), Some(g)) => Some(load_eval_set(q, g)?),
        _ => {
            observer.message("no query/test folders: training without validation");
            None
        }
    };
    let config = spec.model.reid_config(num_classes)?;
    let hw = [config.input_height, config.input_width];
    let device = devices.first().cloned().unwrap_or_else(Device::flex);
    let ad = device.clone().autodiff();
    let replicas: Vec<Device> = devices.iter().map(|d| d.clone().autodiff()).collect();
    let seed = spec.train.seed;
    // The backend's generator is process-wide: seeding and drawing the initial weights happen under one lock, so
    // two runs in one process (tests, notebooks) each get the weights their seed gives.
    let (mut model, loss, mut centers) = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        device.seed(seed);
        let model = super::ids::with_path_ids(ReidModel::new(&config, &device)?);
        let loss = ReidLoss::new(&plan::loss_options(spec))?;
        let centers = loss.center.then(|| CenterLoss::new(num_classes, config.feat_dim, &ad));
        (model, loss, centers)
    };
    let mut optim = GroupedOptimizer::new(plan::optim_settings(spec));
    if replicas.len() > 1 && loss.center {
        return Err(TrainError::Unsupported {
            key: "model.with_center_loss",
            message: "the center loss trains on one device only: set it False or give train.gpu_ids one id".into(),
        });
    }
    // Identity chunk size of a batch (whole chunks go to one device).
    let k = if plan::sampler_kind(spec).is_identity_batched() { spec.dataset.num_instances } else { 1 };
    let mut state = RunState { epoch: 0, seed, num_classes, history: Vec::new(), best: None };

    if let Some(resume) = resolve_resume(spec, &dir) {
        state = checkpoint::read_state(&resume)?;
        if state.num_classes != num_classes {
            return Err(TrainError::Checkpoint {
                path: resume,
                message: format!(
                    "was trained on {} identities, the training folder has {num_classes}",
                    state.num_classes
                ),
            });
        }
        model.load_checkpoint(&resume.join(files::MODEL), &config.backbone)?;
        let opt_path = resume.join(files::OPTIMIZER);
        let record = OptimizerRecord::load(&opt_path)
            .map_err(|e| TrainError::Checkpoint { path: opt_path.clone(), message: format!("{e:?}") })?;
        optim = optim.load_record(record);
        if loss.center {
            centers = Some(centers_from_file(&resume.join(files::CENTERS), &ad)?);
        }
        observer.message(&format!("resumed from {} (epoch {})", resume.display(), state.epoch));
    } else if let (Some(path), true) =
        (&spec.model.pretrained_model_path, spec.model.pretrain_choice != PretrainChoice::None)
    {
        let report = model.load_pretrained(path, &config.backbone)?;
        observer.message(&format!("loaded {} pretrained backbone tensors from {}", report.loaded, path.display()));
    }
    let mut model = model.to_device(&ad).train();

    let sampler = Sampler::new(
        plan::sampler_kind(spec),
        &train_set.labels(),
        spec.dataset.batch_size,
        spec.dataset.num_instances,
    )?;
    let schedule = plan::schedule(spec);
    let loader =
        LoaderConfig { augment: plan::train_augment(spec), workers: spec.dataset.num_workers.max(1), prefetch: 2 };
    let paths = Arc::new(train_set.items.iter().map(|i| i.path.clone()).collect::<Vec<_>>());
    let labels = Arc::new(train_set.labels());
    let metrics_path = dir.join("metrics.jsonl");
    let num_epochs = spec.train.num_epochs;
    let center_settings = (spec.train.optim.center_loss_weight, spec.train.optim.center_lr);
    let best_model = dir.join("model_best.safetensors");

    // The untrained network's score, so a run shows how much it learned.
    let initial = match (&eval_set, state.epoch == 0 && spec.train.validation_interval > 0) {
        (Some(set), true) => {
            let v = validate(spec, &model.valid(), &device, set, observer.progress())?;
            observer.message(&format!("before training: val mAP {:.4} rank-1 {:.4}", v.map, v.rank1));
            Some(v)
        }
        _ => None,
    };

    for epoch in state.epoch + 1..=num_epochs {
        let lr = schedule.lr_at(epoch - 1);
        let batches = sampler.epoch(epoch_seed(seed, epoch));
        observer.epoch_start(epoch, num_epochs, batches.len());
        let started = Instant::now();
        let stream = train_stream(paths.clone(), labels.clone(), batches, &loader, epoch_seed(seed ^ 0xA5A5, epoch))?;
        let (mut sum, mut n_batches, mut images) = (Sums::default(), 0usize, 0usize);
        for batch in stream {
            let batch = batch?;
            let n = batch.len();
            let (mut params, values, correct) = if replicas.len() > 1 {
                let image_len = 3 * hw[0] * hw[1];
                let parts = split_batch(&batch.images, &batch.labels, k, replicas.len(), image_len);
                let step = parallel_step(&model, &loss, parts, &replicas, hw)?;
                (step.grads, step.values, step.correct)
            } else {
                let x = image_tensor(batch.images, n, hw, &ad);
                let y = label_tensor(&batch.labels, &ad);
                let out = model.forward_train(x);
                let correct = out.logits.clone().argmax(1).flatten::<1>(0, 1).equal(y.clone()).int().sum();
                let parts = loss.compute(out.logits, out.features, y, centers.as_ref());
                let values = parts.values();
                let mut grads = parts.total.backward();
                if let Some(c) = centers.take() {
                    centers = Some(c.sgd_step(&grads, center_settings.0, center_settings.1));
                }
                (GradientsParams::from_module(&mut grads, &model), values, correct.into_scalar::<i64>() as f64)
            };
            if !values.total.is_finite() {
                return Err(TrainError::Diverged { epoch, batch: n_batches + 1, value: values.total });
            }
            let norm = clip_global_norm(&model, &mut params, spec.train.clip_grad_norm);
            model = optim.step(lr, model, params);
            n_batches += 1;
            images += n;
            sum.add(&values, correct, norm);
            observer.batch_end(n_batches, sum.loss / n_batches as f64, sum.correct / images as f64, lr);
        }
        let seconds = started.elapsed().as_secs_f64();
        let validate_now =
            spec.train.validation_interval > 0 && (epoch % spec.train.validation_interval == 0 || epoch == num_epochs);
        let validation = match (&eval_set, validate_now) {
            (Some(set), true) => {
                observer.message(&format!("epoch {epoch}: validating on {} queries", set.query.len()));
                Some(validate(spec, &model.valid(), &device, set, observer.progress())?)
            }
            _ => None,
        };
        let record = sum.record(epoch, lr, n_batches, images, seconds, validation);
        state.history.push(record.clone());
        state.epoch = epoch;
        observer.epoch_end(&record);
        write_jsonl(&metrics_path, &state.history).map_err(|e| TrainError::write(&metrics_path, e))?;
        let metadata = model_metadata(spec, epoch, num_classes);
        if let Some(v) = validation
            && state.best.is_none_or(|(_, m)| v.map > m)
        {
            state.best = Some((epoch, v.map));
            model.save_safetensors(&best_model, &metadata)?;
            observer.message(&format!("epoch {epoch}: new best mAP {:.4} -> {}", v.map, best_model.display()));
        }
        let save_now = spec.train.checkpoint_interval > 0 && epoch % spec.train.checkpoint_interval == 0;
        if save_now || epoch == num_epochs {
            let target = checkpoint::epoch_dir(&ckpt_root, epoch);
            checkpoint::write_atomically(&target, |tmp| {
                model.save_safetensors(&tmp.join(files::MODEL), &metadata)?;
                let opt = tmp.join(files::OPTIMIZER);
                optim.to_record().save(&opt).map_err(|e| TrainError::write(&opt, format!("{e:?}")))?;
                if let Some(c) = &centers {
                    centers_to_file(c, &tmp.join(files::CENTERS))?;
                }
                let spec_path = tmp.join(files::SPEC);
                spec.save(&spec_path)?;
                let state_path = tmp.join(files::STATE);
                let text = serde_json::to_string_pretty(&state).map_err(|e| TrainError::write(&state_path, e))?;
                std::fs::write(&state_path, text).map_err(|e| TrainError::write(&state_path, e))
            })?;
            observer.message(&format!("epoch {epoch}: checkpoint {}", target.display()));
        }
    }
    let last_model = dir.join("model_last.safetensors");
    model.save_safetensors(&last_model, &model_metadata(spec, state.epoch, num_classes))?;
    let spec_path = dir.join("spec.yaml");
    spec.save(&spec_path)?;
    Ok(TrainSummary {
        dir,
        last_model,
        best_model: state.best.map(|_| best_model),
        history: state.history,
        metrics: metrics_path,
        initial,
    })
}

/// Validation scores of `model` (inference mode) on the query/test folders.
pub fn validate(
    spec: &Spec,
    model: &ReidModel,
    device: &Device,
    set: &crate::data::EvalSet,
    progress: &dyn Progress,
) -> Result<Validation, TrainError> {
    let augment = plan::eval_augment(spec);
    let embedder =
        BurnEmbedder { model, device: device.clone(), hw: [augment.height as usize, augment.width as usize] };
    let workers = spec.dataset.num_workers.max(1);
    let bs = spec.dataset.val_batch_size.max(1);
    let flip = spec.model.with_flip_feature;
    let q = embed_paths(&embedder, &set.query, &augment, bs, workers, flip, progress)?;
    let g = embed_paths(&embedder, &set.gallery, &augment, bs, workers, flip, progress)?;
    let scores = score(q, &set.query_labels, g, &set.gallery_labels, None)?;
    Ok(summary(&scores.plain))
}

/// Running sums of an epoch.
#[derive(Default)]
struct Sums {
    loss: f64,
    id: Option<f64>,
    triplet: Option<f64>,
    center: Option<f64>,
    correct: f64,
    grad_norm: f64,
}

impl Sums {
    fn add(&mut self, v: &crate::loss::LossValues, correct: f64, norm: f64) {
        let acc = |s: &mut Option<f64>, x: Option<f32>| {
            if let Some(x) = x {
                *s = Some(s.unwrap_or(0.0) + f64::from(x));
            }
        };
        self.loss += f64::from(v.total);
        acc(&mut self.id, v.id);
        acc(&mut self.triplet, v.triplet);
        acc(&mut self.center, v.center);
        self.correct += correct;
        self.grad_norm += norm;
    }

    fn record(
        &self,
        epoch: usize,
        lr: f64,
        batches: usize,
        images: usize,
        seconds: f64,
        validation: Option<Validation>,
    ) -> EpochRecord {
        let b = batches.max(1) as f64;
        EpochRecord {
            epoch,
            lr,
            loss: self.loss / b,
            id_loss: self.id.map(|x| x / b),
            triplet_loss: self.triplet.map(|x| x / b),
            center_loss: self.center.map(|x| x / b),
            accuracy: self.correct / images.max(1) as f64,
            grad_norm: self.grad_norm / b,
            images,
            seconds,
            validation,
        }
    }
}
