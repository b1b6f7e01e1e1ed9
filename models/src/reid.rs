//! The ReID network: backbone, optional reduction to `feat_dim`, BNNeck and a bias-free ID classifier
//! (Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person Re-identification", 2019; the reduction
//! as in TransReID/SOLIDER-REID's `fcneck`).

use crate::backbone::Backbone;
use crate::config::{Neck, NeckFeat, ReidConfig};
use crate::error::ModelError;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// A ReID network. Parameter names follow PyTorch convention: `base.*`, `fcneck.weight`, `bottleneck.*`,
/// `classifier.weight`.
#[derive(Module, Debug)]
pub struct ReidModel {
    /// The trunk.
    pub base: Backbone,
    /// `C -> feat_dim`, bias-free; present when `feat_dim` differs from the backbone's channels.
    pub fcneck: Option<Linear>,
    /// BNNeck (BatchNorm1d; its bias is frozen in training).
    pub bottleneck: Option<BatchNorm>,
    /// ID classifier `feat_dim -> num_classes`, bias-free (training only).
    pub classifier: Linear,
    /// Which feature [`ReidModel::embed`] returns.
    #[module(skip)]
    pub neck_feat: NeckFeat,
}

/// What a training step needs.
#[derive(Debug)]
pub struct TrainOutput {
    /// Class logits `[N, num_classes]` (from the BNNeck output).
    pub logits: Tensor<2>,
    /// The feature before the BNNeck `[N, feat_dim]` (for triplet and center losses).
    pub features: Tensor<2>,
}

impl ReidModel {
    /// A randomly initialised network.
    pub fn new(config: &ReidConfig, device: &Device) -> Result<Self, ModelError> {
        config.validate()?;
        let channels = config.backbone.out_channels();
        Ok(ReidModel {
            base: Backbone::new(&config.backbone, config.input_channels, device),
            fcneck: (config.feat_dim != channels)
                .then(|| LinearConfig::new(channels, config.feat_dim).with_bias(false).init(device)),
            bottleneck: (config.neck == Neck::Bnneck).then(|| {
                let mut bn = BatchNormConfig::new(config.feat_dim).init(device);
                // The BNNeck's shift is not learned (Luo et al. 2019, section 3.6).
                bn.beta = bn.beta.set_require_grad(false);
                bn
            }),
            classifier: LinearConfig::new(config.feat_dim, config.num_classes).with_bias(false).init(device),
            neck_feat: config.neck_feat,
        })
    }

    /// The feature entering the neck `[N, feat_dim]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let g = self.base.forward(x);
        match &self.fcneck {
            Some(fc) => fc.forward(g),
            None => g,
        }
    }

    /// The BNNeck output (identity without a neck).
    fn neck(&self, f: Tensor<2>) -> Tensor<2> {
        match &self.bottleneck {
            Some(bn) => bn.forward(f),
            None => f,
        }
    }

    /// The inference embedding `[N, feat_dim]` (not L2-normalised), before or after the BNNeck per `neck_feat`.
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.features(x);
        match self.neck_feat {
            NeckFeat::Before => f,
            NeckFeat::After => self.neck(f),
        }
    }

    /// Logits and pre-neck features for a training step.
    pub fn forward_train(&self, x: Tensor<4>) -> TrainOutput {
        let features = self.features(x);
        let logits = self.classifier.forward(self.neck(features.clone()));
        TrainOutput { logits, features }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BackboneConfig, BlockKind, ResnetConfig};
    use burn::module::Module;

    fn tiny() -> ReidConfig {
        ReidConfig {
            backbone: BackboneConfig::Resnet(ResnetConfig {
                block: BlockKind::Basic,
                layers: [1, 1, 1, 1],
                width: 4,
                last_stride: 1,
            }),
            feat_dim: 8,
            neck: Neck::Bnneck,
            neck_feat: NeckFeat::After,
            num_classes: 3,
            input_channels: 3,
            input_height: 64,
            input_width: 32,
        }
    }

    #[test]
    fn bnneck_bias_gets_no_gradient_but_its_scale_does() {
        let device = Device::flex().autodiff();
        let model = ReidModel::new(&tiny(), &Device::flex()).unwrap().to_device(&device).train();
        let x = Tensor::<4>::random([4, 3, 64, 32], burn::tensor::Distribution::Default, &device);
        let out = model.forward_train(x);
        let grads = out.logits.sum().backward();
        let bn = model.bottleneck.as_ref().unwrap();
        assert!(bn.beta.val().grad(&grads).is_none(), "BNNeck bias must be frozen");
        assert!(bn.gamma.val().grad(&grads).is_some(), "BNNeck scale is trained");
        assert!(model.classifier.weight.val().grad(&grads).is_some());
    }

    #[test]
    fn shapes_and_reduction() {
        let device = Device::flex();
        let model = ReidModel::new(&tiny(), &device).unwrap();
        assert!(model.fcneck.is_some(), "32 backbone channels reduced to feat_dim 8");
        let x = Tensor::<4>::zeros([2, 3, 64, 32], &device);
        assert_eq!(model.embed(x.clone()).dims(), [2, 8]);
        assert_eq!(model.forward_train(x).logits.dims(), [2, 3]);
    }

    #[test]
    fn bad_configs_name_the_key() {
        let mut c = tiny();
        c.feat_dim = 0;
        assert!(ReidModel::new(&c, &Device::flex()).unwrap_err().to_string().starts_with("model.feat_dim = 0"));
        let err = BackboneConfig::from_name("resnet_49", 1).unwrap_err().to_string();
        assert!(
            err.contains("`resnet_49` is not a known backbone") && err.contains("swin_tiny_patch4_window7_224"),
            "{err}"
        );
    }
}
