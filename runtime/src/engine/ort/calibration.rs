//! int8 calibration for TensorRT: every float activation of the model is made a graph output, calibration
//! images are run through ONNX Runtime's CPU provider, and the largest absolute value of each activation becomes
//! its dynamic range (max calibration, as `onnxruntime.quantization`'s MinMax calibrator). The table is written
//! in TensorRT's native calibration-cache text format (`name: <hex of the f32 scale = range / 127>`), which
//! ONNX Runtime's TensorRT provider reads with `trt_int8_use_native_calibration_table`.

use super::super::EngineError;
use super::super::model_info::ModelInfo;
use super::super::preprocess::{self, PreprocessConfig};
use super::library;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use prost::Message;
use rayon::prelude::*;
use reid_eval::progress::Progress;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use tract_onnx::pb;

/// ONNX `TensorProto.DataType.FLOAT`.
const ONNX_FLOAT: i32 = 1;

/// Dynamic range (largest absolute value) of each named activation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalibrationTable {
    /// Tensor name -> largest absolute value seen.
    pub ranges: BTreeMap<String, f32>,
}

impl CalibrationTable {
    /// TensorRT's calibration-cache text: a header line, then `name: hex` with the big-endian bits of
    /// `range / 127` as an f32.
    pub fn to_tensorrt_text(&self) -> String {
        let mut out = String::from("TRT-0-MinMaxCalibration\n");
        for (name, range) in &self.ranges {
            let scale = (range / 127.0).max(f32::MIN_POSITIVE);
            out.push_str(&format!("{name}: {:08x}\n", scale.to_bits()));
        }
        out
    }

    /// Reads the text [`CalibrationTable::to_tensorrt_text`] writes (the header line is skipped).
    pub fn parse_tensorrt_text(text: &str) -> Result<Self, String> {
        let mut ranges = BTreeMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let (name, hex) = line.rsplit_once(':').ok_or_else(|| format!("line {}: no `name: value`", i + 1))?;
            let bits = u32::from_str_radix(hex.trim(), 16).map_err(|e| format!("line {}: {e}", i + 1))?;
            ranges.insert(name.trim().to_owned(), f32::from_bits(bits) * 127.0);
        }
        Ok(CalibrationTable { ranges })
    }

    /// Writes the table (atomically: a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), EngineError> {
        let io = |e: std::io::Error| EngineError::Read { path: path.to_owned(), message: e.to_string() };
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, self.to_tensorrt_text()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// The float tensors of `graph`: its float inputs and every node output whose type follows from its inputs
/// (shape arithmetic, casts to non-float, comparisons and index outputs are left out).
pub fn float_tensor_names(graph: &pb::GraphProto) -> Vec<String> {
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut float: HashSet<String> =
        graph.initializer.iter().filter(|t| t.data_type == ONNX_FLOAT).map(|t| t.name.clone()).collect();
    let mut out = Vec::new();
    for input in &graph.input {
        if initializers.contains(input.name.as_str()) {
            continue;
        }
        if elem_type(input) == Some(ONNX_FLOAT) {
            float.insert(input.name.clone());
            out.push(input.name.clone());
        }
    }
    for node in &graph.node {
        let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
        let input_float = |i: usize| node.input.get(i).is_some_and(|n| float.contains(n));
        let first_float = match node.op_type.as_str() {
            "Shape" | "Size" | "NonZero" | "ArgMax" | "ArgMin" | "Equal" | "Greater" | "GreaterOrEqual" | "Less"
            | "LessOrEqual" | "Not" | "And" | "Or" | "Xor" | "IsNaN" | "IsInf" => false,
            "Cast" => attr("to").is_some_and(|a| a.i == ONNX_FLOAT as i64),
            "Constant" => attr("value").and_then(|a| a.t.as_ref()).is_some_and(|t| t.data_type == ONNX_FLOAT),
            "ConstantOfShape" => attr("value").and_then(|a| a.t.as_ref()).is_none_or(|t| t.data_type == ONNX_FLOAT),
            "Where" => input_float(1),
            _ => input_float(0),
        };
        let all_outputs_follow = matches!(node.op_type.as_str(), "Split" | "BatchNormalization");
        for (i, name) in node.output.iter().enumerate() {
            if name.is_empty() || !first_float || (i > 0 && !all_outputs_follow) {
                continue;
            }
            if float.insert(name.clone()) {
                out.push(name.clone());
            }
        }
    }
    out
}

