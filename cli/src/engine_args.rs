//! Options shared by every command that runs an ONNX model: which engine (`--engine`), ONNX Runtime and
//! TensorRT settings, and preprocessing for models without `reid.*` metadata (or overriding parts of it).

use anyhow::{Result, bail};
use clap::Args;
use reid_runtime::engine::model_info::{self, preprocess_from_metadata};
use reid_runtime::engine::ort::{BatchProfile, OrtOptions, Precision, TensorRtOptions, options::default_cache_root};
use reid_runtime::engine::preprocess::{IMAGENET_MEAN, IMAGENET_STD};
use reid_runtime::engine::{ColorOrder, EngineKind, OpenedEngine, PreprocessConfig, open_engine};
use std::path::{Path, PathBuf};

/// Engine selection and ONNX Runtime / TensorRT settings.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Engine: auto (ONNX Runtime CPU when its library is found, else tract), tract (pure Rust), ort-cpu, cuda,
    /// tensorrt.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<EngineKind>())]
    pub engine: EngineKind,
    /// The ONNX Runtime library (default: $ORT_DYLIB_PATH, then where scripts/setup-ort.sh installs it,
    /// /opt/reid/lib, the system library path).
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    /// CPU threads for ONNX Runtime (0: one per physical core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Fail when the asked-for provider (cuda, tensorrt) is missing instead of falling back to CPU.
    #[arg(long)]
    pub strict: bool,
    /// GPU index (cuda, tensorrt).
    #[arg(long, default_value_t = 0)]
    pub device: u32,
    /// TensorRT precision: fp32, fp16, int8 (int8 needs --calibration-table).
    #[arg(long, default_value = "fp16", value_parser = |s: &str| s.parse::<Precision>())]
    pub precision: Precision,
    /// TensorRT int8 calibration table (`reid engine calibrate` writes one).
    #[arg(long, value_name = "FILE")]
    pub calibration_table: Option<PathBuf>,
    /// Largest batch the TensorRT engine accepts (its profile is 1..max, tuned for --opt-batch).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_batch: u32,
    /// Batch the TensorRT engine is tuned for (default: --max-batch).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub opt_batch: Option<u32>,
    /// Root of the TensorRT engine caches (default $REID_ENGINE_CACHE or ~/.cache/reid/engines).
    #[arg(long, value_name = "DIR")]
    pub engine_cache: Option<PathBuf>,
    /// TensorRT builder workspace in MiB.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..))]
    pub workspace_mb: u64,
}

impl EngineArgs {
    /// The ONNX Runtime options these flags give.
    pub fn ort_options(&self) -> Result<OrtOptions> {
        let max = self.max_batch as usize;
        let opt = self.opt_batch.map_or(max, |o| o as usize);
        if opt > max {
            bail!("--opt-batch {opt} is larger than --max-batch {max}");
        }
        Ok(OrtOptions {
            provider: Default::default(),
            device_id: self.device,
            threads: self.threads,
            strict: self.strict,
            library: self.ort_lib.clone(),
            tensorrt: TensorRtOptions {
                precision: self.precision,
                calibration_table: self.calibration_table.clone(),
                cache_root: self.engine_cache.clone().unwrap_or_else(default_cache_root),
                profile: BatchProfile { min: 1, opt, max },
                workspace_bytes: self.workspace_mb << 20,
                timing_cache: true,
            },
        })
    }

    /// Opens `model` with these settings.
    pub fn open(&self, model: &Path, explicit: Option<&PreprocessConfig>) -> Result<OpenedEngine> {
        let options = self.ort_options()?;
        Ok(open_engine(self.engine, model, explicit, &options)?)
    }
}

/// Preprocessing flags: all of them for models without metadata, any of them to override the metadata.
#[derive(Args, Debug, Clone, Default)]
pub struct PreprocessArgs {
    /// Input height (with --width; needed for models without `reid.*` metadata, overrides it otherwise).
    #[arg(long, requires = "width")]
    pub height: Option<u32>,
    /// Input width (with --height).
    #[arg(long, requires = "height")]
    pub width: Option<u32>,
    /// Per-channel mean of `[0, 1]` pixels, `R,G,B` (default: the metadata's, else ImageNet's).
    #[arg(long, value_parser = parse_triple)]
    pub mean: Option<[f32; 3]>,
    /// Per-channel standard deviation, `R,G,B` (default: the metadata's, else ImageNet's).
    #[arg(long, value_parser = parse_triple)]
    pub std: Option<[f32; 3]>,
    /// The model expects BGR input; --mean/--std are then in B,G,R order.
    #[arg(long)]
    pub bgr: bool,
}

fn parse_triple(s: &str) -> Result<[f32; 3], String> {
    let values: Vec<f32> =
        s.split(',').map(|v| v.trim().parse::<f32>().map_err(|e| format!("`{v}`: {e}"))).collect::<Result<_, _>>()?;
    let values: [f32; 3] = values.try_into().map_err(|v: Vec<f32>| format!("{} values; expected 3", v.len()))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err("values must be finite".to_owned());
    }
    Ok(values)
}

impl PreprocessArgs {
    /// `None` when no flag is given (the model's metadata decides); otherwise the metadata's preprocessing (when
    /// complete) with the given flags replacing its fields, or, for models without metadata, the flags with
    /// ImageNet's mean/std as defaults (then --height/--width are required).
    pub fn resolve(&self, model: &Path) -> Result<Option<PreprocessConfig>> {
        if self.height.is_none() && self.mean.is_none() && self.std.is_none() && !self.bgr {
            return Ok(None);
        }
        let metadata = model_info::read_metadata(model)?;
        let base = match preprocess_from_metadata(&metadata) {
            Ok(cfg) => Some(cfg),
            Err((key, None)) if self.height.is_none() => bail!(
                "{} has no `{key}` metadata: give --height and --width (with --mean/--std/--bgr as needed)",
                model.display()
            ),
            Err(_) => None,
        };
        let (height, width) = match (self.height, self.width, &base) {
            (Some(h), Some(w), _) => (h, w),
            (_, _, Some(b)) => (b.height, b.width),
            _ => bail!("--height and --width are required for {}", model.display()),
        };
        if height == 0 || width == 0 {
            bail!("--height and --width must be positive");
        }
        let std = self.std.or(base.as_ref().map(|b| b.std)).unwrap_or(IMAGENET_STD);
        if std.iter().any(|v| *v <= 0.0) {
            bail!("--std values must be positive");
        }
        Ok(Some(PreprocessConfig {
            height,
            width,
            mean: self.mean.or(base.as_ref().map(|b| b.mean)).unwrap_or(IMAGENET_MEAN),
            std,
            scale: base.as_ref().map_or(1.0 / 255.0, |b| b.scale),
            color: if self.bgr { ColorOrder::Bgr } else { base.as_ref().map_or(ColorOrder::Rgb, |b| b.color) },
        }))
    }
}
