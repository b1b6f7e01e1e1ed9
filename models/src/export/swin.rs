//! ONNX for the Swin trunk. Feature-map sizes are static (the export fixes the input size), the batch is
//! symbolic, so every Reshape keeps `-1` in its leading position. Cyclic shifts are Slice + Concat; the
//! relative position bias and the shifted-window masks become constants.

use super::layers::{self, linear};
use super::params;
use crate::backbone::swin::attention::{WindowAttention, relative_position_index};
use crate::backbone::swin::block::SwinBlock;
use crate::backbone::swin::merge::PatchMerging;
use crate::backbone::swin::window::Geometry;
use crate::backbone::swin::{PatchEmbed, Swin};
use reid_runtime::onnx_graph::{Attr, Graph};

/// Epsilon of every Swin LayerNorm: the models are built with burn's (and torch's) default of 1e-5, and burn
/// keeps the value private.
const LN_EPS: f64 = 1e-5;

fn layer_norm(g: &mut Graph, x: &str, ln: &burn::nn::LayerNorm, name: &str) -> String {
    layers::layer_norm(g, x, ln, name, LN_EPS)
}

fn patch_embed(g: &mut Graph, x: &str, pe: &PatchEmbed, h: usize, w: usize) -> String {
    let p = pe.proj.kernel_size[0];
    let (ph, pw) = ((p - h % p) % p, (p - w % p) % p);
    let x = if ph + pw > 0 {
        let pads = g.ints("pads", &[0, 0, 0, 0, 0, 0, ph as i64, pw as i64]);
        g.op("Pad", &[x, &pads], vec![])
    } else {
        x.to_owned()
    };
    let (wd, wv) = params::param(&pe.proj.weight);
    let wn = g.weight("base.patch_embed.proj.weight", &wd, &wv);
    let mut inputs = vec![x, wn];
    if let Some(b) = &pe.proj.bias {
        let (bd, bv) = params::param(b);
        inputs.push(g.weight("base.patch_embed.proj.bias", &bd, &bv));
    }
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let y = g.op(
        "Conv",
        &refs,
        vec![("kernel_shape", Attr::Ints(vec![p as i64, p as i64])), ("strides", Attr::Ints(vec![p as i64, p as i64]))],
    );
    let y = g.transpose(&y, &[0, 2, 3, 1]);
    layer_norm(g, &y, &pe.norm, "base.patch_embed.norm")
}

fn attention(g: &mut Graph, x: &str, a: &WindowAttention, geo: &Geometry, c: usize, name: &str) -> String {
    let (ws, heads) = (a.window_size, a.num_heads);
    let n = ws * ws;
    let hd = c / heads;
    let qkv = linear(g, x, &a.qkv, &format!("{name}.qkv"));
    let [q, k, v] = layers::split_qkv(g, &qkv, n, heads, hd);
    let scale = g.scalar("scale", (hd as f32).powf(-0.5));
    let q = g.op("Mul", &[&q, &scale], vec![]);
    let kt = g.transpose(&k, &[0, 1, 3, 2]);
    let attn = g.op("MatMul", &[&q, &kt], vec![]);
    // Relative position bias [1, heads, N, N] gathered on the host.
    let (_, table) = params::param(&a.relative_position_bias_table);
    let index = relative_position_index(ws);
    let mut bias = vec![0f32; heads * n * n];
    for h in 0..heads {
        for (ij, &r) in index.iter().enumerate() {
            bias[h * n * n + ij] = table[r as usize * heads + h];
        }
    }
    let bias = g.weight(&format!("{name}.relative_position_bias"), &[1, heads, n, n], &bias);
    let mut attn = g.op("Add", &[&attn, &bias], vec![]);
    if let Some(mask) = geo.mask_values() {
        let nw = geo.windows();
        let m = g.weight(&format!("{name}.mask"), &[1, nw, 1, n, n], &mask);
        let r = g.reshape(&attn, &[-1, nw as i64, heads as i64, n as i64, n as i64]);
        let r = g.op("Add", &[&r, &m], vec![]);
        attn = g.reshape(&r, &[-1, heads as i64, n as i64, n as i64]);
    }
    let p = g.op("Softmax", &[&attn], vec![("axis", Attr::Int(-1))]);
    let o = g.op("MatMul", &[&p, &v], vec![]);
    let o = g.transpose(&o, &[0, 2, 1, 3]);
    let o = g.reshape(&o, &[-1, n as i64, c as i64]);
    linear(g, &o, &a.proj, &format!("{name}.proj"))
}

