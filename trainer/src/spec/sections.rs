//! The sections of the spec, one struct each, with the defaults and descriptions of the TAO ReIdentificationNet
//! parameter tables.

use crate::choice::{Choice, named_choice};
use crate::data::sampler::SamplerKind;
use crate::optim::OptimizerKind;
use crate::optim::schedule::WarmupMethod;
use reid_models::{Neck, NeckFeat};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::str::FromStr;

/// `model.pretrain_choice`: which pre-trained weights start the training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PretrainChoice {
    /// `imagenet`: an ImageNet-trained backbone from `model.pretrained_model_path`.
    Imagenet,
    /// `self`: a self-supervised ReID backbone (SOLIDER for Swin) from `model.pretrained_model_path`.
    #[default]
    SelfSupervised,
    /// `""` (or `none`, `no`): no pre-trained weights.
    None,
}

impl Choice for PretrainChoice {
    const SPELLINGS: &'static [(&'static str, Self)] = &[
        ("imagenet", PretrainChoice::Imagenet),
        ("self", PretrainChoice::SelfSupervised),
        ("", PretrainChoice::None),
        ("none", PretrainChoice::None),
        ("no", PretrainChoice::None),
    ];
}

named_choice!(PretrainChoice);

impl FromStr for PretrainChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PretrainChoice::from_name(s).ok_or_else(|| PretrainChoice::not_one_of(s))
    }
}

/// `model.neck`: `bnneck`, or `no` (also `""`, `none`) for no neck.
impl Choice for Neck {
    const SPELLINGS: &'static [(&'static str, Self)] =
        &[("bnneck", Neck::Bnneck), ("no", Neck::None), ("", Neck::None), ("none", Neck::None)];
}

/// `model.neck_feat`: which feature of the BNNeck is used for testing, `before` or `after`.
impl Choice for NeckFeat {
    const SPELLINGS: &'static [(&'static str, Self)] = &[("before", NeckFeat::Before), ("after", NeckFeat::After)];
}

/// An empty path (`pretrained_model_path: ""`) is no path.
pub(super) fn empty_path_is_none<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PathBuf>, D::Error> {
    Ok(Option::<PathBuf>::deserialize(deserializer)?.filter(|p| !p.as_os_str().is_empty()))
}

/// `dataset`: data source, batch size and augmentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetSection {
    /// The path to the train images.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub train_dataset_dir: Option<PathBuf>,
    /// The path to the test images.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub test_dataset_dir: Option<PathBuf>,
    /// The path to the query images.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub query_dataset_dir: Option<PathBuf>,
    /// The number of unique person IDs.
    pub num_classes: usize,
    /// The batch size for training.
    pub batch_size: usize,
    /// The batch size for validation.
    pub val_batch_size: usize,
    /// The number of parallel workers processing data (0: load in the calling thread).
    pub num_workers: usize,
    /// The pixel mean for image normalization (one per input channel, on the 0..1 scale).
    pub pixel_mean: Vec<f64>,
    /// The pixel standard deviation for image normalization (one per input channel, on the 0..1 scale).
    pub pixel_std: Vec<f64>,
    /// The pixel padding size around images for image augmentation (0 disables pad-and-crop).
    pub padding: usize,
    /// The random horizontal flipping probability for image augmentation.
    pub prob: f64,
    /// The random erasing probability for image augmentation.
    pub re_prob: f64,
    /// The type of sampler for data loading: `softmax`, `triplet` or `softmax_triplet`.
    pub sampler: SamplerKind,
    /// The number of image instances of the same person in a batch.
    pub num_instances: usize,
    /// Leave out images that do not decode (one warning each, counted in the run's `summary.json`) instead of
    /// stopping; every image of the splits is decoded once before training to find them.
    pub skip_unreadable: bool,
}

