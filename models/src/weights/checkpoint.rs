//! Reading checkpoints: PyTorch `.pth`/`.pt` (zip or legacy pickle, via burn-store's reader) and safetensors,
//! into a flat map of names to tensors with floating point values as `f32`.

use crate::error::ModelError;
use burn::store::pytorch_reader::PytorchReader;
use burn::tensor::{DType, TensorData};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every tensor of a checkpoint file, by name.
#[derive(Debug)]
pub struct Checkpoint {
    /// The file it came from.
    pub path: PathBuf,
    /// Tensors by name (floating point ones as `f32`).
    pub tensors: BTreeMap<String, TensorData>,
    /// String metadata (safetensors `__metadata__`; empty for PyTorch files).
    pub metadata: BTreeMap<String, String>,
}

/// Wrapper keys under which training scripts nest a state dict (`{"state_dict": ...}`, SOLIDER's
/// `{"teacher": ...}`, DataParallel's `module.` prefix).
const WRAPPERS: [&str; 6] = ["state_dict.", "model.", "teacher.", "student.", "module.", "model_ema."];

impl Checkpoint {
    /// Reads `path` by its extension: `.safetensors`, or a PyTorch file (`.pth`, `.pt`, `.pth.tar`, `.bin`, `.ckpt`).
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let err = |message: String| ModelError::Checkpoint { path: path.to_owned(), message };
        if !path.is_file() {
            return Err(err("no such file".into()));
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
        let (raw, metadata) = if name.ends_with(".safetensors") {
            read_safetensors(path).map_err(err)?
        } else {
            let reader =
                PytorchReader::new(path).map_err(|e| err(format!("not a readable PyTorch checkpoint: {e}")))?;
            let mut tensors = BTreeMap::new();
            for (k, t) in reader.into_tensors() {
                let pack = burn::store::bridge::from_pytorch(t);
                let data = burn::store::bridge::into_data(pack).map_err(|e| err(format!("tensor `{k}`: {e}")))?;
                tensors.insert(k, data);
            }
            (tensors, BTreeMap::new())
        };
        if raw.is_empty() {
            return Err(err("the file holds no tensors".into()));
        }
        let mut tensors = BTreeMap::new();
        for (k, v) in raw {
            tensors.insert(k, to_f32_if_float(v));
        }
        Ok(Checkpoint { path: path.to_owned(), tensors: strip_wrappers(tensors), metadata })
    }

    /// The `f32` values and shape of a tensor, if present and floating point.
    pub fn f32(&self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let t = self.tensors.get(name)?;
        Some((t.shape().to_vec(), t.try_to_vec::<f32>().ok()?))
    }
}

fn to_f32_if_float(data: TensorData) -> TensorData {
    match data.dtype() {
        DType::F64 | DType::F16 | DType::BF16 => data.convert::<f32>(),
        _ => data,
    }
}

/// Drops a wrapper prefix that every key shares (repeatedly: `teacher.module.x` -> `x`).
fn strip_wrappers(mut tensors: BTreeMap<String, TensorData>) -> BTreeMap<String, TensorData> {
    loop {
        let Some(prefix) = WRAPPERS.iter().find(|p| tensors.keys().all(|k| k.starts_with(**p) && k.len() > p.len()))
        else {
            return tensors;
        };
        tensors = tensors.into_iter().map(|(k, v)| (k[prefix.len()..].to_owned(), v)).collect();
    }
}

type Raw = (BTreeMap<String, TensorData>, BTreeMap<String, String>);

fn read_safetensors(path: &Path) -> Result<Raw, String> {
    use safetensors::{Dtype, SafeTensors};
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let metadata = meta.metadata().clone().unwrap_or_default().into_iter().collect();
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let b = view.data();
        let data = match view.dtype() {
            Dtype::F32 => TensorData::new(
                b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<_>>(),
                shape,
            ),
            Dtype::F64 => TensorData::new(
                b.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                    .collect::<Vec<_>>(),
                shape,
            ),
            Dtype::F16 => TensorData::new(
                b.chunks_exact(2).map(|c| burn::tensor::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect::<Vec<_>>(),
                shape,
            ),
            Dtype::BF16 => TensorData::new(
                b.chunks_exact(2).map(|c| burn::tensor::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect::<Vec<_>>(),
                shape,
            ),
            Dtype::I64 => TensorData::new(
                b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect::<Vec<_>>(),
                shape,
            ),
            Dtype::I32 => TensorData::new(
                b.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect::<Vec<_>>(),
                shape,
            ),
            // Other types (bool, u8, ...) never hold parameters of these networks: keep them out.
            _ => continue,
        };
        tensors.insert(name, data);
    }
    Ok((tensors, metadata))
}
