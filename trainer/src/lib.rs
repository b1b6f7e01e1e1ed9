//! Training ReID networks in burn with the recipe of NVIDIA TAO ReIdentificationNet (Luo et al.'s strong baseline:
//! BNNeck, ID loss with label smoothing, batch-hard triplet, center loss, warm-up multi-step schedule).
//!
//! - [`choice`]: the spellings of enum-valued spec keys, on the domain enums themselves.
//! - [`spec`]: the TAO YAML spec (every key of the seed documents), interpolation, overrides, validation.
//! - [`data`]: the training split, augmentation, P x K samplers, a streaming multi-threaded loader.
//! - [`loss`]: cross-entropy (label smoothing), batch-hard triplet (margin or soft), center loss.
//! - [`optim`]: SGD/Adam/AdamW with parameter groups, the warm-up multi-step schedule, gradient clipping.
//! - [`train`]: the loop, checkpoints with exact resume, validation, metrics log and curves.

pub mod choice;
pub mod data;
pub mod loss;
pub mod optim;
pub mod spec;
pub mod train;
