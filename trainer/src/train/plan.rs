//! The spec read as what a run needs: folders, transforms, sampler, losses, optimiser and schedule.

use super::error::TrainError;
use crate::data::AugmentConfig;
use crate::data::sampler::SamplerKind;
use crate::loss::{LossOptions, MetricLossType};
use crate::optim::schedule::{WarmupMethod, WarmupMultiStep};
use crate::optim::{OptimSettings, OptimizerKind};
use crate::spec::{self, Spec};
use reid_runtime::rerank::RerankParams;
use std::path::{Path, PathBuf};

/// A spec folder key, or an error naming it.
pub fn required(value: &Option<PathBuf>, key: &'static str) -> Result<PathBuf, TrainError> {
    value.clone().ok_or_else(|| TrainError::Missing { key, hint: format!(" (set it in the spec or pass {key}=PATH)") })
}

/// The three channel values of a `pixel_mean`/`pixel_std` list (validated to have `input_channels` entries).
fn triple(v: &[f64]) -> [f32; 3] {
    let at = |i: usize| v.get(i).or(v.last()).copied().unwrap_or(0.0) as f32;
    [at(0), at(1), at(2)]
}

/// The evaluation transform of a spec (resize and normalise; no augmentation).
pub fn eval_augment(spec: &Spec) -> AugmentConfig {
    AugmentConfig {
        height: spec.model.input_height as u32,
        width: spec.model.input_width as u32,
        padding: 0,
        flip_prob: 0.0,
        re_prob: 0.0,
        mean: triple(&spec.dataset.pixel_mean),
        std: triple(&spec.dataset.pixel_std),
    }
}

/// The training transform of a spec.
pub fn train_augment(spec: &Spec) -> AugmentConfig {
    AugmentConfig {
        padding: spec.dataset.padding as u32,
        flip_prob: spec.dataset.prob,
        re_prob: spec.dataset.re_prob,
        ..eval_augment(spec)
    }
}

/// The sampler kind of a spec.
pub fn sampler_kind(spec: &Spec) -> SamplerKind {
    match spec.dataset.sampler {
        spec::Sampler::Softmax => SamplerKind::Softmax,
        spec::Sampler::Triplet => SamplerKind::Triplet,
        spec::Sampler::SoftmaxTriplet => SamplerKind::SoftmaxTriplet,
    }
}

/// The loss options of a spec.
pub fn loss_options(spec: &Spec) -> LossOptions {
    LossOptions {
        sampler: sampler_kind(spec),
        metric_loss_type: match spec.model.metric_loss_type {
            spec::MetricLossType::Triplet => MetricLossType::Triplet,
            spec::MetricLossType::Center => MetricLossType::Center,
            spec::MetricLossType::TripletCenter => MetricLossType::TripletCenter,
        },
        with_center_loss: spec.model.with_center_loss,
        label_smooth: spec.model.label_smooth,
        no_margin: spec.model.no_margin,
        triplet_loss_margin: spec.train.optim.triplet_loss_margin as f32,
        center_loss_weight: spec.train.optim.center_loss_weight as f32,
    }
}

/// The optimiser settings of a spec.
pub fn optim_settings(spec: &Spec) -> OptimSettings {
    let o = &spec.train.optim;
    OptimSettings {
        kind: match o.name {
            spec::OptimizerName::Sgd => OptimizerKind::Sgd,
            spec::OptimizerName::Adam => OptimizerKind::Adam,
            spec::OptimizerName::AdamW => OptimizerKind::AdamW,
        },
        momentum: o.momentum,
        weight_decay: o.weight_decay,
        weight_decay_bias: o.weight_decay_bias,
        bias_lr_factor: o.bias_lr_factor,
        large_fc_lr: o.large_fc_lr,
    }
}

/// The learning-rate schedule of a spec.
pub fn schedule(spec: &Spec) -> WarmupMultiStep {
    let o = &spec.train.optim;
    WarmupMultiStep {
        base_lr: o.base_lr,
        lr_steps: o.lr_steps.clone(),
        gamma: o.gamma,
        warmup_factor: o.warmup_factor,
        warmup_epochs: o.warmup_epochs,
        method: match o.warmup_method {
            spec::WarmupMethod::Linear => WarmupMethod::Linear,
            spec::WarmupMethod::Cosine => WarmupMethod::Cosine,
        },
        num_epochs: spec.train.num_epochs,
    }
}

/// Re-ranking parameters when the spec turns re-ranking on.
pub fn rerank(spec: &Spec) -> Option<RerankParams> {
    let r = &spec.re_ranking;
    r.re_ranking.then_some(RerankParams { k1: r.k1, k2: r.k2, lambda: r.lambda_value })
}

/// `section.results_dir`, else `results_dir/<section>`, else `./results/<section>`.
pub fn section_dir(spec: &Spec, section: Option<&Path>, name: &str) -> PathBuf {
    match (section, &spec.results_dir) {
        (Some(dir), _) => dir.to_owned(),
        (None, Some(root)) => root.join(name),
        (None, None) => PathBuf::from("results").join(name),
    }
}
