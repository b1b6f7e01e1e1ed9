//! Model configuration: the `model` section of the spec as the network needs it.

use crate::backbone::vit::{VIT_BACKBONES, VitConfig};
use crate::error::ModelError;
pub use crate::jpm::JpmConfig;
use serde::{Deserialize, Serialize};

/// Residual block type of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Two 3x3 convolutions (ResNet-18/34).
    Basic,
    /// 1x1, 3x3, 1x1 convolutions with 4x expansion (ResNet-50/101/152).
    Bottleneck,
}

/// A ResNet in torchvision's layout with the ReID `last_stride`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResnetConfig {
    /// Block type.
    pub block: BlockKind,
    /// Blocks per stage.
    pub layers: [usize; 4],
    /// Stem width (64 for the standard networks); stage widths are 1, 2, 4, 8 times it.
    pub width: usize,
    /// Stride of the last stage (1 keeps a 16x8 map at 256x128; torchvision uses 2).
    pub last_stride: usize,
}

impl ResnetConfig {
    /// Channels of the global feature.
    pub fn out_channels(&self) -> usize {
        8 * self.width * self.expansion()
    }

    /// Channel expansion of a block.
    pub fn expansion(&self) -> usize {
        match self.block {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// A Swin Transformer in timm's layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwinConfig {
    /// Channels after patch embedding (96 for T/S, 128 for B).
    pub embed_dim: usize,
    /// Blocks per stage.
    pub depths: Vec<usize>,
    /// Attention heads per stage.
    pub num_heads: Vec<usize>,
    /// Attention window edge (7).
    pub window_size: usize,
    /// MLP hidden size as a multiple of the channels (4).
    pub mlp_ratio: usize,
    /// Patch edge of the embedding (4).
    pub patch_size: usize,
    /// Stochastic depth rate of the last block (rates grow linearly from 0).
    pub drop_path_rate: f64,
}

impl SwinConfig {
    /// Channels of the global feature.
    pub fn out_channels(&self) -> usize {
        self.embed_dim << (self.depths.len() - 1)
    }
}

/// The backbone network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackboneConfig {
    /// ResNet.
    Resnet(ResnetConfig),
    /// Swin Transformer.
    Swin(SwinConfig),
    /// TransReID Vision Transformer.
    Vit(VitConfig),
}

/// Backbone names `model.backbone` accepts.
pub const BACKBONES: [&str; 11] = [
    "resnet_18",
    "resnet_34",
    "resnet_50",
    "resnet_101",
    "resnet_152",
    "swin_tiny_patch4_window7_224",
    "swin_small_patch4_window7_224",
    "swin_base_patch4_window7_224",
    VIT_BACKBONES[0],
    VIT_BACKBONES[1],
    VIT_BACKBONES[2],
];

impl BackboneConfig {
    /// The architecture a spec's `model.backbone` names; `last_stride` applies to ResNets. A ViT comes at
    /// 256 x 128 with stride 16 and SIE off: set its `image_size`, `stride` and `sie` from the spec.
    pub fn from_name(name: &str, last_stride: usize) -> Result<Self, ModelError> {
        let resnet = |block, layers| Ok(BackboneConfig::Resnet(ResnetConfig { block, layers, width: 64, last_stride }));
        let swin = |embed_dim, depths: &[usize], num_heads: &[usize]| {
            Ok(BackboneConfig::Swin(SwinConfig {
                embed_dim,
                depths: depths.to_vec(),
                num_heads: num_heads.to_vec(),
                window_size: 7,
                mlp_ratio: 4,
                patch_size: 4,
                drop_path_rate: 0.1,
            }))
        };
        match name {
            "resnet_18" | "resnet18" => resnet(BlockKind::Basic, [2, 2, 2, 2]),
            "resnet_34" | "resnet34" => resnet(BlockKind::Basic, [3, 4, 6, 3]),
            "resnet_50" | "resnet50" => resnet(BlockKind::Bottleneck, [3, 4, 6, 3]),
            "resnet_101" | "resnet101" => resnet(BlockKind::Bottleneck, [3, 4, 23, 3]),
            "resnet_152" | "resnet152" => resnet(BlockKind::Bottleneck, [3, 8, 36, 3]),
            "swin_tiny_patch4_window7_224" => swin(96, &[2, 2, 6, 2], &[3, 6, 12, 24]),
            "swin_small_patch4_window7_224" => swin(96, &[2, 2, 18, 2], &[3, 6, 12, 24]),
            "swin_base_patch4_window7_224" => swin(128, &[2, 2, 18, 2], &[4, 8, 16, 32]),
            vit if VIT_BACKBONES.contains(&vit) => Ok(BackboneConfig::Vit(
                VitConfig::transreid(vit, [256, 128], [16, 16])
                    .map_err(|_| ModelError::UnknownBackbone { name: name.to_owned(), known: BACKBONES.join(", ") })?,
            )),
            _ => Err(ModelError::UnknownBackbone { name: name.to_owned(), known: BACKBONES.join(", ") }),
        }
    }

