//! Saving a network as safetensors with PyTorch names (`base.conv1.weight`, `bottleneck.running_mean`, ...) and
//! PyTorch layouts (linear weights `[out, in]`), so `safetensors.torch.load_file` plus `load_state_dict` works.

use super::module_to_torch;
use crate::error::ModelError;
use crate::reid::ReidModel;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

impl ReidModel {
    /// Writes every parameter as `f32` safetensors with `metadata` (the file appears atomically).
    pub fn save_safetensors(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), ModelError> {
        self.write_safetensors(path, metadata, safetensors::Dtype::F32)
    }

    /// Writes every parameter as `f64` safetensors: the exact values of a network that computes in float64 (a
    /// float64 start that a reference implementation must share bit for bit, `reid bench train --float f64`).
    pub fn save_safetensors_f64(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), ModelError> {
        self.write_safetensors(path, metadata, safetensors::Dtype::F64)
    }

    fn write_safetensors(
        &self,
        path: &Path,
        metadata: &BTreeMap<String, String>,
        dtype: safetensors::Dtype,
    ) -> Result<(), ModelError> {
        let err = |message: String| ModelError::Write { path: path.to_owned(), message };
        let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for t in self.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true) {
            let data = burn::store::bridge::to_data(&t).map_err(|e| err(format!("`{}`: {e}", t.name)))?;
            let bytes = if dtype == safetensors::Dtype::F64 {
                let values = data.convert::<f64>().try_to_vec::<f64>();
                values.map_err(|e| err(format!("`{}`: {e:?}", t.name)))?.iter().flat_map(|v| v.to_le_bytes()).collect()
            } else {
                let values = data.convert::<f32>().try_to_vec::<f32>();
                values.map_err(|e| err(format!("`{}`: {e:?}", t.name)))?.iter().flat_map(|v| v.to_le_bytes()).collect()
            };
            named.push((module_to_torch(&t.name), t.shape.to_vec(), bytes));
        }
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = named
            .iter()
            .map(|(n, s, b)| {
                safetensors::tensor::TensorView::new(dtype, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| err(format!("`{n}`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let meta: HashMap<String, String> = metadata.clone().into_iter().collect();
        let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| err(e.to_string()))?;
        let tmp = path.with_extension("safetensors.partial");
        std::fs::write(&tmp, bytes).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }
}
