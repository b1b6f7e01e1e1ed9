//! A Swin block: (shifted-)window attention and an MLP, each in a pre-norm residual branch with stochastic
//! depth.

use super::attention::WindowAttention;
use super::window::{Geometry, partition, reverse};
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Distribution, Tensor};

/// The two-layer MLP with exact (erf) GELU.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `C -> ratio * C`.
    pub fc1: Linear,
    /// `ratio * C -> C`.
    pub fc2: Linear,
}

/// Stochastic depth (Huang et al. 2016): drops a whole residual branch per sample while training.
pub fn drop_path<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    if prob <= 0.0 || !x.device().is_autodiff() {
        return x;
    }
    let keep = 1.0 - prob;
    let mut shape = [1usize; D];
    shape[0] = x.dims()[0];
    let mask = Tensor::<D>::random(shape, Distribution::Bernoulli(keep), &x.device());
    x * mask.div_scalar(keep)
}

/// One Swin Transformer block.
#[derive(Module, Debug)]
pub struct SwinBlock {
    /// Pre-attention norm.
    pub norm1: LayerNorm,
    /// Window attention.
    pub attn: WindowAttention,
    /// Pre-MLP norm.
    pub norm2: LayerNorm,
    /// MLP.
    pub mlp: Mlp,
    /// Position within the stage (odd blocks shift their windows).
    pub index: usize,
    /// Stochastic depth rate.
    pub drop_path: f64,
}

impl SwinBlock {
    /// Block `index` of a stage with `dim` channels.
    pub fn new(
        dim: usize,
        heads: usize,
        ws: usize,
        mlp_ratio: usize,
        index: usize,
        drop: f64,
        device: &Device,
    ) -> Self {
        SwinBlock {
            norm1: LayerNormConfig::new(dim).init(device),
            attn: WindowAttention::new(dim, heads, ws, device),
            norm2: LayerNormConfig::new(dim).init(device),
            mlp: Mlp {
                fc1: LinearConfig::new(dim, mlp_ratio * dim).init(device),
                fc2: LinearConfig::new(mlp_ratio * dim, dim).init(device),
            },
            index,
            drop_path: drop,
        }
    }

    /// Runs the block on `x: [B, H, W, C]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, h, w, _] = x.dims();
        let g = Geometry::new(h, w, self.attn.window_size, self.index);
        let device = x.device();
        let shortcut = x.clone();
        let mut y = self.norm1.forward(x);
        if g.hp != h || g.wp != w {
            y = y.pad([(0, 0), (0, g.hp - h), (0, g.wp - w), (0, 0)], 0.0);
        }
        let s = g.shift as i64;
        if s > 0 {
            y = y.roll(&[-s, -s], &[1, 2]);
        }
        let mask = g.mask(&device);
        let windows = self.attn.forward(partition(y, g.ws), mask.as_ref());
        let mut y = reverse(windows, g.ws, g.hp, g.wp);
        if s > 0 {
            y = y.roll(&[s, s], &[1, 2]);
        }
        if g.hp != h || g.wp != w {
            let b = y.dims()[0];
            y = y.slice([0..b, 0..h, 0..w]);
        }
        let x = shortcut + drop_path(y, self.drop_path);
        let m = self.mlp.fc2.forward(gelu(self.mlp.fc1.forward(self.norm2.forward(x.clone()))));
        x + drop_path(m, self.drop_path)
    }
}
