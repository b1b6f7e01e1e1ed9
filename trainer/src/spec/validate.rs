//! Range and consistency checks of a typed spec, and notes about keys that do not apply.

use super::Spec;
use super::error::SpecError;
use super::model::{JPM_KEYS, VIT_KEYS};
use super::sections::PretrainChoice;
use crate::optim::OptimizerKind;
use crate::optim::schedule::WarmupMethod;
use std::fmt::Display;

struct Check<'a> {
    spec: &'a Spec,
}

impl Check<'_> {
    fn fail(&self, key: &str, value: impl Display, message: impl Display) -> SpecError {
        SpecError::Invalid {
            key: key.to_owned(),
            value: value.to_string(),
            message: message.to_string(),
            location: self.spec.location(key).cloned(),
        }
    }

    fn at_least(&self, key: &str, value: usize, min: usize) -> Result<(), SpecError> {
        if value < min { Err(self.fail(key, value, format_args!("must be >= {min}"))) } else { Ok(()) }
    }

    fn positive(&self, key: &str, value: f64) -> Result<(), SpecError> {
        if value > 0.0 && value.is_finite() { Ok(()) } else { Err(self.fail(key, value, "must be > 0")) }
    }

    fn non_negative(&self, key: &str, value: f64) -> Result<(), SpecError> {
        if value >= 0.0 && value.is_finite() { Ok(()) } else { Err(self.fail(key, value, "must be >= 0")) }
    }

    /// `lo <= value <= hi`.
    fn closed(&self, key: &str, value: f64, lo: f64, hi: f64) -> Result<(), SpecError> {
        if value >= lo && value <= hi {
            Ok(())
        } else {
            Err(self.fail(key, value, format_args!("is out of range [{lo}, {hi}]")))
        }
    }

    /// `lo < value <= hi`.
    fn open_closed(&self, key: &str, value: f64, lo: f64, hi: f64) -> Result<(), SpecError> {
        if value > lo && value <= hi {
            Ok(())
        } else {
            Err(self.fail(key, value, format_args!("is out of range ({lo}, {hi}]")))
        }
    }

    /// `lo <= value < hi`.
    fn closed_open(&self, key: &str, value: f64, lo: f64, hi: f64) -> Result<(), SpecError> {
        if value >= lo && value < hi {
            Ok(())
        } else {
            Err(self.fail(key, value, format_args!("is out of range [{lo}, {hi})")))
        }
    }
}

