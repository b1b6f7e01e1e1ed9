//! [`OrtEngine`]: an ONNX model run by ONNX Runtime on the provider asked for, falling back to CPU (logged)
//! unless strict, with the node placement of a first profiled run.

use super::super::model_info::ModelInfo;
use super::super::preprocess::PreprocessConfig;
use super::super::{Engine, EngineError};
use super::hardware;
use super::library::{self, Library};
use super::options::{CALIBRATION_TABLE_NAME, CacheKey, OrtOptions, Provider, cuda_settings, tensorrt_settings};
use super::placement::Placement;
use ort::ep::{ArbitrarilyConfigurableExecutionProvider, ExecutionProviderDispatch};
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::TensorRef;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An ONNX model run by ONNX Runtime.
pub struct OrtEngine {
    session: Mutex<Session>,
    info: ModelInfo,
    requested: Provider,
    active: Provider,
    placement: Placement,
    library: Library,
    cache_dir: Option<PathBuf>,
}

impl std::fmt::Debug for OrtEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtEngine")
            .field("info", &self.info)
            .field("requested", &self.requested)
            .field("active", &self.active)
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

impl OrtEngine {
    /// Opens `path` on the provider `options` asks for. Preprocessing is `explicit` when given, else the
    /// model's `reid.*` metadata. A provider the library lacks (or that fails to start) is an error when
    /// `options.strict`, else a logged fallback to CPU. One batch is run at once, profiled, to learn which
    /// provider runs which nodes ([`OrtEngine::placement`]); for TensorRT that also builds (or loads) the engine.
    pub fn open(path: &Path, explicit: Option<&PreprocessConfig>, options: &OrtOptions) -> Result<Self, EngineError> {
        let info = ModelInfo::read(path, explicit)?;
        let (env, lib) = library::environment(options.library.as_deref())?;
        let mut requested_eps = Vec::new();
        let mut cache_dir = None;
        let mut active = options.provider;
        if options.provider != Provider::Cpu {
            let available = library::available_providers(options.library.as_deref())?;
            if !available.iter().any(|p| p == options.provider.ort_name()) {
                let why = format!(
                    "{} is not in ONNX Runtime {} ({}; it has {}). GPU providers need a GPU build of ONNX Runtime: \
                     `scripts/setup-ort.sh --gpu` (x86_64, with CUDA, cuDNN and TensorRT installed) or JetPack's \
                     onnxruntime-gpu on Jetson",
                    options.provider.ort_name(),
                    lib.version,
                    lib.path.display(),
                    available.join(", ")
                );
                active = fallback(options, &why)?;
            } else {
                match options.provider {
                    Provider::Cuda => requested_eps.push(cuda_ep(options.device_id)),
                    Provider::TensorRt => {
                        let dir = prepare_cache(path, options)?;
                        let settings = tensorrt_settings(&options.tensorrt, options.device_id, &info, &dir)?;
                        let mut trt = ort::ep::TensorRT::default();
                        for (k, v) in &settings {
                            trt = trt.with_arbitrary_config(k, v);
                        }
                        requested_eps.push(trt.build().error_on_failure());
                        requested_eps.push(cuda_ep(options.device_id));
                        cache_dir = Some(dir);
                    }
                    Provider::Cpu => {}
                }
            }
        }
        let profile_dir = tempfile_dir()?;
        let build = |eps: &[ExecutionProviderDispatch]| -> Result<Session, String> {
            let mut builder = Session::builder(&env).map_err(|e| e.to_string())?;
            builder = builder.with_optimization_level(GraphOptimizationLevel::All).map_err(|e| e.to_string())?;
            if options.threads > 0 {
                builder = builder.with_intra_threads(options.threads).map_err(|e| e.to_string())?;
            }
            builder = builder.with_inter_threads(1).map_err(|e| e.to_string())?;
            builder = builder.with_profiling(profile_dir.path().join("placement")).map_err(|e| e.to_string())?;
            if !eps.is_empty() {
                builder = builder.with_execution_providers(eps).map_err(|e| e.to_string())?;
            }
            commit(builder, path)
        };
        let mut session = match build(&requested_eps) {
            Ok(s) => s,
            Err(e) if !requested_eps.is_empty() => {
                active = fallback(options, &format!("{} did not start: {e}", options.provider.ort_name()))?;
                cache_dir = None;
                build(&[]).map_err(|e| invalid(path, e))?
            }
            Err(e) => return Err(invalid(path, e)),
        };
        let outputs = session.outputs().len();
        if outputs == 0 {
            return Err(EngineError::NoOutput { path: path.to_owned() });
        }
        let placement = first_run(&mut session, &info, options)?;
        if active != Provider::Cpu && placement.nodes_on(active.ort_name()) == 0 {
            tracing::warn!("{} registered but ran no node of {} ({placement})", active.ort_name(), path.display());
        }
        tracing::info!("{}: {placement}", path.display());
        Ok(OrtEngine {
            session: Mutex::new(session),
            info,
            requested: options.provider,
            active,
            placement,
            library: lib,
            cache_dir,
        })
    }

    /// The provider asked for.
    pub fn requested_provider(&self) -> Provider {
        self.requested
    }

    /// The provider registered (CPU after a fallback).
    pub fn active_provider(&self) -> Provider {
        self.active
    }

