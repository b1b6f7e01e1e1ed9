//! Applying a checkpoint to a network: every parameter the network needs must be present with the right
//! shape; what the checkpoint holds beyond that is reported by name. For a TransReID ViT the position embedding
//! is fitted to the patch grid and, from ImageNet weights, JPM's branches are copied from the last block and
//! norm, as TransReID's `build_transformer_local` does after `load_param` (github.com/damo-cv/TransReID).

use super::layout::{Canonical, Layout, canonicalize};
use super::{Checkpoint, module_to_torch, torch_to_module, transreid};
use crate::backbone::Backbone;
use crate::backbone::vit::load::fit_pos_embed;
use crate::config::BackboneConfig;
use crate::error::ModelError;
use crate::reid::ReidModel;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter};
use burn::tensor::TensorData;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `expected` parameters (name, PyTorch shape) absent from `offered`, in order; a present one of another
/// shape is an error naming `path` and the key (as `name` shows it). Shared by every checkpoint loader.
pub(crate) fn missing_parameters<'a>(
    path: &Path,
    expected: impl IntoIterator<Item = (&'a String, &'a Vec<usize>)>,
    offered: &BTreeMap<String, TensorData>,
    name: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, ModelError> {
    let mut missing = Vec::new();
    for (key, shape) in expected {
        match offered.get(key) {
            None => missing.push(key.clone()),
            Some(t) if t.shape().to_vec() != *shape => {
                return Err(ModelError::Shape {
                    path: path.to_owned(),
                    key: name(key),
                    found: t.shape().to_vec(),
                    expected: shape.clone(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(missing)
}

/// The error for parameters `missing` (as they are to be shown) from the checkpoint `path`.
pub(crate) fn missing_error(path: &Path, architecture: String, missing: &[String], hint: String) -> ModelError {
    ModelError::Missing {
        path: path.to_owned(),
        architecture,
        missing: missing.len(),
        examples: missing.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
        hint,
    }
}

/// Writes `tensors` (PyTorch names and layouts, all of them parameters of `module`) into `module`; returns how
/// many.
pub(crate) fn apply_tensors<M: ModuleSnapshot>(
    module: &mut M,
    path: &Path,
    tensors: BTreeMap<String, TensorData>,
) -> Result<usize, ModelError> {
    let packs: Vec<_> =
        tensors.into_iter().map(|(k, v)| burn::store::bridge::from_data(v, torch_to_module(&k), None)).collect();
    let loaded = packs.len();
    let result = module.apply(packs, None, Some(Box::new(PyTorchToBurnAdapter)), true);
    match result.errors.first() {
        Some(e) => Err(ModelError::Checkpoint { path: path.to_owned(), message: format!("{e:?}") }),
        None => Ok(loaded),
    }
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportReport {
    /// The file.
    pub path: PathBuf,
    /// Its recognised layout.
    pub layout: Layout,
    /// Its backbone's layout.
    pub backbone_layout: Layout,
    /// Parameters loaded.
    pub loaded: usize,
    /// Keys known not to be parameters of this model (pretraining heads, BN counters, index buffers, masks).
    pub ignored: Vec<String>,
    /// Keys the model has no place for and that are not known extras.
    pub unexpected: Vec<String>,
    /// Parameters the file does not hold that keep their values (the SIE table, from weights pretrained
    /// without one, as TransReID's `load_param` copies only what the file holds).
    pub kept: Vec<String>,
    /// The file's `pos_embed` token count when it was fitted to the patch grid (resized, or a distilled DeiT's
    /// distillation row dropped).
    pub resized_pos_embed: Option<usize>,
    /// Whether JPM's global and local branches were copied from the backbone's last block and norm.
    pub branches_from_last_block: bool,
}

/// What part of the network an import fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Backbone only (`pretrain_choice: imagenet | self`), and JPM's branches.
    Backbone,
    /// The whole network (a trained ReID checkpoint).
    All,
}

/// `base.blocks.{last}.*` and `base.norm.*` of `offered` copied to `jpm.b1.*` and `jpm.b2.*`.
fn copy_last_block_into_branches(offered: &mut BTreeMap<String, TensorData>, depth: usize) {
    let last = format!("base.blocks.{}.", depth.saturating_sub(1));
    let mut copies = Vec::new();
    for (k, v) in offered.iter() {
        let part = match (k.strip_prefix(&last), k.strip_prefix("base.norm.")) {
            (Some(r), _) => format!("block.{r}"),
            (None, Some(r)) => format!("norm.{r}"),
            _ => continue,
        };
        for b in ["b1", "b2"] {
            copies.push((format!("jpm.{b}.{part}"), v.clone()));
        }
    }
    offered.extend(copies);
}

fn is_branch(name: &str) -> bool {
    name.starts_with("jpm.b1.") || name.starts_with("jpm.b2.")
}

impl ReidModel {
    /// The parameters this network holds, by PyTorch name, with their PyTorch shapes.
    pub fn parameter_shapes(&self) -> BTreeMap<String, Vec<usize>> {
        self.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
            .into_iter()
            .map(|t| (module_to_torch(&t.name), t.shape.to_vec()))
            .collect()
    }

    /// Loads backbone weights from an ImageNet or self-supervised checkpoint (torchvision ResNet; timm,
    /// Microsoft or SOLIDER/mmdet Swin; timm / DeiT / TransReID ViT; or the `base.*` part of a ReID network).
    /// For a ViT the position embedding is resized to the patch grid and an SIE table the file lacks keeps its
    /// values; with JPM the branches come from the file's (a TransReID network) or are copied from the last
    /// block and norm. The BNNecks and classifiers keep their values.
    pub fn load_pretrained(&mut self, path: &Path, backbone: &BackboneConfig) -> Result<ImportReport, ModelError> {
        self.import(path, Scope::Backbone, backbone)
    }

    /// Loads a whole trained network (backbone, neck, classifier, JPM) saved by [`ReidModel::save_safetensors`],
    /// by TransReID (`b1.*`, `bottleneck_1..4`, `classifier_1..4`; `module.` prefixes stripped) or by a PyTorch
    /// ReID toolbox with the same names.
    pub fn load_checkpoint(&mut self, path: &Path, backbone: &BackboneConfig) -> Result<ImportReport, ModelError> {
        self.import(path, Scope::All, backbone)
    }

    fn architecture(&self, backbone: &BackboneConfig) -> String {
        match (backbone, &self.base) {
            (BackboneConfig::Resnet(r), _) => {
                format!("ResNet ({:?} blocks {:?}, width {})", r.block, r.layers, r.width)
            }
            (BackboneConfig::Swin(s), _) => format!("Swin (embed {}, depths {:?})", s.embed_dim, s.depths),
            (BackboneConfig::Vit(_), Backbone::Vit(v)) => match &self.jpm {
                Some(j) => format!("{} with JPM (devide_length {})", v.describe(), j.config.devide_length),
                None => v.describe(),
            },
            (BackboneConfig::Vit(v), _) => format!("TransReID ViT (width {}, depth {})", v.embed_dim, v.depth),
        }
    }

    fn import(&mut self, path: &Path, scope: Scope, backbone: &BackboneConfig) -> Result<ImportReport, ModelError> {
        let ckpt = Checkpoint::open(path)?;
        let Canonical { layout, backbone_layout, backbone: bb, head, renamed, ignored } =
            canonicalize(path, ckpt.tensors)?;
        let mut offered: BTreeMap<String, TensorData> = bb.into_iter().map(|(k, v)| (format!("base.{k}"), v)).collect();
        let expected = self.parameter_shapes();
        let architecture = self.architecture(backbone);
        let mut resized_pos_embed = None;
        if let (Backbone::Vit(vit), Some(want)) = (&self.base, expected.get("base.pos_embed")) {
            let prefix = if ignored.iter().any(|k| k == "dist_token") { 2 } else { 1 };
            let grid = [vit.grid_h, vit.grid_w];
            resized_pos_embed = fit_pos_embed(&mut offered, "base.pos_embed", want, grid, prefix, path)?;
        }
        let file_classifiers = head.keys().filter(|k| k.starts_with("jpm.classifiers.")).count();
        let file_has_branches = head.keys().any(|k| is_branch(k));
        let mut branches_from_last_block = false;
        match (scope, &self.jpm, &self.base) {
            (Scope::All, ..) => offered.extend(head),
            (Scope::Backbone, Some(_), _) if file_has_branches => {
                offered.extend(head.into_iter().filter(|(k, _)| is_branch(k)))
            }
            (Scope::Backbone, Some(_), Backbone::Vit(vit)) => {
                copy_last_block_into_branches(&mut offered, vit.blocks.len());
                branches_from_last_block = true;
            }
            _ => {}
        }
        let in_scope = |name: &str| scope == Scope::All || name.starts_with("base.") || is_branch(name);
        let display = |n: &str| match renamed.get(n).cloned().or_else(|| transreid::to_transreid(n)) {
            Some(t) if layout == Layout::TransReid => format!("{t} (= {n})"),
            _ => n.to_owned(),
        };
        let missing = missing_parameters(path, expected.iter().filter(|(n, _)| in_scope(n)), &offered, &display)?;
        let (kept, missing): (Vec<String>, Vec<String>) =
            missing.into_iter().partition(|n| scope == Scope::Backbone && n == "base.sie_embed");
        if !missing.is_empty() {
            let hint = self.missing_hint(backbone, backbone_layout, &missing, file_has_branches, file_classifiers);
            let shown: Vec<String> = missing.iter().map(|n| display(n)).collect();
            return Err(missing_error(path, architecture, &shown, hint));
        }
        let unexpected: Vec<String> = offered.keys().filter(|k| !expected.contains_key(*k)).cloned().collect();
        let misfit: Vec<String> = unexpected.iter().filter(|k| k.starts_with("jpm.")).map(|k| display(k)).collect();
        if !misfit.is_empty() {
            let hint = match &self.jpm {
                None => "; it was trained with the jigsaw patch module: set model.jpm".to_owned(),
                Some(j) => format!(
                    "; it holds {file_classifiers} local classifiers, the model has model.devide_length = {}",
                    j.config.devide_length
                ),
            };
            return Err(ModelError::Unexpected {
                path: path.to_owned(),
                architecture,
                count: misfit.len(),
                examples: misfit.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
                hint,
            });
        }
        let known: BTreeMap<String, TensorData> =
            offered.into_iter().filter(|(k, _)| expected.contains_key(k) && in_scope(k)).collect();
        let loaded = apply_tensors(self, path, known)?;
        for k in &unexpected {
            tracing::warn!("{}: `{}` has no place in the {architecture} model; ignored", path.display(), display(k));
        }
        for k in &kept {
            tracing::info!("{}: no `{k}` in the file; it keeps its initial values", path.display());
        }
        tracing::info!(
            "{}: loaded {loaded} tensors ({layout} layout), ignored {} known extras",
            path.display(),
            ignored.len()
        );
        Ok(ImportReport {
            path: path.to_owned(),
            layout,
            backbone_layout,
            loaded,
            ignored,
            unexpected: unexpected.iter().map(|k| display(k)).collect(),
            kept,
            resized_pos_embed,
            branches_from_last_block,
        })
    }

    /// Advice for a checkpoint that lacks `missing` parameters of this model.
    fn missing_hint(
        &self,
        backbone: &BackboneConfig,
        file: Layout,
        missing: &[String],
        file_has_branches: bool,
        file_classifiers: usize,
    ) -> String {
        use Layout::*;
        match (backbone.family(), file) {
            ("resnet", Timm | MicrosoftSwin | MmdetSwin | Vit) => {
                return format!("; the file is a {file} checkpoint, not a ResNet");
            }
            ("swin", Torchvision | Vit) => return format!("; the file is a {file} checkpoint, not a Swin"),
            ("vit", Torchvision | Timm | MicrosoftSwin | MmdetSwin) => {
                return format!("; the file is a {file} checkpoint, not a ViT");
            }
            (_, Unknown) => return "; no known backbone names were found in the file".to_owned(),
            _ => {}
        }
        let Some(jpm) = &self.jpm else { return String::new() };
        if !file_has_branches && missing.iter().any(|n| is_branch(n)) {
            return "; the file has no JPM branches (TransReID's b1.*, b2.*): it was trained without model.jpm \
                    (load it as pretrained weights to start JPM from its last block)"
                .to_owned();
        }
        if missing.iter().any(|n| n.starts_with("jpm.")) && file_classifiers != jpm.config.devide_length {
            return format!(
                "; the file holds {file_classifiers} local classifiers, the model has model.devide_length = {}",
                jpm.config.devide_length
            );
        }
        String::new()
    }
}
