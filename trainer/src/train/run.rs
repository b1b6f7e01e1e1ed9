//! The training loop: [`train`] resolves the spec into a [`RunPlan`] and [`train_with`] runs it: set up the data
//! and network ([`session::setup`]), resume a checkpoint or load pre-trained weights ([`session::resume`]), then
//! epochs ([`train_epoch`]) each followed by validation and checkpoints when the plan says so.

use super::embed::{BurnEmbedder, embed_paths_side, eval_cameras};
use super::epoch::train_epoch;
use super::error::TrainError;
use super::history::{EpochRecord, Validation, write_jsonl};
use super::plan::{EvalSettings, RunPlan};
use super::session::{self, Session, save_checkpoint};
use super::validate::{score, summary};
use crate::data::{Batch, EvalSet};
use crate::spec::Spec;
use burn::module::Module;
use burn::tensor::Device;
use reid_eval::metrics::Label;
use reid_eval::progress::{NoProgress, Progress};
use reid_models::ReidModel;
use std::path::PathBuf;

/// What the loop reports while it runs (the CLI draws progress bars from it).
pub trait TrainObserver {
    /// An epoch of `batches` batches starts.
    fn epoch_start(&mut self, _epoch: usize, _num_epochs: usize, _batches: usize) {}
    /// Batch `index` (0-based) of `epoch` (1-based) is about to train: the exact inputs the step sees (its
    /// images after augmentation, labels and camera ids). Only observers that record batches look at it (`reid
    /// bench train` hands them to PyTorch); the default does nothing and costs nothing.
    fn batch_start(&mut self, _epoch: usize, _index: usize, _batch: &Batch) {}
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
    /// Images left out because they do not decode (`dataset.skip_unreadable`).
    pub skipped_unreadable: usize,
}

/// The devices training runs on: CUDA `gpu_ids` in a `cuda` build (several ids: data-parallel), the CPU
/// otherwise (`gpu_ids` is then ignored).
pub fn training_devices(spec: &Spec) -> Vec<Device> {
    devices_for(&spec.train.gpu_ids)
}

fn devices_for(gpu_ids: &[usize]) -> Vec<Device> {
    #[cfg(feature = "cuda")]
    {
        let ids = if gpu_ids.is_empty() { vec![0] } else { gpu_ids.to_vec() };
        ids.into_iter().map(Device::cuda).collect()
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = gpu_ids;
        vec![Device::flex()]
    }
}

/// Trains the network the spec describes on [`training_devices`]; returns where the results went.
pub fn train(spec: &Spec, observer: &mut dyn TrainObserver) -> Result<TrainSummary, TrainError> {
    let plan = RunPlan::from_spec(spec)?;
    train_with(&plan, &devices_for(&plan.gpu_ids), observer)
}

/// [`train`] on the given devices (more than one: data-parallel steps, see [`super::parallel`]).
pub fn train_on(spec: &Spec, devices: &[Device], observer: &mut dyn TrainObserver) -> Result<TrainSummary, TrainError> {
    train_with(&RunPlan::from_spec(spec)?, devices, observer)
}

/// Runs a plan on the given devices.
pub fn train_with(
    plan: &RunPlan,
    devices: &[Device],
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    let checkpoints = &plan.folders.checkpoints;
    std::fs::create_dir_all(checkpoints).map_err(|e| TrainError::write(checkpoints, e))?;
    for note in &plan.notes {
        observer.message(note);
    }
    let session = session::setup(plan, devices, observer)?;
    let mut session = session::resume(plan, session, observer)?.start_training();
    // The untrained network's score, so a run shows how much it learned.
    let initial = if session.state.epoch == 0 && plan.validation_interval > 0 {
        validate_session(plan, &session, observer.progress())?
    } else {
        None
    };
    if let Some(v) = initial {
        observer.message(&format!("before training: val mAP {:.4} rank-1 {:.4}", v.map, v.rank1));
    }
    for epoch in session.state.epoch + 1..=plan.num_epochs {
        let (trained, mut record) = train_epoch(plan, session, epoch, observer)?;
        session = trained;
        if plan.validates_after(epoch)
            && let Some(set) = &session.data.eval
        {
            observer.message(&format!("epoch {epoch}: validating on {} queries", set.query.len()));
            record.validation = validate_session(plan, &session, observer.progress())?;
        }
        end_epoch(plan, &mut session, record, observer)?;
    }
    finish(plan, session, initial)
}

