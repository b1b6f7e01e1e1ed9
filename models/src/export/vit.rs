//! ONNX for the TransReID ViT trunk (He et al., ICCV 2021; `model/backbones/vit_pytorch.py` and
//! `model/make_model.py` of github.com/damo-cv/TransReID), as [`crate::backbone::vit::Vit`] and
//! [`crate::jpm::Jpm`] compute it: overlapping patch convolution, class token and position embedding, the side
//! information embedding (SIE) gathered by the `camera` input, pre-norm blocks, final norm and class token; with
//! JPM the global branch (`b1`) and the shifted, shuffled local groups through `b2`, batched along `N`.
//! Token counts are static (the export fixes the input size), the batch is symbolic, so every Reshape keeps `-1`
//! in its leading position.

use super::layers::{self, linear};
use crate::backbone::vit::Vit;
use crate::backbone::vit::attention::Attention;
use crate::backbone::vit::block::VitBlock;
use crate::jpm::{Jpm, JpmBranch};
use reid_runtime::onnx_graph::{Attr, Graph};

/// Name of the camera input of a model with an SIE camera table.
pub const CAMERA_INPUT: &str = "camera";

/// Multi-head self-attention over `tokens` tokens of width `c`: `softmax((q k^T) * scale) v`, then `proj`.
fn attention(g: &mut Graph, x: &str, a: &Attention, tokens: usize, c: usize, name: &str) -> String {
    let heads = a.num_heads;
    let qkv = linear(g, x, &a.qkv, &format!("{name}.qkv"));
    let [q, k, v] = layers::split_qkv(g, &qkv, tokens, heads, c / heads);
    let kt = g.transpose(&k, &[0, 1, 3, 2]);
    let logits = g.op("MatMul", &[&q, &kt], vec![]);
    let scale = g.scalar("scale", a.scale as f32);
    let logits = g.op("Mul", &[&logits, &scale], vec![]);
    let p = g.op("Softmax", &[&logits], vec![("axis", Attr::Int(-1))]);
    let o = g.op("MatMul", &[&p, &v], vec![]);
    let o = g.transpose(&o, &[0, 2, 1, 3]);
    let o = g.reshape(&o, &[-1, tokens as i64, c as i64]);
    linear(g, &o, &a.proj, &format!("{name}.proj"))
}

/// One pre-norm block: `x + attn(norm1(x))`, then `x + mlp(norm2(x))`.
fn block(g: &mut Graph, x: &str, b: &VitBlock, tokens: usize, c: usize, eps: f64, name: &str) -> String {
    let y = layers::layer_norm(g, x, &b.norm1, &format!("{name}.norm1"), eps);
    let y = attention(g, &y, &b.attn, tokens, c, &format!("{name}.attn"));
    let x = g.op("Add", &[x, &y], vec![]);
    let m = layers::layer_norm(g, &x, &b.norm2, &format!("{name}.norm2"), eps);
    let m = layers::mlp(g, &m, &b.mlp, &format!("{name}.mlp"));
    g.op("Add", &[&x, &m], vec![])
}

/// The class token `[B, C]` of tokens `[B, L, C]`.
fn class_token(g: &mut Graph, x: &str, c: usize) -> String {
    let t = g.slice(x, 1, 0, 1);
    g.reshape(&t, &[-1, c as i64])
}

/// A JPM branch (a block and a norm) on `[B, tokens, C]`; its class token `[B, C]`.
fn branch(g: &mut Graph, x: &str, b: &JpmBranch, tokens: usize, c: usize, eps: f64, name: &str) -> String {
    let y = block(g, x, &b.block, tokens, c, eps, &format!("{name}.block"));
    let y = layers::layer_norm(g, &y, &b.norm, &format!("{name}.norm"), eps);
    class_token(g, &y, c)
}

/// Tokens entering the first block `[N, 1 + P, C]`: patches, the class token and position embedding (one
/// constant: the patches are padded with a zero token in front, and `cls_token + pos_embed[0]` is that token's
/// row), plus `sie_coe * sie_embed[camera * views]` gathered by `camera` when the table has a camera axis, or
/// its row 0 when it has only a view axis (view 0 at export, as [`Vit::embed`] without ids).
fn embed(g: &mut Graph, net: &Vit, x: &str, camera: Option<&str>) -> String {
    let c = net.cls_token.dims()[2];
    let patches = net.grid_h * net.grid_w;
    let y = layers::conv(g, x, &net.patch_embed.proj, "base.patch_embed.proj");
    let y = g.reshape(&y, &[-1, c as i64, patches as i64]);
    let y = g.transpose(&y, &[0, 2, 1]);
    let pads = g.ints("pads", &[0, 1, 0, 0, 0, 0]);
    let y = g.op("Pad", &[&y, &pads], vec![]);
    let (_, cls) = super::params::param(&net.cls_token);
    let (_, mut pos) = super::params::param(&net.pos_embed);
    for (p, t) in pos.iter_mut().zip(&cls) {
        *p += t;
    }
    let pos = g.weight("base.cls_token_pos_embed", &[1, 1 + patches, c], &pos);
    let y = g.op("Add", &[&y, &pos], vec![]);
    let Some(table) = &net.sie_embed else { return y };
    let (_, values) = super::params::param(table);
    let coe = net.sie_coe as f32;
    let row = |i: usize| values[i * c..(i + 1) * c].iter().map(|v| v * coe).collect::<Vec<f32>>();
    match camera {
        Some(camera) if net.sie_cameras > 0 => {
            let views = net.sie_views.max(1);
            let rows: Vec<f32> = (0..net.sie_cameras).flat_map(|cam| row(cam * views)).collect();
            let t = g.weight("base.sie_embed.scaled", &[net.sie_cameras, 1, c], &rows);
            let side = g.op("Gather", &[&t, camera], vec![("axis", Attr::Int(0))]);
            g.op("Add", &[&y, &side], vec![])
        }
        _ => {
            let t = g.weight("base.sie_embed.scaled", &[1, 1, c], &row(0));
            g.op("Add", &[&y, &t], vec![])
        }
    }
}

