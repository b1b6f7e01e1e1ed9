//! ResNet in torchvision's parameter layout (He et al., "Deep Residual Learning for Image Recognition",
//! 2016; v1.5: the stride sits on the 3x3 convolution of a bottleneck), with the ReID `last_stride`
//! and a configurable width so that tiny variants exist for tests.

use crate::batch_norm::batch_norm;
use crate::config::{BlockKind, ResnetConfig};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// A 1x1 projection on the shortcut when shape or stride changes (torchvision's `downsample.0/1`).
#[derive(Module, Debug)]
pub struct Downsample {
    /// 1x1 convolution, no bias.
    pub conv: Conv2d,
    /// Batch normalisation.
    pub bn: BatchNorm,
}

/// A residual block: basic (`conv3` absent) or bottleneck.
#[derive(Module, Debug)]
pub struct Block {
    /// First convolution (3x3 basic, 1x1 bottleneck).
    pub conv1: Conv2d,
    /// Its batch norm.
    pub bn1: BatchNorm,
    /// Second convolution (3x3).
    pub conv2: Conv2d,
    /// Its batch norm.
    pub bn2: BatchNorm,
    /// Third convolution (1x1, bottleneck only).
    pub conv3: Option<Conv2d>,
    /// Its batch norm.
    pub bn3: Option<BatchNorm>,
    /// Shortcut projection, when needed.
    pub downsample: Option<Downsample>,
}

/// `c` applied to `x`: on the CPU through the whole-batch products of [`crate::cpu_conv`] (unless the environment sets
/// `REID_CPU_CONV=burn`), elsewhere burn's own convolution.
fn conv_forward(c: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if crate::cpu_conv::enabled() {
        return crate::cpu_conv::conv2d_module(c, x);
    }
    c.forward(x)
}

fn conv(c_in: usize, c_out: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(false)
        .init(device)
}

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).init(device)
}

impl Block {
    /// A block from `c_in` channels to `planes * expansion`, with `stride` on its spatial convolution.
    pub fn new(kind: BlockKind, c_in: usize, planes: usize, stride: usize, device: &Device) -> Self {
        let (c_out, this) = match kind {
            BlockKind::Basic => (
                planes,
                Block {
                    conv1: conv(c_in, planes, 3, stride, device),
                    bn1: bn(planes, device),
                    conv2: conv(planes, planes, 3, 1, device),
                    bn2: bn(planes, device),
                    conv3: None,
                    bn3: None,
                    downsample: None,
                },
            ),
            BlockKind::Bottleneck => (
                planes * 4,
                Block {
                    conv1: conv(c_in, planes, 1, 1, device),
                    bn1: bn(planes, device),
                    conv2: conv(planes, planes, 3, stride, device),
                    bn2: bn(planes, device),
                    conv3: Some(conv(planes, planes * 4, 1, 1, device)),
                    bn3: Some(bn(planes * 4, device)),
                    downsample: None,
                },
            ),
        };
        let downsample = (stride != 1 || c_in != c_out)
            .then(|| Downsample { conv: conv(c_in, c_out, 1, stride, device), bn: bn(c_out, device) });
        Block { downsample, ..this }
    }

    /// Runs the block.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.downsample {
            Some(d) => batch_norm(&d.bn, conv_forward(&d.conv, x.clone())),
            None => x.clone(),
        };
        let mut out = relu(batch_norm(&self.bn1, conv_forward(&self.conv1, x)));
        out = batch_norm(&self.bn2, conv_forward(&self.conv2, out));
        if let (Some(conv3), Some(bn3)) = (&self.conv3, &self.bn3) {
            out = batch_norm(bn3, conv_forward(conv3, relu(out)));
        }
        relu(out + identity)
    }
}

/// The ResNet trunk: stem and four stages; the head is [`crate::ReidModel`]'s.
#[derive(Module, Debug)]
pub struct ResNet {
    /// Stem 7x7/2 convolution.
    pub conv1: Conv2d,
    /// Stem batch norm.
    pub bn1: BatchNorm,
    /// Stem 3x3/2 max pooling.
    pub maxpool: MaxPool2d,
    /// Stage 1.
    pub layer1: Vec<Block>,
    /// Stage 2 (stride 2).
    pub layer2: Vec<Block>,
    /// Stage 3 (stride 2).
    pub layer3: Vec<Block>,
    /// Stage 4 (stride `last_stride`).
    pub layer4: Vec<Block>,
}

impl ResNet {
    /// A randomly initialised network for `input_channels`-channel images.
    pub fn new(config: &ResnetConfig, input_channels: usize, device: &Device) -> Self {
        let w = config.width;
        let e = config.expansion();
        let mut c_in = w;
        let mut stage = |planes: usize, blocks: usize, stride: usize| {
            let mut out = Vec::with_capacity(blocks);
            for i in 0..blocks {
                out.push(Block::new(config.block, c_in, planes, if i == 0 { stride } else { 1 }, device));
                c_in = planes * e;
            }
            out
        };
        let layer1 = stage(w, config.layers[0], 1);
        let layer2 = stage(2 * w, config.layers[1], 2);
        let layer3 = stage(4 * w, config.layers[2], 2);
        let layer4 = stage(8 * w, config.layers[3], config.last_stride);
        ResNet {
            conv1: Conv2dConfig::new([input_channels, w], [7, 7])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                .with_bias(false)
                .init(device),
            bn1: bn(w, device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1,
            layer2,
            layer3,
            layer4,
        }
    }

    /// The last stage's feature map `[N, C, H/16 or H/32, W/16 or W/32]`.
    pub fn forward_map(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.maxpool.forward(relu(batch_norm(&self.bn1, conv_forward(&self.conv1, x))));
        for block in self.layer1.iter().chain(&self.layer2).chain(&self.layer3).chain(&self.layer4) {
            x = block.forward(x);
        }
        x
    }

    /// The global feature `[N, C]`: global average pooling of the last stage.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let map = self.forward_map(x);
        let [n, c, _, _] = map.dims();
        map.mean_dim(3).mean_dim(2).reshape([n, c])
    }
}
