//! One module per `reid` subcommand.

#[cfg(feature = "bench")]
pub mod bench;
pub mod cameras;
pub mod dataset;
pub mod deepstream;
pub mod doctor;
pub mod embed;
pub mod engine;
pub mod evaluate;
#[cfg(feature = "gallery")]
pub mod gallery;
#[cfg(feature = "train")]
pub mod train;