    /// Channels of the global feature.
    pub fn out_channels(&self) -> usize {
        match self {
            BackboneConfig::Resnet(c) => c.out_channels(),
            BackboneConfig::Swin(c) => c.out_channels(),
            BackboneConfig::Vit(c) => c.embed_dim,
        }
    }

    /// A short name for messages and metadata.
    pub fn family(&self) -> &'static str {
        match self {
            BackboneConfig::Resnet(_) => "resnet",
            BackboneConfig::Swin(_) => "swin",
            BackboneConfig::Vit(_) => "vit",
        }
    }
}

/// Whether a BNNeck follows the global feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Neck {
    /// BatchNorm1d whose bias is frozen (Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person
    /// Re-identification", 2019).
    #[default]
    Bnneck,
    /// No neck (`neck: ""` in the spec).
    None,
}

/// Which feature inference returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NeckFeat {
    /// The feature entering the BNNeck.
    Before,
    /// The BNNeck's output.
    #[default]
    After,
}

/// Everything needed to build a ReID network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReidConfig {
    /// The backbone.
    pub backbone: BackboneConfig,
    /// Embedding size; a bias-free linear reduction is added when it differs from the backbone's channels.
    pub feat_dim: usize,
    /// BNNeck or none.
    pub neck: Neck,
    /// Feature returned at inference.
    pub neck_feat: NeckFeat,
    /// Identities of the ID classifier (training only).
    pub num_classes: usize,
    /// Input channels.
    pub input_channels: usize,
    /// Input height in pixels.
    pub input_height: usize,
    /// Input width in pixels.
    pub input_width: usize,
    /// TransReID's jigsaw patch module (ViT only; `None` is TransReID's `build_transformer`).
    #[serde(default)]
    pub jpm: Option<JpmConfig>,
}

impl ReidConfig {
    /// Checks ranges, naming the spec key at fault.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |key, value: usize, expected: &str| {
            Err(ModelError::Config { key, value: value.to_string(), expected: expected.to_owned() })
        };
        if !(1..=8192).contains(&self.feat_dim) {
            return bad("feat_dim", self.feat_dim, "1..=8192 (64..2048 is usual)");
        }
        if self.num_classes == 0 {
            return bad("num_classes", 0, "at least 1");
        }
        if self.input_channels == 0 {
            return bad("input_channels", 0, "at least 1");
        }
        let min = match &self.backbone {
            BackboneConfig::Resnet(_) => 32,
            BackboneConfig::Swin(s) => s.patch_size << (s.depths.len() - 1),
            BackboneConfig::Vit(v) => v.patch_size,
        };
        if self.input_height < min {
            return bad("input_height", self.input_height, &format!("at least {min}"));
        }
        if self.input_width < min {
            return bad("input_width", self.input_width, &format!("at least {min}"));
        }
        match &self.backbone {
            BackboneConfig::Resnet(r) => {
                if !(1..=2).contains(&r.last_stride) {
                    return bad("last_stride", r.last_stride, "1 or 2");
                }
            }
            BackboneConfig::Swin(s) => {
                if s.depths.is_empty() || s.depths.len() != s.num_heads.len() {
                    return bad("backbone", s.depths.len(), "as many stage depths as head counts");
                }
                for (i, &h) in s.num_heads.iter().enumerate() {
                    if h == 0 || (s.embed_dim << i) % h != 0 {
                        return bad("backbone", h, "head counts that divide each stage's channels");
                    }
                }
            }
            BackboneConfig::Vit(v) => {
                v.validate()?;
                if v.image_size != [self.input_height, self.input_width] {
                    let found = format!("{:?}", v.image_size);
                    let expected = format!("the input size [{}, {}]", self.input_height, self.input_width);
                    return Err(ModelError::Config { key: "backbone", value: found, expected });
                }
            }
        }
        if let Some(jpm) = &self.jpm {
            let BackboneConfig::Vit(v) = &self.backbone else {
                return Err(ModelError::Config {
                    key: "jpm",
                    value: "true".into(),
                    expected: format!(
                        "false: the jigsaw patch module needs a ViT backbone, not {}",
                        self.backbone.family()
                    ),
                });
            };
            if self.feat_dim != v.embed_dim {
                return bad("feat_dim", self.feat_dim, &format!("the ViT width {} when model.jpm is on", v.embed_dim));
            }
            if v.depth < 1 {
                return bad("backbone", v.depth, "at least one block when model.jpm is on");
            }
            let [gy, gx] = v.grid();
            jpm.validate(gy * gx)?;
        }
        Ok(())
    }

    /// Width of the inference embedding: `feat_dim`, times `1 + devide_length` with JPM (the global feature
    /// and each local feature concatenated).
    pub fn embedding_dim(&self) -> usize {
        self.feat_dim * (1 + self.jpm.as_ref().map_or(0, |j| j.devide_length))
    }

    /// The ViT configuration, when the backbone is one.
    pub fn vit(&self) -> Option<&VitConfig> {
        match &self.backbone {
            BackboneConfig::Vit(v) => Some(v),
            _ => None,
        }
    }
}