fn block(g: &mut Graph, x: &str, b: &SwinBlock, h: usize, w: usize, c: usize, name: &str) -> String {
    let geo = Geometry::new(h, w, b.attn.window_size, b.index);
    let (ws, s) = (geo.ws as i64, geo.shift as i64);
    let mut y = layer_norm(g, x, &b.norm1, &format!("{name}.norm1"));
    if geo.hp != h || geo.wp != w {
        y = g.pad_hw_end(&y, (geo.hp - h) as i64, (geo.wp - w) as i64);
    }
    let (hp, wp) = (geo.hp as i64, geo.wp as i64);
    if s > 0 {
        y = g.roll(&y, 1, -s, hp);
        y = g.roll(&y, 2, -s, wp);
    }
    let part = g.reshape(&y, &[-1, hp / ws, ws, wp / ws, ws, c as i64]);
    let part = g.transpose(&part, &[0, 1, 3, 2, 4, 5]);
    let part = g.reshape(&part, &[-1, ws * ws, c as i64]);
    let att = attention(g, &part, &b.attn, &geo, c, &format!("{name}.attn"));
    let rev = g.reshape(&att, &[-1, hp / ws, wp / ws, ws, ws, c as i64]);
    let rev = g.transpose(&rev, &[0, 1, 3, 2, 4, 5]);
    let mut y = g.reshape(&rev, &[-1, hp, wp, c as i64]);
    if s > 0 {
        y = g.roll(&y, 1, s, hp);
        y = g.roll(&y, 2, s, wp);
    }
    if geo.hp != h {
        y = g.slice(&y, 1, 0, h as i64);
    }
    if geo.wp != w {
        y = g.slice(&y, 2, 0, w as i64);
    }
    let x = g.op("Add", &[x, &y], vec![]);
    let m = layer_norm(g, &x, &b.norm2, &format!("{name}.norm2"));
    let m = layers::mlp(g, &m, &b.mlp, &format!("{name}.mlp"));
    g.op("Add", &[&x, &m], vec![])
}

fn merge(g: &mut Graph, x: &str, m: &PatchMerging, h: usize, w: usize, c: usize, name: &str) -> (String, usize, usize) {
    let x = if h % 2 == 1 || w % 2 == 1 { g.pad_hw_end(x, (h % 2) as i64, (w % 2) as i64) } else { x.to_owned() };
    let (h2, w2) = (h.div_ceil(2), w.div_ceil(2));
    let y = g.reshape(&x, &[-1, h2 as i64, 2, w2 as i64, 2, c as i64]);
    let y = g.transpose(&y, &[0, 1, 3, 4, 2, 5]);
    let y = g.reshape(&y, &[-1, h2 as i64, w2 as i64, 4 * c as i64]);
    let y = layer_norm(g, &y, &m.norm, &format!("{name}.norm"));
    (linear(g, &y, &m.reduction, &format!("{name}.reduction")), h2, w2)
}

/// Appends the trunk to `g` reading `x` (`[N, C, H, W]` with the given static `h x w`); returns `[N, D]`.
pub fn emit(g: &mut Graph, net: &Swin, x: &str, h: usize, w: usize) -> String {
    let p = net.patch_embed.proj.kernel_size[0];
    let mut y = patch_embed(g, x, &net.patch_embed, h, w);
    let (mut h, mut w) = (h.div_ceil(p), w.div_ceil(p));
    let mut c = net.patch_embed.proj.weight.dims()[0];
    for (s, stage) in net.layers.iter().enumerate() {
        if let Some(d) = &stage.downsample {
            let (m, h2, w2) = merge(g, &y, d, h, w, c, &format!("base.layers.{s}.downsample"));
            (y, h, w, c) = (m, h2, w2, 2 * c);
        }
        for (j, b) in stage.blocks.iter().enumerate() {
            y = block(g, &y, b, h, w, c, &format!("base.layers.{s}.blocks.{j}"));
        }
    }
    let y = layer_norm(g, &y, &net.norm, "base.norm");
    g.op("ReduceMean", &[&y], vec![("axes", Attr::Ints(vec![1, 2])), ("keepdims", Attr::Int(0))])
}
