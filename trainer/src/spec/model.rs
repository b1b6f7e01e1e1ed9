//! The `model` section: the network architecture, including the TransReID ViT keys (`stride_size`, SIE, JPM;
//! TransReID's `MODEL.*` names in lower case, defaults from its `config/defaults.py`), and how it becomes a
//! [`reid_models::ReidConfig`].

use super::error::SpecError;
use super::sections::{PretrainChoice, empty_path_is_none};
use super::suggest;
use crate::loss::MetricLossType;
use reid_models::backbone::vit::{VIT_BACKBONES, VitConfig};
use reid_models::config::JpmConfig;
use reid_models::{BackboneConfig, Neck, NeckFeat, ReidConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `model`: the network architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// The type of model: Swin-based architectures, resnet_50 (also resnet_18/34/101/152 here) or a TransReID ViT
    /// (`vit_base_patch16_224_TransReID`, `vit_small_patch16_224_TransReID`, `deit_small_patch16_224_TransReID`).
    pub backbone: String,
    /// The number of strides during convolution (the stride of a ResNet's last stage).
    pub last_stride: usize,
    /// Specifies the pre-trained network: `self`, `imagenet` or `""`.
    pub pretrain_choice: PretrainChoice,
    /// The path to the pre-trained model.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub pretrained_model_path: Option<PathBuf>,
    /// The number of input channels; only 3 (RGB) is supported, validation refuses any other number.
    pub input_channels: usize,
    /// The width of the input images.
    pub input_width: usize,
    /// The height of the input images.
    pub input_height: usize,
    /// Specifies whether to train with BNNeck: `bnneck` or `no`/`""`.
    #[serde(with = "crate::choice::serde_names")]
    pub neck: Neck,
    /// The patch-embedding stride `[h, w]` of ViT backbones (TransReID's `STRIDE_SIZE`; below the patch size 16
    /// the patches overlap).
    pub stride_size: Vec<usize>,
    /// The output size of the feature embeddings.
    pub feat_dim: usize,
    /// A flag specifying whether to train with soft triplet loss.
    pub no_margin: bool,
    /// Specifies which feature of BNNeck to use for testing: `before` or `after`.
    #[serde(with = "crate::choice::serde_names")]
    pub neck_feat: NeckFeat,
    /// The type of metric loss: `triplet`, `center` or `triplet_center`.
    pub metric_loss_type: MetricLossType,
    /// A flag specifying whether to enable center loss.
    pub with_center_loss: bool,
    /// A flag specifying whether to enable image flipping (the test feature averages an image and its mirror).
    pub with_flip_feature: bool,
    /// A flag specifying whether to enable label smoothing.
    pub label_smooth: bool,
    /// The height-width ratio of the pre-trained model (SOLIDER-REID's `PRETRAIN_HW_RATIO`; see
    /// [`Spec::notes`](super::Spec::notes) for where it has no effect).
    pub pretrain_hw_ratio: f64,
    /// Stochastic depth rate of the last transformer block, ViT and Swin (TransReID's `DROP_PATH`).
    pub drop_path: f64,
    /// ViT: side information embedding of the camera (TransReID's `SIE_CAMERA`); the camera count is the
    /// training split's.
    pub sie_camera: bool,
    /// ViT: side information embedding of the viewpoint (`SIE_VIEW`). Accepted and ignored: the dataset formats
    /// read here carry no viewpoint labels.
    pub sie_view: bool,
    /// ViT: scale of the side information embedding (`SIE_COE`, TransReID's `sie_xishu`).
    pub sie_coe: f64,
    /// ViT: the jigsaw patch module (`JPM`).
    pub jpm: bool,
    /// JPM: patch tokens the sequence is shifted by (`SHIFT_NUM`).
    pub shift_num: usize,
    /// JPM: groups of the patch shuffle (`SHUFFLE_GROUP`).
    pub shuffle_group: usize,
    /// JPM: local features, each from an equal slice of the patches (`DEVIDE_LENGTH`).
    pub devide_length: usize,
    /// JPM: shift and shuffle the patches before slicing them (`RE_ARRANGE`).
    pub re_arrange: bool,
}

impl Default for ModelSection {
    fn default() -> Self {
        let jpm = JpmConfig::default();
        ModelSection {
            backbone: "swin_tiny_patch4_window7_224".to_owned(),
            last_stride: 1,
            pretrain_choice: PretrainChoice::SelfSupervised,
            pretrained_model_path: None,
            input_channels: 3,
            input_width: 128,
            input_height: 384,
            neck: Neck::Bnneck,
            stride_size: vec![16, 16],
            feat_dim: 1024,
            no_margin: true,
            neck_feat: NeckFeat::After,
            metric_loss_type: MetricLossType::Triplet,
            with_center_loss: false,
            with_flip_feature: false,
            label_smooth: false,
            pretrain_hw_ratio: 2.0,
            drop_path: 0.1,
            sie_camera: false,
            sie_view: false,
            sie_coe: 3.0,
            jpm: false,
            shift_num: jpm.shift_num,
            shuffle_group: jpm.shuffle_group,
            devide_length: jpm.devide_length,
            re_arrange: jpm.re_arrange,
        }
    }
}