impl Default for DatasetSection {
    fn default() -> Self {
        DatasetSection {
            train_dataset_dir: None,
            test_dataset_dir: None,
            query_dataset_dir: None,
            num_classes: 751,
            batch_size: 64,
            val_batch_size: 128,
            num_workers: 8,
            pixel_mean: vec![0.5, 0.5, 0.5],
            pixel_std: vec![0.5, 0.5, 0.5],
            padding: 10,
            prob: 0.5,
            re_prob: 0.5,
            sampler: SamplerKind::SoftmaxTriplet,
            num_instances: 4,
            skip_unreadable: false,
        }
    }
}

/// `re_ranking`: k-reciprocal re-ranking at evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReRankingSection {
    /// A flag that enables the re-ranking module.
    pub re_ranking: bool,
    /// The k used for k-reciprocal nearest neighbors.
    pub k1: usize,
    /// The k used for local query expansion.
    pub k2: usize,
    /// The weight of the original distance in combination with the Jaccard distance.
    pub lambda_value: f64,
}

impl Default for ReRankingSection {
    fn default() -> Self {
        ReRankingSection { re_ranking: true, k1: 20, k2: 6, lambda_value: 0.3 }
    }
}

/// `train.optim`: optimiser, learning-rate schedule, weight decay and loss weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimSection {
    /// The name of the optimizer: `SGD`, `Adam` or `AdamW`.
    pub name: OptimizerKind,
    /// The steps (epochs) to decrease the learning rate for the MultiStep scheduler.
    pub lr_steps: Vec<usize>,
    /// The decay rate for WarmupMultiStepLR.
    pub gamma: f64,
    /// The bias learning rate factor for WarmupMultiStepLR.
    pub bias_lr_factor: f64,
    /// The weight decay coefficient for the optimizer.
    pub weight_decay: f64,
    /// The weight decay of bias parameters.
    pub weight_decay_bias: f64,
    /// The warmup factor for the WarmupMultiStepLR scheduler.
    pub warmup_factor: f64,
    /// The number of warmup epochs for the WarmupMultiStepLR scheduler (TAO's ResNet spec calls it `warmup_iters`).
    pub warmup_epochs: usize,
    /// The warmup method for the optimizer: `cosine` or `linear`.
    pub warmup_method: WarmupMethod,
    /// The initial learning rate for the training.
    pub base_lr: f64,
    /// The momentum for the WarmupMultiStepLR optimizer (SGD).
    pub momentum: f64,
    /// The balanced weight for center loss.
    pub center_loss_weight: f64,
    /// The learning rate for SGD to learn the centers of center loss.
    pub center_lr: f64,
    /// The margin value for triplet loss.
    pub triplet_loss_margin: f64,
    /// A flag specifying whether to enable large fully connected learning rate.
    pub large_fc_lr: bool,
}

impl Default for OptimSection {
    fn default() -> Self {
        OptimSection {
            name: OptimizerKind::Sgd,
            lr_steps: vec![40, 70],
            gamma: 0.1,
            bias_lr_factor: 2.0,
            weight_decay: 0.0001,
            weight_decay_bias: 0.0001,
            warmup_factor: 0.01,
            warmup_epochs: 20,
            warmup_method: WarmupMethod::Cosine,
            base_lr: 0.0008,
            momentum: 0.9,
            center_loss_weight: 0.0005,
            center_lr: 0.5,
            triplet_loss_margin: 0.3,
            large_fc_lr: false,
        }
    }
}

/// `train`: the training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSection {
    /// The configuration for the optimizer, including the learning rate, learning scheduler, weight decay, etc.
    pub optim: OptimSection,
    /// The total number of epochs to run the experiment.
    pub num_epochs: usize,
    /// The interval (epochs) at which the checkpoints are saved.
    pub checkpoint_interval: usize,
    /// The interval (epochs) at which the model is evaluated on the query/test sets during training.
    pub validation_interval: usize,
    /// The amount to clip the gradient by the L2 norm. A value of 0.0 specifies no clipping (TAO's `grad_clip`).
    pub clip_grad_norm: f64,
    /// The random seed of initialisation, sampling and augmentation.
    pub seed: u64,
    /// A list of GPU indices to use for training.
    pub gpu_ids: Vec<usize>,
    /// The number of GPUs to use for training.
    pub num_gpus: usize,
    /// A checkpoint to resume training from.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub resume_training_checkpoint_path: Option<PathBuf>,
    /// The folder for training outputs (default `${results_dir}/train`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub results_dir: Option<PathBuf>,
}

