//! Data-parallel steps over several devices (`train.gpu_ids` with more than one id): the P x K batch is split
//! by whole identities (so every part keeps its positives for the triplet loss), each device runs forward and
//! backward on its part with a replica of the network in its own thread, and the gradients are summed on the
//! first device (burn's [`MultiGradientsParams`]) before one optimiser step there, as PyTorch's DataParallel does.

use super::epoch::camera_tensor;
use super::error::TrainError;
use super::session::INIT_LOCK;
use crate::data::Batch;
use crate::loss::{LossValues, ReidLoss};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, MultiGradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_models::ReidModel;

/// One device's share of a batch: `[n, 3, h, w]` images, labels and camera ids.
pub struct Part {
    /// Planar normalised pixels.
    pub images: Vec<f32>,
    /// Labels.
    pub labels: Vec<usize>,
    /// Side-information camera ids (see [`Batch::cameras`]).
    pub cameras: Vec<i64>,
}

/// Splits a batch of `n` images, laid out as identity chunks of `k` images, into at most `parts` parts of whole
/// chunks (`k = 1` splits anywhere).
pub fn split_batch(batch: &Batch, k: usize, parts: usize, image_len: usize) -> Vec<Part> {
    let (images, labels) = (&batch.images, &batch.labels);
    let chunks = labels.len().div_ceil(k.max(1));
    let per = chunks.div_ceil(parts.max(1)) * k.max(1);
    labels
        .chunks(per.max(1))
        .enumerate()
        .map(|(i, l)| {
            let range = i * per..i * per + l.len();
            Part {
                images: images[range.start * image_len..range.end * image_len].to_vec(),
                labels: l.to_vec(),
                cameras: batch.cameras.get(range).map(<[i64]>::to_vec).unwrap_or_else(|| vec![0; l.len()]),
            }
        })
        .collect()
}

struct Gather<'a> {
    multi: &'a mut MultiGradientsParams,
    out: GradientsParams,
    device: Device,
}

impl ModuleVisitor for Gather<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some((g, _)) = self.multi.remove::<D>(param.id) {
            self.out.register(param.id, g.to_device(&self.device));
        }
    }
}

/// What a data-parallel step returns: summed gradients on the first device, mean loss values, correct count.
pub struct ParallelStep {
    /// Gradients of the whole batch's mean loss, on the first device.
    pub grads: GradientsParams,
    /// Loss values averaged over the parts, weighted by their sizes.
    pub values: LossValues,
    /// Correctly classified images.
    pub correct: f64,
}

/// Forward and backward of `parts` on `devices` (autodiff devices, one part each) with replicas of `model`.
/// `seed`: the network draws random numbers (stochastic depth); the step then seeds the backend's process-wide
/// generator and runs under the initialisation lock, so it does not disturb other runs in the process (the
/// replicas' draws interleave, so a data-parallel step with stochastic depth is not reproducible bit for bit).
pub fn parallel_step(
    model: &ReidModel,
    loss: &ReidLoss,
    parts: Vec<Part>,
    devices: &[Device],
    hw: [usize; 2],
    seed: Option<u64>,
) -> Result<ParallelStep, TrainError> {
    let total: usize = parts.iter().map(|p| p.labels.len()).sum();
    let _guard = seed.map(|seed| {
        let guard = INIT_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        devices.iter().for_each(|d| d.seed(seed));
        guard
    });
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .zip(devices)
            .map(|(part, device)| {
                let replica = model.clone().fork(device);
                scope.spawn(move || {
                    let n = part.labels.len();
                    let x = Tensor::<4>::from_data(TensorData::new(part.images, [n, 3, hw[0], hw[1]]), device);
                    let y: Vec<i64> = part.labels.iter().map(|&l| l as i64).collect();
                    let y = Tensor::<1, Int>::from_data(TensorData::new(y, [n]), device);
                    let out = replica.forward_train_side(x, camera_tensor(&replica, &part.cameras, device));
                    let correct = out.logits.clone().argmax(1).flatten::<1>(0, 1).equal(y.clone()).int().sum();
                    let parts = loss.compute_train(out, y, None);
                    let values = parts.values();
                    let grads = parts.total.mul_scalar(n as f32 / total as f32).backward();
                    let grads = GradientsParams::from_grads(grads, &replica);
                    (grads, device.clone(), values, correct.into_scalar::<i64>() as f64, n)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut multi = MultiGradientsParams::default();
    let mut values = LossValues::default();
    let mut correct = 0.0;
    let weigh = |acc: &mut Option<f32>, v: Option<f32>, w: f32| {
        if let Some(v) = v {
            *acc = Some(acc.unwrap_or(0.0) + v * w);
        }
    };
    for r in results {
        let (grads, device, v, c, n) = r.map_err(|_| TrainError::Eval("a device's training thread panicked".into()))?;
        let w = n as f32 / total as f32;
        values.total += v.total * f64::from(w);
        weigh(&mut values.id, v.id, w);
        weigh(&mut values.triplet, v.triplet, w);
        weigh(&mut values.triplet_correct, v.triplet_correct, w);
        correct += c;
        multi.grads.push((grads, device));
    }
    let first = devices.first().cloned().unwrap_or_else(|| Device::flex().autodiff());
    let mut gather = Gather { multi: &mut multi, out: GradientsParams::new(), device: first };
    model.visit(&mut gather);
    Ok(ParallelStep { grads: gather.out, values, correct })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keep_identity_chunks_whole() {
        let labels = vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
        let images: Vec<f32> = (0..10).flat_map(|i| [i as f32; 3]).collect();
        let cameras = (0..10).map(|i| i % 3).collect();
        let parts = split_batch(&Batch { images, labels, cameras }, 2, 2, 3);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].labels, vec![0, 0, 1, 1, 2, 2]);
        assert_eq!(parts[1].labels, vec![3, 3, 4, 4]);
        assert_eq!(parts[1].images[..3], [6.0; 3]);
        assert_eq!(parts[1].images.len(), 12);
        assert_eq!(parts[1].cameras, vec![0, 1, 2, 0], "cameras follow their images");
    }
}
