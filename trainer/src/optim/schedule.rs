//! The learning-rate schedule of TAO ReIdentificationNet (`train.optim`): `warmup_method: linear` is the
//! `WarmupMultiStepLR` of Luo et al. 2019's reid-strong-baseline (`solver/lr_scheduler.py`, copied into TAO as
//! `lr_schedulers/warmup_multi_step_lr.py`); `warmup_method: cosine` is, in TAO, not a warm-up variant of that
//! scheduler but a different one, TransReID's `CosineLRScheduler` (`lr_schedulers/cosine_lr.py`, built by
//! `create_cosine_scheduler`; TAO's `configure_optimizers` picks it whenever `warmup_method == "cosine"`).
//!
//! # The two schedules, per epoch
//!
//! `Linear` (multi-step), at PyTorch's scheduler counter `last_epoch = t`:
//! `base_lr * warm(t) * gamma^(number of lr_steps <= t)` (`bisect_right`), with
//! `warm(t) = warmup_factor * (1 - t / warmup_epochs) + t / warmup_epochs` while `t < warmup_epochs`, else 1.
//!
//! `Cosine` (TransReID/TAO `CosineLRScheduler` with `t_initial = num_epochs`, `lr_min = 0.002 * base_lr`,
//! `warmup_lr_init = 0.01 * base_lr`, `warmup_t = warmup_epochs`, `cycle_limit = 1`, no noise), at its counter `t`:
//! a *linear* ramp `warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_epochs` while `t < warmup_epochs`,
//! then `lr_min + (base_lr - lr_min) * (1 + cos(pi * t / num_epochs)) / 2` (note `t`, not `t - warmup_epochs`: the
//! cosine is not shifted by the warm-up, so it resumes below `base_lr`), and `lr_min` from `t = num_epochs` on.
//! `lr_steps` and `gamma` play no part. TAO hard-codes the warm-up start at `0.01 * base_lr`; here it is
//! `warmup_factor * base_lr`, identical for the spec's default `warmup_factor: 0.01`.
//!
//! # Epoch indexing (what [`WarmupMultiStep::lr_at`] takes)
//!
//! `lr_at(epoch)` is the rate the reference trainers use while training the 0-based `epoch`:
//! - multi-step: the scheduler is built (counter 0) and stepped once before the first epoch (reid-strong-baseline
//!   steps it on ignite's `EPOCH_STARTED`; TAO calls `scheduler.step()` in `configure_optimizers`, then Lightning
//!   steps it after every epoch), so 0-based epoch `e` trains at counter `t = e + 1`: the first epoch is already
//!   one warm-up step in, and with `lr_steps: [40, 70]` the 40th epoch (0-based 39) is the first decayed one;
//! - cosine: the scheduler's own initial step uses `t = 0`, so 0-based epoch `e` trains at `t = e`;
//! - `transreid_cosine`: the same `CosineLRScheduler` (`solver/cosine_lr.py` of github.com/damo-cv/TransReID, built
//!   by `solver/scheduler_factory.py` `create_scheduler` with exactly the parameters above, `warmup_t =
//!   SOLVER.WARMUP_EPOCHS`) stepped as TransReID's `processor/processor.py` steps it: `scheduler.step(epoch)` at
//!   the start of every epoch with `epoch` counted from 1, so 0-based epoch `e` trains at `t = e + 1`: the first
//!   epoch is one warm-up step in, and the last of `num_epochs` epochs trains at the floor `lr_min`.
//!
//! [`WarmupMultiStep::lr_at_counter`] evaluates the formulas at a raw counter `t` instead.

use crate::choice::{Choice, named_choice};
use std::f64::consts::PI;
use std::str::FromStr;

/// `lr_min = COSINE_LR_MIN_RATIO * base_lr` in TAO's cosine schedule.
pub const COSINE_LR_MIN_RATIO: f64 = 0.002;

/// The spec's `train.optim.warmup_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarmupMethod {
    /// `linear`: the strong baseline's warm-up multi-step schedule.
    Linear,
    /// `cosine`: TAO's cosine schedule (linear warm-up, then cosine annealing over `num_epochs`).
    Cosine,
    /// `transreid_cosine`: the same cosine schedule stepped as TransReID's trainer steps it (one epoch later).
    TransreidCosine,
}

impl Choice for WarmupMethod {
    const SPELLINGS: &'static [(&'static str, Self)] = &[
        ("linear", WarmupMethod::Linear),
        ("cosine", WarmupMethod::Cosine),
        ("transreid_cosine", WarmupMethod::TransreidCosine),
    ];
}

named_choice!(WarmupMethod);

impl WarmupMethod {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        self.name()
    }
}

