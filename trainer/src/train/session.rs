//! What a run trains and carries from epoch to epoch ([`Session`]), and the steps around the epochs that build,
//! restore and save it: [`setup`] (data, network, losses, optimiser), [`resume`] (a checkpoint, or pre-trained
//! weights) and [`save_checkpoint`]. Everything is decided by the [`RunPlan`].

use super::checkpoint::{self, RunState, files};
use super::error::TrainError;
use super::plan::RunPlan;
use super::run::TrainObserver;
use crate::data::sampler::Sampler;
use crate::data::unreadable::find_unreadable;
use crate::data::{EvalSet, TrainSet, load_eval_set, load_train_set};
use crate::loss::{CenterLoss, ReidLoss};
use crate::optim::GroupedOptimizer;
use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::tensor::{Device, Tensor, TensorData};
use reid_models::ReidModel;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Serialises seeding and drawing from the backend's process-wide generator across runs in one process: weight
/// initialisation, and the training forward of a network with stochastic depth ([`super::epoch`]).
pub(super) static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The devices of a run.
pub struct Devices {
    /// The first device: validation, the optimiser step, the center loss.
    pub base: Device,
    /// The first device with autodiff: the network trains there.
    pub train: Device,
    /// Every device with autodiff; more than one: data-parallel steps.
    pub replicas: Vec<Device>,
}

/// The training data of a run.
pub struct RunData {
    /// Training images.
    pub paths: Arc<Vec<PathBuf>>,
    /// Their identity labels, `0..num_classes`.
    pub labels: Arc<Vec<usize>>,
    /// Their 0-based side-information camera ids (empty when the network has no camera embedding).
    pub cameras: Arc<Vec<i64>>,
    /// Cameras of the training folder for the side information embedding (0 without `model.sie_camera`).
    pub sie_cameras: usize,
    /// Identities in the training folder: the classifier's width.
    pub num_classes: usize,
    /// The batches of each epoch.
    pub sampler: Sampler,
    /// The query/test folders for validation, when the plan has them.
    pub eval: Option<EvalSet>,
    /// Images left out because they do not decode (`dataset.skip_unreadable`).
    pub skipped_unreadable: usize,
}

/// A run in progress: the network, its losses and optimiser, and where training stands.
pub struct Session {
    /// The network (on the base device until [`Session::start_training`], then on the autodiff device).
    pub model: ReidModel,
    /// The losses.
    pub loss: ReidLoss,
    /// The center loss's centers, when the center loss is on.
    pub centers: Option<CenterLoss>,
    /// The optimiser with its parameter groups.
    pub optim: GroupedOptimizer,
    /// Epochs done, history, best score.
    pub state: RunState,
    /// Network input `[height, width]`.
    pub hw: [usize; 2],
    /// Training and validation data.
    pub data: RunData,
    /// Where it runs.
    pub devices: Devices,
}

impl Session {
    /// The session with the network on the autodiff device in training mode (after [`resume`]).
    pub fn start_training(self) -> Session {
        Session { model: self.model.to_device(&self.devices.train).train(), ..self }
    }
}

/// Reads the data and builds the network (seeded), the losses and the optimiser.
pub fn setup(plan: &RunPlan, devices: &[Device], observer: &mut dyn TrainObserver) -> Result<Session, TrainError> {
    let data = load_data(plan, observer)?;
    build(plan, devices, data)
}

