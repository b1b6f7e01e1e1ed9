//! Multi-head self-attention over all tokens (Vaswani et al. 2017), as TransReID's `Attention` in
//! `model/backbones/vit_pytorch.py`: one `qkv` projection, logits `(q k^T) * scale`, softmax, `proj`.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// A linear layer initialised as TransReID's `_init_weights`: weights N(0, 0.02) (its truncation at +-2 never
/// bites at that width), bias zero.
pub fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    let mut l = LinearConfig::new(d_in, d_out)
        .with_bias(bias)
        .with_initializer(Initializer::Normal { mean: 0.0, std: 0.02 })
        .init(device);
    if bias {
        l.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
    }
    l
}

/// Global multi-head self-attention.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query, key and value projection `C -> 3C` (bias per `qkv_bias`).
    pub qkv: Linear,
    /// Output projection `C -> C` (with bias).
    pub proj: Linear,
    /// Attention heads.
    pub num_heads: usize,
    /// Logit scale (`head_dim^-0.5`, or TransReID's ViT-S `768^-0.5`).
    pub scale: f64,
}

impl Attention {
    /// Attention for `dim` channels and `heads` heads.
    pub fn new(dim: usize, heads: usize, qkv_bias: bool, scale: f64, device: &Device) -> Self {
        Attention {
            qkv: linear(dim, 3 * dim, qkv_bias, device),
            proj: linear(dim, dim, true, device),
            num_heads: heads,
            scale,
        }
    }

    /// `[B, N, C]` to `[B, N, C]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, c] = x.dims();
        let heads = self.num_heads;
        let hd = c / heads;
        let qkv = self.qkv.forward(x).reshape([b, n, 3, heads, hd]).permute([2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.clone().narrow(0, i, 1).reshape([b, heads, n, hd]);
        let (q, k, v) = (part(0), part(1), part(2));
        let attn = softmax(q.matmul(k.swap_dims(2, 3)).mul_scalar(self.scale), 3);
        self.proj.forward(attn.matmul(v).swap_dims(1, 2).reshape([b, n, c]))
    }
}
