//! What an ONNX ReID model declares: its image input (`N x 3 x H x W`), for a model with side information
//! embedding (TransReID's SIE) its camera input (`N`, int64), its output, and the `reid.*` metadata properties
//! written by `reid-models` export (input size, mean/std, scale, colour order, whether the output is already
//! L2-normalised, the camera input and its camera count).

use super::EngineError;
use super::preprocess::{ColorOrder, PreprocessConfig};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use tract_onnx::pb;
use tract_onnx::prelude::Framework;

/// Metadata keys read from the model (`metadata_props`), as `reid-models` export writes them.
pub mod meta {
    /// Input height in pixels.
    pub const INPUT_HEIGHT: &str = "reid.input_height";
    /// Input width in pixels.
    pub const INPUT_WIDTH: &str = "reid.input_width";
    /// Channel order of the input (`RGB` or `BGR`).
    pub const COLOR: &str = "reid.color";
    /// Factor applied to 8-bit pixel values before mean/std.
    pub const PIXEL_SCALE: &str = "reid.pixel_scale";
    /// Per-channel mean, comma-separated.
    pub const PIXEL_MEAN: &str = "reid.pixel_mean";
    /// Per-channel standard deviation, comma-separated.
    pub const PIXEL_STD: &str = "reid.pixel_std";
    /// Embedding size.
    pub const FEAT_DIM: &str = "reid.feat_dim";
    /// `true` when the output is already L2-normalised.
    pub const L2_NORMALIZED: &str = "reid.l2_normalized";
    /// Resize interpolation expected by the model (`bilinear`).
    pub const RESIZE: &str = "reid.resize";
    /// Name of the camera input (int64 `[N]`), present only on models with a camera (SIE) table.
    pub const CAMERA_INPUT: &str = "reid.camera_input";
    /// Cameras of the SIE table: valid camera ids are `0..count`.
    pub const SIE_CAMERAS: &str = "reid.sie_cameras";
}

/// The camera input of a model with side information embedding: one int64 id per image, `0..count`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraInput {
    /// Name of the graph input (`camera` as `reid-models` exports it).
    pub name: String,
    /// Cameras of the SIE table (`reid.sie_cameras`).
    pub count: usize,
}

/// One dimension of a declared tensor shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A symbolic size (`N`), or none declared.
    Symbolic(String),
}

impl Dim {
    /// The fixed size, if any.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(v) => Some(*v),
            Dim::Symbolic(_) => None,
        }
    }
}

/// The model file's description, with the preprocessing resolved (explicit, or from the metadata).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// The model file.
    pub path: PathBuf,
    /// Name of the image input.
    pub input_name: String,
    /// Declared input shape (`N x 3 x H x W`).
    pub input_shape: Vec<Dim>,
    /// Name of the (first) output.
    pub output_name: String,
    /// Embedding size, when the output declares it (or `reid.feat_dim` does).
    pub output_dim: Option<usize>,
    /// All `metadata_props` of the file.
    pub metadata: BTreeMap<String, String>,
    /// How images become inputs.
    pub preprocess: PreprocessConfig,
    /// Whether the output is already L2-normalised (`reid.l2_normalized`; false when absent).
    pub l2_normalized: bool,
    /// The camera input, for a model with an SIE camera table (`None`: the model takes images only).
    pub camera: Option<CameraInput>,
}

impl ModelInfo {
    /// Reads `path`; `explicit` preprocessing wins over the metadata (needed for models without `reid.*` props).
    pub fn read(path: &Path, explicit: Option<&PreprocessConfig>) -> Result<Self, EngineError> {
        Ok(Self::parse(path, explicit)?.0)
    }

    /// The description and the decoded protobuf of `path`.
    pub(crate) fn parse(
        path: &Path,
        explicit: Option<&PreprocessConfig>,
    ) -> Result<(Self, pb::ModelProto), EngineError> {
        let bytes =
            std::fs::read(path).map_err(|e| EngineError::Read { path: path.to_owned(), message: e.to_string() })?;
        let invalid = |message: String| EngineError::InvalidModel { path: path.to_owned(), message };
        let proto = tract_onnx::onnx().proto_model_for_read(&mut &bytes[..]).map_err(|e| invalid(format!("{e:#}")))?;
        let info = Self::from_proto(path, &proto, explicit)?;
        Ok((info, proto))
    }

