//! Optimisation: optimisers with the strong baseline's parameter groups, the warm-up multi-step learning-rate
//! schedule, gradient clipping.

pub mod clip;
pub mod groups;
pub mod schedule;

pub use clip::clip_global_norm;
pub use groups::{GroupRates, GroupedOptimizer, OptimSettings, OptimizerKind};
