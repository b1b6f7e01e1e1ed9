//! What the ONNX Runtime engine is asked for — provider, threads, TensorRT precision, cache, batch profile — and
//! the exact provider option keys that request becomes. Pure data, so the plumbing is testable without a GPU.

use super::super::EngineError;
use super::super::model_info::ModelInfo;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The execution provider asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Provider {
    /// ONNX Runtime's CPU provider (any `onnxruntime` build).
    #[default]
    Cpu,
    /// NVIDIA GPUs through CUDA/cuDNN (`onnxruntime-gpu` or JetPack builds), CPU for unsupported nodes.
    Cuda,
    /// NVIDIA TensorRT, CUDA then CPU for the nodes TensorRT does not take.
    TensorRt,
}

impl Provider {
    /// ONNX Runtime's name of the provider (as `GetAvailableProviders` lists it).
    pub fn ort_name(self) -> &'static str {
        match self {
            Provider::Cpu => "CPUExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
            Provider::TensorRt => "TensorrtExecutionProvider",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
        })
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" | "ort-cpu" => Ok(Provider::Cpu),
            "cuda" => Ok(Provider::Cuda),
            "tensorrt" | "trt" => Ok(Provider::TensorRt),
            other => Err(format!("unknown execution provider `{other}` (expected cpu, cuda or tensorrt)")),
        }
    }
}

/// Arithmetic precision TensorRT may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// fp32 only.
    #[default]
    Fp32,
    /// fp16 where TensorRT finds it faster.
    Fp16,
    /// int8 (with fp16) from a calibration table.
    Int8,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Int8 => "int8",
        })
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fp32" | "float32" => Ok(Precision::Fp32),
            "fp16" | "half" => Ok(Precision::Fp16),
            "int8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision `{other}` (expected fp32, fp16 or int8)")),
        }
    }
}

/// The batch sizes a TensorRT engine is built for (its optimisation profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchProfile {
    /// Smallest batch.
    pub min: usize,
    /// Batch the kernels are tuned for.
    pub opt: usize,
    /// Largest batch.
    pub max: usize,
}

impl Default for BatchProfile {
    fn default() -> Self {
        Self { min: 1, opt: 16, max: 32 }
    }
}

impl BatchProfile {
    /// A profile up to `max` tuned for `max` (what `reid engine build --max-batch` asks for).
    pub fn up_to(max: usize) -> Self {
        Self { min: 1, opt: max.max(1), max: max.max(1) }
    }
}

/// TensorRT settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRtOptions {
    /// Precision.
    pub precision: Precision,
    /// Calibration table for int8 (TensorRT's native text format, see [`super::calibration`]).
    pub calibration_table: Option<PathBuf>,
    /// Root folder of the engine caches; each model/GPU/TensorRT/precision/profile gets its own sub-folder.
    pub cache_root: PathBuf,
    /// Batch profile.
    pub profile: BatchProfile,
    /// Builder workspace in bytes.
    pub workspace_bytes: u64,
    /// Keep a timing cache beside the engine (faster rebuilds).
    pub timing_cache: bool,
}

impl Default for TensorRtOptions {
    fn default() -> Self {
        Self {
            precision: Precision::Fp16,
            calibration_table: None,
            cache_root: default_cache_root(),
            profile: BatchProfile::default(),
            workspace_bytes: 2 << 30,
            timing_cache: true,
        }
    }
}

/// `$REID_ENGINE_CACHE`, else `$XDG_CACHE_HOME/reid/engines`, else `~/.cache/reid/engines`, else a temp folder.
pub fn default_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("REID_ENGINE_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("reid").join("engines")
}

/// Everything the ONNX Runtime engine is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct OrtOptions {
    /// Execution provider.
    pub provider: Provider,
    /// GPU index for CUDA/TensorRT.
    pub device_id: u32,
    /// Intra-op threads on CPU (0: ONNX Runtime's default, one per physical core).
    pub threads: usize,
    /// Fail instead of falling back to CPU when the provider is missing or does not register.
    pub strict: bool,
    /// The ONNX Runtime library (`libonnxruntime.so`); `None` searches (see [`super::library`]).
    pub library: Option<PathBuf>,
    /// TensorRT settings (used with [`Provider::TensorRt`]).
    pub tensorrt: TensorRtOptions,
}