    /// The description of an already decoded model.
    pub fn from_proto(
        path: &Path,
        proto: &pb::ModelProto,
        explicit: Option<&PreprocessConfig>,
    ) -> Result<Self, EngineError> {
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| EngineError::InvalidModel { path: path.to_owned(), message: "no graph".to_owned() })?;
        let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let metadata: BTreeMap<String, String> =
            proto.metadata_props.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
        let meta_err = |key: &str, message: String| EngineError::Metadata {
            path: path.to_owned(),
            key: key.to_owned(),
            value: metadata.get(key).cloned().unwrap_or_default(),
            message,
        };
        let all: Vec<&pb::ValueInfoProto> =
            graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).collect();
        let camera = camera_input(path, &all, &metadata)?;
        let inputs: Vec<&pb::ValueInfoProto> =
            all.iter().copied().filter(|i| camera.as_ref().is_none_or(|c| c.name != i.name)).collect();
        if inputs.len() != 1 {
            return Err(EngineError::InputCount {
                path: path.to_owned(),
                count: all.len(),
                names: all.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
            });
        }
        let input = inputs[0];
        let output = graph.output.first().ok_or_else(|| EngineError::NoOutput { path: path.to_owned() })?;
        let input_shape = declared_shape(input);
        let shape_err =
            |message: String| EngineError::InputShape { path: path.to_owned(), input: input.name.clone(), message };
        if let Some(shape) = &input_shape {
            if shape.len() != 4 {
                return Err(shape_err(format!("has rank {}; expected N x 3 x H x W", shape.len())));
            }
            if let Some(c) = shape[1].fixed()
                && c != 3
            {
                return Err(shape_err(format!("has {c} channels; expected 3 (N x 3 x H x W)")));
            }
        }
        let preprocess = match explicit {
            Some(cfg) => cfg.clone(),
            None => preprocess_from_metadata(&metadata).map_err(|(key, message)| match message {
                None => EngineError::MissingPreprocess { path: path.to_owned(), missing: key.to_owned() },
                Some(message) => meta_err(key, message),
            })?,
        };
        if let Some(shape) = &input_shape {
            for (dim, want, what) in [(&shape[2], preprocess.height, "height"), (&shape[3], preprocess.width, "width")]
            {
                if let Some(have) = dim.fixed()
                    && have != want as usize
                {
                    return Err(shape_err(format!("has fixed {what} {have}, but the preprocessing gives {want}")));
                }
            }
        }
        let l2_normalized = match metadata.get(meta::L2_NORMALIZED) {
            None => false,
            Some(v) => v.trim().parse::<bool>().map_err(|e| meta_err(meta::L2_NORMALIZED, e.to_string()))?,
        };
        let output_dim = declared_shape(output)
            .and_then(|s| s.last().and_then(Dim::fixed))
            .or_else(|| metadata.get(meta::FEAT_DIM).and_then(|v| v.trim().parse().ok()));
        Ok(ModelInfo {
            path: path.to_owned(),
            input_name: input.name.clone(),
            input_shape: input_shape.unwrap_or_default(),
            output_name: output.name.clone(),
            output_dim,
            metadata,
            preprocess,
            l2_normalized,
            camera,
        })
    }

    /// Checks per-image camera ids for a batch of `n` images and returns what the camera input gets: `None`
    /// for a model without one (any ids given are not used), camera 0 for every image when `cameras` is
    /// `None`, else `cameras` itself, each id in `0..count` ([`EngineError::Camera`] names the first that
    /// is not, the count and the model file).
    pub fn camera_ids(&self, n: usize, cameras: Option<&[i64]>) -> Result<Option<Vec<i64>>, EngineError> {
        let Some(input) = &self.camera else { return Ok(None) };
        let Some(ids) = cameras else { return Ok(Some(vec![0; n])) };
        if ids.len() != n {
            return Err(EngineError::CameraCount { path: self.path.clone(), n, got: ids.len() });
        }
        if let Some(&id) = ids.iter().find(|&&id| id < 0 || id as u64 >= input.count as u64) {
            return Err(EngineError::Camera { path: self.path.clone(), id, count: input.count });
        }
        Ok(Some(ids.to_vec()))
    }
}

/// The camera input among the graph's (non-initializer) inputs: the one `reid.camera_input` names, declared
/// int64 of rank 1, with `reid.sie_cameras` a positive count. `None` when the metadata names no camera input.
fn camera_input(
    path: &Path,
    inputs: &[&pb::ValueInfoProto],
    metadata: &BTreeMap<String, String>,
) -> Result<Option<CameraInput>, EngineError> {
    let Some(name) = metadata.get(meta::CAMERA_INPUT).map(|v| v.trim().to_owned()) else { return Ok(None) };
    let meta_err = |key: &str, message: String| EngineError::Metadata {
        path: path.to_owned(),
        key: key.to_owned(),
        value: metadata.get(key).cloned().unwrap_or_default(),
        message,
    };
    let Some(input) = inputs.iter().find(|i| i.name == name) else {
        let names = inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(meta_err(meta::CAMERA_INPUT, format!("the graph has no input of that name (it has {names})")));
    };
    let count = match metadata.get(meta::SIE_CAMERAS).map(|v| v.trim().parse::<usize>()) {
        None => return Err(meta_err(meta::SIE_CAMERAS, "missing; a camera input needs its camera count".into())),
        Some(Err(e)) => return Err(meta_err(meta::SIE_CAMERAS, e.to_string())),
        Some(Ok(0)) => return Err(meta_err(meta::SIE_CAMERAS, "must be positive".into())),
        Some(Ok(c)) => c,
    };
    let shape_err = |message: String| EngineError::InputShape { path: path.to_owned(), input: name.clone(), message };
    if let Some(elem) = element_type(input)
        && elem != pb::tensor_proto::DataType::Int64 as i32
    {
        return Err(shape_err(format!("has element type {elem}; a camera input is int64 (ONNX type 7)")));
    }
    if let Some(shape) = declared_shape(input)
        && shape.len() != 1
    {
        return Err(shape_err(format!("has rank {}; a camera input is one id per image [N]", shape.len())));
    }
    Ok(Some(CameraInput { name, count }))
}

