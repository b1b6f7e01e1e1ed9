//! The ReID network: backbone, optional reduction to `feat_dim`, BNNeck and a bias-free ID classifier
//! (Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person Re-identification", 2019; the reduction
//! as in TransReID/SOLIDER-REID's `fcneck`), and for a ViT optionally TransReID's jigsaw patch module.

use crate::backbone::Backbone;
use crate::batch_norm::batch_norm;
use crate::config::{Neck, NeckFeat, ReidConfig};
use crate::error::ModelError;
use crate::jpm::{Jpm, bnneck};
use burn::module::Module;
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

/// A ReID network. Parameter names follow PyTorch convention: `base.*`, `fcneck.weight`, `bottleneck.*`,
/// `classifier.weight`; JPM's under `jpm.*` (TransReID's `b1.*`, `b2.*`, `bottleneck_1..4`, `classifier_1..4`).
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
    /// TransReID's jigsaw patch module (ViT only).
    pub jpm: Option<Jpm>,
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
    /// JPM's local features, one per group (empty without JPM).
    pub local: Vec<LocalOutput>,
}

/// Logits and feature of one JPM local branch.
#[derive(Debug)]
pub struct LocalOutput {
    /// Class logits `[N, num_classes]` from the local BNNeck's output.
    pub logits: Tensor<2>,
    /// The local feature before its BNNeck `[N, feat_dim]`.
    pub features: Tensor<2>,
}

impl ReidModel {
    /// A randomly initialised network.
    pub fn new(config: &ReidConfig, device: &Device) -> Result<Self, ModelError> {
        config.validate()?;
        let channels = config.backbone.out_channels();
        let base = Backbone::new(&config.backbone, config.input_channels, device)?;
        let jpm = match (&config.jpm, &base) {
            (Some(j), Backbone::Vit(vit)) => Some(Jpm::new(vit, *j, config.num_classes, device)),
            _ => None,
        };
        Ok(ReidModel {
            base,
            fcneck: (config.feat_dim != channels)
                .then(|| LinearConfig::new(channels, config.feat_dim).with_bias(false).init(device)),
            bottleneck: (config.neck == Neck::Bnneck).then(|| bnneck(config.feat_dim, device)),
            classifier: LinearConfig::new(config.feat_dim, config.num_classes).with_bias(false).init(device),
            jpm,
            neck_feat: config.neck_feat,
        })
    }

    /// Cameras of the side information embedding (0 when the model takes no camera input).
    pub fn sie_cameras(&self) -> usize {
        match &self.base {
            Backbone::Vit(v) if v.sie_embed.is_some() => v.sie_cameras,
            _ => 0,
        }
    }

    /// Checks camera ids against the SIE table (always fine for a model without one).
    pub fn check_cameras(&self, cameras: &[i64]) -> Result<(), ModelError> {
        match &self.base {
            Backbone::Vit(v) => v.check_side_info(cameras, &[]),
            _ => Ok(()),
        }
    }

