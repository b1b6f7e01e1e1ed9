//! One epoch of training: the sampler's batches through the network, the recipe's losses, gradient clipping and
//! the grouped optimiser step (on one device, or data-parallel over several), summed into the epoch's record.

use super::error::TrainError;
use super::history::EpochRecord;
use super::parallel::{parallel_step, split_batch};
use super::plan::RunPlan;
use super::run::TrainObserver;
use super::session::{INIT_LOCK, Session};
use crate::data::loader::mix_seed;
use crate::data::sampler::epoch_seed;
use crate::data::{Batch, train_stream};
use crate::loss::LossValues;
use crate::optim::{GroupRates, clip_global_norm};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_models::ReidModel;
use std::time::Instant;

/// Trains epoch `epoch` (1-based) at the schedule's rate; returns the session and the epoch's record (without
/// validation). Stops with [`TrainError::Diverged`] when the loss stops being finite.
pub fn train_epoch(
    plan: &RunPlan,
    mut s: Session,
    epoch: usize,
    observer: &mut dyn TrainObserver,
) -> Result<(Session, EpochRecord), TrainError> {
    let rates = s.optim.rates_at(&plan.schedule, epoch - 1);
    let lr = rates.base;
    let batches = s.data.sampler.epoch(epoch_seed(plan.seed, epoch));
    observer.epoch_start(epoch, plan.num_epochs, batches.len());
    let started = Instant::now();
    let augment_seed = epoch_seed(plan.seed ^ 0xA5A5, epoch);
    let d = &s.data;
    let stream =
        train_stream(d.paths.clone(), d.labels.clone(), d.cameras.clone(), batches, &plan.data.loader, augment_seed)?;
    let mut sums = Sums::default();
    for batch in stream {
        let batch = batch?;
        let images = batch.len();
        observer.batch_start(epoch, sums.batches, &batch);
        let (stepped, out) = train_step(plan, s, batch, &rates, [epoch as u64, sums.batches as u64])?;
        s = stepped;
        sums.add(&out.values, out.correct, out.grad_norm, images);
        observer.batch_end(sums.batches, sums.loss / sums.batches as f64, sums.correct / sums.images as f64, lr);
    }
    let record = sums.record(epoch, lr, started.elapsed().as_secs_f64());
    Ok((s, record))
}

/// What one training step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    /// The losses of the batch (before the update).
    pub values: LossValues,
    /// Images the classifier got right.
    pub correct: f64,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
}

/// One training step, the loop's own: forward and losses of `batch`, backward, the center loss's SGD step,
/// gradient clipping (`train.clip_grad_norm`) and the grouped optimiser step at `rates`. `step` is `[epoch
/// (1-based), batch (0-based)]` (it seeds stochastic depth and names a diverged step). The network must be in
/// training mode on the autodiff device ([`Session::start_training`]). Stops with [`TrainError::Diverged`]
/// (before updating) when the loss is not finite.
pub fn train_step(
    plan: &RunPlan,
    mut s: Session,
    batch: Batch,
    rates: &GroupRates,
    step: [u64; 2],
) -> Result<(Session, StepOutcome), TrainError> {
    let (mut params, values, correct) = gradients(plan, &mut s, batch, step)?;
    if !values.total.is_finite() {
        return Err(TrainError::Diverged { epoch: step[0] as usize, batch: step[1] as usize + 1, value: values.total });
    }
    let grad_norm = clip_global_norm(&s.model, &mut params, plan.clip_grad_norm);
    s.model = s.optim.step_rates(rates, s.model, params);
    Ok((s, StepOutcome { values, correct, grad_norm }))
}

