//! A training run's plan: every setting the loop reads, resolved from the spec once by [`RunPlan::from_spec`]
//! (folders, data, losses, optimiser, schedule, validation, checkpoints, the network). The loop in [`super::run`]
//! reads only the plan; the spec itself travels in it as YAML text, for the copy kept in every checkpoint.
//!
//! The evaluation tasks ([`super::tasks`]) share [`EvalSettings`] and the helpers at the end of this file.

use super::checkpoint;
use super::error::TrainError;
use crate::data::sampler::SamplerKind;
use crate::data::{AugmentConfig, LoaderConfig};
use crate::loss::LossOptions;
use crate::optim::OptimSettings;
use crate::optim::schedule::WarmupMultiStep;
use crate::spec::{PretrainChoice, Spec};
use reid_eval::rerank::RerankParams;
use reid_models::ReidConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Batches prepared ahead of the training step by the loader.
const PREFETCH: usize = 2;

/// Everything a training run reads from its spec.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Folders and files the run reads and writes.
    pub folders: RunFolders,
    /// Training data: sampler, batch shape, loader and augmentation.
    pub data: DataPlan,
    /// The network to build and where its first weights come from.
    pub model: ModelPlan,
    /// Which losses train the network (`dataset.sampler`, `model.*loss*`, margins and weights).
    pub loss: LossOptions,
    /// The center loss's own SGD step.
    pub center: CenterSettings,
    /// Optimiser and parameter groups (`train.optim`).
    pub optim: OptimSettings,
    /// The learning rate of each epoch.
    pub schedule: WarmupMultiStep,
    /// `train.clip_grad_norm` (0: no clipping).
    pub clip_grad_norm: f64,
    /// `train.seed`: initial weights, batches and augmentation.
    pub seed: u64,
    /// `train.num_epochs`.
    pub num_epochs: usize,
    /// `train.checkpoint_interval`: a checkpoint every that many epochs (and after the last).
    pub checkpoint_interval: usize,
    /// `train.validation_interval`: validation every that many epochs (and after the last); 0 never.
    pub validation_interval: usize,
    /// How validation embeds and scores the query/test folders.
    pub eval: EvalSettings,
    /// `train.gpu_ids`: the CUDA devices of a `cuda` build.
    pub gpu_ids: Vec<usize>,
    /// Remarks about the spec for the log ([`Spec::notes`]).
    pub notes: Vec<String>,
    /// The resolved spec as YAML, saved in every checkpoint and next to the results.
    pub spec_yaml: String,
}

/// The folders and files of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFolders {
    /// `train.results_dir`, else `results_dir/train`, else `./results/train`.
    pub results: PathBuf,
    /// `<results>/checkpoints`: one folder per saved epoch.
    pub checkpoints: PathBuf,
    /// `dataset.train_dataset_dir`.
    pub train: PathBuf,
    /// `dataset.query_dataset_dir` and `dataset.test_dataset_dir`, when both are set (training validates then).
    pub query_test: Option<(PathBuf, PathBuf)>,
    /// The checkpoint folder to resume from: `train.resume_training_checkpoint_path`, else (as TAO does) the newest
    /// complete checkpoint under `checkpoints`, found when the plan is made.
    pub resume: Option<PathBuf>,
    /// `<results>/metrics.jsonl`: one line per epoch.
    pub metrics: PathBuf,
    /// `<results>/model_best.safetensors`: the network with the best validation mAP.
    pub best_model: PathBuf,
    /// `<results>/model_last.safetensors`: the final network.
    pub last_model: PathBuf,
    /// `<results>/spec.yaml`: the resolved spec.
    pub spec_file: PathBuf,
}

/// How training batches are drawn and loaded.
#[derive(Clone, Debug)]
pub struct DataPlan {
    /// `dataset.sampler`.
    pub sampler: SamplerKind,
    /// `dataset.batch_size`.
    pub batch_size: usize,
    /// `dataset.num_instances` (K of P x K batches).
    pub num_instances: usize,
    /// Images of one identity that stay on one device when a batch is split across devices (K, or 1 when
    /// batches are not identity-batched).
    pub identity_chunk: usize,
    /// `dataset.num_classes`, the identities the spec expects (the training folder decides the classifier width).
    pub declared_classes: usize,
    /// `dataset.skip_unreadable`: leave out images that do not decode.
    pub skip_unreadable: bool,
    /// Decoding threads (`dataset.num_workers`, at least 1), prefetch and the training augmentation.
    pub loader: LoaderConfig,
}

