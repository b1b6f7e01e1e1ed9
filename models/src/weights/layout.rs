//! Recognising a checkpoint's parameter layout and converting it to the canonical names the model uses:
//! torchvision for ResNet, timm for Swin and ViT, `base.*` plus head names for a whole ReID network (TransReID's
//! JPM names renamed by [`super::transreid`]).
//!
//! Swin checkpoints come in three layouts that hold the same weights:
//! - timm (>= 0.9): patch merging at the start of stages 1..3 (`layers.{i}.downsample`);
//! - Microsoft's original code: merging at the end of stages 0..2 (`layers.{i}.downsample` is timm's
//!   `layers.{i+1}.downsample`, same channel order);
//! - mmdet/mmcls, used by SOLIDER (TAO's `pretrain_choice: self` weights): `stages.{i}`, `attn.w_msa`, `ffn.layers`,
//!   merging at the end of a stage with `nn.Unfold`'s channel order, and the final norm named `norm{S-1}`.

use crate::error::ModelError;
use burn::tensor::TensorData;
use std::collections::BTreeMap;
use std::path::Path;

/// The layout a checkpoint was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A ReID network saved by this project or a PyTorch ReID toolbox (`base.*`, `bottleneck.*`, ...).
    Reid,
    /// A TransReID network with the jigsaw patch module (`base.*`, `b1.*`, `b2.*`, `bottleneck_1..`, ...).
    TransReid,
    /// torchvision ResNet.
    Torchvision,
    /// timm Swin Transformer.
    Timm,
    /// Microsoft's original Swin Transformer.
    MicrosoftSwin,
    /// mmdet/mmcls Swin Transformer (SOLIDER).
    MmdetSwin,
    /// timm / DeiT / TransReID Vision Transformer (`cls_token`, `pos_embed`, `blocks.{i}.*`).
    Vit,
    /// No known backbone names.
    Unknown,
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layout::Reid => "ReID network",
            Layout::TransReid => "TransReID network",
            Layout::Torchvision => "torchvision ResNet",
            Layout::Timm => "timm Swin",
            Layout::MicrosoftSwin => "Microsoft Swin",
            Layout::MmdetSwin => "mmdet/SOLIDER Swin",
            Layout::Vit => "timm/TransReID ViT",
            Layout::Unknown => "unrecognised",
        })
    }
}

/// A checkpoint in canonical names.
#[derive(Debug)]
pub struct Canonical {
    /// The layout it was recognised as (of the backbone, or `Reid` for a whole network).
    pub layout: Layout,
    /// The backbone layout inside a whole network.
    pub backbone_layout: Layout,
    /// Backbone tensors in torchvision/timm names (no `base.` prefix).
    pub backbone: BTreeMap<String, TensorData>,
    /// Head tensors (`fcneck.weight`, `bottleneck.*`, `classifier.weight`, `jpm.*`).
    pub head: BTreeMap<String, TensorData>,
    /// Head keys renamed from the file's names: canonical name -> name in the file.
    pub renamed: BTreeMap<String, String>,
    /// Keys that a pretrained network carries but this model never uses (pretraining heads, BN counters,
    /// stored index buffers and masks, SOLIDER's auxiliary norms and semantic embeddings).
    pub ignored: Vec<String>,
}

/// Names that are not parameters of the target model and are dropped quietly: classifier heads (torchvision
/// `fc`, timm `head`, TransReID's unused 1000-class `base.fc`), DeiT's distillation token and head, timm's
/// pooled-feature norm, BN counters, stored index buffers and masks.
fn ignorable(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(last, "num_batches_tracked" | "relative_position_index" | "attn_mask" | "relative_coords_table")
        || ["fc.", "head.", "head_dist.", "fc_norm.", "semantic_embed_"].iter().any(|p| key.starts_with(p))
        || key == "dist_token"
}

fn detect(backbone: &BTreeMap<String, TensorData>) -> Layout {
    let any = |p: &str| backbone.keys().any(|k| k.starts_with(p));
    if any("stages.") {
        Layout::MmdetSwin
    } else if any("layers.") && backbone.keys().any(|k| k.contains(".blocks.")) {
        if any("layers.0.downsample.") { Layout::MicrosoftSwin } else { Layout::Timm }
    } else if any("layer1.") || any("conv1.") {
        Layout::Torchvision
    } else if backbone.contains_key("cls_token") || any("blocks.0.") {
        Layout::Vit
    } else {
        Layout::Unknown
    }
}

/// Splits, recognises and converts `tensors` to canonical names.
pub fn canonicalize(path: &Path, tensors: BTreeMap<String, TensorData>) -> Result<Canonical, ModelError> {
    let is_reid = tensors.keys().any(|k| k.starts_with("base."));
    let mut backbone = BTreeMap::new();
    let mut head = BTreeMap::new();
    let mut renamed = BTreeMap::new();
    let mut ignored = Vec::new();
    let mut other = BTreeMap::new();
    for (k, v) in tensors {
        if is_reid {
            if let Some(rest) = k.strip_prefix("base.") {
                backbone.insert(rest.to_owned(), v);
            } else if let Some(name) = super::transreid::to_canonical(&k) {
                if k.ends_with("num_batches_tracked") {
                    ignored.push(k)
                } else {
                    renamed.insert(name.clone(), k);
                    head.insert(name, v);
                }
            } else if ["fcneck.", "bottleneck.", "classifier.", "jpm."].iter().any(|p| k.starts_with(p)) {
                if k.ends_with("num_batches_tracked") {
                    ignored.push(k)
                } else {
                    head.insert(k, v);
                }
            } else {
                other.insert(k, v);
            }
        } else if let Some(rest) = k.strip_prefix("backbone.") {
            backbone.insert(rest.to_owned(), v);
        } else {
            other.insert(k, v);
        }
    }
    // Plain backbone checkpoints have no prefix at all.
    if backbone.is_empty() {
        backbone = std::mem::take(&mut other);
    }
    ignored.extend(other.into_keys());
    let backbone_layout = detect(&backbone);
    let backbone = match backbone_layout {
        Layout::MicrosoftSwin => from_microsoft(backbone),
        Layout::MmdetSwin => {
            let (converted, unused) = from_mmdet(path, backbone)?;
            ignored.extend(unused);
            converted
        }
        _ => backbone,
    };
    let (backbone, dropped): (BTreeMap<_, _>, BTreeMap<_, _>) = backbone.into_iter().partition(|(k, _)| !ignorable(k));
    ignored.extend(dropped.into_keys());
    ignored.sort();
    let layout = match (is_reid, renamed.is_empty()) {
        (true, false) => Layout::TransReid,
        (true, true) => Layout::Reid,
        (false, _) => backbone_layout,
    };
    Ok(Canonical { layout, backbone_layout, backbone, head, renamed, ignored })
}