/// Forward and backward of one batch (and the center loss's own step): the network's gradients, the loss values
/// and the number of correctly classified images. `step` is `[epoch, batch]`: a network with stochastic depth
/// draws its masks from the backend's generator seeded by it (under the initialisation lock), so a resumed run
/// draws what the uninterrupted run drew (on one device; data-parallel replicas share the generator).
fn gradients(
    plan: &RunPlan,
    s: &mut Session,
    batch: Batch,
    step: [u64; 2],
) -> Result<(GradientsParams, LossValues, f64), TrainError> {
    let hw = s.hw;
    let replicas = &s.devices.replicas;
    if replicas.len() > 1 {
        let image_len = 3 * hw[0] * hw[1];
        let parts = split_batch(&batch, plan.data.identity_chunk, replicas.len(), image_len);
        let seed = plan.model.draws_random().then(|| mix_seed(&[plan.seed, 0xD809, step[0], step[1]]));
        let step = parallel_step(&s.model, &s.loss, parts, replicas, hw, seed)?;
        return Ok((step.grads, step.values, step.correct));
    }
    let device = &s.devices.train;
    let x = image_tensor(batch.images, batch.labels.len(), hw, device);
    let y = label_tensor(&batch.labels, device);
    let camera = camera_tensor(&s.model, &batch.cameras, device);
    let out = if plan.model.draws_random() {
        let _guard = INIT_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.devices.base.seed(mix_seed(&[plan.seed, 0xD809, step[0], step[1]]));
        s.model.forward_train_side(x, camera)
    } else {
        s.model.forward_train_side(x, camera)
    };
    let correct = out.logits.clone().argmax(1).flatten::<1>(0, 1).equal(y.clone()).int().sum();
    let parts = s.loss.compute_train(out, y, s.centers.as_ref());
    let values = parts.values();
    let mut grads = parts.total.backward();
    if let Some(c) = s.centers.take() {
        s.centers = Some(c.sgd_step(&grads, plan.center.weight, plan.center.lr));
    }
    let params = GradientsParams::from_module(&mut grads, &s.model);
    Ok((params, values, correct.into_scalar::<i64>() as f64))
}

/// The images as a tensor of the device's float type (f32 unless the device is configured otherwise, as the
/// float64 step-parity tests do), so they meet the network's weights in one type.
fn image_tensor(images: Vec<f32>, n: usize, hw: [usize; 2], device: &Device) -> Tensor<4> {
    let t: Tensor<4> = Tensor::from_data(TensorData::new(images, [n, 3, hw[0], hw[1]]), device);
    let dtype = device.settings().float_dtype;
    if t.dtype() == dtype.into() { t } else { t.cast(dtype) }
}

/// The camera ids `[N]` for a network with a side information embedding (`None` for one without).
pub fn camera_tensor(model: &ReidModel, cameras: &[i64], device: &Device) -> Option<Tensor<1, Int>> {
    (model.sie_cameras() > 0).then(|| Tensor::from_data(TensorData::new(cameras.to_vec(), [cameras.len()]), device))
}

fn label_tensor(labels: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(v, [labels.len()]), device)
}

/// Running sums of an epoch.
#[derive(Default)]
struct Sums {
    batches: usize,
    images: usize,
    loss: f64,
    id: Option<f64>,
    triplet: Option<f64>,
    center: Option<f64>,
    correct: f64,
    grad_norm: f64,
}

impl Sums {
    fn add(&mut self, v: &LossValues, correct: f64, norm: f64, images: usize) {
        let acc = |s: &mut Option<f64>, x: Option<f32>| {
            if let Some(x) = x {
                *s = Some(s.unwrap_or(0.0) + f64::from(x));
            }
        };
        self.batches += 1;
        self.images += images;
        self.loss += v.total;
        acc(&mut self.id, v.id);
        acc(&mut self.triplet, v.triplet);
        acc(&mut self.center, v.center);
        self.correct += correct;
        self.grad_norm += norm;
    }

    fn record(&self, epoch: usize, lr: f64, seconds: f64) -> EpochRecord {
        let b = self.batches.max(1) as f64;
        EpochRecord {
            epoch,
            lr,
            loss: self.loss / b,
            id_loss: self.id.map(|x| x / b),
            triplet_loss: self.triplet.map(|x| x / b),
            center_loss: self.center.map(|x| x / b),
            accuracy: self.correct / self.images.max(1) as f64,
            grad_norm: self.grad_norm / b,
            images: self.images,
            seconds,
            validation: None,
        }
    }
}