impl Default for OrtOptions {
    fn default() -> Self {
        Self {
            provider: Provider::Cpu,
            device_id: 0,
            threads: 0,
            strict: false,
            library: None,
            tensorrt: TensorRtOptions::default(),
        }
    }
}

/// What a TensorRT engine built for this machine depends on: the cache folder name is derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    /// SHA-256 of the model file, hex.
    pub model_sha256: String,
    /// GPU model name (or `unknown-gpu`).
    pub gpu: String,
    /// TensorRT version (or `unknown`).
    pub tensorrt_version: String,
}

impl CacheKey {
    /// The cache sub-folder for this key, precision and profile: `<model16>-<gpu>-trt<ver>-<precision>-b<min>-<opt>-<max>`.
    pub fn folder(&self, precision: Precision, profile: &BatchProfile) -> String {
        let model: String = self.model_sha256.chars().take(16).collect();
        format!(
            "{model}-{}-trt{}-{precision}-b{}-{}-{}",
            slug(&self.gpu),
            slug(&self.tensorrt_version),
            profile.min,
            profile.opt,
            profile.max
        )
    }
}

/// Lower-case letters, digits, `.` and `_`; everything else becomes `_` (a safe path component).
fn slug(s: &str) -> String {
    let out: String = s
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if out.is_empty() { "unknown".to_owned() } else { out }
}

/// The file name int8 calibration tables get inside an engine cache folder (ONNX Runtime looks them up there).
pub const CALIBRATION_TABLE_NAME: &str = "calibration.cache";

/// The TensorRT provider's option keys and values for `options` on `info`'s model, with its engine and timing
/// caches in `cache_dir`. Errors name the option that cannot work.
pub fn tensorrt_settings(
    options: &TensorRtOptions,
    device_id: u32,
    info: &ModelInfo,
    cache_dir: &Path,
) -> Result<Vec<(String, String)>, EngineError> {
    let bad = |message: String| EngineError::Options { message };
    let BatchProfile { min, opt, max } = options.profile;
    if min == 0 || !(min <= opt && opt <= max) {
        return Err(bad(format!("batch profile must satisfy 1 <= min <= opt <= max, got {min}/{opt}/{max}")));
    }
    if let Some(fixed) = info.input_shape.first().and_then(|d| d.fixed())
        && (min != fixed || max != fixed)
    {
        return Err(bad(format!(
            "{} has a fixed batch of {fixed}; the batch profile {min}/{opt}/{max} must be {fixed}/{fixed}/{fixed}",
            info.path.display()
        )));
    }
    if options.workspace_bytes < 1 << 20 {
        return Err(bad(format!("TensorRT workspace of {} bytes is below 1 MiB", options.workspace_bytes)));
    }
    let dir = cache_dir.to_str().ok_or_else(|| bad(format!("cache path {} is not UTF-8", cache_dir.display())))?;
    let (h, w) = (info.preprocess.height, info.preprocess.width);
    let shape = |n: usize| match &info.camera {
        Some(c) => format!("{}:{n}x3x{h}x{w},{}:{n}", info.input_name, c.name),
        None => format!("{}:{n}x3x{h}x{w}", info.input_name),
    };
    let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
    let mut out = vec![
        ("device_id".to_owned(), device_id.to_string()),
        ("trt_max_workspace_size".to_owned(), options.workspace_bytes.to_string()),
        ("trt_fp16_enable".to_owned(), flag(options.precision != Precision::Fp32)),
        ("trt_int8_enable".to_owned(), flag(options.precision == Precision::Int8)),
        ("trt_engine_cache_enable".to_owned(), "1".to_owned()),
        ("trt_engine_cache_path".to_owned(), dir.to_owned()),
        ("trt_timing_cache_enable".to_owned(), flag(options.timing_cache)),
        ("trt_profile_min_shapes".to_owned(), shape(min)),
        ("trt_profile_opt_shapes".to_owned(), shape(opt)),
        ("trt_profile_max_shapes".to_owned(), shape(max)),
    ];
    if options.timing_cache {
        out.push(("trt_timing_cache_path".to_owned(), dir.to_owned()));
    }
    match (options.precision, &options.calibration_table) {
        (Precision::Int8, None) => {
            return Err(bad(
                "int8 needs a calibration table (`reid engine build --precision int8 --calibration DIR` writes one)"
                    .to_owned(),
            ));
        }
        (Precision::Int8, Some(_)) => {
            out.push(("trt_int8_calibration_table_name".to_owned(), CALIBRATION_TABLE_NAME.to_owned()));
            out.push(("trt_int8_use_native_calibration_table".to_owned(), "1".to_owned()));
        }
        (_, Some(table)) => {
            return Err(bad(format!(
                "a calibration table ({}) is only used with int8 precision, not {}",
                table.display(),
                options.precision
            )));
        }
        (_, None) => {}
    }
    Ok(out)
}

