//! Parameter groups as the strong baseline builds them (`solver/build.py` of reid-strong-baseline, TAO):
//! biases (every parameter whose PyTorch name contains `bias`: BatchNorm/LayerNorm shifts, Swin's relative position
//! bias tables) learn at `base_lr * bias_lr_factor` with
//! `weight_decay_bias`; with `large_fc_lr` the classifier learns at `2 * base_lr`; everything else at `base_lr`
//! with `weight_decay`. One burn [`ModuleOptimizer`] holds one optimiser per group (burn matches groups by
//! module path), and the learning rate of each group is set per step.

use super::schedule::WarmupMultiStep;
use crate::choice::{Choice, named_choice};
use burn::module::{Module, ParamGroup};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, OptimizerRecord, SgdConfig};

/// Which optimiser (`train.optim.name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptimizerKind {
    /// SGD with momentum (PyTorch semantics: no dampening, L2 weight decay added to the gradient).
    Sgd,
    /// Adam with L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=...)`).
    Adam,
    /// AdamW with decoupled weight decay.
    AdamW,
}

impl Choice for OptimizerKind {
    const SPELLINGS: &'static [(&'static str, Self)] =
        &[("SGD", OptimizerKind::Sgd), ("Adam", OptimizerKind::Adam), ("AdamW", OptimizerKind::AdamW)];
}

named_choice!(OptimizerKind);

/// The `train.optim` keys that shape the optimiser.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimSettings {
    /// Optimiser.
    pub kind: OptimizerKind,
    /// SGD momentum.
    pub momentum: f64,
    /// Weight decay of weights.
    pub weight_decay: f64,
    /// Weight decay of biases.
    pub weight_decay_bias: f64,
    /// Learning-rate multiplier of biases.
    pub bias_lr_factor: f64,
    /// Classifier at twice the learning rate.
    pub large_fc_lr: bool,
}

/// Module paths of the "bias" group: every parameter whose PyTorch name contains `bias`, as the baseline's,
/// TAO's and TransReID's `make_optimizer` test it (`"bias" in key`): `*.bias`, the norms' shift `*.beta`
/// (PyTorch's `bn.bias` / `norm.bias`) and Swin's `relative_position_bias_table`.
const BIAS_PATTERN: &str = r"bias|(^|\.)beta$";
/// Module paths of the ID classifiers (the global one and JPM's per local feature, TransReID's `classifier_1..4`,
/// which its `make_optimizer` matches by the name `classifier` as well).
const CLASSIFIER_PATTERN: &str = r"^(classifier|jpm\.classifiers\.\d+)\.";

/// The learning rate of each parameter group for one epoch ([`GroupedOptimizer::rates_at`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupRates {
    /// Weights (everything that is not a bias or a boosted classifier).
    pub base: f64,
    /// Biases and BatchNorm shifts.
    pub bias: f64,
    /// The classifiers, with `large_fc_lr`.
    pub classifier: Option<f64>,
}

/// One optimiser per parameter group behind a single state, saved and restored together.
#[derive(Clone)]
pub struct GroupedOptimizer {
    optim: ModuleOptimizer,
    settings: OptimSettings,
}

fn group(pattern: &str) -> ParamGroup {
    // The patterns are constants checked by the tests.
    ParamGroup::from_regex(pattern).unwrap_or_else(|_| ParamGroup::from_predicate(pattern))
}

fn optimizer(settings: &OptimSettings, weight_decay: f64) -> ModuleOptimizer {
    let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
    match settings.kind {
        OptimizerKind::Sgd => {
            let momentum = (settings.momentum > 0.0)
                .then(|| MomentumConfig::new().with_momentum(settings.momentum).with_dampening(0.0));
            ModuleOptimizer::from(SgdConfig::new().with_momentum(momentum).with_weight_decay(decay).build())
        }
        OptimizerKind::Adam => {
            ModuleOptimizer::from(AdamConfig::new().with_epsilon(1e-8).with_weight_decay(decay).build())
        }
        OptimizerKind::AdamW => {
            ModuleOptimizer::from(AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(weight_decay as f32).build())
        }
    }
}

fn bare(settings: &OptimSettings, weight_decay: f64) -> burn::optim::Sgd {
    let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
    let momentum =
        (settings.momentum > 0.0).then(|| MomentumConfig::new().with_momentum(settings.momentum).with_dampening(0.0));
    SgdConfig::new().with_momentum(momentum).with_weight_decay(decay).build()
}

