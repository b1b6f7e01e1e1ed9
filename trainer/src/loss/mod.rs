//! The training losses of Luo et al. 2019, "Bag of Tricks and a Strong Baseline for Deep Person
//! Re-identification" (reid-strong-baseline, as NVIDIA TAO ReIdentificationNet uses it):
//!
//! - [`cross_entropy`]: the ID loss on the BNNeck logits, optionally label-smoothed (`label_smooth`);
//! - [`batch_hard_triplet`]: the metric loss on the pre-BNNeck features, with a margin (`triplet_loss_margin`) or
//!   soft (`no_margin`);
//! - [`CenterLoss`]: learned class centers (`with_center_loss`, `center_loss_weight`, `center_lr`);
//! - [`ReidLoss`]: how the spec's `dataset.sampler`, `model.metric_loss_type` and `model.with_center_loss`
//!   combine them, returning the total and each part for logging; with TransReID's jigsaw patch module, its
//!   weighting of the global and local features ([`ReidLoss::compute_train`]).

mod center;
mod cross_entropy;
mod triplet;

pub use center::CenterLoss;
pub use cross_entropy::{LABEL_SMOOTH_EPSILON, cross_entropy};
pub use triplet::{TripletOutput, batch_hard_triplet, euclidean_dist};

use crate::choice::{Choice, named_choice};
use crate::data::sampler::SamplerKind;
use burn::tensor::{Int, Tensor};
use reid_models::TrainOutput;
use std::str::FromStr;

/// The spec's `model.metric_loss_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricLossType {
    /// `triplet`: batch-hard triplet loss.
    Triplet,
    /// `center`: center loss (needs `with_center_loss: True`).
    Center,
    /// `triplet_center`: both.
    TripletCenter,
}

impl Choice for MetricLossType {
    const SPELLINGS: &'static [(&'static str, Self)] = &[
        ("triplet", MetricLossType::Triplet),
        ("center", MetricLossType::Center),
        ("triplet_center", MetricLossType::TripletCenter),
    ];
}

named_choice!(MetricLossType);

impl MetricLossType {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// Whether the triplet loss is part of the metric loss.
    pub fn has_triplet(self) -> bool {
        matches!(self, MetricLossType::Triplet | MetricLossType::TripletCenter)
    }

    /// Whether the center loss is part of the metric loss.
    pub fn has_center(self) -> bool {
        matches!(self, MetricLossType::Center | MetricLossType::TripletCenter)
    }
}

impl FromStr for MetricLossType {
    type Err = LossError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricLossType::from_name(s).ok_or_else(|| LossError::UnknownMetricLoss(s.to_string()))
    }
}

/// A loss configuration the recipe does not define; the message names the spec key.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LossError {
    /// `model.metric_loss_type` is not one of the three.
    #[error("model.metric_loss_type = `{0}` is not one of triplet, center, triplet_center")]
    UnknownMetricLoss(String),
    /// `metric_loss_type: center` without `with_center_loss: True`.
    #[error("model.metric_loss_type = center needs model.with_center_loss = True")]
    CenterWithoutCenterLoss,
    /// `with_center_loss: True` with `metric_loss_type: triplet`.
    #[error("model.with_center_loss = True needs model.metric_loss_type = center or triplet_center, got triplet")]
    CenterLossWithTriplet,
    /// A margin that is negative or not finite.
    #[error("train.optim.triplet_loss_margin = {0} must be a finite value >= 0")]
    BadMargin(f32),
    /// A center loss weight that is not positive.
    #[error("train.optim.center_loss_weight = {0} must be a finite value > 0")]
    BadCenterWeight(f32),
}

/// The spec options that decide the loss (plain values, so this does not depend on the spec module).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossOptions {
    /// `dataset.sampler`: `softmax` trains the ID loss only, `triplet` the triplet loss only, `softmax_triplet`
    /// both (when there is no center loss).
    pub sampler: SamplerKind,
    /// `model.metric_loss_type`.
    pub metric_loss_type: MetricLossType,
    /// `model.with_center_loss`.
    pub with_center_loss: bool,
    /// `model.label_smooth`: smooth the ID loss with `eps = 0.1`.
    pub label_smooth: bool,
    /// `model.no_margin`: soft-margin triplet loss instead of `triplet_loss_margin`.
    pub no_margin: bool,
    /// `train.optim.triplet_loss_margin`.
    pub triplet_loss_margin: f32,
    /// `train.optim.center_loss_weight`.
    pub center_loss_weight: f32,
}

