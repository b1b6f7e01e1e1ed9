//! Applying a checkpoint to a network: every parameter the network needs must be present with the right
//! shape; what the checkpoint holds beyond that is reported by name.

use super::layout::{Layout, canonicalize};
use super::{Checkpoint, module_to_torch, torch_to_module};
use crate::config::BackboneConfig;
use crate::error::ModelError;
use crate::reid::ReidModel;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter};
use burn::tensor::TensorData;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `expected` parameters (name, PyTorch shape) absent from `offered`, in order; a present one of another
/// shape is an error naming `path` and the key. Shared by every checkpoint loader of the crate.
pub(crate) fn missing_parameters<'a>(
    path: &Path,
    expected: impl IntoIterator<Item = (&'a String, &'a Vec<usize>)>,
    offered: &BTreeMap<String, TensorData>,
) -> Result<Vec<String>, ModelError> {
    let mut missing = Vec::new();
    for (name, shape) in expected {
        match offered.get(name) {
            None => missing.push(name.clone()),
            Some(t) if t.shape().to_vec() != *shape => {
                return Err(ModelError::Shape {
                    path: path.to_owned(),
                    key: name.clone(),
                    found: t.shape().to_vec(),
                    expected: shape.clone(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(missing)
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
}

/// What part of the network an import fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Backbone only (`pretrain_choice: imagenet | self`).
    Backbone,
    /// The whole network (a trained ReID checkpoint).
    All,
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
    /// Microsoft or SOLIDER/mmdet Swin; or the `base.*` part of a ReID network). The head keeps its values.
    pub fn load_pretrained(&mut self, path: &Path, backbone: &BackboneConfig) -> Result<ImportReport, ModelError> {
        self.import(path, Scope::Backbone, backbone)
    }

    /// Loads a whole trained network (backbone, neck and classifier) saved by [`ReidModel::save_safetensors`]
    /// or a PyTorch ReID toolbox with the same names.
    pub fn load_checkpoint(&mut self, path: &Path, backbone: &BackboneConfig) -> Result<ImportReport, ModelError> {
        self.import(path, Scope::All, backbone)
    }

    fn import(&mut self, path: &Path, scope: Scope, backbone: &BackboneConfig) -> Result<ImportReport, ModelError> {
        let ckpt = Checkpoint::open(path)?;
        let canon = canonicalize(path, ckpt.tensors)?;
        let mut offered: BTreeMap<String, TensorData> =
            canon.backbone.into_iter().map(|(k, v)| (format!("base.{k}"), v)).collect();
        if scope == Scope::All {
            offered.extend(canon.head);
        }
        let expected = self.parameter_shapes();
        let in_scope = |name: &str| scope == Scope::All || name.starts_with("base.");
        let missing = missing_parameters(path, expected.iter().filter(|(n, _)| in_scope(n)), &offered)?;
        let architecture = match backbone {
            BackboneConfig::Resnet(r) => format!("ResNet ({:?} blocks {:?}, width {})", r.block, r.layers, r.width),
            BackboneConfig::Swin(s) => format!("Swin (embed {}, depths {:?})", s.embed_dim, s.depths),
            BackboneConfig::Vit(v) => format!("TransReID ViT (width {}, depth {})", v.embed_dim, v.depth),
        };
        if !missing.is_empty() {
            let family_hint = match (backbone.family(), canon.backbone_layout) {
                ("resnet", Layout::Timm | Layout::MicrosoftSwin | Layout::MmdetSwin) => {
                    format!("; the file is a {} checkpoint, not a ResNet", canon.backbone_layout)
                }
                ("swin", Layout::Torchvision) => "; the file is a torchvision ResNet checkpoint, not a Swin".to_owned(),
                (_, Layout::Unknown) => "; no known backbone names were found in the file".to_owned(),
                _ => String::new(),
            };
            return Err(ModelError::Missing {
                path: path.to_owned(),
                architecture,
                missing: missing.len(),
                examples: missing.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
                hint: family_hint,
            });
        }
        let unexpected: Vec<String> = offered.keys().filter(|k| !expected.contains_key(*k)).cloned().collect();
        let packs: Vec<_> = offered
            .into_iter()
            .filter(|(k, _)| expected.contains_key(k) && in_scope(k))
            .map(|(k, v)| burn::store::bridge::from_data(v, torch_to_module(&k), None))
            .collect();
        let loaded = packs.len();
        let result = self.apply(packs, None, Some(Box::new(PyTorchToBurnAdapter)), true);
        if let Some(e) = result.errors.first() {
            return Err(ModelError::Checkpoint { path: path.to_owned(), message: format!("{e:?}") });
        }
        for k in &unexpected {
            tracing::warn!("{}: `{k}` has no place in the {architecture} model; ignored", path.display());
        }
        tracing::info!(
            "{}: loaded {loaded} tensors ({} layout), ignored {} known extras",
            path.display(),
            canon.layout,
            canon.ignored.len()
        );
        Ok(ImportReport {
            path: path.to_owned(),
            layout: canon.layout,
            backbone_layout: canon.backbone_layout,
            loaded,
            ignored: canon.ignored,
            unexpected,
        })
    }
}