impl GroupedOptimizer {
    /// The optimiser for a ReID network's parameters.
    pub fn new(settings: OptimSettings) -> Self {
        let base = optimizer(&settings, settings.weight_decay);
        let optim = match settings.kind {
            OptimizerKind::Sgd => {
                base.with_group(group(BIAS_PATTERN), bare(&settings, settings.weight_decay_bias), None)
            }
            OptimizerKind::Adam => {
                let decay = (settings.weight_decay_bias > 0.0)
                    .then(|| WeightDecayConfig::new(settings.weight_decay_bias as f32));
                base.with_group(
                    group(BIAS_PATTERN),
                    AdamConfig::new().with_epsilon(1e-8).with_weight_decay(decay).build(),
                    None,
                )
            }
            OptimizerKind::AdamW => base.with_group(
                group(BIAS_PATTERN),
                AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(settings.weight_decay_bias as f32).build(),
                None,
            ),
        };
        GroupedOptimizer { optim, settings }
    }

    /// The learning rate of every group when the schedule says `lr`.
    pub fn learning_rates(&self, lr: f64) -> ModuleLearningRate {
        let mut policy = ModuleLrScheduler::new(lr).with_group(group(BIAS_PATTERN), lr * self.settings.bias_lr_factor);
        if self.settings.large_fc_lr {
            policy = policy.with_group(group(CLASSIFIER_PATTERN), lr * 2.0);
        }
        policy.step()
    }

    /// The rate of each group at 0-based `epoch`: weights at the schedule's rate, biases and (with `large_fc_lr`)
    /// the classifiers as groups whose own base rate is `base_lr * bias_lr_factor` (`2 * base_lr`), through
    /// [`WarmupMultiStep::lr_at_group`]: the multi-step schedule scales them by the factor, the cosine schedules
    /// keep the global warm-up start and floor, as the reference schedulers' per-group base values do.
    pub fn rates_at(&self, schedule: &WarmupMultiStep, epoch: usize) -> GroupRates {
        GroupRates {
            base: schedule.lr_at(epoch),
            bias: schedule.lr_at_group(epoch, schedule.base_lr * self.settings.bias_lr_factor),
            classifier: self.settings.large_fc_lr.then(|| schedule.lr_at_group(epoch, schedule.base_lr * 2.0)),
        }
    }

    /// One update of `module` with `grads` at the groups' rates.
    pub fn step_rates<M: Module>(&mut self, rates: &GroupRates, module: M, grads: GradientsParams) -> M {
        let mut policy = ModuleLrScheduler::new(rates.base).with_group(group(BIAS_PATTERN), rates.bias);
        if let Some(fc) = rates.classifier {
            policy = policy.with_group(group(CLASSIFIER_PATTERN), fc);
        }
        self.optim.step(policy.step(), module, grads)
    }