/// The declared element type of a graph input, if it declares one.
fn element_type(value: &pb::ValueInfoProto) -> Option<i32> {
    let pb::type_proto::Value::TensorType(tensor) = value.r#type.as_ref()?.value.as_ref()?;
    Some(tensor.elem_type)
}

/// The `metadata_props` of the model at `path` (no validation of its inputs or preprocessing).
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>, EngineError> {
    let bytes = std::fs::read(path).map_err(|e| EngineError::Read { path: path.to_owned(), message: e.to_string() })?;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| EngineError::InvalidModel { path: path.to_owned(), message: format!("{e:#}") })?;
    Ok(proto.metadata_props.iter().map(|p| (p.key.clone(), p.value.clone())).collect())
}

/// The declared shape of a graph input or output, if it declares one.
fn declared_shape(value: &pb::ValueInfoProto) -> Option<Vec<Dim>> {
    use pb::tensor_shape_proto::dimension::Value;
    let pb::type_proto::Value::TensorType(tensor) = value.r#type.as_ref()?.value.as_ref()?;
    let shape = tensor.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(Value::DimValue(v)) if *v > 0 => Dim::Fixed(*v as usize),
                Some(Value::DimParam(s)) => Dim::Symbolic(s.clone()),
                _ => Dim::Symbolic(String::new()),
            })
            .collect(),
    )
}

/// The preprocessing the metadata declares. `Err((key, None))`: `key` is missing; `Err((key, Some(why)))`:
/// its value is invalid.
pub fn preprocess_from_metadata(
    metadata: &BTreeMap<String, String>,
) -> Result<PreprocessConfig, (&'static str, Option<String>)> {
    let get = |key: &'static str| metadata.get(key).map(|v| v.trim()).ok_or((key, None));
    let size = |key: &'static str| -> Result<u32, (&'static str, Option<String>)> {
        let v: u32 = get(key)?.parse().map_err(|e: std::num::ParseIntError| (key, Some(e.to_string())))?;
        if v == 0 {
            return Err((key, Some("must be positive".to_owned())));
        }
        Ok(v)
    };
    let triple = |key: &'static str, positive: bool| -> Result<[f32; 3], (&'static str, Option<String>)> {
        let values: Vec<f32> = get(key)?
            .split(',')
            .map(|s| s.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| (key, Some(e.to_string())))?;
        let values: [f32; 3] =
            values.try_into().map_err(|v: Vec<f32>| (key, Some(format!("{} values; expected 3", v.len()))))?;
        if values.iter().any(|v| !v.is_finite() || (positive && *v <= 0.0)) {
            return Err((key, Some("values must be finite (and positive for std)".to_owned())));
        }
        Ok(values)
    };
    let height = size(meta::INPUT_HEIGHT)?;
    let width = size(meta::INPUT_WIDTH)?;
    let mean = triple(meta::PIXEL_MEAN, false)?;
    let std = triple(meta::PIXEL_STD, true)?;
    let scale = match metadata.get(meta::PIXEL_SCALE) {
        None => 1.0 / 255.0,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => s,
            _ => return Err((meta::PIXEL_SCALE, Some("expected a positive number".to_owned()))),
        },
    };
    let color = match metadata.get(meta::COLOR).map(|v| v.trim().to_ascii_uppercase()) {
        None => ColorOrder::Rgb,
        Some(v) if v == "RGB" => ColorOrder::Rgb,
        Some(v) if v == "BGR" => ColorOrder::Bgr,
        Some(_) => return Err((meta::COLOR, Some("expected RGB or BGR".to_owned()))),
    };
    if let Some(resize) = metadata.get(meta::RESIZE)
        && !resize.trim().eq_ignore_ascii_case("bilinear")
    {
        return Err((meta::RESIZE, Some("only bilinear resizing is supported".to_owned())));
    }
    Ok(PreprocessConfig { height, width, mean, std, scale, color })
}