/// `layers.{i}.downsample.*` of Microsoft's layout is timm's `layers.{i+1}.downsample.*`.
fn from_microsoft(tensors: BTreeMap<String, TensorData>) -> BTreeMap<String, TensorData> {
    tensors
        .into_iter()
        .map(|(k, v)| match parse_index(&k, "layers.", ".downsample.") {
            Some((i, rest)) => (format!("layers.{}.downsample.{rest}", i + 1), v),
            None => (k, v),
        })
        .collect()
}

/// `prefix{i}{infix}rest` -> `(i, rest)`.
fn parse_index<'a>(key: &'a str, prefix: &str, infix: &str) -> Option<(usize, &'a str)> {
    let after = key.strip_prefix(prefix)?;
    let (num, rest) = after.split_once(infix)?;
    Some((num.parse().ok()?, rest))
}

/// mmdet's merge uses `nn.Unfold`, whose channel index is `c * 4 + j` with `j = dy * 2 + dx`; timm's is
/// `k * C + c` with `k = dx * 2 + dy`. `PERM[k]` is the unfold slot of timm block `k` (an involution).
const PERM: [usize; 4] = [0, 2, 1, 3];

fn unfold_to_timm(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let c = cols / 4;
    let mut out = vec![0.0; v.len()];
    for o in 0..rows {
        for k in 0..4 {
            for ch in 0..c {
                out[o * cols + k * c + ch] = v[o * cols + ch * 4 + PERM[k]];
            }
        }
    }
    out
}

/// Converts mmdet names and merge channel order; also returns the keys that have no place in the model.
fn from_mmdet(
    path: &Path,
    tensors: BTreeMap<String, TensorData>,
) -> Result<(BTreeMap<String, TensorData>, Vec<String>), ModelError> {
    let stages = tensors.keys().filter_map(|k| parse_index(k, "stages.", ".").map(|(i, _)| i + 1)).max().unwrap_or(0);
    let mut out = BTreeMap::new();
    let mut unused = Vec::new();
    for (k, v) in tensors {
        let key = if let Some(rest) = k.strip_prefix("patch_embed.projection.") {
            format!("patch_embed.proj.{rest}")
        } else if let Some((i, rest)) = parse_index(&k, "stages.", ".downsample.") {
            let shape = v.shape().to_vec();
            let vals = v
                .try_to_vec::<f32>()
                .map_err(|e| ModelError::Checkpoint { path: path.to_owned(), message: format!("`{k}`: {e}") })?;
            let (rows, cols) = if shape.len() == 2 { (shape[0], shape[1]) } else { (1, shape[0]) };
            if cols % 4 != 0 {
                return Err(ModelError::Shape {
                    path: path.to_owned(),
                    key: k,
                    found: shape,
                    expected: vec![rows, cols.next_multiple_of(4)],
                });
            }
            out.insert(
                format!("layers.{}.downsample.{rest}", i + 1),
                TensorData::new(unfold_to_timm(&vals, rows, cols), shape),
            );
            continue;
        } else if let Some((i, rest)) = parse_index(&k, "stages.", ".") {
            let rest = rest.replacen("attn.w_msa.", "attn.", 1).replacen("ffn.layers.0.0.", "mlp.fc1.", 1).replacen(
                "ffn.layers.1.",
                "mlp.fc2.",
                1,
            );
            format!("layers.{i}.{rest}")
        } else if let Some(rest) = k.strip_prefix(&format!("norm{}.", stages.saturating_sub(1))) {
            format!("norm.{rest}")
        } else if k.starts_with("norm") && k.as_bytes().get(4).is_some_and(u8::is_ascii_digit) {
            // Per-stage output norms of mmdet's multi-scale outputs: not part of the global feature.
            unused.push(k);
            continue;
        } else {
            k
        };
        out.insert(key, v);
    }
    Ok((out, unused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfold_order_is_inverted() {
        // Two input channels (C = 2), one output row: unfold index c*4 + j holds value 10*c + j.
        let mmdet: Vec<f32> = (0..8).map(|i| (10 * (i / 4) + i % 4) as f32).collect();
        let timm = unfold_to_timm(&mmdet, 1, 8);
        // timm block k, channel c must be unfold slot PERM[k] of channel c.
        assert_eq!(timm, vec![0.0, 10.0, 2.0, 12.0, 1.0, 11.0, 3.0, 13.0]);
    }

    #[test]
    fn microsoft_downsample_moves_to_the_next_stage() {
        let t =
            BTreeMap::from([("layers.0.downsample.reduction.weight".to_owned(), TensorData::new(vec![1.0f32], [1]))]);
        assert!(from_microsoft(t).contains_key("layers.1.downsample.reduction.weight"));
    }
}