/// Validation of the session's network (in inference mode) when the plan has query/test folders.
fn validate_session(plan: &RunPlan, s: &Session, progress: &dyn Progress) -> Result<Option<Validation>, TrainError> {
    let Some(set) = &s.data.eval else { return Ok(None) };
    validate(&plan.eval, &s.model.valid(), &s.devices.base, set, progress).map(Some)
}

/// Records a finished epoch: history and metrics log, the best network so far, the checkpoint when due.
fn end_epoch(
    plan: &RunPlan,
    s: &mut Session,
    record: EpochRecord,
    observer: &mut dyn TrainObserver,
) -> Result<(), TrainError> {
    let epoch = record.epoch;
    s.state.history.push(record.clone());
    s.state.epoch = epoch;
    observer.epoch_end(&record);
    let metrics = &plan.folders.metrics;
    write_jsonl(metrics, &s.state.history).map_err(|e| TrainError::write(metrics, e))?;
    if let Some(v) = record.validation
        && s.state.best.is_none_or(|(_, m)| v.map > m)
    {
        s.state.best = Some((epoch, v.map));
        let best = &plan.folders.best_model;
        session::synced(&s.model).save_safetensors(best, &plan.model.metadata(epoch, s.data.num_classes))?;
        observer.message(&format!("epoch {epoch}: new best mAP {:.4} -> {}", v.map, best.display()));
    }
    if plan.checkpoints_after(epoch) {
        let target = save_checkpoint(plan, s, epoch)?;
        observer.message(&format!("epoch {epoch}: checkpoint {}", target.display()));
    }
    Ok(())
}

/// Writes the final network and the resolved spec; the summary of the run.
fn finish(plan: &RunPlan, s: Session, initial: Option<Validation>) -> Result<TrainSummary, TrainError> {
    let f = &plan.folders;
    session::synced(&s.model)
        .save_safetensors(&f.last_model, &plan.model.metadata(s.state.epoch, s.data.num_classes))?;
    std::fs::write(&f.spec_file, &plan.spec_yaml).map_err(|e| TrainError::write(&f.spec_file, e))?;
    Ok(TrainSummary {
        dir: f.results.clone(),
        last_model: f.last_model.clone(),
        best_model: s.state.best.map(|_| f.best_model.clone()),
        history: s.state.history,
        metrics: f.metrics.clone(),
        initial,
        skipped_unreadable: s.data.skipped_unreadable,
    })
}

/// Validation scores of `model` (inference mode) on the query/test folders, without re-ranking.
pub fn validate(
    eval: &EvalSettings,
    model: &ReidModel,
    device: &Device,
    set: &EvalSet,
    progress: &dyn Progress,
) -> Result<Validation, TrainError> {
    let embedder = BurnEmbedder { model, device: device.clone(), hw: eval.hw() };
    let embed = |paths: &[PathBuf], labels: &[Label]| {
        let cameras = eval_cameras(&embedder, paths, labels)?;
        let (a, b) = (eval.batch_size, eval.workers);
        embed_paths_side(&embedder, paths, cameras.as_deref(), &eval.augment, a, b, eval.flip, progress)
    };
    let (q, g) = (embed(&set.query, &set.query_labels)?, embed(&set.gallery, &set.gallery_labels)?);
    let scores = score(q, &set.query_labels, g, &set.gallery_labels, None)?;
    Ok(summary(&scores.plain))
}
