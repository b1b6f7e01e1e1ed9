//! Synthetic person re-identification data, everything a function of a seed:
//!
//! - [`persons`]: a pure-Rust renderer of pedestrians (identities, cameras, poses, occluders, sensor effects) and
//!   a Market-1501 dataset writer; the quick start trains on it and `reidsynthsrc` draws live scenes with it.
//! - [`embeddings`]: clustered embedding sets with Market-1501 names for evaluation demos, tests and benchmarks.
//!
//! Nothing here is needed to run a model: the runtime, the gallery and edge builds do not depend on this crate.

pub mod embeddings;
pub mod persons;
