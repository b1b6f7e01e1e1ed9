//! The element's settings (one field per writable property) and the preprocessing they describe.

use super::{
    DEFAULT_BATCH_SIZE, DEFAULT_CLASS_IDS, DEFAULT_ENGINE, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_SIZE, DEFAULT_ROI_TYPE,
};
use crate::deepstream::Cameras;
use reid_runtime::engine::{ColorOrder, PreprocessConfig};
use std::path::PathBuf;

/// What the properties say, read once per state change and per frame.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    pub(super) model: Option<PathBuf>,
    pub(super) model_id: Option<String>,
    pub(super) engine: String,
    pub(super) roi_type: String,
    pub(super) batch_size: u32,
    pub(super) min_size: u32,
    pub(super) interval: u32,
    pub(super) normalize: bool,
    pub(super) roi_id_is_track: bool,
    pub(super) input_width: u32,
    pub(super) input_height: u32,
    pub(super) pixel_mean: Option<String>,
    pub(super) pixel_std: Option<String>,
    pub(super) bgr: bool,
    pub(super) ort_library: Option<PathBuf>,
    pub(super) device_id: u32,
    /// NvDs mode: the detector classes embedded.
    pub(super) class_ids: Vec<i32>,
    /// NvDs mode: objects with a lower confidence are skipped.
    pub(super) min_confidence: f32,
    /// NvDs mode: camera names of source ids.
    pub(super) cameras: Cameras,
    /// `engine=nvinfer`: the `gie-unique-id` whose tensor metas are read (0: any).
    pub(super) nvinfer_gie_id: u32,
    /// Camera id for a model with a camera input (-1: the DeepStream source id, else 0).
    pub(super) sie_camera: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: None,
            model_id: None,
            engine: DEFAULT_ENGINE.to_owned(),
            roi_type: DEFAULT_ROI_TYPE.to_owned(),
            batch_size: DEFAULT_BATCH_SIZE,
            min_size: DEFAULT_MIN_SIZE,
            interval: 1,
            normalize: true,
            roi_id_is_track: false,
            input_width: 0,
            input_height: 0,
            pixel_mean: None,
            pixel_std: None,
            bgr: false,
            ort_library: None,
            device_id: 0,
            class_ids: DEFAULT_CLASS_IDS.to_vec(),
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            cameras: Cameras::default(),
            nvinfer_gie_id: 0,
            sie_camera: -1,
        }
    }
}

impl Settings {
    /// The camera id (never negative) of a frame from DeepStream source `source_id` (`None` outside NvDs mode).
    pub(super) fn camera_of(&self, source_id: Option<u32>) -> i64 {
        match (self.sie_camera, source_id) {
            (c, _) if c >= 0 => i64::from(c),
            (_, Some(source)) => i64::from(source),
            _ => 0,
        }
    }
}

/// Parses `"a,b,c"` into three finite values (positive ones with `positive`).
fn triple(name: &str, text: &str, positive: bool) -> Result<[f32; 3], String> {
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("property `{name}` = `{text}`: {e}"))?;
    let values: [f32; 3] = values
        .try_into()
        .map_err(|v: Vec<f32>| format!("property `{name}` = `{text}`: {} values, expected 3", v.len()))?;
    if values.iter().any(|v| !v.is_finite() || (positive && *v <= 0.0)) {
        return Err(format!(
            "property `{name}` = `{text}`: values must be finite{}",
            if positive { " and positive" } else { "" }
        ));
    }
    Ok(values)
}

/// The preprocessing the properties give, `None` to read it from the model's metadata.
pub(super) fn explicit_preprocess(s: &Settings) -> Result<Option<PreprocessConfig>, String> {
    match (s.input_width, s.input_height) {
        (0, 0) => {
            if s.pixel_mean.is_some() || s.pixel_std.is_some() || s.bgr {
                return Err("pixel-mean, pixel-std and bgr need input-width and input-height".to_owned());
            }
            Ok(None)
        }
        (0, _) | (_, 0) => Err("set both input-width and input-height, or neither".to_owned()),
        (w, h) => {
            let mut cfg = PreprocessConfig::imagenet(h, w);
            if s.bgr {
                // The mean and std are in the model's channel order: ImageNet's defaults reversed.
                cfg.color = ColorOrder::Bgr;
                cfg.mean.reverse();
                cfg.std.reverse();
            }
            if let Some(mean) = &s.pixel_mean {
                cfg.mean = triple("pixel-mean", mean, false)?;
            }
            if let Some(std) = &s.pixel_std {
                cfg.std = triple("pixel-std", std, true)?;
            }
            Ok(Some(cfg))
        }
    }
}

/// Parses the `class-ids` property: comma-separated class indices, at least one.
pub(super) fn parse_class_ids(text: &str) -> Result<Vec<i32>, String> {
    let ids: Vec<i32> = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<i32>().map_err(|e| format!("property `class-ids` = `{text}`: `{t}`: {e}")))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(format!("property `class-ids` = `{text}`: no class"));
    }
    Ok(ids)
}
