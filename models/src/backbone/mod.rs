//! Backbones: a trunk that turns an image batch `[N, C, H, W]` into a global feature `[N, D]`.

pub mod resnet;
pub mod swin;
pub mod vit;

use crate::config::BackboneConfig;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use resnet::ResNet;
use swin::Swin;

/// One of the supported trunks. Parameter paths skip the variant name (`base.conv1.weight`,
/// `base.layers.0.blocks.0.attn.qkv.weight`), as PyTorch state dicts name them.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Backbone {
    /// ResNet.
    Resnet(ResNet),
    /// Swin Transformer.
    Swin(Swin),
}

impl Backbone {
    /// A randomly initialised backbone.
    pub fn new(config: &BackboneConfig, input_channels: usize, device: &Device) -> Self {
        match config {
            BackboneConfig::Resnet(c) => Backbone::Resnet(ResNet::new(c, input_channels, device)),
            BackboneConfig::Swin(c) => Backbone::Swin(Swin::new(c, input_channels, device)),
        }
    }

    /// The global feature `[N, D]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Backbone::Resnet(m) => m.forward(x),
            Backbone::Swin(m) => m.forward(x),
        }
    }
}
