//! A pre-norm transformer block, as TransReID's `Block`: `x + drop_path(attn(norm1(x)))`, then
//! `x + drop_path(mlp(norm2(x)))`, with an exact-GELU MLP.

use super::attention::{Attention, linear};
use crate::backbone::swin::block::{Mlp, drop_path};
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};

/// One ViT block.
#[derive(Module, Debug)]
pub struct VitBlock {
    /// Pre-attention norm.
    pub norm1: LayerNorm,
    /// Self-attention.
    pub attn: Attention,
    /// Pre-MLP norm.
    pub norm2: LayerNorm,
    /// MLP `C -> hidden -> C`.
    pub mlp: Mlp,
    /// Stochastic depth rate (identity in eval, i.e. off an autodiff device).
    pub drop_path: f64,
}

/// Block shape: width, heads, MLP hidden width, qkv bias, logit scale, LayerNorm epsilon.
#[derive(Clone, Copy, Debug)]
pub struct BlockShape {
    /// Token width.
    pub dim: usize,
    /// Attention heads.
    pub heads: usize,
    /// MLP hidden width.
    pub hidden: usize,
    /// Bias on the qkv projection.
    pub qkv_bias: bool,
    /// Attention logit scale.
    pub scale: f64,
    /// LayerNorm epsilon.
    pub eps: f64,
}

impl VitBlock {
    /// A block with stochastic depth rate `drop`.
    pub fn new(s: BlockShape, drop: f64, device: &Device) -> Self {
        let norm = || LayerNormConfig::new(s.dim).with_epsilon(s.eps).init(device);
        VitBlock {
            norm1: norm(),
            attn: Attention::new(s.dim, s.heads, s.qkv_bias, s.scale, device),
            norm2: norm(),
            mlp: Mlp { fc1: linear(s.dim, s.hidden, true, device), fc2: linear(s.hidden, s.dim, true, device) },
            drop_path: drop,
        }
    }

    /// `[B, N, C]` to `[B, N, C]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + drop_path(self.attn.forward(self.norm1.forward(x)), self.drop_path);
        let m = self.mlp.fc2.forward(gelu(self.mlp.fc1.forward(self.norm2.forward(x.clone()))));
        x + drop_path(m, self.drop_path)
    }
}
