//! Patch merging: halves the resolution and doubles the channels between stages (timm's order of the 2x2
//! neighbourhood: (0,0), (1,0), (0,1), (1,1) in (row, column) offsets, as the original Swin).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// LayerNorm over the concatenated 2x2 neighbourhood, then a bias-free `4C -> 2C` projection.
#[derive(Module, Debug)]
pub struct PatchMerging {
    /// Norm over `4C`.
    pub norm: LayerNorm,
    /// `4C -> 2C`, no bias.
    pub reduction: Linear,
}

impl PatchMerging {
    /// Merging for `dim` input channels.
    pub fn new(dim: usize, device: &Device) -> Self {
        PatchMerging {
            norm: LayerNormConfig::new(4 * dim).init(device),
            reduction: LinearConfig::new(4 * dim, 2 * dim).with_bias(false).init(device),
        }
    }

    /// `[B, H, W, C]` to `[B, ceil(H/2), ceil(W/2), 2C]`; odd sizes are zero-padded at the bottom/right.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, h, w, _] = x.dims();
        let x = if h % 2 == 1 || w % 2 == 1 { x.pad([(0, 0), (0, h % 2), (0, w % 2), (0, 0)], 0.0) } else { x };
        let [b, h, w, c] = x.dims();
        // (B, H/2, dh, W/2, dw, C) -> (B, H/2, W/2, dw, dh, C): channel block k = dw * 2 + dh.
        let x = x.reshape([b, h / 2, 2, w / 2, 2, c]).permute([0, 1, 3, 4, 2, 5]).reshape([b, h / 2, w / 2, 4 * c]);
        self.reduction.forward(self.norm.forward(x))
    }
}