/// The network of a run.
#[derive(Clone, Debug)]
pub struct ModelPlan {
    /// The `model` section's configuration, with `dataset.num_classes` identities until the training folder is
    /// read (see [`ModelPlan::config`]).
    pub config: ReidConfig,
    /// `model.backbone` as written, kept in the metadata of every network file.
    pub backbone: String,
    /// `model.pretrained_model_path`, when `model.pretrain_choice` asks for pre-trained weights.
    pub pretrained: Option<PathBuf>,
    /// `model.sie_camera` with a ViT: the network takes camera ids, the training folder says how many.
    pub sie_camera: bool,
}

impl ModelPlan {
    /// The configuration with a classifier of `num_classes` identities and, with [`ModelPlan::sie_camera`], a
    /// camera embedding of `cameras` rows.
    pub fn config(&self, num_classes: usize, cameras: usize) -> Result<ReidConfig, TrainError> {
        let mut config = ReidConfig { num_classes, ..self.config.clone() };
        if let (true, reid_models::BackboneConfig::Vit(v)) = (self.sie_camera, &mut config.backbone) {
            v.sie.cameras = cameras;
        }
        config.validate()?;
        Ok(config)
    }

    /// Whether the training forward draws random numbers (stochastic depth of a ViT or Swin).
    pub fn draws_random(&self) -> bool {
        match &self.config.backbone {
            reid_models::BackboneConfig::Vit(v) => v.drop_path_rate > 0.0,
            reid_models::BackboneConfig::Swin(s) => s.drop_path_rate > 0.0,
            reid_models::BackboneConfig::Resnet(_) => false,
        }
    }

    /// The metadata saved with a network: epoch, classifier width, backbone.
    pub fn metadata(&self, epoch: usize, num_classes: usize) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("reid.epoch".to_owned(), epoch.to_string()),
            ("reid.num_classes".to_owned(), num_classes.to_string()),
            ("reid.backbone".to_owned(), self.backbone.clone()),
        ])
    }
}

/// The center loss's SGD step on its centers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CenterSettings {
    /// `train.optim.center_loss_weight` (the step undoes it, as the baseline does).
    pub weight: f64,
    /// `train.optim.center_lr`.
    pub lr: f64,
}

/// How a network is evaluated on query/test folders: by validation during training and by `evaluate`/`inference`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalSettings {
    /// The evaluation transform (resize and normalise).
    pub augment: AugmentConfig,
    /// `dataset.val_batch_size` (at least 1).
    pub batch_size: usize,
    /// `dataset.num_workers` (at least 1).
    pub workers: usize,
    /// `model.with_flip_feature`: average each image's embedding with its mirror's.
    pub flip: bool,
    /// `re_ranking`, when on. `evaluate` re-ranks with it; validation during training scores without re-ranking.
    pub rerank: Option<RerankParams>,
}

impl EvalSettings {
    /// The evaluation settings of a spec.
    pub fn from_spec(spec: &Spec) -> EvalSettings {
        EvalSettings {
            augment: eval_augment(spec),
            batch_size: spec.dataset.val_batch_size.max(1),
            workers: spec.dataset.num_workers.max(1),
            flip: spec.model.with_flip_feature,
            rerank: rerank(spec),
        }
    }

    /// The network input `[height, width]`.
    pub fn hw(&self) -> [usize; 2] {
        [self.augment.height as usize, self.augment.width as usize]
    }
}

