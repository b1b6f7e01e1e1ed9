//! Configurations of the TransReID ViTs, as the factory functions of TransReID's
//! `model/backbones/vit_pytorch.py` (github.com/damo-cv/TransReID) define them.

use crate::error::ModelError;
use serde::{Deserialize, Serialize};

/// The TransReID backbone names (TransReID's `MODEL.TRANSFORMER_TYPE`).
pub const VIT_BACKBONES: [&str; 3] =
    ["vit_base_patch16_224_TransReID", "vit_small_patch16_224_TransReID", "deit_small_patch16_224_TransReID"];

/// Side information embedding (SIE): a learnable vector per camera (and view) added to every token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct SieConfig {
    /// Cameras of the training split (0 or 1: no camera embedding; TransReID's `camera`).
    pub cameras: usize,
    /// Viewpoints (0 or 1: no view embedding; TransReID's `view`).
    pub views: usize,
    /// Scale of the embedding (TransReID's `sie_xishu`, the spec's `sie_coe`; 3.0 in its configs).
    pub coe: f64,
}

impl SieConfig {
    /// Rows of `sie_embed` (`cameras * views`, either counted as 1 when off), or 0 when SIE is off.
    pub fn rows(&self) -> usize {
        if self.cameras > 1 || self.views > 1 { self.cameras.max(1) * self.views.max(1) } else { 0 }
    }
}

/// A TransReID Vision Transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    /// Token width (768 for ViT-B and TransReID's ViT-S, 384 for DeiT-S).
    pub embed_dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// MLP hidden width as a multiple of `embed_dim` (TransReID's ViT-S uses 3).
    pub mlp_ratio: f64,
    /// Whether the qkv projection has a bias (off for TransReID's ViT-S).
    pub qkv_bias: bool,
    /// Attention logit scale; `None` is `head_dim^-0.5` (TransReID's ViT-S fixes `768^-0.5`).
    pub qk_scale: Option<f64>,
    /// Patch edge of the embedding convolution (16).
    pub patch_size: usize,
    /// Patch stride `[y, x]` (the spec's `stride_size`; below `patch_size` the patches overlap).
    pub stride: [usize; 2],
    /// Input `[height, width]`: the position embedding has one token per patch of this size.
    pub image_size: [usize; 2],
    /// Stochastic depth rate of the last block (rates grow linearly from 0; TransReID's `DROP_PATH`).
    pub drop_path_rate: f64,
    /// Side information embedding.
    pub sie: SieConfig,
    /// LayerNorm epsilon (1e-6 in all TransReID ViTs).
    pub layer_norm_eps: f64,
}

impl VitConfig {
    /// One of [`VIT_BACKBONES`] for `image_size` `[H, W]` and `stride` `[y, x]`, drop path 0.1 (TransReID's
    /// defaults), SIE off.
    pub fn transreid(name: &str, image_size: [usize; 2], stride: [usize; 2]) -> Result<Self, ModelError> {
        let base = VitConfig {
            embed_dim: 768,
            depth: 12,
            num_heads: 12,
            mlp_ratio: 4.0,
            qkv_bias: true,
            qk_scale: None,
            patch_size: 16,
            stride,
            image_size,
            drop_path_rate: 0.1,
            sie: SieConfig::default(),
            layer_norm_eps: 1e-6,
        };
        match name {
            "vit_base_patch16_224_TransReID" => Ok(base),
            "vit_small_patch16_224_TransReID" => Ok(VitConfig {
                depth: 8,
                num_heads: 8,
                mlp_ratio: 3.0,
                qkv_bias: false,
                qk_scale: Some(768f64.powf(-0.5)),
                ..base
            }),
            "deit_small_patch16_224_TransReID" => Ok(VitConfig { embed_dim: 384, num_heads: 6, ..base }),
            _ => Err(ModelError::UnknownBackbone { name: name.to_owned(), known: VIT_BACKBONES.join(", ") }),
        }
    }

    /// A small ViT for tests and CPU training: width 64, 2 blocks, 4 heads, patch 16.
    pub fn tiny(image_size: [usize; 2], stride: [usize; 2]) -> Self {
        VitConfig { embed_dim: 64, depth: 2, num_heads: 4, drop_path_rate: 0.0, ..Self::base(image_size, stride) }
    }

    fn base(image_size: [usize; 2], stride: [usize; 2]) -> Self {
        Self::transreid("vit_base_patch16_224_TransReID", image_size, stride).expect("a known name")
    }

