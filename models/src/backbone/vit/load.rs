//! Loading a PyTorch state dict in timm / TransReID names into a [`Vit`]: every parameter must be present with
//! its shape, except `pos_embed`, whose square pretrained grid is resized to the model's patch grid (as
//! TransReID's `load_param`); keys the model has no place for are returned by name.

use super::Vit;
use super::pos::resize_pos_embed;
use crate::error::ModelError;
use crate::weights::missing_parameters;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter};
use burn::tensor::TensorData;
use std::collections::BTreeMap;
use std::path::Path;

/// What [`Vit::load_state_dict`] did.
#[derive(Clone, Debug, Default)]
pub struct VitLoad {
    /// Parameters loaded.
    pub loaded: usize,
    /// The `pos_embed` token count before resizing, when it was resized.
    pub resized_pos_embed: Option<usize>,
    /// Keys of the state dict the model has no place for.
    pub unexpected: Vec<String>,
}

impl Vit {
    /// The parameters by PyTorch name, with their PyTorch shapes.
    pub fn parameter_shapes(&self) -> BTreeMap<String, Vec<usize>> {
        self.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
            .into_iter()
            .map(|t| (t.name.clone(), t.shape.to_vec()))
            .collect()
    }

    /// Loads `tensors` (PyTorch names, no prefix) read from `path`.
    pub fn load_state_dict(
        &mut self,
        mut tensors: BTreeMap<String, TensorData>,
        path: &Path,
    ) -> Result<VitLoad, ModelError> {
        let expected = self.parameter_shapes();
        let mut report = VitLoad::default();
        if let (Some(t), Some(want)) = (tensors.get("pos_embed"), expected.get("pos_embed")) {
            let shape = t.shape().to_vec();
            if shape != *want && shape.len() == 3 && shape[0] == 1 && shape[2] == want[2] {
                let values = t.try_to_vec::<f32>().map_err(|e| ModelError::Checkpoint {
                    path: path.to_owned(),
                    message: format!("`pos_embed`: {e:?}"),
                })?;
                let origin = path.display().to_string();
                let resized = resize_pos_embed(&values, shape[1], shape[2], [self.grid_h, self.grid_w], &origin)?;
                tracing::info!("{origin}: pos_embed resized from {} to {} tokens", shape[1], want[1]);
                tensors.insert("pos_embed".into(), TensorData::new(resized, want.clone()));
                report.resized_pos_embed = Some(shape[1]);
            }
        }
        let missing = missing_parameters(path, &expected, &tensors)?;
        if !missing.is_empty() {
            return Err(ModelError::Missing {
                path: path.to_owned(),
                architecture: format!(
                    "TransReID ViT (width {}, depth {})",
                    expected["norm.weight"][0],
                    self.blocks.len()
                ),
                missing: missing.len(),
                examples: missing.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
                hint: String::new(),
            });
        }
        report.unexpected = tensors.keys().filter(|k| !expected.contains_key(*k)).cloned().collect();
        let packs: Vec<_> = tensors
            .into_iter()
            .filter(|(k, _)| expected.contains_key(k))
            .map(|(k, v)| burn::store::bridge::from_data(v, k, None))
            .collect();
        report.loaded = packs.len();
        let result = self.apply(packs, None, Some(Box::new(PyTorchToBurnAdapter)), true);
        if let Some(e) = result.errors.first() {
            return Err(ModelError::Checkpoint { path: path.to_owned(), message: format!("{e:?}") });
        }
        Ok(report)
    }
}