/// The session of `plan` on `devices` for training data already in hand: the network (seeded), the losses and
/// the optimiser. [`setup`] after reading the data; tests that drive [`super::epoch::train_step`] with recorded
/// batches call it directly.
pub fn build(plan: &RunPlan, devices: &[Device], data: RunData) -> Result<Session, TrainError> {
    let config = plan.model.config(data.num_classes, data.sie_cameras)?;
    let base = devices.first().cloned().unwrap_or_else(Device::flex);
    let devices = Devices {
        train: base.clone().autodiff(),
        replicas: devices.iter().map(|d| d.clone().autodiff()).collect(),
        base,
    };
    // The backend's generator is process-wide: seeding and drawing the initial weights happen under one lock, so
    // two runs in one process (tests, notebooks) each get the weights their seed gives.
    let (model, loss, centers) = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        devices.base.seed(plan.seed);
        let model = super::ids::with_path_ids(ReidModel::new(&config, &devices.base)?);
        let loss = ReidLoss::new(&plan.loss)?;
        let centers = loss.center.then(|| CenterLoss::new(data.num_classes, config.feat_dim, &devices.train));
        (model, loss, centers)
    };
    if devices.replicas.len() > 1 && loss.center {
        return Err(TrainError::Unsupported {
            key: "model.with_center_loss",
            message: "the center loss trains on one device only: set it False or give train.gpu_ids one id".into(),
        });
    }
    let state = RunState { epoch: 0, seed: plan.seed, num_classes: data.num_classes, history: Vec::new(), best: None };
    Ok(Session {
        model,
        loss,
        centers,
        optim: GroupedOptimizer::new(plan.optim.clone()),
        state,
        hw: [config.input_height, config.input_width],
        data,
        devices,
    })
}

/// `dataset.skip_unreadable`: decodes every image of the splits and leaves out those that do not decode, with a
/// warning each; the sets without them and how many were left out.
fn leave_out_unreadable(
    train_set: TrainSet,
    eval: Option<EvalSet>,
    observer: &mut dyn TrainObserver,
) -> Result<(TrainSet, Option<EvalSet>, usize), TrainError> {
    let mut paths: Vec<&Path> = train_set.items.iter().map(|i| i.path.as_path()).collect();
    if let Some(e) = &eval {
        paths.extend(e.query.iter().chain(&e.gallery).map(PathBuf::as_path));
    }
    let bad = find_unreadable(&paths);
    // One line each, through the observer as the loop's other notes (the CLI prints them on stderr).
    for b in &bad {
        observer.message(&format!("skipping unreadable image {}: {}", b.path.display(), b.message));
    }
    if bad.is_empty() {
        return Ok((train_set, eval, 0));
    }
    let set: HashSet<PathBuf> = bad.into_iter().map(|b| b.path).collect();
    Ok((train_set.without(&set)?, eval.map(|e| e.without(&set)), set.len()))
}

/// The training split, its sampler, and the validation folders.
fn load_data(plan: &RunPlan, observer: &mut dyn TrainObserver) -> Result<RunData, TrainError> {
    let folders = &plan.folders;
    let train_set = load_train_set(&folders.train)?;
    let eval = match &folders.query_test {
        Some((q, g)) => Some(load_eval_set(q, g)?),
        None => {
            observer.message("no query/test folders: training without validation");
            None
        }
    };
    let (train_set, eval, skipped_unreadable) =
        if plan.data.skip_unreadable { leave_out_unreadable(train_set, eval, observer)? } else { (train_set, eval, 0) };
    let num_classes = train_set.num_classes;
    if plan.data.declared_classes != num_classes {
        observer.message(&format!(
            "dataset.num_classes = {} but {} holds {num_classes} identities: the classifier gets {num_classes} outputs",
            plan.data.declared_classes,
            folders.train.display()
        ));
    }
    let labels = train_set.labels();
    let (cameras, sie_cameras) = if plan.model.sie_camera {
        let (ids, count) = train_set.sie_cameras()?;
        observer.message(&format!(
            "side information embedding: {count} cameras in {} (ids 0..{count}, the name's camera minus 1){}",
            folders.train.display(),
            if count > 1 { "" } else { "; one camera: no camera embedding (TransReID needs more than one)" }
        ));
        (ids, count)
    } else {
        (Vec::new(), 0)
    };
    let sampler = Sampler::new(plan.data.sampler, &labels, plan.data.batch_size, plan.data.num_instances)?;
    Ok(RunData {
        paths: Arc::new(train_set.items.iter().map(|i| i.path.clone()).collect()),
        labels: Arc::new(labels),
        cameras: Arc::new(cameras),
        sie_cameras,
        num_classes,
        sampler,
        eval,
        skipped_unreadable,
    })
}

