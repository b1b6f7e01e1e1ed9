//! The pure-Rust CPU engine: the ONNX model optimised by `tract` for `N x 3 x H x W` inputs with a symbolic
//! batch `N` (and an int64 `[N]` camera input when the model has one), so one plan serves every batch size.

use super::model_info::ModelInfo;
use super::preprocess::PreprocessConfig;
use super::{Engine, EngineError};
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;

/// An ONNX model run by `tract`.
pub struct TractEngine {
    plan: Arc<TypedRunnableModel>,
    info: ModelInfo,
    /// Whether the camera input comes first among the model's inputs.
    camera_first: bool,
}

impl std::fmt::Debug for TractEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TractEngine").field("info", &self.info).finish_non_exhaustive()
    }
}

impl TractEngine {
    /// Loads and optimises `path`. The preprocessing is `explicit` when given, else the model's `reid.*`
    /// metadata (an error naming the file when it has none).
    pub fn open(path: &Path, explicit: Option<&PreprocessConfig>) -> Result<Self, EngineError> {
        let (info, proto) = ModelInfo::parse(path, explicit)?;
        let invalid = |e: TractError| EngineError::InvalidModel { path: path.to_owned(), message: format!("{e:#}") };
        let onnx = tract_onnx::onnx();
        let dir = path.parent().and_then(|d| d.to_str());
        let parsed = onnx.parse(&proto, dir).map_err(invalid)?;
        if !parsed.unresolved_inputs.is_empty() {
            return Err(EngineError::InvalidModel {
                path: path.to_owned(),
                message: format!("unresolved inputs {:?}", parsed.unresolved_inputs),
            });
        }
        let mut model = parsed.model;
        let (h, w) = (info.preprocess.height as usize, info.preprocess.width as usize);
        let batch = model.symbols.sym("N");
        let fact = f32::fact([batch.to_dim(), 3.to_dim(), h.to_dim(), w.to_dim()]);
        let mut camera_first = false;
        let mut image_slot = 0;
        if let Some(camera) = &info.camera {
            let names: Vec<String> =
                model.input_outlets().map_err(invalid)?.iter().map(|o| model.node(o.node).name.clone()).collect();
            let slot = names.iter().position(|n| *n == camera.name).ok_or_else(|| EngineError::InvalidModel {
                path: path.to_owned(),
                message: format!("camera input `{}` not among the model's inputs {names:?}", camera.name),
            })?;
            camera_first = slot == 0;
            image_slot = usize::from(camera_first);
            model = model.with_input_fact(slot, i64::fact([batch.to_dim()]).into()).map_err(invalid)?;
        }
        let plan = model
            .with_input_fact(image_slot, fact.into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(invalid)?;
        Ok(TractEngine { plan, info, camera_first })
    }
}

impl Engine for TractEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn embed_batch_cameras(&self, input: &[f32], n: usize, cameras: Option<&[i64]>) -> Result<Vec<f32>, EngineError> {
        let shape = super::batch_shape(&self.info, input, n)?;
        let ids = self.info.camera_ids(n, cameras)?;
        let err = |message: String| EngineError::Run { path: self.info.path.clone(), message };
        let tensor = Tensor::from_shape(&shape, input).map_err(|e| err(format!("{e:#}")))?;
        let mut inputs: TVec<TValue> = tvec!(tensor.into());
        if let Some(ids) = ids {
            let cam = Tensor::from_shape(&[n], &ids).map_err(|e| err(format!("{e:#}")))?;
            inputs.insert(if self.camera_first { 0 } else { 1 }, cam.into());
        }
        let out = self.plan.run(inputs).map_err(|e| err(format!("{e:#}")))?;
        let first = out.first().ok_or_else(|| err("the model produced no output".to_owned()))?;
        let view = first.to_plain_array_view::<f32>().map_err(|e| err(format!("{e:#}")))?;
        let values: Vec<f32> = view.iter().copied().collect();
        super::check_output(&self.info, values.len(), n, &first.shape())?;
        Ok(values)
    }
}
