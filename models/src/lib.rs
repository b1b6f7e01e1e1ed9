//! ReID networks in burn: ResNet (torchvision layout) and Swin Transformer (timm layout) backbones with the
//! BNNeck head, weight import from PyTorch/timm checkpoints, and ONNX export.
//!
//! - [`config`]: the `model` section of the spec as the network needs it.
//! - [`backbone`]: the trunks.
//! - [`reid`]: the ReID head and the whole network ([`ReidModel`]).

pub mod backbone;
pub mod config;
pub mod error;
pub mod export;
pub mod reid;
pub mod weights;

pub use config::{BackboneConfig, Neck, NeckFeat, ReidConfig};
pub use error::ModelError;
pub use reid::{ReidModel, TrainOutput};