fn list<T: Display>(values: &[T]) -> String {
    let items: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

pub(crate) fn validate(spec: &Spec) -> Result<(), SpecError> {
    let c = Check { spec };
    let (m, d, r, t) = (&spec.model, &spec.dataset, &spec.re_ranking, &spec.train);
    let o = &t.optim;

    // model
    c.at_least("model.last_stride", m.last_stride, 1)?;
    if m.input_channels != 3 {
        return Err(c.fail(
            "model.input_channels",
            m.input_channels,
            "is not supported: only 3 (RGB) is; images are read, augmented, exported and embedded as RGB",
        ));
    }
    c.at_least("model.input_width", m.input_width, 1)?;
    c.at_least("model.input_height", m.input_height, 1)?;
    c.at_least("model.feat_dim", m.feat_dim, 1)?;
    if m.stride_size.len() != 2 || m.stride_size.contains(&0) {
        return Err(c.fail("model.stride_size", list(&m.stride_size), "must be two positive integers [height, width]"));
    }
    c.positive("model.pretrain_hw_ratio", m.pretrain_hw_ratio)?;
    c.closed_open("model.drop_path", m.drop_path, 0.0, 1.0)?;
    if !m.sie_coe.is_finite() {
        return Err(c.fail("model.sie_coe", m.sie_coe, "must be a finite number (3.0 in TransReID's configs)"));
    }

    for (key, value) in [("evaluate.engine", &spec.evaluate.engine), ("inference.engine", &spec.inference.engine)] {
        if let Err(message) = crate::train::tasks::engine_kind(value) {
            return Err(c.fail(key, value, message));
        }
    }

    // dataset
    c.at_least("dataset.num_classes", d.num_classes, 1)?;
    c.at_least("dataset.batch_size", d.batch_size, 1)?;
    c.at_least("dataset.val_batch_size", d.val_batch_size, 1)?;
    for (key, values) in [("dataset.pixel_mean", &d.pixel_mean), ("dataset.pixel_std", &d.pixel_std)] {
        if values.len() != m.input_channels {
            return Err(c.fail(
                key,
                list(values),
                format_args!("must have one value per input channel (model.input_channels = {})", m.input_channels),
            ));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(c.fail(key, list(values), "must hold finite numbers"));
        }
    }
    if d.pixel_std.iter().any(|&s| s <= 0.0) {
        return Err(c.fail("dataset.pixel_std", list(&d.pixel_std), "must be > 0 in every channel"));
    }
    c.closed("dataset.prob", d.prob, 0.0, 1.0)?;
    c.closed("dataset.re_prob", d.re_prob, 0.0, 1.0)?;
    c.at_least("dataset.num_instances", d.num_instances, 1)?;
    if d.sampler.is_identity_batched() {
        if d.num_instances < 2 {
            return Err(c.fail(
                "dataset.num_instances",
                d.num_instances,
                format_args!("must be >= 2 with sampler {} (a triplet needs two images of an identity)", d.sampler),
            ));
        }
        if !d.batch_size.is_multiple_of(d.num_instances) {
            return Err(c.fail(
                "dataset.num_instances",
                d.num_instances,
                format_args!(
                    "must divide dataset.batch_size = {} with sampler {} (batches are identities x instances)",
                    d.batch_size, d.sampler
                ),
            ));
        }
    }

    // re_ranking
    c.at_least("re_ranking.k1", r.k1, 1)?;
    c.at_least("re_ranking.k2", r.k2, 1)?;
    c.closed("re_ranking.lambda_value", r.lambda_value, 0.0, 1.0)?;

    // train
    c.at_least("train.num_epochs", t.num_epochs, 1)?;
    c.at_least("train.checkpoint_interval", t.checkpoint_interval, 1)?;
    c.at_least("train.validation_interval", t.validation_interval, 1)?;
    c.non_negative("train.clip_grad_norm", t.clip_grad_norm)?;
    c.at_least("train.num_gpus", t.num_gpus, 1)?;
    if t.gpu_ids.is_empty() {
        return Err(c.fail("train.gpu_ids", "[]", "must name at least one GPU"));
    }

    // train.optim
    if o.lr_steps.contains(&0) {
        return Err(c.fail("train.optim.lr_steps", list(&o.lr_steps), "must be epochs >= 1"));
    }
    if o.lr_steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err(c.fail("train.optim.lr_steps", list(&o.lr_steps), "must be strictly ascending"));
    }
    c.open_closed("train.optim.gamma", o.gamma, 0.0, 1.0)?;
    if !(o.bias_lr_factor >= 1.0 && o.bias_lr_factor.is_finite()) {
        return Err(c.fail("train.optim.bias_lr_factor", o.bias_lr_factor, "must be >= 1"));
    }
    c.non_negative("train.optim.weight_decay", o.weight_decay)?;
    c.non_negative("train.optim.weight_decay_bias", o.weight_decay_bias)?;
    c.open_closed("train.optim.warmup_factor", o.warmup_factor, 0.0, 1.0)?;
    c.positive("train.optim.base_lr", o.base_lr)?;
    c.closed_open("train.optim.momentum", o.momentum, 0.0, 1.0)?;
    c.non_negative("train.optim.center_loss_weight", o.center_loss_weight)?;
    c.positive("train.optim.center_lr", o.center_lr)?;
    c.positive("train.optim.triplet_loss_margin", o.triplet_loss_margin)?;

    // evaluate, inference
    for (key, batch) in
        [("evaluate.batch_size", spec.evaluate.batch_size), ("inference.batch_size", spec.inference.batch_size)]
    {
        if let Some(batch) = batch {
            c.at_least(key, batch, 1)?;
        }
    }

    // The network's own rules (known backbone, sizes the backbone can take, last_stride of a ResNet).
    // The camera count is the training split's, known when training starts; any count validates the same.
    spec.reid_config(d.num_classes, 0)?;
    Ok(())
}