    /// The feature entering the neck `[N, feat_dim]` (the global feature with JPM).
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        self.global_and_local(x, None).0
    }

    /// The global feature (reduced to `feat_dim`) and JPM's local features, all before their BNNecks.
    fn global_and_local(&self, x: Tensor<4>, camera: Option<Tensor<1, Int>>) -> (Tensor<2>, Vec<Tensor<2>>) {
        if let (Some(jpm), Backbone::Vit(vit)) = (&self.jpm, &self.base) {
            return jpm.features(vit.forward_until_last(x, camera, None));
        }
        let g = self.base.forward_side(x, camera);
        let g = match &self.fcneck {
            Some(fc) => fc.forward(g),
            None => g,
        };
        (g, Vec::new())
    }

    /// The BNNeck output (identity without a neck).
    fn neck(&self, f: Tensor<2>) -> Tensor<2> {
        match &self.bottleneck {
            Some(bn) => batch_norm(bn, f),
            None => f,
        }
    }

    /// The inference embedding `[N, embedding_dim]` (not L2-normalised), before or after the BNNeck per
    /// `neck_feat`; camera 0 for a model with SIE.
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        self.embed_side(x, None)
    }

    /// [`ReidModel::embed`] with camera ids `[N]` (checked by [`ReidModel::check_cameras`]). With JPM, TransReID's
    /// test feature: the global feature concatenated with each local feature divided by `devide_length`.
    pub fn embed_side(&self, x: Tensor<4>, camera: Option<Tensor<1, Int>>) -> Tensor<2> {
        let (g, local) = self.global_and_local(x, camera);
        let after = self.neck_feat == NeckFeat::After;
        let g = if after { self.neck(g) } else { g };
        let Some(jpm) = &self.jpm else { return g };
        let k = local.len() as f64;
        let mut parts = vec![g];
        for (f, bn) in local.into_iter().zip(&jpm.bottlenecks) {
            parts.push(if after { batch_norm(bn, f) } else { f }.div_scalar(k));
        }
        Tensor::cat(parts, 1)
    }

    /// Logits and pre-neck features for a training step (camera 0 for a model with SIE).
    pub fn forward_train(&self, x: Tensor<4>) -> TrainOutput {
        self.forward_train_side(x, None)
    }

    /// [`ReidModel::forward_train`] with camera ids `[N]`.
    pub fn forward_train_side(&self, x: Tensor<4>, camera: Option<Tensor<1, Int>>) -> TrainOutput {
        let (features, local) = self.global_and_local(x, camera);
        let logits = self.classifier.forward(self.neck(features.clone()));
        let local = match &self.jpm {
            Some(jpm) => local
                .into_iter()
                .zip(jpm.bottlenecks.iter().zip(&jpm.classifiers))
                .map(|(f, (bn, fc))| LocalOutput { logits: fc.forward(batch_norm(bn, f.clone())), features: f })
                .collect(),
            None => Vec::new(),
        };
        TrainOutput { logits, features, local }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BackboneConfig, BlockKind, ResnetConfig};
    use burn::module::Module;
    use burn::tensor::Int;

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
            jpm: None,
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

    fn tiny_vit(jpm: bool) -> ReidConfig {
        let mut vit = crate::backbone::vit::VitConfig::tiny([64, 32], [12, 12]);
        vit.sie = crate::backbone::vit::SieConfig { cameras: 3, views: 0, coe: 3.0 };
        ReidConfig {
            backbone: BackboneConfig::Vit(vit),
            feat_dim: 64,
            jpm: jpm.then(crate::jpm::JpmConfig::default),
            ..tiny()
        }
    }

    #[test]
    fn jpm_concatenates_the_global_and_local_features() {
        let device = Device::flex();
        let config = tiny_vit(true);
        assert_eq!(config.embedding_dim(), 320);
        let mut model = ReidModel::new(&config, &device).unwrap();
        assert_eq!(model.sie_cameras(), 3);
        let x = Tensor::<4>::random([2, 3, 64, 32], burn::tensor::Distribution::Default, &device);
        let cam = || Some(Tensor::<1, Int>::from_ints([2, 0], &device));
        let out = model.forward_train_side(x.clone(), cam());
        assert_eq!((out.logits.dims(), out.features.dims(), out.local.len()), ([2, 3], [2, 64], 4));
        model.neck_feat = NeckFeat::Before;
        let e = model.embed_side(x.clone(), cam());
        assert_eq!(e.dims(), [2, 320]);
        // The test feature before the necks: global, then each local feature / 4, in order.
        let want = Tensor::cat(
            std::iter::once(out.features).chain(out.local.into_iter().map(|l| l.features.div_scalar(4.0))).collect(),
            1,
        );
        let diff: f32 = (e.clone() - want).abs().max().into_scalar();
        assert!(diff < 1e-6, "{diff}");
        // SIE changes the feature: camera 1 instead of 2 for the first sample.
        let other = model.embed_side(x, Some(Tensor::<1, Int>::from_ints([1, 0], &device)));
        let d = (other - e).abs().sum_dim(1).into_data().try_to_vec::<f32>().unwrap();
        assert!(d[0] > 1e-3 && d[1] < 1e-6, "{d:?}");
        assert!(model.check_cameras(&[0, 2]).is_ok());
        let err = model.check_cameras(&[3]).unwrap_err().to_string();
        assert!(err.contains("camera id 3") && err.contains("model.sie_camera"), "{err}");
    }

    #[test]
    fn jpm_needs_a_vit_with_its_width() {
        let err = ReidModel::new(&ReidConfig { jpm: Some(Default::default()), ..tiny() }, &Device::flex()).unwrap_err();
        assert!(err.to_string().contains("model.jpm"), "{err}");
        let err = ReidModel::new(&ReidConfig { feat_dim: 32, ..tiny_vit(true) }, &Device::flex()).unwrap_err();
        assert!(err.to_string().contains("model.feat_dim = 32"), "{err}");
        let model = ReidModel::new(&ReidConfig { feat_dim: 32, ..tiny_vit(false) }, &Device::flex()).unwrap();
        assert!(model.fcneck.is_some() && model.jpm.is_none());
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