impl Default for TrainSection {
    fn default() -> Self {
        TrainSection {
            optim: OptimSection::default(),
            num_epochs: 120,
            checkpoint_interval: 10,
            validation_interval: 10,
            clip_grad_norm: 0.0,
            seed: 1234,
            gpu_ids: vec![0],
            num_gpus: 1,
            resume_training_checkpoint_path: None,
            results_dir: None,
        }
    }
}

/// `evaluate`: mAP/CMC evaluation of a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluateSection {
    /// The model to be evaluated.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub checkpoint: Option<PathBuf>,
    /// The path to the test (gallery) data (default `dataset.test_dataset_dir`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub test_dataset: Option<PathBuf>,
    /// The path to the query data (default `dataset.query_dataset_dir`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub query_dataset: Option<PathBuf>,
    /// The path to the plotted file of sampled matches.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub output_sampled_matches_plot: Option<PathBuf>,
    /// The path to the plotted file of the CMC curve.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub output_cmc_curve_plot: Option<PathBuf>,
    /// The batch size of feature extraction (default `dataset.val_batch_size`).
    pub batch_size: Option<usize>,
    /// The GPU index used to run evaluation.
    pub gpu_id: usize,
    /// The engine of an `.onnx` checkpoint: `auto` or empty (ONNX Runtime's CPU provider where its library is
    /// found, else tract), `tract`, `ort-cpu`, `cuda`, `tensorrt`.
    pub engine: String,
    /// The folder for evaluation outputs (default `${results_dir}/evaluate`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub results_dir: Option<PathBuf>,
}

/// `inference`: embeddings of the test and query images, written as JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceSection {
    /// The model to perform inference with.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub checkpoint: Option<PathBuf>,
    /// The path to the test (gallery) data (default `dataset.test_dataset_dir`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub test_dataset: Option<PathBuf>,
    /// The path to the query data (default `dataset.query_dataset_dir`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub query_dataset: Option<PathBuf>,
    /// The path to the output JSON file.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub output_file: Option<PathBuf>,
    /// The batch size of feature extraction (default `dataset.val_batch_size`).
    pub batch_size: Option<usize>,
    /// The index of the GPU that will be used to run inference.
    pub gpu_id: usize,
    /// The engine of an `.onnx` checkpoint, as `evaluate.engine`.
    pub engine: String,
    /// The folder for inference outputs (default `${results_dir}/inference`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub results_dir: Option<PathBuf>,
}

/// `export`: the ONNX model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportSection {
    /// The checkpoint to be exported.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub checkpoint: Option<PathBuf>,
    /// The path to save the exported model to (default: the checkpoint's path with the extension `.onnx`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub onnx_file: Option<PathBuf>,
    /// The index of the GPU that will be used to run the export.
    pub gpu_id: usize,
    /// The folder for export outputs (default `${results_dir}/export`).
    #[serde(deserialize_with = "empty_path_is_none")]
    pub results_dir: Option<PathBuf>,
}

impl ExportSection {
    /// `onnx_file`, or the checkpoint's path with the extension `.onnx` (as TAO does), or `model.onnx` in
    /// `results_dir`.
    pub fn onnx_path(&self) -> Option<PathBuf> {
        self.onnx_file
            .clone()
            .or_else(|| self.checkpoint.as_ref().map(|c| c.with_extension("onnx")))
            .or_else(|| self.results_dir.as_ref().map(|r| r.join("model.onnx")))
    }
}