/// The combined loss of the recipe: which terms are on, and their computation.
///
/// Follows TAO's `__make_loss` / `__make_loss_with_center` (and the strong baseline's `make_loss`):
///
/// | `with_center_loss` | `metric_loss_type` | `sampler` | total |
/// |---|---|---|---|
/// | false | triplet or triplet_center | softmax | id |
/// | false | triplet or triplet_center | triplet | triplet |
/// | false | triplet or triplet_center | softmax_triplet | id + triplet |
/// | false | center | any | error |
/// | true | center | any | id + w * center |
/// | true | triplet_center | any | id + triplet + w * center |
/// | true | triplet | any | error |
///
/// One deliberate difference: `label_smooth` smooths the ID loss in every row; TAO and the baseline ignore it
/// (plain cross-entropy) when `sampler` is `softmax`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReidLoss {
    /// The ID (cross-entropy) term is on.
    pub id: bool,
    /// The triplet term is on.
    pub triplet: bool,
    /// The center term is on (the trainer then needs a [`CenterLoss`] and its optimiser).
    pub center: bool,
    /// Label smoothing of the ID term (`Some(0.1)` with `label_smooth`).
    pub label_smoothing: Option<f32>,
    /// Triplet margin; `None` is the soft margin.
    pub margin: Option<f32>,
    /// Weight of the center term in the total.
    pub center_loss_weight: f32,
}

/// One step's losses: the total to back-propagate and the parts for logging (each a scalar `[1]`).
#[derive(Debug, Clone)]
pub struct LossParts {
    /// What to back-propagate.
    pub total: Tensor<1>,
    /// The ID loss, when on.
    pub id: Option<Tensor<1>>,
    /// The triplet loss, when on.
    pub triplet: Option<Tensor<1>>,
    /// The center loss before weighting, when on (the total holds `center_loss_weight` times it).
    pub center: Option<Tensor<1>>,
    /// Share of anchors whose hardest negative is farther than their hardest positive, when the triplet is on.
    pub triplet_correct: Option<Tensor<1>>,
}

/// [`LossParts`] read back as numbers (for logs and metrics files).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LossValues {
    /// The total, in f64: a float64 network's loss unrounded (`reid bench train --float f64` compares it).
    pub total: f64,
    /// The ID loss, when on.
    pub id: Option<f32>,
    /// The triplet loss, when on.
    pub triplet: Option<f32>,
    /// The unweighted center loss, when on.
    pub center: Option<f32>,
    /// The triplet's share of correctly ordered anchors, when on.
    pub triplet_correct: Option<f32>,
}

fn scalar(t: &Tensor<1>) -> f32 {
    t.clone().into_scalar::<f32>()
}

fn scalar_f64(t: &Tensor<1>) -> f64 {
    t.clone().into_scalar::<f64>()
}

impl LossParts {
    /// The values (reads the tensors back, so it synchronises with the device).
    pub fn values(&self) -> LossValues {
        LossValues {
            total: scalar_f64(&self.total),
            id: self.id.as_ref().map(scalar),
            triplet: self.triplet.as_ref().map(scalar),
            center: self.center.as_ref().map(scalar),
            triplet_correct: self.triplet_correct.as_ref().map(scalar),
        }
    }
}