/// Keys that are accepted but have no effect with the rest of the spec, and similar remarks for the log.
pub(crate) fn notes(spec: &Spec) -> Vec<String> {
    let mut notes = spec.alias_notes.clone();
    let (m, d, r, t) = (&spec.model, &spec.dataset, &spec.re_ranking, &spec.train);
    let o = &t.optim;
    let set = |key: &str| spec.is_set(key);
    let backbone = &m.backbone;

    model_notes(spec, &mut notes);
    if !m.is_resnet() && set("model.last_stride") {
        notes.push(format!("model.last_stride applies to ResNet backbones only; ignored for {backbone}"));
    }
    match (m.pretrain_choice, &m.pretrained_model_path) {
        (PretrainChoice::None, Some(_)) if set("model.pretrained_model_path") => notes.push(
            "model.pretrained_model_path is ignored: model.pretrain_choice is \"\" (no pre-trained weights)".to_owned(),
        ),
        (choice @ (PretrainChoice::Imagenet | PretrainChoice::SelfSupervised), None) => notes.push(format!(
            "model.pretrain_choice = {choice} but model.pretrained_model_path is not set: no weights to load"
        )),
        _ => {}
    }
    if !m.metric_loss_type.has_triplet() || !d.sampler.is_identity_batched() {
        for key in ["model.no_margin", "train.optim.triplet_loss_margin"] {
            if set(key) {
                notes.push(format!(
                    "{key} applies to the triplet loss, which model.metric_loss_type = {} with dataset.sampler = {} \
                     does not use; ignored",
                    m.metric_loss_type, d.sampler
                ));
            }
        }
    } else if m.no_margin && set("train.optim.triplet_loss_margin") {
        notes.push(
            "train.optim.triplet_loss_margin is unused: model.no_margin = True selects the soft-margin triplet loss"
                .to_owned(),
        );
    }
    if !m.uses_center_loss() {
        for key in ["train.optim.center_loss_weight", "train.optim.center_lr"] {
            if set(key) {
                notes.push(format!(
                    "{key} applies to the center loss, which is off (model.with_center_loss = False, \
                     model.metric_loss_type = {}); ignored",
                    m.metric_loss_type
                ));
            }
        }
    }
    if o.name != OptimizerKind::Sgd && set("train.optim.momentum") {
        notes.push(format!("train.optim.momentum applies to SGD only; ignored with {}", o.name));
    }
    if !d.sampler.is_identity_batched() && set("dataset.num_instances") {
        notes.push(
            "dataset.num_instances applies to the triplet samplers only; ignored with sampler softmax".to_owned(),
        );
    }
    if !r.re_ranking {
        for key in ["re_ranking.k1", "re_ranking.k2", "re_ranking.lambda_value"] {
            if set(key) {
                notes.push(format!("{key} is unused: re_ranking.re_ranking = False"));
            }
        }
    }
    let late: Vec<usize> = o.lr_steps.iter().copied().filter(|&s| s >= t.num_epochs).collect();
    if o.warmup_method != WarmupMethod::Linear {
        for key in ["train.optim.lr_steps", "train.optim.gamma"].into_iter().filter(|k| set(k)) {
            notes.push(format!(
                "{key} applies to warmup_method linear (multi-step) only; ignored with {}",
                o.warmup_method
            ));
        }
    } else if !late.is_empty() {
        notes.push(format!(
            "train.optim.lr_steps {} are not before train.num_epochs = {}; they never apply",
            list(&late),
            t.num_epochs
        ));
    }
    if o.warmup_epochs >= t.num_epochs {
        notes.push(format!(
            "train.optim.warmup_epochs = {} >= train.num_epochs = {}: the whole run is warm-up",
            o.warmup_epochs, t.num_epochs
        ));
    }
    if spec.encryption_key.is_some() {
        notes.push("encryption_key is accepted for TAO compatibility but unused: nothing is encrypted".to_owned());
    }
    notes
}

/// Notes on the ViT, SIE, JPM, drop-path and `pretrain_hw_ratio` keys of the `model` section.
fn model_notes(spec: &Spec, notes: &mut Vec<String>) {
    let m = &spec.model;
    let set = |key: &str| spec.is_set(key);
    let backbone = &m.backbone;
    if !m.is_vit() {
        for key in VIT_KEYS.into_iter().filter(|k| set(k)) {
            notes.push(format!("{key} applies to ViT backbones only; ignored for {backbone}"));
        }
        if m.is_resnet() && set("model.drop_path") {
            notes.push(format!("model.drop_path applies to ViT and Swin backbones only; ignored for {backbone}"));
        }
    } else {
        if !m.jpm {
            for key in JPM_KEYS.into_iter().filter(|k| set(k)) {
                notes.push(format!(
                    "{key} applies to the jigsaw patch module, which is off (model.jpm = False); ignored"
                ));
            }
        } else if !m.re_arrange {
            for key in ["model.shift_num", "model.shuffle_group"].into_iter().filter(|k| set(k)) {
                notes.push(format!(
                    "{key} is unused: model.re_arrange = False slices the patches in order, without shift and shuffle"
                ));
            }
        }
        if m.sie_view {
            notes.push(
                "model.sie_view is ignored: the dataset formats read here (Market-1501 names, a folder per identity) \
                 carry no viewpoint labels, so no view embedding is built"
                    .to_owned(),
            );
        }
        if !m.sie_camera && set("model.sie_coe") {
            notes.push("model.sie_coe is unused: no side information embedding (model.sie_camera = False)".to_owned());
        }
    }
    if set("model.pretrain_hw_ratio") {
        notes.push(if m.is_vit() {
            "model.pretrain_hw_ratio has no effect: a pretrained ViT position grid is resized only when it is square \
             (TransReID's resize_pos_embed); SOLIDER-REID's hw_ratio for non-square pretrained grids is not \
             implemented"
                .to_owned()
        } else {
            format!(
                "model.pretrain_hw_ratio has no effect for {backbone}: SOLIDER-REID reads it only when loading an \
                 ImageNet ViT with JPM (model/make_model.py build_transformer_local: \
                 self.base.load_param(model_path, hw_ratio=cfg.MODEL.PRETRAIN_HW_RATIO)), where resize_pos_embed \
                 (model/backbones/vit_pytorch.py) takes the pretrained position grid as int(sqrt(N * ratio)) x \
                 that // ratio; its Swin loads through SwinTransformer.init_weights, which never reads it"
            )
        });
    }
}