impl RunPlan {
    /// Resolves a spec into a plan. Fails when `dataset.train_dataset_dir` is not set, or the spec cannot be
    /// written back as YAML. Reads the file system only to find the checkpoint to resume from.
    pub fn from_spec(spec: &Spec) -> Result<RunPlan, TrainError> {
        let (m, d, t) = (&spec.model, &spec.dataset, &spec.train);
        let o = &t.optim;
        let results = section_dir(spec, t.results_dir.as_deref(), "train");
        let checkpoints = results.join("checkpoints");
        let resume = t
            .resume_training_checkpoint_path
            .as_deref()
            .map(checkpoint::checkpoint_dir)
            .or_else(|| checkpoint::latest(&checkpoints));
        let folders = RunFolders {
            train: required(&d.train_dataset_dir, "dataset.train_dataset_dir")?,
            query_test: d.query_dataset_dir.clone().zip(d.test_dataset_dir.clone()),
            resume,
            metrics: results.join("metrics.jsonl"),
            best_model: results.join("model_best.safetensors"),
            last_model: results.join("model_last.safetensors"),
            spec_file: results.join("spec.yaml"),
            checkpoints,
            results,
        };
        let data = DataPlan {
            sampler: d.sampler,
            batch_size: d.batch_size,
            num_instances: d.num_instances,
            identity_chunk: if d.sampler.is_identity_batched() { d.num_instances } else { 1 },
            declared_classes: d.num_classes,
            skip_unreadable: d.skip_unreadable,
            loader: LoaderConfig { augment: train_augment(spec), workers: d.num_workers.max(1), prefetch: PREFETCH },
        };
        let model = ModelPlan {
            config: spec.reid_config(d.num_classes, 0)?,
            backbone: m.backbone.clone(),
            pretrained: m.pretrained_model_path.clone().filter(|_| m.pretrain_choice != PretrainChoice::None),
            sie_camera: m.is_vit() && m.sie_camera,
        };
        let loss = LossOptions {
            sampler: d.sampler,
            metric_loss_type: m.metric_loss_type,
            with_center_loss: m.with_center_loss,
            label_smooth: m.label_smooth,
            no_margin: m.no_margin,
            triplet_loss_margin: o.triplet_loss_margin as f32,
            center_loss_weight: o.center_loss_weight as f32,
        };
        let optim = OptimSettings {
            kind: o.name,
            momentum: o.momentum,
            weight_decay: o.weight_decay,
            weight_decay_bias: o.weight_decay_bias,
            bias_lr_factor: o.bias_lr_factor,
            large_fc_lr: o.large_fc_lr,
        };
        let schedule = WarmupMultiStep {
            base_lr: o.base_lr,
            lr_steps: o.lr_steps.clone(),
            gamma: o.gamma,
            warmup_factor: o.warmup_factor,
            warmup_epochs: o.warmup_epochs,
            method: o.warmup_method,
            num_epochs: t.num_epochs,
        };
        Ok(RunPlan {
            folders,
            data,
            model,
            loss,
            center: CenterSettings { weight: o.center_loss_weight, lr: o.center_lr },
            optim,
            schedule,
            clip_grad_norm: t.clip_grad_norm,
            seed: t.seed,
            num_epochs: t.num_epochs,
            checkpoint_interval: t.checkpoint_interval,
            validation_interval: t.validation_interval,
            eval: EvalSettings::from_spec(spec),
            gpu_ids: t.gpu_ids.clone(),
            notes: spec.notes(),
            spec_yaml: spec.to_yaml()?,
        })
    }

    /// Whether epoch `epoch` (1-based) ends with a validation.
    pub fn validates_after(&self, epoch: usize) -> bool {
        self.validation_interval > 0 && (epoch.is_multiple_of(self.validation_interval) || epoch == self.num_epochs)
    }

    /// Whether epoch `epoch` (1-based) ends with a checkpoint.
    pub fn checkpoints_after(&self, epoch: usize) -> bool {
        (self.checkpoint_interval > 0 && epoch.is_multiple_of(self.checkpoint_interval)) || epoch == self.num_epochs
    }
}

/// A spec folder key, or an error naming it.
pub fn required(value: &Option<PathBuf>, key: &'static str) -> Result<PathBuf, TrainError> {
    value.clone().ok_or_else(|| TrainError::Missing { key, hint: format!(" (set it in the spec or pass {key}=PATH)") })
}

/// The three channel values of a `pixel_mean`/`pixel_std` list (validated to have `input_channels` entries).
fn triple(v: &[f64]) -> [f32; 3] {
    let at = |i: usize| v.get(i).or(v.last()).copied().unwrap_or(0.0) as f32;
    [at(0), at(1), at(2)]
}

/// The evaluation transform of a spec (resize and normalise; no augmentation).
pub fn eval_augment(spec: &Spec) -> AugmentConfig {
    AugmentConfig {
        height: spec.model.input_height as u32,
        width: spec.model.input_width as u32,
        padding: 0,
        flip_prob: 0.0,
        re_prob: 0.0,
        mean: triple(&spec.dataset.pixel_mean),
        std: triple(&spec.dataset.pixel_std),
    }
}

