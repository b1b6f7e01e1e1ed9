//! Swin Transformer in timm's parameter layout (`patch_embed`, `layers.{i}.downsample` at the start of stages
//! 1..3, `layers.{i}.blocks.{j}`, `norm`), working on NHWC maps. Input sizes whose feature maps the window does
//! not divide (384x128, 256x128) are padded inside each block, as the Swin detection backbone and
//! SOLIDER-REID do; see [`window::Geometry`] for the shift rule.

pub mod attention;
pub mod block;
pub mod merge;
pub mod window;

use crate::config::SwinConfig;
use block::SwinBlock;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Tensor};
use merge::PatchMerging;

/// Non-overlapping `p x p` patches projected to `embed_dim` channels, then LayerNorm.
#[derive(Module, Debug)]
pub struct PatchEmbed {
    /// `p x p` convolution with stride `p`.
    pub proj: Conv2d,
    /// Norm over the channels.
    pub norm: LayerNorm,
}

impl PatchEmbed {
    /// `[B, C, H, W]` to `[B, ceil(H/p), ceil(W/p), E]`; sizes not divisible by `p` are zero-padded bottom/right.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let p = self.proj.kernel_size[0];
        let [_, _, h, w] = x.dims();
        let (ph, pw) = ((p - h % p) % p, (p - w % p) % p);
        let x = if ph + pw > 0 { x.pad([(0, 0), (0, 0), (0, ph), (0, pw)], 0.0) } else { x };
        self.norm.forward(self.proj.forward(x).permute([0, 2, 3, 1]))
    }
}

/// One stage: optional patch merging, then blocks.
#[derive(Module, Debug)]
pub struct Stage {
    /// Patch merging (stages 1..3).
    pub downsample: Option<PatchMerging>,
    /// Swin blocks.
    pub blocks: Vec<SwinBlock>,
}

/// The Swin trunk; the head is [`crate::ReidModel`]'s.
#[derive(Module, Debug)]
pub struct Swin {
    /// Patch embedding.
    pub patch_embed: PatchEmbed,
    /// Stages.
    pub layers: Vec<Stage>,
    /// Final norm.
    pub norm: LayerNorm,
}

impl Swin {
    /// A randomly initialised network (relative position biases start at zero).
    pub fn new(config: &SwinConfig, input_channels: usize, device: &Device) -> Self {
        let p = config.patch_size;
        let e = config.embed_dim;
        let total: usize = config.depths.iter().sum();
        let rate = |i: usize| if total > 1 { config.drop_path_rate * i as f64 / (total - 1) as f64 } else { 0.0 };
        let mut layers = Vec::with_capacity(config.depths.len());
        let mut seen = 0;
        for (s, (&depth, &heads)) in config.depths.iter().zip(&config.num_heads).enumerate() {
            let dim = e << s;
            let blocks = (0..depth)
                .map(|j| SwinBlock::new(dim, heads, config.window_size, config.mlp_ratio, j, rate(seen + j), device))
                .collect();
            seen += depth;
            layers.push(Stage { downsample: (s > 0).then(|| PatchMerging::new(dim / 2, device)), blocks });
        }
        Swin {
            patch_embed: PatchEmbed {
                proj: Conv2dConfig::new([input_channels, e], [p, p]).with_stride([p, p]).init(device),
                norm: LayerNormConfig::new(e).init(device),
            },
            layers,
            norm: LayerNormConfig::new(config.out_channels()).init(device),
        }
    }

    /// The normalised last-stage map `[B, H/32, W/32, C]` (NHWC).
    pub fn forward_map(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.patch_embed.forward(x);
        for stage in &self.layers {
            if let Some(d) = &stage.downsample {
                x = d.forward(x);
            }
            for block in &stage.blocks {
                x = block.forward(x);
            }
        }
        self.norm.forward(x)
    }

    /// The global feature `[B, C]`: mean over all positions of the normalised last stage.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let map = self.forward_map(x);
        let [b, _, _, c] = map.dims();
        map.mean_dim(2).mean_dim(1).reshape([b, c])
    }
}