impl ReidLoss {
    /// Which terms the options switch on; an error names the spec key of a combination the recipe rejects.
    pub fn new(options: &LossOptions) -> Result<Self, LossError> {
        let LossOptions {
            sampler,
            metric_loss_type,
            with_center_loss,
            label_smooth,
            no_margin,
            triplet_loss_margin,
            center_loss_weight,
        } = *options;
        let (id, triplet, center) = match (with_center_loss, metric_loss_type) {
            (false, MetricLossType::Center) => return Err(LossError::CenterWithoutCenterLoss),
            (false, _) => match sampler {
                SamplerKind::Softmax => (true, false, false),
                SamplerKind::Triplet => (false, true, false),
                SamplerKind::SoftmaxTriplet => (true, true, false),
            },
            (true, MetricLossType::Triplet) => return Err(LossError::CenterLossWithTriplet),
            (true, MetricLossType::Center) => (true, false, true),
            (true, MetricLossType::TripletCenter) => (true, true, true),
        };
        if triplet && !no_margin && !(triplet_loss_margin.is_finite() && triplet_loss_margin >= 0.0) {
            return Err(LossError::BadMargin(triplet_loss_margin));
        }
        if center && !(center_loss_weight.is_finite() && center_loss_weight > 0.0) {
            return Err(LossError::BadCenterWeight(center_loss_weight));
        }
        Ok(ReidLoss {
            id,
            triplet,
            center,
            label_smoothing: label_smooth.then_some(LABEL_SMOOTH_EPSILON),
            margin: (!no_margin).then_some(triplet_loss_margin),
            center_loss_weight,
        })
    }

    /// The losses of one batch: `logits` `[N, C]` (after the BNNeck), `features` `[N, D]` (before it), `labels`
    /// `[N]`; `centers` is required when the center term is on.
    ///
    /// # Panics
    /// If the center term is on and `centers` is `None`.
    pub fn compute(
        &self,
        logits: Tensor<2>,
        features: Tensor<2>,
        labels: Tensor<1, Int>,
        centers: Option<&CenterLoss>,
    ) -> LossParts {
        self.compute_train(TrainOutput { logits, features, local: Vec::new() }, labels, centers)
    }

    /// The losses of a network's training output. Without JPM's local features this is [`ReidLoss::compute`];
    /// with them, TransReID's weighting (`loss/make_loss.py`, `make_loss`): every ID term is
    /// `0.5 * mean_i CE(local_i) + 0.5 * CE(global)` (each cross-entropy label-smoothed alike) and every triplet
    /// term `0.5 * mean_i triplet(local_i) + 0.5 * triplet(global)`; the center loss (an extension: TransReID
    /// trains ViTs without one) sees the global feature only. The triplet's share of correct anchors is the
    /// global feature's.
    ///
    /// # Panics
    /// If the center term is on and `centers` is `None`.
    pub fn compute_train(&self, out: TrainOutput, labels: Tensor<1, Int>, centers: Option<&CenterLoss>) -> LossParts {
        let TrainOutput { logits, features, local } = out;
        let k = local.len() as f32;
        // 0.5 * mean of the local terms + 0.5 * the global term, or the global term alone without JPM.
        let weigh = |global: Tensor<1>, locals: Vec<Tensor<1>>| match locals.into_iter().reduce(|a, b| a + b) {
            Some(sum) => sum.div_scalar(k).mul_scalar(0.5) + global.mul_scalar(0.5),
            None => global,
        };
        let id = self.id.then(|| {
            let ce = |l: Tensor<2>| cross_entropy(l, labels.clone(), self.label_smoothing);
            let locals = local.iter().map(|l| ce(l.logits.clone())).collect();
            weigh(ce(logits), locals)
        });
        let (triplet, triplet_correct) = if self.triplet {
            let global = batch_hard_triplet(features.clone(), labels.clone(), self.margin);
            let locals = local
                .iter()
                .map(|l| batch_hard_triplet(l.features.clone(), labels.clone(), self.margin).loss)
                .collect();
            (Some(weigh(global.loss, locals)), Some(global.correct))
        } else {
            (None, None)
        };
        let center = self.center.then(|| {
            centers
                .expect("the center loss is on: ReidLoss::compute needs the CenterLoss module")
                .forward(features, labels)
        });
        let mut terms = Vec::with_capacity(3);
        terms.extend(id.clone());
        terms.extend(triplet.clone());
        terms.extend(center.clone().map(|c| c.mul_scalar(self.center_loss_weight)));
        let total = terms.into_iter().reduce(|a, b| a + b).expect("every valid combination has at least one term");
        LossParts { total, id, triplet, center, triplet_correct }
    }
}