/// The CUDA provider's option keys and values.
pub fn cuda_settings(device_id: u32) -> Vec<(String, String)> {
    vec![
        ("device_id".to_owned(), device_id.to_string()),
        // Exhaustive cuDNN search once per shape: the fastest convolutions for the steady state.
        ("cudnn_conv_algo_search".to_owned(), "EXHAUSTIVE".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model_info::Dim;
    use crate::engine::preprocess::{ColorOrder, PreprocessConfig};

    fn info(batch: Dim) -> ModelInfo {
        ModelInfo {
            path: PathBuf::from("/models/m.onnx"),
            input_name: "images".to_owned(),
            input_shape: vec![batch, Dim::Fixed(3), Dim::Fixed(256), Dim::Fixed(128)],
            output_name: "embedding".to_owned(),
            output_dim: Some(256),
            metadata: Default::default(),
            preprocess: PreprocessConfig {
                height: 256,
                width: 128,
                mean: [0.5; 3],
                std: [0.5; 3],
                scale: 1.0 / 255.0,
                color: ColorOrder::Rgb,
            },
            l2_normalized: false,
            camera: None,
        }
    }

    fn get<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
        settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn fp16_settings_carry_profile_cache_and_workspace() {
        let options = TensorRtOptions {
            precision: Precision::Fp16,
            profile: BatchProfile { min: 1, opt: 8, max: 32 },
            workspace_bytes: 1 << 30,
            ..TensorRtOptions::default()
        };
        let s = tensorrt_settings(&options, 1, &info(Dim::Symbolic("N".into())), Path::new("/cache/x")).unwrap();
        assert_eq!(get(&s, "device_id"), Some("1"));
        assert_eq!(get(&s, "trt_fp16_enable"), Some("1"));
        assert_eq!(get(&s, "trt_int8_enable"), Some("0"));
        assert_eq!(get(&s, "trt_engine_cache_enable"), Some("1"));
        assert_eq!(get(&s, "trt_engine_cache_path"), Some("/cache/x"));
        assert_eq!(get(&s, "trt_timing_cache_path"), Some("/cache/x"));
        assert_eq!(get(&s, "trt_max_workspace_size"), Some("1073741824"));
        assert_eq!(get(&s, "trt_profile_min_shapes"), Some("images:1x3x256x128"));
        assert_eq!(get(&s, "trt_profile_opt_shapes"), Some("images:8x3x256x128"));
        assert_eq!(get(&s, "trt_profile_max_shapes"), Some("images:32x3x256x128"));
        assert_eq!(get(&s, "trt_int8_calibration_table_name"), None);
    }

    #[test]
    fn a_camera_input_gets_its_own_profile_shape() {
        let options = TensorRtOptions { profile: BatchProfile { min: 1, opt: 4, max: 16 }, ..Default::default() };
        let mut info = info(Dim::Symbolic("N".into()));
        info.camera = Some(crate::engine::CameraInput { name: "camera".into(), count: 6 });
        let s = tensorrt_settings(&options, 0, &info, Path::new("/c")).unwrap();
        assert_eq!(get(&s, "trt_profile_min_shapes"), Some("images:1x3x256x128,camera:1"));
        assert_eq!(get(&s, "trt_profile_opt_shapes"), Some("images:4x3x256x128,camera:4"));
        assert_eq!(get(&s, "trt_profile_max_shapes"), Some("images:16x3x256x128,camera:16"));
    }

    #[test]
    fn fp32_disables_reduced_precision_and_timing_cache_can_be_off() {
        let options = TensorRtOptions { precision: Precision::Fp32, timing_cache: false, ..Default::default() };
        let s = tensorrt_settings(&options, 0, &info(Dim::Symbolic("N".into())), Path::new("/c")).unwrap();
        assert_eq!(get(&s, "trt_fp16_enable"), Some("0"));
        assert_eq!(get(&s, "trt_timing_cache_enable"), Some("0"));
        assert_eq!(get(&s, "trt_timing_cache_path"), None);
    }

    #[test]
    fn int8_needs_a_table_and_uses_the_native_format() {
        let mut options = TensorRtOptions { precision: Precision::Int8, ..Default::default() };
        let err = tensorrt_settings(&options, 0, &info(Dim::Symbolic("N".into())), Path::new("/c")).unwrap_err();
        assert!(err.to_string().contains("calibration"), "{err}");
        options.calibration_table = Some(PathBuf::from("/t/table.cache"));
        let s = tensorrt_settings(&options, 0, &info(Dim::Symbolic("N".into())), Path::new("/c")).unwrap();
        assert_eq!(get(&s, "trt_int8_enable"), Some("1"));
        assert_eq!(get(&s, "trt_fp16_enable"), Some("1"));
        assert_eq!(get(&s, "trt_int8_calibration_table_name"), Some(CALIBRATION_TABLE_NAME));
        assert_eq!(get(&s, "trt_int8_use_native_calibration_table"), Some("1"));
        // A table with another precision is a mistake worth naming.
        options.precision = Precision::Fp16;
        let err = tensorrt_settings(&options, 0, &info(Dim::Symbolic("N".into())), Path::new("/c")).unwrap_err();
        assert!(err.to_string().contains("table.cache"), "{err}");
    }

    #[test]
    fn profiles_are_checked_against_each_other_and_a_fixed_batch() {
        let bad = TensorRtOptions { profile: BatchProfile { min: 4, opt: 2, max: 8 }, ..Default::default() };
        let err = tensorrt_settings(&bad, 0, &info(Dim::Symbolic("N".into())), Path::new("/c")).unwrap_err();
        assert!(err.to_string().contains("4/2/8"), "{err}");
        let fixed = TensorRtOptions { profile: BatchProfile::up_to(16), ..Default::default() };
        let err = tensorrt_settings(&fixed, 0, &info(Dim::Fixed(1)), Path::new("/c")).unwrap_err();
        assert!(err.to_string().contains("fixed batch of 1") && err.to_string().contains("m.onnx"), "{err}");
        let one = TensorRtOptions { profile: BatchProfile::up_to(1), ..Default::default() };
        assert!(tensorrt_settings(&one, 0, &info(Dim::Fixed(1)), Path::new("/c")).is_ok());
        let tiny = TensorRtOptions { workspace_bytes: 1000, ..Default::default() };
        assert!(tensorrt_settings(&tiny, 0, &info(Dim::Fixed(1)), Path::new("/c")).is_err());
    }

    #[test]
    fn cache_folders_differ_by_model_gpu_version_precision_and_profile() {
        let key = CacheKey {
            model_sha256: "0123456789abcdef0123".to_owned(),
            gpu: "NVIDIA Jetson AGX Orin".to_owned(),
            tensorrt_version: "8.5.2".to_owned(),
        };
        let profile = BatchProfile { min: 1, opt: 8, max: 32 };
        assert_eq!(
            key.folder(Precision::Fp16, &profile),
            "0123456789abcdef-nvidia_jetson_agx_orin-trt8.5.2-fp16-b1-8-32"
        );
        let other_gpu = CacheKey { gpu: "NVIDIA H100 80GB HBM3".to_owned(), ..key.clone() };
        assert_ne!(other_gpu.folder(Precision::Fp16, &profile), key.folder(Precision::Fp16, &profile));
        assert_ne!(key.folder(Precision::Int8, &profile), key.folder(Precision::Fp16, &profile));
        assert_ne!(key.folder(Precision::Fp16, &BatchProfile::up_to(32)), key.folder(Precision::Fp16, &profile));
    }

    #[test]
    fn names_parse() {
        assert_eq!("ort-cpu".parse::<Provider>(), Ok(Provider::Cpu));
        assert_eq!("TensorRT".parse::<Provider>(), Ok(Provider::TensorRt));
        assert!("vulkan".parse::<Provider>().unwrap_err().contains("vulkan"));
        assert_eq!("FP16".parse::<Precision>(), Ok(Precision::Fp16));
        assert!("int4".parse::<Precision>().is_err());
        assert_eq!(cuda_settings(2)[0], ("device_id".to_owned(), "2".to_owned()));
    }
}
