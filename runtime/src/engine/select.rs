//! One engine by name, as the CLI and the GStreamer element offer them: `tract` (pure Rust, nothing to
//! install), `ort-cpu`, `cuda`, `tensorrt` (ONNX Runtime, feature `ort`), and `auto`: ONNX Runtime's CPU
//! provider when its library is found (several times faster than tract on CPU, see `reid bench engine`),
//! else tract.

use super::ort::{OrtOptions, Provider};
use super::preprocess::PreprocessConfig;
use super::{Engine, EngineError, TractEngine};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Which engine runs the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineKind {
    /// ONNX Runtime CPU when its library is found, else tract.
    #[default]
    Auto,
    /// tract (pure Rust).
    Tract,
    /// ONNX Runtime, CPU provider.
    OrtCpu,
    /// ONNX Runtime, CUDA provider.
    Cuda,
    /// ONNX Runtime, TensorRT provider.
    TensorRt,
}

impl EngineKind {
    /// Every name accepted, for help texts.
    pub const NAMES: &'static str = "auto, tract, ort-cpu, cuda, tensorrt";
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Auto => "auto",
            EngineKind::Tract => "tract",
            EngineKind::OrtCpu => "ort-cpu",
            EngineKind::Cuda => "cuda",
            EngineKind::TensorRt => "tensorrt",
        })
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(EngineKind::Auto),
            "tract" => Ok(EngineKind::Tract),
            "ort-cpu" | "ort" | "cpu" => Ok(EngineKind::OrtCpu),
            "cuda" => Ok(EngineKind::Cuda),
            "tensorrt" | "trt" => Ok(EngineKind::TensorRt),
            other => Err(format!("unknown engine `{other}` (expected one of {})", Self::NAMES)),
        }
    }
}

/// An opened engine and a one-line description of what runs it.
pub struct OpenedEngine {
    /// The engine.
    pub engine: Box<dyn Engine>,
    /// What runs it, e.g. `ONNX Runtime 1.32.0 (CPUExecutionProvider: 53 nodes ...)` or `tract`.
    pub description: String,
}

impl fmt::Debug for OpenedEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedEngine").field("description", &self.description).finish_non_exhaustive()
    }
}

/// Opens `path` with the engine `kind` names; `ort` carries the ONNX Runtime settings (its `provider` is set
/// from `kind`). Asking for an ONNX Runtime engine in a build without feature `ort` is an error saying so.
pub fn open_engine(
    kind: EngineKind,
    path: &Path,
    explicit: Option<&PreprocessConfig>,
    ort: &OrtOptions,
) -> Result<OpenedEngine, EngineError> {
    let provider = match kind {
        EngineKind::Tract => return open_tract(path, explicit),
        EngineKind::Auto => {
            #[cfg(feature = "ort")]
            // Loading the environment once both probes the library and keeps it for the engine.
            match super::ort::library::environment(ort.library.as_deref()) {
                Ok(_) => Provider::Cpu,
                Err(e) => {
                    tracing::info!("using tract: {e}");
                    return open_tract(path, explicit);
                }
            }
            #[cfg(not(feature = "ort"))]
            return open_tract(path, explicit);
        }
        EngineKind::OrtCpu => Provider::Cpu,
        EngineKind::Cuda => Provider::Cuda,
        EngineKind::TensorRt => Provider::TensorRt,
    };
    let options = OrtOptions { provider, ..ort.clone() };
    open_ort(path, explicit, &options)
}

fn open_tract(path: &Path, explicit: Option<&PreprocessConfig>) -> Result<OpenedEngine, EngineError> {
    Ok(OpenedEngine { engine: Box::new(TractEngine::open(path, explicit)?), description: "tract".to_owned() })
}

#[cfg(feature = "ort")]
fn open_ort(
    path: &Path,
    explicit: Option<&PreprocessConfig>,
    options: &OrtOptions,
) -> Result<OpenedEngine, EngineError> {
    let engine = super::ort::OrtEngine::open(path, explicit, options)?;
    let mut description = format!("ONNX Runtime {} ({})", engine.library().version, engine.placement());
    if engine.active_provider() != options.provider {
        description.push_str(&format!(" [{} unavailable: fell back to CPU]", options.provider));
    }
    if let Some(dir) = engine.cache_dir() {
        description.push_str(&format!(" [TensorRT engine cache: {}]", dir.display()));
    }
    Ok(OpenedEngine { engine: Box::new(engine), description })
}

#[cfg(not(feature = "ort"))]
fn open_ort(_: &Path, _: Option<&PreprocessConfig>, options: &OrtOptions) -> Result<OpenedEngine, EngineError> {
    Err(EngineError::Options {
        message: format!(
            "this build has no ONNX Runtime engine (feature `ort`), so `{}` cannot run; use the tract engine",
            options.provider
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in [EngineKind::Auto, EngineKind::Tract, EngineKind::OrtCpu, EngineKind::Cuda, EngineKind::TensorRt] {
            assert_eq!(kind.to_string().parse::<EngineKind>(), Ok(kind));
        }
        assert!("openvino".parse::<EngineKind>().unwrap_err().contains("tract"));
    }
}
