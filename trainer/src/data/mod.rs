//! Training data: the Market-1501 train split with relabelled identities, augmentation, samplers, a streaming loader.

pub mod augment;
pub mod error;
pub mod loader;
pub mod sampler;
pub mod split;
pub mod unreadable;

pub use augment::AugmentConfig;
pub use error::DataError;
pub use loader::{Batch, BatchStream, LoaderConfig, eval_stream, train_stream};
pub use split::{EvalSet, TrainItem, TrainSet, load_eval_set, load_train_set};