/// TransReID's `shuffle_unit` on tokens `[N, 1 + P, C]` (see [`Jpm::shuffle`]): patches rotated by
/// `shift_num - 1`, padded with the second-to-last when `shuffle_group` does not divide them, read column-wise.
fn shuffle(g: &mut Graph, t: &str, jpm: &Jpm, l: usize, c: usize) -> (String, usize) {
    let (s, groups) = (jpm.config.shift_num, jpm.config.shuffle_group);
    let head = g.slice(t, 1, s as i64, l as i64);
    let x = if s > 1 {
        let tail = g.slice(t, 1, 1, s as i64);
        g.op("Concat", &[&head, &tail], vec![("axis", Attr::Int(1))])
    } else {
        head
    };
    let n = l - 1;
    let (x, n) = if n.is_multiple_of(groups) {
        (x, n)
    } else {
        let pad = g.slice(&x, 1, n as i64 - 2, n as i64 - 1);
        (g.op("Concat", &[&x, &pad], vec![("axis", Attr::Int(1))]), n + 1)
    };
    let x = g.reshape(&x, &[-1, groups as i64, (n / groups) as i64, c as i64]);
    let x = g.transpose(&x, &[0, 2, 1, 3]);
    (g.reshape(&x, &[-1, n as i64, c as i64]), n)
}

/// JPM's global feature `[N, C]` (`b1` on all tokens) and its `devide_length` local features (`b2` on the class
/// token prefixed to each slice of the re-arranged patches; the groups concatenated along `N`, run once and
/// split back), all before their BNNecks, from the tokens before the last block `[N, 1 + P, C]`.
fn jpm_features(g: &mut Graph, t: &str, jpm: &Jpm, l: usize, c: usize, eps: f64) -> (String, Vec<String>) {
    let global = branch(g, t, &jpm.b1, l, c, eps, "jpm.b1");
    let k = jpm.config.devide_length;
    let length = (l - 1) / k;
    let token = g.slice(t, 1, 0, 1);
    let patches = if jpm.config.re_arrange { shuffle(g, t, jpm, l, c).0 } else { g.slice(t, 1, 1, l as i64) };
    let groups: Vec<String> = (0..k)
        .map(|i| {
            let part = g.slice(&patches, 1, (i * length) as i64, ((i + 1) * length) as i64);
            g.op("Concat", &[&token, &part], vec![("axis", Attr::Int(1))])
        })
        .collect();
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    let batched = g.op("Concat", &refs, vec![("axis", Attr::Int(0))]);
    let local = branch(g, &batched, &jpm.b2, 1 + length, c, eps, "jpm.b2");
    let local = g.reshape(&local, &[k as i64, -1, c as i64]);
    let parts = (0..k)
        .map(|i| {
            let part = g.slice(&local, 0, i as i64, i as i64 + 1);
            g.reshape(&part, &[-1, c as i64])
        })
        .collect();
    (global, parts)
}

/// Appends the trunk to `g` reading images `x` (`[N, C, H, W]` at the model's input size) and, for a model with
/// an SIE camera table, `camera` (`[N]`, int64); `eps` is the LayerNorm epsilon the model was built with.
/// Returns the global feature `[N, C]` and, with `jpm`, its local features `[N, C]` (before any BNNeck).
pub fn emit(
    g: &mut Graph,
    net: &Vit,
    jpm: Option<&Jpm>,
    x: &str,
    camera: Option<&str>,
    eps: f64,
) -> (String, Vec<String>) {
    let c = net.cls_token.dims()[2];
    let l = 1 + net.grid_h * net.grid_w;
    let mut t = embed(g, net, x, camera);
    let last = net.blocks.len().saturating_sub(1);
    for (i, b) in net.blocks[..last].iter().enumerate() {
        t = block(g, &t, b, l, c, eps, &format!("base.blocks.{i}"));
    }
    if let Some(jpm) = jpm {
        return jpm_features(g, &t, jpm, l, c, eps);
    }
    if let Some(b) = net.blocks.last() {
        t = block(g, &t, b, l, c, eps, &format!("base.blocks.{last}"));
    }
    let t = layers::layer_norm(g, &t, &net.norm, "base.norm", eps);
    (class_token(g, &t, c), Vec::new())
}

/// TransReID's test feature: the global feature (already through the model's neck as `after` says) concatenated
/// with each local feature, through its own BNNeck when `after`, divided by `devide_length`.
pub fn jpm_concat(g: &mut Graph, global: &str, local: &[String], jpm: &Jpm, after: bool) -> String {
    let k = g.scalar("devide_length", local.len() as f32);
    let mut parts = vec![global.to_owned()];
    for (i, (f, bn)) in local.iter().zip(&jpm.bottlenecks).enumerate() {
        let f = if after { layers::batch_norm(g, f, bn, &format!("jpm.bottlenecks.{i}")) } else { f.clone() };
        parts.push(g.op("Div", &[&f, &k], vec![]));
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    g.op("Concat", &refs, vec![("axis", Attr::Int(1))])
}