    /// One update of `module` with `grads` at schedule learning rate `lr`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        let rates = self.learning_rates(lr);
        self.optim.step(rates, module, grads)
    }

    /// The optimiser state (momentum buffers, Adam moments) for a checkpoint.
    pub fn to_record(&self) -> OptimizerRecord {
        self.optim.to_record()
    }

    /// Restores a state saved by [`GroupedOptimizer::to_record`].
    pub fn load_record(mut self, record: OptimizerRecord) -> Self {
        self.optim = self.optim.load_record(record);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
    use burn::tensor::{Device, Tensor, TensorData};

    #[derive(Module, Debug)]
    struct Net {
        fc: Linear,
        bn: BatchNorm,
        classifier: Linear,
    }

    fn net(device: &Device) -> Net {
        let mut fc = LinearConfig::new(2, 2).init(device);
        fc.weight = Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32; 4], [2, 2]), device));
        fc.bias = Some(Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32; 2], [2]), device)));
        let mut classifier = LinearConfig::new(2, 1).with_bias(false).init(device);
        classifier.weight = Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32; 2], [2, 1]), device));
        Net { fc, bn: BatchNormConfig::new(2).init(device), classifier }
    }

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn patterns_compile() {
        assert!(ParamGroup::from_regex(BIAS_PATTERN).is_ok());
        assert!(ParamGroup::from_regex(CLASSIFIER_PATTERN).is_ok());
    }

    /// Every parameter gets gradient 1 (the loss is the sum of all parameters); with plain SGD the update is
    /// `lr_group * (1 + wd_group * w)`, so each group's rate and decay can be read off.
    #[test]
    fn each_group_gets_its_rate_and_decay() {
        let device = Device::flex().autodiff();
        let model = net(&device);
        let loss = model.fc.weight.val().sum()
            + model.fc.bias.as_ref().unwrap().val().sum()
            + model.bn.gamma.val().sum()
            + model.bn.beta.val().sum()
            + model.classifier.weight.val().sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let settings = OptimSettings {
            kind: OptimizerKind::Sgd,
            momentum: 0.0,
            weight_decay: 0.5,
            weight_decay_bias: 0.25,
            bias_lr_factor: 2.0,
            large_fc_lr: true,
        };
        let mut optim = GroupedOptimizer::new(settings);
        let model = optim.step(0.1, model, grads);
        // weight: 1 - 0.1 * (1 + 0.5 * 1) = 0.85
        assert!(values(model.fc.weight.val().flatten(0, 1)).iter().all(|v| (v - 0.85).abs() < 1e-6));
        // bias: 1 - 0.2 * (1 + 0.25 * 1) = 0.75
        assert!(values(model.fc.bias.unwrap().val()).iter().all(|v| (v - 0.75).abs() < 1e-6));
        // BN scale is a weight: 1 - 0.1 * 1.5; BN shift starts at 0: 0 - 0.2 * 1.
        assert!(values(model.bn.gamma.val()).iter().all(|v| (v - 0.85).abs() < 1e-6));
        assert!(values(model.bn.beta.val()).iter().all(|v| (v + 0.2).abs() < 1e-6));
        // classifier at 2 x lr with the weights' decay: 1 - 0.2 * 1.5 = 0.7
        assert!(values(model.classifier.weight.val().flatten(0, 1)).iter().all(|v| (v - 0.7).abs() < 1e-6));
    }

    /// PyTorch SGD: `buf = g` on the first step, then `buf = m * buf + g` (no dampening).
    #[test]
    fn sgd_momentum_has_no_dampening() {
        let device = Device::flex().autodiff();
        let settings = OptimSettings {
            kind: OptimizerKind::Sgd,
            momentum: 0.9,
            weight_decay: 0.0,
            weight_decay_bias: 0.0,
            bias_lr_factor: 1.0,
            large_fc_lr: false,
        };
        let mut optim = GroupedOptimizer::new(settings);
        let mut model = net(&device);
        for _ in 0..2 {
            let grads = GradientsParams::from_grads(model.fc.weight.val().sum().backward(), &model);
            model = optim.step(0.1, model, grads);
        }
        // Step 1: 1 - 0.1 * 1 = 0.9; step 2: buf = 0.9 + 1 = 1.9, 0.9 - 0.19 = 0.71.
        assert!(values(model.fc.weight.val().flatten(0, 1)).iter().all(|v| (v - 0.71).abs() < 1e-6));
    }

    #[derive(Module, Debug)]
    struct Locals {
        classifiers: Vec<Linear>,
    }

    #[derive(Module, Debug)]
    struct JpmNet {
        fc: Linear,
        classifier: Linear,
        jpm: Locals,
    }

    /// Explicit group rates reach their groups, JPM's per-local classifiers (`jpm.classifiers.N`) included.
    #[test]
    fn step_rates_reach_biases_and_every_classifier() {
        let device = Device::flex().autodiff();
        let ones = |rows: usize, cols: usize| {
            let mut l = LinearConfig::new(rows, cols).init(&device);
            l.weight = Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![1.0f32; rows * cols], [rows, cols]),
                &device,
            ));
            l.bias = l
                .bias
                .map(|_| Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f32; cols], [cols]), &device)));
            l
        };
        let model = JpmNet {
            fc: ones(2, 2),
            classifier: ones(2, 1),
            jpm: Locals { classifiers: vec![ones(2, 1), ones(2, 1)] },
        };
        let mut loss = model.fc.weight.val().sum() + model.fc.bias.as_ref().unwrap().val().sum();
        for l in std::iter::once(&model.classifier).chain(&model.jpm.classifiers) {
            loss = loss + l.weight.val().sum() + l.bias.as_ref().unwrap().val().sum();
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let settings = OptimSettings {
            kind: OptimizerKind::Sgd,
            momentum: 0.0,
            weight_decay: 0.0,
            weight_decay_bias: 0.0,
            bias_lr_factor: 3.0,
            large_fc_lr: true,
        };
        let rates = GroupRates { base: 0.1, bias: 0.3, classifier: Some(0.2) };
        let model = GroupedOptimizer::new(settings).step_rates(&rates, model, grads);
        let all = |t: Tensor<1>, want: f32, what: &str| {
            let v = values(t);
            assert!(v.iter().all(|x| (x - want).abs() < 1e-6), "{what}: {v:?}");
        };
        all(model.fc.weight.val().flatten(0, 1), 0.9, "weights at the base rate");
        all(model.fc.bias.unwrap().val(), 0.7, "biases at the bias rate");
        all(model.classifier.weight.val().flatten(0, 1), 0.8, "classifier");
        for l in model.jpm.classifiers {
            all(l.weight.val().flatten(0, 1), 0.8, "JPM classifier");
        }
    }
}
