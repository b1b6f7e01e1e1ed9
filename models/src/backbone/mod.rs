//! Backbones: a trunk that turns an image batch `[N, C, H, W]` into a global feature `[N, D]`.

pub mod resnet;
pub mod swin;
pub mod vit;

use crate::config::BackboneConfig;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use resnet::ResNet;
use swin::Swin;
use vit::Vit;

/// One of the supported trunks. Parameter paths skip the variant name (`base.conv1.weight`,
/// `base.layers.0.blocks.0.attn.qkv.weight`), as PyTorch state dicts name them.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Backbone {
    /// ResNet.
    Resnet(ResNet),
    /// Swin Transformer.
    Swin(Swin),
    /// TransReID Vision Transformer.
    Vit(Vit),
}

impl Backbone {
    /// A randomly initialised backbone.
    pub fn new(
        config: &BackboneConfig,
        input_channels: usize,
        device: &Device,
    ) -> Result<Self, crate::error::ModelError> {
        Ok(match config {
            BackboneConfig::Resnet(c) => Backbone::Resnet(ResNet::new(c, input_channels, device)),
            BackboneConfig::Swin(c) => Backbone::Swin(Swin::new(c, input_channels, device)),
            BackboneConfig::Vit(c) => Backbone::Vit(Vit::new(c, input_channels, device)?),
        })
    }

    /// The global feature `[N, D]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_side(x, None)
    }

    /// The global feature `[N, D]`, with the camera ids `[N]` for a ViT with SIE (others ignore them; a missing
    /// id counts as camera 0).
    pub fn forward_side(&self, x: Tensor<4>, camera: Option<Tensor<1, Int>>) -> Tensor<2> {
        match self {
            Backbone::Resnet(m) => m.forward(x),
            Backbone::Swin(m) => m.forward(x),
            Backbone::Vit(m) => m.forward(x, camera, None),
        }
    }
}