fn elem_type(value: &pb::ValueInfoProto) -> Option<i32> {
    let pb::type_proto::Value::TensorType(t) = value.r#type.as_ref()?.value.as_ref()?;
    Some(t.elem_type)
}

/// `proto` with each of `names` added as a float graph output (those already outputs are kept once).
pub fn with_outputs(mut proto: pb::ModelProto, names: &[String]) -> pb::ModelProto {
    if let Some(graph) = proto.graph.as_mut() {
        let existing: HashSet<String> = graph.output.iter().map(|o| o.name.clone()).collect();
        for name in names.iter().filter(|n| !existing.contains(*n)) {
            graph.output.push(pb::ValueInfoProto {
                name: name.clone(),
                r#type: Some(pb::TypeProto {
                    value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                        elem_type: ONNX_FLOAT,
                        shape: None,
                    })),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    proto
}

/// Measures the dynamic range of every float activation of `model` over `images` (run `batch` at a time on
/// ONNX Runtime's CPU provider; `library` as for the engine). `explicit` preprocessing wins over the metadata.
pub fn calibrate(
    model: &Path,
    explicit: Option<&PreprocessConfig>,
    images: &[PathBuf],
    batch: usize,
    library: Option<&Path>,
    progress: &dyn Progress,
) -> Result<CalibrationTable, EngineError> {
    if images.is_empty() {
        return Err(EngineError::NoImages { path: model.to_owned() });
    }
    let (info, proto) = ModelInfo::parse(model, explicit)?;
    let graph = proto.graph.as_ref().ok_or_else(|| invalid(model, "no graph".to_owned()))?;
    let names = float_tensor_names(graph);
    let augmented = with_outputs(proto.clone(), &names);
    let (env, _) = library::environment(library)?;
    let bytes = augmented.encode_to_vec();
    let mut session = Session::builder(&env)
        .map_err(|e| invalid(model, e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level1)
        .map_err(|e| invalid(model, e.to_string()))?
        .commit_from_memory(&bytes)
        .map_err(|e| invalid(model, format!("with its activations as outputs: {e}")))?;
    let output_names: Vec<String> = session.outputs().iter().map(|o| o.name().to_owned()).collect();
    let mut ranges: BTreeMap<String, f32> = BTreeMap::new();
    let cfg = &info.preprocess;
    let (h, w) = (cfg.height as usize, cfg.width as usize);
    progress.stage("calibrating", images.len() as u64);
    for chunk in images.chunks(batch.max(1)) {
        let decoded: Vec<Vec<f32>> =
            chunk.par_iter().map(|p| preprocess::load_image(p, cfg)).collect::<Result<_, _>>()?;
        let input: Vec<f32> = decoded.concat();
        let run_err = |message: String| EngineError::Run { path: model.to_owned(), message };
        let tensor =
            TensorRef::from_array_view(([chunk.len(), 3, h, w], &input[..])).map_err(|e| run_err(e.to_string()))?;
        let mut feed = ort::inputs![info.input_name.as_str() => tensor];
        // A camera model is calibrated on camera 0 (the SIE offset is a constant per camera).
        let ids = info.camera_ids(chunk.len(), None)?;
        if let (Some(ids), Some(c)) = (&ids, &info.camera) {
            let camera = TensorRef::from_array_view(([chunk.len()], &ids[..])).map_err(|e| run_err(e.to_string()))?;
            feed.push((c.name.as_str().into(), camera.into()));
        }
        let outputs = session.run(feed).map_err(|e| run_err(e.to_string()))?;
        for name in &output_names {
            let Some(value) = outputs.get(name.as_str()) else { continue };
            let Ok((_, values)) = value.try_extract_tensor::<f32>() else { continue };
            let amax = values.iter().fold(0f32, |m, v| if v.is_finite() { m.max(v.abs()) } else { m });
            let slot = ranges.entry(name.clone()).or_insert(0.0);
            *slot = slot.max(amax);
        }
        // The input itself: TensorRT wants its range too.
        let amax = input.iter().fold(0f32, |m, v| m.max(v.abs()));
        let slot = ranges.entry(info.input_name.clone()).or_insert(0.0);
        *slot = slot.max(amax);
        progress.advance(chunk.len() as u64);
    }
    progress.finish_stage();
    Ok(CalibrationTable { ranges })
}

fn invalid(path: &Path, message: String) -> EngineError {
    EngineError::InvalidModel { path: path.to_owned(), message }
}