/// Restores the checkpoint the plan resumes from (network, optimiser, centers, run state), or loads the
/// pre-trained backbone it names; does nothing otherwise.
pub fn resume(plan: &RunPlan, mut session: Session, observer: &mut dyn TrainObserver) -> Result<Session, TrainError> {
    let backbone = &plan.model.config.backbone;
    if let Some(dir) = &plan.folders.resume {
        let state = checkpoint::read_state(dir)?;
        if state.num_classes != session.data.num_classes {
            return Err(TrainError::Checkpoint {
                path: dir.clone(),
                message: format!(
                    "was trained on {} identities, the training folder has {}",
                    state.num_classes, session.data.num_classes
                ),
            });
        }
        session.model.load_checkpoint(&dir.join(files::MODEL), backbone)?;
        let opt_path = dir.join(files::OPTIMIZER);
        let record = OptimizerRecord::load(&opt_path)
            .map_err(|e| TrainError::Checkpoint { path: opt_path.clone(), message: format!("{e:?}") })?;
        session.optim = session.optim.load_record(record);
        if session.loss.center {
            session.centers = Some(centers_from_file(&dir.join(files::CENTERS), &session.devices.train)?);
        }
        session.state = state;
        observer.message(&format!("resumed from {} (epoch {})", dir.display(), session.state.epoch));
    } else if let Some(path) = &plan.model.pretrained {
        let report = session.model.load_pretrained(path, backbone)?;
        observer.message(&format!("loaded {} pretrained backbone tensors from {}", report.loaded, path.display()));
    }
    Ok(session)
}

/// Writes the checkpoint of epoch `epoch` (network, optimiser, centers, spec, run state) atomically; returns its
/// folder.
pub fn save_checkpoint(plan: &RunPlan, session: &Session, epoch: usize) -> Result<PathBuf, TrainError> {
    let target = checkpoint::epoch_dir(&plan.folders.checkpoints, epoch);
    let metadata = plan.model.metadata(epoch, session.data.num_classes);
    checkpoint::write_atomically(&target, |tmp| {
        synced(&session.model).save_safetensors(&tmp.join(files::MODEL), &metadata)?;
        let opt = tmp.join(files::OPTIMIZER);
        session.optim.to_record().save(&opt).map_err(|e| TrainError::write(&opt, format!("{e:?}")))?;
        if let Some(c) = &session.centers {
            centers_to_file(c, &tmp.join(files::CENTERS))?;
        }
        let spec_path = tmp.join(files::SPEC);
        std::fs::write(&spec_path, &plan.spec_yaml).map_err(|e| TrainError::write(&spec_path, e))?;
        let state_path = tmp.join(files::STATE);
        let text = serde_json::to_string_pretty(&session.state).map_err(|e| TrainError::write(&state_path, e))?;
        std::fs::write(&state_path, text).map_err(|e| TrainError::write(&state_path, e))
    })?;
    Ok(target)
}

/// The network with its BatchNorm running statistics brought up to date, for saving. burn keeps a running
/// statistic's latest update pending per thread until the next update or a sync, and a module's parameter visit
/// (what saving reads) sees the value before it: a checkpoint written after an epoch without validation (which
/// syncs) was one batch behind, so a run resumed from it drifted from the uninterrupted run. `valid()` syncs
/// (the statistics are shared with the training network, whose trajectory does not change) and gives the same
/// values without autodiff.
pub fn synced(model: &ReidModel) -> ReidModel {
    model.valid()
}

fn centers_to_file(centers: &CenterLoss, path: &Path) -> Result<(), TrainError> {
    let t = centers.centers.val();
    let [c, d] = t.dims();
    let values =
        t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| TrainError::write(path, format!("{e:?}")))?;
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
    let (&[rows, cols], safetensors::Dtype::F32) = (t.shape(), t.dtype()) else {
        return Err(err(format!("`centers` is {:?} {:?}, not a 2-d f32 tensor", t.dtype(), t.shape())));
    };
    let values: Vec<f32> = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if values.len() != rows * cols {
        return Err(err(format!("`centers` holds {} values for a {rows} x {cols} tensor", values.len())));
    }
    let tensor = Tensor::<2>::from_data(TensorData::new(values, [rows, cols]), device).require_grad();
    Ok(CenterLoss::from_centers(tensor))
}
