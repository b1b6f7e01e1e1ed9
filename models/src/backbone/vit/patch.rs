//! Overlapping patch embedding, as TransReID's `PatchEmbed_overlap`: a `patch x patch` convolution with stride
//! `stride_size` (below the patch size neighbouring patches share pixels), flattened row-major to tokens.

use burn::module::Module;
use burn::nn::Initializer;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor};

/// The patch projection.
#[derive(Module, Debug)]
pub struct PatchEmbed {
    /// `patch x patch` convolution with stride `[y, x]`, `C_in -> embed_dim`, with bias.
    pub proj: Conv2d,
}

impl PatchEmbed {
    /// Embedding of `c_in` channels into `dim`; weights N(0, sqrt(2 / (patch^2 dim))) as TransReID initialises.
    pub fn new(c_in: usize, dim: usize, patch: usize, stride: [usize; 2], device: &Device) -> Self {
        let std = (2.0 / (patch * patch * dim) as f64).sqrt();
        PatchEmbed {
            proj: Conv2dConfig::new([c_in, dim], [patch, patch])
                .with_stride(stride)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device),
        }
    }

    /// `[B, C, H, W]` to tokens `[B, num_y * num_x, dim]` (row-major over the patch grid).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        let y = self.proj.forward(x);
        let [b, d, gy, gx] = y.dims();
        y.reshape([b, d, gy * gx]).swap_dims(1, 2)
    }
}
