//! ReID networks in burn: ResNet (torchvision layout), Swin Transformer (timm layout) and TransReID ViT backbones
//! with the BNNeck head and TransReID's jigsaw patch module, weight import from PyTorch/timm checkpoints, and ONNX export.
//!
//! - [`config`]: the `model` section of the spec as the network needs it.
//! - [`backbone`]: the trunks.
//! - [`jpm`]: TransReID's jigsaw patch module.
//! - [`batch_norm`]: batch normalisation with PyTorch's running statistics.
//! - [`cpu_conv`]: 2-D convolution and its gradients as whole-batch matrix products on the CPU (`reid bench conv`).
//! - [`reid`]: the ReID head and the whole network ([`ReidModel`]).

pub mod backbone;
pub mod batch_norm;
pub mod config;
#[cfg(feature = "flex")]
pub mod cpu_conv;
pub mod error;
pub mod export;
pub mod jpm;
pub mod reid;
pub mod weights;

pub use config::{BackboneConfig, Neck, NeckFeat, ReidConfig};
pub use error::ModelError;
pub use reid::{LocalOutput, ReidModel, TrainOutput};