    /// Which provider ran which nodes in the first (profiled) run.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// The ONNX Runtime library in use.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// The TensorRT engine cache folder, when TensorRT runs.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }
}

fn cuda_ep(device_id: u32) -> ExecutionProviderDispatch {
    let mut cuda = ort::ep::CUDA::default();
    for (k, v) in cuda_settings(device_id) {
        cuda = cuda.with_arbitrary_config(k, v);
    }
    cuda.build().error_on_failure()
}

/// Strict: the error. Otherwise: CPU, with a warning saying why.
fn fallback(options: &OrtOptions, why: &str) -> Result<Provider, EngineError> {
    if options.strict {
        return Err(EngineError::ProviderUnavailable {
            provider: options.provider.to_string(),
            reason: why.to_owned(),
        });
    }
    tracing::warn!("{why}; falling back to the CPU provider (--strict makes this an error)");
    Ok(Provider::Cpu)
}

fn invalid(path: &Path, message: String) -> EngineError {
    EngineError::InvalidModel { path: path.to_owned(), message }
}

fn commit(mut builder: SessionBuilder, path: &Path) -> Result<Session, String> {
    builder.commit_from_file(path).map_err(|e| e.to_string())
}

fn tempfile_dir() -> Result<tempfile::TempDir, EngineError> {
    tempfile::Builder::new()
        .prefix("reid-ort-")
        .tempdir()
        .map_err(|e| EngineError::Read { path: std::env::temp_dir(), message: e.to_string() })
}

/// The engine cache folder for this model, GPU, TensorRT version, precision and profile (created), with the
/// int8 calibration table copied in where ONNX Runtime looks for it.
fn prepare_cache(path: &Path, options: &OrtOptions) -> Result<PathBuf, EngineError> {
    let bytes = std::fs::read(path).map_err(|e| EngineError::Read { path: path.to_owned(), message: e.to_string() })?;
    let key = CacheKey {
        model_sha256: hex(&sha2::Sha256::digest(&bytes)),
        gpu: hardware::gpu_name(options.device_id).unwrap_or_else(|| "unknown-gpu".to_owned()),
        tensorrt_version: hardware::tensorrt_version().unwrap_or_else(|| "unknown".to_owned()),
    };
    let trt = &options.tensorrt;
    let dir = trt.cache_root.join(key.folder(trt.precision, &trt.profile));
    let io = |p: &Path, e: std::io::Error| EngineError::Read { path: p.to_owned(), message: e.to_string() };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    if let Some(table) = &trt.calibration_table {
        std::fs::copy(table, dir.join(CALIBRATION_TABLE_NAME)).map_err(|e| io(table, e))?;
    }
    Ok(dir)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs one batch of zeros (the profile's opt batch for TensorRT, else 1) with profiling on, then stops
/// profiling and reads the placement.
fn first_run(session: &mut Session, info: &ModelInfo, options: &OrtOptions) -> Result<Placement, EngineError> {
    let n = if options.provider == Provider::TensorRt { options.tensorrt.profile.opt } else { 1 };
    let n = info.input_shape.first().and_then(|d| d.fixed()).unwrap_or(n);
    let (h, w) = (info.preprocess.height as usize, info.preprocess.width as usize);
    let zeros = vec![0f32; n * 3 * h * w];
    run(session, info, &zeros, n, None)?;
    let err = |message: String| EngineError::Run { path: info.path.clone(), message };
    let file = session.end_profiling().map_err(|e| err(format!("ending the profile: {e}")))?;
    let text = std::fs::read_to_string(&file).map_err(|e| err(format!("reading the profile {file}: {e}")))?;
    let _ = std::fs::remove_file(&file);
    Placement::from_profile(&text).map_err(|e| err(format!("profile {file}: {e}")))
}

/// Runs `n` images (and their camera ids, checked by [`ModelInfo::camera_ids`], on a model with a camera input).
fn run(
    session: &mut Session,
    info: &ModelInfo,
    input: &[f32],
    n: usize,
    cameras: Option<&[i64]>,
) -> Result<Vec<f32>, EngineError> {
    let shape = super::super::batch_shape(info, input, n)?;
    let ids = info.camera_ids(n, cameras)?;
    let err = |message: String| EngineError::Run { path: info.path.clone(), message };
    let tensor = TensorRef::from_array_view((shape, input)).map_err(|e| err(e.to_string()))?;
    let mut feed = ort::inputs![info.input_name.as_str() => tensor];
    if let (Some(ids), Some(c)) = (&ids, &info.camera) {
        let camera = TensorRef::from_array_view(([n], &ids[..])).map_err(|e| err(e.to_string()))?;
        feed.push((c.name.as_str().into(), camera.into()));
    }
    let outputs = session.run(feed).map_err(|e| err(e.to_string()))?;
    let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(|e| err(e.to_string()))?;
    if shape.first().copied() != Some(n as i64) {
        return Err(err(format!("output shape {shape:?} is not {n} x D")));
    }
    super::super::check_output(info, values.len(), n, shape)?;
    Ok(values.to_vec())
}

impl Engine for OrtEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn embed_batch_cameras(&self, input: &[f32], n: usize, cameras: Option<&[i64]>) -> Result<Vec<f32>, EngineError> {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        run(&mut session, &self.info, input, n, cameras)
    }
}
