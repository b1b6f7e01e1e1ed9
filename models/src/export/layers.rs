//! ONNX nodes for the burn layers every trunk shares: Conv, inference-mode BatchNormalization, LayerNormalization
//! and a linear layer, each with its parameters written as initializers under the PyTorch name given.

use super::params;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, LayerNorm, Linear};
use reid_runtime::onnx_graph::{Attr, Graph};

/// A 2-D convolution with its kernel, stride, dilation, padding, groups and optional bias.
pub fn conv(g: &mut Graph, x: &str, c: &Conv2d, name: &str) -> String {
    let (dims, w) = params::param(&c.weight);
    let wn = g.weight(&format!("{name}.weight"), &dims, &w);
    let mut inputs = vec![x.to_owned(), wn];
    if let Some(b) = &c.bias {
        let (bd, bv) = params::param(b);
        inputs.push(g.weight(&format!("{name}.bias"), &bd, &bv));
    }
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    g.op(
        "Conv",
        &refs,
        vec![
            ("kernel_shape", Attr::Ints(vec![c.kernel_size[0] as i64, c.kernel_size[1] as i64])),
            ("strides", Attr::Ints(vec![c.stride[0] as i64, c.stride[1] as i64])),
            ("dilations", Attr::Ints(vec![c.dilation[0] as i64, c.dilation[1] as i64])),
            ("pads", Attr::Ints(params::conv_pads(c).to_vec())),
            ("group", Attr::Int(c.groups as i64)),
        ],
    )
}

/// Batch normalisation in inference mode (running statistics).
pub fn batch_norm(g: &mut Graph, x: &str, bn: &BatchNorm, name: &str) -> String {
    let [scale, shift, mean, var] = params::batch_norm(bn);
    let n = scale.len();
    let s = g.weight(&format!("{name}.weight"), &[n], &scale);
    let b = g.weight(&format!("{name}.bias"), &[n], &shift);
    let m = g.weight(&format!("{name}.running_mean"), &[n], &mean);
    let v = g.weight(&format!("{name}.running_var"), &[n], &var);
    g.op("BatchNormalization", &[x, &s, &b, &m, &v], vec![("epsilon", Attr::Float(bn.epsilon as f32))])
}

/// Layer normalisation over the last axis with epsilon `eps` (burn keeps a LayerNorm's epsilon private, so the
/// caller passes the one the model was built with).
pub fn layer_norm(g: &mut Graph, x: &str, ln: &LayerNorm, name: &str, eps: f64) -> String {
    let (gamma, beta) = params::layer_norm(ln);
    g.layer_norm(x, name, &gamma, &beta, eps)
}

/// `x @ W + b` for a burn linear layer.
pub fn linear(g: &mut Graph, x: &str, l: &Linear, name: &str) -> String {
    let ((wd, w), b) = params::linear(l);
    g.linear(x, name, (&wd, &w), b.as_deref())
}

/// The two-layer MLP of a transformer block (`fc1`, exact GELU, `fc2`), as Swin and ViT share it.
pub fn mlp(g: &mut Graph, x: &str, m: &crate::backbone::swin::block::Mlp, name: &str) -> String {
    let y = linear(g, x, &m.fc1, &format!("{name}.fc1"));
    let y = g.gelu(&y);
    linear(g, &y, &m.fc2, &format!("{name}.fc2"))
}

/// Splits a `qkv` projection `[B, L, 3C]` into `q`, `k`, `v` of `[B, heads, L, C / heads]` (the layout of
/// `qkv.reshape(B, L, 3, heads, hd).permute(2, 0, 3, 1, 4)` in Swin's and ViT's attention).
pub fn split_qkv(g: &mut Graph, qkv: &str, tokens: usize, heads: usize, hd: usize) -> [String; 3] {
    let qkv = g.reshape(qkv, &[-1, tokens as i64, 3, heads as i64, hd as i64]);
    let qkv = g.transpose(&qkv, &[2, 0, 3, 1, 4]);
    [0, 1, 2].map(|i| {
        let idx = g.ints("index", &[i]);
        let t = g.op("Gather", &[&qkv, &idx], vec![("axis", Attr::Int(0))]);
        g.reshape(&t, &[-1, heads as i64, tokens as i64, hd as i64])
    })
}
