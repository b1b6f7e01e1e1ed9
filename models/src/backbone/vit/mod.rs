//! The TransReID Vision Transformer (He et al., "TransReID: Transformer-based Object Re-Identification",
//! ICCV 2021), as `model/backbones/vit_pytorch.py` of github.com/damo-cv/TransReID defines it: overlapping patch
//! embedding, class token, learnable position embedding, side information embedding (SIE) added to every token,
//! pre-norm blocks with stochastic depth, final LayerNorm. Parameter names are timm's / TransReID's
//! (`cls_token`, `pos_embed`, `sie_embed`, `patch_embed.proj`, `blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,
//! mlp.fc1,mlp.fc2}`, `norm`), so their state dicts load directly ([`Vit::load_state_dict`]).
//!
//! Dropout (`DROP_OUT`, `ATT_DROP_RATE`, both 0 in TransReID's configs) is not implemented.

pub mod attention;
pub mod block;
pub mod config;
pub mod load;
pub mod patch;
pub mod pos;

use crate::error::ModelError;
use block::{BlockShape, VitBlock};
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Distribution, Int, Tensor};
pub use config::{SieConfig, VIT_BACKBONES, VitConfig};
use patch::PatchEmbed;

/// The TransReID ViT trunk; heads (BNNeck, JPM) are built on [`Vit::forward_tokens`] /
/// [`Vit::forward_until_last`].
#[derive(Module, Debug)]
pub struct Vit {
    /// Overlapping patch embedding.
    pub patch_embed: PatchEmbed,
    /// Class token `[1, 1, D]`.
    pub cls_token: Param<Tensor<3>>,
    /// Position embedding `[1, 1 + num_y * num_x, D]`.
    pub pos_embed: Param<Tensor<3>>,
    /// Side information embedding `[cameras * views, 1, D]` (absent when SIE is off).
    pub sie_embed: Option<Param<Tensor<3>>>,
    /// Transformer blocks.
    pub blocks: Vec<VitBlock>,
    /// Final norm.
    pub norm: LayerNorm,
    /// SIE scale (`sie_xishu`).
    pub sie_coe: f64,
    /// Cameras of the SIE table (0 when it has no camera axis).
    pub sie_cameras: usize,
    /// Views of the SIE table (0 when it has no view axis).
    pub sie_views: usize,
    /// Patch grid rows.
    pub grid_h: usize,
    /// Patch grid columns.
    pub grid_w: usize,
}

fn normal(shape: [usize; 3], device: &Device) -> Param<Tensor<3>> {
    Param::from_tensor(Tensor::random(shape, Distribution::Normal(0.0, 0.02), device))
}

impl Vit {
    /// A randomly initialised network (N(0, 0.02) tokens, embeddings and linear weights, as TransReID).
    pub fn new(config: &VitConfig, input_channels: usize, device: &Device) -> Result<Self, ModelError> {
        config.validate()?;
        let d = config.embed_dim;
        let [gh, gw] = config.grid();
        let shape = BlockShape {
            dim: d,
            heads: config.num_heads,
            hidden: config.mlp_hidden(),
            qkv_bias: config.qkv_bias,
            scale: config.scale(),
            eps: config.layer_norm_eps,
        };
        let n = config.depth;
        let rate = |i: usize| if n > 1 { config.drop_path_rate * i as f64 / (n - 1) as f64 } else { 0.0 };
        let rows = config.sie.rows();
        let axis = |count: usize| if count > 1 { count } else { 0 };
        Ok(Vit {
            patch_embed: PatchEmbed::new(input_channels, d, config.patch_size, config.stride, device),
            cls_token: normal([1, 1, d], device),
            pos_embed: normal([1, 1 + gh * gw, d], device),
            sie_embed: (rows > 0).then(|| normal([rows, 1, d], device)),
            blocks: (0..n).map(|i| VitBlock::new(shape, rate(i), device)).collect(),
            norm: LayerNormConfig::new(d).with_epsilon(config.layer_norm_eps).init(device),
            sie_coe: config.sie.coe,
            sie_cameras: axis(config.sie.cameras),
            sie_views: axis(config.sie.views),
            grid_h: gh,
            grid_w: gw,
        })
    }

    /// Checks camera and view ids against the SIE table before they reach [`Vit::embed`].
    pub fn check_side_info(&self, cameras: &[i64], views: &[i64]) -> Result<(), ModelError> {
        let check = |ids: &[i64], count: usize, what: &'static str, key: &'static str| match ids
            .iter()
            .find(|&&i| i < 0 || i as usize >= count)
        {
            Some(&id) if self.sie_embed.is_some() && count > 0 => Err(ModelError::SideInfo { what, key, id, count }),
            _ => Ok(()),
        };
        check(cameras, self.sie_cameras, "camera", "sie_camera")?;
        check(views, self.sie_views, "view", "sie_view")
    }

    /// Tokens entering the first block `[B, 1 + num_y * num_x, D]`: class token and patches, plus the position
    /// embedding, plus `sie_coe * sie_embed[camera * views + view]` when SIE is on (TransReID's
    /// `forward_features`). A missing `camera` / `view` counts as id 0; ids must pass
    /// [`Vit::check_side_info`]. The input must be `image_size` (the position embedding is per patch).
    pub fn embed(&self, x: Tensor<4>, camera: Option<Tensor<1, Int>>, view: Option<Tensor<1, Int>>) -> Tensor<3> {
        let b = x.dims()[0];
        let device = x.device();
        let patches = self.patch_embed.forward(x);
        let d = patches.dims()[2];
        let cls = self.cls_token.val().expand([b, 1, d]);
        let x = Tensor::cat(vec![cls, patches], 1) + self.pos_embed.val();
        let Some(table) = &self.sie_embed else { return x };
        let zeros = || Tensor::<1, Int>::zeros([b], &device);
        let mut index = if self.sie_cameras > 0 {
            camera.unwrap_or_else(zeros).mul_scalar(self.sie_views.max(1) as i64)
        } else {
            zeros()
        };
        if self.sie_views > 0 {
            index = index + view.unwrap_or_else(zeros);
        }
        x + table.val().select(0, index).mul_scalar(self.sie_coe)
    }

    /// Tokens after all blocks and the final norm `[B, 1 + num_y * num_x, D]`.
    pub fn forward_tokens(
        &self,
        x: Tensor<4>,
        camera: Option<Tensor<1, Int>>,
        view: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let t = self.forward_until_last(x, camera, view);
        let t = match self.blocks.last() {
            Some(last) => last.forward(t),
            None => t,
        };
        self.norm.forward(t)
    }

    /// Tokens after every block but the last, without the norm: what TransReID's JPM (`local_feature`) feeds
    /// its global and local copies of the last block.
    pub fn forward_until_last(
        &self,
        x: Tensor<4>,
        camera: Option<Tensor<1, Int>>,
        view: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let mut t = self.embed(x, camera, view);
        for block in &self.blocks[..self.blocks.len().saturating_sub(1)] {
            t = block.forward(t);
        }
        t
    }

    /// The global feature `[B, D]`: the class token after the final norm.
    pub fn forward(&self, x: Tensor<4>, camera: Option<Tensor<1, Int>>, view: Option<Tensor<1, Int>>) -> Tensor<2> {
        let t = self.forward_tokens(x, camera, view);
        let [b, _, d] = t.dims();
        t.narrow(1, 0, 1).reshape([b, d])
    }
}