    /// The patch grid `[num_y, num_x]`: `(size - patch) / stride + 1` per axis, as TransReID's
    /// `PatchEmbed_overlap` (21 x 10 at 256 x 128 with stride 12).
    pub fn grid(&self) -> [usize; 2] {
        let axis = |size: usize, stride: usize| size.saturating_sub(self.patch_size) / stride.max(1) + 1;
        [axis(self.image_size[0], self.stride[0]), axis(self.image_size[1], self.stride[1])]
    }

    /// Hidden width of the MLP (`int(embed_dim * mlp_ratio)`).
    pub fn mlp_hidden(&self) -> usize {
        (self.embed_dim as f64 * self.mlp_ratio) as usize
    }

    /// The attention logit scale.
    pub fn scale(&self) -> f64 {
        self.qk_scale.unwrap_or_else(|| ((self.embed_dim / self.num_heads.max(1)) as f64).powf(-0.5))
    }

    /// Checks ranges, naming the spec key at fault.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |key, value: String, expected: String| Err(ModelError::Config { key, value, expected });
        for (axis, &s) in self.stride.iter().enumerate() {
            if s == 0 || s > self.patch_size {
                return bad(
                    "stride_size",
                    format!("{:?}", self.stride),
                    format!(
                        "1..={} on each axis (a stride larger than the patch skips pixels); axis {axis}",
                        self.patch_size
                    ),
                );
            }
        }
        let [h, w] = self.image_size;
        if h < self.patch_size {
            return bad("input_height", h.to_string(), format!("at least the patch size {}", self.patch_size));
        }
        if w < self.patch_size {
            return bad("input_width", w.to_string(), format!("at least the patch size {}", self.patch_size));
        }
        if self.embed_dim == 0 || self.num_heads == 0 || !self.embed_dim.is_multiple_of(self.num_heads) {
            return bad(
                "backbone",
                format!("embed_dim {} with {} heads", self.embed_dim, self.num_heads),
                "a head count that divides the width".into(),
            );
        }
        if self.depth == 0 || self.mlp_hidden() == 0 {
            return bad("backbone", format!("depth {}, mlp_ratio {}", self.depth, self.mlp_ratio), "at least 1".into());
        }
        if !(0.0..1.0).contains(&self.drop_path_rate) {
            return bad("drop_path", self.drop_path_rate.to_string(), "0 <= rate < 1".into());
        }
        if !self.sie.coe.is_finite() {
            return bad("sie_coe", self.sie.coe.to_string(), "a finite number (3.0 in TransReID's configs)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_follow_transreid() {
        let c = VitConfig::transreid("vit_base_patch16_224_TransReID", [256, 128], [12, 12]).unwrap();
        assert_eq!(c.grid(), [21, 10]);
        let c = VitConfig { stride: [16, 16], ..c };
        assert_eq!(c.grid(), [16, 8]);
        assert_eq!(VitConfig { image_size: [224, 224], ..c }.grid(), [14, 14]);
    }

    #[test]
    fn named_configs() {
        let s = VitConfig::transreid("vit_small_patch16_224_TransReID", [256, 128], [16, 16]).unwrap();
        assert_eq!((s.embed_dim, s.depth, s.num_heads, s.mlp_hidden(), s.qkv_bias), (768, 8, 8, 2304, false));
        assert!((s.scale() - 768f64.powf(-0.5)).abs() < 1e-12);
        let d = VitConfig::transreid("deit_small_patch16_224_TransReID", [256, 128], [16, 16]).unwrap();
        assert_eq!((d.embed_dim, d.depth, d.num_heads, d.mlp_hidden()), (384, 12, 6, 1536));
        assert!((d.scale() - 64f64.powf(-0.5)).abs() < 1e-12);
        assert!(VitConfig::transreid("vit_huge", [256, 128], [16, 16]).is_err());
    }

    #[test]
    fn sie_rows() {
        let rows = |cameras, views| SieConfig { cameras, views, coe: 3.0 }.rows();
        assert_eq!((rows(0, 0), rows(1, 1), rows(6, 0), rows(6, 1), rows(0, 4), rows(6, 4)), (0, 0, 6, 6, 4, 24));
    }

    #[test]
    fn stride_larger_than_patch_is_named() {
        let c = VitConfig::tiny([64, 32], [17, 12]);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("model.stride_size") && e.contains("[17, 12]"), "{e}");
        assert!(VitConfig::tiny([64, 32], [12, 0]).validate().is_err());
        assert!(VitConfig::tiny([12, 32], [12, 12]).validate().unwrap_err().to_string().contains("input_height"));
        VitConfig::tiny([64, 32], [12, 12]).validate().unwrap();
    }
}