/// The training transform of a spec.
pub fn train_augment(spec: &Spec) -> AugmentConfig {
    AugmentConfig {
        padding: spec.dataset.padding as u32,
        flip_prob: spec.dataset.prob,
        re_prob: spec.dataset.re_prob,
        ..eval_augment(spec)
    }
}

/// Re-ranking parameters when the spec turns re-ranking on.
pub fn rerank(spec: &Spec) -> Option<RerankParams> {
    let r = &spec.re_ranking;
    r.re_ranking.then_some(RerankParams { k1: r.k1, k2: r.k2, lambda: r.lambda_value })
}

/// `section.results_dir`, else `results_dir/<section>`, else `./results/<section>`.
pub fn section_dir(spec: &Spec, section: Option<&Path>, name: &str) -> PathBuf {
    match (section, &spec.results_dir) {
        (Some(dir), _) => dir.to_owned(),
        (None, Some(root)) => root.join(name),
        (None, None) => PathBuf::from("results").join(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::OptimizerKind;
    use crate::optim::schedule::WarmupMethod;

    fn spec(extra: &[&str]) -> Spec {
        let text = "results_dir: /r\nmodel:\n  backbone: resnet_18\n  input_width: 32\n  input_height: 64\n  \
                    pretrained_model_path: /w.pth\ndataset:\n  train_dataset_dir: /d/train\n  \
                    query_dataset_dir: /d/query\n  test_dataset_dir: /d/test\n  sampler: triplet\n  \
                    batch_size: 8\n  num_instances: 2\ntrain:\n  num_epochs: 7\n  validation_interval: 3\n  \
                    checkpoint_interval: 2\n  optim:\n    name: adamw\n    warmup_method: linear\n";
        let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Spec::parse(text, "plan.yaml", &overrides).unwrap()
    }

    #[test]
    fn a_plan_holds_what_the_loop_reads() {
        let plan = RunPlan::from_spec(&spec(&[])).unwrap();
        let f = &plan.folders;
        assert_eq!(f.results, Path::new("/r/train"));
        assert_eq!(f.checkpoints, Path::new("/r/train/checkpoints"));
        assert_eq!(f.metrics, Path::new("/r/train/metrics.jsonl"));
        assert_eq!(f.train, Path::new("/d/train"));
        assert_eq!(f.query_test, Some((PathBuf::from("/d/query"), PathBuf::from("/d/test"))));
        assert_eq!(f.resume, None, "no checkpoint under /r/train/checkpoints");
        assert_eq!((plan.data.sampler, plan.data.identity_chunk), (SamplerKind::Triplet, 2));
        assert_eq!((plan.loss.sampler, plan.optim.kind), (SamplerKind::Triplet, OptimizerKind::AdamW));
        assert_eq!((plan.schedule.method, plan.schedule.num_epochs), (WarmupMethod::Linear, 7));
        assert_eq!((plan.data.loader.augment.height, plan.eval.hw()), (64, [64, 32]));
        assert_eq!(plan.model.pretrained.as_deref(), Some(Path::new("/w.pth")));
        let validates: Vec<usize> = (1..=7).filter(|&e| plan.validates_after(e)).collect();
        let saves: Vec<usize> = (1..=7).filter(|&e| plan.checkpoints_after(e)).collect();
        assert_eq!((validates, saves), (vec![3, 6, 7], vec![2, 4, 6, 7]));
        assert_eq!(plan.model.metadata(3, 5)["reid.backbone"], "resnet_18");
        assert!(plan.spec_yaml.contains("sampler: triplet"), "{}", plan.spec_yaml);

        let plan = RunPlan::from_spec(&spec(&["model.pretrain_choice=''", "dataset.sampler=softmax"])).unwrap();
        assert_eq!(plan.model.pretrained, None, "pretrain_choice \"\" loads no weights");
        assert_eq!(plan.data.identity_chunk, 1);
        let err = RunPlan::from_spec(&spec(&["~dataset.train_dataset_dir"])).unwrap_err().to_string();
        assert!(err.contains("dataset.train_dataset_dir is required"), "{err}");
    }
}
