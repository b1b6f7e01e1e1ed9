//! Window multi-head self-attention with a learned relative position bias (Liu et al., "Swin Transformer:
//! Hierarchical Vision Transformer using Shifted Windows", 2021, eq. 4).

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// W-MSA / SW-MSA over `ws x ws` windows.
#[derive(Module, Debug)]
pub struct WindowAttention {
    /// Query, key and value projection `C -> 3C` (with bias).
    pub qkv: Linear,
    /// Output projection `C -> C`.
    pub proj: Linear,
    /// Bias per head for every relative offset: `[(2 ws - 1)^2, heads]`.
    pub relative_position_bias_table: Param<Tensor<2>>,
    /// Attention heads.
    pub num_heads: usize,
    /// Window edge.
    pub window_size: usize,
}

/// For each (query, key) pair of a window, the row of its relative offset in the bias table (timm's order).
pub fn relative_position_index(ws: usize) -> Vec<i64> {
    let n = ws * ws;
    let mut out = Vec::with_capacity(n * n);
    for i in 0..n {
        let (hi, wi) = ((i / ws) as i64, (i % ws) as i64);
        for j in 0..n {
            let (hj, wj) = ((j / ws) as i64, (j % ws) as i64);
            let dh = hi - hj + ws as i64 - 1;
            let dw = wi - wj + ws as i64 - 1;
            out.push(dh * (2 * ws as i64 - 1) + dw);
        }
    }
    out
}

impl WindowAttention {
    /// Attention for `dim` channels, `heads` heads and window `ws`; the bias table starts at zero.
    pub fn new(dim: usize, heads: usize, ws: usize, device: &Device) -> Self {
        let table = Tensor::zeros([(2 * ws - 1) * (2 * ws - 1), heads], device);
        WindowAttention {
            qkv: LinearConfig::new(dim, 3 * dim).init(device),
            proj: LinearConfig::new(dim, dim).init(device),
            relative_position_bias_table: Param::from_tensor(table),
            num_heads: heads,
            window_size: ws,
        }
    }

    /// The bias `[1, heads, N, N]` added to every window's logits.
    fn bias(&self, device: &Device) -> Tensor<4> {
        let ws = self.window_size;
        let n = ws * ws;
        let index = Tensor::<1, Int>::from_data(TensorData::new(relative_position_index(ws), [n * n]), device);
        self.relative_position_bias_table
            .val()
            .select(0, index)
            .reshape([n, n, self.num_heads])
            .permute([2, 0, 1])
            .reshape([1, self.num_heads, n, n])
    }

    /// Attention over windows `x: [B * nW, N, C]`; `mask: [nW, N, N]` for shifted windows.
    pub fn forward(&self, x: Tensor<3>, mask: Option<&Tensor<3>>) -> Tensor<3> {
        let [bw, n, c] = x.dims();
        let heads = self.num_heads;
        let hd = c / heads;
        let device = x.device();
        let qkv = self.qkv.forward(x).reshape([bw, n, 3, heads, hd]).permute([2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.clone().narrow(0, i, 1).reshape([bw, heads, n, hd]);
        let scale = (hd as f64).powf(-0.5);
        let q = part(0).mul_scalar(scale);
        let (k, v) = (part(1), part(2));
        let mut attn = q.matmul(k.swap_dims(2, 3)) + self.bias(&device);
        if let Some(mask) = mask {
            let nw = mask.dims()[0];
            attn = (attn.reshape([bw / nw, nw, heads, n, n]) + mask.clone().reshape([1, nw, 1, n, n]))
                .reshape([bw, heads, n, n]);
        }
        let out = softmax(attn, 3).matmul(v).swap_dims(1, 2).reshape([bw, n, c]);
        self.proj.forward(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_timm_for_a_2x2_window() {
        // timm: coords (h, w) of the 4 positions, relative (dh + 1) * 3 + (dw + 1).
        assert_eq!(relative_position_index(2), vec![4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
    }
}