impl FromStr for WarmupMethod {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WarmupMethod::from_name(s).ok_or_else(|| {
            ScheduleError(format!("train.optim.warmup_method = `{s}` is not one of {}", WarmupMethod::expected()))
        })
    }
}

/// A schedule parameter out of range; the message names the spec key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

/// The warm-up schedule of `train.optim` (see the module docs for both methods and the epoch convention).
#[derive(Debug, Clone, PartialEq)]
pub struct WarmupMultiStep {
    /// `train.optim.base_lr`: the peak rate.
    pub base_lr: f64,
    /// `train.optim.lr_steps`: epochs (scheduler counter) at which the rate is multiplied by `gamma` (linear only).
    pub lr_steps: Vec<usize>,
    /// `train.optim.gamma`: the decay factor (linear only).
    pub gamma: f64,
    /// `train.optim.warmup_factor`: the warm-up starts at `warmup_factor * base_lr`.
    pub warmup_factor: f64,
    /// `train.optim.warmup_epochs`: the warm-up length (0: none).
    pub warmup_epochs: usize,
    /// `train.optim.warmup_method`.
    pub method: WarmupMethod,
    /// `train.num_epochs`: the cosine period (cosine only).
    pub num_epochs: usize,
}

impl WarmupMultiStep {
    /// Checks the parameters; the error names the spec key.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let bad =
            |key: &str, value: String, rule: &str| Err(ScheduleError(format!("train.optim.{key} = {value} {rule}")));
        if !(self.base_lr.is_finite() && self.base_lr > 0.0) {
            return bad("base_lr", self.base_lr.to_string(), "must be > 0");
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            return bad("gamma", self.gamma.to_string(), "must be > 0");
        }
        if !(self.warmup_factor.is_finite() && self.warmup_factor > 0.0) {
            return bad("warmup_factor", self.warmup_factor.to_string(), "must be > 0");
        }
        if self.lr_steps.windows(2).any(|w| w[0] > w[1]) {
            return bad("lr_steps", format!("{:?}", self.lr_steps), "must be in increasing order");
        }
        if self.method != WarmupMethod::Linear && self.num_epochs == 0 {
            return Err(ScheduleError(format!("train.num_epochs = 0 must be > 0 for warmup_method: {}", self.method)));
        }
        Ok(())
    }

    /// The learning rate for training the 0-based `epoch`, as the reference trainers apply it (multi-step and
    /// `transreid_cosine`: the counter is `epoch + 1`; cosine: `epoch`; see the module docs).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        self.lr_at_group(epoch, self.base_lr)
    }

    /// [`lr_at`](Self::lr_at) for a parameter group whose own base rate is `group_base_lr` (e.g.
    /// `base_lr * bias_lr_factor` for biases). Multi-step scales it by the same factor; the cosine schedule, as in
    /// TAO, keeps its start (`warmup_factor * base_lr`) and floor (`0.002 * base_lr`) from the global `base_lr`.
    pub fn lr_at_group(&self, epoch: usize, group_base_lr: f64) -> f64 {
        let counter = match self.method {
            WarmupMethod::Linear | WarmupMethod::TransreidCosine => epoch + 1,
            WarmupMethod::Cosine => epoch,
        };
        self.lr_at_counter_group(counter, group_base_lr)
    }

    /// The formula at the raw scheduler counter (PyTorch's `last_epoch` for multi-step, `t` for cosine).
    pub fn lr_at_counter(&self, counter: usize) -> f64 {
        self.lr_at_counter_group(counter, self.base_lr)
    }

    fn lr_at_counter_group(&self, t: usize, group_base_lr: f64) -> f64 {
        match self.method {
            WarmupMethod::Linear => {
                let warm = if t < self.warmup_epochs {
                    let alpha = t as f64 / self.warmup_epochs as f64;
                    self.warmup_factor * (1.0 - alpha) + alpha
                } else {
                    1.0
                };
                let decays = self.lr_steps.partition_point(|&step| step <= t);
                group_base_lr * warm * self.gamma.powi(decays as i32)
            }
            WarmupMethod::Cosine | WarmupMethod::TransreidCosine => {
                let start = self.warmup_factor * self.base_lr;
                let floor = COSINE_LR_MIN_RATIO * self.base_lr;
                if t < self.warmup_epochs {
                    start + t as f64 * (group_base_lr - start) / self.warmup_epochs as f64
                } else if t < self.num_epochs {
                    floor + 0.5 * (group_base_lr - floor) * (1.0 + (PI * t as f64 / self.num_epochs as f64).cos())
                } else {
                    floor
                }
            }
        }
    }
}