/// `model.backbone` of a small ViT for CPU training and tests (this project's, not one of TransReID's): the
/// TransReID architecture at width 128, depth 4, 4 heads, patch 16 (`trainer/specs/quickstart_vit.yaml`).
pub const TINY_VIT: &str = "vit_tiny_patch16_TransReID";

/// The backbone `name` names: [`TINY_VIT`] or one of [`reid_models::config::BACKBONES`].
fn backbone_config(name: &str, last_stride: usize) -> Result<BackboneConfig, SpecError> {
    if name == TINY_VIT {
        let tiny = VitConfig::tiny([256, 128], [16, 16]);
        return Ok(BackboneConfig::Vit(VitConfig { embed_dim: 128, depth: 4, num_heads: 4, ..tiny }));
    }
    BackboneConfig::from_name(name, last_stride).map_err(|e| match model_error(e) {
        SpecError::Invalid { key, value, message, location } => SpecError::Invalid {
            key,
            value,
            message: message.replacen("expected one of ", &format!("expected one of {TINY_VIT}, "), 1),
            location,
        },
        other => other,
    })
}

/// The keys of the `model` section that only a ViT reads.
pub const VIT_KEYS: [&str; 9] = [
    "model.stride_size",
    "model.sie_camera",
    "model.sie_view",
    "model.sie_coe",
    "model.jpm",
    "model.shift_num",
    "model.shuffle_group",
    "model.devide_length",
    "model.re_arrange",
];

/// The keys of the `model` section that only the jigsaw patch module reads.
pub const JPM_KEYS: [&str; 4] = ["model.shift_num", "model.shuffle_group", "model.devide_length", "model.re_arrange"];

impl ModelSection {
    /// Whether the backbone is a ResNet.
    pub fn is_resnet(&self) -> bool {
        self.backbone.starts_with("resnet")
    }

    /// Whether the backbone is a Swin Transformer.
    pub fn is_swin(&self) -> bool {
        self.backbone.starts_with("swin")
    }

    /// Whether the backbone is a ViT (TransReID-style).
    pub fn is_vit(&self) -> bool {
        VIT_BACKBONES.contains(&self.backbone.as_str())
            || self.backbone == TINY_VIT
            || self.backbone.starts_with("vit")
            || self.backbone.contains("_vit")
    }

    /// Whether the center loss is in play: `with_center_loss`, or a metric loss with `center` in its name.
    pub fn uses_center_loss(&self) -> bool {
        self.with_center_loss || self.metric_loss_type.has_center()
    }

    /// The JPM settings when `jpm` is on.
    pub fn jpm_config(&self) -> Option<JpmConfig> {
        self.jpm.then_some(JpmConfig {
            shift_num: self.shift_num,
            shuffle_group: self.shuffle_group,
            devide_length: self.devide_length,
            re_arrange: self.re_arrange,
        })
    }

    /// The network configuration of this section, with `num_classes` identities for the ID classifier and, for a
    /// ViT with `sie_camera`, a camera embedding of `cameras` rows (the training split's camera count; 0 or 1:
    /// no camera embedding, as TransReID's `camera > 1`). A ViT gets `image_size = [input_height, input_width]`,
    /// `stride = stride_size`, `drop_path_rate = drop_path`, `sie_coe` and, with `jpm`, the JPM settings; a Swin
    /// gets `drop_path` (SOLIDER-REID passes `DROP_PATH` to its Swin). `sie_view` is ignored (no view labels).
    pub fn reid_config(&self, num_classes: usize, cameras: usize) -> Result<ReidConfig, SpecError> {
        let mut backbone = backbone_config(&self.backbone, self.last_stride)?;
        let mut jpm = None;
        match &mut backbone {
            BackboneConfig::Vit(v) => {
                v.image_size = [self.input_height, self.input_width];
                if let [y, x] = self.stride_size[..] {
                    v.stride = [y, x];
                }
                v.drop_path_rate = self.drop_path;
                v.sie.coe = self.sie_coe;
                v.sie.cameras = if self.sie_camera { cameras } else { 0 };
                v.sie.views = 0;
                jpm = self.jpm_config();
            }
            BackboneConfig::Swin(s) => s.drop_path_rate = self.drop_path,
            BackboneConfig::Resnet(_) => {}
        }
        let config = ReidConfig {
            backbone,
            feat_dim: self.feat_dim,
            neck: self.neck,
            neck_feat: self.neck_feat,
            num_classes,
            input_channels: self.input_channels,
            input_height: self.input_height,
            input_width: self.input_width,
            jpm,
        };
        config.validate().map_err(model_error)?;
        Ok(config)
    }
}

/// A model error as a spec error naming the key.
pub(super) fn model_error(e: reid_models::ModelError) -> SpecError {
    match e {
        reid_models::ModelError::UnknownBackbone { name, known } => {
            let suggestion = suggest::nearest(&name, reid_models::config::BACKBONES)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            SpecError::Invalid {
                key: "model.backbone".to_owned(),
                value: name,
                message: format!("is not a known backbone: expected one of {known}{suggestion}"),
                location: None,
            }
        }
        reid_models::ModelError::Config { key, value, expected } => SpecError::Invalid {
            key: if key == "num_classes" { "dataset.num_classes".to_owned() } else { format!("model.{key}") },
            value,
            message: format!("is out of range: expected {expected}"),
            location: None,
        },
        other => SpecError::Type { key: "model".to_owned(), message: other.to_string(), location: None },
    }
}
