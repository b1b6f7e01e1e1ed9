//! Loading a PyTorch state dict in timm / TransReID names into a [`Vit`]: every parameter must be present with
//! its shape, except `pos_embed`, whose square pretrained grid is resized to the model's patch grid (as
//! TransReID's `load_param`); keys the model has no place for are returned by name. [`fit_pos_embed`] is shared
//! with [`crate::ReidModel`]'s checkpoint import.

use super::Vit;
use super::pos::resize_pos_embed;
use crate::error::ModelError;
use crate::weights::{apply_tensors, missing_error, missing_parameters};
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
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

/// Fits the position embedding `tensors[key]` read from `path` to the model's shape `want` `[1, 1 + gy*gx, D]`
/// for the patch grid `grid`: a distilled DeiT's (`prefix_tokens` 2: class and distillation token) loses its
/// distillation row, as TransReID's `load_param` does for a `distilled` checkpoint; a square grid of another size
/// is resized by [`resize_pos_embed`]. Returns the token count in the file when it changed anything. A width
/// mismatch is left for the shape check (which names the key); a grid that cannot be resized is an error
/// naming the file and `pos_embed`.
pub(crate) fn fit_pos_embed(
    tensors: &mut BTreeMap<String, TensorData>,
    key: &str,
    want: &[usize],
    grid: [usize; 2],
    prefix_tokens: usize,
    path: &Path,
) -> Result<Option<usize>, ModelError> {
    let Some(t) = tensors.get(key) else { return Ok(None) };
    let shape = t.shape().to_vec();
    if shape == want || shape.len() != 3 || want.len() != 3 || shape[0] != 1 || shape[2] != want[2] {
        return Ok(None);
    }
    let mut values = t
        .try_to_vec::<f32>()
        .map_err(|e| ModelError::Checkpoint { path: path.to_owned(), message: format!("`{key}`: {e:?}") })?;
    let (mut tokens, dim) = (shape[1], shape[2]);
    if prefix_tokens == 2 && tokens > 2 {
        values.drain(dim..2 * dim);
        tokens -= 1;
    }
    let origin = path.display().to_string();
    let resized = if tokens == want[1] { values } else { resize_pos_embed(&values, tokens, dim, grid, &origin)? };
    tracing::info!("{origin}: `{key}` fitted from {} to {} tokens", shape[1], want[1]);
    tensors.insert(key.to_owned(), TensorData::new(resized, want.to_vec()));
    Ok(Some(shape[1]))
}

impl Vit {
    /// The parameters by PyTorch name, with their PyTorch shapes.
    pub fn parameter_shapes(&self) -> BTreeMap<String, Vec<usize>> {
        self.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
            .into_iter()
            .map(|t| (t.name.clone(), t.shape.to_vec()))
            .collect()
    }

    /// A description for messages: width, depth, stride.
    pub fn describe(&self) -> String {
        let width = self.norm.gamma.dims()[0];
        format!("TransReID ViT (width {width}, depth {}, grid {}x{})", self.blocks.len(), self.grid_h, self.grid_w)
    }

    /// Loads `tensors` (PyTorch names, no prefix) read from `path`.
    pub fn load_state_dict(
        &mut self,
        mut tensors: BTreeMap<String, TensorData>,
        path: &Path,
    ) -> Result<VitLoad, ModelError> {
        let expected = self.parameter_shapes();
        let prefix = if tensors.contains_key("dist_token") { 2 } else { 1 };
        let grid = [self.grid_h, self.grid_w];
        let resized_pos_embed = fit_pos_embed(&mut tensors, "pos_embed", &expected["pos_embed"], grid, prefix, path)?;
        let missing = missing_parameters(path, &expected, &tensors, &|n| n.to_owned())?;
        if !missing.is_empty() {
            return Err(missing_error(path, self.describe(), &missing, String::new()));
        }
        let (known, unexpected): (BTreeMap<_, _>, BTreeMap<_, _>) =
            tensors.into_iter().partition(|(k, _)| expected.contains_key(k));
        let loaded = apply_tensors(self, path, known)?;
        Ok(VitLoad { loaded, resized_pos_embed, unexpected: unexpected.into_keys().collect() })
    }
}
